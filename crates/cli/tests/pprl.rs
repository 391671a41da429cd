//! `spirit pprl`: a shared secret, encodings that carry no plain value, and linkage of two
//! parties' encodings, through the real binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

fn spirit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Two parties from the demo data: rows 0..1000 and 1000..2000 (same columns), and the
/// truth as rec_id → cluster_id.
fn parties(dir: &Path) -> (String, String, BTreeMap<String, String>) {
    let people = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv");
    let text = std::fs::read_to_string(people).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let write = |name: &str, rows: &[&str]| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{}\n{}\n", lines[0], rows.join("\n"))).unwrap();
        p.display().to_string()
    };
    let a = write("a.csv", &lines[1..1001]);
    let b = write("b.csv", &lines[1001..]);
    let truth = lines[1..]
        .iter()
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect();
    (a, b, truth)
}

#[test]
fn two_parties_link_on_encodings_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, truth) = parties(dir.path());
    let key = dir.path().join("shared.key");
    std::fs::write(&key, ok(&spirit(&["pprl", "keygen"]))).unwrap();
    let key = key.display().to_string();
    let encode = |file: &str, out: &str| {
        let text = ok(&spirit(&[
            "pprl",
            "encode",
            "--key",
            &key,
            "--exclude-column",
            "cluster_id",
            file,
        ]));
        let p = dir.path().join(out);
        std::fs::write(&p, &text).unwrap();
        (p.display().to_string(), text)
    };
    let (enc_a, text_a) = encode(&a, "enc_a.jsonl");
    let (enc_b, _) = encode(&b, "enc_b.jsonl");
    assert_eq!(
        text_a.lines().count(),
        1001,
        "a header line and one per record"
    );
    assert!(text_a.lines().next().unwrap().contains("\"hardened\":true"));
    // Nothing but ids, the public description and bits leaves the party.
    for plain in [
        "Heather",
        "heather",
        "Wright",
        "wright",
        "hotmail",
        "1950-02-13",
    ] {
        assert!(!text_a.contains(plain), "{plain} leaked into the encodings");
    }

    let out = ok(&spirit(&["pprl", "link", &enc_a, &enc_b]));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("left_id,right_id,dice"));
    let links: Vec<(String, String)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    let true_pairs: BTreeSet<(String, String)> = truth
        .iter()
        .filter(|(id, _)| id.parse::<usize>().unwrap() < 1000)
        .flat_map(|(ia, ca)| {
            truth
                .iter()
                .filter(move |(ib, cb)| ib.parse::<usize>().unwrap() >= 1000 && cb == &ca)
                .map(move |(ib, _)| (ia.clone(), ib.clone()))
        })
        .collect();
    let right = links.iter().filter(|l| true_pairs.contains(*l)).count();
    assert!(!links.is_empty());
    // The demo data has households (shared surname, address, phone) that one record-level
    // filter cannot always tell apart from the person; most links must still be right.
    let precision = right as f64 / links.len() as f64;
    assert!(
        precision >= 0.8,
        "precision {precision} over {} links",
        links.len()
    );
    // 1:1: no record is linked twice.
    let lefts: BTreeSet<&String> = links.iter().map(|l| &l.0).collect();
    let rights: BTreeSet<&String> = links.iter().map(|l| &l.1).collect();
    assert_eq!(lefts.len(), links.len());
    assert_eq!(rights.len(), links.len());
}

#[test]
fn mismatched_keys_and_damaged_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = parties(dir.path());
    let mut encoded = Vec::new();
    for (i, file) in [&a, &b].iter().enumerate() {
        let key = dir.path().join(format!("k{i}"));
        std::fs::write(&key, ok(&spirit(&["pprl", "keygen"]))).unwrap();
        let text = ok(&spirit(&[
            "pprl",
            "encode",
            "--key",
            &key.display().to_string(),
            file,
        ]));
        let p = dir.path().join(format!("e{i}.jsonl"));
        std::fs::write(&p, text).unwrap();
        encoded.push(p.display().to_string());
    }
    let o = spirit(&["pprl", "link", &encoded[0], &encoded[1]]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("different secrets"), "{err}");

    let damaged = dir.path().join("damaged.jsonl");
    let text = std::fs::read_to_string(&encoded[0]).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = "{\"id\": \"x\", \"clk\": \"not base64!\"}".into();
    std::fs::write(&damaged, lines.join("\n")).unwrap();
    let o = spirit(&["pprl", "link", &damaged.display().to_string(), &encoded[0]]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("damaged.jsonl") && err.contains("line 4"),
        "{err}"
    );

    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "nonsense").unwrap();
    let o = spirit(&[
        "pprl",
        "encode",
        "--key",
        &bad_key.display().to_string(),
        &a,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.key"));
}

/// Encodes `file` with `key` (the demo's cluster column left out) into `out`.
fn encode_to(key: &str, file: &str, out: &Path) -> String {
    let text = ok(&spirit(&[
        "pprl",
        "encode",
        "--key",
        key,
        "--exclude-column",
        "cluster_id",
        file,
    ]));
    std::fs::write(out, text).unwrap();
    out.display().to_string()
}

/// A running `spirit pprl serve`, stopped with SIGTERM when dropped; its log collected.
struct Unit {
    child: std::process::Child,
    base: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Unit {
    fn start(args: &[&str]) -> Unit {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_spirit"))
            .args(["pprl", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = std::sync::Arc::clone(&log);
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.split(' ').next().unwrap().to_string());
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let base = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the unit did not start: {}", log.lock().unwrap()));
        Unit { child, base, log }
    }

    fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the unit exits cleanly on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

#[test]
fn the_linkage_unit_links_parties_that_keep_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, truth) = parties(dir.path());
    let key = dir.path().join("shared.key");
    std::fs::write(&key, ok(&spirit(&["pprl", "keygen"]))).unwrap();
    let key = key.display().to_string();
    let enc_a = encode_to(&key, &a, &dir.path().join("enc_a.jsonl"));
    let enc_b = encode_to(&key, &b, &dir.path().join("enc_b.jsonl"));
    let data = dir.path().join("unit");
    let tokens = dir.path().join("tokens.txt");
    let data_s = data.display().to_string();
    let tokens_s = tokens.display().to_string();
    let unit_args = ["--project", "p1", "--parties", "2", "--data", &data_s];
    let unit = Unit::start(&[&unit_args[..], &["--tokens", &tokens_s]].concat());
    let lines: Vec<String> = std::fs::read_to_string(&tokens)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "one token per party");
    let token_file = |k: usize| {
        let p = dir.path().join(format!("party{k}.token"));
        std::fs::write(&p, &lines[k]).unwrap();
        p.display().to_string()
    };
    let (tf_a, tf_b) = (token_file(0), token_file(1));
    let party = |tf: &str| {
        [
            "--to",
            unit.base.as_str(),
            "--project",
            "p1",
            "--token-file",
            tf,
        ]
        .map(str::to_owned)
    };
    let run = |verb: &str, tf: &str, extra: &[&str]| {
        let mut args: Vec<String> = vec!["pprl".into(), verb.into()];
        args.extend(party(tf));
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        spirit(&refs)
    };
    // A wrong token and a file that is not encodings are refused with a clear message.
    let bad = spirit(&[
        "pprl",
        "submit",
        "--to",
        &unit.base,
        "--project",
        "p1",
        "--token",
        "spt_wrong",
        &enc_a,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown party token"));
    let bad = run("submit", &tf_a, &[&a]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1: not an encodings file"));
    let early = run("result", &tf_a, &["--wait", "0"]);
    assert_eq!(early.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&early.stderr).contains("no mapping yet"));

    ok(&run("submit", &tf_a, &[&enc_a]));
    ok(&run("submit", &tf_b, &[&enc_b]));
    let map_a = ok(&run("result", &tf_a, &["--wait", "60"]));
    let map_b = ok(&run("result", &tf_b, &["--wait", "60"]));
    let parse = |csv: &str| -> BTreeMap<String, String> {
        let mut l = csv.lines();
        assert_eq!(l.next(), Some("record_id,link_id"));
        l.map(|r| {
            let (id, link) = r.split_once(',').unwrap();
            (id.to_string(), link.to_string())
        })
        .collect()
    };
    let (map_a, map_b) = (parse(&map_a), parse(&map_b));
    assert_eq!(map_a.len(), 1000, "every record A submitted is listed");
    assert_eq!(map_b.len(), 1000);
    let cluster_of_b: BTreeMap<&str, &str> = map_b
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(id, l)| (l.as_str(), truth[id].as_str()))
        .collect();
    let links: Vec<(&String, &String)> = map_a.iter().filter(|(_, l)| !l.is_empty()).collect();
    let right = links
        .iter()
        .filter(|(id, l)| cluster_of_b.get(l.as_str()) == Some(&truth[*id].as_str()))
        .count();
    assert!(links.len() > 100, "{} links", links.len());
    assert!(
        right as f64 >= 0.8 * links.len() as f64,
        "{right} of {} links right",
        links.len()
    );

    // The unit stops cleanly; after a restart the mapping is still there.
    let log1 = unit.stop();
    let unit = Unit::start(&unit_args);
    let again = ok(&spirit(&[
        "pprl",
        "result",
        "--to",
        &unit.base,
        "--project",
        "p1",
        "--token-file",
        &tf_a,
        "--wait",
        "0",
    ]));
    assert_eq!(parse(&again), map_a);
    let log = log1 + &unit.stop();
    assert!(log.contains("party 2 uploaded 1000 encodings"), "{log}");

    // Nothing the unit stored or logged holds a plain value of either party.
    let mut stored = Vec::new();
    for e in std::fs::read_dir(&data).unwrap() {
        stored.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    assert!(stored.len() > 100_000, "the unit's files were read");
    let stored = String::from_utf8_lossy(&stored);
    let people = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv"),
    )
    .unwrap();
    let mut values = BTreeSet::new();
    for line in people.lines().skip(1) {
        // Every field but the record and cluster ids: names, dates, addresses, e-mails, phones.
        for v in line.split(',').skip(2) {
            // Numbers alone (house numbers, postcodes) also occur in ids and page data.
            if v.len() >= 5 && v.bytes().any(|b| !b.is_ascii_digit()) {
                values.insert(v.to_string());
                values.insert(v.to_lowercase());
            }
        }
    }
    assert!(
        values.len() > 1000,
        "{} plain values to look for",
        values.len()
    );
    for v in &values {
        assert!(!stored.contains(v.as_str()), "{v:?} is in the unit's files");
        assert!(!log.contains(v.as_str()), "{v:?} is in the unit's log");
    }
}

#[test]
fn three_parties_link_and_own_encodings_are_assessed() {
    let dir = tempfile::tempdir().unwrap();
    let people = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv"),
    )
    .unwrap();
    let lines: Vec<&str> = people.lines().collect();
    let key = dir.path().join("shared.key");
    std::fs::write(&key, ok(&spirit(&["pprl", "keygen"]))).unwrap();
    let key = key.display().to_string();
    let mut files = Vec::new();
    let mut encs = Vec::new();
    for (k, range) in [(1..700), (700..1400), (1400..lines.len())]
        .into_iter()
        .enumerate()
    {
        let p = dir.path().join(format!("p{k}.csv"));
        std::fs::write(&p, format!("{}\n{}\n", lines[0], lines[range].join("\n"))).unwrap();
        let p = p.display().to_string();
        encs.push(encode_to(&key, &p, &dir.path().join(format!("e{k}.jsonl"))));
        files.push(p);
    }
    let truth: BTreeMap<&str, &str> = lines[1..]
        .iter()
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap(), f.next().unwrap())
        })
        .collect();
    let out = ok(&spirit(&["pprl", "link", &encs[0], &encs[1], &encs[2]]));
    let mut rows = out.lines();
    assert_eq!(rows.next(), Some("link_id,party,record_id"));
    let mut clusters: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rows {
        let f: Vec<&str> = r.split(',').collect();
        clusters
            .entry(f[0].into())
            .or_default()
            .push((f[1].into(), f[2].into()));
    }
    assert!(
        clusters.values().any(|c| c.len() == 3),
        "some people are at all three parties"
    );
    let (mut pairs, mut right) = (0, 0);
    for c in clusters.values() {
        let parties: BTreeSet<&String> = c.iter().map(|(p, _)| p).collect();
        assert_eq!(
            parties.len(),
            c.len(),
            "at most one record per party in a cluster"
        );
        for i in 0..c.len() {
            for j in i + 1..c.len() {
                pairs += 1;
                right += usize::from(truth[c[i].1.as_str()] == truth[c[j].1.as_str()]);
            }
        }
    }
    assert!(
        right as f64 >= 0.8 * pairs as f64,
        "{right} of {pairs} linked pairs right"
    );

    // The attack on party 0's encodings with party 1's people as the sample re-identifies
    // (almost) nobody with the default hardening.
    let report = ok(&spirit(&[
        "pprl",
        "assess",
        &encs[0],
        "--plain",
        &files[1],
        "--truth",
        &files[0],
        "--exclude-column",
        "cluster_id",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(v["encodings"], 699);
    assert!(
        v["re_identified_share"].as_f64().unwrap() <= 0.01,
        "{report}"
    );
    let text = ok(&spirit(&[
        "pprl",
        "assess",
        &encs[0],
        "--plain",
        &files[1],
        "--exclude-column",
        "cluster_id",
    ]));
    assert!(
        text.contains("records the attack named a sample person for"),
        "{text}"
    );
    // Assessing with another schema than the one used is refused with the reason.
    let schema = dir.path().join("s.toml");
    std::fs::write(&schema, "[[fields]]\nkind = \"surname\"\n").unwrap();
    let o = spirit(&[
        "pprl",
        "assess",
        &encs[0],
        "--plain",
        &files[1],
        "--schema",
        &schema.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not encoded with this schema"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
