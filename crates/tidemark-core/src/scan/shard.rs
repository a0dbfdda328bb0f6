//! Deterministic sharded reads for distributed training.
//!
//! Given a snapshot, a seed, an epoch, a world size and a rank, a [`ShardedReader`] yields that
//! rank's rows in a shuffled order that is the same on every run and every machine:
//!
//! 1. The snapshot is cut into *units*: one row group of one data file. Units are listed in a
//!    fixed order (files by path, row groups by index), each with its number of live rows (its
//!    rows less those its file's deletion vector deletes), from the Parquet footers and the
//!    deletion vectors only.
//! 2. The units are permuted with a Fisher–Yates shuffle driven by a SplitMix64 generator seeded
//!    with `mix(seed, epoch)`.
//! 3. In that order, each unit goes to the rank with the fewest rows so far (the lowest rank on
//!    a tie): ranks get disjoint sets of units, together all of them, with row counts that
//!    differ by at most one unit.
//! 4. A rank reads its units in that order, one at a time; the live rows of each unit are
//!    permuted with a generator seeded from the seed, the epoch, the file's path and the row
//!    group index.
//!
//! Only one row group is held in memory at a time (the next one is fetched ahead), so shuffling
//! does not need the table in memory. Each epoch has a different order. A position is the
//! number of rows a rank has consumed in an epoch; [`ShardedReader::stream_from`] resumes
//! exactly after it.
//!
//! ```no_run
//! # async fn demo() -> tidemark_core::Result<()> {
//! use futures::TryStreamExt;
//! use tidemark_core::scan::shard::{ShardOptions, ShardedReader};
//! use tidemark_core::{Table, VersionSpec};
//! let snapshot = Table::open("/data/train")?.snapshot(VersionSpec::Tag("v1".into())).await?;
//! let options = ShardOptions { seed: 42, epoch: 0, world_size: 8, rank: 3, ..Default::default() };
//! let reader = ShardedReader::open(snapshot, options).await?;
//! let mut batches = reader.stream_from(0);
//! while let Some(batch) = batches.try_next().await? {
//!     // train on `batch`
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::SchemaRef;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

use crate::error::{Error, Result};
use crate::log::actions::Add;
use crate::scan::deletion_vector;
use crate::scan::{DEFAULT_BATCH_SIZE, Scan, ScanBuilder};
use crate::snapshot::Snapshot;
use crate::storage::parquet_reader::StoreFileReader;

/// A small, fast, seeded pseudo-random generator (SplitMix64). Its output is fixed by its seed
/// on every platform, which is what reproducible shuffles need.
///
/// ```
/// use tidemark_core::scan::shard::SplitMix64;
/// let mut a = SplitMix64::new(7);
/// let mut b = SplitMix64::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A uniform number in `0..bound` (Lemire's method, without bias); 0 when `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Shuffles a slice in place (Fisher–Yates, from the last element down).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of bytes, then mixed: a stable 64-bit hash of a unit's file path.
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(hash)
}

/// The seed of the unit permutation of an epoch.
fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    mix64(seed ^ mix64(epoch.wrapping_add(0x5EED)))
}

/// The seed of the row permutation inside one unit.
fn unit_seed(seed: u64, epoch: u64, path: &str, row_group: usize) -> u64 {
    mix64(epoch_seed(seed, epoch) ^ hash_bytes(path.as_bytes()) ^ mix64(row_group as u64 + 1))
}

/// What to read and as which rank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardOptions {
    /// The shuffle seed.
    pub seed: u64,
    /// The epoch: each epoch has another order (and another split between ranks).
    pub epoch: u64,
    /// How many ranks read the snapshot together (at least 1).
    pub world_size: usize,
    /// This reader's rank, `0..world_size`.
    pub rank: usize,
    /// Rows per batch yielded (default 8192).
    pub batch_size: usize,
    /// Only these columns, in this order (all when `None`).
    pub columns: Option<Vec<String>>,
}

impl Default for ShardOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            epoch: 0,
            world_size: 1,
            rank: 0,
            batch_size: DEFAULT_BATCH_SIZE,
            columns: None,
        }
    }
}

/// One unit of the shuffle: a row group of a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardUnit {
    /// The data file's path, as in the log.
    pub path: String,
    /// The row group's index in the file.
    pub row_group: usize,
    /// Its live rows (deleted rows excluded).
    pub rows: u64,
}

/// A rank's share of a snapshot for one epoch, in reading order.
#[derive(Debug, Clone)]
pub struct ShardedReader {
    scan: Scan,
    options: ShardOptions,
    /// This rank's units, in reading order, with their files.
    units: Vec<(ShardUnit, Add)>,
}

impl ShardedReader {
    /// Plans the read: lists every unit of the snapshot (reading Parquet footers and deletion
    /// vectors, not data), shuffles them for the epoch and keeps this rank's.
    pub async fn open(snapshot: impl Into<Arc<Snapshot>>, options: ShardOptions) -> Result<Self> {
        if options.world_size == 0 || options.rank >= options.world_size {
            return Err(Error::InvalidArgument(format!(
                "rank {} of world size {}: the world size must be at least 1 and the rank below it",
                options.rank, options.world_size
            )));
        }
        let snapshot: Arc<Snapshot> = snapshot.into();
        let mut builder =
            ScanBuilder::new(snapshot.clone()).with_batch_size(options.batch_size.max(1));
        if let Some(columns) = &options.columns {
            builder = builder.with_columns(columns.clone())?;
        }
        let scan = builder.build()?;
        let all = list_units(&snapshot).await?;
        let mut order: Vec<usize> = (0..all.len()).collect();
        SplitMix64::new(epoch_seed(options.seed, options.epoch)).shuffle(&mut order);
        let mut load = vec![0u64; options.world_size];
        let mut mine = Vec::new();
        for index in order {
            let Some((unit, add)) = all.get(index) else {
                continue;
            };
            let mut target = 0;
            for (rank, rows) in load.iter().enumerate() {
                if *rows < load[target] {
                    target = rank;
                }
            }
            load[target] += unit.rows;
            if target == options.rank {
                mine.push((unit.clone(), add.clone()));
            }
        }
        Ok(Self {
            scan,
            options,
            units: mine,
        })
    }

    /// The schema of the batches yielded.
    pub fn schema(&self) -> SchemaRef {
        self.scan.schema()
    }

    /// This rank's units, in reading order.
    pub fn units(&self) -> impl Iterator<Item = &ShardUnit> {
        self.units.iter().map(|(unit, _)| unit)
    }

    /// How many rows this rank reads in the epoch.
    pub fn num_rows(&self) -> u64 {
        self.units.iter().map(|(unit, _)| unit.rows).sum()
    }

    /// The options the reader was opened with.
    pub fn options(&self) -> &ShardOptions {
        &self.options
    }

    /// This rank's rows for the epoch, from the start.
    pub fn stream(&self) -> BoxStream<'static, Result<RecordBatch>> {
        self.stream_from(0)
    }

    /// This rank's rows for the epoch after the first `position` rows (a position past the
    /// end yields nothing). Batches hold at most `batch_size` rows and never span two units.
    pub fn stream_from(&self, position: u64) -> BoxStream<'static, Result<RecordBatch>> {
        let mut skip = position;
        let mut work = Vec::new();
        for (unit, add) in &self.units {
            if skip >= unit.rows {
                skip -= unit.rows;
                continue;
            }
            work.push((unit.clone(), add.clone(), skip));
            skip = 0;
        }
        let scan = self.scan.clone();
        let seed = self.options.seed;
        let epoch = self.options.epoch;
        let batch_size = self.options.batch_size.max(1);
        futures::stream::iter(work)
            .map(move |(unit, add, skip)| {
                let scan = scan.clone();
                async move { read_unit(&scan, unit, add, seed, epoch, skip, batch_size).await }
            })
            .buffered(2)
            .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// Reads one unit, shuffles its rows, drops the first `skip` and cuts the rest into batches.
async fn read_unit(
    scan: &Scan,
    unit: ShardUnit,
    add: Add,
    seed: u64,
    epoch: u64,
    skip: u64,
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let batches: Vec<RecordBatch> = scan
        .execute_row_group(add, unit.row_group)
        .try_collect()
        .await?;
    let all = concat_batches(&scan.schema(), &batches).map_err(|e| {
        Error::arrow(
            format!("reading row group {} of '{}'", unit.row_group, unit.path),
            e,
        )
    })?;
    let rows = all.num_rows();
    if rows as u64 != unit.rows {
        return Err(Error::DataFile {
            path: unit.path.clone(),
            reason: format!(
                "row group {} has {rows} live rows, but its footer and deletion vector say {}",
                unit.row_group, unit.rows
            ),
        });
    }
    let mut order: Vec<u32> = (0..u32::try_from(rows).map_err(|_| Error::DataFile {
        path: unit.path.clone(),
        reason: format!("row group {} has more than 2^32 rows", unit.row_group),
    })?)
        .collect();
    SplitMix64::new(unit_seed(seed, epoch, &unit.path, unit.row_group)).shuffle(&mut order);
    let start = usize::try_from(skip).unwrap_or(usize::MAX).min(order.len());
    let mut out = Vec::new();
    for chunk in order[start..].chunks(batch_size) {
        let indices = UInt32Array::from(chunk.to_vec());
        let batch = take_record_batch(&all, &indices)
            .map_err(|e| Error::arrow("shuffling the rows of a row group", e))?;
        out.push(batch);
    }
    Ok(out)
}

/// Every unit of the snapshot in the fixed order: files by path, row groups by index.
async fn list_units(snapshot: &Snapshot) -> Result<Vec<(ShardUnit, Add)>> {
    let location = snapshot.location().clone();
    let files: Vec<Add> = snapshot.files_sorted().into_iter().cloned().collect();
    let per_file: Vec<Vec<(ShardUnit, Add)>> = futures::stream::iter(files)
        .map(|add| {
            let location = location.clone();
            async move {
                let path = location.resolve(&add.path)?;
                let reader = StoreFileReader::new(
                    location.store().clone(),
                    path,
                    u64::try_from(add.size).ok().filter(|s| *s > 0),
                );
                let builder = ParquetRecordBatchStreamBuilder::new(reader)
                    .await
                    .map_err(|e| Error::parquet(format!("opening data file '{}'", add.path), e))?;
                let deleted = match &add.deletion_vector {
                    Some(dv) => Some(deletion_vector::load(&location, dv).await?),
                    None => None,
                };
                let mut first = 0u64;
                let mut units = Vec::new();
                for (index, group) in builder.metadata().row_groups().iter().enumerate() {
                    let rows = u64::try_from(group.num_rows()).unwrap_or(0);
                    let gone = deleted
                        .as_ref()
                        .map_or(0, |bitmap| bitmap.range_cardinality(first..first + rows));
                    first += rows;
                    units.push((
                        ShardUnit {
                            path: add.path.clone(),
                            row_group: index,
                            rows: rows.saturating_sub(gone),
                        },
                        add.clone(),
                    ));
                }
                Ok::<_, Error>(units)
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    Ok(per_file.into_iter().flatten().collect())
}
