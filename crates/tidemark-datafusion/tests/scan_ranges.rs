//! How scans are spread over partitions, and the types strings are read as:
//!
//! - a table of one large file is read by every partition, each a byte range of the file, as
//!   DataFusion reads the same file as a listing table, with the same rows;
//! - files of a partitioned table split by byte ranges keep their partition values;
//! - strings are `Utf8View`, as in DataFusion's listing table for Parquet (`DESCRIBE`,
//!   `information_schema`, `INSERT`), or `Utf8` when asked; the Tidemark reader (deletion
//!   vectors) returns the same types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{collect_sql, find, rows};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use tidemark_core::FileOptions;
use tidemark_core::Table;
use tidemark_core::TableLocation;
use tidemark_datafusion::{TidemarkContext, TidemarkScanExec, TidemarkTable};

const ROWS: i64 = 40_000;

/// A session of `target` partitions that splits files of any size, as a listing table would
/// split large ones.
fn config(target: usize) -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_target_partitions(target)
        .with_information_schema(true);
    config.options_mut().optimizer.repartition_file_min_size = 1;
    config
}

fn batch(ids: std::ops::Range<i64>, part: Option<&str>) -> RecordBatch {
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("cat", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("value", DataType::Float64, true),
    ];
    let mut columns: Vec<Arc<dyn arrow::array::Array>> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(StringArray::from_iter_values(
            ids.clone().map(|i| format!("cat_{:02}", i % 7)),
        )),
        Arc::new(StringArray::from_iter(ids.clone().map(|i| {
            // Some nulls, and strings both shorter and longer than a view's inline 12 bytes.
            (i % 13 != 0).then(|| format!("name-{i}-{}", "x".repeat((i % 5) as usize * 4)))
        }))),
        Arc::new(Float64Array::from_iter_values(
            ids.clone().map(|i| (i % 101) as f64 / 4.0),
        )),
    ];
    if let Some(part) = part {
        fields.push(Field::new("part", DataType::Utf8, true));
        let n = (ids.end - ids.start) as usize;
        columns.push(Arc::new(StringArray::from(vec![part; n])));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// Writes `ROWS` rows in one commit as one file per partition, each of many row groups.
async fn table(dir: &Path, partitioned: bool) -> PathBuf {
    let path = dir.join(if partitioned { "parts" } else { "one" });
    let location = TableLocation::parse(path.to_str().unwrap()).unwrap();
    let batches: Vec<RecordBatch> = (0..ROWS)
        .step_by(4_000)
        .map(|start| {
            let part = partitioned.then_some(if start < ROWS / 2 { "a" } else { "b" });
            batch(start..start + 4_000, part)
        })
        .collect();
    let mut write = Table::from_location(location)
        .write()
        .with_create_if_missing(true)
        .with_file_options(FileOptions {
            row_group_rows: 1_000,
            ..FileOptions::default()
        });
    if partitioned {
        write = write.with_partition_columns(["part"]);
    }
    write.execute_batches(batches).await.unwrap();
    path
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<String> {
    rows(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
}

/// The Parquet scan of a query's plan (under its `TidemarkScanExec`), and the plan as text.
async fn parquet_scan(ctx: &TidemarkContext, sql: &str) -> (DataSourceExec, String) {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    let scan: TidemarkScanExec = find(&plan).expect("a TidemarkScanExec in the plan");
    assert!(text.contains("reader=parquet"), "{text}");
    let child = scan.children()[0].clone();
    let source: DataSourceExec = find(&child).expect("a DataSourceExec under the scan");
    (source, text)
}

/// The byte ranges the scan reads, per partition, as (file name, start, end).
fn ranges(scan: &DataSourceExec) -> Vec<Vec<(String, u64, u64)>> {
    let config = scan
        .data_source()
        .downcast_ref::<datafusion::datasource::physical_plan::FileScanConfig>()
        .expect("a file scan");
    config
        .file_groups
        .iter()
        .map(|group| {
            group
                .files()
                .iter()
                .map(|file| {
                    let name = file.object_meta.location.to_string();
                    match &file.range {
                        Some(range) => (name, range.start as u64, range.end as u64),
                        None => (name, 0, file.object_meta.size),
                    }
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_large_file_is_read_by_every_partition_in_byte_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = table(dir.path(), false).await;
    let uri = path.to_str().unwrap();
    let provider = TidemarkTable::open(uri).await.unwrap();
    assert_eq!(provider.snapshot().num_files(), 1);

    let ctx = TidemarkContext::with_session(SessionContext::new_with_config(config(4)));
    ctx.register("t", uri).await.unwrap();
    let plain = SessionContext::new_with_config(config(4));
    plain
        .register_parquet("t", &format!("{uri}/"), ParquetReadOptions::default())
        .await
        .unwrap();

    let aggregate = "SELECT cat, count(*) AS n, sum(value) AS s, min(name) AS lo, \
        max(name) AS hi, max(id) AS m FROM t GROUP BY cat ORDER BY cat";
    let (scan, text) = parquet_scan(&ctx, aggregate).await;
    let groups = ranges(&scan);
    assert_eq!(groups.len(), 4, "{text}");
    // Four ranges of the one file, one per partition, together the whole file.
    let mut all: Vec<(String, u64, u64)> = groups.into_iter().flatten().collect();
    assert_eq!(all.len(), 4, "{text}");
    all.sort_by_key(|(_, start, _)| *start);
    assert!(all.iter().all(|(name, _, _)| name == &all[0].0), "{text}");
    assert_eq!(all[0].1, 0, "{text}");
    for pair in all.windows(2) {
        assert_eq!(pair[0].2, pair[1].1, "{text}");
        assert!(pair[0].1 < pair[0].2, "{text}");
    }

    for sql in [
        aggregate,
        "SELECT * FROM t ORDER BY id",
        "SELECT count(*), sum(value), count(name) FROM t WHERE id % 3 = 1",
        "SELECT id, name FROM t WHERE id >= 12345 AND id < 12400 ORDER BY id",
    ] {
        let ours = query(ctx.session(), sql).await;
        let theirs = query(&plain, sql).await;
        assert!(!ours.is_empty(), "{sql}");
        assert_eq!(ours, theirs, "{sql}");
    }
    assert_eq!(
        query(
            ctx.session(),
            "SELECT count(*), count(DISTINCT id) FROM t WHERE value >= 0"
        )
        .await,
        vec![format!("{ROWS}|{ROWS}")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_files_split_by_ranges_keep_their_partition_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = table(dir.path(), true).await;
    let uri = path.to_str().unwrap();
    let provider = TidemarkTable::open(uri).await.unwrap();
    assert_eq!(provider.snapshot().num_files(), 2);

    let ctx = TidemarkContext::with_session(SessionContext::new_with_config(config(4)));
    ctx.register("t", uri).await.unwrap();
    let sql = "SELECT part, count(*) AS n, min(id) AS lo, max(id) AS hi, sum(value) AS s \
        FROM t GROUP BY part ORDER BY part";
    let (scan, text) = parquet_scan(&ctx, sql).await;
    let groups = ranges(&scan);
    assert_eq!(groups.len(), 4, "{text}");
    // Each of the two files is read in more than one range.
    for part in ["part=a", "part=b"] {
        let pieces = groups
            .iter()
            .flatten()
            .filter(|(name, _, _)| name.contains(part))
            .count();
        assert!(pieces >= 2, "{part}: {text}");
    }

    let sum = |ids: std::ops::Range<i64>| ids.map(|i| (i % 101) as f64 / 4.0).sum::<f64>();
    let half = ROWS / 2;
    assert_eq!(
        query(ctx.session(), sql).await,
        vec![
            format!("a|{half}|0|{}|{}", half - 1, sum(0..half)),
            format!("b|{half}|{half}|{}|{}", ROWS - 1, sum(half..ROWS)),
        ]
    );
    // Partition values on every row, whichever range read it.
    assert_eq!(
        query(
            ctx.session(),
            "SELECT part, count(*) FROM t WHERE (id < 20000) <> (part = 'a') GROUP BY part"
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        query(
            ctx.session(),
            "SELECT part, id FROM t WHERE part = 'b' AND id % 5000 = 0 ORDER BY id"
        )
        .await,
        vec!["b|20000", "b|25000", "b|30000", "b|35000"]
    );

    // The same rows as DataFusion over the partition directories.
    let plain = SessionContext::new_with_config(config(4));
    plain
        .register_parquet(
            "t",
            &format!("{uri}/"),
            ParquetReadOptions::default()
                .table_partition_cols(vec![("part".into(), DataType::Utf8)]),
        )
        .await
        .unwrap();
    for sql in [
        sql,
        "SELECT id, cat, name, value, part FROM t WHERE id % 7 = 3 ORDER BY id",
    ] {
        assert_eq!(
            query(ctx.session(), sql).await,
            query(&plain, sql).await,
            "{sql}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_are_views_as_in_a_listing_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = table(dir.path(), true).await;
    let uri = path.to_str().unwrap();
    let ctx = TidemarkContext::with_session(SessionContext::new_with_config(config(2)));
    ctx.register("t", uri).await.unwrap();
    let plain = SessionContext::new_with_config(config(2));
    plain
        .register_parquet("listing", &format!("{uri}/"), ParquetReadOptions::default())
        .await
        .unwrap();

    let types = "SELECT arrow_typeof(id), arrow_typeof(cat), arrow_typeof(name) FROM {} LIMIT 1";
    let ours = query(ctx.session(), &types.replace("{}", "t")).await;
    assert_eq!(ours, vec!["Int64|Utf8View|Utf8View"]);
    assert_eq!(ours, query(&plain, &types.replace("{}", "listing")).await);
    assert_eq!(
        query(ctx.session(), "SELECT arrow_typeof(part) FROM t LIMIT 1").await,
        vec!["Utf8View"]
    );
    let described = query(ctx.session(), "DESCRIBE t").await;
    assert!(
        described.contains(&"name|Utf8View|YES".to_string()),
        "{described:?}"
    );
    assert_eq!(
        query(
            ctx.session(),
            "SELECT data_type FROM information_schema.columns \
             WHERE table_name = 't' AND column_name = 'cat'"
        )
        .await,
        vec!["Utf8View"]
    );

    // INSERT takes strings (literals are Utf8) and writes them as the table's strings.
    collect_sql(
        &ctx,
        "INSERT INTO t VALUES (-1, 'cat_x', 'a name longer than twelve', 1.5, 'c')",
    )
    .await;
    // Through the Tidemark session, which reads the table's newest version.
    let inserted = collect_sql(&ctx, "SELECT cat, name, part FROM t WHERE id = -1").await;
    assert_eq!(rows(&inserted), vec!["cat_x|a name longer than twelve|c"]);

    // Declared as Utf8 when asked: the same rows.
    let utf8 = TidemarkTable::open(uri)
        .await
        .unwrap()
        .with_view_types(false)
        .unwrap();
    assert!(!utf8.view_types());
    ctx.session()
        .register_table("t_utf8", Arc::new(utf8))
        .unwrap();
    assert_eq!(
        query(ctx.session(), &types.replace("{}", "t_utf8")).await,
        vec!["Int64|Utf8|Utf8"]
    );
    let all = "SELECT id, cat, name, value, part FROM {} ORDER BY id";
    assert_eq!(
        query(ctx.session(), &all.replace("{}", "t")).await,
        query(ctx.session(), &all.replace("{}", "t_utf8")).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tidemark_reader_returns_the_declared_string_types() {
    // A table with deletion vectors, read by Tidemark's reader rather than DataFusion's.
    let uri = tidemark_testdata::table("delta-kernel/with-short-dv");
    let uri = uri.to_str().unwrap();
    let ctx = TidemarkContext::with_session(SessionContext::new_with_config(config(2)));
    ctx.register("dv", uri).await.unwrap();
    let utf8 = TidemarkTable::open(uri)
        .await
        .unwrap()
        .with_view_types(false)
        .unwrap();
    ctx.session()
        .register_table("dv_utf8", Arc::new(utf8))
        .unwrap();

    let plan = ctx
        .sql("SELECT value FROM dv")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(text.contains("reader=tidemark"), "{text}");
    assert_eq!(plan.schema().field(0).data_type(), &DataType::Utf8View);
    let batches = collect(plan, ctx.session().task_ctx()).await.unwrap();
    assert!(
        batches
            .iter()
            .all(|b| b.column(0).data_type() == &DataType::Utf8View)
    );
    assert_eq!(
        query(
            ctx.session(),
            "SELECT arrow_typeof(value) FROM dv_utf8 LIMIT 1"
        )
        .await,
        vec!["Utf8"]
    );
    let all = "SELECT id, value, timestamp, rand FROM {} ORDER BY id";
    let ours = query(ctx.session(), &all.replace("{}", "dv")).await;
    assert!(!ours.is_empty());
    assert_eq!(
        ours,
        query(ctx.session(), &all.replace("{}", "dv_utf8")).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parquet_scan_takes_the_session_options_and_caches_footers() {
    let dir = tempfile::tempdir().unwrap();
    let path = table(dir.path(), false).await;
    let uri = path.to_str().unwrap();
    let mut config = config(2);
    config.options_mut().execution.parquet.pushdown_filters = true;
    config.options_mut().execution.parquet.enable_page_index = false;
    let ctx = TidemarkContext::with_session(SessionContext::new_with_config(config));
    ctx.register("t", uri).await.unwrap();
    let sql = "SELECT count(*) FROM t WHERE id % 3 = 0 AND name > 'name-3'";
    let (scan, text) = parquet_scan(&ctx, sql).await;
    let config = scan
        .data_source()
        .downcast_ref::<datafusion::datasource::physical_plan::FileScanConfig>()
        .expect("a file scan");
    let source = config
        .file_source()
        .downcast_ref::<datafusion::datasource::physical_plan::ParquetSource>()
        .expect("a Parquet scan");
    let options = &source.table_parquet_options().global;
    assert!(options.pushdown_filters, "{text}");
    assert!(!options.enable_page_index, "{text}");

    // Footers go to the runtime's metadata cache, as a listing table's do.
    let cache = ctx
        .session()
        .runtime_env()
        .cache_manager
        .get_file_metadata_cache();
    let before = cache.len();
    let expected = query(ctx.session(), sql).await;
    assert_eq!(cache.len(), before + 1);
    assert_eq!(query(ctx.session(), sql).await, expected);
    assert_eq!(cache.len(), before + 1);
}

#[tokio::test]
async fn a_session_without_view_types_reads_strings_as_utf8_at_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = table(dir.path(), false).await;
    let mut config = config(2);
    config
        .options_mut()
        .execution
        .parquet
        .schema_force_view_types = false;
    let ctx = TidemarkContext::with_session(SessionContext::new_with_config(config));
    ctx.register("t", path.to_str().unwrap()).await.unwrap();
    for sql in [
        "SELECT DISTINCT arrow_typeof(name) AS t FROM t",
        "SELECT DISTINCT arrow_typeof(name) AS t FROM t VERSION AS OF 0",
    ] {
        let batches = collect_sql(&ctx, sql).await;
        assert_eq!(rows(&batches), ["Utf8"], "{sql}");
    }
    // The default session reads views, as DataFusion's listing table does.
    let ctx = TidemarkContext::new();
    ctx.register("t", path.to_str().unwrap()).await.unwrap();
    let batches = collect_sql(
        &ctx,
        "SELECT DISTINCT arrow_typeof(name) AS t FROM t VERSION AS OF 0",
    )
    .await;
    assert_eq!(rows(&batches), ["Utf8View"]);
}
