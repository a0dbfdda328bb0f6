//! Arrow values to JSON text (`stats_parsed`, `commitInfo`) and to partition value strings.

use super::*;

/// How values are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// JSON statistics: timestamps as `"2024-01-31T12:00:00.123Z"`, dates as `"2024-01-31"`.
    Stats,
    /// JSON for `commitInfo`: timestamps as milliseconds since the epoch.
    CommitInfo,
    /// A partition value string: raw text, timestamps as `2024-01-31 12:00:00.123456`.
    Partition,
}

/// An Arrow column prepared (downcast once) for writing its values as JSON.
pub(super) enum Enc {
    Null,
    Bool(BooleanArray),
    Int(Int64Array),
    UInt(UInt64Array),
    F32(Float32Array),
    F64(Float64Array),
    Str(StrCol),
    Date(Date32Array),
    Timestamp(Int64Array, TimeUnit),
    /// Decimals, already formatted by Arrow (written as JSON numbers).
    Decimal(StringArray),
    Struct(StructArray, Vec<(String, Enc)>),
    List(ListArray, Box<Enc>),
    Map(MapArray, Box<Enc>, Box<Enc>),
    /// Anything else, written as Arrow displays it, as a string.
    Other(ArrayRef),
}

impl Enc {
    pub(super) fn new(array: &ArrayRef) -> std::result::Result<Self, ArrowError> {
        let cast_to = |t: DataType| cast(array, &t);
        Ok(match array.data_type() {
            DataType::Null => Self::Null,
            DataType::Boolean => Self::Bool(array.as_boolean().clone()),
            DataType::UInt64 => Self::UInt(array.as_primitive::<UInt64Type>().clone()),
            t if is_integer_type(t) => Self::Int(
                cast_to(DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            DataType::Float16 | DataType::Float32 => Self::F32(
                cast_to(DataType::Float32)?
                    .as_primitive::<Float32Type>()
                    .clone(),
            ),
            DataType::Float64 => Self::F64(array.as_primitive::<Float64Type>().clone()),
            DataType::Utf8 => Self::Str(StrCol::Utf8(array.as_string::<i32>().clone())),
            DataType::LargeUtf8 => Self::Str(StrCol::Large(array.as_string::<i64>().clone())),
            DataType::Utf8View => Self::Str(StrCol::View(array.as_string_view().clone())),
            DataType::Date32 | DataType::Date64 => Self::Date(
                cast_to(DataType::Date32)?
                    .as_primitive::<Date32Type>()
                    .clone(),
            ),
            DataType::Timestamp(unit, _) => Self::Timestamp(
                cast_to(DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
                *unit,
            ),
            DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => {
                Self::Decimal(cast_to(DataType::Utf8)?.as_string::<i32>().clone())
            }
            DataType::Struct(fields) => {
                let array = array.as_struct().clone();
                let children = fields
                    .iter()
                    .zip(array.columns())
                    .map(|(field, column)| {
                        let mut key = String::with_capacity(field.name().len() + 3);
                        push_json_str(&mut key, field.name());
                        key.push(':');
                        Ok((key, Self::new(column)?))
                    })
                    .collect::<std::result::Result<Vec<_>, ArrowError>>()?;
                Self::Struct(array, children)
            }
            DataType::List(_) => {
                let list = array.as_list::<i32>().clone();
                let values = Self::new(list.values())?;
                Self::List(list, Box::new(values))
            }
            DataType::LargeList(field) => {
                let target = DataType::List(Arc::clone(field));
                Self::new(&cast(array, &target)?)?
            }
            DataType::Map(_, _) => {
                let map = array.as_map().clone();
                let keys = Self::new(map.keys())?;
                let values = Self::new(map.values())?;
                Self::Map(map, Box::new(keys), Box::new(values))
            }
            DataType::Dictionary(_, value_type) => Self::new(&cast(array, value_type)?)?,
            _ => Self::Other(Arc::clone(array)),
        })
    }

    pub(super) fn is_null(&self, i: usize) -> bool {
        match self {
            Self::Null => true,
            Self::Bool(a) => a.is_null(i),
            Self::Int(a) => a.is_null(i),
            Self::UInt(a) => a.is_null(i),
            Self::F32(a) => a.is_null(i),
            Self::F64(a) => a.is_null(i),
            Self::Str(a) => a.is_null(i),
            Self::Date(a) => a.is_null(i),
            Self::Timestamp(a, _) => a.is_null(i),
            Self::Decimal(a) => a.is_null(i),
            Self::Struct(a, _) => a.is_null(i),
            Self::List(a, _) => a.is_null(i),
            Self::Map(a, _, _) => a.is_null(i),
            Self::Other(a) => a.is_null(i),
        }
    }

    /// Writes value `i` (which must not be null; nulls are written as `null`).
    pub(super) fn write(&self, i: usize, out: &mut String, style: Style) {
        if self.is_null(i) {
            out.push_str("null");
            return;
        }
        let quoted = style != Style::Partition;
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(a) => out.push_str(if a.value(i) { "true" } else { "false" }),
            Self::Int(a) => push_display(out, a.value(i)),
            Self::UInt(a) => push_display(out, a.value(i)),
            Self::F32(a) => push_float(out, f64::from(a.value(i)), a.value(i), quoted),
            Self::F64(a) => push_float(out, a.value(i), a.value(i), quoted),
            Self::Str(a) => {
                let value = a.get(i).unwrap_or_default();
                if quoted {
                    push_json_str(out, value);
                } else {
                    out.push_str(value);
                }
            }
            Self::Date(a) => {
                let days = a.value(i);
                match chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163)) {
                    Some(date) => push_maybe_quoted(out, date.format("%Y-%m-%d"), quoted),
                    None => push_display(out, days),
                }
            }
            Self::Timestamp(a, unit) => write_timestamp(out, a.value(i), *unit, style),
            Self::Decimal(a) => out.push_str(a.value(i)),
            Self::Struct(_, fields) => {
                out.push('{');
                let mut first = true;
                for (key, field) in fields {
                    if field.is_null(i) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(key);
                    field.write(i, out, style.nested());
                }
                out.push('}');
            }
            Self::List(list, values) => {
                let offsets = list.value_offsets();
                out.push('[');
                for (n, j) in (offsets[i]..offsets[i + 1]).enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    values.write(usize::try_from(j).unwrap_or(0), out, style.nested());
                }
                out.push(']');
            }
            Self::Map(map, keys, values) => {
                let offsets = map.value_offsets();
                out.push('{');
                let mut first = true;
                for j in offsets[i]..offsets[i + 1] {
                    let j = usize::try_from(j).unwrap_or(0);
                    if keys.is_null(j) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    let mut key = String::new();
                    keys.write(j, &mut key, Style::Partition);
                    push_json_str(out, &key);
                    out.push(':');
                    values.write(j, out, style.nested());
                }
                out.push('}');
            }
            Self::Other(a) => {
                let text = arrow::util::display::array_value_to_string(a, i).unwrap_or_default();
                if quoted {
                    push_json_str(out, &text);
                } else {
                    out.push_str(&text);
                }
            }
        }
    }

    /// The value as a partition value string (`None` for null).
    pub(super) fn partition_value(&self, i: usize) -> Option<String> {
        if self.is_null(i) {
            return None;
        }
        let mut out = String::new();
        self.write(i, &mut out, Style::Partition);
        Some(out)
    }
}

impl Style {
    /// Values nested in a JSON object or array are always JSON.
    pub(super) fn nested(self) -> Self {
        match self {
            Self::Partition => Self::Stats,
            other => other,
        }
    }
}

pub(super) fn push_display(out: &mut String, value: impl Display) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

pub(super) fn push_maybe_quoted(out: &mut String, value: impl Display, quoted: bool) {
    if quoted {
        out.push('"');
    }
    push_display(out, value);
    if quoted {
        out.push('"');
    }
}

/// Writes a float as JSON: the shortest representation that reads back the same; NaN and
/// infinities (which JSON cannot hold) as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(super) fn push_float<F: serde::Serialize + Display>(
    out: &mut String,
    wide: f64,
    value: F,
    quoted: bool,
) {
    if wide.is_finite() {
        match serde_json::to_string(&value) {
            Ok(text) => out.push_str(&text),
            Err(_) => push_display(out, value),
        }
    } else {
        let text = if wide.is_nan() {
            "NaN"
        } else if wide > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        push_maybe_quoted(out, text, quoted);
    }
}

pub(super) fn write_timestamp(out: &mut String, value: i64, unit: TimeUnit, style: Style) {
    let (per_second, nanos_per_unit) = match unit {
        TimeUnit::Second => (1, 1_000_000_000),
        TimeUnit::Millisecond => (1_000, 1_000_000),
        TimeUnit::Microsecond => (1_000_000, 1_000),
        TimeUnit::Nanosecond => (1_000_000_000, 1),
    };
    let seconds = value.div_euclid(per_second);
    let nanos = u32::try_from(value.rem_euclid(per_second) * nanos_per_unit).unwrap_or(0);
    let Some(time) = chrono::DateTime::from_timestamp(seconds, nanos) else {
        push_display(out, value);
        return;
    };
    match style {
        Style::Stats => push_maybe_quoted(out, time.format("%Y-%m-%dT%H:%M:%S%.3fZ"), true),
        Style::CommitInfo => push_display(out, time.timestamp_millis()),
        Style::Partition => push_display(out, time.format("%Y-%m-%d %H:%M:%S%.6f")),
    }
}

/// Appends `value` as a JSON string literal.
pub(super) fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[start..i]);
        if escape.is_empty() {
            push_display(out, format_args!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
    out.push('"');
}
