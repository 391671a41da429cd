//! A run's prepared data where the plan runs: present where the run was prepared (the
//! client, the embedded path), rebuilt from its [`DataSpec`] on first use elsewhere (a
//! cluster executor), and checked to be the client's table by a fingerprint.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use spirit_matching::blocking::BlockKeys;
use spirit_matching::settings::Settings;
use spirit_matching::{CardKey, RecordTable};
use spirit_model::RecordKey;

use crate::EngineError;

/// Where a run's prepared data comes from, so that an executor on another machine can
/// rebuild it: the inputs (absolute paths every executor can read), the settings, the id
/// column and the run's payment-card key (so executors hash cards as the client did; its
/// `Debug` form hides it), with the record count and a fingerprint of the table the
/// client prepared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// SPIRIT's version: every node must run the same kernels.
    pub version: String,
    pub inputs: Vec<PathBuf>,
    pub settings: Settings,
    pub id_column: Option<String>,
    pub card_key: CardKey,
    pub records: u32,
    pub fingerprint: u64,
}

/// The prepared table and its block keys.
pub struct Prepared {
    pub table: Arc<RecordTable>,
    pub keys: Arc<BlockKeys>,
}

/// A run's prepared data: present where the run was prepared (the client, the embedded
/// path), rebuilt from its [`DataSpec`] on first use elsewhere (an executor).
pub struct DataHandle {
    spec: Option<DataSpec>,
    data: OnceLock<Arc<Prepared>>,
}

impl std::fmt::Debug for DataHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataHandle")
            .field("records", &self.spec.as_ref().map(|s| s.records))
            .field("ready", &self.data.get().is_some())
            .finish()
    }
}

/// Prepared tables this process rebuilt from specs, newest last (an executor serves
/// one run's training and scoring jobs from one preparation).
static REBUILT: Mutex<Vec<(DataSpec, Arc<Prepared>)>> = Mutex::new(Vec::new());
const REBUILT_KEPT: usize = 2;

impl DataHandle {
    /// Data prepared in this process; `spec` says how to rebuild it elsewhere.
    pub fn ready(
        table: Arc<RecordTable>,
        keys: Arc<BlockKeys>,
        spec: Option<DataSpec>,
    ) -> Arc<DataHandle> {
        let data = OnceLock::new();
        let _ = data.set(Arc::new(Prepared { table, keys }));
        Arc::new(DataHandle { spec, data })
    }

    /// Data to rebuild from `spec` when first used.
    pub fn from_spec(spec: DataSpec) -> Arc<DataHandle> {
        Arc::new(DataHandle {
            spec: Some(spec),
            data: OnceLock::new(),
        })
    }

    /// How to rebuild the data, if it can be.
    pub fn spec(&self) -> Option<&DataSpec> {
        self.spec.as_ref()
    }

    /// The prepared data, rebuilt from the spec (once per process) if needed.
    pub fn get(&self) -> Result<Arc<Prepared>, EngineError> {
        if let Some(d) = self.data.get() {
            return Ok(d.clone());
        }
        let spec = self
            .spec
            .as_ref()
            .ok_or_else(|| EngineError::Plan("a key table without data or spec".into()))?;
        let mut rebuilt = REBUILT.lock().unwrap_or_else(|e| e.into_inner());
        let found = rebuilt
            .iter()
            .find(|(s, _)| s == spec)
            .map(|(_, p)| p.clone());
        let prepared = match found {
            Some(p) => p,
            None => {
                let p = Arc::new(rebuild(spec)?);
                rebuilt.push((spec.clone(), p.clone()));
                let excess = rebuilt.len().saturating_sub(REBUILT_KEPT);
                rebuilt.drain(..excess);
                p
            }
        };
        let _ = self.data.set(prepared.clone());
        Ok(prepared)
    }
}

/// Rebuilds a run's prepared table from its spec, with the same code the client ran,
/// and refuses a table that is not the client's.
fn rebuild(spec: &DataSpec) -> Result<Prepared, EngineError> {
    let here = env!("CARGO_PKG_VERSION");
    if spec.version != here {
        return Err(EngineError::Plan(format!(
            "the client runs SPIRIT {} and this executor SPIRIT {here}; every node must run the same version",
            spec.version
        )));
    }
    let loaded = crate::prepare::load(
        &spec.inputs,
        &spec.settings,
        spec.id_column.as_deref(),
        spec.card_key,
        &spirit_model::NoProgress,
    )?;
    let rules = crate::prepare::blocking_rules(&spec.settings, &loaded.table)?;
    let keys = BlockKeys::compute(&loaded.table, rules, spec.settings.resolve.max_block_size);
    let fp = fingerprint(&loaded.keys, &loaded.table, &keys);
    if loaded.table.len != spec.records || fp != spec.fingerprint {
        let inputs: Vec<String> = spec
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(EngineError::Plan(format!(
            "this executor read {} records from {} but the client prepared {} (or their content differs): \
             every executor must read the same files at the same paths as the client",
            loaded.table.len,
            inputs.join(", "),
            spec.records
        )));
    }
    Ok(Prepared {
        table: Arc::new(loaded.table),
        keys: Arc::new(keys),
    })
}

/// A fingerprint of a prepared table: its record keys, sources and every rule's block
/// keys (which derive from the normalised values). Stable within one SPIRIT build.
pub fn fingerprint(record_keys: &[RecordKey], table: &RecordTable, keys: &BlockKeys) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    table.len.hash(&mut h);
    for k in record_keys {
        k.source.hash(&mut h);
        k.record_id.hash(&mut h);
    }
    table.sources.hash(&mut h);
    for rule in &keys.keys {
        rule.hash(&mut h);
    }
    h.finish()
}
