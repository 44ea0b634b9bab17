//! The Tanzu CLI plugin contract, driven through the built binary.

use assert_cmd::Command;
use serde_json::Value as Json;
use std::path::Path;

fn kpipe() -> Command {
    let mut c = Command::cargo_bin("kpipe").unwrap();
    // The plugin commands must not depend on the Tanzu CLI's environment.
    c.env_remove("TANZU_BIN")
        .env_remove("TANZU_CONFIG_NEXT_GEN")
        .env_remove("TANZU_CLI_INVOKED_COMMAND");
    c
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn info() -> Json {
    let text = stdout(kpipe().arg("info"));
    assert_eq!(text.lines().count(), 1, "info prints one line: {text:?}");
    serde_json::from_str(&text).unwrap()
}

fn cargo_version() -> String {
    let toml =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("version in Cargo.toml");
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn info_is_one_line_of_valid_json() {
    let i = info();
    assert_eq!(i["name"], "kpipe");
    assert_eq!(i["target"], "global");
    assert_eq!(i["group"], "Build");
    assert_eq!(i["completionType"], 0);
    assert_eq!(i["version"], format!("v{}", cargo_version()));
    assert!(!i["description"].as_str().unwrap().is_empty());
    let arch = i["binaryArch"].as_str().unwrap();
    assert!(
        ["amd64", "arm64", "386", "arm", "ppc64le", "s390x", "riscv64"].contains(&arch),
        "{arch}"
    );
    let sha = i["buildSHA"].as_str().unwrap();
    assert!(sha.chars().all(|c| c.is_ascii_hexdigit()), "{sha}");
    for key in ["digest", "docURL", "pluginRuntimeVersion"] {
        assert!(i[key].is_string(), "{key}");
    }
    assert!(i.get("hidden").is_none(), "hidden is omitted when false");
}

#[test]
fn plugin_yaml_agrees_with_info() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("plugin.yaml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let file: Json = serde_json::to_value(&yaml).unwrap();
    let info = info();
    let (Json::Object(f), Json::Object(i)) = (&file, &info) else {
        panic!("both are maps");
    };
    // Build-specific fields are empty in the file and filled by the build / by `plugin package`.
    let per_build = ["buildSHA", "digest", "binaryArch"];
    for (k, v) in i {
        let Some(fv) = f.get(k) else {
            panic!("plugin.yaml lacks {k} (info has {v})");
        };
        if per_build.contains(&k.as_str()) {
            assert_eq!(fv, "", "plugin.yaml {k} stays empty");
        } else {
            assert_eq!(fv, v, "plugin.yaml {k} differs from `kpipe info`");
        }
    }
    for k in f.keys() {
        assert!(i.contains_key(k), "plugin.yaml has {k}, info does not");
    }
    assert_eq!(f["version"], format!("v{}", cargo_version()));
}

#[test]
fn describe_version_post_install() {
    let i = info();
    assert_eq!(
        stdout(kpipe().arg("describe")).trim_end(),
        i["description"].as_str().unwrap()
    );
    assert_eq!(
        stdout(kpipe().arg("version")).trim_end(),
        i["version"].as_str().unwrap()
    );
    assert_eq!(stdout(kpipe().arg("post-install")), "");
}

#[test]
fn contract_commands_are_hidden_from_help() {
    let help = stdout(kpipe().arg("--help"));
    for hidden in [
        "info",
        "describe",
        "post-install",
        "generate-docs",
        "__complete",
    ] {
        assert!(
            !help.lines().any(|l| l.trim_start().starts_with(hidden)),
            "{hidden} is listed:\n{help}"
        );
    }
    assert!(help.contains("template"));
}

#[test]
fn works_under_the_tanzu_cli_and_without_it() {
    let plain = stdout(kpipe().arg("info"));
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config-ng.yaml");
    std::fs::write(&config, "contexts: [not: valid: yaml").unwrap();
    let under = stdout(
        kpipe()
            .arg("info")
            .env("TANZU_BIN", tmp.path().join("no-such-tanzu"))
            .env("TANZU_CONFIG_NEXT_GEN", &config)
            .env("TANZU_CLI_INVOKED_COMMAND", "kpipe"),
    );
    assert_eq!(plain, under);
    for cmd in ["version", "describe", "post-install"] {
        kpipe()
            .arg(cmd)
            .env("TANZU_BIN", tmp.path().join("no-such-tanzu"))
            .env("TANZU_CONFIG_NEXT_GEN", &config)
            .assert()
            .success();
    }
}

fn complete(args: &[&str]) -> Vec<String> {
    let out = kpipe().arg("__complete").args(args).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Completion ended with directive"), "{err}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn cobra_style_completion() {
    let top = complete(&[""]);
    assert_eq!(top.last().unwrap(), ":4");
    let names: Vec<&str> = top.iter().map(|l| l.split('\t').next().unwrap()).collect();
    assert!(names.contains(&"render"), "{top:?}");
    assert!(names.contains(&"template"), "{top:?}");
    assert!(
        !names.contains(&"info"),
        "hidden commands are not offered: {top:?}"
    );

    let flags = complete(&["render", "--output"]);
    let flags: Vec<&str> = flags
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(flags, vec!["--output", "--output-dir", ":4"]);

    assert_eq!(complete(&["render", "-o", ""]), vec!["yaml", "json", ":4"]);
    // Paths are left to the shell's file completion.
    assert_eq!(complete(&["template", "-f", ""]), vec![":0"]);
    assert_eq!(complete(&["render", ""]), vec![":0"]);
}

#[test]
fn package_lays_out_a_local_plugin_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("artifacts");
    let printed = stdout(kpipe().args(["plugin", "package", "--out"]).arg(&out_dir));
    assert!(
        printed.contains("tanzu plugin install kpipe --local"),
        "{printed}"
    );
    let i = info();
    let version = i["version"].as_str().unwrap();

    let manifest: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(out_dir.join("plugin_manifest.yaml")).unwrap(),
    )
    .unwrap();
    let plugins = manifest["plugins"].as_sequence().unwrap();
    assert_eq!(plugins.len(), 1);
    let p = &plugins[0];
    assert_eq!(p["name"], "kpipe");
    assert_eq!(p["target"], "global");
    assert_eq!(p["description"], i["description"].as_str().unwrap());
    assert_eq!(p["versions"][0], version);

    let os = match std::env::consts::OS {
        "macos" => "darwin",
        o => o,
    };
    let ext = if os == "windows" { ".exe" } else { "" };
    let bin = out_dir.join("global/kpipe").join(version).join(format!(
        "tanzu-kpipe-{os}_{}{ext}",
        i["binaryArch"].as_str().unwrap()
    ));
    assert!(bin.is_file(), "{} missing", bin.display());

    // The descriptor beside the manifest carries the binary's digest.
    let desc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(out_dir.join("kpipe/plugin.yaml")).unwrap())
            .unwrap();
    assert_eq!(desc["version"], version);
    let digest = desc["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);

    // The copy is the plugin: it runs `info` and answers the same.
    let copied = std::process::Command::new(&bin)
        .arg("info")
        .output()
        .unwrap();
    assert!(copied.status.success());
    let copied: Json = serde_json::from_slice(&copied.stdout).unwrap();
    assert_eq!(copied, i);
}

#[test]
fn package_needs_out() {
    kpipe().args(["plugin", "package"]).assert().code(2);
}

#[test]
fn generate_docs_writes_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("docs");
    kpipe()
        .args(["generate-docs", "--docs-dir"])
        .arg(&dir)
        .assert()
        .success()
        .stdout("");
    let top = std::fs::read_to_string(dir.join("tanzu_kpipe.md")).unwrap();
    assert!(top.contains("tanzu kpipe render"), "{top}");
    assert!(dir.join("tanzu_kpipe_template.md").is_file());
    assert!(!dir.join("tanzu_kpipe_info.md").exists());
}
