//! kapp versioned resources (kapp-diff-semantics.md §1.5). An object annotated
//! `kapp.k14s.io/versioned` is deployed as `<name>-ver-<n>`: a changed one becomes the next
//! version (a create, never an update), an unchanged one keeps the latest version, versions
//! beyond the keep count are deleted, and references to it in other objects (kapp
//! `templateRules`, `kapp.k14s.io/versioned-explicit-ref*` annotations) are rewritten to the
//! version in use — which is what turns the referencing Deployment into an update.

use super::config::Config;
use super::matcher::any_matches;
use super::ops::LiveIndex;
use super::ownership::{self, Ownership};
use super::{Change, Op};
use crate::live::LiveObject;
use crate::lookup::Lookup;
use crate::manifest::{Resource, ResourceId};
use anyhow::{anyhow, bail, Context, Result};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use serde_yaml::{Mapping, Value};

pub const VERSIONED_ANNOTATION: &str = "kapp.k14s.io/versioned";
pub const KEEP_ORIGINAL_ANNOTATION: &str = "kapp.k14s.io/versioned-keep-original";
pub const NUM_VERSIONS_ANNOTATION: &str = "kapp.k14s.io/num-versions";
pub const EXPLICIT_REF_ANNOTATION: &str = "kapp.k14s.io/versioned-explicit-ref";
const SEPARATOR: &str = "-ver-";
/// Old versions kapp keeps when `num-versions` is not set.
const DEFAULT_KEEP: usize = 5;

/// `name` as base name and version when it ends in `-ver-<digits>` (the base is everything
/// before the last `-ver-`).
pub fn split_version(name: &str) -> Option<(&str, u64)> {
    // The digits at the end, then `-ver-` right before them: the same answer as splitting at
    // the last `-ver-` (which holds no digit), without setting up a substring search for each
    // of 10,000 names.
    let head = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let ver = &name[head.len()..];
    let base = head.strip_suffix(SEPARATOR)?;
    if ver.is_empty() {
        return None;
    }
    Some((base, ver.parse().ok()?))
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.at("metadata")?.at("annotations")?.at(key)
}

fn name_of(obj: &Value) -> Option<&str> {
    obj.at("metadata")?
        .at("name")?
        .as_str()
        .filter(|n| !n.is_empty())
}

/// The live versions of this app's versioned objects, by base identity, oldest first.
#[derive(Debug, Default)]
pub struct Versions {
    /// Off for the kubectl deployer, which applies objects as rendered.
    enabled: bool,
    by_base: HashMap<ResourceId, Vec<(u64, ResourceId)>>,
}

impl Versions {
    /// Groups the live objects kapp counts as versions: annotated, not transient, named
    /// `<base>-ver-<n>`, and owned by this app (kapp only lists the app's own objects).
    pub fn of(live: &LiveIndex, owner: &Ownership) -> Versions {
        let key = owner.key();
        let ours = |o: &LiveObject| match owner {
            Ownership::App { value, .. } => {
                value.is_some() && ownership::owner_of(o, key) == value.as_deref()
            }
            Ownership::Inferred => ownership::owner_of(o, key).is_some(),
            Ownership::Labels { .. } => false,
        };
        let mut by_base: HashMap<ResourceId, Vec<(u64, ResourceId)>> = HashMap::new();
        for (id, obj) in live.iter() {
            let Some((base, n)) = split_version(&id.name) else {
                continue;
            };
            if !ownership::has_annotation(obj, VERSIONED_ANNOTATION)
                || ownership::is_transient(obj, id)
                || !ours(obj)
            {
                continue;
            }
            let base = ResourceId {
                name: base.to_string(),
                ..id.clone()
            };
            by_base.entry(base).or_default().push((n, id.clone()));
        }
        for v in by_base.values_mut() {
            v.sort();
        }
        Versions {
            enabled: !matches!(owner, Ownership::Labels { .. }),
            by_base,
        }
    }

    /// Whether `r` is deployed as versions.
    pub fn applies_to(&self, r: &Resource) -> bool {
        self.enabled
            && ownership::has_annotation(&r.object, VERSIONED_ANNOTATION)
            && name_of(&r.object).is_some()
    }

    fn of_base(&self, base: &ResourceId) -> &[(u64, ResourceId)] {
        self.by_base.get(base).map_or(&[], Vec::as_slice)
    }

    /// The live object `r` is compared with: its latest version when versioned.
    pub fn live_of<'a>(&self, r: &Resource, live: &'a LiveIndex) -> Option<&'a LiveObject> {
        if !self.applies_to(r) {
            return live.get(&r.id);
        }
        self.of_base(&r.id).last().and_then(|(_, id)| live.get(id))
    }
}

/// Without an app, kpipe lists live objects by the app label found on rendered objects' live
/// copies; with none found, versions cannot be found either: say so rather than show first
/// versions as if certain.
pub fn unfound_versions(
    resources: &[&Resource],
    versions: &Versions,
    owner: &Ownership,
    owners: &[String],
) -> Option<String> {
    if !matches!(owner, Ownership::Inferred) || !owners.is_empty() || !versions.by_base.is_empty() {
        return None;
    }
    let names: Vec<&str> = resources
        .iter()
        .filter(|r| versions.applies_to(r))
        .map(|r| r.id.name.as_str())
        .collect();
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "{VERSIONED_ANNOTATION} ({}): no rendered object's live copy names the kapp app, so live versions cannot be found and first versions are shown; name the app with --app",
        names.join(", ")
    ))
}

/// A rendered object after versioning.
#[derive(Debug)]
pub enum Item<'a> {
    /// Diffed as usual: a non-versioned object, or the un-suffixed copy
    /// `versioned-keep-original` asks for.
    Plain(&'a Resource),
    /// As `Plain`, with references to versioned objects rewritten.
    Rewritten(Box<Resource>),
    /// A versioned object's change, decided here.
    Decided(Box<Decided>),
}

impl Item<'_> {
    /// The object to diff as usual, if any.
    pub fn plain(&self) -> Option<&Resource> {
        match self {
            Item::Plain(r) => Some(r),
            Item::Rewritten(r) => Some(r),
            Item::Decided(_) => None,
        }
    }
}

/// A versioned object's change, with the sides `--diff-filter` sees.
#[derive(Debug)]
pub struct Decided {
    pub change: Change,
    /// The renamed object, unless the latest version is kept.
    pub new: Option<Value>,
    /// The latest version, when kept.
    pub existing: Option<ResourceId>,
}

/// The rendered set after versioning.
#[derive(Debug)]
pub struct Resolved<'a> {
    /// In rendered order.
    pub items: Vec<Item<'a>>,
    /// Live versions kept as they are: neither shown nor deleted.
    pub kept: HashSet<ResourceId>,
}

/// A rendered versioned object: `res` is named `<base>-ver-<next>`, but keeps the base
/// identity as `id` (kapp computes the association label before renaming).
struct Entry {
    res: Resource,
    next: ResourceId,
    versions: Vec<(u64, ResourceId)>,
}

/// What a versioned object became in one pass.
struct Decision {
    change: Change,
    /// The latest live version, when it stays in use unchanged.
    kept: Option<ResourceId>,
    target: Target,
}

/// The versioned object references are rewritten to.
struct Target {
    base: String,
    name: String,
    namespace: String,
    kind: String,
    api_version: String,
    /// Template rules matching it; none means no rewriting at all (kapp's loop).
    rules: Vec<usize>,
}

enum Slot<'a> {
    Item(Item<'a>),
    Versioned(usize),
}

/// Names versioned objects, decides create-next-version or keep-latest with `diff` (the usual
/// per-resource diff, given the renamed object and the latest live version), and rewrites
/// references. kapp does this twice so that references between versioned objects settle; the
/// second pass is the result.
pub fn resolve<'a>(
    resources: &[&'a Resource],
    versions: &Versions,
    live: &LiveIndex,
    cfg: &Config,
    diff: impl Fn(&Resource, Option<&LiveObject>) -> Result<Change>,
) -> Result<Resolved<'a>> {
    let mut slots = Vec::with_capacity(resources.len());
    let mut entries = Vec::new();
    for &r in resources {
        if !versions.applies_to(r) {
            slots.push(Slot::Item(Item::Plain(r)));
            continue;
        }
        slots.push(Slot::Versioned(entries.len()));
        entries.push(entry(r, versions));
        if ownership::has_annotation(&r.object, KEEP_ORIGINAL_ANNOTATION) {
            slots.push(Slot::Item(Item::Plain(r)));
        }
    }
    let holders = if entries.is_empty() {
        Holders::default()
    } else {
        Holders::find(cfg, &slots, &entries)
    };
    let mut decisions = Vec::with_capacity(entries.len());
    for _pass in 0..2 {
        decisions.clear();
        for i in 0..entries.len() {
            let d = decide(&entries[i], live, cfg, &diff)?;
            rewrite_all(&d.target, cfg, &holders, &mut slots, &mut entries)?;
            decisions.push(d);
        }
    }
    let kept = kept_versions(&entries)?;
    let mut decided: Vec<Option<(Entry, Decision)>> =
        entries.into_iter().zip(decisions).map(Some).collect();
    let items = slots
        .into_iter()
        .filter_map(|s| match s {
            Slot::Item(i) => Some(i),
            Slot::Versioned(i) => decided.get_mut(i)?.take().map(|(e, d)| item(e, d)),
        })
        .collect();
    Ok(Resolved { items, kept })
}

fn entry(r: &Resource, versions: &Versions) -> Entry {
    let existing = versions.of_base(&r.id).to_vec();
    let next = existing.last().map_or(1, |(n, _)| n.saturating_add(1));
    let name = format!("{}{SEPARATOR}{next}", r.id.name);
    let mut res = r.clone();
    if let Some(Value::Mapping(meta)) = res.object.at_mut("metadata") {
        meta.insert("name".into(), Value::from(name.as_str()));
    }
    refresh(&mut res);
    Entry {
        next: ResourceId {
            name,
            ..r.id.clone()
        },
        res,
        versions: existing,
    }
}

/// Keeps a resource's canonical text in step with its edited object (when it has one).
fn refresh(r: &mut Resource) {
    if !r.yaml.is_empty() {
        r.yaml = crate::yaml::to_string(&r.object);
    }
}

/// Diffs the next version against the latest one: changes → create the next version (with
/// that diff); none → the latest version stays (noop).
fn decide(
    e: &Entry,
    live: &LiveIndex,
    cfg: &Config,
    diff: &impl Fn(&Resource, Option<&LiveObject>) -> Result<Change>,
) -> Result<Decision> {
    let latest = e
        .versions
        .last()
        .and_then(|(_, id)| Some((id, live.get(id)?)));
    let mut change = diff(&e.res, latest.map(|(_, o)| o))?;
    if let (Some((id, obj)), Op::Noop) = (latest, change.op) {
        let obj = obj.to_value().with_context(|| format!("live {id}"))?;
        change.id = id.clone();
        change.api_version = str_at(&obj, "apiVersion").to_string();
        return Ok(Decision {
            change,
            kept: Some(id.clone()),
            target: target(&e.res.id.name, &obj, cfg),
        });
    }
    change.id = e.next.clone();
    if change.op == Op::Update {
        change.op = Op::Create;
    }
    Ok(Decision {
        change,
        kept: None,
        target: target(&e.res.id.name, &e.res.object, cfg),
    })
}

fn str_at<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.at(key).and_then(Value::as_str).unwrap_or_default()
}

fn target(base: &str, obj: &Value, cfg: &Config) -> Target {
    let meta = |k: &str| obj.at("metadata").map_or("", |m| str_at(m, k)).to_string();
    Target {
        base: base.to_string(),
        name: meta("name"),
        namespace: meta("namespace"),
        kind: str_at(obj, "kind").to_string(),
        api_version: str_at(obj, "apiVersion").to_string(),
        rules: cfg
            .template_rules
            .iter()
            .enumerate()
            .filter(|(_, r)| any_matches(&r.matchers, obj))
            .map(|(i, _)| i)
            .collect(),
    }
}

fn item<'a>(e: Entry, d: Decision) -> Item<'a> {
    Item::Decided(Box::new(Decided {
        change: d.change,
        new: d.kept.is_none().then_some(e.res.object),
        existing: d.kept,
    }))
}

/// The latest `num-versions` live versions of each rendered versioned object; older ones are
/// left for the usual deletes. kapp reads the annotation only when versions exist.
fn kept_versions(entries: &[Entry]) -> Result<HashSet<ResourceId>> {
    let mut kept = HashSet::new();
    for e in entries.iter().filter(|e| !e.versions.is_empty()) {
        let keep = num_versions(&e.res.object)
            .with_context(|| format!("{}: {}", e.res.source, e.res.id))?;
        let from = e.versions.len().saturating_sub(keep);
        kept.extend(e.versions[from..].iter().map(|(_, id)| id.clone()));
    }
    Ok(kept)
}

fn num_versions(obj: &Value) -> Result<usize> {
    let text = match annotation(obj, NUM_VERSIONS_ANNOTATION) {
        None => return Ok(DEFAULT_KEEP),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => String::new(),
    };
    let n: i64 = text.parse().map_err(|_| {
        anyhow!("Expected annotation '{NUM_VERSIONS_ANNOTATION}' value to be an integer")
    })?;
    if n < 1 {
        bail!("Expected annotation '{NUM_VERSIONS_ANNOTATION}' value to be a >= 1");
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A rendered object that may hold references.
#[derive(Debug, Clone, Copy)]
enum Holder {
    Slot(usize),
    Entry(usize),
}

/// Which rendered objects each template rule's references may be in, and which carry
/// explicit references — found once: matchers look at kind, apiVersion and annotation keys,
/// which rewriting never changes.
#[derive(Default)]
struct Holders {
    /// Per template rule: the objects and the indexes of the rule's references they match.
    by_rule: Vec<Vec<(Holder, Vec<usize>)>>,
    explicit: Vec<(Holder, Vec<String>)>,
}

impl Holders {
    fn find(cfg: &Config, slots: &[Slot], entries: &[Entry]) -> Holders {
        let objects: Vec<(Holder, &Resource)> = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Item(item) => Some((Holder::Slot(i), item.plain()?)),
                Slot::Versioned(_) => None,
            })
            .chain(
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (Holder::Entry(i), &e.res)),
            )
            .collect();
        let by_rule = cfg
            .template_rules
            .iter()
            .map(|rule| {
                objects
                    .iter()
                    .filter_map(|(h, r)| {
                        let refs: Vec<usize> = (0..rule.refs.len())
                            .filter(|&i| any_matches(&rule.refs[i].matchers, &r.object))
                            .collect();
                        (!refs.is_empty()).then_some((*h, refs))
                    })
                    .collect()
            })
            .collect();
        let explicit = objects
            .iter()
            .map(|(h, r)| (*h, explicit_ref_keys(&r.object)))
            .filter(|(_, keys)| !keys.is_empty())
            .collect();
        Holders { by_rule, explicit }
    }
}

/// Rewrites references to `t` in every rendered object, versioned ones included. Explicit
/// references too are only looked at when some template rule matches `t` (kapp's loop).
fn rewrite_all(
    t: &Target,
    cfg: &Config,
    holders: &Holders,
    slots: &mut [Slot],
    entries: &mut [Entry],
) -> Result<()> {
    if t.rules.is_empty() {
        return Ok(());
    }
    for &ri in &t.rules {
        let (Some(rule), Some(found)) = (cfg.template_rules.get(ri), holders.by_rule.get(ri))
        else {
            continue;
        };
        for (h, refs) in found {
            edit(*h, slots, entries, |obj| {
                let mut changed = false;
                for rr in refs.iter().filter_map(|&i| rule.refs.get(i)) {
                    rr.path.for_each_map(obj, |m| {
                        changed |= t.replace(m, rr.name_key.as_deref());
                    });
                }
                Ok(changed)
            })?;
        }
    }
    for (h, keys) in &holders.explicit {
        edit(*h, slots, entries, |obj| {
            let mut changed = false;
            for key in keys {
                changed |=
                    rewrite_explicit(t, obj, key).with_context(|| format!("annotation {key}"))?;
            }
            Ok(changed)
        })?;
    }
    Ok(())
}

/// Applies `f` (which says whether it changed anything) to a holder's object; a borrowed
/// rendered object is copied only when it changes.
fn edit(
    h: Holder,
    slots: &mut [Slot],
    entries: &mut [Entry],
    f: impl FnOnce(&mut Value) -> Result<bool>,
) -> Result<()> {
    match h {
        Holder::Entry(i) => {
            if let Some(e) = entries.get_mut(i) {
                apply(&mut e.res, f)?;
            }
        }
        Holder::Slot(i) => {
            let Some(Slot::Item(item)) = slots.get_mut(i) else {
                return Ok(());
            };
            match item {
                Item::Rewritten(r) => {
                    apply(r, f)?;
                }
                Item::Plain(r) => {
                    let mut copy = Box::new((*r).clone());
                    if apply(&mut copy, f)? {
                        *item = Item::Rewritten(copy);
                    }
                }
                Item::Decided(_) => {}
            }
        }
    }
    Ok(())
}

fn apply(r: &mut Resource, f: impl FnOnce(&mut Value) -> Result<bool>) -> Result<bool> {
    let changed = f(&mut r.object).with_context(|| context(r))?;
    if changed {
        refresh(r);
    }
    Ok(changed)
}

fn context(r: &Resource) -> String {
    format!("{}: {}", r.source, r.id)
}

impl Target {
    /// kapp's object-reference edit: the name (or `name_key`) equals the base name and any
    /// namespace, kind and apiVersion given match → it becomes the versioned name.
    fn replace(&self, m: &mut Mapping, name_key: Option<&str>) -> bool {
        let key = name_key.unwrap_or("name");
        if m.at(key).and_then(Value::as_str) != Some(self.base.as_str()) {
            return false;
        }
        let checks = [
            ("namespace", &self.namespace),
            ("kind", &self.kind),
            ("apiVersion", &self.api_version),
        ];
        for (k, mine) in checks {
            match m.at(k) {
                None | Some(Value::Null) => {}
                Some(Value::String(v)) if v.is_empty() || v == mine => {}
                Some(_) => return false,
            }
        }
        m.insert(Value::from(key), Value::from(self.name.as_str()));
        true
    }
}

fn explicit_ref_keys(obj: &Value) -> Vec<String> {
    let Some(Value::Mapping(anns)) = obj.at("metadata").and_then(|m| m.at("annotations")) else {
        return Vec::new();
    };
    anns.keys()
        .filter_map(Value::as_str)
        .filter(|k| {
            k.strip_prefix(EXPLICIT_REF_ANNOTATION)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .map(str::to_string)
        .collect()
}

/// A `versioned-explicit-ref` annotation (`{apiVersion, kind, name[, namespace]}` as YAML):
/// the reference is rewritten like a template reference, and kapp writes the annotation back
/// re-serialized (sorted keys) whether or not it matched.
fn rewrite_explicit(t: &Target, obj: &mut Value, key: &str) -> Result<bool> {
    let Some(Value::Mapping(anns)) = obj.at_mut("metadata").and_then(|m| m.at_mut("annotations"))
    else {
        return Ok(false);
    };
    let Some(slot) = anns.at_mut(key) else {
        return Ok(false);
    };
    let Some(text) = slot.as_str() else {
        bail!("a versioned explicit reference must be a string");
    };
    let parsed = crate::yaml::parse_one(text, crate::yaml::Limits::default())
        .context("parsing the versioned explicit reference")?;
    let Value::Mapping(mut r) = parsed else {
        bail!("a versioned explicit reference must be a map of apiVersion, kind and name");
    };
    if ["apiVersion", "kind", "name"]
        .iter()
        .any(|k| !r.contains_key(*k))
    {
        bail!("Expected versioned explicit reference to specify non-empty apiVersion, kind and name keys");
    }
    t.replace(&mut r, None);
    let mut out = String::new();
    crate::yaml::emit_doc_sorted(&Value::Mapping(r), &mut out);
    let changed = text != out;
    *slot = Value::from(out);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::normalize::IDENTITY_ANNOTATION;
    use crate::diff::ops::{diff_session, Options};
    use crate::diff::SessionDiff;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    use crate::diff::testing::set;

    fn app() -> Options {
        Options {
            ownership: Ownership::App {
                key: ownership::APP_LABEL.into(),
                value: Some("1".into()),
            },
            against_original: false,
        }
    }

    fn run_with(docs: &[&str], live: &[Value], opts: &Options) -> Result<SessionDiff> {
        let s = set(docs);
        diff_session(s.0.clone(), &s.1, LiveIndex::new(live.to_vec()), opts)
    }

    fn run(docs: &[&str], live: &[Value]) -> SessionDiff {
        run_with(docs, live, &app()).unwrap()
    }

    fn ops(d: &SessionDiff) -> Vec<(String, Op)> {
        d.changes
            .iter()
            .map(|c| (c.id.name.clone(), c.op))
            .collect()
    }

    /// The live objects after applying `d`'s creates of new names and its updates (what kapp
    /// sent, plus the identity annotation it adds).
    fn applied(d: &SessionDiff) -> Vec<Value> {
        d.changes
            .iter()
            .filter(|c| c.op == Op::Create && c.existing.is_none() || c.op == Op::Update)
            .map(|c| {
                let mut o = c.new.clone().unwrap();
                let identity = format!("v1;{};{}", ownership::identity_key(&c.id), c.api_version);
                let meta = o["metadata"].as_mapping_mut().unwrap();
                meta.entry("annotations".into())
                    .or_insert_with(|| Value::Mapping(Mapping::new()))
                    .as_mapping_mut()
                    .unwrap()
                    .insert(IDENTITY_ANNOTATION.into(), identity.as_str().into());
                o
            })
            .collect()
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {kapp.k14s.io/versioned: ''}}\ndata: {a: '1'}";
    const CM_CHANGED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {kapp.k14s.io/versioned: ''}}\ndata: {a: '2'}";
    const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx
        envFrom: [{configMapRef: {name: cm}}]
        env: [{name: K, valueFrom: {secretKeyRef: {name: creds, key: k}}}]
      volumes:
      - {name: v, configMap: {name: cm}}
      - {name: s, secret: {secretName: creds}}
      - {name: p, projected: {sources: [{configMap: {name: cm}}]}}
      - {name: other, configMap: {name: cm-ver-1}}
"#;

    /// A live version `name` of ConfigMap `cm` as kapp left it (association of the base name).
    fn version(name: &str, data: &str) -> Value {
        let base = ResourceId {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: Some("demo".into()),
            name: "cm".into(),
        };
        y(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: demo, uid: u-{name}, labels: {{kapp.k14s.io/app: '1', kapp.k14s.io/association: {}}}, annotations: {{kapp.k14s.io/versioned: '', kapp.k14s.io/identity: 'v1;demo//ConfigMap/{name};v1'}}}}\ndata: {data}",
            ownership::association_value(&base)
        ))
    }

    fn refs(d: &SessionDiff, name: &str) -> Vec<String> {
        let web = d.changes.iter().find(|c| c.id.name == name).unwrap();
        let spec = &web.new.as_ref().unwrap()["spec"]["template"]["spec"];
        vec![
            spec["containers"][0]["envFrom"][0]["configMapRef"]["name"].clone(),
            spec["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"].clone(),
            spec["volumes"][0]["configMap"]["name"].clone(),
            spec["volumes"][1]["secret"]["secretName"].clone(),
            spec["volumes"][2]["projected"]["sources"][0]["configMap"]["name"].clone(),
            spec["volumes"][3]["configMap"]["name"].clone(),
        ]
        .into_iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
    }

    #[test]
    fn split_version_takes_the_last_suffix_and_digits_only() {
        assert_eq!(split_version("cm-ver-3"), Some(("cm", 3)));
        assert_eq!(split_version("a-ver-b-ver-12"), Some(("a-ver-b", 12)));
        assert_eq!(split_version("cm"), None);
        assert_eq!(split_version("cm-ver-"), None);
        assert_eq!(split_version("cm-ver-x"), None);
        assert_eq!(split_version("cm-ver-+1"), None);
        assert_eq!(split_version("cm-ver-99999999999999999999999"), None);
        assert_eq!(split_version("-ver-ver-1"), Some(("-ver", 1)));
        assert_eq!(split_version("x-ver-5-ver-3b"), None);
        assert_eq!(split_version("x-ver-1a-ver-"), None);
        assert_eq!(split_version("x-ver-7-ver-08"), Some(("x-ver-7", 8)));
        assert_eq!(split_version("ver-1"), None);
        assert_eq!(split_version("svc-0-config-3"), None);
    }

    #[test]
    fn first_deploy_creates_version_one_and_rewrites_references() {
        let d = run(&[CM, WEB], &[]);
        assert_eq!(
            ops(&d),
            vec![("cm-ver-1".into(), Op::Create), ("web".into(), Op::Create)]
        );
        let cm = d.changes[0].new.as_ref().unwrap();
        assert_eq!(cm["metadata"]["name"], "cm-ver-1");
        // The association label is the base name's, as kapp computes it before renaming.
        assert_eq!(
            ownership::label(cm, ownership::ASSOCIATION_LABEL),
            Some(
                ownership::association_value(&ResourceId {
                    name: "cm".into(),
                    ..d.changes[0].id.clone()
                })
                .as_str()
            )
        );
        assert_eq!(
            refs(&d, "web"),
            vec!["cm-ver-1", "creds", "cm-ver-1", "creds", "cm-ver-1", "cm-ver-1"]
        );
    }

    #[test]
    fn unchanged_keeps_the_latest_version_and_changed_creates_the_next() {
        let first = run(&[CM, WEB], &[]);
        let live = applied(&first);
        // Same input again: the latest version stays (noop), nothing is created.
        let d = run(&[CM, WEB], &live);
        assert_eq!(
            ops(&d),
            vec![("cm-ver-1".into(), Op::Noop), ("web".into(), Op::Noop)]
        );
        // Changed data: the next version, diffed against the latest; the Deployment follows.
        let d = run(&[CM_CHANGED, WEB], &live);
        assert_eq!(
            ops(&d),
            vec![("cm-ver-2".into(), Op::Create), ("web".into(), Op::Update)]
        );
        let cm = &d.changes[0];
        assert_eq!(cm.changed_paths, vec!["data.a"]);
        assert_eq!(cm.existing.as_ref().unwrap()["data"]["a"], "1");
        assert_eq!(cm.new.as_ref().unwrap()["data"]["a"], "2");
        assert_eq!(
            d.changes[1].changed_paths,
            vec![
                "spec.template.spec.containers[0].envFrom[0].configMapRef.name",
                "spec.template.spec.volumes[0].configMap.name",
                "spec.template.spec.volumes[2].projected.sources[0].configMap.name",
            ]
        );
    }

    #[test]
    fn diff_filter_sees_the_versioned_change() {
        let live = applied(&run(&[CM, WEB], &[]));
        let s = set(&[CM_CHANGED, WEB]);
        let filtered = |f: &str| {
            let f = crate::diff::filter::Filter::parse(f).unwrap();
            let d = crate::diff::ops::diff_session_filtered(
                s.0.clone(),
                &s.1,
                LiveIndex::new(live.clone()),
                &app(),
                Some(&f),
            )
            .unwrap();
            ops(&d)
        };
        assert_eq!(filtered("update"), vec![("web".into(), Op::Update)]);
        assert_eq!(
            filtered(r#"{"newResource":{"names":["cm-ver-*"]}}"#),
            vec![("cm-ver-2".into(), Op::Create)]
        );
    }

    #[test]
    fn old_versions_beyond_num_versions_are_deleted() {
        let live = [
            version("cm-ver-1", "{a: '0'}"),
            version("cm-ver-2", "{a: '0'}"),
            version("cm-ver-10", "{a: '1'}"),
        ];
        // Unchanged against ver-10 (sorted by number, not name): kept; the default keeps 5.
        let d = run(&[CM], &live);
        assert_eq!(ops(&d), vec![("cm-ver-10".into(), Op::Noop)]);
        let keep_two = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {kapp.k14s.io/versioned: '', kapp.k14s.io/num-versions: '2'}}\ndata: {a: '2'}";
        let d = run(&[keep_two], &live);
        assert_eq!(
            ops(&d),
            vec![
                ("cm-ver-11".into(), Op::Create),
                ("cm-ver-1".into(), Op::Delete)
            ]
        );
        // No longer rendered: every version goes.
        let d = run(&[], &live);
        assert_eq!(d.changes.len(), 3);
        assert!(d.changes.iter().all(|c| c.op == Op::Delete));
    }

    #[test]
    fn bad_num_versions_is_an_error_once_versions_exist() {
        let bad = |v: &str| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm, annotations: {{kapp.k14s.io/versioned: '', kapp.k14s.io/num-versions: '{v}'}}}}\ndata: {{a: '1'}}")
        };
        for (v, msg) in [("x", "an integer"), ("0", ">= 1")] {
            let doc = bad(v);
            // kapp reads it only when deciding which old versions to keep.
            assert!(run_with(&[&doc], &[], &app()).is_ok());
            let e = format!(
                "{:#}",
                run_with(&[&doc], &[version("cm-ver-1", "{a: '1'}")], &app()).unwrap_err()
            );
            assert!(e.contains("t.yaml:1") && e.contains(msg), "{e}");
        }
    }

    #[test]
    fn keep_original_also_deploys_the_plain_object() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {kapp.k14s.io/versioned: '', kapp.k14s.io/versioned-keep-original: ''}}\ndata: {a: '1'}";
        let d = run(&[cm], &[]);
        assert_eq!(
            ops(&d),
            vec![("cm-ver-1".into(), Op::Create), ("cm".into(), Op::Create)]
        );
        assert_eq!(d.changes[1].new.as_ref().unwrap()["metadata"]["name"], "cm");
    }

    #[test]
    fn plain_objects_named_like_versions_are_untouched() {
        // Not annotated: `x-ver-2` is an ordinary name, and a live `cm-ver-3` without the
        // annotation is no version of `cm` (just a leftover of this app).
        let plain = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x-ver-2}\ndata: {a: '1'}";
        let mut unannotated = version("cm-ver-3", "{a: '1'}");
        unannotated["metadata"]["annotations"]
            .as_mapping_mut()
            .unwrap()
            .remove(VERSIONED_ANNOTATION);
        let d = run(&[plain, CM], &[unannotated]);
        assert_eq!(
            ops(&d),
            vec![
                ("x-ver-2".into(), Op::Create),
                ("cm-ver-1".into(), Op::Create),
                ("cm-ver-3".into(), Op::Delete),
            ]
        );
        // Another app's versions and controller-made copies are not ours to continue.
        let mut theirs = version("cm-ver-4", "{a: '1'}");
        theirs["metadata"]["labels"]["kapp.k14s.io/app"] = "2".into();
        let mut transient = version("cm-ver-5", "{a: '1'}");
        transient["metadata"]["annotations"]
            .as_mapping_mut()
            .unwrap()
            .remove(IDENTITY_ANNOTATION);
        let d = run(&[CM], &[theirs, transient]);
        assert_eq!(ops(&d), vec![("cm-ver-1".into(), Op::Create)]);
    }

    #[test]
    fn turning_versioning_on_deletes_the_unsuffixed_object() {
        let mut old = version("cm", "{a: '1'}");
        old["metadata"]["annotations"] = y("{kapp.k14s.io/identity: 'v1;demo//ConfigMap/cm;v1'}");
        let d = run(&[CM], &[old]);
        assert_eq!(
            ops(&d),
            vec![("cm-ver-1".into(), Op::Create), ("cm".into(), Op::Delete)]
        );
    }

    #[test]
    fn without_an_app_unfound_versions_are_a_warning() {
        let d = run_with(&[CM], &[], &Options::default()).unwrap();
        assert_eq!(ops(&d), vec![("cm-ver-1".into(), Op::Create)]);
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0].contains("kapp.k14s.io/versioned (cm)")
                && d.warnings[0].contains("--app"),
            "{:?}",
            d.warnings
        );
        // The versions are in the live set: found through their own app label.
        let d = run_with(
            &[CM],
            &[version("cm-ver-1", "{a: '1'}")],
            &Options::default(),
        )
        .unwrap();
        assert_eq!(ops(&d), vec![("cm-ver-1".into(), Op::Noop)]);
        assert!(d.warnings.is_empty());
        // Named app: nothing to warn about.
        assert!(run(&[CM], &[]).warnings.is_empty());
    }

    #[test]
    fn kubectl_deployer_applies_objects_as_rendered() {
        let opts = Options {
            ownership: Ownership::Labels {
                key: "kpipe.dev/app".into(),
                value: "a".into(),
            },
            against_original: false,
        };
        let d = run_with(&[CM, WEB], &[], &opts).unwrap();
        assert_eq!(
            ops(&d),
            vec![("cm".into(), Op::Create), ("web".into(), Op::Create)]
        );
        assert_eq!(refs(&d, "web")[0], "cm");
    }

    #[test]
    fn references_settle_between_versioned_objects_and_follow_user_template_rules() {
        // A versioned Deployment referencing a versioned Secret, and a custom resource whose
        // reference only a user Config's templateRules describe.
        let creds = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, annotations: {kapp.k14s.io/versioned: ''}}\nstringData: {k: v}";
        let web = WEB.replace(
            "metadata: {name: web}",
            "metadata: {name: web, annotations: {kapp.k14s.io/versioned: ''}}",
        );
        let cfg = "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\ntemplateRules:\n- resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Secret}}]\n  affectedResources:\n    objectReferences:\n    - path: [spec, credentials]\n      resourceMatchers: [{apiGroupKindMatcher: {apiGroup: x.io, kind: Thing}}]\n      nameKey: secretRef";
        let thing = "apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\nspec: {credentials: {secretRef: creds, kind: Secret}}";
        let d = run(&[&web, creds, cfg, thing], &[]);
        assert_eq!(
            ops(&d),
            vec![
                ("web-ver-1".into(), Op::Create),
                ("creds-ver-1".into(), Op::Create),
                ("t".into(), Op::Create),
            ]
        );
        // The Secret comes after the Deployment: only the second pass rewrites these.
        assert_eq!(refs(&d, "web-ver-1")[1], "creds-ver-1");
        assert_eq!(refs(&d, "web-ver-1")[3], "creds-ver-1");
        assert_eq!(
            d.changes[2].new.as_ref().unwrap()["spec"]["credentials"]["secretRef"],
            "creds-ver-1"
        );
    }

    #[test]
    fn references_match_namespace_kind_and_api_version_when_given() {
        let t = Target {
            base: "cm".into(),
            name: "cm-ver-2".into(),
            namespace: "demo".into(),
            kind: "ConfigMap".into(),
            api_version: "v1".into(),
            rules: vec![0],
        };
        let check = |m: &str, key: Option<&str>| {
            let mut v = y(m);
            t.replace(v.as_mapping_mut().unwrap(), key);
            v
        };
        assert_eq!(check("{name: cm}", None)["name"], "cm-ver-2");
        assert_eq!(
            check(
                "{name: cm, namespace: demo, kind: ConfigMap, apiVersion: v1}",
                None
            )["name"],
            "cm-ver-2"
        );
        assert_eq!(check("{name: cm, namespace: ''}", None)["name"], "cm-ver-2");
        assert_eq!(check("{name: cm, namespace: other}", None)["name"], "cm");
        assert_eq!(check("{name: cm, kind: Secret}", None)["name"], "cm");
        assert_eq!(check("{name: cm, apiVersion: v2}", None)["name"], "cm");
        assert_eq!(check("{name: cm, kind: 3}", None)["name"], "cm");
        assert_eq!(check("{name: other}", None)["name"], "other");
        assert_eq!(
            check("{secretName: cm, name: x}", Some("secretName"))["secretName"],
            "cm-ver-2"
        );
    }

    #[test]
    fn explicit_references_are_rewritten_and_reserialized() {
        let c2 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\n  annotations:\n    kapp.k14s.io/versioned-explicit-ref: '{name: cm, kind: ConfigMap, apiVersion: v1}'\n    kapp.k14s.io/versioned-explicit-ref.other: '{apiVersion: v1, kind: ConfigMap, name: c9}'\n    kapp.k14s.io/versioned-explicit-reference: 'not ours'\ndata: {a: '1'}";
        let d = run(&[CM, c2], &[]);
        let anns = &d.changes[1].new.as_ref().unwrap()["metadata"]["annotations"];
        assert_eq!(
            anns[EXPLICIT_REF_ANNOTATION],
            "apiVersion: v1\nkind: ConfigMap\nname: cm-ver-1\n"
        );
        assert_eq!(
            anns["kapp.k14s.io/versioned-explicit-ref.other"],
            "apiVersion: v1\nkind: ConfigMap\nname: c9\n"
        );
        assert_eq!(
            anns["kapp.k14s.io/versioned-explicit-reference"],
            "not ours"
        );
        let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c2, annotations: {kapp.k14s.io/versioned-explicit-ref.x: '{name: cm}'}}";
        let e = format!("{:#}", run_with(&[CM, bad], &[], &app()).unwrap_err());
        assert!(
            e.contains("t.yaml:2")
                && e.contains("versioned-explicit-ref.x")
                && e.contains("apiVersion, kind and name"),
            "{e}"
        );
    }
}
