//! Z85: decoding never panics; encoding round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_core::testing::z85;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Ok(decoded) = z85::decode(text)
    {
        assert_eq!(z85::encode(&decoded).expect("decoded bytes encode"), text);
    }
    if bytes.len().is_multiple_of(4) {
        let text = z85::encode(bytes).expect("a multiple of 4 bytes encodes");
        assert_eq!(z85::decode(&text).expect("encoded text decodes"), bytes);
    }
});
