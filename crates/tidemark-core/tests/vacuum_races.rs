//! Vacuum against operations that run while it works, forced at exact points.
//!
//! A store wrapper runs another operation (a restore, a tag, a pin) to completion at a chosen
//! call of vacuum, after vacuum has listed the table and read the log, and before it deletes
//! anything. Vacuum runs with zero retention, so that every file no version reads at its start
//! is a candidate. Afterwards, the version the other operation made or named must read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{HookedStore, Listing, StoreCall, StoreFuture, StoreHooks, sorted_ids, write_batch};
use futures::StreamExt;
use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use tidemark_core::extensions::pin::{PinOptions, create_pin};
use tidemark_core::extensions::tag::{TagOptions, create_tag, read_tag};
use tidemark_core::maintenance::restore::restore;
use tidemark_core::maintenance::vacuum::{VacuumOptions, vacuum};
use tidemark_core::testing::load_snapshot;
use tidemark_core::{SchemaMode, TableLocation, VersionSpec, WriteMode};

type Action = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// Runs `action` before the `nth` listing (1-based) whose prefix ends with `suffix` yields.
struct Interleave {
    suffix: String,
    nth: usize,
    seen: AtomicUsize,
    action: Mutex<Option<Action>>,
    ran: AtomicUsize,
}

impl std::fmt::Debug for Interleave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interleave({} #{})", self.suffix, self.nth)
    }
}

impl StoreHooks for Interleave {
    const NAME: &'static str = "Interleave";

    fn around<'a, T: Send + 'a>(
        &'a self,
        _kind: StoreCall,
        _path: &'a str,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        call
    }

    fn listing(&self, prefix: &str, listing: Listing) -> Listing {
        if !prefix.ends_with(&self.suffix) {
            return listing;
        }
        let count = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if count != self.nth {
            return listing;
        }
        let Some(action) = self.action.lock().unwrap().take() else {
            return listing;
        };
        self.ran.fetch_add(1, Ordering::SeqCst);
        futures::stream::once(async move {
            action().await;
            listing
        })
        .flatten()
        .boxed()
    }
}

fn batch(ids: Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(ids))]).unwrap()
}

fn location_on(store: Arc<dyn ObjectStore>) -> TableLocation {
    TableLocation::from_store(
        store,
        Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    )
}

fn zero_retention() -> VacuumOptions {
    VacuumOptions {
        retention_ms: Some(0),
        dry_run: false,
        allow_short_retention: true,
    }
}

/// A table whose version 0 holds ids 0..10 and version 1 (an overwrite) ids 100..105, so that
/// vacuum at zero retention deletes version 0's file.
async fn two_versions(plain: &TableLocation) {
    let mode = SchemaMode::Strict;
    write_batch(plain, batch(0..10), WriteMode::Append, mode)
        .await
        .unwrap();
    write_batch(plain, batch(100..105), WriteMode::Overwrite, mode)
        .await
        .unwrap();
    // Make every file older than "now" at zero retention.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
}

/// A hooked location over `inner` that runs `action` at the `nth` listing ending in `suffix`.
fn hooked(
    inner: Arc<InMemory>,
    suffix: &str,
    nth: usize,
    action: Action,
) -> (TableLocation, Arc<HookedStore<Interleave>>) {
    let store = HookedStore::new(
        inner,
        Interleave {
            suffix: suffix.to_string(),
            nth,
            seen: AtomicUsize::new(0),
            action: Mutex::new(Some(action)),
            ran: AtomicUsize::new(0),
        },
    );
    (location_on(store.clone()), store)
}

/// The second listing of the pins happens inside the protection vacuum loads after reading the
/// log, before any delete: the interleaved operation lands after vacuum planned.
const PINS: &str = "_tidemark/pins";

#[tokio::test]
async fn a_restore_that_commits_while_vacuum_plans_keeps_its_files() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    let restorer = plain.clone();
    let (hooked_location, store) = hooked(
        inner.clone(),
        PINS,
        2,
        Box::new(move || {
            Box::pin(async move {
                let outcome = restore(&restorer, VersionSpec::Version(0), Default::default())
                    .await
                    .unwrap();
                assert_eq!(outcome.version, 2);
            })
        }),
    );
    let report = vacuum(&hooked_location, zero_retention()).await.unwrap();
    assert_eq!(store.ran.load(Ordering::SeqCst), 1, "the restore ran");
    // Version 1's file is no longer read by the latest version, but version 1 is inside the
    // zero window only as the previous version: the restored file must survive.
    let latest = load_snapshot(&plain, None).await.unwrap();
    assert_eq!(latest.version(), 2);
    assert_eq!(
        sorted_ids(latest).await,
        (0..10).collect::<Vec<_>>(),
        "vacuum deleted a file the restore re-added: {:?}",
        report.files
    );
}

#[tokio::test]
async fn a_tag_made_while_vacuum_loads_the_protection_keeps_its_version() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    // Vacuum has read the references (tags #1) and the protection has listed the tags (#2);
    // the tag lands before the protection lists the pins.
    let tagger = plain.clone();
    let (hooked_location, store) = hooked(
        inner.clone(),
        PINS,
        2,
        Box::new(move || {
            Box::pin(async move {
                create_tag(
                    &tagger,
                    "keep",
                    VersionSpec::Version(0),
                    TagOptions::default(),
                )
                .await
                .unwrap();
            })
        }),
    );
    vacuum(&hooked_location, zero_retention()).await.unwrap();
    assert_eq!(store.ran.load(Ordering::SeqCst), 1, "the tag was made");
    assert_eq!(read_tag(&plain, "keep").await.unwrap().version, 0);
    let tagged = load_snapshot(&plain, Some(0)).await.unwrap();
    assert_eq!(sorted_ids(tagged).await, (0..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_pin_made_while_vacuum_loads_the_protection_keeps_its_version() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    let pinner = plain.clone();
    // Tags are listed by vacuum's read of the references (#1), by the protection (#2), and by
    // the re-read before the first batch of deletes (#3): the pin lands after the protection
    // was loaded, just before that re-read.
    let (hooked_location, store) = hooked(
        inner.clone(),
        "_tidemark/tags",
        3,
        Box::new(move || {
            Box::pin(async move {
                let options = PinOptions {
                    owner: "training-run-7".into(),
                    ..Default::default()
                };
                create_pin(&pinner, VersionSpec::Version(0), options)
                    .await
                    .unwrap();
            })
        }),
    );
    vacuum(&hooked_location, zero_retention()).await.unwrap();
    assert_eq!(store.ran.load(Ordering::SeqCst), 1, "the pin was made");
    let pinned = load_snapshot(&plain, Some(0)).await.unwrap();
    assert_eq!(sorted_ids(pinned).await, (0..10).collect::<Vec<_>>());
    // Without any reference, the same vacuum deletes version 0's file: the test can fail.
    let control = Arc::new(InMemory::new());
    let control_location = location_on(control.clone());
    two_versions(&control_location).await;
    vacuum(&control_location, zero_retention()).await.unwrap();
    let files: Vec<_> = control
        .list(Some(&Path::from("t")))
        .map(|m| m.unwrap().location.to_string())
        .filter(|p| futures::future::ready(p.ends_with(".parquet")))
        .collect()
        .await;
    assert_eq!(files.len(), 1, "only the latest file is left: {files:?}");
}
