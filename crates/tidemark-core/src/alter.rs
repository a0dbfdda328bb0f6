//! Explicit schema and property changes, each committed as one new version holding a new
//! `metaData` action (and a `protocol` action when a table feature is switched on). No data
//! file is rewritten.
//!
//! Renaming and dropping a column need column mapping: the first time one is asked for, the
//! table is switched to column mapping mode `name` (protocol reader 2 / writer 5, or reader 3 /
//! writer 7 with the feature `columnMapping` when the table already uses table features). Every
//! existing field keeps its current name as its physical name, so existing data files still
//! resolve.
//!
//! ```no_run
//! # async fn demo() -> tidemark_core::Result<()> {
//! use tidemark_core::alter::{AlterOperation, alter_table};
//! let location = tidemark_core::TableLocation::parse("/tmp/sales")?;
//! let op = AlterOperation::RenameColumn { from: "amt".into(), to: "amount".into() };
//! let version = alter_table(&location, op, Default::default()).await?;
//! println!("renamed in version {version}");
//! # Ok(()) }
//! ```

use std::sync::Arc;

use serde_json::Value;

use crate::actions::{Action, Protocol};
use crate::commit::{CommitMetadata, ReadScope, Transaction};
use crate::error::{Error, Result};
use crate::evolution::{MAX_COLUMN_ID, assign_new_ids, enable_reader_writer_feature};
use crate::features;
use crate::schema::{
    COLUMN_MAPPING_ID, COLUMN_MAPPING_MODE, COLUMN_MAPPING_PHYSICAL_NAME, ColumnMappingMode,
    DataType, StructField, StructType,
};
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;

/// Table properties `set-property` may change: those whose meaning needs no table feature.
pub const SETTABLE_PROPERTIES: &[&str] = &[
    "delta.checkpointInterval",
    "delta.deletedFileRetentionDuration",
    "delta.logRetentionDuration",
    "delta.dataSkippingNumIndexedCols",
    "delta.checkpoint.writeStatsAsJson",
    "delta.checkpoint.writeStatsAsStruct",
    "delta.columnMapping.mode",
];

/// One explicit change to a table. Column names are top-level columns.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterOperation {
    /// Adds a column at the end. A NOT NULL column can only be added to a table with no rows.
    AddColumn {
        /// The new column's name.
        name: String,
        /// Its type.
        data_type: DataType,
        /// Whether it may hold nulls.
        nullable: bool,
    },
    /// Renames a column (switches on column mapping if needed).
    RenameColumn {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Drops a column (switches on column mapping if needed); its data stays in the files.
    DropColumn {
        /// The column to drop.
        name: String,
    },
    /// Makes a NOT NULL column nullable.
    SetNullable {
        /// The column.
        name: String,
    },
    /// Sets a table property (see [`SETTABLE_PROPERTIES`] for the `delta.*` keys allowed).
    SetProperty {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Sets a column's comment (field metadata `comment`).
    SetComment {
        /// The column.
        name: String,
        /// The comment.
        comment: String,
    },
}

impl AlterOperation {
    /// The operation name recorded in `commitInfo.operation`.
    pub fn operation_name(&self) -> &'static str {
        match self {
            Self::AddColumn { .. } => "ADD COLUMNS",
            Self::RenameColumn { .. } => "RENAME COLUMN",
            Self::DropColumn { .. } => "DROP COLUMNS",
            Self::SetNullable { .. } => "CHANGE COLUMN",
            Self::SetProperty { .. } => "SET TBLPROPERTIES",
            Self::SetComment { .. } => "CHANGE COLUMN",
        }
    }
}

/// Applies `operation` to the newest version of the table as one new commit, and returns its
/// version. A refused change commits nothing.
pub async fn alter_table(
    location: &TableLocation,
    operation: AlterOperation,
    commit: CommitMetadata,
) -> Result<u64> {
    let snapshot = Snapshot::load(location, None).await?;
    features::check_write_supported(snapshot.protocol(), snapshot.metadata(), snapshot.schema())?;
    let mut protocol = snapshot.protocol().clone();
    let mut metadata = snapshot.metadata().clone();
    let mut schema = snapshot.schema().as_ref().clone();
    let mode = snapshot.column_mapping();
    let position = |schema: &StructType, name: &str| -> Result<usize> {
        schema
            .fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "the table has no column '{name}'; its columns are: {}",
                    column_list(schema)
                ))
            })
    };
    match &operation {
        AlterOperation::AddColumn {
            name,
            data_type,
            nullable,
        } => {
            refuse_taken(&schema, name, None)?;
            if !nullable && snapshot.num_files() > 0 {
                return Err(Error::InvalidArgument(format!(
                    "column '{name}' cannot be added as NOT NULL: the table's existing rows have no value for it; add it as nullable"
                )));
            }
            let mut field = StructField::new(name.clone(), data_type.clone(), *nullable);
            if mode != ColumnMappingMode::None {
                let mut next = crate::evolution::max_column_id(&metadata, &schema);
                assign_new_ids(&mut field, &mut next);
                metadata
                    .configuration
                    .insert(MAX_COLUMN_ID.into(), next.to_string());
            }
            schema.fields.push(field);
        }
        AlterOperation::RenameColumn { from, to } => {
            let index = position(&schema, from)?;
            refuse_taken(&schema, to, Some(index))?;
            if snapshot.partition_columns().iter().any(|c| c == from) {
                return Err(Error::InvalidArgument(format!(
                    "column '{from}' is a partition column, and Tidemark does not rename partition columns; overwrite the table with a new schema instead"
                )));
            }
            enable_column_mapping(&mut protocol, &mut metadata, &mut schema)?;
            schema.fields[index].name = to.clone();
        }
        AlterOperation::DropColumn { name } => {
            let index = position(&schema, name)?;
            if snapshot.partition_columns().iter().any(|c| c == name) {
                return Err(Error::InvalidArgument(format!(
                    "column '{name}' is a partition column and cannot be dropped; overwrite the table with a new schema and partitioning instead"
                )));
            }
            if schema.fields.len() - snapshot.partition_columns().len() <= 1 {
                return Err(Error::InvalidArgument(format!(
                    "column '{name}' is the only column stored in the data files and cannot be dropped"
                )));
            }
            enable_column_mapping(&mut protocol, &mut metadata, &mut schema)?;
            schema.fields.remove(index);
        }
        AlterOperation::SetNullable { name } => {
            let index = position(&schema, name)?;
            schema.fields[index].nullable = true;
        }
        AlterOperation::SetComment { name, comment } => {
            let index = position(&schema, name)?;
            schema.fields[index]
                .metadata
                .insert("comment".into(), Value::from(comment.clone()));
        }
        AlterOperation::SetProperty { key, value } => {
            if key == COLUMN_MAPPING_MODE {
                match value.parse::<ColumnMappingMode>()? {
                    ColumnMappingMode::Name => {
                        enable_column_mapping(&mut protocol, &mut metadata, &mut schema)?
                    }
                    m if m == mode => {}
                    m => {
                        return Err(Error::InvalidArgument(format!(
                            "column mapping mode cannot be changed from '{mode}' to '{m}'; only 'name' can be switched on"
                        )));
                    }
                }
            } else if key.starts_with("delta.") && !SETTABLE_PROPERTIES.contains(&key.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "table property '{key}' cannot be set on an existing table by Tidemark; settable delta.* properties: {}",
                    SETTABLE_PROPERTIES.join(", ")
                )));
            } else {
                metadata.configuration.insert(key.clone(), value.clone());
            }
        }
    }
    metadata.schema_string = schema.to_schema_string()?;
    let mut actions = Vec::new();
    if protocol != *snapshot.protocol() {
        actions.push(Action::Protocol(protocol));
    }
    actions.push(Action::Metadata(metadata));
    let outcome = Transaction::new(
        location.clone(),
        Some(Arc::new(snapshot)),
        operation.operation_name(),
    )
    .with_parameter("change", Value::from(operation.description()))
    .with_metadata(commit)
    .with_read_scope(ReadScope::WholeTable)
    .with_actions(actions)
    .commit()
    .await?;
    Ok(outcome.version)
}

impl AlterOperation {
    /// A one-line description of the change, as recorded in `commitInfo.operationParameters.change`.
    pub fn description(&self) -> String {
        match self {
            AlterOperation::AddColumn {
                name, data_type, ..
            } => format!("add column {name} {data_type}"),
            AlterOperation::RenameColumn { from, to } => format!("rename column {from} to {to}"),
            AlterOperation::DropColumn { name } => format!("drop column {name}"),
            AlterOperation::SetNullable { name } => format!("set column {name} nullable"),
            AlterOperation::SetProperty { key, value } => format!("set property {key}={value}"),
            AlterOperation::SetComment { name, .. } => format!("set comment of column {name}"),
        }
    }
}

fn column_list(schema: &StructType) -> String {
    schema
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses `name` when another column (not the one at `except`) has it, ignoring case.
fn refuse_taken(schema: &StructType, name: &str, except: Option<usize>) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "a column name cannot be empty".into(),
        ));
    }
    if let Some((_, existing)) = schema
        .fields
        .iter()
        .enumerate()
        .find(|(i, f)| Some(*i) != except && f.name.eq_ignore_ascii_case(name))
    {
        return Err(Error::InvalidArgument(format!(
            "the table already has a column '{}'; choose another name",
            existing.name
        )));
    }
    Ok(())
}

/// Switches on column mapping mode `name` unless the table already uses column mapping.
fn enable_column_mapping(
    protocol: &mut Protocol,
    metadata: &mut crate::actions::Metadata,
    schema: &mut StructType,
) -> Result<()> {
    if ColumnMappingMode::from_configuration(&metadata.configuration)? != ColumnMappingMode::None {
        return Ok(());
    }
    if protocol.min_writer_version < 7 {
        protocol.min_reader_version = protocol.min_reader_version.max(2);
        protocol.min_writer_version = protocol.min_writer_version.max(5);
    } else if let Some(upgraded) = enable_reader_writer_feature(protocol, "columnMapping") {
        *protocol = upgraded;
    }
    let mut next = 0;
    fn walk(fields: &mut [StructField], next: &mut i64) {
        for field in fields {
            *next += 1;
            field
                .metadata
                .insert(COLUMN_MAPPING_ID.into(), Value::from(*next));
            field.metadata.insert(
                COLUMN_MAPPING_PHYSICAL_NAME.into(),
                Value::from(field.name.clone()),
            );
            walk_type(&mut field.data_type, next);
        }
    }
    fn walk_type(data_type: &mut DataType, next: &mut i64) {
        match data_type {
            DataType::Struct(s) => walk(&mut s.fields, next),
            DataType::Array(a) => walk_type(&mut a.element_type, next),
            DataType::Map(m) => {
                walk_type(&mut m.key_type, next);
                walk_type(&mut m.value_type, next);
            }
            DataType::Primitive(_) => {}
        }
    }
    walk(&mut schema.fields, &mut next);
    metadata
        .configuration
        .insert(COLUMN_MAPPING_MODE.into(), "name".into());
    metadata
        .configuration
        .insert(MAX_COLUMN_ID.into(), next.to_string());
    Ok(())
}
