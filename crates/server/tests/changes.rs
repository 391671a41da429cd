//! Changes through the server: uploads (bad input refused whole), erasure and its audit
//! entry, scheduled retention, merges and splits as judgements.

use reqwest::Method;
use serde_json::{Value, json};
use spirit_store::Workspace;
use spirit_store::workspace::Access;

mod common;

use common::{Body, MAX_BODY, Server, error_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_stored_resolved_and_bad_input_is_refused_whole() {
    let s = Server::start().await;
    let before = s.record_count();
    let url = "/api/sources/police/records?purpose=intake";
    let send = |body: Body| {
        let s = &s;
        async move { s.send(Method::POST, url, Some("alice"), Some(&body)).await }
    };
    // Too large: 413, with the JSON error body.
    let big = format!("rec_id,first_name\n{}", "n,Anna\n".repeat(MAX_BODY / 6));
    let (status, body) = send(Body::Csv(big)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    // Rows of the wrong width.
    let (status, body) = send(Body::Csv(
        "rec_id,first_name,surname\nb1,Anna,Smith\nb2,Bob\n".into(),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("line 3"),
        "{body}"
    );
    // Not UTF-8.
    let mut bytes = b"rec_id,first_name\nb1,Ann".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let (status, body) = send(Body::Raw(bytes, "text/csv")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("UTF-8"),
        "{body}"
    );
    // A huge value.
    let (status, body) = send(Body::Csv(format!(
        "rec_id,first_name\nb1,{}\n",
        "A".repeat(20_000)
    )))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("first_name"),
        "{body}"
    );
    // Malformed JSON Lines.
    let (status, body) = s
        .send(
            Method::POST,
            "/api/sources/police/records?purpose=intake&format=jsonl",
            Some("alice"),
            Some(&Body::Raw(
                b"{\"rec_id\": \"j1\"}\n{not json\n".to_vec(),
                "application/x-ndjson",
            )),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    // No format: 415.
    let (status, body) = send(Body::Raw(
        b"a,b\n1,2\n".to_vec(),
        "application/octet-stream",
    ))
    .await;
    assert_eq!(status, 415, "{body}");
    // A malformed JSON request body.
    let (status, body) = s
        .send(
            Method::POST,
            "/api/judgements",
            Some("alice"),
            Some(&Body::Raw(b"{\"verdict\": ".to_vec(), "application/json")),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "bad_request");
    // A huge query.
    let (status, _) = s
        .get(
            &format!("/api/search?purpose=x&q={}", "a".repeat(5000)),
            "alice",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        s.record_count(),
        before,
        "a refused upload stored something"
    );

    // A good upload is stored and resolved; its record can be read and found.
    let good = "rec_id,first_name,surname,dob,email\nn1,Heather,Wright,1950-02-13,heather.wright@hotmail.com\nn2,Quentin,Blackwood,1977-07-07,qb@example.net\n";
    let (status, body) = send(Body::Csv(good.into())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], 2, "{body}");
    assert_eq!(s.record_count(), before + 2);
    let (status, rec) = s
        .get("/api/records/police:n1?purpose=intake", "alice")
        .await;
    assert_eq!(status, 200, "{rec}");
    let (_, zero) = s.get("/api/records/police:0?purpose=intake", "alice").await;
    assert_eq!(
        rec["entity"], zero["entity"],
        "the duplicate of police:0 joined its entity"
    );
    let (_, hits) = s
        .get("/api/search?q=quentin%20blackwood&purpose=intake", "alice")
        .await;
    assert_eq!(hits["hits"][0]["record"], "police:n2", "{hits}");
    // Sending it again stores nothing new.
    let (_, body) = send(Body::Csv(good.into())).await;
    assert_eq!(body["already_stored"], 2, "{body}");
    // The server still serves.
    let (status, _) = s.get("/api/me", "alice").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_cascades_and_is_logged_without_content() {
    let s = Server::start().await;
    let e = s.t.alpha_entity.clone();
    let (_, before) = s
        .get(&format!("/api/entities/{e}?purpose=erasure"), "ada")
        .await;
    let records: Vec<String> = before["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert!(records.len() >= 2);
    let victim = records[0].clone();
    let surname = before["records"][0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "surname")
        .unwrap()["raw"]
        .as_str()
        .unwrap()
        .to_string();
    // Analysts may not erase.
    let (status, _) = s
        .send(
            Method::DELETE,
            &format!("/api/records/{victim}?reason=x&purpose=erasure"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, report) = s
        .send(
            Method::DELETE,
            &format!("/api/records/{victim}?reason=subject%20request&purpose=erasure"),
            Some("ada"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["records"], 1);
    assert!(report["attributes"].as_u64().unwrap() > 0);
    assert!(report["edges"].as_u64().unwrap() > 0);
    let (status, _) = s
        .get(&format!("/api/records/{victim}?purpose=erasure"), "ada")
        .await;
    assert_eq!(status, 404);
    let (status, after) = s
        .get(&format!("/api/entities/{e}?purpose=erasure"), "ada")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        after["records"].as_array().unwrap().len(),
        records.len() - 1
    );
    assert!(
        !after.to_string().contains(&format!("\"{victim}\"")),
        "{after}"
    );
    // The store is consistent.
    {
        let ws = Workspace::open(s.dir.path(), Access::Read).unwrap();
        let report = spirit_store::check::check(&ws).unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
    // Erase the rest of the entity: it retires, and is gone for everyone.
    let (status, report) = s
        .send(
            Method::DELETE,
            &format!("/api/entities/{e}?reason=subject%20request&purpose=erasure"),
            Some("ada"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let (status, _) = s
        .get(&format!("/api/entities/{e}?purpose=erasure"), "ada")
        .await;
    assert_eq!(status, 404);
    // The log says what was done, not what was erased.
    let (_, log) = s.get("/api/audit?action=record.erase", "audrey").await;
    let entry = &log.as_array().unwrap()[0];
    // The erased record's key is kept only keyed: the key's holder can test it.
    let key = Workspace::open(s.dir.path(), Access::Read)
        .unwrap()
        .audit_key()
        .unwrap();
    assert_eq!(entry["target"], key.term(&victim).as_str());
    assert_eq!(entry["detail"]["reason"], "subject request");
    let (_, all) = s.get("/api/audit?limit=1000", "audrey").await;
    for entry in all.as_array().unwrap() {
        if entry["action"].as_str().unwrap().ends_with("erase") {
            assert!(!entry.to_string().contains(&surname), "{entry}");
        }
        assert!(!entry.to_string().contains(&victim), "{entry}");
    }
    let (_, v) = s.get("/api/audit/verify", "audrey").await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_applies_retention_periods_on_its_schedule() {
    // The tips source keeps its records for 0 days from now on.
    let s = Server::start_with(
        |dir| {
            let ws = Workspace::open(dir, Access::Write).unwrap();
            ws.connection()
                .execute(
                    "UPDATE sources SET retention_days = 0 WHERE name = 'tips'",
                    [],
                )
                .unwrap();
        },
        spirit_server::Config {
            retention_every: Some(std::time::Duration::from_secs(1)),
            ..spirit_server::Config::default()
        },
    )
    .await;
    let count = |source: &str| -> i64 {
        let ws = Workspace::open(s.dir.path(), Access::Read).unwrap();
        ws.connection()
            .query_row(
                "SELECT count(*) FROM records r JOIN sources s ON s.id = r.source WHERE s.name = ?1",
                [source],
                |r| r.get(0),
            )
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count("tips") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule did not erase the expired source"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(count("police") > 0, "sources within their period are kept");
    let (status, log) = s.get("/api/audit?action=retention.erase", "audrey").await;
    assert_eq!(status, 200, "{log}");
    let entry = &log.as_array().unwrap()[0];
    assert_eq!(entry["actor"], spirit_server::RETENTION_ACTOR);
    assert_eq!(entry["target"], "source tips");
    let ws = Workspace::open(s.dir.path(), Access::Read).unwrap();
    let report = spirit_store::check::check(&ws).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_and_splits_are_judgements() {
    let s = Server::start().await;
    let (e1, e2) = (s.t.alpha_entity.clone(), s.t.alpha_entity2.clone());
    let (_, view2) = s
        .get(&format!("/api/entities/{e2}?purpose=check"), "alice")
        .await;
    let third = view2["records"][1]["key"].as_str().unwrap().to_string();
    let (status, r) = s
        .post(
            "/api/merge",
            "alice",
            json!({"left": e1, "right": e2, "reason": "same passport"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["verdict"], "same");
    assert_eq!(r["left_entity"], r["right_entity"], "{r}");
    let (left, right) = (
        r["left"].as_str().unwrap().to_string(),
        r["right"].as_str().unwrap().to_string(),
    );
    assert_eq!(right, view2["records"][0]["key"].as_str().unwrap());
    // "same" judgements chain left to the third record; keeping those apart is refused.
    let (status, _) = s
        .post(
            "/api/judgements",
            "alice",
            json!({"verdict": "same", "left": right, "right": third, "reason": "same phone"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = s
        .post(
            "/api/split",
            "alice",
            json!({"left": left, "right": third, "reason": "twins"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(error_code(&body), "conflict");
    assert!(
        body["message"].as_str().unwrap().contains(&third),
        "the caller sees both: {body}"
    );
    // A split of the merged pair replaces the merge.
    let (status, r) = s
        .post(
            "/api/split",
            "alice",
            json!({"left": left, "right": right, "reason": "twins"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["verdict"], "not-same");
    assert_ne!(r["left_entity"], r["right_entity"], "{r}");
    let (_, entity) = s
        .get(&format!("/api/records/{left}?purpose=check"), "alice")
        .await;
    let (_, view) = s
        .get(
            &format!(
                "/api/entities/{}?purpose=check",
                entity["entity"].as_str().unwrap()
            ),
            "alice",
        )
        .await;
    assert!(
        view["judgements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["verdict"] == "not-same"),
        "{view}"
    );
    // The histories of the two entities say who decided what, with the reason, oldest
    // first; the split shows in both.
    let mut events: Vec<Value> = Vec::new();
    for side in ["left_entity", "right_entity"] {
        let label = r[side].as_str().unwrap();
        let (status, h) = s
            .get(
                &format!("/api/entities/{label}/history?purpose=check"),
                "alice",
            )
            .await;
        assert_eq!(status, 200, "{h}");
        let mine = h["events"].as_array().unwrap().clone();
        let ids: Vec<i64> = mine.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
        assert!(mine.iter().any(|e| e["kind"] == "split"), "{h}");
        events.extend(mine);
    }
    let judged: Vec<&Value> = events.iter().filter(|e| e["kind"] == "judgement").collect();
    assert!(
        judged
            .iter()
            .any(|e| e["detail"]["verdict"] == "not-same" && e["detail"]["reason"] == "twins"),
        "{events:?}"
    );
    assert!(
        judged.iter().all(|e| e["detail"]["author"] == "alice"),
        "{events:?}"
    );
    // Reading the history is audited with its purpose.
    let (_, log) = s.get("/api/audit?action=entity.history", "audrey").await;
    assert_eq!(log[0]["purpose"], "check", "{log}");

    // Undo (an "unsure" judgement on the split pair, which now spans two entities),
    // with a purpose: the history of each entity lists it once, and the audit entry
    // of the change carries the purpose.
    let (status, undo) = s
        .post(
            "/api/judgements?purpose=case%20review",
            "alice",
            json!({"verdict": "unsure", "left": left, "right": right, "reason": "undo of not-same"}),
        )
        .await;
    assert_eq!(status, 200, "{undo}");
    let label = r["left_entity"].as_str().unwrap();
    let (_, h) = s
        .get(
            &format!("/api/entities/{label}/history?purpose=check"),
            "alice",
        )
        .await;
    let undone = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "judgement" && e["detail"]["verdict"] == "unsure")
        .count();
    assert_eq!(undone, 1, "{h}");
    let (_, log) = s.get("/api/audit?action=judge", "audrey").await;
    let last = log.as_array().unwrap().last().unwrap();
    assert_eq!(last["detail"]["verdict"], "unsure", "{log}");
    assert_eq!(last["purpose"], "case review", "{log}");
    let (_, log) = s.get("/api/audit?action=split", "audrey").await;
    assert!(log[0]["purpose"].is_null(), "none was stated: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_judgement_never_names_what_the_caller_cannot_see() {
    let s = Server::start().await;
    // An administrator of both cases: police:2 is tips:1, and police:0 is not tips:1.
    for (verdict, left) in [("same", "police:2"), ("not-same", "police:0")] {
        let (status, body) = s
            .post(
                "/api/judgements",
                "ada",
                json!({"verdict": verdict, "left": left, "right": "tips:1", "reason": "case review"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // alice (case alpha only) judges police:0 and police:2 the same: that would join
    // police:0 with tips:1, which she cannot see.
    let (status, body) = s
        .post(
            "/api/judgements",
            "alice",
            json!({"verdict": "same", "left": "police:0", "right": "police:2", "reason": "same phone"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(!body.to_string().contains("tips"), "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("outside your cases"),
        "{body}"
    );
    // ada sees both records, and is told which.
    let (status, body) = s
        .post(
            "/api/judgements",
            "ada",
            json!({"verdict": "same", "left": "police:0", "right": "police:2", "reason": "same phone"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("tips:1"), "{body}");
}
