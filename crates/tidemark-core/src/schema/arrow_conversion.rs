//! Conversion between Delta schemas and Arrow schemas, both ways.

use super::*;

/// The two non-null binary fields of an unshredded Variant, `metadata` first.
pub(super) fn variant_arrow_fields() -> ArrowFields {
    ArrowFields::from(vec![
        ArrowField::new(VARIANT_METADATA, ArrowDataType::Binary, false),
        ArrowField::new(VARIANT_VALUE, ArrowDataType::Binary, false),
    ])
}

/// The Arrow fields of a struct; `mode` [`ColumnMappingMode::None`] gives logical names.
pub(super) fn struct_to_arrow_fields(
    st: &StructType,
    mode: ColumnMappingMode,
    parent: &str,
) -> Result<ArrowFields> {
    st.fields
        .iter()
        .map(|field| field_to_arrow(field, mode, parent))
        .collect::<Result<Vec<_>>>()
        .map(ArrowFields::from)
}

pub(super) fn field_to_arrow(
    field: &StructField,
    mode: ColumnMappingMode,
    parent: &str,
) -> Result<ArrowField> {
    let path = child_path(parent, &field.name);
    let name = field.physical_name_at(mode, &path)?;
    let data_type = data_type_to_arrow(&field.data_type, mode, &path)?;
    let arrow = ArrowField::new(name, data_type, field.nullable);
    if mode == ColumnMappingMode::Id {
        let id = field.parquet_field_id_at(&path)?;
        Ok(arrow.with_metadata(HashMap::from([(
            PARQUET_FIELD_ID.to_string(),
            id.to_string(),
        )])))
    } else {
        Ok(arrow)
    }
}

pub(super) fn data_type_to_arrow(
    data_type: &DataType,
    mode: ColumnMappingMode,
    path: &str,
) -> Result<ArrowDataType> {
    match data_type {
        DataType::Primitive(p) => p.to_arrow().map_err(|e| error_at(path, message_of(e))),
        DataType::Array(a) => {
            let element =
                data_type_to_arrow(&a.element_type, mode, &child_path(path, LIST_ELEMENT))?;
            Ok(ArrowDataType::List(Arc::new(ArrowField::new(
                LIST_ELEMENT,
                element,
                a.contains_null,
            ))))
        }
        DataType::Map(m) => {
            let key = data_type_to_arrow(&m.key_type, mode, &child_path(path, MAP_KEY))?;
            let value = data_type_to_arrow(&m.value_type, mode, &child_path(path, MAP_VALUE))?;
            let entries = ArrowDataType::Struct(ArrowFields::from(vec![
                ArrowField::new(MAP_KEY, key, false),
                ArrowField::new(MAP_VALUE, value, m.value_contains_null),
            ]));
            Ok(ArrowDataType::Map(
                Arc::new(ArrowField::new(MAP_ENTRIES, entries, false)),
                false,
            ))
        }
        DataType::Struct(s) => Ok(ArrowDataType::Struct(struct_to_arrow_fields(
            s, mode, path,
        )?)),
    }
}

// ---------------------------------------------------------------------------------------------
// Arrow -> Delta
// ---------------------------------------------------------------------------------------------

pub(super) fn struct_from_arrow_fields(fields: &ArrowFields, parent: &str) -> Result<StructType> {
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(fields.len());
    for field in fields.iter() {
        if let Some(previous) = seen.insert(field.name().to_lowercase(), field.name()) {
            return Err(error_at(
                parent,
                format!(
                    "the column names '{previous}' and '{}' collide: Delta column names must be unique regardless of letter case",
                    field.name()
                ),
            ));
        }
    }
    let fields = fields
        .iter()
        .map(|field| field_from_arrow(field, parent))
        .collect::<Result<Vec<_>>>()?;
    Ok(StructType { fields })
}

pub(super) fn field_from_arrow(field: &ArrowField, parent: &str) -> Result<StructField> {
    let path = child_path(parent, field.name());
    Ok(StructField {
        name: field.name().clone(),
        data_type: field_type_from_arrow(field, &path)?,
        nullable: field.is_nullable(),
        metadata: Map::new(),
    })
}

/// The Delta type of an Arrow field, recognising the Variant extension type.
pub(super) fn field_type_from_arrow(field: &ArrowField, path: &str) -> Result<DataType> {
    if field
        .metadata()
        .get(ARROW_EXTENSION_NAME)
        .map(String::as_str)
        == Some(VARIANT_EXTENSION_NAME)
    {
        return match field.data_type() {
            ArrowDataType::Struct(fields)
                if fields.iter().any(|f| f.name() == VARIANT_METADATA) =>
            {
                Ok(DataType::Primitive(PrimitiveType::Variant))
            }
            other => Err(error_at(
                path,
                format!(
                    "a field tagged '{VARIANT_EXTENSION_NAME}' must be a struct with a binary '{VARIANT_METADATA}' field, found Arrow type {other}"
                ),
            )),
        };
    }
    data_type_from_arrow(field.data_type(), path)
}

pub(super) fn data_type_from_arrow(data_type: &ArrowDataType, path: &str) -> Result<DataType> {
    use ArrowDataType as T;
    let primitive = |p: PrimitiveType| Ok(DataType::Primitive(p));
    match data_type {
        T::Boolean => primitive(PrimitiveType::Boolean),
        T::Int8 => primitive(PrimitiveType::Byte),
        T::Int16 | T::UInt8 => primitive(PrimitiveType::Short),
        T::Int32 | T::UInt16 => primitive(PrimitiveType::Integer),
        T::Int64 | T::UInt32 => primitive(PrimitiveType::Long),
        T::Float16 | T::Float32 => primitive(PrimitiveType::Float),
        T::Float64 => primitive(PrimitiveType::Double),
        T::Utf8 | T::LargeUtf8 | T::Utf8View => primitive(PrimitiveType::String),
        T::Binary | T::LargeBinary | T::BinaryView | T::FixedSizeBinary(_) => {
            primitive(PrimitiveType::Binary)
        }
        T::Date32 | T::Date64 => primitive(PrimitiveType::Date),
        T::Timestamp(_, Some(_)) => primitive(PrimitiveType::Timestamp),
        T::Timestamp(_, None) => primitive(PrimitiveType::TimestampNtz),
        T::Decimal32(precision, scale)
        | T::Decimal64(precision, scale)
        | T::Decimal128(precision, scale)
        | T::Decimal256(precision, scale) => {
            let decimal = u8::try_from(*scale)
                .map_err(|_| Error::Schema(format!("negative scale {scale} is not supported")))
                .and_then(|scale| PrimitiveType::decimal(*precision, scale));
            match decimal {
                Ok(p) => primitive(p),
                Err(e) => Err(error_at(
                    path,
                    format!(
                        "Arrow type {data_type} has no Delta equivalent: {}",
                        message_of(e)
                    ),
                )),
            }
        }
        T::List(element)
        | T::LargeList(element)
        | T::ListView(element)
        | T::LargeListView(element)
        | T::FixedSizeList(element, _) => Ok(DataType::array(
            field_type_from_arrow(element, &child_path(path, LIST_ELEMENT))?,
            element.is_nullable(),
        )),
        T::Map(entries, _) => match entries.data_type() {
            T::Struct(fields) if fields.len() == 2 => {
                let key = field_type_from_arrow(&fields[0], &child_path(path, MAP_KEY))?;
                let value = field_type_from_arrow(&fields[1], &child_path(path, MAP_VALUE))?;
                Ok(DataType::map(key, value, fields[1].is_nullable()))
            }
            other => Err(error_at(
                path,
                format!(
                    "an Arrow map's entries must be a struct of a key and a value, found {other}"
                ),
            )),
        },
        T::Struct(fields) => Ok(DataType::Struct(Box::new(struct_from_arrow_fields(
            fields, path,
        )?))),
        T::Dictionary(_, values) => data_type_from_arrow(values, path),
        T::RunEndEncoded(_, values) => field_type_from_arrow(values, path),
        T::UInt64 => Err(error_at(
            path,
            "Arrow type UInt64 has no Delta equivalent (Delta integers are signed); cast the column to Int64 or Decimal128(20, 0)",
        )),
        T::Null => Err(error_at(
            path,
            "Arrow type Null has no Delta equivalent (Delta does not support 'void' columns); give the column a concrete type",
        )),
        other => Err(error_at(
            path,
            format!("Arrow type {other} has no Delta equivalent"),
        )),
    }
}
