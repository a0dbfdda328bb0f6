//! The actions of the Delta log: what one line of a commit file (or one row of a checkpoint) says.
//!
//! Parsing is tolerant: unknown fields and unknown action kinds are ignored, as the protocol asks.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Partition values of a file: column name to its serialized value (`None` is SQL NULL).
pub type PartitionValues = HashMap<String, Option<String>>;

/// The protocol versions and table features a table requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Minimum reader protocol version.
    pub min_reader_version: i32,
    /// Minimum writer protocol version.
    pub min_writer_version: i32,
    /// Reader table features (reader version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_features: Option<Vec<String>>,
    /// Writer table features (writer version 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_features: Option<Vec<String>>,
}

/// The storage format of data files (always Parquet for Delta).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// The provider name, `parquet`.
    pub provider: String,
    /// Format options.
    #[serde(default, deserialize_with = "null_tolerant_map")]
    pub options: HashMap<String, String>,
}

impl Default for Format {
    fn default() -> Self {
        Self {
            provider: "parquet".to_string(),
            options: HashMap::new(),
        }
    }
}

/// The table's metadata: identity, schema, partitioning and properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Unique id of the table (a UUID), set at creation.
    pub id: String,
    /// User-facing table name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User-facing description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Data file format.
    #[serde(default)]
    pub format: Format,
    /// The table schema, as a JSON string in the protocol's schema format (empty when a
    /// writer left it out, as Delta Live Tables does for a table's first version).
    #[serde(default)]
    pub schema_string: String,
    /// Names of partition columns, in order.
    #[serde(default)]
    pub partition_columns: Vec<String>,
    /// Creation time, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
    /// Table properties (`delta.*` and user keys).
    #[serde(default, deserialize_with = "null_tolerant_map")]
    pub configuration: HashMap<String, String>,
}

/// Locates a deletion vector: which rows of a data file are deleted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionVectorDescriptor {
    /// `u` (relative path, UUID encoded in Z85), `i` (inline, Z85) or `p` (absolute path).
    pub storage_type: String,
    /// The path, UUID or inline data, depending on `storage_type`.
    pub path_or_inline_dv: String,
    /// Byte offset of the vector inside its file (`u` and `p` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
    /// Size of the serialized vector in bytes.
    pub size_in_bytes: i32,
    /// Number of deleted rows.
    pub cardinality: i64,
}

impl DeletionVectorDescriptor {
    /// The identity of the vector used to reconcile `add` and `remove` actions.
    pub fn unique_id(&self) -> String {
        match self.offset {
            Some(offset) => format!("{}{}@{}", self.storage_type, self.path_or_inline_dv, offset),
            None => format!("{}{}", self.storage_type, self.path_or_inline_dv),
        }
    }
}

/// A data file added to the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// Path relative to the table root (URI-encoded) or an absolute URI.
    pub path: String,
    /// Partition values of the file.
    #[serde(default)]
    pub partition_values: PartitionValues,
    /// File size in bytes.
    pub size: i64,
    /// Modification time, milliseconds since the epoch.
    #[serde(default)]
    pub modification_time: i64,
    /// Whether the file changes data (false for compaction).
    #[serde(default = "default_true")]
    pub data_change: bool,
    /// Statistics as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<PartitionValues>,
    /// The file's deletion vector, if any rows are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// First row id of the file (row tracking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_row_id: Option<i64>,
    /// Default commit version of rows (row tracking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_row_commit_version: Option<i64>,
    /// Clustering provider name (clustered tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustering_provider: Option<String>,
}

impl Add {
    /// The key that `remove` actions reconcile against: path plus deletion-vector id.
    pub fn file_key(&self) -> FileKey {
        FileKey::new(&self.path, self.deletion_vector.as_ref())
    }
}

/// A data file removed from the table (a tombstone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    /// Path as in the matching `add`.
    pub path: String,
    /// When the file was removed, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    /// Whether the removal changes data.
    #[serde(default = "default_true")]
    pub data_change: bool,
    /// Whether the fields below are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_file_metadata: Option<bool>,
    /// Partition values of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<PartitionValues>,
    /// File size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Statistics as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<PartitionValues>,
    /// The deletion vector of the removed logical file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// First row id of the file (row tracking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_row_id: Option<i64>,
    /// Default commit version of rows (row tracking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_row_commit_version: Option<i64>,
}

impl Remove {
    /// The key this tombstone reconciles against.
    pub fn file_key(&self) -> FileKey {
        FileKey::new(&self.path, self.deletion_vector.as_ref())
    }
}

/// Identity of a logical file in log replay: its path and its deletion vector's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    /// The file path as written in the log.
    pub path: String,
    /// The deletion vector's unique id, if any.
    pub dv_id: Option<String>,
}

impl FileKey {
    /// Builds a key from a path and an optional deletion vector.
    pub fn new(path: &str, dv: Option<&DeletionVectorDescriptor>) -> Self {
        Self {
            path: path.to_string(),
            dv_id: dv.map(DeletionVectorDescriptor::unique_id),
        }
    }
}

/// An application transaction marker (idempotent writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Txn {
    /// The application's id.
    pub app_id: String,
    /// The application's version for this commit.
    pub version: i64,
    /// When the marker was written, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<i64>,
}

/// A change-data file (change data feed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cdc {
    /// Path relative to the table root.
    pub path: String,
    /// Partition values.
    #[serde(default)]
    pub partition_values: PartitionValues,
    /// Size in bytes.
    pub size: i64,
    /// Always false for CDC files.
    #[serde(default)]
    pub data_change: bool,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<PartitionValues>,
}

/// Configuration of a named metadata domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainMetadata {
    /// The domain's name.
    pub domain: String,
    /// The domain's configuration (usually JSON).
    pub configuration: String,
    /// Whether the domain was removed.
    #[serde(default)]
    pub removed: bool,
}

/// Marks the top-level file of a v2 checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointMetadata {
    /// The version the checkpoint describes.
    pub version: i64,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<PartitionValues>,
}

/// Points from a v2 checkpoint to a sidecar file holding some of its `add`/`remove` actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// File name inside `_delta_log/_sidecars/` (or a relative/absolute path).
    pub path: String,
    /// Size in bytes.
    pub size_in_bytes: i64,
    /// Modification time, milliseconds since the epoch.
    #[serde(default)]
    pub modification_time: i64,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<PartitionValues>,
}

/// Provenance of a commit: free-form, with a few well-known keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitInfo(pub serde_json::Map<String, serde_json::Value>);

impl CommitInfo {
    /// The commit's timestamp in milliseconds (`timestamp`).
    pub fn timestamp(&self) -> Option<i64> {
        self.0.get("timestamp").and_then(serde_json::Value::as_i64)
    }

    /// The in-commit timestamp in milliseconds (`inCommitTimestamp`), if the table records it.
    pub fn in_commit_timestamp(&self) -> Option<i64> {
        self.0
            .get("inCommitTimestamp")
            .and_then(serde_json::Value::as_i64)
    }

    /// The operation name, e.g. `WRITE`.
    pub fn operation(&self) -> Option<&str> {
        self.0.get("operation").and_then(serde_json::Value::as_str)
    }
}

/// One action of the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Protocol versions and features.
    Protocol(Protocol),
    /// Table metadata.
    Metadata(Metadata),
    /// A file added.
    Add(Add),
    /// A file removed.
    Remove(Remove),
    /// Commit provenance.
    CommitInfo(CommitInfo),
    /// Application transaction marker.
    Txn(Txn),
    /// Change-data file.
    Cdc(Cdc),
    /// Domain configuration.
    DomainMetadata(DomainMetadata),
    /// v2 checkpoint marker.
    CheckpointMetadata(CheckpointMetadata),
    /// v2 checkpoint sidecar reference.
    Sidecar(Sidecar),
}

/// One line of a commit file: at most one of the fields is set.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionLine {
    protocol: Option<Protocol>,
    meta_data: Option<Metadata>,
    add: Option<Add>,
    remove: Option<Remove>,
    commit_info: Option<CommitInfo>,
    txn: Option<Txn>,
    cdc: Option<Cdc>,
    domain_metadata: Option<DomainMetadata>,
    checkpoint_metadata: Option<CheckpointMetadata>,
    sidecar: Option<Sidecar>,
}

impl ActionLine {
    fn into_action(self) -> Option<Action> {
        let ActionLine {
            protocol,
            meta_data,
            add,
            remove,
            commit_info,
            txn,
            cdc,
            domain_metadata,
            checkpoint_metadata,
            sidecar,
        } = self;
        add.map(Action::Add)
            .or_else(|| remove.map(Action::Remove))
            .or_else(|| meta_data.map(Action::Metadata))
            .or_else(|| protocol.map(Action::Protocol))
            .or_else(|| commit_info.map(Action::CommitInfo))
            .or_else(|| txn.map(Action::Txn))
            .or_else(|| cdc.map(Action::Cdc))
            .or_else(|| domain_metadata.map(Action::DomainMetadata))
            .or_else(|| checkpoint_metadata.map(Action::CheckpointMetadata))
            .or_else(|| sidecar.map(Action::Sidecar))
    }
}

impl Action {
    /// Serializes the action as one line of a commit file (no trailing newline).
    pub fn to_json_line(&self) -> Result<String> {
        let (key, value) = match self {
            Action::Protocol(a) => ("protocol", serde_json::to_value(a)),
            Action::Metadata(a) => ("metaData", serde_json::to_value(a)),
            Action::Add(a) => ("add", serde_json::to_value(a)),
            Action::Remove(a) => ("remove", serde_json::to_value(a)),
            Action::CommitInfo(a) => ("commitInfo", serde_json::to_value(a)),
            Action::Txn(a) => ("txn", serde_json::to_value(a)),
            Action::Cdc(a) => ("cdc", serde_json::to_value(a)),
            Action::DomainMetadata(a) => ("domainMetadata", serde_json::to_value(a)),
            Action::CheckpointMetadata(a) => ("checkpointMetadata", serde_json::to_value(a)),
            Action::Sidecar(a) => ("sidecar", serde_json::to_value(a)),
        };
        let value =
            value.map_err(|e| Error::InvalidArgument(format!("cannot serialize {key}: {e}")))?;
        let mut line = serde_json::Map::with_capacity(1);
        line.insert(key.to_string(), value);
        serde_json::to_string(&line)
            .map_err(|e| Error::InvalidArgument(format!("cannot serialize {key}: {e}")))
    }
}

/// Parses the newline-delimited JSON of a commit file (or a JSON v2 checkpoint).
///
/// Blank lines and unknown action kinds are skipped. `path` names the file in errors.
///
/// ```
/// let text = r#"{"commitInfo":{"timestamp":1,"operation":"WRITE"}}
/// {"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
/// {"someFutureAction":{"x":1}}"#;
/// let actions = tidemark_core::actions::parse_commit(text.as_bytes(), "00.json").unwrap();
/// assert_eq!(actions.len(), 2);
/// ```
pub fn parse_commit(bytes: &[u8], path: &str) -> Result<Vec<Action>> {
    let mut actions = Vec::new();
    for (number, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed: ActionLine = serde_json::from_slice(line).map_err(|e| {
            Error::invalid_log(
                path,
                format!("line {} is not a valid action: {e}", number + 1),
            )
        })?;
        if let Some(action) = parsed.into_action() {
            actions.push(action);
        }
    }
    Ok(actions)
}

fn default_true() -> bool {
    true
}

/// Accepts a JSON object whose values may be null (dropping those) or a JSON null.
fn null_tolerant_map<'de, D>(
    deserializer: D,
) -> std::result::Result<HashMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let map: Option<HashMap<String, Option<String>>> = Option::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_action_kind() {
        let text = r#"{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}}
{"metaData":{"id":"abc","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{"a":"1","b":null},"createdTime":5}}
{"add":{"path":"x.parquet","partitionValues":{"p":null},"size":10,"modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":3}","deletionVector":{"storageType":"u","pathOrInlineDv":"ab^-aqEH.-t@S}K{vb[*k^","offset":4,"sizeInBytes":40,"cardinality":6},"futureField":1}}
{"remove":{"path":"y.parquet","deletionTimestamp":2,"dataChange":true}}
{"commitInfo":{"timestamp":7,"operation":"WRITE","inCommitTimestamp":9}}
{"txn":{"appId":"job","version":3}}
{"cdc":{"path":"_change_data/c.parquet","partitionValues":{},"size":1,"dataChange":false}}
{"domainMetadata":{"domain":"d","configuration":"{}","removed":false}}
{"checkpointMetadata":{"version":4}}
{"sidecar":{"path":"s.parquet","sizeInBytes":1,"modificationTime":1}}
"#;
        let actions = parse_commit(text.as_bytes(), "t").unwrap();
        assert_eq!(actions.len(), 10);
        let Action::Metadata(m) = &actions[1] else {
            panic!()
        };
        assert_eq!(m.configuration.len(), 1);
        let Action::Add(add) = &actions[2] else {
            panic!()
        };
        assert_eq!(add.partition_values.get("p"), Some(&None));
        assert_eq!(
            add.file_key().dv_id.as_deref(),
            Some("uab^-aqEH.-t@S}K{vb[*k^@4")
        );
        let Action::CommitInfo(ci) = &actions[4] else {
            panic!()
        };
        assert_eq!(ci.in_commit_timestamp(), Some(9));
        assert_eq!(ci.operation(), Some("WRITE"));
    }

    #[test]
    fn invalid_line_names_file_and_line() {
        let err = parse_commit(b"{\"add\":{}}\n{oops", "00000.json").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("00000.json") && text.contains("line 1"),
            "{text}"
        );
        let err = parse_commit(b"{\"commitInfo\":{}}\n{oops", "00000.json").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn action_round_trips_through_json_line() {
        let action = Action::Txn(Txn {
            app_id: "a".into(),
            version: 1,
            last_updated: None,
        });
        let line = action.to_json_line().unwrap();
        assert_eq!(line, r#"{"txn":{"appId":"a","version":1}}"#);
        assert_eq!(parse_commit(line.as_bytes(), "t").unwrap(), vec![action]);
    }
}
