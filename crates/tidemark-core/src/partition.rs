//! Partition values: parsing them from the Delta log, serializing them for writers, and the
//! Hive-style partition directory names data files are written under.
//!
//! # Partition values in the log
//!
//! The Delta protocol (appendix "Partition Value Serialization") stores every partition value of
//! a data file as a string in `add.partitionValues`, keyed by the column's physical name:
//!
//! | type | serialization |
//! |---|---|
//! | string | the string itself |
//! | numeric types | the number's text, e.g. `42`, `1.5`, `-12.340` |
//! | date | `{year}-{month}-{day}`, e.g. `1970-01-01` |
//! | timestamp | `{year}-{month}-{day} {hour}:{minute}:{second}[.{microsecond}]`, or ISO 8601 adjusted to UTC such as `1970-01-01T00:00:00.123456Z` |
//! | timestamp_ntz | `{year}-{month}-{day} {hour}:{minute}:{second}[.{microsecond}]` |
//! | boolean | `true` or `false` |
//! | binary | the bytes, as the characters of the JSON string |
//!
//! A JSON `null` is a null value, and "an empty string for any type translates to a `null`
//! partition value" — for `string` columns too. Spark never writes an empty string partition
//! value: it writes `null` (and the directory `__HIVE_DEFAULT_PARTITION__`). Tidemark follows the
//! protocol on both sides: [`partition_array`] reads `""` as null and
//! [`serialize_partition_value`] writes an empty string or binary value as null.
//!
//! # Partition directories
//!
//! Writers conventionally place data files under `col=value/` directories. Column names and
//! values are escaped the way Hive and Spark escape them ([`escape_path_component`]), and a null
//! value is spelled [`HIVE_DEFAULT_PARTITION`]. The directory is only a convention: readers take
//! partition values from the log, never from the path.

use std::fmt::Display;
use std::num::IntErrorKind;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, GenericByteArray, GenericByteViewArray, Int8Array, Int16Array,
    Int32Array, Int64Array, OffsetSizeTrait, StringViewArray, TimestampMicrosecondArray,
    new_null_array,
};
use arrow::buffer::{BooleanBuffer, Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowNativeType, ByteArrayType, ByteViewType, DataType, Date32Type, Decimal128Type,
    Float32Type, Float64Type, GenericBinaryType, GenericStringType, Int8Type, Int16Type, Int32Type,
    Int64Type, TimeUnit, TimestampMicrosecondType,
};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::error::{Error, Result};

/// The directory value Hive, Spark and Delta writers use for a null (or empty) partition value:
/// `col=__HIVE_DEFAULT_PARTITION__/`.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Days from 0001-01-01 (day 1 of the common era, as counted by chrono) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Largest precision of a 128-bit decimal.
const MAX_DECIMAL128_PRECISION: u8 = 38;

/// Builds a constant column of `num_rows` copies of a partition value, parsed from its
/// serialized form in `add.partitionValues` as the column's Arrow type.
///
/// `column` is only used to name the column in errors. `value` is the value as found in the
/// log: `None` (JSON `null`) and `Some("")` both give an all-null array of `data_type` — the
/// protocol says an empty string means null for every type, string included, and Spark writes
/// empty strings as null partition values anyway.
///
/// Accepted forms, by type:
/// - `Utf8`, `LargeUtf8`, `Utf8View`: the text as is (no trimming).
/// - `Binary`, `LargeBinary`, `BinaryView`: the UTF-8 bytes of the text (the log stores binary
///   partition values as the characters of a JSON string).
/// - `Int8`, `Int16`, `Int32`, `Int64`: a decimal integer that fits the width (`1.0` is refused).
/// - `Float32`, `Float64`: any float text (`1.5`, `-2e10`), plus `NaN`, `Infinity`, `-Infinity`.
/// - `Boolean`: `true` or `false`, in any letter case.
/// - `Date32`: `yyyy-mm-dd` (month and day may have one digit; years beyond 9999 need a sign).
/// - `Timestamp(Microsecond, _)`: `yyyy-mm-dd hh:mm:ss`, optionally with a `.fraction` of 1 to 6
///   digits (up to 9 when the digits after the sixth are zeros); a `T` may replace the space, and
///   the value may end with `Z` or a UTC offset (`+01:00`, `-0530`, `+01`). A bare date means
///   midnight. For a timestamp with a time zone (Delta `timestamp`) a value without an offset is
///   taken as UTC and one with an offset is converted to UTC. For a timestamp without a time
///   zone (Delta `timestamp_ntz`) the wall-clock value is kept as written; `Z` or a zero offset
///   is allowed, any other offset is refused as ambiguous.
/// - `Decimal128(p, s)`: plain decimal text such as `-12.340`, optionally with an exponent
///   (`1.5E+3`). The value is scaled exactly: it is refused when it has more significant
///   fraction digits than `s` (no rounding) or needs more than `p` digits.
/// - `Null`: only a null value.
///
/// Surrounding whitespace is ignored for every type but the string and binary ones.
///
/// The array is built directly at its final length (one fill of the value buffer), so it is
/// cheap even for millions of rows.
///
/// # Errors
///
/// [`Error::PartitionValue`] naming the column, the value and the type when the value does not
/// parse as the type, does not fit it, or the type cannot be a partition column.
///
/// # Example
///
/// ```
/// use arrow::array::{Array, AsArray};
/// use arrow::datatypes::{DataType, Int64Type};
/// use tidemark_core::partition::partition_array;
///
/// let array = partition_array("year", Some("2024"), &DataType::Int64, 3).unwrap();
/// assert_eq!(array.len(), 3);
/// assert_eq!(array.as_primitive::<Int64Type>().value(2), 2024);
///
/// let nulls = partition_array("year", None, &DataType::Int64, 3).unwrap();
/// assert_eq!(nulls.null_count(), 3);
///
/// let err = partition_array("year", Some("20x4"), &DataType::Int64, 3).unwrap_err();
/// assert!(err.to_string().contains("year"));
/// ```
pub fn partition_array(
    column: &str,
    value: Option<&str>,
    data_type: &DataType,
    num_rows: usize,
) -> Result<ArrayRef> {
    let text = match value {
        None | Some("") => return Ok(new_null_array(data_type, num_rows)),
        Some(text) => text,
    };
    build_constant(text, data_type, num_rows).map_err(|reason| Error::PartitionValue {
        column: column.to_string(),
        value: text.to_string(),
        data_type: data_type.to_string(),
        reason,
    })
}

/// Parses `text` (not empty) as `data_type` and repeats it `num_rows` times; errors are reasons.
fn build_constant(
    text: &str,
    data_type: &DataType,
    num_rows: usize,
) -> std::result::Result<ArrayRef, String> {
    let trimmed = text.trim();
    let array: ArrayRef = match data_type {
        DataType::Utf8 => Arc::new(repeat_bytes::<GenericStringType<i32>>(
            text.as_bytes(),
            num_rows,
        )?),
        DataType::LargeUtf8 => Arc::new(repeat_bytes::<GenericStringType<i64>>(
            text.as_bytes(),
            num_rows,
        )?),
        DataType::Utf8View => {
            let single = StringViewArray::from_iter_values(std::iter::once(text));
            Arc::new(repeat_view(&single, num_rows)?)
        }
        DataType::Binary => Arc::new(repeat_bytes::<GenericBinaryType<i32>>(
            text.as_bytes(),
            num_rows,
        )?),
        DataType::LargeBinary => Arc::new(repeat_bytes::<GenericBinaryType<i64>>(
            text.as_bytes(),
            num_rows,
        )?),
        DataType::BinaryView => {
            let single = BinaryViewArray::from_iter_values(std::iter::once(text.as_bytes()));
            Arc::new(repeat_view(&single, num_rows)?)
        }
        DataType::Boolean => {
            let values = if parse_bool(trimmed)? {
                BooleanBuffer::new_set(num_rows)
            } else {
                BooleanBuffer::new_unset(num_rows)
            };
            Arc::new(BooleanArray::new(values, None))
        }
        DataType::Int8 => Arc::new(Int8Array::from_value(
            parse_integer(trimmed, i8::MIN, i8::MAX)?,
            num_rows,
        )),
        DataType::Int16 => Arc::new(Int16Array::from_value(
            parse_integer(trimmed, i16::MIN, i16::MAX)?,
            num_rows,
        )),
        DataType::Int32 => Arc::new(Int32Array::from_value(
            parse_integer(trimmed, i32::MIN, i32::MAX)?,
            num_rows,
        )),
        DataType::Int64 => Arc::new(Int64Array::from_value(
            parse_integer(trimmed, i64::MIN, i64::MAX)?,
            num_rows,
        )),
        DataType::Float32 => Arc::new(Float32Array::from_value(parse_float(trimmed)?, num_rows)),
        DataType::Float64 => Arc::new(Float64Array::from_value(parse_float(trimmed)?, num_rows)),
        DataType::Date32 => Arc::new(Date32Array::from_value(parse_date(trimmed)?, num_rows)),
        DataType::Timestamp(TimeUnit::Microsecond, time_zone) => {
            let micros = parse_timestamp(trimmed, time_zone.is_some())?;
            Arc::new(
                TimestampMicrosecondArray::from_value(micros, num_rows)
                    .with_timezone_opt(time_zone.clone()),
            )
        }
        DataType::Decimal128(precision, scale) => {
            let unscaled = parse_decimal(trimmed, *precision, *scale)?;
            Arc::new(
                Decimal128Array::from_value(unscaled, num_rows)
                    .with_precision_and_scale(*precision, *scale)
                    .map_err(|e| e.to_string())?,
            )
        }
        DataType::Null => {
            return Err("a column of type Null can only hold null partition values".to_string());
        }
        other => {
            return Err(format!(
                "partition columns of type {other} are not supported (supported: string, \
                 binary, boolean, integer types, float, double, decimal, date, timestamp, \
                 timestamp_ntz)"
            ));
        }
    };
    Ok(array)
}

/// A string or binary array holding `num_rows` copies of `bytes`, built at its final size.
fn repeat_bytes<T: ByteArrayType>(
    bytes: &[u8],
    num_rows: usize,
) -> std::result::Result<GenericByteArray<T>, String> {
    bytes
        .len()
        .checked_mul(num_rows)
        .filter(|total| T::Offset::from_usize(*total).is_some())
        .ok_or_else(|| {
            format!(
                "{num_rows} copies of a {}-byte value do not fit in one {} array; use a \
                 smaller batch size",
                bytes.len(),
                T::DATA_TYPE
            )
        })?;
    let values = Buffer::from_vec(bytes.repeat(num_rows));
    let offsets = OffsetBuffer::<T::Offset>::from_repeated_length(bytes.len(), num_rows);
    GenericByteArray::<T>::try_new(offsets, values, None).map_err(|e| e.to_string())
}

/// A view array holding `num_rows` copies of the single value of `single`: every view is the
/// same 16 bytes and points into the same (shared) data buffer.
fn repeat_view<T: ByteViewType + ?Sized>(
    single: &GenericByteViewArray<T>,
    num_rows: usize,
) -> std::result::Result<GenericByteViewArray<T>, String> {
    let view = single
        .views()
        .first()
        .copied()
        .ok_or_else(|| "internal error: empty single-value view array".to_string())?;
    let views = ScalarBuffer::from(vec![view; num_rows]);
    GenericByteViewArray::<T>::try_new(views, single.data_buffers().to_vec(), None)
        .map_err(|e| e.to_string())
}

/// `true` or `false`, in any letter case.
fn parse_bool(text: &str) -> std::result::Result<bool, String> {
    if text.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected 'true' or 'false'".to_string())
    }
}

/// A decimal integer of type `T`, whose range `min..=max` is named in the overflow error.
fn parse_integer<T>(text: &str, min: T, max: T) -> std::result::Result<T, String>
where
    T: FromStr<Err = std::num::ParseIntError> + Display,
{
    text.parse::<T>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
            format!("out of range: the type holds {min} to {max}")
        }
        _ => "not an integer".to_string(),
    })
}

/// A float or double, including `NaN`, `Infinity` and `-Infinity` (as Java and Spark write them).
fn parse_float<T: FromStr>(text: &str) -> std::result::Result<T, String> {
    text.parse::<T>()
        .map_err(|_| "not a floating-point number (expected e.g. 1.5, -2e10, NaN, Infinity)".into())
}

/// A date `yyyy-mm-dd` as days since 1970-01-01.
fn parse_date(text: &str) -> std::result::Result<i32, String> {
    let mut scanner = Scanner::new(text);
    let date = scanner.date()?;
    if !scanner.is_done() {
        return Err(format!(
            "unexpected text {:?} after the date; expected yyyy-mm-dd",
            scanner.rest()
        ));
    }
    Ok(date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// A timestamp as microseconds since the epoch. With `adjust_to_utc` (Delta `timestamp`) an
/// offset converts the value to UTC; without it (Delta `timestamp_ntz`) only a zero offset is
/// allowed and the wall-clock value is kept.
fn parse_timestamp(text: &str, adjust_to_utc: bool) -> std::result::Result<i64, String> {
    const EXPECTED: &str =
        "expected yyyy-mm-dd hh:mm:ss[.ffffff], optionally with 'T' and 'Z' or a UTC offset";
    let mut scanner = Scanner::new(text);
    let date = scanner.date().map_err(|e| format!("{e}; {EXPECTED}"))?;
    let mut offset_seconds = None;
    let time = if scanner.is_done() {
        NaiveTime::MIN
    } else {
        if scanner.eat_any(b" Tt").is_none() {
            return Err(format!(
                "expected ' ' or 'T' between the date and the time; {EXPECTED}"
            ));
        }
        let hour = scanner.number(1, 2, "hour")?;
        if !scanner.eat(b':') {
            return Err(format!("expected ':' after the hour; {EXPECTED}"));
        }
        let minute = scanner.number(1, 2, "minute")?;
        let second = if scanner.eat(b':') {
            scanner.number(1, 2, "second")?
        } else {
            0
        };
        let micros = if scanner.eat(b'.') {
            scanner.fraction_micros()?
        } else {
            0
        };
        offset_seconds = scanner.utc_offset()?;
        NaiveTime::from_hms_micro_opt(hour, minute, second, micros)
            .ok_or_else(|| format!("{hour:02}:{minute:02}:{second:02} is not a time of day"))?
    };
    if !scanner.is_done() {
        return Err(format!(
            "unexpected text {:?} in the timestamp; {EXPECTED}",
            scanner.rest()
        ));
    }
    let wall_clock = NaiveDateTime::new(date, time).and_utc().timestamp_micros();
    match offset_seconds {
        None | Some(0) => Ok(wall_clock),
        Some(_) if !adjust_to_utc => Err(
            "a timestamp without time zone (timestamp_ntz) cannot carry a UTC offset".to_string(),
        ),
        Some(offset) => wall_clock
            .checked_sub(offset * 1_000_000)
            .ok_or_else(|| "the timestamp is out of range".to_string()),
    }
}

/// A decimal number as the unscaled integer of `Decimal128(precision, scale)`, exactly.
fn parse_decimal(text: &str, precision: u8, scale: i8) -> std::result::Result<i128, String> {
    if precision == 0 || precision > MAX_DECIMAL128_PRECISION {
        return Err(format!(
            "decimal precision {precision} is outside 1 to {MAX_DECIMAL128_PRECISION}"
        ));
    }
    const NOT_A_NUMBER: &str = "not a decimal number (expected e.g. -12.340)";
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => {
            let exponent = unsigned[at + 1..]
                .parse::<i32>()
                .map_err(|_| NOT_A_NUMBER.to_string())?;
            (&unsigned[..at], exponent)
        }
        None => (unsigned, 0),
    };
    let (integer_digits, fraction_digits) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (integer_digits.is_empty() && fraction_digits.is_empty())
        || !all_digits(integer_digits)
        || !all_digits(fraction_digits)
    {
        return Err(NOT_A_NUMBER.to_string());
    }
    // The value is `digits * 10^-value_scale`; drop leading and trailing zeros so that only
    // significant digits remain.
    let digits: Vec<u8> = integer_digits
        .bytes()
        .chain(fraction_digits.bytes())
        .map(|b| b - b'0')
        .collect();
    let mut value_scale = i64::try_from(fraction_digits.len())
        .map_err(|_| NOT_A_NUMBER.to_string())?
        - i64::from(exponent);
    let Some(first) = digits.iter().position(|d| *d != 0) else {
        return Ok(0);
    };
    let last = digits.iter().rposition(|d| *d != 0).unwrap_or(first);
    let significant = &digits[first..=last];
    value_scale -= i64::try_from(digits.len() - 1 - last).map_err(|_| NOT_A_NUMBER.to_string())?;
    let scale = i64::from(scale);
    if value_scale > scale {
        return Err(format!(
            "has {value_scale} significant fraction digits but the column's scale is {scale}; \
             the value would have to be rounded"
        ));
    }
    let shift = scale - value_scale;
    let needed = i64::try_from(significant.len()).map_err(|_| NOT_A_NUMBER.to_string())? + shift;
    if needed > i64::from(precision) {
        return Err(format!(
            "needs {needed} digits at scale {scale}, more than the column's precision {precision}"
        ));
    }
    let overflow = || "the value does not fit a 128-bit decimal".to_string();
    let mut unscaled: i128 = 0;
    for digit in significant {
        unscaled = unscaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(*digit)))
            .ok_or_else(overflow)?;
    }
    let factor = u32::try_from(shift)
        .ok()
        .and_then(|shift| 10_i128.checked_pow(shift))
        .ok_or_else(overflow)?;
    unscaled = unscaled.checked_mul(factor).ok_or_else(overflow)?;
    Ok(if negative { -unscaled } else { unscaled })
}

/// A cursor over the ASCII text of a date or timestamp.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn is_done(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, bytes: &[u8]) -> Option<u8> {
        let byte = self.peek().filter(|b| bytes.contains(b))?;
        self.pos += 1;
        Some(byte)
    }

    /// Reads `min..=max` decimal digits; more digits than `max` is an error.
    fn number(&mut self, min: usize, max: usize, what: &str) -> std::result::Result<u32, String> {
        let digits = self.digits();
        if digits.len() < min || digits.len() > max {
            let count = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(format!("expected {count} digits for the {what}"));
        }
        digits.parse::<u32>().map_err(|_| format!("invalid {what}"))
    }

    /// Reads exactly `count` decimal digits (digits may follow).
    fn fixed(&mut self, count: usize, what: &str) -> std::result::Result<u32, String> {
        let start = self.pos;
        let end = start + count;
        let digits = self
            .text
            .get(start..end)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("expected {count} digits for the {what}"))?;
        self.pos = end;
        digits.parse::<u32>().map_err(|_| format!("invalid {what}"))
    }

    fn digits(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// `[+-]yyyy-m-d`, with 4 to 6 year digits.
    fn date(&mut self) -> std::result::Result<NaiveDate, String> {
        let negative = self.eat_any(b"+-") == Some(b'-');
        let year = i32::try_from(self.number(4, 6, "year")?).map_err(|_| "invalid year")?;
        let year = if negative { -year } else { year };
        if !self.eat(b'-') {
            return Err("expected '-' after the year".to_string());
        }
        let month = self.number(1, 2, "month")?;
        if !self.eat(b'-') {
            return Err("expected '-' after the month".to_string());
        }
        let day = self.number(1, 2, "day")?;
        NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| format!("{year:04}-{month:02}-{day:02} is not a valid date"))
    }

    /// The digits after a '.', as microseconds; digits beyond the sixth must be zeros.
    fn fraction_micros(&mut self) -> std::result::Result<u32, String> {
        let digits = self.digits();
        if digits.is_empty() || digits.len() > 9 {
            return Err("expected 1 to 6 digits of fractional seconds".to_string());
        }
        let (micro_digits, finer) = digits.split_at(digits.len().min(6));
        if finer.bytes().any(|b| b != b'0') {
            return Err(
                "the timestamp is finer than microseconds, which Delta timestamps cannot hold"
                    .to_string(),
            );
        }
        let value = micro_digits
            .parse::<u32>()
            .map_err(|_| "invalid fractional seconds".to_string())?;
        Ok(value * 10_u32.pow(6 - micro_digits.len() as u32))
    }

    /// An optional `Z`, `+hh:mm`, `+hhmm` or `+hh` (or with `-`), in seconds east of UTC.
    fn utc_offset(&mut self) -> std::result::Result<Option<i64>, String> {
        if self.eat_any(b"Zz").is_some() {
            return Ok(Some(0));
        }
        let Some(sign) = self.eat_any(b"+-") else {
            return Ok(None);
        };
        let hours = self.fixed(2, "offset hours")?;
        let minutes = if self.eat(b':') || self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.fixed(2, "offset minutes")?
        } else {
            0
        };
        if hours > 23 || minutes > 59 {
            return Err(format!("{hours:02}:{minutes:02} is not a valid UTC offset"));
        }
        let seconds = i64::from(hours * 3600 + minutes * 60);
        Ok(Some(if sign == b'-' { -seconds } else { seconds }))
    }
}

/// Serializes one value of a partition column the way the Delta protocol stores it in
/// `add.partitionValues`; the inverse of [`partition_array`].
///
/// Returns `None` for a null value, and also for an empty string or empty binary value, since
/// the protocol reads an empty string as null (Spark writes such values as null too). Formats:
/// - strings as they are; binary as its UTF-8 text (an error when it is not valid UTF-8);
/// - integers in decimal; booleans `true`/`false`;
/// - floats and doubles in their shortest round-tripping form (`1.0`, `1e20`, `0.1`), with
///   `NaN`, `Infinity` and `-Infinity` spelled as Spark spells them;
/// - decimals as plain text with exactly `scale` fraction digits (`-12.340` for scale 3);
/// - dates `yyyy-MM-dd`; timestamps `yyyy-MM-dd HH:mm:ss.SSSSSS` — in UTC for a timestamp with
///   a time zone (whatever zone label the array has), as the wall-clock value for one without.
///   Years beyond 9999 or before 0 carry a sign (`+10000-01-01`), which [`partition_array`]
///   reads back.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `row` is out of bounds, the array's type cannot be a
/// partition column, a binary value is not UTF-8, or a date or timestamp is outside the
/// representable calendar.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use arrow::array::{ArrayRef, Decimal128Array, TimestampMicrosecondArray};
/// use tidemark_core::partition::serialize_partition_value;
///
/// let amounts = Decimal128Array::from(vec![Some(-12340), None])
///     .with_precision_and_scale(10, 3)
///     .unwrap();
/// assert_eq!(serialize_partition_value(&amounts, 0).unwrap().as_deref(), Some("-12.340"));
/// assert_eq!(serialize_partition_value(&amounts, 1).unwrap(), None);
///
/// let times = TimestampMicrosecondArray::from(vec![1_500_000]).with_timezone("UTC");
/// assert_eq!(
///     serialize_partition_value(&times, 0).unwrap().as_deref(),
///     Some("1970-01-01 00:00:01.500000")
/// );
/// ```
pub fn serialize_partition_value(array: &dyn Array, row: usize) -> Result<Option<String>> {
    if row >= array.len() {
        return Err(Error::InvalidArgument(format!(
            "row {row} is out of bounds for a partition column of {} rows",
            array.len()
        )));
    }
    if array.is_null(row) {
        return Ok(None);
    }
    let data_type = array.data_type();
    let wrong_type = || {
        Error::InvalidArgument(format!(
            "internal error: array does not match its data type {data_type}"
        ))
    };
    let text = match data_type {
        DataType::Null => return Ok(None),
        DataType::Utf8 => array
            .as_string_opt::<i32>()
            .ok_or_else(wrong_type)?
            .value(row)
            .to_string(),
        DataType::LargeUtf8 => array
            .as_string_opt::<i64>()
            .ok_or_else(wrong_type)?
            .value(row)
            .to_string(),
        DataType::Utf8View => array
            .as_string_view_opt()
            .ok_or_else(wrong_type)?
            .value(row)
            .to_string(),
        DataType::Binary => binary_text(binary_value::<i32>(array, row).ok_or_else(wrong_type)?)?,
        DataType::LargeBinary => {
            binary_text(binary_value::<i64>(array, row).ok_or_else(wrong_type)?)?
        }
        DataType::BinaryView => binary_text(
            array
                .as_binary_view_opt()
                .ok_or_else(wrong_type)?
                .value(row),
        )?,
        DataType::Boolean => array
            .as_boolean_opt()
            .ok_or_else(wrong_type)?
            .value(row)
            .to_string(),
        DataType::Int8 => primitive_text::<Int8Type>(array, row).ok_or_else(wrong_type)?,
        DataType::Int16 => primitive_text::<Int16Type>(array, row).ok_or_else(wrong_type)?,
        DataType::Int32 => primitive_text::<Int32Type>(array, row).ok_or_else(wrong_type)?,
        DataType::Int64 => primitive_text::<Int64Type>(array, row).ok_or_else(wrong_type)?,
        DataType::Float32 => {
            let value = array
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(wrong_type)?
                .value(row);
            format_float(value, value.is_nan(), value.is_infinite(), value < 0.0)
        }
        DataType::Float64 => {
            let value = array
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(wrong_type)?
                .value(row);
            format_float(value, value.is_nan(), value.is_infinite(), value < 0.0)
        }
        DataType::Date32 => {
            let days = array
                .as_primitive_opt::<Date32Type>()
                .ok_or_else(wrong_type)?
                .value(row);
            let date = days
                .checked_add(UNIX_EPOCH_DAYS_FROM_CE)
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "date {days} days from 1970-01-01 is outside the supported calendar"
                    ))
                })?;
            format_date(date)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let micros = array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(wrong_type)?
                .value(row);
            let at = DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "timestamp {micros} µs from the epoch is outside the supported calendar"
                    ))
                })?
                .naive_utc();
            format!(
                "{} {:02}:{:02}:{:02}.{:06}",
                format_date(at.date()),
                at.hour(),
                at.minute(),
                at.second(),
                at.nanosecond() / 1_000
            )
        }
        DataType::Decimal128(_, scale) => format_decimal(
            array
                .as_primitive_opt::<Decimal128Type>()
                .ok_or_else(wrong_type)?
                .value(row),
            *scale,
        ),
        other => {
            return Err(Error::InvalidArgument(format!(
                "cannot serialize a partition value of type {other}: not a supported partition \
                 column type"
            )));
        }
    };
    Ok(if text.is_empty() { None } else { Some(text) })
}

fn primitive_text<T>(array: &dyn Array, row: usize) -> Option<String>
where
    T: arrow::datatypes::ArrowPrimitiveType,
    T::Native: Display,
{
    Some(array.as_primitive_opt::<T>()?.value(row).to_string())
}

fn binary_value<O: OffsetSizeTrait>(array: &dyn Array, row: usize) -> Option<&[u8]> {
    Some(array.as_binary_opt::<O>()?.value(row))
}

fn binary_text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        Error::InvalidArgument(format!(
            "a binary partition value must be valid UTF-8 to be stored in the Delta log: {e}"
        ))
    })
}

/// Shortest round-tripping text of a float, with Java's spellings of the special values.
fn format_float<F: std::fmt::Debug>(
    value: F,
    is_nan: bool,
    is_infinite: bool,
    negative: bool,
) -> String {
    match (is_nan, is_infinite, negative) {
        (true, _, _) => "NaN".to_string(),
        (false, true, true) => "-Infinity".to_string(),
        (false, true, false) => "Infinity".to_string(),
        _ => format!("{value:?}"),
    }
}

/// `yyyy-MM-dd`, with a sign on years outside 0..=9999.
fn format_date(date: NaiveDate) -> String {
    let year = date.year();
    let year_text = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else {
        format!("+{year}")
    };
    format!("{year_text}-{:02}-{:02}", date.month(), date.day())
}

/// Plain decimal text of `unscaled * 10^-scale`, with exactly `scale` fraction digits.
fn format_decimal(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 4);
    if unscaled < 0 {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(&digits);
        if unscaled != 0 {
            out.extend(std::iter::repeat_n('0', usize::from(scale.unsigned_abs())));
        }
        return out;
    }
    let scale = usize::from(scale.unsigned_abs());
    if digits.len() > scale {
        let (integer, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(integer);
        out.push('.');
        out.push_str(fraction);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// True for the characters Hive and Spark percent-escape in partition directory names
/// (`ExternalCatalogUtils.charToEscape`): the control characters U+0001 to U+001F, `"`, `#`,
/// `%`, `'`, `*`, `/`, `:`, `=`, `?`, `\`, U+007F, `{`, `[`, `]` and `^`.
fn needs_escaping(c: char) -> bool {
    matches!(
        c,
        '\u{01}'
            ..='\u{1F}'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7F}'
                | '{'
                | '['
                | ']'
                | '^'
    )
}

/// Escapes a partition column name or value for use in a directory name, as Hive and Spark do:
/// each of the control characters U+0001 to U+001F, `"`, `#`, `%`, `'`, `*`, `/`, `:`, `=`, `?`,
/// `\`, U+007F, `{`, `[`, `]` and `^` becomes `%XX` (uppercase hex). Everything else — spaces,
/// other punctuation, non-ASCII text such as emoji — is kept as is.
///
/// (Spark on Windows also escapes space, `<`, `>` and `|`; Tidemark uses the list Spark uses on
/// every other platform, which is what tables in object stores contain.) The result is a
/// directory name, not a URI: `add.path` in the log URI-encodes the whole path on top of this.
///
/// # Example
///
/// ```
/// use tidemark_core::partition::escape_path_component;
///
/// assert_eq!(escape_path_component("2021-09-08 11:11:11"), "2021-09-08 11%3A11%3A11");
/// assert_eq!(escape_path_component("a/b=50%"), "a%2Fb%3D50%25");
/// assert_eq!(escape_path_component("😈"), "😈");
/// ```
pub fn escape_path_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if needs_escaping(c) {
            out.push_str(&format!("%{:02X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`escape_path_component`]: decodes every `%XX` (either letter case) back to its
/// byte. Decoded bytes must form valid UTF-8, so percent-encoded UTF-8 sequences written by
/// other tools (`%C3%A9`) decode too.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when a `%` is not followed by two hex digits (an escaped name
/// never contains a bare `%`), or when the decoded bytes are not UTF-8.
///
/// # Example
///
/// ```
/// use tidemark_core::partition::unescape_path_component;
///
/// assert_eq!(unescape_path_component("a%2Fb%3D50%25").unwrap(), "a/b=50%");
/// assert!(unescape_path_component("50%").is_err());
/// ```
pub fn unescape_path_component(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let decoded = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "invalid escape at byte {i} of path component {value:?}: '%' must be \
                         followed by two hex digits"
                    ))
                })?;
            out.push(decoded);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| {
        Error::InvalidArgument(format!(
            "path component {value:?} does not decode to UTF-8 text: {e}"
        ))
    })
}

/// The Hive-style directory prefix of a data file with these partition values, in the given
/// column order: `a=1/b=__HIVE_DEFAULT_PARTITION__/`, with names and values escaped by
/// [`escape_path_component`] and a trailing `/` (empty for no columns).
///
/// A null or empty value is written as [`HIVE_DEFAULT_PARTITION`], as Spark does. Pass the
/// physical column names (they differ from the logical names under column mapping) and the
/// serialized values of [`serialize_partition_value`]. The Delta log then URI-encodes the whole
/// path in `add.path`; that is not done here.
///
/// # Example
///
/// ```
/// use tidemark_core::partition::partition_directory;
///
/// let dir = partition_directory(&[("date", Some("2024-01-31")), ("city", None), ("q", Some("a:b"))]);
/// assert_eq!(dir, "date=2024-01-31/city=__HIVE_DEFAULT_PARTITION__/q=a%3Ab/");
/// ```
pub fn partition_directory(columns: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (name, value) in columns {
        out.push_str(&escape_path_component(name));
        out.push('=');
        match value {
            None | Some("") => out.push_str(HIVE_DEFAULT_PARTITION),
            Some(value) => out.push_str(&escape_path_component(value)),
        }
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use arrow::array::{
        BinaryArray, LargeStringArray, ListArray, NullArray, StringArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, TimeUnit};

    use super::*;
    use crate::actions::{Action, parse_commit};

    fn utc() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    fn ntz() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    }

    /// Every Delta primitive type's Arrow type.
    fn all_types() -> Vec<DataType> {
        vec![
            DataType::Utf8,
            DataType::Int64,
            DataType::Int32,
            DataType::Int16,
            DataType::Int8,
            DataType::Float32,
            DataType::Float64,
            DataType::Boolean,
            DataType::Binary,
            DataType::Date32,
            utc(),
            ntz(),
            DataType::Decimal128(10, 2),
        ]
    }

    fn parse(value: &str, data_type: &DataType) -> ArrayRef {
        partition_array("col", Some(value), data_type, 3)
            .unwrap_or_else(|e| panic!("{value:?} as {data_type}: {e}"))
    }

    fn parse_err(value: &str, data_type: &DataType) -> String {
        let err = partition_array("my_col", Some(value), data_type, 2)
            .expect_err(&format!("{value:?} should not parse as {data_type}"));
        match &err {
            Error::PartitionValue {
                column,
                value: v,
                data_type: t,
                ..
            } => {
                assert_eq!(column, "my_col");
                assert_eq!(v, value);
                assert_eq!(t, &data_type.to_string());
            }
            other => panic!("unexpected error {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("my_col") && text.contains(&format!("{value:?}")),
            "{text}"
        );
        text
    }

    fn i64_of(value: &str, data_type: &DataType) -> i64 {
        let array = parse(value, data_type);
        match data_type {
            DataType::Int64 => array.as_primitive::<Int64Type>().value(0),
            DataType::Timestamp(..) => array.as_primitive::<TimestampMicrosecondType>().value(0),
            other => panic!("no i64 for {other}"),
        }
    }

    fn decimal_of(value: &str, precision: u8, scale: i8) -> i128 {
        let array = parse(value, &DataType::Decimal128(precision, scale));
        assert_eq!(array.data_type(), &DataType::Decimal128(precision, scale));
        array.as_primitive::<Decimal128Type>().value(2)
    }

    fn days(y: i32, m: u32, d: u32) -> i32 {
        (NaiveDate::from_ymd_opt(y, m, d).unwrap() - DateTime::UNIX_EPOCH.date_naive()).num_days()
            as i32
    }

    #[test]
    fn null_and_empty_string_are_null_for_every_type() {
        for data_type in all_types().into_iter().chain([
            DataType::LargeUtf8,
            DataType::Utf8View,
            DataType::LargeBinary,
            DataType::BinaryView,
            DataType::Null,
        ]) {
            for value in [None, Some("")] {
                let array = partition_array("c", value, &data_type, 4).unwrap();
                assert_eq!(array.data_type(), &data_type);
                assert_eq!(array.len(), 4);
                assert_eq!(array.logical_null_count(), 4, "{data_type} {value:?}");
            }
            let empty = partition_array("c", None, &data_type, 0).unwrap();
            assert_eq!(empty.len(), 0);
        }
        // Whitespace is not empty for strings.
        let spaces = parse(" ", &DataType::Utf8);
        assert_eq!(spaces.as_string::<i32>().value(0), " ");
    }

    #[test]
    fn strings_and_binary() {
        let array = parse(" a b ", &DataType::Utf8);
        let strings = array.as_string::<i32>();
        assert_eq!(strings.len(), 3);
        assert!(strings.iter().all(|v| v == Some(" a b ")));
        let large = parse("x=y/z", &DataType::LargeUtf8);
        assert_eq!(large.as_string::<i64>().value(2), "x=y/z");
        let view = parse("a string longer than twelve bytes", &DataType::Utf8View);
        assert_eq!(
            view.as_string_view().value(1),
            "a string longer than twelve bytes"
        );
        let short_view = parse("short", &DataType::Utf8View);
        assert_eq!(short_view.as_string_view().value(2), "short");

        let binary = parse("😈", &DataType::Binary);
        assert_eq!(binary.as_binary::<i32>().value(2), "😈".as_bytes());
        assert_eq!(binary.as_binary::<i32>().value(0), [0xF0, 0x9F, 0x98, 0x88]);
        let large_binary = parse("\u{1}\u{2}", &DataType::LargeBinary);
        assert_eq!(large_binary.as_binary::<i64>().value(1), [1, 2]);
        let binary_view = parse("bytes", &DataType::BinaryView);
        assert_eq!(binary_view.as_binary_view().value(2), b"bytes");
    }

    #[test]
    fn integers_of_every_width() {
        let int8 = parse("-128", &DataType::Int8);
        assert_eq!(int8.as_primitive::<Int8Type>().value(2), -128);
        assert_eq!(
            parse("127", &DataType::Int8)
                .as_primitive::<Int8Type>()
                .value(0),
            127
        );
        assert_eq!(
            parse("-32768", &DataType::Int16)
                .as_primitive::<Int16Type>()
                .value(0),
            -32768
        );
        assert_eq!(
            parse("2147483647", &DataType::Int32)
                .as_primitive::<Int32Type>()
                .value(1),
            i32::MAX
        );
        assert_eq!(i64_of("-9223372036854775808", &DataType::Int64), i64::MIN);
        assert_eq!(i64_of(" 42 ", &DataType::Int64), 42);
        assert_eq!(i64_of("+7", &DataType::Int64), 7);
    }

    #[test]
    fn integer_overflow_and_garbage_are_errors() {
        let text = parse_err("128", &DataType::Int8);
        assert!(
            text.contains("out of range") && text.contains("-128 to 127"),
            "{text}"
        );
        parse_err("-129", &DataType::Int8);
        parse_err("32768", &DataType::Int16);
        parse_err("2147483648", &DataType::Int32);
        let text = parse_err("9223372036854775808", &DataType::Int64);
        assert!(text.contains("out of range"), "{text}");
        let text = parse_err("1.0", &DataType::Int32);
        assert!(text.contains("not an integer"), "{text}");
        parse_err("abc", &DataType::Int64);
        parse_err("1 2", &DataType::Int64);
        parse_err("0x10", &DataType::Int64);
    }

    #[test]
    fn floats_and_doubles() {
        let f = parse("1.5", &DataType::Float32);
        assert_eq!(f.as_primitive::<Float32Type>().value(2), 1.5);
        let d = |v: &str| {
            parse(v, &DataType::Float64)
                .as_primitive::<Float64Type>()
                .value(0)
        };
        assert_eq!(d("1.0"), 1.0);
        assert_eq!(d("-2e10"), -2e10);
        assert_eq!(d("0.1"), 0.1);
        assert!(d("NaN").is_nan());
        assert_eq!(d("Infinity"), f64::INFINITY);
        assert_eq!(d("-Infinity"), f64::NEG_INFINITY);
        let f_inf = parse("-Infinity", &DataType::Float32);
        assert_eq!(
            f_inf.as_primitive::<Float32Type>().value(0),
            f32::NEG_INFINITY
        );
        let text = parse_err("one", &DataType::Float64);
        assert!(text.contains("floating-point"), "{text}");
        parse_err("1,5", &DataType::Float32);
    }

    #[test]
    fn booleans() {
        let b = |v: &str| parse(v, &DataType::Boolean).as_boolean().value(2);
        assert!(b("true"));
        assert!(b("TRUE"));
        assert!(b("True"));
        assert!(!b("false"));
        assert!(!b("FaLsE"));
        let array = parse("true", &DataType::Boolean);
        assert_eq!(array.as_boolean().true_count(), 3);
        parse_err("yes", &DataType::Boolean);
        parse_err("1", &DataType::Boolean);
    }

    #[test]
    fn dates() {
        let d = |v: &str| {
            parse(v, &DataType::Date32)
                .as_primitive::<Date32Type>()
                .value(0)
        };
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("1969-12-31"), -1);
        assert_eq!(d("2021-09-08"), 18878);
        assert_eq!(d("2021-9-8"), 18878);
        assert_eq!(d("0001-01-01"), days(1, 1, 1));
        assert_eq!(d("+10000-01-01"), days(10000, 1, 1));
        assert_eq!(d("-0001-12-31"), days(-1, 12, 31));
        let text = parse_err("2021-02-30", &DataType::Date32);
        assert!(text.contains("not a valid date"), "{text}");
        parse_err("2021/09/08", &DataType::Date32);
        parse_err("21-09-08", &DataType::Date32);
        parse_err("2021-09-08x", &DataType::Date32);
        parse_err("2021-09-08 00:00:00", &DataType::Date32);
        parse_err("yesterday", &DataType::Date32);
    }

    #[test]
    fn timestamp_formats() {
        for t in [utc(), ntz()] {
            assert_eq!(i64_of("1970-01-01 00:00:00", &t), 0);
            assert_eq!(i64_of("1970-01-01 00:00:00.123456", &t), 123_456);
            assert_eq!(i64_of("1970-01-01 00:00:00.1", &t), 100_000);
            assert_eq!(i64_of("1970-01-01 00:00:00.000001", &t), 1);
            assert_eq!(i64_of("1970-01-01 00:00:00.123456000", &t), 123_456);
            assert_eq!(i64_of("1970-01-01T00:00:00.123456Z", &t), 123_456);
            assert_eq!(i64_of("1970-01-01T00:00:00Z", &t), 0);
            assert_eq!(i64_of("1970-01-01T00:00:00+00:00", &t), 0);
            assert_eq!(i64_of("1970-01-01 00:01", &t), 60_000_000);
            assert_eq!(i64_of("1970-01-02", &t), 86_400_000_000);
            assert_eq!(i64_of("1969-12-31 23:59:59.999999", &t), -1);
            assert_eq!(i64_of("2021-09-08 11:11:11", &t), 1_631_099_471_000_000);
            assert_eq!(i64_of("2021-09-08T11:11:11", &t), 1_631_099_471_000_000);
            assert_eq!(
                i64_of("1971-07-22T03:06:40.000000Z", &t),
                49_000_000_000_000
            );

            let text = parse_err("1970-01-01 00:00:00.1234567", &t);
            assert!(text.contains("finer than microseconds"), "{text}");
            parse_err("1970-01-01 00:00:00.", &t);
            parse_err("1970-01-01 25:00:00", &t);
            parse_err("1970-01-01 00:60:00", &t);
            parse_err("1970-01-01 00:00:60", &t);
            parse_err("1970-01-01 00:00:00 UTC", &t);
            parse_err("1970-01-01X00:00:00", &t);
            parse_err("1970-01-01T00:00:00+1", &t);
            parse_err("1970-01-01T00:00:00+24:00", &t);
            parse_err("noon", &t);
        }
        // With an offset, a timestamp with time zone is converted to UTC.
        assert_eq!(i64_of("1970-01-01T01:00:00+01:00", &utc()), 0);
        assert_eq!(i64_of("1970-01-01T01:00:00+0100", &utc()), 0);
        assert_eq!(i64_of("1970-01-01T01:00:00+01", &utc()), 0);
        assert_eq!(i64_of("1969-12-31T18:30:00.5-05:30", &utc()), 500_000);
        assert_eq!(
            i64_of("2021-09-08 16:41:11+05:30", &utc()),
            1_631_099_471_000_000
        );
        // ... but a timestamp without time zone refuses a non-zero offset.
        let text = parse_err("1970-01-01T01:00:00+01:00", &ntz());
        assert!(text.contains("timestamp_ntz"), "{text}");

        // The requested zone label is kept.
        let array = parse("1970-01-01 00:00:00", &utc());
        assert_eq!(array.data_type(), &utc());
        let array = parse("1970-01-01 00:00:00", &ntz());
        assert_eq!(array.data_type(), &ntz());
    }

    #[test]
    fn decimal_precision_and_scale() {
        assert_eq!(decimal_of("-2342342.23423", 12, 5), -234_234_223_423);
        assert_eq!(decimal_of("234.00000", 12, 5), 23_400_000);
        assert_eq!(decimal_of("0.00004", 12, 5), 4);
        assert_eq!(decimal_of("2342222.23454", 12, 5), 234_222_223_454);
        assert_eq!(decimal_of("-12.340", 10, 3), -12_340);
        assert_eq!(decimal_of("-12.34", 10, 3), -12_340);
        assert_eq!(decimal_of("1.5", 5, 2), 150);
        assert_eq!(decimal_of("1", 1, 0), 1);
        assert_eq!(decimal_of("1.20", 5, 1), 12);
        assert_eq!(decimal_of("1.5E+2", 5, 0), 150);
        assert_eq!(decimal_of("15e-1", 5, 1), 15);
        assert_eq!(decimal_of("0E-10", 5, 2), 0);
        assert_eq!(decimal_of("-0.000", 1, 0), 0);
        assert_eq!(decimal_of(".5", 2, 1), 5);
        assert_eq!(decimal_of("5.", 2, 1), 50);
        assert_eq!(decimal_of("999.99", 5, 2), 99_999);
        assert_eq!(
            decimal_of("99999999999999999999999999999999999999", 38, 0),
            99_999_999_999_999_999_999_999_999_999_999_999_999
        );
        assert_eq!(
            decimal_of("-0.00000000000000000000000000000000000001", 38, 38),
            -1
        );
        assert_eq!(decimal_of("1200", 4, -2), 12);

        let text = parse_err("1000.00", &DataType::Decimal128(5, 2));
        assert!(text.contains("precision 5"), "{text}");
        let text = parse_err("12.345", &DataType::Decimal128(5, 2));
        assert!(text.contains("scale is 2"), "{text}");
        parse_err("10", &DataType::Decimal128(1, 0));
        parse_err("1e40", &DataType::Decimal128(38, 0));
        parse_err("1e-99999999999", &DataType::Decimal128(38, 10));
        parse_err("abc", &DataType::Decimal128(5, 2));
        parse_err("1.2.3", &DataType::Decimal128(5, 2));
        parse_err("-", &DataType::Decimal128(5, 2));
        parse_err(".", &DataType::Decimal128(5, 2));
        parse_err("1e", &DataType::Decimal128(5, 2));
        parse_err("NaN", &DataType::Decimal128(5, 2));
        parse_err("1,5", &DataType::Decimal128(5, 2));
        parse_err("1250", &DataType::Decimal128(4, -2));
    }

    #[test]
    fn unsupported_types_are_refused() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let text = parse_err("[1]", &list);
        assert!(text.contains("not supported"), "{text}");
        parse_err("1", &DataType::Timestamp(TimeUnit::Nanosecond, None));
        parse_err("x", &DataType::Null);
        // A null is fine for any type.
        let nulls = partition_array("c", None, &list, 2).unwrap();
        assert_eq!(nulls.null_count(), 2);
    }

    #[test]
    fn large_constant_arrays() {
        let n = 2_000_000;
        let strings = partition_array("c", Some("value"), &DataType::Utf8, n).unwrap();
        assert_eq!(strings.len(), n);
        assert_eq!(strings.as_string::<i32>().value(n - 1), "value");
        assert_eq!(strings.null_count(), 0);
        let longs = partition_array("c", Some("7"), &DataType::Int64, n).unwrap();
        assert_eq!(longs.as_primitive::<Int64Type>().value(n - 1), 7);
        let view = partition_array("c", Some("value"), &DataType::Utf8View, n).unwrap();
        assert_eq!(view.as_string_view().value(n - 1), "value");
        let bools = partition_array("c", Some("true"), &DataType::Boolean, n).unwrap();
        assert_eq!(bools.as_boolean().true_count(), n);
        let zero = partition_array("c", Some("value"), &DataType::Utf8, 0).unwrap();
        assert_eq!(zero.len(), 0);
        // More than 2 GiB of values cannot be one Utf8 array: a clear error, no allocation.
        let err = partition_array("c", Some("xx"), &DataType::Utf8, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("smaller batch size"), "{err}");
    }

    #[test]
    fn serialize_every_type() {
        let s = |array: &dyn Array| serialize_partition_value(array, 0).unwrap();
        assert_eq!(s(&StringArray::from(vec!["a b"])).as_deref(), Some("a b"));
        assert_eq!(s(&StringArray::from(vec![""])), None);
        assert_eq!(s(&LargeStringArray::from(vec!["x"])).as_deref(), Some("x"));
        assert_eq!(
            s(&StringViewArray::from(vec!["a long string view value"])).as_deref(),
            Some("a long string view value")
        );
        assert_eq!(
            s(&BinaryArray::from(vec!["😈".as_bytes()])).as_deref(),
            Some("😈")
        );
        assert_eq!(s(&BinaryArray::from(vec![&b""[..]])), None);
        assert_eq!(s(&BooleanArray::from(vec![true])).as_deref(), Some("true"));
        assert_eq!(
            s(&BooleanArray::from(vec![false])).as_deref(),
            Some("false")
        );
        assert_eq!(s(&Int8Array::from(vec![-128])).as_deref(), Some("-128"));
        assert_eq!(s(&Int16Array::from(vec![300])).as_deref(), Some("300"));
        assert_eq!(s(&Int32Array::from(vec![-5])).as_deref(), Some("-5"));
        assert_eq!(
            s(&Int64Array::from(vec![i64::MAX])).as_deref(),
            Some("9223372036854775807")
        );
        assert_eq!(s(&Float32Array::from(vec![1.0])).as_deref(), Some("1.0"));
        assert_eq!(s(&Float32Array::from(vec![0.1])).as_deref(), Some("0.1"));
        assert_eq!(s(&Float64Array::from(vec![1e20])).as_deref(), Some("1e20"));
        assert_eq!(s(&Float64Array::from(vec![-0.5])).as_deref(), Some("-0.5"));
        assert_eq!(
            s(&Float64Array::from(vec![f64::NAN])).as_deref(),
            Some("NaN")
        );
        assert_eq!(
            s(&Float64Array::from(vec![f64::INFINITY])).as_deref(),
            Some("Infinity")
        );
        assert_eq!(
            s(&Float32Array::from(vec![f32::NEG_INFINITY])).as_deref(),
            Some("-Infinity")
        );
        assert_eq!(
            s(&Date32Array::from(vec![0])).as_deref(),
            Some("1970-01-01")
        );
        assert_eq!(
            s(&Date32Array::from(vec![18878])).as_deref(),
            Some("2021-09-08")
        );
        assert_eq!(
            s(&Date32Array::from(vec![-1])).as_deref(),
            Some("1969-12-31")
        );
        assert_eq!(
            s(&Date32Array::from(vec![days(10000, 1, 1)])).as_deref(),
            Some("+10000-01-01")
        );
        assert_eq!(
            s(&Date32Array::from(vec![days(-1, 12, 31)])).as_deref(),
            Some("-0001-12-31")
        );
        assert!(serialize_partition_value(&Date32Array::from(vec![i32::MAX]), 0).is_err());
        let ts = TimestampMicrosecondArray::from(vec![1_631_099_471_000_123]);
        assert_eq!(
            s(&ts.clone().with_timezone("UTC")).as_deref(),
            Some("2021-09-08 11:11:11.000123")
        );
        // Instants are written in UTC whatever the zone label.
        assert_eq!(
            s(&ts.clone().with_timezone("+05:30")).as_deref(),
            Some("2021-09-08 11:11:11.000123")
        );
        assert_eq!(s(&ts).as_deref(), Some("2021-09-08 11:11:11.000123"));
        assert_eq!(
            s(&TimestampMicrosecondArray::from(vec![-1])).as_deref(),
            Some("1969-12-31 23:59:59.999999")
        );
        let dec = |v: i128, p: u8, sc: i8| {
            s(&Decimal128Array::from(vec![v])
                .with_precision_and_scale(p, sc)
                .unwrap())
            .unwrap()
        };
        assert_eq!(dec(-12_340, 10, 3), "-12.340");
        assert_eq!(dec(0, 10, 2), "0.00");
        assert_eq!(dec(-5, 10, 3), "-0.005");
        assert_eq!(dec(4, 12, 5), "0.00004");
        assert_eq!(dec(23_400_000, 12, 5), "234.00000");
        assert_eq!(dec(7, 1, 0), "7");
        assert_eq!(dec(12, 4, -2), "1200");
        assert_eq!(dec(i128::MIN + 1, 38, 0).len(), 40);
    }

    #[test]
    fn serialize_nulls_bounds_and_bad_input() {
        let array = Int32Array::from(vec![Some(1), None]);
        assert_eq!(serialize_partition_value(&array, 1).unwrap(), None);
        let err = serialize_partition_value(&array, 2).unwrap_err();
        assert!(err.to_string().contains("out of bounds"), "{err}");
        let invalid = BinaryArray::from(vec![&[0xFF, 0xFE][..]]);
        let err = serialize_partition_value(&invalid, 0).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let err = serialize_partition_value(&list, 0).unwrap_err();
        assert!(err.to_string().contains("not a supported"), "{err}");
        assert_eq!(
            serialize_partition_value(&NullArray::new(1), 0).unwrap(),
            None
        );
    }

    #[test]
    fn round_trips_for_every_type() {
        let cases: Vec<(DataType, Vec<&str>)> = vec![
            (
                DataType::Utf8,
                vec!["a", " spaced ", "a/b=c%d#e:f", "😈", "NULL"],
            ),
            (DataType::LargeUtf8, vec!["x"]),
            (
                DataType::Utf8View,
                vec!["short", "a value longer than twelve"],
            ),
            (DataType::Binary, vec!["😈", "\u{1}\u{2}\u{3}"]),
            (
                DataType::Int64,
                vec!["0", "-9223372036854775808", "9223372036854775807"],
            ),
            (DataType::Int32, vec!["-2147483648", "2147483647", "1"]),
            (DataType::Int16, vec!["-32768", "32767"]),
            (DataType::Int8, vec!["-128", "127"]),
            (
                DataType::Float32,
                vec!["1.0", "0.1", "-3.4028235e38", "1e-45", "NaN", "Infinity"],
            ),
            (
                DataType::Float64,
                vec!["1.0", "0.1", "-1e300", "5e-324", "-Infinity", "NaN"],
            ),
            (DataType::Boolean, vec!["true", "false"]),
            (
                DataType::Date32,
                vec![
                    "1970-01-01",
                    "2021-09-08",
                    "0001-01-01",
                    "9999-12-31",
                    "+10000-01-01",
                ],
            ),
            (
                utc(),
                vec![
                    "1970-01-01 00:00:00.000000",
                    "2021-09-08 11:11:11.123456",
                    "1900-02-28 23:59:59.000001",
                ],
            ),
            (
                ntz(),
                vec!["2013-07-05 17:01:00.123456", "0001-01-01 00:00:00.000000"],
            ),
            (
                DataType::Decimal128(12, 5),
                vec!["-2342342.23423", "0.00004", "234.00000", "0.00000"],
            ),
            (
                DataType::Decimal128(38, 0),
                vec!["99999999999999999999999999999999999999", "-1"],
            ),
            (
                DataType::Decimal128(38, 38),
                vec!["0.00000000000000000000000000000000000001"],
            ),
            (DataType::Decimal128(1, 0), vec!["0", "9", "-9"]),
        ];
        for (data_type, values) in cases {
            for value in values {
                let array = parse(value, &data_type);
                let text = serialize_partition_value(array.as_ref(), 2)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{value:?} as {data_type} serialized as null"));
                // Canonical inputs come back unchanged (NaN compared as text).
                assert_eq!(text, value, "{data_type}");
                let again = parse(&text, &data_type);
                assert_eq!(again.to_data(), array.to_data(), "{value:?} as {data_type}");
            }
        }
        // Non-canonical inputs come back canonical.
        let canonical = |value: &str, data_type: &DataType| {
            serialize_partition_value(parse(value, data_type).as_ref(), 0)
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            canonical("1970-01-01T01:00:00+01:00", &utc()),
            "1970-01-01 00:00:00.000000"
        );
        assert_eq!(
            canonical("1970-01-01T00:00:00.5Z", &ntz()),
            "1970-01-01 00:00:00.500000"
        );
        assert_eq!(canonical("2021-9-8", &DataType::Date32), "2021-09-08");
        assert_eq!(canonical("-12.34", &DataType::Decimal128(10, 3)), "-12.340");
        assert_eq!(canonical("TRUE", &DataType::Boolean), "true");
        assert_eq!(canonical("+7", &DataType::Int64), "7");
        assert_eq!(canonical("1", &DataType::Float64), "1.0");
    }

    #[test]
    fn escaping_awkward_values() {
        assert_eq!(escape_path_component("a b"), "a b");
        assert_eq!(escape_path_component("100%"), "100%25");
        assert_eq!(escape_path_component("a/b"), "a%2Fb");
        assert_eq!(escape_path_component("k=v"), "k%3Dv");
        assert_eq!(escape_path_component("#1"), "%231");
        assert_eq!(escape_path_component("11:11:11"), "11%3A11%3A11");
        assert_eq!(escape_path_component("😈"), "😈");
        assert_eq!(escape_path_component("é ü 中"), "é ü 中");
        assert_eq!(escape_path_component("line\nbreak\t"), "line%0Abreak%09");
        assert_eq!(escape_path_component("/%20%f"), "%2F%2520%25f");
        assert_eq!(
            escape_path_component("\"#%'*/:=?\\\u{7F}{[]^"),
            "%22%23%25%27%2A%2F%3A%3D%3F%5C%7F%7B%5B%5D%5E"
        );
        assert_eq!(escape_path_component("\u{1}\u{1F}"), "%01%1F");
        // Not escaped: NUL (as in Spark), space, and other punctuation.
        assert_eq!(
            escape_path_component("\0 !$&()+,;<>@`|}~-._"),
            "\0 !$&()+,;<>@`|}~-._"
        );
        for c in (1u8..0x80).map(char::from) {
            let expected = matches!(
                c,
                '\u{1}'
                    ..='\u{1F}'
                        | '"'
                        | '#'
                        | '%'
                        | '\''
                        | '*'
                        | '/'
                        | ':'
                        | '='
                        | '?'
                        | '\\'
                        | '\u{7F}'
                        | '{'
                        | '['
                        | ']'
                        | '^'
            );
            assert_eq!(
                escape_path_component(&c.to_string()) != c.to_string(),
                expected,
                "{c:?}"
            );
        }
    }

    #[test]
    fn escaping_round_trips() {
        for value in [
            "",
            "plain",
            "a b",
            "100%",
            "%25",
            "a/b/c",
            "k=v",
            "#hash",
            "😈 emoji 🎉",
            "2021-09-08 11:11:11",
            "C:\\windows\\path",
            "{[(^)]}*?'\"",
            "\u{1}\u{7}\n\r\u{1F}\u{7F}",
            "__HIVE_DEFAULT_PARTITION__",
        ] {
            let escaped = escape_path_component(value);
            assert!(!escaped.contains(['/', '=', ':']), "{escaped}");
            assert_eq!(unescape_path_component(&escaped).unwrap(), value);
        }
        // Other writers' escapes decode too: lowercase hex and percent-encoded UTF-8.
        assert_eq!(unescape_path_component("a%2fb").unwrap(), "a/b");
        assert_eq!(unescape_path_component("caf%C3%A9%20").unwrap(), "café ");
        for bad in ["%", "50%", "%4", "%zz", "%-1", "a%G0"] {
            let err = unescape_path_component(bad).unwrap_err();
            assert!(err.to_string().contains("two hex digits"), "{bad}: {err}");
        }
        let err = unescape_path_component("%FF").unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn partition_directories() {
        assert_eq!(HIVE_DEFAULT_PARTITION, "__HIVE_DEFAULT_PARTITION__");
        assert_eq!(partition_directory(&[]), "");
        assert_eq!(
            partition_directory(&[("a", Some("1")), ("b", None), ("c", Some(""))]),
            "a=1/b=__HIVE_DEFAULT_PARTITION__/c=__HIVE_DEFAULT_PARTITION__/"
        );
        assert_eq!(
            partition_directory(&[
                ("weird=name", Some("x/y")),
                ("ts", Some("2021-09-08 11:11:11"))
            ]),
            "weird%3Dname=x%2Fy/ts=2021-09-08 11%3A11%3A11/"
        );
        assert_eq!(
            partition_directory(&[("letter", Some("/%20%f")), ("data", Some("😈"))]),
            "letter=%2F%2520%25f/data=😈/"
        );
    }

    // ----- real tables -----

    fn corpus() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))
    }

    /// Arrow type of a Delta primitive type name from a schema string.
    fn arrow_type(delta: &str) -> DataType {
        match delta {
            "string" => DataType::Utf8,
            "long" => DataType::Int64,
            "integer" => DataType::Int32,
            "short" => DataType::Int16,
            "byte" => DataType::Int8,
            "float" => DataType::Float32,
            "double" => DataType::Float64,
            "boolean" => DataType::Boolean,
            "binary" => DataType::Binary,
            "date" => DataType::Date32,
            "timestamp" => utc(),
            "timestamp_ntz" => ntz(),
            other => {
                let inner = other
                    .strip_prefix("decimal(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("unexpected partition type {other}"));
                let (p, s) = inner.split_once(',').unwrap();
                DataType::Decimal128(p.trim().parse().unwrap(), s.trim().parse().unwrap())
            }
        }
    }

    /// One partition value of one `add` action of a table.
    struct Seen {
        column: String,
        value: Option<String>,
        array: ArrayRef,
    }

    /// Parses every partition value of every `add` in the JSON commits of `table` with its
    /// column's type, round-trips it, and (when `spark_paths`) checks the file's directory.
    fn check_table(table: &str, spark_paths: bool) -> Vec<Seen> {
        let log = corpus().join(table).join("_delta_log");
        let mut commits: Vec<PathBuf> = std::fs::read_dir(&log)
            .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        commits.sort();
        // logical name -> (physical name, type), and the partition column order.
        let mut columns: HashMap<String, (String, DataType)> = HashMap::new();
        let mut partition_columns: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        for commit in commits {
            let bytes = std::fs::read(&commit).unwrap();
            let name = commit.file_name().unwrap().to_string_lossy().to_string();
            for action in parse_commit(&bytes, &name).unwrap() {
                match action {
                    Action::Metadata(m) => {
                        let schema: serde_json::Value =
                            serde_json::from_str(&m.schema_string).unwrap();
                        columns.clear();
                        for field in schema["fields"].as_array().unwrap() {
                            let logical = field["name"].as_str().unwrap().to_string();
                            let physical = field["metadata"]["delta.columnMapping.physicalName"]
                                .as_str()
                                .unwrap_or(&logical)
                                .to_string();
                            if m.partition_columns.contains(&logical) {
                                let ty = arrow_type(field["type"].as_str().unwrap());
                                columns.insert(logical, (physical, ty));
                            }
                        }
                        partition_columns = m.partition_columns.clone();
                    }
                    Action::Add(add) => {
                        assert!(
                            !partition_columns.is_empty(),
                            "{table}: add before metaData"
                        );
                        let mut directory = Vec::new();
                        for logical in &partition_columns {
                            let (physical, ty) = &columns[logical];
                            let value = add
                                .partition_values
                                .get(physical)
                                .unwrap_or_else(|| panic!("{table}: no value for {physical}"))
                                .clone();
                            let array = partition_array(physical, value.as_deref(), ty, 3).unwrap();
                            assert_eq!(array.len(), 3);
                            assert_eq!(array.data_type(), ty);
                            let is_null = value.as_deref().is_none_or(str::is_empty);
                            assert_eq!(array.null_count(), if is_null { 3 } else { 0 });
                            // Serialize and parse again: the same values.
                            let text = serialize_partition_value(array.as_ref(), 1).unwrap();
                            let again = partition_array(physical, text.as_deref(), ty, 3).unwrap();
                            assert_eq!(again.to_data(), array.to_data(), "{table} {logical}");
                            directory.push((physical.clone(), value.clone()));
                            seen.push(Seen {
                                column: logical.clone(),
                                value,
                                array,
                            });
                        }
                        if spark_paths {
                            // `add.path` is URI-encoded; decoding it gives the directory.
                            let decoded = unescape_path_component(&add.path).unwrap();
                            let refs: Vec<(&str, Option<&str>)> = directory
                                .iter()
                                .map(|(n, v)| (n.as_str(), v.as_deref()))
                                .collect();
                            let expected = partition_directory(&refs);
                            assert!(
                                decoded.starts_with(&expected),
                                "{table}: {decoded} does not start with {expected}"
                            );
                            let file = &decoded[expected.len()..];
                            assert!(!file.contains('/'), "{decoded}");
                        }
                    }
                    _ => {}
                }
            }
        }
        assert!(!seen.is_empty(), "{table}: no partition values found");
        seen
    }

    fn find<'a>(seen: &'a [Seen], column: &str, value: Option<&str>) -> &'a ArrayRef {
        &seen
            .iter()
            .find(|s| s.column == column && s.value.as_deref() == value)
            .unwrap_or_else(|| panic!("no value {value:?} for {column}"))
            .array
    }

    #[test]
    fn corpus_partition_values_of_every_type() {
        if !corpus().exists() {
            eprintln!("corpus not found at {}; skipping", corpus().display());
            return;
        }

        let seen = check_table(
            "delta-kernel-java/data-reader-partition-values-column-mapping-name",
            true,
        );
        assert_eq!(seen.len(), 3 * 11);
        let one = |column: &str| find(&seen, column, Some("1"));
        assert_eq!(one("as_int").as_primitive::<Int32Type>().value(0), 1);
        assert_eq!(one("as_long").as_primitive::<Int64Type>().value(0), 1);
        assert_eq!(one("as_byte").as_primitive::<Int8Type>().value(0), 1);
        assert_eq!(one("as_short").as_primitive::<Int16Type>().value(0), 1);
        assert_eq!(one("as_string").as_string::<i32>().value(0), "1");
        assert_eq!(
            one("as_big_decimal").data_type(),
            &DataType::Decimal128(1, 0)
        );
        assert_eq!(
            one("as_big_decimal")
                .as_primitive::<Decimal128Type>()
                .value(0),
            1
        );
        let double = find(&seen, "as_double", Some("1.0"));
        assert_eq!(double.as_primitive::<Float64Type>().value(0), 1.0);
        let float = find(&seen, "as_float", Some("0.0"));
        assert_eq!(float.as_primitive::<Float32Type>().value(0), 0.0);
        assert!(
            !find(&seen, "as_boolean", Some("false"))
                .as_boolean()
                .value(0)
        );
        assert!(
            find(&seen, "as_boolean", Some("true"))
                .as_boolean()
                .value(0)
        );
        let date = find(&seen, "as_date", Some("2021-09-08"));
        assert_eq!(date.as_primitive::<Date32Type>().value(0), 18878);
        let ts = find(&seen, "as_timestamp", Some("2021-09-08 11:11:11"));
        assert_eq!(
            ts.as_primitive::<TimestampMicrosecondType>().value(0),
            1_631_099_471_000_000
        );
        assert_eq!(find(&seen, "as_timestamp", None).null_count(), 3);

        let seen = check_table("delta-kernel/basic-decimal-table", true);
        let decimal = find(&seen, "part", Some("-2342342.23423"));
        assert_eq!(decimal.data_type(), &DataType::Decimal128(12, 5));
        assert_eq!(
            decimal.as_primitive::<Decimal128Type>().value(2),
            -234_234_223_423
        );
        let decimal = find(&seen, "part", Some("0.00004"));
        assert_eq!(decimal.as_primitive::<Decimal128Type>().value(0), 4);
        let decimal = find(&seen, "part", Some("234.00000"));
        assert_eq!(
            decimal.as_primitive::<Decimal128Type>().value(0),
            23_400_000
        );

        let seen = check_table("delta-kernel/data-reader-timestamp_ntz", true);
        let ts = find(&seen, "tsNtzPartition", Some("2013-07-05 17:01:00.123456"));
        assert_eq!(ts.data_type(), &ntz());
        assert_eq!(
            ts.as_primitive::<TimestampMicrosecondType>().value(0),
            1_373_043_660_123_456
        );
        let ts = find(&seen, "tsNtzPartition", Some("2021-11-18 02:30:00.123456"));
        assert_eq!(
            ts.as_primitive::<TimestampMicrosecondType>().value(0),
            1_637_202_600_123_456
        );
        assert_eq!(find(&seen, "tsNtzPartition", None).null_count(), 3);

        // Written by delta-kernel-rs: an ISO 8601 UTC timestamp, in an unescaped directory.
        let seen = check_table("delta-kernel/timestamp-partitioned-table", false);
        let ts = find(&seen, "time", Some("1971-07-22T03:06:40.000000Z"));
        assert_eq!(
            ts.as_primitive::<TimestampMicrosecondType>().value(0),
            49_000_000_000_000
        );

        // Spark: binary, date and string partitions with escaped characters and an emoji.
        let seen = check_table(
            "dat-early/out/reader_tests/generated/multi_partitioned/delta",
            true,
        );
        let binary = find(&seen, "data", Some("😈"));
        assert_eq!(binary.as_binary::<i32>().value(0), "😈".as_bytes());
        let letter = find(&seen, "letter", Some("/%20%f"));
        assert_eq!(letter.as_string::<i32>().value(0), "/%20%f");
        let date = find(&seen, "date", Some("1970-01-02"));
        assert_eq!(date.as_primitive::<Date32Type>().value(0), 1);

        check_table(
            "dat-early/out/reader_tests/generated/basic_partitioned/delta",
            true,
        );
        check_table("delta-rs/partition-type-primitives", false);
    }
}
