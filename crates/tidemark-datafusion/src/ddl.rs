//! Schema changes in SQL: `ALTER TABLE` and `COMMENT ON COLUMN` on Tidemark tables.
//!
//! DataFusion parses these statements but has no plan for them; for a Tidemark table they
//! become one [`AlterOperation`] each, committed as one new version through
//! [`tidemark_core::schema::alter_table`] (renames and drops switch column mapping on, and no
//! data file is rewritten). Like DataFusion's own DDL, they run when the statement is planned.
//!
//! | SQL | change |
//! |---|---|
//! | `ALTER TABLE t ADD COLUMN c BIGINT [NOT NULL]` | add a column |
//! | `ALTER TABLE t RENAME COLUMN a TO b` | rename a column |
//! | `ALTER TABLE t DROP COLUMN c` | drop a column |
//! | `ALTER TABLE t ALTER COLUMN c DROP NOT NULL` | relax nullability |
//! | `ALTER TABLE t SET TBLPROPERTIES ('k' = 'v')` | set a table property |
//! | `COMMENT ON COLUMN t.c IS '…'` | set a column's comment |
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! use tidemark_datafusion::TidemarkContext;
//! let ctx = TidemarkContext::new();
//! ctx.register("sales", "/data/sales").await?;
//! ctx.sql("ALTER TABLE sales RENAME COLUMN amount TO amount_eur").await?;
//! ctx.sql("SELECT amount FROM sales VERSION AS OF 3").await?.show().await?;
//! # Ok(()) }
//! ```

use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CommentObject,
    Expr as SqlExpr, Ident, ObjectName, SqlOption, Statement, Value,
};
use tidemark_core::schema::AlterOperation;
use tidemark_core::schema::{DataType, StructType};

use crate::context::normalized_ident;

/// A schema change of a Tidemark table found in a statement: the table's name and the change.
#[derive(Debug)]
pub(crate) struct SchemaChange {
    /// The table, as named in the statement.
    pub table: ObjectName,
    /// What to change.
    pub operation: AlterOperation,
}

/// The table a DDL statement changes, if the statement is one this module handles.
pub(crate) fn ddl_target(statement: &Statement) -> Option<ObjectName> {
    match statement {
        Statement::AlterTable(AlterTable { name, .. }) => Some(name.clone()),
        Statement::Comment {
            object_type: CommentObject::Column,
            object_name,
            ..
        } if object_name.0.len() >= 2 => Some(ObjectName(
            object_name.0[..object_name.0.len() - 1].to_vec(),
        )),
        _ => None,
    }
}

/// Translates a DDL statement on a Tidemark table into the change it asks for, or an error
/// naming what is not supported and what to write instead.
pub(crate) async fn schema_change(
    ctx: &SessionContext,
    statement: &Statement,
) -> Result<SchemaChange> {
    match statement {
        Statement::AlterTable(alter) => {
            let table = alter.name.clone();
            let [operation] = alter.operations.as_slice() else {
                return Err(unsupported(format!(
                    "ALTER TABLE {table} has {} changes; each change is its own version, so give one change per ALTER TABLE statement",
                    alter.operations.len()
                )));
            };
            let operation = alter_operation(ctx, &table, operation).await?;
            Ok(SchemaChange { table, operation })
        }
        Statement::Comment {
            object_type: CommentObject::Column,
            object_name,
            comment,
            ..
        } => {
            let Some((column, table)) = object_name.0.split_last() else {
                return Err(unsupported(
                    "COMMENT ON COLUMN needs table.column".to_string(),
                ));
            };
            let column = part_name(column.as_ident())?;
            Ok(SchemaChange {
                table: ObjectName(table.to_vec()),
                operation: AlterOperation::SetComment {
                    name: column,
                    comment: comment.clone().unwrap_or_default(),
                },
            })
        }
        other => Err(unsupported(format!(
            "'{other}' is not a schema change Tidemark knows"
        ))),
    }
}

async fn alter_operation(
    ctx: &SessionContext,
    table: &ObjectName,
    operation: &AlterTableOperation,
) -> Result<AlterOperation> {
    match operation {
        AlterTableOperation::AddColumn {
            column_def,
            column_position: None,
            ..
        } => add_column(ctx, column_def).await,
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => Ok(AlterOperation::RenameColumn {
            from: normalized_ident(old_column_name),
            to: normalized_ident(new_column_name),
        }),
        AlterTableOperation::DropColumn { column_names, .. } => match column_names.as_slice() {
            [name] => Ok(AlterOperation::DropColumn {
                name: normalized_ident(name),
            }),
            _ => Err(unsupported(format!(
                "ALTER TABLE {table} drops {} columns at once; drop one column per statement",
                column_names.len()
            ))),
        },
        AlterTableOperation::AlterColumn {
            column_name,
            op: AlterColumnOperation::DropNotNull,
        } => Ok(AlterOperation::SetNullable {
            name: normalized_ident(column_name),
        }),
        AlterTableOperation::SetTblProperties { table_properties } => {
            match table_properties.as_slice() {
                [SqlOption::KeyValue { key, value }] => Ok(AlterOperation::SetProperty {
                    key: key.value.clone(),
                    value: literal_text(value)?,
                }),
                _ => Err(unsupported(
                    "SET TBLPROPERTIES takes one 'key' = 'value' pair per statement (each is its own version)"
                        .to_string(),
                )),
            }
        }
        other => Err(unsupported(format!(
            "'{other}' is not supported on Tidemark tables; supported: ADD COLUMN, RENAME COLUMN, DROP COLUMN, ALTER COLUMN … DROP NOT NULL, SET TBLPROPERTIES, and COMMENT ON COLUMN"
        ))),
    }
}

/// `ADD COLUMN name type [NOT NULL | NULL]`: the type is resolved by DataFusion's own SQL
/// type mapping, so `INT`, `VARCHAR`, `DECIMAL(10, 2)`, `TIMESTAMP` … mean what they mean in
/// `CREATE TABLE`.
async fn add_column(ctx: &SessionContext, column: &ColumnDef) -> Result<AlterOperation> {
    let mut nullable = true;
    for option in &column.options {
        match &option.option {
            ColumnOption::NotNull => nullable = false,
            ColumnOption::Null => nullable = true,
            other => {
                return Err(unsupported(format!(
                    "the column option '{other}' is not supported when adding a column to a Tidemark table; add the column with its name and type (and NOT NULL), then COMMENT ON COLUMN for a comment"
                )));
            }
        }
    }
    let probe = ctx
        .sql(&format!("SELECT CAST(NULL AS {}) AS c", column.data_type))
        .await?;
    let arrow_type = probe.schema().field(0).data_type().clone();
    let fields =
        arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("c", arrow_type, true)]);
    let delta = StructType::from_arrow(&fields).map_err(crate::error::external)?;
    let data_type: DataType = delta
        .fields
        .into_iter()
        .next()
        .map(|f| f.data_type)
        .ok_or_else(|| DataFusionError::Internal("a one-column schema has no column".into()))?;
    Ok(AlterOperation::AddColumn {
        name: normalized_ident(&column.name),
        data_type,
        nullable,
    })
}

fn part_name(ident: Option<&Ident>) -> Result<String> {
    ident
        .map(normalized_ident)
        .ok_or_else(|| unsupported("a column must be named by an identifier".to_string()))
}

/// The text of a property value: a string or a number literal.
fn literal_text(value: &SqlExpr) -> Result<String> {
    match value {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(s.clone()),
            Value::Number(n, _) => Ok(n.to_string()),
            Value::Boolean(b) => Ok(b.to_string()),
            other => Err(unsupported(format!(
                "the property value {other} is not a string, number or boolean; quote it"
            ))),
        },
        SqlExpr::Identifier(ident) => Ok(ident.value.clone()),
        other => Err(unsupported(format!(
            "the property value {other} is not a literal; quote it"
        ))),
    }
}

fn unsupported(message: String) -> DataFusionError {
    DataFusionError::Plan(message)
}
