//! kapp annotations (change groups and rules, strategies) and kapp `Config` documents.

use super::Field;
use super::{path, path_in, seq_of, str_of, Seg, SetIndex, Sink};
use crate::yaml::PathSeg;
use serde_yaml::Value;
use std::borrow::Cow;

const GROUP_KEY: &str = "kapp.k14s.io/change-group";
const RULE_KEY: &str = "kapp.k14s.io/change-rule";
/// Groups kapp's default Config declares.
const DEFAULT_GROUP_PREFIX: &str = "change-groups.kapp.k14s.io/";

const MATCHERS: &[&str] = &[
    "allMatcher",
    "allResourceMatcher",
    "anyMatcher",
    "andMatcher",
    "notMatcher",
    "apiVersionKindMatcher",
    "apiGroupKindMatcher",
    "kindNamespaceNameMatcher",
    "hasAnnotationMatcher",
    "hasNamespaceMatcher",
    "customResourceMatcher",
    "emptyFieldMatcher",
];

fn is_key(k: &str, base: &str) -> bool {
    k == base || k.strip_prefix(base).is_some_and(|r| r.starts_with('.'))
}

/// Replaces kapp's placeholders (`{name}`, `{kind}`…) with the object's values (borrowed when
/// there are none).
fn substitute<'v>(s: &'v str, obj: &Value) -> Result<Cow<'v, str>, String> {
    if !s.contains('{') {
        return Ok(Cow::Borrowed(s));
    }
    let meta = obj.field("metadata");
    let api = str_of(obj, "apiVersion").unwrap_or("");
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(format!("unclosed placeholder in {s:?}"));
        };
        let name = &rest[start + 1..start + end];
        let crd = |k: &str| {
            obj.field("spec").and_then(|sp| match k {
                "kind" => sp.field("names").and_then(|n| str_of(n, "kind")),
                _ => str_of(sp, "group"),
            })
        };
        let v = match name {
            "api-group" => Some(crate::manifest::group_of(api)),
            "kind" => str_of(obj, "kind"),
            "name" => meta.and_then(|m| str_of(m, "name")),
            "namespace" => Some(meta.and_then(|m| str_of(m, "namespace")).unwrap_or("")),
            "crd-kind" => crd("kind"),
            "crd-group" => crd("group"),
            other => return Err(format!("unknown placeholder {{{other}}}")),
        };
        out.push_str(v.unwrap_or(""));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Adds the change groups `obj` declares (annotations, Config bindings).
pub(crate) fn collect_groups<'v>(obj: &'v Value, groups: &mut Vec<Cow<'v, str>>) {
    if let Some(Value::Mapping(ann)) = obj.field("metadata").and_then(|m| m.field("annotations")) {
        for (k, v) in ann {
            if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                if is_key(k, GROUP_KEY) {
                    if let Ok(g) = substitute(v, obj) {
                        groups.push(g);
                    }
                }
            }
        }
    }
    if str_of(obj, "kind") == Some("Config") {
        for b in seq_of(obj.field("changeGroupBindings")) {
            if let Some(n) = str_of(b, "name") {
                groups.push(Cow::Borrowed(n));
            }
        }
    }
}

fn is_group_name(g: &str) -> bool {
    super::k8s::is_qualified_name(g, false)
}

/// Parses `ACTION ORDER TARGET_ACTION GROUP`; returns the group or what is wrong.
pub fn parse_rule(rule: &str) -> Result<&str, String> {
    let mut t: [&str; 4] = [""; 4];
    let mut n = 0;
    for part in rule.split(' ').filter(|x| !x.is_empty()) {
        if n < 4 {
            t[n] = part;
        }
        n += 1;
    }
    if n != 4 {
        return Err(format!("expected 4 space-separated parts (upsert|delete before|after upserting|deleting <group>), found {n}"));
    }
    if !matches!(t[0], "upsert" | "delete") {
        return Err(format!(
            "unknown action {:?} (expected upsert or delete)",
            t[0]
        ));
    }
    if !matches!(t[1], "before" | "after") {
        return Err(format!(
            "unknown order {:?} (expected before or after)",
            t[1]
        ));
    }
    if !matches!(t[2], "upserting" | "deleting") {
        return Err(format!(
            "unknown target action {:?} (expected upserting or deleting)",
            t[2]
        ));
    }
    Ok(t[3])
}

pub(crate) fn check_annotations(obj: &Value, index: &SetIndex<'_>, sink: &mut Sink<'_>) {
    let Some(Value::Mapping(ann)) = obj.field("metadata").and_then(|m| m.field("annotations"))
    else {
        return;
    };
    for (k, v) in ann {
        let Some(key) = k.as_str() else { continue };
        if !key.starts_with("kapp.k14s.io/") {
            continue;
        }
        let at = || path(&["metadata".into(), "annotations".into(), Seg::K(key)]);
        let Some(val) = v.as_str() else { continue }; // reported by k8s-annotation
        if is_key(key, GROUP_KEY) {
            match substitute(val, obj) {
                Err(e) => sink.error("kapp-change-group", at(), format!("{key}: {e}")),
                Ok(g) if !is_group_name(&g) => sink.error("kapp-change-group", at(), format!("{key}: {val:?} is not a valid group name ([dns-prefix/]name of alphanumerics, '-', '_', '.')")),
                Ok(_) => {}
            }
        } else if is_key(key, RULE_KEY) {
            match parse_rule(val) {
                Err(e) => sink.error("kapp-change-rule", at(), format!("{key}: {val:?}: {e}")),
                Ok(group) => match substitute(group, obj) {
                    Err(e) => sink.error("kapp-change-rule", at(), format!("{key}: {e}")),
                    Ok(g) if !is_group_name(&g) => sink.error(
                        "kapp-change-rule",
                        at(),
                        format!("{key}: group {group:?} is not a valid group name"),
                    ),
                    Ok(g) => {
                        if !g.starts_with(DEFAULT_GROUP_PREFIX) && !index.groups.contains(&g) {
                            sink.warn("kapp-undeclared-group", at(), format!("{key}: group {g:?} is declared by no kapp.k14s.io/change-group annotation in this set (the rule orders nothing)"));
                        }
                    }
                },
            }
        } else {
            let allowed: &[&str] = match key {
                "kapp.k14s.io/nonce" => &[""],
                "kapp.k14s.io/create-strategy" => {
                    &["", "fallback-on-update", "fallback-on-update-or-noop"]
                }
                "kapp.k14s.io/update-strategy" => {
                    &["", "fallback-on-replace", "always-replace", "skip"]
                }
                "kapp.k14s.io/delete-strategy" => &["", "orphan"],
                _ => continue,
            };
            if !allowed.contains(&val) {
                let list: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
                sink.error(
                    "kapp-annotation",
                    at(),
                    format!("{key}: value {val:?} is not one of {}", list.join(", ")),
                );
            }
        }
    }
}

/// Checks a kapp `Config` document.
pub(crate) fn check_config(obj: &Value, sink: &mut Sink<'_>) {
    for (i, rule) in seq_of(obj.field("rebaseRules")).iter().enumerate() {
        let at = |more: &[Seg<'_>]| path_in(&["rebaseRules"], &[&[Seg::I(i)], more].concat());
        if rule.is_null() {
            sink.error("kapp-config", at(&[]), "rebase rule is null");
            continue;
        }
        check_matchers(
            rule.field("resourceMatchers"),
            &at(&["resourceMatchers".into()]),
            sink,
        );
        if rule.field("ytt").is_some() {
            continue;
        }
        let has_path = rule.field("path").is_some();
        let has_paths = rule.field("paths").is_some();
        match (has_path, has_paths) {
            (true, true) | (false, false) => sink.error(
                "kapp-config",
                at(&[]),
                "rebase rule needs exactly one of path or paths",
            ),
            (true, false) => check_rebase_path(rule.field("path"), || at(&["path".into()]), sink),
            (false, true) => {
                for (j, p) in seq_of(rule.field("paths")).iter().enumerate() {
                    check_rebase_path(Some(p), || at(&["paths".into(), j.into()]), sink);
                }
            }
        }
        match str_of(rule, "type") {
            Some("copy") => {
                let sources = seq_of(rule.field("sources"));
                if sources.is_empty() {
                    sink.error(
                        "kapp-config",
                        at(&["type".into()]),
                        "copy rebase rule needs sources (new and/or existing)",
                    );
                }
                for (j, s) in sources.iter().enumerate() {
                    if !matches!(s.as_str(), Some("new" | "existing")) {
                        sink.error(
                            "kapp-config",
                            at(&["sources".into(), j.into()]),
                            format!("rebase source must be new or existing, found {}", show(s)),
                        );
                    }
                }
            }
            Some("remove") => {}
            Some(other) => sink.error(
                "kapp-config",
                at(&["type".into()]),
                format!("rebase rule type must be copy or remove, found {other:?}"),
            ),
            None => sink.error(
                "kapp-config",
                at(&[]),
                "rebase rule needs type: copy or remove",
            ),
        }
    }
    for key in ["changeGroupBindings", "changeRuleBindings"] {
        for (i, b) in seq_of(obj.field(key)).iter().enumerate() {
            let at = |more: &[Seg<'_>]| path_in(&[key], &[&[Seg::I(i)], more].concat());
            check_matchers(
                b.field("resourceMatchers"),
                &at(&["resourceMatchers".into()]),
                sink,
            );
            if key == "changeRuleBindings" {
                for (j, r) in seq_of(b.field("rules")).iter().enumerate() {
                    if let Some(Err(e)) = r.as_str().map(parse_rule) {
                        sink.error("kapp-change-rule", at(&["rules".into(), j.into()]), e);
                    }
                }
            }
        }
    }
}

fn show(v: &Value) -> String {
    match v.as_str() {
        Some(s) => format!("{s:?}"),
        None => crate::manifest::type_name(v).to_string(),
    }
}

fn check_rebase_path(p: Option<&Value>, at: impl Fn() -> Vec<PathSeg>, sink: &mut Sink<'_>) {
    let segs = match p {
        Some(Value::Sequence(s)) if !s.is_empty() => s,
        _ => {
            sink.error("kapp-config", at(), "rebase path must be a non-empty list of keys ({allIndexes: true} / {index: N} for list items)");
            return;
        }
    };
    for (i, s) in segs.iter().enumerate() {
        let ok = match s {
            Value::String(k) => !k.is_empty(),
            Value::Mapping(m) => {
                m.field("allIndexes").and_then(Value::as_bool) == Some(true)
                    || m.field("index").is_some_and(|n| n.as_u64().is_some())
            }
            _ => false,
        };
        if !ok {
            let mut p = at();
            p.push(PathSeg::Index(i));
            sink.error("kapp-config", p, format!("rebase path segment {i} must be a key, {{allIndexes: true}} or {{index: N}}, found {}", show(s)));
        } else if i + 1 == segs.len() && !s.is_string() {
            let mut p = at();
            p.push(PathSeg::Index(i));
            sink.error(
                "kapp-config",
                p,
                "the last segment of a rebase path must be a map key",
            );
        }
    }
}

fn check_matchers(list: Option<&Value>, at: &[PathSeg], sink: &mut Sink<'_>) {
    let Some(list) = list else { return };
    let Value::Sequence(items) = list else {
        if !list.is_null() {
            sink.error(
                "kapp-matcher",
                at.to_vec(),
                "resourceMatchers must be a list",
            );
        }
        return;
    };
    for (i, m) in items.iter().enumerate() {
        let mut p = at.to_vec();
        p.push(PathSeg::Index(i));
        check_matcher(m, p, sink);
    }
}

fn check_matcher(m: &Value, at: Vec<PathSeg>, sink: &mut Sink<'_>) {
    let Value::Mapping(map) = m else {
        sink.error(
            "kapp-matcher",
            at,
            format!(
                "resource matcher must be a map with one matcher, found {}",
                show(m)
            ),
        );
        return;
    };
    let keys: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
    let known: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| MATCHERS.contains(k))
        .collect();
    if known.len() != 1 || keys.len() != 1 {
        sink.error(
            "kapp-matcher",
            at,
            format!(
                "resource matcher needs exactly one of {} (found: {})",
                MATCHERS.join(", "),
                if keys.is_empty() {
                    "none".into()
                } else {
                    keys.join(", ")
                }
            ),
        );
        return;
    }
    let k = known[0];
    let body = m.field(k).unwrap_or(&Value::Null);
    let sub = |more: Option<&str>| {
        let mut p = at.clone();
        p.push(PathSeg::Key(k.to_string()));
        p.extend(more.map(|m| PathSeg::Key(m.to_string())));
        p
    };
    match k {
        "anyMatcher" | "andMatcher" if body.field("matchers").is_some() => {
            check_matchers(body.field("matchers"), &sub(Some("matchers")), sink);
        }
        "anyMatcher" | "andMatcher" => {}
        "notMatcher" => match body.field("matcher") {
            Some(inner) => check_matcher(inner, sub(Some("matcher")), sink),
            None => sink.error("kapp-matcher", sub(None), "notMatcher needs matcher"),
        },
        "apiVersionKindMatcher"
            if (str_of(body, "apiVersion").is_none() || str_of(body, "kind").is_none()) =>
        {
            sink.error(
                "kapp-matcher",
                sub(None),
                "apiVersionKindMatcher needs apiVersion and kind",
            );
        }
        "apiGroupKindMatcher" if str_of(body, "kind").is_none() => {
            sink.error("kapp-matcher", sub(None), "apiGroupKindMatcher needs kind");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(
            parse_rule("upsert before upserting apps.big.co/argo-pipelines"),
            Ok("apps.big.co/argo-pipelines")
        );
        assert!(parse_rule("upsert befor upserting x").is_err());
        assert!(parse_rule("upsert before upserting").is_err());
        let obj: Value = serde_yaml::from_str("kind: Deployment\nmetadata: {name: web}\n").unwrap();
        assert_eq!(
            substitute("g/{kind}-{name}", &obj).unwrap(),
            "g/Deployment-web"
        );
        assert!(substitute("{nope}", &obj).is_err());
    }
}
