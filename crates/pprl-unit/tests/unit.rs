//! The linkage unit over real HTTP on loopback: the protocol end to end for two and three
//! parties, every refusal (no token, wrong token, another project's token, malformed,
//! incompatible, repeated and oversized uploads, invalid UTF-8) with nothing lost, a
//! restart, and a scan of everything the unit stored or logged for plain values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spirit_model::AttrKind;
use spirit_pprl::jsonl::write_encodings;
use spirit_pprl::{EncodedTable, Encoder, LinkConfig, Schema, Secret};
use spirit_pprl_unit::UnitError;
use spirit_pprl_unit::client::Client;
use spirit_pprl_unit::service::{Unit, serve};

const SYLLABLES: [&str; 24] = [
    "ka", "ro", "mi", "lan", "tor", "el", "vi", "sha", "do", "ber", "ni", "gu", "ya", "pet", "os",
    "fa", "rin", "che", "lu", "bo", "zan", "ter", "wi", "mar",
];

/// Person `i`: a made-up name of three syllables each and a date of birth, all drawn from
/// `i` by a fixed generator, so that people differ as much as in a real population.
fn person(i: usize) -> Vec<(AttrKind, String)> {
    let mut state = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = |n: usize| {
        state ^= state >> 31;
        state = state.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        state ^= state >> 29;
        (state % n as u64) as usize
    };
    let mut word = || {
        let w: String = (0..3).map(|_| SYLLABLES[next(24)]).collect();
        let mut c = w.chars();
        c.next()
            .unwrap()
            .to_uppercase()
            .chain(c)
            .collect::<String>()
    };
    let (given, family) = (word(), word());
    let dob = format!(
        "19{:02}-{:02}-{:02}",
        30 + next(70),
        1 + next(12),
        1 + next(28)
    );
    vec![
        (AttrKind::GivenName, given),
        (AttrKind::Surname, family),
        (AttrKind::DateOfBirth, dob),
    ]
}

/// The same person as another agency typed it: a typo in the surname for every third.
fn typed(i: usize) -> Vec<(AttrKind, String)> {
    let mut p = person(i);
    if i.is_multiple_of(3) {
        let s = &mut p[1].1;
        let c = s.remove(2);
        s.insert(3, c);
    }
    p
}

fn encode(secret: u8, ids: &[String], recs: &[Vec<(AttrKind, String)>]) -> Vec<u8> {
    let schema = Schema::for_kinds(&[
        AttrKind::GivenName,
        AttrKind::Surname,
        AttrKind::DateOfBirth,
    ]);
    let enc = Encoder::new(&schema, &Secret::from_bytes([secret; 32])).unwrap();
    let table: EncodedTable = enc.encode_table(ids, recs).unwrap();
    let mut out = Vec::new();
    write_encodings(&mut out, &table).unwrap();
    out
}

/// Party `tag` holds people `range`, its ids `tag-<person>`.
fn party(tag: &str, range: std::ops::Range<usize>, secret: u8) -> (Vec<u8>, Vec<String>) {
    let ids: Vec<String> = range.clone().map(|i| format!("{tag}-{i}")).collect();
    let recs: Vec<_> = range
        .map(|i| if tag == "a" { person(i) } else { typed(i) })
        .collect();
    (encode(secret, &ids, &recs), ids)
}

struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(
        dir: &Path,
        max_upload: usize,
        projects: &[(&str, u16)],
    ) -> (Running, Vec<Vec<String>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let unit = Unit::open(dir, max_upload, move |l| {
            sink.lock().unwrap().push(l.to_string())
        })
        .unwrap();
        let mut tokens = Vec::new();
        for (name, parties) in projects {
            tokens.push(
                unit.db()
                    .create_project(name, *parties, &LinkConfig::default())
                    .unwrap(),
            );
        }
        let rt = tokio::runtime::Runtime::new().unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(serve(listener, unit, async {
                let _ = rx.await;
            }))
        });
        let running = Running {
            base,
            stop: Some(tx),
            thread: Some(thread),
            log,
        };
        (running, tokens)
    }

    fn client(&self, token: &str) -> Client {
        Client::new(&self.base, token).unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap().unwrap();
        }
    }
}

fn wait(c: &Client, project: &str) -> BTreeMap<String, String> {
    let csv = c
        .wait_for_result(project, Duration::from_secs(60), Duration::from_millis(20))
        .unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("record_id,link_id"));
    lines
        .map(|l| {
            let (id, link) = l.split_once(',').unwrap();
            (id.to_string(), link.to_string())
        })
        .collect()
}

fn raw(base: &str, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}{path}");
    let mut resp = match method {
        "PUT" => {
            let mut r = agent.put(&url);
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            r.send(body).unwrap()
        }
        _ => {
            let mut r = agent.get(&url);
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            r.call().unwrap()
        }
    };
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn two_parties_link_and_each_sees_only_its_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (unit, tokens) = Running::start(dir.path(), 1 << 24, &[("p1", 2)]);
    let (ta, tb) = (&tokens[0][0], &tokens[0][1]);
    let (enc_a, ids_a) = party("a", 0..300, 9);
    // B holds people 200..400: 100 shared with A.
    let (enc_b, ids_b) = party("b", 200..400, 9);
    let a = unit.client(ta);
    let b = unit.client(tb);
    let ack = a.submit("p1", &enc_a).unwrap();
    assert_eq!(ack["party"], 1);
    assert_eq!(ack["records"], 300);
    assert_eq!(ack["state"], "waiting");
    assert!(
        a.result("p1").unwrap().is_none(),
        "not ready with one upload"
    );
    assert_eq!(b.status("p1").unwrap()["uploaded"], serde_json::json!([1]));
    b.submit("p1", &enc_b).unwrap();
    let map_a = wait(&a, "p1");
    let map_b = wait(&b, "p1");
    assert_eq!(
        map_a.keys().cloned().collect::<BTreeSet<_>>(),
        ids_a.iter().cloned().collect()
    );
    assert_eq!(
        map_b.keys().cloned().collect::<BTreeSet<_>>(),
        ids_b.iter().cloned().collect()
    );
    // Score against the truth: a-i and b-i are the same person.
    let by_link: BTreeMap<&str, &str> = map_b
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(id, l)| (l.as_str(), id.as_str()))
        .collect();
    let (mut tp, mut fp) = (0, 0);
    for (id, link) in map_a.iter().filter(|(_, l)| !l.is_empty()) {
        let other = by_link
            .get(link.as_str())
            .expect("a link id names records at both parties");
        if other[2..] == id[2..] {
            tp += 1;
        } else {
            fp += 1;
        }
    }
    let (p, r) = (tp as f64 / (tp + fp) as f64, tp as f64 / 100.0);
    assert!(p >= 0.99 && r >= 0.95, "precision {p}, recall {r}");
    // Unlinked records are listed with an empty link id; link ids are random hex.
    assert!(map_a["a-0"].is_empty());
    assert!(
        map_a
            .values()
            .filter(|l| !l.is_empty())
            .all(|l| l.len() == 16)
    );
    // A second upload is refused and changes nothing.
    let e = a.submit("p1", &enc_a).unwrap_err();
    assert!(matches!(e, UnitError::Conflict(_)), "{e}");
    assert_eq!(wait(&a, "p1"), map_a);
}

#[test]
fn three_parties_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let (unit, tokens) = Running::start(dir.path(), 1 << 24, &[("trio", 3)]);
    let ranges = [0..200, 100..300, 150..250];
    for (t, (tag, r)) in tokens[0].iter().zip(["a", "b", "c"].iter().zip(ranges)) {
        let (enc, _) = party(tag, r, 4);
        unit.client(t).submit("trio", &enc).unwrap();
    }
    let maps: Vec<_> = tokens[0]
        .iter()
        .map(|t| wait(&unit.client(t), "trio"))
        .collect();
    // People 150..200 are at all three parties: one link id for the three records.
    let mut right = 0;
    for i in 150..200 {
        let l = &maps[0][&format!("a-{i}")];
        if !l.is_empty() && *l == maps[1][&format!("b-{i}")] && *l == maps[2][&format!("c-{i}")] {
            right += 1;
        }
    }
    assert!(
        right >= 48,
        "{right} of 50 three-way people share one link id"
    );
    // Nobody outside the overlaps is linked: 0..100 are only at A.
    assert!((0..100).all(|i| maps[0][&format!("a-{i}")].is_empty()));
}

#[test]
fn refusals_change_nothing_and_the_unit_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (unit, tokens) = Running::start(dir.path(), 64 * 1024, &[("p1", 2), ("other", 2)]);
    let (ta, tb, t_other) = (&tokens[0][0], &tokens[0][1], &tokens[1][0]);
    let (enc_a, _) = party("a", 0..100, 1);
    let base = unit.base.clone();
    let put = "/v1/projects/p1/encodings";
    // No token, an unknown token, another project's token.
    let (s, body) = raw(&base, "PUT", put, None, &enc_a);
    assert_eq!(s, 401, "{body}");
    assert!(body.contains("\"error\":\"unauthorized\""), "{body}");
    assert_eq!(raw(&base, "PUT", put, Some("spt_forged"), &enc_a).0, 401);
    assert_eq!(
        raw(
            &base,
            "GET",
            "/v1/projects/p1/result",
            Some("spt_forged"),
            b""
        )
        .0,
        401
    );
    assert_eq!(raw(&base, "GET", "/v1/projects/p1", None, b"").0, 401);
    let (s, body) = raw(&base, "PUT", put, Some(t_other), &enc_a);
    assert_eq!(s, 403, "{body}");
    assert_eq!(
        raw(&base, "GET", "/v1/projects/p1/result", Some(t_other), b"").0,
        403
    );
    // Malformed uploads: the message names the line.
    let text = String::from_utf8(enc_a.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[5] = "{\"id\":\"a-4\",\"clk\":\"AAAA\"}";
    let (s, body) = raw(&base, "PUT", put, Some(ta), lines.join("\n").as_bytes());
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("line 6"), "{body}");
    let (s, body) = raw(&base, "PUT", put, Some(ta), b"name,dob\nAnn,1970-01-01\n");
    assert_eq!(s, 400);
    assert!(body.contains("line 1: not an encodings file"), "{body}");
    let (s, body) = raw(&base, "PUT", put, Some(ta), b"\xff\xfe\xfd\n");
    assert_eq!(s, 400, "{body}");
    let plain_row = text.replacen("\"clk\"", "\"name\":\"Olivia\",\"clk\"", 1);
    assert_eq!(
        raw(&base, "PUT", put, Some(ta), plain_row.as_bytes()).0,
        400
    );
    // Too large.
    let (s, body) = raw(&base, "PUT", put, Some(ta), &vec![b' '; 65 * 1024]);
    assert_eq!(s, 413, "{body}");
    assert!(body.contains("too_large"), "{body}");
    // Nothing was stored by any of these: A's good upload is its first.
    assert_eq!(
        unit.client(ta).submit("p1", &enc_a).unwrap()["uploaded"],
        serde_json::json!([1])
    );
    // B with another secret: incompatible, refused, B can still upload the right ones.
    let (wrong_key, _) = party("b", 50..150, 2);
    let e = unit.client(tb).submit("p1", &wrong_key).unwrap_err();
    assert!(matches!(e, UnitError::Incompatible(_)), "{e}");
    assert!(e.to_string().contains("different secrets"), "{e}");
    let (enc_b, _) = party("b", 50..150, 1);
    unit.client(tb).submit("p1", &enc_b).unwrap();
    let map = wait(&unit.client(ta), "p1");
    assert_eq!(map.len(), 100);
    assert!(map.values().filter(|l| !l.is_empty()).count() >= 45);
    // Unknown endpoints and projects.
    assert_eq!(raw(&base, "GET", "/v1/nothing", Some(ta), b"").0, 404);
    assert_eq!(raw(&base, "GET", "/v1/projects/p2", Some(ta), b"").0, 403);
    assert_eq!(raw(&base, "GET", "/health", None, b"").0, 200);
}

#[test]
fn uploads_and_mappings_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (enc_a, _) = party("a", 0..120, 6);
    let (enc_b, _) = party("b", 60..180, 6);
    let tokens = {
        let (unit, tokens) = Running::start(dir.path(), 1 << 24, &[("p1", 2)]);
        unit.client(&tokens[0][0]).submit("p1", &enc_a).unwrap();
        tokens
    };
    let first = {
        let (unit, _) = Running::start(dir.path(), 1 << 24, &[]);
        let a = unit.client(&tokens[0][0]);
        assert_eq!(a.status("p1").unwrap()["uploaded"], serde_json::json!([1]));
        unit.client(&tokens[0][1]).submit("p1", &enc_b).unwrap();
        wait(&a, "p1")
    };
    let (unit, _) = Running::start(dir.path(), 1 << 24, &[]);
    assert_eq!(wait(&unit.client(&tokens[0][0]), "p1"), first);
}

#[test]
fn nothing_plain_is_stored_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = {
        let (unit, tokens) = Running::start(dir.path(), 1 << 24, &[("p1", 2)]);
        let (enc_a, _) = party("a", 0..150, 3);
        let (enc_b, _) = party("b", 0..150, 3);
        unit.client(&tokens[0][0]).submit("p1", &enc_a).unwrap();
        unit.client(&tokens[0][1]).submit("p1", &enc_b).unwrap();
        wait(&unit.client(&tokens[0][1]), "p1");
        let log = unit.log.lock().unwrap().join("\n");
        // Tokens are stored hashed: not one of them is in the files.
        let files = all_bytes(dir.path());
        for t in &tokens[0] {
            assert!(
                !contains(&files, t.as_bytes()),
                "a token was stored in clear"
            );
        }
        log
    };
    assert!(log.contains("party 1 uploaded 150 encodings"), "{log}");
    let files = all_bytes(dir.path());
    assert!(files.len() > 10_000, "the unit's files were read");
    let mut plain: BTreeSet<String> = BTreeSet::new();
    for i in 0..150 {
        for (_, v) in person(i).into_iter().chain(typed(i)) {
            plain.insert(v.clone());
            plain.insert(v.to_lowercase());
            plain.insert(v.replace('-', ""));
        }
    }
    for v in &plain {
        assert!(
            !contains(&files, v.as_bytes()),
            "{v:?} is in the unit's files"
        );
        assert!(!log.contains(v.as_str()), "{v:?} is in the unit's log");
    }
}

fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
