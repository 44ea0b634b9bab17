//! `--wait`: polls kapp-controller `App`s until `ReconcileSucceeded` (or `ReconcileFailed`,
//! whose `status.usefulErrorMessage` is reported), within a timeout.

use super::confirm::Progress;
use crate::exit::EnvError;
use crate::kube::Kube;
use crate::lookup::Lookup;
use anyhow::{bail, Result};
use serde_yaml::Value;
use std::time::{Duration, Instant};

/// Group and kind of a kapp-controller App.
pub const APP_GROUP: &str = "kappctrl.k14s.io";
pub const APP_KIND: &str = "App";

/// Parses `30s`, `5m`, `1h`, `1m30s`, `500ms`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    if rest.is_empty() {
        bail!("empty duration (use e.g. 30s, 5m, 1h)");
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            bail!("invalid duration {text:?} (use e.g. 30s, 5m, 1h)");
        }
        let n: u64 = rest[..digits].parse()?;
        rest = &rest[digits..];
        let unit = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => bail!("invalid duration {text:?} (use e.g. 30s, 5m, 1h)"),
        };
        total += part;
        rest = &rest[unit..];
    }
    Ok(total)
}

/// Where an App stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppState {
    Succeeded,
    Failed(String),
    /// Still reconciling (or not yet observed); the friendly description when there is one.
    Pending(String),
}

fn condition_true(status: &Value, kind: &str) -> Option<String> {
    let conds = status.at("conditions")?.as_sequence()?;
    conds.iter().find_map(|c| {
        let t = c.at("type")?.as_str()?;
        let s = c.at("status")?.as_str()?;
        (t == kind && s == "True").then(|| {
            c.at("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
    })
}

/// Reads an App's state from its status (a status older than the spec counts as pending).
pub fn app_state(app: &Value) -> AppState {
    let Some(status) = app.at("status") else {
        return AppState::Pending("no status yet".into());
    };
    let friendly = status
        .at("friendlyDescription")
        .and_then(Value::as_str)
        .unwrap_or("reconciling")
        .to_string();
    let generation = app
        .at("metadata")
        .and_then(|m| m.at("generation"))
        .and_then(Value::as_i64);
    let observed = status.at("observedGeneration").and_then(Value::as_i64);
    if let (Some(g), Some(o)) = (generation, observed) {
        if o < g {
            return AppState::Pending(friendly);
        }
    }
    if let Some(msg) = condition_true(status, "ReconcileFailed") {
        let useful = status
            .at("usefulErrorMessage")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .unwrap_or(if msg.is_empty() { friendly } else { msg });
        return AppState::Failed(useful);
    }
    if condition_true(status, "ReconcileSucceeded").is_some() {
        return AppState::Succeeded;
    }
    AppState::Pending(friendly)
}

/// An App to wait for.
#[derive(Debug, Clone)]
pub struct Target {
    pub api_version: String,
    pub namespace: String,
    pub name: String,
}

/// Polls every `interval` until every target succeeded; the first failure or the timeout is
/// an environment error (exit 3).
pub fn wait_for(
    kube: &Kube,
    targets: &[Target],
    timeout: Duration,
    interval: Duration,
    progress: &Progress,
) -> Result<()> {
    let start = Instant::now();
    let mut pending: Vec<&Target> = targets.iter().collect();
    let mut last = String::new();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for t in pending {
            let version = t.api_version.rsplit('/').next().unwrap_or("v1alpha1");
            let args = vec![
                "get".to_string(),
                format!("{APP_KIND}.{version}.{APP_GROUP}"),
                t.name.clone(),
                format!("--namespace={}", t.namespace),
                "-o".into(),
                "json".into(),
                "--ignore-not-found".into(),
            ];
            let state = match kube.get_json(&args, None)?.first() {
                Some(app) => app_state(app),
                None => AppState::Pending("not found yet".into()),
            };
            match state {
                AppState::Succeeded => {}
                AppState::Failed(msg) => {
                    progress.clear();
                    return Err(anyhow::Error::new(EnvError(format!(
                        "App {}/{}: ReconcileFailed: {}",
                        t.namespace,
                        t.name,
                        msg.trim_end()
                    ))));
                }
                AppState::Pending(why) => {
                    last = format!("App {}/{}: {why}", t.namespace, t.name);
                    still.push(t);
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if start.elapsed() >= timeout {
            progress.clear();
            return Err(anyhow::Error::new(EnvError(format!(
                "timed out after {} waiting for {} App(s) to reconcile ({last})",
                humanize(timeout),
                pending.len()
            ))));
        }
        progress.tick(&format!("waiting for {} App(s): {last}", pending.len()));
        std::thread::sleep(
            interval
                .min(timeout.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(10)),
        );
    }
    progress.clear();
    Ok(())
}

/// `5m`, `30s`, `1h`, `1m30s`, `250ms`.
pub fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(humanize(Duration::from_secs(90)), "1m30s");
        assert_eq!(humanize(Duration::from_secs(300)), "5m");
    }

    #[test]
    fn app_states() {
        let y = |s: &str| -> Value { serde_yaml::from_str(s).unwrap() };
        assert_eq!(
            app_state(&y("metadata: {generation: 2}\nstatus: {observedGeneration: 2, conditions: [{type: ReconcileSucceeded, status: 'True'}]}")),
            AppState::Succeeded
        );
        assert_eq!(
            app_state(&y("metadata: {generation: 3}\nstatus: {observedGeneration: 2, conditions: [{type: ReconcileSucceeded, status: 'True'}]}")),
            AppState::Pending("reconciling".into())
        );
        assert_eq!(
            app_state(&y("status: {usefulErrorMessage: 'ytt: Error: boom', conditions: [{type: ReconcileFailed, status: 'True', message: m}]}")),
            AppState::Failed("ytt: Error: boom".into())
        );
        assert!(matches!(
            app_state(&y("metadata: {}")),
            AppState::Pending(_)
        ));
    }
}
