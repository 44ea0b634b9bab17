//! Turning a (new, live) pair into the two sides kapp compares: bookkeeping annotations and
//! excluded fields removed, the new object rebased onto the live one.

use super::config::{Config, PathRule, RebaseKind, RebaseRule, Source, PLAN_REBASE};
use super::matcher::{any_matches, Decided};
use super::path::Path;
use crate::lookup::Lookup;
use serde_yaml::{Mapping, Value};

pub use crate::live::{HISTORY_ANNOTATIONS, SERVER_METADATA};
pub const IDENTITY_ANNOTATION: &str = "kapp.k14s.io/identity";

fn annotations_mut(obj: &mut Value) -> Option<&mut Mapping> {
    match obj.at_mut("metadata")?.at_mut("annotations")? {
        Value::Mapping(m) => Some(m),
        _ => None,
    }
}

/// Removes kapp's history annotations; drops an annotations map left empty by that.
pub fn strip_history(obj: &mut Value) {
    remove_annotations(obj, HISTORY_ANNOTATIONS);
}

/// Removes the identity annotation kapp strips from its in-memory live copies.
pub fn strip_identity(obj: &mut Value) {
    remove_annotations(obj, &[IDENTITY_ANNOTATION]);
}

fn remove_annotations(obj: &mut Value, keys: &[&str]) {
    let Some(anns) = annotations_mut(obj) else {
        return;
    };
    let before = anns.len();
    for k in keys {
        crate::lookup::remove(anns, k);
    }
    if anns.is_empty() && before > 0 {
        if let Some(Value::Mapping(meta)) = obj.at_mut("metadata") {
            meta.remove("annotations");
        }
    }
}

/// Removes server-owned metadata and `status` (used for display and for test fixtures).
pub fn strip_server_fields(obj: &mut Value) {
    if let Some(Value::Mapping(meta)) = obj.at_mut("metadata") {
        for k in SERVER_METADATA {
            crate::lookup::remove(meta, k);
        }
    }
    if let Value::Mapping(m) = obj {
        crate::lookup::remove(m, "status");
    }
}

/// Removes server-owned metadata only (both sides carry the same copy after rebasing).
pub fn strip_server_metadata(obj: &mut Value) {
    if let Some(Value::Mapping(meta)) = obj.at_mut("metadata") {
        for k in SERVER_METADATA {
            crate::lookup::remove(meta, k);
        }
    }
}

/// Applies exclusion rules (remove the paths on matching objects).
pub fn exclude(obj: &mut Value, rules: &[PathRule]) {
    for r in rules {
        if any_matches(&r.matchers, obj) {
            for p in &r.paths {
                p.remove(obj);
            }
        }
    }
}

/// Rebases `new` onto `existing`: starts from `new`, applies each rule whose matchers match
/// the intermediate result; copy sources are the untouched originals.
///
/// `new` is edited in place. Copy rules read `new` as it was, so a top-level field is copied
/// aside just before the first rule changes it; rules rarely touch more than `metadata`, so
/// the bulk of an object (`spec`, `data`) is never copied.
pub fn rebase(new: Value, existing: &Value, rules: &[RebaseRule]) -> Value {
    rebase_decided(new, existing, rules, Decided::default())
}

/// [`rebase`], with the rules' matchers decided ahead where `decided` says.
fn rebase_decided(new: Value, existing: &Value, rules: &[RebaseRule], decided: Decided) -> Value {
    let mut cur = new;
    // `before` holds the untouched value of every field in `touched` (absent ones are absent).
    let mut before = Value::Mapping(Mapping::new());
    let mut touched: Vec<&str> = Vec::new();
    // Whole fields moved aside (not copied) because this rule replaces or removes them.
    let mut moved: Vec<&str> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        if !decided.matches(i, &r.matchers, &cur) {
            continue;
        }
        moved.clear();
        let replaces = !matches!(r.kind, RebaseKind::ServiceAccountTokens);
        for p in &r.paths {
            let Some(k) = p.first_key() else { continue };
            if touched.contains(&k) {
                continue;
            }
            touched.push(k);
            let (Value::Mapping(c), Value::Mapping(b)) = (&mut cur, &mut before) else {
                continue;
            };
            let Some(v) = c.at_mut(k) else { continue };
            let v = if replaces && p.is_field() {
                moved.push(k);
                std::mem::take(v)
            } else {
                v.clone()
            };
            b.insert(Value::from(k), v);
        }
        match &r.kind {
            RebaseKind::Remove => r.paths.iter().for_each(|p| p.remove(&mut cur)),
            RebaseKind::Copy(sources) => {
                // Every path's field is in `before` now: it stands for the untouched `new`.
                let srcs: Vec<&Value> = sources
                    .iter()
                    .map(|s| match s {
                        Source::New => &before,
                        Source::Existing => existing,
                    })
                    .collect();
                for p in &r.paths {
                    p.copy_without(&mut cur, &srcs, &removed_later(rules, decided, i, p));
                }
                // A moved field no source had stays as it was.
                for k in &moved {
                    if !srcs.iter().any(|s| s.at(k).is_some()) {
                        if let (Value::Mapping(c), Some(v)) = (&mut cur, before.at(k)) {
                            c.insert(Value::from(*k), v.clone());
                        }
                    }
                }
            }
            RebaseKind::ServiceAccountTokens => keep_sa_tokens(&mut cur, existing),
        }
    }
    cur
}

/// The keys under `p` that a rule after rule `i` removes for certain before anything looks
/// at them: the rules up to it are decided for this kind (no matcher reads the object) and
/// copy or remove. kapp's defaults copy all of `metadata` from the live object, then remove
/// its labels and annotations: those are not cloned only to be dropped.
fn removed_later<'r>(
    rules: &'r [RebaseRule],
    decided: Decided,
    i: usize,
    p: &Path,
) -> Vec<&'r str> {
    let mut keys = Vec::new();
    for (j, r) in rules.iter().enumerate().skip(i + 1) {
        match (decided.known(j), &r.kind) {
            (None, _) | (_, RebaseKind::ServiceAccountTokens) => break,
            (Some(true), RebaseKind::Remove) => {
                keys.extend(r.paths.iter().filter_map(|q| q.child_key_of(p)));
            }
            _ => {}
        }
    }
    keys
}

/// kapp's default ServiceAccount ytt rule: live `secrets` entries named `<sa>-token-*` or
/// `<sa>-dockercfg-*` and `imagePullSecrets` entries named `<sa>-dockercfg-*` (added by the
/// token controller / OpenShift) are kept after the user's entries.
fn keep_sa_tokens(cur: &mut Value, existing: &Value) {
    let name = cur
        .at("metadata")
        .and_then(|m| m.at("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let token = format!("{name}-token-");
    let dockercfg = format!("{name}-dockercfg-");
    let keep = |field: &str, prefixes: &[&str], cur: &mut Value| {
        let Some(Value::Sequence(live)) = existing.at(field) else {
            return;
        };
        let extra: Vec<Value> = live
            .iter()
            .filter(|e| {
                let n = e.at("name").and_then(Value::as_str).unwrap_or_default();
                prefixes.iter().any(|p| n.starts_with(p))
            })
            .cloned()
            .collect();
        if extra.is_empty() {
            return;
        }
        let Value::Mapping(m) = cur else { return };
        let entry = m
            .entry(Value::from(field))
            .or_insert_with(|| Value::Sequence(Vec::new()));
        if let Value::Sequence(s) = entry {
            for e in extra {
                if !s.contains(&e) {
                    s.push(e);
                }
            }
        }
    };
    keep("secrets", &[&token, &dockercfg], cur);
    keep("imagePullSecrets", &[&dockercfg], cur);
}

/// The two sides kapp compares for an update, before masking.
pub struct Sides {
    pub existing: Value,
    pub new: Value,
}

/// Builds both sides for a pair: H(L) against R(L, H(N)), or, when `original` is given
/// (the last-applied copy), H(R(L, O)) against R(L, H(N)).
///
/// Server metadata and excluded fields are dropped from the live copy before rebasing: they
/// would be copied into the new side and dropped from both afterwards anyway, and skipping
/// them (managedFields above all) keeps the copies small.
pub fn sides(new: Value, live: Value, original: Option<&Value>, cfg: &Config) -> Sides {
    let l = live_side(live, cfg);
    let right = new_side(new, &l, cfg);
    let left = match original {
        Some(o) => {
            let mut o = o.clone();
            strip_history(&mut o);
            let mut x = rebase(o, &l, &cfg.rebase_rules);
            strip_history(&mut x);
            exclude(&mut x, &cfg.existing_exclusions);
            strip_server_metadata(&mut x);
            x
        }
        None => l,
    };
    Sides {
        existing: left,
        new: right,
    }
}

/// The live side of an update (H(L)): bookkeeping annotations, server metadata and excluded
/// fields removed.
pub fn live_side(live: Value, cfg: &Config) -> Value {
    let mut l = live;
    strip_identity(&mut l);
    strip_history(&mut l);
    strip_server_metadata(&mut l);
    exclude(&mut l, &cfg.existing_exclusions);
    l
}

/// The new side of an update (R(L, H(N))), rebased onto `l`, the live side.
pub fn new_side(new: Value, l: &Value, cfg: &Config) -> Value {
    let mut n = new;
    strip_history(&mut n);
    let plan = cfg.plan(&n);
    let mut right = rebase_decided(n, l, &cfg.rebase_rules, plan.list(PLAN_REBASE));
    strip_history(&mut right);
    exclude(&mut right, &cfg.existing_exclusions);
    strip_server_metadata(&mut right);
    right
}

/// The top-level fields of the live object that building the two sides of an update of `new`
/// reads, besides the ones compared: `apiVersion`, `kind` and `metadata`, those the rebase
/// rules that may apply copy from the live object, those exclusions remove, and those
/// `emptyFieldMatcher`s look at. The live object's other fields reach the sides untouched (so
/// they can be compared where they are). `None` when a rule's path does not start with a key.
pub fn live_fields_read<'c>(new: &Value, cfg: &'c Config) -> Option<Vec<&'c str>> {
    let mut keys: Vec<&str> = vec!["apiVersion", "kind", "metadata"];
    let mut add = |k: &'c str| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    let mut fields = Vec::new();
    // Matchers are decided by apiVersion and kind, which no rule may then change.
    if cfg.rebase_may_change_kind() {
        return None;
    }
    let plan = cfg.plan(new);
    let may = plan.list(PLAN_REBASE);
    for (i, r) in cfg.rebase_rules.iter().enumerate() {
        if !may.may(i, &r.matchers, new) {
            continue;
        }
        // Rebase matchers look at the new side as rebased so far, which holds what the live
        // side's fields copied there.
        r.matchers.iter().for_each(|m| m.field_paths(&mut fields));
        let reads = match &r.kind {
            RebaseKind::Copy(sources) => sources.contains(&Source::Existing),
            RebaseKind::Remove => false,
            RebaseKind::ServiceAccountTokens => true,
        };
        if !reads {
            continue;
        }
        if r.kind == RebaseKind::ServiceAccountTokens {
            add("secrets");
            add("imagePullSecrets");
            continue;
        }
        for p in &r.paths {
            add(p.first_key()?);
        }
    }
    // Exclusions match the live object (its apiVersion may not be the new one's): all count.
    for r in &cfg.existing_exclusions {
        r.matchers.iter().for_each(|m| m.field_paths(&mut fields));
        for p in &r.paths {
            add(p.first_key()?);
        }
    }
    for p in fields {
        add(p.first_key()?);
    }
    Some(keys)
}

/// The new side of a create (not rebased) or the live side of a delete.
pub fn single(obj: &Value, cfg: &Config, live: bool) -> Value {
    let mut o = obj.clone();
    if live {
        strip_identity(&mut o);
    }
    strip_history(&mut o);
    // Server metadata first, as for an update's live side (and as a lean snapshot reads it).
    strip_server_metadata(&mut o);
    exclude(&mut o, &cfg.existing_exclusions);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn cfg_with(user: &str) -> Config {
        let mut c = Config::defaults();
        c.add_doc(&y(user)).unwrap();
        c
    }

    #[test]
    fn live_fields_read_by_the_default_rules() {
        let cfg = Config::defaults();
        let read = |obj: &str| {
            let mut f = live_fields_read(&y(obj), &cfg).unwrap();
            f.sort_unstable();
            f.join(",")
        };
        assert_eq!(
            read("{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}"),
            "apiVersion,kind,metadata,status"
        );
        // clusterIP and healthCheckNodePort come from the live Service.
        assert_eq!(
            read("{apiVersion: v1, kind: Service, metadata: {name: s}}"),
            "apiVersion,kind,metadata,spec,status"
        );
        // The secretgen rule depends on an annotation a rule before it may copy.
        assert_eq!(
            read("{apiVersion: v1, kind: Secret, metadata: {name: s}}"),
            "apiVersion,data,kind,metadata,status"
        );
        assert_eq!(
            read("{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}"),
            "aggregationRule,apiVersion,kind,metadata,rules,status"
        );
        assert_eq!(
            read("{apiVersion: v1, kind: ServiceAccount, metadata: {name: a}}"),
            "apiVersion,imagePullSecrets,kind,metadata,secrets,status"
        );
        // A user rule that copies apiVersion makes every matcher undecided: everything is built.
        let copies = cfg_with("apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- path: [apiVersion]\n  type: copy\n  sources: [existing]\n  resourceMatchers: [{allMatcher: {}}]");
        assert!(live_fields_read(&y("{apiVersion: v1, kind: ConfigMap}"), &copies).is_none());
    }

    /// Entries a later rule removes are not copied when every rule up to it is decided for the
    /// object's kind: the result must be the plain rebase's, also where a rule in between asks
    /// the object (then nothing is left out).
    #[test]
    fn entries_removed_later_are_not_copied_yet_the_result_is_the_same() {
        let asks = cfg_with("kind: Config\nrebaseRules:\n- {path: [metadata], type: copy, sources: [existing], resourceMatchers: [{allMatcher: {}}]}\n- {path: [spec], type: copy, sources: [existing], resourceMatchers: [{hasAnnotationMatcher: {keys: [x]}}]}\n- {path: [metadata, annotations], type: remove, resourceMatchers: [{allMatcher: {}}]}\n- {path: [metadata, annotations], type: copy, sources: [new], resourceMatchers: [{allMatcher: {}}]}");
        let objects = [
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: '1'}, annotations: {n: '2'}}\ndata: {k: v}", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, uid: u, labels: {a: '1', b: '2'}, annotations: {x: y, z: w}, finalizers: [f]}\ndata: {k: w}"),
            ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}", "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {l: '1'}, annotations: {x: '1'}}\nspec: {clusterIP: 10.0.0.1, sessionAffinity: None, ports: [{port: 80}]}"),
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: p, annotations: {secretgen.carvel.dev/image-pull-secret: ''}}\ndata: {.dockerconfigjson: e30=}", "apiVersion: v1\nkind: Secret\nmetadata: {name: p, labels: {q: r}, annotations: {secretgen.carvel.dev/status: s}}\ndata: {.dockerconfigjson: bGl2ZQ==}"),
            ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, annotations: {deployment.kubernetes.io/revision: '3', x: '1'}}\nspec: {replicas: 2}"),
        ];
        let defaults = Config::defaults();
        for cfg in [&defaults, &asks] {
            for (new, live) in objects {
                let (new, live) = (y(new), y(live));
                let plan = cfg.plan(&new);
                let planned = rebase_decided(
                    new.clone(),
                    &live,
                    &cfg.rebase_rules,
                    plan.list(PLAN_REBASE),
                );
                assert_eq!(planned, rebase(new, &live, &cfg.rebase_rules));
            }
        }
        // The rule that asks the object sees the live annotation copied with `metadata`.
        let new = y(objects[1].0);
        let plan = asks.plan(&new);
        let out = rebase_decided(
            new,
            &y(objects[1].1),
            &asks.rebase_rules,
            plan.list(PLAN_REBASE),
        );
        assert_eq!(
            out.at("spec").and_then(|s| s.at("sessionAffinity")),
            Some(&y("None"))
        );
    }

    #[test]
    fn metadata_from_live_labels_and_annotations_from_new() {
        let new = y(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: '1'}}\ndata: {k: v}",
        );
        let live = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, uid: u1, resourceVersion: '5', finalizers: [x], labels: {a: '1', ctl: y}, annotations: {ctl: z, kapp.k14s.io/identity: id, kapp.k14s.io/original: '{}'}}\ndata: {k: v}\nstatus: {phase: ok}");
        let s = sides(new.clone(), live.clone(), None, &Config::defaults());
        // Finalizers come from live on both sides; controller labels/annotations show as removed.
        assert_eq!(
            s.new,
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [x], labels: {a: '1'}}\ndata: {k: v}")
        );
        assert_eq!(
            s.existing,
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [x], labels: {a: '1', ctl: y}, annotations: {ctl: z}}\ndata: {k: v}")
        );
    }

    /// Whole fields a rule replaces are moved aside, not copied: the results must be as if
    /// they had been copied, also when no source has the field.
    #[test]
    fn whole_field_rules_keep_the_untouched_new() {
        let rules = |doc: &str| cfg_with(doc).rebase_rules;
        let new = y("kind: K\nspec: {a: 1}\ndata: {b: 2}");
        // Copy from a source without the field: left as it was.
        let r = rules("kind: Config\nrebaseRules:\n- {path: [spec], type: copy, sources: [existing], resourceMatchers: [{allMatcher: {}}]}");
        let out = rebase(new.clone(), &y("kind: K"), &r);
        assert_eq!(out.at("spec"), Some(&y("{a: 1}")));
        // Removed, then copied back from `new` as it was.
        let r = rules("kind: Config\nrebaseRules:\n- {path: [spec], type: remove, resourceMatchers: [{allMatcher: {}}]}\n- {path: [spec], type: copy, sources: [new], resourceMatchers: [{allMatcher: {}}]}");
        let out = rebase(new.clone(), &y("kind: K\nspec: {a: 9}"), &r);
        assert_eq!(out, new);
        // Replaced from existing, then a part of it copied back from `new`.
        let r = rules("kind: Config\nrebaseRules:\n- {path: [spec], type: copy, sources: [existing], resourceMatchers: [{allMatcher: {}}]}\n- {path: [spec, a], type: copy, sources: [new], resourceMatchers: [{allMatcher: {}}]}");
        let out = rebase(new.clone(), &y("kind: K\nspec: {a: 9, c: 3}"), &r);
        assert_eq!(out.at("spec"), Some(&y("{a: 1, c: 3}")));
        // A null in the source counts as having the field.
        let r = rules("kind: Config\nrebaseRules:\n- {path: [spec], type: copy, sources: [existing], resourceMatchers: [{allMatcher: {}}]}");
        let out = rebase(new.clone(), &y("kind: K\nspec: null"), &r);
        assert_eq!(out.at("spec"), Some(&Value::Null));
    }

    #[test]
    fn service_cluster_ip_copied_new_first() {
        let new =
            y("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}");
        let live = y("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.0.0.1, clusterIPs: [10.0.0.1], ports: [{port: 80}]}");
        let s = sides(new.clone(), live.clone(), None, &Config::defaults());
        assert_eq!(
            s.new.at("spec").unwrap().at("clusterIP"),
            Some(&y("10.0.0.1"))
        );
        assert!(s.new.at("spec").unwrap().at("clusterIPs").is_none());
        // new wins when it sets the field
        let new2 = y("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: None}");
        let s = sides(new2.clone(), live.clone(), None, &Config::defaults());
        assert_eq!(s.new.at("spec").unwrap().at("clusterIP"), Some(&y("None")));
    }

    #[test]
    fn deployment_revision_annotation_kept() {
        let new =
            y("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}");
        let live = y("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, annotations: {deployment.kubernetes.io/revision: '3'}}\nspec: {replicas: 1}");
        let s = sides(new.clone(), live.clone(), None, &Config::defaults());
        assert_eq!(s.new, s.existing);
        // Not for another apiVersion: exact matching.
        let new =
            y("apiVersion: apps/v9\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}");
        let s = sides(new.clone(), live.clone(), None, &Config::defaults());
        assert_ne!(s.new.at("metadata"), s.existing.at("metadata"));
    }

    #[test]
    fn workshop_rule_keeps_live_workflow() {
        let cfg = cfg_with("kind: Config\nrebaseRules:\n- paths: [[spec], [metadata, annotations], [metadata, labels]]\n  type: copy\n  sources: [existing]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: argoproj.io/v1alpha1, kind: Workflow}}]");
        let new = y("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, labels: {x: '1'}}\nspec: {entrypoint: main, arguments: {parameters: [{name: a, value: new}]}}");
        let live = y("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, labels: {x: '1', workflows.argoproj.io/phase: Running}, annotations: {a: b}}\nspec: {entrypoint: main, arguments: {parameters: [{name: a, value: old}]}}\nstatus: {phase: Running}");
        let s = sides(new.clone(), live.clone(), None, &cfg);
        assert_eq!(s.new, s.existing);
    }

    #[test]
    fn copy_sources_new_versus_existing_and_remove() {
        let new =
            y("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 2}");
        let live =
            y("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 7}");
        let rule = |sources: &str| {
            cfg_with(&format!("kind: Config\nrebaseRules:\n- path: [spec, replicas]\n  type: copy\n  sources: {sources}\n  resourceMatchers: [{{kindNamespaceNameMatcher: {{kind: Deployment, namespace: '', name: d}}}}]"))
        };
        let s = sides(new.clone(), live.clone(), None, &rule("[existing, new]"));
        assert_eq!(s.new, s.existing);
        let s = sides(new.clone(), live.clone(), None, &rule("[new, existing]"));
        assert_ne!(s.new, s.existing);
        let rm = cfg_with("kind: Config\nrebaseRules:\n- path: [spec, replicas]\n  type: remove\n  resourceMatchers: [{allMatcher: {}}]");
        let s = sides(new.clone(), live.clone(), None, &rm);
        assert!(s.new.at("spec").unwrap().at("replicas").is_none());
    }

    #[test]
    fn index_and_all_indexes_rules() {
        let cfg = cfg_with("kind: Config\nrebaseRules:\n- path: [spec, containers, {allIndexes: true}, image]\n  type: copy\n  sources: [existing]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Pod}}]\n- path: [spec, containers, {index: 1}, args]\n  type: remove\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Pod}}]");
        let new = y("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a:2}, {name: b, image: b:2, args: [x]}]}");
        let live = y("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n1, containers: [{name: a, image: a:1}, {name: b, image: b:1}]}");
        let s = sides(new.clone(), live.clone(), None, &cfg);
        assert_eq!(s.new, s.existing);
    }

    #[test]
    fn service_account_token_secrets_kept() {
        let new = y(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\nsecrets: [{name: mine}]",
        );
        let live = y("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\nsecrets: [{name: mine}, {name: sa-token-abcde}]\nimagePullSecrets: [{name: sa-dockercfg-x}]");
        let s = sides(new.clone(), live.clone(), None, &Config::defaults());
        assert_eq!(s.new, s.existing);
    }

    #[test]
    fn status_excluded_and_original_used_as_baseline() {
        let new = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}");
        let live = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v, added-by-server: x}\nstatus: {a: b}");
        let orig = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}");
        let s = sides(new.clone(), live.clone(), Some(&orig), &Config::defaults());
        assert_eq!(s.new, s.existing);
        let s = sides(new.clone(), live.clone(), None, &Config::defaults());
        assert_ne!(s.new, s.existing);
        assert!(s.existing.at("status").is_none());
    }
}
