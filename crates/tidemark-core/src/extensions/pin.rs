//! Pins: a training run (or anyone) holds on to one version of a table until it releases it.
//!
//! A pin is the JSON file `_tidemark/pins/<id>.json` inside the table's root, with an owner, a
//! reason and an optional expiry. While a pin is unexpired, vacuum keeps every file of its
//! version; an expired pin protects nothing and vacuum lists it in its report. Pins, like tags,
//! create no data version.
//!
//! Only a readable version can be pinned: its log must replay, every data file and
//! deletion-vector file it reads must exist, and no vacuum in progress may plan to delete one;
//! otherwise [`create_pin`] fails naming the first missing file and how many are missing, and
//! leaves no pin. The pin is written *first* and the version checked after (the pin is
//! deleted again if the check fails): vacuum reads the tags and pins again right before each
//! batch of deletes, so either it sees the new pin and keeps the files, or its plan or its
//! deletions came first and the check sees them. Checking first would leave a window in which
//! vacuum deletes the files without seeing the pin.
//!
//! ```no_run
//! # async fn demo() -> tidemark_core::Result<()> {
//! use tidemark_core::extensions::pin::{create_pin, release_pin, PinOptions};
//! use tidemark_core::VersionSpec;
//! let location = tidemark_core::TableLocation::parse("/data/sales")?;
//! let pin = create_pin(&location, VersionSpec::Tag("train-2025-11".into()), PinOptions {
//!     owner: "run-42".into(),
//!     reason: "training resnet".into(),
//!     expires_time_ms: None,
//! }).await?;
//! // … train …
//! release_pin(&location, &pin.id).await?;
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::extensions::readable::check_or_withdraw;
use crate::extensions::tidemark_dir::{self, check_name, entry_path};
use crate::snapshot::id::SnapshotId;
use crate::storage::TableLocation;
use crate::table::{Table, VersionSpec};

/// The folder of pins inside `_tidemark/`.
const KIND: &str = "pins";

/// A pin, as stored in `_tidemark/pins/<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The pin's id (`pin-` and a UUID).
    pub id: String,
    /// The table's `metaData.id` when the pin was made.
    pub table_id: String,
    /// The version pinned.
    pub version: u64,
    /// The snapshot id of that version.
    pub snapshot_id: String,
    /// How the version was named when pinning: `version:N`, `tag:NAME`, `snapshot:ID`,
    /// `timestamp:T` or `latest`.
    pub target: String,
    /// Who holds the pin.
    pub owner: String,
    /// Why.
    pub reason: String,
    /// When the pin was made, in milliseconds since the epoch.
    pub created_time_ms: i64,
    /// When the pin stops protecting, in milliseconds since the epoch; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_time_ms: Option<i64>,
}

impl Pin {
    /// Whether the pin has expired at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_time_ms.is_some_and(|t| t <= now_ms)
    }
}

/// Owner, reason and expiry of a new pin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinOptions {
    /// Who holds the pin (a training run, a person).
    pub owner: String,
    /// Why.
    pub reason: String,
    /// When the pin stops protecting (milliseconds since the epoch); `None` for never.
    pub expires_time_ms: Option<i64>,
}

fn describe_target(at: &VersionSpec) -> String {
    match at {
        VersionSpec::Latest => "latest".to_string(),
        VersionSpec::Version(v) => format!("version:{v}"),
        VersionSpec::Timestamp(t) => format!("timestamp:{}", t.to_rfc3339()),
        VersionSpec::SnapshotId(id) => format!("snapshot:{id}"),
        VersionSpec::Tag(name) => format!("tag:{name}"),
    }
}

/// Pins the version `at` names. Fails with [`Error::VersionNotFound`] when the version cannot
/// be read (a data file or deletion-vector file it needs was deleted); no pin is left behind
/// then.
pub async fn create_pin(
    location: &TableLocation,
    at: VersionSpec,
    options: PinOptions,
) -> Result<Pin> {
    if options.owner.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "a pin needs an owner (the training run or person holding it)".into(),
        ));
    }
    let target = describe_target(&at);
    let snapshot = Table::from_location(location.clone()).snapshot(at).await?;
    let pin = Pin {
        id: format!("pin-{}", uuid::Uuid::new_v4()),
        table_id: snapshot.metadata().id.clone(),
        version: snapshot.version(),
        snapshot_id: SnapshotId::of(&snapshot)?.to_string(),
        target,
        owner: options.owner,
        reason: options.reason,
        created_time_ms: chrono::Utc::now().timestamp_millis(),
        expires_time_ms: options.expires_time_ms,
    };
    let path = entry_path(location, KIND, &pin.id);
    if !tidemark_dir::create_entry(location, &path, &pin).await? {
        return Err(Error::InvalidArgument(format!(
            "a pin with id '{}' exists already; try again",
            pin.id
        )));
    }
    // Written first, checked second: see the module documentation.
    check_or_withdraw(location, &snapshot, &path, &format!("pin '{}'", pin.id)).await?;
    Ok(pin)
}

/// Every pin of the table (expired ones too), oldest first.
pub async fn list_pins(location: &TableLocation) -> Result<Vec<Pin>> {
    let mut pins: Vec<Pin> = tidemark_dir::list_entries(location, KIND).await?;
    pins.sort_by(|a, b| (a.created_time_ms, &a.id).cmp(&(b.created_time_ms, &b.id)));
    Ok(pins)
}

/// Releases (deletes) a pin; [`Error::PinNotFound`] when there is none.
pub async fn release_pin(location: &TableLocation, id: &str) -> Result<Pin> {
    check_name("pin", id)?;
    let path = entry_path(location, KIND, id);
    let pin: Pin = tidemark_dir::read_entry(location, &path)
        .await?
        .ok_or_else(|| Error::PinNotFound {
            id: id.to_string(),
            location: location.url().to_string(),
        })?;
    tidemark_dir::delete_entry(location, &path).await?;
    Ok(pin)
}
