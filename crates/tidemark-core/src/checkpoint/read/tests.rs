//! Unit tests of the parent module.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::{
    Date32Array, Decimal128Array, Int32Array, MapBuilder, StringBuilder, TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{Fields, Schema};
use serde_json::{Value, json};

use super::*;
use crate::log::actions::parse_commit;

/// A table of the repository's tests/data, by its path there.
fn table_dir(table: &str) -> PathBuf {
    tidemark_testdata::table(table)
}

fn location(table: &str) -> TableLocation {
    let dir = table_dir(table).canonicalize().unwrap();
    TableLocation::parse(dir.to_str().unwrap()).unwrap()
}

/// Reads `_delta_log/<name>` (or `_delta_log/_sidecars/<name>`) of a table of tests/data.
async fn read_log_file(table: &str, name: &str) -> Vec<Action> {
    let location = location(table);
    let mut path = location.log_root();
    for part in name.split('/') {
        path = path.join(part);
    }
    // Pass the size for some files and let the reader look it up for others.
    let size = std::fs::metadata(table_dir(table).join("_delta_log").join(name))
        .unwrap()
        .len();
    let size = size.is_multiple_of(2).then_some(size);
    read_checkpoint_parquet(&location, &path, size)
        .await
        .unwrap()
}

fn log_files(table: &str, contains: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(table_dir(table).join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(contains) && n.ends_with(".parquet") && !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Replays the JSON commits 0..=`version`: adds and removes reconciled in order by path and
/// deletion vector id (a DV update adds and removes the same path in one commit).
fn replay_json(table: &str, version: u64) -> (BTreeMap<String, Add>, Vec<Action>) {
    let mut files = BTreeMap::new();
    let mut others = Vec::new();
    for v in 0..=version {
        let path = table_dir(table).join(format!("_delta_log/{v:020}.json"));
        let bytes = std::fs::read(&path).unwrap();
        for action in parse_commit(&bytes, &path.display().to_string()).unwrap() {
            match action {
                Action::Add(add) => {
                    files.insert(add.file_key(), add);
                }
                Action::Remove(remove) => {
                    files.remove(&remove.file_key());
                }
                other => others.push(other),
            }
        }
    }
    let mut by_path = BTreeMap::new();
    for add in files.into_values() {
        assert!(by_path.insert(add.path.clone(), add).is_none());
    }
    (by_path, others)
}

fn adds(actions: &[Action]) -> BTreeMap<String, Add> {
    let mut out = BTreeMap::new();
    for action in actions {
        if let Action::Add(add) = action {
            assert!(
                out.insert(add.path.clone(), add.clone()).is_none(),
                "duplicate add {}",
                add.path
            );
        }
    }
    out
}

fn count(actions: &[Action], kind: fn(&Action) -> bool) -> usize {
    actions.iter().filter(|a| kind(a)).count()
}

fn is_protocol(a: &Action) -> bool {
    matches!(a, Action::Protocol(_))
}

fn is_metadata(a: &Action) -> bool {
    matches!(a, Action::Metadata(_))
}

fn is_add(a: &Action) -> bool {
    matches!(a, Action::Add(_))
}

/// Parses a stats string, dropping null members (writers differ on writing them).
fn stats_value(stats: &str) -> Value {
    fn strip(v: Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    strip(serde_json::from_str(stats).unwrap_or_else(|e| panic!("bad stats {stats}: {e}")))
}

fn assert_stats_have_num_records(adds: &BTreeMap<String, Add>) {
    for add in adds.values() {
        let stats = add
            .stats
            .as_deref()
            .unwrap_or_else(|| panic!("no stats: {}", add.path));
        let value = stats_value(stats);
        assert!(value["numRecords"].is_i64(), "numRecords missing: {stats}");
    }
}

/// Checks the checkpoint's live files against a replay of the JSON commits.
fn assert_matches_replay(checkpoint: &BTreeMap<String, Add>, replay: &BTreeMap<String, Add>) {
    assert_eq!(
        checkpoint.keys().collect::<Vec<_>>(),
        replay.keys().collect::<Vec<_>>()
    );
    for (path, add) in checkpoint {
        let expected = &replay[path];
        assert_eq!(add.size, expected.size, "{path}");
        assert_eq!(add.partition_values, expected.partition_values, "{path}");
        assert_eq!(add.deletion_vector, expected.deletion_vector, "{path}");
        assert_eq!(add.base_row_id, expected.base_row_id, "{path}");
        assert_eq!(add.stats.is_some(), expected.stats.is_some(), "{path}");
        if let (Some(a), Some(b)) = (&add.stats, &expected.stats) {
            assert_eq!(stats_value(a), stats_value(b), "{path}");
        }
    }
}

// ----- real tables (tests/data) -----------------------------------------------------------

#[tokio::test]
async fn classic_checkpoint_matches_json_replay() {
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
async fn more_classic_checkpoints_match_json_replay() {
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
async fn partitioned_multi_part_checkpoint_with_stats_parsed_only() {
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
async fn deletion_vectors_in_checkpoints_match_json_replay() {
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
async fn multi_part_checkpoint_reads_all_parts() {
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
async fn v2_parquet_checkpoint_and_its_sidecars() {
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
async fn very_old_checkpoint_schema() {
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
async fn txn_in_checkpoint() {
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
async fn stats_parsed_only_checkpoints_match_json_stats() {
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
fn stats_parsed_agrees_with_stats_where_both_exist() {
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
async fn every_corpus_checkpoint_converts() {
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
async fn stream_yields_batches() {
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
async fn missing_file_is_not_found() {
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
async fn not_a_parquet_file_is_a_parquet_error() {
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

fn collect_checkpoints(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
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

fn read_batches(file: &std::path::Path) -> Vec<RecordBatch> {
    let reader = std::fs::File::open(file).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)
        .unwrap()
        .build()
        .unwrap()
        .collect::<std::result::Result<Vec<_>, _>>()
        .unwrap()
}

/// `add` rows with a path, from the footer: rows less the nulls of the `add.path` leaf.
fn footer_add_count(file: &std::path::Path) -> Option<usize> {
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

fn raw_add_count(file: &std::path::Path) -> usize {
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
fn drop_add_child(batch: &RecordBatch, child: &str) -> RecordBatch {
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

// ----- batches built in the test ---------------------------------------------------------

fn struct_array(fields: Vec<(&str, ArrayRef)>, nulls: Option<Vec<bool>>) -> ArrayRef {
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

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Map rows: `None` is a null map, else its entries.
type MapRows<'a> = [Option<&'a [(&'a str, Option<&'a str>)]>];

fn string_map(rows: &MapRows<'_>) -> ArrayRef {
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
fn stats_parsed_struct_becomes_json_stats() {
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
fn stats_string_wins_over_stats_parsed() {
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
fn every_action_kind_in_row_order_with_tolerant_types() {
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
fn partition_values_come_from_parsed_struct_when_the_map_is_absent() {
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
fn partition_values_map_wins_over_parsed_struct() {
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
fn missing_required_field_is_a_clear_error() {
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
fn empty_deletion_vector_struct_is_no_deletion_vector() {
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
fn wrong_types_are_clear_errors() {
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
fn json_strings_are_escaped() {
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
fn million_adds_convert_quickly() {
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
