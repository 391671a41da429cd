//! Benchmarks that print figures (`spirit bench …`): search latency over a store.

use std::time::Instant;

use rusqlite::Connection;
use serde::Serialize;

use crate::StoreError;
use crate::search::search;
use crate::stream::percentile;

/// Figures of a search benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct SearchBench {
    pub records: u64,
    pub queries: u64,
    /// Share of queries whose sought record is among the first ten hits.
    pub recall_at_10: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
}

/// Swaps two adjacent letters of a word (a typist's slip), chosen by `r`.
fn typo(word: &str, r: u64) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() >= 3 {
        let i = 1 + (r as usize) % (chars.len() - 2);
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

/// Runs `queries` searches for stored records picked at random (seeded): each query is
/// the record's given name and surname as stored raw, with two adjacent letters of the
/// surname swapped. Measures latency and whether the record is in the top ten.
pub fn search_benchmark(
    conn: &Connection,
    queries: usize,
    seed: u64,
) -> Result<SearchBench, StoreError> {
    let records: i64 = conn.query_row("SELECT count(*) FROM records", [], |r| r.get(0))?;
    let max_id: i64 =
        conn.query_row("SELECT coalesce(max(id), 0) FROM records", [], |r| r.get(0))?;
    if records == 0 {
        return Err(StoreError::Invalid(
            "the store holds no records to search".into(),
        ));
    }
    let mut rng = spirit_matching::model::SplitMix64(seed);
    let mut pick = conn.prepare(
        "SELECT r.id, g.raw, s.raw FROM records r \
         JOIN attributes g ON g.record = r.id AND g.kind = 'given_name' \
         JOIN attributes s ON s.record = r.id AND s.kind = 'surname' \
         WHERE r.id >= ?1 AND g.raw != '' AND s.raw != '' ORDER BY r.id LIMIT 1",
    )?;
    let mut latencies = Vec::with_capacity(queries);
    let mut found = 0u64;
    for _ in 0..queries {
        let start = 1 + (rng.next() % max_id as u64) as i64;
        let row: Option<(i64, String, String)> = pick
            .query_row([start], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ok();
        let Some((id, given, surname)) = row else {
            continue;
        };
        let query = format!("{given} {}", typo(&surname, rng.next()));
        let t = Instant::now();
        let hits = search(conn, None, &query, 10)?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        if hits.iter().any(|h| h.record == id) {
            found += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok(SearchBench {
        records: records as u64,
        queries: latencies.len() as u64,
        recall_at_10: found as f64 / latencies.len().max(1) as f64,
        latency_ms_p50: percentile(&latencies, 0.5),
        latency_ms_p99: percentile(&latencies, 0.99),
        latency_ms_max: latencies.last().copied().unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_swap_two_inner_letters() {
        assert_eq!(typo("smith", 0), "simth");
        assert_eq!(typo("smith", 2), "smiht");
        assert_eq!(typo("li", 5), "li");
        assert_eq!(typo("smith", 7).len(), 5);
    }
}
