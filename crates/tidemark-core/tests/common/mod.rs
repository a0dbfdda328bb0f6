//! Shared helpers of the integration tests: scanning and row comparison. The tables they
//! read come from `tidemark_testdata` (the repository's `tests/data`).
#![allow(dead_code)]

use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::TryStreamExt;
use tidemark_core::ScanBuilder;
use tidemark_core::Snapshot;

/// All rows of a snapshot.
pub async fn scan_all(snapshot: Snapshot) -> Vec<RecordBatch> {
    let scan = ScanBuilder::new(snapshot).build().unwrap();
    scan.execute().try_collect().await.unwrap()
}

/// Rows as sorted canonical strings over the given column names (sorted by name), so that
/// results can be compared as unordered multisets of values, whatever the exact Arrow types.
pub fn canonical_rows(batches: &[RecordBatch], columns: &[String]) -> Vec<String> {
    let mut rows = Vec::new();
    let options = FormatOptions::default().with_null("NULL");
    for batch in batches {
        let mut formatted = Vec::new();
        for name in columns {
            let column = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("column {name} missing"));
            let column = normalise(column.as_ref());
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options).unwrap();
            formatted.push(
                (0..batch.num_rows())
                    .map(|i| formatter.value(i).to_string())
                    .collect::<Vec<_>>(),
            );
        }
        for row in 0..batch.num_rows() {
            rows.push(
                formatted
                    .iter()
                    .map(|c| c[row].as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
    }
    rows.sort();
    rows
}

fn normalise(array: &dyn Array) -> arrow::array::ArrayRef {
    match array.data_type() {
        DataType::Timestamp(_, tz) => {
            let target =
                DataType::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "+00:00".into()));
            arrow::compute::cast(&arrow::array::make_array(array.to_data()), &target).unwrap()
        }
        _ => arrow::array::make_array(array.to_data()),
    }
}

/// Sorted column names of a batch list's schema.
pub fn column_names(batches: &[RecordBatch]) -> Vec<String> {
    let mut names: Vec<String> = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Reads a Parquet file fully (synchronously; for expected answers).
pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// Total rows.
pub fn num_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}
