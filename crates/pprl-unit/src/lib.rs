//! # spirit-pprl-unit — the linkage unit
//!
//! Agencies that want to know which of their records are the same people, without
//! handing each other names, dates of birth or addresses, encode their records with a
//! secret they share among themselves (`spirit pprl encode`) and upload the encodings to a
//! *linkage unit* that does not know the secret. The unit links the encodings (blocking on
//! the encodings, Dice, 1:1 for two parties, clusters for three or more — all from
//! `spirit-pprl`) and gives each party back only its own mapping `record_id → link_id`:
//! two records with the same link id, at two parties, are the same person.
//!
//! ```text
//! spirit pprl serve --listen 127.0.0.1:8700 --project p1 --parties 2 --tokens tokens.txt
//! spirit pprl submit --to http://127.0.0.1:8700 --project p1 --token-file party1.token enc.jsonl
//! spirit pprl result --to http://127.0.0.1:8700 --project p1 --token-file party1.token > mapping.csv
//! ```
//!
//! | module | question it answers |
//! |---|---|
//! | [`db`] | what does the unit keep, and where? ([`db::UnitDb`], one SQLite file) |
//! | [`service`] | what does it answer over HTTP? ([`service::app`], [`service::Unit`]) |
//! | [`client`] | how does a party talk to it? ([`client::Client`]) |
//! | (here) | how is a project linked? ([`link_project`]) |
//!
//! ## The protocol
//!
//! | request | answer |
//! |---|---|
//! | `GET /health` | `{"status":"ok"}`, no token needed |
//! | `GET /v1/projects/{p}` | the project's state, which parties have uploaded, and the caller's party number |
//! | `PUT /v1/projects/{p}/encodings` | the caller's encodings, in the exchange format of [`spirit_pprl::jsonl`]; 201, once per party |
//! | `GET /v1/projects/{p}/result` | the caller's mapping as CSV `record_id,link_id` (every record it uploaded; `link_id` empty where it linked to nothing); 409 `not_ready` until linked |
//!
//! Every request but `/health` carries `Authorization: Bearer <party token>`. A token
//! belongs to one party of one project: it decides which mapping the caller gets, so a
//! party can never read another's. Errors are JSON `{"error": code, "message": …}` with
//! the status of [`UnitError::status`].
//!
//! ## Invariants
//!
//! - The unit never holds a key and never receives a plain value: an upload is a public
//!   description ([`spirit_pprl::EncodingMeta`]) and rows of `id` + filter bits; anything
//!   else on a row is refused. It logs counts and party numbers, never ids or bits.
//! - Tokens are stored only as SHA-256 hashes and shown once, when the project is made.
//! - An upload is stored in one transaction before it is acknowledged and cannot be
//!   replaced; a bad upload (malformed, wrong key or schema, too large) is refused with a
//!   4xx and changes nothing. Uploads and mappings survive a restart, and a project
//!   whose last upload arrived before a crash is linked when the unit starts again.
//! - Link ids are random: they reveal nothing about records, order or other parties.

#![warn(missing_docs)]

pub mod client;
pub mod db;
pub mod service;

use spirit_pprl::{EncodedTable, LinkConfig, link_parties, link_two};

/// Everything that can go wrong in the unit or in talking to it.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// No token, or one the unit does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token used for another project.
    #[error("{0}")]
    Forbidden(String),
    /// No such project.
    #[error("{0}")]
    NotFound(String),
    /// A malformed request or upload.
    #[error("{0}")]
    BadRequest(String),
    /// The upload is larger than the unit accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The request conflicts with what is stored (a second upload, an existing project).
    #[error("{0}")]
    Conflict(String),
    /// The mapping is not ready yet.
    #[error("{0}")]
    NotReady(String),
    /// Encodings that cannot be linked with the others (another key, schema or length).
    #[error("{0}")]
    Incompatible(String),
    /// The unit's database failed.
    #[error("storage: {0}")]
    Storage(String),
    /// The unit could not be reached, or answered with an error (client side).
    #[error("{0}")]
    Remote(String),
}

impl UnitError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            UnitError::Unauthorized(_) => 401,
            UnitError::Forbidden(_) => 403,
            UnitError::NotFound(_) => 404,
            UnitError::BadRequest(_) => 400,
            UnitError::TooLarge(_) => 413,
            UnitError::Conflict(_) | UnitError::NotReady(_) => 409,
            UnitError::Incompatible(_) => 422,
            UnitError::Storage(_) => 500,
            UnitError::Remote(_) => 502,
        }
    }

    /// The machine-readable code in error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            UnitError::Unauthorized(_) => "unauthorized",
            UnitError::Forbidden(_) => "forbidden",
            UnitError::NotFound(_) => "not_found",
            UnitError::BadRequest(_) => "bad_request",
            UnitError::TooLarge(_) => "too_large",
            UnitError::Conflict(_) => "conflict",
            UnitError::NotReady(_) => "not_ready",
            UnitError::Incompatible(_) => "incompatible",
            UnitError::Storage(_) => "storage",
            UnitError::Remote(_) => "remote",
        }
    }
}

/// The outcome of linking a project: per party, its mapping as CSV and how many of its
/// records got a link id; and a one-line summary (counts and threshold only).
#[derive(Clone, Debug)]
pub struct ProjectLinkage {
    /// Per party, in party order: CSV `record_id,link_id` and the number of linked records.
    pub mappings: Vec<(String, usize)>,
    /// Links (two parties) or clusters (more), the threshold, candidates.
    pub summary: String,
}

/// Links the parties' encodings: 1:1 for two parties ([`link_two`]), clusters of at most
/// one record per party for more ([`link_parties`]); every link or cluster gets a random
/// link id.
pub fn link_project(
    tables: &[EncodedTable],
    cfg: &LinkConfig,
) -> Result<ProjectLinkage, UnitError> {
    let mut link_of: Vec<Vec<Option<u32>>> = tables.iter().map(|t| vec![None; t.len()]).collect();
    let incompatible = |e: spirit_pprl::PprlError| UnitError::Incompatible(e.to_string());
    let (groups, summary) = match tables {
        [a, b] => {
            let l = link_two(a, b, cfg).map_err(incompatible)?;
            for (g, c) in l.links.iter().enumerate() {
                link_of[0][c.a as usize] = Some(g as u32);
                link_of[1][c.b as usize] = Some(g as u32);
            }
            let summary = format!(
                "{} links among {} candidates (Dice threshold {:.3})",
                l.links.len(),
                l.candidates,
                l.threshold
            );
            (l.links.len(), summary)
        }
        _ => {
            let refs: Vec<&EncodedTable> = tables.iter().collect();
            let l = link_parties(&refs, cfg).map_err(incompatible)?;
            for (g, cluster) in l.clusters.iter().enumerate() {
                for r in cluster {
                    link_of[usize::from(r.party)][r.index as usize] = Some(g as u32);
                }
            }
            let summary = format!(
                "{} clusters across {} parties (Dice threshold {:.3})",
                l.clusters.len(),
                tables.len(),
                l.threshold
            );
            (l.clusters.len(), summary)
        }
    };
    let ids = (0..groups)
        .map(|_| db::new_link_id())
        .collect::<Result<Vec<_>, _>>()?;
    let mappings = tables
        .iter()
        .zip(&link_of)
        .map(|(t, links)| {
            let mut csv = String::from("record_id,link_id\n");
            let mut linked = 0;
            for (id, g) in t.ids.iter().zip(links) {
                csv.push_str(&csv_field(id));
                csv.push(',');
                if let Some(g) = g {
                    csv.push_str(&ids[*g as usize]);
                    linked += 1;
                }
                csv.push('\n');
            }
            (csv, linked)
        })
        .collect();
    Ok(ProjectLinkage { mappings, summary })
}

/// A CSV field, quoted when it must be.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
