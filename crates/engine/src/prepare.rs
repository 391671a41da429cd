//! Reading a run's inputs into the prepared record table (`spirit-sources` reads, the
//! matching kernels normalise), and the blocking rules a run uses.

use std::path::PathBuf;

use serde::Serialize;
use spirit_matching::blocking::BlockingRule;
use spirit_matching::profile::{self, FieldProfile};
use spirit_matching::settings::Settings;
use spirit_matching::{CardKey, RecordTable};
use spirit_model::{AttrKind, Progress, RecordKey};
use spirit_sources::{QuarantinedRow, RawRecord, read_source};

use crate::EngineError;

/// Per-source figures of a run.
#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    pub source: String,
    pub path: PathBuf,
    pub records: u64,
    pub quarantined: u64,
    pub id_column: Option<String>,
    pub mapping: Vec<(String, String)>,
    pub ignored_columns: Vec<String>,
}

/// Records of all inputs, prepared.
pub struct Loaded {
    pub table: RecordTable,
    pub keys: Vec<RecordKey>,
    pub sources: Vec<SourceSummary>,
    pub quarantined: Vec<(String, QuarantinedRow)>,
    /// Seconds spent reading the inputs (`read`) and normalising their values into the
    /// table (`normalise`).
    pub phase_seconds: Vec<(String, f64)>,
}

impl Loaded {
    /// Index of a record given as `source:record_id`, or as a bare record id when it
    /// is unique across sources.
    pub fn find(&self, key: &str) -> Result<u32, EngineError> {
        let hits: Vec<u32> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                k.record_id == key
                    || key
                        .split_once(':')
                        .is_some_and(|(s, r)| k.source == s && k.record_id == r)
            })
            .map(|(i, _)| i as u32)
            .collect();
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => Err(EngineError::Invalid(format!(
                "record {key:?} is in none of the inputs"
            ))),
            _ => Err(EngineError::Invalid(format!(
                "record id {key:?} is in several inputs; write it as source:record_id"
            ))),
        }
    }
}

/// Reads every input and prepares the record table, hashing payment cards under
/// `card_key`.
pub fn load(
    inputs: &[PathBuf],
    settings: &Settings,
    id_column: Option<&str>,
    card_key: CardKey,
    progress: &dyn Progress,
) -> Result<Loaded, EngineError> {
    if inputs.is_empty() {
        return Err(EngineError::Invalid(
            "no input given (use --input FILE)".into(),
        ));
    }
    if inputs.len() > usize::from(u16::MAX) {
        return Err(EngineError::Invalid("too many inputs".into()));
    }
    let started = std::time::Instant::now();
    progress.phase("read", Some(inputs.len() as u64));
    let mut raw: Vec<Vec<RawRecord>> = Vec::new();
    let mut sources = Vec::new();
    let mut quarantined = Vec::new();
    for (i, path) in inputs.iter().enumerate() {
        let t = read_source(path, &settings.input, id_column)?;
        if let Some(other) = sources
            .iter()
            .find(|s: &&SourceSummary| s.source == t.source)
        {
            return Err(EngineError::Invalid(format!(
                "inputs {} and {} have the same name {:?}; sources are named by file stem, rename one",
                other.path.display(),
                path.display(),
                t.source
            )));
        }
        sources.push(SourceSummary {
            source: t.source.clone(),
            path: path.clone(),
            records: t.records.len() as u64,
            quarantined: t.quarantined.len() as u64,
            id_column: t.id_column.clone(),
            mapping: t
                .mapping
                .iter()
                .map(|(c, k)| (c.clone(), k.name().to_string()))
                .collect(),
            ignored_columns: t.ignored_columns.clone(),
        });
        quarantined.extend(t.quarantined.into_iter().map(|q| (t.source.clone(), q)));
        raw.push(t.records);
        progress.set(i as u64 + 1);
    }
    progress.done();
    let total: usize = raw.iter().map(Vec::len).sum();
    if total == 0 {
        let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        return Err(EngineError::Invalid(format!(
            "the inputs hold no readable records: {}",
            names.join(", ")
        )));
    }
    if total > u32::MAX as usize - 1 {
        return Err(EngineError::Invalid(format!(
            "{total} records is more than one run can hold"
        )));
    }
    let read_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    progress.phase("normalise", Some(total as u64));
    let mut keys = Vec::with_capacity(total);
    let mut src_idx = Vec::with_capacity(total);
    let mut values: Vec<Vec<(spirit_model::AttrKind, String)>> = Vec::with_capacity(total);
    for (s, records) in raw.into_iter().enumerate() {
        for r in records {
            keys.push(RecordKey {
                source: sources[s].source.clone(),
                record_id: r.id,
            });
            src_idx.push(s as u16);
            values.push(r.values);
        }
    }
    let table = RecordTable::build(&values, src_idx, &settings.prepare_options(card_key));
    progress.set(total as u64);
    progress.done();
    Ok(Loaded {
        table,
        keys,
        sources,
        quarantined,
        phase_seconds: vec![
            ("read".into(), read_seconds),
            ("normalise".into(), started.elapsed().as_secs_f64()),
        ],
    })
}

/// The blocking rules of a run: the settings' or, when it gives none, the defaults
/// for the attribute kinds present, the consonant-skeleton rule when names are written
/// without vowels ([`unvowelled_names`]), and the rules on selective fields
/// ([`profile::field_rules`], within `resolve.pairs_per_record`).
pub fn blocking_rules(
    settings: &Settings,
    table: &RecordTable,
) -> Result<Vec<BlockingRule>, EngineError> {
    let mut rules = settings
        .blocking_rules(&table.kinds())
        .map_err(EngineError::Invalid)?;
    if settings.blocking.is_empty() && unvowelled_names(table) {
        rules.push(
            BlockingRule::parse(&["given_name:skeleton", "surname:skeleton"])
                .expect("built-in rule parses"),
        );
    }
    if settings.blocking.is_empty() {
        rules.extend(profile::field_rules(
            table,
            &profile_fields(table, settings),
            settings.resolve.pairs_per_record,
            settings.resolve.max_block_size,
        ));
    }
    Ok(rules)
}

/// True when at least one record in a thousand (and two at least) of those with a
/// given name and a surname has both written without vowels
/// ([`spirit_text::skeleton::is_skeletal`]), as Arabic-script names transliterate
/// (`mhmd ahmd`). A typo leaves one field so now and then, both rarely: 2 records in
/// 98,050 of the synthetic 100k set, none of FEBRL3's 4,771, so Latin-script runs keep
/// their rules unchanged.
pub fn unvowelled_names(table: &RecordTable) -> bool {
    let (Some(given), Some(surname)) = (
        table.column(AttrKind::GivenName),
        table.column(AttrKind::Surname),
    ) else {
        return false;
    };
    let skeletal = |col: &spirit_matching::table::Column| -> Vec<bool> {
        col.values
            .iter()
            .map(|v| spirit_text::skeleton::is_skeletal(v))
            .collect()
    };
    let (g, s) = (skeletal(given), skeletal(surname));
    let (mut named, mut unvowelled) = (0u64, 0u64);
    for r in 0..table.len {
        if let (Some(a), Some(b)) = (given.id(r), surname.id(r)) {
            named += 1;
            unvowelled += u64::from(g[a as usize] && s[b as usize]);
        }
    }
    unvowelled >= 2 && unvowelled * 1000 >= named
}

/// The profile of every field column of `table` (columns with no built-in kind), under
/// the settings' `[input.fields]`.
pub fn profile_fields(table: &RecordTable, settings: &Settings) -> Vec<FieldProfile> {
    table
        .columns
        .iter()
        .filter_map(|col| {
            let field = col.kind.field()?;
            let setting = settings.input.fields.get(field.name()).copied();
            Some(profile::profile(col, setting.unwrap_or_default()))
        })
        .collect()
}
