//! The Tanzu CLI plugin descriptor (`info` JSON, `plugin.yaml`), integration-contracts.md §4.2.

use serde::{Deserialize, Serialize};

/// Plugin name: the binary is installed as `tanzu-kpipe` and run as `tanzu kpipe …`.
pub const NAME: &str = "kpipe";
/// `global`: kpipe renders offline and reads the Kubernetes context itself where it needs one.
pub const TARGET: &str = "global";
/// The Tanzu command group kpipe is listed under.
pub const GROUP: &str = "Build";
/// 0: native completion through cobra's `__complete` protocol (see `complete.rs`).
pub const COMPLETION_TYPE: i64 = 0;

/// The `info` JSON of a plugin (`PluginInfo` in tanzu-plugin-runtime). Field order follows the
/// contract; optional fields are omitted when empty, as the Go runtime's `omitempty` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub name: String,
    pub description: String,
    pub target: String,
    pub version: String,
    #[serde(rename = "buildSHA")]
    pub build_sha: String,
    pub digest: String,
    pub group: String,
    #[serde(rename = "docURL")]
    pub doc_url: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    pub completion_type: i64,
    pub plugin_runtime_version: String,
    pub binary_arch: String,
}

impl Descriptor {
    /// The descriptor of this binary: version from Cargo.toml with a leading `v`, the git
    /// commit recorded by build.rs (empty when git was unavailable), the digest left empty
    /// (filled by `kpipe plugin package`, which knows the packaged file).
    pub fn current() -> Descriptor {
        Descriptor {
            name: NAME.to_string(),
            description: env!("CARGO_PKG_DESCRIPTION").to_string(),
            target: TARGET.to_string(),
            version: version(),
            build_sha: env!("KPIPE_BUILD_SHA").to_string(),
            digest: String::new(),
            group: GROUP.to_string(),
            doc_url: env!("CARGO_PKG_HOMEPAGE").to_string(),
            hidden: false,
            completion_type: COMPLETION_TYPE,
            // Not a Go plugin: no tanzu-plugin-runtime module is linked.
            plugin_runtime_version: String::new(),
            binary_arch: arch().to_string(),
        }
    }

    /// One line of JSON, as `info` prints it.
    pub fn to_json_line(&self) -> String {
        // Serializing plain strings, bools and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The runtime's `ValidatePlugin` rules: non-empty name, description and group; a version
    /// that is `dev` or Go semver with a leading `v`.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        for (field, v) in [
            ("name", &self.name),
            ("description", &self.description),
            ("group", &self.group),
            ("version", &self.version),
        ] {
            if v.is_empty() {
                errs.push(format!("{field} is empty"));
            }
        }
        if !self.version.is_empty() && self.version != "dev" && !is_go_semver(&self.version) {
            errs.push(format!(
                "version {:?} is not semver with a leading v",
                self.version
            ));
        }
        errs
    }
}

/// `v` + the crate version.
pub fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The binary's architecture in Go's GOARCH naming (`amd64`, `arm64`, …).
pub fn arch() -> &'static str {
    goarch(std::env::consts::ARCH)
}

/// The binary's OS in Go's GOOS naming (`linux`, `darwin`, `windows`, …).
pub fn os() -> &'static str {
    goos(std::env::consts::OS)
}

fn goarch(rust: &'static str) -> &'static str {
    match rust {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

fn goos(rust: &'static str) -> &'static str {
    match rust {
        "macos" => "darwin",
        other => other,
    }
}

/// Go's `semver.IsValid`: `vMAJOR[.MINOR[.PATCH]][-pre][+build]`, no leading zeros.
fn is_go_semver(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let num = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(|p| num(p)) {
        return false;
    }
    // Shorthands (`v1`, `v1.2`) are valid only without prerelease or build suffixes.
    if parts.len() < 3 && (pre.is_some() || build.is_some()) {
        return false;
    }
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    pre.is_none_or(|p| {
        ident_ok(p)
            && p.split('.')
                .all(|id| !id.bytes().all(|b| b.is_ascii_digit()) || num(id))
    }) && build.is_none_or(ident_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_descriptor_is_valid() {
        let d = Descriptor::current();
        assert_eq!(d.validate(), Vec::<String>::new());
        assert!(d.version.starts_with('v'));
        let line = d.to_json_line();
        assert!(!line.contains('\n'));
        assert!(!line.contains("hidden"), "hidden is omitted when false");
        let back: Descriptor = serde_json::from_str(&line).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn go_semver() {
        for ok in [
            "v0.1.0",
            "v1",
            "v1.2",
            "v1.2.3-rc.1",
            "v1.2.3+build.5",
            "v10.0.0-alpha",
        ] {
            assert!(is_go_semver(ok), "{ok}");
        }
        for bad in [
            "0.1.0",
            "v",
            "v01.2.3",
            "v1.2.3.4",
            "v1.2-rc1",
            "v1.2.3-01",
            "v1.2.3-",
            "vx",
        ] {
            assert!(!is_go_semver(bad), "{bad}");
        }
    }

    #[test]
    fn go_names() {
        assert_eq!(goarch("x86_64"), "amd64");
        assert_eq!(goarch("aarch64"), "arm64");
        assert_eq!(goarch("riscv64"), "riscv64");
        assert_eq!(goos("macos"), "darwin");
        assert_eq!(goos("linux"), "linux");
    }

    #[test]
    fn validate_reports_empty_fields() {
        let mut d = Descriptor::current();
        d.group.clear();
        d.version = "1.0".into();
        let errs = d.validate();
        assert_eq!(errs.len(), 2, "{errs:?}");
    }
}
