//! The transaction log, `_delta_log/`: its actions, the listing of its files, and the replay
//! that folds them into the state of one version.

pub mod actions;
pub(crate) mod history;
pub(crate) mod listing;
pub(crate) mod replay;
pub mod stats;

pub use history::{ActionCounts, CommitEntry};
