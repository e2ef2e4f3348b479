//! One node of the DRBD simulator (`tests/doubles/drbd-sim.rs`, the `drbd-sim` binary): its
//! state directory (`DRBD_SIM_DIR`) and the control verbs tests drive it with.

use super::{expect_success, run_within, workspace_bin, LabDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A simulated node's state directory, optionally paired with its peer's (`DRBD_SIM_PEER_DIR`).
pub struct SimNode {
    dir: PathBuf,
    peer: Option<PathBuf>,
}

impl SimNode {
    /// A node whose state lives in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> SimNode {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        SimNode { dir, peer: None }
    }

    /// A node of a simulated pair: `peer` is the other node's state directory.
    pub fn with_peer(dir: impl Into<PathBuf>, peer: impl Into<PathBuf>) -> SimNode {
        SimNode {
            peer: Some(peer.into()),
            ..SimNode::new(dir)
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `drbd-sim ctl ARGS`: sets state keys (`md_disk=Outdated`, `up=no`) or runs a verb
    /// (`finish-resync`). Panics with its stderr if it fails.
    pub fn ctl(&self, args: &[&str]) {
        let mut cmd = Command::new(workspace_bin("drbd-sim"));
        cmd.arg("ctl").args(args).env("DRBD_SIM_DIR", &self.dir);
        if let Some(peer) = &self.peer {
            cmd.env("DRBD_SIM_PEER_DIR", peer);
        }
        let out = run_within(&mut cmd, Duration::from_secs(30));
        expect_success("drbd-sim ctl", &out);
    }

    /// Sets or clears a misbehaviour flag (`hang`, `held-open`, `peer-disconnect` …).
    pub fn flag(&self, name: &str, on: bool) {
        let p = self.dir.join(name);
        if on {
            std::fs::write(&p, b"").unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        } else {
            let _ = std::fs::remove_file(p);
        }
    }

    /// A key of the simulator's state file ("" when unset).
    pub fn key(&self, key: &str) -> String {
        std::fs::read_to_string(self.dir.join("state"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
            .unwrap_or_default()
    }

    /// The node's role; the simulator starts Secondary, so an unset role reads Secondary.
    pub fn role(&self) -> String {
        match self.key("role") {
            r if r.is_empty() => "Secondary".into(),
            r => r,
        }
    }
}

/// One simulated node for running `ocf:bulwark:drbd` directly: `drbdadm`/`drbdsetup` (the
/// simulator) and a `crm_attribute` stand-in that records its calls and keeps the score in a
/// file, on a private PATH, plus a `crm_resource` that prints what the test wrote to `locate`.
pub struct AgentSim {
    pub dir: LabDir,
    pub node: SimNode,
}

impl AgentSim {
    pub fn new() -> AgentSim {
        let dir = LabDir::new("drbd-agent");
        let node = SimNode::new(dir.path().join("node"));
        let s = AgentSim { dir, node };
        std::fs::create_dir_all(s.root().join("bin")).unwrap();
        let sim = workspace_bin("drbd-sim");
        for name in ["drbdadm", "drbdsetup"] {
            std::os::unix::fs::symlink(&sim, s.root().join("bin").join(name)).unwrap();
        }
        // Records every call; `-G` answers with the last value set (105 when none), as the
        // real tool does for a missing attribute.
        s.script(
            "crm_attribute",
            "#!/bin/sh\nd=$(dirname \"$0\")/..\necho \"$*\" >> \"$d/attr.log\"\ncase \"$*\" in\n*-G*) [ -f \"$d/get-fails\" ] && { echo 'Could not connect to the CIB' >&2; exit 102; }; [ -f \"$d/score\" ] || exit 105; cat \"$d/score\";;\n*-D*) rm -f \"$d/score\";;\n*-v*) echo \"$5\" > \"$d/score\";;\nesac\nexit 0\n",
        );
        // Prints `locate` (what Pacemaker reports) for `--locate`, as the real tool does
        // without --quiet; fails when the test wrote none.
        s.script(
            "crm_resource",
            "#!/bin/sh\nd=$(dirname \"$0\")/..\necho \"$*\" >> \"$d/crm_resource.log\"\n[ -f \"$d/locate\" ] || exit 1\ncat \"$d/locate\"\n",
        );
        std::fs::write(s.root().join("drbd.conf"), "resource r0 {}\n").unwrap();
        s.node.ctl(&["up=no"]);
        s
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.root().join("bin").join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    pub fn score(&self) -> Option<String> {
        std::fs::read_to_string(self.root().join("score"))
            .ok()
            .map(|s| s.trim().to_string())
    }

    pub fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.root().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The agent's environment: simulator, clone meta, parameters.
    pub fn command(&self, action: &str, params: &[(&str, &str)], meta: &[(&str, &str)]) -> Command {
        let mut c = Command::new(workspace_bin("drbd"));
        c.arg(action)
            .env("PATH", self.path_env())
            .env("DRBD_SIM_DIR", self.root().join("node"))
            .env_remove("DRBD_SIM_PEER_DIR")
            .env_remove("DRBD_SIM_VERSION")
            .env("BULWARK_PROC_DRBD", self.root().join("no-proc-drbd"))
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "mailstore")
            .env("OCF_RESKEY_drbd_resource", "r0")
            .env("OCF_RESKEY_drbdconf", self.root().join("drbd.conf"))
            .env("OCF_RESKEY_CRM_meta_clone_max", "2")
            .env("OCF_RESKEY_CRM_meta_clone_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_promoted_max", "1")
            .env("OCF_RESKEY_CRM_meta_promoted_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_notify", "true")
            .env("OCF_RESKEY_CRM_meta_timeout", "20000")
            .env("OCF_RESKEY_CRM_meta_interval", "10000");
        for (k, v) in params {
            c.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in meta {
            if v.is_empty() {
                c.env_remove(format!("OCF_RESKEY_CRM_meta_{k}"));
            } else {
                c.env(format!("OCF_RESKEY_CRM_meta_{k}"), v);
            }
        }
        c
    }

    pub fn run(&self, action: &str, params: &[(&str, &str)], meta: &[(&str, &str)]) -> Output {
        run_within(
            &mut self.command(action, params, meta),
            Duration::from_secs(60),
        )
    }

    pub fn ok(&self, action: &str) -> Output {
        self.run(action, &[], &[])
    }
}
