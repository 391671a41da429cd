//! Failed-login throttling: after [`FREE_FAILURES`] wrong passwords for one user name, the
//! name is locked for a delay that doubles with each further failure (up to
//! [`MAX_DELAY`]); a successful login clears it. Attempts during the lock are refused
//! before the password is hashed, so guessing costs the attacker time and the server no
//! Argon2 work.
//!
//! The state is in memory (a restart forgives) and bounded: at most [`MAX_TRACKED`] names
//! are tracked; the oldest entries are dropped first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords allowed before the first lock.
pub const FREE_FAILURES: u32 = 5;
/// The first lock.
pub const FIRST_DELAY: Duration = Duration::from_secs(30);
/// The longest lock.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Names tracked at most.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed logins per user name.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    names: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    pub fn new() -> LoginThrottle {
        LoginThrottle::default()
    }

    /// How long `name` must still wait before a login is tried; `None` when it may try now.
    pub fn wait(&self, name: &str, now: Instant) -> Option<Duration> {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let f = names.get(&key(name))?;
        f.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Records a wrong password for `name`; returns the lock now in force, if any.
    pub fn failed(&self, name: &str, now: Instant) -> Option<Duration> {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() >= MAX_TRACKED && !names.contains_key(&key(name)) {
            names.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if names.len() >= MAX_TRACKED
                && let Some(oldest) = names
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
            {
                names.remove(&oldest);
            }
        }
        let f = names.entry(key(name)).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(f.last) >= FORGET_AFTER {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        let delay = delay_after(f.count)?;
        f.locked_until = Some(now + delay);
        Some(delay)
    }

    /// A successful login: forgets the failures of `name`.
    pub fn succeeded(&self, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        names.remove(&key(name));
    }
}

/// The lock after `count` consecutive failures.
pub fn delay_after(count: u32) -> Option<Duration> {
    let over = count.checked_sub(FREE_FAILURES)?;
    let factor = 1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
    Some(FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY))
}

/// User names are compared as the store compares them: exactly, after trimming.
fn key(name: &str) -> String {
    name.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_free_failures_and_doubles() {
        let t = LoginThrottle::new();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            assert_eq!(t.failed("alice", now), None);
            assert_eq!(t.wait("alice", now), None);
        }
        assert_eq!(t.failed("alice", now), Some(FIRST_DELAY));
        assert_eq!(t.wait("alice", now), Some(FIRST_DELAY));
        assert_eq!(t.wait("bob", now), None, "another name is not locked");
        let later = now + FIRST_DELAY;
        assert_eq!(t.wait("alice", later), None, "the lock ends");
        assert_eq!(t.failed("alice", later), Some(FIRST_DELAY * 2));
        t.succeeded("alice");
        assert_eq!(t.wait("alice", later), None);
        assert_eq!(t.failed("alice", later), None, "success resets the count");
    }

    #[test]
    fn delay_is_capped_and_old_failures_are_forgotten() {
        assert_eq!(delay_after(FREE_FAILURES + 40), Some(MAX_DELAY));
        assert_eq!(
            delay_after(0),
            Some(FIRST_DELAY).filter(|_| FREE_FAILURES == 0)
        );
        let t = LoginThrottle::new();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            t.failed("carol", now);
        }
        let much_later = now + FORGET_AFTER + MAX_DELAY;
        assert_eq!(t.failed("carol", much_later), None, "the count restarted");
    }

    #[test]
    fn tracked_names_are_bounded() {
        let t = LoginThrottle::new();
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 50 {
            t.failed(&format!("user{i}"), now + Duration::from_millis(i as u64));
        }
        assert!(t.names.lock().unwrap().len() <= MAX_TRACKED);
    }
}
