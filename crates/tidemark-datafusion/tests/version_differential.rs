//! Time travel against an oracle: a Tidemark table with several versions, and a plain DataFusion
//! session holding one in-memory table per version with exactly that version's rows. Queries
//! generated from templates (scalar subqueries, IN, EXISTS, CTEs, joins of every kind, set
//! operations, window functions, views), each with versions picked at random, must give the
//! same rows in both: no scan of one version may stand in for another's.
//!
//! `TIDEMARK_DIFF_SEED` and `TIDEMARK_DIFF_QUERIES` change the seed and the number of
//! generated queries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringViewArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{collect_sql, sorted_rows};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use tidemark_core::{SchemaMode, Table, TableLocation, VersionSpec, WriteMode};
use tidemark_datafusion::TidemarkContext;

/// One row of the table. `note` exists from version 4 on (a merge append added it).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: Option<i64>,
    grp: Option<&'static str>,
    val: Option<i64>,
    note: Option<String>,
}

fn row(id: Option<i64>, grp: Option<&'static str>, val: Option<i64>) -> Row {
    Row {
        id,
        grp,
        val,
        note: None,
    }
}

/// The rows as a batch, with `note` when `with_note`.
fn to_batch(rows: &[Row], with_note: bool) -> RecordBatch {
    let mut fields = vec![
        Field::new("id", DataType::Int64, true),
        Field::new("grp", DataType::Utf8View, true),
        Field::new("val", DataType::Int64, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        )),
        Arc::new(StringViewArray::from(
            rows.iter().map(|r| r.grp).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            rows.iter().map(|r| r.val).collect::<Vec<_>>(),
        )),
    ];
    if with_note {
        fields.push(Field::new("note", DataType::Utf8View, true));
        columns.push(Arc::new(StringViewArray::from(
            rows.iter().map(|r| r.note.as_deref()).collect::<Vec<_>>(),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// The same rows with `Utf8` strings, as written to the table.
fn to_write_batch(rows: &[Row], with_note: bool) -> RecordBatch {
    let batch = to_batch(rows, with_note);
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let ty = if f.data_type() == &DataType::Utf8View {
                DataType::Utf8
            } else {
                f.data_type().clone()
            };
            Field::new(f.name(), ty, true)
        })
        .collect();
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// What a version can be read by, besides its number.
#[derive(Debug, Clone)]
struct VersionInfo {
    /// Commit time, milliseconds since the epoch.
    timestamp_ms: i64,
    snapshot_id: String,
    tag: Option<String>,
}

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: TidemarkContext,
    oracle: SessionContext,
    /// Rows of each version, in the order written.
    model: Vec<Vec<Row>>,
    versions: Vec<VersionInfo>,
}

impl Fixture {
    fn latest(&self) -> usize {
        self.model.len() - 1
    }
}

const GROUPS: [Option<&str>; 4] = [Some("a"), Some("b"), Some("c"), None];

/// The writes, as (mode, merge schema, rows). Ids overlap between some versions and not
/// others, values and groups are sometimes NULL, version 3 overwrites, version 4 adds a column.
fn writes() -> Vec<(WriteMode, bool, Vec<Row>)> {
    let v0: Vec<Row> = (1..=8)
        .map(|i| {
            row(
                Some(i),
                GROUPS[(i % 4) as usize],
                (i % 5 != 0).then_some(i * 10),
            )
        })
        .collect();
    let mut v1: Vec<Row> = (5..=12)
        .map(|i| row(Some(i), GROUPS[(i % 3) as usize], Some(i * 10 + 1)))
        .collect();
    v1.push(row(None, Some("a"), Some(7)));
    let v2: Vec<Row> = (20..=24)
        .map(|i| row(Some(i), Some("d"), (i != 22).then_some(i - 15)))
        .collect();
    let mut v3: Vec<Row> = (3..=10)
        .map(|i| row(Some(i), GROUPS[(i % 2) as usize], Some(i * 7 % 30)))
        .collect();
    v3.push(row(None, None, Some(5)));
    v3.push(row(Some(4), Some("b"), None));
    let v4: Vec<Row> = (9..=15)
        .map(|i| Row {
            id: Some(i),
            grp: GROUPS[(i % 4) as usize],
            val: Some(i % 6),
            note: (i % 2 == 1).then(|| format!("n{i}")),
        })
        .collect();
    let v5: Vec<Row> = (1..=3)
        .map(|i| Row {
            id: Some(i),
            grp: Some("c"),
            val: Some(100 + i),
            note: (i == 2).then(|| "late".to_string()),
        })
        .collect();
    vec![
        (WriteMode::Append, false, v0),
        (WriteMode::Append, false, v1),
        (WriteMode::Append, false, v2),
        (WriteMode::Overwrite, false, v3),
        (WriteMode::Append, true, v4),
        (WriteMode::Append, true, v5),
    ]
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().join("t").to_str().unwrap().to_string();
    let location = TableLocation::parse(&uri).unwrap();
    let mut model: Vec<Vec<Row>> = Vec::new();
    let mut has_note = false;
    for (version, (mode, merge, rows)) in writes().into_iter().enumerate() {
        has_note |= merge;
        let mut write = Table::from_location(location.clone())
            .write()
            .with_create_if_missing(true)
            .with_mode(mode);
        if version == 0 {
            write = write.with_partition_columns(["grp"]);
        }
        if merge {
            write = write.with_schema_mode(SchemaMode::Merge);
        }
        write
            .execute_batches(vec![to_write_batch(&rows, merge)])
            .await
            .unwrap();
        let mut now = match (mode, model.last()) {
            (WriteMode::Append, Some(previous)) => previous.clone(),
            _ => Vec::new(),
        };
        now.extend(rows);
        model.push(now);
        // Distinct commit times, for TIMESTAMP AS OF.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(has_note);

    let mut versions = Vec::new();
    for version in 0..model.len() as u64 {
        let snapshot = Table::from_location(location.clone())
            .snapshot(VersionSpec::Version(version))
            .await
            .unwrap();
        let tag = (version % 2 == 1).then(|| format!("tag_v{version}"));
        if let Some(tag) = &tag {
            tidemark_core::extensions::tag::create_tag(
                &location,
                tag,
                VersionSpec::Version(version),
                Default::default(),
            )
            .await
            .unwrap();
        }
        versions.push(VersionInfo {
            timestamp_ms: snapshot.timestamp_ms(),
            snapshot_id: snapshot.snapshot_id().unwrap(),
            tag,
        });
    }
    for pair in versions.windows(2) {
        assert!(pair[0].timestamp_ms < pair[1].timestamp_ms, "{versions:?}");
    }

    let ctx = TidemarkContext::new();
    ctx.register("t", &uri).await.unwrap();
    let oracle = SessionContext::new();
    for (version, rows) in model.iter().enumerate() {
        let with_note = version >= 4;
        let batch = to_batch(rows, with_note);
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
        oracle
            .register_table(format!("t_v{version}"), Arc::new(table))
            .unwrap();
    }
    let latest = model.len() - 1;
    let batch = to_batch(&model[latest], true);
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
    oracle.register_table("t_latest", Arc::new(table)).unwrap();

    // Views over each version, and over the latest, in both sessions.
    for version in 0..model.len() {
        collect_sql(
            &ctx,
            &format!(
                "CREATE VIEW vw_{version} AS SELECT id, grp, val FROM t VERSION AS OF {version}"
            ),
        )
        .await;
        oracle
            .sql(&format!(
                "CREATE VIEW vw_{version} AS SELECT id, grp, val FROM t_v{version}"
            ))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
    }
    collect_sql(&ctx, "CREATE VIEW vw_latest AS SELECT id, grp, val FROM t").await;
    oracle
        .sql("CREATE VIEW vw_latest AS SELECT id, grp, val FROM t_latest")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();

    Fixture {
        _dir: dir,
        ctx,
        oracle,
        model,
        versions,
    }
}

/// xorshift64*: a tiny seeded generator, so that every run asks the same queries.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A table expression of a query, in both forms.
#[derive(Debug, Clone)]
struct Source {
    /// What it reads: `Some(version)`, or `None` for the latest.
    version: Option<usize>,
    /// Tidemark form: `t VERSION AS OF 2`, `t`, `vw_2`, …
    tidemark: String,
    /// Oracle form: `t_v2`, `t_latest`, `vw_2`, …
    oracle: String,
    /// The qualifier its columns have when it has no alias, in each form.
    tidemark_qualifier: String,
    oracle_qualifier: String,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A source reading `version`, spelled at random.
fn versioned(fixture: &Fixture, rng: &mut Rng, version: usize) -> Source {
    let info = &fixture.versions[version];
    let next_ms = fixture.versions.get(version + 1).map(|n| n.timestamp_ms);
    let tidemark = loop {
        match rng.below(10) {
            0..=3 => break format!("t VERSION AS OF {version}"),
            4 => break format!("t AT(VERSION => {version})"),
            5 => break format!("t TIMESTAMP AS OF '{}'", iso(info.timestamp_ms)),
            6 => {
                // Between this commit and the next.
                let ms = next_ms.map_or(info.timestamp_ms, |n| (info.timestamp_ms + n) / 2);
                break format!("t FOR SYSTEM_TIME AS OF to_timestamp_millis({ms})");
            }
            7 => {
                if let Some(tag) = &info.tag {
                    break format!("t AT(TAG => '{tag}')");
                }
            }
            8 => break format!("t AT(SNAPSHOT => '{}')", info.snapshot_id),
            _ => break format!("public.t VERSION AS OF {version}"),
        }
    };
    Source {
        version: Some(version),
        tidemark,
        oracle: format!("t_v{version}"),
        tidemark_qualifier: "t".into(),
        oracle_qualifier: format!("t_v{version}"),
    }
}

fn latest_source() -> Source {
    Source {
        version: None,
        tidemark: "t".into(),
        oracle: "t_latest".into(),
        tidemark_qualifier: "t".into(),
        oracle_qualifier: "t_latest".into(),
    }
}

fn view_source(version: Option<usize>) -> Source {
    let name = version.map_or_else(|| "vw_latest".to_string(), |v| format!("vw_{v}"));
    Source {
        version,
        tidemark: name.clone(),
        oracle: name.clone(),
        tidemark_qualifier: name.clone(),
        oracle_qualifier: name,
    }
}

/// A source for a slot: a version, the latest, or a view; often the version of an earlier
/// slot again (spelled differently), so that equal and different versions both occur.
fn random_source(fixture: &Fixture, rng: &mut Rng, earlier: &[Source]) -> Source {
    if !earlier.is_empty() && rng.chance(20) {
        let same = rng.pick(earlier).version;
        return match same {
            Some(v) => versioned(fixture, rng, v),
            None => latest_source(),
        };
    }
    let versions = fixture.model.len();
    match rng.below(100) {
        0..=59 => {
            let v = rng.below(versions);
            versioned(fixture, rng, v)
        }
        60..=79 => latest_source(),
        _ => {
            let v = rng.below(versions + 1);
            view_source((v < versions).then_some(v))
        }
    }
}

/// Query templates: `{A}`, `{B}`, `{C}` are table expressions, `{qA}`, `{qB}` the qualifier of
/// an unaliased one, `{JOIN}` an outer or inner join kind, `{SETOP}` a set operation, `{ANDOR}`
/// `AND` or `OR`. Every
/// query is deterministic as a multiset of rows.
const TEMPLATES: &[(&str, &str)] = &[
    // Scalar subqueries in the select list.
    (
        "scalar_select_count",
        "SELECT (SELECT count(*) FROM {A}) AS a, (SELECT count(*) FROM {B}) AS b",
    ),
    (
        "scalar_select_aggs",
        "SELECT (SELECT max(id) FROM {A}) AS a, (SELECT max(id) FROM {B}) AS b, (SELECT sum(val) FROM {C}) AS c",
    ),
    (
        "scalar_select_filtered",
        "SELECT (SELECT count(id) FROM {A} WHERE val IS NULL OR id > 8) AS a, (SELECT count(id) FROM {B} WHERE val IS NULL OR id > 8) AS b",
    ),
    (
        "scalar_select_qualified",
        "SELECT (SELECT min({qA}.val) FROM {A}) AS a, (SELECT min({qB}.val) FROM {B}) AS b",
    ),
    (
        "scalar_correlated",
        "SELECT a.id, a.grp, (SELECT count(*) FROM {B} b WHERE b.grp = a.grp) AS n FROM {A} a",
    ),
    (
        "scalar_correlated_unaliased",
        "SELECT a.id, (SELECT max({qB}.val) FROM {B} WHERE {qB}.id = a.id) AS m FROM {A} a",
    ),
    // Scalar subqueries in WHERE.
    (
        "scalar_where",
        "SELECT id, val FROM {A} WHERE val > (SELECT min(val) FROM {B})",
    ),
    (
        "scalar_where_count",
        "SELECT count(*) FROM {A} WHERE id <= (SELECT count(*) FROM {B})",
    ),
    (
        "scalar_where_correlated",
        "SELECT a.id, a.val FROM {A} a WHERE a.val >= (SELECT max(b.val) FROM {B} b WHERE b.grp = a.grp)",
    ),
    (
        "scalar_where_two",
        "SELECT id, val FROM {C} WHERE id >= (SELECT count(*) FROM {A}) - 6 AND id <= (SELECT count(*) FROM {B})",
    ),
    (
        "scalar_correlated_two",
        "SELECT c.id, (SELECT count(*) FROM {A} x WHERE x.grp = c.grp) AS n1, (SELECT count(*) FROM {B} x WHERE x.grp = c.grp) AS n2 FROM {C} c",
    ),
    (
        "scalar_case",
        "SELECT CASE WHEN (SELECT count(*) FROM {A}) > (SELECT count(*) FROM {B}) THEN 'gt' WHEN (SELECT count(*) FROM {A}) = (SELECT count(*) FROM {B}) THEN 'eq' ELSE 'lt' END AS cmp",
    ),
    (
        "scalar_having",
        "SELECT grp, count(*) AS n FROM {C} GROUP BY grp HAVING count(*) + (SELECT count(*) FROM {A}) > (SELECT count(*) FROM {B})",
    ),
    (
        "scalar_union",
        "SELECT (SELECT count(*) FROM {A}) AS c UNION ALL SELECT (SELECT count(*) FROM {B})",
    ),
    // IN and NOT IN.
    (
        "in",
        "SELECT id, grp FROM {A} WHERE id IN (SELECT id FROM {B})",
    ),
    (
        "in_filtered",
        "SELECT id, val FROM {A} WHERE val IN (SELECT val FROM {B} WHERE grp = 'a' OR grp IS NULL)",
    ),
    (
        "not_in",
        "SELECT id, grp FROM {A} WHERE id NOT IN (SELECT id FROM {B} WHERE id IS NOT NULL)",
    ),
    (
        "not_in_nulls",
        "SELECT id FROM {A} WHERE val NOT IN (SELECT val FROM {B})",
    ),
    (
        "in_correlated",
        "SELECT a.id FROM {A} a WHERE a.val IN (SELECT b.val FROM {B} b WHERE b.grp = a.grp)",
    ),
    (
        "in_twice",
        "SELECT id, grp FROM {C} WHERE id IN (SELECT id FROM {A}) {ANDOR} id IN (SELECT id FROM {B})",
    ),
    // EXISTS and NOT EXISTS.
    (
        "exists",
        "SELECT a.id, a.val FROM {A} a WHERE EXISTS (SELECT 1 FROM {B} b WHERE b.id = a.id AND b.val <> a.val)",
    ),
    (
        "not_exists",
        "SELECT a.id, a.val FROM {A} a WHERE NOT EXISTS (SELECT 1 FROM {B} b WHERE b.id = a.id)",
    ),
    (
        "exists_twice",
        "SELECT c.id FROM {C} c WHERE EXISTS (SELECT 1 FROM {A} x WHERE x.id = c.id) {ANDOR} NOT EXISTS (SELECT 1 FROM {B} x WHERE x.id = c.id)",
    ),
    (
        "exists_uncorrelated",
        "SELECT count(*) FROM {A} WHERE EXISTS (SELECT 1 FROM {B} WHERE id > 20)",
    ),
    (
        "not_exists_uncorrelated",
        "SELECT count(*) FROM {A} WHERE NOT EXISTS (SELECT 1 FROM {B} WHERE val IS NULL)",
    ),
    // CTEs.
    (
        "cte_join",
        "WITH x AS (SELECT id, val FROM {A}), y AS (SELECT id, val FROM {B}) SELECT x.id, x.val, y.val FROM x JOIN y ON x.id = y.id",
    ),
    (
        "cte_counts",
        "WITH x AS (SELECT grp, count(*) AS c FROM {A} GROUP BY grp), y AS (SELECT grp, count(*) AS c FROM {B} GROUP BY grp) SELECT x.grp, x.c, y.grp, y.c FROM x FULL JOIN y ON x.grp = y.grp",
    ),
    (
        "cte_scalar",
        "WITH x AS (SELECT count(*) AS c, max(id) AS m FROM {A}), y AS (SELECT count(*) AS c, max(id) AS m FROM {B}) SELECT x.c, x.m, y.c, y.m FROM x, y",
    ),
    (
        "cte_reused",
        "WITH x AS (SELECT id FROM {A}) SELECT id FROM x WHERE id IN (SELECT id FROM {B}) UNION ALL SELECT id FROM x WHERE id > 10",
    ),
    // Joins.
    (
        "join_eq",
        "SELECT a.id, a.val, b.id, b.val FROM {A} a {JOIN} JOIN {B} b ON a.id = b.id",
    ),
    (
        "join_using",
        "SELECT id, a.val, b.val FROM {A} a JOIN {B} b USING (id)",
    ),
    (
        "join_nonequi",
        "SELECT a.id, b.id FROM {A} a {JOIN} JOIN {B} b ON a.grp = b.grp AND a.val < b.val",
    ),
    (
        "join_agg",
        "SELECT a.grp, count(*), sum(b.val), count(b.id) FROM {A} a {JOIN} JOIN {B} b ON a.id = b.id GROUP BY a.grp",
    ),
    (
        "join_cross",
        "SELECT count(*), sum(a.val), sum(b.val) FROM {A} a CROSS JOIN {B} b",
    ),
    (
        "join_comma",
        "SELECT a.id, b.id FROM {A} a, {B} b WHERE a.id = b.id + 1",
    ),
    (
        "join_three",
        "SELECT a.id, b.val, c.val FROM {A} a JOIN {B} b ON a.id = b.id {JOIN} JOIN {C} c ON b.id = c.id",
    ),
    (
        "join_semi",
        "SELECT a.id, a.grp FROM {A} a LEFT SEMI JOIN {B} b ON a.id = b.id",
    ),
    (
        "join_anti",
        "SELECT a.id, a.grp FROM {A} a LEFT ANTI JOIN {B} b ON a.id = b.id",
    ),
    // Set operations.
    (
        "setop",
        "SELECT id, grp FROM {A} {SETOP} SELECT id, grp FROM {B}",
    ),
    (
        "setop_counts",
        "SELECT 'a' AS s, count(*) AS c FROM {A} UNION ALL SELECT 'b', count(*) FROM {B} UNION ALL SELECT 'c', count(*) FROM {C}",
    ),
    (
        "setop_same_shape",
        "SELECT max(id) AS m, sum(val) AS s FROM {A} {SETOP} SELECT max(id), sum(val) FROM {B}",
    ),
    // Window functions.
    (
        "window_filtered",
        "SELECT id, grp, val, row_number() OVER (PARTITION BY grp ORDER BY id, val) AS rn, sum(val) OVER (PARTITION BY grp) AS s FROM {A} WHERE id IN (SELECT id FROM {B})",
    ),
    (
        "window_lag",
        "SELECT id, val, lag(val) OVER (ORDER BY id, val, grp) AS prev FROM {A} WHERE val >= (SELECT min(val) FROM {B})",
    ),
    (
        "window_rank_join",
        "SELECT a.id, rank() OVER (PARTITION BY a.grp ORDER BY b.val) AS r FROM {A} a JOIN {B} b ON a.id = b.id",
    ),
    (
        "window_two_versions",
        "SELECT x.id, x.c, y.c FROM (SELECT id, count(*) OVER (PARTITION BY grp) AS c FROM {A}) x JOIN (SELECT id, count(*) OVER (PARTITION BY grp) AS c FROM {B}) y ON x.id = y.id",
    ),
    // Derived tables.
    (
        "derived",
        "SELECT x.c, y.c FROM (SELECT count(*) AS c FROM {A}) x, (SELECT count(*) AS c FROM {B}) y",
    ),
    (
        "derived_same_filter",
        "SELECT x.m, y.m FROM (SELECT max(val) AS m FROM {A} WHERE grp = 'b') x CROSS JOIN (SELECT max(val) AS m FROM {B} WHERE grp = 'b') y",
    ),
    // One version at a time.
    (
        "single_star",
        "SELECT * FROM {A} WHERE id > 6 OR id IS NULL",
    ),
    (
        "single_group",
        "SELECT grp, count(*), sum(val), min(id), max(id) FROM {A} GROUP BY grp",
    ),
    (
        "single_qualified",
        "SELECT {qA}.id, {qA}.val FROM {A} WHERE {qA}.grp = 'a' OR {qA}.grp IS NULL",
    ),
];

const JOINS: &[&str] = &["INNER", "LEFT", "RIGHT", "FULL"];
const SETOPS: &[&str] = &[
    "UNION",
    "UNION ALL",
    "INTERSECT",
    "EXCEPT",
    "INTERSECT ALL",
    "EXCEPT ALL",
];

/// One query in both forms.
#[derive(Debug, Clone)]
struct Query {
    template: &'static str,
    tidemark: String,
    oracle: String,
}

fn instantiate(
    fixture: &Fixture,
    rng: &mut Rng,
    template: &'static str,
    text: &str,
    slots: Option<Vec<Source>>,
) -> Query {
    let sources = slots.unwrap_or_else(|| {
        let mut sources = Vec::new();
        for _ in 0..3 {
            let source = random_source(fixture, rng, &sources);
            sources.push(source);
        }
        sources
    });
    let join = *rng.pick(JOINS);
    let setop = *rng.pick(SETOPS);
    let and_or = *rng.pick(&["AND", "OR"]);
    let mut tidemark = text
        .replace("{JOIN}", join)
        .replace("{SETOP}", setop)
        .replace("{ANDOR}", and_or);
    let mut oracle = tidemark.clone();
    for (slot, source) in ["A", "B", "C"].iter().zip(&sources) {
        tidemark = tidemark
            .replace(&format!("{{q{slot}}}"), &source.tidemark_qualifier)
            .replace(&format!("{{{slot}}}"), &source.tidemark);
        oracle = oracle
            .replace(&format!("{{q{slot}}}"), &source.oracle_qualifier)
            .replace(&format!("{{{slot}}}"), &source.oracle);
    }
    Query {
        template,
        tidemark,
        oracle,
    }
}

async fn tidemark_rows(ctx: &TidemarkContext, sql: &str) -> Result<Vec<String>, String> {
    let frame = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let batches = frame.collect().await.map_err(|e| e.to_string())?;
    Ok(sorted_rows(&batches))
}

async fn oracle_rows(ctx: &SessionContext, sql: &str) -> Result<Vec<String>, String> {
    let frame = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let batches = frame.collect().await.map_err(|e| e.to_string())?;
    Ok(sorted_rows(&batches))
}

/// A query whose answers differ, or that failed in either session.
#[derive(Debug)]
struct Mismatch {
    query: Query,
    tidemark: Result<Vec<String>, String>,
    oracle: Result<Vec<String>, String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |answer: &Result<Vec<String>, String>| match answer {
            Ok(rows) if rows.len() > 20 => {
                format!("{} rows, first 20: {:?}", rows.len(), &rows[..20])
            }
            Ok(rows) => format!("{rows:?}"),
            Err(e) => format!("ERROR {e}"),
        };
        write!(
            f,
            "[{}]\n  tidemark: {}\n  oracle:   {}\n  tidemark answer: {}\n  oracle answer:   {}",
            self.query.template,
            self.query.tidemark,
            self.query.oracle,
            short(&self.tidemark),
            short(&self.oracle)
        )
    }
}

async fn check(fixture: &Fixture, query: Query) -> Option<Mismatch> {
    let tidemark = tidemark_rows(&fixture.ctx, &query.tidemark).await;
    let oracle = oracle_rows(&fixture.oracle, &query.oracle).await;
    match (&tidemark, &oracle) {
        (Ok(a), Ok(b)) if a == b => None,
        _ => Some(Mismatch {
            query,
            tidemark,
            oracle,
        }),
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Panics with every mismatch, counted by template, and the first few in full.
fn report(mismatches: &[Mismatch], total: usize) {
    if mismatches.is_empty() {
        return;
    }
    let mut by_template: BTreeMap<&str, usize> = BTreeMap::new();
    for m in mismatches {
        *by_template.entry(m.query.template).or_default() += 1;
    }
    let details: Vec<String> = mismatches.iter().take(5).map(|m| m.to_string()).collect();
    panic!(
        "{} of {total} queries differ from the oracle; by template: {by_template:?}\n\n{}",
        mismatches.len(),
        details.join("\n\n")
    );
}

/// The two queries of the bug report: scans of two versions of one table, merged into one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_versions_in_one_query_are_not_merged() {
    let fixture = fixture().await;
    let latest = fixture.latest();
    let count = |v: usize| fixture.model[v].len().to_string();
    let max_id = |v: usize| {
        fixture.model[v]
            .iter()
            .filter_map(|r| r.id)
            .max()
            .unwrap()
            .to_string()
    };
    assert_ne!(count(0), count(2));
    assert_ne!(max_id(0), max_id(latest));

    let rows = tidemark_rows(
        &fixture.ctx,
        "SELECT (SELECT count(*) FROM t VERSION AS OF 0) AS a, (SELECT count(*) FROM t VERSION AS OF 2) AS b",
    )
    .await
    .unwrap();
    assert_eq!(rows, vec![format!("{}|{}", count(0), count(2))]);
    let rows = tidemark_rows(
        &fixture.ctx,
        "SELECT (SELECT max(id) FROM t VERSION AS OF 0) AS a, (SELECT max(id) FROM t) AS b",
    )
    .await
    .unwrap();
    assert_eq!(rows, vec![format!("{}|{}", max_id(0), max_id(latest))]);

    // The same two, against the oracle.
    let fixed = [
        Query {
            template: "bug_count",
            tidemark: "SELECT (SELECT count(*) FROM t VERSION AS OF 0) AS a, (SELECT count(*) FROM t VERSION AS OF 2) AS b".into(),
            oracle: "SELECT (SELECT count(*) FROM t_v0) AS a, (SELECT count(*) FROM t_v2) AS b".into(),
        },
        Query {
            template: "bug_latest",
            tidemark: "SELECT (SELECT max(id) FROM t VERSION AS OF 0) AS a, (SELECT max(id) FROM t) AS b".into(),
            oracle: "SELECT (SELECT max(id) FROM t_v0) AS a, (SELECT max(id) FROM t_latest) AS b".into(),
        },
    ];
    let mut mismatches = Vec::new();
    for query in fixed {
        mismatches.extend(check(&fixture, query).await);
    }
    report(&mismatches, 2);
}

/// Hundreds of generated queries over random versions, against the oracle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_queries_read_the_versions_they_name() {
    let fixture = fixture().await;
    let seed = env_number("TIDEMARK_DIFF_SEED", 0x7461_6465_6d61_726b);
    let count = env_number("TIDEMARK_DIFF_QUERIES", 400) as usize;
    let mut rng = Rng::new(seed);
    let mut queries = Vec::new();
    // Every template once with two different versions, once with a version and the latest.
    for (name, text) in TEMPLATES {
        for (a, b) in [(Some(0), Some(2)), (Some(1), None)] {
            let slot = |v: Option<usize>| match v {
                Some(v) => Source {
                    version: Some(v),
                    tidemark: format!("t VERSION AS OF {v}"),
                    oracle: format!("t_v{v}"),
                    tidemark_qualifier: "t".into(),
                    oracle_qualifier: format!("t_v{v}"),
                },
                None => latest_source(),
            };
            let slots = vec![slot(a), slot(b), slot(Some(3))];
            queries.push(instantiate(&fixture, &mut rng, name, text, Some(slots)));
        }
    }
    while queries.len() < count {
        let (name, text) = *rng.pick(TEMPLATES);
        queries.push(instantiate(&fixture, &mut rng, name, text, None));
    }
    let total = queries.len();
    let mut mismatches = Vec::new();
    for query in queries {
        mismatches.extend(check(&fixture, query).await);
    }
    report(&mismatches, total);
}

/// `EXPLAIN` names the version a scan reads, with or without an alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_version() {
    let fixture = fixture().await;
    for sql in [
        "EXPLAIN SELECT * FROM t VERSION AS OF 1",
        "EXPLAIN SELECT x.id FROM t VERSION AS OF 1 AS x WHERE x.val > 3",
        "EXPLAIN SELECT t.id FROM t AT(VERSION => 1) WHERE t.val > 3",
    ] {
        let text = sorted_rows(&collect_sql(&fixture.ctx, sql).await).join("\n");
        assert!(text.contains("t@v1"), "{sql}\n{text}");
        if std::env::var("SHOW_EXPLAIN").is_ok() {
            eprintln!("{sql}\n{text}");
        }
    }
    let text = sorted_rows(
        &collect_sql(
            &fixture.ctx,
            "EXPLAIN SELECT (SELECT count(*) FROM t VERSION AS OF 0) AS a, (SELECT count(*) FROM t VERSION AS OF 2) AS b, (SELECT count(*) FROM t) AS c",
        )
        .await,
    )
    .join("\n");
    assert!(text.contains("t@v0") && text.contains("t@v2"), "{text}");
}

/// A version read by number behaves as the latest version read plainly: the same columns, the
/// same qualified names, the same errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_scans_resolve_names_as_plain_scans_do() {
    let fixture = fixture().await;
    let latest = fixture.latest();
    let queries = [
        "SELECT t.id, t.val FROM {T} WHERE t.grp = 'a'",
        "SELECT public.t.id FROM {T} WHERE public.t.val > 3",
        "SELECT datafusion.public.t.id FROM {T}",
        "SELECT x.id, x.val FROM {T} AS x WHERE x.id > 2",
        "SELECT x.id FROM {T} x WHERE t.id > 2",
        "SELECT a, b FROM {T} AS x(a, b, c, d)",
        "SELECT * FROM {T} AS x(a, b, c, d) WHERE a > 10",
        "SELECT nope FROM {T}",
        "SELECT t.nope FROM {T}",
        "SELECT other.id FROM {T}",
        "SELECT t.id FROM {T}, {T}",
        "SELECT count(*) FROM {T} JOIN {T} ON true",
        "SELECT x.id FROM {T} x JOIN {T} y ON x.id = y.id",
        "SELECT * FROM {T}",
        "SELECT t.* FROM {T}",
        "SELECT x.* FROM {T} x",
    ];
    let mut differences = Vec::new();
    for text in queries {
        let plain = tidemark_rows(&fixture.ctx, &text.replace("{T}", "t")).await;
        let versioned_text = text.replace("{T}", &format!("t VERSION AS OF {latest}"));
        let versioned = tidemark_rows(&fixture.ctx, &versioned_text).await;
        let same = match (&plain, &versioned) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !same {
            differences.push(format!(
                "{versioned_text}\n  plain:     {plain:?}\n  versioned: {versioned:?}"
            ));
        }
        // An error names the table as written, never the internal version name.
        if let Err(e) = &versioned {
            assert!(!e.contains("@v"), "{versioned_text}: {e}");
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
