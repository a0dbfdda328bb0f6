//! Helpers shared by the CLI's end-to-end tests: running the real `tidemark` binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `tidemark` with `args` and returns what it did.
pub fn tidemark(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `tidemark`, requires success, and returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let output = tidemark(args);
    assert!(
        output.status.success(),
        "tidemark {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `tidemark`, requires failure, and returns its standard error.
#[allow(dead_code)] // not every test file checks failures
pub fn fails(args: &[&str]) -> String {
    let output = tidemark(args);
    assert!(
        !output.status.success(),
        "tidemark {args:?} should have failed"
    );
    String::from_utf8(output.stderr).unwrap()
}

/// The example table `examples/sales`.
#[allow(dead_code)] // not every test file reads the example table
pub fn example() -> PathBuf {
    tidemark_testdata::example("sales")
}

/// The names of the files in a table's `_delta_log/`.
#[allow(dead_code)] // not every test file looks at the log
pub fn log_files(table: &Path) -> BTreeSet<String> {
    std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The sorted ids a `scan` with `args` (the table, then any options) reads.
#[allow(dead_code)] // not every test file scans ids
pub fn scan_ids(args: &[&str]) -> Vec<i64> {
    let mut full = vec!["scan"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "csv", "--columns", "id"]);
    let mut ids: Vec<i64> = ok(&full)
        .lines()
        .skip(1)
        .map(|l| l.parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// The `schemaChanges` of a version in the entries of `history --format json`.
#[allow(dead_code)] // not every test file changes schemas
pub fn schema_changes(entries: &[Value], version: u64) -> Vec<String> {
    let e = entries.iter().find(|e| e["version"] == version).unwrap();
    e["schemaChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// Runs `vacuum` on `table` with no retention, for real (then `extra`), and returns its output.
#[allow(dead_code)] // not every test file vacuums
pub fn vacuum_now(table: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "vacuum",
        table,
        "--retain",
        "0",
        "--allow-short-retention",
        "--execute",
    ];
    args.extend_from_slice(extra);
    ok(&args)
}
