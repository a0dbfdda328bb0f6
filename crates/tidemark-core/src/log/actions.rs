//! The actions of the Delta log: what one line of a commit file (or one row of a checkpoint) says.
//!
//! Parsing is tolerant: unknown fields and unknown action kinds are ignored, as the protocol asks.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Partition values of a file: column name to its serialized value (`None` is SQL NULL).
///
/// A small map kept as a vector sorted by column name: a file has a handful of partition
/// columns at most, so lookups by binary search are as fast as hashing, and a table of millions
/// of files holds one small allocation per file instead of a hash table each. It serializes as
/// the JSON object the protocol describes (keys in sorted order) and parses from one, the last
/// value of a repeated key winning. Also used for the `tags` of actions.
///
/// ```
/// use tidemark_core::log::actions::PartitionValues;
/// let mut values: PartitionValues = [("b".to_string(), None), ("a".to_string(), Some("1".to_string()))]
///     .into_iter()
///     .collect();
/// assert_eq!(values.get("a"), Some(&Some("1".to_string())));
/// assert_eq!(values.insert("b".to_string(), Some("2".to_string())), Some(None));
/// assert_eq!(values.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(serde_json::to_string(&values).unwrap(), r#"{"a":"1","b":"2"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PartitionValues(Vec<(String, Option<String>)>);

/// The value [`PartitionValues`]' `Index` returns for a column it does not hold.
static NO_VALUE: Option<String> = None;

impl PartitionValues {
    /// An empty map.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> std::result::Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of column `key` (`Some(None)` for a null value, `None` when absent).
    pub fn get<K: AsRef<str> + ?Sized>(&self, key: &K) -> Option<&Option<String>> {
        self.position(key.as_ref()).ok().map(|i| &self.0[i].1)
    }

    /// Whether column `key` has a value (possibly null).
    pub fn contains_key<K: AsRef<str> + ?Sized>(&self, key: &K) -> bool {
        self.position(key.as_ref()).is_ok()
    }

    /// Sets the value of column `key`, returning the previous one if there was one.
    pub fn insert(&mut self, key: String, value: Option<String>) -> Option<Option<String>> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes column `key`, returning its value if it was there.
    pub fn remove<K: AsRef<str> + ?Sized>(&mut self, key: &K) -> Option<Option<String>> {
        let i = self.position(key.as_ref()).ok()?;
        Some(self.0.remove(i).1)
    }

    /// The columns and their values, sorted by column name.
    pub fn iter(&self) -> PartitionValuesIter<'_> {
        PartitionValuesIter(self.0.iter())
    }

    /// The column names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in the order of the sorted column names.
    pub fn values(&self) -> impl Iterator<Item = &Option<String>> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Builds the map from entries in any order; of repeated keys, the last one wins.
    fn from_entries(mut entries: Vec<(String, Option<String>)>) -> Self {
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable: of equal keys the last one comes last and survives the dedup.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut deduped: Vec<(String, Option<String>)> = Vec::with_capacity(entries.len());
            for entry in entries {
                match deduped.last_mut() {
                    Some(last) if last.0 == entry.0 => *last = entry,
                    _ => deduped.push(entry),
                }
            }
            entries = deduped;
        }
        entries.shrink_to_fit();
        Self(entries)
    }
}

/// Iterator over the entries of [`PartitionValues`], sorted by column name.
#[derive(Debug, Clone)]
pub struct PartitionValuesIter<'a>(std::slice::Iter<'a, (String, Option<String>)>);

impl<'a> Iterator for PartitionValuesIter<'a> {
    type Item = (&'a String, &'a Option<String>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for PartitionValuesIter<'_> {}

impl<'a> IntoIterator for &'a PartitionValues {
    type Item = (&'a String, &'a Option<String>);
    type IntoIter = PartitionValuesIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for PartitionValues {
    type Item = (String, Option<String>);
    type IntoIter = std::vec::IntoIter<(String, Option<String>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, Option<String>)> for PartitionValues {
    fn from_iter<I: IntoIterator<Item = (String, Option<String>)>>(iter: I) -> Self {
        Self::from_entries(iter.into_iter().collect())
    }
}

impl Extend<(String, Option<String>)> for PartitionValues {
    fn extend<I: IntoIterator<Item = (String, Option<String>)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl From<HashMap<String, Option<String>>> for PartitionValues {
    fn from(map: HashMap<String, Option<String>>) -> Self {
        map.into_iter().collect()
    }
}

/// Like a `HashMap`'s, but a column that is absent reads as a null value instead of panicking.
impl<K: AsRef<str> + ?Sized> std::ops::Index<&K> for PartitionValues {
    type Output = Option<String>;

    fn index(&self, key: &K) -> &Option<String> {
        self.get(key).unwrap_or(&NO_VALUE)
    }
}

impl Serialize for PartitionValues {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for PartitionValues {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PartitionValues;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings to strings or nulls")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                // Most files have one or two partition columns: allocate exactly for those.
                let Some(first) = map.next_entry::<String, Option<String>>()? else {
                    return Ok(PartitionValues::new());
                };
                let Some(second) = map.next_entry::<String, Option<String>>()? else {
                    return Ok(PartitionValues(vec![first]));
                };
                let mut entries = vec![first, second];
                while let Some(entry) = map.next_entry::<String, Option<String>>()? {
                    entries.push(entry);
                }
                Ok(PartitionValues::from_entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

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

/// One line of a commit file: at most one action kind is set.
///
/// Deserialized by hand (not derived as a struct of ten optional actions) so that a line is
/// parsed straight into its one [`Action`] without moving a struct of every kind around. Should
/// a line hold more than one kind, the first of add, remove, metaData, protocol, commitInfo,
/// txn, cdc, domainMetadata, checkpointMetadata and sidecar wins; unknown kinds are skipped,
/// a kind given twice is an error, and a kind whose value is `null` counts as absent.
struct ActionLine(Option<Action>);

/// The known action kinds of a line, in order of precedence, and any other key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ActionKind {
    Add,
    Remove,
    MetaData,
    Protocol,
    CommitInfo,
    Txn,
    Cdc,
    DomainMetadata,
    CheckpointMetadata,
    Sidecar,
    Other,
}

impl ActionKind {
    fn name(self) -> &'static str {
        match self {
            ActionKind::Add => "add",
            ActionKind::Remove => "remove",
            ActionKind::MetaData => "metaData",
            ActionKind::Protocol => "protocol",
            ActionKind::CommitInfo => "commitInfo",
            ActionKind::Txn => "txn",
            ActionKind::Cdc => "cdc",
            ActionKind::DomainMetadata => "domainMetadata",
            ActionKind::CheckpointMetadata => "checkpointMetadata",
            ActionKind::Sidecar => "sidecar",
            ActionKind::Other => "",
        }
    }
}

impl<'de> Deserialize<'de> for ActionKind {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ActionKind;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an action kind")
            }

            fn visit_str<E: serde::de::Error>(
                self,
                key: &str,
            ) -> std::result::Result<ActionKind, E> {
                Ok(match key {
                    "add" => ActionKind::Add,
                    "remove" => ActionKind::Remove,
                    "metaData" => ActionKind::MetaData,
                    "protocol" => ActionKind::Protocol,
                    "commitInfo" => ActionKind::CommitInfo,
                    "txn" => ActionKind::Txn,
                    "cdc" => ActionKind::Cdc,
                    "domainMetadata" => ActionKind::DomainMetadata,
                    "checkpointMetadata" => ActionKind::CheckpointMetadata,
                    "sidecar" => ActionKind::Sidecar,
                    _ => ActionKind::Other,
                })
            }

            fn visit_bytes<E: serde::de::Error>(
                self,
                key: &[u8],
            ) -> std::result::Result<ActionKind, E> {
                match std::str::from_utf8(key) {
                    Ok(key) => self.visit_str(key),
                    Err(_) => Ok(ActionKind::Other),
                }
            }
        }
        deserializer.deserialize_identifier(Visitor)
    }
}

impl<'de> Deserialize<'de> for ActionLine {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ActionLine;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an action (a JSON object)")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<ActionLine, A::Error> {
                let mut best: Option<(ActionKind, Action)> = None;
                let mut seen = 0u16;
                while let Some(kind) = map.next_key::<ActionKind>()? {
                    if kind == ActionKind::Other {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    let bit = 1u16 << (kind as u16);
                    if seen & bit != 0 {
                        return Err(serde::de::Error::duplicate_field(kind.name()));
                    }
                    seen |= bit;
                    let action = match kind {
                        ActionKind::Add => map.next_value::<Option<Add>>()?.map(Action::Add),
                        ActionKind::Remove => {
                            map.next_value::<Option<Remove>>()?.map(Action::Remove)
                        }
                        ActionKind::MetaData => {
                            map.next_value::<Option<Metadata>>()?.map(Action::Metadata)
                        }
                        ActionKind::Protocol => {
                            map.next_value::<Option<Protocol>>()?.map(Action::Protocol)
                        }
                        ActionKind::CommitInfo => map
                            .next_value::<Option<CommitInfo>>()?
                            .map(Action::CommitInfo),
                        ActionKind::Txn => map.next_value::<Option<Txn>>()?.map(Action::Txn),
                        ActionKind::Cdc => map.next_value::<Option<Cdc>>()?.map(Action::Cdc),
                        ActionKind::DomainMetadata => map
                            .next_value::<Option<DomainMetadata>>()?
                            .map(Action::DomainMetadata),
                        ActionKind::CheckpointMetadata => map
                            .next_value::<Option<CheckpointMetadata>>()?
                            .map(Action::CheckpointMetadata),
                        ActionKind::Sidecar => {
                            map.next_value::<Option<Sidecar>>()?.map(Action::Sidecar)
                        }
                        ActionKind::Other => None,
                    };
                    if let Some(action) = action
                        && best
                            .as_ref()
                            .is_none_or(|(b, _)| (kind as u16) < (*b as u16))
                    {
                        best = Some((kind, action));
                    }
                }
                Ok(ActionLine(best.map(|(_, action)| action)))
            }
        }
        deserializer.deserialize_map(Visitor)
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
/// let actions = tidemark_core::log::actions::parse_commit(text.as_bytes(), "00.json").unwrap();
/// assert_eq!(actions.len(), 2);
/// ```
pub fn parse_commit(bytes: &[u8], path: &str) -> Result<Vec<Action>> {
    let mut actions = Vec::new();
    for_each_action(bytes, path, |action| {
        actions.push(action);
        Ok(())
    })?;
    Ok(actions)
}

/// Parses the newline-delimited JSON of a commit file like [`parse_commit`], handing each
/// action to `f` as soon as its line is parsed instead of collecting them, so that a large
/// commit never exists as a vector of actions. Stops at the first error of parsing or of `f`.
///
/// ```
/// let text = br#"{"commitInfo":{"timestamp":1}}
/// {"add":{"path":"a","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}"#;
/// let mut paths = Vec::new();
/// tidemark_core::log::actions::for_each_action(text, "01.json", |action| {
///     if let tidemark_core::log::actions::Action::Add(add) = action {
///         paths.push(add.path);
///     }
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(paths, ["a"]);
/// ```
pub fn for_each_action(
    bytes: &[u8],
    path: &str,
    f: impl FnMut(Action) -> Result<()>,
) -> Result<()> {
    for_each_action_numbered(bytes, path, 0, f)
}

/// [`for_each_action`] for a piece of a commit file that starts after `lines_before` lines
/// (errors give line numbers within the whole file).
pub(crate) fn for_each_action_numbered(
    bytes: &[u8],
    path: &str,
    lines_before: usize,
    mut f: impl FnMut(Action) -> Result<()>,
) -> Result<()> {
    // Valid UTF-8 as a whole (as commits are), the lines are parsed as text, which spares
    // checking every string of every line again; otherwise byte by byte, which tells the line.
    let text = std::str::from_utf8(bytes).ok();
    let mut start = 0;
    let mut number = lines_before;
    while start <= bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let range = start..end;
        start = end + 1;
        number += 1;
        let line = &bytes[range.clone()];
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = match text.and_then(|text| text.get(range)) {
            Some(line) => serde_json::from_str::<ActionLine>(line),
            None => serde_json::from_slice::<ActionLine>(line),
        };
        let ActionLine(action) = parsed.map_err(|e| {
            Error::invalid_log(path, format!("line {number} is not a valid action: {e}"))
        })?;
        if let Some(action) = action {
            f(action)?;
        }
    }
    Ok(())
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
    fn partition_values_behave_like_a_map_and_serialize_as_an_object() {
        let text = r#"{"b":"2","a":null,"c":"3","a":"1"}"#;
        let values: PartitionValues = serde_json::from_str(text).unwrap();
        // Sorted, and the last of a repeated key wins.
        assert_eq!(
            serde_json::to_string(&values).unwrap(),
            r#"{"a":"1","b":"2","c":"3"}"#
        );
        assert_eq!(values.len(), 3);
        assert_eq!(values.get("a"), Some(&Some("1".to_string())));
        assert_eq!(values.get(&"zz".to_string()), None);
        assert_eq!(values["b"].as_deref(), Some("2"));
        assert_eq!(values["missing"], None);
        let mut values = values;
        assert_eq!(values.remove("b"), Some(Some("2".to_string())));
        assert_eq!(values.insert("0".to_string(), None), None);
        let keys: Vec<&String> = values.keys().collect();
        assert_eq!(keys, ["0", "a", "c"]);
        let map: HashMap<String, Option<String>> = values.clone().into_iter().collect();
        assert_eq!(PartitionValues::from(map), values);
        let one: PartitionValues = serde_json::from_str(r#"{"p":null}"#).unwrap();
        assert_eq!(one.iter().collect::<Vec<_>>(), [(&"p".to_string(), &None)]);
        assert!(
            serde_json::from_str::<PartitionValues>("{}")
                .unwrap()
                .is_empty()
        );
        assert!(serde_json::from_str::<PartitionValues>("null").is_err());
    }

    #[test]
    fn a_line_with_several_kinds_keeps_the_first_by_precedence() {
        let text = r#"{"commitInfo":{"timestamp":1},"txn":{"appId":"a","version":1},"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"add":null,"remove":{"path":"r","dataChange":true}}
{"future":1}
{"txn":{"appId":"a","version":1},"txn":{"appId":"b","version":2}}"#;
        let err = parse_commit(text.as_bytes(), "t").unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
        let actions = parse_commit(text.rsplit_once('\n').unwrap().0.as_bytes(), "t").unwrap();
        assert!(matches!(&actions[0], Action::Protocol(_)), "{actions:?}");
        assert!(matches!(&actions[1], Action::Remove(r) if r.path == "r"));
        assert_eq!(actions.len(), 2);
    }

    #[test]
    fn lines_are_numbered_across_pieces_and_invalid_utf8_is_reported() {
        let mut seen = Vec::new();
        for_each_action_numbered(
            b"\n{\"txn\":{\"appId\":\"a\",\"version\":1}}\n",
            "t",
            10,
            |a| {
                seen.push(a);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 1);
        let err = for_each_action_numbered(b"\n\n{oops", "t", 10, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("line 13"), "{err}");
        let err = parse_commit(b"{\"txn\":{\"appId\":\"\xff\",\"version\":1}}", "t").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
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
