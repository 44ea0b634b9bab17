//! Template rendering: a random template, partial and values file rendered beside the bundled
//! example's files (`fixtures/ml-pipeline`: `values.yaml`, `templates/*.yaml`) through
//! `Renderer::from_sources` + `Pipeline::from_parts`, as `kpipe template` does.
//!
//! Input: flags byte, then NUL-separated texts: template (`templates/fuzz.yaml`), values
//! (`fuzz-values.yaml`, after the example's), partial (`templates/_fuzz.yaml`), session lines
//! (`NAME` on the first line, then `KEY=VALUE` variables).
#![no_main]

mod common;

use kpipe::render::{Pipeline, RenderRequest};
use kpipe::session::{self, SessionOptions};
use kpipe::template::{Renderer, Root, SourceFile, TemplateOptions};
use kpipe::values::ValuesFile;
use kpipe::yaml::PathSeg;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

const EXAMPLE: [(&str, &str); 3] = [
    (
        "templates/app.yaml",
        include_str!("../../fixtures/ml-pipeline/templates/app.yaml"),
    ),
    (
        "templates/job.yaml",
        include_str!("../../fixtures/ml-pipeline/templates/job.yaml"),
    ),
    (
        "templates/pipeline.yaml",
        include_str!("../../fixtures/ml-pipeline/templates/pipeline.yaml"),
    ),
];
const EXAMPLE_VALUES: &str = include_str!("../../fixtures/ml-pipeline/values.yaml");

fn values_file(display: &str, text: &str) -> ValuesFile {
    ValuesFile {
        path: PathBuf::from(display),
        display: display.to_string(),
        text: text.to_string(),
        templated: text.contains("${") || text.contains("{{") || text.contains("{%"),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > common::MAX_INPUT || data.is_empty() {
        return;
    }
    let flags = data[0];
    let parts = common::split(&data[1..], 4);
    let (template, values, partial, session_text) = (&parts[0], &parts[1], &parts[2], &parts[3]);

    // The example's templates are always includable; rendered too when flag bit 0 is set
    // (slower, so not on every run).
    let mut sources: Vec<SourceFile> = EXAMPLE
        .iter()
        .map(|(name, text)| SourceFile {
            name: name.to_string(),
            aliases: vec![name.trim_start_matches("templates/").to_string()],
            text: text.to_string(),
            output: flags & 1 != 0,
        })
        .collect();
    sources.push(SourceFile {
        name: "templates/fuzz.yaml".into(),
        aliases: vec!["fuzz.yaml".into()],
        text: template.clone(),
        output: true,
    });
    sources.push(SourceFile {
        name: "templates/_fuzz.yaml".into(),
        aliases: vec!["_fuzz.yaml".into()],
        text: partial.clone(),
        output: false,
    });
    let topts = TemplateOptions {
        fuel: 200_000,
        ..Default::default()
    };
    let Ok(renderer) = Renderer::from_sources(sources, &topts) else {
        return;
    };

    let mut lines = session_text.lines();
    let name = lines.next().filter(|n| !n.is_empty()).map(str::to_string);
    let vars: Vec<(String, String)> = lines.filter_map(|l| session::parse_var(l).ok()).collect();
    let Ok(sessions) = session::build(&SessionOptions {
        session: name,
        vars,
        ..SessionOptions::default()
    }) else {
        return;
    };

    let mut files = Vec::new();
    if flags & 2 == 0 {
        files.push(values_file("values.yaml", EXAMPLE_VALUES));
    }
    files.push(values_file("fuzz-values.yaml", values));
    let req = RenderRequest {
        namespace: (flags & 4 != 0).then(|| "fuzz-ns".to_string()),
        limits: common::limits(),
        template: topts,
        ..RenderRequest::default()
    };
    let Ok(root) = Root::new(Path::new(".")) else {
        return;
    };
    let Ok(pipeline) = Pipeline::from_parts(root, renderer, files, sessions, &req) else {
        return;
    };
    for s in pipeline.sessions() {
        let Ok(set) = pipeline.render_session(s) else {
            continue;
        };
        let _ = set.to_yaml();
        let _ = set.digest();
        // Finding positions re-renders the template: as `kpipe lint` does for its findings.
        for r in set.resources.iter().take(4) {
            let path: Vec<PathSeg> = match r.object.as_mapping().and_then(|m| m.keys().last()) {
                Some(k) => vec![PathSeg::Key(kpipe::yaml::key_text(k))],
                None => Vec::new(),
            };
            let _ = pipeline.locate(s, r, &path);
        }
        let _ = pipeline.locate_value(s, &[PathSeg::Key("image".into())]);
    }
});
