//! `spirit evaluate`: reads the clusters written by `spirit resolve`, a ground truth and,
//! optionally, the candidate pairs, and measures the clustering (and the blocking) with
//! [`spirit_matching::eval`].
//!
//! The principal function is [`evaluate_files`]. The truth file is recognised from its
//! header: matching *pairs* (`id_a,id_b`, `left,right`, …) or *clusters* (a record id column
//! and a cluster column such as `cluster_id`; other columns are ignored, so a synthetic
//! people file with its `cluster_id` column serves as its own truth).

use std::fmt;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::Serialize;
use spirit_matching::eval::{self, EvalReport, Prf, Scope};

use crate::EngineError;

/// How to evaluate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvaluateOptions {
    /// Which record pairs count in the pairwise and blocking measures.
    pub scope: Scope,
}

/// The measures, and what could not be matched between the files.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluateResult {
    /// Every measure; `blocking_recall` is set when candidates were given.
    pub report: EvalReport,
    /// Distinct truth records that clusters.csv does not contain. Cluster truth drops
    /// them; pair truth keeps their pairs as missed true pairs (false negatives, counted
    /// whatever the scope, as their source is unknown).
    pub missing_from_clusters: u64,
    /// Candidate keys naming no record of clusters.csv; their pairs are ignored.
    pub unknown_candidates: u64,
    /// How the truth file was read: `"pairs"` or `"clusters"`.
    pub truth_kind: &'static str,
}

/// Evaluates `clusters` (CSV `source,record_id,entity_id`, as written by `spirit resolve`)
/// against `truth`, and blocking against `candidates` (CSV `left,right` of
/// `source:record_id` keys, as written by `spirit resolve --keep-candidates`) when given.
///
/// Truth is either
/// - **pairs**: columns named like `id_a,id_b`, `left,right`, `id1,id2`, `a,b`,
///   `record_id_l,record_id_r` (or any two-column file without a cluster column);
/// - **clusters**: a record id column (`rec_id`, `record_id`, `id`, …) and a cluster column
///   (`cluster_id`, `cluster`, `entity_id`, `true_id`, `person_id`, `match_id`); an optional
///   `source` column qualifies the ids; other columns are ignored.
///
/// Truth ids are matched to clusters.csv by `source` and `record_id` when the truth has a
/// source column, else by `record_id` alone (a value written `source:record_id` also
/// works). A bare record id present in two sources of clusters.csv is ambiguous and an
/// error. Records of clusters.csv absent from cluster truth are true singletons.
///
/// # Errors
/// [`EngineError::Io`] when a file cannot be read; [`EngineError::Input`] naming the file
/// (and line) for a missing header, a malformed row, a record listed twice, or an
/// ambiguous id.
pub fn evaluate_files(
    clusters: &Path,
    truth: &Path,
    candidates: Option<&Path>,
    options: &EvaluateOptions,
) -> Result<EvaluateResult, EngineError> {
    let scope = options.scope;
    let mut table = ClusterTable::read(clusters)?;
    let mut rdr = open_csv(truth)?;
    let header = read_header(&mut rdr, truth)?;
    let kind = TruthKind::detect(&header).map_err(|message| input(truth, Some(1), message))?;
    let needs_bare_ids = !matches!(
        kind,
        TruthKind::Clusters {
            source: Some(_),
            ..
        }
    );
    if needs_bare_ids {
        table.index_bare_ids();
    }
    let n = table.predicted.len();
    let truth_data = match kind {
        TruthKind::Clusters {
            id,
            cluster,
            source,
        } => {
            let (labels, missing) =
                read_truth_clusters(&mut rdr, truth, &table, id, cluster, source)?;
            Truth::Clusters { labels, missing }
        }
        TruthKind::Pairs { left, right } => {
            let (pairs, missing) = read_truth_pairs(&mut rdr, truth, &table, left, right)?;
            let (known, beyond): (Vec<_>, Vec<_>) = pairs
                .into_iter()
                .partition(|&(a, b)| (a as usize) < n && (b as usize) < n);
            Truth::Pairs {
                known,
                missed: distinct_pair_count(beyond),
                missing,
            }
        }
    };
    let (candidates, unknown_candidates) = match candidates {
        Some(path) => {
            let (pairs, unknown) = read_candidates(path, &table)?;
            (Some(pairs), unknown)
        }
        None => (None, 0),
    };
    let sources = table.sources();
    let result = match truth_data {
        Truth::Clusters { labels, missing } => {
            let mut report = eval::evaluate_clusters(sources, &table.predicted, &labels, scope);
            report.blocking_recall = candidates
                .map(|pairs| eval::blocking_recall_clusters(&labels, sources, &pairs, scope));
            EvaluateResult {
                report,
                missing_from_clusters: missing,
                unknown_candidates,
                truth_kind: "clusters",
            }
        }
        Truth::Pairs {
            known,
            missed,
            missing,
        } => {
            // Pairs naming records absent from clusters.csv are true pairs never found.
            let with_missed =
                |m: Prf| Prf::from_counts(m.true_positives, m.predicted, m.actual + missed);
            let mut report = eval::evaluate_pairs(sources, &table.predicted, &known, scope);
            report.pairwise = with_missed(report.pairwise);
            report.blocking_recall = candidates.map(|pairs| {
                with_missed(eval::blocking_recall_pairs(&known, sources, &pairs, scope))
            });
            EvaluateResult {
                report,
                missing_from_clusters: missing,
                unknown_candidates,
                truth_kind: "pairs",
            }
        }
    };
    Ok(result)
}

/// The truth as read: labels per record, or pairs of records plus the number of distinct
/// true pairs naming records absent from clusters.csv.
enum Truth {
    Clusters {
        labels: Vec<u32>,
        missing: u64,
    },
    Pairs {
        known: Vec<(u32, u32)>,
        missed: u64,
        missing: u64,
    },
}

impl fmt::Display for EvaluateResult {
    /// The truth kind and anything unmatched, then the report's table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "truth: {}", self.truth_kind)?;
        if self.missing_from_clusters > 0 {
            let fate = if self.truth_kind == "pairs" {
                "their pairs count as missed"
            } else {
                "dropped"
            };
            write!(
                f,
                "; {} truth records not in clusters.csv ({fate})",
                self.missing_from_clusters
            )?;
        }
        if self.unknown_candidates > 0 {
            write!(
                f,
                "; {} candidate keys not in clusters.csv (ignored)",
                self.unknown_candidates
            )?;
        }
        write!(f, "\n{}", self.report)
    }
}

/// The predicted clustering read from clusters.csv, with indexes from ids to records.
struct ClusterTable {
    source_names: Vec<String>,
    source_index: FxHashMap<String, u32>,
    /// Record ids scoped by source; the interned index is the record index.
    records: Interner,
    /// Bare record ids (scope 0) and the record each names, or [`AMBIGUOUS`] when the id is
    /// in several sources; built on demand when there are several sources.
    bare: Option<(Interner, Vec<u32>)>,
    /// Source per record.
    sources: Vec<u32>,
    /// Entity label per record.
    predicted: Vec<u32>,
}

const AMBIGUOUS: u32 = u32::MAX;

/// The outcome of looking a truth id up in clusters.csv.
enum Lookup {
    Found(u32),
    Missing,
    /// The id is in these two (or more) sources.
    Ambiguous(String, String),
}

impl ClusterTable {
    const HEADER: &'static str = "source,record_id,entity_id";

    fn read(path: &Path) -> Result<ClusterTable, EngineError> {
        let mut rdr = open_csv(path)?;
        let header = read_header(&mut rdr, path)?;
        let position = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(si), Some(ri), Some(ei)) = (
            position("source"),
            position("record_id"),
            position("entity_id"),
        ) else {
            return Err(input(
                path,
                Some(1),
                format!(
                    "not a clusters file: expected a header {}, found `{}`",
                    ClusterTable::HEADER,
                    header.join(",")
                ),
            ));
        };
        let mut table = ClusterTable {
            source_names: Vec::new(),
            source_index: FxHashMap::default(),
            records: Interner::default(),
            bare: None,
            sources: Vec::new(),
            predicted: Vec::new(),
        };
        let mut entities = Interner::default();
        let mut row = csv::StringRecord::new();
        while read_row(&mut rdr, &mut row, path)? {
            let line = row_line(&row);
            // SPIRIT wrote this file: its cells may carry a `'` against formula injection.
            let cell = |i: usize| spirit_sources::cell::unsafe_back(row[i].trim());
            let (source, id, entity) = (cell(si), cell(ri), cell(ei));
            if id.is_empty() {
                return Err(input(path, line, "empty record_id".into()));
            }
            if entity.is_empty() {
                return Err(input(
                    path,
                    line,
                    format!("record `{source}:{id}` has an empty entity_id"),
                ));
            }
            let s = table.intern_source(source);
            let too_many = || input(path, line, "too many records".into());
            let (_, added) = table.records.intern(s, id).ok_or_else(too_many)?;
            if !added {
                return Err(input(
                    path,
                    line,
                    format!("record `{source}:{id}` appears more than once"),
                ));
            }
            let (label, _) = entities.intern(0, entity).ok_or_else(too_many)?;
            table.sources.push(s);
            table.predicted.push(label);
        }
        Ok(table)
    }

    /// Source per record.
    fn sources(&self) -> &[u32] {
        &self.sources
    }

    fn intern_source(&mut self, name: &str) -> u32 {
        if let Some(&s) = self.source_index.get(name) {
            return s;
        }
        let s = self.source_names.len() as u32;
        self.source_names.push(name.to_string());
        self.source_index.insert(name.to_string(), s);
        s
    }

    /// Builds the record id → record index used when ids come without a source.
    fn index_bare_ids(&mut self) {
        if self.source_names.len() <= 1 || self.bare.is_some() {
            return;
        }
        let mut ids = Interner::default();
        let mut record_of = Vec::new();
        for record in 0..self.records.len() as u32 {
            // At most as many bare ids as records, so interning cannot run out of indices.
            if let Some((i, added)) = ids.intern(0, self.records.text(record)) {
                if added {
                    record_of.push(record);
                } else {
                    record_of[i as usize] = AMBIGUOUS;
                }
            }
        }
        self.bare = Some((ids, record_of));
    }

    /// A record by source name and record id.
    fn by_key(&self, source: &str, id: &str) -> Option<u32> {
        let &s = self.source_index.get(source)?;
        self.records.get(s, id)
    }

    /// A record by a `source:record_id` key (either part may itself contain `:`).
    fn by_qualified(&self, key: &str) -> Option<u32> {
        key.match_indices(':')
            .find_map(|(at, _)| self.by_key(&key[..at], &key[at + 1..]))
    }

    /// A record by its bare record id (needs [`ClusterTable::index_bare_ids`]).
    fn by_bare(&self, id: &str) -> Lookup {
        let found = match (&self.bare, self.source_names.len()) {
            (Some((ids, record_of)), _) => ids.get(0, id).map(|i| record_of[i as usize]),
            (None, 1) => self.records.get(0, id),
            (None, _) => None,
        };
        match found {
            None => Lookup::Missing,
            Some(AMBIGUOUS) => {
                let mut holders = (0..self.source_names.len() as u32)
                    .filter(|&s| self.records.get(s, id).is_some())
                    .map(|s| self.source_names[s as usize].clone());
                let first = holders.next().unwrap_or_default();
                Lookup::Ambiguous(first, holders.next().unwrap_or_default())
            }
            Some(record) => Lookup::Found(record),
        }
    }

    /// A truth id: by source when given; else by bare id, then as a `source:record_id` key.
    fn resolve(
        &self,
        id: &str,
        source: Option<&str>,
        path: &Path,
        line: Option<u64>,
    ) -> Result<Option<u32>, EngineError> {
        if let Some(source) = source {
            return Ok(self.by_key(source, id));
        }
        match self.by_bare(id) {
            Lookup::Found(record) => Ok(Some(record)),
            Lookup::Missing => Ok(self.by_qualified(id)),
            Lookup::Ambiguous(a, b) => Err(input(
                path,
                line,
                format!(
                    "record id `{id}` is in sources `{a}` and `{b}` of the clusters file, so it is \
                     ambiguous; add a `source` column to the truth file or write ids as source:record_id"
                ),
            )),
        }
    }
}

/// Strings kept end to end in one buffer and found by their hash, so a million ids cost a
/// few allocations rather than a million. Every entry has a scope (the source of a record
/// id; 0 otherwise) that is part of its key; entries are numbered densely in insertion
/// order.
#[derive(Default)]
struct Interner {
    text: String,
    /// Per entry: where its text ends in `text`, and its scope (adjacent, so checking an
    /// entry touches one cache line).
    entries: Vec<(usize, u32)>,
    /// Hash of (scope, text) → the first entry with that hash.
    by_hash: FxHashMap<u64, u32>,
    /// Entries whose hash an earlier, different entry already holds (rare).
    collided: FxHashMap<(u32, Box<str>), u32>,
}

impl Interner {
    fn hash(scope: u32, text: &str) -> u64 {
        let mut hasher = FxHasher::default();
        scope.hash(&mut hasher);
        text.hash(&mut hasher);
        hasher.finish()
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn text(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.entries[i - 1].0 };
        &self.text[start..self.entries[i].0]
    }

    fn scope(&self, i: u32) -> u32 {
        self.entries[i as usize].1
    }

    fn is(&self, i: u32, scope: u32, text: &str) -> bool {
        self.scope(i) == scope && self.text(i) == text
    }

    fn get(&self, scope: u32, text: &str) -> Option<u32> {
        let &first = self.by_hash.get(&Interner::hash(scope, text))?;
        if self.is(first, scope, text) {
            Some(first)
        } else {
            self.collided.get(&(scope, Box::from(text))).copied()
        }
    }

    /// The entry of (scope, text), added when new (then the flag is true); `None` when
    /// the entry would need an index beyond `u32::MAX - 1`.
    fn intern(&mut self, scope: u32, text: &str) -> Option<(u32, bool)> {
        let hash = Interner::hash(scope, text);
        let first = self.by_hash.get(&hash).copied();
        if let Some(first) = first {
            if self.is(first, scope, text) {
                return Some((first, false));
            }
            if let Some(&i) = self.collided.get(&(scope, Box::from(text))) {
                return Some((i, false));
            }
        }
        let next = u32::try_from(self.len()).ok().filter(|&i| i != AMBIGUOUS)?;
        if first.is_some() {
            self.collided.insert((scope, text.into()), next);
        } else {
            self.by_hash.insert(hash, next);
        }
        self.text.push_str(text);
        self.entries.push((self.text.len(), scope));
        Some((next, true))
    }
}

/// The layout of a truth file, as column positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TruthKind {
    Pairs {
        left: usize,
        right: usize,
    },
    Clusters {
        id: usize,
        cluster: usize,
        source: Option<usize>,
    },
}

/// Cluster column names, most specific first (compared without case or punctuation).
const CLUSTER_COLUMNS: [&str; 6] = spirit_model::TRUTH_COLUMNS;

/// Pair column names (compared without case or punctuation).
const PAIR_COLUMNS: [(&str, &str); 15] = [
    ("ida", "idb"),
    ("id1", "id2"),
    ("idl", "idr"),
    ("idleft", "idright"),
    ("leftid", "rightid"),
    ("left", "right"),
    ("a", "b"),
    ("recida", "recidb"),
    ("recid1", "recid2"),
    ("recidl", "recidr"),
    ("recordida", "recordidb"),
    ("recordid1", "recordid2"),
    ("recordidl", "recordidr"),
    ("recordidleft", "recordidright"),
    ("uniqueidl", "uniqueidr"),
];

impl TruthKind {
    fn detect(header: &[String]) -> Result<TruthKind, String> {
        let keys: Vec<String> = header.iter().map(|h| spirit_model::header_key(h)).collect();
        let find = |name: &str| keys.iter().position(|k| k == name);
        let cluster = CLUSTER_COLUMNS.iter().find_map(|name| find(name));
        if let Some(cluster) = cluster {
            let id = find("recordid")
                .or_else(|| find("recid"))
                .filter(|&i| i != cluster)
                .or_else(|| {
                    (0..header.len())
                        .find(|&i| i != cluster && spirit_model::is_id_column(&header[i]))
                });
            let source = find("source").or_else(|| find("sourcename"));
            return match id {
                Some(id) => Ok(TruthKind::Clusters {
                    id,
                    cluster,
                    source,
                }),
                None => Err(format!(
                    "the truth has a cluster column `{}` but no record id column (such as rec_id or record_id)",
                    header[cluster]
                )),
            };
        }
        if let Some((left, right)) = PAIR_COLUMNS
            .iter()
            .find_map(|(l, r)| Some((find(l)?, find(r)?)))
        {
            return Ok(TruthKind::Pairs { left, right });
        }
        if header.len() == 2 {
            return Ok(TruthKind::Pairs { left: 0, right: 1 });
        }
        Err(format!(
            "cannot tell pairs from clusters in the header `{}`: expected pair columns (id_a,id_b or \
             left,right) or a record id and a cluster column (rec_id,cluster_id)",
            header.join(",")
        ))
    }
}

/// Reads cluster truth: a label per record of `table` (records absent from the truth are
/// singletons) and the number of distinct truth records absent from `table`.
fn read_truth_clusters(
    rdr: &mut csv::Reader<File>,
    path: &Path,
    table: &ClusterTable,
    id_col: usize,
    cluster_col: usize,
    source_col: Option<usize>,
) -> Result<(Vec<u32>, u64), EngineError> {
    const UNSET: u32 = u32::MAX;
    let mut labels = vec![UNSET; table.predicted.len()];
    let mut clusters = Interner::default();
    let mut missing: FxHashSet<(Box<str>, Box<str>)> = FxHashSet::default();
    let mut row = csv::StringRecord::new();
    while read_row(rdr, &mut row, path)? {
        let line = row_line(&row);
        let (id, cluster) = (row[id_col].trim(), row[cluster_col].trim());
        let source = source_col.map(|c| row[c].trim());
        if id.is_empty() {
            return Err(input(path, line, "empty record id".into()));
        }
        if cluster.is_empty() {
            return Err(input(
                path,
                line,
                format!("record `{id}` has an empty cluster id"),
            ));
        }
        let Some(record) = table.resolve(id, source, path, line)? else {
            missing.insert((source.unwrap_or_default().into(), id.into()));
            continue;
        };
        let (label, _) = clusters
            .intern(0, cluster)
            .ok_or_else(|| input(path, line, "too many clusters".into()))?;
        let slot = &mut labels[record as usize];
        if *slot == UNSET {
            *slot = label;
        } else if *slot != label {
            return Err(input(
                path,
                line,
                format!(
                    "record `{id}` is listed in clusters `{}` and `{cluster}`",
                    clusters.text(*slot)
                ),
            ));
        }
    }
    let singletons = labels.iter_mut().filter(|l| **l == UNSET);
    for (slot, label) in singletons.zip(clusters.len() as u32..) {
        *slot = label;
    }
    Ok((labels, missing.len() as u64))
}

/// Reads pair truth: record pairs, where a record absent from `table` gets an index
/// `>= table.predicted.len()` (one per distinct id), and the number of such records.
fn read_truth_pairs(
    rdr: &mut csv::Reader<File>,
    path: &Path,
    table: &ClusterTable,
    left: usize,
    right: usize,
) -> Result<(Vec<(u32, u32)>, u64), EngineError> {
    let n = table.predicted.len() as u64;
    let mut missing: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut pairs = Vec::new();
    let mut row = csv::StringRecord::new();
    while read_row(rdr, &mut row, path)? {
        let line = row_line(&row);
        let mut ends = [0u32; 2];
        for (end, col) in ends.iter_mut().zip([left, right]) {
            let id = row[col].trim();
            if id.is_empty() {
                return Err(input(path, line, "empty record id in a pair".into()));
            }
            *end = match table.resolve(id, None, path, line)? {
                Some(record) => record,
                None => match missing.get(id) {
                    Some(&index) => index,
                    None => {
                        let index = u32::try_from(n + missing.len() as u64)
                            .map_err(|_| input(path, line, "too many records".into()))?;
                        missing.insert(id.into(), index);
                        index
                    }
                },
            };
        }
        pairs.push((ends[0], ends[1]));
    }
    Ok((pairs, missing.len() as u64))
}

/// Reads candidate pairs (`left,right` of `source:record_id` keys, or bare record ids
/// when unambiguous): the pairs naming known records and the number of unknown keys.
fn read_candidates(
    path: &Path,
    table: &ClusterTable,
) -> Result<(Vec<(u32, u32)>, u64), EngineError> {
    let mut rdr = open_csv(path)?;
    let header = read_header(&mut rdr, path)?;
    let keys: Vec<String> = header.iter().map(|h| spirit_model::header_key(h)).collect();
    let find = |name: &str| keys.iter().position(|k| k == name);
    let (left, right) = match (find("left"), find("right")) {
        (Some(l), Some(r)) => (l, r),
        _ if header.len() == 2 => (0, 1),
        _ => {
            return Err(input(
                path,
                Some(1),
                format!(
                    "not a candidates file: expected a header left,right, found `{}`",
                    header.join(",")
                ),
            ));
        }
    };
    let lookup = |key: &str| {
        table
            .by_qualified(key)
            .or_else(|| match table.by_bare(key) {
                Lookup::Found(record) => Some(record),
                Lookup::Missing | Lookup::Ambiguous(..) => None,
            })
    };
    let (mut pairs, mut unknown) = (Vec::new(), 0u64);
    let mut row = csv::StringRecord::new();
    while read_row(&mut rdr, &mut row, path)? {
        match (lookup(row[left].trim()), lookup(row[right].trim())) {
            (Some(a), Some(b)) => pairs.push((a, b)),
            (a, b) => unknown += u64::from(a.is_none()) + u64::from(b.is_none()),
        }
    }
    Ok((pairs, unknown))
}

/// Distinct unordered pairs with distinct ends.
fn distinct_pair_count(pairs: Vec<(u32, u32)>) -> u64 {
    let mut pairs: Vec<(u32, u32)> = pairs
        .into_iter()
        .filter(|&(a, b)| a != b)
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.len() as u64
}

fn input(path: &Path, line: Option<u64>, message: String) -> EngineError {
    EngineError::Input {
        path: path.to_path_buf(),
        line,
        message,
    }
}

fn open_csv(path: &Path) -> Result<csv::Reader<File>, EngineError> {
    let file = File::open(path).map_err(|e| EngineError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .buffer_capacity(1 << 16)
        .from_reader(file))
}

fn read_header(rdr: &mut csv::Reader<File>, path: &Path) -> Result<Vec<String>, EngineError> {
    let header = rdr.headers().map_err(|e| csv_error(path, e))?;
    if header.is_empty() {
        return Err(input(
            path,
            Some(1),
            "the file is empty: expected a header line".into(),
        ));
    }
    Ok(header.iter().map(|h| h.trim().to_string()).collect())
}

/// Reads the next row into `row`; false at the end of the file.
fn read_row(
    rdr: &mut csv::Reader<File>,
    row: &mut csv::StringRecord,
    path: &Path,
) -> Result<bool, EngineError> {
    rdr.read_record(row).map_err(|e| csv_error(path, e))
}

fn row_line(row: &csv::StringRecord) -> Option<u64> {
    row.position().map(csv::Position::line)
}

/// A CSV error as an engine error naming the file and line.
fn csv_error(path: &Path, error: csv::Error) -> EngineError {
    let line = error.position().map(csv::Position::line);
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields as in the header, found {len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8", err.field() + 1)
        }
        _ => error.to_string(),
    };
    match error.into_kind() {
        csv::ErrorKind::Io(source) => EngineError::io(path, source),
        _ => input(path, line, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_survives_hash_collisions() {
        let mut ids = Interner::default();
        assert_eq!(ids.intern(0, "a"), Some((0, true)));
        // Pretend "b" in scope 3 hashes like "a".
        ids.by_hash.insert(Interner::hash(3, "b"), 0);
        assert_eq!(ids.get(3, "b"), None);
        assert_eq!(ids.intern(3, "b"), Some((1, true)));
        assert_eq!(ids.intern(3, "b"), Some((1, false)));
        assert_eq!(
            (ids.get(3, "b"), ids.get(0, "a"), ids.get(0, "b")),
            (Some(1), Some(0), None)
        );
        assert_eq!((ids.text(0), ids.text(1), ids.scope(1)), ("a", "b", 3));
    }

    #[test]
    fn truth_layouts_are_recognised() {
        let h = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        let detect = |s: &str| TruthKind::detect(&h(s));
        assert_eq!(
            detect("id_a,id_b"),
            Ok(TruthKind::Pairs { left: 0, right: 1 })
        );
        assert_eq!(
            detect("score,Record_ID_L,record_id_r"),
            Ok(TruthKind::Pairs { left: 1, right: 2 })
        );
        assert_eq!(detect("x,y"), Ok(TruthKind::Pairs { left: 0, right: 1 }));
        assert_eq!(
            detect("rec_id,cluster_id,first_name"),
            Ok(TruthKind::Clusters {
                id: 0,
                cluster: 1,
                source: None
            })
        );
        assert_eq!(
            detect("person_id,id"),
            Ok(TruthKind::Clusters {
                id: 1,
                cluster: 0,
                source: None
            })
        );
        assert_eq!(
            detect("source,record_id,entity_id"),
            Ok(TruthKind::Clusters {
                id: 1,
                cluster: 2,
                source: Some(0)
            })
        );
        assert_eq!(
            detect("rec_id,person_id,cluster_id"),
            Ok(TruthKind::Clusters {
                id: 0,
                cluster: 2,
                source: None
            })
        );
    }
}
