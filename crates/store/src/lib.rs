//! SPIRIT's identity store: a workspace folder holding one SQLite database (WAL mode)
//! and its settings, where records are kept raw and normalised, entities keep stable
//! ids across batch re-runs, records are resolved one by one as they arrive, and analyst
//! judgements constrain every clustering.
//!
//! - [`Workspace`] opens, creates and locks a workspace ([`workspace`]).
//! - [`ingest`] stores records from files; [`posts`] forum posts and messages (JSON
//!   Lines, each line read by [`post`]) as post and account records; [`folder`] a folder of pages, images and audio;
//!   [`mentions`] keeps where each identifier was found; [`resolve`] runs the batch pipeline over
//!   everything stored and carries entity ids over by overlap.
//! - [`incremental`] resolves records as they come, with the stored model and the
//!   persistent blocking-key index, in batched, durable transactions.
//! - [`judge`] records same / not-same / unsure and re-clusters what they touch.
//! - [`query`] shows entities, records and histories; [`search`] finds records by fuzzy
//!   names and identifiers; [`check`] verifies the store.
//! - [`access`] keeps users, tokens and cases; [`scope`] shows each user only the records
//!   of their cases; [`audit`] is the hash-chained log of every read and write;
//!   [`retention`] erases records and everything derived from them.
//!
//! Only this crate knows the on-disk format; [`schema`] names every table and
//! [`migrate`] brings older stores up to date.
//!
//! ```no_run
//! use spirit_store::Workspace;
//! let ws = Workspace::init(std::path::Path::new("ws"), None)?;
//! # Ok::<(), spirit_store::StoreError>(())
//! ```

pub mod access;
pub mod anchor;
pub mod audit;
pub mod bench;
pub mod check;
pub mod entities;
pub mod folder;
pub mod incremental;
pub mod ingest;
pub mod judge;
pub mod keys;
pub mod mentions;
pub mod migrate;
pub mod post;
pub mod posts;
pub mod query;
pub mod resolve;
pub mod retention;
pub mod schema;
pub mod scope;
pub mod search;
pub mod similar;
pub mod stream;
pub mod style;
mod util;
pub mod workspace;

use std::path::PathBuf;

pub use workspace::Workspace;

/// Everything that can go wrong in the store, each variant saying where and what.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file or folder could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The folder is not a workspace.
    #[error("{} is not a SPIRIT workspace (no spirit.db); create one with `spirit init {}`", .0.display(), .0.display())]
    NotWorkspace(PathBuf),
    /// Another process holds the workspace for writing.
    #[error("workspace {} is busy: another spirit process is writing to it{}; try again when it has finished", path.display(), holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Busy {
        path: PathBuf,
        holder: Option<String>,
    },
    /// The store was written by a newer SPIRIT.
    #[error(
        "the store has schema version {found}, newer than this build supports ({supported}); upgrade SPIRIT"
    )]
    TooNew { found: u32, supported: u32 },
    /// The disk is full: the transaction was rolled back, nothing of it was stored.
    #[error("disk full while writing {}: the last batch was rolled back and nothing stored before it was lost", .0.display())]
    DiskFull(PathBuf),
    /// The workspace cannot be written (read-only file system or permissions).
    #[error("workspace {} is read-only: {message}", path.display())]
    ReadOnly { path: PathBuf, message: String },
    /// A source or the settings file could not be read.
    #[error(transparent)]
    Source(#[from] spirit_sources::SourceError),
    /// A record, entity or argument that does not exist or is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The thing asked for is not in the store.
    #[error("{0}")]
    NotFound(String),
    /// A judgement that contradicts those in force: `left` and `right` (record keys) are
    /// judged not the same, yet "same" judgements would join them.
    #[error(
        "this judgement contradicts those in force: {left} and {right} are judged not the \
         same, yet \"same\" judgements would join them; withdraw one first \
         (`spirit judge WS unsure A B`)"
    )]
    Contradiction { left: String, right: String },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The current time as an RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    timestamp(d.as_millis() as i64)
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn timestamp(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// An entity id as users see it: `E` and the number.
pub fn entity_label(id: i64) -> String {
    format!("E{id}")
}

/// Parses `E123` (or `123`) back into an entity number.
pub fn parse_entity(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t
        .strip_prefix('E')
        .or_else(|| t.strip_prefix('e'))
        .unwrap_or(t);
    digits.parse::<i64>().ok().filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(timestamp(1_795_910_400_000), "2026-11-29T00:00:00.000Z");
        assert_eq!(timestamp(-86_400_000), "1969-12-31T00:00:00.000Z");
    }

    #[test]
    fn entity_labels_round_trip() {
        assert_eq!(entity_label(42), "E42");
        assert_eq!(parse_entity("E42"), Some(42));
        assert_eq!(parse_entity("42"), Some(42));
        assert_eq!(parse_entity("E0"), None);
        assert_eq!(parse_entity("Ex"), None);
    }
}
