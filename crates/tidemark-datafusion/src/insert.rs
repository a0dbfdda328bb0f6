//! `INSERT` with schema evolution.
//!
//! DataFusion plans an `INSERT` against the table's schema as it is: a query with an extra
//! column, or a wider type, is refused before any sink sees it. When the session's
//! `tidemark.schema_mode` is `merge` (or `overwrite`, for `INSERT OVERWRITE`), Tidemark plans
//! the statement itself: the query's columns are named after the table's columns (by position,
//! or by the statement's column list), extra columns keep their own names and become new
//! nullable columns, and the query's own types reach Tidemark's write path, which widens the
//! table's types where the protocol allows and refuses any other change naming the column.
//!
//! Numbers written as literals (`VALUES (1, 'a')`, `SELECT 1`) take the table's type for an
//! existing numeric column, as in a strict `INSERT`: a literal `1` is a 64-bit integer in
//! DataFusion, and must not widen an `int` column by accident.
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! use tidemark_datafusion::TidemarkContext;
//! let ctx = TidemarkContext::new();
//! ctx.register("sales", "/data/sales").await?;
//! ctx.sql("SET tidemark.schema_mode = 'merge'").await?.collect().await?;
//! // `staging` has one more column than `sales`: it becomes a new column of `sales`.
//! ctx.sql("INSERT INTO sales SELECT * FROM staging").await?.collect().await?;
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::{ConfigExtension, ConfigField, Visit};
use datafusion::common::{Column, TableReference, extensions_options};
use datafusion::datasource::TableType;
use datafusion::datasource::provider_as_source;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{Insert, Statement};
use tidemark_core::SchemaMode;

use crate::context::normalized_part;
use crate::provider::TidemarkTable;
use crate::sink::TidemarkSink;

extensions_options! {
    /// Tidemark's session settings, under the `tidemark.` prefix (`SET tidemark.… = …`).
    pub struct TidemarkOptions {
        /// How `INSERT` treats a query whose schema differs from the table's: `strict` (an
        /// error, the default), `merge` (add new columns, widen types) or `overwrite`
        /// (`INSERT OVERWRITE` replaces the table's schema by the query's).
        pub schema_mode: SchemaModeSetting, default = SchemaModeSetting::default()
    }
}

impl ConfigExtension for TidemarkOptions {
    const PREFIX: &'static str = "tidemark";
}

/// The value of the `tidemark.schema_mode` setting: a [`SchemaMode`], checked when it is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaModeSetting(pub SchemaMode);

impl fmt::Display for SchemaModeSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            SchemaMode::Strict => "strict",
            SchemaMode::Merge => "merge",
            SchemaMode::Overwrite => "overwrite",
        })
    }
}

impl FromStr for SchemaModeSetting {
    type Err = DataFusionError;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Self(SchemaMode::Strict)),
            "merge" => Ok(Self(SchemaMode::Merge)),
            "overwrite" => Ok(Self(SchemaMode::Overwrite)),
            other => Err(DataFusionError::Configuration(format!(
                "'{other}' is not a schema mode for tidemark.schema_mode; use 'strict', 'merge' or 'overwrite'"
            ))),
        }
    }
}

impl ConfigField for SchemaModeSetting {
    fn visit<V: Visit>(&self, visitor: &mut V, key: &str, description: &'static str) {
        visitor.some(key, self, description);
    }

    fn set(&mut self, _key: &str, value: &str) -> Result<()> {
        *self = value.parse()?;
        Ok(())
    }

    fn reset(&mut self, _key: &str) -> Result<()> {
        *self = Self::default();
        Ok(())
    }
}

/// The schema mode of a session (`strict` when Tidemark's options are not set up in it).
pub(crate) fn session_schema_mode(state: &SessionState) -> SchemaMode {
    match state.config().options().extensions.get::<TidemarkOptions>() {
        Some(options) => options.schema_mode.0,
        None => SchemaMode::Strict,
    }
}

/// Whether an `INSERT` has only the parts this planner handles: a target table, an optional
/// column list and a query. Anything else is left to DataFusion, which reports it.
fn is_plain(insert: &Insert) -> bool {
    insert.or.is_none()
        && !insert.ignore
        && insert.partitioned.is_none()
        && insert.after_columns.is_empty()
        && insert.on.is_none()
        && insert.returning.is_none()
        && insert.output.is_none()
        && !insert.replace_into
        && insert.assignments.is_empty()
        && insert.settings.is_none()
        && insert.format_clause.is_none()
        && insert.multi_table_into_clauses.is_empty()
        && insert.source.is_some()
}

/// Plans `insert` into `table` under a non-strict schema mode. Returns `None` when the
/// statement has parts this planner leaves to DataFusion.
pub(crate) async fn plan_evolving_insert(
    state: &SessionState,
    insert: &Insert,
    table_name: TableReference,
    table: Arc<TidemarkTable>,
    mode: SchemaMode,
    lineage: Vec<(String, String)>,
) -> Result<Option<LogicalPlan>> {
    if !is_plain(insert) {
        return Ok(None);
    }
    let Some(source) = &insert.source else {
        return Ok(None);
    };
    if table.is_pinned() {
        return Err(DataFusionError::Plan(format!(
            "'{table_name}' is a fixed version from time travel and cannot be written; write to the table without a version clause"
        )));
    }
    let op = if insert.overwrite {
        InsertOp::Overwrite
    } else {
        InsertOp::Append
    };
    if mode == SchemaMode::Overwrite && op != InsertOp::Overwrite {
        return Err(DataFusionError::Plan(
            "tidemark.schema_mode = 'overwrite' replaces the table's schema, so it needs INSERT OVERWRITE; to add columns with INSERT INTO, set tidemark.schema_mode = 'merge'".into(),
        ));
    }
    table.refresh().await?;
    let query = DFStatement::Statement(Box::new(Statement::Query(source.clone())));
    let query = state.statement_to_plan(query).await?;
    let literal_columns = literal_columns(&query);
    let table_schema = table.schema();
    let source_schema = query.schema().clone();
    let listed: Vec<String> = insert
        .columns
        .iter()
        .map(|name| match name.0.as_slice() {
            [part] => Ok(normalized_part(part)),
            _ => Err(DataFusionError::Plan(format!(
                "INSERT names the column '{name}' by a path; name top-level columns only"
            ))),
        })
        .collect::<Result<_>>()?;
    if !listed.is_empty() && listed.len() != source_schema.fields().len() {
        return Err(DataFusionError::Plan(format!(
            "the INSERT names {} column(s) but its query gives {}; give one name per column of the query",
            listed.len(),
            source_schema.fields().len()
        )));
    }
    let mut names = HashSet::new();
    let mut exprs = Vec::with_capacity(source_schema.fields().len());
    for (i, (qualifier, field)) in source_schema.iter().enumerate() {
        let name = if let Some(name) = listed.get(i) {
            name.clone()
        } else if mode == SchemaMode::Merge && i < table_schema.fields().len() {
            table_schema.field(i).name().clone()
        } else {
            field.name().clone()
        };
        if !names.insert(name.to_lowercase()) {
            return Err(DataFusionError::Plan(format!(
                "the INSERT gives the column '{name}' twice; give each column once (alias the query's columns, or list the target columns)"
            )));
        }
        let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
        let existing = table_schema.field_with_name(&name).ok();
        let expr = match existing {
            // A literal takes the column's type, as in a strict INSERT.
            Some(target)
                if mode == SchemaMode::Merge
                    && literal_columns.contains(&i)
                    && field.data_type().is_numeric()
                    && target.data_type().is_numeric() =>
            {
                column.cast_to(target.data_type(), &source_schema)?
            }
            _ if field.data_type() == &DataType::Null => {
                let Some(target) = existing else {
                    return Err(DataFusionError::Plan(format!(
                        "the new column '{name}' is only NULL, so it has no type; CAST it to the type the column should have"
                    )));
                };
                column.cast_to(target.data_type(), &source_schema)?
            }
            _ => column,
        };
        exprs.push(expr.alias(name));
    }
    let input = LogicalPlanBuilder::from(query).project(exprs)?.build()?;
    let target = EvolvingTarget {
        table,
        schema: Arc::new(input.schema().as_arrow().clone()),
        mode,
        lineage,
    };
    let plan = LogicalPlanBuilder::insert_into(
        input,
        table_name,
        provider_as_source(Arc::new(target)),
        op,
    )?
    .build()?;
    Ok(Some(plan))
}

/// The output columns of a plan that are literals (their types are DataFusion's defaults,
/// not the data's).
fn literal_columns(plan: &LogicalPlan) -> HashSet<usize> {
    match plan {
        LogicalPlan::Values(values) => (0..values.schema.fields().len()).collect(),
        LogicalPlan::Projection(projection) => projection
            .expr
            .iter()
            .enumerate()
            .filter(|(_, e)| is_literal(e))
            .map(|(i, _)| i)
            .collect(),
        _ => HashSet::new(),
    }
}

/// Whether an expression is a literal, perhaps under aliases.
fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Alias(alias) => is_literal(&alias.expr),
        Expr::Literal(..) => true,
        _ => false,
    }
}

/// The target of an evolving `INSERT`: the table, seen with the schema of the data written,
/// so that DataFusion hands the rows over unchanged and Tidemark's write path evolves the
/// table's schema.
#[derive(Debug)]
struct EvolvingTarget {
    table: Arc<TidemarkTable>,
    schema: SchemaRef,
    mode: SchemaMode,
    lineage: Vec<(String, String)>,
}

#[async_trait]
impl TableProvider for EvolvingTarget {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::Internal(
            "the target of an INSERT with schema evolution is only written, never read".into(),
        ))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let sink = TidemarkSink::new(self.table.snapshot(), self.schema.clone(), insert_op)?
            .with_lineage(self.lineage.clone())
            .with_schema_mode(self.mode);
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// Sets Tidemark's options up in a session config, keeping values already set.
pub(crate) fn ensure_options(options: &mut datafusion::common::config::ConfigOptions) {
    if options.extensions.get::<TidemarkOptions>().is_none() {
        options.extensions.insert(TidemarkOptions::default());
    }
}
