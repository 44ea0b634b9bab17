//! kapp `resourceMatchers`: which objects a Config rule applies to.

use super::path::Path;
use crate::lookup::Lookup;
use crate::manifest::group_of;
use anyhow::{bail, Context, Result};
use serde_yaml::Value;

/// One documented kapp resource matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    All,
    Any(Vec<Matcher>),
    And(Vec<Matcher>),
    Not(Box<Matcher>),
    ApiVersionKind {
        api_version: String,
        kind: String,
    },
    ApiGroupKind {
        group: String,
        kind: String,
    },
    KindNamespaceName {
        kind: String,
        namespace: String,
        name: String,
    },
    HasAnnotation(Vec<String>),
    /// `None`: any non-empty namespace; `Some(names)`: one of these.
    HasNamespace(Option<Vec<String>>),
    CustomResource,
    EmptyField(Path),
}

/// API groups kapp treats as built in (`customResourceMatcher` matches every other group).
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "extensions",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "metrics.k8s.io",
    "migration.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
];

fn str_field(m: &Value, key: &str) -> String {
    m.at(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn str_list(m: &Value, key: &str) -> Vec<String> {
    match m.at(key) {
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Matcher {
    /// Parses one entry of a `resourceMatchers` list (exactly one matcher key set).
    pub fn parse(v: &Value) -> Result<Matcher> {
        let Value::Mapping(m) = v else {
            bail!("a resource matcher must be a map");
        };
        let mut found = None;
        for (k, body) in m {
            let key = k.as_str().unwrap_or_default();
            let parsed = match key.to_ascii_lowercase().as_str() {
                "allmatcher" | "allresourcematcher" => Matcher::All,
                "anymatcher" => Matcher::Any(parse_list(body).context("anyMatcher")?),
                "andmatcher" => Matcher::And(parse_list(body).context("andMatcher")?),
                "notmatcher" => {
                    let inner = body.at("matcher").context("notMatcher needs `matcher`")?;
                    Matcher::Not(Box::new(Matcher::parse(inner).context("notMatcher")?))
                }
                "apiversionkindmatcher" => Matcher::ApiVersionKind {
                    api_version: str_field(body, "apiVersion"),
                    kind: str_field(body, "kind"),
                },
                "apigroupkindmatcher" => Matcher::ApiGroupKind {
                    group: str_field(body, "apiGroup"),
                    kind: str_field(body, "kind"),
                },
                "kindnamespacenamematcher" => Matcher::KindNamespaceName {
                    kind: str_field(body, "kind"),
                    namespace: str_field(body, "namespace"),
                    name: str_field(body, "name"),
                },
                "hasannotationmatcher" => Matcher::HasAnnotation(str_list(body, "keys")),
                "hasnamespacematcher" => {
                    let names = str_list(body, "names");
                    Matcher::HasNamespace(if names.is_empty() { None } else { Some(names) })
                }
                "customresourcematcher" => Matcher::CustomResource,
                "emptyfieldmatcher" => {
                    let p = body.at("path").context("emptyFieldMatcher needs `path`")?;
                    Matcher::EmptyField(Path::parse(p).context("emptyFieldMatcher path")?)
                }
                other => bail!("unknown resource matcher `{other}`"),
            };
            if found.is_some() {
                bail!("a resource matcher entry must set exactly one matcher");
            }
            found = Some(parsed);
        }
        found.context("empty resource matcher entry (kapp requires one matcher per entry)")
    }

    /// True when `obj` matches.
    pub fn matches(&self, obj: &Value) -> bool {
        self.matches_subject(&Subject::of(obj))
    }

    fn matches_subject(&self, s: &Subject) -> bool {
        let obj = s.obj;
        let meta = |k: &str| {
            obj.at("metadata")
                .and_then(|m| m.at(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        match self {
            Matcher::All => true,
            Matcher::Any(ms) => ms.iter().any(|m| m.matches_subject(s)),
            Matcher::And(ms) => ms.iter().all(|m| m.matches_subject(s)),
            Matcher::Not(m) => !m.matches_subject(s),
            Matcher::ApiVersionKind {
                api_version: a,
                kind: k,
            } => k == s.kind && a == s.api_version,
            Matcher::ApiGroupKind { group, kind: k } => {
                k == s.kind && group == group_of(s.api_version)
            }
            Matcher::KindNamespaceName {
                kind: k,
                namespace,
                name,
            } => k == s.kind && namespace == meta("namespace") && name == meta("name"),
            Matcher::HasAnnotation(keys) => {
                let anns = obj.at("metadata").and_then(|m| m.at("annotations"));
                keys.iter()
                    .all(|k| anns.and_then(|a| a.at(k.as_str())).is_some())
            }
            Matcher::HasNamespace(names) => {
                let ns = meta("namespace");
                match names {
                    None => !ns.is_empty(),
                    Some(names) => !ns.is_empty() && names.iter().any(|n| n == ns),
                }
            }
            Matcher::CustomResource => !BUILTIN_GROUPS.contains(&group_of(s.api_version)),
            Matcher::EmptyField(p) => match p.get(obj) {
                None | Some(Value::Null) => true,
                Some(Value::Mapping(m)) => m.is_empty(),
                Some(Value::Sequence(s)) => s.is_empty(),
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            },
        }
    }
}

/// An object with its apiVersion and kind looked up once: kapp's default rules hold dozens of
/// apiVersion/kind matchers, all asked about the same object.
struct Subject<'a> {
    obj: &'a Value,
    api_version: &'a str,
    kind: &'a str,
}

impl<'a> Subject<'a> {
    fn of(obj: &'a Value) -> Subject<'a> {
        let field = |k: &str| obj.at(k).and_then(Value::as_str).unwrap_or_default();
        Subject {
            obj,
            api_version: field("apiVersion"),
            kind: field("kind"),
        }
    }
}

fn parse_list(body: &Value) -> Result<Vec<Matcher>> {
    match body.at("matchers") {
        Some(Value::Sequence(items)) => items.iter().map(Matcher::parse).collect(),
        _ => bail!("needs a `matchers` list"),
    }
}

impl Matcher {
    /// Whether `s` matches, when that follows from its apiVersion and kind alone (which no rule
    /// changes); `None` when it depends on more (annotations, namespace, fields).
    fn decided(&self, s: &Subject) -> Option<bool> {
        match self {
            Matcher::All => Some(true),
            Matcher::Any(ms) => all_or_any(ms, s, true),
            Matcher::And(ms) => all_or_any(ms, s, false),
            Matcher::Not(m) => m.decided(s).map(|b| !b),
            Matcher::ApiVersionKind { .. } | Matcher::ApiGroupKind { .. } => {
                Some(self.matches_subject(s))
            }
            Matcher::CustomResource => Some(self.matches_subject(s)),
            Matcher::KindNamespaceName { kind, .. } if *kind != s.kind => Some(false),
            Matcher::KindNamespaceName { .. }
            | Matcher::HasAnnotation(_)
            | Matcher::HasNamespace(_)
            | Matcher::EmptyField(_) => None,
        }
    }

    /// The paths `emptyFieldMatcher`s in this matcher look at.
    pub fn field_paths<'m>(&'m self, out: &mut Vec<&'m Path>) {
        match self {
            Matcher::Any(ms) | Matcher::And(ms) => ms.iter().for_each(|m| m.field_paths(out)),
            Matcher::Not(m) => m.field_paths(out),
            Matcher::EmptyField(p) => out.push(p),
            _ => {}
        }
    }
}

/// `anyMatcher` (`any`) or `andMatcher` of decided entries: `any` is decided by one `true`,
/// `and` by one `false`; undecided when neither is found and some entry is undecided.
fn all_or_any(ms: &[Matcher], s: &Subject, any: bool) -> Option<bool> {
    let mut undecided = false;
    for m in ms {
        match m.decided(s) {
            Some(b) if b == any => return Some(any),
            None => undecided = true,
            Some(_) => {}
        }
    }
    if undecided {
        None
    } else {
        Some(!any)
    }
}

/// Whether a rule's matcher list may match an object once rules before it have run: false
/// only when no entry can, whatever those rules did to its metadata and fields. For many rules
/// of one object (its apiVersion and kind looked up once).
pub struct MayMatch<'a>(Subject<'a>);

impl<'a> MayMatch<'a> {
    pub fn of(obj: &'a Value) -> MayMatch<'a> {
        MayMatch(Subject::of(obj))
    }

    pub fn rule(&self, ms: &[Matcher]) -> bool {
        ms.iter().any(|m| m.decided(&self.0) != Some(false))
    }
}

/// A rule's matcher list: matches when any entry matches.
pub fn any_matches(ms: &[Matcher], obj: &Value) -> bool {
    let s = Subject::of(obj);
    ms.iter().any(|m| m.matches_subject(&s))
}

/// One rule list's matchers decided for one apiVersion and kind, rule by rule (see
/// [`Plans`]). Empty: every object is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decided<'a>(&'a [Option<bool>]);

impl Decided<'_> {
    /// Whether rule `i`, whose matchers are `ms`, applies to `obj`.
    pub fn matches(&self, i: usize, ms: &[Matcher], obj: &Value) -> bool {
        match self.0.get(i) {
            Some(Some(b)) => *b,
            _ => any_matches(ms, obj),
        }
    }

    /// Whether rule `i` applies to every object of this kind (`Some(true)`), to none
    /// (`Some(false)`), or depends on what an object holds (`None`).
    pub fn known(&self, i: usize) -> Option<bool> {
        self.0.get(i).copied().flatten()
    }

    /// Whether rule `i` may apply, whatever objects of this kind hold (false only when
    /// their apiVersion and kind rule it out).
    pub fn may(&self, i: usize, ms: &[Matcher], obj: &Value) -> bool {
        match self.0.get(i) {
            Some(d) => *d != Some(false),
            None => MayMatch::of(obj).rule(ms),
        }
    }
}

/// The rule lists of a Config decided for one apiVersion and kind: kapp's defaults hold
/// dozens of apiVersion/kind matchers, asked about every object otherwise, though objects
/// of one kind get the same answers.
#[derive(Debug, Default)]
pub struct KindPlan {
    lists: Vec<Vec<Option<bool>>>,
}

impl KindPlan {
    /// The decisions for list `n` (in the order given to [`Plans::get`]).
    pub fn list(&self, n: usize) -> Decided<'_> {
        Decided(self.lists.get(n).map(Vec::as_slice).unwrap_or_default())
    }
}

/// [`KindPlan`]s by apiVersion and kind, worked out when first asked for. The rules must not
/// change once a plan is made (the owner starts a new cache when they do).
#[derive(Default)]
pub struct Plans {
    by_kind: std::sync::RwLock<Vec<(String, String, std::sync::Arc<KindPlan>)>>,
}

impl Clone for Plans {
    /// A copy starts empty (plans are a cache).
    fn clone(&self) -> Plans {
        Plans::default()
    }
}

impl std::fmt::Debug for Plans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plans")
    }
}

impl Plans {
    /// The plan for `obj`'s apiVersion and kind over the rule lists `lists` yields (each a
    /// list of rules' matcher lists; `None` for a list whose rules must ask every object).
    pub fn get<'m>(
        &self,
        obj: &Value,
        lists: impl FnOnce() -> Vec<Option<Vec<&'m [Matcher]>>>,
    ) -> std::sync::Arc<KindPlan> {
        let s = Subject::of(obj);
        let found = |v: &[(String, String, std::sync::Arc<KindPlan>)]| {
            v.iter()
                .find(|(a, k, _)| a == s.api_version && k == s.kind)
                .map(|(_, _, p)| std::sync::Arc::clone(p))
        };
        if let Some(p) = found(&self.by_kind.read().unwrap_or_else(|e| e.into_inner())) {
            return p;
        }
        let plan = std::sync::Arc::new(KindPlan {
            lists: lists()
                .into_iter()
                .map(|l| {
                    // A rule's list matches when any entry does.
                    l.map(|rules| rules.iter().map(|ms| all_or_any(ms, &s, true)).collect())
                        .unwrap_or_default()
                })
                .collect(),
        });
        let mut all = self.by_kind.write().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = found(&all) {
            return p;
        }
        all.push((
            s.api_version.to_string(),
            s.kind.to_string(),
            std::sync::Arc::clone(&plan),
        ));
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn m(s: &str) -> Matcher {
        Matcher::parse(&y(s)).unwrap()
    }

    const DEP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo, annotations: {a: '1', b: ''}}\nspec: {replicas: 2, paused: {}}";
    const CR: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}";

    #[test]
    fn each_matcher_kind() {
        let dep = y(DEP);
        let cr = y(CR);
        assert!(m("allMatcher: {}").matches(&dep));
        assert!(m("allResourceMatcher: {}").matches(&cr));
        assert!(m("apiVersionKindMatcher: {apiVersion: apps/v1, kind: Deployment}").matches(&dep));
        assert!(
            !m("apiVersionKindMatcher: {apiVersion: apps/v1beta1, kind: Deployment}").matches(&dep)
        );
        assert!(m("apiGroupKindMatcher: {apiGroup: apps, kind: Deployment}").matches(&dep));
        assert!(m("apiGroupKindMatcher: {apiGroup: argoproj.io, kind: Workflow}").matches(&cr));
        assert!(
            m("kindNamespaceNameMatcher: {kind: Deployment, namespace: demo, name: web}")
                .matches(&dep)
        );
        assert!(
            !m("kindNamespaceNameMatcher: {kind: Deployment, namespace: x, name: web}")
                .matches(&dep)
        );
        assert!(m("hasAnnotationMatcher: {keys: [a, b]}").matches(&dep));
        assert!(!m("hasAnnotationMatcher: {keys: [a, c]}").matches(&dep));
        assert!(m("hasNamespaceMatcher: {}").matches(&dep));
        assert!(!m("hasNamespaceMatcher: {}").matches(&cr));
        assert!(m("hasNamespaceMatcher: {names: [x, demo]}").matches(&dep));
        assert!(!m("hasNamespaceMatcher: {names: [x]}").matches(&dep));
        assert!(m("customResourceMatcher: {}").matches(&cr));
        assert!(!m("customResourceMatcher: {}").matches(&dep));
        assert!(m("emptyFieldMatcher: {path: [spec, paused]}").matches(&dep));
        assert!(m("emptyFieldMatcher: {path: [spec, missing]}").matches(&dep));
        assert!(!m("emptyFieldMatcher: {path: [spec, replicas]}").matches(&dep));
    }

    #[test]
    fn combinators() {
        let dep = y(DEP);
        let any =
            "anyMatcher: {matchers: [{customResourceMatcher: {}}, {hasNamespaceMatcher: {}}]}";
        assert!(m(any).matches(&dep));
        let and =
            "andMatcher: {matchers: [{customResourceMatcher: {}}, {hasNamespaceMatcher: {}}]}";
        assert!(!m(and).matches(&dep));
        assert!(m("notMatcher: {matcher: {customResourceMatcher: {}}}").matches(&dep));
    }

    #[test]
    fn bad_matchers_are_errors() {
        assert!(Matcher::parse(&y("{}")).is_err());
        assert!(Matcher::parse(&y("fooMatcher: {}")).is_err());
        assert!(Matcher::parse(&y("{allMatcher: {}, customResourceMatcher: {}}")).is_err());
        assert!(Matcher::parse(&y("anyMatcher: {}")).is_err());
    }
}
