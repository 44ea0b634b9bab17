//! kapp Config paths (`[spec, {allIndexes: true}, name]`) and the copy/remove edits on them.

use crate::lookup::Lookup;
use anyhow::{bail, Result};
use serde_yaml::{Mapping, Value};

/// One segment of a kapp path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    /// `{allIndexes: true}`: every element of a list.
    AllIndexes,
    /// `{index: N}`: one element.
    Index(usize),
}

/// A path into an object, as written in a kapp Config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(pub Vec<Seg>);

impl Path {
    /// Path of plain map keys.
    pub fn keys(keys: &[&str]) -> Path {
        Path(keys.iter().map(|k| Seg::Key((*k).to_string())).collect())
    }

    /// Parses `[a, {allIndexes: true}, {index: 0}, b]`.
    pub fn parse(v: &Value) -> Result<Path> {
        let Value::Sequence(items) = v else {
            bail!(
                "a path must be a list of segments, got {}",
                crate::manifest::type_name(v)
            );
        };
        let mut segs = Vec::with_capacity(items.len());
        for item in items {
            segs.push(match item {
                Value::String(s) => Seg::Key(s.clone()),
                // kapp decodes paths as JSON, so a number or bool key is its text.
                Value::Number(n) => Seg::Key(n.to_string()),
                Value::Bool(b) => Seg::Key(b.to_string()),
                Value::Mapping(m) => {
                    if m.at("allIndexes").and_then(Value::as_bool) == Some(true) {
                        Seg::AllIndexes
                    } else if let Some(i) = m.at("index") {
                        match i.as_u64() {
                            Some(i) => Seg::Index(i as usize),
                            None => bail!("path segment `index` must be a non-negative integer"),
                        }
                    } else {
                        bail!("path segment must be a key, {{allIndexes: true}} or {{index: N}}")
                    }
                }
                other => bail!(
                    "path segment must be a key, {{allIndexes: true}} or {{index: N}}, got {}",
                    crate::manifest::type_name(other)
                ),
            });
        }
        if segs.is_empty() {
            bail!("a path must not be empty");
        }
        Ok(Path(segs))
    }

    /// The top-level field the path starts at (`None`: it cannot reach into a map).
    pub fn first_key(&self) -> Option<&str> {
        match self.0.first() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether the path is one top-level key: the whole field.
    pub fn is_field(&self) -> bool {
        matches!(self.0.as_slice(), [Seg::Key(_)])
    }

    fn last_key(&self) -> Result<(&[Seg], &str)> {
        match self.0.split_last() {
            Some((Seg::Key(k), rest)) => Ok((rest, k)),
            _ => bail!("the last segment of a path must be a map key"),
        }
    }

    /// Concrete locations (parent path with list indexes resolved) the path reaches in `obj`.
    /// Missing maps are created along pure-key stretches when `create` is set (kapp's copy).
    fn locations(&self, obj: &Value, create: bool) -> Vec<Vec<Concrete<'_>>> {
        let Ok((parents, _)) = self.last_key() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        walk(obj, parents, &mut Vec::new(), create, &mut out);
        out
    }

    /// The path's keys, when it has no list segments: it then reaches one place at most,
    /// found without listing locations (the default rules' paths, every object's).
    fn key_only(&self) -> Option<impl Iterator<Item = Concrete<'_>> + Clone> {
        self.0.iter().all(|s| matches!(s, Seg::Key(_))).then(|| {
            self.0.iter().filter_map(|s| match s {
                Seg::Key(k) => Some(Concrete::Key(k)),
                _ => None,
            })
        })
    }

    /// `type: remove`: deletes the final key wherever the path reaches.
    pub fn remove(&self, obj: &mut Value) {
        let Ok((parents, key)) = self.last_key() else {
            return;
        };
        if let Some(keys) = self.key_only() {
            let parents = keys.take(parents.len());
            if let Some(Value::Mapping(m)) = get_mut(obj, parents) {
                crate::lookup::remove(m, key);
            }
            return;
        }
        self.remove_listed(obj, key);
    }

    /// [`Path::remove`] at every location listed.
    fn remove_listed(&self, obj: &mut Value, key: &str) {
        for loc in self.locations(obj, false) {
            if let Some(Value::Mapping(m)) = get_mut(obj, loc.iter().copied()) {
                crate::lookup::remove(m, key);
            }
        }
    }

    /// The key this path names one level below `parent` (`[metadata, labels]` below
    /// `[metadata]`), for paths of keys only.
    pub fn child_key_of(&self, parent: &Path) -> Option<&str> {
        match self.0.split_last() {
            Some((Seg::Key(k), above))
                if above == parent.0.as_slice() && parent.key_only().is_some() =>
            {
                Some(k)
            }
            _ => None,
        }
    }

    /// `type: copy`: for each location in `obj`, takes the value at the same location from the
    /// first source that has the key (a null value counts). No source → left as is.
    pub fn copy(&self, obj: &mut Value, sources: &[&Value]) {
        self.copy_without(obj, sources, &[]);
    }

    /// [`Path::copy`], leaving out the entries under `skip` keys of a map copied by a path of
    /// keys only (entries the caller knows a later rule removes: not cloned to be dropped).
    pub fn copy_without(&self, obj: &mut Value, sources: &[&Value], skip: &[&str]) {
        let Ok((parents, key)) = self.last_key() else {
            return;
        };
        if let Some(keys) = self.key_only() {
            // One place at most, which `get_or_create` reaches exactly when listing the
            // locations would have found it (maps and nulls along the way, or missing keys).
            let parents = keys.take(parents.len());
            let found = sources
                .iter()
                .find_map(|src| match get(src, parents.clone()) {
                    Some(Value::Mapping(m)) => m.at(key).map(|v| clone_without(v, skip)),
                    _ => None,
                });
            if let Some(val) = found {
                if let Some(parent) = get_or_create(obj, parents) {
                    parent.insert(Value::from(key), val);
                }
            }
            return;
        }
        self.copy_listed(obj, sources, key);
    }

    /// [`Path::copy`] at every location listed.
    fn copy_listed(&self, obj: &mut Value, sources: &[&Value], key: &str) {
        for loc in self.locations(obj, true) {
            let found = sources
                .iter()
                .find_map(|src| match get(src, loc.iter().copied()) {
                    Some(Value::Mapping(m)) => m.at(key).cloned(),
                    _ => None,
                });
            let Some(val) = found else { continue };
            if let Some(parent) = get_or_create(obj, loc.iter().copied()) {
                parent.insert(Value::from(key), val);
            }
        }
    }

    /// Inserts `entries` into the map at every location the whole path reaches; with `create`,
    /// missing maps along key-only stretches are created (ownership labels), otherwise absent
    /// locations are skipped (label scoping).
    pub fn insert_entries(&self, obj: &mut Value, entries: &Mapping, create: bool) {
        if let Some(keys) = self.key_only() {
            let target = if create {
                get_or_create(obj, keys)
            } else {
                match get_mut(obj, keys) {
                    Some(Value::Mapping(m)) => Some(m),
                    _ => None,
                }
            };
            if let Some(m) = target {
                for (k, v) in entries {
                    m.insert(k.clone(), v.clone());
                }
            }
            return;
        }
        self.insert_entries_listed(obj, entries, create);
    }

    /// [`Path::insert_entries`] at every location listed.
    fn insert_entries_listed(&self, obj: &mut Value, entries: &Mapping, create: bool) {
        let mut locs = Vec::new();
        walk(obj, &self.0, &mut Vec::new(), create, &mut locs);
        for loc in locs {
            let target = if create {
                get_or_create(obj, loc.iter().copied())
            } else {
                match get_mut(obj, loc.iter().copied()) {
                    Some(Value::Mapping(m)) => Some(m),
                    _ => None,
                }
            };
            if let Some(m) = target {
                for (k, v) in entries {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }

    /// Calls `f` on every map the whole path reaches (kapp's object-reference edits); anything
    /// else at a location is skipped.
    pub fn for_each_map(&self, obj: &mut Value, mut f: impl FnMut(&mut Mapping)) {
        let mut locs = Vec::new();
        walk(obj, &self.0, &mut Vec::new(), false, &mut locs);
        for loc in locs {
            if let Some(Value::Mapping(m)) = get_mut(obj, loc.iter().copied()) {
                f(m);
            }
        }
    }

    /// The value at this path (first match only, for matchers).
    pub fn get<'a>(&self, obj: &'a Value) -> Option<&'a Value> {
        let mut cur = obj;
        for seg in &self.0 {
            cur = match (seg, cur) {
                (Seg::Key(k), Value::Mapping(m)) => m.at(k.as_str())?,
                (Seg::Index(i), Value::Sequence(s)) => s.get(*i)?,
                (Seg::AllIndexes, Value::Sequence(s)) => s.first()?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

/// `v`, copied without the entries under `skip` keys when it is a map.
fn clone_without(v: &Value, skip: &[&str]) -> Value {
    match v {
        Value::Mapping(m) if !skip.is_empty() => Value::Mapping(
            m.iter()
                .filter(|(k, _)| !k.as_str().is_some_and(|k| skip.contains(&k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// A resolved step: a map key (borrowed from the path) or a list index.
#[derive(Debug, Clone, Copy)]
enum Concrete<'p> {
    Key(&'p str),
    Index(usize),
}

/// Collects in `out` the locations `rest` reaches below `v`; `here` is the way down so far (one
/// stack for the whole walk: only complete locations are copied).
fn walk<'p>(
    v: &Value,
    rest: &'p [Seg],
    here: &mut Vec<Concrete<'p>>,
    create: bool,
    out: &mut Vec<Vec<Concrete<'p>>>,
) {
    let Some((seg, rest)) = rest.split_first() else {
        if matches!(v, Value::Mapping(_)) || (create && v.is_null()) {
            out.push(here.clone());
        }
        return;
    };
    let mut down = |child: &Value, c: Concrete<'p>, here: &mut Vec<Concrete<'p>>| {
        here.push(c);
        walk(child, rest, here, create, out);
        here.pop();
    };
    match (seg, v) {
        (Seg::Key(k), Value::Mapping(m)) => match m.at(k.as_str()) {
            Some(child) => down(child, Concrete::Key(k), here),
            // Missing maps are created only when the rest of the path is keys (kapp's rule).
            None if create && rest.iter().all(|s| matches!(s, Seg::Key(_))) => {
                out.push(extend(here, seg, rest))
            }
            None => {}
        },
        (Seg::Key(_), Value::Null) if create && rest.iter().all(|s| matches!(s, Seg::Key(_))) => {
            out.push(extend(here, seg, rest))
        }
        (Seg::AllIndexes, Value::Sequence(s)) => {
            for (i, child) in s.iter().enumerate() {
                down(child, Concrete::Index(i), here);
            }
        }
        (Seg::Index(i), Value::Sequence(s)) => {
            if let Some(child) = s.get(*i) {
                down(child, Concrete::Index(*i), here);
            }
        }
        _ => {}
    }
}

fn extend<'p>(here: &[Concrete<'p>], seg: &'p Seg, rest: &'p [Seg]) -> Vec<Concrete<'p>> {
    let mut v = here.to_vec();
    for s in std::iter::once(seg).chain(rest) {
        if let Seg::Key(k) = s {
            v.push(Concrete::Key(k));
        }
    }
    v
}

fn get<'a, 'p>(v: &'a Value, loc: impl IntoIterator<Item = Concrete<'p>>) -> Option<&'a Value> {
    let mut cur = v;
    for c in loc {
        cur = match (c, cur) {
            (Concrete::Key(k), Value::Mapping(m)) => m.at(k)?,
            (Concrete::Index(i), Value::Sequence(s)) => s.get(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn get_mut<'a, 'p>(
    v: &'a mut Value,
    loc: impl IntoIterator<Item = Concrete<'p>>,
) -> Option<&'a mut Value> {
    let mut cur = v;
    for c in loc {
        cur = match (c, cur) {
            (Concrete::Key(k), Value::Mapping(m)) => m.at_mut(k)?,
            (Concrete::Index(i), Value::Sequence(s)) => s.get_mut(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Like `get_mut`, creating missing (or null) maps along the way; the result is a map.
fn get_or_create<'a, 'p>(
    v: &'a mut Value,
    loc: impl IntoIterator<Item = Concrete<'p>>,
) -> Option<&'a mut Mapping> {
    let mut cur = v;
    for c in loc {
        if cur.is_null() {
            *cur = Value::Mapping(Mapping::new());
        }
        cur = match (c, cur) {
            (Concrete::Key(k), Value::Mapping(m)) => {
                if m.at(k).is_none() {
                    m.insert(Value::from(k), Value::Mapping(Mapping::new()));
                }
                m.at_mut(k)?
            }
            (Concrete::Index(i), Value::Sequence(s)) => s.get_mut(i)?,
            _ => return None,
        };
    }
    if cur.is_null() {
        *cur = Value::Mapping(Mapping::new());
    }
    match cur {
        Value::Mapping(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn parse_segments() {
        let p = Path::parse(&y("[spec, {allIndexes: true}, {index: 2}, name]")).unwrap();
        assert_eq!(
            p.0,
            vec![
                Seg::Key("spec".into()),
                Seg::AllIndexes,
                Seg::Index(2),
                Seg::Key("name".into())
            ]
        );
        assert!(Path::parse(&y("[]")).is_err());
        assert!(Path::parse(&y("[{foo: 1}]")).is_err());
        assert!(Path::parse(&y("spec")).is_err());
    }

    #[test]
    fn for_each_map_reaches_list_items_and_skips_other_values() {
        let mut o = y("a: [{r: {name: x}}, {r: plain}, {}, {r: {name: y}}]\nb: [{name: z}, 3]");
        let mut seen = Vec::new();
        Path::parse(&y("[a, {allIndexes: true}, r]"))
            .unwrap()
            .for_each_map(&mut o, |m| {
                seen.push(m["name"].as_str().unwrap().to_string());
                m.insert("name".into(), "new".into());
            });
        assert_eq!(seen, vec!["x", "y"]);
        assert_eq!(o["a"][3]["r"]["name"], "new");
        let mut n = 0;
        Path::parse(&y("[b, {allIndexes: true}]"))
            .unwrap()
            .for_each_map(&mut o, |_| n += 1);
        assert_eq!(n, 1);
    }

    #[test]
    fn remove_all_indexes_and_index() {
        let mut o = y("a: [{x: 1, y: 2}, {x: 3, y: 4}]");
        Path::parse(&y("[a, {allIndexes: true}, x]"))
            .unwrap()
            .remove(&mut o);
        assert_eq!(o, y("a: [{y: 2}, {y: 4}]"));
        let mut o = y("a: [{x: 1}, {x: 3}]");
        Path::parse(&y("[a, {index: 1}, x]"))
            .unwrap()
            .remove(&mut o);
        assert_eq!(o, y("a: [{x: 1}, {}]"));
        // Absent key: nothing happens.
        Path::parse(&y("[b, c]")).unwrap().remove(&mut o);
        assert_eq!(o, y("a: [{x: 1}, {}]"));
    }

    #[test]
    fn copy_takes_first_source_with_key() {
        let new = y("spec: {replicas: 2}");
        let existing = y("spec: {replicas: 5, clusterIP: 10.0.0.1}");
        let p = Path::keys(&["spec", "replicas"]);
        let mut o = new.clone();
        p.copy(&mut o, &[&existing, &new]);
        assert_eq!(o, y("spec: {replicas: 5}"));
        let mut o = new.clone();
        p.copy(&mut o, &[&new, &existing]);
        assert_eq!(o, y("spec: {replicas: 2}"));
        // Missing maps are created along a key-only path.
        let mut o = y("kind: Service");
        Path::keys(&["spec", "clusterIP"]).copy(&mut o, &[&existing]);
        assert_eq!(o, y("kind: Service\nspec: {clusterIP: 10.0.0.1}"));
        // No source has it: left alone.
        let mut o = y("spec: {a: 1}");
        Path::keys(&["spec", "zzz"]).copy(&mut o, &[&existing]);
        assert_eq!(o, y("spec: {a: 1}"));
        // A null value counts as found.
        let mut o = y("spec: {a: 1}");
        Path::keys(&["spec", "a"]).copy(&mut o, &[&y("spec: {a: null}")]);
        assert_eq!(o, y("spec: {a: null}"));
    }

    #[test]
    fn insert_entries_creates_or_skips() {
        let mut e = Mapping::new();
        e.insert("k".into(), "v".into());
        let mut o = y("metadata: {name: x}\nspec: {vct: [{metadata: {}}, {}]}");
        Path::keys(&["metadata", "labels"]).insert_entries(&mut o, &e, true);
        Path::parse(&y("[spec, vct, {allIndexes: true}, metadata, labels]"))
            .unwrap()
            .insert_entries(&mut o, &e, true);
        Path::keys(&["spec", "selector"]).insert_entries(&mut o, &e, false);
        assert_eq!(
            o,
            y("metadata: {name: x, labels: {k: v}}\nspec: {vct: [{metadata: {labels: {k: v}}}, {metadata: {labels: {k: v}}}]}")
        );
    }

    #[test]
    fn copy_through_lists_skips_missing_elements() {
        let existing =
            y("webhooks: [{clientConfig: {caBundle: AAA}}, {clientConfig: {caBundle: BBB}}]");
        let mut o = y("webhooks: [{clientConfig: {url: x}}]");
        Path::parse(&y("[webhooks, {allIndexes: true}, clientConfig, caBundle]"))
            .unwrap()
            .copy(&mut o, &[&existing]);
        assert_eq!(o, y("webhooks: [{clientConfig: {url: x, caBundle: AAA}}]"));
        let mut o = y("webhooks: []");
        Path::parse(&y("[webhooks, {index: 0}, name]"))
            .unwrap()
            .copy(&mut o, &[&existing]);
        assert_eq!(o, y("webhooks: []"));
    }

    /// Paths of keys only are edited without listing locations: the result must be what
    /// listing them gives, wherever the path runs into a missing key, a null, a scalar or a list.
    #[test]
    fn key_only_paths_edit_as_listed_locations_do() {
        let objects = [
            "a: {b: {c: 1, d: 2}}",
            "a: {b: null}",
            "a: {b: 5}",
            "a: {b: [1, 2]}",
            "a: null",
            "a: 7",
            "a: {}",
            "x: 1",
            "null",
            "a: {b: {}}",
        ];
        let paths = [
            vec!["a"],
            vec!["a", "b"],
            vec!["a", "b", "c"],
            vec!["a", "b", "z"],
        ];
        let source = y("a: {b: {c: 9, z: 8}}\nx: 3");
        let mut entries = Mapping::new();
        entries.insert("k".into(), "v".into());
        for o in objects {
            for p in &paths {
                let path = Path::keys(p);
                let (parents, key) = path.last_key().unwrap();
                assert_eq!(parents.len() + 1, p.len());
                let (mut fast, mut listed) = (y(o), y(o));
                path.remove(&mut fast);
                path.remove_listed(&mut listed, key);
                assert_eq!(fast, listed, "remove {p:?} from {o}");
                for sources in [vec![&source], vec![&y(o), &source], vec![]] {
                    let (mut fast, mut listed) = (y(o), y(o));
                    path.copy(&mut fast, &sources);
                    path.copy_listed(&mut listed, &sources, key);
                    assert_eq!(fast, listed, "copy {p:?} into {o}");
                }
                for create in [true, false] {
                    let (mut fast, mut listed) = (y(o), y(o));
                    path.insert_entries(&mut fast, &entries, create);
                    path.insert_entries_listed(&mut listed, &entries, create);
                    assert_eq!(fast, listed, "insert at {p:?} into {o} ({create})");
                }
            }
        }
    }
}
