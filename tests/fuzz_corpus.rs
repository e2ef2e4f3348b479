//! Replays every committed fuzz corpus file (`fuzz/corpus/TARGET/*`) through the same entry
//! points the fuzz targets call, so every `cargo test` re-checks what fuzzing once found,
//! without cargo-fuzz or a nightly compiler.

use std::path::{Path, PathBuf};

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("ipmi", bulwark::fuzzing::ipmi),
    ("fence_request", bulwark::fuzzing::fence_request),
    ("ocf_env", bulwark::fuzzing::ocf_env),
    ("drbd_status", bulwark::fuzzing::drbd_status),
    ("cluster_xml", bulwark::fuzzing::cluster_xml),
    ("axigen", bulwark::fuzzing::axigen),
    ("rtnl", bulwark::fuzzing::rtnl),
    ("snmp_outlet", bulwark::fuzzing::snmp_outlet),
    ("redfish", bulwark::fuzzing::redfish),
];

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_a_binary_and_a_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in TARGETS {
        assert!(
            root.join(format!("fuzz_targets/{name}.rs")).is_file(),
            "fuzz target {name} has no source"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz target {name} is not declared in fuzz/Cargo.toml"
        );
        // A handful of seeds at least: an empty corpus would make the replay vacuous.
        assert!(
            corpus(name).len() >= 3,
            "fuzz/corpus/{name} has fewer than 3 inputs"
        );
    }
    let declared = manifest.matches("[[bin]]").count();
    assert_eq!(
        declared,
        TARGETS.len(),
        "a fuzz target is not replayed here"
    );
}

#[test]
fn committed_corpora_replay_without_a_panic() {
    let mut replayed = 0;
    for (name, entry) in TARGETS {
        for file in corpus(name) {
            let data = std::fs::read(&file).expect("corpus file");
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(outcome.is_ok(), "{name}: {} panics", file.display());
            replayed += 1;
        }
    }
    assert!(replayed >= 3 * TARGETS.len());
}
