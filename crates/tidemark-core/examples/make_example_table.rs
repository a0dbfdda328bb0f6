//! Writes the small example table kept in the repository (`examples/sales`): three versions of
//! a partitioned sales table, built by hand from Parquet files and JSON commits, so that the
//! README's first command has an old version to read before Tidemark writes tables itself.
//!
//! Run: `cargo run -p tidemark-core --example make_example_table -- examples/sales`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args()
        .nth(1)
        .ok_or("usage: make_example_table DIR")?;
    let root = Path::new(&root);
    if root.exists() {
        return Err(format!("{} exists; remove it first", root.display()).into());
    }
    fs::create_dir_all(root.join("_delta_log"))?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "sold_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let base = 1_763_632_800_000_000i64; // 2025-11-20T10:00:00Z in microseconds
    let write = |version: u64,
                 region: &str,
                 ids: &[i64],
                 amounts: &[f64]|
     -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let dir = format!("region={region}");
        fs::create_dir_all(root.join(&dir))?;
        let name = format!("{dir}/part-v{version}-{region}.snappy.parquet");
        let times: Vec<i64> = ids.iter().map(|id| base + id * 3_600_000_000).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(Float64Array::from(amounts.to_vec())),
                Arc::new(TimestampMicrosecondArray::from(times.clone()).with_timezone("UTC")),
            ],
        )?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build();
        let file = fs::File::create(root.join(&name))?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        writer.write(&batch)?;
        writer.close()?;
        let size = fs::metadata(root.join(&name))?.len();
        let ts = |us: i64| {
            chrono::DateTime::<chrono::Utc>::from_timestamp_micros(us)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default()
        };
        let min_amount = amounts.iter().copied().fold(f64::INFINITY, f64::min);
        let max_amount = amounts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let stats = json!({
            "numRecords": ids.len(),
            "minValues": {"id": ids.iter().min(), "amount": min_amount, "sold_at": ts(*times.iter().min().unwrap_or(&0))},
            "maxValues": {"id": ids.iter().max(), "amount": max_amount, "sold_at": ts(*times.iter().max().unwrap_or(&0))},
            "nullCount": {"id": 0, "amount": 0, "sold_at": 0},
        });
        Ok(json!({"add": {
            "path": name,
            "partitionValues": {"region": region},
            "size": size,
            "modificationTime": 1_763_632_800_000i64 + version as i64 * 60_000,
            "dataChange": true,
            "stats": stats.to_string(),
        }}))
    };
    let delta_schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": false, "metadata": {}},
        {"name": "region", "type": "string", "nullable": true, "metadata": {}},
        {"name": "amount", "type": "double", "nullable": true, "metadata": {}},
        {"name": "sold_at", "type": "timestamp", "nullable": true, "metadata": {}},
    ]});
    let commit_info = |version: u64, operation: &str| {
        json!({"commitInfo": {
            "timestamp": 1_763_632_800_000i64 + version as i64 * 60_000,
            "inCommitTimestamp": 1_763_632_800_000i64 + version as i64 * 60_000,
            "operation": operation,
            "engineInfo": "tidemark-example-generator",
        }})
    };
    let v0 = vec![
        commit_info(0, "CREATE TABLE AS SELECT"),
        json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 7, "writerFeatures": ["inCommitTimestamp"]}}),
        json!({"metaData": {
            "id": "6f1d1c1e-0d6b-4a8e-9a56-5b2a3e7c9d10",
            "name": "sales",
            "description": "Example sales table of the Tidemark README",
            "format": {"provider": "parquet", "options": {}},
            "schemaString": delta_schema.to_string(),
            "partitionColumns": ["region"],
            "configuration": {"delta.enableInCommitTimestamps": "true"},
            "createdTime": 1_763_632_800_000i64,
        }}),
        write(0, "EU", &[1, 2, 3], &[10.5, 20.0, 7.25])?,
        write(0, "US", &[4, 5], &[99.0, 1.5])?,
    ];
    let v1 = vec![
        commit_info(1, "WRITE"),
        write(1, "EU", &[6, 7], &[3.0, 4.0])?,
    ];
    let v0_us = "region=US/part-v0-US.snappy.parquet";
    let v2 = vec![
        commit_info(2, "WRITE"),
        json!({"remove": {"path": v0_us, "deletionTimestamp": 1_763_632_920_000i64, "dataChange": true, "partitionValues": {"region": "US"}}}),
        write(2, "US", &[8], &[42.0])?,
    ];
    for (version, actions) in [v0, v1, v2].into_iter().enumerate() {
        let lines: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        fs::write(
            root.join(format!("_delta_log/{version:020}.json")),
            lines.join("\n") + "\n",
        )?;
    }
    println!("wrote versions 0..=2 of {}", root.display());
    Ok(())
}
