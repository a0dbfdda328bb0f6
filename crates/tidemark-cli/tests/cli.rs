//! End-to-end tests of the `tidemark` binary on the example table and the tables of tests/data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{example, ok, tidemark};

#[test]
fn scan_reads_an_old_version_as_csv() {
    let table = example();
    let out = ok(&[
        "scan",
        table.to_str().unwrap(),
        "--version",
        "1",
        "--columns",
        "id,region",
        "--format",
        "csv",
    ]);
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.remove(0), "id,region");
    lines.sort();
    assert_eq!(
        lines,
        vec!["1,EU", "2,EU", "3,EU", "4,US", "5,US", "6,EU", "7,EU"]
    );
}

#[test]
fn scan_by_timestamp_and_as_json() {
    let table = example();
    let out = ok(&[
        "scan",
        table.to_str().unwrap(),
        "--timestamp",
        "2025-11-20T10:00:30Z",
        "--format",
        "json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["region"] == "EU" || r["region"] == "US")
    );
}

#[test]
fn scan_writes_parquet_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.parquet");
    let table = example();
    ok(&[
        "scan",
        table.to_str().unwrap(),
        "--format",
        "parquet",
        "--output",
        target.to_str().unwrap(),
    ]);
    let file = std::fs::File::open(&target).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 6);
}

#[test]
fn history_lists_commits_newest_first() {
    let table = example();
    let out = ok(&["history", table.to_str().unwrap(), "--format", "json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let versions: Vec<u64> = entries
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1, 0]);
    assert_eq!(entries[2]["operation"], "CREATE TABLE AS SELECT");
    assert_eq!(entries[0]["removes"], 1);
    let limited = ok(&["history", table.to_str().unwrap(), "--limit", "1"]);
    assert_eq!(limited.lines().count(), 2, "{limited}");
}

#[test]
fn describe_reports_version_schema_and_counts() {
    let table = example();
    let out = ok(&[
        "describe",
        table.to_str().unwrap(),
        "--version",
        "1",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["numFiles"], 3);
    assert_eq!(doc["numRows"], 7);
    assert_eq!(doc["partitionColumns"][0], "region");
    assert_eq!(doc["timestamp"], "2025-11-20T10:01:00.000Z");
    let text = ok(&["describe", table.to_str().unwrap()]);
    assert!(text.contains("version:      2"), "{text}");
    assert!(text.contains("sold_at timestamp"), "{text}");
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let table = example();
    for args in [
        vec!["scan", table.to_str().unwrap(), "--version", "9"],
        vec!["scan", "/nonexistent/table"],
        vec!["scan", table.to_str().unwrap(), "--timestamp", "yesterday"],
        vec!["scan", table.to_str().unwrap(), "--columns", "nope"],
    ] {
        let output = tidemark(&args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = tidemark(&["scan", table.to_str().unwrap(), "--version", "9"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("latest version is 2"), "{stderr}");
}

#[test]
fn refuses_a_table_with_an_unknown_reader_feature() {
    let output = tidemark(&[
        "describe",
        tidemark_testdata::table("delta-rs/simple_table_features")
            .to_str()
            .unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("blahabl"), "{stderr}");
}
