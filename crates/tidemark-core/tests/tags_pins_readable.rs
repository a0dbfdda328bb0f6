//! Tags and pins are only made on versions that can still be read: a version whose data files
//! or deletion-vector files vacuum (or a person) has deleted is refused, naming the first missing
//! file and how many are missing, and no tag or pin is left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{HookedStore, Interleave, StoreCall, location, write_batch};
use object_store::memory::InMemory;
use tidemark_core::TableLocation;
use tidemark_core::extensions::pin::{PinOptions, create_pin, list_pins};
use tidemark_core::extensions::tag::{TagOptions, create_tag, list_tags, read_tag};
use tidemark_core::maintenance::vacuum::{VacuumOptions, vacuum};
use tidemark_core::testing::load_snapshot;
use tidemark_core::{Error, SchemaMode, VersionSpec, WriteMode};

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from_iter_values(ids))],
    )
    .unwrap()
}

async fn write(dir: &Path, ids: std::ops::Range<i64>, mode: WriteMode) -> u64 {
    write_batch(&location(dir), batch(ids), mode, SchemaMode::Strict)
        .await
        .unwrap()
}

fn pin_options() -> PinOptions {
    PinOptions {
        owner: "run-42".into(),
        reason: "training".into(),
        expires_time_ms: None,
    }
}

/// A table with versions 0 and 1 (appends, one file each) and 2 (an overwrite), vacuumed with a
/// zero retention window: the files of versions 0 and 1 are gone, version 2 and the latest
/// (vacuum may commit versions of its own) are intact.
async fn vacuumed_table(dir: &Path) -> Vec<String> {
    write(dir, 0..3, WriteMode::Append).await;
    write(dir, 3..6, WriteMode::Append).await;
    assert_eq!(write(dir, 100..101, WriteMode::Overwrite).await, 2);
    let report = vacuum(
        &location(dir),
        VacuumOptions {
            retention_ms: Some(0),
            dry_run: false,
            allow_short_retention: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.files.len(), 2, "{report:?}");
    let mut deleted = report.files;
    deleted.sort();
    deleted
}

/// Asserts that `err` refuses `version` for missing files, naming `first` and `count`.
fn assert_unreadable(err: &Error, version: u64, first: &str, count: usize) {
    let message = err.to_string();
    assert!(
        matches!(err, Error::VersionNotFound { requested, .. } if *requested == version),
        "{message}"
    );
    assert!(message.contains(first), "{message} should name {first}");
    assert!(
        message.contains(&format!("{count} of")),
        "{message} should count {count} missing files"
    );
    assert!(message.contains("newer version"), "{message}");
    assert!(message.contains("backup"), "{message}");
}

#[tokio::test]
async fn a_tag_on_a_vacuumed_version_is_refused_and_not_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let deleted = vacuumed_table(&table).await;
    let location = location(&table);

    // Version 0 read one file, now deleted.
    let version_0_file = common::commit_actions(&table, 0)
        .iter()
        .find_map(|a| a["add"]["path"].as_str().map(str::to_string))
        .unwrap();
    assert!(deleted.contains(&version_0_file));
    let err = create_tag(
        &location,
        "v0",
        VersionSpec::Version(0),
        TagOptions::default(),
    )
    .await
    .unwrap_err();
    assert_unreadable(&err, 0, &version_0_file, 1);
    assert!(matches!(
        read_tag(&location, "v0").await,
        Err(Error::TagNotFound { .. })
    ));

    // Version 1 read both deleted files.
    let err = create_tag(
        &location,
        "v1",
        VersionSpec::Version(1),
        TagOptions::default(),
    )
    .await
    .unwrap_err();
    assert_unreadable(&err, 1, &deleted[0], 2);
    assert!(list_tags(&location).await.unwrap().is_empty());

    // The latest version is intact and can be tagged, also under a refused name.
    let tag = create_tag(&location, "v0", VersionSpec::Latest, TagOptions::default())
        .await
        .unwrap();
    let latest = common::snapshot_at(&table, None).await.version();
    assert!(latest >= 2);
    assert_eq!(tag.version, latest);
    assert_eq!(read_tag(&location, "v0").await.unwrap().version, latest);
    assert_eq!(list_tags(&location).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_pin_on_a_vacuumed_version_is_refused_and_not_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let deleted = vacuumed_table(&table).await;
    let location = location(&table);

    let err = create_pin(&location, VersionSpec::Version(1), pin_options())
        .await
        .unwrap_err();
    assert_unreadable(&err, 1, &deleted[0], 2);
    let err = create_pin(&location, VersionSpec::Version(0), pin_options())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::VersionNotFound { requested: 0, .. }),
        "{err}"
    );
    assert!(list_pins(&location).await.unwrap().is_empty());
    assert!(
        std::fs::read_dir(table.join("_tidemark/pins"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no pin file may remain"
    );

    let pin = create_pin(&location, VersionSpec::Version(2), pin_options())
        .await
        .unwrap();
    assert_eq!(pin.version, 2);
    assert_eq!(list_pins(&location).await.unwrap(), vec![pin]);
}

#[tokio::test]
async fn a_version_whose_deletion_vector_file_is_gone_is_refused_naming_it() {
    let (_dir, table) = tidemark_testdata::copy_table("delta-rs/table-with-dv-small");
    let location = location(&table);
    let dv = std::fs::read_dir(&table)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .unwrap();
    let dv_name = dv.file_name().unwrap().to_string_lossy().into_owned();
    assert!(dv_name.starts_with("deletion_vector_"), "{dv_name}");
    std::fs::remove_file(&dv).unwrap();

    // Version 1 deletes rows through the vector; its data file is still there.
    let err = create_tag(&location, "dv", VersionSpec::Latest, TagOptions::default())
        .await
        .unwrap_err();
    assert_unreadable(&err, 1, &dv_name, 1);
    assert!(err.to_string().contains("deletion-vector file"), "{err}");
    assert!(list_tags(&location).await.unwrap().is_empty());
    let err = create_pin(&location, VersionSpec::Version(1), pin_options())
        .await
        .unwrap_err();
    assert_unreadable(&err, 1, &dv_name, 1);
    assert!(list_pins(&location).await.unwrap().is_empty());

    // Version 0 reads no vector and can be tagged and pinned.
    let tag = create_tag(
        &location,
        "before-delete",
        VersionSpec::Version(0),
        TagOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(tag.version, 0);
    let pin = create_pin(&location, VersionSpec::Version(0), pin_options())
        .await
        .unwrap();
    assert_eq!(pin.version, 0);
}

#[tokio::test]
async fn an_existing_tag_name_is_still_reported_as_taken() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    vacuumed_table(&table).await;
    let location = location(&table);
    create_tag(&location, "t", VersionSpec::Latest, TagOptions::default())
        .await
        .unwrap();
    // The name is taken: the existing tag is neither checked nor removed.
    let err = create_tag(
        &location,
        "t",
        VersionSpec::Version(0),
        TagOptions::default(),
    )
    .await
    .unwrap_err();
    let latest = common::snapshot_at(&table, None).await.version();
    assert!(
        matches!(err, Error::TagExists { version, .. } if version == latest),
        "{err}"
    );
    assert_eq!(read_tag(&location, "t").await.unwrap().version, latest);
}

fn memory_location(store: Arc<dyn object_store::ObjectStore>) -> TableLocation {
    TableLocation::from_store(
        store,
        object_store::path::Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    )
}

/// The pin lands right after vacuum's last re-read of the pins before it deletes (vacuum did
/// not see it), while the file it needs still exists. Written first and checked second, the
/// pin still finds the vacuum's plan naming that file, and is refused instead of being made on
/// a version vacuum is about to break.
#[tokio::test]
async fn a_pin_made_after_vacuums_last_reread_is_refused_not_broken() {
    let inner = Arc::new(InMemory::new());
    let plain = memory_location(inner.clone());
    let mode = SchemaMode::Strict;
    write_batch(&plain, batch(0..10), WriteMode::Append, mode)
        .await
        .unwrap();
    write_batch(&plain, batch(100..105), WriteMode::Overwrite, mode)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let pinner = plain.clone();
    let outcome = Arc::new(Mutex::new(None));
    let seen = outcome.clone();
    // Pins are listed by vacuum's read of the references (#1), by the protection (#2) and by
    // the re-read before the first batch of deletes (#3).
    let store = HookedStore::new(
        inner.clone(),
        Interleave::new(
            StoreCall::List,
            "_tidemark/pins",
            3,
            Box::new(move || {
                Box::pin(async move {
                    let result = create_pin(&pinner, VersionSpec::Version(0), pin_options()).await;
                    *seen.lock().unwrap() = Some(result);
                })
            }),
        ),
    );
    vacuum(
        &memory_location(store.clone()),
        VacuumOptions {
            retention_ms: Some(0),
            dry_run: false,
            allow_short_retention: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(store.ran.load(Ordering::SeqCst), 1, "the pin was tried");
    let result = outcome.lock().unwrap().take().unwrap();
    match result {
        Err(err) => {
            assert!(
                matches!(err, Error::VersionNotFound { requested: 0, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("being deleted by vacuum"), "{err}");
            assert!(list_pins(&plain).await.unwrap().is_empty());
        }
        Ok(pin) => {
            // Made: then its version must still read.
            let pinned = load_snapshot(&plain, Some(pin.version)).await.unwrap();
            assert_eq!(
                common::sorted_ids(pinned).await,
                (0..10).collect::<Vec<_>>(),
                "pin {} was made, but vacuum deleted its version's files",
                pin.id
            );
        }
    }
}
