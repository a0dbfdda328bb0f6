//! Table maintenance on real files: restore to an earlier version or time, and vacuum with its
//! retention window, dry runs, orphans of failed writes, and refusal of unsafe windows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{ids_at, location, write_batch};
use tidemark_core::maintenance::restore::restore;

use tidemark_core::VersionSpec;
use tidemark_core::maintenance::vacuum::{VacuumOptions, vacuum};
use tidemark_core::testing::load_snapshot;
use tidemark_core::{SchemaMode, WriteMode};

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from_iter_values(ids))],
    )
    .unwrap()
}

async fn write(dir: &Path, ids: std::ops::Range<i64>, mode: WriteMode) -> u64 {
    write_batch(&location(dir), batch(ids), mode, SchemaMode::Strict)
        .await
        .unwrap()
}

fn parquet_files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn restore_brings_back_an_old_version_as_a_new_commit() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write(&table, 0..3, WriteMode::Append).await;
    write(&table, 3..6, WriteMode::Append).await;
    write(&table, 100..101, WriteMode::Overwrite).await;
    let outcome = restore(
        &location(&table),
        VersionSpec::Version(1),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!((outcome.version, outcome.restored_version), (3, 1));
    assert_eq!((outcome.files_added, outcome.files_removed), (2, 1));
    assert_eq!(ids_at(&table, None).await, (0..6).collect::<Vec<_>>());
    // The versions in between are untouched, and the restore can itself be undone.
    assert_eq!(ids_at(&table, Some(2)).await, vec![100]);
    let again = restore(
        &location(&table),
        VersionSpec::Version(2),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(again.version, 4);
    assert_eq!(ids_at(&table, None).await, vec![100]);
    // By timestamp: the instant of version 0.
    let v0 = load_snapshot(&location(&table), Some(0))
        .await
        .unwrap()
        .timestamp_ms();
    let at = chrono::DateTime::from_timestamp_millis(v0).unwrap();
    restore(
        &location(&table),
        VersionSpec::Timestamp(at),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(ids_at(&table, None).await, vec![0, 1, 2]);
}

#[tokio::test]
async fn vacuum_keeps_what_retained_versions_read_and_deletes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write(&table, 0..3, WriteMode::Append).await;
    write(&table, 3..6, WriteMode::Overwrite).await;
    write(&table, 6..9, WriteMode::Append).await;
    // An orphan, as a failed write leaves behind.
    std::fs::write(table.join("part-orphan.parquet"), b"not committed").unwrap();
    assert_eq!(parquet_files(&table).len(), 4);

    // The default window (7 days) keeps everything: all of it is younger.
    let report = vacuum(
        &location(&table),
        VacuumOptions {
            dry_run: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(report.files.is_empty(), "{:?}", report.files);
    assert_eq!(parquet_files(&table).len(), 4);

    // A window shorter than the table's is refused unless allowed.
    let err = vacuum(
        &location(&table),
        VacuumOptions {
            retention_ms: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("shorter than the table's"),
        "{err}"
    );

    // Zero retention, dry run: reports the replaced file and the orphan, deletes nothing.
    let zero = VacuumOptions {
        retention_ms: Some(0),
        dry_run: true,
        allow_short_retention: true,
    };
    let report = vacuum(&location(&table), zero).await.unwrap();
    assert_eq!(report.oldest_retained_version, 2);
    assert_eq!(report.files.len(), 2, "{:?}", report.files);
    assert!(report.files.contains(&"part-orphan.parquet".to_string()));
    assert_eq!(parquet_files(&table).len(), 4);

    // Executed: the latest version still reads; version 0 no longer can be scanned.
    let report = vacuum(
        &location(&table),
        VacuumOptions {
            dry_run: false,
            ..zero
        },
    )
    .await
    .unwrap();
    assert_eq!(report.files.len(), 2);
    assert_eq!(parquet_files(&table).len(), 2);
    assert_eq!(ids_at(&table, None).await, (3..9).collect::<Vec<_>>());
    let old = load_snapshot(&location(&table), Some(0)).await.unwrap();
    let scan = tidemark_core::ScanBuilder::new(old).build().unwrap();
    let result: Result<Vec<_>, _> = futures::TryStreamExt::try_collect(scan.execute()).await;
    assert!(result.is_err());
    // And restoring to it is refused, committing nothing.
    let err = restore(
        &location(&table),
        VersionSpec::Version(0),
        Default::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("deleted"), "{err}");
    // Vacuum announced its plan (VACUUM START, version 3) and closed it (VACUUM END, 4); the
    // refused restore committed nothing.
    let latest = load_snapshot(&location(&table), None).await.unwrap();
    assert_eq!(latest.version(), 4);
    let operations: Vec<String> = (3..=4)
        .map(|v| {
            common::commit_actions(&table, v)
                .into_iter()
                .find_map(|a| a["commitInfo"]["operation"].as_str().map(str::to_string))
                .unwrap()
        })
        .collect();
    assert_eq!(operations, ["VACUUM START", "VACUUM END"]);
    assert!(
        !table.join("_tidemark").join("vacuum").exists()
            || std::fs::read_dir(table.join("_tidemark").join("vacuum"))
                .unwrap()
                .next()
                .is_none(),
        "the plan is deleted once vacuum is done"
    );
}

/// The JSON lines of commit `version` of the table in `dir`.
fn commit_lines(dir: &Path, version: u64) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("_delta_log").join(format!("{version:020}.json")))
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_commit(dir: &Path, version: u64, lines: &[serde_json::Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(
        dir.join("_delta_log").join(format!("{version:020}.json")),
        text,
    )
    .unwrap();
}

#[tokio::test]
async fn restore_refuses_a_version_whose_deletion_vector_file_is_gone() {
    let (_tmp, table) = tidemark_testdata::copy_table("delta-kernel/table-with-dv-small");
    let rows_v1 = ids_rows(&table, Some(1)).await;
    // Version 2 removes the file (with its deletion vector), by hand.
    let add = commit_lines(&table, 1)
        .into_iter()
        .find_map(|l| l.get("add").cloned())
        .unwrap();
    let mut remove = serde_json::json!({
        "path": add["path"],
        "deletionTimestamp": chrono::Utc::now().timestamp_millis(),
        "dataChange": true,
    });
    remove["deletionVector"] = add["deletionVector"].clone();
    write_commit(
        &table,
        2,
        &[
            serde_json::json!({"commitInfo": {"timestamp": chrono::Utc::now().timestamp_millis(), "operation": "DELETE"}}),
            serde_json::json!({ "remove": remove }),
        ],
    );
    let dv_file = std::fs::read_dir(&table)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("deletion_vector_"))
        .unwrap();
    let saved = std::fs::read(&dv_file).unwrap();
    std::fs::remove_file(&dv_file).unwrap();
    let err = restore(
        &location(&table),
        VersionSpec::Version(1),
        Default::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("deletion-vector file") && err.contains("deletion_vector_"),
        "{err}"
    );
    assert!(
        !table
            .join("_delta_log")
            .join(format!("{:020}.json", 3))
            .exists(),
        "nothing was committed"
    );
    // With the file back, the restore commits and reads the rows of version 1.
    std::fs::write(&dv_file, saved).unwrap();
    let outcome = restore(
        &location(&table),
        VersionSpec::Version(1),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.version, 3);
    assert_eq!(ids_rows(&table, None).await, rows_v1);
}

/// The rows of a version, as sorted strings (any schema).
async fn ids_rows(dir: &Path, version: Option<u64>) -> Vec<String> {
    let snapshot = load_snapshot(&location(dir), version).await.unwrap();
    let batches = common::scan_all(snapshot).await;
    let columns = common::column_names(&batches);
    common::canonical_rows(&batches, &columns)
}

#[tokio::test]
async fn restore_keeps_the_latest_in_commit_timestamp_settings() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write(&table, 0..3, WriteMode::Append).await;
    let v0 = load_snapshot(&location(&table), Some(0)).await.unwrap();
    assert!(v0.in_commit_timestamps_enabled());
    // Version 1 switches in-commit timestamps off (as another writer may), by hand.
    pause().await;
    let mut metadata = commit_lines(&table, 0)
        .into_iter()
        .find_map(|l| l.get("metaData").cloned())
        .unwrap();
    metadata["configuration"]["delta.enableInCommitTimestamps"] = "false".into();
    write_commit(
        &table,
        1,
        &[
            serde_json::json!({"commitInfo": {"timestamp": chrono::Utc::now().timestamp_millis(), "operation": "SET TBLPROPERTIES"}}),
            serde_json::json!({ "metaData": metadata }),
        ],
    );
    pause().await;
    write(&table, 3..6, WriteMode::Append).await;
    pause().await;
    let outcome = restore(
        &location(&table),
        VersionSpec::Version(0),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.version, 3);
    let latest = load_snapshot(&location(&table), None).await.unwrap();
    assert!(
        !latest.in_commit_timestamps_enabled(),
        "a restore must not switch in-commit timestamps back on: {:?}",
        latest.metadata().configuration
    );
    assert_eq!(ids_at(&table, None).await, vec![0, 1, 2]);
    // Every version since in-commit timestamps were switched off is still found by its own
    // timestamp. (Version 0 is not: its snapshot reports its in-commit timestamp, while time
    // travel on a table whose latest metadata has them off uses file times; see the note.)
    for version in 1..=3 {
        let found = common::snapshot_by_timestamp(&table, version).await;
        assert_eq!(found.version(), version);
    }
}

#[tokio::test]
async fn vacuum_fails_closed_on_a_retention_it_cannot_parse_and_on_unknown_writer_features() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    write(&table, 0..3, WriteMode::Append).await;
    write(&table, 3..6, WriteMode::Overwrite).await;
    let files_before = parquet_files(&table);
    let zero = VacuumOptions {
        retention_ms: Some(0),
        dry_run: false,
        allow_short_retention: true,
    };
    // Another writer set a retention Tidemark cannot parse.
    let mut metadata = commit_lines(&table, 0)
        .into_iter()
        .find_map(|l| l.get("metaData").cloned())
        .unwrap();
    metadata["configuration"]["delta.deletedFileRetentionDuration"] =
        "interval 2 fortnights".into();
    common::tick().await;
    write_commit(
        &table,
        2,
        &[
            serde_json::json!({"commitInfo": {"timestamp": now_ms(), "inCommitTimestamp": now_ms(), "operation": "SET TBLPROPERTIES"}}),
            serde_json::json!({ "metaData": metadata }),
        ],
    );
    let err = vacuum(&location(&table), zero)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("delta.deletedFileRetentionDuration"), "{err}");
    assert_eq!(parquet_files(&table), files_before, "nothing was deleted");
    // A writer feature Tidemark does not know.
    metadata["configuration"]["delta.deletedFileRetentionDuration"] = "interval 1 hour".into();
    let protocol = serde_json::json!({"protocol": {
        "minReaderVersion": 3, "minWriterVersion": 7,
        "readerFeatures": [], "writerFeatures": ["aFeatureFromTheFuture"],
    }});
    common::tick().await;
    write_commit(
        &table,
        3,
        &[
            serde_json::json!({"commitInfo": {"timestamp": now_ms(), "inCommitTimestamp": now_ms(), "operation": "UPGRADE PROTOCOL"}}),
            protocol,
            serde_json::json!({ "metaData": metadata }),
        ],
    );
    let err = vacuum(&location(&table), zero)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("aFeatureFromTheFuture"), "{err}");
    assert_eq!(parquet_files(&table), files_before, "nothing was deleted");
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Long enough that two commits' timestamps (file times where in-commit timestamps are off)
/// differ on any file system.
async fn pause() {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}
