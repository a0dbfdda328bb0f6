//! Commit JSON: parsing never panics; what parses re-serializes and parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_core::testing::parse_commit;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(actions) = parse_commit(bytes, "fuzz.json") {
        let mut text = String::new();
        for action in &actions {
            let Ok(line) = action.to_json_line() else {
                return;
            };
            text.push_str(&line);
            text.push('\n');
        }
        let again =
            parse_commit(text.as_bytes(), "fuzz.json").expect("re-serialized commit parses");
        assert_eq!(again.len(), actions.len());
    }
});
