//! A throwaway network namespace owned by one test.

use super::{expect_success, run, unique_name};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

/// A network namespace named `bw<pid>x<n>` (at most 15 characters, so it can double as an
/// interface name). Dropping it kills what [`Netns::spawn`] started and every other process
/// still inside the namespace (by PID), then deletes the namespace; its veths go with it.
pub struct Netns {
    name: String,
    children: Mutex<Vec<Child>>,
}

impl Netns {
    /// Creates the namespace with its loopback up.
    pub fn new() -> Netns {
        let name = unique_name("bw");
        expect_success(
            "ip netns add",
            &run(Command::new("ip").args(["netns", "add", &name])),
        );
        let ns = Netns {
            name,
            children: Mutex::new(Vec::new()),
        };
        ns.ip_ok(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `cmd` inside the namespace (`ip netns exec`) to completion.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        run(&mut self.command(cmd))
    }

    /// [`Netns::exec`] that panics with stderr on failure; returns stdout.
    pub fn exec_ok(&self, cmd: &[&str]) -> String {
        expect_success(&cmd.join(" "), &self.exec(cmd))
    }

    /// A `Command` that will run `cmd` inside the namespace.
    pub fn command(&self, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(cmd);
        c
    }

    /// Starts a long-running `cmd` inside the namespace (stdin null, output to `log` or null) and
    /// returns its PID; it is killed when the namespace is dropped. `ip netns exec` execs the
    /// command, so the PID is the command's own.
    pub fn spawn(&self, cmd: &[&str], log: Option<&std::path::Path>) -> u32 {
        let mut c = self.command(cmd);
        c.stdin(Stdio::null());
        match log {
            Some(path) => {
                let f = std::fs::File::create(path)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
                let f2 = f
                    .try_clone()
                    .unwrap_or_else(|e| panic!("cannot dup {}: {e}", path.display()));
                c.stdout(f).stderr(f2);
            }
            None => {
                c.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?} in {}: {e}", self.name));
        let pid = child.id();
        self.lock_children().push(child);
        pid
    }

    /// `ip -n NAME args...`, returning its output.
    pub fn ip(&self, args: &[&str]) -> Output {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// `ip -n NAME args...`, panicking on failure.
    pub fn ip_ok(&self, args: &[&str]) -> String {
        let what = format!("ip -n {} {}", self.name, args.join(" "));
        expect_success(&what, &self.ip(args))
    }

    /// A veth pair with both ends inside this namespace, both up (a link with carrier, e.g. for
    /// a virtual IP; the lab kernel has no `dummy` module).
    pub fn veth_pair(&self, a: &str, b: &str) {
        self.ip_ok(&["link", "add", a, "type", "veth", "peer", "name", b]);
        self.ip_ok(&["link", "set", a, "up"]);
        self.ip_ok(&["link", "set", b, "up"]);
    }

    /// A veth pair from interface `here` in this namespace to `there` in `other`, both up.
    /// Created in place: the host's namespace never sees either end.
    pub fn veth_to(&self, here: &str, other: &Netns, there: &str) {
        let what = format!("veth {}:{here} <-> {}:{there}", self.name, other.name);
        expect_success(
            &what,
            &run(Command::new("ip").args([
                "link",
                "add",
                here,
                "netns",
                &self.name,
                "type",
                "veth",
                "peer",
                "name",
                there,
                "netns",
                &other.name,
            ])),
        );
        self.ip_ok(&["link", "set", here, "up"]);
        other.ip_ok(&["link", "set", there, "up"]);
    }

    /// Adds `cidr` (e.g. "10.98.0.1/24") to interface `dev`.
    pub fn add_addr(&self, dev: &str, cidr: &str) {
        self.ip_ok(&["addr", "add", cidr, "dev", dev]);
    }

    /// PIDs of all processes whose network namespace is this one.
    pub fn pids(&self) -> Vec<u32> {
        let Some(ino) = self.inode() else {
            return Vec::new();
        };
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| net_inode_of(pid) == Some(ino))
            .collect()
    }

    /// Inode of the namespace (what `/proc/PID/ns/net` of its members links to).
    fn inode(&self) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/run/netns/{}", self.name))
            .ok()
            .map(|m| m.ino())
    }

    fn lock_children(&self) -> std::sync::MutexGuard<'_, Vec<Child>> {
        // A panic while the lock was held poisons it; the list itself is still valid.
        self.children.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Our own children: not reaped yet, so their PIDs cannot have been reused.
        for child in self.lock_children().iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Anything else still inside (grandchildren, daemons that forked away) was started by
        // this test. Membership is re-read right before each signal, so a PID recycled since
        // the scan (now outside the namespace) is left alone.
        if let Some(ino) = self.inode() {
            for _ in 0..20 {
                let pids = self.pids();
                if pids.is_empty() {
                    break;
                }
                for pid in pids {
                    if net_inode_of(pid) == Some(ino) {
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = bulwark::process::run_captured(
            Command::new("ip").args(["netns", "delete", &self.name]),
            super::COMMAND_TIMEOUT,
        );
    }
}

/// Inode of the network namespace of process `pid` (`/proc/PID/ns/net` -> "net:[INODE]").
fn net_inode_of(pid: u32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}
