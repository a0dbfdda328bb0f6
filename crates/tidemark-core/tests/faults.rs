//! Object-store faults: a wrapper store that fails or delays chosen calls, under the library's
//! retries and its resolution of ambiguous commits.
//!
//! - transient errors of reads (log listings, commit files, data files) and of data-file puts
//!   are retried with backoff, up to a limit, then reported;
//! - a commit put that fails after landing (a timeout) is resolved by reading the version back
//!   and comparing `commitInfo.txnId`: the commit counts once and is never written twice;
//! - a commit put that fails before landing is tried again; one that keeps failing is reported
//!   as an unknown outcome (a timed-out put may still land later), and the write retried under
//!   the same application transaction id commits once;
//! - an ambiguous put whose version cannot be read back is an unknown outcome; if it had landed,
//!   the write retried under the same application transaction id is skipped, never doubled;
//! - a put the store refuses outright is "nothing was committed", unless an earlier put of the
//!   transaction failed ambiguously;
//! - an ambiguous put while another writer wins the version moves on to the next version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{
    HookedStore, Listing, StoreCall as Op, StoreFuture, StoreHooks, sorted_ids, write_batch,
};
use futures::StreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tidemark_core::storage::RetryPolicy;
use tidemark_core::testing::commit_txn_id;

use tidemark_core::testing::load_snapshot;
use tidemark_core::{Error, TableLocation};
use tidemark_core::{SchemaMode, WriteMode};

/// What a fault does.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Fail without calling the store.
    FailBefore,
    /// Call the store, then fail anyway: the write landed but the caller cannot know.
    FailAfter,
    /// Wait, then call the store.
    Delay(Duration),
    /// Wait until the test opens the store's gate (so that another writer can act), then fail
    /// without calling the store.
    BlockThenFail,
    /// Refuse without calling the store, with a final (not transient) error.
    Refuse,
}

#[derive(Debug)]
struct Rule {
    op: Op,
    path_contains: String,
    fault: Fault,
    remaining: usize,
}

/// Faults injected into chosen calls of a store, and counted.
#[derive(Debug)]
struct Faults {
    rules: Mutex<Vec<Rule>>,
    injected: AtomicUsize,
    create_puts: Mutex<Vec<String>>,
    gate: tokio::sync::Semaphore,
}

/// A store that injects faults into chosen calls of an inner store, and counts them.
type FaultyStore = HookedStore<Faults>;

fn transient(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "faulty",
        source: format!("injected fault: {what} timed out").into(),
    }
}

impl Faults {
    fn store(inner: Arc<dyn ObjectStore>) -> Arc<FaultyStore> {
        HookedStore::new(
            inner,
            Self {
                rules: Mutex::new(Vec::new()),
                injected: AtomicUsize::new(0),
                create_puts: Mutex::new(Vec::new()),
                gate: tokio::sync::Semaphore::new(0),
            },
        )
    }

    /// Applies `fault` to the next `times` calls of `op` on paths containing `path_contains`.
    fn inject(&self, op: Op, path_contains: &str, fault: Fault, times: usize) {
        self.rules.lock().unwrap().push(Rule {
            op,
            path_contains: path_contains.to_string(),
            fault,
            remaining: times,
        });
    }

    fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    fn fault_for(&self, op: Op, path: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        let rule = rules
            .iter_mut()
            .find(|r| r.op == op && r.remaining > 0 && path.contains(&r.path_contains))?;
        rule.remaining -= 1;
        self.injected.fetch_add(1, Ordering::SeqCst);
        Some(rule.fault)
    }
}

impl StoreHooks for Faults {
    const NAME: &'static str = "Faulty";

    /// Runs `call` under the fault chosen for `(op, path)`.
    fn around<'a, T: Send + 'a>(
        &'a self,
        op: Op,
        path: &'a str,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        if op == Op::PutCreate {
            self.create_puts.lock().unwrap().push(path.to_string());
        }
        Box::pin(async move {
            match self.fault_for(op, path) {
                None => call.await,
                Some(Fault::FailBefore) => Err(transient(path)),
                Some(Fault::FailAfter) => {
                    call.await?;
                    Err(transient(path))
                }
                Some(Fault::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    call.await
                }
                Some(Fault::BlockThenFail) => {
                    let _permit = self.gate.acquire().await;
                    Err(transient(path))
                }
                Some(Fault::Refuse) => Err(object_store::Error::PermissionDenied {
                    path: path.to_string(),
                    source: "injected fault: access denied".into(),
                }),
            }
        })
    }

    fn listing(&self, path: &str, listing: Listing) -> Listing {
        match self.fault_for(Op::List, path) {
            Some(_) => futures::stream::iter([Err(transient(path))]).boxed(),
            None => listing,
        }
    }
}

/// Short delays so that exhausting the retries takes milliseconds.
fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    }
}

fn table(store: &Arc<FaultyStore>) -> TableLocation {
    TableLocation::from_store(
        store.clone(),
        Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    )
    .with_retry_policy(fast_policy())
}

fn batch(ids: Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(ids))]).unwrap()
}

async fn append(location: &TableLocation, ids: Range<i64>) -> tidemark_core::Result<u64> {
    write_batch(location, batch(ids), WriteMode::Append, SchemaMode::Strict).await
}

/// Appends `ids` as version `app_version` of the application `app`: an idempotent write
/// (`None` when it was skipped, the application's version being committed already).
async fn append_as(
    location: &TableLocation,
    ids: Range<i64>,
    app: &str,
    app_version: i64,
) -> tidemark_core::Result<Option<u64>> {
    let outcome = tidemark_core::Table::from_location(location.clone())
        .write()
        .with_app_transaction(app, app_version)
        .execute_batches(vec![batch(ids)])
        .await?;
    Ok(outcome.version)
}

/// Checks that `err` is an unknown outcome of version `version` that says how to find out.
fn expect_unknown(err: &Error, version: u64) {
    let text = err.to_string();
    match err {
        Error::CommitOutcomeUnknown {
            version: v, txn_id, ..
        } => {
            assert_eq!(*v, version, "{text}");
            assert!(text.contains(txn_id.as_str()), "{text}");
        }
        other => panic!("expected an unknown outcome, got: {other}"),
    }
    assert!(text.contains("unknown") && text.contains("txnId"), "{text}");
    assert!(
        text.contains("same application transaction id"),
        "says how to retry safely: {text}"
    );
    assert!(!text.contains("nothing was committed"), "{text}");
}

/// The sorted ids of the latest version.
async fn ids(location: &TableLocation) -> Vec<i64> {
    sorted_ids(load_snapshot(location, None).await.unwrap()).await
}

/// A table at version 1 holding ids 0..10 (two commits), with no faults pending.
async fn two_versions() -> (Arc<FaultyStore>, TableLocation) {
    let store = Faults::store(Arc::new(InMemory::new()));
    let location = table(&store);
    assert_eq!(append(&location, 0..5).await.unwrap(), 0);
    assert_eq!(append(&location, 5..10).await.unwrap(), 1);
    (store, location)
}

async fn commit_versions(store: &FaultyStore) -> Vec<String> {
    let mut names: Vec<String> = store
        .inner
        .list(Some(&Path::from("t/_delta_log")))
        .map(|m| m.unwrap().location.filename().unwrap().to_string())
        .filter(|n| futures::future::ready(n.ends_with(".json")))
        .collect()
        .await;
    names.sort();
    names
}

#[tokio::test]
async fn transient_read_errors_are_retried() {
    let (store, location) = two_versions().await;
    // Listing, commit files and data files each fail a few times (fewer than the limit).
    store.inject(Op::List, "_delta_log", Fault::FailBefore, 2);
    store.inject(Op::Get, "00000000000000000001.json", Fault::FailBefore, 3);
    store.inject(Op::Get, ".parquet", Fault::FailBefore, 3);
    store.inject(Op::GetRanges, ".parquet", Fault::FailBefore, 2);
    store.inject(Op::Get, ".json", Fault::Delay(Duration::from_millis(30)), 2);
    let snapshot = load_snapshot(&location, None).await.unwrap();
    assert_eq!(snapshot.version(), 1);
    assert_eq!(ids(&location).await, (0..10).collect::<Vec<_>>());
    assert!(store.injected() >= 2 + 3 + 3, "{}", store.injected());
}

#[tokio::test]
async fn persistent_read_errors_are_reported_after_the_limit() {
    let (store, location) = two_versions().await;
    store.inject(Op::Get, "00000000000000000001.json", Fault::FailBefore, 100);
    let err = load_snapshot(&location, None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("00000000000000000001.json") && text.contains("injected fault"),
        "{text}"
    );
    assert_eq!(store.injected(), 4, "tried max_attempts times, no more");
    store.clear();
    assert_eq!(load_snapshot(&location, None).await.unwrap().version(), 1);
}

#[tokio::test]
async fn data_file_put_errors_are_retried() {
    let (store, location) = two_versions().await;
    store.inject(Op::Put, ".parquet", Fault::FailBefore, 2);
    assert_eq!(append(&location, 10..15).await.unwrap(), 2);
    assert_eq!(store.injected(), 2);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
}

#[tokio::test]
async fn ambiguous_commit_that_landed_counts_once() {
    let (store, location) = two_versions().await;
    store.create_puts.lock().unwrap().clear();
    // The put of version 2 lands, but the writer is told it timed out.
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::FailAfter,
        1,
    );
    assert_eq!(append(&location, 10..15).await.unwrap(), 2);
    assert_eq!(store.injected(), 1);
    // Resolved by reading version 2 back: one put, never a second one, no version 3.
    assert_eq!(
        *store.create_puts.lock().unwrap(),
        vec!["t/_delta_log/00000000000000000002.json".to_string()]
    );
    assert_eq!(commit_versions(&store).await.len(), 3);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
    let actions = tidemark_core::testing::read_commit(&location, 2)
        .await
        .unwrap();
    assert!(commit_txn_id(&actions).is_some());
}

#[tokio::test]
async fn commit_put_that_did_not_land_is_tried_again() {
    let (store, location) = two_versions().await;
    store.create_puts.lock().unwrap().clear();
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::FailBefore,
        2,
    );
    assert_eq!(append(&location, 10..15).await.unwrap(), 2);
    assert_eq!(store.injected(), 2);
    assert_eq!(store.create_puts.lock().unwrap().len(), 3);
    assert_eq!(commit_versions(&store).await.len(), 3);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_commit_put_that_keeps_failing_is_an_unknown_outcome() {
    let (store, location) = two_versions().await;
    store.inject(Op::PutCreate, "_delta_log", Fault::FailBefore, 100);
    // The puts timed out: for all the writer knows, one may still land later.
    let err = append_as(&location, 10..15, "loader", 1).await.unwrap_err();
    expect_unknown(&err, 2);
    assert_eq!(store.injected(), 4, "tried max_attempts times, no more");
    store.clear();
    // None landed here.
    assert_eq!(commit_versions(&store).await.len(), 2);
    assert_eq!(load_snapshot(&location, None).await.unwrap().version(), 1);
    assert_eq!(ids(&location).await, (0..10).collect::<Vec<_>>());
    // The write retried with the same application id and version commits, once.
    assert_eq!(
        append_as(&location, 10..15, "loader", 1).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        append_as(&location, 10..15, "loader", 1).await.unwrap(),
        None
    );
    assert_eq!(commit_versions(&store).await.len(), 3);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_unknown_outcome_that_landed_is_not_committed_twice_by_the_retry() {
    let (store, location) = two_versions().await;
    // The put of version 2 lands but reports a timeout, and version 2 cannot be read back.
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::FailAfter,
        1,
    );
    store.inject(Op::Get, "00000000000000000002.json", Fault::FailBefore, 100);
    let err = append_as(&location, 10..15, "loader", 7).await.unwrap_err();
    expect_unknown(&err, 2);
    store.clear();
    // The caller retries the same write under the same application id and version: it finds
    // the first attempt's txn and commits nothing.
    assert_eq!(
        append_as(&location, 10..15, "loader", 7).await.unwrap(),
        None
    );
    assert_eq!(commit_versions(&store).await.len(), 3);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
    let snapshot = load_snapshot(&location, None).await.unwrap();
    assert_eq!(snapshot.txn("loader").unwrap().version, 7);
}

#[tokio::test]
async fn a_retry_that_meets_the_late_landing_of_the_first_attempt_commits_nothing() {
    let (store, location) = two_versions().await;
    // The first attempt's puts of version 2 time out: unknown outcome.
    store.inject(Op::PutCreate, "_delta_log", Fault::FailBefore, 4);
    let err = append_as(&location, 10..15, "loader", 1).await.unwrap_err();
    expect_unknown(&err, 2);
    // The retry (same application id and version) plans on version 1; its put of version 2
    // hangs while the first attempt lands late (played by the same write on the inner store),
    // then fails without landing.
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::BlockThenFail,
        1,
    );
    let before = store.injected();
    let retry = {
        let location = location.clone();
        tokio::spawn(async move { append_as(&location, 10..15, "loader", 1).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.injected() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the retry never reached its commit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let late = TableLocation::from_store(
        store.inner.clone(),
        Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    );
    assert_eq!(
        append_as(&late, 10..15, "loader", 1).await.unwrap(),
        Some(2)
    );
    store.gate.add_permits(1);
    // The retry reads version 2 back, finds the same application's txn: a conflict, nothing
    // committed; a further retry is skipped.
    let err = retry.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::CommitConflict {
                winning_version: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("loader"), "{err}");
    assert_eq!(
        append_as(&location, 10..15, "loader", 1).await.unwrap(),
        None
    );
    assert_eq!(commit_versions(&store).await.len(), 3);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_refused_commit_put_is_reported_and_leaves_nothing_visible() {
    let (store, location) = two_versions().await;
    store.inject(Op::PutCreate, "_delta_log", Fault::Refuse, 1);
    let err = append(&location, 10..15).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::CommitFailed {
                version: 2,
                attempts: 1,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("nothing was committed"), "{text}");
    assert_eq!(store.injected(), 1);
    assert_eq!(commit_versions(&store).await.len(), 2);
    assert_eq!(ids(&location).await, (0..10).collect::<Vec<_>>());
    // The same write succeeds once the store accepts it.
    assert_eq!(append(&location, 10..15).await.unwrap(), 2);
}

#[tokio::test]
async fn a_refusal_after_an_ambiguous_put_is_an_unknown_outcome() {
    let (store, location) = two_versions().await;
    // The first put of version 2 times out (it may land later); the second is refused.
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::FailBefore,
        1,
    );
    store.inject(Op::PutCreate, "00000000000000000002.json", Fault::Refuse, 1);
    let err = append(&location, 10..15).await.unwrap_err();
    expect_unknown(&err, 2);
    assert!(err.to_string().contains("access denied"), "{err}");
    assert_eq!(store.injected(), 2);
}

#[tokio::test]
async fn ambiguous_commit_lost_to_another_writer_moves_on() {
    let (store, location) = two_versions().await;
    // Writer A's put of version 2 hangs, then fails without landing; meanwhile writer B
    // commits version 2. A reads version 2 back, sees B's txnId, and commits version 3.
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::BlockThenFail,
        1,
    );
    let a = {
        let location = location.clone();
        tokio::spawn(async move { append(&location, 10..15).await })
    };
    // Wait until A is stuck in its put of version 2.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.injected() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "A never reached its commit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // B writes through the inner store directly, unaffected by the fault.
    let b_location = TableLocation::from_store(
        store.inner.clone(),
        Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    );
    assert_eq!(append(&b_location, 15..20).await.unwrap(), 2);
    store.gate.add_permits(1);
    assert_eq!(a.await.unwrap().unwrap(), 3);
    assert_eq!(commit_versions(&store).await.len(), 4);
    assert_eq!(ids(&location).await, (0..20).collect::<Vec<_>>());
    let a_txn = tidemark_core::testing::read_commit(&location, 3)
        .await
        .unwrap();
    let b_txn = tidemark_core::testing::read_commit(&location, 2)
        .await
        .unwrap();
    assert_ne!(commit_txn_id(&a_txn), commit_txn_id(&b_txn));
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let (store, location) = two_versions().await;
    let location = location.with_retry_policy(RetryPolicy::none());
    store.inject(Op::Get, "00000000000000000001.json", Fault::FailBefore, 1);
    assert!(load_snapshot(&location, None).await.is_err());
    assert_eq!(store.injected(), 1);
    assert!(
        store
            .inner
            .head(&Path::from("t/_delta_log/00000000000000000001.json"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_ambiguous_commit_that_cannot_be_read_back_is_reported_as_unknown() {
    let (store, location) = two_versions().await;
    // The put of version 2 lands but reports a timeout, and version 2 cannot be read back.
    store.inject(
        Op::PutCreate,
        "00000000000000000002.json",
        Fault::FailAfter,
        1,
    );
    store.inject(Op::Get, "00000000000000000002.json", Fault::FailBefore, 100);
    let err = append(&location, 10..15).await.unwrap_err();
    expect_unknown(&err, 2);
    // Once the store is back, the log shows the commit did land: exactly once.
    store.clear();
    assert_eq!(commit_versions(&store).await.len(), 3);
    assert_eq!(ids(&location).await, (0..15).collect::<Vec<_>>());
}
