//! Scans: a snapshot's rows as a stream of Arrow record batches.
//!
//! For each live data file the scan reads the needed columns from Parquet, maps the file's
//! physical columns to the table's logical ones (column mapping by name or id, at every nesting
//! level), casts types that were widened since the file was written, drops the rows the file's
//! deletion vector deletes and fills in partition columns from the log. Memory is bounded by the
//! batches in flight, not by the size of the table.

pub(crate) mod deletion_vector;
pub mod shard;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, LargeListArray, ListArray, MapArray, RecordBatch, RecordBatchOptions,
    StructArray, new_null_array,
};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType as ArrowType, Field, FieldRef, Fields, Schema, SchemaRef};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::async_reader::{ParquetRecordBatchStream, ParquetRecordBatchStreamBuilder};
use roaring::RoaringTreemap;

use crate::error::{Error, Result};
use crate::log::actions::Add;
use crate::partition::values::partition_array;
use crate::schema::{ColumnMappingMode, DataType, StructField, StructType};
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;
use crate::storage::parquet_reader::StoreFileReader;

/// Default number of rows per batch.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Configures a scan of a snapshot.
///
/// ```no_run
/// # async fn demo() -> tidemark_core::Result<()> {
/// use futures::TryStreamExt;
/// use tidemark_core::scan::ScanBuilder;
/// use tidemark_core::{Table, VersionSpec};
/// let snapshot = Table::open("/data/sales")?.snapshot(VersionSpec::Version(2)).await?;
/// let scan = ScanBuilder::new(snapshot).with_columns(["id", "amount"])?.build()?;
/// let batches: Vec<_> = scan.execute().try_collect().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ScanBuilder {
    snapshot: Arc<Snapshot>,
    columns: Option<Vec<String>>,
    batch_size: usize,
    file_concurrency: usize,
}

impl ScanBuilder {
    /// Starts a scan of every column of the snapshot.
    pub fn new(snapshot: impl Into<Arc<Snapshot>>) -> Self {
        Self {
            snapshot: snapshot.into(),
            columns: None,
            batch_size: DEFAULT_BATCH_SIZE,
            file_concurrency: 2,
        }
    }

    /// Reads only these top-level columns, in this order. Unknown names are an error.
    pub fn with_columns<I, S>(mut self, columns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        Ok(self)
    }

    /// Rows per batch (default 8192).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// How many files are opened ahead of the one being read (default 2).
    pub fn with_file_concurrency(mut self, files: usize) -> Self {
        self.file_concurrency = files.max(1);
        self
    }

    /// Resolves the columns and plans the scan.
    pub fn build(self) -> Result<Scan> {
        let table_schema = self.snapshot.schema();
        let logical = nullable_schema(&table_schema.to_arrow()?);
        let indices: Vec<usize> = match &self.columns {
            None => (0..table_schema.fields.len()).collect(),
            Some(names) => names
                .iter()
                .map(|name| {
                    table_schema
                        .fields
                        .iter()
                        .position(|f| &f.name == name)
                        .ok_or_else(|| {
                            let known: Vec<&str> =
                                table_schema.fields.iter().map(|f| f.name.as_str()).collect();
                            Error::InvalidArgument(format!(
                                "column '{name}' is not in the table at version {}; its columns are: {}",
                                self.snapshot.version(),
                                known.join(", ")
                            ))
                        })
                })
                .collect::<Result<_>>()?,
        };
        let mode = self.snapshot.column_mapping();
        let partition_columns = self.snapshot.partition_columns();
        let columns = indices
            .iter()
            .map(|&i| {
                let field = table_schema.fields[i].clone();
                let arrow_field = Arc::new(logical.field(i).clone());
                let physical_name = field.physical_name(mode)?.to_string();
                let is_partition = partition_columns.iter().any(|p| p == &field.name);
                Ok(ColumnPlan {
                    field,
                    arrow_field,
                    physical_name,
                    is_partition,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| c.arrow_field.clone())
                .collect::<Vec<FieldRef>>(),
        ));
        let files = self.snapshot.files_sorted().into_iter().cloned().collect();
        Ok(Scan {
            plan: Arc::new(ScanPlan {
                location: self.snapshot.location().clone(),
                mode,
                schema,
                columns,
                batch_size: self.batch_size,
            }),
            files,
            file_concurrency: self.file_concurrency,
        })
    }
}

#[derive(Debug)]
struct ColumnPlan {
    field: StructField,
    arrow_field: FieldRef,
    physical_name: String,
    is_partition: bool,
}

#[derive(Debug)]
struct ScanPlan {
    location: TableLocation,
    mode: ColumnMappingMode,
    schema: SchemaRef,
    columns: Vec<ColumnPlan>,
    batch_size: usize,
}

/// A planned scan: the files to read and how to turn them into the output schema.
#[derive(Debug, Clone)]
pub struct Scan {
    plan: Arc<ScanPlan>,
    files: Vec<Add>,
    file_concurrency: usize,
}

impl Scan {
    /// The schema of the batches the scan yields (logical names and types).
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema.clone()
    }

    /// The data files the scan reads.
    pub fn files(&self) -> &[Add] {
        &self.files
    }

    /// Runs the scan. Files are read in path order; each yields its batches in file order.
    pub fn execute(&self) -> BoxStream<'static, Result<RecordBatch>> {
        let plan = self.plan.clone();
        futures::stream::iter(self.files.clone())
            .map(move |add| {
                let plan = plan.clone();
                async move {
                    FileScan::open(plan, add, None)
                        .await
                        .map(FileScan::into_stream)
                }
            })
            .buffered(self.file_concurrency)
            .try_flatten()
            .boxed()
    }

    /// Reads one file of the scan into batches of the scan's schema.
    pub fn execute_file(&self, add: Add) -> BoxStream<'static, Result<RecordBatch>> {
        let plan = self.plan.clone();
        futures::stream::once(async move {
            FileScan::open(plan, add, None)
                .await
                .map(FileScan::into_stream)
        })
        .try_flatten()
        .boxed()
    }

    /// Reads one row group (by index, from 0) of one file of the scan, with the file's
    /// deletion vector applied at the row group's row positions.
    pub fn execute_row_group(
        &self,
        add: Add,
        row_group: usize,
    ) -> BoxStream<'static, Result<RecordBatch>> {
        let plan = self.plan.clone();
        futures::stream::once(async move {
            FileScan::open(plan, add, Some(row_group))
                .await
                .map(FileScan::into_stream)
        })
        .try_flatten()
        .boxed()
    }
}

/// One open data file.
struct FileScan {
    plan: Arc<ScanPlan>,
    add: Add,
    deleted: Option<RoaringTreemap>,
    /// For each output column, where its values come from.
    sources: Vec<ColumnSource>,
    stream: Option<ParquetRecordBatchStream<StoreFileReader>>,
    /// The file's row number of the first row read (not 0 when one row group is read).
    first_row: u64,
}

enum ColumnSource {
    /// A column of the file, by index into the projected batch, and the file's field for it.
    File(usize),
    /// Missing from the file: all null.
    Null,
    /// A partition column.
    Partition,
}

impl FileScan {
    async fn open(plan: Arc<ScanPlan>, add: Add, row_group: Option<usize>) -> Result<Self> {
        let path = plan.location.resolve(&add.path)?;
        let deleted = match &add.deletion_vector {
            Some(dv) => Some(deletion_vector::load(&plan.location, dv).await.map_err(
                |e| match e {
                    Error::DeletionVector { reason, .. } => Error::DeletionVector {
                        path: Some(add.path.clone()),
                        reason,
                    },
                    other => other,
                },
            )?),
            None => None,
        };
        let reader = StoreFileReader::new(
            plan.location.store().clone(),
            path,
            u64::try_from(add.size).ok().filter(|s| *s > 0),
        );
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(|e| Error::parquet(format!("opening data file '{}'", add.path), e))?;
        let file_schema = builder.schema().clone();
        let mut roots = Vec::new();
        let mut found = Vec::new();
        for column in &plan.columns {
            if column.is_partition {
                found.push(None);
                continue;
            }
            let index = find_field(
                &file_schema,
                &column.field,
                &column.physical_name,
                plan.mode,
            );
            if let Some(i) = index {
                roots.push(i);
            }
            found.push(index);
        }
        roots.sort_unstable();
        roots.dedup();
        let sources = found
            .iter()
            .zip(&plan.columns)
            .map(|(index, column)| match index {
                _ if column.is_partition => ColumnSource::Partition,
                Some(i) => ColumnSource::File(roots.iter().position(|r| r == i).unwrap_or(0)),
                None => ColumnSource::Null,
            })
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let mut first_row = 0u64;
        let builder = match row_group {
            None => builder,
            Some(index) => {
                let groups = builder.metadata().row_groups();
                if index >= groups.len() {
                    return Err(Error::DataFile {
                        path: add.path.clone(),
                        reason: format!(
                            "row group {index} asked for, but the file has {} row groups",
                            groups.len()
                        ),
                    });
                }
                first_row = groups[..index]
                    .iter()
                    .map(|g| u64::try_from(g.num_rows()).unwrap_or(0))
                    .sum();
                builder.with_row_groups(vec![index])
            }
        };
        let stream = builder
            .with_projection(mask)
            .with_batch_size(plan.batch_size)
            .build()
            .map_err(|e| Error::parquet(format!("reading data file '{}'", add.path), e))?;
        Ok(Self {
            plan,
            add,
            deleted,
            sources,
            stream: Some(stream),
            first_row,
        })
    }

    fn into_stream(mut self) -> BoxStream<'static, Result<RecordBatch>> {
        let Some(stream) = self.stream.take() else {
            return futures::stream::empty().boxed();
        };
        let mut row_offset = self.first_row;
        stream
            .map(move |batch| {
                let batch = batch.map_err(|e| {
                    Error::parquet(format!("reading data file '{}'", self.add.path), e)
                })?;
                let rows = batch.num_rows();
                let out = self.convert(&batch)?;
                let start = row_offset;
                row_offset += rows as u64;
                match &self.deleted {
                    Some(bitmap) => {
                        let keep = deletion_vector::deleted_rows_mask(bitmap, start, rows);
                        filter_record_batch(&out, &keep)
                            .map_err(|e| Error::arrow("applying a deletion vector", e))
                    }
                    None => Ok(out),
                }
            })
            .try_filter(|batch| futures::future::ready(batch.num_rows() > 0))
            .boxed()
    }

    fn convert(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let mut arrays = Vec::with_capacity(self.plan.columns.len());
        for (column, source) in self.plan.columns.iter().zip(&self.sources) {
            let target = column.arrow_field.data_type();
            let array = match source {
                ColumnSource::File(i) => conform(
                    batch.column(*i),
                    &column.field.data_type,
                    target,
                    self.plan.mode,
                )
                .map_err(|e| Error::DataFile {
                    path: self.add.path.clone(),
                    reason: format!("column '{}': {e}", column.field.name),
                })?,
                ColumnSource::Null => new_null_array(target, rows),
                ColumnSource::Partition => {
                    let value = self
                        .add
                        .partition_values
                        .get(&column.physical_name)
                        .or_else(|| self.add.partition_values.get(&column.field.name))
                        .cloned()
                        .flatten();
                    partition_array(&column.field.name, value.as_deref(), target, rows)?
                }
            };
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.plan.schema.clone(), arrays, &options).map_err(|e| {
            Error::DataFile {
                path: self.add.path.clone(),
                reason: e.to_string(),
            }
        })
    }
}

/// Finds the file's top-level field for a table column.
fn find_field(
    file_schema: &Schema,
    field: &StructField,
    physical_name: &str,
    mode: ColumnMappingMode,
) -> Option<usize> {
    find_in_fields(file_schema.fields(), field, physical_name, mode)
}

fn find_in_fields(
    fields: &Fields,
    field: &StructField,
    physical_name: &str,
    mode: ColumnMappingMode,
) -> Option<usize> {
    if mode == ColumnMappingMode::Id
        && let Some(id) = field.field_id()
    {
        let by_id = fields.iter().position(|f| {
            f.metadata()
                .get(crate::schema::PARQUET_FIELD_ID)
                .and_then(|v| v.parse::<i64>().ok())
                == Some(id)
        });
        if by_id.is_some() {
            return by_id;
        }
    }
    fields
        .iter()
        .position(|f| f.name() == physical_name)
        .or_else(|| {
            fields
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(physical_name))
        })
}

/// Converts a column read from a file to the table's logical type: renames nested fields from
/// physical to logical names, fills nested fields missing from the file with nulls, and casts
/// primitive types (widening, timestamp units and zones).
fn conform(
    array: &ArrayRef,
    delta_type: &DataType,
    target: &ArrowType,
    mode: ColumnMappingMode,
) -> Result<ArrayRef> {
    // Under column mapping a nested struct must be matched field by field even when the types
    // look equal: after renames and drops, equal names may stand for other physical fields.
    if array.data_type() == target && (mode == ColumnMappingMode::None || !has_struct(target)) {
        return Ok(array.clone());
    }
    match (delta_type, target) {
        (DataType::Struct(delta_struct), ArrowType::Struct(target_fields)) => {
            let source = array
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| type_mismatch(array, target))?;
            conform_struct(source, delta_struct, target_fields, mode)
        }
        (DataType::Array(delta_array), ArrowType::List(target_field)) => {
            let (offsets, values, nulls) = match array.data_type() {
                ArrowType::List(_) => {
                    let list = array
                        .as_any()
                        .downcast_ref::<ListArray>()
                        .ok_or_else(|| type_mismatch(array, target))?;
                    (
                        list.offsets().clone(),
                        list.values().clone(),
                        list.nulls().cloned(),
                    )
                }
                ArrowType::LargeList(_) => {
                    let list = array
                        .as_any()
                        .downcast_ref::<LargeListArray>()
                        .ok_or_else(|| type_mismatch(array, target))?;
                    let offsets: Vec<i32> = list
                        .offsets()
                        .iter()
                        .map(|o| i32::try_from(*o))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| Error::Schema("list too large".to_string()))?;
                    (
                        arrow::buffer::OffsetBuffer::new(offsets.into()),
                        list.values().clone(),
                        list.nulls().cloned(),
                    )
                }
                _ => return Err(type_mismatch(array, target)),
            };
            let values = conform(
                &values,
                &delta_array.element_type,
                target_field.data_type(),
                mode,
            )?;
            let list = ListArray::try_new(target_field.clone(), offsets, values, nulls)
                .map_err(|e| Error::arrow("rebuilding a list column", e))?;
            Ok(Arc::new(list))
        }
        (DataType::Map(delta_map), ArrowType::Map(entries_field, sorted)) => {
            let map = array
                .as_any()
                .downcast_ref::<MapArray>()
                .ok_or_else(|| type_mismatch(array, target))?;
            let ArrowType::Struct(entry_fields) = entries_field.data_type() else {
                return Err(type_mismatch(array, target));
            };
            let (Some(key_field), Some(value_field)) = (entry_fields.first(), entry_fields.get(1))
            else {
                return Err(type_mismatch(array, target));
            };
            let keys = conform(map.keys(), &delta_map.key_type, key_field.data_type(), mode)?;
            let values = conform(
                map.values(),
                &delta_map.value_type,
                value_field.data_type(),
                mode,
            )?;
            let entries = StructArray::try_new(entry_fields.clone(), vec![keys, values], None)
                .map_err(|e| Error::arrow("rebuilding a map column", e))?;
            let map = MapArray::try_new(
                entries_field.clone(),
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *sorted,
            )
            .map_err(|e| Error::arrow("rebuilding a map column", e))?;
            Ok(Arc::new(map))
        }
        _ => {
            // Text and binary convert only among themselves: a cast from text would turn
            // every unparseable value into a null, silently wrong rows.
            let textual = |t: &ArrowType| {
                matches!(
                    t,
                    ArrowType::Utf8
                        | ArrowType::LargeUtf8
                        | ArrowType::Utf8View
                        | ArrowType::Binary
                        | ArrowType::LargeBinary
                        | ArrowType::BinaryView
                        | ArrowType::FixedSizeBinary(_)
                )
            };
            if textual(array.data_type()) != textual(target) {
                return Err(type_mismatch(array, target));
            }
            // Not `safe`: a value that does not convert is an error, never a null.
            let options = arrow::compute::CastOptions {
                safe: false,
                ..Default::default()
            };
            arrow::compute::cast_with_options(array, target, &options).map_err(|e| {
                Error::Schema(format!(
                    "cannot read a {} column as {}: {e}",
                    array.data_type(),
                    target
                ))
            })
        }
    }
}

/// Whether a type holds a struct at any depth.
fn has_struct(data_type: &ArrowType) -> bool {
    match data_type {
        ArrowType::Struct(_) => true,
        ArrowType::List(f) | ArrowType::LargeList(f) => has_struct(f.data_type()),
        ArrowType::Map(entries, _) => match entries.data_type() {
            ArrowType::Struct(kv) => kv.iter().any(|c| has_struct(c.data_type())),
            other => has_struct(other),
        },
        _ => false,
    }
}

fn conform_struct(
    source: &StructArray,
    delta_struct: &StructType,
    target_fields: &Fields,
    mode: ColumnMappingMode,
) -> Result<ArrayRef> {
    let source_fields = source.fields();
    let mut children = Vec::with_capacity(target_fields.len());
    for (delta_field, target_field) in delta_struct.fields.iter().zip(target_fields.iter()) {
        let physical = delta_field.physical_name(mode)?;
        let child = match find_in_fields(source_fields, delta_field, physical, mode) {
            Some(i) => conform(
                source.column(i),
                &delta_field.data_type,
                target_field.data_type(),
                mode,
            )?,
            None => new_null_array(target_field.data_type(), source.len()),
        };
        children.push(child);
    }
    let fields = target_fields.clone();
    let array = StructArray::try_new(fields, children, source.nulls().cloned())
        .map_err(|e| Error::arrow("rebuilding a struct column", e))?;
    Ok(Arc::new(array))
}

/// The schema with every field, at every level, nullable.
///
/// Readers do not enforce nullability: files written by other writers may hold nulls where the
/// schema says a field is required (for instance a required field under a null struct).
fn nullable_schema(schema: &Schema) -> Schema {
    Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| nullable_field(f))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    )
}

fn nullable_field(field: &Field) -> FieldRef {
    Arc::new(
        Field::new(field.name(), nullable_type(field.data_type()), true)
            .with_metadata(field.metadata().clone()),
    )
}

fn nullable_type(data_type: &ArrowType) -> ArrowType {
    match data_type {
        ArrowType::Struct(fields) => {
            ArrowType::Struct(fields.iter().map(|f| nullable_field(f)).collect())
        }
        ArrowType::List(f) => ArrowType::List(nullable_field(f)),
        ArrowType::LargeList(f) => ArrowType::LargeList(nullable_field(f)),
        ArrowType::Map(entries, sorted) => {
            // Map keys stay non-null, as Arrow requires.
            let inner = match entries.data_type() {
                ArrowType::Struct(kv) => ArrowType::Struct(
                    kv.iter()
                        .enumerate()
                        .map(|(i, f)| if i == 0 { f.clone() } else { nullable_field(f) })
                        .collect(),
                ),
                other => other.clone(),
            };
            ArrowType::Map(Arc::new(Field::new(entries.name(), inner, false)), *sorted)
        }
        other => other.clone(),
    }
}

fn type_mismatch(array: &ArrayRef, target: &ArrowType) -> Error {
    Error::Schema(format!(
        "the file stores a {} column where the table has {}",
        array.data_type(),
        target
    ))
}
