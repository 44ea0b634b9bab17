//! Live objects from JSON (`kubectl get -o json`, saved snapshots), read straight into the
//! values the diff uses, without the parts it always drops: `metadata.managedFields` and
//! `status` are skipped while parsing (never allocated). kapp removes `status` from both sides
//! (the default `diffAgainstExistingFieldExclusionRules` rule, applied first, for every
//! resource) and kpipe drops server metadata before any rule sees the live copy, so the result
//! of a diff is the same; a 10,000-object snapshot is mostly managedFields and status.

use super::flatten_into;
use anyhow::{Context, Result};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::fmt;

/// Parses every JSON value in `bytes` (several may be concatenated) and appends the objects,
/// `List`s flattened, to `out`. `what` names the input in errors.
pub fn parse_json_objects(
    bytes: &[u8],
    what: &dyn fmt::Display,
    out: &mut Vec<Value>,
) -> Result<()> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Top>();
    let mut i = 0;
    loop {
        let start = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        i += 1;
        let top = next.with_context(|| format!("{what}: JSON value {i}"))?;
        if top.lean_items && !is_list(&top.value) {
            // `items` of an object that is not a List: not objects, so read them unchanged.
            let end = stream.byte_offset();
            let v: Value = serde_json::from_slice(&bytes[start..end])
                .with_context(|| format!("{what}: JSON value {i}"))?;
            flatten_into(v, out);
        } else {
            flatten_into(top.value, out);
        }
    }
    Ok(())
}

fn is_list(v: &Value) -> bool {
    v.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
}

/// One top-level JSON value, read as an object (or a List of objects).
struct Top {
    value: Value,
    /// `items` were read as objects (skipping their status and managedFields).
    lean_items: bool,
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Top, D::Error> {
        let mut lean_items = false;
        let value = Seed {
            mode: Mode::Top,
            saw_items: Some(&mut lean_items),
        }
        .deserialize(d)?;
        Ok(Top { value, lean_items })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A top-level value: an object, or a List whose `items` are objects.
    Top,
    /// An object: `status` skipped, `metadata` read as metadata.
    Object,
    /// `metadata`: `managedFields` skipped.
    Metadata,
    /// A List's `items`: each one an object.
    Items,
}

struct Seed<'a> {
    mode: Mode,
    saw_items: Option<&'a mut bool>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn seed(mode: Mode) -> Seed<'static> {
    Seed {
        mode,
        saw_items: None,
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        if self.mode == Mode::Items {
            while let Some(v) = seq.next_element_seed(seed(Mode::Object))? {
                out.push(v);
            }
        } else {
            while let Some(v) = seq.next_element::<Value>()? {
                out.push(v);
            }
        }
        Ok(Value::Sequence(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Mapping::with_capacity(map.size_hint().unwrap_or(0));
        let mut saw_items = self.saw_items;
        while let Some(key) = map.next_key::<String>()? {
            let value = match (self.mode, key.as_str()) {
                (Mode::Top | Mode::Object, "status") | (Mode::Metadata, "managedFields") => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                (Mode::Top | Mode::Object, "metadata") => {
                    map.next_value_seed(seed(Mode::Metadata))?
                }
                (Mode::Top, "items") => {
                    if let Some(flag) = saw_items.as_deref_mut() {
                        *flag = true;
                    }
                    map.next_value_seed(seed(Mode::Items))?
                }
                _ => map.next_value::<Value>()?,
            };
            if m.insert(Value::String(key), value).is_some() {
                return Err(de::Error::custom("duplicate key in a JSON object"));
            }
        }
        Ok(Value::Mapping(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Value> {
        let mut out = Vec::new();
        parse_json_objects(text.as_bytes(), &"t.json", &mut out).unwrap();
        out
    }

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn skips_status_and_managed_fields() {
        let got = parse(
            r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[
              {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","managedFields":[{"manager":"kapp"}],"labels":{"x":"1"}},"data":{"status":"kept"},"status":{"phase":"x"}},
              {"metadata":{"name":"b"},"spec":{"items":[{"status":1}]}}]}
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"status":{},"n":[1,-2,1.5,null,true]}"#,
        );
        assert_eq!(
            got,
            vec![
                y("{apiVersion: v1, kind: ConfigMap, metadata: {name: a, labels: {x: '1'}}, data: {status: kept}}"),
                y("{metadata: {name: b}, spec: {items: [{status: 1}]}}"),
                y("{apiVersion: v1, kind: Secret, metadata: {name: s}, n: [1, -2, 1.5, null, true]}"),
            ]
        );
    }

    #[test]
    fn items_of_a_non_list_are_kept_whole() {
        let got =
            parse(r#"{"kind":"Thing","items":[{"status":1,"metadata":{"managedFields":[]}}]}"#);
        assert_eq!(
            got,
            vec![y(
                "{kind: Thing, items: [{status: 1, metadata: {managedFields: []}}]}"
            )]
        );
    }

    #[test]
    fn same_as_generic_parse_otherwise() {
        let text = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","annotations":{"a":"{\"x\":1}"}},"spec":{"replicas":2,"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}]}]}}}}"#;
        let generic: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text), vec![generic]);
        let mut out = Vec::new();
        let e = parse_json_objects(b"{\"a\":1,\"a\":2}", &"x.json", &mut out).unwrap_err();
        assert!(format!("{e:#}").contains("x.json: JSON value 1"), "{e:#}");
        assert!(parse_json_objects(b"{\"a\":", &"x.json", &mut out).is_err());
    }
}
