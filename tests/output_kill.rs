//! Issue #7 point 5, "nothing lost": `render --output-dir` killed at any moment leaves every
//! file either its old content or its new content, never half a file; the only other files it
//! may leave are its own distinctly named temporary files (`.NAME.kpipe-tmp-PID`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kpipe() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("kpipe"))
}

/// A pipeline of `n` sessions, each one ConfigMap of ~`kb` KiB that changes with `--set v=…`.
fn pipeline(root: &Path, n: usize, kb: usize) -> PathBuf {
    let dir = root.join("pipe");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("values.yaml"), "v: x\n").unwrap();
    std::fs::write(
        dir.join("templates/cm.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{{{ session_name }}}}\ndata:\n  big: '{{{{ (values.v ~ \"-\") * {} }}}}'\n",
            kb * 1024 / 4
        ),
    )
    .unwrap();
    let sessions: String = (0..n)
        .map(|i| format!("- session_name: s{i:04}\n"))
        .collect();
    std::fs::write(dir.join("sessions.yaml"), sessions).unwrap();
    dir
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn render(dir: &Path, out: &Path, v: &str) {
    let st = kpipe()
        .arg("render")
        .arg(dir)
        .arg("--output-dir")
        .arg(out)
        .args(["--set", &format!("v={v}"), "--no-lint"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}

fn is_temp(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    name.starts_with('.') && name.contains(".kpipe-tmp-")
}

/// Sessions rendered by the kill test (one file each).
const N: usize = 80;

#[test]
fn killed_mid_write_leaves_old_or_new_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = pipeline(tmp.path(), N, 64);
    let old_ref = tmp.path().join("old");
    let new_ref = tmp.path().join("new");
    render(&dir, &old_ref, "old");
    render(&dir, &new_ref, "new");
    let old = files(&old_ref);
    let new = files(&new_ref);
    assert_eq!(old.len(), N);
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );

    // Wait until the first session's file is being replaced, then kill after a growing extra
    // delay, so kills land before, during and after the writes.
    let mut mixed = 0;
    let mut kills = 0;
    let first = old_ref.join("s0000");
    let first_file = std::fs::read_dir(&first)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    for extra in [0u64, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] {
        let out = tmp.path().join(format!("out-{extra}-{kills}"));
        copy(&old_ref, &out);
        let watched = out.join("s0000");
        let old_first = std::fs::read(watched.join(&first_file)).unwrap();
        let mut child = kpipe()
            .arg("render")
            .arg(&dir)
            .arg("--output-dir")
            .arg(&out)
            .args(["--set", "v=new", "--no-lint"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut finished = false;
        loop {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            let writing = std::fs::read_dir(&watched).unwrap().any(|e| {
                let e = e.unwrap();
                is_temp(Path::new(&e.file_name()))
            }) || std::fs::read(watched.join(&first_file)).ok().as_ref()
                != Some(&old_first);
            if writing || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_millis(extra));
        finished |= child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        let now = files(&out);
        let (mut n_old, mut n_new) = (0, 0);
        for (path, bytes) in &now {
            if is_temp(path) {
                continue;
            }
            if old.get(path) == Some(bytes) {
                n_old += 1;
            } else if new.get(path) == Some(bytes) {
                n_new += 1;
            } else {
                panic!(
                    "after a kill {extra} ms into the writes: {} is neither the old nor the new content ({} bytes)",
                    path.display(),
                    bytes.len()
                );
            }
        }
        assert_eq!(
            n_old + n_new,
            N,
            "after a kill {extra} ms into the writes: files lost: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        std::fs::remove_dir_all(&out).unwrap();
        if finished {
            assert_eq!(n_new, N);
            break;
        }
        kills += 1;
        if n_old > 0 && n_new > 0 {
            mixed += 1;
        }
    }
    println!("{kills} kill(s), {mixed} of them mid-write");
    assert!(kills > 0, "every run finished before the first kill");
    assert!(mixed > 0, "no kill landed while files were being replaced");
}

fn copy(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// A failed session among many writes nothing, even to the sessions rendered before it.
#[test]
fn a_failed_session_among_many_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = pipeline(tmp.path(), 40, 1);
    let out = tmp.path().join("out");
    render(&dir, &out, "old");
    let before = files(&out);
    // Session s0039 (the last) fails: its template requires a value only it lacks.
    std::fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ session_name }}\ndata:\n  v: {{ values.v }}\n{% if session_name == 's0039' %}\n  x: {{ values.missing }}\n{% endif %}\n",
    )
    .unwrap();
    let o = kpipe()
        .arg("render")
        .arg(&dir)
        .arg("--output-dir")
        .arg(&out)
        .args(["--set", "v=new"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("(session s0039)"),
        "{err}"
    );
    assert_eq!(files(&out), before, "nothing written");
}
