//! Schema evolution on write: merging the schema of new data into the table's (new columns,
//! nested struct fields, safe type widening through the `typeWidening` table feature), or
//! replacing the schema on overwrite, and the protocol upgrades these need.
//!
//! The result of an evolution is a new `metaData` action (and, when a table feature is
//! switched on, a new `protocol` action) committed in the same commit as the data.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StructArray, new_null_array};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use serde_json::{Map, Value};

use crate::actions::{Metadata, Protocol};
use crate::error::{Error, Result};
use crate::features;
use crate::schema::{
    COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL_NAME, ColumnMappingMode, DataType, PrimitiveType,
    StructField, StructType, is_widening,
};

/// Field metadata key recording the type changes of a column (protocol "Type Widening").
pub const TYPE_CHANGES: &str = "delta.typeChanges";

/// Table property holding the highest column mapping id assigned.
pub const MAX_COLUMN_ID: &str = "delta.columnMapping.maxColumnId";

/// How a write treats input data whose schema differs from the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaMode {
    /// Any difference is an error that shows it (the default).
    #[default]
    Strict,
    /// New columns are added as nullable, missing columns are written as nulls, nested struct
    /// fields merge, and types widen where the protocol's "Type Widening" allows.
    Merge,
    /// The table's schema is replaced by the data's (only with [`crate::write::WriteMode::Overwrite`]).
    Overwrite,
}

/// A changed schema, with the actions that record it.
#[derive(Debug, Clone)]
pub struct Evolution {
    /// The new table schema.
    pub schema: StructType,
    /// The new metadata (schema string and configuration updated).
    pub metadata: Metadata,
    /// The new protocol, when a table feature had to be switched on.
    pub protocol: Option<Protocol>,
}

/// The features implied by legacy writer versions, in the order of the versions.
const LEGACY_WRITER_FEATURES: &[&str] = &[
    "appendOnly",
    "invariants",
    "checkConstraints",
    "changeDataFeed",
    "generatedColumns",
    "columnMapping",
    "identityColumns",
];

/// The protocol with the reader-writer feature `name` switched on, or `None` when it is on
/// already. A legacy protocol is upgraded to reader 3 / writer 7, listing the features its
/// versions implied, so nothing that was enabled is lost.
pub fn enable_reader_writer_feature(protocol: &Protocol, name: &str) -> Option<Protocol> {
    if features::is_enabled(protocol, name) {
        return None;
    }
    let mut writer: Vec<String> = if protocol.min_writer_version >= 7 {
        protocol.writer_features.clone().unwrap_or_default()
    } else {
        LEGACY_WRITER_FEATURES
            .iter()
            .filter(|f| features::is_enabled(protocol, f))
            .map(|f| f.to_string())
            .collect()
    };
    let mut reader: Vec<String> = if protocol.min_reader_version >= 3 {
        protocol.reader_features.clone().unwrap_or_default()
    } else if protocol.min_reader_version == 2 {
        vec!["columnMapping".to_string()]
    } else {
        Vec::new()
    };
    // Reader features must also be writer features.
    for f in reader.clone() {
        if !writer.contains(&f) {
            writer.push(f);
        }
    }
    for list in [&mut reader, &mut writer] {
        if !list.iter().any(|f| f == name) {
            list.push(name.to_string());
        }
    }
    Some(Protocol {
        min_reader_version: 3,
        min_writer_version: 7,
        reader_features: Some(reader),
        writer_features: Some(writer),
    })
}

/// The protocol with `timestampNtz` switched on when the schema needs it.
fn with_ntz(protocol: Protocol, original: &Protocol, schema: &StructType) -> Option<Protocol> {
    if uses_ntz(&schema.fields) && !features::is_enabled(&protocol, "timestampNtz") {
        enable_reader_writer_feature(&protocol, "timestampNtz")
    } else if protocol == *original {
        None
    } else {
        Some(protocol)
    }
}

fn uses_ntz(fields: &[StructField]) -> bool {
    fn in_type(t: &DataType) -> bool {
        match t {
            DataType::Primitive(p) => *p == PrimitiveType::TimestampNtz,
            DataType::Array(a) => in_type(&a.element_type),
            DataType::Map(m) => in_type(&m.key_type) || in_type(&m.value_type),
            DataType::Struct(s) => uses_ntz(&s.fields),
        }
    }
    fields.iter().any(|f| in_type(&f.data_type))
}

/// The highest column mapping id in the configuration or the schema.
pub fn max_column_id(metadata: &Metadata, schema: &StructType) -> i64 {
    fn walk(fields: &[StructField], max: &mut i64) {
        for f in fields {
            if let Some(id) = f.field_id() {
                *max = (*max).max(id);
            }
            if let DataType::Struct(s) = &f.data_type {
                walk(&s.fields, max);
            }
        }
    }
    let mut max = metadata
        .configuration
        .get(MAX_COLUMN_ID)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    walk(&schema.fields, &mut max);
    max
}

/// Gives a new field (and its nested struct fields) a column mapping id and a fresh physical
/// name `col-<uuid>`, counting ids up from `next_id`.
pub fn assign_new_ids(field: &mut StructField, next_id: &mut i64) {
    *next_id += 1;
    field
        .metadata
        .insert(COLUMN_MAPPING_ID.into(), Value::from(*next_id));
    field.metadata.insert(
        COLUMN_MAPPING_PHYSICAL_NAME.into(),
        Value::from(format!("col-{}", uuid::Uuid::new_v4())),
    );
    assign_in_type(&mut field.data_type, next_id);
}

fn assign_in_type(data_type: &mut DataType, next_id: &mut i64) {
    match data_type {
        DataType::Struct(s) => {
            for child in &mut s.fields {
                assign_new_ids(child, next_id);
            }
        }
        DataType::Array(a) => assign_in_type(&mut a.element_type, next_id),
        DataType::Map(m) => {
            assign_in_type(&mut m.key_type, next_id);
            assign_in_type(&mut m.value_type, next_id);
        }
        DataType::Primitive(_) => {}
    }
}

/// Merges the schema of input data into the table's schema (see [`SchemaMode::Merge`]).
/// Returns `None` when the table's schema already accepts the input as it is.
pub fn merge(
    protocol: &Protocol,
    metadata: &Metadata,
    table: &StructType,
    input: &Schema,
) -> Result<Option<Evolution>> {
    let input = StructType::from_arrow(input)?;
    let mode = ColumnMappingMode::from_configuration(&metadata.configuration)?;
    let mut next_id = max_column_id(metadata, table);
    let mut widened = false;
    let merged = merge_fields(
        &table.fields,
        &input.fields,
        "",
        mode,
        &mut next_id,
        &mut widened,
    )?;
    let merged = StructType::new(merged);
    if merged == *table {
        return Ok(None);
    }
    let mut new_metadata = metadata.clone();
    new_metadata.schema_string = merged.to_schema_string()?;
    if mode != ColumnMappingMode::None {
        new_metadata
            .configuration
            .insert(MAX_COLUMN_ID.into(), next_id.to_string());
    }
    let upgraded = if widened {
        enable_reader_writer_feature(protocol, "typeWidening").unwrap_or_else(|| protocol.clone())
    } else {
        protocol.clone()
    };
    Ok(Some(Evolution {
        protocol: with_ntz(upgraded, protocol, &merged),
        schema: merged,
        metadata: new_metadata,
    }))
}

fn merge_fields(
    table: &[StructField],
    input: &[StructField],
    prefix: &str,
    mode: ColumnMappingMode,
    next_id: &mut i64,
    widened: &mut bool,
) -> Result<Vec<StructField>> {
    let mut out = Vec::with_capacity(table.len());
    for field in table {
        let path = format!("{prefix}{}", field.name);
        let Some(new) = input.iter().find(|f| f.name == field.name) else {
            out.push(field.clone());
            continue;
        };
        let mut merged = field.clone();
        match (&field.data_type, &new.data_type) {
            (a, b) if a == b => {}
            (DataType::Struct(a), DataType::Struct(b)) => {
                let fields = merge_fields(
                    &a.fields,
                    &b.fields,
                    &format!("{path}."),
                    mode,
                    next_id,
                    widened,
                )?;
                merged.data_type = DataType::struct_type(fields);
            }
            (DataType::Primitive(from), DataType::Primitive(to))
                if is_widening(&from.to_arrow()?, &to.to_arrow()?) =>
            {
                merged.data_type = new.data_type.clone();
                let mut changes = match merged.metadata.get(TYPE_CHANGES) {
                    Some(Value::Array(items)) => items.clone(),
                    _ => Vec::new(),
                };
                let mut change = Map::new();
                change.insert("fromType".into(), Value::from(from.to_string()));
                change.insert("toType".into(), Value::from(to.to_string()));
                changes.push(Value::Object(change));
                merged
                    .metadata
                    .insert(TYPE_CHANGES.into(), Value::Array(changes));
                *widened = true;
            }
            // Anything else stays the table's type: the write converts the input losslessly
            // (a narrower input type), or refuses it naming the column and both types.
            _ => {}
        }
        out.push(merged);
    }
    for new in input {
        if table.iter().any(|f| f.name == new.name) {
            continue;
        }
        if table.iter().any(|f| f.name.eq_ignore_ascii_case(&new.name)) {
            return Err(Error::SchemaMismatch(format!(
                "the input has a column '{prefix}{}' that differs only in letter case from a column of the table; rename it",
                new.name
            )));
        }
        let mut added = nullable(new.clone());
        if mode != ColumnMappingMode::None {
            assign_new_ids(&mut added, next_id);
        }
        out.push(added);
    }
    Ok(out)
}

/// The field with itself and all nested struct fields nullable.
fn nullable(mut field: StructField) -> StructField {
    field.nullable = true;
    if let DataType::Struct(s) = &mut field.data_type {
        s.fields = std::mem::take(&mut s.fields)
            .into_iter()
            .map(nullable)
            .collect();
    }
    field
}

/// Replaces the table's schema by the input's (see [`SchemaMode::Overwrite`]). Under column
/// mapping every column gets a new id and physical name, since no old data file stays.
pub fn replace(
    protocol: &Protocol,
    metadata: &Metadata,
    table: &StructType,
    input: &Schema,
    partition_columns: &[String],
) -> Result<Evolution> {
    let mut schema = StructType::from_arrow(input)?;
    for name in partition_columns {
        if schema.field(name).is_none() {
            return Err(Error::SchemaMismatch(format!(
                "partition column '{name}' is not in the new schema; overwrite with the column, or choose other partition columns"
            )));
        }
    }
    let mode = ColumnMappingMode::from_configuration(&metadata.configuration)?;
    let mut new_metadata = metadata.clone();
    if mode != ColumnMappingMode::None {
        let mut next_id = max_column_id(metadata, table);
        for field in &mut schema.fields {
            assign_new_ids(field, &mut next_id);
        }
        new_metadata
            .configuration
            .insert(MAX_COLUMN_ID.into(), next_id.to_string());
    }
    new_metadata.schema_string = schema.to_schema_string()?;
    new_metadata.partition_columns = partition_columns.to_vec();
    Ok(Evolution {
        protocol: with_ntz(protocol.clone(), protocol, &schema),
        schema,
        metadata: new_metadata,
    })
}

/// Adds null columns (top level and nested struct fields) for the nullable fields of `table`
/// that the batch lacks, so merged writes may leave columns out.
pub fn fill_missing(batch: &RecordBatch, table: &SchemaRef) -> Result<RecordBatch> {
    let input = batch.schema();
    if table
        .fields()
        .iter()
        .all(|f| input.field_with_name(f.name()).is_ok())
        && !table
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), ArrowType::Struct(_)))
    {
        return Ok(batch.clone());
    }
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, f) in input.fields().iter().enumerate() {
        if let (Ok(target), ArrowType::Struct(_)) = (table.field_with_name(f.name()), f.data_type())
            && let ArrowType::Struct(target_fields) = target.data_type()
        {
            let filled = fill_struct(&columns[i], target_fields)?;
            fields[i] = Field::new(f.name(), filled.data_type().clone(), f.is_nullable());
            columns[i] = filled;
        }
    }
    for target in table.fields() {
        if input.field_with_name(target.name()).is_err() && target.is_nullable() {
            fields.push(target.as_ref().clone());
            columns.push(new_null_array(target.data_type(), batch.num_rows()));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::SchemaMismatch(e.to_string()))
}

fn fill_struct(array: &ArrayRef, target: &Fields) -> Result<ArrayRef> {
    let Some(structs) = array.as_struct_opt() else {
        return Ok(array.clone());
    };
    let ArrowType::Struct(have) = array.data_type() else {
        return Ok(array.clone());
    };
    let mut fields: Vec<Field> = have.iter().map(|f| f.as_ref().clone()).collect();
    let mut children: Vec<ArrayRef> = structs.columns().to_vec();
    for (i, f) in have.iter().enumerate() {
        if let Some((_, t)) = target.find(f.name())
            && let ArrowType::Struct(tf) = t.data_type()
        {
            let filled = fill_struct(&children[i], tf)?;
            fields[i] = Field::new(f.name(), filled.data_type().clone(), true);
            children[i] = filled;
        }
    }
    for t in target {
        if have.find(t.name()).is_none() {
            fields.push(Field::new(t.name(), t.data_type().clone(), true));
            children.push(new_null_array(t.data_type(), structs.len()));
        }
    }
    StructArray::try_new(Fields::from(fields), children, structs.nulls().cloned())
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| Error::SchemaMismatch(e.to_string()))
}

/// The differences between two versions of a schema, top-level columns only, in short form:
/// `+name type` (added), `-name` (dropped), `old->new` (renamed, matched by column mapping
/// id), `name: from->to` (type changed), `name: nullable` (nullability relaxed),
/// `name: not null`. With no `old` schema (a new table), every column is added.
///
/// ```
/// use tidemark_core::evolution::schema_changes;
/// use tidemark_core::schema::{PrimitiveType, StructField, StructType};
///
/// let old = StructType::new(vec![StructField::new("a", PrimitiveType::Integer, true)]);
/// let new = StructType::new(vec![
///     StructField::new("a", PrimitiveType::Long, true),
///     StructField::new("b", PrimitiveType::String, true),
/// ]);
/// assert_eq!(schema_changes(Some(&old), &new), ["a: integer->long", "+b string"]);
/// ```
pub fn schema_changes(old: Option<&StructType>, new: &StructType) -> Vec<String> {
    let Some(old) = old else {
        return new
            .fields
            .iter()
            .map(|f| format!("+{} {}", f.name, f.data_type))
            .collect();
    };
    let matching = |field: &StructField| -> Option<&StructField> {
        match field.field_id() {
            Some(id) if old.fields.iter().any(|o| o.field_id().is_some()) => {
                old.fields.iter().find(|o| o.field_id() == Some(id))
            }
            // Column mapping switched on by this change: existing columns keep their names
            // as physical names.
            _ => match field.metadata.get(COLUMN_MAPPING_PHYSICAL_NAME) {
                Some(Value::String(physical)) => old.field(physical),
                _ => old.field(&field.name),
            },
        }
    };
    let mut changes = Vec::new();
    let mut matched = Vec::new();
    for field in &new.fields {
        let Some(before) = matching(field) else {
            changes.push(format!("+{} {}", field.name, field.data_type));
            continue;
        };
        matched.push(before.name.clone());
        if before.name != field.name {
            changes.push(format!("{}->{}", before.name, field.name));
        }
        if before.data_type != field.data_type {
            changes.push(format!(
                "{}: {}->{}",
                field.name, before.data_type, field.data_type
            ));
        }
        if before.nullable != field.nullable {
            let now = if field.nullable {
                "nullable"
            } else {
                "not null"
            };
            changes.push(format!("{}: {now}", field.name));
        }
    }
    for before in &old.fields {
        if !matched.contains(&before.name) {
            changes.push(format!("-{}", before.name));
        }
    }
    changes
}
