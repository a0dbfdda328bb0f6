//! End-to-end tests of the reproducibility commands of the `tidemark` binary: snapshot ids,
//! tags, pins and vacuum, manifests and verify, lineage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use common::{ok, scan_ids, tidemark, vacuum_now};

fn fails(args: &[&str]) -> (String, String) {
    let output = tidemark(args);
    assert!(!output.status.success(), "tidemark {args:?} succeeded");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn csv(dir: &Path, name: &str, rows: &[(i64, &str)]) -> String {
    let path = dir.join(name);
    let mut text = String::from("id,region\n");
    for (id, region) in rows {
        text.push_str(&format!("{id},{region}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// A table with three versions, each replacing all rows.
fn three_versions(dir: &Path) -> String {
    let table = dir.join("t");
    let t = table.to_str().unwrap().to_string();
    let a = csv(dir, "a.csv", &[(1, "EU"), (2, "US")]);
    let b = csv(dir, "b.csv", &[(3, "EU")]);
    let c = csv(dir, "c.csv", &[(4, "US")]);
    assert_eq!(ok(&["write", &t, &a]).trim(), "version 0");
    assert_eq!(
        ok(&["write", &t, &b, "--mode", "overwrite"]).trim(),
        "version 1"
    );
    assert_eq!(
        ok(&["write", &t, &c, "--mode", "overwrite"]).trim(),
        "version 2"
    );
    t
}

#[test]
fn describe_prints_the_snapshot_id_and_scan_reads_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_versions(dir.path());
    let text = ok(&["describe", &t, "--version", "0"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("snapshot id:"))
        .unwrap();
    let id = line.trim_start_matches("snapshot id:").trim().to_string();
    assert!(id.starts_with("tm1."), "{id}");
    let doc = json(&ok(&["describe", &t, "--version", "0", "--format", "json"]));
    assert_eq!(doc["snapshotId"], id.as_str());
    assert!(id.contains(doc["id"].as_str().unwrap()));

    assert_eq!(scan_ids(&[&t, "--snapshot", &id]), vec![1, 2]);
    let by_id = json(&ok(&[
        "describe",
        &t,
        "--snapshot",
        &id,
        "--format",
        "json",
    ]));
    assert_eq!(by_id["version"], 0);

    // Only one way of naming the version at a time.
    fails(&["scan", &t, "--snapshot", &id, "--version", "1"]);

    // The table replaced at the same place: the id no longer reads.
    std::fs::remove_dir_all(&t).unwrap();
    let a = csv(dir.path(), "a.csv", &[(1, "EU"), (2, "US")]);
    ok(&["write", &t, &a]);
    let (_, err) = fails(&["scan", &t, "--snapshot", &id]);
    assert!(err.contains("was replaced"), "{err}");
}

#[test]
fn tags_are_created_listed_read_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_versions(dir.path());
    let id = ok(&[
        "tag",
        &t,
        "create",
        "baseline",
        "--version",
        "1",
        "--message",
        "first model",
        "--author",
        "ana",
    ]);
    assert!(id.trim().starts_with("tm1."));
    // No new data version.
    let doc = json(&ok(&["describe", &t, "--format", "json"]));
    assert_eq!(doc["version"], 2);
    assert!(Path::new(&t).join("_tidemark/tags/baseline.json").is_file());

    let (_, err) = fails(&["tag", &t, "create", "baseline", "--version", "2"]);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(scan_ids(&[&t, "--tag", "baseline"]), vec![3]);

    ok(&["tag", &t, "create", "by-id", "--snapshot", id.trim()]);
    let list = json(&ok(&["tag", &t, "list", "--format", "json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "baseline");
    assert_eq!(list[0]["version"], 1);
    assert_eq!(list[0]["message"], "first model");
    assert_eq!(list[0]["author"], "ana");
    assert_eq!(list[1]["name"], "by-id");
    assert_eq!(list[1]["snapshotId"], id.trim());
    let text = ok(&["tag", &t, "list"]);
    assert!(
        text.contains("baseline") && text.contains("first model"),
        "{text}"
    );

    // Restore brings a tagged version back as a new version.
    assert_eq!(
        ok(&["restore", &t, "--tag", "baseline"]).trim(),
        "version 3"
    );
    assert_eq!(scan_ids(&[&t]), vec![3]);

    ok(&["tag", &t, "delete", "by-id"]);
    let (_, err) = fails(&["scan", &t, "--tag", "by-id"]);
    assert!(err.contains("no tag 'by-id'"), "{err}");
}

#[test]
fn vacuum_keeps_pinned_and_tagged_files_and_reports_why() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_versions(dir.path());
    ok(&["tag", &t, "create", "gold", "--version", "0"]);
    let pin = ok(&[
        "pin",
        &t,
        "create",
        "--version",
        "1",
        "--owner",
        "run-3",
        "--reason",
        "training",
    ]);
    let pin = pin.trim().to_string();
    assert!(pin.starts_with("pin-"), "{pin}");
    let expired = ok(&[
        "pin",
        &t,
        "create",
        "--tag",
        "gold",
        "--owner",
        "old",
        "--expires",
        "2020-01-01T00:00:00Z",
    ]);
    let pins = json(&ok(&["pin", &t, "list", "--format", "json"]));
    assert_eq!(pins.as_array().unwrap().len(), 2);
    assert!(
        pins.as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == expired.trim() && p["expired"] == true)
    );

    let report = json(&vacuum_now(&t, &["--format", "json"]));
    assert_eq!(report["files"].as_array().unwrap().len(), 0, "{report}");
    let protected = report["protected"].as_array().unwrap();
    assert_eq!(protected.len(), 2, "{report}");
    assert!(protected.iter().any(|p| p["kind"] == "tag"
        && p["name"] == "gold"
        && p["files"].as_array().unwrap().len() == 1));
    assert!(
        protected
            .iter()
            .any(|p| p["kind"] == "pin" && p["name"] == pin.as_str() && p["version"] == 1)
    );
    assert_eq!(report["expiredPins"][0]["id"], expired.trim());
    assert_eq!(scan_ids(&[&t, "--version", "0"]), vec![1, 2]);
    assert_eq!(scan_ids(&[&t, "--version", "1"]), vec![3]);

    // Released, the pin keeps nothing: version 1's file goes, the tag keeps version 0.
    ok(&["pin", &t, "release", &pin]);
    let text = vacuum_now(&t, &[]);
    assert!(text.contains("deleted 1 files"), "{text}");
    assert!(text.contains("for tag 'gold'"), "{text}");
    assert!(text.contains("expired pin"), "{text}");
    assert_eq!(scan_ids(&[&t, "--tag", "gold"]), vec![1, 2]);
    let (_, err) = fails(&["scan", &t, "--version", "1"]);
    assert!(!err.is_empty());
}

#[test]
fn verify_catches_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_versions(dir.path());
    let doc = json(&ok(&["describe", &t, "--version", "1", "--format", "json"]));
    let id = doc["snapshotId"].as_str().unwrap().to_string();
    let manifest_path = dir.path().join("manifest.json");
    let m = manifest_path.to_str().unwrap();
    ok(&["manifest", &t, "--snapshot", &id, "--output", m]);
    let manifest = json(&std::fs::read_to_string(&manifest_path).unwrap());
    assert_eq!(manifest["snapshotId"], id.as_str());
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["files"].as_array().unwrap().len(), 1);
    let file = manifest["files"][0]["path"].as_str().unwrap().to_string();
    assert_eq!(manifest["files"][0]["sha256"].as_str().unwrap().len(), 64);
    assert!(manifest["schema"]["fields"].is_array());

    let out = ok(&["verify", m]);
    assert!(out.starts_with("OK"), "{out}");

    // Same size, one byte changed.
    let data = Path::new(&t).join(&file);
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&data, &bytes).unwrap();
    let (out, err) = fails(&["verify", m]);
    assert!(
        out.contains(&file) && out.contains("content changed"),
        "{out}"
    );
    assert!(out.contains("FAILED"), "{out}");
    assert!(err.contains("1 differences"), "{err}");
    let (out, _) = fails(&["verify", m, "--format", "json"]);
    let report = json(&out);
    assert_eq!(report["ok"], false);
    assert_eq!(report["differences"].as_array().unwrap().len(), 1);

    // Deleted.
    std::fs::remove_file(&data).unwrap();
    let (out, _) = fails(&["verify", m]);
    assert!(out.contains("cannot be read"), "{out}");
}

#[test]
fn lineage_is_recorded_by_write_and_shown_recursively() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let features = dir.path().join("features");
    let train = dir.path().join("train");
    let (raw, features, train) = (
        raw.to_str().unwrap(),
        features.to_str().unwrap(),
        train.to_str().unwrap(),
    );
    let a = csv(dir.path(), "a.csv", &[(1, "EU"), (2, "US")]);
    ok(&["write", raw, &a]);
    ok(&["write", raw, &a]);
    let raw_v0 = json(&ok(&[
        "describe",
        raw,
        "--version",
        "0",
        "--format",
        "json",
    ]));
    let raw_id = raw_v0["snapshotId"].as_str().unwrap().to_string();

    ok(&[
        "write",
        features,
        &a,
        "--input-table",
        &format!("{raw}@{raw_id}"),
    ]);
    ok(&["tag", features, "create", "f1"]);
    ok(&[
        "write",
        train,
        &a,
        "--input-table",
        &format!("{features}@f1"),
    ]);

    let tree = json(&ok(&["lineage", train, "--format", "json"]));
    assert_eq!(tree["version"], 0);
    let inputs = tree["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert!(inputs[0]["table"].as_str().unwrap().ends_with("/features/"));
    let deeper = inputs[0]["inputs"].as_array().unwrap();
    assert_eq!(deeper.len(), 1);
    assert_eq!(deeper[0]["snapshotId"], raw_id.as_str());
    assert_eq!(deeper[0]["version"], 0);
    assert!(deeper[0]["problem"].is_null());

    let text = ok(&["lineage", train]);
    assert!(text.contains("└─"), "{text}");
    assert!(text.contains(&raw_id), "{text}");
    let text = ok(&["lineage", raw, "--version", "1"]);
    assert!(text.contains("no recorded inputs"), "{text}");

    // An input that does not resolve is refused before anything is written.
    let (_, err) = fails(&["write", train, &a, "--input-table", &format!("{raw}@nope")]);
    assert!(err.contains("no tag 'nope'"), "{err}");
}
