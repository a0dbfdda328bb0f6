//! `tidemark alter` and the `--schema-mode` option of `tidemark write`.

use clap::Subcommand;
use tidemark_core::alter::{AlterOperation, alter_table};
use tidemark_core::schema::{DataType, PrimitiveType};
use tidemark_core::write::SchemaMode;

use crate::error::{CliError, CliResult};

/// How `tidemark write` treats input whose schema differs from the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum SchemaModeArg {
    /// Refuse any difference, showing it.
    #[default]
    Strict,
    /// Add new columns, write missing ones as nulls, widen types where the protocol allows.
    Merge,
    /// Replace the table's schema (with --mode overwrite).
    Overwrite,
}

impl From<SchemaModeArg> for SchemaMode {
    fn from(mode: SchemaModeArg) -> Self {
        match mode {
            SchemaModeArg::Strict => SchemaMode::Strict,
            SchemaModeArg::Merge => SchemaMode::Merge,
            SchemaModeArg::Overwrite => SchemaMode::Overwrite,
        }
    }
}

/// One change made by `tidemark alter`.
#[derive(Debug, Subcommand)]
pub(crate) enum AlterChange {
    /// Add a column (a primitive type: string, long, integer, double, date, decimal(p,s), …).
    AddColumn {
        /// The new column's name.
        name: String,
        /// Its type.
        #[arg(value_name = "TYPE")]
        data_type: String,
        /// Allow nulls (required when the table has rows).
        #[arg(long)]
        nullable: bool,
    },
    /// Rename a column (switches on column mapping; no data file is rewritten).
    RenameColumn {
        /// The current name.
        old: String,
        /// The new name.
        new: String,
    },
    /// Drop a column (switches on column mapping; no data file is rewritten).
    DropColumn {
        /// The column.
        name: String,
    },
    /// Make a NOT NULL column nullable.
    SetNullable {
        /// The column.
        name: String,
    },
    /// Set a table property.
    SetProperty {
        /// KEY=VALUE.
        #[arg(value_name = "KEY=VALUE")]
        assignment: String,
    },
    /// Set a column's comment.
    SetComment {
        /// The column.
        name: String,
        /// The comment.
        text: String,
    },
}

/// Runs `tidemark alter TABLE CHANGE`.
pub(crate) async fn alter(
    table: &str,
    change: AlterChange,
    commit: tidemark_core::commit::CommitMetadata,
) -> CliResult<()> {
    let operation = match change {
        AlterChange::AddColumn {
            name,
            data_type,
            nullable,
        } => {
            let primitive: PrimitiveType = data_type.parse()?;
            AlterOperation::AddColumn {
                name,
                data_type: DataType::Primitive(primitive),
                nullable,
            }
        }
        AlterChange::RenameColumn { old, new } => {
            AlterOperation::RenameColumn { from: old, to: new }
        }
        AlterChange::DropColumn { name } => AlterOperation::DropColumn { name },
        AlterChange::SetNullable { name } => AlterOperation::SetNullable { name },
        AlterChange::SetProperty { assignment } => {
            let (key, value) = assignment.split_once('=').ok_or_else(|| {
                CliError::Usage(format!(
                    "set-property takes KEY=VALUE, but got '{assignment}'"
                ))
            })?;
            AlterOperation::SetProperty {
                key: key.trim().to_string(),
                value: value.trim().to_string(),
            }
        }
        AlterChange::SetComment { name, text } => AlterOperation::SetComment {
            name,
            comment: text,
        },
    };
    let location = tidemark_core::TableLocation::parse(table)?;
    let description = operation.description();
    let version = alter_table(&location, operation, commit).await?;
    eprintln!("committed version {version}: {description}");
    Ok(())
}

/// The schema changes a commit with a `metaData` action made (see
/// [`tidemark_core::evolution::schema_changes`]); `["schema"]` when the versions cannot be
/// compared, and empty when only properties changed.
pub(crate) async fn schema_changes(
    location: &tidemark_core::TableLocation,
    version: u64,
) -> Vec<String> {
    use tidemark_core::snapshot::Snapshot;
    let Ok(new) = Snapshot::load(location, Some(version)).await else {
        return vec!["schema".into()];
    };
    let old = match version.checked_sub(1) {
        Some(v) => match Snapshot::load(location, Some(v)).await {
            Ok(s) => Some(s),
            Err(_) => return vec!["schema".into()],
        },
        None => None,
    };
    tidemark_core::evolution::schema_changes(
        old.as_ref().map(|s| s.schema().as_ref()),
        new.schema(),
    )
}
