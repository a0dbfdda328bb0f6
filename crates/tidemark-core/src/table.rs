//! The entry point: a table at a location, and the versions of it one can read.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::log::history::{self, CommitEntry};
use crate::log::listing::LogListing;
use crate::scan::ScanBuilder;
use crate::schema::StructType;
use crate::snapshot::Snapshot;
use crate::snapshot::time_travel;
use crate::storage::TableLocation;
use crate::transaction::commit::CommitMetadata;
use crate::transaction::write::{TableOptions, WriteBuilder, create_table};

/// Which version of a table to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionSpec {
    /// The newest version.
    #[default]
    Latest,
    /// A version number.
    Version(u64),
    /// The newest version committed at or before an instant.
    Timestamp(DateTime<Utc>),
    /// The version a snapshot id names (`tm1.<table id>.<version>.<digest>`), checked to be
    /// of this table and to hold the content the id was taken from.
    SnapshotId(String),
    /// The version a tag names (see [`crate::extensions::tag`]), checked like a snapshot id.
    Tag(String),
}

/// A Delta table at a location: where reading ([`Table::snapshot`], [`Table::scan`]) and
/// writing ([`Table::write`]) start. A table is created explicitly, by [`Table::create`].
///
/// ```no_run
/// # async fn demo() -> tidemark_core::Result<()> {
/// use tidemark_core::{Table, VersionSpec};
/// let table = Table::open("/data/sales")?;
/// let latest = table.snapshot(VersionSpec::Latest).await?;
/// let old = table.snapshot(VersionSpec::Version(3)).await?;
/// println!("{} files now, {} at version 3", latest.num_files(), old.num_files());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    location: TableLocation,
}

impl Table {
    /// Opens the table at a URI or local path. Nothing is read until a snapshot is asked for.
    pub fn open(uri: &str) -> Result<Self> {
        Ok(Self {
            location: TableLocation::parse(uri)?,
        })
    }

    /// Uses an existing location.
    pub fn from_location(location: TableLocation) -> Self {
        Self { location }
    }

    /// The table's location.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// Creates a new, empty table (version 0: a schema and no data) at a URI or local path,
    /// and returns it. Fails with [`crate::Error::TableAlreadyExists`] if a table is there.
    pub async fn create(uri: &str, schema: &StructType, options: TableOptions) -> Result<Self> {
        let table = Self::open(uri)?;
        create_table(&table.location, schema, options, CommitMetadata::default()).await?;
        Ok(table)
    }

    /// Creates a new, empty table at an existing location (one built with credentials or
    /// retry settings, say), recording `commit`'s message, author and properties in version 0.
    pub async fn create_at(
        location: TableLocation,
        schema: &StructType,
        options: TableOptions,
        commit: CommitMetadata,
    ) -> Result<Self> {
        create_table(&location, schema, options, commit).await?;
        Ok(Self { location })
    }

    /// Starts a write of new data as one new version (an append unless the builder says
    /// otherwise). The table must exist, unless the builder is told to create it
    /// ([`WriteBuilder::with_create_if_missing`]).
    pub fn write(&self) -> WriteBuilder {
        WriteBuilder::new(self.location.clone())
    }

    /// Starts a scan of one version: loads its snapshot and returns a builder for the columns
    /// and batch size to read.
    pub async fn scan(&self, spec: VersionSpec) -> Result<ScanBuilder> {
        Ok(ScanBuilder::new(self.snapshot(spec).await?))
    }

    /// Loads a snapshot of the given version.
    pub async fn snapshot(&self, spec: VersionSpec) -> Result<Snapshot> {
        match spec {
            VersionSpec::Latest => Snapshot::load(&self.location, None).await,
            VersionSpec::Version(v) => Snapshot::load(&self.location, Some(v)).await,
            VersionSpec::Timestamp(instant) => {
                let listing = LogListing::list(&self.location, None).await?;
                let version = self.version_at(&listing, instant).await?;
                Snapshot::load_from_listing(&self.location, &listing, version).await
            }
            VersionSpec::SnapshotId(id) => {
                crate::snapshot::id::resolve(&self.location, &id.parse()?).await
            }
            VersionSpec::Tag(name) => {
                let tag = crate::extensions::tag::read_tag(&self.location, &name).await?;
                crate::snapshot::id::resolve(&self.location, &tag.snapshot_id.parse()?).await
            }
        }
    }

    /// The newest version committed at or before `instant`.
    pub async fn version_at_timestamp(&self, instant: DateTime<Utc>) -> Result<u64> {
        let listing = LogListing::list(&self.location, None).await?;
        self.version_at(&listing, instant).await
    }

    async fn version_at(&self, listing: &LogListing, instant: DateTime<Utc>) -> Result<u64> {
        let latest_version =
            listing
                .latest_version()
                .ok_or_else(|| crate::Error::TableNotFound {
                    location: self.location.url().to_string(),
                })?;
        // The newest metadata says whether (and since when) in-commit timestamps are recorded;
        // it is read alone, without replaying the log (which is done in full if that fails).
        let metadata = match crate::snapshot::protocol_and_metadata_at(
            &self.location,
            listing,
            latest_version,
        )
        .await
        {
            Ok((protocol, metadata)) => {
                crate::features::check_read_supported(&protocol)?;
                metadata
            }
            Err(_) => Snapshot::load_from_listing(&self.location, listing, latest_version)
                .await?
                .metadata()
                .clone(),
        };
        time_travel::version_at_timestamp(&self.location, listing, &metadata, instant).await
    }

    /// The commits of the table, newest first, at most `limit` of them.
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<CommitEntry>> {
        history::history(&self.location, limit).await
    }
}
