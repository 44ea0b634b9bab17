//! A YAML mapping and its iterator types.

use crate::{private, Value};
use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize};
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::fmt::{self, Display};
use std::hash::{BuildHasher, Hash, Hasher};
use std::mem;

// kpipe: the entries in insertion order, found by a scan while the map is small and through a
// table of positions by key hash (foldhash) once it holds more than `SCANNED` entries; upstream
// kept every map in an `IndexMap` (SipHash). Most YAML maps have a handful of keys, for which
// hashing each key and keeping a hash table cost more than comparing the keys (see
// ../../README.md in this folder).
const SCANNED: usize = 16;

/// A YAML mapping in which the keys and values are both `serde_yaml::Value`.
#[derive(Clone, Default)]
pub struct Mapping {
    entries: Vec<(Value, Value)>,
    /// Positions in `entries` by key hash; present exactly when there are more than `SCANNED`
    /// entries (`clear`, `retain` and removals drop it again below that).
    index: Option<Box<Table>>,
}

#[derive(Clone)]
struct Table {
    positions: HashTable<usize>,
    state: foldhash::fast::RandomState,
}

impl Table {
    fn build(entries: &[(Value, Value)]) -> Box<Table> {
        let state = foldhash::fast::RandomState::default();
        let mut positions = HashTable::with_capacity(entries.len());
        for (i, (k, _)) in entries.iter().enumerate() {
            let h = state.hash_one(k);
            positions.insert_unique(h, i, |&j| state.hash_one(&entries[j].0));
        }
        Box::new(Table { positions, state })
    }

    /// Drops the position `at` listed for `key`.
    fn unlist(&mut self, key: &Value, at: usize) {
        if let Ok(e) = self.positions.find_entry(self.state.hash_one(key), |&j| j == at) {
            e.remove();
        }
    }
}

/// A key looked for: a whole `Value` or the string it would be.
trait Key {
    fn matches(&self, key: &Value) -> bool;
    fn hash_with(&self, state: &foldhash::fast::RandomState) -> u64;
}

impl Key for Value {
    #[inline]
    fn matches(&self, key: &Value) -> bool {
        // Keys are nearly always strings: compared here, without a call to `Value::eq`.
        match (self, key) {
            (Value::String(a), Value::String(b)) => a == b,
            (Value::String(_), _) | (_, Value::String(_)) => false,
            _ => self == key,
        }
    }
    fn hash_with(&self, state: &foldhash::fast::RandomState) -> u64 {
        state.hash_one(self)
    }
}

impl Key for str {
    #[inline]
    fn matches(&self, key: &Value) -> bool {
        matches!(key, Value::String(s) if s == self)
    }
    fn hash_with(&self, state: &foldhash::fast::RandomState) -> u64 {
        state.hash_one(HashLikeValue(self))
    }
}

impl Mapping {
    /// Creates an empty YAML map.
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates an empty YAML map with the given initial capacity.
    #[inline]
    pub fn with_capacity(capacity: usize) -> Self {
        Mapping {
            entries: Vec::with_capacity(capacity),
            index: None,
        }
    }

    /// Reserves capacity for at least `additional` more elements to be inserted
    /// into the map. The map may reserve more space to avoid frequent
    /// allocations.
    ///
    /// # Panics
    ///
    /// Panics if the new allocation size overflows `usize`.
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Shrinks the capacity of the map as much as possible. It will drop down
    /// as much as possible while maintaining the internal rules and possibly
    /// leaving some space in accordance with the resize policy.
    #[inline]
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        if let Some(t) = &mut self.index {
            let Table { positions, state } = &mut **t;
            let entries = &self.entries;
            positions.shrink_to_fit(|&j| state.hash_one(&entries[j].0));
        }
    }

    /// The position of `key` in `entries`.
    #[inline]
    fn find<K: Key + ?Sized>(&self, key: &K) -> Option<usize> {
        match &self.index {
            None => self.entries.iter().position(|(k, _)| key.matches(k)),
            Some(t) => {
                let h = key.hash_with(&t.state);
                t.positions
                    .find(h, |&j| key.matches(&self.entries[j].0))
                    .copied()
            }
        }
    }

    /// Appends an entry whose key is not in the map; returns its position.
    fn push(&mut self, k: Value, v: Value) -> usize {
        let i = self.entries.len();
        self.entries.push((k, v));
        match &mut self.index {
            Some(t) => {
                let Table { positions, state } = &mut **t;
                let entries = &self.entries;
                let h = state.hash_one(&entries[i].0);
                positions.insert_unique(h, i, |&j| state.hash_one(&entries[j].0));
            }
            None if self.entries.len() > SCANNED => self.index = Some(Table::build(&self.entries)),
            None => {}
        }
        i
    }

    /// Sets the index again after entries were removed or moved.
    fn reindex(&mut self) {
        self.index = (self.entries.len() > SCANNED).then(|| Table::build(&self.entries));
    }

    /// Removes the entry at `i`, the last entry taking its place.
    fn swap_remove_at(&mut self, i: usize) -> (Value, Value) {
        let removed = self.entries.swap_remove(i);
        let last = self.entries.len();
        if let Some(t) = &mut self.index {
            if last <= SCANNED {
                self.index = None;
            } else {
                t.unlist(&removed.0, i);
                if i < last {
                    let h = t.state.hash_one(&self.entries[i].0);
                    if let Some(p) = t.positions.find_mut(h, |&j| j == last) {
                        *p = i;
                    }
                }
            }
        }
        removed
    }

    /// Removes the entry at `i`, the entries after it moving up one place.
    fn shift_remove_at(&mut self, i: usize) -> (Value, Value) {
        let removed = self.entries.remove(i);
        if let Some(t) = &mut self.index {
            if self.entries.len() <= SCANNED {
                self.index = None;
            } else {
                t.unlist(&removed.0, i);
                for p in t.positions.iter_mut() {
                    if *p > i {
                        *p -= 1;
                    }
                }
            }
        }
        removed
    }

    /// Inserts a key-value pair into the map. If the key already existed, the
    /// old value is returned.
    #[inline]
    pub fn insert(&mut self, k: Value, v: Value) -> Option<Value> {
        match self.find(&k) {
            Some(i) => Some(mem::replace(&mut self.entries[i].1, v)),
            None => {
                self.push(k, v);
                None
            }
        }
    }

    /// Checks if the map contains the given key.
    #[inline]
    pub fn contains_key<I: Index>(&self, index: I) -> bool {
        index.is_key_into(self)
    }

    /// Returns the value corresponding to the key in the map.
    #[inline]
    pub fn get<I: Index>(&self, index: I) -> Option<&Value> {
        index.index_into(self)
    }

    /// Returns the mutable reference corresponding to the key in the map.
    #[inline]
    pub fn get_mut<I: Index>(&mut self, index: I) -> Option<&mut Value> {
        index.index_into_mut(self)
    }

    /// Gets the given key's corresponding entry in the map for insertion and/or
    /// in-place manipulation.
    #[inline]
    pub fn entry(&mut self, k: Value) -> Entry {
        match self.find(&k) {
            Some(at) => Entry::Occupied(OccupiedEntry { map: self, at }),
            None => Entry::Vacant(VacantEntry { map: self, key: k }),
        }
    }

    /// Removes and returns the value corresponding to the key from the map.
    ///
    /// This is equivalent to [`.swap_remove(index)`][Self::swap_remove],
    /// replacing this entry's position with the last element. If you need to
    /// preserve the relative order of the keys in the map, use
    /// [`.shift_remove(key)`][Self::shift_remove] instead.
    #[inline]
    pub fn remove<I: Index>(&mut self, index: I) -> Option<Value> {
        self.swap_remove(index)
    }

    /// Remove and return the key-value pair.
    ///
    /// This is equivalent to [`.swap_remove_entry(index)`][Self::swap_remove_entry],
    /// replacing this entry's position with the last element. If you need to
    /// preserve the relative order of the keys in the map, use
    /// [`.shift_remove_entry(key)`][Self::shift_remove_entry] instead.
    #[inline]
    pub fn remove_entry<I: Index>(&mut self, index: I) -> Option<(Value, Value)> {
        self.swap_remove_entry(index)
    }

    /// Removes and returns the value corresponding to the key from the map.
    ///
    /// Like [`Vec::swap_remove`], the entry is removed by swapping it with the
    /// last element of the map and popping it off. This perturbs the position
    /// of what used to be the last element!
    #[inline]
    pub fn swap_remove<I: Index>(&mut self, index: I) -> Option<Value> {
        index.swap_remove_from(self)
    }

    /// Remove and return the key-value pair.
    ///
    /// Like [`Vec::swap_remove`], the entry is removed by swapping it with the
    /// last element of the map and popping it off. This perturbs the position
    /// of what used to be the last element!
    #[inline]
    pub fn swap_remove_entry<I: Index>(&mut self, index: I) -> Option<(Value, Value)> {
        index.swap_remove_entry_from(self)
    }

    /// Removes and returns the value corresponding to the key from the map.
    ///
    /// Like [`Vec::remove`], the entry is removed by shifting all of the
    /// elements that follow it, preserving their relative order. This perturbs
    /// the index of all of those elements!
    #[inline]
    pub fn shift_remove<I: Index>(&mut self, index: I) -> Option<Value> {
        index.shift_remove_from(self)
    }

    /// Remove and return the key-value pair.
    ///
    /// Like [`Vec::remove`], the entry is removed by shifting all of the
    /// elements that follow it, preserving their relative order. This perturbs
    /// the index of all of those elements!
    #[inline]
    pub fn shift_remove_entry<I: Index>(&mut self, index: I) -> Option<(Value, Value)> {
        index.shift_remove_entry_from(self)
    }

    /// Scan through each key-value pair in the map and keep those where the
    /// closure `keep` returns true.
    #[inline]
    pub fn retain<F>(&mut self, mut keep: F)
    where
        F: FnMut(&Value, &mut Value) -> bool,
    {
        let len = self.entries.len();
        self.entries.retain_mut(|(k, v)| keep(k, v));
        if self.entries.len() != len && self.index.is_some() {
            self.reindex();
        }
    }

    /// Returns the maximum number of key-value pairs the map can hold without
    /// reallocating.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Returns the number of key-value pairs in the map.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether the map is currently empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Clears the map of all key-value pairs.
    #[inline]
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// Returns a double-ended iterator visiting all key-value pairs in order of
    /// insertion. Iterator element type is `(&'a Value, &'a Value)`.
    #[inline]
    pub fn iter(&self) -> Iter {
        Iter {
            iter: self.entries.iter(),
        }
    }

    /// Returns a double-ended iterator visiting all key-value pairs in order of
    /// insertion. Iterator element type is `(&'a Value, &'a mut ValuE)`.
    #[inline]
    pub fn iter_mut(&mut self) -> IterMut {
        IterMut {
            iter: self.entries.iter_mut(),
        }
    }

    /// Return an iterator over the keys of the map.
    pub fn keys(&self) -> Keys {
        Keys {
            iter: self.entries.iter(),
        }
    }

    /// Return an owning iterator over the keys of the map.
    pub fn into_keys(self) -> IntoKeys {
        IntoKeys {
            iter: self.entries.into_iter(),
        }
    }

    /// Return an iterator over the values of the map.
    pub fn values(&self) -> Values {
        Values {
            iter: self.entries.iter(),
        }
    }

    /// Return an iterator over mutable references to the values of the map.
    pub fn values_mut(&mut self) -> ValuesMut {
        ValuesMut {
            iter: self.entries.iter_mut(),
        }
    }

    /// Return an owning iterator over the values of the map.
    pub fn into_values(self) -> IntoValues {
        IntoValues {
            iter: self.entries.into_iter(),
        }
    }
}

/// Equal maps hold equal keys with equal values, in any order (as `IndexMap`'s equality).
impl PartialEq for Mapping {
    fn eq(&self, other: &Self) -> bool {
        // Maps compared are mostly in the same order: each key is first looked for in the
        // same place.
        self.len() == other.len()
            && self.entries.iter().enumerate().all(|(i, (k, v))| {
                let at = match other.entries.get(i) {
                    Some((o, _)) if k.matches(o) => Some(i),
                    _ => other.find(k),
                };
                at.is_some_and(|j| other.entries[j].1 == *v)
            })
    }
}

impl Eq for Mapping {}

/// A type that can be used to index into a `serde_yaml::Mapping`. See the
/// methods `get`, `get_mut`, `contains_key`, and `remove` of `Value`.
///
/// This trait is sealed and cannot be implemented for types outside of
/// `serde_yaml`.
pub trait Index: private::Sealed {
    #[doc(hidden)]
    fn is_key_into(&self, v: &Mapping) -> bool;

    #[doc(hidden)]
    fn index_into<'a>(&self, v: &'a Mapping) -> Option<&'a Value>;

    #[doc(hidden)]
    fn index_into_mut<'a>(&self, v: &'a mut Mapping) -> Option<&'a mut Value>;

    #[doc(hidden)]
    fn swap_remove_from(&self, v: &mut Mapping) -> Option<Value>;

    #[doc(hidden)]
    fn swap_remove_entry_from(&self, v: &mut Mapping) -> Option<(Value, Value)>;

    #[doc(hidden)]
    fn shift_remove_from(&self, v: &mut Mapping) -> Option<Value>;

    #[doc(hidden)]
    fn shift_remove_entry_from(&self, v: &mut Mapping) -> Option<(Value, Value)>;
}

struct HashLikeValue<'a>(&'a str);

// NOTE: This impl must be consistent with Value's Hash impl.
impl<'a> Hash for HashLikeValue<'a> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        const STRING: Value = Value::String(String::new());
        mem::discriminant(&STRING).hash(state);
        self.0.hash(state);
    }
}

// kpipe: one body for `Value` and `str` keys, through `Key`.
macro_rules! index_by_key {
    ($ty:ty, $key:ident => $as_key:expr) => {
        impl Index for $ty {
            fn is_key_into(&self, v: &Mapping) -> bool {
                let $key = self;
                v.find($as_key).is_some()
            }
            fn index_into<'a>(&self, v: &'a Mapping) -> Option<&'a Value> {
                let $key = self;
                v.find($as_key).map(|i| &v.entries[i].1)
            }
            fn index_into_mut<'a>(&self, v: &'a mut Mapping) -> Option<&'a mut Value> {
                let $key = self;
                v.find($as_key).map(|i| &mut v.entries[i].1)
            }
            fn swap_remove_from(&self, v: &mut Mapping) -> Option<Value> {
                self.swap_remove_entry_from(v).map(|(_, value)| value)
            }
            fn swap_remove_entry_from(&self, v: &mut Mapping) -> Option<(Value, Value)> {
                let $key = self;
                v.find($as_key).map(|i| v.swap_remove_at(i))
            }
            fn shift_remove_from(&self, v: &mut Mapping) -> Option<Value> {
                self.shift_remove_entry_from(v).map(|(_, value)| value)
            }
            fn shift_remove_entry_from(&self, v: &mut Mapping) -> Option<(Value, Value)> {
                let $key = self;
                v.find($as_key).map(|i| v.shift_remove_at(i))
            }
        }
    };
}

index_by_key!(Value, key => key);
index_by_key!(str, key => key);
index_by_key!(String, key => key.as_str());

impl<T> Index for &T
where
    T: ?Sized + Index,
{
    fn is_key_into(&self, v: &Mapping) -> bool {
        (**self).is_key_into(v)
    }
    fn index_into<'a>(&self, v: &'a Mapping) -> Option<&'a Value> {
        (**self).index_into(v)
    }
    fn index_into_mut<'a>(&self, v: &'a mut Mapping) -> Option<&'a mut Value> {
        (**self).index_into_mut(v)
    }
    fn swap_remove_from(&self, v: &mut Mapping) -> Option<Value> {
        (**self).swap_remove_from(v)
    }
    fn swap_remove_entry_from(&self, v: &mut Mapping) -> Option<(Value, Value)> {
        (**self).swap_remove_entry_from(v)
    }
    fn shift_remove_from(&self, v: &mut Mapping) -> Option<Value> {
        (**self).shift_remove_from(v)
    }
    fn shift_remove_entry_from(&self, v: &mut Mapping) -> Option<(Value, Value)> {
        (**self).shift_remove_entry_from(v)
    }
}

#[allow(clippy::derived_hash_with_manual_eq)]
impl Hash for Mapping {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Hash the kv pairs in a way that is not sensitive to their order.
        let mut xor = 0;
        for (k, v) in self {
            let mut hasher = DefaultHasher::new();
            k.hash(&mut hasher);
            v.hash(&mut hasher);
            xor ^= hasher.finish();
        }
        xor.hash(state);
    }
}

impl PartialOrd for Mapping {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let mut self_entries = Vec::from_iter(self);
        let mut other_entries = Vec::from_iter(other);

        // Sort in an arbitrary order that is consistent with Value's PartialOrd
        // impl.
        fn total_cmp(a: &Value, b: &Value) -> Ordering {
            match (a, b) {
                (Value::Null, Value::Null) => Ordering::Equal,
                (Value::Null, _) => Ordering::Less,
                (_, Value::Null) => Ordering::Greater,

                (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
                (Value::Bool(_), _) => Ordering::Less,
                (_, Value::Bool(_)) => Ordering::Greater,

                (Value::Number(a), Value::Number(b)) => a.total_cmp(b),
                (Value::Number(_), _) => Ordering::Less,
                (_, Value::Number(_)) => Ordering::Greater,

                (Value::String(a), Value::String(b)) => a.cmp(b),
                (Value::String(_), _) => Ordering::Less,
                (_, Value::String(_)) => Ordering::Greater,

                (Value::Sequence(a), Value::Sequence(b)) => iter_cmp_by(a, b, total_cmp),
                (Value::Sequence(_), _) => Ordering::Less,
                (_, Value::Sequence(_)) => Ordering::Greater,

                (Value::Mapping(a), Value::Mapping(b)) => {
                    iter_cmp_by(a, b, |(ak, av), (bk, bv)| {
                        total_cmp(ak, bk).then_with(|| total_cmp(av, bv))
                    })
                }
                (Value::Mapping(_), _) => Ordering::Less,
                (_, Value::Mapping(_)) => Ordering::Greater,

                (Value::Tagged(a), Value::Tagged(b)) => a
                    .tag
                    .cmp(&b.tag)
                    .then_with(|| total_cmp(&a.value, &b.value)),
            }
        }

        fn iter_cmp_by<I, F>(this: I, other: I, mut cmp: F) -> Ordering
        where
            I: IntoIterator,
            F: FnMut(I::Item, I::Item) -> Ordering,
        {
            let mut this = this.into_iter();
            let mut other = other.into_iter();

            loop {
                let x = match this.next() {
                    None => {
                        if other.next().is_none() {
                            return Ordering::Equal;
                        } else {
                            return Ordering::Less;
                        }
                    }
                    Some(val) => val,
                };

                let y = match other.next() {
                    None => return Ordering::Greater,
                    Some(val) => val,
                };

                match cmp(x, y) {
                    Ordering::Equal => {}
                    non_eq => return non_eq,
                }
            }
        }

        // While sorting by map key, we get to assume that no two keys are
        // equal, otherwise they wouldn't both be in the map. This is not a safe
        // assumption outside of this situation.
        let total_cmp = |&(a, _): &_, &(b, _): &_| total_cmp(a, b);
        self_entries.sort_by(total_cmp);
        other_entries.sort_by(total_cmp);
        self_entries.partial_cmp(&other_entries)
    }
}

impl<I> std::ops::Index<I> for Mapping
where
    I: Index,
{
    type Output = Value;

    #[inline]
    #[track_caller]
    fn index(&self, index: I) -> &Value {
        index.index_into(self).unwrap()
    }
}

impl<I> std::ops::IndexMut<I> for Mapping
where
    I: Index,
{
    #[inline]
    #[track_caller]
    fn index_mut(&mut self, index: I) -> &mut Value {
        index.index_into_mut(self).unwrap()
    }
}

impl Extend<(Value, Value)> for Mapping {
    #[inline]
    fn extend<I: IntoIterator<Item = (Value, Value)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(Value, Value)> for Mapping {
    #[inline]
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(iter: I) -> Self {
        let mut mapping = Mapping::new();
        mapping.extend(iter);
        mapping
    }
}

// kpipe: each iterator walks `entries`, mapping an entry to what it yields.
macro_rules! delegate_iterator {
    (($name:ident $($generics:tt)*) => $item:ty, |$e:pat_param| $map:expr) => {
        impl $($generics)* Iterator for $name $($generics)* {
            type Item = $item;
            #[inline]
            fn next(&mut self) -> Option<Self::Item> {
                self.iter.next().map(|$e| $map)
            }
            #[inline]
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.iter.size_hint()
            }
        }

        impl $($generics)* DoubleEndedIterator for $name $($generics)* {
            #[inline]
            fn next_back(&mut self) -> Option<Self::Item> {
                self.iter.next_back().map(|$e| $map)
            }
        }

        impl $($generics)* ExactSizeIterator for $name $($generics)* {
            #[inline]
            fn len(&self) -> usize {
                self.iter.len()
            }
        }
    }
}

/// Iterator over `&serde_yaml::Mapping`.
pub struct Iter<'a> {
    iter: std::slice::Iter<'a, (Value, Value)>,
}

delegate_iterator!((Iter<'a>) => (&'a Value, &'a Value), |(k, v)| (k, v));

impl<'a> IntoIterator for &'a Mapping {
    type Item = (&'a Value, &'a Value);
    type IntoIter = Iter<'a>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over `&mut serde_yaml::Mapping`.
pub struct IterMut<'a> {
    iter: std::slice::IterMut<'a, (Value, Value)>,
}

delegate_iterator!((IterMut<'a>) => (&'a Value, &'a mut Value), |(k, v)| (&*k, v));

impl<'a> IntoIterator for &'a mut Mapping {
    type Item = (&'a Value, &'a mut Value);
    type IntoIter = IterMut<'a>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

/// Iterator over `serde_yaml::Mapping` by value.
pub struct IntoIter {
    iter: std::vec::IntoIter<(Value, Value)>,
}

delegate_iterator!((IntoIter) => (Value, Value), |e| e);

impl IntoIterator for Mapping {
    type Item = (Value, Value);
    type IntoIter = IntoIter;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        IntoIter {
            iter: self.entries.into_iter(),
        }
    }
}

/// Iterator of the keys of a `&serde_yaml::Mapping`.
pub struct Keys<'a> {
    iter: std::slice::Iter<'a, (Value, Value)>,
}

delegate_iterator!((Keys<'a>) => &'a Value, |(k, _)| k);

/// Iterator of the keys of a `serde_yaml::Mapping`.
pub struct IntoKeys {
    iter: std::vec::IntoIter<(Value, Value)>,
}

delegate_iterator!((IntoKeys) => Value, |(k, _)| k);

/// Iterator of the values of a `&serde_yaml::Mapping`.
pub struct Values<'a> {
    iter: std::slice::Iter<'a, (Value, Value)>,
}

delegate_iterator!((Values<'a>) => &'a Value, |(_, v)| v);

/// Iterator of the values of a `&mut serde_yaml::Mapping`.
pub struct ValuesMut<'a> {
    iter: std::slice::IterMut<'a, (Value, Value)>,
}

delegate_iterator!((ValuesMut<'a>) => &'a mut Value, |(_, v)| v);

/// Iterator of the values of a `serde_yaml::Mapping`.
pub struct IntoValues {
    iter: std::vec::IntoIter<(Value, Value)>,
}

delegate_iterator!((IntoValues) => Value, |(_, v)| v);

/// Entry for an existing key-value pair or a vacant location to insert one.
pub enum Entry<'a> {
    /// Existing slot with equivalent key.
    Occupied(OccupiedEntry<'a>),
    /// Vacant slot (no equivalent key in the map).
    Vacant(VacantEntry<'a>),
}

/// A view into an occupied entry in a [`Mapping`]. It is part of the [`Entry`]
/// enum.
pub struct OccupiedEntry<'a> {
    map: &'a mut Mapping,
    /// The entry's position in `map.entries`.
    at: usize,
}

/// A view into a vacant entry in a [`Mapping`]. It is part of the [`Entry`]
/// enum.
pub struct VacantEntry<'a> {
    map: &'a mut Mapping,
    key: Value,
}

impl<'a> Entry<'a> {
    /// Returns a reference to this entry's key.
    pub fn key(&self) -> &Value {
        match self {
            Entry::Vacant(e) => e.key(),
            Entry::Occupied(e) => e.key(),
        }
    }

    /// Ensures a value is in the entry by inserting the default if empty, and
    /// returns a mutable reference to the value in the entry.
    pub fn or_insert(self, default: Value) -> &'a mut Value {
        match self {
            Entry::Vacant(entry) => entry.insert(default),
            Entry::Occupied(entry) => entry.into_mut(),
        }
    }

    /// Ensures a value is in the entry by inserting the result of the default
    /// function if empty, and returns a mutable reference to the value in the
    /// entry.
    pub fn or_insert_with<F>(self, default: F) -> &'a mut Value
    where
        F: FnOnce() -> Value,
    {
        match self {
            Entry::Vacant(entry) => entry.insert(default()),
            Entry::Occupied(entry) => entry.into_mut(),
        }
    }

    /// Provides in-place mutable access to an occupied entry before any
    /// potential inserts into the map.
    pub fn and_modify<F>(self, f: F) -> Self
    where
        F: FnOnce(&mut Value),
    {
        match self {
            Entry::Occupied(mut entry) => {
                f(entry.get_mut());
                Entry::Occupied(entry)
            }
            Entry::Vacant(entry) => Entry::Vacant(entry),
        }
    }
}

impl<'a> OccupiedEntry<'a> {
    /// Gets a reference to the key in the entry.
    #[inline]
    pub fn key(&self) -> &Value {
        &self.map.entries[self.at].0
    }

    /// Gets a reference to the value in the entry.
    #[inline]
    pub fn get(&self) -> &Value {
        &self.map.entries[self.at].1
    }

    /// Gets a mutable reference to the value in the entry.
    #[inline]
    pub fn get_mut(&mut self) -> &mut Value {
        &mut self.map.entries[self.at].1
    }

    /// Converts the entry into a mutable reference to its value.
    #[inline]
    pub fn into_mut(self) -> &'a mut Value {
        &mut self.map.entries[self.at].1
    }

    /// Sets the value of the entry with the `OccupiedEntry`'s key, and returns
    /// the entry's old value.
    #[inline]
    pub fn insert(&mut self, value: Value) -> Value {
        mem::replace(self.get_mut(), value)
    }

    /// Takes the value of the entry out of the map, and returns it.
    #[inline]
    pub fn remove(self) -> Value {
        self.remove_entry().1
    }

    /// Remove and return the key, value pair stored in the map for this entry.
    #[inline]
    pub fn remove_entry(self) -> (Value, Value) {
        self.map.swap_remove_at(self.at)
    }
}

impl<'a> VacantEntry<'a> {
    /// Gets a reference to the key that would be used when inserting a value
    /// through the VacantEntry.
    #[inline]
    pub fn key(&self) -> &Value {
        &self.key
    }

    /// Takes ownership of the key, leaving the entry vacant.
    #[inline]
    pub fn into_key(self) -> Value {
        self.key
    }

    /// Sets the value of the entry with the VacantEntry's key, and returns a
    /// mutable reference to it.
    #[inline]
    pub fn insert(self, value: Value) -> &'a mut Value {
        let i = self.map.push(self.key, value);
        &mut self.map.entries[i].1
    }
}

impl Serialize for Mapping {
    #[inline]
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map_serializer = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map_serializer.serialize_entry(k, v)?;
        }
        map_serializer.end()
    }
}

impl<'de> Deserialize<'de> for Mapping {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Mapping;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a YAML mapping")
            }

            #[inline]
            fn visit_unit<E>(self) -> Result<Self::Value, E>
            where
                E: serde::de::Error,
            {
                Ok(Mapping::new())
            }

            #[inline]
            fn visit_map<A>(self, mut data: A) -> Result<Self::Value, A::Error>
            where
                A: serde::de::MapAccess<'de>,
            {
                let mut mapping = Mapping::new();

                while let Some(key) = data.next_key()? {
                    match mapping.entry(key) {
                        Entry::Occupied(entry) => {
                            return Err(serde::de::Error::custom(DuplicateKeyError { entry }));
                        }
                        Entry::Vacant(entry) => {
                            let value = data.next_value()?;
                            entry.insert(value);
                        }
                    }
                }

                Ok(mapping)
            }
        }

        deserializer.deserialize_map(Visitor)
    }
}

struct DuplicateKeyError<'a> {
    entry: OccupiedEntry<'a>,
}

impl<'a> Display for DuplicateKeyError<'a> {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("duplicate entry ")?;
        match self.entry.key() {
            Value::Null => formatter.write_str("with null key"),
            Value::Bool(boolean) => write!(formatter, "with key `{}`", boolean),
            Value::Number(number) => write!(formatter, "with key {}", number),
            Value::String(string) => write!(formatter, "with key {:?}", string),
            Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => {
                formatter.write_str("in YAML map")
            }
        }
    }
}
