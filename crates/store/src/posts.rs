//! Forum posts, marketplace listings and chat messages (JSON Lines) as records.
//!
//! Each line is one post: an object with the author's handle, the platform (forum,
//! market, chat), the thread, the time and the body (plain text or HTML). Field names
//! are matched case-insensitively against the alternatives in [`FIELDS`]; every other
//! field stays in the stored payload.
//!
//! - Each post becomes a record of the source, id `post:<id>` (the post's own `id` field,
//!   else the first 16 hex digits of the SHA-256 of the line, so re-runs find it again),
//!   with the author as `username` and the first identifier of each kind found in its
//!   body as attributes.
//! - Each (platform, author) becomes an account record, id
//!   `account:<platform>:<author>`, with the author as `username`; every identifier any of
//!   its posts mentions is a mention of the account, and an attribute of it: every value
//!   of a multi-valued kind (e-mail, phone, wallet, …; at most [`MAX_MENTIONED_VALUES`] of
//!   a kind), the first of any other. So resolution links accounts (and posts) that share a wallet, an e-mail, an
//!   onion, a PGP key… and search finds an account by any of them.
//! - Each account's `style_profile` attribute is its writing-style profile, built from
//!   the bodies and times of all its stored posts and rebuilt when posts are added
//!   (every transaction of an ingest that stored posts of the account) or erased
//!   ([`crate::style`]). It is advisory evidence for resolution (the `writing_style`
//!   comparison).
//! - Each mention keeps its provenance ([`crate::mentions`]): the post's record, the
//!   document (`file:line`), byte offsets into the body, and a snippet. Card numbers are
//!   masked in snippets and in the stored payload; their attribute is a keyed hash.
//!
//! Lines that are not JSON objects, or lack an author or a body, are quarantined with
//! `file:line` and the reason (`<workspace>/quarantine/<source>-run<N>.csv`), and the
//! ingest goes on. [`crate::ingest::INGEST_CHUNK`] lines are one transaction; running the
//! same file again stores nothing twice.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use spirit_model::AttrKind;
use spirit_model::Progress;
use spirit_sources::QuarantinedRow;
use spirit_text::extract::{Extractor, Finding, Format};

use crate::ingest::{INGEST_CHUNK, Incoming, Normaliser, Stored, store_record};
use crate::mentions::{self, Mention};
pub use crate::post::{FIELDS, Post, body_format, parse_post};
use crate::{StoreError, Workspace};

/// What a posts ingest did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PostsReport {
    pub source: String,
    pub path: PathBuf,
    /// Non-blank lines read.
    pub read: u64,
    pub posts_stored: u64,
    pub posts_already_stored: u64,
    pub accounts_created: u64,
    /// Accounts whose style profile was built or rebuilt because posts were added.
    pub style_profiles: u64,
    /// Identifier mentions stored (each counted once, for its post).
    pub mentions: u64,
    /// Posts whose id was stored before with other content: (line, message).
    pub conflicts: Vec<(u64, String)>,
    pub quarantined: u64,
    pub quarantine_file: Option<PathBuf>,
    /// Mentions whose value the normaliser refused, per kind.
    pub invalid: BTreeMap<String, u64>,
    pub run: i64,
}

/// The mentions in a document's bytes (offsets into `doc`), with their normalised
/// values; values the normaliser refuses are counted in `invalid`.
pub fn find_mentions(
    extractor: &Extractor,
    normaliser: &Normaliser,
    doc: &[u8],
    format: Format,
    document: &str,
    invalid: &mut BTreeMap<String, u64>,
) -> (Vec<Finding>, Vec<(Mention, String)>) {
    let findings = extractor.extract_bytes(doc, format);
    let mut masked = doc.to_vec();
    spirit_sources::mask::mask_card_spans(&mut masked, &findings);
    let masked_text = String::from_utf8_lossy(&masked).into_owned();
    // Offsets are into `doc`; a lossy decoding keeps them only for valid UTF-8.
    let offsets_hold = masked_text.len() == masked.len();
    let mut out = Vec::new();
    for f in &findings {
        let Some(kind) = mentions::attr_kind(f.kind) else {
            continue;
        };
        let raw = mentions::raw_value(doc, f);
        let Some(value) = normaliser.normalise_one(kind, &raw) else {
            *invalid.entry(kind.name().to_string()).or_default() += 1;
            continue;
        };
        let snippet = if offsets_hold {
            mentions::snippet(&masked_text, f.start, f.end)
        } else {
            f.raw.clone()
        };
        out.push((
            Mention {
                kind,
                value,
                found_as: f.kind.as_str().to_string(),
                document: document.to_string(),
                start: f.start,
                end: f.end,
                snippet,
            },
            raw,
        ));
    }
    (findings, out)
}

/// The most values of one multi-valued kind that mentions give a record.
pub const MAX_MENTIONED_VALUES: usize = 16;

/// The raw values mentions give a record as attributes, in [`AttrKind::ALL`] order: each
/// distinct value of a multi-valued kind (at most [`MAX_MENTIONED_VALUES`]), the first
/// value of any other kind.
pub(crate) fn mentioned_values(found: &[(Mention, String)]) -> Vec<(AttrKind, String)> {
    let mut out = Vec::new();
    for k in AttrKind::ALL {
        let most = if k.is_multi_valued() {
            MAX_MENTIONED_VALUES
        } else {
            1
        };
        let mut taken: Vec<&str> = Vec::new();
        for (m, raw) in found.iter().filter(|(m, _)| m.kind == k) {
            if taken.len() == most {
                break;
            }
            if !taken.contains(&m.value.as_str()) {
                taken.push(&m.value);
                out.push((k, raw.clone()));
            }
        }
    }
    out
}

/// Adds attributes a stored record lacks (kinds of one value it has keep their value; a
/// multi-valued kind gets each value it does not hold yet) and indexes them for search.
pub(crate) fn add_missing_attributes(
    conn: &Connection,
    record: i64,
    normaliser: &Normaliser,
    values: &[(AttrKind, String)],
) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO attributes(record, kind, seq, raw, value) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut held = conn.prepare_cached(
        "SELECT COALESCE(MAX(seq) + 1, 0), COALESCE(SUM(value = ?3), 0) FROM attributes \
         WHERE record = ?1 AND kind = ?2",
    )?;
    let mut added: Vec<(AttrKind, String)> = Vec::new();
    for (kind, raw) in values {
        let value = normaliser.normalise_one(*kind, raw);
        let raw_kept = spirit_sources::mask::masked_value(*kind, raw);
        let mut seq = 0i64;
        if kind.is_multi_valued() {
            let (next, same): (i64, i64) = held
                .query_row(params![record, kind.name(), value], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            if same > 0 || (next > 0 && value.is_none()) {
                continue;
            }
            seq = next;
        }
        if insert.execute(params![record, kind.name(), seq, raw_kept, value])? == 1
            && let Some(v) = value
        {
            added.push((*kind, v));
        }
    }
    let refs: Vec<(AttrKind, &str)> = added.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::search::index_record(conn, record, &refs)?;
    Ok(())
}

/// Reads a JSON Lines file of posts and stores posts, accounts and mentions under
/// `source` (see the module documentation).
pub fn ingest_posts(
    ws: &mut Workspace,
    source: &str,
    path: &Path,
    progress: &dyn Progress,
) -> Result<PostsReport, StoreError> {
    ws.require_write()?;
    if source.trim().is_empty() || source.contains(':') {
        return Err(StoreError::Invalid(format!(
            "source name {source:?} must be non-empty and without ':'"
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let total = file.metadata().map(|m| m.len()).ok();
    let mut reader = BufReader::new(file);
    let key = ws.card_key()?;
    let normaliser = Normaliser::new(ws.settings(), key);
    let extractor = Extractor::new(&ws.settings().normalise.default_region);
    let run = Workspace::start_run(&ws.conn, "ingest").map_err(|e| ws.write_error(e))?;
    let name = path.display().to_string();
    let mut report = PostsReport {
        source: source.to_string(),
        path: path.to_path_buf(),
        run,
        ..PostsReport::default()
    };
    let mut quarantine: Vec<QuarantinedRow> = Vec::new();
    let mut accounts: FxHashMap<(String, String), i64> = FxHashMap::default();
    let mut profiled: rustc_hash::FxHashSet<i64> = Default::default();
    progress.phase("store posts", total);
    let (mut line_no, mut bytes) = (0u64, 0u64);
    let mut eof = false;
    while !eof {
        let dir = ws.dir().to_path_buf();
        let tx = ws
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut in_chunk = 0usize;
        let mut touched: Vec<i64> = Vec::new();
        while in_chunk < INGEST_CHUNK {
            let mut buf = Vec::new();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| StoreError::io(path, e))?;
            if n == 0 {
                eof = true;
                break;
            }
            line_no += 1;
            bytes += n as u64;
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            report.read += 1;
            in_chunk += 1;
            let post = match parse_post(line) {
                Ok(p) => p,
                Err(reason) => {
                    quarantine.push(QuarantinedRow {
                        line: line_no,
                        reason: format!("{name}:{line_no}: {reason}"),
                        raw: line.into(),
                    });
                    continue;
                }
            };
            let document = format!("{name}:{line_no}");
            store_post(
                &tx,
                run,
                source,
                &normaliser,
                &extractor,
                &post,
                line,
                &document,
                &mut accounts,
                &mut touched,
                &mut report,
            )
            .map_err(|e| crate::workspace::map_store_error(&dir, e))?;
        }
        // The profiles of the accounts that got posts, in the same transaction.
        touched.sort_unstable();
        touched.dedup();
        for &a in &touched {
            crate::style::rebuild(&tx, a)
                .map_err(|e| crate::workspace::map_store_error(&dir, e))?;
            profiled.insert(a);
        }
        tx.commit()
            .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
        progress.set(bytes);
    }
    progress.done();
    report.style_profiles = profiled.len() as u64;
    report.quarantined = quarantine.len() as u64;
    if !quarantine.is_empty() {
        report.quarantine_file = Some(ws.write_quarantine(source, run, &quarantine)?);
    }
    let summary = serde_json::to_string(&report).expect("report serialises");
    Workspace::finish_run(&ws.conn, run, None, &summary).map_err(|e| ws.write_error(e))?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn store_post(
    conn: &Connection,
    run: i64,
    source: &str,
    normaliser: &Normaliser,
    extractor: &Extractor,
    post: &Post,
    line: &str,
    document: &str,
    accounts: &mut FxHashMap<(String, String), i64>,
    touched: &mut Vec<i64>,
    report: &mut PostsReport,
) -> Result<(), StoreError> {
    let (findings, found) = find_mentions(
        extractor,
        normaliser,
        post.body.as_bytes(),
        body_format(post),
        document,
        &mut report.invalid,
    );
    // The stored payload: the line as it came, or with card numbers masked: in the body
    // where the extractor found them, in the other fields (title, signature…) wherever
    // a card number appears.
    let mut object = post.object.clone();
    let mut masked = false;
    for (key, value) in object.iter_mut() {
        if *key != post.body_key {
            masked |= spirit_sources::mask::mask_cards_in_json(value);
        }
    }
    if findings
        .iter()
        .any(|f| f.kind == spirit_text::extract::Kind::Card)
    {
        let mut body = post.body.as_bytes().to_vec();
        spirit_sources::mask::mask_card_spans(&mut body, &findings);
        object.insert(
            post.body_key.clone(),
            Value::String(String::from_utf8_lossy(&body).into_owned()),
        );
        masked = true;
    }
    let payload = if masked {
        Value::Object(object).to_string()
    } else {
        line.to_string()
    };
    let post_id = post.id.clone().unwrap_or_else(|| {
        let digest = Sha256::digest(line.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    });
    let firsts = mentioned_values(&found);
    let mut values = vec![(AttrKind::Username, post.author.clone())];
    values.extend(firsts.iter().cloned());
    let rec = Incoming {
        source: source.to_string(),
        record_id: format!("post:{post_id}"),
        payload,
        provenance: document.to_string(),
        values,
        normalised: None,
    };
    let post_rec = match store_record(conn, run, normaliser, &rec)? {
        Stored::New(id, _) => id,
        Stored::Existing(_) => {
            report.posts_already_stored += 1;
            return Ok(());
        }
        Stored::Conflict(m) => {
            let line_no = document.rsplit(':').next().unwrap_or("0");
            report
                .conflicts
                .push((line_no.parse().unwrap_or(0), format!("{document}: {m}")));
            return Ok(());
        }
    };
    report.posts_stored += 1;
    let ms: Vec<Mention> = found.iter().map(|(m, _)| m.clone()).collect();
    mentions::insert(conn, post_rec, post_rec, &ms)?;
    report.mentions += ms.len() as u64;

    // The account of (platform, author).
    let platform = post.platform.clone().unwrap_or_else(|| source.to_string());
    let account_key = (platform.clone(), post.author.clone());
    let account = match accounts.get(&account_key) {
        Some(&id) => id,
        None => {
            let payload = serde_json::json!({"platform": platform, "author": post.author});
            let acc = Incoming {
                source: source.to_string(),
                record_id: format!("account:{platform}:{}", post.author),
                payload: payload.to_string(),
                provenance: format!("account of {} on {platform}", post.author),
                values: vec![(AttrKind::Username, post.author.clone())],
                normalised: None,
            };
            let id = match store_record(conn, run, normaliser, &acc)? {
                Stored::New(id, _) => {
                    report.accounts_created += 1;
                    id
                }
                Stored::Existing(id) => id,
                Stored::Conflict(m) => return Err(StoreError::Invalid(m)),
            };
            accounts.insert(account_key, id);
            id
        }
    };
    crate::style::link(conn, account, post_rec)?;
    touched.push(account);
    add_missing_attributes(conn, account, normaliser, &firsts)?;
    // Every mention's value is searchable on the account, not only the first per kind.
    let refs: Vec<(AttrKind, &str)> = ms.iter().map(|m| (m.kind, m.value.as_str())).collect();
    crate::search::index_record(conn, account, &refs)?;
    mentions::insert(conn, account, post_rec, &ms)?;
    Ok(())
}
