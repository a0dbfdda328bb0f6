//! Crashes: a `tidemark` process killed with SIGKILL at chosen points of a write or a
//! checkpoint leaves a table that opens at the last committed version with the right rows; the
//! same command run again succeeds; vacuum removes the orphaned files.
//!
//! The kill points are made deterministic by the library's test hook
//! (`tidemark_core::test_hooks`): with `TIDEMARK_TEST_PAUSE_AT=<point>` the process creates
//! the marker file named by `TIDEMARK_TEST_PAUSE_MARKER` on reaching the point and sleeps; the
//! test waits for the marker, then kills the process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ok, scan_ids, vacuum_now};

/// Runs `tidemark args` until it reaches the test hook `point`, then kills it with SIGKILL.
fn kill_at(point: &str, args: &[&str], marker_dir: &Path) {
    let marker = marker_dir.join(format!("paused-{point}"));
    let _ = std::fs::remove_file(&marker);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .args(args)
        .env("TIDEMARK_TEST_PAUSE_AT", point)
        .env("TIDEMARK_TEST_PAUSE_MARKER", &marker)
        .env("TIDEMARK_TEST_PAUSE_SECS", "120")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
            }
            panic!("tidemark {args:?} ended ({status}) before reaching '{point}': {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "tidemark {args:?} did not reach '{point}' within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no cleanup runs.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed process reported success");
}

fn version(table: &str) -> u64 {
    let out = ok(&["history", table, "--limit", "1", "--format", "json"]);
    let docs: serde_json::Value = serde_json::from_str(&out).unwrap();
    docs[0]["version"].as_u64().unwrap()
}

/// Data files under the table root (relative paths), outside `_delta_log/`.
fn data_files(table: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "_delta_log" {
                continue;
            }
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.insert(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(table, table, &mut out);
    out
}

/// Live data files of the latest version, as `scan` would read them.
fn live_files(table: &str) -> usize {
    let out = ok(&["describe", table, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["numFiles"]
        .as_u64()
        .or_else(|| doc["files"].as_u64())
        .unwrap_or_else(|| panic!("no file count in {doc}")) as usize
}

fn csv(dir: &Path, name: &str, ids: std::ops::Range<i64>) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from("id,region\n");
    for id in ids {
        let region = if id % 2 == 0 { "EU" } else { "US" };
        text.push_str(&format!("{id},{region}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn killed_writes_leave_the_last_committed_version() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let t = table.to_str().unwrap();
    let first = csv(dir.path(), "first.csv", 0..10);
    ok(&[
        "write",
        t,
        first.to_str().unwrap(),
        "--partition-by",
        "region",
    ]);
    let committed: Vec<i64> = (0..10).collect();
    assert_eq!(scan_ids(&[t]), committed);
    let second = csv(dir.path(), "second.csv", 10..20);
    let second_args = ["write", t, second.to_str().unwrap()];
    let mut kills = 0;

    // Killed while writing data files: the first of two partition files is complete.
    kill_at("data-file-written", &second_args, dir.path());
    kills += 1;
    assert_eq!(version(t), 0);
    assert_eq!(
        scan_ids(&[t]),
        committed,
        "no row of the killed write is visible"
    );
    assert!(
        data_files(&table).len() > live_files(t),
        "an orphan was left"
    );

    // Killed between the data files and the commit.
    kill_at("before-commit", &second_args, dir.path());
    kills += 1;
    assert_eq!(version(t), 0);
    assert_eq!(scan_ids(&[t]), committed);

    // The same write, run again, succeeds.
    let out = ok(&second_args);
    assert_eq!(out.trim(), "version 1");
    let committed: Vec<i64> = (0..20).collect();
    assert_eq!(scan_ids(&[t]), committed);

    // Vacuum removes the orphans (three files from the killed writes) and nothing else.
    let before = data_files(&table);
    assert_eq!(before.len(), live_files(t) + 3, "{before:?}");
    vacuum_now(t, &[]);
    let after = data_files(&table);
    assert_eq!(after.len(), live_files(t), "{after:?}");
    assert!(after.is_subset(&before));
    assert_eq!(scan_ids(&[t]), committed, "vacuum kept every live file");
    eprintln!("kills: {kills}");
}

#[test]
fn killed_checkpoints_leave_a_readable_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let t = table.to_str().unwrap();
    let log = table.join("_delta_log");
    for (n, range) in [(0, 0..5), (1, 5..10), (2, 10..15)] {
        let input = csv(dir.path(), &format!("in{n}.csv"), range);
        ok(&["write", t, input.to_str().unwrap()]);
    }
    let committed: Vec<i64> = (0..15).collect();

    // Killed while the checkpoint file is being written: no checkpoint, no hint.
    kill_at("checkpoint-writing", &["checkpoint", t], dir.path());
    assert!(!log.join("00000000000000000002.checkpoint.parquet").exists());
    assert!(!log.join("_last_checkpoint").exists());
    assert_eq!(version(t), 2);
    assert_eq!(scan_ids(&[t]), committed);

    // Killed after the checkpoint file, before `_last_checkpoint`: the table reads the same,
    // through the checkpoint the listing finds.
    kill_at("before-last-checkpoint", &["checkpoint", t], dir.path());
    assert!(log.join("00000000000000000002.checkpoint.parquet").exists());
    assert!(!log.join("_last_checkpoint").exists());
    assert_eq!(version(t), 2);
    assert_eq!(scan_ids(&[t]), committed);

    // Run again: succeeds, and the hint is written.
    ok(&["checkpoint", t]);
    assert!(log.join("_last_checkpoint").exists());
    assert_eq!(scan_ids(&[t]), committed);

    // A write whose automatic checkpoint is killed: the commit itself stands.
    let more = csv(dir.path(), "more.csv", 15..20);
    let table2 = dir.path().join("t2");
    let t2 = table2.to_str().unwrap();
    ok(&[
        "write",
        t2,
        csv(dir.path(), "base.csv", 0..15).to_str().unwrap(),
        "--property",
        "delta.checkpointInterval=1",
    ]);
    kill_at(
        "before-last-checkpoint",
        &["write", t2, more.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(version(t2), 1);
    assert_eq!(scan_ids(&[t2]), (0..20).collect::<Vec<_>>());
    let out = ok(&["write", t2, more.to_str().unwrap()]);
    assert_eq!(out.trim(), "version 2");
}
