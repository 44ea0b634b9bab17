//! Running the user's `kubectl` (and `kapp`), for live state and for deploy: kubeconfig/context
//! flags (or the active Tanzu context), errors as environment failures with masked credentials,
//! output collected or streamed through line by line. No HTTP client of our own: kubectl brings
//! the user's auth plugins, proxies and kubeconfig handling.

pub mod tanzu;

use crate::exit::EnvError;
use crate::redact::mask_credentials;
use anyhow::{Context, Result};
use serde_yaml::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The user's kubectl with `--kubeconfig`/`--context` passed through.
#[derive(Debug, Clone)]
pub struct Kube {
    /// `KPIPE_KUBECTL`, else `kubectl` on PATH.
    pub bin: PathBuf,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// What a finished child process left: exit success, stdout, stderr (masked).
#[derive(Debug, Clone)]
pub struct Ran {
    pub success: bool,
    pub status: String,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Kube {
    /// kubectl with the user's flags; under the Tanzu CLI (`TANZU_BIN` set, no `--kubeconfig`)
    /// the active Tanzu context supplies kubeconfig and context.
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> Result<Kube> {
        let bin = std::env::var_os("KPIPE_KUBECTL")
            .filter(|b| !b.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("kubectl"));
        let mut k = Kube {
            bin,
            kubeconfig,
            context,
        };
        if k.kubeconfig.is_none() && std::env::var_os("TANZU_BIN").is_some_and(|v| !v.is_empty()) {
            if let Some(path) = tanzu::config_path() {
                if let Some(t) = tanzu::active_context(&path)? {
                    k.kubeconfig = t.kubeconfig;
                    if k.context.is_none() {
                        k.context = t.context;
                    }
                }
            }
        }
        Ok(k)
    }

    /// `--kubeconfig`/`--context` as given (for commands kpipe builds itself).
    pub fn base_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(k) = &self.kubeconfig {
            a.push(format!("--kubeconfig={}", k.display()));
        }
        if let Some(c) = &self.context {
            a.push(format!("--context={c}"));
        }
        a
    }

    /// Runs kubectl and returns what it did, failing only when it cannot be started.
    pub fn run_raw(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Ran> {
        let mut all = self.base_args();
        all.extend(args.iter().cloned());
        run_process(&self.bin, &all, stdin, "kubectl", "KPIPE_KUBECTL")
    }

    /// Runs kubectl; a non-zero exit is an environment error carrying kubectl's stderr.
    pub fn run(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>> {
        let ran = self.run_raw(args, stdin)?;
        if !ran.success {
            return Err(anyhow::Error::new(EnvError(format!(
                "`kubectl {}` failed ({}): {}",
                args.join(" "),
                ran.status,
                if ran.stderr.is_empty() {
                    "no error output"
                } else {
                    ran.stderr.trim()
                }
            ))));
        }
        Ok(ran.stdout)
    }

    /// Runs a kubectl command printing JSON; returns the objects whole (Lists flattened).
    pub fn get_json(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<Value>> {
        let out = self.run(args, stdin)?;
        let mut objects = Vec::new();
        for v in serde_json::Deserializer::from_slice(&out).into_iter::<serde_json::Value>() {
            let v = v.context("kubectl printed invalid JSON")?;
            crate::live::flatten_into(
                serde_yaml::to_value(v).context("kubectl JSON")?,
                &mut objects,
            );
        }
        Ok(objects)
    }

    /// The current context's namespace, if any.
    pub fn context_namespace(&self) -> Result<Option<String>> {
        let args = ["config", "view", "--minify", "-o", "jsonpath={..namespace}"].map(String::from);
        let ran = self.run_raw(&args, None)?;
        let ns = String::from_utf8_lossy(&ran.stdout).trim().to_string();
        Ok(if ran.success && !ns.is_empty() {
            Some(ns)
        } else {
            None
        })
    }
}

/// Starts `bin args`, feeds `stdin`, collects output. `what`/`env` name the tool in messages.
pub fn run_process(
    bin: &PathBuf,
    args: &[String],
    stdin: Option<&[u8]>,
    what: &str,
    env: &str,
) -> Result<Ran> {
    let mut child = spawn(bin, args, stdin.is_some(), Stdio::piped(), what, env)?;
    let writer = feed(&mut child, stdin);
    let out = child
        .wait_with_output()
        .map_err(|e| anyhow::Error::new(EnvError(format!("waiting for {what}: {e}"))))?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Ran {
        success: out.status.success(),
        status: out.status.to_string(),
        stdout: out.stdout,
        stderr: mask_credentials(&drop_klog(&String::from_utf8_lossy(&out.stderr))),
    })
}

/// kubectl's stderr without its klog lines (`E1126 06:06:22.212888 31459 memcache.go:265] …`)
/// when it also printed its own message; those repeat the message in Go's log format.
pub fn drop_klog(stderr: &str) -> String {
    let is_klog = |l: &str| {
        let b = l.as_bytes();
        b.len() > 6
            && matches!(b[0], b'E' | b'W' | b'I')
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5] == b' '
    };
    let kept: Vec<&str> = stderr.lines().filter(|l| !is_klog(l)).collect();
    if kept.iter().all(|l| l.trim().is_empty()) {
        return stderr.to_string();
    }
    let mut out = kept.join("\n");
    out.push('\n');
    out
}

/// Starts `bin args` with its stdout and stderr streamed to ours line by line (with `prefix`
/// before each line when given; tokens masked); returns exit success, status and the stderr.
pub fn run_streamed(
    bin: &PathBuf,
    args: &[String],
    stdin: Option<&[u8]>,
    prefix: Option<&str>,
    what: &str,
    env: &str,
) -> Result<Ran> {
    let mut child = spawn(bin, args, stdin.is_some(), Stdio::piped(), what, env)?;
    let writer = feed(&mut child, stdin);
    let prefix = prefix.map(|p| format!("[{p}] ")).unwrap_or_default();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let (stderr, status) = std::thread::scope(|scope| {
        let p = prefix.as_str();
        let o = scope.spawn(move || {
            if let Some(o) = out {
                forward(o, p, &mut std::io::stdout());
            }
            String::new()
        });
        let e = scope.spawn(move || match err {
            Some(e) => forward(e, p, &mut std::io::stderr()),
            None => String::new(),
        });
        let status = child.wait();
        let _ = o.join();
        (e.join().unwrap_or_default(), status)
    });
    if let Some(w) = writer {
        let _ = w.join();
    }
    let status =
        status.map_err(|e| anyhow::Error::new(EnvError(format!("waiting for {what}: {e}"))))?;
    Ok(Ran {
        success: status.success(),
        status: status.to_string(),
        stdout: Vec::new(),
        stderr,
    })
}

/// Copies lines from `r` to `w` with `prefix`, masking tokens; returns what was copied.
fn forward(r: impl Read, prefix: &str, w: &mut dyn Write) -> String {
    let mut all = String::new();
    for line in BufReader::new(r).lines() {
        let Ok(line) = line else { break };
        let line = mask_credentials(&line);
        let _ = writeln!(w, "{prefix}{line}");
        let _ = w.flush();
        all.push_str(&line);
        all.push('\n');
    }
    all
}

fn spawn(
    bin: &PathBuf,
    args: &[String],
    with_stdin: bool,
    stdout: Stdio,
    what: &str,
    env: &str,
) -> Result<std::process::Child> {
    let mut cmd = Command::new(bin);
    crate::limits::child_stack_limit(&mut cmd);
    cmd.args(args)
        .stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "{what} not found ({}): install {what} or set {env}",
                    bin.display()
                )
            } else {
                format!("cannot run {}: {e}", bin.display())
            };
            anyhow::Error::new(EnvError(msg))
        })
}

/// Writes `stdin` to the child on a thread (so a full stdout pipe cannot deadlock us).
fn feed(
    child: &mut std::process::Child,
    stdin: Option<&[u8]>,
) -> Option<std::thread::JoinHandle<()>> {
    let input = stdin?.to_vec();
    let mut pipe = child.stdin.take()?;
    Some(std::thread::spawn(move || {
        // A write error surfaces as the child's own failure.
        let _ = pipe.write_all(&input);
    }))
}
