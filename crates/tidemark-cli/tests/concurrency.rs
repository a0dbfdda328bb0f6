//! Concurrent `tidemark write` processes on one local table: no commit is lost or duplicated,
//! every row is present exactly once, the history is consistent, and a write that loses a race
//! it cannot win fails with a clear conflict error naming the winning version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use common::{ok, scan_ids, tidemark};

/// Writes a one-row CSV input for writer `p`, write `i`.
fn input(dir: &Path, p: usize, i: usize) -> String {
    let path = dir.join(format!("in-{p}-{i}.csv"));
    std::fs::write(&path, format!("id,who\n{},p{p}-{i}\n", row_id(p, i))).unwrap();
    path.to_str().unwrap().to_string()
}

fn row_id(p: usize, i: usize) -> i64 {
    (p * 1000 + i) as i64
}

/// The history, oldest first: (version, commitInfo).
fn history(table: &str) -> Vec<(u64, Value)> {
    let out = ok(&["history", table, "--format", "json"]);
    let docs: Value = serde_json::from_str(&out).unwrap();
    let mut entries: Vec<(u64, Value)> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["version"].as_u64().unwrap(), d["commitInfo"].clone()))
        .collect();
    entries.sort_by_key(|(v, _)| *v);
    entries
}

/// Versions contiguous from 0, in-commit timestamps strictly increasing.
fn assert_consistent(entries: &[(u64, Value)]) {
    let mut previous_ict = i64::MIN;
    for (index, (version, info)) in entries.iter().enumerate() {
        assert_eq!(*version, index as u64, "versions are contiguous");
        let ict = info["inCommitTimestamp"]
            .as_i64()
            .unwrap_or_else(|| panic!("version {version} has no inCommitTimestamp: {info}"));
        assert!(
            ict > previous_ict,
            "in-commit timestamps strictly increase: version {version} has {ict} after {previous_ict}"
        );
        previous_ict = ict;
        assert!(info["txnId"].is_string(), "version {version} has a txnId");
    }
}

fn create_table(dir: &Path) -> String {
    let table = dir.join("t");
    let t = table.to_str().unwrap().to_string();
    let first = dir.join("first.csv");
    std::fs::write(&first, "id,who\n-1,init\n").unwrap();
    ok(&["write", &t, first.to_str().unwrap(), "--message", "init"]);
    t
}

#[test]
fn eight_processes_append_25_times_each() {
    const WRITERS: usize = 8;
    const WRITES: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let t = create_table(dir.path());
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..WRITERS)
        .map(|p| {
            let t = t.clone();
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut versions = Vec::new();
                for i in 0..WRITES {
                    let input = input(&dir, p, i);
                    let message = format!("p{p}-{i}");
                    let out = ok(&["write", &t, &input, "--message", &message]);
                    let version: u64 = out
                        .trim()
                        .strip_prefix("version ")
                        .unwrap_or_else(|| panic!("unexpected output {out:?}"))
                        .parse()
                        .unwrap();
                    versions.push((version, message));
                }
                versions
            })
        })
        .collect();
    let mut reported: BTreeMap<u64, String> = BTreeMap::new();
    for worker in workers {
        for (version, message) in worker.join().unwrap() {
            assert!(
                reported.insert(version, message.clone()).is_none(),
                "version {version} reported twice"
            );
        }
    }
    eprintln!(
        "{} processes x {WRITES} appends in {:?}",
        WRITERS,
        started.elapsed()
    );
    assert_eq!(reported.len(), WRITERS * WRITES);

    let entries = history(&t);
    assert_eq!(
        entries.len(),
        1 + WRITERS * WRITES,
        "exactly 200 new versions"
    );
    assert_consistent(&entries);
    for (version, info) in entries.iter().skip(1) {
        assert_eq!(
            info["userMetadata"].as_str(),
            reported.get(version).map(String::as_str),
            "version {version} holds the commit its writer reported"
        );
        assert_eq!(info["operationParameters"]["mode"], "Append");
    }

    let mut expected: Vec<i64> = (0..WRITERS)
        .flat_map(|p| (0..WRITES).map(move |i| row_id(p, i)))
        .collect();
    expected.push(-1);
    expected.sort_unstable();
    assert_eq!(scan_ids(&[&t]), expected, "every row exactly once");

    // Checkpoints were written along the way (every 100 versions) and the table reads the same
    // through them.
    let log: BTreeSet<String> = std::fs::read_dir(Path::new(&t).join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        log.contains("00000000000000000100.checkpoint.parquet"),
        "{log:?}"
    );
    assert!(
        log.contains("00000000000000000200.checkpoint.parquet"),
        "{log:?}"
    );
}

#[test]
fn appends_mixed_with_overwrites_succeed_or_fail_with_a_conflict() {
    const WRITERS: usize = 4;
    const WRITES: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let t = create_table(dir.path());
    let workers: Vec<_> = (0..WRITERS)
        .map(|p| {
            let t = t.clone();
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut results = Vec::new();
                for i in 0..WRITES {
                    let input = input(&dir, p, i);
                    let message = format!("p{p}-{i}");
                    let overwrite = (p + i) % 3 == 0;
                    let mode = if overwrite { "overwrite" } else { "append" };
                    let out =
                        tidemark(&["write", &t, &input, "--mode", mode, "--message", &message]);
                    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                    let result = if out.status.success() {
                        let version: u64 = stdout
                            .trim()
                            .strip_prefix("version ")
                            .unwrap_or_else(|| panic!("unexpected output {stdout:?}"))
                            .parse()
                            .unwrap();
                        Ok(version)
                    } else {
                        Err(stderr)
                    };
                    results.push((message, overwrite, result));
                }
                results
            })
        })
        .collect();
    let mut successes: BTreeMap<String, u64> = BTreeMap::new();
    let mut conflicts: Vec<(String, u64)> = Vec::new();
    let mut overwrites_won = 0;
    for worker in workers {
        for (message, overwrite, result) in worker.join().unwrap() {
            match result {
                Ok(version) => {
                    overwrites_won += usize::from(overwrite);
                    successes.insert(message, version);
                }
                Err(stderr) => {
                    // A clear conflict error naming the winning version, on one line.
                    let winning: u64 = stderr
                        .split("commit conflict: version ")
                        .nth(1)
                        .and_then(|rest| rest.split(',').next())
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or_else(|| {
                            panic!("{message} failed without a conflict error: {stderr}")
                        });
                    assert!(
                        stderr.contains("nothing was committed"),
                        "{message}: {stderr}"
                    );
                    conflicts.push((message, winning));
                }
            }
        }
    }
    eprintln!(
        "{} writes succeeded ({overwrites_won} overwrites), {} failed with a conflict",
        successes.len(),
        conflicts.len()
    );

    let entries = history(&t);
    assert_consistent(&entries);
    assert_eq!(
        entries.len(),
        1 + successes.len(),
        "one version per successful write, no more"
    );
    let mut expected: BTreeSet<i64> = BTreeSet::from([-1]);
    let mut seen = BTreeSet::new();
    for (version, info) in entries.iter().skip(1) {
        let message = info["userMetadata"].as_str().unwrap().to_string();
        assert_eq!(
            successes.get(&message),
            Some(version),
            "version {version} ({message}) is a reported success"
        );
        assert!(seen.insert(message.clone()), "{message} committed twice");
        let (p, i) = message[1..].split_once('-').unwrap();
        let id = row_id(p.parse().unwrap(), i.parse().unwrap());
        if info["operationParameters"]["mode"] == "Overwrite" {
            expected.clear();
        }
        expected.insert(id);
    }
    for (message, winning) in &conflicts {
        assert!(
            !seen.contains(message),
            "{message} failed but was committed"
        );
        assert!(
            (*winning as usize) < entries.len(),
            "{message}: the winning version {winning} exists"
        );
    }
    let ids = scan_ids(&[&t]);
    assert_eq!(
        ids,
        expected.into_iter().collect::<Vec<_>>(),
        "the rows are those the history says"
    );
}
