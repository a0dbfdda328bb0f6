//! Choosing the files a query reads: partition filters evaluated exactly on each file's
//! partition values, other filters checked against the log's per-file statistics (min, max,
//! null count) through DataFusion's pruning predicates.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::PhysicalExpr;
use tidemark_core::log::actions::Add;
use tidemark_core::log::stats::FileStats;
use tidemark_core::partition::partition_array;

use crate::error::external;

/// Strings this long in `maxValues` may have been truncated by their writer: not a bound.
const TRUNCATED_STRING_CHARS: usize = 32;

/// How the files of a scan were chosen, for `EXPLAIN`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruningCounts {
    /// Live files of the snapshot.
    pub total: usize,
    /// Files skipped because their partition values fail a filter.
    pub by_partition: usize,
    /// Files skipped because their statistics show no row can pass.
    pub by_statistics: usize,
}

/// The columns of a filter expression.
pub(crate) fn columns_of(expr: &Expr) -> HashSet<String> {
    expr.column_refs()
        .into_iter()
        .map(|c| c.name.clone())
        .collect()
}

/// Whether a filter uses partition columns only (and at least one).
pub(crate) fn is_partition_filter(expr: &Expr, partition_columns: &[String]) -> bool {
    let columns = columns_of(expr);
    !columns.is_empty() && columns.iter().all(|c| partition_columns.contains(c))
}

/// A file's value of a partition column (keyed by its physical name, or its logical name as
/// some writers do) as a scalar of the column's type; NULL when the file has none.
pub(crate) fn partition_scalar(add: &Add, field: &Field, physical: &str) -> Result<ScalarValue> {
    let value = add
        .partition_values
        .get(physical)
        .or_else(|| add.partition_values.get(field.name()))
        .cloned()
        .flatten();
    let array =
        partition_array(field.name(), value.as_deref(), field.data_type(), 1).map_err(external)?;
    ScalarValue::try_from_array(&array, 0)
}

/// The partition values of files as a record batch of the partition columns (one row per file).
pub(crate) fn partition_batch(
    files: &[&Add],
    partition_fields: &[(Field, String)],
) -> Result<RecordBatch> {
    let schema: SchemaRef = Arc::new(Schema::new(
        partition_fields
            .iter()
            .map(|(f, _)| f.clone())
            .collect::<Vec<_>>(),
    ));
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(partition_fields.len());
    for (field, physical) in partition_fields {
        let scalars = files
            .iter()
            .map(|add| partition_scalar(add, field, physical))
            .collect::<Result<Vec<_>>>()?;
        columns.push(if scalars.is_empty() {
            arrow::array::new_empty_array(field.data_type())
        } else {
            ScalarValue::iter_to_array(scalars)?
        });
    }
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(files.len()));
    Ok(RecordBatch::try_new_with_options(
        schema, columns, &options,
    )?)
}

/// Turns a logical expression into a physical one over a schema.
pub(crate) type PhysicalExprMaker<'a> =
    dyn Fn(&Expr, &DFSchema) -> Result<Arc<dyn PhysicalExpr>> + 'a;

/// Keeps the files whose partition values satisfy every partition filter (exactly: the filters
/// are evaluated on the values, with SQL semantics).
pub(crate) fn prune_by_partition<'a>(
    files: Vec<&'a Add>,
    filters: &[Expr],
    partition_fields: &[(Field, String)],
    create: &PhysicalExprMaker<'_>,
) -> Result<Vec<&'a Add>> {
    let Some(predicate) = conjunction(filters.iter().cloned()) else {
        return Ok(files);
    };
    if files.is_empty() {
        return Ok(files);
    }
    let batch = partition_batch(&files, partition_fields)?;
    let df_schema = DFSchema::try_from(batch.schema().as_ref().clone())?;
    let physical = create(&predicate, &df_schema)?;
    let result = physical.evaluate(&batch)?.into_array(batch.num_rows())?;
    let keep: &BooleanArray = result.as_boolean_opt().ok_or_else(|| {
        datafusion::error::DataFusionError::Internal("partition filter is not boolean".into())
    })?;
    Ok(files
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.is_valid(*i) && keep.value(*i))
        .map(|(_, f)| f)
        .collect())
}

/// Keeps the files whose statistics do not rule out every row for `predicate`.
pub(crate) fn prune_by_statistics<'a>(
    files: Vec<&'a Add>,
    predicate: &Arc<dyn PhysicalExpr>,
    table_schema: &SchemaRef,
    physical_names: &HashMap<String, String>,
    partition_fields: &[(Field, String)],
) -> Result<Vec<&'a Add>> {
    if files.is_empty() {
        return Ok(files);
    }
    // `None` when the predicate cannot prune anything (always true, or not understood).
    let Some(pruning) = PruningPredicateBuilder::new()
        .with_file_schema(table_schema.clone())
        .build(predicate.clone())
    else {
        return Ok(files);
    };
    let stats = FileStatistics::new(&files, table_schema, physical_names, partition_fields);
    let keep = pruning.prune(&stats)?;
    Ok(files
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(f, _)| f)
        .collect())
}

/// The statistics of a list of files, as DataFusion's pruning asks for them.
struct FileStatistics<'a> {
    files: &'a [&'a Add],
    stats: Vec<Option<FileStats>>,
    schema: &'a SchemaRef,
    physical_names: &'a HashMap<String, String>,
    partitions: HashMap<&'a str, &'a str>,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Side {
    Min,
    Max,
}

impl<'a> FileStatistics<'a> {
    fn new(
        files: &'a [&'a Add],
        schema: &'a SchemaRef,
        physical_names: &'a HashMap<String, String>,
        partition_fields: &'a [(Field, String)],
    ) -> Self {
        Self {
            files,
            stats: files
                .iter()
                .map(|f| FileStats::parse(f.stats.as_deref()))
                .collect(),
            schema,
            physical_names,
            partitions: partition_fields
                .iter()
                .map(|(f, physical)| (f.name().as_str(), physical.as_str()))
                .collect(),
        }
    }

    fn bounds(&self, column: &Column, side: Side) -> Option<ArrayRef> {
        let field = self.schema.field_with_name(&column.name).ok()?;
        if let Some(physical) = self.partitions.get(column.name.as_str()) {
            let scalars = self
                .files
                .iter()
                .map(|add| {
                    partition_scalar(add, field, physical)
                        .unwrap_or_else(|_| null_of(field.data_type()))
                })
                .collect::<Vec<_>>();
            return ScalarValue::iter_to_array(scalars).ok();
        }
        let physical = self
            .physical_names
            .get(&column.name)
            .unwrap_or(&column.name);
        let scalars = self
            .stats
            .iter()
            .map(|stats| {
                stats
                    .as_ref()
                    .and_then(|s| match side {
                        Side::Min => s.min_values.get(physical.as_str()),
                        Side::Max => s.max_values.get(physical.as_str()),
                    })
                    .and_then(|v| json_bound(v, field.data_type(), side))
                    .unwrap_or_else(|| null_of(field.data_type()))
            })
            .collect::<Vec<_>>();
        ScalarValue::iter_to_array(scalars).ok()
    }
}

fn null_of(data_type: &DataType) -> ScalarValue {
    ScalarValue::try_from(data_type).unwrap_or(ScalarValue::Null)
}

impl PruningStatistics for FileStatistics<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, Side::Min)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, Side::Max)
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        if let Some(physical) = self.partitions.get(column.name.as_str()) {
            let counts = self.files.iter().zip(&self.stats).map(|(add, stats)| {
                let rows = stats.as_ref().and_then(|s| s.num_records)?;
                let null = add
                    .partition_values
                    .get(*physical)
                    .is_none_or(|v| v.as_deref().is_none_or(str::is_empty));
                Some(if null { rows as u64 } else { 0 })
            });
            return Some(Arc::new(UInt64Array::from_iter(counts)));
        }
        let physical = self
            .physical_names
            .get(&column.name)
            .unwrap_or(&column.name);
        let counts = self.stats.iter().map(|stats| {
            stats
                .as_ref()
                .and_then(|s| s.null_count.get(physical.as_str()))
                .and_then(serde_json::Value::as_u64)
        });
        Some(Arc::new(UInt64Array::from_iter(counts)))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        let counts = self
            .stats
            .iter()
            .map(|stats| stats.as_ref().and_then(|s| s.num_records).map(|n| n as u64));
        Some(Arc::new(UInt64Array::from_iter(counts)))
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

/// A statistics value of the log as a bound of the column's type, widened where writers may
/// have truncated it. `None` when it cannot serve as a bound.
pub(crate) fn json_bound(
    value: &serde_json::Value,
    data_type: &DataType,
    side: Side,
) -> Option<ScalarValue> {
    use serde_json::Value;
    Some(match (data_type, value) {
        (DataType::Int8, Value::Number(n)) => {
            ScalarValue::Int8(Some(i8::try_from(n.as_i64()?).ok()?))
        }
        (DataType::Int16, Value::Number(n)) => {
            ScalarValue::Int16(Some(i16::try_from(n.as_i64()?).ok()?))
        }
        (DataType::Int32, Value::Number(n)) => {
            ScalarValue::Int32(Some(i32::try_from(n.as_i64()?).ok()?))
        }
        (DataType::Int64, Value::Number(n)) => ScalarValue::Int64(Some(n.as_i64()?)),
        (DataType::Float32, Value::Number(n)) => ScalarValue::Float32(Some(n.as_f64()? as f32)),
        (DataType::Float64, Value::Number(n)) => ScalarValue::Float64(Some(n.as_f64()?)),
        (DataType::Decimal128(precision, scale), Value::Number(n)) => {
            let scaled = n.as_f64()? * 10f64.powi(i32::from(*scale));
            // The JSON number may not be exact: round away from the inside of the range.
            let unscaled = match side {
                Side::Min => scaled.floor(),
                Side::Max => scaled.ceil(),
            };
            if !unscaled.is_finite() || unscaled.abs() >= 1e38 {
                return None;
            }
            ScalarValue::Decimal128(Some(unscaled as i128), *precision, *scale)
        }
        (DataType::Date32, Value::String(s)) => {
            let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
            ScalarValue::Date32(Some(i32::try_from((date - epoch).num_days()).ok()?))
        }
        (DataType::Timestamp(TimeUnit::Microsecond, tz), Value::String(s)) => {
            let micros = parse_timestamp_micros(s)?;
            // Writers keep milliseconds: the true maximum may be up to 999 µs later.
            let micros = match side {
                Side::Min => micros,
                Side::Max => micros.checked_add(999)?,
            };
            ScalarValue::TimestampMicrosecond(Some(micros), tz.clone())
        }
        (DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8, Value::String(s)) => {
            if side == Side::Max
                && s.chars().count() >= TRUNCATED_STRING_CHARS
                && !s.ends_with(char::MAX)
            {
                return None;
            }
            match data_type {
                DataType::Utf8View => ScalarValue::Utf8View(Some(s.clone())),
                DataType::LargeUtf8 => ScalarValue::LargeUtf8(Some(s.clone())),
                _ => ScalarValue::Utf8(Some(s.clone())),
            }
        }
        (DataType::Boolean, Value::Bool(b)) => ScalarValue::Boolean(Some(*b)),
        _ => return None,
    })
}

fn parse_timestamp_micros(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_widened_where_writers_truncate() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let max = json_bound(
            &serde_json::json!("1970-01-01T00:00:01.000Z"),
            &ts,
            Side::Max,
        )
        .unwrap();
        assert_eq!(
            max,
            ScalarValue::TimestampMicrosecond(Some(1_000_999), Some("UTC".into()))
        );
        let long = "x".repeat(32);
        assert!(json_bound(&serde_json::json!(long), &DataType::Utf8, Side::Max).is_none());
        assert!(json_bound(&serde_json::json!(long), &DataType::Utf8, Side::Min).is_some());
        assert!(json_bound(&serde_json::json!(long), &DataType::Utf8View, Side::Max).is_none());
        assert_eq!(
            json_bound(&serde_json::json!("abc"), &DataType::Utf8View, Side::Min),
            Some(ScalarValue::Utf8View(Some("abc".into())))
        );
        let d = json_bound(
            &serde_json::json!(1.25),
            &DataType::Decimal128(10, 1),
            Side::Min,
        )
        .unwrap();
        assert_eq!(d, ScalarValue::Decimal128(Some(12), 10, 1));
    }
}
