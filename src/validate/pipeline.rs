//! Lint of a rendered pipeline: `kpipe lint DIR …` and the check `kpipe render` runs first.
//! Findings are located through the render API: resource paths map to the template line that
//! produced them (`Pipeline::locate`), value paths to the values file line (`locate_value`).

use super::cli::LintFlags;
use super::schema::ValuesSchema;
use super::{check_set, Finding, Loc, Options, Resolver, Subject};
use crate::manifest::ManifestSet;
use crate::render::Pipeline;
use crate::session::Session;
use crate::yaml::PathSeg;
use anyhow::Result;
use std::collections::HashMap;

/// Compiled lint inputs for one pipeline (CRD schemas, values schema), shared by sessions.
pub struct Linter {
    opts: Options,
    values_schema: Option<ValuesSchema>,
    strict: bool,
}

impl Linter {
    /// Loads `--crd` files and the values schema (`--schema`, else `DIR/values.schema.json`).
    pub fn new(p: &Pipeline, flags: &LintFlags) -> Result<Linter> {
        let opts = flags.options()?;
        let schema_path = match &flags.schema {
            Some(s) => Some(s.clone()),
            None => Some(p.dir().join("values.schema.json")).filter(|f| f.is_file()),
        };
        let values_schema = match schema_path {
            Some(f) => Some(ValuesSchema::load(&f)?),
            None => None,
        };
        Ok(Linter {
            opts,
            values_schema,
            strict: flags.strict,
        })
    }

    /// Checks one session's set; findings come back located (template and values lines).
    pub fn check_session(
        &self,
        p: &Pipeline,
        s: &Session,
        set: &ManifestSet,
    ) -> Result<Vec<Finding>> {
        let mut findings = check_set(set, &self.opts);
        if let Some(schema) = &self.values_schema {
            findings.extend(schema.check(&p.values_for(s)?));
        }
        if !findings.is_empty() || self.strict {
            let resolver = PipelineResolver { p, s, set };
            super::resolve(&mut findings, &resolver, self.strict);
        }
        Ok(findings)
    }
}

struct PipelineResolver<'a> {
    p: &'a Pipeline,
    s: &'a Session,
    set: &'a ManifestSet,
}

impl Resolver for PipelineResolver<'_> {
    fn locate(&self, subject: &Subject, path: &[PathSeg]) -> Option<Loc> {
        match subject {
            Subject::Resource(i) => {
                let r = self.set.resources.get(*i)?;
                let (src, col) = self.p.locate(self.s, r, path);
                Some(Loc {
                    file: src.file,
                    line: src.line,
                    col,
                })
            }
            Subject::Values => {
                // The deepest part of the path that some values file defines.
                (0..=path.len()).rev().find_map(|n| {
                    self.p
                        .locate_value(self.s, &path[..n])
                        .map(|(file, line)| Loc { file, line, col: 1 })
                })
            }
            Subject::File(_) => None,
        }
    }
}

/// Merges the findings of all sessions: one per (location, code, message), noting in how many
/// sessions it appeared when there are several. Sorted.
pub fn merge_sessions(per_session: Vec<Vec<Finding>>) -> Vec<Finding> {
    let total = per_session.len();
    let mut seen: HashMap<(Option<Loc>, &'static str, String), usize> = HashMap::new();
    let mut out: Vec<(Finding, usize)> = Vec::new();
    for findings in per_session {
        let mut in_this: Vec<usize> = Vec::new();
        for f in findings {
            let key = (f.loc.clone(), f.code, f.message.clone());
            match seen.get(&key) {
                Some(&i) => {
                    if !in_this.contains(&i) {
                        out[i].1 += 1;
                        in_this.push(i);
                    }
                }
                None => {
                    seen.insert(key, out.len());
                    in_this.push(out.len());
                    out.push((f, 1));
                }
            }
        }
    }
    let mut merged: Vec<Finding> = out
        .into_iter()
        .map(|(mut f, n)| {
            if total > 1 {
                f.message = format!("{} (in {n} of {total} sessions)", f.message);
            }
            f
        })
        .collect();
    super::sort(&mut merged);
    merged
}

/// The values schema findings of every session (located in the values files).
pub fn check_values(p: &Pipeline, linter: &Linter) -> Result<Vec<Vec<Finding>>> {
    let Some(schema) = &linter.values_schema else {
        return Ok(Vec::new());
    };
    let mut per = Vec::new();
    for s in p.sessions() {
        let mut f = schema.check(&p.values_for(s)?);
        if !f.is_empty() {
            let set = ManifestSet {
                session: s.name().to_string(),
                resources: Vec::new(),
            };
            super::resolve(&mut f, &PipelineResolver { p, s, set: &set }, linter.strict);
        }
        per.push(f);
    }
    Ok(per)
}

/// What a pipeline lint found.
pub struct PipelineLint {
    pub findings: Vec<Finding>,
    /// Resources checked.
    pub count: usize,
    /// The render error that stopped the checks (reported after the findings).
    pub render_error: Option<anyhow::Error>,
}

/// Lints every session: values first (so a value the templates need but nobody defines is
/// reported in the values file), then the rendered manifests.
pub fn lint_pipeline(p: &Pipeline, flags: &LintFlags) -> Result<PipelineLint> {
    let mut linter = Linter::new(p, flags)?;
    let values = check_values(p, &linter)?;
    let values_errors = values
        .iter()
        .flatten()
        .any(|f| f.severity == super::Severity::Error);
    // Values were checked already: the per-session check does manifests only.
    linter.values_schema = None;
    let rendered =
        p.map_sessions(|s, set| Ok((linter.check_session(p, s, &set)?, set.resources.len())));
    match rendered {
        Ok(per) => {
            let count = per.iter().map(|(_, n)| n).sum();
            let mut all: Vec<Vec<Finding>> = per.into_iter().map(|(f, _)| f).collect();
            for (i, v) in values.into_iter().enumerate() {
                if let Some(slot) = all.get_mut(i) {
                    slot.extend(v);
                }
            }
            Ok(PipelineLint {
                findings: merge_sessions(all),
                count,
                render_error: None,
            })
        }
        Err(e) if values_errors || !values.is_empty() => Ok(PipelineLint {
            findings: merge_sessions(values),
            count: 0,
            render_error: Some(e),
        }),
        Err(e) => Err(e),
    }
}
