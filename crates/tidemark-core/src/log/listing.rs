//! The files of `_delta_log/`: naming, listing, and choosing which of them rebuild a version.
//!
//! A version is rebuilt from the newest usable checkpoint at or before it plus every commit
//! after that checkpoint, in order. [`LogListing`] holds what one listing found;
//! [`LogListing::segment`] picks the files for a version and checks that no commit is missing.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::ObjectMeta;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::storage::TableLocation;

/// What a file in `_delta_log/` is, judging by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFileKind {
    /// `<version>.json`: a commit.
    Commit,
    /// `<version>.checkpoint.parquet`: a classic single-file checkpoint.
    ClassicCheckpoint,
    /// `<version>.checkpoint.<part>.<parts>.parquet`: one part of a multi-part checkpoint.
    MultiPartCheckpoint {
        /// 1-based part number.
        part: u32,
        /// Number of parts.
        parts: u32,
    },
    /// `<version>.checkpoint.<uuid>.(json|parquet)`: the top-level file of a v2 checkpoint.
    V2Checkpoint {
        /// True for a JSON top-level file, false for Parquet.
        json: bool,
    },
}

/// A file of the log with its version and kind.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// The version the file belongs to.
    pub version: u64,
    /// What the file is.
    pub kind: LogFileKind,
    /// The file's location and size, as listed.
    pub meta: ObjectMeta,
}

/// Parses a log file name (the last path segment) into its version and kind.
///
/// Returns `None` for files that are not commits or checkpoints (`_last_checkpoint`, `.crc`,
/// temporary files, compacted logs).
///
/// ```
/// use tidemark_core::testing::{parse_log_file_name, LogFileKind};
/// assert_eq!(parse_log_file_name("00000000000000000007.json"), Some((7, LogFileKind::Commit)));
/// assert_eq!(
///     parse_log_file_name("00000000000000000010.checkpoint.0000000002.0000000003.parquet"),
///     Some((10, LogFileKind::MultiPartCheckpoint { part: 2, parts: 3 }))
/// );
/// assert_eq!(parse_log_file_name("00000000000000000007.crc"), None);
/// ```
pub fn parse_log_file_name(name: &str) -> Option<(u64, LogFileKind)> {
    let (digits, rest) = name.split_at_checked(20)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version: u64 = digits.parse().ok()?;
    let kind = match rest {
        ".json" => LogFileKind::Commit,
        ".checkpoint.parquet" => LogFileKind::ClassicCheckpoint,
        _ => {
            let tail = rest.strip_prefix(".checkpoint.")?;
            let parts: Vec<&str> = tail.split('.').collect();
            match parts.as_slice() {
                [part, parts, "parquet"] if part.len() == 10 && parts.len() == 10 => {
                    let part: u32 = part.parse().ok()?;
                    let parts: u32 = parts.parse().ok()?;
                    if part == 0 || part > parts {
                        return None;
                    }
                    LogFileKind::MultiPartCheckpoint { part, parts }
                }
                [uuid, ext] if uuid::Uuid::parse_str(uuid).is_ok() => match *ext {
                    "json" => LogFileKind::V2Checkpoint { json: true },
                    "parquet" => LogFileKind::V2Checkpoint { json: false },
                    _ => return None,
                },
                _ => return None,
            }
        }
    };
    Some((version, kind))
}

/// The file name of commit `version`.
pub fn commit_file_name(version: u64) -> String {
    format!("{version:020}.json")
}

/// A checkpoint that can be read: all of its files.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The version it describes.
    pub version: u64,
    /// Its files: one for classic and v2 top-level, all parts (in order) for multi-part.
    pub files: Vec<LogFile>,
}

/// The `_last_checkpoint` hint.
#[derive(Debug, Clone, Deserialize)]
pub struct LastCheckpointHint {
    /// The checkpoint's version.
    pub version: u64,
}

/// Everything one listing of `_delta_log/` found: commits and complete checkpoints by version.
#[derive(Debug, Clone, Default)]
pub struct LogListing {
    /// Commit files by version.
    pub commits: BTreeMap<u64, LogFile>,
    /// Complete checkpoints by version (at most one per version: the preferred kind).
    pub checkpoints: BTreeMap<u64, Checkpoint>,
}

/// The files that rebuild one version: an optional checkpoint and the commits after it.
#[derive(Debug, Clone)]
pub struct LogSegment {
    /// The version this segment rebuilds.
    pub version: u64,
    /// The checkpoint the replay starts from, if any.
    pub checkpoint: Option<Checkpoint>,
    /// Commits after the checkpoint, ascending, ending at `version`.
    pub commits: Vec<LogFile>,
}

impl LogListing {
    /// Lists `_delta_log/`: every log file, or only those of versions `start_at` and later.
    pub async fn list(location: &TableLocation, start_at: Option<u64>) -> Result<Self> {
        let start = start_at.unwrap_or(0);
        if let Some(listing) = Self::list_local(location, move |names| {
            Some(names.iter().filter(|n| n.1 >= start).map(|n| n.0).collect())
        })
        .await
        {
            return Ok(listing);
        }
        let log_root = location.log_root();
        let store = location.store();
        let metas: Vec<ObjectMeta> = match start_at {
            Some(version) if version > 0 => {
                // Every file of version `v` is named `<v:020>.…`, which sorts after `<v:020>`.
                let offset = log_root.clone().join(format!("{version:020}"));
                store
                    .list_with_offset(Some(&log_root), &offset)
                    .try_collect()
                    .await
            }
            _ => store.list(Some(&log_root)).try_collect().await,
        }
        .map_err(|e| Error::store(format!("listing '{log_root}'"), e))?;
        Ok(Self::from_metas(metas))
    }

    /// Lists only the log files that rebuild `version` (the latest when `None`): the newest
    /// checkpoint at or before it and the commits after it, without fetching the metadata of
    /// older or newer files where that is possible.
    ///
    /// The files chosen are those a full listing would choose, with the same checks: for the
    /// latest version, `_last_checkpoint` names a checkpoint from which on the log must be
    /// whole (as [`crate::snapshot::Snapshot::load`] always did); for an older version, no
    /// commit up to it may be missing. On the local file system, the names of all log files
    /// are read (not their metadata) to choose the files, and only those are looked at;
    /// elsewhere the latest version is listed from the hint's checkpoint on. Returns `None`
    /// when that cannot be done or finds anything amiss (a gap, a missing version, a stale
    /// hint...): a full listing then tells what is wrong.
    pub async fn list_for_version(location: &TableLocation, version: Option<u64>) -> Option<Self> {
        let hint = match version {
            None => read_last_checkpoint(location).await.map(|h| h.version),
            Some(_) => None,
        };
        if location.local_root().is_some() {
            return Self::list_local(location, move |names| {
                let from_hint = hint.and_then(|hint| {
                    let newer: Vec<_> = names.iter().filter(|n| n.1 >= hint).cloned().collect();
                    let listing = Self::from_names(&newer);
                    listing.checkpoints.contains_key(&hint).then_some(listing)
                });
                let by_name = match from_hint {
                    Some(listing) => listing,
                    None => Self::from_names(names),
                };
                let target = version.or_else(|| by_name.latest_version())?;
                let segment = by_name.segment(target, None).ok()?;
                let mut wanted: Vec<usize> = Vec::new();
                let checkpoint_files = segment.checkpoint.iter().flat_map(|c| &c.files);
                for file in checkpoint_files.chain(&segment.commits) {
                    wanted.push(usize::try_from(file.meta.size).ok()?);
                }
                // The target's own commit gives its timestamp even when a checkpoint covers it.
                if segment.commits.is_empty()
                    && let Some(commit) = by_name.commits.get(&target)
                {
                    wanted.push(usize::try_from(commit.meta.size).ok()?);
                }
                Some(wanted)
            })
            .await;
        }
        let hint = hint?;
        let listing = Self::list(location, Some(hint)).await.ok()?;
        listing.checkpoints.contains_key(&hint).then_some(listing)
    }

    /// Lists a local `_delta_log/` directory directly: reads the names of the log files, lets
    /// `choose` pick some of them (by index into the names it is given, each with its version
    /// and kind), and reads the metadata of those only.
    ///
    /// `None` when the table is not local, when `choose` says so, or on any error of the file
    /// system (the caller then lists through the object store, which reports errors as usual).
    async fn list_local(
        location: &TableLocation,
        choose: impl FnOnce(&[(usize, u64, LogFileKind)]) -> Option<Vec<usize>> + Send + 'static,
    ) -> Option<Self> {
        let dir = location.local_root()?.join("_delta_log");
        let log_root = location.log_root();
        tokio::task::spawn_blocking(move || {
            let mut names: Vec<String> = Vec::new();
            match std::fs::read_dir(&dir) {
                Ok(entries) => {
                    for entry in entries {
                        let entry = entry.ok()?;
                        if let Ok(name) = entry.file_name().into_string() {
                            names.push(name);
                        }
                    }
                }
                // Like the object store: no folder, no files.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => return None,
            }
            let parsed: Vec<(usize, u64, LogFileKind)> = names
                .iter()
                .enumerate()
                .filter_map(|(i, name)| {
                    let (version, kind) = parse_log_file_name(name)?;
                    Some((i, version, kind))
                })
                .collect();
            let chosen = choose(&parsed)?;
            let mut metas = Vec::with_capacity(chosen.len());
            for i in chosen {
                let name = names.get(i)?;
                let metadata = match std::fs::metadata(dir.join(name)) {
                    Ok(metadata) => metadata,
                    // Removed since the names were read (log cleanup): not listed.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(_) => return None,
                };
                if !metadata.is_file() {
                    continue;
                }
                metas.push(ObjectMeta {
                    location: log_root.clone().join(name.as_str()),
                    last_modified: metadata.modified().ok()?.into(),
                    size: metadata.len(),
                    e_tag: None,
                    version: None,
                });
            }
            Some(Self::from_metas(metas))
        })
        .await
        .ok()?
    }

    /// A listing from names alone (each file's `meta.size` holds its index among the names),
    /// to choose files before reading their metadata.
    fn from_names(names: &[(usize, u64, LogFileKind)]) -> Self {
        Self::from_metas(names.iter().map(|(i, version, kind)| {
            let name = match kind {
                LogFileKind::Commit => commit_file_name(*version),
                LogFileKind::ClassicCheckpoint => format!("{version:020}.checkpoint.parquet"),
                LogFileKind::MultiPartCheckpoint { part, parts } => {
                    format!("{version:020}.checkpoint.{part:010}.{parts:010}.parquet")
                }
                LogFileKind::V2Checkpoint { json } => format!(
                    "{version:020}.checkpoint.00000000-0000-0000-0000-000000000000.{}",
                    if *json { "json" } else { "parquet" }
                ),
            };
            ObjectMeta {
                location: Path::from(name),
                last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                size: *i as u64,
                e_tag: None,
                version: None,
            }
        }))
    }

    /// Builds a listing from object metadata (any order; unrelated files are ignored).
    pub fn from_metas(metas: impl IntoIterator<Item = ObjectMeta>) -> Self {
        let mut listing = Self::default();
        let mut multipart: BTreeMap<(u64, u32), Vec<Option<LogFile>>> = BTreeMap::new();
        let mut others: BTreeMap<u64, Vec<LogFile>> = BTreeMap::new();
        for meta in metas {
            // Files in sub-folders (`_sidecars/`, `_staged_commits/`) are not log files.
            let Some(name) = meta.location.filename() else {
                continue;
            };
            let Some((version, kind)) = parse_log_file_name(name) else {
                continue;
            };
            let file = LogFile {
                version,
                kind: kind.clone(),
                meta,
            };
            match kind {
                LogFileKind::Commit => {
                    listing.commits.insert(version, file);
                }
                LogFileKind::MultiPartCheckpoint { part, parts } => {
                    let slots = multipart
                        .entry((version, parts))
                        .or_insert_with(|| vec![None; parts as usize]);
                    if let Some(slot) = slots.get_mut(part as usize - 1) {
                        *slot = Some(file);
                    }
                }
                LogFileKind::ClassicCheckpoint | LogFileKind::V2Checkpoint { .. } => {
                    others.entry(version).or_default().push(file);
                }
            }
        }
        for ((version, _), slots) in multipart {
            if slots.iter().all(Option::is_some) {
                let files: Vec<LogFile> = slots.into_iter().flatten().collect();
                listing
                    .checkpoints
                    .entry(version)
                    .or_insert(Checkpoint { version, files });
            }
        }
        for (version, mut files) in others {
            // Prefer a v2 top-level file (it may reference sidecars that a classic one lacks
            // nothing of, but both are complete); then classic. Keep one deterministic choice.
            files.sort_by_key(|f| match f.kind {
                LogFileKind::V2Checkpoint { json: false } => 0,
                LogFileKind::V2Checkpoint { json: true } => 1,
                _ => 2,
            });
            if let Some(file) = files.into_iter().next() {
                listing.checkpoints.insert(
                    version,
                    Checkpoint {
                        version,
                        files: vec![file],
                    },
                );
            }
        }
        listing
    }

    /// The newest version with a commit, or with a checkpoint when no later commit exists.
    pub fn latest_version(&self) -> Option<u64> {
        let commit = self.commits.keys().next_back().copied();
        let checkpoint = self.checkpoints.keys().next_back().copied();
        commit.max(checkpoint)
    }

    /// The oldest version that can be rebuilt from this listing: 0 while the first commit is
    /// kept, else the oldest complete checkpoint.
    pub fn earliest_version(&self) -> Option<u64> {
        if self.commits.contains_key(&0) {
            return Some(0);
        }
        self.checkpoints.keys().next().copied()
    }

    /// Picks the files that rebuild `version`: the newest checkpoint at or before it (skipping
    /// checkpoints newer than `checkpoint_limit`, used to fall back from a corrupt one) and the
    /// commits after it. Fails when a commit in between is missing.
    pub fn segment(&self, version: u64, checkpoint_limit: Option<u64>) -> Result<LogSegment> {
        // Commit files are contiguous from the earliest one kept (cleanup removes the oldest
        // first): a hole between two listed commits means a damaged log, even where a later
        // checkpoint would let replay skip it.
        let mut previous: Option<u64> = None;
        for &listed in self.commits.range(..=version).map(|(v, _)| v) {
            if let Some(before) = previous
                && listed != before + 1
            {
                return Err(Error::VersionGap {
                    missing: before + 1,
                    before,
                    after: listed,
                });
            }
            previous = Some(listed);
        }
        let limit = checkpoint_limit.map_or(version, |l| l.min(version));
        let checkpoint = self
            .checkpoints
            .range(..=limit)
            .next_back()
            .map(|(_, c)| c.clone());
        let start = checkpoint.as_ref().map_or(0, |c| c.version + 1);
        // A checkpoint at the version itself needs no commits.
        let commits: Vec<LogFile> = if start > version {
            Vec::new()
        } else {
            self.commits
                .range(start..=version)
                .map(|(_, f)| f.clone())
                .collect()
        };
        let mut expected = start;
        for commit in &commits {
            if commit.version != expected {
                return Err(self.gap_error(
                    expected,
                    commit.version,
                    checkpoint.is_some(),
                    version,
                ));
            }
            expected += 1;
        }
        if expected != version + 1 {
            return Err(self.missing_version_error(version));
        }
        Ok(LogSegment {
            version,
            checkpoint,
            commits,
        })
    }

    fn gap_error(&self, missing: u64, found: u64, from_checkpoint: bool, target: u64) -> Error {
        if missing == 0 && !from_checkpoint {
            return Error::VersionNotFound {
                requested: target,
                reason: format!(
                    "the commits before version {found} have been cleaned up and no checkpoint at or before version {target} exists; the earliest readable version is {}",
                    self.earliest_version()
                        .map_or("none".to_string(), |v| v.to_string())
                ),
            };
        }
        Error::VersionGap {
            missing,
            before: missing.saturating_sub(1),
            after: found,
        }
    }

    fn missing_version_error(&self, version: u64) -> Error {
        let latest = self.latest_version();
        let reason = match latest {
            Some(latest) if version > latest => {
                format!("the latest version is {latest}")
            }
            Some(_) => format!(
                "its commit file is missing and no checkpoint covers it; the earliest readable version is {}",
                self.earliest_version()
                    .map_or("none".to_string(), |v| v.to_string())
            ),
            None => "the log holds no commits".to_string(),
        };
        Error::VersionNotFound {
            requested: version,
            reason,
        }
    }
}

/// Reads `_last_checkpoint`. A missing or unparseable hint is `None`: the listing finds
/// checkpoints anyway.
pub async fn read_last_checkpoint(location: &TableLocation) -> Option<LastCheckpointHint> {
    let path: Path = location.log_root().join("_last_checkpoint");
    let bytes = location.store().get(&path).await.ok()?.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_checkpoint_at_the_requested_version_needs_no_commits() {
        let listing = listing(&[
            "00000000000000000000.json",
            "00000000000000000001.json",
            "00000000000000000002.json",
            "00000000000000000002.checkpoint.parquet",
        ]);
        let segment = listing.segment(2, None).unwrap();
        assert_eq!(segment.checkpoint.map(|c| c.version), Some(2));
        assert!(segment.commits.is_empty());
    }

    fn meta(name: &str) -> ObjectMeta {
        ObjectMeta {
            location: Path::from(format!("t/_delta_log/{name}")),
            last_modified: Utc::now(),
            size: 1,
            e_tag: None,
            version: None,
        }
    }

    fn listing(names: &[&str]) -> LogListing {
        LogListing::from_metas(names.iter().map(|n| meta(n)))
    }

    fn commit(v: u64) -> String {
        commit_file_name(v)
    }

    #[test]
    fn names_parse() {
        assert_eq!(parse_log_file_name("0000000000000000001.json"), None);
        assert_eq!(
            parse_log_file_name("00000000000000000003.checkpoint.parquet"),
            Some((3, LogFileKind::ClassicCheckpoint))
        );
        assert_eq!(
            parse_log_file_name(
                "00000000000000000003.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json"
            ),
            Some((3, LogFileKind::V2Checkpoint { json: true }))
        );
        assert_eq!(
            parse_log_file_name("00000000000000000003.00000000000000000005.compacted.json"),
            None
        );
        assert_eq!(parse_log_file_name("_last_checkpoint"), None);
    }

    #[test]
    fn segment_uses_newest_checkpoint_at_or_before_version() {
        let names: Vec<String> = (0..=12)
            .map(commit)
            .chain([
                "00000000000000000005.checkpoint.parquet".to_string(),
                "00000000000000000010.checkpoint.parquet".to_string(),
            ])
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let listing = listing(&refs);
        let seg = listing.segment(12, None).unwrap();
        assert_eq!(seg.checkpoint.as_ref().map(|c| c.version), Some(10));
        assert_eq!(
            seg.commits.iter().map(|c| c.version).collect::<Vec<_>>(),
            vec![11, 12]
        );
        let seg = listing.segment(9, None).unwrap();
        assert_eq!(seg.checkpoint.as_ref().map(|c| c.version), Some(5));
        assert_eq!(seg.commits.len(), 4);
        let seg = listing.segment(12, Some(9)).unwrap();
        assert_eq!(seg.checkpoint.as_ref().map(|c| c.version), Some(5));
        let seg = listing.segment(3, None).unwrap();
        assert!(seg.checkpoint.is_none());
    }

    #[test]
    fn incomplete_multipart_checkpoint_is_skipped() {
        let mut names: Vec<String> = (0..=4).map(commit).collect();
        names.push("00000000000000000004.checkpoint.0000000001.0000000002.parquet".into());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let seg = listing(&refs).segment(4, None).unwrap();
        assert!(seg.checkpoint.is_none());
        names.push("00000000000000000004.checkpoint.0000000002.0000000002.parquet".into());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let seg = listing(&refs).segment(4, None).unwrap();
        assert_eq!(seg.checkpoint.unwrap().files.len(), 2);
    }

    #[test]
    fn gap_is_an_error_naming_the_version() {
        let names = [commit(0), commit(1), commit(3)];
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let err = listing(&refs).segment(3, None).unwrap_err();
        assert!(matches!(err, Error::VersionGap { missing: 2, .. }), "{err}");
        assert!(err.to_string().contains("version 2 is missing"), "{err}");
    }

    #[test]
    fn cleaned_up_history_without_checkpoint_is_version_not_found() {
        let names = [
            commit(3),
            commit(4),
            "00000000000000000004.checkpoint.parquet".to_string(),
            commit(5),
        ];
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let listing = listing(&refs);
        assert_eq!(listing.earliest_version(), Some(4));
        assert!(listing.segment(5, None).is_ok());
        let err = listing.segment(3, None).unwrap_err();
        assert!(
            matches!(err, Error::VersionNotFound { requested: 3, .. }),
            "{err}"
        );
        let err = listing.segment(9, None).unwrap_err();
        assert!(err.to_string().contains("latest version is 5"), "{err}");
    }
}
