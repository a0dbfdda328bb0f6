//! Writes on real files: create, append, overwrite, replace-where, partitions with awkward
//! values, statistics, idempotent transactions, checkpoints, conflicts, concurrency, and bad
//! writes that must leave the table exactly as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use common::*;
use tidemark_core::Error;
use tidemark_core::log::actions::Action;
use tidemark_core::testing::remove_for;
use tidemark_core::testing::{ReadScope, Transaction};
use tidemark_core::{Table, VersionSpec};
use tidemark_core::{TableOptions, WriteMode};

fn ids_batch(ids: std::ops::Range<i64>, region: &str) -> RecordBatch {
    let n = ids.end - ids.start;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from(vec![region; n as usize])),
            Arc::new(Float64Array::from_iter_values(ids.map(|i| i as f64 * 1.5))),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn append_and_overwrite_make_versions_that_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let v0 = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_message("first load")
        .with_author("etl-bot")
        .with_commit_property("job", "42")
        .execute_batches(vec![ids_batch(0..10, "EU")])
        .await
        .unwrap();
    assert_eq!(v0.version, Some(0));
    assert_eq!(v0.rows_added, 10);
    let v1 = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(10..15, "US")])
        .await
        .unwrap();
    assert_eq!(v1.version, Some(1));
    let v2 = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_mode(WriteMode::Overwrite)
        .execute_batches(vec![ids_batch(100..103, "EU")])
        .await
        .unwrap();
    assert_eq!(v2.version, Some(2));
    assert_eq!(v2.files_removed, 2);
    assert_eq!(v2.rows_removed, 15);

    assert_eq!(ids_at(&table, Some(0)).await, (0..10).collect::<Vec<_>>());
    assert_eq!(ids_at(&table, Some(1)).await, (0..15).collect::<Vec<_>>());
    assert_eq!(ids_at(&table, None).await, vec![100, 101, 102]);

    // New tables record in-commit timestamps, with the lowest protocol that needs.
    let first = commit_actions(&table, 0);
    let info = &first[0]["commitInfo"];
    assert!(info["inCommitTimestamp"].is_i64(), "{info}");
    assert_eq!(info["userMetadata"], "first load");
    assert_eq!(info["userName"], "etl-bot");
    assert_eq!(info["tidemark"]["meta"]["job"], "42");
    assert_eq!(info["operationMetrics"]["numOutputRows"], "10");
    let protocol = &first[1]["protocol"];
    assert_eq!(protocol["minReaderVersion"], 1);
    assert_eq!(protocol["minWriterVersion"], 7);
    assert_eq!(
        protocol["writerFeatures"],
        serde_json::json!(["inCommitTimestamp"])
    );

    // In-commit timestamps grow strictly, and history shows the provenance.
    let history = Table::open(table.to_str().unwrap())
        .unwrap()
        .history(None)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![2, 1, 0]
    );
    assert!(history[0].timestamp_ms > history[1].timestamp_ms);
    assert_eq!(history[2].commit_info.0["userName"], "etl-bot");
    assert_eq!(history[0].actions.removes, 2);

    // Time travel by the recorded timestamps.
    let at_v1 = Table::open(table.to_str().unwrap())
        .unwrap()
        .version_at_timestamp(
            chrono::DateTime::from_timestamp_millis(history[1].timestamp_ms).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(at_v1, 1);
}

#[tokio::test]
async fn create_table_then_write_and_refuse_a_second_create() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let schema =
        tidemark_core::schema::StructType::from_arrow(&ids_batch(0..1, "x").schema()).unwrap();
    let options = TableOptions {
        partition_columns: vec!["region".into()],
        name: Some("sales".into()),
        in_commit_timestamps: false,
        ..Default::default()
    };
    // Creating is explicit: a write to a table that does not exist yet fails and leaves
    // nothing behind, unless it asks to create the table.
    let err = Table::from_location(location(&table))
        .write()
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err}");
    assert!(!table.join("_delta_log").exists());
    let created = Table::create_at(
        location(&table),
        &schema,
        options.clone(),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        created
            .snapshot(VersionSpec::Latest)
            .await
            .unwrap()
            .version(),
        0
    );
    let s = snapshot_at(&table, None).await;
    assert_eq!(s.num_files(), 0);
    assert_eq!(s.partition_columns(), ["region".to_string()]);
    assert_eq!(s.protocol().min_writer_version, 2);
    assert_eq!(s.metadata().name.as_deref(), Some("sales"));
    let err = Table::create(table.to_str().unwrap(), &schema, options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TableAlreadyExists { version: 0, .. }),
        "{err}"
    );
    // A write with other partitioning is refused; with the table's, it lands in partition dirs.
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["id"])
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("partitioned by [region]"), "{err}");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap();
    assert!(table.join("region=EU").is_dir());
}

#[tokio::test]
async fn awkward_partition_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let names = [
        Some("a b"),
        Some("50%"),
        Some("x/y"),
        Some("k=v"),
        Some("😈"),
        None,
        Some("a:b#c?"),
        Some(""),
    ];
    let n = names.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("price", DataType::Decimal128(10, 2), true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(0..n as i32)),
        Arc::new(StringArray::from(names.to_vec())),
        Arc::new(Date32Array::from(
            (0..n)
                .map(|i| {
                    if i == 2 {
                        None
                    } else {
                        Some(19_000 + i as i32)
                    }
                })
                .collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(
                (0..n)
                    .map(|i| {
                        if i == 3 {
                            None
                        } else {
                            Some(1_700_000_000_123_456 + i as i64)
                        }
                    })
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(
            Decimal128Array::from((0..n).map(|i| Some(-1234 + i as i128)).collect::<Vec<_>>())
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["name", "day", "at", "price"])
        .execute_batches(vec![batch.clone()])
        .await
        .unwrap();
    let s = snapshot_at(&table, None).await;
    assert_eq!(s.num_files(), n);
    let got = scan_all(s.clone()).await;
    let columns = column_names(&got);
    // An empty string partition value is NULL in the protocol, as Spark writes it.
    let mut expected_columns = batch.columns().to_vec();
    expected_columns[1] = Arc::new(StringArray::from(
        names
            .iter()
            .map(|n| n.filter(|n| !n.is_empty()))
            .collect::<Vec<_>>(),
    ));
    let expected = RecordBatch::try_new(batch.schema(), expected_columns).unwrap();
    assert_eq!(
        canonical_rows(&got, &columns),
        canonical_rows(&[expected], &columns)
    );
    // Nulls and empty strings are null partition values, in the Hive default directory.
    let nulls = s
        .files()
        .filter(|f| f.partition_values["name"].is_none())
        .count();
    assert_eq!(nulls, 2);
    assert!(table.join("name=__HIVE_DEFAULT_PARTITION__").is_dir());
    // Escaped directory names on disk; the log path is a URI path that resolves to them.
    assert!(table.join("name=50%25").is_dir());
    assert!(table.join("name=x%2Fy").is_dir());
    assert!(table.join("name=k%3Dv").is_dir());
    assert!(table.join("name=😈").is_dir());
    let percent = s
        .files()
        .find(|f| f.partition_values["name"].as_deref() == Some("50%"))
        .unwrap();
    assert!(
        percent.path.starts_with("name=50%2525/"),
        "{}",
        percent.path
    );
    assert_eq!(
        percent.partition_values["day"].as_deref(),
        Some("2022-01-09")
    );
    assert_eq!(percent.partition_values["price"].as_deref(), Some("-12.33"));
}

#[tokio::test]
async fn statistics_are_written_for_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(5..25, "EU")])
        .await
        .unwrap();
    let s = snapshot_at(&table, None).await;
    let add = s.files().next().unwrap();
    let stats: serde_json::Value = serde_json::from_str(add.stats.as_deref().unwrap()).unwrap();
    assert_eq!(stats["numRecords"], 20);
    assert_eq!(stats["minValues"]["id"], 5);
    assert_eq!(stats["maxValues"]["id"], 24);
    assert_eq!(stats["minValues"]["amount"], 7.5);
    assert_eq!(stats["maxValues"]["region"], "EU");
    assert_eq!(stats["nullCount"]["region"], 0);
    // The recorded size is the file's size.
    let on_disk = std::fs::metadata(table.join(&add.path)).unwrap().len();
    assert_eq!(add.size as u64, on_disk);
}

#[tokio::test]
async fn application_transactions_make_reruns_no_ops() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    for _ in 0..2 {
        Table::from_location(location(&table))
            .write()
            .with_create_if_missing(true)
            .with_app_transaction("nightly", 1)
            .execute_batches(vec![ids_batch(0..5, "EU")])
            .await
            .unwrap();
    }
    assert_eq!(ids_at(&table, None).await.len(), 5);
    assert_eq!(snapshot_at(&table, None).await.version(), 0);
    let next = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_app_transaction("nightly", 2)
        .execute_batches(vec![ids_batch(5..10, "EU")])
        .await
        .unwrap();
    assert_eq!(next.version, Some(1));
    let skipped = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_app_transaction("nightly", 1)
        .execute_batches(vec![ids_batch(0..5, "EU")])
        .await
        .unwrap();
    assert_eq!(skipped.version, None);
    assert_eq!(ids_at(&table, None).await, (0..10).collect::<Vec<_>>());
    assert_eq!(
        snapshot_at(&table, None)
            .await
            .txn("nightly")
            .unwrap()
            .version,
        2
    );
}

#[tokio::test]
async fn replace_where_overwrites_only_matching_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["region"])
        .execute_batches(vec![ids_batch(0..5, "EU"), ids_batch(5..10, "US")])
        .await
        .unwrap();
    let outcome = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_replace_where("region = 'US'")
        .execute_batches(vec![ids_batch(50..52, "US")])
        .await
        .unwrap();
    assert_eq!(outcome.files_removed, 1);
    assert_eq!(ids_at(&table, None).await, vec![0, 1, 2, 3, 4, 50, 51]);
    // Rows outside the predicate are refused, and nothing is committed.
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_replace_where("region = 'US'")
        .execute_batches(vec![ids_batch(60..61, "EU")])
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("do not match the replace-where predicate"),
        "{err}"
    );
    assert_eq!(snapshot_at(&table, None).await.version(), 1);
    // A predicate on a data column is refused.
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_replace_where("id > 3")
        .execute_batches(vec![ids_batch(60..61, "EU")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("id"), "{err}");
}

#[tokio::test]
async fn checkpoints_are_written_every_interval_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let mut options = TableOptions::default();
    options
        .properties
        .insert("delta.checkpointInterval".into(), "5".into());
    for i in 0..12 {
        let mut write = Table::from_location(location(&table))
            .write()
            .with_create_if_missing(true)
            .with_table_options(options.clone());
        if i == 7 {
            write = write.with_mode(WriteMode::Overwrite);
        }
        write
            .execute_batches(vec![ids_batch(i * 10..i * 10 + 3, "EU")])
            .await
            .unwrap();
    }
    let files = log_files(&table);
    assert!(
        files.contains("00000000000000000005.checkpoint.parquet"),
        "{files:?}"
    );
    assert!(
        files.contains("00000000000000000010.checkpoint.parquet"),
        "{files:?}"
    );
    let hint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(table.join("_delta_log/_last_checkpoint")).unwrap())
            .unwrap();
    assert_eq!(hint["version"], 10);
    // Reading through the checkpoint gives the same rows as replaying the JSON alone: hide
    // the commits the checkpoint covers, and the table still reads.
    let expected = ids_at(&table, None).await;
    assert_eq!(
        expected,
        vec![
            70, 71, 72, 80, 81, 82, 90, 91, 92, 100, 101, 102, 110, 111, 112
        ]
    );
    let copy = dir.path().join("copy");
    tidemark_testdata::copy_dir(&table, &copy);
    for v in 0..10 {
        std::fs::remove_file(copy.join(format!("_delta_log/{v:020}.json"))).unwrap();
    }
    assert_eq!(ids_at(&copy, None).await, expected);
    let s = snapshot_at(&copy, None).await;
    assert_eq!(s.version(), 11);
    // The checkpoint keeps the overwrite's tombstones (within retention) as removes.
    let checkpoint =
        read_parquet(&table.join("_delta_log/00000000000000000010.checkpoint.parquet"));
    let removes: usize = checkpoint
        .iter()
        .map(|b| {
            b.column_by_name("remove").unwrap().len()
                - b.column_by_name("remove").unwrap().null_count()
        })
        .sum();
    assert_eq!(removes, 7);
    // On demand.
    let summary = tidemark_core::checkpoint::write_checkpoint(&snapshot_at(&table, None).await)
        .await
        .unwrap();
    assert_eq!(summary.version, 11);
    assert_eq!(summary.add_files, 5);
}

#[tokio::test]
async fn an_overwrite_conflicts_with_a_concurrent_append_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap();
    let read = Arc::new(snapshot_at(&table, None).await);
    // Another writer appends after our read.
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(3..6, "EU")])
        .await
        .unwrap();
    let removes: Vec<Action> = read
        .files()
        .map(|a| Action::Remove(remove_for(a, 0)))
        .collect();
    let err = Transaction::new(location(&table), Some(read.clone()), "WRITE")
        .with_read_scope(ReadScope::WholeTable)
        .with_actions(removes.clone())
        .commit()
        .await
        .unwrap_err();
    match &err {
        Error::CommitConflict {
            read_version,
            winning_version,
            ..
        } => assert_eq!((*read_version, *winning_version), (0, 1)),
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(snapshot_at(&table, None).await.version(), 1);
    // A blind append from the same stale read rebases and lands at version 2.
    let outcome = Transaction::new(location(&table), Some(read), "WRITE")
        .commit()
        .await
        .unwrap();
    assert_eq!(outcome.version, 2);
    assert_eq!(outcome.attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_appenders_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(-1..0, "seed")])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for task in 0..8i64 {
        let table = table.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50i64 {
                let id = task * 1000 + i;
                Table::from_location(location(&table))
                    .write()
                    .with_create_if_missing(true)
                    .execute_batches(vec![ids_batch(id..id + 1, "EU")])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let s = snapshot_at(&table, None).await;
    assert_eq!(s.version(), 400);
    let ids = ids_at(&table, None).await;
    let mut expected: Vec<i64> = (0..8)
        .flat_map(|t| (0..50).map(move |i| t * 1000 + i))
        .collect();
    expected.push(-1);
    expected.sort();
    assert_eq!(ids, expected);
    // Every version is one commit of one file; in-commit timestamps grow strictly.
    let history = Table::open(table.to_str().unwrap())
        .unwrap()
        .history(None)
        .await
        .unwrap();
    assert_eq!(history.len(), 401);
    assert!(
        history
            .windows(2)
            .all(|w| w[0].timestamp_ms > w[1].timestamp_ms)
    );
    // Checkpoints were written along the way (every 100 versions).
    assert!(log_files(&table).contains("00000000000000000400.checkpoint.parquet"));
}

#[tokio::test]
async fn bad_writes_are_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["region"])
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap();
    let before = log_files(&table);
    let rows_before = ids_at(&table, None).await;

    // A column of the wrong type.
    let wrong_type = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("region", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["x"])),
            Arc::new(StringArray::from(vec!["EU"])),
            Arc::new(Float64Array::from(vec![1.0])),
        ],
    )
    .unwrap();
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![wrong_type])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch(_)), "{err}");
    assert!(err.to_string().contains("'id'"), "{err}");

    // The partition column missing.
    let no_partition = ids_batch(0..2, "EU").project(&[0, 2]).unwrap();
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![no_partition])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no column 'region'"), "{err}");

    // An extra column.
    let mut fields = ids_batch(0..1, "EU").schema().fields().to_vec();
    fields.push(Arc::new(Field::new("extra", DataType::Int32, true)));
    let mut columns = ids_batch(0..1, "EU").columns().to_vec();
    columns.push(Arc::new(Int32Array::from(vec![1])));
    let extra = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![extra])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("'extra'"), "{err}");

    // Nulls in a NOT NULL column, after a first good batch was already written to a file.
    let nulls = RecordBatch::try_new(
        ids_batch(0..1, "EU").schema(),
        vec![
            Arc::new(Int64Array::from(vec![None, Some(1)])),
            Arc::new(StringArray::from(vec!["EU", "EU"])),
            Arc::new(Float64Array::from(vec![1.0, 2.0])),
        ],
    );
    // The schema says NOT NULL, so arrow refuses to even build it; build it nullable instead.
    assert!(nulls.is_err());
    let nullable_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("region", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    let with_nulls = RecordBatch::try_new(
        nullable_schema,
        vec![
            Arc::new(Int64Array::from(vec![None, Some(1)])),
            Arc::new(StringArray::from(vec!["EU", "EU"])),
            Arc::new(Float64Array::from(vec![1.0, 2.0])),
        ],
    )
    .unwrap();
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![ids_batch(10..20, "US"), with_nulls])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NOT NULL"), "{err}");

    // The log and the rows are exactly as before.
    assert_eq!(log_files(&table), before);
    assert_eq!(ids_at(&table, None).await, rows_before);
}

#[tokio::test]
async fn append_only_tables_refuse_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let mut options = TableOptions::default();
    options
        .properties
        .insert("delta.appendOnly".into(), "true".into());
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_table_options(options)
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap();
    let s = snapshot_at(&table, None).await;
    assert!(
        s.protocol()
            .writer_features
            .as_ref()
            .unwrap()
            .contains(&"appendOnly".to_string())
    );
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_mode(WriteMode::Overwrite)
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[tokio::test]
async fn unknown_delta_properties_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let mut options = TableOptions::default();
    options
        .properties
        .insert("delta.enableDeletionVectors".into(), "true".into());
    let err = Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_table_options(options)
        .execute_batches(vec![ids_batch(0..3, "EU")])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("delta.enableDeletionVectors"),
        "{err}"
    );
    assert!(!table.join("_delta_log").exists() || log_files(&table).is_empty());
}

#[tokio::test]
async fn writes_to_tables_written_by_spark_keep_them_readable() {
    // A Spark table with deletion vectors: an append adds rows, keeps the deleted rows deleted.
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    tidemark_testdata::copy_dir(
        &tidemark_testdata::table("delta-kernel/table-with-dv-small"),
        &table,
    );
    let before = scan_all(snapshot_at(&table, None).await).await;
    let before_rows = num_rows(&before);
    let schema = before[0].schema();
    let batch = before[0].slice(0, 1);
    let batch = RecordBatch::try_new(schema, batch.columns().to_vec()).unwrap();
    let version_before = snapshot_at(&table, None).await.version();
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![batch])
        .await
        .unwrap();
    let after = scan_all(snapshot_at(&table, None).await).await;
    assert_eq!(num_rows(&after), before_rows + 1);
    assert_eq!(
        snapshot_at(&table, None).await.version(),
        version_before + 1
    );
    assert_eq!(ids_or_len(&table).await, before_rows + 1);
}

async fn ids_or_len(dir: &Path) -> usize {
    num_rows(
        &scan_all(
            Table::open(dir.to_str().unwrap())
                .unwrap()
                .snapshot(VersionSpec::Latest)
                .await
                .unwrap(),
        )
        .await,
    )
}

#[tokio::test]
async fn file_size_row_groups_and_compression_can_be_set() {
    use tidemark_core::{FileCompression, FileOptions};
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let options = FileOptions {
        target_file_size: 1,
        row_group_rows: 4,
        compression: FileCompression::Zstd(3),
    };
    Table::from_location(location(&table))
        .write()
        .with_create_if_missing(true)
        .with_file_options(options)
        .execute_batches(vec![
            ids_batch(0..10, "EU"),
            ids_batch(10..20, "EU"),
            ids_batch(20..30, "EU"),
        ])
        .await
        .unwrap();
    let s = snapshot_at(&table, None).await;
    // A file closes once it reaches the target size: here, after every batch.
    assert_eq!(s.num_files(), 3);
    for add in s.files() {
        assert!(add.path.ends_with(".zstd.parquet"), "{}", add.path);
        let file = std::fs::File::open(table.join(&add.path)).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        use parquet::file::reader::FileReader;
        let metadata = reader.metadata();
        assert_eq!(
            metadata.num_row_groups(),
            3,
            "10 rows in groups of at most 4"
        );
        // The file records the codec, not its level.
        assert!(matches!(
            metadata.row_group(0).column(0).compression(),
            parquet::basic::Compression::ZSTD(_)
        ));
    }
    assert_eq!(ids_at(&table, None).await, (0..30).collect::<Vec<_>>());
}
