//! Restore: make an earlier version the newest again, as a new commit.
//!
//! The new version removes the files that were added since and adds back the files that were
//! removed since, so it reads exactly the rows of the restored version, under its schema. Old
//! versions stay as they are: a restore is one more commit, and can itself be undone.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::extensions::readable::{self, Purpose};
use crate::features;
use crate::log::actions::{Action, Add, FileKey, Metadata};
use crate::storage::TableLocation;
use crate::table::{Table, VersionSpec};
use crate::transaction::commit::{CommitMetadata, ReadScope, Transaction};
use crate::transaction::write::remove_for;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// The new version.
    pub version: u64,
    /// The version whose state it restored.
    pub restored_version: u64,
    /// Files added back.
    pub files_added: usize,
    /// Files removed.
    pub files_removed: usize,
}

/// Restores the table at `location` to the version that `target` names.
///
/// Fails, committing nothing, when a file the restored version needs (a data file or a
/// deletion-vector file) has been deleted (by vacuum) since.
///
/// The new version keeps the table's in-commit-timestamp settings as they are at the latest
/// version: the restored version's metadata is taken with the latest values of
/// `delta.enableInCommitTimestamps` and its enablement version and timestamp, so a restore
/// never switches in-commit timestamps back on with an enablement version that is no longer
/// true (or off again below a reader that relies on them).
///
/// ```no_run
/// # async fn demo() -> tidemark_core::Result<()> {
/// use tidemark_core::maintenance::restore::restore;
/// use tidemark_core::VersionSpec;
/// let location = tidemark_core::TableLocation::parse("/data/sales")?;
/// let outcome = restore(&location, VersionSpec::Version(3), Default::default()).await?;
/// println!("version {} reads like version 3", outcome.version);
/// # Ok(()) }
/// ```
pub async fn restore(
    location: &TableLocation,
    target: VersionSpec,
    commit: CommitMetadata,
) -> Result<RestoreOutcome> {
    let table = Table::from_location(location.clone());
    let latest = Arc::new(table.snapshot(VersionSpec::Latest).await?);
    let old = table.snapshot(target).await?;
    features::check_write_supported(latest.protocol(), latest.metadata(), latest.schema())?;
    let now = chrono::Utc::now().timestamp_millis();
    let old_files: HashMap<FileKey, &Add> = old.files().map(|a| (a.file_key(), a)).collect();
    let new_files: HashMap<FileKey, &Add> = latest.files().map(|a| (a.file_key(), a)).collect();
    let removes: Vec<Action> = latest
        .files_sorted()
        .into_iter()
        .filter(|a| !old_files.contains_key(&a.file_key()))
        .map(|a| Action::Remove(remove_for(a, now)))
        .collect();
    let adds: Vec<Add> = old
        .files_sorted()
        .into_iter()
        .filter(|a| !new_files.contains_key(&a.file_key()))
        .map(|a| {
            let mut add = a.clone();
            add.data_change = true;
            add
        })
        .collect();
    readable::check_files_readable(location, old.version(), &adds, Purpose::Restore).await?;
    let mut actions = Vec::new();
    let metadata = restored_metadata(old.metadata(), latest.metadata());
    if &metadata != latest.metadata() {
        actions.push(Action::Metadata(metadata));
    }
    let (files_added, files_removed) = (adds.len(), removes.len());
    actions.extend(removes);
    actions.extend(adds.into_iter().map(Action::Add));
    let outcome = Transaction::new(location.clone(), Some(latest.clone()), "RESTORE")
        .with_parameter("version", old.version().to_string())
        .with_parameter("timestamp", old.timestamp_ms().to_string())
        .with_metadata(commit)
        .with_read_scope(ReadScope::WholeTable)
        .with_metric("numRestoredFiles", files_added as i64)
        .with_metric("numRemovedFiles", files_removed as i64)
        .with_actions(actions)
        .commit()
        .await?;
    Ok(RestoreOutcome {
        version: outcome.version,
        restored_version: old.version(),
        files_added,
        files_removed,
    })
}

/// Table properties that describe the log's state at the newest version rather than the data:
/// a restore keeps their latest values.
const LATEST_STATE_PROPERTIES: &[&str] = &[
    "delta.enableInCommitTimestamps",
    "delta.inCommitTimestampEnablementVersion",
    "delta.inCommitTimestampEnablementTimestamp",
];

/// The metadata of the restored version, valid at the new version: `old`'s schema,
/// partitioning and properties, except the in-commit-timestamp properties, which stay as
/// `latest` has them.
fn restored_metadata(old: &Metadata, latest: &Metadata) -> Metadata {
    let mut metadata = old.clone();
    for key in LATEST_STATE_PROPERTIES {
        match latest.configuration.get(*key) {
            Some(value) => {
                metadata
                    .configuration
                    .insert((*key).to_string(), value.clone());
            }
            None => {
                metadata.configuration.remove(*key);
            }
        }
    }
    metadata
}
