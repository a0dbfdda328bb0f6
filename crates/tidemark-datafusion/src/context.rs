//! [`TidemarkContext`]: a DataFusion session with Tidemark tables, SQL time travel, `INSERT`,
//! `CREATE EXTERNAL TABLE … STORED AS TIDEMARK` and the Tidemark table functions set up.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, Utc};
use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    Ident, Insert, ObjectName, ObjectNamePart, Statement, TableObject,
};
use tidemark_core::CommitMetadata;
use tidemark_core::SchemaMode;
use tidemark_core::Snapshot;
use tidemark_core::schema::alter_table;
use tidemark_core::{Table, VersionSpec};

use crate::ddl::{ddl_target, schema_change};
use crate::error::{Error, external};
use crate::factory::TidemarkTableFactory;
use crate::functions::{FilesFunction, HistoryFunction};
use crate::insert::{
    SchemaModeSetting, TidemarkOptions, ensure_options, plan_evolving_insert, session_schema_mode,
};
use crate::provider::TidemarkTable;
use crate::time_travel::{
    AsOf, ResolvedVersions, StatementTables, TimeTravelDialect, TimeTravelPlanner, as_of,
    collect_clauses,
};

/// A DataFusion session for Tidemark tables.
///
/// ```no_run
/// # async fn demo() -> datafusion::error::Result<()> {
/// use tidemark_datafusion::TidemarkContext;
/// let ctx = TidemarkContext::new();
/// ctx.register("sales", "/data/sales").await?;
/// ctx.sql("SELECT count(*) FROM sales VERSION AS OF 12").await?.show().await?;
/// ctx.sql("INSERT INTO sales SELECT * FROM sales VERSION AS OF 3 WHERE region = 'EU'").await?.collect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TidemarkContext {
    ctx: SessionContext,
    resolved: Arc<ResolvedVersions>,
}

impl std::fmt::Debug for TidemarkContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TidemarkContext")
            .field("session", &self.ctx.session_id())
            .finish()
    }
}

impl Default for TidemarkContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TidemarkContext {
    /// A new session with default settings.
    pub fn new() -> Self {
        Self::with_session(SessionContext::new())
    }

    /// Sets Tidemark up in an existing session.
    pub fn with_session(ctx: SessionContext) -> Self {
        let resolved = Arc::new(ResolvedVersions::default());
        // Registering a planner only fails for a context that is shut down; a new one is not.
        let _ = ctx.register_relation_planner(Arc::new(TimeTravelPlanner::new(resolved.clone())));
        {
            let state = ctx.state_ref();
            let mut state = state.write();
            state
                .table_factories_mut()
                .insert("TIDEMARK".to_string(), Arc::new(TidemarkTableFactory));
            ensure_options(state.config_mut().options_mut());
        }
        ctx.register_udtf("tidemark_history", Arc::new(HistoryFunction));
        ctx.register_udtf("tidemark_files", Arc::new(FilesFunction));
        Self { ctx, resolved }
    }

    /// Whether the session reads strings as `Utf8View` (DataFusion's
    /// `datafusion.execution.parquet.schema_force_view_types`): Tidemark tables follow it.
    fn view_types(&self) -> bool {
        self.ctx
            .state_ref()
            .read()
            .config()
            .options()
            .execution
            .parquet
            .schema_force_view_types
    }

    /// The DataFusion session.
    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers the Tidemark table at `uri` under `name`, following its newest version.
    pub async fn register(&self, name: &str, uri: &str) -> crate::Result<()> {
        let table = TidemarkTable::open(uri)
            .await?
            .with_view_types(self.view_types())?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// Plans and returns one SQL statement, with time travel resolved and the tables it reads
    /// refreshed to their newest versions.
    ///
    /// An error of the table format (a version that does not exist, say) is
    /// [`Error::Tidemark`]; so is one met while the returned frame runs, once converted with
    /// `Error::from`.
    pub async fn sql(&self, sql: &str) -> crate::Result<DataFrame> {
        Ok(self.plan_sql(sql).await?)
    }

    async fn plan_sql(&self, sql: &str) -> Result<DataFrame> {
        let mut statements = DFParser::parse_sql_with_dialect(sql, &TimeTravelDialect::default())?;
        let statement = match (statements.pop_front(), statements.is_empty()) {
            (Some(statement), true) => statement,
            (None, _) => return Err(DataFusionError::Plan("no SQL statement given".into())),
            (Some(_), false) => {
                return Err(DataFusionError::Plan(
                    "one SQL statement at a time: run the statements separately".into(),
                ));
            }
        };
        if let DFStatement::Statement(inner) = &statement
            && let Some(name) = ddl_target(inner)
        {
            self.prepare_relation(&name, &Default::default()).await?;
            if let Ok(provider) = self.ctx.table_provider(reference_of(&name)).await
                && let Some(table) = provider.downcast_ref::<TidemarkTable>()
            {
                return self.run_schema_change(inner, table).await;
            }
        }
        let tables = collect_clauses(&statement);
        for relation in &tables.relations {
            self.prepare_relation(relation, &tables.ctes).await?;
        }
        for clause in &tables.clauses {
            let name = clause.table.to_string();
            if clause.table.0.len() == 1 && tables.ctes.contains(&unquoted(&clause.table)) {
                return Err(Error::TimeTravel {
                    table: name,
                    reason: "it names a common table expression (WITH … AS), which has no versions; time travel applies to tables".into(),
                }
                .into());
            }
            let provider = self.tidemark_table(&clause.table).await?;
            let location = provider
                .downcast_ref::<TidemarkTable>()
                .map(|t| t.snapshot().location().clone())
                .ok_or_else(|| DataFusionError::Internal("a Tidemark table changed type".into()))?;
            let spec = match as_of(clause)? {
                AsOf::Version(version) => VersionSpec::Version(version),
                AsOf::Snapshot(id) => VersionSpec::SnapshotId(id),
                AsOf::Tag(name) => VersionSpec::Tag(name),
                AsOf::Timestamp(expr) => {
                    VersionSpec::Timestamp(self.evaluate_instant(&name, &expr.to_string()).await?)
                }
            };
            let snapshot = Table::from_location(location)
                .snapshot(spec)
                .await
                .map_err(|source| Error::Version {
                    table: name.clone(),
                    source: Box::new(source),
                })?;
            self.resolved.insert(clause, Arc::new(snapshot));
        }
        let state = self.ctx.state();
        if let Some(target) = self.insert_target(&statement, &tables).await? {
            let mode = session_schema_mode(&state);
            if mode != SchemaMode::Strict
                && let Some(plan) = plan_evolving_insert(
                    &state,
                    &target.insert,
                    target.reference.clone(),
                    target.table.clone(),
                    mode,
                    target.lineage.clone(),
                )
                .await?
            {
                return self.ctx.execute_logical_plan(plan).await;
            }
            target.table.set_pending_lineage(target.lineage);
        }
        let plan = state.statement_to_plan(statement).await?;
        self.ctx.execute_logical_plan(plan).await
    }

    /// Runs `ALTER TABLE` / `COMMENT ON COLUMN` on a Tidemark table as one new version (see
    /// [`crate::ddl`]), and returns an empty result, as DataFusion's own DDL does.
    async fn run_schema_change(
        &self,
        statement: &Statement,
        table: &TidemarkTable,
    ) -> Result<DataFrame> {
        let change = schema_change(&self.ctx, statement).await?;
        if table.is_pinned() {
            return Err(DataFusionError::Plan(format!(
                "'{}' is a fixed version from time travel and cannot be changed; alter the table without a version clause",
                change.table
            )));
        }
        let location = table.snapshot().location().clone();
        alter_table(&location, change.operation, CommitMetadata::default())
            .await
            .map_err(external)?;
        table.refresh().await?;
        let plan = LogicalPlanBuilder::empty(false).build()?;
        Ok(DataFrame::new(self.ctx.state(), plan))
    }

    /// Sets the session's schema mode for `INSERT` (the same as
    /// `SET tidemark.schema_mode = '…'`): with [`SchemaMode::Merge`] an `INSERT` may add
    /// columns and widen types; with [`SchemaMode::Overwrite`] an `INSERT OVERWRITE` replaces
    /// the table's schema.
    pub fn set_schema_mode(&self, mode: SchemaMode) {
        let state = self.ctx.state_ref();
        let mut state = state.write();
        let options = state.config_mut().options_mut();
        ensure_options(options);
        if let Some(tidemark) = options.extensions.get_mut::<TidemarkOptions>() {
            tidemark.schema_mode = SchemaModeSetting(mode);
        }
    }

    /// For an `INSERT` into a Tidemark table: the target, its name, and every Tidemark table
    /// the statement reads (table URI, snapshot id at the version it reads), its lineage.
    async fn insert_target(
        &self,
        statement: &DFStatement,
        tables: &StatementTables,
    ) -> Result<Option<InsertTarget>> {
        let DFStatement::Statement(inner) = statement else {
            return Ok(None);
        };
        let Statement::Insert(insert) = inner.as_ref() else {
            return Ok(None);
        };
        let TableObject::TableName(target_name) = &insert.table else {
            return Ok(None);
        };
        let reference = reference_of(target_name);
        let Ok(target) = self.ctx.table_provider(reference.clone()).await else {
            return Ok(None);
        };
        let target: Arc<dyn std::any::Any + Send + Sync> = target;
        let Ok(table) = target.downcast::<TidemarkTable>() else {
            return Ok(None);
        };
        let mut inputs: Vec<(String, String)> = Vec::new();
        for clause in &tables.clauses {
            if let Some(snapshot) = self.resolved.get(&clause.key()) {
                inputs.push((
                    snapshot.location().url().to_string(),
                    snapshot.snapshot_id().map_err(external)?,
                ));
            }
        }
        let versioned: std::collections::HashSet<String> =
            tables.clauses.iter().map(|c| c.table.to_string()).collect();
        for relation in &tables.relations {
            if relation == target_name || versioned.contains(&relation.to_string()) {
                continue;
            }
            if relation.0.len() == 1 && tables.ctes.contains(&unquoted(relation)) {
                continue;
            }
            if let Ok(provider) = self.ctx.table_provider(reference_of(relation)).await
                && let Some(source) = provider.downcast_ref::<TidemarkTable>()
            {
                let snapshot = source.snapshot();
                inputs.push((
                    snapshot.location().url().to_string(),
                    snapshot.snapshot_id().map_err(external)?,
                ));
            }
        }
        inputs.sort();
        inputs.dedup();
        Ok(Some(InsertTarget {
            insert: insert.clone(),
            reference,
            table,
            lineage: inputs,
        }))
    }

    /// Refreshes a Tidemark table the statement reads, or registers a table named by its path.
    async fn prepare_relation(
        &self,
        relation: &ObjectName,
        ctes: &std::collections::HashSet<String>,
    ) -> Result<()> {
        if relation.0.len() == 1 && ctes.contains(&unquoted(relation)) {
            return Ok(());
        }
        let reference = reference_of(relation);
        match self.ctx.table_provider(reference.clone()).await {
            Ok(provider) => {
                // A view reads the tables behind it at their newest versions too.
                let mut tables = Vec::new();
                tidemark_tables_behind(&provider, &mut tables, 0)?;
                for table in tables {
                    if let Some(table) = table.downcast_ref::<TidemarkTable>() {
                        table.refresh().await?;
                    }
                }
                Ok(())
            }
            Err(_) => {
                // A table named by its path or URI.
                let text = unquoted(relation);
                let looks_like_path = text.contains('/') || text.contains(':');
                if relation.0.len() == 1
                    && looks_like_path
                    && let Ok(table) = TidemarkTable::open(&text).await
                    && let Ok(table) = table.with_view_types(self.view_types())
                {
                    self.ctx
                        .register_table(TableReference::bare(text), Arc::new(table))?;
                }
                Ok(())
            }
        }
    }

    /// The Tidemark table a name refers to.
    async fn tidemark_table(
        &self,
        name: &ObjectName,
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
        let provider = self.ctx.table_provider(reference_of(name)).await.map_err(|_| Error::NotATidemarkTable {
            name: name.to_string(),
            reason: "no table of that name is registered; register it (CREATE EXTERNAL TABLE … STORED AS TIDEMARK LOCATION '…') or name it by its path".into(),
        })?;
        if provider.downcast_ref::<TidemarkTable>().is_none() {
            return Err(Error::NotATidemarkTable {
                name: name.to_string(),
                reason: "it has no versions, so VERSION AS OF / TIMESTAMP AS OF cannot apply; read it without a version clause".into(),
            }
            .into());
        }
        Ok(provider)
    }

    /// Evaluates a constant SQL expression to an instant.
    async fn evaluate_instant(&self, table: &str, expr: &str) -> Result<DateTime<Utc>> {
        let bad = |reason: String| -> DataFusionError {
            Error::TimeTravel {
                table: table.to_string(),
                reason,
            }
            .into()
        };
        let batches = self
            .ctx
            .sql(&format!("SELECT {expr}"))
            .await
            .map_err(|e| bad(format!("cannot evaluate '{expr}': {e}")))?
            .collect()
            .await
            .map_err(|e| bad(format!("cannot evaluate '{expr}': {e}")))?;
        let column = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .map(|b| b.column(0).clone())
            .ok_or_else(|| bad(format!("'{expr}' gave no value")))?;
        if column.is_null(0) {
            return Err(bad(format!("'{expr}' is NULL, not a point in time")));
        }
        let micros = match column.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = arrow::compute::cast(&column, &DataType::Utf8)?;
                let text = text.as_string::<i32>().value(0).to_string();
                return tidemark_core::snapshot::parse_instant(&text)
                    .map_err(|e| bad(e.to_string()));
            }
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                let cast = arrow::compute::cast(
                    &column,
                    &DataType::Timestamp(TimeUnit::Microsecond, None),
                )?;
                cast.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                    .value(0)
            }
            other => {
                return Err(bad(format!(
                    "'{expr}' is of type {other}, not a timestamp; for a version number write VERSION AS OF n"
                )));
            }
        };
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| bad(format!("'{expr}' is out of range")))
    }

    /// Loads the snapshot of a registered Tidemark table at a version.
    pub async fn snapshot(&self, name: &str, spec: VersionSpec) -> crate::Result<Snapshot> {
        let provider = self.ctx.table_provider(name).await?;
        let table =
            provider
                .downcast_ref::<TidemarkTable>()
                .ok_or_else(|| Error::NotATidemarkTable {
                    name: name.to_string(),
                    reason: "it is registered, but not as a Tidemark table".into(),
                })?;
        Ok(Table::from_location(table.snapshot().location().clone())
            .snapshot(spec)
            .await?)
    }
}

/// The Tidemark table an `INSERT` writes to, with the lineage of the statement.
struct InsertTarget {
    insert: Insert,
    reference: TableReference,
    table: Arc<TidemarkTable>,
    lineage: Vec<(String, String)>,
}

/// The table reference of a name as DataFusion resolves it (unquoted parts lower-cased).
fn reference_of(name: &ObjectName) -> TableReference {
    let parts: Vec<String> = name.0.iter().map(normalized_part).collect();
    match parts.as_slice() {
        [table] => TableReference::bare(table.clone()),
        [schema, table] => TableReference::partial(schema.clone(), table.clone()),
        [catalog, schema, table] => {
            TableReference::full(catalog.clone(), schema.clone(), table.clone())
        }
        _ => TableReference::bare(name.to_string()),
    }
}

/// A one-part name's text, without quotes, as DataFusion normalizes it.
fn unquoted(name: &ObjectName) -> String {
    name.0
        .first()
        .map_or_else(|| name.to_string(), normalized_part)
}

/// An identifier as DataFusion normalizes it: quoted names kept, others lower-cased.
pub(crate) fn normalized_ident(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// One part of a name, normalized as [`normalized_ident`] does.
pub(crate) fn normalized_part(part: &ObjectNamePart) -> String {
    part.as_ident()
        .map_or_else(|| part.to_string(), normalized_ident)
}

/// How deep views of views are followed.
const MAX_VIEW_DEPTH: usize = 32;

/// Collects the Tidemark tables `provider` reads: itself, or every table scanned by the plan of
/// a view (and of the views it reads), subqueries included.
fn tidemark_tables_behind(
    provider: &Arc<dyn datafusion::catalog::TableProvider>,
    out: &mut Vec<Arc<dyn datafusion::catalog::TableProvider>>,
    depth: usize,
) -> Result<()> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::datasource::{ViewTable, source_as_provider};
    use datafusion::logical_expr::LogicalPlan;

    if provider.downcast_ref::<TidemarkTable>().is_some() {
        out.push(provider.clone());
        return Ok(());
    }
    let Some(view) = provider.downcast_ref::<ViewTable>() else {
        return Ok(());
    };
    if depth >= MAX_VIEW_DEPTH {
        return Ok(());
    }
    view.logical_plan().apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Ok(inner) = source_as_provider(&scan.source)
        {
            tidemark_tables_behind(&inner, out, depth + 1)?;
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(())
}
