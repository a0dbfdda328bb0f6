//! Deletion vectors: which rows of a data file are logically deleted.
//!
//! A deletion vector (DV) is a set of 64-bit row indexes (positions of rows in a Parquet file,
//! counting from zero) attached to an `add` or `remove` action through a
//! [`DeletionVectorDescriptor`]. This module implements the reader side of the Delta protocol
//! sections "Deletion Vectors", "Deletion Vector Descriptor Schema", "Deletion Vector Format" and
//! "Deletion Vector File Storage Format":
//!
//! - [`z85`]: the Z85 (ZeroMQ base-85) codec used for inline DVs and for the UUID of DV files;
//! - [`parse_bitmap`] / [`serialize_bitmap`]: the serialized DV, a 4-byte little-endian magic
//!   number ([`MAGIC_NUMBER`]) followed by a 64-bit roaring bitmap in the portable format;
//! - [`dv_file_path`]: where the DV file of a `u` (relative, UUID-named) or `p` (absolute path)
//!   descriptor lives;
//! - [`load`]: reads and checks a DV of any storage type (`i`, `u`, `p`);
//! - [`deleted_rows_mask`]: turns a DV into a keep-mask for one batch of rows.
//!
//! ```
//! use roaring::RoaringTreemap;
//! use tidemark_core::log::actions::DeletionVectorDescriptor;
//! use tidemark_core::testing::{deleted_rows_mask, parse_bitmap, serialize_bitmap, z85};
//! use tidemark_core::TableLocation;
//!
//! # fn main() -> Result<(), tidemark_core::Error> {
//! // Rows 1 and 3 of a data file are deleted.
//! let deleted: RoaringTreemap = [1u64, 3].into_iter().collect();
//! let bytes = serialize_bitmap(&deleted)?;
//! assert_eq!(parse_bitmap(&bytes)?, deleted);
//!
//! // The same vector stored inline in the log (36 bytes, a multiple of 4, so no padding).
//! let descriptor = DeletionVectorDescriptor {
//!     storage_type: "i".to_string(),
//!     path_or_inline_dv: z85::encode(&bytes)?,
//!     offset: None,
//!     size_in_bytes: bytes.len() as i32,
//!     cardinality: 2,
//! };
//! let location = TableLocation::parse("memory:///sales")?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
//! let loaded = runtime.block_on(tidemark_core::testing::load_deletion_vector(&location, &descriptor))?;
//! assert_eq!(loaded, deleted);
//!
//! // Keep-mask for a batch of 5 rows starting at row 0 of the file.
//! let mask = deleted_rows_mask(&loaded, 0, 5);
//! let keep: Vec<bool> = mask.iter().map(|v| v == Some(true)).collect();
//! assert_eq!(keep, [true, false, true, false, true]);
//! # Ok(()) }
//! ```

use arrow::array::{BooleanArray, BooleanBufferBuilder};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use roaring::RoaringTreemap;

use crate::error::{Error, Result};
use crate::log::actions::{Add, DeletionVectorDescriptor};
use crate::storage::TableLocation;

/// The magic number (written little-endian) that starts every serialized deletion vector in the
/// portable 64-bit roaring format, the only format Delta writers produce today.
pub const MAGIC_NUMBER: u32 = 1_681_511_377;

/// The magic number of the older "native" `RoaringBitmapArray` format, recognised only to report
/// it clearly: Tidemark does not read that format.
const NATIVE_MAGIC_NUMBER: u32 = 1_681_511_376;

/// The format version stored in the first byte of every deletion vector file.
pub const FILE_FORMAT_VERSION: u8 = 1;

/// Where the first record of a DV file starts when a `u`/`p` descriptor has no `offset`: right
/// after the one-byte format version.
const DEFAULT_FILE_OFFSET: u64 = 1;

/// Length of the Z85 encoding of the 16-byte UUID at the end of a `u` descriptor's path.
const ENCODED_UUID_LEN: usize = 20;

/// Z85, the base-85 encoding of ZeroMQ (<https://rfc.zeromq.org/spec/32/>), used by Delta for
/// inline deletion vectors and for the UUID in the file name of on-disk deletion vectors.
///
/// Every 4 bytes (a big-endian 32-bit number) become 5 characters from an 85-character alphabet
/// that is safe inside JSON strings.
///
/// ```
/// use tidemark_core::testing::z85;
///
/// # fn main() -> Result<(), tidemark_core::Error> {
/// let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
/// assert_eq!(z85::encode(&bytes)?, "HelloWorld");
/// assert_eq!(z85::decode("HelloWorld")?, bytes);
/// assert!(z85::decode("Hello").is_ok());
/// assert!(z85::decode("Hell").is_err()); // not a multiple of 5 characters
/// # Ok(()) }
/// ```
pub mod z85 {
    use crate::error::{Error, Result};

    /// The 85 characters of Z85, in digit order.
    const ALPHABET: &[u8; 85] =
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    /// Marks an ASCII character that is not a Z85 digit in [`DIGITS`].
    const NOT_A_DIGIT: u8 = u8::MAX;

    /// Digit value of each ASCII character.
    const DIGITS: [u8; 128] = digit_table();

    /// The digit of `#`, the largest one: no valid 5-character group starts with it.
    const HIGHEST_DIGIT: u8 = 84;

    const fn digit_table() -> [u8; 128] {
        let mut table = [NOT_A_DIGIT; 128];
        let mut digit = 0;
        while digit < ALPHABET.len() {
            table[ALPHABET[digit] as usize] = digit as u8;
            digit += 1;
        }
        table
    }

    /// Encodes `bytes` as Z85.
    ///
    /// As the ZeroMQ specification requires, the input length must be a multiple of 4; pad the
    /// input first otherwise (Delta pads inline deletion vectors with zero bytes and records the
    /// unpadded length in `sizeInBytes`).
    #[cfg(any(test, feature = "test-support"))]
    pub fn encode(bytes: &[u8]) -> Result<String> {
        if !bytes.len().is_multiple_of(4) {
            return Err(Error::deletion_vector(format!(
                "cannot Z85-encode {} bytes: Z85 input must be a multiple of 4 bytes long; pad it first",
                bytes.len()
            )));
        }
        let mut text = String::with_capacity(bytes.len() / 4 * 5);
        for chunk in bytes.chunks_exact(4) {
            let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let mut group = [0u8; 5];
            for slot in group.iter_mut().rev() {
                *slot = ALPHABET[(value % 85) as usize];
                value /= 85;
            }
            text.extend(group.iter().copied().map(char::from));
        }
        Ok(text)
    }

    /// Decodes Z85 text.
    ///
    /// The text must be a multiple of 5 characters long, use only the Z85 alphabet, and every
    /// 5-character group must encode a value that fits in 4 bytes.
    pub fn decode(text: &str) -> Result<Vec<u8>> {
        let digits = digits_of(text)?;
        let mut bytes = Vec::with_capacity(digits.len() / 5 * 4);
        for (index, group) in digits.chunks_exact(5).enumerate() {
            bytes.extend_from_slice(&group_value(text, index, group)?.to_be_bytes());
        }
        Ok(bytes)
    }

    /// Decodes Z85 text whose last group may use the padded-tail form of the Rust `z85` crate
    /// (3.x), which some Delta writers used for inline deletion vectors of unaligned length:
    /// `k` leading `#` characters (1 to 3) followed by the remaining `4 - k` bytes as a
    /// big-endian number in `5 - k` digits. A valid Z85 group never starts with `#`, so the form
    /// cannot be mistaken for standard Z85.
    pub(super) fn decode_allowing_padded_tail(text: &str) -> Result<Vec<u8>> {
        let digits = digits_of(text)?;
        let groups = digits.len() / 5;
        let mut bytes = Vec::with_capacity(groups * 4);
        for (index, group) in digits.chunks_exact(5).enumerate() {
            let padding = group.iter().take_while(|&&d| d == HIGHEST_DIGIT).count();
            if index + 1 == groups && (1..=3).contains(&padding) {
                let kept = 4 - padding;
                let value = group[padding..]
                    .iter()
                    .fold(0u64, |acc, &d| acc * 85 + u64::from(d));
                if value >= 1u64 << (8 * kept) {
                    return Err(Error::deletion_vector(format!(
                        "the last Z85 group '{}' is padded to {kept} byte(s) but encodes {value}, which does not fit",
                        group_text(text, index)
                    )));
                }
                bytes.extend_from_slice(&value.to_be_bytes()[8 - kept..]);
            } else {
                bytes.extend_from_slice(&group_value(text, index, group)?.to_be_bytes());
            }
        }
        Ok(bytes)
    }

    /// The digit values of `text`, checked for invalid characters and length.
    fn digits_of(text: &str) -> Result<Vec<u8>> {
        let mut digits = Vec::with_capacity(text.len());
        for (position, c) in text.chars().enumerate() {
            let digit = u32::from(c)
                .try_into()
                .ok()
                .and_then(|ascii: usize| DIGITS.get(ascii).copied())
                .filter(|&d| d != NOT_A_DIGIT)
                .ok_or_else(|| {
                    Error::deletion_vector(format!(
                        "invalid Z85 character {c:?} at position {position}"
                    ))
                })?;
            digits.push(digit);
        }
        if !digits.len().is_multiple_of(5) {
            return Err(Error::deletion_vector(format!(
                "invalid Z85 text of {} characters: Z85 text must be a multiple of 5 characters long",
                digits.len()
            )));
        }
        Ok(digits)
    }

    /// The 32-bit value of one 5-digit group.
    fn group_value(text: &str, index: usize, group: &[u8]) -> Result<u32> {
        let value = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
        u32::try_from(value).map_err(|_| {
            Error::deletion_vector(format!(
                "invalid Z85 group '{}' at position {}: it encodes {value}, which does not fit in 4 bytes",
                group_text(text, index),
                index * 5
            ))
        })
    }

    /// The characters of group `index` (the text is ASCII once validated).
    fn group_text(text: &str, index: usize) -> &str {
        text.get(index * 5..index * 5 + 5).unwrap_or_default()
    }
}

/// Parses a serialized deletion vector: the 4-byte little-endian [`MAGIC_NUMBER`] followed by a
/// 64-bit roaring bitmap in the portable format (a little-endian `u64` count of buckets, then
/// per bucket a little-endian `u32` key and a 32-bit portable roaring bitmap).
///
/// The bytes must hold exactly one bitmap: a wrong magic number, truncated data or trailing
/// bytes are errors, as are row indexes above `i64::MAX` (the protocol requires the most
/// significant bit of every key to be 0).
pub fn parse_bitmap(bytes: &[u8]) -> Result<RoaringTreemap> {
    let Some((magic, mut rest)) = bytes.split_first_chunk::<4>() else {
        return Err(Error::deletion_vector(format!(
            "the serialized deletion vector is {} bytes long, too short for its 4-byte magic number",
            bytes.len()
        )));
    };
    let magic_le = u32::from_le_bytes(*magic);
    if magic_le != MAGIC_NUMBER {
        let reason = if magic_le == NATIVE_MAGIC_NUMBER
            || u32::from_be_bytes(*magic) == NATIVE_MAGIC_NUMBER
        {
            format!(
                "the deletion vector uses the native RoaringBitmapArray format (magic number {NATIVE_MAGIC_NUMBER}), \
                 which Tidemark does not read; only the portable format (magic number {MAGIC_NUMBER}) is supported"
            )
        } else {
            format!(
                "wrong magic number {magic_le}; a serialized deletion vector starts with {MAGIC_NUMBER}"
            )
        };
        return Err(Error::deletion_vector(reason));
    }
    let total = rest.len();
    let bitmap = RoaringTreemap::deserialize_from(&mut rest).map_err(|e| {
        let reason = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("the 64-bit roaring bitmap is truncated: its {total} bytes end before the bitmap does")
        } else {
            format!("the 64-bit roaring bitmap ({total} bytes) is invalid: {e}")
        };
        Error::deletion_vector(reason)
    })?;
    if !rest.is_empty() {
        return Err(Error::deletion_vector(format!(
            "{} unexpected trailing byte(s) after the 64-bit roaring bitmap",
            rest.len()
        )));
    }
    check_row_index_range(&bitmap)?;
    Ok(bitmap)
}

/// Serializes a deletion vector: the little-endian [`MAGIC_NUMBER`] followed by the bitmap in the
/// portable 64-bit roaring format. The inverse of [`parse_bitmap`].
///
/// Fails when a row index is above `i64::MAX`, which the protocol forbids.
#[cfg(any(test, feature = "test-support"))]
pub fn serialize_bitmap(bitmap: &RoaringTreemap) -> Result<Vec<u8>> {
    check_row_index_range(bitmap)?;
    let mut bytes = Vec::with_capacity(4 + bitmap.serialized_size());
    bytes.extend_from_slice(&MAGIC_NUMBER.to_le_bytes());
    bitmap
        .serialize_into(&mut bytes)
        .map_err(|e| Error::deletion_vector(format!("cannot serialize the roaring bitmap: {e}")))?;
    Ok(bytes)
}

/// Rejects row indexes whose most significant bit is set.
fn check_row_index_range(bitmap: &RoaringTreemap) -> Result<()> {
    match bitmap.max() {
        Some(max) if max > i64::MAX as u64 => Err(Error::deletion_vector(format!(
            "row index {max} is above the largest row index a deletion vector may hold ({})",
            i64::MAX
        ))),
        _ => Ok(()),
    }
}

/// The object-store path of the file holding an on-disk deletion vector.
///
/// - `u`: `path_or_inline_dv` is an optional random prefix followed by the 20-character Z85
///   encoding of a 16-byte UUID; the file is `<prefix>/deletion_vector_<uuid>.bin` under the
///   table root (or `deletion_vector_<uuid>.bin` when the prefix is empty).
/// - `p`: `path_or_inline_dv` is a path as in `add.path`, normally an absolute URI; it must lie
///   inside the table root (see [`TableLocation::resolve`]).
/// - `i` (inline) has no file: an error.
///
/// ```
/// # fn main() -> Result<(), tidemark_core::Error> {
/// use tidemark_core::log::actions::DeletionVectorDescriptor;
/// let location = tidemark_core::TableLocation::parse("memory:///mytable")?;
/// let dv = DeletionVectorDescriptor {
///     storage_type: "u".to_string(),
///     path_or_inline_dv: "ab^-aqEH.-t@S}K{vb[*k^".to_string(),
///     offset: Some(4),
///     size_in_bytes: 40,
///     cardinality: 6,
/// };
/// let path = tidemark_core::testing::dv_file_path(&location, &dv)?;
/// assert_eq!(
///     path.as_ref(),
///     "mytable/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"
/// );
/// # Ok(()) }
/// ```
pub fn dv_file_path(location: &TableLocation, dv: &DeletionVectorDescriptor) -> Result<Path> {
    let encoded = dv.path_or_inline_dv.as_str();
    let relative = match dv.storage_type.as_str() {
        "u" => relative_file_name(encoded)?,
        "p" => encoded.to_string(),
        "i" => {
            return Err(Error::deletion_vector(
                "an inline deletion vector (storage type 'i') is stored in the log and has no file",
            ));
        }
        other => return Err(unknown_storage_type(other)),
    };
    location.resolve(&relative).map_err(|e| {
        Error::deletion_vector(format!(
            "cannot locate the file of deletion vector '{}{encoded}': {e}",
            dv.storage_type
        ))
    })
}

/// The objects an `add` reads: its data file, and its deletion-vector file unless the vector is
/// inline.
pub(crate) fn add_objects(location: &TableLocation, add: &Add) -> Result<Vec<Path>> {
    let mut objects = vec![location.resolve(&add.path)?];
    if let Some(dv) = &add.deletion_vector
        && dv.storage_type != "i"
    {
        objects.push(dv_file_path(location, dv)?);
    }
    Ok(objects)
}

/// The percent-encoded path, relative to the table root, of a `u` descriptor's file.
fn relative_file_name(encoded: &str) -> Result<String> {
    let split = encoded.len().checked_sub(ENCODED_UUID_LEN).ok_or_else(|| {
        Error::deletion_vector(format!(
            "the path '{encoded}' of a deletion vector with storage type 'u' is {} characters long; \
             it must end with the {ENCODED_UUID_LEN}-character Z85 encoding of a UUID",
            encoded.chars().count()
        ))
    })?;
    let (Some(prefix), Some(uuid_text)) = (encoded.get(..split), encoded.get(split..)) else {
        return Err(Error::deletion_vector(format!(
            "the path '{encoded}' of a deletion vector with storage type 'u' does not end with a Z85-encoded UUID"
        )));
    };
    let uuid_bytes = z85::decode(uuid_text).map_err(|e| {
        Error::deletion_vector(format!(
            "the UUID '{uuid_text}' of deletion vector path '{encoded}' is not valid Z85: {}",
            reason_of(&e)
        ))
    })?;
    let uuid = uuid::Uuid::from_slice(&uuid_bytes).map_err(|e| {
        Error::deletion_vector(format!(
            "the UUID '{uuid_text}' of deletion vector path '{encoded}' is invalid: {e}"
        ))
    })?;
    let file_name = format!("deletion_vector_{}.bin", uuid.hyphenated());
    Ok(if prefix.is_empty() {
        file_name
    } else {
        format!("{}/{file_name}", percent_encode(prefix))
    })
}

/// Percent-encodes every byte but ASCII letters, digits and `-_.~`, so that
/// [`TableLocation::resolve`] reads the prefix back verbatim.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Loads a deletion vector and checks it against its descriptor.
///
/// - `i`: `path_or_inline_dv` is Z85-decoded and its first `size_in_bytes` bytes parsed with
///   [`parse_bitmap`]. Up to 3 bytes of padding after them are ignored (Delta pads unaligned
///   inline vectors with zeros); a padded last group in the style of the Rust `z85` crate
///   (leading `#` characters) is accepted too.
/// - `u` / `p`: the file is located with [`dv_file_path`] and read with a single ranged request
///   starting at `offset` (default 1: the first byte of a DV file is its format version,
///   checked when the record starts right after it; the protocol text says to read a missing
///   offset as 0, but no record can start on the version byte, and Delta readers use 1).
///   The record is a 4-byte big-endian size
///   (which must equal `size_in_bytes`), the serialized vector, and the big-endian CRC-32 of the
///   serialized vector, which must match.
///
/// The number of row indexes must equal `cardinality`. Every decoding problem is an
/// [`Error::DeletionVector`]; failures of the object store are [`Error::ObjectStore`].
pub async fn load(
    location: &TableLocation,
    dv: &DeletionVectorDescriptor,
) -> Result<RoaringTreemap> {
    let bitmap = match dv.storage_type.as_str() {
        "i" => load_inline(dv)?,
        "u" | "p" => load_from_file(location, dv).await?,
        other => return Err(unknown_storage_type(other)),
    };
    let actual = bitmap.len();
    if u64::try_from(dv.cardinality).ok() != Some(actual) {
        return Err(Error::deletion_vector(format!(
            "cardinality mismatch for deletion vector '{}': the descriptor says {} deleted row(s), the vector holds {actual}",
            dv.unique_id(),
            dv.cardinality
        )));
    }
    Ok(bitmap)
}

/// Decodes an inline (`i`) deletion vector.
fn load_inline(dv: &DeletionVectorDescriptor) -> Result<RoaringTreemap> {
    let context = "inline deletion vector";
    let size = size_in_bytes(dv)?;
    let bytes = z85::decode_allowing_padded_tail(&dv.path_or_inline_dv)
        .map_err(|e| with_context(context, e))?;
    if bytes.len() < size || bytes.len() - size > 3 {
        return Err(Error::deletion_vector(format!(
            "{context}: its Z85 text decodes to {} bytes, but sizeInBytes is {size} \
             (at most 3 bytes of padding may follow the vector)",
            bytes.len()
        )));
    }
    parse_bitmap(&bytes[..size]).map_err(|e| with_context(context, e))
}

/// Reads a `u` or `p` deletion vector from its file.
async fn load_from_file(
    location: &TableLocation,
    dv: &DeletionVectorDescriptor,
) -> Result<RoaringTreemap> {
    let path = dv_file_path(location, dv)?;
    let size = size_in_bytes(dv)?;
    let offset = match dv.offset {
        None => DEFAULT_FILE_OFFSET,
        Some(offset) => u64::try_from(offset).map_err(|_| {
            Error::deletion_vector(format!(
                "deletion vector '{}' has a negative offset {offset}",
                dv.unique_id()
            ))
        })?,
    };
    // One request for the size field, the data and the checksum. When the record follows the
    // version byte directly, fetch that byte as well and check it.
    let start = if offset == DEFAULT_FILE_OFFSET {
        0
    } else {
        offset
    };
    let end = offset + 4 + size as u64 + 4;
    let bytes = location
        .store()
        .get_range(&path, start..end)
        .await
        .map_err(|e| Error::store(format!("reading deletion vector file '{path}'"), e))?;
    let context = format!("deletion vector file '{path}' at offset {offset}");
    if start == 0 {
        match bytes.first() {
            Some(&FILE_FORMAT_VERSION) => {}
            Some(version) => {
                return Err(Error::deletion_vector(format!(
                    "{context}: unsupported format version {version}; Tidemark reads version {FILE_FORMAT_VERSION}"
                )));
            }
            None => {
                return Err(Error::deletion_vector(format!(
                    "{context}: the file is empty"
                )));
            }
        }
    }
    let record = usize::try_from(offset - start)
        .ok()
        .and_then(|skip| bytes.get(skip..))
        .unwrap_or_default();
    let data = checked_record_data(record, size).map_err(|e| with_context(&context, e))?;
    parse_bitmap(data).map_err(|e| with_context(&context, e))
}

/// Checks one record of a DV file (big-endian size, data, big-endian CRC-32 of the data) and
/// returns its data.
fn checked_record_data(record: &[u8], expected_size: usize) -> Result<&[u8]> {
    let Some((size_field, rest)) = record.split_first_chunk::<4>() else {
        return Err(truncated(record.len(), expected_size));
    };
    let declared = u32::from_be_bytes(*size_field);
    if usize::try_from(declared).ok() != Some(expected_size) {
        return Err(Error::deletion_vector(format!(
            "the file records a size of {declared} bytes, but the descriptor's sizeInBytes is {expected_size}"
        )));
    }
    let Some((data, checksum)) = rest.split_at_checked(expected_size) else {
        return Err(truncated(record.len(), expected_size));
    };
    let Some((stored, _)) = checksum.split_first_chunk::<4>() else {
        return Err(truncated(record.len(), expected_size));
    };
    let expected = u32::from_be_bytes(*stored);
    let actual = crc32fast::hash(data);
    if expected != actual {
        return Err(Error::deletion_vector(format!(
            "checksum mismatch: expected CRC-32 {expected:#010x} (stored in the file), \
             actual {actual:#010x} (computed over the {expected_size} data bytes)"
        )));
    }
    Ok(data)
}

fn truncated(found: usize, expected_size: usize) -> Error {
    Error::deletion_vector(format!(
        "the file is truncated: the record needs {} bytes (4-byte size, {expected_size} data bytes, \
         4-byte checksum) but only {found} are present",
        expected_size + 8
    ))
}

/// The descriptor's `size_in_bytes`, checked to be non-negative.
fn size_in_bytes(dv: &DeletionVectorDescriptor) -> Result<usize> {
    usize::try_from(dv.size_in_bytes).map_err(|_| {
        Error::deletion_vector(format!(
            "deletion vector '{}' has a negative sizeInBytes {}",
            dv.unique_id(),
            dv.size_in_bytes
        ))
    })
}

fn unknown_storage_type(storage_type: &str) -> Error {
    Error::deletion_vector(format!(
        "unknown deletion vector storage type '{storage_type}'; the protocol defines 'u' (relative path), \
         'p' (absolute path) and 'i' (inline)"
    ))
}

/// Prefixes the reason of a deletion-vector error with where it happened.
fn with_context(context: &str, error: Error) -> Error {
    match error {
        Error::DeletionVector { path, reason } => Error::DeletionVector {
            path,
            reason: format!("{context}: {reason}"),
        },
        other => other,
    }
}

/// The bare reason of a deletion-vector error, or its message.
fn reason_of(error: &Error) -> String {
    match error {
        Error::DeletionVector { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Keep-mask for a batch of `num_rows` rows that starts at row `row_offset` of a data file:
/// `true` for rows to keep, `false` for rows the deletion vector deletes.
///
/// Runs in time proportional to `num_rows` plus the number of deleted rows inside the batch: the
/// bitmap is iterated from `row_offset` on, never probed row by row. The mask has no nulls.
pub fn deleted_rows_mask(
    bitmap: &RoaringTreemap,
    row_offset: u64,
    num_rows: usize,
) -> BooleanArray {
    let mut keep = BooleanBufferBuilder::new(num_rows);
    keep.append_n(num_rows, true);
    let end = row_offset.saturating_add(num_rows as u64);
    let mut deleted = bitmap.iter();
    deleted.advance_to(row_offset);
    for row in deleted.take_while(|&row| row < end) {
        keep.set_bit((row - row_offset) as usize, false);
    }
    BooleanArray::new(keep.finish(), None)
}

#[cfg(test)]
mod tests;
