//! Checkpoint batches built in the test: every column shape and damaged input.

use super::*;

pub(super) fn struct_array(fields: Vec<(&str, ArrayRef)>, nulls: Option<Vec<bool>>) -> ArrayRef {
    let (fields, columns): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .map(|(name, array)| {
            (
                Arc::new(Field::new(name, array.data_type().clone(), true)),
                array,
            )
        })
        .unzip();
    Arc::new(StructArray::new(
        Fields::from(fields),
        columns,
        nulls.map(NullBuffer::from),
    ))
}

pub(super) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Map rows: `None` is a null map, else its entries.
pub(super) type MapRows<'a> = [Option<&'a [(&'a str, Option<&'a str>)]>];

pub(super) fn string_map(rows: &MapRows<'_>) -> ArrayRef {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for row in rows {
        match row {
            Some(entries) => {
                for (k, v) in *entries {
                    builder.keys().append_value(k);
                    builder.values().append_option(*v);
                }
                builder.append(true).unwrap();
            }
            None => builder.append(false).unwrap(),
        }
    }
    Arc::new(builder.finish())
}

#[test]
pub(super) fn stats_parsed_struct_becomes_json_stats() {
    let ts = TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None])
        .with_timezone("UTC");
    let min_values = struct_array(
        vec![
            ("a", Arc::new(Int32Array::from(vec![Some(-3), Some(7)]))),
            ("s", Arc::new(StringArray::from(vec![Some("x\"y\n"), None]))),
            ("ts", Arc::new(ts)),
            (
                "d",
                Arc::new(Date32Array::from(vec![Some(19_000), Some(0)])),
            ),
            (
                "dec",
                Arc::new(
                    Decimal128Array::from(vec![Some(-567_800), Some(1)])
                        .with_precision_and_scale(8, 5)
                        .unwrap(),
                ),
            ),
            (
                "nested",
                struct_array(
                    vec![(
                        "f",
                        Arc::new(Float64Array::from(vec![Some(1.25), Some(f64::NAN)])),
                    )],
                    None,
                ),
            ),
        ],
        None,
    );
    let null_count = struct_array(
        vec![("a", Arc::new(Int64Array::from(vec![Some(0), Some(2)])))],
        None,
    );
    let stats_parsed = struct_array(
        vec![
            (
                "numRecords",
                Arc::new(Int64Array::from(vec![Some(10), Some(3)])),
            ),
            ("minValues", min_values),
            ("nullCount", null_count),
            (
                "tightBounds",
                Arc::new(BooleanArray::from(vec![Some(true), None])),
            ),
        ],
        Some(vec![true, true]),
    );
    let add = struct_array(
        vec![
            (
                "path",
                Arc::new(StringArray::from(vec!["a.parquet", "b.parquet"])),
            ),
            ("size", Arc::new(Int64Array::from(vec![100, 200]))),
            ("partitionValues", string_map(&[Some(&[]), Some(&[])])),
            ("stats_parsed", stats_parsed),
        ],
        None,
    );
    let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
    let stats: Vec<Value> = actions
        .iter()
        .map(|a| match a {
            Action::Add(add) => serde_json::from_str(add.stats.as_deref().unwrap()).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        stats[0],
        json!({
            "numRecords": 10,
            "minValues": {
                "a": -3,
                "s": "x\"y\n",
                "ts": "2023-11-14T22:13:20.123Z",
                "d": "2022-01-08",
                "dec": -5.678,
                "nested": {"f": 1.25}
            },
            "nullCount": {"a": 0},
            "tightBounds": true
        })
    );
    assert_eq!(
        stats[1],
        json!({
            "numRecords": 3,
            "minValues": {"a": 7, "d": "1970-01-01", "dec": 0.00001, "nested": {"f": "NaN"}},
            "nullCount": {"a": 2}
        })
    );
    // The decimal keeps its scale in the text, as Delta writers do.
    let Action::Add(first) = &actions[0] else {
        panic!()
    };
    assert!(first.stats.as_deref().unwrap().contains("\"dec\":-5.67800"));
}

#[test]
pub(super) fn stats_string_wins_over_stats_parsed() {
    let stats_parsed = struct_array(
        vec![(
            "numRecords",
            Arc::new(Int64Array::from(vec![Some(1), Some(2)])),
        )],
        Some(vec![true, false]),
    );
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec!["a", "b"]))),
            ("size", Arc::new(Int64Array::from(vec![1, 2]))),
            (
                "stats",
                Arc::new(StringArray::from(vec![Some("{\"numRecords\":9}"), None])),
            ),
            ("stats_parsed", stats_parsed),
        ],
        None,
    );
    let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
    let stats: Vec<Option<String>> = actions
        .iter()
        .map(|a| match a {
            Action::Add(add) => add.stats.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(stats, vec![Some("{\"numRecords\":9}".to_string()), None]);
}

#[test]
pub(super) fn every_action_kind_in_row_order_with_tolerant_types() {
    use arrow::array::{LargeStringArray, ListBuilder, StringViewArray};
    let n = 9;
    let only = |row: usize| -> Vec<bool> { (0..n).map(|i| i == row).collect() };
    let strs = |row: usize, value: &str| -> ArrayRef {
        Arc::new(StringArray::from(
            (0..n)
                .map(|i| (i == row).then_some(value))
                .collect::<Vec<_>>(),
        ))
    };
    let mut features = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        if i == 0 {
            features.values().append_value("deletionVectors");
            features.append(true);
        } else {
            features.append(false);
        }
    }
    // protocol versions as int64 (usually int32).
    let protocol = struct_array(
        vec![
            ("minReaderVersion", Arc::new(Int64Array::from(vec![3; n]))),
            ("minWriterVersion", Arc::new(Int64Array::from(vec![7; n]))),
            ("readerFeatures", Arc::new(features.finish())),
        ],
        Some(only(0)),
    );
    // metaData without format, partitionColumns or createdTime.
    let metadata = struct_array(
        vec![
            ("id", strs(1, "abc")),
            (
                "schemaString",
                strs(1, "{\"type\":\"struct\",\"fields\":[]}"),
            ),
            (
                "configuration",
                string_map(
                    &(0..n)
                        .map(|i| (i == 1).then_some(&[("k", Some("v")), ("gone", None)][..]))
                        .collect::<Vec<_>>(),
                ),
            ),
        ],
        Some(only(1)),
    );
    // add with LargeUtf8 path, int32 size, no partitionValues, a DV with int64 fields.
    let dv = struct_array(
        vec![
            ("storageType", strs(2, "u")),
            ("pathOrInlineDv", strs(2, "ab^-aqEH.-t@S}K{vb[*k^")),
            ("offset", Arc::new(Int64Array::from(vec![Some(1); n]))),
            ("sizeInBytes", Arc::new(Int64Array::from(vec![Some(36); n]))),
            ("cardinality", Arc::new(Int32Array::from(vec![Some(2); n]))),
        ],
        Some(only(2)),
    );
    let add = struct_array(
        vec![
            (
                "path",
                Arc::new(LargeStringArray::from(
                    (0..n)
                        .map(|i| (i == 2).then_some("x=1/f.parquet"))
                        .collect::<Vec<_>>(),
                )),
            ),
            ("size", Arc::new(Int32Array::from(vec![Some(42); n]))),
            ("deletionVector", dv),
            ("baseRowId", Arc::new(Int32Array::from(vec![Some(5); n]))),
        ],
        Some(only(2)),
    );
    // remove with Utf8View path.
    let remove = struct_array(
        vec![
            (
                "path",
                Arc::new(StringViewArray::from(
                    (0..n)
                        .map(|i| (i == 3).then_some("old.parquet"))
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                "deletionTimestamp",
                Arc::new(Int64Array::from(vec![Some(77); n])),
            ),
            (
                "dataChange",
                Arc::new(BooleanArray::from(vec![Some(false); n])),
            ),
        ],
        Some(only(3)),
    );
    let txn = struct_array(
        vec![
            ("appId", strs(4, "app")),
            ("version", Arc::new(Int32Array::from(vec![Some(12); n]))),
        ],
        Some(only(4)),
    );
    let domain = struct_array(
        vec![
            ("domain", strs(5, "delta.clustering")),
            ("configuration", strs(5, "{}")),
            (
                "removed",
                Arc::new(BooleanArray::from(vec![Some(false); n])),
            ),
        ],
        Some(only(5)),
    );
    let checkpoint_metadata = struct_array(
        vec![("version", Arc::new(Int64Array::from(vec![Some(8); n])))],
        Some(only(6)),
    );
    let sidecar = struct_array(
        vec![
            ("path", strs(7, "side.parquet")),
            (
                "sizeInBytes",
                Arc::new(Int64Array::from(vec![Some(1000); n])),
            ),
            (
                "modificationTime",
                Arc::new(Int64Array::from(vec![Some(5); n])),
            ),
        ],
        Some(only(7)),
    );
    let commit_info = struct_array(
        vec![
            (
                "timestamp",
                Arc::new(arrow::array::TimestampNanosecondArray::from(vec![
                    Some(
                        1_600_000_000_123_000_000
                    );
                    n
                ])),
            ),
            ("operation", strs(8, "WRITE")),
        ],
        Some(only(8)),
    );
    let batch = batch(vec![
        ("protocol", protocol),
        ("metaData", metadata),
        ("add", add),
        ("remove", remove),
        ("txn", txn),
        ("domainMetadata", domain),
        ("checkpointMetadata", checkpoint_metadata),
        ("sidecar", sidecar),
        ("commitInfo", commit_info),
        ("unknown", Arc::new(BooleanArray::from(vec![true; n]))),
    ]);
    let actions = actions_from_batch(&batch, "test").unwrap();
    assert_eq!(actions.len(), n);
    assert_eq!(
        actions[0],
        Action::Protocol(Protocol {
            min_reader_version: 3,
            min_writer_version: 7,
            reader_features: Some(vec!["deletionVectors".to_string()]),
            writer_features: None,
        })
    );
    let Action::Metadata(metadata) = &actions[1] else {
        panic!("{:?}", actions[1])
    };
    assert_eq!(metadata.id, "abc");
    assert_eq!(metadata.format, Format::default());
    assert!(metadata.partition_columns.is_empty());
    assert_eq!(
        metadata.configuration,
        HashMap::from([("k".to_string(), "v".to_string())])
    );
    let Action::Add(add) = &actions[2] else {
        panic!("{:?}", actions[2])
    };
    assert_eq!(add.path, "x=1/f.parquet");
    assert_eq!(add.size, 42);
    assert!(add.partition_values.is_empty());
    assert_eq!(add.modification_time, 0);
    assert!(add.data_change);
    assert_eq!(add.stats, None);
    assert_eq!(add.base_row_id, Some(5));
    assert_eq!(
        add.deletion_vector,
        Some(DeletionVectorDescriptor {
            storage_type: "u".to_string(),
            path_or_inline_dv: "ab^-aqEH.-t@S}K{vb[*k^".to_string(),
            offset: Some(1),
            size_in_bytes: 36,
            cardinality: 2,
        })
    );
    let Action::Remove(remove) = &actions[3] else {
        panic!("{:?}", actions[3])
    };
    assert_eq!(remove.path, "old.parquet");
    assert_eq!(remove.deletion_timestamp, Some(77));
    assert!(!remove.data_change);
    assert_eq!(remove.partition_values, None);
    assert_eq!(
        actions[4],
        Action::Txn(Txn {
            app_id: "app".to_string(),
            version: 12,
            last_updated: None
        })
    );
    assert_eq!(
        actions[5],
        Action::DomainMetadata(DomainMetadata {
            domain: "delta.clustering".to_string(),
            configuration: "{}".to_string(),
            removed: false
        })
    );
    assert_eq!(
        actions[6],
        Action::CheckpointMetadata(CheckpointMetadata {
            version: 8,
            tags: None
        })
    );
    assert_eq!(
        actions[7],
        Action::Sidecar(Sidecar {
            path: "side.parquet".to_string(),
            size_in_bytes: 1000,
            modification_time: 5,
            tags: None
        })
    );
    let Action::CommitInfo(info) = &actions[8] else {
        panic!("{:?}", actions[8])
    };
    assert_eq!(info.timestamp(), Some(1_600_000_000_123));
    assert_eq!(info.operation(), Some("WRITE"));
}

#[test]
pub(super) fn partition_values_come_from_parsed_struct_when_the_map_is_absent() {
    let parsed = struct_array(
        vec![
            ("d", Arc::new(Date32Array::from(vec![Some(19_000), None]))),
            ("n", Arc::new(Int32Array::from(vec![Some(-4), Some(5)]))),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a b"), Some("")])),
            ),
            (
                "t",
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_000_001), None])),
            ),
        ],
        None,
    );
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec!["a", "b"]))),
            ("size", Arc::new(Int64Array::from(vec![1, 2]))),
            ("partitionValues_parsed", parsed),
        ],
        None,
    );
    let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
    let values: Vec<&PartitionValues> = actions
        .iter()
        .map(|a| match a {
            Action::Add(add) => &add.partition_values,
            other => panic!("{other:?}"),
        })
        .collect();
    let expected = |pairs: &[(&str, Option<&str>)]| -> PartitionValues {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    };
    assert_eq!(
        *values[0],
        expected(&[
            ("d", Some("2022-01-08")),
            ("n", Some("-4")),
            ("s", Some("a b")),
            ("t", Some("1970-01-01 00:00:01.000001")),
        ])
    );
    assert_eq!(
        *values[1],
        expected(&[("d", None), ("n", Some("5")), ("s", Some("")), ("t", None)])
    );
}

#[test]
pub(super) fn partition_values_map_wins_over_parsed_struct() {
    let parsed = struct_array(vec![("p", Arc::new(Int32Array::from(vec![Some(1)])))], None);
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec!["a"]))),
            ("size", Arc::new(Int64Array::from(vec![1]))),
            ("partitionValues", string_map(&[Some(&[("p", Some("01"))])])),
            ("partitionValues_parsed", parsed),
        ],
        None,
    );
    let actions = actions_from_batch(&batch(vec![("add", add)]), "test").unwrap();
    let Action::Add(add) = &actions[0] else {
        panic!()
    };
    assert_eq!(add.partition_values["p"].as_deref(), Some("01"));
}

#[test]
pub(super) fn missing_required_field_is_a_clear_error() {
    // add is non-null in row 1 but its path is null.
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec![Some("a"), None]))),
            ("size", Arc::new(Int64Array::from(vec![1, 2]))),
        ],
        Some(vec![true, true]),
    );
    let err = actions_from_batch(&batch(vec![("add", add)]), "00.checkpoint.parquet").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("00.checkpoint.parquet"), "{message}");
    assert!(message.contains("row 1"), "{message}");
    assert!(message.contains("add.path"), "{message}");

    // The column is missing altogether.
    let add = struct_array(
        vec![("path", Arc::new(StringArray::from(vec!["a"])) as ArrayRef)],
        None,
    );
    let err = actions_from_batch(&batch(vec![("add", add)]), "f").unwrap_err();
    assert!(err.to_string().contains("add.size"), "{err}");

    // A null row needs nothing.
    let add = struct_array(
        vec![(
            "path",
            Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef,
        )],
        Some(vec![false]),
    );
    assert!(
        actions_from_batch(&batch(vec![("add", add)]), "f")
            .unwrap()
            .is_empty()
    );
}

#[test]
pub(super) fn empty_deletion_vector_struct_is_no_deletion_vector() {
    let n = 3;
    let dv = struct_array(
        vec![
            (
                "storageType",
                Arc::new(StringArray::from(vec![Some(""), None, Some("u")])),
            ),
            (
                "pathOrInlineDv",
                Arc::new(StringArray::from(vec![Some(""), None, None])),
            ),
            (
                "sizeInBytes",
                Arc::new(Int32Array::from(vec![Some(0), None, Some(1)])),
            ),
            (
                "cardinality",
                Arc::new(Int64Array::from(vec![Some(0), None, Some(1)])),
            ),
        ],
        Some(vec![true; n]),
    );
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
            ("size", Arc::new(Int64Array::from(vec![1; n]))),
            ("deletionVector", dv),
        ],
        Some(vec![true, true, false]),
    );
    let actions = actions_from_batch(&batch(vec![("add", add.clone())]), "f").unwrap();
    assert_eq!(actions.len(), 2);
    for action in &actions {
        let Action::Add(add) = action else {
            panic!("{action:?}")
        };
        assert_eq!(add.deletion_vector, None);
    }
    // A real storage type without its path is an error.
    let add = add.as_struct();
    let all_valid = StructArray::new(add.fields().clone(), add.columns().to_vec(), None);
    let err = actions_from_batch(&batch(vec![("add", Arc::new(all_valid))]), "f").unwrap_err();
    assert!(
        err.to_string()
            .contains("add.deletionVector.pathOrInlineDv"),
        "{err}"
    );
}

#[test]
pub(super) fn wrong_types_are_clear_errors() {
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            ("size", Arc::new(StringArray::from(vec!["12"]))),
        ],
        None,
    );
    let err = actions_from_batch(&batch(vec![("add", add)]), "f").unwrap_err();
    assert!(err.to_string().contains("'add.size'"), "{err}");
    let err = actions_from_batch(
        &batch(vec![(
            "protocol",
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        )]),
        "f",
    )
    .unwrap_err();
    assert!(err.to_string().contains("'protocol'"), "{err}");
    // A version too big for the protocol's 32-bit field.
    let protocol = struct_array(
        vec![
            (
                "minReaderVersion",
                Arc::new(Int64Array::from(vec![1i64 << 40])),
            ),
            ("minWriterVersion", Arc::new(Int64Array::from(vec![2]))),
        ],
        None,
    );
    let err = actions_from_batch(&batch(vec![("protocol", protocol)]), "f").unwrap_err();
    assert!(err.to_string().contains("minReaderVersion"), "{err}");
}

#[test]
pub(super) fn json_strings_are_escaped() {
    let mut out = String::new();
    push_json_str(&mut out, "a\"b\\c\u{1}\té");
    assert_eq!(out, "\"a\\\"b\\\\c\\u0001\\té\"");
    let parsed: String = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed, "a\"b\\c\u{1}\té");
}

/// A million `add` rows with partition values and stats; run with
/// `cargo test --release -p tidemark-core --lib checkpoint_read -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
pub(super) fn million_adds_convert_quickly() {
    let n = 1_000_000;
    let paths: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "part=p{}/part-{i:05}-0b7c7a1c-3e12-4e4b-9f4e-5a9b1c2d3e4f.c000.snappy.parquet",
                i % 100
            )
        })
        .collect();
    let stats: Vec<String> = (0..n)
        .map(|i| format!("{{\"numRecords\":{i},\"minValues\":{{\"id\":{i}}},\"maxValues\":{{\"id\":{}}},\"nullCount\":{{\"id\":0}}}}", i + 10))
        .collect();
    let mut partition = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for i in 0..n {
        partition.keys().append_value("part");
        partition.values().append_value(format!("p{}", i % 100));
        partition.append(true).unwrap();
    }
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(paths))),
            ("partitionValues", Arc::new(partition.finish())),
            ("size", Arc::new(Int64Array::from(vec![1234; n]))),
            (
                "modificationTime",
                Arc::new(Int64Array::from(vec![1_700_000_000_000; n])),
            ),
            ("dataChange", Arc::new(BooleanArray::from(vec![false; n]))),
            ("stats", Arc::new(StringArray::from(stats))),
        ],
        None,
    );
    let with_stats = batch(vec![("add", add)]);

    // The same with stats_parsed only.
    let stats_parsed = struct_array(
        vec![
            (
                "numRecords",
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
            ),
            (
                "minValues",
                struct_array(
                    vec![
                        ("id", Arc::new(Int64Array::from_iter_values(0..n as i64))),
                        ("name", Arc::new(StringArray::from(vec!["alice"; n]))),
                    ],
                    None,
                ),
            ),
            (
                "nullCount",
                struct_array(
                    vec![
                        ("id", Arc::new(Int64Array::from(vec![0; n]))),
                        ("name", Arc::new(Int64Array::from(vec![0; n]))),
                    ],
                    None,
                ),
            ),
        ],
        None,
    );
    let add = struct_array(
        vec![
            ("path", Arc::new(StringArray::from(vec!["p.parquet"; n]))),
            ("size", Arc::new(Int64Array::from(vec![1234; n]))),
            ("stats_parsed", stats_parsed),
        ],
        None,
    );
    let with_stats_parsed = batch(vec![("add", add)]);

    let dir = tempfile::tempdir().unwrap();
    let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (label, batch) in [("stats", with_stats), ("stats_parsed", with_stats_parsed)] {
        let start = std::time::Instant::now();
        let mut total = 0;
        for offset in (0..n).step_by(BATCH_SIZE) {
            let len = BATCH_SIZE.min(n - offset);
            total += actions_from_batch(&batch.slice(offset, len), "bench")
                .unwrap()
                .len();
        }
        println!("{label}: {total} adds converted in {:?}", start.elapsed());
        assert_eq!(total, n);

        // Through a Parquet file: write the batch, read it back.
        let name = format!("{label}.checkpoint.parquet");
        let file = std::fs::File::create(dir.path().join(&name)).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let path = location.root().clone().join(name.as_str());
        let start = std::time::Instant::now();
        let actions = runtime
            .block_on(read_checkpoint_parquet(&location, &path, None))
            .unwrap();
        println!(
            "{label}: {} adds read from Parquet in {:?}",
            actions.len(),
            start.elapsed()
        );
        assert_eq!(actions.len(), n);
    }
}
