//! kapp-controller `App` (`kappctrl.k14s.io/v1alpha1`) checks, also applied to a Package's
//! `spec.template.spec`: what kapp-controller rejects at reconcile time, found before deploy.

use super::Field;
use super::{path_in, seq_of, str_of, Seg, Sink};
use serde_yaml::Value;

const FETCH_KINDS: &[&str] = &[
    "git",
    "http",
    "image",
    "imgpkgBundle",
    "helmChart",
    "inline",
];
const TEMPLATE_KINDS: &[&str] = &["ytt", "kbld", "helmTemplate", "sops", "cue"];
const UNIMPLEMENTED_TEMPLATES: &[&str] = &["kustomize", "jsonnet"];
const VALUES_SOURCES: &[&str] = &["secretRef", "configMapRef", "path", "downwardAPI"];

/// kapp flags kapp-controller passes through (`kapp_restrict.go`); `--filter*` also allowed.
const SHARED_FLAGS: &[&str] = &[
    "--column",
    "--debug",
    "--json",
    "--tty",
    "--dangerous-ignore-failing-api-services",
    "--dangerous-scope-to-fallback-allowed-namespaces",
    "--kube-api-qps",
    "--kube-api-burst",
];
const CHANGE_FLAGS: &[&str] = &[
    "--diff-changes",
    "--diff-against-last-applied",
    "--diff-context",
    "--diff-line-numbers",
    "--diff-mask",
    "--diff-run",
    "--diff-summary",
    "--diff-anchored",
    "--apply-check-interval",
    "--apply-concurrency",
    "--apply-default-update-strategy",
    "--apply-ignored",
    "--apply-timeout",
    "--exit-early-on-apply-error",
    "--wait",
    "--wait-check-interval",
    "--wait-concurrency",
    "--wait-ignored",
    "--wait-timeout",
    "--exit-early-on-wait-error",
];
const DEPLOY_FLAGS: &[&str] = &[
    "--dangerous-allow-empty-list-of-resources",
    "--existing-non-labeled-resources-check",
    "--existing-non-labeled-resources-check-concurrency",
    "--dangerous-override-ownership-of-existing-resources",
    "--into-ns",
    "--map-ns",
    "--logs",
    "--logs-all",
    "--app-changes-max-to-keep",
    "--labels",
    "--patch",
];
const INSPECT_FLAGS: &[&str] = &["--raw", "--status", "--tree"];

/// The keys of `entry` among `known` (the first two, and how many).
fn kinds(entry: &Value, known: &[&'static str]) -> Kinds {
    let mut k = Kinds::default();
    if let Value::Mapping(m) = entry {
        for key in m.keys() {
            if let Some(found) = key.as_str().and_then(|s| known.iter().find(|x| **x == s)) {
                if k.n < 2 {
                    k.first[k.n] = found;
                }
                k.n += 1;
            }
        }
    }
    k
}

#[derive(Default)]
struct Kinds {
    first: [&'static str; 2],
    n: usize,
}

impl Kinds {
    fn one(&self) -> Option<&'static str> {
        (self.n == 1).then_some(self.first[0])
    }

    fn list(&self, entry: &Value, known: &[&'static str]) -> String {
        let v: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| entry.field(k).is_some())
            .collect();
        v.join(", ")
    }
}

fn keys_of(entry: &Value) -> String {
    match entry {
        Value::Mapping(m) => {
            let v: Vec<String> = m.keys().map(crate::yaml::key_text).collect();
            if v.is_empty() {
                "none".into()
            } else {
                v.join(", ")
            }
        }
        other => crate::manifest::type_name(other).into(),
    }
}

/// Checks an App spec found at `base` (`["spec"]`, or a Package's `["spec","template","spec"]`).
pub(crate) fn check_spec(spec: &Value, base: &'static [&'static str], sink: &mut Sink<'_>) {
    let at = |more: &[Seg<'_>]| path_in(base, more);
    if !spec.is_mapping() {
        sink.error("app-missing-field", at(&[]), "App spec is not a map");
        return;
    }
    let sa = spec
        .field("serviceAccountName")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    if !sa && spec.field("cluster").is_none_or(Value::is_null) && base.len() == 1 {
        sink.error("app-missing-field", at(&[]), "App needs spec.serviceAccountName or spec.cluster (kapp-controller: Expected service account or cluster specified)");
    }
    // Fetch: folder names the template stage sees.
    let fetch = spec.field("fetch");
    let fetches = seq_of(fetch);
    if fetches.is_empty() {
        sink.error("app-missing-field", at(&[]), "App needs at least one spec.fetch entry (kapp-controller: Expected at least one fetch option)");
    }
    let mut folders: Vec<Folder<'_>> = Vec::with_capacity(fetches.len());
    for (i, f) in fetches.iter().enumerate() {
        let fat = |more: &[Seg<'_>]| at(&[&["fetch".into(), i.into()], more].concat());
        if f.is_null() {
            sink.error(
                "app-null-entry",
                fat(&[]),
                "fetch entry is null (a `- #@ …` line read without ytt?)",
            );
            folders.push(Folder::Index(i));
            continue;
        }
        match str_of(f, "path") {
            Some(p) if !p.is_empty() => folders.push(Folder::Path(p.trim_end_matches('/'))),
            _ => folders.push(Folder::Index(i)),
        }
        let ks = kinds(f, FETCH_KINDS);
        match (ks.n, ks.one()) {
            (0, _) => sink.error(
                "app-kind",
                fat(&[]),
                format!(
                    "fetch entry has no known kind (one of {}; found: {})",
                    FETCH_KINDS.join(", "),
                    keys_of(f)
                ),
            ),
            (_, Some(k)) => check_fetch(
                k,
                f.field(k).unwrap_or(&Value::Null),
                &|more: &[Seg<'_>]| fat(&[&[Seg::K(k)], more].concat()),
                sink,
            ),
            _ => sink.error(
                "app-kind",
                fat(&[]),
                format!(
                    "fetch entry has several kinds ({}); use one per entry",
                    ks.list(f, FETCH_KINDS)
                ),
            ),
        }
    }
    let single_root = fetches.len() == 1 && fetches[0].field("path").is_none();
    // Template steps.
    let templates = seq_of(spec.field("template"));
    if templates.is_empty() {
        sink.error("app-missing-field", at(&[]), "App needs at least one spec.template entry (kapp-controller: Expected at least one template option)");
    }
    let ctx = PathCtx {
        folders: &folders,
        single_root,
    };
    for (i, t) in templates.iter().enumerate() {
        let tat = |more: &[Seg<'_>]| at(&[&["template".into(), i.into()], more].concat());
        if t.is_null() {
            sink.error(
                "app-null-entry",
                tat(&[]),
                "template entry is null (a `- #@ …` line read without ytt?)",
            );
            continue;
        }
        let ks = kinds(t, TEMPLATE_KINDS);
        match (ks.n, ks.one()) {
            (_, Some(k)) => {
                let body = t.field(k).unwrap_or(&Value::Null);
                let bat = |more: &[Seg<'_>]| tat(&[&[Seg::K(k)], more].concat());
                for list in ["paths", "fileMarks"] {
                    if body.field(list).is_none() {
                        continue;
                    }
                    check_list(
                        body.field(list),
                        &bat(&[Seg::K(list)]),
                        list == "paths",
                        &ctx,
                        sink,
                    );
                }
                if let Some(Value::String(p)) = body.field("path") {
                    ctx.check(p, || bat(&["path".into()]), sink);
                }
                if body.field("valuesFrom").is_some() {
                    check_values_from(
                        body.field("valuesFrom"),
                        &bat(&["valuesFrom".into()]),
                        &ctx,
                        sink,
                    );
                }
            }
            (0, _) => {
                if let Some(u) = UNIMPLEMENTED_TEMPLATES
                    .iter()
                    .find(|u| t.field(u).is_some())
                {
                    sink.error("app-kind", tat(&[]), format!("template step {u} is declared in the API but not implemented by kapp-controller (Unsupported way to template)"));
                } else {
                    sink.error(
                        "app-kind",
                        tat(&[]),
                        format!(
                            "template entry has no known kind (one of {}; found: {})",
                            TEMPLATE_KINDS.join(", "),
                            keys_of(t)
                        ),
                    );
                }
            }
            _ => sink.error(
                "app-kind",
                tat(&[]),
                format!(
                    "template entry has several kinds ({}); use one step per entry",
                    ks.list(t, TEMPLATE_KINDS)
                ),
            ),
        }
    }
    // Deploy.
    let deploys = seq_of(spec.field("deploy"));
    if deploys.len() != 1 {
        let at_ = if spec.field("deploy").is_some() {
            at(&["deploy".into()])
        } else {
            at(&[])
        };
        sink.error("app-missing-field", at_, format!("App needs exactly one spec.deploy entry, found {} (kapp-controller: Expected exactly one deploy option)", deploys.len()));
    }
    for (i, d) in deploys.iter().enumerate() {
        let dat = |more: &[Seg<'_>]| at(&[&["deploy".into(), i.into()], more].concat());
        if d.is_null() {
            sink.error("app-null-entry", dat(&[]), "deploy entry is null");
            continue;
        }
        let Some(kapp) = d.field("kapp") else {
            sink.error(
                "app-kind",
                dat(&[]),
                format!(
                    "deploy entry has no known kind (only kapp; found: {})",
                    keys_of(d)
                ),
            );
            continue;
        };
        if kapp.field("rawOptions").is_some() {
            check_raw(
                kapp.field("rawOptions"),
                &dat(&["kapp".into(), "rawOptions".into()]),
                &[SHARED_FLAGS, CHANGE_FLAGS, DEPLOY_FLAGS],
                sink,
            );
        }
        if let Some(del) = kapp.field("delete") {
            check_raw(
                del.field("rawOptions"),
                &dat(&["kapp".into(), "delete".into(), "rawOptions".into()]),
                &[SHARED_FLAGS, CHANGE_FLAGS],
                sink,
            );
        }
        if let Some(ins) = kapp.field("inspect") {
            check_raw(
                ins.field("rawOptions"),
                &dat(&["kapp".into(), "inspect".into(), "rawOptions".into()]),
                &[SHARED_FLAGS, INSPECT_FLAGS],
                sink,
            );
        }
    }
}

/// `at(more)`: the path of the fetch body followed by `more` (built only for a finding).
fn check_fetch(
    kind: &str,
    body: &Value,
    at: &dyn Fn(&[Seg<'_>]) -> Vec<crate::yaml::PathSeg>,
    sink: &mut Sink<'_>,
) {
    let sub = |k: &str| at(&[Seg::K(k)]);
    let required = match kind {
        "git" | "http" | "image" => Some("url"),
        "imgpkgBundle" => Some("image"),
        "helmChart" => Some("name"),
        _ => None,
    };
    if let Some(req) = required {
        if str_of(body, req).is_none_or(str::is_empty) {
            sink.error(
                "app-missing-field",
                at(&[]),
                format!("{kind} fetch needs {req}"),
            );
        }
    }
    match kind {
        "git" => {
            if let Some(url) = str_of(body, "url").filter(|u| !u.is_empty()) {
                if !is_git_url(url) {
                    sink.error("app-url", sub("url"), format!("git url {url:?} does not parse (expected https://, http://, ssh://, git:// or user@host:path)"));
                }
            }
            let has_ref = str_of(body, "ref").is_some_and(|r| !r.trim().is_empty());
            if !has_ref && body.field("refSelection").is_none() {
                sink.error(
                    "app-git-ref",
                    at(&[]),
                    "git fetch needs ref (e.g. origin/main) or refSelection",
                );
            }
        }
        "http" => {
            if let Some(url) = str_of(body, "url").filter(|u| !u.is_empty()) {
                if !is_http_url(url) {
                    sink.error("app-url", sub("url"), format!("http url {url:?} does not parse (expected http:// or https:// with a host)"));
                }
            }
        }
        "helmChart" => {
            if let Some(url) = body.field("repository").and_then(|r| str_of(r, "url")) {
                if !(is_http_url(url) || url.strip_prefix("oci://").is_some_and(host_ok)) {
                    sink.error(
                        "app-url",
                        at(&["repository".into(), "url".into()]),
                        format!("helm repository url {url:?} does not parse"),
                    );
                }
            }
        }
        _ => {}
    }
}

fn host_ok(rest: &str) -> bool {
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    !host.is_empty()
        && !rest.chars().any(char::is_whitespace)
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
}

/// An http(s) URL with a host and no whitespace.
pub fn is_http_url(s: &str) -> bool {
    s.strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .is_some_and(host_ok)
}

/// A URL git accepts: http(s), ssh, git, file, or scp-like `user@host:path`.
pub fn is_git_url(s: &str) -> bool {
    if let Some((scheme, rest)) = s.split_once("://") {
        return match scheme {
            "http" | "https" | "ssh" | "git" | "git+ssh" => host_ok(rest),
            "file" => !rest.is_empty(),
            _ => false,
        };
    }
    // scp-like: [user@]host:path
    match s.split_once(':') {
        Some((host, p)) => !p.is_empty() && host_ok(host) && !s.chars().any(char::is_whitespace),
        None => false,
    }
}

/// A folder the template stage sees: a fetch's index, or its `path`.
#[derive(Clone, Copy)]
enum Folder<'a> {
    Index(usize),
    Path(&'a str),
}

impl Folder<'_> {
    /// `first` (a path's first segment) names this folder.
    fn is(&self, first: &str) -> bool {
        match self {
            Folder::Index(i) => {
                first.bytes().all(|b| b.is_ascii_digit())
                    && !(first.len() > 1 && first.starts_with('0'))
                    && first.parse::<usize>().ok() == Some(*i)
            }
            Folder::Path(p) => first == *p,
        }
    }
}

impl std::fmt::Display for Folder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Folder::Index(i) => write!(f, "{i}"),
            Folder::Path(p) => f.write_str(p),
        }
    }
}

struct PathCtx<'f> {
    folders: &'f [Folder<'f>],
    single_root: bool,
}

impl PathCtx<'_> {
    /// A template path must stay in the fetch dir and, with several fetches (or a `path`
    /// override), start with one fetched folder.
    fn check(&self, p: &str, at: impl FnOnce() -> Vec<crate::yaml::PathSeg>, sink: &mut Sink<'_>) {
        if p == "-" {
            return;
        }
        let trimmed = p.trim_start_matches("./");
        if trimmed.starts_with('/') || escapes(trimmed) {
            sink.error(
                "app-fetch-path",
                at(),
                format!("path {p:?} leaves the fetch directory"),
            );
            return;
        }
        let first = trimmed.split('/').next().unwrap_or("");
        if self.single_root {
            if first == "0" && trimmed.len() > 1 {
                sink.warn("app-fetch-path", at(), format!("path {p:?} starts with 0/, but with a single fetch entry the template root is already 0/ (write it without the prefix)"));
            }
            return;
        }
        let under = |f: &Folder<'_>| match f {
            // A `path` may itself contain `/`.
            Folder::Path(p) => {
                trimmed == *p || trimmed.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
            }
            Folder::Index(_) => f.is(first),
        };
        if !self.folders.iter().any(under) {
            sink.error(
                "app-fetch-path",
                at(),
                format!("path {p:?} does not start with a fetched folder (with several fetch entries paths must start with one of: {})", self.folders.iter().map(|f| format!("{f}/")).collect::<Vec<_>>().join(", ")),
            );
        }
    }
}

fn escapes(p: &str) -> bool {
    let mut depth: i64 = 0;
    for seg in p.split('/') {
        match seg {
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn check_list(
    list: Option<&Value>,
    at: &[crate::yaml::PathSeg],
    is_paths: bool,
    ctx: &PathCtx<'_>,
    sink: &mut Sink<'_>,
) {
    let Some(list) = list else { return };
    let Value::Sequence(items) = list else {
        if !list.is_null() {
            sink.error(
                "app-missing-field",
                at.to_vec(),
                format!(
                    "expected a list of strings, found a {}",
                    crate::manifest::type_name(list)
                ),
            );
        }
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let p = || {
            let mut p = at.to_vec();
            p.push(crate::yaml::PathSeg::Index(i));
            p
        };
        match item {
            Value::Null => sink.error("app-null-entry", p(), "list entry is null (in a file read without ytt, `- #@ expr` is a comment and leaves an empty item)"),
            Value::String(s) if is_paths => ctx.check(s, p, sink),
            Value::String(_) => {}
            other => sink.error("app-missing-field", p(), format!("list entry is a {}, not a string", crate::manifest::type_name(other))),
        }
    }
}

fn check_values_from(
    list: Option<&Value>,
    at: &[crate::yaml::PathSeg],
    ctx: &PathCtx<'_>,
    sink: &mut Sink<'_>,
) {
    for (i, v) in seq_of(list).iter().enumerate() {
        let mut p = at.to_vec();
        p.push(crate::yaml::PathSeg::Index(i));
        if v.is_null() {
            sink.error("app-null-entry", p, "valuesFrom entry is null");
            continue;
        }
        let ks = kinds(v, VALUES_SOURCES);
        let Some(k) = ks.one() else {
            sink.error(
                "app-values-from",
                p,
                format!(
                    "valuesFrom entry needs exactly one of {} (found: {})",
                    VALUES_SOURCES.join(", "),
                    keys_of(v)
                ),
            );
            continue;
        };
        let body = v.field(k).unwrap_or(&Value::Null);
        let mut kp = p.clone();
        kp.push(crate::yaml::PathSeg::Key(k.into()));
        match k {
            "secretRef" | "configMapRef" => {
                let ok = str_of(body, "name").is_some_and(super::k8s::is_dns1123_subdomain);
                if !ok {
                    sink.error(
                        "app-values-from",
                        kp,
                        format!("valuesFrom {k} needs a valid name"),
                    );
                }
            }
            "path" => match body.as_str() {
                Some(s) if !s.is_empty() => ctx.check(s, || kp, sink),
                _ => sink.error(
                    "app-values-from",
                    kp,
                    "valuesFrom path must be a non-empty string",
                ),
            },
            _ => {
                for (j, item) in seq_of(body.field("items")).iter().enumerate() {
                    let n = [
                        "fieldPath",
                        "kubernetesVersion",
                        "kappControllerVersion",
                        "kubernetesAPIs",
                    ]
                    .iter()
                    .filter(|x| item.field(x).is_some())
                    .count();
                    let name = str_of(item, "name").unwrap_or("");
                    let bad_name = name.is_empty()
                        || name.starts_with('.')
                        || name.ends_with('.')
                        || name.contains("..");
                    if n != 1 || bad_name {
                        let mut ip = kp.clone();
                        ip.push(crate::yaml::PathSeg::Key("items".into()));
                        ip.push(crate::yaml::PathSeg::Index(j));
                        sink.error("app-values-from", ip, "downwardAPI item needs a name (no leading/trailing '.', no '..') and exactly one of fieldPath, kubernetesVersion, kappControllerVersion, kubernetesAPIs");
                    }
                }
            }
        }
    }
}

fn check_raw(
    opts: Option<&Value>,
    at: &[crate::yaml::PathSeg],
    allowed: &[&[&str]],
    sink: &mut Sink<'_>,
) {
    for (i, o) in seq_of(opts).iter().enumerate() {
        let Some(s) = o.as_str() else { continue };
        if !s.starts_with("--") {
            continue;
        }
        let flag = s.split('=').next().unwrap_or(s);
        let ok = flag.starts_with("--filter") || allowed.iter().any(|l| l.contains(&flag));
        if !ok {
            let mut p = at.to_vec();
            p.push(crate::yaml::PathSeg::Index(i));
            sink.error("app-raw-option", p, format!("kapp-controller refuses rawOptions flag {flag:?} (Unexpected flag '{}' specified (either forbidden or unknown))", flag.trim_start_matches('-')));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_git_url("https://github.com/acme/x"));
        assert!(is_git_url("git@github.com:acme/x.git"));
        assert!(!is_git_url("github.com/acme/x"));
        assert!(!is_git_url("https:// github.com"));
        assert!(is_http_url("https://api.github.com/repos/a/b/commits/main"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(escapes("../x"));
        assert!(!escapes("a/../b"));
    }
}
