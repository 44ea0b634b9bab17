//! Maps a line of rendered output back to the template line that produced it.
//!
//! minijinja reports no output positions, so we anchor on text: the nearest rendered line at or
//! above the one asked for that appears verbatim in the template, plus the distance from it.
//! Literal lines (keys, `apiVersion:`) are the usual anchors; among repeated template lines the
//! one nearest in position wins. Cheap, deterministic, and exact for substitution-only templates.

/// The 1-based template line for 1-based `rendered_line`.
pub fn template_line(template: &str, rendered: &str, rendered_line: usize) -> usize {
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
            let candidates: Vec<usize> = t
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == text)
                .map(|(i, _)| i + 1)
                .collect();
            if let Some(best) = candidates
                .iter()
                .min_by_key(|&&c| (c as isize - row as isize).unsigned_abs())
            {
                return (best + back).min(t.len());
            }
        }
        row -= 1;
        back += 1;
    }
    target.min(t.len())
}

/// Lines too common to anchor on.
fn is_anchor(text: &str) -> bool {
    let s = text.trim();
    !s.is_empty() && s != "---" && s != "-" && s != "..."
}

#[cfg(test)]
mod tests {
    use super::*;

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
