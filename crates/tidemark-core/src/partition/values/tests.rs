//! Unit tests of the parent module.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow::array::{
    BinaryArray, LargeStringArray, ListArray, NullArray, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{Field, TimeUnit};

use super::*;
use crate::log::actions::{Action, parse_commit};

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

// ----- real tables (the repository's tests/data) -----

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
    let log = tidemark_testdata::table(table).join("_delta_log");
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
                    let schema: serde_json::Value = serde_json::from_str(&m.schema_string).unwrap();
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
