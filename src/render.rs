//! Runs the stages in order for every session: values → template → manifest.
//!
//! `Pipeline::load` reads and compiles everything once; sessions then render independently
//! (in parallel, results kept in session order).

use crate::manifest::{self, BuildOptions, ManifestSet, Resource, Scopes, SourceLoc, SourcedDoc};
use crate::session::{self, Session, SessionOptions};
use crate::template::{lines, Renderer, Root, TemplateOptions};
use crate::values::{self, Assignment, ValuesFile};
use crate::yaml::{self, Limits, PathSeg};
use anyhow::{bail, Result};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// Everything that selects what is rendered.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// The pipeline folder.
    pub dir: PathBuf,
    /// `--values` files, after `DIR/values.yaml`.
    pub values_files: Vec<PathBuf>,
    /// `--values-env`, `--set`, `--set-string`, `--set-yaml` assignments, in that order.
    pub assignments: Vec<Assignment>,
    pub sessions: SessionOptions,
    /// `--namespace`: namespace for namespaced resources written without one.
    pub namespace: Option<String>,
    /// `--cluster-scoped KIND[.group]` additions to the built-in table.
    pub cluster_scoped: Vec<String>,
    pub limits: Limits,
    pub template: TemplateOptions,
    /// Document size and count limits of each session's rendered output.
    pub output: crate::limits::OutputLimits,
}

/// A loaded pipeline folder, ready to render any of its sessions.
pub struct Pipeline {
    pub root: Root,
    renderer: Renderer,
    values_files: Vec<ValuesFile>,
    /// Parsed values of files that are not templated (same for every session).
    static_values: Vec<Option<Value>>,
    assignments: Vec<Assignment>,
    sessions: Vec<Session>,
    build: BuildOptions,
    limits: Limits,
    output_limits: crate::limits::OutputLimits,
    /// How paths are shown: the folder as the user named it.
    prefix: String,
}

/// `dir` joined with `name` for messages; `.` shows bare names.
fn shown(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

impl Pipeline {
    pub fn load(req: &RenderRequest) -> Result<Pipeline> {
        let root = Root::new(&req.dir)?;
        let prefix = {
            let d = req.dir.to_string_lossy().trim_end_matches('/').to_string();
            if d == "." || d.is_empty() {
                String::new()
            } else {
                d
            }
        };
        let renderer = Renderer::load(&root, &req.template).map_err(|e| with_prefix(e, &prefix))?;

        let mut files = Vec::new();
        let own = req.dir.join("values.yaml");
        if own.is_file() {
            files.push(ValuesFile::read(&own, shown(&prefix, "values.yaml"))?);
        }
        for f in &req.values_files {
            files.push(ValuesFile::read(f, f.display().to_string())?);
        }
        let mut sopts = req.sessions.clone();
        // A live session's own variables (--vars-from-env) name the session: the folder's
        // sessions.yaml is then not the list to render.
        let env_names_session = sopts
            .env_vars
            .iter()
            .any(|(k, _)| k == "session_name" || k == "session_namespace");
        if sopts.session.is_none() && sopts.sessions_file.is_none() && !env_names_session {
            let default = req.dir.join("sessions.yaml");
            if default.is_file() {
                sopts.sessions_file = Some(default);
            }
        }
        let sessions = session::build(&sopts)?;
        Self::assemble(root, renderer, files, sessions, req, prefix)
    }

    /// A pipeline from explicit parts instead of a folder (`kpipe template`): a renderer built
    /// with `Renderer::from_sources`, values files in merge order, and the sessions to render.
    /// Names in messages are the renderer's names as given.
    pub fn from_parts(
        root: Root,
        renderer: Renderer,
        files: Vec<ValuesFile>,
        sessions: Vec<Session>,
        req: &RenderRequest,
    ) -> Result<Pipeline> {
        Self::assemble(root, renderer, files, sessions, req, String::new())
    }

    fn assemble(
        root: Root,
        mut renderer: Renderer,
        files: Vec<ValuesFile>,
        sessions: Vec<Session>,
        req: &RenderRequest,
        prefix: String,
    ) -> Result<Pipeline> {
        // Values files without markup are parsed once here; the others per session.
        let mut static_values = Vec::with_capacity(files.len());
        for f in &files {
            if f.templated {
                renderer.add_values_template(&f.display, &f.text)?;
                static_values.push(None);
            } else {
                static_values.push(Some(values::parse_values(&f.display, &f.text, req.limits)?));
            }
        }
        Ok(Pipeline {
            root,
            renderer,
            values_files: files,
            static_values,
            assignments: req.assignments.clone(),
            sessions,
            build: BuildOptions {
                namespace: req.namespace.clone(),
                scopes: Scopes::new(&req.cluster_scoped),
            },
            limits: req.limits,
            output_limits: req.output,
            prefix,
        })
    }

    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// The template names rendered for each session.
    pub fn templates(&self) -> &[String] {
        self.renderer.outputs()
    }

    /// The merged values of one session.
    pub fn values_for(&self, s: &Session) -> Result<Value> {
        let mut merged = Value::Mapping(Default::default());
        for (f, pre) in self.values_files.iter().zip(&self.static_values) {
            let v = match pre {
                Some(v) => v.clone(),
                None => {
                    let text = self
                        .renderer
                        .render(&f.display, s, None)
                        .map_err(|e| session_context(e, s, self.sessions.len()))?;
                    values::parse_values(&f.display, &text, self.limits).map_err(|e| {
                        // Map the rendered line back to the values file's own line.
                        remap_line(e, &f.display, &f.text, &text)
                    })?
                }
            };
            values::merge(&mut merged, v);
        }
        for a in &self.assignments {
            values::apply(&mut merged, a)?;
        }
        Ok(merged)
    }

    /// Renders one session into its manifest set.
    pub fn render_session(&self, s: &Session) -> Result<ManifestSet> {
        let values = self.values_for(s)?;
        let ctx = Renderer::context(s, Some(&values));
        drop(values);
        let mut docs = Vec::new();
        for name in self.renderer.outputs() {
            let text = self.renderer.render_with(name, &ctx).map_err(|e| {
                session_context(with_prefix(e, &self.prefix), s, self.sessions.len())
            })?;
            let src = self.renderer.source(name).unwrap_or_default();
            let file = shown(&self.prefix, name);
            crate::limits::check_stream(&text, docs.len(), &self.output_limits).map_err(|e| {
                let line = lines::template_line(&src, &text, e.line);
                session_context(
                    anyhow::anyhow!("{file}:{line}: {}", e.message),
                    s,
                    self.sessions.len(),
                )
            })?;
            let parsed = yaml::parse_stream(&text, self.limits).map_err(|e| {
                let line = lines::template_line(&src, &text, e.line);
                session_context(
                    anyhow::anyhow!(
                        "{file}:{line}: rendered text is not valid YAML: {}{}",
                        e.message,
                        excerpt(&text, e.line)
                    ),
                    s,
                    self.sessions.len(),
                )
            })?;
            for (doc_index, d) in parsed.into_iter().enumerate() {
                if d.empty {
                    continue;
                }
                let line = lines::template_line(&src, &text, d.line);
                docs.push(SourcedDoc {
                    rest: None,
                    value: d.value,
                    source: SourceLoc {
                        file: file.clone(),
                        line,
                        doc: doc_index,
                    },
                });
            }
        }
        manifest::build_set(s.name(), docs, &self.build)
            .map_err(|e| session_context(e, s, self.sessions.len()))
    }

    /// Renders every session and maps each set with `f`, in parallel; results in session order.
    /// The first error (in session order) wins.
    pub fn map_sessions<T, F>(&self, f: F) -> Result<Vec<T>>
    where
        T: Send,
        F: Fn(&Session, ManifestSet) -> Result<T> + Sync,
    {
        // Up to 16 sessions are not worth a second thread (nor the look-up of the CPU count).
        crate::par::map(self.sessions.iter().collect(), 16, |s| {
            self.render_session(s).and_then(|set| f(s, set))
        })
    }

    /// Renders every session into its set.
    pub fn render_all(&self) -> Result<Vec<ManifestSet>> {
        self.map_sessions(|_, set| Ok(set))
    }

    /// The template `file:line` (and column) that produced the node at `path` of `resource`,
    /// found by rendering that template again. For findings, so the happy path pays nothing.
    pub fn locate(&self, s: &Session, resource: &Resource, path: &[PathSeg]) -> (SourceLoc, usize) {
        let fallback = (resource.source.clone(), 1);
        let Some(name) = self
            .renderer
            .outputs()
            .iter()
            .find(|n| shown(&self.prefix, n) == resource.source.file)
        else {
            return fallback;
        };
        let Ok(values) = self.values_for(s) else {
            return fallback;
        };
        let Ok(text) = self.renderer.render(name, s, Some(&values)) else {
            return fallback;
        };
        let Ok(docs) = yaml::parse_stream_with_positions(&text, self.limits) else {
            return fallback;
        };
        let Some((_, pos)) = docs.get(resource.source.doc) else {
            return fallback;
        };
        // Empty scalars (`- #@ expr` read as YAML) are placed at their own `-` or key line.
        let (node_line, node_col) = crate::validate::files::locate_in(&text, pos, path);
        let src = self.renderer.source(name).unwrap_or_default();
        let line = lines::template_line(&src, &text, node_line);
        // The column is exact only when the template line is the rendered line.
        let same = src.lines().nth(line.saturating_sub(1)).map(str::trim_end)
            == text
                .lines()
                .nth(node_line.saturating_sub(1))
                .map(str::trim_end);
        let col = if same { node_col.max(1) } else { 1 };
        (
            SourceLoc {
                file: resource.source.file.clone(),
                line,
                doc: resource.source.doc,
            },
            col,
        )
    }

    /// Where a values path is defined: the last values file that sets it, and the line.
    pub fn locate_value(&self, s: &Session, path: &[PathSeg]) -> Option<(String, usize)> {
        for f in self.values_files.iter().rev() {
            let text = if f.templated {
                self.renderer.render(&f.display, s, None).ok()?
            } else {
                f.text.clone()
            };
            let docs = yaml::parse_stream_with_positions(&text, self.limits).ok()?;
            for (d, pos) in docs.iter().rev() {
                if d.empty || !has_path(&d.value, path) {
                    continue;
                }
                let line = lines::template_line(&f.text, &text, pos.find(path).line);
                return Some((f.display.clone(), line));
            }
        }
        None
    }

    /// The values files, for tools that report on them.
    pub fn values_files(&self) -> &[ValuesFile] {
        &self.values_files
    }

    /// The pipeline folder.
    pub fn dir(&self) -> &Path {
        &self.root.dir
    }
}

fn has_path(v: &Value, path: &[PathSeg]) -> bool {
    let mut cur = v;
    for seg in path {
        let next = match seg {
            PathSeg::Key(k) => cur.get(k.as_str()),
            PathSeg::Index(i) => cur.get(*i),
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    true
}

/// Prefixes a `templates/…` location with the folder as the user named it. An include name
/// (`_helpers.yaml:3: …`) becomes the file it was read from (`DIR/templates/_helpers.yaml:3: …`).
fn with_prefix(e: anyhow::Error, prefix: &str) -> anyhow::Error {
    let msg = format!("{e:#}");
    if msg.starts_with("templates/") {
        return if prefix.is_empty() {
            e
        } else {
            anyhow::anyhow!("{prefix}/{msg}")
        };
    }
    let Some((name, _)) = msg.split_once(':') else {
        return e;
    };
    if name.is_empty() || name.contains(char::is_whitespace) || name.starts_with('/') {
        return e;
    }
    let dir = Path::new(if prefix.is_empty() { "." } else { prefix });
    for folder in ["templates/", ""] {
        if dir.join(folder).join(name).is_file() {
            return anyhow::anyhow!("{}", shown(prefix, &format!("{folder}{msg}")));
        }
    }
    e
}

/// Adds which session failed when there are several.
fn session_context(e: anyhow::Error, s: &Session, count: usize) -> anyhow::Error {
    if count > 1 {
        let msg = format!("{e:#}");
        let (first, rest) = msg.split_once('\n').unwrap_or((&msg, ""));
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!("\n{rest}")
        };
        anyhow::anyhow!("{first} (session {}){rest}", s.name())
    } else {
        e
    }
}

fn remap_line(e: anyhow::Error, display: &str, source: &str, rendered: &str) -> anyhow::Error {
    let msg = format!("{e:#}");
    let prefix = format!("{display}:");
    if let Some(rest) = msg.strip_prefix(&prefix) {
        if let Some((num, tail)) = rest.split_once(':') {
            if let Ok(n) = num.parse::<usize>() {
                let line = lines::template_line(source, rendered, n);
                return anyhow::anyhow!("{display}:{line}:{tail}");
            }
        }
    }
    e
}

/// The rendered line an error points at, shown under the message; never a line of a stream
/// holding a Secret (its values may be filled in from values files or the environment).
fn excerpt(text: &str, line: usize) -> String {
    let secret = text.lines().any(|l| {
        let l = l.trim();
        l.strip_prefix("kind:")
            .map(|k| k.trim().trim_matches(|c| c == '"' || c == '\'').trim())
            == Some("Secret")
    });
    if secret && line > 0 {
        return format!("\n  rendered line {line} not shown: the document is a Secret");
    }
    match text.lines().nth(line.saturating_sub(1)) {
        Some(l) if line > 0 => format!("\n  rendered line {line} | {}", l.trim_end()),
        _ => String::new(),
    }
}

/// Checks that a rendered pipeline folder exists before doing anything else.
pub fn check_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        bail!("{}: pipeline folder not found", dir.display());
    }
    Ok(())
}
