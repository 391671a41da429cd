//! What travels over the wire: the JSON shapes of requests and responses, with their
//! OpenAPI schemas, converted from the store's views.

use serde::{Deserialize, Serialize};
use spirit_store::query::{EntityView, RecordView};
use spirit_store::scope::{EdgeExplanation, Hit, Neighbour, Network, PathView};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Attribute {
    /// given_name, surname, date_of_birth, email, phone, …
    pub kind: String,
    pub raw: String,
    /// The value normalised for comparison, if it could be.
    pub value: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Record {
    /// `source:record_id`
    pub key: String,
    pub source: String,
    pub record_id: String,
    /// The record as it arrived (a JSON line or a CSV row).
    pub payload: String,
    /// Where it came from: `file:line`.
    pub provenance: String,
    pub stored_at: String,
    pub attributes: Vec<Attribute>,
    pub entity: Option<String>,
}

impl From<RecordView> for Record {
    fn from(r: RecordView) -> Record {
        Record {
            key: r.key,
            source: r.source,
            record_id: r.record_id,
            payload: r.payload,
            provenance: r.provenance,
            stored_at: r.stored_at,
            attributes: r
                .attributes
                .into_iter()
                .map(|(kind, raw, value)| Attribute { kind, raw, value })
                .collect(),
            entity: r.entity,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ValueCount {
    pub value: String,
    /// Visible records holding the value.
    pub records: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AttributeValues {
    pub kind: String,
    pub values: Vec<ValueCount>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EdgeSummary {
    pub left: String,
    pub right: String,
    pub weight: f64,
    pub probability: f64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Judgement {
    pub id: i64,
    pub left: String,
    pub right: String,
    /// same, not-same or unsure
    pub verdict: String,
    pub author: String,
    pub reason: String,
    pub at: String,
    /// False when a later judgement on the pair replaced it.
    pub in_force: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Entity {
    pub entity: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    pub retired_into: Option<String>,
    /// The records of the entity this user may see.
    pub records: Vec<Record>,
    pub attributes: Vec<AttributeValues>,
    /// The strongest edges between visible records (all of them: `/edges`).
    pub edges: Vec<EdgeSummary>,
    pub edge_count: u64,
    pub judgements: Vec<Judgement>,
}

impl From<EntityView> for Entity {
    fn from(v: EntityView) -> Entity {
        let (retired_at, retired_into) = match v.retired {
            Some((at, into)) => (Some(at), into),
            None => (None, None),
        };
        Entity {
            entity: v.entity,
            created_at: v.created_at,
            retired_at,
            retired_into,
            records: v.records.into_iter().map(Record::from).collect(),
            attributes: v
                .attributes
                .into_iter()
                .map(|(kind, values)| AttributeValues {
                    kind,
                    values: values
                        .into_iter()
                        .map(|(value, records)| ValueCount { value, records })
                        .collect(),
                })
                .collect(),
            edges: v
                .edges
                .into_iter()
                .map(|e| EdgeSummary {
                    left: e.left,
                    right: e.right,
                    weight: e.weight,
                    probability: e.probability,
                })
                .collect(),
            edge_count: v.edge_count,
            judgements: v
                .judgements
                .into_iter()
                .map(|j| Judgement {
                    id: j.id,
                    left: j.left,
                    right: j.right,
                    verdict: j.verdict,
                    author: j.author,
                    reason: j.reason,
                    at: j.at,
                    in_force: j.in_force,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Partial {
    /// The comparison (e.g. `surname`, `date_of_birth`).
    pub comparison: String,
    /// Its partial match weight (log2 Bayes factor) for this pair.
    pub weight: f64,
}

/// An advisory partial weight: shown with the edge, not part of its match weight
/// (writing style, unless the settings' `resolve.style_can_link` is true).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AdvisoryPartial {
    /// The comparison (`writing_style`).
    pub comparison: String,
    /// The level the pair reached (`strong`, `likely`, `possible` or `else`).
    pub level: String,
    /// Its partial match weight (log2 Bayes factor), not counted.
    pub weight: f64,
    /// The calibration its levels come from, with its version.
    pub calibration: Option<String>,
}

/// An edge explained: weight = prior_weight + Σ partials + adjustment; the advisory
/// partial weights are shown beside it and are not part of the sum.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Edge {
    pub left: String,
    pub right: String,
    pub weight: f64,
    pub probability: f64,
    pub prior_weight: f64,
    pub partials: Vec<Partial>,
    /// The household correction, if any.
    pub adjustment: f64,
    #[serde(default)]
    pub advisory: Vec<AdvisoryPartial>,
}

impl From<EdgeExplanation> for Edge {
    fn from(e: EdgeExplanation) -> Edge {
        Edge {
            left: e.left,
            right: e.right,
            weight: e.weight,
            probability: e.probability,
            prior_weight: e.prior_weight,
            partials: e
                .partials
                .into_iter()
                .map(|(comparison, weight)| Partial { comparison, weight })
                .collect(),
            adjustment: e.adjustment,
            advisory: e
                .advisory
                .into_iter()
                .map(|a| AdvisoryPartial {
                    comparison: a.comparison,
                    level: a.level,
                    weight: a.weight,
                    calibration: a.calibration,
                })
                .collect(),
        }
    }
}

/// One event in an entity's history.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HistoryEvent {
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The run that made it (ingest, resolve, add, judge, erase), if any.
    pub run: Option<i64>,
    /// created, joined, merged, split, retired, judgement, erased, …
    pub kind: String,
    pub entity: String,
    /// The other entity of a merge, split or judgement.
    pub other: Option<String>,
    /// The record concerned (`source:record_id`), if one.
    pub record: Option<String>,
    /// What else the event records (a judgement's verdict, author and reason; counts).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<spirit_store::query::EventView> for HistoryEvent {
    fn from(e: spirit_store::query::EventView) -> HistoryEvent {
        HistoryEvent {
            id: e.id,
            at: e.at,
            run: e.run,
            kind: e.kind,
            entity: e.entity,
            other: e.other,
            record: e.record,
            detail: e.detail,
        }
    }
}

/// An entity's history, oldest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct History {
    pub entity: String,
    pub events: Vec<HistoryEvent>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EdgePage {
    pub entity: String,
    pub total: u64,
    pub offset: usize,
    pub edges: Vec<Edge>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Match {
    /// The query token…
    pub token: String,
    /// …and the stored term it matched.
    pub term: String,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceCount {
    pub source: String,
    /// Visible records of the entity from this source.
    pub records: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub record: String,
    pub entity: Option<String>,
    pub score: f64,
    pub matched: Vec<Match>,
    /// The hit record's attributes (its best description of the person).
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// The entity's visible records by source (the hit record alone if unresolved).
    #[serde(default)]
    pub sources: Vec<SourceCount>,
}

impl From<Hit> for SearchHit {
    fn from(h: Hit) -> SearchHit {
        SearchHit {
            record: h.record,
            entity: h.entity,
            score: h.score,
            matched: h
                .matched
                .into_iter()
                .map(|(token, term)| Match { token, term })
                .collect(),
            attributes: Vec::new(),
            sources: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub hits: Vec<SearchHit>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NeighbourLink {
    pub entity: String,
    /// Edges between the two entities' visible records.
    pub edges: u64,
    pub max_weight: Option<f64>,
    /// Identifiers held by both, as `kind:value`.
    pub shared: Vec<String>,
    /// A record of the first entity…
    pub via_record: String,
    /// …linked to this record of the neighbour.
    pub via_neighbour_record: String,
}

impl From<Neighbour> for NeighbourLink {
    fn from(n: Neighbour) -> NeighbourLink {
        NeighbourLink {
            entity: n.entity,
            edges: n.edges,
            max_weight: n.max_weight,
            shared: n.shared,
            via_record: n.via.0,
            via_neighbour_record: n.via.1,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HubValue {
    pub kind: String,
    pub value: String,
    /// Records holding it (too many to follow).
    pub records: i64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NetworkPage {
    pub entity: String,
    pub total: u64,
    pub offset: usize,
    pub neighbours: Vec<NeighbourLink>,
    pub hubs: Vec<HubValue>,
    pub truncated: bool,
}

impl From<Network> for NetworkPage {
    fn from(n: Network) -> NetworkPage {
        NetworkPage {
            entity: n.entity,
            total: n.total,
            offset: n.offset,
            neighbours: n.neighbours.into_iter().map(NeighbourLink::from).collect(),
            hubs: n
                .hubs
                .into_iter()
                .map(|h| HubValue {
                    kind: h.kind,
                    value: h.value,
                    records: h.records,
                })
                .collect(),
            truncated: n.truncated,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PathResult {
    pub from: String,
    pub to: String,
    pub found: bool,
    pub entities: Vec<String>,
    pub links: Vec<NeighbourLink>,
    pub explored: u64,
    pub bounded: bool,
}

impl From<PathView> for PathResult {
    fn from(p: PathView) -> PathResult {
        PathResult {
            from: p.from,
            to: p.to,
            found: p.found,
            entities: p.entities,
            links: p.links.into_iter().map(NeighbourLink::from).collect(),
            explored: p.explored,
            bounded: p.bounded,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Changes {
    pub created: u64,
    pub merged: u64,
    pub split: u64,
    pub retired: u64,
    pub moved: u64,
}

impl From<spirit_store::entities::Changes> for Changes {
    fn from(c: spirit_store::entities::Changes) -> Changes {
        Changes {
            created: c.created,
            merged: c.merged,
            split: c.split,
            retired: c.retired,
            moved: c.moved,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JudgeRequest {
    /// same, not-same or unsure
    #[schema(pattern = "^(same|not-same|unsure)$")]
    pub verdict: String,
    /// `source:record_id`
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}:.+$")]
    pub left: String,
    /// `source:record_id`
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}:.+$")]
    pub right: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// Entity id (E12)
    #[schema(pattern = "^[Ee]?[0-9]{1,15}$")]
    pub left: String,
    #[schema(pattern = "^[Ee]?[0-9]{1,15}$")]
    pub right: String,
    #[schema(max_length = 2000)]
    pub reason: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SplitRequest {
    /// `source:record_id` of a record to keep apart…
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}:.+$")]
    pub left: String,
    /// …from this one.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}:.+$")]
    pub right: String,
    #[schema(max_length = 2000)]
    pub reason: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JudgeResult {
    pub judgement: i64,
    pub verdict: String,
    pub left: String,
    pub right: String,
    pub left_entity: Option<String>,
    pub right_entity: Option<String>,
    pub changes: Changes,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoginResult {
    pub user: String,
    pub role: String,
    /// Send this in `X-CSRF-Token` with every state-changing request made with the cookie.
    pub csrf_token: String,
    pub expires_at: String,
    /// The password was given to the user (created or reset): until it is changed with
    /// `POST /api/password`, the session may do nothing else.
    pub must_change_password: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    /// At least 12 characters, 5 different ones, not containing the user name.
    pub new: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: String,
    pub role: String,
    pub cases: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserInfo {
    pub name: String,
    pub role: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreateUser {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    /// admin, analyst or auditor
    #[schema(pattern = "^(admin|analyst|auditor)$")]
    pub role: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NewUser {
    pub name: String,
    pub role: String,
    /// Shown once.
    pub password: String,
    /// Shown once.
    pub token: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreateToken {
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NewToken {
    pub id: i64,
    /// Shown once.
    pub token: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    /// api or session
    pub kind: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Done {
    /// True if something changed.
    pub changed: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaseInfo {
    pub name: String,
    pub created_at: String,
    pub members: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreateCase {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SourceInfo {
    pub name: String,
    pub case: Option<String>,
    pub legal_basis: Option<String>,
    pub retention_days: Option<i64>,
    pub created_at: String,
    pub records: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreateSource {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub case: String,
    #[schema(min_length = 1, max_length = 500)]
    pub legal_basis: String,
    /// Records are erased this many days after they were stored (`spirit retention apply`).
    #[schema(minimum = 0, maximum = 36500)]
    pub retention_days: Option<i64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IngestResult {
    pub source: String,
    /// Lines read as records.
    pub read: u64,
    pub stored: u64,
    pub already_stored: u64,
    /// Records not stored (a conflicting id, no id): with line and reason, the first 100.
    pub problems: Vec<String>,
    /// How many records were not stored, in all.
    pub problem_count: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Erased {
    pub records: u64,
    pub attributes: u64,
    pub edges: u64,
    pub judgements: u64,
    pub entities_touched: u64,
    pub entities_emptied: u64,
    pub changes: Changes,
    pub audit_seq: Option<i64>,
}

impl From<spirit_store::retention::Erasure> for Erased {
    fn from(e: spirit_store::retention::Erasure) -> Erased {
        Erased {
            records: e.records,
            attributes: e.attributes,
            edges: e.edges,
            judgements: e.judgements,
            entities_touched: e.entities_touched,
            entities_emptied: e.entities_emptied,
            changes: e.changes.into(),
            audit_seq: e.audit_seq,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExportRow {
    pub source: String,
    pub record_id: String,
    pub entity: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExportPage {
    pub rows: Vec<ExportRow>,
    pub offset: usize,
    /// The offset of the next page, if there may be one.
    pub next_offset: Option<usize>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub case: Option<String>,
    pub purpose: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub hash: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditProblem {
    pub seq: i64,
    pub message: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    pub ok: bool,
    pub entries: u64,
    pub head: i64,
    pub problems: Vec<AuditProblem>,
}

/// The purpose of a read of personal data (or send the `X-Purpose` header).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeParam {
    /// Why the data is read: recorded in the audit log. Required (here or in `X-Purpose`).
    pub purpose: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// First item (default 0).
    #[param(minimum = 0, maximum = 1000000000)]
    pub offset: Option<usize>,
    /// Items per page (default 50, at most 500).
    #[param(minimum = 0)]
    pub limit: Option<usize>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Names and identifiers, fuzzy: "jon smiht", an e-mail, a phone number.
    pub q: String,
    /// Hits wanted (default 20, at most 100).
    #[param(minimum = 0)]
    pub limit: Option<usize>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathParams {
    /// Entity id to start from.
    pub from: String,
    /// Entity id to reach.
    pub to: String,
    /// Most links (default and maximum 6).
    #[param(minimum = 0)]
    pub max_depth: Option<usize>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// csv or jsonl (else taken from the Content-Type: text/csv, application/x-ndjson).
    pub format: Option<String>,
    /// The column holding record ids (recognised by name otherwise).
    pub id_column: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EraseParams {
    /// Why the data is erased (kept in the audit log).
    pub reason: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries after this sequence number.
    pub after: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub case: Option<String>,
    /// At most 1000 (default 100).
    #[param(minimum = 0)]
    pub limit: Option<usize>,
}
