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
