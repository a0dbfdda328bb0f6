//! Path safety: a log naming files outside the table root (`../`, percent-encoded dots and
//! slashes, absolute URIs elsewhere) is refused before anything is read; absolute paths are
//! read only from the table or from prefixes the caller allows; credentials written into a
//! location never appear in errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use futures::TryStreamExt;
use tidemark_core::ScanBuilder;

use tidemark_core::Table;
use tidemark_core::testing::load_snapshot;
use tidemark_core::{Error, TableLocation};

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(ids))]).unwrap()
}

/// A table at `<dir>/t` with one version, and a valid Parquet file outside it, at
/// `<dir>/secret/data.parquet`, that an escaping path could reach.
async fn table_and_outside_file() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let location = TableLocation::parse(table.to_str().unwrap()).unwrap();
    Table::from_location(location)
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![batch(0..3)])
        .await
        .unwrap();
    std::fs::create_dir_all(dir.path().join("secret")).unwrap();
    let file = std::fs::File::create(dir.path().join("secret/data.parquet")).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch(0..1).schema(), None).unwrap();
    writer.write(&batch(100..200)).unwrap();
    writer.close().unwrap();
    let first =
        std::fs::read_to_string(table.join("_delta_log/00000000000000000000.json")).unwrap();
    let add_line = first
        .lines()
        .find(|l| l.starts_with("{\"add\""))
        .unwrap()
        .to_string();
    (dir, table, add_line)
}

/// Commits version 1 adding a file at `path` (the rest of the add copied from version 0).
fn commit_add(table: &Path, template: &str, path: &str) {
    let mut value: serde_json::Value = serde_json::from_str(template).unwrap();
    value["add"]["path"] = path.into();
    value["add"]["size"] = 0.into();
    std::fs::write(
        table.join("_delta_log/00000000000000000001.json"),
        format!("{value}\n"),
    )
    .unwrap();
}

async fn scan(table: &Path) -> Result<usize, Error> {
    let location = TableLocation::parse(table.to_str().unwrap())?;
    let snapshot = load_snapshot(&location, None).await?;
    let batches: Vec<RecordBatch> = ScanBuilder::new(snapshot)
        .build()?
        .execute()
        .try_collect()
        .await?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

#[tokio::test]
async fn escaping_relative_paths_are_refused() {
    let (dir, table, template) = table_and_outside_file().await;
    let absolute_outside = url::Url::from_file_path(dir.path().join("secret/data.parquet"))
        .unwrap()
        .to_string();
    for path in [
        "../secret/data.parquet",
        "%2E%2E/secret/data.parquet",
        "%2e%2e/secret/data.parquet",
        "a/../../secret/data.parquet",
        "a%2F..%2F..%2Fsecret%2Fdata.parquet",
        "a/%2E%2E%2F%2E%2E/secret/data.parquet",
        "./../secret/data.parquet",
        "..%5Csecret%5Cdata.parquet",
        "x/..\\..\\secret\\data.parquet",
        absolute_outside.as_str(),
        "file:///etc/passwd",
    ] {
        commit_add(&table, &template, path);
        let err = scan(&table).await.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("leaves the table root")
                || message.contains("outside the table root")
                || message.contains("invalid"),
            "{path}: {message}"
        );
    }
}

#[tokio::test]
async fn double_encoded_dots_stay_inside_the_root() {
    let (_dir, table, template) = table_and_outside_file().await;
    // `%252E%252E` decodes once, to a directory literally named `%2E%2E` inside the table.
    commit_add(&table, &template, "%252E%252E/secret/data.parquet");
    let location = TableLocation::parse(table.to_str().unwrap()).unwrap();
    let resolved = location.resolve("%252E%252E/secret/data.parquet").unwrap();
    assert!(
        resolved.prefix_match(location.root()).is_some(),
        "{resolved}"
    );
    // Nothing there: a not-found error, not the file outside.
    let err = scan(&table).await.unwrap_err();
    assert!(!err.to_string().contains("100"), "{err}");
}

#[test]
fn absolute_paths_are_read_only_from_allowed_prefixes() {
    let location = TableLocation::parse("s3://bucket/tables/t").unwrap();
    assert!(location.resolve("s3://bucket/tables/t/a.parquet").is_ok());
    assert!(
        location
            .resolve("s3://bucket/tables/other/a.parquet")
            .is_err()
    );
    assert!(
        location
            .resolve("s3://other-bucket/tables/t/a.parquet")
            .is_err()
    );
    assert!(
        location
            .resolve("s3://bucket/tables/t/../other/a.parquet")
            .is_err()
    );
    assert!(
        location
            .resolve("s3://bucket/tables/t/%2E%2E/other/a.parquet")
            .is_err()
    );
    let location =
        location.with_allowed_prefix(url::Url::parse("s3://bucket/tables/source/").unwrap());
    assert_eq!(
        location
            .resolve("s3://bucket/tables/source/part-0.parquet")
            .unwrap()
            .as_ref(),
        "tables/source/part-0.parquet"
    );
    assert!(
        location
            .resolve("s3://bucket/tables/sourcex/a.parquet")
            .is_err()
    );
    assert!(
        location
            .resolve("s3://bucket/tables/other/a.parquet")
            .is_err()
    );
    // An allowed prefix in another store is still refused: the table reads its own store.
    let location = location.with_allowed_prefix(url::Url::parse("s3://elsewhere/x/").unwrap());
    let err = location.resolve("s3://elsewhere/x/a.parquet").unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
}

#[test]
fn credentials_in_a_location_never_appear_in_errors() {
    let secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    let token = "FwoGZXIvYXdzEXAMPLETOKEN";
    for uri in [
        format!("s3://AKIDEXAMPLE:{secret}@bucket/t?x-amz-security-token={token}"),
        format!("s3://AKIDEXAMPLE:{secret}@/t?x-amz-security-token={token}"),
        format!("ftp://user:{secret}@host/t?token={token}"),
        format!("gs://user:{secret}@/t?sig={token}"),
        format!("az://user:{secret}@/t?sig={token}"),
    ] {
        match TableLocation::parse(&uri) {
            Ok(location) => {
                let shown = location.url().to_string();
                assert!(!shown.contains(secret) && !shown.contains(token), "{shown}");
                let err = location.resolve("s3://nowhere/x.parquet").unwrap_err();
                let text = format!("{err} {err:?}");
                assert!(!text.contains(secret) && !text.contains(token), "{text}");
            }
            Err(err) => {
                let text = err.to_string();
                assert!(!text.contains(secret), "{uri}: {text}");
                assert!(!text.contains(token), "{uri}: {text}");
            }
        }
    }
    assert_eq!(
        tidemark_core::testing::redact("s3://key:secret@bucket/t?token=abc"),
        "s3://***:***@bucket/t?***"
    );
    assert_eq!(tidemark_core::testing::redact("/data/t"), "/data/t");
}
