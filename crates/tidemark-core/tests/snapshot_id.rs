#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Snapshot ids do not depend on the order in which log replay met the live files: a version
//! holding two live entries for one path (different deletion vectors) gets the same id replayed
//! from its JSON commits, from a checkpoint, or from a checkpoint plus commits.

mod common;

use std::path::Path;

use common::location;
use serde_json::{Value, json};
use tidemark_core::SnapshotId;
use tidemark_core::checkpoint::write_checkpoint;
use tidemark_core::scan::shard::SplitMix64;
use tidemark_core::testing::{load_snapshot, resolve_snapshot_id};

const TABLE_ID: &str = "5d3c0b6e-7a41-4f0e-9c2b-0000000d00d1";

fn protocol_and_metadata() -> Vec<Value> {
    let schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
        {"name": "region", "type": "string", "nullable": true, "metadata": {}},
    ]});
    vec![
        json!({"protocol": {"minReaderVersion": 3, "minWriterVersion": 7,
            "readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"]}}),
        json!({"metaData": {"id": TABLE_ID, "format": {"provider": "parquet", "options": {}},
            "schemaString": schema.to_string(), "partitionColumns": ["region"],
            "configuration": {"delta.enableDeletionVectors": "true"}, "createdTime": 0}}),
    ]
}

/// A `u` (UUID-relative) deletion vector at `offset`, deleting `cardinality` rows.
fn dv(uuid: &str, offset: Option<i32>, cardinality: i64) -> Value {
    let mut dv = json!({"storageType": "u", "pathOrInlineDv": uuid, "sizeInBytes": 34,
        "cardinality": cardinality});
    if let Some(offset) = offset {
        dv["offset"] = json!(offset);
    }
    dv
}

fn add(path: &str, region: &str, dv: Option<&Value>, size: i64) -> Value {
    let mut add = json!({"path": path, "partitionValues": {"region": region}, "size": size,
        "modificationTime": 1_700_000_000_000_i64, "dataChange": true});
    if let Some(dv) = dv {
        add["deletionVector"] = dv.clone();
    }
    json!({ "add": add })
}

fn remove(path: &str, region: &str, dv: Option<&Value>) -> Value {
    let mut remove = json!({"path": path, "partitionValues": {"region": region},
        "deletionTimestamp": 1_700_000_000_000_i64, "dataChange": true});
    if let Some(dv) = dv {
        remove["deletionVector"] = dv.clone();
    }
    json!({ "remove": remove })
}

fn write_commit(dir: &Path, version: u64, actions: &[Value]) {
    let log = dir.join("_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    let mut text = String::new();
    for action in actions {
        text.push_str(&action.to_string());
        text.push('\n');
    }
    std::fs::write(log.join(format!("{version:020}.json")), text).unwrap();
}

/// Removes every checkpoint (and `_last_checkpoint`), so that loading replays JSON only.
fn drop_checkpoints(dir: &Path) {
    for entry in std::fs::read_dir(dir.join("_delta_log")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains(".checkpoint") || name == "_last_checkpoint" {
            std::fs::remove_file(path).unwrap();
        }
    }
}

async fn id_at(dir: &Path, version: u64) -> SnapshotId {
    let snapshot = load_snapshot(&location(dir), Some(version)).await.unwrap();
    assert_eq!(snapshot.version(), version);
    SnapshotId::of(&snapshot).unwrap()
}

/// The live files of a version in `files_sorted` order, as (path, deletion-vector id).
async fn sorted_keys_at(dir: &Path, version: u64) -> Vec<(String, Option<String>)> {
    let snapshot = load_snapshot(&location(dir), Some(version)).await.unwrap();
    snapshot
        .files_sorted()
        .into_iter()
        .map(|f| {
            let key = f.file_key();
            (key.path, key.dv_id)
        })
        .collect()
}

async fn checkpoint_at(dir: &Path, version: u64) {
    let snapshot = load_snapshot(&location(dir), Some(version)).await.unwrap();
    write_checkpoint(&snapshot).await.unwrap();
}

const SHARED: &str = "region=EU/part-00000-shared.snappy.parquet";

/// The deletion vector with the smaller unique id, and the one with the larger.
fn dv_small() -> Value {
    dv("vBn[lx{q8@P<9BNH/isA", Some(1), 2)
}
fn dv_large() -> Value {
    dv("vBn[lx{q8@P<9BNH/isA", Some(43), 3)
}

/// v0: the shared path with the larger deletion vector; v1: another file `a`; v2: the shared
/// path again with the smaller deletion vector, and `a` removed. Replaying v0..v2 from JSON
/// leaves the shared path's entries in the order (large, small); a checkpoint at v1 lists `a`
/// first, so replaying it and then v2 (whose remove of `a` moves the last entry into its
/// place) leaves them in the order (small, large).
fn write_duplicate_path_table(dir: &Path) {
    let mut v0 = protocol_and_metadata();
    v0.push(add(SHARED, "EU", Some(&dv_large()), 1000));
    write_commit(dir, 0, &v0);
    write_commit(
        dir,
        1,
        &[add("region=EU/a.snappy.parquet", "EU", None, 500)],
    );
    write_commit(
        dir,
        2,
        &[
            add(SHARED, "EU", Some(&dv_small()), 1000),
            remove("region=EU/a.snappy.parquet", "EU", None),
        ],
    );
}

#[tokio::test]
async fn a_path_with_two_deletion_vectors_has_one_id_from_json_and_from_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_duplicate_path_table(dir);

    let snapshot = load_snapshot(&location(dir), Some(2)).await.unwrap();
    let paths: Vec<&str> = snapshot.files().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [SHARED, SHARED],
        "both entries of the shared path are live"
    );
    let from_json = id_at(dir, 2).await;
    let keys_from_json = sorted_keys_at(dir, 2).await;

    // A checkpoint at v1, then v2 from the checkpoint plus commit 2.
    checkpoint_at(dir, 1).await;
    let from_checkpoint_and_commit = id_at(dir, 2).await;
    // The sorted file list (manifests, shards, restore use it) is the same by either route.
    assert_eq!(sorted_keys_at(dir, 2).await, keys_from_json);
    assert_eq!(
        from_checkpoint_and_commit, from_json,
        "checkpoint v1 + commit v2 vs JSON v0..v2"
    );

    // A checkpoint at v2 itself, written from the snapshot just loaded.
    checkpoint_at(dir, 2).await;
    let from_checkpoint = id_at(dir, 2).await;
    assert_eq!(from_checkpoint, from_json, "checkpoint v2 vs JSON v0..v2");

    // The id taken from JSON replay resolves against the checkpointed table.
    let resolved = resolve_snapshot_id(&location(dir), &from_json)
        .await
        .unwrap();
    assert_eq!(resolved.version(), 2);

    // And a checkpoint at v2 written from the JSON replay.
    drop_checkpoints(dir);
    assert_eq!(id_at(dir, 2).await, from_json);
    checkpoint_at(dir, 2).await;
    assert_eq!(
        id_at(dir, 2).await,
        from_json,
        "checkpoint v2 (from JSON) vs JSON"
    );
}

/// The id of a version whose paths are all distinct is the one the format has always given it
/// (sorted by path alone): the order that breaks ties between equal paths changes no such id.
#[tokio::test]
async fn ids_of_snapshots_without_duplicated_paths_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut v0 = protocol_and_metadata();
    v0.push(add("region=US/part-2.parquet", "US", None, 30));
    v0.push(add("region=EU/part-1.parquet", "EU", Some(&dv_large()), 20));
    v0.push(add("region=EU/part-0.parquet", "EU", None, 10));
    write_commit(dir, 0, &v0);
    write_commit(
        dir,
        1,
        &[
            remove("region=EU/part-0.parquet", "EU", None),
            add("region=EU/part-0.parquet", "EU", Some(&dv_small()), 10),
        ],
    );
    // Computed by the code that sorted by path alone.
    assert_eq!(
        id_at(dir, 0).await.to_string(),
        format!("tm1.{TABLE_ID}.0.f80267b212426da7c9df15290e7eccd3")
    );
    assert_eq!(
        id_at(dir, 1).await.to_string(),
        format!("tm1.{TABLE_ID}.1.dcacdaba0c0944a6e895f4fb8864d031")
    );
}

/// The live entries of the property test: several paths, some with two or three live deletion
/// vectors (added in no particular order), one with none and one with an inline vector.
fn live_entries() -> Vec<Value> {
    let mut entries = Vec::new();
    for (i, path) in ["b/x.parquet", "a/y.parquet", "c/z.parquet"]
        .into_iter()
        .enumerate()
    {
        let size = 100 + i64::try_from(i).unwrap();
        entries.push(add(path, "EU", None, size));
        entries.push(add(
            path,
            "EU",
            Some(&dv("vBn[lx{q8@P<9BNH/isA", Some(7), 1)),
            size,
        ));
        entries.push(add(
            path,
            "EU",
            Some(&dv("vBn[lx{q8@P<9BNH/isA", Some(70), 2)),
            size,
        ));
        entries.push(add(
            path,
            "EU",
            Some(&dv("AAAAAAAAAAAAAAAAAAAA", None, 1)),
            size,
        ));
    }
    entries.push(add("d/solo.parquet", "US", None, 5));
    let inline = json!({"storageType": "i", "pathOrInlineDv": "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
        "sizeInBytes": 40, "cardinality": 6});
    entries.push(add("a/y.parquet", "EU", Some(&inline), 101));
    entries
}

/// Files added and removed again on the way, so that removals move entries around.
fn transient_entries() -> Vec<(Value, Value)> {
    (0..5)
        .map(|i| {
            let path = format!("t/transient-{i}.parquet");
            let dv = (i % 2 == 1).then(|| dv("ZZZZZZZZZZZZZZZZZZZZ", Some(i), 1));
            (
                add(&path, "EU", dv.as_ref(), 1),
                remove(&path, "EU", dv.as_ref()),
            )
        })
        .collect()
}

fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = usize::try_from(rng.below(u64::try_from(i + 1).unwrap())).unwrap();
        items.swap(i, j);
    }
}

/// Writes the same live set through a random history: the adds (and transient adds and their
/// later removes) in a random order, cut into random commits, with a checkpoint at a random
/// version half of the time. Returns the last version.
async fn write_random_history(dir: &Path, rng: &mut SplitMix64) -> u64 {
    let mut actions: Vec<Value> = live_entries();
    let transients = transient_entries();
    actions.extend(transients.iter().map(|(a, _)| a.clone()));
    shuffle(&mut actions, rng);
    for (add, remove) in transients {
        let at = actions.iter().position(|a| *a == add).unwrap();
        let slots = actions.len() - at;
        let offset = usize::try_from(rng.below(u64::try_from(slots).unwrap())).unwrap();
        actions.insert(at + 1 + offset, remove);
    }
    write_commit(dir, 0, &protocol_and_metadata());
    let mut version = 0;
    let mut rest = actions.as_slice();
    while !rest.is_empty() {
        let take = 1 + usize::try_from(rng.below(4)).unwrap();
        let (commit, tail) = rest.split_at(take.min(rest.len()));
        version += 1;
        write_commit(dir, version, commit);
        rest = tail;
    }
    if rng.below(2) == 1 {
        checkpoint_at(dir, rng.below(version + 1)).await;
    }
    version
}

#[tokio::test]
async fn the_id_does_not_depend_on_the_order_of_the_history() {
    let mut rng = SplitMix64::new(0x7469_6465_6d61_726b);
    let mut expected: Option<String> = None;
    for round in 0..48 {
        let dir = tempfile::tempdir().unwrap();
        let version = write_random_history(dir.path(), &mut rng).await;
        let snapshot = load_snapshot(&location(dir.path()), Some(version))
            .await
            .unwrap();
        assert_eq!(snapshot.num_files(), live_entries().len(), "round {round}");
        let digest = SnapshotId::of(&snapshot).unwrap().digest;
        match &expected {
            None => expected = Some(digest),
            Some(expected) => assert_eq!(&digest, expected, "round {round}"),
        }
    }
}
