//! `generate-docs`: one Markdown file per visible command, named as the Tanzu runtime names
//! them (`tanzu_kpipe.md`, `tanzu_kpipe_render.md`, …), from the clap definitions.

use anyhow::{Context, Result};
use clap::Command;
use std::path::{Path, PathBuf};

/// The Tanzu runtime's default docs folder.
pub const DEFAULT_DOCS_DIR: &str = "docs/cli/commands";

/// Writes the docs of `root` and its visible subcommands into `dir`; returns the files.
pub fn generate(root: Command, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut root = root.bin_name("tanzu kpipe");
    root.build();
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    let mut files = Vec::new();
    write(&root, "tanzu kpipe", dir, &mut files)?;
    Ok(files)
}

fn write(cmd: &Command, path: &str, dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut cmd = cmd.clone();
    let mut text = format!("## {path}\n\n");
    if let Some(about) = cmd.get_about() {
        text.push_str(&format!("{about}\n\n"));
    }
    text.push_str("```\n");
    text.push_str(&cmd.render_long_help().to_string());
    text.push_str("```\n");
    let subs: Vec<Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .cloned()
        .collect();
    if !subs.is_empty() {
        text.push_str("\n### See also\n\n");
        for s in &subs {
            let child = format!("{path} {}", s.get_name());
            text.push_str(&format!(
                "* [{child}]({}) - {}\n",
                file_name(&child),
                s.get_about().map(|a| a.to_string()).unwrap_or_default()
            ));
        }
    }
    let file = dir.join(file_name(path));
    crate::output::write_atomic(&file, text.as_bytes())?;
    files.push(file);
    for s in &subs {
        write(s, &format!("{path} {}", s.get_name()), dir, files)?;
    }
    Ok(())
}

fn file_name(path: &str) -> String {
    format!("{}.md", path.replace([' ', '-'], "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_per_visible_command() {
        let root = Command::new("kpipe")
            .about("top")
            .subcommand(Command::new("render").about("Render"))
            .subcommand(Command::new("info").hide(true));
        let tmp = tempfile::tempdir().unwrap();
        let files = generate(root, tmp.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, vec!["tanzu_kpipe.md", "tanzu_kpipe_render.md"]);
        let top = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            top.contains("[tanzu kpipe render](tanzu_kpipe_render.md)"),
            "{top}"
        );
    }
}
