//! Fuzzing as ordinary tests: the harnesses of the fuzz targets (commit JSON, checkpoint rows,
//! deletion-vector decoding, Z85, partition values), run over random and mutated inputs from a
//! seeded PRNG for a bounded number of iterations, plus the regression corpus in
//! `tests/fuzz_regressions/<target>/` (every input that once crashed a harness).
//!
//! Each harness must return (an `Ok` or an `Err`), never panic; where an input is valid,
//! round trips must hold. `TIDEMARK_FUZZ_ITERATIONS` (default 2000 per target) and
//! `TIDEMARK_FUZZ_SEED` (default fixed) choose the budget and the seed; see RELIABILITY.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::DataType;
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use tidemark_core::TableLocation;
use tidemark_core::partition::partition_array;
use tidemark_core::testing::parse_commit;
use tidemark_core::testing::read_checkpoint_parquet;
use tidemark_core::testing::{escape_path_component, unescape_path_component};
use tidemark_core::testing::{parse_bitmap, serialize_bitmap, z85};

/// xorshift64*: small, seedable, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn iterations() -> usize {
    std::env::var("TIDEMARK_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn seed(target: &str) -> u64 {
    let base = std::env::var("TIDEMARK_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_7125_u64);
    target
        .bytes()
        .fold(base, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
}

/// Mutates `input`: flips, inserts, deletes, duplicates or truncates, a few times.
fn mutate(rng: &mut Rng, input: &[u8], dictionary: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.next() as u8),
            2 if at < out.len() => {
                out.remove(at);
            }
            3 => out.truncate(at),
            4 => {
                let token = rng.pick(dictionary);
                out.splice(at..at, token.iter().copied());
            }
            5 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(16)).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(at..at, chunk);
            }
            _ => {
                let i = rng.below(out.len().max(1));
                if let Some(b) = out.get_mut(i) {
                    *b = *rng.pick(&[0u8, 0xff, b'"', b'{', b'}', b'\n', b'\\', 0x80]);
                }
            }
        }
    }
    out
}

/// The regression corpus of one target: every file in `tests/fuzz_regressions/<target>/`.
fn regressions(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn report(target: &str, executions: usize) {
    eprintln!("fuzz {target}: {executions} executions, no crash");
}

// --- commit JSON ------------------------------------------------------------------------------

/// The commit JSON harness: parsing never panics; what parses serializes and parses again to
/// the same actions.
fn commit_json(bytes: &[u8]) {
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
            parse_commit(text.as_bytes(), "fuzz.json").expect("a re-serialized commit parses");
        assert_eq!(again.len(), actions.len());
    }
}

fn commit_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for name in [
        "delta-kernel-java/basic-with-checkpoint",
        "delta-rs/table-with-dv-small",
        "delta-kernel/v1-multi-part-struct-stats-only",
    ] {
        let log = tidemark_testdata::table(name).join("_delta_log");
        let mut files: Vec<_> = std::fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files.into_iter().take(3) {
            seeds.push(std::fs::read(file).unwrap());
        }
    }
    seeds.push(br#"{"commitInfo":{"timestamp":1,"operation":"WRITE"}}"#.to_vec());
    seeds.push(br#"{"add":{"path":"a%20b.parquet","partitionValues":{"p":null},"size":1,"modificationTime":0,"dataChange":true,"deletionVector":{"storageType":"i","pathOrInlineDv":"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L","offset":1,"sizeInBytes":40,"cardinality":6}}}"#.to_vec());
    seeds
}

#[test]
fn fuzz_commit_json() {
    let dictionary: &[&[u8]] = &[
        b"{\"add\":",
        b"{\"remove\":",
        b"{\"metaData\":",
        b"{\"protocol\":",
        b"\"path\":",
        b"null",
        b"-1",
        b"18446744073709551616",
        b"1e400",
        b"\"\\u0000\"",
        b"\"\\ud800\"",
        b"[]",
        b"{}",
        b"\n",
    ];
    let seeds = commit_seeds();
    let mut rng = Rng::new(seed("commit_json"));
    let mut executions = 0;
    for input in regressions("commit_json") {
        commit_json(&input);
        executions += 1;
    }
    for _ in 0..iterations() {
        let input = if rng.below(8) == 0 {
            rng.bytes(256)
        } else {
            let seed = rng.pick(&seeds).clone();
            mutate(&mut rng, &seed, dictionary)
        };
        commit_json(&input);
        executions += 1;
    }
    report("commit_json", executions);
}

// --- checkpoint rows --------------------------------------------------------------------------

/// The checkpoint harness: reading a (damaged) Parquet checkpoint never panics.
///
/// Returns the error message, if any. With `TIDEMARK_FUZZ_SAVE_DIR` set, inputs refused as a
/// corrupt footer (those that crashed the Parquet reader before the footer check) are saved
/// there, to become regression inputs.
async fn checkpoint_rows(location: &TableLocation, bytes: Vec<u8>) -> Option<String> {
    let path = Path::from("t/_delta_log/00000000000000000001.checkpoint.parquet");
    location
        .store()
        .put(&path, bytes.clone().into())
        .await
        .unwrap();
    let message = read_checkpoint_parquet(location, &path, None)
        .await
        .err()
        .map(|e| e.to_string());
    if let (Some(m), Ok(dir)) = (&message, std::env::var("TIDEMARK_FUZZ_SAVE_DIR"))
        && m.contains("corrupt footer")
    {
        let name = format!("footer-{:016x}", seed(&format!("{bytes:?}")));
        std::fs::write(PathBuf::from(dir).join(name), &bytes).unwrap();
    }
    message
}

#[tokio::test]
async fn fuzz_checkpoint_rows() {
    let mut seeds = Vec::new();
    for name in [
        "delta-kernel-java/basic-with-checkpoint/_delta_log/00000000000000000010.checkpoint.parquet",
        "delta-kernel/v1-multi-part-struct-stats-only/_delta_log/00000000000000000005.checkpoint.0000000001.0000000003.parquet",
    ] {
        seeds.push(std::fs::read(tidemark_testdata::table(name)).unwrap());
    }
    let location = TableLocation::from_store(
        Arc::new(InMemory::new()),
        Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    );
    let dictionary: &[&[u8]] = &[b"PAR1", &[0xff; 8], &[0; 8]];
    let mut rng = Rng::new(seed("checkpoint_rows"));
    let mut executions = 0;
    for input in regressions("checkpoint_rows") {
        // Each once crashed the Parquet reader: now a clear error.
        let message = checkpoint_rows(&location, input).await;
        assert!(message.is_some_and(|m| m.contains("00000000000000000001.checkpoint.parquet")));
        executions += 1;
    }
    // Parquet decoding is slow in a debug build: a tenth of the budget.
    for _ in 0..iterations().div_ceil(10) {
        let seed = rng.pick(&seeds).clone();
        // Mutate the footer region mostly: that is where the structure lives.
        let mut input = seed.clone();
        let tail = input.len().saturating_sub(rng.below(2048) + 8);
        let mutated_tail = mutate(&mut rng, &input[tail..], dictionary);
        input.truncate(tail);
        input.extend_from_slice(&mutated_tail);
        if rng.below(4) == 0 {
            input = mutate(&mut rng, &seed, dictionary);
        }
        checkpoint_rows(&location, input).await;
        executions += 1;
    }
    report("checkpoint_rows", executions);
}

// --- deletion vectors -------------------------------------------------------------------------

/// The deletion-vector harness: decoding never panics; what decodes serializes back to bytes
/// that decode to the same bitmap.
fn deletion_vector(bytes: &[u8]) {
    if let Ok(bitmap) = parse_bitmap(bytes) {
        let again = serialize_bitmap(&bitmap).expect("a parsed bitmap serializes");
        assert_eq!(
            parse_bitmap(&again).expect("re-serialized bitmap parses"),
            bitmap
        );
    }
}

#[test]
fn fuzz_deletion_vector() {
    let mut seeds = Vec::new();
    let mut bitmap = roaring::RoaringTreemap::new();
    for row in [0u64, 1, 2, 5, 70_000, 1 << 33] {
        bitmap.insert(row);
    }
    seeds.push(serialize_bitmap(&bitmap).unwrap());
    seeds.push(serialize_bitmap(&roaring::RoaringTreemap::new()).unwrap());
    let mut dense = roaring::RoaringTreemap::new();
    dense.insert_range(0..10_000);
    seeds.push(serialize_bitmap(&dense).unwrap());
    let dictionary: &[&[u8]] = &[
        &[0xd1, 0xd3, 0x39, 0x64],
        &[0x3a, 0x30],
        &[0x3b, 0x30],
        &[0xff; 4],
    ];
    let mut rng = Rng::new(seed("deletion_vector"));
    let mut executions = 0;
    for input in regressions("deletion_vector") {
        deletion_vector(&input);
        executions += 1;
    }
    for _ in 0..iterations() {
        let input = if rng.below(8) == 0 {
            rng.bytes(64)
        } else {
            let seed = rng.pick(&seeds).clone();
            mutate(&mut rng, &seed, dictionary)
        };
        deletion_vector(&input);
        executions += 1;
    }
    report("deletion_vector", executions);
}

// --- Z85 --------------------------------------------------------------------------------------

/// The Z85 harness: decoding never panics; encoding round-trips.
fn z85_harness(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Ok(decoded) = z85::decode(text)
    {
        assert_eq!(z85::encode(&decoded).expect("decoded bytes encode"), text);
    }
    if bytes.len().is_multiple_of(4) {
        let text = z85::encode(bytes).expect("a multiple of 4 bytes encodes");
        assert_eq!(z85::decode(&text).expect("encoded text decodes"), bytes);
    } else {
        assert!(z85::encode(bytes).is_err());
    }
}

#[test]
fn fuzz_z85() {
    let alphabet =
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    let mut rng = Rng::new(seed("z85"));
    let mut executions = 0;
    for input in regressions("z85") {
        z85_harness(&input);
        executions += 1;
    }
    for _ in 0..iterations() {
        let input: Vec<u8> = match rng.below(3) {
            0 => rng.bytes(40),
            1 => (0..rng.below(8) * 5).map(|_| *rng.pick(alphabet)).collect(),
            _ => {
                // Highest digits: overflow of the 32-bit group.
                (0..5).map(|_| *rng.pick(b"#%$@}")).collect()
            }
        };
        z85_harness(&input);
        executions += 1;
    }
    report("z85", executions);
}

// --- partition values -------------------------------------------------------------------------

/// The partition-value harness: parsing a value as each type never panics, and neither does
/// unescaping a directory name; escaping round-trips.
fn partition_value(bytes: &[u8]) {
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
        DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
        DataType::Decimal128(10, 2),
        DataType::Decimal128(38, 0),
        DataType::Decimal128(38, 38),
    ];
    for data_type in &types {
        if let Ok(array) = partition_array("p", Some(&text), data_type, 2) {
            assert_eq!(array.len(), 2);
            assert_eq!(array.data_type(), data_type);
        }
    }
    let _ = unescape_path_component(&text);
    let escaped = escape_path_component(&text);
    assert_eq!(
        unescape_path_component(&escaped).expect("an escaped value unescapes"),
        text
    );
}

#[test]
fn fuzz_partition_values() {
    let seeds: Vec<&[u8]> = vec![
        b"2024-01-31",
        b"2024-01-31 12:34:56.123456",
        b"2024-01-31T12:34:56Z",
        b"-9223372036854775808",
        b"12345678901234567890123456789012345678",
        b"0.000000000000000000000000000000000001",
        b"1e10",
        b"NaN",
        b"-Infinity",
        b"true",
        b"a%3Ab%25c",
        b"__HIVE_DEFAULT_PARTITION__",
        "日本 ✓".as_bytes(),
    ];
    let dictionary: &[&[u8]] = &[
        b"%", b"%2", b"%ZZ", b"-", b".", b"e", b"9", b":", b" ", b"T", b"+",
    ];
    let mut rng = Rng::new(seed("partition_values"));
    let mut executions = 0;
    for input in regressions("partition_values") {
        partition_value(&input);
        executions += 1;
    }
    for _ in 0..iterations() {
        let input = if rng.below(8) == 0 {
            rng.bytes(24)
        } else {
            let seed: &[u8] = seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed, dictionary)
        };
        partition_value(&input);
        executions += 1;
    }
    report("partition_values", executions);
}
