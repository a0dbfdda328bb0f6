//! End-to-end tests of the writing commands of the `tidemark` binary: create, write (CSV, JSON,
//! Parquet inputs), checkpoint, restore and vacuum, on real tables in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{log_files, ok, vacuum_now};

/// [`common::fails`], and the error is one line (followed, at most, by one line of hint naming
/// the command-line way out).
fn fails(args: &[&str]) -> String {
    let stderr = common::fails(args);
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert!(lines[0].starts_with("error: "), "an error first: {stderr}");
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
        "one line of error: {stderr}"
    );
    stderr
}

fn rows_csv(table: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "scan",
        table,
        "--format",
        "csv",
        "--columns",
        "id,region,amount",
    ];
    args.extend_from_slice(extra);
    let out = ok(&args);
    let mut lines: Vec<String> = out.lines().skip(1).map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn write_csv_json_and_parquet_inputs_then_read_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("sales");
    let t = table.to_str().unwrap();
    let csv = dir.path().join("day1.csv");
    std::fs::write(&csv, "id,region,amount\n1,EU,10.5\n2,US,3\n3,US,4.25\n").unwrap();
    let out = ok(&[
        "write",
        t,
        csv.to_str().unwrap(),
        "--partition-by",
        "region",
        "--message",
        "day 1",
        "--author",
        "ci",
        "--meta",
        "job=17",
        "--meta",
        "git=abc123",
    ]);
    assert_eq!(out.trim(), "version 0");
    assert!(table.join("region=US").is_dir());

    let json = dir.path().join("day2.ndjson");
    std::fs::write(
        &json,
        "{\"id\":4,\"region\":\"EU\",\"amount\":1.0}\n{\"id\":5,\"region\":null,\"amount\":2.0}\n",
    )
    .unwrap();
    assert_eq!(
        ok(&["write", t, json.to_str().unwrap()]).trim(),
        "version 1"
    );

    // Parquet input: Int32 ids widen to the table's long column.
    let parquet = dir.path().join("day3.parquet");
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int32, false),
        arrow::datatypes::Field::new("region", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new("amount", arrow::datatypes::DataType::Float64, true),
    ]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(arrow::array::Int32Array::from(vec![6])),
            Arc::new(arrow::array::StringArray::from(vec!["EU"])),
            Arc::new(arrow::array::Float64Array::from(vec![9.0])),
        ],
    )
    .unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet).unwrap(),
        schema,
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    assert_eq!(
        ok(&["write", t, parquet.to_str().unwrap(), "--mode", "overwrite"]).trim(),
        "version 2"
    );

    assert_eq!(
        rows_csv(t, &["--version", "0"]),
        vec!["1,EU,10.5", "2,US,3.0", "3,US,4.25"]
    );
    assert_eq!(
        rows_csv(t, &["--version", "1"]),
        vec!["1,EU,10.5", "2,US,3.0", "3,US,4.25", "4,EU,1.0", "5,,2.0"]
    );
    assert_eq!(rows_csv(t, &[]), vec!["6,EU,9.0"]);

    // History carries the provenance.
    let history: serde_json::Value =
        serde_json::from_str(&ok(&["history", t, "--format", "json"])).unwrap();
    let first = &history.as_array().unwrap()[2];
    assert_eq!(first["version"], 0);
    assert_eq!(first["commitInfo"]["userMetadata"], "day 1");
    assert_eq!(first["commitInfo"]["userName"], "ci");
    assert_eq!(first["commitInfo"]["tidemark"]["meta"]["git"], "abc123");
    assert_eq!(
        history[0]["commitInfo"]["operationParameters"]["mode"],
        "Overwrite"
    );
}

#[test]
fn bad_writes_print_one_error_and_leave_the_table_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let t = table.to_str().unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "id,region,amount\n1,EU,1.5\n").unwrap();
    ok(&[
        "write",
        t,
        good.to_str().unwrap(),
        "--partition-by",
        "region",
    ]);
    let before = log_files(&table);

    let extra = dir.path().join("extra.csv");
    std::fs::write(&extra, "id,region,amount,color\n2,EU,1.0,red\n").unwrap();
    let err = fails(&["write", t, extra.to_str().unwrap()]);
    assert!(err.contains("'color'"), "{err}");

    let missing_partition = dir.path().join("nopart.csv");
    std::fs::write(&missing_partition, "id,amount\n2,1.0\n").unwrap();
    let err = fails(&["write", t, missing_partition.to_str().unwrap()]);
    assert!(err.contains("'region'"), "{err}");

    let unreadable = dir.path().join("broken.parquet");
    std::fs::write(&unreadable, b"not parquet at all").unwrap();
    let err = fails(&["write", t, unreadable.to_str().unwrap()]);
    assert!(err.contains("broken.parquet"), "{err}");

    let err = fails(&["write", t, dir.path().join("nope.csv").to_str().unwrap()]);
    assert!(err.contains("does not exist"), "{err}");

    let bad_type = dir.path().join("bad.csv");
    std::fs::write(&bad_type, "id,region,amount\nseven,EU,1.0\n").unwrap();
    let err = fails(&["write", t, bad_type.to_str().unwrap()]);
    assert!(err.contains("bad.csv"), "{err}");

    assert_eq!(log_files(&table), before);
    assert_eq!(rows_csv(t, &[]), vec!["1,EU,1.5"]);
}

#[test]
fn create_checkpoint_restore_vacuum_and_idempotent_writes() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let t = table.to_str().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"{"type":"struct","fields":[
            {"name":"id","type":"long","nullable":false,"metadata":{}},
            {"name":"region","type":"string","nullable":true,"metadata":{}},
            {"name":"amount","type":"double","nullable":true,"metadata":{}}]}"#,
    )
    .unwrap();
    assert_eq!(
        ok(&[
            "create",
            t,
            "--schema",
            schema.to_str().unwrap(),
            "--partition-by",
            "region",
            "--property",
            "team=ml"
        ])
        .trim(),
        "version 0"
    );
    let err = fails(&["create", t, "--schema", schema.to_str().unwrap()]);
    assert!(err.contains("already exists"), "{err}");

    let a = dir.path().join("a.csv");
    std::fs::write(&a, "id,region,amount\n1,EU,1.0\n").unwrap();
    let b = dir.path().join("b.csv");
    std::fs::write(&b, "id,region,amount\n2,US,2.0\n").unwrap();
    assert_eq!(
        ok(&[
            "write",
            t,
            a.to_str().unwrap(),
            "--app-id",
            "etl",
            "--app-version",
            "1"
        ])
        .trim(),
        "version 1"
    );
    assert!(
        ok(&[
            "write",
            t,
            a.to_str().unwrap(),
            "--app-id",
            "etl",
            "--app-version",
            "1"
        ])
        .starts_with("skipped")
    );
    assert_eq!(
        ok(&["write", t, b.to_str().unwrap(), "--mode", "overwrite"]).trim(),
        "version 2"
    );

    let out = ok(&["checkpoint", t]);
    assert!(out.starts_with("checkpoint at version 2"), "{out}");
    assert!(
        table
            .join("_delta_log/00000000000000000002.checkpoint.parquet")
            .is_file()
    );

    assert_eq!(ok(&["restore", t, "--version", "1"]).trim(), "version 3");
    assert_eq!(rows_csv(t, &[]), vec!["1,EU,1.0"]);

    // Dry run by default; the default window keeps young files.
    let out = ok(&["vacuum", t]);
    assert!(out.contains("would delete 0 files"), "{out}");
    let err = fails(&["vacuum", t, "--retain", "0"]);
    assert!(err.contains("shorter than the table's"), "{err}");
    let out = ok(&[
        "vacuum",
        t,
        "--retain",
        "0",
        "--allow-short-retention",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "{report}");
    let us_file = report["files"][0].as_str().unwrap().to_string();
    assert!(us_file.starts_with("region=US/"), "{us_file}");
    assert!(table.join(&us_file).is_file());
    vacuum_now(t, &[]);
    assert!(!table.join(&us_file).exists());
    assert_eq!(rows_csv(t, &[]), vec!["1,EU,1.0"]);
    let described: serde_json::Value =
        serde_json::from_str(&ok(&["describe", t, "--format", "json"])).unwrap();
    assert_eq!(described["properties"]["team"], "ml");
}

#[test]
fn csv_timestamps_become_utc_instants() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let t = table.to_str().unwrap();
    let csv = dir.path().join("events.csv");
    std::fs::write(
        &csv,
        "id,at\n1,2026-11-20T09:15:00Z\n2,2026-11-20T11:15:00+02:00\n",
    )
    .unwrap();
    ok(&["write", t, csv.to_str().unwrap()]);
    let described: serde_json::Value =
        serde_json::from_str(&ok(&["describe", t, "--format", "json"])).unwrap();
    assert_eq!(described["schema"]["fields"][1]["type"], "timestamp");
    // Both rows are the same instant.
    let out = ok(&["scan", t, "--format", "csv", "--columns", "at"]);
    let values: BTreeSet<&str> = out.lines().skip(1).collect();
    assert_eq!(values.len(), 1, "{out}");
}
