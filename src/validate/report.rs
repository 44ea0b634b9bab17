//! Writers for findings: one line each (`file:line:col: error[code]: message`) or JSON
//! (schema: `schemas/lint-report.schema.json`).

use super::{Finding, Severity};
use serde::Serialize;
use std::io::{self, Write};

/// Counts of a lint run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    /// Objects checked.
    pub resources: usize,
}

impl Summary {
    pub fn of(findings: &[Finding], resources: usize) -> Summary {
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        Summary {
            errors,
            warnings: findings.len() - errors,
            resources,
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One finding as a text line (no newline).
pub fn line(f: &Finding) -> String {
    let loc = match &f.loc {
        Some(l) => l.to_string(),
        None => "-:0:0".to_string(),
    };
    match &f.resource {
        Some(r) => format!("{loc}: {}[{}]: {r}: {}", f.severity, f.code, f.message),
        None => format!("{loc}: {}[{}]: {}", f.severity, f.code, f.message),
    }
}

/// Writes findings one per line, then the summary line.
pub fn write_text(out: &mut dyn Write, findings: &[Finding], resources: usize) -> io::Result<()> {
    for f in findings {
        writeln!(out, "{}", line(f))?;
    }
    let s = Summary::of(findings, resources);
    writeln!(
        out,
        "lint: {}, {} in {}",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.resources, "resource")
    )
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    resource: Option<&'a str>,
    path: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    summary: Summary,
    findings: Vec<JsonFinding<'a>>,
}

/// The JSON report (pretty-printed, trailing newline).
pub fn to_json(findings: &[Finding], resources: usize) -> String {
    let report = JsonReport {
        version: 1,
        summary: Summary::of(findings, resources),
        findings: findings
            .iter()
            .map(|f| JsonFinding {
                severity: f.severity,
                code: f.code,
                message: &f.message,
                file: f.loc.as_ref().map(|l| l.file.as_str()),
                line: f.loc.as_ref().map(|l| l.line),
                column: f.loc.as_ref().map(|l| l.col),
                resource: f.resource.as_deref(),
                path: crate::yaml::path_string(&f.path),
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
