//! Key look-ups in YAML maps without hashing.
//!
//! `serde_yaml::Mapping::get` hashes the key with SipHash on every call. Kubernetes objects are
//! made of small maps (`metadata` has a handful of keys, `labels` a few more), and the diff
//! looks up `metadata`, `labels`, `annotations`, `apiVersion`, `kind` … dozens of times per
//! object: on 10,000 objects that hashing was a fifth of the diff's CPU time. Comparing the few
//! keys one by one is several times cheaper; large maps (a ConfigMap's `data`) still hash.

use serde_yaml::{Mapping, Value};

/// Up to this many entries a map is searched front to back.
const LINEAR_MAX: usize = 16;

/// `get` and `get_mut` by string key, the same results as `serde_yaml`'s, found faster.
pub trait Lookup {
    /// The value under `key` when `self` is a map holding it (like `Value::get`).
    fn at(&self, key: &str) -> Option<&Value>;
    /// Mutable access to the value under `key` (like `Value::get_mut`).
    fn at_mut(&mut self, key: &str) -> Option<&mut Value>;
}

#[inline]
fn is_key(k: &Value, key: &str) -> bool {
    matches!(k, Value::String(s) if s.as_str() == key)
}

impl Lookup for Mapping {
    #[inline]
    fn at(&self, key: &str) -> Option<&Value> {
        if self.len() > LINEAR_MAX {
            return self.get(key);
        }
        self.iter().find(|(k, _)| is_key(k, key)).map(|(_, v)| v)
    }

    #[inline]
    fn at_mut(&mut self, key: &str) -> Option<&mut Value> {
        if self.len() > LINEAR_MAX {
            return self.get_mut(key);
        }
        self.iter_mut()
            .find(|(k, _)| is_key(k, key))
            .map(|(_, v)| v)
    }
}

impl Lookup for Value {
    #[inline]
    fn at(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Mapping(m) => m.at(key),
            // `Value::get` looks through tags too.
            Value::Tagged(t) => t.value.at(key),
            _ => None,
        }
    }

    #[inline]
    fn at_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Mapping(m) => m.at_mut(key),
            Value::Tagged(t) => t.value.at_mut(key),
            _ => None,
        }
    }
}

/// `Mapping::get` for a key that is itself a value (comparing two maps key by key): string keys
/// are found as [`Lookup::at`] finds them.
#[inline]
pub fn find<'m>(m: &'m Mapping, key: &Value) -> Option<&'m Value> {
    match key {
        Value::String(s) => m.at(s),
        _ => m.get(key),
    }
}

/// `Mapping::remove` (a swap-remove, same resulting order), hashing only when `key` is there:
/// the diff strips lists of keys of which most objects carry a few.
#[inline]
pub fn remove(m: &mut Mapping, key: &str) -> Option<Value> {
    if m.len() <= LINEAR_MAX && m.at(key).is_none() {
        return None;
    }
    m.remove(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(n: usize) -> Value {
        let mut m = Mapping::new();
        for i in 0..n {
            m.insert(Value::from(format!("k{i}")), Value::from(i as u64));
        }
        // Keys that are not strings are never found by a string key.
        m.insert(Value::from(7u64), Value::from("seven"));
        m.insert(Value::Bool(true), Value::from("t"));
        Value::Mapping(m)
    }

    #[test]
    fn agrees_with_serde_yaml_on_small_and_large_maps() {
        for n in [0, 1, 5, LINEAR_MAX - 2, LINEAR_MAX - 1, LINEAR_MAX, 40] {
            let mut v = map(n);
            for key in [
                "k0", "k1", "k14", "k15", "k39", "7", "true", "", "k", "k100",
            ] {
                assert_eq!(v.at(key), v.get(key), "n={n} key={key}");
                let want = v.get(key).cloned();
                assert_eq!(v.at_mut(key).map(|x| x.clone()), want, "n={n} key={key}");
            }
            if n > 0 {
                *v.at_mut("k0").unwrap() = Value::from("changed");
                assert_eq!(v.get("k0"), Some(&Value::from("changed")));
            }
        }
    }

    #[test]
    fn find_agrees_with_serde_yaml() {
        for n in [0, 3, LINEAR_MAX, 30] {
            let Value::Mapping(m) = map(n) else {
                unreachable!()
            };
            for key in [
                Value::from("k0"),
                Value::from("k29"),
                Value::from("absent"),
                Value::from(7u64),
                Value::Bool(true),
                Value::Null,
            ] {
                assert_eq!(find(&m, &key), m.get(&key), "n={n} key={key:?}");
            }
        }
    }

    #[test]
    fn remove_agrees_with_serde_yaml() {
        for n in [0, 3, LINEAR_MAX, 30] {
            for key in ["k0", "k2", "k29", "absent", "7"] {
                let (Value::Mapping(mut a), Value::Mapping(mut b)) = (map(n), map(n)) else {
                    unreachable!()
                };
                assert_eq!(remove(&mut a, key), b.remove(key), "n={n} key={key}");
                // Same entries in the same order (a swap-remove moves the last entry).
                assert_eq!(
                    a.iter().collect::<Vec<_>>(),
                    b.iter().collect::<Vec<_>>(),
                    "n={n} key={key}"
                );
            }
        }
    }

    #[test]
    fn looks_through_tags_and_not_into_other_values() {
        let tagged: Value = serde_yaml::from_str("!t {a: 1}").unwrap();
        assert_eq!(tagged.at("a"), tagged.get("a"));
        assert!(tagged.at("a").is_some());
        for v in [
            Value::Null,
            Value::from("a"),
            Value::Sequence(vec![Value::from("a")]),
        ] {
            assert_eq!(v.at("a"), None);
        }
    }
}
