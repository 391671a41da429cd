//! The server over real TCP with a real HTTP client: a walk of the OpenAPI document that
//! fails if any documented endpoint lacks an access test (401 for strangers, 403 or 404
//! for the wrong role or case), and the management of users and cases by admins.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

mod common;

use common::{Body, Server, Template, error_code};

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
            Method::POST,
            "/api/password",
            "/api/password".into(),
            json(json!({"current": t.passwords["bob"], "new": "a long enough phrase 9"})),
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
    // A source ingested but in no case yet: only an administrator may place it, and an
    // analyst's refusal says nothing of it (the same answer as a source of another case).
    {
        let ws =
            spirit_store::Workspace::open(s.dir.path(), spirit_store::workspace::Access::Write)
                .unwrap();
        ws.connection()
            .execute(
                "INSERT INTO sources(name, created_at) VALUES ('seized', '2026-01-01')",
                [],
            )
            .unwrap();
    }
    let claim = |name: &str| json!({"name": name, "case": "alpha", "legal_basis": "mine now", "retention_days": 0});
    let (status, unassigned) = s.post("/api/sources", "alice", claim("seized")).await;
    assert_eq!(status, 409, "{unassigned}");
    let (status, other_case) = s.post("/api/sources", "alice", claim("tips")).await;
    assert_eq!(status, 409, "{other_case}");
    let text = |v: &Value| v["message"].as_str().unwrap().replace("seized", "tips");
    assert_eq!(
        text(&unassigned),
        text(&other_case),
        "the two refusals differ"
    );
    let (status, placed) = s.post("/api/sources", "ada", claim("seized")).await;
    assert_eq!(status, 201, "{placed}");
    let (_, list) = s.get("/api/users", "ada").await;
    assert!(list.to_string().contains("carol"));
}
