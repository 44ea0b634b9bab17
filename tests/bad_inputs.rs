//! The catalogue of hostile and broken inputs (`tests/bad_inputs/<NN-name>/`), run by one
//! table-driven test.
//!
//! Each case folder holds its inputs (a pipeline folder layout: `values.yaml`, `templates/…`,
//! `sessions.yaml`, `live.yaml`, …) and an `expect` file of `key: value` lines (`#` comments):
//!
//! | key | meaning |
//! |---|---|
//! | `args:` | the command line after `kpipe`, split on blanks; `{dir}` is the case folder (a copy, named `case`), `{tmp}` a scratch folder, `{out}` an output folder seeded with old content |
//! | `exit:` | the exit code |
//! | `stderr:` | a fragment stderr must contain (repeatable) |
//! | `stdout:` | a fragment stdout must contain (repeatable) |
//! | `stderr-not:` / `stdout-not:` | a fragment that must not appear (secrets; repeatable) |
//! | `at:` | `file:line` the first error line must name (after `{dir}/`) |
//! | `first-line:` | a fragment the first stderr line must contain, instead of the `error:` prefix rule |
//! | `output-dir-untouched: true` | `{out}` holds exactly what it held before |
//! | `stub:` | put recording stand-ins for kubectl and kapp first on PATH (and in `KPIPE_KUBECTL`/`KPIPE_KAPP`); the value is a shell line they run after recording (e.g. `echo 'Bearer abc' >&2; exit 1`) |
//! | `no-calls: true` | the stand-ins were never run (nothing applied, nothing fetched) |
//! | `env:` | `KEY=VALUE` set for the run (repeatable) |
//! | `symlink:` | `LINK -> TARGET` created in the copy before the run (`{dir}`, `{tmp}` expand in TARGET) |
//! | `stdin:` | text fed on stdin (`\n` for newlines) |
//! | `timeout:` | seconds the run may take (default 60): a hang is a failure |
//!
//! Every case also checks: no panic text on stderr, and for exit 2 that stderr's first line
//! starts with `error:` (unless `first-line:` says otherwise).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Default, Debug)]
struct Expect {
    args: Vec<String>,
    exit: Option<i32>,
    stderr: Vec<String>,
    stdout: Vec<String>,
    stderr_not: Vec<String>,
    stdout_not: Vec<String>,
    at: Option<String>,
    first_line: Option<String>,
    output_untouched: bool,
    stub: Option<String>,
    no_calls: bool,
    env: Vec<(String, String)>,
    symlinks: Vec<(String, String)>,
    stdin: Option<String>,
    timeout: u64,
}

fn parse_expect(text: &str) -> Result<Expect, String> {
    let mut e = Expect {
        timeout: 60,
        ..Expect::default()
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("expect:{}: not `key: value`", i + 1));
        };
        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
        match key.trim() {
            "args" => e.args = value.split_whitespace().map(str::to_string).collect(),
            "exit" => e.exit = Some(value.trim().parse().map_err(|_| "bad exit")?),
            "stderr" => e.stderr.push(value),
            "stdout" => e.stdout.push(value),
            "stderr-not" => e.stderr_not.push(value),
            "stdout-not" => e.stdout_not.push(value),
            "at" => e.at = Some(value),
            "first-line" => e.first_line = Some(value),
            "output-dir-untouched" => e.output_untouched = value.trim() == "true",
            "stub" => e.stub = Some(value),
            "no-calls" => e.no_calls = value.trim() == "true",
            "env" => {
                let (k, v) = value.split_once('=').ok_or("env: KEY=VALUE")?;
                e.env.push((k.to_string(), v.to_string()));
            }
            "symlink" => {
                let (l, t) = value.split_once(" -> ").ok_or("symlink: LINK -> TARGET")?;
                e.symlinks
                    .push((l.trim().to_string(), t.trim().to_string()));
            }
            "stdin" => e.stdin = Some(value.replace("\\n", "\n")),
            "timeout" => e.timeout = value.trim().parse().map_err(|_| "bad timeout")?,
            other => return Err(format!("expect:{}: unknown key {other:?}", i + 1)),
        }
    }
    if e.args.is_empty() || e.exit.is_none() {
        return Err("expect needs `args:` and `exit:`".into());
    }
    Ok(e)
}

/// Copies a case folder, keeping symlinks as symlinks.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "expect" {
            continue;
        }
        let target = to.join(&name);
        let ft = entry.file_type().unwrap();
        if ft.is_symlink() {
            let link = std::fs::read_link(entry.path()).unwrap();
            std::os::unix::fs::symlink(link, &target).unwrap();
        } else if ft.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut v = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_type().is_file() {
            v.insert(
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            );
        }
    }
    v
}

const STUB: &str =
    "#!/bin/sh\nprintf '%s %s\\n' \"$(basename \"$0\")\" \"$*\" >> '{calls}'\n{body}\n";

fn expand(s: &str, tmp: &Path) -> String {
    s.replace("{dir}", "case")
        .replace("{tmp}", &tmp.join("scratch").display().to_string())
        .replace("{out}", &tmp.join("out").display().to_string())
}

fn run_case(case: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(case.join("expect")).map_err(|e| format!("expect: {e}"))?;
    let e = parse_expect(&text)?;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    copy_tree(case, &root.join("case"));
    std::fs::create_dir_all(root.join("scratch")).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    for (link, target) in &e.symlinks {
        let l = root.join("case").join(link);
        std::fs::create_dir_all(l.parent().unwrap()).unwrap();
        let t = target
            .replace("{dir}", &root.join("case").display().to_string())
            .replace("{tmp}", &root.join("scratch").display().to_string());
        std::os::unix::fs::symlink(t, l).unwrap();
    }
    // An output folder holding an earlier render, and a file that is not ours.
    let out = root.join("out");
    std::fs::create_dir_all(out.join("s1")).unwrap();
    std::fs::write(out.join("s1/01-configmap-old.yaml"), "old: true\n").unwrap();
    std::fs::write(out.join("s1/notes.txt"), "mine\n").unwrap();
    let before = snapshot(&out);

    let bin = assert_cmd::cargo::cargo_bin("kpipe");
    let mut cmd = Command::new(bin);
    cmd.current_dir(root)
        .args(e.args.iter().map(|a| expand(a, root)))
        .env("HOME", root.join("home"))
        .env("KUBECONFIG", root.join("home/no-kubeconfig"))
        .env("KUBECACHEDIR", root.join("home/kube-cache"))
        .env("NO_COLOR", "1")
        .env_remove("TANZU_BIN")
        .env_remove("TANZU_CONFIG_NEXT_GEN")
        .env_remove("KPIPE_KUBECTL")
        .env_remove("KPIPE_KAPP")
        .env_remove("RUST_BACKTRACE")
        .stdin(if e.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let calls = root.join("calls");
    if let Some(body) = &e.stub {
        let bindir = root.join("bin");
        std::fs::create_dir_all(&bindir).unwrap();
        for tool in ["kubectl", "kapp"] {
            let p = bindir.join(tool);
            let script = STUB
                .replace("{calls}", &calls.display().to_string())
                .replace("{body}", body);
            std::fs::write(&p, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bindir.clone()];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap())
            .env("KPIPE_KUBECTL", bindir.join("kubectl"))
            .env("KPIPE_KAPP", bindir.join("kapp"));
    }
    for (k, v) in &e.env {
        cmd.env(k, expand(v, root));
    }
    let mut child = cmd.spawn().map_err(|err| format!("spawn: {err}"))?;
    if let Some(input) = &e.stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.clone();
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    // Read both pipes on threads so a chatty failure cannot block; enforce the timeout.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let he = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(e.timeout) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {}s (a hang?)", e.timeout));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = String::from_utf8_lossy(&ho.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&he.join().unwrap()).into_owned();

    let mut problems = Vec::new();
    let code = status.code();
    if code != e.exit {
        problems.push(format!("exit {code:?}, want {:?}", e.exit));
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack overflow"] {
        if stderr.contains(bad) {
            problems.push(format!("stderr shows {bad:?}"));
        }
    }
    let first = stderr.lines().next().unwrap_or("");
    match &e.first_line {
        Some(f) => {
            let f = expand(f, root);
            if !first.contains(&f) {
                problems.push(format!("first stderr line {first:?} lacks {f:?}"));
            }
        }
        None if code == Some(2) && !first.starts_with("error: ") => {
            problems.push(format!(
                "first stderr line {first:?} does not start with `error: `"
            ));
        }
        None => {}
    }
    if let Some(at) = &e.at {
        let want = format!("case/{at}:");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error: ") || l.contains(": error["))
            .unwrap_or("");
        if !line.contains(&want) {
            problems.push(format!("error line {line:?} does not name {want:?}"));
        }
    }
    for f in &e.stderr {
        let f = expand(f, root);
        if !stderr.contains(&f) {
            problems.push(format!("stderr lacks {f:?}"));
        }
    }
    for f in &e.stdout {
        let f = expand(f, root);
        if !stdout.contains(&f) {
            problems.push(format!("stdout lacks {f:?}"));
        }
    }
    for f in &e.stderr_not {
        if stderr.contains(f.as_str()) {
            problems.push(format!("stderr shows {f:?}"));
        }
    }
    for f in &e.stdout_not {
        if stdout.contains(f.as_str()) {
            problems.push(format!("stdout shows {f:?}"));
        }
    }
    if e.output_untouched && snapshot(&out) != before {
        problems.push(format!(
            "output folder changed: {:?}",
            snapshot(&out).keys().collect::<Vec<_>>()
        ));
    }
    if e.no_calls && calls.exists() {
        problems.push(format!(
            "stand-ins were run: {}",
            std::fs::read_to_string(&calls).unwrap_or_default()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let cut = |s: &str| s.chars().take(2000).collect::<String>();
        Err(format!(
            "{}\n    stderr: {}\n    stdout: {}",
            problems.join("\n  "),
            cut(&stderr),
            cut(&stdout)
        ))
    }
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("expect").is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn catalogue() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    // KPIPE_BAD_INPUT=<fragment> runs only the cases whose folder name contains it.
    let only = std::env::var("KPIPE_BAD_INPUT").unwrap_or_default();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(&only) {
            continue;
        }
        ran += 1;
        if let Err(e) = run_case(case) {
            failures.push(format!("{name}: {e}"));
        }
    }
    println!("bad_inputs: {ran} case(s) run, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every case folder has an `expect` file, and its name is `NN-short-name`.
#[test]
fn case_folders_are_well_formed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if !p.is_dir() {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(p.join("expect").is_file(), "{name}: no expect file");
        let digits = name.chars().take_while(char::is_ascii_digit).count();
        assert!(
            digits >= 2 && name[digits..].starts_with('-'),
            "{name}: not NN-short-name"
        );
        parse_expect(&std::fs::read_to_string(p.join("expect")).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
