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

/// What one process of the mixed run saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    /// (reported version, message, row id) of each append.
    appends: Vec<(u64, String, i64)>,
    /// (tag name, ids read right after it was made).
    tags: Vec<(String, Vec<i64>)>,
    /// (pin id, version, ids read right after it was made).
    pins: Vec<(String, u64, Vec<i64>)>,
    /// Operations tried, by kind: append, restore, vacuum, tag, pin; and how many were refused.
    tried: [usize; 5],
    refused: [usize; 5],
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A refusal the mixed run allows: a commit conflict (with a vacuum, or with a concurrent
/// restore), or a version whose files a vacuum has deleted.
fn allowed_refusal(stderr: &str) -> bool {
    [
        "conflict",
        "deleted",
        "vacuum",
        "cannot be restored",
        "missing",
    ]
    .iter()
    .any(|word| stderr.contains(word))
}

/// One process of the mixed run: appends, restores, vacuums at zero retention, tags and pins,
/// at random, until `until`.
fn mixed_worker(
    t: &str,
    dir: &Path,
    p: usize,
    until: std::time::Instant,
    newest: &std::sync::atomic::AtomicU64,
) -> Acknowledged {
    use std::sync::atomic::Ordering;
    let mut seen = Acknowledged::default();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ ((p as u64 + 1) * 0x1234_5678);
    let mut i = 0;
    while std::time::Instant::now() < until {
        i += 1;
        let roll = xorshift(&mut rng) % 100;
        let newest_version = newest.load(Ordering::SeqCst);
        let some_version = (xorshift(&mut rng) % (newest_version + 1)).to_string();
        let (kind, output) = if roll < 60 {
            let id = (p * 1_000_000 + i) as i64;
            let path = dir.join(format!("mixed-{p}-{i}.csv"));
            std::fs::write(&path, format!("id,who\n{id},p{p}-{i}\n")).unwrap();
            let message = format!("mixed p{p}-{i}");
            let out = tidemark(&["write", t, path.to_str().unwrap(), "--message", &message]);
            if out.status.success() {
                let stdout = String::from_utf8_lossy(&out.stdout);
                let version: u64 = stdout
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("version "))
                    .unwrap_or_else(|| panic!("unexpected output {stdout:?}"))
                    .parse()
                    .unwrap();
                newest.fetch_max(version, Ordering::SeqCst);
                seen.appends.push((version, message, id));
            }
            (0, out)
        } else if roll < 70 {
            (1, tidemark(&["restore", t, "--version", &some_version]))
        } else if roll < 78 {
            let out = tidemark(&[
                "vacuum",
                t,
                "--retain",
                "0",
                "--allow-short-retention",
                "--execute",
            ]);
            (2, out)
        } else if roll < 89 {
            let name = format!("p{p}-{i}");
            let out = tidemark(&["tag", t, "create", &name, "--version", &some_version]);
            if out.status.success() {
                let ids = scan_ids(&[t, "--tag", &name]);
                seen.tags.push((name, ids));
            }
            (3, out)
        } else {
            let owner = format!("run-p{p}-{i}");
            let out = tidemark(&[
                "pin",
                t,
                "create",
                "--version",
                &some_version,
                "--owner",
                &owner,
            ]);
            if out.status.success() {
                let stdout = String::from_utf8_lossy(&out.stdout);
                let id = stdout
                    .lines()
                    .find(|l| l.starts_with("pin-"))
                    .unwrap_or_else(|| panic!("no pin id in {stdout:?}"))
                    .trim()
                    .to_string();
                let version: u64 = some_version.parse().unwrap();
                let ids = scan_ids(&[t, "--version", &some_version]);
                seen.pins.push((id, version, ids));
            }
            (4, out)
        };
        seen.tried[kind] += 1;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                allowed_refusal(&stderr),
                "process {p}, operation {kind}, failed unexpectedly: {stderr}"
            );
            seen.refused[kind] += 1;
        }
    }
    seen
}

/// Four processes for a minute (`TIDEMARK_MIXED_SECS` to change it) mixing appends, restores,
/// vacuums with zero retention, tags and pins: at the end every tag and pin reads what it read
/// when it was made, the latest version reads, every acknowledged append is the commit of the
/// version it reported, and the versions are contiguous.
#[test]
fn mixed_appends_restores_vacuums_tags_and_pins() {
    const PROCESSES: usize = 4;
    let secs: u64 = std::env::var("TIDEMARK_MIXED_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let t = create_table(dir.path());
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let newest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let t = t.clone();
            let dir = dir.path().to_path_buf();
            let newest = newest.clone();
            std::thread::spawn(move || mixed_worker(&t, &dir, p, until, &newest))
        })
        .collect();
    let results: Vec<Acknowledged> = workers.into_iter().map(|w| w.join().unwrap()).collect();

    let mut tried = [0usize; 5];
    let mut refused = [0usize; 5];
    for r in &results {
        for k in 0..5 {
            tried[k] += r.tried[k];
            refused[k] += r.refused[k];
        }
    }
    let latest = scan_ids(&[&t]);
    let entries = history(&t);
    assert_consistent(&entries);
    eprintln!(
        "mixed run, {PROCESSES} processes, {secs} s: {} versions; tried/refused: appends {}/{}, restores {}/{}, vacuums {}/{}, tags {}/{}, pins {}/{}; latest reads {} rows",
        entries.len(),
        tried[0],
        refused[0],
        tried[1],
        refused[1],
        tried[2],
        refused[2],
        tried[3],
        refused[3],
        tried[4],
        refused[4],
        latest.len()
    );
    assert!(tried[2] > refused[2], "some vacuums ran");
    let by_version: BTreeMap<u64, &Value> = entries.iter().map(|(v, info)| (*v, info)).collect();
    for r in &results {
        for (version, message, _) in &r.appends {
            let info = by_version[version];
            assert_eq!(
                info["userMetadata"].as_str(),
                Some(message.as_str()),
                "version {version} holds the append that reported it"
            );
        }
        for (name, ids) in &r.tags {
            assert_eq!(
                &scan_ids(&[&t, "--tag", name]),
                ids,
                "tag {name} reads what it read when made"
            );
        }
        for (id, version, ids) in &r.pins {
            assert_eq!(
                &scan_ids(&[&t, "--version", &version.to_string()]),
                ids,
                "pin {id} (version {version}) reads what it read when made"
            );
        }
    }
    let appends: BTreeSet<u64> = results
        .iter()
        .flat_map(|r| r.appends.iter().map(|(v, _, _)| *v))
        .collect();
    assert_eq!(
        appends.len(),
        results.iter().map(|r| r.appends.len()).sum::<usize>(),
        "no version reported by two appends"
    );
}
