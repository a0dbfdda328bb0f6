//! Reading Parquet checkpoints: classic single-file checkpoints, the parts of multi-part
//! checkpoints, the top-level Parquet file of a v2 checkpoint, and v2 sidecar files.
//!
//! A checkpoint file has one struct column per action kind (`protocol`, `metaData`, `add`,
//! `remove`, `txn`, `domainMetadata`, `checkpointMetadata`, `sidecar`, and in old files
//! `commitInfo` or `cdc`); each row has (at most) one of them non-null. [`actions_from_batch`]
//! turns the rows of one record batch into [`Action`]s, column by column: every column is
//! looked up and downcast once per batch, then the rows are read by index.
//!
//! Writers differ, so reading is tolerant: a missing optional column is `None` or the default,
//! integers may be any integer width, strings may be `Utf8`, `LargeUtf8` or `Utf8View`, and
//! `add.stats` may be replaced by (or complemented with) the `add.stats_parsed` struct, which is
//! then written back as the JSON string the protocol's statistics format describes. A missing
//! *required* field (say `add.path`) in a non-null action is an error naming the file and row.

mod columns;
mod encode;
mod extract;
use columns::*;
use encode::*;
use extract::*;

use std::collections::HashMap;
use std::fmt::Display;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int64Array,
    LargeStringArray, ListArray, MapArray, StringArray, StringViewArray, StructArray, UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Field, Float32Type, Float64Type, Int64Type, TimeUnit, UInt64Type,
};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::schema::types::SchemaDescriptor;

use crate::error::{Error, Result};
use crate::log::actions::{
    Action, Add, Cdc, CheckpointMetadata, CommitInfo, DeletionVectorDescriptor, DomainMetadata,
    Format, Metadata, PartitionValues, Protocol, Remove, Sidecar, Txn,
};
use crate::storage::TableLocation;

/// Rows per record batch when reading a checkpoint.
const BATCH_SIZE: usize = 8192;

/// At most this many actions are reserved up front from a file's row count.
const RESERVE_CAP: usize = 1 << 22;

/// How many bytes of the file's end are fetched at once to read its footer.
const FOOTER_PREFETCH: usize = 64 * 1024;

/// The top-level columns of a checkpoint that hold actions; other columns are not read.
const ACTION_COLUMNS: [&str; 10] = [
    "protocol",
    "metaData",
    "add",
    "remove",
    "txn",
    "domainMetadata",
    "checkpointMetadata",
    "sidecar",
    "commitInfo",
    "cdc",
];

/// Converts one record batch of a checkpoint file into actions.
///
/// Every non-null action of every row is returned, in row order (should a row hold more than
/// one action, they come in the order protocol, metaData, txn, domainMetadata,
/// checkpointMetadata, sidecar, add, remove, cdc, commitInfo). Top-level columns that are not
/// action kinds are ignored. `file` names the checkpoint in errors.
///
/// `add.stats` is taken as is; when it is null or absent and `add.stats_parsed` is present, the
/// struct is written back as a JSON statistics string (numbers as JSON numbers, strings and
/// dates as strings, timestamps as UTC ISO-8601 strings truncated to milliseconds, null values
/// left out). When `add.partitionValues` is absent, `add.partitionValues_parsed` supplies the
/// partition values, serialized as the protocol's partition value strings.
pub fn actions_from_batch(batch: &RecordBatch, file: &str) -> Result<Vec<Action>> {
    let ctx = Ctx { file };
    let column = |name: &str| -> Result<Option<StructArray>> {
        match batch.column_by_name(name) {
            None => Ok(None),
            Some(array) => ctx.top_level_struct(name, array),
        }
    };
    let protocol = column("protocol")?
        .map(|a| ProtocolCols::new(a, ctx))
        .transpose()?;
    let metadata = column("metaData")?
        .map(|a| MetadataCols::new(a, ctx))
        .transpose()?;
    let txn = column("txn")?.map(|a| TxnCols::new(a, ctx)).transpose()?;
    let domain = column("domainMetadata")?
        .map(|a| DomainCols::new(a, ctx))
        .transpose()?;
    let checkpoint_metadata = column("checkpointMetadata")?
        .map(|a| CheckpointMetadataCols::new(a, ctx))
        .transpose()?;
    let sidecar = column("sidecar")?
        .map(|a| SidecarCols::new(a, ctx))
        .transpose()?;
    let add = column("add")?.map(|a| AddCols::new(a, ctx)).transpose()?;
    let remove = column("remove")?
        .map(|a| RemoveCols::new(a, ctx))
        .transpose()?;
    let cdc = column("cdc")?.map(|a| CdcCols::new(a, ctx)).transpose()?;
    let commit_info = column("commitInfo")?
        .map(|a| CommitInfoCols::new(a, ctx))
        .transpose()?;

    let mut actions = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        if let Some(cols) = &protocol
            && cols.array.is_valid(row)
        {
            actions.push(Action::Protocol(cols.get(row, ctx)?));
        }
        if let Some(cols) = &metadata
            && cols.array.is_valid(row)
        {
            actions.push(Action::Metadata(cols.get(row, ctx)?));
        }
        if let Some(cols) = &txn
            && cols.array.is_valid(row)
        {
            actions.push(Action::Txn(cols.get(row, ctx)?));
        }
        if let Some(cols) = &domain
            && cols.array.is_valid(row)
        {
            actions.push(Action::DomainMetadata(cols.get(row, ctx)?));
        }
        if let Some(cols) = &checkpoint_metadata
            && cols.array.is_valid(row)
        {
            actions.push(Action::CheckpointMetadata(cols.get(row, ctx)?));
        }
        if let Some(cols) = &sidecar
            && cols.array.is_valid(row)
        {
            actions.push(Action::Sidecar(cols.get(row, ctx)?));
        }
        if let Some(cols) = &add
            && cols.array.is_valid(row)
        {
            actions.push(Action::Add(cols.get(row, ctx)?));
        }
        if let Some(cols) = &remove
            && cols.array.is_valid(row)
        {
            actions.push(Action::Remove(cols.get(row, ctx)?));
        }
        if let Some(cols) = &cdc
            && cols.array.is_valid(row)
        {
            actions.push(Action::Cdc(cols.get(row, ctx)?));
        }
        if let Some(cols) = &commit_info
            && cols.array.is_valid(row)
        {
            actions.push(Action::CommitInfo(cols.get(row, ctx)?));
        }
    }
    Ok(actions)
}

/// Reads every action of one Parquet checkpoint file (a classic checkpoint, one part of a
/// multi-part checkpoint, the top-level file of a v2 checkpoint, or a sidecar).
///
/// `path` is the file's location inside `location`'s store; `size` is its size in bytes when
/// known (from a listing or a sidecar action), which saves a request. Sidecars referenced by a
/// v2 checkpoint are returned as [`Action::Sidecar`] and are not followed.
pub async fn read_checkpoint_parquet(
    location: &TableLocation,
    path: &Path,
    size: Option<u64>,
) -> Result<Vec<Action>> {
    let (mut stream, rows) = open_checkpoint(location, path, size, None).await?;
    // Nearly every row holds one action; the cap guards against a corrupt footer.
    let mut actions = Vec::with_capacity(rows.min(RESERVE_CAP));
    while let Some(batch) = stream.try_next().await? {
        actions.extend(batch);
    }
    Ok(actions)
}

/// Reads only some kinds of action of one Parquet checkpoint file: `kinds` names their
/// top-level columns (`"protocol"`, `"metaData"`, `"txn"`...), and only those are decoded, so
/// reading the metadata of a checkpoint of millions of files costs little.
///
/// Arguments otherwise as for [`read_checkpoint_parquet`].
pub async fn read_checkpoint_parquet_kinds(
    location: &TableLocation,
    path: &Path,
    size: Option<u64>,
    kinds: &[&str],
) -> Result<Vec<Action>> {
    let (mut stream, _) = open_checkpoint(location, path, size, Some(kinds)).await?;
    let mut actions = Vec::new();
    while let Some(batch) = stream.try_next().await? {
        actions.extend(batch);
    }
    Ok(actions)
}

/// Reads a Parquet checkpoint file as a stream of actions, one item per record batch (up to
/// 8192 rows), so that a huge checkpoint need not be held in memory at once.
///
/// Opening the file (reading its footer) happens before this returns; each batch is decoded
/// and converted as the stream is polled. Arguments as for [`read_checkpoint_parquet`].
pub async fn read_checkpoint_parquet_stream(
    location: &TableLocation,
    path: &Path,
    size: Option<u64>,
) -> Result<BoxStream<'static, Result<Vec<Action>>>> {
    Ok(open_checkpoint(location, path, size, None).await?.0)
}

/// Opens a checkpoint file: the stream of its converted batches and its row count. `kinds`
/// limits the action columns read (all of them when `None`).
async fn open_checkpoint(
    location: &TableLocation,
    path: &Path,
    size: Option<u64>,
    kinds: Option<&[&str]>,
) -> Result<(BoxStream<'static, Result<Vec<Action>>>, usize)> {
    let store = Arc::clone(location.store());
    let size = match size {
        Some(size) => size,
        None => {
            store
                .head(path)
                .await
                .map_err(|e| Error::store(format!("reading the size of checkpoint '{path}'"), e))?
                .size
        }
    };
    let reader = StoreFileReader {
        store,
        path: path.clone(),
        size,
    };
    let file = path.to_string();
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| parquet_error(&file, e))?;
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mask = projection(builder.parquet_schema(), builder.metadata(), kinds);
    let stream = builder
        .with_projection(mask)
        .with_batch_size(BATCH_SIZE)
        .build()
        .map_err(|e| parquet_error(&file, e))?;
    let stream = stream
        .map(move |batch| {
            let batch = batch.map_err(|e| parquet_error(&file, e))?;
            actions_from_batch(&batch, &file)
        })
        .boxed();
    Ok((stream, rows))
}

/// Wraps a Parquet error with the file; object store errors keep their kind (not found...).
fn parquet_error(file: &str, error: ParquetError) -> Error {
    let context = format!("reading checkpoint '{file}'");
    match error {
        ParquetError::External(inner) => match inner.downcast::<object_store::Error>() {
            Ok(store_error) => Error::store(context, *store_error),
            Err(other) => Error::parquet(context, ParquetError::External(other)),
        },
        other => Error::parquet(context, other),
    }
}

/// Chooses the Parquet leaves to decode: the action columns only, without
/// `add.partitionValues_parsed` when `add.partitionValues` exists, and without
/// `add.stats_parsed` when the footer's statistics show that every `add` has a `stats` string.
fn projection(
    schema: &SchemaDescriptor,
    metadata: &ParquetMetaData,
    kinds: Option<&[&str]>,
) -> ProjectionMask {
    let paths: Vec<Vec<String>> = (0..schema.num_columns())
        .map(|i| schema.column(i).path().parts().to_vec())
        .collect();
    let leaf = |root: &str, child: &str| {
        paths
            .iter()
            .position(|p| p.len() == 2 && p[0] == root && p[1] == child)
    };
    let has_child = |root: &str, child: &str| {
        paths
            .iter()
            .any(|p| p.len() >= 2 && p[0] == root && p[1] == child)
    };
    let skip_partition_parsed = has_child("add", "partitionValues");
    let skip_stats_parsed = match (leaf("add", "path"), leaf("add", "stats")) {
        (Some(path_leaf), Some(stats_leaf)) => {
            let null_count = |rg: &parquet::file::metadata::RowGroupMetaData, leaf: usize| {
                rg.column(leaf)
                    .statistics()
                    .and_then(|s| s.null_count_opt())
            };
            metadata.row_groups().iter().all(|rg| {
                match (null_count(rg, path_leaf), null_count(rg, stats_leaf)) {
                    (Some(paths_null), Some(stats_null)) => paths_null == stats_null,
                    _ => false,
                }
            })
        }
        _ => false,
    };
    let keep = paths.iter().enumerate().filter_map(|(i, p)| {
        let root = p.first()?;
        if !ACTION_COLUMNS.contains(&root.as_str())
            || kinds.is_some_and(|kinds| !kinds.contains(&root.as_str()))
        {
            return None;
        }
        if root == "add" {
            match p.get(1).map(String::as_str) {
                Some("partitionValues_parsed") if skip_partition_parsed => return None,
                Some("stats_parsed") if skip_stats_parsed => return None,
                _ => {}
            }
        }
        Some(i)
    });
    ProjectionMask::leaves(schema, keep)
}

/// Reads a Parquet file from an object store for the async Parquet reader.
struct StoreFileReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn store_to_parquet(error: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(error))
}

impl AsyncFileReader for StoreFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(store_to_parquet)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(store_to_parquet)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(&mut *self, size)
                .await?;
            crate::storage::parquet_reader::check_metadata(&metadata, Some(size))?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests;
