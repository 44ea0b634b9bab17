//! kpipe: render, lint, diff and deploy per-session Argo Workflow / kapp-controller pipelines.
//!
//! Stages (see DESIGN.md): `values` → `session` → `template` → `manifest` → `validate` →
//! `output` / `diff` / `deploy`. Each module owns one stage; data moves forward only.

pub mod cli;
pub mod deploy;
pub mod exit;
pub mod manifest;
pub mod output;
pub mod plugin;
pub mod render;
pub mod session;
pub mod template;
pub mod values;
pub mod yaml;
