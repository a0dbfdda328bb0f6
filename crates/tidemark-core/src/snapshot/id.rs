//! Snapshot ids: a name for one version of one table that says what the version holds.
//!
//! A snapshot id is `tm1.<table id>.<version>.<digest>`:
//!
//! - `tm1` names the format (version 1 of it);
//! - `<table id>` is the table's `metaData.id` (a UUID for tables Tidemark creates), so ids are
//!   unique across tables, and an id taken from one table never resolves in another;
//! - `<version>` is the version number in decimal, so resolving an id loads that version
//!   directly, without scanning the history;
//! - `<digest>` is the first 16 bytes (32 lowercase hex digits) of the SHA-256 of the
//!   snapshot's content document (see [`content_document`]): its schema, partition columns, and
//!   every live file with its size, partition values and deletion vector, in [`content_order`]
//!   (path, then deletion vector), whatever order log replay met the files in.
//!
//! Resolving an id ([`resolve`]) fails with [`Error::SnapshotTableReplaced`] when the table at
//! the location is not the table the id was taken from, and with
//! [`Error::SnapshotContentChanged`] when the version's content no longer hashes to the digest.
//! `spec/TIDEMARK.md` documents the format.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::log::actions::{Add, DeletionVectorDescriptor, Metadata};
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;

/// The prefix (and format version) of every snapshot id.
pub const SNAPSHOT_ID_PREFIX: &str = "tm1";

/// How many bytes of the SHA-256 a snapshot id keeps.
const DIGEST_BYTES: usize = 16;

/// A parsed snapshot id: table, version and content digest.
///
/// ```
/// use tidemark_core::SnapshotId;
/// let id: SnapshotId = "tm1.6f1c2a80-1111-4c4c-9a9a-000000000001.3.00112233445566778899aabbccddeeff"
///     .parse()?;
/// assert_eq!(id.version, 3);
/// assert_eq!(id.table_id, "6f1c2a80-1111-4c4c-9a9a-000000000001");
/// # Ok::<(), tidemark_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapshotId {
    /// The table's `metaData.id`.
    pub table_id: String,
    /// The version.
    pub version: u64,
    /// The content digest: 32 lowercase hex digits.
    pub digest: String,
}

impl SnapshotId {
    /// The id of a snapshot (computed from its log state; nothing is read).
    pub fn of(snapshot: &Snapshot) -> Result<Self> {
        Ok(Self {
            table_id: snapshot.metadata().id.clone(),
            version: snapshot.version(),
            digest: content_digest(snapshot)?,
        })
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SNAPSHOT_ID_PREFIX}.{}.{}.{}",
            self.table_id, self.version, self.digest
        )
    }
}

impl FromStr for SnapshotId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidSnapshotId {
            id: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix(SNAPSHOT_ID_PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| invalid("it does not start with 'tm1.'"))?;
        let (rest, digest) = rest
            .rsplit_once('.')
            .ok_or_else(|| invalid("it has no digest"))?;
        let (table_id, version) = rest
            .rsplit_once('.')
            .ok_or_else(|| invalid("it has no version"))?;
        if table_id.is_empty() {
            return Err(invalid("the table id is empty"));
        }
        let version = version
            .parse::<u64>()
            .map_err(|_| invalid("the version is not a number"))?;
        if digest.len() != DIGEST_BYTES * 2
            || !digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("the digest is not 32 lowercase hex digits"));
        }
        Ok(Self {
            table_id: table_id.to_string(),
            version,
            digest: digest.to_string(),
        })
    }
}

/// The content document of a snapshot, whose canonical JSON the digest hashes:
///
/// ```json
/// {"files":[{"deletionVector":null,"partitionValues":{"region":"EU"},"path":"…","size":123}],
///  "format":"tidemark-snapshot-content/1","partitionColumns":["region"],
///  "schema":{…},"tableId":"…"}
/// ```
///
/// Files are in [`content_order`] (by path, then by deletion vector), so the document does not
/// depend on the order in which log replay met them; `schema` is `metaData.schemaString` parsed
/// as JSON; a deletion vector is `{"cardinality","offset","pathOrInlineDv","sizeInBytes",
/// "storageType"}` (offset `null` when absent); a null partition value is JSON `null`.
pub fn content_document(snapshot: &Snapshot) -> Result<Value> {
    document(snapshot.metadata(), snapshot.files())
}

/// The content document of a table's metadata and live files, given in any order.
fn document<'a>(metadata: &Metadata, files: impl IntoIterator<Item = &'a Add>) -> Result<Value> {
    let schema: Value = serde_json::from_str(&metadata.schema_string)
        .map_err(|e| Error::Schema(format!("the schema string is not JSON: {e}")))?;
    let mut files: Vec<(&Add, Value)> = files
        .into_iter()
        .map(|add| (add, file_entry(add)))
        .collect();
    files.sort_by(|(a, a_entry), (b, b_entry)| {
        content_order(a, b).then_with(|| {
            // Only entries with the same path and deletion vector id get here, which a
            // snapshot never holds (they are one logical file). Order them by everything else
            // the document holds of them, so that the order is total over what is hashed.
            canonical_string(a_entry).cmp(&canonical_string(b_entry))
        })
    });
    let files: Vec<Value> = files.into_iter().map(|(_, entry)| entry).collect();
    Ok(json!({
        "format": "tidemark-snapshot-content/1",
        "tableId": metadata.id,
        "schema": schema,
        "partitionColumns": metadata.partition_columns,
        "files": files,
    }))
}

/// The order of the files in the content document: by path (byte order), then by deletion
/// vector unique id ([`DeletionVectorDescriptor::unique_id`]: storage type, path or inline
/// data, then `@` and the offset when there is one; byte order), a file without a deletion
/// vector first. This is the order of [`crate::log::actions::FileKey`], the key log replay
/// tells live files apart by, so it orders every live file of a snapshot; on paths that are
/// all distinct it is the order by path alone that the format used before.
pub fn content_order(a: &Add, b: &Add) -> Ordering {
    a.path.cmp(&b.path).then_with(|| {
        let id = |add: &Add| {
            add.deletion_vector
                .as_ref()
                .map(DeletionVectorDescriptor::unique_id)
        };
        id(a).cmp(&id(b))
    })
}

/// A file's entry in the content document.
fn file_entry(add: &Add) -> Value {
    let partition_values: Map<String, Value> = add
        .partition_values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::from)))
        .collect();
    let dv = add.deletion_vector.as_ref().map_or(Value::Null, |dv| {
        json!({
            "storageType": dv.storage_type,
            "pathOrInlineDv": dv.path_or_inline_dv,
            "offset": dv.offset,
            "sizeInBytes": dv.size_in_bytes,
            "cardinality": dv.cardinality,
        })
    });
    json!({
        "path": add.path,
        "size": add.size,
        "partitionValues": Value::Object(partition_values),
        "deletionVector": dv,
    })
}

/// The canonical JSON of a value, for ordering; a value that cannot be encoded (which also
/// fails the digest) orders as the empty string.
fn canonical_string(value: &Value) -> String {
    let mut out = String::new();
    if canonical_json(value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// The content digest of a snapshot: the first 16 bytes of the SHA-256 of the canonical JSON
/// of its [`content_document`], as 32 lowercase hex digits.
pub fn content_digest(snapshot: &Snapshot) -> Result<String> {
    let document = content_document(snapshot)?;
    let mut canonical = String::new();
    canonical_json(&document, &mut canonical)?;
    let hash = Sha256::digest(canonical.as_bytes());
    Ok(hex(&hash[..DIGEST_BYTES]))
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings and numbers
/// as `serde_json` writes them (RFC 8785 escaping for strings).
pub fn canonical_json(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&encode_scalar(&Value::String(key.clone()))?);
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical_json(v, out)?;
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out)?;
            }
            out.push(']');
        }
        scalar => out.push_str(&encode_scalar(scalar)?),
    }
    Ok(())
}

fn encode_scalar(value: &Value) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode a JSON value: {e}")))
}

/// Loads the snapshot a snapshot id names, from the table at `location`, and checks that it is
/// the same table and the same content.
///
/// ```no_run
/// # async fn demo() -> tidemark_core::Result<()> {
/// let location = tidemark_core::TableLocation::parse("/data/sales")?;
/// let id = "tm1.6f1c2a80-1111-4c4c-9a9a-000000000001.3.00112233445566778899aabbccddeeff";
/// let snapshot = tidemark_core::testing::resolve_snapshot_id(&location, &id.parse()?).await?;
/// assert_eq!(snapshot.version(), 3);
/// # Ok(()) }
/// ```
pub async fn resolve(location: &TableLocation, id: &SnapshotId) -> Result<Snapshot> {
    let snapshot = match Snapshot::load(location, Some(id.version)).await {
        Ok(snapshot) => snapshot,
        Err(e @ Error::VersionNotFound { .. }) => {
            // The version may be missing because another table now lives at the location.
            return match table_replaced(location, id).await {
                Some(found) => Err(replaced(location, id, found)),
                None => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    if snapshot.metadata().id != id.table_id {
        return Err(replaced(location, id, snapshot.metadata().id.clone()));
    }
    let digest = content_digest(&snapshot)?;
    if digest != id.digest {
        return Err(Error::SnapshotContentChanged {
            id: id.to_string(),
            version: id.version,
            found: digest,
        });
    }
    Ok(snapshot)
}

/// The id of the table now at the location, when it differs from the id's table.
async fn table_replaced(location: &TableLocation, id: &SnapshotId) -> Option<String> {
    match Snapshot::load(location, None).await {
        Ok(latest) if latest.metadata().id != id.table_id => Some(latest.metadata().id.clone()),
        _ => None,
    }
}

fn replaced(location: &TableLocation, id: &SnapshotId, found: String) -> Error {
    Error::SnapshotTableReplaced {
        id: id.to_string(),
        location: location.url().to_string(),
        expected: id.table_id.clone(),
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::shard::SplitMix64;

    fn metadata() -> Metadata {
        serde_json::from_value(json!({
            "id": "5d3c0b6e-7a41-4f0e-9c2b-0000000d00d1",
            "format": {"provider": "parquet", "options": {}},
            "schemaString": r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#,
            "partitionColumns": [],
            "configuration": {},
        }))
        .unwrap()
    }

    fn add(path: &str, size: i64, dv: Option<(&str, &str, Option<i32>)>) -> Add {
        let mut add = json!({"path": path, "partitionValues": {}, "size": size,
            "modificationTime": 0, "dataChange": true});
        if let Some((storage_type, path_or_inline_dv, offset)) = dv {
            add["deletionVector"] = json!({"storageType": storage_type,
                "pathOrInlineDv": path_or_inline_dv, "offset": offset, "sizeInBytes": 34,
                "cardinality": 1});
        }
        serde_json::from_value(add).unwrap()
    }

    fn digest_of(files: &[Add]) -> String {
        let mut canonical = String::new();
        canonical_json(&document(&metadata(), files).unwrap(), &mut canonical).unwrap();
        hex(&Sha256::digest(canonical.as_bytes())[..DIGEST_BYTES])
    }

    fn paths_and_dvs(files: &[Add]) -> Vec<(String, Option<String>)> {
        let document = document(&metadata(), files).unwrap();
        document["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let dv = &f["deletionVector"];
                let id = (!dv.is_null()).then(|| {
                    format!(
                        "{}{}{}",
                        dv["storageType"].as_str().unwrap(),
                        dv["pathOrInlineDv"].as_str().unwrap(),
                        dv["offset"]
                            .as_i64()
                            .map(|o| format!("@{o}"))
                            .unwrap_or_default()
                    )
                });
                (f["path"].as_str().unwrap().to_string(), id)
            })
            .collect()
    }

    /// Live entries with shared paths: no vector, vectors that differ in storage type, path and
    /// offset only, and (which a snapshot never holds) two entries with the same key that differ
    /// in size.
    fn entries() -> Vec<Add> {
        let mut files = Vec::new();
        for path in [
            "b.parquet",
            "a.parquet",
            "a.parquet.1",
            "é.parquet",
            "A.parquet",
        ] {
            files.push(add(path, 10, None));
            files.push(add(path, 10, Some(("u", "vBn[lx{q8@P<9BNH/isA", Some(9)))));
            files.push(add(path, 10, Some(("u", "vBn[lx{q8@P<9BNH/isA", Some(10)))));
            files.push(add(path, 10, Some(("u", "vBn[lx{q8@P<9BNH/isA", None))));
            files.push(add(path, 10, Some(("u", "AAAAAAAAAAAAAAAAAAAA", Some(1)))));
            files.push(add(path, 10, Some(("p", "s3://b/dv.bin", Some(1)))));
            files.push(add(path, 10, Some(("i", "wi5b=000010000siXQKl0rr9", None))));
        }
        files.push(add("tie.parquet", 2, None));
        files.push(add("tie.parquet", 1, None));
        files
    }

    #[test]
    fn the_digest_does_not_depend_on_the_order_of_the_files() {
        let mut files = entries();
        let expected = digest_of(&files);
        let mut rng = SplitMix64::new(20_240_601);
        for round in 0..500 {
            for i in (1..files.len()).rev() {
                let j = usize::try_from(rng.below(u64::try_from(i + 1).unwrap())).unwrap();
                files.swap(i, j);
            }
            assert_eq!(digest_of(&files), expected, "round {round}");
        }
        let mut reversed = entries();
        reversed.reverse();
        assert_eq!(digest_of(&reversed), expected);
    }

    #[test]
    fn files_are_ordered_by_path_then_deletion_vector_id_none_first() {
        let order = paths_and_dvs(&entries());
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        // Byte order: upper case before lower case, `a.parquet` before `a.parquet.1`, a
        // multi-byte character last; no deletion vector first; offsets compare as text.
        assert_eq!(order[0], ("A.parquet".to_string(), None));
        assert_eq!(
            order[7..10]
                .iter()
                .map(|(p, dv)| (p.as_str(), dv.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("a.parquet", None),
                ("a.parquet", Some("iwi5b=000010000siXQKl0rr9")),
                ("a.parquet", Some("ps3://b/dv.bin@1")),
            ]
        );
        assert_eq!(
            order[11..14]
                .iter()
                .map(|(_, dv)| dv.as_deref())
                .collect::<Vec<_>>(),
            [
                Some("uvBn[lx{q8@P<9BNH/isA"),
                Some("uvBn[lx{q8@P<9BNH/isA@10"),
                Some("uvBn[lx{q8@P<9BNH/isA@9"),
            ]
        );
        assert_eq!(order[14].0, "a.parquet.1");
        assert_eq!(order.last().map(|(p, _)| p.as_str()), Some("é.parquet"));
    }

    #[test]
    fn entries_with_the_same_key_are_ordered_by_the_rest_of_their_entry() {
        let one = [add("tie.parquet", 2, None), add("tie.parquet", 1, None)];
        let two = [add("tie.parquet", 1, None), add("tie.parquet", 2, None)];
        assert_eq!(digest_of(&one), digest_of(&two));
        let document = document(&metadata(), &one).unwrap();
        assert_eq!(document["files"][0]["size"], 1);
    }
}
