//! `INSERT INTO` and `INSERT OVERWRITE`: a DataFusion [`DataSink`] that writes its input as one
//! new version through Tidemark's write path (the same commit protocol as the library).

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use futures::StreamExt;
use tidemark_core::Snapshot;
use tidemark_core::{SchemaMode, WriteMode};

use crate::error::external;

/// Writes the rows of an `INSERT` as one new version of a Tidemark table.
#[derive(Debug)]
pub struct TidemarkSink {
    snapshot: Arc<Snapshot>,
    schema: SchemaRef,
    mode: WriteMode,
    lineage: Vec<(String, String)>,
    schema_mode: SchemaMode,
}

impl TidemarkSink {
    /// A sink writing to the table of `snapshot`, appending or overwriting.
    pub fn new(snapshot: Arc<Snapshot>, schema: SchemaRef, op: InsertOp) -> Result<Self> {
        let mode = match op {
            InsertOp::Append => WriteMode::Append,
            InsertOp::Overwrite => WriteMode::Overwrite,
            InsertOp::Replace => {
                return Err(DataFusionError::NotImplemented(
                    "INSERT OR REPLACE is not supported on Tidemark tables; use INSERT INTO or INSERT OVERWRITE".into(),
                ));
            }
        };
        Ok(Self {
            snapshot,
            schema,
            mode,
            lineage: Vec::new(),
            schema_mode: SchemaMode::Strict,
        })
    }
}

impl TidemarkSink {
    /// Records these inputs (table URI, snapshot id) as the commit's lineage.
    pub fn with_lineage(mut self, inputs: Vec<(String, String)>) -> Self {
        self.lineage = inputs;
        self
    }

    /// Writes under this schema mode (strict by default): `merge` adds the data's new columns
    /// and widens types, `overwrite` replaces the table's schema (with `INSERT OVERWRITE`).
    pub fn with_schema_mode(mut self, schema_mode: SchemaMode) -> Self {
        self.schema_mode = schema_mode;
        self
    }
}

impl DisplayAs for TidemarkSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TidemarkSink: table={}, mode={:?}, schema_mode={:?}",
            self.snapshot.location().url(),
            self.mode,
            self.schema_mode
        )
    }
}

#[async_trait]
impl DataSink for TidemarkSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let schema = data.schema();
        let batches = data.map(|batch| {
            batch.map_err(|e| {
                tidemark_core::Error::InvalidArgument(format!(
                    "the query feeding the INSERT failed: {e}"
                ))
            })
        });
        let mut builder = tidemark_core::Table::from_location(self.snapshot.location().clone())
            .write()
            .with_mode(self.mode)
            .with_schema_mode(self.schema_mode)
            .with_read_snapshot(self.snapshot.clone());
        for (table, snapshot_id) in &self.lineage {
            builder = builder.with_lineage_input(table.clone(), snapshot_id.clone());
        }
        let outcome = builder.execute(schema, batches).await.map_err(external)?;
        Ok(u64::try_from(outcome.rows_added).unwrap_or(0))
    }
}
