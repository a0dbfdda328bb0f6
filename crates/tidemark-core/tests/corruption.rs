//! Corrupt input: every damage gives a clear error naming what is damaged, or (for hints such
//! as `_last_checkpoint`, and for a checkpoint that older files can replace) a correct
//! fallback; never a panic, never wrong rows in silence.
//!
//! Covered elsewhere: a wrong `_last_checkpoint` pointing at the wrong version and a corrupt
//! single-file checkpoint with and without fallback (tests/log_replay.rs), a deletion vector
//! with a bad checksum or cardinality, or missing (unit tests in src/deletion_vector.rs), a
//! bad JSON line naming file and line (unit test in src/actions.rs), missing commits and
//! damaged logs of the conformance tables (tests/conformance.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use futures::TryStreamExt;
use tidemark_core::ScanBuilder;
use tidemark_core::Snapshot;
use tidemark_core::{Table, VersionSpec};

use tidemark_core::{Error, TableLocation};

async fn load(path: &Path, version: Option<u64>) -> Result<Snapshot, Error> {
    let spec = version.map_or(VersionSpec::Latest, VersionSpec::Version);
    Table::open(path.to_str().unwrap())?.snapshot(spec).await
}

/// Scans every row, returning the first error.
async fn try_scan(path: &Path) -> Result<Vec<RecordBatch>, Error> {
    let snapshot = load(path, None).await?;
    ScanBuilder::new(snapshot)
        .build()?
        .execute()
        .try_collect()
        .await
}

fn live_paths(snapshot: &Snapshot) -> Vec<String> {
    let mut paths: Vec<String> = snapshot.files().map(|f| f.path.clone()).collect();
    paths.sort();
    paths
}

/// A table written by Tidemark: version 0 with ids 0..5, version 1 with ids 5..10.
async fn own_table() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let location = TableLocation::parse(path.to_str().unwrap()).unwrap();
    for ids in [0..5i64, 5..10] {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let names: Vec<String> = ids.clone().map(|i| format!("n{i}")).collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap();
        Table::from_location(location.clone())
            .write()
            .with_create_if_missing(true)
            .execute_batches(vec![batch])
            .await
            .unwrap();
    }
    (dir, path)
}

fn commit(path: &Path, version: u64) -> PathBuf {
    path.join(format!("_delta_log/{version:020}.json"))
}

#[tokio::test]
async fn a_truncated_commit_is_a_clear_error_and_earlier_versions_still_read() {
    let (_dir, path) = own_table().await;
    let file = commit(&path, 1);
    let text = std::fs::read(&file).unwrap();
    // Cut the last line in the middle, as a torn write would.
    std::fs::write(&file, &text[..text.len() - 40]).unwrap();
    let err = load(&path, None).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::InvalidLog { .. }), "{message}");
    assert!(message.contains("00000000000000000001.json"), "{message}");
    // Version 0 does not need the damaged file.
    let v0 = load(&path, Some(0)).await.unwrap();
    assert_eq!(v0.num_files(), 1);
}

#[tokio::test]
async fn invalid_json_in_a_commit_is_a_clear_error() {
    let (_dir, path) = own_table().await;
    for garbage in [
        "{\"add\": {\"path\": 12}}\n",
        "not json at all\n",
        "{\"add\": {\"path\": \"x.parquet\", \"size\": \"big\"}}\n",
        "\u{0}\u{1}\u{2}\n",
        "[1, 2, 3]\n",
    ] {
        let file = commit(&path, 1);
        let mut text = std::fs::read_to_string(&file).unwrap();
        let original = text.clone();
        text.push_str(garbage);
        std::fs::write(&file, &text).unwrap();
        let err = load(&path, None).await.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("00000000000000000001.json"),
            "{garbage:?}: {message}"
        );
        std::fs::write(&file, original).unwrap();
    }
    assert_eq!(load(&path, None).await.unwrap().version(), 1);
}

#[tokio::test]
async fn a_commit_file_of_invalid_utf8_is_a_clear_error() {
    let (_dir, path) = own_table().await;
    std::fs::write(commit(&path, 1), [0xff, 0xfe, b'{', b'}', b'\n']).unwrap();
    let err = load(&path, None).await.unwrap_err();
    assert!(
        err.to_string().contains("00000000000000000001.json"),
        "{err}"
    );
}

const MULTI_PART: &str = "delta-kernel/v1-multi-part-struct-stats-only";

#[tokio::test]
async fn a_multi_part_checkpoint_missing_a_part_falls_back_to_the_commits() {
    let (_dir, path) = tidemark_testdata::copy_table(MULTI_PART);
    let baseline = load(&path, None).await.unwrap();
    std::fs::remove_file(
        path.join("_delta_log/00000000000000000005.checkpoint.0000000002.0000000003.parquet"),
    )
    .unwrap();
    let snapshot = load(&path, None).await.unwrap();
    assert_eq!(snapshot.version(), baseline.version());
    assert_eq!(live_paths(&snapshot), live_paths(&baseline));
}

#[tokio::test]
async fn a_multi_part_checkpoint_missing_a_part_without_commits_is_a_clear_error() {
    let (_dir, path) = tidemark_testdata::copy_table(MULTI_PART);
    std::fs::remove_file(
        path.join("_delta_log/00000000000000000005.checkpoint.0000000002.0000000003.parquet"),
    )
    .unwrap();
    for v in 0..5 {
        std::fs::remove_file(commit(&path, v)).unwrap();
    }
    let err = load(&path, None).await.unwrap_err();
    // Not a table with fewer files: an error saying what is missing.
    let message = err.to_string();
    assert!(
        message.contains("version") || message.contains("checkpoint"),
        "{message}"
    );
}

#[tokio::test]
async fn a_multi_part_checkpoint_with_a_corrupt_part_falls_back_or_fails_clearly() {
    let (_dir, path) = tidemark_testdata::copy_table(MULTI_PART);
    let baseline = load(&path, None).await.unwrap();
    let part =
        path.join("_delta_log/00000000000000000005.checkpoint.0000000003.0000000003.parquet");
    let bytes = std::fs::read(&part).unwrap();
    // A torn copy: the first half of the file only.
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let snapshot = load(&path, None).await.unwrap();
    assert_eq!(live_paths(&snapshot), live_paths(&baseline));
    // Without the commits to fall back on, the damaged part is named.
    for v in 0..5 {
        std::fs::remove_file(commit(&path, v)).unwrap();
    }
    let err = load(&path, None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("00000000000000000005.checkpoint.0000000003.0000000003.parquet"),
        "{err}"
    );
}

#[tokio::test]
async fn a_last_checkpoint_naming_the_wrong_parts_or_garbage_is_ignored() {
    let (_dir, path) = tidemark_testdata::copy_table(MULTI_PART);
    let baseline = load(&path, None).await.unwrap();
    let hint = path.join("_delta_log/_last_checkpoint");
    for content in [
        r#"{"version":5,"size":10,"parts":7}"#,
        r#"{"version":5,"size":-1,"parts":1}"#,
        r#"{"version":-3,"size":1}"#,
        r#"{"version":18446744073709551615,"size":1}"#,
        r#"{"version":"5"}"#,
        "",
        "\u{0}",
    ] {
        std::fs::write(&hint, content).unwrap();
        let snapshot = load(&path, None).await.unwrap();
        assert_eq!(snapshot.version(), baseline.version(), "hint {content:?}");
        assert_eq!(
            live_paths(&snapshot),
            live_paths(&baseline),
            "hint {content:?}"
        );
    }
}

#[tokio::test]
async fn a_deletion_vector_with_a_bad_checksum_fails_the_scan() {
    let (_dir, path) = tidemark_testdata::copy_table("delta-rs/table-with-dv-small");
    assert!(try_scan(&path).await.is_ok());
    let dv = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .unwrap();
    let mut bytes = std::fs::read(&dv).unwrap();
    // Flip a bit of the bitmap (after the format byte, the size and the magic).
    bytes[13] ^= 0x01;
    std::fs::write(&dv, &bytes).unwrap();
    let err = try_scan(&path).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::DeletionVector { .. }) && message.contains("checksum"),
        "{message}"
    );
}

#[tokio::test]
async fn a_truncated_deletion_vector_fails_the_scan() {
    let (_dir, path) = tidemark_testdata::copy_table("delta-rs/table-with-dv-small");
    let dv = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .unwrap();
    let bytes = std::fs::read(&dv).unwrap();
    std::fs::write(&dv, &bytes[..bytes.len() - 6]).unwrap();
    let err = try_scan(&path).await.unwrap_err();
    assert!(err.to_string().contains("deletion vector"), "{err}");
}

#[tokio::test]
async fn a_missing_data_file_fails_the_scan_naming_it() {
    let (_dir, path) = own_table().await;
    let snapshot = load(&path, None).await.unwrap();
    let victim = snapshot.files_sorted()[0].path.clone();
    std::fs::remove_file(path.join(&victim)).unwrap();
    let err = try_scan(&path).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&victim), "{message}");
    assert!(
        err.is_not_found() || message.contains("not found"),
        "{message}"
    );
}

#[tokio::test]
async fn a_data_file_that_is_not_parquet_fails_the_scan() {
    let (_dir, path) = own_table().await;
    let snapshot = load(&path, None).await.unwrap();
    let victim = snapshot.files_sorted()[0].path.clone();
    let size = std::fs::metadata(path.join(&victim)).unwrap().len() as usize;
    std::fs::write(path.join(&victim), vec![b'x'; size]).unwrap();
    let err = try_scan(&path).await.unwrap_err();
    assert!(err.to_string().contains(&victim), "{err}");
}

/// Replaces the data file `victim` of the table with a Parquet file of the given batch, and
/// records the new file's size in the log (so that only the schema differs).
fn replace_with(table: &Path, victim: &str, batch: &RecordBatch) {
    let file = std::fs::File::create(table.join(victim)).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    let size = std::fs::metadata(table.join(victim)).unwrap().len();
    for version in 0..2 {
        let file = commit(table, version);
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
                if value["add"]["path"] == victim {
                    value["add"]["size"] = size.into();
                }
                value.to_string()
            })
            .collect();
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    }
}

#[tokio::test]
async fn a_parquet_file_whose_schema_does_not_match_the_log_fails_the_scan() {
    let (_dir, path) = own_table().await;
    let snapshot = load(&path, None).await.unwrap();
    let victim = snapshot.files_sorted()[0].path.clone();
    // `id` is a long in the table, a string in the file.
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
            Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
        ],
    )
    .unwrap();
    replace_with(&path, &victim, &batch);
    let err = try_scan(&path).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("id"), "{message}");
}

#[tokio::test]
async fn a_nullable_file_column_under_a_not_null_table_column_is_not_silently_wrong() {
    let (_dir, path) = own_table().await;
    let snapshot = load(&path, None).await.unwrap();
    let victim = snapshot.files_sorted()[0].path.clone();
    // The file holds nulls in `id`, which the table declares NOT NULL.
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(3),
                None,
                Some(5),
            ])),
            Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
        ],
    )
    .unwrap();
    replace_with(&path, &victim, &batch);
    // Either an error, or the nulls shown as nulls: never invented values.
    match try_scan(&path).await {
        Err(err) => assert!(err.to_string().contains("id"), "{err}"),
        Ok(batches) => {
            let nulls: usize = batches
                .iter()
                .map(|b| b.column_by_name("id").unwrap().null_count())
                .sum();
            assert_eq!(nulls, 2);
        }
    }
}
