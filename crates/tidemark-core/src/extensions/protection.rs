//! What tags and pins protect from vacuum: every file (data files and deletion-vector files)
//! of a tagged version, or of a version an unexpired pin holds.
//!
//! Vacuum asks for the [`Protection`] of the table, then keeps the files it would otherwise
//! delete that a tag or pin needs, and reports which reference kept which files. When a
//! protected version cannot be loaded (its log is gone or broken), vacuum refuses to run rather
//! than guess.

use std::collections::{BTreeMap, HashMap, HashSet};

use object_store::path::Path;

use crate::error::{Error, Result};
use crate::extensions::pin::{Pin, list_pins};
use crate::extensions::tag::list_tags;
use crate::scan::deletion_vector::add_objects;
use crate::snapshot::Snapshot;
use crate::storage::TableLocation;

/// A tag or pin that protects a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag {
        /// Its name.
        name: String,
    },
    /// An unexpired pin.
    Pin {
        /// Its id.
        id: String,
        /// Who holds it.
        owner: String,
        /// When it expires (milliseconds since the epoch), if ever.
        expires_time_ms: Option<i64>,
    },
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tag { name } => write!(f, "tag '{name}'"),
            Self::Pin { id, owner, .. } => write!(f, "pin '{id}' (owner {owner})"),
        }
    }
}

/// One tag or pin, the version it protects, and the files vacuum kept because of it (files
/// that vacuum would otherwise have deleted; a file kept by several references is listed
/// under each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedVersion {
    /// The tag or pin.
    pub reference: Reference,
    /// The version it names.
    pub version: u64,
    /// Paths relative to the table root, sorted.
    pub files: Vec<String>,
}

/// The files the tags and unexpired pins of a table need.
#[derive(Debug, Clone, Default)]
pub struct Protection {
    references: Vec<(Reference, u64)>,
    /// For each protected path, the indices of the references that need it.
    needed_by: HashMap<Path, Vec<usize>>,
    /// Pins that have expired: they protect nothing.
    pub expired_pins: Vec<Pin>,
}

impl Protection {
    /// Reads the tags and pins of the table at `location` and the files of the versions they
    /// name; pins expired at `now_ms` protect nothing and are listed in `expired_pins`.
    pub async fn load(location: &TableLocation, now_ms: i64) -> Result<Self> {
        let mut references: Vec<(Reference, u64)> = Vec::new();
        for tag in list_tags(location).await? {
            references.push((Reference::Tag { name: tag.name }, tag.version));
        }
        let mut expired_pins = Vec::new();
        for pin in list_pins(location).await? {
            if pin.is_expired(now_ms) {
                expired_pins.push(pin);
            } else {
                references.push((
                    Reference::Pin {
                        id: pin.id,
                        owner: pin.owner,
                        expires_time_ms: pin.expires_time_ms,
                    },
                    pin.version,
                ));
            }
        }
        let mut files_of: BTreeMap<u64, HashSet<Path>> = BTreeMap::new();
        let mut needed_by: HashMap<Path, Vec<usize>> = HashMap::new();
        for (index, (reference, version)) in references.iter().enumerate() {
            if !files_of.contains_key(version) {
                let files = version_files(location, *version).await.map_err(|e| {
                    Error::ProtectedVersionUnreadable {
                        reference: reference.to_string(),
                        version: *version,
                        reason: e.to_string(),
                    }
                })?;
                files_of.insert(*version, files);
            }
            for path in files_of.get(version).into_iter().flatten() {
                needed_by.entry(path.clone()).or_default().push(index);
            }
        }
        Ok(Self {
            references,
            needed_by,
            expired_pins,
        })
    }

    /// What the tags and unexpired pins of the table are now, as `(reference, version)` pairs
    /// (sorted): cheap to read (no snapshot is loaded), so that vacuum can tell whether
    /// anything changed since it loaded the protection.
    pub async fn references(location: &TableLocation, now_ms: i64) -> Result<Vec<(String, u64)>> {
        let mut out: Vec<(String, u64)> = list_tags(location)
            .await?
            .into_iter()
            .map(|tag| (format!("tag {}", tag.name), tag.version))
            .collect();
        out.extend(
            list_pins(location)
                .await?
                .into_iter()
                .filter(|pin| !pin.is_expired(now_ms))
                .map(|pin| (format!("pin {}", pin.id), pin.version)),
        );
        out.sort();
        Ok(out)
    }

    /// Whether a tag or unexpired pin needs the object at `path`.
    pub fn needs(&self, path: &Path) -> bool {
        self.needed_by.contains_key(path)
    }

    /// Splits the files vacuum would delete into those it may delete and, per reference, those
    /// a tag or pin keeps. Every reference is reported, also those that kept nothing.
    pub fn split(
        &self,
        location: &TableLocation,
        candidates: Vec<(Path, u64)>,
    ) -> (Vec<(Path, u64)>, Vec<ProtectedVersion>) {
        let mut kept: Vec<Vec<String>> = vec![Vec::new(); self.references.len()];
        let mut deletable = Vec::with_capacity(candidates.len());
        for (path, size) in candidates {
            match self.needed_by.get(&path) {
                Some(indices) => {
                    let name = location.relative(&path);
                    for &i in indices {
                        if let Some(files) = kept.get_mut(i) {
                            files.push(name.clone());
                        }
                    }
                }
                None => deletable.push((path, size)),
            }
        }
        let protected = self
            .references
            .iter()
            .zip(kept)
            .map(|((reference, version), mut files)| {
                files.sort();
                ProtectedVersion {
                    reference: reference.clone(),
                    version: *version,
                    files,
                }
            })
            .collect();
        (deletable, protected)
    }
}

/// Every object a version reads: its data files and deletion-vector files.
async fn version_files(location: &TableLocation, version: u64) -> Result<HashSet<Path>> {
    let snapshot = Snapshot::load(location, Some(version)).await?;
    let mut files = HashSet::new();
    for add in snapshot.files() {
        files.extend(add_objects(location, add)?);
    }
    Ok(files)
}
