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

use crate::actions::{
    Action, Add, Cdc, CheckpointMetadata, CommitInfo, DeletionVectorDescriptor, DomainMetadata,
    Format, Metadata, PartitionValues, Protocol, Remove, Sidecar, Txn,
};
use crate::error::{Error, Result};
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
            crate::parquet_reader::check_metadata(&metadata, Some(size))?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

// ---------------------------------------------------------------------------------------------
// Column access: each column is checked and downcast once per batch.
// ---------------------------------------------------------------------------------------------

/// What errors name: the checkpoint file.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn error(&self, reason: impl Into<String>) -> Error {
        Error::invalid_log(self.file, reason)
    }

    fn type_error(&self, column: &str, found: &DataType, expected: &str) -> Error {
        self.error(format!(
            "column '{column}' has type {found}, expected {expected}"
        ))
    }

    fn arrow_error(&self, column: &str, e: ArrowError) -> Error {
        Error::arrow(
            format!("reading column '{column}' of checkpoint '{}'", self.file),
            e,
        )
    }

    fn top_level_struct(&self, name: &str, array: &ArrayRef) -> Result<Option<StructArray>> {
        match array.data_type() {
            DataType::Null => Ok(None),
            DataType::Struct(_) => Ok(array.as_struct_opt().cloned()),
            other => Err(self.type_error(name, other, "a struct")),
        }
    }

    /// A required field that is null in a non-null action.
    fn missing(&self, row: usize, column: &str) -> Error {
        let action = column.split('.').next().unwrap_or(column);
        self.error(format!(
            "row {row} holds a '{action}' action without its required field '{column}'"
        ))
    }
}

/// Whether a column's values are all null by type (some writers store all-null columns so).
fn is_null_type(array: &ArrayRef) -> bool {
    matches!(array.data_type(), DataType::Null)
}

/// A string column of any of Arrow's string layouts.
#[derive(Clone)]
enum StrCol {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl StrCol {
    fn new(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Self>> {
        Ok(Some(match array.data_type() {
            DataType::Null => return Ok(None),
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Self::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => Self::View(array.as_string_view().clone()),
            DataType::Dictionary(_, value) if is_string_type(value) => {
                let cast = cast(array, &DataType::Utf8).map_err(|e| ctx.arrow_error(column, e))?;
                Self::Utf8(cast.as_string::<i32>().clone())
            }
            other => return Err(ctx.type_error(column, other, "a string")),
        }))
    }

    fn get(&self, i: usize) -> Option<&str> {
        match self {
            Self::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Self::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Self::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Self::Utf8(a) => a.is_null(i),
            Self::Large(a) => a.is_null(i),
            Self::View(a) => a.is_null(i),
        }
    }
}

fn is_string_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_integer_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// An integer column of any width, widened to `i64`.
fn int_col(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Int64Array>> {
    match array.data_type() {
        DataType::Null => Ok(None),
        DataType::Int64 => Ok(Some(array.as_primitive::<Int64Type>().clone())),
        t if is_integer_type(t) => {
            let cast = cast(array, &DataType::Int64).map_err(|e| ctx.arrow_error(column, e))?;
            Ok(Some(cast.as_primitive::<Int64Type>().clone()))
        }
        other => Err(ctx.type_error(column, other, "an integer")),
    }
}

fn bool_col(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<BooleanArray>> {
    match array.data_type() {
        DataType::Null => Ok(None),
        DataType::Boolean => Ok(Some(array.as_boolean().clone())),
        other => Err(ctx.type_error(column, other, "a boolean")),
    }
}

/// A `map<string,string>` column (also accepted as a list of key/value structs).
struct MapCol {
    offsets: Vec<usize>,
    nulls: Option<arrow::buffer::NullBuffer>,
    keys: StrCol,
    values: Option<StrCol>,
}

impl MapCol {
    fn new(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Self>> {
        let (offsets, nulls, entries) = match array.data_type() {
            DataType::Null => return Ok(None),
            DataType::Map(_, _) => {
                let map: &MapArray = array.as_map();
                (map.value_offsets(), map.nulls(), map.entries())
            }
            DataType::List(field) if matches!(field.data_type(), DataType::Struct(f) if f.len() == 2) =>
            {
                let list: &ListArray = array.as_list::<i32>();
                let entries = list
                    .values()
                    .as_struct_opt()
                    .ok_or_else(|| ctx.type_error(column, array.data_type(), "a map"))?;
                (list.value_offsets(), list.nulls(), entries)
            }
            other => return Err(ctx.type_error(column, other, "a map<string,string>")),
        };
        let key_column = format!("{column}.key");
        let keys = StrCol::new(entries.column(0), &key_column, ctx)?
            .ok_or_else(|| ctx.type_error(&key_column, &DataType::Null, "a string"))?;
        let values = StrCol::new(entries.column(1), &format!("{column}.value"), ctx)?;
        let offsets = offsets
            .iter()
            .map(|&o| usize::try_from(o).unwrap_or(0))
            .collect();
        Ok(Some(Self {
            offsets,
            nulls: nulls.cloned(),
            keys,
            values,
        }))
    }

    fn range(&self, i: usize) -> Option<Range<usize>> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        Some(self.offsets[i]..self.offsets[i + 1])
    }

    /// Entries with null values kept as `None` (partition values, tags).
    fn get(&self, i: usize) -> Option<PartitionValues> {
        let range = self.range(i)?;
        Some(
            range
                .filter_map(|j| {
                    let key = self.keys.get(j)?;
                    let value = self.values.as_ref().and_then(|v| v.get(j));
                    Some((key.to_string(), value.map(str::to_string)))
                })
                .collect(),
        )
    }

    /// Entries with null values dropped (configuration, format options).
    fn get_non_null(&self, i: usize) -> HashMap<String, String> {
        let Some(range) = self.range(i) else {
            return HashMap::new();
        };
        let mut map = HashMap::with_capacity(range.len());
        for j in range {
            if let (Some(key), Some(value)) = (
                self.keys.get(j),
                self.values.as_ref().and_then(|v| v.get(j)),
            ) {
                map.insert(key.to_string(), value.to_string());
            }
        }
        map
    }
}

/// A `list<string>` column.
struct StrListCol {
    list: ListArray,
    values: Option<StrCol>,
}

impl StrListCol {
    fn new(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Self>> {
        let list = match array.data_type() {
            DataType::Null => return Ok(None),
            DataType::List(_) => array.as_list::<i32>().clone(),
            DataType::LargeList(_) | DataType::ListView(_) | DataType::LargeListView(_) => {
                let target = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
                let cast = cast(array, &target).map_err(|e| ctx.arrow_error(column, e))?;
                cast.as_list::<i32>().clone()
            }
            other => return Err(ctx.type_error(column, other, "a list<string>")),
        };
        let values = StrCol::new(list.values(), &format!("{column}.element"), ctx)?;
        Ok(Some(Self { list, values }))
    }

    fn get(&self, i: usize) -> Option<Vec<String>> {
        if self.list.is_null(i) {
            return None;
        }
        let offsets = self.list.value_offsets();
        let start = usize::try_from(offsets[i]).unwrap_or(0);
        let end = usize::try_from(offsets[i + 1]).unwrap_or(0);
        Some(
            (start..end)
                .filter_map(|j| self.values.as_ref().and_then(|v| v.get(j)))
                .map(str::to_string)
                .collect(),
        )
    }
}

/// The children of one action struct, looked up by name.
struct Children<'a> {
    array: &'a StructArray,
    prefix: &'a str,
    ctx: Ctx<'a>,
}

impl<'a> Children<'a> {
    fn new(array: &'a StructArray, prefix: &'a str, ctx: Ctx<'a>) -> Self {
        Self { array, prefix, ctx }
    }

    fn column(&self, name: &str) -> Option<(&'a ArrayRef, String)> {
        let array = self.array.column_by_name(name)?;
        Some((array, format!("{}.{name}", self.prefix)))
    }

    fn str(&self, name: &str) -> Result<Option<StrCol>> {
        match self.column(name) {
            Some((array, column)) => StrCol::new(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    fn int(&self, name: &str) -> Result<Option<Int64Array>> {
        match self.column(name) {
            Some((array, column)) => int_col(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    fn bool(&self, name: &str) -> Result<Option<BooleanArray>> {
        match self.column(name) {
            Some((array, column)) => bool_col(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    fn map(&self, name: &str) -> Result<Option<MapCol>> {
        match self.column(name) {
            Some((array, column)) => MapCol::new(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    fn str_list(&self, name: &str) -> Result<Option<StrListCol>> {
        match self.column(name) {
            Some((array, column)) => StrListCol::new(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    fn structure(&self, name: &str) -> Result<Option<(StructArray, String)>> {
        match self.column(name) {
            None => Ok(None),
            Some((array, column)) => match array.data_type() {
                DataType::Null => Ok(None),
                DataType::Struct(_) => Ok(array.as_struct_opt().cloned().map(|s| (s, column))),
                other => Err(self.ctx.type_error(&column, other, "a struct")),
            },
        }
    }
}

fn str_at(col: &Option<StrCol>, i: usize) -> Option<&str> {
    col.as_ref().and_then(|c| c.get(i))
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn string_at(col: &Option<StrCol>, i: usize) -> Option<String> {
    str_at(col, i).map(str::to_string)
}

fn int_at(col: &Option<Int64Array>, i: usize) -> Option<i64> {
    col.as_ref().and_then(|c| c.is_valid(i).then(|| c.value(i)))
}

fn bool_at(col: &Option<BooleanArray>, i: usize) -> Option<bool> {
    col.as_ref().and_then(|c| c.is_valid(i).then(|| c.value(i)))
}

fn map_at(col: &Option<MapCol>, i: usize) -> Option<PartitionValues> {
    col.as_ref().and_then(|c| c.get(i))
}

fn i32_at(col: &Option<Int64Array>, i: usize, column: &str, ctx: Ctx<'_>) -> Result<Option<i32>> {
    int_at(col, i)
        .map(|v| {
            i32::try_from(v).map_err(|_| {
                ctx.error(format!(
                    "row {i}: '{column}' is {v}, which does not fit a 32-bit integer"
                ))
            })
        })
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// One extractor per action kind.
// ---------------------------------------------------------------------------------------------

struct ProtocolCols {
    array: StructArray,
    min_reader_version: Option<Int64Array>,
    min_writer_version: Option<Int64Array>,
    reader_features: Option<StrListCol>,
    writer_features: Option<StrListCol>,
}

impl ProtocolCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "protocol", ctx);
        Ok(Self {
            min_reader_version: c.int("minReaderVersion")?,
            min_writer_version: c.int("minWriterVersion")?,
            reader_features: c.str_list("readerFeatures")?,
            writer_features: c.str_list("writerFeatures")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Protocol> {
        let reader = "protocol.minReaderVersion";
        let writer = "protocol.minWriterVersion";
        Ok(Protocol {
            min_reader_version: i32_at(&self.min_reader_version, i, reader, ctx)?
                .ok_or_else(|| ctx.missing(i, reader))?,
            min_writer_version: i32_at(&self.min_writer_version, i, writer, ctx)?
                .ok_or_else(|| ctx.missing(i, writer))?,
            reader_features: self.reader_features.as_ref().and_then(|c| c.get(i)),
            writer_features: self.writer_features.as_ref().and_then(|c| c.get(i)),
        })
    }
}

struct FormatCols {
    array: StructArray,
    provider: Option<StrCol>,
    options: Option<MapCol>,
}

struct MetadataCols {
    array: StructArray,
    id: Option<StrCol>,
    name: Option<StrCol>,
    description: Option<StrCol>,
    format: Option<FormatCols>,
    schema_string: Option<StrCol>,
    partition_columns: Option<StrListCol>,
    created_time: Option<Int64Array>,
    configuration: Option<MapCol>,
}

impl MetadataCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "metaData", ctx);
        let format = match c.structure("format")? {
            Some((format, column)) => {
                let f = Children::new(&format, &column, ctx);
                let provider = f.str("provider")?;
                let options = f.map("options")?;
                Some(FormatCols {
                    array: format,
                    provider,
                    options,
                })
            }
            None => None,
        };
        Ok(Self {
            id: c.str("id")?,
            name: c.str("name")?,
            description: c.str("description")?,
            format,
            schema_string: c.str("schemaString")?,
            partition_columns: c.str_list("partitionColumns")?,
            created_time: c.int("createdTime")?,
            configuration: c.map("configuration")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Metadata> {
        let format = match &self.format {
            Some(f) if f.array.is_valid(i) => Format {
                provider: string_at(&f.provider, i).unwrap_or_else(|| "parquet".to_string()),
                options: f
                    .options
                    .as_ref()
                    .map(|m| m.get_non_null(i))
                    .unwrap_or_default(),
            },
            _ => Format::default(),
        };
        Ok(Metadata {
            id: string_at(&self.id, i).ok_or_else(|| ctx.missing(i, "metaData.id"))?,
            name: string_at(&self.name, i),
            description: string_at(&self.description, i),
            format,
            schema_string: string_at(&self.schema_string, i)
                .ok_or_else(|| ctx.missing(i, "metaData.schemaString"))?,
            partition_columns: self
                .partition_columns
                .as_ref()
                .and_then(|c| c.get(i))
                .unwrap_or_default(),
            created_time: int_at(&self.created_time, i),
            configuration: self
                .configuration
                .as_ref()
                .map(|m| m.get_non_null(i))
                .unwrap_or_default(),
        })
    }
}

struct DvCols {
    array: StructArray,
    storage_type: Option<StrCol>,
    path_or_inline_dv: Option<StrCol>,
    offset: Option<Int64Array>,
    size_in_bytes: Option<Int64Array>,
    cardinality: Option<Int64Array>,
    prefix: String,
}

impl DvCols {
    fn new(parent: &Children<'_>, ctx: Ctx<'_>) -> Result<Option<Self>> {
        let Some((array, prefix)) = parent.structure("deletionVector")? else {
            return Ok(None);
        };
        let c = Children::new(&array, &prefix, ctx);
        Ok(Some(Self {
            storage_type: c.str("storageType")?,
            path_or_inline_dv: c.str("pathOrInlineDv")?,
            offset: c.int("offset")?,
            size_in_bytes: c.int("sizeInBytes")?,
            cardinality: c.int("cardinality")?,
            array,
            prefix,
        }))
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Option<DeletionVectorDescriptor>> {
        if self.array.is_null(i) {
            return Ok(None);
        }
        // Some writers (delta-rs 0.22 era) store a non-null struct with empty or null fields for
        // files without a deletion vector; that is no deletion vector.
        let storage_type = str_at(&self.storage_type, i).unwrap_or_default();
        let path_or_inline_dv = str_at(&self.path_or_inline_dv, i).unwrap_or_default();
        if storage_type.is_empty() && path_or_inline_dv.is_empty() {
            return Ok(None);
        }
        let field = |name: &str| format!("{}.{name}", self.prefix);
        let size_column = field("sizeInBytes");
        Ok(Some(DeletionVectorDescriptor {
            storage_type: non_empty(storage_type)
                .ok_or_else(|| ctx.missing(i, &field("storageType")))?,
            path_or_inline_dv: non_empty(path_or_inline_dv)
                .ok_or_else(|| ctx.missing(i, &field("pathOrInlineDv")))?,
            offset: i32_at(&self.offset, i, &field("offset"), ctx)?,
            size_in_bytes: i32_at(&self.size_in_bytes, i, &size_column, ctx)?
                .ok_or_else(|| ctx.missing(i, &size_column))?,
            cardinality: int_at(&self.cardinality, i)
                .ok_or_else(|| ctx.missing(i, &field("cardinality")))?,
        }))
    }
}

struct AddCols {
    array: StructArray,
    path: Option<StrCol>,
    partition_values: Option<MapCol>,
    partition_values_parsed: Option<(StructArray, Vec<(String, Enc)>)>,
    size: Option<Int64Array>,
    modification_time: Option<Int64Array>,
    data_change: Option<BooleanArray>,
    stats: Option<StrCol>,
    stats_parsed: Option<Enc>,
    tags: Option<MapCol>,
    deletion_vector: Option<DvCols>,
    base_row_id: Option<Int64Array>,
    default_row_commit_version: Option<Int64Array>,
    clustering_provider: Option<StrCol>,
}

impl AddCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "add", ctx);
        let partition_values = c.map("partitionValues")?;
        let partition_values_parsed =
            match (&partition_values, c.structure("partitionValues_parsed")?) {
                (None, Some((parsed, column))) => {
                    let fields = parsed
                        .fields()
                        .iter()
                        .zip(parsed.columns())
                        .map(|(field, child)| Ok((field.name().clone(), Enc::new(child)?)))
                        .collect::<std::result::Result<Vec<_>, ArrowError>>()
                        .map_err(|e| ctx.arrow_error(&column, e))?;
                    Some((parsed, fields))
                }
                _ => None,
            };
        let stats_parsed = match c.column("stats_parsed") {
            Some((parsed, column)) if !is_null_type(parsed) => {
                Some(Enc::new(parsed).map_err(|e| ctx.arrow_error(&column, e))?)
            }
            _ => None,
        };
        Ok(Self {
            path: c.str("path")?,
            partition_values,
            partition_values_parsed,
            size: c.int("size")?,
            modification_time: c.int("modificationTime")?,
            data_change: c.bool("dataChange")?,
            stats: c.str("stats")?,
            stats_parsed,
            tags: c.map("tags")?,
            deletion_vector: DvCols::new(&c, ctx)?,
            base_row_id: c.int("baseRowId")?,
            default_row_commit_version: c.int("defaultRowCommitVersion")?,
            clustering_provider: c.str("clusteringProvider")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Add> {
        let path = string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "add.path"))?;
        let partition_values = match (&self.partition_values, &self.partition_values_parsed) {
            (Some(map), _) => map.get(i).unwrap_or_default(),
            (None, Some((parsed, fields))) if parsed.is_valid(i) => fields
                .iter()
                .map(|(name, enc)| (name.clone(), enc.partition_value(i)))
                .collect(),
            _ => PartitionValues::new(),
        };
        let stats = match str_at(&self.stats, i) {
            Some(stats) => Some(stats.to_string()),
            None => self.stats_parsed.as_ref().and_then(|enc| {
                (!enc.is_null(i)).then(|| {
                    let mut out = String::with_capacity(128);
                    enc.write(i, &mut out, Style::Stats);
                    out
                })
            }),
        };
        Ok(Add {
            path,
            partition_values,
            size: int_at(&self.size, i).ok_or_else(|| ctx.missing(i, "add.size"))?,
            modification_time: int_at(&self.modification_time, i).unwrap_or(0),
            data_change: bool_at(&self.data_change, i).unwrap_or(true),
            stats,
            tags: map_at(&self.tags, i),
            deletion_vector: match &self.deletion_vector {
                Some(dv) => dv.get(i, ctx)?,
                None => None,
            },
            base_row_id: int_at(&self.base_row_id, i),
            default_row_commit_version: int_at(&self.default_row_commit_version, i),
            clustering_provider: string_at(&self.clustering_provider, i),
        })
    }
}

struct RemoveCols {
    array: StructArray,
    path: Option<StrCol>,
    deletion_timestamp: Option<Int64Array>,
    data_change: Option<BooleanArray>,
    extended_file_metadata: Option<BooleanArray>,
    partition_values: Option<MapCol>,
    size: Option<Int64Array>,
    stats: Option<StrCol>,
    tags: Option<MapCol>,
    deletion_vector: Option<DvCols>,
    base_row_id: Option<Int64Array>,
    default_row_commit_version: Option<Int64Array>,
}

impl RemoveCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "remove", ctx);
        Ok(Self {
            path: c.str("path")?,
            deletion_timestamp: c.int("deletionTimestamp")?,
            data_change: c.bool("dataChange")?,
            extended_file_metadata: c.bool("extendedFileMetadata")?,
            partition_values: c.map("partitionValues")?,
            size: c.int("size")?,
            stats: c.str("stats")?,
            tags: c.map("tags")?,
            deletion_vector: DvCols::new(&c, ctx)?,
            base_row_id: c.int("baseRowId")?,
            default_row_commit_version: c.int("defaultRowCommitVersion")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Remove> {
        Ok(Remove {
            path: string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "remove.path"))?,
            deletion_timestamp: int_at(&self.deletion_timestamp, i),
            data_change: bool_at(&self.data_change, i).unwrap_or(true),
            extended_file_metadata: bool_at(&self.extended_file_metadata, i),
            partition_values: map_at(&self.partition_values, i),
            size: int_at(&self.size, i),
            stats: string_at(&self.stats, i),
            tags: map_at(&self.tags, i),
            deletion_vector: match &self.deletion_vector {
                Some(dv) => dv.get(i, ctx)?,
                None => None,
            },
            base_row_id: int_at(&self.base_row_id, i),
            default_row_commit_version: int_at(&self.default_row_commit_version, i),
        })
    }
}

struct TxnCols {
    array: StructArray,
    app_id: Option<StrCol>,
    version: Option<Int64Array>,
    last_updated: Option<Int64Array>,
}

impl TxnCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "txn", ctx);
        Ok(Self {
            app_id: c.str("appId")?,
            version: c.int("version")?,
            last_updated: c.int("lastUpdated")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Txn> {
        Ok(Txn {
            app_id: string_at(&self.app_id, i).ok_or_else(|| ctx.missing(i, "txn.appId"))?,
            version: int_at(&self.version, i).ok_or_else(|| ctx.missing(i, "txn.version"))?,
            last_updated: int_at(&self.last_updated, i),
        })
    }
}

struct DomainCols {
    array: StructArray,
    domain: Option<StrCol>,
    configuration: Option<StrCol>,
    removed: Option<BooleanArray>,
}

impl DomainCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "domainMetadata", ctx);
        Ok(Self {
            domain: c.str("domain")?,
            configuration: c.str("configuration")?,
            removed: c.bool("removed")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<DomainMetadata> {
        Ok(DomainMetadata {
            domain: string_at(&self.domain, i)
                .ok_or_else(|| ctx.missing(i, "domainMetadata.domain"))?,
            configuration: string_at(&self.configuration, i)
                .ok_or_else(|| ctx.missing(i, "domainMetadata.configuration"))?,
            removed: bool_at(&self.removed, i).unwrap_or(false),
        })
    }
}

struct CheckpointMetadataCols {
    array: StructArray,
    version: Option<Int64Array>,
    tags: Option<MapCol>,
}

impl CheckpointMetadataCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "checkpointMetadata", ctx);
        Ok(Self {
            version: c.int("version")?,
            tags: c.map("tags")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<CheckpointMetadata> {
        Ok(CheckpointMetadata {
            version: int_at(&self.version, i)
                .ok_or_else(|| ctx.missing(i, "checkpointMetadata.version"))?,
            tags: map_at(&self.tags, i),
        })
    }
}

struct SidecarCols {
    array: StructArray,
    path: Option<StrCol>,
    size_in_bytes: Option<Int64Array>,
    modification_time: Option<Int64Array>,
    tags: Option<MapCol>,
}

impl SidecarCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "sidecar", ctx);
        Ok(Self {
            path: c.str("path")?,
            size_in_bytes: c.int("sizeInBytes")?,
            modification_time: c.int("modificationTime")?,
            tags: c.map("tags")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Sidecar> {
        Ok(Sidecar {
            path: string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "sidecar.path"))?,
            size_in_bytes: int_at(&self.size_in_bytes, i)
                .ok_or_else(|| ctx.missing(i, "sidecar.sizeInBytes"))?,
            modification_time: int_at(&self.modification_time, i).unwrap_or(0),
            tags: map_at(&self.tags, i),
        })
    }
}

struct CdcCols {
    array: StructArray,
    path: Option<StrCol>,
    partition_values: Option<MapCol>,
    size: Option<Int64Array>,
    data_change: Option<BooleanArray>,
    tags: Option<MapCol>,
}

impl CdcCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "cdc", ctx);
        Ok(Self {
            path: c.str("path")?,
            partition_values: c.map("partitionValues")?,
            size: c.int("size")?,
            data_change: c.bool("dataChange")?,
            tags: c.map("tags")?,
            array,
        })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Cdc> {
        Ok(Cdc {
            path: string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "cdc.path"))?,
            partition_values: map_at(&self.partition_values, i).unwrap_or_default(),
            size: int_at(&self.size, i).ok_or_else(|| ctx.missing(i, "cdc.size"))?,
            data_change: bool_at(&self.data_change, i).unwrap_or(false),
            tags: map_at(&self.tags, i),
        })
    }
}

struct CommitInfoCols {
    array: StructArray,
    enc: Enc,
}

impl CommitInfoCols {
    fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let as_ref: ArrayRef = Arc::new(array.clone());
        let enc = Enc::new(&as_ref).map_err(|e| ctx.arrow_error("commitInfo", e))?;
        Ok(Self { array, enc })
    }

    fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<CommitInfo> {
        let mut out = String::new();
        self.enc.write(i, &mut out, Style::CommitInfo);
        serde_json::from_str(&out)
            .map(CommitInfo)
            .map_err(|e| ctx.error(format!("row {i}: cannot convert 'commitInfo' to JSON: {e}")))
    }
}

// ---------------------------------------------------------------------------------------------
// Arrow values to JSON text (stats_parsed, commitInfo) and to partition value strings.
// ---------------------------------------------------------------------------------------------

/// How values are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// JSON statistics: timestamps as `"2024-01-31T12:00:00.123Z"`, dates as `"2024-01-31"`.
    Stats,
    /// JSON for `commitInfo`: timestamps as milliseconds since the epoch.
    CommitInfo,
    /// A partition value string: raw text, timestamps as `2024-01-31 12:00:00.123456`.
    Partition,
}

/// An Arrow column prepared (downcast once) for writing its values as JSON.
enum Enc {
    Null,
    Bool(BooleanArray),
    Int(Int64Array),
    UInt(UInt64Array),
    F32(Float32Array),
    F64(Float64Array),
    Str(StrCol),
    Date(Date32Array),
    Timestamp(Int64Array, TimeUnit),
    /// Decimals, already formatted by Arrow (written as JSON numbers).
    Decimal(StringArray),
    Struct(StructArray, Vec<(String, Enc)>),
    List(ListArray, Box<Enc>),
    Map(MapArray, Box<Enc>, Box<Enc>),
    /// Anything else, written as Arrow displays it, as a string.
    Other(ArrayRef),
}

impl Enc {
    fn new(array: &ArrayRef) -> std::result::Result<Self, ArrowError> {
        let cast_to = |t: DataType| cast(array, &t);
        Ok(match array.data_type() {
            DataType::Null => Self::Null,
            DataType::Boolean => Self::Bool(array.as_boolean().clone()),
            DataType::UInt64 => Self::UInt(array.as_primitive::<UInt64Type>().clone()),
            t if is_integer_type(t) => Self::Int(
                cast_to(DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            DataType::Float16 | DataType::Float32 => Self::F32(
                cast_to(DataType::Float32)?
                    .as_primitive::<Float32Type>()
                    .clone(),
            ),
            DataType::Float64 => Self::F64(array.as_primitive::<Float64Type>().clone()),
            DataType::Utf8 => Self::Str(StrCol::Utf8(array.as_string::<i32>().clone())),
            DataType::LargeUtf8 => Self::Str(StrCol::Large(array.as_string::<i64>().clone())),
            DataType::Utf8View => Self::Str(StrCol::View(array.as_string_view().clone())),
            DataType::Date32 | DataType::Date64 => Self::Date(
                cast_to(DataType::Date32)?
                    .as_primitive::<Date32Type>()
                    .clone(),
            ),
            DataType::Timestamp(unit, _) => Self::Timestamp(
                cast_to(DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
                *unit,
            ),
            DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => {
                Self::Decimal(cast_to(DataType::Utf8)?.as_string::<i32>().clone())
            }
            DataType::Struct(fields) => {
                let array = array.as_struct().clone();
                let children = fields
                    .iter()
                    .zip(array.columns())
                    .map(|(field, column)| {
                        let mut key = String::with_capacity(field.name().len() + 3);
                        push_json_str(&mut key, field.name());
                        key.push(':');
                        Ok((key, Self::new(column)?))
                    })
                    .collect::<std::result::Result<Vec<_>, ArrowError>>()?;
                Self::Struct(array, children)
            }
            DataType::List(_) => {
                let list = array.as_list::<i32>().clone();
                let values = Self::new(list.values())?;
                Self::List(list, Box::new(values))
            }
            DataType::LargeList(field) => {
                let target = DataType::List(Arc::clone(field));
                Self::new(&cast(array, &target)?)?
            }
            DataType::Map(_, _) => {
                let map = array.as_map().clone();
                let keys = Self::new(map.keys())?;
                let values = Self::new(map.values())?;
                Self::Map(map, Box::new(keys), Box::new(values))
            }
            DataType::Dictionary(_, value_type) => Self::new(&cast(array, value_type)?)?,
            _ => Self::Other(Arc::clone(array)),
        })
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Self::Null => true,
            Self::Bool(a) => a.is_null(i),
            Self::Int(a) => a.is_null(i),
            Self::UInt(a) => a.is_null(i),
            Self::F32(a) => a.is_null(i),
            Self::F64(a) => a.is_null(i),
            Self::Str(a) => a.is_null(i),
            Self::Date(a) => a.is_null(i),
            Self::Timestamp(a, _) => a.is_null(i),
            Self::Decimal(a) => a.is_null(i),
            Self::Struct(a, _) => a.is_null(i),
            Self::List(a, _) => a.is_null(i),
            Self::Map(a, _, _) => a.is_null(i),
            Self::Other(a) => a.is_null(i),
        }
    }

    /// Writes value `i` (which must not be null; nulls are written as `null`).
    fn write(&self, i: usize, out: &mut String, style: Style) {
        if self.is_null(i) {
            out.push_str("null");
            return;
        }
        let quoted = style != Style::Partition;
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(a) => out.push_str(if a.value(i) { "true" } else { "false" }),
            Self::Int(a) => push_display(out, a.value(i)),
            Self::UInt(a) => push_display(out, a.value(i)),
            Self::F32(a) => push_float(out, f64::from(a.value(i)), a.value(i), quoted),
            Self::F64(a) => push_float(out, a.value(i), a.value(i), quoted),
            Self::Str(a) => {
                let value = a.get(i).unwrap_or_default();
                if quoted {
                    push_json_str(out, value);
                } else {
                    out.push_str(value);
                }
            }
            Self::Date(a) => {
                let days = a.value(i);
                match chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163)) {
                    Some(date) => push_maybe_quoted(out, date.format("%Y-%m-%d"), quoted),
                    None => push_display(out, days),
                }
            }
            Self::Timestamp(a, unit) => write_timestamp(out, a.value(i), *unit, style),
            Self::Decimal(a) => out.push_str(a.value(i)),
            Self::Struct(_, fields) => {
                out.push('{');
                let mut first = true;
                for (key, field) in fields {
                    if field.is_null(i) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(key);
                    field.write(i, out, style.nested());
                }
                out.push('}');
            }
            Self::List(list, values) => {
                let offsets = list.value_offsets();
                out.push('[');
                for (n, j) in (offsets[i]..offsets[i + 1]).enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    values.write(usize::try_from(j).unwrap_or(0), out, style.nested());
                }
                out.push(']');
            }
            Self::Map(map, keys, values) => {
                let offsets = map.value_offsets();
                out.push('{');
                let mut first = true;
                for j in offsets[i]..offsets[i + 1] {
                    let j = usize::try_from(j).unwrap_or(0);
                    if keys.is_null(j) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    let mut key = String::new();
                    keys.write(j, &mut key, Style::Partition);
                    push_json_str(out, &key);
                    out.push(':');
                    values.write(j, out, style.nested());
                }
                out.push('}');
            }
            Self::Other(a) => {
                let text = arrow::util::display::array_value_to_string(a, i).unwrap_or_default();
                if quoted {
                    push_json_str(out, &text);
                } else {
                    out.push_str(&text);
                }
            }
        }
    }

    /// The value as a partition value string (`None` for null).
    fn partition_value(&self, i: usize) -> Option<String> {
        if self.is_null(i) {
            return None;
        }
        let mut out = String::new();
        self.write(i, &mut out, Style::Partition);
        Some(out)
    }
}

impl Style {
    /// Values nested in a JSON object or array are always JSON.
    fn nested(self) -> Self {
        match self {
            Self::Partition => Self::Stats,
            other => other,
        }
    }
}

fn push_display(out: &mut String, value: impl Display) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

fn push_maybe_quoted(out: &mut String, value: impl Display, quoted: bool) {
    if quoted {
        out.push('"');
    }
    push_display(out, value);
    if quoted {
        out.push('"');
    }
}

/// Writes a float as JSON: the shortest representation that reads back the same; NaN and
/// infinities (which JSON cannot hold) as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn push_float<F: serde::Serialize + Display>(out: &mut String, wide: f64, value: F, quoted: bool) {
    if wide.is_finite() {
        match serde_json::to_string(&value) {
            Ok(text) => out.push_str(&text),
            Err(_) => push_display(out, value),
        }
    } else {
        let text = if wide.is_nan() {
            "NaN"
        } else if wide > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        push_maybe_quoted(out, text, quoted);
    }
}

fn write_timestamp(out: &mut String, value: i64, unit: TimeUnit, style: Style) {
    let (per_second, nanos_per_unit) = match unit {
        TimeUnit::Second => (1, 1_000_000_000),
        TimeUnit::Millisecond => (1_000, 1_000_000),
        TimeUnit::Microsecond => (1_000_000, 1_000),
        TimeUnit::Nanosecond => (1_000_000_000, 1),
    };
    let seconds = value.div_euclid(per_second);
    let nanos = u32::try_from(value.rem_euclid(per_second) * nanos_per_unit).unwrap_or(0);
    let Some(time) = chrono::DateTime::from_timestamp(seconds, nanos) else {
        push_display(out, value);
        return;
    };
    match style {
        Style::Stats => push_maybe_quoted(out, time.format("%Y-%m-%dT%H:%M:%S%.3fZ"), true),
        Style::CommitInfo => push_display(out, time.timestamp_millis()),
        Style::Partition => push_display(out, time.format("%Y-%m-%d %H:%M:%S%.6f")),
    }
}

/// Appends `value` as a JSON string literal.
fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[start..i]);
        if escape.is_empty() {
            push_display(out, format_args!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use arrow::array::{
        Date32Array, Decimal128Array, Int32Array, MapBuilder, StringBuilder,
        TimestampMicrosecondArray,
    };
    use arrow::buffer::NullBuffer;
    use arrow::datatypes::{Fields, Schema};
    use serde_json::{Value, json};

    use super::*;
    use crate::actions::parse_commit;

    fn corpus() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))
    }

    fn table_dir(table: &str) -> PathBuf {
        corpus().join(table)
    }

    fn location(table: &str) -> TableLocation {
        let dir = table_dir(table).canonicalize().unwrap();
        TableLocation::parse(dir.to_str().unwrap()).unwrap()
    }

    /// Reads `_delta_log/<name>` (or `_delta_log/_sidecars/<name>`) of a corpus table.
    async fn read_log_file(table: &str, name: &str) -> Vec<Action> {
        let location = location(table);
        let mut path = location.log_root();
        for part in name.split('/') {
            path = path.join(part);
        }
        // Pass the size for some files and let the reader look it up for others.
        let size = std::fs::metadata(table_dir(table).join("_delta_log").join(name))
            .unwrap()
            .len();
        let size = size.is_multiple_of(2).then_some(size);
        read_checkpoint_parquet(&location, &path, size)
            .await
            .unwrap()
    }

    fn log_files(table: &str, contains: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(table_dir(table).join("_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(contains) && n.ends_with(".parquet") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    /// Replays the JSON commits 0..=`version`: adds and removes reconciled in order by path and
    /// deletion vector id (a DV update adds and removes the same path in one commit).
    fn replay_json(table: &str, version: u64) -> (BTreeMap<String, Add>, Vec<Action>) {
        let mut files = BTreeMap::new();
        let mut others = Vec::new();
        for v in 0..=version {
            let path = table_dir(table).join(format!("_delta_log/{v:020}.json"));
            let bytes = std::fs::read(&path).unwrap();
            for action in parse_commit(&bytes, &path.display().to_string()).unwrap() {
                match action {
                    Action::Add(add) => {
                        files.insert(add.file_key(), add);
                    }
                    Action::Remove(remove) => {
                        files.remove(&remove.file_key());
                    }
                    other => others.push(other),
                }
            }
        }
        let mut by_path = BTreeMap::new();
        for add in files.into_values() {
            assert!(by_path.insert(add.path.clone(), add).is_none());
        }
        (by_path, others)
    }

    fn adds(actions: &[Action]) -> BTreeMap<String, Add> {
        let mut out = BTreeMap::new();
        for action in actions {
            if let Action::Add(add) = action {
                assert!(
                    out.insert(add.path.clone(), add.clone()).is_none(),
                    "duplicate add {}",
                    add.path
                );
            }
        }
        out
    }

    fn count(actions: &[Action], kind: fn(&Action) -> bool) -> usize {
        actions.iter().filter(|a| kind(a)).count()
    }

    fn is_protocol(a: &Action) -> bool {
        matches!(a, Action::Protocol(_))
    }

    fn is_metadata(a: &Action) -> bool {
        matches!(a, Action::Metadata(_))
    }

    fn is_add(a: &Action) -> bool {
        matches!(a, Action::Add(_))
    }

    /// Parses a stats string, dropping null members (writers differ on writing them).
    fn stats_value(stats: &str) -> Value {
        fn strip(v: Value) -> Value {
            match v {
                Value::Object(map) => Value::Object(
                    map.into_iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k, strip(v)))
                        .collect(),
                ),
                other => other,
            }
        }
        strip(serde_json::from_str(stats).unwrap_or_else(|e| panic!("bad stats {stats}: {e}")))
    }

    fn assert_stats_have_num_records(adds: &BTreeMap<String, Add>) {
        for add in adds.values() {
            let stats = add
                .stats
                .as_deref()
                .unwrap_or_else(|| panic!("no stats: {}", add.path));
            let value = stats_value(stats);
            assert!(value["numRecords"].is_i64(), "numRecords missing: {stats}");
        }
    }

    /// Checks the checkpoint's live files against a replay of the JSON commits.
    fn assert_matches_replay(checkpoint: &BTreeMap<String, Add>, replay: &BTreeMap<String, Add>) {
        assert_eq!(
            checkpoint.keys().collect::<Vec<_>>(),
            replay.keys().collect::<Vec<_>>()
        );
        for (path, add) in checkpoint {
            let expected = &replay[path];
            assert_eq!(add.size, expected.size, "{path}");
            assert_eq!(add.partition_values, expected.partition_values, "{path}");
            assert_eq!(add.deletion_vector, expected.deletion_vector, "{path}");
            assert_eq!(add.base_row_id, expected.base_row_id, "{path}");
            assert_eq!(add.stats.is_some(), expected.stats.is_some(), "{path}");
            if let (Some(a), Some(b)) = (&add.stats, &expected.stats) {
                assert_eq!(stats_value(a), stats_value(b), "{path}");
            }
        }
    }

    // ----- corpus tables --------------------------------------------------------------------

    #[tokio::test]
    async fn classic_checkpoint_matches_json_replay() {
        let table = "delta-kernel-java/basic-with-checkpoint";
        let actions = read_log_file(table, "00000000000000000010.checkpoint.parquet").await;
        assert_eq!(count(&actions, is_protocol), 1);
        assert_eq!(count(&actions, is_metadata), 1);
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, 10);
        assert!(!checkpoint.is_empty());
        assert_matches_replay(&checkpoint, &replay);
        assert_stats_have_num_records(&checkpoint);
        let Some(Action::Metadata(metadata)) = actions.iter().find(|a| is_metadata(a)) else {
            panic!("no metadata");
        };
        assert_eq!(metadata.format.provider, "parquet");
        assert!(metadata.schema_string.contains("\"struct\""));
    }

    #[tokio::test]
    async fn more_classic_checkpoints_match_json_replay() {
        for (table, version) in [
            ("delta-rs/simple_table_with_checkpoint", 10u64),
            ("delta-spark/delta-1.2.1", 2),
            ("delta-spark/delta-1.2.1", 4),
            ("delta-rs/table_with_deletion_logs", 10),
            ("delta-rs/table_with_deletion_logs", 20),
        ] {
            let name = format!("{version:020}.checkpoint.parquet");
            let actions = read_log_file(table, &name).await;
            assert_eq!(count(&actions, is_protocol), 1, "{table} {name}");
            assert_eq!(count(&actions, is_metadata), 1, "{table} {name}");
            let checkpoint = adds(&actions);
            let (replay, _) = replay_json(table, version);
            assert!(!checkpoint.is_empty(), "{table} {name}");
            assert_matches_replay(&checkpoint, &replay);
        }
    }

    #[tokio::test]
    async fn partitioned_multi_part_checkpoint_with_stats_parsed_only() {
        let table = "delta-kernel/v1-multi-part-partitioned-struct-stats-only";
        let mut actions = Vec::new();
        for part in log_files(table, ".checkpoint.") {
            actions.extend(read_log_file(table, &part).await);
        }
        assert_eq!(count(&actions, is_protocol), 1);
        assert_eq!(count(&actions, is_metadata), 1);
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, 5);
        assert!(!checkpoint.is_empty());
        assert_matches_replay(&checkpoint, &replay);
        assert!(
            checkpoint
                .values()
                .all(|a| a.partition_values.contains_key("part"))
        );
        assert_stats_have_num_records(&checkpoint);
        for (path, add) in &checkpoint {
            let expected = replay[path].stats.as_deref().unwrap();
            assert_eq!(
                stats_value(add.stats.as_deref().unwrap()),
                stats_value(expected)
            );
        }
    }

    #[tokio::test]
    async fn deletion_vectors_in_checkpoints_match_json_replay() {
        let table = "delta-kernel-java/basic-dv-with-checkpoint";
        for version in [10u64, 20, 30, 40] {
            let name = format!("{version:020}.checkpoint.parquet");
            let actions = read_log_file(table, &name).await;
            assert_eq!(count(&actions, is_protocol), 1, "{name}");
            assert_eq!(count(&actions, is_metadata), 1, "{name}");
            let checkpoint = adds(&actions);
            let (replay, _) = replay_json(table, version);
            assert_matches_replay(&checkpoint, &replay);
            let with_dv = checkpoint
                .values()
                .filter(|a| a.deletion_vector.is_some())
                .count();
            assert!(with_dv > 0, "{name}: no deletion vector");
            for dv in checkpoint
                .values()
                .filter_map(|a| a.deletion_vector.as_ref())
            {
                assert!(matches!(dv.storage_type.as_str(), "u" | "i" | "p"));
                assert!(dv.cardinality > 0 && dv.size_in_bytes > 0);
            }
        }
    }

    #[tokio::test]
    async fn multi_part_checkpoint_reads_all_parts() {
        let table = "delta-kernel-java/kernel-pagination-multi-part-checkpoints";
        let parts = log_files(table, ".checkpoint.");
        assert_eq!(parts.len(), 3);
        let mut actions = Vec::new();
        for part in &parts {
            let part_actions = read_log_file(table, part).await;
            assert!(!part_actions.is_empty(), "{part}");
            actions.extend(part_actions);
        }
        assert_eq!(count(&actions, is_protocol), 1);
        assert_eq!(count(&actions, is_metadata), 1);
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, 0);
        assert!(checkpoint.len() > 3);
        assert_matches_replay(&checkpoint, &replay);
    }

    #[tokio::test]
    async fn v2_parquet_checkpoint_and_its_sidecars() {
        let table = "delta-kernel-java/kernel-pagination-v2-checkpoint-parquet";
        let top = read_log_file(
            table,
            "00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet",
        )
        .await;
        assert_eq!(count(&top, is_protocol), 1);
        assert_eq!(count(&top, is_metadata), 1);
        let checkpoint_metadata: Vec<_> = top
            .iter()
            .filter_map(|a| match a {
                Action::CheckpointMetadata(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(checkpoint_metadata.len(), 1);
        assert_eq!(checkpoint_metadata[0].version, 2);
        let sidecars: Vec<Sidecar> = top
            .iter()
            .filter_map(|a| match a {
                Action::Sidecar(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(sidecars.len(), 2);
        let mut actions = top.clone();
        for sidecar in &sidecars {
            assert!(sidecar.size_in_bytes > 0 && sidecar.modification_time > 0);
            let on_disk = table_dir(table)
                .join("_delta_log/_sidecars")
                .join(&sidecar.path);
            assert_eq!(
                std::fs::metadata(&on_disk).unwrap().len(),
                u64::try_from(sidecar.size_in_bytes).unwrap()
            );
            let part = read_log_file(table, &format!("_sidecars/{}", sidecar.path)).await;
            assert!(
                part.iter()
                    .all(|a| matches!(a, Action::Add(_) | Action::Remove(_)))
            );
            actions.extend(part);
        }
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, 2);
        assert!(!checkpoint.is_empty());
        assert_matches_replay(&checkpoint, &replay);
    }

    #[tokio::test]
    async fn very_old_checkpoint_schema() {
        // Delta 0.1: no stats, no tags, no createdTime, remove has only path and dataChange.
        let table = "delta-spark/delta-0.1.0";
        let actions = read_log_file(table, "00000000000000000003.checkpoint.parquet").await;
        assert_eq!(count(&actions, is_protocol), 1);
        assert_eq!(count(&actions, is_metadata), 1);
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, 3);
        assert!(!checkpoint.is_empty());
        assert_matches_replay(&checkpoint, &replay);
        for add in checkpoint.values() {
            assert_eq!(add.stats, None);
            assert_eq!(add.tags, None);
        }
        let Some(Action::Metadata(metadata)) = actions.iter().find(|a| is_metadata(a)) else {
            panic!("no metadata");
        };
        assert_eq!(metadata.created_time, None);
        for remove in actions.iter().filter_map(|a| match a {
            Action::Remove(r) => Some(r),
            _ => None,
        }) {
            assert!(!remove.path.is_empty());
            assert_eq!(remove.size, None);
        }
    }

    #[tokio::test]
    async fn txn_in_checkpoint() {
        let table = "delta-kernel/app-txn-checkpoint";
        let actions = read_log_file(table, "00000000000000000001.checkpoint.parquet").await;
        assert_eq!(count(&actions, is_protocol), 1);
        assert_eq!(count(&actions, is_metadata), 1);
        let mut txns: Vec<(String, i64)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Txn(t) => Some((t.app_id.clone(), t.version)),
                _ => None,
            })
            .collect();
        txns.sort();
        let (replay, others) = replay_json(table, 1);
        let mut latest: BTreeMap<String, i64> = BTreeMap::new();
        for action in others {
            if let Action::Txn(t) = action {
                latest.insert(t.app_id, t.version);
            }
        }
        assert!(!txns.is_empty());
        assert_eq!(txns, latest.into_iter().collect::<Vec<_>>());
        assert_matches_replay(&adds(&actions), &replay);
    }

    /// Checkpoints whose `add` rows have only `stats_parsed`: the JSON written back must say
    /// what the commits' JSON stats said.
    #[tokio::test]
    async fn stats_parsed_only_checkpoints_match_json_stats() {
        for (table, version) in [
            ("delta-rs/delta-1.2.1-only-struct-stats", 10u64),
            ("delta-kernel/v1-single-part-struct-stats-only", 5),
            ("delta-spark/transaction_log_schema_evolvability", 2),
        ] {
            let name = format!("{version:020}.checkpoint.parquet");
            let actions = read_log_file(table, &name).await;
            assert_eq!(count(&actions, is_protocol), 1, "{table}");
            assert_eq!(count(&actions, is_metadata), 1, "{table}");
            let checkpoint = adds(&actions);
            let (replay, _) = replay_json(table, version);
            assert!(!checkpoint.is_empty(), "{table}");
            assert_matches_replay(&checkpoint, &replay);
            let mut compared = 0;
            for (path, add) in &checkpoint {
                if let Some(expected) = &replay[path].stats {
                    let ours = add
                        .stats
                        .as_deref()
                        .unwrap_or_else(|| panic!("{table} {path}"));
                    assert_eq!(stats_value(ours), stats_value(expected), "{table} {path}");
                    compared += 1;
                }
            }
            assert!(compared > 0, "{table}: no stats compared");
            assert_stats_have_num_records(&checkpoint);
        }
    }

    /// Where a checkpoint has both `stats` and `stats_parsed`, dropping `stats` must give the
    /// same statistics from `stats_parsed`.
    #[test]
    fn stats_parsed_agrees_with_stats_where_both_exist() {
        let files = [
            "delta-kernel/parsed-stats/_delta_log/00000000000000000003.checkpoint.parquet",
            "delta-rs/checkpoints_vacuumed/_delta_log/00000000000000000010.checkpoint.parquet",
            "delta-rs/issue_1374/_delta_log/00000000000000000001.checkpoint.parquet",
            "delta-rs/table_with_deletion_logs/_delta_log/00000000000000000020.checkpoint.parquet",
            "delta-rs/table-with-domain-metadata/_delta_log/00000000000000000108.checkpoint.parquet",
            "delta-rs/checkpoint-v2-table/_delta_log/_sidecars/00000000000000000008.checkpoint.0000000001.0000000001.d55fb2cb-b8d3-4362-8572-c52142a9da1f.parquet",
        ];
        for file in files {
            let mut compared = 0;
            for batch in read_batches(&corpus().join(file)) {
                let with_stats = actions_from_batch(&batch, file).unwrap();
                let without = actions_from_batch(&drop_add_child(&batch, "stats"), file).unwrap();
                assert_eq!(with_stats.len(), without.len());
                for (a, b) in with_stats.iter().zip(&without) {
                    if let (Action::Add(a), Action::Add(b)) = (a, b) {
                        let (Some(sa), Some(sb)) = (&a.stats, &b.stats) else {
                            panic!("{file}: {} lost its stats", a.path);
                        };
                        assert_eq!(stats_value(sa), stats_value(sb), "{file} {}", a.path);
                        compared += 1;
                    }
                }
            }
            assert!(compared > 0, "{file}");
        }
    }

    /// Every Parquet checkpoint in the corpus converts, and its `add` count equals the count
    /// from the file's footer statistics (rows less nulls of `add.path`) or, without them, the
    /// non-null `add.path` values counted on the raw Arrow data.
    #[tokio::test]
    async fn every_corpus_checkpoint_converts() {
        let mut files = Vec::new();
        collect_checkpoints(&corpus(), &mut files);
        assert!(
            files.len() > 50,
            "found only {} checkpoint files",
            files.len()
        );
        let mut with_footer_counts = 0;
        let mut with_adds = 0;
        for file in &files {
            let dir = file.parent().unwrap().to_str().unwrap();
            let location = TableLocation::parse(dir).unwrap();
            let name = file.file_name().unwrap().to_str().unwrap();
            let actions =
                read_checkpoint_parquet(&location, &location.root().clone().join(name), None)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            // Column pruning (projection) must not change the result.
            let mut unprojected = Vec::new();
            for batch in read_batches(file) {
                unprojected.extend(actions_from_batch(&batch, name).unwrap());
            }
            assert_eq!(actions, unprojected, "{}", file.display());
            let add_count = count(&actions, is_add);
            let expected = match footer_add_count(file) {
                Some(n) => {
                    with_footer_counts += 1;
                    n
                }
                None => raw_add_count(file),
            };
            assert_eq!(add_count, expected, "{}", file.display());
            with_adds += usize::from(add_count > 0);
            for action in &actions {
                if let Action::Add(add) = action
                    && let Some(stats) = &add.stats
                {
                    assert!(stats_value(stats).is_object(), "{}", file.display());
                }
            }
            let is_sidecar = file.to_str().unwrap().contains("/_sidecars/");
            let is_part = name.matches('.').count() == 4 && !name.contains('-');
            if !is_sidecar && !is_part {
                assert_eq!(count(&actions, is_protocol), 1, "{}", file.display());
                assert_eq!(count(&actions, is_metadata), 1, "{}", file.display());
            }
        }
        assert!(with_footer_counts > 20, "{with_footer_counts}");
        assert!(with_adds > 40, "{with_adds}");
    }

    #[tokio::test]
    async fn stream_yields_batches() {
        let table = "delta-kernel-java/basic-with-checkpoint";
        let location = location(table);
        let path = location
            .log_root()
            .join("00000000000000000010.checkpoint.parquet");
        let batches: Vec<Vec<Action>> = read_checkpoint_parquet_stream(&location, &path, None)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert!(!batches.is_empty());
        let all: Vec<Action> = batches.into_iter().flatten().collect();
        assert_eq!(
            all,
            read_checkpoint_parquet(&location, &path, None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn missing_file_is_not_found() {
        let location = location("delta-kernel-java/basic-with-checkpoint");
        let path = location
            .log_root()
            .join("00000000000000000099.checkpoint.parquet");
        let err = read_checkpoint_parquet(&location, &path, None)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let err = read_checkpoint_parquet(&location, &path, Some(1234))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(
            err.to_string()
                .contains("00000000000000000099.checkpoint.parquet"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn not_a_parquet_file_is_a_parquet_error() {
        let location = location("delta-kernel-java/basic-with-checkpoint");
        let path = location.log_root().join("00000000000000000000.json");
        let err = read_checkpoint_parquet(&location, &path, None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Parquet { .. }), "{err}");
        assert!(
            err.to_string().contains("00000000000000000000.json"),
            "{err}"
        );
    }

    fn collect_checkpoints(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect_checkpoints(&path, out);
            } else {
                let name = path.file_name().unwrap().to_str().unwrap();
                if name.contains(".checkpoint.") && name.ends_with(".parquet") {
                    out.push(path);
                }
            }
        }
    }

    fn read_batches(file: &std::path::Path) -> Vec<RecordBatch> {
        let reader = std::fs::File::open(file).unwrap();
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)
            .unwrap()
            .build()
            .unwrap()
            .collect::<std::result::Result<Vec<_>, _>>()
            .unwrap()
    }

    /// `add` rows with a path, from the footer: rows less the nulls of the `add.path` leaf.
    fn footer_add_count(file: &std::path::Path) -> Option<usize> {
        let reader = std::fs::File::open(file).unwrap();
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(reader).unwrap();
        use parquet::file::reader::FileReader;
        let metadata = reader.metadata();
        let schema = metadata.file_metadata().schema_descr();
        let leaf = (0..schema.num_columns()).find(|&i| {
            let column = schema.column(i);
            let parts = column.path().parts();
            parts.len() == 2 && parts[0] == "add" && parts[1] == "path"
        });
        let Some(leaf) = leaf else {
            return Some(0);
        };
        let mut total = 0;
        for rg in metadata.row_groups() {
            let nulls = rg.column(leaf).statistics()?.null_count_opt()?;
            total += usize::try_from(rg.num_rows()).unwrap() - usize::try_from(nulls).unwrap();
        }
        Some(total)
    }

    fn raw_add_count(file: &std::path::Path) -> usize {
        read_batches(file)
            .iter()
            .filter_map(|b| b.column_by_name("add"))
            .map(|add| {
                let add = add.as_struct();
                match add.column_by_name("path") {
                    Some(path) => (0..add.len())
                        .filter(|&i| add.is_valid(i) && path.is_valid(i))
                        .count(),
                    None => 0,
                }
            })
            .sum()
    }

    /// The batch with one child of the `add` struct removed.
    fn drop_add_child(batch: &RecordBatch, child: &str) -> RecordBatch {
        let schema = batch.schema();
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            if field.name() == "add" {
                let add = column.as_struct();
                let (sub_fields, sub_columns): (Vec<_>, Vec<_>) = add
                    .fields()
                    .iter()
                    .zip(add.columns())
                    .filter(|(f, _)| f.name() != child)
                    .map(|(f, c)| (Arc::clone(f), Arc::clone(c)))
                    .unzip();
                let new_add =
                    StructArray::new(Fields::from(sub_fields), sub_columns, add.nulls().cloned());
                fields.push(Arc::new(Field::new(
                    "add",
                    new_add.data_type().clone(),
                    true,
                )));
                columns.push(Arc::new(new_add) as ArrayRef);
            } else {
                fields.push(Arc::clone(field));
                columns.push(Arc::clone(column));
            }
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    // ----- batches built in the test ---------------------------------------------------------

    fn struct_array(fields: Vec<(&str, ArrayRef)>, nulls: Option<Vec<bool>>) -> ArrayRef {
        let (fields, columns): (Vec<_>, Vec<_>) = fields
            .into_iter()
            .map(|(name, array)| {
                (
                    Arc::new(Field::new(name, array.data_type().clone(), true)),
                    array,
                )
            })
            .unzip();
        Arc::new(StructArray::new(
            Fields::from(fields),
            columns,
            nulls.map(NullBuffer::from),
        ))
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// Map rows: `None` is a null map, else its entries.
    type MapRows<'a> = [Option<&'a [(&'a str, Option<&'a str>)]>];

    fn string_map(rows: &MapRows<'_>) -> ArrayRef {
        let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for row in rows {
            match row {
                Some(entries) => {
                    for (k, v) in *entries {
                        builder.keys().append_value(k);
                        builder.values().append_option(*v);
                    }
                    builder.append(true).unwrap();
                }
                None => builder.append(false).unwrap(),
            }
        }
        Arc::new(builder.finish())
    }

    #[test]
    fn stats_parsed_struct_becomes_json_stats() {
        let ts = TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None])
            .with_timezone("UTC");
        let min_values = struct_array(
            vec![
                ("a", Arc::new(Int32Array::from(vec![Some(-3), Some(7)]))),
                ("s", Arc::new(StringArray::from(vec![Some("x\"y\n"), None]))),
                ("ts", Arc::new(ts)),
                (
                    "d",
                    Arc::new(Date32Array::from(vec![Some(19_000), Some(0)])),
                ),
                (
                    "dec",
                    Arc::new(
                        Decimal128Array::from(vec![Some(-567_800), Some(1)])
                            .with_precision_and_scale(8, 5)
                            .unwrap(),
                    ),
                ),
                (
                    "nested",
                    struct_array(
                        vec![(
                            "f",
                            Arc::new(Float64Array::from(vec![Some(1.25), Some(f64::NAN)])),
                        )],
                        None,
                    ),
                ),
            ],
            None,
        );
        let null_count = struct_array(
            vec![("a", Arc::new(Int64Array::from(vec![Some(0), Some(2)])))],
            None,
        );
        let stats_parsed = struct_array(
            vec![
                (
                    "numRecords",
                    Arc::new(Int64Array::from(vec![Some(10), Some(3)])),
                ),
                ("minValues", min_values),
                ("nullCount", null_count),
                (
                    "tightBounds",
                    Arc::new(BooleanArray::from(vec![Some(true), None])),
                ),
            ],
            Some(vec![true, true]),
        );
        let add = struct_array(
            vec![
                (
                    "path",
                    Arc::new(StringArray::from(vec!["a.parquet", "b.parquet"])),
                ),
                ("size", Arc::new(Int64Array::from(vec![100, 200]))),
                ("partitionValues", string_map(&[Some(&[]), Some(&[])])),
                ("stats_parsed", stats_parsed),
            ],
            None,
        );
        let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
        let stats: Vec<Value> = actions
            .iter()
            .map(|a| match a {
                Action::Add(add) => serde_json::from_str(add.stats.as_deref().unwrap()).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            stats[0],
            json!({
                "numRecords": 10,
                "minValues": {
                    "a": -3,
                    "s": "x\"y\n",
                    "ts": "2023-11-14T22:13:20.123Z",
                    "d": "2022-01-08",
                    "dec": -5.678,
                    "nested": {"f": 1.25}
                },
                "nullCount": {"a": 0},
                "tightBounds": true
            })
        );
        assert_eq!(
            stats[1],
            json!({
                "numRecords": 3,
                "minValues": {"a": 7, "d": "1970-01-01", "dec": 0.00001, "nested": {"f": "NaN"}},
                "nullCount": {"a": 2}
            })
        );
        // The decimal keeps its scale in the text, as Delta writers do.
        let Action::Add(first) = &actions[0] else {
            panic!()
        };
        assert!(first.stats.as_deref().unwrap().contains("\"dec\":-5.67800"));
    }

    #[test]
    fn stats_string_wins_over_stats_parsed() {
        let stats_parsed = struct_array(
            vec![(
                "numRecords",
                Arc::new(Int64Array::from(vec![Some(1), Some(2)])),
            )],
            Some(vec![true, false]),
        );
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec!["a", "b"]))),
                ("size", Arc::new(Int64Array::from(vec![1, 2]))),
                (
                    "stats",
                    Arc::new(StringArray::from(vec![Some("{\"numRecords\":9}"), None])),
                ),
                ("stats_parsed", stats_parsed),
            ],
            None,
        );
        let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
        let stats: Vec<Option<String>> = actions
            .iter()
            .map(|a| match a {
                Action::Add(add) => add.stats.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(stats, vec![Some("{\"numRecords\":9}".to_string()), None]);
    }

    #[test]
    fn every_action_kind_in_row_order_with_tolerant_types() {
        use arrow::array::{LargeStringArray, ListBuilder, StringViewArray};
        let n = 9;
        let only = |row: usize| -> Vec<bool> { (0..n).map(|i| i == row).collect() };
        let strs = |row: usize, value: &str| -> ArrayRef {
            Arc::new(StringArray::from(
                (0..n)
                    .map(|i| (i == row).then_some(value))
                    .collect::<Vec<_>>(),
            ))
        };
        let mut features = ListBuilder::new(StringBuilder::new());
        for i in 0..n {
            if i == 0 {
                features.values().append_value("deletionVectors");
                features.append(true);
            } else {
                features.append(false);
            }
        }
        // protocol versions as int64 (usually int32).
        let protocol = struct_array(
            vec![
                ("minReaderVersion", Arc::new(Int64Array::from(vec![3; n]))),
                ("minWriterVersion", Arc::new(Int64Array::from(vec![7; n]))),
                ("readerFeatures", Arc::new(features.finish())),
            ],
            Some(only(0)),
        );
        // metaData without format, partitionColumns or createdTime.
        let metadata = struct_array(
            vec![
                ("id", strs(1, "abc")),
                (
                    "schemaString",
                    strs(1, "{\"type\":\"struct\",\"fields\":[]}"),
                ),
                (
                    "configuration",
                    string_map(
                        &(0..n)
                            .map(|i| (i == 1).then_some(&[("k", Some("v")), ("gone", None)][..]))
                            .collect::<Vec<_>>(),
                    ),
                ),
            ],
            Some(only(1)),
        );
        // add with LargeUtf8 path, int32 size, no partitionValues, a DV with int64 fields.
        let dv = struct_array(
            vec![
                ("storageType", strs(2, "u")),
                ("pathOrInlineDv", strs(2, "ab^-aqEH.-t@S}K{vb[*k^")),
                ("offset", Arc::new(Int64Array::from(vec![Some(1); n]))),
                ("sizeInBytes", Arc::new(Int64Array::from(vec![Some(36); n]))),
                ("cardinality", Arc::new(Int32Array::from(vec![Some(2); n]))),
            ],
            Some(only(2)),
        );
        let add = struct_array(
            vec![
                (
                    "path",
                    Arc::new(LargeStringArray::from(
                        (0..n)
                            .map(|i| (i == 2).then_some("x=1/f.parquet"))
                            .collect::<Vec<_>>(),
                    )),
                ),
                ("size", Arc::new(Int32Array::from(vec![Some(42); n]))),
                ("deletionVector", dv),
                ("baseRowId", Arc::new(Int32Array::from(vec![Some(5); n]))),
            ],
            Some(only(2)),
        );
        // remove with Utf8View path.
        let remove = struct_array(
            vec![
                (
                    "path",
                    Arc::new(StringViewArray::from(
                        (0..n)
                            .map(|i| (i == 3).then_some("old.parquet"))
                            .collect::<Vec<_>>(),
                    )),
                ),
                (
                    "deletionTimestamp",
                    Arc::new(Int64Array::from(vec![Some(77); n])),
                ),
                (
                    "dataChange",
                    Arc::new(BooleanArray::from(vec![Some(false); n])),
                ),
            ],
            Some(only(3)),
        );
        let txn = struct_array(
            vec![
                ("appId", strs(4, "app")),
                ("version", Arc::new(Int32Array::from(vec![Some(12); n]))),
            ],
            Some(only(4)),
        );
        let domain = struct_array(
            vec![
                ("domain", strs(5, "delta.clustering")),
                ("configuration", strs(5, "{}")),
                (
                    "removed",
                    Arc::new(BooleanArray::from(vec![Some(false); n])),
                ),
            ],
            Some(only(5)),
        );
        let checkpoint_metadata = struct_array(
            vec![("version", Arc::new(Int64Array::from(vec![Some(8); n])))],
            Some(only(6)),
        );
        let sidecar = struct_array(
            vec![
                ("path", strs(7, "side.parquet")),
                (
                    "sizeInBytes",
                    Arc::new(Int64Array::from(vec![Some(1000); n])),
                ),
                (
                    "modificationTime",
                    Arc::new(Int64Array::from(vec![Some(5); n])),
                ),
            ],
            Some(only(7)),
        );
        let commit_info = struct_array(
            vec![
                (
                    "timestamp",
                    Arc::new(arrow::array::TimestampNanosecondArray::from(vec![
                        Some(
                            1_600_000_000_123_000_000
                        );
                        n
                    ])),
                ),
                ("operation", strs(8, "WRITE")),
            ],
            Some(only(8)),
        );
        let batch = batch(vec![
            ("protocol", protocol),
            ("metaData", metadata),
            ("add", add),
            ("remove", remove),
            ("txn", txn),
            ("domainMetadata", domain),
            ("checkpointMetadata", checkpoint_metadata),
            ("sidecar", sidecar),
            ("commitInfo", commit_info),
            ("unknown", Arc::new(BooleanArray::from(vec![true; n]))),
        ]);
        let actions = actions_from_batch(&batch, "test").unwrap();
        assert_eq!(actions.len(), n);
        assert_eq!(
            actions[0],
            Action::Protocol(Protocol {
                min_reader_version: 3,
                min_writer_version: 7,
                reader_features: Some(vec!["deletionVectors".to_string()]),
                writer_features: None,
            })
        );
        let Action::Metadata(metadata) = &actions[1] else {
            panic!("{:?}", actions[1])
        };
        assert_eq!(metadata.id, "abc");
        assert_eq!(metadata.format, Format::default());
        assert!(metadata.partition_columns.is_empty());
        assert_eq!(
            metadata.configuration,
            HashMap::from([("k".to_string(), "v".to_string())])
        );
        let Action::Add(add) = &actions[2] else {
            panic!("{:?}", actions[2])
        };
        assert_eq!(add.path, "x=1/f.parquet");
        assert_eq!(add.size, 42);
        assert!(add.partition_values.is_empty());
        assert_eq!(add.modification_time, 0);
        assert!(add.data_change);
        assert_eq!(add.stats, None);
        assert_eq!(add.base_row_id, Some(5));
        assert_eq!(
            add.deletion_vector,
            Some(DeletionVectorDescriptor {
                storage_type: "u".to_string(),
                path_or_inline_dv: "ab^-aqEH.-t@S}K{vb[*k^".to_string(),
                offset: Some(1),
                size_in_bytes: 36,
                cardinality: 2,
            })
        );
        let Action::Remove(remove) = &actions[3] else {
            panic!("{:?}", actions[3])
        };
        assert_eq!(remove.path, "old.parquet");
        assert_eq!(remove.deletion_timestamp, Some(77));
        assert!(!remove.data_change);
        assert_eq!(remove.partition_values, None);
        assert_eq!(
            actions[4],
            Action::Txn(Txn {
                app_id: "app".to_string(),
                version: 12,
                last_updated: None
            })
        );
        assert_eq!(
            actions[5],
            Action::DomainMetadata(DomainMetadata {
                domain: "delta.clustering".to_string(),
                configuration: "{}".to_string(),
                removed: false
            })
        );
        assert_eq!(
            actions[6],
            Action::CheckpointMetadata(CheckpointMetadata {
                version: 8,
                tags: None
            })
        );
        assert_eq!(
            actions[7],
            Action::Sidecar(Sidecar {
                path: "side.parquet".to_string(),
                size_in_bytes: 1000,
                modification_time: 5,
                tags: None
            })
        );
        let Action::CommitInfo(info) = &actions[8] else {
            panic!("{:?}", actions[8])
        };
        assert_eq!(info.timestamp(), Some(1_600_000_000_123));
        assert_eq!(info.operation(), Some("WRITE"));
    }

    #[test]
    fn partition_values_come_from_parsed_struct_when_the_map_is_absent() {
        let parsed = struct_array(
            vec![
                ("d", Arc::new(Date32Array::from(vec![Some(19_000), None]))),
                ("n", Arc::new(Int32Array::from(vec![Some(-4), Some(5)]))),
                (
                    "s",
                    Arc::new(StringArray::from(vec![Some("a b"), Some("")])),
                ),
                (
                    "t",
                    Arc::new(TimestampMicrosecondArray::from(vec![Some(1_000_001), None])),
                ),
            ],
            None,
        );
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec!["a", "b"]))),
                ("size", Arc::new(Int64Array::from(vec![1, 2]))),
                ("partitionValues_parsed", parsed),
            ],
            None,
        );
        let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
        let values: Vec<&PartitionValues> = actions
            .iter()
            .map(|a| match a {
                Action::Add(add) => &add.partition_values,
                other => panic!("{other:?}"),
            })
            .collect();
        let expected = |pairs: &[(&str, Option<&str>)]| -> PartitionValues {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect()
        };
        assert_eq!(
            *values[0],
            expected(&[
                ("d", Some("2022-01-08")),
                ("n", Some("-4")),
                ("s", Some("a b")),
                ("t", Some("1970-01-01 00:00:01.000001")),
            ])
        );
        assert_eq!(
            *values[1],
            expected(&[("d", None), ("n", Some("5")), ("s", Some("")), ("t", None)])
        );
    }

    #[test]
    fn partition_values_map_wins_over_parsed_struct() {
        let parsed = struct_array(vec![("p", Arc::new(Int32Array::from(vec![Some(1)])))], None);
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec!["a"]))),
                ("size", Arc::new(Int64Array::from(vec![1]))),
                ("partitionValues", string_map(&[Some(&[("p", Some("01"))])])),
                ("partitionValues_parsed", parsed),
            ],
            None,
        );
        let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
        let Action::Add(add) = &actions[0] else {
            panic!()
        };
        assert_eq!(add.partition_values["p"].as_deref(), Some("01"));
    }

    #[test]
    fn missing_required_field_is_a_clear_error() {
        // add is non-null in row 1 but its path is null.
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec![Some("a"), None]))),
                ("size", Arc::new(Int64Array::from(vec![1, 2]))),
            ],
            Some(vec![true, true]),
        );
        let err =
            actions_from_batch(&batch(vec![("add", add)]), "00.checkpoint.parquet").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("00.checkpoint.parquet"), "{message}");
        assert!(message.contains("row 1"), "{message}");
        assert!(message.contains("add.path"), "{message}");

        // The column is missing altogether.
        let add = struct_array(
            vec![("path", Arc::new(StringArray::from(vec!["a"])) as ArrayRef)],
            None,
        );
        let err = actions_from_batch(&batch(vec![("add", add)]), "f").unwrap_err();
        assert!(err.to_string().contains("add.size"), "{err}");

        // A null row needs nothing.
        let add = struct_array(
            vec![(
                "path",
                Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef,
            )],
            Some(vec![false]),
        );
        assert!(
            actions_from_batch(&batch(vec![("add", add)]), "f")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn empty_deletion_vector_struct_is_no_deletion_vector() {
        let n = 3;
        let dv = struct_array(
            vec![
                (
                    "storageType",
                    Arc::new(StringArray::from(vec![Some(""), None, Some("u")])),
                ),
                (
                    "pathOrInlineDv",
                    Arc::new(StringArray::from(vec![Some(""), None, None])),
                ),
                (
                    "sizeInBytes",
                    Arc::new(Int32Array::from(vec![Some(0), None, Some(1)])),
                ),
                (
                    "cardinality",
                    Arc::new(Int64Array::from(vec![Some(0), None, Some(1)])),
                ),
            ],
            Some(vec![true; n]),
        );
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
                ("size", Arc::new(Int64Array::from(vec![1; n]))),
                ("deletionVector", dv),
            ],
            Some(vec![true, true, false]),
        );
        let actions = actions_from_batch(&batch(vec![("add", add.clone())]), "f").unwrap();
        assert_eq!(actions.len(), 2);
        for action in &actions {
            let Action::Add(add) = action else {
                panic!("{action:?}")
            };
            assert_eq!(add.deletion_vector, None);
        }
        // A real storage type without its path is an error.
        let add = add.as_struct();
        let all_valid = StructArray::new(add.fields().clone(), add.columns().to_vec(), None);
        let err = actions_from_batch(&batch(vec![("add", Arc::new(all_valid))]), "f").unwrap_err();
        assert!(
            err.to_string()
                .contains("add.deletionVector.pathOrInlineDv"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_are_clear_errors() {
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
                ("size", Arc::new(StringArray::from(vec!["12"]))),
            ],
            None,
        );
        let err = actions_from_batch(&batch(vec![("add", add)]), "f").unwrap_err();
        assert!(err.to_string().contains("'add.size'"), "{err}");
        let err = actions_from_batch(
            &batch(vec![(
                "protocol",
                Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            )]),
            "f",
        )
        .unwrap_err();
        assert!(err.to_string().contains("'protocol'"), "{err}");
        // A version too big for the protocol's 32-bit field.
        let protocol = struct_array(
            vec![
                (
                    "minReaderVersion",
                    Arc::new(Int64Array::from(vec![1i64 << 40])),
                ),
                ("minWriterVersion", Arc::new(Int64Array::from(vec![2]))),
            ],
            None,
        );
        let err = actions_from_batch(&batch(vec![("protocol", protocol)]), "f").unwrap_err();
        assert!(err.to_string().contains("minReaderVersion"), "{err}");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\u{1}\té");
        assert_eq!(out, "\"a\\\"b\\\\c\\u0001\\té\"");
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\u{1}\té");
    }

    /// A million `add` rows with partition values and stats; run with
    /// `cargo test --release -p tidemark-core --lib checkpoint_read -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing; run in release"]
    fn million_adds_convert_quickly() {
        let n = 1_000_000;
        let paths: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "part=p{}/part-{i:05}-0b7c7a1c-3e12-4e4b-9f4e-5a9b1c2d3e4f.c000.snappy.parquet",
                    i % 100
                )
            })
            .collect();
        let stats: Vec<String> = (0..n)
            .map(|i| format!("{{\"numRecords\":{i},\"minValues\":{{\"id\":{i}}},\"maxValues\":{{\"id\":{}}},\"nullCount\":{{\"id\":0}}}}", i + 10))
            .collect();
        let mut partition = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for i in 0..n {
            partition.keys().append_value("part");
            partition.values().append_value(format!("p{}", i % 100));
            partition.append(true).unwrap();
        }
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(paths))),
                ("partitionValues", Arc::new(partition.finish())),
                ("size", Arc::new(Int64Array::from(vec![1234; n]))),
                (
                    "modificationTime",
                    Arc::new(Int64Array::from(vec![1_700_000_000_000; n])),
                ),
                ("dataChange", Arc::new(BooleanArray::from(vec![false; n]))),
                ("stats", Arc::new(StringArray::from(stats))),
            ],
            None,
        );
        let with_stats = batch(vec![("add", add)]);

        // The same with stats_parsed only.
        let stats_parsed = struct_array(
            vec![
                (
                    "numRecords",
                    Arc::new(Int64Array::from_iter_values(0..n as i64)),
                ),
                (
                    "minValues",
                    struct_array(
                        vec![
                            ("id", Arc::new(Int64Array::from_iter_values(0..n as i64))),
                            ("name", Arc::new(StringArray::from(vec!["alice"; n]))),
                        ],
                        None,
                    ),
                ),
                (
                    "nullCount",
                    struct_array(
                        vec![
                            ("id", Arc::new(Int64Array::from(vec![0; n]))),
                            ("name", Arc::new(Int64Array::from(vec![0; n]))),
                        ],
                        None,
                    ),
                ),
            ],
            None,
        );
        let add = struct_array(
            vec![
                ("path", Arc::new(StringArray::from(vec!["p.parquet"; n]))),
                ("size", Arc::new(Int64Array::from(vec![1234; n]))),
                ("stats_parsed", stats_parsed),
            ],
            None,
        );
        let with_stats_parsed = batch(vec![("add", add)]);

        let dir = tempfile::tempdir().unwrap();
        let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for (label, batch) in [("stats", with_stats), ("stats_parsed", with_stats_parsed)] {
            let start = std::time::Instant::now();
            let mut total = 0;
            for offset in (0..n).step_by(BATCH_SIZE) {
                let len = BATCH_SIZE.min(n - offset);
                total += actions_from_batch(&batch.slice(offset, len), "bench")
                    .unwrap()
                    .len();
            }
            println!("{label}: {total} adds converted in {:?}", start.elapsed());
            assert_eq!(total, n);

            // Through a Parquet file: write the batch, read it back.
            let name = format!("{label}.checkpoint.parquet");
            let file = std::fs::File::create(dir.path().join(&name)).unwrap();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
            let path = location.root().clone().join(name.as_str());
            let start = std::time::Instant::now();
            let actions = runtime
                .block_on(read_checkpoint_parquet(&location, &path, None))
                .unwrap();
            println!(
                "{label}: {} adds read from Parquet in {:?}",
                actions.len(),
                start.elapsed()
            );
            assert_eq!(actions.len(), n);
        }
    }
}
