//! Reads through the server: case compartments on entities, edges, networks, paths,
//! history and search, and the purpose every read of personal data needs and is logged
//! with.

use std::collections::BTreeSet;

use serde_json::json;

mod common;

use common::{Server, error_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_spanning_cases_shows_only_visible_records() {
    let s = Server::start().await;
    let e = &s.t.spanning_entity;
    let (status, alice) = s
        .get(&format!("/api/entities/{e}?purpose=review"), "alice")
        .await;
    assert_eq!(status, 200, "{alice}");
    let sources: BTreeSet<&str> = alice["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, BTreeSet::from(["police"]), "{alice}");
    assert!(!alice.to_string().contains("tips:"), "{alice}");
    let (_, bob) = s
        .get(&format!("/api/entities/{e}?purpose=review"), "bob")
        .await;
    let bob_sources: BTreeSet<&str> = bob["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert_eq!(bob_sources, BTreeSet::from(["tips"]), "{bob}");
    let (_, ada) = s
        .get(&format!("/api/entities/{e}?purpose=review"), "ada")
        .await;
    assert_eq!(
        ada["records"].as_array().unwrap().len(),
        alice["records"].as_array().unwrap().len() + bob["records"].as_array().unwrap().len()
    );
    // Edges shown to alice join only her records.
    let (status, edges) = s
        .get(&format!("/api/entities/{e}/edges?purpose=review"), "alice")
        .await;
    assert_eq!(status, 200);
    for edge in edges["edges"].as_array().unwrap() {
        assert!(
            edge["left"].as_str().unwrap().starts_with("police:"),
            "{edge}"
        );
        assert!(
            edge["right"].as_str().unwrap().starts_with("police:"),
            "{edge}"
        );
    }
    // An alpha-only entity does not exist for bob.
    let (status, body) = s
        .get(
            &format!("/api/entities/{}?purpose=review", s.t.alpha_entity),
            "bob",
        )
        .await;
    assert_eq!(status, 404, "{body}");
    // Search: bob never sees police records.
    let (_, hits) = s
        .get("/api/search?q=heather%20wright&purpose=review", "ada")
        .await;
    assert!(hits.to_string().contains("police:0"), "{hits}");
    let (_, hits) = s
        .get("/api/search?q=heather%20wright&purpose=review", "bob")
        .await;
    assert!(!hits.to_string().contains("police:"), "{hits}");
    // Export too.
    let (_, rows) = s
        .get("/api/export?purpose=review&limit=10000", "alice")
        .await;
    let rows = rows["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["source"] == "police" || r["source"] == "extra")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_edge_is_explained_by_its_partial_weights() {
    let s = Server::start().await;
    let (status, page) = s
        .get(
            &format!(
                "/api/entities/{}/edges?purpose=review&limit=500",
                s.t.alpha_entity
            ),
            "alice",
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let edges = page["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    assert_eq!(page["total"].as_u64().unwrap() as usize, edges.len());
    for e in edges {
        let sum: f64 = e["partials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["weight"].as_f64().unwrap())
            .sum();
        let total = e["prior_weight"].as_f64().unwrap() + sum + e["adjustment"].as_f64().unwrap();
        assert!((total - e["weight"].as_f64().unwrap()).abs() < 1e-6, "{e}");
        assert!(
            e["partials"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["comparison"] == "surname"),
            "{e}"
        );
    }
    // Paging.
    let (_, one) = s
        .get(
            &format!(
                "/api/entities/{}/edges?purpose=review&limit=1&offset=1",
                s.t.alpha_entity
            ),
            "alice",
        )
        .await;
    assert_eq!(one["edges"].as_array().unwrap().len(), 1);
    assert_eq!(one["edges"][0]["left"], edges[1]["left"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_and_paths_follow_shared_identifiers_within_the_cases() {
    let s = Server::start().await;
    let (a, b) = (&s.t.phone_entity, &s.t.phone_neighbour);
    let (status, net) = s
        .get(&format!("/api/entities/{a}/network?purpose=review"), "ada")
        .await;
    assert_eq!(status, 200, "{net}");
    let neighbours = net["neighbours"].as_array().unwrap();
    let link = neighbours
        .iter()
        .find(|n| n["entity"] == b.as_str())
        .unwrap_or_else(|| panic!("{net}"));
    assert!(link["shared"].to_string().contains("phone:"), "{link}");
    // ada sees the beta record holding the phone too; alice does not.
    assert!(net.to_string().contains("betaextra:y1"), "{net}");
    let (_, net) = s
        .get(
            &format!("/api/entities/{a}/network?purpose=review"),
            "alice",
        )
        .await;
    assert!(!net.to_string().contains("betaextra"), "{net}");
    assert!(net.to_string().contains(b.as_str()), "{net}");
    // Paging.
    let (_, page) = s
        .get(
            &format!("/api/entities/{a}/network?purpose=review&limit=1&offset=1"),
            "ada",
        )
        .await;
    assert_eq!(page["neighbours"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["total"].as_u64(), Some(neighbours.len() as u64));
    // A path of one link.
    let (status, path) = s
        .get(
            &format!("/api/path?from={a}&to={b}&purpose=review"),
            "alice",
        )
        .await;
    assert_eq!(status, 200, "{path}");
    assert_eq!(path["found"], true, "{path}");
    assert_eq!(path["entities"], json!([a, b]));
    // Two alpha entities with nothing in common: not found, bounded search.
    let (_, path) = s
        .get(
            &format!(
                "/api/path?from={}&to={}&purpose=review",
                s.t.alpha_entity, s.t.alpha_entity2
            ),
            "alice",
        )
        .await;
    assert_eq!(path["found"], false, "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_need_a_purpose_and_are_audited_with_it() {
    let s = Server::start().await;
    let (status, body) = s
        .get(&format!("/api/entities/{}", s.t.alpha_entity), "alice")
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "purpose_required", "{body}");
    let (status, _) = s.get("/api/search?q=smith", "alice").await;
    assert_eq!(status, 400);
    // The purpose may come in a header.
    let resp = s
        .client
        .get(format!("{}/api/records/police:0", s.base))
        .bearer_auth(s.token("alice"))
        .header("X-Purpose", "header purpose")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, _) = s
        .get(
            &format!(
                "/api/entities/{}?purpose=op%20nightjar%20lead%207",
                s.t.alpha_entity
            ),
            "alice",
        )
        .await;
    assert_eq!(status, 200);
    // Auditors read the log, not personal data.
    let (status, _) = s
        .get(
            &format!("/api/entities/{}?purpose=curious", s.t.alpha_entity),
            "audrey",
        )
        .await;
    assert_eq!(status, 403);
    // Searches and reads of an entity's edges and history carry their case as a field.
    for path in [
        "/api/search?q=heather%20wright&purpose=lead%208".to_string(),
        format!("/api/entities/{}/edges?purpose=lead%208", s.t.alpha_entity),
        format!(
            "/api/entities/{}/history?purpose=lead%208",
            s.t.alpha_entity
        ),
        format!(
            "/api/entities/{}/network?purpose=lead%208",
            s.t.alpha_entity
        ),
    ] {
        let (status, body) = s.get(&path, "alice").await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, by_case) = s
        .get("/api/audit?case=alpha&actor=alice&limit=1000", "audrey")
        .await;
    for action in ["search", "entity.edges", "entity.history", "entity.network"] {
        assert!(
            by_case
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action),
            "no {action} entry filed under case alpha: {by_case}"
        );
    }
    let (status, log) = s.get("/api/audit?actor=alice&limit=1000", "audrey").await;
    assert_eq!(status, 200, "{log}");
    let entries = log.as_array().unwrap();
    let read = entries
        .iter()
        .find(|e| e["action"] == "entity.read" && e["outcome"] == "ok")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(read["purpose"], "op nightjar lead 7");
    assert_eq!(read["case"], "alpha");
    assert_eq!(read["target"], s.t.alpha_entity.as_str());
    assert!(
        entries
            .iter()
            .any(|e| e["purpose"] == "header purpose" && e["action"] == "record.read")
    );
    // The chain verifies.
    let (status, v) = s.get("/api/audit/verify", "audrey").await;
    assert_eq!(status, 200);
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_u64().unwrap() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_of_an_entity_spanning_cases_shows_only_visible_events() {
    let s = Server::start().await;
    let e = s.t.spanning_entity.clone();
    for (user, hidden) in [("alice", "tips:"), ("bob", "police:")] {
        let (status, h) = s
            .get(&format!("/api/entities/{e}/history?purpose=check"), user)
            .await;
        assert_eq!(status, 200, "{user}: {h}");
        assert!(!h["events"].as_array().unwrap().is_empty(), "{user}: {h}");
        assert!(!h.to_string().contains(hidden), "{user} sees {hidden}: {h}");
        // No count of records tells them that others exist.
        for event in h["events"].as_array().unwrap() {
            assert!(event["detail"].get("records").is_none(), "{user}: {event}");
        }
    }
    // Who sees every source sees the counts.
    let (_, h) = s
        .get(&format!("/api/entities/{e}/history?purpose=check"), "ada")
        .await;
    assert!(
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["detail"].get("records").is_some()),
        "{h}"
    );
    let (status, _) = s
        .get("/api/entities/E999999/history?purpose=check", "ada")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_hits_carry_attributes_and_the_visible_sources_of_their_entity() {
    let s = Server::start().await;
    let (status, body) = s
        .get("/api/search?q=heathr%20wright&purpose=check", "alice")
        .await;
    assert_eq!(status, 200, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{body}");
    let first = &hits[0];
    let kinds: Vec<&str> = first["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"surname"), "{first}");
    for hit in hits {
        let sources = hit["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{hit}");
        for src in sources {
            let name = src["source"].as_str().unwrap();
            assert!(
                ["police", "extra"].contains(&name),
                "alice sees {name}: {hit}"
            );
        }
        // The counts are the entity's visible records.
        if let Some(e) = hit["entity"].as_str() {
            let (_, view) = s
                .get(&format!("/api/entities/{e}?purpose=check"), "alice")
                .await;
            let total: u64 = sources.iter().map(|x| x["records"].as_u64().unwrap()).sum();
            assert_eq!(
                total,
                view["records"].as_array().unwrap().len() as u64,
                "{hit}"
            );
        }
    }
    // ada sees both cases: the spanning entity counts records of both.
    let e = &s.t.spanning_entity;
    let (_, view) = s
        .get(&format!("/api/entities/{e}?purpose=check"), "ada")
        .await;
    let key = view["records"][0]["key"].as_str().unwrap().to_string();
    let (_, record) = s
        .get(&format!("/api/records/{key}?purpose=check"), "ada")
        .await;
    let name: String = record["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| ["given_name", "surname"].contains(&a["kind"].as_str().unwrap()))
        .map(|a| a["raw"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let (_, body) = s
        .get(
            &format!(
                "/api/search?q={}&purpose=check&limit=50",
                name.replace(' ', "%20")
            ),
            "ada",
        )
        .await;
    let hit = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["entity"].as_str() == Some(e.as_str()))
        .unwrap_or_else(|| panic!("{e} not found for {name}: {body}"));
    let names: BTreeSet<&str> = hit["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["source"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["police", "tips"]), "{hit}");
}
