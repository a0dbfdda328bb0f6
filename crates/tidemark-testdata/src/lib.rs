//! The test data of the Tidemark workspace, and the one place that knows where it lives.
//!
//! The Delta tables that tests read are kept in the repository, below `tests/data/`, one folder
//! per origin (`delta-kernel/`, `delta-rs/`, `dat-early/`, ...; `tests/data/README.md` says
//! where each one comes from). A test names a table by its path below that folder, as in
//! `table("delta-kernel/table-with-dv-small")`, and never spells out where the folder is.
//!
//! Missing data is a failure, never a skip: [`table`] panics with the full path it looked for.
//!
//! The larger conformance corpus these tables were taken from is optional. [`shared_corpus`]
//! finds it (`TIDEMARK_SHARED_CORPUS`, else `../shared/corpus` next to the repository) for the
//! one test that checks all of it, which is ignored by default and run by `.ci/run` when the
//! corpus is there.
//!
//! This crate is a dev-dependency only; it is not published. Panicking is its way to fail a
//! test with a clear message, so the workspace's library lints against panics do not apply.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The environment variable naming the full shared corpus; it overrides the default
/// location `<repo>/../shared/corpus`.
pub const SHARED_CORPUS_ENV: &str = "TIDEMARK_SHARED_CORPUS";

/// The archived log-only table of 300,000 `add` actions, as a path below `tests/data`.
pub const LOG_300K_ARCHIVE: &str = "delta-kernel/300k-add-files-100-col-partitioned.tar.zst";

/// The folder [`LOG_300K_ARCHIVE`] unpacks to.
pub const LOG_300K_TABLE: &str = "300k-add-files-100-col-partitioned";

/// The root of the repository.
///
/// Found at run time first: `cargo test` sets `CARGO_MANIFEST_DIR` for the test binary it runs,
/// and the repository is the nearest folder above it that holds
/// `crates/tidemark-testdata`. Only when that fails is the path this crate was compiled at
/// used. (A target directory shared by several clones may hold this crate compiled in another
/// clone, whose compile-time path can be stale or gone.)
pub fn repo_root() -> PathBuf {
    let is_repo = |dir: &Path| dir.join("crates").join("tidemark-testdata").is_dir();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR")
        && let Some(root) = Path::new(&dir).ancestors().find(|d| is_repo(d))
    {
        return root.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tidemark-testdata lives at <repo>/crates/tidemark-testdata")
        .to_path_buf()
}

/// `<repo>/tests/data`, the folder holding every table the tests read.
///
/// # Panics
///
/// When the folder does not exist.
pub fn data_dir() -> PathBuf {
    let dir = repo_root().join("tests").join("data");
    assert!(
        dir.is_dir(),
        "the test data folder {} does not exist: the tables the tests read belong in \
         tests/data of the repository",
        dir.display()
    );
    dir
}

/// The absolute path of `rel` below `tests/data`: a table folder (`"delta-rs/simple_table"`)
/// or any file in one (`"delta-kernel/parsed-stats/_delta_log/00000000000000000003.checkpoint.parquet"`).
/// `rel` uses `/` as separator.
///
/// The tables are read-only test inputs: copy one ([`copy_table`]) before writing to it.
///
/// # Panics
///
/// When `rel` is not a relative path, or nothing exists there. The message names the full
/// path and says where the data belongs: a missing table fails the test, it never skips it.
pub fn table(rel: &str) -> PathBuf {
    assert!(
        Path::new(rel).is_relative(),
        "test data is named by a path relative to tests/data, not {rel}"
    );
    let path = data_dir().join(rel);
    assert!(
        path.exists(),
        "test data not found: {} does not exist. The tables the tests read belong in \
         tests/data of the repository (tests/data/README.md lists them and where each one \
         comes from): add `{rel}` there",
        path.display()
    );
    path
}

/// `<repo>/examples/<name>`: something kept in the repository's `examples/` folder, such as
/// the small example table `sales`.
///
/// # Panics
///
/// When nothing exists there.
pub fn example(name: &str) -> PathBuf {
    let path = repo_root().join("examples").join(name);
    assert!(
        path.exists(),
        "example not found: {} does not exist",
        path.display()
    );
    path
}

/// Copies the directory tree `src` to `dst` (created if needed, merged into if it exists).
///
/// Files are read and written rather than copied with their permissions, so the copy is
/// writable even when the source files are read-only.
///
/// # Panics
///
/// On any I/O error, naming the file.
pub fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst)
        .unwrap_or_else(|e| panic!("cannot create directory {}: {e}", dst.display()));
    let entries =
        fs::read_dir(src).unwrap_or_else(|e| panic!("cannot list {}: {e}", src.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", src.display()));
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let file_type = entry
            .file_type()
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", from.display()));
        if file_type.is_dir() {
            copy_dir(&from, &to);
        } else {
            let bytes =
                fs::read(&from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
            fs::write(&to, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", to.display()));
        }
    }
}

/// A writable copy of the table `rel` (see [`table`]) in a new temporary directory: the
/// directory, which removes the copy when dropped, and the copied table inside it (a folder
/// named like the table's last path component).
///
/// # Panics
///
/// When the table is missing (see [`table`]) or on any I/O error.
pub fn copy_table(rel: &str) -> (TempDir, PathBuf) {
    let source = table(rel);
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let name = source
        .file_name()
        .unwrap_or_else(|| panic!("{rel} names no folder"));
    let target = dir.path().join(name);
    copy_dir(&source, &target);
    (dir, target)
}

/// Unpacks the `.tar.zst` archive `rel` (see [`table`]) into a new temporary directory, which
/// removes what was unpacked when dropped.
///
/// # Panics
///
/// When the archive is missing or damaged.
pub fn unpack_tar_zst(rel: &str) -> TempDir {
    let archive = table(rel);
    let file = fs::File::open(&archive)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", archive.display()));
    let decoder = zstd::stream::read::Decoder::new(file)
        .unwrap_or_else(|e| panic!("cannot decompress {}: {e}", archive.display()));
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    tar::Archive::new(decoder)
        .unpack(dir.path())
        .unwrap_or_else(|e| panic!("cannot unpack {}: {e}", archive.display()));
    dir
}

/// Unpacks the log-only table of 300,000 files ([`LOG_300K_ARCHIVE`]) into a new temporary
/// directory; returns the directory (which removes the table when dropped) and the table.
///
/// # Panics
///
/// When the archive is missing or damaged, or does not hold [`LOG_300K_TABLE`].
pub fn unpack_300k() -> (TempDir, PathBuf) {
    let dir = unpack_tar_zst(LOG_300K_ARCHIVE);
    let table = dir.path().join(LOG_300K_TABLE);
    assert!(
        table.join("_delta_log").is_dir(),
        "{LOG_300K_ARCHIVE} did not unpack to {LOG_300K_TABLE}/_delta_log"
    );
    (dir, table)
}

/// The full shared conformance corpus, if this machine has it: the folder named by
/// `TIDEMARK_SHARED_CORPUS` ([`SHARED_CORPUS_ENV`]) when that variable is set and not empty,
/// else `<repo>/../shared/corpus`, as an absolute path without `..`; `None` when that folder
/// does not exist.
///
/// Only the test that checks the whole corpus uses it; every other test reads `tests/data`.
pub fn shared_corpus() -> Option<PathBuf> {
    let path = match std::env::var_os(SHARED_CORPUS_ENV) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => repo_root().join("..").join("shared").join("corpus"),
    };
    fs::canonicalize(path).ok().filter(|p| p.is_dir())
}

/// Every table folder (a folder holding `_delta_log/`) below `root`, sorted. Folders inside
/// a table's `_delta_log/` are not searched.
///
/// # Panics
///
/// When `root` is not a directory.
pub fn table_dirs(root: &Path) -> Vec<PathBuf> {
    assert!(root.is_dir(), "{} is not a directory", root.display());
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "_delta_log") {
                out.push(dir.clone());
            } else {
                stack.push(path);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_data_folder_and_a_table() {
        assert!(data_dir().ends_with("tests/data"));
        assert!(table("delta-kernel/table-with-dv-small/_delta_log").is_dir());
        assert!(example("sales/_delta_log").is_dir());
    }

    #[test]
    fn a_missing_table_is_a_panic_naming_the_path() {
        let panic = std::panic::catch_unwind(|| table("no-such-origin/no-such-table"))
            .expect_err("a missing table must panic");
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("tests/data/no-such-origin/no-such-table"),
            "{message}"
        );
        assert!(message.contains("belong in tests/data"), "{message}");
    }

    #[test]
    fn copies_are_writable_and_complete() {
        let (_dir, copy) = copy_table("delta-kernel/table-with-dv-small");
        let log = copy.join("_delta_log/00000000000000000000.json");
        assert_eq!(
            fs::read(&log).unwrap(),
            fs::read(table(
                "delta-kernel/table-with-dv-small/_delta_log/00000000000000000000.json"
            ))
            .unwrap()
        );
        assert!(!fs::metadata(&log).unwrap().permissions().readonly());
        assert_eq!(copy.file_name().unwrap(), "table-with-dv-small");
    }

    #[test]
    fn table_dirs_finds_tables_below_a_root() {
        let dirs = table_dirs(&table("delta-kernel/partition_cm"));
        let names: Vec<_> = dirs
            .iter()
            .map(|d| d.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["id", "name", "none"]);
    }
}
