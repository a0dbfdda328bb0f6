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
//!   every live file with its size, partition values and deletion vector.
//!
//! Resolving an id ([`resolve`]) fails with [`Error::SnapshotTableReplaced`] when the table at
//! the location is not the table the id was taken from, and with
//! [`Error::SnapshotContentChanged`] when the version's content no longer hashes to the digest.
//! `spec/TIDEMARK.md` documents the format.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
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
/// Files are sorted by path; `schema` is `metaData.schemaString` parsed as JSON; a deletion
/// vector is `{"cardinality","offset","pathOrInlineDv","sizeInBytes","storageType"}` (offset
/// `null` when absent); a null partition value is JSON `null`.
pub fn content_document(snapshot: &Snapshot) -> Result<Value> {
    let metadata = snapshot.metadata();
    let schema: Value = serde_json::from_str(&metadata.schema_string)
        .map_err(|e| Error::Schema(format!("the schema string is not JSON: {e}")))?;
    let files: Vec<Value> = snapshot
        .files_sorted()
        .into_iter()
        .map(|add| {
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
        })
        .collect();
    Ok(json!({
        "format": "tidemark-snapshot-content/1",
        "tableId": metadata.id,
        "schema": schema,
        "partitionColumns": metadata.partition_columns,
        "files": files,
    }))
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
