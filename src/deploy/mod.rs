//! Applying a rendered, diffed set to the cluster: `kpipe deploy`.
//!
//! Flow ([`cmd::run`]): render → place namespaces → diff against live state ([`plan`]) → print
//! the diff → confirm ([`confirm`]) → apply session by session with a [`Deployer`] ([`Kapp`] or
//! [`KubectlApply`]) → optionally wait for kapp-controller Apps ([`wait`]).

pub mod cmd;
pub mod confirm;
pub mod kapp;
pub mod kubectl;
pub mod plan;
pub mod wait;

pub use kapp::Kapp;
pub use kubectl::KubectlApply;

use crate::manifest::{ManifestSet, ResourceId};
use anyhow::Result;
use plan::SessionPlan;
use serde_yaml::Value;

/// Label the kubectl deployer puts on every resource it applies: the app name. Objects carrying
/// it and no longer rendered are this app's deletes (pruned with `--prune`).
pub const APP_LABEL: &str = "kpipe.dev/app";
/// Label the kubectl deployer puts on every resource it applies: the session name.
pub const SESSION_LABEL: &str = "kpipe.dev/session";

/// One session, ready to apply: what was rendered and what the diff decided.
#[derive(Debug, Clone)]
pub struct SessionDeploy {
    pub session: String,
    /// kapp app name, or the value of [`APP_LABEL`] for the kubectl deployer.
    pub app: String,
    /// The session's rendered set exactly as `kpipe render` prints it (kapp gets this stream).
    pub rendered: ManifestSet,
    /// The objects as the diff compared them (namespaces placed; kpipe labels added for the
    /// kubectl deployer; kapp `Config` documents left out).
    pub desired: Vec<(ResourceId, Value)>,
    pub plan: SessionPlan,
}

/// Options every deployer honours.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Delete resources shown as deletes in the diff.
    pub prune: bool,
    /// `-n`, passed through where the deployer takes a namespace.
    pub namespace: Option<String>,
    /// Prefix each output line with `[session] ` (several sessions at once).
    pub prefix_output: bool,
}

/// What applying one session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub not_pruned: usize,
}

impl Outcome {
    /// `2 created, 1 updated, 0 deleted` (plus not pruned when some were left).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} created, {} updated, {} deleted",
            self.created, self.updated, self.deleted
        );
        if self.not_pruned > 0 {
            s.push_str(&format!(", {} not pruned", self.not_pruned));
        }
        s
    }
}

/// Applies one session's diffed changes to the cluster.
pub trait Deployer: Sync {
    /// `kapp` or `kubectl`, for messages.
    fn name(&self) -> &'static str;
    /// Applies the session; an error is an environment failure (exit 3) naming what failed.
    fn apply(&self, session: &SessionDeploy, opts: &ApplyOptions) -> Result<Outcome>;
}

/// Counts what the plan says applying will do.
pub fn expected_outcome(plan: &SessionPlan, prune: bool) -> Outcome {
    let mut o = Outcome::default();
    for c in &plan.changes {
        match c.op {
            plan::Op::Create => o.created += 1,
            plan::Op::Update => o.updated += 1,
            plan::Op::Delete if prune => o.deleted += 1,
            plan::Op::Delete => o.not_pruned += 1,
            plan::Op::Noop => {}
        }
    }
    o
}
