//! The emulator: store, HTTP routing, handlers. See the module docs in `mod.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::http::{self, HttpError, Request, Response};
use super::resources::{self, split_api_version, ResourceType};
use super::selector;

/// The version `/version` reports. The gcloud kubectl dispatcher on this machine picks its
/// client binary from the server's minor version, so this keeps kubectl at 1.32.
pub const SERVER_GIT_VERSION: &str = "v1.32.4";

/// Namespaces a real cluster always has; `GET /api/v1/namespaces/<ns>` answers for these, for the
/// context namespace and for every namespace that holds an object, even without a stored
/// `Namespace` object.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Store key: (group, kind, namespace or "" for cluster-scoped, name).
type Key = (String, String, String, String);

/// One request the emulator received.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    /// Decoded path without the query, e.g. `/api/v1/namespaces/ns/configmaps/x`.
    pub path: String,
    /// Raw query string (may be empty).
    pub query: String,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub body: Vec<u8>,
    /// `/version`, `/api…`/`/apis…` discovery documents and `/openapi/…`.
    pub is_discovery: bool,
}

type FailPredicate = Box<dyn Fn(&RequestRecord) -> bool + Send>;

struct FailRule {
    remaining: usize,
    code: u16,
    matches: FailPredicate,
}

struct State {
    objects: BTreeMap<Key, Value>,
    /// Last configuration applied per (object, field manager), for server-side apply removals.
    applied: HashMap<(Key, String), Value>,
    /// Types added by the builder or registered for unknown fixture kinds.
    extra_types: Vec<ResourceType>,
    rv: u64,
    uid_seq: u64,
    uid_seed: u64,
    log: Vec<RequestRecord>,
    events: Vec<Event>,
    fail_rules: Vec<FailRule>,
    namespace: String,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled after every request and every test-hook mutation (wakes watches).
    changed: Condvar,
    shutdown: AtomicBool,
    addr: SocketAddr,
}

/// A change for watchers: `seq` is the global resourceVersion right after the change.
#[derive(Debug, Clone)]
struct Event {
    seq: u64,
    kind: &'static str,
    key: Key,
    object: Value,
}

/// Configures an [`Emulator`] before it starts. Obtain with [`Emulator::builder`].
pub struct EmulatorBuilder {
    namespace: String,
    context: String,
    resources: Vec<ResourceType>,
    objects: Vec<Value>,
}

impl EmulatorBuilder {
    /// The kubeconfig context's namespace (default `default`); namespaced fixture objects without
    /// `metadata.namespace` are placed here.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = ns.to_string();
        self
    }

    /// The kubeconfig context (and cluster/user) name (default `emulator`).
    pub fn context(mut self, name: &str) -> Self {
        self.context = name.to_string();
        self
    }

    /// Serves one more resource type (in addition to [`resources::BUILTIN`]).
    pub fn resource(mut self, rt: ResourceType) -> Self {
        self.resources.push(rt);
        self
    }

    pub fn object(mut self, obj: Value) -> Self {
        self.objects.push(obj);
        self
    }

    pub fn objects(mut self, objs: impl IntoIterator<Item = Value>) -> Self {
        self.objects.extend(objs);
        self
    }

    /// Adds every object of every `*.yaml`, `*.yml`, `*.json` file directly in `dir` (sorted by file
    /// name; multi-document YAML; `kind: List` flattened). Panics naming the file on bad input.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.objects.extend(load_dir(dir.as_ref()));
        self
    }

    pub fn start(self) -> Emulator {
        Emulator::start_with(self)
    }
}

/// A running emulator; stops when dropped. See the module docs in `mod.rs`.
pub struct Emulator {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    context: String,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            namespace: "default".into(),
            context: "emulator".into(),
            resources: Vec::new(),
            objects: Vec::new(),
        }
    }

    /// Starts serving `objects` (context namespace `default`).
    pub fn start(objects: Vec<Value>) -> Emulator {
        Emulator::builder().objects(objects).start()
    }

    /// Starts serving the objects of the `*.yaml|*.yml|*.json` files in `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Emulator {
        Emulator::builder().dir(dir).start()
    }

    fn start_with(b: EmulatorBuilder) -> Emulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("emulator: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("emulator: local_addr");
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ (u64::from(std::process::id()) << 32)
            ^ u64::from(addr.port());
        let mut state = State {
            objects: BTreeMap::new(),
            applied: HashMap::new(),
            extra_types: b.resources,
            rv: 1000,
            uid_seq: 0,
            uid_seed: seed,
            log: Vec::new(),
            events: Vec::new(),
            fail_rules: Vec::new(),
            namespace: b.namespace,
        };
        // Keep fixture resourceVersions unique: start the counter above any numeric one given.
        let max_rv = b
            .objects
            .iter()
            .filter_map(|o| {
                o.pointer("/metadata/resourceVersion")?
                    .as_str()?
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(0u64);
        state.rv = state.rv.max(max_rv);
        for obj in b.objects {
            state
                .insert_fixture(obj)
                .unwrap_or_else(|e| panic!("emulator: {e}"));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Condvar::new(),
            shutdown: AtomicBool::new(false),
            addr,
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("emulator-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("emulator: spawn accept thread");
        let dir = tempfile::Builder::new()
            .prefix("kpipe-emulator-")
            .tempdir()
            .expect("emulator: tempdir");
        let mut emu = Emulator {
            shared,
            accept: Some(accept),
            kubeconfig: PathBuf::new(),
            dir,
            context: b.context,
        };
        let path = emu.kubeconfig(emu.dir.path());
        emu.kubeconfig = path;
        emu
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The kubeconfig context's namespace.
    pub fn namespace(&self) -> String {
        self.state().namespace.clone()
    }

    /// Writes `dir/kubeconfig` (server `http://127.0.0.1:PORT`, one context with the configured
    /// namespace, a user without credentials) and returns its path.
    pub fn kubeconfig(&self, dir: impl AsRef<Path>) -> PathBuf {
        let path = dir.as_ref().join("kubeconfig");
        let ctx = &self.context;
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {ctx}\n  cluster:\n    server: {url}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {ctx}\n    namespace: {ns}\n    user: {ctx}\ncurrent-context: {ctx}\npreferences: {{}}\nusers:\n- name: {ctx}\n  user: {{}}\n",
            url = self.url(),
            ns = self.namespace(),
        );
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("emulator: write {}: {e}", path.display()));
        path
    }

    /// The kubeconfig the emulator wrote into its own temporary folder.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// kubectl's discovery/http cache folder for this emulator (never `~/.kube/cache`: ports are
    /// reused and kubectl trusts its discovery cache for hours).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// Environment for a child process (e.g. the kpipe binary) that runs kubectl against this
    /// emulator: `KUBECONFIG` and `KUBECACHEDIR`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "KUBECONFIG".into(),
                self.kubeconfig.to_string_lossy().into_owned(),
            ),
            (
                "KUBECACHEDIR".into(),
                self.cache_dir().to_string_lossy().into_owned(),
            ),
        ]
    }

    /// A `kubectl` command preset with `--kubeconfig`, `--cache-dir` and a 10 s request timeout.
    /// Panics if kubectl is missing (check [`super::kubectl_path`] first).
    pub fn kubectl_command(&self) -> Command {
        let kubectl = super::kubectl_path().expect("kubectl not found");
        let mut cmd = Command::new(kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache_dir())
            .arg("--request-timeout=10s")
            .env_remove("KUBECONFIG")
            .env("KUBECACHEDIR", self.cache_dir());
        cmd
    }

    /// Runs `kubectl --kubeconfig <own kubeconfig> <args>` with `stdin` piped in (or no stdin).
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.kubectl_command();
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().expect("emulator: spawn kubectl");
        let writer = stdin.map(|text| {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            let text = text.to_string();
            std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            })
        });
        let out = child
            .wait_with_output()
            .expect("emulator: wait for kubectl");
        if let Some(w) = writer {
            let _ = w.join();
        }
        out
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }

    /// `"METHOD /path"` of every request received so far (query strings left off).
    pub fn request_log(&self) -> Vec<String> {
        self.state()
            .log
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Full records of every request received so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().log.clone()
    }

    /// `"METHOD /path"` of requests that are not discovery/OpenAPI/version requests.
    pub fn resource_requests(&self) -> Vec<String> {
        self.state()
            .log
            .iter()
            .filter(|r| !r.is_discovery)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn clear_request_log(&self) {
        self.state().log.clear();
    }

    /// Stores `obj` as if another client had written it: a new `resourceVersion`; `uid`,
    /// `creationTimestamp` and `generation` kept from the stored version or filled in. A
    /// namespaced object without a namespace goes to the context namespace. Returns the stored
    /// object.
    pub fn set(&self, obj: Value) -> Value {
        self.mutate(|st| {
            let (key, rt, mut obj) = st
                .normalize(obj)
                .unwrap_or_else(|e| panic!("emulator: {e}"));
            let old = st.objects.get(&key).cloned();
            st.fill_server_fields(&mut obj, old.as_ref(), &rt);
            st.put(key, obj.clone());
            obj
        })
    }

    /// Stores `obj` exactly as given (only a missing `resourceVersion` is filled in).
    pub fn set_exact(&self, obj: Value) -> Value {
        self.mutate(|st| {
            let (key, _, mut obj) = st
                .normalize(obj)
                .unwrap_or_else(|e| panic!("emulator: {e}"));
            let rv = st.next_rv();
            if obj.pointer("/metadata/resourceVersion").is_none() {
                obj["metadata"]["resourceVersion"] = json!(rv);
            }
            st.put(key, obj.clone());
            obj
        })
    }

    /// The stored object; `group` is `""` for the core group, `namespace` `""` for cluster-scoped.
    pub fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.state()
            .objects
            .get(&(group.into(), kind.into(), namespace.into(), name.into()))
            .cloned()
    }

    /// Removes and returns the stored object (bumps the global resourceVersion if present).
    pub fn remove(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.mutate(|st| st.take(&(group.into(), kind.into(), namespace.into(), name.into())))
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.state());
        self.shared.changed.notify_all();
        r
    }

    /// All stored objects, ordered by (group, kind, namespace, name).
    pub fn objects(&self) -> Vec<Value> {
        self.state().objects.values().cloned().collect()
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state().rv
    }

    /// Makes the next `n` resource requests (not discovery, OpenAPI or `/version`) fail with
    /// `code` and a Status body like the real server's (403 → `Forbidden` naming the user
    /// `system:anonymous`, 401 `Unauthorized`, 500 `InternalError`, 503 `ServiceUnavailable`, …).
    pub fn fail_next(&self, n: usize, code: u16) {
        self.fail_when(n, code, |r| !r.is_discovery);
    }

    /// Makes the next `n` requests for which `pred` holds fail with `code` (discovery included).
    pub fn fail_when(
        &self,
        n: usize,
        code: u16,
        pred: impl Fn(&RequestRecord) -> bool + Send + 'static,
    ) {
        self.state().fail_rules.push(FailRule {
            remaining: n,
            code,
            matches: Box::new(pred),
        });
    }

    /// Cancels pending `fail_next`/`fail_when` rules.
    pub fn clear_failures(&self) {
        self.state().fail_rules.clear();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept(); if that connection fails, leave the thread detached
        // rather than risk hanging the test in join().
        let woke =
            TcpStream::connect_timeout(&self.shared.addr, Duration::from_millis(500)).is_ok();
        if let Some(h) = self.accept.take() {
            if woke {
                let _ = h.join();
            }
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panicking test thread must not wedge the server.
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Loading fixtures

/// Objects from the `*.yaml|*.yml|*.json` files directly in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("emulator: read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .unwrap_or_else(|e| panic!("emulator: read {}: {e}", f.display()));
        let docs =
            parse_documents(&text).unwrap_or_else(|e| panic!("emulator: {}: {e}", f.display()));
        out.extend(docs);
    }
    out
}

/// Parses a JSON document or a (multi-document) YAML stream; drops empty documents and flattens
/// `kind: List` (any `*List` kind with `items`).
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        docs.push(v);
    } else {
        for doc in serde_yaml::Deserializer::from_str(text) {
            let v = Value::deserialize(doc).map_err(|e| e.to_string())?;
            docs.push(v);
        }
    }
    let mut out = Vec::new();
    for d in docs {
        flatten_into(d, &mut out);
    }
    Ok(out)
}

fn flatten_into(v: Value, out: &mut Vec<Value>) {
    match v {
        Value::Null => {}
        Value::Object(ref m)
            if m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && m.get("items").is_some_and(Value::is_array) =>
        {
            if let Some(Value::Array(items)) = v.get("items").cloned() {
                for i in items {
                    flatten_into(i, out);
                }
            }
        }
        v => out.push(v),
    }
}

// ---------------------------------------------------------------------------------------------
// Store

impl State {
    /// Stores `obj` and records an ADDED/MODIFIED event (callers bump `rv` first).
    fn put(&mut self, key: Key, obj: Value) {
        let kind = if self.objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.events.push(Event {
            seq: self.rv,
            kind,
            key: key.clone(),
            object: obj.clone(),
        });
        self.objects.insert(key, obj);
    }

    /// Removes an object, bumps `rv` and records a DELETED event.
    fn take(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.applied.retain(|(k, _), _| k != key);
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv);
        self.events.push(Event {
            seq: self.rv,
            kind: "DELETED",
            key: key.clone(),
            object: obj.clone(),
        });
        Some(obj)
    }

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    fn next_uid(&mut self) -> String {
        self.uid_seq += 1;
        let a = self
            .uid_seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(self.uid_seq);
        let b = a.rotate_left(29) ^ self.uid_seq.wrapping_mul(0x9E3779B97F4A7C15);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            a & 0xfff,
            (b >> 52) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    /// Builtin ∪ extra ∪ CRD-defined types; first wins per (group, version, plural).
    fn types(&self) -> Vec<ResourceType> {
        let mut out = resources::builtin();
        out.extend(self.extra_types.iter().cloned());
        for ((g, k, _, _), obj) in &self.objects {
            if g == "apiextensions.k8s.io" && k == "CustomResourceDefinition" {
                out.extend(ResourceType::from_crd(obj));
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|t| seen.insert((t.group.clone(), t.version.clone(), t.plural.clone())));
        out
    }

    fn type_for_kind(&self, group: &str, kind: &str) -> Option<ResourceType> {
        self.types()
            .into_iter()
            .find(|t| t.group == group && t.kind == kind)
    }

    /// Identity of an object to store; registers unknown kinds; places namespaced objects.
    fn normalize(&mut self, mut obj: Value) -> Result<(Key, ResourceType, Value), String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or("").to_string();
        let kind = obj["kind"].as_str().unwrap_or("").to_string();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(format!(
                "object needs apiVersion, kind and metadata.name: {}",
                truncate(&obj.to_string(), 200)
            ));
        }
        let (group, version) = split_api_version(&api_version);
        let given_ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let rt = match self.type_for_kind(&group, &kind) {
            Some(rt) => rt,
            None => {
                let rt = ResourceType::guess(&group, &version, &kind, given_ns.is_some());
                self.extra_types.push(rt.clone());
                rt
            }
        };
        let ns = if rt.namespaced {
            let ns = given_ns.unwrap_or_else(|| self.namespace.clone());
            obj["metadata"]["namespace"] = json!(ns);
            ns
        } else {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("namespace");
            }
            String::new()
        };
        Ok(((group, kind, ns, name), rt, obj))
    }

    fn insert_fixture(&mut self, obj: Value) -> Result<(), String> {
        let (key, _, mut obj) = self.normalize(obj)?;
        if obj.pointer("/metadata/resourceVersion").is_none() {
            let rv = self.next_rv();
            obj["metadata"]["resourceVersion"] = json!(rv);
        }
        self.objects.insert(key, obj);
        Ok(())
    }

    /// Fills uid/creationTimestamp/generation (from `old` or fresh) and a new resourceVersion.
    fn fill_server_fields(&mut self, obj: &mut Value, old: Option<&Value>, _rt: &ResourceType) {
        let uid = old
            .and_then(|o| o.pointer("/metadata/uid").cloned())
            .or_else(|| obj.pointer("/metadata/uid").cloned())
            .unwrap_or_else(|| json!(self.next_uid()));
        let created = old
            .and_then(|o| o.pointer("/metadata/creationTimestamp").cloned())
            .or_else(|| obj.pointer("/metadata/creationTimestamp").cloned())
            .unwrap_or_else(|| json!(now_rfc3339()));
        let generation = match old {
            None => obj
                .pointer("/metadata/generation")
                .cloned()
                .unwrap_or(json!(1)),
            Some(o) => {
                let g = o
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                json!(if spec_differs(o, obj) { g + 1 } else { g })
            }
        };
        let rv = self.next_rv();
        let meta = ensure_map(obj, "metadata");
        meta.insert("uid".into(), uid);
        meta.insert("creationTimestamp".into(), created);
        meta.insert("generation".into(), generation);
        meta.insert("resourceVersion".into(), json!(rv));
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        SYSTEM_NAMESPACES.contains(&ns)
            || ns == self.namespace
            || self.objects.keys().any(|(_, _, n, _)| n == ns)
            || self.objects.contains_key(&(
                String::new(),
                "Namespace".into(),
                String::new(),
                ns.into(),
            ))
    }

    /// A Namespace object for namespaces implied by other objects.
    fn implied_namespace(&self, ns: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "uid": format!("00000000-0000-4000-8000-{:012x}", fnv(ns) & 0xffff_ffff_ffff),
                "resourceVersion": "1",
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "labels": {"kubernetes.io/metadata.name": ns},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        })
    }

    /// Stored namespaces plus implied ones.
    fn all_namespaces(&self) -> Vec<Value> {
        let mut names: BTreeSet<String> = SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect();
        names.insert(self.namespace.clone());
        names.extend(
            self.objects
                .keys()
                .filter(|(_, _, n, _)| !n.is_empty())
                .map(|(_, _, n, _)| n.clone()),
        );
        let mut out = Vec::new();
        for n in names {
            let key = (String::new(), "Namespace".into(), String::new(), n.clone());
            out.push(
                self.objects
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| self.implied_namespace(&n)),
            );
        }
        for ((g, k, _, n), obj) in &self.objects {
            if g.is_empty() && k == "Namespace" && !out.iter().any(|o| o["metadata"]["name"] == **n)
            {
                out.push(obj.clone());
            }
        }
        out
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
}

fn ensure_map<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let m = v.as_object_mut().expect("object");
    let e = m.entry(key.to_string()).or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut().expect("object")
}

/// True when anything outside `metadata` and `status` differs (what bumps `generation`).
fn spec_differs(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
            m.remove("apiVersion");
            m.remove("kind");
        }
        v
    };
    strip(a) != strip(b)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------------
// Merging

/// Server-side apply approximation: maps merge recursively, everything else (lists included) is
/// replaced; `null` removes a key.
pub fn merge_apply(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, pv) in p {
                match (t.get_mut(k), pv) {
                    (_, Value::Null) => {
                        t.remove(k);
                    }
                    (Some(tv), Value::Object(_)) if tv.is_object() => merge_apply(tv, pv),
                    _ => {
                        t.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// Removes from `target` the map keys the manager applied before (`prev`) but not now (`new`),
/// as server-side apply drops fields a manager stops applying.
pub fn remove_dropped(target: &mut Value, prev: &Value, new: &Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), prev.as_object()) else {
        return;
    };
    let empty = Map::new();
    let n = new.as_object().unwrap_or(&empty);
    for (k, pv) in p {
        match n.get(k) {
            None => {
                t.remove(k);
            }
            Some(nv) if pv.is_object() && nv.is_object() => {
                if let Some(tv) = t.get_mut(k) {
                    remove_dropped(tv, pv, nv);
                }
            }
            Some(_) => {}
        }
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().expect("object");
    for (k, pv) in p {
        if pv.is_null() {
            t.remove(k);
        } else {
            let tv = t.entry(k.clone()).or_insert(Value::Null);
            merge_patch(tv, pv);
        }
    }
}

/// Strategic merge patch without schemas: like a JSON merge patch, except that lists of objects
/// that all carry `name` (containers, env, volumes, …) merge element-wise by `name`, and the
/// directives kubectl sends are honoured (`$patch: replace|delete`, `$retainKeys`,
/// `$deleteFromPrimitiveList/<f>`, `$setElementOrder/<f>`) and never stored. Other lists are
/// replaced (wrong for lists merged by another key, e.g. `ports` by `containerPort`).
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = strip_directives(patch);
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_directives(patch);
            return;
        }
        Some("delete") => {
            *target = Value::Null;
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().expect("object");
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, pv) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(drop)) = (t.get_mut(field), pv.as_array()) {
                items.retain(|i| !drop.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match pv {
            Value::Null => {
                t.remove(k);
            }
            Value::Array(items) if is_named_list(items) => {
                let merged = match t.get(k).and_then(Value::as_array) {
                    Some(live) if is_named_list(live) => merge_named(live, items),
                    _ => items
                        .iter()
                        .filter(|i| i["$patch"] != "delete")
                        .map(strip_directives)
                        .collect(),
                };
                t.insert(k.clone(), Value::Array(merged));
            }
            Value::Object(_) => {
                let tv = t.entry(k.clone()).or_insert(Value::Null);
                strategic_merge(tv, pv);
            }
            _ => {
                t.insert(k.clone(), strip_directives(pv));
            }
        }
    }
    for (k, order) in p {
        let (Some(field), Some(order)) = (k.strip_prefix("$setElementOrder/"), order.as_array())
        else {
            continue;
        };
        if let Some(Value::Array(items)) = t.get_mut(field) {
            let pos = |i: &Value| {
                order
                    .iter()
                    .position(|o| *o == *i || o["name"] == i["name"])
            };
            items.sort_by_key(|i| pos(i).unwrap_or(usize::MAX));
        }
    }
}

fn is_named_list(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i["name"].is_string())
}

fn merge_named(live: &[Value], patch: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = live.to_vec();
    for pi in patch {
        let pos = out.iter().position(|o| o["name"] == pi["name"]);
        match (pos, pi["$patch"].as_str()) {
            (Some(i), Some("delete")) => {
                out.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), _) => strategic_merge(&mut out[i], pi),
            (None, _) => out.push(strip_directives(pi)),
        }
    }
    out
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// A FieldsV1-like set of the map keys in `v` (lists are leaves).
fn fields_v1(v: &Value) -> Value {
    match v.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (format!("f:{k}"), fields_v1(v)))
                .collect(),
        ),
        None => json!({}),
    }
}

/// Drops the fields a server sets on create (a body copied from `kubectl get` carries them).
fn strip_server_fields(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "creationTimestamp",
            "generation",
            "resourceVersion",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
        ] {
            m.remove(k);
        }
    }
}

/// What a manager applied, without the fields the server owns.
fn applied_config(body: &Value) -> Value {
    let mut v = body.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "name",
            "namespace",
            "selfLink",
            "deletionTimestamp",
        ] {
            m.remove(k);
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    v
}

fn set_managed_fields(
    obj: &mut Value,
    manager: &str,
    operation: &str,
    api_version: &str,
    applied: &Value,
) {
    let entry = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(applied),
    });
    let meta = ensure_map(obj, "metadata");
    let list = meta.entry("managedFields").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let arr = list.as_array_mut().expect("array");
    arr.retain(|e| !(e["manager"] == manager && e["operation"] == operation));
    arr.push(entry);
}

// ---------------------------------------------------------------------------------------------
// Serving

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let s = shared.clone();
        let _ = std::thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || serve_connection(stream, s));
    }
}

/// How long an idle keep-alive connection is kept open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        // Wait for the first byte of the next request, polling the shutdown flag.
        let idle_since = Instant::now();
        let _ = writer.set_read_timeout(Some(POLL));
        loop {
            if shared.shutdown.load(Ordering::SeqCst) || idle_since.elapsed() > IDLE_TIMEOUT {
                return;
            }
            match reader.fill_buf() {
                Ok([]) => return,
                Ok(_) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(_) => return,
            }
        }
        let _ = writer.set_read_timeout(Some(REQUEST_TIMEOUT));
        match http::read_request(&mut reader) {
            Ok(Some(req)) => {
                let close = req.wants_close();
                let head_only = req.method == "HEAD";
                let reply = handle(&shared, &req);
                shared.changed.notify_all();
                match reply {
                    Reply::Full(resp) => {
                        if http::write_response(&mut writer, &resp, head_only, close).is_err()
                            || close
                        {
                            return;
                        }
                    }
                    Reply::Watch(w) => {
                        serve_watch(&shared, *w, &mut writer);
                        return;
                    }
                }
            }
            Ok(None) | Err(HttpError::Closed) | Err(HttpError::Io(_)) => return,
            Err(HttpError::Bad(code, msg)) => {
                let resp = status_response(code, reason_for(code), &msg, None);
                let _ = http::write_response(&mut writer, &resp, false, true);
                return;
            }
        }
    }
}

fn reason_for(code: u16) -> &'static str {
    match code {
        400 | 413 | 431 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

fn status_response(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    Response::json(code, &s)
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": rt.plural});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    if name.is_empty() {
        d.as_object_mut().expect("object").remove("name");
    }
    d
}

fn not_found(rt: &ResourceType, name: &str) -> Response {
    status_response(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", rt.qualified_plural()),
        Some(details(rt, name)),
    )
}

fn generic_not_found() -> Response {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn bad_request(msg: &str) -> Response {
    status_response(400, "BadRequest", msg, None)
}

fn is_discovery_path(path: &str) -> bool {
    path == "/version"
        || path.starts_with("/version/")
        || path.starts_with("/openapi/")
        || path == "/api"
        || path == "/apis"
        || matches!(path, "/healthz" | "/readyz" | "/livez")
        || {
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            (segs.first() == Some(&"api") && segs.len() == 2)
                || (segs.first() == Some(&"apis") && (segs.len() == 2 || segs.len() == 3))
        }
}

enum Reply {
    Full(Response),
    Watch(Box<WatchSpec>),
}

/// An accepted watch: what to stream.
struct WatchSpec {
    rt: ResourceType,
    namespace: Option<String>,
    labels: Vec<selector::Requirement>,
    fields: Vec<(String, String, bool)>,
    table: bool,
    /// Events with `seq` greater than this are sent.
    since: u64,
    /// Synthetic ADDED events first (a watch without a resourceVersion, or from "0").
    initial: Vec<Value>,
    timeout: Duration,
}

impl WatchSpec {
    fn matches(&self, key: &Key, obj: &Value) -> bool {
        key.0 == self.rt.group
            && key.1 == self.rt.kind
            && self.namespace.as_ref().is_none_or(|ns| *ns == key.2)
            && selector::labels_match(&self.labels, obj)
            && selector::fields_match(&self.fields, obj)
    }

    fn event(&self, st: &State, kind: &str, obj: &Value) -> Value {
        let obj = present(obj, &self.rt);
        let object = if self.table {
            table(st, std::slice::from_ref(&obj))
        } else {
            obj
        };
        json!({"type": kind, "object": object})
    }
}

/// Longest watch the emulator keeps open (kubectl asks for minutes).
const MAX_WATCH: Duration = Duration::from_secs(60);

fn start_watch(st: &State, req: &Request, t: &Target) -> Reply {
    let labels = match selector::parse_labels(req.query_param("labelSelector").unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return Reply::Full(bad_request(&e)),
    };
    let fields = match selector::parse_fields(req.query_param("fieldSelector").unwrap_or("")) {
        Ok(f) => f,
        Err(e) => return Reply::Full(bad_request(&e)),
    };
    let timeout = req
        .query_param("timeoutSeconds")
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(MAX_WATCH)
        .min(MAX_WATCH);
    let mut spec = WatchSpec {
        rt: t.rt.clone(),
        namespace: if t.rt.namespaced {
            t.namespace.clone()
        } else {
            None
        },
        labels,
        fields,
        table: wants_table(req),
        since: st.rv,
        initial: Vec::new(),
        timeout,
    };
    match req.query_param("resourceVersion").unwrap_or("") {
        "" | "0" => {
            spec.initial = st
                .objects
                .iter()
                .filter(|(k, o)| spec.matches(k, o))
                .map(|(_, o)| o.clone())
                .collect();
        }
        rv => match rv.parse::<u64>() {
            Ok(rv) => spec.since = rv,
            Err(_) => {
                return Reply::Full(bad_request(&format!(
                    "invalid resourceVersion {rv:?} (the emulator's are integers)"
                )))
            }
        },
    }
    Reply::Watch(Box::new(spec))
}

/// Streams watch events (chunked JSON, one event per chunk) until the timeout or shutdown.
fn serve_watch(shared: &Shared, spec: WatchSpec, w: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n";
    if w.write_all(head.as_bytes()).is_err() {
        return;
    }
    let send = |w: &mut TcpStream, ev: &Value| -> bool {
        let mut line = serde_json::to_vec(ev).unwrap_or_default();
        line.push(b'\n');
        let mut chunk = format!("{:x}\r\n", line.len()).into_bytes();
        chunk.extend_from_slice(&line);
        chunk.extend_from_slice(b"\r\n");
        w.write_all(&chunk).and_then(|_| w.flush()).is_ok()
    };
    let deadline = Instant::now() + spec.timeout;
    let mut last = spec.since;
    let initial: Vec<Value> = {
        let st = lock(shared);
        spec.initial
            .iter()
            .map(|o| spec.event(&st, "ADDED", o))
            .collect()
    };
    for ev in &initial {
        if !send(w, ev) {
            return;
        }
    }
    loop {
        if shared.shutdown.load(Ordering::SeqCst) || Instant::now() >= deadline {
            break;
        }
        let batch: Vec<Value> = {
            let mut st = lock(shared);
            if !st.events.iter().any(|e| e.seq > last) {
                st = shared
                    .changed
                    .wait_timeout(st, POLL)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            let mut out = Vec::new();
            for e in st.events.iter().filter(|e| e.seq > last) {
                if spec.matches(&e.key, &e.object) {
                    out.push(spec.event(&st, e.kind, &e.object));
                }
            }
            last = st.rv.max(last);
            out
        };
        for ev in &batch {
            if !send(w, ev) {
                return;
            }
        }
    }
    let _ = w.write_all(b"0\r\n\r\n");
    let _ = w.flush();
}

fn handle(shared: &Shared, req: &Request) -> Reply {
    let record = RequestRecord {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.raw_query.clone(),
        content_type: req.header("content-type").map(str::to_string),
        accept: req.header("accept").map(str::to_string),
        body: req.body.clone(),
        is_discovery: is_discovery_path(&req.path),
    };
    let mut st = lock(shared);
    st.log.push(record.clone());
    if let Some(i) = st
        .fail_rules
        .iter()
        .position(|r| r.remaining > 0 && (r.matches)(&record))
    {
        let code = st.fail_rules[i].code;
        st.fail_rules[i].remaining -= 1;
        if st.fail_rules[i].remaining == 0 {
            st.fail_rules.remove(i);
        }
        return Reply::Full(injected_failure(&st, req, code));
    }
    if matches!(req.method.as_str(), "GET" | "HEAD") && is_watch(req) {
        if let Some(t) = resolve(&st, &req.path).filter(|t| t.name.is_none()) {
            return start_watch(&st, req, &t);
        }
    }
    Reply::Full(route(&mut st, shared.addr, req))
}

/// Resolved resource URL.
struct Target {
    rt: ResourceType,
    /// `None`: cluster-scoped type, or a namespaced collection across all namespaces.
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn resolve(st: &State, path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let types: Vec<ResourceType> = st
        .types()
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    let find = |plural: &str| types.iter().find(|t| t.plural == plural).cloned();
    let target = |rt, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| Target {
        rt,
        namespace: ns.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    };
    match rest {
        ["namespaces", ns, plural, tail @ ..] if find(plural).is_some_and(|t| t.namespaced) => {
            let rt = find(plural)?;
            match tail {
                [] => Some(target(rt, Some(ns), None, None)),
                [name] => Some(target(rt, Some(ns), Some(name), None)),
                [name, sub] => Some(target(rt, Some(ns), Some(name), Some(sub))),
                _ => None,
            }
        }
        [plural, tail @ ..] => {
            let rt = find(plural)?;
            match tail {
                [] => Some(target(rt, None, None, None)),
                [name] if !rt.namespaced => Some(target(rt, None, Some(name), None)),
                [name, sub] if !rt.namespaced => Some(target(rt, None, Some(name), Some(sub))),
                _ => None,
            }
        }
        _ => None,
    }
}

fn verb(req: &Request, t: Option<&Target>) -> &'static str {
    let collection = t.is_some_and(|t| t.name.is_none());
    match req.method.as_str() {
        "GET" | "HEAD" if is_watch(req) => "watch",
        "GET" | "HEAD" if collection => "list",
        "GET" | "HEAD" => "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" if collection => "deletecollection",
        "DELETE" => "delete",
        _ => "unknown",
    }
}

fn is_watch(req: &Request) -> bool {
    matches!(req.query_param("watch"), Some("true" | "1"))
}

fn injected_failure(st: &State, req: &Request, code: u16) -> Response {
    let t = resolve(st, &req.path);
    let reason = reason_for(code);
    let message = match (code, &t) {
        (403, Some(t)) => {
            let what = match &t.name {
                Some(n) => format!("{} \"{n}\"", t.rt.qualified_plural()),
                None => t.rt.qualified_plural(),
            };
            let scope = match &t.namespace {
                Some(ns) => format!("in the namespace \"{ns}\""),
                None => "at the cluster scope".to_string(),
            };
            format!(
                "{what} is forbidden: User \"system:anonymous\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
                verb(req, Some(t)),
                t.rt.plural,
                t.rt.group
            )
        }
        (403, None) => format!(
            "forbidden: User \"system:anonymous\" cannot {} path \"{}\"",
            req.method.to_ascii_lowercase(),
            req.path
        ),
        (401, _) => "Unauthorized".to_string(),
        (429, _) => "Too many requests, please try again later.".to_string(),
        (500, _) => "Internal error occurred: emulator: injected failure".to_string(),
        (503, _) => "the server is currently unable to handle the request".to_string(),
        (504, _) => "Timeout: request did not complete within the allotted timeout".to_string(),
        (c, _) => format!("emulator: injected failure {c}"),
    };
    let details = t
        .as_ref()
        .map(|t| details(&t.rt, t.name.as_deref().unwrap_or("")));
    status_response(code, reason, &message, details)
}

fn route(st: &mut State, addr: SocketAddr, req: &Request) -> Response {
    let path = req.path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let get = matches!(req.method.as_str(), "GET" | "HEAD");
    match path {
        "/version" if get => return Response::json(200, &version_doc()),
        "/healthz" | "/readyz" | "/livez" if get => return Response::text(200, "ok"),
        "/api" if get => {
            return Response::json(
                200,
                &json!({
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}],
                }),
            )
        }
        "/apis" if get => return Response::json(200, &group_list(st)),
        "/openapi/v3" if get => return Response::json(200, &openapi_v3_root(st)),
        _ => {}
    }
    if let Some(gv) = path.strip_prefix("/openapi/v3/") {
        if get {
            return openapi_v3_gv(st, gv)
                .map_or_else(generic_not_found, |d| Response::json(200, &d));
        }
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    if get {
        match segs.as_slice() {
            ["api", v] => return resource_list(st, "", v),
            ["apis", g] => {
                return group_doc(st, g).map_or_else(generic_not_found, |d| Response::json(200, &d))
            }
            ["apis", g, v] => return resource_list(st, g, v),
            _ => {}
        }
    }
    let Some(t) = resolve(st, path) else {
        return generic_not_found();
    };
    // `status` is served as the whole object; no other subresource exists here.
    if t.subresource.as_deref().is_some_and(|s| s != "status") {
        return generic_not_found();
    }
    match (req.method.as_str(), t.name.is_some()) {
        ("GET" | "HEAD", false) => list(st, req, &t),
        ("GET" | "HEAD", true) => get_one(st, req, &t),
        ("POST", false) => create(st, req, &t),
        ("PATCH", true) => patch(st, req, &t),
        ("PUT", true) => update(st, req, &t),
        ("DELETE", true) => delete(st, req, &t),
        _ => status_response(
            405,
            "MethodNotAllowed",
            &format!(
                "the server does not allow this method on the requested resource ({} {})",
                req.method, req.path
            ),
            None,
        ),
    }
}

fn version_doc() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": SERVER_GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T16:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Groups in table order with their versions (first version listed is preferred).
fn groups(st: &State) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in st.types() {
        match out.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, vs)) => {
                if !vs.contains(&t.version) {
                    vs.push(t.version.clone());
                }
            }
            None => out.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    out
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": vs,
        "preferredVersion": vs[0],
    })
}

fn group_list(st: &State) -> Value {
    let groups: Vec<Value> = groups(st)
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn group_doc(st: &State, group: &str) -> Option<Value> {
    let (g, vs) = groups(st)
        .into_iter()
        .find(|(g, _)| g == group && !g.is_empty())?;
    let mut doc = group_json(&g, &vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn resource_list(st: &State, group: &str, version: &str) -> Response {
    let types: Vec<ResourceType> = st
        .types()
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if types.is_empty() {
        return generic_not_found();
    }
    let gv = types[0].group_version();
    let resources: Vec<Value> = types.iter().map(ResourceType::api_resource).collect();
    Response::json(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// `/openapi/v3`: one entry per served group/version.
fn openapi_v3_root(st: &State) -> Value {
    let mut paths = Map::new();
    for (g, vs) in groups(st) {
        for v in vs {
            let key = if g.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{g}/{v}")
            };
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// A minimal OpenAPI v3 document for one group/version: one PATCH operation per kind carrying
/// `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter. That is all
/// kubectl's field-validation check looks for; with it kubectl leaves validation to the server
/// (`fieldValidation=Strict`, which the emulator accepts without checking) and never needs
/// `/openapi/v2`. No schemas are served.
fn openapi_v3_gv(st: &State, gv: &str) -> Option<Value> {
    let segs: Vec<&str> = gv.split('/').collect();
    let (group, version) = match segs.as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return None,
    };
    let types: Vec<ResourceType> = st
        .types()
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for t in &types {
        let path = if t.namespaced {
            format!(
                "{}/namespaces/{{namespace}}/{}/{{name}}",
                t.prefix(),
                t.plural
            )
        } else {
            format!("{}/{}/{{name}}", t.prefix(), t.plural)
        };
        paths.insert(
            path,
            json!({
                "patch": {
                    "operationId": format!("patch{}", t.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
                    "parameters": [
                        {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                        {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                        {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                        {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kpipe test emulator)", "version": SERVER_GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// The object as served at `rt`'s version.
fn present(obj: &Value, rt: &ResourceType) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.insert("apiVersion".into(), json!(rt.group_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    o
}

fn key_of(t: &Target, name: &str) -> Key {
    (
        t.rt.group.clone(),
        t.rt.kind.clone(),
        if t.rt.namespaced {
            t.namespace.clone().unwrap_or_default()
        } else {
            String::new()
        },
        name.to_string(),
    )
}

fn wants_table(req: &Request) -> bool {
    req.header("accept").is_some_and(|a| a.contains("as=Table"))
}

fn get_one(st: &State, req: &Request, t: &Target) -> Response {
    let name = t.name.as_deref().unwrap_or("");
    let key = key_of(t, name);
    let obj = match st.objects.get(&key) {
        Some(o) => o.clone(),
        None if t.rt.group.is_empty() && t.rt.kind == "Namespace" && st.namespace_exists(name) => {
            st.implied_namespace(name)
        }
        None => return not_found(&t.rt, name),
    };
    let obj = present(&obj, &t.rt);
    if wants_table(req) {
        return Response::json(200, &table(st, std::slice::from_ref(&obj)));
    }
    Response::json(200, &obj)
}

fn list(st: &State, req: &Request, t: &Target) -> Response {
    let labels = match selector::parse_labels(req.query_param("labelSelector").unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return bad_request(&e),
    };
    let fields = match selector::parse_fields(req.query_param("fieldSelector").unwrap_or("")) {
        Ok(f) => f,
        Err(e) => return bad_request(&e),
    };
    let candidates: Vec<Value> = if t.rt.group.is_empty() && t.rt.kind == "Namespace" {
        st.all_namespaces()
    } else {
        st.objects
            .iter()
            .filter(|((g, k, ns, _), _)| {
                *g == t.rt.group
                    && *k == t.rt.kind
                    && t.namespace.as_ref().is_none_or(|want| want == ns)
            })
            .map(|(_, o)| o.clone())
            .collect()
    };
    let items: Vec<Value> = candidates
        .iter()
        .filter(|o| selector::labels_match(&labels, o) && selector::fields_match(&fields, o))
        .map(|o| present(o, &t.rt))
        .collect();
    if wants_table(req) {
        return Response::json(200, &table(st, &items));
    }
    Response::json(
        200,
        &json!({
            "apiVersion": t.rt.group_version(),
            "kind": format!("{}List", t.rt.kind),
            "metadata": {"resourceVersion": st.rv.to_string()},
            "items": items,
        }),
    )
}

/// A `meta.k8s.io/v1` Table like the server's default (Name, Created At) for kubectl's human
/// output.
fn table(st: &State, items: &[Value]) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            json!({
                "cells": [o["metadata"]["name"], o["metadata"]["creationTimestamp"]],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": st.rv.to_string()},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Created At", "type": "date", "format": "", "description": "CreationTimestamp of the object.", "priority": 0},
        ],
        "rows": rows,
    })
}

fn parse_body(req: &Request) -> Result<Value, Response> {
    let text =
        std::str::from_utf8(&req.body).map_err(|_| bad_request("request body is not UTF-8"))?;
    let v = match serde_json::from_str::<Value>(text) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_str::<Value>(text)
            .map_err(|e| bad_request(&format!("error decoding request body: {e}")))?,
    };
    if !v.is_object() {
        return Err(bad_request("request body must be an object"));
    }
    Ok(v)
}

fn is_dry_run(req: &Request) -> bool {
    req.query.iter().any(|(k, v)| k == "dryRun" && v == "All")
}

/// Checks the body's identity against the URL; fills namespace/apiVersion/kind.
fn check_body(body: &mut Value, t: &Target, name: &str) -> Result<(), Response> {
    if let Some(k) = body["kind"].as_str() {
        if k != t.rt.kind {
            return Err(bad_request(&format!(
                "the kind of the object ({k}) does not match the kind on the URL ({})",
                t.rt.kind
            )));
        }
    }
    let meta = ensure_map(body, "metadata");
    match meta.get("name").and_then(Value::as_str) {
        Some(n) if n != name => {
            return Err(bad_request(&format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )))
        }
        _ => {
            meta.insert("name".into(), json!(name));
        }
    }
    if t.rt.namespaced {
        let url_ns = t.namespace.clone().unwrap_or_default();
        match meta.get("namespace").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != url_ns => {
                return Err(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
            _ => {
                meta.insert("namespace".into(), json!(url_ns));
            }
        }
    } else {
        meta.remove("namespace");
    }
    body["apiVersion"] = json!(t.rt.group_version());
    body["kind"] = json!(t.rt.kind);
    Ok(())
}

fn conflict(t: &Target, name: &str) -> Response {
    status_response(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            t.rt.qualified_plural()
        ),
        Some(details(&t.rt, name)),
    )
}

fn body_rv(body: &Value) -> Option<String> {
    body.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn stored_rv(obj: &Value) -> String {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn create(st: &mut State, req: &Request, t: &Target) -> Response {
    let mut body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        if let Some(prefix) = body
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
        {
            let suffix = st.next_uid().replace('-', "");
            name = format!("{prefix}{}", &suffix[..5]);
        } else {
            return status_response(
                422,
                "Invalid",
                &format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", t.rt.kind),
                Some(details(&t.rt, "")),
            );
        }
    }
    let target = Target {
        rt: t.rt.clone(),
        namespace: if t.rt.namespaced {
            t.namespace
                .clone()
                .or_else(|| {
                    body.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| Some(st.namespace.clone()))
        } else {
            None
        },
        name: Some(name.clone()),
        subresource: None,
    };
    if let Err(r) = check_body(&mut body, &target, &name) {
        return r;
    }
    if body_rv(&body).is_some() {
        return bad_request("resourceVersion should not be set on objects to be created");
    }
    let key = key_of(&target, &name);
    if st.objects.contains_key(&key) {
        return status_response(
            409,
            "AlreadyExists",
            &format!("{} \"{name}\" already exists", t.rt.qualified_plural()),
            Some(details(&t.rt, &name)),
        );
    }
    let manager = req
        .query_param("fieldManager")
        .unwrap_or("unknown")
        .to_string();
    let applied = applied_config(&body);
    strip_server_fields(&mut body);
    set_managed_fields(
        &mut body,
        &manager,
        "Update",
        &t.rt.group_version(),
        &applied,
    );
    st.fill_server_fields(&mut body, None, &t.rt);
    if !is_dry_run(req) {
        st.put(key, body.clone());
    }
    Response::json(201, &body)
}

fn patch(st: &mut State, req: &Request, t: &Target) -> Response {
    let content_type = req
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => apply(st, req, t),
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            merge_patch_object(st, req, t)
        }
        other => status_response(
            415,
            "UnsupportedMediaType",
            &format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {other:?}; the emulator does not implement application/json-patch+json)"),
            None,
        ),
    }
}

fn apply(st: &mut State, req: &Request, t: &Target) -> Response {
    let name = t.name.clone().unwrap_or_default();
    let Some(manager) = req.query_param("fieldManager").filter(|m| !m.is_empty()) else {
        return bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set");
    };
    let manager = manager.to_string();
    let mut body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = check_body(&mut body, t, &name) {
        return r;
    }
    let key = key_of(t, &name);
    let applied = applied_config(&body);
    let gv = t.rt.group_version();
    let old = st.objects.get(&key).cloned();
    let (obj, code) = match &old {
        None => {
            if body_rv(&body).is_some() {
                return conflict(t, &name);
            }
            let mut obj = body.clone();
            strip_server_fields(&mut obj);
            set_managed_fields(&mut obj, &manager, "Apply", &gv, &applied);
            st.fill_server_fields(&mut obj, None, &t.rt);
            (obj, 201)
        }
        Some(old) => {
            if body_rv(&body).is_some_and(|rv| rv != stored_rv(old)) {
                return conflict(t, &name);
            }
            let mut obj = old.clone();
            if let Some(prev) = st.applied.get(&(key.clone(), manager.clone())) {
                remove_dropped(&mut obj, prev, &applied);
            }
            merge_apply(&mut obj, &applied);
            obj["apiVersion"] = json!(gv);
            obj["kind"] = json!(t.rt.kind);
            let without_mf = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("managedFields");
                }
                v
            };
            if without_mf(&obj) == without_mf(old) {
                // A no-op apply changes nothing, not even the resourceVersion.
                st.applied.insert((key, manager), applied);
                return Response::json(200, &present(old, &t.rt));
            }
            set_managed_fields(&mut obj, &manager, "Apply", &gv, &applied);
            st.fill_server_fields(&mut obj, Some(old), &t.rt);
            (obj, 200)
        }
    };
    if !is_dry_run(req) {
        st.applied.insert((key.clone(), manager), applied);
        st.put(key, obj.clone());
    }
    Response::json(code, &obj)
}

fn merge_patch_object(st: &mut State, req: &Request, t: &Target) -> Response {
    let name = t.name.clone().unwrap_or_default();
    let key = key_of(t, &name);
    let Some(old) = st.objects.get(&key).cloned() else {
        return not_found(&t.rt, &name);
    };
    let body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body_rv(&body).is_some_and(|rv| rv != stored_rv(&old)) {
        return conflict(t, &name);
    }
    let mut obj = old.clone();
    if req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/strategic-merge-patch"))
    {
        strategic_merge(&mut obj, &body);
    } else {
        merge_patch(&mut obj, &body);
    }
    let mut check = obj.clone();
    if let Err(r) = check_body(&mut check, t, &name) {
        return r;
    }
    obj = check;
    if obj == old {
        return Response::json(200, &present(&old, &t.rt));
    }
    let manager = req
        .query_param("fieldManager")
        .unwrap_or("unknown")
        .to_string();
    set_managed_fields(
        &mut obj,
        &manager,
        "Update",
        &t.rt.group_version(),
        &applied_config(&strip_directives(&body)),
    );
    st.fill_server_fields(&mut obj, Some(&old), &t.rt);
    if !is_dry_run(req) {
        st.put(key, obj.clone());
    }
    Response::json(200, &obj)
}

fn update(st: &mut State, req: &Request, t: &Target) -> Response {
    let name = t.name.clone().unwrap_or_default();
    let key = key_of(t, &name);
    let Some(old) = st.objects.get(&key).cloned() else {
        return not_found(&t.rt, &name);
    };
    let mut body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = check_body(&mut body, t, &name) {
        return r;
    }
    if body_rv(&body).is_some_and(|rv| rv != stored_rv(&old)) {
        return conflict(t, &name);
    }
    if let Some(mf) = old.pointer("/metadata/managedFields") {
        if body.pointer("/metadata/managedFields").is_none() {
            body["metadata"]["managedFields"] = mf.clone();
        }
    }
    st.fill_server_fields(&mut body, Some(&old), &t.rt);
    if !is_dry_run(req) {
        st.put(key, body.clone());
    }
    Response::json(200, &body)
}

fn delete(st: &mut State, req: &Request, t: &Target) -> Response {
    let name = t.name.clone().unwrap_or_default();
    let key = key_of(t, &name);
    let Some(old) = st.objects.get(&key).cloned() else {
        return not_found(&t.rt, &name);
    };
    if !is_dry_run(req) {
        st.take(&key);
        if t.rt.group.is_empty() && t.rt.kind == "Namespace" {
            // Namespace deletion removes everything in it at once (no Terminating phase).
            let inside: Vec<Key> = st
                .objects
                .keys()
                .filter(|(_, _, ns, _)| *ns == name)
                .cloned()
                .collect();
            for k in inside {
                st.take(&k);
            }
        }
    }
    let mut d = details(&t.rt, &name);
    d["uid"] = old.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
    Response::json(
        200,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": d,
        }),
    )
}
