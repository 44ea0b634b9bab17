//! Rules every Kubernetes object follows: identity fields, names, namespace, labels, annotations.

use super::Field;
use super::{path, Seg, Sink};
use serde_yaml::Value;

/// DNS-1123 label: lower-case alphanumerics and `-`, starts and ends alphanumeric, ≤ 63.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1123 subdomain: dot-separated labels, ≤ 253 (labels here may be up to 253 too, as in
/// Kubernetes' own regex).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// A `generateName`: a DNS-1123 subdomain once the server appends random characters (the last
/// label may end with `-`, or be empty after a `.`).
pub fn is_dns1123_prefix(s: &str) -> bool {
    let label_chars = |l: &str| {
        l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let (init, last) = match s.rsplit_once('.') {
        Some((i, l)) => (Some(i), l),
        None => (None, s),
    };
    s.len() < 253
        && label_chars(last)
        && !last.starts_with('-')
        && init.is_none_or(|i| {
            i.split('.').all(|l| {
                !l.is_empty() && label_chars(l) && !l.starts_with('-') && !l.ends_with('-')
            })
        })
}

/// A qualified name (`[prefix/]name`): name ≤ 63 of alphanumerics, `-`, `_`, `.`, starting and
/// ending alphanumeric; prefix a DNS-1123 subdomain. `check_len` = false skips the 63 limit.
pub fn is_qualified_name(s: &str, check_len: bool) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if !is_dns1123_subdomain(p) {
            return false;
        }
    }
    !name.is_empty() && is_name_chars(name) && (!check_len || name.len() <= 63)
}

fn is_name_chars(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A label value: empty, or ≤ 63 of alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || (s.len() <= 63 && is_name_chars(s))
}

/// Kinds whose names follow path-segment rules rather than DNS-1123 (RBAC allows `:` etc.).
fn name_is_path_segment(group: &str, kind: &str) -> bool {
    group == "rbac.authorization.k8s.io"
        || (group.is_empty() && matches!(kind, "Secret" | "ConfigMap" | "ServiceAccount" | "Event"))
}

fn is_path_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('%')
}

pub(crate) fn check(obj: &Value, api: &str, kind: &str, sink: &mut Sink<'_>) {
    let Value::Mapping(_) = obj else {
        sink.error(
            "k8s-not-object",
            path(&[]),
            format!(
                "document is a {}, not a Kubernetes object",
                crate::manifest::type_name(obj)
            ),
        );
        return;
    };
    if api.is_empty() && kind.is_empty() {
        sink.error(
            "k8s-not-object",
            path(&[]),
            "document has neither apiVersion nor kind: not a Kubernetes object",
        );
        return;
    }
    if api.is_empty() {
        sink.error(
            "k8s-missing-field",
            path(&[]),
            "apiVersion is missing or not a string",
        );
    }
    if kind.is_empty() {
        sink.error(
            "k8s-missing-field",
            path(&[]),
            "kind is missing or not a string",
        );
    }
    // kapp Config documents are consumed by kapp and carry no metadata.
    if api.starts_with("kapp.k14s.io/") && kind == "Config" {
        return;
    }
    let group = crate::manifest::group_of(api);
    let Some(meta) = obj.field("metadata") else {
        sink.error("k8s-missing-field", path(&[]), "metadata is missing");
        return;
    };
    if !meta.is_mapping() {
        sink.error(
            "k8s-missing-field",
            path(&["metadata".into()]),
            "metadata is not a map",
        );
        return;
    }
    let name = meta.field("name");
    let gen = meta.field("generateName");
    match (name, gen) {
        (Some(Value::String(n)), _) if !n.is_empty() => check_name(n, false, group, kind, sink),
        (_, Some(Value::String(g))) if !g.is_empty() => check_name(g, true, group, kind, sink),
        (Some(v), _) if !v.is_string() => sink.error(
            "k8s-missing-field",
            path(&["metadata".into(), "name".into()]),
            format!("metadata.name is a {}, not a string", crate::manifest::type_name(v)),
        ),
        // `argo lint` accepts Workflows without a name (the Argo examples have one); the API
        // server does not, so it stays a warning there.
        _ if group == "argoproj.io" => sink.warn("k8s-missing-field", path(&["metadata".into()]), "metadata.name (or generateName) is missing: argo submit would need --name/--generate-name"),
        _ => sink.error("k8s-missing-field", path(&["metadata".into()]), "metadata.name (or generateName) is missing"),
    }
    match meta.field("namespace") {
        None => {}
        Some(Value::String(ns)) if !is_dns1123_label(ns) => {
            sink.error(
                    "k8s-namespace",
                    path(&["metadata".into(), "namespace".into()]),
                    format!("namespace {ns:?} is not a valid DNS-1123 label (lower-case alphanumerics and '-', at most 63)"),
                );
        }
        Some(Value::String(_)) => {}
        Some(v) => sink.error(
            "k8s-namespace",
            path(&["metadata".into(), "namespace".into()]),
            format!(
                "namespace is a {}, not a string",
                crate::manifest::type_name(v)
            ),
        ),
    }
    check_labels(meta.field("labels"), &["metadata", "labels"], sink);
    check_annotations(
        meta.field("annotations"),
        &["metadata", "annotations"],
        sink,
    );
}

fn check_name(n: &str, generate: bool, group: &str, kind: &str, sink: &mut Sink<'_>) {
    let key = if generate { "generateName" } else { "name" };
    let ok = if name_is_path_segment(group, kind) {
        is_path_segment(n)
    } else if generate {
        // A prefix: the server appends 5 random characters.
        is_dns1123_prefix(n)
    } else {
        is_dns1123_subdomain(n)
    };
    if !ok {
        sink.error(
            "k8s-name",
            path(&["metadata".into(), key.into()]),
            format!("metadata.{key} {n:?} is not a valid name (DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', at most 253)"),
        );
    }
}

/// The mapping of `labels`/`annotations`, or `None` (with an error unless absent or null).
fn string_map<'v>(
    value: Option<&'v Value>,
    code: &'static str,
    what: &str,
    base: &[&str],
    sink: &mut Sink<'_>,
) -> Option<&'v serde_yaml::Mapping> {
    match value? {
        Value::Mapping(m) => Some(m),
        Value::Null => None,
        _ => {
            sink.error(
                code,
                super::path_in(base, &[]),
                format!("{what} must be a map of strings"),
            );
            None
        }
    }
}

/// A mapping key as text (keys are strings as kpipe reads YAML; others are shown as written).
fn key_str(k: &Value) -> std::borrow::Cow<'_, str> {
    match k.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(crate::yaml::key_text(k)),
    }
}

pub(crate) fn check_labels(labels: Option<&Value>, base: &[&str], sink: &mut Sink<'_>) {
    let Some(m) = string_map(labels, "k8s-label", "labels", base, sink) else {
        return;
    };
    for (k, v) in m {
        let key = key_str(k);
        let key: &str = &key;
        let at = || super::path_in(base, &[Seg::K(key)]);
        if !is_qualified_name(key, true) {
            sink.error("k8s-label", at(), format!("label key {key:?} is not a valid qualified name ([prefix/]name, name at most 63 of alphanumerics, '-', '_', '.')"));
        }
        match v {
            Value::String(s) if is_label_value(s) => {}
            Value::String(s) => sink.error("k8s-label", at(), format!("label {key:?} has invalid value {s:?} (at most 63 of alphanumerics, '-', '_', '.', starting and ending alphanumeric)")),
            other => sink.error("k8s-label", at(), format!("label {key:?} value is a {}, not a string (quote it)", crate::manifest::type_name(other))),
        }
    }
}

pub(crate) fn check_annotations(ann: Option<&Value>, base: &[&str], sink: &mut Sink<'_>) {
    let Some(m) = string_map(ann, "k8s-annotation", "annotations", base, sink) else {
        return;
    };
    for (k, v) in m {
        let key = key_str(k);
        let key: &str = &key;
        if !is_qualified_name(key, true) {
            sink.error(
                "k8s-annotation",
                super::path_in(base, &[Seg::K(key)]),
                format!("annotation key {key:?} is not a valid qualified name"),
            );
        }
        if !v.is_string() {
            sink.error(
                "k8s-annotation",
                super::path_in(base, &[Seg::K(key)]),
                format!(
                    "annotation {key:?} value is a {}, not a string (quote it)",
                    crate::manifest::type_name(v)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns1123_label("team-a"));
        assert!(!is_dns1123_label("Team"));
        assert!(!is_dns1123_label("a-"));
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(!is_dns1123_subdomain("MYPIPELINEWORKFLOW"));
        for p in ["steps-", "a", "", "a.b-", "a.", "x.y.z-"] {
            assert!(is_dns1123_prefix(p), "{p:?}");
            assert_eq!(
                is_dns1123_prefix(p),
                is_dns1123_subdomain(&format!("{p}a")),
                "{p:?}"
            );
        }
        for p in ["Steps-", "-a", ".a", "a..b", "a-.b-", "a_b"] {
            assert!(!is_dns1123_prefix(p), "{p:?}");
            assert_eq!(
                is_dns1123_prefix(p),
                is_dns1123_subdomain(&format!("{p}a")),
                "{p:?}"
            );
        }
        assert!(is_qualified_name("kapp.k14s.io/change-group", true));
        assert!(is_qualified_name("app", true));
        assert!(!is_qualified_name("a/b/c", true));
        assert!(!is_qualified_name("-x", true));
        assert!(is_label_value(""));
        assert!(!is_label_value("a b"));
    }
}
