//! Tags: named, immutable references to one version of a table.
//!
//! A tag is the JSON file `_tidemark/tags/<name>.json` inside the table's root (the
//! `_tidemark/` folder of `spec/TIDEMARK.md`): creating one writes no data version, and put-if-absent makes sure a
//! tag, once made, is never moved to another version. A tag can be deleted and its name used
//! again. Vacuum keeps every file of a tagged version.
//!
//! Only a readable version can be tagged: its log must replay, every data file and
//! deletion-vector file it reads must exist, and no vacuum in progress may plan to delete one;
//! otherwise [`create_tag`] fails naming the first missing file and how many are missing, and
//! leaves no tag. The tag is written *first* and the version checked after (the tag is
//! deleted again if the check fails): vacuum reads the tags and pins again right before each
//! batch of deletes, so either it sees the new tag and keeps the files, or its plan or its
//! deletions came first and the check sees them. Checking first would leave a window in which
//! vacuum deletes the files without seeing the tag.
//!
//! ```no_run
//! # async fn demo() -> tidemark_core::Result<()> {
//! use tidemark_core::{Table, VersionSpec};
//! use tidemark_core::extensions::tag::{create_tag, TagOptions};
//! let location = tidemark_core::TableLocation::parse("/data/sales")?;
//! let tag = create_tag(&location, "train-2025-11", VersionSpec::Version(3), TagOptions::default()).await?;
//! let snapshot = Table::from_location(location).snapshot(VersionSpec::Tag(tag.name)).await?;
//! assert_eq!(snapshot.version(), 3);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::extensions::readable::check_or_withdraw;
use crate::extensions::tidemark_dir::{self, check_name, entry_path};
use crate::snapshot::id::SnapshotId;
use crate::storage::TableLocation;
use crate::table::{Table, VersionSpec};

/// The folder of tags inside `_tidemark/`.
const KIND: &str = "tags";

/// A tag, as stored in `_tidemark/tags/<name>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// The tag's name.
    pub name: String,
    /// The table's `metaData.id` when the tag was made.
    pub table_id: String,
    /// The version the tag names.
    pub version: u64,
    /// The snapshot id of that version.
    pub snapshot_id: String,
    /// Why the tag was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Who made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When it was made, in milliseconds since the epoch.
    pub created_time_ms: i64,
}

/// Message and author of a new tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagOptions {
    /// Why the tag is made.
    pub message: Option<String>,
    /// Who makes it.
    pub author: Option<String>,
}

/// Creates tag `name` on the version `at` names. Fails with [`Error::TagExists`] when a tag of
/// that name exists, and with [`Error::VersionNotFound`] when the version cannot be read (a data
/// file or deletion-vector file it needs was deleted); no tag is left behind then.
pub async fn create_tag(
    location: &TableLocation,
    name: &str,
    at: VersionSpec,
    options: TagOptions,
) -> Result<Tag> {
    check_name("tag", name)?;
    let snapshot = Table::from_location(location.clone()).snapshot(at).await?;
    let tag = Tag {
        name: name.to_string(),
        table_id: snapshot.metadata().id.clone(),
        version: snapshot.version(),
        snapshot_id: SnapshotId::of(&snapshot)?.to_string(),
        message: options.message,
        author: options.author,
        created_time_ms: chrono::Utc::now().timestamp_millis(),
    };
    let path = entry_path(location, KIND, name);
    if !tidemark_dir::create_entry(location, &path, &tag).await? {
        let existing = read_tag(location, name).await?;
        return Err(Error::TagExists {
            name: name.to_string(),
            version: existing.version,
        });
    }
    // Written first, checked second: see the module documentation.
    check_or_withdraw(location, &snapshot, &path, &format!("tag '{name}'")).await?;
    Ok(tag)
}

/// Reads tag `name`; [`Error::TagNotFound`] when there is none.
pub async fn read_tag(location: &TableLocation, name: &str) -> Result<Tag> {
    check_name("tag", name)?;
    tidemark_dir::read_entry(location, &entry_path(location, KIND, name))
        .await?
        .ok_or_else(|| Error::TagNotFound {
            name: name.to_string(),
            location: location.url().to_string(),
        })
}

/// Every tag of the table, sorted by name.
pub async fn list_tags(location: &TableLocation) -> Result<Vec<Tag>> {
    let mut tags: Vec<Tag> = tidemark_dir::list_entries(location, KIND).await?;
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tags)
}

/// Deletes tag `name`; [`Error::TagNotFound`] when there is none. Its version's files are no
/// longer kept by vacuum on its account.
pub async fn delete_tag(location: &TableLocation, name: &str) -> Result<Tag> {
    let tag = read_tag(location, name).await?;
    tidemark_dir::delete_entry(location, &entry_path(location, KIND, name)).await?;
    Ok(tag)
}
