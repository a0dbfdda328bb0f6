//! Writing data files: Arrow record batches in, Parquet files with statistics out, one `add`
//! action per file.
//!
//! Rows are split by their partition values into Hive-style directories
//! (`region=EU/part-00000-<uuid>-c000.snappy.parquet`, with the protocol's escaping and the Hive
//! default partition for nulls); partition columns are not stored in the files. A file is
//! closed and a new one started when it reaches the target size. Files stream to the object
//! store as they are written, so memory holds at most one row group per open partition.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{
    Array, ArrayRef, AsArray, LargeListArray, ListArray, MapArray, RecordBatch, StructArray,
    UInt32Array,
};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType as ArrowType, Schema, SchemaRef};
use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::actions::{Add, PartitionValues};
use crate::error::{Error, Result};
use crate::partition::{partition_directory, serialize_partition_value};
use crate::schema::{ColumnMappingMode, StructType};
use crate::stats_collector::StatsCollector;
use crate::storage::TableLocation;

/// Default target size of a data file: 128 MiB.
pub const DEFAULT_TARGET_FILE_SIZE: usize = 128 * 1024 * 1024;
/// Default maximum rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1024 * 1024;

/// Compression codecs for data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileCompression {
    /// Snappy (the default, as Spark writes).
    #[default]
    Snappy,
    /// Zstandard at the given level (1 to 22).
    Zstd(i32),
    /// No compression.
    Uncompressed,
}

impl FileCompression {
    fn to_parquet(self) -> Result<Compression> {
        Ok(match self {
            Self::Snappy => Compression::SNAPPY,
            Self::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level).map_err(|e| {
                Error::InvalidArgument(format!("invalid zstd level {level}: {e}; use 1 to 22"))
            })?),
            Self::Uncompressed => Compression::UNCOMPRESSED,
        })
    }

    fn file_suffix(self) -> &'static str {
        match self {
            Self::Snappy => "snappy.parquet",
            Self::Zstd(_) => "zstd.parquet",
            Self::Uncompressed => "parquet",
        }
    }
}

/// How data files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOptions {
    /// A file is closed once it reaches about this many bytes.
    pub target_file_size: usize,
    /// At most this many rows per row group.
    pub row_group_rows: usize,
    /// The compression codec.
    pub compression: FileCompression,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self {
            target_file_size: DEFAULT_TARGET_FILE_SIZE,
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            compression: FileCompression::default(),
        }
    }
}

/// Writes batches of a table's logical schema into data files.
pub struct DataWriter {
    location: TableLocation,
    options: FileOptions,
    properties: WriterProperties,
    max_indexed_cols: Option<usize>,
    /// Physical Arrow schema of the data files (no partition columns).
    file_schema: SchemaRef,
    /// Indices in the logical batch of the columns stored in files.
    data_columns: Vec<usize>,
    /// Indices in the logical batch of the partition columns, and their physical names.
    partition_columns: Vec<(usize, String)>,
    open: HashMap<Vec<Option<String>>, OpenFile>,
    finished: Vec<Add>,
    file_counter: usize,
}

impl std::fmt::Debug for DataWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataWriter")
            .field("location", &self.location.url().as_str())
            .field("open_files", &self.open.len())
            .field("finished_files", &self.finished.len())
            .finish()
    }
}

struct OpenFile {
    writer: AsyncArrowWriter<CountingWriter>,
    bytes: Arc<AtomicU64>,
    log_path: String,
    partition_values: PartitionValues,
    stats: StatsCollector,
}

impl DataWriter {
    /// A writer for a table with this schema, partitioning and column mapping.
    ///
    /// `max_indexed_cols` is how many leaf columns get statistics (`None`: all).
    pub fn new(
        location: TableLocation,
        schema: &StructType,
        partition_columns: &[String],
        mode: ColumnMappingMode,
        max_indexed_cols: Option<usize>,
        options: FileOptions,
    ) -> Result<Self> {
        let physical = schema.to_physical_arrow(mode)?;
        let mut data_columns = Vec::new();
        let mut partitions = Vec::new();
        for name in partition_columns {
            let index = schema
                .fields
                .iter()
                .position(|f| &f.name == name)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "partition column '{name}' is not in the table schema"
                    ))
                })?;
            partitions.push((index, physical.field(index).name().clone()));
        }
        for (index, field) in schema.fields.iter().enumerate() {
            if !partition_columns.contains(&field.name) {
                data_columns.push(index);
            }
        }
        let file_schema = Arc::new(Schema::new(
            data_columns
                .iter()
                .map(|&i| physical.fields()[i].clone())
                .collect::<Vec<_>>(),
        ));
        let properties = WriterProperties::builder()
            .set_compression(options.compression.to_parquet()?)
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_created_by(format!("tidemark {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            location,
            options,
            properties,
            max_indexed_cols,
            file_schema,
            data_columns,
            partition_columns: partitions,
            open: HashMap::new(),
            finished: Vec::new(),
            file_counter: 0,
        })
    }

    /// Writes one batch, which must have the table's logical Arrow schema.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.partition_columns.is_empty() {
            return self.write_to_partition(Vec::new(), batch).await;
        }
        let mut groups: HashMap<Vec<Option<String>>, Vec<u32>> = HashMap::new();
        let arrays: Vec<&ArrayRef> = self
            .partition_columns
            .iter()
            .map(|(i, _)| batch.column(*i))
            .collect();
        for row in 0..batch.num_rows() {
            let key = arrays
                .iter()
                .map(|array| serialize_partition_value(array.as_ref(), row))
                .collect::<Result<Vec<_>>>()?;
            groups.entry(key).or_default().push(row as u32);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, rows) in groups {
            let part = if rows.len() == batch.num_rows() {
                batch.clone()
            } else {
                take_record_batch(batch, &UInt32Array::from(rows))
                    .map_err(|e| Error::arrow("splitting a batch by partition", e))?
            };
            self.write_to_partition(key, &part).await?;
        }
        Ok(())
    }

    async fn write_to_partition(
        &mut self,
        key: Vec<Option<String>>,
        batch: &RecordBatch,
    ) -> Result<()> {
        let data = self.file_batch(batch)?;
        if !self.open.contains_key(&key) {
            let file = self.open_file(&key)?;
            self.open.insert(key.clone(), file);
        }
        let target = self.options.target_file_size;
        let Some(file) = self.open.get_mut(&key) else {
            return Err(Error::InvalidArgument(
                "internal: partition writer vanished".into(),
            ));
        };
        file.stats.update(&data)?;
        file.writer
            .write(&data)
            .await
            .map_err(|e| Error::parquet(format!("writing data file '{}'", file.log_path), e))?;
        let size = file.writer.bytes_written() + file.writer.in_progress_size();
        if size >= target
            && let Some(file) = self.open.remove(&key)
        {
            let add = finish_file(file).await?;
            self.finished.push(add);
        }
        Ok(())
    }

    /// The columns stored in files, under their physical names and types.
    fn file_batch(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let columns = self
            .data_columns
            .iter()
            .zip(self.file_schema.fields())
            .map(|(&i, field)| retype(batch.column(i), field.data_type()))
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(self.file_schema.clone(), columns)
            .map_err(|e| Error::arrow("preparing rows for a data file", e))
    }

    fn open_file(&mut self, key: &[Option<String>]) -> Result<OpenFile> {
        let directory = partition_directory(
            &self
                .partition_columns
                .iter()
                .zip(key)
                .map(|((_, name), value)| (name.as_str(), value.as_deref()))
                .collect::<Vec<_>>(),
        );
        let name = format!(
            "part-{:05}-{}-c000.{}",
            self.file_counter,
            uuid::Uuid::new_v4(),
            self.options.compression.file_suffix()
        );
        self.file_counter += 1;
        let log_path = encode_log_path(&format!("{directory}{name}"));
        let object_path = self.location.resolve(&log_path)?;
        let bytes = Arc::new(AtomicU64::new(0));
        let sink = CountingWriter {
            inner: BufWriter::new(self.location.store().clone(), object_path),
            bytes: bytes.clone(),
        };
        let writer = AsyncArrowWriter::try_new(
            sink,
            self.file_schema.clone(),
            Some(self.properties.clone()),
        )
        .map_err(|e| Error::parquet(format!("starting data file '{log_path}'"), e))?;
        let partition_values = self
            .partition_columns
            .iter()
            .zip(key)
            .map(|((_, name), value)| (name.clone(), value.clone()))
            .collect();
        Ok(OpenFile {
            writer,
            bytes,
            log_path,
            partition_values,
            stats: StatsCollector::new(&self.file_schema, self.max_indexed_cols),
        })
    }

    /// Closes every open file and returns the `add` actions of all files written.
    pub async fn finish(mut self) -> Result<Vec<Add>> {
        let mut open: Vec<_> = self.open.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, file) in open {
            let add = finish_file(file).await?;
            self.finished.push(add);
            crate::test_hooks::pause_point("data-file-written").await;
        }
        Ok(self.finished)
    }
}

async fn finish_file(file: OpenFile) -> Result<Add> {
    let OpenFile {
        writer,
        bytes,
        log_path,
        partition_values,
        stats,
    } = file;
    writer
        .close()
        .await
        .map_err(|e| Error::parquet(format!("finishing data file '{log_path}'"), e))?;
    Ok(Add {
        path: log_path,
        partition_values,
        size: i64::try_from(bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: true,
        stats: Some(stats.to_json()?),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    })
}

/// Passes bytes to the object store and counts them, to know the file size without asking.
pub(crate) struct CountingWriter {
    pub(crate) inner: BufWriter,
    pub(crate) bytes: Arc<AtomicU64>,
}

impl AsyncFileWriter for CountingWriter {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        self.bytes.fetch_add(bs.len() as u64, Ordering::Relaxed);
        self.inner.write(bs)
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        self.inner.complete()
    }
}

/// Percent-encodes a relative path for `add.path`, which the protocol reads as a URI path:
/// characters that are not allowed there (`%`, space, `#`, `?`, quotes, brackets, control
/// characters and a few others) become `%XX`; `/` and non-ASCII characters stay.
///
/// ```
/// use tidemark_core::data_writer::encode_log_path;
/// assert_eq!(encode_log_path("a=x%3Ay/b c.parquet"), "a=x%253Ay/b%20c.parquet");
/// ```
pub fn encode_log_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        let escape = c.is_ascii_control()
            || matches!(
                c,
                '%' | ' '
                    | '"'
                    | '#'
                    | '<'
                    | '>'
                    | '?'
                    | '['
                    | ']'
                    | '\\'
                    | '^'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
            );
        if escape {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Gives an array the field names of `target` (a type equal but for nested field names and
/// metadata, as between logical and physical schemas).
pub(crate) fn retype(array: &ArrayRef, target: &ArrowType) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    let mismatch = || {
        Error::InvalidArgument(format!(
            "internal: cannot give an array of type {} the type {target}",
            array.data_type()
        ))
    };
    Ok(match target {
        ArrowType::Struct(fields) => {
            let structs: &StructArray = array.as_struct_opt().ok_or_else(mismatch)?;
            let children = structs
                .columns()
                .iter()
                .zip(fields)
                .map(|(child, field)| retype(child, field.data_type()))
                .collect::<Result<Vec<_>>>()?;
            Arc::new(
                StructArray::try_new(fields.clone(), children, structs.nulls().cloned())
                    .map_err(|e| Error::arrow("renaming struct fields", e))?,
            )
        }
        ArrowType::List(field) => {
            let list: &ListArray = array.as_list_opt().ok_or_else(mismatch)?;
            Arc::new(
                ListArray::try_new(
                    field.clone(),
                    list.offsets().clone(),
                    retype(list.values(), field.data_type())?,
                    list.nulls().cloned(),
                )
                .map_err(|e| Error::arrow("renaming list fields", e))?,
            )
        }
        ArrowType::LargeList(field) => {
            let list: &LargeListArray = array.as_list_opt().ok_or_else(mismatch)?;
            Arc::new(
                LargeListArray::try_new(
                    field.clone(),
                    list.offsets().clone(),
                    retype(list.values(), field.data_type())?,
                    list.nulls().cloned(),
                )
                .map_err(|e| Error::arrow("renaming list fields", e))?,
            )
        }
        ArrowType::Map(field, ordered) => {
            let map: &MapArray = array.as_map_opt().ok_or_else(mismatch)?;
            let entries: ArrayRef = Arc::new(map.entries().clone());
            let entries = retype(&entries, field.data_type())?;
            let entries = entries.as_struct_opt().ok_or_else(mismatch)?.clone();
            Arc::new(
                MapArray::try_new(
                    field.clone(),
                    map.offsets().clone(),
                    entries,
                    map.nulls().cloned(),
                    *ordered,
                )
                .map_err(|e| Error::arrow("renaming map fields", e))?,
            )
        }
        _ => return Err(mismatch()),
    })
}
