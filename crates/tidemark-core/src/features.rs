//! Table features: one table of data that says, for every feature Tidemark knows, whether it is
//! a reader-writer or writer-only feature and whether Tidemark supports it for reads, for data
//! writes, and for maintenance (checkpoints, vacuum).
//!
//! The protocol gates ([`check_read_supported`], [`check_write_supported`],
//! [`check_maintenance_supported`]) read this table and nothing else, so adding support for a
//! feature is a one-line change here.
//!
//! Maintenance has its own columns because it differs from writing data: a checkpoint copies
//! the log's actions and a vacuum deletes files, neither writes rows. A feature Tidemark cannot
//! write data under may still allow both (`rowTracking`: the checkpoint writer keeps every
//! `baseRowId` and `defaultRowCommitVersion` and the `delta.rowTracking` domain as they are),
//! and one it can checkpoint may still forbid vacuum (`icebergCompatV1/V2`: vacuum would delete
//! the Iceberg metadata that the Delta log does not name). A feature Tidemark does not know
//! blocks every maintenance operation.

use crate::error::{Error, Result, UnsupportedFeature};
use crate::log::actions::{Metadata, Protocol};
use crate::schema::{DataType, StructField, StructType};

/// Whether a feature constrains readers too, or only writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// Listed in both `readerFeatures` and `writerFeatures`.
    ReaderWriter,
    /// Listed only in `writerFeatures`.
    Writer,
}

/// One row of the feature table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFeature {
    /// The feature's name as written in the protocol action.
    pub name: &'static str,
    /// Reader-writer or writer-only.
    pub kind: FeatureKind,
    /// Tidemark reads tables with this feature correctly.
    pub read: bool,
    /// Whether Tidemark writes tables with this feature.
    pub write: WriteSupport,
    /// Tidemark's checkpoint writer handles a table with this feature correctly.
    pub checkpoint: bool,
    /// Tidemark's vacuum handles a table with this feature correctly.
    pub vacuum: bool,
}

/// A maintenance operation, gated by [`check_maintenance_supported`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maintenance {
    /// Writing a checkpoint ([`crate::checkpoint::write_checkpoint`]).
    Checkpoint,
    /// Deleting unreferenced files ([`crate::maintenance::vacuum::vacuum`]).
    Vacuum,
}

impl Maintenance {
    /// The operation's name in errors: `checkpoint` or `vacuum`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Checkpoint => "checkpoint",
            Self::Vacuum => "vacuum",
        }
    }
}

/// How far Tidemark supports writing to a table with a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteSupport {
    /// Writes honour the feature.
    Yes,
    /// Writes are allowed while the table does not use what the feature governs (no column
    /// carries an invariant, a generation expression, an identity; no constraint is set).
    WhileUnused,
    /// Tidemark refuses to write to a table with this feature.
    No,
}

const fn feature(
    name: &'static str,
    kind: FeatureKind,
    read: bool,
    write: WriteSupport,
    (checkpoint, vacuum): (bool, bool),
) -> TableFeature {
    TableFeature {
        name,
        kind,
        read,
        write,
        checkpoint,
        vacuum,
    }
}

/// Maintenance columns: (checkpoint, vacuum).
const MAINTAIN: (bool, bool) = (true, true);
const CHECKPOINT_ONLY: (bool, bool) = (true, false);
const NO_MAINTENANCE: (bool, bool) = (false, false);

use FeatureKind::{ReaderWriter, Writer};
use WriteSupport::{No, WhileUnused, Yes};

/// Every table feature Tidemark knows of, with its support.
///
/// Writer-only features do not affect reading; `read` is `true` for them since a reader can
/// ignore them. Features absent from this table are unknown, and unsupported for everything.
/// The last column says whether checkpoints and vacuum handle the feature (see the module
/// documentation for why it differs from `write`).
pub const TABLE_FEATURES: &[TableFeature] = &[
    feature("appendOnly", Writer, true, Yes, MAINTAIN),
    feature("invariants", Writer, true, WhileUnused, MAINTAIN),
    feature("checkConstraints", Writer, true, WhileUnused, MAINTAIN),
    // Vacuum never deletes under `_change_data/` (a hidden directory), so it keeps CDC files.
    feature("changeDataFeed", Writer, true, Yes, MAINTAIN),
    feature("generatedColumns", Writer, true, WhileUnused, MAINTAIN),
    feature("identityColumns", Writer, true, WhileUnused, MAINTAIN),
    // Checkpoints keep baseRowId, defaultRowCommitVersion and the delta.rowTracking domain.
    feature("rowTracking", Writer, true, No, MAINTAIN),
    feature("domainMetadata", Writer, true, Yes, MAINTAIN),
    // UniForm keeps Iceberg metadata beside the data (`metadata/`), which the Delta log does
    // not name: vacuum would delete it.
    feature("icebergCompatV1", Writer, true, No, CHECKPOINT_ONLY),
    feature("icebergCompatV2", Writer, true, No, CHECKPOINT_ONLY),
    // Checkpoints keep add.clusteringProvider and the delta.clustering domain.
    feature("clustering", Writer, true, No, MAINTAIN),
    feature("inCommitTimestamp", Writer, true, Yes, MAINTAIN),
    feature("allowColumnDefaults", Writer, true, No, MAINTAIN),
    feature("columnMapping", ReaderWriter, true, Yes, MAINTAIN),
    feature("deletionVectors", ReaderWriter, true, Yes, MAINTAIN),
    feature("timestampNtz", ReaderWriter, true, Yes, MAINTAIN),
    // Tables with this feature get v2 checkpoints (UUID-named, with checkpointMetadata), never
    // classic ones; vacuum never deletes under `_delta_log/` (sidecars included).
    feature("v2Checkpoint", ReaderWriter, true, Yes, MAINTAIN),
    // The feature asks vacuum to check the writer features: check_maintenance_supported does.
    feature("vacuumProtocolCheck", ReaderWriter, true, Yes, MAINTAIN),
    feature("typeWidening", ReaderWriter, true, Yes, MAINTAIN),
    feature("typeWidening-preview", ReaderWriter, true, Yes, MAINTAIN),
    // Unshredded variants read as their raw binary encoding (struct of metadata and value);
    // checkpoints copy their statistics strings as they are.
    feature("variantType", ReaderWriter, true, No, MAINTAIN),
    feature("variantType-preview", ReaderWriter, true, No, MAINTAIN),
    // Shredded variants store values in typed columns Tidemark does not reassemble.
    feature(
        "variantShredding-preview",
        ReaderWriter,
        false,
        No,
        NO_MAINTENANCE,
    ),
    // Catalog-managed tables must be read through their catalog, which Tidemark does not speak.
    feature("catalogManaged", ReaderWriter, false, No, NO_MAINTENANCE),
    feature(
        "catalogOwned-preview",
        ReaderWriter,
        false,
        No,
        NO_MAINTENANCE,
    ),
    feature(
        "collations-preview",
        ReaderWriter,
        false,
        No,
        NO_MAINTENANCE,
    ),
];

/// The highest reader protocol version Tidemark implements.
pub const MAX_READER_VERSION: i32 = 3;
/// The highest writer protocol version Tidemark implements.
pub const MAX_WRITER_VERSION: i32 = 7;

/// Looks a feature up by name.
///
/// ```
/// use tidemark_core::testing::{lookup, FeatureKind};
/// let dv = lookup("deletionVectors").unwrap();
/// assert_eq!(dv.kind, FeatureKind::ReaderWriter);
/// assert!(lookup("blahabl").is_none());
/// ```
pub fn lookup(name: &str) -> Option<&'static TableFeature> {
    TABLE_FEATURES.iter().find(|f| f.name == name)
}

/// Checks that Tidemark can read a table with this protocol.
///
/// Reader version 1 and 2 need no features beyond what they imply (version 2 implies column
/// mapping, which is supported); version 3 lists its reader features, each of which must be in
/// [`TABLE_FEATURES`] with `read` support.
pub fn check_read_supported(protocol: &Protocol) -> Result<()> {
    // Name an unknown feature first: it says more than a version number.
    for name in protocol.reader_features.iter().flatten() {
        if lookup(name).is_none() {
            return Err(Error::Unsupported(UnsupportedFeature::TableFeature {
                name: name.clone(),
                operation: "read",
            }));
        }
    }
    if protocol.min_reader_version > MAX_READER_VERSION || protocol.min_reader_version < 1 {
        return Err(Error::Unsupported(UnsupportedFeature::ProtocolVersion {
            kind: "reader",
            required: protocol.min_reader_version,
            supported: MAX_READER_VERSION,
        }));
    }
    if protocol.min_reader_version == 3 {
        for name in protocol.reader_features.iter().flatten() {
            let supported = lookup(name).is_some_and(|f| f.read);
            if !supported {
                return Err(Error::Unsupported(UnsupportedFeature::TableFeature {
                    name: name.clone(),
                    operation: "read",
                }));
            }
        }
    }
    Ok(())
}

/// Checks that Tidemark can write to a table with this protocol, metadata and schema.
///
/// Every writer feature the protocol lists (or, before writer version 7, implies) must be
/// supported for writes; a feature supported "while unused" must not be in use.
pub fn check_write_supported(
    protocol: &Protocol,
    metadata: &Metadata,
    schema: &StructType,
) -> Result<()> {
    check_read_supported(protocol)?;
    if protocol.min_writer_version > MAX_WRITER_VERSION || protocol.min_writer_version < 1 {
        return Err(Error::Unsupported(UnsupportedFeature::ProtocolVersion {
            kind: "writer",
            required: protocol.min_writer_version,
            supported: MAX_WRITER_VERSION,
        }));
    }
    let names: Vec<&str> = if protocol.min_writer_version == 7 {
        protocol
            .writer_features
            .iter()
            .flatten()
            .map(String::as_str)
            .collect()
    } else {
        TABLE_FEATURES
            .iter()
            .map(|f| f.name)
            .filter(|name| is_enabled(protocol, name))
            .collect()
    };
    for name in names {
        let support = lookup(name).map_or(No, |f| f.write);
        let refused = match support {
            Yes => false,
            No => true,
            WhileUnused => feature_in_use(name, metadata, schema),
        };
        if refused {
            return Err(Error::Unsupported(UnsupportedFeature::TableFeature {
                name: name.to_string(),
                operation: "write",
            }));
        }
    }
    Ok(())
}

/// Checks that Tidemark may run a maintenance operation (a checkpoint, a vacuum) on a table
/// with this protocol.
///
/// The table must be readable ([`check_read_supported`]), its writer version at most 7, and
/// every feature it lists (reader or writer), or before writer version 7 implies, must be in
/// [`TABLE_FEATURES`] with the operation's column (`checkpoint` or `vacuum`) set. Unlike
/// [`check_write_supported`], whether a feature is in use does not matter: maintenance writes no
/// rows. The error names the first feature that blocks the operation, with the operation:
/// "the table requires the table feature 'x', which Tidemark does not support for checkpoints".
pub fn check_maintenance_supported(protocol: &Protocol, operation: Maintenance) -> Result<()> {
    check_read_supported(protocol)?;
    let refused = |name: &str| {
        Err(Error::Unsupported(UnsupportedFeature::TableFeature {
            name: name.to_string(),
            operation: operation.name(),
        }))
    };
    // Name an unknown or unsupported feature first: it says more than a version number.
    let listed = protocol
        .reader_features
        .iter()
        .chain(protocol.writer_features.iter())
        .flatten();
    for name in listed {
        let supported = lookup(name).is_some_and(|f| match operation {
            Maintenance::Checkpoint => f.checkpoint,
            Maintenance::Vacuum => f.vacuum,
        });
        if !supported {
            return refused(name);
        }
    }
    if protocol.min_writer_version > MAX_WRITER_VERSION || protocol.min_writer_version < 1 {
        return Err(Error::Unsupported(UnsupportedFeature::ProtocolVersion {
            kind: "writer",
            required: protocol.min_writer_version,
            supported: MAX_WRITER_VERSION,
        }));
    }
    if protocol.min_writer_version < 7 {
        let implied = TABLE_FEATURES
            .iter()
            .filter(|f| is_enabled(protocol, f.name))
            .find(|f| match operation {
                Maintenance::Checkpoint => !f.checkpoint,
                Maintenance::Vacuum => !f.vacuum,
            });
        if let Some(feature) = implied {
            return refused(feature.name);
        }
    }
    Ok(())
}

/// Whether the table uses what a "while unused" feature governs.
fn feature_in_use(name: &str, metadata: &Metadata, schema: &StructType) -> bool {
    let column_key = match name {
        "invariants" => "delta.invariants",
        "generatedColumns" => "delta.generationExpression",
        "identityColumns" => "delta.identity.start",
        "checkConstraints" => {
            return metadata
                .configuration
                .keys()
                .any(|k| k.starts_with("delta.constraints."));
        }
        _ => return false,
    };
    any_field_has(&schema.fields, column_key)
}

fn any_field_has(fields: &[StructField], key: &str) -> bool {
    fields.iter().any(|f| {
        f.metadata.contains_key(key)
            || match &f.data_type {
                DataType::Struct(s) => any_field_has(&s.fields, key),
                _ => false,
            }
    })
}

/// True if the protocol enables a feature: listed in the features of reader version 3 /
/// writer version 7, or implied by a legacy protocol version.
pub fn is_enabled(protocol: &Protocol, name: &str) -> bool {
    let listed = protocol
        .reader_features
        .iter()
        .chain(protocol.writer_features.iter())
        .flatten()
        .any(|f| f == name);
    if listed {
        return true;
    }
    // Legacy versions imply features: writer 2 invariants/appendOnly, 3 checkConstraints,
    // 4 changeDataFeed/generatedColumns, 5 columnMapping, 6 identityColumns.
    let implied_by_writer = match name {
        "appendOnly" | "invariants" => 2,
        "checkConstraints" => 3,
        "changeDataFeed" | "generatedColumns" => 4,
        "columnMapping" => 5,
        "identityColumns" => 6,
        _ => return false,
    };
    protocol.min_writer_version < 7 && protocol.min_writer_version >= implied_by_writer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(features: &[&str]) -> Protocol {
        Protocol {
            min_reader_version: 3,
            min_writer_version: 7,
            reader_features: Some(features.iter().map(|s| s.to_string()).collect()),
            writer_features: Some(features.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in TABLE_FEATURES.iter().enumerate() {
            assert!(
                TABLE_FEATURES[i + 1..].iter().all(|b| b.name != a.name),
                "{} twice",
                a.name
            );
        }
    }

    #[test]
    fn supported_reader_features_pass() {
        check_read_supported(&v3(&["deletionVectors", "columnMapping", "timestampNtz"])).unwrap();
    }

    #[test]
    fn unknown_reader_feature_is_named() {
        let err = check_read_supported(&v3(&["deletionVectors", "blahabl"])).unwrap_err();
        assert!(err.to_string().contains("'blahabl'"), "{err}");
    }

    #[test]
    fn known_but_unsupported_reader_feature_is_refused() {
        let err = check_read_supported(&v3(&["catalogManaged"])).unwrap_err();
        assert!(err.to_string().contains("catalogManaged"), "{err}");
    }

    #[test]
    fn reader_version_above_three_is_refused() {
        let protocol = Protocol {
            min_reader_version: 4,
            min_writer_version: 7,
            ..Default::default()
        };
        let err = check_read_supported(&protocol).unwrap_err();
        assert!(
            err.to_string().contains("reader protocol version 4"),
            "{err}"
        );
    }

    fn writer_v7(features: &[&str]) -> Protocol {
        Protocol {
            min_reader_version: 1,
            min_writer_version: 7,
            reader_features: None,
            writer_features: Some(features.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn maintenance_needs_every_feature_known() {
        let ok = v3(&["deletionVectors", "v2Checkpoint", "columnMapping"]);
        check_maintenance_supported(&ok, Maintenance::Checkpoint).unwrap();
        check_maintenance_supported(&ok, Maintenance::Vacuum).unwrap();
        // Known features Tidemark writes no data under can still be checkpointed.
        let row_tracking = writer_v7(&["rowTracking", "domainMetadata"]);
        check_maintenance_supported(&row_tracking, Maintenance::Checkpoint).unwrap();
        check_maintenance_supported(&row_tracking, Maintenance::Vacuum).unwrap();
        // An unknown writer feature blocks both, named in the error.
        let unknown = writer_v7(&["appendOnly", "someFutureFeature"]);
        for operation in [Maintenance::Checkpoint, Maintenance::Vacuum] {
            let err = check_maintenance_supported(&unknown, operation).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("'someFutureFeature'"), "{message}");
            assert!(message.contains(operation.name()), "{message}");
        }
        // Iceberg compatibility: checkpoints yes, vacuum no.
        let iceberg = writer_v7(&["icebergCompatV2", "columnMapping"]);
        check_maintenance_supported(&iceberg, Maintenance::Checkpoint).unwrap();
        let err = check_maintenance_supported(&iceberg, Maintenance::Vacuum).unwrap_err();
        assert!(err.to_string().contains("icebergCompatV2"), "{err}");
        // A writer version above 7 is refused; legacy versions imply known features.
        let future = Protocol {
            min_reader_version: 1,
            min_writer_version: 8,
            ..Default::default()
        };
        check_maintenance_supported(&future, Maintenance::Checkpoint).unwrap_err();
        let legacy = Protocol {
            min_reader_version: 1,
            min_writer_version: 6,
            ..Default::default()
        };
        check_maintenance_supported(&legacy, Maintenance::Vacuum).unwrap();
    }

    #[test]
    fn legacy_versions_imply_features() {
        let protocol = Protocol {
            min_reader_version: 2,
            min_writer_version: 5,
            ..Default::default()
        };
        assert!(is_enabled(&protocol, "columnMapping"));
        assert!(is_enabled(&protocol, "changeDataFeed"));
        assert!(!is_enabled(&protocol, "deletionVectors"));
        assert!(is_enabled(&v3(&["deletionVectors"]), "deletionVectors"));
    }
}
