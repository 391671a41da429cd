//! Reliability of the identity store, end to end through the `spirit` binary: a writer
//! killed with SIGKILL in the middle of `add` and of `ingest`, two writers at once, a
//! full disk, a read-only workspace and a folder that is not a workspace.
//!
//! The full-disk and read-only tests need to mount a small tmpfs or a read-only bind
//! mount; where that is not permitted (not root, no CAP_SYS_ADMIN) they say so and skip.
//! `crates/store/tests/failures.rs` covers the same failures through the library on
//! every machine.

#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use spirit_store::ingest::INGEST_CHUNK;

/// Rows of the demo file stored with `spirit ingest` before the model is trained; the
/// rest arrive as a stream.
const INGESTED: usize = 1500;

/// A `spirit --quiet` command.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spirit"));
    c.arg("--quiet");
    c
}

/// Runs `spirit` to completion with no input.
fn spirit(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spirit runs")
}

/// Runs `spirit` to completion with `input` on its standard input.
fn spirit_with_input(args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spirit starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    // Written from a thread so that a full stdout pipe can never deadlock the test.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("spirit finishes");
    writer.join().expect("writer thread");
    out
}

/// Status, stdout and stderr of a finished command, for assertion messages.
fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The demo file: header and rows (it has no quoted fields).
struct Demo {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines();
        let split = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
        let header = split(lines.next().expect("header"));
        let rows: Vec<Vec<String>> = lines.map(split).collect();
        assert_eq!(header[0], "rec_id");
        assert_eq!(rows.len(), 2000);
        assert!(rows.iter().all(|r| r.len() == header.len()));
        Demo { header, rows }
    })
}

/// CSV text (header and rows) of some demo rows.
fn csv_text(rows: &[Vec<String>]) -> String {
    let mut out = demo().header.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.join(","));
        out.push('\n');
    }
    out
}

/// One JSON Lines record (every value a string) of a demo row.
fn json_line(row: &[String]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = demo()
        .header
        .iter()
        .zip(row)
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// The streamed part of the demo file: record ids and JSON lines.
fn stream_records() -> (Vec<String>, Vec<String>) {
    let rows = &demo().rows[INGESTED..];
    (
        rows.iter().map(|r| r[0].clone()).collect(),
        rows.iter().map(|r| json_line(r)).collect(),
    )
}

/// `n` rows built from the demo rows, each with a new id `b00000`, `b00001`, …
fn big_csv(n: usize) -> String {
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut r = demo().rows[i % demo().rows.len()].clone();
            r[0] = format!("b{i:05}");
            r
        })
        .collect();
    csv_text(&rows)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Creates a workspace at `ws`.
fn init(ws: &Path) {
    let o = spirit(&["init", s(ws)]);
    assert!(o.status.success(), "{}", show(&o));
}

/// Creates a workspace at `ws` holding the first [`INGESTED`] demo rows (source
/// `people`), resolved once so that `spirit add` has a model.
fn resolved_workspace(ws: &Path, scratch: &Path) {
    init(ws);
    let first = scratch.join("first.csv");
    write(&first, &csv_text(&demo().rows[..INGESTED]));
    let o = spirit(&["ingest", s(ws), "--source", "people", s(&first)]);
    assert!(o.status.success(), "{}", show(&o));
    let o = spirit(&["resolve", s(ws)]);
    assert!(o.status.success(), "{}", show(&o));
}

/// Copies a closed workspace folder (no writer running), and its key folder beside it.
fn copy_workspace(from: &Path, to: &Path) {
    let copy_files = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() && entry.file_name() != "spirit.lock" {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    };
    copy_files(from, to);
    copy_files(
        &spirit_store::keys::key_dir(from, None),
        &spirit_store::keys::key_dir(to, None),
    );
}

/// `spirit check WS --json`, asserting that it found no problem.
fn check_ok(ws: &Path) -> serde_json::Value {
    let o = spirit(&["check", s(ws), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check --json: {e}\n{}", show(&o)));
    assert!(
        o.status.success() && report["problems"].as_array().is_some_and(|p| p.is_empty()),
        "spirit check found a problem in {}:\n{}",
        ws.display(),
        show(&o)
    );
    report
}

fn count(report: &serde_json::Value, field: &str) -> usize {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {report}")) as usize
}

/// The closing report `spirit add --json` prints on stderr (after any problem lines).
fn add_report(o: &Output) -> serde_json::Value {
    let err = stderr(o);
    let start = err
        .find("{\n")
        .unwrap_or_else(|| panic!("no JSON report:\n{}", show(o)));
    serde_json::from_str(&err[start..]).unwrap_or_else(|e| panic!("{e}:\n{}", show(o)))
}

/// The report of `spirit ingest --json` for its one file.
fn ingest_report(o: &Output) -> serde_json::Value {
    let reports: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", show(o)));
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{}", show(o));
    reports[0].clone()
}

/// Asserts an ingest read `read` rows, stored `stored` and found the rest stored before.
fn assert_ingested(o: &Output, read: usize, stored: usize) {
    assert!(o.status.success(), "{}", show(o));
    let r = ingest_report(o);
    assert_eq!(count(&r, "read"), read, "{r}");
    assert_eq!(count(&r, "stored"), stored, "{r}");
    assert_eq!(count(&r, "already_stored"), read - stored, "{r}");
    assert_eq!(r["conflicts"].as_array().map(Vec::len), Some(0), "{r}");
}

/// `spirit export`: (source, record_id) → entity of every resolved record.
fn export(ws: &Path) -> BTreeMap<(String, String), String> {
    // Not next to the workspace: that may be a full disk.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clusters.csv");
    let o = spirit(&["export", s(ws), "--out", s(&out)]);
    assert!(o.status.success(), "{}", show(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("source,record_id,entity_id"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            ((f[0].to_owned(), f[1].to_owned()), f[2].to_owned())
        })
        .collect()
}

/// The partition of records an export describes, without the entity labels.
fn partition(clusters: &BTreeMap<(String, String), String>) -> BTreeSet<Vec<String>> {
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((source, id), entity) in clusters {
        groups
            .entry(entity.as_str())
            .or_default()
            .push(format!("{source}:{id}"));
    }
    groups.into_values().collect()
}

/// Parses an acknowledgement line `record_id,E<entity>`.
fn parse_ack(line: &str) -> (String, String) {
    let (id, entity) = line
        .trim_end()
        .split_once(',')
        .unwrap_or_else(|| panic!("not an acknowledgement: {line:?}"));
    assert!(
        entity.starts_with('E') && entity[1..].parse::<u64>().is_ok(),
        "not an acknowledgement: {line:?}"
    );
    (id.to_owned(), entity.to_owned())
}

/// True when entity `from` is `to` now, or became it: retired into it through merges,
/// or split into it.
fn became(ws: &Path, from: &str, to: &str) -> bool {
    let mut current = from.to_owned();
    for _ in 0..1000 {
        if current == to {
            return true;
        }
        let o = spirit(&["entity", s(ws), &current, "--json"]);
        assert!(o.status.success(), "{}", show(&o));
        let view: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        match view["retired"][1].as_str() {
            Some(into) => current = into.to_owned(),
            None => break,
        }
    }
    let o = spirit(&["history", s(ws), from, "--json"]);
    assert!(o.status.success(), "{}", show(&o));
    let events: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "split" && e["entity"].as_str() == Some(from) && e["other"] == to)
}

/// Asserts a writer was turned away with exit code 2 and a message saying why.
fn assert_refused(o: &Output, ws: &Path, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{}", show(o));
    assert!(err.starts_with("error: "), "{}", show(o));
    assert!(err.contains(&ws.display().to_string()), "{}", show(o));
    for w in words {
        assert!(err.contains(w), "expected {w:?}:\n{}", show(o));
    }
    assert!(!err.contains("internal error"), "{}", show(o));
}

/// Writes `path` until its file system has no room left.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).and_then(|()| f.flush()).is_ok() {}
}

/// A file system mounted for a test, unmounted when dropped.
struct Mounted(PathBuf);

impl Mounted {
    /// Runs `mount ARGS… AT`; `None` when mounting is not permitted here.
    fn new(args: &[&str], at: &Path) -> Option<Mounted> {
        std::fs::create_dir_all(at).unwrap();
        let o = Command::new("mount").args(args).arg(at).output().ok()?;
        if !o.status.success() {
            eprintln!(
                "cannot mount ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return None;
        }
        Some(Mounted(at.to_path_buf()))
    }

    /// `mount -o OPTIONS` again on the same mount point.
    fn remount(&self, options: &str) {
        let o = Command::new("mount")
            .args(["-o", options])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "remount {options}: {}", show(&o));
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a test failed with a child running): detach it.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// `spirit add` killed with SIGKILL mid-stream: every acknowledged record is stored
/// with its entity, the store is sound, the lock is free, and sending the whole stream
/// again acknowledges the stored records with their entities and adds the rest — ending
/// with the same entities as a run that was never interrupted.
#[test]
fn sigkill_during_add_loses_no_acknowledged_record() {
    const TRICKLE: usize = 15;
    const KILL_AFTER: usize = 60;
    const CHUNK: usize = 20;

    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    resolved_workspace(&ws, tmp.path());
    let twin = tmp.path().join("twin");
    copy_workspace(&ws, &twin);
    let (ids, lines) = stream_records();

    let mut child = bin()
        .args(["add", s(&ws), "--source", "stream"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spirit add starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut acks_in = BufReader::new(child.stdout.take().unwrap());
    let mut child_err = child.stderr.take().unwrap();
    let mut acked: Vec<(String, String)> = Vec::new();
    fn read_ack(acks_in: &mut BufReader<ChildStdout>, acked: &mut Vec<(String, String)>) {
        let mut line = String::new();
        let n = acks_in.read_line(&mut line).unwrap();
        assert!(n > 0, "spirit add stopped early");
        acked.push(parse_ack(&line));
    }

    // A trickle: each record is acknowledged before the next one is sent.
    for line in &lines[..TRICKLE] {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        read_ack(&mut acks_in, &mut acked);
    }
    // Then chunks, sent by a thread while the acknowledgements are read. Standard input
    // stays open until the test says so: the child cannot finish on its own.
    let (stop, stopped) = mpsc::channel::<()>();
    let rest: Vec<String> = lines[TRICKLE..].to_vec();
    let writer = std::thread::spawn(move || {
        for chunk in rest.chunks(CHUNK) {
            let text: String = chunk.iter().map(|l| format!("{l}\n")).collect();
            if stdin.write_all(text.as_bytes()).is_err() || stdin.flush().is_err() {
                return;
            }
            match stopped.recv_timeout(Duration::from_millis(20)) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
        let _ = stopped.recv();
    });
    while acked.len() < KILL_AFTER {
        read_ack(&mut acks_in, &mut acked);
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    drop(stop);
    writer.join().unwrap();
    // Acknowledgements written before the kill but not read yet count too; a torn last
    // line does not.
    let mut tail = String::new();
    acks_in.read_to_string(&mut tail).unwrap();
    let mut tail_lines: Vec<&str> = tail.split('\n').collect();
    tail_lines.pop();
    acked.extend(tail_lines.into_iter().map(parse_ack));
    let mut err = String::new();
    child_err.read_to_string(&mut err).unwrap();
    assert_eq!(status.signal(), Some(9), "not killed: {status:?}\n{err}");

    // Acknowledgements come in stream order, one per record.
    for (i, (id, _)) in acked.iter().enumerate() {
        assert_eq!(id, &ids[i], "acknowledgement {i} out of order");
    }

    // The store is sound, and what it holds of the stream is a prefix at least as long
    // as what was acknowledged: no hole, no half batch.
    let report = check_ok(&ws);
    let clusters = export(&ws);
    let stored: Vec<bool> = ids
        .iter()
        .map(|id| clusters.contains_key(&("stream".to_owned(), id.clone())))
        .collect();
    let n_stored = stored.iter().take_while(|&&x| x).count();
    assert!(
        stored[n_stored..].iter().all(|&x| !x),
        "the stored part of the stream is not a prefix: {stored:?}"
    );
    assert!(
        n_stored >= acked.len(),
        "{} records acknowledged but only {n_stored} stored",
        acked.len()
    );
    assert!(
        n_stored < ids.len(),
        "the whole stream was stored before the kill"
    );
    eprintln!(
        "killed with {} records acknowledged and {n_stored} of {} stored",
        acked.len(),
        ids.len()
    );
    assert_eq!(count(&report, "records"), INGESTED + n_stored);
    assert_eq!(count(&report, "unresolved_records"), 0);

    // Every acknowledged record is there, in the entity it was acknowledged with (or the
    // entity that one became).
    for (id, entity) in &acked {
        let now = &clusters[&("stream".to_owned(), id.clone())];
        assert!(
            became(&ws, entity, now),
            "stream:{id} was acknowledged in {entity} but is in {now}"
        );
    }
    let (last_id, _) = acked.last().unwrap();
    let last_entity = &clusters[&("stream".to_owned(), last_id.clone())];
    let o = spirit(&["record", s(&ws), &format!("stream:{last_id}")]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        stdout(&o).contains(&format!("entity {last_entity} ")),
        "{}",
        show(&o)
    );
    let o = spirit(&["record", s(&ws), &format!("stream:{}", ids.last().unwrap())]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // The lock died with the process: the whole stream is sent again. Stored records are
    // acknowledged with their entity; the rest are added.
    let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let o = spirit_with_input(&["add", s(&ws), "--source", "stream", "--json"], &all);
    assert!(o.status.success(), "{}", show(&o));
    let again: Vec<(String, String)> = stdout(&o).lines().map(parse_ack).collect();
    let again_ids: Vec<&String> = again.iter().map(|(id, _)| id).collect();
    assert_eq!(again_ids, ids.iter().collect::<Vec<_>>());
    for (id, entity) in &again[..n_stored] {
        assert_eq!(
            entity,
            &clusters[&("stream".to_owned(), id.clone())],
            "stream:{id} acknowledged again with another entity"
        );
    }
    let totals = &add_report(&o)["totals"];
    assert_eq!(count(totals, "already_stored"), n_stored, "{totals}");
    assert_eq!(count(totals, "stored"), ids.len() - n_stored, "{totals}");
    assert_eq!(count(totals, "rejected"), 0, "{totals}");
    let report = check_ok(&ws);
    assert_eq!(count(&report, "records"), demo().rows.len());
    assert_eq!(count(&report, "unresolved_records"), 0);

    // The crash changed nothing: the same stream added without interruption gives the
    // same entities.
    let o = spirit_with_input(&["add", s(&twin), "--source", "stream"], &all);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(partition(&export(&ws)), partition(&export(&twin)));
}

/// `spirit ingest` of a file of several chunks killed with SIGKILL: the store keeps
/// whole chunks only and is sound; running the ingest again stores the rest, each row
/// once.
#[test]
fn sigkill_during_ingest_keeps_whole_chunks_and_a_rerun_completes() {
    const ROWS: usize = 4 * INGEST_CHUNK;
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    init(&ws);
    let file = tmp.path().join("big.csv");
    write(&file, &big_csv(ROWS));
    let ingest = ["ingest", s(&ws), "--source", "big", s(&file), "--json"];

    let mut child = bin()
        .args(ingest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spirit ingest starts");
    // Kill it once its first chunk is committed (a reader sees the first row), unless
    // it has finished by then.
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if spirit(&["record", s(&ws), "big:b00000"]).status.success() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no chunk committed in 60 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let interrupted = !status.success();
    if interrupted {
        assert_eq!(status.signal(), Some(9), "{status:?}\n{err}");
    } else {
        eprintln!("the ingest finished before it could be killed");
    }

    let report = check_ok(&ws);
    let before = count(&report, "records");
    assert!(
        before.is_multiple_of(INGEST_CHUNK) && (INGEST_CHUNK..=ROWS).contains(&before),
        "{before} records stored: not whole chunks of {INGEST_CHUNK}"
    );
    assert_eq!(count(&report, "unresolved_records"), before);
    if interrupted {
        eprintln!("killed with {before} of {ROWS} records stored");
    }

    // The lock is free and the ingest resumes where it stopped.
    assert_ingested(&spirit(&ingest), ROWS, ROWS - before);
    let report = check_ok(&ws);
    assert_eq!(count(&report, "records"), ROWS);
    for id in ["b00000", &format!("b{:05}", ROWS - 1)] {
        let o = spirit(&["record", s(&ws), &format!("big:{id}")]);
        assert!(o.status.success(), "{}", show(&o));
    }
}

/// While one `spirit add` holds the workspace, a second writer fails at once with
/// exit code 2 and says the workspace is busy (and who holds it); readers carry on.
#[test]
fn a_second_writer_is_refused_at_once_while_readers_carry_on() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    resolved_workspace(&ws, tmp.path());
    let (ids, lines) = stream_records();
    let late = tmp.path().join("late.csv");
    write(&late, &csv_text(&demo().rows[INGESTED..INGESTED + 10]));

    let mut child = bin()
        .args(["add", s(&ws), "--source", "stream", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spirit add starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut acks_in = BufReader::new(child.stdout.take().unwrap());
    let mut first_ack = |line: &str| {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut ack = String::new();
        acks_in.read_line(&mut ack).unwrap();
        parse_ack(&ack)
    };
    let (id0, entity0) = first_ack(&lines[0]);
    assert_eq!(id0, ids[0]);
    let holder = format!("pid {}", child.id());

    // Writers are turned away at once (not after the database's 10 s busy timeout).
    let refused: [(&str, Output); 3] = [
        ("add", {
            let t = Instant::now();
            let o = spirit_with_input(&["add", s(&ws), "--source", "other"], &lines[1]);
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
            o
        }),
        ("ingest", {
            let t = Instant::now();
            let o = spirit(&["ingest", s(&ws), "--source", "late", s(&late)]);
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
            o
        }),
        ("resolve", spirit(&["resolve", s(&ws)])),
    ];
    for (verb, o) in &refused {
        assert!(o.stdout.is_empty(), "{verb}: {}", show(o));
        assert_refused(o, &ws, &["busy", &holder]);
    }

    // Readers work meanwhile.
    let report = check_ok(&ws);
    assert_eq!(count(&report, "records"), INGESTED + 1);
    let o = spirit(&["record", s(&ws), &format!("stream:{id0}")]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        stdout(&o).contains(&format!("entity {entity0} ")),
        "{}",
        show(&o)
    );
    let o = spirit(&["record", s(&ws), "people:0"]);
    assert!(o.status.success(), "{}", show(&o));
    let o = spirit(&["record", s(&ws), "late:1500"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // The first writer was not disturbed.
    let (id1, _) = first_ack(&lines[1]);
    assert_eq!(id1, ids[1]);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(count(&add_report(&out)["totals"], "stored"), 2);

    // Once it has finished, the refused writers go through.
    let o = spirit(&["ingest", s(&ws), "--source", "late", s(&late), "--json"]);
    assert_ingested(&o, 10, 10);
    let o = spirit_with_input(&["add", s(&ws), "--source", "other"], &lines[1]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", show(&o));
    let report = check_ok(&ws);
    assert_eq!(count(&report, "records"), INGESTED + 2 + 10 + 1);
    // The added record is the same row as one of the ten ingested, unresolved ones:
    // resolving it resolves that one too; the other nine wait for `spirit resolve`.
    assert_eq!(count(&report, "unresolved_records"), 9);
    let twin = spirit(&["record", s(&ws), &format!("late:{}", ids[1])]);
    assert!(twin.status.success(), "{}", show(&twin));
    assert!(
        !stdout(&twin).contains("not resolved yet"),
        "{}",
        show(&twin)
    );
}

/// A full disk (a 4 MB tmpfs): the ingest stops with exit code 2 and a message
/// naming the workspace, the chunks committed before are intact and the store sound;
/// with room again, the same ingest completes.
#[test]
fn a_full_disk_stops_ingest_cleanly_and_a_rerun_completes() {
    const ROWS: usize = 4 * INGEST_CHUNK;
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Mounted::new(
        &["-t", "tmpfs", "-o", "size=4m", "tmpfs"],
        &tmp.path().join("disk"),
    ) else {
        eprintln!("skipped: cannot mount a tmpfs here (see crates/store/tests/failures.rs)");
        return;
    };
    let ws = disk.0.join("ws");
    init(&ws);
    let file = tmp.path().join("big.csv");
    write(&file, &big_csv(ROWS));
    let ingest = ["ingest", s(&ws), "--source", "big", s(&file), "--json"];

    let o = spirit(&ingest);
    assert_refused(&o, &ws, &["disk full"]);
    let report = check_ok(&ws);
    let before = count(&report, "records");
    assert!(
        before.is_multiple_of(INGEST_CHUNK) && (INGEST_CHUNK..ROWS).contains(&before),
        "{before} records stored: expected whole chunks of {INGEST_CHUNK}, fewer than {ROWS}"
    );
    for id in ["b00000", &format!("b{:05}", before - 1)] {
        let o = spirit(&["record", s(&ws), &format!("big:{id}")]);
        assert!(o.status.success(), "{}", show(&o));
    }
    let o = spirit(&["record", s(&ws), &format!("big:b{before:05}")]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // Room again: the same ingest stores the rest.
    disk.remount("remount,size=64m");
    assert_ingested(&spirit(&ingest), ROWS, ROWS - before);
    assert_eq!(count(&check_ok(&ws), "records"), ROWS);
}

/// A full disk during `spirit add`: exit code 2 and a message naming the workspace;
/// exactly the acknowledged records are stored, in their entities; with room again, the
/// whole stream sent again acknowledges them and adds the rest.
#[test]
fn a_full_disk_stops_add_after_the_last_acknowledged_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let built = tmp.path().join("built");
    resolved_workspace(&built, tmp.path());
    let db = std::fs::metadata(built.join("spirit.db")).unwrap().len();
    // Room for the store and a little more: a few batches of the stream.
    let size = format!("size={}k", db / 1024 + 768);
    let Some(disk) = Mounted::new(
        &["-t", "tmpfs", "-o", &size, "tmpfs"],
        &tmp.path().join("disk"),
    ) else {
        eprintln!("skipped: cannot mount a tmpfs here (see crates/store/tests/failures.rs)");
        return;
    };
    let ws = disk.0.join("ws");
    copy_workspace(&built, &ws);
    let (ids, lines) = stream_records();
    let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let add = [
        "add",
        s(&ws),
        "--source",
        "stream",
        "--batch",
        "10",
        "--json",
    ];

    let o = spirit_with_input(&add, &all);
    assert_refused(&o, &ws, &["disk full"]);
    let acked: Vec<(String, String)> = stdout(&o).lines().map(parse_ack).collect();
    assert!(
        !acked.is_empty() && acked.len() < ids.len(),
        "{} of {} records acknowledged: adjust the tmpfs size",
        acked.len(),
        ids.len()
    );
    eprintln!(
        "{} of {} records acknowledged before the disk was full",
        acked.len(),
        ids.len()
    );
    let report = check_ok(&ws);
    assert_eq!(count(&report, "records"), INGESTED + acked.len());
    assert_eq!(count(&report, "unresolved_records"), 0);
    // Reads are audited: while the log cannot grow they are refused, and say why.
    let filler = disk.0.join("filler");
    fill(&filler);
    let out = tmp.path().join("early.csv");
    let o = spirit(&["export", s(&ws), "--out", s(&out)]);
    // (The log's write-ahead file may still hold room from earlier writes.)
    if !o.status.success() {
        assert_refused(&o, &ws, &["full disk", "audit log"]);
        assert!(!out.exists(), "a refused export wrote {}", out.display());
    }
    std::fs::remove_file(&filler).unwrap();
    disk.remount("remount,size=64m");
    let clusters = export(&ws);
    for (i, (id, entity)) in acked.iter().enumerate() {
        assert_eq!(id, &ids[i], "acknowledgement {i} out of order");
        let now = &clusters[&("stream".to_owned(), id.clone())];
        assert!(
            became(&ws, entity, now),
            "stream:{id} was acknowledged in {entity} but is in {now}"
        );
    }

    let o = spirit_with_input(&add, &all);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(stdout(&o).lines().count(), ids.len());
    let totals = &add_report(&o)["totals"];
    assert_eq!(count(totals, "already_stored"), acked.len(), "{totals}");
    assert_eq!(count(totals, "stored"), ids.len() - acked.len(), "{totals}");
    let report = check_ok(&ws);
    assert_eq!(count(&report, "records"), INGESTED + ids.len());
    assert_eq!(count(&report, "unresolved_records"), 0);
}

/// A workspace of 100 demo records ingested from `first.csv` (not resolved): the temporary
/// folder, the workspace and the file.
fn small_workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    init(&src);
    let first = tmp.path().join("first.csv");
    write(&first, &csv_text(&demo().rows[..100]));
    let o = spirit(&["ingest", s(&src), "--source", "people", s(&first)]);
    assert!(o.status.success(), "{}", show(&o));
    (tmp, src, first)
}

/// A workspace on a read-only file system: every writer stops with exit code 2 and
/// a message naming the workspace as read-only, and the store is untouched.
#[test]
fn writers_on_a_read_only_file_system_are_refused() {
    let (tmp, src, first) = small_workspace();
    let files_before = listing(&src);

    let ro = tmp.path().join("ro");
    let Some(mount) = Mounted::new(&["--bind", s(&src)], &ro) else {
        eprintln!("skipped: cannot bind-mount here (see crates/store/tests/failures.rs)");
        return;
    };
    mount.remount("remount,bind,ro");
    assert!(
        std::fs::write(ro.join("probe"), b"").is_err(),
        "the bind mount is writable"
    );
    let (_, lines) = stream_records();
    let refused = [
        spirit_with_input(&["add", s(&ro), "--source", "stream"], &lines[0]),
        spirit(&["ingest", s(&ro), "--source", "people", s(&first)]),
        spirit(&["resolve", s(&ro)]),
        spirit(&[
            "judge",
            s(&ro),
            "not-same",
            "people:0",
            "people:1",
            "--reason",
            "test",
        ]),
    ];
    for o in &refused {
        assert_refused(o, &ro, &["read-only"]);
    }
    drop(mount);

    assert_eq!(listing(&src), files_before, "the workspace changed");
    let report = check_ok(&src);
    assert_eq!(count(&report, "records"), 100);
}

/// Names and sizes of the files of a folder.
fn listing(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect()
}

/// Readers of a workspace on a read-only file system (an archived copy, say) can
/// still check it, show records and export.
#[test]
fn readers_work_on_a_read_only_file_system() {
    let (tmp, src, _) = small_workspace();
    // The last writer closed the store: no -wal or -shm file is left.
    assert!(!src.join("spirit.db-shm").exists());

    let ro = tmp.path().join("ro");
    let Some(mount) = Mounted::new(&["--bind", s(&src)], &ro) else {
        eprintln!("skipped: cannot bind-mount here");
        return;
    };
    mount.remount("remount,bind,ro");
    assert_eq!(count(&check_ok(&ro), "records"), 100);
    let o = spirit(&["record", s(&ro), "people:0"]);
    assert!(o.status.success(), "{}", show(&o));
}

/// A folder that does not exist, or exists without `spirit.db`, is named with the
/// command that creates a workspace; nothing is created in it.
#[test]
fn a_folder_that_is_not_a_workspace_is_named_with_spirit_init() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("first.csv");
    write(&file, &csv_text(&demo().rows[..10]));
    let out = tmp.path().join("clusters.csv");
    let missing = tmp.path().join("missing");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for dir in [&missing, &empty] {
        let d = s(dir);
        let runs = [
            spirit(&["ingest", d, s(&file)]),
            spirit_with_input(&["add", d, "--source", "stream"], &stream_records().1[0]),
            spirit(&["resolve", d]),
            spirit(&["check", d]),
            spirit(&["record", d, "first:0"]),
            spirit(&["export", d, "--out", s(&out)]),
        ];
        for o in &runs {
            assert_refused(
                o,
                dir,
                &["not a SPIRIT workspace", &format!("spirit init {d}")],
            );
        }
    }
    assert!(!missing.exists(), "the missing folder was created");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    assert!(!out.exists());
}
