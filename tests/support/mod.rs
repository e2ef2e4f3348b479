//! Test harness shared by the integration tests that need real Pacemaker, Corosync or network
//! namespaces. Include it with `mod support;` from a `tests/<area>_*.rs` file, and
//! its simulators as `use support::{bmc, pdu};` (one way to include, never `#[path]`).
//!
//! Everything here runs as root, starts its components itself and removes them again in `Drop`
//! (processes by PID, namespaces by the name this process created), so tests can run in
//! parallel and a failing test still cleans up. Names are unique per process and call
//! ([`unique_name`]), state lives in a fresh directory per test ([`LabDir`]).
//!
//! - [`Netns`]: a throwaway network namespace with veth helpers.
//! - [`Stage`]: Bulwark's built agents (plus test fixtures) in the layout the lab overlays on
//!   `/usr/sbin` and `/usr/lib/ocf/resource.d`; [`overlay_exec`] runs one command that sees them.
//! - [`Cluster`]: one or two real Corosync + Pacemaker nodes, each in its own network, mount,
//!   UTS and PID namespaces, started with the scripts in `crm-examples/lab/`.
//! - [`group::GroupRun`]: an agent run in a process group of its own, killable as a whole the
//!   way Pacemaker kills an operation that overran.
//! - [`axigen::Install`] and [`sim_node::AgentSim`]: one Axigen stand-in installation and one
//!   simulated DRBD node for running those agents directly.
#![allow(dead_code)]

pub mod argv;
pub mod axigen;
pub mod bmc;
pub mod cluster;
pub mod fake_bmc;
pub mod group;
pub mod netns;
pub mod pdu;
pub mod pyghmi;
pub mod redfish;
pub mod sim_node;
pub mod stage;
pub mod udp_proxy;

#[allow(unused_imports)]
pub use argv::{argv_holding, ArgvWatch};
#[allow(unused_imports)]
pub use cluster::Cluster;
#[allow(unused_imports)]
pub use netns::Netns;
#[allow(unused_imports)]
pub use sim_node::SimNode;
#[allow(unused_imports)]
pub use stage::{overlay_exec, Stage};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Time limit for one command run by the harness (pcs, crm_mon, ip ...). Generous: the limit
/// only exists so a wedged tool fails the test instead of hanging it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (where `Cargo.toml`, `target/` and `crm-examples/` are).
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The configuration templates (`crm-examples/`).
pub fn examples_dir() -> PathBuf {
    workspace_dir().join("crm-examples")
}

/// The project's lab scripts (`crm-examples/lab/`).
pub fn lab_scripts_dir() -> PathBuf {
    examples_dir().join("lab")
}

/// A test fixture under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    workspace_dir().join("tests").join("fixtures").join(rel)
}

/// Where built binaries are: `$BULWARK_BIN_DIR`, else `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    match std::env::var_os("BULWARK_BIN_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_dir().join("target").join("debug"),
    }
}

/// The package `packaging/build-packages.sh` built from this version (`target/debian/` and
/// `target/generate-rpm/`; `$BULWARK_PACKAGE_DIR` holds both instead if set). Panics with the
/// command that builds it when it is missing: a package test never passes without its package.
pub fn built_package(kind: PackageKind) -> PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    let rpm_arch = std::env::consts::ARCH;
    let deb_arch = match rpm_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let (sub, name) = match kind {
        PackageKind::Deb => (
            "debian",
            format!("bulwark-agents_{version}-1_{deb_arch}.deb"),
        ),
        PackageKind::Rpm => (
            "generate-rpm",
            format!("bulwark-agents-{version}-1.{rpm_arch}.rpm"),
        ),
    };
    let path = match std::env::var_os("BULWARK_PACKAGE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(name),
        _ => workspace_dir().join("target").join(sub).join(name),
    };
    if !path.is_file() {
        panic!(
            "{} not found: build the packages first with packaging/build-packages.sh \
             (tests/run-tests.sh does)",
            path.display()
        );
    }
    path
}

/// Which of the two packages [`built_package`] finds.
#[derive(Clone, Copy, Debug)]
pub enum PackageKind {
    Deb,
    Rpm,
}

/// Path of workspace binary `name` (an agent, a test double). Panics with the fix when it has
/// not been built: integration tests only build this package's own binaries.
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    if !path.is_file() {
        panic!(
            "{} not found: run `cargo build --workspace --bins` first \
             (or point BULWARK_BIN_DIR at the directory holding the binaries)",
            path.display()
        );
    }
    path
}

/// Ends a child this test started: SIGTERM, up to `grace` for it to exit, then SIGKILL; always
/// reaped. Only the PID the child was started with is signalled, never a name.
pub fn terminate(child: &mut std::process::Child, grace: Duration) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: kill(2) on the PID of our own child, which has not been reaped, so the PID
        // still names it.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let end = Instant::now() + grace;
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Copies an executable to `dest` (mode 0755) with `install(1)`, not `std::fs::copy`: a copy
/// made in this process holds a write descriptor that a thread forking at that moment inherits
/// until its exec, and running the copy in that window fails with ETXTBSY ("Text file busy").
/// Tests run in parallel threads that fork all the time; a child process's descriptor is never
/// inherited by them.
pub fn copy_executable(src: &Path, dest: &Path) {
    let out = run(Command::new("install").arg("-m0755").arg(src).arg(dest));
    assert!(
        out.status.success(),
        "install {} {}: {}",
        src.display(),
        dest.display(),
        output_text(&out)
    );
}

/// A copy of workspace binary `name` that any user can run, for tools that run it as another
/// user (ocf-tester's permission check runs the agent as `nobody`; the stand-in drops to a
/// service user). The build tree may sit under a directory only root can enter, as a clone in
/// `/root` does, so the copy goes to a 0755 directory of its own, removed with the value.
pub struct RunnableBin {
    _dir: LabDir,
    path: PathBuf,
}

impl RunnableBin {
    pub fn new(name: &str) -> RunnableBin {
        let dir = LabDir::new("bin");
        let path = dir.path().join(name);
        copy_executable(&workspace_bin(name), &path);
        RunnableBin { _dir: dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A name unique to this process and call: `prefix` + PID + "x" + counter. With a prefix of at
/// most 2 characters the result fits a 15-character interface name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id())
}

/// A password unique to this process and call (`prefix`, PID, counter), so a hit in an argv or
/// log scan can only come from the test that made it. At least 6 characters, short enough for
/// IPMI v1.5's 16-byte passwords.
pub fn unique_secret(prefix: &str) -> String {
    format!("{}z", unique_name(prefix))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A command for a simulator (`ipmi_sim`, `snmpd`): `program` in our network namespace, or in
/// `netns` through `ip netns exec` (which execs it in place, so the child's PID stays the
/// program's). It gets `death_signal` when the thread that spawned it ends, so a test process
/// killed before its Drop guards ran leaves no simulator behind.
pub fn sim_command(program: &str, netns: Option<&str>, death_signal: libc::c_int) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    };
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, death_signal);
            Ok(())
        });
    }
    cmd
}

/// Calls `cond` every 200 ms until it returns true (-> true) or `timeout` has passed (-> false).
/// Tests assert on the result; the timeout is a bound on waiting, not a performance claim.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `cmd` to completion within [`COMMAND_TIMEOUT`] and returns what it printed. Panics
/// only when it cannot be started or overruns: a non-zero exit is the caller's to judge.
pub fn run(cmd: &mut Command) -> Output {
    run_within(cmd, COMMAND_TIMEOUT)
}

/// [`run`] with an explicit time limit.
pub fn run_within(cmd: &mut Command, timeout: Duration) -> Output {
    let shown = format!("{cmd:?}");
    match bulwark::process::run_captured(cmd, timeout) {
        Ok(c) => Output {
            status: c.status,
            stdout: c.stdout,
            stderr: c.stderr,
        },
        Err(e) => panic!("{shown}: {e}"),
    }
}

/// Panics with the command's stderr unless it succeeded; returns its stdout.
pub fn expect_success(what: &str, out: &Output) -> String {
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim_end(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a command printed, stdout then stderr, for assertion messages and searches.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The reason an OCF agent gave for its exit status: its last `ocf-exit-reason:` line on
/// stderr, without the prefix ("" when there is none).
pub fn exit_reason(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
        .unwrap_or("")
        .to_string()
}

/// Asserts an OCF agent refused with `code` and an exit reason containing `needle`; returns
/// the reason. `what` names the case in the failure message.
pub fn assert_refused(out: &Output, code: i32, needle: &str, what: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: {}",
        output_text(out)
    );
    let reason = exit_reason(out);
    assert!(reason.contains(needle), "{what}: reason '{reason}'");
    reason
}

/// Every regular file below `dir` (symbolic links to files included, linked directories not
/// followed), for scanning a run's logs for secrets.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => todo.push(p),
                Ok(_) if p.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// Reads each of `files` that can be read, except those `skip` names, and panics naming the
/// first one that holds `secret` (never quoting it). Returns how many files were read, so a
/// test can show the scan saw the run's logs.
pub fn assert_secret_in_no_file(
    files: &[PathBuf],
    secret: &str,
    skip: impl Fn(&Path) -> bool,
) -> usize {
    let mut scanned = 0;
    for f in files.iter().filter(|f| !skip(f)) {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        scanned += 1;
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "secret found in {}",
            f.display()
        );
    }
    scanned
}

/// A fresh directory for one test's state under the temp dir, mode 0755 (daemons running as
/// hacluster or nobody may need to traverse it). Removed on drop, unless the thread is
/// panicking: then it is kept and its path printed for the post-mortem.
pub struct LabDir {
    path: PathBuf,
}

impl LabDir {
    pub fn new(tag: &str) -> LabDir {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        loop {
            let path = base.join(format!("bulwark-{tag}-{}", unique_name("")));
            match std::fs::DirBuilder::new().mode(0o755).create(&path) {
                Ok(()) => return LabDir { path },
                // Left over by an earlier run that had the same PID: take the next counter.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LabDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: lab state kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Start time of a process (field 22 of /proc/PID/stat), to check that a PID still names the
/// process we started before signalling it.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}
