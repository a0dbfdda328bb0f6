//! # tidemark-datafusion
//!
//! Tidemark tables in DataFusion: a [`TidemarkTable`] provider over one snapshot (partition
//! pruning, statistics-based file skipping, Parquet row-group and page pruning, deletion
//! vectors and column mapping), SQL time travel (`VERSION AS OF`, `TIMESTAMP AS OF`,
//! `FOR SYSTEM_TIME AS OF`, `AT(VERSION => …)`), `INSERT INTO` / `INSERT OVERWRITE` through
//! Tidemark's commit protocol, `CREATE EXTERNAL TABLE … STORED AS TIDEMARK`, and the table
//! functions `tidemark_history` and `tidemark_files`. [`TidemarkContext`] sets all of it up.

pub mod context;
pub mod ddl;
pub mod error;
pub mod factory;
pub mod functions;
pub mod insert;
pub mod provider;
mod pruning;
pub mod scan_exec;
pub mod sink;
mod statistics;
pub mod time_travel;

pub use context::TidemarkContext;
pub use error::{Error, Result};
pub use insert::TidemarkOptions;
pub use provider::TidemarkTable;
pub use pruning::PruningCounts;
pub use scan_exec::TidemarkScanExec;
