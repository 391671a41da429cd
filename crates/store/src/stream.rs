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

use crate::incremental::{AddOutcome, AddTotals, Parked, Resolver};
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
    check_source(options)?;
    ws.require_write()?;
    let card_key = ws.card_key()?;
    let mut resolver = Resolver::new(ws)?;
    let settings = resolver.settings().clone();
    let pumped = pump(
        input,
        &settings,
        card_key,
        acks,
        problems,
        options,
        |batch| resolver.add_batch(batch),
    )?;
    let totals = resolver.finish()?;
    Ok(pumped.report(totals))
}

/// Lends a workspace opened for writing to `work` for as long as it runs, then closes
/// it: the server's writer lock is held by one call only.
pub type Lend<'a> = dyn FnMut(&mut dyn FnMut(&mut Workspace) -> Result<(), StoreError>) -> Result<(), StoreError>
    + 'a;

/// [`add_stream`] that holds the workspace for one batch at a time, through `lend`:
/// between two batches other writers (a judgement, another upload) get their turn, and
/// the resolver keeps its resident index ([`crate::incremental::Parked`]), loading it
/// again only when another writer added or erased records meanwhile.
pub fn add_stream_lent<R, W, P>(
    lend: &mut Lend<'_>,
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
    check_source(options)?;
    let mut parked: Option<Parked> = None;
    let mut card_key = [0u8; 32];
    lend(&mut |ws| {
        card_key = ws.card_key()?;
        parked = Some(Resolver::new(ws)?.park()?);
        Ok(())
    })?;
    let gone = || StoreError::Invalid("the resolver was lost after a failed batch".into());
    let settings = parked.as_ref().ok_or_else(gone)?.settings().clone();
    let pumped = pump(
        input,
        &settings,
        card_key,
        acks,
        problems,
        options,
        |batch| {
            let mut outcomes = None;
            lend(&mut |ws| {
                let mut resolver = parked.take().ok_or_else(gone)?.resume(ws)?;
                let added = resolver.add_batch(batch);
                parked = Some(resolver.park()?);
                outcomes = Some(added?);
                Ok(())
            })?;
            outcomes.ok_or_else(gone)
        },
    )?;
    let mut totals = None;
    lend(&mut |ws| {
        totals = Some(parked.take().ok_or_else(gone)?.resume(ws)?.finish()?);
        Ok(())
    })?;
    Ok(pumped.report(totals.ok_or_else(gone)?))
}

fn check_source(options: &StreamOptions) -> Result<(), StoreError> {
    if options.source.trim().is_empty() || options.source.contains(':') {
        return Err(StoreError::Invalid(format!(
            "source name {:?} must be non-empty and without ':'",
            options.source
        )));
    }
    Ok(())
}

/// What [`pump`] measured, before the resolver's totals are known.
struct Pumped {
    started: Instant,
    unreadable: u64,
    latencies: Vec<f64>,
    batch_times: Vec<f64>,
}

impl Pumped {
    fn report(mut self, totals: AddTotals) -> StreamReport {
        self.latencies.sort_by(f64::total_cmp);
        self.batch_times.sort_by(f64::total_cmp);
        StreamReport {
            totals,
            unreadable: self.unreadable,
            seconds: self.started.elapsed().as_secs_f64(),
            latency_ms_p50: percentile(&self.latencies, 0.50),
            latency_ms_p99: percentile(&self.latencies, 0.99),
            latency_ms_max: self.latencies.last().copied().unwrap_or(0.0),
            batches: self.batch_times.len() as u64,
            batch_ms_p50: percentile(&self.batch_times, 0.50),
            batch_ms_p99: percentile(&self.batch_times, 0.99),
        }
    }
}

/// Reads `input` on a thread of its own and hands the records to `add` in batches, as
/// they arrive; writes an acknowledgement per record added and a line per problem.
fn pump<R, W, P>(
    input: R,
    settings: &spirit_matching::Settings,
    card_key: [u8; 32],
    acks: &mut W,
    problems: &mut P,
    options: &StreamOptions,
    mut add: impl FnMut(&[Incoming]) -> Result<Vec<AddOutcome>, StoreError>,
) -> Result<Pumped, StoreError>
where
    R: BufRead + Send + 'static,
    W: Write,
    P: Write,
{
    let (tx, rx) = sync_channel::<Item>(options.max_batch.max(1) * 4);
    let reader_options = options.clone();
    let reader_settings = settings.clone();
    let reader = std::thread::spawn(move || {
        read_items(input, &reader_settings, card_key, &reader_options, tx)
    });
    let mut pumped = Pumped {
        started: Instant::now(),
        unreadable: 0,
        latencies: Vec::new(),
        batch_times: Vec::new(),
    };
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
                    pumped.unreadable += 1;
                    writeln!(problems, "{message}").map_err(io)?;
                }
            }
        }
        if records.is_empty() {
            continue;
        }
        let began = Instant::now();
        let outcomes = add(&records)?;
        pumped
            .batch_times
            .push(began.elapsed().as_secs_f64() * 1000.0);
        for ((outcome, rec), at) in outcomes.iter().zip(&records).zip(&arrived) {
            match &outcome.entity {
                Ok(e) => {
                    writeln!(acks, "{},{}", outcome.record_id, entity_label(*e)).map_err(io)?
                }
                Err(message) => writeln!(problems, "{}: {message}", rec.provenance).map_err(io)?,
            }
            pumped.latencies.push(at.elapsed().as_secs_f64() * 1000.0);
        }
        acks.flush().map_err(io)?;
    }
    // The reader only fails by panicking; its errors travel as items.
    let _ = reader.join();
    Ok(pumped)
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
