//! Writing data files: Arrow record batches in, Parquet files with statistics out, one `add`
//! action per file.
//!
//! Rows are split by their partition values into Hive-style directories
//! (`region=EU/part-00000-<uuid>-c000.snappy.parquet`, with the protocol's escaping and the Hive
//! default partition for nulls); partition columns are not stored in the files. A file is
//! closed and a new one started when it reaches the target size.
//!
//! Encoding is parallel: the rows of a partition are gathered into row groups (zero-copy
//! slices of the input), and each full row group is encoded on a blocking thread while the
//! next one is gathered, up to one row group in flight per CPU (at least two). Encoded row
//! groups are appended to their file in input order, so the files are the same as a serial
//! writer's, and stream to the object store as they are appended. Memory holds at most the
//! gathering row group of each partition plus the ones in flight.
//!
//! File statistics come from the Parquet writer's column chunk statistics where those are
//! exact, and are computed from the rows where not (see
//! [`StatsCollector::update_row_group`]).

use std::collections::{HashMap, VecDeque};
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
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowRowGroupWriterFactory, ArrowWriterOptions, compute_leaves,
};
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::log::actions::{Add, PartitionValues};
use crate::partition::values::{partition_directory, serialize_partition_value};
use crate::schema::{ColumnMappingMode, StructType};
use crate::storage::TableLocation;
use crate::transaction::stats_collector::StatsCollector;

/// Default target size of a data file: 128 MiB.
pub const DEFAULT_TARGET_FILE_SIZE: usize = 128 * 1024 * 1024;
/// Default maximum rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1024 * 1024;
/// A row group is also cut once its rows take this much Arrow memory (wide rows), to bound
/// the memory that gathering rows for parallel encoding holds.
const MAX_ROW_GROUP_ARROW_BYTES: usize = 256 * 1024 * 1024;
/// When the rows gathered across all partitions take more than this, the largest partition's
/// row group is cut short and encoded (writes to very many partitions at once).
const MAX_GATHERED_ARROW_BYTES: usize = 1024 * 1024 * 1024;

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
    /// A file is closed once it reaches about this many bytes (checked after each batch
    /// written, with the encoded size of rows still being encoded estimated from the rows
    /// encoded so far).
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
    /// Physical Arrow schema of the data files (no partition columns).
    file_schema: SchemaRef,
    /// Indices in the logical batch of the columns stored in files.
    data_columns: Vec<usize>,
    /// Indices in the logical batch of the partition columns, and their physical names.
    partition_columns: Vec<(usize, String)>,
    /// Makes the column writers of a row group (the same for every file).
    factory: Arc<ArrowRowGroupWriterFactory>,
    /// An empty collector for the file schema, linked to its Parquet columns.
    stats_template: StatsCollector,
    partitions: Vec<PartitionState>,
    slots: HashMap<Vec<Option<String>>, usize>,
    /// Row groups being encoded and files to close, in input order.
    queue: VecDeque<Queued>,
    /// How many entries of `queue` are row groups.
    encoding: usize,
    /// At most this many row groups are encoded at once.
    max_encoding: usize,
    /// Arrow bytes of the rows gathered, not yet being encoded, over all partitions.
    gathered_bytes: usize,
    /// Encoded bytes per row of the first row group, once it is appended: the estimate of
    /// file sizes (see [`DataWriter::file_is_full`]).
    first_group_bytes_per_row: Option<f64>,
    /// Whether a row group was started.
    encoded_any: bool,
    /// Arrow bytes and rows seen so far.
    arrow_bytes: u64,
    arrow_rows: u64,
    /// Uploads of closed files completing in the background.
    uploads: Vec<JoinHandle<Result<()>>>,
    finished: Vec<Add>,
    file_counter: usize,
}

impl std::fmt::Debug for DataWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataWriter")
            .field("location", &self.location.url().as_str())
            .field("partitions", &self.partitions.len())
            .field("encoding", &self.encoding)
            .field("finished_files", &self.finished.len())
            .finish()
    }
}

/// The rows of one partition on their way to files.
struct PartitionState {
    key: Vec<Option<String>>,
    /// The row group being gathered.
    batches: Vec<RecordBatch>,
    rows: usize,
    arrow_bytes: usize,
    /// Rows of the file being filled (gathered, encoding or appended).
    file_rows: u64,
    /// The file row groups are appended to.
    file: Option<OpenFile>,
}

enum Queued {
    RowGroup {
        slot: usize,
        task: JoinHandle<Result<EncodedRowGroup>>,
    },
    /// The partition's file is complete once the row groups queued before are appended.
    CloseFile { slot: usize },
}

struct EncodedRowGroup {
    chunks: Vec<ArrowColumnChunk>,
    stats: StatsCollector,
}

struct OpenFile {
    writer: SerializedFileWriter<Vec<u8>>,
    upload: BufWriter,
    bytes: u64,
    log_path: String,
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
        let (template, _) = file_writer(Vec::new(), &file_schema, &properties)?;
        let factory = ArrowRowGroupWriterFactory::new(&template, file_schema.clone());
        let mut stats_template = StatsCollector::new(&file_schema, max_indexed_cols);
        stats_template.link_parquet(template.schema_descr());
        let max_encoding = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        Ok(Self {
            location,
            options,
            properties,
            file_schema,
            data_columns,
            partition_columns: partitions,
            factory: Arc::new(factory),
            stats_template,
            partitions: Vec::new(),
            slots: HashMap::new(),
            queue: VecDeque::new(),
            encoding: 0,
            max_encoding,
            gathered_bytes: 0,
            first_group_bytes_per_row: None,
            encoded_any: false,
            arrow_bytes: 0,
            arrow_rows: 0,
            uploads: Vec::new(),
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
            let slot = self.slot(Vec::new());
            return self.write_to_partition(slot, batch).await;
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
            let slot = self.slot(key);
            self.write_to_partition(slot, &part).await?;
        }
        Ok(())
    }

    fn slot(&mut self, key: Vec<Option<String>>) -> usize {
        if let Some(&slot) = self.slots.get(&key) {
            return slot;
        }
        let slot = self.partitions.len();
        self.partitions.push(PartitionState {
            key: key.clone(),
            batches: Vec::new(),
            rows: 0,
            arrow_bytes: 0,
            file_rows: 0,
            file: None,
        });
        self.slots.insert(key, slot);
        slot
    }

    async fn write_to_partition(&mut self, slot: usize, batch: &RecordBatch) -> Result<()> {
        let data = self.file_batch(batch)?;
        let rows = data.num_rows();
        let bytes = arrow_size(&data);
        self.arrow_bytes += bytes as u64;
        self.arrow_rows += rows as u64;
        let group_rows = self.options.row_group_rows.max(1);
        let mut offset = 0;
        while offset < rows {
            let Some(partition) = self.partitions.get_mut(slot) else {
                return Err(missing_partition());
            };
            let take = (group_rows.saturating_sub(partition.rows)).clamp(1, rows - offset);
            let slice = if take == rows {
                data.clone()
            } else {
                data.slice(offset, take)
            };
            let slice_bytes = bytes / rows * take;
            partition.batches.push(slice);
            partition.rows += take;
            partition.arrow_bytes += slice_bytes;
            partition.file_rows += take as u64;
            self.gathered_bytes += slice_bytes;
            offset += take;
            if partition.rows >= group_rows || partition.arrow_bytes >= MAX_ROW_GROUP_ARROW_BYTES {
                self.encode(slot).await?;
            }
        }
        let file_rows = self.partitions.get(slot).map_or(0, |p| p.file_rows);
        if self.file_is_full(file_rows).await? {
            self.encode(slot).await?;
            self.queue.push_back(Queued::CloseFile { slot });
            if let Some(partition) = self.partitions.get_mut(slot) {
                partition.file_rows = 0;
            }
        }
        while self.gathered_bytes > MAX_GATHERED_ARROW_BYTES {
            let largest = self
                .partitions
                .iter()
                .enumerate()
                .filter(|(_, p)| p.rows > 0)
                .max_by_key(|(_, p)| p.arrow_bytes)
                .map(|(slot, _)| slot);
            match largest {
                Some(slot) => self.encode(slot).await?,
                None => break,
            }
        }
        Ok(())
    }

    /// Whether a file of `rows` rows reaches the target size.
    ///
    /// The decision depends only on the data, never on how far encoding has got, so that the
    /// files are the same however many threads encode: a file's size is estimated as its rows
    /// times the encoded bytes per row of the first row group of the write. That row group is
    /// awaited when the answer could be yes, which is when twice the Arrow size of the rows
    /// reaches the target (encoded rows are rarely larger than their Arrow form; when they
    /// are more than twice as large, a file can end up larger than the target). While no row
    /// group was started yet, the Arrow size itself is the estimate.
    async fn file_is_full(&mut self, rows: u64) -> Result<bool> {
        let target = self.options.target_file_size as f64;
        let arrow_per_row = if self.arrow_rows > 0 {
            self.arrow_bytes as f64 / self.arrow_rows as f64
        } else {
            0.0
        };
        let arrow_size = arrow_per_row * rows as f64;
        if 2.0 * arrow_size < target {
            return Ok(false);
        }
        if !self.encoded_any {
            return Ok(arrow_size >= target);
        }
        while self.first_group_bytes_per_row.is_none() && !self.queue.is_empty() {
            self.append_oldest().await?;
        }
        let per_row = self.first_group_bytes_per_row.unwrap_or(arrow_per_row);
        Ok(per_row * rows as f64 >= target)
    }

    /// Starts encoding the partition's gathered rows as a row group, first appending the
    /// oldest row groups in flight while too many are.
    async fn encode(&mut self, slot: usize) -> Result<()> {
        let Some(partition) = self.partitions.get_mut(slot) else {
            return Err(missing_partition());
        };
        if partition.rows == 0 {
            return Ok(());
        }
        let batches = std::mem::take(&mut partition.batches);
        self.gathered_bytes = self.gathered_bytes.saturating_sub(partition.arrow_bytes);
        partition.rows = 0;
        partition.arrow_bytes = 0;
        while self.encoding >= self.max_encoding {
            self.append_oldest().await?;
        }
        let factory = self.factory.clone();
        let schema = self.file_schema.clone();
        let stats = self.stats_template.clone();
        let task = tokio::task::spawn_blocking(move || {
            encode_row_group(&factory, &schema, &batches, stats)
        });
        self.queue.push_back(Queued::RowGroup { slot, task });
        self.encoding += 1;
        self.encoded_any = true;
        Ok(())
    }

    /// Handles the queue up to and including its oldest row group.
    async fn append_oldest(&mut self) -> Result<()> {
        while let Some(queued) = self.queue.pop_front() {
            match queued {
                Queued::CloseFile { slot } => {
                    if let Some(upload) = self.close_file(slot).await? {
                        self.uploads.push(tokio::spawn(upload));
                    }
                }
                Queued::RowGroup { slot, task } => {
                    self.encoding -= 1;
                    let encoded = task.await.map_err(|e| {
                        Error::parquet("encoding a row group", ParquetError::External(Box::new(e)))
                    })??;
                    return self.append(slot, encoded).await;
                }
            }
        }
        Ok(())
    }

    /// Appends an encoded row group to the partition's file, opening one if needed.
    async fn append(&mut self, slot: usize, encoded: EncodedRowGroup) -> Result<()> {
        if self.partitions.get(slot).is_some_and(|p| p.file.is_none()) {
            let file = self.open_file(slot)?;
            if let Some(partition) = self.partitions.get_mut(slot) {
                partition.file = Some(file);
            }
        }
        let Some(file) = self.partitions.get_mut(slot).and_then(|p| p.file.as_mut()) else {
            return Err(missing_partition());
        };
        let rows = encoded.stats.num_records();
        // One allocation for the row group's bytes, rather than a growing buffer.
        let size: i64 = encoded
            .chunks
            .iter()
            .map(|chunk| chunk.close().metadata.compressed_size())
            .sum();
        file.writer
            .inner_mut()
            .reserve(usize::try_from(size).unwrap_or(0));
        let context = || format!("writing data file '{}'", file.log_path);
        let mut row_group = file
            .writer
            .next_row_group()
            .map_err(|e| Error::parquet(context(), e))?;
        for chunk in encoded.chunks {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(|e| Error::parquet(context(), e))?;
        }
        row_group
            .close()
            .map_err(|e| Error::parquet(context(), e))?;
        file.stats.merge(&encoded.stats)?;
        let bytes = file.flush().await?;
        if self.first_group_bytes_per_row.is_none() && rows > 0 {
            self.first_group_bytes_per_row = Some(bytes as f64 / rows as f64);
        }
        Ok(())
    }

    fn open_file(&mut self, slot: usize) -> Result<OpenFile> {
        let Some(partition) = self.partitions.get(slot) else {
            return Err(missing_partition());
        };
        let directory = partition_directory(
            &self
                .partition_columns
                .iter()
                .zip(&partition.key)
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
        let (writer, _) =
            file_writer(Vec::new(), &self.file_schema, &self.properties).map_err(|e| match e {
                Error::Parquet { source, .. } => {
                    Error::parquet(format!("starting data file '{log_path}'"), source)
                }
                other => other,
            })?;
        Ok(OpenFile {
            writer,
            upload: BufWriter::new(self.location.store().clone(), object_path),
            bytes: 0,
            log_path,
            stats: self.stats_template.clone(),
        })
    }

    /// Writes the footer of the partition's open file and records its `add` action; returns
    /// the completion of its upload, to be awaited before the commit.
    async fn close_file(
        &mut self,
        slot: usize,
    ) -> Result<Option<impl Future<Output = Result<()>> + Send + 'static>> {
        let Some(mut file) = self.partitions.get_mut(slot).and_then(|p| p.file.take()) else {
            return Ok(None);
        };
        file.writer
            .finish()
            .map_err(|e| Error::parquet(format!("finishing data file '{}'", file.log_path), e))?;
        file.flush().await?;
        let partition_values: PartitionValues = match self.partitions.get(slot) {
            Some(partition) => self
                .partition_columns
                .iter()
                .zip(&partition.key)
                .map(|((_, name), value)| (name.clone(), value.clone()))
                .collect(),
            None => return Err(missing_partition()),
        };
        self.finished.push(Add {
            path: file.log_path.clone(),
            partition_values,
            size: i64::try_from(file.bytes).unwrap_or(i64::MAX),
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change: true,
            stats: Some(file.stats.to_json()?),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        });
        let OpenFile {
            mut upload,
            log_path,
            ..
        } = file;
        Ok(Some(async move {
            upload
                .complete()
                .await
                .map_err(|e| Error::parquet(format!("finishing data file '{log_path}'"), e))
        }))
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

    /// Closes every open file and returns the `add` actions of all files written.
    pub async fn finish(mut self) -> Result<Vec<Add>> {
        let mut keys: Vec<_> = self.slots.iter().map(|(key, &slot)| (key, slot)).collect();
        keys.sort();
        let order: Vec<usize> = keys.into_iter().map(|(_, slot)| slot).collect();
        for &slot in &order {
            self.encode(slot).await?;
        }
        while !self.queue.is_empty() {
            self.append_oldest().await?;
        }
        for upload in std::mem::take(&mut self.uploads) {
            upload.await.map_err(|e| {
                Error::parquet("finishing a data file", ParquetError::External(Box::new(e)))
            })??;
        }
        for slot in order {
            if let Some(upload) = self.close_file(slot).await? {
                upload.await?;
                crate::test_hooks::pause_point("data-file-written").await;
            }
        }
        Ok(self.finished)
    }
}

impl OpenFile {
    /// Passes the bytes encoded so far to the upload; returns how many there were.
    async fn flush(&mut self) -> Result<u64> {
        self.writer.flush().map_err(|e| {
            Error::parquet(
                format!("writing data file '{}'", self.log_path),
                ParquetError::External(Box::new(e)),
            )
        })?;
        let buffer = std::mem::take(self.writer.inner_mut());
        let len = buffer.len() as u64;
        if len > 0 {
            self.upload
                .put(Bytes::from(buffer))
                .await
                .map_err(|e| Error::store(format!("writing data file '{}'", self.log_path), e))?;
            self.bytes += len;
        }
        Ok(len)
    }
}

/// The bytes of Arrow memory the rows of a batch use (not counting buffers they share with
/// other batches, as batches read from IPC do).
fn arrow_size(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|array| {
            array
                .to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| array.get_array_memory_size())
        })
        .sum()
}

fn missing_partition() -> Error {
    Error::InvalidArgument("internal: partition writer vanished".into())
}

/// A Parquet file writer for the file schema, with the Arrow schema in its metadata as the
/// parquet crate's Arrow writer puts it.
fn file_writer(
    sink: Vec<u8>,
    schema: &SchemaRef,
    properties: &WriterProperties,
) -> Result<(SerializedFileWriter<Vec<u8>>, ArrowRowGroupWriterFactory)> {
    let options = ArrowWriterOptions::new().with_properties(properties.clone());
    ArrowWriter::try_new_with_options(sink, schema.clone(), options)
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|e| Error::parquet("starting a data file", e))
}

/// Encodes rows as one row group (on a blocking thread), with their statistics.
fn encode_row_group(
    factory: &ArrowRowGroupWriterFactory,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    mut stats: StatsCollector,
) -> Result<EncodedRowGroup> {
    let encoding = |e| Error::parquet("encoding a row group", e);
    let mut writers = factory.create_column_writers(0).map_err(encoding)?;
    for batch in batches {
        let mut columns = writers.iter_mut();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array).map_err(encoding)? {
                let Some(writer) = columns.next() else {
                    return Err(Error::InvalidArgument(
                        "internal: fewer column writers than Parquet columns".into(),
                    ));
                };
                writer.write(&leaf).map_err(encoding)?;
            }
        }
    }
    let chunks = writers
        .into_iter()
        .map(|writer| writer.close())
        .collect::<parquet::errors::Result<Vec<_>>>()
        .map_err(encoding)?;
    let chunk_stats: Vec<_> = chunks
        .iter()
        .map(|chunk| chunk.close().metadata.statistics())
        .collect();
    stats.update_row_group(batches, &chunk_stats)?;
    Ok(EncodedRowGroup { chunks, stats })
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
/// use tidemark_core::testing::encode_log_path;
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

#[cfg(test)]
mod tests;
