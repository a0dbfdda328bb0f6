//! Reading input files (Parquet, CSV, newline-delimited JSON) as a stream of record batches.
//!
//! Files are read one after another on blocking threads and handed over through a small
//! channel, so at most a few batches are in memory and no blocking I/O runs on async threads.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::stream::BoxStream;
use tidemark_core::Error;

use crate::error::{CliError, CliResult};

/// Rows per batch read from CSV and JSON.
const BATCH_ROWS: usize = 64 * 1024;
/// Rows read to infer the schema of CSV and JSON.
const INFER_ROWS: usize = 10_000;

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
    Json,
}

fn format_of(path: &str) -> CliResult<Format> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".parquet") {
        Ok(Format::Parquet)
    } else if lower.ends_with(".csv") {
        Ok(Format::Csv)
    } else if lower.ends_with(".json") || lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
        Ok(Format::Json)
    } else {
        Err(CliError::Usage(format!(
            "cannot tell the format of input '{path}': name it .parquet, .csv, .json or .ndjson"
        )))
    }
}

fn input_error(path: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("cannot read input file '{path}': {e}"))
}

/// A schema and the batches of all inputs.
pub(crate) struct Inputs {
    /// The schema of the first input (used when the write creates the table).
    pub(crate) schema: SchemaRef,
    /// The batches of every input, in order.
    pub(crate) batches: BoxStream<'static, tidemark_core::Result<RecordBatch>>,
}

/// Opens the inputs. CSV and JSON columns that the table has are parsed as the table's types.
pub(crate) async fn open_inputs(paths: &[String], table: Option<SchemaRef>) -> CliResult<Inputs> {
    let mut plans = Vec::with_capacity(paths.len());
    for path in paths {
        let format = format_of(path)?;
        let path_owned = path.clone();
        let table = table.clone();
        let schema =
            tokio::task::spawn_blocking(move || file_schema(&path_owned, format, table.as_deref()))
                .await
                .map_err(|e| input_error(path, e))??;
        plans.push((path.clone(), format, schema));
    }
    let schema = plans
        .first()
        .map(|(_, _, s)| s.clone())
        .ok_or_else(|| CliError::Usage("no input files given".into()))?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<tidemark_core::Result<RecordBatch>>(2);
    tokio::task::spawn_blocking(move || {
        for (path, format, schema) in plans {
            if let Err(e) = read_file(&path, format, schema, &sender) {
                let _ = sender.blocking_send(Err(Error::InvalidArgument(format!(
                    "cannot read input file '{path}': {e}"
                ))));
                return;
            }
        }
    });
    let batches = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    Ok(Inputs {
        schema,
        batches: Box::pin(batches),
    })
}

fn file_schema(path: &str, format: Format, table: Option<&Schema>) -> CliResult<SchemaRef> {
    let mut file = File::open(path).map_err(|e| input_error(path, e))?;
    let inferred = match format {
        Format::Parquet => {
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| input_error(path, e))?;
            return Ok(builder.schema().clone());
        }
        Format::Csv => {
            let (schema, _) = arrow::csv::reader::Format::default()
                .with_header(true)
                .infer_schema(&mut file, Some(INFER_ROWS))
                .map_err(|e| input_error(path, e))?;
            schema
        }
        Format::Json => {
            let (schema, _) = arrow::json::reader::infer_json_schema_from_seekable(
                BufReader::new(&mut file),
                Some(INFER_ROWS),
            )
            .map_err(|e| input_error(path, e))?;
            schema
        }
    };
    // Parse columns the table knows as the table's types.
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(
            |f| match table.and_then(|t| t.field_with_name(f.name()).ok()) {
                Some(known) => Field::new(f.name(), known.data_type().clone(), true),
                // Text timestamps are instants: `…Z` and offsets parse exactly, and times
                // without a zone are taken as UTC.
                None => match f.data_type() {
                    DataType::Timestamp(_, None) => Field::new(
                        f.name(),
                        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                        true,
                    ),
                    _ => f.as_ref().clone(),
                },
            },
        )
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

fn read_file(
    path: &str,
    format: Format,
    schema: SchemaRef,
    sender: &tokio::sync::mpsc::Sender<tidemark_core::Result<RecordBatch>>,
) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let send = |batch: RecordBatch| sender.blocking_send(Ok(batch)).is_ok();
    match format {
        Format::Parquet => {
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
                    .map_err(|e| e.to_string())?;
            for batch in reader {
                if !send(batch.map_err(|e| e.to_string())?) {
                    return Ok(());
                }
            }
        }
        Format::Csv => {
            file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
            let reader = arrow::csv::ReaderBuilder::new(schema)
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .build(file)
                .map_err(|e| e.to_string())?;
            for batch in reader {
                if !send(batch.map_err(|e| e.to_string())?) {
                    return Ok(());
                }
            }
        }
        Format::Json => {
            file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
            let reader = arrow::json::ReaderBuilder::new(schema)
                .with_batch_size(BATCH_ROWS)
                .build(BufReader::new(file))
                .map_err(|e| e.to_string())?;
            for batch in reader {
                if !send(batch.map_err(|e| e.to_string())?) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Whether a path names an input file that exists.
pub(crate) fn exists(path: &str) -> bool {
    Path::new(path).is_file()
}
