//! kpipe: render, lint, diff and deploy per-session Argo Workflow / kapp-controller pipelines.
//!
//! Stages (see DESIGN.md): `values` → `session` → `template` → `manifest` → `validate` →
//! `output` / `diff` / `deploy`. Each module owns one stage; data moves forward only. `kube` runs
//! the user's kubectl and kapp for `live` (diff) and `deploy` alike.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cli;
pub mod deploy;
pub mod diff;
pub mod exit;
pub mod kube;
pub mod limits;
pub mod live;
pub mod lookup;
pub mod manifest;
pub mod output;
pub mod par;
pub mod plugin;
pub mod redact;
pub mod render;
mod scan;
pub mod session;
pub mod template;
pub mod validate;
pub mod values;
pub mod yaml;
