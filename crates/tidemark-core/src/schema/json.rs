//! The JSON form of a schema (`metaData.schemaString`): parsing with paths in errors, and serializing.

use super::*;

/// `parent.name`, or `name` at the top level.
pub(super) fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A schema error located at `path` (the whole schema when empty).
pub(super) fn error_at(path: &str, message: impl fmt::Display) -> Error {
    if path.is_empty() {
        Error::Schema(message.to_string())
    } else {
        Error::Schema(format!("column '{path}': {message}"))
    }
}

/// The message of a schema error, without the `invalid table schema:` prefix.
pub(super) fn message_of(error: Error) -> String {
    match error {
        Error::Schema(message) => message,
        other => other.to_string(),
    }
}

pub(super) fn check_decimal(precision: u8, scale: u8) -> Result<()> {
    if !(1..=DECIMAL_MAX_PRECISION).contains(&precision) {
        return Err(Error::Schema(format!(
            "decimal precision {precision} is out of range: it must be between 1 and {DECIMAL_MAX_PRECISION}"
        )));
    }
    if scale > precision {
        return Err(Error::Schema(format!(
            "decimal scale {scale} is greater than its precision {precision}"
        )));
    }
    Ok(())
}

/// Parses the part of a decimal type name after `decimal`: empty or `(p,s)`.
pub(super) fn parse_decimal(name: &str, rest: &str) -> Result<PrimitiveType> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(PrimitiveType::Decimal(10, 0));
    }
    let bad = || {
        Error::Schema(format!(
            "invalid decimal type '{name}': expected 'decimal(precision,scale)' with precision 1..={DECIMAL_MAX_PRECISION} and scale 0..=precision"
        ))
    };
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let mut parts = inner.split(',');
    let (Some(precision), Some(scale), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let precision: u8 = precision.trim().parse().map_err(|_| bad())?;
    let scale: u8 = scale.trim().parse().map_err(|_| bad())?;
    check_decimal(precision, scale)
        .map_err(|e| Error::Schema(format!("invalid decimal type '{name}': {}", message_of(e))))?;
    Ok(PrimitiveType::Decimal(precision, scale))
}

pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A struct type from its JSON form; `path` names it in errors.
pub(super) fn struct_from_json(value: &Value, path: &str) -> Result<StructType> {
    let object = value.as_object().ok_or_else(|| {
        error_at(
            path,
            format!(
                "expected a struct type (a JSON object with \"type\":\"struct\"), found {}",
                describe(value)
            ),
        )
    })?;
    match object.get("type") {
        Some(Value::String(kind)) if kind == "struct" => {}
        Some(other) => {
            return Err(error_at(
                path,
                format!("expected \"type\":\"struct\", found \"type\":{other}"),
            ));
        }
        None => {
            return Err(error_at(
                path,
                "a struct type needs \"type\":\"struct\", which is missing",
            ));
        }
    }
    struct_fields_from_json(object, path)
}

/// The `fields` of a struct object.
pub(super) fn struct_fields_from_json(
    object: &Map<String, Value>,
    path: &str,
) -> Result<StructType> {
    let fields = match object.get("fields") {
        Some(Value::Array(fields)) => fields,
        Some(other) => {
            return Err(error_at(
                path,
                format!(
                    "a struct's \"fields\" must be a JSON array, found {}",
                    describe(other)
                ),
            ));
        }
        None => return Err(error_at(path, "a struct type has no \"fields\"")),
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(index, field)| field_from_json(field, path, index))
        .collect::<Result<Vec<_>>>()?;
    Ok(StructType { fields })
}

/// One struct field from its JSON form.
pub(super) fn field_from_json(value: &Value, parent: &str, index: usize) -> Result<StructField> {
    let object = value.as_object().ok_or_else(|| {
        error_at(
            parent,
            format!(
                "struct field #{index} must be a JSON object, found {}",
                describe(value)
            ),
        )
    })?;
    let name = match object.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(error_at(
                parent,
                format!(
                    "struct field #{index} has a \"name\" that is {}, not a string",
                    describe(other)
                ),
            ));
        }
        None => {
            return Err(error_at(
                parent,
                format!("struct field #{index} has no \"name\""),
            ));
        }
    };
    let path = child_path(parent, &name);
    let data_type = match object.get("type") {
        Some(t) => data_type_from_json(t, &path)?,
        None => return Err(error_at(&path, "the field has no \"type\"")),
    };
    let nullable = optional_bool(object, "nullable", &path)?;
    let metadata = match object.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(metadata)) => metadata.clone(),
        Some(other) => {
            return Err(error_at(
                &path,
                format!(
                    "the field's \"metadata\" must be a JSON object, found {}",
                    describe(other)
                ),
            ));
        }
    };
    Ok(StructField {
        name,
        data_type,
        nullable,
        metadata,
    })
}

/// A boolean member that defaults to `true` when absent.
pub(super) fn optional_bool(object: &Map<String, Value>, key: &str, path: &str) -> Result<bool> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(error_at(
            path,
            format!("\"{key}\" must be a boolean, found {}", describe(other)),
        )),
    }
}

/// A member holding a data type.
pub(super) fn required_type(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<DataType> {
    match object.get(key) {
        Some(t) => data_type_from_json(t, path),
        None => Err(error_at(path, format!("\"{key}\" is missing"))),
    }
}

/// A data type from its JSON form.
pub(super) fn data_type_from_json(value: &Value, path: &str) -> Result<DataType> {
    match value {
        Value::String(name) => PrimitiveType::from_type_name(name)
            .map(DataType::Primitive)
            .map_err(|e| error_at(path, message_of(e))),
        Value::Object(object) => {
            let kind = match object.get("type") {
                Some(Value::String(kind)) => kind.as_str(),
                _ => {
                    return Err(error_at(
                        path,
                        "a complex type must be a JSON object with a string \"type\"",
                    ));
                }
            };
            match kind {
                "struct" => Ok(DataType::Struct(Box::new(struct_fields_from_json(
                    object, path,
                )?))),
                "array" => {
                    let element_path = child_path(path, LIST_ELEMENT);
                    let element_type = required_type(object, "elementType", &element_path)?;
                    let contains_null = optional_bool(object, "containsNull", path)?;
                    Ok(DataType::array(element_type, contains_null))
                }
                "map" => {
                    let key_type = required_type(object, "keyType", &child_path(path, MAP_KEY))?;
                    let value_type =
                        required_type(object, "valueType", &child_path(path, MAP_VALUE))?;
                    let value_contains_null = optional_bool(object, "valueContainsNull", path)?;
                    Ok(DataType::map(key_type, value_type, value_contains_null))
                }
                // The object form of a primitive, e.g. `{"type":"variant"}`.
                other => PrimitiveType::from_type_name(other)
                    .map(DataType::Primitive)
                    .map_err(|e| error_at(path, message_of(e))),
            }
        }
        other => Err(error_at(
            path,
            format!(
                "expected a type name (a JSON string) or a type object, found {}",
                describe(other)
            ),
        )),
    }
}

impl Serialize for PrimitiveType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PrimitiveType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::from_type_name(&name).map_err(|e| serde::de::Error::custom(message_of(e)))
    }
}

impl Serialize for DataType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Primitive(p) => p.serialize(serializer),
            Self::Array(a) => a.serialize(serializer),
            Self::Map(m) => m.serialize(serializer),
            Self::Struct(s) => s.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        data_type_from_json(&value, "").map_err(|e| serde::de::Error::custom(message_of(e)))
    }
}

impl Serialize for ArrayType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ArrayType", 3)?;
        s.serialize_field("type", "array")?;
        s.serialize_field("elementType", &self.element_type)?;
        s.serialize_field("containsNull", &self.contains_null)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for ArrayType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        match DataType::deserialize(deserializer)? {
            DataType::Array(a) => Ok(*a),
            other => Err(serde::de::Error::custom(format!(
                "expected an array type, found {other}"
            ))),
        }
    }
}

impl Serialize for MapType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("MapType", 4)?;
        s.serialize_field("type", "map")?;
        s.serialize_field("keyType", &self.key_type)?;
        s.serialize_field("valueType", &self.value_type)?;
        s.serialize_field("valueContainsNull", &self.value_contains_null)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for MapType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        match DataType::deserialize(deserializer)? {
            DataType::Map(m) => Ok(*m),
            other => Err(serde::de::Error::custom(format!(
                "expected a map type, found {other}"
            ))),
        }
    }
}

impl Serialize for StructType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("StructType", 2)?;
        s.serialize_field("type", "struct")?;
        s.serialize_field("fields", &self.fields)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for StructType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        struct_from_json(&value, "").map_err(|e| serde::de::Error::custom(message_of(e)))
    }
}

impl Serialize for StructField {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_map(Some(4))?;
        s.serialize_entry("name", &self.name)?;
        s.serialize_entry("type", &self.data_type)?;
        s.serialize_entry("nullable", &self.nullable)?;
        s.serialize_entry("metadata", &self.metadata)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for StructField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        field_from_json(&value, "", 0).map_err(|e| serde::de::Error::custom(message_of(e)))
    }
}
