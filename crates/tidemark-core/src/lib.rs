//! # tidemark-core
//!
//! The core of Tidemark: a native implementation of the Delta Lake table format on Arrow,
//! Parquet and `object_store`. It reads the transaction log (commits and checkpoints of every
//! kind), rebuilds the snapshot of any version, resolves time travel by version or timestamp,
//! and scans a snapshot into Arrow record batches with deletion vectors applied, column mapping
//! resolved and partition columns filled in.

pub mod actions;
pub mod checkpoint_read;
pub mod checkpoint_write;
pub mod commit;
pub mod data_writer;
pub mod deletion_vector;
pub mod error;
pub mod features;
pub mod history;
pub mod log_segment;
pub mod parquet_reader;
pub mod partition;
pub mod predicate;
pub mod replay;
pub mod restore;
pub mod scan;
pub mod schema;
pub mod snapshot;
pub mod stats;
pub mod stats_collector;
pub mod storage;
pub mod table;
pub mod time_travel;
pub mod vacuum;
pub mod write;

pub use error::{Error, Result};
pub use storage::TableLocation;
