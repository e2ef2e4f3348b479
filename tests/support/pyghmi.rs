//! pyghmi's BMC server (`pyghmi.ipmi.bmc.Bmc`, PyPI), a second IPMI v2.0 implementation we did
//! not write besides ipmi_sim: tests/fixtures/ipmi/pyghmi_bmc.py on 127.0.0.1 with a free UDP
//! port, in a venv built from Debian's python3 by tests/fixtures/ipmi/pyghmi-venv.sh and cached
//! under the target directory. Dropping a [`PyghmiBmc`] kills it by PID and removes its state.
//!
//! Include with `mod support;` and `use support::pyghmi;`.

#![allow(dead_code)]

use crate::support::LabDir;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ipmi")
        .join(name)
}

/// The venv's python, built on first use (a missing PyPI or python3-venv fails the test).
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = Command::new(fixture("pyghmi-venv.sh"))
                .arg(env!("CARGO_TARGET_TMPDIR"))
                .stderr(Stdio::inherit())
                .output()
                .expect("run pyghmi-venv.sh");
            assert!(
                out.status.success(),
                "building the pyghmi venv failed (python3-venv from tests/install-deps.sh, and PyPI, are needed)"
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        })
        .clone()
}

pub struct PyghmiBmc {
    pub port: u16,
    dir: LabDir,
    child: Child,
}

impl PyghmiBmc {
    /// Starts the server with one user, power on; panics if it does not come up.
    pub fn start(user: &str, password: &str) -> PyghmiBmc {
        let python = python();
        for _ in 0..5 {
            let port = std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.local_addr())
                .expect("free UDP port")
                .port();
            let dir = LabDir::new("pyghmi");
            let mut child = crate::support::sim_command(
                python.to_str().expect("utf-8 path"),
                None,
                libc::SIGKILL,
            )
            .arg(fixture("pyghmi_bmc.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pyghmi_bmc.py");
            // Credentials on stdin: never in argv.
            let mut stdin = child.stdin.take().expect("stdin");
            let _ = writeln!(stdin, "{user}\n{password}");
            drop(stdin);
            let mut line = String::new();
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            let _ = out.read_line(&mut line);
            if line.trim() == "ready" {
                return PyghmiBmc { port, dir, child };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("pyghmi's BMC did not come up");
    }

    /// The chassis power as the server keeps it: Some(true) = on.
    pub fn power_on(&self) -> Option<bool> {
        match std::fs::read_to_string(self.dir.path().join("power"))
            .ok()?
            .trim()
        {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        }
    }

    pub fn set_power(&self, on: bool) {
        std::fs::write(
            self.dir.path().join("power"),
            if on { "on\n" } else { "off\n" },
        )
        .expect("write power");
    }

    /// Chassis control requests so far (off, on, cycle, reset, shutdown).
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for PyghmiBmc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
