//! # tidemark-core
//!
//! The core of Tidemark: a native implementation of the Delta Lake table format on Arrow,
//! Parquet and `object_store`. It reads the transaction log (commits and checkpoints of every
//! kind), rebuilds the snapshot of any version, resolves time travel by version, timestamp, tag
//! or snapshot id, scans a snapshot into Arrow record batches (deletion vectors applied, column
//! mapping resolved, partition columns filled in), and writes new versions with optimistic
//! concurrency.
//!
//! Everything starts from a [`Table`]:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use futures::TryStreamExt;
//! use tidemark_core::{Table, TableOptions, VersionSpec};
//! use tidemark_core::schema::StructType;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let uri = dir.path().to_str().unwrap();
//! let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! let table = Table::create(uri, &StructType::from_arrow(&schema)?, TableOptions::default()).await?;
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])?;
//! let outcome = table.write().execute_batches(vec![batch]).await?;
//! assert_eq!(outcome.version, Some(1));
//!
//! let batches: Vec<RecordBatch> =
//!     table.scan(VersionSpec::Version(1)).await?.build()?.execute().try_collect().await?;
//! assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
//! # Ok(()) }
//! ```
//!
//! The crate is laid out by concept, and data flows one way through it: [`storage`] (where a
//! table lives) → [`log`] (the actions of `_delta_log/`, listing and replay) and [`checkpoint`]
//! → [`snapshot`] (one version, time travel, snapshot ids) → [`scan`] (rows as Arrow batches,
//! deletion vectors, sharded reads). Writes go through a [`transaction`] to a commit; [`schema`]
//! holds the types and their evolution, [`partition`] partition values and predicates,
//! [`maintenance`] vacuum and restore, and [`extensions`] Tidemark's own additions under
//! `_tidemark/` (tags, pins, manifests, lineage).

pub mod checkpoint;
pub mod error;
pub mod extensions;
mod features;
pub mod log;
pub mod maintenance;
pub mod partition;
/// Table properties Tidemark interprets: retention durations and other values, parsed and
/// validated, failing closed.
pub mod properties;
pub mod scan;
pub mod schema;
pub mod snapshot;
pub mod storage;
mod table;
#[cfg(feature = "test-support")]
pub mod test_hooks;
#[cfg(not(feature = "test-support"))]
mod test_hooks;
pub mod transaction;

#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;

pub use error::{Error, Result};
pub use log::CommitEntry;
pub use scan::{Scan, ScanBuilder};
pub use schema::SchemaMode;
pub use snapshot::{Snapshot, SnapshotId};
pub use storage::TableLocation;
pub use table::{Table, VersionSpec};
pub use transaction::{
    CommitMetadata, FileCompression, FileOptions, ProgressCallback, TableOptions, WriteBuilder,
    WriteMode, WriteOutcome, WriteProgress,
};
