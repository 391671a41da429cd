//! The linkage unit over HTTPS (rustls) on loopback: a party that trusts the unit's
//! certificate talks to it; one that trusts only the public authorities refuses it, and
//! plain HTTP to the TLS port gets no answer.

use std::sync::Arc;

use spirit_pprl::LinkConfig;
use spirit_pprl_unit::client::Client;
use spirit_pprl_unit::service::{Unit, serve_tls};

#[test]
fn a_party_reaches_the_unit_over_tls_with_its_certificate_only() {
    let dir = tempfile::tempdir().unwrap();
    let unit = Unit::open(dir.path(), 1 << 20, |_| {}).unwrap();
    let tokens = unit
        .db()
        .create_project("p", 2, &LinkConfig::default())
        .unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tls = rt
        .block_on(axum_server::tls_rustls::RustlsConfig::from_pem(
            cert.clone().into_bytes(),
            key.into_bytes(),
        ))
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let unit = Arc::clone(&unit);
    let server = std::thread::spawn(move || {
        rt.block_on(serve_tls(listener, unit, tls, async {
            let _ = rx.await;
        }))
    });
    let base = format!("https://{addr}");
    let party = Client::with_ca(&base, &tokens[0], Some(cert.as_bytes())).unwrap();
    let status = party.status("p").unwrap();
    assert_eq!(status["project"], "p", "{status}");
    // The public authorities do not vouch for a self-signed certificate.
    let stranger = Client::new(&base, &tokens[0]).unwrap();
    let err = stranger.status("p").unwrap_err().to_string();
    assert!(!err.is_empty());
    // Plain HTTP to the TLS port is not served.
    let plain = Client::new(&format!("http://{addr}"), &tokens[0]).unwrap();
    assert!(plain.status("p").is_err());
    // A CA file without a certificate is refused in words.
    let err = Client::with_ca(&base, &tokens[0], Some(b"not pem"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("CA"), "{err}");
    tx.send(()).unwrap();
    server.join().unwrap().unwrap();
}
