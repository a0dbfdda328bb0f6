//! Tidemark's side of the issue-7 benchmarks against delta-rs (`benches/deltars.py` is the
//! other side, `benches/run` alternates them). Not a test: `harness = false`, and every mode
//! is chosen by the first argument. Each timed mode prints one JSON line per figure:
//! `{"side": "...", "workload": "...", "secs": ...}` (memory modes print `kib`).
//!
//! Modes:
//! - `gen <dir> [rows]`: the deterministic data set (seeded): `narrow.arrow` (int64 id,
//!   float64, low-cardinality string, string, timestamp), `wide.arrow` (100 columns).
//! - `build-log <table> <commits>`: a table of `<commits>` commits with a checkpoint every 100
//!   (version 0 written by Tidemark, later commits synthesized as one small add each).
//! - `prepare <arrow> <table> [partition column]`: writes the Arrow file as a table (untimed).
//! - `append <arrow> <table> [partition column]`: one commit of all batches (workload 1).
//! - `parquet <arrow> <file>`: the same batches as plain Parquet (the floor of workload 1).
//! - `appends <arrow> <table> <n>`: `n` small appends in a row (workload 2).
//! - `open <table> <label>`: the latest snapshot (workload 3).
//! - `open-version <table> <version>`, `open-ts <table> <epoch ms>` (workload 4).
//! - `sql <table>`, `sql-floor <table>`: the two queries of workload 5 through
//!   `TidemarkContext`, and through DataFusion over the table's Parquet files.
//! - `mem <table>`: peak RSS (VmHWM) after opening the latest snapshot (workload 6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

/// The same allocator as the `tidemark` binary (delta-rs's Python wheel links jemalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::json;
use tidemark::core::checkpoint::write_checkpoint;
use tidemark::core::{Table, TableLocation, TableOptions, VersionSpec, WriteBuilder};
use tidemark::datafusion::TidemarkContext;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Rows per generated batch.
const BATCH_ROWS: usize = 65_536;
/// Commit times of the synthesized log: 2025-01-01T00:00:00Z plus one second per version.
const LOG_BASE_MS: i64 = 1_735_689_600_000;

/// The SQL queries of workload 5 (also in `deltars.py`).
const SQL_AGGREGATE: &str = "SELECT cat, count(*) AS n, sum(value) AS s, min(ts) AS t0, \
     max(id) AS m FROM t GROUP BY cat ORDER BY cat";
const SQL_RANGE: &str =
    "SELECT count(*) AS n, sum(value) AS s FROM t WHERE id >= 5000000 AND id < 5010000";

/// splitmix64: a small, fast, seeded generator, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn narrow_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("value", DataType::Float64, true),
        Field::new("cat", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("ts", ts_type(), true),
    ]))
}

/// Rows `start..start + len` of the narrow table.
fn narrow_batch(schema: &SchemaRef, rng: &mut Rng, start: i64, len: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + len as i64).collect();
    let values: Vec<f64> = (0..len).map(|_| rng.unit() * 1000.0).collect();
    let mut cats = StringBuilder::with_capacity(len, len * 6);
    let mut names = StringBuilder::with_capacity(len, len * 20);
    for _ in 0..len {
        let r = rng.next();
        cats.append_value(format!("cat_{:02}", r % 16));
        names.append_value(format!("name-{:x}", r >> 20));
    }
    let base_us = 1_700_000_000_000_000i64;
    let ts: Vec<i64> = ids
        .iter()
        .map(|i| base_us + i * 1_000 + (rng.next() % 1_000) as i64)
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids)),
        Arc::new(Float64Array::from(values)),
        Arc::new(cats.finish()),
        Arc::new(names.finish()),
        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
    ];
    RecordBatch::try_new(schema.clone(), columns).expect("narrow batch")
}

/// The wide table: id and 99 columns cycling int64, float64, string.
fn wide_batch(schema: &SchemaRef, rng: &mut Rng, start: i64, len: usize) -> RecordBatch {
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(
        (start..start + len as i64).collect::<Vec<_>>(),
    ))];
    for c in 1..100 {
        let column: ArrayRef = match c % 3 {
            0 => Arc::new(Int64Array::from(
                (0..len)
                    .map(|_| (rng.next() % 100_000) as i64)
                    .collect::<Vec<_>>(),
            )),
            1 => Arc::new(Float64Array::from(
                (0..len).map(|_| rng.unit()).collect::<Vec<_>>(),
            )),
            _ => {
                let mut b = StringBuilder::with_capacity(len, len * 8);
                for _ in 0..len {
                    b.append_value(format!("s{:x}", rng.next() % 65_536));
                }
                Arc::new(b.finish())
            }
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).expect("wide batch")
}

fn wide_schema() -> SchemaRef {
    let mut fields = vec![Field::new("id", DataType::Int64, true)];
    for c in 1..100 {
        let t = match c % 3 {
            0 => DataType::Int64,
            1 => DataType::Float64,
            _ => DataType::Utf8,
        };
        fields.push(Field::new(format!("c{c:02}"), t, true));
    }
    Arc::new(Schema::new(fields))
}

fn write_ipc(
    path: &str,
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
) -> BenchResult<()> {
    let mut writer = arrow::ipc::writer::FileWriter::try_new(File::create(path)?, schema)?;
    for batch in batches {
        writer.write(&batch)?;
    }
    writer.finish()?;
    Ok(())
}

fn read_ipc(path: &str) -> BenchResult<(SchemaRef, Vec<RecordBatch>)> {
    let reader = arrow::ipc::reader::FileReader::try_new(File::open(path)?, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

fn gen_data(dir: &str, rows: i64) -> BenchResult<()> {
    std::fs::create_dir_all(dir)?;
    let schema = narrow_schema();
    let mut rng = Rng(7);
    let step = BATCH_ROWS as i64;
    let narrow = (0..rows).step_by(BATCH_ROWS).map(|start| {
        let len = step.min(rows - start) as usize;
        narrow_batch(&schema, &mut rng, start, len)
    });
    write_ipc(&format!("{dir}/narrow.arrow"), &schema, narrow)?;
    let mut rng = Rng(11);
    let small = (0..2_000i64).map(|i| narrow_batch(&schema, &mut rng, i * 100, 100));
    write_ipc(&format!("{dir}/small.arrow"), &schema, small)?;
    let wide = wide_schema();
    let mut rng = Rng(13);
    let wide_rows = 200_000i64;
    let batches = (0..wide_rows).step_by(BATCH_ROWS).map(|start| {
        let len = step.min(wide_rows - start) as usize;
        wide_batch(&wide, &mut rng, start, len)
    });
    write_ipc(&format!("{dir}/wide.arrow"), &wide, batches)?;
    Ok(())
}

fn emit(workload: &str, secs: f64, extra: serde_json::Value) {
    println!(
        "{}",
        json!({"side": "tidemark", "workload": workload, "secs": secs, "extra": extra})
    );
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn location(path: &str) -> BenchResult<TableLocation> {
    std::fs::create_dir_all(path)?;
    Ok(TableLocation::parse(
        &std::fs::canonicalize(path)?.to_string_lossy(),
    )?)
}

fn writer(loc: &TableLocation, partition: Option<&str>) -> WriteBuilder {
    let builder = Table::from_location(loc.clone())
        .write()
        .with_create_if_missing(true);
    match partition {
        Some(p) => builder.with_partition_columns([p]),
        None => builder,
    }
}

async fn build_log(path: &str, commits: u64) -> BenchResult<()> {
    let loc = location(path)?;
    let schema = narrow_schema();
    let mut rng = Rng(3);
    let first = narrow_batch(&schema, &mut rng, 0, 10);
    let mut properties = BTreeMap::new();
    properties.insert("delta.checkpointInterval".to_string(), "100".to_string());
    let options = TableOptions {
        properties,
        // Time travel by timestamp then uses the commit files' modification times on both
        // sides (set below to one second apart).
        in_commit_timestamps: false,
        ..TableOptions::default()
    };
    Table::from_location(loc.clone())
        .write()
        .with_create_if_missing(true)
        .with_table_options(options)
        .execute_batches(vec![first])
        .await?;
    let log = format!("{path}/_delta_log");
    for v in 1..commits {
        let t = LOG_BASE_MS + v as i64 * 1000;
        let stats = json!({"numRecords": 10, "minValues": {"id": v * 10},
            "maxValues": {"id": v * 10 + 9}, "nullCount": {"id": 0}})
        .to_string();
        let info = json!({"commitInfo": {"timestamp": t, "operation": "WRITE",
            "operationParameters": {"mode": "Append"}, "engineInfo": "tidemark-bench-synth"}});
        let add = json!({"add": {"path": format!("synth/part-{v:05}.parquet"),
            "partitionValues": {}, "size": 1000, "modificationTime": t,
            "dataChange": true, "stats": stats}});
        std::fs::write(format!("{log}/{v:020}.json"), format!("{info}\n{add}\n"))?;
    }
    for v in 0..commits {
        let when =
            SystemTime::UNIX_EPOCH + Duration::from_millis((LOG_BASE_MS + v as i64 * 1000) as u64);
        File::options()
            .write(true)
            .open(format!("{log}/{v:020}.json"))?
            .set_modified(when)?;
    }
    for v in (100..commits).step_by(100) {
        let snapshot = Table::from_location(loc.clone())
            .snapshot(VersionSpec::Version(v))
            .await?;
        write_checkpoint(&snapshot).await?;
    }
    Ok(())
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn collect_sql(
    run: impl AsyncFn(&str) -> BenchResult<usize>,
    label: &str,
) -> BenchResult<()> {
    for (name, sql) in [("sql_aggregate", SQL_AGGREGATE), ("sql_range", SQL_RANGE)] {
        // One warm-up (plans, caches footers), then one timed run.
        run(sql).await?;
        let start = Instant::now();
        let rows = run(sql).await?;
        emit(
            &format!("{name}{label}"),
            secs(start.elapsed()),
            json!({"rows": rows}),
        );
    }
    Ok(())
}

async fn run(args: &[String]) -> BenchResult<()> {
    let arg = |i: usize| -> BenchResult<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument {i}; see the mode list in versus.rs").into())
    };
    match arg(0)? {
        "gen" => {
            let rows = args.get(2).map_or(Ok(10_000_000), |r| r.parse())?;
            gen_data(arg(1)?, rows)?;
        }
        "build-log" => build_log(arg(1)?, arg(2)?.parse()?).await?,
        "prepare" | "append" => {
            let (_, batches) = read_ipc(arg(1)?)?;
            let loc = location(arg(2)?)?;
            let partition = args.get(3).map(String::as_str);
            let start = Instant::now();
            let outcome = writer(&loc, partition).execute_batches(batches).await?;
            if arg(0)? == "append" {
                let label = if partition.is_some() {
                    "append_10m_partitioned"
                } else {
                    "append_10m"
                };
                emit(
                    label,
                    secs(start.elapsed()),
                    json!({"files": outcome.files_added, "bytes": outcome.bytes_added}),
                );
            }
        }
        "parquet" => {
            let (schema, batches) = read_ipc(arg(1)?)?;
            let start = Instant::now();
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let mut w = ArrowWriter::try_new(File::create(arg(2)?)?, schema, Some(props))?;
            for batch in &batches {
                w.write(batch)?;
            }
            w.close()?;
            let bytes = std::fs::metadata(arg(2)?)?.len();
            emit(
                "append_10m_parquet_floor",
                secs(start.elapsed()),
                json!({"bytes": bytes}),
            );
        }
        "appends" => {
            let (_, batches) = read_ipc(arg(1)?)?;
            let loc = location(arg(2)?)?;
            let n: usize = arg(3)?.parse()?;
            Table::from_location(loc.clone())
                .write()
                .with_create_if_missing(true)
                .execute_batches(vec![batches[0].clone()])
                .await?;
            let start = Instant::now();
            for i in 0..n {
                let batch = batches[1 + i % (batches.len() - 1)].clone();
                Table::from_location(loc.clone())
                    .write()
                    .with_create_if_missing(true)
                    .execute_batches(vec![batch])
                    .await?;
            }
            let total = secs(start.elapsed());
            emit(
                "small_appends",
                total,
                json!({"n": n, "per_commit_ms": total * 1e3 / n as f64}),
            );
        }
        "open" => {
            let loc = location(arg(1)?)?;
            let start = Instant::now();
            let snapshot = Table::from_location(loc.clone())
                .snapshot(VersionSpec::Latest)
                .await?;
            let files = snapshot.num_files();
            emit(
                &format!("open_latest_{}", arg(2)?),
                secs(start.elapsed()),
                json!({"version": snapshot.version(), "files": files}),
            );
        }
        "open-version" => {
            let table = Table::from_location(location(arg(1)?)?);
            let v: u64 = arg(2)?.parse()?;
            let start = Instant::now();
            let snapshot = table.snapshot(VersionSpec::Version(v)).await?;
            let files = snapshot.num_files();
            emit(
                "open_version_5000",
                secs(start.elapsed()),
                json!({"version": snapshot.version(), "files": files}),
            );
        }
        "open-ts" => {
            let table = Table::from_location(location(arg(1)?)?);
            let ms: i64 = arg(2)?.parse()?;
            let instant = chrono_from_ms(ms)?;
            let start = Instant::now();
            let snapshot = table.snapshot(VersionSpec::Timestamp(instant)).await?;
            let files = snapshot.num_files();
            emit(
                "open_timestamp_mid",
                secs(start.elapsed()),
                json!({"version": snapshot.version(), "files": files}),
            );
        }
        "sql" => {
            let path = std::fs::canonicalize(arg(1)?)?;
            let ctx = TidemarkContext::new();
            ctx.register("t", &path.to_string_lossy()).await?;
            let ctx = &ctx;
            collect_sql(
                async |sql: &str| -> BenchResult<usize> {
                    let batches = ctx.sql(sql).await?.collect().await?;
                    Ok(batches.iter().map(RecordBatch::num_rows).sum())
                },
                "",
            )
            .await?;
        }
        "sql-floor" => {
            let path = std::fs::canonicalize(arg(1)?)?;
            let ctx = SessionContext::new();
            let url = format!("{}/", path.to_string_lossy());
            ctx.register_parquet("t", &url, ParquetReadOptions::default())
                .await?;
            let ctx = &ctx;
            collect_sql(
                async |sql: &str| -> BenchResult<usize> {
                    let batches = ctx.sql(sql).await?.collect().await?;
                    Ok(batches.iter().map(RecordBatch::num_rows).sum())
                },
                "_datafusion_floor",
            )
            .await?;
        }
        "mem" => {
            let loc = location(arg(1)?)?;
            let before = vm_hwm_kib();
            let snapshot = Table::from_location(loc.clone())
                .snapshot(VersionSpec::Latest)
                .await?;
            let after = vm_hwm_kib();
            println!(
                "{}",
                json!({"side": "tidemark", "workload": "peak_rss_open_300k", "kib": after,
                    "extra": {"baseline_kib": before, "files": snapshot.num_files()}})
            );
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}

fn chrono_from_ms(ms: i64) -> BenchResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| "timestamp out of range".into())
}

fn main() -> BenchResult<()> {
    // `cargo bench` passes `--bench`; ignore flags.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.is_empty() {
        eprintln!("versus: a mode is required (see benches/versus.rs); benches/run drives it");
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(run(&args))
}
