//! Whether a version can still be read: its log replays (loading its [`Snapshot`] did that),
//! every data file and deletion-vector file it reads still exists, and no vacuum in progress is
//! about to delete one of them.
//!
//! Tags and pins are only made on readable versions. A version whose files vacuum (or a person)
//! has deleted cannot be read again, so a tag or pin naming it would only fail later, at the
//! first read. Small versions are checked with one HEAD per object ([`HEAD_CONCURRENCY`] at a
//! time); versions of more than [`LIST_THRESHOLD`] objects with one LIST of the table root
//! instead, which costs a few requests per thousand files instead of one per file.
//!
//! The caller writes its tag or pin *before* the check. The plans of vacuums in progress
//! ([`vacuum_plan`]) are then read first and the files looked up second: a vacuum whose plan was
//! written after the plans were read re-reads the tags and pins after that, before it deletes,
//! and so keeps the version's files; one whose plan was already there is refused here when it
//! names a needed file; one that finished (and removed its plan) before the plans were read had
//! deleted its files before they were looked up, which finds them missing.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::extensions::vacuum_plan;
use crate::log::actions::Add;
use crate::scan::deletion_vector::add_objects;
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;

/// Above this many objects, existence is checked by listing the table root once.
pub(crate) const LIST_THRESHOLD: usize = 1000;

/// How many HEAD requests run at a time.
const HEAD_CONCURRENCY: usize = 16;

/// One object a version reads, with how to name it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needed {
    /// The object in the store.
    path: Path,
    /// `data file '…'` or `deletion-vector file '…'`.
    what: String,
}

/// What a readability check is for: it decides the way out an error suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Making a tag or pin of the version.
    TagOrPin,
    /// Restoring the version: the files checked are those the restore adds back.
    Restore,
}

impl Purpose {
    /// The end of an error message: what cannot be done, and what to do instead.
    fn consequence(self) -> &'static str {
        match self {
            Self::TagOrPin => {
                "so it can no longer be read and cannot be tagged or pinned: tag or pin a newer version, or restore the missing files from a backup of the table"
            }
            Self::Restore => {
                "so it cannot be restored (the files counted are those a restore adds back): restore a newer version, or restore the missing files from a backup of the table"
            }
        }
    }
}

/// Checks that every data file and deletion-vector file of `snapshot`'s version exists and
/// that no vacuum in progress plans to delete one.
///
/// Fails with [`Error::VersionNotFound`] naming the version, the first missing file (in path
/// order), how many are missing, and the way out: a newer version, or the files from a backup.
pub(crate) async fn check_version_readable(
    location: &TableLocation,
    snapshot: &Snapshot,
) -> Result<()> {
    check_files_readable(
        location,
        snapshot.version(),
        snapshot.files(),
        Purpose::TagOrPin,
    )
    .await
}

/// Checks that the objects the `adds` of `version` read (data files and deletion-vector files)
/// exist and that no vacuum in progress plans to delete one; the error is worded for `purpose`.
pub(crate) async fn check_files_readable<'a>(
    location: &TableLocation,
    version: u64,
    adds: impl IntoIterator<Item = &'a Add>,
    purpose: Purpose,
) -> Result<()> {
    let needed = needed_objects(location, adds)?;
    // Plans first, files second: see the module documentation.
    let planned =
        vacuum_plan::pending_objects(location, chrono::Utc::now().timestamp_millis()).await?;
    check_objects(location, version, needed, &planned, LIST_THRESHOLD, purpose).await
}

/// Checks readability after a tag or pin entry at `entry` was written for `snapshot`'s
/// version; when the version is not readable (or the check fails), deletes the entry again and
/// returns the error. `what` names the entry in messages (`tag 'v1'`, `pin 'pin-…'`).
///
/// The entry is written first so that a concurrent vacuum, which reads the tags and pins again
/// right before it deletes, either sees the entry and keeps the version's files, or deleted
/// them before this check, which then finds them missing.
pub(crate) async fn check_or_withdraw(
    location: &TableLocation,
    snapshot: &Snapshot,
    entry: &Path,
    what: &str,
) -> Result<()> {
    let Err(error) = check_version_readable(location, snapshot).await else {
        return Ok(());
    };
    match location.store().delete(entry).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Err(error),
        Err(e) => Err(Error::store(
            format!(
                "removing the {what} just written at '{entry}' for version {}, after this check failed: {error}; delete it by hand",
                snapshot.version()
            ),
            e,
        )),
    }
}

/// Every object the `adds` read, once each, sorted by path.
fn needed_objects<'a>(
    location: &TableLocation,
    adds: impl IntoIterator<Item = &'a Add>,
) -> Result<Vec<Needed>> {
    let mut needed = Vec::new();
    for add in adds {
        for (index, path) in add_objects(location, add)?.into_iter().enumerate() {
            let what = if index == 0 {
                format!("data file '{}'", add.path)
            } else {
                format!("deletion-vector file '{}'", shown(location, &path))
            };
            needed.push(Needed { path, what });
        }
    }
    needed.sort_by(|a, b| a.path.cmp(&b.path));
    // Several data files may keep their deletion vectors in one file.
    needed.dedup_by(|a, b| a.path == b.path);
    Ok(needed)
}

/// A path relative to the table root when it is inside it, else in full.
fn shown(location: &TableLocation, path: &Path) -> String {
    if path.prefix_match(location.root()).is_some() {
        location.relative(path)
    } else {
        path.to_string()
    }
}

/// Checks that the `needed` objects of `version` exist and are not among the `planned`
/// deletions of vacuums in progress (object → vacuum id): by HEAD when there are at most
/// `list_threshold` objects, else by one LIST of the table root.
async fn check_objects(
    location: &TableLocation,
    version: u64,
    needed: Vec<Needed>,
    planned: &HashMap<Path, String>,
    list_threshold: usize,
    purpose: Purpose,
) -> Result<()> {
    let total = needed.len();
    let (doomed, needed): (Vec<Needed>, Vec<Needed>) = needed
        .into_iter()
        .partition(|object| planned.contains_key(&object.path));
    let mut missing: Vec<(Needed, String)> = if needed.len() > list_threshold {
        missing_by_listing(location, needed).await?
    } else {
        missing_by_head(location, needed).await?
    }
    .into_iter()
    .map(|object| (object, "deleted by vacuum, or by hand".to_string()))
    .collect();
    missing.extend(doomed.into_iter().map(|object| {
        let id = planned.get(&object.path).cloned().unwrap_or_default();
        (object, format!("being deleted by vacuum {id}, in progress"))
    }));
    missing.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    match missing.first() {
        None => Ok(()),
        Some((first, how)) => Err(Error::VersionNotFound {
            requested: version,
            reason: format!(
                "{} of its {total} data and deletion-vector files {} missing, the first being {} ({how}), {}",
                missing.len(),
                if missing.len() == 1 { "is" } else { "are" },
                first.what,
                purpose.consequence()
            ),
        }),
    }
}

/// The objects of `needed` that do not exist, by one HEAD each; sorted by path.
async fn missing_by_head(location: &TableLocation, needed: Vec<Needed>) -> Result<Vec<Needed>> {
    let mut missing: Vec<Needed> = futures::stream::iter(needed)
        .map(|object| {
            let store = location.store().clone();
            async move {
                match store.head(&object.path).await {
                    Ok(_) => Ok(None),
                    Err(object_store::Error::NotFound { .. }) => Ok(Some(object)),
                    Err(e) => Err(Error::store(
                        format!("checking that {} exists", object.what),
                        e,
                    )),
                }
            }
        })
        .buffer_unordered(HEAD_CONCURRENCY)
        .try_filter_map(|found| futures::future::ready(Ok(found)))
        .try_collect()
        .await?;
    missing.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(missing)
}

/// The objects of `needed` that do not exist, by one LIST of the table root (objects outside
/// the root, under an allowed prefix, by HEAD); sorted by path.
async fn missing_by_listing(location: &TableLocation, needed: Vec<Needed>) -> Result<Vec<Needed>> {
    let root = location.root();
    let (inside, outside): (Vec<Needed>, Vec<Needed>) = needed
        .into_iter()
        .partition(|object| object.path.prefix_match(root).is_some());
    let mut remaining: HashMap<Path, Needed> = inside
        .into_iter()
        .map(|object| (object.path.clone(), object))
        .collect();
    let mut listing = location.store().list(Some(root));
    while let Some(meta) = listing
        .try_next()
        .await
        .map_err(|e| Error::store(format!("listing the table at '{}'", location.url()), e))?
    {
        remaining.remove(&meta.location);
    }
    let mut missing: Vec<Needed> = remaining.into_values().collect();
    missing.extend(missing_by_head(location, outside).await?);
    missing.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(missing)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use object_store::PutPayload;
    use object_store::memory::InMemory;

    use super::*;

    /// A table root `t` in an in-memory store holding `present` files (relative to the root).
    async fn location_with(present: &[&str]) -> TableLocation {
        let store = Arc::new(InMemory::new());
        for name in present {
            store
                .put(
                    &Path::from(format!("t/{name}")),
                    PutPayload::from_static(b"x"),
                )
                .await
                .unwrap();
        }
        // Something next to the table, which the listing of its root must not count.
        store
            .put(&Path::from("t2/b.parquet"), PutPayload::from_static(b"x"))
            .await
            .unwrap();
        TableLocation::from_store(
            store,
            Path::from("t"),
            url::Url::parse("memory:///t").unwrap(),
        )
    }

    fn needed(names: &[&str]) -> Vec<Needed> {
        names
            .iter()
            .map(|name| Needed {
                path: Path::from(format!("t/{name}")),
                what: format!("data file '{name}'"),
            })
            .collect()
    }

    fn names(missing: &[Needed]) -> Vec<String> {
        missing.iter().map(|m| m.path.to_string()).collect()
    }

    #[tokio::test]
    async fn listing_and_head_find_the_same_missing_objects() {
        let location = location_with(&["a.parquet", "c.parquet", "d/e.parquet"]).await;
        let wanted = needed(&[
            "a.parquet",
            "b.parquet",
            "c.parquet",
            "d/e.parquet",
            "d/f.parquet",
        ]);
        let by_head = missing_by_head(&location, wanted.clone()).await.unwrap();
        let by_listing = missing_by_listing(&location, wanted).await.unwrap();
        assert_eq!(names(&by_head), ["t/b.parquet", "t/d/f.parquet"]);
        assert_eq!(by_head, by_listing);
    }

    #[tokio::test]
    async fn listing_checks_objects_outside_the_root_by_head() {
        let location = location_with(&["a.parquet"]).await;
        let mut wanted = needed(&["a.parquet"]);
        wanted.push(Needed {
            path: Path::from("t2/b.parquet"),
            what: "data file 't2/b.parquet'".into(),
        });
        wanted.push(Needed {
            path: Path::from("t2/gone.parquet"),
            what: "data file 't2/gone.parquet'".into(),
        });
        let missing = missing_by_listing(&location, wanted).await.unwrap();
        assert_eq!(names(&missing), ["t2/gone.parquet"]);
    }

    #[tokio::test]
    async fn a_large_version_is_checked_by_listing_and_reports_the_first_missing_file() {
        // Over the threshold (here 2 instead of LIST_THRESHOLD) the root is listed.
        let location = location_with(&["a.parquet", "c.parquet"]).await;
        let wanted = needed(&["a.parquet", "b.parquet", "c.parquet", "z.parquet"]);
        let err = check_objects(
            &location,
            7,
            wanted.clone(),
            &HashMap::new(),
            2,
            Purpose::TagOrPin,
        )
        .await
        .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, Error::VersionNotFound { requested: 7, .. }),
            "{message}"
        );
        assert!(
            message.contains("2 of its 4 data and deletion-vector files are missing"),
            "{message}"
        );
        assert!(
            message.contains("the first being data file 'b.parquet'"),
            "{message}"
        );
        // The same answer below the threshold, by HEAD.
        let by_head = check_objects(
            &location,
            7,
            wanted,
            &HashMap::new(),
            usize::MAX,
            Purpose::TagOrPin,
        )
        .await
        .unwrap_err();
        assert_eq!(by_head.to_string(), message);
        // Nothing missing: readable either way.
        let present = needed(&["a.parquet", "c.parquet"]);
        check_objects(
            &location,
            7,
            present.clone(),
            &HashMap::new(),
            0,
            Purpose::TagOrPin,
        )
        .await
        .unwrap();
        check_objects(
            &location,
            7,
            present,
            &HashMap::new(),
            usize::MAX,
            Purpose::TagOrPin,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_file_a_vacuum_in_progress_plans_to_delete_is_refused() {
        let location = location_with(&["a.parquet", "b.parquet"]).await;
        let plan = vacuum_plan::VacuumPlan {
            id: "v-1".into(),
            read_version: 3,
            started_time_ms: 0,
            deadline_ms: i64::MAX / 2,
            files: vec!["b.parquet".into()],
        };
        vacuum_plan::write_plan(&location, &plan).await.unwrap();
        let planned = vacuum_plan::pending_objects(&location, 1).await.unwrap();
        for threshold in [0, usize::MAX] {
            let err = check_objects(
                &location,
                3,
                needed(&["a.parquet", "b.parquet"]),
                &planned,
                threshold,
                Purpose::TagOrPin,
            )
            .await
            .unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("1 of its 2 data and deletion-vector files is missing"),
                "{message}"
            );
            assert!(
                message.contains("data file 'b.parquet' (being deleted by vacuum v-1"),
                "{message}"
            );
        }
        // A file missing and one planned: both counted, the first in path order named.
        let err = check_objects(
            &location,
            3,
            needed(&["0.parquet", "b.parquet"]),
            &planned,
            usize::MAX,
            Purpose::TagOrPin,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("2 of its 2")
                && err.contains("'0.parquet' (deleted by vacuum, or by hand)"),
            "{err}"
        );
    }
}
