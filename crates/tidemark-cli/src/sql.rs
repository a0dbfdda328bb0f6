//! `tidemark sql`: one query, or an interactive shell with line editing and history.

use std::io::IsTerminal;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use tidemark_core::SchemaMode;
use tidemark_datafusion::TidemarkContext;

use crate::error::{CliError, CliResult};
use crate::output::{RowFormat, write_rows};

/// Where the shell keeps its history.
fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".tidemark_sql_history"))
}

/// Runs `tidemark sql`.
pub(crate) async fn run(
    tables: Vec<String>,
    query: Option<String>,
    format: RowFormat,
    output: Option<String>,
    schema_mode: SchemaMode,
) -> CliResult<()> {
    let ctx = TidemarkContext::new();
    ctx.set_schema_mode(schema_mode);
    for table in &tables {
        let (name, uri) = table
            .split_once('=')
            .filter(|(name, uri)| !name.trim().is_empty() && !uri.is_empty())
            .ok_or_else(|| {
                CliError::Usage(format!("--table '{table}' is not of the form NAME=URI"))
            })?;
        ctx.register(name.trim(), uri).await?;
    }
    match query {
        Some(query) => run_query(&ctx, &query, format, output.as_deref()).await,
        None => shell(ctx, format).await,
    }
}

async fn run_query(
    ctx: &TidemarkContext,
    sql: &str,
    format: RowFormat,
    output: Option<&str>,
) -> CliResult<()> {
    let frame = ctx.sql(sql).await?;
    let schema = std::sync::Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    write_rows(format, schema, &batches, output)
}

/// Reads statements (ended by `;`) and runs each; `\q`, `quit` or end of input leaves.
async fn shell(ctx: TidemarkContext, format: RowFormat) -> CliResult<()> {
    let interactive = std::io::stdin().is_terminal();
    let mut editor = tokio::task::spawn_blocking(|| {
        let mut editor = DefaultEditor::new()?;
        if let Some(path) = history_path() {
            let _ = editor.load_history(&path);
        }
        Ok::<_, ReadlineError>(editor)
    })
    .await
    .map_err(|e| CliError::Usage(format!("cannot start the shell: {e}")))?
    .map_err(|e| CliError::Usage(format!("cannot start the shell: {e}")))?;
    if interactive {
        eprintln!("tidemark sql: end statements with ';', leave with \\q");
    }
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "tidemark> "
        } else {
            "      -> "
        };
        let (returned, line) = tokio::task::spawn_blocking(move || {
            let line = editor.readline(prompt);
            (editor, line)
        })
        .await
        .map_err(|e| CliError::Usage(format!("the shell failed: {e}")))?;
        editor = returned;
        let line = match line {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::Usage(format!("cannot read input: {e}"))),
        };
        let trimmed = line.trim();
        if pending.is_empty() && matches!(trimmed, "\\q" | "quit" | "exit" | "quit;" | "exit;") {
            break;
        }
        if trimmed.is_empty() {
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let statement = std::mem::take(&mut pending);
        let _ = editor.add_history_entry(statement.trim());
        let sql = statement.trim().trim_end_matches(';');
        if let Err(e) = run_query(&ctx, sql, format, None).await {
            eprintln!("error: {e}");
        }
    }
    if let Some(path) = history_path() {
        let _ = tokio::task::spawn_blocking(move || editor.save_history(&path)).await;
    }
    Ok(())
}
