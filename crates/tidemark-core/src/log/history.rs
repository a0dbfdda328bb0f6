//! History: the commits of a table, newest first, with their provenance.

use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::log::actions::{Action, CommitInfo, parse_commit};
use crate::log::listing::LogListing;
use crate::snapshot::get_bytes;
use crate::storage::TableLocation;

/// One commit of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitEntry {
    /// The version the commit made.
    pub version: u64,
    /// Its timestamp in milliseconds: in-commit timestamp if recorded, else `commitInfo.timestamp`,
    /// else the file's modification time.
    pub timestamp_ms: i64,
    /// The commit's `commitInfo` (empty if it has none).
    pub commit_info: CommitInfo,
    /// Counts of the actions in the commit.
    pub actions: ActionCounts,
}

/// How many actions of each kind a commit holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionCounts {
    /// `add` actions.
    pub adds: usize,
    /// `remove` actions.
    pub removes: usize,
    /// Whether it changed the metadata (schema, properties).
    pub metadata: bool,
    /// Whether it changed the protocol.
    pub protocol: bool,
}

/// Reads the history of the table: the newest `limit` commits (all when `None`).
pub async fn history(location: &TableLocation, limit: Option<usize>) -> Result<Vec<CommitEntry>> {
    let listing = LogListing::list(location, None).await?;
    if listing.latest_version().is_none() {
        return Err(Error::TableNotFound {
            location: location.url().to_string(),
        });
    }
    let files: Vec<_> = listing
        .commits
        .values()
        .rev()
        .take(limit.unwrap_or(usize::MAX))
        .cloned()
        .collect();
    futures::stream::iter(files)
        .map(|file| {
            let location = location.clone();
            async move {
                let bytes = get_bytes(&location, &file.meta.location).await?;
                let actions = parse_commit(&bytes, file.meta.location.as_ref())?;
                let mut counts = ActionCounts::default();
                let mut commit_info = CommitInfo::default();
                for action in actions {
                    match action {
                        Action::Add(_) => counts.adds += 1,
                        Action::Remove(_) => counts.removes += 1,
                        Action::Metadata(_) => counts.metadata = true,
                        Action::Protocol(_) => counts.protocol = true,
                        Action::CommitInfo(ci) => commit_info = ci,
                        _ => {}
                    }
                }
                let timestamp_ms = commit_info
                    .in_commit_timestamp()
                    .or_else(|| commit_info.timestamp())
                    .unwrap_or_else(|| file.meta.last_modified.timestamp_millis());
                Ok::<_, Error>(CommitEntry {
                    version: file.version,
                    timestamp_ms,
                    commit_info,
                    actions: counts,
                })
            }
        })
        .buffered(16)
        .try_collect()
        .await
}
