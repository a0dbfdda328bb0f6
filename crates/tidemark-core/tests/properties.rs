//! Table properties, failing closed: retention durations parse as Delta (Spark) parses them,
//! anything else is refused when a table is created and when a property is set, and a
//! checkpoint of a table holding an unparseable retention (written by another engine) fails
//! naming the property instead of falling back to the 7-day default.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{alter, location, log_files, read_parquet, tick};
use serde_json::json;
use tidemark_core::checkpoint::write_checkpoint;
use tidemark_core::properties::{self, DELETED_FILE_RETENTION_DURATION, LOG_RETENTION_DURATION};
use tidemark_core::schema::{AlterOperation, StructType};
use tidemark_core::testing::{load_snapshot, tombstone_count};
use tidemark_core::{Error, Table, TableOptions, WriteMode};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

#[test]
fn accepted_durations() {
    let cases: &[(&str, i64)] = &[
        ("interval 7 days", 7 * DAY),
        ("7 days", 7 * DAY),
        ("interval 1 day", DAY),
        ("interval 1 week", 7 * DAY),
        ("interval 2 weeks", 14 * DAY),
        ("INTERVAL 30 DAYS", 30 * DAY),
        ("Interval 2 Hours", 2 * HOUR),
        ("interval 30 days 12 hours", 30 * DAY + 12 * HOUR),
        (
            "interval 1 week 2 days 3 hours 4 minutes 5 seconds",
            9 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND,
        ),
        ("interval 1 day -12 hours", 12 * HOUR),
        ("interval -1 hour 1 day", 23 * HOUR),
        ("interval - 1 hour 2 hours", HOUR),
        ("+36 hours", 36 * HOUR),
        ("interval 90 minutes", 90 * MINUTE),
        ("interval 1 minute", MINUTE),
        ("interval 1 second", SECOND),
        ("interval 1.5 seconds", 1_500),
        ("interval .25 second", 250),
        ("interval 2.123456789 seconds", 2_123),
        ("interval 500 milliseconds", 500),
        ("interval 1 millisecond", 1),
        ("interval 2000 microseconds", 2),
        ("interval 999 microseconds", 0),
        ("interval 0 days", 0),
        ("interval 0 seconds", 0),
        ("  interval \t 2   days  ", 2 * DAY),
        ("interval 1 day 1 day", 2 * DAY),
        // Months and years that add up to nothing, as Delta accepts them.
        ("interval 1 year -12 months 1 day", DAY),
        ("interval 106751 days", 106_751 * DAY),
    ];
    for (value, expected) in cases {
        let got = properties::parse_interval_ms(DELETED_FILE_RETENTION_DURATION, value)
            .unwrap_or_else(|e| panic!("{value:?} refused: {e}"));
        assert_eq!(got, *expected, "{value:?}");
    }
}

#[test]
fn refused_durations_name_the_property_the_value_and_the_syntax() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("   ", "empty"),
        ("interval", "not followed"),
        ("soon", "not a number"),
        ("7", "no unit"),
        ("days", "not a number"),
        ("interval 7", "no unit"),
        ("interval days 7", "not a number"),
        ("interval 7 dayz", "'dayz' is not a unit"),
        ("7days", "not a number"),
        ("interval 1 day,2 hours", "'day,2' is not a unit"),
        ("interval 1 day2 hours", "not a unit"),
        ("intervals 1 day", "'intervals'"),
        ("interval 1 month", "months and years are not accepted"),
        ("interval 1 year", "months and years are not accepted"),
        (
            "interval 2 weeks 1 month",
            "months and years are not accepted",
        ),
        ("interval 1 mon", "months and years are not accepted"),
        ("interval -1 day", "negative"),
        ("interval 1 hour -1 day", "negative"),
        ("interval 1.5 days", "fraction"),
        ("interval 10 mins", "write 'minutes'"),
        ("interval 5 sec", "write 'seconds'"),
        ("interval 100 ms", "write 'milliseconds'"),
        ("interval 100 us", "write 'microseconds'"),
        ("interval 3 h", "write 'hours'"),
        ("interval 1 day -", "sign"),
        ("interval --1 day", "not a number"),
        ("interval 1e3 seconds", "not a number"),
        ("interval 0x10 days", "not a number"),
        ("interval 1.1234567891 seconds", "9 digits"),
        ("interval 99999999999999999999 days", "too large"),
        ("interval 9223372036854775807 weeks", "too long"),
        (
            "interval 106752 weeks 9223372036854775807 microseconds",
            "too long",
        ),
    ];
    for (value, why) in cases {
        let err =
            properties::parse_interval_ms(DELETED_FILE_RETENTION_DURATION, value).expect_err(value);
        assert!(
            matches!(err, Error::InvalidProperty { .. }),
            "{value:?}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(why), "{value:?}: {message}");
        assert!(
            message.contains("'delta.deletedFileRetentionDuration'"),
            "{message}"
        );
        assert!(message.contains(&format!("{value:?}")), "{message}");
        assert!(message.contains("'interval 7 days'"), "{message}");
    }
}

#[test]
fn accessors_default_when_absent_and_fail_when_unparseable() {
    let empty = HashMap::new();
    assert_eq!(
        properties::deleted_file_retention_ms(&empty).unwrap(),
        7 * DAY
    );
    assert_eq!(properties::log_retention_ms(&empty).unwrap(), 30 * DAY);
    assert_eq!(
        properties::checkpoint_retention_ms(&empty).unwrap(),
        2 * DAY
    );
    assert_eq!(
        properties::set_transaction_retention_ms(&empty).unwrap(),
        None
    );

    let config = |key: &str, value: &str| HashMap::from([(key.to_string(), value.to_string())]);
    let spark = config(DELETED_FILE_RETENTION_DURATION, "interval 30 days 12 hours");
    assert_eq!(
        properties::deleted_file_retention_ms(&spark).unwrap(),
        30 * DAY + 12 * HOUR
    );
    let bad = config(DELETED_FILE_RETENTION_DURATION, "interval 30 dayz");
    let err = properties::deleted_file_retention_ms(&bad).unwrap_err();
    assert!(
        err.to_string().contains(DELETED_FILE_RETENTION_DURATION),
        "{err}"
    );
    let bad = config(LOG_RETENTION_DURATION, "one month");
    let err = properties::log_retention_ms(&bad).unwrap_err();
    assert!(err.to_string().contains(LOG_RETENTION_DURATION), "{err}");
    let txn = config("delta.setTransactionRetentionDuration", "interval 3 days");
    assert_eq!(
        properties::set_transaction_retention_ms(&txn).unwrap(),
        Some(3 * DAY)
    );
}

#[test]
fn validate_checks_every_property_tidemark_interprets() {
    let good = HashMap::from([
        (
            DELETED_FILE_RETENTION_DURATION.to_string(),
            "interval 1 week".to_string(),
        ),
        (
            LOG_RETENTION_DURATION.to_string(),
            "interval 60 days".to_string(),
        ),
        ("delta.appendOnly".to_string(), "TRUE".to_string()),
        ("delta.checkpointInterval".to_string(), "10".to_string()),
        (
            "delta.dataSkippingNumIndexedCols".to_string(),
            "-1".to_string(),
        ),
        ("my.own.key".to_string(), "anything at all".to_string()),
        (
            "delta.somethingElse".to_string(),
            "not checked here".to_string(),
        ),
    ]);
    properties::validate(&good).unwrap();
    let refused = [
        ("delta.checkpointRetentionDuration", "2 dayz"),
        ("delta.setTransactionRetentionDuration", "interval 1 month"),
        ("delta.appendOnly", "yes"),
        ("delta.enableInCommitTimestamps", " true"),
        ("delta.checkpointInterval", "0"),
        ("delta.checkpointInterval", "ten"),
        ("delta.dataSkippingNumIndexedCols", "-2"),
    ];
    for (key, value) in refused {
        let mut config = good.clone();
        config.insert(key.to_string(), value.to_string());
        let err = properties::validate(&config).unwrap_err();
        assert!(err.to_string().contains(&format!("'{key}'")), "{err}");
        properties::validate_property(key, value).unwrap_err();
    }
}

fn schema() -> StructType {
    StructType::from_arrow(&Schema::new(vec![Field::new("id", DataType::Int64, true)])).unwrap()
}

fn ids(range: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from_iter_values(range))],
    )
    .unwrap()
}

async fn write(dir: &Path, range: std::ops::Range<i64>, mode: WriteMode) -> u64 {
    Table::from_location(location(dir))
        .write()
        .with_mode(mode)
        .execute_batches(vec![ids(range)])
        .await
        .unwrap()
        .version
        .unwrap()
}

fn options(key: &str, value: &str) -> TableOptions {
    let mut options = TableOptions::default();
    options.properties.insert(key.into(), value.into());
    options
}

#[tokio::test]
async fn create_refuses_an_unparseable_retention_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value) in [
        (DELETED_FILE_RETENTION_DURATION, "interval 30 dayz"),
        (DELETED_FILE_RETENTION_DURATION, "interval 1 month"),
        (LOG_RETENTION_DURATION, "30"),
        ("delta.appendOnly", "yes"),
        ("delta.checkpointInterval", "-5"),
    ] {
        let table = dir.path().join("refused");
        let uri = table.to_str().unwrap();
        let err = Table::create(uri, &schema(), options(key, value))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidProperty { .. }),
            "{key}={value}: {err}"
        );
        assert!(err.to_string().contains(key), "{err}");
        assert!(
            !table.join("_delta_log").exists() || log_files(&table).is_empty(),
            "{key}={value} left {:?}",
            log_files(&table)
        );
        // The same refusal through a write that creates the table.
        let err = Table::from_location(location(&table))
            .write()
            .with_create_if_missing(true)
            .with_table_options(options(key, value))
            .execute_batches(vec![ids(0..1)])
            .await
            .unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
        assert!(!table.join("_delta_log").exists() || log_files(&table).is_empty());
    }
    // Spark's multi-unit form is accepted, and stored as written.
    let table = dir.path().join("accepted");
    Table::create(
        table.to_str().unwrap(),
        &schema(),
        options(DELETED_FILE_RETENTION_DURATION, "interval 30 days 12 hours"),
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(&table), None).await.unwrap();
    assert_eq!(
        properties::deleted_file_retention_ms(&snapshot.metadata().configuration).unwrap(),
        30 * DAY + 12 * HOUR
    );
}

#[tokio::test]
async fn alter_refuses_an_unparseable_retention_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::create(table.to_str().unwrap(), &schema(), TableOptions::default())
        .await
        .unwrap();
    for (key, value) in [
        (DELETED_FILE_RETENTION_DURATION, "interval 7 dayz"),
        (DELETED_FILE_RETENTION_DURATION, "interval 1 year"),
        (LOG_RETENTION_DURATION, "interval -30 days"),
        ("delta.checkpointInterval", "often"),
    ] {
        let err = alter(
            &table,
            AlterOperation::SetProperty {
                key: key.into(),
                value: value.into(),
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidProperty { .. }),
            "{key}={value}: {err}"
        );
        assert!(err.to_string().contains(key), "{err}");
        assert_eq!(
            load_snapshot(&location(&table), None)
                .await
                .unwrap()
                .version(),
            0
        );
    }
    let version = alter(
        &table,
        AlterOperation::SetProperty {
            key: DELETED_FILE_RETENTION_DURATION.into(),
            value: "interval 1 week 12 hours".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(version, 1);
}

/// Commit 0 of a table by hand, as another engine might have written it, with `configuration`.
fn create_by_hand(dir: &Path, configuration: serde_json::Value) {
    let log = dir.join("_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let lines = [
        json!({"commitInfo": {"timestamp": now, "operation": "CREATE TABLE"}}),
        json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
        json!({"metaData": {
            "id": uuid::Uuid::new_v4().to_string(),
            "format": {"provider": "parquet", "options": {}},
            "schemaString": r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#,
            "partitionColumns": [],
            "configuration": configuration,
            "createdTime": now,
        }}),
    ];
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(
        log.join("00000000000000000000.json"),
        text.join("\n") + "\n",
    )
    .unwrap();
}

#[tokio::test]
async fn a_checkpoint_fails_closed_on_a_retention_it_cannot_parse() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    create_by_hand(
        &table,
        json!({DELETED_FILE_RETENTION_DURATION: "interval 30 dayz"}),
    );
    write(&table, 0..3, WriteMode::Append).await;
    write(&table, 3..6, WriteMode::Overwrite).await;
    let before = log_files(&table);
    let snapshot = load_snapshot(&location(&table), None).await.unwrap();
    let err = write_checkpoint(&snapshot).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::InvalidProperty { .. }), "{message}");
    assert!(
        message.contains("'delta.deletedFileRetentionDuration'"),
        "{message}"
    );
    assert!(message.contains("interval 30 dayz"), "{message}");
    // Nothing was written: no checkpoint, no `_last_checkpoint`.
    assert_eq!(log_files(&table), before);
    // Once the owner fixes the value, the checkpoint is written.
    alter(
        &table,
        AlterOperation::SetProperty {
            key: DELETED_FILE_RETENTION_DURATION.into(),
            value: "interval 30 days".into(),
        },
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(&table), None).await.unwrap();
    write_checkpoint(&snapshot).await.unwrap();
}

/// The number of `remove` rows in a checkpoint file.
fn removes_in(file: &Path) -> usize {
    read_parquet(file)
        .iter()
        .map(|b| {
            let c = b.column_by_name("remove").unwrap();
            c.len() - c.null_count()
        })
        .sum()
}

#[tokio::test]
async fn a_checkpoint_keeps_tombstones_for_the_retention_as_spark_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    create_by_hand(
        &table,
        json!({DELETED_FILE_RETENTION_DURATION: "interval 1 week 1 day 12 hours"}),
    );
    write(&table, 0..3, WriteMode::Append).await;
    write(&table, 3..6, WriteMode::Append).await;
    write(&table, 6..9, WriteMode::Overwrite).await;
    let snapshot = load_snapshot(&location(&table), None).await.unwrap();
    let tombstones = tombstone_count(&snapshot);
    assert!(tombstones >= 2, "the overwrite removed both appends");
    let summary = write_checkpoint(&snapshot).await.unwrap();
    let file = table.join("_delta_log").join(&summary.file);
    assert_eq!(removes_in(&file), tombstones);
    // A retention of zero, written with several units, expires them at once.
    tick().await;
    alter(
        &table,
        AlterOperation::SetProperty {
            key: DELETED_FILE_RETENTION_DURATION.into(),
            value: "interval 0 days 0 hours".into(),
        },
    )
    .await
    .unwrap();
    tick().await;
    let summary = write_checkpoint(&load_snapshot(&location(&table), None).await.unwrap())
        .await
        .unwrap();
    let file = table.join("_delta_log").join(&summary.file);
    assert_eq!(removes_in(&file), 0);
}
