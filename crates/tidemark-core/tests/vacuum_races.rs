//! Vacuum against operations that run while it works, forced at exact points.
//!
//! A store wrapper runs another operation (a restore, a tag, a pin) to completion at a chosen
//! call of vacuum, after vacuum has listed the table and read the log, and before it deletes
//! anything. Vacuum runs with zero retention, so that every file no version reads at its start
//! is a candidate. Afterwards, the version the other operation made or named must read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{HookedStore, Interleave, InterleavedAction, StoreCall, sorted_ids, write_batch};
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use tidemark_core::extensions::pin::{PinOptions, create_pin};
use tidemark_core::extensions::tag::{TagOptions, create_tag, read_tag};
use tidemark_core::maintenance::restore::restore;
use tidemark_core::maintenance::vacuum::{VacuumOptions, vacuum};
use tidemark_core::testing::load_snapshot;
use tidemark_core::{SchemaMode, TableLocation, VersionSpec, WriteMode};

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
    kind: StoreCall,
    suffix: &str,
    nth: usize,
    action: InterleavedAction,
) -> (TableLocation, Arc<HookedStore<Interleave>>) {
    let store = HookedStore::new(inner, Interleave::new(kind, suffix, nth, action));
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
        StoreCall::List,
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
    // Restore committed version 2; vacuum's start (3) and end (4) came after it.
    let latest = load_snapshot(&plain, None).await.unwrap();
    assert_eq!(latest.version(), 4);
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
        StoreCall::List,
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
async fn a_pin_made_before_vacuum_announces_its_plan_keeps_its_version() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    let pinner = plain.clone();
    // The pin lands after vacuum loaded the tags and pins, just before it writes its plan:
    // the pin's own check sees no plan, and vacuum's re-read before deleting sees the pin.
    let (hooked_location, store) = hooked(
        inner.clone(),
        StoreCall::PutCreate,
        "_tidemark/vacuum/",
        1,
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

#[tokio::test]
async fn an_append_whose_file_a_zero_retention_vacuum_deleted_conflicts_instead_of_committing() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    // The append's data file is written; before its commit is put, a whole vacuum at zero
    // retention runs, sees the file as an orphan and deletes it.
    let vacuumer = plain.clone();
    let (hooked_location, store) = hooked(
        inner.clone(),
        StoreCall::PutCreate,
        "_delta_log/",
        1,
        Box::new(move || {
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                let report = vacuum(&vacuumer, zero_retention()).await.unwrap();
                assert!(!report.files.is_empty());
            })
        }),
    );
    let err = write_batch(
        &hooked_location,
        batch(500..510),
        WriteMode::Append,
        SchemaMode::Strict,
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(store.ran.load(Ordering::SeqCst), 1, "the vacuum ran");
    assert!(err.contains("vacuum"), "{err}");
    // Vacuum made versions 2 and 3; the append committed nothing and the table reads.
    let latest = load_snapshot(&plain, None).await.unwrap();
    assert_eq!(latest.version(), 3);
    assert_eq!(sorted_ids(latest).await, (100..105).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_restore_planned_before_a_vacuum_started_conflicts_with_its_plan() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let go_on = Arc::new(tokio::sync::Notify::new());
    // The vacuum pauses after its start is committed, before it deletes (the third listing of
    // the tags is the re-read before the first batch).
    let (vacuum_location, _) = {
        let started = started.clone();
        let go_on = go_on.clone();
        hooked(
            inner.clone(),
            StoreCall::List,
            "_tidemark/tags",
            3,
            Box::new(move || {
                Box::pin(async move {
                    started.notify_one();
                    go_on.notified().await;
                })
            }),
        )
    };
    // The restore has planned (version 0's file exists, no plan is listed) and waits to put
    // its commit until the vacuum has started.
    let (restore_location, _) = {
        let started = started.clone();
        hooked(
            inner.clone(),
            StoreCall::PutCreate,
            "_delta_log/",
            1,
            Box::new(move || {
                Box::pin(async move {
                    started.notified().await;
                })
            }),
        )
    };
    let restoring = tokio::spawn(async move {
        restore(
            &restore_location,
            VersionSpec::Version(0),
            Default::default(),
        )
        .await
    });
    // Let the restore plan first.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let vacuuming = tokio::spawn(async move { vacuum(&vacuum_location, zero_retention()).await });
    let err = restoring.await.unwrap().unwrap_err().to_string();
    assert!(
        err.contains("vacuum") && err.contains("deletes the file"),
        "{err}"
    );
    go_on.notify_one();
    let report = vacuuming.await.unwrap().unwrap();
    assert!(!report.files.is_empty());
    // Start (2) and end (3) of the vacuum; no restore; the latest version reads.
    let latest = load_snapshot(&plain, None).await.unwrap();
    assert_eq!(latest.version(), 3);
    assert_eq!(sorted_ids(latest).await, (100..105).collect::<Vec<_>>());
    // A restore planned now sees version 0's file gone.
    let err = restore(&plain, VersionSpec::Version(0), Default::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("deleted"), "{err}");
}

#[tokio::test]
async fn a_restore_planned_while_a_vacuum_is_deleting_refuses_the_planned_files() {
    let inner = Arc::new(InMemory::new());
    let plain = location_on(inner.clone());
    two_versions(&plain).await;
    let restorer = plain.clone();
    let refusal = Arc::new(Mutex::new(String::new()));
    let seen = refusal.clone();
    // The third listing of the tags is vacuum's re-read before its first batch: its start is
    // committed and its plan pending, nothing is deleted yet. Version 0's file still exists.
    let (hooked_location, _) = hooked(
        inner.clone(),
        StoreCall::List,
        "_tidemark/tags",
        3,
        Box::new(move || {
            Box::pin(async move {
                let err = restore(&restorer, VersionSpec::Version(0), Default::default())
                    .await
                    .unwrap_err();
                *seen.lock().unwrap() = err.to_string();
            })
        }),
    );
    vacuum(&hooked_location, zero_retention()).await.unwrap();
    let message = refusal.lock().unwrap().clone();
    assert!(
        message.contains("being deleted by vacuum") && message.contains("in progress"),
        "{message}"
    );
    // Start (2) and end (3) of the vacuum, no restore; the latest version reads.
    let latest = load_snapshot(&plain, None).await.unwrap();
    assert_eq!(latest.version(), 3);
    assert_eq!(sorted_ids(latest).await, (100..105).collect::<Vec<_>>());
}
