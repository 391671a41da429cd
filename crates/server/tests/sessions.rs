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
    for attempt in 1..=spirit_server::throttle::FREE_FAILURES {
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
