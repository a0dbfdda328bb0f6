//! Vacuum: delete the data files that no retained version reads.
//!
//! A version is retained when it was current at some instant inside the retention window
//! (`delta.deletedFileRetentionDuration`, 7 days by default), or is newer. The files kept are
//! those live in the oldest retained version plus every file added since, with their deletion
//! vectors. Any other file under the table root older than the window is deleted: files of
//! versions that expired, and orphans of writes that failed before committing. Files younger
//! than the window are never deleted, so a write in progress keeps its files.
//!
//! Files of versions that a tag or an unexpired pin names are kept whatever their age, and the
//! report says which tag or pin kept which files ([`VacuumReport::protected`]).
//!
//! A dry run (the default) reports what would be deleted and deletes nothing.
//!
//! **Against concurrent writers.** Vacuum lists the table's files first and reads the log
//! after, so every file a commit made before the listing names is known. Before deleting
//! anything it announces what it will delete: a plan (`_tidemark/vacuum/<id>.json`) and a
//! `VACUUM START` commit naming it. A Tidemark transaction that meets that commit as a winner
//! conflicts if it adds a planned file; restore, tags and pins refuse planned files. Vacuum
//! then deletes in batches of 1,000 files, reading the commits made since and the tags and pins
//! again before each batch and keeping what they need, and ends with a `VACUUM END` commit. A
//! dry run, or a vacuum with nothing to delete, commits nothing. `spec/TIDEMARK.md` (§2, vacuum
//! plans) gives the protocol and the interleavings it covers.
//!
//! Vacuum refuses tables with writer features it does not know
//! (the maintenance column of the features table), and a retention property it cannot
//! parse ([`crate::properties::deleted_file_retention_ms`]).

use std::collections::HashSet;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::error::{Error, Result};
use crate::extensions::protection::Protection;
use crate::extensions::vacuum_plan::{self, PLAN_LIFETIME_MS, VacuumPlan};
use crate::features::{self, Maintenance};
use crate::log::actions::Action;
use crate::log::listing::LogListing;
use crate::properties;
use crate::scan::deletion_vector::add_objects;
use crate::snapshot::Snapshot;
use crate::snapshot::time_travel;
use crate::storage::TableLocation;
use crate::transaction::commit::{Transaction, read_commit};

/// How to vacuum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VacuumOptions {
    /// The retention window in milliseconds; the table's `delta.deletedFileRetentionDuration`
    /// (7 days by default) when `None`.
    pub retention_ms: Option<i64>,
    /// Report only (the default); `false` deletes.
    pub dry_run: bool,
    /// Allow a window shorter than the table's: files of in-flight writes and versions that
    /// readers may still be using can then be deleted.
    pub allow_short_retention: bool,
}

impl Default for VacuumOptions {
    fn default() -> Self {
        Self {
            retention_ms: None,
            dry_run: true,
            allow_short_retention: false,
        }
    }
}

/// What a vacuum found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumReport {
    /// The oldest version still readable after the vacuum.
    pub oldest_retained_version: u64,
    /// The retention window used, in milliseconds.
    pub retention_ms: i64,
    /// Files (paths relative to the table root) deleted, or that would be in a dry run.
    pub files: Vec<String>,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Files kept because a retained version reads them.
    pub files_kept: usize,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Each tag and unexpired pin, the version it protects, and the files vacuum kept for it
    /// that it would otherwise have deleted.
    pub protected: Vec<crate::extensions::protection::ProtectedVersion>,
    /// Pins that have expired: they protected nothing.
    pub expired_pins: Vec<crate::extensions::pin::Pin>,
}

/// Vacuums the table at `location`.
///
/// ```no_run
/// # async fn demo() -> tidemark_core::Result<()> {
/// use tidemark_core::maintenance::vacuum::{vacuum, VacuumOptions};
/// let location = tidemark_core::TableLocation::parse("/data/sales")?;
/// let report = vacuum(&location, VacuumOptions::default()).await?;
/// println!("{} files ({} bytes) can be deleted", report.files.len(), report.bytes);
/// # Ok(()) }
/// ```
pub async fn vacuum(location: &TableLocation, options: VacuumOptions) -> Result<VacuumReport> {
    let before = Snapshot::load(location, None).await?;
    features::check_maintenance_supported(before.protocol(), Maintenance::Vacuum)?;
    let table_retention = properties::deleted_file_retention_ms(&before.metadata().configuration)?;
    let retention_ms = options.retention_ms.unwrap_or(table_retention);
    if retention_ms < 0 {
        return Err(Error::InvalidArgument(
            "the retention window cannot be negative".into(),
        ));
    }
    if retention_ms < table_retention && !options.allow_short_retention {
        return Err(Error::InvalidArgument(format!(
            "a retention of {} hours is shorter than the table's {} hours: files of writes in progress and of versions readers still use could be deleted; allow it explicitly if no other writer or reader is active",
            retention_ms / 3_600_000,
            table_retention / 3_600_000
        )));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let cutoff = now - retention_ms;

    // List first, then read the log: every file that a commit made before the listing names is
    // then in the snapshot read below or in the commits since its oldest retained version.
    let listed: Vec<(Path, u64)> = location
        .store()
        .list(Some(location.root()))
        .map_err(|e| Error::store(format!("listing the table at '{}'", location.url()), e))
        .try_filter_map(|meta| {
            let keep = is_hidden(location, &meta.location)
                || meta.last_modified.timestamp_millis() >= cutoff;
            futures::future::ready(Ok((!keep).then_some((meta.location, meta.size))))
        })
        .try_collect()
        .await?;
    // Only the commits since `before` are read: no second replay of the whole log.
    let latest = before.refresh().await?;
    features::check_maintenance_supported(latest.protocol(), Maintenance::Vacuum)?;
    // Read before the protection itself, so that a tag or pin made while the protection loads
    // shows up as a change at the first re-read.
    let references = Protection::references(location, now).await?;
    let oldest = oldest_retained_version(location, &latest, cutoff).await?;
    let needed = needed_files(location, &latest, oldest).await?;
    let mut protection = Protection::load(location, now).await?;
    let candidates: Vec<(Path, u64)> = listed
        .into_iter()
        .filter(|(path, _)| !needed.contains(path))
        .collect();
    // Tags and unexpired pins keep every file of their versions.
    let (candidates, protected) = protection.split(location, candidates);
    let mut files: Vec<(String, Path, u64)> = candidates
        .into_iter()
        .map(|(path, size)| (location.relative(&path), path, size))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if !options.dry_run && !files.is_empty() {
        let plan = VacuumPlan {
            id: uuid::Uuid::new_v4().to_string(),
            read_version: latest.version(),
            started_time_ms: now,
            deadline_ms: now.saturating_add(PLAN_LIFETIME_MS),
            files: files.iter().map(|(name, _, _)| name.clone()).collect(),
        };
        let latest = Arc::new(latest);
        announce(
            location,
            &latest,
            &plan,
            retention_ms,
            table_retention,
            &files,
        )
        .await?;
        let deleted = delete_rechecked(
            location,
            files,
            latest.version(),
            plan.deadline_ms,
            now,
            references,
            &mut protection,
        )
        .await;
        files = finish(location, &latest, &plan, deleted).await?;
    }
    Ok(VacuumReport {
        oldest_retained_version: oldest,
        retention_ms,
        bytes: files.iter().map(|(_, _, size)| size).sum(),
        files: files.into_iter().map(|(name, _, _)| name).collect(),
        files_kept: needed.len(),
        dry_run: options.dry_run,
        protected,
        expired_pins: protection.expired_pins,
    })
}

/// Announces a plan: writes it, then commits `VACUUM START` naming it. From then on, every
/// Tidemark transaction that did not see the plan meets the start as a winning commit and
/// conflicts if it adds a planned file; every operation planned later lists the plan.
async fn announce(
    location: &TableLocation,
    latest: &Arc<Snapshot>,
    plan: &VacuumPlan,
    retention_ms: i64,
    table_retention_ms: i64,
    files: &[(String, Path, u64)],
) -> Result<()> {
    // Plans of vacuums that crashed and expired long ago are dropped first.
    let now = chrono::Utc::now().timestamp_millis();
    for old in vacuum_plan::list_plans(location).await? {
        if !old.is_pending(now) {
            vacuum_plan::delete_plan(location, &old.id).await?;
        }
    }
    vacuum_plan::write_plan(location, plan).await?;
    let bytes: u64 = files.iter().map(|(_, _, size)| size).sum();
    let started = Transaction::new(location.clone(), Some(latest.clone()), "VACUUM START")
        .with_parameter("specifiedRetentionMillis", retention_ms.to_string())
        .with_parameter("defaultRetentionMillis", table_retention_ms.to_string())
        .with_metric(
            "numFilesToDelete",
            i64::try_from(files.len()).unwrap_or(i64::MAX),
        )
        .with_metric(
            "sizeOfDataToDelete",
            i64::try_from(bytes).unwrap_or(i64::MAX),
        )
        .with_tidemark_entry(
            "vacuum",
            serde_json::json!({"id": plan.id, "phase": "start", "plan": plan.relative_path()}),
        )
        .commit()
        .await;
    match started {
        Ok(_) => Ok(()),
        // The start may still land: the plan stays, to be honoured until it expires.
        Err(e @ Error::CommitOutcomeUnknown { .. }) => Err(e),
        Err(e) => {
            vacuum_plan::delete_plan(location, &plan.id).await?;
            Err(e)
        }
    }
}

/// Commits `VACUUM END` with what was deleted, and deletes the plan. The plan stays when the
/// deletes failed, so that others keep honouring it until it expires.
async fn finish(
    location: &TableLocation,
    latest: &Arc<Snapshot>,
    plan: &VacuumPlan,
    deleted: Result<Vec<(String, Path, u64)>>,
) -> Result<Vec<(String, Path, u64)>> {
    let deleted = deleted?;
    let bytes: u64 = deleted.iter().map(|(_, _, size)| size).sum();
    Transaction::new(location.clone(), Some(latest.clone()), "VACUUM END")
        .with_parameter("status", "COMPLETED")
        .with_metric(
            "numDeletedFiles",
            i64::try_from(deleted.len()).unwrap_or(i64::MAX),
        )
        .with_metric(
            "sizeOfDeletedData",
            i64::try_from(bytes).unwrap_or(i64::MAX),
        )
        .with_tidemark_entry("vacuum", serde_json::json!({"id": plan.id, "phase": "end"}))
        .commit()
        .await?;
    vacuum_plan::delete_plan(location, &plan.id).await?;
    Ok(deleted)
}

/// How many files vacuum deletes between two re-reads of the log and the tags and pins.
const DELETE_BATCH: usize = 1_000;

/// Deletes `files` in batches. Immediately before each batch it reads the commits made since
/// `seen_version` and the tags and pins again, and keeps what they need: a restore that re-added
/// an old file, or a tag or pin made while vacuum was listing. Returns the files deleted.
async fn delete_rechecked(
    location: &TableLocation,
    files: Vec<(String, Path, u64)>,
    mut seen_version: u64,
    deadline_ms: i64,
    now: i64,
    mut references: Vec<(String, u64)>,
    protection: &mut Protection,
) -> Result<Vec<(String, Path, u64)>> {
    let mut needed_since: HashSet<Path> = HashSet::new();
    let mut deleted = Vec::with_capacity(files.len());
    let mut remaining = files.into_iter().peekable();
    while remaining.peek().is_some() {
        if chrono::Utc::now().timestamp_millis() > deadline_ms {
            // Past its deadline the plan no longer holds others back: stop deleting.
            break;
        }
        let batch: Vec<(String, Path, u64)> = remaining.by_ref().take(DELETE_BATCH).collect();
        seen_version = read_adds_since(location, seen_version, &mut needed_since).await?;
        let current = Protection::references(location, now).await?;
        if current != references {
            *protection = Protection::load(location, now).await?;
            references = current;
        }
        let batch: Vec<(String, Path, u64)> = batch
            .into_iter()
            .filter(|(_, path, _)| !needed_since.contains(path) && !protection.needs(path))
            .collect();
        let paths: Vec<Path> = batch.iter().map(|(_, path, _)| path.clone()).collect();
        delete_objects(location.store().clone(), paths).await?;
        deleted.extend(batch);
    }
    Ok(deleted)
}

/// Deletes `paths`, 16 at a time; an object already gone counts as deleted.
async fn delete_objects(store: Arc<dyn ObjectStore>, paths: Vec<Path>) -> Result<()> {
    let mut pending = futures::stream::FuturesUnordered::new();
    let mut paths = paths.into_iter();
    loop {
        while pending.len() < 16 {
            let Some(path) = paths.next() else { break };
            pending.push(delete_object(store.clone(), path));
        }
        match pending.next().await {
            Some(result) => result?,
            None => return Ok(()),
        }
    }
}

async fn delete_object(store: Arc<dyn ObjectStore>, path: Path) -> Result<()> {
    match store.delete(&path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(Error::store(format!("deleting '{path}'"), e)),
    }
}

/// Reads the commits after `seen_version` that exist now, adding the objects their `add`s
/// read to `needed`; returns the newest version read.
async fn read_adds_since(
    location: &TableLocation,
    mut seen_version: u64,
    needed: &mut HashSet<Path>,
) -> Result<u64> {
    loop {
        let actions = match read_commit(location, seen_version + 1).await {
            Ok(actions) => actions,
            Err(e) if e.is_not_found() => return Ok(seen_version),
            Err(e) => return Err(e),
        };
        for action in actions {
            if let Action::Add(add) = action {
                needed.extend(add_objects(location, &add)?);
            }
        }
        seen_version += 1;
    }
}

/// The newest version that was current at `cutoff` (readers may travel back to it), or the
/// earliest readable version when every commit is younger.
async fn oldest_retained_version(
    location: &TableLocation,
    latest: &Snapshot,
    cutoff: i64,
) -> Result<u64> {
    if latest.timestamp_ms() <= cutoff {
        return Ok(latest.version());
    }
    let instant = chrono::DateTime::from_timestamp_millis(cutoff).ok_or_else(|| {
        Error::InvalidArgument(format!("the retention cutoff {cutoff} ms is out of range"))
    })?;
    // The latest snapshot is at hand: its metadata says how commits are timed, so only the
    // listing is needed, not a second replay of the log.
    let listing = LogListing::list(location, None).await?;
    match time_travel::version_at_timestamp(location, &listing, latest.metadata(), instant).await {
        Ok(version) => Ok(version),
        Err(Error::TimestampBeforeFirstCommit {
            earliest_version, ..
        }) => Ok(earliest_version),
        Err(e) => Err(e),
    }
}

/// Every object path a retained version reads: data files and deletion-vector files.
async fn needed_files(
    location: &TableLocation,
    latest: &Snapshot,
    oldest: u64,
) -> Result<HashSet<Path>> {
    let mut needed = HashSet::new();
    let base = if oldest == latest.version() {
        latest.clone()
    } else {
        Snapshot::load(location, Some(oldest)).await?
    };
    for add in base.files() {
        needed.extend(add_objects(location, add)?);
    }
    let versions: Vec<u64> = (oldest + 1..=latest.version()).collect();
    let commits: Vec<Vec<Action>> = futures::stream::iter(versions)
        .map(|v| {
            let location = location.clone();
            async move { read_commit(&location, v).await }
        })
        .buffered(16)
        .try_collect()
        .await?;
    for action in commits.into_iter().flatten() {
        if let Action::Add(add) = action {
            needed.extend(add_objects(location, &add)?);
        }
    }
    Ok(needed)
}

/// The log, and files and directories whose names start with `_` or `.` (other than
/// partition directories), are never vacuumed.
fn is_hidden(location: &TableLocation, path: &Path) -> bool {
    let root_parts = location.root().parts().count();
    path.parts().skip(root_parts).any(|part| {
        let name = part.as_ref();
        (name.starts_with('_') || name.starts_with('.')) && !name.contains('=')
    })
}
