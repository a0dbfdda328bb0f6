//! Partitions: the partition values of data files (parsing, serializing, directory names) and
//! predicates over them (replace-where conditions, partition pruning).

pub(crate) mod predicate;
pub(crate) mod values;

pub use values::partition_array;
