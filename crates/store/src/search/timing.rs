//! Timing harness: builds an on-disk index of synthetic records and prints query latency
//! percentiles. Run with
//! `cargo test -- --ignored --nocapture search_latency` (records:
//! `SPIRIT_SEARCH_BENCH_RECORDS`, default 200,000). No timed assertions.

use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use spirit_model::AttrKind;

use super::index::*;
use super::rank::*;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }
    /// Skewed towards small indexes: the most frequent of `n` values is drawn with
    /// probability about n^(-2/3) (3.6% for 150 names).
    fn skewed(&mut self, n: usize) -> usize {
        ((self.unit().powf(1.5) * n as f64) as usize).min(n - 1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

#[rustfmt::skip]
const GIVEN: &[&str] = &[
    "james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas",
    "charles", "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan",
    "jessica", "sarah", "karen", "daniel", "matthew", "anthony", "mark", "donald", "steven",
    "paul", "andrew", "joshua", "kenneth", "nancy", "betty", "margaret", "sandra", "ashley",
    "kimberly", "emily", "donna", "michelle", "dorothy", "kevin", "brian", "george",
    "edward", "ronald", "timothy", "jason", "jeffrey", "ryan", "jacob", "carol", "amanda",
    "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia", "kathleen",
    "gary", "nicholas", "eric", "jonathan", "stephen", "larry", "justin", "scott",
    "brandon", "benjamin", "amy", "shirley", "angela", "helen", "anna", "brenda", "pamela",
    "nicole", "emma", "samantha", "oliver", "harry", "jack", "charlie", "jacob", "alfie",
    "freddie", "oscar", "leo", "archie", "olivia", "amelia", "isla", "ava", "mia", "ivy",
    "lily", "isabella", "rosie", "sophia", "bill", "bob", "jim", "liz", "peggy", "tom",
    "dick", "kate", "katie", "jon", "jo", "al", "ed", "sam", "alex", "chris", "pat",
    "mohammed", "muhammad", "ali", "fatima", "aisha", "wei", "li", "ming", "raj", "priya",
    "arjun", "sofia", "lucas", "mateo", "camila", "valentina", "jose", "juan", "maria",
    "luis", "carlos", "ana", "pierre", "jean", "marie", "hans", "anna", "klaus", "jurgen",
    "zoe", "chloe",
];
#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "smith", "jones", "williams", "taylor", "brown", "davies", "evans", "wilson", "thomas",
    "johnson", "roberts", "robinson", "thompson", "wright", "walker", "white", "edwards",
    "hughes", "green", "hall", "lewis", "harris", "clarke", "patel", "jackson", "wood",
    "turner", "martin", "cooper", "hill", "ward", "morris", "moore", "clark", "lee", "king",
    "baker", "harrison", "morgan", "allen", "james", "scott", "phillips", "watson", "davis",
    "parker", "price", "bennett", "young", "griffiths", "mitchell", "kelly", "cook",
    "carter", "richardson", "bailey", "collins", "bell", "shaw", "murphy", "miller", "cox",
    "richards", "khan", "marshall", "anderson", "simpson", "ellis", "adams", "singh",
    "begum", "wilkinson", "foster", "chapman", "powell", "webb", "rogers", "gray", "mason",
    "ali", "hunt", "hussain", "campbell", "matthews", "owen", "palmer", "holmes", "mills",
    "barnes", "knight", "lloyd", "butler", "russell", "barker", "fisher", "stevens",
    "jenkins", "murray", "dixon", "harvey", "muller", "schmidt", "garcia", "rodriguez",
    "nguyen", "wang", "obrien", "vanderberg",
];
#[rustfmt::skip]
const SYLLABLES: &[&str] = &[
    "ab", "ber", "cal", "dor", "el", "fen", "gar", "hol", "ing", "jor", "kas", "lin", "mor",
    "nor", "ol", "pen", "quin", "ros", "sel", "tor", "ul", "van", "wes", "yar", "zel",
    "ash", "bro", "cren", "dal", "fal", "gil", "hart", "kel", "lock", "mar", "ned", "orr",
    "pol", "rad", "stan",
];
#[rustfmt::skip]
const ENDINGS: &[&str] = &[
    "son", "ton", "ley", "field", "wood", "man", "er", "ford", "ham", "well", "by", "dale",
    "worth", "ridge", "stone", "more", "ski", "ova", "ez", "ini",
];
#[rustfmt::skip]
const DOMAINS: &[&str] = &[
    "example.com", "mail.example", "post.example.org", "web.example.net",
];
#[rustfmt::skip]
const NICKNAMES: &[&str] = &[
    "bill", "bob", "peggy", "jim", "liz", "kate", "dick", "harry",
];

struct Person {
    given: String,
    surname: String,
    email: Option<String>,
    phone: Option<String>,
}

fn person(rng: &mut Rng) -> Person {
    let given = if rng.unit() < 0.9 {
        GIVEN[rng.skewed(GIVEN.len())].to_string()
    } else {
        format!("{}{}", rng.pick(SYLLABLES), rng.pick(SYLLABLES))
    };
    let u = rng.unit();
    let surname = if u < 0.45 {
        SURNAMES[rng.skewed(SURNAMES.len())].to_string()
    } else if u < 0.75 {
        let i = rng.skewed(SYLLABLES.len() * ENDINGS.len());
        format!(
            "{}{}",
            SYLLABLES[i % SYLLABLES.len()],
            ENDINGS[i / SYLLABLES.len()]
        )
    } else {
        format!(
            "{}{}{}",
            rng.pick(SYLLABLES),
            rng.pick(SYLLABLES),
            rng.pick(ENDINGS)
        )
    };
    let email = (rng.unit() < 0.7)
        .then(|| format!("{given}.{surname}{}@{}", rng.below(1000), rng.pick(DOMAINS)));
    let phone = (rng.unit() < 0.6).then(|| format!("+447{:09}", rng.below(1_000_000_000)));
    Person {
        given,
        surname,
        email,
        phone,
    }
}

/// One random edit (substitution, deletion, insertion or transposition) after the
/// first letter.
fn typo(rng: &mut Rng, word: &str) -> String {
    let mut b = word.as_bytes().to_vec();
    if b.len() < 3 {
        return word.to_string();
    }
    let i = 1 + rng.below(b.len() - 2);
    let letter = b'a' + rng.below(26) as u8;
    match rng.below(4) {
        0 => b[i] = letter,
        1 => {
            b.remove(i);
        }
        2 => b.insert(i, letter),
        _ => b.swap(i, i + 1),
    }
    String::from_utf8(b).unwrap_or_else(|_| word.to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[test]
#[ignore = "timing harness: run explicitly with --ignored --nocapture"]
fn search_latency() {
    let n: usize = std::env::var("SPIRIT_SEARCH_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search.db");
    let mut conn = Connection::open(&path).unwrap();
    // The store's connection settings.
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.pragma_update(None, "cache_size", -65_536).unwrap();
    conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
    conn.execute_batch(
        "CREATE TABLE attributes (record INTEGER NOT NULL, kind TEXT NOT NULL, \
         raw TEXT NOT NULL, value TEXT, PRIMARY KEY (record, kind)) WITHOUT ROWID;",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    crate::migrate::v2(&tx).unwrap();
    tx.commit().unwrap();

    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let people: Vec<Person> = (0..n).map(|_| person(&mut rng)).collect();
    let started = Instant::now();
    for (chunk_no, chunk) in people.chunks(10_000).enumerate() {
        let tx = conn.transaction().unwrap();
        for (i, p) in chunk.iter().enumerate() {
            let mut values = vec![
                (AttrKind::GivenName, p.given.as_str()),
                (AttrKind::Surname, p.surname.as_str()),
            ];
            values.extend(p.email.as_deref().map(|e| (AttrKind::Email, e)));
            values.extend(p.phone.as_deref().map(|e| (AttrKind::Phone, e)));
            let record = (chunk_no * 10_000 + i + 1) as i64;
            index_record(&tx, record, &values).unwrap();
        }
        tx.commit().unwrap();
    }
    let indexing = started.elapsed();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let stat = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    println!(
        "{n} records indexed in {:.1} s ({:.0} µs/record); file {:.1} MiB; {} terms, {} postings, {} keys; largest posting list {}",
        indexing.as_secs_f64(),
        indexing.as_secs_f64() * 1e6 / n as f64,
        bytes as f64 / (1 << 20) as f64,
        stat("SELECT count(*) FROM search_terms"),
        stat("SELECT count(*) FROM search_postings"),
        stat("SELECT count(*) FROM search_keys"),
        stat("SELECT max(postings) FROM search_terms"),
    );
    println!(
        "  most terms under one key: {}",
        stat("SELECT max(n) FROM (SELECT count(*) AS n FROM search_keys GROUP BY key)")
    );

    const KINDS: [&str; 8] = [
        "full name, typo",
        "full name",
        "surname, typo",
        "nickname + surname",
        "email",
        "phone (national)",
        "given name only",
        "2 letters + surname",
    ];
    let mut queries: Vec<(usize, String)> = Vec::new();
    for q in 0..2_400 {
        let p = &people[rng.below(n)];
        let kind = q % KINDS.len();
        let text = match kind {
            0 => format!("{} {}", p.given, typo(&mut rng, &p.surname)),
            1 => format!("{} {}", p.given, p.surname),
            2 => typo(&mut rng, &p.surname),
            3 => format!("{} {}", rng.pick(NICKNAMES), p.surname),
            4 => p.email.clone().unwrap_or_else(|| p.surname.clone()),
            5 => p.phone.as_ref().map_or_else(
                || p.surname.clone(),
                |ph| format!("0{} {}", &ph[3..7], &ph[7..]),
            ),
            6 => p.given.clone(),
            _ => format!("{} {}", &p.given[..2.min(p.given.len())], p.surname),
        };
        queries.push((kind, text));
    }
    // Warm-up: the first queries load the pages.
    for (_, q) in queries.iter().take(400) {
        search(&conn, None, q, 20).unwrap();
    }
    let mut all = Vec::new();
    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    let mut missed = Vec::new();
    for (kind, q) in &queries[400..] {
        let t = Instant::now();
        let hits = search(&conn, None, q, 20).unwrap();
        let d = t.elapsed();
        if hits.is_empty() {
            missed.push(q.as_str());
        }
        all.push(d);
        by_kind[*kind].push(d);
    }
    all.sort();
    println!(
        "{} queries: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; no hit for {:?}",
        all.len(),
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.9).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().unwrap().as_secs_f64() * 1e3,
        missed,
    );
    for (kind, mut ds) in by_kind.into_iter().enumerate() {
        ds.sort();
        println!(
            "  {:<22} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
            KINDS[kind],
            percentile(&ds, 0.5).as_secs_f64() * 1e3,
            percentile(&ds, 0.99).as_secs_f64() * 1e3,
            ds.last().unwrap().as_secs_f64() * 1e3,
        );
    }
    // The v1 → v2 backfill of up to 200,000 stored records.
    let backfilled = n.min(200_000);
    let mut old = Connection::open(dir.path().join("backfill.db")).unwrap();
    old.pragma_update(None, "journal_mode", "WAL").unwrap();
    old.pragma_update(None, "cache_size", -65_536).unwrap();
    old.pragma_update(None, "foreign_keys", "ON").unwrap();
    old.execute_batch(
        "CREATE TABLE attributes (record INTEGER NOT NULL, kind TEXT NOT NULL, \
         raw TEXT NOT NULL, value TEXT, PRIMARY KEY (record, kind)) WITHOUT ROWID;",
    )
    .unwrap();
    let tx = old.transaction().unwrap();
    {
        let mut insert = tx
            .prepare("INSERT INTO attributes(record, kind, raw, value) VALUES (?1, ?2, ?3, ?3)")
            .unwrap();
        for (i, p) in people.iter().take(backfilled).enumerate() {
            let record = i as i64 + 1;
            insert
                .execute(params![record, "given_name", p.given])
                .unwrap();
            insert
                .execute(params![record, "surname", p.surname])
                .unwrap();
            if let Some(e) = &p.email {
                insert.execute(params![record, "email", e]).unwrap();
            }
            if let Some(ph) = &p.phone {
                insert.execute(params![record, "phone", ph]).unwrap();
            }
        }
    }
    tx.commit().unwrap();
    let started = Instant::now();
    let tx = old.transaction().unwrap();
    crate::migrate::v2(&tx).unwrap();
    tx.commit().unwrap();
    println!(
        "backfill (migrate) of {backfilled} records: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A sample of answers, to eyeball the ranking.
    let phone = people.iter().find_map(|p| p.phone.as_deref()).unwrap();
    let phone = format!("0{} {}", &phone[3..7], &phone[7..]);
    for q in [
        "jon smiht",
        "bill wilson",
        "mary",
        "jo smith",
        "cxo",
        &phone,
    ] {
        let hits = search(&conn, None, q, 3).unwrap();
        let shown: Vec<_> = hits
            .iter()
            .map(|h| (h.record, (h.score * 1e3).round() / 1e3, &h.matched))
            .collect();
        println!("  {q:?} → {shown:?}");
    }
}
