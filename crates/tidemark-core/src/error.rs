//! The one error type of `tidemark-core`.

use std::fmt;

/// Result alias used throughout `tidemark-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading or writing a Tidemark (Delta Lake) table.
///
/// Each variant names what failed and, where one exists, the way out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call to the object store failed.
    #[error("object store error while {context}: {source}")]
    ObjectStore {
        /// What Tidemark was doing.
        context: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// Reading or writing a Parquet file failed.
    #[error("parquet error while {context}: {source}")]
    Parquet {
        /// What Tidemark was doing.
        context: String,
        /// The parquet crate's error.
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// An Arrow compute or conversion step failed.
    #[error("arrow error while {context}: {source}")]
    Arrow {
        /// What Tidemark was doing.
        context: String,
        /// The arrow crate's error.
        #[source]
        source: arrow::error::ArrowError,
    },

    /// A table location could not be understood.
    #[error("invalid table location '{uri}': {reason}")]
    InvalidUri {
        /// The location as given.
        uri: String,
        /// Why it was refused.
        reason: String,
    },

    /// No Delta log exists at the location.
    #[error(
        "no Delta table at '{location}': '_delta_log/' holds no commit or checkpoint; check the path, or create the table first"
    )]
    TableNotFound {
        /// The table location.
        location: String,
    },

    /// A requested version is not in the table (never written, or cleaned up).
    #[error("version {requested} of the table is not available: {reason}")]
    VersionNotFound {
        /// The version asked for.
        requested: u64,
        /// Which versions exist and why this one cannot be read.
        reason: String,
    },

    /// A requested timestamp lies before the first readable commit.
    #[error(
        "no version of the table exists at or before {requested}: the earliest readable commit (version {earliest_version}) was made at {earliest}"
    )]
    TimestampBeforeFirstCommit {
        /// The instant asked for (RFC 3339).
        requested: String,
        /// The earliest readable commit's timestamp (RFC 3339).
        earliest: String,
        /// The earliest readable version.
        earliest_version: u64,
    },

    /// The commit files of the log skip one or more versions.
    #[error(
        "the Delta log is broken: commit version {missing} is missing between {before} and {after}; the table cannot be read past version {before}"
    )]
    VersionGap {
        /// The first missing version.
        missing: u64,
        /// The last version present before the gap.
        before: u64,
        /// The first version present after the gap.
        after: u64,
    },

    /// A log file could not be parsed or breaks the protocol.
    #[error("invalid Delta log file '{path}': {reason}")]
    InvalidLog {
        /// The log file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The snapshot has no `protocol` or no `metaData` action.
    #[error(
        "the Delta log has no {action} action up to version {version}; the table is corrupt or was not written by a Delta writer"
    )]
    MissingAction {
        /// `protocol` or `metaData`.
        action: &'static str,
        /// The version being loaded.
        version: u64,
    },

    /// The table needs a protocol feature that Tidemark does not implement.
    #[error("{0}")]
    Unsupported(UnsupportedFeature),

    /// The table's schema could not be parsed or converted.
    #[error("invalid table schema: {0}")]
    Schema(String),

    /// A deletion vector could not be loaded or decoded.
    #[error("invalid deletion vector{}: {reason}", path.as_deref().map(|p| format!(" for '{p}'")).unwrap_or_default())]
    DeletionVector {
        /// The data file the vector belongs to, when known.
        path: Option<String>,
        /// What is wrong.
        reason: String,
    },

    /// A partition value could not be parsed as its column's type.
    #[error(
        "invalid partition value {value:?} for column '{column}' of type {data_type}: {reason}"
    )]
    PartitionValue {
        /// Partition column name.
        column: String,
        /// The serialized value.
        value: String,
        /// The column's type.
        data_type: String,
        /// What failed.
        reason: String,
    },

    /// A data file does not match what the log says about it.
    #[error("data file '{path}' does not match the table: {reason}")]
    DataFile {
        /// The data file.
        path: String,
        /// What does not match.
        reason: String,
    },

    /// A caller passed an argument that cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A table property has a value Tidemark cannot interpret; nothing is assumed in its
    /// place (see [`crate::properties`]).
    #[error("invalid value {value:?} for table property '{key}': {reason}")]
    InvalidProperty {
        /// The property's key, e.g. `delta.deletedFileRetentionDuration`.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong, and what the property accepts.
        reason: String,
    },

    /// Data to be written does not fit the table's schema.
    #[error("the data does not match the table's schema: {0}")]
    SchemaMismatch(String),

    /// A table was to be created where one exists already.
    #[error(
        "a Delta table already exists at '{location}' (version {version}); write to it, or choose another location"
    )]
    TableAlreadyExists {
        /// The table location.
        location: String,
        /// Its latest version.
        version: u64,
    },

    /// Another writer committed a change that conflicts with this transaction.
    #[error(
        "commit conflict: version {winning_version}, committed by another writer after this transaction read version {read_version}, {reason}; nothing was committed: read the table again and retry"
    )]
    CommitConflict {
        /// The version this transaction read.
        read_version: u64,
        /// The conflicting version another writer committed.
        winning_version: u64,
        /// What conflicts.
        reason: String,
    },

    /// The commit lost the race for a version too many times in a row.
    #[error(
        "gave up committing after {attempts} attempts: other writers took every version from {first_attempted} to {last_attempted}; nothing was committed: retry later"
    )]
    TooManyCommitAttempts {
        /// How many versions were tried.
        attempts: usize,
        /// The first version tried.
        first_attempted: u64,
        /// The last version tried.
        last_attempted: u64,
    },

    /// The commit file could not be written, and nothing can have landed: the store refused
    /// the put outright (not a transient error: permission, configuration, …) while no earlier
    /// put of the transaction had failed ambiguously. Ambiguous failures (timeouts, dropped
    /// connections) end in [`Error::CommitOutcomeUnknown`] instead.
    #[error(
        "could not write commit version {version}: the store refused the put ({attempts} put(s) of this transaction failed, the last with: {source}); a refused put writes nothing and no earlier put of this transaction can still land, so nothing was committed: fix the cause and retry the write"
    )]
    CommitFailed {
        /// The version tried.
        version: u64,
        /// How many puts failed.
        attempts: u32,
        /// The store's last error.
        #[source]
        source: object_store::Error,
    },

    /// A put of a commit failed ambiguously (a transient error: it may have landed, or land
    /// later) and the commit gave up before knowing: the put kept failing, the version could
    /// not be read back, or a later put was refused. Whether this transaction committed is
    /// unknown.
    #[error(
        "the outcome of commit version {version} is unknown: {reason}; this transaction (commitInfo.txnId {txn_id}) may be, or may still become, version {version}: look for that txnId in the table's history (commitInfo.txnId of version {version}) before writing again, or retry the write with the same application transaction id and version (a txn action), which is skipped when the first attempt committed, so the rows are never written twice"
    )]
    CommitOutcomeUnknown {
        /// The version tried.
        version: u64,
        /// This transaction's `commitInfo.txnId`.
        txn_id: String,
        /// What failed.
        reason: String,
    },

    /// A snapshot id could not be parsed.
    #[error(
        "invalid snapshot id '{id}': {reason}; a snapshot id looks like tm1.<table id>.<version>.<digest>, as Snapshot::snapshot_id returns it"
    )]
    InvalidSnapshotId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The table at a location is not the table a snapshot id (or tag, pin, lineage record)
    /// was taken from.
    #[error(
        "snapshot {id} belongs to table {expected}, but the table at '{location}' is table {found}: the table was replaced (deleted and created again) since the id was taken, and the data it names is no longer there; read it from a copy of the original table"
    )]
    SnapshotTableReplaced {
        /// The snapshot id.
        id: String,
        /// The table location.
        location: String,
        /// The table id in the snapshot id.
        expected: String,
        /// The id of the table found at the location.
        found: String,
    },

    /// A version no longer holds the content its snapshot id was computed from.
    #[error(
        "version {version} no longer has the content snapshot {id} names (its content digest is now {found}): the table's log was rewritten since the id was taken; this version cannot be used to reproduce what the id names"
    )]
    SnapshotContentChanged {
        /// The snapshot id.
        id: String,
        /// Its version.
        version: u64,
        /// The digest the version has now.
        found: String,
    },

    /// A tag does not exist.
    #[error("no tag '{name}' on the table at '{location}'; name one of the table's existing tags")]
    TagNotFound {
        /// The tag name.
        name: String,
        /// The table location.
        location: String,
    },

    /// A tag of that name exists already; tags are immutable.
    #[error(
        "the tag '{name}' exists already (version {version}); tags cannot be moved or overwritten: choose another name, or delete the tag first"
    )]
    TagExists {
        /// The tag name.
        name: String,
        /// The version the existing tag names.
        version: u64,
    },

    /// A pin does not exist.
    #[error("no pin '{id}' on the table at '{location}'; name one of the table's existing pins")]
    PinNotFound {
        /// The pin id.
        id: String,
        /// The table location.
        location: String,
    },

    /// Vacuum cannot tell which files a tag or pin needs, so it deletes nothing.
    #[error(
        "cannot vacuum: {reference} names version {version}, whose files cannot be determined ({reason}); nothing was deleted: delete the tag or release the pin if the version is really gone"
    )]
    ProtectedVersionUnreadable {
        /// The tag or pin, e.g. `tag 'v1'`.
        reference: String,
        /// The version it names.
        version: u64,
        /// Why its files cannot be listed.
        reason: String,
    },
}

/// Which unsupported part of the protocol a table needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsupportedFeature {
    /// A reader (or writer) table feature Tidemark does not implement.
    TableFeature {
        /// The feature's name as written in the protocol action.
        name: String,
        /// `read`, `write`, or a maintenance operation (`checkpoint`, `vacuum`).
        operation: &'static str,
    },
    /// A protocol version above what Tidemark implements.
    ProtocolVersion {
        /// `reader` or `writer`.
        kind: &'static str,
        /// The version the table needs.
        required: i32,
        /// The highest version Tidemark implements.
        supported: i32,
    },
}

impl fmt::Display for UnsupportedFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TableFeature { name, operation } => write!(
                f,
                "the table requires the table feature '{name}', which Tidemark does not support for {operation}s; use a Delta implementation that supports '{name}'"
            ),
            Self::ProtocolVersion {
                kind,
                required,
                supported,
            } => write!(
                f,
                "the table requires {kind} protocol version {required}, but Tidemark supports up to {supported}"
            ),
        }
    }
}

impl Error {
    /// Wraps an object store error with what Tidemark was doing.
    pub fn store(context: impl Into<String>, source: object_store::Error) -> Self {
        Self::ObjectStore {
            context: context.into(),
            source,
        }
    }

    /// Wraps a Parquet error with what Tidemark was doing.
    pub fn parquet(context: impl Into<String>, source: parquet::errors::ParquetError) -> Self {
        Self::Parquet {
            context: context.into(),
            source,
        }
    }

    /// Wraps an Arrow error with what Tidemark was doing.
    pub fn arrow(context: impl Into<String>, source: arrow::error::ArrowError) -> Self {
        Self::Arrow {
            context: context.into(),
            source,
        }
    }

    /// An invalid log file.
    pub fn invalid_log(path: impl fmt::Display, reason: impl Into<String>) -> Self {
        Self::InvalidLog {
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    /// A deletion vector error, without a known data file.
    pub fn deletion_vector(reason: impl Into<String>) -> Self {
        Self::DeletionVector {
            path: None,
            reason: reason.into(),
        }
    }

    /// True when the error means an object was not found.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::ObjectStore {
                source: object_store::Error::NotFound { .. },
                ..
            }
        )
    }
}
