//! Conflict detection against what a transaction read (Delta's ConcurrentDeleteRead): a
//! concurrent commit that removes a file inside the read set of a transaction makes that
//! transaction fail with a conflict instead of committing a state built on rows that are gone.
//!
//! The concurrent commit is forced deterministically: a store wrapper runs it just before the
//! transaction's own commit put, so the transaction meets it as the winner of its version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{HookedStore, Listing, StoreCall, StoreFuture, StoreHooks, sorted_ids};
use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use tidemark_core::log::actions::{Action, Add};
use tidemark_core::maintenance::restore::restore;
use tidemark_core::testing::{ReadScope, Transaction, load_snapshot, read_commit, remove_for};
use tidemark_core::{Error, Table, TableLocation, VersionSpec, WriteMode};

/// Runs a pending action (another writer's commit) just before the next put-if-absent (the
/// next commit put) of the store, then lets the put go on.
#[derive(Default)]
struct BeforeCommitPut {
    pending: Mutex<Option<BoxFuture<'static, ()>>>,
    fired: AtomicUsize,
}

impl fmt::Debug for BeforeCommitPut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeforeCommitPut")
            .field("fired", &self.fired.load(Ordering::SeqCst))
            .finish()
    }
}

impl StoreHooks for BeforeCommitPut {
    const NAME: &'static str = "BeforeCommitPut";

    fn around<'a, T: Send + 'a>(
        &'a self,
        kind: StoreCall,
        _path: &'a str,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        let pending = if kind == StoreCall::PutCreate {
            self.pending.lock().unwrap().take()
        } else {
            None
        };
        Box::pin(async move {
            if let Some(action) = pending {
                action.await;
                self.fired.fetch_add(1, Ordering::SeqCst);
            }
            call.await
        })
    }

    fn listing(&self, _prefix: &str, listing: Listing) -> Listing {
        listing
    }
}

type Hooked = HookedStore<BeforeCommitPut>;

/// The table `t` through the hooked store, and the same table through the inner store
/// (for the other writer, unaffected by the hook).
fn tables() -> (Arc<Hooked>, TableLocation, TableLocation) {
    let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let store = HookedStore::new(inner.clone(), BeforeCommitPut::default());
    let url = url::Url::parse("memory:///t").unwrap();
    let hooked = TableLocation::from_store(store.clone(), Path::from("t"), url.clone());
    let direct = TableLocation::from_store(inner, Path::from("t"), url);
    (store, hooked, direct)
}

fn batch(ids: Range<i64>, region: &str) -> RecordBatch {
    let n = (ids.end - ids.start) as usize;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(vec![region; n])),
        ],
    )
    .unwrap()
}

/// Writes `batches` to the table (created if missing, partitioned by region when asked).
async fn write(
    location: &TableLocation,
    batches: Vec<RecordBatch>,
    mode: WriteMode,
    replace_where: Option<&str>,
    partitioned: bool,
) -> tidemark_core::Result<Option<u64>> {
    let mut builder = Table::from_location(location.clone())
        .write()
        .with_create_if_missing(true)
        .with_mode(mode);
    if partitioned {
        builder = builder.with_partition_columns(["region"]);
    }
    if let Some(predicate) = replace_where {
        builder = builder.with_replace_where(predicate);
    }
    Ok(builder.execute_batches(batches).await?.version)
}

/// The files a version added.
async fn added_by(location: &TableLocation, version: u64) -> Vec<Add> {
    read_commit(location, version)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|a| match a {
            Action::Add(add) => Some(add),
            _ => None,
        })
        .collect()
}

/// Another writer's commit that only removes `file` (as a replace-where with empty input or
/// a hand-built transaction would), with the partition values of its `remove` dropped when
/// `with_partition_values` is false.
async fn remove_only(location: TableLocation, file: Add, with_partition_values: bool) -> u64 {
    let snapshot = Arc::new(load_snapshot(&location, None).await.unwrap());
    let mut remove = remove_for(&file, chrono::Utc::now().timestamp_millis());
    if !with_partition_values {
        remove.partition_values = None;
    }
    Transaction::new(location, Some(snapshot), "DELETE")
        .with_read_scope(ReadScope::Nothing)
        .with_actions([Action::Remove(remove)])
        .commit()
        .await
        .unwrap()
        .version
}

/// Arms the hook: the next commit put through `store` first commits, through `direct`, a
/// remove-only commit of `file`.
fn before_next_commit(
    store: &Hooked,
    direct: &TableLocation,
    file: Add,
    with_partition_values: bool,
) {
    let direct = direct.clone();
    *store.pending.lock().unwrap() = Some(Box::pin(async move {
        remove_only(direct, file, with_partition_values).await;
    }));
}

async fn ids(location: &TableLocation) -> Vec<i64> {
    sorted_ids(load_snapshot(location, None).await.unwrap()).await
}

fn expect_read_conflict(err: &Error, winning: u64, file: &str) {
    match err {
        Error::CommitConflict {
            winning_version,
            reason,
            ..
        } => {
            assert_eq!(*winning_version, winning, "{err}");
            assert!(reason.contains(file), "the conflict names the file: {err}");
            assert!(
                reason.contains("read"),
                "the conflict says the file was read: {err}"
            );
        }
        other => panic!("expected a commit conflict, got: {other}"),
    }
}

#[tokio::test]
async fn restore_conflicts_with_a_concurrent_remove_of_a_file_it_keeps() {
    let (store, hooked, direct) = tables();
    // v0 adds A, v1 adds B, v2 adds C.
    for (v, ids) in [(0, 0..5), (1, 5..10), (2, 10..15)] {
        let version = write(
            &hooked,
            vec![batch(ids, "EU")],
            WriteMode::Append,
            None,
            false,
        )
        .await
        .unwrap();
        assert_eq!(version, Some(v));
    }
    let b = added_by(&hooked, 1).await.remove(0);
    // Restoring version 1 ({A, B}) removes C. Just before its commit put, another writer
    // commits version 3, which only removes B.
    before_next_commit(&store, &direct, b.clone(), true);
    let err = restore(&hooked, VersionSpec::Version(1), Default::default())
        .await
        .unwrap_err();
    assert_eq!(store.fired.load(Ordering::SeqCst), 1);
    expect_read_conflict(&err, 3, &b.path);
    // No restore commit: the log ends at the other writer's version 3, whose rows are A and C.
    let latest = load_snapshot(&hooked, None).await.unwrap();
    assert_eq!(latest.version(), 3);
    assert!(read_commit(&hooked, 4).await.is_err());
    assert_eq!(ids(&hooked).await, (0..5).chain(10..15).collect::<Vec<_>>());
}

/// A table partitioned by region, v0: one EU file (ids 0..5) and one US file (ids 5..10).
async fn partitioned() -> (Arc<Hooked>, TableLocation, TableLocation, Add, Add) {
    let (store, hooked, direct) = tables();
    write(
        &hooked,
        vec![batch(0..5, "EU"), batch(5..10, "US")],
        WriteMode::Append,
        None,
        true,
    )
    .await
    .unwrap();
    let adds = added_by(&hooked, 0).await;
    let eu = adds
        .iter()
        .find(|a| a.partition_values.get("region") == Some(&Some("EU".into())))
        .unwrap()
        .clone();
    let us = adds
        .iter()
        .find(|a| a.partition_values.get("region") == Some(&Some("US".into())))
        .unwrap()
        .clone();
    (store, hooked, direct, eu, us)
}

#[tokio::test]
async fn replace_where_conflicts_with_a_remove_in_a_matching_partition() {
    let (store, hooked, direct, _eu, us) = partitioned().await;
    before_next_commit(&store, &direct, us.clone(), true);
    let err = write(
        &hooked,
        vec![batch(50..52, "US")],
        WriteMode::Overwrite,
        Some("region = 'US'"),
        true,
    )
    .await
    .unwrap_err();
    expect_read_conflict(&err, 1, &us.path);
    assert_eq!(load_snapshot(&hooked, None).await.unwrap().version(), 1);
    assert_eq!(ids(&hooked).await, (0..5).collect::<Vec<_>>());
}

#[tokio::test]
async fn replace_where_conflicts_with_a_remove_without_partition_values() {
    // A remove that does not record its partition values might be in a replaced partition:
    // it counts as one.
    let (store, hooked, direct, eu, _us) = partitioned().await;
    before_next_commit(&store, &direct, eu.clone(), false);
    let err = write(
        &hooked,
        vec![batch(50..52, "US")],
        WriteMode::Overwrite,
        Some("region = 'US'"),
        true,
    )
    .await
    .unwrap_err();
    expect_read_conflict(&err, 1, &eu.path);
    assert_eq!(load_snapshot(&hooked, None).await.unwrap().version(), 1);
    assert_eq!(ids(&hooked).await, (5..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn replace_where_commits_over_a_remove_in_another_partition() {
    let (store, hooked, direct, eu, _us) = partitioned().await;
    before_next_commit(&store, &direct, eu, true);
    let version = write(
        &hooked,
        vec![batch(50..52, "US")],
        WriteMode::Overwrite,
        Some("region = 'US'"),
        true,
    )
    .await
    .unwrap();
    assert_eq!(store.fired.load(Ordering::SeqCst), 1);
    assert_eq!(version, Some(2));
    assert_eq!(ids(&hooked).await, vec![50, 51]);
}

#[tokio::test]
async fn a_blind_append_never_conflicts_with_removes() {
    let (store, hooked, direct, eu, _us) = partitioned().await;
    before_next_commit(&store, &direct, eu, false);
    let version = write(
        &hooked,
        vec![batch(20..22, "EU")],
        WriteMode::Append,
        None,
        true,
    )
    .await
    .unwrap();
    assert_eq!(store.fired.load(Ordering::SeqCst), 1);
    assert_eq!(version, Some(2));
    assert_eq!(
        ids(&hooked).await,
        (5..10).chain(20..22).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_overwrite_conflicts_with_any_concurrent_remove() {
    let (store, hooked, direct, eu, _us) = partitioned().await;
    // The winner's remove is of a file the overwrite removes too, and that it read.
    before_next_commit(&store, &direct, eu.clone(), true);
    let err = write(
        &hooked,
        vec![batch(50..52, "US")],
        WriteMode::Overwrite,
        None,
        true,
    )
    .await
    .unwrap_err();
    expect_read_conflict(&err, 1, &eu.path);
}

/// A transaction that read exactly the EU file (and commits no file actions, so that only its
/// read set can conflict), committing from the stale snapshot of version 0 after
/// another writer's version 1 removed the EU file (`removed_eu`) or the US file, with
/// `data_change` (false: a compaction). Returns the EU and US files and the outcome.
async fn file_list_read_meets_a_remove(
    removed_eu: bool,
    data_change: bool,
) -> (TableLocation, Add, Add, tidemark_core::Result<u64>) {
    let (_store, hooked, _direct, eu, us) = partitioned().await;
    let stale = Arc::new(load_snapshot(&hooked, None).await.unwrap());
    let gone = if removed_eu { &eu } else { &us };
    let mut remove = remove_for(gone, 1);
    remove.data_change = data_change;
    let winner = Transaction::new(
        hooked.clone(),
        Some(stale.clone()),
        if data_change { "DELETE" } else { "OPTIMIZE" },
    )
    .with_actions([Action::Remove(remove)])
    .commit()
    .await
    .unwrap();
    assert_eq!(winner.version, 1);
    let ours = Transaction::new(hooked.clone(), Some(stale), "DELETE")
        .with_read_files([eu.path.clone()])
        .commit()
        .await
        .map(|o| o.version);
    (hooked, eu, us, ours)
}

#[tokio::test]
async fn a_file_list_read_conflicts_with_a_remove_of_a_read_file() {
    let (location, eu, _us, outcome) = file_list_read_meets_a_remove(true, true).await;
    expect_read_conflict(&outcome.unwrap_err(), 1, &eu.path);
    assert_eq!(load_snapshot(&location, None).await.unwrap().version(), 1);
}

#[tokio::test]
async fn a_file_list_read_conflicts_with_a_compaction_of_a_read_file() {
    let (location, eu, _us, outcome) = file_list_read_meets_a_remove(true, false).await;
    let err = outcome.unwrap_err();
    expect_read_conflict(&err, 1, &eu.path);
    assert!(err.to_string().contains("without data change"), "{err}");
    assert_eq!(load_snapshot(&location, None).await.unwrap().version(), 1);
}

#[tokio::test]
async fn a_file_list_read_commits_over_a_remove_of_another_file() {
    let (location, _eu, _us, outcome) = file_list_read_meets_a_remove(false, true).await;
    assert_eq!(outcome.unwrap(), 2);
    assert_eq!(load_snapshot(&location, None).await.unwrap().version(), 2);
}

#[tokio::test]
async fn a_file_list_read_set_is_recorded_and_merged() {
    let (_store, hooked, _direct, eu, us) = partitioned().await;
    let stale = Arc::new(load_snapshot(&hooked, None).await.unwrap());
    let txn = Transaction::new(hooked, Some(stale), "DELETE")
        .with_read_scope(ReadScope::Nothing)
        .with_read_files([eu.path.clone()])
        .with_read_scope(ReadScope::files([us.path.clone()]));
    match txn.read_set() {
        [ReadScope::Files(paths)] => {
            let expected: HashSet<String> = [eu.path, us.path].into_iter().collect();
            assert_eq!(paths, &expected);
        }
        other => panic!("one merged file list expected, got {other:?}"),
    }
}
