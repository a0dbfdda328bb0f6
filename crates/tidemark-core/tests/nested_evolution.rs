//! Schema evolution of nested fields: rename, drop, add, nullability and comments by column
//! path (column mapping keeps physical names, so no data file is rewritten), partition column
//! renames, and type widening inside arrays and maps on merge appends. Every version is read
//! before and after each change, by version and by timestamp; refused changes leave the table
//! as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float32Array, Float64Array, ListArray, MapArray, RecordBatch, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use common::{
    alter, batch, commit_actions, ints, location, longs, scan_all, snapshot_at,
    snapshot_by_timestamp, strs, structs, tick, write,
};
use serde_json::{Value, json};
use tidemark_core::SchemaMode;
use tidemark_core::Snapshot;
use tidemark_core::Table;
use tidemark_core::schema::AlterOperation;
use tidemark_core::schema::{DataType as DeltaType, PrimitiveType};
use tidemark_core::testing::load_snapshot;

/// A list array over `values`, split at `offsets`; Arrow's default element name `item`.
fn list(values: ArrayRef, offsets: &[i32]) -> ArrayRef {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::new(offsets.to_vec().into()),
        values,
        None,
    ))
}

/// A map array with Arrow's default entry names (`entries`, `keys`, `values`).
fn map(keys: ArrayRef, values: ArrayRef, offsets: &[i32]) -> ArrayRef {
    let fields = Fields::from(vec![
        Field::new("keys", keys.data_type().clone(), false),
        Field::new("values", values.data_type().clone(), true),
    ]);
    let entries = StructArray::new(fields.clone(), vec![keys, values], None);
    Arc::new(MapArray::new(
        Arc::new(Field::new("entries", DataType::Struct(fields), false)),
        OffsetBuffer::new(offsets.to_vec().into()),
        entries,
        None,
        false,
    ))
}

fn rename(from: &str, to: &str) -> AlterOperation {
    AlterOperation::RenameColumn {
        from: from.into(),
        to: to.into(),
    }
}

fn drop_column(name: &str) -> AlterOperation {
    AlterOperation::DropColumn { name: name.into() }
}

/// A version as read: the schema as the compact type string, and the rows, sorted, each
/// formatted as `col=value` pairs.
#[derive(Debug, Clone, PartialEq)]
struct Read {
    schema: String,
    rows: Vec<String>,
}

async fn read_snapshot(snapshot: Snapshot) -> Read {
    let schema = DeltaType::struct_type(snapshot.schema().fields.clone()).to_string();
    let batches = scan_all(snapshot).await;
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in &batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..b.num_rows() {
            rows.push(
                b.schema()
                    .fields()
                    .iter()
                    .zip(&formatters)
                    .map(|(f, fmt)| format!("{}={}", f.name(), fmt.value(row)))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    rows.sort();
    Read { schema, rows }
}

async fn read(dir: &Path, version: u64) -> Read {
    read_snapshot(snapshot_at(dir, Some(version)).await).await
}

/// Reads a version through time travel by its own commit timestamp.
async fn read_by_timestamp(dir: &Path, version: u64) -> Read {
    read_snapshot(snapshot_by_timestamp(dir, version).await).await
}

/// Every version reads as expected, by version and by timestamp.
async fn assert_versions(dir: &Path, expected: &[Read]) {
    for (version, want) in expected.iter().enumerate() {
        let got = read(dir, version as u64).await;
        assert_eq!(&got, want, "version {version}");
        assert_eq!(
            read_by_timestamp(dir, version as u64).await,
            got,
            "version {version} by timestamp"
        );
    }
}

fn listing(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn data_files(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|p| !p.starts_with("_delta_log"))
        .collect()
}

fn commit_schema(dir: &Path, version: u64) -> Value {
    let actions = commit_actions(dir, version);
    let metadata = actions
        .iter()
        .find_map(|a| a.get("metaData"))
        .unwrap_or_else(|| panic!("version {version} has no metaData"));
    serde_json::from_str(metadata["schemaString"].as_str().unwrap()).unwrap()
}

fn commit_protocol(dir: &Path, version: u64) -> Option<Value> {
    commit_actions(dir, version)
        .iter()
        .find_map(|a| a.get("protocol").cloned())
}

/// The JSON of a field reached by names (`fields` of structs, `elementType`, `valueType`…).
fn field_json<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
    let mut current = schema;
    for segment in path {
        current = match *segment {
            "element" => &current["type"]["elementType"],
            "value" => &current["type"]["valueType"],
            "key" => &current["type"]["keyType"],
            name => {
                let fields = if current.get("fields").is_some() {
                    &current["fields"]
                } else if current["type"].get("fields").is_some() {
                    &current["type"]["fields"]
                } else {
                    &current["fields"]
                };
                fields
                    .as_array()
                    .unwrap_or_else(|| panic!("no fields at {segment} in {current}"))
                    .iter()
                    .find(|f| f["name"] == name)
                    .unwrap_or_else(|| panic!("no field {name} in {current}"))
            }
        };
    }
    current
}

fn people(ids: &[i64], streets: &[&str], cities: &[&str], tag_values: &[i64]) -> RecordBatch {
    // Each person has one tag {k: "t<id>", v}.
    let keys: Vec<String> = ids.iter().map(|i| format!("t{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let offsets: Vec<i32> = (0..=ids.len() as i32).collect();
    batch(vec![
        ("id", longs(ids)),
        (
            "address",
            structs(vec![("street", strs(streets)), ("city", strs(cities))]),
        ),
        (
            "tags",
            list(
                structs(vec![("k", strs(&keys)), ("v", longs(tag_values))]),
                &offsets,
            ),
        ),
    ])
}

fn r(schema: &str, rows: &[&str]) -> Read {
    Read {
        schema: schema.into(),
        rows: rows.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test]
async fn nested_rename_drop_add_keep_every_version_readable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        people(
            &[1, 2],
            &["Main St", "High St"],
            &["Oslo", "Bergen"],
            &[10, 20],
        ),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    let files0 = data_files(d);
    tick().await;

    // v1: rename a nested struct field.
    assert_eq!(alter(d, rename("address.city", "town")).await.unwrap(), 1);
    let protocol = commit_protocol(d, 1).unwrap();
    assert!(
        protocol["readerFeatures"]
            .as_array()
            .unwrap()
            .contains(&json!("columnMapping")),
        "{protocol}"
    );
    let schema = commit_schema(d, 1);
    // Every field, nested ones included (struct fields inside the array too), has an id and
    // its old name as physical name.
    for (path, id, physical) in [
        (vec!["id"], 1, "id"),
        (vec!["address"], 2, "address"),
        (vec!["address", "street"], 3, "street"),
        (vec!["address", "town"], 4, "city"),
        (vec!["tags"], 5, "tags"),
        (vec!["tags", "element", "k"], 6, "k"),
        (vec!["tags", "element", "v"], 7, "v"),
    ] {
        let field = field_json(&schema, &path);
        assert_eq!(field["metadata"]["delta.columnMapping.id"], id, "{path:?}");
        assert_eq!(
            field["metadata"]["delta.columnMapping.physicalName"], physical,
            "{path:?}"
        );
    }
    let metadata = commit_actions(d, 1)
        .into_iter()
        .find_map(|a| a.get("metaData").cloned())
        .unwrap();
    assert_eq!(
        metadata["configuration"]["delta.columnMapping.maxColumnId"],
        "7"
    );
    assert_eq!(
        metadata["configuration"]["delta.columnMapping.mode"],
        "name"
    );
    assert_eq!(data_files(d), files0, "no data file is rewritten");
    tick().await;

    // v2: drop a nested field; v3: add a nested field; v4: rename a field of the structs in
    // an array; v5: a field made nullable and commented (no shape change).
    alter(d, drop_column("address.street")).await.unwrap();
    tick().await;
    alter(
        d,
        AlterOperation::AddColumn {
            name: "address.zip".into(),
            data_type: DeltaType::Primitive(PrimitiveType::String),
            nullable: true,
        },
    )
    .await
    .unwrap();
    let zip = field_json(&commit_schema(d, 3), &["address", "zip"]).clone();
    assert_eq!(zip["metadata"]["delta.columnMapping.id"], 8);
    assert!(
        zip["metadata"]["delta.columnMapping.physicalName"]
            .as_str()
            .unwrap()
            .starts_with("col-")
    );
    tick().await;
    alter(d, rename("tags.element.v", "value")).await.unwrap();
    tick().await;
    alter(
        d,
        AlterOperation::SetComment {
            name: "address.town".into(),
            comment: "where they live".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        field_json(&commit_schema(d, 5), &["address", "town"])["metadata"]["comment"],
        "where they live"
    );
    assert_eq!(data_files(d), files0, "no data file is rewritten");
    tick().await;

    // v6: an append under the evolved schema, written with physical names.
    write(
        d,
        batch(vec![
            ("id", longs(&[3])),
            (
                "address",
                structs(vec![("town", strs(&["Bodø"])), ("zip", strs(&["8001"]))]),
            ),
            (
                "tags",
                list(
                    structs(vec![("k", strs(&["t3"])), ("value", longs(&[30]))]),
                    &[0, 1],
                ),
            ),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();

    let s0 = "struct<id:long,address:struct<street:string,city:string>,tags:array<struct<k:string,v:long>>>";
    let s1 = "struct<id:long,address:struct<street:string,town:string>,tags:array<struct<k:string,v:long>>>";
    let s2 = "struct<id:long,address:struct<town:string>,tags:array<struct<k:string,v:long>>>";
    let s3 = "struct<id:long,address:struct<town:string,zip:string>,tags:array<struct<k:string,v:long>>>";
    let s4 = "struct<id:long,address:struct<town:string,zip:string>,tags:array<struct<k:string,value:long>>>";
    let v0 = [
        "id=1 address={street: Main St, city: Oslo} tags=[{k: t1, v: 10}]",
        "id=2 address={street: High St, city: Bergen} tags=[{k: t2, v: 20}]",
    ];
    let v1 = [
        "id=1 address={street: Main St, town: Oslo} tags=[{k: t1, v: 10}]",
        "id=2 address={street: High St, town: Bergen} tags=[{k: t2, v: 20}]",
    ];
    let v2 = [
        "id=1 address={town: Oslo} tags=[{k: t1, v: 10}]",
        "id=2 address={town: Bergen} tags=[{k: t2, v: 20}]",
    ];
    let v3 = [
        "id=1 address={town: Oslo, zip: NULL} tags=[{k: t1, v: 10}]",
        "id=2 address={town: Bergen, zip: NULL} tags=[{k: t2, v: 20}]",
    ];
    let v4 = [
        "id=1 address={town: Oslo, zip: NULL} tags=[{k: t1, value: 10}]",
        "id=2 address={town: Bergen, zip: NULL} tags=[{k: t2, value: 20}]",
    ];
    let mut v6 = v4.to_vec();
    v6.push("id=3 address={town: Bodø, zip: 8001} tags=[{k: t3, value: 30}]");
    v6.sort();
    assert_versions(
        d,
        &[
            r(s0, &v0),
            r(s1, &v1),
            r(s2, &v2),
            r(s3, &v3),
            r(s4, &v4),
            r(s4, &v4),
            r(s4, &v6),
        ],
    )
    .await;

    // History names nested changes by path.
    let changes = |v: u64| {
        tidemark_core::schema::schema_changes(
            Some(
                futures::executor::block_on(load_snapshot(&location(d), Some(v - 1)))
                    .unwrap()
                    .schema(),
            ),
            futures::executor::block_on(load_snapshot(&location(d), Some(v)))
                .unwrap()
                .schema(),
        )
    };
    assert_eq!(changes(1), ["address.city->address.town"]);
    assert_eq!(changes(2), ["-address.street"]);
    assert_eq!(changes(3), ["+address.zip string"]);
    assert_eq!(changes(4), ["tags.element.v->tags.element.value"]);
    assert!(changes(5).is_empty());
}

#[tokio::test]
async fn bad_nested_changes_are_clear_errors_and_leave_the_table_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["region"])
        .execute_batches(vec![batch(vec![
            ("id", longs(&[1])),
            ("region", strs(&["eu"])),
            (
                "address",
                structs(vec![
                    ("street", strs(&["Main St"])),
                    ("city", strs(&["Oslo"])),
                ]),
            ),
            ("solo", structs(vec![("only", longs(&[1]))])),
            ("tags", list(structs(vec![("k", strs(&["a"]))]), &[0, 1])),
            ("attrs", map(strs(&["x"]), longs(&[1]), &[0, 1])),
        ])])
        .await
        .unwrap();
    let before = listing(d);
    let snapshot_before = read(d, 0).await;
    let cases: Vec<(AlterOperation, Vec<&str>)> = vec![
        (
            rename("address.city", "street"),
            vec!["struct 'address' already has a field 'street'"],
        ),
        (
            rename("address.city", "STREET"),
            vec!["already has a field 'street'"],
        ),
        (
            drop_column("solo.only"),
            vec![
                "'solo.only' is the only field of the struct 'solo'",
                "drop 'solo'",
            ],
        ),
        (drop_column("region"), vec!["partition column"]),
        (
            drop_column("address.nope"),
            vec!["'address.nope'", "street, city"],
        ),
        (
            rename("nope.city", "x"),
            vec!["no column 'nope'", "id, region, address"],
        ),
        (rename("id.x", "y"), vec!["'id' is a long"]),
        (rename("tags.k", "y"), vec!["'tags.element'"]),
        (rename("attrs.k", "y"), vec!["'attrs.key'", "'attrs.value'"]),
        (rename("tags.element", "y"), vec!["cannot be renamed"]),
        (drop_column("`address.city"), vec!["backtick is not closed"]),
        (drop_column("address..city"), vec!["field name is empty"]),
        (
            AlterOperation::SetNullable {
                name: "attrs.key".into(),
            },
            vec!["map keys are never null"],
        ),
        (
            AlterOperation::AddColumn {
                name: "address.city".into(),
                data_type: DeltaType::Primitive(PrimitiveType::Long),
                nullable: true,
            },
            vec!["struct 'address' already has a field 'city'"],
        ),
        (
            AlterOperation::AddColumn {
                name: "id.sub".into(),
                data_type: DeltaType::Primitive(PrimitiveType::Long),
                nullable: true,
            },
            vec!["'id' is not a struct"],
        ),
        (
            AlterOperation::AddColumn {
                name: "address.zip".into(),
                data_type: DeltaType::Primitive(PrimitiveType::Long),
                nullable: false,
            },
            vec!["'address.zip' cannot be added as NOT NULL"],
        ),
        (rename("address.city", " "), vec!["cannot be empty"]),
    ];
    for (op, needles) in cases {
        let err = alter(d, op.clone()).await.unwrap_err().to_string();
        for needle in needles {
            assert!(err.contains(needle), "{op:?}: {err}");
        }
        assert_eq!(listing(d), before, "{op:?} changed the table");
    }
    assert_eq!(read(d, 0).await, snapshot_before);
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    assert_eq!(snapshot.version(), 0);
}

#[tokio::test]
async fn partition_columns_may_be_renamed_as_in_delta() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .with_partition_columns(["region"])
        .execute_batches(vec![batch(vec![
            ("id", longs(&[1, 2])),
            ("region", strs(&["eu", "us"])),
        ])])
        .await
        .unwrap();
    let files0 = data_files(d);
    tick().await;
    alter(d, rename("region", "area")).await.unwrap();
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    assert_eq!(snapshot.partition_columns(), ["area"]);
    assert_eq!(data_files(d), files0);
    tick().await;
    // New files are partitioned by the physical name; old and new both read.
    write(
        d,
        batch(vec![("id", longs(&[3])), ("area", strs(&["eu"]))]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    let add = commit_actions(d, 2)
        .into_iter()
        .find_map(|a| a.get("add").cloned())
        .unwrap();
    assert_eq!(add["partitionValues"], json!({"region": "eu"}));
    assert_versions(
        d,
        &[
            r(
                "struct<id:long,region:string>",
                &["id=1 region=eu", "id=2 region=us"],
            ),
            r(
                "struct<id:long,area:string>",
                &["id=1 area=eu", "id=2 area=us"],
            ),
            r(
                "struct<id:long,area:string>",
                &["id=1 area=eu", "id=2 area=us", "id=3 area=eu"],
            ),
        ],
    )
    .await;
    // Dropping it stays refused.
    let err = alter(d, drop_column("area")).await.unwrap_err().to_string();
    assert!(err.contains("partition column"), "{err}");
}

#[tokio::test]
async fn names_holding_dots_are_quoted_with_backticks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        batch(vec![
            ("id", longs(&[1])),
            (
                "a.b",
                structs(vec![("c.d", longs(&[5])), ("e", longs(&[6]))]),
            ),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    tick().await;
    alter(d, rename("`a.b`.`c.d`", "cd")).await.unwrap();
    tick().await;
    // Unquoted, a top-level name holding dots still resolves when the dotted path does not.
    alter(d, rename("a.b", "ab")).await.unwrap();
    tick().await;
    alter(d, drop_column("ab.e")).await.unwrap();
    assert_versions(
        d,
        &[
            r(
                "struct<id:long,a.b:struct<c.d:long,e:long>>",
                &["id=1 a.b={c.d: 5, e: 6}"],
            ),
            r(
                "struct<id:long,a.b:struct<cd:long,e:long>>",
                &["id=1 a.b={cd: 5, e: 6}"],
            ),
            r(
                "struct<id:long,ab:struct<cd:long,e:long>>",
                &["id=1 ab={cd: 5, e: 6}"],
            ),
            r("struct<id:long,ab:struct<cd:long>>", &["id=1 ab={cd: 5}"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn set_nullable_reaches_fields_elements_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "s",
            DataType::Struct(Fields::from(vec![Field::new("x", DataType::Int64, false)])),
            true,
        ),
        Field::new(
            "xs",
            DataType::List(Arc::new(Field::new("element", DataType::Int64, false))),
            true,
        ),
    ]));
    let s = Arc::new(StructArray::new(
        Fields::from(vec![Field::new("x", DataType::Int64, false)]),
        vec![longs(&[1])],
        None,
    )) as ArrayRef;
    let xs = Arc::new(ListArray::new(
        Arc::new(Field::new("element", DataType::Int64, false)),
        OffsetBuffer::new(vec![0, 1].into()),
        longs(&[7]),
        None,
    )) as ArrayRef;
    Table::from_location(location(d))
        .write()
        .with_create_if_missing(true)
        .execute_batches(vec![
            RecordBatch::try_new(schema, vec![longs(&[1]), s, xs]).unwrap(),
        ])
        .await
        .unwrap();
    for name in ["s.x", "xs.element", "id"] {
        alter(d, AlterOperation::SetNullable { name: name.into() })
            .await
            .unwrap();
    }
    let snapshot = load_snapshot(&location(d), None).await.unwrap();
    let schema = serde_json::to_value(snapshot.schema().as_ref()).unwrap();
    assert_eq!(field_json(&schema, &["s", "x"])["nullable"], true);
    assert_eq!(field_json(&schema, &["xs"])["type"]["containsNull"], true);
    assert_eq!(field_json(&schema, &["id"])["nullable"], true);
    assert_eq!(read(d, 3).await.rows, ["id=1 s={x: 1} xs=[7]"]);
}

/// The `delta.typeChanges` of a field in a commit's schema.
fn type_changes(dir: &Path, version: u64, path: &[&str]) -> Value {
    field_json(&commit_schema(dir, version), path)["metadata"]["delta.typeChanges"].clone()
}

#[tokio::test]
async fn merge_widens_types_inside_arrays_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // id, xs: array<int>, m: map<string,int>, mk: map<int,string>, am: array<map<string,int>>,
    // items: array<struct<p:int>>, mv: map<string,struct<q:float>>.
    let v0 = batch(vec![
        ("id", longs(&[1])),
        ("xs", list(ints(&[1, 2]), &[0, 2])),
        ("m", map(strs(&["a"]), ints(&[3]), &[0, 1])),
        ("mk", map(ints(&[4]), strs(&["four"]), &[0, 1])),
        ("am", list(map(strs(&["b"]), ints(&[5]), &[0, 1]), &[0, 1])),
        ("items", list(structs(vec![("p", ints(&[6]))]), &[0, 1])),
        (
            "mv",
            map(
                strs(&["c"]),
                structs(vec![(
                    "q",
                    Arc::new(Float32Array::from(vec![0.5f32])) as ArrayRef,
                )]),
                &[0, 1],
            ),
        ),
    ]);
    write(d, v0, SchemaMode::Strict).await.unwrap();
    tick().await;

    // Strict appends refuse the wider types.
    let wide = batch(vec![
        ("id", longs(&[2])),
        ("xs", list(longs(&[5_000_000_000]), &[0, 1])),
        ("m", map(strs(&["a"]), longs(&[30]), &[0, 1])),
        ("mk", map(longs(&[40]), strs(&["forty"]), &[0, 1])),
        (
            "am",
            list(map(strs(&["b"]), longs(&[50]), &[0, 1]), &[0, 1]),
        ),
        (
            "items",
            list(
                structs(vec![("p", longs(&[60])), ("extra", strs(&["new"]))]),
                &[0, 1],
            ),
        ),
        (
            "mv",
            map(
                strs(&["c"]),
                structs(vec![
                    ("q", Arc::new(Float64Array::from(vec![0.25])) as ArrayRef),
                    ("r", strs(&["added"])),
                ]),
                &[0, 1],
            ),
        ),
    ]);
    let before = listing(d);
    let err = write(d, wide.clone(), SchemaMode::Strict)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'xs"), "{err}");
    assert_eq!(listing(d), before);

    // v1: merge widens and adds fields inside elements and values.
    assert_eq!(write(d, wide, SchemaMode::Merge).await.unwrap(), 1);
    let protocol = commit_protocol(d, 1).unwrap();
    for list in ["readerFeatures", "writerFeatures"] {
        assert!(
            protocol[list]
                .as_array()
                .unwrap()
                .contains(&json!("typeWidening")),
            "{protocol}"
        );
    }
    assert_eq!(
        type_changes(d, 1, &["xs"]),
        json!([{"fromType": "integer", "toType": "long", "fieldPath": "element"}])
    );
    assert_eq!(
        type_changes(d, 1, &["m"]),
        json!([{"fromType": "integer", "toType": "long", "fieldPath": "value"}])
    );
    assert_eq!(
        type_changes(d, 1, &["mk"]),
        json!([{"fromType": "integer", "toType": "long", "fieldPath": "key"}])
    );
    assert_eq!(
        type_changes(d, 1, &["am"]),
        json!([{"fromType": "integer", "toType": "long", "fieldPath": "element.value"}])
    );
    // Inside a struct, the change belongs to the struct field itself, with no fieldPath.
    assert_eq!(type_changes(d, 1, &["items"]), Value::Null);
    assert_eq!(
        type_changes(d, 1, &["items", "element", "p"]),
        json!([{"fromType": "integer", "toType": "long"}])
    );
    assert_eq!(
        type_changes(d, 1, &["mv", "value", "q"]),
        json!([{"fromType": "float", "toType": "double"}])
    );
    tick().await;

    // v2: an append with the old, narrower types is converted and changes no schema.
    let narrow = batch(vec![
        ("id", longs(&[3])),
        ("xs", list(ints(&[7]), &[0, 1])),
        ("m", map(strs(&["z"]), ints(&[8]), &[0, 1])),
    ]);
    write(d, narrow, SchemaMode::Merge).await.unwrap();
    assert!(
        commit_actions(d, 2)
            .iter()
            .all(|a| a.get("metaData").is_none())
    );

    let s0 = "struct<id:long,xs:array<integer>,m:map<string,integer>,mk:map<integer,string>,am:array<map<string,integer>>,items:array<struct<p:integer>>,mv:map<string,struct<q:float>>>";
    let s1 = "struct<id:long,xs:array<long>,m:map<string,long>,mk:map<long,string>,am:array<map<string,long>>,items:array<struct<p:long,extra:string>>,mv:map<string,struct<q:double,r:string>>>";
    let row0 = "id=1 xs=[1, 2] m={a: 3} mk={4: four} am=[{b: 5}] items=[{p: 6}] mv={c: {q: 0.5}}";
    let row0_wide = "id=1 xs=[1, 2] m={a: 3} mk={4: four} am=[{b: 5}] items=[{p: 6, extra: NULL}] mv={c: {q: 0.5, r: NULL}}";
    let row1 = "id=2 xs=[5000000000] m={a: 30} mk={40: forty} am=[{b: 50}] items=[{p: 60, extra: new}] mv={c: {q: 0.25, r: added}}";
    let row2 = "id=3 xs=[7] m={z: 8} mk=NULL am=NULL items=NULL mv=NULL";
    assert_versions(
        d,
        &[
            r(s0, &[row0]),
            r(s1, &[row0_wide, row1]),
            r(s1, &[row0_wide, row1, row2]),
        ],
    )
    .await;

    // Old files read with the wider types.
    let latest = load_snapshot(&location(d), None).await.unwrap();
    let batches = scan_all(latest).await;
    for b in &batches {
        let DataType::List(element) = b.column_by_name("xs").unwrap().data_type() else {
            panic!("xs is a list");
        };
        assert_eq!(element.data_type(), &DataType::Int64);
    }
    let first = scan_all(load_snapshot(&location(d), Some(0)).await.unwrap()).await;
    let DataType::List(element) = first[0].column_by_name("xs").unwrap().data_type() else {
        panic!("xs is a list");
    };
    assert_eq!(element.data_type(), &DataType::Int32);
}

#[tokio::test]
async fn merge_into_a_column_mapped_table_maps_new_fields_inside_arrays_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        batch(vec![
            ("id", longs(&[1])),
            ("items", list(structs(vec![("p", ints(&[6]))]), &[0, 1])),
            (
                "mv",
                map(strs(&["c"]), structs(vec![("q", ints(&[1]))]), &[0, 1]),
            ),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    tick().await;
    // v1: rename a field inside the array's structs (column mapping on; ids 1..=5).
    alter(d, rename("items.element.p", "price")).await.unwrap();
    tick().await;
    // v2: merge adds fields inside the array's structs and the map's values, and widens.
    write(
        d,
        batch(vec![
            ("id", longs(&[2])),
            (
                "items",
                list(
                    structs(vec![("price", longs(&[70])), ("note", strs(&["n"]))]),
                    &[0, 1],
                ),
            ),
            (
                "mv",
                map(
                    strs(&["d"]),
                    structs(vec![("q", ints(&[2])), ("w", strs(&["w"]))]),
                    &[0, 1],
                ),
            ),
        ]),
        SchemaMode::Merge,
    )
    .await
    .unwrap();
    let schema = commit_schema(d, 2);
    let note = field_json(&schema, &["items", "element", "note"]);
    let w = field_json(&schema, &["mv", "value", "w"]);
    let mut ids: Vec<i64> = [note, w]
        .iter()
        .map(|f| f["metadata"]["delta.columnMapping.id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [6, 7]);
    for f in [note, w] {
        assert!(
            f["metadata"]["delta.columnMapping.physicalName"]
                .as_str()
                .unwrap()
                .starts_with("col-")
        );
    }
    let price = field_json(&schema, &["items", "element", "price"]);
    assert_eq!(price["metadata"]["delta.columnMapping.physicalName"], "p");
    assert_eq!(
        price["metadata"]["delta.typeChanges"],
        json!([{"fromType": "integer", "toType": "long"}])
    );
    let metadata = commit_actions(d, 2)
        .into_iter()
        .find_map(|a| a.get("metaData").cloned())
        .unwrap();
    assert_eq!(
        metadata["configuration"]["delta.columnMapping.maxColumnId"],
        "7"
    );
    assert_versions(
        d,
        &[
            r(
                "struct<id:long,items:array<struct<p:integer>>,mv:map<string,struct<q:integer>>>",
                &["id=1 items=[{p: 6}] mv={c: {q: 1}}"],
            ),
            r(
                "struct<id:long,items:array<struct<price:integer>>,mv:map<string,struct<q:integer>>>",
                &["id=1 items=[{price: 6}] mv={c: {q: 1}}"],
            ),
            r(
                "struct<id:long,items:array<struct<price:long,note:string>>,mv:map<string,struct<q:integer,w:string>>>",
                &[
                    "id=1 items=[{price: 6, note: NULL}] mv={c: {q: 1, w: NULL}}",
                    "id=2 items=[{price: 70, note: n}] mv={d: {q: 2, w: w}}",
                ],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_renamed_nested_field_never_reads_another_fields_data() {
    // After a rename, a drop and an add, the logical names line up with other physical
    // fields of old files: the read must still follow the physical names.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        batch(vec![
            ("id", longs(&[1])),
            ("s", structs(vec![("a", longs(&[10])), ("b", longs(&[20]))])),
        ]),
        SchemaMode::Strict,
    )
    .await
    .unwrap();
    alter(d, rename("s.b", "c")).await.unwrap();
    alter(d, drop_column("s.a")).await.unwrap();
    alter(d, rename("s.c", "a")).await.unwrap();
    alter(
        d,
        AlterOperation::AddColumn {
            name: "s.b".into(),
            data_type: DeltaType::Primitive(PrimitiveType::Long),
            nullable: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(read(d, 4).await.rows, ["id=1 s={a: 20, b: NULL}"]);
    assert_eq!(read(d, 0).await.rows, ["id=1 s={a: 10, b: 20}"]);
}
