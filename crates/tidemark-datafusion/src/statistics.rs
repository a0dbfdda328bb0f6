//! Statistics for DataFusion's optimizer, from the log alone: row counts, byte sizes, and each
//! column's bounds and null count, summed or combined over the files a scan reads.

use std::collections::HashMap;

use arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use tidemark_core::log::actions::Add;
use tidemark_core::log::stats::FileStats;

use crate::pruning::{Side, json_bound, partition_scalar};

/// Statistics of `files`, under the table's (logical) `schema`.
///
/// Row counts are exact when every file has a record count; bounds are always inexact (writers
/// may widen them); null counts are exact when no file has a deletion vector.
pub(crate) fn files_statistics(
    files: &[&Add],
    schema: &SchemaRef,
    physical_names: &HashMap<String, String>,
    partition_columns: &[String],
) -> Statistics {
    let parsed: Vec<Option<FileStats>> = files
        .iter()
        .map(|f| FileStats::parse(f.stats.as_deref()))
        .collect();
    let has_dv = files.iter().any(|f| f.deletion_vector.is_some());
    let rows: Option<i64> = files
        .iter()
        .zip(&parsed)
        .map(|(f, s)| {
            let records = s.as_ref()?.num_records?;
            Some(records - f.deletion_vector.as_ref().map_or(0, |d| d.cardinality))
        })
        .sum();
    let mut statistics = Statistics::new_unknown(schema);
    statistics.num_rows = match rows {
        Some(rows) => Precision::Exact(usize::try_from(rows).unwrap_or(0)),
        None => Precision::Absent,
    };
    statistics.total_byte_size = Precision::Inexact(
        files
            .iter()
            .map(|f| usize::try_from(f.size).unwrap_or(0))
            .sum(),
    );
    statistics.column_statistics = schema
        .fields()
        .iter()
        .map(|field| {
            let physical = physical_names.get(field.name()).unwrap_or(field.name());
            let is_partition = partition_columns.contains(field.name());
            let mut column = ColumnStatistics::new_unknown();
            let mut min: Option<ScalarValue> = None;
            let mut max: Option<ScalarValue> = None;
            let mut nulls: Option<usize> = Some(0);
            let mut complete = true;
            for (add, stats) in files.iter().zip(&parsed) {
                let (lo, hi, null_count) = if is_partition {
                    let scalar = partition_scalar(add, field, physical).ok();
                    let records = stats.as_ref().and_then(|s| s.num_records);
                    match scalar {
                        Some(s) if !s.is_null() => (Some(s.clone()), Some(s), Some(0)),
                        _ => (None, None, records.and_then(|r| usize::try_from(r).ok())),
                    }
                } else {
                    let Some(stats) = stats else {
                        complete = false;
                        nulls = None;
                        continue;
                    };
                    (
                        stats
                            .min_values
                            .get(physical.as_str())
                            .and_then(|v| json_bound(v, field.data_type(), Side::Min)),
                        stats
                            .max_values
                            .get(physical.as_str())
                            .and_then(|v| json_bound(v, field.data_type(), Side::Max)),
                        stats
                            .null_count
                            .get(physical.as_str())
                            .and_then(serde_json::Value::as_u64)
                            .and_then(|n| usize::try_from(n).ok()),
                    )
                };
                nulls = nulls.zip(null_count).map(|(a, b)| a + b);
                let all_null = null_count.is_some()
                    && null_count
                        == stats
                            .as_ref()
                            .and_then(|s| s.num_records)
                            .and_then(|r| usize::try_from(r).ok());
                match (lo, hi) {
                    (Some(lo), Some(hi)) => {
                        if min
                            .as_ref()
                            .is_none_or(|m| lo.partial_cmp(m).is_some_and(|o| o.is_lt()))
                        {
                            min = Some(lo);
                        }
                        if max
                            .as_ref()
                            .is_none_or(|m| hi.partial_cmp(m).is_some_and(|o| o.is_gt()))
                        {
                            max = Some(hi);
                        }
                    }
                    // A file of nulls only has no bounds and needs none.
                    _ if all_null => {}
                    _ => complete = false,
                }
            }
            if complete {
                column.min_value = min.map_or(Precision::Absent, Precision::Inexact);
                column.max_value = max.map_or(Precision::Absent, Precision::Inexact);
            }
            column.null_count = match nulls {
                Some(n) if !has_dv => Precision::Exact(n),
                Some(n) => Precision::Inexact(n),
                None => Precision::Absent,
            };
            column
        })
        .collect();
    statistics
}
