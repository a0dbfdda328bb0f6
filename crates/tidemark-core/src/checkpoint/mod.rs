//! Checkpoints: the whole state of one version in Parquet, read back (classic, multi-part,
//! v2 with sidecars) and written (classic).

pub(crate) mod read;
pub(crate) mod write;

pub use write::{CheckpointSummary, write_checkpoint};
