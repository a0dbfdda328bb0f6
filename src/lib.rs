//! # Tidemark
//!
//! A versioned dataset table format in Rust: on disk a Delta Lake table (an append-only
//! transaction log over Parquet files), so every commit is a new immutable version that can be
//! read again by number, time, tag or snapshot id. This facade crate re-exports the libraries:
//! [`core`] (the format: log, snapshots, scans, writes) and [`datafusion`] (SQL over Tidemark
//! tables), with the types most programs need at its root.
//!
//! ## Read version 12 into Arrow record batches
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let uri = dir.path().to_str().unwrap_or_default();
//! # tidemark::doc_support::table_with_versions(uri, 12).await?;
//! use futures::TryStreamExt;
//! use tidemark::{Table, VersionSpec};
//!
//! let table = Table::open(uri)?;
//! let scan = table.scan(VersionSpec::Version(12)).await?.build()?;
//! let batches: Vec<arrow::array::RecordBatch> = scan.execute().try_collect().await?;
//! let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
//! assert_eq!(rows, 12);
//! # Ok(()) }
//! ```
//!
//! ## Append a record batch as a new version
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let uri = dir.path().to_str().unwrap_or_default();
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, StringArray};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use tidemark::core::schema::StructType;
//! use tidemark::{Table, TableOptions, WriteMode};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("region", DataType::Utf8, true),
//! ]));
//! let table = Table::create(uri, &StructType::from_arrow(&schema)?, TableOptions::default()).await?;
//! let batch = RecordBatch::try_new(
//!     schema,
//!     vec![
//!         Arc::new(Int64Array::from(vec![1, 2])),
//!         Arc::new(StringArray::from(vec!["EU", "US"])),
//!     ],
//! )?;
//! let outcome = table
//!     .write()
//!     .with_mode(WriteMode::Append)
//!     .with_message("nightly load")
//!     .execute_batches(vec![batch])
//!     .await?;
//! assert_eq!(outcome.version, Some(1));
//! # Ok(()) }
//! ```
//!
//! ## Query an old version in SQL
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let uri = dir.path().to_str().unwrap_or_default();
//! # tidemark::doc_support::table_with_versions(uri, 15).await?;
//! use arrow::array::Int64Array;
//! use tidemark::datafusion::TidemarkContext;
//!
//! let ctx = TidemarkContext::new();
//! ctx.register("t", uri).await?;
//! let batches = ctx
//!     .sql("SELECT count(*) AS n FROM t VERSION AS OF 12")
//!     .await?
//!     .collect()
//!     .await?;
//! let count = batches[0].column(0).as_any().downcast_ref::<Int64Array>().map(|a| a.value(0));
//! assert_eq!(count, Some(12));
//! # Ok(()) }
//! ```

pub use tidemark_core as core;
pub use tidemark_core::{
    CommitEntry, CommitMetadata, Error, FileCompression, FileOptions, Result, Scan, ScanBuilder,
    SchemaMode, Snapshot, SnapshotId, Table, TableLocation, TableOptions, VersionSpec,
    WriteBuilder, WriteMode, WriteOutcome,
};
pub use tidemark_datafusion as datafusion;

/// Setup for the examples above: not API.
#[doc(hidden)]
pub mod doc_support {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};

    use crate::{Result, Table, TableOptions};

    /// Creates a table at `uri` with one `id` column and appends one row per version, so that
    /// version `v` holds `v` rows.
    pub async fn table_with_versions(uri: &str, versions: u64) -> Result<Table> {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let table = Table::create(
            uri,
            &crate::core::schema::StructType::from_arrow(&schema)?,
            TableOptions::default(),
        )
        .await?;
        for version in 1..=versions {
            let id = i64::try_from(version).unwrap_or(i64::MAX);
            let batch =
                RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![id]))])
                    .map_err(|e| crate::Error::InvalidArgument(e.to_string()))?;
            table.write().execute_batches(vec![batch]).await?;
        }
        Ok(table)
    }
}
