//! The one error type of `tidemark-datafusion`.

use datafusion::error::DataFusionError;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between Tidemark tables and DataFusion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the table format.
    #[error(transparent)]
    Tidemark(#[from] tidemark_core::Error),

    /// An error of DataFusion.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),

    /// A time-travel clause that cannot be used.
    #[error("invalid time travel on '{table}': {reason}")]
    TimeTravel {
        /// The table as written in the query.
        table: String,
        /// What is wrong, and what to write instead.
        reason: String,
    },

    /// A name that is not a Tidemark table where one is needed.
    #[error("'{name}' is not a Tidemark table: {reason}")]
    NotATidemarkTable {
        /// The name as written.
        name: String,
        /// Why, and the way out.
        reason: String,
    },
}

impl From<Error> for DataFusionError {
    fn from(error: Error) -> Self {
        match error {
            Error::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

/// Wraps a core error for DataFusion.
pub(crate) fn external(error: tidemark_core::Error) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}
