//! Writing-style profiles of accounts, and what erasing a post takes from its account.
//!
//! A posts ingest (the `posts` module) links each post to its account (`account_posts`,
//! schema version 5). An account's `style_profile` attribute is built by
//! [`spirit_text::style`] from the bodies (HTML as its visible text) and timestamps of
//! all its posts still stored, in the order they were stored; it is rebuilt whenever
//! posts are added to the account (a later file, a re-run) or erased. An account whose
//! posts hold no words has no profile. The profile is not indexed for search.
//!
//! Erasing a post ([`after_erasure`]) also removes from its account every attribute that
//! came only from erased posts — the mentions table knows which post each mention came
//! from — puts in its place the first mention of that kind left (if any), re-indexes the
//! account for search, rebuilds its style profile, and drops the account's edges, so
//! that no stored explanation rests on erased evidence; the next `spirit resolve` scores
//! the account again from what is left.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use spirit_model::AttrKind;
use spirit_text::style::ProfileBuilder;

use crate::StoreError;

pub use crate::schema::ACCOUNT_POSTS;

/// Links the posts already stored to their accounts, then builds the style profile of
/// every account (the backfill of schema migration 4 → 5).
pub(crate) fn link_stored_posts(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let posts: Vec<(i64, i64, String, String)> = tx
        .prepare(
            "SELECT r.id, r.source, s.name, r.payload FROM records r \
             JOIN sources s ON s.id = r.source WHERE r.record_id LIKE 'post:%' ORDER BY r.id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut accounts = Vec::new();
    for (post, source, source_name, payload) in posts {
        let Ok(p) = crate::post::parse_post(&payload) else {
            continue;
        };
        let platform = p.platform.unwrap_or(source_name);
        let account: Option<i64> = tx
            .query_row(
                "SELECT id FROM records WHERE source = ?1 AND record_id = ?2",
                params![source, format!("account:{platform}:{}", p.author)],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(account) = account {
            link(tx, account, post)?;
            accounts.push(account);
        }
    }
    accounts.sort_unstable();
    accounts.dedup();
    for a in accounts {
        rebuild(tx, a)?;
    }
    Ok(())
}

/// Records that `post` is a post of `account`.
pub(crate) fn link(conn: &Connection, account: i64, post: i64) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO {ACCOUNT_POSTS}(account, post) VALUES (?1, ?2)"
    ))?
    .execute([account, post])?;
    Ok(())
}

/// Seconds since the Unix epoch of a post's time: an integer (seconds, or milliseconds
/// when it is larger than 10^11), or `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM]`
/// (UTC when no offset is given). `None` for anything else.
pub fn timestamp_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(if n.unsigned_abs() > 100_000_000_000 {
            n / 1000
        } else {
            n
        });
    }
    if let Ok(f) = s.parse::<f64>() {
        return f.is_finite().then_some(f as i64);
    }
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut hh, mut mm, mut ss, mut offset) = (0, 0, 0, 0);
    if b.len() > 10 {
        if !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        hh = num(11, 2)?;
        if b.get(13) != Some(&b':') {
            return None;
        }
        mm = num(14, 2)?;
        let mut at = 16;
        if b.get(at) == Some(&b':') {
            ss = num(17, 2)?;
            at = 19;
            if b.get(at) == Some(&b'.') {
                at += 1;
                while b.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
            }
        }
        match b.get(at) {
            None => {}
            Some(b'Z' | b'z') if at + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(at + 1, 2)?;
                let om = match b.get(at + 3) {
                    Some(b':') => num(at + 4, 2)?,
                    Some(_) => num(at + 3, 2)?,
                    None => 0,
                };
                offset = (oh * 60 + om) * 60 * if sign == b'+' { 1 } else { -1 };
            }
            _ => return None,
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
    }
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

/// Rebuilds the style profile of `account` from the posts linked to it; an account whose
/// posts hold no words loses its profile. Returns the number of words profiled.
pub(crate) fn rebuild(conn: &Connection, account: i64) -> Result<u64, StoreError> {
    let payloads: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT r.payload FROM {ACCOUNT_POSTS} ap JOIN records r ON r.id = ap.post \
             WHERE ap.account = ?1 ORDER BY r.id"
        ))?
        .query_map([account], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut builder = ProfileBuilder::new();
    let mut posts = 0u64;
    for payload in &payloads {
        let Ok(post) = crate::post::parse_post(payload) else {
            continue;
        };
        posts += 1;
        match crate::post::body_format(&post) {
            spirit_text::extract::Format::Html => {
                builder.add_text(&spirit_text::extract::visible_text(&post.body))
            }
            _ => builder.add_text(&post.body),
        }
        if let Some(t) = post.timestamp.as_deref().and_then(timestamp_seconds) {
            builder.add_timestamp(t);
        }
    }
    let profile = builder.finish();
    let kind = AttrKind::StyleProfile.name();
    if profile.words() == 0 {
        conn.prepare_cached("DELETE FROM attributes WHERE record = ?1 AND kind = ?2")?
            .execute(params![account, kind])?;
        return Ok(0);
    }
    let raw = format!(
        "built from {posts} posts ({} words, {} timestamps)",
        profile.words(),
        profile.timestamps()
    );
    conn.prepare_cached(
        "INSERT INTO attributes(record, kind, raw, value) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(record, kind, seq) DO UPDATE SET raw = excluded.raw, value = excluded.value",
    )?
    .execute(params![account, kind, raw, profile.to_serialised()])?;
    Ok(profile.words())
}

/// What erasing posts changed on their accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountFix {
    /// Accounts that lost posts (and are not erased themselves).
    pub accounts: u64,
    /// Attributes removed because they came only from erased posts.
    pub attributes_removed: u64,
    /// Of those, how many were replaced by another of the account's mentions of the kind.
    pub attributes_replaced: u64,
    /// Edges of those accounts dropped (the next resolve scores them again).
    pub edges: u64,
}

/// The accounts of the given posts (internal ids), other than the records themselves.
pub(crate) fn accounts_of(conn: &Connection, list_json: &str) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .prepare(&format!(
            "SELECT DISTINCT account FROM {ACCOUNT_POSTS} \
             WHERE post IN (SELECT value FROM json_each(?1)) \
             AND account NOT IN (SELECT value FROM json_each(?1)) ORDER BY account"
        ))?
        .query_map([list_json], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Unlinks the records in `list_json` (a JSON array of record ids) from their accounts
/// or posts; before the records themselves are deleted.
pub(crate) fn unlink(conn: &Connection, list_json: &str) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "DELETE FROM {ACCOUNT_POSTS} WHERE post IN (SELECT value FROM json_each(?1)) \
             OR account IN (SELECT value FROM json_each(?1))"
        ),
        [list_json],
    )?;
    Ok(())
}

/// After posts and their mentions were erased (and unlinked): for each of `accounts`
/// removes the attributes no remaining mention supports (replacing each by the first remaining mention of its kind),
/// re-indexes it for search, rebuilds its style profile and drops its edges.
pub(crate) fn after_erasure(conn: &Connection, accounts: &[i64]) -> Result<AccountFix, StoreError> {
    let mut fix = AccountFix::default();
    for &account in accounts {
        fix.accounts += 1;
        let attrs: Vec<(String, i64, Option<String>)> = conn
            .prepare_cached("SELECT kind, seq, value FROM attributes WHERE record = ?1")?
            .query_map([account], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (kind_name, seq, value) in attrs {
            let Some(kind) = AttrKind::from_name(&kind_name) else {
                continue;
            };
            // The handle is the account's own and the profile is rebuilt below; every
            // other attribute of an account came from its posts' mentions.
            if matches!(kind, AttrKind::Username | AttrKind::StyleProfile) {
                continue;
            }
            let supported = match &value {
                Some(v) => conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM mentions \
                         WHERE record = ?1 AND kind = ?2 AND value = ?3)",
                    )?
                    .query_row(params![account, kind_name, v], |r| r.get::<_, bool>(0))?,
                None => false,
            };
            if supported {
                continue;
            }
            conn.prepare_cached(
                "DELETE FROM attributes WHERE record = ?1 AND kind = ?2 AND seq = ?3",
            )?
            .execute(params![account, kind_name, seq])?;
            fix.attributes_removed += 1;
            // Other values of a multi-valued kind stand; a kind left with none takes the
            // first remaining mention.
            let left: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM attributes WHERE record = ?1 AND kind = ?2)",
                )?
                .query_row(params![account, kind_name], |r| r.get(0))?;
            if left {
                continue;
            }
            let next: Option<String> = conn
                .prepare_cached(
                    "SELECT value FROM mentions WHERE record = ?1 AND kind = ?2 \
                     ORDER BY id LIMIT 1",
                )?
                .query_row(params![account, kind_name], |r| r.get(0))
                .optional()?;
            if let Some(v) = next {
                conn.prepare_cached(
                    "INSERT INTO attributes(record, kind, raw, value) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    account,
                    kind_name,
                    spirit_sources::mask::masked_value(kind, &v),
                    v
                ])?;
                fix.attributes_replaced += 1;
            }
        }
        {
            // The search index holds every mention's value, not only the attributes:
            // rebuild it from what is left even when no attribute changed, so a value
            // found only in an erased post no longer finds the account.
            crate::search::unindex_record(conn, account)?;
            let mut values: Vec<(AttrKind, String)> = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT kind, value FROM attributes WHERE record = ?1 AND value IS NOT NULL \
                 UNION SELECT kind, value FROM mentions WHERE record = ?1",
            )?;
            for row in stmt.query_map([account], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })? {
                let (k, v) = row?;
                if let Some(k) = AttrKind::from_name(&k) {
                    values.push((k, v));
                }
            }
            let refs: Vec<(AttrKind, &str)> =
                values.iter().map(|(k, v)| (*k, v.as_str())).collect();
            crate::search::index_record(conn, account, &refs)?;
        }
        rebuild(conn, account)?;
        fix.edges += conn
            .prepare_cached("DELETE FROM edges WHERE a = ?1 OR b = ?1")?
            .execute([account])? as u64;
    }
    Ok(fix)
}

#[cfg(test)]
mod tests {
    use super::timestamp_seconds;

    #[test]
    fn timestamps_parse() {
        assert_eq!(timestamp_seconds("0"), Some(0));
        assert_eq!(timestamp_seconds("1700000000"), Some(1_700_000_000));
        assert_eq!(timestamp_seconds("1700000000123"), Some(1_700_000_000));
        assert_eq!(timestamp_seconds("1970-01-02"), Some(86_400));
        assert_eq!(
            timestamp_seconds("2023-11-14T22:13:20Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            timestamp_seconds("2023-11-14 23:13:20+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(
            timestamp_seconds("2023-11-14T22:13:20.5"),
            Some(1_700_000_000)
        );
        assert_eq!(timestamp_seconds("2024-02-29T00:00"), Some(1_709_164_800));
        assert_eq!(timestamp_seconds("yesterday"), None);
        assert_eq!(timestamp_seconds("2024-13-01"), None);
        assert_eq!(timestamp_seconds("2024-01-01X10:00"), None);
        assert_eq!(timestamp_seconds("2024-01-01T25:00"), None);
    }
}
