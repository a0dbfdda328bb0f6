//! Evolved tables through SQL: every version reads under its own schema with `VERSION AS OF`
//! and `TIMESTAMP AS OF`, across merged columns, widened types, renames and drops.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use tidemark_core::TableLocation;
use tidemark_core::alter::{AlterOperation, alter_table};
use tidemark_core::snapshot::Snapshot;
use tidemark_core::write::{SchemaMode, WriteBuilder};
use tidemark_datafusion::TidemarkContext;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

async fn query(ctx: &TidemarkContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn every_version_reads_under_its_own_schema_in_sql() {
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().to_str().unwrap().to_string();
    let location = TableLocation::parse(&uri).unwrap();
    let write = |b: RecordBatch| {
        let location = location.clone();
        async move {
            WriteBuilder::new(location)
                .with_schema_mode(SchemaMode::Merge)
                .execute_batches(vec![b])
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    // v0: id int, name; v1: id widened to long, new column score; v2: rename name -> label;
    // v3: drop score.
    write(batch(vec![
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        ("name", Arc::new(StringArray::from(vec!["a", "b"]))),
    ]))
    .await;
    write(batch(vec![
        ("id", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
        ("score", Arc::new(Float64Array::from(vec![0.5]))),
    ]))
    .await;
    alter_table(
        &location,
        AlterOperation::RenameColumn {
            from: "name".into(),
            to: "label".into(),
        },
        Default::default(),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    alter_table(
        &location,
        AlterOperation::DropColumn {
            name: "score".into(),
        },
        Default::default(),
    )
    .await
    .unwrap();

    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    let expected = [
        vec![
            "+----+------+",
            "| id | name |",
            "+----+------+",
            "| 1  | a    |",
            "| 2  | b    |",
            "+----+------+",
        ],
        vec![
            "+----+------+-------+",
            "| id | name | score |",
            "+----+------+-------+",
            "| 1  | a    |       |",
            "| 2  | b    |       |",
            "| 3  |      | 0.5   |",
            "+----+------+-------+",
        ],
        vec![
            "+----+-------+-------+",
            "| id | label | score |",
            "+----+-------+-------+",
            "| 1  | a     |       |",
            "| 2  | b     |       |",
            "| 3  |       | 0.5   |",
            "+----+-------+-------+",
        ],
        vec![
            "+----+-------+",
            "| id | label |",
            "+----+-------+",
            "| 1  | a     |",
            "| 2  | b     |",
            "| 3  |       |",
            "+----+-------+",
        ],
    ];
    for (version, want) in expected.iter().enumerate() {
        let got = query(
            &ctx,
            &format!("SELECT * FROM t VERSION AS OF {version} ORDER BY id"),
        )
        .await;
        assert_eq!(got, want.join("\n"), "version {version}");
        let snapshot = Snapshot::load(&location, Some(version as u64))
            .await
            .unwrap();
        let instant = chrono::DateTime::from_timestamp_millis(snapshot.timestamp_ms())
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let got = query(
            &ctx,
            &format!("SELECT * FROM t TIMESTAMP AS OF '{instant}' ORDER BY id"),
        )
        .await;
        assert_eq!(got, want.join("\n"), "timestamp of version {version}");
    }
    // The widened column reads as long at every version after the widening, int before.
    let types = query(
        &ctx,
        "SELECT arrow_typeof(id) AS t FROM t VERSION AS OF 0 LIMIT 1",
    )
    .await;
    assert!(types.contains("Int32"), "{types}");
    let types = query(&ctx, "SELECT arrow_typeof(id) AS t FROM t LIMIT 1").await;
    assert!(types.contains("Int64"), "{types}");
    // Statistics keep skipping files across the rename and the widening.
    for sql in [
        "EXPLAIN SELECT id FROM t WHERE label = 'zzz'",
        "EXPLAIN SELECT id FROM t WHERE id > 100",
    ] {
        let plan = query(&ctx, sql).await;
        assert!(plan.contains("files=0 of 2"), "{sql}: {plan}");
    }
    // Filters on renamed columns still work.
    let got = query(&ctx, "SELECT id FROM t WHERE label = 'b'").await;
    assert!(got.contains("| 2  |"), "{got}");
}
