//! Snapshots: the state of a table at one version, rebuilt from the log.

pub(crate) mod id;
pub(crate) mod time_travel;

pub use id::SnapshotId;
pub use time_travel::parse_instant;

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use crate::checkpoint::read::{
    read_checkpoint_parquet, read_checkpoint_parquet_kinds, read_checkpoint_parquet_stream,
};
use crate::error::{Error, Result};
use crate::features;
use crate::log::actions::{
    Action, Add, CommitInfo, DomainMetadata, Metadata, Protocol, Txn, for_each_action,
    for_each_action_numbered, parse_commit,
};
use crate::log::listing::{Checkpoint, LogFile, LogFileKind, LogListing, LogSegment};
use crate::log::replay::ReplayState;
use crate::schema::{ColumnMappingMode, StructType, parse_schema};
use crate::storage::TableLocation;

/// How many log files are fetched at once while loading a snapshot.
const LOG_FETCH_CONCURRENCY: usize = 16;

/// How many bytes of commit files may be fetched ahead of the one being replayed.
const LOG_FETCH_BYTES: u64 = 16 * 1024 * 1024;

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
    /// Lists only the log files needed where it can (see [`LogListing::list_for_version`]):
    /// on the local file system the names of the log files tell which to read; elsewhere
    /// `_last_checkpoint` tells where to start listing. Falls back to a full listing when that
    /// fails or finds the log amiss, and to an older checkpoint when the newest one cannot be
    /// read.
    pub(crate) async fn load(location: &TableLocation, version: Option<u64>) -> Result<Self> {
        if let Some(listing) = LogListing::list_for_version(location, version).await
            && let Some(target) = version.or_else(|| listing.latest_version())
            && let Ok(snapshot) = Self::load_from_listing(location, &listing, target).await
        {
            return Ok(snapshot);
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
    pub(crate) async fn load_from_listing(
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
            apply_checkpoint(location, checkpoint, &mut state).await?;
        }
        state.files.reserve(likely_adds(&segment.commits));
        let last_commit_info = replay_commits(location, &segment.commits, &mut state).await?;
        // Only the target version's commit info says anything about its timestamp.
        let last_commit_info = last_commit_info.filter(|_| {
            segment
                .commits
                .last()
                .is_some_and(|c| c.version == segment.version)
        });
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
        let last_commit_info = replay_commits(&self.location, &new_commits, &mut state).await?;
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

    /// The live data files sorted by path, then by deletion-vector id (no vector first): the
    /// order of snapshot ids, which does not depend on how the version was replayed (from a
    /// checkpoint or from commits), even when one path is live with two deletion vectors.
    pub fn files_sorted(&self) -> Vec<&Add> {
        let mut files: Vec<&Add> = self.state.files.values().collect();
        files.sort_by(|a, b| id::content_order(a, b));
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
    pub(crate) fn state(&self) -> &ReplayState {
        &self.state
    }

    /// The snapshot id of this version: `tm1.<table id>.<version>.<content digest>`, unique
    /// across tables and verifiable (see [`SnapshotId`]).
    pub fn snapshot_id(&self) -> Result<String> {
        Ok(crate::snapshot::id::SnapshotId::of(self)?.to_string())
    }

    /// Whether the table records in-commit timestamps.
    pub fn in_commit_timestamps_enabled(&self) -> bool {
        self.metadata
            .configuration
            .get("delta.enableInCommitTimestamps")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// The shortest `add` line a commit can hold is about this long (path, size, time, flags).
const MIN_ADD_LINE_BYTES: u64 = 100;

/// At most this many files are reserved for ahead of a replay.
const MAX_RESERVED_FILES: u64 = 4_000_000;

/// An upper bound on the files `commits` can add, from their sizes: reserving it up front
/// spares the replay state repeated doubling (each doubling copies every file so far and, for
/// a moment, holds both copies). Unused capacity is address space the allocator never touches.
fn likely_adds(commits: &[LogFile]) -> usize {
    let bytes: u64 = commits.iter().map(|c| c.meta.size).sum();
    usize::try_from((bytes / MIN_ADD_LINE_BYTES).min(MAX_RESERVED_FILES)).unwrap_or(0)
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

fn sidecar_path(location: &TableLocation, path: &str) -> Result<object_store::path::Path> {
    if path.contains('/') || path.contains(':') {
        location.resolve(path)
    } else {
        Ok(location.log_root().join("_sidecars").join(path))
    }
}

/// Applies every action of a checkpoint to `state`: all parts in order, then for v2
/// checkpoints the sidecars in order. Parquet files are applied one record batch at a time, so
/// the checkpoint never exists as one vector of actions.
async fn apply_checkpoint(
    location: &TableLocation,
    checkpoint: &Checkpoint,
    state: &mut ReplayState,
) -> Result<()> {
    let mut sidecars = Vec::new();
    let mut apply = |action: Action| match action {
        Action::Sidecar(sidecar) => sidecars.push(sidecar),
        other => state.apply_action(other),
    };
    for file in &checkpoint.files {
        match file.kind {
            LogFileKind::V2Checkpoint { json: true } => {
                let bytes = get_bytes(location, &file.meta.location).await?;
                for_each_action(&bytes, file.meta.location.as_ref(), |action| {
                    apply(action);
                    Ok(())
                })?;
            }
            _ => {
                let mut batches = read_checkpoint_parquet_stream(
                    location,
                    &file.meta.location,
                    Some(file.meta.size),
                )
                .await?;
                while let Some(actions) = batches.try_next().await? {
                    actions.into_iter().for_each(&mut apply);
                }
            }
        }
    }
    if !sidecars.is_empty() {
        let mut sidecar_actions = futures::stream::iter(sidecars)
            .map(|sidecar| async move {
                let path = sidecar_path(location, &sidecar.path)?;
                read_checkpoint_parquet(location, &path, u64::try_from(sidecar.size_in_bytes).ok())
                    .await
            })
            .buffered(LOG_FETCH_CONCURRENCY);
        while let Some(actions) = sidecar_actions.try_next().await? {
            state.apply(actions);
        }
    }
    Ok(())
}

/// Commits at least this large are parsed in pieces on the blocking thread pool, several at
/// once, while the pieces already parsed are applied in order.
const PARALLEL_PARSE_BYTES: usize = 4 * 1024 * 1024;

/// The size of those pieces (they end at line ends).
const PARSE_PIECE_BYTES: usize = 256 * 1024;

/// Applies commits to `state` in order, and returns the first `commitInfo` of the last one.
///
/// The files are fetched ahead as [`Prefetch`] allows. Each commit is parsed and applied
/// action by action; a large one is cut into pieces at line ends that are parsed in parallel
/// (as many at once as there are cores), each applied as soon as it and those before it are
/// parsed, so that only a few pieces' actions exist at any time.
async fn replay_commits(
    location: &TableLocation,
    files: &[LogFile],
    state: &mut ReplayState,
) -> Result<Option<CommitInfo>> {
    let mut prefetch = Prefetch::new(location, files.iter());
    let mut last_commit_info = None;
    while let Some(fetched) = prefetch.next().await {
        let (file, bytes) = fetched?;
        let path = file.meta.location.as_ref();
        let mut commit_info = None;
        let mut apply = |action: Action| {
            if commit_info.is_none()
                && let Action::CommitInfo(ci) = &action
            {
                commit_info = Some(ci.clone());
            }
            state.apply_action(action);
        };
        let parallel =
            bytes.len() >= PARALLEL_PARSE_BYTES && tokio::runtime::Handle::try_current().is_ok();
        if parallel {
            let tasks = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
            let mut pieces = futures::stream::iter(line_pieces(&bytes, PARSE_PIECE_BYTES))
                .map(|(range, first_line)| {
                    let piece = bytes.slice(range);
                    let path = path.to_string();
                    tokio::task::spawn_blocking(move || {
                        let mut actions = Vec::new();
                        for_each_action_numbered(&piece, &path, first_line, |action| {
                            actions.push(action);
                            Ok(())
                        })
                        .map(|()| actions)
                    })
                })
                .buffered(tasks);
            while let Some(parsed) = pieces.next().await {
                let actions = parsed.map_err(|e| {
                    Error::invalid_log(path, format!("the task parsing it failed: {e}"))
                })??;
                actions.into_iter().for_each(&mut apply);
            }
        } else {
            for_each_action(&bytes, path, |action| {
                apply(action);
                Ok(())
            })?;
        }
        last_commit_info = commit_info;
    }
    Ok(last_commit_info)
}

/// Cuts newline-delimited text into pieces of about `size` bytes that end at line ends: each
/// piece's byte range and the number of lines before it.
fn line_pieces(bytes: &[u8], size: usize) -> Vec<(std::ops::Range<usize>, usize)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut lines_before = 0;
    while start < bytes.len() {
        let cut = start.saturating_add(size).min(bytes.len());
        let end = match memchr::memchr(b'\n', &bytes[cut..]) {
            Some(i) => cut + i + 1,
            None => bytes.len(),
        };
        pieces.push((start..end, lines_before));
        lines_before += memchr::memchr_iter(b'\n', &bytes[start..end]).count();
        start = end;
    }
    pieces
}

/// Fetches log files in order, ahead of the one being handled: up to
/// [`LOG_FETCH_CONCURRENCY`] files at once, as long as those not yet handed out add up to at
/// most [`LOG_FETCH_BYTES`] (one file is always fetched, whatever its size), so a log of many
/// small commits is read concurrently and one of a few huge commits is not held in memory all
/// at once.
struct Prefetch<'a, I> {
    location: &'a TableLocation,
    files: I,
    queued: Option<&'a LogFile>,
    pending: futures::stream::FuturesOrdered<
        futures::future::BoxFuture<'a, Result<(&'a LogFile, bytes::Bytes)>>,
    >,
    in_flight: u64,
}

impl<'a, I: Iterator<Item = &'a LogFile>> Prefetch<'a, I> {
    fn new(location: &'a TableLocation, files: I) -> Self {
        Self {
            location,
            files,
            queued: None,
            pending: futures::stream::FuturesOrdered::new(),
            in_flight: 0,
        }
    }

    /// The next file and its bytes, `None` after the last one.
    async fn next(&mut self) -> Option<Result<(&'a LogFile, bytes::Bytes)>> {
        while let Some(file) = self.queued.take().or_else(|| self.files.next()) {
            let fits = self.in_flight.saturating_add(file.meta.size) <= LOG_FETCH_BYTES;
            if self.pending.len() >= LOG_FETCH_CONCURRENCY || (!self.pending.is_empty() && !fits) {
                self.queued = Some(file);
                break;
            }
            self.in_flight = self.in_flight.saturating_add(file.meta.size);
            let location = self.location;
            self.pending.push_back(Box::pin(async move {
                get_bytes(location, &file.meta.location)
                    .await
                    .map(|bytes| (file, bytes))
            }));
        }
        let fetched = self.pending.next().await?;
        if let Ok((file, _)) = &fetched {
            self.in_flight = self.in_flight.saturating_sub(file.meta.size);
        }
        Some(fetched)
    }
}

/// Fetches log files (see [`Prefetch`]) and hands each one's bytes to `f`, in order, stopping
/// early when `f` returns false.
async fn for_each_log_file<'a>(
    location: &'a TableLocation,
    files: impl Iterator<Item = &'a LogFile>,
    mut f: impl FnMut(&LogFile, bytes::Bytes) -> Result<bool>,
) -> Result<()> {
    let mut prefetch = Prefetch::new(location, files);
    while let Some(fetched) = prefetch.next().await {
        let (file, bytes) = fetched?;
        if !f(file, bytes)? {
            break;
        }
    }
    Ok(())
}

/// The protocol and table metadata in force at `version`, read without replaying the log: the
/// newest commits up to `version` that changed them, else the checkpoint's `protocol` and
/// `metaData` columns alone.
///
/// Commits are read newest first, and only one that mentions `protocol` or `metaData` is
/// parsed. Fails like [`Snapshot::load_from_listing`] would when the files are missing.
pub(crate) async fn protocol_and_metadata_at(
    location: &TableLocation,
    listing: &LogListing,
    version: u64,
) -> Result<(Protocol, Metadata)> {
    let segment = listing.segment(version, None)?;
    let mut protocol = None;
    let mut metadata = None;
    let take =
        |action: Action, protocol: &mut Option<Protocol>, metadata: &mut Option<Metadata>| {
            match action {
                Action::Protocol(p) if protocol.is_none() => *protocol = Some(p),
                Action::Metadata(m) if metadata.is_none() => *metadata = Some(m),
                _ => {}
            }
        };
    for_each_log_file(location, segment.commits.iter().rev(), |file, bytes| {
        if memchr::memmem::find(&bytes, b"\"metaData\"").is_none()
            && memchr::memmem::find(&bytes, b"\"protocol\"").is_none()
        {
            return Ok(true);
        }
        for_each_action(&bytes, file.meta.location.as_ref(), |action| {
            take(action, &mut protocol, &mut metadata);
            Ok(())
        })?;
        Ok(protocol.is_none() || metadata.is_none())
    })
    .await?;
    if let Some(checkpoint) = &segment.checkpoint
        && (protocol.is_none() || metadata.is_none())
    {
        for file in &checkpoint.files {
            let actions = match file.kind {
                LogFileKind::V2Checkpoint { json: true } => {
                    let bytes = get_bytes(location, &file.meta.location).await?;
                    parse_commit(&bytes, file.meta.location.as_ref())?
                }
                _ => {
                    read_checkpoint_parquet_kinds(
                        location,
                        &file.meta.location,
                        Some(file.meta.size),
                        &["protocol", "metaData"],
                    )
                    .await?
                }
            };
            for action in actions {
                take(action, &mut protocol, &mut metadata);
            }
        }
    }
    let protocol = protocol.ok_or(Error::MissingAction {
        action: "protocol",
        version,
    })?;
    let metadata = metadata.ok_or(Error::MissingAction {
        action: "metaData",
        version,
    })?;
    Ok((protocol, metadata))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_pieces_end_at_line_ends_and_count_lines() {
        let text = b"aaaa\nbb\ncccccc\nd\n\ne";
        let pieces = line_pieces(text, 3);
        let mut joined = Vec::new();
        let mut lines = 0;
        for (range, before) in &pieces {
            assert_eq!(*before, lines);
            let piece = &text[range.clone()];
            assert!(range.end == text.len() || piece.ends_with(b"\n"));
            lines += piece.iter().filter(|b| **b == b'\n').count();
            joined.extend_from_slice(piece);
        }
        assert_eq!(joined, text);
        assert_eq!(pieces.len(), 3);
        assert!(line_pieces(b"", 3).is_empty());
    }

    /// A commit of `files` adds (and a remove after every tenth), with file `bad` (if any)
    /// replaced by an invalid line: line `2 + bad + bad / 10` of the file.
    fn big_commit(files: usize, bad: Option<usize>) -> Vec<u8> {
        let mut text = Vec::new();
        text.extend_from_slice(br#"{"commitInfo":{"timestamp":5,"operation":"WRITE"}}"#);
        text.push(b'\n');
        for i in 0..files {
            if Some(i) == bad {
                text.extend_from_slice(b"{oops\n");
                continue;
            }
            let line = format!(
                r#"{{"add":{{"path":"part={}/file-{i:08}-with-a-rather-long-name-to-make-the-commit-large.parquet","partitionValues":{{"part":"{}"}},"size":{i},"modificationTime":0,"dataChange":true}}}}"#,
                i % 7,
                i % 7
            );
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
            // Every tenth file is removed again a few lines later.
            if i % 10 == 9 {
                let line = format!(
                    r#"{{"remove":{{"path":"part={}/file-{:08}-with-a-rather-long-name-to-make-the-commit-large.parquet","dataChange":true}}}}"#,
                    (i - 3) % 7,
                    i - 3
                );
                text.extend_from_slice(line.as_bytes());
                text.push(b'\n');
            }
        }
        text
    }

    #[tokio::test]
    async fn a_large_commit_parsed_in_pieces_replays_like_one_parsed_whole() {
        let location = TableLocation::parse("memory:///t").unwrap();
        let text = big_commit(40_000, None);
        assert!(text.len() > PARALLEL_PARSE_BYTES);
        let path = location.log_root().join("00000000000000000000.json");
        location
            .store()
            .put(&path, text.clone().into())
            .await
            .unwrap();
        let listing = LogListing::list(&location, None).await.unwrap();
        let files: Vec<LogFile> = listing.commits.values().cloned().collect();
        let mut state = ReplayState::default();
        let info = replay_commits(&location, &files, &mut state).await.unwrap();
        assert_eq!(info.and_then(|ci| ci.timestamp()), Some(5));
        let mut whole = ReplayState::default();
        whole.apply(parse_commit(&text, "t").unwrap());
        assert_eq!(state.files.len(), 36_000);
        assert_eq!(state.files.len(), whole.files.len());
        assert_eq!(state.tombstones.len(), whole.tombstones.len());
        for add in whole.files.values() {
            assert_eq!(state.files.get(&add.path, None), Some(add));
        }

        let bad = big_commit(40_000, Some(29_998));
        location.store().put(&path, bad.into()).await.unwrap();
        let listing = LogListing::list(&location, None).await.unwrap();
        let files: Vec<LogFile> = listing.commits.values().cloned().collect();
        let err = replay_commits(&location, &files, &mut ReplayState::default())
            .await
            .unwrap_err();
        let line = 2 + 29_998 + 29_998 / 10;
        assert!(err.to_string().contains(&format!("line {line} ")), "{err}");
    }
}
