//! `tidemark sql`: queries with time travel on registered tables and on tables named by path,
//! output formats, the interactive shell fed from standard input, and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{example, ok, tidemark};

#[test]
fn a_query_reads_a_version_of_a_registered_table() {
    let table = format!("sales={}", example().display());
    let out = ok(&[
        "sql",
        "--table",
        &table,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM sales VERSION AS OF 0",
    ]);
    assert_eq!(out, "n\n5\n");
    let out = ok(&[
        "sql",
        "--table",
        &table,
        "--format",
        "json",
        "SELECT id FROM sales TIMESTAMP AS OF '2025-11-20T10:01:30Z' WHERE region = 'US' ORDER BY id",
    ]);
    assert_eq!(out, "{\"id\":4}\n{\"id\":5}\n");
}

#[test]
fn a_table_can_be_named_by_its_path() {
    let query = format!("SELECT count(*) AS n FROM \"{}\"", example().display());
    assert_eq!(ok(&["sql", "--format", "csv", &query]), "n\n6\n");
}

#[test]
fn errors_are_one_line() {
    let table = format!("sales={}", example().display());
    let output = tidemark(&[
        "sql",
        "--table",
        &table,
        "SELECT * FROM sales VERSION AS OF 9",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("version 9"), "{stderr}");
}

#[test]
fn the_shell_runs_statements_from_standard_input() {
    let table = format!("sales={}", example().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .args(["sql", "--table", &table, "--format", "csv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT count(*) AS a\n  FROM sales VERSION AS OF 1;\nSELECT * FROM nosuch;\nSELECT 40 + 2 AS b;\n\\q\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("a\n7\n"), "{stdout}");
    assert!(stdout.contains("b\n42\n"), "{stdout}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("nosuch"), "{stderr}");
}

#[test]
fn insert_with_schema_mode_merge_adds_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    let path = path.to_str().unwrap();
    ok(&[
        "sql",
        &format!(
            "CREATE EXTERNAL TABLE events (id INT, kind VARCHAR) STORED AS TIDEMARK LOCATION '{path}'"
        ),
    ]);
    let table = format!("events={path}");
    ok(&[
        "sql",
        "--table",
        &table,
        "INSERT INTO events VALUES (1, 'a')",
    ]);
    // Strict by default: the extra column is refused and nothing is written.
    let refused = tidemark(&[
        "sql",
        "--table",
        &table,
        "INSERT INTO events SELECT 2, 'b', 'web' AS source",
    ]);
    assert!(!refused.status.success());
    ok(&[
        "sql",
        "--table",
        &table,
        "--schema-mode",
        "merge",
        "INSERT INTO events SELECT 2, 'b', 'web' AS source",
    ]);
    let out = ok(&[
        "sql",
        "--table",
        &table,
        "--format",
        "csv",
        "SELECT * FROM events ORDER BY id",
    ]);
    assert_eq!(out, "id,kind,source\n1,a,\n2,b,web\n");
    let out = ok(&[
        "sql",
        "--table",
        &table,
        "--format",
        "csv",
        "SELECT * FROM events VERSION AS OF 1",
    ]);
    assert_eq!(out, "id,kind\n1,a\n");
}
