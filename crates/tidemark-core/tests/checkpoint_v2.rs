//! Checkpoints of tables with the `v2Checkpoint` feature: Tidemark writes UUID-named v2
//! checkpoints (with a `checkpointMetadata` action), never classic ones, on demand and every
//! `delta.checkpointInterval` commits, and reads the table back through them. Checkpoints pass
//! the writer-feature gate: a table with a feature Tidemark does not know is refused, and
//! nothing is written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{ids_at, location, log_files, read_parquet};
use serde_json::{Value, json};
use tidemark_core::checkpoint::write_checkpoint;
use tidemark_core::log::actions::Action;
use tidemark_core::testing::{
    LogFileKind, LogListing, load_snapshot, load_snapshot_from_listing, parse_log_file_name,
    read_checkpoint_parquet, tombstone_count,
};
use tidemark_core::{Snapshot, Table, TableOptions, WriteMode};

const SCHEMA: &str =
    r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#;

/// Writes commit 0 of a table by hand: `protocol`, `metaData` with `configuration`, and
/// `extra` actions.
fn create_by_hand(dir: &Path, protocol: Value, configuration: Value, extra: &[Value]) {
    let log = dir.join("_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let mut lines = vec![
        json!({"commitInfo": {"timestamp": now, "operation": "CREATE TABLE"}}),
        json!({"protocol": protocol}),
        json!({"metaData": {
            "id": uuid::Uuid::new_v4().to_string(),
            "format": {"provider": "parquet", "options": {}},
            "schemaString": SCHEMA,
            "partitionColumns": [],
            "configuration": configuration,
            "createdTime": now,
        }}),
    ];
    lines.extend(extra.iter().cloned());
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(
        log.join("00000000000000000000.json"),
        text.join("\n") + "\n",
    )
    .unwrap();
}

fn v2_protocol() -> Value {
    json!({
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": ["v2Checkpoint"],
        "writerFeatures": ["v2Checkpoint", "domainMetadata"],
    })
}

fn ids(range: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from_iter_values(range))],
    )
    .unwrap()
}

async fn write(dir: &Path, range: std::ops::Range<i64>, mode: WriteMode) -> (u64, bool) {
    let outcome = Table::from_location(location(dir))
        .write()
        .with_mode(mode)
        .execute_batches(vec![ids(range)])
        .await
        .unwrap();
    (outcome.version.unwrap(), outcome.checkpoint_written)
}

/// The snapshot of `version` replayed from the JSON commits alone, ignoring every checkpoint.
async fn replayed_from_json(dir: &Path, version: u64) -> Snapshot {
    let location = location(dir);
    let mut listing = LogListing::list(&location, None).await.unwrap();
    listing.checkpoints.clear();
    load_snapshot_from_listing(&location, &listing, version)
        .await
        .unwrap()
}

/// Asserts that two snapshots of the same version hold the same state.
fn assert_same_state(a: &Snapshot, b: &Snapshot) {
    assert_eq!(a.version(), b.version());
    assert_eq!(a.snapshot_id().unwrap(), b.snapshot_id().unwrap());
    assert_eq!(a.protocol(), b.protocol());
    assert_eq!(a.metadata(), b.metadata());
    let files = |s: &Snapshot| {
        s.files_sorted()
            .into_iter()
            .map(|add| {
                let mut add = add.clone();
                add.data_change = false;
                add
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(files(a), files(b));
    let mut txns_a: Vec<_> = a.txns().cloned().collect();
    let mut txns_b: Vec<_> = b.txns().cloned().collect();
    txns_a.sort_by(|x, y| x.app_id.cmp(&y.app_id));
    txns_b.sort_by(|x, y| x.app_id.cmp(&y.app_id));
    assert_eq!(txns_a, txns_b);
    assert_eq!(a.domain("app.tidemark.test"), b.domain("app.tidemark.test"));
    assert_eq!(tombstone_count(a), tombstone_count(b));
}

/// The v2 checkpoint files of `version` in the table's log.
fn v2_checkpoints(dir: &Path, version: u64) -> Vec<String> {
    log_files(dir)
        .into_iter()
        .filter(|name| {
            parse_log_file_name(name) == Some((version, LogFileKind::V2Checkpoint { json: false }))
        })
        .collect()
}

fn has_classic_checkpoint(dir: &Path) -> bool {
    log_files(dir).iter().any(|name| {
        matches!(
            parse_log_file_name(name),
            Some((
                _,
                LogFileKind::ClassicCheckpoint | LogFileKind::MultiPartCheckpoint { .. }
            ))
        )
    })
}

#[tokio::test]
async fn a_v2_checkpoint_table_gets_a_uuid_named_v2_checkpoint_that_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    create_by_hand(
        &table,
        v2_protocol(),
        json!({"delta.checkpointPolicy": "v2"}),
        &[json!({"domainMetadata": {
            "domain": "app.tidemark.test",
            "configuration": "{\"k\":1}",
            "removed": false,
        }})],
    );
    Table::from_location(location(&table))
        .write()
        .with_app_transaction("etl", 7)
        .execute_batches(vec![ids(0..3)])
        .await
        .unwrap();
    write(&table, 3..6, WriteMode::Append).await;
    write(&table, 10..13, WriteMode::Overwrite).await;
    let (version, _) = write(&table, 13..16, WriteMode::Append).await;
    assert_eq!(version, 4);
    let from_json = replayed_from_json(&table, 4).await;
    assert!(
        tombstone_count(&from_json) >= 2,
        "the overwrite left tombstones"
    );

    let summary = write_checkpoint(&load_snapshot(&location(&table), None).await.unwrap())
        .await
        .unwrap();
    assert!(summary.v2);
    assert_eq!(summary.version, 4);
    assert_eq!(summary.add_files, 2);

    // `<version:020>.checkpoint.<uuid>.parquet`, and no classic checkpoint.
    let uuid = summary
        .file
        .strip_prefix("00000000000000000004.checkpoint.")
        .and_then(|rest| rest.strip_suffix(".parquet"))
        .unwrap();
    uuid::Uuid::parse_str(uuid).unwrap();
    assert_eq!(v2_checkpoints(&table, 4), vec![summary.file.clone()]);
    assert!(!has_classic_checkpoint(&table), "{:?}", log_files(&table));

    // One checkpointMetadata action naming the version, first; every action inline.
    let path = object_store::path::Path::from_filesystem_path(
        table.join("_delta_log").join(&summary.file),
    )
    .unwrap();
    let actions = read_checkpoint_parquet(&location(&table), &path, None)
        .await
        .unwrap();
    assert_eq!(actions.len() as u64, summary.actions);
    match actions.first() {
        Some(Action::CheckpointMetadata(m)) => assert_eq!(m.version, 4),
        other => panic!("the first action is {other:?}"),
    }
    let count = |f: fn(&Action) -> bool| actions.iter().filter(|a| f(a)).count();
    assert_eq!(count(|a| matches!(a, Action::CheckpointMetadata(_))), 1);
    assert_eq!(count(|a| matches!(a, Action::Sidecar(_))), 0);
    assert_eq!(count(|a| matches!(a, Action::Protocol(_))), 1);
    assert_eq!(count(|a| matches!(a, Action::Metadata(_))), 1);
    assert_eq!(count(|a| matches!(a, Action::Add(_))), 2);
    assert_eq!(
        count(|a| matches!(a, Action::Remove(_))),
        tombstone_count(&from_json)
    );
    assert_eq!(count(|a| matches!(a, Action::Txn(_))), 1);
    assert_eq!(count(|a| matches!(a, Action::DomainMetadata(_))), 1);
    // The Parquet file has the checkpointMetadata and sidecar columns of Delta's schema.
    let batches = read_parquet(&table.join("_delta_log").join(&summary.file));
    let column = |name: &str| {
        batches
            .iter()
            .map(|b| {
                let c = b.column_by_name(name).unwrap();
                c.len() - c.null_count()
            })
            .sum::<usize>()
    };
    assert_eq!(column("checkpointMetadata"), 1);
    assert_eq!(column("sidecar"), 0);

    // `_last_checkpoint` points to it, with the v2Checkpoint details.
    let hint: Value =
        serde_json::from_slice(&std::fs::read(table.join("_delta_log/_last_checkpoint")).unwrap())
            .unwrap();
    assert_eq!(hint["version"], 4);
    assert_eq!(hint["size"], summary.actions);
    assert_eq!(hint["v2Checkpoint"]["path"], summary.file.as_str());
    let size = std::fs::metadata(table.join("_delta_log").join(&summary.file))
        .unwrap()
        .len();
    assert_eq!(hint["v2Checkpoint"]["sizeInBytes"], size);
    assert_eq!(hint["v2Checkpoint"]["sidecarFiles"], json!([]));

    // Reopened through the checkpoint, the table is the table replayed from JSON.
    let through_checkpoint = load_snapshot(&location(&table), None).await.unwrap();
    assert_same_state(&through_checkpoint, &from_json);
    let expected = vec![10, 11, 12, 13, 14, 15];
    assert_eq!(ids_at(&table, None).await, expected);
    // Without the commits it covers, the table still reads the same: only the checkpoint
    // can have rebuilt it.
    let copy = dir.path().join("copy");
    tidemark_testdata::copy_dir(&table, &copy);
    for v in 0..4 {
        std::fs::remove_file(copy.join(format!("_delta_log/{v:020}.json"))).unwrap();
    }
    let from_checkpoint_only = load_snapshot(&location(&copy), None).await.unwrap();
    assert_same_state(&from_checkpoint_only, &from_json);
    assert_eq!(from_checkpoint_only.txn("etl").map(|t| t.version), Some(7));
    assert_eq!(ids_at(&copy, None).await, expected);
    // And Tidemark writes on from there.
    let (version, _) = write(&copy, 20..21, WriteMode::Append).await;
    assert_eq!(version, 5);
    assert_eq!(ids_at(&copy, None).await.len(), 7);
}

#[tokio::test]
async fn automatic_checkpoints_of_a_v2_checkpoint_table_are_v2() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    create_by_hand(
        &table,
        v2_protocol(),
        json!({"delta.checkpointInterval": "2"}),
        &[],
    );
    let mut written = Vec::new();
    for i in 0..5 {
        let (version, checkpoint) = write(&table, i * 10..i * 10 + 2, WriteMode::Append).await;
        written.push((version, checkpoint));
    }
    assert_eq!(
        written,
        vec![(1, false), (2, true), (3, false), (4, true), (5, false)]
    );
    assert_eq!(v2_checkpoints(&table, 2).len(), 1);
    assert_eq!(v2_checkpoints(&table, 4).len(), 1);
    assert!(!has_classic_checkpoint(&table), "{:?}", log_files(&table));
    let latest = load_snapshot(&location(&table), None).await.unwrap();
    assert_same_state(&latest, &replayed_from_json(&table, 5).await);
    assert_eq!(ids_at(&table, None).await.len(), 10);
}

#[tokio::test]
async fn a_spark_v2_table_with_sidecars_is_checkpointed_as_v2() {
    let (_dir, table) =
        tidemark_testdata::copy_table("delta-kernel/v2-checkpoints-parquet-with-last-checkpoint");
    let before = ids_at(&table, None).await;
    let (version, _) = write(&table, 100..103, WriteMode::Append).await;
    assert_eq!(version, 1);
    let summary = write_checkpoint(&load_snapshot(&location(&table), None).await.unwrap())
        .await
        .unwrap();
    assert!(summary.v2);
    assert_eq!(v2_checkpoints(&table, 1), vec![summary.file.clone()]);
    assert!(!has_classic_checkpoint(&table), "{:?}", log_files(&table));
    let latest = load_snapshot(&location(&table), None).await.unwrap();
    assert_same_state(&latest, &replayed_from_json(&table, 1).await);
    let mut expected = before;
    expected.extend([100, 101, 102]);
    expected.sort();
    assert_eq!(ids_at(&table, None).await, expected);
}

#[tokio::test]
async fn tables_without_the_feature_still_get_classic_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_table_options(TableOptions::default())
        .execute_batches(vec![ids(0..3)])
        .await
        .unwrap();
    let summary = write_checkpoint(&load_snapshot(&location(&table), None).await.unwrap())
        .await
        .unwrap();
    assert!(!summary.v2);
    assert_eq!(
        summary.file,
        format!("{:020}.checkpoint.parquet", summary.version)
    );
    let batches = read_parquet(&table.join("_delta_log").join(&summary.file));
    assert!(batches[0].column_by_name("checkpointMetadata").is_none());
    let hint: Value =
        serde_json::from_slice(&std::fs::read(table.join("_delta_log/_last_checkpoint")).unwrap())
            .unwrap();
    assert!(hint.get("v2Checkpoint").is_none(), "{hint}");
}

#[tokio::test]
async fn an_unknown_writer_feature_blocks_the_checkpoint_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    create_by_hand(
        &table,
        json!({
            "minReaderVersion": 1,
            "minWriterVersion": 7,
            "writerFeatures": ["appendOnly", "someFutureFeature"],
        }),
        json!({}),
        &[],
    );
    let before = log_files(&table);
    // The table reads (writer features do not concern readers)...
    let snapshot = load_snapshot(&location(&table), None).await.unwrap();
    // ...but a checkpoint must understand every writer feature.
    let err = write_checkpoint(&snapshot).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, tidemark_core::Error::Unsupported(_)),
        "{message}"
    );
    assert!(message.contains("'someFutureFeature'"), "{message}");
    assert!(message.contains("checkpoint"), "{message}");
    assert_eq!(log_files(&table), before);
}
