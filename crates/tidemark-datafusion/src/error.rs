//! The one error type of `tidemark-datafusion`.

use datafusion::error::DataFusionError;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between Tidemark tables and DataFusion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the table format, with its own variants to match on (a version that does
    /// not exist, a commit conflict, a schema mismatch, …), however deep in a query it arose.
    #[error(transparent)]
    Tidemark(#[from] tidemark_core::Error),

    /// An error of DataFusion (parsing, planning, executing); boxed, as it is large.
    #[error(transparent)]
    DataFusion(Box<DataFusionError>),

    /// A time-travel clause that cannot be used.
    #[error("invalid time travel on '{table}': {reason}")]
    TimeTravel {
        /// The table as written in the query.
        table: String,
        /// What is wrong, and what to write instead.
        reason: String,
    },

    /// The version of a table that a query asked for (by time travel) could not be loaded;
    /// `source` says why, as the table format's own error.
    #[error("cannot read '{table}' at the version asked for: {source}")]
    Version {
        /// The table as written in the query.
        table: String,
        /// The table format's error (a version that does not exist, a tag not found, …).
        #[source]
        source: Box<tidemark_core::Error>,
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

impl Error {
    /// The table format's error behind this one, if there is one: match on it to tell a
    /// missing version, a conflict or a schema mismatch apart.
    ///
    /// ```no_run
    /// # async fn demo(ctx: tidemark_datafusion::TidemarkContext) {
    /// match ctx.sql("SELECT * FROM sales VERSION AS OF 99").await {
    ///     Err(e) if matches!(e.core(), Some(tidemark_core::Error::VersionNotFound { .. })) => {
    ///         println!("no such version");
    ///     }
    ///     _ => {}
    /// }
    /// # }
    /// ```
    pub fn core(&self) -> Option<&tidemark_core::Error> {
        match self {
            Error::Tidemark(e) => Some(e),
            Error::Version { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<DataFusionError> for Error {
    /// Unwraps the errors Tidemark handed to DataFusion (boxed as `External`, possibly with
    /// context added), so that a core error reaches the caller as [`Error::Tidemark`].
    fn from(error: DataFusionError) -> Self {
        match error {
            DataFusionError::External(boxed) => match boxed.downcast::<tidemark_core::Error>() {
                Ok(core) => Error::Tidemark(*core),
                Err(boxed) => match boxed.downcast::<Error>() {
                    Ok(ours) => *ours,
                    Err(other) => Error::DataFusion(Box::new(DataFusionError::External(other))),
                },
            },
            DataFusionError::Context(context, inner) => match Error::from(*inner) {
                Error::DataFusion(inner) => {
                    Error::DataFusion(Box::new(DataFusionError::Context(context, inner)))
                }
                ours => ours,
            },
            other => Error::DataFusion(Box::new(other)),
        }
    }
}

impl From<Error> for DataFusionError {
    fn from(error: Error) -> Self {
        match error {
            Error::DataFusion(e) => *e,
            Error::Tidemark(e) => DataFusionError::External(Box::new(e)),
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

/// Wraps a core error for DataFusion.
pub(crate) fn external(error: tidemark_core::Error) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}
