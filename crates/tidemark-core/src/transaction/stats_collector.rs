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
/// use tidemark_core::testing::num_indexed_cols;
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
/// use tidemark_core::testing::StatsCollector;
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

    /// Folds one batch into the statistics (the tests' oracle for the statistics taken from
    /// Parquet's column chunks).
    #[cfg(any(test, feature = "test-support"))]
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
#[cfg(any(test, feature = "test-support"))]
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
mod tests;
