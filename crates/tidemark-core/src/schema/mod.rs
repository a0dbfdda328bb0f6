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

mod arrow_conversion;
mod column_path;
mod json;
mod widening;
use arrow_conversion::*;
pub use column_path::{format_column_path, parse_column_path, quote_field_name};
use json::*;
pub use widening::is_widening;

pub(crate) mod alter;
pub(crate) mod evolution;

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

#[cfg(test)]
mod tests;

pub use alter::{AlterOperation, alter_table};
pub use evolution::{SchemaMode, schema_changes};
