//! Test hooks: named points in the write path where a process can be made to pause, so that
//! crash tests can kill it (SIGKILL) at an exact, reproducible moment.
//!
//! **For tests only**, and compiled only with the cargo feature `test-support` (which the
//! workspace's tests enable): without it [`pause_point`] is an empty function and no
//! environment variable is read. With it, nothing happens unless the environment variable
//! `TIDEMARK_TEST_PAUSE_AT` names the point (a comma-separated list of names). When it does,
//! the process, on reaching the point, creates the file named by `TIDEMARK_TEST_PAUSE_MARKER`
//! (if set), then sleeps for `TIDEMARK_TEST_PAUSE_SECS` seconds (default 300) before going on.
//! A test waits for the marker file, then kills the process. The hooks never abort or panic.
//!
//! The points:
//!
//! | name | where |
//! |---|---|
//! | `data-file-written` | after each data file of a write is complete, before the next one |
//! | `before-commit` | after all data files are written, before the commit file is put |
//! | `checkpoint-writing` | while a checkpoint is being written: its rows are encoded, the file is not yet complete |
//! | `before-last-checkpoint` | after the checkpoint file is complete, before `_last_checkpoint` is written |

#[cfg(feature = "test-support")]
use std::time::Duration;

/// The environment variable naming the points to pause at.
#[cfg(feature = "test-support")]
pub const PAUSE_AT_VAR: &str = "TIDEMARK_TEST_PAUSE_AT";
/// The environment variable naming the marker file created on pausing.
#[cfg(feature = "test-support")]
pub const PAUSE_MARKER_VAR: &str = "TIDEMARK_TEST_PAUSE_MARKER";
/// The environment variable giving the pause in seconds (default 300).
#[cfg(feature = "test-support")]
pub const PAUSE_SECS_VAR: &str = "TIDEMARK_TEST_PAUSE_SECS";

/// Pauses at the point named `name` when `TIDEMARK_TEST_PAUSE_AT` asks for it (a test hook;
/// a no-op otherwise).
#[cfg(feature = "test-support")]
pub async fn pause_point(name: &str) {
    let Ok(points) = std::env::var(PAUSE_AT_VAR) else {
        return;
    };
    if !points.split(',').any(|p| p.trim() == name) {
        return;
    }
    if let Ok(marker) = std::env::var(PAUSE_MARKER_VAR) {
        // Best effort: a test that cannot see the marker times out and says so.
        let _ = tokio::fs::write(&marker, name.as_bytes()).await;
    }
    let secs = std::env::var(PAUSE_SECS_VAR)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(300);
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// Without the `test-support` feature a pause point does nothing.
#[cfg(not(feature = "test-support"))]
#[inline(always)]
pub(crate) async fn pause_point(_name: &str) {}
