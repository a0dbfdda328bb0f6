//! The CLI's error type.

/// Errors of the `tidemark` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error from the Tidemark library.
    #[error(transparent)]
    Tidemark(#[from] tidemark_core::Error),
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
}

/// Result alias of the CLI.
pub type CliResult<T> = Result<T, CliError>;
