//! Log replay: folding checkpoint and commit actions into the state of one version.

use std::collections::HashMap;

use crate::actions::{Action, Add, DomainMetadata, FileKey, Metadata, Protocol, Remove, Txn};

/// The state of a table at one version, built by applying actions in log order.
#[derive(Debug, Clone, Default)]
pub struct ReplayState {
    /// The newest protocol action.
    pub protocol: Option<Protocol>,
    /// The newest metadata action.
    pub metadata: Option<Metadata>,
    /// Live data files, keyed by path and deletion vector.
    pub files: HashMap<FileKey, Add>,
    /// Newest transaction marker per application id.
    pub txns: HashMap<String, Txn>,
    /// Live metadata domains by name.
    pub domains: HashMap<String, DomainMetadata>,
    /// Files removed and not added again since, which checkpoints keep until they expire
    /// so that vacuum in any engine knows they were part of the table.
    pub tombstones: HashMap<FileKey, Remove>,
}

impl ReplayState {
    /// Applies the actions of one checkpoint, or of one commit, on top of the state.
    ///
    /// Commits must be applied in ascending version order. Within a commit, a `remove` only
    /// cancels an `add` of an earlier version (or of the same commit when it comes first),
    /// matching the protocol's rule that one commit never adds and removes the same file.
    ///
    /// ```
    /// use tidemark_core::actions::parse_commit;
    /// use tidemark_core::replay::ReplayState;
    /// let v0 = br#"{"add":{"path":"a","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}"#;
    /// let v1 = br#"{"remove":{"path":"a","dataChange":true}}"#;
    /// let mut state = ReplayState::default();
    /// state.apply(parse_commit(v0, "0").unwrap());
    /// assert_eq!(state.files.len(), 1);
    /// state.apply(parse_commit(v1, "1").unwrap());
    /// assert!(state.files.is_empty());
    /// ```
    pub fn apply(&mut self, actions: impl IntoIterator<Item = Action>) {
        for action in actions {
            match action {
                Action::Add(add) => {
                    let key = add.file_key();
                    self.tombstones.remove(&key);
                    self.files.insert(key, add);
                }
                Action::Remove(remove) => {
                    let key = remove.file_key();
                    self.files.remove(&key);
                    self.tombstones.insert(key, remove);
                }
                Action::Protocol(p) => self.protocol = Some(p),
                Action::Metadata(m) => self.metadata = Some(m),
                Action::Txn(txn) => {
                    self.txns.insert(txn.app_id.clone(), txn);
                }
                Action::DomainMetadata(domain) => {
                    if domain.removed {
                        self.domains.remove(&domain.domain);
                    } else {
                        self.domains.insert(domain.domain.clone(), domain);
                    }
                }
                Action::CommitInfo(_)
                | Action::Cdc(_)
                | Action::CheckpointMetadata(_)
                | Action::Sidecar(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::parse_commit;

    fn apply(state: &mut ReplayState, text: &str) {
        state.apply(parse_commit(text.as_bytes(), "t").unwrap());
    }

    #[test]
    fn dv_update_replaces_the_logical_file() {
        let mut state = ReplayState::default();
        apply(
            &mut state,
            r#"{"add":{"path":"f","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}"#,
        );
        apply(
            &mut state,
            r#"{"remove":{"path":"f","dataChange":true}}
{"add":{"path":"f","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true,"deletionVector":{"storageType":"i","pathOrInlineDv":"abc","sizeInBytes":3,"cardinality":1}}}"#,
        );
        assert_eq!(state.files.len(), 1);
        let add = state.files.values().next().unwrap();
        assert!(add.deletion_vector.is_some());
    }

    #[test]
    fn newest_txn_and_domains_win() {
        let mut state = ReplayState::default();
        apply(
            &mut state,
            r#"{"txn":{"appId":"a","version":1}}
{"domainMetadata":{"domain":"d","configuration":"1","removed":false}}"#,
        );
        apply(
            &mut state,
            r#"{"txn":{"appId":"a","version":2}}
{"domainMetadata":{"domain":"d","configuration":"","removed":true}}"#,
        );
        assert_eq!(state.txns["a"].version, 2);
        assert!(state.domains.is_empty());
    }
}
