//! Two analysts in different cases walk every endpoint that answers with data, and their
//! answers are compared for leaks: neither sees the other case's record keys, sources,
//! case or values, and what one analyst does in their case (records added to an entity
//! both can see, judgements, searches) changes nothing in the other's answers, counts
//! included.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

mod common;

use common::{Body, Server};

const P: &str = "purpose=leak%20test";

/// Every answer with data that `user` can get about `entities` and `record`, by path.
async fn walk(
    s: &Server,
    user: &str,
    entities: &[&str],
    record: &str,
    search: &[&str],
    path: (&str, &str),
) -> BTreeMap<String, Value> {
    let mut paths: Vec<String> = ["/api/me", "/api/cases", "/api/sources"]
        .iter()
        .map(|p| p.to_string())
        .collect();
    for q in search {
        paths.push(format!("/api/search?q={}&{P}", q.replace(' ', "%20")));
    }
    paths.push(format!("/api/records/{record}?{P}"));
    for e in entities {
        for tail in ["", "/edges", "/history", "/network"] {
            paths.push(format!("/api/entities/{e}{tail}?{P}"));
        }
    }
    paths.push(format!("/api/path?from={}&to={}&{P}", path.0, path.1));
    paths.push(format!("/api/export?{P}"));
    let mut out = BTreeMap::new();
    for p in paths {
        let (status, body) = s.send(Method::GET, &p, Some(user), None).await;
        assert!(status.is_success(), "GET {p} as {user}: {status} {body}");
        out.insert(p, without_times(body));
    }
    out
}

/// The answer without the times of reading (a token's last use), which change with
/// every request.
fn without_times(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("last_used_at");
                map.remove("last_used");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// Fails, naming the path, if any answer holds one of `secrets`.
fn assert_hides(user: &str, answers: &BTreeMap<String, Value>, secrets: &[&str]) {
    for (path, body) in answers {
        let text = body.to_string();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{user} reads {secret:?} in GET {path}: {text}"
            );
        }
    }
}

/// Fails, naming each path whose answer changed, if `after` differs from `before`.
fn assert_unchanged(user: &str, before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) {
    let changed: Vec<String> = before
        .iter()
        .filter(|(path, body)| after.get(*path) != Some(body))
        .map(|(path, body)| format!("GET {path}\n  before: {body}\n  after:  {}", after[path]))
        .collect();
    assert!(
        changed.is_empty(),
        "what happened in the other case shows in {user}'s answers:\n{}",
        changed.join("\n")
    );
}

/// The CSV line of `tips.csv` (the template's input) whose rec_id is `id`.
fn tips_line(s: &Server, id: &str) -> (String, String) {
    let inputs = s.t.dir.parent().unwrap().join("inputs");
    let text = std::fs::read_to_string(inputs.join("tips.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let line = lines
        .find(|l| l.split(',').next() == Some(id))
        .unwrap_or_else(|| panic!("tips:{id} is not in tips.csv"))
        .to_string();
    (header, line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_analysts_in_different_cases_see_nothing_of_each_other() {
    let s = Server::start().await;
    let t = s.t;
    let spanning = t.spanning_entity.as_str();
    // The records of the entity both analysts see part of, as an administrator of both
    // cases reads them.
    let (_, view) = s.get(&format!("/api/entities/{spanning}?{P}"), "ada").await;
    let keys: Vec<String> = view["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    let police = keys.iter().find(|k| k.starts_with("police:")).unwrap();
    let tips = keys.iter().find(|k| k.starts_with("tips:")).unwrap();
    let (_, bob_entity) = s
        .get(&format!("/api/records/betaextra:y1?{P}"), "bob")
        .await;
    let bob_entity = bob_entity["entity"].as_str().unwrap().to_string();
    let (_, police_view) = s.get(&format!("/api/records/{police}?{P}"), "alice").await;
    let name = |v: &Value, kind: &str| -> String {
        v["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == kind)
            .map(|a| a["raw"].as_str().unwrap().to_lowercase())
            .unwrap_or_default()
    };
    let person = format!(
        "{} {}",
        name(&police_view, "given_name"),
        name(&police_view, "surname")
    );
    let search = [person.as_str(), "ottoline varga", "zebedee quaternion"];

    let alice_entities = [spanning, &t.alpha_entity, &t.phone_entity];
    let alice_path = (t.phone_entity.as_str(), t.phone_neighbour.as_str());
    let alice_before = walk(&s, "alice", &alice_entities, police, &search, alice_path).await;
    let bob_entities = [spanning, bob_entity.as_str()];
    let bob_path = (spanning, bob_entity.as_str());
    let bob_before = walk(&s, "bob", &bob_entities, tips, &search, bob_path).await;

    // Neither reads what only the other's case holds.
    let alice_secrets = [
        "police",
        "\"extra:",
        "/extra.csv",
        "\"alpha\"",
        "Zebedee",
        "zq@example.org",
    ];
    let bob_secrets = [
        "tips",
        "betaextra",
        "\"beta\"",
        "Ottoline",
        "ov@example.org",
    ];
    assert_hides("alice", &alice_before, &bob_secrets);
    assert_hides("bob", &bob_before, &alice_secrets);

    // Bob works in his case: a second copy of his record of the shared entity (it joins
    // that entity), a new person, a judgement between his two records, searches.
    let (header, line) = tips_line(&s, tips.split_once(':').unwrap().1);
    let copy = line.replacen(line.split(',').next().unwrap(), "leak1", 1);
    let csv = format!(
        "{header}\n{copy}\nleak2,0,Wilhelmina,Zakrzewski,1977-07-07,3 Elm Row,Faraway,77777,wz@example.org,\n"
    );
    let (status, added) = s
        .send(
            Method::POST,
            &format!("/api/sources/tips/records?{P}"),
            Some("bob"),
            Some(&Body::Csv(csv)),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let (_, leak1) = s.get(&format!("/api/records/tips:leak1?{P}"), "bob").await;
    assert_eq!(
        leak1["entity"].as_str(),
        Some(spanning),
        "the copy joins the shared entity: {leak1}"
    );
    let (status, judged) = s
        .post(
            &format!("/api/judgements?{P}"),
            "bob",
            json!({"verdict": "unsure", "left": tips, "right": "tips:leak1", "reason": "check"}),
        )
        .await;
    assert_eq!(status, 200, "{judged}");
    for q in &search {
        let (status, _) = s
            .get(
                &format!("/api/search?q={}&{P}", q.replace(' ', "%20")),
                "bob",
            )
            .await;
        assert_eq!(status, 200);
    }

    // Alice's answers are exactly what they were: no count, event or value moved.
    let alice_after = walk(&s, "alice", &alice_entities, police, &search, alice_path).await;
    assert_unchanged("alice", &alice_before, &alice_after);
    assert_hides("alice", &alice_after, &bob_secrets);
    assert_hides(
        "alice",
        &alice_after,
        &["leak1", "Wilhelmina", "wz@example.org"],
    );

    // And bob, who now sees his new records, still sees nothing of alice's.
    let bob_after = walk(&s, "bob", &bob_entities, tips, &search, bob_path).await;
    assert_hides("bob", &bob_after, &alice_secrets);
    assert!(
        bob_after[&format!("/api/entities/{spanning}?{P}")]
            .to_string()
            .contains("tips:leak1"),
        "bob sees his new record in the shared entity"
    );
}
