//! End-to-end tests of nested schema changes through the `tidemark` binary: `alter` with
//! column paths (`address.city`, backtick quoting), read back with `scan --version` and
//! `describe --version`, history naming nested changes, and refused changes leaving the table
//! unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{fails, ok, schema_changes};
use serde_json::Value;

/// Every file under the table, relative to it.
fn listing(table: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(table, table, &mut out);
    out
}

/// The rows of a scan as JSON objects, sorted by `id`.
fn scan(table: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["scan", table, "--format", "json"];
    args.extend_from_slice(extra);
    let out = ok(&args);
    let mut rows: Vec<Value> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by_key(|r| r["id"].as_i64());
    rows
}

/// The schema of `describe --version`, as JSON.
fn described_schema(table: &str, version: &str) -> Value {
    let out = ok(&["describe", table, "--version", version, "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"].to_string(), version);
    doc["schema"].clone()
}

/// The names of a struct's fields in a schema JSON.
fn names(schema: &Value, path: &[&str]) -> Vec<String> {
    let mut fields = &schema["fields"];
    for segment in path {
        let field = fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == *segment)
            .unwrap();
        fields = &field["type"]["fields"];
    }
    fields
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nested_rename_drop_and_add_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    let table = t.to_str().unwrap();
    let input = dir.path().join("people.ndjson");
    std::fs::write(
        &input,
        "{\"id\":1,\"address\":{\"street\":\"Main St\",\"city\":\"Oslo\"}}\n\
         {\"id\":2,\"address\":{\"street\":\"High St\",\"city\":\"Bergen\"}}\n",
    )
    .unwrap();
    ok(&["write", table, input.to_str().unwrap()]);
    let data_files = |l: &BTreeSet<String>| -> BTreeSet<String> {
        l.iter()
            .filter(|p| !p.starts_with("_delta_log"))
            .cloned()
            .collect()
    };
    let files0 = data_files(&listing(&t));

    ok(&["alter", table, "rename-column", "address.city", "town"]);
    ok(&["alter", table, "drop-column", "address.street"]);
    ok(&[
        "alter",
        table,
        "add-column",
        "address.zip",
        "string",
        "--nullable",
    ]);
    // A full path with the same parent is accepted as the new name too.
    ok(&[
        "alter",
        table,
        "rename-column",
        "address.zip",
        "address.postcode",
    ]);
    ok(&["alter", table, "set-comment", "address.town", "where"]);
    assert_eq!(data_files(&listing(&t)), files0, "no data file rewritten");

    let row = |id: i64, address: Value| serde_json::json!({"id": id, "address": address});
    assert_eq!(
        scan(table, &["--version", "0"]),
        [
            row(1, serde_json::json!({"street": "Main St", "city": "Oslo"})),
            row(
                2,
                serde_json::json!({"street": "High St", "city": "Bergen"})
            ),
        ]
    );
    assert_eq!(
        scan(table, &["--version", "1"]),
        [
            row(1, serde_json::json!({"street": "Main St", "town": "Oslo"})),
            row(
                2,
                serde_json::json!({"street": "High St", "town": "Bergen"})
            ),
        ]
    );
    assert_eq!(
        scan(table, &["--version", "2"]),
        [
            row(1, serde_json::json!({"town": "Oslo"})),
            row(2, serde_json::json!({"town": "Bergen"})),
        ]
    );
    let latest = scan(table, &[]);
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[0]["address"]["town"], "Oslo");
    assert!(
        latest[0]["address"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k == "town" || k == "postcode"),
        "{latest:?}"
    );

    // NDJSON inference orders a struct's fields by name.
    assert_eq!(
        names(&described_schema(table, "0"), &["address"]),
        ["city", "street"]
    );
    assert_eq!(
        names(&described_schema(table, "1"), &["address"]),
        ["town", "street"]
    );
    assert_eq!(names(&described_schema(table, "2"), &["address"]), ["town"]);
    assert_eq!(
        names(&described_schema(table, "4"), &["address"]),
        ["town", "postcode"]
    );

    // History names the nested changes by path.
    let out = ok(&["history", table, "--format", "json"]);
    let entries: Vec<Value> = serde_json::from_str(&out).unwrap();
    let changes = |v: u64| schema_changes(&entries, v);
    assert_eq!(changes(1), ["address.city->address.town"]);
    assert_eq!(changes(2), ["-address.street"]);
    assert_eq!(changes(3), ["+address.zip string"]);
    assert_eq!(changes(4), ["address.zip->address.postcode"]);

    // Refused changes commit nothing.
    let before = listing(&t);
    let err = fails(&["alter", table, "rename-column", "address.town", "postcode"]);
    assert!(err.contains("already has a field 'postcode'"), "{err}");
    let err = fails(&["alter", table, "drop-column", "address.nope"]);
    assert!(
        err.contains("'address.nope'") && err.contains("town, postcode"),
        "{err}"
    );
    let err = fails(&["alter", table, "rename-column", "address.town", "other.x"]);
    assert!(err.contains("another parent"), "{err}");
    let err = fails(&["alter", table, "drop-column", "`address"]);
    assert!(err.contains("backtick"), "{err}");
    assert_eq!(listing(&t), before);
}

#[test]
fn add_column_takes_a_json_type_and_quoted_names() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    let table = t.to_str().unwrap();
    let input = dir.path().join("a.csv");
    std::fs::write(&input, "id\n1\n").unwrap();
    ok(&["write", table, input.to_str().unwrap()]);
    ok(&[
        "alter",
        table,
        "add-column",
        "`a.b`",
        r#"{"type":"struct","fields":[{"name":"c.d","type":"long","nullable":true,"metadata":{}}]}"#,
        "--nullable",
    ]);
    // Unquoted, `a.b.c.d` is the path a → b → c → d, which does not exist; quoted, it is the
    // field `c.d` of the column `a.b`.
    let err = fails(&["alter", table, "drop-column", "a.b.c.d"]);
    assert!(err.contains("no column 'a'"), "{err}");
    let err = fails(&["alter", table, "add-column", "a.b", "long", "--nullable"]);
    assert!(err.contains("no column 'a'"), "{err}");
    ok(&["alter", table, "rename-column", "`a.b`.`c.d`", "cd"]);
    let schema = described_schema(table, "2");
    assert_eq!(names(&schema, &["a.b"]), ["cd"]);
    let err = fails(&["alter", table, "add-column", "x", "{not json", "--nullable"]);
    assert!(err.contains("Delta JSON type"), "{err}");
    assert_eq!(scan(table, &[]), [serde_json::json!({"id": 1})]);
}
