//! The JSON report (schema: `schemas/diff-report.schema.json`).

use super::{block_plain, Texts};
use crate::diff::{DiffResult, Totals};
use serde::Serialize;
use std::io::{self, Write};

/// Bumped on incompatible changes to the report's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    changed: bool,
    totals: Totals,
    sessions: Vec<Session<'a>>,
}

#[derive(Serialize)]
struct Session<'a> {
    session: &'a str,
    totals: Totals,
    resources: Vec<Resource<'a>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resource<'a> {
    op: &'static str,
    api_version: &'a str,
    group: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    source: Option<String>,
    change_groups: &'a [String],
    changed_paths: &'a [String],
    reason: Option<&'a str>,
    /// The kapp-style block (masked unless `--show-secrets`), for create/update/delete/conflict.
    diff: Option<String>,
}

pub fn write(
    result: &DiffResult,
    prepared: &[Vec<Option<Texts>>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        changed: result.has_changes(),
        totals: result.totals(),
        sessions: result
            .sessions
            .iter()
            .zip(prepared)
            .map(|(s, texts)| Session {
                session: &s.session,
                totals: Totals::of(&s.changes),
                warnings: &s.warnings,
                resources: s
                    .changes
                    .iter()
                    .zip(texts)
                    .map(|(c, t)| Resource {
                        op: c.op.as_str(),
                        api_version: &c.api_version,
                        group: &c.id.group,
                        kind: &c.id.kind,
                        namespace: c.id.namespace.as_deref(),
                        name: &c.id.name,
                        source: c.source.as_ref().map(|s| s.to_string()),
                        change_groups: &c.change_groups,
                        changed_paths: &c.changed_paths,
                        reason: c.reason.as_deref(),
                        diff: t.as_ref().map(block_plain),
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    writeln!(out)
}
