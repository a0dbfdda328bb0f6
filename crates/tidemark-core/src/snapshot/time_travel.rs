//! Time travel by timestamp: which version was current at a given instant.
//!
//! A version's timestamp is its in-commit timestamp (`commitInfo.inCommitTimestamp`) when the
//! table records them, and the commit file's modification time before that (or always, on
//! tables without them). The search is a binary search over the listed commits, so it reads
//! O(log n) commit files on tables with in-commit timestamps and none at all on others.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::log::actions::{Action, Metadata, parse_commit};
use crate::log::listing::{LogFile, LogListing};
use crate::snapshot::get_bytes;
use crate::storage::TableLocation;

/// When in-commit timestamps start, per the table's properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InCommitTimestamps {
    /// First version that records an in-commit timestamp.
    pub enablement_version: u64,
    /// In-commit timestamp of that version, in milliseconds.
    pub enablement_timestamp_ms: Option<i64>,
}

impl InCommitTimestamps {
    /// Reads the in-commit-timestamp properties of a table's metadata; `None` if disabled.
    pub fn from_metadata(metadata: &Metadata) -> Option<Self> {
        let config = &metadata.configuration;
        let enabled = config
            .get("delta.enableInCommitTimestamps")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !enabled {
            return None;
        }
        Some(Self {
            enablement_version: config
                .get("delta.inCommitTimestampEnablementVersion")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            enablement_timestamp_ms: config
                .get("delta.inCommitTimestampEnablementTimestamp")
                .and_then(|v| v.parse().ok()),
        })
    }
}

/// The timestamp of one commit file in milliseconds: its in-commit timestamp when
/// `in_commit_timestamps` is set and the commit has one, else its modification time.
pub async fn commit_timestamp(
    location: &TableLocation,
    file: &LogFile,
    in_commit_timestamps: bool,
) -> Result<i64> {
    if in_commit_timestamps {
        let bytes = get_bytes(location, &file.meta.location).await?;
        // The commitInfo is the first action of a commit with in-commit timestamps.
        let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let actions = parse_commit(first_line, file.meta.location.as_ref())?;
        for action in actions {
            if let Action::CommitInfo(ci) = action
                && let Some(ict) = ci.in_commit_timestamp()
            {
                return Ok(ict);
            }
        }
    }
    Ok(file.meta.last_modified.timestamp_millis())
}

/// Finds the newest version whose commit timestamp is at or before `instant`.
///
/// `metadata` is the newest metadata of the table (to learn whether and since when it records
/// in-commit timestamps). A time before the first readable commit is an error.
pub async fn version_at_timestamp(
    location: &TableLocation,
    listing: &LogListing,
    metadata: &Metadata,
    instant: DateTime<Utc>,
) -> Result<u64> {
    let target = instant.timestamp_millis();
    let earliest = listing
        .earliest_version()
        .ok_or_else(|| Error::TableNotFound {
            location: location.url().to_string(),
        })?;
    let commits: Vec<&LogFile> = listing.commits.range(earliest..).map(|(_, f)| f).collect();
    let ict = InCommitTimestamps::from_metadata(metadata);
    // Versions before `split` are timed by modification time, the rest by in-commit timestamp.
    let split = match ict {
        Some(ict) => commits.partition_point(|f| f.version < ict.enablement_version),
        None => commits.len(),
    };
    let search_ict_part = match ict {
        Some(ict) => match ict.enablement_timestamp_ms {
            Some(start) => target >= start,
            None => true,
        },
        None => false,
    };
    let found = if search_ict_part && split < commits.len() {
        let tail = &commits[split..];
        let index = newest_at_or_before(tail.len(), target, |i| {
            commit_timestamp(location, tail[i], true)
        })
        .await?;
        match index {
            Some(i) => Some(split + i),
            // Before the first in-commit timestamp: the answer lies in the older part.
            None => newest_by_mtime(&commits[..split], target),
        }
    } else {
        newest_by_mtime(&commits[..split], target)
    };
    match found {
        Some(i) => Ok(commits[i].version),
        None => {
            let first = commits.first().ok_or_else(|| Error::VersionNotFound {
                requested: earliest,
                reason: "no commit file is readable".to_string(),
            })?;
            let first_ts = commit_timestamp(
                location,
                first,
                ict.is_some_and(|i| i.enablement_version <= first.version),
            )
            .await?;
            Err(Error::TimestampBeforeFirstCommit {
                requested: instant.to_rfc3339(),
                earliest: DateTime::<Utc>::from_timestamp_millis(first_ts)
                    .map_or_else(|| first_ts.to_string(), |t| t.to_rfc3339()),
                earliest_version: first.version,
            })
        }
    }
}

fn newest_by_mtime(commits: &[&LogFile], target: i64) -> Option<usize> {
    let after = commits.partition_point(|f| f.meta.last_modified.timestamp_millis() <= target);
    after.checked_sub(1)
}

/// Binary search over `n` ascending timestamps fetched by `probe`: the index of the last one at
/// or before `target`, or `None` if all are after it. Calls `probe` O(log n) times.
pub async fn newest_at_or_before<F, Fut>(
    n: usize,
    target: i64,
    mut probe: F,
) -> Result<Option<usize>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<i64>>,
{
    // Invariant: every index < lo is at or before target; every index >= hi is after it.
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if probe(mid).await? <= target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo.checked_sub(1))
}

/// Parses an RFC 3339 instant (or a date, taken as midnight UTC) given by a user.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f") {
        return Ok(t.and_utc());
    }
    Err(Error::InvalidArgument(format!(
        "'{text}' is not a timestamp; use RFC 3339, e.g. 2026-11-20T10:00:00Z"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn binary_search_finds_newest_at_or_before_in_log_probes() {
        let timestamps: Vec<i64> = (0..10_000).map(|i| i * 10).collect();
        for (target, expected) in [
            (-1, None),
            (0, Some(0)),
            (5, Some(0)),
            (10, Some(1)),
            (99_990, Some(9_999)),
            (1_000_000, Some(9_999)),
        ] {
            let probes = Cell::new(0);
            let found = newest_at_or_before(timestamps.len(), target, |i| {
                probes.set(probes.get() + 1);
                let t = timestamps[i];
                async move { Ok(t) }
            })
            .await
            .unwrap();
            assert_eq!(found, expected, "target {target}");
            assert!(probes.get() <= 15, "{} probes", probes.get());
        }
    }

    #[test]
    fn instants_parse() {
        assert_eq!(
            parse_instant("2026-11-20T10:00:00Z").unwrap().timestamp(),
            1_795_168_800
        );
        assert_eq!(
            parse_instant("2026-11-20T11:00:00+01:00")
                .unwrap()
                .timestamp(),
            1_795_168_800
        );
        assert_eq!(
            parse_instant("2026-11-20").unwrap().timestamp(),
            1_795_132_800
        );
        assert!(
            parse_instant("yesterday")
                .unwrap_err()
                .to_string()
                .contains("RFC 3339")
        );
    }
}
