//! The CLI's error type.

/// Errors of the `tidemark` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error from the Tidemark library.
    #[error(transparent)]
    Tidemark(#[from] tidemark_core::Error),
    /// An error from a SQL query.
    #[error("{}", sql_message(.0))]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Writing output failed.
    #[error("cannot write output to {target}: {source}")]
    Output {
        /// Where output was going.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding output failed.
    #[error("cannot encode output as {format}: {reason}")]
    Encode {
        /// The output format.
        format: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// A check (such as `verify`) found problems; they were printed.
    #[error("{0}")]
    Check(String),
}

impl From<tidemark_datafusion::Error> for CliError {
    fn from(error: tidemark_datafusion::Error) -> Self {
        match error {
            tidemark_datafusion::Error::Tidemark(e) => CliError::Tidemark(e),
            tidemark_datafusion::Error::DataFusion(e) => CliError::DataFusion(*e),
            other => CliError::DataFusion(other.into()),
        }
    }
}

/// A query error without DataFusion's nesting of "External error: …" prefixes.
fn sql_message(error: &datafusion::error::DataFusionError) -> String {
    let text = error.to_string();
    let text = text.strip_prefix("External error: ").unwrap_or(&text);
    text.replace('\n', " ")
}

impl CliError {
    /// The `tidemark` command that helps with this error, if there is one: the library's
    /// messages speak in library terms, and the command line adds its own way out.
    pub fn hint(&self) -> Option<&'static str> {
        use tidemark_core::Error;
        match self {
            CliError::Tidemark(error) => match error {
                Error::TagNotFound { .. } => Some("`tidemark tag TABLE list` shows the tags"),
                Error::PinNotFound { .. } => Some("`tidemark pin TABLE list` shows the pins"),
                Error::InvalidSnapshotId { .. } => {
                    Some("`tidemark describe TABLE` prints the snapshot id of a version")
                }
                Error::CommitOutcomeUnknown { .. } => Some(
                    "retry the write with the same `--app-id` and `--app-version`: it is skipped if the first attempt committed, so the rows are never written twice; `tidemark history TABLE` shows whether the version was committed (it may still appear for a while)",
                ),
                Error::SchemaMismatch(reason) if reason.contains("schema mode 'merge'") => Some(
                    "write with `--schema-mode merge` to add new columns or fill missing ones with nulls",
                ),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Result alias of the CLI.
pub type CliResult<T> = Result<T, CliError>;
