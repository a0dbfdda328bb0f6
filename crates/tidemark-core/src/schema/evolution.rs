//! Schema evolution on write: merging the schema of new data into the table's (new columns,
//! nested struct fields, safe type widening through the `typeWidening` table feature), or
//! replacing the schema on overwrite, and the protocol upgrades these need.
//!
//! The result of an evolution is a new `metaData` action (and, when a table feature is
//! switched on, a new `protocol` action) committed in the same commit as the data.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, MapArray, RecordBatch, StructArray, new_null_array};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::features;
use crate::log::actions::{Metadata, Protocol};
use crate::schema::{
    COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL_NAME, ColumnMappingMode, DataType, PrimitiveType,
    StructField, StructType, is_widening, quote_field_name,
};

/// Field metadata key recording the type changes of a column (protocol "Type Widening").
pub const TYPE_CHANGES: &str = "delta.typeChanges";

/// Table property that must be `true` for writers to widen a column's type (protocol "Type
/// Widening"); a merge that widens sets it.
pub const ENABLE_TYPE_WIDENING: &str = "delta.enableTypeWidening";

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
    /// The table's schema is replaced by the data's (only with [`crate::transaction::write::WriteMode::Overwrite`]).
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

/// The highest column mapping id in the configuration or the schema (struct fields at every
/// level, inside arrays and maps too).
pub fn max_column_id(metadata: &Metadata, schema: &StructType) -> i64 {
    fn walk(fields: &[StructField], max: &mut i64) {
        for f in fields {
            if let Some(id) = f.field_id() {
                *max = (*max).max(id);
            }
            walk_type(&f.data_type, max);
        }
    }
    fn walk_type(data_type: &DataType, max: &mut i64) {
        match data_type {
            DataType::Struct(s) => walk(&s.fields, max),
            DataType::Array(a) => walk_type(&a.element_type, max),
            DataType::Map(m) => {
                walk_type(&m.key_type, max);
                walk_type(&m.value_type, max);
            }
            DataType::Primitive(_) => {}
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
    let mut state = Merging {
        mode,
        next_id: max_column_id(metadata, table),
        widened: false,
    };
    let merged = merge_fields(&table.fields, &input.fields, "", &mut state)?;
    let Merging {
        next_id, widened, ..
    } = state;
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
        // The protocol lets writers widen types only while `delta.enableTypeWidening` is true:
        // a merge that widens sets it (with the feature), unless the table turned it off.
        if metadata
            .configuration
            .get(ENABLE_TYPE_WIDENING)
            .is_some_and(|v| !v.eq_ignore_ascii_case("true"))
        {
            return Err(Error::SchemaMismatch(format!(
                "the input widens a column's type, but the table turns type widening off ({ENABLE_TYPE_WIDENING} = false); cast the input to the table's types, or set {ENABLE_TYPE_WIDENING} to true first"
            )));
        }
        new_metadata
            .configuration
            .insert(ENABLE_TYPE_WIDENING.into(), "true".into());
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

/// What a merge carries along: the column mapping mode, the last column mapping id given, and
/// whether a type was widened.
struct Merging {
    mode: ColumnMappingMode,
    next_id: i64,
    widened: bool,
}

fn merge_fields(
    table: &[StructField],
    input: &[StructField],
    prefix: &str,
    state: &mut Merging,
) -> Result<Vec<StructField>> {
    let mut out = Vec::with_capacity(table.len());
    for field in table {
        let path = format!("{prefix}{}", field.name);
        let Some(new) = input.iter().find(|f| f.name == field.name) else {
            out.push(field.clone());
            continue;
        };
        let mut merged = field.clone();
        let mut changes = Vec::new();
        merged.data_type = merge_type(
            &field.data_type,
            &new.data_type,
            &path,
            "",
            &mut changes,
            state,
        )?;
        if !changes.is_empty() {
            let mut recorded = match merged.metadata.get(TYPE_CHANGES) {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            recorded.extend(changes);
            merged
                .metadata
                .insert(TYPE_CHANGES.into(), Value::Array(recorded));
            state.widened = true;
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
        if state.mode != ColumnMappingMode::None {
            assign_new_ids(&mut added, &mut state.next_id);
        }
        out.push(added);
    }
    Ok(out)
}

/// Merges an input type into a table type at column `path`. Struct fields merge (their own
/// type changes are recorded in their own metadata); arrays and maps merge their element, key
/// and value types; a widened primitive becomes the input's type, and the change is appended
/// to `changes` with `fieldPath` the path from the nearest struct field (`element`, `key`,
/// `value`, `element.value`, …), as the protocol's "Type Widening" records it. Anything else
/// keeps the table's type: the write converts a narrower input, or refuses it naming the
/// column.
fn merge_type(
    table: &DataType,
    input: &DataType,
    path: &str,
    field_path: &str,
    changes: &mut Vec<Value>,
    state: &mut Merging,
) -> Result<DataType> {
    let child = |segment: &str| {
        if field_path.is_empty() {
            segment.to_string()
        } else {
            format!("{field_path}.{segment}")
        }
    };
    Ok(match (table, input) {
        (a, b) if a == b => a.clone(),
        (DataType::Struct(a), DataType::Struct(b)) => {
            let fields = merge_fields(&a.fields, &b.fields, &format!("{path}."), state)?;
            DataType::struct_type(fields)
        }
        (DataType::Array(a), DataType::Array(b)) => DataType::array(
            merge_type(
                &a.element_type,
                &b.element_type,
                &format!("{path}.element"),
                &child("element"),
                changes,
                state,
            )?,
            a.contains_null,
        ),
        (DataType::Map(a), DataType::Map(b)) => DataType::map(
            merge_type(
                &a.key_type,
                &b.key_type,
                &format!("{path}.key"),
                &child("key"),
                changes,
                state,
            )?,
            merge_type(
                &a.value_type,
                &b.value_type,
                &format!("{path}.value"),
                &child("value"),
                changes,
                state,
            )?,
            a.value_contains_null,
        ),
        (DataType::Primitive(from), DataType::Primitive(to))
            if is_widening(&from.to_arrow()?, &to.to_arrow()?) =>
        {
            let mut change = Map::new();
            change.insert("fromType".into(), Value::from(from.to_string()));
            change.insert("toType".into(), Value::from(to.to_string()));
            if !field_path.is_empty() {
                change.insert("fieldPath".into(), Value::from(field_path));
            }
            changes.push(Value::Object(change));
            state.widened = true;
            input.clone()
        }
        _ => table.clone(),
    })
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

/// Adds null columns for the nullable fields of `table` that the batch lacks, at the top level
/// and in nested structs at any depth (inside arrays and maps too), so merged writes may leave
/// columns and fields out.
pub fn fill_missing(batch: &RecordBatch, table: &SchemaRef) -> Result<RecordBatch> {
    let input = batch.schema();
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, f) in input.fields().iter().enumerate() {
        if let Ok(target) = table.field_with_name(f.name()) {
            let filled = fill_array(&columns[i], target.data_type())?;
            if filled.data_type() != f.data_type() {
                fields[i] = Field::new(f.name(), filled.data_type().clone(), f.is_nullable());
                columns[i] = filled;
            }
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

/// A list (of either offset size) with its items filled as [`fill_array`] does; `array` is
/// the same list, returned as it is when nothing was missing.
fn fill_list<O: arrow::array::OffsetSizeTrait>(
    array: &ArrayRef,
    list: &arrow::array::GenericListArray<O>,
    item: &arrow::datatypes::FieldRef,
    target_item: &arrow::datatypes::FieldRef,
) -> Result<ArrayRef> {
    let values = fill_array(list.values(), target_item.data_type())?;
    if values.data_type() == item.data_type() {
        return Ok(array.clone());
    }
    let field = Field::new(item.name(), values.data_type().clone(), item.is_nullable());
    arrow::array::GenericListArray::<O>::try_new(
        Arc::new(field),
        list.offsets().clone(),
        values,
        list.nulls().cloned(),
    )
    .map(|a| Arc::new(a) as ArrayRef)
    .map_err(|e| Error::SchemaMismatch(e.to_string()))
}

/// The array with the struct fields of `target` it lacks added as nulls, at any depth.
fn fill_array(array: &ArrayRef, target: &ArrowType) -> Result<ArrayRef> {
    let rebuild = |e: arrow::error::ArrowError| Error::SchemaMismatch(e.to_string());
    match (array.data_type(), target) {
        (ArrowType::Struct(have), ArrowType::Struct(target_fields)) => {
            let Some(structs) = array.as_struct_opt() else {
                return Ok(array.clone());
            };
            let mut fields: Vec<Field> = have.iter().map(|f| f.as_ref().clone()).collect();
            let mut children: Vec<ArrayRef> = structs.columns().to_vec();
            for (i, f) in have.iter().enumerate() {
                if let Some((_, t)) = target_fields.find(f.name()) {
                    let filled = fill_array(&children[i], t.data_type())?;
                    if filled.data_type() != f.data_type() {
                        fields[i] = Field::new(f.name(), filled.data_type().clone(), true);
                        children[i] = filled;
                    }
                }
            }
            for t in target_fields {
                if have.find(t.name()).is_none() {
                    fields.push(Field::new(t.name(), t.data_type().clone(), true));
                    children.push(new_null_array(t.data_type(), structs.len()));
                }
            }
            StructArray::try_new(Fields::from(fields), children, structs.nulls().cloned())
                .map(|a| Arc::new(a) as ArrayRef)
                .map_err(rebuild)
        }
        (ArrowType::List(item), ArrowType::List(target_item)) => match array.as_list_opt::<i32>() {
            Some(list) => fill_list(array, list, item, target_item),
            None => Ok(array.clone()),
        },
        (ArrowType::LargeList(item), ArrowType::List(target_item)) => {
            match array.as_list_opt::<i64>() {
                Some(list) => fill_list(array, list, item, target_item),
                None => Ok(array.clone()),
            }
        }
        (ArrowType::Map(entries_field, sorted), ArrowType::Map(target_entries, _)) => {
            let (Some(map), ArrowType::Struct(have), ArrowType::Struct(want)) = (
                array.as_map_opt(),
                entries_field.data_type(),
                target_entries.data_type(),
            ) else {
                return Ok(array.clone());
            };
            let (Some(key_field), Some(value_field), Some(want_key), Some(want_value)) =
                (have.first(), have.get(1), want.first(), want.get(1))
            else {
                return Ok(array.clone());
            };
            // Map entries match by position (key, value): writers name them differently.
            let keys = fill_array(map.keys(), want_key.data_type())?;
            let values = fill_array(map.values(), want_value.data_type())?;
            if keys.data_type() == key_field.data_type()
                && values.data_type() == value_field.data_type()
            {
                return Ok(array.clone());
            }
            let entry_fields = Fields::from(vec![
                Field::new(key_field.name(), keys.data_type().clone(), false),
                Field::new(
                    value_field.name(),
                    values.data_type().clone(),
                    value_field.is_nullable(),
                ),
            ]);
            let entries = StructArray::try_new(entry_fields.clone(), vec![keys, values], None)
                .map_err(rebuild)?;
            MapArray::try_new(
                Arc::new(Field::new(
                    entries_field.name(),
                    ArrowType::Struct(entry_fields),
                    false,
                )),
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *sorted,
            )
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(rebuild)
        }
        _ => Ok(array.clone()),
    }
}

/// The differences between two versions of a schema, in short form, nested fields named by
/// their column path (`address.city`, `items.element.price`): `+name type` (added), `-name`
/// (dropped), `old->new` (renamed, matched by column mapping id), `name: from->to` (type
/// changed), `name: nullable` (nullability relaxed), `name: not null`. A struct's changes are
/// listed field by field. With no `old` schema (a new table), every column is added.
///
/// ```
/// use tidemark_core::schema::schema_changes;
/// use tidemark_core::schema::{DataType, PrimitiveType, StructField, StructType};
///
/// let old = StructType::new(vec![StructField::new("a", PrimitiveType::Integer, true)]);
/// let new = StructType::new(vec![
///     StructField::new("a", PrimitiveType::Long, true),
///     StructField::new("b", PrimitiveType::String, true),
/// ]);
/// assert_eq!(schema_changes(Some(&old), &new), ["a: integer->long", "+b string"]);
///
/// let nested = |f: &str| StructType::new(vec![StructField::new(
///     "s",
///     DataType::struct_type(vec![StructField::new(f, PrimitiveType::Long, true)]),
///     true,
/// )]);
/// assert_eq!(schema_changes(Some(&nested("x")), &nested("y")), ["+s.y long", "-s.x"]);
/// ```
pub fn schema_changes(old: Option<&StructType>, new: &StructType) -> Vec<String> {
    let mut changes = Vec::new();
    match old {
        None => {
            for f in &new.fields {
                changes.push(format!("+{} {}", quote_field_name(&f.name), f.data_type));
            }
        }
        Some(old) => diff_fields(&old.fields, &new.fields, "", "", &mut changes),
    }
    changes
}

/// `parent.name` as a column path.
fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        quote_field_name(name)
    } else {
        format!("{parent}.{}", quote_field_name(name))
    }
}

/// The changes between two lists of struct fields; `old_prefix` and `new_prefix` are the paths
/// of the struct in each version.
fn diff_fields(
    old: &[StructField],
    new: &[StructField],
    old_prefix: &str,
    new_prefix: &str,
    changes: &mut Vec<String>,
) {
    let by_id = old.iter().any(|o| o.field_id().is_some());
    let matching = |field: &StructField| -> Option<&StructField> {
        match field.field_id() {
            Some(id) if by_id => old.iter().find(|o| o.field_id() == Some(id)),
            // Column mapping switched on by this change: existing fields keep their names as
            // physical names.
            _ => match field.metadata.get(COLUMN_MAPPING_PHYSICAL_NAME) {
                Some(Value::String(physical)) => old.iter().find(|o| o.name == *physical),
                _ => old.iter().find(|o| o.name == field.name),
            },
        }
    };
    let mut matched = Vec::new();
    for field in new {
        let path = child_path(new_prefix, &field.name);
        let Some(before) = matching(field) else {
            changes.push(format!("+{path} {}", field.data_type));
            continue;
        };
        matched.push(before.name.clone());
        let before_path = child_path(old_prefix, &before.name);
        if before.name != field.name {
            changes.push(format!("{before_path}->{path}"));
        }
        diff_types(
            &before.data_type,
            &field.data_type,
            &before_path,
            &path,
            changes,
        );
        if before.nullable != field.nullable {
            changes.push(nullability(&path, field.nullable));
        }
    }
    for before in old {
        if !matched.contains(&before.name) {
            changes.push(format!("-{}", child_path(old_prefix, &before.name)));
        }
    }
}

fn nullability(path: &str, nullable: bool) -> String {
    if nullable {
        format!("{path}: nullable")
    } else {
        format!("{path}: not null")
    }
}

/// The changes between two types of one column: field by field in structs (also inside arrays
/// and maps), else the whole type.
fn diff_types(
    old: &DataType,
    new: &DataType,
    old_path: &str,
    new_path: &str,
    changes: &mut Vec<String>,
) {
    if old == new {
        return;
    }
    match (old, new) {
        (DataType::Struct(a), DataType::Struct(b)) => {
            diff_fields(&a.fields, &b.fields, old_path, new_path, changes)
        }
        (DataType::Array(a), DataType::Array(b)) => {
            diff_types(
                &a.element_type,
                &b.element_type,
                &format!("{old_path}.element"),
                &format!("{new_path}.element"),
                changes,
            );
            if a.contains_null != b.contains_null {
                changes.push(nullability(&format!("{new_path}.element"), b.contains_null));
            }
        }
        (DataType::Map(a), DataType::Map(b)) => {
            diff_types(
                &a.key_type,
                &b.key_type,
                &format!("{old_path}.key"),
                &format!("{new_path}.key"),
                changes,
            );
            diff_types(
                &a.value_type,
                &b.value_type,
                &format!("{old_path}.value"),
                &format!("{new_path}.value"),
                changes,
            );
            if a.value_contains_null != b.value_contains_null {
                changes.push(nullability(
                    &format!("{new_path}.value"),
                    b.value_contains_null,
                ));
            }
        }
        _ => changes.push(format!("{new_path}: {old}->{new}")),
    }
}
