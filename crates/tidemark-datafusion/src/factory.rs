//! `CREATE EXTERNAL TABLE t STORED AS TIDEMARK LOCATION '…'`: registers the Tidemark table at
//! the location; with a column list and no table there yet, creates it (version 0), with
//! `PARTITIONED BY` columns and `OPTIONS` as table properties.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider, TableProviderFactory};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::CreateExternalTable;
use tidemark_core::TableLocation;
use tidemark_core::schema::StructType;
use tidemark_core::{Table, TableOptions};

use crate::error::external;
use crate::provider::TidemarkTable;

/// Creates providers for `STORED AS TIDEMARK`.
#[derive(Debug, Default)]
pub struct TidemarkTableFactory;

#[async_trait]
impl TableProviderFactory for TidemarkTableFactory {
    async fn create(
        &self,
        state: &dyn Session,
        cmd: &CreateExternalTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let uri = match cmd.locations.as_slice() {
            [uri] => uri.clone(),
            _ => {
                return Err(DataFusionError::Plan(
                    "STORED AS TIDEMARK needs exactly one LOCATION: the table's path or URI".into(),
                ));
            }
        };
        let view_types = state
            .config_options()
            .execution
            .parquet
            .schema_force_view_types;
        match TidemarkTable::open(&uri)
            .await
            .and_then(|t| t.with_view_types(view_types))
        {
            Ok(table) => {
                if !cmd.schema.fields().is_empty() {
                    let existing = table.schema();
                    let given: Vec<&str> = cmd
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    let have: Vec<&str> = existing
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    if given != have {
                        return Err(DataFusionError::Plan(format!(
                            "a Tidemark table with columns ({}) exists at '{uri}'; leave out the column list to register it",
                            have.join(", ")
                        )));
                    }
                }
                Ok(Arc::new(table))
            }
            Err(crate::Error::Tidemark(tidemark_core::Error::TableNotFound { .. })) => {
                if cmd.schema.fields().is_empty() {
                    return Err(DataFusionError::Plan(format!(
                        "no Tidemark table exists at '{uri}'; give a column list to create one"
                    )));
                }
                let schema = StructType::from_arrow(cmd.schema.as_arrow()).map_err(external)?;
                let mut options = TableOptions {
                    partition_columns: cmd.table_partition_cols.clone(),
                    ..Default::default()
                };
                for (key, value) in &cmd.options {
                    let key = key.strip_prefix("format.").unwrap_or(key);
                    options.properties.insert(key.to_string(), value.clone());
                }
                let location = TableLocation::parse(&uri).map_err(external)?;
                Table::create_at(location, &schema, options, Default::default())
                    .await
                    .map_err(external)?;
                Ok(Arc::new(
                    TidemarkTable::open(&uri)
                        .await?
                        .with_view_types(view_types)?,
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}
