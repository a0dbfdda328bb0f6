//! Criterion micro-benchmarks of the hot paths of opening and pruning a table (issue 7):
//!
//! - `replay/commit`: parsing one commit of 10,000 `add` actions and applying it to the state;
//! - `checkpoint/read`: reading a Parquet checkpoint of 10,000 files;
//! - `open/latest`: loading the latest snapshot of a table (a checkpoint and 20 commits);
//! - `stats/parse`: parsing the statistics of 10,000 files;
//! - `pruning/partitions`: evaluating a partition predicate against 10,000 files.
//!
//! Each builds its own small inputs in a temporary directory. Run with
//! `cargo bench -p tidemark --bench micro` (add a filter, e.g. `-- replay`, to run one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use object_store::ObjectStoreExt;
use tidemark::core::checkpoint::write_checkpoint;
use tidemark::core::log::actions::{Action, for_each_action};
use tidemark::core::log::stats::FileStats;
use tidemark::core::schema::{ColumnMappingMode, PrimitiveType, StructField, StructType};
use tidemark::core::testing::{
    PartitionPredicate, ReplayState, commit_file_name, read_checkpoint_parquet,
};
use tidemark::core::{Table, TableLocation, VersionSpec};

/// Files in the generated commits and checkpoint.
const FILES: usize = 10_000;

const SCHEMA: &str = r#"{\"type\":\"struct\",\"fields\":[{\"name\":\"region\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"value\",\"type\":\"double\",\"nullable\":true,\"metadata\":{}}]}"#;

fn stats_json(i: usize) -> String {
    format!(
        r#"{{"numRecords":{},"minValues":{{"id":{},"value":0.5}},"maxValues":{{"id":{},"value":99.5}},"nullCount":{{"id":0,"value":{}}}}}"#,
        1000 + i % 17,
        i * 1000,
        i * 1000 + 999,
        i % 3
    )
}

fn add_line(i: usize) -> String {
    let region = ["EU", "US", "APAC"][i % 3];
    let stats = serde_json::to_string(&stats_json(i)).unwrap_or_default();
    format!(
        r#"{{"add":{{"path":"region={region}/part-{i:05}-4f5c1a2b.snappy.parquet","partitionValues":{{"region":"{region}"}},"size":{},"modificationTime":1735689600000,"dataChange":true,"stats":{stats}}}}}"#,
        100_000 + i
    )
}

/// Commit 0 of the generated table: protocol, metadata and `files` adds.
fn first_commit(files: usize) -> String {
    let mut text = format!(
        r#"{{"commitInfo":{{"timestamp":1735689600000,"operation":"WRITE"}}}}
{{"protocol":{{"minReaderVersion":1,"minWriterVersion":2}}}}
{{"metaData":{{"id":"bench","format":{{"provider":"parquet","options":{{}}}},"schemaString":"{SCHEMA}","partitionColumns":["region"],"configuration":{{}}}}}}
"#
    );
    for i in 0..files {
        text.push_str(&add_line(i));
        text.push('\n');
    }
    text
}

/// A table in a temporary directory: commit 0 with `FILES` files and a checkpoint of it, then
/// 20 commits of one file each.
fn build_table(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, TableLocation) {
    let dir = tempfile::tempdir().expect("temp dir");
    let location =
        TableLocation::parse(dir.path().to_str().expect("utf-8 path")).expect("location");
    rt.block_on(async {
        let log = location.log_root();
        let put = |version: u64, text: String| {
            let path = log.clone().join(commit_file_name(version).as_str());
            let store = location.store().clone();
            async move { store.put(&path, text.into_bytes().into()).await }
        };
        put(0, first_commit(FILES)).await.expect("commit 0");
        let snapshot = Table::from_location(location.clone())
            .snapshot(VersionSpec::Version(0))
            .await
            .expect("version 0");
        write_checkpoint(&snapshot).await.expect("checkpoint");
        for version in 1..=20u64 {
            let line = add_line(FILES + version as usize);
            put(version, format!("{line}\n")).await.expect("commit");
        }
    });
    (dir, location)
}

fn replay(c: &mut Criterion) {
    let commit = first_commit(FILES);
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Bytes(commit.len() as u64));
    group.bench_function("commit", |b| {
        b.iter(|| {
            let mut state = ReplayState::default();
            for_each_action(black_box(commit.as_bytes()), "0.json", |action| {
                state.apply_action(action);
                Ok(())
            })
            .expect("valid commit");
            black_box(state.files.len())
        })
    });
    group.finish();
}

fn checkpoint_and_open(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_dir, location) = build_table(&rt);
    let checkpoint = location
        .log_root()
        .join(format!("{:020}.checkpoint.parquet", 0).as_str());
    let mut group = c.benchmark_group("checkpoint");
    group.throughput(Throughput::Elements(FILES as u64));
    group.bench_function("read", |b| {
        b.iter(|| {
            let actions = rt
                .block_on(read_checkpoint_parquet(&location, &checkpoint, None))
                .expect("checkpoint");
            black_box(actions.len())
        })
    });
    group.finish();
    c.bench_function("open/latest", |b| {
        b.iter(|| {
            let snapshot = rt
                .block_on(Table::from_location(location.clone()).snapshot(VersionSpec::Latest))
                .expect("snapshot");
            black_box(snapshot.num_files())
        })
    });
}

fn stats(c: &mut Criterion) {
    let texts: Vec<String> = (0..FILES).map(stats_json).collect();
    let mut group = c.benchmark_group("stats");
    group.throughput(Throughput::Elements(FILES as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            texts
                .iter()
                .filter_map(|t| FileStats::parse(Some(black_box(t))))
                .filter_map(|s| s.num_records)
                .sum::<i64>()
        })
    });
    group.finish();
}

fn pruning(c: &mut Criterion) {
    let schema = StructType::new(vec![
        StructField::new("region", PrimitiveType::String, true),
        StructField::new("day", PrimitiveType::Date, true),
        StructField::new("id", PrimitiveType::Long, true),
    ]);
    let partitions = vec!["region".to_string(), "day".to_string()];
    let predicate = PartitionPredicate::parse(
        "region = 'EU' AND day >= '2025-01-15'",
        &schema,
        &partitions,
        ColumnMappingMode::None,
    )
    .expect("predicate");
    let mut state = ReplayState::default();
    for i in 0..FILES {
        let region = ["EU", "US", "APAC"][i % 3];
        let line = format!(
            r#"{{"add":{{"path":"f{i}","partitionValues":{{"region":"{region}","day":"2025-01-{:02}"}},"size":1,"modificationTime":0,"dataChange":true}}}}"#,
            1 + i % 28
        );
        for_each_action(line.as_bytes(), "t", |action| {
            if let Action::Add(_) = action {
                state.apply_action(action);
            }
            Ok(())
        })
        .expect("valid add");
    }
    let mut group = c.benchmark_group("pruning");
    group.throughput(Throughput::Elements(FILES as u64));
    group.bench_function("partitions", |b| {
        b.iter(|| {
            state
                .files
                .values()
                .filter(|add| predicate.matches(&add.partition_values).unwrap_or(true))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, replay, checkpoint_and_open, stats, pruning);
criterion_main!(benches);
