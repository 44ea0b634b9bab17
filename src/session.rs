//! Session variables (Educates names) for one session or many.

use crate::yaml;
use anyhow::{bail, Context, Result};
use serde_yaml::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The Educates session variables kpipe knows by name (integration-contracts.md §3). Any other
/// name may be added with `--var` or in a sessions file.
pub const EDUCATES_VARS: &[&str] = &[
    "session_name",
    "session_namespace",
    "session_id",
    "session_hostname",
    "session_url",
    "workshop_name",
    "workshop_namespace",
    "workshop_version",
    "environment_name",
    "training_portal",
    "ingress_domain",
    "ingress_protocol",
    "ingress_port",
    "ingress_port_suffix",
    "ingress_class",
    "cluster_domain",
    "image_repository",
    "oci_image_cache",
    "assets_repository",
    "storage_class",
    "platform_arch",
    "policy_engine",
    "policy_name",
];

/// The session name used when no session is given.
pub const DEFAULT_SESSION: &str = "default";

/// One session: its variables, lower-case Educates names plus any the user adds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    pub vars: BTreeMap<String, String>,
}

impl Session {
    /// `session_name`, else `session_namespace`, else `default`.
    pub fn name(&self) -> &str {
        self.vars
            .get("session_name")
            .or_else(|| self.vars.get("session_namespace"))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_SESSION)
    }

    /// Resolves a `${NAME}` placeholder: the exact name first (`--var FOO=…`), then the
    /// lower-case Educates name (`SESSION_NAMESPACE` → `session_namespace`).
    pub fn placeholder(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .or_else(|| self.vars.get(&name.to_ascii_lowercase()))
            .map(String::as_str)
    }
}

/// How the sessions of one run are chosen.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// `--session NAME`.
    pub session: Option<String>,
    /// `--sessions FILE`, or `DIR/sessions.yaml` found by the caller.
    pub sessions_file: Option<std::path::PathBuf>,
    /// `--var KEY=VALUE`, in order.
    pub vars: Vec<(String, String)>,
    /// Variables read from the environment (`--vars-from-env`), already filtered.
    pub env_vars: Vec<(String, String)>,
}

/// Defaults every session starts from.
fn defaults() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("ingress_protocol".into(), "https".into());
    m.insert("ingress_port_suffix".into(), String::new());
    m
}

/// The Educates variables present in an environment, for `--vars-from-env`.
pub fn vars_from_env(env: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let known: HashSet<String> = EDUCATES_VARS
        .iter()
        .map(|v| v.to_ascii_uppercase())
        .collect();
    let mut out: Vec<(String, String)> = env
        .filter(|(k, _)| known.contains(k))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    out.sort();
    out
}

/// Parses `KEY=VALUE`.
pub fn parse_var(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if valid_var_name(k) => Ok((k.to_string(), v.to_string())),
        _ => bail!("--var {s:?}: expected KEY=VALUE with KEY made of letters, digits and _"),
    }
}

fn valid_var_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds the sessions of a run, in order.
///
/// Precedence, lowest first: defaults, `--vars-from-env`, the session's own entry
/// (`--session` or the sessions file), `--var`.
pub fn build(opts: &SessionOptions) -> Result<Vec<Session>> {
    let mut base = defaults();
    base.extend(opts.env_vars.iter().cloned());
    let entries: Vec<(BTreeMap<String, String>, Option<String>)> = if let Some(name) = &opts.session
    {
        let mut m = BTreeMap::new();
        m.insert("session_name".to_string(), name.clone());
        m.insert("session_namespace".to_string(), name.clone());
        vec![(m, None)]
    } else if let Some(file) = &opts.sessions_file {
        // Lines are looked for only to report an error: a sessions file read without them
        // that turns out wrong anywhere is read again with them.
        let with_lines = || -> Result<Vec<Session>> {
            let entries = load_sessions_file(file)?
                .into_iter()
                .map(|(m, loc)| (m, Some(loc)))
                .collect();
            sessions_of(&base, opts, entries)
        };
        return match load_sessions_quickly(file) {
            Some(entries) => sessions_of(
                &base,
                opts,
                entries.into_iter().map(|m| (m, None)).collect(),
            )
            .or_else(|_| with_lines()),
            None => with_lines(),
        };
    } else {
        vec![(BTreeMap::new(), None)]
    };
    sessions_of(&base, opts, entries)
}

/// The sessions of `entries` (each with its `file:line`, when from a file) over `base`.
fn sessions_of(
    base: &BTreeMap<String, String>,
    opts: &SessionOptions,
    entries: Vec<(BTreeMap<String, String>, Option<String>)>,
) -> Result<Vec<Session>> {
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (entry, loc) in entries {
        let mut vars = base.clone();
        vars.extend(entry);
        vars.extend(opts.vars.iter().cloned());
        // Educates: the session namespace is named after the session, and vice versa.
        match (
            vars.get("session_name").cloned(),
            vars.get("session_namespace").cloned(),
        ) {
            (Some(n), None) => {
                vars.insert("session_namespace".into(), n);
            }
            (None, Some(ns)) => {
                vars.insert("session_name".into(), ns);
            }
            _ => {}
        }
        let s = Session { vars };
        let name = s.name().to_string();
        let at = loc.clone().map(|l| format!("{l}: ")).unwrap_or_default();
        check_session_name(&name).map_err(|e| anyhow::anyhow!("{at}{e}"))?;
        if let Some(prev) = seen.get(&name) {
            let prev = prev.clone().unwrap_or_default();
            bail!("{at}duplicate session {name:?} (first at {prev})");
        }
        seen.insert(name, loc);
        out.push(s);
    }
    Ok(out)
}

/// A session name becomes a folder name under `--output-dir`: keep it to DNS-label characters.
fn check_session_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        bail!("invalid session name {name:?}: use letters, digits, '-', '_' and '.'")
    }
}

/// [`load_sessions_file`] without lines (the fast YAML parser keeps none): `None` when the file
/// cannot be read or is wrong anywhere, for [`load_sessions_file`] to report where.
fn load_sessions_quickly(path: &Path) -> Option<Vec<BTreeMap<String, String>>> {
    let text = std::fs::read_to_string(path).ok()?;
    let docs = yaml::parse_stream(&text, yaml::Limits::default()).ok()?;
    let doc = docs.into_iter().find(|d| !d.empty)?;
    let list = match &doc.value {
        Value::Sequence(items) => items,
        Value::Mapping(m) => m.get("sessions")?.as_sequence()?,
        _ => return None,
    };
    if list.is_empty() {
        return None;
    }
    list.iter()
        .map(|item| {
            let mut vars = BTreeMap::new();
            for (k, v) in item.as_mapping()? {
                let key = k.as_str().filter(|k| valid_var_name(k))?;
                vars.insert(key.to_string(), var_value(v)?);
            }
            (vars.contains_key("session_name") || vars.contains_key("session_namespace"))
                .then_some(vars)
        })
        .collect()
}

/// A session variable's value as text: strings, numbers and booleans (null is empty).
fn var_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Reads a sessions file: a list of maps (or `{sessions: [...]}`), each a session's variables.
/// Returns each entry with its `file:line`.
pub fn load_sessions_file(path: &Path) -> Result<Vec<(BTreeMap<String, String>, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read sessions file", path.display()))?;
    let shown = path.display().to_string();
    let docs = yaml::parse_stream_with_positions(&text, yaml::Limits::default())
        .map_err(|e| anyhow::anyhow!("{shown}:{}: {}", e.line, e.message))?;
    let Some((doc, pos)) = docs.into_iter().find(|(d, _)| !d.empty) else {
        bail!("{shown}:1: sessions file is empty: expected a list of sessions");
    };
    let (list, list_pos) = match &doc.value {
        Value::Sequence(_) => (&doc.value, &pos),
        Value::Mapping(m) if m.get("sessions").is_some_and(Value::is_sequence) => (
            &doc.value["sessions"],
            pos.find(&[yaml::PathSeg::Key("sessions".into())]),
        ),
        _ => bail!(
            "{shown}:{}: expected a list of sessions (each a map of variables)",
            doc.line
        ),
    };
    let items = list.as_sequence().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        // Rendering no session would leave `--output-dir` emptied of every session's files.
        bail!(
            "{shown}:{}: the list of sessions is empty",
            list_pos.line.max(1)
        );
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let line = list_pos.items.get(i).map(|p| p.line).unwrap_or(doc.line);
        let at = format!("{shown}:{line}");
        let Value::Mapping(m) = item else {
            bail!("{at}: session {} is not a map of variables", i + 1);
        };
        let mut vars = BTreeMap::new();
        for (k, v) in m {
            let key = k.as_str().unwrap_or_default().to_string();
            // Errors about one variable name the variable's own line.
            let var_at = list_pos
                .items
                .get(i)
                .map(|p| p.find(&[yaml::PathSeg::Key(key.clone())]).line)
                .map_or(at.clone(), |l| format!("{shown}:{l}"));
            if !valid_var_name(&key) {
                bail!("{var_at}: invalid variable name {key:?}");
            }
            let Some(value) = var_value(v) else {
                bail!("{var_at}: variable {key:?} must be a string, number or boolean");
            };
            vars.insert(key, value);
        }
        if !vars.contains_key("session_name") && !vars.contains_key("session_namespace") {
            bail!(
                "{at}: session {} has neither session_name nor session_namespace",
                i + 1
            );
        }
        out.push((vars, at));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_flag_sets_name_and_namespace() {
        let s = build(&SessionOptions {
            session: Some("user1".into()),
            vars: vec![("ingress_domain".into(), "example.com".into())],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].vars["session_namespace"], "user1");
        assert_eq!(s[0].vars["ingress_protocol"], "https");
        assert_eq!(s[0].placeholder("INGRESS_DOMAIN"), Some("example.com"));
        assert_eq!(s[0].placeholder("NOPE"), None);
    }

    #[test]
    fn env_vars_only_known_names() {
        let env = vec![
            ("SESSION_NAMESPACE".to_string(), "s1".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        assert_eq!(
            vars_from_env(env.into_iter()),
            vec![("session_namespace".to_string(), "s1".to_string())]
        );
    }

    #[test]
    fn var_parsing() {
        assert_eq!(parse_var("A_B=c=d").unwrap(), ("A_B".into(), "c=d".into()));
        assert!(parse_var("no-equals").is_err());
        assert!(parse_var("1x=2").is_err());
    }

    #[test]
    fn sessions_file_read_alike_with_and_without_lines() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.yaml");
        for text in [
            "- session_name: a\n  port: 8080\n  tls: yes\n  note: ~\n- {session_namespace: b, x: '1.0'}\n",
            "# sessions\nsessions:\n- session_name: a\n  ratio: 0.5\n",
        ] {
            std::fs::write(&f, text).unwrap();
            let quick = load_sessions_quickly(&f).unwrap();
            let lined: Vec<_> = load_sessions_file(&f).unwrap().into_iter().map(|(m, _)| m).collect();
            assert_eq!(quick, lined, "{text}");
        }
        // Anything wrong is left to the reader that names lines.
        for text in [
            "",
            "[]",
            "- session_name: a\n- ingress_domain: x\n",
            "- session_name: [a]\n",
            "- 1x: a\n  session_name: b\n",
            "sessions: {a: b}\n",
            "- session_name: 'a\n",
        ] {
            std::fs::write(&f, text).unwrap();
            assert!(load_sessions_quickly(&f).is_none(), "{text}");
            assert!(load_sessions_file(&f).is_err(), "{text}");
        }
    }

    #[test]
    fn sessions_file_errors_name_lines() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.yaml");
        std::fs::write(&f, "- session_name: a\n- ingress_domain: x\n").unwrap();
        let e = load_sessions_file(&f).unwrap_err().to_string();
        assert!(
            e.ends_with("s.yaml:2: session 2 has neither session_name nor session_namespace"),
            "{e}"
        );
        std::fs::write(&f, "- session_name: a\n- session_name: a\n").unwrap();
        let e = build(&SessionOptions {
            sessions_file: Some(f.clone()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("s.yaml:2: duplicate session \"a\""), "{e}");
    }
}
