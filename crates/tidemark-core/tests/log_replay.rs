//! Log replay over real tables: every version, `_last_checkpoint` handling, checkpoint fallback,
//! cleaned-up history and incremental refresh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::path::Path;

use tidemark_core::Error;
use tidemark_core::Snapshot;
use tidemark_core::{Table, VersionSpec};

fn live_paths(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot.files().map(|f| f.path.clone()).collect()
}

/// Replays the JSON commits 0..=version with nothing but serde_json: the independent answer.
fn json_replay(table: &Path, version: u64) -> BTreeSet<String> {
    let mut live = BTreeSet::new();
    for v in 0..=version {
        let text = std::fs::read_to_string(table.join(format!("_delta_log/{v:020}.json"))).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(path) = value["add"]["path"].as_str() {
                live.insert(path.to_string());
            }
            if let Some(path) = value["remove"]["path"].as_str() {
                live.remove(path);
            }
        }
    }
    live
}

async fn latest(path: &Path) -> Result<Snapshot, Error> {
    Table::open(path.to_str().unwrap())?
        .snapshot(VersionSpec::Latest)
        .await
}

#[tokio::test]
async fn every_version_matches_a_plain_json_replay() {
    for name in [
        "delta-kernel-java/kernel-pagination-single-checkpoint",
        "delta-kernel-java/basic-with-checkpoint",
        "delta-rs/table_failed_last_checkpoint_update",
    ] {
        let path = tidemark_testdata::table(name);
        let table = Table::open(path.to_str().unwrap()).unwrap();
        let latest = table.snapshot(VersionSpec::Latest).await.unwrap().version();
        for version in 0..=latest {
            let snapshot = table.snapshot(VersionSpec::Version(version)).await.unwrap();
            assert_eq!(snapshot.version(), version);
            assert_eq!(
                live_paths(&snapshot),
                json_replay(&path, version),
                "{name} v{version}"
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_last_checkpoint_is_a_hint_not_a_fact() {
    let (_dir, path) = tidemark_testdata::copy_table("delta-kernel-java/basic-with-checkpoint");
    let baseline = latest(&path).await.unwrap();
    assert_eq!(baseline.version(), 14);
    let hint = path.join("_delta_log/_last_checkpoint");
    for content in [
        "garbage{".to_string(),
        r#"{"version":7,"size":3}"#.to_string(),
        r#"{"version":99,"size":3}"#.to_string(),
        r#"{"version":0,"size":3}"#.to_string(),
    ] {
        std::fs::write(&hint, &content).unwrap();
        let snapshot = latest(&path).await.unwrap();
        assert_eq!(snapshot.version(), 14, "with hint {content}");
        assert_eq!(
            live_paths(&snapshot),
            live_paths(&baseline),
            "with hint {content}"
        );
    }
    std::fs::remove_file(&hint).unwrap();
    assert_eq!(
        live_paths(&latest(&path).await.unwrap()),
        live_paths(&baseline)
    );
}

#[tokio::test]
async fn a_corrupt_checkpoint_falls_back_to_an_older_one() {
    let (_dir, path) =
        tidemark_testdata::copy_table("delta-kernel-java/kernel-pagination-single-checkpoint");
    let baseline = latest(&path).await.unwrap();
    std::fs::write(
        path.join("_delta_log/00000000000000000010.checkpoint.parquet"),
        b"not parquet",
    )
    .unwrap();
    let snapshot = latest(&path).await.unwrap();
    assert_eq!(snapshot.version(), baseline.version());
    assert_eq!(live_paths(&snapshot), live_paths(&baseline));
}

#[tokio::test]
async fn a_corrupt_checkpoint_without_fallback_is_a_clear_error() {
    let (_dir, path) = tidemark_testdata::copy_table("delta-kernel-java/basic-with-checkpoint");
    std::fs::write(
        path.join("_delta_log/00000000000000000010.checkpoint.parquet"),
        b"not parquet",
    )
    .unwrap();
    for v in 0..10 {
        std::fs::remove_file(path.join(format!("_delta_log/{v:020}.json"))).unwrap();
    }
    let err = latest(&path).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("00000000000000000010.checkpoint.parquet"),
        "{err}"
    );
}

#[tokio::test]
async fn cleaned_up_versions_are_refused_and_the_rest_read() {
    let (_dir, path) = tidemark_testdata::copy_table("delta-kernel-java/basic-with-checkpoint");
    let original = Table::open(
        tidemark_testdata::table("delta-kernel-java/basic-with-checkpoint")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    for v in 0..10 {
        std::fs::remove_file(path.join(format!("_delta_log/{v:020}.json"))).unwrap();
    }
    let table = Table::open(path.to_str().unwrap()).unwrap();
    for version in 10..=14 {
        let snapshot = table.snapshot(VersionSpec::Version(version)).await.unwrap();
        let expected = original
            .snapshot(VersionSpec::Version(version))
            .await
            .unwrap();
        assert_eq!(live_paths(&snapshot), live_paths(&expected));
    }
    let err = table.snapshot(VersionSpec::Version(5)).await.unwrap_err();
    assert!(
        matches!(err, Error::VersionNotFound { requested: 5, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("earliest readable version is 10"),
        "{err}"
    );
    let err = table.snapshot(VersionSpec::Version(15)).await.unwrap_err();
    assert!(err.to_string().contains("latest version is 14"), "{err}");
}

#[tokio::test]
async fn refresh_reads_only_new_commits_and_matches_a_fresh_load() {
    let (_dir, path) = tidemark_testdata::copy_table("delta-kernel-java/basic-with-checkpoint");
    let log = path.join("_delta_log");
    let held = tempfile::tempdir().unwrap();
    for v in 12..=14 {
        let name = format!("{v:020}.json");
        std::fs::rename(log.join(&name), held.path().join(&name)).unwrap();
    }
    let old = latest(&path).await.unwrap();
    assert_eq!(old.version(), 11);
    let same = old.refresh().await.unwrap();
    assert_eq!(same.version(), 11);
    for v in 12..=14 {
        let name = format!("{v:020}.json");
        std::fs::rename(held.path().join(&name), log.join(&name)).unwrap();
    }
    // Make an old commit unreadable: a refresh that re-read it would fail.
    std::fs::write(log.join("00000000000000000011.json"), b"{broken").unwrap();
    let refreshed = old.refresh().await.unwrap();
    assert_eq!(refreshed.version(), 14);
    let fresh = Table::open(
        tidemark_testdata::table("delta-kernel-java/basic-with-checkpoint")
            .to_str()
            .unwrap(),
    )
    .unwrap()
    .snapshot(VersionSpec::Latest)
    .await
    .unwrap();
    assert_eq!(live_paths(&refreshed), live_paths(&fresh));
}

#[tokio::test]
async fn missing_log_is_table_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = latest(dir.path()).await.unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err}");
    assert!(err.to_string().contains("no Delta table"), "{err}");
}

#[tokio::test]
async fn a_log_without_metadata_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("_delta_log")).unwrap();
    std::fs::write(
        dir.path().join("_delta_log/00000000000000000000.json"),
        r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#,
    )
    .unwrap();
    let err = latest(dir.path()).await.unwrap_err();
    assert!(err.to_string().contains("no metaData action"), "{err}");
}
