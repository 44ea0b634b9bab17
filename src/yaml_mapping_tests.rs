//! `serde_yaml::Mapping` as vendored here keeps small maps as a plain list and indexes the
//! keys of larger ones (vendor/serde_yaml/README.md). These tests hold it to a list of pairs
//! through random runs of every operation, across the size where the index comes and goes.

use serde_yaml::mapping::Entry;
use serde_yaml::{Mapping, Value};

/// xorshift64*: the same runs on every machine.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Keys of several kinds; `Value::from(7)` and `"7"` must stay apart.
fn key(n: u64) -> Value {
    match n % 4 {
        0 => Value::from(n),
        1 => Value::Bool(n % 8 == 1),
        2 => Value::from(format!("{n}")),
        // The text of a number key above.
        _ => Value::from(format!("{}", n - 3)),
    }
}

fn same(map: &Mapping, model: &[(Value, Value)]) {
    assert_eq!(map.len(), model.len());
    let pairs: Vec<(Value, Value)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(pairs, model, "entries in insertion order");
    for (k, v) in model {
        assert_eq!(map.get(k), Some(v));
        if let Value::String(s) = k {
            assert_eq!(map.get(s.as_str()), Some(v), "looked up as a str");
        }
    }
    assert_eq!(map.get("absent"), None);
    assert_eq!(map.keys().count(), model.len());
    assert_eq!(map.values().next_back(), model.last().map(|(_, v)| v));
}

#[test]
fn a_mapping_behaves_as_a_list_of_pairs() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut crossed = 0;
    for run in 0..60 {
        let mut map = Mapping::new();
        let mut model: Vec<(Value, Value)> = Vec::new();
        // Key ranges both under and well over the size where the index starts (16).
        let keys = [6, 30, 80][run % 3];
        let mut largest = 0;
        for step in 0..400u64 {
            let k = key(rng.below(keys));
            let v = Value::from(step);
            let at = model.iter().position(|(mk, _)| *mk == k);
            match rng.below(12) {
                0..=4 => {
                    let old = map.insert(k.clone(), v.clone());
                    match at {
                        Some(i) => assert_eq!(old, Some(std::mem::replace(&mut model[i].1, v))),
                        None => {
                            assert_eq!(old, None);
                            model.push((k, v));
                        }
                    }
                }
                5 => {
                    let got = map.swap_remove(&k);
                    assert_eq!(got, at.map(|i| model.swap_remove(i).1));
                }
                6 => {
                    let got = map.shift_remove_entry(&k);
                    assert_eq!(got, at.map(|i| model.remove(i)));
                }
                7 => match map.entry(k.clone()) {
                    Entry::Occupied(mut e) => {
                        let i = at.expect("occupied only when present");
                        assert_eq!(e.key(), &k);
                        assert_eq!(e.insert(v.clone()), std::mem::replace(&mut model[i].1, v));
                        if step % 2 == 0 {
                            assert_eq!(e.remove_entry(), model.swap_remove(i));
                        }
                    }
                    Entry::Vacant(e) => {
                        assert!(at.is_none());
                        *e.insert(Value::Null) = v.clone();
                        model.push((k, v));
                    }
                },
                8 if step % 5 == 0 => {
                    let drop_every = rng.below(3) + 2;
                    let mut n = 0;
                    map.retain(|_, _| {
                        n += 1;
                        n % drop_every != 0
                    });
                    let mut n = 0;
                    model.retain(|_| {
                        n += 1;
                        n % drop_every != 0
                    });
                }
                9 => {
                    if let Some(x) = map.get_mut(&k) {
                        *x = v.clone();
                    }
                    if let Some(i) = at {
                        model[i].1 = v;
                    }
                }
                _ if step % 97 == 0 => {
                    map.clear();
                    model.clear();
                }
                _ => {
                    let copy = map.clone();
                    assert_eq!(copy, map);
                    // Equal whatever the order.
                    let reversed: Mapping = model.iter().rev().cloned().collect();
                    assert_eq!(reversed, map);
                }
            }
            same(&map, &model);
            largest = largest.max(model.len());
        }
        crossed += usize::from(largest > 16);
    }
    // Most runs went over the size where the index is built, and back.
    assert!(crossed >= 30, "{crossed} runs");
}

#[test]
fn unequal_maps_are_told_apart() {
    let a: Mapping = (0..30).map(|i| (Value::from(i), Value::from(i))).collect();
    let mut b = a.clone();
    b.insert(Value::from(29), Value::from("other"));
    assert_ne!(a, b);
    let mut c = a.clone();
    c.swap_remove(Value::from(3));
    c.insert(Value::from(30), Value::from(3));
    assert_ne!(a, c);
    let small: Mapping = [(Value::from("a"), Value::Null)].into_iter().collect();
    assert_ne!(small, Mapping::new());
}

#[test]
fn a_value_is_four_words() {
    // A map is its list and a pointer to its index, so a YAML node is the size of a string and
    // its tag (with an `IndexMap` inside, 72 bytes): every node and map entry depends on it.
    assert_eq!(std::mem::size_of::<Value>(), 32);
}
