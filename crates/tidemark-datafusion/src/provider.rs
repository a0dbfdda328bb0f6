//! [`TidemarkTable`]: a DataFusion [`TableProvider`](datafusion::catalog::TableProvider) over one snapshot of a Tidemark table.
//!
//! Partition filters prune files exactly and are reported as exact; other filters skip files
//! by the log's statistics and go down into the Parquet scan for row-group and page pruning
//! (DataFusion still applies them to the rows). Row counts and column bounds of the snapshot
//! go to the optimizer. Files are spread over the session's target partitions, balanced by
//! size; DataFusion's optimizer then splits the Parquet scan by byte ranges within files
//! (`datafusion.optimizer.repartition_file_scans`), as for a listing table, so that a few large
//! files still use every core.
//!
//! Like DataFusion's listing table for Parquet (`datafusion.execution.parquet.
//! schema_force_view_types`, on by default), the table declares its string and binary columns
//! as `Utf8View` and `BinaryView`: files are decoded into views without copying the strings,
//! and `DESCRIBE`, `information_schema` and `INSERT` see the same types.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use object_store::ObjectMeta;
use tidemark_core::ScanBuilder;
use tidemark_core::Snapshot;
use tidemark_core::log::actions::Add;
use tidemark_core::schema::ColumnMappingMode;

use crate::error::external;
use crate::pruning::{
    PruningCounts, is_partition_filter, partition_scalar, prune_by_partition, prune_by_statistics,
};
use crate::scan_exec::{ScanMode, TidemarkScanExec};
use crate::sink::TidemarkSink;
use crate::statistics::files_statistics;

/// The snapshot a provider reads, with its Arrow schema.
#[derive(Debug, Clone)]
struct Loaded {
    snapshot: Arc<Snapshot>,
    schema: SchemaRef,
}

/// Whether tables declare view types for strings and binaries unless told otherwise:
/// DataFusion's default for Parquet listing tables.
fn default_view_types() -> bool {
    datafusion::config::ParquetOptions::default().schema_force_view_types
}

/// A Tidemark table as a DataFusion table.
///
/// A provider either follows the table (it reads the newest version it was refreshed to, and
/// `INSERT` writes to the table), or is pinned to one version (time travel), which never
/// changes.
///
/// ```no_run
/// # async fn demo() -> datafusion::error::Result<()> {
/// use std::sync::Arc;
/// use datafusion::prelude::SessionContext;
/// use tidemark_datafusion::TidemarkTable;
/// let ctx = SessionContext::new();
/// let table = TidemarkTable::open("/data/sales").await?;
/// ctx.register_table("sales", Arc::new(table))?;
/// ctx.sql("SELECT region, sum(amount) FROM sales GROUP BY region").await?.show().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TidemarkTable {
    state: RwLock<Loaded>,
    pinned: bool,
    /// Strings and binaries as `Utf8View` and `BinaryView` (see the module documentation).
    view_types: bool,
    /// Inputs (table URI, snapshot id) of the next `INSERT`, recorded as its lineage.
    pending_lineage: std::sync::Mutex<Vec<(String, String)>>,
}

impl TidemarkTable {
    /// A provider that follows the table at `uri`, loaded at its latest version.
    pub async fn open(uri: &str) -> crate::Result<Self> {
        let table = tidemark_core::Table::open(uri).map_err(external)?;
        let snapshot = table
            .snapshot(tidemark_core::VersionSpec::Latest)
            .await
            .map_err(external)?;
        Self::following(Arc::new(snapshot))
    }

    /// A provider that follows the table, starting at `snapshot`.
    pub fn following(snapshot: Arc<Snapshot>) -> crate::Result<Self> {
        Ok(Self {
            state: RwLock::new(load(snapshot, default_view_types())?),
            pinned: false,
            view_types: default_view_types(),
            pending_lineage: Default::default(),
        })
    }

    /// A provider pinned to `snapshot` (time travel): it never refreshes and refuses writes.
    pub fn pinned(snapshot: Arc<Snapshot>) -> crate::Result<Self> {
        Ok(Self {
            state: RwLock::new(load(snapshot, default_view_types())?),
            pinned: true,
            view_types: default_view_types(),
            pending_lineage: Default::default(),
        })
    }

    /// Declares string and binary columns as `Utf8View` and `BinaryView` (`true`, the default,
    /// as DataFusion's `datafusion.execution.parquet.schema_force_view_types`) or as `Utf8`
    /// and `Binary` (`false`). A session with that option turned off may want the same here.
    pub fn with_view_types(mut self, view_types: bool) -> crate::Result<Self> {
        if view_types != self.view_types {
            let snapshot = self.snapshot();
            self.state = RwLock::new(load(snapshot, view_types)?);
            self.view_types = view_types;
        }
        Ok(self)
    }

    /// Whether string and binary columns are declared as view types.
    pub fn view_types(&self) -> bool {
        self.view_types
    }

    /// The snapshot read now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.loaded().snapshot
    }

    /// Whether the provider is pinned to one version.
    pub fn is_pinned(&self) -> bool {
        self.pinned
    }

    fn loaded(&self) -> Loaded {
        match self.state.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Moves a following provider to the newest version, reading only the new commits.
    pub async fn refresh(&self) -> crate::Result<()> {
        if self.pinned {
            return Ok(());
        }
        let current = self.snapshot();
        let newer = current.refresh().await.map_err(external)?;
        if newer.version() != current.version() {
            self.set_snapshot(Arc::new(newer))?;
        }
        Ok(())
    }

    /// Sets the lineage inputs (table URI, snapshot id) the next `INSERT` records.
    pub fn set_pending_lineage(&self, inputs: Vec<(String, String)>) {
        match self.pending_lineage.lock() {
            Ok(mut guard) => *guard = inputs,
            Err(poisoned) => *poisoned.into_inner() = inputs,
        }
    }

    fn take_pending_lineage(&self) -> Vec<(String, String)> {
        match self.pending_lineage.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// Replaces the snapshot of a following provider.
    pub(crate) fn set_snapshot(&self, snapshot: Arc<Snapshot>) -> Result<()> {
        let loaded = load(snapshot, self.view_types)?;
        match self.state.write() {
            Ok(mut guard) => *guard = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        Ok(())
    }
}

fn load(snapshot: Arc<Snapshot>, view_types: bool) -> Result<Loaded> {
    let arrow = snapshot.schema().to_arrow().map_err(external)?;
    // Files written before a column was added, or by writers that differ on nullability, may
    // hold nulls anywhere: the scan's schema is nullable throughout.
    let fields: Vec<Field> = arrow
        .fields()
        .iter()
        .map(|f| {
            let field = f.as_ref().clone().with_nullable(true);
            if view_types {
                as_view_type(field)
            } else {
                field
            }
        })
        .collect();
    Ok(Loaded {
        snapshot,
        schema: Arc::new(Schema::new(fields)),
    })
}

/// A top-level string or binary column as its view type, as DataFusion's
/// `transform_schema_to_view` does for Parquet listing tables (nested fields keep their
/// types).
fn as_view_type(field: Field) -> Field {
    match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => field.with_data_type(DataType::Utf8View),
        DataType::Binary | DataType::LargeBinary => field.with_data_type(DataType::BinaryView),
        _ => field,
    }
}

/// A URL under which a table's object store is registered with DataFusion.
fn store_url(snapshot: &Snapshot) -> Result<ObjectStoreUrl> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    snapshot.location().url().as_str().hash(&mut hasher);
    ObjectStoreUrl::parse(format!("tidemark://t{:016x}", hasher.finish()))
}

#[async_trait]
impl datafusion::catalog::TableProvider for TidemarkTable {
    fn schema(&self) -> SchemaRef {
        self.loaded().schema
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let snapshot = self.snapshot();
        let partitions = snapshot.partition_columns();
        Ok(filters
            .iter()
            .map(|f| {
                if is_partition_filter(f, partitions) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    fn statistics(&self) -> Option<Statistics> {
        let Loaded { snapshot, schema } = self.loaded();
        let names = physical_names(&snapshot).ok()?;
        let files = snapshot.files_sorted();
        Some(files_statistics(
            &files,
            &schema,
            &names,
            snapshot.partition_columns(),
        ))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Loaded { snapshot, schema } = self.loaded();
        plan_scan(state, &snapshot, &schema, projection, filters, limit).await
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.pinned {
            return Err(DataFusionError::Plan(format!(
                "version {} of the table is a fixed version from time travel and cannot be written; write to the table without VERSION AS OF",
                self.snapshot().version()
            )));
        }
        let sink = TidemarkSink::new(self.snapshot(), self.schema(), insert_op)?
            .with_lineage(self.take_pending_lineage());
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// Logical to physical column names.
fn physical_names(snapshot: &Snapshot) -> Result<HashMap<String, String>> {
    let mode = snapshot.column_mapping();
    snapshot
        .schema()
        .fields
        .iter()
        .map(|f| {
            Ok((
                f.name.clone(),
                f.physical_name(mode).map_err(external)?.to_string(),
            ))
        })
        .collect()
}

/// Plans the scan of a snapshot.
pub(crate) async fn plan_scan(
    state: &dyn Session,
    snapshot: &Arc<Snapshot>,
    schema: &SchemaRef,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
    limit: Option<usize>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let partition_columns = snapshot.partition_columns().to_vec();
    let mode = snapshot.column_mapping();
    let physical_names = physical_names(snapshot)?;
    let partition_fields: Vec<(Field, String)> = partition_columns
        .iter()
        .map(|name| {
            let field = schema.field_with_name(name)?.clone();
            let physical = physical_names
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.clone());
            Ok((field, physical))
        })
        .collect::<Result<_>>()?;

    let create =
        |expr: &Expr, df_schema: &DFSchema| state.create_physical_expr(expr.clone(), df_schema);
    let (partition_filters, data_filters): (Vec<Expr>, Vec<Expr>) = filters
        .iter()
        .cloned()
        .partition(|f| is_partition_filter(f, &partition_columns));

    let all: Vec<&Add> = snapshot.files_sorted();
    let total = all.len();
    let after_partition = prune_by_partition(all, &partition_filters, &partition_fields, &create)?;
    let by_partition = total - after_partition.len();
    let table_df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let data_predicate: Option<Arc<dyn PhysicalExpr>> =
        match conjunction(data_filters.iter().cloned()) {
            Some(expr) => Some(state.create_physical_expr(expr, &table_df_schema)?),
            None => None,
        };
    let files = match &data_predicate {
        Some(predicate) => {
            let before = after_partition.len();
            let kept = prune_by_statistics(
                after_partition,
                predicate,
                schema,
                &physical_names,
                &partition_fields,
            )?;
            (kept, before)
        }
        None => {
            let before = after_partition.len();
            (after_partition, before)
        }
    };
    let (files, before_statistics) = files;
    let counts = PruningCounts {
        total,
        by_partition,
        by_statistics: before_statistics - files.len(),
    };

    let projection: Vec<usize> = projection
        .cloned()
        .unwrap_or_else(|| (0..schema.fields().len()).collect());
    let projected_schema = Arc::new(schema.project(&projection)?);
    let target_partitions = state.config().target_partitions().max(1);
    let groups = balance(&files, target_partitions);
    let native =
        mode == ColumnMappingMode::None && files.iter().all(|f| f.deletion_vector.is_none());
    let table_name = snapshot.location().url().to_string();

    let scan_mode = if native {
        ScanMode::Native(native_scan(
            state,
            snapshot,
            schema,
            &partition_columns,
            &projection,
            &groups,
            data_predicate.clone(),
            limit.filter(|_| filters.is_empty()),
            &physical_names,
        )?)
    } else {
        let mut names: Vec<String> = projection
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect();
        if names.is_empty() {
            // A projection of no columns (COUNT(*)) still needs the rows: read one column.
            if let Some(first) = schema.fields().first() {
                names.push(first.name().clone());
            }
        }
        let scan = ScanBuilder::new(snapshot.clone())
            .with_columns(names)
            .map_err(external)?
            .with_batch_size(state.config().batch_size())
            .build()
            .map_err(external)?;
        let statistics = files_statistics(&files, schema, &physical_names, &partition_columns)
            .project(Some(&projection));
        ScanMode::Tidemark {
            scan,
            groups: groups
                .into_iter()
                .map(|g| g.into_iter().cloned().collect())
                .collect(),
            statistics: Arc::new(statistics),
        }
    };
    Ok(Arc::new(TidemarkScanExec::new(
        table_name,
        snapshot.version(),
        counts,
        files.len(),
        projected_schema,
        scan_mode,
    )))
}

/// Spreads files over `n` groups, largest first into the lightest group.
fn balance<'a>(files: &[&'a Add], n: usize) -> Vec<Vec<&'a Add>> {
    let groups = n.min(files.len()).max(1);
    let mut sorted: Vec<&Add> = files.to_vec();
    sorted.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let mut out: Vec<(i64, Vec<&Add>)> = vec![(0, Vec::new()); groups];
    for file in sorted {
        if let Some(lightest) = out.iter_mut().min_by_key(|(size, _)| *size) {
            lightest.0 += file.size.max(1);
            lightest.1.push(file);
        }
    }
    out.into_iter().map(|(_, files)| files).collect()
}

/// DataFusion's Parquet scan over the files, with partition values as partition columns, and
/// a projection back to the table's column order.
#[allow(clippy::too_many_arguments)]
fn native_scan(
    state: &dyn Session,
    snapshot: &Snapshot,
    schema: &SchemaRef,
    partition_columns: &[String],
    projection: &[usize],
    groups: &[Vec<&Add>],
    predicate: Option<Arc<dyn PhysicalExpr>>,
    limit: Option<usize>,
    physical_names: &HashMap<String, String>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let location = snapshot.location();
    let url = store_url(snapshot)?;
    state
        .runtime_env()
        .register_object_store(url.as_ref(), location.store().clone());

    // DataFusion orders columns as the file's, then the partition columns.
    let data_fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .filter(|f| !partition_columns.contains(f.name()))
        .cloned()
        .collect();
    let partition_fields: Vec<Arc<Field>> = partition_columns
        .iter()
        .map(|name| schema.field_with_name(name).map(|f| Arc::new(f.clone())))
        .collect::<std::result::Result<_, _>>()?;
    let file_schema = Arc::new(Schema::new(data_fields.clone()));
    let scan_order: Vec<&str> = data_fields
        .iter()
        .chain(partition_fields.iter())
        .map(|f| f.name().as_str())
        .collect();
    let table_schema = TableSchema::builder(file_schema)
        .with_table_partition_cols(partition_fields.clone())
        .build();

    let files: Vec<&Add> = groups.iter().flatten().copied().collect();
    let scan_schema = Arc::new(Schema::new(
        data_fields
            .iter()
            .chain(partition_fields.iter())
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let mut file_groups = Vec::with_capacity(groups.len());
    for group in groups {
        let mut files = Vec::with_capacity(group.len());
        for add in group {
            let path = location.resolve(&add.path).map_err(external)?;
            let meta = ObjectMeta {
                location: path,
                last_modified: chrono::DateTime::from_timestamp_millis(add.modification_time)
                    .unwrap_or_default(),
                size: u64::try_from(add.size).unwrap_or(0),
                e_tag: None,
                version: None,
            };
            let values = partition_fields
                .iter()
                .map(|field| {
                    let physical = physical_names.get(field.name()).unwrap_or(field.name());
                    partition_scalar(add, field, physical)
                })
                .collect::<Result<Vec<_>>>()?;
            files.push(PartitionedFile::new_from_meta(meta).with_partition_values(values));
        }
        let group_files: Vec<&Add> = group.to_vec();
        let group_statistics = files_statistics(
            &group_files,
            &scan_schema,
            physical_names,
            partition_columns,
        );
        file_groups.push(FileGroup::new(files).with_statistics(Arc::new(group_statistics)));
    }

    // As DataFusion's Parquet format does for a listing table: the session's Parquet options
    // (page index, filter pushdown, metadata size hint, ...) and footers and page indexes
    // cached across queries in the runtime's file metadata cache (data files never change in
    // place).
    let options = state.table_options().parquet.clone();
    let size_hint = options.global.metadata_size_hint;
    let mut source = ParquetSource::new(table_schema)
        .with_table_parquet_options(options)
        .with_parquet_file_reader_factory(Arc::new(CachedParquetFileReaderFactory::new(
            location.store().clone(),
            state.runtime_env().cache_manager.get_file_metadata_cache(),
        )));
    if let Some(hint) = size_hint {
        source = source.with_metadata_size_hint(hint);
    }
    if let Some(predicate) = predicate {
        source = source.with_predicate(predicate);
    }
    let scan_projection: Vec<usize> = projection
        .iter()
        .map(|&i| {
            let name = schema.field(i).name();
            scan_order.iter().position(|n| n == name).ok_or_else(|| {
                DataFusionError::Internal(format!("column '{name}' is missing from the scan"))
            })
        })
        .collect::<Result<_>>()?;
    let mut sorted_projection = scan_projection.clone();
    sorted_projection.sort_unstable();
    let statistics = files_statistics(&files, &scan_schema, physical_names, partition_columns);
    let config = FileScanConfigBuilder::new(url, Arc::new(source))
        .with_file_groups(file_groups)
        .with_statistics(statistics)
        .with_limit(limit)
        .with_projection_indices(Some(sorted_projection.clone()))?
        .build();
    let exec: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(config);
    if sorted_projection == scan_projection {
        return Ok(exec);
    }
    // Back to the requested order.
    let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = scan_projection
        .iter()
        .map(|index| {
            let position = sorted_projection
                .iter()
                .position(|p| p == index)
                .unwrap_or(0);
            let name = scan_order[*index].to_string();
            (
                Arc::new(PhysicalColumn::new(&name, position)) as Arc<dyn PhysicalExpr>,
                name,
            )
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(exprs, exec)?))
}
