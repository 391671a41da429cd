//! An upload under way holds the writer one batch at a time: judgements and searches
//! sent meanwhile are answered, none refused as busy, and the upload stores every record.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;
use serde_json::json;

mod common;

use common::{Body, MAX_BODY, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_and_reads_go_on_while_an_upload_is_stored() {
    let s = Server::start().await;
    let demo = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv"),
    )
    .unwrap();
    let mut lines = demo.lines();
    let mut csv = format!("{}\n", lines.next().unwrap());
    let mut rows = 0;
    for line in lines {
        if csv.len() + line.len() + 3 > MAX_BODY {
            break;
        }
        csv.push_str(&format!("up{line}\n"));
        rows += 1;
    }
    let before = s.record_count();
    let done = AtomicBool::new(false);
    let upload = async {
        let answer = s
            .send(
                Method::POST,
                "/api/sources/police/records?purpose=intake",
                Some("alice"),
                Some(&Body::Csv(csv.clone())),
            )
            .await;
        done.store(true, Ordering::SeqCst);
        answer
    };
    let meanwhile = async {
        let mut answers = Vec::new();
        let mut i = 0;
        while !done.load(Ordering::SeqCst) {
            let (status, body) = s
                .post(
                    "/api/judgements?purpose=review",
                    "alice",
                    json!({"verdict": "unsure", "left": "police:0", "right": format!("police:{}", 2 + 2 * (i % 20)), "reason": "while uploading"}),
                )
                .await;
            answers.push(("judgement", status, body));
            let (status, body) = s
                .get("/api/search?q=heather%20wright&purpose=review", "alice")
                .await;
            answers.push(("search", status, body));
            i += 1;
        }
        answers
    };
    let ((status, body), answers) = tokio::join!(upload, meanwhile);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], rows, "{body}");
    assert_eq!(s.record_count(), before + rows as i64);
    assert!(!answers.is_empty(), "nothing was sent while the upload ran");
    for (what, status, body) in &answers {
        assert_eq!(*status, 200, "a {what} during the upload: {body}");
    }
}
