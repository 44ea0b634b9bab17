//! Rewrites a template before minijinja compiles it, keeping every line where it was:
//! - Argo's own `{{inputs.…}}`, `{{=expr}}`, … are wrapped in `{% raw %}` so they pass through
//!   byte for byte (Argo has no escape syntax; authors should not need one here);
//! - `${NAME}` becomes a call that resolves the session variable or fails naming the line;
//! - `$${NAME}` becomes a literal `${NAME}`.

/// Roots of Argo Workflows template variables (integration-contracts.md §7.3).
pub const ARGO_ROOTS: &[&str] = &[
    "inputs",
    "outputs",
    "workflow",
    "steps",
    "tasks",
    "item",
    "pod",
    "node",
    "retries",
    "lastRetry",
    "status",
    "duration",
    "exitCode",
    "resourcesDuration",
    "request",
    "response",
    "cronworkflow",
];

/// True when the inside of `{{ … }}` is an Argo expression rather than Jinja: `=expr`, or a
/// dotted name under an Argo root with no Jinja filter or call. Go template actions
/// (`{{ .x }}`), which Jinja cannot parse anyway, pass through too. Names bound by an enclosing
/// Jinja `for` loop (`{% for item in … %}`) stay Jinja.
pub fn is_argo_expression(inner: &str, loop_vars: &[String]) -> bool {
    let t = inner.trim_start();
    if t.starts_with('=') {
        return true;
    }
    // Go templates (`{{ .token }}`, `{{- .Values.x }}`) embedded in manifests are never Jinja.
    if t.trim_start_matches('-').trim_start().starts_with('.') {
        return true;
    }
    let ident_len = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let ident = &t[..ident_len];
    if ident.is_empty() || !ARGO_ROOTS.contains(&ident) || loop_vars.iter().any(|v| v == ident) {
        return false;
    }
    let rest = &t[ident_len..];
    let next_ok = rest.is_empty()
        || rest.starts_with('.')
        || rest.starts_with('[')
        || rest.starts_with(char::is_whitespace);
    next_ok && !rest.contains('|') && !rest.contains('(') && !rest.contains('~')
}

/// Rewrites a template source; see the module documentation.
pub fn preprocess(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    let mut loops: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'{' && i + 1 < b.len() {
            match b[i + 1] {
                b'#' | b'%'
                    if find(src, i + 2, if b[i + 1] == b'#' { "#}" } else { "%}" }).is_none() =>
                {
                    // No closing delimiter: not Jinja but text such as an Argo expr-lang
                    // predicate (`filter(data, {# endsWith "x"})`). Keep it literal.
                    out.push_str(&src[copied..i]);
                    out.push_str("{%+ raw +%}");
                    out.push_str(&src[i..i + 2]);
                    out.push_str("{%+ endraw +%}");
                    i += 2;
                    copied = i;
                    continue;
                }
                b'#' => {
                    let end = find(src, i + 2, "#}").map(|e| e + 2).unwrap_or(b.len());
                    i = end;
                    continue;
                }
                b'%' => {
                    let end = find(src, i + 2, "%}").map(|e| e + 2).unwrap_or(b.len());
                    let inner = src[i + 2..end.saturating_sub(2).max(i + 2)]
                        .trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
                    let mut words = inner.split_whitespace();
                    match words.next() {
                        Some("raw") => {
                            // Copy the raw block untouched, through its `endraw` tag.
                            let close = find(src, end, "endraw")
                                .and_then(|e| find(src, e, "%}").map(|x| x + 2))
                                .unwrap_or(b.len());
                            i = close;
                            continue;
                        }
                        Some("for") => {
                            let targets: Vec<String> = inner[3..]
                                .split(" in ")
                                .next()
                                .unwrap_or("")
                                .split(',')
                                .map(|s| {
                                    s.trim().trim_matches(|c| c == '(' || c == ')').to_string()
                                })
                                .filter(|s| !s.is_empty())
                                .collect();
                            loops.push(targets);
                        }
                        Some("endfor") => {
                            loops.pop();
                        }
                        _ => {}
                    }
                    i = end;
                    continue;
                }
                b'{' => {
                    let Some(close) = find(src, i + 2, "}}") else {
                        break;
                    };
                    let inner = &src[i + 2..close];
                    let bound: Vec<String> = loops.iter().flatten().cloned().collect();
                    if is_argo_expression(inner, &bound) {
                        out.push_str(&src[copied..i]);
                        out.push_str("{%+ raw +%}");
                        out.push_str(&src[i..close + 2]);
                        out.push_str("{%+ endraw +%}");
                        copied = close + 2;
                    }
                    i = close + 2;
                    continue;
                }
                _ => {}
            }
        }
        if c == b'$' {
            if src[i..].starts_with("$${") {
                // `$${NAME}` → literal `${NAME}`.
                out.push_str(&src[copied..i]);
                copied = i + 1;
                i += 3;
                continue;
            }
            if src[i..].starts_with("${") {
                let name_end = src[i + 2..]
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map(|(k, _)| i + 2 + k)
                    .unwrap_or(b.len());
                let name = &src[i + 2..name_end];
                let valid = !name.is_empty()
                    && !name.as_bytes()[0].is_ascii_digit()
                    && b.get(name_end) == Some(&b'}');
                if valid {
                    out.push_str(&src[copied..i]);
                    out.push_str("{{ __placeholder(\"");
                    out.push_str(name);
                    out.push_str("\") }}");
                    i = name_end + 1;
                    copied = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&src[copied.min(src.len())..]);
    out
}

fn find(s: &str, from: usize, pat: &str) -> Option<usize> {
    s.get(from..)?.find(pat).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_expressions_are_wrapped() {
        let src = "a: {{inputs.parameters.x}}\nb: \"{{ workflow.name }}\"\nc: {{=sprig.trim(x)}}\nd: {{ values.x }}\n";
        let out = preprocess(src);
        assert_eq!(
            out,
            "a: {%+ raw +%}{{inputs.parameters.x}}{%+ endraw +%}\nb: \"{%+ raw +%}{{ workflow.name }}{%+ endraw +%}\"\nc: {%+ raw +%}{{=sprig.trim(x)}}{%+ endraw +%}\nd: {{ values.x }}\n"
        );
        assert_eq!(out.lines().count(), src.lines().count());
    }

    #[test]
    fn loop_variables_shadow_argo_roots() {
        let src = "{% for item in values.l %}- {{ item }}\n{% endfor %}\n- {{item}}\n";
        let out = preprocess(src);
        assert!(out.contains("- {{ item }}\n"), "{out}");
        assert!(out.contains("{%+ raw +%}{{item}}{%+ endraw +%}"), "{out}");
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            preprocess("n: x-${SESSION_NAMESPACE}\nlit: $${HOME} $1 $ {x} ${1x} ${unterminated\n"),
            "n: x-{{ __placeholder(\"SESSION_NAMESPACE\") }}\nlit: ${HOME} $1 $ {x} ${1x} ${unterminated\n"
        );
    }

    #[test]
    fn unclosed_jinja_openers_are_text() {
        assert_eq!(
            preprocess("e: \"filter(data, {# endsWith x})\"\n"),
            "e: \"filter(data, {%+ raw +%}{#{%+ endraw +%} endsWith x})\"\n"
        );
    }

    #[test]
    fn raw_and_comments_untouched() {
        let src = "{% raw %}${X} {{inputs.x}}{% endraw %}{# ${Y} #}";
        assert_eq!(preprocess(src), src);
    }

    #[test]
    fn jinja_filters_on_argo_roots_stay_jinja() {
        assert!(!is_argo_expression(" status | upper ", &[]));
        assert!(is_argo_expression(" status ", &[]));
        assert!(!is_argo_expression("statusx", &[]));
        assert!(is_argo_expression(" .token ", &[]));
        assert!(is_argo_expression("- .Values.x ", &[]));
    }
}
