//! End-to-end tests of the `spirit` binary: real files in, real files and output out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spirit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs")
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn demo_people() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo/people.csv")
        .display()
        .to_string()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn links_two_sources_and_explains_a_pair() {
    let out = tempfile::tempdir().unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        &data("a.csv"),
        "--input",
        &data("b.csv"),
        "--link-type",
        "link",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("candidate pairs"), "{stdout}");
    let clusters = read(out.path().join("clusters.csv"));
    let mut lines = clusters.lines();
    assert_eq!(lines.next(), Some("source,record_id,entity_id"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 7, "one row per input record");
    let entity = |src: &str, id: &str| {
        rows.iter()
            .find(|r| r[0] == src && r[1] == id)
            .map(|r| r[2].to_string())
            .unwrap()
    };
    assert_eq!(entity("a", "a1"), entity("b", "b1"));
    assert_eq!(entity("a", "a2"), entity("b", "b2"));
    assert_ne!(entity("a", "a1"), entity("a", "a2"));
    assert_ne!(entity("a", "a3"), entity("b", "b3"));

    let edges = read(out.path().join("edges.csv"));
    let header = edges.lines().next().unwrap();
    assert!(
        header.starts_with("left,right,match_weight,probability,w_given_name"),
        "{header}"
    );
    assert!(edges.contains("a:a1,b:b1,"), "{edges}");

    let model = out.path().join("model.json");
    let o = spirit(&[
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &data("a.csv"),
        "--input",
        &data("b.csv"),
        "a1",
        "b:b1",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    for needle in [
        "prior",
        "given_name",
        "surname",
        "date_of_birth",
        "email",
        "match weight",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from\n{stdout}");
    }
    // The rows of the waterfall add up: last running total equals the match weight.
    let json = spirit(&[
        "explain",
        "--json",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &data("a.csv"),
        "--input",
        &data("b.csv"),
        "a1",
        "b1",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let sum: f64 = v["prior_weight"].as_f64().unwrap()
        + v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["partial_weight"].as_f64().unwrap())
            .sum::<f64>();
    assert!((sum - v["match_weight"].as_f64().unwrap()).abs() < 1e-9);
    assert!(v["probability"].as_f64().unwrap() > 0.5);
}

#[test]
fn dedupes_the_demo_data_accurately_and_reuses_the_model() {
    let out = tempfile::tempdir().unwrap();
    let outp = out.path().to_str().unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        &demo_people(),
        "--exclude-column",
        "cluster_id",
        "--out",
        outp,
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["records"], 2000);
    assert!(summary["blocking_reduction"].as_f64().unwrap() > 0.99);

    let clusters = out.path().join("clusters.csv");
    let o = spirit(&[
        "evaluate",
        "--clusters",
        clusters.to_str().unwrap(),
        "--truth",
        &demo_people(),
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let f1 = v["report"]["pairwise"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.93, "pairwise F1 {f1}");

    // Scoring again with the saved model gives the same clusters without training.
    let again = tempfile::tempdir().unwrap();
    let model = out.path().join("model.json");
    let o = spirit(&[
        "resolve",
        "--input",
        &demo_people(),
        "--exclude-column",
        "cluster_id",
        "--model",
        model.to_str().unwrap(),
        "--out",
        again.path().to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model_trained"], false);
    assert_eq!(read(clusters), read(again.path().join("clusters.csv")));
}

#[test]
fn malformed_rows_are_quarantined_with_their_line() {
    let out = tempfile::tempdir().unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        &data("broken.csv"),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 quarantined"), "{stdout}");
    let q = read(out.path().join("quarantine.csv"));
    assert!(q.starts_with("source,line,reason,raw"), "{q}");
    assert!(q.contains("broken,3,"), "{q}");
    assert!(q.contains("broken,4,"), "{q}");
    assert_eq!(read(out.path().join("clusters.csv")).lines().count(), 3);
}

#[test]
fn bad_input_gives_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let outp = out.path().to_str().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "resolve".into(),
                "--input".into(),
                "/no/such/file.csv".into(),
                "--out".into(),
                outp.into(),
            ],
            "/no/such/file.csv",
        ),
        (
            vec![
                "resolve".into(),
                "--input".into(),
                data("a.csv"),
                "--id-column".into(),
                "nope".into(),
                "--out".into(),
                outp.into(),
            ],
            "nope",
        ),
        (
            vec![
                "resolve".into(),
                "--input".into(),
                data("a.csv"),
                "--link-type".into(),
                "link".into(),
                "--out".into(),
                outp.into(),
            ],
            "at least two inputs",
        ),
        (
            vec![
                "resolve".into(),
                "--input".into(),
                data("a.csv"),
                "--model".into(),
                data("a.csv"),
                "--out".into(),
                outp.into(),
            ],
            "model",
        ),
        (
            vec![
                "explain".into(),
                "--model".into(),
                "/no/model.json".into(),
                "--input".into(),
                data("a.csv"),
                "a1".into(),
                "a2".into(),
            ],
            "/no/model.json",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = spirit(&args);
        let (stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let empty = out.path().join("empty.csv");
    std::fs::write(&empty, "id,first_name,surname\n").unwrap();
    let o = spirit(&["resolve", "--input", empty.to_str().unwrap(), "--out", outp]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains("no readable records") && stderr.contains("empty.csv"),
        "{stderr}"
    );
    let settings = out.path().join("bad.toml");
    std::fs::write(&settings, "[resolve]\nthreshhold = 0.4\n").unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        &data("a.csv"),
        "--settings",
        settings.to_str().unwrap(),
        "--out",
        outp,
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains("bad.toml") && stderr.contains("threshhold"),
        "{stderr}"
    );
}

#[test]
fn labelled_pairs_fit_the_model() {
    let out = tempfile::tempdir().unwrap();
    let labels = out.path().join("labels.csv");
    std::fs::write(
        &labels,
        "left,right,label\na1,b1,1\na2,b:b2,match\na3,b3,0\n",
    )
    .unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        &data("a.csv"),
        "--input",
        &data("b.csv"),
        "--link-type",
        "link",
        "--labels",
        labels.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let model: serde_json::Value =
        serde_json::from_str(&read(out.path().join("model.json"))).unwrap();
    assert_eq!(model["training"]["method"], "labelled");
    assert_eq!(model["training"]["labelled_matches"], 2);
    assert_eq!(model["training"]["labelled_non_matches"], 1);

    std::fs::write(&labels, "left,right,label\na1,nobody,1\n").unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        &data("a.csv"),
        "--input",
        &data("b.csv"),
        "--labels",
        labels.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains("labels.csv") && stderr.contains("line 2") && stderr.contains("nobody"),
        "{stderr}"
    );
}

#[test]
fn json_lines_and_settings_files_are_read() {
    let out = tempfile::tempdir().unwrap();
    let jsonl = out.path().join("people.jsonl");
    std::fs::write(
        &jsonl,
        concat!(
            "{\"pid\": \"p1\", \"fname\": \"Anna\", \"lname\": \"Kowalska\", \"born\": \"1988-02-03\"}\n",
            "{\"pid\": \"p2\", \"fname\": \"Ana\", \"lname\": \"Kowalska\", \"born\": \"03/02/1988\"}\n",
            "not json\n",
            "{\"pid\": \"p3\", \"fname\": \"Piotr\", \"lname\": \"Nowak\", \"born\": null}\n",
        ),
    )
    .unwrap();
    let settings = out.path().join("spirit.toml");
    std::fs::write(
        &settings,
        "[input]\nid_column = \"pid\"\n[input.columns]\nfname = \"given_name\"\nlname = \"surname\"\nborn = \"date_of_birth\"\n",
    )
    .unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        jsonl.to_str().unwrap(),
        "--settings",
        settings.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["records"], 3);
    assert_eq!(v["sources"][0]["quarantined"], 1);
    assert!(read(out.path().join("quarantine.csv")).contains("people,3,"));
}
