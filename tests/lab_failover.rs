//! End to end: the two-node lab (`crm-examples/lab/bulwark-lab`) comes up with the whole Axigen
//! stack on Bulwark's agents, survives every failover scenario with no acknowledged mail lost,
//! and goes down leaving nothing behind, also after a failed `up`.
//!
//! Needs root and the lab's Debian 12 packages (tests/install-deps.sh), and the workspace's
//! binaries built (`cargo build --workspace --bins`: the agents, drbd-sim, axigen-standin).
//! One lab is shared by all scenarios (they follow one another as an operator would run them;
//! each repairs the lab before the next). Timings are printed, never asserted.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::{
    built_package, expect_success, lab_scripts_dir, run_within, unique_name, LabDir, PackageKind,
};

/// Bound on one lab command (`up` on a busy machine, a scenario including the repair).
const LAB_COMMAND_TIMEOUT: Duration = Duration::from_secs(900);

/// One lab with its own directory and namespace prefix; `down` on drop, even after a panic.
struct Lab {
    prefix: String,
    agents: &'static str,
    dir: LabDir,
}

impl Lab {
    fn new(agents: &'static str) -> Lab {
        Lab {
            prefix: unique_name("bl"),
            agents,
            dir: LabDir::new("lab2"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(lab_scripts_dir().join("bulwark-lab"));
        cmd.args(args)
            .env("LAB_DIR", self.dir.path())
            .env("LAB_PREFIX", &self.prefix)
            .env("LAB_AGENTS", self.agents)
            .env("LAB_BIN_DIR", support::bin_dir())
            .env("LAB_NO_INSTALL", "1");
        if self.agents == "package" {
            cmd.env("LAB_PACKAGE", built_package(PackageKind::Deb));
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        run_within(&mut self.command(args), LAB_COMMAND_TIMEOUT)
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let what = format!(
            "bulwark-lab {} (lab {})",
            args.join(" "),
            self.dir.path().display()
        );
        expect_success(&what, &out)
    }

    /// Namespaces of this lab that still exist.
    fn namespaces(&self) -> Vec<String> {
        let out = support::run(Command::new("ip").args(["netns", "list"]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&self.prefix))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ =
            bulwark::process::run_captured(&mut self.command(&["down"]), support::COMMAND_TIMEOUT);
    }
}

/// Processes still running that were started for the lab in `dir`: everything the lab starts
/// inherits `LAB_DIR=<dir>` in its environment (nodes, daemons, simulators, the client).
fn processes_of(dir: &Path) -> Vec<u32> {
    let needle = format!("LAB_DIR={}", dir.display());
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(e.path().join("stat"))
            .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')));
        if !zombie && env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// The `RESULT key=value ...` line a scenario ends with.
fn result_of(output: &str) -> HashMap<String, String> {
    let line = output
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line in:\n{output}"));
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn other(node: &str) -> &'static str {
    if node == "node1" {
        "node2"
    } else {
        "node1"
    }
}

#[test]
fn lab_up_every_failover_scenario_and_down() {
    let lab = Lab::new("ours");
    let up = lab.run_ok(&["up"]);
    // up ends with crm_mon: the whole stack Started on one node, and the banner on the VIP
    for rsc in ["mail-fs", "mail-ip", "mail-axigen"] {
        assert!(
            up.lines()
                .any(|l| l.contains(rsc) && l.contains("Started node")),
            "{rsc} not Started in:\n{up}"
        );
    }
    assert!(
        up.contains("ESMTP Axigen"),
        "no SMTP banner on the VIP:\n{up}"
    );
    assert_eq!(lab.namespaces().len(), 4, "{:?}", lab.namespaces());

    let mut report = Vec::new();
    for scenario in ["power", "corosync", "axigen", "link", "bmc"] {
        let out = lab.run_ok(&["failover", scenario]);
        let r = result_of(&out);
        let from = r["from"].clone();
        let moved = scenario != "axigen";
        let expect_to = if moved { other(&from) } else { from.as_str() };
        assert_eq!(
            r["to"], expect_to,
            "{scenario}: served by the wrong node\n{out}"
        );
        let expect_fence = match scenario {
            "power" | "corosync" => format!("fence-{from}-idrac"),
            "bmc" => "fence-pdu".to_string(),
            _ => "none".to_string(),
        };
        assert_eq!(
            r["fenced_by"], expect_fence,
            "{scenario}: fence device\n{out}"
        );
        let acked_before: u32 = r["acked_before_fault"].parse().unwrap_or(0);
        assert!(
            acked_before >= 5,
            "{scenario}: too little mail before the fault\n{out}"
        );
        assert_eq!(
            r["missing"], "0",
            "{scenario}: acknowledged mail lost\n{out}"
        );
        assert_eq!(
            r["settled"], "yes",
            "{scenario}: the lab did not recover\n{out}"
        );
        report.push(format!(
            "{scenario}: {from} -> {} in {} s, fenced by {}, {} messages acknowledged",
            r["to"], r["seconds"], r["fenced_by"], r["acked"]
        ));
    }
    eprintln!("lab failover scenarios (ours):\n  {}", report.join("\n  "));

    let status = lab.run_ok(&["status"]);
    assert!(status.contains("ESMTP Axigen"), "{status}");

    lab.run_ok(&["down"]);
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
    let left = processes_of(lab.dir.path());
    assert!(left.is_empty(), "processes left after down: {left:?}");
}

/// The path a deployment takes: every node runs the agents `dpkg -i` installed from the .deb
/// (packaging/build-packages.sh), and the active node's power loss still fails over.
#[test]
fn lab_on_the_installed_package_fails_over_a_power_loss() {
    let lab = Lab::new("package");
    let up = lab.run_ok(&["up"]);
    assert!(
        up.contains("ESMTP Axigen"),
        "no SMTP banner on the VIP:\n{up}"
    );
    for n in ["node1", "node2"] {
        let log = lab.dir.path().join(n).join("dpkg.out");
        let text = std::fs::read_to_string(&log)
            .unwrap_or_else(|e| panic!("{}: {e} (was the package installed?)", log.display()));
        assert!(
            text.contains("Setting up bulwark-agents"),
            "{n}: dpkg -i did not install the package:\n{text}"
        );
    }
    // nothing of ours was copied in from the build: the agents can only be the package's
    let staged = lab.dir.path().join("stage/resource.d/bulwark/vip");
    assert!(
        !staged.exists(),
        "{} staged beside the package",
        staged.display()
    );

    let out = lab.run_ok(&["failover", "power"]);
    let r = result_of(&out);
    assert_eq!(r["agents"], "package", "{out}");
    assert_eq!(
        r["to"],
        other(&r["from"]),
        "served by the wrong node\n{out}"
    );
    assert_eq!(
        r["fenced_by"],
        format!("fence-{}-idrac", r["from"]),
        "{out}"
    );
    assert_eq!(r["missing"], "0", "acknowledged mail lost\n{out}");
    assert_eq!(r["settled"], "yes", "the lab did not recover\n{out}");
    eprintln!(
        "lab on the package: power {} -> {} in {} s, {} messages acknowledged",
        r["from"], r["to"], r["seconds"], r["acked"]
    );
    lab.run_ok(&["down"]);
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
}

#[test]
fn failed_up_leaves_nothing_behind() {
    // An agent set lab-config.sh does not know: up fails after the nodes, BMCs and PDU started.
    let lab = Lab::new("no-such-agents");
    let out = lab.run(&["up"]);
    assert!(!out.status.success(), "up succeeded with a bogus agent set");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("up failed"), "{stderr}");
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
    let left = processes_of(lab.dir.path());
    assert!(
        left.is_empty(),
        "processes left after a failed up: {left:?}"
    );
    // and down after it is harmless
    lab.run_ok(&["down"]);
}
