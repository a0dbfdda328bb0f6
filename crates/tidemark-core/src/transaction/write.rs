//! Writing new versions: creating a table, appending, overwriting, and replacing the rows of
//! chosen partitions, each as one atomic commit.
//!
//! A write streams Arrow record batches into Parquet data files (with statistics), then commits
//! their `add` actions, and for an overwrite the `remove` actions of the files it replaces,
//! through [`Transaction`]. A write that fails at any point commits nothing: the table is
//! exactly as it was, and the data files already written are orphans that vacuum removes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, MapArray, RecordBatch, StructArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType as ArrowType, Schema, SchemaRef, TimeUnit};
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::checkpoint::write as checkpoint_write;
use crate::error::{Error, Result};
use crate::features;
use crate::log::actions::{Action, Add, Metadata, Protocol, Remove, Txn};
use crate::log::stats::live_rows;
use crate::partition::predicate::PartitionPredicate;
use crate::schema::{ColumnMappingMode, DataType, PrimitiveType, StructType};
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;
use crate::transaction::commit::{CommitMetadata, ReadScope, Transaction};
use crate::transaction::data_writer::{DataWriter, FileOptions};
use crate::transaction::stats_collector::num_indexed_cols;

/// Table properties Tidemark understands when creating a table. Other `delta.*` keys are
/// refused, since they would promise behaviour Tidemark does not implement.
pub const KNOWN_PROPERTIES: &[&str] = &[
    "delta.appendOnly",
    "delta.checkpointInterval",
    "delta.deletedFileRetentionDuration",
    "delta.logRetentionDuration",
    "delta.dataSkippingNumIndexedCols",
    "delta.enableInCommitTimestamps",
    "delta.enableTypeWidening",
    "delta.checkpoint.writeStatsAsJson",
    "delta.checkpoint.writeStatsAsStruct",
    "delta.minReaderVersion",
    "delta.minWriterVersion",
];

use crate::schema::SchemaMode;

/// Default `delta.checkpointInterval`.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 100;

/// How a write treats the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Add the new rows.
    #[default]
    Append,
    /// Replace all rows (or, with a replace-where predicate, the rows of matching partitions).
    Overwrite,
}

/// What a new table looks like, beyond its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// Partition columns, in order.
    pub partition_columns: Vec<String>,
    /// Table properties.
    pub properties: BTreeMap<String, String>,
    /// A user-facing name.
    pub name: Option<String>,
    /// A user-facing description.
    pub description: Option<String>,
    /// Record in-commit timestamps (writer feature `inCommitTimestamp`), so time travel by
    /// timestamp survives copying the table. On by default; turn it off for writers that do
    /// not know the feature.
    pub in_commit_timestamps: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            partition_columns: Vec::new(),
            properties: BTreeMap::new(),
            name: None,
            description: None,
            in_commit_timestamps: true,
        }
    }
}

/// Figures about one write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The version committed; `None` when the write was skipped because its application
    /// transaction was already committed.
    pub version: Option<u64>,
    /// Data files added.
    pub files_added: usize,
    /// Rows added.
    pub rows_added: i64,
    /// Bytes of data files added.
    pub bytes_added: i64,
    /// Data files removed (overwrites).
    pub files_removed: usize,
    /// Rows removed, where the removed files have statistics.
    pub rows_removed: i64,
    /// Bytes of data files removed.
    pub bytes_removed: i64,
    /// Versions tried before the commit succeeded.
    pub commit_attempts: usize,
    /// A checkpoint written after the commit (every `delta.checkpointInterval` versions).
    pub checkpoint_written: bool,
}

/// Progress of a running write: rows and (in-memory) bytes of input consumed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteProgress {
    /// Rows consumed.
    pub rows: u64,
    /// Bytes of Arrow input consumed.
    pub bytes: u64,
}

/// A callback told of write progress after every batch.
pub type ProgressCallback = Arc<dyn Fn(WriteProgress) + Send + Sync>;

/// Creates an empty table: version 0 with a schema and no data (see [`crate::Table::create`]).
pub(crate) async fn create_table(
    location: &TableLocation,
    schema: &StructType,
    options: TableOptions,
    commit: CommitMetadata,
) -> Result<u64> {
    refuse_existing(location).await?;
    let (protocol, metadata) = new_table_actions(schema, &options)?;
    let outcome = Transaction::new(location.clone(), None, "CREATE TABLE")
        .with_parameter("partitionBy", json_list(&options.partition_columns))
        .with_parameter(
            "description",
            options.description.clone().unwrap_or_default(),
        )
        .with_parameter("isManaged", "false")
        .with_metadata(commit)
        .with_actions([Action::Protocol(protocol), Action::Metadata(metadata)])
        .commit()
        .await?;
    Ok(outcome.version)
}

async fn refuse_existing(location: &TableLocation) -> Result<()> {
    match Snapshot::load(location, None).await {
        Ok(snapshot) => Err(Error::TableAlreadyExists {
            location: location.url().to_string(),
            version: snapshot.version(),
        }),
        Err(Error::TableNotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The protocol and metadata of a new table: the lowest protocol that its features need.
pub fn new_table_actions(
    schema: &StructType,
    options: &TableOptions,
) -> Result<(Protocol, Metadata)> {
    if schema.fields.is_empty() {
        return Err(Error::SchemaMismatch(
            "a table needs at least one column".into(),
        ));
    }
    for name in &options.partition_columns {
        let field = schema.field(name).ok_or_else(|| {
            Error::SchemaMismatch(format!(
                "partition column '{name}' is not in the schema; its columns are: {}",
                column_list(schema)
            ))
        })?;
        if !matches!(field.data_type, DataType::Primitive(p) if p != PrimitiveType::Variant) {
            return Err(Error::SchemaMismatch(format!(
                "partition column '{name}' has type {}, but partition columns must be of a primitive type",
                field.data_type
            )));
        }
    }
    if options.partition_columns.len() == schema.fields.len() {
        return Err(Error::SchemaMismatch(
            "every column is a partition column; a table needs at least one column stored in its data files".into(),
        ));
    }
    let mut configuration: HashMap<String, String> = HashMap::new();
    for (key, value) in &options.properties {
        if key.starts_with("delta.") && !KNOWN_PROPERTIES.contains(&key.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "table property '{key}' is not supported by Tidemark's writer; supported delta.* properties: {}",
                KNOWN_PROPERTIES.join(", ")
            )));
        }
        if key == "delta.minReaderVersion" || key == "delta.minWriterVersion" {
            continue;
        }
        // A value Tidemark would misread (a retention it cannot parse, a boolean that is not
        // `true`/`false`...) is refused rather than stored and later guessed at.
        crate::properties::validate_property(key, value)?;
        configuration.insert(key.clone(), value.clone());
    }
    let ict = options.in_commit_timestamps
        && configuration
            .get("delta.enableInCommitTimestamps")
            .is_none_or(|v| v.eq_ignore_ascii_case("true"));
    if ict {
        configuration.insert("delta.enableInCommitTimestamps".into(), "true".into());
    } else {
        configuration.remove("delta.enableInCommitTimestamps");
    }
    let append_only = configuration
        .get("delta.appendOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ntz = uses_timestamp_ntz(&schema.fields);
    let widening = configuration
        .get(crate::schema::evolution::ENABLE_TYPE_WIDENING)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let protocol = if ntz || ict || widening {
        let mut writer = Vec::new();
        let mut reader = Vec::new();
        if append_only {
            writer.push("appendOnly".to_string());
        }
        if ict {
            writer.push("inCommitTimestamp".to_string());
        }
        if ntz {
            reader.push("timestampNtz".to_string());
            writer.push("timestampNtz".to_string());
        }
        if widening {
            reader.push("typeWidening".to_string());
            writer.push("typeWidening".to_string());
        }
        let table_features_for_readers = ntz || widening;
        Protocol {
            min_reader_version: if table_features_for_readers { 3 } else { 1 },
            min_writer_version: 7,
            reader_features: table_features_for_readers.then_some(reader),
            writer_features: Some(writer),
        }
    } else {
        Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        }
    };
    let metadata = Metadata {
        id: uuid::Uuid::new_v4().to_string(),
        name: options.name.clone(),
        description: options.description.clone(),
        format: Default::default(),
        schema_string: schema.to_schema_string()?,
        partition_columns: options.partition_columns.clone(),
        created_time: Some(chrono::Utc::now().timestamp_millis()),
        configuration,
    };
    Ok((protocol, metadata))
}

fn uses_timestamp_ntz(fields: &[crate::schema::StructField]) -> bool {
    fn in_type(t: &DataType) -> bool {
        match t {
            DataType::Primitive(p) => *p == PrimitiveType::TimestampNtz,
            DataType::Array(a) => in_type(&a.element_type),
            DataType::Map(m) => in_type(&m.key_type) || in_type(&m.value_type),
            DataType::Struct(s) => uses_timestamp_ntz(&s.fields),
        }
    }
    fields.iter().any(|f| in_type(&f.data_type))
}

/// Writes a stream of record batches to a table as one new version; made by
/// [`crate::Table::write`].
///
/// ```no_run
/// # async fn demo(batch: arrow::array::RecordBatch) -> tidemark_core::Result<()> {
/// use tidemark_core::{Table, WriteMode};
/// let table = Table::open("/tmp/sales")?;
/// let outcome = table
///     .write()
///     .with_create_if_missing(true)
///     .with_mode(WriteMode::Append)
///     .with_partition_columns(["region"])
///     .with_message("nightly load")
///     .execute_batches(vec![batch])
///     .await?;
/// println!("version {:?}", outcome.version);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WriteBuilder {
    location: TableLocation,
    mode: WriteMode,
    replace_where: Option<String>,
    partition_columns: Option<Vec<String>>,
    table_options: TableOptions,
    commit: CommitMetadata,
    app_transaction: Option<(String, i64)>,
    file_options: FileOptions,
    progress: Option<ProgressCallback>,
    /// A snapshot the caller already loaded (the latest when the write starts), so that the
    /// log is not replayed twice.
    read_snapshot: Option<Arc<Snapshot>>,
    lineage: Vec<crate::extensions::lineage::LineageInput>,
    schema_mode: SchemaMode,
    create_if_missing: bool,
}

impl std::fmt::Debug for WriteBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBuilder")
            .field("location", &self.location.url().as_str())
            .field("mode", &self.mode)
            .field("replace_where", &self.replace_where)
            .finish_non_exhaustive()
    }
}

impl WriteBuilder {
    /// A write to the table at `location`; see [`crate::Table::write`].
    pub(crate) fn new(location: TableLocation) -> Self {
        Self {
            location,
            mode: WriteMode::Append,
            replace_where: None,
            partition_columns: None,
            table_options: TableOptions::default(),
            commit: CommitMetadata::default(),
            app_transaction: None,
            file_options: FileOptions::default(),
            progress: None,
            read_snapshot: None,
            lineage: Vec::new(),
            schema_mode: SchemaMode::Strict,
            create_if_missing: false,
        }
    }

    /// Creates the table from the data's schema (and [`WriteBuilder::with_partition_columns`],
    /// [`WriteBuilder::with_table_options`]) if none exists at the location. Off by default: a
    /// write to a missing table fails with [`Error::TableNotFound`].
    pub fn with_create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// How input data whose schema differs from the table's is treated: refused
    /// ([`SchemaMode::Strict`], the default), merged into the table's schema
    /// ([`SchemaMode::Merge`]), or replacing it ([`SchemaMode::Overwrite`], overwrites only).
    pub fn with_schema_mode(mut self, schema_mode: SchemaMode) -> Self {
        self.schema_mode = schema_mode;
        self
    }

    /// Records that the data written was read from the table at `table` (a URI or path), at
    /// the version `snapshot_id` names, in the commit's `commitInfo.tidemark.lineage` (see
    /// [`crate::extensions::lineage`]). Repeatable, once per input.
    pub fn with_lineage_input(
        mut self,
        table: impl Into<String>,
        snapshot_id: impl Into<String>,
    ) -> Self {
        self.lineage.push(crate::extensions::lineage::LineageInput {
            table: table.into(),
            snapshot_id: snapshot_id.into(),
        });
        self
    }

    /// Append (default) or overwrite.
    pub fn with_mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// Overwrite only the rows of partitions matching `predicate` (a predicate over partition
    /// columns, e.g. `region = 'EU' AND day >= '2024-01-01'`). Every new row must match it.
    pub fn with_replace_where(mut self, predicate: impl Into<String>) -> Self {
        self.mode = WriteMode::Overwrite;
        self.replace_where = Some(predicate.into());
        self
    }

    /// The partition columns: used when the write creates the table, checked against the
    /// table's otherwise.
    pub fn with_partition_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.partition_columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Properties, name and the other options used when the write creates the table.
    pub fn with_table_options(mut self, options: TableOptions) -> Self {
        self.table_options = options;
        self
    }

    /// The commit message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.commit.message = Some(message.into());
        self
    }

    /// The commit's author.
    pub fn with_author(mut self, author: impl Into<String>) -> Self {
        self.commit.author = Some(author.into());
        self
    }

    /// A key/value pair recorded with the commit.
    pub fn with_commit_property(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.commit.properties.insert(key.into(), value.into());
        self
    }

    /// All user metadata of the commit at once.
    pub fn with_commit_metadata(mut self, metadata: CommitMetadata) -> Self {
        self.commit = metadata;
        self
    }

    /// Makes the write idempotent: it records `(app_id, version)` in a `txn` action, and is
    /// skipped when the table already holds a transaction of `app_id` at `version` or later.
    pub fn with_app_transaction(mut self, app_id: impl Into<String>, version: i64) -> Self {
        self.app_transaction = Some((app_id.into(), version));
        self
    }

    /// Data file size, row groups and compression.
    pub fn with_file_options(mut self, options: FileOptions) -> Self {
        self.file_options = options;
        self
    }

    /// Reports progress after each batch.
    pub fn with_progress(mut self, callback: ProgressCallback) -> Self {
        self.progress = Some(callback);
        self
    }

    /// Uses a snapshot of the table the caller has just loaded as the version the write
    /// reads, instead of loading the latest one again. A write based on an older snapshot is
    /// still safe: the commit checks every newer version for conflicts.
    pub fn with_read_snapshot(mut self, snapshot: Arc<Snapshot>) -> Self {
        self.read_snapshot = Some(snapshot);
        self
    }

    /// Writes the batches (at least one, to give the schema when the table is created).
    pub async fn execute_batches(self, batches: Vec<RecordBatch>) -> Result<WriteOutcome> {
        let schema = batches.first().map(|b| b.schema()).ok_or_else(|| {
            Error::InvalidArgument("nothing to write: no record batches given".into())
        })?;
        self.execute(schema, futures::stream::iter(batches.into_iter().map(Ok)))
            .await
    }

    /// Writes a stream of batches of `schema` as one new version.
    pub async fn execute<S>(self, schema: SchemaRef, batches: S) -> Result<WriteOutcome>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        let snapshot = match &self.read_snapshot {
            Some(snapshot) => Some(snapshot.clone()),
            None => match Snapshot::load(&self.location, None).await {
                Ok(snapshot) => Some(Arc::new(snapshot)),
                Err(Error::TableNotFound { .. }) if self.create_if_missing => None,
                Err(e) => return Err(e),
            },
        };
        if self.schema_mode == SchemaMode::Overwrite
            && (self.mode != WriteMode::Overwrite || self.replace_where.is_some())
        {
            return Err(Error::InvalidArgument(
                "schema mode 'overwrite' replaces the table's schema, so it needs a full overwrite (write mode Overwrite, no replace-where); use schema mode 'merge' to append".into(),
            ));
        }
        let mut actions = Vec::new();
        let (table_schema, partition_columns, mode, config) = match &snapshot {
            Some(snapshot) => {
                if let Some((app_id, version)) = &self.app_transaction
                    && let Some(done) = snapshot.txn(app_id)
                    && done.version >= *version
                {
                    return Ok(WriteOutcome::default());
                }
                features::check_write_supported(
                    snapshot.protocol(),
                    snapshot.metadata(),
                    snapshot.schema(),
                )?;
                if let Some(requested) = &self.partition_columns
                    && requested != snapshot.partition_columns()
                    && self.schema_mode != SchemaMode::Overwrite
                {
                    return Err(Error::SchemaMismatch(format!(
                        "the table is partitioned by [{}], but the write asks for [{}]; write with the table's partitioning",
                        snapshot.partition_columns().join(", "),
                        requested.join(", ")
                    )));
                }
                if self.mode == WriteMode::Overwrite
                    && snapshot
                        .metadata()
                        .configuration
                        .get("delta.appendOnly")
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                {
                    return Err(Error::InvalidArgument(
                        "the table is append-only (delta.appendOnly = true): it cannot be overwritten; append instead, or unset the property".into(),
                    ));
                }
                let evolution = match self.schema_mode {
                    SchemaMode::Strict => None,
                    SchemaMode::Merge => crate::schema::evolution::merge(
                        snapshot.protocol(),
                        snapshot.metadata(),
                        snapshot.schema(),
                        &schema,
                    )?,
                    SchemaMode::Overwrite => Some(crate::schema::evolution::replace(
                        snapshot.protocol(),
                        snapshot.metadata(),
                        snapshot.schema(),
                        &schema,
                        self.partition_columns
                            .as_deref()
                            .unwrap_or(snapshot.partition_columns()),
                    )?),
                };
                match evolution {
                    Some(evolution) => {
                        let partitions = evolution.metadata.partition_columns.clone();
                        let config = evolution.metadata.configuration.clone();
                        if let Some(protocol) = evolution.protocol {
                            actions.push(Action::Protocol(protocol));
                        }
                        actions.push(Action::Metadata(evolution.metadata));
                        (
                            evolution.schema,
                            partitions,
                            snapshot.column_mapping(),
                            config,
                        )
                    }
                    None => (
                        snapshot.schema().as_ref().clone(),
                        snapshot.partition_columns().to_vec(),
                        snapshot.column_mapping(),
                        snapshot.metadata().configuration.clone(),
                    ),
                }
            }
            None => {
                let table_schema = StructType::from_arrow(&schema)?;
                let mut options = self.table_options.clone();
                if let Some(columns) = &self.partition_columns {
                    options.partition_columns = columns.clone();
                }
                let (protocol, metadata) = new_table_actions(&table_schema, &options)?;
                let config = metadata.configuration.clone();
                let partitions = options.partition_columns.clone();
                actions.push(Action::Protocol(protocol));
                actions.push(Action::Metadata(metadata));
                (table_schema, partitions, ColumnMappingMode::None, config)
            }
        };
        let predicate = match &self.replace_where {
            Some(text) => Some(Arc::new(PartitionPredicate::parse(
                text,
                &table_schema,
                &partition_columns,
                mode,
            )?)),
            None => None,
        };
        let logical = Arc::new(table_schema.to_arrow()?);
        let mut writer = DataWriter::new(
            self.location.clone(),
            &table_schema,
            &partition_columns,
            mode,
            num_indexed_cols(&config),
            self.file_options,
        )?;
        let mut progress = WriteProgress::default();
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let batch = match self.schema_mode {
                SchemaMode::Merge => crate::schema::evolution::fill_missing(&batch?, &logical)?,
                _ => batch?,
            };
            let batch = conform_batch(&batch, &logical)?;
            writer.write(&batch).await?;
            progress.rows += batch.num_rows() as u64;
            progress.bytes += batch.get_array_memory_size() as u64;
            if let Some(callback) = &self.progress {
                callback(progress);
            }
        }
        let adds = writer.finish().await?;
        if let Some(predicate) = &predicate {
            for add in &adds {
                if !predicate.matches(&add.partition_values)? {
                    return Err(Error::InvalidArgument(format!(
                        "the data written includes rows in partition {} that do not match the replace-where predicate '{predicate}'; nothing was committed: filter the input, or widen the predicate",
                        describe_partition(&add.partition_values)
                    )));
                }
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        let removes: Vec<Remove> = match (&snapshot, self.mode) {
            (Some(snapshot), WriteMode::Overwrite) => {
                let mut removes = Vec::new();
                for add in snapshot.files_sorted() {
                    let replaced = match &predicate {
                        Some(p) => p.matches(&add.partition_values)?,
                        None => true,
                    };
                    if replaced {
                        removes.push(remove_for(add, now));
                    }
                }
                removes
            }
            _ => Vec::new(),
        };
        let mut outcome = WriteOutcome {
            files_added: adds.len(),
            rows_added: adds.iter().filter_map(live_rows).sum(),
            bytes_added: adds.iter().map(|a| a.size).sum(),
            files_removed: removes.len(),
            rows_removed: snapshot
                .as_ref()
                .map(|s| {
                    let removed: std::collections::HashSet<&str> =
                        removes.iter().map(|r| r.path.as_str()).collect();
                    s.files()
                        .filter(|a| removed.contains(a.path.as_str()))
                        .filter_map(live_rows)
                        .sum()
                })
                .unwrap_or(0),
            bytes_removed: removes.iter().filter_map(|r| r.size).sum(),
            ..Default::default()
        };
        if let Some((app_id, version)) = &self.app_transaction {
            actions.push(Action::Txn(Txn {
                app_id: app_id.clone(),
                version: *version,
                last_updated: Some(now),
            }));
        }
        actions.extend(removes.into_iter().map(Action::Remove));
        actions.extend(adds.into_iter().map(Action::Add));
        let scope = match (self.mode, &predicate) {
            (WriteMode::Append, _) => ReadScope::Nothing,
            (WriteMode::Overwrite, None) => ReadScope::WholeTable,
            (WriteMode::Overwrite, Some(p)) => ReadScope::Partitions(p.clone()),
        };
        let mode_name = match self.mode {
            WriteMode::Append => "Append",
            WriteMode::Overwrite => "Overwrite",
        };
        let mut transaction = Transaction::new(self.location.clone(), snapshot.clone(), "WRITE")
            .with_parameter("mode", mode_name)
            .with_parameter("partitionBy", json_list(&partition_columns))
            .with_metadata(self.commit.clone())
            .with_read_scope(scope)
            .with_metric("numFiles", outcome.files_added as i64)
            .with_metric("numOutputRows", outcome.rows_added)
            .with_metric("numOutputBytes", outcome.bytes_added)
            .with_metric("numRemovedFiles", outcome.files_removed as i64)
            .with_metric("numRemovedBytes", outcome.bytes_removed)
            .with_actions(actions);
        if let Some(predicate) = &predicate {
            transaction =
                transaction.with_parameter("predicate", json_list(&[predicate.to_string()]));
        }
        if !self.lineage.is_empty() {
            transaction = transaction.with_tidemark_entry(
                "lineage",
                crate::extensions::lineage::lineage_value(&self.lineage),
            );
        }
        let committed = transaction.commit().await?;
        outcome.version = Some(committed.version);
        outcome.commit_attempts = committed.attempts;
        outcome.checkpoint_written =
            checkpoint_write::checkpoint_if_due(&self.location, committed.version, &config)
                .await
                .unwrap_or(false);
        Ok(outcome)
    }
}

/// A `remove` action for a live file, with its full metadata.
pub fn remove_for(add: &Add, deletion_timestamp: i64) -> Remove {
    Remove {
        path: add.path.clone(),
        deletion_timestamp: Some(deletion_timestamp),
        data_change: true,
        extended_file_metadata: Some(true),
        partition_values: Some(add.partition_values.clone()),
        size: Some(add.size),
        stats: None,
        tags: add.tags.clone(),
        deletion_vector: add.deletion_vector.clone(),
        base_row_id: add.base_row_id,
        default_row_commit_version: add.default_row_commit_version,
    }
}

fn describe_partition(values: &crate::log::actions::PartitionValues) -> String {
    let mut pairs: Vec<String> = values
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => format!("{k}=NULL"),
        })
        .collect();
    pairs.sort();
    pairs.join(", ")
}

/// A JSON-encoded list of strings, as Delta writers record list parameters.
fn json_list(items: &[String]) -> Value {
    Value::from(serde_json::to_string(items).unwrap_or_else(|_| "[]".into()))
}

fn column_list(schema: &StructType) -> String {
    schema
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fits a batch to the table's logical Arrow schema: columns matched by name, types widened
/// where that loses nothing, nullability checked. Anything else is a
/// [`Error::SchemaMismatch`] that names the column.
pub fn conform_batch(batch: &RecordBatch, table: &SchemaRef) -> Result<RecordBatch> {
    let input = batch.schema();
    for field in input.fields() {
        if table.field_with_name(field.name()).is_err() {
            return Err(Error::SchemaMismatch(format!(
                "the input has a column '{}' ({}) that the table does not have; the table's columns are: {}; write with schema mode 'merge' to add it",
                field.name(),
                field.data_type(),
                field_names(table)
            )));
        }
    }
    let mut columns = Vec::with_capacity(table.fields().len());
    for field in table.fields() {
        let Ok(index) = input.index_of(field.name()) else {
            return Err(Error::SchemaMismatch(format!(
                "the input has no column '{}' ({}), which the table has; the input's columns are: {}; write with schema mode 'merge' to write nulls for it",
                field.name(),
                field.data_type(),
                field_names(&input)
            )));
        };
        let column = conform_array(batch.column(index), field.data_type(), field.name())?;
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(Error::SchemaMismatch(format!(
                "column '{}' is NOT NULL in the table, but the input has {} null values in it",
                field.name(),
                column.null_count()
            )));
        }
        columns.push(column);
    }
    let schema: SchemaRef = Arc::new(Schema::new(table.fields().clone()));
    RecordBatch::try_new(schema, columns).map_err(|e| Error::SchemaMismatch(e.to_string()))
}

fn field_names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Converts an input column to the table's type when the conversion is lossless.
fn conform_array(array: &ArrayRef, target: &ArrowType, column: &str) -> Result<ArrayRef> {
    use ArrowType as T;
    let from = array.data_type();
    if from == target {
        return Ok(array.clone());
    }
    let refuse = || {
        Error::SchemaMismatch(format!(
            "column '{column}' has type {from} in the input, but the table stores it as {target}; cast the input, or change the table's schema first (schema mode 'merge' widens types where the protocol allows)"
        ))
    };
    match (from, target) {
        (T::Dictionary(_, values), _) => {
            let plain = cast(array, values, column)?;
            return conform_array(&plain, target, column);
        }
        (T::Struct(_), T::Struct(fields)) => {
            let structs: &StructArray = array.as_struct_opt().ok_or_else(refuse)?;
            let children = fields
                .iter()
                .map(|field| {
                    let child = structs.column_by_name(field.name()).ok_or_else(|| {
                        Error::SchemaMismatch(format!(
                            "column '{column}' has no field '{}' in the input, which the table has",
                            field.name()
                        ))
                    })?;
                    conform_array(
                        child,
                        field.data_type(),
                        &format!("{column}.{}", field.name()),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            if structs.num_columns() != fields.len() {
                return Err(Error::SchemaMismatch(format!(
                    "column '{column}' has {} fields in the input but {} in the table",
                    structs.num_columns(),
                    fields.len()
                )));
            }
            return StructArray::try_new(fields.clone(), children, structs.nulls().cloned())
                .map(|a| Arc::new(a) as ArrayRef)
                .map_err(|e| Error::SchemaMismatch(format!("column '{column}': {e}")));
        }
        (
            T::List(_)
            | T::LargeList(_)
            | T::FixedSizeList(..)
            | T::ListView(_)
            | T::LargeListView(_),
            T::List(field),
        ) => {
            let list = if matches!(from, T::List(_)) {
                array.clone()
            } else {
                let item = match from {
                    T::LargeList(f)
                    | T::FixedSizeList(f, _)
                    | T::ListView(f)
                    | T::LargeListView(f) => f.clone(),
                    _ => return Err(refuse()),
                };
                cast(array, &T::List(item), column)?
            };
            let list: &ListArray = list.as_list_opt().ok_or_else(refuse)?;
            let values = conform_array(list.values(), field.data_type(), &format!("{column}[]"))?;
            return ListArray::try_new(
                field.clone(),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| Error::SchemaMismatch(format!("column '{column}': {e}")));
        }
        (T::Map(..), T::Map(entries_field, sorted)) => {
            // Keys and values match by position: writers name the entries differently.
            let map = array.as_map_opt().ok_or_else(refuse)?;
            let T::Struct(entry_fields) = entries_field.data_type() else {
                return Err(refuse());
            };
            let (Some(key), Some(value)) = (entry_fields.first(), entry_fields.get(1)) else {
                return Err(refuse());
            };
            let keys = conform_array(map.keys(), key.data_type(), &format!("{column}.key"))?;
            let values =
                conform_array(map.values(), value.data_type(), &format!("{column}.value"))?;
            let entries = StructArray::try_new(entry_fields.clone(), vec![keys, values], None)
                .map_err(|e| Error::SchemaMismatch(format!("column '{column}': {e}")))?;
            return MapArray::try_new(
                entries_field.clone(),
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *sorted,
            )
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| Error::SchemaMismatch(format!("column '{column}': {e}")));
        }
        _ => {}
    }
    let lossless = match (from, target) {
        (T::Null, _) => true,
        (T::Int8, T::Int16 | T::Int32 | T::Int64)
        | (T::Int16, T::Int32 | T::Int64)
        | (T::Int32, T::Int64)
        | (T::UInt8, T::Int16 | T::Int32 | T::Int64)
        | (T::UInt16, T::Int32 | T::Int64)
        | (T::UInt32, T::Int64)
        | (T::Float16, T::Float32 | T::Float64)
        | (T::Float32, T::Float64) => true,
        (T::LargeUtf8 | T::Utf8View, T::Utf8) => true,
        (T::LargeBinary | T::BinaryView | T::FixedSizeBinary(_), T::Binary) => true,
        (T::Date64, T::Date32) => true,
        // Same instants in another unit; nanoseconds are truncated to microseconds.
        (T::Timestamp(_, a), T::Timestamp(TimeUnit::Microsecond, b)) => a.is_some() == b.is_some(),
        (T::Decimal32(p1, s1) | T::Decimal64(p1, s1), T::Decimal128(p2, s2))
        | (T::Decimal128(p1, s1), T::Decimal128(p2, s2)) => {
            s2 >= s1 && i16::from(*p2) - i16::from(*s2) >= i16::from(*p1) - i16::from(*s1)
        }
        _ => false,
    };
    if !lossless {
        return Err(refuse());
    }
    cast(array, target, column)
}

fn cast(array: &ArrayRef, target: &ArrowType, column: &str) -> Result<ArrayRef> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, target, &options).map_err(|e| {
        Error::SchemaMismatch(format!(
            "column '{column}' cannot be converted from {} to {target}: {e}",
            array.data_type()
        ))
    })
}
