//! Unit tests of checkpoint reading: shared helpers here, the tests by kind of input below.

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

mod built_batches;
mod real_tables;
