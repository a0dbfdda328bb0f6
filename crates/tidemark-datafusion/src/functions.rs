//! Table functions: `tidemark_history('t')` (one row per commit: version, timestamp, operation,
//! metrics, user metadata) and `tidemark_files('t' [, version])` (one row per live data file:
//! path, partition values, size, rows, statistics). `'t'` is a registered table's name or a
//! table's path or URI.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{MemTable, Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{ScalarValue, TableReference};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use serde_json::Value;
use tidemark_core::TableLocation;
use tidemark_core::{Table, VersionSpec};

use crate::error::external;
use crate::provider::TidemarkTable;

/// `tidemark_history('t')`.
#[derive(Debug)]
pub struct HistoryFunction;

/// `tidemark_files('t' [, version])`.
#[derive(Debug)]
pub struct FilesFunction;

fn string_arg(args: &[Expr], index: usize, function: &str) -> Result<Option<String>> {
    match args.get(index) {
        None => Ok(None),
        Some(Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        )) => Ok(Some(s.clone())),
        Some(other) => Err(DataFusionError::Plan(format!(
            "{function}: argument {} must be a string literal (a table name or path), not {other}",
            index + 1
        ))),
    }
}

fn version_arg(args: &[Expr], index: usize, function: &str) -> Result<Option<u64>> {
    match args.get(index) {
        None => Ok(None),
        Some(Expr::Literal(scalar, _)) if !scalar.is_null() => {
            let text = scalar.to_string();
            text.parse::<u64>().map(Some).map_err(|_| {
                DataFusionError::Plan(format!(
                    "{function}: the version must be a whole number, not {text}"
                ))
            })
        }
        Some(other) => Err(DataFusionError::Plan(format!(
            "{function}: argument {} must be a version number, not {other}",
            index + 1
        ))),
    }
}

impl TableFunctionImpl for HistoryFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let target = string_arg(exprs, 0, "tidemark_history")?.ok_or_else(|| {
            DataFusionError::Plan("tidemark_history('table') needs a table name or path".into())
        })?;
        if exprs.len() > 1 {
            return Err(DataFusionError::Plan(
                "tidemark_history takes one argument: the table".into(),
            ));
        }
        Ok(Arc::new(MetaTable {
            target,
            kind: MetaKind::History,
        }))
    }
}

impl TableFunctionImpl for FilesFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let target = string_arg(exprs, 0, "tidemark_files")?.ok_or_else(|| {
            DataFusionError::Plan(
                "tidemark_files('table' [, version]) needs a table name or path".into(),
            )
        })?;
        if exprs.len() > 2 {
            return Err(DataFusionError::Plan(
                "tidemark_files takes a table and an optional version".into(),
            ));
        }
        Ok(Arc::new(MetaTable {
            target,
            kind: MetaKind::Files(version_arg(exprs, 1, "tidemark_files")?),
        }))
    }
}

#[derive(Debug, Clone, Copy)]
enum MetaKind {
    History,
    Files(Option<u64>),
}

/// A table computed from a Tidemark table's log when scanned.
#[derive(Debug)]
struct MetaTable {
    target: String,
    kind: MetaKind,
}

fn history_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("version", DataType::UInt64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("operation", DataType::Utf8, true),
        Field::new("operation_parameters", DataType::Utf8, true),
        Field::new("operation_metrics", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, true),
        Field::new("author", DataType::Utf8, true),
        Field::new("user_metadata", DataType::Utf8, true),
        Field::new("engine", DataType::Utf8, true),
        Field::new("files_added", DataType::UInt64, false),
        Field::new("files_removed", DataType::UInt64, false),
    ]))
}

fn files_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("partition_values", DataType::Utf8, true),
        Field::new("size", DataType::Int64, false),
        Field::new("rows", DataType::Int64, true),
        Field::new("deleted_rows", DataType::Int64, true),
        Field::new(
            "modification_time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("stats", DataType::Utf8, true),
    ]))
}

/// The location of a registered Tidemark table, or of a path.
async fn locate(session: &dyn Session, target: &str) -> Result<TableLocation> {
    if let Some(state) = session.as_any().downcast_ref::<SessionState>() {
        let reference = TableReference::from(target);
        if let Ok(schema) = state.schema_for_ref(reference.clone())
            && let Ok(Some(provider)) = schema.table(reference.table()).await
        {
            if let Some(table) = provider.downcast_ref::<TidemarkTable>() {
                return Ok(table.snapshot().location().clone());
            }
            return Err(DataFusionError::Plan(format!(
                "'{target}' is registered, but not as a Tidemark table"
            )));
        }
    }
    TableLocation::parse(target).map_err(external)
}

#[async_trait]
impl TableProvider for MetaTable {
    fn schema(&self) -> SchemaRef {
        match self.kind {
            MetaKind::History => history_schema(),
            MetaKind::Files(_) => files_schema(),
        }
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let location = locate(state, &self.target).await?;
        let batch = match self.kind {
            MetaKind::History => history_batch(&location).await?,
            MetaKind::Files(version) => files_batch(&location, version).await?,
        };
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        table.scan(state, projection, filters, limit).await
    }
}

fn json_text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

async fn history_batch(location: &TableLocation) -> Result<RecordBatch> {
    let entries = Table::from_location(location.clone())
        .history(None)
        .await
        .map_err(external)?;
    let info = |key: &str| -> Vec<Option<String>> {
        entries
            .iter()
            .map(|e| json_text(e.commit_info.0.get(key)))
            .collect()
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(
            entries.iter().map(|e| e.version),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(entries.iter().map(|e| e.timestamp_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(info("operation"))),
        Arc::new(StringArray::from(info("operationParameters"))),
        Arc::new(StringArray::from(info("operationMetrics"))),
        Arc::new(StringArray::from(info("userMetadata"))),
        Arc::new(StringArray::from(info("userName"))),
        Arc::new(StringArray::from(
            entries
                .iter()
                .map(|e| json_text(e.commit_info.0.get("tidemark").and_then(|t| t.get("meta"))))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(info("engineInfo"))),
        Arc::new(UInt64Array::from_iter_values(
            entries.iter().map(|e| e.actions.adds as u64),
        )),
        Arc::new(UInt64Array::from_iter_values(
            entries.iter().map(|e| e.actions.removes as u64),
        )),
    ];
    Ok(RecordBatch::try_new(history_schema(), columns)?)
}

async fn files_batch(location: &TableLocation, version: Option<u64>) -> Result<RecordBatch> {
    let spec = version.map_or(VersionSpec::Latest, VersionSpec::Version);
    let snapshot = Table::from_location(location.clone())
        .snapshot(spec)
        .await
        .map_err(external)?;
    let files = snapshot.files_sorted();
    let stats: Vec<Option<tidemark_core::log::stats::FileStats>> = files
        .iter()
        .map(|f| tidemark_core::log::stats::FileStats::parse(f.stats.as_deref()))
        .collect();
    let partition_values = files.iter().map(|f| {
        if f.partition_values.is_empty() {
            None
        } else {
            let sorted: std::collections::BTreeMap<_, _> = f.partition_values.iter().collect();
            serde_json::to_string(&sorted).ok()
        }
    });
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.path.as_str()),
        )),
        Arc::new(StringArray::from_iter(partition_values)),
        Arc::new(Int64Array::from_iter_values(files.iter().map(|f| f.size))),
        Arc::new(Int64Array::from_iter(
            stats.iter().map(|s| s.as_ref().and_then(|s| s.num_records)),
        )),
        Arc::new(Int64Array::from_iter(
            files
                .iter()
                .map(|f| f.deletion_vector.as_ref().map(|d| d.cardinality)),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(files.iter().map(|f| f.modification_time))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter(
            files.iter().map(|f| f.stats.clone()),
        )),
    ];
    Ok(RecordBatch::try_new(files_schema(), columns)?)
}
