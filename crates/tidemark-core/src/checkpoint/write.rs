//! Writing checkpoints: the whole state of one version in one Parquet file, and the
//! `_last_checkpoint` hint that points to it.
//!
//! Two kinds are written, chosen by the table's protocol:
//!
//! - a **classic** checkpoint, `_delta_log/<version>.checkpoint.parquet` (Delta's V1 spec), for
//!   tables without the `v2Checkpoint` feature;
//! - a **v2** checkpoint, `_delta_log/<version>.checkpoint.<uuid>.parquet` (Delta's V2 spec,
//!   UUID-named), for tables with the `v2Checkpoint` feature, which must never get a classic
//!   one from Tidemark: its first row is a `checkpointMetadata` action naming the version, and
//!   every `add` and `remove` is inline (no sidecar files). `_last_checkpoint` then also
//!   carries `v2Checkpoint` (the file's name, size and modification time, and an empty list of
//!   sidecars).
//!
//! Before anything is written, the table must pass the maintenance gate
//! ([`crate::features::check_maintenance_supported`]: every feature known, with checkpoint
//! support) and its `delta.deletedFileRetentionDuration` must parse
//! ([`crate::properties::deleted_file_retention_ms`]): tombstones younger than it stay in the
//! checkpoint, and a value Tidemark cannot read is an error, never the 7-day default.
//!
//! The state's actions (protocol, metadata, transactions, domains, live files and unexpired
//! tombstones) are converted to Arrow and written in chunks of [`ROWS_PER_CHUNK`] as they are
//! produced, so memory holds one chunk beyond the snapshot itself. The file streams to the
//! store and appears only once complete; `_last_checkpoint` is written after it, so a crash in
//! between leaves a readable table whose hint points to an older checkpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use object_store::buffered::BufWriter;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use crate::error::{Error, Result};
use crate::features::{self, Maintenance};
use crate::log::actions::{Action, CheckpointMetadata};
use crate::properties;
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;
use crate::transaction::data_writer::CountingWriter;
use crate::transaction::write::DEFAULT_CHECKPOINT_INTERVAL;

/// Actions converted and written at a time.
pub const ROWS_PER_CHUNK: usize = 20_000;

/// What a checkpoint holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// The version it describes.
    pub version: u64,
    /// Number of actions (rows) written.
    pub actions: u64,
    /// Number of live files.
    pub add_files: u64,
    /// Size of the checkpoint file in bytes.
    pub size_in_bytes: u64,
    /// The checkpoint file's name in `_delta_log/`: `<version>.checkpoint.parquet`, or
    /// `<version>.checkpoint.<uuid>.parquet` for a v2 checkpoint.
    pub file: String,
    /// Whether it is a v2 checkpoint (the table has the `v2Checkpoint` feature).
    pub v2: bool,
}

/// Writes a checkpoint when `version` is a multiple of the table's
/// `delta.checkpointInterval` (100 by default). Returns whether it wrote one.
pub async fn checkpoint_if_due(
    location: &TableLocation,
    version: u64,
    config: &std::collections::HashMap<String, String>,
) -> Result<bool> {
    let interval = config
        .get("delta.checkpointInterval")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
    if version == 0 || !version.is_multiple_of(interval) {
        return Ok(false);
    }
    let snapshot = Snapshot::load(location, Some(version)).await?;
    write_checkpoint(&snapshot).await?;
    Ok(true)
}

/// The Arrow schema of a classic checkpoint.
pub fn checkpoint_schema() -> SchemaRef {
    let string = || ArrowType::Utf8;
    let map = |name: &str| {
        let entries = Fields::from(vec![
            Field::new("key", ArrowType::Utf8, false),
            Field::new("value", ArrowType::Utf8, true),
        ]);
        Field::new(
            name,
            ArrowType::Map(
                Arc::new(Field::new("key_value", ArrowType::Struct(entries), false)),
                false,
            ),
            true,
        )
    };
    let list = |name: &str| {
        Field::new(
            name,
            ArrowType::List(Arc::new(Field::new("element", ArrowType::Utf8, true))),
            true,
        )
    };
    let dv = Field::new(
        "deletionVector",
        ArrowType::Struct(Fields::from(vec![
            Field::new("storageType", string(), false),
            Field::new("pathOrInlineDv", string(), false),
            Field::new("offset", ArrowType::Int32, true),
            Field::new("sizeInBytes", ArrowType::Int32, false),
            Field::new("cardinality", ArrowType::Int64, false),
        ])),
        true,
    );
    let strukt = |name: &str, fields: Vec<Field>| {
        Field::new(name, ArrowType::Struct(Fields::from(fields)), true)
    };
    Arc::new(Schema::new(vec![
        strukt(
            "txn",
            vec![
                Field::new("appId", string(), false),
                Field::new("version", ArrowType::Int64, false),
                Field::new("lastUpdated", ArrowType::Int64, true),
            ],
        ),
        strukt(
            "add",
            vec![
                Field::new("path", string(), false),
                map("partitionValues"),
                Field::new("size", ArrowType::Int64, false),
                Field::new("modificationTime", ArrowType::Int64, false),
                Field::new("dataChange", ArrowType::Boolean, false),
                Field::new("stats", string(), true),
                map("tags"),
                dv.clone(),
                Field::new("baseRowId", ArrowType::Int64, true),
                Field::new("defaultRowCommitVersion", ArrowType::Int64, true),
                Field::new("clusteringProvider", string(), true),
            ],
        ),
        strukt(
            "remove",
            vec![
                Field::new("path", string(), false),
                Field::new("deletionTimestamp", ArrowType::Int64, true),
                Field::new("dataChange", ArrowType::Boolean, false),
                Field::new("extendedFileMetadata", ArrowType::Boolean, true),
                map("partitionValues"),
                Field::new("size", ArrowType::Int64, true),
                map("tags"),
                dv,
                Field::new("baseRowId", ArrowType::Int64, true),
                Field::new("defaultRowCommitVersion", ArrowType::Int64, true),
            ],
        ),
        strukt(
            "metaData",
            vec![
                Field::new("id", string(), false),
                Field::new("name", string(), true),
                Field::new("description", string(), true),
                strukt(
                    "format",
                    vec![Field::new("provider", string(), false), map("options")],
                ),
                Field::new("schemaString", string(), false),
                list("partitionColumns"),
                Field::new("createdTime", ArrowType::Int64, true),
                map("configuration"),
            ],
        ),
        strukt(
            "protocol",
            vec![
                Field::new("minReaderVersion", ArrowType::Int32, false),
                Field::new("minWriterVersion", ArrowType::Int32, false),
                list("readerFeatures"),
                list("writerFeatures"),
            ],
        ),
        strukt(
            "domainMetadata",
            vec![
                Field::new("domain", string(), false),
                Field::new("configuration", string(), false),
                Field::new("removed", ArrowType::Boolean, false),
            ],
        ),
    ]))
}

/// The Arrow schema of a v2 checkpoint's top-level file: the classic schema with the
/// `checkpointMetadata` and `sidecar` columns (Tidemark leaves every `sidecar` null).
pub fn v2_checkpoint_schema() -> SchemaRef {
    let tags = Field::new(
        "tags",
        ArrowType::Map(
            Arc::new(Field::new(
                "key_value",
                ArrowType::Struct(Fields::from(vec![
                    Field::new("key", ArrowType::Utf8, false),
                    Field::new("value", ArrowType::Utf8, true),
                ])),
                false,
            )),
            false,
        ),
        true,
    );
    let classic = checkpoint_schema();
    let mut fields: Vec<Field> = classic
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(
        "checkpointMetadata",
        ArrowType::Struct(Fields::from(vec![
            Field::new("version", ArrowType::Int64, false),
            tags.clone(),
        ])),
        true,
    ));
    fields.push(Field::new(
        "sidecar",
        ArrowType::Struct(Fields::from(vec![
            Field::new("path", ArrowType::Utf8, false),
            Field::new("sizeInBytes", ArrowType::Int64, false),
            Field::new("modificationTime", ArrowType::Int64, false),
            tags,
        ])),
        true,
    ));
    Arc::new(Schema::new(fields))
}

/// Writes a checkpoint of the snapshot's version and updates `_last_checkpoint`: a v2
/// checkpoint for a table with the `v2Checkpoint` feature, a classic one otherwise (see the
/// module documentation).
///
/// Fails, writing nothing, when the table has a feature that blocks checkpoints (an unknown
/// one above all) or a `delta.deletedFileRetentionDuration` that does not parse.
pub async fn write_checkpoint(snapshot: &Snapshot) -> Result<CheckpointSummary> {
    features::check_maintenance_supported(snapshot.protocol(), Maintenance::Checkpoint)?;
    let retention = properties::deleted_file_retention_ms(&snapshot.metadata().configuration)?;
    let location = snapshot.location();
    let version = snapshot.version();
    let v2 = features::is_enabled(snapshot.protocol(), "v2Checkpoint");
    let name = if v2 {
        format!("{version:020}.checkpoint.{}.parquet", uuid::Uuid::new_v4())
    } else {
        format!("{version:020}.checkpoint.parquet")
    };
    let path = location.log_root().join(name.as_str());
    let schema = if v2 {
        v2_checkpoint_schema()
    } else {
        checkpoint_schema()
    };
    let checkpoint_metadata = if v2 {
        let version = i64::try_from(version).map_err(|_| {
            Error::InvalidArgument(format!("version {version} is too large for a checkpoint"))
        })?;
        Some(Action::CheckpointMetadata(CheckpointMetadata {
            version,
            tags: None,
        }))
    } else {
        None
    };
    let bytes = Arc::new(AtomicU64::new(0));
    let sink = CountingWriter {
        inner: BufWriter::new(location.store().clone(), path.clone()),
        bytes: bytes.clone(),
    };
    let writer_properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("tidemark {}", env!("CARGO_PKG_VERSION")))
        .build();
    let context = || format!("writing checkpoint '{path}'");
    let mut writer = AsyncArrowWriter::try_new(sink, schema.clone(), Some(writer_properties))
        .map_err(|e| Error::parquet(context(), e))?;

    let state = snapshot.state();
    let expired_before = chrono::Utc::now()
        .timestamp_millis()
        .saturating_sub(retention);
    let head = checkpoint_metadata.into_iter().chain([
        Action::Protocol(snapshot.protocol().clone()),
        Action::Metadata(snapshot.metadata().clone()),
    ]);
    let txns = state.txns.values().cloned().map(Action::Txn);
    let domains = state.domains.values().cloned().map(Action::DomainMetadata);
    let files = snapshot.files_sorted().into_iter().cloned().map(|mut add| {
        // Checkpoints do not carry the dataChange of the commit that added a file.
        add.data_change = false;
        Action::Add(add)
    });
    let tombstones = state
        .tombstones
        .values()
        .filter(|r| r.deletion_timestamp.unwrap_or(0) >= expired_before)
        .cloned()
        .map(|mut r| {
            r.data_change = false;
            Action::Remove(r)
        });
    let mut actions = head
        .chain(txns)
        .chain(domains)
        .chain(files)
        .chain(tombstones);

    let mut total = 0u64;
    loop {
        let mut chunk = Vec::with_capacity(64 * 1024);
        let mut rows = 0usize;
        for action in actions.by_ref().take(ROWS_PER_CHUNK) {
            chunk.extend_from_slice(action.to_json_line()?.as_bytes());
            chunk.push(b'\n');
            rows += 1;
        }
        if rows == 0 {
            break;
        }
        let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(ROWS_PER_CHUNK)
            .build_decoder()
            .map_err(|e| Error::arrow(context(), e))?;
        decoder
            .decode(&chunk)
            .map_err(|e| Error::arrow(context(), e))?;
        if let Some(batch) = decoder.flush().map_err(|e| Error::arrow(context(), e))? {
            writer
                .write(&batch)
                .await
                .map_err(|e| Error::parquet(context(), e))?;
        }
        total += rows as u64;
    }
    crate::test_hooks::pause_point("checkpoint-writing").await;
    writer
        .close()
        .await
        .map_err(|e| Error::parquet(context(), e))?;
    let summary = CheckpointSummary {
        version,
        actions: total,
        add_files: snapshot.num_files() as u64,
        size_in_bytes: bytes.load(Ordering::Relaxed),
        file: name,
        v2,
    };
    let mut hint = json!({
        "version": version,
        "size": summary.actions,
        "sizeInBytes": summary.size_in_bytes,
        "numOfAddFiles": summary.add_files,
    });
    if v2 {
        let meta = location
            .store()
            .head(&path)
            .await
            .map_err(|e| Error::store(format!("reading the size of checkpoint '{path}'"), e))?;
        if let Some(fields) = hint.as_object_mut() {
            fields.insert(
                "v2Checkpoint".into(),
                json!({
                    "path": summary.file,
                    "sizeInBytes": meta.size,
                    "modificationTime": meta.last_modified.timestamp_millis(),
                    "sidecarFiles": [],
                }),
            );
        }
    }
    crate::test_hooks::pause_point("before-last-checkpoint").await;
    let last = location.log_root().join("_last_checkpoint");
    location
        .store()
        .put(&last, PutPayload::from(hint.to_string().into_bytes()))
        .await
        .map_err(|e| Error::store(format!("writing '{last}'"), e))?;
    Ok(summary)
}
