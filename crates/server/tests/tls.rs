//! `serve_tls` over real HTTPS on loopback: a client that trusts the certificate gets its
//! answers with HSTS and `Cache-Control: no-store`; a bad certificate file is an error
//! that names it.

mod common;

use common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_speaks_tls_with_hsts() {
    // A plain server on a copy of the template gives a workspace with users and keys.
    let quiet = || spirit_server::Config {
        retention_every: None,
        ..spirit_server::Config::default()
    };
    let plain = Server::start_with(|_| {}, quiet()).await;
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();

    // A missing or garbled key is named before anything is served.
    let err = spirit_server::tls_config(&cert, &certs.path().join("none.pem"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("none.pem"), "{err}");
    std::fs::write(certs.path().join("bad.pem"), "not a key").unwrap();
    let err = spirit_server::tls_config(&cert, &certs.path().join("bad.pem"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("bad.pem"), "{err}");

    let config = spirit_server::Config {
        tls: true,
        ..quiet()
    };
    let state = spirit_server::AppState::open(plain.dir.path(), config).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn({
        let (cert, key) = (cert.clone(), key.clone());
        async move {
            spirit_server::serve_tls(listener, state, &cert, &key, async {
                let _ = rx.await;
            })
            .await
        }
    });
    let token = plain.token("alice").to_string();
    let pem = made.cert.pem();
    let (status, hsts, cache, plain_http) = tokio::task::spawn_blocking(move || {
        let roots = ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_pem(
            pem.as_bytes(),
        )
        .unwrap()]);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .build()
            .into();
        let resp = agent
            .get(format!("https://{addr}/api/me"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let plain_http = agent.get(format!("http://{addr}/api/me")).call();
        (
            resp.status().as_u16(),
            header("strict-transport-security"),
            header("cache-control"),
            plain_http.map(|r| r.status().as_u16()).ok(),
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(hsts.as_deref(), Some("max-age=63072000"));
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert!(
        plain_http.is_none_or(|s| s >= 400),
        "plain HTTP got {plain_http:?}"
    );
    tx.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
