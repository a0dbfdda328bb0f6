//! One extractor per action kind: the columns of a checkpoint batch turned into actions.

use super::*;

pub(super) struct ProtocolCols {
    pub(super) array: StructArray,
    pub(super) min_reader_version: Option<Int64Array>,
    pub(super) min_writer_version: Option<Int64Array>,
    pub(super) reader_features: Option<StrListCol>,
    pub(super) writer_features: Option<StrListCol>,
}

impl ProtocolCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "protocol", ctx);
        Ok(Self {
            min_reader_version: c.int("minReaderVersion")?,
            min_writer_version: c.int("minWriterVersion")?,
            reader_features: c.str_list("readerFeatures")?,
            writer_features: c.str_list("writerFeatures")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Protocol> {
        let reader = "protocol.minReaderVersion";
        let writer = "protocol.minWriterVersion";
        Ok(Protocol {
            min_reader_version: i32_at(&self.min_reader_version, i, reader, ctx)?
                .ok_or_else(|| ctx.missing(i, reader))?,
            min_writer_version: i32_at(&self.min_writer_version, i, writer, ctx)?
                .ok_or_else(|| ctx.missing(i, writer))?,
            reader_features: self.reader_features.as_ref().and_then(|c| c.get(i)),
            writer_features: self.writer_features.as_ref().and_then(|c| c.get(i)),
        })
    }
}

pub(super) struct FormatCols {
    pub(super) array: StructArray,
    pub(super) provider: Option<StrCol>,
    pub(super) options: Option<MapCol>,
}

pub(super) struct MetadataCols {
    pub(super) array: StructArray,
    pub(super) id: Option<StrCol>,
    pub(super) name: Option<StrCol>,
    pub(super) description: Option<StrCol>,
    pub(super) format: Option<FormatCols>,
    pub(super) schema_string: Option<StrCol>,
    pub(super) partition_columns: Option<StrListCol>,
    pub(super) created_time: Option<Int64Array>,
    pub(super) configuration: Option<MapCol>,
}

impl MetadataCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "metaData", ctx);
        let format = match c.structure("format")? {
            Some((format, column)) => {
                let f = Children::new(&format, &column, ctx);
                let provider = f.str("provider")?;
                let options = f.map("options")?;
                Some(FormatCols {
                    array: format,
                    provider,
                    options,
                })
            }
            None => None,
        };
        Ok(Self {
            id: c.str("id")?,
            name: c.str("name")?,
            description: c.str("description")?,
            format,
            schema_string: c.str("schemaString")?,
            partition_columns: c.str_list("partitionColumns")?,
            created_time: c.int("createdTime")?,
            configuration: c.map("configuration")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Metadata> {
        let format = match &self.format {
            Some(f) if f.array.is_valid(i) => Format {
                provider: string_at(&f.provider, i).unwrap_or_else(|| "parquet".to_string()),
                options: f
                    .options
                    .as_ref()
                    .map(|m| m.get_non_null(i))
                    .unwrap_or_default(),
            },
            _ => Format::default(),
        };
        Ok(Metadata {
            id: string_at(&self.id, i).ok_or_else(|| ctx.missing(i, "metaData.id"))?,
            name: string_at(&self.name, i),
            description: string_at(&self.description, i),
            format,
            schema_string: string_at(&self.schema_string, i)
                .ok_or_else(|| ctx.missing(i, "metaData.schemaString"))?,
            partition_columns: self
                .partition_columns
                .as_ref()
                .and_then(|c| c.get(i))
                .unwrap_or_default(),
            created_time: int_at(&self.created_time, i),
            configuration: self
                .configuration
                .as_ref()
                .map(|m| m.get_non_null(i))
                .unwrap_or_default(),
        })
    }
}

pub(super) struct DvCols {
    pub(super) array: StructArray,
    pub(super) storage_type: Option<StrCol>,
    pub(super) path_or_inline_dv: Option<StrCol>,
    pub(super) offset: Option<Int64Array>,
    pub(super) size_in_bytes: Option<Int64Array>,
    pub(super) cardinality: Option<Int64Array>,
    pub(super) prefix: String,
}

impl DvCols {
    pub(super) fn new(parent: &Children<'_>, ctx: Ctx<'_>) -> Result<Option<Self>> {
        let Some((array, prefix)) = parent.structure("deletionVector")? else {
            return Ok(None);
        };
        let c = Children::new(&array, &prefix, ctx);
        Ok(Some(Self {
            storage_type: c.str("storageType")?,
            path_or_inline_dv: c.str("pathOrInlineDv")?,
            offset: c.int("offset")?,
            size_in_bytes: c.int("sizeInBytes")?,
            cardinality: c.int("cardinality")?,
            array,
            prefix,
        }))
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Option<DeletionVectorDescriptor>> {
        if self.array.is_null(i) {
            return Ok(None);
        }
        // Some writers (delta-rs 0.22 era) store a non-null struct with empty or null fields for
        // files without a deletion vector; that is no deletion vector.
        let storage_type = str_at(&self.storage_type, i).unwrap_or_default();
        let path_or_inline_dv = str_at(&self.path_or_inline_dv, i).unwrap_or_default();
        if storage_type.is_empty() && path_or_inline_dv.is_empty() {
            return Ok(None);
        }
        let field = |name: &str| format!("{}.{name}", self.prefix);
        let size_column = field("sizeInBytes");
        Ok(Some(DeletionVectorDescriptor {
            storage_type: non_empty(storage_type)
                .ok_or_else(|| ctx.missing(i, &field("storageType")))?,
            path_or_inline_dv: non_empty(path_or_inline_dv)
                .ok_or_else(|| ctx.missing(i, &field("pathOrInlineDv")))?,
            offset: i32_at(&self.offset, i, &field("offset"), ctx)?,
            size_in_bytes: i32_at(&self.size_in_bytes, i, &size_column, ctx)?
                .ok_or_else(|| ctx.missing(i, &size_column))?,
            cardinality: int_at(&self.cardinality, i)
                .ok_or_else(|| ctx.missing(i, &field("cardinality")))?,
        }))
    }
}

pub(super) struct AddCols {
    pub(super) array: StructArray,
    pub(super) path: Option<StrCol>,
    pub(super) partition_values: Option<MapCol>,
    pub(super) partition_values_parsed: Option<(StructArray, Vec<(String, Enc)>)>,
    pub(super) size: Option<Int64Array>,
    pub(super) modification_time: Option<Int64Array>,
    pub(super) data_change: Option<BooleanArray>,
    pub(super) stats: Option<StrCol>,
    pub(super) stats_parsed: Option<Enc>,
    pub(super) tags: Option<MapCol>,
    pub(super) deletion_vector: Option<DvCols>,
    pub(super) base_row_id: Option<Int64Array>,
    pub(super) default_row_commit_version: Option<Int64Array>,
    pub(super) clustering_provider: Option<StrCol>,
}

impl AddCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "add", ctx);
        let partition_values = c.map("partitionValues")?;
        let partition_values_parsed =
            match (&partition_values, c.structure("partitionValues_parsed")?) {
                (None, Some((parsed, column))) => {
                    let fields = parsed
                        .fields()
                        .iter()
                        .zip(parsed.columns())
                        .map(|(field, child)| Ok((field.name().clone(), Enc::new(child)?)))
                        .collect::<std::result::Result<Vec<_>, ArrowError>>()
                        .map_err(|e| ctx.arrow_error(&column, e))?;
                    Some((parsed, fields))
                }
                _ => None,
            };
        let stats_parsed = match c.column("stats_parsed") {
            Some((parsed, column)) if !is_null_type(parsed) => {
                Some(Enc::new(parsed).map_err(|e| ctx.arrow_error(&column, e))?)
            }
            _ => None,
        };
        Ok(Self {
            path: c.str("path")?,
            partition_values,
            partition_values_parsed,
            size: c.int("size")?,
            modification_time: c.int("modificationTime")?,
            data_change: c.bool("dataChange")?,
            stats: c.str("stats")?,
            stats_parsed,
            tags: c.map("tags")?,
            deletion_vector: DvCols::new(&c, ctx)?,
            base_row_id: c.int("baseRowId")?,
            default_row_commit_version: c.int("defaultRowCommitVersion")?,
            clustering_provider: c.str("clusteringProvider")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Add> {
        let path = string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "add.path"))?;
        let partition_values = match (&self.partition_values, &self.partition_values_parsed) {
            (Some(map), _) => map.get(i).unwrap_or_default(),
            (None, Some((parsed, fields))) if parsed.is_valid(i) => fields
                .iter()
                .map(|(name, enc)| (name.clone(), enc.partition_value(i)))
                .collect(),
            _ => PartitionValues::new(),
        };
        let stats = match str_at(&self.stats, i) {
            Some(stats) => Some(stats.to_string()),
            None => self.stats_parsed.as_ref().and_then(|enc| {
                (!enc.is_null(i)).then(|| {
                    let mut out = String::with_capacity(128);
                    enc.write(i, &mut out, Style::Stats);
                    out
                })
            }),
        };
        Ok(Add {
            path,
            partition_values,
            size: int_at(&self.size, i).ok_or_else(|| ctx.missing(i, "add.size"))?,
            modification_time: int_at(&self.modification_time, i).unwrap_or(0),
            data_change: bool_at(&self.data_change, i).unwrap_or(true),
            stats,
            tags: map_at(&self.tags, i),
            deletion_vector: match &self.deletion_vector {
                Some(dv) => dv.get(i, ctx)?,
                None => None,
            },
            base_row_id: int_at(&self.base_row_id, i),
            default_row_commit_version: int_at(&self.default_row_commit_version, i),
            clustering_provider: string_at(&self.clustering_provider, i),
        })
    }
}

pub(super) struct RemoveCols {
    pub(super) array: StructArray,
    pub(super) path: Option<StrCol>,
    pub(super) deletion_timestamp: Option<Int64Array>,
    pub(super) data_change: Option<BooleanArray>,
    pub(super) extended_file_metadata: Option<BooleanArray>,
    pub(super) partition_values: Option<MapCol>,
    pub(super) size: Option<Int64Array>,
    pub(super) stats: Option<StrCol>,
    pub(super) tags: Option<MapCol>,
    pub(super) deletion_vector: Option<DvCols>,
    pub(super) base_row_id: Option<Int64Array>,
    pub(super) default_row_commit_version: Option<Int64Array>,
}

impl RemoveCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "remove", ctx);
        Ok(Self {
            path: c.str("path")?,
            deletion_timestamp: c.int("deletionTimestamp")?,
            data_change: c.bool("dataChange")?,
            extended_file_metadata: c.bool("extendedFileMetadata")?,
            partition_values: c.map("partitionValues")?,
            size: c.int("size")?,
            stats: c.str("stats")?,
            tags: c.map("tags")?,
            deletion_vector: DvCols::new(&c, ctx)?,
            base_row_id: c.int("baseRowId")?,
            default_row_commit_version: c.int("defaultRowCommitVersion")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Remove> {
        Ok(Remove {
            path: string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "remove.path"))?,
            deletion_timestamp: int_at(&self.deletion_timestamp, i),
            data_change: bool_at(&self.data_change, i).unwrap_or(true),
            extended_file_metadata: bool_at(&self.extended_file_metadata, i),
            partition_values: map_at(&self.partition_values, i),
            size: int_at(&self.size, i),
            stats: string_at(&self.stats, i),
            tags: map_at(&self.tags, i),
            deletion_vector: match &self.deletion_vector {
                Some(dv) => dv.get(i, ctx)?,
                None => None,
            },
            base_row_id: int_at(&self.base_row_id, i),
            default_row_commit_version: int_at(&self.default_row_commit_version, i),
        })
    }
}

pub(super) struct TxnCols {
    pub(super) array: StructArray,
    pub(super) app_id: Option<StrCol>,
    pub(super) version: Option<Int64Array>,
    pub(super) last_updated: Option<Int64Array>,
}

impl TxnCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "txn", ctx);
        Ok(Self {
            app_id: c.str("appId")?,
            version: c.int("version")?,
            last_updated: c.int("lastUpdated")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Txn> {
        Ok(Txn {
            app_id: string_at(&self.app_id, i).ok_or_else(|| ctx.missing(i, "txn.appId"))?,
            version: int_at(&self.version, i).ok_or_else(|| ctx.missing(i, "txn.version"))?,
            last_updated: int_at(&self.last_updated, i),
        })
    }
}

pub(super) struct DomainCols {
    pub(super) array: StructArray,
    pub(super) domain: Option<StrCol>,
    pub(super) configuration: Option<StrCol>,
    pub(super) removed: Option<BooleanArray>,
}

impl DomainCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "domainMetadata", ctx);
        Ok(Self {
            domain: c.str("domain")?,
            configuration: c.str("configuration")?,
            removed: c.bool("removed")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<DomainMetadata> {
        Ok(DomainMetadata {
            domain: string_at(&self.domain, i)
                .ok_or_else(|| ctx.missing(i, "domainMetadata.domain"))?,
            configuration: string_at(&self.configuration, i)
                .ok_or_else(|| ctx.missing(i, "domainMetadata.configuration"))?,
            removed: bool_at(&self.removed, i).unwrap_or(false),
        })
    }
}

pub(super) struct CheckpointMetadataCols {
    pub(super) array: StructArray,
    pub(super) version: Option<Int64Array>,
    pub(super) tags: Option<MapCol>,
}

impl CheckpointMetadataCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "checkpointMetadata", ctx);
        Ok(Self {
            version: c.int("version")?,
            tags: c.map("tags")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<CheckpointMetadata> {
        Ok(CheckpointMetadata {
            version: int_at(&self.version, i)
                .ok_or_else(|| ctx.missing(i, "checkpointMetadata.version"))?,
            tags: map_at(&self.tags, i),
        })
    }
}

pub(super) struct SidecarCols {
    pub(super) array: StructArray,
    pub(super) path: Option<StrCol>,
    pub(super) size_in_bytes: Option<Int64Array>,
    pub(super) modification_time: Option<Int64Array>,
    pub(super) tags: Option<MapCol>,
}

impl SidecarCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "sidecar", ctx);
        Ok(Self {
            path: c.str("path")?,
            size_in_bytes: c.int("sizeInBytes")?,
            modification_time: c.int("modificationTime")?,
            tags: c.map("tags")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Sidecar> {
        Ok(Sidecar {
            path: string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "sidecar.path"))?,
            size_in_bytes: int_at(&self.size_in_bytes, i)
                .ok_or_else(|| ctx.missing(i, "sidecar.sizeInBytes"))?,
            modification_time: int_at(&self.modification_time, i).unwrap_or(0),
            tags: map_at(&self.tags, i),
        })
    }
}

pub(super) struct CdcCols {
    pub(super) array: StructArray,
    pub(super) path: Option<StrCol>,
    pub(super) partition_values: Option<MapCol>,
    pub(super) size: Option<Int64Array>,
    pub(super) data_change: Option<BooleanArray>,
    pub(super) tags: Option<MapCol>,
}

impl CdcCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let c = Children::new(&array, "cdc", ctx);
        Ok(Self {
            path: c.str("path")?,
            partition_values: c.map("partitionValues")?,
            size: c.int("size")?,
            data_change: c.bool("dataChange")?,
            tags: c.map("tags")?,
            array,
        })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<Cdc> {
        Ok(Cdc {
            path: string_at(&self.path, i).ok_or_else(|| ctx.missing(i, "cdc.path"))?,
            partition_values: map_at(&self.partition_values, i).unwrap_or_default(),
            size: int_at(&self.size, i).ok_or_else(|| ctx.missing(i, "cdc.size"))?,
            data_change: bool_at(&self.data_change, i).unwrap_or(false),
            tags: map_at(&self.tags, i),
        })
    }
}

pub(super) struct CommitInfoCols {
    pub(super) array: StructArray,
    pub(super) enc: Enc,
}

impl CommitInfoCols {
    pub(super) fn new(array: StructArray, ctx: Ctx<'_>) -> Result<Self> {
        let as_ref: ArrayRef = Arc::new(array.clone());
        let enc = Enc::new(&as_ref).map_err(|e| ctx.arrow_error("commitInfo", e))?;
        Ok(Self { array, enc })
    }

    pub(super) fn get(&self, i: usize, ctx: Ctx<'_>) -> Result<CommitInfo> {
        let mut out = String::new();
        self.enc.write(i, &mut out, Style::CommitInfo);
        serde_json::from_str(&out)
            .map(CommitInfo)
            .map_err(|e| ctx.error(format!("row {i}: cannot convert 'commitInfo' to JSON: {e}")))
    }
}
