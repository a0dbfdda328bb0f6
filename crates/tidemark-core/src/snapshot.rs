//! Snapshots: the state of a table at one version, rebuilt from the log.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use crate::actions::{Action, Add, DomainMetadata, Metadata, Protocol, Txn, parse_commit};
use crate::checkpoint_read::read_checkpoint_parquet;
use crate::error::{Error, Result};
use crate::features;
use crate::log_segment::{Checkpoint, LogFile, LogFileKind, LogListing, LogSegment};
use crate::replay::ReplayState;
use crate::schema::{ColumnMappingMode, StructType, parse_schema};
use crate::storage::TableLocation;
use crate::time_travel;

/// How many log files are fetched at once while loading a snapshot.
const LOG_FETCH_CONCURRENCY: usize = 16;

/// One consistent version of a table: protocol, metadata, schema and live files.
///
/// A snapshot never changes; [`Snapshot::refresh`] returns a new one for newer commits,
/// reading only the commits it has not seen.
#[derive(Debug, Clone)]
pub struct Snapshot {
    location: TableLocation,
    version: u64,
    timestamp_ms: i64,
    protocol: Protocol,
    metadata: Metadata,
    schema: Arc<StructType>,
    column_mapping: ColumnMappingMode,
    state: Arc<ReplayState>,
}

impl Snapshot {
    /// Loads version `version` (the latest when `None`) of the table at `location`.
    ///
    /// Uses `_last_checkpoint` to list only recent log files when loading the latest version;
    /// falls back to a full listing when the hint is missing, stale or wrong, and to an older
    /// checkpoint when the newest one cannot be read.
    pub async fn load(location: &TableLocation, version: Option<u64>) -> Result<Self> {
        if version.is_none()
            && let Some(hint) = crate::log_segment::read_last_checkpoint(location).await
        {
            let listing = LogListing::list(location, Some(hint.version)).await?;
            if listing.checkpoints.contains_key(&hint.version)
                && let Some(latest) = listing.latest_version()
                && let Ok(snapshot) = Self::load_from_listing(location, &listing, latest).await
            {
                return Ok(snapshot);
            }
        }
        let listing = LogListing::list(location, None).await?;
        let target = match version {
            Some(v) => v,
            None => listing
                .latest_version()
                .ok_or_else(|| Error::TableNotFound {
                    location: location.url().to_string(),
                })?,
        };
        if listing.latest_version().is_none() {
            return Err(Error::TableNotFound {
                location: location.url().to_string(),
            });
        }
        Self::load_from_listing(location, &listing, target).await
    }

    /// Loads `version` from an existing listing of the log.
    pub async fn load_from_listing(
        location: &TableLocation,
        listing: &LogListing,
        version: u64,
    ) -> Result<Self> {
        let mut limit = None;
        loop {
            let segment = listing.segment(version, limit)?;
            match Self::replay_segment(location, listing, &segment).await {
                Ok(snapshot) => return Ok(snapshot),
                Err(err) => match &segment.checkpoint {
                    // A checkpoint that cannot be read: try the next older one, if the
                    // commits from there are all present.
                    Some(checkpoint)
                        if is_unreadable_checkpoint(&err) && checkpoint.version > 0 =>
                    {
                        limit = Some(checkpoint.version - 1);
                        if listing.segment(version, limit).is_err() {
                            return Err(err);
                        }
                    }
                    _ => return Err(err),
                },
            }
        }
    }

    async fn replay_segment(
        location: &TableLocation,
        listing: &LogListing,
        segment: &LogSegment,
    ) -> Result<Self> {
        let mut state = ReplayState::default();
        if let Some(checkpoint) = &segment.checkpoint {
            state.apply(read_checkpoint(location, checkpoint).await?);
        }
        let commits = read_commits(location, &segment.commits).await?;
        let mut last_commit_info = None;
        for (file, actions) in segment.commits.iter().zip(commits) {
            if file.version == segment.version {
                last_commit_info = actions.iter().find_map(|a| match a {
                    Action::CommitInfo(ci) => Some(ci.clone()),
                    _ => None,
                });
            }
            state.apply(actions);
        }
        let snapshot = Self::from_state(location.clone(), segment.version, state, 0)?;
        let timestamp_ms = match (&last_commit_info, listing.commits.get(&segment.version)) {
            (Some(ci), _) if snapshot.in_commit_timestamps_enabled() => {
                ci.in_commit_timestamp().ok_or_else(|| {
                    Error::invalid_log(
                        format!("version {}", segment.version),
                        "in-commit timestamps are enabled but the commit has no inCommitTimestamp",
                    )
                })?
            }
            (_, Some(file)) => {
                time_travel::commit_timestamp(
                    location,
                    file,
                    snapshot.in_commit_timestamps_enabled(),
                )
                .await?
            }
            (_, None) => segment
                .checkpoint
                .as_ref()
                .and_then(|c| c.files.first())
                .map_or(0, |f| f.meta.last_modified.timestamp_millis()),
        };
        Ok(Self {
            timestamp_ms,
            ..snapshot
        })
    }

    fn from_state(
        location: TableLocation,
        version: u64,
        state: ReplayState,
        timestamp_ms: i64,
    ) -> Result<Self> {
        let protocol = state.protocol.clone().ok_or(Error::MissingAction {
            action: "protocol",
            version,
        })?;
        let metadata = state.metadata.clone().ok_or(Error::MissingAction {
            action: "metaData",
            version,
        })?;
        features::check_read_supported(&protocol)?;
        let schema = parse_schema(&metadata.schema_string)?;
        let column_mapping = ColumnMappingMode::from_configuration(&metadata.configuration)?;
        Ok(Self {
            location,
            version,
            timestamp_ms,
            protocol,
            metadata,
            schema: Arc::new(schema),
            column_mapping,
            state: Arc::new(state),
        })
    }

    /// Returns a snapshot of the newest version, reading only commits newer than this one.
    /// Returns a clone of `self` when nothing is new.
    pub async fn refresh(&self) -> Result<Self> {
        let listing = LogListing::list(&self.location, Some(self.version + 1)).await?;
        let new_commits: Vec<LogFile> = listing.commits.values().cloned().collect();
        let Some(last) = new_commits.last() else {
            return Ok(self.clone());
        };
        let contiguous = new_commits
            .iter()
            .enumerate()
            .all(|(i, f)| f.version == self.version + 1 + i as u64);
        if !contiguous {
            // Commits were cleaned up since this snapshot (or the log is broken): start over.
            return Self::load(&self.location, None).await;
        }
        let mut state = (*self.state).clone();
        let commits = read_commits(&self.location, &new_commits).await?;
        let mut last_commit_info = None;
        for actions in commits {
            last_commit_info = actions.iter().find_map(|a| match a {
                Action::CommitInfo(ci) => Some(ci.clone()),
                _ => None,
            });
            state.apply(actions);
        }
        let snapshot = Self::from_state(self.location.clone(), last.version, state, 0)?;
        let timestamp_ms = match last_commit_info.and_then(|ci| ci.in_commit_timestamp()) {
            Some(ict) if snapshot.in_commit_timestamps_enabled() => ict,
            _ => last.meta.last_modified.timestamp_millis(),
        };
        Ok(Self {
            timestamp_ms,
            ..snapshot
        })
    }

    /// The table location.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// The version of this snapshot.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The commit timestamp of this version, in milliseconds since the epoch (the in-commit
    /// timestamp where the table records them, else the commit file's modification time).
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }

    /// The protocol in force.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// The table metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The table schema of this version.
    pub fn schema(&self) -> &Arc<StructType> {
        &self.schema
    }

    /// The column mapping mode of this version.
    pub fn column_mapping(&self) -> ColumnMappingMode {
        self.column_mapping
    }

    /// The partition columns, in order.
    pub fn partition_columns(&self) -> &[String] {
        &self.metadata.partition_columns
    }

    /// The live data files, in no particular order.
    pub fn files(&self) -> impl Iterator<Item = &Add> {
        self.state.files.values()
    }

    /// The live data files sorted by path (deterministic order).
    pub fn files_sorted(&self) -> Vec<&Add> {
        let mut files: Vec<&Add> = self.state.files.values().collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    /// Number of live data files.
    pub fn num_files(&self) -> usize {
        self.state.files.len()
    }

    /// The newest transaction marker of an application.
    pub fn txn(&self, app_id: &str) -> Option<&Txn> {
        self.state.txns.get(app_id)
    }

    /// All transaction markers.
    pub fn txns(&self) -> impl Iterator<Item = &Txn> {
        self.state.txns.values()
    }

    /// A metadata domain's configuration.
    pub fn domain(&self, name: &str) -> Option<&DomainMetadata> {
        self.state.domains.get(name)
    }

    /// The replayed state: live files, transactions, domains and tombstones.
    pub fn state(&self) -> &ReplayState {
        &self.state
    }

    /// The snapshot id of this version: `tm1.<table id>.<version>.<content digest>`, unique
    /// across tables and verifiable (see [`crate::snapshot_id`]).
    pub fn snapshot_id(&self) -> Result<String> {
        Ok(crate::snapshot_id::SnapshotId::of(self)?.to_string())
    }

    /// Whether the table records in-commit timestamps.
    pub fn in_commit_timestamps_enabled(&self) -> bool {
        self.metadata
            .configuration
            .get("delta.enableInCommitTimestamps")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

fn is_unreadable_checkpoint(err: &Error) -> bool {
    matches!(
        err,
        Error::Parquet { .. }
            | Error::InvalidLog { .. }
            | Error::ObjectStore { .. }
            | Error::Arrow { .. }
    )
}

/// Reads every action of a checkpoint: all parts, and for v2 checkpoints the sidecars.
pub async fn read_checkpoint(
    location: &TableLocation,
    checkpoint: &Checkpoint,
) -> Result<Vec<Action>> {
    let mut actions = Vec::new();
    for file in &checkpoint.files {
        let part = match file.kind {
            LogFileKind::V2Checkpoint { json: true } => {
                let bytes = get_bytes(location, &file.meta.location).await?;
                parse_commit(&bytes, file.meta.location.as_ref())?
            }
            _ => {
                read_checkpoint_parquet(location, &file.meta.location, Some(file.meta.size)).await?
            }
        };
        actions.extend(part);
    }
    let sidecars: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Sidecar(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    if !sidecars.is_empty() {
        let sidecar_actions: Vec<Vec<Action>> = futures::stream::iter(sidecars)
            .map(|sidecar| {
                let location = location.clone();
                async move {
                    let path = sidecar_path(&location, &sidecar.path)?;
                    read_checkpoint_parquet(
                        &location,
                        &path,
                        u64::try_from(sidecar.size_in_bytes).ok(),
                    )
                    .await
                }
            })
            .buffered(LOG_FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        actions.extend(sidecar_actions.into_iter().flatten());
    }
    Ok(actions)
}

fn sidecar_path(location: &TableLocation, path: &str) -> Result<object_store::path::Path> {
    if path.contains('/') || path.contains(':') {
        location.resolve(path)
    } else {
        Ok(location.log_root().join("_sidecars").join(path))
    }
}

async fn read_commits(location: &TableLocation, files: &[LogFile]) -> Result<Vec<Vec<Action>>> {
    let paths: Vec<object_store::path::Path> =
        files.iter().map(|f| f.meta.location.clone()).collect();
    futures::stream::iter(paths)
        .map(|path| {
            let location = location.clone();
            async move {
                let bytes = get_bytes(&location, &path).await?;
                parse_commit(&bytes, path.as_ref())
            }
        })
        .buffered(LOG_FETCH_CONCURRENCY)
        .try_collect()
        .await
}

/// Reads a whole object.
pub(crate) async fn get_bytes(
    location: &TableLocation,
    path: &object_store::path::Path,
) -> Result<bytes::Bytes> {
    let context = || format!("reading '{path}'");
    location
        .store()
        .get(path)
        .await
        .map_err(|e| Error::store(context(), e))?
        .bytes()
        .await
        .map_err(|e| Error::store(context(), e))
}
