//! One node of the DRBD simulator (`tests/doubles/drbd-sim.rs`, the `drbd-sim` binary): its
//! state directory (`DRBD_SIM_DIR`) and the control verbs tests drive it with.

use super::{expect_success, run_within, workspace_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
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
