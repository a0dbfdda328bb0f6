//! Conformance over tables written by Spark, delta-rs and others, kept in the repository's
//! `tests/data` (see its README):
//!
//! - every DAT case matches its expected rows at every version it gives;
//! - every table that should open, opens at its latest version and scans, with the row count
//!   the log's statistics predict where it has them;
//! - every table that must be refused is refused with an error naming why;
//! - the 300,000-file log-only table loads and reports the right number of files.
//!
//! The same checks run over the full shared corpus those tables were taken from
//! (`../shared/corpus`, or `TIDEMARK_SHARED_CORPUS`) in an ignored test,
//! `full_shared_corpus_conforms`, which `.ci/run` runs when the corpus is there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use tidemark_core::{Table, VersionSpec};

/// Tables that must be refused, by path below the data root, with a word the error must contain
/// (alternatives separated by `|`).
const MUST_REFUSE: &[(&str, &str)] = &[
    ("delta-rs-damaged-logs/table_c", "version 12 is missing"),
    ("delta-rs-damaged-logs/table_d", "catalog"),
    ("delta-rs-damaged-logs/table_e", "catalog"),
    ("delta-rs-damaged-logs/table_f", "catalog"),
    // Commits 14 to 9998 are missing between 13 and a checkpoint at 9999.
    ("delta-rs-damaged-logs/table_g", "version 14 is missing"),
    // Both a hole after version 13 and a catalog-managed protocol at 9999: either reason.
    (
        "delta-rs-damaged-logs/table_h",
        "version 14 is missing|catalog",
    ),
    (
        "delta-rs-damaged-logs/table_i",
        "version 14 is missing|catalog",
    ),
    ("delta-rs/simple_table_features", "blahabl"),
    ("delta-kernel-java/catalog-owned-preview", "catalog"),
];

/// Tables Tidemark deliberately does not read, with a word its error must contain (the
/// reasons are listed in spec/PROTOCOL.md).
const NOT_SUPPORTED: &[(&str, &str)] = &[
    (
        "delta-kernel-java/spark-shredded-variant-preview-delta",
        "variantShredding-preview",
    ),
    (
        "delta-rs/spark-shredded-variant-preview-delta",
        "variantShredding-preview",
    ),
    (
        "delta-spark/variant-stats-nested-no-checkpoint",
        "variantShredding-preview",
    ),
    (
        "delta-spark/variant-stats-no-checkpoint",
        "variantShredding-preview",
    ),
    (
        "delta-spark/variant-stats-state-reconstruction",
        "variantShredding-preview",
    ),
    (
        "delta-spark/variant-stats-with-struct-no-checkpoint",
        "variantShredding-preview",
    ),
    ("delta-kernel/table-with-geo", "geospatial"),
    ("delta-kernel/void-column", "void"),
    // Only a checksum file, no commit: there is no table to read.
    ("delta-kernel/crc-malformed", "no Delta table"),
];

/// Percent-decodes a relative path of the log into the file's name on disk.
fn decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = path
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Spark's test tables name files with test-only prefixes and path templates; a copy with
/// them resolved is what a real table looks like. Returns the directory to read.
fn readable_copy(dir: &Path, scratch: &Path) -> std::path::PathBuf {
    let has_prefix = walk(dir)
        .iter()
        .any(|p| p.to_string_lossy().contains("test%dv%prefix-"));
    let log = std::fs::read_to_string(dir.join("_delta_log/00000000000000000000.json"))
        .unwrap_or_default();
    let template = log.contains("{{FOLDER_WITH_SPECIAL_CHAR}}");
    if !has_prefix && !template {
        return dir.to_path_buf();
    }
    let copy = scratch.join(dir.file_name().unwrap());
    let folder = url::Url::from_directory_path(copy.join("folder&with%special char"))
        .unwrap()
        .path()
        .trim_end_matches('/')
        .to_string();
    for file in walk(dir) {
        let relative = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let target = if template {
            copy.join(&relative)
        } else {
            copy.join(relative.replace("test%dv%prefix-", ""))
        };
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        if relative.starts_with("_delta_log") && relative.ends_with(".json") {
            let text = std::fs::read_to_string(&file).unwrap();
            std::fs::write(
                target,
                text.replace("{{FOLDER_WITH_SPECIAL_CHAR}}", &folder),
            )
            .unwrap();
        } else {
            std::fs::copy(&file, target).unwrap();
        }
    }
    copy
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Where the DAT cases are, below a data root.
const DAT_CASES: &str = "dat-early/out/reader_tests/generated";

/// Checks every DAT case below `root` (a folder of cases, each with `delta/` and `expected/`)
/// against its expected rows at every version it gives; returns how many versions matched.
async fn check_dat_cases(root: &Path) -> usize {
    let mut checked = 0;
    for case in std::fs::read_dir(root).unwrap() {
        let case = case.unwrap().path();
        let table = Table::open(case.join("delta").to_str().unwrap()).unwrap();
        for expected in std::fs::read_dir(case.join("expected")).unwrap() {
            let expected = expected.unwrap().path();
            let meta: serde_json::Value = serde_json::from_slice(
                &std::fs::read(expected.join("table_version_metadata.json")).unwrap(),
            )
            .unwrap();
            let version = meta["version"].as_u64().unwrap();
            let snapshot = table.snapshot(VersionSpec::Version(version)).await.unwrap();
            assert_eq!(
                snapshot.protocol().min_reader_version as u64,
                meta["min_reader_version"].as_u64().unwrap()
            );
            let want = read_parquet(&expected.join("table_content.parquet"));
            let got = scan_all(snapshot).await;
            let columns = column_names(&want);
            assert_eq!(
                canonical_rows(&got, &columns),
                canonical_rows(&want, &columns),
                "{} at {}",
                case.display(),
                expected.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} expected versions found");
    eprintln!("DAT: {checked} expected versions matched");
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dat_cases_match_expected_rows_at_every_version() {
    check_dat_cases(&tidemark_testdata::table(DAT_CASES)).await;
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// Opens every table below `root` (at least `min_tables` of them): each opens at its latest
/// version and scans with the row count its statistics predict, or is refused as
/// [`MUST_REFUSE`] or [`NOT_SUPPORTED`] say. Every table of [`MUST_REFUSE`] must be there.
async fn check_every_table(root: &Path, min_tables: usize) {
    let mut failures = BTreeMap::new();
    let (mut opened, mut log_only, mut refused, mut unsupported) = (0, 0, 0, 0);
    let tables = tidemark_testdata::table_dirs(root);
    assert!(
        tables.len() >= min_tables,
        "only {} tables below {}, expected at least {min_tables}",
        tables.len(),
        root.display()
    );
    let scratch = tempfile::tempdir().unwrap();
    for dir in &tables {
        let name = relative(dir, root);
        if let Some((_, word)) = NOT_SUPPORTED.iter().find(|(t, _)| *t == name) {
            let result = async {
                Table::open(dir.to_str().unwrap())?
                    .snapshot(VersionSpec::Latest)
                    .await
            }
            .await;
            match result {
                Err(e) if e.to_string().contains(word) => unsupported += 1,
                Err(e) => {
                    failures.insert(
                        name,
                        format!("not supported, but the error does not say '{word}': {e}"),
                    );
                }
                Ok(_) => {
                    failures.insert(
                        name,
                        "listed as not supported, but it opened: move it to the tested tables"
                            .into(),
                    );
                }
            }
            continue;
        }
        let dir = &readable_copy(dir, scratch.path());
        let result = async {
            let table = Table::open(dir.to_str().unwrap())?;
            let snapshot = table.snapshot(VersionSpec::Latest).await?;
            // Some corpus tables keep only their log: check that it replays, not that it scans.
            let has_data = snapshot
                .files()
                .filter(|f| !f.path.contains(':'))
                .all(|f| dir.join(decode(&f.path)).is_file());
            if !has_data {
                return Ok::<_, tidemark_core::Error>(None);
            }
            let expected_rows: Option<i64> = snapshot
                .files()
                .map(tidemark_core::log::stats::live_rows)
                .sum();
            let scan = tidemark_core::ScanBuilder::new(snapshot).build()?;
            let batches: Vec<_> = futures::TryStreamExt::try_collect(scan.execute()).await?;
            Ok(Some((num_rows(&batches), expected_rows)))
        }
        .await;
        let must_refuse = MUST_REFUSE.iter().find(|(t, _)| *t == name);
        match (result, must_refuse) {
            (Ok(None), None) => log_only += 1,
            (Ok(Some((rows, expected))), None) => {
                if let Some(expected) = expected
                    && rows as i64 != expected
                {
                    failures.insert(name, format!("scanned {rows} rows, stats say {expected}"));
                } else {
                    opened += 1;
                }
            }
            (Ok(_), Some(_)) => {
                failures.insert(name, "opened but must be refused".to_string());
            }
            (Err(e), Some((_, word))) => {
                if word.split('|').any(|w| e.to_string().contains(w)) {
                    refused += 1;
                } else {
                    failures.insert(
                        name,
                        format!("refused, but the error does not say '{word}': {e}"),
                    );
                }
            }
            (Err(e), None) => {
                failures.insert(name, e.to_string());
            }
        }
    }
    eprintln!(
        "{}: {opened} opened and scanned, {log_only} log-only tables opened, {refused} refused as they must be, \
         {unsupported} refused as documented unsupported features, {} failed, of {} tables",
        root.display(),
        failures.len(),
        tables.len()
    );
    assert!(failures.is_empty(), "failures:\n{failures:#?}");
    assert_eq!(refused, MUST_REFUSE.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_opens_and_scans_or_is_refused_with_a_reason() {
    // tests/data holds 109 tables; a lower count means some went missing.
    check_every_table(&tidemark_testdata::data_dir(), 109).await;
}

/// The same checks over the full shared corpus, when this machine has it. Ignored by default
/// (a fresh clone has no `../shared/corpus`); `.ci/run` runs it when the corpus is there, and
/// `cargo test -p tidemark-core --test conformance -- --ignored` runs it by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/corpus (or TIDEMARK_SHARED_CORPUS); run by .ci/run when present"]
async fn full_shared_corpus_conforms() {
    let corpus = tidemark_testdata::shared_corpus().unwrap_or_else(|| {
        panic!(
            "no shared corpus: set {} or put it at ../shared/corpus next to the repository",
            tidemark_testdata::SHARED_CORPUS_ENV
        )
    });
    eprintln!("shared corpus: {}", corpus.display());
    check_dat_cases(&corpus.join(DAT_CASES)).await;
    check_every_table(&corpus, 150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_only_table_of_300k_files_loads() {
    let (_dir, table_dir) = tidemark_testdata::unpack_300k();
    let table = Table::open(table_dir.to_str().unwrap()).unwrap();
    let snapshot = table.snapshot(VersionSpec::Latest).await.unwrap();
    // Count the adds in the log independently: every line with an "add" action.
    let mut adds = 0;
    for entry in std::fs::read_dir(table_dir.join("_delta_log")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        adds += text.lines().filter(|l| l.starts_with("{\"add\"")).count();
    }
    assert_eq!(adds, 300_000);
    assert_eq!(snapshot.num_files(), adds);
    // The schema of version 0, counted with serde_json alone.
    let first: String =
        std::fs::read_to_string(table_dir.join("_delta_log/00000000000000000000.json")).unwrap();
    let metadata: serde_json::Value = first
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v.get("metaData").is_some())
        .unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(metadata["metaData"]["schemaString"].as_str().unwrap()).unwrap();
    assert_eq!(
        snapshot.schema().fields.len(),
        schema["fields"].as_array().unwrap().len()
    );
    assert_eq!(snapshot.partition_columns(), ["partition_col".to_string()]);
}
