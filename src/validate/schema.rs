//! JSON Schema checks: values against `values.schema.json`, resources against `--crd` schemas.
//!
//! Validation uses the `jsonschema` crate without its HTTP/file features and with an offline
//! retriever: a `$ref` to anything outside the schema itself is refused when compiling.

use super::{Finding, Sink, Subject};
use crate::yaml::PathSeg;
use anyhow::{anyhow, bail, Context, Result};
use jsonschema::Validator;
use serde_json::{Map, Number, Value as Json};
use serde_yaml::Value;
use std::fmt;

/// YAML value → JSON value (keys as text, tags dropped, non-finite floats → null).
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Json::Number(u.into())
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            }
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(s) => Json::Array(s.iter().map(to_json).collect()),
        Value::Mapping(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(crate::yaml::key_text(k), to_json(v));
            }
            Json::Object(out)
        }
        Value::Tagged(t) => to_json(&t.value),
    }
}

/// Compiles a schema offline (draft 2020-12 unless it names another with `$schema`).
pub fn compile(schema: &Json) -> Result<Validator> {
    let mut opts = jsonschema::options().offline();
    if schema.get("$schema").is_none() {
        opts = opts.with_draft(jsonschema::Draft::Draft202012);
    }
    opts.build(schema)
        .map_err(|e| anyhow!("invalid schema (remote and file $refs are refused): {e}"))
}

/// Turns a JSON pointer into a path, reading indexes where the instance has arrays.
pub fn pointer_to_path(pointer: &str, instance: &Json) -> Vec<PathSeg> {
    let mut out = Vec::new();
    let mut cur = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let tok = raw.replace("~1", "/").replace("~0", "~");
        match cur {
            Some(Json::Array(a)) => match tok.parse::<usize>() {
                Ok(i) => {
                    cur = a.get(i);
                    out.push(PathSeg::Index(i));
                }
                Err(_) => {
                    cur = None;
                    out.push(PathSeg::Key(tok));
                }
            },
            Some(Json::Object(o)) => {
                cur = o.get(&tok);
                out.push(PathSeg::Key(tok));
            }
            _ => {
                cur = None;
                out.push(PathSeg::Key(tok));
            }
        }
    }
    out
}

/// A compiled values schema.
pub struct ValuesSchema {
    validator: Validator,
    /// Where it came from, for messages.
    pub source: String,
}

impl fmt::Debug for ValuesSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValuesSchema({})", self.source)
    }
}

impl ValuesSchema {
    /// Reads and compiles a JSON (or YAML) schema file.
    pub fn load(path: &std::path::Path) -> Result<ValuesSchema> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read schema", path.display()))?;
        let json: Json = match serde_json::from_str(&text) {
            Ok(j) => j,
            Err(_) => to_json(
                &crate::yaml::parse_one(&text, crate::yaml::Limits::default())
                    .map_err(|e| anyhow!("{}: {e}", path.display()))?,
            ),
        };
        Ok(ValuesSchema {
            validator: compile(&json).with_context(|| path.display().to_string())?,
            source: path.display().to_string(),
        })
    }

    pub fn from_json(json: &Json, source: &str) -> Result<ValuesSchema> {
        Ok(ValuesSchema {
            validator: compile(json)?,
            source: source.to_string(),
        })
    }

    /// Checks merged values; findings have `Subject::Values` and the value path.
    pub fn check(&self, values: &Value) -> Vec<Finding> {
        let json = to_json(values);
        let mut out = Vec::new();
        if self.validator.is_valid(&json) {
            return out;
        }
        let mut sink = Sink::for_subject(&mut out, Subject::Values);
        for e in self.validator.iter_errors(&json) {
            let path = pointer_to_path(e.instance_path().as_str(), &json);
            let shown = if path.is_empty() {
                "values".to_string()
            } else {
                crate::yaml::path_string(&path)
            };
            sink.error(
                "values-schema",
                path,
                format!("{shown}: {e} ({})", self.source),
            );
        }
        out
    }
}

/// One kind's schemas from a CRD, per served version.
pub struct CrdSchema {
    pub group: String,
    pub kind: String,
    pub versions: Vec<(String, Validator)>,
    pub source: String,
}

impl fmt::Debug for CrdSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CrdSchema({}.{} from {})",
            self.kind, self.group, self.source
        )
    }
}

/// Loads every CRD of a YAML file (`--crd FILE`).
pub fn load_crds(path: &std::path::Path) -> Result<Vec<CrdSchema>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read CRD file", path.display()))?;
    let docs = crate::yaml::parse_stream(&text, crate::yaml::Limits::default())
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for d in docs {
        if d.value.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        out.push(
            crd_schema(&d.value, &path.display().to_string())
                .with_context(|| format!("{}:{}", path.display(), d.line))?,
        );
    }
    if out.is_empty() {
        bail!("{}: no CustomResourceDefinition found", path.display());
    }
    Ok(out)
}

fn crd_schema(crd: &Value, source: &str) -> Result<CrdSchema> {
    let spec = crd.get("spec").ok_or_else(|| anyhow!("CRD has no spec"))?;
    let group = spec
        .get("group")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = spec
        .get("names")
        .and_then(|n| n.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut versions = Vec::new();
    for v in super::seq_of(spec.get("versions")) {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let schema = v
            .get("schema")
            .and_then(|s| s.get("openAPIV3Schema"))
            .or_else(|| {
                spec.get("validation")
                    .and_then(|s| s.get("openAPIV3Schema"))
            });
        if let Some(schema) = schema {
            let json = openapi_to_json_schema(&to_json(schema), true);
            let validator = compile(&json).with_context(|| format!("{kind} {name}"))?;
            versions.push((name, validator));
        }
    }
    Ok(CrdSchema {
        group,
        kind,
        versions,
        source: source.to_string(),
    })
}

/// Converts a Kubernetes structural OpenAPI v3 schema to JSON Schema 2020-12:
/// `x-kubernetes-int-or-string` → integer or string; `nullable` → adds null;
/// `x-kubernetes-preserve-unknown-fields` → anything goes; objects with `properties` and no
/// `additionalProperties` reject unknown fields (reported as warnings: the API server prunes
/// them). `root` skips the unknown-field rule for `apiVersion`/`kind`/`metadata` at the top.
pub fn openapi_to_json_schema(s: &Json, root: bool) -> Json {
    let Json::Object(m) = s else { return s.clone() };
    let mut out = Map::new();
    let preserve = m.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true));
    let int_or_string = m.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true));
    let nullable = m.get("nullable") == Some(&Json::Bool(true));
    for (k, v) in m {
        match k.as_str() {
            "properties" | "patternProperties" | "definitions" => {
                if let Json::Object(props) = v {
                    let conv = props
                        .iter()
                        .map(|(pk, pv)| (pk.clone(), openapi_to_json_schema(pv, false)))
                        .collect();
                    out.insert(k.clone(), Json::Object(conv));
                }
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(
                    k.clone(),
                    if v.is_object() {
                        openapi_to_json_schema(v, false)
                    } else {
                        v.clone()
                    },
                );
            }
            "allOf" | "anyOf" | "oneOf" => {
                if let Json::Array(a) = v {
                    // Structural schemas use these only as value validation, never to add types.
                    out.insert(
                        k.clone(),
                        Json::Array(a.iter().map(|x| openapi_to_json_schema(x, false)).collect()),
                    );
                }
            }
            "nullable" | "format" | "example" | "externalDocs" => {}
            x if x.starts_with("x-kubernetes-") => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if int_or_string {
        out.remove("type");
        out.insert(
            "type".into(),
            Json::Array(vec![Json::from("integer"), Json::from("string")]),
        );
    }
    if nullable {
        if let Some(Json::String(t)) = out.get("type").cloned() {
            out.insert(
                "type".into(),
                Json::Array(vec![Json::String(t), Json::from("null")]),
            );
        }
    }
    if root {
        if let Some(Json::Object(props)) = out.get_mut("properties") {
            for k in ["apiVersion", "kind", "metadata"] {
                props
                    .entry(k.to_string())
                    .or_insert(Json::Object(Map::new()));
            }
            props
                .entry("status".to_string())
                .or_insert(Json::Object(Map::new()));
        }
    }
    if !preserve && out.contains_key("properties") && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), Json::Bool(false));
    }
    Json::Object(out)
}

pub(crate) fn check_crds(
    obj: &Value,
    api: &str,
    kind: &str,
    crds: &[CrdSchema],
    sink: &mut Sink<'_>,
) {
    if crds.is_empty() {
        return;
    }
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    let Some(crd) = crds.iter().find(|c| c.kind == kind && c.group == group) else {
        return;
    };
    let Some((_, validator)) = crd.versions.iter().find(|(v, _)| v == version) else {
        sink.error(
            "crd-schema",
            vec![PathSeg::Key("apiVersion".into())],
            format!(
                "{} does not serve version {version:?} of {kind}",
                crd.source
            ),
        );
        return;
    };
    let json = to_json(obj);
    if validator.is_valid(&json) {
        return;
    }
    for e in validator.iter_errors(&json) {
        let path = pointer_to_path(e.instance_path().as_str(), &json);
        let shown = if path.is_empty() {
            "object".to_string()
        } else {
            crate::yaml::path_string(&path)
        };
        if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
            e.kind()
        {
            for u in unexpected {
                let mut p = path.clone();
                p.push(PathSeg::Key(u.clone()));
                sink.warn("crd-unknown-field", p, format!("{shown}: field {u:?} is not in the {kind} schema ({}); the API server drops it", crd.source));
            }
            continue;
        }
        sink.error("crd-schema", path, format!("{shown}: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_refs_refused() {
        assert!(compile(&json!({"$ref": "https://example.com/s.json"})).is_err());
        assert!(compile(&json!({"$ref": "file:///etc/passwd"})).is_err());
    }

    #[test]
    fn values_paths() {
        let schema = ValuesSchema::from_json(
            &json!({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}, "required": ["b"]}),
            "s.json",
        )
        .unwrap();
        let v: Value = serde_yaml::from_str("a: [1, x]\n").unwrap();
        let f = schema.check(&v);
        assert_eq!(f.len(), 2);
        assert!(f
            .iter()
            .any(|f| f.path == vec![PathSeg::Key("a".into()), PathSeg::Index(1)]));
    }

    #[test]
    fn int_or_string() {
        let s = openapi_to_json_schema(
            &json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true}}}),
            false,
        );
        let v = compile(&s).unwrap();
        assert!(v.is_valid(&json!({"p": 1})));
        assert!(v.is_valid(&json!({"p": "1"})));
        assert!(!v.is_valid(&json!({"p": true})));
        assert!(!v.is_valid(&json!({"q": 1})));
    }
}
