//! The server over real TCP with a real HTTP client: authentication, case compartments,
//! purposes, CSRF, revocation, bad input, the audit trail, and a walk of the OpenAPI
//! document that fails if any documented endpoint lacks an access test.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use spirit_model::NoProgress;
use spirit_store::access::{self, Role};
use spirit_store::workspace::Access;
use spirit_store::{Workspace, ingest};

/// A workspace built once and copied for each test.
struct Template {
    dir: PathBuf,
    tokens: HashMap<&'static str, String>,
    passwords: HashMap<&'static str, String>,
    /// An entity whose records are all in case alpha (source police).
    alpha_entity: String,
    alpha_entity2: String,
    /// An entity with records in both cases.
    spanning_entity: String,
    /// Entity of police:0 and of the alpha record sharing its phone.
    phone_entity: String,
    phone_neighbour: String,
}

const PHONE_OF_POLICE_0: &str = "498-006-7809";

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv")
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(build_template)
}

fn build_template() -> Template {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("server-template-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = std::fs::read_to_string(demo()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut police, mut tips) = (format!("{header}\n"), format!("{header}\n"));
    for (i, line) in lines.take(600).enumerate() {
        if i % 2 == 0 {
            police.push_str(line);
            police.push('\n');
        } else {
            tips.push_str(line);
            tips.push('\n');
        }
    }
    // A record in alpha and one in beta holding police:0's phone, nothing else alike.
    let extra = format!(
        "{header}\nx1,0,Zebedee,Quaternion,1901-01-01,1 Nowhere Road,Elsewhere,99999,zq@example.org,{PHONE_OF_POLICE_0}\n"
    );
    let beta_extra = format!(
        "{header}\ny1,0,Ottoline,Varga,1902-02-02,2 Somewhere Lane,Anywhere,88888,ov@example.org,{PHONE_OF_POLICE_0}\n"
    );
    std::fs::create_dir_all(&dir).unwrap();
    let files = dir.join("inputs");
    std::fs::create_dir_all(&files).unwrap();
    for (name, body) in [
        ("police.csv", &police),
        ("tips.csv", &tips),
        ("extra.csv", &extra),
        ("betaextra.csv", &beta_extra),
    ] {
        std::fs::write(files.join(name), body).unwrap();
    }
    let ws_dir = dir.join("ws");
    let mut tokens = HashMap::new();
    let mut passwords = HashMap::new();
    {
        let mut ws = Workspace::init(&ws_dir, None).unwrap();
        let conn = ws.connection();
        access::create_case(conn, "alpha").unwrap();
        access::create_case(conn, "beta").unwrap();
        for (name, role, cases) in [
            ("ada", Role::Admin, &["alpha", "beta"][..]),
            ("alice", Role::Analyst, &["alpha"][..]),
            ("bob", Role::Analyst, &["beta"][..]),
            ("eve", Role::Admin, &["beta"][..]),
            ("audrey", Role::Auditor, &[][..]),
        ] {
            let made = access::create_user(conn, name, role).unwrap();
            tokens.insert(name, made.token);
            passwords.insert(name, made.password);
            for c in cases {
                access::add_member(conn, c, name).unwrap();
            }
        }
        access::create_source(
            conn,
            "police",
            "alpha",
            "investigation warrant 12",
            Some(3650),
        )
        .unwrap();
        access::create_source(conn, "extra", "alpha", "open source", None).unwrap();
        access::create_source(conn, "tips", "beta", "public tip line", Some(30)).unwrap();
        access::create_source(conn, "betaextra", "beta", "public tip line", None).unwrap();
        for name in ["police", "tips", "extra", "betaextra"] {
            ingest::ingest(
                &mut ws,
                Some(name),
                &files.join(format!("{name}.csv")),
                Some("rec_id"),
                &NoProgress,
            )
            .unwrap();
        }
        spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    }
    let ws = Workspace::open(&ws_dir, Access::Read).unwrap();
    let conn = ws.connection();
    let one = |sql: &str| -> String {
        let e: i64 = conn
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        format!("E{e}")
    };
    let by_sources = "SELECT m.entity FROM membership m JOIN records r ON r.id = m.record \
                      JOIN sources s ON s.id = r.source GROUP BY m.entity";
    let alpha_only = format!(
        "{by_sources} HAVING min(s.name) = 'police' AND max(s.name) = 'police' AND count(*) >= 3 ORDER BY count(*) DESC, m.entity"
    );
    let alpha_entity = one(&format!("{alpha_only} LIMIT 1"));
    let alpha_entity2 = one(&format!("{alpha_only} LIMIT 1 OFFSET 1"));
    let spanning_entity = one(&format!(
        "{by_sources} HAVING count(DISTINCT s.name) = 2 AND min(s.name) = 'police' AND max(s.name) = 'tips' LIMIT 1"
    ));
    let record_entity = |key: &str| {
        let (s, r) = key.split_once(':').unwrap();
        one(&format!(
            "SELECT m.entity FROM membership m JOIN records r ON r.id = m.record \
             JOIN sources s ON s.id = r.source WHERE s.name = '{s}' AND r.record_id = '{r}'"
        ))
    };
    let phone_entity = record_entity("police:0");
    let phone_neighbour = record_entity("extra:x1");
    assert_ne!(
        phone_entity, phone_neighbour,
        "the phone-sharing record joined the entity"
    );
    drop(ws);
    Template {
        dir: ws_dir,
        tokens,
        passwords,
        alpha_entity,
        alpha_entity2,
        spanning_entity,
        phone_entity,
        phone_neighbour,
    }
}

/// A running server on a copy of the template workspace.
struct Server {
    base: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    t: &'static Template,
}

const MAX_BODY: usize = 256 * 1024;

impl Server {
    async fn start() -> Server {
        Server::start_with(|_| {}, spirit_server::Config::default()).await
    }

    /// Starts a server after `prepare` has changed the copied workspace.
    async fn start_with(
        prepare: impl FnOnce(&std::path::Path),
        config: spirit_server::Config,
    ) -> Server {
        let t = tokio::task::spawn_blocking(template).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&t.dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
            }
        }
        prepare(dir.path());
        let config = spirit_server::Config {
            max_body_bytes: MAX_BODY,
            ..config
        };
        let state = spirit_server::AppState::open(dir.path(), config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(spirit_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        Server {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            dir,
            t,
        }
    }

    fn token(&self, user: &str) -> &str {
        &self.t.tokens[user]
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<&Body>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(u) = user {
            rb = rb.bearer_auth(self.token(u));
        }
        match body {
            Some(Body::Json(v)) => rb = rb.json(v),
            Some(Body::Csv(text)) => {
                rb = rb
                    .header("content-type", "text/csv")
                    .body(text.clone().into_bytes())
            }
            Some(Body::Raw(bytes, ct)) => rb = rb.header("content-type", *ct).body(bytes.clone()),
            None => {}
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn get(&self, path: &str, user: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, Some(user), None).await
    }

    async fn post(&self, path: &str, user: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(user), Some(&Body::Json(body)))
            .await
    }

    /// Records stored, read straight from the database.
    fn record_count(&self) -> i64 {
        let ws = Workspace::open(self.dir.path(), Access::Read).unwrap();
        ws.connection()
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap()
    }

    fn token_id(&self, user: &str) -> i64 {
        let ws = Workspace::open(self.dir.path(), Access::Read).unwrap();
        ws.connection()
            .query_row(
                "SELECT t.id FROM tokens t JOIN users u ON u.id = t.user WHERE u.name = ?1 ORDER BY t.id LIMIT 1",
                [user],
                |r| r.get(0),
            )
            .unwrap()
    }
}

#[derive(Clone)]
enum Body {
    Json(Value),
    Csv(String),
    Raw(Vec<u8>, &'static str),
}

fn error_code(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

/// How an endpoint's access is tested.
enum Check {
    /// Needs no authentication (login).
    Public,
    /// Authenticated; another user sees only their own: the answer to `user` must not
    /// contain `absent`.
    Own { user: &'static str, absent: String },
    /// Authenticated; `user` (wrong role or wrong case) is refused with 403 or 404.
    Denied { user: &'static str },
}

struct Case {
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Body>,
    check: Check,
}

fn table(t: &Template) -> Vec<Case> {
    let e1 = &t.alpha_entity;
    let e2 = &t.alpha_entity2;
    let p = "purpose=access%20test";
    let c =
        |method: Method, template: &'static str, path: String, body: Option<Body>, check| Case {
            method,
            template,
            path,
            body,
            check,
        };
    let json = |v: Value| Some(Body::Json(v));
    vec![
        c(
            Method::POST,
            "/api/login",
            "/api/login".into(),
            json(json!({"user": "alice", "password": "wrong"})),
            Check::Public,
        ),
        c(
            Method::POST,
            "/api/logout",
            "/api/logout".into(),
            None,
            Check::Own {
                user: "bob",
                absent: "alice".into(),
            },
        ),
        c(
            Method::GET,
            "/api/me",
            "/api/me".into(),
            None,
            Check::Own {
                user: "bob",
                absent: "alpha".into(),
            },
        ),
        c(
            Method::GET,
            "/api/users",
            "/api/users".into(),
            None,
            Check::Denied { user: "alice" },
        ),
        c(
            Method::POST,
            "/api/users",
            "/api/users".into(),
            json(json!({"name": "zed", "role": "analyst"})),
            Check::Denied { user: "alice" },
        ),
        c(
            Method::POST,
            "/api/users/{name}/tokens",
            "/api/users/alice/tokens".into(),
            json(json!({"label": "x"})),
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/tokens",
            "/api/tokens".into(),
            None,
            Check::Own {
                user: "bob",
                absent: "alice".into(),
            },
        ),
        c(
            Method::DELETE,
            "/api/tokens/{id}",
            "/api/tokens/ALICE_TOKEN".into(),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/cases",
            "/api/cases".into(),
            None,
            Check::Own {
                user: "bob",
                absent: "alpha".into(),
            },
        ),
        c(
            Method::POST,
            "/api/cases",
            "/api/cases".into(),
            json(json!({"name": "gamma"})),
            Check::Denied { user: "alice" },
        ),
        c(
            Method::PUT,
            "/api/cases/{case}/members/{user}",
            "/api/cases/alpha/members/bob".into(),
            None,
            Check::Denied { user: "alice" },
        ),
        c(
            Method::DELETE,
            "/api/cases/{case}/members/{user}",
            "/api/cases/alpha/members/alice".into(),
            None,
            Check::Denied { user: "alice" },
        ),
        c(
            Method::GET,
            "/api/sources",
            "/api/sources".into(),
            None,
            Check::Own {
                user: "bob",
                absent: "police".into(),
            },
        ),
        c(
            Method::POST,
            "/api/sources",
            "/api/sources".into(),
            json(json!({"name": "newsrc", "case": "alpha", "legal_basis": "x"})),
            Check::Denied { user: "bob" },
        ),
        c(
            Method::POST,
            "/api/sources/{source}/records",
            format!("/api/sources/police/records?{p}"),
            Some(Body::Csv("rec_id,first_name\nn1,Anna\n".into())),
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/records/{key}",
            format!("/api/records/police:0?{p}"),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::DELETE,
            "/api/records/{key}",
            format!("/api/records/police:0?reason=test&{p}"),
            None,
            Check::Denied { user: "eve" },
        ),
        c(
            Method::GET,
            "/api/entities/{id}",
            format!("/api/entities/{e1}?{p}"),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::DELETE,
            "/api/entities/{id}",
            format!("/api/entities/{e1}?reason=test&{p}"),
            None,
            Check::Denied { user: "eve" },
        ),
        c(
            Method::GET,
            "/api/entities/{id}/edges",
            format!("/api/entities/{e1}/edges?{p}"),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/entities/{id}/history",
            format!("/api/entities/{e1}/history?{p}"),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/entities/{id}/network",
            format!("/api/entities/{e1}/network?{p}"),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/path",
            format!("/api/path?from={e1}&to={e2}&{p}"),
            None,
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/search",
            format!("/api/search?q=heather%20wright&{p}"),
            None,
            Check::Own {
                user: "bob",
                absent: "police:".into(),
            },
        ),
        c(
            Method::POST,
            "/api/judgements",
            format!("/api/judgements?{p}"),
            json(
                json!({"verdict": "same", "left": "police:0", "right": "police:2", "reason": "x"}),
            ),
            Check::Denied { user: "bob" },
        ),
        c(
            Method::POST,
            "/api/merge",
            format!("/api/merge?{p}"),
            json(json!({"left": e1, "right": e2, "reason": "x"})),
            Check::Denied { user: "bob" },
        ),
        c(
            Method::POST,
            "/api/split",
            format!("/api/split?{p}"),
            json(json!({"left": "police:0", "right": "police:2", "reason": "x"})),
            Check::Denied { user: "bob" },
        ),
        c(
            Method::GET,
            "/api/export",
            format!("/api/export?{p}"),
            None,
            Check::Own {
                user: "bob",
                absent: "police".into(),
            },
        ),
        c(
            Method::GET,
            "/api/audit",
            "/api/audit".into(),
            None,
            Check::Denied { user: "alice" },
        ),
        c(
            Method::GET,
            "/api/audit/verify",
            "/api/audit/verify".into(),
            None,
            Check::Denied { user: "alice" },
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_endpoint_refuses_strangers_and_other_cases() {
    let s = Server::start().await;
    let (status, doc) = s.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let mut documented: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let cases = table(s.t);
    let tested: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| (c.method.to_string(), c.template.to_string()))
        .collect();
    let untested: Vec<_> = documented.difference(&tested).collect();
    let undocumented: Vec<_> = tested.difference(&documented).collect();
    assert!(
        untested.is_empty(),
        "documented endpoints without an access test: {untested:?}"
    );
    assert!(
        undocumented.is_empty(),
        "tested endpoints missing from /openapi.json: {undocumented:?}"
    );

    let alice_token = s.token_id("alice").to_string();
    for case in &cases {
        let path = case.path.replace("ALICE_TOKEN", &alice_token);
        let what = format!("{} {}", case.method, case.template);
        if !matches!(case.check, Check::Public) {
            let (status, body) = s
                .send(case.method.clone(), &path, None, case.body.as_ref())
                .await;
            assert_eq!(status, 401, "{what} without credentials: {body}");
            assert_eq!(error_code(&body), "unauthenticated", "{what}: {body}");
            // A made-up token is refused too.
            let resp = s
                .client
                .request(case.method.clone(), format!("{}{path}", s.base))
                .bearer_auth(format!("spirit_{}", "0".repeat(64)))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 401, "{what} with an unknown token");
        }
        match &case.check {
            Check::Public => {}
            Check::Own { user, absent } => {
                let (status, body) = s
                    .send(case.method.clone(), &path, Some(user), case.body.as_ref())
                    .await;
                assert!(status.is_success(), "{what} as {user}: {status} {body}");
                assert!(
                    !body.to_string().contains(absent.as_str()),
                    "{what} as {user} shows {absent}: {body}"
                );
            }
            Check::Denied { user } => {
                let (status, body) = s
                    .send(case.method.clone(), &path, Some(user), case.body.as_ref())
                    .await;
                assert!(
                    status == 403 || status == 404,
                    "{what} as {user}: {status} {body}"
                );
                assert!(
                    ["forbidden", "not_found"].contains(&error_code(&body)),
                    "{what}: {body}"
                );
            }
        }
    }
    // Nothing was changed by the refused requests.
    let (status, body) = s.get("/api/records/police:0?purpose=check", "alice").await;
    assert_eq!(status, 200, "{body}");
}

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
async fn cookie_sessions_need_the_csrf_token_for_changes() {
    let s = Server::start().await;
    let password = &s.t.passwords["alice"];
    let resp = s
        .client
        .post(format!("{}/api/login", s.base))
        .json(&json!({"user": "alice", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let body: Value = resp.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let session = cookie.split(';').next().unwrap().to_string();
    // Reads with the cookie alone work.
    let resp = s
        .client
        .get(format!("{}/api/me", s.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let judgement = json!({"verdict": "unsure", "left": "police:0", "right": "police:2"});
    let url = format!("{}/api/judgements", s.base);
    let resp = s
        .client
        .post(&url)
        .header("cookie", &session)
        .json(&judgement)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "csrf_required", "{body}");
    let resp = s
        .client
        .post(&url)
        .header("cookie", &session)
        .header("x-csrf-token", "not-the-token")
        .json(&judgement)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = s
        .client
        .post(&url)
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .json(&judgement)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // A wrong password is refused without saying which part was wrong.
    let (status, body) = s
        .send(
            Method::POST,
            "/api/login",
            None,
            Some(&Body::Json(json!({"user": "alice", "password": "nope"}))),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    // Logging out ends the session.
    let resp = s
        .client
        .post(format!("{}/api/logout", s.base))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = s
        .client
        .get(format!("{}/api/me", s.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_name_for_a_while() {
    let s = Server::start().await;
    let password = s.t.passwords["alice"].clone();
    let login = |password: &str| Body::Json(json!({"user": "alice", "password": password}));
    for attempt in 1..=spirit_server::throttle::FREE_FAILURES {
        let (status, body) = s
            .send(Method::POST, "/api/login", None, Some(&login("wrong")))
            .await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    // Locked now: even the right password is refused, with a delay to wait.
    let resp = s
        .client
        .post(format!("{}/api/login", s.base))
        .json(&json!({"user": "alice", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1 && retry <= spirit_server::throttle::FIRST_DELAY.as_secs());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "too_many_requests", "{body}");
    assert!(body["message"].as_str().unwrap().contains("try again"));
    // Another user is not affected.
    let bob = Body::Json(json!({"user": "bob", "password": s.t.passwords["bob"]}));
    let (status, body) = s.send(Method::POST, "/api/login", None, Some(&bob)).await;
    assert_eq!(status, 200, "{body}");
    // The throttled attempt is in the audit log.
    let (status, log) = s
        .send(
            Method::GET,
            "/api/audit?action=login&limit=1000",
            Some("audrey"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{log}");
    assert!(log.to_string().contains("throttled"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused() {
    let s = Server::start().await;
    let (status, made) = s
        .post(
            "/api/users/alice/tokens",
            "alice",
            json!({"label": "laptop"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    let id = made["id"].as_i64().unwrap();
    let me = |t: String| {
        let s = &s;
        async move {
            s.client
                .get(format!("{}/api/me", s.base))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(token.clone()).await, 200);
    let (status, _) = s
        .send(
            Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(me(token).await, 401);
    // Other tokens of the user still work.
    assert_eq!(me(s.token("alice").to_string()).await, 200);
}

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
    assert_eq!(body["resolved"], true, "{body}");
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
    assert_eq!(entry["target"], victim.as_str());
    assert_eq!(entry["detail"]["reason"], "subject request");
    let (_, all) = s.get("/api/audit?limit=1000", "audrey").await;
    for entry in all.as_array().unwrap() {
        if entry["action"].as_str().unwrap().ends_with("erase") {
            assert!(!entry.to_string().contains(&surname), "{entry}");
        }
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
    }
    let (status, _) = s
        .get("/api/entities/E999999/history?purpose=check", "ada")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_cases_are_managed_by_admins() {
    let s = Server::start().await;
    let (status, made) = s
        .post(
            "/api/users",
            "ada",
            json!({"name": "carol", "role": "analyst"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let carol = made["token"].as_str().unwrap().to_string();
    let (status, body) = s
        .post(
            "/api/users",
            "ada",
            json!({"name": "carol", "role": "analyst"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = s
        .post(
            "/api/users",
            "ada",
            json!({"name": "bad name", "role": "analyst"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let carol_sees = |path: &'static str| {
        let (s, carol) = (&s, carol.clone());
        async move {
            s.client
                .get(format!("{}{path}", s.base))
                .bearer_auth(carol)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(carol_sees("/api/records/police:0?purpose=x").await, 404);
    let (status, _) = s
        .send(
            Method::PUT,
            "/api/cases/alpha/members/carol",
            Some("ada"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(carol_sees("/api/records/police:0?purpose=x").await, 200);
    let (status, _) = s
        .send(
            Method::DELETE,
            "/api/cases/alpha/members/carol",
            Some("ada"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(carol_sees("/api/records/police:0?purpose=x").await, 404);
    let (status, c) = s.post("/api/cases", "ada", json!({"name": "gamma"})).await;
    assert_eq!(status, 201, "{c}");
    let (status, src) = s
        .post("/api/sources", "alice", json!({"name": "wiretap", "case": "alpha", "legal_basis": "warrant 7", "retention_days": 90}))
        .await;
    assert_eq!(status, 201, "{src}");
    assert_eq!(src["case"], "alpha");
    let (_, list) = s.get("/api/users", "ada").await;
    assert!(list.to_string().contains("carol"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_is_served_outside_the_api_with_a_content_security_policy() {
    let s = Server::start().await;
    for path in ["/", "/entity/E1", "/search?q=x", "/network/E2"] {
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        let body = resp.text().await.unwrap();
        if spirit_server::ui::built() {
            assert!(body.contains("<div id=\"app\">"), "{path}: {body}");
        } else {
            assert!(body.contains("make web"), "{path}: {body}");
        }
    }
    // The API keeps answering JSON, unknown paths included.
    let (status, body) = s.send(Method::GET, "/api/no-such-thing", None, None).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = s.send(Method::POST, "/entity/E1", None, None).await;
    assert_eq!(status, 400, "{body}");
    let resp = s
        .client
        .get(format!("{}/assets/no-such-chunk.js", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "a missing build file is not the app");
    let resp = s
        .client
        .get(format!("{}/api/me", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
}
