//! The kapp deployer: `kapp deploy -a <app> -f - -y` with the rendered stream on stdin and
//! kapp's own output streamed through.

use super::{expected_outcome, ApplyOptions, Deployer, Outcome, SessionDeploy};
use crate::exit::EnvError;
use crate::kube::run_streamed;
use anyhow::Result;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Kapp {
    /// `KPIPE_KAPP`, else `kapp` on PATH.
    pub bin: PathBuf,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

impl Kapp {
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> Kapp {
        Kapp {
            bin: kapp_bin(),
            kubeconfig,
            context,
        }
    }

    /// The arguments of one session's deploy.
    pub fn args(&self, app: &str, opts: &ApplyOptions) -> Vec<String> {
        let mut a: Vec<String> = ["deploy", "-a", app, "-f", "-", "-y"]
            .map(String::from)
            .to_vec();
        if let Some(ns) = &opts.namespace {
            a.extend(["-n".to_string(), ns.clone()]);
        }
        if !opts.prune {
            // Add or update only: resources no longer rendered are left ("not pruned").
            a.push("--patch".into());
        }
        if let Some(k) = &self.kubeconfig {
            a.push(format!("--kubeconfig={}", k.display()));
        }
        if let Some(c) = &self.context {
            a.push(format!("--kubeconfig-context={c}"));
        }
        a
    }
}

/// `KPIPE_KAPP`, else `kapp`.
pub fn kapp_bin() -> PathBuf {
    std::env::var_os("KPIPE_KAPP")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kapp"))
}

/// True when `kapp` (or `KPIPE_KAPP`) can be found: the default deployer then.
pub fn kapp_available() -> bool {
    let bin = kapp_bin();
    if bin.components().count() > 1 {
        return bin.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(&bin).is_file()))
}

impl Deployer for Kapp {
    fn name(&self) -> &'static str {
        "kapp"
    }

    fn apply(&self, s: &SessionDeploy, opts: &ApplyOptions) -> Result<Outcome> {
        let args = self.args(&s.app, opts);
        let stream = s.rendered.to_yaml();
        let prefix = opts.prefix_output.then_some(s.session.as_str());
        let ran = run_streamed(
            &self.bin,
            &args,
            Some(stream.as_bytes()),
            prefix,
            "kapp",
            "KPIPE_KAPP",
        )?;
        if !ran.success {
            let last = ran
                .stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no error output");
            return Err(anyhow::Error::new(EnvError(format!(
                "session {}: `kapp deploy -a {}` failed ({}): {}",
                s.session,
                s.app,
                ran.status,
                last.trim()
            ))));
        }
        Ok(expected_outcome(&s.plan, opts.prune))
    }
}
