//! The physical scan of a Tidemark snapshot.
//!
//! [`TidemarkScanExec`] names the table, the version and how many files pruning skipped, so
//! that `EXPLAIN` shows them. Tables without deletion vectors or column mapping are read by
//! DataFusion's own Parquet scan (row-group and page pruning, filter pushdown), which this node
//! wraps; other tables are read by Tidemark's scan, which applies deletion vectors and resolves
//! column mapping, one group of files per partition.

use std::fmt;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use datafusion::common::Statistics;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PhysicalExpr, PlanProperties,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};
use tidemark_core::Scan;
use tidemark_core::log::actions::Add;

use crate::error::external;
use crate::pruning::PruningCounts;

/// How the files are read.
#[derive(Debug, Clone)]
pub(crate) enum ScanMode {
    /// DataFusion's Parquet scan, as the only child.
    Native(Arc<dyn ExecutionPlan>),
    /// Tidemark's scan: one group of files per output partition.
    Tidemark {
        scan: Scan,
        groups: Vec<Vec<Add>>,
        statistics: Arc<Statistics>,
    },
}

/// Scans one version of a Tidemark table.
#[derive(Debug, Clone)]
pub struct TidemarkScanExec {
    table: String,
    version: u64,
    counts: PruningCounts,
    files_read: usize,
    schema: SchemaRef,
    mode: ScanMode,
    properties: Arc<PlanProperties>,
}

impl TidemarkScanExec {
    pub(crate) fn new(
        table: String,
        version: u64,
        counts: PruningCounts,
        files_read: usize,
        schema: SchemaRef,
        mode: ScanMode,
    ) -> Self {
        let schema = match &mode {
            ScanMode::Native(child) => child.schema(),
            ScanMode::Tidemark { .. } => schema,
        };
        let properties = match &mode {
            ScanMode::Native(child) => child.properties().clone(),
            ScanMode::Tidemark { groups, .. } => Arc::new(PlanProperties::new(
                EquivalenceProperties::new(schema.clone()),
                Partitioning::UnknownPartitioning(groups.len().max(1)),
                EmissionType::Incremental,
                Boundedness::Bounded,
            )),
        };
        Self {
            table,
            version,
            counts,
            files_read,
            schema,
            mode,
            properties,
        }
    }

    /// How the files were chosen.
    pub fn pruning(&self) -> PruningCounts {
        self.counts
    }

    /// The number of files the scan reads.
    pub fn files_read(&self) -> usize {
        self.files_read
    }

    /// The version scanned.
    pub fn version(&self) -> u64 {
        self.version
    }
}

impl DisplayAs for TidemarkScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TidemarkScanExec: table={}, version={}, files={} of {} (pruned {} by partition, {} by statistics), reader={}",
            self.table,
            self.version,
            self.files_read,
            self.counts.total,
            self.counts.by_partition,
            self.counts.by_statistics,
            match self.mode {
                ScanMode::Native(_) => "parquet",
                ScanMode::Tidemark { .. } => "tidemark",
            }
        )
    }
}

impl ExecutionPlan for TidemarkScanExec {
    fn name(&self) -> &str {
        "TidemarkScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        match &self.mode {
            ScanMode::Native(child) => vec![child],
            ScanMode::Tidemark { .. } => vec![],
        }
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (&self.mode, children.as_slice()) {
            (ScanMode::Native(_), [child]) => Ok(Arc::new(Self::new(
                self.table.clone(),
                self.version,
                self.counts,
                self.files_read,
                child.schema(),
                ScanMode::Native(child.clone()),
            ))),
            (ScanMode::Tidemark { .. }, []) => Ok(self),
            _ => Err(datafusion::error::DataFusionError::Internal(
                "TidemarkScanExec got the wrong number of children".into(),
            )),
        }
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        match (&self.mode, args.partition()) {
            (ScanMode::Native(child), _) => StatisticsContext::new().compute(child.as_ref(), args),
            (ScanMode::Tidemark { statistics, .. }, None) => Ok(statistics.clone()),
            (ScanMode::Tidemark { .. }, Some(_)) => {
                Ok(Arc::new(Statistics::new_unknown(&self.schema)))
            }
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        match &self.mode {
            ScanMode::Native(child) => child.execute(partition, context),
            ScanMode::Tidemark { scan, groups, .. } => {
                let files = groups.get(partition).cloned().unwrap_or_default();
                let scan = scan.clone();
                let schema = self.schema.clone();
                let out_schema = schema.clone();
                let stream = futures::stream::iter(files)
                    .flat_map(move |add| scan.execute_file(add))
                    .map_err(external)
                    .and_then(move |batch| {
                        let schema = out_schema.clone();
                        async move { fit(batch, &schema) }
                    });
                Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
            }
        }
    }
}

/// Gives a batch the plan's schema: the same columns, cast where the table declares another
/// type for them (strings read as `Utf8` and declared as `Utf8View`); a projection of no
/// columns keeps the row count.
fn fit(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if schema.fields().is_empty() {
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        return Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            vec![],
            &options,
        )?);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                Ok(arrow::compute::cast(column, field.data_type())?)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
