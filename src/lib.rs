//! # Tidemark
//!
//! A versioned dataset table format in Rust, on disk a Delta Lake table. This facade crate
//! re-exports the libraries: [`core`] (the format: log, snapshots, scans) and [`datafusion`]
//! (SQL over Tidemark tables).

pub use tidemark_core as core;
pub use tidemark_core::{Error, Result, TableLocation};
pub use tidemark_datafusion as datafusion;
