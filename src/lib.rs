//! Bulwark: Pacemaker OCF resource agents and fence agents for a two-node Axigen cluster.
//!
//! One library in layers, each importing only from those below it:
//! - binaries (`src/bin/`): one call each into [`agents`];
//! - [`agents`]: every agent (and the DRBD handlers) declares its parameters once, as typed
//!   handles ([`params::P`]), and maps what its actions do onto its runtime's exit codes;
//! - runtimes: [`ocf`] and [`fence`], the two agent APIs, each with its own metadata and man
//!   page rendered from the declaration;
//! - domain ([`net`], [`drbd`], [`axigen`]) and protocols ([`proto`]: IPMI, SNMP, Redfish):
//!   what is managed and how it is spoken to; none of them imports a runtime or decides an exit
//!   code;
//! - base: [`params`], [`man`] (roff), [`log`], [`deadline`], [`process`], [`secret`],
//!   [`codec`], [`power`].

pub mod agents;
pub mod axigen;
pub mod codec;
pub mod deadline;
pub mod drbd;
pub mod fence;
#[doc(hidden)]
pub mod fuzzing;
pub mod log;
pub mod man;
pub mod net;
pub mod ocf;
pub mod params;
pub mod power;
pub mod process;
pub mod proto;
pub mod secret;

#[cfg(test)]
mod layers {
    //! The layers of the crate documentation, checked on the source: which top-level module
    //! names which (`crate::x` outside comments and tests).

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    const BASE: &[&str] = &[
        "params", "man", "log", "deadline", "process", "secret", "codec", "power",
    ];

    fn layer(module: &str) -> Option<u8> {
        Some(match module {
            m if BASE.contains(&m) => 0,
            "proto" => 1,
            "net" | "drbd" | "axigen" => 1,
            "ocf" | "fence" => 2,
            "agents" => 3,
            _ => return None,
        })
    }

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Every source file under `src/`: its path parts (without `.rs`) and the module names
    /// that follow one of `prefixes` in its non-test, non-comment code.
    fn named_after(prefixes: impl Fn(&[String]) -> Vec<String>) -> Vec<(Vec<String>, Vec<String>)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut out = Vec::new();
        for f in files {
            let parts: Vec<String> = f
                .strip_prefix(&src)
                .expect("under src")
                .components()
                .map(|c| {
                    c.as_os_str()
                        .to_string_lossy()
                        .trim_end_matches(".rs")
                        .to_string()
                })
                .collect();
            let text = std::fs::read_to_string(&f).expect("source");
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let mut names = Vec::new();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for prefix in prefixes(&parts) {
                    for (i, _) in line.match_indices(prefix.as_str()) {
                        let name: String = line[i + prefix.len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            names.push(name);
                        }
                    }
                }
            }
            out.push((parts, names));
        }
        out
    }

    /// Top-level module → the top-level modules it names.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (parts, names) in named_after(|_| vec!["crate::".to_string()]) {
            let module = &parts[0];
            if matches!(module.as_str(), "bin" | "lib" | "fuzzing") {
                continue;
            }
            for name in names {
                if name != *module && name != "choices" {
                    graph.entry(module.clone()).or_default().insert(name);
                }
            }
        }
        graph
    }

    #[test]
    fn every_module_imports_only_from_layers_below_and_protocols_no_runtime() {
        let graph = imports();
        // The scan sees imports at all: the agents use both runtimes.
        assert!(graph["agents"].contains("fence") && graph["agents"].contains("ocf"));
        assert!(child_imports()["axigen::service"].contains("axigen::probe"));
        for (module, names) in graph {
            let own = layer(&module).unwrap_or_else(|| panic!("{module} has no layer"));
            for n in names {
                let theirs = layer(&n).unwrap_or_else(|| panic!("{module} names {n}"));
                let sideways_in_base = own == 0 && theirs == 0;
                assert!(
                    theirs < own || sideways_in_base,
                    "{module} (layer {own}) imports {n} (layer {theirs})"
                );
            }
        }
    }

    /// Within each top-level module: child module → the sibling children it names
    /// (`super::x` from a child file, or `crate::top::x`).
    fn child_imports() -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let prefixes = |parts: &[String]| match parts {
            [top, _] => vec!["super::".to_string(), format!("crate::{top}::")],
            _ => Vec::new(),
        };
        for (parts, names) in named_after(prefixes) {
            let [top, child] = parts.as_slice() else {
                continue;
            };
            if top == "bin" || child == "mod" {
                continue;
            }
            for name in names {
                if name != *child {
                    graph
                        .entry(format!("{top}::{child}"))
                        .or_default()
                        .insert(format!("{top}::{name}"));
                }
            }
        }
        graph
    }

    #[test]
    fn no_import_cycle_between_modules() {
        let graph: BTreeMap<String, BTreeSet<String>> =
            imports().into_iter().chain(child_imports()).collect();
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if done.contains(m) {
                return;
            }
            assert!(!path.iter().any(|p| p == m), "import cycle: {path:?} → {m}");
            path.push(m.to_string());
            for n in graph.get(m).into_iter().flatten() {
                visit(n, graph, path, done);
            }
            path.pop();
            done.insert(m.to_string());
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            visit(m, &graph, &mut Vec::new(), &mut done);
        }
    }
}
