//! Evolved tables through SQL: every version reads under its own schema with `VERSION AS OF`
//! and `TIMESTAMP AS OF`, across merged columns, widened types, renames and drops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use tidemark_core::SchemaMode;
use tidemark_core::Table;
use tidemark_core::TableLocation;
use tidemark_core::schema::{AlterOperation, alter_table};
use tidemark_core::testing::load_snapshot;
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
            Table::from_location(location)
                .write()
                .with_create_if_missing(true)
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
        let snapshot = load_snapshot(&location, Some(version as u64))
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

/// A table at `dir/name` written from one batch (strict), returning its URI.
async fn table_from(dir: &std::path::Path, name: &str, b: RecordBatch) -> String {
    let uri = dir.join(name).to_str().unwrap().to_string();
    Table::from_location(TableLocation::parse(&uri).unwrap())
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![b])
        .await
        .unwrap();
    uri
}

async fn version_of(uri: &str) -> u64 {
    load_snapshot(&TableLocation::parse(uri).unwrap(), None)
        .await
        .unwrap()
        .version()
}

async fn sql_error(ctx: &TidemarkContext, sql: &str) -> String {
    match ctx.sql(sql).await {
        Ok(frame) => match frame.collect().await {
            Ok(batches) => panic!(
                "'{sql}' succeeded: {}",
                pretty_format_batches(&batches).unwrap()
            ),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn insert_in_merge_mode_adds_columns_and_widens_types() {
    let dir = tempfile::tempdir().unwrap();
    let uri = table_from(
        dir.path(),
        "t",
        batch(vec![
            ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["a", "b"]))),
        ]),
    )
    .await;
    // The source: `id` is a long, and it has a column the table lacks.
    let staging = table_from(
        dir.path(),
        "staging",
        batch(vec![
            (
                "id",
                Arc::new(Int64Array::from(vec![3_000_000_000])) as ArrayRef,
            ),
            ("name", Arc::new(StringArray::from(vec!["c"]))),
            ("score", Arc::new(Float64Array::from(vec![0.5]))),
        ]),
    )
    .await;
    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    ctx.register("staging", &staging).await.unwrap();

    // Strict (the default): refused, and the table is unchanged.
    let err = sql_error(&ctx, "INSERT INTO t SELECT * FROM staging").await;
    assert!(
        err.contains("doesn't match") || err.contains("count"),
        "{err}"
    );
    assert_eq!(version_of(&uri).await, 0);

    ctx.sql("SET tidemark.schema_mode = 'merge'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let inserted = query(&ctx, "INSERT INTO t SELECT * FROM staging").await;
    assert!(inserted.contains("| 1     |"), "{inserted}");
    assert_eq!(version_of(&uri).await, 1);

    let got = query(&ctx, "SELECT * FROM t ORDER BY id").await;
    assert_eq!(
        got,
        [
            "+------------+------+-------+",
            "| id         | name | score |",
            "+------------+------+-------+",
            "| 1          | a    |       |",
            "| 2          | b    |       |",
            "| 3000000000 | c    | 0.5   |",
            "+------------+------+-------+",
        ]
        .join("\n")
    );
    let types = query(&ctx, "SELECT arrow_typeof(id) AS t FROM t LIMIT 1").await;
    assert!(types.contains("Int64"), "{types}");
    // The widening went through the typeWidening feature and is recorded on the field.
    let snapshot = load_snapshot(&TableLocation::parse(&uri).unwrap(), None)
        .await
        .unwrap();
    let features = snapshot
        .protocol()
        .reader_features
        .clone()
        .unwrap_or_default();
    assert!(features.iter().any(|f| f == "typeWidening"), "{features:?}");
    assert!(
        snapshot
            .metadata()
            .schema_string
            .contains("delta.typeChanges"),
        "{}",
        snapshot.metadata().schema_string
    );
    // Version 0 still reads under its own schema, by version and by timestamp.
    let old = query(&ctx, "SELECT * FROM t VERSION AS OF 0 ORDER BY id").await;
    let want_old = [
        "+----+------+",
        "| id | name |",
        "+----+------+",
        "| 1  | a    |",
        "| 2  | b    |",
        "+----+------+",
    ]
    .join("\n");
    assert_eq!(old, want_old);
    let v0 = load_snapshot(&TableLocation::parse(&uri).unwrap(), Some(0))
        .await
        .unwrap();
    let instant = chrono::DateTime::from_timestamp_millis(v0.timestamp_ms())
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let old = query(
        &ctx,
        &format!("SELECT * FROM t TIMESTAMP AS OF '{instant}' ORDER BY id"),
    )
    .await;
    assert_eq!(old, want_old);
    let types = query(
        &ctx,
        "SELECT arrow_typeof(id) AS t FROM t VERSION AS OF 0 LIMIT 1",
    )
    .await;
    assert!(types.contains("Int32"), "{types}");

    // The source is recorded as the commit's input, as for a strict INSERT.
    let inputs =
        tidemark_core::extensions::lineage::read_inputs(&TableLocation::parse(&uri).unwrap(), 1)
            .await
            .unwrap();
    assert_eq!(inputs.len(), 1, "{inputs:?}");
}

#[tokio::test]
async fn insert_in_merge_mode_with_a_column_list_and_literals() {
    let dir = tempfile::tempdir().unwrap();
    let uri = table_from(
        dir.path(),
        "t",
        batch(vec![
            ("id", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["a"]))),
        ]),
    )
    .await;
    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    ctx.set_schema_mode(SchemaMode::Merge);

    // A literal 2 is a 64-bit integer in DataFusion: it must not widen the int column.
    query(&ctx, "INSERT INTO t VALUES (2, 'b')").await;
    let types = query(&ctx, "SELECT arrow_typeof(id) AS t FROM t LIMIT 1").await;
    assert!(types.contains("Int32"), "{types}");
    let snapshot = load_snapshot(&TableLocation::parse(&uri).unwrap(), None)
        .await
        .unwrap();
    assert!(
        !snapshot
            .protocol()
            .reader_features
            .clone()
            .unwrap_or_default()
            .iter()
            .any(|f| f == "typeWidening")
    );

    // A column list: a new column, and `name` left out (written as nulls).
    query(&ctx, "INSERT INTO t (id, tag) VALUES (3, 'new')").await;
    // Literals in a SELECT take the table's types too; an extra column keeps its alias.
    query(&ctx, "SELECT 1").await;
    query(&ctx, "INSERT INTO t SELECT 4, 'd', 'x', true AS flag").await;
    let got = query(&ctx, "SELECT * FROM t ORDER BY id").await;
    assert_eq!(
        got,
        [
            "+----+------+-----+------+",
            "| id | name | tag | flag |",
            "+----+------+-----+------+",
            "| 1  | a    |     |      |",
            "| 2  | b    |     |      |",
            "| 3  |      | new |      |",
            "| 4  | d    | x   | true |",
            "+----+------+-----+------+",
        ]
        .join("\n")
    );
    let types = query(&ctx, "SELECT arrow_typeof(id) AS t FROM t LIMIT 1").await;
    assert!(types.contains("Int32"), "{types}");
    assert_eq!(version_of(&uri).await, 3);
    // Every version reads under its own schema.
    let v1 = query(&ctx, "SELECT * FROM t VERSION AS OF 1 ORDER BY id").await;
    assert!(v1.starts_with("+----+------+\n| id | name |"), "{v1}");
    let v2 = query(&ctx, "SELECT * FROM t VERSION AS OF 2 ORDER BY id").await;
    assert!(v2.contains("| id | name | tag |"), "{v2}");
}

#[tokio::test]
async fn bad_inserts_in_merge_mode_are_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let uri = table_from(
        dir.path(),
        "t",
        batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["a"]))),
        ]),
    )
    .await;
    let other = table_from(
        dir.path(),
        "other",
        batch(vec![
            ("id", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["b"]))),
        ]),
    )
    .await;
    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    ctx.register("other", &other).await.unwrap();

    let err = sql_error(&ctx, "SET tidemark.schema_mode = 'sideways'").await;
    assert!(err.contains("sideways") && err.contains("merge"), "{err}");
    assert_eq!(version_of(&uri).await, 0);

    ctx.set_schema_mode(SchemaMode::Merge);
    // A string into a long column is no widening: the error names the column.
    let err = sql_error(&ctx, "INSERT INTO t SELECT * FROM other").await;
    assert!(err.contains("id"), "{err}");
    // The same column given twice.
    let err = sql_error(&ctx, "INSERT INTO t (id, id) VALUES (1, 2)").await;
    assert!(err.contains("twice"), "{err}");
    // A new column with no type.
    let err = sql_error(&ctx, "INSERT INTO t SELECT 1, 'a', NULL AS extra").await;
    assert!(err.contains("extra") && err.contains("CAST"), "{err}");
    // Overwrite mode needs INSERT OVERWRITE.
    ctx.set_schema_mode(SchemaMode::Overwrite);
    let err = sql_error(&ctx, "INSERT INTO t SELECT 1, 'a'").await;
    assert!(err.contains("INSERT OVERWRITE"), "{err}");
    assert_eq!(version_of(&uri).await, 0);
    let got = query(&ctx, "SELECT * FROM t").await;
    assert!(got.contains("| 1  | a    |"), "{got}");
}

#[tokio::test]
async fn insert_overwrite_in_overwrite_mode_replaces_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let uri = table_from(
        dir.path(),
        "t",
        batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["a", "b"]))),
        ]),
    )
    .await;
    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    ctx.sql("SET tidemark.schema_mode = 'overwrite'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    query(
        &ctx,
        "INSERT OVERWRITE t SELECT CAST(id AS DOUBLE) AS amount, upper(name) AS code FROM t",
    )
    .await;
    let got = query(&ctx, "SELECT * FROM t ORDER BY amount").await;
    assert_eq!(
        got,
        [
            "+--------+------+",
            "| amount | code |",
            "+--------+------+",
            "| 1.0    | A    |",
            "| 2.0    | B    |",
            "+--------+------+",
        ]
        .join("\n")
    );
    let old = query(&ctx, "SELECT * FROM t VERSION AS OF 0 ORDER BY id").await;
    assert!(old.contains("| id | name |"), "{old}");
}

#[tokio::test]
async fn alter_table_and_comment_on_column_in_sql_commit_one_version_each() {
    let dir = tempfile::tempdir().unwrap();
    let uri = table_from(
        dir.path(),
        "t",
        batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["a", "b"]))),
        ]),
    )
    .await;
    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    query(&ctx, "ALTER TABLE t ADD COLUMN price DECIMAL(10, 2)").await;
    query(&ctx, "COMMENT ON COLUMN t.name IS 'who'").await;
    query(
        &ctx,
        "ALTER TABLE t SET TBLPROPERTIES ('delta.logRetentionDuration' = 'interval 60 days')",
    )
    .await;
    query(&ctx, "ALTER TABLE t RENAME COLUMN name TO who").await;
    let location = TableLocation::parse(&uri).unwrap();
    let snapshot = load_snapshot(&location, None).await.unwrap();
    assert_eq!(snapshot.version(), 4);
    let fields = &snapshot.schema().fields;
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["id", "who", "price"]);
    assert_eq!(
        fields[1].metadata.get("comment").and_then(|v| v.as_str()),
        Some("who")
    );
    assert_eq!(
        fields[2].data_type.to_string(),
        "decimal(10,2)",
        "{:?}",
        fields[2]
    );
    assert_eq!(
        snapshot
            .metadata()
            .configuration
            .get("delta.logRetentionDuration")
            .map(String::as_str),
        Some("interval 60 days")
    );
    // The rename needed column mapping, switched on without rewriting the data file.
    assert_eq!(snapshot.column_mapping().to_string().to_lowercase(), "name");
    assert_eq!(snapshot.num_files(), 1);
    let got = query(&ctx, "SELECT id, who, price FROM t ORDER BY id").await;
    assert!(got.contains("| 1  | a   |"), "{got}");
    let before = query(&ctx, "SELECT * FROM t VERSION AS OF 0 ORDER BY id").await;
    assert!(before.contains("| id | name |"), "{before}");
    // An unknown type is an error that changes nothing.
    let err = sql_error(&ctx, "ALTER TABLE t ADD COLUMN z NOSUCHTYPE").await;
    assert!(err.to_lowercase().contains("nosuchtype"), "{err}");
    assert_eq!(version_of(&uri).await, 4);
}

#[tokio::test]
async fn widened_list_elements_read_through_sql_at_every_version() {
    use arrow::array::{Int32Builder, Int64Builder, ListBuilder};
    let dir = tempfile::tempdir().unwrap();
    let mut narrow = ListBuilder::new(Int32Builder::new());
    narrow.append_value([Some(1), Some(2)]);
    narrow.append_null();
    let uri = table_from(
        dir.path(),
        "t",
        batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("xs", Arc::new(narrow.finish())),
        ]),
    )
    .await;
    let mut wide = ListBuilder::new(Int64Builder::new());
    wide.append_value([Some(5_000_000_000)]);
    Table::from_location(TableLocation::parse(&uri).unwrap())
        .write()
        .with_create_if_missing(true)
        .with_schema_mode(SchemaMode::Merge)
        .execute_batches(vec![batch(vec![
            ("id", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
            ("xs", Arc::new(wide.finish())),
        ])])
        .await
        .unwrap();
    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    let got = query(&ctx, "SELECT id, xs FROM t ORDER BY id").await;
    assert_eq!(
        got,
        [
            "+----+--------------+",
            "| id | xs           |",
            "+----+--------------+",
            "| 1  | [1, 2]       |",
            "| 2  |              |",
            "| 3  | [5000000000] |",
            "+----+--------------+",
        ]
        .join("\n")
    );
    let types = query(&ctx, "SELECT DISTINCT arrow_typeof(xs) AS t FROM t").await;
    assert!(
        types.contains("Int64") && !types.contains("Int32"),
        "{types}"
    );
    let old = query(
        &ctx,
        "SELECT arrow_typeof(xs) AS t FROM t VERSION AS OF 0 LIMIT 1",
    )
    .await;
    assert!(old.contains("Int32"), "{old}");
    let sum = query(&ctx, "SELECT sum(xs[1]) AS s FROM t").await;
    assert!(sum.contains("5000000001"), "{sum}");
}
