//! Who may use the store: users with roles, their secrets, and cases as compartments.
//!
//! - A *user* has a role (`admin`, `analyst`, `auditor`) and an Argon2id-hashed password.
//!   There is no default user or password: the first admin is made by `spirit user add`.
//! - A *token* is 32 random bytes shown once (`spirit_` and 64 hex digits) and stored only
//!   as its SHA-256; an API token lives until it is revoked, a session token (from a
//!   password login) expires after [`SESSION_HOURS`] and carries a CSRF token, stored the
//!   same way.
//! - A *case* is a compartment: every source belongs to at most one case, and a user sees
//!   the records of the cases they are a member of, nothing else (see the `scope` module).
//!   A source with no case (stored by `spirit ingest` before it was given one) is seen
//!   by nobody through the server until `spirit case add … --source` places it.
//!
//! Schema version 3 adds these tables, the sources' case, retention period and legal
//! basis, and the audit log ([`crate::audit`]).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

pub use crate::util::{hex, random_bytes, sha256};
use crate::{StoreError, now, timestamp};

pub use crate::schema::{CASE_MEMBERS, CASES, TOKENS, USERS};

/// Hours a browser session lasts.
pub const SESSION_HOURS: i64 = 12;
/// Longest user, case and source names.
pub const MAX_NAME: usize = 64;

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users, cases and sources; erases data. Sees only the cases it is a member of.
    Admin,
    /// Reads and judges the records of its cases; ingests into them.
    Analyst,
    /// Reads and verifies the audit log; no personal data.
    Auditor,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
        }
    }
}

/// A user, as the server sees it after authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A new user's one-time secrets: shown once, stored only as hashes.
#[derive(Clone, Debug, Serialize)]
pub struct NewUser {
    pub user: User,
    pub password: String,
    pub token: String,
}

/// A session from a password login.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub token: String,
    pub csrf: String,
    pub expires_ms: i64,
}

/// What a presented token turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub user: User,
    pub token_id: i64,
    /// For a session token: the SHA-256 of its CSRF token.
    pub csrf_hash: Option<Vec<u8>>,
    /// The user's password was given to them (created or reset) and must be changed
    /// before a password session may do anything else.
    pub must_change: bool,
}

/// The outcome of [`check_password`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right; `must_change` when it was given (created or reset).
    Right { user: User, must_change: bool },
    /// Wrong password, or no such (enabled) user; `known` tells which, for the audit
    /// log only (never for the caller).
    Wrong { known: bool },
}

/// Shortest password a user may choose.
pub const MIN_PASSWORD: usize = 12;

/// A token as listed (never its secret).
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub kind: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A case and its members.
#[derive(Clone, Debug, Serialize)]
pub struct CaseInfo {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub members: Vec<String>,
}

/// A source with its case, legal basis and retention period.
#[derive(Clone, Debug, Serialize)]
pub struct SourceInfo {
    pub id: i64,
    pub name: String,
    pub case: Option<String>,
    pub legal_basis: Option<String>,
    pub retention_days: Option<i64>,
    pub created_at: String,
    pub records: u64,
}

/// A new secret token: `spirit_` and 64 hex digits (32 random bytes).
fn new_token() -> Result<String, StoreError> {
    Ok(format!("spirit_{}", hex(&random_bytes::<32>()?)))
}

/// A new password: 24 hex digits (96 random bits).
fn new_password() -> Result<String, StoreError> {
    Ok(hex(&random_bytes::<12>()?))
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash the password: {e}")))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checks a user, case or source name: 1 to [`MAX_NAME`] characters of letters, digits,
/// `-`, `_`, `.`.
pub fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} name {:?} must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'",
            crate::util::clip(name, 80)
        )))
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Creates a user with a random password and a first API token, both returned once.
pub fn create_user(conn: &Connection, name: &str, role: Role) -> Result<NewUser, StoreError> {
    check_name("user", name)?;
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(StoreError::Invalid(format!("user {name} already exists")));
    }
    let password = new_password()?;
    conn.execute(
        "INSERT INTO users(name, role, password, created_at, must_change) VALUES (?1, ?2, ?3, ?4, 1)",
        params![name, role.name(), hash_password(&password)?, now()],
    )?;
    let user = User {
        id: conn.last_insert_rowid(),
        name: name.to_string(),
        role,
    };
    let (_, token) = create_token(conn, user.id, "first token")?;
    Ok(NewUser {
        user,
        password,
        token,
    })
}

/// Sets a new random password for a user (returned once); their sessions end.
pub fn reset_password(conn: &Connection, name: &str) -> Result<String, StoreError> {
    let user =
        user_by_name(conn, name)?.ok_or_else(|| StoreError::NotFound(format!("no user {name}")))?;
    let password = new_password()?;
    conn.execute(
        "UPDATE users SET password = ?2, must_change = 1 WHERE id = ?1",
        params![user.id, hash_password(&password)?],
    )?;
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user = ?1 AND kind = 'session' AND revoked_at IS NULL",
        params![user.id, now()],
    )?;
    Ok(password)
}

/// A user by name.
pub fn user_by_name(conn: &Connection, name: &str) -> Result<Option<User>, StoreError> {
    let row: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT id, name, role FROM users WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.and_then(|(id, name, role)| Role::parse(&role).map(|role| User { id, name, role })))
}

/// Every user, by name.
pub fn users(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let rows: Vec<(i64, String, String)> = conn
        .prepare("SELECT id, name, role FROM users ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, role)| Role::parse(&role).map(|role| User { id, name, role }))
        .collect())
}

/// Issues a new API token for a user; returns its id and the secret (shown once).
pub fn create_token(
    conn: &Connection,
    user: i64,
    label: &str,
) -> Result<(i64, String), StoreError> {
    let token = new_token()?;
    conn.execute(
        "INSERT INTO tokens(user, hash, kind, label, created_at) VALUES (?1, ?2, 'api', ?3, ?4)",
        params![user, sha256(token.as_bytes()), label, now()],
    )?;
    Ok((conn.last_insert_rowid(), token))
}

/// Revokes a token; false if there is no such live token.
pub fn revoke_token(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now()],
    )? == 1)
}

/// The tokens of one user (or everyone's with `None`).
pub fn tokens(conn: &Connection, user: Option<i64>) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT t.id, u.name, t.kind, t.label, t.created_at, t.revoked_at FROM tokens t \
         JOIN users u ON u.id = t.user WHERE ?1 IS NULL OR t.user = ?1 ORDER BY t.id",
    )?;
    let rows = stmt.query_map([user], |r| {
        Ok(TokenInfo {
            id: r.get(0)?,
            user: r.get(1)?,
            kind: r.get(2)?,
            label: r.get(3)?,
            created_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The owner of a token.
pub fn token_owner(conn: &Connection, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT user FROM tokens WHERE id = ?1", [id], |r| r.get(0))
        .optional()?)
}

/// The user a presented token (API or session) belongs to, if it is live.
pub fn authenticate(conn: &Connection, token: &str) -> Result<Option<Authenticated>, StoreError> {
    if !token.starts_with("spirit_") || token.len() != 71 {
        return Ok(None);
    }
    type Row = (i64, i64, String, String, Option<Vec<u8>>, Option<i64>, bool);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT t.id, u.id, u.name, u.role, t.csrf, t.expires_ms, u.must_change FROM tokens t \
             JOIN users u ON u.id = t.user \
             WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
        )?
        .query_row([sha256(token.as_bytes())], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    let Some((token_id, id, name, role, csrf_hash, expires, must_change)) = row else {
        return Ok(None);
    };
    if expires.is_some_and(|e| e <= now_ms()) {
        return Ok(None);
    }
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some(Authenticated {
        user: User { id, name, role },
        token_id,
        csrf_hash,
        must_change,
    }))
}

/// Checks a password and opens a session; `None` when the name or password is wrong
/// (which of the two is not said).
pub fn login(conn: &Connection, name: &str, password: &str) -> Result<Option<Session>, StoreError> {
    match check_password(conn, name, password)? {
        PasswordCheck::Right { user, .. } => Ok(Some(open_session(conn, &user)?)),
        PasswordCheck::Wrong { .. } => Ok(None),
    }
}

/// Checks a user's password (Argon2id): a read, so it runs on a read connection and
/// never holds the writer. A name that is unknown costs the same time as a known one.
pub fn check_password(
    conn: &Connection,
    name: &str,
    password: &str,
) -> Result<PasswordCheck, StoreError> {
    let row: Option<(i64, String, String, bool)> = conn
        .query_row(
            "SELECT id, role, password, must_change FROM users WHERE name = ?1 AND disabled_at IS NULL",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((id, role, stored, must_change)) = row else {
        // Spend the same time as a real check, so timing does not tell names apart.
        let _ = verify_password(password, DUMMY_HASH);
        return Ok(PasswordCheck::Wrong { known: false });
    };
    let Some(role) = Role::parse(&role).filter(|_| verify_password(password, &stored)) else {
        return Ok(PasswordCheck::Wrong { known: true });
    };
    Ok(PasswordCheck::Right {
        user: User {
            id,
            name: name.to_string(),
            role,
        },
        must_change,
    })
}

/// Opens a session for a user whose password was checked.
pub fn open_session(conn: &Connection, user: &User) -> Result<Session, StoreError> {
    let token = new_token()?;
    let csrf = hex(&random_bytes::<32>()?);
    let expires_ms = now_ms() + SESSION_HOURS * 3_600_000;
    conn.execute(
        "INSERT INTO tokens(user, hash, kind, label, csrf, created_at, expires_ms) \
         VALUES (?1, ?2, 'session', ?3, ?4, ?5, ?6)",
        params![
            user.id,
            sha256(token.as_bytes()),
            format!("session until {}", timestamp(expires_ms)),
            sha256(csrf.as_bytes()),
            now(),
            expires_ms
        ],
    )?;
    Ok(Session {
        user: user.clone(),
        token,
        csrf,
        expires_ms,
    })
}

/// Why a new password is refused, if it is.
pub fn weak_password(name: &str, password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Some(format!(
            "the new password must be at least {MIN_PASSWORD} characters long"
        ));
    }
    if n > 1000 || password.chars().any(char::is_control) {
        return Some(
            "the new password must be at most 1000 characters, without control characters".into(),
        );
    }
    if password
        .to_lowercase()
        .contains(&name.trim().to_lowercase())
        && !name.trim().is_empty()
    {
        return Some("the new password must not contain the user name".into());
    }
    if password
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        < 5
    {
        return Some("the new password must have at least 5 different characters".into());
    }
    None
}

/// Changes a user's password after checking the current one: the new one must differ
/// and pass [`weak_password`]; the "must change" flag is cleared, and every other
/// session of the user ends (`keep_token` is the caller's own). `Ok(false)` when the
/// current password is wrong.
pub fn change_password(
    conn: &Connection,
    user: &User,
    current: &str,
    new: &str,
    keep_token: Option<i64>,
) -> Result<bool, StoreError> {
    if !matches!(
        check_password(conn, &user.name, current)?,
        PasswordCheck::Right { .. }
    ) {
        return Ok(false);
    }
    if current == new {
        return Err(StoreError::Invalid(
            "the new password must differ from the current one".into(),
        ));
    }
    if let Some(why) = weak_password(&user.name, new) {
        return Err(StoreError::Invalid(why));
    }
    conn.execute(
        "UPDATE users SET password = ?2, must_change = 0 WHERE id = ?1",
        params![user.id, hash_password(new)?],
    )?;
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user = ?1 AND kind = 'session' \
         AND revoked_at IS NULL AND id IS NOT ?3",
        params![user.id, now(), keep_token],
    )?;
    Ok(true)
}

/// An Argon2id hash of a random password, checked against when a login names no user.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3Bpcml0c3Bpcml0c3Bp$0xQ6x2vQUNkVYQ0n8f3qvYb4m3F0uC7m1m3l9yq0c2M";

/// Creates a case.
pub fn create_case(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    check_name("case", name)?;
    if case_id(conn, name)?.is_some() {
        return Err(StoreError::Invalid(format!("case {name} already exists")));
    }
    conn.execute(
        "INSERT INTO cases(name, created_at) VALUES (?1, ?2)",
        params![name, now()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The id of a case.
pub fn case_id(conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM cases WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

fn require_case(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    case_id(conn, name)?.ok_or_else(|| StoreError::NotFound(format!("no case {name}")))
}

fn require_user(conn: &Connection, name: &str) -> Result<User, StoreError> {
    user_by_name(conn, name)?.ok_or_else(|| StoreError::NotFound(format!("no user {name}")))
}

/// Makes a user a member of a case; true if they were not already.
pub fn add_member(conn: &Connection, case: &str, user: &str) -> Result<bool, StoreError> {
    let (c, u) = (require_case(conn, case)?, require_user(conn, user)?);
    Ok(conn.execute(
        "INSERT OR IGNORE INTO case_members(case_id, user) VALUES (?1, ?2)",
        params![c, u.id],
    )? == 1)
}

/// Removes a user from a case; true if they were a member.
pub fn remove_member(conn: &Connection, case: &str, user: &str) -> Result<bool, StoreError> {
    let (c, u) = (require_case(conn, case)?, require_user(conn, user)?);
    Ok(conn.execute(
        "DELETE FROM case_members WHERE case_id = ?1 AND user = ?2",
        params![c, u.id],
    )? == 1)
}

/// The ids of the cases a user is a member of.
pub fn member_cases(conn: &Connection, user: i64) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT case_id FROM case_members WHERE user = ?1 ORDER BY case_id")?
        .query_map([user], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Cases with their members: those with an id in `only`, or every case.
pub fn cases(conn: &Connection, only: Option<&[i64]>) -> Result<Vec<CaseInfo>, StoreError> {
    let mut out: Vec<CaseInfo> = conn
        .prepare("SELECT id, name, created_at FROM cases ORDER BY name")?
        .query_map([], |r| {
            Ok(CaseInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                members: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    if let Some(only) = only {
        out.retain(|c| only.contains(&c.id));
    }
    let mut members = conn.prepare(
        "SELECT u.name FROM case_members m JOIN users u ON u.id = m.user \
         WHERE m.case_id = ?1 ORDER BY u.name",
    )?;
    for c in &mut out {
        c.members = members
            .query_map([c.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(out)
}

/// Creates a source in a case (or places an existing source without a case in it), with
/// its legal basis and retention period in days.
pub fn create_source(
    conn: &Connection,
    name: &str,
    case: &str,
    legal_basis: &str,
    retention_days: Option<i64>,
) -> Result<i64, StoreError> {
    check_name("source", name)?;
    let c = require_case(conn, case)?;
    if legal_basis.trim().is_empty() || legal_basis.len() > 500 {
        return Err(StoreError::Invalid(
            "a source needs a legal basis of 1 to 500 bytes".into(),
        ));
    }
    if retention_days.is_some_and(|d| !(0..=36_500).contains(&d)) {
        return Err(StoreError::Invalid(
            "retention_days must be between 0 and 36500".into(),
        ));
    }
    let existing: Option<(i64, Option<i64>)> = conn
        .query_row(
            "SELECT id, case_id FROM sources WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match existing {
        Some((_, Some(_))) => Err(StoreError::Invalid(format!(
            "source {name} already exists and belongs to a case"
        ))),
        Some((id, None)) => {
            conn.execute(
                "UPDATE sources SET case_id = ?2, legal_basis = ?3, retention_days = ?4 WHERE id = ?1",
                params![id, c, legal_basis.trim(), retention_days],
            )?;
            Ok(id)
        }
        None => {
            conn.execute(
                "INSERT INTO sources(name, created_at, case_id, legal_basis, retention_days) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, now(), c, legal_basis.trim(), retention_days],
            )?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// Sources in the given cases (or all with `None`), with their record counts.
pub fn sources(conn: &Connection, only: Option<&[i64]>) -> Result<Vec<SourceInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.name, c.name, s.legal_basis, s.retention_days, s.created_at, s.case_id, \
         (SELECT count(*) FROM records r WHERE r.source = s.id) \
         FROM sources s LEFT JOIN cases c ON c.id = s.case_id ORDER BY s.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            SourceInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                case: r.get(2)?,
                legal_basis: r.get(3)?,
                retention_days: r.get(4)?,
                created_at: r.get(5)?,
                records: r.get::<_, i64>(7)? as u64,
            },
            r.get::<_, Option<i64>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (info, case) = row?;
        if only.is_none_or(|o| case.is_some_and(|c| o.contains(&c))) {
            out.push(info);
        }
    }
    Ok(out)
}

/// The names of the cases that hold any of `sources` (by source name), sorted, without
/// repeats; sources without a case or unknown are left out. Reads only `sources` and
/// `cases`, so its cost does not grow with the records stored.
pub fn cases_of_sources(conn: &Connection, sources: &[&str]) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.name FROM sources s JOIN cases c ON c.id = s.case_id WHERE s.name = ?1",
    )?;
    let mut names = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for &source in sources {
        if !seen.insert(source) {
            continue;
        }
        if let Some(name) = stmt
            .query_row([source], |r| r.get::<_, String>(0))
            .optional()?
        {
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The case of a source: `Ok(None)` if it has none; NotFound if there is no such source.
pub fn source_case(conn: &Connection, source: &str) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT case_id FROM sources WHERE name = ?1")?
        .query_row([source], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no source {source}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", DUMMY_HASH));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("user", "alice-1.b_c").is_ok());
        assert!(check_name("user", "").is_err());
        assert!(check_name("user", "a b").is_err());
        assert!(check_name("user", &"a".repeat(65)).is_err());
    }
}
