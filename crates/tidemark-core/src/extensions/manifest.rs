//! Manifests: a self-contained record of exactly what one snapshot holds, down to the bytes
//! of each file, and its verification.
//!
//! [`build_manifest`] reads every data file and deletion-vector file of a snapshot and records
//! its size and SHA-256 next to the snapshot id, version, timestamp and schema.
//! [`verify_manifest`] reads them all again and reports every difference: the table replaced,
//! the log rewritten, a file missing, of another size, or with other bytes. The JSON format is
//! documented in `spec/TIDEMARK.md`.
//!
//! ```no_run
//! # async fn demo() -> tidemark_core::Result<()> {
//! use tidemark_core::extensions::manifest::{build_manifest, verify_manifest};
//! use tidemark_core::{Table, VersionSpec};
//! let snapshot = Table::open("/data/sales")?.snapshot(VersionSpec::Version(3)).await?;
//! let manifest = build_manifest(&snapshot).await?;
//! let report = verify_manifest(&manifest, None).await?;
//! assert!(report.is_ok());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::log::actions::DeletionVectorDescriptor;
use crate::scan::deletion_vector::dv_file_path;
use crate::snapshot::Snapshot;
use crate::snapshot::id::{SnapshotId, hex, resolve};
use crate::storage::TableLocation;

/// The value of a manifest's `format` field.
pub const MANIFEST_FORMAT: &str = "tidemark-manifest/1";

/// How many files are hashed at once.
const HASH_CONCURRENCY: usize = 8;

/// A manifest: one snapshot and the size and content hash of every file it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The table's location (URL) when the manifest was made.
    pub table: String,
    /// The table's `metaData.id`.
    pub table_id: String,
    /// The snapshot id.
    pub snapshot_id: String,
    /// The version.
    pub version: u64,
    /// The version's commit timestamp, milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The table schema (the parsed `schemaString`).
    pub schema: Value,
    /// The partition columns.
    pub partition_columns: Vec<String>,
    /// Every live data file, sorted by path.
    pub files: Vec<ManifestFile>,
    /// Every deletion-vector file the data files use, sorted by path.
    #[serde(default)]
    pub deletion_vector_files: Vec<HashedFile>,
    /// When the manifest was made, milliseconds since the epoch.
    pub created_time_ms: i64,
}

/// A data file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// The path as written in the log.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its partition values.
    #[serde(default)]
    pub partition_values: BTreeMap<String, Option<String>>,
    /// Its deletion vector, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
}

/// A deletion-vector file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashedFile {
    /// Its path relative to the table root.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// One difference found by [`verify_manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The snapshot itself no longer resolves (table replaced, log rewritten, version gone).
    Snapshot(String),
    /// The snapshot's files are not the manifest's files.
    FileList {
        /// Files in the manifest, not in the snapshot.
        missing_from_snapshot: Vec<String>,
        /// Files in the snapshot, not in the manifest.
        not_in_manifest: Vec<String>,
    },
    /// A file cannot be read.
    Missing {
        /// The path.
        path: String,
        /// The error.
        reason: String,
    },
    /// A file has another size.
    Size {
        /// The path.
        path: String,
        /// Size in the manifest.
        expected: u64,
        /// Size now.
        found: u64,
    },
    /// A file has other bytes.
    Content {
        /// The path.
        path: String,
        /// SHA-256 in the manifest.
        expected: String,
        /// SHA-256 now.
        found: String,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Snapshot(reason) => write!(f, "snapshot: {reason}"),
            Self::FileList {
                missing_from_snapshot,
                not_in_manifest,
            } => write!(
                f,
                "file list: the snapshot lacks [{}] and has [{}] that the manifest does not list",
                missing_from_snapshot.join(", "),
                not_in_manifest.join(", ")
            ),
            Self::Missing { path, reason } => write!(f, "{path}: cannot be read: {reason}"),
            Self::Size {
                path,
                expected,
                found,
            } => write!(f, "{path}: size changed from {expected} to {found} bytes"),
            Self::Content {
                path,
                expected,
                found,
            } => write!(
                f,
                "{path}: content changed (sha256 {expected} is now {found})"
            ),
        }
    }
}

/// What [`verify_manifest`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The manifest's snapshot id.
    pub snapshot_id: String,
    /// Files read and hashed.
    pub files_checked: usize,
    /// Bytes read.
    pub bytes_checked: u64,
    /// Every difference; empty when the table still holds exactly what the manifest says.
    pub differences: Vec<Difference>,
}

impl VerifyReport {
    /// True when nothing differs.
    pub fn is_ok(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Reads every file of a snapshot and records its size and SHA-256.
pub async fn build_manifest(snapshot: &Snapshot) -> Result<Manifest> {
    let location = snapshot.location();
    let metadata = snapshot.metadata();
    let adds: Vec<_> = snapshot.files_sorted().into_iter().cloned().collect();
    let hashes: Vec<(u64, String)> = futures::stream::iter(adds.iter().map(|add| {
        let location = location.clone();
        let path = add.path.clone();
        async move {
            let resolved = location.resolve(&path)?;
            hash_object(&location, &resolved).await
        }
    }))
    .buffered(HASH_CONCURRENCY)
    .try_collect()
    .await?;
    let files = adds
        .iter()
        .zip(hashes)
        .map(|(add, (size, sha256))| ManifestFile {
            path: add.path.clone(),
            size,
            sha256,
            partition_values: add
                .partition_values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            deletion_vector: add.deletion_vector.clone(),
        })
        .collect();
    let mut dv_paths = BTreeSet::new();
    for add in &adds {
        if let Some(dv) = &add.deletion_vector
            && dv.storage_type != "i"
        {
            dv_paths.insert(dv_file_path(location, dv)?);
        }
    }
    let mut deletion_vector_files = Vec::new();
    for path in dv_paths {
        let (size, sha256) = hash_object(location, &path).await?;
        deletion_vector_files.push(HashedFile {
            path: location.relative(&path),
            size,
            sha256,
        });
    }
    Ok(Manifest {
        format: MANIFEST_FORMAT.to_string(),
        table: location.url().to_string(),
        table_id: metadata.id.clone(),
        snapshot_id: SnapshotId::of(snapshot)?.to_string(),
        version: snapshot.version(),
        timestamp_ms: snapshot.timestamp_ms(),
        schema: serde_json::from_str(&metadata.schema_string)
            .map_err(|e| Error::Schema(format!("the schema string is not JSON: {e}")))?,
        partition_columns: metadata.partition_columns.clone(),
        files,
        deletion_vector_files,
        created_time_ms: chrono::Utc::now().timestamp_millis(),
    })
}

/// Reads every file a manifest lists again, from the table at `location` (the manifest's
/// `table` when `None`), and reports each difference. Errors only when the manifest itself is
/// unusable; a changed table is a [`Difference`], not an error.
pub async fn verify_manifest(
    manifest: &Manifest,
    location: Option<&TableLocation>,
) -> Result<VerifyReport> {
    if manifest.format != MANIFEST_FORMAT {
        return Err(Error::InvalidArgument(format!(
            "the manifest's format is '{}', but this Tidemark reads '{MANIFEST_FORMAT}'",
            manifest.format
        )));
    }
    let location = match location {
        Some(l) => l.clone(),
        None => TableLocation::parse(&manifest.table)?,
    };
    let id: SnapshotId = manifest.snapshot_id.parse()?;
    let mut differences = Vec::new();
    match resolve(&location, &id).await {
        Ok(snapshot) => {
            let in_snapshot: BTreeSet<&str> = snapshot.files().map(|a| a.path.as_str()).collect();
            let in_manifest: BTreeSet<&str> =
                manifest.files.iter().map(|f| f.path.as_str()).collect();
            let missing: Vec<String> = in_manifest
                .difference(&in_snapshot)
                .map(|s| s.to_string())
                .collect();
            let extra: Vec<String> = in_snapshot
                .difference(&in_manifest)
                .map(|s| s.to_string())
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                differences.push(Difference::FileList {
                    missing_from_snapshot: missing,
                    not_in_manifest: extra,
                });
            }
        }
        Err(e) => differences.push(Difference::Snapshot(e.to_string())),
    }
    let expected: Vec<(String, u64, String)> = manifest
        .files
        .iter()
        .map(|f| (f.path.clone(), f.size, f.sha256.clone()))
        .chain(
            manifest
                .deletion_vector_files
                .iter()
                .map(|f| (f.path.clone(), f.size, f.sha256.clone())),
        )
        .collect();
    let results: Vec<Checked> =
        futures::stream::iter(expected.into_iter().map(|(path, size, sha256)| {
            let location = location.clone();
            async move {
                let found = match location.resolve(&path) {
                    Ok(resolved) => hash_object(&location, &resolved).await,
                    Err(e) => Err(e),
                };
                (path, size, sha256, found)
            }
        }))
        .buffered(HASH_CONCURRENCY)
        .collect()
        .await;
    let mut files_checked = 0;
    let mut bytes_checked = 0;
    for (path, size, sha256, found) in results {
        match found {
            Err(e) => differences.push(Difference::Missing {
                path,
                reason: e.to_string(),
            }),
            Ok((found_size, found_hash)) => {
                files_checked += 1;
                bytes_checked += found_size;
                if found_size != size {
                    differences.push(Difference::Size {
                        path,
                        expected: size,
                        found: found_size,
                    });
                } else if found_hash != sha256 {
                    differences.push(Difference::Content {
                        path,
                        expected: sha256,
                        found: found_hash,
                    });
                }
            }
        }
    }
    Ok(VerifyReport {
        snapshot_id: manifest.snapshot_id.clone(),
        files_checked,
        bytes_checked,
        differences,
    })
}

/// A file checked by [`verify_manifest`]: path, expected size and hash, and what was found.
type Checked = (String, u64, String, Result<(u64, String)>);

/// Streams an object through SHA-256: its size and lowercase hex digest.
async fn hash_object(location: &TableLocation, path: &Path) -> Result<(u64, String)> {
    let context = || format!("reading '{path}'");
    let result = location
        .store()
        .get(path)
        .await
        .map_err(|e| Error::store(context(), e))?;
    let mut stream = result.into_stream();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::store(context(), e))?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((size, hex(&hasher.finalize())))
}
