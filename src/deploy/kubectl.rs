//! The kubectl deployer: `kubectl apply --server-side --field-manager=kpipe -f -` with the
//! kpipe labels on every object and, on every update, the `resourceVersion` the diff saw, so
//! the API server refuses (409) an object that changed after the diff was shown.

use super::plan::{self, Op};
use super::{expected_outcome, ApplyOptions, Deployer, Outcome, SessionDeploy};
use crate::exit::EnvError;
use crate::kube::{run_streamed, Kube, Ran};
use crate::manifest::ResourceId;
use anyhow::Result;
use serde_yaml::Value;
use std::collections::HashMap;

/// Field manager kpipe applies as (server-side apply).
pub const FIELD_MANAGER: &str = "kpipe";

#[derive(Debug, Clone)]
pub struct KubectlApply {
    pub kube: Kube,
}

/// The message of a 409 from kubectl: the object changed since the diff.
fn conflict_message(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .find(|l| l.contains("the object has been modified"))?;
    let what = line
        .split_once("Operation cannot be fulfilled on ")
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(w, _)| w.trim().to_string())
        .unwrap_or_else(|| "a resource".into());
    Some(what)
}

fn failure(what: &str, session: &str, ran: &Ran, applied: bool) -> anyhow::Error {
    if let Some(obj) = conflict_message(&ran.stderr) {
        let tail = if applied {
            "other changes of this session may have been applied"
        } else {
            "nothing was applied for this session"
        };
        return anyhow::Error::new(EnvError(format!(
            "session {session}: {obj} changed since the diff; run again ({tail})"
        )));
    }
    anyhow::Error::new(EnvError(format!(
        "session {session}: `kubectl {what}` failed ({}): {}",
        ran.status,
        ran.stderr.trim()
    )))
}

/// `obj` with `metadata.resourceVersion` set to `rv`.
fn with_resource_version(obj: &Value, rv: &str) -> Value {
    let mut o = obj.clone();
    if let Some(Value::Mapping(meta)) = o.get_mut("metadata") {
        meta.insert("resourceVersion".into(), Value::from(rv));
    }
    o
}

impl KubectlApply {
    fn streamed(&self, args: &[String], stdin: &str, prefix: Option<&str>) -> Result<Ran> {
        let mut all = self.kube.base_args();
        all.extend(args.iter().cloned());
        run_streamed(
            &self.kube.bin,
            &all,
            Some(stdin.as_bytes()),
            prefix,
            "kubectl",
            "KPIPE_KUBECTL",
        )
    }
}

impl Deployer for KubectlApply {
    fn name(&self) -> &'static str {
        "kubectl"
    }

    fn apply(&self, s: &SessionDeploy, opts: &ApplyOptions) -> Result<Outcome> {
        let planned: HashMap<&ResourceId, &plan::Planned> =
            s.plan.changes.iter().map(|c| (&c.id, c)).collect();
        let mut objects = Vec::new();
        for (id, obj) in &s.desired {
            match planned.get(id) {
                Some(c) if c.op == Op::Create => objects.push(obj.clone()),
                Some(c) if c.op == Op::Update => objects.push(match &c.live_rv {
                    Some(rv) => with_resource_version(obj, rv),
                    None => obj.clone(),
                }),
                _ => {}
            }
        }
        let prefix = opts.prefix_output.then_some(s.session.as_str());
        if !objects.is_empty() {
            let stream = crate::yaml::emit_stream(objects.iter());
            let apply = [
                "apply",
                "--server-side",
                &format!("--field-manager={FIELD_MANAGER}"),
                "-f",
                "-",
            ]
            .map(String::from);
            // A server-side dry run first: a conflict or a refused object stops the session
            // before anything is written.
            let mut dry = apply.to_vec();
            dry.push("--dry-run=server".into());
            let ran = self.kube.run_raw(&dry, Some(stream.as_bytes()))?;
            if !ran.success {
                return Err(failure(
                    "apply --server-side --dry-run=server",
                    &s.session,
                    &ran,
                    false,
                ));
            }
            let ran = self.streamed(&apply, &stream, prefix)?;
            if !ran.success {
                return Err(failure("apply --server-side", &s.session, &ran, true));
            }
        }
        let deletes: Vec<&plan::Planned> = s
            .plan
            .changes
            .iter()
            .filter(|c| c.op == Op::Delete)
            .collect();
        if opts.prune && !deletes.is_empty() {
            let docs: Vec<Value> = deletes.iter().filter_map(|c| c.existing.clone()).collect();
            let stream = crate::yaml::emit_stream(docs.iter());
            let args =
                ["delete", "--ignore-not-found", "--wait=false", "-f", "-"].map(String::from);
            let ran = self.streamed(&args, &stream, prefix)?;
            if !ran.success {
                return Err(failure("delete", &s.session, &ran, true));
            }
        }
        Ok(expected_outcome(&s.plan, opts.prune))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_recognised() {
        let e = "error: Operation cannot be fulfilled on workflows.argoproj.io \"wf\": the object has been modified; please apply your changes to the latest version and try again\nPlease review the fields above";
        assert_eq!(
            conflict_message(e).as_deref(),
            Some("workflows.argoproj.io \"wf\"")
        );
        assert_eq!(conflict_message("error: boom"), None);
    }
}
