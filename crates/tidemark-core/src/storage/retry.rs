//! Retries of transient object-store errors, with exponential backoff and jitter.
//!
//! Every [`TableLocation`](crate::TableLocation) wraps its store in a [`RetryingStore`], so all
//! reads (log listings, commits, checkpoints, data files, deletion vectors) and idempotent
//! writes (data files, checkpoints, `_last_checkpoint`, which overwrite) are retried when the
//! store reports a transient error. Writes that must not happen twice are never retried here:
//! a put-if-absent (`PutMode::Create`, the commit of a new version) and conditional updates are
//! passed through once, and their caller resolves an ambiguous outcome by reading the object
//! back (see [`crate::transaction::commit`]).
//!
//! Transient errors are `object_store::Error::Generic` (I/O errors, timeouts, 5xx responses
//! once the store's own client gave up) and `JoinError`; "not found", "already exists",
//! precondition failures, permission and configuration errors are final.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

/// How transient errors are retried: up to `max_attempts` tries in all, waiting between tries
/// an exponentially growing delay (`base_delay`, doubled each time, capped at `max_delay`), of
/// which a random half is jitter so that many writers do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 means no retry).
    pub max_attempts: u32,
    /// The delay before the first retry.
    pub base_delay: Duration,
    /// The longest delay between two tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries, waiting about 50 ms, 100 ms, 200 ms and 400 ms (at most 2 s) between them.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (1 for the first retry): half of the exponential
    /// delay, plus a random part of up to the other half.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let random = if jitter_ms == 0 {
            0
        } else {
            // uuid v4 is backed by the OS random generator; no extra dependency needed.
            (uuid::Uuid::new_v4().as_u128() as u64) % (jitter_ms + 1)
        };
        half + Duration::from_millis(random)
    }
}

/// Whether an object-store error may go away if the call is simply repeated.
pub fn is_transient(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
    )
}

/// Runs `operation` until it succeeds, fails with a final error, or `policy.max_attempts`
/// tries have failed with transient errors (the last error is returned).
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut operation: F) -> object_store::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = object_store::Result<T>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(e) if is_transient(&e) && attempt < policy.max_attempts => {
                tokio::time::sleep(policy.delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// An object store that retries transient errors of the calls that are safe to repeat.
///
/// Retried: gets (whole objects, ranges), heads, listings (when they fail before yielding
/// anything), puts that overwrite, the start of multipart uploads, and copies that overwrite.
/// Passed through once: puts with `PutMode::Create` or `PutMode::Update` and copies that must
/// not overwrite (their callers resolve an ambiguous outcome), renames and deletes.
#[derive(Debug, Clone)]
pub struct RetryingStore {
    inner: Arc<dyn ObjectStore>,
    policy: RetryPolicy,
}

impl RetryingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    fn retrying_list(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        struct State {
            inner: Arc<dyn ObjectStore>,
            prefix: Option<Path>,
            offset: Option<Path>,
            policy: RetryPolicy,
            stream: Option<BoxStream<'static, object_store::Result<ObjectMeta>>>,
            yielded: bool,
            attempt: u32,
            done: bool,
        }
        fn open(state: &State) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            match &state.offset {
                Some(offset) => state.inner.list_with_offset(state.prefix.as_ref(), offset),
                None => state.inner.list(state.prefix.as_ref()),
            }
        }
        let state = State {
            inner: self.inner.clone(),
            prefix: prefix.cloned(),
            offset: offset.cloned(),
            policy: self.policy,
            stream: None,
            yielded: false,
            attempt: 1,
            done: false,
        };
        futures::stream::unfold(state, |mut state| async move {
            if state.done {
                return None;
            }
            loop {
                let stream = match &mut state.stream {
                    Some(stream) => stream,
                    None => state.stream.insert(open(&state)),
                };
                match stream.next().await {
                    None => return None,
                    Some(Ok(meta)) => {
                        state.yielded = true;
                        return Some((Ok(meta), state));
                    }
                    Some(Err(e))
                        if !state.yielded
                            && is_transient(&e)
                            && state.attempt < state.policy.max_attempts =>
                    {
                        // Nothing was yielded yet: listing again from the start is safe.
                        tokio::time::sleep(state.policy.delay(state.attempt)).await;
                        state.attempt += 1;
                        state.stream = None;
                    }
                    Some(Err(e)) => {
                        state.done = true;
                        return Some((Err(e), state));
                    }
                }
            }
        })
        .boxed()
    }
}

impl fmt::Display for RetryingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Retrying({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for RetryingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if !matches!(opts.mode, PutMode::Overwrite) {
            return self.inner.put_opts(location, payload, opts).await;
        }
        retry(&self.policy, || {
            self.inner.put_opts(location, payload.clone(), opts.clone())
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        retry(&self.policy, || {
            self.inner.put_multipart_opts(location, opts.clone())
        })
        .await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        retry(&self.policy, || {
            self.inner.get_opts(location, options.clone())
        })
        .await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        retry(&self.policy, || self.inner.get_ranges(location, ranges)).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        // Deletes are passed through: vacuum reports the objects it could not delete.
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.retrying_list(prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.retrying_list(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        retry(&self.policy, || self.inner.list_with_delimiter(prefix)).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        if options.mode != CopyMode::Overwrite {
            return self.inner.copy_opts(from, to, options).await;
        }
        retry(&self.policy, || {
            self.inner.copy_opts(from, to, options.clone())
        })
        .await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        // A rename that failed half-way may have moved the source already: never repeated.
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_bounds() {
        let policy = RetryPolicy::default();
        for retry in 1..10 {
            let full = policy
                .base_delay
                .saturating_mul(1 << (retry - 1))
                .min(policy.max_delay);
            let delay = policy.delay(retry);
            assert!(delay >= full / 2 && delay <= full, "{retry}: {delay:?}");
        }
    }

    #[test]
    fn only_generic_errors_are_transient() {
        let generic = object_store::Error::Generic {
            store: "x",
            source: "timeout".into(),
        };
        assert!(is_transient(&generic));
        let missing = object_store::Error::NotFound {
            path: "p".into(),
            source: "gone".into(),
        };
        assert!(!is_transient(&missing));
    }
}
