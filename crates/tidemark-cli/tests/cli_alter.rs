//! End-to-end tests of schema evolution through the `tidemark` binary: `write --schema-mode`,
//! `alter`, and `history` marking the commits that changed the schema.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use common::{fails, log_files, ok, schema_changes};

fn csv(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The CSV output of a scan (header first, then sorted rows).
fn scan(table: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["scan", table, "--format", "csv"];
    args.extend_from_slice(extra);
    let out = ok(&args);
    let mut lines: Vec<String> = out.lines().map(String::from).collect();
    lines[1..].sort();
    lines
}

#[test]
fn schema_mode_merge_and_alter_keep_old_versions_readable() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    let table = t.to_str().unwrap();
    let first = csv(dir.path(), "a.csv", "id,name\n1,a\n2,b\n");
    let second = csv(dir.path(), "b.csv", "id,score\n3,0.5\n");
    ok(&["write", table, &first]);

    // Strict (the default) refuses the new column, naming it and its type.
    let err = fails(&["write", table, &second]);
    assert!(err.contains("'score'") && err.contains("Float64"), "{err}");
    assert!(err.contains("--schema-mode merge"), "{err}");
    assert_eq!(log_files(&t).len(), 1);

    ok(&["write", table, &second, "--schema-mode", "merge"]);
    ok(&[
        "alter",
        table,
        "--message",
        "clearer name",
        "rename-column",
        "name",
        "label",
    ]);
    ok(&["alter", table, "drop-column", "score"]);
    ok(&["alter", table, "add-column", "note", "string", "--nullable"]);
    ok(&["alter", table, "set-property", "owner=ml"]);
    ok(&["alter", table, "set-comment", "id", "the key"]);

    assert_eq!(scan(table, &["--version", "0"]), ["id,name", "1,a", "2,b"]);
    assert_eq!(
        scan(table, &["--version", "1"]),
        ["id,name,score", "1,a,", "2,b,", "3,,0.5"]
    );
    assert_eq!(
        scan(table, &["--version", "2"]),
        ["id,label,score", "1,a,", "2,b,", "3,,0.5"]
    );
    assert_eq!(
        scan(table, &["--version", "3"]),
        ["id,label", "1,a", "2,b", "3,"]
    );
    assert_eq!(scan(table, &[]), ["id,label,note", "1,a,", "2,b,", "3,,"]);

    // Bad changes fail and commit nothing.
    let before = log_files(&t);
    let err = fails(&["alter", table, "rename-column", "id", "label"]);
    assert!(err.contains("already has a column 'label'"), "{err}");
    let err = fails(&[
        "alter",
        table,
        "add-column",
        "x",
        "nosuchtype",
        "--nullable",
    ]);
    assert!(err.contains("nosuchtype"), "{err}");
    let err = fails(&["alter", table, "set-property", "novalue"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    assert_eq!(log_files(&t), before);

    // History marks the schema changes.
    let out = ok(&["history", table, "--format", "json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let changes = |v: u64| schema_changes(&entries, v);
    assert_eq!(changes(1), ["+score double"]);
    assert_eq!(changes(2), ["name->label"]);
    let renamed = entries.iter().find(|e| e["version"] == 2).unwrap();
    assert_eq!(renamed["commitInfo"]["userMetadata"], "clearer name");
    assert_eq!(renamed["operation"], "RENAME COLUMN");
    assert_eq!(changes(3), ["-score"]);
    assert_eq!(changes(4), ["+note string"]);
    assert!(changes(5).is_empty());
    let text = ok(&["history", table]);
    assert!(text.contains("* name->label"), "{text}");
    assert!(text.contains("* (properties)"), "{text}");
}

#[test]
fn schema_mode_overwrite_replaces_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    let table = t.to_str().unwrap();
    let first = csv(dir.path(), "a.csv", "id,name\n1,a\n");
    let second = csv(dir.path(), "b.csv", "key,value\nk,1.5\n");
    ok(&["write", table, &first]);
    let err = fails(&["write", table, &second, "--schema-mode", "overwrite"]);
    assert!(err.contains("overwrite"), "{err}");
    ok(&[
        "write",
        table,
        &second,
        "--mode",
        "overwrite",
        "--schema-mode",
        "overwrite",
    ]);
    assert_eq!(scan(table, &[]), ["key,value", "k,1.5"]);
    assert_eq!(scan(table, &["--version", "0"]), ["id,name", "1,a"]);
}
