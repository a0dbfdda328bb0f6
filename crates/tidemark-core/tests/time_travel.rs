//! Time travel by timestamp: modification times, in-commit timestamps, and the errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use common::*;
use tidemark_core::Error;
use tidemark_core::{Table, VersionSpec};

const BASE_SECS: u64 = 1_700_000_000;

fn set_mtime(file: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(file).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn instant(secs: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs as i64, 0).unwrap()
}

#[tokio::test]
async fn modification_times_resolve_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    tidemark_testdata::copy_dir(
        &tidemark_testdata::table("delta-kernel-java/basic-with-checkpoint"),
        &path,
    );
    for v in 0..=14u64 {
        set_mtime(
            &path.join(format!("_delta_log/{v:020}.json")),
            BASE_SECS + v * 1000,
        );
    }
    let table = Table::open(path.to_str().unwrap()).unwrap();
    for (secs, expected) in [
        (BASE_SECS, 0),
        (BASE_SECS + 999, 0),
        (BASE_SECS + 5000, 5),
        (BASE_SECS + 5010, 5),
        (BASE_SECS + 10_500, 10),
        (BASE_SECS + 14_000, 14),
        (BASE_SECS + 1_000_000, 14),
    ] {
        assert_eq!(
            table.version_at_timestamp(instant(secs)).await.unwrap(),
            expected,
            "{secs}"
        );
    }
    let by_time = table
        .snapshot(VersionSpec::Timestamp(instant(BASE_SECS + 7500)))
        .await
        .unwrap();
    let by_version = table.snapshot(VersionSpec::Version(7)).await.unwrap();
    assert_eq!(by_time.version(), 7);
    assert_eq!(by_time.num_files(), by_version.num_files());
    assert_eq!(by_time.timestamp_ms(), (BASE_SECS as i64 + 7000) * 1000);

    let err = table
        .version_at_timestamp(instant(BASE_SECS - 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TimestampBeforeFirstCommit {
                earliest_version: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("2023-11-14T22:13:20"), "{err}");
}

#[tokio::test]
async fn in_commit_timestamps_win_over_modification_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales");
    tidemark_testdata::copy_dir(&tidemark_testdata::example("sales"), &path);
    // Scramble the file times: they must not matter on a table with in-commit timestamps.
    for (v, secs) in [(0u64, BASE_SECS + 50), (1, BASE_SECS), (2, BASE_SECS + 10)] {
        set_mtime(&path.join(format!("_delta_log/{v:020}.json")), secs);
    }
    let table = Table::open(path.to_str().unwrap()).unwrap();
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    assert_eq!(
        table
            .version_at_timestamp(at("2025-11-20T10:00:00Z"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        table
            .version_at_timestamp(at("2025-11-20T10:01:30Z"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        table
            .version_at_timestamp(at("2025-11-20T10:02:00Z"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        table
            .version_at_timestamp(at("2030-01-01T00:00:00Z"))
            .await
            .unwrap(),
        2
    );
    let err = table
        .version_at_timestamp(at("2025-11-20T09:59:59Z"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2025-11-20T10:00:00"), "{err}");
    let snapshot = table
        .snapshot(VersionSpec::Timestamp(at("2025-11-20T10:01:00Z")))
        .await
        .unwrap();
    assert_eq!(snapshot.version(), 1);
    assert_eq!(snapshot.timestamp_ms(), 1_763_632_860_000);
}

#[tokio::test]
async fn example_table_reads_at_each_version() {
    let table = Table::open(tidemark_testdata::example("sales").to_str().unwrap()).unwrap();
    let mut totals = Vec::new();
    for version in 0..=2 {
        let snapshot = table.snapshot(VersionSpec::Version(version)).await.unwrap();
        let batches = scan_all(snapshot).await;
        totals.push(num_rows(&batches));
        let rows = canonical_rows(&batches, &["id".to_string(), "region".to_string()]);
        if version == 2 {
            assert!(rows.contains(&"8 | US".to_string()), "{rows:?}");
            assert!(!rows.iter().any(|r| r.starts_with("4 |")), "{rows:?}");
        }
    }
    assert_eq!(totals, vec![5, 7, 6]);
}
