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
//! Columns are named by a path (see [`crate::schema::parse_column_path`]): `address.city` is
//! the field `city` of the struct column `address`, `items.element.price` a field of the
//! structs inside the array `items`, `attrs.value.unit` one inside the values of the map
//! `attrs`; a name holding dots is quoted with backticks (`` `a.b`.c ``). Every operation
//! works at any depth: a field is added to the struct its parent path names, renamed or
//! dropped within its struct (physical names never change, so no data file is rewritten),
//! made nullable (also an array's `element` or a map's `value`), or commented.
//!
//! Refused, committing nothing: a path that does not exist (the error lists the fields where
//! the path stops), a name already taken in the same struct (ignoring case), dropping the
//! last field of a struct, or a partition column, or the last column stored in data files.
//! A partition column may be renamed, as in Delta: `metaData.partitionColumns` follows the
//! new name, and the files' `partitionValues` stay keyed by the unchanged physical name.
//!
//! ```no_run
//! # async fn demo() -> tidemark_core::Result<()> {
//! use tidemark_core::schema::{AlterOperation, alter_table};
//! let location = tidemark_core::TableLocation::parse("/tmp/sales")?;
//! let op = AlterOperation::RenameColumn { from: "amt".into(), to: "amount".into() };
//! let version = alter_table(&location, op, Default::default()).await?;
//! println!("renamed in version {version}");
//! # Ok(()) }
//! ```

use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::features;
use crate::log::actions::{Action, Protocol};
use crate::schema::evolution::{MAX_COLUMN_ID, assign_new_ids, enable_reader_writer_feature};
use crate::schema::{
    COLUMN_MAPPING_ID, COLUMN_MAPPING_MODE, COLUMN_MAPPING_PHYSICAL_NAME, ColumnMappingMode,
    DataType, StructField, StructType, parse_column_path, quote_field_name,
};
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;
use crate::transaction::commit::{CommitMetadata, ReadScope, Transaction};

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

/// One explicit change to a table. Column names are column paths (`address.city`, see
/// [`crate::schema::parse_column_path`]); `RenameColumn::to` is the new name of the last field of the
/// path, taken literally.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterOperation {
    /// Adds a column at the end of the table, or a field at the end of the struct named by the
    /// parent path. A NOT NULL column can only be added to a table with no rows.
    AddColumn {
        /// The new column's path (`zip`, or `address.zip` for a nested field).
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
    /// Makes a NOT NULL column nullable (or lets an array's `element` or a map's `value` hold
    /// nulls).
    SetNullable {
        /// The column.
        name: String,
    },
    /// Sets a table property: any key outside `delta.*`, and those `delta.*` keys Tidemark
    /// knows how to honour (an unknown one is refused, naming the allowed keys).
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
    let mut root = DataType::Struct(Box::new(snapshot.schema().as_ref().clone()));
    let mode = snapshot.column_mapping();
    let partition_columns = snapshot.partition_columns();
    match &operation {
        AlterOperation::AddColumn {
            name,
            data_type,
            nullable,
        } => {
            let path = parse_column_path(name)?;
            let (new_name, parent_path) = split_last(&path, name)?;
            let parent_steps = resolve(&root, parent_path)?;
            let parent_display = display_path(&root, &parent_steps)?;
            let DataType::Struct(parent) = type_at_mut(&mut root, &parent_steps)? else {
                return Err(Error::InvalidArgument(format!(
                    "'{parent_display}' is not a struct, so no field can be added to it; give the path of a struct column, such as address.zip"
                )));
            };
            refuse_taken(&parent.fields, new_name, None, &parent_display)?;
            if !nullable && snapshot.num_files() > 0 {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' cannot be added as NOT NULL: the table's existing rows have no value for it; add it as nullable",
                    join_path(&parent_display, new_name)
                )));
            }
            let mut field = StructField::new(new_name.clone(), data_type.clone(), *nullable);
            if mode != ColumnMappingMode::None {
                let schema = root_struct(&root)?;
                let mut next = crate::schema::evolution::max_column_id(&metadata, schema);
                assign_new_ids(&mut field, &mut next);
                metadata
                    .configuration
                    .insert(MAX_COLUMN_ID.into(), next.to_string());
            }
            let DataType::Struct(parent) = type_at_mut(&mut root, &parent_steps)? else {
                return Err(internal());
            };
            parent.fields.push(field);
        }
        AlterOperation::RenameColumn { from, to } => {
            let steps = resolve_existing(&root, from)?;
            let (parent_steps, index) = field_step(&root, &steps, "renamed")?;
            let parent_display = display_path(&root, parent_steps)?;
            {
                let siblings = struct_fields_at(&mut root, parent_steps)?;
                refuse_taken(siblings, to, Some(index), &parent_display)?;
            }
            let old_name = struct_fields_at(&mut root, parent_steps)?
                .get(index)
                .ok_or_else(internal)?
                .name
                .clone();
            if let Some(position) = parent_steps
                .is_empty()
                .then(|| partition_columns.iter().position(|c| *c == old_name))
                .flatten()
            {
                // As in Delta: with column mapping a partition column may be renamed; the log's
                // `partitionValues` are keyed by the unchanged physical name.
                metadata.partition_columns[position] = to.clone();
            }
            enable_column_mapping(&mut protocol, &mut metadata, &mut root)?;
            let siblings = struct_fields_at(&mut root, parent_steps)?;
            let field = siblings.get_mut(index).ok_or_else(internal)?;
            field.name = to.clone();
        }
        AlterOperation::DropColumn { name } => {
            let steps = resolve_existing(&root, name)?;
            let (parent_steps, index) = field_step(&root, &steps, "dropped")?;
            let display = display_path(&root, &steps)?;
            if parent_steps.is_empty() {
                let dropped = &root_struct(&root)?
                    .fields
                    .get(index)
                    .ok_or_else(internal)?
                    .name;
                if partition_columns.iter().any(|c| c == dropped) {
                    return Err(Error::InvalidArgument(format!(
                        "column '{display}' is a partition column and cannot be dropped; overwrite the table with a new schema and partitioning instead"
                    )));
                }
                let top = root_struct(&root)?;
                if top.fields.len() - partition_columns.len() <= 1 {
                    return Err(Error::InvalidArgument(format!(
                        "column '{display}' is the only column stored in the data files and cannot be dropped"
                    )));
                }
            } else {
                let parent_display = display_path(&root, parent_steps)?;
                let siblings = struct_fields_at(&mut root, parent_steps)?;
                if siblings.len() <= 1 {
                    return Err(Error::InvalidArgument(format!(
                        "field '{display}' is the only field of the struct '{parent_display}', and a struct needs at least one field; drop '{parent_display}' instead, or add another field first"
                    )));
                }
            }
            enable_column_mapping(&mut protocol, &mut metadata, &mut root)?;
            let siblings = struct_fields_at(&mut root, parent_steps)?;
            if index >= siblings.len() {
                return Err(internal());
            }
            siblings.remove(index);
        }
        AlterOperation::SetNullable { name } => {
            let steps = resolve_existing(&root, name)?;
            let display = display_path(&root, &steps)?;
            let Some((last, parent_steps)) = steps.split_last() else {
                return Err(internal());
            };
            match (last, type_at_mut(&mut root, parent_steps)?) {
                (Step::Field(i), DataType::Struct(s)) => {
                    s.fields.get_mut(*i).ok_or_else(internal)?.nullable = true;
                }
                (Step::Element, DataType::Array(a)) => a.contains_null = true,
                (Step::Value, DataType::Map(m)) => m.value_contains_null = true,
                (Step::Key, _) => {
                    return Err(Error::InvalidArgument(format!(
                        "'{display}' is a map's key, and map keys are never null; give the path of a field, an array's element or a map's value"
                    )));
                }
                _ => return Err(internal()),
            }
        }
        AlterOperation::SetComment { name, comment } => {
            let steps = resolve_existing(&root, name)?;
            let (parent_steps, index) = field_step(&root, &steps, "commented")?;
            let siblings = struct_fields_at(&mut root, parent_steps)?;
            siblings
                .get_mut(index)
                .ok_or_else(internal)?
                .metadata
                .insert("comment".into(), Value::from(comment.clone()));
        }
        AlterOperation::SetProperty { key, value } => {
            if key == COLUMN_MAPPING_MODE {
                match value.parse::<ColumnMappingMode>()? {
                    ColumnMappingMode::Name => {
                        enable_column_mapping(&mut protocol, &mut metadata, &mut root)?
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
                // Refuse a value Tidemark (or another Delta engine) would misread, such as a
                // retention that does not parse: see crate::properties.
                crate::properties::validate_property(key, value)?;
                metadata.configuration.insert(key.clone(), value.clone());
            }
        }
    }
    let schema = match root {
        DataType::Struct(schema) => *schema,
        _ => return Err(internal()),
    };
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

/// One step from a type to a child type: a struct's field (by index), an array's element, a
/// map's key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Field(usize),
    Element,
    Key,
    Value,
}

fn internal() -> Error {
    Error::InvalidArgument(
        "internal: the schema changed while a column path was being applied; retry".into(),
    )
}

/// The table schema inside the root type.
fn root_struct(root: &DataType) -> Result<&StructType> {
    match root {
        DataType::Struct(s) => Ok(s),
        _ => Err(internal()),
    }
}

/// `parent.name`, or `name` at the top level (the name quoted as needed).
fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        quote_field_name(name)
    } else {
        format!("{parent}.{}", quote_field_name(name))
    }
}

/// The last segment of a path and the path of its parent.
fn split_last<'a>(path: &'a [String], original: &str) -> Result<(&'a String, &'a [String])> {
    path.split_last().ok_or_else(|| {
        Error::InvalidArgument(format!("invalid column path '{original}': it is empty"))
    })
}

/// The field names along `steps`, as a column path (the real names, quoted as needed).
fn display_path(root: &DataType, steps: &[Step]) -> Result<String> {
    let mut out = String::new();
    let mut current = root;
    for step in steps {
        let (segment, next) = match (step, current) {
            (Step::Field(i), DataType::Struct(s)) => {
                let field = s.fields.get(*i).ok_or_else(internal)?;
                (field.name.as_str(), &field.data_type)
            }
            (Step::Element, DataType::Array(a)) => ("element", &a.element_type),
            (Step::Key, DataType::Map(m)) => ("key", &m.key_type),
            (Step::Value, DataType::Map(m)) => ("value", &m.value_type),
            _ => return Err(internal()),
        };
        out = join_path(&out, segment);
        current = next;
    }
    Ok(out)
}

/// Resolves a column path (already split) to the steps that reach it. Field names match
/// exactly, or else ignoring letter case when only one field matches that way. Errors name
/// the path and list what exists where it stops.
fn resolve(root: &DataType, path: &[String]) -> Result<Vec<Step>> {
    let mut steps = Vec::with_capacity(path.len());
    let mut walked = String::new();
    let mut current = root;
    for segment in path {
        let (step, next) = match current {
            DataType::Struct(s) => {
                let index = s
                    .fields
                    .iter()
                    .position(|f| f.name == *segment)
                    .or_else(|| {
                        let mut matches = s
                            .fields
                            .iter()
                            .enumerate()
                            .filter(|(_, f)| f.name.eq_ignore_ascii_case(segment));
                        match (matches.next(), matches.next()) {
                            (Some((i, _)), None) => Some(i),
                            _ => None,
                        }
                    })
                    .ok_or_else(|| not_found(&walked, segment, s))?;
                let field = s.fields.get(index).ok_or_else(internal)?;
                walked = join_path(&walked, &field.name);
                (Step::Field(index), &field.data_type)
            }
            DataType::Array(a) if segment == "element" => {
                walked = join_path(&walked, "element");
                (Step::Element, &a.element_type)
            }
            DataType::Map(m) if segment == "key" || segment == "value" => {
                walked = join_path(&walked, segment);
                if segment == "key" {
                    (Step::Key, &m.key_type)
                } else {
                    (Step::Value, &m.value_type)
                }
            }
            DataType::Array(_) => {
                return Err(Error::InvalidArgument(format!(
                    "the table has no column '{}': '{walked}' is an array, whose elements are reached as '{walked}.element'",
                    join_path(&walked, segment)
                )));
            }
            DataType::Map(_) => {
                return Err(Error::InvalidArgument(format!(
                    "the table has no column '{}': '{walked}' is a map, whose keys and values are reached as '{walked}.key' and '{walked}.value'",
                    join_path(&walked, segment)
                )));
            }
            DataType::Primitive(p) => {
                return Err(Error::InvalidArgument(format!(
                    "the table has no column '{}': '{walked}' is a {p}, which has no fields",
                    join_path(&walked, segment)
                )));
            }
        };
        steps.push(step);
        current = next;
    }
    Ok(steps)
}

fn not_found(walked: &str, segment: &str, within: &StructType) -> Error {
    let names = column_list(within);
    if walked.is_empty() {
        Error::InvalidArgument(format!(
            "the table has no column '{}'; its columns are: {names} (nested fields are written parent.child, and a name holding dots is quoted with backticks: `a.b`)",
            quote_field_name(segment)
        ))
    } else {
        Error::InvalidArgument(format!(
            "the table has no column '{}': the struct '{walked}' has the fields: {names}",
            join_path(walked, segment)
        ))
    }
}

/// Resolves a column path given by the user. A top-level column whose name holds dots may
/// also be named unquoted, when the dotted path itself does not resolve.
fn resolve_existing(root: &DataType, name: &str) -> Result<Vec<Step>> {
    match parse_column_path(name).and_then(|path| resolve(root, &path)) {
        Ok(steps) => Ok(steps),
        Err(error) => match root_struct(root)?
            .fields
            .iter()
            .position(|f| f.name == name)
        {
            Some(index) => Ok(vec![Step::Field(index)]),
            None => Err(error),
        },
    }
}

/// Splits the steps to a struct field into the steps to its struct and its index; other
/// targets (an array's element, a map's key or value) are refused.
fn field_step<'a>(root: &DataType, steps: &'a [Step], verb: &str) -> Result<(&'a [Step], usize)> {
    match steps.split_last() {
        Some((Step::Field(index), parent)) => Ok((parent, *index)),
        Some(_) => Err(Error::InvalidArgument(format!(
            "'{}' is an array's element or a map's key or value, which has no name of its own and cannot be {verb}; give the path of a struct field",
            display_path(root, steps)?
        ))),
        None => Err(internal()),
    }
}

/// The type reached by `steps`.
fn type_at_mut<'a>(root: &'a mut DataType, steps: &[Step]) -> Result<&'a mut DataType> {
    let mut current = root;
    for step in steps {
        current = match (step, current) {
            (Step::Field(i), DataType::Struct(s)) => {
                &mut s.fields.get_mut(*i).ok_or_else(internal)?.data_type
            }
            (Step::Element, DataType::Array(a)) => &mut a.element_type,
            (Step::Key, DataType::Map(m)) => &mut m.key_type,
            (Step::Value, DataType::Map(m)) => &mut m.value_type,
            _ => return Err(internal()),
        };
    }
    Ok(current)
}

/// The fields of the struct reached by `steps`.
fn struct_fields_at<'a>(
    root: &'a mut DataType,
    steps: &[Step],
) -> Result<&'a mut Vec<StructField>> {
    match type_at_mut(root, steps)? {
        DataType::Struct(s) => Ok(&mut s.fields),
        _ => Err(internal()),
    }
}

fn column_list(schema: &StructType) -> String {
    schema
        .fields
        .iter()
        .map(|f| quote_field_name(&f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses `name` when another field of the same struct (not the one at `except`) has it,
/// ignoring case. `parent` is the struct's path (empty for the table itself).
fn refuse_taken(
    siblings: &[StructField],
    name: &str,
    except: Option<usize>,
    parent: &str,
) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "a column name cannot be empty".into(),
        ));
    }
    if let Some((_, existing)) = siblings
        .iter()
        .enumerate()
        .find(|(i, f)| Some(*i) != except && f.name.eq_ignore_ascii_case(name))
    {
        return Err(if parent.is_empty() {
            Error::InvalidArgument(format!(
                "the table already has a column '{}'; choose another name",
                existing.name
            ))
        } else {
            Error::InvalidArgument(format!(
                "the struct '{parent}' already has a field '{}'; choose another name",
                existing.name
            ))
        });
    }
    Ok(())
}

/// Switches on column mapping mode `name` unless the table already uses column mapping:
/// every field at every level of nesting (struct fields inside arrays and maps included) gets
/// `delta.columnMapping.id` (1, 2, … depth first) and its current name as
/// `delta.columnMapping.physicalName`, so existing data files resolve unchanged.
fn enable_column_mapping(
    protocol: &mut Protocol,
    metadata: &mut crate::log::actions::Metadata,
    root: &mut DataType,
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
    walk_type(root, &mut next);
    metadata
        .configuration
        .insert(COLUMN_MAPPING_MODE.into(), "name".into());
    metadata
        .configuration
        .insert(MAX_COLUMN_ID.into(), next.to_string());
    Ok(())
}
