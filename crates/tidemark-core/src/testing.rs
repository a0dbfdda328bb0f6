//! Internals that the workspace's tests, fuzz targets and benchmarks call directly: parsers of
//! the log's formats, the commit machinery below [`crate::WriteBuilder`], and the replay.
//!
//! Compiled only with the cargo feature `test-support`; none of it is API.

pub use crate::checkpoint::read::read_checkpoint_parquet;
pub use crate::log::actions::parse_commit;
pub use crate::log::listing::{LogListing, commit_file_name};
pub use crate::log::replay::ReplayState;
pub use crate::partition::predicate::PartitionPredicate;
pub use crate::partition::values::{escape_path_component, unescape_path_component};
pub use crate::scan::deletion_vector::{parse_bitmap, serialize_bitmap, z85};
pub use crate::storage::redact;
pub use crate::test_hooks::{PAUSE_AT_VAR, PAUSE_MARKER_VAR, PAUSE_SECS_VAR, pause_point};
pub use crate::transaction::commit::{ReadScope, Transaction, commit_txn_id, read_commit};
pub use crate::transaction::write::remove_for;

/// Loads the snapshot of `version` (the latest for `None`): the tests' shorthand for
/// [`crate::Table::snapshot`].
pub async fn load_snapshot(
    location: &crate::TableLocation,
    version: Option<u64>,
) -> crate::Result<crate::Snapshot> {
    crate::Snapshot::load(location, version).await
}

pub use crate::features::{FeatureKind, lookup};
pub use crate::log::listing::{LogFileKind, parse_log_file_name};
pub use crate::partition::values::{partition_directory, serialize_partition_value};
pub use crate::scan::deletion_vector::{
    deleted_rows_mask, dv_file_path, load as load_deletion_vector,
};
pub use crate::snapshot::id::resolve as resolve_snapshot_id;
pub use crate::transaction::data_writer::encode_log_path;
pub use crate::transaction::stats_collector::{StatsCollector, num_indexed_cols};

/// Loads the snapshot of `version` from a listing the caller made (a full one, say).
pub async fn load_snapshot_from_listing(
    location: &crate::TableLocation,
    listing: &LogListing,
    version: u64,
) -> crate::Result<crate::Snapshot> {
    crate::Snapshot::load_from_listing(location, listing, version).await
}

/// How many unexpired `remove` tombstones a snapshot holds.
pub fn tombstone_count(snapshot: &crate::Snapshot) -> usize {
    snapshot.state().tombstones.len()
}
