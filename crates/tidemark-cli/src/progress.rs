//! A progress line for long writes, shown on standard error when it is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidemark_core::{ProgressCallback, WriteProgress};

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(200);

/// Draws `rows, bytes, rate` on one line of standard error while a write runs.
pub(crate) struct Progress {
    state: Option<Arc<Mutex<State>>>,
}

struct State {
    started: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// Starts a progress line, if standard error is a terminal.
    pub(crate) fn start() -> Self {
        let state = std::io::stderr().is_terminal().then(|| {
            Arc::new(Mutex::new(State {
                started: Instant::now(),
                last_draw: None,
                drawn: false,
            }))
        });
        Self { state }
    }

    /// The callback to give the writer, if a line is shown.
    pub(crate) fn callback(&self) -> Option<ProgressCallback> {
        let state = self.state.clone()?;
        Some(Arc::new(move |progress: WriteProgress| {
            if let Ok(mut state) = state.lock() {
                let now = Instant::now();
                if state.last_draw.is_some_and(|t| now - t < REDRAW) {
                    return;
                }
                state.last_draw = Some(now);
                state.drawn = true;
                let seconds = (now - state.started).as_secs_f64().max(1e-3);
                let mib = progress.bytes as f64 / (1024.0 * 1024.0);
                eprint!(
                    "\r\x1b[2Kwriting: {} rows, {:.1} MiB, {:.0} rows/s, {:.1} MiB/s",
                    progress.rows,
                    mib,
                    progress.rows as f64 / seconds,
                    mib / seconds
                );
                let _ = std::io::stderr().flush();
            }
        }))
    }

    /// Clears the line.
    pub(crate) fn finish(&self) {
        if let Some(state) = &self.state
            && let Ok(state) = state.lock()
            && state.drawn
        {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}
