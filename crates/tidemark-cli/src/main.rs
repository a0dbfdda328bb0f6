//! `tidemark`: the command-line tool for Tidemark tables, a thin layer over `tidemark-core`.

mod alter;
mod commands;
mod error;
mod input;
mod output;
mod progress;
mod repro;
mod sql;

use std::process::ExitCode;

/// mimalloc as the allocator: scans and writes allocate and free many short-lived buffers,
/// which glibc's allocator handles markedly slower (the same reason delta-rs's Python wheel
/// links jemalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

use crate::output::{DocFormat, RowFormat};

/// Tidemark: versioned datasets on the Delta Lake format.
#[derive(Debug, Parser)]
#[command(name = "tidemark", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which version of the table a command reads.
#[derive(Debug, clap::Args)]
#[group(multiple = false)]
struct VersionArgs {
    /// Read this version.
    #[arg(long)]
    version: Option<u64>,
    /// Read the newest version committed at or before this instant (RFC 3339).
    #[arg(long)]
    timestamp: Option<String>,
    /// Read the version a snapshot id names (as `describe` prints it), checking that the
    /// table and its content are still those the id was taken from.
    #[arg(long)]
    snapshot: Option<String>,
    /// Read the version a tag names.
    #[arg(long)]
    tag: Option<String>,
}

/// The version a restore brings back.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct RestoreTarget {
    /// Restore this version.
    #[arg(long)]
    version: Option<u64>,
    /// Restore the version that was current at this instant (RFC 3339).
    #[arg(long)]
    timestamp: Option<String>,
    /// Restore the version a snapshot id names (checked against the table's content).
    #[arg(long)]
    snapshot: Option<String>,
    /// Restore the version a tag names.
    #[arg(long)]
    tag: Option<String>,
}

/// Provenance recorded with a commit.
#[derive(Debug, clap::Args)]
struct CommitArgs {
    /// A commit message.
    #[arg(long)]
    message: Option<String>,
    /// The commit's author.
    #[arg(long)]
    author: Option<String>,
    /// A key=value pair recorded with the commit (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    meta: Vec<String>,
}

/// Options of a table being created.
#[derive(Debug, clap::Args)]
struct TableArgs {
    /// A table property key=value (repeatable), used when the table is created.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// A name for a new table.
    #[arg(long)]
    name: Option<String>,
    /// A description for a new table.
    #[arg(long)]
    description: Option<String>,
    /// Create the table without in-commit timestamps, for writers that do not know the feature.
    #[arg(long)]
    no_in_commit_timestamps: bool,
}

/// How a write treats existing rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Add rows.
    Append,
    /// Replace all rows (or those matching --replace-where).
    Overwrite,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print (or write) the rows of a version of a table.
    Scan {
        /// Table location: a path or a URI (file://, s3://, gs://, az://).
        table: String,
        #[command(flatten)]
        at: VersionArgs,
        /// Only these columns, comma-separated, in this order.
        #[arg(long, value_delimiter = ',')]
        columns: Option<Vec<String>>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RowFormat::Table)]
        format: RowFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<String>,
        /// Print at most this many rows.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// List the commits of a table, newest first.
    History {
        /// Table location.
        table: String,
        /// Show at most this many commits.
        #[arg(long)]
        limit: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
    /// Create an empty table (version 0) with a schema.
    Create {
        /// Table location.
        table: String,
        /// The schema: a JSON file in the Delta schema format, or a Parquet file whose schema is taken.
        #[arg(long)]
        schema: String,
        /// Partition columns, comma-separated.
        #[arg(long, value_delimiter = ',')]
        partition_by: Vec<String>,
        #[command(flatten)]
        table_args: TableArgs,
    },
    /// Write Parquet, CSV or newline-delimited JSON files to a table as one new version.
    Write {
        /// Table location (created by the write if it does not exist).
        table: String,
        /// Input files: .parquet, .csv, .json or .ndjson.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Append to the table, or overwrite it.
        #[arg(long, value_enum, default_value_t = Mode::Append)]
        mode: Mode,
        /// Overwrite only the partitions matching this predicate over partition columns.
        #[arg(long)]
        replace_where: Option<String>,
        /// When the input's schema differs from the table's: refuse (strict), merge it in, or
        /// replace the table's schema (overwrite, with --mode overwrite).
        #[arg(long, value_enum, default_value_t = alter::SchemaModeArg::Strict)]
        schema_mode: alter::SchemaModeArg,
        /// Partition columns, comma-separated (when the write creates the table).
        #[arg(long, value_delimiter = ',')]
        partition_by: Option<Vec<String>>,
        #[command(flatten)]
        commit: CommitArgs,
        /// Idempotent writes: the application id. A write whose --app-id already committed
        /// --app-version (or a later one) is skipped.
        #[arg(long, requires = "app_version")]
        app_id: Option<String>,
        /// Idempotent writes: the application's version of this write.
        #[arg(long, requires = "app_id")]
        app_version: Option<i64>,
        #[command(flatten)]
        table_args: TableArgs,
        /// Lineage: a table the data was read from, as TABLE@SNAPSHOT_ID (or TABLE@VERSION,
        /// TABLE@TAG), recorded in the commit (repeatable).
        #[arg(long = "input-table", value_name = "TABLE@SNAPSHOT_ID")]
        input_tables: Vec<String>,
    },
    /// Make an earlier version the newest again, as a new commit.
    Restore {
        /// Table location.
        table: String,
        #[command(flatten)]
        at: RestoreTarget,
        #[command(flatten)]
        commit: CommitArgs,
    },
    /// Delete data files that no version inside the retention window reads (dry run unless --execute).
    Vacuum {
        /// Table location.
        table: String,
        /// Retention window in hours (default: the table's delta.deletedFileRetentionDuration, 7 days).
        #[arg(long)]
        retain: Option<f64>,
        /// Delete the files; without it, only list them.
        #[arg(long)]
        execute: bool,
        /// Allow a window shorter than the table's (only when no other writer or reader is active).
        #[arg(long)]
        allow_short_retention: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
    /// Write a checkpoint of the latest version: a v2 checkpoint
    /// (`<version>.checkpoint.<uuid>.parquet`) when the table has the v2Checkpoint feature, a
    /// classic one otherwise. Refused, writing nothing, for a table with a feature Tidemark does
    /// not know or a delta.deletedFileRetentionDuration that does not parse.
    Checkpoint {
        /// Table location.
        table: String,
    },
    /// Run one SQL query, or start an interactive SQL shell when QUERY is left out.
    ///
    /// Tables: those given with --table, and any table named by its path in double quotes
    /// (`SELECT * FROM "/data/sales" VERSION AS OF 3`).
    Sql {
        /// The query.
        query: Option<String>,
        /// A table to register as NAME=URI (repeatable).
        #[arg(long = "table", value_name = "NAME=URI")]
        tables: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RowFormat::Table)]
        format: RowFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<String>,
        /// How INSERT treats a query whose schema differs from the table's: refuse (strict),
        /// add its new columns and widen types (merge), or replace the table's schema
        /// (overwrite, with INSERT OVERWRITE). The same as `SET tidemark.schema_mode = '…'`.
        #[arg(long, value_enum, default_value_t = alter::SchemaModeArg::Strict)]
        schema_mode: alter::SchemaModeArg,
    },
    /// Change a table's schema or properties as one new version (no data file is rewritten).
    Alter {
        /// Table location.
        table: String,
        #[command(flatten)]
        commit: CommitArgs,
        #[command(subcommand)]
        change: alter::AlterChange,
    },
    /// Describe a version of a table: schema, partitioning, protocol, size, properties.
    Describe {
        /// Table location.
        table: String,
        #[command(flatten)]
        at: VersionArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
    /// Tags: named, immutable references to versions (create, list, delete).
    Tag {
        /// Table location.
        table: String,
        #[command(subcommand)]
        action: repro::TagAction,
    },
    /// Pins: versions held for a training run; vacuum keeps their files (create, list, release).
    Pin {
        /// Table location.
        table: String,
        #[command(subcommand)]
        action: repro::PinAction,
    },
    /// Write a manifest: the snapshot id, schema, and every file with its size and SHA-256.
    Manifest {
        /// Table location.
        table: String,
        #[command(flatten)]
        at: VersionArgs,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<String>,
    },
    /// Check that a table still holds exactly what a manifest records (exit status 1 if not).
    Verify {
        /// The manifest file.
        manifest: String,
        /// Read the table here instead of at the location the manifest records.
        #[arg(long)]
        table: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
    /// Show the inputs a version was written from, recursively.
    Lineage {
        /// Table location.
        table: String,
        /// The version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
