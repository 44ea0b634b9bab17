//! Under the Tanzu CLI no kubeconfig is passed: the plugin reads the active context from the
//! Tanzu config (integration-contracts.md §4.4).

use anyhow::{Context, Result};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// The kubeconfig path and kube context of the active Tanzu context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TanzuContext {
    /// Empty path in the config means the default kubeconfig (`None`).
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// The Tanzu config file: `$TANZU_CONFIG_NEXT_GEN`, else `~/.config/tanzu/config-ng.yaml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TANZU_CONFIG_NEXT_GEN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    Some(Path::new(&home).join(".config/tanzu/config-ng.yaml"))
}

/// Reads the active kubernetes context; `None` when there is no config or no active context
/// (kpipe then falls back to kubectl's own defaults).
pub fn active_context(path: &Path) -> Result<Option<TanzuContext>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("reading Tanzu config {}", path.display()))
        }
    };
    let cfg = crate::yaml::parse_one(&text, crate::yaml::Limits::default())
        .with_context(|| format!("parsing Tanzu config {}", path.display()))?;
    let current = cfg.get("currentContext");
    let name = ["kubernetes", "k8s", "tanzu"]
        .iter()
        .find_map(|k| current.and_then(|c| c.get(*k)).and_then(Value::as_str))
        .filter(|n| !n.is_empty());
    let Some(name) = name else { return Ok(None) };
    let Some(Value::Sequence(contexts)) = cfg.get("contexts") else {
        return Ok(None);
    };
    let Some(ctx) = contexts
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
    else {
        return Ok(None);
    };
    let opts = ctx.get("clusterOpts");
    let field = |k: &str| {
        opts.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Some(TanzuContext {
        kubeconfig: field("path").map(PathBuf::from),
        context: field("context"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_active_kubernetes_context() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config-ng.yaml");
        std::fs::write(
            &p,
            "contexts:\n- name: tmc\n  contextType: mission-control\n- name: dev\n  contextType: kubernetes\n  clusterOpts:\n    path: /home/me/.kube/config\n    context: kind-dev\ncurrentContext:\n  kubernetes: dev\n  mission-control: tmc\n",
        )
        .unwrap();
        assert_eq!(
            active_context(&p).unwrap(),
            Some(TanzuContext {
                kubeconfig: Some("/home/me/.kube/config".into()),
                context: Some("kind-dev".into())
            })
        );
        std::fs::write(&p, "contexts: []\ncurrentContext: {}\n").unwrap();
        assert_eq!(active_context(&p).unwrap(), None);
        assert_eq!(active_context(&dir.path().join("none.yaml")).unwrap(), None);
    }
}
