//! The CLI's commands, each a thin call into `tidemark-core`.

use std::io::Write;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tidemark_core::CommitMetadata;
use tidemark_core::ScanBuilder;
use tidemark_core::Snapshot;
use tidemark_core::schema::StructType;
use tidemark_core::{Table, VersionSpec};
use tidemark_core::{TableOptions, WriteMode};

use crate::error::{CliError, CliResult};
use crate::input::open_inputs;
use crate::output::{DocFormat, open_output, write_rows};
use crate::progress::Progress;
use crate::{Command, CommitArgs, Mode, TableArgs, VersionArgs};

pub(crate) async fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Scan {
            table,
            at,
            columns,
            format,
            output,
            limit,
        } => {
            let snapshot = open_snapshot(&table, &at).await?;
            let mut builder = ScanBuilder::new(snapshot);
            if let Some(columns) = columns {
                builder = builder.with_columns(columns)?;
            }
            let scan = builder.build()?;
            let mut batches = Vec::new();
            let mut rows = 0usize;
            let mut stream = scan.execute();
            while let Some(batch) = stream.try_next().await? {
                let remaining = limit.map_or(usize::MAX, |l| l - rows);
                if remaining == 0 {
                    break;
                }
                let batch = if batch.num_rows() > remaining {
                    batch.slice(0, remaining)
                } else {
                    batch
                };
                rows += batch.num_rows();
                batches.push(batch);
            }
            write_rows(format, scan.schema(), &batches, output.as_deref())
        }
        Command::History {
            table,
            limit,
            format,
        } => history(&table, limit, format).await,
        Command::Create {
            table,
            schema,
            partition_by,
            table_args,
        } => create(&table, &schema, partition_by, &table_args).await,
        Command::Write {
            table,
            inputs,
            mode,
            replace_where,
            schema_mode,
            partition_by,
            commit,
            app_id,
            app_version,
            table_args,
            input_tables,
        } => {
            let request = WriteRequest {
                table,
                inputs,
                mode,
                replace_where,
                schema_mode,
                partition_by,
                commit,
                app: app_id.zip(app_version),
                table_args,
                input_tables,
            };
            write(request).await
        }
        Command::Restore { table, at, commit } => {
            let target = match (at.version, &at.timestamp, at.snapshot, at.tag) {
                (Some(v), ..) => VersionSpec::Version(v),
                (None, Some(t), ..) => {
                    VersionSpec::Timestamp(tidemark_core::snapshot::parse_instant(t)?)
                }
                (None, None, Some(id), _) => VersionSpec::SnapshotId(id),
                (None, None, None, Some(tag)) => VersionSpec::Tag(tag),
                (None, None, None, None) => {
                    return Err(CliError::Usage(
                        "give --version, --timestamp, --snapshot or --tag".into(),
                    ));
                }
            };
            let metadata = CommitMetadata {
                message: commit.message,
                author: commit.author,
                properties: key_values(&commit.meta, "meta")?,
            };
            let location = tidemark_core::TableLocation::parse(&table)?;
            let outcome =
                tidemark_core::maintenance::restore::restore(&location, target, metadata).await?;
            eprintln!(
                "restored version {}: {} files added back, {} removed",
                outcome.restored_version, outcome.files_added, outcome.files_removed
            );
            println!("version {}", outcome.version);
            Ok(())
        }
        Command::Vacuum {
            table,
            retain,
            execute,
            allow_short_retention,
            format,
        } => {
            let retention_ms = match retain {
                Some(hours) if hours.is_finite() && hours >= 0.0 => {
                    Some((hours * 3_600_000.0) as i64)
                }
                Some(hours) => {
                    return Err(CliError::Usage(format!(
                        "--retain {hours}: give a number of hours, 0 or more"
                    )));
                }
                None => None,
            };
            let options = tidemark_core::maintenance::vacuum::VacuumOptions {
                retention_ms,
                dry_run: !execute,
                allow_short_retention,
            };
            let location = tidemark_core::TableLocation::parse(&table)?;
            let report = tidemark_core::maintenance::vacuum::vacuum(&location, options).await?;
            let verb = if report.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            let mut text = String::new();
            for file in &report.files {
                text.push_str(&format!("{file}\n"));
            }
            text.push_str(&format!(
                "{verb} {} files ({} bytes); kept {} files that versions {}.. read (retention {} hours){}",
                report.files.len(),
                report.bytes,
                report.files_kept,
                report.oldest_retained_version,
                report.retention_ms as f64 / 3_600_000.0,
                if report.dry_run { "; run with --execute to delete" } else { "" }
            ));
            let (kept_text, kept_json) = crate::repro::vacuum_protection(&report);
            if !kept_text.is_empty() {
                text = format!("{kept_text}{text}");
            }
            let json = json!({
                "dryRun": report.dry_run,
                "files": report.files,
                "bytes": report.bytes,
                "filesKept": report.files_kept,
                "oldestRetainedVersion": report.oldest_retained_version,
                "retentionMs": report.retention_ms,
                "protected": kept_json["protected"],
                "expiredPins": kept_json["expiredPins"],
            });
            write_doc(format, text, json)
        }
        Command::Alter {
            table,
            commit,
            change,
        } => {
            let metadata = CommitMetadata {
                message: commit.message,
                author: commit.author,
                properties: key_values(&commit.meta, "meta")?,
            };
            crate::alter::alter(&table, change, metadata).await
        }
        Command::Checkpoint { table } => {
            let snapshot = Table::open(&table)?.snapshot(VersionSpec::Latest).await?;
            let summary = tidemark_core::checkpoint::write_checkpoint(&snapshot).await?;
            println!(
                "checkpoint at version {} ({} actions, {} files, {} bytes): _delta_log/{}",
                summary.version,
                summary.actions,
                summary.add_files,
                summary.size_in_bytes,
                summary.file
            );
            Ok(())
        }
        Command::Sql {
            query,
            tables,
            format,
            output,
            schema_mode,
        } => crate::sql::run(tables, query, format, output, schema_mode.into()).await,
        Command::Describe { table, at, format } => {
            let snapshot = open_snapshot(&table, &at).await?;
            describe(&snapshot, format)
        }
        Command::Tag { table, action } => crate::repro::tag(&table, action).await,
        Command::Pin { table, action } => crate::repro::pin(&table, action).await,
        Command::Manifest { table, at, output } => {
            crate::repro::manifest(&table, &at, output.as_deref()).await
        }
        Command::Verify {
            manifest,
            table,
            format,
        } => crate::repro::verify(&manifest, table.as_deref(), format).await,
        Command::Lineage {
            table,
            version,
            format,
        } => crate::repro::show_lineage(&table, version, format).await,
    }
}

async fn open_snapshot(uri: &str, at: &VersionArgs) -> CliResult<Snapshot> {
    let spec = crate::repro::version_spec(at)?;
    Ok(Table::open(uri)?.snapshot(spec).await?)
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

fn write_doc(format: DocFormat, text: String, json: Value) -> CliResult<()> {
    let mut out = open_output(None)?;
    let body = match format {
        DocFormat::Table => text,
        DocFormat::Json => serde_json::to_string_pretty(&json).map_err(|e| CliError::Encode {
            format: "json",
            reason: e.to_string(),
        })?,
    };
    writeln!(out, "{body}")
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Output {
            target: "standard output".into(),
            source,
        })
}

async fn history(uri: &str, limit: Option<usize>, format: DocFormat) -> CliResult<()> {
    let table = Table::open(uri)?;
    let entries = table.history(limit).await?;
    let mut text = format!(
        "{:>8}  {:<25}  {:<22}  {:>6}  {:>7}  {}\n",
        "version", "timestamp", "operation", "adds", "removes", "schema"
    );
    let mut docs = Vec::with_capacity(entries.len());
    for entry in &entries {
        let operation = entry.commit_info.operation().unwrap_or("-");
        let schema_changes = if entry.actions.metadata {
            crate::alter::schema_changes(table.location(), entry.version).await
        } else {
            Vec::new()
        };
        let line = format!(
            "{:>8}  {:<25}  {:<22}  {:>6}  {:>7}  {}",
            entry.version,
            rfc3339(entry.timestamp_ms),
            operation,
            entry.actions.adds,
            entry.actions.removes,
            match (entry.actions.metadata, schema_changes.is_empty()) {
                (false, _) => String::new(),
                (true, true) => "* (properties)".to_string(),
                (true, false) => format!("* {}", schema_changes.join(", ")),
            }
        );
        text.push_str(line.trim_end());
        text.push('\n');
        docs.push(json!({
            "version": entry.version,
            "timestamp": rfc3339(entry.timestamp_ms),
            "operation": operation,
            "adds": entry.actions.adds,
            "removes": entry.actions.removes,
            "metadataChanged": entry.actions.metadata,
            "protocolChanged": entry.actions.protocol,
            "schemaChanges": schema_changes,
            "commitInfo": Value::Object(entry.commit_info.0.clone()),
        }));
    }
    write_doc(format, text.trim_end().to_string(), Value::Array(docs))
}

fn describe(snapshot: &Snapshot, format: DocFormat) -> CliResult<()> {
    let metadata = snapshot.metadata();
    let protocol = snapshot.protocol();
    let files = snapshot.num_files();
    let bytes: i64 = snapshot.files().map(|f| f.size).sum();
    let rows: Option<i64> = snapshot
        .files()
        .map(tidemark_core::log::stats::live_rows)
        .sum::<Option<i64>>();
    let schema = snapshot.schema();
    let mut properties: Vec<(&String, &String)> = metadata.configuration.iter().collect();
    properties.sort();
    let features: Vec<String> = protocol
        .reader_features
        .iter()
        .chain(protocol.writer_features.iter())
        .flatten()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut text = String::new();
    text.push_str(&format!("version:      {}\n", snapshot.version()));
    text.push_str(&format!(
        "timestamp:    {}\n",
        rfc3339(snapshot.timestamp_ms())
    ));
    if let Some(name) = &metadata.name {
        text.push_str(&format!("name:         {name}\n"));
    }
    if let Some(description) = &metadata.description {
        text.push_str(&format!("description:  {description}\n"));
    }
    text.push_str(&format!("id:           {}\n", metadata.id));
    let snapshot_id = snapshot.snapshot_id()?;
    text.push_str(&format!("snapshot id:  {snapshot_id}\n"));
    text.push_str(&format!(
        "protocol:     reader {} / writer {}{}\n",
        protocol.min_reader_version,
        protocol.min_writer_version,
        if features.is_empty() {
            String::new()
        } else {
            format!(" [{}]", features.join(", "))
        }
    ));
    text.push_str(&format!(
        "partitioned:  {}\n",
        if metadata.partition_columns.is_empty() {
            "no".to_string()
        } else {
            metadata.partition_columns.join(", ")
        }
    ));
    text.push_str(&format!("files:        {files}\n"));
    text.push_str(&format!(
        "rows:         {}\n",
        rows.map_or("unknown (files without statistics)".to_string(), |r| r
            .to_string())
    ));
    text.push_str(&format!("bytes:        {bytes}\n"));
    text.push_str("schema:\n");
    for field in &schema.fields {
        text.push_str(&format!(
            "  {} {}{}\n",
            field.name,
            serde_json::to_string(&field.data_type)
                .unwrap_or_default()
                .trim_matches('"'),
            if field.nullable { "" } else { " not null" }
        ));
    }
    if !properties.is_empty() {
        text.push_str("properties:\n");
        for (k, v) in &properties {
            text.push_str(&format!("  {k} = {v}\n"));
        }
    }
    let json = json!({
        "version": snapshot.version(),
        "timestamp": rfc3339(snapshot.timestamp_ms()),
        "id": metadata.id,
        "snapshotId": snapshot_id,
        "name": metadata.name,
        "description": metadata.description,
        "protocol": protocol,
        "partitionColumns": metadata.partition_columns,
        "numFiles": files,
        "numRows": rows,
        "numBytes": bytes,
        "schema": serde_json::from_str::<Value>(&metadata.schema_string).unwrap_or(Value::Null),
        "properties": metadata.configuration,
    });
    write_doc(format, text.trim_end().to_string(), json)
}

fn key_values(
    pairs: &[String],
    what: &str,
) -> CliResult<std::collections::BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    CliError::Usage(format!("--{what} '{pair}' is not of the form KEY=VALUE"))
                })
        })
        .collect()
}

fn table_options(partition_by: Vec<String>, args: &TableArgs) -> CliResult<TableOptions> {
    Ok(TableOptions {
        partition_columns: partition_by,
        properties: key_values(&args.properties, "property")?,
        name: args.name.clone(),
        description: args.description.clone(),
        in_commit_timestamps: !args.no_in_commit_timestamps,
    })
}

async fn create(
    uri: &str,
    schema_path: &str,
    partition_by: Vec<String>,
    args: &TableArgs,
) -> CliResult<()> {
    let path = schema_path.to_string();
    let schema = tokio::task::spawn_blocking(move || read_schema_file(&path))
        .await
        .map_err(|e| {
            CliError::Usage(format!("cannot read the schema file '{schema_path}': {e}"))
        })??;
    let location = tidemark_core::TableLocation::parse(uri)?;
    Table::create_at(
        location,
        &schema,
        table_options(partition_by, args)?,
        CommitMetadata::default(),
    )
    .await?;
    println!("version 0");
    Ok(())
}

fn read_schema_file(path: &str) -> CliResult<StructType> {
    let unreadable = |e: &dyn std::fmt::Display| {
        CliError::Usage(format!("cannot read the schema file '{path}': {e}"))
    };
    if path.to_ascii_lowercase().ends_with(".parquet") {
        let file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| unreadable(&e))?;
        Ok(StructType::from_arrow(builder.schema())?)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(&e))?;
        Ok(tidemark_core::schema::parse_schema(&text)?)
    }
}

/// The arguments of `tidemark write`.
struct WriteRequest {
    table: String,
    inputs: Vec<String>,
    mode: Mode,
    replace_where: Option<String>,
    schema_mode: crate::alter::SchemaModeArg,
    partition_by: Option<Vec<String>>,
    commit: CommitArgs,
    app: Option<(String, i64)>,
    table_args: TableArgs,
    input_tables: Vec<String>,
}

async fn write(request: WriteRequest) -> CliResult<()> {
    for input in &request.inputs {
        if !crate::input::exists(input) {
            return Err(CliError::Usage(format!(
                "input file '{input}' does not exist"
            )));
        }
    }
    let table = Table::open(&request.table)?;
    let snapshot = match table.snapshot(VersionSpec::Latest).await {
        Ok(snapshot) => Some(std::sync::Arc::new(snapshot)),
        Err(tidemark_core::Error::TableNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let table_schema = match &snapshot {
        Some(snapshot) => Some(std::sync::Arc::new(snapshot.schema().to_arrow()?)),
        None => None,
    };
    let inputs = open_inputs(&request.inputs, table_schema).await?;
    let metadata = CommitMetadata {
        message: request.commit.message.clone(),
        author: request.commit.author.clone(),
        properties: key_values(&request.commit.meta, "meta")?,
    };
    // The command creates the table on its first write.
    let mut builder = table.write().with_create_if_missing(true);
    // The write reads the snapshot just loaded, instead of replaying the log again.
    if let Some(snapshot) = snapshot {
        builder = builder.with_read_snapshot(snapshot);
    }
    let mut builder = builder
        .with_mode(match request.mode {
            Mode::Append => WriteMode::Append,
            Mode::Overwrite => WriteMode::Overwrite,
        })
        .with_commit_metadata(metadata)
        .with_schema_mode(request.schema_mode.into())
        .with_table_options(table_options(Vec::new(), &request.table_args)?);
    if let Some(predicate) = &request.replace_where {
        builder = builder.with_replace_where(predicate.clone());
    }
    if let Some(columns) = request.partition_by {
        builder = builder.with_partition_columns(columns);
    }
    if let Some((app_id, version)) = &request.app {
        builder = builder.with_app_transaction(app_id.clone(), *version);
    }
    for input in &request.input_tables {
        let (table, snapshot_id) = crate::repro::lineage_input(input).await?;
        builder = builder.with_lineage_input(table, snapshot_id);
    }
    let progress = Progress::start();
    if let Some(callback) = progress.callback() {
        builder = builder.with_progress(callback);
    }
    let outcome = builder.execute(inputs.schema, inputs.batches).await;
    progress.finish();
    let outcome = outcome?;
    match outcome.version {
        Some(version) => {
            eprintln!(
                "wrote {} rows in {} files ({} bytes){}",
                outcome.rows_added,
                outcome.files_added,
                outcome.bytes_added,
                if outcome.files_removed > 0 {
                    format!(", removed {} files", outcome.files_removed)
                } else {
                    String::new()
                }
            );
            println!("version {version}");
        }
        None => {
            println!("skipped: application transaction already committed");
        }
    }
    Ok(())
}
