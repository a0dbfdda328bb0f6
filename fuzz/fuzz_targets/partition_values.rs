//! Partition values: parsing as every type never panics; escaping round-trips.
#![no_main]

use arrow::datatypes::{DataType, TimeUnit};
use libfuzzer_sys::fuzz_target;
use tidemark_core::partition::partition_array;
use tidemark_core::testing::{escape_path_component, unescape_path_component};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let types = [
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::Float32,
        DataType::Float64,
        DataType::Boolean,
        DataType::Utf8,
        DataType::Binary,
        DataType::Date32,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Decimal128(10, 2),
        DataType::Decimal128(38, 0),
        DataType::Decimal128(38, 38),
    ];
    for data_type in &types {
        if let Ok(array) = partition_array("p", Some(&text), data_type, 2) {
            assert_eq!(array.len(), 2);
        }
    }
    let _ = unescape_path_component(&text);
    let escaped = escape_path_component(&text);
    assert_eq!(unescape_path_component(&escaped).expect("unescapes"), text);
});
