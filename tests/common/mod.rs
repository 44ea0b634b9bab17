//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared corpus: `$KPIPE_CORPUS` (CI sets it; a missing folder fails the test), else
/// `../shared/corpus` when present, else `None` after printing that the test skipped.
pub fn corpus() -> Option<PathBuf> {
    match std::env::var_os("KPIPE_CORPUS") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.is_dir(), "KPIPE_CORPUS={} is not a folder", p.display());
            Some(p)
        }
        None => {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
            if p.is_dir() {
                Some(p)
            } else {
                println!("skipped: KPIPE_CORPUS is not set and ../shared/corpus does not exist");
                None
            }
        }
    }
}

/// Every `.yaml`/`.yml` file under `dir`, sorted.
#[allow(dead_code)] // not every test binary that includes `common` lists YAML files
pub fn yaml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let p = entry.path();
        if p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p.to_path_buf());
        }
    }
    out.sort();
}
