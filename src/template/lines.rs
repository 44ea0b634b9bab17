//! Maps a line of rendered output back to the template line that produced it.
//!
//! minijinja reports no output positions, so we anchor on text: the nearest rendered line at or
//! above the one asked for that appears verbatim in the template, plus the distance from it.
//! Literal lines (keys, `apiVersion:`) are the usual anchors; among repeated template lines the
//! one nearest in position wins. Cheap, deterministic, and exact for substitution-only templates.

/// The 1-based template line for 1-based `rendered_line`.
///
/// Runs for every rendered document, so it allocates nothing and reads the rendered text only
/// up to the target line (counting newlines, not walking lines); the template is
/// searched once per anchor tried.
pub fn template_line(template: &str, rendered: &str, rendered_line: usize) -> usize {
    let t_len = count_lines(template);
    if t_len == 0 {
        return 1;
    }
    let b = rendered.as_bytes();
    // The target line (clamped to the lines there are) and where it starts. A line follows a
    // newline only when some text does: `lines()` yields nothing after a final newline.
    let want = rendered_line.max(1);
    let (mut row, mut start) = (1, 0);
    if want > 1 {
        for nl in memchr::memchr_iter(b'\n', b) {
            if nl + 1 >= b.len() {
                break;
            }
            row += 1;
            start = nl + 1;
            if row == want {
                break;
            }
        }
    }
    let target = row;
    let mut end =
        memchr::memchr(b'\n', b.get(start..).unwrap_or_default()).map_or(b.len(), |k| start + k);
    let mut back = 0;
    while row >= 1 && back < 400 {
        let text = rendered.get(start..end).unwrap_or("").trim_end();
        if is_anchor(text) {
            if let Some(best) = nearest(template, text, row) {
                return (best + back).min(t_len);
            }
        }
        if start == 0 {
            break;
        }
        end = start - 1;
        start = line_start(rendered, end);
        row -= 1;
        back += 1;
    }
    target.min(t_len)
}

/// As many lines as `str::lines` yields, counted with a vectorised newline search.
fn count_lines(text: &str) -> usize {
    memchr::memchr_iter(b'\n', text.as_bytes()).count()
        + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// Start of the line that ends at byte `end` (exclusive).
fn line_start(text: &str, end: usize) -> usize {
    text.as_bytes()
        .get(..end)
        .and_then(|b| memchr::memrchr(b'\n', b))
        .map_or(0, |k| k + 1)
}

/// The 1-based line of `template` nearest to `row` (the first of equally near ones) that is
/// `text` once its end is trimmed. `text` (a trimmed line, no newline) is searched for with
/// `memmem`, not compared with every line (that walk cost more): only where it starts a line
/// and the rest of that line is blank does it count.
fn nearest(template: &str, text: &str, row: usize) -> Option<usize> {
    let t = template.as_bytes();
    let (mut line, mut counted) = (1, 0);
    let mut best: Option<(usize, usize)> = None;
    for at in memchr::memmem::find_iter(t, text.as_bytes()) {
        if at > 0 && t.get(at - 1) != Some(&b'\n') {
            continue;
        }
        let after = at + text.len();
        let rest = t.get(after..).unwrap_or_default();
        let end = memchr::memchr(b'\n', rest).map_or(t.len(), |k| after + k);
        // `at` follows a newline and `after` ends a whole string: both are char boundaries.
        if !template
            .get(after..end)
            .is_some_and(|r| r.trim_end().is_empty())
        {
            continue;
        }
        line += memchr::memchr_iter(b'\n', t.get(counted..at).unwrap_or_default()).count();
        counted = at;
        let d = line.abs_diff(row);
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((line, d));
        }
    }
    best.map(|(l, _)| l)
}

/// Lines too common to anchor on.
fn is_anchor(text: &str) -> bool {
    let s = text.trim();
    !s.is_empty() && s != "---" && s != "-" && s != "..."
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first, allocating version: the walk above must give the same line.
    fn reference(template: &str, rendered: &str, rendered_line: usize) -> usize {
        let t: Vec<&str> = template.lines().map(str::trim_end).collect();
        let r: Vec<&str> = rendered.lines().map(str::trim_end).collect();
        if t.is_empty() {
            return 1;
        }
        let target = rendered_line.clamp(1, r.len().max(1));
        let mut back = 0;
        let mut row = target;
        while row >= 1 && back < 400 {
            let text = r.get(row - 1).copied().unwrap_or("");
            if is_anchor(text) {
                let best = t
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| **l == text)
                    .map(|(i, _)| i + 1)
                    .min_by_key(|&c| (c as isize - row as isize).unsigned_abs());
                if let Some(best) = best {
                    return (best + back).min(t.len());
                }
            }
            row -= 1;
            back += 1;
        }
        target.min(t.len())
    }

    #[test]
    fn agrees_with_the_reference() {
        let pieces = [
            "a: 1",
            "b: 2",
            "",
            "---",
            "  c: x",
            "-",
            "d: {{ y }}",
            "e: 3  ",
            "\r",
            // Found inside a line, followed by more text, or by Unicode blanks.
            "xa: 1",
            "a: 1x",
            "a: 1\u{a0}",
            "b: 2\r",
        ];
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..3000 {
            let mut t = String::new();
            let mut r = String::new();
            for _ in 0..next(8) {
                t.push_str(pieces[next(pieces.len())]);
                t.push('\n');
            }
            for _ in 0..next(10) {
                r.push_str(pieces[next(pieces.len())]);
                if next(5) > 0 {
                    r.push('\n');
                }
            }
            for line in 0..12 {
                assert_eq!(
                    template_line(&t, &r, line),
                    reference(&t, &r, line),
                    "{t:?} {r:?} {line}"
                );
            }
        }
    }

    #[test]
    fn substitution_only_is_identity() {
        let t = "a: {{ x }}\nb: 2\nc: {{ y }}\n";
        let r = "a: 1\nb: 2\nc: 3\n";
        assert_eq!(template_line(t, r, 1), 1);
        assert_eq!(template_line(t, r, 3), 3);
    }

    #[test]
    fn removed_block_lines_shift() {
        let t = "{% if x %}\nkind: A\n{% endif %}\nmetadata:\n  name: {{ n }}\n";
        let r = "kind: A\nmetadata:\n  name: q\n";
        assert_eq!(template_line(t, r, 1), 2);
        assert_eq!(template_line(t, r, 3), 5);
    }

    #[test]
    fn loops_map_to_the_body() {
        let t = "{% for i in l %}\n---\nkind: X\nname: {{ i }}\n{% endfor %}\n";
        let r = "---\nkind: X\nname: a\n---\nkind: X\nname: b\n";
        assert_eq!(template_line(t, r, 6), 4);
        assert_eq!(template_line(t, r, 5), 3);
    }
}
