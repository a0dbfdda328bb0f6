//! SQL time travel: `FROM t VERSION AS OF 12`, `FROM t TIMESTAMP AS OF <expr>`,
//! `FROM t FOR SYSTEM_TIME AS OF <expr>`, `FROM t AT(VERSION => 12)` and
//! `FROM t AT(TIMESTAMP => <expr>)`.
//!
//! Three parts work together:
//!
//! - [`TimeTravelDialect`] is DataFusion's default (generic) SQL dialect with table versions
//!   parsed, and nothing else changed;
//! - before a statement is planned, [`collect_clauses`] finds every versioned table in it
//!   (joins, CTEs, subqueries, `INSERT … SELECT`, `EXPLAIN`), and the context resolves each to
//!   a snapshot, which needs I/O;
//! - [`TimeTravelPlanner`], a DataFusion [`RelationPlanner`], plans each versioned table as a
//!   scan of its resolved snapshot, named with its version (`t@v12`) under the name as
//!   written (or the user's alias), so that no two versions' scans are ever alike. A
//!   versioned table it cannot plan is an error, never the latest data.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use datafusion::common::TableReference;
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, Statement,
    TableFactor, TableVersion, Value, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};
use tidemark_core::Snapshot;

use crate::provider::TidemarkTable;

/// DataFusion's generic dialect, with table versions (`VERSION AS OF`, `TIMESTAMP AS OF`,
/// `FOR SYSTEM_TIME AS OF`, `AT(…)`) parsed. Every other rule is the generic dialect's.
#[derive(Debug, Default)]
pub struct TimeTravelDialect(GenericDialect);

macro_rules! delegate_bool {
    ($($name:ident),* $(,)?) => {
        $(fn $name(&self) -> bool { self.0.$name() })*
    };
}

impl Dialect for TimeTravelDialect {
    fn dialect(&self) -> TypeId {
        self.0.dialect()
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }

    fn supports_table_versioning(&self) -> bool {
        true
    }

    delegate_bool!(
        supports_unicode_string_literal,
        supports_partition_by_after_order_by,
        supports_array_join_syntax,
        supports_group_by_expr,
        supports_group_by_with_modifier,
        supports_left_associative_joins_without_parens,
        supports_connect_by,
        supports_match_recognize,
        supports_pipe_operator,
        supports_start_transaction_modifier,
        supports_window_function_null_treatment_arg,
        supports_dictionary_syntax,
        supports_window_clause_named_window_reference,
        supports_parenthesized_set_variables,
        supports_select_wildcard_except,
        support_map_literal_syntax,
        allow_extract_custom,
        allow_extract_single_quotes,
        supports_extract_comma_syntax,
        supports_create_view_comment_syntax,
        supports_parens_around_table_factor,
        supports_values_as_table_factor,
        supports_create_index_with_clause,
        supports_explain_with_utility_options,
        supports_limit_comma,
        supports_update_order_by,
        supports_from_first_select,
        supports_projection_trailing_commas,
        supports_asc_desc_in_column_definition,
        supports_try_convert,
        supports_bitwise_shift_operators,
        supports_comment_on,
        supports_load_extension,
        supports_named_fn_args_with_assignment_operator,
        supports_struct_literal,
        supports_empty_projections,
        supports_nested_comments,
        supports_multiline_comment_hints,
        supports_user_host_grantee,
        supports_string_escape_constant,
        supports_array_typedef_with_brackets,
        supports_match_against,
        supports_set_names,
        supports_comma_separated_set_assignments,
        supports_filter_during_aggregation,
        supports_select_wildcard_exclude,
        supports_data_type_signed_suffix,
        supports_interval_options,
        supports_quote_delimited_string,
        supports_select_wildcard_replace,
        supports_select_wildcard_ilike,
        supports_select_wildcard_rename,
        supports_optimize_table,
        supports_install,
        supports_detach,
        supports_prewhere,
        supports_with_fill,
        supports_limit_by,
        supports_interpolate,
        supports_settings,
        supports_select_format,
        supports_comment_optimizer_hint,
        supports_constraint_keyword_without_name,
        supports_key_column_option,
        supports_comma_separated_trim,
        supports_cte_without_as,
        supports_select_item_multi_column_alias,
        supports_xml_expressions,
    );
}

/// One versioned table of a statement, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionClause {
    /// The table's name as written.
    pub table: ObjectName,
    /// The clause as written.
    pub version: TableVersion,
}

impl VersionClause {
    /// The key under which its snapshot is resolved.
    pub(crate) fn key(&self) -> (String, String) {
        clause_key(&self.table, &self.version)
    }
}

fn clause_key(table: &ObjectName, version: &TableVersion) -> (String, String) {
    (table.to_string(), version.to_string())
}

/// What a clause asks for, before any I/O.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// A version number.
    Version(u64),
    /// An expression that evaluates to an instant.
    Timestamp(Box<SqlExpr>),
    /// A snapshot id (`AT(SNAPSHOT => 'tm1.…')`).
    Snapshot(String),
    /// A tag (`AT(TAG => 'name')`).
    Tag(String),
}

/// Reads a clause: a version number, or a timestamp expression still to be evaluated.
pub fn as_of(clause: &VersionClause) -> crate::error::Result<AsOf> {
    let bad = |reason: String| crate::error::Error::TimeTravel {
        table: clause.table.to_string(),
        reason,
    };
    match &clause.version {
        TableVersion::VersionAsOf(expr) => version_number(expr).map(AsOf::Version).map_err(bad),
        TableVersion::TimestampAsOf(expr) | TableVersion::ForSystemTimeAsOf(expr) => {
            Ok(AsOf::Timestamp(Box::new(expr.clone())))
        }
        TableVersion::Function(SqlExpr::Function(function))
            if function.name.to_string().eq_ignore_ascii_case("AT") =>
        {
            let FunctionArguments::List(list) = &function.args else {
                return Err(bad(
                    "write AT(VERSION => n) or AT(TIMESTAMP => expression)".into()
                ));
            };
            match list.args.as_slice() {
                [
                    FunctionArg::Named {
                        name,
                        arg: FunctionArgExpr::Expr(expr),
                        ..
                    },
                ] => match name.value.to_ascii_uppercase().as_str() {
                    "VERSION" => version_number(expr).map(AsOf::Version).map_err(bad),
                    "TIMESTAMP" => Ok(AsOf::Timestamp(Box::new(expr.clone()))),
                    "SNAPSHOT" => string_literal(expr).map(AsOf::Snapshot).map_err(bad),
                    "TAG" => string_literal(expr).map(AsOf::Tag).map_err(bad),
                    other => Err(bad(format!(
                        "AT({other} => …) is not supported; write AT(VERSION => n), AT(TIMESTAMP => expression), AT(SNAPSHOT => 'id') or AT(TAG => 'name')"
                    ))),
                },
                _ => Err(bad(
                    "write AT(VERSION => n) or AT(TIMESTAMP => expression)".into()
                )),
            }
        }
        other => Err(bad(format!(
            "'{other}' is not supported; write VERSION AS OF n, TIMESTAMP AS OF expression, FOR SYSTEM_TIME AS OF expression, or AT(VERSION => n)"
        ))),
    }
}

fn string_literal(expr: &SqlExpr) -> std::result::Result<String, String> {
    match expr {
        SqlExpr::Value(value) => match &value.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(s.clone()),
            other => Err(format!(
                "'{other}' is not a string: quote snapshot ids and tag names"
            )),
        },
        other => Err(format!(
            "'{other}' is not a string: quote snapshot ids and tag names"
        )),
    }
}

fn version_number(expr: &SqlExpr) -> std::result::Result<u64, String> {
    let text = match expr {
        SqlExpr::Value(value) => match &value.value {
            Value::Number(n, _) => n.clone(),
            Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    text.trim().parse::<u64>().map_err(|_| {
        format!("'{text}' is not a version number: versions are whole numbers from 0 up")
    })
}

/// Versioned tables, all table names, and CTE names of a statement.
#[derive(Debug, Default)]
pub struct StatementTables {
    /// Every versioned table.
    pub clauses: Vec<VersionClause>,
    /// Every table name the statement mentions (CTE references included).
    pub relations: Vec<ObjectName>,
    /// Names the statement defines as CTEs.
    pub ctes: HashSet<String>,
}

#[derive(Default)]
struct Collector {
    found: StatementTables,
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_table_factor(&mut self, table_factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            version: Some(version),
            ..
        } = table_factor
        {
            self.found.clauses.push(VersionClause {
                table: name.clone(),
                version: version.clone(),
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.found.relations.push(relation.clone());
        ControlFlow::Continue(())
    }

    fn pre_visit_query(
        &mut self,
        query: &datafusion::sql::sqlparser::ast::Query,
    ) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.found.ctes.insert(cte.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Finds the versioned tables, table names and CTE names of a statement.
pub fn collect_clauses(statement: &DFStatement) -> StatementTables {
    let mut collector = Collector::default();
    visit_statement(statement, &mut collector);
    collector.found
}

fn visit_statement(statement: &DFStatement, collector: &mut Collector) {
    match statement {
        DFStatement::Statement(inner) => {
            let inner: &Statement = inner;
            let _ = inner.visit(collector);
        }
        DFStatement::Explain(explain) => visit_statement(&explain.statement, collector),
        DFStatement::CopyTo(copy) => {
            if let datafusion::sql::parser::CopyToSource::Query(query) = &copy.source {
                let _ = query.visit(collector);
            }
        }
        DFStatement::CreateExternalTable(_) | DFStatement::Reset(_) => {}
    }
}

/// Snapshots resolved for the version clauses of statements, shared by the context (which
/// fills it) and the planner (which reads it).
#[derive(Debug, Default)]
pub struct ResolvedVersions {
    snapshots: Mutex<HashMap<(String, String), Arc<Snapshot>>>,
}

impl ResolvedVersions {
    pub(crate) fn insert(&self, clause: &VersionClause, snapshot: Arc<Snapshot>) {
        let mut map = match self.snapshots.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(clause.key(), snapshot);
    }

    pub(crate) fn get(&self, key: &(String, String)) -> Option<Arc<Snapshot>> {
        let map = match self.snapshots.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(key).cloned()
    }
}

/// Plans versioned tables as scans of their resolved snapshots.
#[derive(Debug)]
pub struct TimeTravelPlanner {
    resolved: Arc<ResolvedVersions>,
}

impl TimeTravelPlanner {
    /// A planner reading snapshots from `resolved`.
    pub fn new(resolved: Arc<ResolvedVersions>) -> Self {
        Self { resolved }
    }
}

impl RelationPlanner for TimeTravelPlanner {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<RelationPlanning> {
        let TableFactor::Table {
            name,
            alias,
            version: Some(version),
            args,
            ..
        } = &relation
        else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        if args.is_some() {
            return Err(DataFusionError::Plan(format!(
                "a table function cannot be read at a version: '{name}'"
            )));
        }
        let key = clause_key(name, version);
        let Some(snapshot) = self.resolved.get(&key) else {
            return Err(DataFusionError::Plan(format!(
                "'{version}' on '{name}' was not resolved: time travel needs a Tidemark table and a query run through TidemarkContext::sql"
            )));
        };
        let reference = context.object_name_to_table_reference(name.clone())?;
        let view_types = context
            .context_provider()
            .options()
            .execution
            .parquet
            .schema_force_view_types;
        let scanned = versioned_reference(&reference, snapshot.version());
        let provider = TidemarkTable::pinned(snapshot)?.with_view_types(view_types)?;
        let mut plan =
            LogicalPlanBuilder::scan(scanned, provider_as_source(Arc::new(provider)), None)?;
        if alias.is_none() {
            // Columns keep the qualifier of the name as written (`t.id`, `schema.t.id`); a
            // user's alias replaces it, as DataFusion applies it on top of this plan.
            plan = plan.alias(reference)?;
        }
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan.build()?,
            alias.clone(),
        ))))
    }
}

/// The name a scan of `version` of the table `reference` is planned under: the table's name
/// with `@v<version>` appended (`t@v2`, `schema.t@v2`).
///
/// DataFusion compares and hashes table scans by their name, projection, filters and limit,
/// not by what they read. A scan named like the table, whatever its version, would equal a
/// scan of another version (or of the latest, planned as `t`), and an optimizer rule that
/// merges equal subplans would then read one version for both. With the version in the name,
/// scans of different versions never compare equal, scans that resolve to the same version
/// (by number, timestamp, tag or snapshot id) do, and `EXPLAIN` shows the version.
fn versioned_reference(reference: &TableReference, version: u64) -> TableReference {
    let table = format!("{}@v{version}", reference.table());
    match reference {
        TableReference::Bare { .. } => TableReference::bare(table),
        TableReference::Partial { schema, .. } => TableReference::partial(schema.clone(), table),
        TableReference::Full {
            catalog, schema, ..
        } => TableReference::full(catalog.clone(), schema.clone(), table),
    }
}
