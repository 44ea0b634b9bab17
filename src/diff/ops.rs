//! Pairing rendered and live objects by identity and deciding each resource's op.

use super::config::{config_map_payload, is_config_doc, Config};
use super::filter::{Filter, Subject};
use super::normalize;
use super::ownership::{self, Ownership};
use super::text::sorted_yaml;
use super::versioned::{self, Item, Versions};
use super::{changed_paths, same, Change, Op, SessionDiff};
use crate::live::{LiveObject, Partial};
use crate::lookup::Lookup;
use crate::manifest::{ManifestSet, Resource, ResourceId, SourcedDoc};
use anyhow::{Context, Result};
use serde_yaml::Value;
use std::borrow::Cow;
use std::hash::BuildHasher;

pub const NOOP_ANNOTATION: &str = "kapp.k14s.io/noop";
pub const EXISTS_ANNOTATION: &str = "kapp.k14s.io/exists";
pub const DISABLE_ORIGINAL_ANNOTATION: &str = "kapp.k14s.io/disable-original";
pub const ORIGINAL_ANNOTATION: &str = "kapp.k14s.io/original";
pub const NONCE_ANNOTATION: &str = "kapp.k14s.io/nonce";
/// What the nonce shows as: kapp fills in the deploy time, so it always differs from live.
pub const NONCE_PLACEHOLDER: &str = "(new nonce at deploy)";
/// Label of kapp's app-record ConfigMaps: never a resource to diff or delete.
pub const IS_APP_LABEL: &str = "kapp.k14s.io/is-app";

/// How to diff.
#[derive(Debug, Clone)]
pub struct Options {
    pub ownership: Ownership,
    /// Diff against the `kapp.k14s.io/original` copy when present (kapp verifies it with an
    /// md5 kpipe cannot reproduce, so this trusts it unverified); off = against live.
    pub against_original: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ownership: Ownership::Inferred,
            against_original: false,
        }
    }
}

/// Live objects by identity, in the order the source listed them.
#[derive(Debug, Default, Clone)]
pub struct LiveIndex {
    objects: Vec<(ResourceId, LiveObject)>,
    /// Positions in `objects`, found by the identity stored there (not a second copy of it).
    by_id: hashbrown::HashTable<usize>,
    hasher: foldhash::fast::RandomState,
}

impl LiveIndex {
    /// Indexes objects; ones without an identity are skipped, a repeated identity keeps the
    /// first (the source may list an object both by name and by label).
    pub fn new(objects: Vec<Value>) -> LiveIndex {
        LiveIndex::identified(
            objects
                .into_iter()
                .filter_map(|o| Some((ResourceId::of(&o)?, LiveObject::whole(o))))
                .collect(),
        )
    }

    /// Indexes objects whose identities are known; a repeated identity keeps the first.
    pub fn identified(objects: Vec<crate::live::Identified>) -> LiveIndex {
        let mut idx = LiveIndex {
            objects: Vec::with_capacity(objects.len()),
            by_id: hashbrown::HashTable::with_capacity(objects.len()),
            hasher: foldhash::fast::RandomState::default(),
        };
        for (id, o) in objects {
            let hash = idx.hasher.hash_one(&id);
            let listed = &idx.objects;
            let hasher = &idx.hasher;
            match idx.by_id.entry(
                hash,
                |&i| listed[i].0 == id,
                |&i| hasher.hash_one(&listed[i].0),
            ) {
                hashbrown::hash_table::Entry::Occupied(_) => {}
                hashbrown::hash_table::Entry::Vacant(e) => {
                    e.insert(idx.objects.len());
                    idx.objects.push((id, o));
                }
            }
        }
        idx
    }

    fn position(&self, id: &ResourceId) -> Option<usize> {
        let objects = &self.objects;
        self.by_id
            .find(self.hasher.hash_one(id), |&i| objects[i].0 == *id)
            .copied()
    }

    pub fn get(&self, id: &ResourceId) -> Option<&LiveObject> {
        self.position(id).map(|i| &self.objects[i].1)
    }

    /// Moves an object out (the diff edits live copies in place instead of cloning them);
    /// its identity stays listed, holding null.
    pub fn take(&mut self, id: &ResourceId) -> Option<LiveObject> {
        let objects = &self.objects;
        let entry = self
            .by_id
            .find_entry(self.hasher.hash_one(id), |&i| objects[i].0 == *id)
            .ok()?;
        let (i, _) = entry.remove();
        Some(std::mem::take(&mut self.objects[i].1))
    }

    pub fn iter(&self) -> impl Iterator<Item = &(ResourceId, LiveObject)> {
        self.objects.iter()
    }

    /// The identities of the objects not taken, in no particular order.
    pub fn untaken(&self) -> impl Iterator<Item = &ResourceId> {
        self.by_id
            .iter()
            .filter_map(|&i| self.objects.get(i).map(|(id, _)| id))
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Splits a rendered set into its effective kapp Config and the resources to apply. Config
/// documents usually have no name, so they may also come separately in `configs`.
pub fn split_config<'a>(
    set: &'a ManifestSet,
    configs: &[SourcedDoc],
) -> Result<(Config, Vec<&'a Resource>)> {
    let mut cfg = Config::defaults();
    // Warnings name the Config they come from.
    let add = |cfg: &mut Config, doc: &Value, from: String| -> Result<()> {
        let before = cfg.unsupported.len();
        cfg.add_doc(doc).with_context(|| from.clone())?;
        for w in &mut cfg.unsupported[before..] {
            *w = format!("{from}: {w}");
        }
        Ok(())
    };
    for c in configs {
        add(&mut cfg, &c.value, format!("{}: kapp Config", c.source))?;
    }
    let mut resources = Vec::with_capacity(set.resources.len());
    for r in &set.resources {
        if is_config_doc(&r.object) {
            add(
                &mut cfg,
                &r.object,
                format!("{}: kapp Config {}", r.source, r.id.name),
            )?;
            continue;
        }
        if let Some(payload) = config_map_payload(&r.object) {
            let doc = crate::yaml::parse_one(payload, crate::yaml::Limits::default())
                .with_context(|| format!("{}: {} data[config.yml]", r.source, r.id))?;
            add(
                &mut cfg,
                &doc,
                format!("{}: {} data[config.yml]", r.source, r.id),
            )?;
        }
        resources.push(r);
    }
    Ok((cfg, resources))
}

fn annotations(obj: &Value) -> impl Iterator<Item = (&str, &Value)> {
    obj.at("metadata")
        .and_then(|m| m.at("annotations"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flat_map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?, v))))
}

fn change_groups(obj: &Value) -> Vec<String> {
    annotations(obj)
        .filter(|(k, _)| {
            *k == "kapp.k14s.io/change-group" || k.starts_with("kapp.k14s.io/change-group.")
        })
        .filter_map(|(_, v)| v.as_str().map(str::to_string))
        .collect()
}

fn original_of(live: &Value) -> Option<Value> {
    let text = live
        .at("metadata")?
        .at("annotations")?
        .at(ORIGINAL_ANNOTATION)?
        .as_str()?;
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    serde_yaml::to_value(json).ok()
}

/// Diffs one session's rendered set against the live index.
pub fn diff_session(
    set: ManifestSet,
    configs: &[SourcedDoc],
    live: LiveIndex,
    opts: &Options,
) -> Result<SessionDiff> {
    diff_session_filtered(set, configs, live, opts, None)
}

/// [`diff_session`], keeping only the changes `filter` matches (`--diff-filter`). Conflicts are
/// always kept: kapp refuses the whole deploy over them, whatever the filter.
pub fn diff_session_filtered(
    set: ManifestSet,
    configs: &[SourcedDoc],
    mut live: LiveIndex,
    opts: &Options,
    filter: Option<&Filter>,
) -> Result<SessionDiff> {
    let (cfg, resources) = split_config(&set, configs)?;
    let key = opts.ownership.key().to_string();
    let versions = Versions::of(&live, &opts.ownership);

    // Owner label values that count as "this app" (for deletes and label insertion).
    let owners: Vec<String> = match &opts.ownership {
        Ownership::App { value, .. } => value.iter().cloned().collect(),
        Ownership::Labels { value, .. } => vec![value.clone()],
        Ownership::Inferred => {
            let mut seen = Vec::new();
            for r in &resources {
                let l = versions.live_of(r, &live);
                if let Some(v) = l.and_then(|l| ownership::owner_of(l, &key)) {
                    if !seen.iter().any(|s| s == v) {
                        seen.push(v.to_string());
                    }
                }
            }
            seen
        }
    };
    // The value kapp would stamp on objects it creates or adopts, when there is exactly one.
    let plain = matches!(opts.ownership, Ownership::Labels { .. });
    let stamp = match owners.as_slice() {
        [one] if !plain => Some(one.clone()),
        _ => None,
    };

    // Versioned objects are decided on borrowed copies (rare; they may be diffed twice).
    let diff_ref = |r: &Resource, l: Option<&LiveObject>| {
        let l = l
            .map(LiveObject::to_value)
            .transpose()
            .with_context(|| format!("live {}", r.id))?;
        let object = r.complete(r.object.clone())?;
        diff_resource(r, object, l, &cfg, &key, stamp.as_deref(), opts)
            .with_context(|| format!("{}: {}", r.source, r.id))
    };
    let resolved = versioned::resolve(&resources, &versions, &live, &cfg, diff_ref)?;
    // The rendered objects the diff edits are moved out of the set, not cloned: rendered
    // objects are found by position (a resource is `Plain` in at most one item, so each is
    // taken once).
    let work: Vec<Work> = resolved
        .items
        .into_iter()
        .map(|i| match i {
            Item::Plain(r) => Work::Rendered(position_of(&set.resources, r).unwrap_or(usize::MAX)),
            Item::Rewritten(r) => Work::Rewritten(r),
            Item::Decided(d) => Work::Decided(d),
        })
        .collect();
    let kept = resolved.kept;
    let unfound = versioned::unfound_versions(&resources, &versions, &opts.ownership, &owners);
    drop(resources);
    let mut set = set;
    let taken: Vec<Option<Value>> = work
        .iter()
        .map(|w| match w {
            Work::Rendered(i) => set
                .resources
                .get_mut(*i)
                .map(|r| std::mem::take(&mut r.object)),
            _ => None,
        })
        .collect();
    let set = set;
    // Every live object a rendered one accounts for is taken here (rewritten ones too),
    // apart from versions kept as they are.
    let pairs: Vec<(Work, Option<Value>, Option<LiveObject>)> = work
        .into_iter()
        .zip(taken)
        .map(|(w, object)| {
            let l = match &w {
                Work::Rendered(i) => set.resources.get(*i).and_then(|r| live.take(&r.id)),
                Work::Rewritten(r) => live.take(&r.id),
                Work::Decided(d) => filter
                    .and(d.existing.as_ref())
                    .and_then(|id| live.get(id).cloned()),
            };
            (w, object, l)
        })
        .collect();
    // Live objects no rendered one accounts for: delete candidates. Deletes in identity order
    // (kind, then namespace and name), whatever order the source listed them in, so cluster
    // and snapshot reports are identical.
    let mut leftovers: Vec<ResourceId> = live
        .untaken()
        .filter(|id| !kept.contains(*id))
        .cloned()
        .collect();
    leftovers.sort_by(|a, b| {
        (&a.group, &a.kind, &a.namespace, &a.name).cmp(&(&b.group, &b.kind, &b.namespace, &b.name))
    });
    // Room for the deletes: growing a list of 10,000 changes would copy megabytes.
    let changes = super::par_map_with_room(pairs, leftovers.len(), |(w, object, l)| {
        // The usual case: a rendered object and a live one, compared in part where they can be.
        let (w, object, l) = match (w, object, l) {
            (Work::Rendered(i), Some(head), Some(live))
                if filter.is_none() && !opts.against_original =>
            {
                let Some(r) = set.resources.get(i) else {
                    anyhow::bail!("internal error: a rendered object went missing");
                };
                let object = r.complete(head)?;
                return diff_split(r, object, live, &cfg, &key, stamp.as_deref(), opts).map(Some);
            }
            other => other,
        };
        // A live object is built whole here, in the thread that compares it.
        let l = match l.map(LiveObject::into_value).transpose() {
            Ok(l) => l,
            Err(e) => {
                let id = match &w {
                    Work::Rendered(i) => set.resources.get(*i).map(|r| r.id.to_string()),
                    Work::Rewritten(r) => Some(r.id.to_string()),
                    Work::Decided(d) => d.existing.as_ref().map(ToString::to_string),
                };
                return Err(e.context(format!("live {}", id.unwrap_or_default())));
            }
        };
        let (r, object) = match w {
            Work::Rendered(i) => match (set.resources.get(i), object) {
                // Read head first (`--files`): the rest is parsed here, in parallel.
                (Some(r), Some(object)) => (Cow::Borrowed(r), r.complete(object)?),
                _ => anyhow::bail!("internal error: a rendered object went missing"),
            },
            Work::Rewritten(mut r) => {
                let head = std::mem::take(&mut r.object);
                let object = r.complete(head)?;
                (Cow::Owned(*r), object)
            }
            Work::Decided(d) => {
                let c = d.change;
                return Ok(keep(filter, c.op, &c.id, d.new.as_ref(), l.as_ref()).then_some(c));
            }
        };
        // The filter looks at both objects as given; the diff consumes them.
        let listed = filter.and_then(|_| l.clone());
        let given = filter.map(|_| object.clone());
        let c = diff_resource(&r, object, l, &cfg, &key, stamp.as_deref(), opts)
            .with_context(|| format!("{}: {}", r.source, r.id))?;
        Ok(keep(filter, c.op, &c.id, given.as_ref(), listed.as_ref()).then_some(c))
    })?;
    // In place, keeping the room (`filter_map` is collected in place, `flatten` is not).
    #[allow(clippy::filter_map_identity)]
    let mut changes: Vec<Change> = changes.into_iter().filter_map(|c| c).collect();
    for id in &leftovers {
        let Some(listed) = live.get(id) else {
            continue;
        };
        let Some(owner) = ownership::owner_of(listed, &key) else {
            continue;
        };
        if !owners.iter().any(|o| o == owner)
            || ownership::label(listed, IS_APP_LABEL).is_some()
            || (!plain && ownership::is_transient(listed, id))
        {
            continue;
        }
        // Only deletes are built whole.
        let whole = listed.to_value().with_context(|| format!("live {id}"))?;
        let obj = &whole;
        if !keep(filter, Op::Delete, id, None, Some(obj)) {
            continue;
        }
        changes.push(Change {
            id: id.clone(),
            api_version: api_version(obj),
            op: Op::Delete,
            existing: Some(normalize::single(obj, &cfg, true)),
            new: None,
            source: None,
            change_groups: change_groups(obj),
            changed_paths: Vec::new(),
            reason: None,
            texts: None,
        });
    }
    Ok(SessionDiff {
        session: set.session.clone(),
        changes,
        warnings: cfg.unsupported.iter().cloned().chain(unfound).collect(),
        mask_rules: cfg.mask_rules.clone(),
    })
}

/// The position in `all` of `r`, a reference into it: found by address, which costs nothing,
/// where hashing 10,000 identities (four strings each, spread over the heap) costs much.
fn position_of(all: &[Resource], r: &Resource) -> Option<usize> {
    let offset = (r as *const Resource as usize).checked_sub(all.as_ptr() as usize)?;
    let i = offset / std::mem::size_of::<Resource>().max(1);
    all.get(i).filter(|x| std::ptr::eq(*x, r)).map(|_| i)
}

/// A resolved item with its rendered object found by position in the set.
enum Work {
    Rendered(usize),
    Rewritten(Box<Resource>),
    Decided(Box<versioned::Decided>),
}

/// Whether `--diff-filter` keeps a change (no filter keeps everything; conflicts always stay).
fn keep(
    filter: Option<&Filter>,
    op: Op,
    id: &ResourceId,
    new: Option<&Value>,
    existing: Option<&Value>,
) -> bool {
    let Some(f) = filter else { return true };
    op == Op::Conflict
        || f.matches(&Subject {
            op,
            kind: &id.kind,
            namespace: id.namespace.as_deref().unwrap_or(""),
            name: &id.name,
            new,
            existing,
        })
}

fn api_version(obj: &Value) -> String {
    obj.at("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A live object as [`diff_resource`] gets it.
enum Live<'a> {
    Whole(Value),
    /// Built in part (the fields the sides read); the rest is compared as JSON text, and the
    /// whole object built only when the two differ.
    Part(Partial<'a>, &'a LiveObject),
}

impl Live<'_> {
    /// The live object, or the part of it built: its metadata in either case.
    fn value(&self) -> &Value {
        match self {
            Live::Whole(v) => v,
            Live::Part(p, _) => &p.value,
        }
    }
}

/// [`diff_resource`] with a live object built only in the part the sides read, when it can be.
fn diff_split(
    r: &Resource,
    object: Value,
    live: LiveObject,
    cfg: &Config,
    key: &str,
    stamp: Option<&str>,
    opts: &Options,
) -> Result<Change> {
    let fields = match live
        .is_split()
        .then(|| normalize::live_fields_read(&object, cfg))
        .flatten()
    {
        Some(fields) => fields,
        // Held whole (a YAML snapshot), or every field may be read: moved in whole.
        _ => {
            let whole = live
                .into_value()
                .with_context(|| format!("live {}", r.id))?;
            return diff_resource_with(r, object, Some(Live::Whole(whole)), cfg, key, stamp, opts);
        }
    };
    let live = &live;
    // A split object never holds `status` (see `LiveObject::head`).
    let head_only = fields
        .iter()
        .all(|k| matches!(*k, "apiVersion" | "kind" | "metadata" | "status"));
    let part = if head_only {
        live.head()
    } else {
        live.partial(&|k| fields.contains(&k))
    }
    .with_context(|| format!("live {}", r.id))?;
    let live = match part {
        Some(p) => Live::Part(p, live),
        None => Live::Whole(live.to_value().with_context(|| format!("live {}", r.id))?),
    };
    // Only building the live object in full can fail here.
    diff_resource_with(r, object, Some(live), cfg, key, stamp, opts)
        .with_context(|| format!("live {}", r.id))
}

/// Diffs rendered resource `r`, whose object is given apart (`r.object` is not read).
fn diff_resource(
    r: &Resource,
    object: Value,
    live: Option<Value>,
    cfg: &Config,
    key: &str,
    stamp: Option<&str>,
    opts: &Options,
) -> Result<Change> {
    diff_resource_with(r, object, live.map(Live::Whole), cfg, key, stamp, opts)
}

fn diff_resource_with(
    r: &Resource,
    mut object: Value,
    live: Option<Live>,
    cfg: &Config,
    key: &str,
    stamp: Option<&str>,
    opts: &Options,
) -> Result<Change> {
    let annotated = |o: &Value, a: &str| ownership::has_annotation(o, a);
    let (noop, exists, disable_original) = (
        annotated(&object, NOOP_ANNOTATION),
        annotated(&object, EXISTS_ANNOTATION),
        annotated(&object, DISABLE_ORIGINAL_ANNOTATION),
    );
    let groups = change_groups(&object);
    if let Some(Value::Mapping(anns)) = object
        .at_mut("metadata")
        .and_then(|m| m.at_mut("annotations"))
    {
        if let (Some(v), false) = (
            anns.at_mut(NONCE_ANNOTATION),
            matches!(opts.ownership, Ownership::Labels { .. }),
        ) {
            *v = Value::from(NONCE_PLACEHOLDER);
        }
    }
    let mut change = Change {
        id: r.id.clone(),
        api_version: r.api_version.clone(),
        op: Op::Noop,
        existing: None,
        new: None,
        source: Some(r.source.clone()),
        change_groups: groups,
        changed_paths: Vec::new(),
        reason: None,
        texts: None,
    };
    if noop {
        change.reason = Some(format!("annotated {NOOP_ANNOTATION}"));
        return Ok(change);
    }
    let Some(live) = live else {
        if exists {
            change.op = Op::Exists;
            change.reason = Some(format!(
                "annotated {EXISTS_ANNOTATION}: waits for it to be created elsewhere"
            ));
            return Ok(change);
        }
        let mut new = object;
        if let Some(v) = stamp {
            ownership::insert_labels(&mut new, &r.id, key, v, cfg);
        }
        change.op = Op::Create;
        change.new = Some(normalize::single(&new, cfg, false));
        return Ok(change);
    };
    if exists {
        change.reason = Some(format!("annotated {EXISTS_ANNOTATION} and present"));
        return Ok(change);
    }
    let live_owner = ownership::owner_of(live.value(), key);
    let conflict = match (&opts.ownership, live_owner) {
        (Ownership::App { value, .. }, Some(owner)) if value.as_deref() != Some(owner) => {
            Some(format!(
                "owned by another kapp app (label {}={owner}){}",
                if ownership::label(live.value(), key).is_some() {
                    key
                } else {
                    ownership::APP_LABEL
                },
                match value {
                    Some(v) => format!("; this app's label is {key}={v}"),
                    None => "; this app does not exist yet".to_string(),
                }
            ))
        }
        (Ownership::Labels { value, .. }, Some(owner)) if value != owner => Some(format!(
            "owned by another app (label {}={owner}); this app's label is {key}={value}",
            if ownership::label(live.value(), key).is_some() {
                key
            } else {
                ownership::APP_LABEL
            }
        )),
        _ => None,
    };
    let mut new = object;
    let value = match &opts.ownership {
        Ownership::App { value, .. } => value.as_deref(),
        Ownership::Labels { .. } => None,
        Ownership::Inferred => live_owner.or(stamp),
    };
    if let Some(v) = value.filter(|_| conflict.is_none()) {
        ownership::insert_labels(&mut new, &r.id, key, v, cfg);
    }
    let original = if opts.against_original && !disable_original {
        original_of(live.value())
    } else {
        None
    };
    let sides = match live {
        Live::Whole(live) => normalize::sides(new, live, original.as_ref(), cfg),
        Live::Part(mut part, whole) if original.is_none() => {
            let l = normalize::live_side(std::mem::take(&mut part.value), cfg);
            let right = normalize::new_side(new, &l, cfg);
            if conflict.is_none() && part.equal(&l, &right) == Some(true) {
                return Ok(change);
            }
            normalize::Sides {
                existing: normalize::live_side(whole.to_value()?, cfg),
                new: right,
            }
        }
        Live::Part(_, whole) => normalize::sides(new, whole.to_value()?, original.as_ref(), cfg),
    };
    // Equal values render to equal text; only unequal ones need rendering to decide (kapp
    // decides on the text).
    let texts = (!same(&sides.existing, &sides.new))
        .then(|| [sorted_yaml(&sides.existing), sorted_yaml(&sides.new)]);
    let differs = texts.as_ref().is_some_and(|[l, r]| l != r);
    change.op = match (&conflict, differs) {
        (Some(_), _) => Op::Conflict,
        (None, true) => Op::Update,
        (None, false) => Op::Noop,
    };
    change.reason = conflict;
    if change.op != Op::Noop {
        change.changed_paths = changed_paths(Some(&sides.existing), Some(&sides.new));
        change.existing = Some(sides.existing);
        change.new = Some(sides.new);
        change.texts = texts.map(Box::new);
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_found_by_address_only_in_their_own_list() {
        let (set, _) = crate::diff::testing::set(&[
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}",
        ]);
        let all = &set.resources;
        assert_eq!(position_of(all, &all[0]), Some(0));
        assert_eq!(position_of(all, &all[1]), Some(1));
        // An equal resource elsewhere is not one of them.
        let copy = all[1].clone();
        assert_eq!(position_of(all, &copy), None);
        assert_eq!(position_of(&all[..1], &all[1]), None);
    }

    #[test]
    fn untaken_lists_what_is_left() {
        let y = |s: &str| -> Value { serde_yaml::from_str(s).unwrap() };
        let mut live = LiveIndex::new(vec![
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}"),
        ]);
        let a = live.iter().next().unwrap().0.clone();
        assert_eq!(live.untaken().count(), 2);
        assert!(live.take(&a).is_some());
        let left: Vec<&ResourceId> = live.untaken().collect();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].name, "b");
    }

    #[test]
    fn same_agrees_with_eq() {
        let y = |s: &str| -> Value { serde_yaml::from_str(s).unwrap() };
        let values = [
            "{a: 1, b: [x, {c: d}]}",
            "{b: [x, {c: d}], a: 1}",
            "{a: 1, b: [x, {c: e}]}",
            "{b: [x, {c: e}], a: 1}",
            "{a: 1, b: [{c: d}, x]}",
            "{a: 1, b: [x, {c: d}], e: null}",
            "{a: 1, c: [x, {c: d}]}",
            "{a: '1', b: [x, {c: d}]}",
            "{a: !t 1, b: [x, {c: d}]}",
            "{a: !u 1, b: [x, {c: d}]}",
            "[1, 2]",
            "1",
            "~",
        ];
        for a in values {
            for b in values {
                let (a, b) = (y(a), y(b));
                assert_eq!(same(&a, &b), a == b, "{a:?} vs {b:?}");
            }
        }
    }

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    use crate::diff::testing::set;

    fn diff_session(
        s: &(ManifestSet, Vec<SourcedDoc>),
        live: &LiveIndex,
        opts: &Options,
    ) -> Result<SessionDiff> {
        super::diff_session(s.0.clone(), &s.1, live.clone(), opts)
    }

    fn ops(d: &SessionDiff) -> Vec<(String, Op)> {
        d.changes
            .iter()
            .map(|c| (c.id.name.clone(), c.op))
            .collect()
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: '1'}";

    fn owned_cm(app: &str, name: &str, data: &str) -> Value {
        let i = ResourceId {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: Some("demo".into()),
            name: name.into(),
        };
        y(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: demo, uid: x, labels: {{kapp.k14s.io/app: '{app}', kapp.k14s.io/association: {}}}, annotations: {{kapp.k14s.io/identity: 'v1;demo//ConfigMap/{name};v1'}}}}\ndata: {data}",
            ownership::association_value(&i)
        ))
    }

    #[test]
    fn create_update_noop_delete() {
        let s = set(&[
            CM,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {}",
        ]);
        let live = LiveIndex::new(vec![
            owned_cm("1", "cm", "{a: '2'}"),
            owned_cm("1", "gone", "{}"),
            // A controller-made object with the label but no identity: transient, ignored.
            y("apiVersion: v1\nkind: Pod\nmetadata: {name: pod, namespace: demo, labels: {kapp.k14s.io/app: '1'}}"),
            // Someone else's leftovers are not ours to delete.
            owned_cm("2", "foreign", "{}"),
        ]);
        let d = diff_session(&s, &live, &Options::default()).unwrap();
        assert_eq!(
            ops(&d),
            vec![
                ("cm".into(), Op::Update),
                ("other".into(), Op::Create),
                ("gone".into(), Op::Delete)
            ]
        );
        assert_eq!(d.changes[0].changed_paths, vec!["data.a"]);
        // The update keeps both sides as the text it was decided on; others have none.
        let u = &d.changes[0];
        let texts = u.texts.as_deref().unwrap();
        assert_eq!(texts[0], sorted_yaml(u.existing.as_ref().unwrap()));
        assert_eq!(texts[1], sorted_yaml(u.new.as_ref().unwrap()));
        assert!(texts[0].contains("a: \"2\"") && texts[1].contains("a: \"1\""));
        assert!(d.changes[1..].iter().all(|c| c.texts.is_none()));
        // The created object is stamped with the inferred owner label.
        let created = d.changes[1].new.as_ref().unwrap();
        assert_eq!(ownership::label(created, ownership::APP_LABEL), Some("1"));
        let live = LiveIndex::new(vec![owned_cm("1", "cm", "{a: '1'}")]);
        let d = diff_session(&set(&[CM]), &live, &Options::default()).unwrap();
        assert_eq!(ops(&d), vec![("cm".into(), Op::Noop)]);
    }

    #[test]
    fn named_app_conflicts_and_deletes() {
        let opts = Options {
            ownership: Ownership::App {
                key: ownership::APP_LABEL.into(),
                value: Some("1".into()),
            },
            against_original: false,
        };
        let live = LiveIndex::new(vec![
            owned_cm("2", "cm", "{a: '1'}"),
            owned_cm("1", "gone", "{}"),
        ]);
        let d = diff_session(&set(&[CM]), &live, &opts).unwrap();
        assert_eq!(
            ops(&d),
            vec![("cm".into(), Op::Conflict), ("gone".into(), Op::Delete)]
        );
        assert!(d.changes[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("kapp.k14s.io/app=2"));
        // An unlabelled live object is adopted: labels are added, so it is an update.
        let live = LiveIndex::new(vec![y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: demo}\ndata: {a: '1'}")]);
        let d = diff_session(&set(&[CM]), &live, &opts).unwrap();
        assert_eq!(ops(&d), vec![("cm".into(), Op::Update)]);
        assert!(d.changes[0].changed_paths[0].starts_with("metadata.labels"));
        // A new app: every labelled object is someone else's.
        let opts = Options {
            ownership: Ownership::App {
                key: ownership::APP_LABEL.into(),
                value: None,
            },
            against_original: false,
        };
        let live = LiveIndex::new(vec![owned_cm("1", "cm", "{a: '1'}")]);
        let d = diff_session(&set(&[CM]), &live, &opts).unwrap();
        assert_eq!(ops(&d), vec![("cm".into(), Op::Conflict)]);
    }

    #[test]
    fn noop_exists_and_disable_original_annotations() {
        let noop = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, annotations: {kapp.k14s.io/noop: ''}}\ndata: {a: changed}";
        let exists = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, annotations: {kapp.k14s.io/exists: ''}}";
        let live = LiveIndex::new(vec![y(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, namespace: demo}\ndata: {a: old}",
        )]);
        let d = diff_session(&set(&[noop, exists]), &live, &Options::default()).unwrap();
        assert_eq!(
            ops(&d),
            vec![("n".into(), Op::Noop), ("ns1".into(), Op::Exists)]
        );
        let live = LiveIndex::new(vec![y(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, labels: {x: y}}",
        )]);
        let d = diff_session(&set(&[exists]), &live, &Options::default()).unwrap();
        assert_eq!(ops(&d), vec![("ns1".into(), Op::Noop)]);

        // Against the stored original a server-added key is hidden; disable-original shows it.
        let live_obj = y(r#"apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: demo, annotations: {kapp.k14s.io/original: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"demo"},"data":{"a":"1"}}'}}
data: {a: '1', server: added}"#);
        let opts = Options {
            against_original: true,
            ..Options::default()
        };
        let d = diff_session(&set(&[CM]), &LiveIndex::new(vec![live_obj.clone()]), &opts).unwrap();
        assert_eq!(ops(&d), vec![("cm".into(), Op::Noop)]);
        let cm_disabled = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {kapp.k14s.io/disable-original: ''}}\ndata: {a: '1'}";
        let d = diff_session(&set(&[cm_disabled]), &LiveIndex::new(vec![live_obj]), &opts).unwrap();
        assert_eq!(ops(&d)[0].1, Op::Update);
    }

    #[test]
    fn nonce_forces_an_update() {
        let j = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, annotations: {kapp.k14s.io/nonce: ''}}\nspec: {backoffLimit: 0}";
        let live = LiveIndex::new(vec![y("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: demo, annotations: {kapp.k14s.io/nonce: '1700000000'}}\nspec: {backoffLimit: 0}")]);
        let d = diff_session(&set(&[j]), &live, &Options::default()).unwrap();
        assert_eq!(ops(&d), vec![("j".into(), Op::Update)]);
        assert_eq!(
            d.changes[0].changed_paths,
            vec!["metadata.annotations[\"kapp.k14s.io/nonce\"]"]
        );
    }

    #[test]
    fn configs_are_split_out_and_applied() {
        let cfg = "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- paths: [[spec], [metadata, annotations], [metadata, labels]]\n  type: copy\n  sources: [existing]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: argoproj.io/v1alpha1, kind: Workflow}}]";
        let wf = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}\nspec: {entrypoint: a}";
        let live = LiveIndex::new(vec![y("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf, namespace: demo, labels: {workflows.argoproj.io/phase: Running}}\nspec: {entrypoint: b, extra: 1}\nstatus: {phase: Running}")]);
        let d = diff_session(&set(&[cfg, wf]), &live, &Options::default()).unwrap();
        assert_eq!(ops(&d), vec![("wf".into(), Op::Noop)]);
        let d = diff_session(&set(&[wf]), &live, &Options::default()).unwrap();
        assert_eq!(ops(&d), vec![("wf".into(), Op::Update)]);
        let bad = "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules: [{path: [a], type: nope}]";
        let e = format!(
            "{:#}",
            diff_session(&set(&[bad]), &live, &Options::default()).unwrap_err()
        );
        assert!(
            e.contains("t.yaml:1") && e.contains("rebaseRules[0]"),
            "{e}"
        );
    }

    #[test]
    fn plain_label_ownership_inserts_nothing_and_deletes_labelled_leftovers() {
        // kpipe's kubectl deployer: the rendered objects carry kpipe.dev/app themselves.
        let opts = Options {
            ownership: Ownership::Labels {
                key: "kpipe.dev/app".into(),
                value: "ml-u1".into(),
            },
            against_original: false,
        };
        let s = set(&[
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, labels: {kpipe.dev/app: ml-u1}, annotations: {kapp.k14s.io/nonce: ''}}\ndata: {a: '1'}",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs, labels: {kpipe.dev/app: ml-u1}}",
        ]);
        let live = LiveIndex::new(vec![
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: demo, resourceVersion: '3', labels: {kpipe.dev/app: ml-u1}, annotations: {kapp.k14s.io/nonce: ''}}\ndata: {a: '1'}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs, namespace: demo, labels: {kpipe.dev/app: other}}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone, namespace: demo, labels: {kpipe.dev/app: ml-u1}}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated, namespace: demo, labels: {kpipe.dev/app: other}}"),
        ]);
        let d = diff_session(&s, &live, &opts).unwrap();
        assert_eq!(
            ops(&d),
            vec![
                ("cm".to_string(), Op::Noop),
                ("theirs".to_string(), Op::Conflict),
                ("gone".to_string(), Op::Delete),
            ]
        );
    }
}
