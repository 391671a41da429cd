//! A real cluster on loopback: one `spirit cluster scheduler` and two `spirit cluster
//! executor` processes. The same records resolved through them give the same clusters
//! and edges as the embedded run; an executor killed mid-run never yields wrong results.
//!
//! The records are `tests/data/people_100k.parquet`: the synthetic 100k people set (seed
//! 42, with its `cluster_id` truth column, which the runs exclude), as zstd Parquet, the
//! columnar input a cluster is meant for. Set `SPIRIT_CLUSTER_TEST_DATA` to run the same
//! test on another file.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_spirit")
}

fn data() -> PathBuf {
    match std::env::var_os("SPIRIT_CLUSTER_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/people_100k.parquet"),
    }
}

/// A child process killed when dropped, so no test leaves nodes behind.
struct Node {
    name: &'static str,
    child: Option<Child>,
}

impl Node {
    fn start(name: &'static str, args: &[&str], log: &Path) -> Node {
        let err = std::fs::File::create(log).unwrap();
        // Jobs, stages, lost executors and re-run tasks, for a failure's message.
        let child = Command::new(bin())
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Node {
            name,
            child: Some(child),
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn assert_running(&mut self) {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            panic!("{} exited early: {status}", self.name);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn wait_port(port: u16, node: &mut Node) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        node.assert_running();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} did not open port {port} within 60 s",
            node.name
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn resolve_args<'a>(input: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "--quiet",
        "resolve",
        "--input",
        input,
        "--id-column",
        "rec_id",
        "--exclude-column",
        "cluster_id",
        "--out",
        out,
    ]
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn candidate_pairs(out: &Path) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    v["candidate_pairs"].as_u64().unwrap()
}

/// Any file under `dir` (an executor writes shuffle files there once it runs tasks).
fn has_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() { has_files(&p) } else { true }
    })
}

fn assert_same_result(embedded: &Path, other: &Path, what: &str) {
    for f in ["clusters.csv", "edges.csv"] {
        let (a, b) = (read(&embedded.join(f)), read(&other.join(f)));
        if a != b {
            // The lines of each that the other lacks, a few of them, to say what moved.
            let (la, lb): (BTreeSet<&str>, BTreeSet<&str>) =
                (a.lines().collect(), b.lines().collect());
            let only = |x: &BTreeSet<&str>, y: &BTreeSet<&str>| {
                x.difference(y)
                    .take(10)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            };
            panic!(
                "{what}: {f} differs from the embedded run ({} vs {} bytes)\n\
                 only in the embedded run:\n  {}\nonly in this run:\n  {}",
                a.len(),
                b.len(),
                only(&la, &lb),
                only(&lb, &la)
            );
        }
    }
    assert_eq!(
        candidate_pairs(embedded),
        candidate_pairs(other),
        "{what}: candidate pairs differ"
    );
}

#[test]
fn a_two_executor_cluster_resolves_exactly_as_the_embedded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let input = data();
    let input = input.to_str().unwrap();
    let clock = Instant::now();

    // The embedded run.
    let emb = t.join("embedded");
    let o = run(&resolve_args(input, emb.to_str().unwrap()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let embedded_secs = clock.elapsed().as_secs_f64();
    let records = read(&emb.join("clusters.csv")).lines().count() - 1;
    assert!(records >= 1000, "the test set has {records} records");

    // A scheduler and two executors on loopback.
    let p = free_ports(5);
    let sched_addr = format!("127.0.0.1:{}", p[0]);
    let mut scheduler = Node::start(
        "scheduler",
        &["cluster", "scheduler", "--listen", &sched_addr],
        &t.join("scheduler.log"),
    );
    wait_port(p[0], &mut scheduler);
    let mut executors = Vec::new();
    for (i, (flight, grpc)) in [(p[1], p[2]), (p[3], p[4])].into_iter().enumerate() {
        let work = t.join(format!("work{i}"));
        let bind = format!("127.0.0.1:{flight}");
        let grpc = grpc.to_string();
        let name = if i == 0 { "executor 1" } else { "executor 2" };
        let mut node = Node::start(
            name,
            &[
                "cluster",
                "executor",
                "--scheduler",
                &sched_addr,
                "--work-dir",
                work.to_str().unwrap(),
                "--bind",
                &bind,
                "--grpc-port",
                &grpc,
                "--concurrency",
                "1",
            ],
            &t.join(format!("executor{i}.log")),
        );
        wait_port(flight, &mut node);
        executors.push((node, work));
    }
    // Executors register with the scheduler right after their ports open.
    std::thread::sleep(Duration::from_secs(2));

    // The same records through the cluster: identical clusters, edges and candidates.
    let url = format!("df://{sched_addr}");
    let cl = t.join("cluster");
    let shared = t.join("shared");
    std::fs::create_dir(&shared).unwrap();
    let mut args = resolve_args(input, cl.to_str().unwrap());
    args.extend(["--cluster", &url, "--shared-dir", shared.to_str().unwrap()]);
    let start = Instant::now();
    let o = run(&args);
    let cluster_secs = start.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "cluster run failed: {}\nscheduler log: {}",
        String::from_utf8_lossy(&o.stderr),
        std::fs::read_to_string(t.join("scheduler.log")).unwrap_or_default()
    );
    assert_same_result(&emb, &cl, "2-executor cluster");
    // The prepared records the executors read are gone with the run.
    assert!(
        !has_files(&shared),
        "the shared folder still holds {:?}",
        files(&shared)
    );
    assert!(
        has_files(&executors[0].1) && has_files(&executors[1].1),
        "both executors should have run tasks"
    );

    // An executor killed mid-run: Ballista re-runs its tasks on the other executor and
    // the job finishes with exactly the embedded result.
    // (A task of this run is a shuffle file that was not there before: finished jobs'
    // files are deleted meanwhile, so counting files would not do.)
    let before = files(&executors[1].1);
    let Some((status, stderr, killed)) = run_and_kill(t, input, &url, "killed", || {
        if files(&executors[1].1).difference(&before).next().is_some() {
            executors[1].0.kill();
            true
        } else {
            false
        }
    }) else {
        // Ballista 55 stalled the job (see `run_and_kill`); its slot accounting is
        // broken from here on, so the last scenario cannot run on this cluster.
        return;
    };
    assert!(
        status.success(),
        "the run that lost an executor failed: {stderr}"
    );
    assert_same_result(&emb, &killed, "cluster that lost an executor");

    // The last executor killed mid-run: nothing is left to run the tasks, so the job
    // fails with an error that says so, and writes nothing.
    let before = files(&executors[0].1);
    let (status, stderr, lost) = run_and_kill(t, input, &url, "lost", || {
        if files(&executors[0].1).difference(&before).next().is_some() {
            executors[0].0.kill();
            true
        } else {
            false
        }
    })
    .expect("a job with no executor left fails, it does not stall");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
    assert!(stderr.contains("executors were lost"), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(
        !lost.join("clusters.csv").exists() && !lost.join("edges.csv").exists(),
        "a failed run wrote results"
    );
    scheduler.assert_running();
    eprintln!(
        "records {records}: embedded {embedded_secs:.1} s, 2-executor cluster {cluster_secs:.1} s; \
         one executor killed mid-run: same result; both killed: {}",
        stderr.trim()
    );
}

/// Starts a cluster run into `t/name`, calls `kill` every 50 ms until it reports that it
/// killed a node mid-run, then waits (at most 5 minutes) for the run to end.
///
/// `None` when Ballista 55's scheduler stalled the job in a known way: an executor lost
/// while the survivor ran tasks of a stage that reads the lost executor's output rolls
/// that stage back, cancels those tasks, then ignores their status ("... is in
/// UnResolved status") and never gives their task slots back; with every slot of the
/// survivor booked so, nothing runs again (docs/cluster.md). Any other stall fails.
fn run_and_kill(
    t: &Path,
    input: &str,
    url: &str,
    name: &str,
    mut kill: impl FnMut() -> bool,
) -> Option<(std::process::ExitStatus, String, PathBuf)> {
    let out = t.join(name);
    let mut args = resolve_args(input, out.to_str().unwrap());
    // The prepared records go to the test's folder, whatever happens to the run.
    args.extend(["--cluster", url, "--shared-dir", t.to_str().unwrap()]);
    let log_path = t.join(format!("{name}-client.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut client = Command::new(bin())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        assert!(
            client.try_wait().unwrap().is_none(),
            "{name}: the run ended before the executor got a task"
        );
        if kill() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "{name}: no task reached the executor"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = loop {
        if let Some(s) = client.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = client.kill();
            let _ = client.wait();
            let scheduler = std::fs::read_to_string(t.join("scheduler.log")).unwrap_or_default();
            if scheduler.contains("is in UnResolved status") {
                eprintln!(
                    "{name}: Ballista stalled the job after the executor was lost (task slots \
                     of a rolled-back stage never given back); the result was not checked"
                );
                return None;
            }
            let tail = |f: &str| {
                let text = std::fs::read_to_string(t.join(f)).unwrap_or_default();
                let from = text.len().saturating_sub(4000);
                let from = (from..text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(text.len());
                text[from..].to_string()
            };
            panic!(
                "{name}: the run neither finished nor failed within 5 minutes: {}\n\
                 scheduler log (end): {}\nexecutor 1 log (end): {}\nexecutor 2 log (end): {}",
                std::fs::read_to_string(&log_path).unwrap_or_default(),
                tail("scheduler.log"),
                tail("executor0.log"),
                tail("executor1.log"),
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Some((status, read(&log_path), out))
}

/// Every file under `dir`.
fn files(dir: &Path) -> std::collections::HashSet<PathBuf> {
    let mut out = std::collections::HashSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.insert(p);
        }
    }
    out
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0];
    let url = format!("df://127.0.0.1:{port}");
    let input = data();
    let out = tmp.path().join("out");
    let mut args = resolve_args(input.to_str().unwrap(), out.to_str().unwrap());
    args.extend(["--cluster", &url]);
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot reach the SPIRIT scheduler at 127.0.0.1:"),
        "{err}"
    );
    assert!(!out.join("clusters.csv").exists());

    let o = run(&[
        "cluster",
        "executor",
        "--scheduler",
        &format!("127.0.0.1:{port}"),
        "--work-dir",
        tmp.path().join("w").to_str().unwrap(),
        "--connect-timeout",
        "1",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot reach the SPIRIT scheduler"), "{err}");
}
