//! Reproducible training data on real files: snapshot ids, tags, pins that vacuum honours,
//! manifests, deterministic sharded reads and lineage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{
    canonical_rows, column_names, ids_of, location, num_rows, scan_all, sorted_ids, write_batch,
};
use futures::TryStreamExt;
use tidemark_core::Error;
use tidemark_core::FileOptions;
use tidemark_core::Snapshot;
use tidemark_core::SnapshotId;
use tidemark_core::extensions::Reference;
use tidemark_core::extensions::lineage::{lineage, read_inputs};
use tidemark_core::extensions::manifest::{Difference, build_manifest, verify_manifest};
use tidemark_core::extensions::pin::{PinOptions, create_pin, list_pins, release_pin};
use tidemark_core::extensions::tag::{TagOptions, create_tag, delete_tag, list_tags, read_tag};
use tidemark_core::maintenance::vacuum::{VacuumOptions, vacuum};
use tidemark_core::scan::shard::{ShardOptions, ShardedReader, SplitMix64};
use tidemark_core::testing::load_snapshot;
use tidemark_core::{SchemaMode, WriteMode};
use tidemark_core::{Table, VersionSpec};

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    let labels: Vec<String> = ids.clone().map(|i| format!("row-{i}")).collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("label", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(labels)),
        ],
    )
    .unwrap()
}

async fn write(dir: &Path, ids: std::ops::Range<i64>, mode: WriteMode) -> u64 {
    write_batch(&location(dir), batch(ids), mode, SchemaMode::Strict)
        .await
        .unwrap()
}

async fn snapshot(dir: &Path, spec: VersionSpec) -> tidemark_core::Result<Snapshot> {
    Table::from_location(location(dir)).snapshot(spec).await
}

/// Data files (relative paths) of a version.
async fn files_of(dir: &Path, version: u64) -> BTreeSet<String> {
    load_snapshot(&location(dir), Some(version))
        .await
        .unwrap()
        .files()
        .map(|a| a.path.clone())
        .collect()
}

fn exists(dir: &Path, file: &str) -> bool {
    dir.join(file).is_file()
}

const ZERO_RETENTION: VacuumOptions = VacuumOptions {
    retention_ms: Some(0),
    dry_run: false,
    allow_short_retention: true,
};

#[tokio::test]
async fn snapshot_id_names_table_version_and_content() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0..10, WriteMode::Append).await;
    write(dir.path(), 10..20, WriteMode::Append).await;
    let v1 = snapshot(dir.path(), VersionSpec::Version(1)).await.unwrap();
    let text = v1.snapshot_id().unwrap();
    let id: SnapshotId = text.parse().unwrap();
    assert_eq!(id.table_id, v1.metadata().id);
    assert_eq!(id.version, 1);
    assert_eq!(id.digest.len(), 32);
    assert_eq!(id.to_string(), text);
    // Stable: computed again from a fresh load, the same.
    let again = snapshot(dir.path(), VersionSpec::Version(1)).await.unwrap();
    assert_eq!(again.snapshot_id().unwrap(), text);
    // Another version has another id.
    let v0 = snapshot(dir.path(), VersionSpec::Version(0)).await.unwrap();
    assert_ne!(v0.snapshot_id().unwrap(), text);
    // Read by id.
    let by_id = snapshot(dir.path(), VersionSpec::SnapshotId(text.clone()))
        .await
        .unwrap();
    assert_eq!(by_id.version(), 1);
    assert_eq!(sorted_ids(by_id).await, (0..20).collect::<Vec<_>>());
    // Malformed ids are refused with the expected shape.
    for bad in [
        "v1",
        "tm1.abc.1",
        "tm1.abc.x.00112233445566778899aabbccddeeff",
        "tm1.abc.1.XYZ",
    ] {
        let err = snapshot(dir.path(), VersionSpec::SnapshotId(bad.into()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidSnapshotId { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("tm1.<table id>"), "{err}");
    }
}

#[tokio::test]
async fn reading_by_snapshot_id_after_the_table_was_replaced_fails() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write(&table, 0..10, WriteMode::Append).await;
    write(&table, 10..20, WriteMode::Append).await;
    let id_v1 = snapshot(&table, VersionSpec::Version(1))
        .await
        .unwrap()
        .snapshot_id()
        .unwrap();
    let id_v0 = snapshot(&table, VersionSpec::Version(0))
        .await
        .unwrap()
        .snapshot_id()
        .unwrap();

    // Replace the table: delete it and write a new one with the same rows, at the same place.
    std::fs::remove_dir_all(&table).unwrap();
    write(&table, 0..10, WriteMode::Append).await;

    // Version 1 does not exist in the new table; version 0 does, with the same rows.
    for id in [&id_v1, &id_v0] {
        let err = snapshot(&table, VersionSpec::SnapshotId(id.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::SnapshotTableReplaced { .. }),
            "{id}: {err}"
        );
        let message = err.to_string();
        assert!(message.contains("was replaced"), "{message}");
        assert!(message.contains(id.as_str()), "{message}");
    }
}

#[tokio::test]
async fn reading_by_snapshot_id_after_the_content_changed_fails() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write(&table, 0..10, WriteMode::Append).await;
    write(&table, 10..20, WriteMode::Append).await;
    let id = snapshot(&table, VersionSpec::Version(1))
        .await
        .unwrap()
        .snapshot_id()
        .unwrap();

    // A faithful copy keeps its ids: same table, same content.
    let copy = dir.path().join("copy");
    tidemark_testdata::copy_dir(&table, &copy);
    let read = snapshot(&copy, VersionSpec::SnapshotId(id.clone()))
        .await
        .unwrap();
    assert_eq!(read.version(), 1);

    // A copy whose log says another size for a file of version 1 no longer matches.
    let commit = copy.join("_delta_log/00000000000000000001.json");
    let text = std::fs::read_to_string(&commit).unwrap();
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(add) = value.get_mut("add") {
            let size = add["size"].as_i64().unwrap();
            add["size"] = serde_json::Value::from(size + 1);
        }
        lines.push(serde_json::to_string(&value).unwrap());
    }
    std::fs::write(&commit, lines.join("\n") + "\n").unwrap();
    let err = snapshot(&copy, VersionSpec::SnapshotId(id.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SnapshotContentChanged { .. }), "{err}");
    assert!(
        err.to_string().contains("no longer has the content"),
        "{err}"
    );
    // Version 0, untouched, still resolves.
    let id0 = snapshot(&table, VersionSpec::Version(0))
        .await
        .unwrap()
        .snapshot_id()
        .unwrap();
    assert!(snapshot(&copy, VersionSpec::SnapshotId(id0)).await.is_ok());
}

#[tokio::test]
async fn tags_are_immutable_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let loc = location(dir.path());
    write(dir.path(), 0..10, WriteMode::Append).await;
    write(dir.path(), 10..20, WriteMode::Append).await;
    let tag = create_tag(
        &loc,
        "train-v1",
        VersionSpec::Version(0),
        TagOptions {
            message: Some("first training set".into()),
            author: Some("ana".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(tag.version, 0);
    let stored = std::fs::read(dir.path().join("_tidemark/tags/train-v1.json")).unwrap();

    // A tag cannot be overwritten, neither to another version nor to the same.
    for at in [VersionSpec::Version(1), VersionSpec::Version(0)] {
        let err = create_tag(&loc, "train-v1", at, TagOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TagExists { version: 0, .. }), "{err}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("_tidemark/tags/train-v1.json")).unwrap(),
        stored
    );
    // Tagging made no data version.
    let latest = snapshot(dir.path(), VersionSpec::Latest).await.unwrap();
    assert_eq!(latest.version(), 1);

    let read = read_tag(&loc, "train-v1").await.unwrap();
    assert_eq!(read.message.as_deref(), Some("first training set"));
    assert_eq!(read.author.as_deref(), Some("ana"));
    let by_tag = snapshot(dir.path(), VersionSpec::Tag("train-v1".into()))
        .await
        .unwrap();
    assert_eq!(sorted_ids(by_tag).await, (0..10).collect::<Vec<_>>());

    // Tags by snapshot id, listing, bad names, deletion.
    let id1 = latest.snapshot_id().unwrap();
    create_tag(
        &loc,
        "train-v2",
        VersionSpec::SnapshotId(id1),
        TagOptions::default(),
    )
    .await
    .unwrap();
    let names: Vec<String> = list_tags(&loc)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["train-v1", "train-v2"]);
    for bad in ["", "../x", "a/b", ".hidden"] {
        assert!(
            create_tag(&loc, bad, VersionSpec::Latest, TagOptions::default())
                .await
                .is_err(),
            "{bad:?}"
        );
    }
    delete_tag(&loc, "train-v2").await.unwrap();
    let err = snapshot(dir.path(), VersionSpec::Tag("train-v2".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TagNotFound { .. }), "{err}");
}

#[tokio::test]
async fn vacuum_with_zero_retention_keeps_tagged_and_pinned_versions_only() {
    let dir = tempfile::tempdir().unwrap();
    let loc = location(dir.path());
    // Each version replaces all files: v0..v4 each have their own data file.
    write(dir.path(), 0..10, WriteMode::Append).await;
    for (i, v) in (1..5).enumerate() {
        let start = (i as i64 + 1) * 100;
        assert_eq!(
            write(dir.path(), start..start + 10, WriteMode::Overwrite).await,
            v
        );
    }
    let mut files = Vec::new();
    for v in 0..5 {
        files.push(files_of(dir.path(), v).await);
    }
    create_tag(&loc, "gold", VersionSpec::Version(0), TagOptions::default())
        .await
        .unwrap();
    let pin = create_pin(
        &loc,
        VersionSpec::Version(2),
        PinOptions {
            owner: "run-7".into(),
            reason: "training".into(),
            expires_time_ms: Some(chrono::Utc::now().timestamp_millis() + 3_600_000),
        },
    )
    .await
    .unwrap();
    let expired = create_pin(
        &loc,
        VersionSpec::Version(3),
        PinOptions {
            owner: "old-run".into(),
            reason: "finished".into(),
            expires_time_ms: Some(chrono::Utc::now().timestamp_millis() - 1),
        },
    )
    .await
    .unwrap();

    let report = vacuum(&loc, ZERO_RETENTION).await.unwrap();

    // Kept: the tagged v0, the pinned v2, and the latest v4. Deleted: v1 and v3 (expired pin).
    for v in [0usize, 2, 4] {
        for file in &files[v] {
            assert!(exists(dir.path(), file), "v{v} lost {file}");
        }
    }
    for v in [1usize, 3] {
        for file in &files[v] {
            assert!(!exists(dir.path(), file), "v{v} kept {file}");
        }
    }
    let deleted: BTreeSet<String> = report.files.iter().cloned().collect();
    let expected: BTreeSet<String> = files[1].union(&files[3]).cloned().collect();
    assert_eq!(deleted, expected);

    // The report says which tag and pin kept which files, and lists the expired pin.
    assert_eq!(report.protected.len(), 2, "{:?}", report.protected);
    let by_tag = report
        .protected
        .iter()
        .find(|p| matches!(&p.reference, Reference::Tag { name } if name == "gold"))
        .unwrap();
    assert_eq!(by_tag.version, 0);
    assert_eq!(
        by_tag.files.iter().cloned().collect::<BTreeSet<_>>(),
        files[0]
    );
    let by_pin = report
        .protected
        .iter()
        .find(|p| matches!(&p.reference, Reference::Pin { id, .. } if *id == pin.id))
        .unwrap();
    assert_eq!(by_pin.version, 2);
    assert_eq!(
        by_pin.files.iter().cloned().collect::<BTreeSet<_>>(),
        files[2]
    );
    assert_eq!(report.expired_pins.len(), 1);
    assert_eq!(report.expired_pins[0].id, expired.id);

    // The protected versions still read, by tag and by the pin's snapshot id.
    let tagged = snapshot(dir.path(), VersionSpec::Tag("gold".into()))
        .await
        .unwrap();
    assert_eq!(sorted_ids(tagged).await, (0..10).collect::<Vec<_>>());
    let pinned = snapshot(dir.path(), VersionSpec::SnapshotId(pin.snapshot_id.clone()))
        .await
        .unwrap();
    assert_eq!(sorted_ids(pinned).await, (200..210).collect::<Vec<_>>());

    // Once the pin is released, the next vacuum deletes v2's files; the tag still holds v0.
    release_pin(&loc, &pin.id).await.unwrap();
    assert_eq!(list_pins(&loc).await.unwrap().len(), 1);
    let report = vacuum(&loc, ZERO_RETENTION).await.unwrap();
    assert_eq!(
        report.files.iter().cloned().collect::<BTreeSet<_>>(),
        files[2]
    );
    for file in &files[0] {
        assert!(exists(dir.path(), file));
    }
}

#[tokio::test]
async fn an_expired_pin_stops_protecting() {
    let dir = tempfile::tempdir().unwrap();
    let loc = location(dir.path());
    write(dir.path(), 0..10, WriteMode::Append).await;
    write(dir.path(), 10..20, WriteMode::Overwrite).await;
    let old_files = files_of(dir.path(), 0).await;
    // Valid for one more second: protects now.
    let pin = create_pin(
        &loc,
        VersionSpec::Version(0),
        PinOptions {
            owner: "run-1".into(),
            reason: "short job".into(),
            expires_time_ms: Some(chrono::Utc::now().timestamp_millis() + 1_500),
        },
    )
    .await
    .unwrap();
    let report = vacuum(&loc, ZERO_RETENTION).await.unwrap();
    assert!(report.files.is_empty(), "{:?}", report.files);
    assert!(report.expired_pins.is_empty());
    for file in &old_files {
        assert!(exists(dir.path(), file));
    }
    // After the expiry the same pin protects nothing, and the report lists it.
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let report = vacuum(&loc, ZERO_RETENTION).await.unwrap();
    assert_eq!(
        report.files.iter().cloned().collect::<BTreeSet<_>>(),
        old_files
    );
    assert_eq!(report.expired_pins.len(), 1);
    assert_eq!(report.expired_pins[0].id, pin.id);
    assert!(report.protected.is_empty());
    for file in &old_files {
        assert!(!exists(dir.path(), file));
    }
}

#[tokio::test]
async fn manifest_verifies_and_catches_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0..50, WriteMode::Append).await;
    write(dir.path(), 50..60, WriteMode::Append).await;
    let snap = snapshot(dir.path(), VersionSpec::Latest).await.unwrap();
    let manifest = build_manifest(&snap).await.unwrap();
    assert_eq!(manifest.snapshot_id, snap.snapshot_id().unwrap());
    assert_eq!(manifest.files.len(), 2);
    assert!(manifest.files.iter().all(|f| f.sha256.len() == 64));
    let report = verify_manifest(&manifest, None).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.differences);
    assert_eq!(report.files_checked, 2);

    // Flip a byte in the middle of a data file: same size, other content.
    let victim = dir.path().join(&manifest.files[0].path);
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&victim, &bytes).unwrap();
    let report = verify_manifest(&manifest, None).await.unwrap();
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert!(
        matches!(&report.differences[0], Difference::Content { path, .. } if *path == manifest.files[0].path)
    );

    // A missing file.
    std::fs::remove_file(dir.path().join(&manifest.files[1].path)).unwrap();
    let report = verify_manifest(&manifest, None).await.unwrap();
    assert!(
        report.differences.iter().any(
            |d| matches!(d, Difference::Missing { path, .. } if *path == manifest.files[1].path)
        ),
        "{:?}",
        report.differences
    );
}

/// A table of `rows` rows (ids 0..rows) in several files of several row groups each.
async fn sharded_table(dir: &Path, rows: i64) {
    let options = FileOptions {
        row_group_rows: 16,
        ..FileOptions::default()
    };
    let step = rows / 4;
    for (i, start) in (0..rows).step_by(step as usize).enumerate() {
        let end = (start + step).min(rows);
        Table::from_location(location(dir))
            .write()
            .with_create_if_missing(true)
            .with_mode(if i == 0 {
                WriteMode::Overwrite
            } else {
                WriteMode::Append
            })
            .with_file_options(options)
            .execute_batches(vec![batch(start..end)])
            .await
            .unwrap();
    }
}

async fn read_rank(snapshot: &Arc<Snapshot>, options: ShardOptions) -> Vec<i64> {
    let reader = ShardedReader::open(snapshot.clone(), options)
        .await
        .unwrap();
    let batches: Vec<RecordBatch> = reader.stream().try_collect().await.unwrap();
    let ids = ids_of(&batches);
    assert_eq!(ids.len() as u64, reader.num_rows());
    ids
}

fn shard_options(seed: u64, epoch: u64, world_size: usize, rank: usize) -> ShardOptions {
    ShardOptions {
        seed,
        epoch,
        world_size,
        rank,
        batch_size: 7,
        columns: None,
    }
}

#[tokio::test]
async fn sharded_reads_are_disjoint_complete_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 203;
    sharded_table(dir.path(), rows).await;
    let snap = Arc::new(snapshot(dir.path(), VersionSpec::Latest).await.unwrap());
    let reader = ShardedReader::open(snap.clone(), shard_options(1, 0, 1, 0))
        .await
        .unwrap();
    assert!(
        reader.units().count() >= 12,
        "the table should have many row groups, has {}",
        reader.units().count()
    );
    let all: Vec<i64> = (0..rows).collect();
    for world_size in [1usize, 2, 3, 8] {
        let mut union = Vec::new();
        let mut seen = BTreeSet::new();
        for rank in 0..world_size {
            let first = read_rank(&snap, shard_options(42, 3, world_size, rank)).await;
            let second = read_rank(&snap, shard_options(42, 3, world_size, rank)).await;
            assert_eq!(first, second, "world {world_size} rank {rank}: not stable");
            for id in &first {
                assert!(seen.insert(*id), "world {world_size}: row {id} read twice");
            }
            union.extend(first);
        }
        union.sort();
        assert_eq!(union, all, "world {world_size}: rows missing");
    }
    // The rows are shuffled, not in file order.
    let order = read_rank(&snap, shard_options(42, 3, 1, 0)).await;
    assert_ne!(order, all);
    // A fresh snapshot object (another "run") reads the same order.
    let reloaded = Arc::new(snapshot(dir.path(), VersionSpec::Latest).await.unwrap());
    assert_eq!(
        read_rank(&reloaded, shard_options(42, 3, 1, 0)).await,
        order
    );
    // Rank out of range.
    assert!(
        ShardedReader::open(snap.clone(), shard_options(42, 3, 2, 2))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sharded_reads_change_order_each_epoch_and_resume_mid_epoch() {
    let dir = tempfile::tempdir().unwrap();
    sharded_table(dir.path(), 160).await;
    let snap = Arc::new(snapshot(dir.path(), VersionSpec::Latest).await.unwrap());
    for world_size in [1usize, 3] {
        let epoch0 = read_rank(&snap, shard_options(9, 0, world_size, 0)).await;
        let epoch1 = read_rank(&snap, shard_options(9, 1, world_size, 0)).await;
        assert_ne!(epoch0, epoch1, "world {world_size}: epochs read alike");
    }
    // Another seed, another order.
    assert_ne!(
        read_rank(&snap, shard_options(9, 0, 1, 0)).await,
        read_rank(&snap, shard_options(10, 0, 1, 0)).await
    );
    // Resuming from any position yields exactly the remainder.
    for (world_size, rank) in [(1usize, 0usize), (2, 1), (3, 2)] {
        let options = shard_options(5, 2, world_size, rank);
        let reader = ShardedReader::open(snap.clone(), options.clone())
            .await
            .unwrap();
        let full = ids_of(&reader.stream().try_collect::<Vec<_>>().await.unwrap());
        let n = full.len() as u64;
        for position in [0, 1, 6, 7, 16, 17, n / 2, n - 1, n, n + 3] {
            // A new reader, as after a restart.
            let resumed = ShardedReader::open(snap.clone(), options.clone())
                .await
                .unwrap();
            let rest = ids_of(
                &resumed
                    .stream_from(position)
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap(),
            );
            let start = (position as usize).min(full.len());
            assert_eq!(
                rest,
                full[start..],
                "world {world_size} rank {rank} at {position}"
            );
        }
    }
}

#[test]
fn splitmix_is_fixed_by_its_seed() {
    // Reference values of SplitMix64 with seed 0 (as published with the algorithm).
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    let mut items: Vec<u32> = (0..100).collect();
    SplitMix64::new(3).shuffle(&mut items);
    let mut again: Vec<u32> = (0..100).collect();
    SplitMix64::new(3).shuffle(&mut again);
    assert_eq!(items, again);
    let mut sorted = items.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert!((0..1000).all(|_| rng.below(7) < 7));
}

#[tokio::test]
async fn lineage_follows_inputs_through_two_tables() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let features = dir.path().join("features");
    let model_input = dir.path().join("model_input");
    write(&raw, 0..10, WriteMode::Append).await;
    write(&raw, 10..20, WriteMode::Append).await;
    let raw_v0 = snapshot(&raw, VersionSpec::Version(0)).await.unwrap();
    let raw_id = raw_v0.snapshot_id().unwrap();
    let raw_url = location(&raw).url().to_string();

    Table::from_location(location(&features))
        .write()
        .with_create_if_missing(true)
        .with_lineage_input(raw_url.clone(), raw_id.clone())
        .with_commit_property("job", "featurize")
        .execute_batches(vec![batch(0..10)])
        .await
        .unwrap();
    let features_v0 = snapshot(&features, VersionSpec::Latest).await.unwrap();
    let features_id = features_v0.snapshot_id().unwrap();
    let features_url = location(&features).url().to_string();
    Table::from_location(location(&model_input))
        .write()
        .with_create_if_missing(true)
        .with_lineage_input(features_url.clone(), features_id.clone())
        .with_lineage_input(
            raw_url.clone(),
            snapshot(&raw, VersionSpec::Version(1))
                .await
                .unwrap()
                .snapshot_id()
                .unwrap(),
        )
        .execute_batches(vec![batch(0..5)])
        .await
        .unwrap();

    // The commit records its inputs next to the user's properties.
    let inputs = read_inputs(&location(&features), 0).await.unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].snapshot_id, raw_id);
    let history = Table::from_location(location(&features))
        .history(None)
        .await
        .unwrap();
    let info = &history[0].commit_info.0;
    assert_eq!(info["tidemark"]["meta"]["job"], "featurize");
    assert_eq!(info["tidemark"]["lineage"]["inputs"][0]["table"], raw_url);

    let tree = lineage(&location(&model_input), None).await.unwrap();
    assert_eq!(tree.version, 0);
    assert_eq!(tree.inputs.len(), 2);
    let via_features = &tree.inputs[0];
    assert_eq!(via_features.snapshot_id, features_id);
    assert!(via_features.problem.is_none(), "{:?}", via_features.problem);
    assert_eq!(via_features.inputs.len(), 1);
    assert_eq!(via_features.inputs[0].snapshot_id, raw_id);
    assert_eq!(via_features.inputs[0].version, 0);
    assert!(via_features.inputs[0].inputs.is_empty());
    assert_eq!(tree.inputs[1].version, 1);

    // When an input table is replaced, lineage still answers and says what is wrong.
    std::fs::remove_dir_all(&raw).unwrap();
    write(&raw, 0..3, WriteMode::Append).await;
    let tree = lineage(&location(&model_input), None).await.unwrap();
    let problem = tree.inputs[0].inputs[0].problem.clone().unwrap();
    assert!(problem.contains("was replaced"), "{problem}");
}

#[tokio::test]
async fn sharded_reads_and_manifests_honour_deletion_vectors() {
    for name in [
        "delta-rs/table_with_deletion_logs",
        "delta-rs/cdf-table-with-cdc-and-dvs",
    ] {
        let path = tidemark_testdata::table(name);
        let snap = Arc::new(
            Table::from_location(location(&path))
                .snapshot(VersionSpec::Latest)
                .await
                .unwrap(),
        );
        assert!(
            snap.files().any(|a| a.deletion_vector.is_some()),
            "{name} has no deletion vector"
        );
        let expected_batches = scan_all(snap.as_ref().clone()).await;
        let columns = column_names(&expected_batches);
        let expected = canonical_rows(&expected_batches, &columns);
        for world_size in [1usize, 2, 3] {
            let mut all = Vec::new();
            for rank in 0..world_size {
                let reader =
                    ShardedReader::open(snap.clone(), shard_options(11, 1, world_size, rank))
                        .await
                        .unwrap();
                let batches: Vec<RecordBatch> = reader.stream().try_collect().await.unwrap();
                assert_eq!(num_rows(&batches) as u64, reader.num_rows(), "{name}");
                all.extend(batches);
            }
            assert_eq!(
                canonical_rows(&all, &columns),
                expected,
                "{name}: world {world_size} does not read the snapshot's rows"
            );
        }
        // Manifests hash the deletion-vector files too; the untouched table verifies.
        let manifest = build_manifest(&snap).await.unwrap();
        assert!(!manifest.deletion_vector_files.is_empty(), "{name}");
        let report = verify_manifest(&manifest, None).await.unwrap();
        assert!(report.is_ok(), "{name}: {:?}", report.differences);
    }
}
