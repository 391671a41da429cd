//! The settings file (TOML): how columns map to attribute kinds, how values are
//! normalised, which blocking rules propose pairs, and how pairs become entities.
//! Every field has a default, so a run needs no settings file at all. Reading the file
//! is the caller's (`spirit_sources::load_settings`); this module parses text.

use serde::{Deserialize, Serialize};
use spirit_model::AttrKind;
use std::collections::BTreeMap;

use crate::blocking::BlockingRule;
use crate::{CardKey, PrepareOptions};
use spirit_text::DateOrder;

/// How inputs relate: one source deduplicated, sources linked to each other only,
/// or both at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    #[default]
    Dedupe,
    Link,
    LinkAndDedupe,
}

impl LinkType {
    pub fn parse(s: &str) -> Option<LinkType> {
        match s {
            "dedupe" | "dedupe_only" => Some(LinkType::Dedupe),
            "link" | "link_only" => Some(LinkType::Link),
            "link_and_dedupe" | "link-and-dedupe" => Some(LinkType::LinkAndDedupe),
            _ => None,
        }
    }
}

/// Date order used when a date such as `03/04/1980` is ambiguous.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrderSetting {
    #[default]
    Dmy,
    Mdy,
    Ymd,
}

/// Clustering method applied to the scored edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterMethod {
    /// Connected components of edges at or above the threshold.
    Components,
    /// Agglomerative merging by descending weight that refuses merges whose support
    /// between the two clusters is too thin (resists chaining).
    #[default]
    Robust,
}

/// Input settings: which columns are read and as what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputSettings {
    /// Column holding the record id; recognised (`rec_id`, `id`, …) when absent.
    pub id_column: Option<String>,
    /// Explicit column → attribute-kind mapping. Columns not named here are recognised
    /// by their header unless `recognise_columns` is false.
    pub columns: BTreeMap<String, AttrKind>,
    /// Columns never read (for example a truth column or an identifier withheld on purpose).
    pub exclude_columns: Vec<String>,
    /// Recognise common column names for columns not in `columns`.
    pub recognise_columns: bool,
    /// Keep every other column (except one named like a ground-truth column, such as
    /// `cluster_id`) as a field, compared as its values suggest; false ignores them.
    pub use_all_columns: bool,
    /// How named fields are compared (`organisation = "category"`, `notes = "ignore"`),
    /// by field name ([`spirit_model::field_name`] of the header); the others are
    /// profiled from their values.
    pub fields: BTreeMap<String, crate::profile::FieldUse>,
    /// CSV delimiter (one byte).
    pub delimiter: Option<char>,
    /// Keep each record's raw row (the CSV row or JSON line as read) in
    /// [`crate::input::RawRecord::payload`]. Set by the identity store, never by a file.
    #[serde(skip)]
    pub keep_payload: bool,
}

impl Default for InputSettings {
    fn default() -> Self {
        InputSettings {
            id_column: None,
            columns: BTreeMap::new(),
            exclude_columns: Vec::new(),
            recognise_columns: false,
            use_all_columns: true,
            fields: BTreeMap::new(),
            delimiter: None,
            keep_payload: false,
        }
    }
}

/// Normalisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormaliseSettings {
    /// ISO 3166 region used for phone numbers written without a country code.
    pub default_region: String,
    /// Order assumed for ambiguous numeric dates.
    pub date_order: DateOrderSetting,
    /// The national romanisation of Cyrillic or Greek names whose record's letters do
    /// not tell their language (`ukrainian`, `belarusian`, `serbian`, `macedonian`,
    /// `bulgarian`, `greek`); unset keeps the general transliteration (close to the
    /// Russian passport form). Letters that tell another language win; Georgian and
    /// Armenian letters always take their own passport romanisation, Arabic-script and
    /// Hebrew letters their consonants.
    pub transliteration: Option<spirit_text::translit::Scheme>,
}

impl Default for NormaliseSettings {
    fn default() -> Self {
        NormaliseSettings {
            default_region: "GB".into(),
            date_order: DateOrderSetting::Dmy,
            transliteration: None,
        }
    }
}

/// Scoring and clustering settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResolveSettings {
    pub link_type: LinkType,
    /// Edges at or above this match probability join entities.
    pub threshold: f64,
    /// Scored pairs below this match probability are not kept as edges at all.
    pub edge_floor: f64,
    pub cluster: ClusterMethod,
    /// Largest block a blocking key may form; larger blocks are split by sorted
    /// neighbourhood windows instead of being joined in full.
    pub max_block_size: usize,
    /// Blocking's pair budget per record: a rule on a field is used when its blocks
    /// hold at most this many pairs per record; when the default rules together add
    /// more, those whose added pairs are rarely matches (`min_rule_yield`) are left out.
    pub pairs_per_record: f64,
    /// Expected true matches per added candidate pair below which a default blocking
    /// rule may be left out when the rules are over the pair budget.
    pub min_rule_yield: f64,
    /// EM iterations at most.
    pub em_max_iterations: usize,
    /// Training pairs per blocking rule at most; rules proposing more are sampled.
    pub em_pairs_per_rule: usize,
    /// Random pairs sampled to estimate u for fuzzy levels.
    pub u_sample_pairs: usize,
    /// Seed for every random choice (sampling); runs are deterministic for a seed.
    pub seed: u64,
    /// Memory limit for the DataFusion plan, in MiB (operators spill beyond it).
    pub memory_limit_mb: usize,
    /// Whether the writing-style comparison may count towards the link decision. By
    /// default (false) its partial weight is shown with every edge and explanation but
    /// is advisory: it never adds to a match weight, so writing style alone never links.
    pub style_can_link: bool,
    /// Add the `record:lshN` rules (min-hashed trigrams of names and place,
    /// [`crate::lsh`]) to the default blocking rules: they propose pairs with several
    /// fields corrupted that no other default rule proposes, at the cost of more
    /// candidate pairs (measured: FEBRL4 +1.3% pairs and blocking recall 0.9958 →
    /// 0.9986; 100,000 synthetic people +40% pairs and no change in F1).
    pub record_signature: bool,
}

impl Default for ResolveSettings {
    fn default() -> Self {
        ResolveSettings {
            link_type: LinkType::Dedupe,
            threshold: 0.5,
            edge_floor: 0.01,
            cluster: ClusterMethod::Robust,
            max_block_size: 2000,
            pairs_per_record: 10.0,
            min_rule_yield: 0.01,
            em_max_iterations: 100,
            em_pairs_per_rule: 500_000,
            u_sample_pairs: 200_000,
            seed: 42,
            memory_limit_mb: 2048,
            style_can_link: false,
            record_signature: false,
        }
    }
}

/// One blocking rule: pairs agreeing on all of `keys` are candidates. Rules are OR-ed.
/// A key is `kind:function`, e.g. `surname:metaphone`, `date_of_birth:exact`,
/// `given_name:prefix3`, `email:exact`, `postcode:exact`, `date_of_birth:year`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingRuleSetting {
    pub keys: Vec<String>,
}

/// The whole settings file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub input: InputSettings,
    pub normalise: NormaliseSettings,
    pub resolve: ResolveSettings,
    /// Blocking rules; empty means the defaults for the attribute kinds present.
    pub blocking: Vec<BlockingRuleSetting>,
    pub keys: KeySettings,
}

/// Where the workspace's secrets are kept (`[keys]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeySettings {
    /// The key folder (relative paths start at the workspace folder). Unset: the folder
    /// `<workspace>.keys` beside the workspace; the environment variable `SPIRIT_KEY_DIR`
    /// wins over both.
    pub dir: Option<std::path::PathBuf>,
}

impl Settings {
    /// Parses settings from TOML text; the error is a human-readable message.
    pub fn parse(text: &str) -> Result<Settings, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.validate()?;
        Ok(settings)
    }

    /// The normalisation options these settings ask for, hashing payment cards under
    /// `card_key`.
    pub fn prepare_options(&self, card_key: CardKey) -> PrepareOptions {
        PrepareOptions {
            default_region: self.normalise.default_region.clone(),
            date_order: match self.normalise.date_order {
                DateOrderSetting::Dmy => DateOrder::Dmy,
                DateOrderSetting::Mdy => DateOrder::Mdy,
                DateOrderSetting::Ymd => DateOrder::Ymd,
            },
            card_key,
            transliteration: self.normalise.transliteration,
        }
    }

    fn validate(&self) -> Result<(), String> {
        let r = &self.resolve;
        if !(0.0..=1.0).contains(&r.threshold) {
            return Err(format!(
                "resolve.threshold must be within 0..1, got {}",
                r.threshold
            ));
        }
        if !(0.0..=1.0).contains(&r.edge_floor) || r.edge_floor > r.threshold {
            return Err(format!(
                "resolve.edge_floor must be within 0..threshold, got {}",
                r.edge_floor
            ));
        }
        if !(r.pairs_per_record.is_finite() && r.pairs_per_record >= 0.0) {
            return Err(format!(
                "resolve.pairs_per_record must be a number of at least 0, got {}",
                r.pairs_per_record
            ));
        }
        if !(0.0..=1.0).contains(&r.min_rule_yield) {
            return Err(format!(
                "resolve.min_rule_yield must be within 0..1, got {}",
                r.min_rule_yield
            ));
        }
        if r.max_block_size < 2 {
            return Err("resolve.max_block_size must be at least 2".into());
        }
        if let Some(d) = self.input.delimiter
            && !d.is_ascii()
        {
            return Err(format!(
                "input.delimiter must be one ASCII character, got {d:?}"
            ));
        }
        for (i, rule) in self.blocking.iter().enumerate() {
            if rule.keys.is_empty() {
                return Err(format!("blocking rule {} has no keys", i + 1));
            }
        }
        Ok(())
    }

    /// The blocking rules in force for records carrying `kinds`: the settings' own rules
    /// when it names some, else the defaults for those kinds (with the record-signature
    /// rules when `resolve.record_signature` asks for them).
    pub fn blocking_rules(&self, kinds: &[AttrKind]) -> Result<Vec<BlockingRule>, String> {
        if self.blocking.is_empty() {
            let mut rules = BlockingRule::defaults_for(kinds);
            if self.resolve.record_signature {
                rules.extend(BlockingRule::record_signature_for(kinds));
            }
            Ok(rules)
        } else {
            self.blocking
                .iter()
                .map(|r| BlockingRule::parse(&r.keys))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_are_the_defaults() {
        assert_eq!(Settings::parse("").unwrap(), Settings::default());
    }

    #[test]
    fn parses_a_full_file() {
        let s = Settings::parse(
            r#"
            [input]
            id_column = "rec_id"
            exclude_columns = ["soc_sec_id"]
            [input.columns]
            fname = "given_name"
            [normalise]
            default_region = "AU"
            date_order = "mdy"
            [resolve]
            link_type = "link"
            threshold = 0.9
            style_can_link = true
            [[blocking]]
            keys = ["surname:metaphone", "date_of_birth:year"]
            "#,
        )
        .unwrap();
        assert_eq!(s.input.columns["fname"], AttrKind::GivenName);
        assert_eq!(s.resolve.link_type, LinkType::Link);
        assert!(s.resolve.style_can_link && !Settings::default().resolve.style_can_link);
        assert_eq!(s.normalise.date_order, DateOrderSetting::Mdy);
        assert_eq!(s.blocking[0].keys.len(), 2);
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values() {
        let e = Settings::parse("[resolve]\nthreshhold = 0.5\n").unwrap_err();
        assert!(e.contains("threshhold"), "{e}");
        let e = Settings::parse("[input.columns]\nx = \"shoe_size\"\n").unwrap_err();
        assert!(e.contains("shoe_size"), "{e}");
        let e = Settings::parse("[resolve]\nthreshold = 1.5\n").unwrap_err();
        assert!(e.contains("threshold"), "{e}");
    }
}
