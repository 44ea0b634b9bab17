//! The text report: kapp-like `@@ op kind/name @@` blocks with numbered lines, then the table.

use super::{description, table, Options, Styled, Texts};
use crate::diff::{DiffResult, Op};
use std::io::{self, Write};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

pub fn write(
    result: &DiffResult,
    prepared: &[Vec<Option<Texts>>],
    opts: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let paint = |code: &str, s: &str| {
        if opts.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let many = result.sessions.len() > 1;
    for (si, s) in result.sessions.iter().enumerate() {
        if many {
            if si > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}", paint(BOLD, &format!("Session: {}", s.session)))?;
            writeln!(out)?;
        }
        for (c, t) in s.changes.iter().zip(&prepared[si]) {
            let Some(t) = t else { continue };
            writeln!(out, "{}", paint(BOLD, &format!("@@ {} @@", description(c))))?;
            if c.op == Op::Conflict {
                if let Some(r) = &c.reason {
                    writeln!(out, "{}", paint(YELLOW, &format!("  # conflict: {r}")))?;
                }
            }
            for l in &t.lines {
                match l {
                    Styled::Common(x) => writeln!(out, "{x}")?,
                    Styled::Removed(x) => writeln!(out, "{}", paint(RED, x))?,
                    Styled::Added(x) => writeln!(out, "{}", paint(GREEN, x))?,
                    Styled::Gap => writeln!(out, "  ...")?,
                }
            }
        }
        if prepared[si].iter().any(Option::is_some) {
            writeln!(out)?;
        }
        table::write_session(&s.changes, out)?;
        for w in &s.warnings {
            writeln!(out, "{}", paint(YELLOW, &format!("Warning: {w}")))?;
        }
    }
    if many {
        writeln!(out)?;
        writeln!(out, "Total {}", result.totals().line())?;
    }
    Ok(())
}
