//! Unit tests of the parent module.

use std::path::{Path as FsPath, PathBuf};

use arrow::array::Array;
use object_store::PutPayload;

use super::*;
use crate::log::actions::{Action, parse_commit};

const SPEC_VECTOR: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

fn treemap(values: &[u64]) -> RoaringTreemap {
    values.iter().copied().collect()
}

fn message(error: &Error) -> String {
    error.to_string()
}

fn descriptor(
    storage_type: &str,
    path_or_inline_dv: &str,
    offset: Option<i32>,
    size_in_bytes: usize,
    cardinality: i64,
) -> DeletionVectorDescriptor {
    DeletionVectorDescriptor {
        storage_type: storage_type.to_string(),
        path_or_inline_dv: path_or_inline_dv.to_string(),
        offset,
        size_in_bytes: i32::try_from(size_in_bytes).unwrap(),
        cardinality,
    }
}

/// An inline descriptor, padded with zeros to a multiple of 4 bytes as Delta does.
fn inline_descriptor(bitmap: &RoaringTreemap) -> DeletionVectorDescriptor {
    let mut bytes = serialize_bitmap(bitmap).unwrap();
    let size = bytes.len();
    bytes.resize(size.div_ceil(4) * 4, 0);
    let cardinality = i64::try_from(bitmap.len()).unwrap();
    descriptor("i", &z85::encode(&bytes).unwrap(), None, size, cardinality)
}

/// A DV file (version byte, then per vector: BE size, data, BE CRC-32) and the offset of
/// each vector in it.
fn dv_file(vectors: &[&[u8]]) -> (Vec<u8>, Vec<i32>) {
    let mut file = vec![FILE_FORMAT_VERSION];
    let mut offsets = Vec::new();
    for data in vectors {
        offsets.push(i32::try_from(file.len()).unwrap());
        file.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        file.extend_from_slice(data);
        file.extend_from_slice(&crc32fast::hash(data).to_be_bytes());
    }
    (file, offsets)
}

fn memory_table() -> TableLocation {
    TableLocation::parse("memory:///t").unwrap()
}

async fn put(location: &TableLocation, path: &Path, bytes: Vec<u8>) {
    location
        .store()
        .put(path, PutPayload::from(bytes))
        .await
        .unwrap();
}

/// Writes `bitmap` as the only vector of a `u` DV file with the given prefix and returns
/// its descriptor.
async fn write_u_dv(
    location: &TableLocation,
    prefix: &str,
    uuid: uuid::Uuid,
    bitmap: &RoaringTreemap,
) -> DeletionVectorDescriptor {
    let data = serialize_bitmap(bitmap).unwrap();
    let (file, offsets) = dv_file(&[&data]);
    let encoded = format!("{prefix}{}", z85::encode(uuid.as_bytes()).unwrap());
    let dv = descriptor(
        "u",
        &encoded,
        Some(offsets[0]),
        data.len(),
        i64::try_from(bitmap.len()).unwrap(),
    );
    put(location, &dv_file_path(location, &dv).unwrap(), file).await;
    dv
}

// ---- Z85 ----

#[test]
fn z85_matches_the_zeromq_test_vector() {
    assert_eq!(z85::encode(&SPEC_VECTOR).unwrap(), "HelloWorld");
    assert_eq!(z85::decode("HelloWorld").unwrap(), SPEC_VECTOR);
}

#[test]
fn z85_round_trips() {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let cases: [&[u8]; 5] = [&[], &[0; 4], &[0xFF; 8], &SPEC_VECTOR, &all_bytes];
    for bytes in cases {
        let text = z85::encode(bytes).unwrap();
        assert_eq!(text.len(), bytes.len() / 4 * 5);
        assert_eq!(z85::decode(&text).unwrap(), bytes);
    }
    assert_eq!(z85::encode(&[0xFF; 4]).unwrap(), "%nSc0");
    assert_eq!(z85::encode(&[0; 4]).unwrap(), "00000");
}

#[test]
fn z85_rejects_bad_lengths() {
    let err = z85::encode(&[1, 2, 3]).unwrap_err();
    assert!(message(&err).contains("multiple of 4"), "{err}");
    let err = z85::decode("Hell").unwrap_err();
    assert!(message(&err).contains("multiple of 5"), "{err}");
    let err = z85::decode("HelloWorld!").unwrap_err();
    assert!(message(&err).contains("multiple of 5"), "{err}");
}

#[test]
fn z85_rejects_bad_characters_and_overflow() {
    let err = z85::decode("Hello World").unwrap_err();
    assert!(
        message(&err).contains("invalid Z85 character ' ' at position 5"),
        "{err}"
    );
    let err = z85::decode("Hell\"").unwrap_err();
    assert!(message(&err).contains("invalid Z85 character"), "{err}");
    let err = z85::decode("Hellé").unwrap_err();
    assert!(message(&err).contains("'é' at position 4"), "{err}");
    // 84 * 85^4 > 2^32 - 1: no valid group starts with '#'.
    let err = z85::decode("00000#####").unwrap_err();
    assert!(message(&err).contains("'#####' at position 5"), "{err}");
    assert!(message(&err).contains("does not fit in 4 bytes"), "{err}");
    // The largest valid group.
    assert_eq!(z85::decode("%nSc0").unwrap(), [0xFF; 4]);
    assert!(z85::decode("%nSc1").is_err());
}

#[test]
fn z85_padded_tail_is_accepted_only_where_allowed() {
    // Two data bytes 03 00 in the padded-tail form of the Rust z85 crate.
    assert_eq!(
        z85::decode_allowing_padded_tail("HelloWorld##093").unwrap(),
        [&SPEC_VECTOR[..], &[3, 0]].concat()
    );
    assert_eq!(z85::decode_allowing_padded_tail("###1a").unwrap(), [95]);
    assert_eq!(
        z85::decode_allowing_padded_tail("HelloWorld").unwrap(),
        SPEC_VECTOR
    );
    // Standard Z85 refuses it; the form is only allowed in the last group.
    assert!(z85::decode("HelloWorld##093").is_err());
    assert!(z85::decode_allowing_padded_tail("##093Hello").is_err());
    // The tail value must fit in the bytes it stands for.
    let err = z85::decode_allowing_padded_tail("###%%").unwrap_err();
    assert!(message(&err).contains("does not fit"), "{err}");
}

// ---- bitmaps ----

#[test]
fn bitmap_round_trips_including_values_above_2_pow_32() {
    let mut bitmap = treemap(&[
        0,
        5,
        65_535,
        65_536,
        (1 << 32) - 1,
        1 << 32,
        (1 << 32) + 7,
        (5 << 32) + 100_000,
        i64::MAX as u64,
    ]);
    bitmap.insert_range(1_000..9_000);
    let bytes = serialize_bitmap(&bitmap).unwrap();
    assert_eq!(bytes[..4], MAGIC_NUMBER.to_le_bytes());
    assert_eq!(parse_bitmap(&bytes).unwrap(), bitmap);

    let empty = RoaringTreemap::new();
    let bytes = serialize_bitmap(&empty).unwrap();
    assert_eq!(bytes.len(), 12);
    assert!(parse_bitmap(&bytes).unwrap().is_empty());
}

#[test]
fn bitmap_errors_are_clear() {
    let bytes = serialize_bitmap(&treemap(&[1, 2, 3])).unwrap();

    let mut wrong_magic = bytes.clone();
    wrong_magic[0] ^= 0xFF;
    let err = parse_bitmap(&wrong_magic).unwrap_err();
    assert!(message(&err).contains("wrong magic number"), "{err}");
    assert!(message(&err).contains("1681511377"), "{err}");

    let mut native = bytes.clone();
    native[..4].copy_from_slice(&NATIVE_MAGIC_NUMBER.to_le_bytes());
    let err = parse_bitmap(&native).unwrap_err();
    assert!(
        message(&err).contains("native RoaringBitmapArray format"),
        "{err}"
    );

    let err = parse_bitmap(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(message(&err).contains("truncated"), "{err}");
    let err = parse_bitmap(&bytes[..6]).unwrap_err();
    assert!(message(&err).contains("truncated"), "{err}");
    let err = parse_bitmap(&bytes[..3]).unwrap_err();
    assert!(
        message(&err).contains("too short for its 4-byte magic number"),
        "{err}"
    );

    let mut trailing = bytes.clone();
    trailing.push(0);
    let err = parse_bitmap(&trailing).unwrap_err();
    assert!(
        message(&err).contains("1 unexpected trailing byte"),
        "{err}"
    );

    assert!(matches!(err, Error::DeletionVector { path: None, .. }));
}

#[test]
fn row_indexes_above_i64_max_are_refused() {
    let bitmap = treemap(&[1, 1 << 63]);
    let err = serialize_bitmap(&bitmap).unwrap_err();
    assert!(
        message(&err).contains("above the largest row index"),
        "{err}"
    );

    let mut bytes = MAGIC_NUMBER.to_le_bytes().to_vec();
    bitmap.serialize_into(&mut bytes).unwrap();
    let err = parse_bitmap(&bytes).unwrap_err();
    assert!(
        message(&err).contains("above the largest row index"),
        "{err}"
    );
}

// ---- paths ----

#[test]
fn dv_file_path_follows_the_protocol_example() {
    let location = memory_table();
    let dv = descriptor("u", "ab^-aqEH.-t@S}K{vb[*k^", Some(4), 40, 6);
    assert_eq!(
        dv_file_path(&location, &dv).unwrap().as_ref(),
        "t/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"
    );
    let dv = descriptor("u", "vBn[lx{q8@P<9BNH/isA", Some(1), 36, 2);
    assert_eq!(
        dv_file_path(&location, &dv).unwrap().as_ref(),
        "t/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin"
    );
}

#[test]
fn dv_file_path_errors() {
    let location = memory_table();
    let err = dv_file_path(&location, &descriptor("i", "HelloWorld", None, 8, 1)).unwrap_err();
    assert!(message(&err).contains("inline"), "{err}");
    assert!(message(&err).contains("has no file"), "{err}");

    let err = dv_file_path(&location, &descriptor("x", "abc", None, 8, 1)).unwrap_err();
    assert!(
        message(&err).contains("unknown deletion vector storage type 'x'"),
        "{err}"
    );

    let err = dv_file_path(&location, &descriptor("u", "short", Some(1), 8, 1)).unwrap_err();
    assert!(
        message(&err).contains("20-character Z85 encoding of a UUID"),
        "{err}"
    );

    let err = dv_file_path(
        &location,
        &descriptor("u", "ab~bcdefghijklmnopqrst", Some(1), 8, 1),
    )
    .unwrap_err();
    assert!(message(&err).contains("not valid Z85"), "{err}");

    let err = dv_file_path(
        &location,
        &descriptor("u", "é0123456789abcdefghi", Some(1), 8, 1),
    );
    assert!(err.is_err());
}

#[test]
fn dv_file_path_of_absolute_paths_stays_inside_the_table() {
    let location = memory_table();
    let dv = descriptor("p", "memory:///t/dv/deletion_vector_x.bin", Some(1), 8, 1);
    assert_eq!(
        dv_file_path(&location, &dv).unwrap().as_ref(),
        "t/dv/deletion_vector_x.bin"
    );
    let dv = descriptor("p", "memory:///other/deletion_vector_x.bin", Some(1), 8, 1);
    let err = dv_file_path(&location, &dv).unwrap_err();
    assert!(message(&err).contains("outside the table root"), "{err}");
    assert!(matches!(err, Error::DeletionVector { .. }));
}

#[test]
fn prefixes_are_taken_verbatim() {
    let location = memory_table();
    let uuid = z85::encode(&[7; 16]).unwrap();
    let dv = descriptor("u", &format!("a:b%{uuid}"), Some(1), 8, 1);
    let path = dv_file_path(&location, &dv).unwrap();
    // Neither read as a URI scheme ("a:") nor as a percent escape ("%").
    let expected = location
        .resolve("a%3Ab%25/deletion_vector_07070707-0707-0707-0707-070707070707.bin")
        .unwrap();
    assert_eq!(path, expected);
    assert_eq!(path.parts().count(), 3);

    let dv = descriptor("u", &format!("../{uuid}"), Some(1), 8, 1);
    let err = dv_file_path(&location, &dv).unwrap_err();
    assert!(message(&err).contains("leaves the table root"), "{err}");
}

// ---- loading ----

#[tokio::test]
async fn inline_dv_loads() {
    let location = memory_table();
    // 36 bytes: no padding needed.
    let bitmap = treemap(&[3, 4]);
    let dv = inline_descriptor(&bitmap);
    assert_eq!(dv.size_in_bytes, 36);
    assert_eq!(load(&location, &dv).await.unwrap(), bitmap);
    // 34 bytes: padded with two zero bytes, as Delta writes it.
    let bitmap = treemap(&[3]);
    let dv = inline_descriptor(&bitmap);
    assert_eq!(dv.size_in_bytes, 34);
    assert_eq!(dv.path_or_inline_dv.len(), 45);
    assert_eq!(load(&location, &dv).await.unwrap(), bitmap);
    // Values in several buckets.
    let bitmap = treemap(&[0, 1 << 32, (3 << 32) + 9]);
    assert_eq!(
        load(&location, &inline_descriptor(&bitmap)).await.unwrap(),
        bitmap
    );
}

#[tokio::test]
async fn inline_dv_of_the_protocol_example_in_portable_format() {
    // The protocol's inline example (rows 3, 4, 7, 11, 18, 29) in the portable format.
    let location = memory_table();
    let dv = descriptor(
        "i",
        "^Bg9^0rr910000000000iXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
        None,
        44,
        6,
    );
    let bitmap = load(&location, &dv).await.unwrap();
    assert_eq!(bitmap.iter().collect::<Vec<_>>(), [3, 4, 7, 11, 18, 29]);
}

#[tokio::test]
async fn inline_dv_in_the_native_format_is_refused_clearly() {
    // The protocol's own inline example is written in the older native format.
    let location = memory_table();
    let dv = descriptor(
        "i",
        "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
        None,
        40,
        6,
    );
    let err = load(&location, &dv).await.unwrap_err();
    assert!(message(&err).contains("inline deletion vector"), "{err}");
    assert!(
        message(&err).contains("native RoaringBitmapArray format"),
        "{err}"
    );
}

#[tokio::test]
async fn inline_dv_size_must_match_the_text() {
    let location = memory_table();
    let mut dv = inline_descriptor(&treemap(&[3, 4]));
    dv.size_in_bytes = 40;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(
        message(&err).contains("decodes to 36 bytes, but sizeInBytes is 40"),
        "{err}"
    );
    dv.size_in_bytes = 20;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(
        message(&err).contains("decodes to 36 bytes, but sizeInBytes is 20"),
        "{err}"
    );
    dv.size_in_bytes = -1;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(message(&err).contains("negative sizeInBytes -1"), "{err}");
    let mut dv = inline_descriptor(&treemap(&[3, 4]));
    dv.path_or_inline_dv.push_str("Hell");
    let err = load(&location, &dv).await.unwrap_err();
    assert!(message(&err).contains("multiple of 5"), "{err}");
}

#[tokio::test]
async fn u_dv_file_loads_with_and_without_prefix() {
    let location = memory_table();
    let bitmap = treemap(&[0, 2, 10, 1 << 33]);
    let uuid = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let dv = write_u_dv(&location, "", uuid, &bitmap).await;
    assert_eq!(
        dv_file_path(&location, &dv).unwrap().as_ref(),
        "t/deletion_vector_01234567-89ab-cdef-0123-456789abcdef.bin"
    );
    assert_eq!(load(&location, &dv).await.unwrap(), bitmap);

    let dv = write_u_dv(&location, "x7", uuid::Uuid::from_u128(42), &bitmap).await;
    assert_eq!(
        dv_file_path(&location, &dv).unwrap().as_ref(),
        "t/x7/deletion_vector_00000000-0000-0000-0000-00000000002a.bin"
    );
    assert_eq!(load(&location, &dv).await.unwrap(), bitmap);

    // Without an offset the record starts right after the version byte.
    let mut dv = dv;
    dv.offset = None;
    assert_eq!(load(&location, &dv).await.unwrap(), bitmap);
}

#[tokio::test]
async fn several_dvs_in_one_file_load_by_offset() {
    let location = memory_table();
    let first = treemap(&[1, 2, 3]);
    let second = treemap(&[100, 1 << 32]);
    let first_bytes = serialize_bitmap(&first).unwrap();
    let second_bytes = serialize_bitmap(&second).unwrap();
    let (file, offsets) = dv_file(&[&first_bytes, &second_bytes]);
    let uuid = z85::encode(uuid::Uuid::from_u128(7).as_bytes()).unwrap();
    let dv1 = descriptor("u", &uuid, Some(offsets[0]), first_bytes.len(), 3);
    let dv2 = descriptor("u", &uuid, Some(offsets[1]), second_bytes.len(), 2);
    put(&location, &dv_file_path(&location, &dv1).unwrap(), file).await;
    assert_eq!(load(&location, &dv1).await.unwrap(), first);
    assert_eq!(load(&location, &dv2).await.unwrap(), second);
}

#[tokio::test]
async fn p_dv_file_loads() {
    let location = memory_table();
    let bitmap = treemap(&[4, 5, 6]);
    let data = serialize_bitmap(&bitmap).unwrap();
    let (file, offsets) = dv_file(&[&data]);
    put(&location, &Path::from("t/dvs/my dv.bin"), file).await;
    let dv = descriptor(
        "p",
        "memory:///t/dvs/my%20dv.bin",
        Some(offsets[0]),
        data.len(),
        3,
    );
    assert_eq!(load(&location, &dv).await.unwrap(), bitmap);
}

#[tokio::test]
async fn corrupted_checksum_is_an_error() {
    let location = memory_table();
    let bitmap = treemap(&[1, 5, 9]);
    let dv = write_u_dv(&location, "", uuid::Uuid::from_u128(1), &bitmap).await;
    let path = dv_file_path(&location, &dv).unwrap();
    let good = location
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();

    // A flipped bit in the stored checksum.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    put(&location, &path, bad).await;
    let err = load(&location, &dv).await.unwrap_err();
    let text = message(&err);
    assert!(text.contains("checksum mismatch"), "{text}");
    assert!(
        text.contains(&format!("{:#010x}", crc32fast::hash(&good[5..last - 3]))),
        "{text}"
    );
    assert!(text.contains(&path.to_string()), "{text}");

    // A flipped bit in the data.
    let mut bad = good.clone();
    bad[20] ^= 0x10;
    put(&location, &path, bad).await;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(message(&err).contains("checksum"), "{err}");
}

#[tokio::test]
async fn file_record_problems_are_errors() {
    let location = memory_table();
    let bitmap = treemap(&[1, 5, 9]);
    let dv = write_u_dv(&location, "", uuid::Uuid::from_u128(2), &bitmap).await;
    let path = dv_file_path(&location, &dv).unwrap();
    let good = location
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();

    // Descriptor size disagrees with the file.
    let mut wrong_size = dv.clone();
    wrong_size.size_in_bytes += 2;
    let err = load(&location, &wrong_size).await.unwrap_err();
    assert!(message(&err).contains("records a size of"), "{err}");

    // Truncated file.
    put(&location, &path, good[..good.len() - 2].to_vec()).await;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(message(&err).contains("truncated"), "{err}");

    // Unknown format version.
    let mut bad = good.clone();
    bad[0] = 2;
    put(&location, &path, bad).await;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(
        message(&err).contains("unsupported format version 2"),
        "{err}"
    );

    // Negative offset.
    let mut negative = dv.clone();
    negative.offset = Some(-3);
    let err = load(&location, &negative).await.unwrap_err();
    assert!(message(&err).contains("negative offset -3"), "{err}");
}

#[tokio::test]
async fn missing_file_is_a_not_found_store_error() {
    let location = memory_table();
    let uuid = z85::encode(uuid::Uuid::from_u128(99).as_bytes()).unwrap();
    let dv = descriptor("u", &uuid, Some(1), 36, 2);
    let err = load(&location, &dv).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        message(&err).contains("reading deletion vector file"),
        "{err}"
    );
}

#[tokio::test]
async fn cardinality_mismatch_is_an_error() {
    let location = memory_table();
    let bitmap = treemap(&[1, 5, 9]);
    let mut dv = inline_descriptor(&bitmap);
    dv.cardinality = 4;
    let err = load(&location, &dv).await.unwrap_err();
    let text = message(&err);
    assert!(text.contains("cardinality mismatch"), "{text}");
    assert!(
        text.contains("says 4 deleted row(s), the vector holds 3"),
        "{text}"
    );

    let mut dv = write_u_dv(&location, "", uuid::Uuid::from_u128(3), &bitmap).await;
    dv.cardinality = 2;
    let err = load(&location, &dv).await.unwrap_err();
    assert!(message(&err).contains("cardinality mismatch"), "{err}");
}

#[tokio::test]
async fn unknown_storage_type_is_named() {
    let err = load(&memory_table(), &descriptor("q", "HelloWorld", None, 8, 1))
        .await
        .unwrap_err();
    assert!(
        message(&err).contains("unknown deletion vector storage type 'q'"),
        "{err}"
    );
}

// ---- masks ----

fn keep_flags(mask: &BooleanArray) -> Vec<bool> {
    assert_eq!(mask.null_count(), 0);
    mask.iter().map(|v| v == Some(true)).collect()
}

#[test]
fn mask_marks_deleted_rows_of_the_batch() {
    let bitmap = treemap(&[0, 3, 10, 11, 1 << 32]);
    assert_eq!(
        keep_flags(&deleted_rows_mask(&bitmap, 0, 5)),
        [false, true, true, false, true]
    );
    assert_eq!(
        keep_flags(&deleted_rows_mask(&bitmap, 9, 4)),
        [true, false, false, true]
    );
    assert_eq!(keep_flags(&deleted_rows_mask(&bitmap, 4, 5)), [true; 5]);
    assert_eq!(
        keep_flags(&deleted_rows_mask(&bitmap, (1 << 32) - 1, 3)),
        [true, false, true]
    );
    assert_eq!(deleted_rows_mask(&bitmap, 0, 0).len(), 0);
    assert_eq!(
        keep_flags(&deleted_rows_mask(&RoaringTreemap::new(), 7, 3)),
        [true; 3]
    );
    assert_eq!(
        keep_flags(&deleted_rows_mask(&bitmap, u64::MAX - 1, 2)),
        [true, true]
    );
}

#[test]
fn mask_matches_a_row_by_row_check_on_a_large_batch() {
    let mut bitmap: RoaringTreemap = (0..2_000_000u64).step_by(7).collect();
    bitmap.insert_range(500_000..600_000);
    let (offset, rows) = (123_457u64, 1_000_000usize);
    let mask = deleted_rows_mask(&bitmap, offset, rows);
    assert_eq!(mask.len(), rows);
    let expected: Vec<bool> = (0..rows as u64)
        .map(|i| !bitmap.contains(offset + i))
        .collect();
    assert_eq!(keep_flags(&mask), expected);
    assert_eq!(
        mask.false_count() as u64,
        bitmap.range_cardinality(offset..offset + rows as u64)
    );
}

// ---- tables written by other implementations (the repository's tests/data) ----

/// A deletion vector found in a table's JSON log.
struct LoggedDv {
    log_file: String,
    dv: DeletionVectorDescriptor,
    /// `numRecords` of the data file, from the `add` statistics.
    num_records: Option<u64>,
}

/// Every deletion vector of the `add` and `remove` actions in the JSON files of the log.
fn logged_dvs(table: &FsPath) -> Vec<LoggedDv> {
    let log = table.join("_delta_log");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&log)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", log.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut dvs = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let bytes = std::fs::read(&file).unwrap();
        for action in parse_commit(&bytes, &name).unwrap() {
            let (dv, stats) = match action {
                Action::Add(add) => (add.deletion_vector, add.stats),
                Action::Remove(remove) => (remove.deletion_vector, None),
                _ => continue,
            };
            let num_records = stats.and_then(|s| {
                let stats: serde_json::Value = serde_json::from_str(&s).unwrap();
                stats["numRecords"].as_u64()
            });
            if let Some(dv) = dv {
                dvs.push(LoggedDv {
                    log_file: name.clone(),
                    dv,
                    num_records,
                });
            }
        }
    }
    dvs
}

/// Loads every deletion vector of the table's JSON log and checks it; returns them.
async fn load_all(table: &FsPath) -> Vec<(DeletionVectorDescriptor, RoaringTreemap)> {
    let location = TableLocation::parse(table.to_str().unwrap()).unwrap();
    let dvs = logged_dvs(table);
    assert!(
        !dvs.is_empty(),
        "no deletion vectors in the log of {}",
        table.display()
    );
    let mut loaded = Vec::new();
    for LoggedDv {
        log_file,
        dv,
        num_records,
    } in dvs
    {
        let bitmap = load(&location, &dv)
            .await
            .unwrap_or_else(|e| panic!("{log_file}: loading {dv:?} failed: {e}"));
        assert_eq!(
            i64::try_from(bitmap.len()).unwrap(),
            dv.cardinality,
            "{log_file}: {dv:?}"
        );
        if let (Some(rows), Some(max)) = (num_records, bitmap.max()) {
            assert!(
                max < rows,
                "{log_file}: row {max} deleted from a file of {rows} rows"
            );
        }
        loaded.push((dv, bitmap));
    }
    loaded
}

/// Copies a table, renaming files with `rename` and rewriting log files with `rewrite`.
fn copy_table(
    from: &FsPath,
    to: &FsPath,
    rename: &dyn Fn(&str) -> String,
    rewrite: &dyn Fn(String) -> String,
) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let source = entry.path();
        if source.is_dir() {
            copy_table(&source, &to.join(&name), rename, rewrite);
        } else if name.ends_with(".json") {
            let text = std::fs::read_to_string(&source).unwrap();
            std::fs::write(to.join(&name), rewrite(text)).unwrap();
        } else {
            // Read and write rather than copy: the source files may be read-only.
            std::fs::write(to.join(rename(&name)), std::fs::read(&source).unwrap()).unwrap();
        }
    }
}

#[tokio::test]
async fn spark_dv_table_loads() {
    let table = tidemark_testdata::table("delta-kernel-java/basic-dv-no-checkpoint");
    let loaded = load_all(&table).await;
    assert!(loaded.iter().all(|(dv, _)| dv.storage_type == "u"));
    let rows: Vec<u64> = loaded[0].1.iter().collect();
    assert_eq!(rows, [0, 1]);
}

#[tokio::test]
async fn kernel_dv_tables_load() {
    for table in [
        "delta-kernel/table-with-dv-small",
        "delta-kernel/with-short-dv",
        "delta-kernel/cdf-table-with-cdc-and-dvs",
        "delta-kernel/compacted-log-files-table",
        "delta-kernel-java/basic-dv-with-checkpoint",
        "delta-rs/table_with_deletion_logs",
    ] {
        load_all(&tidemark_testdata::table(table)).await;
    }
    let loaded = load_all(&tidemark_testdata::table(
        "delta-kernel/table-with-dv-small",
    ))
    .await;
    assert_eq!(loaded[0].1.iter().collect::<Vec<_>>(), [0, 9]);
}

#[tokio::test]
async fn inline_dvs_of_a_kernel_table_load() {
    // Commits: 1 deletes [0, 9] (file DV), 2 restores them, 3 deletes [0, 1, 4, 5],
    // 4 restores [1, 4], 5 restores [0, 5] and deletes [3], 6 restores 3.
    let table = tidemark_testdata::table("delta-kernel/cdf-table-with-dv");
    let loaded = load_all(&table).await;
    let inline: Vec<Vec<u64>> = loaded
        .iter()
        .filter(|(dv, _)| dv.storage_type == "i")
        .map(|(_, bitmap)| bitmap.iter().collect())
        .collect();
    // Each inline DV appears in the `add` of one commit and the `remove` of the next.
    let expected: [&[u64]; 6] = [&[0, 1, 4, 5], &[0, 1, 4, 5], &[0, 5], &[0, 5], &[3], &[3]];
    assert_eq!(inline, expected);
}

#[tokio::test]
async fn spark_test_tables_load_once_their_dv_files_are_renamed() {
    // Spark's test tables name their DV files `test%dv%prefix-deletion_vector_*.bin`.
    let scratch = tempfile::tempdir().unwrap();
    for name in [
        "table-with-dv-small",
        "table-with-dv-large",
        "partitioned-table-with-dv-large",
    ] {
        let copy = scratch.path().join(name);
        copy_table(
            &tidemark_testdata::table(&format!("delta-spark/{name}")),
            &copy,
            &|file| file.trim_start_matches("test%dv%prefix-").to_string(),
            &|text| text,
        );
        let loaded = load_all(&copy).await;
        if name == "table-with-dv-small" {
            assert_eq!(loaded[0].1.iter().collect::<Vec<_>>(), [0, 9]);
        } else {
            assert!(loaded.iter().any(|(dv, _)| dv.offset != Some(1)), "{name}");
        }
    }
}

#[tokio::test]
async fn absolute_path_dv_with_special_characters_loads() {
    // The log holds `file:{{FOLDER_WITH_SPECIAL_CHAR}}/test%25dv%25prefix-...`, a template
    // Spark's test fills in with the folder `folder&with%special char` of the table.
    let source = tidemark_testdata::table("delta-spark/table-with-dv-special-char");
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("table");
    let folder_url = url::Url::from_directory_path(copy.join("folder&with%special char")).unwrap();
    let folder = folder_url.path().trim_end_matches('/').to_string();
    copy_table(&source, &copy, &|file| file.to_string(), &|text| {
        text.replace("{{FOLDER_WITH_SPECIAL_CHAR}}", &folder)
    });
    let loaded = load_all(&copy).await;
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].0.storage_type, "p");
    assert_eq!(loaded[0].1.iter().collect::<Vec<_>>(), [0, 2, 4, 6, 8]);
}
