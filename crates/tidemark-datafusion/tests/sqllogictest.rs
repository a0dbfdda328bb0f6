//! Runs the `.slt` files in `tests/slt/` (sqllogictest) against a [`TidemarkContext`] holding
//! real Tidemark tables on disk:
//!
//! - `sales`: a copy of `examples/sales` (versions 0, 1, 2 committed at 10:00, 10:01 and
//!   10:02 UTC on 2025-11-20, partitioned by `region`; version 2 replaced the US rows);
//! - `sales_w`: another copy, fresh for each file, for writes;
//! - `dv`: a copy of a Spark table with deletion vectors (`delta-kernel/table-with-dv-small`);
//! - `plain`: a DataFusion in-memory table, which has no versions.
//!
//! With `control substitution on`, `$TIDEMARK_SALES` is the path of `sales` and
//! `$TIDEMARK_SCRATCH` an empty directory of the file's own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use datafusion::datasource::MemTable;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use tidemark_datafusion::TidemarkContext;

struct Fixtures {
    _dir: tempfile::TempDir,
    sales: PathBuf,
    dv: PathBuf,
    scratch: PathBuf,
}

fn fixtures() -> Fixtures {
    let dir = tempfile::tempdir().unwrap();
    let sales = dir.path().join("sales");
    tidemark_testdata::copy_dir(&tidemark_testdata::example("sales"), &sales);
    let dv = dir.path().join("dv");
    tidemark_testdata::copy_dir(
        &tidemark_testdata::table("delta-kernel/table-with-dv-small"),
        &dv,
    );
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    Fixtures {
        _dir: dir,
        sales,
        dv,
        scratch,
    }
}

struct Db {
    ctx: TidemarkContext,
}

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

fn format_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| {
                        let text = f.value(row).to_string();
                        if text.is_empty() {
                            "(empty)".to_string()
                        } else {
                            text
                        }
                    })
                    .collect(),
            );
        }
    }
    rows
}

#[async_trait]
impl AsyncDB for Db {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        if std::env::var("SLT_TRACE").is_ok() {
            eprintln!("SLT: {sql}");
        }
        let frame = self
            .ctx
            .sql(sql)
            .await
            .map_err(|e| DbError(e.to_string()))?;
        let columns = frame.schema().fields().len();
        let batches = frame.collect().await.map_err(|e| DbError(e.to_string()))?;
        let lower = sql.trim_start().to_ascii_lowercase();
        if lower.starts_with("create") || lower.starts_with("drop") {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; columns],
            rows: format_rows(&batches),
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "tidemark"
    }
}

fn db_error(error: impl std::fmt::Display) -> DbError {
    DbError(error.to_string())
}

async fn connect(sales: PathBuf, dv: PathBuf, scratch: PathBuf) -> Result<Db, DbError> {
    let ctx = TidemarkContext::new();
    ctx.register("sales", sales.to_str().unwrap())
        .await
        .map_err(db_error)?;
    ctx.register("dv", dv.to_str().unwrap())
        .await
        .map_err(db_error)?;
    let writable = tempfile::Builder::new()
        .tempdir_in(&scratch)
        .unwrap()
        .keep()
        .join("sales_w");
    tidemark_testdata::copy_dir(&tidemark_testdata::example("sales"), &writable);
    ctx.register("sales_w", writable.to_str().unwrap())
        .await
        .map_err(db_error)?;
    let plain = RecordBatch::try_from_iter(vec![(
        "id",
        Arc::new(arrow::array::Int64Array::from(vec![1, 2])) as arrow::array::ArrayRef,
    )])
    .unwrap();
    let table = MemTable::try_new(plain.schema(), vec![vec![plain]]).map_err(db_error)?;
    ctx.session()
        .register_table("plain", Arc::new(table))
        .map_err(db_error)?;
    Ok(Db { ctx })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let fixtures = fixtures();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "slt"))
            .collect();
    files.sort();
    assert!(files.len() >= 4, "slt files: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let (sales, dv, scratch) = (
            fixtures.sales.clone(),
            fixtures.dv.clone(),
            fixtures.scratch.clone(),
        );
        let mut runner = sqllogictest::Runner::new(move || {
            let (sales, dv, scratch) = (sales.clone(), dv.clone(), scratch.clone());
            async move { connect(sales, dv, scratch).await }
        });
        runner.set_var(
            "TIDEMARK_SALES".into(),
            fixtures.sales.to_string_lossy().into_owned(),
        );
        let scratch = tempfile::Builder::new()
            .tempdir_in(&fixtures.scratch)
            .unwrap()
            .keep();
        runner.set_var(
            "TIDEMARK_SCRATCH".into(),
            scratch.to_string_lossy().into_owned(),
        );
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!("sqllogictest: {} files passed", files.len());
}
