//! Checkpoint rows: reading a (damaged) Parquet checkpoint never panics.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use tidemark_core::TableLocation;
use tidemark_core::testing::read_checkpoint_parquet;

fuzz_target!(|bytes: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let location = TableLocation::from_store(
            Arc::new(InMemory::new()),
            Path::from("t"),
            url::Url::parse("memory:///t").expect("url"),
        );
        let path = Path::from("t/_delta_log/00000000000000000001.checkpoint.parquet");
        location
            .store()
            .put(&path, bytes.to_vec().into())
            .await
            .expect("put");
        let _ = read_checkpoint_parquet(&location, &path, None).await;
    });
});
