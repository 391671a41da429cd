//! A run's prepared data where the plan runs: the whole table where the run was
//! prepared (the client, the embedded path); elsewhere (a cluster executor) a file of
//! prepared records on a shared folder, of which each task reads only what it needs
//! (the `shard` module), checked to be the client's by a fingerprint.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use spirit_matching::RecordTable;
use spirit_matching::blocking::BlockKeys;
use spirit_model::RecordKey;

use crate::EngineError;

/// Where an executor finds a run's prepared records: the file the client wrote (an
/// absolute path every executor can read), the record count and the fingerprint of the
/// client's table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// SPIRIT's version: every node must run the same kernels.
    pub version: String,
    pub records: u32,
    pub fingerprint: u64,
    /// The file of prepared records the client wrote.
    pub shared: PathBuf,
}

/// The prepared table and its block keys.
pub struct Prepared {
    pub table: Arc<RecordTable>,
    pub keys: Arc<BlockKeys>,
}

/// A run's prepared data: the whole table where the run was prepared, or the spec of
/// its shared file elsewhere (an executor).
pub struct DataHandle {
    spec: Option<DataSpec>,
    data: OnceLock<Arc<Prepared>>,
}

impl std::fmt::Debug for DataHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataHandle")
            .field("records", &self.spec.as_ref().map(|s| s.records))
            .field("whole", &self.data.get().is_some())
            .finish()
    }
}

impl DataHandle {
    /// Data prepared in this process; `spec` says where executors find it.
    pub fn ready(
        table: Arc<RecordTable>,
        keys: Arc<BlockKeys>,
        spec: Option<DataSpec>,
    ) -> Arc<DataHandle> {
        let data = OnceLock::new();
        let _ = data.set(Arc::new(Prepared { table, keys }));
        Arc::new(DataHandle { spec, data })
    }

    /// Data an executor reads from the shared file `spec` names.
    pub fn from_spec(spec: DataSpec) -> Arc<DataHandle> {
        Arc::new(DataHandle {
            spec: Some(spec),
            data: OnceLock::new(),
        })
    }

    /// Where executors find the data, if they can.
    pub fn spec(&self) -> Option<&DataSpec> {
        self.spec.as_ref()
    }

    /// The whole prepared table, where this process holds it.
    pub fn whole(&self) -> Option<Arc<Prepared>> {
        self.data.get().cloned()
    }

    /// The number of records of the run.
    pub fn records(&self) -> u32 {
        match (self.data.get(), &self.spec) {
            (Some(d), _) => d.table.len,
            (None, Some(s)) => s.records,
            (None, None) => 0,
        }
    }

    /// The spec, where this process does not hold the table; checked to come from this
    /// SPIRIT version.
    pub(crate) fn shared(&self) -> Result<&DataSpec, EngineError> {
        let spec = self
            .spec
            .as_ref()
            .ok_or_else(|| EngineError::Plan("a plan node without data or spec".into()))?;
        let here = env!("CARGO_PKG_VERSION");
        if spec.version != here {
            return Err(EngineError::Plan(format!(
                "the client runs SPIRIT {} and this executor SPIRIT {here}; every node must run the same version",
                spec.version
            )));
        }
        Ok(spec)
    }
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
