//! A party's side of the protocol: a blocking HTTP client for one unit and one token.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::UnitError;

/// Talks to a linkage unit as one party.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    /// A client for the unit at `base` (e.g. `https://unit.example:8700`) with a party
    /// token, trusting the public web's certificate authorities.
    pub fn new(base: &str, token: &str) -> Result<Client, UnitError> {
        Client::with_ca(base, token, None)
    }

    /// A client that trusts only the certificate authority in `ca_pem` (PEM) for an
    /// https unit: a unit with a certificate of the agencies' own authority, or one made
    /// for it alone.
    pub fn with_ca(base: &str, token: &str, ca_pem: Option<&[u8]>) -> Result<Client, UnitError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(UnitError::BadRequest(format!(
                "unit address {base:?} must start with http:// or https://"
            )));
        }
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(UnitError::BadRequest("the party token is empty".into()));
        }
        let mut tls = ureq::tls::TlsConfig::builder().unversioned_rustls_crypto_provider(
            std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        );
        if let Some(pem) = ca_pem {
            let certs = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| UnitError::BadRequest(format!("the CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(UnitError::BadRequest(
                    "the CA file holds no PEM certificate".into(),
                ));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(3600)))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Client { agent, base, token })
    }

    fn url(&self, project: &str, tail: &str) -> String {
        format!("{}/v1/projects/{project}{tail}", self.base)
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Uploads this party's encodings (the exchange format, as bytes); returns the unit's
    /// acknowledgement.
    pub fn submit(&self, project: &str, encodings: &[u8]) -> Result<Value, UnitError> {
        let resp = self
            .agent
            .put(&self.url(project, "/encodings"))
            .header("Authorization", &self.auth())
            .header("Content-Type", "application/x-ndjson")
            .send(encodings)
            .map_err(|e| self.unreachable(e))?;
        json_or_error(resp)
    }

    /// The project's state as the unit reports it.
    pub fn status(&self, project: &str) -> Result<Value, UnitError> {
        let resp = self
            .agent
            .get(&self.url(project, ""))
            .header("Authorization", &self.auth())
            .call()
            .map_err(|e| self.unreachable(e))?;
        json_or_error(resp)
    }

    /// This party's mapping (CSV `record_id,link_id`), or `None` while not every party has
    /// uploaded or the linkage runs.
    pub fn result(&self, project: &str) -> Result<Option<String>, UnitError> {
        let mut resp = self
            .agent
            .get(&self.url(project, "/result"))
            .header("Authorization", &self.auth())
            .call()
            .map_err(|e| self.unreachable(e))?;
        if resp.status().is_success() {
            let text = resp
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .read_to_string()
                .map_err(|e| UnitError::Remote(format!("reading the mapping: {e}")))?;
            return Ok(Some(text));
        }
        match error_of(resp) {
            UnitError::NotReady(_) => Ok(None),
            e => Err(e),
        }
    }

    /// [`Client::result`], asking again every `every` until `timeout` has passed.
    pub fn wait_for_result(
        &self,
        project: &str,
        timeout: Duration,
        every: Duration,
    ) -> Result<String, UnitError> {
        let start = Instant::now();
        loop {
            if let Some(r) = self.result(project)? {
                return Ok(r);
            }
            if start.elapsed() >= timeout {
                return Err(UnitError::NotReady(format!(
                    "project {project} has no mapping after {} s; the unit says: {}",
                    timeout.as_secs(),
                    self.status(project)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|e| e.to_string())
                )));
            }
            std::thread::sleep(every);
        }
    }

    fn unreachable(&self, e: ureq::Error) -> UnitError {
        UnitError::Remote(format!(
            "cannot reach the linkage unit at {}: {e}",
            self.base
        ))
    }
}

fn json_or_error(mut resp: ureq::http::Response<ureq::Body>) -> Result<Value, UnitError> {
    if resp.status().is_success() {
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| UnitError::Remote(format!("reading the unit's answer: {e}")))?;
        serde_json::from_str(&text)
            .map_err(|e| UnitError::Remote(format!("the unit's answer is not JSON: {e}")))
    } else {
        Err(error_of(resp))
    }
}

/// The unit's error answer as the matching [`UnitError`].
fn error_of(mut resp: ureq::http::Response<ureq::Body>) -> UnitError {
    let status = resp.status().as_u16();
    let body: Value = resp
        .body_mut()
        .read_to_string()
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let message = body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("the unit answered HTTP {status}"));
    match (status, body["error"].as_str()) {
        (409, Some("not_ready")) => UnitError::NotReady(message),
        (401, _) => UnitError::Unauthorized(message),
        (403, _) => UnitError::Forbidden(message),
        (404, _) => UnitError::NotFound(message),
        (413, _) => UnitError::TooLarge(message),
        (409, _) => UnitError::Conflict(message),
        (422, _) => UnitError::Incompatible(message),
        (400..=499, _) => UnitError::BadRequest(message),
        _ => UnitError::Remote(format!("HTTP {status}: {message}")),
    }
}
