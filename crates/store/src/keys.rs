//! A workspace's secrets, kept outside `spirit.db`: the payment-card key and the audit
//! key (the MAC key that seals every audit entry and the Ed25519 key that signs the
//! log's anchors).
//!
//! They live in a key folder that is not the workspace folder, so that a copy of the
//! workspace (a backup, a file taken from a disk) holds no key: card hashes cannot be
//! brute-forced and the audit log cannot be rewritten without it. The folder is, in order,
//! `$SPIRIT_KEY_DIR`, the settings' `keys.dir` (relative to the workspace folder), or
//! `<workspace>.keys` beside the workspace folder. Put it on another volume, or make it
//! readable by the service account only, to keep the secrets apart from the data.
//!
//! Each key is one file, created once with mode 0600 in a folder with mode 0700 and
//! never overwritten: a file is written under a temporary name and linked into place,
//! so two processes creating it at once agree on the one that was linked first.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::StoreError;
use crate::util::{hex, random_bytes};

/// The environment variable naming the key folder (it wins over the settings).
pub const KEY_DIR_ENV: &str = "SPIRIT_KEY_DIR";
/// The payment-card key's file in the key folder.
pub const CARD_KEY: &str = "card.key";
/// The audit key's file in the key folder.
pub const AUDIT_KEY: &str = "audit.key";

/// The key folder of the workspace in `dir` whose settings name `configured`.
pub fn key_dir(dir: &Path, configured: Option<&Path>) -> PathBuf {
    if let Some(env) = std::env::var_os(KEY_DIR_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(env);
    }
    if let Some(c) = configured {
        return dir.join(c);
    }
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workspace".into());
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    parent.join(format!("{name}.keys"))
}

/// Reads a key file, `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Creates the key folder (mode 0700) if missing.
fn make_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| StoreError::io(dir, e))
}

/// Writes `text` to `path` unless the file exists; returns the text the file holds
/// afterwards (another process's, when it was first).
fn create_once(path: &Path, text: &str) -> Result<String, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    make_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.partial",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| StoreError::io(&tmp, e))?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(text.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| StoreError::io(path, e))
        }
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// `N` bytes from `2N` hexadecimal digits (surrounding whitespace ignored).
pub(crate) fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let t = text.trim();
    if t.len() != 2 * N || !t.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn damaged(path: &Path, what: &str) -> StoreError {
    StoreError::Invalid(format!("{} is damaged: {what}", path.display()))
}

/// Reads the payment-card key in `dir`, or creates it from `legacy` (a key an older store
/// kept in `meta`) or from random bytes when `create` is set.
pub fn card_key(
    dir: &Path,
    legacy: Option<[u8; 32]>,
    create: bool,
) -> Result<Option<[u8; 32]>, StoreError> {
    let path = dir.join(CARD_KEY);
    let text = match read(&path)? {
        Some(t) => t,
        None if create || legacy.is_some() => {
            let key = match legacy {
                Some(k) => k,
                None => random_bytes::<32>()?,
            };
            create_once(&path, &format!("{}\n", hex(&key)))?
        }
        None => return Ok(None),
    };
    parse_hex::<32>(&text)
        .map(Some)
        .ok_or_else(|| damaged(&path, "a card key is 64 hexadecimal digits"))
}

/// The audit key: what seals entries and signs anchors.
#[derive(Clone)]
pub struct AuditKey {
    mac: [u8; 32],
    signing: SigningKey,
    /// The first entry sealed with this key (entries before it predate keys).
    pub keyed_from: i64,
    /// Where the key was read from.
    pub path: PathBuf,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("keyed_from", &self.keyed_from)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct AuditKeyFile {
    version: u32,
    mac_key: String,
    signing_key: String,
    keyed_from: i64,
}

impl AuditKey {
    /// Reads the audit key in `dir`, or creates one that seals entries from `keyed_from`
    /// on when `create` is given.
    pub fn load(dir: &Path, create: Option<i64>) -> Result<Option<AuditKey>, StoreError> {
        let path = dir.join(AUDIT_KEY);
        let text = match (read(&path)?, create) {
            (Some(t), _) => t,
            (None, Some(keyed_from)) => {
                let file = AuditKeyFile {
                    version: 1,
                    mac_key: hex(&random_bytes::<32>()?),
                    signing_key: hex(&random_bytes::<32>()?),
                    keyed_from: keyed_from.max(1),
                };
                let text = serde_json::to_string_pretty(&file)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                create_once(&path, &format!("{text}\n"))?
            }
            (None, None) => return Ok(None),
        };
        let file: AuditKeyFile =
            serde_json::from_str(&text).map_err(|e| damaged(&path, &e.to_string()))?;
        if file.version != 1 {
            return Err(damaged(
                &path,
                &format!("version {} is not known", file.version),
            ));
        }
        let mac = parse_hex::<32>(&file.mac_key)
            .ok_or_else(|| damaged(&path, "mac_key is not 64 hexadecimal digits"))?;
        let seed = parse_hex::<32>(&file.signing_key)
            .ok_or_else(|| damaged(&path, "signing_key is not 64 hexadecimal digits"))?;
        Ok(Some(AuditKey {
            mac,
            signing: SigningKey::from_bytes(&seed),
            keyed_from: file.keyed_from,
            path,
        }))
    }

    /// The MAC (HMAC-SHA256) of an entry's chain hash: it seals the entry and, through
    /// the chain, every entry before it.
    pub fn seal(&self, hash: &[u8]) -> Vec<u8> {
        self.mac_of(b"spirit-audit-seal-v1", hash)
    }

    /// A keyed hash of a term kept in the log instead of the term (a search text, an
    /// erased record's key): whoever holds the key can test a given term, nobody can
    /// read one back.
    pub fn term(&self, term: &str) -> String {
        let folded: String = term.trim().to_lowercase();
        format!(
            "keyed:{}",
            hex(&self.mac_of(b"spirit-audit-term-v1", folded.as_bytes())[..16])
        )
    }

    fn mac_of(&self, domain: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac)
            .expect("HMAC takes any key length");
        mac.update(domain);
        mac.update(&(data.len() as u64).to_be_bytes());
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// Signs a message with the anchor key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The public half of the anchor key, which auditors keep to check anchors.
    pub fn public_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }
}

/// The first audit entry the workspace's key seals, as recorded in `meta` (absent
/// before the workspace had a key).
pub fn sealed_from(conn: &rusqlite::Connection) -> Result<Option<String>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'audit_keyed_from'",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records in `meta` the first audit entry the workspace's key seals (once).
pub(crate) fn record_sealed_from(conn: &rusqlite::Connection, seq: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('audit_keyed_from', ?1)",
        [seq.to_string()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("k");
        assert_eq!(card_key(&keys, None, false).unwrap(), None);
        let a = card_key(&keys, None, true).unwrap().unwrap();
        let b = card_key(&keys, Some([7; 32]), true).unwrap().unwrap();
        assert_eq!(a, b, "an existing key is never replaced");
        let audit = AuditKey::load(&keys, Some(5)).unwrap().unwrap();
        let again = AuditKey::load(&keys, Some(9)).unwrap().unwrap();
        assert_eq!(again.keyed_from, 5);
        assert_eq!(audit.seal(b"x"), again.seal(b"x"));
        assert_ne!(audit.seal(b"x"), audit.seal(b"y"));
        assert_eq!(audit.term(" Ann Lee"), again.term("ann lee"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&keys), 0o700);
            assert_eq!(mode(&keys.join(CARD_KEY)), 0o600);
            assert_eq!(mode(&keys.join(AUDIT_KEY)), 0o600);
        }
        std::fs::write(keys.join(CARD_KEY), "zz").unwrap();
        let err = card_key(&keys, None, true).unwrap_err().to_string();
        assert!(err.contains("card.key is damaged"), "{err}");
    }

    #[test]
    fn the_default_key_folder_is_beside_the_workspace() {
        if std::env::var_os(KEY_DIR_ENV).is_some() {
            return;
        }
        let d = key_dir(Path::new("/data/case-7"), None);
        assert_eq!(d, Path::new("/data/case-7.keys"));
        let d = key_dir(Path::new("/data/case-7"), Some(Path::new("/secure/k")));
        assert_eq!(d, Path::new("/secure/k"));
    }
}
