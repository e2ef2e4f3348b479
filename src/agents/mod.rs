//! The agents: each one's parameter declaration, and what its actions do with the domain and
//! protocol modules, mapped onto the exit codes of its runtime ([`crate::ocf`] or
//! [`crate::fence`]). Every binary under `src/bin/` is one call into this module.
//!
//! The lists below are the one place that names the agents; a test holds every other list of
//! them (the packages' assets, `packaging/gen-docs.sh`, the lab's staging, the integration
//! tests' lists) to it.

pub mod axigen;
pub mod drbd;
pub mod drbd_handler;
pub mod ipmi;
pub mod pdu;
pub mod redfish;
pub mod vip;

use crate::fence::FenceSpec;
use crate::ocf::AgentSpec;

/// The OCF resource agents (`ocf:bulwark:<name>`), in the order the docs list them.
pub static OCF_AGENTS: &[&AgentSpec] = &[&vip::SPEC, &drbd::SPEC, &axigen::SPEC];

/// The fence agents, in the order the docs list them.
pub static FENCE_AGENTS: &[&FenceSpec] = &[
    &ipmi::IPMI_SPEC,
    &ipmi::IDRAC_SPEC,
    &pdu::SPEC,
    &redfish::SPEC,
];

/// DRBD's handlers: no cluster agents, so no metadata.
pub static DRBD_HANDLERS: &[&str] = &[drbd_handler::FENCE_PEER, drbd_handler::UNFENCE_PEER];

/// Every binary the package installs: OCF agents, fence agents, DRBD handlers.
pub fn binaries() -> Vec<&'static str> {
    OCF_AGENTS
        .iter()
        .map(|s| s.name)
        .chain(FENCE_AGENTS.iter().map(|s| s.name))
        .chain(DRBD_HANDLERS.iter().copied())
        .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Checks every agent's tests run on its own declaration.

    use crate::deadline::Deadline;
    use crate::fence::FenceAgent;
    use crate::log::Logger;
    use crate::ocf::{Action, Context, Meta, ResourceAgent};
    use crate::params::Values;
    use std::collections::BTreeSet;
    use std::time::Duration;

    /// The parameters `configure` leaves unread with these values: every declared one must be
    /// read (a parameter nothing reads is a knob without effect the metadata advertises).
    pub fn ocf_unread<A: ResourceAgent>(
        agent: &A,
        params: &[(&str, &str)],
        meta: &[(&str, &str)],
    ) -> Vec<&'static str> {
        let (values, _) = Values::collect(agent.spec().params, params.iter().copied());
        values.validate().expect("the test's values are valid");
        let ctx = Context {
            action: Action::Monitor,
            params: values,
            meta: Meta::from_vars(
                meta.iter()
                    .map(|(k, v)| (format!("OCF_RESKEY_CRM_meta_{k}"), v.to_string())),
            ),
            deadline: Deadline::after(Duration::from_secs(5)),
            log: Logger::silent(),
            instance: "test".into(),
        };
        if let Err(e) = agent.configure(&ctx) {
            panic!("configure refused the test's values: {e}");
        }
        ctx.params.unread()
    }

    /// The parameters no request of `cases` (stdin texts) read, through parsing, the
    /// runtime's request and the agent's own checks.
    pub fn fence_unread<A: FenceAgent>(agent: &A, cases: &[&str]) -> Vec<&'static str> {
        let decl = crate::fence::declaration(agent.spec());
        let mut read = BTreeSet::new();
        let mut all = Vec::new();
        for stdin in cases {
            let req = crate::fence::runtime::check_request(agent, decl, &[], stdin)
                .unwrap_or_else(|e| panic!("{stdin}: {e}"));
            read.extend(req.values.read());
            all = req.values.unread();
        }
        all.retain(|n| !read.contains(n));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{params, Decl};
    use std::collections::BTreeSet;

    fn declarations() -> Vec<(&'static str, Decl)> {
        OCF_AGENTS
            .iter()
            .map(|s| (s.name, s.params))
            .chain(
                FENCE_AGENTS
                    .iter()
                    .map(|s| (s.name, crate::fence::declaration(s))),
            )
            .collect()
    }

    /// A name, alias or short letter given twice would make one parameter shadow another (the
    /// first match wins in every lookup), and the metadata would list both.
    #[test]
    fn names_aliases_and_short_letters_are_unique_in_every_declaration() {
        for (agent, decl) in declarations() {
            let mut names = BTreeSet::new();
            let mut letters = BTreeSet::new();
            for p in params(decl) {
                for n in std::iter::once(p.name).chain(p.aliases.iter().copied()) {
                    // Options are spelt with '-' for '_' on the command line.
                    assert!(
                        names.insert(n.replace('-', "_")),
                        "{agent}: '{n}' is declared twice"
                    );
                }
                if let Some(c) = p.short {
                    assert!(letters.insert(c), "{agent}: -{c} is declared twice");
                    assert!(!matches!(c, 'h' | 'V'), "{agent}: -{c} is -h/-V");
                }
            }
        }
    }

    /// A select's default is one of its options, and every default passes its own check.
    #[test]
    fn every_default_is_valid() {
        for (agent, decl) in declarations() {
            for d in decl.iter() {
                if let Some(default) = d.param().default {
                    assert_eq!(d.check(default), Ok(()), "{agent}: {}", d.param().name);
                }
            }
        }
    }

    fn read(path: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The words of a shell `for X in a b c; do` line that starts with `prefix`.
    fn for_list(text: &str, prefix: &str) -> Vec<String> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line '{prefix}…'"));
        line[prefix.len()..]
            .split(';')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// The quoted words of the first `["a", "b"]` list after `marker`.
    fn quoted_list(text: &str, marker: &str) -> Vec<String> {
        let start = text.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
        let rest = &text[start..];
        // The first `[` that opens a list of strings (not `&[&str]`).
        let open = rest
            .match_indices('[')
            .map(|(i, _)| i)
            .find(|i| rest[i + 1..].trim_start().starts_with('"'))
            .unwrap_or(0);
        let rest = &rest[open..];
        let list = &rest[..rest.find(']').unwrap_or(rest.len())];
        list.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn names(list: impl IntoIterator<Item = &'static str>) -> Vec<String> {
        list.into_iter().map(str::to_string).collect()
    }

    /// Every list of the agents elsewhere agrees with the one here.
    #[test]
    fn every_list_of_the_agents_is_this_one() {
        let ocf = names(OCF_AGENTS.iter().map(|s| s.name));
        let fence = names(FENCE_AGENTS.iter().map(|s| s.name));
        let all: BTreeSet<String> = names(binaries()).into_iter().collect();

        let bins: BTreeSet<String> =
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin"))
                .expect("src/bin")
                .filter_map(|e| {
                    let name = e.ok()?.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".rs").map(str::to_string)
                })
                .collect();
        assert_eq!(bins, all, "src/bin/");

        let cargo = read("Cargo.toml");
        let (deb, rpm) = cargo
            .split_once("[package.metadata.generate-rpm]")
            .expect("an rpm section");
        for (what, section) in [("deb", deb), ("rpm", rpm)] {
            let assets: BTreeSet<String> = section
                .split("\"target/release/")
                .skip(1)
                .map(|s| s.split('"').next().unwrap_or("").to_string())
                .collect();
            assert_eq!(assets, all, "Cargo.toml {what} assets");
        }

        let gen_docs = read("packaging/gen-docs.sh");
        assert_eq!(for_list(&gen_docs, "for a in"), ocf, "gen-docs.sh");
        assert_eq!(for_list(&gen_docs, "for f in"), fence, "gen-docs.sh");
        let stage = read("crm-examples/lab/stage-agents.sh");
        assert_eq!(for_list(&stage, "for agent in"), ocf, "stage-agents.sh");
        assert_eq!(
            quoted_list(&read("tests/support/stage.rs"), "OCF_AGENTS"),
            ocf,
            "tests/support/stage.rs"
        );
        let metadata_test = read("tests/metadata.rs");
        assert_eq!(
            quoted_list(&metadata_test, "\"ocf\" =>"),
            ocf,
            "tests/metadata.rs"
        );
        assert_eq!(
            quoted_list(&metadata_test, "_ =>"),
            fence,
            "tests/metadata.rs"
        );
        // The lab stages every fence agent by its common prefix.
        assert!(fence.iter().all(|f| f.starts_with("fence_bulwark_")));
        assert!(stage.contains("\"$target\"/fence_bulwark_*"));
    }
}
