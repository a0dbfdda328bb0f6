//! Collecting per-file statistics while writing: `numRecords`, and `minValues`, `maxValues`
//! and `nullCount` for the first N leaf columns (`delta.dataSkippingNumIndexedCols`, 32 by
//! default), nested struct fields included, keyed by physical column names.
//!
//! Bounds are always safe for data skipping: strings longer than [`STRING_PREFIX_CHARS`]
//! characters keep a prefix as the minimum and the prefix followed by the highest code point
//! as the maximum; timestamps are written with millisecond precision, the minimum rounded down
//! and the maximum rounded up; a float column holding NaN, or a decimal too precise for a JSON
//! number, gets no bounds in that file. Booleans, binaries, arrays and maps get null counts only.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StructArray, make_array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType as ArrowType, Date32Type, Decimal128Type, Fields, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, UInt8Type, UInt16Type,
    UInt32Type,
};
use parquet::file::statistics::Statistics;
use parquet::schema::types::SchemaDescriptor;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How many leaf columns get statistics when the table does not say.
pub const DEFAULT_NUM_INDEXED_COLS: usize = 32;

/// Strings keep at most this many characters in `minValues` and `maxValues`.
pub const STRING_PREFIX_CHARS: usize = 32;

/// Decimals with more significant digits than this get no bounds (a JSON number is read as a
/// 64-bit float by most readers, exact only up to 15 digits).
const MAX_EXACT_DECIMAL_DIGITS: u8 = 15;

/// How many leaf columns to collect statistics for, from the table properties.
///
/// `delta.dataSkippingNumIndexedCols`: a number, or `-1` for all columns.
///
/// ```
/// use std::collections::HashMap;
/// use tidemark_core::stats_collector::num_indexed_cols;
/// assert_eq!(num_indexed_cols(&HashMap::new()), Some(32));
/// let all = HashMap::from([("delta.dataSkippingNumIndexedCols".to_string(), "-1".to_string())]);
/// assert_eq!(num_indexed_cols(&all), None);
/// ```
pub fn num_indexed_cols(config: &std::collections::HashMap<String, String>) -> Option<usize> {
    match config
        .get("delta.dataSkippingNumIndexedCols")
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(n) if n < 0 => None,
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => Some(DEFAULT_NUM_INDEXED_COLS),
    }
}

/// One typed bound of a column.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Bound {
    Int(i64),
    Float(f64),
    /// Days since the epoch.
    Date(i32),
    /// Microseconds since the epoch.
    Timestamp(i64),
    /// Unscaled value.
    Decimal(i128),
    Text(String),
}

/// What statistics a leaf column gets.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LeafKind {
    Int,
    Float,
    Date,
    Timestamp {
        utc: bool,
    },
    Decimal {
        precision: u8,
        scale: i8,
    },
    Text,
    /// Null count only.
    NullsOnly,
}

#[derive(Debug, Clone)]
struct Leaf {
    /// Physical names from the top-level column down.
    path: Vec<String>,
    /// Child indices from the batch's column down.
    indices: Vec<usize>,
    kind: LeafKind,
    min: Option<Bound>,
    max: Option<Bound>,
    nulls: i64,
    /// Bounds were given up for this file (NaN seen).
    no_bounds: bool,
    /// Index of the leaf's Parquet column, once linked with [`StatsCollector::link_parquet`].
    column: Option<usize>,
}

impl Leaf {
    /// Folds the bounds of some of the file's rows into the leaf's.
    fn fold(&mut self, bounds: BatchBounds) {
        match bounds {
            BatchBounds::Values(min, max) => {
                if self.no_bounds {
                    return;
                }
                if self.min.as_ref().is_none_or(|m| min < *m) {
                    self.min = Some(min);
                }
                if self.max.as_ref().is_none_or(|m| max > *m) {
                    self.max = Some(max);
                }
            }
            BatchBounds::AllNull => {}
            BatchBounds::GiveUp => {
                self.no_bounds = true;
                self.min = None;
                self.max = None;
            }
        }
    }
}

/// Accumulates the statistics of one data file over the batches written to it.
///
/// The batches must have the physical schema the collector was created for.
///
/// ```
/// use std::sync::Arc;
/// use arrow::array::{Int64Array, RecordBatch, StringArray};
/// use arrow::datatypes::{DataType, Field, Schema};
/// use tidemark_core::stats_collector::StatsCollector;
///
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("id", DataType::Int64, false),
///     Field::new("name", DataType::Utf8, true),
/// ]));
/// let batch = RecordBatch::try_new(schema.clone(), vec![
///     Arc::new(Int64Array::from(vec![3, 1, 2])),
///     Arc::new(StringArray::from(vec![Some("b"), None, Some("a")])),
/// ]).unwrap();
/// let mut stats = StatsCollector::new(&schema, Some(32));
/// stats.update(&batch).unwrap();
/// let json: serde_json::Value = serde_json::from_str(&stats.to_json().unwrap()).unwrap();
/// assert_eq!(json["numRecords"], 3);
/// assert_eq!(json["minValues"]["id"], 1);
/// assert_eq!(json["maxValues"]["name"], "b");
/// assert_eq!(json["nullCount"]["name"], 1);
/// ```
#[derive(Debug, Clone)]
pub struct StatsCollector {
    num_records: i64,
    leaves: Vec<Leaf>,
}

impl StatsCollector {
    /// A collector for batches of `schema`, with statistics for the first `max_leaves` leaf
    /// columns in schema order (all of them when `None`).
    pub fn new(schema: &arrow::datatypes::Schema, max_leaves: Option<usize>) -> Self {
        let mut leaves = Vec::new();
        collect_leaves(
            schema.fields(),
            &mut Vec::new(),
            &mut Vec::new(),
            &mut leaves,
        );
        if let Some(max) = max_leaves {
            leaves.truncate(max);
        }
        Self {
            num_records: 0,
            leaves,
        }
    }

    /// Number of rows seen so far.
    pub fn num_records(&self) -> i64 {
        self.num_records
    }

    /// Folds one batch into the statistics.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        self.num_records += batch.num_rows() as i64;
        for leaf in &mut self.leaves {
            let array = leaf_array(batch, &leaf.indices)?;
            leaf.nulls += array.null_count() as i64;
            if leaf.no_bounds || leaf.kind == LeafKind::NullsOnly {
                continue;
            }
            leaf.fold(batch_bounds(&array, leaf.kind)?);
        }
        Ok(())
    }

    /// Links the leaves to the columns of the Parquet schema the batches are written with
    /// (the schema the parquet crate derives from the collector's Arrow schema), so that
    /// [`Self::update_row_group`] can take bounds from the column chunk statistics.
    pub fn link_parquet(&mut self, schema: &SchemaDescriptor) {
        for leaf in &mut self.leaves {
            leaf.column = schema.columns().iter().position(|column| {
                let parts = column.path().parts();
                parts.len() == leaf.path.len() && parts.iter().zip(&leaf.path).all(|(a, b)| a == b)
            });
        }
    }

    /// Folds in the rows of one Parquet row group: `batches` are its rows, `chunks` the
    /// statistics of its column chunks as the parquet crate wrote them, one per Parquet leaf
    /// column in schema order.
    ///
    /// The result is the same as [`Self::update`] over the batches, but cheaper: record and
    /// null counts come from the arrays (constant time), and bounds from the chunk statistics
    /// wherever those are present and exact for a linked leaf (see [`Self::link_parquet`]).
    /// Bounds are computed from the data when they are not (no statistics, a truncated string,
    /// an unlinked leaf). A float column is still scanned for NaN, which Parquet statistics
    /// skip but which drops the column's bounds here.
    pub fn update_row_group(
        &mut self,
        batches: &[RecordBatch],
        chunks: &[Option<&Statistics>],
    ) -> Result<()> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        self.num_records += rows as i64;
        for leaf in &mut self.leaves {
            let parts = batches
                .iter()
                .map(|batch| leaf_parts(batch, &leaf.indices))
                .collect::<Result<Vec<_>>>()?;
            let nulls: usize = parts.iter().map(LeafParts::null_count).sum();
            leaf.nulls += nulls as i64;
            if leaf.no_bounds || leaf.kind == LeafKind::NullsOnly || nulls == rows {
                continue;
            }
            if leaf.kind == LeafKind::Float && parts.iter().any(LeafParts::has_nan) {
                leaf.fold(BatchBounds::GiveUp);
                continue;
            }
            let from_chunk = match (leaf.column, parts.first()) {
                (Some(column), Some(first)) => chunks
                    .get(column)
                    .copied()
                    .flatten()
                    .and_then(|stats| chunk_bounds(stats, leaf.kind, first.array.data_type())),
                _ => None,
            };
            match from_chunk {
                Some((min, max)) => leaf.fold(BatchBounds::Values(min, max)),
                None => {
                    for part in parts {
                        leaf.fold(batch_bounds(&part.into_array()?, leaf.kind)?);
                    }
                }
            }
        }
        Ok(())
    }

    /// Folds in the statistics another collector of the same schema gathered over other rows
    /// of the same file.
    pub fn merge(&mut self, other: &StatsCollector) -> Result<()> {
        if self.leaves.len() != other.leaves.len() {
            return Err(Error::InvalidArgument(
                "internal: merging file statistics of different schemas".into(),
            ));
        }
        self.num_records += other.num_records;
        for (leaf, theirs) in self.leaves.iter_mut().zip(&other.leaves) {
            leaf.nulls += theirs.nulls;
            if theirs.no_bounds {
                leaf.fold(BatchBounds::GiveUp);
            } else if let (Some(min), Some(max)) = (&theirs.min, &theirs.max) {
                leaf.fold(BatchBounds::Values(min.clone(), max.clone()));
            }
        }
        Ok(())
    }

    /// The statistics as the JSON string of `add.stats`.
    pub fn to_json(&self) -> Result<String> {
        let mut min_values = Map::new();
        let mut max_values = Map::new();
        let mut null_count = Map::new();
        for leaf in &self.leaves {
            insert_at(&mut null_count, &leaf.path, Value::from(leaf.nulls));
            if let (Some(min), Some(max)) = (&leaf.min, &leaf.max) {
                if let Some(min) = bound_json(min, leaf.kind, Side::Min) {
                    insert_at(&mut min_values, &leaf.path, min);
                }
                if let Some(max) = bound_json(max, leaf.kind, Side::Max) {
                    insert_at(&mut max_values, &leaf.path, max);
                }
            }
        }
        let mut stats = Map::new();
        stats.insert("numRecords".into(), Value::from(self.num_records));
        stats.insert("minValues".into(), Value::Object(min_values));
        stats.insert("maxValues".into(), Value::Object(max_values));
        stats.insert("nullCount".into(), Value::Object(null_count));
        serde_json::to_string(&Value::Object(stats))
            .map_err(|e| Error::InvalidArgument(format!("cannot serialize file statistics: {e}")))
    }
}

fn collect_leaves(
    fields: &Fields,
    path: &mut Vec<String>,
    indices: &mut Vec<usize>,
    out: &mut Vec<Leaf>,
) {
    for (i, field) in fields.iter().enumerate() {
        path.push(field.name().clone());
        indices.push(i);
        match field.data_type() {
            ArrowType::Struct(children) => collect_leaves(children, path, indices, out),
            other => out.push(Leaf {
                path: path.clone(),
                indices: indices.clone(),
                kind: leaf_kind(other),
                min: None,
                max: None,
                nulls: 0,
                no_bounds: false,
                column: None,
            }),
        }
        path.pop();
        indices.pop();
    }
}

fn leaf_kind(data_type: &ArrowType) -> LeafKind {
    use ArrowType as T;
    match data_type {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 => {
            LeafKind::Int
        }
        T::Float32 | T::Float64 => LeafKind::Float,
        T::Date32 => LeafKind::Date,
        T::Timestamp(TimeUnit::Microsecond, tz) => LeafKind::Timestamp { utc: tz.is_some() },
        T::Decimal128(precision, scale) if *precision <= MAX_EXACT_DECIMAL_DIGITS => {
            LeafKind::Decimal {
                precision: *precision,
                scale: *scale,
            }
        }
        T::Utf8 | T::LargeUtf8 | T::Utf8View => LeafKind::Text,
        _ => LeafKind::NullsOnly,
    }
}

/// The leaf array, with the nulls of its enclosing structs folded into its own.
fn leaf_array(batch: &RecordBatch, indices: &[usize]) -> Result<ArrayRef> {
    leaf_parts(batch, indices)?.into_array()
}

/// A leaf array as stored, with the nulls of its enclosing structs folded into its own when
/// it has any (`None`: the array's own nulls are the leaf's).
struct LeafParts {
    array: ArrayRef,
    nulls: Option<NullBuffer>,
}

impl LeafParts {
    fn null_count(&self) -> usize {
        match &self.nulls {
            Some(nulls) => nulls.null_count(),
            None => self.array.null_count(),
        }
    }

    fn logical_nulls(&self) -> Option<&NullBuffer> {
        match &self.nulls {
            Some(nulls) => Some(nulls),
            None => self.array.nulls(),
        }
    }

    /// Whether a non-null value is NaN (float arrays only).
    fn has_nan(&self) -> bool {
        let nulls = self.logical_nulls();
        match self.array.data_type() {
            ArrowType::Float32 => any_nan(
                self.array.as_primitive::<Float32Type>().values(),
                nulls,
                f32::is_nan,
            ),
            ArrowType::Float64 => any_nan(
                self.array.as_primitive::<Float64Type>().values(),
                nulls,
                f64::is_nan,
            ),
            _ => false,
        }
    }

    /// The leaf array with its combined nulls.
    fn into_array(self) -> Result<ArrayRef> {
        let Some(nulls) = self.nulls else {
            return Ok(self.array);
        };
        let data = self
            .array
            .to_data()
            .into_builder()
            .nulls(Some(nulls))
            .build()
            .map_err(|e| Error::arrow("combining struct nulls for statistics", e))?;
        Ok(make_array(data))
    }
}

fn any_nan<T: Copy>(values: &[T], nulls: Option<&NullBuffer>, is_nan: fn(T) -> bool) -> bool {
    match nulls {
        // Branch-free over blocks, so that the common case (no NaN) vectorizes.
        None => values
            .chunks(1024)
            .any(|block| block.iter().fold(false, |seen, v| seen | is_nan(*v))),
        Some(nulls) => values
            .iter()
            .zip(nulls.iter())
            .any(|(v, valid)| valid && is_nan(*v)),
    }
}

fn leaf_parts(batch: &RecordBatch, indices: &[usize]) -> Result<LeafParts> {
    let missing = || {
        Error::InvalidArgument("a batch does not match the schema of its file statistics".into())
    };
    let (first, rest) = indices.split_first().ok_or_else(missing)?;
    let mut array: ArrayRef = batch.columns().get(*first).ok_or_else(missing)?.clone();
    let mut parent_nulls: Option<NullBuffer> = None;
    for index in rest {
        let parent: &StructArray = array.as_struct_opt().ok_or_else(missing)?;
        parent_nulls = NullBuffer::union(parent_nulls.as_ref(), parent.nulls());
        array = parent.columns().get(*index).ok_or_else(missing)?.clone();
    }
    let nulls = match parent_nulls {
        Some(parents) => NullBuffer::union(Some(&parents), array.nulls()),
        None => None,
    };
    Ok(LeafParts { array, nulls })
}

/// The bounds in a Parquet column chunk's statistics, when they are exact and of a type the
/// leaf's bounds can be read from; `None` otherwise (the caller then computes them).
fn chunk_bounds(
    stats: &Statistics,
    kind: LeafKind,
    data_type: &ArrowType,
) -> Option<(Bound, Bound)> {
    use ArrowType as T;
    if !stats.min_is_exact() || !stats.max_is_exact() {
        return None;
    }
    macro_rules! pair {
        ($s:expr, $f:expr) => {{
            let s = $s;
            Some(($f(*s.min_opt()?), $f(*s.max_opt()?)))
        }};
    }
    match (kind, data_type, stats) {
        (
            LeafKind::Int,
            T::Int8 | T::Int16 | T::Int32 | T::UInt8 | T::UInt16,
            Statistics::Int32(s),
        ) => pair!(s, |v: i32| Bound::Int(i64::from(v))),
        // Stored as INT32 bits, compared unsigned.
        (LeafKind::Int, T::UInt32, Statistics::Int32(s)) => {
            pair!(s, |v: i32| Bound::Int(i64::from(v as u32)))
        }
        (LeafKind::Int, T::Int64, Statistics::Int64(s)) => pair!(s, Bound::Int),
        (LeafKind::Float, T::Float32, Statistics::Float(s)) => {
            pair!(s, |v: f32| Bound::Float(f64::from(v)))
        }
        (LeafKind::Float, T::Float64, Statistics::Double(s)) => pair!(s, Bound::Float),
        (LeafKind::Date, T::Date32, Statistics::Int32(s)) => pair!(s, Bound::Date),
        (
            LeafKind::Timestamp { .. },
            T::Timestamp(TimeUnit::Microsecond, _),
            Statistics::Int64(s),
        ) => {
            pair!(s, Bound::Timestamp)
        }
        (LeafKind::Decimal { .. }, T::Decimal128(..), Statistics::Int32(s)) => {
            pair!(s, |v: i32| Bound::Decimal(i128::from(v)))
        }
        (LeafKind::Decimal { .. }, T::Decimal128(..), Statistics::Int64(s)) => {
            pair!(s, |v: i64| Bound::Decimal(i128::from(v)))
        }
        (LeafKind::Text, T::Utf8 | T::LargeUtf8 | T::Utf8View, Statistics::ByteArray(s)) => {
            let text = |v: &parquet::data_type::ByteArray| {
                std::str::from_utf8(v.data())
                    .ok()
                    .map(|t| Bound::Text(t.to_string()))
            };
            Some((text(s.min_opt()?)?, text(s.max_opt()?)?))
        }
        _ => None,
    }
}

enum BatchBounds {
    Values(Bound, Bound),
    AllNull,
    GiveUp,
}

fn batch_bounds(array: &ArrayRef, kind: LeafKind) -> Result<BatchBounds> {
    use ArrowType as T;
    use arrow::compute::{max, max_string, max_string_view, min, min_string, min_string_view};
    if array.null_count() == array.len() {
        return Ok(BatchBounds::AllNull);
    }
    let pair = |lo: Option<Bound>, hi: Option<Bound>| match (lo, hi) {
        (Some(lo), Some(hi)) => BatchBounds::Values(lo, hi),
        _ => BatchBounds::AllNull,
    };
    macro_rules! ints {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            pair(
                min(a).map(|v| Bound::Int(v as i64)),
                max(a).map(|v| Bound::Int(v as i64)),
            )
        }};
    }
    Ok(match (kind, array.data_type()) {
        (LeafKind::Int, T::Int8) => ints!(Int8Type),
        (LeafKind::Int, T::Int16) => ints!(Int16Type),
        (LeafKind::Int, T::Int32) => ints!(Int32Type),
        (LeafKind::Int, T::Int64) => ints!(Int64Type),
        (LeafKind::Int, T::UInt8) => ints!(UInt8Type),
        (LeafKind::Int, T::UInt16) => ints!(UInt16Type),
        (LeafKind::Int, T::UInt32) => ints!(UInt32Type),
        (LeafKind::Float, T::Float32) => {
            let a = array.as_primitive::<Float32Type>();
            if any_nan(a.values(), a.nulls(), f32::is_nan) {
                BatchBounds::GiveUp
            } else {
                pair(
                    min(a).map(|v| Bound::Float(f64::from(v))),
                    max(a).map(|v| Bound::Float(f64::from(v))),
                )
            }
        }
        (LeafKind::Float, T::Float64) => {
            let a = array.as_primitive::<Float64Type>();
            if any_nan(a.values(), a.nulls(), f64::is_nan) {
                BatchBounds::GiveUp
            } else {
                pair(min(a).map(Bound::Float), max(a).map(Bound::Float))
            }
        }
        (LeafKind::Date, T::Date32) => {
            let a = array.as_primitive::<Date32Type>();
            pair(min(a).map(Bound::Date), max(a).map(Bound::Date))
        }
        (LeafKind::Timestamp { .. }, T::Timestamp(TimeUnit::Microsecond, _)) => {
            let a = array.as_primitive::<TimestampMicrosecondType>();
            pair(min(a).map(Bound::Timestamp), max(a).map(Bound::Timestamp))
        }
        (LeafKind::Decimal { .. }, T::Decimal128(..)) => {
            let a = array.as_primitive::<Decimal128Type>();
            pair(min(a).map(Bound::Decimal), max(a).map(Bound::Decimal))
        }
        (LeafKind::Text, T::Utf8) => {
            let a = array.as_string::<i32>();
            pair(
                min_string(a).map(|s| Bound::Text(s.into())),
                max_string(a).map(|s| Bound::Text(s.into())),
            )
        }
        (LeafKind::Text, T::LargeUtf8) => {
            let a = array.as_string::<i64>();
            pair(
                min_string(a).map(|s| Bound::Text(s.into())),
                max_string(a).map(|s| Bound::Text(s.into())),
            )
        }
        (LeafKind::Text, T::Utf8View) => {
            let a = array.as_string_view();
            pair(
                min_string_view(a).map(|s| Bound::Text(s.into())),
                max_string_view(a).map(|s| Bound::Text(s.into())),
            )
        }
        _ => BatchBounds::GiveUp,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Min,
    Max,
}

/// The JSON form of a bound; `None` when it has none that is safe.
fn bound_json(bound: &Bound, kind: LeafKind, side: Side) -> Option<Value> {
    match (bound, kind) {
        (Bound::Int(v), _) => Some(Value::from(*v)),
        (Bound::Float(v), _) => serde_json::Number::from_f64(*v).map(Value::Number),
        (Bound::Date(days), _) => {
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
                .checked_add_signed(chrono::Duration::days(i64::from(*days)))?;
            Some(Value::from(date.format("%Y-%m-%d").to_string()))
        }
        (Bound::Timestamp(micros), LeafKind::Timestamp { utc }) => {
            let millis = match side {
                Side::Min => micros.div_euclid(1000),
                Side::Max => micros.div_euclid(1000) + i64::from(micros.rem_euclid(1000) != 0),
            };
            let time = chrono::DateTime::from_timestamp_millis(millis)?;
            let text = if utc {
                time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            } else {
                time.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
            };
            Some(Value::from(text))
        }
        (Bound::Decimal(unscaled), LeafKind::Decimal { precision, scale }) => {
            let text = arrow::array::Decimal128Array::from(vec![*unscaled])
                .with_precision_and_scale(precision, scale)
                .ok()?
                .value_as_string(0);
            let number: f64 = text.parse().ok()?;
            serde_json::Number::from_f64(number).map(Value::Number)
        }
        (Bound::Text(text), _) => Some(Value::from(truncate_text(text, side))),
        _ => None,
    }
}

/// Truncates a string bound to [`STRING_PREFIX_CHARS`] characters, keeping it a valid bound.
fn truncate_text(text: &str, side: Side) -> String {
    match text.char_indices().nth(STRING_PREFIX_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => {
            let mut prefix = text[..cut].to_string();
            if side == Side::Max {
                // Every string starting with the prefix sorts at or below this one.
                prefix.push(char::MAX);
            }
            prefix
        }
    }
}

fn insert_at(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = map;
    for name in parents {
        let entry = current
            .entry(name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Int32Type, Schema};

    use super::*;

    fn stats_of(batch: &RecordBatch, max: Option<usize>) -> Value {
        let mut collector = StatsCollector::new(&batch.schema(), max);
        collector.update(batch).unwrap();
        serde_json::from_str(&collector.to_json().unwrap()).unwrap()
    }

    #[test]
    fn every_type_gets_the_right_bounds() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", ArrowType::Int32, true),
            Field::new("f", ArrowType::Float64, true),
            Field::new("d", ArrowType::Date32, true),
            Field::new(
                "t",
                ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("n", ArrowType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("m", ArrowType::Decimal128(10, 2), true),
            Field::new("b", ArrowType::Boolean, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(5), None, Some(-7)])),
                Arc::new(Float64Array::from(vec![1.5, -2.25, 0.0])),
                Arc::new(Date32Array::from(vec![0, 19_000, 1])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_001, 2_000_500, 3]).with_timezone("UTC"),
                ),
                Arc::new(TimestampMicrosecondArray::from(vec![1_000, 5_000, 3_000])),
                Arc::new(
                    Decimal128Array::from(vec![12345, -1, 0])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
                Arc::new(BooleanArray::from(vec![true, false, true])),
            ],
        )
        .unwrap();
        let s = stats_of(&batch, None);
        assert_eq!(s["numRecords"], 3);
        assert_eq!(s["minValues"]["i"], -7);
        assert_eq!(s["maxValues"]["i"], 5);
        assert_eq!(s["nullCount"]["i"], 1);
        assert_eq!(s["minValues"]["f"], -2.25);
        assert_eq!(s["minValues"]["d"], "1970-01-01");
        assert_eq!(s["maxValues"]["d"], "2022-01-08");
        // Min rounds down, max rounds up to the millisecond.
        assert_eq!(s["minValues"]["t"], "1970-01-01T00:00:00.000Z");
        assert_eq!(s["maxValues"]["t"], "1970-01-01T00:00:02.001Z");
        assert_eq!(s["maxValues"]["n"], "1970-01-01T00:00:00.005");
        assert_eq!(s["minValues"]["m"], -0.01);
        assert_eq!(s["maxValues"]["m"], 123.45);
        assert!(s["minValues"].get("b").is_none());
        assert_eq!(s["nullCount"]["b"], 0);
    }

    #[test]
    fn long_strings_keep_safe_prefixes() {
        let long = "x".repeat(40);
        let schema = Arc::new(Schema::new(vec![Field::new("s", ArrowType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec![long.as_str(), "a"]))],
        )
        .unwrap();
        let s = stats_of(&batch, None);
        assert_eq!(s["minValues"]["s"], "a");
        let max = s["maxValues"]["s"].as_str().unwrap();
        assert_eq!(max.chars().count(), STRING_PREFIX_CHARS + 1);
        assert!(max > long.as_str());
    }

    #[test]
    fn nan_drops_bounds_and_nested_fields_nest() {
        let inner = Fields::from(vec![Field::new("x", ArrowType::Int32, true)]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", ArrowType::Float64, true),
            Field::new("s", ArrowType::Struct(inner.clone()), true),
            Field::new("later", ArrowType::Int32, true),
        ]));
        let structs = StructArray::new(
            inner,
            vec![Arc::new(Int32Array::from(vec![1, 100]))],
            Some(NullBuffer::from(vec![true, false])),
        );
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![1.0, f64::NAN])),
                Arc::new(structs),
                Arc::new(Int32Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let s = stats_of(&batch, Some(2));
        assert!(s["minValues"].get("f").is_none());
        // The value under a null struct is not a value: the max is 1, and it counts as null.
        assert_eq!(s["maxValues"]["s"]["x"], 1);
        assert_eq!(s["nullCount"]["s"]["x"], 1);
        // Only the first two leaves are indexed.
        assert!(s["nullCount"].get("later").is_none());
    }

    /// A small deterministic generator (SplitMix64), for property-style tests.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        /// `true` with probability `percent`%.
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    fn gen_float(g: &mut Gen, nan_percent: u64) -> f64 {
        match g.below(100) {
            n if n < nan_percent => f64::NAN,
            n if n < nan_percent + 5 => -0.0,
            n if n < nan_percent + 10 => 0.0,
            n if n < nan_percent + 12 => f64::INFINITY,
            n if n < nan_percent + 14 => f64::NEG_INFINITY,
            _ => (g.next() as i64 as f64) / 1e9,
        }
    }

    fn gen_text(g: &mut Gen) -> String {
        const PIECES: [&str; 8] = ["a", "z", "é", "日本", "\u{10FFFF}", "0", " ", "Ω"];
        let len = match g.below(10) {
            0 => 0,
            1..=2 => 30 + g.below(60) as usize,
            _ => g.below(8) as usize,
        };
        (0..len).map(|_| PIECES[g.below(8) as usize]).collect()
    }

    fn every_type_schema() -> Arc<Schema> {
        let inner = Fields::from(vec![
            Field::new("x", ArrowType::Int64, true),
            Field::new("s", ArrowType::Utf8, true),
            Field::new(
                "deep",
                ArrowType::Struct(Fields::from(vec![Field::new(
                    "f",
                    ArrowType::Float32,
                    true,
                )])),
                true,
            ),
        ]);
        Arc::new(Schema::new(vec![
            Field::new("i8", ArrowType::Int8, true),
            Field::new("i16", ArrowType::Int16, true),
            Field::new("i32", ArrowType::Int32, true),
            Field::new("i64", ArrowType::Int64, true),
            Field::new("u8", ArrowType::UInt8, true),
            Field::new("u16", ArrowType::UInt16, true),
            Field::new("u32", ArrowType::UInt32, true),
            Field::new("f32", ArrowType::Float32, true),
            Field::new("f64", ArrowType::Float64, true),
            Field::new("date", ArrowType::Date32, true),
            Field::new(
                "ts",
                ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new(
                "ntz",
                ArrowType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("dec", ArrowType::Decimal128(10, 2), true),
            Field::new("dec15", ArrowType::Decimal128(15, 3), true),
            Field::new("dec1", ArrowType::Decimal128(1, 0), true),
            Field::new("dec30", ArrowType::Decimal128(30, 2), true),
            Field::new("text", ArrowType::Utf8, true),
            Field::new("large", ArrowType::LargeUtf8, true),
            Field::new("view", ArrowType::Utf8View, true),
            Field::new("bool", ArrowType::Boolean, true),
            Field::new("bin", ArrowType::Binary, true),
            Field::new_list("list", Field::new_list_field(ArrowType::Int32, true), true),
            Field::new("st", ArrowType::Struct(inner), true),
        ]))
    }

    /// Random rows of every type: nulls, NaN (in some batches), ±0, infinities, extreme
    /// integers, empty, long and multi-byte strings, null structs over non-null values.
    fn every_type_batch(g: &mut Gen, rows: usize) -> RecordBatch {
        use arrow::array::{
            BinaryArray, Date32Array, Float32Array, Int8Array, Int16Array, Int64Array,
            LargeStringArray, ListArray, StringViewArray, UInt8Array, UInt16Array, UInt32Array,
        };
        let schema = every_type_schema();
        let null_percent = [0, 10, 50, 100][g.below(4) as usize];
        let nan_percent = if g.chance(30) { 5 } else { 0 };
        let valid = |g: &mut Gen| !g.chance(null_percent);
        macro_rules! col {
            ($array:ty, $value:expr) => {{
                let values: Vec<_> = (0..rows)
                    .map(|_| {
                        if valid(g) {
                            Some($value(&mut *g))
                        } else {
                            None
                        }
                    })
                    .collect();
                Arc::new(<$array>::from(values)) as ArrayRef
            }};
        }
        let extreme = |g: &mut Gen| match g.below(10) {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => g.next() as i64 >> g.below(64),
        };
        let micros =
            |g: &mut Gen| (g.next() % 4_000_000_000_000_000) as i64 - 1_000_000_000_000_000;
        let texts: Vec<Option<String>> = (0..rows)
            .map(|_| if valid(g) { Some(gen_text(g)) } else { None })
            .collect();
        let decimal = |values: Vec<Option<i128>>, p: u8, s: i8| {
            Arc::new(
                Decimal128Array::from(values)
                    .with_precision_and_scale(p, s)
                    .unwrap(),
            ) as ArrayRef
        };
        let dec10: Vec<Option<i128>> = (0..rows)
            .map(|_| valid(g).then(|| (g.next() % 19_999_999_999) as i128 - 9_999_999_999))
            .collect();
        let dec15: Vec<Option<i128>> = (0..rows)
            .map(|_| {
                valid(g).then(|| (g.next() % 1_999_999_999_999_999) as i128 - 999_999_999_999_999)
            })
            .collect();
        let dec1: Vec<Option<i128>> = (0..rows)
            .map(|_| valid(g).then(|| (g.next() % 19) as i128 - 9))
            .collect();
        let dec30: Vec<Option<i128>> = (0..rows)
            .map(|_| valid(g).then(|| g.next() as i128 * 1_000_000))
            .collect();
        let list: Vec<Option<Vec<Option<i32>>>> = (0..rows)
            .map(|_| valid(g).then(|| (0..g.below(3)).map(|_| Some(g.next() as i32)).collect()))
            .collect();
        let struct_nulls: Vec<bool> = (0..rows).map(|_| !g.chance(20)).collect();
        let deep_nulls: Vec<bool> = (0..rows).map(|_| !g.chance(20)).collect();
        let inner_text: Vec<Option<String>> = (0..rows)
            .map(|_| if valid(g) { Some(gen_text(g)) } else { None })
            .collect();
        let ArrowType::Struct(inner) = schema.field(schema.fields().len() - 1).data_type().clone()
        else {
            unreachable!()
        };
        let ArrowType::Struct(deep) = inner[2].data_type().clone() else {
            unreachable!()
        };
        let deep_array = StructArray::new(
            deep,
            vec![col!(Float32Array, |g: &mut Gen| gen_float(g, nan_percent) as f32)],
            Some(NullBuffer::from(deep_nulls)),
        );
        let st = StructArray::new(
            inner,
            vec![
                col!(Int64Array, extreme),
                Arc::new(StringArray::from(inner_text)),
                Arc::new(deep_array),
            ],
            Some(NullBuffer::from(struct_nulls)),
        );
        let columns: Vec<ArrayRef> = vec![
            col!(Int8Array, |g: &mut Gen| g.next() as i8),
            col!(Int16Array, |g: &mut Gen| g.next() as i16),
            col!(Int32Array, |g: &mut Gen| g.next() as i32),
            col!(Int64Array, extreme),
            col!(UInt8Array, |g: &mut Gen| g.next() as u8),
            col!(UInt16Array, |g: &mut Gen| g.next() as u16),
            col!(UInt32Array, |g: &mut Gen| g.next() as u32),
            col!(Float32Array, |g: &mut Gen| gen_float(g, nan_percent) as f32),
            col!(Float64Array, |g: &mut Gen| gen_float(g, nan_percent)),
            col!(Date32Array, |g: &mut Gen| (g.next() % 200_000) as i32
                - 100_000),
            Arc::new(
                TimestampMicrosecondArray::from(
                    (0..rows)
                        .map(|_| valid(g).then(|| micros(g)))
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            col!(TimestampMicrosecondArray, micros),
            decimal(dec10, 10, 2),
            decimal(dec15, 15, 3),
            decimal(dec1, 1, 0),
            decimal(dec30, 30, 2),
            Arc::new(StringArray::from(texts.clone())),
            Arc::new(LargeStringArray::from(texts.clone())),
            Arc::new(StringViewArray::from(texts.clone())),
            col!(BooleanArray, |g: &mut Gen| g.chance(50)),
            Arc::new(BinaryArray::from(
                texts
                    .iter()
                    .map(|t| t.as_deref().map(str::as_bytes))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(list)),
            Arc::new(st),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// Writes the batch with the parquet crate in row groups of `group_rows`, and folds each
    /// row group into a collector from the column chunk statistics.
    fn stats_from_parquet(batch: &RecordBatch, group_rows: usize, max: Option<usize>) -> Value {
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::WriterProperties;
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
        writer.write(batch).unwrap();
        let metadata = writer.close().unwrap();
        let descr = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&batch.schema())
            .unwrap();
        let mut file = StatsCollector::new(&batch.schema(), max);
        file.link_parquet(&descr);
        let mut offset = 0;
        for group in metadata.row_groups() {
            let rows = group.num_rows() as usize;
            let chunks: Vec<Option<&Statistics>> =
                group.columns().iter().map(|c| c.statistics()).collect();
            let mut part = StatsCollector::new(&batch.schema(), max);
            part.link_parquet(&descr);
            // Two slices, as a row group gathered from several batches.
            let half = rows / 2;
            part.update_row_group(
                &[
                    batch.slice(offset, half),
                    batch.slice(offset + half, rows - half),
                ],
                &chunks,
            )
            .unwrap();
            file.merge(&part).unwrap();
            offset += rows;
        }
        assert_eq!(offset, batch.num_rows());
        serde_json::from_str(&file.to_json().unwrap()).unwrap()
    }

    #[test]
    fn stats_from_parquet_metadata_equal_stats_from_the_data() {
        let mut g = Gen(42);
        let mut nan_seen = false;
        for round in 0..60 {
            let rows = [0, 1, 2, 7, 50, 333][round % 6];
            let batch = every_type_batch(&mut g, rows);
            let computed = stats_of(&batch, None);
            for group_rows in [1, 5, 64, 1024] {
                let derived = stats_from_parquet(&batch, group_rows, None);
                assert_eq!(
                    derived, computed,
                    "round {round}, row groups of {group_rows}"
                );
            }
            assert_eq!(
                stats_from_parquet(&batch, 16, Some(9)),
                stats_of(&batch, Some(9)),
                "round {round}, 9 indexed leaves"
            );
            nan_seen |= rows > 0
                && computed["minValues"].get("f64").is_none()
                && computed["nullCount"]["f64"] != rows as i64;
        }
        assert!(nan_seen, "some rounds have NaN");
    }

    #[test]
    fn parquet_bounds_follow_the_delta_rules() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", ArrowType::Float64, true),
            Field::new("z", ArrowType::Float64, true),
            Field::new("s", ArrowType::Utf8, true),
            Field::new("t", ArrowType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("u", ArrowType::UInt32, true),
        ]));
        let long = "ü".repeat(40);
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN), None])),
                Arc::new(Float64Array::from(vec![Some(-0.0), Some(0.0), None])),
                Arc::new(StringArray::from(vec![Some(long.as_str()), Some(""), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(1_001),
                    Some(2_000_500),
                    None,
                ])),
                Arc::new(arrow::array::UInt32Array::from(vec![
                    Some(u32::MAX),
                    Some(1),
                    None,
                ])),
            ],
        )
        .unwrap();
        let s = stats_from_parquet(&batch, 1024, None);
        assert_eq!(s, stats_of(&batch, None));
        // NaN: no bounds (Parquet statistics skip NaN, Delta gives the column up).
        assert!(s["minValues"].get("f").is_none());
        assert_eq!(s["nullCount"]["f"], 1);
        // Zeros: a safe range around zero.
        assert_eq!(s["minValues"]["z"].as_f64(), Some(0.0));
        assert_eq!(s["maxValues"]["z"].as_f64(), Some(0.0));
        // The 64-byte Parquet bound of an 80-byte string is inexact: computed instead.
        assert_eq!(s["minValues"]["s"], "");
        let max = s["maxValues"]["s"].as_str().unwrap();
        assert_eq!(max.chars().count(), STRING_PREFIX_CHARS + 1);
        assert!(max > long.as_str());
        assert_eq!(s["minValues"]["t"], "1970-01-01T00:00:00.001");
        assert_eq!(s["maxValues"]["t"], "1970-01-01T00:00:02.001");
        assert_eq!(s["maxValues"]["u"], i64::from(u32::MAX));
        assert_eq!(s["minValues"]["u"], 1);
    }

    #[test]
    fn exact_chunk_statistics_are_used_and_inexact_ones_are_not() {
        use parquet::file::statistics::ValueStatistics;
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", ArrowType::Int64, true),
            Field::new("b", ArrowType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])),
                Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let descr = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .unwrap();
        // Wider bounds than the data, to tell where they came from.
        let exact = Statistics::int64(Some(-100), Some(100), None, Some(0), false);
        let inexact = Statistics::Int64(
            ValueStatistics::new(Some(-100), Some(100), None, Some(0), false)
                .with_max_is_exact(false),
        );
        let mut stats = StatsCollector::new(&schema, None);
        stats.link_parquet(&descr);
        stats
            .update_row_group(&[batch], &[Some(&exact), Some(&inexact)])
            .unwrap();
        let s: Value = serde_json::from_str(&stats.to_json().unwrap()).unwrap();
        assert_eq!(s["minValues"]["a"], -100);
        assert_eq!(s["maxValues"]["a"], 100);
        assert_eq!(s["minValues"]["b"], 1);
        assert_eq!(s["maxValues"]["b"], 3);
        assert_eq!(s["numRecords"], 3);
    }
}
