//! Commits: writing one new version of the log, atomically, with optimistic concurrency.
//!
//! A transaction reads a snapshot at version `r` and tries to create
//! `_delta_log/<r + 1>.json` with put-if-absent. When another writer has taken that version,
//! the transaction reads the winning commit and checks it for conflicts:
//!
//! - a change of protocol or metadata always conflicts;
//! - a `txn` for the same application id conflicts (the idempotent write raced itself);
//! - a file the winner removes inside what this transaction read conflicts (Delta's
//!   "concurrent delete read"): with the whole table read (an overwrite, a restore) any
//!   `remove`; with partitions read (a replace-where) a `remove` whose `partitionValues` match
//!   the predicate, or that records no partition values (it might match); with files read (a
//!   row-level delete, update or merge, a compaction: [`Transaction::with_read_files`]) a
//!   `remove` of one of those paths. A `remove` with `dataChange = false` (a compaction moving
//!   rows to other files) conflicts too: the rows this transaction read now live in files it
//!   did not read, and committing would build on a state that no longer exists; retrying on
//!   a fresh snapshot is cheap, a wrong table is not;
//! - a file this transaction removes, removed by the winner too, conflicts (even when this
//!   transaction declared no read set);
//! - files the winner adds inside what this transaction read (the whole table for an
//!   overwrite, the matching partitions for a replace-where) conflict; a read set of explicit
//!   files is not touched by adds;
//! - a blind append (nothing read, only adds) conflicts with none of the data changes of
//!   others, removes included.
//!
//! Without a conflict the transaction moves on to the next version and tries again, so no
//! commit is ever lost or overwritten, and a failed commit leaves the log as it was.
//!
//! **Ambiguous puts.** A put of `<N>.json` that fails with a transient error (a timeout, a
//! dropped connection) may have landed, and may even land later (a delayed request). The
//! commit never guesses: it reads `<N>.json` back and compares its `commitInfo.txnId` (a fresh
//! UUID per transaction) with its own. Its own id means the commit succeeded; another id means
//! another writer won version `N` (checked for conflicts as above); no file means the put has
//! not landed (yet), and it is tried again at the same version `N`, with put-if-absent, after
//! a backoff with jitter, up to [`RetryPolicy::max_attempts`](crate::storage::retry::RetryPolicy::max_attempts) times. The same check runs when a
//! put reports "already exists": that object may be this transaction's own earlier, ambiguous
//! put.
//!
//! Once a put at `N` has failed ambiguously, the outcome stays open until `N` is seen to hold
//! a commit: this transaction's (success) or another writer's. Every final failure while it is
//! open (the put keeps failing, reading back fails, the store then refuses the put) is
//! [`Error::CommitOutcomeUnknown`], never "nothing was committed": a late landing of one of
//! those puts would commit the transaction after the error was reported. The safe retry is a
//! write under an application transaction id (a `txn` action): if the first attempt landed,
//! the retry finds the `txn` and is skipped (or, if it lands while the retry commits, the two
//! `txn`s of one application conflict), so the rows are never written twice.
//! [`Error::CommitFailed`] is left for a put the store refused outright (not a transient error)
//! while no ambiguous put is open: nothing can land then.
//!
//! **No double commit across versions.** All puts of a transaction at version `N` target the
//! same object, `<N>.json`, with put-if-absent, so at most one of them can ever create it, and
//! none can once another writer's commit holds `N`. The transaction moves on to `N + 1` only
//! after reading another writer's commit at `N` (its own would have been a success); from then
//! on every earlier put of it, however late, can only fail. So a transaction creates at most one
//! version, even when an ambiguous put at `N` was first read back as absent, then `N` turned
//! out to be another writer's, and the transaction committed `N + 1`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use object_store::{PutMode, PutOptions, PutPayload};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::extensions::vacuum_plan;
use crate::log::actions::{Action, CommitInfo, Remove, parse_commit};
use crate::log::listing::commit_file_name;
use crate::partition::predicate::PartitionPredicate;
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;
use crate::storage::retry::is_transient;
use crate::test_hooks::pause_point;

/// How many versions a commit tries before giving up, by default.
pub const DEFAULT_MAX_COMMIT_ATTEMPTS: usize = 10_000;

/// The engine name recorded in `commitInfo.engineInfo`.
pub fn engine_info() -> String {
    format!("tidemark/{}", env!("CARGO_PKG_VERSION"))
}

/// Who made a commit and why: recorded in its `commitInfo`, shown by history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitMetadata {
    /// A message, as `commitInfo.userMetadata`.
    pub message: Option<String>,
    /// The author, as `commitInfo.userName`.
    pub author: Option<String>,
    /// Any key/value pairs (a code commit, a job id, hyperparameters), as
    /// `commitInfo.tidemark.meta`.
    pub properties: BTreeMap<String, String>,
}

/// What a transaction read, which decides what concurrent commits conflict with it.
///
/// A transaction's read set is a list of these ([`Transaction::with_read_scope`] and
/// [`Transaction::with_read_files`] add to it): a concurrent commit that adds a file inside a
/// scope (whole table, matching partitions), or removes a file inside one (any of the four but
/// [`ReadScope::Nothing`]), conflicts with it. See the module documentation.
#[derive(Debug, Clone, Default)]
pub enum ReadScope {
    /// Nothing: a blind append.
    #[default]
    Nothing,
    /// The whole table (an overwrite, a restore).
    WholeTable,
    /// The partitions matching a predicate (a replace-where).
    Partitions(Arc<PartitionPredicate>),
    /// Exactly these files, by the `path` of their `add` actions (a row-level delete, update
    /// or merge reads the files it rewrites; a compaction the files it replaces). A concurrent
    /// `remove` of one of them conflicts; concurrent adds do not.
    // Declared by row-level operations and compactions; until they land, only the tests
    // (through `testing`, under `test-support`) declare file lists.
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    Files(HashSet<String>),
}

impl ReadScope {
    /// The scope of exactly the files at `paths` (as their `add` actions spell them).
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    pub fn files<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ReadScope::Files(paths.into_iter().map(Into::into).collect())
    }

    /// Why a winner's `remove` of `remove` falls inside this scope, if it does.
    fn covers_removed(&self, remove: &Remove) -> Option<String> {
        match self {
            ReadScope::Nothing => None,
            ReadScope::WholeTable => Some("it read the whole table".into()),
            ReadScope::Partitions(predicate) => match &remove.partition_values {
                None => Some(format!(
                    "it read the partitions matching '{predicate}', and the remove records no partition values, so it may be in one of them"
                )),
                // A value that does not parse cannot be ruled out: it counts as matching.
                Some(values) => match predicate.matches(values) {
                    Ok(false) => None,
                    Ok(true) => Some(format!("it read the partitions matching '{predicate}'")),
                    Err(e) => Some(format!(
                        "it read the partitions matching '{predicate}', and the remove's partition values cannot be compared with it ({e})"
                    )),
                },
            },
            ReadScope::Files(paths) => paths
                .contains(&remove.path)
                .then(|| "it read that file".to_string()),
        }
    }
}

/// The result of a successful commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The version created.
    pub version: u64,
    /// How many versions were tried (1 when no other writer interfered).
    pub attempts: usize,
    /// The commit timestamp recorded (the in-commit timestamp where the table keeps them).
    pub timestamp_ms: i64,
}

/// One transaction: the actions of a new version, and what it read.
///
/// ```no_run
/// # async fn demo(snapshot: tidemark_core::snapshot::Snapshot, adds: Vec<tidemark_core::log::actions::Add>) -> tidemark_core::Result<()> {
/// use tidemark_core::log::actions::Action;
/// use tidemark_core::testing::Transaction;
/// let outcome = Transaction::new(snapshot.location().clone(), Some(snapshot.into()), "WRITE")
///     .with_actions(adds.into_iter().map(Action::Add))
///     .commit()
///     .await?;
/// println!("committed version {}", outcome.version);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Transaction {
    location: TableLocation,
    read_snapshot: Option<Arc<Snapshot>>,
    operation: String,
    operation_parameters: Map<String, Value>,
    operation_metrics: Map<String, Value>,
    metadata: CommitMetadata,
    actions: Vec<Action>,
    /// What the transaction read: empty for a blind append (never holds
    /// [`ReadScope::Nothing`]).
    read_set: Vec<ReadScope>,
    max_attempts: usize,
    /// Entries recorded under `commitInfo.tidemark` besides `meta` (e.g. `lineage`).
    tidemark_entries: Map<String, Value>,
}

impl Transaction {
    /// A transaction on the table at `location` that read `read_snapshot` (`None` when it
    /// creates the table), for the operation named `operation` (`WRITE`, `CREATE TABLE`, …).
    pub fn new(
        location: TableLocation,
        read_snapshot: Option<Arc<Snapshot>>,
        operation: impl Into<String>,
    ) -> Self {
        Self {
            location,
            read_snapshot,
            operation: operation.into(),
            operation_parameters: Map::new(),
            operation_metrics: Map::new(),
            metadata: CommitMetadata::default(),
            actions: Vec::new(),
            read_set: Vec::new(),
            max_attempts: DEFAULT_MAX_COMMIT_ATTEMPTS,
            tidemark_entries: Map::new(),
        }
    }

    /// Records a value under `commitInfo.tidemark.<key>` (for instance `lineage`, see
    /// [`crate::extensions::lineage`]). The key `meta` is taken by [`CommitMetadata::properties`].
    pub fn with_tidemark_entry(mut self, key: &str, value: Value) -> Self {
        self.tidemark_entries.insert(key.to_string(), value);
        self
    }

    /// Adds actions to commit.
    pub fn with_actions(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.actions.extend(actions);
        self
    }

    /// Records an operation parameter (`mode`, `partitionBy`, `predicate`, …).
    pub fn with_parameter(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.operation_parameters
            .insert(key.to_string(), value.into());
        self
    }

    /// Records an operation metric (`numFiles`, `numOutputRows`, …).
    pub fn with_metric(mut self, key: &str, value: i64) -> Self {
        // Delta writers record metrics as strings.
        self.operation_metrics
            .insert(key.to_string(), Value::from(value.to_string()));
        self
    }

    /// Sets the user metadata of the commit.
    pub fn with_metadata(mut self, metadata: CommitMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Declares what the transaction read (default: nothing, a blind append). Calls add to
    /// the read set: a transaction may read partitions and some explicit files, say.
    pub fn with_read_scope(mut self, scope: ReadScope) -> Self {
        match (scope, self.read_set.last_mut()) {
            (ReadScope::Nothing, _) => {}
            (ReadScope::Files(paths), Some(ReadScope::Files(read))) => read.extend(paths),
            (scope, _) => self.read_set.push(scope),
        }
        self
    }

    /// Declares that the transaction read the files at `paths` (as their `add` actions spell
    /// them): a concurrent commit that removes one of them conflicts, whether or not this
    /// transaction removes it too. What a row-level delete, update or merge declares for the
    /// files it rewrites, and a compaction for the files it replaces.
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    pub fn with_read_files<I, S>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with_read_scope(ReadScope::files(paths))
    }

    /// What the transaction declared it read (empty: nothing, a blind append).
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    pub fn read_set(&self) -> &[ReadScope] {
        &self.read_set
    }

    /// Whether the new version records an in-commit timestamp.
    fn in_commit_timestamps(&self) -> bool {
        let new_metadata = self.actions.iter().rev().find_map(|a| match a {
            Action::Metadata(m) => Some(m),
            _ => None,
        });
        match (new_metadata, &self.read_snapshot) {
            (Some(m), _) => m
                .configuration
                .get("delta.enableInCommitTimestamps")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            (None, Some(s)) => s.in_commit_timestamps_enabled(),
            (None, None) => false,
        }
    }

    fn is_blind_append(&self) -> bool {
        self.read_set.is_empty()
            && self.actions.iter().all(|a| match a {
                Action::Add(add) => add.data_change,
                Action::Remove(_) | Action::Metadata(_) | Action::Protocol(_) => false,
                _ => true,
            })
    }

    fn commit_info(&self, timestamp_ms: i64, ict: bool, txn_id: &str) -> CommitInfo {
        let mut info = Map::new();
        info.insert("timestamp".into(), Value::from(timestamp_ms));
        if ict {
            info.insert("inCommitTimestamp".into(), Value::from(timestamp_ms));
        }
        info.insert("operation".into(), Value::from(self.operation.clone()));
        info.insert(
            "operationParameters".into(),
            Value::Object(self.operation_parameters.clone()),
        );
        if let Some(snapshot) = &self.read_snapshot {
            info.insert("readVersion".into(), Value::from(snapshot.version()));
        }
        info.insert("isolationLevel".into(), Value::from("Serializable"));
        info.insert("isBlindAppend".into(), Value::from(self.is_blind_append()));
        info.insert(
            "operationMetrics".into(),
            Value::Object(self.operation_metrics.clone()),
        );
        if let Some(message) = &self.metadata.message {
            info.insert("userMetadata".into(), Value::from(message.clone()));
        }
        if let Some(author) = &self.metadata.author {
            info.insert("userName".into(), Value::from(author.clone()));
        }
        info.insert("engineInfo".into(), Value::from(engine_info()));
        info.insert("txnId".into(), Value::from(txn_id));
        let mut tidemark = self.tidemark_entries.clone();
        if !self.metadata.properties.is_empty() {
            let meta: Map<String, Value> = self
                .metadata
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect();
            tidemark.insert("meta".into(), Value::Object(meta));
        }
        if !tidemark.is_empty() {
            info.insert("tidemark".into(), Value::Object(tidemark));
        }
        CommitInfo(info)
    }

    /// The bytes of the commit file: `commitInfo` first (the protocol requires it first when
    /// in-commit timestamps are on), then protocol, metadata, and the other actions.
    fn commit_bytes(&self, info: CommitInfo) -> Result<Vec<u8>> {
        let rank = |a: &Action| match a {
            Action::CommitInfo(_) => 0,
            Action::Protocol(_) => 1,
            Action::Metadata(_) => 2,
            Action::Txn(_) => 3,
            Action::DomainMetadata(_) => 4,
            Action::Remove(_) => 5,
            _ => 6,
        };
        let mut ordered: Vec<&Action> = self
            .actions
            .iter()
            .filter(|a| !matches!(a, Action::CommitInfo(_)))
            .collect();
        ordered.sort_by_key(|a| rank(a));
        let mut out = Action::CommitInfo(info).to_json_line()?.into_bytes();
        out.push(b'\n');
        for action in ordered {
            out.extend_from_slice(action.to_json_line()?.as_bytes());
            out.push(b'\n');
        }
        Ok(out)
    }

    /// Commits: writes the next version, retrying on later versions while other writers'
    /// commits do not conflict.
    ///
    /// A put that fails with a transient error is resolved by reading the version back (see
    /// the module documentation); nothing is ever written twice.
    ///
    /// # Errors
    ///
    /// [`Error::CommitConflict`] when a winning commit conflicts with this transaction (see the
    /// module documentation), [`Error::TooManyCommitAttempts`] when other writers took every
    /// version tried, and [`Error::TableAlreadyExists`] when a creating transaction lost: in
    /// all three nothing was committed. [`Error::CommitOutcomeUnknown`] when a put failed
    /// ambiguously and the failure came before the outcome was known: the transaction may be
    /// (or later become) the version named. [`Error::CommitFailed`] when the store refused the
    /// put outright and no ambiguous put is open: nothing was committed.
    pub async fn commit(self) -> Result<CommitOutcome> {
        let ict = self.in_commit_timestamps();
        let read_version = self.read_snapshot.as_ref().map(|s| s.version());
        let first = read_version.map_or(0, |v| v + 1);
        let txn_id = uuid::Uuid::new_v4().to_string();
        let policy = self.location.retry_policy();
        // In-commit timestamps must grow strictly from version to version.
        let mut previous_ict = match &self.read_snapshot {
            Some(s) if s.in_commit_timestamps_enabled() => Some(s.timestamp_ms()),
            _ => None,
        };
        pause_point("before-commit").await;
        let mut version = first;
        let mut failed_puts: u32 = 0;
        // An ambiguous put at `version` whose outcome is still open (see the module docs).
        let mut open: Option<OpenPut> = None;
        let mut attempt = 1;
        while attempt <= self.max_attempts {
            let now = chrono::Utc::now().timestamp_millis();
            let timestamp_ms = match previous_ict {
                Some(previous) if ict => now.max(previous + 1),
                _ => now,
            };
            let bytes = self
                .commit_bytes(self.commit_info(timestamp_ms, ict, &txn_id))
                .map_err(|e| still_open(open.as_ref(), &txn_id, e))?;
            let path = self.location.log_root().join(commit_file_name(version));
            let options = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            let put = self
                .location
                .store()
                .put_opts(&path, PutPayload::from(bytes), options)
                .await;
            let outcome = CommitOutcome {
                version,
                attempts: attempt,
                timestamp_ms,
            };
            let winner = match put {
                Ok(_) => return Ok(outcome),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let winner = read_commit(&self.location, version)
                        .await
                        .map_err(|e| still_open(open.as_ref(), &txn_id, e))?;
                    if commit_txn_id(&winner) == Some(txn_id.as_str()) {
                        // Our own earlier put, reported as failed, had landed.
                        return Ok(outcome);
                    }
                    // Another writer holds `version`: no put of ours can land there.
                    open = None;
                    winner
                }
                Err(e) if is_transient(&e) => {
                    // Ambiguous: the put may or may not have landed, or land later. Read it back.
                    let puts = open.as_ref().map_or(0, |o| o.puts) + 1;
                    open = Some(OpenPut {
                        version,
                        puts,
                        last_error: e.to_string(),
                    });
                    match self.read_back(version, &txn_id).await {
                        Ok(ReadBack::Ours) => return Ok(outcome),
                        Ok(ReadBack::Other(winner)) => {
                            // Another writer holds `version`: no put of ours can land there.
                            open = None;
                            winner
                        }
                        Ok(ReadBack::Absent) => {
                            failed_puts += 1;
                            if failed_puts >= policy.max_attempts {
                                return Err(Error::CommitOutcomeUnknown {
                                    version,
                                    txn_id,
                                    reason: format!(
                                        "{puts} put(s) of it failed with transient errors ({failed_puts} in all), the last with: {e}; reading the version back finds nothing yet, but a put that failed this way may still land later"
                                    ),
                                });
                            }
                            tokio::time::sleep(policy.delay(failed_puts)).await;
                            continue;
                        }
                        Err(read_error) => {
                            return Err(Error::CommitOutcomeUnknown {
                                version,
                                txn_id,
                                reason: format!(
                                    "the put failed ({e}) and reading the version back failed too ({read_error})"
                                ),
                            });
                        }
                    }
                }
                Err(e) => {
                    // Refused outright: this put wrote nothing.
                    let refused = Error::CommitFailed {
                        version,
                        attempts: failed_puts + 1,
                        source: e,
                    };
                    return Err(still_open(open.as_ref(), &txn_id, refused));
                }
            };
            let Some(read_version) = read_version else {
                return Err(Error::TableAlreadyExists {
                    location: self.location.url().to_string(),
                    version,
                });
            };
            self.check_conflicts(read_version, version, &winner)?;
            // A vacuum that started after this transaction read the table may be deleting a
            // file it adds (a restore re-adding an old file, an append's fresh file at zero
            // retention).
            if let Some(reason) =
                vacuum_plan::conflict_with(&self.location, &winner, &self.actions).await?
            {
                return Err(Error::CommitConflict {
                    read_version,
                    winning_version: version,
                    reason: format!("which started {reason}"),
                });
            }
            let winner_ict = winner.iter().find_map(|a| match a {
                Action::CommitInfo(ci) => ci.in_commit_timestamp(),
                _ => None,
            });
            if let Some(w) = winner_ict {
                previous_ict = Some(previous_ict.map_or(w, |p| p.max(w)));
            }
            version += 1;
            attempt += 1;
        }
        Err(Error::TooManyCommitAttempts {
            attempts: self.max_attempts,
            first_attempted: first,
            last_attempted: version.saturating_sub(1),
        })
    }

    /// Reads version `version` back after an ambiguous put.
    async fn read_back(&self, version: u64, txn_id: &str) -> Result<ReadBack> {
        match read_commit(&self.location, version).await {
            Ok(actions) if commit_txn_id(&actions) == Some(txn_id) => Ok(ReadBack::Ours),
            Ok(actions) => Ok(ReadBack::Other(actions)),
            Err(e) if e.is_not_found() => Ok(ReadBack::Absent),
            Err(e) => Err(e),
        }
    }

    /// Checks one winning commit against this transaction.
    fn check_conflicts(
        &self,
        read_version: u64,
        winning_version: u64,
        winner: &[Action],
    ) -> Result<()> {
        let conflict = |reason: String| Error::CommitConflict {
            read_version,
            winning_version,
            reason,
        };
        let our_removes: HashSet<&str> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Remove(r) => Some(r.path.as_str()),
                _ => None,
            })
            .collect();
        let our_apps: HashSet<&str> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Txn(t) => Some(t.app_id.as_str()),
                _ => None,
            })
            .collect();
        let our_domains: HashSet<&str> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::DomainMetadata(d) => Some(d.domain.as_str()),
                _ => None,
            })
            .collect();
        for action in winner {
            match action {
                Action::Protocol(_) => {
                    return Err(conflict("which changed the table's protocol".into()));
                }
                Action::Metadata(_) => {
                    return Err(conflict(
                        "which changed the table's metadata (schema, partitioning or properties)"
                            .into(),
                    ));
                }
                Action::Txn(t) if our_apps.contains(t.app_id.as_str()) => {
                    return Err(conflict(format!(
                        "which committed version {} of application '{}' concurrently",
                        t.version, t.app_id
                    )));
                }
                Action::DomainMetadata(d) if our_domains.contains(d.domain.as_str()) => {
                    return Err(conflict(format!(
                        "which changed the metadata domain '{}'",
                        d.domain
                    )));
                }
                Action::Remove(r) => {
                    if let Some(why) = self.read_set.iter().find_map(|s| s.covers_removed(r)) {
                        let compaction = if r.data_change {
                            ""
                        } else {
                            " (a remove without data change, as a compaction makes, counts too: the rows moved to files this transaction did not read)"
                        };
                        return Err(conflict(format!(
                            "which deleted the file '{}' that this transaction read ({why}){compaction}",
                            r.path
                        )));
                    }
                    if our_removes.contains(r.path.as_str()) {
                        return Err(conflict(format!(
                            "which removed the file '{}' that this transaction removes too",
                            r.path
                        )));
                    }
                }
                Action::Add(add) if add.data_change => {
                    for scope in &self.read_set {
                        match scope {
                            ReadScope::Nothing | ReadScope::Files(_) => {}
                            ReadScope::WholeTable => {
                                return Err(conflict(format!(
                                    "which added the file '{}' to the data this transaction read (the whole table)",
                                    add.path
                                )));
                            }
                            ReadScope::Partitions(predicate) => {
                                if predicate.matches(&add.partition_values)? {
                                    return Err(conflict(format!(
                                        "which added the file '{}' to partitions matching '{predicate}', which this transaction read",
                                        add.path
                                    )));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A version at which a put of this transaction failed ambiguously and no commit has been
/// seen since: the put may still land.
struct OpenPut {
    /// The version.
    version: u64,
    /// How many puts at that version failed ambiguously.
    puts: u32,
    /// The last of their errors.
    last_error: String,
}

/// `error`, a final failure of a commit, as [`Error::CommitOutcomeUnknown`] when an ambiguous
/// put is still `open` (it may land after the failure is reported), else as it is.
fn still_open(open: Option<&OpenPut>, txn_id: &str, error: Error) -> Error {
    match open {
        Some(_) if matches!(error, Error::CommitOutcomeUnknown { .. }) => error,
        Some(put) => {
            let then = match &error {
                Error::CommitFailed { source, .. } => {
                    format!("the store refused a later put ({source})")
                }
                other => other.to_string(),
            };
            Error::CommitOutcomeUnknown {
                version: put.version,
                txn_id: txn_id.to_string(),
                reason: format!(
                    "{} put(s) of it failed with transient errors, the last with: {}, and may still land; then {then}",
                    put.puts, put.last_error
                ),
            }
        }
        None => error,
    }
}

/// What reading a version back after an ambiguous put found.
enum ReadBack {
    /// This transaction's commit: the put landed.
    Ours,
    /// Another writer's commit.
    Other(Vec<Action>),
    /// Nothing: the put did not land.
    Absent,
}

/// The `commitInfo.txnId` of a commit, if it records one.
pub fn commit_txn_id(actions: &[Action]) -> Option<&str> {
    actions.iter().find_map(|a| match a {
        Action::CommitInfo(ci) => ci.0.get("txnId").and_then(Value::as_str),
        _ => None,
    })
}

/// Reads the actions of one commit.
pub async fn read_commit(location: &TableLocation, version: u64) -> Result<Vec<Action>> {
    let path = location.log_root().join(commit_file_name(version));
    let bytes = crate::snapshot::get_bytes(location, &path).await?;
    parse_commit(&bytes, path.as_ref())
}
