//! Log replay: folding checkpoint and commit actions into the state of one version.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::log::actions::{
    Action, Add, DeletionVectorDescriptor, DomainMetadata, Metadata, Protocol, Remove, Txn,
};

/// The state of a table at one version, built by applying actions in log order.
#[derive(Debug, Clone, Default)]
pub struct ReplayState {
    /// The newest protocol action.
    pub protocol: Option<Protocol>,
    /// The newest metadata action.
    pub metadata: Option<Metadata>,
    /// Live data files, keyed by path and deletion vector.
    pub files: FileSet<Add>,
    /// Newest transaction marker per application id.
    pub txns: HashMap<String, Txn>,
    /// Live metadata domains by name.
    pub domains: HashMap<String, DomainMetadata>,
    /// Files removed and not added again since, which checkpoints keep until they expire
    /// so that vacuum in any engine knows they were part of the table.
    pub tombstones: FileSet<Remove>,
}

impl ReplayState {
    /// Applies the actions of one checkpoint, or of one commit, on top of the state.
    ///
    /// Commits must be applied in ascending version order. Within a commit, a `remove` only
    /// cancels an `add` of an earlier version (or of the same commit when it comes first),
    /// matching the protocol's rule that one commit never adds and removes the same file.
    ///
    /// ```
    /// use tidemark_core::log::actions::parse_commit;
    /// use tidemark_core::testing::ReplayState;
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
            self.apply_action(action);
        }
    }

    /// Applies one action on top of the state (see [`ReplayState::apply`]).
    pub fn apply_action(&mut self, action: Action) {
        match action {
            Action::Add(add) => {
                if !self.tombstones.is_empty() {
                    self.tombstones
                        .remove(&add.path, add.deletion_vector.as_ref());
                }
                self.files.insert(add);
            }
            Action::Remove(remove) => {
                if !self.files.is_empty() {
                    self.files
                        .remove(&remove.path, remove.deletion_vector.as_ref());
                }
                self.tombstones.insert(remove);
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

/// An action that names a logical file: a path plus an optional deletion vector, the key that
/// `remove` actions reconcile against (see [`crate::log::actions::FileKey`]).
pub trait LogicalFile {
    /// The file path as written in the log.
    fn path(&self) -> &str;
    /// The deletion vector, if any.
    fn deletion_vector(&self) -> Option<&DeletionVectorDescriptor>;
}

impl LogicalFile for Add {
    fn path(&self) -> &str {
        &self.path
    }

    fn deletion_vector(&self) -> Option<&DeletionVectorDescriptor> {
        self.deletion_vector.as_ref()
    }
}

impl LogicalFile for Remove {
    fn path(&self) -> &str {
        &self.path
    }

    fn deletion_vector(&self) -> Option<&DeletionVectorDescriptor> {
        self.deletion_vector.as_ref()
    }
}

/// Whether two optional deletion vectors have the same unique id.
fn same_dv(a: Option<&DeletionVectorDescriptor>, b: Option<&DeletionVectorDescriptor>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            (a.storage_type == b.storage_type
                && a.path_or_inline_dv == b.path_or_inline_dv
                && a.offset == b.offset)
                || a.unique_id() == b.unique_id()
        }
        _ => false,
    }
}

/// A set of logical files (`add` or `remove` actions) keyed by path and deletion-vector id.
///
/// The actions are stored once, densely in a vector, and indexed by a hash table of positions,
/// so the key (the path) is not stored twice and a table of many files costs little more than
/// its actions. Iteration is in no particular order.
///
/// ```
/// use tidemark_core::log::actions::parse_commit;
/// use tidemark_core::testing::ReplayState;
/// let text = br#"{"add":{"path":"a","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}"#;
/// let mut state = ReplayState::default();
/// state.apply(parse_commit(text, "0").unwrap());
/// assert_eq!(state.files.get("a", None).map(|add| add.size), Some(1));
/// assert!(state.files.get("b", None).is_none());
/// ```
#[derive(Clone)]
pub struct FileSet<T> {
    entries: Vec<T>,
    index: HashTable<usize>,
    hasher: DefaultHashBuilder,
}

impl<T> Default for FileSet<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for FileSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

fn hash_key(hasher: &DefaultHashBuilder, path: &str, has_dv: bool) -> u64 {
    // Files that differ only in their deletion vector share a hash; equality tells them apart.
    let mut state = hasher.build_hasher();
    path.hash(&mut state);
    has_dv.hash(&mut state);
    state.finish()
}

impl<T: LogicalFile> FileSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Makes room for `additional` more files.
    pub fn reserve(&mut self, additional: usize) {
        let Self {
            entries,
            index,
            hasher,
        } = self;
        entries.reserve(additional);
        index.reserve(additional, |&i| {
            let e = &entries[i];
            hash_key(hasher, e.path(), e.deletion_vector().is_some())
        });
    }

    /// The files, in no particular order.
    pub fn values(&self) -> std::slice::Iter<'_, T> {
        self.entries.iter()
    }

    /// The files, in no particular order (same as [`FileSet::values`]).
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.entries.iter()
    }

    /// The files as a slice, in no particular order.
    pub fn as_slice(&self) -> &[T] {
        &self.entries
    }

    fn position(&self, path: &str, dv: Option<&DeletionVectorDescriptor>) -> Option<usize> {
        let hash = hash_key(&self.hasher, path, dv.is_some());
        self.index
            .find(hash, |&i| {
                let e = &self.entries[i];
                e.path() == path && same_dv(e.deletion_vector(), dv)
            })
            .copied()
    }

    /// The file with this path and deletion vector.
    pub fn get(&self, path: &str, dv: Option<&DeletionVectorDescriptor>) -> Option<&T> {
        self.position(path, dv).map(|i| &self.entries[i])
    }

    /// Whether the set holds a file with this path and deletion vector.
    pub fn contains(&self, path: &str, dv: Option<&DeletionVectorDescriptor>) -> bool {
        self.position(path, dv).is_some()
    }

    /// Adds a file, returning the one it replaces (same path and deletion vector), if any.
    pub fn insert(&mut self, value: T) -> Option<T> {
        let Self {
            entries,
            index,
            hasher,
        } = self;
        let hash = hash_key(hasher, value.path(), value.deletion_vector().is_some());
        let found = index.find(hash, |&i| {
            let e = &entries[i];
            e.path() == value.path() && same_dv(e.deletion_vector(), value.deletion_vector())
        });
        if let Some(&i) = found {
            return Some(std::mem::replace(&mut entries[i], value));
        }
        let position = entries.len();
        entries.push(value);
        index.insert_unique(hash, position, |&i| {
            let e = &entries[i];
            hash_key(hasher, e.path(), e.deletion_vector().is_some())
        });
        None
    }

    /// Removes the file with this path and deletion vector, returning it.
    pub fn remove(&mut self, path: &str, dv: Option<&DeletionVectorDescriptor>) -> Option<T> {
        let Self {
            entries,
            index,
            hasher,
        } = self;
        let hash = hash_key(hasher, path, dv.is_some());
        let entry = index
            .find_entry(hash, |&i| {
                let e = &entries[i];
                e.path() == path && same_dv(e.deletion_vector(), dv)
            })
            .ok()?;
        let (position, _) = entry.remove();
        let last = entries.len() - 1;
        if position != last {
            // The last entry moves into the hole: point its index slot at its new position.
            let moved = &entries[last];
            let moved_hash = hash_key(hasher, moved.path(), moved.deletion_vector().is_some());
            if let Some(slot) = index.find_mut(moved_hash, |&i| i == last) {
                *slot = position;
            }
        }
        Some(entries.swap_remove(position))
    }

    /// Keeps only the files for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let before = self.entries.len();
        self.entries.retain(|e| keep(e));
        if self.entries.len() != before {
            self.rebuild_index();
        }
    }

    fn rebuild_index(&mut self) {
        let Self {
            entries,
            index,
            hasher,
        } = self;
        index.clear();
        index.reserve(entries.len(), |&i| {
            let e = &entries[i];
            hash_key(hasher, e.path(), e.deletion_vector().is_some())
        });
        for (position, e) in entries.iter().enumerate() {
            let hash = hash_key(hasher, e.path(), e.deletion_vector().is_some());
            index.insert_unique(hash, position, |&i| {
                let e = &entries[i];
                hash_key(hasher, e.path(), e.deletion_vector().is_some())
            });
        }
    }
}

impl<'a, T> IntoIterator for &'a FileSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl<T: LogicalFile> FromIterator<T> for FileSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut set = Self::new();
        for value in iter {
            set.insert(value);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::actions::parse_commit;

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

    fn add(path: &str, dv: Option<&str>) -> Add {
        let dv = dv.map(|d| {
            format!(r#","deletionVector":{{"storageType":"i","pathOrInlineDv":"{d}","sizeInBytes":3,"cardinality":1}}"#)
        });
        let text = format!(
            r#"{{"add":{{"path":"{path}","partitionValues":{{}},"size":1,"modificationTime":0,"dataChange":true{}}}}}"#,
            dv.unwrap_or_default()
        );
        match parse_commit(text.as_bytes(), "t").unwrap().pop() {
            Some(Action::Add(add)) => add,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_set_keys_by_path_and_deletion_vector() {
        let mut set: FileSet<Add> = FileSet::new();
        assert!(set.insert(add("a", None)).is_none());
        assert!(set.insert(add("a", Some("x"))).is_none());
        assert!(set.insert(add("b", None)).is_none());
        assert_eq!(set.len(), 3);
        // Same key: replaced, not added.
        let mut newer = add("a", None);
        newer.size = 7;
        assert_eq!(set.insert(newer).map(|a| a.size), Some(1));
        assert_eq!(set.len(), 3);
        assert_eq!(set.get("a", None).map(|a| a.size), Some(7));
        let dv = add("a", Some("x")).deletion_vector;
        assert!(set.contains("a", dv.as_ref()));
        let other_dv = add("a", Some("y")).deletion_vector;
        assert!(!set.contains("a", other_dv.as_ref()));
        assert!(set.remove("a", other_dv.as_ref()).is_none());
        // Removing moves the last entry into the hole; every key must still be found.
        assert!(set.remove("a", None).is_some());
        assert!(set.get("b", None).is_some());
        assert!(set.get("a", dv.as_ref()).is_some());
        assert!(set.get("a", None).is_none());
        assert_eq!(set.len(), 2);
        set.retain(|a| a.path == "b");
        assert_eq!(
            set.values().map(|a| a.path.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert!(set.get("b", None).is_some());
    }

    #[test]
    fn file_set_agrees_with_a_hash_map_under_churn() {
        use crate::log::actions::FileKey;
        let mut set: FileSet<Add> = FileSet::new();
        let mut map: HashMap<FileKey, i64> = HashMap::new();
        let mut x: u64 = 7;
        for step in 0..5_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let path = format!("f{}", x % 300);
            let dv = x.is_multiple_of(7).then(|| format!("d{}", x % 3));
            let mut a = add(&path, dv.as_deref());
            a.size = step;
            let key = a.file_key();
            if x.is_multiple_of(3) {
                let removed = set
                    .remove(&a.path, a.deletion_vector.as_ref())
                    .map(|a| a.size);
                assert_eq!(removed, map.remove(&key));
            } else {
                let replaced = set.insert(a).map(|a| a.size);
                assert_eq!(replaced, map.insert(key, step));
            }
            assert_eq!(set.len(), map.len());
        }
        for a in set.values() {
            assert_eq!(map.get(&a.file_key()), Some(&a.size));
        }
    }

    #[test]
    fn tombstones_follow_removes_and_are_cancelled_by_adds() {
        let mut state = ReplayState::default();
        apply(
            &mut state,
            r#"{"add":{"path":"a","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}"#,
        );
        apply(&mut state, r#"{"remove":{"path":"a","dataChange":true}}"#);
        assert!(state.files.is_empty());
        assert_eq!(state.tombstones.len(), 1);
        apply(
            &mut state,
            r#"{"add":{"path":"a","partitionValues":{},"size":2,"modificationTime":0,"dataChange":true}}"#,
        );
        assert!(state.tombstones.is_empty());
        assert_eq!(state.files.get("a", None).map(|a| a.size), Some(2));
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
