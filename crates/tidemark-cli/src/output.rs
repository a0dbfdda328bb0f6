//! Writing record batches and documents in the formats the CLI offers.

use std::fs::File;
use std::io::{BufWriter, Write};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use clap::ValueEnum;

use crate::error::{CliError, CliResult};

/// Output formats for rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowFormat {
    /// An aligned text table.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// Newline-delimited JSON, one object per row.
    Json,
    /// A Parquet file (needs --output).
    Parquet,
}

/// Output formats for documents (history, describe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    /// Human-readable text.
    Table,
    /// JSON.
    Json,
}

/// Where output goes: standard output or a file.
pub fn open_output(path: Option<&str>) -> CliResult<Box<dyn Write + Send>> {
    match path {
        None => Ok(Box::new(BufWriter::new(std::io::stdout()))),
        Some(path) => {
            let file = File::create(path).map_err(|source| CliError::Output {
                target: path.to_string(),
                source,
            })?;
            Ok(Box::new(BufWriter::new(file)))
        }
    }
}

/// Writes batches in the given format.
pub fn write_rows(
    format: RowFormat,
    schema: SchemaRef,
    batches: &[RecordBatch],
    output: Option<&str>,
) -> CliResult<()> {
    let target = output.unwrap_or("standard output").to_string();
    let io_err = |source: std::io::Error| CliError::Output {
        target: target.clone(),
        source,
    };
    match format {
        RowFormat::Table => {
            let mut out = open_output(output)?;
            let text = arrow::util::pretty::pretty_format_batches(batches).map_err(|e| {
                CliError::Encode {
                    format: "table",
                    reason: e.to_string(),
                }
            })?;
            writeln!(out, "{text}").map_err(io_err)?;
            out.flush().map_err(io_err)
        }
        RowFormat::Csv => {
            let out = open_output(output)?;
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            if batches.is_empty() {
                let empty = RecordBatch::new_empty(schema);
                writer.write(&empty).map_err(|e| encode("csv", e))?;
            }
            for batch in batches {
                writer.write(batch).map_err(|e| encode("csv", e))?;
            }
            writer.into_inner().flush().map_err(io_err)
        }
        RowFormat::Json => {
            let out = open_output(output)?;
            let mut writer = arrow::json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch).map_err(|e| encode("json", e))?;
            }
            writer.finish().map_err(|e| encode("json", e))?;
            writer.into_inner().flush().map_err(io_err)
        }
        RowFormat::Parquet => {
            let Some(path) = output else {
                return Err(CliError::Usage(
                    "--format parquet writes a binary file: give it a path with --output PATH"
                        .into(),
                ));
            };
            let file = File::create(path).map_err(io_err)?;
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None)
                .map_err(|e| encode("parquet", e))?;
            for batch in batches {
                writer.write(batch).map_err(|e| encode("parquet", e))?;
            }
            writer.close().map_err(|e| encode("parquet", e))?;
            Ok(())
        }
    }
}

fn encode(format: &'static str, e: impl std::fmt::Display) -> CliError {
    CliError::Encode {
        format,
        reason: e.to_string(),
    }
}
