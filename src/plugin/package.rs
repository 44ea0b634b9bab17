//! `kpipe plugin package --out DIR`: a folder `tanzu plugin install kpipe --local DIR` accepts
//! (integration-contracts.md §4.3):
//!
//! ```text
//! DIR/plugin_manifest.yaml                                   plugins: [{name, target, description, versions: [vX]}]
//! DIR/kpipe/plugin.yaml                                      the descriptor, with the binary's digest
//! DIR/<target>/kpipe/<version>/tanzu-kpipe-<os>_<arch>[.exe] a copy of the running binary
//! ```

use super::descriptor::{self, Descriptor};
use crate::exit::EnvError;
use crate::manifest::sha256_hex;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
struct Manifest<'a> {
    plugins: Vec<ManifestPlugin<'a>>,
}

#[derive(Serialize)]
struct ManifestPlugin<'a> {
    name: &'a str,
    target: &'a str,
    description: &'a str,
    versions: Vec<&'a str>,
}

/// What `package` wrote.
#[derive(Debug)]
pub struct Packaged {
    pub manifest: PathBuf,
    pub descriptor: PathBuf,
    pub binary: PathBuf,
}

/// The binary's file name inside the layout: `tanzu-<name>-<os>_<arch>[.exe]`.
pub fn binary_name(d: &Descriptor, os: &str) -> String {
    let ext = if os == "windows" { ".exe" } else { "" };
    format!("tanzu-{}-{os}_{}{ext}", d.name, d.binary_arch)
}

/// Lays out `out` with a copy of `binary` (normally `std::env::current_exe()`).
pub fn package(out: &Path, binary: &Path) -> Result<Packaged> {
    let bytes = std::fs::read(binary).map_err(|e| {
        EnvError(format!(
            "{}: cannot read the running binary: {e}",
            binary.display()
        ))
    })?;
    let mut d = Descriptor::current();
    d.digest = sha256_hex(&bytes);
    let dest_dir = out.join(&d.target).join(&d.name).join(&d.version);
    let dest = dest_dir.join(binary_name(&d, descriptor::os()));
    std::fs::create_dir_all(&dest_dir)
        .with_context(|| format!("{}: cannot create folder", dest_dir.display()))?;
    // Copying a file onto itself would truncate it.
    if let (Ok(a), Ok(b)) = (binary.canonicalize(), dest.canonicalize()) {
        if a == b {
            anyhow::bail!(
                "{}: is the running binary; package into another folder",
                dest.display()
            );
        }
    }
    crate::output::write_atomic(&dest, &bytes)?;
    set_executable(&dest)?;

    let manifest = Manifest {
        plugins: vec![ManifestPlugin {
            name: &d.name,
            target: &d.target,
            description: &d.description,
            versions: vec![&d.version],
        }],
    };
    let manifest_path = out.join("plugin_manifest.yaml");
    let text = serde_yaml::to_string(&manifest).context("plugin_manifest.yaml")?;
    crate::output::write_atomic(&manifest_path, text.as_bytes())?;

    let desc_dir = out.join(&d.name);
    std::fs::create_dir_all(&desc_dir)
        .with_context(|| format!("{}: cannot create folder", desc_dir.display()))?;
    let desc_path = desc_dir.join("plugin.yaml");
    let text = serde_yaml::to_string(&d).context("plugin.yaml")?;
    crate::output::write_atomic(&desc_path, text.as_bytes())?;

    Ok(Packaged {
        manifest: manifest_path,
        descriptor: desc_path,
        binary: dest,
    })
}

#[cfg(unix)]
fn set_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("{}: cannot make executable", p.display()))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let fake = tmp.path().join("fake-bin");
        std::fs::write(&fake, b"#!/bin/sh\n").unwrap();
        let out = tmp.path().join("artifacts");
        let p = package(&out, &fake).unwrap();
        let d = Descriptor::current();
        let expect = out
            .join("global/kpipe")
            .join(&d.version)
            .join(binary_name(&d, descriptor::os()));
        assert_eq!(p.binary, expect);
        assert_eq!(std::fs::read(&p.binary).unwrap(), b"#!/bin/sh\n");
        let m: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&p.manifest).unwrap()).unwrap();
        assert_eq!(m["plugins"][0]["name"], "kpipe");
        assert_eq!(m["plugins"][0]["versions"][0], d.version.as_str());
        let desc: Descriptor =
            serde_yaml::from_str(&std::fs::read_to_string(&p.descriptor).unwrap()).unwrap();
        assert_eq!(desc.digest, sha256_hex(b"#!/bin/sh\n"));
        // Packaging again over the same folder is fine.
        package(&out, &fake).unwrap();
    }

    #[test]
    fn windows_binary_name() {
        let d = Descriptor::current();
        assert!(binary_name(&d, "windows").ends_with(".exe"));
        assert!(binary_name(&d, "linux").starts_with("tanzu-kpipe-linux_"));
    }

    #[test]
    fn missing_binary_is_an_environment_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = package(tmp.path(), &tmp.path().join("nope")).unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::ENVIRONMENT);
    }
}
