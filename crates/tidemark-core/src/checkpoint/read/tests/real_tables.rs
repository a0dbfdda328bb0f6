//! Checkpoints of real tables (tests/data): each agrees with the JSON replay of its version.

use super::*;

#[tokio::test]
pub(super) async fn classic_checkpoint_matches_json_replay() {
    let table = "delta-kernel-java/basic-with-checkpoint";
    let actions = read_log_file(table, "00000000000000000010.checkpoint.parquet").await;
    assert_eq!(count(&actions, is_protocol), 1);
    assert_eq!(count(&actions, is_metadata), 1);
    let checkpoint = adds(&actions);
    let (replay, _) = replay_json(table, 10);
    assert!(!checkpoint.is_empty());
    assert_matches_replay(&checkpoint, &replay);
    assert_stats_have_num_records(&checkpoint);
    let Some(Action::Metadata(metadata)) = actions.iter().find(|a| is_metadata(a)) else {
        panic!("no metadata");
    };
    assert_eq!(metadata.format.provider, "parquet");
    assert!(metadata.schema_string.contains("\"struct\""));
}

#[tokio::test]
pub(super) async fn more_classic_checkpoints_match_json_replay() {
    for (table, version) in [
        ("delta-rs/simple_table_with_checkpoint", 10u64),
        ("delta-spark/delta-1.2.1", 2),
        ("delta-spark/delta-1.2.1", 4),
        ("delta-rs/table_with_deletion_logs", 10),
        ("delta-rs/table_with_deletion_logs", 20),
    ] {
        let name = format!("{version:020}.checkpoint.parquet");
        let actions = read_log_file(table, &name).await;
        assert_eq!(count(&actions, is_protocol), 1, "{table} {name}");
        assert_eq!(count(&actions, is_metadata), 1, "{table} {name}");
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, version);
        assert!(!checkpoint.is_empty(), "{table} {name}");
        assert_matches_replay(&checkpoint, &replay);
    }
}

#[tokio::test]
pub(super) async fn partitioned_multi_part_checkpoint_with_stats_parsed_only() {
    let table = "delta-kernel/v1-multi-part-partitioned-struct-stats-only";
    let mut actions = Vec::new();
    for part in log_files(table, ".checkpoint.") {
        actions.extend(read_log_file(table, &part).await);
    }
    assert_eq!(count(&actions, is_protocol), 1);
    assert_eq!(count(&actions, is_metadata), 1);
    let checkpoint = adds(&actions);
    let (replay, _) = replay_json(table, 5);
    assert!(!checkpoint.is_empty());
    assert_matches_replay(&checkpoint, &replay);
    assert!(
        checkpoint
            .values()
            .all(|a| a.partition_values.contains_key("part"))
    );
    assert_stats_have_num_records(&checkpoint);
    for (path, add) in &checkpoint {
        let expected = replay[path].stats.as_deref().unwrap();
        assert_eq!(
            stats_value(add.stats.as_deref().unwrap()),
            stats_value(expected)
        );
    }
}

#[tokio::test]
pub(super) async fn deletion_vectors_in_checkpoints_match_json_replay() {
    let table = "delta-kernel-java/basic-dv-with-checkpoint";
    for version in [10u64, 20, 30, 40] {
        let name = format!("{version:020}.checkpoint.parquet");
        let actions = read_log_file(table, &name).await;
        assert_eq!(count(&actions, is_protocol), 1, "{name}");
        assert_eq!(count(&actions, is_metadata), 1, "{name}");
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, version);
        assert_matches_replay(&checkpoint, &replay);
        let with_dv = checkpoint
            .values()
            .filter(|a| a.deletion_vector.is_some())
            .count();
        assert!(with_dv > 0, "{name}: no deletion vector");
        for dv in checkpoint
            .values()
            .filter_map(|a| a.deletion_vector.as_ref())
        {
            assert!(matches!(dv.storage_type.as_str(), "u" | "i" | "p"));
            assert!(dv.cardinality > 0 && dv.size_in_bytes > 0);
        }
    }
}

#[tokio::test]
pub(super) async fn multi_part_checkpoint_reads_all_parts() {
    let table = "delta-kernel-java/kernel-pagination-multi-part-checkpoints";
    let parts = log_files(table, ".checkpoint.");
    assert_eq!(parts.len(), 3);
    let mut actions = Vec::new();
    for part in &parts {
        let part_actions = read_log_file(table, part).await;
        assert!(!part_actions.is_empty(), "{part}");
        actions.extend(part_actions);
    }
    assert_eq!(count(&actions, is_protocol), 1);
    assert_eq!(count(&actions, is_metadata), 1);
    let checkpoint = adds(&actions);
    let (replay, _) = replay_json(table, 0);
    assert!(checkpoint.len() > 3);
    assert_matches_replay(&checkpoint, &replay);
}

#[tokio::test]
pub(super) async fn v2_parquet_checkpoint_and_its_sidecars() {
    let table = "delta-kernel-java/kernel-pagination-v2-checkpoint-parquet";
    let top = read_log_file(
        table,
        "00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet",
    )
    .await;
    assert_eq!(count(&top, is_protocol), 1);
    assert_eq!(count(&top, is_metadata), 1);
    let checkpoint_metadata: Vec<_> = top
        .iter()
        .filter_map(|a| match a {
            Action::CheckpointMetadata(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(checkpoint_metadata.len(), 1);
    assert_eq!(checkpoint_metadata[0].version, 2);
    let sidecars: Vec<Sidecar> = top
        .iter()
        .filter_map(|a| match a {
            Action::Sidecar(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sidecars.len(), 2);
    let mut actions = top.clone();
    for sidecar in &sidecars {
        assert!(sidecar.size_in_bytes > 0 && sidecar.modification_time > 0);
        let on_disk = table_dir(table)
            .join("_delta_log/_sidecars")
            .join(&sidecar.path);
        assert_eq!(
            std::fs::metadata(&on_disk).unwrap().len(),
            u64::try_from(sidecar.size_in_bytes).unwrap()
        );
        let part = read_log_file(table, &format!("_sidecars/{}", sidecar.path)).await;
        assert!(
            part.iter()
                .all(|a| matches!(a, Action::Add(_) | Action::Remove(_)))
        );
        actions.extend(part);
    }
    let checkpoint = adds(&actions);
    let (replay, _) = replay_json(table, 2);
    assert!(!checkpoint.is_empty());
    assert_matches_replay(&checkpoint, &replay);
}

#[tokio::test]
pub(super) async fn very_old_checkpoint_schema() {
    // Delta 0.1: no stats, no tags, no createdTime, remove has only path and dataChange.
    let table = "delta-spark/delta-0.1.0";
    let actions = read_log_file(table, "00000000000000000003.checkpoint.parquet").await;
    assert_eq!(count(&actions, is_protocol), 1);
    assert_eq!(count(&actions, is_metadata), 1);
    let checkpoint = adds(&actions);
    let (replay, _) = replay_json(table, 3);
    assert!(!checkpoint.is_empty());
    assert_matches_replay(&checkpoint, &replay);
    for add in checkpoint.values() {
        assert_eq!(add.stats, None);
        assert_eq!(add.tags, None);
    }
    let Some(Action::Metadata(metadata)) = actions.iter().find(|a| is_metadata(a)) else {
        panic!("no metadata");
    };
    assert_eq!(metadata.created_time, None);
    for remove in actions.iter().filter_map(|a| match a {
        Action::Remove(r) => Some(r),
        _ => None,
    }) {
        assert!(!remove.path.is_empty());
        assert_eq!(remove.size, None);
    }
}

#[tokio::test]
pub(super) async fn txn_in_checkpoint() {
    let table = "delta-kernel/app-txn-checkpoint";
    let actions = read_log_file(table, "00000000000000000001.checkpoint.parquet").await;
    assert_eq!(count(&actions, is_protocol), 1);
    assert_eq!(count(&actions, is_metadata), 1);
    let mut txns: Vec<(String, i64)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Txn(t) => Some((t.app_id.clone(), t.version)),
            _ => None,
        })
        .collect();
    txns.sort();
    let (replay, others) = replay_json(table, 1);
    let mut latest: BTreeMap<String, i64> = BTreeMap::new();
    for action in others {
        if let Action::Txn(t) = action {
            latest.insert(t.app_id, t.version);
        }
    }
    assert!(!txns.is_empty());
    assert_eq!(txns, latest.into_iter().collect::<Vec<_>>());
    assert_matches_replay(&adds(&actions), &replay);
}

/// Checkpoints whose `add` rows have only `stats_parsed`: the JSON written back must say
/// what the commits' JSON stats said.
#[tokio::test]
pub(super) async fn stats_parsed_only_checkpoints_match_json_stats() {
    for (table, version) in [
        ("delta-rs/delta-1.2.1-only-struct-stats", 10u64),
        ("delta-kernel/v1-single-part-struct-stats-only", 5),
        ("delta-spark/transaction_log_schema_evolvability", 2),
    ] {
        let name = format!("{version:020}.checkpoint.parquet");
        let actions = read_log_file(table, &name).await;
        assert_eq!(count(&actions, is_protocol), 1, "{table}");
        assert_eq!(count(&actions, is_metadata), 1, "{table}");
        let checkpoint = adds(&actions);
        let (replay, _) = replay_json(table, version);
        assert!(!checkpoint.is_empty(), "{table}");
        assert_matches_replay(&checkpoint, &replay);
        let mut compared = 0;
        for (path, add) in &checkpoint {
            if let Some(expected) = &replay[path].stats {
                let ours = add
                    .stats
                    .as_deref()
                    .unwrap_or_else(|| panic!("{table} {path}"));
                assert_eq!(stats_value(ours), stats_value(expected), "{table} {path}");
                compared += 1;
            }
        }
        assert!(compared > 0, "{table}: no stats compared");
        assert_stats_have_num_records(&checkpoint);
    }
}

/// Where a checkpoint has both `stats` and `stats_parsed`, dropping `stats` must give the
/// same statistics from `stats_parsed`.
#[test]
pub(super) fn stats_parsed_agrees_with_stats_where_both_exist() {
    let files = [
        "delta-kernel/parsed-stats/_delta_log/00000000000000000003.checkpoint.parquet",
        "delta-rs/checkpoints_vacuumed/_delta_log/00000000000000000010.checkpoint.parquet",
        "delta-rs/issue_1374/_delta_log/00000000000000000001.checkpoint.parquet",
        "delta-rs/table_with_deletion_logs/_delta_log/00000000000000000020.checkpoint.parquet",
        "delta-rs/table-with-domain-metadata/_delta_log/00000000000000000108.checkpoint.parquet",
        "delta-rs/checkpoint-v2-table/_delta_log/_sidecars/00000000000000000008.checkpoint.0000000001.0000000001.d55fb2cb-b8d3-4362-8572-c52142a9da1f.parquet",
    ];
    for file in files {
        let mut compared = 0;
        for batch in read_batches(&tidemark_testdata::table(file)) {
            let with_stats = actions_from_batch(&batch, file).unwrap();
            let without = actions_from_batch(&drop_add_child(&batch, "stats"), file).unwrap();
            assert_eq!(with_stats.len(), without.len());
            for (a, b) in with_stats.iter().zip(&without) {
                if let (Action::Add(a), Action::Add(b)) = (a, b) {
                    let (Some(sa), Some(sb)) = (&a.stats, &b.stats) else {
                        panic!("{file}: {} lost its stats", a.path);
                    };
                    assert_eq!(stats_value(sa), stats_value(sb), "{file} {}", a.path);
                    compared += 1;
                }
            }
        }
        assert!(compared > 0, "{file}");
    }
}

/// Every Parquet checkpoint in tests/data converts, and its `add` count equals the count
/// from the file's footer statistics (rows less nulls of `add.path`) or, without them, the
/// non-null `add.path` values counted on the raw Arrow data.
#[tokio::test]
pub(super) async fn every_corpus_checkpoint_converts() {
    let mut files = Vec::new();
    collect_checkpoints(&tidemark_testdata::data_dir(), &mut files);
    assert!(
        files.len() > 50,
        "found only {} checkpoint files",
        files.len()
    );
    let mut with_footer_counts = 0;
    let mut with_adds = 0;
    for file in &files {
        let dir = file.parent().unwrap().to_str().unwrap();
        let location = TableLocation::parse(dir).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap();
        let actions = read_checkpoint_parquet(&location, &location.root().clone().join(name), None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Column pruning (projection) must not change the result.
        let mut unprojected = Vec::new();
        for batch in read_batches(file) {
            unprojected.extend(actions_from_batch(&batch, name).unwrap());
        }
        assert_eq!(actions, unprojected, "{}", file.display());
        let add_count = count(&actions, is_add);
        let expected = match footer_add_count(file) {
            Some(n) => {
                with_footer_counts += 1;
                n
            }
            None => raw_add_count(file),
        };
        assert_eq!(add_count, expected, "{}", file.display());
        with_adds += usize::from(add_count > 0);
        for action in &actions {
            if let Action::Add(add) = action
                && let Some(stats) = &add.stats
            {
                assert!(stats_value(stats).is_object(), "{}", file.display());
            }
        }
        let is_sidecar = file.to_str().unwrap().contains("/_sidecars/");
        let is_part = name.matches('.').count() == 4 && !name.contains('-');
        if !is_sidecar && !is_part {
            assert_eq!(count(&actions, is_protocol), 1, "{}", file.display());
            assert_eq!(count(&actions, is_metadata), 1, "{}", file.display());
        }
    }
    assert!(with_footer_counts > 20, "{with_footer_counts}");
    assert!(with_adds > 40, "{with_adds}");
}

#[tokio::test]
pub(super) async fn stream_yields_batches() {
    let table = "delta-kernel-java/basic-with-checkpoint";
    let location = location(table);
    let path = location
        .log_root()
        .join("00000000000000000010.checkpoint.parquet");
    let batches: Vec<Vec<Action>> = read_checkpoint_parquet_stream(&location, &path, None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(!batches.is_empty());
    let all: Vec<Action> = batches.into_iter().flatten().collect();
    assert_eq!(
        all,
        read_checkpoint_parquet(&location, &path, None)
            .await
            .unwrap()
    );
}

#[tokio::test]
pub(super) async fn missing_file_is_not_found() {
    let location = location("delta-kernel-java/basic-with-checkpoint");
    let path = location
        .log_root()
        .join("00000000000000000099.checkpoint.parquet");
    let err = read_checkpoint_parquet(&location, &path, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = read_checkpoint_parquet(&location, &path, Some(1234))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string()
            .contains("00000000000000000099.checkpoint.parquet"),
        "{err}"
    );
}

#[tokio::test]
pub(super) async fn not_a_parquet_file_is_a_parquet_error() {
    let location = location("delta-kernel-java/basic-with-checkpoint");
    let path = location.log_root().join("00000000000000000000.json");
    let err = read_checkpoint_parquet(&location, &path, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Parquet { .. }), "{err}");
    assert!(
        err.to_string().contains("00000000000000000000.json"),
        "{err}"
    );
}

pub(super) fn collect_checkpoints(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_checkpoints(&path, out);
        } else {
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.contains(".checkpoint.") && name.ends_with(".parquet") {
                out.push(path);
            }
        }
    }
}

pub(super) fn read_batches(file: &std::path::Path) -> Vec<RecordBatch> {
    let reader = std::fs::File::open(file).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)
        .unwrap()
        .build()
        .unwrap()
        .collect::<std::result::Result<Vec<_>, _>>()
        .unwrap()
}

/// `add` rows with a path, from the footer: rows less the nulls of the `add.path` leaf.
pub(super) fn footer_add_count(file: &std::path::Path) -> Option<usize> {
    let reader = std::fs::File::open(file).unwrap();
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(reader).unwrap();
    use parquet::file::reader::FileReader;
    let metadata = reader.metadata();
    let schema = metadata.file_metadata().schema_descr();
    let leaf = (0..schema.num_columns()).find(|&i| {
        let column = schema.column(i);
        let parts = column.path().parts();
        parts.len() == 2 && parts[0] == "add" && parts[1] == "path"
    });
    let Some(leaf) = leaf else {
        return Some(0);
    };
    let mut total = 0;
    for rg in metadata.row_groups() {
        let nulls = rg.column(leaf).statistics()?.null_count_opt()?;
        total += usize::try_from(rg.num_rows()).unwrap() - usize::try_from(nulls).unwrap();
    }
    Some(total)
}

pub(super) fn raw_add_count(file: &std::path::Path) -> usize {
    read_batches(file)
        .iter()
        .filter_map(|b| b.column_by_name("add"))
        .map(|add| {
            let add = add.as_struct();
            match add.column_by_name("path") {
                Some(path) => (0..add.len())
                    .filter(|&i| add.is_valid(i) && path.is_valid(i))
                    .count(),
                None => 0,
            }
        })
        .sum()
}

/// The batch with one child of the `add` struct removed.
pub(super) fn drop_add_child(batch: &RecordBatch, child: &str) -> RecordBatch {
    let schema = batch.schema();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if field.name() == "add" {
            let add = column.as_struct();
            let (sub_fields, sub_columns): (Vec<_>, Vec<_>) = add
                .fields()
                .iter()
                .zip(add.columns())
                .filter(|(f, _)| f.name() != child)
                .map(|(f, c)| (Arc::clone(f), Arc::clone(c)))
                .unzip();
            let new_add =
                StructArray::new(Fields::from(sub_fields), sub_columns, add.nulls().cloned());
            fields.push(Arc::new(Field::new(
                "add",
                new_add.data_type().clone(),
                true,
            )));
            columns.push(Arc::new(new_add) as ArrayRef);
        } else {
            fields.push(Arc::clone(field));
            columns.push(Arc::clone(column));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}
