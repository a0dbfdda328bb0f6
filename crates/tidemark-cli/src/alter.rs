//! `tidemark alter` and the `--schema-mode` option of `tidemark write`.

use clap::Subcommand;
use tidemark_core::SchemaMode;
use tidemark_core::schema::{AlterOperation, alter_table};
use tidemark_core::schema::{DataType, PrimitiveType, format_column_path, parse_column_path};

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
///
/// Columns are named by a path: `address.city` is the field `city` of the struct column
/// `address`; `items.element.price` reaches into the structs of the array `items`, and
/// `attrs.value.unit` into the values of the map `attrs`. Quote a name holding dots with
/// backticks: `` `a.b`.c `` (double a backtick inside quotes).
#[derive(Debug, Subcommand)]
pub(crate) enum AlterChange {
    /// Add a column, or a field to a struct column (PATH address.zip adds `zip` to `address`).
    ///
    /// TYPE is a primitive type (string, long, integer, double, date, decimal(p,s), …) or a
    /// Delta JSON type such as '{"type":"struct","fields":[...]}' or
    /// '{"type":"array","elementType":"long","containsNull":true}'.
    AddColumn {
        /// The new column's path.
        #[arg(value_name = "PATH")]
        name: String,
        /// Its type.
        #[arg(value_name = "TYPE")]
        data_type: String,
        /// Allow nulls (required when the table has rows).
        #[arg(long)]
        nullable: bool,
    },
    /// Rename a column or nested field (switches on column mapping; no data file is
    /// rewritten). `rename-column address.city town` renames the field `city` of `address`.
    RenameColumn {
        /// The current path.
        #[arg(value_name = "PATH")]
        old: String,
        /// The new name of the path's last field (a full path with the same parent is also
        /// accepted).
        #[arg(value_name = "NEW_NAME")]
        new: String,
    },
    /// Drop a column or nested field (switches on column mapping; no data file is rewritten).
    DropColumn {
        /// The path.
        #[arg(value_name = "PATH")]
        name: String,
    },
    /// Make a NOT NULL column or field nullable (also PATH.element of an array, PATH.value of
    /// a map).
    SetNullable {
        /// The path.
        #[arg(value_name = "PATH")]
        name: String,
    },
    /// Set a table property.
    SetProperty {
        /// KEY=VALUE.
        #[arg(value_name = "KEY=VALUE")]
        assignment: String,
    },
    /// Set the comment of a column or nested field.
    SetComment {
        /// The path.
        #[arg(value_name = "PATH")]
        name: String,
        /// The comment.
        text: String,
    },
}

/// The type given to `add-column`: a primitive type name, or a Delta JSON type.
fn parse_type(text: &str) -> CliResult<DataType> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str::<DataType>(text).map_err(|e| {
            CliError::Usage(format!(
                "the type '{text}' is not a valid Delta JSON type ({e}); write a primitive type such as long, or JSON such as {{\"type\":\"array\",\"elementType\":\"long\",\"containsNull\":true}}"
            ))
        });
    }
    let primitive: PrimitiveType = text.parse()?;
    Ok(DataType::Primitive(primitive))
}

/// The new name given to `rename-column`: one field name (quoted with backticks if it holds
/// dots), or a full path whose parent is the renamed field's parent.
fn new_field_name(old: &str, new: &str) -> CliResult<String> {
    let segments = parse_column_path(new)?;
    match segments.as_slice() {
        [name] => Ok(name.clone()),
        [parent @ .., name] => {
            let old_segments = parse_column_path(old)?;
            match old_segments.split_last() {
                Some((_, old_parent)) if old_parent == parent => Ok(name.clone()),
                _ => Err(CliError::Usage(format!(
                    "the new name '{new}' is a path with another parent than '{old}'; give the new name of the last field only (rename-column {old} {}), and quote a name holding dots with backticks",
                    format_column_path(&[name])
                ))),
            }
        }
        [] => Err(CliError::Usage("the new name is empty".into())),
    }
}

/// Runs `tidemark alter TABLE CHANGE`.
pub(crate) async fn alter(
    table: &str,
    change: AlterChange,
    commit: tidemark_core::CommitMetadata,
) -> CliResult<()> {
    let operation = match change {
        AlterChange::AddColumn {
            name,
            data_type,
            nullable,
        } => AlterOperation::AddColumn {
            name,
            data_type: parse_type(&data_type)?,
            nullable,
        },
        AlterChange::RenameColumn { old, new } => {
            let to = new_field_name(&old, &new)?;
            AlterOperation::RenameColumn { from: old, to }
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
/// [`tidemark_core::schema::schema_changes`]); `["schema"]` when the versions cannot be
/// compared, and empty when only properties changed.
pub(crate) async fn schema_changes(
    location: &tidemark_core::TableLocation,
    version: u64,
) -> Vec<String> {
    use tidemark_core::{Table, VersionSpec};
    let table = Table::from_location(location.clone());
    let Ok(new) = table.snapshot(VersionSpec::Version(version)).await else {
        return vec!["schema".into()];
    };
    let old = match version.checked_sub(1) {
        Some(v) => match table.snapshot(VersionSpec::Version(v)).await {
            Ok(s) => Some(s),
            Err(_) => return vec!["schema".into()],
        },
        None => None,
    };
    tidemark_core::schema::schema_changes(old.as_ref().map(|s| s.schema().as_ref()), new.schema())
}
