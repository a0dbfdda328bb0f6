//! The table provider on real tables: pruning counted on a table of 120 files, the same rows as
//! DataFusion reading the same Parquet files directly, deletion vectors, EXPLAIN, statistics,
//! INSERT through the library's commit protocol, and tables named by path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{collect_sql, find, sorted_rows};
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use tidemark_core::Table;
use tidemark_core::TableLocation;
use tidemark_core::testing::load_snapshot;
use tidemark_datafusion::{TidemarkContext, TidemarkScanExec};

fn batch(day: i64, ids: std::ops::Range<i64>) -> RecordBatch {
    let n = (ids.end - ids.start) as usize;
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("day", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("score", DataType::Float64, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(Int64Array::from(vec![day; n])),
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| format!("n{i:05}")),
            )),
            Arc::new(Float64Array::from_iter_values(ids.map(|i| (i % 97) as f64))),
        ],
    )
    .unwrap()
}

/// 12 days (partitions) × 10 appends of 50 rows, with ids growing: 120 files.
async fn events(dir: &Path) -> String {
    let table = dir.join("events");
    let location = TableLocation::parse(table.to_str().unwrap()).unwrap();
    let mut next = 0;
    for round in 0..10 {
        let batches: Vec<RecordBatch> = (0..12)
            .map(|day| {
                let b = batch(day, next..next + 50);
                next += 50;
                b
            })
            .collect();
        let mut write = Table::from_location(location.clone())
            .write()
            .with_create_if_missing(true);
        if round == 0 {
            write = write.with_partition_columns(["day"]);
        }
        write.execute_batches(batches).await.unwrap();
    }
    table.to_str().unwrap().to_string()
}

async fn plan_of(ctx: &TidemarkContext, sql: &str) -> (TidemarkScanExec, Vec<RecordBatch>) {
    let frame = ctx.sql(sql).await.unwrap();
    let plan = frame.create_physical_plan().await.unwrap();
    let scan = find::<TidemarkScanExec>(&plan).expect("a TidemarkScanExec in the plan");
    let batches = collect(plan, ctx.session().task_ctx()).await.unwrap();
    (scan, batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_skips_the_files_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();

    let (scan, batches) = plan_of(&ctx, "SELECT id FROM events WHERE day = 3").await;
    let counts = scan.pruning();
    assert_eq!(counts.total, 120);
    assert_eq!(counts.by_partition, 110);
    assert_eq!(scan.files_read(), 10);
    assert_eq!(sorted_rows(&batches).len(), 500);

    // ids grow with each file: a range on id skips files by their min/max.
    let (scan, batches) =
        plan_of(&ctx, "SELECT id FROM events WHERE id BETWEEN 1000 AND 1099").await;
    assert_eq!(scan.pruning().by_partition, 0);
    assert_eq!(scan.files_read(), 2, "{:?}", scan.pruning());
    assert_eq!(scan.pruning().by_statistics, 118);
    assert_eq!(sorted_rows(&batches).len(), 100);

    // Both, and a filter no statistics can help with.
    let (scan, _) = plan_of(
        &ctx,
        "SELECT * FROM events WHERE day IN (1, 2) AND id < 600",
    )
    .await;
    assert_eq!(scan.pruning().by_partition, 100);
    assert_eq!(scan.files_read(), 2);
    let (scan, batches) = plan_of(&ctx, "SELECT id FROM events WHERE name LIKE '%7'").await;
    assert_eq!(scan.files_read(), 120);
    assert_eq!(sorted_rows(&batches).len(), 600);

    // EXPLAIN says so.
    let explain = collect_sql(&ctx, "EXPLAIN SELECT * FROM events WHERE day = 3").await;
    let text = sorted_rows(&explain).join("\n");
    assert!(
        text.contains("files=10 of 120 (pruned 110 by partition, 0 by statistics)"),
        "{text}"
    );
    let explain = collect_sql(
        &ctx,
        "EXPLAIN SELECT * FROM events VERSION AS OF 3 WHERE day = 3",
    )
    .await;
    let text = sorted_rows(&explain).join("\n");
    assert!(text.contains("version=3, files=4 of 48"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_equal_datafusion_reading_the_parquet_files_directly() {
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();
    // DataFusion on its own over the same files, partition directories and all.
    let plain = SessionContext::new();
    plain
        .register_parquet(
            "direct",
            &uri,
            ParquetReadOptions::default()
                .table_partition_cols(vec![("day".into(), DataType::Int64)]),
        )
        .await
        .unwrap();
    for query in [
        "SELECT id, day, name, score FROM {} ",
        "SELECT id, day, name, score FROM {} WHERE day = 5 AND score > 50",
        "SELECT day, count(*), sum(score), min(name) FROM {} GROUP BY day",
        "SELECT id FROM {} WHERE id % 7 = 0 AND id < 2000",
    ] {
        let ours = collect_sql(&ctx, &query.replace("{}", "events")).await;
        let theirs = plain
            .sql(&query.replace("{}", "direct"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(sorted_rows(&ours), sorted_rows(&theirs), "{query}");
        assert!(!sorted_rows(&ours).is_empty());
    }
    // Row counts reach the optimizer: COUNT(*) is answered from the log's statistics, with no
    // scan left in the plan.
    let frame = ctx.sql("SELECT count(*) FROM events").await.unwrap();
    let plan = frame.create_physical_plan().await.unwrap();
    assert!(
        find::<TidemarkScanExec>(&plan).is_none(),
        "{}",
        datafusion::physical_plan::displayable(plan.as_ref()).indent(true)
    );
    let batches = collect(plan, ctx.session().task_ctx()).await.unwrap();
    assert_eq!(sorted_rows(&batches), vec!["6000"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_commit_one_version_and_tables_can_be_named_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();
    let inserted = collect_sql(&ctx, "INSERT INTO events SELECT id + 100000, day, name, score FROM events VERSION AS OF 0 WHERE day < 2").await;
    assert_eq!(sorted_rows(&inserted), vec!["100"]);
    let snapshot = load_snapshot(&TableLocation::parse(&uri).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(snapshot.version(), 10);
    let count = collect_sql(&ctx, "SELECT count(*) FROM events").await;
    assert_eq!(sorted_rows(&count), vec!["6100"]);
    // A path in the query is a table.
    let by_path = collect_sql(
        &ctx,
        &format!("SELECT count(*) FROM \"{uri}\" VERSION AS OF 0"),
    )
    .await;
    assert_eq!(sorted_rows(&by_path), vec!["600"]);
    // Values into a new partitioned table through SQL.
    let fresh = dir.path().join("fresh");
    ctx.sql(&format!(
        "CREATE EXTERNAL TABLE fresh (id BIGINT NOT NULL, tag VARCHAR) STORED AS TIDEMARK PARTITIONED BY (tag) LOCATION '{}'",
        fresh.display()
    ))
    .await
    .unwrap();
    let n = collect_sql(
        &ctx,
        "INSERT INTO fresh VALUES (1, 'a'), (2, 'b'), (3, NULL)",
    )
    .await;
    assert_eq!(sorted_rows(&n), vec!["3"]);
    let all = collect_sql(&ctx, "SELECT id, tag FROM fresh").await;
    assert_eq!(sorted_rows(&all), vec!["1|a", "2|b", "3|NULL"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_counts_and_column_bounds_reach_the_optimizer() {
    use datafusion::catalog::TableProvider;
    use datafusion::common::ScalarValue;
    use datafusion::common::stats::Precision;
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let table = tidemark_datafusion::TidemarkTable::open(&uri)
        .await
        .unwrap();
    let stats = table.statistics().unwrap();
    assert_eq!(stats.num_rows, Precision::Exact(6000));
    let id = table.schema().index_of("id").unwrap();
    assert_eq!(
        stats.column_statistics[id].min_value,
        Precision::Inexact(ScalarValue::Int64(Some(0)))
    );
    assert_eq!(
        stats.column_statistics[id].max_value,
        Precision::Inexact(ScalarValue::Int64(Some(5999)))
    );
    assert_eq!(stats.column_statistics[id].null_count, Precision::Exact(0));
    let day = table.schema().index_of("day").unwrap();
    assert_eq!(
        stats.column_statistics[day].max_value,
        Precision::Inexact(ScalarValue::Int64(Some(11)))
    );
    // The physical plan carries them: a scan's row count is that of the files it reads.
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();
    let plan = ctx
        .sql("SELECT id FROM events WHERE day = 3")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let scan: Arc<dyn ExecutionPlan> = Arc::new(find::<TidemarkScanExec>(&plan).unwrap());
    let computed = datafusion::physical_plan::statistics::StatisticsContext::new()
        .compute(
            scan.as_ref(),
            &datafusion::physical_plan::statistics::StatisticsArgs::new(),
        )
        .unwrap();
    assert_eq!(computed.num_rows, Precision::Exact(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_ids_and_tags_in_sql_and_lineage_of_inserts() {
    use tidemark_core::VersionSpec;
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let location = TableLocation::parse(&uri).unwrap();
    let v3 = load_snapshot(&location, Some(3)).await.unwrap();
    let id = v3.snapshot_id().unwrap();
    tidemark_core::extensions::tag::create_tag(
        &location,
        "train-2026-11",
        VersionSpec::Version(2),
        Default::default(),
    )
    .await
    .unwrap();
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();
    let by_id = collect_sql(
        &ctx,
        &format!("SELECT count(*) FROM events AT(SNAPSHOT => '{id}')"),
    )
    .await;
    assert_eq!(sorted_rows(&by_id), vec!["2400"]);
    let by_tag = collect_sql(
        &ctx,
        "SELECT count(*) FROM events AT(TAG => 'train-2026-11')",
    )
    .await;
    assert_eq!(sorted_rows(&by_tag), vec!["1800"]);
    let err = ctx
        .sql("SELECT * FROM events AT(TAG => 'nope')")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let bogus = id.replace(".3.", ".4.");
    let err = ctx
        .sql(&format!("SELECT * FROM events AT(SNAPSHOT => '{bogus}')"))
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());

    // INSERT … SELECT … VERSION AS OF records its input at the snapshot it read.
    let copy = dir.path().join("copy");
    ctx.sql(&format!(
        "CREATE EXTERNAL TABLE copy (id BIGINT NOT NULL, day BIGINT NOT NULL, name VARCHAR, score DOUBLE) STORED AS TIDEMARK LOCATION '{}'",
        copy.display()
    ))
    .await
    .unwrap();
    collect_sql(
        &ctx,
        "INSERT INTO copy SELECT * FROM events VERSION AS OF 3 WHERE day = 0",
    )
    .await;
    let copy_location = TableLocation::parse(copy.to_str().unwrap()).unwrap();
    let node = tidemark_core::extensions::lineage::lineage(&copy_location, None)
        .await
        .unwrap();
    assert_eq!(node.version, 1);
    assert_eq!(node.inputs.len(), 1, "{node:?}");
    assert_eq!(node.inputs[0].snapshot_id, id);
    assert_eq!(node.inputs[0].version, 3);
}

/// A core error reaches the caller as a typed variant, with no boxed error to downcast: a
/// version that does not exist, a tag that does not exist, a path with no table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_errors_reach_the_caller_typed() {
    use tidemark_datafusion::Error;
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();

    let err = ctx
        .sql("SELECT count(*) FROM events VERSION AS OF 99")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Version { table, .. } if table == "events"),
        "{err:?}"
    );
    assert!(
        matches!(
            err.core(),
            Some(tidemark_core::Error::VersionNotFound { requested: 99, .. })
        ),
        "{err:?}"
    );

    let err = ctx
        .sql("SELECT count(*) FROM events AT(TAG => 'no-such-tag')")
        .await
        .unwrap_err();
    assert!(
        matches!(err.core(), Some(tidemark_core::Error::TagNotFound { name, .. }) if name == "no-such-tag"),
        "{err:?}"
    );

    let missing = dir.path().join("nothing-here");
    std::fs::create_dir_all(&missing).unwrap();
    // This one surfaces while the frame runs: DataFusion's error converts to the same variant.
    let frame = ctx
        .sql(&format!(
            "SELECT * FROM tidemark_history('{}')",
            missing.display()
        ))
        .await
        .unwrap();
    let Err(err) = frame.collect().await.map_err(Error::from) else {
        panic!("a history of a path with no table must fail");
    };
    assert!(
        matches!(
            err,
            Error::Tidemark(tidemark_core::Error::TableNotFound { .. })
        ),
        "{err:?}"
    );
}

/// A view over the latest version reads the newest commit of another writer, like the table
/// itself; a view over a fixed version does not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_over_the_latest_version_follow_new_commits() {
    let dir = tempfile::tempdir().unwrap();
    let uri = events(dir.path()).await;
    let ctx = TidemarkContext::new();
    ctx.register("events", &uri).await.unwrap();
    collect_sql(
        &ctx,
        "CREATE VIEW recent AS SELECT id FROM events WHERE day >= 6",
    )
    .await;
    collect_sql(
        &ctx,
        "CREATE VIEW old_recent AS SELECT id FROM events VERSION AS OF 0 WHERE day >= 6",
    )
    .await;
    collect_sql(
        &ctx,
        "CREATE VIEW recent_again AS SELECT count(*) AS n FROM recent",
    )
    .await;
    assert_eq!(
        sorted_rows(&collect_sql(&ctx, "SELECT count(*) FROM recent").await),
        vec!["3000"]
    );
    // Another writer appends 50 rows to day 11.
    Table::from_location(TableLocation::parse(&uri).unwrap())
        .write()
        .execute_batches(vec![batch(11, 900_000..900_050)])
        .await
        .unwrap();
    assert_eq!(
        sorted_rows(&collect_sql(&ctx, "SELECT count(*) FROM recent").await),
        vec!["3050"]
    );
    assert_eq!(
        sorted_rows(&collect_sql(&ctx, "SELECT n FROM recent_again").await),
        vec!["3050"]
    );
    assert_eq!(
        sorted_rows(&collect_sql(&ctx, "SELECT count(*) FROM old_recent").await),
        vec!["300"]
    );
}
