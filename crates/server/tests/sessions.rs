//! Sessions and tokens: cookie sessions and their CSRF token, throttled wrong passwords,
//! revoked tokens.

use reqwest::Method;
use serde_json::{Value, json};

mod common;

use common::{Body, Server, error_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_the_csrf_token_for_changes() {
    let s = Server::start().await;
    let password = &s.t.passwords["alice"];
    let resp = s.login("alice", password).await;
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
    for attempt in 1..=spirit_server::throttle::NAME_FREE {
        let (status, body) = s
            .send(Method::POST, "/api/login", None, Some(&login("wrong")))
            .await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    // Locked now: even the right password is refused, with a delay to wait.
    let resp = s.login("alice", &password).await;
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
            "/api/audit?action=login.refused&limit=1000",
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
async fn a_password_given_to_a_user_must_be_changed_before_anything_else() {
    let given = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let keep = given.clone();
    let s = Server::start_with(
        move |dir| {
            let ws =
                spirit_store::Workspace::open(dir, spirit_store::workspace::Access::Write).unwrap();
            *keep.lock().unwrap() =
                spirit_store::access::reset_password(ws.connection(), "alice").unwrap();
        },
        spirit_server::Config::default(),
    )
    .await;
    let given = given.lock().unwrap().clone();
    let resp = s.login("alice", &given).await;
    assert_eq!(resp.status(), 200);
    let session = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["must_change_password"], true, "{body}");
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let with_cookie =
        |req: reqwest::RequestBuilder| req.header("cookie", &session).header("x-csrf-token", &csrf);
    // Nothing but the change (and who am I, and logging out) is allowed.
    let resp = with_cookie(
        s.client
            .get(format!("{}/api/search?q=smith&purpose=lead", s.base)),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("POST /api/password"),
        "{body}"
    );
    let me = with_cookie(s.client.get(format!("{}/api/me", s.base)))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // API tokens are not held back (scripts hold no password).
    let (status, _) = s.get("/api/search?q=smith&purpose=lead", "alice").await;
    assert_eq!(status, 200);
    let change = |current: &str, new: &str| {
        with_cookie(s.client.post(format!("{}/api/password", s.base)))
            .json(&json!({"current": current, "new": new}))
            .send()
    };
    let resp = change(&given, "short").await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("at least 12"),
        "{body}"
    );
    let resp = change(&given, "alice's own long phrase").await.unwrap();
    assert_eq!(resp.status(), 400, "the user name is refused");
    let resp = change("not the current one", "a long enough phrase 7")
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = change(&given, "a long enough phrase 7").await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // The same session may now work; the given password no longer opens one.
    let resp = with_cookie(
        s.client
            .get(format!("{}/api/search?q=smith&purpose=lead", s.base)),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(s.login("alice", &given).await.status(), 401);
    let resp = s.login("alice", "a long enough phrase 7").await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["must_change_password"], false, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_wrong_passwords_cannot_race_the_lock_and_refusals_are_logged_in_bulk() {
    let s = Server::start().await;
    let audit_rows = |s: &Server| {
        let ws = spirit_store::Workspace::open(s.dir.path(), spirit_store::workspace::Access::Read)
            .unwrap();
        ws.connection()
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let before = audit_rows(&s);
    let attempts: Vec<_> = (0..200)
        .map(|_| {
            let client = s.client.clone();
            let url = format!("{}/api/login", s.base);
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"user": "alice", "password": "guess"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut checked = 0;
    let mut refused = 0;
    for a in attempts {
        match a.await.unwrap() {
            401 => checked += 1,
            429 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(checked <= 5, "{checked} passwords were checked");
    assert_eq!(checked + refused, 200);
    // The victim stays locked, even with the right password.
    assert_eq!(
        s.login("alice", &s.t.passwords["alice"]).await.status(),
        429
    );
    // At most one row per checked failure, and one for all the refusals of the minute
    // (per name, and per address once that locks).
    let grown = audit_rows(&s) - before;
    assert!(grown <= checked + 3, "the audit log grew by {grown} rows");
    // Names that are no user are not kept in clear.
    let (status, _) = s
        .send(
            Method::POST,
            "/api/login",
            None,
            Some(&Body::Json(
                json!({"user": "hunter2-typed-here", "password": "x"}),
            )),
        )
        .await;
    assert_eq!(status, 401);
    let (_, log) = s.get("/api/audit?limit=1000", "audrey").await;
    assert!(!log.to_string().contains("hunter2"), "{log}");
}
