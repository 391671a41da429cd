//! The file readers through their public API: formats, column mapping, quarantine of
//! malformed rows with their lines, and robustness against corrupt input.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::datatypes::DataType;
use spirit_matching::settings::InputSettings;
use spirit_model::AttrKind;
use spirit_sources::{Format, RawRecord, SourceError, SourceTable, read_source};

fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = File::create(&path).unwrap();
    f.write_all(bytes).unwrap();
    path
}

fn value(record: &RawRecord, kind: AttrKind) -> Option<&str> {
    record
        .values
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.as_str())
}

fn read(path: &Path) -> SourceTable {
    read_source(path, &InputSettings::default(), None).unwrap()
}

#[test]
fn format_from_path() {
    assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
    assert_eq!(Format::from_path(Path::new("b.tsv")), Some(Format::Csv));
    assert_eq!(
        Format::from_path(Path::new("b.NDJSON")),
        Some(Format::JsonLines)
    );
    assert_eq!(Format::from_path(Path::new("b.pq")), Some(Format::Parquet));
    assert_eq!(Format::from_path(Path::new("b.xlsx")), None);
    assert_eq!(Format::from_path(Path::new("csv")), None);
}

#[test]
fn csv_recognised_columns_and_address_join() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        &dir,
        "febrl.csv",
        b"rec_id, given_name ,surname,street_number,address_1,address_2,date_of_birth,soc_sec_id,cluster\n\
          rec-1-org,  Jane ,Smith,12,High Street,,19800304,1234567,c1\n\
          rec-1-dup-0,jane,NULL,,High St,Flat 2,n/a,1234567,c1\n",
    );
    let t = read(&path);
    assert_eq!(t.source, "febrl");
    assert_eq!(t.format, Format::Csv);
    assert_eq!(t.id_column.as_deref(), Some("rec_id"));
    assert_eq!(t.ignored_columns, vec!["cluster".to_owned()]);
    assert_eq!(
        t.mapping
            .iter()
            .map(|(h, k)| (h.as_str(), *k))
            .collect::<Vec<_>>(),
        vec![
            ("given_name", AttrKind::GivenName),
            ("surname", AttrKind::Surname),
            ("street_number", AttrKind::Address),
            ("address_1", AttrKind::Address),
            ("address_2", AttrKind::Address),
            ("date_of_birth", AttrKind::DateOfBirth),
            ("soc_sec_id", AttrKind::NationalId),
        ]
    );
    assert_eq!(t.records.len(), 2);
    assert!(t.quarantined.is_empty());
    let a = &t.records[0];
    assert_eq!((a.id.as_str(), a.line), ("rec-1-org", 2));
    assert_eq!(
        a.values,
        vec![
            (AttrKind::GivenName, "Jane".to_owned()),
            (AttrKind::Surname, "Smith".to_owned()),
            (AttrKind::Address, "12 High Street".to_owned()),
            (AttrKind::DateOfBirth, "19800304".to_owned()),
            (AttrKind::NationalId, "1234567".to_owned()),
        ]
    );
    let b = &t.records[1];
    assert_eq!((b.id.as_str(), b.line), ("rec-1-dup-0", 3));
    assert_eq!(value(b, AttrKind::Surname), None);
    assert_eq!(value(b, AttrKind::DateOfBirth), None);
    assert_eq!(value(b, AttrKind::Address), Some("High St Flat 2"));
}

#[test]
fn explicit_mapping_and_exclusion() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        &dir,
        "p.csv",
        b"key,fn,sn,email,truth\n1,Ann,Lee,a@x.org,7\n2,Bo,,,8\n",
    );
    let mut settings = InputSettings::default();
    settings.columns.insert("fn".into(), AttrKind::GivenName);
    settings.columns.insert("SN".into(), AttrKind::Surname); // case-insensitive match
    settings.exclude_columns = vec!["truth".into()];
    // Explicit columns only: `email` is not recognised.
    let t = read_source(&path, &settings, None).unwrap();
    assert_eq!(t.id_column.as_deref(), Some("key"));
    assert_eq!(
        t.mapping,
        vec![
            ("fn".to_owned(), AttrKind::GivenName),
            ("sn".to_owned(), AttrKind::Surname)
        ]
    );
    assert_eq!(
        t.ignored_columns,
        vec!["email".to_owned(), "truth".to_owned()]
    );
    assert_eq!(
        t.records[1].values,
        vec![(AttrKind::GivenName, "Bo".to_owned())]
    );

    // With recognition on, `email` is read too; `truth` stays excluded.
    settings.recognise_columns = true;
    let t = read_source(&path, &settings, None).unwrap();
    assert_eq!(t.mapping.len(), 3);
    assert_eq!(value(&t.records[0], AttrKind::Email), Some("a@x.org"));

    // An excluded column is never read, even when recognisable, and never the id.
    let path = write_file(
        &dir,
        "q.csv",
        b"key,surname,email\n1,Lee,a@x.org\n2,Ng,b@x.org\n",
    );
    let settings = InputSettings {
        exclude_columns: vec!["email".into(), "key".into()],
        ..Default::default()
    };
    let t = read_source(&path, &settings, None).unwrap();
    assert_eq!(t.id_column, None);
    assert_eq!(t.mapping, vec![("surname".to_owned(), AttrKind::Surname)]);
    assert_eq!(
        t.ignored_columns,
        vec!["key".to_owned(), "email".to_owned()]
    );
    assert_eq!(t.records[1].id, "2");
    assert_eq!(
        t.records[1].values,
        vec![(AttrKind::Surname, "Ng".to_owned())]
    );
    // Naming an excluded column as the id is a contradiction, reported as such.
    let msg = read_source(&path, &settings, Some("key"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("exclude_columns"), "{msg}");
}

#[test]
fn missing_named_columns_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "people.csv", b"id,name\n1,Ann\n");
    let e = read_source(&path, &InputSettings::default(), Some("rec_id")).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SourceError::Input { .. }), "{msg}");
    assert!(
        msg.contains("rec_id") && msg.contains("people.csv"),
        "{msg}"
    );
    assert!(msg.contains("\"id\", \"name\""), "{msg}");

    let settings = InputSettings {
        id_column: Some("pid".into()),
        ..Default::default()
    };
    let msg = read_source(&path, &settings, None).unwrap_err().to_string();
    assert!(msg.contains("pid"), "{msg}");
    // The CLI argument overrides the settings.
    let t = read_source(&path, &settings, Some("id")).unwrap();
    assert_eq!(t.id_column.as_deref(), Some("id"));

    let mut settings = InputSettings::default();
    settings.columns.insert("surname".into(), AttrKind::Surname);
    let msg = read_source(&path, &settings, None).unwrap_err().to_string();
    assert!(
        msg.contains("surname") && msg.contains("people.csv"),
        "{msg}"
    );

    // Columns with no built-in kind are fields, unless the settings turn that off.
    let path = write_file(&dir, "odd.csv", b"id,colour,size,Cluster ID\n1,red,4,7\n");
    let t = read_source(&path, &InputSettings::default(), None).unwrap();
    let kinds: Vec<&str> = t.mapping.iter().map(|(_, k)| k.name()).collect();
    assert_eq!(kinds, ["field:colour", "field:size"]);
    // A column named like ground truth is never evidence unless named in the settings.
    assert_eq!(t.ignored_columns, ["Cluster ID"]);
    let settings = InputSettings {
        use_all_columns: false,
        ..InputSettings::default()
    };
    let msg = read_source(&path, &settings, None).unwrap_err().to_string();
    assert!(msg.contains("no column could be mapped"), "{msg}");
    assert!(
        msg.contains("colour") && msg.contains("[input.columns]"),
        "{msg}"
    );
}

#[test]
fn no_id_column_uses_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        &dir,
        "n.csv",
        b"first_name,last_name\nAnn,Lee\nAnn,Lee\n\nBo,Ng,extra\nCy,Do\n",
    );
    let t = read(&path);
    assert_eq!(t.id_column, None);
    let ids: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
    assert_eq!(ids, vec![("1", 2), ("2", 3), ("4", 6)]);
    assert_eq!(t.quarantined.len(), 1);
    assert_eq!(t.quarantined[0].line, 5);
}

#[test]
fn malformed_rows_are_quarantined_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"id,name,address\n");
    bytes.extend_from_slice(b"1,Ann,\"12 High St\nLondon\"\n"); // lines 2-3
    bytes.extend_from_slice(b"2,Bo\n"); // line 4: too few fields
    bytes.extend_from_slice(b"3,Cy,x,y\n"); // line 5: too many
    bytes.extend_from_slice(b"4,\xff\xfe,z\n"); // line 6: invalid UTF-8
    bytes.extend_from_slice(b",Di,z\n"); // line 7: empty id
    bytes.extend_from_slice(b"1,Ed,z\n"); // line 8: duplicate
    bytes.extend_from_slice(b"5,Fay,z\r\n"); // line 9
    let path = write_file(&dir, "bad.csv", &bytes);
    let t = read(&path);
    let ok: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
    assert_eq!(ok, vec![("1", 2), ("5", 9)]);
    assert_eq!(
        value(&t.records[0], AttrKind::Address),
        Some("12 High St\nLondon")
    );
    assert_eq!(value(&t.records[1], AttrKind::Address), Some("z"));
    let q: Vec<_> = t
        .quarantined
        .iter()
        .map(|q| (q.line, q.reason.as_str()))
        .collect();
    assert_eq!(
        q,
        vec![
            (4, "expected 3 fields, found 2"),
            (5, "expected 3 fields, found 4"),
            (6, "field \"name\" is not valid UTF-8"),
            (7, "empty record id"),
            (8, "duplicate record id 1, first seen at line 2"),
        ]
    );
    assert_eq!(t.quarantined[0].raw, "2,Bo");
    assert_eq!(t.quarantined[4].raw, "1,Ed,z");
}

#[test]
fn crlf_blank_lines_and_no_final_newline_keep_file_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        &dir,
        "crlf.csv",
        b"\r\nid,surname\r\n1,Lee\r\n\r\n  \r\n2,\"Ng\r\nNg\"\r\n3\r\n\r\n4,\"Do\"\r\n5,Ek,x",
    );
    let t = read(&path);
    assert_eq!(t.mapping, vec![("surname".to_owned(), AttrKind::Surname)]);
    let ok: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
    assert_eq!(ok, vec![("1", 3), ("2", 6), ("4", 10)]);
    assert_eq!(value(&t.records[0], AttrKind::Surname), Some("Lee"));
    assert_eq!(value(&t.records[1], AttrKind::Surname), Some("Ng\r\nNg"));
    assert_eq!(value(&t.records[2], AttrKind::Surname), Some("Do"));
    let q: Vec<_> = t
        .quarantined
        .iter()
        .map(|q| (q.line, q.raw.as_str()))
        .collect();
    assert_eq!(q, vec![(8, "3"), (11, "5,Ek,x")]);
}

#[test]
fn bom_tsv_and_sniffed_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "bom.csv", b"\xEF\xBB\xBFid,surname\r\n7,Lee\r\n");
    let t = read(&path);
    assert_eq!(t.id_column.as_deref(), Some("id"));
    assert_eq!(t.records[0].id, "7");

    let path = write_file(
        &dir,
        "t.TSV",
        b"id\tname\taddress\n1\tAnn Lee\t1, High St\n",
    );
    let t = read(&path);
    assert_eq!(value(&t.records[0], AttrKind::FullName), Some("Ann Lee"));
    assert_eq!(value(&t.records[0], AttrKind::Address), Some("1, High St"));

    let path = write_file(&dir, "semi.csv", b"id;name\n1;Ann\n");
    assert_eq!(
        value(&read(&path).records[0], AttrKind::FullName),
        Some("Ann")
    );

    // An explicit delimiter wins.
    let path = write_file(&dir, "pipe.txt", b"id|name\n1|Ann\n");
    let settings = InputSettings {
        delimiter: Some('|'),
        ..Default::default()
    };
    let t = read_source(&path, &settings, None).unwrap();
    assert_eq!(value(&t.records[0], AttrKind::FullName), Some("Ann"));
}

#[test]
fn empty_csv_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for bytes in [&b""[..], b"\n\n", b"\xEF\xBB\xBF"] {
        let path = write_file(&dir, "empty.csv", bytes);
        let msg = read_source(&path, &InputSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("empty file: no header row"), "{msg}");
    }
}

#[test]
fn json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        &dir,
        "people.jsonl",
        b"{\"id\": 1, \"first_name\": \"Ann\", \"dob\": null, \"tags\": [1, 2]}\n\
          \n\
          {\"id\": 2, \"first_name\": \"B\\u00f6\", \"phone\": 447700900123}\n\
          not json\n\
          [1, 2]\n\
          {\"id\": [3], \"first_name\": \"Cy\"}\n\
          {\"first_name\": \"Di\"}\n\
          {\"id\": \"4\", \"first_name\": true, \"email\": \"d@x.org\", \"extra\": {\"a\": 1}}\n\
          {\"id\": 1, \"first_name\": \"Dup\"}\n",
    );
    let t = read(&path);
    assert_eq!(t.format, Format::JsonLines);
    assert_eq!(t.id_column.as_deref(), Some("id"));
    assert_eq!(
        t.mapping,
        vec![
            ("first_name".to_owned(), AttrKind::GivenName),
            ("dob".to_owned(), AttrKind::DateOfBirth),
            (
                "tags".to_owned(),
                AttrKind::from_name("field:tags").unwrap()
            ),
            ("phone".to_owned(), AttrKind::Phone),
            ("email".to_owned(), AttrKind::Email),
            (
                "extra".to_owned(),
                AttrKind::from_name("field:extra").unwrap()
            ),
        ]
    );
    assert!(t.ignored_columns.is_empty());
    let ok: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
    assert_eq!(ok, vec![("1", 1), ("2", 3), ("4", 8)]);
    // An array is a list.
    assert_eq!(
        t.records[0].values,
        vec![
            (AttrKind::GivenName, "Ann".to_owned()),
            (
                AttrKind::from_name("field:tags").unwrap(),
                "1; 2".to_owned()
            )
        ]
    );
    assert_eq!(value(&t.records[1], AttrKind::GivenName), Some("Bö"));
    assert_eq!(value(&t.records[1], AttrKind::Phone), Some("447700900123"));
    assert_eq!(value(&t.records[2], AttrKind::GivenName), Some("true"));
    let q: Vec<_> = t.quarantined.iter().map(|q| q.line).collect();
    assert_eq!(q, vec![4, 5, 6, 7, 9]);
    assert!(
        t.quarantined[0].reason.contains("expected"),
        "{}",
        t.quarantined[0].reason
    );
    assert_eq!(t.quarantined[0].raw, "not json");
    assert!(
        t.quarantined[1].reason.contains("JSON object"),
        "{}",
        t.quarantined[1].reason
    );
    assert!(t.quarantined[2].reason.contains("array or object"));
    assert!(t.quarantined[3].reason.contains("missing"));
    assert!(t.quarantined[4].reason.contains("duplicate record id 1"));
}

#[test]
fn json_array_and_empty_json_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "a.json", b"[\n{\"id\": 1}\n]\n");
    let msg = read_source(&path, &InputSettings::default(), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("JSON array"), "{msg}");
    let path = write_file(&dir, "e.jsonl", b"\n  \n");
    let msg = read_source(&path, &InputSettings::default(), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no field found"), "{msg}");
}

#[test]
fn parquet_round_trip() {
    use arrow::array::{Date32Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    let schema = Arc::new(Schema::new(vec![
        Field::new("rec_id", DataType::Int64, false),
        Field::new("given_name", DataType::Utf8, true),
        Field::new("dob", DataType::Date32, true),
        Field::new("postcode", DataType::Int64, true),
        Field::new("note", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![10, 11, 10])),
            Arc::new(StringArray::from(vec![Some(" Ann "), None, Some("Dup")])),
            // 1980-03-04 is day 3715 since the epoch.
            Arc::new(Date32Array::from(vec![Some(3715), None, None])),
            Arc::new(Int64Array::from(vec![Some(2000), Some(3000), None])),
            Arc::new(StringArray::from(vec!["x", "y", "z"])),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.parquet");
    let mut writer = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let t = read(&path);
    assert_eq!(t.format, Format::Parquet);
    assert_eq!(t.source, "people");
    assert_eq!(t.id_column.as_deref(), Some("rec_id"));
    // A column with no built-in kind is kept as a field.
    let note = AttrKind::from_name("field:note").unwrap();
    assert!(t.ignored_columns.is_empty(), "{:?}", t.ignored_columns);
    assert_eq!(t.records.len(), 2);
    assert_eq!(t.records[0].id, "10");
    assert_eq!(t.records[0].line, 1);
    assert_eq!(
        t.records[0].values,
        vec![
            (AttrKind::GivenName, "Ann".to_owned()),
            (AttrKind::DateOfBirth, "1980-03-04".to_owned()),
            (AttrKind::Postcode, "2000".to_owned()),
            (note, "x".to_owned()),
        ]
    );
    assert_eq!(t.records[1].id, "11");
    assert_eq!(
        t.records[1].values,
        vec![
            (AttrKind::Postcode, "3000".to_owned()),
            (note, "y".to_owned())
        ]
    );
    assert_eq!(t.quarantined.len(), 1);
    assert_eq!(t.quarantined[0].line, 3);
    assert!(
        t.quarantined[0]
            .reason
            .contains("duplicate record id 10, first seen at line 1")
    );
    assert!(
        t.quarantined[0].raw.contains("Dup"),
        "{}",
        t.quarantined[0].raw
    );

    // Not a Parquet file at all.
    let bad = write_file(&dir, "bad.parquet", b"id,name\n1,Ann\n");
    let e = read_source(&bad, &InputSettings::default(), None).unwrap_err();
    assert!(matches!(e, SourceError::Input { .. }));
    assert!(e.to_string().contains("bad.parquet"), "{e}");
}

/// A 1,146-byte file (found by fuzzing) whose page header lists 268 million UUIDs: the
/// Parquet crate skipped them one empty read at a time past the end of the file (41 s of
/// system calls). Reading past the end is now an error, so it fails at once.
#[test]
fn a_page_header_that_runs_past_the_end_is_refused() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/page-header-past-end.parquet");
    let e = read_source(&path, &InputSettings::default(), None).unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, SourceError::Input { .. }), "{message}");
    assert!(
        message.contains("page-header-past-end.parquet"),
        "{message}"
    );
    assert!(message.contains("past the end of the file"), "{message}");
}

/// Found by fuzzing: a 1,150-byte file whose Int64 dictionary page claims 932 million
/// values. The Parquet decoder sized the dictionary from that count before reading it
/// (7.4 GB). The count is now checked against the page's bytes first.
#[test]
fn a_dictionary_larger_than_its_page_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dictionary-count-past-its-bytes.parquet");
    let e = read_source(&path, &InputSettings::default(), None).unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, SourceError::Input { .. }), "{message}");
    assert!(
        message.contains("dictionary-count-past-its-bytes.parquet"),
        "{message}"
    );
    assert!(message.contains("dictionary of column"), "{message}");
}

#[test]
fn missing_file_and_unknown_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.csv");
    let e = read_source(&path, &InputSettings::default(), None).unwrap_err();
    assert!(matches!(e, SourceError::Io { .. }), "{e}");
    assert!(e.to_string().contains("nope.csv"), "{e}");

    let path = write_file(&dir, "data.xlsx", b"id,name\n");
    let e = read_source(&path, &InputSettings::default(), None).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SourceError::Input { .. }), "{msg}");
    assert!(msg.contains("data.xlsx") && msg.contains(".jsonl") && msg.contains(".parquet"));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn csvish() -> impl Strategy<Value = Vec<u8>> {
        let alphabet: Vec<u8> = b",;\t\"\n\r {}[]:\\id name email 1x\xff\xef\xbb\xbf".to_vec();
        prop::collection::vec(prop::sample::select(alphabet), 0..200)
    }

    /// A small valid Parquet file, to be corrupted.
    fn parquet_bytes() -> Vec<u8> {
        use arrow::array::{Date32Array, RecordBatch, StringArray};
        use arrow::datatypes::{Field, Schema};
        use parquet::arrow::ArrowWriter;
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("surname", DataType::Utf8, true),
            Field::new("dob", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("b"),
                    None,
                    Some("a"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("Lee"),
                    None,
                    Some("Ng"),
                    Some("Do"),
                ])),
                Arc::new(Date32Array::from(vec![
                    Some(1),
                    Some(-40000),
                    None,
                    Some(7),
                ])),
            ],
        )
        .unwrap();
        let mut writer = ArrowWriter::try_new(Vec::new(), schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.into_inner().unwrap()
    }

    /// Every single-byte corruption of a small file is read or reported, never a
    /// panic: the Parquet decoder panics on some of them (divide by zero, slice
    /// bounds), which `read_parquet_guarded` must turn into errors.
    #[test]
    fn single_byte_parquet_corruptions_never_panic() {
        let good = parquet_bytes();
        let dir = tempfile::tempdir().unwrap();
        let mut errors = 0;
        for i in 0..good.len() {
            for v in [0u8, 90] {
                let mut bytes = good.clone();
                bytes[i] = v;
                let path = write_file(&dir, "x.parquet", &bytes);
                if let Err(e) = read_source(&path, &InputSettings::default(), None) {
                    assert!(matches!(e, SourceError::Input { .. }), "{e}");
                    errors += 1;
                }
            }
        }
        assert!(errors > 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn corrupt_parquet_never_panics(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut bytes = parquet_bytes();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            let dir = tempfile::tempdir().unwrap();
            let path = write_file(&dir, "x.parquet", &bytes);
            let _ = read_source(&path, &InputSettings::default(), None);
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), shaped in csvish()) {
            let dir = tempfile::tempdir().unwrap();
            for data in [&bytes, &shaped] {
                for name in ["x.csv", "x.jsonl", "x.tsv"] {
                    let path = write_file(&dir, name, data);
                    let _ = read_source(&path, &InputSettings::default(), None);
                }
                let mut prefixed = b"id,name,email\n".to_vec();
                prefixed.extend_from_slice(data);
                let path = write_file(&dir, "y.csv", &prefixed);
                let _ = read_source(&path, &InputSettings::default(), None);
                let mut prefixed = b"{\"id\":1,\"name\":\"a\"}\n".to_vec();
                prefixed.extend_from_slice(data);
                let path = write_file(&dir, "y.jsonl", &prefixed);
                let _ = read_source(&path, &InputSettings::default(), None);
            }
        }
    }
}

#[test]
fn a_record_keeps_every_value_of_a_multi_valued_kind() {
    let dir = tempfile::tempdir().unwrap();
    let values = |r: &RawRecord, kind: AttrKind| -> Vec<String> {
        r.values
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect()
    };
    // Two phone columns, a cell listing two addresses, and address columns, which hold
    // one value and are joined.
    let path = write_file(
        &dir,
        "people.csv",
        b"id,phone,mobile,email,address1,address2\n\
          1,020 7946 0001,07700 900123,a@x.org; b@y.org | NA,1 High St,Leeds\n\
          2,,07700 900124,c@x.org,,\n",
    );
    let t = read(&path);
    let (one, two) = (&t.records[0], &t.records[1]);
    assert_eq!(
        values(one, AttrKind::Phone),
        ["020 7946 0001", "07700 900123"]
    );
    assert_eq!(values(one, AttrKind::Email), ["a@x.org", "b@y.org"]);
    assert_eq!(values(one, AttrKind::Address), ["1 High St Leeds"]);
    assert_eq!(values(two, AttrKind::Phone), ["07700 900124"]);
    assert_eq!(values(two, AttrKind::Email), ["c@x.org"]);

    // A JSON array gives each item of a multi-valued kind, words of a name.
    let path = write_file(
        &dir,
        "people.jsonl",
        br#"{"id": 1, "first_name": ["Mary", "Ann"], "email": ["a@x.org", null, "b@y.org"], "phone": [["nested"]]}
"#,
    );
    let t = read(&path);
    let one = &t.records[0];
    assert_eq!(values(one, AttrKind::GivenName), ["Mary Ann"]);
    assert_eq!(values(one, AttrKind::Email), ["a@x.org", "b@y.org"]);
    assert!(values(one, AttrKind::Phone).is_empty());
}
