//! The `_tidemark/` folder inside a table's root: where tags and pins are kept.
//!
//! Delta readers ignore it (they read only `_delta_log/` and the files the log names), vacuum
//! never deletes it (its name starts with `_`), and it travels with the table when the table's
//! folder is copied. Each entry is one small JSON object, created with put-if-absent so that an
//! entry is never overwritten.

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::storage::TableLocation;

/// The folder's name, directly under the table root.
pub const TIDEMARK_DIR: &str = "_tidemark";

/// Longest name of a tag or pin.
const MAX_NAME_LEN: usize = 200;

/// Checks a tag or pin name: 1 to 200 characters of `A-Z a-z 0-9 . _ -`, not starting with
/// `.` or `-`.
pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && valid_chars
        && !name.starts_with('.')
        && !name.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "'{name}' is not a valid {what} name: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-', not starting with '.' or '-'"
        )))
    }
}

/// The path of entry `name` of `kind` (`tags`, `pins`).
pub(crate) fn entry_path(location: &TableLocation, kind: &str, name: &str) -> Path {
    location
        .root()
        .clone()
        .join(TIDEMARK_DIR)
        .join(kind)
        .join(format!("{name}.json"))
}

/// Writes a new entry; `Ok(false)` when one of that name exists already.
pub(crate) async fn create_entry<T: Serialize>(
    location: &TableLocation,
    path: &Path,
    value: &T,
) -> Result<bool> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode '{path}': {e}")))?;
    let options = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    match location
        .store()
        .put_opts(path, PutPayload::from(bytes), options)
        .await
    {
        Ok(_) => Ok(true),
        Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(Error::store(format!("writing '{path}'"), e)),
    }
}

/// Reads one entry; `Ok(None)` when it does not exist.
pub(crate) async fn read_entry<T: DeserializeOwned>(
    location: &TableLocation,
    path: &Path,
) -> Result<Option<T>> {
    let bytes = match crate::snapshot::get_bytes(location, path).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::InvalidArgument(format!("'{path}' is not a valid Tidemark entry: {e}")))
}

/// Reads every entry of `kind`, sorted by file name.
pub(crate) async fn list_entries<T: DeserializeOwned>(
    location: &TableLocation,
    kind: &str,
) -> Result<Vec<T>> {
    let prefix = location.root().clone().join(TIDEMARK_DIR).join(kind);
    let mut paths: Vec<Path> = location
        .store()
        .list(Some(&prefix))
        .map_ok(|meta| meta.location)
        .try_filter(|p| futures::future::ready(p.as_ref().ends_with(".json")))
        .try_collect()
        .await
        .map_err(|e| Error::store(format!("listing '{prefix}'"), e))?;
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        if let Some(entry) = read_entry(location, &path).await? {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Deletes an entry; `Ok(false)` when it did not exist.
pub(crate) async fn delete_entry(location: &TableLocation, path: &Path) -> Result<bool> {
    match location.store().head(path).await {
        Ok(_) => {}
        Err(object_store::Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(Error::store(format!("reading '{path}'"), e)),
    }
    match location.store().delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
        Err(e) => Err(Error::store(format!("deleting '{path}'"), e)),
    }
}
