//! Scheduled anchors: `serve` anchors the audit log at start and then on its period, to
//! the configured file, and the anchors hold against the log.

mod common;

use common::Server;
use spirit_store::anchor::{self, Sink};
use spirit_store::workspace::Access;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_anchors_the_audit_log_on_a_schedule() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("anchors.jsonl");
    let config = spirit_server::Config {
        retention_every: None,
        anchor_every: Some((std::time::Duration::from_secs(1), Sink::File(file.clone()))),
        ..spirit_server::Config::default()
    };
    let s = Server::start_with(|_| {}, config).await;
    // A read between two anchors: the second anchor covers its entry.
    let (status, _) = s.get("/api/search?q=heather&purpose=check", "alice").await;
    assert_eq!(status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let anchors = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let found = anchor::parse(&text, "anchors.jsonl").unwrap();
        if found.len() >= 2 {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} anchors after 30 s",
            found.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(anchors[1].seq > anchors[0].seq, "{anchors:?}");
    assert!(anchors.iter().all(anchor::Anchor::signed));

    let ws = spirit_store::Workspace::open(s.dir.path(), Access::Read).unwrap();
    let key = ws.audit_key_if_any();
    let v = anchor::verify(ws.connection(), key, &anchors, None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    // Each anchoring is itself an audit entry, by the server, naming where it went.
    let by_server: i64 = ws
        .connection()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'audit.anchor' AND actor = 'server' \
             AND detail LIKE '%anchors.jsonl%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(by_server >= 2, "{by_server}");
}
