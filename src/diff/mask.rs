//! Secret masking for display: each distinct value gets a stable number for the whole run, so
//! a changed value still shows as changed (kapp's `<-- value not shown (#K)`).

use super::config::PathRule;
use super::matcher::any_matches;
use serde_yaml::Value;
use std::collections::HashMap;

/// Annotations that carry a copy of the object (and so of its secret values).
const COPY_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "kapp.k14s.io/original",
];

/// Numbers values across every resource and both sides of one run.
#[derive(Debug, Default)]
pub struct Masker {
    seen: HashMap<String, usize>,
}

impl Masker {
    pub fn new() -> Masker {
        Masker::default()
    }

    fn number(&mut self, v: &Value) -> String {
        match serde_json::to_string(v) {
            Ok(key) => {
                let next = self.seen.len() + 1;
                let k = *self.seen.entry(key).or_insert(next);
                format!("<-- value not shown (#{k})")
            }
            Err(_) => {
                let k = self.seen.len() + 1;
                self.seen.insert(format!("\u{0}unknown{k}"), k);
                format!("<-- unknown value not shown (#{k})")
            }
        }
    }

    /// Masks the values of every map at a mask path (keys in sorted order), plus annotations
    /// that embed a copy of a masked object. Returns whether anything matched.
    pub fn mask(&mut self, obj: &mut Value, rules: &[PathRule]) -> bool {
        let mut matched = false;
        let snapshot = obj.clone();
        for r in rules {
            if !any_matches(&r.matchers, &snapshot) {
                continue;
            }
            matched = true;
            for p in &r.paths {
                let (parents, last) = p.0.split_at(p.0.len().saturating_sub(1));
                let Some(super::path::Seg::Key(last)) = last.first() else {
                    continue;
                };
                let parent_path = super::path::Path(parents.to_vec());
                let target = if parents.is_empty() {
                    obj.get_mut(last.as_str())
                } else {
                    get_mut_first(obj, &parent_path).and_then(|p| p.get_mut(last.as_str()))
                };
                if let Some(Value::Mapping(m)) = target {
                    let mut keys: Vec<Value> = m.keys().cloned().collect();
                    keys.sort_by_key(crate::yaml::key_text);
                    for k in keys {
                        if let Some(v) = m.get_mut(&k) {
                            let masked = self.number(v);
                            *v = Value::from(masked);
                        }
                    }
                }
            }
        }
        if matched {
            if let Some(Value::Mapping(anns)) = obj
                .get_mut("metadata")
                .and_then(|m| m.get_mut("annotations"))
            {
                for a in COPY_ANNOTATIONS {
                    if let Some(v) = anns.get_mut(*a) {
                        let masked = self.number(v);
                        *v = Value::from(masked);
                    }
                }
            }
        }
        matched
    }
}

fn get_mut_first<'a>(v: &'a mut Value, p: &super::path::Path) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in &p.0 {
        cur = match (s, cur) {
            (super::path::Seg::Key(k), Value::Mapping(m)) => m.get_mut(k.as_str())?,
            (super::path::Seg::Index(i), Value::Sequence(s)) => s.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::config::Config;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn stable_numbers_across_sides() {
        let rules = Config::defaults().mask_rules;
        let mut m = Masker::new();
        let mut old = y("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {user: YWRtaW4=, password: b2xk}");
        let mut new = y("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {user: YWRtaW4=, password: bmV3}");
        assert!(m.mask(&mut old, &rules));
        assert!(m.mask(&mut new, &rules));
        // Sorted keys on the existing side first: password #1, user #2; then new password #3.
        assert_eq!(
            old.get("data").unwrap().get("password"),
            Some(&y("<-- value not shown (#1)"))
        );
        assert_eq!(
            old.get("data").unwrap().get("user"),
            Some(&y("<-- value not shown (#2)"))
        );
        assert_eq!(
            new.get("data").unwrap().get("user"),
            Some(&y("<-- value not shown (#2)"))
        );
        assert_eq!(
            new.get("data").unwrap().get("password"),
            Some(&y("<-- value not shown (#3)"))
        );
    }

    #[test]
    fn string_data_and_last_applied_masked_not_configmaps() {
        let rules = Config::defaults().mask_rules;
        let mut m = Masker::new();
        let mut s = y("apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: {kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"p\":\"c2VjcmV0\"}}'}}\nstringData: {p: secret}");
        m.mask(&mut s, &rules);
        let text = serde_yaml::to_string(&s).unwrap();
        assert!(
            !text.contains("secret") || text.contains("kind: Secret"),
            "{text}"
        );
        assert!(!text.contains("c2VjcmV0"), "{text}");
        let mut c = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {p: visible}");
        assert!(!m.mask(&mut c, &rules));
        assert_eq!(c.get("data").unwrap().get("p"), Some(&y("visible")));
    }
}
