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

/// A query error without DataFusion's nesting of "External error: …" prefixes.
fn sql_message(error: &datafusion::error::DataFusionError) -> String {
    let text = error.to_string();
    let text = text.strip_prefix("External error: ").unwrap_or(&text);
    text.replace('\n', " ")
}

/// Result alias of the CLI.
pub type CliResult<T> = Result<T, CliError>;
