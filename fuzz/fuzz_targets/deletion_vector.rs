//! Deletion vectors: decoding never panics; what decodes serializes back to the same bitmap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_core::testing::{parse_bitmap, serialize_bitmap};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(bitmap) = parse_bitmap(bytes) {
        let again = serialize_bitmap(&bitmap).expect("a parsed bitmap serializes");
        assert_eq!(
            parse_bitmap(&again).expect("re-serialized bitmap parses"),
            bitmap
        );
    }
});
