//! The summary table (kapp's "Changes" table, trimmed to what kpipe knows) and totals line.

use super::{namespace_cell, sorted_rows};
use crate::diff::{Change, DiffResult, Totals};
use std::io::{self, Write};

/// Writes the table for every session, then the totals.
pub fn write(result: &DiffResult, out: &mut dyn Write) -> io::Result<()> {
    let many = result.sessions.len() > 1;
    for (i, s) in result.sessions.iter().enumerate() {
        if many {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "Session: {}", s.session)?;
            writeln!(out)?;
        }
        write_session(&s.changes, out)?;
    }
    if many {
        writeln!(out)?;
        writeln!(out, "Total {}", result.totals().line())?;
    }
    Ok(())
}

/// `Changes`, the aligned rows (namespace repeated as `^`), and the session's `Op:` line.
pub fn write_session(changes: &[Change], out: &mut dyn Write) -> io::Result<()> {
    let rows = sorted_rows(changes);
    let mut cells: Vec<[String; 5]> = vec![[
        "Namespace".into(),
        "Name".into(),
        "Kind".into(),
        "Op".into(),
        "Change group".into(),
    ]];
    let mut prev_ns: Option<&str> = None;
    for c in &rows {
        let ns = namespace_cell(c);
        let ns_cell = if prev_ns == Some(ns) {
            "^".to_string()
        } else {
            ns.to_string()
        };
        prev_ns = Some(ns);
        let groups = if c.change_groups.is_empty() {
            "-".to_string()
        } else {
            c.change_groups.join(",")
        };
        cells.push([
            ns_cell,
            c.id.name.clone(),
            c.id.kind.clone(),
            c.op.as_str().into(),
            groups,
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    writeln!(out, "Changes")?;
    writeln!(out)?;
    for row in &cells {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(w - cell.chars().count()));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(out, "{}", Totals::of(changes).line())
}
