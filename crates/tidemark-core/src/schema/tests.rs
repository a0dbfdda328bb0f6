//! Unit tests of the parent module.

use super::*;
use crate::log::actions::{Action, parse_commit};
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
// The real tables of the repository's tests/data (written by Spark, delta-rs and others)
// -----------------------------------------------------------------------------------------

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
    let original: Value =
        serde_json::from_str(&metadata.schema_string).map_err(|e| Error::Schema(e.to_string()))?;
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

/// The table folder of a first commit, relative to the data root.
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
    let corpus = tidemark_testdata::data_dir();
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
