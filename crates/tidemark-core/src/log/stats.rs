//! Per-file statistics (`add.stats`): record counts, min/max values and null counts.

use serde::Deserialize;

/// The statistics of one data file, as written in `add.stats`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileStats {
    /// Number of rows in the file (before deletion vectors).
    #[serde(default)]
    pub num_records: Option<i64>,
    /// Minimum value per column (nested objects for struct columns).
    #[serde(default)]
    pub min_values: serde_json::Map<String, serde_json::Value>,
    /// Maximum value per column.
    #[serde(default)]
    pub max_values: serde_json::Map<String, serde_json::Value>,
    /// Null count per column.
    #[serde(default)]
    pub null_count: serde_json::Map<String, serde_json::Value>,
    /// Whether the statistics are tight (exact even with deletion vectors).
    #[serde(default)]
    pub tight_bounds: Option<bool>,
}

impl FileStats {
    /// Parses a stats string; `None` when absent or unparseable (statistics are optional, so a
    /// broken one only disables pruning for that file).
    ///
    /// ```
    /// let stats = tidemark_core::log::stats::FileStats::parse(Some(r#"{"numRecords":3}"#)).unwrap();
    /// assert_eq!(stats.num_records, Some(3));
    /// ```
    pub fn parse(stats: Option<&str>) -> Option<Self> {
        serde_json::from_str(stats?).ok()
    }
}

/// The number of live rows of a file: its record count less the rows its deletion vector
/// removes, when the file has statistics.
pub fn live_rows(add: &crate::log::actions::Add) -> Option<i64> {
    let records = FileStats::parse(add.stats.as_deref())?.num_records?;
    let deleted = add.deletion_vector.as_ref().map_or(0, |dv| dv.cardinality);
    Some(records - deleted)
}
