//! `spirit evaluate` through its library function: pair and cluster truth files, scopes,
//! candidates for blocking recall, and errors that name the file and line.

use std::path::PathBuf;

use spirit_engine::EngineError;
use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_matching::eval::{Prf, Scope};

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }
}

fn all_pairs() -> EvaluateOptions {
    EvaluateOptions {
        scope: Scope::AllPairs,
    }
}

fn counts(m: &Prf) -> (u64, u64, u64) {
    (m.true_positives, m.predicted, m.actual)
}

const FEBRL_CLUSTERS: &str = "source,record_id,entity_id
febrl,rec-0-org,0
febrl,rec-0-dup-0,0
febrl,rec-1-org,1
febrl,rec-1-dup-0,2
febrl,rec-2-org,3
febrl,rec-2-dup-0,3
";

#[test]
fn pair_truth_with_missing_records_and_candidates() {
    let files = Files::new();
    let clusters = files.write("clusters.csv", FEBRL_CLUSTERS);
    // rec-1 is split in the prediction; rec-3 is absent from clusters.csv entirely;
    // rec-2 is predicted together but not a true pair.
    let truth = files.write(
        "true_pairs.csv",
        "id_a,id_b\nrec-0-org,rec-0-dup-0\nrec-1-dup-0,rec-1-org\nrec-3-org,rec-3-dup-0\nrec-0-dup-0,rec-0-org\n",
    );
    let candidates = files.write(
        "candidates.csv",
        "left,right\nfebrl:rec-0-org,febrl:rec-0-dup-0\nfebrl:rec-1-org,febrl:rec-1-dup-0\n\
         febrl:rec-0-org,febrl:rec-2-org\nfebrl:nobody,febrl:rec-0-org\n",
    );
    let result = evaluate_files(&clusters, &truth, Some(&candidates), &all_pairs()).unwrap();
    assert_eq!(result.truth_kind, "pairs");
    assert_eq!(result.missing_from_clusters, 2);
    assert_eq!(result.unknown_candidates, 1);
    let r = &result.report;
    // Predicted pairs: rec-0 pair, rec-2 pair = 2. True pairs: rec-0, rec-1, rec-3 = 3.
    assert_eq!(counts(&r.pairwise), (1, 2, 3));
    assert_eq!(r.records, 6);
    // Truth closure over known records: {0-org,0-dup} {1-org,1-dup} {2-org} {2-dup}.
    assert_eq!((r.predicted_clusters, r.true_clusters), (4, 4));
    assert_eq!(counts(&r.cluster_exact), (1, 4, 4));
    let blocking = r.blocking_recall.expect("candidates were given");
    // Candidates: 3 known pairs; true among them: rec-0 and rec-1; true pairs 3.
    assert_eq!(counts(&blocking), (2, 3, 3));
    let text = result.to_string();
    assert!(
        text.contains("truth: pairs; 2 truth records not in clusters.csv"),
        "{text}"
    );
    assert!(
        text.contains("1 candidate keys not in clusters.csv"),
        "{text}"
    );
    serde_json::to_string(&result).unwrap();
}

#[test]
fn people_file_is_its_own_cluster_truth() {
    let files = Files::new();
    let clusters = files.write(
        "clusters.csv",
        "source,record_id,entity_id\npeople,r1,7\npeople,r2,7\npeople,r3,7\npeople,r4,9\npeople,r5,11\n",
    );
    // r5 is not in the truth (a truth singleton); r6 is not in clusters.csv (dropped).
    let truth = files.write(
        "people.csv",
        "rec_id,cluster_id,first_name,surname,dob\n\
         r1,c1,\"Smith, Jo\",Smith,1980-01-01\n\
         r2,c1,Jo,Smith,1980-01-01\n\
         r3,c2,Ann,Lee,1975-05-05\n\
         r4,c2,Anne,Lee,1975-05-05\n\
         r6,c2,Ann,Lee,\n",
    );
    let result = evaluate_files(&clusters, &truth, None, &all_pairs()).unwrap();
    assert_eq!(result.truth_kind, "clusters");
    assert_eq!(result.missing_from_clusters, 1);
    let r = &result.report;
    // Predicted pairs: 12 13 23 = 3; true pairs: 12 34 = 2; common: 12.
    assert_eq!(counts(&r.pairwise), (1, 3, 2));
    assert_eq!(
        (r.records, r.predicted_clusters, r.true_clusters),
        (5, 3, 3)
    );
    // Exact: {r5} only.
    assert_eq!(counts(&r.cluster_exact), (1, 3, 3));
    assert!(r.blocking_recall.is_none());
}

#[test]
fn cross_source_scope_with_a_source_column() {
    let files = Files::new();
    let clusters = files.write(
        "clusters.csv",
        "source,record_id,entity_id\na,1,x\na,2,x\nb,1,x\nb,2,y\n",
    );
    let truth = files.write(
        "truth.csv",
        "source,record_id,entity_id\na,1,p\na,2,p\nb,1,p\nb,2,q\n",
    );
    let options = EvaluateOptions {
        scope: Scope::CrossSource,
    };
    let result = evaluate_files(&clusters, &truth, None, &options).unwrap();
    // Cross pairs inside {a1,a2,b1}: a1-b1, a2-b1 in both prediction and truth.
    assert_eq!(counts(&result.report.pairwise), (2, 2, 2));
    assert_eq!(result.report.scope, Scope::CrossSource);
}

#[test]
fn ambiguous_record_id_is_an_error() {
    let files = Files::new();
    let clusters = files.write(
        "clusters.csv",
        "source,record_id,entity_id\nleft,1,0\nright,1,1\nright,2,1\n",
    );
    let truth = files.write("truth.csv", "rec_id,cluster_id\n2,a\n1,a\n");
    let err = evaluate_files(&clusters, &truth, None, &all_pairs()).unwrap_err();
    match &err {
        EngineError::Input {
            path,
            line,
            message,
        } => {
            assert_eq!(path, &truth);
            assert_eq!(*line, Some(3));
            assert!(message.contains("`left` and `right`"), "{message}");
            assert!(message.contains("source"), "{message}");
        }
        other => panic!("unexpected error {other}"),
    }
    // A qualified key or a source column resolves it.
    let qualified = files.write("pairs.csv", "left,right\nright:2,left:1\n");
    let result = evaluate_files(&clusters, &qualified, None, &all_pairs()).unwrap();
    assert_eq!(counts(&result.report.pairwise), (0, 1, 1));
}

#[test]
fn clusters_file_without_header_names_the_file() {
    let files = Files::new();
    let clusters = files.write("clusters.csv", "id,cluster\n1,1\n");
    let truth = files.write("truth.csv", "id_a,id_b\n1,2\n");
    let err = evaluate_files(&clusters, &truth, None, &all_pairs()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("clusters.csv"), "{text}");
    assert!(text.contains("source,record_id,entity_id"), "{text}");
    assert!(matches!(err, EngineError::Input { ref path, .. } if path == &clusters));
}

#[test]
fn malformed_row_names_file_and_line() {
    let files = Files::new();
    let clusters = files.write("clusters.csv", "source,record_id,entity_id\ns,1,0\ns,2\n");
    let truth = files.write("truth.csv", "id_a,id_b\n1,2\n");
    let err = evaluate_files(&clusters, &truth, None, &all_pairs()).unwrap_err();
    match err {
        EngineError::Input {
            path,
            line,
            message,
        } => {
            assert_eq!(path, clusters);
            assert_eq!(line, Some(3));
            assert!(message.contains("expected 3 fields"), "{message}");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn inconsistent_inputs_are_errors() {
    let files = Files::new();
    let clusters = files.write("clusters.csv", "source,record_id,entity_id\ns,1,0\ns,2,0\n");
    let duplicate = files.write("dup.csv", "source,record_id,entity_id\ns,1,0\ns,1,1\n");
    let truth = files.write("truth.csv", "id_a,id_b\n1,2\n");
    let err = evaluate_files(&duplicate, &truth, None, &all_pairs()).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let conflict = files.write("conflict.csv", "rec_id,cluster_id\n1,a\n1,b\n");
    let err = evaluate_files(&clusters, &conflict, None, &all_pairs()).unwrap_err();
    assert!(err.to_string().contains("clusters `a` and `b`"), "{err}");
    let unknown = files.write("unknown.csv", "name,dob,city\nx,y,z\n");
    let err = evaluate_files(&clusters, &unknown, None, &all_pairs()).unwrap_err();
    assert!(
        err.to_string().contains("cannot tell pairs from clusters"),
        "{err}"
    );
    let no_id = files.write("no_id.csv", "name,cluster_id,city\nx,1,z\n");
    let err = evaluate_files(&clusters, &no_id, None, &all_pairs()).unwrap_err();
    assert!(err.to_string().contains("no record id column"), "{err}");
    let missing = files.dir.path().join("absent.csv");
    let err = evaluate_files(&clusters, &missing, None, &all_pairs()).unwrap_err();
    assert!(matches!(err, EngineError::Io { ref path, .. } if path == &missing));
    let empty = files.write("empty.csv", "");
    let err = evaluate_files(&empty, &truth, None, &all_pairs()).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn byte_order_mark_and_padding_are_ignored() {
    let files = Files::new();
    let clusters = files.write(
        "clusters.csv",
        "\u{feff}source,record_id,entity_id\ns,1,0\ns,2,0\ns,3,1\n",
    );
    let truth = files.write(
        "truth.csv",
        "\u{feff} Rec ID , Cluster \n 1 ,x\n2, x\n3,y\n",
    );
    let result = evaluate_files(&clusters, &truth, None, &all_pairs()).unwrap();
    assert_eq!(counts(&result.report.pairwise), (1, 1, 1));
    assert_eq!(result.report.cluster_exact.precision, 1.0);
}
