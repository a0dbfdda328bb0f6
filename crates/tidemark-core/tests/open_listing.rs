//! Opening a snapshot reads only the log files it needs: the newest checkpoint at or before the
//! version and the commits after it (counted through a store that records every call), with
//! the same answers and the same errors as a replay from a full listing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use common::{HookedStore, Listing, StoreCall, StoreFuture, StoreHooks};
use futures::StreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use tidemark_core::Snapshot;
use tidemark_core::checkpoint::write_checkpoint;
use tidemark_core::testing::load_snapshot;
use tidemark_core::testing::{LogListing, commit_file_name};
use tidemark_core::{Error, TableLocation};
use tidemark_core::{Table, VersionSpec};

/// Records the objects read and listed through it.
#[derive(Debug, Default)]
struct Calls {
    gets: Vec<String>,
    listed: Vec<String>,
}

/// Hooks of a store that records every object read and listed in `Calls`.
#[derive(Debug)]
struct Counting(Arc<Mutex<Calls>>);

impl StoreHooks for Counting {
    const NAME: &'static str = "CountingStore";

    fn around<'a, T: Send + 'a>(
        &'a self,
        kind: StoreCall,
        path: &'a str,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        if matches!(kind, StoreCall::Get | StoreCall::GetRanges) {
            self.0.lock().unwrap().gets.push(path.to_string());
        }
        call
    }

    fn listing(&self, _prefix: &str, listing: Listing) -> Listing {
        let calls = self.0.clone();
        listing
            .inspect(move |meta| {
                if let Ok(meta) = meta {
                    calls.lock().unwrap().listed.push(meta.location.to_string());
                }
            })
            .boxed()
    }
}

const LAST: u64 = 25;
const CHECKPOINTS: [u64; 2] = [10, 20];

fn commit_text(version: u64) -> String {
    let mut text = format!(
        r#"{{"commitInfo":{{"timestamp":{},"operation":"WRITE"}}}}
"#,
        1_700_000_000_000u64 + version * 1000
    );
    if version == 0 {
        text.push_str(
            r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},{\"name\":\"v\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":["p"],"configuration":{}}}
"#,
        );
    }
    text.push_str(&format!(
        r#"{{"add":{{"path":"p={}/f{version}.parquet","partitionValues":{{"p":"{}"}},"size":{version},"modificationTime":0,"dataChange":true}}}}
"#,
        version % 3,
        version % 3
    ));
    // Every fifth version removes the file added two versions before.
    if version.is_multiple_of(5) && version >= 2 {
        let old = version - 2;
        text.push_str(&format!(
            r#"{{"remove":{{"path":"p={}/f{old}.parquet","deletionTimestamp":{},"dataChange":true}}}}
"#,
            old % 3,
            4_000_000_000_000u64
        ));
    }
    text
}

/// Writes commits 0..=LAST, and checkpoints at CHECKPOINTS (each updating `_last_checkpoint`).
async fn build_log(location: &TableLocation) {
    let log = location.log_root();
    for version in 0..=LAST {
        location
            .store()
            .put(
                &log.clone().join(commit_file_name(version).as_str()),
                PutPayload::from(commit_text(version).into_bytes()),
            )
            .await
            .unwrap();
        if CHECKPOINTS.contains(&version) {
            let snapshot = load_snapshot(location, Some(version)).await.unwrap();
            write_checkpoint(&snapshot).await.unwrap();
        }
    }
}

fn paths(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .files_sorted()
        .into_iter()
        .map(|a| a.path.clone())
        .collect()
}

/// The answer from a full listing, the way every version was loaded before.
async fn full_replay(location: &TableLocation, version: u64) -> Snapshot {
    let listing = LogListing::list(location, None).await.unwrap();
    tidemark_core::testing::load_snapshot_from_listing(location, &listing, version)
        .await
        .unwrap()
}

fn versions_read(calls: &Calls) -> BTreeSet<String> {
    calls
        .gets
        .iter()
        .filter_map(|p| p.rsplit('/').next())
        .filter(|name| name.ends_with(".json") || name.contains(".checkpoint."))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn latest_snapshot_lists_and_reads_only_from_the_last_checkpoint() {
    let calls = Arc::new(Mutex::new(Calls::default()));
    let store = HookedStore::new(Arc::new(InMemory::new()), Counting(calls.clone()));
    let location = TableLocation::from_store(
        store,
        Path::from("t"),
        url::Url::parse("memory:///t").unwrap(),
    );
    build_log(&location).await;
    *calls.lock().unwrap() = Calls::default();

    let snapshot = load_snapshot(&location, None).await.unwrap();
    let calls = std::mem::take(&mut *calls.lock().unwrap());
    assert_eq!(snapshot.version(), LAST);
    assert_eq!(paths(&snapshot), paths(&full_replay(&location, LAST).await));

    // Listed: the checkpoint at 20, commits 20..=25 and `_last_checkpoint`, nothing older.
    let listed: Vec<&str> = calls
        .listed
        .iter()
        .filter_map(|p| p.rsplit('/').next())
        .collect();
    assert!(listed.len() <= 8, "{listed:?}");
    assert!(
        listed
            .iter()
            .all(|n| !n.starts_with("000000000000000000") || &n[..20] >= "00000000000000000020"),
        "{listed:?}"
    );
    // Read: the checkpoint and commits 21..=25 only.
    let mut expected: BTreeSet<String> = (21..=LAST).map(commit_file_name).collect();
    expected.insert(format!("{:020}.checkpoint.parquet", 20));
    assert_eq!(versions_read(&calls), expected);
}

#[tokio::test]
async fn version_is_rebuilt_from_the_nearest_checkpoint_of_a_local_log() {
    let dir = tempfile::tempdir().unwrap();
    let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
    build_log(&location).await;

    for (version, checkpoint, commits) in [
        (Some(15), Some(10), 11..=15),
        (Some(10), Some(10), 10..=10),
        (Some(20), Some(20), 20..=20),
        (Some(9), None, 0..=9),
        (None, Some(20), 21..=LAST),
    ] {
        let listing = LogListing::list_for_version(&location, version)
            .await
            .unwrap_or_else(|| panic!("no listing for {version:?}"));
        let checkpoints: Vec<u64> = listing.checkpoints.keys().copied().collect();
        assert_eq!(checkpoints, Vec::from_iter(checkpoint), "{version:?}");
        let listed: Vec<u64> = listing.commits.keys().copied().collect();
        assert_eq!(listed, commits.collect::<Vec<_>>(), "{version:?}");

        let target = version.unwrap_or(LAST);
        let snapshot = load_snapshot(&location, version).await.unwrap();
        let full = full_replay(&location, target).await;
        assert_eq!(snapshot.version(), target);
        assert_eq!(paths(&snapshot), paths(&full), "{version:?}");
        assert_eq!(snapshot.timestamp_ms(), full.timestamp_ms(), "{version:?}");
        assert_eq!(
            tidemark_core::testing::tombstone_count(&snapshot),
            tidemark_core::testing::tombstone_count(&full)
        );
    }
    // A version past the end is refused as before.
    let err = load_snapshot(&location, Some(LAST + 1)).await.unwrap_err();
    assert!(err.to_string().contains("latest version is 25"), "{err}");
}

#[tokio::test]
async fn a_hole_before_the_checkpoint_still_fails_time_travel_but_not_the_latest_version() {
    let dir = tempfile::tempdir().unwrap();
    let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
    build_log(&location).await;
    std::fs::remove_file(dir.path().join("_delta_log").join(commit_file_name(5))).unwrap();

    assert!(
        LogListing::list_for_version(&location, Some(15))
            .await
            .is_none()
    );
    let err = load_snapshot(&location, Some(15)).await.unwrap_err();
    assert!(matches!(err, Error::VersionGap { missing: 5, .. }), "{err}");
    // The latest version starts from `_last_checkpoint`, as it always did.
    let latest = load_snapshot(&location, None).await.unwrap();
    assert_eq!(latest.version(), LAST);
}

#[tokio::test]
async fn timestamp_travel_reads_the_metadata_without_replaying_the_latest_version() {
    let dir = tempfile::tempdir().unwrap();
    let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
    build_log(&location).await;
    let table = Table::from_location(location.clone());
    // Commit files' modification times order the versions; the newest is at or before now.
    let now = chrono::Utc::now();
    let snapshot = table.snapshot(VersionSpec::Timestamp(now)).await.unwrap();
    assert_eq!(snapshot.version(), LAST);
    assert_eq!(paths(&snapshot), paths(&full_replay(&location, LAST).await));
}
