//! SPIRIT's batch engine: prepares the records read by `spirit-sources`, generates
//! candidate pairs and scores them as an Apache DataFusion plan, trains the model,
//! clusters the edges and writes the run's outputs; and the batch re-run of a whole
//! workspace ([`workspace::resolve`]), which stores its result through `spirit-store`.
//!
//! Module map: [`prepare`] (inputs read into the prepared record table; the run's
//! blocking rules), [`data`] (a run's prepared data where the plan runs, rebuilt on an
//! executor), [`pairs`] (each rule's candidate pairs as plan nodes: keys partitioned by
//! key, blocks swept), [`plan`] (the DataFusion plan and what travels to cluster executors),
//! [`pipeline`] (the file-to-file run), [`workspace`] (the store's batch re-run),
//! [`evaluate`] (reading clusters, truth and candidates for evaluation), [`report`]
//! (text renderings).

pub mod data;
pub mod evaluate;
pub mod pairs;
pub mod pipeline;
pub mod plan;
pub mod prepare;
pub mod report;
pub mod shard;
pub mod workspace;

use std::path::PathBuf;

/// Everything that can go wrong in the engine, each variant naming where.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A source or the settings file could not be read.
    #[error(transparent)]
    Source(#[from] spirit_sources::SourceError),
    /// The workspace refused or failed an operation.
    #[error(transparent)]
    Store(#[from] spirit_store::StoreError),
    /// An input file is unusable as a whole (unknown format, missing column, no header…).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Input {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    /// A command-line or library argument is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The query engine failed.
    #[error("query engine: {0}")]
    Plan(String),
    /// A model file could not be used.
    #[error("model {}: {message}", path.display())]
    Model { path: PathBuf, message: String },
}

impl EngineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}
