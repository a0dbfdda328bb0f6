//! # tidemark-core
//!
//! The core of Tidemark: a native implementation of the Delta Lake table format on Arrow,
//! Parquet and `object_store`. It reads the transaction log (commits and checkpoints of every
//! kind), rebuilds the snapshot of any version, resolves time travel by version or timestamp,
//! and scans a snapshot into Arrow record batches with deletion vectors applied, column mapping
//! resolved and partition columns filled in.

pub mod actions;
pub mod alter;
pub mod checkpoint_read;
pub mod checkpoint_write;
pub mod commit;
pub mod data_writer;
pub mod deletion_vector;
pub mod error;
pub mod evolution;
pub mod features;
pub mod history;
pub mod lineage;
pub mod log_segment;
pub mod manifest;
pub mod parquet_reader;
pub mod partition;
pub mod pin;
pub mod predicate;
pub mod protection;
pub mod replay;
pub mod restore;
pub mod retry;
pub mod scan;
pub mod schema;
pub mod shard;
pub mod snapshot;
pub mod snapshot_id;
pub mod stats;
pub mod stats_collector;
pub mod storage;
pub mod table;
pub mod tag;
pub mod test_hooks;
pub mod tidemark_dir;
pub mod time_travel;
pub mod vacuum;
pub mod write;

pub use error::{Error, Result};
pub use storage::TableLocation;
