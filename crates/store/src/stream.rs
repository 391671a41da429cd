//! `spirit add`: a stream of records (JSON Lines, or CSV with a header) resolved as
//! they arrive, with group commit.
//!
//! A reader thread parses lines into records while the resolver works; the resolver
//! takes every record waiting (up to [`StreamOptions::max_batch`]) as one batch, stores
//! and resolves it in one transaction, commits, and only then writes one
//! acknowledgement line `record_id,entity_id` per record. A trickle of records is
//! committed one by one with low latency; a flood is committed in large batches for
//! throughput. An acknowledged record is durable; a record not yet acknowledged when
//! the process dies was never committed and can be sent again (storing it twice is a
//! no-op).

use std::io::{BufRead, Write};
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::time::Instant;

use serde::Serialize;
pub use spirit_sources::StreamFormat;
use spirit_sources::{RowMapper, read_rows};

use crate::incremental::{AddTotals, Resolver};
use crate::ingest::{Incoming, Normaliser};
use crate::{StoreError, Workspace, entity_label};

/// How a stream is added.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    pub source: String,
    pub format: StreamFormat,
    pub id_column: Option<String>,
    /// Most records committed in one transaction.
    pub max_batch: usize,
    /// Names the stream in messages and provenance.
    pub origin: String,
}

impl StreamOptions {
    pub fn new(source: &str) -> StreamOptions {
        StreamOptions {
            source: source.to_string(),
            format: StreamFormat::JsonLines,
            id_column: None,
            max_batch: 1024,
            origin: "<stdin>".into(),
        }
    }
}

/// Totals of a stream, with the latency of each record from arrival to acknowledgement.
#[derive(Clone, Debug, Serialize)]
pub struct StreamReport {
    pub totals: AddTotals,
    /// Lines that could not be read as records.
    pub unreadable: u64,
    pub seconds: f64,
    /// Per-record latency percentiles (arrival to acknowledgement), in milliseconds;
    /// under a flood this includes waiting behind earlier records.
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    /// Transactions committed.
    pub batches: u64,
    /// Time to resolve and commit one batch (store, block, score, cluster, commit),
    /// percentiles in milliseconds: with `--batch 1`, the latency of one resolution.
    pub batch_ms_p50: f64,
    pub batch_ms_p99: f64,
}

/// One parsed item of the stream.
enum Item {
    Record(Box<Incoming>, Instant),
    /// A line that is not a usable record: the message names the line.
    Bad(String),
}

/// Adds every record of `input` to the workspace; acknowledgements go to `acks`, and
/// problems with single lines (unreadable, conflicting) go to `problems`.
pub fn add_stream<R, W, P>(
    ws: &mut Workspace,
    input: R,
    acks: &mut W,
    problems: &mut P,
    options: &StreamOptions,
) -> Result<StreamReport, StoreError>
where
    R: BufRead + Send + 'static,
    W: Write,
    P: Write,
{
    if options.source.trim().is_empty() || options.source.contains(':') {
        return Err(StoreError::Invalid(format!(
            "source name {:?} must be non-empty and without ':'",
            options.source
        )));
    }
    ws.require_write()?;
    let card_key = ws.card_key()?;
    let mut resolver = Resolver::new(ws)?;
    let settings = resolver.settings().clone();
    let (tx, rx) = sync_channel::<Item>(options.max_batch.max(1) * 4);
    let reader_options = options.clone();
    let reader =
        std::thread::spawn(move || read_items(input, &settings, card_key, &reader_options, tx));
    let start = Instant::now();
    let mut latencies: Vec<f64> = Vec::new();
    let mut batch_times: Vec<f64> = Vec::new();
    let mut unreadable = 0u64;
    let io = |e: std::io::Error| StoreError::io("<output>", e);
    while let Some(batch) = next_batch(&rx, options.max_batch.max(1)) {
        let mut records = Vec::with_capacity(batch.len());
        let mut arrived = Vec::with_capacity(batch.len());
        for item in batch {
            match item {
                Item::Record(r, at) => {
                    records.push(*r);
                    arrived.push(at);
                }
                Item::Bad(message) => {
                    unreadable += 1;
                    writeln!(problems, "{message}").map_err(io)?;
                }
            }
        }
        if records.is_empty() {
            continue;
        }
        let began = Instant::now();
        let outcomes = resolver.add_batch(&records)?;
        batch_times.push(began.elapsed().as_secs_f64() * 1000.0);
        for ((outcome, rec), at) in outcomes.iter().zip(&records).zip(&arrived) {
            match &outcome.entity {
                Ok(e) => {
                    writeln!(acks, "{},{}", outcome.record_id, entity_label(*e)).map_err(io)?
                }
                Err(message) => writeln!(problems, "{}: {message}", rec.provenance).map_err(io)?,
            }
            latencies.push(at.elapsed().as_secs_f64() * 1000.0);
        }
        acks.flush().map_err(io)?;
    }
    // The reader only fails by panicking; its errors travel as items.
    let _ = reader.join();
    let totals = resolver.finish()?;
    latencies.sort_by(f64::total_cmp);
    batch_times.sort_by(f64::total_cmp);
    Ok(StreamReport {
        totals,
        unreadable,
        seconds: start.elapsed().as_secs_f64(),
        latency_ms_p50: percentile(&latencies, 0.50),
        latency_ms_p99: percentile(&latencies, 0.99),
        latency_ms_max: latencies.last().copied().unwrap_or(0.0),
        batches: batch_times.len() as u64,
        batch_ms_p50: percentile(&batch_times, 0.50),
        batch_ms_p99: percentile(&batch_times, 0.99),
    })
}

/// The `p` quantile (nearest rank) of sorted values; 0 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Blocks for the first item, then takes whatever else is already waiting.
fn next_batch(rx: &Receiver<Item>, max: usize) -> Option<Vec<Item>> {
    let first = rx.recv().ok()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// Parses the stream into items until it ends or the resolver goes away.
fn read_items<R: BufRead>(
    input: R,
    settings: &spirit_matching::Settings,
    card_key: [u8; 32],
    options: &StreamOptions,
    tx: std::sync::mpsc::SyncSender<Item>,
) {
    // Normalising here keeps it off the resolver's thread.
    let normaliser = Normaliser::new(settings, card_key);
    let mut mapper = RowMapper::new(
        &settings.input,
        options.id_column.as_deref(),
        std::path::Path::new(&options.origin),
    );
    let origin = &options.origin;
    let mut make = |line: u64, fields: Vec<(String, String)>, payload: String| -> Item {
        match mapper.map(&fields) {
            // Fields are compared as a batch run's profile decides: a record streamed in
            // needs a built-in kind to be linked on arrival.
            Ok(row)
                if !row.values.is_empty()
                    && row.values.iter().all(|(k, _)| k.field().is_some()) =>
            {
                let fields: Vec<&str> = row.values.iter().map(|(k, _)| k.name()).collect();
                Item::Bad(format!(
                    "{origin}:{line}: no column SPIRIT can compare on arrival (only {}); name \
                     the columns' kinds in the settings' [input.columns]",
                    fields.join(", ")
                ))
            }
            Ok(row) => match row.id {
                Some(id) => Item::Record(
                    Box::new(Incoming {
                        source: options.source.clone(),
                        record_id: id,
                        payload,
                        provenance: format!("{origin}:{line}"),
                        normalised: Some(normaliser.normalise(&row.values)),
                        values: row.values,
                    }),
                    Instant::now(),
                ),
                None => Item::Bad(format!(
                    "{origin}:{line}: no record id (name the id column with --id-column)"
                )),
            },
            Err(e) => Item::Bad(format!("{origin}:{line}: {e}")),
        }
    };
    read_rows(input, options.format, |row| {
        let item = match row {
            Ok(row) => make(row.line, row.fields, row.payload),
            Err(e) => Item::Bad(format!("{origin}:{}: {}", e.line, e.message)),
        };
        tx.send(item).is_ok()
    });
}
