//! Test support: a **test double** of the Kubernetes API server, for driving the real
//! `/usr/bin/kubectl` (client v1.32) in integration tests on a machine without a cluster.
//!
//! It is not a Kubernetes implementation: no admission, no schemas, no controllers, no garbage
//! collection, no authentication. It serves just what kubectl needs for `get` (also `-w`),
//! `apply --server-side`, `apply`, `diff`, `create`, `replace`, `patch`, `label`, `delete` and
//! `wait`, over plain HTTP/1.1 on `127.0.0.1:<random port>`, one thread per connection, and stops
//! when dropped (open connections and watches end within ~100 ms).
//!
//! ```ignore
//! mod support;
//! use support::Emulator;
//!
//! let emu = Emulator::from_dir("tests/fixtures/live");      // or Emulator::start(vec![json!(…)])
//! if support::skip_without_kubectl() { return; }
//! let out = emu.kubectl(&["get", "configmaps", "-n", "ns", "-o", "json"], None);
//! assert!(emu.request_log().contains(&"GET /api/v1/namespaces/ns/configmaps".to_string()));
//! ```
//!
//! What it serves:
//! - Discovery: `/version` (v1.32.4, which also keeps gcloud's kubectl dispatcher on 1.32),
//!   `/api`, `/apis`, `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>`. kubectl first asks for
//!   aggregated discovery; the plain `APIVersions`/`APIGroupList` JSON it gets back is accepted.
//!   Types: [`resources::BUILTIN`], plus builder-added ones, plus served versions of stored
//!   `CustomResourceDefinition`s, plus kinds of loaded objects the table does not know (naive plural).
//! - Reads: GET one object, LIST per namespace or across namespaces with `labelSelector`
//!   (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `in`, `notin`) and `fieldSelector` (`metadata.name`,
//!   `metadata.namespace`); `Accept: …as=Table` gets a Name/Created At table for human output.
//! - Watch: `?watch=true` on a collection streams `ADDED`/`MODIFIED`/`DELETED` events (chunked
//!   JSON) for every change made through the API or the test hooks, from the given
//!   `resourceVersion` (or the current objects as `ADDED` first when it is empty or `0`), until
//!   `timeoutSeconds` (at most 60 s). Enough for `kubectl wait --for=condition=…|delete` and
//!   `kubectl get -w`. No bookmarks, no 410 Gone (all events are kept).
//! - Namespaces: `GET /api/v1/namespaces/<ns>` answers for stored Namespaces, the system
//!   namespaces, the context namespace and any namespace holding an object (synthesized, not stored).
//! - Writes: POST create (409 AlreadyExists), PUT replace, DELETE (200 `Status` Success; 404 if
//!   absent; deleting a Namespace removes its objects), PATCH with
//!   `application/apply-patch+yaml` (server-side apply, body JSON or YAML, created if absent),
//!   `application/merge-patch+json` (RFC 7386) and `application/strategic-merge-patch+json`
//!   (a JSON merge patch where lists of objects that all carry `name` merge by `name` and the
//!   `$patch`/`$retainKeys`/`$setElementOrder`/`$deleteFromPrimitiveList` directives are honoured;
//!   see [`emulator::strategic_merge`]). `application/json-patch+json` is refused (415).
//!   `dryRun=All` is honoured.
//! - Server-side apply approximation: maps merge recursively, lists and scalars are replaced,
//!   `null` removes; map keys the same field manager applied last time and no longer applies are
//!   removed. No ownership conflicts between managers (`force` is ignored). `managedFields` gets
//!   one entry per manager/operation whose `fieldsV1` lists the applied map keys (lists are
//!   leaves). A no-op apply leaves the object and its resourceVersion alone.
//! - Optimistic concurrency: a `metadata.resourceVersion` in an apply/patch/replace body that
//!   differs from the stored one (or is set on an apply of an absent object) gives 409 `Conflict`,
//!   "Operation cannot be fulfilled on <plural>[.<group>] "<name>": the object has been modified;
//!   please apply your changes to the latest version and try again".
//! - Server-managed fields: every write sets `metadata.uid`, `creationTimestamp`, `generation`
//!   (bumped when anything outside metadata/status changes) and a new `resourceVersion` from one
//!   global counter. Fixture objects are kept as given; only a missing `resourceVersion` is added.
//! - Versions are not converted: an object is stored once per (group, kind, namespace, name) and
//!   served with the apiVersion of the URL it is read through.
//!
//! **Validation / OpenAPI decision.** `kubectl apply` validates by default, and first checks
//! whether the server supports server-side field validation by looking in `/openapi/v3` for a
//! PATCH operation of the kind with a `fieldValidation` query parameter. The emulator serves a
//! minimal OpenAPI v3 (root + one document per group/version with exactly that operation and no
//! schemas), so **tests run `kubectl apply` with default validation — no `--validate=false`**;
//! kubectl then sends `fieldValidation=Strict`, which the emulator accepts without checking
//! fields. `/openapi/v2` is not served (404): kubectl only needs it for client-side validation,
//! which it skips once the v3 check passes. Client-side `kubectl apply` (and `kubectl diff`) also
//! work: kubectl asks for `/openapi/v2`, gets 404 and falls back to a schema-less strategic merge
//! patch, which the emulator approximates. `kubectl explain` needs real schemas: not supported.
//!
//! Test hooks: [`Emulator::set`], [`Emulator::get`], [`Emulator::remove`],
//! [`Emulator::objects`], [`Emulator::fail_next`] / [`Emulator::fail_when`] (403 gives the real
//! server's Forbidden message), [`Emulator::request_log`].
//!
//! Counting requests: `/usr/bin/kubectl` is gcloud's dispatcher, which sends its own
//! `GET /version` before exec'ing kubectl 1.32; discovery is fetched once per emulator (cached).
//! [`Emulator::resource_requests`] leaves out `/version`, discovery and OpenAPI requests.
//! Fixture objects of namespaced kinds without `metadata.namespace` go to the context namespace
//! ([`EmulatorBuilder::namespace`], default `default`). [`Emulator::fail_next`] counts only
//! resource requests.
//!
//! What kubectl 1.32 prints (stderr, exit 1), as observed against this emulator:
//! - 404: `Error from server (NotFound): configmaps "nope" not found`
//!   (`workflows.argoproj.io "nope" not found` for a group)
//! - 403 (`fail_next(1, 403)`): `Error from server (Forbidden): configmaps "a" is forbidden: User
//!   "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "ns"`
//! - 503: `Error from server (ServiceUnavailable): the server is currently unable to handle the request`
//! - 409 on `apply --server-side`: `error: Operation cannot be fulfilled on workflows.argoproj.io
//!   "wf": the object has been modified; please apply your changes to the latest version and try
//!   again` followed by kubectl's "Please review the fields above--they currently have other
//!   managers…--force-conflicts…" help (kubectl prints that for any 409 from an apply).
//! - 409 on create: `Error from server (AlreadyExists): error when creating "STDIN": configmaps "c" already exists`
//! - emulator dropped: `The connection to the server 127.0.0.1:PORT was refused - did you specify
//!   the right host or port?`
//!
//! kubectl caches discovery on disk for hours, keyed by host:port; the helpers point kubectl's
//! `--cache-dir` (and `KUBECACHEDIR` in [`Emulator::env`]) at the emulator's own temp folder.

#![allow(dead_code)]

pub mod emulator;
pub mod http;
pub mod resources;
pub mod selector;

#[allow(unused_imports)]
pub use emulator::{Emulator, EmulatorBuilder, RequestRecord};
#[allow(unused_imports)]
pub use resources::ResourceType;

use std::path::PathBuf;

/// `/usr/bin/kubectl` if present, else the first `kubectl` on `PATH`.
pub fn kubectl_path() -> Option<PathBuf> {
    let usr = PathBuf::from("/usr/bin/kubectl");
    if usr.is_file() {
        return Some(usr);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("kubectl"))
            .find(|p| p.is_file())
    })
}

/// True (after printing `skipped: kubectl not found`) when no kubectl is installed; use as
/// `if support::skip_without_kubectl() { return; }`.
pub fn skip_without_kubectl() -> bool {
    if kubectl_path().is_some() {
        false
    } else {
        println!("skipped: kubectl not found");
        true
    }
}

/// Writes a Tanzu CLI config (`config-ng.yaml`) into `dir` whose active kubernetes context uses
/// `kubeconfig`; returns its path (for `TANZU_CONFIG_NEXT_GEN`).
pub fn tanzu_config(dir: &std::path::Path, kubeconfig: &std::path::Path) -> PathBuf {
    let cfg = dir.join("config-ng.yaml");
    std::fs::write(
        &cfg,
        format!(
            "contexts:\n- name: dev\n  contextType: kubernetes\n  clusterOpts:\n    path: {}\n    context: ''\ncurrentContext:\n  kubernetes: dev\n",
            kubeconfig.display()
        ),
    )
    .unwrap();
    cfg
}
