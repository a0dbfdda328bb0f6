//! The Delta Lake table schema: its types, their JSON form and their conversion to Arrow.
//!
//! A table's schema is stored in the `schemaString` of the `metaData` action as JSON, in the
//! format of the protocol's "Schema Serialization Format" appendix (a subset of Spark SQL's JSON
//! schema representation):
//!
//! - a primitive type is a JSON string: `"string"`, `"long"`, `"integer"`, `"short"`, `"byte"`,
//!   `"float"`, `"double"`, `"boolean"`, `"binary"`, `"date"`, `"timestamp"`, `"timestamp_ntz"`,
//!   `"decimal(p,s)"` or `"variant"`;
//! - a struct is `{"type":"struct","fields":[...]}`, each field being
//!   `{"name":..,"type":..,"nullable":..,"metadata":{..}}`;
//! - an array is `{"type":"array","elementType":..,"containsNull":..}`;
//! - a map is `{"type":"map","keyType":..,"valueType":..,"valueContainsNull":..}`.
//!
//! [`parse_schema`] reads such a string into a [`StructType`]; the types implement
//! [`serde::Serialize`] and [`serde::Deserialize`] in exactly that form, and a field's metadata (an
//! arbitrary JSON object) round-trips unchanged.
//!
//! # Arrow
//!
//! [`StructType::to_arrow`] gives the *logical* Arrow schema (the names users see);
//! [`StructType::to_physical_arrow`] gives the schema as stored in the Parquet data files under a
//! [`ColumnMappingMode`]: physical names at every nesting level, and, in `id` mode, the column
//! mapping id of every field as the Arrow field metadata [`PARQUET_FIELD_ID`], which is how the
//! `parquet` crate reads and writes Parquet field ids. [`StructType::from_arrow`] is the inverse
//! of `to_arrow`, for writers.
//!
//! | Delta | Arrow |
//! |---|---|
//! | `string` | `Utf8` |
//! | `long` / `integer` / `short` / `byte` | `Int64` / `Int32` / `Int16` / `Int8` |
//! | `float` / `double` | `Float32` / `Float64` |
//! | `boolean` | `Boolean` |
//! | `binary` | `Binary` |
//! | `date` | `Date32` |
//! | `timestamp` | `Timestamp(Microsecond, Some("UTC"))` |
//! | `timestamp_ntz` | `Timestamp(Microsecond, None)` |
//! | `decimal(p,s)` | `Decimal128(p, s)` |
//! | `array` | `List` with element field `element` (nullable = `containsNull`) |
//! | `map` | `Map` of non-null entries `key_value` {`key` (non-null), `value`}, keys unsorted |
//! | `struct` | `Struct` |
//! | `variant` | `Struct` {`metadata`: `Binary` (non-null), `value`: `Binary` (non-null)} |
//!
//! A `variant` is stored in Parquet ("unshredded") as a struct of two binary fields, the
//! binary-encoded Variant `metadata` and `value`; Tidemark exposes that raw struct-of-binary, the
//! alternative the protocol allows for engines without a Variant type. Spark writes the two
//! fields in the order `value`, `metadata`, so resolve them by name, not by position.
//!
//! # Type widening
//!
//! [`is_widening`] tells whether the `typeWidening` table feature allows a file's (narrower) type
//! to be read as the table's (wider) type.
//!
//! # Not supported
//!
//! The types `void` (Spark's `NullType`), `geometry(..)`, `geography(..)` and any other name
//! outside the list above are refused with an error naming the column and the type. (Spark's
//! collated strings are serialized as `string` with collation metadata, and parse as strings.)

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{
    DataType as ArrowDataType, Field as ArrowField, Fields as ArrowFields, Schema as ArrowSchema,
    TimeUnit,
};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Field metadata key holding a column's physical name (the name used in data files) when column
/// mapping is enabled.
pub const COLUMN_MAPPING_PHYSICAL_NAME: &str = "delta.columnMapping.physicalName";

/// Field metadata key holding a column's column mapping id (a 32-bit integer, written to Parquet
/// as the field id).
pub const COLUMN_MAPPING_ID: &str = "delta.columnMapping.id";

/// Table property (in `metaData.configuration`) selecting the column mapping mode.
pub const COLUMN_MAPPING_MODE: &str = "delta.columnMapping.mode";

/// Arrow field metadata key under which the `parquet` crate reads and writes Parquet field ids.
pub const PARQUET_FIELD_ID: &str = "PARQUET:field_id";

/// Arrow field metadata key naming an extension type.
pub const ARROW_EXTENSION_NAME: &str = "ARROW:extension:name";

/// The canonical Arrow extension type name of a Parquet Variant; [`StructType::from_arrow`] maps
/// a struct field tagged with it to the Delta `variant` type.
pub const VARIANT_EXTENSION_NAME: &str = "arrow.parquet.variant";

/// The highest precision of a Delta `decimal`.
pub const DECIMAL_MAX_PRECISION: u8 = 38;

/// Name of the element field of an Arrow list made from a Delta array.
const LIST_ELEMENT: &str = "element";
/// Name of the entries field of an Arrow map made from a Delta map.
const MAP_ENTRIES: &str = "key_value";
/// Name of the key field of an Arrow map's entries.
const MAP_KEY: &str = "key";
/// Name of the value field of an Arrow map's entries.
const MAP_VALUE: &str = "value";
/// Names of the two binary fields of an unshredded Variant.
const VARIANT_METADATA: &str = "metadata";
const VARIANT_VALUE: &str = "value";

/// The names accepted for primitive types, for error messages.
const PRIMITIVE_NAMES: &str = "string, long, integer, short, byte, float, double, boolean, binary, date, timestamp, timestamp_ntz, decimal(p,s), variant";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A primitive (leaf) Delta type, serialized as a JSON string such as `"long"` or
/// `"decimal(10,2)"`.
///
/// ```
/// use tidemark_core::schema::PrimitiveType;
///
/// let t: PrimitiveType = "decimal(10, 2)".parse().unwrap();
/// assert_eq!(t, PrimitiveType::Decimal(10, 2));
/// assert_eq!(t.to_string(), "decimal(10,2)");
/// assert!("void".parse::<PrimitiveType>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrimitiveType {
    /// `string`: UTF-8 text.
    String,
    /// `long`: 8-byte signed integer.
    Long,
    /// `integer`: 4-byte signed integer.
    Integer,
    /// `short`: 2-byte signed integer.
    Short,
    /// `byte`: 1-byte signed integer.
    Byte,
    /// `float`: 4-byte floating point.
    Float,
    /// `double`: 8-byte floating point.
    Double,
    /// `boolean`.
    Boolean,
    /// `binary`: a byte sequence.
    Binary,
    /// `date`: a calendar date without time zone.
    Date,
    /// `timestamp`: microseconds since the Unix epoch, adjusted to UTC.
    Timestamp,
    /// `timestamp_ntz`: microseconds since the epoch in no particular time zone (feature
    /// `timestampNtz`).
    TimestampNtz,
    /// `decimal(precision, scale)`: precision 1..=38, scale 0..=precision.
    Decimal(u8, u8),
    /// `variant`: semi-structured data (feature `variantType`), stored as a struct of the binary
    /// Variant `metadata` and `value`.
    Variant,
}

impl PrimitiveType {
    /// Parses a primitive type name as written in a schema string (`"long"`, `"decimal(10,2)"`;
    /// spaces inside the decimal's parentheses are accepted, and a bare `"decimal"` is
    /// `decimal(10,0)` as in Spark).
    pub fn from_type_name(name: &str) -> Result<Self> {
        let primitive = match name {
            "string" => Self::String,
            "long" => Self::Long,
            "integer" => Self::Integer,
            "short" => Self::Short,
            "byte" => Self::Byte,
            "float" => Self::Float,
            "double" => Self::Double,
            "boolean" => Self::Boolean,
            "binary" => Self::Binary,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "timestamp_ntz" => Self::TimestampNtz,
            "variant" => Self::Variant,
            other => match other.strip_prefix("decimal") {
                Some(rest) => return parse_decimal(name, rest),
                None => {
                    return Err(Error::Schema(format!(
                        "unknown data type '{name}'; Tidemark supports the primitive types {PRIMITIVE_NAMES}, and array, map and struct"
                    )));
                }
            },
        };
        Ok(primitive)
    }

    /// A decimal type, checking precision (1..=38) and scale (0..=precision).
    pub fn decimal(precision: u8, scale: u8) -> Result<Self> {
        check_decimal(precision, scale)?;
        Ok(Self::Decimal(precision, scale))
    }

    /// The Arrow type this primitive maps to (see the [module documentation](self)).
    pub fn to_arrow(&self) -> Result<ArrowDataType> {
        Ok(match self {
            Self::String => ArrowDataType::Utf8,
            Self::Long => ArrowDataType::Int64,
            Self::Integer => ArrowDataType::Int32,
            Self::Short => ArrowDataType::Int16,
            Self::Byte => ArrowDataType::Int8,
            Self::Float => ArrowDataType::Float32,
            Self::Double => ArrowDataType::Float64,
            Self::Boolean => ArrowDataType::Boolean,
            Self::Binary => ArrowDataType::Binary,
            Self::Date => ArrowDataType::Date32,
            Self::Timestamp => ArrowDataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Self::TimestampNtz => ArrowDataType::Timestamp(TimeUnit::Microsecond, None),
            Self::Decimal(precision, scale) => {
                check_decimal(*precision, *scale)?;
                let scale = i8::try_from(*scale).map_err(|_| {
                    Error::Schema(format!("decimal scale {scale} does not fit Arrow's i8"))
                })?;
                ArrowDataType::Decimal128(*precision, scale)
            }
            Self::Variant => ArrowDataType::Struct(variant_arrow_fields()),
        })
    }
}

impl fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::String => "string",
            Self::Long => "long",
            Self::Integer => "integer",
            Self::Short => "short",
            Self::Byte => "byte",
            Self::Float => "float",
            Self::Double => "double",
            Self::Boolean => "boolean",
            Self::Binary => "binary",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::TimestampNtz => "timestamp_ntz",
            Self::Decimal(precision, scale) => return write!(f, "decimal({precision},{scale})"),
            Self::Variant => "variant",
        };
        f.write_str(name)
    }
}

impl FromStr for PrimitiveType {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::from_type_name(name)
    }
}

/// A Delta data type: a primitive, an array, a map or a struct.
///
/// ```
/// use tidemark_core::schema::{DataType, PrimitiveType};
///
/// let t: DataType = serde_json::from_str(
///     r#"{"type":"array","elementType":"long","containsNull":true}"#,
/// )
/// .unwrap();
/// assert_eq!(t, DataType::array(DataType::Primitive(PrimitiveType::Long), true));
/// assert_eq!(t.to_string(), "array<long>");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum DataType {
    /// A primitive type.
    Primitive(PrimitiveType),
    /// An array.
    Array(Box<ArrayType>),
    /// A map.
    Map(Box<MapType>),
    /// A struct.
    Struct(Box<StructType>),
}

/// An array type: a variable-length list of elements of one type.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayType {
    /// The type of the elements.
    pub element_type: DataType,
    /// Whether elements may be null.
    pub contains_null: bool,
}

/// A map type: key-value pairs with one key type and one value type. Keys are never null.
#[derive(Debug, Clone, PartialEq)]
pub struct MapType {
    /// The type of the keys.
    pub key_type: DataType,
    /// The type of the values.
    pub value_type: DataType,
    /// Whether values may be null.
    pub value_contains_null: bool,
}

/// A struct type: the table schema itself, or a struct column.
///
/// ```
/// use tidemark_core::schema::{parse_schema, DataType, PrimitiveType};
///
/// let schema = parse_schema(
///     r#"{"type":"struct","fields":[
///         {"name":"id","type":"long","nullable":false,"metadata":{}},
///         {"name":"tags","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}}
///     ]}"#,
/// )
/// .unwrap();
/// let id = schema.field("id").unwrap();
/// assert_eq!(id.data_type, DataType::Primitive(PrimitiveType::Long));
/// assert!(!id.nullable);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructType {
    /// The fields, in order.
    pub fields: Vec<StructField>,
}

/// One field of a struct: a top-level or nested column.
#[derive(Debug, Clone, PartialEq)]
pub struct StructField {
    /// The (logical, user-facing) name.
    pub name: String,
    /// The type.
    pub data_type: DataType,
    /// Whether the field may be null.
    pub nullable: bool,
    /// Column metadata: column mapping, identity, invariants, generation expressions, type
    /// changes and any other key, kept exactly as in the schema string.
    pub metadata: Map<String, Value>,
}

/// How the columns of a table's data files are matched to the schema (protocol "Column
/// Mapping"), from the table property `delta.columnMapping.mode`.
///
/// ```
/// use std::collections::HashMap;
/// use tidemark_core::schema::ColumnMappingMode;
///
/// let config = HashMap::from([("delta.columnMapping.mode".to_string(), "name".to_string())]);
/// assert_eq!(ColumnMappingMode::from_configuration(&config).unwrap(), ColumnMappingMode::Name);
/// assert_eq!(ColumnMappingMode::from_configuration(&HashMap::new()).unwrap(), ColumnMappingMode::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ColumnMappingMode {
    /// No column mapping: data files use the logical names.
    #[default]
    None,
    /// Data file columns are resolved by their physical names.
    Name,
    /// Data file columns are resolved by their Parquet field ids (the column mapping ids).
    Id,
}

impl ColumnMappingMode {
    /// Reads `delta.columnMapping.mode` from a table's configuration: absent means
    /// [`ColumnMappingMode::None`]; `none`, `name` and `id` are accepted in any letter case; any
    /// other value is an error.
    pub fn from_configuration(config: &HashMap<String, String>) -> Result<Self> {
        match config.get(COLUMN_MAPPING_MODE) {
            None => Ok(Self::None),
            Some(value) => value.parse(),
        }
    }

    /// The mode's name as written in the table property.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Name => "name",
            Self::Id => "id",
        }
    }
}

impl FromStr for ColumnMappingMode {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "name" => Ok(Self::Name),
            "id" => Ok(Self::Id),
            _ => Err(Error::Schema(format!(
                "unknown column mapping mode '{value}' in table property '{COLUMN_MAPPING_MODE}'; expected 'none', 'name' or 'id'"
            ))),
        }
    }
}

impl fmt::Display for ColumnMappingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Constructors and accessors
// ---------------------------------------------------------------------------------------------

impl DataType {
    /// An array type.
    pub fn array(element_type: DataType, contains_null: bool) -> Self {
        Self::Array(Box::new(ArrayType {
            element_type,
            contains_null,
        }))
    }

    /// A map type.
    pub fn map(key_type: DataType, value_type: DataType, value_contains_null: bool) -> Self {
        Self::Map(Box::new(MapType {
            key_type,
            value_type,
            value_contains_null,
        }))
    }

    /// A struct type.
    pub fn struct_type(fields: Vec<StructField>) -> Self {
        Self::Struct(Box::new(StructType { fields }))
    }

    /// The logical Arrow type of this type (see the [module documentation](self)).
    pub fn to_arrow(&self) -> Result<ArrowDataType> {
        data_type_to_arrow(self, ColumnMappingMode::None, "")
    }
}

impl From<PrimitiveType> for DataType {
    fn from(primitive: PrimitiveType) -> Self {
        Self::Primitive(primitive)
    }
}

impl fmt::Display for DataType {
    /// A compact form: `long`, `array<string>`, `map<string,long>`, `struct<a:long,b:string>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Primitive(p) => write!(f, "{p}"),
            Self::Array(a) => write!(f, "array<{}>", a.element_type),
            Self::Map(m) => write!(f, "map<{},{}>", m.key_type, m.value_type),
            Self::Struct(s) => {
                f.write_str("struct<")?;
                for (i, field) in s.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
        }
    }
}

impl StructField {
    /// A field with empty metadata.
    pub fn new(name: impl Into<String>, data_type: impl Into<DataType>, nullable: bool) -> Self {
        Self {
            name: name.into(),
            data_type: data_type.into(),
            nullable,
            metadata: Map::new(),
        }
    }

    /// Returns the field with the given metadata.
    pub fn with_metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }

    /// The name of this field in the data files: the logical name in mode
    /// [`ColumnMappingMode::None`], the metadata `delta.columnMapping.physicalName` in modes
    /// `Name` and `Id` (an error when it is missing).
    ///
    /// ```
    /// use tidemark_core::schema::{ColumnMappingMode, PrimitiveType, StructField};
    ///
    /// let mut metadata = serde_json::Map::new();
    /// metadata.insert("delta.columnMapping.physicalName".into(), "col-1".into());
    /// let field = StructField::new("a", PrimitiveType::Long, true).with_metadata(metadata);
    /// assert_eq!(field.physical_name(ColumnMappingMode::None).unwrap(), "a");
    /// assert_eq!(field.physical_name(ColumnMappingMode::Name).unwrap(), "col-1");
    /// ```
    pub fn physical_name(&self, mode: ColumnMappingMode) -> Result<&str> {
        self.physical_name_at(mode, &self.name)
    }

    /// The column mapping id (metadata `delta.columnMapping.id`), when present and an integer
    /// (a JSON number, or a string holding one).
    pub fn field_id(&self) -> Option<i64> {
        match self.metadata.get(COLUMN_MAPPING_ID)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The physical name, naming the column by `path` in errors.
    fn physical_name_at(&self, mode: ColumnMappingMode, path: &str) -> Result<&str> {
        match mode {
            ColumnMappingMode::None => Ok(&self.name),
            ColumnMappingMode::Name | ColumnMappingMode::Id => {
                match self.metadata.get(COLUMN_MAPPING_PHYSICAL_NAME) {
                    Some(Value::String(name)) if !name.is_empty() => Ok(name),
                    Some(other) => Err(Error::Schema(format!(
                        "column '{path}' has an invalid '{COLUMN_MAPPING_PHYSICAL_NAME}' {other}: expected a non-empty string"
                    ))),
                    None => Err(Error::Schema(format!(
                        "column '{path}' has no '{COLUMN_MAPPING_PHYSICAL_NAME}' in its metadata, but the table uses column mapping mode '{mode}'"
                    ))),
                }
            }
        }
    }

    /// The column mapping id as a Parquet field id, naming the column by `path` in errors.
    fn parquet_field_id_at(&self, path: &str) -> Result<i32> {
        let id = self.field_id().ok_or_else(|| {
            Error::Schema(format!(
                "column '{path}' has no integer '{COLUMN_MAPPING_ID}' in its metadata, but the table uses column mapping mode 'id'"
            ))
        })?;
        i32::try_from(id).map_err(|_| {
            Error::Schema(format!(
                "column '{path}' has column mapping id {id}, which does not fit a 32-bit Parquet field id"
            ))
        })
    }
}

impl StructType {
    /// A struct of the given fields.
    pub fn new(fields: Vec<StructField>) -> Self {
        Self { fields }
    }

    /// The field with this exact (logical) name, if any.
    pub fn field(&self, name: &str) -> Option<&StructField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The schema as a JSON string, in the form stored in `metaData.schemaString`.
    pub fn to_schema_string(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::Schema(format!("cannot serialize the schema: {e}")))
    }

    /// The logical Arrow schema: logical names at every level, no field metadata.
    ///
    /// ```
    /// use arrow::datatypes::DataType;
    /// use tidemark_core::schema::parse_schema;
    ///
    /// let schema = parse_schema(
    ///     r#"{"type":"struct","fields":[{"name":"d","type":"decimal(10,2)","nullable":true,"metadata":{}}]}"#,
    /// )
    /// .unwrap();
    /// let arrow = schema.to_arrow().unwrap();
    /// assert_eq!(arrow.field(0).data_type(), &DataType::Decimal128(10, 2));
    /// ```
    pub fn to_arrow(&self) -> Result<ArrowSchema> {
        Ok(ArrowSchema::new(struct_to_arrow_fields(
            self,
            ColumnMappingMode::None,
            "",
        )?))
    }

    /// The Arrow schema of the table's Parquet data files under `mode`: the physical name of
    /// every field at every nesting level (struct fields, including those inside arrays and
    /// maps), and in mode [`ColumnMappingMode::Id`] each field's column mapping id as the Arrow
    /// field metadata [`PARQUET_FIELD_ID`] (a decimal string). Array elements, map entries and
    /// the fields of a variant carry no ids. With [`ColumnMappingMode::None`] this is
    /// [`StructType::to_arrow`].
    ///
    /// Errors when a field lacks the physical name (modes `Name`, `Id`) or the id (mode `Id`).
    ///
    /// ```
    /// use tidemark_core::schema::{parse_schema, ColumnMappingMode, PARQUET_FIELD_ID};
    ///
    /// let schema = parse_schema(
    ///     r#"{"type":"struct","fields":[{"name":"a","type":"long","nullable":true,
    ///         "metadata":{"delta.columnMapping.id":1,"delta.columnMapping.physicalName":"col-a"}}]}"#,
    /// )
    /// .unwrap();
    /// let physical = schema.to_physical_arrow(ColumnMappingMode::Id).unwrap();
    /// assert_eq!(physical.field(0).name(), "col-a");
    /// assert_eq!(physical.field(0).metadata()[PARQUET_FIELD_ID], "1");
    /// ```
    pub fn to_physical_arrow(&self, mode: ColumnMappingMode) -> Result<ArrowSchema> {
        Ok(ArrowSchema::new(struct_to_arrow_fields(self, mode, "")?))
    }

    /// The Delta schema of an Arrow schema, for writers: the inverse of
    /// [`StructType::to_arrow`], with these extra mappings:
    ///
    /// - `LargeUtf8`, `Utf8View` → `string`; `LargeBinary`, `BinaryView`, `FixedSizeBinary` →
    ///   `binary`; `Float16` → `float`; `Date64` → `date`;
    /// - `UInt8`, `UInt16`, `UInt32` → `short`, `integer`, `long` (the next wider signed type);
    /// - `Timestamp` of any unit → `timestamp` with a time zone, `timestamp_ntz` without (Delta
    ///   stores microseconds: values must be cast);
    /// - `Decimal32`/`64`/`256` with precision ≤ 38 → `decimal`;
    /// - `LargeList`, `ListView`, `LargeListView`, `FixedSizeList` → `array`;
    /// - `Dictionary` and `RunEndEncoded` → the type of their values;
    /// - a struct field tagged with the extension type [`VARIANT_EXTENSION_NAME`] → `variant`
    ///   (an untagged struct of `metadata` and `value` stays a struct).
    ///
    /// Field metadata is not carried over. Errors name the column and the Arrow type with no
    /// Delta equivalent (`UInt64`, `Null`, time, duration, interval, union, …), and refuse
    /// column names that collide when letter case is ignored, as the protocol requires.
    ///
    /// ```
    /// use arrow::datatypes::{DataType, Field, Schema};
    /// use tidemark_core::schema::StructType;
    ///
    /// let arrow = Schema::new(vec![Field::new("s", DataType::LargeUtf8, true)]);
    /// let delta = StructType::from_arrow(&arrow).unwrap();
    /// assert_eq!(delta.fields[0].data_type.to_string(), "string");
    ///
    /// let bad = Schema::new(vec![Field::new("t", DataType::UInt64, true)]);
    /// assert!(StructType::from_arrow(&bad).unwrap_err().to_string().contains("'t'"));
    /// ```
    pub fn from_arrow(schema: &ArrowSchema) -> Result<StructType> {
        struct_from_arrow_fields(schema.fields(), "")
    }
}

/// Parses a `schemaString` (the JSON form of the table schema).
///
/// ```
/// use tidemark_core::schema::parse_schema;
///
/// let schema = parse_schema(r#"{"type":"struct","fields":[{"name":"a","type":"integer","nullable":true,"metadata":{}}]}"#).unwrap();
/// assert_eq!(schema.fields[0].name, "a");
///
/// let err = parse_schema(r#"{"type":"struct","fields":[{"name":"g","type":"geometry(OGC:CRS84)","nullable":true,"metadata":{}}]}"#).unwrap_err();
/// assert!(err.to_string().contains("geometry(OGC:CRS84)"));
/// ```
pub fn parse_schema(schema_string: &str) -> Result<StructType> {
    if schema_string.trim().is_empty() {
        return Err(Error::Schema(
            "the table has no schema at this version (its metaData action has no schemaString); read a later version".into(),
        ));
    }
    let value: Value = serde_json::from_str(schema_string)
        .map_err(|e| Error::Schema(format!("the schema string is not valid JSON: {e}")))?;
    struct_from_json(&value, "")
}

// ---------------------------------------------------------------------------------------------
// Column paths
// ---------------------------------------------------------------------------------------------

/// Splits a column path such as `address.city` into its field names.
///
/// Dots separate nesting levels. A name containing dots (or backticks, or spaces at its ends)
/// is quoted with backticks, as in Spark SQL: `` `a.b`.c `` is the field `c` of the column
/// `a.b`, and a backtick inside a quoted name is doubled (`` `x``y` `` is the name ``x`y``).
/// The elements of an array and the keys and values of a map are reached through the
/// segments `element`, `key` and `value` (`items.element.price`, `attrs.value.unit`).
///
/// Errors (an empty path or segment, an unclosed backtick, text right after a closing
/// backtick) name the path and show how to quote.
///
/// ```
/// use tidemark_core::schema::parse_column_path;
///
/// assert_eq!(parse_column_path("address.city").unwrap(), ["address", "city"]);
/// assert_eq!(parse_column_path("`a.b`.c").unwrap(), ["a.b", "c"]);
/// assert_eq!(parse_column_path("`x``y`").unwrap(), ["x`y"]);
/// assert!(parse_column_path("a..b").is_err());
/// assert!(parse_column_path("`a.b").is_err());
/// ```
pub fn parse_column_path(path: &str) -> Result<Vec<String>> {
    let invalid = |why: &str| {
        Error::InvalidArgument(format!(
            "invalid column path '{path}': {why}; separate nested fields with dots (address.city), and quote a name holding dots with backticks (`a.b`.c)"
        ))
    };
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    loop {
        let mut segment = String::new();
        if chars.peek() == Some(&'`') {
            chars.next();
            loop {
                match chars.next() {
                    Some('`') if chars.peek() == Some(&'`') => {
                        chars.next();
                        segment.push('`');
                    }
                    Some('`') => break,
                    Some(c) => segment.push(c),
                    None => return Err(invalid("a backtick is not closed")),
                }
            }
            match chars.peek() {
                None | Some('.') => {}
                Some(_) => return Err(invalid("a quoted name must be followed by a dot or end")),
            }
            if segment.is_empty() {
                return Err(invalid("a field name is empty"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '`' {
                    return Err(invalid("a backtick may only open a quoted name"));
                }
                segment.push(c);
                chars.next();
            }
            if segment.trim().is_empty() {
                return Err(invalid("a field name is empty"));
            }
        }
        segments.push(segment);
        match chars.next() {
            None => return Ok(segments),
            Some(_) => {
                if chars.peek().is_none() {
                    return Err(invalid("the path ends with a dot"));
                }
            }
        }
    }
}

/// Formats field names as a column path, the inverse of [`parse_column_path`]: names holding
/// a dot or a backtick, or empty or with spaces at their ends, are quoted with backticks.
///
/// ```
/// use tidemark_core::schema::format_column_path;
///
/// assert_eq!(format_column_path(&["address", "city"]), "address.city");
/// assert_eq!(format_column_path(&["a.b", "c"]), "`a.b`.c");
/// ```
pub fn format_column_path<S: AsRef<str>>(segments: &[S]) -> String {
    segments
        .iter()
        .map(|s| quote_field_name(s.as_ref()))
        .collect::<Vec<_>>()
        .join(".")
}

/// A field name as written in a column path: quoted with backticks when needed.
pub fn quote_field_name(name: &str) -> String {
    if name.contains(['.', '`']) || name.is_empty() || name.trim() != name {
        format!("`{}`", name.replace('`', "``"))
    } else {
        name.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Type widening
// ---------------------------------------------------------------------------------------------

/// Whether the `typeWidening` table feature allows values of Arrow type `from` (a data file's
/// type) to be read as Arrow type `to` (the table's type), per the protocol's "Type Widening":
///
/// - integers: `Int8` → `Int16` → `Int32` → `Int64` (transitively);
/// - floating point: `Float32` → `Float64`, and `Int8`, `Int16`, `Int32` → `Float64`;
/// - dates: `Date32` → `Timestamp(Microsecond, None)` (`timestamp_ntz`);
/// - decimals: `decimal(p, s)` → `decimal(p + k1, s + k2)` with `k1 >= k2 >= 0`, whatever the
///   Arrow decimal width (so a `Decimal64(10,2)` file column may also be read as
///   `Decimal128(10,2)`);
/// - integers to decimals: `Int8`, `Int16`, `Int32` → `decimal(10 + k1, k2)`, `Int64` →
///   `decimal(20 + k1, k2)`, with `k1 >= k2 >= 0`;
/// - nested types: lists (same list kind), maps and structs (same field names in the same
///   order) whose children are each equal or widened, at least one being widened.
///
/// Identical types are not a widening (`false`); neither is any narrowing or other change.
///
/// ```
/// use arrow::datatypes::{DataType, TimeUnit};
/// use tidemark_core::schema::is_widening;
///
/// assert!(is_widening(&DataType::Int8, &DataType::Int64));
/// assert!(is_widening(&DataType::Int32, &DataType::Decimal128(10, 0)));
/// assert!(!is_widening(&DataType::Int32, &DataType::Decimal128(10, 1)));
/// assert!(is_widening(&DataType::Date32, &DataType::Timestamp(TimeUnit::Microsecond, None)));
/// assert!(!is_widening(&DataType::Int64, &DataType::Int32));
/// assert!(!is_widening(&DataType::Int64, &DataType::Float64));
/// ```
pub fn is_widening(from: &ArrowDataType, to: &ArrowDataType) -> bool {
    use ArrowDataType as T;
    if from == to {
        return false;
    }
    match (from, to) {
        (T::Int8, T::Int16 | T::Int32 | T::Int64)
        | (T::Int16, T::Int32 | T::Int64)
        | (T::Int32, T::Int64)
        | (T::Int8 | T::Int16 | T::Int32, T::Float64)
        | (T::Float32, T::Float64) => true,
        (T::Date32, T::Timestamp(TimeUnit::Microsecond, None)) => true,
        (T::List(a), T::List(b))
        | (T::LargeList(a), T::LargeList(b))
        | (T::ListView(a), T::ListView(b))
        | (T::LargeListView(a), T::LargeListView(b)) => {
            child_change(a.data_type(), b.data_type()) == Some(true)
        }
        (T::Map(a, _), T::Map(b, _)) => children_widening(
            &entry_types(a.data_type()),
            &entry_types(b.data_type()),
            true,
        ),
        (T::Struct(a), T::Struct(b)) => {
            a.len() == b.len()
                && a.iter().zip(b.iter()).all(|(x, y)| x.name() == y.name())
                && children_widening(
                    &a.iter().map(|f| f.data_type()).collect::<Vec<_>>(),
                    &b.iter().map(|f| f.data_type()).collect::<Vec<_>>(),
                    false,
                )
        }
        _ => match (decimal_parameters(from), decimal_parameters(to)) {
            (Some(source), Some(target)) => decimal_widening(source, target),
            (None, Some((precision, scale))) => match integer_digits(from) {
                Some(digits) => scale >= 0 && i16::from(precision) - digits >= i16::from(scale),
                None => false,
            },
            _ => false,
        },
    }
}

/// `Some(false)` when two child types are equal, `Some(true)` when the second widens the first,
/// `None` otherwise.
fn child_change(from: &ArrowDataType, to: &ArrowDataType) -> Option<bool> {
    if from.equals_datatype(to) {
        Some(false)
    } else if is_widening(from, to) {
        Some(true)
    } else {
        None
    }
}

/// Whether each pair of children is equal or widened and at least one is widened.
/// `exact_count` map entries must be exactly key and value.
fn children_widening(from: &[&ArrowDataType], to: &[&ArrowDataType], exact_count: bool) -> bool {
    if from.len() != to.len() || (exact_count && from.len() != 2) {
        return false;
    }
    let mut widened = false;
    for (a, b) in from.iter().zip(to.iter()) {
        match child_change(a, b) {
            Some(w) => widened |= w,
            None => return false,
        }
    }
    widened
}

/// The child types of a map's entries struct.
fn entry_types(entries: &ArrowDataType) -> Vec<&ArrowDataType> {
    match entries {
        ArrowDataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        _ => Vec::new(),
    }
}

/// Precision and scale of any Arrow decimal type.
fn decimal_parameters(data_type: &ArrowDataType) -> Option<(u8, i8)> {
    match data_type {
        ArrowDataType::Decimal32(p, s)
        | ArrowDataType::Decimal64(p, s)
        | ArrowDataType::Decimal128(p, s)
        | ArrowDataType::Decimal256(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// `decimal(p, s)` → `decimal(p + k1, s + k2)` with `k1 >= k2 >= 0`.
fn decimal_widening((p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> bool {
    let k1 = i16::from(p2) - i16::from(p1);
    let k2 = i16::from(s2) - i16::from(s1);
    k2 >= 0 && k1 >= k2
}

/// The number of integer digits a decimal needs to hold every value of an integer type, as the
/// protocol defines it for integer → decimal widening.
fn integer_digits(data_type: &ArrowDataType) -> Option<i16> {
    match data_type {
        ArrowDataType::Int8 | ArrowDataType::Int16 | ArrowDataType::Int32 => Some(10),
        ArrowDataType::Int64 => Some(20),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// `parent.name`, or `name` at the top level.
fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A schema error located at `path` (the whole schema when empty).
fn error_at(path: &str, message: impl fmt::Display) -> Error {
    if path.is_empty() {
        Error::Schema(message.to_string())
    } else {
        Error::Schema(format!("column '{path}': {message}"))
    }
}

/// The message of a schema error, without the `invalid table schema:` prefix.
fn message_of(error: Error) -> String {
    match error {
        Error::Schema(message) => message,
        other => other.to_string(),
    }
}

fn check_decimal(precision: u8, scale: u8) -> Result<()> {
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
fn parse_decimal(name: &str, rest: &str) -> Result<PrimitiveType> {
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

fn describe(value: &Value) -> &'static str {
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
fn struct_from_json(value: &Value, path: &str) -> Result<StructType> {
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
fn struct_fields_from_json(object: &Map<String, Value>, path: &str) -> Result<StructType> {
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
fn field_from_json(value: &Value, parent: &str, index: usize) -> Result<StructField> {
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
fn optional_bool(object: &Map<String, Value>, key: &str, path: &str) -> Result<bool> {
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
fn required_type(object: &Map<String, Value>, key: &str, path: &str) -> Result<DataType> {
    match object.get(key) {
        Some(t) => data_type_from_json(t, path),
        None => Err(error_at(path, format!("\"{key}\" is missing"))),
    }
}

/// A data type from its JSON form.
fn data_type_from_json(value: &Value, path: &str) -> Result<DataType> {
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

// ---------------------------------------------------------------------------------------------
// Delta -> Arrow
// ---------------------------------------------------------------------------------------------

/// The two non-null binary fields of an unshredded Variant, `metadata` first.
fn variant_arrow_fields() -> ArrowFields {
    ArrowFields::from(vec![
        ArrowField::new(VARIANT_METADATA, ArrowDataType::Binary, false),
        ArrowField::new(VARIANT_VALUE, ArrowDataType::Binary, false),
    ])
}

/// The Arrow fields of a struct; `mode` [`ColumnMappingMode::None`] gives logical names.
fn struct_to_arrow_fields(
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

fn field_to_arrow(
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

fn data_type_to_arrow(
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

fn struct_from_arrow_fields(fields: &ArrowFields, parent: &str) -> Result<StructType> {
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

fn field_from_arrow(field: &ArrowField, parent: &str) -> Result<StructField> {
    let path = child_path(parent, field.name());
    Ok(StructField {
        name: field.name().clone(),
        data_type: field_type_from_arrow(field, &path)?,
        nullable: field.is_nullable(),
        metadata: Map::new(),
    })
}

/// The Delta type of an Arrow field, recognising the Variant extension type.
fn field_type_from_arrow(field: &ArrowField, path: &str) -> Result<DataType> {
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

fn data_type_from_arrow(data_type: &ArrowDataType, path: &str) -> Result<DataType> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, parse_commit};
    use serde_json::json;
    use std::path::{Path, PathBuf};

    fn long() -> DataType {
        DataType::Primitive(PrimitiveType::Long)
    }

    fn string() -> DataType {
        DataType::Primitive(PrimitiveType::String)
    }

    fn mapped(physical: &str, id: i64) -> Map<String, Value> {
        let mut metadata = Map::new();
        metadata.insert(COLUMN_MAPPING_ID.into(), json!(id));
        metadata.insert(COLUMN_MAPPING_PHYSICAL_NAME.into(), json!(physical));
        metadata
    }

    /// A JSON schema with every type, nested arrays of structs, maps of structs and metadata.
    fn all_types_json() -> Value {
        json!({
            "type": "struct",
            "fields": [
                {"name": "s", "type": "string", "nullable": true, "metadata": {}},
                {"name": "l", "type": "long", "nullable": false, "metadata": {}},
                {"name": "i", "type": "integer", "nullable": true, "metadata": {}},
                {"name": "sh", "type": "short", "nullable": true, "metadata": {}},
                {"name": "by", "type": "byte", "nullable": true, "metadata": {}},
                {"name": "f", "type": "float", "nullable": true, "metadata": {}},
                {"name": "d", "type": "double", "nullable": true, "metadata": {}},
                {"name": "bo", "type": "boolean", "nullable": true, "metadata": {}},
                {"name": "bi", "type": "binary", "nullable": true, "metadata": {}},
                {"name": "da", "type": "date", "nullable": true, "metadata": {}},
                {"name": "ts", "type": "timestamp", "nullable": true, "metadata": {}},
                {"name": "tsn", "type": "timestamp_ntz", "nullable": true, "metadata": {}},
                {"name": "dec", "type": "decimal(10,2)", "nullable": true, "metadata": {}},
                {"name": "dec38", "type": "decimal(38,38)", "nullable": true, "metadata": {}},
                {"name": "v", "type": "variant", "nullable": true, "metadata": {}},
                {"name": "arr", "type": {"type": "array", "elementType": "integer", "containsNull": false}, "nullable": true, "metadata": {}},
                {"name": "arr_struct", "type": {"type": "array", "elementType": {"type": "struct", "fields": [
                    {"name": "x", "type": "long", "nullable": false, "metadata": {"comment": "an x"}},
                    {"name": "y", "type": {"type": "array", "elementType": "string", "containsNull": true}, "nullable": true, "metadata": {}}
                ]}, "containsNull": true}, "nullable": true, "metadata": {}},
                {"name": "map", "type": {"type": "map", "keyType": "string", "valueType": "double", "valueContainsNull": true}, "nullable": true, "metadata": {}},
                {"name": "map_struct", "type": {"type": "map", "keyType": "integer", "valueType": {"type": "struct", "fields": [
                    {"name": "z", "type": "decimal(5,0)", "nullable": true, "metadata": {}}
                ]}, "valueContainsNull": false}, "nullable": false, "metadata": {}},
                {"name": "nested", "type": {"type": "struct", "fields": [
                    {"name": "inner", "type": {"type": "struct", "fields": [
                        {"name": "leaf", "type": "date", "nullable": true, "metadata": {}}
                    ]}, "nullable": true, "metadata": {}}
                ]}, "nullable": true, "metadata": {
                    "delta.typeChanges": [{"fromType": "short", "toType": "integer"}],
                    "delta.identity.start": 1,
                    "x": {"deep": [1, 2.5, null, true, "s"]},
                    "delta.generationExpression": "a + 1"
                }}
            ]
        })
    }

    #[test]
    fn json_round_trip_every_type() {
        let original = all_types_json();
        let text = original.to_string();
        let schema = parse_schema(&text).unwrap();
        assert_eq!(schema.fields.len(), 20);
        assert_eq!(
            schema.field("dec").unwrap().data_type,
            DataType::Primitive(PrimitiveType::Decimal(10, 2))
        );
        assert_eq!(
            schema.field("v").unwrap().data_type,
            DataType::Primitive(PrimitiveType::Variant)
        );
        let arr_struct = &schema.field("arr_struct").unwrap().data_type;
        let DataType::Array(a) = arr_struct else {
            panic!("not an array: {arr_struct:?}")
        };
        assert!(a.contains_null);
        let DataType::Struct(inner) = &a.element_type else {
            panic!("not a struct")
        };
        assert_eq!(inner.fields[0].metadata["comment"], json!("an x"));

        // Serialize gives back exactly the same JSON, metadata included.
        let back = serde_json::to_value(&schema).unwrap();
        assert_eq!(back, original);
        // And through serde's Deserialize, and through to_schema_string.
        let via_serde: StructType = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(via_serde, schema);
        assert_eq!(
            parse_schema(&schema.to_schema_string().unwrap()).unwrap(),
            schema
        );
        // Field order within a serialized field is the protocol's.
        let first = serde_json::to_string(&schema.fields[0]).unwrap();
        assert_eq!(
            first,
            r#"{"name":"s","type":"string","nullable":true,"metadata":{}}"#
        );
    }

    #[test]
    fn json_of_individual_types() {
        let t: DataType = serde_json::from_str(r#""decimal(12, 5)""#).unwrap();
        assert_eq!(t, DataType::Primitive(PrimitiveType::Decimal(12, 5)));
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""decimal(12,5)""#);
        let t: DataType = serde_json::from_str(r#""decimal""#).unwrap();
        assert_eq!(t, DataType::Primitive(PrimitiveType::Decimal(10, 0)));
        let t: DataType = serde_json::from_str(r#"{"type":"variant"}"#).unwrap();
        assert_eq!(t, DataType::Primitive(PrimitiveType::Variant));

        let map = DataType::map(
            string(),
            DataType::struct_type(vec![StructField::new("a", long(), true)]),
            true,
        );
        let json = serde_json::to_value(&map).unwrap();
        assert_eq!(
            json,
            json!({"type":"map","keyType":"string","valueType":{"type":"struct","fields":[
                {"name":"a","type":"long","nullable":true,"metadata":{}}]},"valueContainsNull":true})
        );
        assert_eq!(serde_json::from_value::<DataType>(json).unwrap(), map);
        let array = ArrayType {
            element_type: map.clone(),
            contains_null: false,
        };
        let json = serde_json::to_string(&array).unwrap();
        assert_eq!(serde_json::from_str::<ArrayType>(&json).unwrap(), array);
        assert!(serde_json::from_str::<MapType>(&json).is_err());
        assert_eq!(
            map.to_string(),
            "map<string,struct<a:long>>",
            "display form"
        );

        // Every primitive's name parses back to itself.
        for p in [
            PrimitiveType::String,
            PrimitiveType::Long,
            PrimitiveType::Integer,
            PrimitiveType::Short,
            PrimitiveType::Byte,
            PrimitiveType::Float,
            PrimitiveType::Double,
            PrimitiveType::Boolean,
            PrimitiveType::Binary,
            PrimitiveType::Date,
            PrimitiveType::Timestamp,
            PrimitiveType::TimestampNtz,
            PrimitiveType::Decimal(38, 0),
            PrimitiveType::Variant,
        ] {
            assert_eq!(p.to_string().parse::<PrimitiveType>().unwrap(), p);
        }
    }

    #[test]
    fn lenient_defaults() {
        let schema = parse_schema(
            r#"{"type":"struct","fields":[{"name":"a","type":{"type":"array","elementType":"long"}}]}"#,
        )
        .unwrap();
        let field = &schema.fields[0];
        assert!(field.nullable);
        assert!(field.metadata.is_empty());
        assert_eq!(field.data_type, DataType::array(long(), true));
    }

    #[test]
    fn unknown_and_invalid_types_are_clear_errors() {
        let err = parse_schema(
            r#"{"type":"struct","fields":[{"name":"n","type":{"type":"struct","fields":[{"name":"v","type":"void","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}}]}"#,
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Schema(_)));
        assert!(message.contains("'void'"), "{message}");
        assert!(message.contains("'n.v'"), "{message}");

        for (bad, needle) in [
            (r#""int""#, "'int'"),
            (r#""decimal(39,0)""#, "39"),
            (r#""decimal(5,6)""#, "scale 6"),
            (r#""decimal(0,0)""#, "precision 0"),
            (r#""decimal(a,b)""#, "decimal(a,b)"),
            (r#""decimal(1,2,3)""#, "decimal(1,2,3)"),
            (r#"{"type":"interval"}"#, "'interval'"),
            (r#"{"type":"array","containsNull":true}"#, "elementType"),
            (
                r#"{"type":"map","keyType":"string","valueContainsNull":true}"#,
                "valueType",
            ),
            (
                r#"{"type":"array","elementType":"long","containsNull":"yes"}"#,
                "containsNull",
            ),
            (r#"42"#, "a number"),
        ] {
            let json = format!(
                r#"{{"type":"struct","fields":[{{"name":"c","type":{bad},"nullable":true,"metadata":{{}}}}]}}"#
            );
            let message = parse_schema(&json).unwrap_err().to_string();
            assert!(message.contains(needle), "{bad}: {message}");
            assert!(message.contains("'c"), "{bad}: {message}");
        }

        for bad in [
            "not json",
            r#"{"type":"array","elementType":"long","containsNull":true}"#,
            r#"{"fields":[]}"#,
            r#"{"type":"struct"}"#,
            r#"{"type":"struct","fields":[{"type":"long"}]}"#,
            r#"{"type":"struct","fields":[{"name":"a"}]}"#,
            r#"{"type":"struct","fields":[{"name":"a","type":"long","metadata":[]}]}"#,
            r#"{"type":"struct","fields":[{"name":"a","type":"long","nullable":1}]}"#,
            r#"[]"#,
        ] {
            assert!(matches!(parse_schema(bad), Err(Error::Schema(_))), "{bad}");
        }
        // Serde's Deserialize reports the same message.
        let err = serde_json::from_str::<DataType>(r#""geography(OGC:CRS84, spherical)""#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("geography(OGC:CRS84, spherical)"), "{err}");
    }

    #[test]
    fn to_arrow_every_type() {
        let schema = parse_schema(&all_types_json().to_string()).unwrap();
        let arrow = schema.to_arrow().unwrap();
        let t = |name: &str| arrow.field_with_name(name).unwrap().data_type().clone();
        assert_eq!(t("s"), ArrowDataType::Utf8);
        assert_eq!(t("l"), ArrowDataType::Int64);
        assert!(!arrow.field_with_name("l").unwrap().is_nullable());
        assert_eq!(t("i"), ArrowDataType::Int32);
        assert_eq!(t("sh"), ArrowDataType::Int16);
        assert_eq!(t("by"), ArrowDataType::Int8);
        assert_eq!(t("f"), ArrowDataType::Float32);
        assert_eq!(t("d"), ArrowDataType::Float64);
        assert_eq!(t("bo"), ArrowDataType::Boolean);
        assert_eq!(t("bi"), ArrowDataType::Binary);
        assert_eq!(t("da"), ArrowDataType::Date32);
        assert_eq!(
            t("ts"),
            ArrowDataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            t("tsn"),
            ArrowDataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(t("dec"), ArrowDataType::Decimal128(10, 2));
        assert_eq!(t("dec38"), ArrowDataType::Decimal128(38, 38));
        assert_eq!(
            t("v"),
            ArrowDataType::Struct(ArrowFields::from(vec![
                ArrowField::new("metadata", ArrowDataType::Binary, false),
                ArrowField::new("value", ArrowDataType::Binary, false),
            ]))
        );
        assert_eq!(
            t("arr"),
            ArrowDataType::List(Arc::new(ArrowField::new(
                "element",
                ArrowDataType::Int32,
                false
            )))
        );
        let inner = ArrowDataType::Struct(ArrowFields::from(vec![
            ArrowField::new("x", ArrowDataType::Int64, false),
            ArrowField::new(
                "y",
                ArrowDataType::List(Arc::new(ArrowField::new(
                    "element",
                    ArrowDataType::Utf8,
                    true,
                ))),
                true,
            ),
        ]));
        assert_eq!(
            t("arr_struct"),
            ArrowDataType::List(Arc::new(ArrowField::new("element", inner, true)))
        );
        let entries = |key: ArrowDataType, value: ArrowDataType, value_nullable: bool| {
            ArrowDataType::Map(
                Arc::new(ArrowField::new(
                    "key_value",
                    ArrowDataType::Struct(ArrowFields::from(vec![
                        ArrowField::new("key", key, false),
                        ArrowField::new("value", value, value_nullable),
                    ])),
                    false,
                )),
                false,
            )
        };
        assert_eq!(
            t("map"),
            entries(ArrowDataType::Utf8, ArrowDataType::Float64, true)
        );
        assert_eq!(
            t("map_struct"),
            entries(
                ArrowDataType::Int32,
                ArrowDataType::Struct(ArrowFields::from(vec![ArrowField::new(
                    "z",
                    ArrowDataType::Decimal128(5, 0),
                    true
                )])),
                false
            )
        );
        assert_eq!(
            t("nested"),
            ArrowDataType::Struct(ArrowFields::from(vec![ArrowField::new(
                "inner",
                ArrowDataType::Struct(ArrowFields::from(vec![ArrowField::new(
                    "leaf",
                    ArrowDataType::Date32,
                    true
                )])),
                true
            )]))
        );
        // The logical schema carries no metadata, and equals the physical one without mapping.
        assert!(arrow.fields().iter().all(|f| f.metadata().is_empty()));
        assert_eq!(
            schema.to_physical_arrow(ColumnMappingMode::None).unwrap(),
            arrow
        );
        // A hand-built out-of-range decimal is refused, naming the column.
        let bad = StructType::new(vec![StructField::new(
            "big",
            PrimitiveType::Decimal(50, 0),
            true,
        )]);
        let message = bad.to_arrow().unwrap_err().to_string();
        assert!(
            message.contains("'big'") && message.contains("50"),
            "{message}"
        );
    }

    /// A column-mapped schema: struct in an array, struct as a map value, nested struct.
    fn mapped_schema() -> StructType {
        let point = DataType::struct_type(vec![
            StructField::new("x", long(), true).with_metadata(mapped("col-x", 4)),
            StructField::new("y", long(), true).with_metadata(mapped("col-y", 5)),
        ]);
        let value = DataType::struct_type(vec![
            StructField::new("v", string(), true).with_metadata(mapped("col-v", 7)),
        ]);
        let inner = DataType::struct_type(vec![
            StructField::new("leaf", string(), false).with_metadata(mapped("col-leaf", 9)),
        ]);
        StructType::new(vec![
            StructField::new("id", long(), false).with_metadata(mapped("col-id", 1)),
            StructField::new("points", DataType::array(point, true), true)
                .with_metadata(mapped("col-points", 3)),
            StructField::new("by_key", DataType::map(string(), value, true), true)
                .with_metadata(mapped("col-by-key", 6)),
            StructField::new("outer", inner, true).with_metadata(mapped("col-outer", 8)),
        ])
    }

    fn list_element(field: &ArrowField) -> &ArrowField {
        match field.data_type() {
            ArrowDataType::List(element) => element,
            other => panic!("not a list: {other}"),
        }
    }

    fn struct_fields(data_type: &ArrowDataType) -> &ArrowFields {
        match data_type {
            ArrowDataType::Struct(fields) => fields,
            other => panic!("not a struct: {other}"),
        }
    }

    fn map_value(field: &ArrowField) -> &ArrowField {
        match field.data_type() {
            ArrowDataType::Map(entries, false) => &struct_fields(entries.data_type())[1],
            other => panic!("not a map: {other}"),
        }
    }

    #[test]
    fn to_physical_arrow_name_mode_renames_every_level() {
        let schema = mapped_schema();
        let physical = schema.to_physical_arrow(ColumnMappingMode::Name).unwrap();
        let names: Vec<_> = physical
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["col-id", "col-points", "col-by-key", "col-outer"]);
        let point = list_element(physical.field(1));
        assert_eq!(point.name(), "element");
        let point_fields = struct_fields(point.data_type());
        assert_eq!(point_fields[0].name(), "col-x");
        assert_eq!(point_fields[1].name(), "col-y");
        let value = map_value(physical.field(2));
        assert_eq!(value.name(), "value");
        assert_eq!(struct_fields(value.data_type())[0].name(), "col-v");
        assert_eq!(
            struct_fields(physical.field(3).data_type())[0].name(),
            "col-leaf"
        );
        // Name mode writes no field ids.
        assert!(physical.fields().iter().all(|f| f.metadata().is_empty()));
        // The logical schema keeps the logical names.
        let logical = schema.to_arrow().unwrap();
        assert_eq!(logical.field(1).name(), "points");
        assert_eq!(
            struct_fields(list_element(logical.field(1)).data_type())[0].name(),
            "x"
        );
    }

    #[test]
    fn to_physical_arrow_id_mode_sets_field_ids() {
        let schema = mapped_schema();
        let physical = schema.to_physical_arrow(ColumnMappingMode::Id).unwrap();
        let id = |f: &ArrowField| f.metadata().get(PARQUET_FIELD_ID).cloned();
        assert_eq!(physical.field(0).name(), "col-id");
        assert_eq!(id(physical.field(0)).as_deref(), Some("1"));
        assert_eq!(id(physical.field(1)).as_deref(), Some("3"));
        let point = list_element(physical.field(1));
        assert_eq!(id(point), None, "list elements carry no id");
        let point_fields = struct_fields(point.data_type());
        assert_eq!(point_fields[0].name(), "col-x");
        assert_eq!(id(&point_fields[0]).as_deref(), Some("4"));
        assert_eq!(id(&point_fields[1]).as_deref(), Some("5"));
        let value = map_value(physical.field(2));
        assert_eq!(
            id(&struct_fields(value.data_type())[0]).as_deref(),
            Some("7")
        );
        let leaf = &struct_fields(physical.field(3).data_type())[0];
        assert_eq!(
            (leaf.name().as_str(), id(leaf).as_deref()),
            ("col-leaf", Some("9"))
        );
    }

    #[test]
    fn physical_names_and_ids_errors() {
        let plain = StructField::new("a", long(), true);
        assert_eq!(plain.physical_name(ColumnMappingMode::None).unwrap(), "a");
        assert!(plain.physical_name(ColumnMappingMode::Name).is_err());
        assert!(plain.physical_name(ColumnMappingMode::Id).is_err());
        assert_eq!(plain.field_id(), None);

        let field = StructField::new("a", long(), true).with_metadata(mapped("col-a", 12));
        assert_eq!(field.physical_name(ColumnMappingMode::Id).unwrap(), "col-a");
        assert_eq!(field.field_id(), Some(12));
        let mut string_id = Map::new();
        string_id.insert(COLUMN_MAPPING_ID.into(), json!("13"));
        assert_eq!(
            StructField::new("b", long(), true)
                .with_metadata(string_id)
                .field_id(),
            Some(13)
        );

        // A nested field missing its physical name: the error names its path and the mode.
        let mut schema = mapped_schema();
        if let DataType::Array(a) = &mut schema.fields[1].data_type
            && let DataType::Struct(s) = &mut a.element_type
        {
            s.fields[1].metadata.remove(COLUMN_MAPPING_PHYSICAL_NAME);
        }
        let message = schema
            .to_physical_arrow(ColumnMappingMode::Name)
            .unwrap_err()
            .to_string();
        assert!(message.contains("'points.element.y'"), "{message}");
        assert!(message.contains("'name'"), "{message}");

        // A missing id only matters in id mode.
        let mut schema = mapped_schema();
        schema.fields[0].metadata.remove(COLUMN_MAPPING_ID);
        assert!(schema.to_physical_arrow(ColumnMappingMode::Name).is_ok());
        let message = schema
            .to_physical_arrow(ColumnMappingMode::Id)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("'id'") && message.contains(COLUMN_MAPPING_ID),
            "{message}"
        );
        // An id beyond 32 bits is refused.
        let mut schema = mapped_schema();
        schema.fields[0]
            .metadata
            .insert(COLUMN_MAPPING_ID.into(), json!(1_i64 << 40));
        assert!(schema.to_physical_arrow(ColumnMappingMode::Id).is_err());
    }

    #[test]
    fn from_arrow_is_the_inverse_of_to_arrow() {
        let mut schema = parse_schema(&all_types_json().to_string()).unwrap();
        // from_arrow keeps no metadata, and sees an untagged variant as its struct.
        for field in &mut schema.fields {
            field.metadata.clear();
        }
        fn clear_nested(data_type: &mut DataType) {
            match data_type {
                DataType::Primitive(_) => {}
                DataType::Array(a) => clear_nested(&mut a.element_type),
                DataType::Map(m) => {
                    clear_nested(&mut m.key_type);
                    clear_nested(&mut m.value_type);
                }
                DataType::Struct(s) => {
                    for f in &mut s.fields {
                        f.metadata.clear();
                        clear_nested(&mut f.data_type);
                    }
                }
            }
        }
        for field in &mut schema.fields {
            clear_nested(&mut field.data_type);
        }
        let without_variant = StructType::new(
            schema
                .fields
                .iter()
                .filter(|f| f.name != "v")
                .cloned()
                .collect(),
        );
        let arrow = without_variant.to_arrow().unwrap();
        assert_eq!(StructType::from_arrow(&arrow).unwrap(), without_variant);

        // A variant comes back when tagged with the canonical extension name.
        let arrow = schema.to_arrow().unwrap();
        let untagged = StructType::from_arrow(&arrow).unwrap();
        assert_eq!(
            untagged.field("v").unwrap().data_type.to_string(),
            "struct<metadata:binary,value:binary>"
        );
        let fields: Vec<ArrowField> = arrow
            .fields()
            .iter()
            .map(|f| {
                let f = f.as_ref().clone();
                if f.name() == "v" {
                    f.with_metadata(HashMap::from([(
                        ARROW_EXTENSION_NAME.to_string(),
                        VARIANT_EXTENSION_NAME.to_string(),
                    )]))
                } else {
                    f
                }
            })
            .collect();
        let tagged = StructType::from_arrow(&ArrowSchema::new(fields)).unwrap();
        assert_eq!(tagged, schema);
    }

    #[test]
    fn from_arrow_sensible_mappings_and_errors() {
        let arrow = ArrowSchema::new(vec![
            ArrowField::new("a", ArrowDataType::LargeUtf8, true),
            ArrowField::new("b", ArrowDataType::Utf8View, true),
            ArrowField::new("c", ArrowDataType::LargeBinary, true),
            ArrowField::new("d", ArrowDataType::FixedSizeBinary(16), true),
            ArrowField::new(
                "e",
                ArrowDataType::Timestamp(TimeUnit::Nanosecond, Some("+02:00".into())),
                true,
            ),
            ArrowField::new(
                "f",
                ArrowDataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
            ArrowField::new("g", ArrowDataType::UInt8, true),
            ArrowField::new("h", ArrowDataType::UInt32, true),
            ArrowField::new("i", ArrowDataType::Date64, true),
            ArrowField::new("j", ArrowDataType::Decimal256(20, 3), true),
            ArrowField::new(
                "k",
                ArrowDataType::Dictionary(
                    Box::new(ArrowDataType::Int32),
                    Box::new(ArrowDataType::Utf8),
                ),
                true,
            ),
            ArrowField::new(
                "l",
                ArrowDataType::LargeList(Arc::new(ArrowField::new(
                    "item",
                    ArrowDataType::Int16,
                    false,
                ))),
                true,
            ),
            ArrowField::new("m", ArrowDataType::Float16, true),
        ]);
        let delta = StructType::from_arrow(&arrow).unwrap();
        let names: Vec<String> = delta
            .fields
            .iter()
            .map(|f| f.data_type.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "string",
                "string",
                "binary",
                "binary",
                "timestamp",
                "timestamp_ntz",
                "short",
                "long",
                "date",
                "decimal(20,3)",
                "string",
                "array<short>",
                "float"
            ]
        );
        assert_eq!(
            delta.field("l").unwrap().data_type,
            DataType::array(DataType::Primitive(PrimitiveType::Short), false)
        );

        for (data_type, needle) in [
            (ArrowDataType::UInt64, "UInt64"),
            (ArrowDataType::Null, "Null"),
            (ArrowDataType::Time64(TimeUnit::Microsecond), "Time64"),
            (ArrowDataType::Duration(TimeUnit::Second), "Duration"),
            (ArrowDataType::Decimal256(50, 2), "50"),
            (ArrowDataType::Decimal128(10, -2), "-2"),
        ] {
            let arrow = ArrowSchema::new(vec![ArrowField::new(
                "outer",
                ArrowDataType::Struct(ArrowFields::from(vec![ArrowField::new(
                    "bad_col", data_type, true,
                )])),
                true,
            )]);
            let err = StructType::from_arrow(&arrow).unwrap_err();
            assert!(matches!(err, Error::Schema(_)));
            let message = err.to_string();
            assert!(message.contains("'outer.bad_col'"), "{message}");
            assert!(message.contains(needle), "{message}");
        }

        let duplicate = ArrowSchema::new(vec![
            ArrowField::new("Name", ArrowDataType::Utf8, true),
            ArrowField::new("nAME", ArrowDataType::Utf8, true),
        ]);
        let message = StructType::from_arrow(&duplicate).unwrap_err().to_string();
        assert!(
            message.contains("'Name'") && message.contains("'nAME'"),
            "{message}"
        );
    }

    #[test]
    fn widening() {
        use ArrowDataType as T;
        let ntz = T::Timestamp(TimeUnit::Microsecond, None);
        let allowed = [
            (T::Int8, T::Int16),
            (T::Int8, T::Int32),
            (T::Int8, T::Int64),
            (T::Int16, T::Int32),
            (T::Int16, T::Int64),
            (T::Int32, T::Int64),
            (T::Float32, T::Float64),
            (T::Int8, T::Float64),
            (T::Int16, T::Float64),
            (T::Int32, T::Float64),
            (T::Date32, ntz.clone()),
            (T::Decimal128(10, 2), T::Decimal128(12, 2)),
            (T::Decimal128(10, 1), T::Decimal128(12, 3)),
            (T::Decimal128(10, 2), T::Decimal128(11, 3)),
            (T::Decimal128(6, 2), T::Decimal128(10, 4)),
            (T::Decimal64(10, 2), T::Decimal128(10, 2)),
            (T::Int8, T::Decimal128(10, 0)),
            (T::Int16, T::Decimal128(12, 2)),
            (T::Int32, T::Decimal128(10, 0)),
            (T::Int64, T::Decimal128(20, 0)),
            (T::Int64, T::Decimal128(38, 18)),
        ];
        for (from, to) in &allowed {
            assert!(is_widening(from, to), "{from} -> {to} should widen");
        }
        let refused = [
            (T::Int64, T::Int32),
            (T::Int32, T::Int32),
            (T::Int64, T::Float64),
            (T::Int32, T::Float32),
            (T::Float64, T::Float32),
            (T::Float32, T::Int64),
            (
                T::Date32,
                T::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            (T::Date32, T::Timestamp(TimeUnit::Nanosecond, None)),
            (ntz.clone(), T::Date32),
            (T::Utf8, T::LargeUtf8),
            (T::Decimal128(10, 2), T::Decimal128(10, 2)),
            (T::Decimal128(10, 2), T::Decimal128(11, 4)),
            (T::Decimal128(10, 2), T::Decimal128(12, 1)),
            (T::Decimal128(10, 2), T::Decimal128(9, 2)),
            (T::Int32, T::Decimal128(9, 0)),
            (T::Int32, T::Decimal128(10, 1)),
            (T::Int8, T::Decimal128(5, 0)),
            (T::Int64, T::Decimal128(19, 0)),
            (T::Int64, T::Decimal128(21, 2)),
            (T::Decimal128(10, 0), T::Int64),
            (T::Float32, T::Decimal128(38, 0)),
        ];
        for (from, to) in &refused {
            assert!(!is_widening(from, to), "{from} -> {to} should not widen");
        }

        // Nested: list elements, map values, struct fields.
        let list = |t: T| T::List(Arc::new(ArrowField::new("element", t, true)));
        assert!(is_widening(&list(T::Int32), &list(T::Int64)));
        assert!(!is_widening(&list(T::Int64), &list(T::Int32)));
        let st = |a: T, b: T| {
            T::Struct(ArrowFields::from(vec![
                ArrowField::new("a", a, true),
                ArrowField::new("b", b, true),
            ]))
        };
        assert!(is_widening(&st(T::Int32, T::Utf8), &st(T::Int64, T::Utf8)));
        assert!(!is_widening(
            &st(T::Int32, T::Utf8),
            &st(T::Int64, T::Binary)
        ));
        let renamed = T::Struct(ArrowFields::from(vec![
            ArrowField::new("a", T::Int64, true),
            ArrowField::new("c", T::Utf8, true),
        ]));
        assert!(!is_widening(&st(T::Int32, T::Utf8), &renamed));
        let map = |v: T| {
            T::Map(
                Arc::new(ArrowField::new(
                    "key_value",
                    T::Struct(ArrowFields::from(vec![
                        ArrowField::new("key", T::Utf8, false),
                        ArrowField::new("value", v, true),
                    ])),
                    false,
                )),
                false,
            )
        };
        assert!(is_widening(&map(T::Float32), &map(T::Float64)));
        assert!(!is_widening(&map(T::Float64), &map(T::Float32)));
    }

    #[test]
    fn column_paths_parse_quote_and_round_trip() {
        let ok = |p: &str| parse_column_path(p).unwrap();
        assert_eq!(ok("a"), ["a"]);
        assert_eq!(ok("a.`b`"), ["a", "b"]);
        assert_eq!(ok("`a.b`.`c.d`.e"), ["a.b", "c.d", "e"]);
        assert_eq!(ok("`x``y`.z"), ["x`y", "z"]);
        assert_eq!(ok("items.element.price"), ["items", "element", "price"]);
        for (bad, why) in [
            ("", "empty"),
            ("a.", "ends with a dot"),
            (".a", "empty"),
            ("a..b", "empty"),
            ("`a", "not closed"),
            ("`a`b", "followed by a dot"),
            ("a`b`", "backtick"),
            ("``", "empty"),
        ] {
            let err = parse_column_path(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
        for segments in [
            vec!["a", "b"],
            vec!["a.b", "c"],
            vec!["x`y"],
            vec![" padded "],
        ] {
            let text = format_column_path(&segments);
            assert_eq!(parse_column_path(&text).unwrap(), segments, "{text}");
        }
        assert_eq!(format_column_path(&["a.b", "c"]), "`a.b`.c");
    }

    #[test]
    fn column_mapping_mode_parsing() {
        let config = |v: &str| HashMap::from([(COLUMN_MAPPING_MODE.to_string(), v.to_string())]);
        assert_eq!(
            ColumnMappingMode::from_configuration(&HashMap::new()).unwrap(),
            ColumnMappingMode::None
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("none")).unwrap(),
            ColumnMappingMode::None
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("name")).unwrap(),
            ColumnMappingMode::Name
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("id")).unwrap(),
            ColumnMappingMode::Id
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("ID")).unwrap(),
            ColumnMappingMode::Id
        );
        let err = ColumnMappingMode::from_configuration(&config("fancy")).unwrap_err();
        assert!(matches!(err, Error::Schema(_)));
        assert!(err.to_string().contains("'fancy'"));
        assert!(ColumnMappingMode::from_configuration(&config("")).is_err());
        assert_eq!(ColumnMappingMode::Name.to_string(), "name");
        assert_eq!(ColumnMappingMode::default(), ColumnMappingMode::None);
    }

    // -----------------------------------------------------------------------------------------
    // The corpus of real tables
    // -----------------------------------------------------------------------------------------

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
    const FIRST_COMMIT: &str = "00000000000000000000.json";

    /// Tables whose first commit must fail, and why.
    const EXPECTED_FAILURES: &[(&str, &str, &str)] = &[
        (
            "delta-kernel/table-with-geo",
            "geometry(OGC:CRS84)",
            "geometry/geography types (geospatial RFC) are not supported",
        ),
        (
            "delta-kernel/void-column",
            "'void'",
            "Spark's void (NullType) columns are not supported",
        ),
        (
            "delta-rs/delta-live-table",
            "",
            "its metaData action has no schemaString (a Databricks DLT placeholder table)",
        ),
    ];

    /// Every `_delta_log/00000000000000000000.json` under `dir`.
    fn first_commits(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                first_commits(&path, found);
            } else if file_type.is_file()
                && entry.file_name() == FIRST_COMMIT
                && dir.file_name().is_some_and(|n| n == "_delta_log")
            {
                found.push(path);
            }
        }
    }

    struct Loaded {
        schema: StructType,
        mode: ColumnMappingMode,
        logical: ArrowSchema,
        physical: ArrowSchema,
    }

    fn load(commit: &Path) -> Result<Loaded> {
        let bytes = std::fs::read(commit)
            .map_err(|e| Error::Schema(format!("cannot read {}: {e}", commit.display())))?;
        let actions = parse_commit(&bytes, &commit.display().to_string())?;
        let metadata = actions
            .into_iter()
            .find_map(|a| match a {
                Action::Metadata(m) => Some(m),
                _ => None,
            })
            .ok_or_else(|| Error::Schema("no metaData action".into()))?;
        let schema = parse_schema(&metadata.schema_string)?;
        let mode = ColumnMappingMode::from_configuration(&metadata.configuration)?;
        let logical = schema.to_arrow()?;
        let physical = schema.to_physical_arrow(mode)?;
        // The schema string survives a round trip through our types.
        let original: Value = serde_json::from_str(&metadata.schema_string)
            .map_err(|e| Error::Schema(e.to_string()))?;
        let back = serde_json::to_value(&schema).map_err(|e| Error::Schema(e.to_string()))?;
        if original != back {
            return Err(Error::Schema(format!(
                "schema does not round-trip:\n{original}\n{back}"
            )));
        }
        Ok(Loaded {
            schema,
            mode,
            logical,
            physical,
        })
    }

    /// The table folder of a first commit, relative to the corpus.
    fn table_name(commit: &Path, corpus: &Path) -> String {
        let table = commit.parent().and_then(Path::parent).unwrap_or(commit);
        table
            .strip_prefix(corpus)
            .unwrap_or(table)
            .to_string_lossy()
            .into_owned()
    }

    /// Every Arrow field, depth first, nested ones included.
    fn all_arrow_fields(fields: &ArrowFields, out: &mut Vec<ArrowField>) {
        for field in fields.iter() {
            out.push(field.as_ref().clone());
            nested_arrow_fields(field.data_type(), out);
        }
    }

    fn nested_arrow_fields(data_type: &ArrowDataType, out: &mut Vec<ArrowField>) {
        match data_type {
            ArrowDataType::Struct(fields) => all_arrow_fields(fields, out),
            ArrowDataType::List(element) => nested_arrow_fields(element.data_type(), out),
            ArrowDataType::Map(entries, _) => nested_arrow_fields(entries.data_type(), out),
            _ => {}
        }
    }

    #[test]
    fn corpus_schemas_parse_and_convert() {
        let corpus = PathBuf::from(CORPUS);
        if !corpus.is_dir() {
            eprintln!("corpus not found at {}; skipping", corpus.display());
            return;
        }
        let mut commits = Vec::new();
        first_commits(&corpus, &mut commits);
        assert!(commits.len() > 100, "only {} tables found", commits.len());

        let mut failures: Vec<(String, String)> = Vec::new();
        let mut loaded: HashMap<String, Loaded> = HashMap::new();
        for commit in &commits {
            let name = table_name(commit, &corpus);
            match load(commit) {
                Ok(l) => {
                    loaded.insert(name, l);
                }
                Err(e) => failures.push((name, e.to_string())),
            }
        }

        eprintln!(
            "corpus: {} first commits, {} loaded, {} failed: {:?}",
            commits.len(),
            loaded.len(),
            failures.len(),
            failures
        );
        let mut unexpected = Vec::new();
        for (table, error) in &failures {
            match EXPECTED_FAILURES.iter().find(|(t, _, _)| t == table) {
                Some((_, needle, _)) => {
                    assert!(error.contains(needle), "{table}: {error}");
                }
                None => unexpected.push(format!("{table}: {error}")),
            }
        }
        assert!(
            unexpected.is_empty(),
            "unexpected failures:\n{}",
            unexpected.join("\n")
        );
        for (table, _, reason) in EXPECTED_FAILURES {
            assert!(
                failures.iter().any(|(t, _)| t == table),
                "{table} was expected to fail ({reason}) but loaded"
            );
        }

        // Column mapping by id: every field (nested ones too) has a field id and a physical name.
        let by_id = loaded
            .get("delta-kernel-java/column-mapping-id")
            .expect("column-mapping-id table");
        assert_eq!(by_id.mode, ColumnMappingMode::Id);
        let mut fields = Vec::new();
        all_arrow_fields(by_id.physical.fields(), &mut fields);
        let named: Vec<_> = fields
            .iter()
            .filter(|f| !matches!(f.name().as_str(), "element" | "key_value" | "key" | "value"))
            .collect();
        assert!(!named.is_empty());
        for field in &named {
            let id = field.metadata().get(PARQUET_FIELD_ID);
            assert!(
                id.is_some_and(|id| id.parse::<i32>().is_ok()),
                "{} has no field id",
                field.name()
            );
        }
        let ids: Vec<i64> = by_id
            .schema
            .fields
            .iter()
            .filter_map(StructField::field_id)
            .collect();
        assert_eq!(ids.len(), by_id.schema.fields.len());
        assert_eq!(by_id.physical.fields().len(), by_id.logical.fields().len());

        // Column mapping by name: physical names differ from the logical ones, no field ids.
        let by_name = loaded
            .get("delta-kernel-java/data-reader-primitives-column-mapping-name")
            .expect("data-reader-primitives-column-mapping-name table");
        assert_eq!(by_name.mode, ColumnMappingMode::Name);
        for (logical, physical) in by_name
            .logical
            .fields()
            .iter()
            .zip(by_name.physical.fields())
        {
            let field = by_name.schema.field(logical.name()).expect("logical field");
            assert_eq!(
                physical.name(),
                field
                    .physical_name(ColumnMappingMode::Name)
                    .expect("physical name")
            );
            assert_ne!(physical.name(), logical.name());
            assert!(physical.name().starts_with("col-"), "{}", physical.name());
            assert!(physical.metadata().get(PARQUET_FIELD_ID).is_none());
            assert_eq!(
                physical.data_type().is_nested(),
                logical.data_type().is_nested()
            );
        }

        // Every table loaded converts back from Arrow (modulo variant, which from_arrow sees as
        // its struct when untagged).
        for (table, l) in &loaded {
            let back = StructType::from_arrow(&l.logical)
                .unwrap_or_else(|e| panic!("{table}: from_arrow failed: {e}"));
            assert_eq!(back.fields.len(), l.schema.fields.len(), "{table}");
            assert_eq!(back.to_arrow().unwrap(), l.logical, "{table}");
        }
    }
}
