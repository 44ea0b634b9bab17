//! Drives the real kubectl against the test-support API emulator.

mod support;

use serde_json::{json, Value};
use support::Emulator;

fn cm(ns: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": ns, "labels": labels},
           "data": {"k": "v"}})
}

#[test]
fn probe() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![cm("ns", "a", json!({"app": "x"}))]);
    let out = emu.kubectl(&["get", "configmaps", "-n", "ns", "-o", "json"], None);
    println!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{:#?}", emu.request_log());
}
