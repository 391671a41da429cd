//! Tests of the search index and queries.

use proptest::prelude::*;
use rusqlite::{Connection, params};
use spirit_matching::table::{PrepareOptions, normalise as normalise_value};
use spirit_model::AttrKind;
use spirit_text::{PhoneNormaliser, double_metaphone, normalise_name};

use super::index::*;
use super::rank::*;
use super::tokens::*;
use crate::util::clip;

const ATTRIBUTES_V1: &str = "CREATE TABLE attributes (
    record INTEGER NOT NULL,
    kind TEXT NOT NULL,
    raw TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (record, kind)
) WITHOUT ROWID;";

/// An in-memory store at schema version 2 (the search tables) with an empty
/// attributes table.
fn store() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute_batch(ATTRIBUTES_V1).unwrap();
    let tx = conn.transaction().unwrap();
    crate::migrate::v2(&tx).unwrap();
    tx.commit().unwrap();
    conn
}

/// Normalises raw values as the store does.
fn normalised(raw: &[(AttrKind, &str)]) -> Vec<(AttrKind, String)> {
    let options = PrepareOptions::default();
    let phones = PhoneNormaliser::new(&options.default_region);
    raw.iter()
        .filter_map(|(k, v)| normalise_value(*k, v, &options, &phones).map(|n| (*k, n)))
        .collect()
}

/// Stores (indexes) a record from raw values.
fn add(conn: &Connection, record: i64, raw: &[(AttrKind, &str)]) {
    let values = normalised(raw);
    let refs: Vec<(AttrKind, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    index_record(conn, record, &refs).unwrap();
}

fn person(conn: &Connection, record: i64, given: &str, surname: &str) {
    add(
        conn,
        record,
        &[(AttrKind::GivenName, given), (AttrKind::Surname, surname)],
    );
}

fn ids(conn: &Connection, query: &str) -> Vec<i64> {
    search(conn, None, query, 10)
        .unwrap()
        .into_iter()
        .map(|h| h.record)
        .collect()
}

fn pair(q: &str, t: &str) -> (String, String) {
    (q.to_string(), t.to_string())
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_typo_finds_the_name() {
    let conn = store();
    person(&conn, 1, "John", "Smith");
    person(&conn, 2, "Mary", "Jones");
    let hits = search(&conn, None, "smiht", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].record, 1);
    assert_eq!(hits[0].matched, vec![pair("smiht", "smith")]);
    assert!(hits[0].score > MIN_SIMILARITY && hits[0].score < 1.0);
    assert_eq!(ids(&conn, "Jonse")[0], 2);
}

#[test]
fn a_transposition_finds_the_name() {
    let conn = store();
    person(&conn, 1, "John", "Smith");
    person(&conn, 2, "Mary", "Jones");
    // "jhon" shares no trigram with "john": found through the phonetic key.
    assert_eq!(ids(&conn, "jhon"), vec![1]);
    assert_eq!(ids(&conn, "jonh")[0], 1);
    assert_eq!(ids(&conn, "Mray"), vec![2]);
    // An edit in the middle of a short word destroys all its trigrams.
    person(&conn, 3, "Ann", "Linman");
    person(&conn, 4, "Ann", "Gray");
    assert_eq!(ids(&conn, "limnan"), vec![3]);
    assert_eq!(ids(&conn, "gay"), vec![4]);
    assert_eq!(ids(&conn, "brgwn"), Vec::<i64>::new());
    person(&conn, 5, "Ann", "Brown");
    assert_eq!(ids(&conn, "brgwn"), vec![5]);
    person(&conn, 6, "Ann", "Cox");
    assert_eq!(parse_query("cxo")[0].text, "cxo");
    assert_eq!(ids(&conn, "cxo"), vec![6]);
}

#[test]
fn a_nickname_finds_the_formal_name_and_back() {
    let conn = store();
    person(&conn, 1, "William", "Brown");
    person(&conn, 2, "Bill", "Green");
    person(&conn, 3, "Robert", "Brown");
    let hits = search(&conn, None, "bill brown", 10).unwrap();
    assert_eq!(hits[0].record, 1);
    assert_eq!(
        hits[0].matched,
        vec![pair("bill", "william"), pair("brown", "brown")]
    );
    assert!((hits[0].score - (1.0 + NICKNAME_SIMILARITY)).abs() < 1e-9);
    assert_eq!(ids(&conn, "william"), vec![1, 2]);
    assert_eq!(ids(&conn, "Bob"), vec![3]);
}

#[test]
fn both_tokens_beat_one() {
    let conn = store();
    person(&conn, 1, "Peter", "Smith");
    person(&conn, 2, "Jon", "Taylor");
    person(&conn, 3, "Jon", "Smith");
    person(&conn, 4, "Jane", "Smyth");
    let hits = search(&conn, None, "jon smiht", 10).unwrap();
    assert_eq!(hits[0].record, 3);
    assert_eq!(
        hits[0].matched,
        vec![pair("jon", "jon"), pair("smiht", "smith")]
    );
    assert!(hits[0].score > 1.9);
    assert!(hits.iter().skip(1).all(|h| h.score < hits[0].score - 0.1));
    let rest: Vec<i64> = hits.iter().map(|h| h.record).collect();
    assert!(rest.contains(&1) && rest.contains(&2));
}

#[test]
fn a_stored_term_serves_one_query_token() {
    let conn = store();
    add(&conn, 1, &[(AttrKind::GivenName, "John")]);
    let hits = search(&conn, None, "john johnson", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].score, 1.0);
    assert_eq!(hits[0].matched, vec![pair("john", "john")]);
}

#[test]
fn an_email_finds_its_record() {
    let conn = store();
    add(
        &conn,
        7,
        &[
            (AttrKind::Surname, "Smith"),
            (AttrKind::Email, "J.Smith+news@Example.com"),
        ],
    );
    add(&conn, 8, &[(AttrKind::Surname, "Smith")]);
    for q in [
        "j.smith@example.com",
        "J.SMITH@EXAMPLE.COM",
        "<j.smith@example.com>",
    ] {
        let hits = search(&conn, None, q, 10).unwrap();
        assert_eq!(hits.len(), 1, "{q}");
        assert_eq!(hits[0].record, 7);
        assert_eq!(hits[0].matched[0].1, "j.smith@example.com");
    }
    // The local part is a term too.
    assert!(ids(&conn, "smith").contains(&7));
}

#[test]
fn a_phone_number_finds_its_record_however_written() {
    let conn = store();
    add(
        &conn,
        5,
        &[
            (AttrKind::GivenName, "Ann"),
            (AttrKind::Phone, "07700 900123"),
        ],
    );
    add(&conn, 6, &[(AttrKind::Phone, "+1 415 555 2671")]);
    for q in [
        "+44 7700 900123",
        "07700900123",
        "07700 900123",
        "(07700) 900-123",
        "447700900123",
        "+447700900123",
    ] {
        let hits = search(&conn, None, q, 10).unwrap();
        assert_eq!(hits.len(), 1, "{q}");
        assert_eq!(hits[0].record, 5, "{q}");
        assert_eq!(hits[0].matched, vec![pair(q, "+447700900123")]);
    }
    assert_eq!(ids(&conn, "+1 (415) 555-2671"), vec![6]);
    assert_eq!(ids(&conn, "ann 07700 900123"), vec![5]);
    assert_eq!(
        search(&conn, None, "ann 07700 900123", 1).unwrap()[0].score,
        2.0
    );
}

#[test]
fn usernames_and_national_ids_match_exactly() {
    let conn = store();
    add(
        &conn,
        1,
        &[
            (AttrKind::Username, "J_Smith99"),
            (AttrKind::NationalId, "AB 12 34 56 C"),
        ],
    );
    assert_eq!(ids(&conn, "j_smith99"), vec![1]);
    assert_eq!(ids(&conn, "AB123456C"), vec![1]);
}

#[test]
fn unicode_queries_are_folded() {
    let conn = store();
    person(&conn, 1, "Zoë", "Müller");
    assert_eq!(ids(&conn, "Müller"), vec![1]);
    assert_eq!(ids(&conn, "MULLER"), vec![1]);
    assert_eq!(ids(&conn, "zoe mueller"), vec![1]);
    assert_eq!(ids(&conn, "Мюллер"), vec![1]);
    let hits = search(&conn, None, "Müller", 10).unwrap();
    assert_eq!(hits[0].matched, vec![pair("muller", "muller")]);
}

#[test]
fn names_are_normalised_like_stored_names() {
    let conn = store();
    person(&conn, 1, "Hans", "van der Berg");
    person(&conn, 2, "Sean", "O'Brien");
    assert_eq!(ids(&conn, "Dr Hans van der Berg"), vec![1]);
    assert_eq!(
        search(&conn, None, "hans van der berg", 1).unwrap()[0].score,
        2.0
    );
    assert_eq!(ids(&conn, "o'brien"), vec![2]);
    // A particle in a query may start a given name.
    person(&conn, 3, "Ben", "Smith");
    person(&conn, 4, "Al", "Jones");
    let hits = search(&conn, None, "ben smith", 10).unwrap();
    assert_eq!((hits[0].record, hits[0].score), (3, 2.0));
    assert_eq!(ids(&conn, "al jones"), vec![4]);
    assert_eq!(ids(&conn, "van der berg")[0], 1);
}

#[test]
fn short_tokens_match_exactly_or_by_prefix() {
    let conn = store();
    person(&conn, 1, "Jo", "Li");
    person(&conn, 2, "Joseph", "Lim");
    person(&conn, 3, "Al", "Lee");
    assert_eq!(ids(&conn, "li"), vec![1, 2]);
    assert_eq!(ids(&conn, "jo li")[0], 1);
    // A 1-letter token only matches exactly.
    assert!(ids(&conn, "j").is_empty());
}

#[test]
fn empty_and_unsearchable_queries_give_nothing() {
    let conn = store();
    person(&conn, 1, "John", "Smith");
    for q in ["", "   ", "?!.,;:", "()+-", "😀 ★", "\u{0}\t\n"] {
        assert_eq!(search(&conn, None, q, 10).unwrap(), vec![], "{q:?}");
    }
    assert_eq!(search(&conn, None, "smith", 0).unwrap(), vec![]);
    assert!(ids(&conn, "zzyzx").is_empty());
}

#[test]
fn ties_are_broken_by_record_id_and_limit_applies() {
    let conn = store();
    for r in [9, 3, 5] {
        person(&conn, r, "Ann", "Lee");
    }
    assert_eq!(ids(&conn, "ann lee"), vec![3, 5, 9]);
    let hits = search(&conn, None, "ann lee", 2).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.record).collect::<Vec<_>>(),
        vec![3, 5]
    );
}

#[test]
fn indexing_twice_changes_nothing() {
    let conn = store();
    person(&conn, 1, "John", "Smith");
    person(&conn, 1, "John", "Smith");
    assert_eq!(count(&conn, "SELECT max(postings) FROM search_terms"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM search_postings"), 2);
}

#[test]
fn unindexing_removes_the_record_and_its_orphan_terms() {
    let conn = store();
    add(
        &conn,
        1,
        &[
            (AttrKind::GivenName, "John"),
            (AttrKind::Surname, "Smith"),
            (AttrKind::Email, "john@example.com"),
        ],
    );
    person(&conn, 2, "John", "Smyth");
    unindex_record(&conn, 1).unwrap();
    assert_eq!(ids(&conn, "smith"), vec![2]);
    assert!(ids(&conn, "john@example.com").is_empty());
    let terms: Vec<String> = conn
        .prepare("SELECT term FROM search_terms ORDER BY term")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(terms, vec!["john", "smyth"]);
    assert_eq!(
        count(
            &conn,
            "SELECT postings FROM search_terms WHERE term = 'john'"
        ),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM search_keys WHERE term NOT IN (SELECT id FROM search_terms)"
        ),
        0
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM search_trigrams WHERE search_trigrams MATCH '\"mit\"'"
        ),
        0
    );
    // Unindexing again, or an unknown record, is harmless.
    unindex_record(&conn, 1).unwrap();
    unindex_record(&conn, 42).unwrap();
    unindex_record(&conn, 2).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM search_terms"), 0);
    assert_eq!(count(&conn, "SELECT count(*) FROM search_keys"), 0);
    assert!(ids(&conn, "john").is_empty());
    // A term deleted and indexed again is found again.
    person(&conn, 3, "John", "Smith");
    assert_eq!(ids(&conn, "jon smiht"), vec![3]);
}

#[test]
fn migrate_backfills_the_stored_records() {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ATTRIBUTES_V1).unwrap();
    let rows: &[(i64, &str, &str, Option<&str>)] = &[
        (1, "given_name", "John", Some("john")),
        (1, "surname", "Smith", Some("smith")),
        (1, "date_of_birth", "1980-01-02", Some("1980-01-02")),
        (2, "full_name", "Mary Jones", None),
        (2, "email", "Mary@Example.com", Some("mary@example.com")),
        (2, "city", "Leeds", Some("leeds")),
        (3, "phone", "07700 900123", Some("+447700900123")),
        (3, "postcode", "LS1 1AA", Some("ls11aa")),
    ];
    for (record, kind, raw, value) in rows {
        conn.execute(
            "INSERT INTO attributes(record, kind, raw, value) VALUES (?1, ?2, ?3, ?4)",
            params![record, kind, raw, value],
        )
        .unwrap();
    }
    let tx = conn.transaction().unwrap();
    crate::migrate::v2(&tx).unwrap();
    tx.commit().unwrap();
    assert_eq!(ids(&conn, "jon smiht"), vec![1]);
    assert_eq!(ids(&conn, "mary@example.com"), vec![2]);
    assert_eq!(ids(&conn, "07700 900123"), vec![3]);
    // Only names and identifiers are indexed.
    assert!(ids(&conn, "leeds").is_empty());
    assert!(ids(&conn, "ls11aa").is_empty());
    assert!(ids(&conn, "jones").is_empty());
    assert_eq!(count(&conn, "SELECT count(*) FROM search_postings"), 5);
}

#[test]
fn the_trigram_index_ranks_terms_sharing_more_trigrams_first() {
    let conn = store();
    for (r, surname) in ["Smith", "Smithson", "Smirnov", "Mihai", "Goldsmith"]
        .into_iter()
        .enumerate()
    {
        add(&conn, r as i64, &[(AttrKind::Surname, surname)]);
    }
    let terms: Vec<String> = conn
        .prepare(&SQL.trigram_terms)
        .unwrap()
        .query_map(params![trigram_query("smithsen"), 3], |r| r.get(1))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(terms.len(), 3);
    assert!(terms.contains(&"smithson".to_string()), "{terms:?}");
    // Found through the trigram index only: no shared phonetic code or nickname.
    assert_ne!(double_metaphone("smiht"), double_metaphone("goldsmith"));
    assert_eq!(ids(&conn, "goldsmiht"), vec![4]);
}

#[test]
fn large_posting_lists_are_skipped_unless_exact_or_best() {
    let conn = store();
    person(&conn, 1, "Ann", "James");
    person(&conn, 2, "Ann", "Jameson");
    // Pretend both lists are huge: only the posting counts drive the skipping.
    conn.execute(
        "UPDATE search_terms SET postings = 1000000 WHERE term LIKE 'james%'",
        [],
    )
    .unwrap();
    // "jamess": "james" is the best candidate (read), "jameson" is skipped.
    assert_eq!(ids(&conn, "jamess"), vec![1]);
    assert_eq!(ids(&conn, "jameson"), vec![2]);
    assert_eq!(ids(&conn, "ann"), vec![1, 2]);
    // The list lookup probes the term index once per listed word.
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", SQL.listed_terms))
        .unwrap()
        .query_map(["[]"], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(plan.iter().any(|p| p.contains("USING INDEX")), "{plan:?}");
}

#[test]
fn query_parsing() {
    let texts = |q: &str| -> Vec<String> { parse_query(q).into_iter().map(|t| t.text).collect() };
    assert_eq!(texts("Mr John  SMITH"), vec!["john", "smith"]);
    assert_eq!(texts("smith smith"), vec!["smith"]);
    assert_eq!(texts("Ben Smith"), vec!["bensmith", "ben", "smith"]);
    assert_eq!(
        texts("hans van der berg"),
        vec!["hans", "vanderberg", "van", "der", "berg"]
    );
    assert_eq!(joined_from("abc", &["x", "a", "bc", "d"]), vec!["a", "bc"]);
    assert!(joined_from("abc", &["abc"]).is_empty());
    assert!(joined_from("abc", &["ab", "cd"]).is_empty());
    assert_eq!(
        texts("john +44 7700 900123 j.s@x.com ab12"),
        vec!["john", "+44 7700 900123", "j.s@x.com", "ab12"]
    );
    assert_eq!(parse_query("a b c d e f g h i j k").len(), MAX_QUERY_TOKENS);
    assert_eq!(
        texts("al jones 07700900123"),
        vec!["aljones", "07700900123", "al", "jones"]
    );
    assert_eq!(trigram_query("smiht"), "\"smi\" OR \"mih\" OR \"iht\"");
    assert_eq!(trigram_query("aaaa"), "\"aaa\"");
    assert_eq!(prefix_upper_bound("jo"), "jp");
    let n = one_edit_neighbourhood("ab");
    for v in ["\"b\"", "\"a\"", "\"ba\"", "\"zb\"", "\"abz\"", "\"cab\""] {
        assert!(n.contains(v), "{v} in {n}");
    }
    assert!(!n.contains("\"ab\""));
    assert_eq!(clip("zoë", 3), "zo");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn search_never_fails(query in any::<String>(), typed in "[a-zA-Z0-9 @.+()'_-]{0,40}") {
        let conn = store();
        person(&conn, 1, "John", "Smith");
        add(&conn, 2, &[(AttrKind::Email, "a.b@example.com"), (AttrKind::Phone, "07700 900123")]);
        for q in [&query, &typed] {
            let hits = search(&conn, None, q, 5).unwrap();
            prop_assert!(hits.len() <= 5);
            prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        }
    }

    #[test]
    fn any_stored_name_is_found_by_itself(
        given in "[A-Za-zÀ-ÿ' -]{0,20}",
        surname in "[\\p{L}\\p{M}' .,-]{0,20}",
    ) {
        let conn = store();
        add(&conn, 1, &[(AttrKind::GivenName, &given), (AttrKind::Surname, &surname)]);
        person(&conn, 2, "Someone", "Else");
        for raw in [&given, &surname] {
            if normalise_name(raw).is_some() {
                let hits = search(&conn, None, raw, 5).unwrap();
                prop_assert!(hits.iter().any(|h| h.record == 1), "{:?}", raw);
            }
        }
    }

    #[test]
    fn indexing_never_fails(values in proptest::collection::vec((0usize..15, any::<String>()), 0..6)) {
        let conn = store();
        let values: Vec<(AttrKind, &str)> =
            values.iter().map(|(k, v)| (AttrKind::ALL[*k], v.as_str())).collect();
        index_record(&conn, 1, &values).unwrap();
        unindex_record(&conn, 1).unwrap();
        prop_assert_eq!(count(&conn, "SELECT count(*) FROM search_terms"), 0);
    }
}
