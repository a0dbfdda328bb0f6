//! Vacuum plans: the files a vacuum in progress is about to delete, announced before it deletes
//! any of them.
//!
//! A plan is the JSON file `_tidemark/vacuum/<id>.json`. Vacuum writes it, then commits a
//! `VACUUM START` version whose `commitInfo.tidemark.vacuum` names it, deletes, commits
//! `VACUUM END`, and deletes the plan. Every other Tidemark operation that could make one of
//! those files needed again learns of the plan in one of two ways, so that no interleaving
//! lets vacuum delete a file a committed version, a tag or a pin needs:
//!
//! - a transaction that read a version older than the `VACUUM START` meets it as a winning
//!   commit, reads the plan, and conflicts when it adds a file (or deletion vector) the plan
//!   deletes ([`conflict_with`]);
//! - an operation that plans after it (a restore, a new tag or pin) lists the plans in progress
//!   ([`pending_objects`]) and refuses the files they delete.
//!
//! A plan expires at its deadline: vacuum deletes nothing after it, and others stop honouring
//! it [`DEADLINE_GRACE_MS`] later, so that a vacuum that crashed does not block restores
//! forever.

use std::collections::HashMap;

use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::extensions::tidemark_dir::{self, TIDEMARK_DIR};
use crate::log::actions::Action;
use crate::scan::deletion_vector::add_objects;
use crate::storage::TableLocation;

/// The folder of plans inside `_tidemark/`.
pub(crate) const KIND: &str = "vacuum";

/// How long a vacuum may delete after it started.
pub(crate) const PLAN_LIFETIME_MS: i64 = 6 * 3_600_000;

/// How long after its deadline a plan is still honoured by others (clock skew, a batch of
/// deletes under way at the deadline).
pub(crate) const DEADLINE_GRACE_MS: i64 = 15 * 60_000;

/// A vacuum's plan, as stored in `_tidemark/vacuum/<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VacuumPlan {
    /// A fresh UUID.
    pub id: String,
    /// The version whose log vacuum planned from.
    pub read_version: u64,
    /// When vacuum started, in milliseconds since the epoch.
    pub started_time_ms: i64,
    /// After this instant vacuum deletes nothing more.
    pub deadline_ms: i64,
    /// The objects it may delete, as paths relative to the table root.
    pub files: Vec<String>,
}

impl VacuumPlan {
    /// The plan's path relative to the table root.
    pub(crate) fn relative_path(&self) -> String {
        format!("{TIDEMARK_DIR}/{KIND}/{}.json", self.id)
    }

    /// Whether others must still honour the plan at `now_ms`.
    pub(crate) fn is_pending(&self, now_ms: i64) -> bool {
        now_ms <= self.deadline_ms.saturating_add(DEADLINE_GRACE_MS)
    }

    /// The objects of the plan, resolved against the table root (paths are stored as
    /// [`TableLocation::relative`] gives them: encoded parts joined by `/`).
    pub(crate) fn objects(&self, location: &TableLocation) -> HashMap<Path, String> {
        let root = location.root().as_ref();
        self.files
            .iter()
            .filter_map(|f| {
                let full = if root.is_empty() {
                    f.clone()
                } else {
                    format!("{root}/{f}")
                };
                Path::parse(full).ok().map(|p| (p, f.clone()))
            })
            .collect()
    }
}

/// Writes a plan (put-if-absent; ids are fresh UUIDs).
pub(crate) async fn write_plan(location: &TableLocation, plan: &VacuumPlan) -> Result<()> {
    let path = tidemark_dir::entry_path(location, KIND, &plan.id);
    tidemark_dir::create_entry(location, &path, plan).await?;
    Ok(())
}

/// Deletes a plan once its vacuum is done.
pub(crate) async fn delete_plan(location: &TableLocation, id: &str) -> Result<()> {
    tidemark_dir::delete_entry(location, &tidemark_dir::entry_path(location, KIND, id)).await?;
    Ok(())
}

/// Every plan in `_tidemark/vacuum/`, expired or not.
pub(crate) async fn list_plans(location: &TableLocation) -> Result<Vec<VacuumPlan>> {
    tidemark_dir::list_entries(location, KIND).await
}

/// The objects that vacuums in progress at `now_ms` may delete, with the id of the vacuum.
pub(crate) async fn pending_objects(
    location: &TableLocation,
    now_ms: i64,
) -> Result<HashMap<Path, String>> {
    let mut out = HashMap::new();
    for plan in list_plans(location).await? {
        if plan.is_pending(now_ms) {
            for (path, _) in plan.objects(location) {
                out.insert(path, plan.id.clone());
            }
        }
    }
    Ok(out)
}

/// The plan a `VACUUM START` commit names (`commitInfo.tidemark.vacuum.id`), if `commit` is
/// one.
pub(crate) fn started_plan_id(commit: &[Action]) -> Option<String> {
    commit.iter().find_map(|a| match a {
        Action::CommitInfo(info) => info
            .0
            .get("tidemark")
            .and_then(|t| t.get("vacuum"))
            .filter(|v| v.get("phase").and_then(Value::as_str) == Some("start"))
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    })
}

/// When `winner` is a `VACUUM START`, the first object among `ours` (the actions of a
/// transaction that did not see it) that its plan deletes, as a conflict reason. A plan that
/// is gone (its vacuum finished) deleted what it deleted: then an object of ours that no longer
/// exists is the conflict.
pub(crate) async fn conflict_with(
    location: &TableLocation,
    winner: &[Action],
    ours: &[Action],
) -> Result<Option<String>> {
    let Some(id) = started_plan_id(winner) else {
        return Ok(None);
    };
    let mut objects = Vec::new();
    for action in ours {
        if let Action::Add(add) = action {
            objects.extend(add_objects(location, add)?);
        }
    }
    if objects.is_empty() {
        return Ok(None);
    }
    let path = tidemark_dir::entry_path(location, KIND, &id);
    match tidemark_dir::read_entry::<VacuumPlan>(location, &path).await? {
        Some(plan) => {
            let planned = plan.objects(location);
            Ok(objects.iter().find_map(|o| {
                planned.get(o).map(|name| {
                    format!(
                        "a vacuum (id {id}) that deletes the file '{name}' this transaction adds"
                    )
                })
            }))
        }
        None => {
            for object in objects {
                match location.store().head(&object).await {
                    Ok(_) => {}
                    Err(object_store::Error::NotFound { .. }) => {
                        return Ok(Some(format!(
                            "a vacuum (id {id}) that deleted the file '{}' this transaction adds",
                            location.relative(&object)
                        )));
                    }
                    Err(e) => {
                        return Err(crate::error::Error::store(
                            format!("checking '{object}' after a concurrent vacuum"),
                            e,
                        ));
                    }
                }
            }
            Ok(None)
        }
    }
}
