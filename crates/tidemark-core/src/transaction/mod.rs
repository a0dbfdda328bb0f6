//! Writes: a transaction turns Arrow batches into Parquet data files with statistics and
//! commits them as one new version, with optimistic concurrency.

pub(crate) mod commit;
pub(crate) mod data_writer;
pub(crate) mod stats_collector;
pub(crate) mod write;

pub use commit::CommitMetadata;
pub use data_writer::{FileCompression, FileOptions};
pub use write::{
    ProgressCallback, TableOptions, WriteBuilder, WriteMode, WriteOutcome, WriteProgress,
};
