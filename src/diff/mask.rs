//! Secret masking for display: each distinct value gets a stable number for the whole run, so
//! a changed value still shows as changed (kapp's `<-- value not shown (#K)`).

use super::config::PathRule;
use super::matcher::any_matches;
use super::path::Seg;
use crate::lookup::Lookup;
use foldhash::HashMap;
use serde_yaml::Value;

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

    /// Whether masking would change `obj` at all: some rule matches it as given (later rules
    /// see the object as masked so far, so with no first match there is none).
    pub fn applies(obj: &Value, rules: &[PathRule]) -> bool {
        rules.iter().any(|r| any_matches(&r.matchers, obj))
    }

    /// Masks the values of every map at a mask path (keys in sorted order; `{allIndexes:
    /// true}` and `{index: N}` segments reach into lists, and a list of maps at the path has
    /// each map masked), plus annotations that embed a copy of a masked object. Returns whether
    /// any rule matched.
    pub fn mask(&mut self, obj: &mut Value, rules: &[PathRule]) -> bool {
        let mut matched = false;
        for r in rules {
            // Matched against the object as masked so far, as kapp does.
            if !any_matches(&r.matchers, obj) {
                continue;
            }
            matched = true;
            for p in &r.paths {
                visit_mut(obj, &p.0, &mut |target| match target {
                    Value::Mapping(m) => self.mask_map(m),
                    Value::Sequence(items) => {
                        for it in items {
                            if let Value::Mapping(m) = it {
                                self.mask_map(m);
                            }
                        }
                    }
                    _ => {}
                });
            }
        }
        if matched {
            if let Some(Value::Mapping(anns)) =
                obj.at_mut("metadata").and_then(|m| m.at_mut("annotations"))
            {
                for a in COPY_ANNOTATIONS {
                    if let Some(v) = anns.at_mut(a) {
                        let masked = self.number(v);
                        *v = Value::from(masked);
                    }
                }
            }
        }
        matched
    }

    fn mask_map(&mut self, m: &mut serde_yaml::Mapping) {
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

/// Calls `f` on every value the path reaches.
fn visit_mut(v: &mut Value, segs: &[Seg], f: &mut dyn FnMut(&mut Value)) {
    let Some((seg, rest)) = segs.split_first() else {
        f(v);
        return;
    };
    match (seg, v) {
        (Seg::Key(k), Value::Mapping(m)) => {
            if let Some(c) = m.at_mut(k.as_str()) {
                visit_mut(c, rest, f);
            }
        }
        (Seg::Index(i), Value::Sequence(s)) => {
            if let Some(c) = s.get_mut(*i) {
                visit_mut(c, rest, f);
            }
        }
        (Seg::AllIndexes, Value::Sequence(s)) => {
            for c in s {
                visit_mut(c, rest, f);
            }
        }
        _ => {}
    }
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
            old.at("data").unwrap().at("password"),
            Some(&y("<-- value not shown (#1)"))
        );
        assert_eq!(
            old.at("data").unwrap().at("user"),
            Some(&y("<-- value not shown (#2)"))
        );
        assert_eq!(
            new.at("data").unwrap().at("user"),
            Some(&y("<-- value not shown (#2)"))
        );
        assert_eq!(
            new.at("data").unwrap().at("password"),
            Some(&y("<-- value not shown (#3)"))
        );
    }

    #[test]
    fn all_indexes_and_index_mask_paths() {
        let mut c = Config::defaults();
        c.add_doc(&y("kind: Config\ndiffMaskRules:\n- path: [spec, users, {allIndexes: true}, credentials]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: x.io/v1, kind: Db}}]\n- path: [spec, tokens, {index: 1}]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: x.io/v1, kind: Db}}]\n- path: [spec, keys]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: x.io/v1, kind: Db}}]")).unwrap();
        let mut m = Masker::new();
        let mut db = y("apiVersion: x.io/v1\nkind: Db\nmetadata: {name: d}\nspec: {users: [{name: a, credentials: {pw: one}}, {name: b, credentials: {pw: two, pin: one}}], tokens: [{t: keep}, {t: hide}], keys: [{k: s1}, {k: s2}]}");
        assert!(m.mask(&mut db, &c.mask_rules));
        assert_eq!(
            db.at("spec").unwrap(),
            &y("{users: [{name: a, credentials: {pw: '<-- value not shown (#1)'}}, {name: b, credentials: {pw: '<-- value not shown (#2)', pin: '<-- value not shown (#1)'}}], tokens: [{t: keep}, {t: '<-- value not shown (#3)'}], keys: [{k: '<-- value not shown (#4)'}, {k: '<-- value not shown (#5)'}]}")
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
        assert_eq!(c.at("data").unwrap().at("p"), Some(&y("visible")));
    }
}
