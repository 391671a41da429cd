//! SPIRIT's batch engine: reads sources (CSV, JSON Lines, Parquet), prepares normalised
//! attribute columns, generates candidate pairs and scores them as an Apache DataFusion
//! plan, trains the model, clusters the edges and writes the run's outputs.
//!
//! Every CLI verb that touches files is a thin call into a function of this crate.

pub mod evaluate;
pub mod input;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod settings;

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
    /// The settings file is not valid.
    #[error("settings file {}: {message}", path.display())]
    Settings { path: PathBuf, message: String },
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
