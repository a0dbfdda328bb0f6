//! Reading Parquet files from an object store: an [`AsyncFileReader`] over `object_store`.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

/// How many bytes of a file's end are fetched at once for its footer: enough for the footer of
/// most files in one request.
const FOOTER_PREFETCH: usize = 64 * 1024;

/// A Parquet file in an object store, read by ranged requests.
///
/// When the size is known (data files carry it in the log), the footer is fetched with a single
/// ranged read; otherwise with a suffix request.
#[derive(Debug, Clone)]
pub struct StoreFileReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: Option<u64>,
}

impl StoreFileReader {
    /// A reader of `path` in `store`; `size` is the file's length in bytes, when known.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: Option<u64>) -> Self {
        Self { store, path, size }
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let reader = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .with_arrow_reader_options(options);
            let size = self.size;
            let metadata = match size {
                Some(size) => reader.load_and_finish(self, size).await?,
                None => reader.load_via_suffix_and_finish(self).await?,
            };
            check_metadata(&metadata, size)?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Checks a file's footer for values the Parquet reader would panic on rather than refuse
/// (negative offsets or sizes of column chunks, chunks past the end of the file), so that a
/// damaged file is an error, never a crash.
pub fn check_metadata(metadata: &ParquetMetaData, file_size: Option<u64>) -> Result<()> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
        if group.num_rows() < 0 {
            return Err(ParquetError::General(format!(
                "corrupt footer: row group {g} has a negative row count"
            )));
        }
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let length = column.compressed_size();
            let in_file = u64::try_from(start)
                .ok()
                .zip(u64::try_from(length).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .is_some_and(|end| file_size.is_none_or(|size| end <= size));
            if column.data_page_offset() < 0 || !in_file {
                return Err(ParquetError::General(format!(
                    "corrupt footer: column chunk {c} of row group {g} claims bytes {start}..+{length}, outside the file"
                )));
            }
        }
    }
    Ok(())
}

impl MetadataSuffixFetch for &mut StoreFileReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, Result<Bytes>> {
        async move {
            let options = GetOptions {
                range: Some(GetRange::Suffix(suffix as u64)),
                ..Default::default()
            };
            let result = self
                .store
                .get_opts(&self.path, options)
                .await
                .map_err(external)?;
            result.bytes().await.map_err(external)
        }
        .boxed()
    }
}
