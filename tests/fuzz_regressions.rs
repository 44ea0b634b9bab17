//! Inputs found by the cargo-fuzz targets in `fuzz/` (see README, "Fuzzing"): each must give a
//! clean error (or a clean result), never a panic, stack overflow or abort.

use kpipe::values::{self, SetKind, MAX_PATH_DEPTH};
use serde_yaml::Value;

/// fuzz `values_set`: `--set a.a.a…=1` with tens of thousands of key segments built a value
/// that deep, and dropping (or merging, rendering) it overflowed the stack: abort, exit 134.
#[test]
fn fuzz_values_set_1_deep_set_path_is_an_error() {
    for kind in [SetKind::Infer, SetKind::String, SetKind::Yaml] {
        let arg = format!("{}=1", vec!["a"; 60_000].join("."));
        let err = values::parse_set("--set", &arg, kind).unwrap_err();
        assert!(format!("{err:#}").contains("60000 levels deep"), "{err:#}");
        let arg = format!("a{}=1", "[0]".repeat(20_000));
        let err = values::parse_set("--set", &arg, kind).unwrap_err();
        assert!(format!("{err:#}").contains("levels deep"), "{err:#}");
    }
    // At the limit it still works.
    let arg = format!("{}=1", vec!["a"; MAX_PATH_DEPTH].join("."));
    let a = values::parse_set("--set", &arg, SetKind::Infer).unwrap();
    let mut v = Value::Mapping(Default::default());
    values::apply(&mut v, &a[0]).unwrap();
}

/// The same through `--values-env PREFIX`: `PREFIX_a__a__…=v` is refused when applied.
#[test]
fn fuzz_values_set_1_deep_values_env_path_is_an_error() {
    let name = format!("KP_{}", vec!["a"; 60_000].join("__"));
    let assignments = values::from_env("KP", std::iter::once((name, "v".to_string())));
    assert_eq!(assignments.len(), 1);
    let mut v = Value::Mapping(Default::default());
    let err = values::apply(&mut v, &assignments[0]).unwrap_err();
    assert!(format!("{err:#}").contains("levels deep"), "{err:#}");
}

/// fuzz `values_set`: a 63 KB `--set` argument of 45 keys, each `[10000]` 199 levels deep, asked
/// for ~90 million null list items: out of memory (over 2 GB) after two minutes.
#[test]
fn fuzz_values_set_2_list_padding_is_bounded() {
    let key = |i: usize| format!("k{i}{}", "[10000]".repeat(199));
    let arg: Vec<String> = (0..45).map(|i| format!("{}=1", key(i))).collect();
    let err = values::parse_set("--set", &arg.join(","), SetKind::Infer).unwrap_err();
    assert!(
        format!("{err:#}").contains("list indexes add up to"),
        "{err:#}"
    );
    let many: Vec<String> = (0..12).map(|i| format!("a{i}[10000]={i}")).collect();
    let err = values::parse_set("--set", &many.join(","), SetKind::Infer).unwrap_err();
    assert!(
        format!("{err:#}").contains("list indexes add up to 120000"),
        "{err:#}"
    );
    // Ordinary indexing is untouched.
    let a = values::parse_set("--set", "a[0].b=1,a[1].b=2,c[10000]=x", SetKind::Infer).unwrap();
    assert_eq!(a.len(), 3);
}
