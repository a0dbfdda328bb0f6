//! Unit tests of the parent module.

use std::path::Path;

use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{Field, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::*;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", ArrowType::Int64, false),
        Field::new("value", ArrowType::Float64, true),
        Field::new("cat", ArrowType::Utf8, true),
        Field::new("name", ArrowType::Utf8, true),
        Field::new(
            "ts",
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

fn batch(start: i64, rows: i64) -> RecordBatch {
    let ids: Vec<i64> = (start..start + rows).collect();
    let value = |i: i64| match i % 97 {
        0 => None,
        // NaN in some files only.
        1 if i > 20_000 => Some(f64::NAN),
        _ => Some((i * 7919 % 1000) as f64 - 500.0),
    };
    let name = |i: i64| match i % 13 {
        0 => None,
        1 => Some(format!("{}{i}", "long-".repeat(10))),
        _ => Some(format!("n{:x}", i * 31 % 4099)),
    };
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from(
                ids.iter().map(|&i| value(i)).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                ids.iter()
                    .map(|i| format!("c{}", i % 3))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                ids.iter().map(|&i| name(i)).collect::<Vec<_>>(),
            )),
            Arc::new(
                TimestampMicrosecondArray::from(
                    ids.iter()
                        .map(|i| 1_700_000_000_000_000 + i * 1_001)
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap()
}

struct Written {
    add: Add,
    rows: RecordBatch,
    row_groups: Vec<i64>,
}

async fn write(
    dir: &Path,
    max_encoding: usize,
    partition: &[&str],
    options: FileOptions,
) -> Vec<Written> {
    let location = TableLocation::parse(dir.to_str().unwrap()).unwrap();
    let table = StructType::from_arrow(&schema()).unwrap();
    let partition: Vec<String> = partition.iter().map(|p| p.to_string()).collect();
    let mut writer = DataWriter::new(
        location,
        &table,
        &partition,
        ColumnMappingMode::None,
        None,
        options,
    )
    .unwrap();
    writer.max_encoding = max_encoding;
    for start in (0..40_000).step_by(1_000) {
        writer.write(&batch(start, 1_000)).await.unwrap();
    }
    let adds = writer.finish().await.unwrap();
    adds.into_iter()
        .map(|add| {
            let path = dir.join(add.path.replace("%20", " "));
            let file = std::fs::File::open(&path).unwrap();
            assert_eq!(file.metadata().unwrap().len() as i64, add.size);
            let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            let row_groups = reader
                .metadata()
                .row_groups()
                .iter()
                .map(|g| g.num_rows())
                .collect();
            let file_schema = reader.schema().clone();
            let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            let rows = arrow::compute::concat_batches(&file_schema, &batches).unwrap();
            Written {
                add,
                rows,
                row_groups,
            }
        })
        .collect()
}

fn stats(add: &Add) -> Value {
    serde_json::from_str(add.stats.as_deref().unwrap()).unwrap()
}

fn computed_stats(rows: &RecordBatch) -> Value {
    let mut collector = StatsCollector::new(&rows.schema(), None);
    collector.update(rows).unwrap();
    serde_json::from_str(&collector.to_json().unwrap()).unwrap()
}

async fn parallel_matches_serial(partition: &[&str], options: FileOptions) {
    let serial_dir = tempfile::tempdir().unwrap();
    let parallel_dir = tempfile::tempdir().unwrap();
    let serial = write(serial_dir.path(), 1, partition, options).await;
    let parallel = write(parallel_dir.path(), 4, partition, options).await;
    assert!(serial.len() > 1, "several files: {}", serial.len());
    assert_eq!(serial.len(), parallel.len());
    let mut ids: Vec<i64> = Vec::new();
    for (s, p) in serial.iter().zip(&parallel) {
        assert_eq!(s.add.partition_values, p.add.partition_values);
        assert_eq!(s.add.size, p.add.size);
        assert_eq!(s.row_groups, p.row_groups);
        assert_eq!(s.rows, p.rows);
        assert_eq!(stats(&s.add), stats(&p.add));
        // The statistics are those of the rows in the file.
        assert_eq!(stats(&p.add), computed_stats(&p.rows));
        assert!(
            p.row_groups
                .iter()
                .all(|&n| n <= options.row_group_rows as i64),
            "{:?}",
            p.row_groups
        );
        let column = p.rows.column_by_name("id").unwrap();
        ids.extend(
            column
                .as_primitive::<arrow::datatypes::Int64Type>()
                .values(),
        );
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..40_000).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_encoding_writes_the_files_of_serial_encoding() {
    let options = FileOptions {
        target_file_size: 150_000,
        row_group_rows: 2_500,
        compression: FileCompression::Snappy,
    };
    parallel_matches_serial(&[], options).await;
    // Files are cut by size, and row groups by rows across batches.
    let dir = tempfile::tempdir().unwrap();
    let files = write(dir.path(), 3, &[], options).await;
    let ids: Vec<i64> = files
        .iter()
        .flat_map(|f| {
            let ids = f.rows.column_by_name("id").unwrap();
            ids.as_primitive::<arrow::datatypes::Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(
        ids,
        (0..40_000).collect::<Vec<_>>(),
        "rows keep their order"
    );
    for f in &files {
        let (last, full) = f.row_groups.split_last().unwrap();
        assert!(full.iter().all(|&n| n == 2_500), "{:?}", f.row_groups);
        assert!(*last <= 2_500);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_encoding_of_partitions_writes_the_files_of_serial_encoding() {
    let options = FileOptions {
        target_file_size: 100_000,
        row_group_rows: 1_500,
        compression: FileCompression::Zstd(1),
    };
    parallel_matches_serial(&["cat"], options).await;
}

#[tokio::test]
async fn a_small_target_closes_a_file_after_each_batch() {
    let dir = tempfile::tempdir().unwrap();
    let options = FileOptions {
        target_file_size: 1,
        row_group_rows: 400,
        compression: FileCompression::Uncompressed,
    };
    let files = write(dir.path(), 2, &[], options).await;
    assert_eq!(files.len(), 40);
    for f in &files {
        assert_eq!(f.row_groups, vec![400, 400, 200]);
        assert_eq!(stats(&f.add), computed_stats(&f.rows));
    }
}
