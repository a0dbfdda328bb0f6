//! Lineage: what a commit read, recorded in the commit itself.
//!
//! A write that read other tables records them as inputs, each a table location and the
//! snapshot id of the version it read, in its `commitInfo`:
//!
//! ```json
//! {"commitInfo": {…, "tidemark": {"lineage": {"inputs": [
//!     {"table": "file:///data/raw/", "snapshotId": "tm1.<table id>.<version>.<digest>"}]}}}}
//! ```
//!
//! [`lineage`] follows these records: the inputs of a version, the inputs of each input's
//! version, and so on, verifying each input's snapshot id on the way.
//!
//! ```no_run
//! # async fn demo(batch: arrow::array::RecordBatch) -> tidemark_core::Result<()> {
//! use tidemark_core::extensions::lineage::lineage;
//! use tidemark_core::{Table, VersionSpec};
//! let raw = Table::open("/data/raw")?.snapshot(VersionSpec::Version(5)).await?;
//! let features = Table::open("/data/features")?;
//! features
//!     .write()
//!     .with_lineage_input(raw.location().url().as_str(), raw.snapshot_id()?)
//!     .execute_batches(vec![batch])
//!     .await?;
//! let tree = lineage(features.location(), None).await?;
//! assert_eq!(tree.inputs.len(), 1);
//! # Ok(()) }
//! ```

use std::collections::HashSet;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::log::actions::{Action, CommitInfo};
use crate::snapshot::Snapshot;
use crate::snapshot::id::{SnapshotId, resolve};
use crate::storage::TableLocation;
use crate::transaction::commit::read_commit;

/// How deep [`lineage`] follows inputs.
pub const MAX_LINEAGE_DEPTH: usize = 32;

/// One input of a commit: a table and the snapshot of it that was read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageInput {
    /// The table's location (a URI or path, as the writer gave it).
    pub table: String,
    /// The snapshot id of the version read.
    pub snapshot_id: String,
}

/// The value stored at `commitInfo.tidemark.lineage`.
pub fn lineage_value(inputs: &[LineageInput]) -> Value {
    json!({ "inputs": inputs })
}

/// The inputs a `commitInfo` records (none when it records no lineage).
pub fn inputs_of(commit_info: &CommitInfo) -> Result<Vec<LineageInput>> {
    let Some(lineage) = commit_info
        .0
        .get("tidemark")
        .and_then(|t| t.get("lineage"))
        .and_then(|l| l.get("inputs"))
    else {
        return Ok(Vec::new());
    };
    serde_json::from_value(lineage.clone()).map_err(|e| {
        Error::InvalidArgument(format!(
            "the commit's tidemark.lineage.inputs is not a list of {{table, snapshotId}}: {e}"
        ))
    })
}

/// The inputs recorded by the commit of `version` of the table at `location`.
pub async fn read_inputs(location: &TableLocation, version: u64) -> Result<Vec<LineageInput>> {
    let actions = read_commit(location, version).await?;
    let info = actions.into_iter().find_map(|a| match a {
        Action::CommitInfo(ci) => Some(ci),
        _ => None,
    });
    match info {
        Some(info) => inputs_of(&info),
        None => Ok(Vec::new()),
    }
}

/// A version of a table and, recursively, the inputs its commit recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageNode {
    /// The table's location.
    pub table: String,
    /// The snapshot id of the version.
    pub snapshot_id: String,
    /// The version.
    pub version: u64,
    /// The inputs of the commit that made the version.
    pub inputs: Vec<LineageNode>,
    /// Why this node could not be followed further (table replaced, content changed, cycle,
    /// depth limit), if it could not.
    pub problem: Option<String>,
}

/// The lineage of `version` (the latest when `None`) of the table at `location`: its inputs,
/// their inputs, and so on, up to [`MAX_LINEAGE_DEPTH`] levels. An input whose snapshot id no
/// longer resolves is reported in its node's `problem`, not as an error.
pub async fn lineage(location: &TableLocation, version: Option<u64>) -> Result<LineageNode> {
    let snapshot = Snapshot::load(location, version).await?;
    let id = SnapshotId::of(&snapshot)?;
    let mut seen = HashSet::new();
    seen.insert(id.to_string());
    let inputs = follow(location.clone(), snapshot.version(), 1, seen).await?;
    Ok(LineageNode {
        table: location.url().to_string(),
        snapshot_id: id.to_string(),
        version: snapshot.version(),
        inputs,
        problem: None,
    })
}

fn follow(
    location: TableLocation,
    version: u64,
    depth: usize,
    seen: HashSet<String>,
) -> BoxFuture<'static, Result<Vec<LineageNode>>> {
    async move {
        let mut nodes = Vec::new();
        for input in read_inputs(&location, version).await? {
            let mut node = LineageNode {
                table: input.table.clone(),
                snapshot_id: input.snapshot_id.clone(),
                version: 0,
                inputs: Vec::new(),
                problem: None,
            };
            let id: SnapshotId = match input.snapshot_id.parse() {
                Ok(id) => id,
                Err(e) => {
                    node.problem = Some(e.to_string());
                    nodes.push(node);
                    continue;
                }
            };
            node.version = id.version;
            if seen.contains(&input.snapshot_id) {
                node.problem = Some("a cycle: this snapshot is its own input".into());
            } else if depth >= MAX_LINEAGE_DEPTH {
                node.problem = Some(format!("deeper than {MAX_LINEAGE_DEPTH} levels"));
            } else {
                let checked = match TableLocation::parse(&input.table) {
                    Ok(input_location) => {
                        resolve(&input_location, &id).await.map(|_| input_location)
                    }
                    Err(e) => Err(e),
                };
                match checked {
                    Ok(input_location) => {
                        let mut seen = seen.clone();
                        seen.insert(input.snapshot_id.clone());
                        match follow(input_location, id.version, depth + 1, seen).await {
                            Ok(inputs) => node.inputs = inputs,
                            Err(e) => node.problem = Some(e.to_string()),
                        }
                    }
                    Err(e) => node.problem = Some(e.to_string()),
                }
            }
            nodes.push(node);
        }
        Ok(nodes)
    }
    .boxed()
}
