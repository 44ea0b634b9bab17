//! Asking before applying, and the one-line progress display (both on a terminal only).

use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

/// Asks `Continue? [y/N]` on a terminal; `yes` (`-y`) skips the question. Without a terminal
/// and without `-y` this refuses (a usage error, exit 2): nobody could have read the diff.
pub fn confirm(yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to deploy without confirmation: stdin is not a terminal; \
             review the diff above and run again with -y to apply it"
        );
    }
    let mut err = std::io::stderr();
    write!(err, "Continue? [y/N] ")?;
    err.flush()?;
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// A spinner/progress line on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    on: bool,
    start: Instant,
    state: Mutex<usize>,
}

const FRAMES: &[char] = &['|', '/', '-', '\\'];

impl Progress {
    pub fn new() -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
            start: Instant::now(),
            state: Mutex::new(0),
        }
    }

    /// Redraws the line with `msg` (and the time since start).
    pub fn tick(&self, msg: &str) {
        if !self.on {
            return;
        }
        let mut n = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        let frame = FRAMES[*n % FRAMES.len()];
        let secs = self.start.elapsed().as_secs();
        let mut err = std::io::stderr();
        let _ = write!(err, "\r\x1b[2K{frame} {msg} ({secs}s)");
        let _ = err.flush();
    }

    /// Clears the line.
    pub fn clear(&self) {
        if self.on {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}
