//! The template stage: minijinja with strict undefined, `${NAME}` placeholders, Argo's own
//! `{{…}}` expressions passed through, and file loading confined to the pipeline folder.
//!
//! Templates are compiled once per run and rendered per session. A second dialect (ytt's
//! data-values subset) can be added as another `Dialect` beside Jinja: the other stages only see
//! rendered text.

mod filters;
pub mod lines;
mod preprocess;

pub use filters::{b64decode, b64encode, dns_label};
pub use preprocess::{is_argo_expression, preprocess, ARGO_ROOTS};

use crate::session::Session;
use anyhow::{bail, Context, Result};
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior};
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Options of the template stage.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// minijinja fuel: the most instructions one render may run (stops runaway loops).
    pub fuel: u64,
    /// Most bytes one render may output (stops runaway output before it fills memory).
    pub max_output_bytes: usize,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            fuel: 50_000_000,
            max_output_bytes: crate::limits::OutputLimits::default().max_output_bytes,
        }
    }
}

/// Compiled templates of one pipeline folder.
pub struct Renderer {
    env: Environment<'static>,
    /// Output templates (not partials), as `templates/<path>` names, sorted.
    outputs: Vec<String>,
    /// Original sources by template name, for line mapping and error context.
    sources: Arc<std::sync::RwLock<HashMap<String, Arc<str>>>>,
    /// `TemplateOptions::max_output_bytes`.
    max_output_bytes: usize,
}

/// The folder that holds a pipeline and everything its templates may read.
#[derive(Debug, Clone)]
pub struct Root {
    pub dir: PathBuf,
    canonical: PathBuf,
}

impl Root {
    pub fn new(dir: &Path) -> Result<Root> {
        let canonical = dir
            .canonicalize()
            .with_context(|| format!("{}: pipeline folder not found", dir.display()))?;
        if !canonical.is_dir() {
            bail!("{}: not a folder", dir.display());
        }
        Ok(Root {
            dir: dir.to_path_buf(),
            canonical,
        })
    }

    /// Resolves a template name relative to `templates/`, then to the folder itself, refusing
    /// absolute paths, `..`, and symlinks that lead outside the folder.
    pub fn resolve(&self, name: &str) -> std::result::Result<Option<PathBuf>, String> {
        let rel = Path::new(name);
        if rel.is_absolute() || name.starts_with('/') || name.starts_with('\\') {
            return Err(format!(
                "{name:?}: absolute paths are not allowed in templates"
            ));
        }
        if rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "{name:?}: `..` is not allowed: templates read only inside the pipeline folder"
            ));
        }
        for base in [&["templates"][..], &[]] {
            // Walked down from the canonical root one name at a time: with no symlink on the
            // way, the path is already canonical and inside (no `realpath`, which asks the
            // kernel about every component from `/`).
            let mut candidate = self.canonical.clone();
            let mut linked = false;
            let mut meta = None;
            let names =
                base.iter()
                    .map(std::ffi::OsStr::new)
                    .chain(rel.components().filter_map(|c| {
                        matches!(c, Component::Normal(_)).then_some(c.as_os_str())
                    }));
            for n in names {
                candidate.push(n);
                meta = candidate.symlink_metadata().ok();
                match &meta {
                    None => break,
                    Some(m) => linked |= m.file_type().is_symlink(),
                }
            }
            let Some(meta) = meta else { continue };
            if !linked {
                if meta.is_file() {
                    return Ok(Some(candidate));
                }
                continue;
            }
            let real = candidate
                .canonicalize()
                .map_err(|e| format!("{name:?}: {e} (a symlink loop?)"))?;
            if !real.starts_with(&self.canonical) {
                return Err(format!(
                    "{name:?}: symlink leads outside the pipeline folder"
                ));
            }
            if real.is_file() {
                return Ok(Some(real));
            }
        }
        Ok(None)
    }
}

impl Renderer {
    /// Loads `DIR/templates/**.{yaml,yml}`; names starting with `_` are partials.
    pub fn load(root: &Root, opts: &TemplateOptions) -> Result<Renderer> {
        let tdir = root.dir.join("templates");
        if !tdir.is_dir() {
            bail!("{}: no templates/ folder", tdir.display());
        }
        let mut outputs = Vec::new();
        for entry in walkdir::WalkDir::new(&tdir)
            .sort_by_file_name()
            .follow_links(false)
        {
            let entry =
                entry.with_context(|| format!("{}: cannot list templates", tdir.display()))?;
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&tdir)
                .context("template outside templates/")?;
            let rel_s = rel.to_string_lossy().replace('\\', "/");
            let is_yaml = rel_s.ends_with(".yaml") || rel_s.ends_with(".yml");
            let partial = rel
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with('_'));
            if !is_yaml || partial {
                continue;
            }
            // Symlinked templates must stay inside the folder too.
            if ft.is_symlink() {
                root.resolve(&rel_s)
                    .map_err(|m| anyhow::anyhow!("templates/{rel_s}: {m}"))?;
            }
            outputs.push(format!("templates/{rel_s}"));
        }
        if outputs.is_empty() {
            bail!("{}: no templates (*.yaml) in templates/", tdir.display());
        }
        let sources: Arc<std::sync::RwLock<HashMap<String, Arc<str>>>> = Arc::default();
        let mut env = base_environment(opts);
        let loader_root = root.clone();
        let loader_sources = sources.clone();
        env.set_loader(move |name| {
            // `templates/x.yaml` (our output names) and `x.yaml` (include names) both work.
            let path = match loader_root.resolve(name) {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(None),
                // Not TemplateNotFound: `include` would replace our reason with its own.
                Err(m) => return Err(minijinja::Error::new(ErrorKind::InvalidOperation, m)),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                minijinja::Error::new(ErrorKind::TemplateNotFound, format!("{name}: {e}"))
            })?;
            let processed = preprocess(&text);
            if let Ok(mut s) = loader_sources.write() {
                s.insert(name.to_string(), Arc::from(text.as_str()));
            }
            Ok(Some(processed))
        });
        Renderer::compiled(env, outputs, sources, opts)
    }

    /// Builds a renderer over explicit files instead of a pipeline folder (`kpipe template`,
    /// ytt-style `-f` inputs). Files with `output: true` are rendered in the order given; the
    /// others (partials, data files) are only reachable by name from `{% include %}`. A name not
    /// found as given is also tried as `templates/<name>`, so pipeline-folder includes work.
    pub fn from_sources(files: Vec<SourceFile>, opts: &TemplateOptions) -> Result<Renderer> {
        let mut table: HashMap<String, Arc<str>> = HashMap::new();
        let mut outputs = Vec::new();
        for f in files {
            let text: Arc<str> = Arc::from(f.text.as_str());
            for alias in f.aliases {
                table.entry(alias).or_insert_with(|| text.clone());
            }
            if f.output {
                outputs.push(f.name.clone());
            }
            table.insert(f.name, text);
        }
        if outputs.is_empty() {
            bail!("no templates among the inputs (templates are *.yaml / *.yml files)");
        }
        let sources: Arc<std::sync::RwLock<HashMap<String, Arc<str>>>> = Arc::default();
        let mut env = base_environment(opts);
        let loader_sources = sources.clone();
        env.set_loader(move |name| {
            let text = match table.get(name) {
                Some(t) => t.clone(),
                None => match table.get(&format!("templates/{name}")) {
                    Some(t) => t.clone(),
                    None => return Ok(None),
                },
            };
            if let Ok(mut s) = loader_sources.write() {
                s.insert(name.to_string(), text.clone());
            }
            Ok(Some(preprocess(&text)))
        });
        Renderer::compiled(env, outputs, sources, opts)
    }

    /// Compiles every output now, so syntax errors surface before any session renders.
    fn compiled(
        env: Environment<'static>,
        outputs: Vec<String>,
        sources: Arc<std::sync::RwLock<HashMap<String, Arc<str>>>>,
        opts: &TemplateOptions,
    ) -> Result<Renderer> {
        let r = Renderer {
            env,
            outputs,
            sources,
            max_output_bytes: opts.max_output_bytes,
        };
        for name in &r.outputs {
            r.env.get_template(name).map_err(|e| r.describe(&e, name))?;
        }
        Ok(r)
    }

    /// Output template names (`templates/…`), in render order.
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Adds a values file as a template rendered over the session (no `values` in context).
    pub fn add_values_template(&mut self, name: &str, text: &str) -> Result<()> {
        if let Ok(mut s) = self.sources.write() {
            s.insert(name.to_string(), Arc::from(text));
        }
        self.env
            .add_template_owned(name.to_string(), preprocess(text))
            .map_err(|e| self.describe(&e, name))
    }

    /// The original source of a template, once loaded.
    pub fn source(&self, name: &str) -> Option<Arc<str>> {
        self.sources.read().ok()?.get(name).cloned()
    }

    /// The context templates see: every session variable at top level, `session`, and (for
    /// pipeline templates, not values files) `values`. Build it once per session.
    pub fn context(session: &Session, values: Option<&serde_yaml::Value>) -> minijinja::Value {
        let mut ctx: BTreeMap<&str, minijinja::Value> = BTreeMap::new();
        for (k, v) in &session.vars {
            ctx.insert(k.as_str(), minijinja::Value::from(v.as_str()));
        }
        ctx.insert("session", minijinja::Value::from_serialize(&session.vars));
        if let Some(v) = values {
            ctx.insert("values", minijinja::Value::from_serialize(v));
        }
        minijinja::Value::from_serialize(&ctx)
    }

    /// Renders `name` with the session variables and, for pipeline templates, the values.
    pub fn render(
        &self,
        name: &str,
        session: &Session,
        values: Option<&serde_yaml::Value>,
    ) -> Result<String> {
        self.render_with(name, &Self::context(session, values))
    }

    /// Renders `name` with a context made by [`Renderer::context`].
    pub fn render_with(&self, name: &str, ctx: &minijinja::Value) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| self.describe(&e, name))?;
        let mut out = crate::limits::CappedBuf::new(self.max_output_bytes);
        let rendered = tmpl.render_captured_to(ctx, &mut out).map(|_| ());
        if out.exceeded {
            // The template line that was writing when the limit was reached.
            let partial = String::from_utf8_lossy(&out.buf);
            let line = match (rendered.err().and_then(|e| e.line()), self.source(name)) {
                (Some(l), _) => format!("{l}:"),
                (None, Some(src)) => {
                    let at = partial.matches('\n').count() + 1;
                    format!("{}:", lines::template_line(&src, &partial, at))
                }
                (None, None) => String::new(),
            };
            bail!(
                "{name}:{line} template output is more than {} bytes (raise with --max-output-bytes)",
                self.max_output_bytes
            );
        }
        rendered
            .and_then(|()| {
                String::from_utf8(out.buf).map_err(|_| {
                    minijinja::Error::new(ErrorKind::InvalidOperation, "output is not UTF-8")
                })
            })
            .map_err(|e| {
            let err = self.describe(&e, name);
            match self.explain_undefined(&e, ctx) {
                Some(what) => {
                    let msg = format!("{err:#}");
                    let (first, rest) = msg.split_once('\n').unwrap_or((&msg, ""));
                    let first = first.replacen("undefined value (strict mode: every name must be defined; use `| default(...)` for optional values)", &what, 1);
                    anyhow::anyhow!("{first}{}{rest}", if rest.is_empty() { "" } else { "\n" })
                }
                None => err,
            }
        })
    }

    /// Names the undefined value behind a strict-mode error: the shortest dotted name on the
    /// failing line that does not resolve (`values.imagee is undefined: values has no key imagee`).
    fn explain_undefined(&self, err: &minijinja::Error, ctx: &minijinja::Value) -> Option<String> {
        if err.kind() != ErrorKind::UndefinedError {
            return None;
        }
        let name = err.name()?;
        let line = err.line()?;
        let src = self.source(name)?;
        let text = src.lines().nth(line.checked_sub(1)?)?;
        for path in jinja_names(text) {
            let parts: Vec<&str> = path.split('.').collect();
            for n in 1..=parts.len() {
                let prefix = parts[..n].join(".");
                let Ok(expr) = self.env.compile_expression(&prefix) else {
                    break;
                };
                let defined = expr.eval(ctx).map(|v| !v.is_undefined()).unwrap_or(false);
                if !defined {
                    return Some(if n == 1 {
                        format!("{prefix} is undefined")
                    } else {
                        format!(
                            "{prefix} is undefined: {} has no key {}",
                            parts[..n - 1].join("."),
                            parts[n - 1]
                        )
                    });
                }
            }
        }
        None
    }

    /// Turns a minijinja error into `file:line: message` plus the offending source line.
    fn describe(&self, err: &minijinja::Error, fallback: &str) -> anyhow::Error {
        // The innermost error (an include's) carries the real location.
        let mut inner: &minijinja::Error = err;
        while let Some(next) =
            std::error::Error::source(inner).and_then(|s| s.downcast_ref::<minijinja::Error>())
        {
            inner = next;
        }
        let name = inner.name().unwrap_or(fallback).to_string();
        let line = inner.line().unwrap_or(0);
        let what = match (inner.kind(), inner.detail()) {
            (ErrorKind::UndefinedError, Some(d)) => format!("undefined value: {d}"),
            (ErrorKind::UndefinedError, None) => "undefined value (strict mode: every name must be defined; use `| default(...)` for optional values)".to_string(),
            (ErrorKind::OutOfFuel, _) => "template ran too long (out of fuel): a runaway loop? raise with --max-template-fuel".to_string(),
            (ErrorKind::InvalidOperation, Some(d)) => d.to_string(),
            (_, Some(d)) => format!("{}: {d}", inner.kind()),
            (k, None) => k.to_string(),
        };
        let mut msg = format!("{name}:{line}: {what}");
        if let Some(src) = self.source(&name) {
            if let Some(text) = src.lines().nth(line.saturating_sub(1)) {
                if line > 0 {
                    msg.push_str(&format!("\n  {line} | {}", text.trim_end()));
                }
            }
        }
        anyhow::anyhow!(msg)
    }
}

/// A template given as text (`Renderer::from_sources`).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name used in output order and in messages (the path as the user gave it).
    pub name: String,
    /// Further names `{% include %}` may use (e.g. ytt's logical name relative to a `-f` folder).
    pub aliases: Vec<String>,
    pub text: String,
    /// True for templates whose documents are output; false for partials and data files.
    pub output: bool,
}

/// The minijinja environment every renderer starts from.
fn base_environment(opts: &TemplateOptions) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    // minijinja JSON-escapes `.yaml` templates by default; YAML authors quote themselves.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_fuel(Some(opts.fuel));
    env.set_recursion_limit(64);
    filters::register(&mut env);
    env.add_function("__placeholder", placeholder);
    env
}

/// Dotted names used inside `{{ … }}` and `{% … %}` on one line, in order (no filters, no
/// string contents, no keywords).
fn jinja_names(line: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "if",
        "else",
        "elif",
        "endif",
        "for",
        "endfor",
        "in",
        "not",
        "and",
        "or",
        "is",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "set",
        "endset",
        "include",
        "import",
        "from",
        "as",
        "with",
        "loop",
        "macro",
        "endmacro",
        "block",
        "endblock",
        "raw",
        "endraw",
        "defined",
        "__placeholder",
    ];
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = [rest.find("{{"), rest.find("{%")]
        .into_iter()
        .flatten()
        .min()
    {
        let body = &rest[start + 2..];
        let end = body
            .find("}}")
            .or_else(|| body.find("%}"))
            .unwrap_or(body.len());
        let expr = &body[..end];
        let mut chars = expr.char_indices().peekable();
        let mut after_pipe = false;
        let mut quote: Option<char> = None;
        while let Some((i, c)) = chars.next() {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '"' | '\'' => quote = Some(c),
                '|' => after_pipe = true,
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let mut j = i + c.len_utf8();
                    while let Some(&(k, d)) = chars.peek() {
                        if d.is_ascii_alphanumeric() || d == '_' || d == '.' {
                            j = k + d.len_utf8();
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    let word = expr[i..j].trim_end_matches('.');
                    let called = expr[j..].trim_start().starts_with('(');
                    if !after_pipe && !called && !KEYWORDS.contains(&word) {
                        out.push(word.to_string());
                    }
                    after_pipe = false;
                }
                c if !c.is_whitespace() => after_pipe = false,
                _ => {}
            }
        }
        rest = &body[end.min(body.len())..];
    }
    out
}

/// `${NAME}`: the session variable of that name (exact, then lower-case Educates name).
fn placeholder(
    state: &State,
    name: String,
) -> std::result::Result<minijinja::Value, minijinja::Error> {
    let session = state.lookup("session");
    if let Some(s) = &session {
        for key in [name.clone(), name.to_ascii_lowercase()] {
            if let Ok(v) = s.get_attr(&key) {
                if !v.is_undefined() {
                    return Ok(v);
                }
            }
        }
    }
    Err(minijinja::Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "unresolved placeholder ${{{name}}}: set it with --var {name}=… or a session variable (write $${{{name}}} for a literal ${{{name}}})"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::{jinja_names, Root};

    #[cfg(unix)]
    #[test]
    fn resolve_walks_inside_and_follows_symlinks_only_when_they_stay_inside() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.yaml"), "a: 1").unwrap();
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        for file in ["templates/a.yaml", "templates/sub/b.yaml", "shared/c.yaml"] {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "a: 1").unwrap();
        }
        symlink(dir.join("shared"), dir.join("templates/inc")).unwrap();
        symlink(outside.path(), dir.join("templates/out")).unwrap();
        symlink(outside.path().join("x.yaml"), dir.join("templates/x.yaml")).unwrap();
        let root = Root::new(dir).unwrap();
        let real = dir.canonicalize().unwrap();
        let found = |n: &str| root.resolve(n).unwrap();
        assert_eq!(found("a.yaml"), Some(real.join("templates/a.yaml")));
        assert_eq!(
            found("templates/a.yaml"),
            Some(real.join("templates/a.yaml"))
        );
        assert_eq!(
            found("./sub/./b.yaml"),
            Some(real.join("templates/sub/b.yaml"))
        );
        assert_eq!(found("shared/c.yaml"), Some(real.join("shared/c.yaml")));
        // A symlinked folder inside the root: the real path.
        assert_eq!(found("inc/c.yaml"), Some(real.join("shared/c.yaml")));
        assert_eq!(found("missing.yaml"), None);
        assert_eq!(found("sub"), None);
        for escape in ["out/x.yaml", "x.yaml", "templates/x.yaml"] {
            let e = root.resolve(escape).unwrap_err();
            assert!(e.contains("symlink leads outside"), "{escape}: {e}");
        }
    }

    #[test]
    fn names_on_a_line() {
        assert_eq!(
            jinja_names(
                "a: {{ values.x | default(y) }} {% if session.z and not w %}{{ 'q.r' ~ f(k) }}"
            ),
            ["values.x", "y", "session.z", "w", "k"]
        );
    }
}
