//! The test server harness shared by the API tests: a workspace built once (two cases,
//! their sources and users, resolved) and copied for each test, a server over real TCP on
//! the copy, and a client to call it as one of the users.

// Each test file uses a part of the harness.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use spirit_model::NoProgress;
use spirit_store::access::{self, Role};
use spirit_store::workspace::Access;
use spirit_store::{Workspace, ingest};

/// A workspace built once and copied for each test.
pub struct Template {
    pub dir: PathBuf,
    pub tokens: HashMap<&'static str, String>,
    pub passwords: HashMap<&'static str, String>,
    /// An entity whose records are all in case alpha (source police).
    pub alpha_entity: String,
    pub alpha_entity2: String,
    /// An entity with records in both cases.
    pub spanning_entity: String,
    /// Entity of police:0 and of the alpha record sharing its phone.
    pub phone_entity: String,
    pub phone_neighbour: String,
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
            // Each user has chosen their own password (the one printed must be changed).
            let chosen = format!("Chosen {}", made.password);
            assert!(
                access::change_password(conn, &made.user, &made.password, &chosen, None).unwrap()
            );
            tokens.insert(name, made.token);
            passwords.insert(name, chosen);
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
        spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
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
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub t: &'static Template,
    _keys: Keys,
}

/// The key folder of a copied workspace (beside it, as by default), removed with it.
struct Keys(PathBuf);

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies the files of a folder (not its sub-folders).
pub fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

pub const MAX_BODY: usize = 256 * 1024;

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}, spirit_server::Config::default()).await
    }

    /// Starts a server after `prepare` has changed the copied workspace.
    pub async fn start_with(
        prepare: impl FnOnce(&std::path::Path),
        config: spirit_server::Config,
    ) -> Server {
        let t = tokio::task::spawn_blocking(template).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        copy_files(&t.dir, dir.path());
        let keys = Keys(spirit_store::keys::key_dir(dir.path(), None));
        copy_files(&spirit_store::keys::key_dir(&t.dir, None), &keys.0);
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
            _keys: keys,
        }
    }

    pub fn token(&self, user: &str) -> &str {
        &self.t.tokens[user]
    }

    pub async fn send(
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

    pub async fn get(&self, path: &str, user: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, Some(user), None).await
    }

    pub async fn post(&self, path: &str, user: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(user), Some(&Body::Json(body)))
            .await
    }

    /// Signs in with a password; the raw response (status, cookies, headers).
    pub async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/login", self.base))
            .json(&serde_json::json!({"user": user, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Records stored, read straight from the database.
    pub fn record_count(&self) -> i64 {
        let ws = Workspace::open(self.dir.path(), Access::Read).unwrap();
        ws.connection()
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap()
    }

    pub fn token_id(&self, user: &str) -> i64 {
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
pub enum Body {
    Json(Value),
    Csv(String),
    Raw(Vec<u8>, &'static str),
}

pub fn error_code(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}
