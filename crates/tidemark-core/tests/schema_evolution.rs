//! Schema evolution on real tables: merge on append (new columns, missing columns, nested
//! struct fields, type widening), schema overwrite, explicit changes, and every old version
//! read under its own schema, by version and by timestamp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::*;
use serde_json::Value;
use tidemark_core::Snapshot;
use tidemark_core::Table;
use tidemark_core::{SchemaMode, WriteMode};

fn doubles(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

/// Columns and sorted canonical rows of a version.
async fn read(dir: &Path, version: u64) -> (Vec<String>, Vec<String>) {
    read_snapshot(snapshot_at(dir, Some(version)).await).await
}

async fn read_snapshot(snapshot: Snapshot) -> (Vec<String>, Vec<String>) {
    let names: Vec<String> = snapshot
        .schema()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let batches = scan_all(snapshot).await;
    let mut rows = canonical_rows(&batches, &names);
    rows.sort();
    (names, rows)
}

/// Reads a version through time travel by timestamp (its own commit time).
async fn read_by_timestamp(dir: &Path, version: u64) -> (Vec<String>, Vec<String>) {
    read_snapshot(snapshot_by_timestamp(dir, version).await).await
}

fn has_action(dir: &Path, version: u64, key: &str) -> bool {
    commit_actions(dir, version)
        .iter()
        .any(|a| a.get(key).is_some())
}

#[tokio::test]
async fn strict_append_refuses_a_new_column_showing_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        batch(vec![("id", longs(&[1]))]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    let before = log_files(dir.path());
    let err = write(
        dir.path(),
        batch(vec![("id", longs(&[2])), ("score", doubles(&[1.5]))]),
        SchemaMode::Strict,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("'score'"), "{err}");
    assert!(err.contains("Float64"), "{err}");
    assert!(err.contains("merge"), "{err}");
    let err = write(
        dir.path(),
        batch(vec![("id", strs(&["x"]))]),
        SchemaMode::Strict,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("'id'") && err.contains("Utf8") && err.contains("Int64"),
        "{err}"
    );
    assert_eq!(log_files(dir.path()), before);
}

#[tokio::test]
async fn merge_adds_new_columns_and_writes_missing_ones_as_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        batch(vec![("id", longs(&[1, 2])), ("name", strs(&["a", "b"]))]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    tick().await;
    let v1 = write(
        d,
        batch(vec![("id", longs(&[3])), ("score", doubles(&[0.5]))]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    assert_eq!(v1, 1);
    assert!(has_action(d, 1, "metaData"));
    assert!(!has_action(d, 1, "protocol"));
    tick().await;
    // A write that fits the merged schema changes nothing.
    write(
        d,
        batch(vec![
            ("id", longs(&[4])),
            ("name", strs(&["d"])),
            ("score", doubles(&[2.0])),
        ]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    assert!(!has_action(d, 2, "metaData"));

    let (names, rows) = read(d, 0).await;
    assert_eq!(names, ["id", "name"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(read_by_timestamp(d, 0).await, (names.clone(), rows.clone()));

    let (names1, rows1) = read(d, 1).await;
    assert_eq!(names1, ["id", "name", "score"]);
    assert_eq!(rows1.len(), 3);
    assert_eq!(read_by_timestamp(d, 1).await, (names1, rows1.clone()));
    assert!(rows1.iter().any(|r| r.contains("NULL")), "{rows1:?}");

    let (_, rows2) = read(d, 2).await;
    assert_eq!(rows2.len(), 4);
    let field = load_snapshot(&location(d), None).await.unwrap();
    assert!(field.schema().field("score").unwrap().nullable);
}

#[tokio::test]
async fn merge_widens_types_through_the_type_widening_feature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, batch(vec![("x", ints(&[1, 2]))]), SchemaMode::Strict)
        .await
        .unwrap();
    tick().await;
    // A narrower input type is converted, and changes nothing.
    write(
        d,
        batch(vec![(
            "x",
            Arc::new(arrow::array::Int16Array::from(vec![3i16])) as ArrayRef,
        )]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    assert!(!has_action(d, 1, "metaData"));
    tick().await;
    write(
        d,
        batch(vec![("x", longs(&[5_000_000_000]))]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    let actions = commit_actions(d, 2);
    let protocol = actions.iter().find_map(|a| a.get("protocol")).unwrap();
    assert_eq!(protocol["minReaderVersion"], 3);
    assert_eq!(protocol["minWriterVersion"], 7);
    for list in ["readerFeatures", "writerFeatures"] {
        assert!(
            protocol[list]
                .as_array()
                .unwrap()
                .contains(&Value::from("typeWidening")),
            "{protocol}"
        );
    }
    let metadata = actions.iter().find_map(|a| a.get("metaData")).unwrap();
    // Writers may widen only while the table property says so: the merge sets it.
    assert_eq!(
        metadata["configuration"]["delta.enableTypeWidening"],
        "true"
    );
    let schema: Value = serde_json::from_str(metadata["schemaString"].as_str().unwrap()).unwrap();
    assert_eq!(schema["fields"][0]["type"], "long");
    assert_eq!(
        schema["fields"][0]["metadata"]["delta.typeChanges"],
        serde_json::json!([{"fromType": "integer", "toType": "long"}])
    );
    // Every version reads under its own type.
    let s0 = load_snapshot(&location(d), Some(0)).await.unwrap();
    let b0 = scan_all(s0).await;
    assert_eq!(b0[0].column(0).data_type(), &DataType::Int32);
    let s2 = load_snapshot(&location(d), Some(2)).await.unwrap();
    let b2 = scan_all(s2).await;
    assert!(
        b2.iter()
            .all(|b| b.column(0).data_type() == &DataType::Int64)
    );
    let (_, rows) = read(d, 2).await;
    assert_eq!(rows, ["1", "2", "3", "5000000000"]);
    assert_eq!(read_by_timestamp(d, 1).await, read(d, 1).await);
    assert_eq!(read_by_timestamp(d, 2).await, read(d, 2).await);
}

#[tokio::test]
async fn merge_refuses_a_change_that_is_not_a_widening_and_names_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, batch(vec![("x", longs(&[1]))]), SchemaMode::Strict)
        .await
        .unwrap();
    let before = log_files(d);
    let err = write(d, batch(vec![("x", strs(&["a"]))]), SchemaMode::Merge)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'x'"), "{err}");
    let err = write(d, batch(vec![("X", longs(&[1]))]), SchemaMode::Merge)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("letter case"), "{err}");
    assert_eq!(log_files(d), before);
}

#[tokio::test]
async fn merge_merges_nested_struct_fields() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        batch(vec![
            ("id", longs(&[1])),
            ("s", structs(vec![("a", longs(&[10]))])),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    write(
        d,
        batch(vec![
            ("id", longs(&[2])),
            ("s", structs(vec![("b", strs(&["x"]))])),
        ]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    assert_eq!(
        snapshot.schema().field("s").unwrap().data_type.to_string(),
        "struct<a:long,b:string>"
    );
    let (_, rows) = read(d, 1).await;
    assert_eq!(rows.len(), 2);
    let (_, rows0) = read(d, 0).await;
    assert_eq!(rows0.len(), 1);
    let s0 = load_snapshot(&location(d), Some(0)).await.unwrap();
    assert_eq!(
        s0.schema().field("s").unwrap().data_type.to_string(),
        "struct<a:long>"
    );
}

#[tokio::test]
async fn schema_overwrite_replaces_the_schema_and_keeps_old_versions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, batch(vec![("x", longs(&[1]))]), SchemaMode::Strict)
        .await
        .unwrap();
    // Schema overwrite needs a full overwrite.
    let err = write(d, batch(vec![("y", strs(&["a"]))]), SchemaMode::Overwrite)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("overwrite"), "{err}");
    tick().await;
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_mode(WriteMode::Overwrite)
        .with_schema_mode(SchemaMode::Overwrite)
        .execute_batches(vec![batch(vec![("y", strs(&["a", "b"]))])])
        .await
        .unwrap();
    assert_eq!(read(d, 0).await, (vec!["x".into()], vec!["1".into()]));
    assert_eq!(
        read(d, 1).await,
        (vec!["y".into()], vec!["a".into(), "b".into()])
    );
    assert_eq!(read_by_timestamp(d, 0).await, read(d, 0).await);
    assert_eq!(read_by_timestamp(d, 1).await, read(d, 1).await);
}

use tidemark_core::schema::AlterOperation;
use tidemark_core::schema::{DataType as DeltaType, PrimitiveType};
use tidemark_core::testing::load_snapshot;

fn three_columns(ids: &[i64], names: &[&str], amounts: &[f64]) -> RecordBatch {
    batch(vec![
        ("id", longs(ids)),
        ("name", strs(names)),
        ("amount", doubles(amounts)),
    ])
}

#[tokio::test]
async fn rename_drop_and_add_keep_every_version_readable_under_its_own_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        three_columns(&[1, 2], &["a", "b"], &[1.0, 2.0]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    let files_before: Vec<String> = load_snapshot(&location(d), None)
        .await
        .unwrap()
        .files()
        .map(|a| a.path.clone())
        .collect();
    tick().await;
    let v1 = alter(
        d,
        AlterOperation::RenameColumn {
            from: "name".into(),
            to: "label".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(v1, 1);
    let actions = commit_actions(d, 1);
    let protocol = actions.iter().find_map(|a| a.get("protocol")).unwrap();
    assert_eq!(protocol["minReaderVersion"], 3);
    assert_eq!(protocol["minWriterVersion"], 7);
    assert!(
        protocol["readerFeatures"]
            .as_array()
            .unwrap()
            .contains(&Value::from("columnMapping"))
    );
    assert!(!actions.iter().any(|a| a.get("add").is_some()));
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    let label = snapshot.schema().field("label").unwrap();
    assert_eq!(
        label.metadata["delta.columnMapping.physicalName"],
        Value::from("name")
    );
    assert_eq!(
        snapshot.metadata().configuration["delta.columnMapping.mode"],
        "name"
    );
    assert_eq!(
        snapshot.metadata().configuration["delta.columnMapping.maxColumnId"],
        "3"
    );
    let files_after: Vec<String> = snapshot.files().map(|a| a.path.clone()).collect();
    assert_eq!(files_before, files_after);
    tick().await;
    // v2: append under the new name.
    write(
        d,
        batch(vec![
            ("id", longs(&[3])),
            ("label", strs(&["c"])),
            ("amount", doubles(&[3.0])),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    tick().await;
    // v3: drop amount.
    alter(
        d,
        AlterOperation::DropColumn {
            name: "amount".into(),
        },
    )
    .await
    .unwrap();
    tick().await;
    // v4: add a column, v5: write it.
    alter(
        d,
        AlterOperation::AddColumn {
            name: "amount".into(),
            data_type: DeltaType::Primitive(PrimitiveType::String),
            nullable: true,
        },
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    let physical =
        snapshot.schema().field("amount").unwrap().metadata["delta.columnMapping.physicalName"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(physical.starts_with("col-"), "{physical}");
    tick().await;
    write(
        d,
        batch(vec![
            ("id", longs(&[4])),
            ("label", strs(&["d"])),
            ("amount", strs(&["new"])),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();

    let expected: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["id", "name", "amount"], vec!["1|a|1.0", "2|b|2.0"]),
        (vec!["id", "label", "amount"], vec!["1|a|1.0", "2|b|2.0"]),
        (
            vec!["id", "label", "amount"],
            vec!["1|a|1.0", "2|b|2.0", "3|c|3.0"],
        ),
        (vec!["id", "label"], vec!["1|a", "2|b", "3|c"]),
        (
            vec!["id", "label", "amount"],
            vec!["1|a|NULL", "2|b|NULL", "3|c|NULL"],
        ),
        (
            vec!["id", "label", "amount"],
            vec!["1|a|NULL", "2|b|NULL", "3|c|NULL", "4|d|new"],
        ),
    ];
    for (version, (names, rows)) in expected.iter().enumerate() {
        let (got_names, got_rows) = read(d, version as u64).await;
        assert_eq!(&got_names, names, "version {version}");
        // canonical_rows orders columns by name: compare as sets of values.
        let normalize = |r: &str| {
            let mut parts: Vec<String> = r.split('|').map(|p| p.trim().to_string()).collect();
            parts.sort();
            parts.join("|")
        };
        let mut want: Vec<String> = rows.iter().map(|r| normalize(r)).collect();
        let mut have: Vec<String> = got_rows.iter().map(|r| normalize(r)).collect();
        want.sort();
        have.sort();
        assert_eq!(have, want, "version {version}");
        assert_eq!(
            read_by_timestamp(d, version as u64).await,
            (got_names, got_rows),
            "version {version} by timestamp"
        );
    }
}

#[tokio::test]
async fn legacy_protocol_tables_get_reader_2_writer_5_for_column_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options = tidemark_core::TableOptions {
        in_commit_timestamps: false,
        ..Default::default()
    };
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_table_options(options)
        .execute_batches(vec![three_columns(&[1], &["a"], &[1.0])])
        .await
        .unwrap();
    alter(
        d,
        AlterOperation::DropColumn {
            name: "amount".into(),
        },
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    assert_eq!(snapshot.protocol().min_reader_version, 2);
    assert_eq!(snapshot.protocol().min_writer_version, 5);
    assert_eq!(read(d, 1).await.0, ["id", "name"]);
    assert_eq!(read(d, 0).await.0, ["id", "name", "amount"]);
}

#[tokio::test]
async fn bad_changes_are_clear_errors_and_leave_the_table_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["name"])
        .execute_batches(vec![three_columns(&[1], &["a"], &[1.0])])
        .await
        .unwrap();
    let before = log_files(d);
    let cases = [
        (
            AlterOperation::RenameColumn {
                from: "id".into(),
                to: "AMOUNT".into(),
            },
            "already has a column 'amount'",
        ),
        (
            AlterOperation::DropColumn {
                name: "name".into(),
            },
            "partition column",
        ),
        (
            AlterOperation::DropColumn {
                name: "nope".into(),
            },
            "no column 'nope'",
        ),
        (
            AlterOperation::AddColumn {
                name: "id".into(),
                data_type: DeltaType::Primitive(PrimitiveType::Long),
                nullable: true,
            },
            "already has a column 'id'",
        ),
        (
            AlterOperation::AddColumn {
                name: "z".into(),
                data_type: DeltaType::Primitive(PrimitiveType::Long),
                nullable: false,
            },
            "NOT NULL",
        ),
        (
            AlterOperation::SetProperty {
                key: "delta.enableDeletionVectors".into(),
                value: "true".into(),
            },
            "cannot be set",
        ),
    ];
    for (op, message) in cases {
        let err = alter(d, op.clone()).await.unwrap_err().to_string();
        assert!(err.contains(message), "{op:?}: {err}");
    }
    // A narrowing append in merge mode.
    let err = write(
        d,
        batch(vec![
            ("id", ints(&[1])),
            ("name", strs(&["a"])),
            (
                "amount",
                Arc::new(arrow::array::Float32Array::from(vec![1.0f32])) as ArrayRef,
            ),
        ]),
        SchemaMode::Merge,
    )
    .await;
    // Narrower input types are converted losslessly, so this append succeeds...
    assert!(err.is_ok());
    let before = {
        let mut b = before;
        assert!(b.insert(format!("{:020}.json", 1)));
        b
    };
    // ...but a type that cannot be converted is refused.
    let err = write(
        d,
        batch(vec![("id", strs(&["x"])), ("name", strs(&["a"]))]),
        SchemaMode::Merge,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("'id'"), "{err}");
    assert_eq!(log_files(d), before);
}

#[tokio::test]
async fn set_nullable_comment_and_property_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let b = RecordBatch::try_new(schema, vec![longs(&[1])]).unwrap();
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![b])
        .await
        .unwrap();
    alter(d, AlterOperation::SetNullable { name: "id".into() })
        .await
        .unwrap();
    alter(
        d,
        AlterOperation::SetComment {
            name: "id".into(),
            comment: "the key".into(),
        },
    )
    .await
    .unwrap();
    alter(
        d,
        AlterOperation::SetProperty {
            key: "owner".into(),
            value: "ml-team".into(),
        },
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    let id = snapshot.schema().field("id").unwrap();
    assert!(id.nullable);
    assert_eq!(id.metadata["comment"], "the key");
    assert_eq!(snapshot.metadata().configuration["owner"], "ml-team");
    let v0 = load_snapshot(&location(d), Some(0)).await.unwrap();
    assert!(!v0.schema().field("id").unwrap().nullable);
    // Nulls may now be appended.
    write(
        d,
        batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![None, Some(2)])) as ArrayRef,
        )]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    assert_eq!(read(d, 4).await.1, ["1", "2", "NULL"]);
}

#[tokio::test]
async fn merge_widens_decimals_and_dates() {
    use arrow::array::{Date32Array, Decimal128Array, TimestampMicrosecondArray};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dec = |v: i128, p: u8, s: i8| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(vec![v])
                .with_precision_and_scale(p, s)
                .unwrap(),
        )
    };
    write(
        d,
        batch(vec![
            ("amount", dec(1234, 6, 2)),
            ("day", Arc::new(Date32Array::from(vec![1])) as ArrayRef),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    write(
        d,
        batch(vec![
            ("amount", dec(123_456, 10, 3)),
            (
                "day",
                Arc::new(TimestampMicrosecondArray::from(vec![86_400_000_000 * 2])) as ArrayRef,
            ),
        ]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    assert_eq!(
        snapshot
            .schema()
            .field("amount")
            .unwrap()
            .data_type
            .to_string(),
        "decimal(10,3)"
    );
    assert_eq!(
        snapshot
            .schema()
            .field("day")
            .unwrap()
            .data_type
            .to_string(),
        "timestamp_ntz"
    );
    for feature in ["typeWidening", "timestampNtz"] {
        assert!(
            snapshot
                .protocol()
                .reader_features
                .as_ref()
                .unwrap()
                .iter()
                .any(|f| f == feature),
            "{feature}"
        );
    }
    let (_, rows) = read(d, 1).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.contains("12.340")), "{rows:?}");
    let (_, rows0) = read(d, 0).await;
    assert!(rows0[0].contains("12.34"), "{rows0:?}");
}

#[tokio::test]
async fn merge_on_a_column_mapped_table_assigns_ids_and_physical_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        batch(vec![("id", ints(&[1])), ("name", strs(&["a"]))]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    alter(
        d,
        AlterOperation::RenameColumn {
            from: "name".into(),
            to: "label".into(),
        },
    )
    .await
    .unwrap();
    write(
        d,
        batch(vec![
            ("id", longs(&[2])),
            ("label", strs(&["b"])),
            ("extra", doubles(&[0.5])),
        ]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    let extra = snapshot.schema().field("extra").unwrap();
    assert_eq!(extra.field_id(), Some(3));
    assert!(
        extra.metadata["delta.columnMapping.physicalName"]
            .as_str()
            .unwrap()
            .starts_with("col-")
    );
    assert_eq!(
        snapshot.metadata().configuration["delta.columnMapping.maxColumnId"],
        "3"
    );
    assert_eq!(
        snapshot.schema().field("id").unwrap().data_type.to_string(),
        "long"
    );
    let (names, rows) = read(d, 2).await;
    assert_eq!(names, ["id", "label", "extra"]);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.contains("0.5")), "{rows:?}");
    assert_eq!(read(d, 1).await.0, ["id", "label"]);
    assert_eq!(read(d, 0).await.0, ["id", "name"]);
}

#[tokio::test]
async fn merge_does_not_widen_a_table_that_turns_type_widening_off() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options = tidemark_core::TableOptions {
        properties: [("delta.enableTypeWidening".to_string(), "false".to_string())].into(),
        ..Default::default()
    };
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_table_options(options)
        .execute_batches(vec![batch(vec![(
            "x",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        )])])
        .await
        .unwrap();
    let err = write(d, batch(vec![("x", longs(&[2]))]), SchemaMode::Merge)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("delta.enableTypeWidening"), "{err}");
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    assert_eq!(snapshot.version(), 0);
    assert_eq!(snapshot.num_files(), 1);
}

#[tokio::test]
async fn a_table_created_with_type_widening_on_has_the_feature_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options = tidemark_core::TableOptions {
        properties: [("delta.enableTypeWidening".to_string(), "true".to_string())].into(),
        ..Default::default()
    };
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_table_options(options)
        .execute_batches(vec![batch(vec![(
            "x",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        )])])
        .await
        .unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    let protocol = snapshot.protocol();
    assert_eq!(protocol.min_reader_version, 3);
    for list in [&protocol.reader_features, &protocol.writer_features] {
        assert!(
            list.as_ref()
                .is_some_and(|l| l.iter().any(|f| f == "typeWidening")),
            "{protocol:?}"
        );
    }
    // A widening merge then needs no protocol change.
    write(d, batch(vec![("x", longs(&[2]))]), SchemaMode::Merge)
        .await
        .unwrap();
    assert!(!has_action(d, 1, "protocol"));
    assert!(has_action(d, 1, "metaData"));
}
