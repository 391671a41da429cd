//! Failed-login throttling, per user name and per client address.
//!
//! After [`NAME_FREE`] wrong passwords for one user name (or [`ADDRESS_FREE`] from one
//! client address, whatever the names), the subject is locked for a delay that doubles
//! with each further failure, from [`FIRST_DELAY`] up to [`MAX_DELAY`]; once a lock ends,
//! one attempt at a time is allowed. A successful login clears the name (not the address).
//!
//! A password is checked only with a ticket from [`LoginThrottle::admit`], and tickets
//! in flight count against the allowance: however many attempts arrive at once, no more
//! passwords are checked than the failures still allowed (the lock cannot be raced).
//! Attempts refused are refused before any password is hashed and without touching the
//! store; they are counted and reported for the audit log at most once a minute per
//! subject ([`Refusal::log`]).
//!
//! The failures and locks are kept in `logins.db` (SQLite) in the workspace folder, so a
//! restart forgives nothing, and nothing is evicted: the table holds only subjects with a
//! failure in the last [`FORGET_AFTER`] or a lock in force (older rows are pruned), and a
//! locked address bounds how many names one client can add.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, params};

/// Wrong passwords for one name before its first lock.
pub const NAME_FREE: u32 = 5;
/// Wrong passwords from one client address before its first lock.
pub const ADDRESS_FREE: u32 = 50;
/// The first lock.
pub const FIRST_DELAY: Duration = Duration::from_secs(30);
/// The longest lock.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Refused attempts of one subject are reported for the audit log at most this often.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);
/// The file the throttle keeps its state in, inside the workspace folder.
pub const FILE: &str = "logins.db";

#[derive(Clone, Debug, Default)]
struct Subject {
    failures: u32,
    in_flight: u32,
    last_ms: i64,
    locked_until_ms: i64,
    refused: u64,
    reported_ms: i64,
    /// When a lock in force was last compared with `logins.db` (an administrator may
    /// have lifted it there: `spirit user reset`).
    synced_ms: i64,
}

/// What may check a password: returned by [`LoginThrottle::admit`], given back to
/// [`LoginThrottle::finish`].
#[derive(Debug)]
#[must_use]
pub struct Ticket {
    keys: [String; 2],
}

/// An attempt refused before its password was checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after: Duration,
    /// The subject that refused it (`name:…` or `addr:…`).
    pub subject: String,
    /// When set, the attempts refused for this subject since the last report (this one
    /// included): write one audit entry for them.
    pub log: Option<u64>,
}

/// Failed logins per user name and per client address.
pub struct LoginThrottle {
    subjects: Mutex<HashMap<String, Subject>>,
    db: Option<Mutex<Connection>>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

fn name_key(name: &str) -> String {
    // User names are compared as the store compares them: exactly, after trimming.
    format!("name:{}", name.trim())
}

fn addr_key(addr: Option<IpAddr>) -> String {
    addr.map_or_else(|| "addr:unknown".into(), |a| format!("addr:{a}"))
}

/// The lock after `count` failures of a subject allowed `free` of them.
pub fn delay_after(count: u32, free: u32) -> Option<Duration> {
    let over = count.checked_sub(free)?;
    let factor = 1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
    Some(FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY))
}

fn free_of(key: &str) -> u32 {
    if key.starts_with("addr:") {
        ADDRESS_FREE
    } else {
        NAME_FREE
    }
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl LoginThrottle {
    /// A throttle that keeps nothing on disk (for tests and tools).
    pub fn in_memory() -> LoginThrottle {
        LoginThrottle {
            subjects: Mutex::new(HashMap::new()),
            db: None,
        }
    }

    /// Opens (or creates) the throttle's file in the workspace folder `dir` and loads
    /// the failures and locks still in force at `now_ms`.
    pub fn open(dir: &Path, now_ms: i64) -> Result<LoginThrottle, rusqlite::Error> {
        let conn = Connection::open(dir.join(FILE))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS failures (
                subject TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                last_ms INTEGER NOT NULL,
                locked_until_ms INTEGER NOT NULL
            ) WITHOUT ROWID;",
        )?;
        conn.execute(
            "DELETE FROM failures WHERE last_ms < ?1 AND locked_until_ms < ?2",
            params![now_ms - ms(FORGET_AFTER), now_ms],
        )?;
        let mut subjects = HashMap::new();
        {
            let mut stmt =
                conn.prepare("SELECT subject, failures, last_ms, locked_until_ms FROM failures")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Subject {
                        failures: r.get::<_, i64>(1)?.clamp(0, u32::MAX as i64) as u32,
                        last_ms: r.get(2)?,
                        locked_until_ms: r.get(3)?,
                        ..Subject::default()
                    },
                ))
            })?;
            for row in rows {
                let (k, s) = row?;
                subjects.insert(k, s);
            }
        }
        Ok(LoginThrottle {
            subjects: Mutex::new(subjects),
            db: Some(Mutex::new(conn)),
        })
    }

    /// Asks to check a password for `name` from `addr` at `now_ms`.
    pub fn admit(&self, name: &str, addr: Option<IpAddr>, now_ms: i64) -> Result<Ticket, Refusal> {
        let keys = [name_key(name), addr_key(addr)];
        let mut subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        for key in &keys {
            let Some(s) = subjects.get_mut(key) else {
                continue;
            };
            if now_ms - s.last_ms >= ms(FORGET_AFTER) && s.locked_until_ms <= now_ms {
                s.failures = 0;
            }
            if s.locked_until_ms > now_ms && now_ms - s.synced_ms >= 1_000 {
                s.synced_ms = now_ms;
                if let Some(stored) = self.stored_lock(key)
                    && stored < s.locked_until_ms
                {
                    s.locked_until_ms = stored;
                    if stored <= now_ms {
                        s.failures = 0;
                    }
                }
            }
            let free = free_of(key);
            let allowed = if s.failures < free {
                free - s.failures
            } else {
                1
            };
            let wait_ms = if s.locked_until_ms > now_ms {
                s.locked_until_ms - now_ms
            } else if s.in_flight >= allowed {
                // Checks in flight may use up what is left: ask to retry shortly.
                1_000
            } else {
                continue;
            };
            s.refused += 1;
            let log = (now_ms - s.reported_ms >= ms(REPORT_EVERY)).then(|| {
                s.reported_ms = now_ms;
                std::mem::take(&mut s.refused)
            });
            return Err(Refusal {
                retry_after: Duration::from_millis(wait_ms.max(1_000) as u64),
                subject: key.clone(),
                log,
            });
        }
        for key in &keys {
            subjects.entry(key.clone()).or_default().in_flight += 1;
        }
        Ok(Ticket { keys })
    }

    /// Gives a ticket back with the outcome of its check; returns the lock now in force
    /// on the name, if any.
    pub fn finish(&self, ticket: Ticket, ok: bool, now_ms: i64) -> Option<Duration> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed: Vec<(String, Option<Subject>)> = Vec::new();
        let mut name_lock = None;
        for (i, key) in ticket.keys.iter().enumerate() {
            let s = subjects.entry(key.clone()).or_default();
            s.in_flight = s.in_flight.saturating_sub(1);
            if ok {
                if i == 0 {
                    // A success clears the name, not the address.
                    let keep = s.in_flight > 0 || s.refused > 0;
                    s.failures = 0;
                    s.locked_until_ms = 0;
                    changed.push((key.clone(), None));
                    if !keep {
                        subjects.remove(key);
                    }
                }
                continue;
            }
            s.failures = s.failures.saturating_add(1);
            s.last_ms = now_ms;
            if let Some(delay) = delay_after(s.failures, free_of(key)) {
                s.locked_until_ms = now_ms + ms(delay);
                if i == 0 {
                    name_lock = Some(delay);
                }
            }
            changed.push((key.clone(), Some(s.clone())));
        }
        drop(subjects);
        self.persist(&changed, now_ms);
        name_lock
    }

    fn persist(&self, changed: &[(String, Option<Subject>)], now_ms: i64) {
        let Some(db) = &self.db else { return };
        let conn = db.lock().unwrap_or_else(|p| p.into_inner());
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.unchecked_transaction()?;
            for (key, s) in changed {
                match s {
                    Some(s) => tx.execute(
                        "INSERT INTO failures(subject, failures, last_ms, locked_until_ms) \
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT(subject) DO UPDATE SET \
                         failures = excluded.failures, last_ms = excluded.last_ms, \
                         locked_until_ms = excluded.locked_until_ms",
                        params![key, s.failures, s.last_ms, s.locked_until_ms],
                    )?,
                    None => tx.execute("DELETE FROM failures WHERE subject = ?1", [key])?,
                };
            }
            tx.execute(
                "DELETE FROM failures WHERE last_ms < ?1 AND locked_until_ms < ?2",
                params![now_ms - ms(FORGET_AFTER), now_ms],
            )?;
            tx.commit()
        })();
        if let Err(e) = result {
            eprintln!("spirit-server: cannot keep failed logins in {FILE}: {e}");
        }
    }

    /// The lock `logins.db` holds for a subject (0 when it holds none); `None` without a
    /// file or when it cannot be read.
    fn stored_lock(&self, key: &str) -> Option<i64> {
        let conn = self.db.as_ref()?.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            "SELECT COALESCE((SELECT locked_until_ms FROM failures WHERE subject = ?1), 0)",
            [key],
            |r| r.get(0),
        )
        .ok()
    }

    /// The lock in force on `name` at `now_ms`, if any.
    pub fn locked(&self, name: &str, now_ms: i64) -> Option<Duration> {
        let subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        let s = subjects.get(&name_key(name))?;
        (s.locked_until_ms > now_ms)
            .then(|| Duration::from_millis((s.locked_until_ms - now_ms) as u64))
    }
}

/// Lifts the lock-out of a user name in the workspace folder `dir` (`spirit user
/// reset`); a running server notices within a second. Nothing to do without a file.
pub fn lift(dir: &Path, name: &str) -> Result<(), rusqlite::Error> {
    let path = dir.join(FILE);
    if !path.exists() {
        return Ok(());
    }
    let conn = Connection::open(&path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute("DELETE FROM failures WHERE subject = ?1", [name_key(name)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_000_000_000;

    fn fail(t: &LoginThrottle, name: &str, addr: Option<IpAddr>, now: i64) -> Option<Duration> {
        let ticket = t.admit(name, addr, now).expect("admitted");
        t.finish(ticket, false, now)
    }

    #[test]
    fn locks_after_the_free_failures_and_doubles() {
        let t = LoginThrottle::in_memory();
        for _ in 0..NAME_FREE - 1 {
            assert_eq!(fail(&t, "alice", None, T0), None);
        }
        assert_eq!(fail(&t, "alice", None, T0), Some(FIRST_DELAY));
        let refused = t.admit("alice", None, T0).unwrap_err();
        assert_eq!(refused.retry_after, FIRST_DELAY);
        assert_eq!(refused.subject, "name:alice");
        assert!(
            t.admit("bob", None, T0).is_ok(),
            "another name is not locked"
        );
        let later = T0 + ms(FIRST_DELAY);
        assert_eq!(fail(&t, "alice", None, later), Some(FIRST_DELAY * 2));
        let ok = t.admit("alice", None, later + ms(FIRST_DELAY * 2)).unwrap();
        assert_eq!(t.finish(ok, true, later), None);
        assert_eq!(t.locked("alice", later), None);
        assert_eq!(
            fail(&t, "alice", None, later),
            None,
            "success resets the count"
        );
    }

    #[test]
    fn tickets_in_flight_bound_the_checks() {
        let t = LoginThrottle::in_memory();
        let mut tickets = Vec::new();
        let mut refused = 0;
        for _ in 0..200 {
            match t.admit("victim", None, T0) {
                Ok(ticket) => tickets.push(ticket),
                Err(_) => refused += 1,
            }
        }
        assert_eq!(tickets.len(), NAME_FREE as usize);
        assert_eq!(refused, 200 - NAME_FREE as usize);
        for ticket in tickets {
            t.finish(ticket, false, T0);
        }
        assert!(t.locked("victim", T0).is_some());
        // After the lock: one attempt at a time.
        let after = T0 + ms(FIRST_DELAY);
        let one = t.admit("victim", None, after).unwrap();
        assert!(t.admit("victim", None, after).is_err());
        t.finish(one, false, after);
    }

    #[test]
    fn an_address_is_locked_whatever_the_names_and_refusals_are_reported_once_a_minute() {
        let t = LoginThrottle::in_memory();
        let addr: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        for i in 0..ADDRESS_FREE {
            fail(&t, &format!("junk{i}"), addr, T0);
        }
        let mut logged = 0;
        let mut reported = 0;
        for i in 0..10_000 {
            let r = t
                .admit(&format!("other{i}"), addr, T0 + i)
                .expect_err("the address is locked");
            assert_eq!(r.subject, "addr:192.0.2.7");
            if let Some(n) = r.log {
                logged += 1;
                reported += n;
            }
        }
        assert_eq!(logged, 1, "10 s of refusals make one report");
        assert_eq!(reported, 1);
        // The lock ends; one more failure locks the address for twice as long.
        let later = T0 + ms(FIRST_DELAY);
        assert_eq!(fail(&t, "y", addr, later), None, "one name failed once");
        let r = t.admit("x", addr, T0 + ms(REPORT_EVERY)).unwrap_err();
        assert_eq!(r.log, Some(10_000), "the next report counts the rest");
        assert!(t.admit("x", Some("192.0.2.8".parse().unwrap()), T0).is_ok());
    }

    #[test]
    fn locks_survive_a_restart_and_old_failures_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        {
            let t = LoginThrottle::open(dir.path(), T0).unwrap();
            for _ in 0..NAME_FREE {
                fail(&t, "carol", None, T0);
            }
            for _ in 0..2 {
                fail(&t, "dave", None, T0);
            }
        }
        let t = LoginThrottle::open(dir.path(), T0 + 1_000).unwrap();
        assert!(t.admit("carol", None, T0 + 1_000).is_err(), "still locked");
        // An administrator lifts the lock in the file (`spirit user reset`): the running
        // throttle notices within a second.
        lift(dir.path(), "carol").unwrap();
        assert!(
            t.admit("carol", None, T0 + 1_500).is_err(),
            "not yet compared"
        );
        let ticket = t.admit("carol", None, T0 + 2_100).expect("lifted");
        t.finish(ticket, true, T0 + 2_100);
        for _ in 0..NAME_FREE {
            fail(&t, "carol", None, T0);
        }
        let much_later = T0 + ms(FORGET_AFTER + MAX_DELAY);
        let t = LoginThrottle::open(dir.path(), much_later).unwrap();
        assert!(t.subjects.lock().unwrap().is_empty(), "pruned");
        assert_eq!(fail(&t, "carol", None, much_later), None);
    }

    #[test]
    fn delay_is_capped() {
        assert_eq!(delay_after(NAME_FREE + 40, NAME_FREE), Some(MAX_DELAY));
        assert_eq!(delay_after(NAME_FREE - 1, NAME_FREE), None);
    }
}
