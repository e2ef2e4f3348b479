//! A simulated BMC for tests: OpenIPMI's `ipmi_sim` on 127.0.0.1 with a free UDP port, a
//! generated `lan.conf` and emulator command file in a private temporary directory, and the
//! project's chassis hook (`crm-examples/lab/sim/ipmi-chassis.sh`) keeping the power state in a
//! file. Dropping the [`Bmc`] kills the simulator by PID and removes the directory.
//!
//! With [`Bmc::start_in`] the simulator runs inside a network namespace (`ip netns exec`),
//! bound to that namespace's 127.0.0.1: the BMC "of node2" that only node1 of a test cluster
//! can reach. [`run_agent`] runs a fence agent with its options on stdin while
//! [`ArgvWatch`] scans every process's command line for the password.
//!
//! Include with `mod support;` and `use support::bmc;`.

#![allow(dead_code)]

use std::fs;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use crate::support::argv::{ArgvWatch, Watched};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Every IPMI v1.5 authentication type ipmi_sim knows.
const ALL_AUTHS: &str = "none md2 md5 straight";

/// Users configured in every simulator: user 2 is the administrator, user 3 an operator and
/// user 4 a user-level account, so privilege handling can be tested.
pub const ADMIN: &str = "admin";
pub const OPERATOR: &str = "oper";
pub const PLAIN_USER: &str = "viewer";

pub struct Bmc {
    /// The loopback address the simulator listens on (127.0.0.1 unless started with
    /// [`Bmc::start_pair`]).
    pub addr: String,
    pub port: u16,
    /// The network namespace the simulator listens in (None: the test's own).
    pub netns: Option<String>,
    pub dir: PathBuf,
    /// The password of every configured user (written only to lan.conf, never to argv).
    pub password: String,
    child: Child,
}

fn hook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crm-examples/lab/sim/ipmi-chassis.sh")
}

/// Runs `f` on a helper thread that has joined network namespace `netns` (None: stays in
/// ours). Sockets created by `f` keep belonging to that namespace wherever they are used.
pub fn in_netns<T: Send + 'static>(
    netns: Option<&str>,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let Some(ns) = netns else { return f() };
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("netns helper thread")
}

fn free_udp_port(netns: Option<&str>) -> u16 {
    in_netns(netns, || {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
        s.local_addr().expect("local address").port()
    })
}

/// Get Channel Authentication Capabilities in RMCP/IPMI v1.5 framing, written out by hand so
/// readiness does not depend on the code under test.
const PING: [u8; 23] = [
    0x06, 0x00, 0xFF, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x20, 0x18, 0xC8, 0x81, 0x00, 0x38,
    0x8E, 0x04, 0xB5,
];

impl Bmc {
    /// Starts a simulator with power on and password "pass". Panics (failing the test) if it
    /// does not answer within 10 s.
    pub fn start() -> Bmc {
        Bmc::start_with_password("pass")
    }

    pub fn start_with_password(password: &str) -> Bmc {
        Bmc::start_config(password, "admin")
    }

    /// `priv_limit` is the channel's privilege limit (callback, user, operator, admin).
    pub fn start_config(password: &str, priv_limit: &str) -> Bmc {
        Bmc::start_full(None, password, priv_limit)
    }

    /// A simulator inside network namespace `netns` (on its 127.0.0.1), power on.
    pub fn start_in(netns: &str, password: &str) -> Bmc {
        Bmc::start_full(Some(netns), password, "admin")
    }

    /// Two simulators on the same port, at 127.0.0.1 and 127.0.0.2 (two nodes' BMCs, told apart
    /// by address only, as `port_as_ip` configurations are), both powered on.
    pub fn start_pair(password: &str) -> (Bmc, Bmc) {
        Bmc::start_pair_in(None, password)
    }

    /// [`Bmc::start_pair`] inside network namespace `netns` (None: ours).
    pub fn start_pair_in(netns: Option<&str>, password: &str) -> (Bmc, Bmc) {
        for _ in 0..5 {
            let first = Bmc::start_full(netns, password, "admin");
            if let Some(second) = Bmc::start_at(
                netns,
                password,
                "admin",
                "127.0.0.2",
                Some(first.port),
                ALL_AUTHS,
            ) {
                return (first, second);
            }
        }
        panic!("could not start two ipmi_sim on one port");
    }

    fn start_full(netns: Option<&str>, password: &str, priv_limit: &str) -> Bmc {
        Bmc::start_at(netns, password, priv_limit, "127.0.0.1", None, ALL_AUTHS)
            .expect("ipmi_sim on 127.0.0.1")
    }

    /// A simulator whose IPMI v1.5 channel and users allow only `auths` (ipmi_sim's words:
    /// none, md2, md5, straight).
    pub fn start_auths(password: &str, auths: &str) -> Bmc {
        Bmc::start_at(None, password, "admin", "127.0.0.1", None, auths)
            .expect("ipmi_sim on 127.0.0.1")
    }

    /// A simulator on `addr`, on `fixed_port` or a free one. None when it cannot come up on the
    /// fixed port (taken); panics when it cannot come up at all.
    fn start_at(
        netns: Option<&str>,
        password: &str,
        priv_limit: &str,
        addr: &str,
        fixed_port: Option<u16>,
        auths: &str,
    ) -> Option<Bmc> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("bulwark-bmc-{}-{}", std::process::id(), n));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sim")).expect("create BMC directory");
        fs::write(dir.join("power"), "1\n").expect("write power state");
        fs::write(
            dir.join("bmc.emu"),
            "mc_setbmc 0x20\n\
             mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n\
             sel_enable 0x20 1000 0x0a\n\
             mc_enable 0x20\n",
        )
        .expect("write emu file");
        // A port can be taken between probing and ipmi_sim's bind: retry with another one.
        for _ in 0..(if fixed_port.is_some() { 1 } else { 5 }) {
            let port = fixed_port.unwrap_or_else(|| free_udp_port(netns));
            let conf = format!(
                "name \"bulwark-test\"\n\
                 set_working_mc 0x20\n\
                 \x20 startlan 1\n\
                 \x20   addr {addr} {port}\n\
                 \x20   priv_limit {priv_limit}\n\
                 \x20   allowed_auths_callback {auths}\n\
                 \x20   allowed_auths_user {auths}\n\
                 \x20   allowed_auths_operator {auths}\n\
                 \x20   allowed_auths_admin {auths}\n\
                 \x20   guid a123456789abcdefa123456789abcdef\n\
                 \x20 endlan\n\
                 \x20 chassis_control \"{hook} {dir} 0x20\"\n\
                 \x20 user 1 true \"\" \"{password}\" user 10 {auths}\n\
                 \x20 user 2 true \"{ADMIN}\" \"{password}\" admin 10 {auths}\n\
                 \x20 user 3 true \"{OPERATOR}\" \"{password}\" operator 10 {auths}\n\
                 \x20 user 4 true \"{PLAIN_USER}\" \"{password}\" user 10 {auths}\n",
                hook = hook().display(),
                dir = dir.display(),
            );
            fs::write(dir.join("lan.conf"), conf).expect("write lan.conf");
            let log = fs::File::create(dir.join("ipmi_sim.log")).expect("create log");
            // The signal follows the spawning thread, which is the test's own thread and
            // outlives the Bmc value.
            let mut cmd = crate::support::sim_command("ipmi_sim", netns, libc::SIGKILL);
            let child = cmd
                .arg("-c")
                .arg(dir.join("lan.conf"))
                .arg("-f")
                .arg(dir.join("bmc.emu"))
                .arg("-s")
                .arg(dir.join("sim"))
                .arg("-n")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .spawn()
                .expect("start ipmi_sim (package openipmi)");
            let mut bmc = Bmc {
                addr: addr.to_string(),
                port,
                netns: netns.map(str::to_string),
                dir: dir.clone(),
                password: password.to_string(),
                child,
            };
            if bmc.wait_ready(Duration::from_secs(10)) {
                return Some(bmc);
            }
            // Drop would remove the directory we still need; kill only the process.
            let _ = bmc.child.kill();
            let _ = bmc.child.wait();
            std::mem::forget(bmc);
        }
        let log = fs::read_to_string(dir.join("ipmi_sim.log")).unwrap_or_default();
        let _ = fs::remove_dir_all(&dir);
        if fixed_port.is_some() {
            return None;
        }
        panic!("ipmi_sim did not come up: {log}");
    }

    fn wait_ready(&mut self, within: Duration) -> bool {
        let sock = in_netns(self.netns.as_deref(), || {
            UdpSocket::bind("127.0.0.1:0").expect("bind probe socket")
        });
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("probe timeout");
        let end = Instant::now() + within;
        let mut buf = [0u8; 512];
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let _ = sock.send_to(&PING, (self.addr.as_str(), self.port));
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                if n > 20 {
                    return true;
                }
            }
        }
        false
    }

    /// The simulated power state from the hook's file: Some(true) = on.
    pub fn power_on(&self) -> Option<bool> {
        match fs::read_to_string(self.dir.join("power")).ok()?.trim() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        }
    }

    pub fn set_power(&self, on: bool) {
        fs::write(self.dir.join("power"), if on { "1\n" } else { "0\n" }).expect("write power");
    }

    /// Makes the chassis ignore power changes (a BMC that keeps reporting the old state).
    pub fn set_stuck(&self, stuck: bool) {
        let p = self.dir.join("stuck");
        if stuck {
            fs::write(p, "").expect("write stuck");
        } else {
            let _ = fs::remove_file(p);
        }
    }

    /// Makes Get Chassis Status report the old power state for `lag` after each power change
    /// (a stale reading); `None` reports changes at once again.
    pub fn set_status_lag(&self, lag: Option<Duration>) {
        let p = self.dir.join("lag-ms");
        match lag {
            Some(d) => fs::write(p, format!("{}\n", d.as_millis())).expect("write lag-ms"),
            None => {
                let _ = fs::remove_file(p);
            }
        }
    }

    /// Shell commands the chassis hook runs after a power-off (`kind` "off") or power-on ("on")
    /// took effect, before ipmi_sim answers the Chassis Control; None removes it.
    pub fn set_power_hook(&self, kind: &str, script: Option<&str>) {
        let p = self.dir.join(format!("{kind}-hook"));
        match script {
            Some(s) => fs::write(p, s).expect("write power hook"),
            None => {
                let _ = fs::remove_file(p);
            }
        }
    }

    /// Hook calls so far, one line each (without the timestamp).
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_string())
            .collect()
    }

    /// Arms the hook to SIGKILL `pid` on power off (with its start time, so a recycled PID is
    /// safe).
    pub fn set_target_pid(&self, pid: u32) {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("target stat");
        let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let start = after.split(' ').nth(19).expect("start time field");
        fs::write(self.dir.join("target.pid"), format!("{pid} {start}\n")).expect("target.pid");
    }

    /// `ipmitool ... chassis power <action>` against this BMC with the administrator account,
    /// password passed through the environment (`-E`), never argv. Returns (success, stdout).
    pub fn ipmitool(&self, interface: &str, action: &str) -> (bool, String) {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "ipmitool"]);
                c
            }
            None => Command::new("ipmitool"),
        };
        cmd.args(["-I", interface]);
        if interface == "lanplus" {
            cmd.args(["-C", "3"]);
        }
        let out = cmd
            .args([
                "-H",
                &self.addr,
                "-p",
                &self.port.to_string(),
                "-U",
                ADMIN,
                "-E",
            ])
            .args(["-L", "ADMINISTRATOR", "-N", "2", "-R", "2"])
            .args(["chassis", "power", action])
            .env("IPMI_PASSWORD", &self.password)
            .stdin(Stdio::null())
            .output()
            .expect("run ipmitool");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }
}

impl Drop for Bmc {
    fn drop(&mut self) {
        // Child::kill signals exactly this PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What one agent run produced.
#[derive(Debug)]
pub struct AgentRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Processes whose argv held the password while the agent ran (must stay empty).
    pub argv_hits: Vec<String>,
    /// Full /proc scans made while it ran.
    pub scans: usize,
}

/// Runs fence agent `bin` with `stdin` as its options (how pacemaker-fenced calls it) and no
/// arguments, while scanning every process's argv for `secret`. Bounded by 120 s.
pub fn run_agent(bin: &Path, stdin: &str, secret: &str) -> AgentRun {
    run_agent_with(Command::new(bin).env_remove("PCMK_service"), stdin, secret)
}

/// [`run_agent`] with a prepared command (another namespace, environment or arguments).
pub fn run_agent_with(cmd: &mut Command, stdin: &str, secret: &str) -> AgentRun {
    let watch = ArgvWatch::start(secret);
    let out =
        bulwark::process::run_with_input(cmd, Some(stdin.as_bytes()), Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("run agent: {e}"));
    let Watched {
        hits: argv_hits,
        scans,
        ..
    } = watch.stop();
    AgentRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        argv_hits,
        scans,
    }
}
