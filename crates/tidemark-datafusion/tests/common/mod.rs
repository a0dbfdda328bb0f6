//! Helpers shared by the DataFusion integration tests: running queries, rows of results as text,
//! and nodes of physical plans.
#![allow(dead_code)] // not every test file uses every helper

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::physical_plan::ExecutionPlan;
use tidemark_datafusion::TidemarkContext;

/// The rows of batches, in order, each as its values joined by `|` (nulls as `NULL`).
pub fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let f: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                f.iter()
                    .map(|f| f.value(r).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    out
}

/// [`rows`], sorted (for results in no particular order).
pub fn sorted_rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = rows(batches);
    out.sort();
    out
}

/// The first node of type `T` in a plan, depth first.
pub fn find<T: 'static + Clone>(plan: &Arc<dyn ExecutionPlan>) -> Option<T> {
    if let Some(found) = (plan.as_ref() as &dyn std::any::Any).downcast_ref::<T>() {
        return Some(found.clone());
    }
    plan.children().into_iter().find_map(find::<T>)
}

/// Runs `sql` in `ctx` and collects its result.
pub async fn collect_sql(ctx: &TidemarkContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}
