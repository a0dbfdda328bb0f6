//! Where a table lives: parsing a table URI into an object store and a root path.

pub(crate) mod parquet_reader;
pub(crate) mod retry;

pub use retry::RetryPolicy;

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};
use crate::storage::retry::RetryingStore;

/// A table's location: the object store that holds it and the path of its root inside that store.
///
/// Every file of the table (the `_delta_log/` folder, data files, deletion vectors) is addressed
/// relative to [`TableLocation::root`].
///
/// The store is wrapped in a retrying store: transient errors of reads and idempotent writes
/// are retried with backoff and jitter ([`RetryPolicy::default`] unless
/// [`TableLocation::with_retry_policy`] says otherwise).
#[derive(Debug, Clone)]
pub struct TableLocation {
    store: Arc<dyn ObjectStore>,
    raw_store: Arc<dyn ObjectStore>,
    retry: RetryPolicy,
    root: Path,
    url: Url,
    allowed_prefixes: Vec<Url>,
    local_root: Option<std::path::PathBuf>,
}

impl TableLocation {
    /// Opens a location from a URI or a local path.
    ///
    /// Accepted forms: a local path (relative or absolute), `file://`, `memory://`, `s3://`,
    /// `s3a://`, `gs://`, `az://`, `abfs(s)://`. Cloud credentials come from the usual
    /// environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    ///
    /// ```
    /// # fn main() -> Result<(), tidemark_core::Error> {
    /// let location = tidemark_core::TableLocation::parse("memory:///sales")?;
    /// assert_eq!(location.root().as_ref(), "sales");
    /// # Ok(()) }
    /// ```
    pub fn parse(uri: &str) -> Result<Self> {
        let url = parse_url(uri)?;
        let (store, root): (Arc<dyn ObjectStore>, Path) = match url.scheme() {
            "file" => {
                let store = object_store::local::LocalFileSystem::new();
                let path = Path::from_url_path(url.path()).map_err(|e| invalid(uri, e))?;
                (Arc::new(store), path)
            }
            "memory" => (
                Arc::new(object_store::memory::InMemory::new()),
                url_root(uri, &url)?,
            ),
            "s3" | "s3a" => {
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| invalid(uri, e))?;
                (Arc::new(store), url_root(uri, &url)?)
            }
            "gs" => {
                let store = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| invalid(uri, e))?;
                (Arc::new(store), url_root(uri, &url)?)
            }
            "az" | "azure" | "abfs" | "abfss" => {
                let store = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(|e| invalid(uri, e))?;
                (Arc::new(store), url_root(uri, &url)?)
            }
            other => {
                return Err(Error::InvalidUri {
                    uri: redact(uri),
                    reason: format!(
                        "unsupported scheme '{other}'; use a local path, file://, memory://, s3://, gs:// or az://"
                    ),
                });
            }
        };
        let local_root = if url.scheme() == "file" {
            url.to_file_path().ok()
        } else {
            None
        };
        Ok(Self {
            local_root,
            ..Self::from_store(store, root, redact_url(&url))
        })
    }

    /// Uses an existing object store, with the table at `root` inside it.
    ///
    /// `url` is only used to name the table in messages and to resolve absolute paths. The store
    /// is wrapped in a retrying store with the default [`RetryPolicy`].
    pub fn from_store(store: Arc<dyn ObjectStore>, root: Path, url: Url) -> Self {
        let retry = RetryPolicy::default();
        Self {
            store: Arc::new(RetryingStore::new(store.clone(), retry)),
            raw_store: store,
            retry,
            root,
            url,
            allowed_prefixes: Vec::new(),
            local_root: None,
        }
    }

    /// Uses `policy` for retries of transient store errors ([`RetryPolicy::none`] turns them
    /// off).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self.store = Arc::new(RetryingStore::new(self.raw_store.clone(), policy));
        self
    }

    /// Allows the log to name data files by absolute URI under `prefix` too (a shallow clone
    /// reading the files of its source table). The prefix must be in the same store (same
    /// scheme and bucket or host) as the table; by default only absolute URIs inside the table
    /// root are read.
    pub fn with_allowed_prefix(mut self, prefix: Url) -> Self {
        self.allowed_prefixes.push(prefix);
        self
    }

    /// The retry policy of the store.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The object store that holds the table (wrapped in a retrying store).
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The table root inside the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The table's URL, as given (normalised).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The table root as a directory of the local file system, when the table was opened from
    /// a local path or `file://` URI by [`TableLocation::parse`] (its store is then the local
    /// file system); `None` otherwise. Listing the log reads this directory directly.
    pub fn local_root(&self) -> Option<&std::path::Path> {
        self.local_root.as_deref()
    }

    /// The path of the `_delta_log/` folder.
    pub fn log_root(&self) -> Path {
        self.root.clone().join("_delta_log")
    }

    /// The path of an object below the table root, relative to it (`a=1/part-0.parquet`).
    pub(crate) fn relative(&self, path: &Path) -> String {
        path.parts()
            .skip(self.root.parts().count())
            .map(|p| p.as_ref().to_string())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Resolves a path written in the log (relative to the table root, percent-encoded as a
    /// URI path, or an absolute URI) to a path inside the store.
    ///
    /// A relative path that leaves the table root (`..`, `.`, also percent-encoded, also behind
    /// encoded slashes) is refused. Absolute URIs are accepted only when they point inside this
    /// table's root, or under a prefix allowed with [`TableLocation::with_allowed_prefix`].
    pub fn resolve(&self, log_path: &str) -> Result<Path> {
        if let Ok(url) = Url::parse(log_path)
            && url.scheme().len() > 1
        {
            return self.resolve_absolute(&url);
        }
        let decoded = percent_decode(log_path).map_err(|reason| {
            Error::InvalidArgument(format!(
                "data file path '{log_path}' in the log is not valid percent-encoding: {reason}"
            ))
        })?;
        let mut path = self.root.clone();
        for part in decoded.split('/').filter(|p| !p.is_empty()) {
            if part == ".." || part == "." || part.contains('\\') || part.contains('\0') {
                return Err(Error::InvalidArgument(format!(
                    "path '{log_path}' in the log leaves the table root; refusing to read it"
                )));
            }
            // The decoded segment is the object's name verbatim: `PathPart::parse` checks it
            // without percent-encoding it again (a Spark partition directory is literally
            // named `letter=%2F`, and so is its object key on S3).
            let part = object_store::path::PathPart::parse(part).map_err(|e| {
                Error::InvalidArgument(format!(
                    "path '{log_path}' in the log has an invalid segment: {e}"
                ))
            })?;
            path = path.join(part);
        }
        Ok(path)
    }

    fn resolve_absolute(&self, url: &Url) -> Result<Path> {
        let same_store = |other: &Url| {
            url.scheme() == other.scheme()
                && url.host_str() == other.host_str()
                && url.port() == other.port()
        };
        let shown = redact_url(url);
        let full = Path::from_url_path(url.path()).map_err(|e| {
            Error::InvalidArgument(format!(
                "absolute path '{shown}' in the log is invalid: {e}"
            ))
        })?;
        let inside = same_store(&self.url) && full.prefix_match(&self.root).is_some();
        let allowed = self.allowed_prefixes.iter().any(|prefix| {
            same_store(prefix)
                && Path::from_url_path(prefix.path()).is_ok_and(|p| full.prefix_match(&p).is_some())
        });
        if !same_store(&self.url) && allowed {
            return Err(Error::InvalidArgument(format!(
                "absolute path '{shown}' in the log is in another store than the table '{}'; Tidemark reads data files from the table's store only",
                self.url
            )));
        }
        if inside || allowed {
            Ok(full)
        } else {
            Err(Error::InvalidArgument(format!(
                "absolute path '{shown}' in the log is outside the table root '{}'; Tidemark reads only files inside the table, or under prefixes the caller allows",
                self.url
            )))
        }
    }
}

/// Decodes `%XX` escapes of a path written in the log.
pub(crate) fn percent_decode(input: &str) -> std::result::Result<String, String> {
    if !input.contains('%') {
        return Ok(input.to_string());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

fn parse_url(uri: &str) -> Result<Url> {
    if uri.is_empty() {
        return Err(Error::InvalidUri {
            uri: uri.to_string(),
            reason: "the location is empty".to_string(),
        });
    }
    match Url::parse(uri) {
        // A single letter scheme is a Windows drive letter, not a URL.
        Ok(url) if url.scheme().len() > 1 => Ok(url),
        // Something that looks like a URI but is not one is not a local path either.
        Err(e) if uri.contains("://") => Err(Error::InvalidUri {
            uri: redact(uri),
            reason: format!("not a valid URI: {e}"),
        }),
        _ => {
            let path = std::path::Path::new(uri);
            let absolute = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir()
                    .map_err(|e| invalid(uri, e))?
                    .join(path)
            };
            let normalised = normalise(&absolute);
            Url::from_directory_path(&normalised).map_err(|()| Error::InvalidUri {
                uri: uri.to_string(),
                reason: "not an absolute local path".to_string(),
            })
        }
    }
}

/// Removes `.` and `..` components without touching the file system.
fn normalise(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn url_root(uri: &str, url: &Url) -> Result<Path> {
    Path::from_url_path(url.path()).map_err(|e| invalid(uri, e))
}

fn invalid(uri: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidUri {
        uri: redact(uri),
        reason: redact_secrets_in(&e.to_string(), uri),
    }
}

/// A location as it may be shown: user info and query parameters of a URI (where credentials
/// and signatures go) are replaced by `***`. Local paths are shown unchanged.
pub fn redact(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) if url.scheme().len() > 1 => redact_url(&url).to_string(),
        _ => match uri.split_once("://") {
            // Not parseable, but shaped like a URI: keep the scheme and the path only.
            Some((scheme, rest)) => {
                let rest = rest.split(['?', '#']).next().unwrap_or_default();
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = match authority.rsplit_once('@') {
                    Some((_, host)) => format!("***@{host}"),
                    None => authority.to_string(),
                };
                let query = if uri.contains('?') { "?***" } else { "" };
                format!("{scheme}://{host}{path}{query}")
            }
            None => uri.to_string(),
        },
    }
}

fn redact_url(url: &Url) -> Url {
    let mut shown = url.clone();
    if !shown.username().is_empty() {
        let _ = shown.set_username("***");
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    if shown.query().is_some() {
        shown.set_query(Some("***"));
    }
    shown.set_fragment(None);
    shown
}

/// Removes, from a message of a library Tidemark calls, the secret parts of `uri` it may echo.
fn redact_secrets_in(message: &str, uri: &str) -> String {
    let Ok(url) = Url::parse(uri) else {
        return message.to_string();
    };
    let mut out = message.to_string();
    let mut secrets: Vec<String> = Vec::new();
    if let Some(password) = url.password() {
        secrets.push(password.to_string());
    }
    if !url.username().is_empty() {
        secrets.push(url.username().to_string());
    }
    if let Some(query) = url.query() {
        secrets.push(query.to_string());
        secrets.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
    }
    for secret in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_relative_path_becomes_file_url() {
        let location = TableLocation::parse("some/table").unwrap();
        assert_eq!(location.url().scheme(), "file");
        assert!(location.root().as_ref().ends_with("some/table"));
    }

    #[test]
    fn dot_dot_in_local_path_is_normalised() {
        let location = TableLocation::parse("/tmp/a/../b").unwrap();
        assert_eq!(location.root().as_ref(), "tmp/b");
    }

    #[test]
    fn resolve_decodes_percent_escapes() {
        let location = TableLocation::parse("memory:///t").unwrap();
        let path = location.resolve("a%20b=1/part-0.parquet").unwrap();
        assert_eq!(path.as_ref(), "t/a b=1/part-0.parquet");
    }

    #[test]
    fn resolve_refuses_escaping_paths() {
        let location = TableLocation::parse("memory:///t").unwrap();
        let err = location.resolve("../other/x.parquet").unwrap_err();
        assert!(err.to_string().contains("leaves the table root"), "{err}");
        let err = location.resolve("%2E%2E/x.parquet").unwrap_err();
        assert!(err.to_string().contains("leaves the table root"), "{err}");
    }

    #[test]
    fn resolve_accepts_absolute_inside_root_only() {
        let location = TableLocation::parse("/data/t").unwrap();
        assert_eq!(
            location
                .resolve("file:///data/t/x.parquet")
                .unwrap()
                .as_ref(),
            "data/t/x.parquet"
        );
        assert!(location.resolve("file:///data/other/x.parquet").is_err());
    }

    #[test]
    fn unknown_scheme_is_refused_with_the_way_out() {
        let err = TableLocation::parse("ftp://host/t").unwrap_err();
        assert!(
            err.to_string().contains("unsupported scheme 'ftp'"),
            "{err}"
        );
    }
}
