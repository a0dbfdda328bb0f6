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
/// use tidemark_core::testing::serialize_partition_value;
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
/// use tidemark_core::testing::escape_path_component;
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
/// use tidemark_core::testing::unescape_path_component;
///
/// assert_eq!(unescape_path_component("a%2Fb%3D50%25").unwrap(), "a/b=50%");
/// assert!(unescape_path_component("50%").is_err());
/// ```
#[cfg(any(test, feature = "test-support"))]
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
/// use tidemark_core::testing::partition_directory;
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
mod tests;
