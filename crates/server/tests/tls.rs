//! `serve_tls` over real HTTPS on loopback: a client that trusts the certificate gets its
//! answers with HSTS and `Cache-Control: no-store`; a bad certificate file is an error
//! that names it.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;

use common::Server;

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The key exchange group a TLS 1.3 client with rustls's defaults agrees with the server
/// at `addr`, whose certificate is `pem`.
fn key_exchange(addr: std::net::SocketAddr, pem: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    tls.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"), "{first:?}");
    let group = tls.conn.negotiated_key_exchange_group().unwrap().name();
    format!("{group:?}")
}

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
    let (status, hsts, cache, plain_http, group) = tokio::task::spawn_blocking(move || {
        let roots = ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_pem(
            pem.as_bytes(),
        )
        .unwrap()]);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(roots)
                    .unversioned_rustls_crypto_provider(Arc::new(provider()))
                    .build(),
            )
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
            key_exchange(addr, &pem),
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(hsts.as_deref(), Some("max-age=63072000"));
    assert_eq!(cache.as_deref(), Some("no-store"));
    // Post-quantum key exchange first (a recording of today's traffic stays sealed).
    assert_eq!(group, "X25519MLKEM768");
    assert!(
        plain_http.is_none_or(|s| s >= 400),
        "plain HTTP got {plain_http:?}"
    );
    tx.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
