//! The server's administrative verbs through the built binary: user add, case add, audit
//! verify (intact and tampered), retention apply, erase, and `serve` answering over TCP.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn spirit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let o = spirit(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "spirit {args:?}: {out}\n{err}");
    out
}

/// A workspace with 200 demo records in source `people`, resolved.
fn workspace(dir: &Path) -> String {
    let ws = dir.join("ws");
    let ws_s = ws.display().to_string();
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv"),
    )
    .unwrap();
    let file = dir.join("people.csv");
    std::fs::write(
        &file,
        demo.lines().take(201).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    ok(&["init", &ws_s]);
    ok(&[
        "ingest",
        &ws_s,
        "--source",
        "people",
        "--id-column",
        "rec_id",
        &file.display().to_string(),
    ]);
    ok(&["resolve", &ws_s]);
    ws_s
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

#[test]
fn users_cases_audit_retention_and_erasure() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let out = ok(&["user", "add", &ws, "alice", "--role", "analyst"]);
    let password = field(&out, "password");
    let token = field(&out, "token");
    assert!(password.len() >= 16, "{out}");
    assert!(token.starts_with("spirit_") && token.len() == 71, "{out}");
    // Neither secret is stored as such.
    let db = std::fs::read(Path::new(&ws).join("spirit.db")).unwrap();
    let contains = |needle: &str| db.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(password) && !contains(token));
    // A second user of the same name, or a bad role, is refused.
    let o = spirit(&["user", "add", &ws, "alice", "--role", "analyst"]);
    assert_eq!(o.status.code(), Some(2));
    let o = spirit(&["user", "add", &ws, "bob", "--role", "king"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("admin, analyst or auditor"));

    let out = ok(&[
        "case",
        "add",
        &ws,
        "op-nightjar",
        "--member",
        "alice",
        "--source",
        "people",
        "--legal-basis",
        "warrant 12",
        "--retention-days",
        "0",
    ]);
    assert!(out.contains("case op-nightjar created"), "{out}");
    let out = ok(&["case", "list", &ws]);
    assert!(out.contains("op-nightjar\talice"), "{out}");

    let out = ok(&["audit", "verify", &ws]);
    assert!(out.contains("audit log intact"), "{out}");

    // Erase one record by key.
    let out = ok(&[
        "erase",
        &ws,
        "--record",
        "people:0",
        "--reason",
        "subject request",
    ]);
    assert!(out.contains("erased 1 records"), "{out}");
    let o = spirit(&["record", &ws, "people:0"]);
    assert_eq!(o.status.code(), Some(1));

    // Retention of 0 days: everything left goes.
    let out = ok(&["retention", "apply", &ws]);
    assert!(
        out.contains("people: retention 0 days, 199 records erased"),
        "{out}"
    );
    let out = ok(&["check", &ws]);
    assert!(
        out.contains("0 records") || out.contains("records: 0"),
        "{out}"
    );

    // The log still verifies, against an anchor the auditor keeps too, and a tampered
    // copy does not: exit 1 naming the entry.
    let anchors = tmp.path().join("anchors.jsonl");
    let anchors_s = anchors.display().to_string();
    ok(&["audit", "anchor", &ws, "--out", &anchors_s]);
    ok(&["audit", "anchor", &ws, "--out", &anchors_s]);
    assert_eq!(
        std::fs::read_to_string(&anchors).unwrap().lines().count(),
        2
    );
    let out = ok(&["audit", "verify", &ws, "--anchors", &anchors_s]);
    assert!(out.contains("2 anchors hold"), "{out}");
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["spirit.db", "settings.toml"] {
        std::fs::copy(Path::new(&ws).join(f), copy.join(f)).unwrap();
    }
    // The auditor verifies with the workspace's key folder (beside the copy).
    let keys = tmp.path().join("copy.keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(format!("{ws}.keys")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    {
        let conn = rusqlite::Connection::open(copy.join("spirit.db")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'nobody' WHERE seq = 2;",
        )
        .unwrap();
    }
    let copy_s = copy.display().to_string();
    let o = spirit(&["audit", "verify", &copy_s]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("entry 2"), "{out}");
    assert!(err.contains("entry 2"), "{err}");
    let o = spirit(&["audit", "verify", &copy_s, "--anchors", &anchors_s]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("entry 2"), "{out}");
    // Reads on the command line are logged too (as cli:<OS user>); a search text is
    // kept keyed, and the key's holder finds the entry by the text.
    ok(&["search", &ws, "Heather Wright"]);
    ok(&["entity", &ws, "E1"]);
    let log_text = {
        let conn = rusqlite::Connection::open(Path::new(&ws).join("spirit.db")).unwrap();
        let rows: Vec<String> = conn
            .prepare("SELECT actor || ' ' || action || ' ' || COALESCE(target, '') FROM audit")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.join("\n")
    };
    assert!(log_text.contains("cli:"), "{log_text}");
    assert!(log_text.contains(" entity.read E1"), "{log_text}");
    assert!(!log_text.to_lowercase().contains("heather"), "{log_text}");
    let found = ok(&["audit", "term", &ws, "heather wright"]);
    assert!(found.contains("\tsearch\t"), "{found}");
    let none = ok(&["audit", "term", &ws, "no such name at all"]);
    assert!(!none.contains("\tsearch\t"), "{none}");
}

#[test]
fn serve_answers_over_tcp_and_refuses_strangers() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let out = ok(&["user", "add", &ws, "ada", "--role", "admin"]);
    let token = field(&out, "token").to_string();
    ok(&[
        "case", "add", &ws, "op", "--member", "ada", "--source", "people",
    ]);
    // A free port: bind, note, release.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spirit"))
        .args(["serve", &ws, "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str, token: Option<&str>| -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let mut answer = None;
    for _ in 0..100 {
        if let Some(a) = get("/api/me", None) {
            answer = Some(a);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let result = std::panic::catch_unwind(|| {
        let a = answer.expect("the server answers");
        assert!(a.starts_with("HTTP/1.1 401"), "{a}");
        let a = get("/api/records/people:0?purpose=test", Some(&token)).unwrap();
        assert!(a.starts_with("HTTP/1.1 200"), "{a}");
        assert!(a.contains("\"key\":\"people:0\""), "{a}");
        let a = get("/openapi.json", None).unwrap();
        assert!(a.contains("\"openapi\""), "{a}");
    });
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
    // Every read was logged.
    let out = ok(&["audit", "verify", &ws]);
    assert!(out.contains("audit log intact"), "{out}");
}

#[test]
fn scheduled_anchors_need_somewhere_to_go() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let o = spirit(&["serve", &ws, "--anchor-every-minutes", "5"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("--anchor-out FILE or --anchor-syslog"),
        "{err}"
    );
    let o = spirit(&["serve", &ws, "--anchor-syslog"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("need --anchor-every-minutes"), "{err}");
}
