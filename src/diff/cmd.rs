//! `kpipe diff`: arguments and the command's run function (main.rs only dispatches here).

use super::ops::{diff_session_filtered, LiveIndex, Options};
use super::ownership::{self, Ownership};
use super::report::{self, Format};
use super::DiffResult;
use crate::cli::RenderArgs;
use crate::exit;
use crate::kube::Kube;
use crate::live::{Cluster, Keep, LiveSource, OwnedQuery, Snapshot, TailHelp, Wanted};
use crate::lookup::Lookup;
use crate::manifest::{
    build_set_bare, BuildOptions, ManifestSet, ResourceId, Scopes, SourceLoc, SourcedDoc,
};
use crate::yaml::Limits;
use anyhow::{bail, Context, Result};
use serde_yaml::Value;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Diff-specific arguments of `kpipe diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// Plain manifest files or folders to diff instead of rendering a pipeline.
    #[arg(long = "files", value_name = "FILE", num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Live state: `cluster` (via kubectl), or a YAML/JSON snapshot file or folder.
    #[arg(long, value_name = "cluster|FILE|DIR", default_value = "cluster")]
    pub live: String,
    /// Context lines as kapp counts them (N-1 before a change, N after); negative = all.
    #[arg(
        long,
        default_value_t = 2,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub context: i64,
    /// Show Secret `data`/`stringData` values instead of masking them.
    #[arg(long)]
    pub show_secrets: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub report: Format,
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    #[arg(long = "kube-context", value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// kapp app whose ownership label is ours: a name (its app-record ConfigMap gives the
    /// label) or `label:KEY=VALUE`. `{session}` is replaced by the session name. Without it,
    /// each live object's own kapp label is taken as ours.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Diff against kapp's stored last-applied copy (`kapp.k14s.io/original`) when present.
    #[arg(long)]
    pub diff_against_last_applied: bool,
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Keep only matching changes: kapp's JSON filter
    /// (`{"and":[{"ops":["update"]},{"existingResource":{"kinds":["Deployment"]}}]}`) or a list
    /// of ops (`create,update,delete`). Conflicts are always shown.
    #[arg(long, value_name = "FILTER")]
    pub diff_filter: Option<String>,
}

/// The desired state for one session, as the diff needs it.
pub struct Desired {
    pub set: ManifestSet,
    /// kapp Config documents (they need no name, so they travel beside the set).
    pub configs: Vec<SourcedDoc>,
}

/// Reads `--files` (files or folders of YAML/JSON) as one session named `default`. Documents
/// are read head first where they can be ([`crate::yaml::head`]): the diff parses their bodies
/// in the threads that compare them.
pub fn read_files(paths: &[PathBuf], limits: Limits) -> Result<Vec<SourcedDoc>> {
    let mut docs = Vec::new();
    for p in paths {
        let files: Vec<PathBuf> = if p.is_dir() {
            let mut v = Vec::new();
            for e in walkdir::WalkDir::new(p).sort_by_file_name() {
                let e = e.with_context(|| format!("reading {}", p.display()))?;
                let ext = e
                    .path()
                    .extension()
                    .and_then(|x| x.to_str())
                    .unwrap_or_default();
                if e.file_type().is_file() && matches!(ext, "yaml" | "yml" | "json") {
                    v.push(e.path().to_path_buf());
                }
            }
            v
        } else {
            vec![p.clone()]
        };
        for f in files {
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            // Shared as it is: an `Arc<str>` would be a second copy of the file.
            let text = std::sync::Arc::new(text);
            // Labels and annotations of objects not read whole are parsed again with the
            // body, when compared: trimmed as each document is read, their memory serves the next.
            let mut whole = Vec::new();
            let trim = |d: &mut crate::yaml::head::HeadDoc| {
                let w = read_whole(&d.head);
                if !w {
                    d.trim();
                }
                whole.push(w);
            };
            if let Some(heads) =
                crate::yaml::head::read_with(std::sync::Arc::clone(&text), limits, trim)
            {
                let file = f.display().to_string();
                for (d, whole) in heads.into_iter().zip(whole) {
                    let rest = d.rest.map(Box::new);
                    let mut doc = SourcedDoc {
                        value: d.head,
                        source: SourceLoc {
                            file: file.clone(),
                            line: d.line,
                            doc: d.index,
                        },
                        rest,
                    };
                    if whole {
                        complete(&mut doc)?;
                    }
                    docs.push(doc);
                }
                continue;
            }
            let parsed =
                crate::yaml::parse_stream(&text, limits).map_err(|e| e.in_file(f.display()))?;
            for (i, d) in parsed.into_iter().enumerate().filter(|(_, d)| !d.empty) {
                docs.push(SourcedDoc {
                    rest: None,
                    value: d.value,
                    source: SourceLoc {
                        file: f.display().to_string(),
                        line: d.line,
                        doc: i,
                    },
                });
            }
        }
    }
    // Versioned objects rewrite the references other objects make to them (kapp's template
    // rules), anywhere in those objects.
    if docs
        .iter()
        .any(|d| ownership::has_annotation(&d.value, super::versioned::VERSIONED_ANNOTATION))
    {
        for d in &mut docs {
            complete(d)?;
        }
    }
    Ok(docs)
}

/// Documents read whole before the diff (others keep their body as text until compared):
/// Lists (expanded into their items), CRDs (their scope places other objects), kapp Configs
/// and config ConfigMaps (read as configuration), and versioned objects (named before pairing).
fn read_whole(head: &Value) -> bool {
    let kind = head.at("kind").and_then(Value::as_str).unwrap_or_default();
    kind.ends_with("List")
        || kind == "CustomResourceDefinition"
        || super::config::is_config_doc(head)
        || ownership::label(head, super::config::CONFIG_MAP_LABEL).is_some()
        || ownership::has_annotation(head, super::versioned::VERSIONED_ANNOTATION)
}

/// Parses the rest of a document read head first.
fn complete(doc: &mut SourcedDoc) -> Result<()> {
    if let Some(rest) = doc.rest.take() {
        let head = std::mem::take(&mut doc.value);
        doc.value = rest
            .complete(head)
            .map_err(|e| e.in_file(&doc.source.file))?;
    }
    Ok(())
}

fn color_on(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// The live source named by `--live`; a snapshot's List may be read in part by another thread
/// (`help`, [`TailHelp::lend`]).
pub fn live_source(
    args: &DiffArgs,
    limits: Limits,
    help: Option<std::sync::Arc<TailHelp>>,
) -> Result<Box<dyn LiveSource>> {
    // What the diff removes from both sides is not read at all, unless the stored original
    // is the baseline.
    let keep = if args.diff_against_last_applied {
        Keep::Metadata
    } else {
        Keep::Compared
    };
    if args.live == "cluster" {
        return Ok(Box::new(Cluster {
            kube: Kube::new(args.kubeconfig.clone(), args.kube_context.clone())?,
            keep,
        }));
    }
    Ok(Box::new(Snapshot::load_helped(
        Path::new(&args.live),
        limits,
        keep,
        help,
    )?))
}

/// Namespace for namespace-less resources: `-n`, else the kube context's, else `default`.
pub fn placement_namespace(flag: Option<&str>, source: &dyn LiveSource) -> Result<String> {
    if let Some(ns) = flag {
        return Ok(ns.to_string());
    }
    Ok(source
        .context_namespace()?
        .unwrap_or_else(|| "default".into()))
}

/// Scopes: the built-in table and `--cluster-scoped` kinds, plus what the server reports.
pub fn scopes(source: &dyn LiveSource, extra: &[String]) -> Result<Scopes> {
    let mut s = Scopes::new(extra);
    for (g, k, namespaced) in source.scopes()? {
        s.set(&g, &k, namespaced);
    }
    Ok(s)
}

/// The desired state before namespaces are placed: the rendered sessions, or the `--files`
/// documents (one session, `default`).
pub enum Unplaced {
    Sets(Vec<ManifestSet>),
    Docs(Vec<SourcedDoc>),
}

/// Renders the pipeline, or reads `--files`.
pub fn unplaced(inputs: &RenderArgs, args: &DiffArgs, limits: Limits) -> Result<Unplaced> {
    if args.files.is_empty() {
        Ok(Unplaced::Sets(inputs.pipeline()?.render_all()?))
    } else {
        Ok(Unplaced::Docs(read_files(&args.files, limits)?))
    }
}

impl Unplaced {
    /// Places namespace-less resources in `namespace` (kapp's rule) and builds the sets.
    pub fn place(self, namespace: &str, scopes: Scopes) -> Result<Vec<Desired>> {
        match self {
            Unplaced::Sets(sets) => Ok(sets
                .into_iter()
                .map(|mut set| {
                    place_namespaces(&mut set, namespace, &scopes);
                    Desired {
                        set,
                        configs: Vec::new(),
                    }
                })
                .collect()),
            Unplaced::Docs(docs) => {
                let (configs, docs) = super::config::partition_configs(docs);
                let opts = BuildOptions {
                    namespace: Some(namespace.to_string()),
                    scopes,
                };
                // The diff never needs the canonical text or digest of a resource.
                let mut set = build_set_bare("default", docs, &opts)?;
                for r in &mut set.resources {
                    r.drop_trimmed_head();
                }
                Ok(vec![Desired { set, configs }])
            }
        }
    }
}

enum AppSpec {
    Label { key: String, value: String },
    Named(String),
}

fn app_spec(app: &str, session: &str) -> Result<AppSpec> {
    let app = app.replace("{session}", session);
    if let Some(rest) = app.strip_prefix("label:") {
        let Some((k, v)) = rest.split_once('=') else {
            bail!("--app label:KEY=VALUE: missing `=` in {rest:?}");
        };
        return Ok(AppSpec::Label {
            key: k.to_string(),
            value: v.to_string(),
        });
    }
    if app.is_empty() {
        bail!("--app must not be empty");
    }
    Ok(AppSpec::Named(app))
}

/// The kinds an app has used, from its app record's `data.spec.usedGKs`.
fn used_gks(record: &Value) -> Vec<(String, String)> {
    let spec = record
        .at("data")
        .and_then(|d| d.at("spec"))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
    let Some(list) = spec
        .as_ref()
        .and_then(|s| s.get("usedGKs"))
        .and_then(|v| v.as_array())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|gk| {
            let g = gk.get("Group").or_else(|| gk.get("group"))?.as_str()?;
            let k = gk.get("Kind").or_else(|| gk.get("kind"))?.as_str()?;
            Some((g.to_string(), k.to_string()))
        })
        .collect()
}

/// kapp's app record: ConfigMap `<app>` with `data.spec` JSON holding labelKey/labelValue.
fn ownership_from_record(record: Option<&Value>, app: &str) -> Result<Ownership> {
    let Some(record) = record else {
        return Ok(Ownership::App {
            key: ownership::APP_LABEL.into(),
            value: None,
        });
    };
    let spec = record
        .at("data")
        .and_then(|d| d.at("spec"))
        .and_then(Value::as_str)
        .with_context(|| format!("kapp app record ConfigMap {app} has no data.spec"))?;
    let spec: serde_json::Value = serde_json::from_str(spec)
        .with_context(|| format!("kapp app record ConfigMap {app}: data.spec is not JSON"))?;
    let key = spec
        .get("labelKey")
        .and_then(|v| v.as_str())
        .unwrap_or(ownership::APP_LABEL);
    let value = spec
        .get("labelValue")
        .and_then(|v| v.as_str())
        .with_context(|| format!("kapp app record ConfigMap {app}: data.spec has no labelValue"))?;
    Ok(Ownership::App {
        key: key.to_string(),
        value: Some(value.to_string()),
    })
}

/// Fetches live state for every session and diffs them.
pub fn diff_all(
    desired: Vec<Desired>,
    source: &dyn LiveSource,
    args: &DiffArgs,
    namespace: &str,
) -> Result<DiffResult> {
    let filter = args
        .diff_filter
        .as_deref()
        .map(super::filter::Filter::parse)
        .transpose()?;
    let mut result = DiffResult::default();
    for d in desired {
        let spec = args
            .app
            .as_deref()
            .map(|a| app_spec(a, &d.set.session))
            .transpose()?;
        let applied: Vec<&crate::manifest::Resource> = d
            .set
            .resources
            .iter()
            .filter(|r| !super::config::is_config_doc(&r.object))
            .collect();
        let record_id = match &spec {
            Some(AppSpec::Named(name)) => Some(ResourceId {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace: Some(namespace.to_string()),
                name: name.clone(),
            }),
            _ => None,
        };
        let wanted: Vec<Wanted> = applied
            .iter()
            .map(|r| Wanted {
                api_version: &r.api_version,
                id: &r.id,
            })
            .chain(record_id.as_ref().map(|id| Wanted {
                api_version: "v1",
                id,
            }))
            .collect();
        let mut objects = source
            .fetch(&wanted)
            .with_context(|| format!("fetching live objects for session {}", d.set.session))?;
        let mut gks: Vec<(String, String)> = applied
            .iter()
            .map(|r| (&r.id.group, &r.id.kind))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|(g, k)| (g.clone(), k.clone()))
            .collect();
        let ownership = match &spec {
            None => Ownership::Inferred,
            Some(AppSpec::Label { key, value }) => Ownership::App {
                key: key.clone(),
                value: Some(value.clone()),
            },
            Some(AppSpec::Named(name)) => {
                let record = objects
                    .iter()
                    .find(|(id, o)| {
                        Some(id) == record_id.as_ref()
                            && ownership::label(o, super::ops::IS_APP_LABEL).is_some()
                    })
                    .map(|(_, o)| o.to_value())
                    .transpose()
                    .with_context(|| format!("kapp app record ConfigMap {name}"))?;
                if let Some(r) = &record {
                    gks.extend(used_gks(r));
                }
                ownership_from_record(record.as_ref(), name)?
            }
        };
        gks.sort();
        gks.dedup();
        let key = ownership.key().to_string();
        let values: Vec<String> = match &ownership {
            Ownership::App { value, .. } => value.iter().cloned().collect(),
            Ownership::Labels { value, .. } => vec![value.clone()],
            Ownership::Inferred => {
                let mut v: Vec<&str> = objects
                    .iter()
                    .filter_map(|(_, o)| ownership::owner_of(o, &key))
                    .collect();
                v.sort_unstable();
                v.dedup();
                v.into_iter().map(str::to_string).collect()
            }
        };
        if !values.is_empty() {
            let q = OwnedQuery {
                label_key: key,
                values,
                group_kinds: gks,
            };
            objects.extend(
                source.list_owned(&q).with_context(|| {
                    format!("listing objects owned by session {}", d.set.session)
                })?,
            );
        }
        let live = LiveIndex::identified(objects);
        let opts = Options {
            ownership,
            against_original: args.diff_against_last_applied,
        };
        result.sessions.push(diff_session_filtered(
            d.set,
            &d.configs,
            live,
            &opts,
            filter.as_ref(),
        )?);
    }
    Ok(result)
}

/// Writes the report and returns the exit code (0 no changes, 1 changes).
pub fn finish(result: &DiffResult, args: &DiffArgs, out: &mut dyn Write) -> Result<u8> {
    let opts = report::Options {
        context: args.context,
        show_secrets: args.show_secrets,
        color: args.report == Format::Text && color_on(args.color),
    };
    report::write(result, args.report, &opts, out).context("writing the diff report")?;
    out.flush().context("writing the diff report")?;
    Ok(if result.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Places namespace-less namespaced resources of a rendered set (kapp's rule).
pub fn place_namespaces(set: &mut ManifestSet, namespace: &str, scopes: &Scopes) {
    let mut scopes = scopes.clone();
    scopes.learn_crds(set.resources.iter().map(|r| &r.object));
    for r in &mut set.resources {
        if r.id.namespace.is_none()
            && !super::config::is_config_doc(&r.object)
            && !scopes.is_cluster_scoped(&r.id.group, &r.id.kind)
        {
            r.set_namespace(namespace);
        }
    }
}

/// `kpipe diff [DIR] [render inputs]`, or `--files` for plain manifests.
pub fn run(inputs: &RenderArgs, args: &DiffArgs, out: &mut dyn Write) -> Result<u8> {
    let limits = inputs.limits()?;
    let flag = inputs.namespace.as_deref();
    // A snapshot has no context namespace and no server scopes: what its content cannot
    // change is taken from an empty one, so its desired state is finished while it loads.
    let early = if args.live == "cluster" {
        None
    } else {
        let stand_in = Snapshot::default();
        Some((
            placement_namespace(flag, &stand_in)?,
            scopes(&stand_in, &inputs.cluster_scoped)?,
        ))
    };
    // The desired state is rendered or read while the live side gets ready (a snapshot loads;
    // kubectl reports the context's namespace and the server's kinds).
    let help = TailHelp::new();
    let (built, ready) = crate::par::join(
        || -> Result<Result<Vec<Desired>, Unplaced>> {
            let unplaced = unplaced(inputs, args, limits)?;
            // Needed as soon as both sides are ready.
            super::config::Config::read_defaults();
            let placed = match &early {
                Some((ns, scopes)) => Ok(unplaced.place(ns, scopes.clone())?),
                None => Err(unplaced),
            };
            // Done first, as a rule: this thread then reads part of the snapshot.
            help.lend();
            Ok(placed)
        },
        || {
            live_source(args, limits, Some(std::sync::Arc::clone(&help))).and_then(|source| {
                match &early {
                    Some((ns, scopes)) => Ok((source, ns.clone(), scopes.clone())),
                    None => {
                        let ns = placement_namespace(flag, source.as_ref())?;
                        let scopes = scopes(source.as_ref(), &inputs.cluster_scoped)?;
                        Ok((source, ns, scopes))
                    }
                }
            })
        },
    );
    // The live side's errors (kubectl, the snapshot) come first, as they always have.
    let (source, ns, scopes) = ready?;
    let desired = match built? {
        Ok(desired) => desired,
        Err(unplaced) => unplaced.place(&ns, scopes)?,
    };
    let result = diff_all(desired, source.as_ref(), args, &ns)?;
    let r = finish(&result, args, out);
    // The process ends here: returning the memory of every object one by one to the allocator
    // would cost more than the diff itself (the OS takes it back at exit in one go).
    std::mem::forget((result, source));
    r
}
