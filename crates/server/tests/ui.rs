//! The analyst's workbench served outside the API with a Content-Security-Policy; the API
//! keeps answering JSON.

use reqwest::Method;

mod common;

use common::{Server, error_code};

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
