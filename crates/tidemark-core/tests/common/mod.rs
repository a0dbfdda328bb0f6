//! Shared helpers of the integration tests: scanning and row comparison, writing and reading
//! tables in local directories, building batches, and an object store wrapper with hooks. The
//! tables they read come from `tidemark_testdata` (the repository's `tests/data`).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use tidemark_core::schema::{AlterOperation, alter_table};
use tidemark_core::testing::load_snapshot;
use tidemark_core::{
    ScanBuilder, SchemaMode, Snapshot, Table, TableLocation, VersionSpec, WriteMode,
};

/// All rows of a snapshot.
pub async fn scan_all(snapshot: Snapshot) -> Vec<RecordBatch> {
    let scan = ScanBuilder::new(snapshot).build().unwrap();
    scan.execute().try_collect().await.unwrap()
}

/// Rows as sorted canonical strings over the given column names (sorted by name), so that
/// results can be compared as unordered multisets of values, whatever the exact Arrow types.
pub fn canonical_rows(batches: &[RecordBatch], columns: &[String]) -> Vec<String> {
    let mut rows = Vec::new();
    let options = FormatOptions::default().with_null("NULL");
    for batch in batches {
        let mut formatted = Vec::new();
        for name in columns {
            let column = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("column {name} missing"));
            let column = normalise(column.as_ref());
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options).unwrap();
            formatted.push(
                (0..batch.num_rows())
                    .map(|i| formatter.value(i).to_string())
                    .collect::<Vec<_>>(),
            );
        }
        for row in 0..batch.num_rows() {
            rows.push(
                formatted
                    .iter()
                    .map(|c| c[row].as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
    }
    rows.sort();
    rows
}

fn normalise(array: &dyn Array) -> arrow::array::ArrayRef {
    match array.data_type() {
        DataType::Timestamp(_, tz) => {
            let target =
                DataType::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "+00:00".into()));
            arrow::compute::cast(&arrow::array::make_array(array.to_data()), &target).unwrap()
        }
        _ => arrow::array::make_array(array.to_data()),
    }
}

/// Sorted column names of a batch list's schema.
pub fn column_names(batches: &[RecordBatch]) -> Vec<String> {
    let mut names: Vec<String> = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Reads a Parquet file fully (synchronously; for expected answers).
pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// Total rows.
pub fn num_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The table in the local directory `dir`.
pub fn location(dir: &Path) -> TableLocation {
    TableLocation::parse(dir.to_str().unwrap()).unwrap()
}

/// A version of the table in `dir` (`None`: the latest).
pub async fn snapshot_at(dir: &Path, version: Option<u64>) -> Snapshot {
    load_snapshot(&location(dir), version).await.unwrap()
}

/// A version of the table in `dir` reached by time travel to its own commit timestamp, which
/// must land on that same version.
pub async fn snapshot_by_timestamp(dir: &Path, version: u64) -> Snapshot {
    let snapshot = snapshot_at(dir, Some(version)).await;
    let instant = chrono::DateTime::from_timestamp_millis(snapshot.timestamp_ms()).unwrap();
    let at = Table::from_location(location(dir))
        .snapshot(VersionSpec::Timestamp(instant))
        .await
        .unwrap();
    assert_eq!(at.version(), version);
    at
}

/// Writes `batch` to the table at `location` (created if missing); returns the new version.
pub async fn write_batch(
    location: &TableLocation,
    batch: RecordBatch,
    mode: WriteMode,
    schema_mode: SchemaMode,
) -> tidemark_core::Result<u64> {
    let outcome = Table::from_location(location.clone())
        .write()
        .with_create_if_missing(true)
        .with_mode(mode)
        .with_schema_mode(schema_mode)
        .execute_batches(vec![batch])
        .await?;
    Ok(outcome.version.unwrap())
}

/// Appends `batch` to the table in `dir` (created if missing) under `schema_mode`.
pub async fn write(
    dir: &Path,
    batch: RecordBatch,
    schema_mode: SchemaMode,
) -> tidemark_core::Result<u64> {
    write_batch(&location(dir), batch, WriteMode::Append, schema_mode).await
}

/// Applies one schema change to the table in `dir`; returns the new version.
pub async fn alter(dir: &Path, op: AlterOperation) -> tidemark_core::Result<u64> {
    alter_table(&location(dir), op, Default::default()).await
}

/// The values of the Int64 column `id` of batches, in order.
pub fn ids_of(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect()
}

/// The `id`s of all rows of a snapshot, sorted.
pub async fn sorted_ids(snapshot: Snapshot) -> Vec<i64> {
    let mut ids = ids_of(&scan_all(snapshot).await);
    ids.sort();
    ids
}

/// The sorted `id`s of a version of the table in `dir` (`None`: the latest).
pub async fn ids_at(dir: &Path, version: Option<u64>) -> Vec<i64> {
    sorted_ids(snapshot_at(dir, version).await).await
}

/// A batch of the given named columns, all nullable.
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// An Int32 column.
pub fn ints(v: &[i32]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}

/// An Int64 column.
pub fn longs(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

/// A Utf8 column.
pub fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// A struct column of the given named fields, all nullable.
pub fn structs(fields: Vec<(&str, ArrayRef)>) -> ArrayRef {
    let f: Vec<Field> = fields
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    Arc::new(StructArray::new(
        Fields::from(f),
        fields.into_iter().map(|(_, a)| a).collect(),
        None,
    ))
}

/// The names of the files in the table's `_delta_log/`.
pub fn log_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The actions of a commit file, one JSON value a line.
pub fn commit_actions(dir: &Path, version: u64) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(format!("_delta_log/{version:020}.json")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits a few milliseconds, so that the next commit's time differs (for time travel by
/// timestamp).
pub async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

/// The kind of object-store call a [`StoreHooks`] is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCall {
    /// `get_opts` (whole objects, ranges, heads).
    Get,
    /// `get_ranges`.
    GetRanges,
    /// Puts that overwrite (data files, checkpoints).
    Put,
    /// Put-if-absent (commits).
    PutCreate,
    /// Listings (`list_with_delimiter`; streamed listings go through [`StoreHooks::listing`]).
    List,
}

/// A call of the inner store, as its future.
pub type StoreFuture<'a, T> = BoxFuture<'a, object_store::Result<T>>;

/// A listing of the inner store, as its stream.
pub type Listing = BoxStream<'static, object_store::Result<ObjectMeta>>;

/// What a [`HookedStore`] does around its inner store's calls (faults, delays, records).
pub trait StoreHooks: fmt::Debug + Send + Sync + 'static {
    /// The store's name in its `Display` (`Name(inner)`).
    const NAME: &'static str;

    /// Runs `call`, the inner store's answer to a call of kind `kind` on `path`.
    fn around<'a, T: Send + 'a>(
        &'a self,
        kind: StoreCall,
        path: &'a str,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T>;

    /// The listing under `prefix` (`list` and `list_with_offset`), from the inner store's.
    fn listing(&self, prefix: &str, listing: Listing) -> Listing;
}

/// An object store that passes every call to `inner` through its `hooks` (dereferences to
/// them).
#[derive(Debug)]
pub struct HookedStore<H> {
    /// The store that answers.
    pub inner: Arc<dyn ObjectStore>,
    /// What happens around the calls.
    pub hooks: H,
}

impl<H: StoreHooks> HookedStore<H> {
    /// `inner` behind `hooks`.
    pub fn new(inner: Arc<dyn ObjectStore>, hooks: H) -> Arc<Self> {
        Arc::new(Self { inner, hooks })
    }
}

impl<H> std::ops::Deref for HookedStore<H> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.hooks
    }
}

impl<H: StoreHooks> fmt::Display for HookedStore<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", H::NAME, self.inner)
    }
}

#[async_trait]
impl<H: StoreHooks> ObjectStore for HookedStore<H> {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let kind = if matches!(opts.mode, PutMode::Create) {
            StoreCall::PutCreate
        } else {
            StoreCall::Put
        };
        let call = self.inner.put_opts(location, payload, opts);
        self.hooks.around(kind, location.as_ref(), call).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let call = self.inner.get_opts(location, options);
        self.hooks
            .around(StoreCall::Get, location.as_ref(), call)
            .await
    }

    async fn get_ranges(
        &self,
        location: &ObjectPath,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let call = self.inner.get_ranges(location, ranges);
        self.hooks
            .around(StoreCall::GetRanges, location.as_ref(), call)
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> Listing {
        let path = prefix.map(|p| p.to_string()).unwrap_or_default();
        self.hooks.listing(&path, self.inner.list(prefix))
    }

    fn list_with_offset(&self, prefix: Option<&ObjectPath>, offset: &ObjectPath) -> Listing {
        let path = prefix.map(|p| p.to_string()).unwrap_or_default();
        self.hooks
            .listing(&path, self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        let path = prefix.map(|p| p.to_string()).unwrap_or_default();
        let call = self.inner.list_with_delimiter(prefix);
        self.hooks.around(StoreCall::List, &path, call).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// An operation a test runs in the middle of another (see [`Interleave`]).
pub type InterleavedAction = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// Store hooks that run an action (another operation, to completion) just before the `nth`
/// call (1-based) of one kind whose path contains `suffix`: listings (`StoreCall::List`) or
/// put-if-absent calls (`StoreCall::PutCreate`). The interleaved call then goes on.
pub struct Interleave {
    /// `StoreCall::List` to act on listings; `StoreCall::PutCreate` on put-if-absent calls.
    kind: StoreCall,
    suffix: String,
    nth: usize,
    seen: AtomicUsize,
    action: Mutex<Option<InterleavedAction>>,
    /// How many times the action ran (0 or 1).
    pub ran: AtomicUsize,
}

impl std::fmt::Debug for Interleave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interleave({} #{})", self.suffix, self.nth)
    }
}

impl StoreHooks for Interleave {
    const NAME: &'static str = "Interleave";

    fn around<'a, T: Send + 'a>(
        &'a self,
        kind: StoreCall,
        path: &'a str,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        let Some(action) = self.take_action(kind, path) else {
            return call;
        };
        Box::pin(async move {
            action().await;
            call.await
        })
    }

    fn listing(&self, prefix: &str, listing: Listing) -> Listing {
        let Some(action) = self.take_action(StoreCall::List, prefix) else {
            return listing;
        };
        futures::stream::once(async move {
            action().await;
            listing
        })
        .flatten()
        .boxed()
    }
}

impl Interleave {
    /// Runs `action` before the `nth` call of `kind` whose path contains `suffix`.
    pub fn new(kind: StoreCall, suffix: &str, nth: usize, action: InterleavedAction) -> Self {
        Self {
            kind,
            suffix: suffix.to_string(),
            nth,
            seen: AtomicUsize::new(0),
            action: Mutex::new(Some(action)),
            ran: AtomicUsize::new(0),
        }
    }

    /// The action, when this call is the one to run it before.
    fn take_action(&self, kind: StoreCall, path: &str) -> Option<InterleavedAction> {
        if kind != self.kind || !path.contains(&self.suffix) {
            return None;
        }
        let count = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if count != self.nth {
            return None;
        }
        let action = self.action.lock().unwrap().take()?;
        self.ran.fetch_add(1, Ordering::SeqCst);
        Some(action)
    }
}
