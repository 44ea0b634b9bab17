//! Markdown for pull-request comments: a summary table, then one `<details>` per resource.

use super::{description, namespace_cell, sorted_rows, Styled, Texts};
use crate::diff::{DiffResult, Totals};
use std::io::{self, Write};

/// Context lines in Markdown blocks (kapp's default).
pub(super) const CONTEXT: i64 = 2;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn write(
    result: &DiffResult,
    prepared: &[Vec<Option<Texts>>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let totals = result.totals();
    writeln!(out, "### kpipe diff")?;
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        if result.has_changes() {
            "Changes pending."
        } else {
            "No changes."
        }
    )?;
    writeln!(out)?;
    writeln!(out, "`{}`", totals.line())?;
    for (si, s) in result.sessions.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "#### Session `{}`", s.session)?;
        writeln!(out)?;
        let rows = sorted_rows(&s.changes);
        if rows.is_empty() {
            writeln!(out, "No changes. `{}`", Totals::of(&s.changes).line())?;
            continue;
        }
        writeln!(out, "| Namespace | Name | Kind | Op | Change group |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for c in &rows {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(namespace_cell(c)),
                cell(&c.id.name),
                cell(&c.id.kind),
                c.op.as_str(),
                cell(&c.change_groups.join(", "))
            )?;
        }
        writeln!(out)?;
        writeln!(out, "`{}`", Totals::of(&s.changes).line())?;
        for (c, t) in s.changes.iter().zip(&prepared[si]) {
            let Some(t) = t else { continue };
            writeln!(out)?;
            writeln!(
                out,
                "<details><summary><code>{}</code></summary>",
                html(&description(c))
            )?;
            writeln!(out)?;
            if let Some(r) = &c.reason {
                writeln!(out, "> conflict: {}", cell(r))?;
                writeln!(out)?;
            }
            // A fence longer than any backtick run in the body keeps it intact.
            let fence = "`".repeat(3.max(longest_backticks(t) + 1));
            writeln!(out, "{fence}diff")?;
            for l in &t.lines {
                match l {
                    Styled::Common(x) | Styled::Removed(x) | Styled::Added(x) => {
                        writeln!(out, "{x}")?
                    }
                    Styled::Gap => writeln!(out, " ...")?,
                }
            }
            writeln!(out, "{fence}")?;
            writeln!(out)?;
            writeln!(out, "</details>")?;
        }
        for w in &s.warnings {
            writeln!(out)?;
            writeln!(out, "> warning: {}", cell(w))?;
        }
    }
    Ok(())
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn longest_backticks(t: &Texts) -> usize {
    let mut best = 0;
    for text in [&t.left, &t.right] {
        let mut run = 0;
        for ch in text.chars() {
            run = if ch == '`' { run + 1 } else { 0 };
            best = best.max(run);
        }
    }
    best
}
