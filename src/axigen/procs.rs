//! Axigen's processes: found through `/proc`, started detached, stopped with escalation.
//!
//! Axigen writes no pidfile, so a process belongs to the server by *identity*: its executable
//! (`/proc/PID/exe`) is the configured binary, and optionally its owner and working directory
//! match too (the working directory tells apart several instances of one binary on a host,
//! e.g. the stand-ins of parallel tests). The *supervisor* is an Axigen process whose parent is
//! not one; its Axigen children are *workers*; other roots (an orphan that escaped into its own
//! session, a worker left behind by a killed supervisor) are *strays*. A stop sends the
//! supervisor SIGTERM (Axigen's graceful stop), then SIGTERM to everything of the identity and
//! to their descendants, then SIGKILL, rescanning each time, so nothing that escaped by
//! `setsid` or reparenting survives.
//!
//! The depth-0 check ([`find_supervisor`]) costs one `readdir` of `/proc` and one `readlink`
//! per process: no subprocess, no pidfile race.

use crate::deadline::Deadline;
use std::collections::{HashMap, HashSet};
use std::ffi::{CString, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What makes a process part of this Axigen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The binary, as `/proc/PID/exe` shows it (canonical path).
    pub exe: PathBuf,
    /// Owner (effective uid), when set.
    pub uid: Option<u32>,
    /// Working directory, when set.
    pub cwd: Option<PathBuf>,
}

impl Identity {
    /// The identity of `binary` (canonicalized when it exists, so a symlinked path still
    /// matches what the kernel shows).
    pub fn new(binary: &Path) -> Identity {
        Identity {
            exe: std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf()),
            uid: None,
            cwd: None,
        }
    }

    pub fn with_uid(mut self, uid: u32) -> Identity {
        self.uid = Some(uid);
        self
    }

    pub fn with_cwd(mut self, cwd: &Path) -> Identity {
        self.cwd = Some(std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf()));
        self
    }
}

/// One process as read from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub sid: i32,
    /// Start time in clock ticks since boot: with the pid, identifies the process across a
    /// pid reuse.
    pub start_time: u64,
    pub state: char,
}

/// Pure: parses `/proc/PID/stat`. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn parse_stat(stat: &str) -> Option<ProcInfo> {
    let pid = stat.split_once(' ')?.0.parse().ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) … starttime(22).
    Some(ProcInfo {
        pid,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        sid: f.get(3)?.parse().ok()?,
        start_time: f.get(19)?.parse().ok()?,
    })
}

/// The server's processes at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AxigenProcs {
    pub supervisor: Option<ProcInfo>,
    /// Axigen processes below the supervisor.
    pub workers: Vec<ProcInfo>,
    /// Axigen processes not below the supervisor: escaped orphans, leftovers.
    pub strays: Vec<ProcInfo>,
    /// Non-Axigen descendants of Axigen processes (helpers it started). Only filled by
    /// [`scan`] with `descendants = true`.
    pub helpers: Vec<ProcInfo>,
}

impl AxigenProcs {
    pub fn is_empty(&self) -> bool {
        self.supervisor.is_none()
            && self.workers.is_empty()
            && self.strays.is_empty()
            && self.helpers.is_empty()
    }

    /// Every process, supervisor first.
    pub fn all(&self) -> Vec<ProcInfo> {
        self.supervisor
            .iter()
            .chain(&self.workers)
            .chain(&self.strays)
            .chain(&self.helpers)
            .copied()
            .collect()
    }

    /// True when the supervisor has Axigen children. Axigen's supervisor runs workers; a lone
    /// root is either a supervisor that has just started or a leftover (an orphan after a
    /// crash of the supervisor): the listener probes (depth 10) tell them apart.
    pub fn supervisor_has_workers(&self) -> bool {
        self.supervisor
            .is_some_and(|s| self.workers.iter().any(|w| w.ppid == s.pid))
    }

    /// The supervisor and the Axigen processes below it.
    pub fn tree(&self) -> Vec<ProcInfo> {
        self.supervisor
            .iter()
            .chain(&self.workers)
            .copied()
            .collect()
    }

    pub fn pids(&self) -> Vec<i32> {
        self.all().iter().map(|p| p.pid).collect()
    }
}

/// Pure: sorts the processes of the identity (`axigen`) into supervisor, workers and strays;
/// `others` are every other process (for helpers, may be empty).
///
/// Roots are Axigen processes whose parent is not one. The supervisor is the oldest root that
/// has Axigen children (Axigen's supervisor always runs workers); when no root has children,
/// the oldest root (e.g. right after the supervisor started). Processes below the supervisor
/// are workers, everything else of the identity is a stray.
pub fn classify(axigen: &[ProcInfo], others: &[ProcInfo]) -> AxigenProcs {
    let ours: HashSet<i32> = axigen.iter().map(|p| p.pid).collect();
    let mut roots: Vec<&ProcInfo> = axigen.iter().filter(|p| !ours.contains(&p.ppid)).collect();
    roots.sort_by_key(|p| (p.start_time, p.pid));
    let has_children = |r: &ProcInfo| axigen.iter().any(|p| p.ppid == r.pid);
    let supervisor = roots
        .iter()
        .find(|r| has_children(r))
        .or_else(|| roots.first())
        .map(|r| **r);
    let tree = supervisor.map_or_else(HashSet::new, |s| {
        with_descendants(HashSet::from([s.pid]), axigen)
    });
    let mut out = AxigenProcs {
        supervisor,
        ..Default::default()
    };
    for p in axigen {
        if Some(p.pid) == supervisor.map(|s| s.pid) {
            continue;
        }
        if tree.contains(&p.pid) {
            out.workers.push(*p);
        } else {
            out.strays.push(*p);
        }
    }
    if !others.is_empty() {
        let mut everything: Vec<ProcInfo> = axigen.to_vec();
        everything.extend_from_slice(others);
        let found = with_descendants(ours, &everything);
        out.helpers = others
            .iter()
            .filter(|p| found.contains(&p.pid))
            .copied()
            .collect();
    }
    out
}

/// `found` and every process of `set` below one of them (parent links followed to a fixpoint,
/// whatever order `set` is in).
fn with_descendants(mut found: HashSet<i32>, set: &[ProcInfo]) -> HashSet<i32> {
    loop {
        let before = found.len();
        for p in set {
            if found.contains(&p.ppid) {
                found.insert(p.pid);
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

fn read_stat(pid: i32) -> Option<ProcInfo> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// [`read_stat`] of a process that still runs (not a zombie, not dead).
fn read_live_stat(pid: i32) -> Option<ProcInfo> {
    read_stat(pid).filter(|p| p.state != 'Z' && p.state != 'X')
}

/// Whether process `pid` matches `identity` (exe, then owner and cwd when asked).
fn matches_identity(pid: i32, identity: &Identity) -> bool {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return false; // kernel thread, zombie, gone, or not ours to see
    };
    // A binary replaced under a running server (upgrade) shows as "path (deleted)".
    let exe_bytes = exe.as_os_str().as_bytes();
    let exe_bytes = exe_bytes.strip_suffix(b" (deleted)").unwrap_or(exe_bytes);
    if exe_bytes != identity.exe.as_os_str().as_bytes() {
        return false;
    }
    if let Some(uid) = identity.uid {
        match std::fs::metadata(format!("/proc/{pid}")) {
            Ok(m) if m.uid() == uid => {}
            _ => return false,
        }
    }
    if let Some(cwd) = &identity.cwd {
        match std::fs::read_link(format!("/proc/{pid}/cwd")) {
            Ok(c) if &c == cwd => {}
            _ => return false,
        }
    }
    true
}

/// Whether process `pid` is one of the server's (same test as [`scan`] applies), e.g. the pid
/// read from a pidfile: a stale pidfile naming another program answers false.
pub fn is_member(pid: i32, identity: &Identity) -> bool {
    pid > 0 && matches_identity(pid, identity) && read_live_stat(pid).is_some()
}

fn pids() -> std::io::Result<impl Iterator<Item = i32>> {
    Ok(std::fs::read_dir("/proc")?.filter_map(|e| {
        let e = e.ok()?;
        let name = e.file_name();
        std::str::from_utf8(name.as_bytes()).ok()?.parse().ok()
    }))
}

/// Reads `/proc` once. With `descendants`, also the other processes' parentage, to find
/// helpers started by Axigen (costs one more file read per process; for stop, not monitor).
pub fn scan(identity: &Identity, descendants: bool) -> std::io::Result<AxigenProcs> {
    let me = std::process::id() as i32;
    let mut axigen = Vec::new();
    let mut others = Vec::new();
    for pid in pids()? {
        if pid == me {
            continue;
        }
        if matches_identity(pid, identity) {
            axigen.extend(read_live_stat(pid));
        } else if descendants {
            others.extend(read_live_stat(pid));
        }
    }
    Ok(classify(&axigen, &others))
}

/// Depth 0: the supervisor's pid, if one runs.
pub fn find_supervisor(identity: &Identity) -> std::io::Result<Option<i32>> {
    Ok(scan(identity, false)?.supervisor.map(|p| p.pid))
}

/// Sends `sig` to `p` only if it is still the same process (same start time): the pid is
/// pinned with a pidfd first, so a pid reused since the scan is never signalled. Returns
/// false when the process is gone.
fn signal_verified(p: &ProcInfo, sig: libc::c_int) -> bool {
    // SAFETY: pidfd_open(2) with a plain pid and no flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, p.pid, 0) } as libc::c_int;
    if fd < 0 {
        // Kernel without pidfds: check the start time and kill(2) (a tiny race remains).
        if read_stat(p.pid).is_some_and(|now| now.start_time == p.start_time) {
            // SAFETY: kill(2) of a pid we just verified.
            return unsafe { libc::kill(p.pid, sig) } == 0;
        }
        return false;
    }
    let same = read_stat(p.pid).is_some_and(|now| now.start_time == p.start_time);
    let sent = same && {
        // SAFETY: pidfd_send_signal(2) on the pidfd we hold; no siginfo.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        rc == 0
    };
    // SAFETY: closing the descriptor we opened.
    unsafe { libc::close(fd) };
    sent
}

/// How long each phase of [`stop`] may take at most (all within the caller's deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopOptions {
    /// Time left after the graceful phase for SIGTERM-to-all and SIGKILL (the graceful phase
    /// gets the rest of the deadline).
    pub escalation_reserve: Duration,
    /// How long processes get after SIGTERM-to-all before SIGKILL.
    pub term_grace: Duration,
    /// Pause between rescans.
    pub poll: Duration,
}

impl Default for StopOptions {
    fn default() -> Self {
        StopOptions {
            escalation_reserve: Duration::from_secs(5),
            term_grace: Duration::from_secs(2),
            poll: Duration::from_millis(50),
        }
    }
}

/// The last step [`stop`] had to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopPhase {
    /// Nothing was running.
    NotRunning,
    /// SIGTERM to the supervisor was enough.
    Graceful,
    /// SIGTERM to every process of the identity was needed.
    TermAll,
    /// SIGKILL was needed.
    Kill,
}

/// What [`stop`] did and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReport {
    pub phase: StopPhase,
    /// Processes still there at the end (empty means stopped).
    pub remaining: Vec<ProcInfo>,
}

impl StopReport {
    pub fn stopped(&self) -> bool {
        self.remaining.is_empty()
    }
}

impl fmt::Display for StopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.remaining.is_empty() {
            let how = match self.phase {
                StopPhase::NotRunning => "was not running",
                StopPhase::Graceful => "stopped gracefully",
                StopPhase::TermAll => "stopped after SIGTERM to all its processes",
                StopPhase::Kill => "stopped only by SIGKILL",
            };
            return f.write_str(how);
        }
        let pids: Vec<String> = self
            .remaining
            .iter()
            .map(|p| format!("{} ({})", p.pid, p.state))
            .collect();
        write!(f, "processes remain after SIGKILL: {}", pids.join(", "))
    }
}

/// Polls until `gone(scan)` or `until` passes; returns the last scan.
fn wait_for(
    identity: &Identity,
    until: &Deadline,
    poll: Duration,
    gone: impl Fn(&AxigenProcs) -> bool,
) -> AxigenProcs {
    loop {
        let now = scan(identity, true).unwrap_or_default();
        if gone(&now) || until.expired() {
            return now;
        }
        std::thread::sleep(until.cap(poll));
    }
}

/// Stops the server: SIGTERM to the supervisor and wait for it and its workers (graceful,
/// until `deadline` less `escalation_reserve`); then SIGTERM to every remaining process of the
/// identity and their helpers (strays included) for `term_grace`; then SIGKILL, rescanning
/// until nothing is left or the deadline passes. A graceful stop by another means (the init
/// script) goes before this call; it then finds less to do.
pub fn stop(identity: &Identity, deadline: &Deadline, opts: StopOptions) -> StopReport {
    let first = scan(identity, true).unwrap_or_default();
    if first.is_empty() {
        return StopReport {
            phase: StopPhase::NotRunning,
            remaining: Vec::new(),
        };
    }
    let mut phase = StopPhase::Graceful;
    let mut now = first;
    if let Some(sup) = now.supervisor {
        // Wait for exactly the processes of the tree seen now: once the supervisor is gone,
        // a stray (an escaped orphan) would be classified as the next "supervisor", and it
        // will not leave by itself; the escalation deals with it.
        let tree: HashSet<(i32, u64)> = now.tree().iter().map(|p| (p.pid, p.start_time)).collect();
        signal_verified(&sup, libc::SIGTERM);
        let graceful_until = deadline.reserve(opts.escalation_reserve);
        now = wait_for(identity, &graceful_until, opts.poll, |p| {
            !p.all()
                .iter()
                .any(|q| tree.contains(&(q.pid, q.start_time)))
        });
    }
    if !now.is_empty() {
        phase = StopPhase::TermAll;
        for p in now.all() {
            signal_verified(&p, libc::SIGTERM);
        }
        let term_until = Deadline::after(deadline.cap(opts.term_grace)).min(*deadline);
        now = wait_for(identity, &term_until, opts.poll, AxigenProcs::is_empty);
    }
    while !now.is_empty() && !deadline.expired() {
        phase = StopPhase::Kill;
        // Stop them all first so a supervisor cannot respawn what we kill next.
        let all = now.all();
        for p in &all {
            signal_verified(p, libc::SIGSTOP);
        }
        for p in &all {
            signal_verified(p, libc::SIGKILL);
        }
        std::thread::sleep(deadline.cap(Duration::from_millis(20)));
        now = scan(identity, true).unwrap_or_default();
    }
    StopReport {
        phase,
        remaining: now.all(),
    }
}

/// The user Axigen runs as, resolved before the fork (name lookups are not allowed between
/// fork and exec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: PathBuf,
}

impl RunAs {
    /// Looks `name` up in the user database, with its supplementary groups.
    pub fn lookup(name: &str) -> Result<RunAs, String> {
        let user = nix::unistd::User::from_name(name)
            .map_err(|e| format!("cannot look up user {name}: {e}"))?
            .ok_or_else(|| format!("user {name} does not exist"))?;
        let cname = CString::new(name).map_err(|_| format!("bad user name {name:?}"))?;
        let groups = nix::unistd::getgrouplist(&cname, user.gid)
            .map_err(|e| format!("cannot list the groups of {name}: {e}"))?;
        Ok(RunAs {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            groups: groups.into_iter().map(|g| g.as_raw()).collect(),
            home: user.dir,
        })
    }
}

/// How to start the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Drop to this user (from root) before exec.
    pub run_as: Option<RunAs>,
    /// stdout and stderr go here (appended); `None`: /dev/null.
    pub log: Option<PathBuf>,
    pub cwd: PathBuf,
    /// The whole environment of the server (the agent's own, with its `OCF_*` variables, is
    /// not passed on).
    pub env: Vec<(OsString, OsString)>,
}

impl StartSpec {
    /// `program` with no arguments, in `/`, with a minimal `PATH` (and `HOME` from `run_as`).
    pub fn new(program: &Path) -> StartSpec {
        StartSpec {
            program: program.to_path_buf(),
            args: Vec::new(),
            run_as: None,
            log: None,
            cwd: PathBuf::from("/"),
            env: vec![(
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            )],
        }
    }
}

/// stdout and stderr for a started program: both appended to `log`, or /dev/null.
pub(crate) fn log_streams(log: Option<&Path>) -> Result<(Stdio, Stdio), String> {
    let out = match log {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the log {}: {e}", path.display()))?,
        None => std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .map_err(|e| format!("cannot open /dev/null: {e}"))?,
    };
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot duplicate the log descriptor: {e}"))?;
    Ok((Stdio::from(out), Stdio::from(err)))
}

/// Starts the program detached: a new session (so Pacemaker's SIGKILL of the agent's process
/// group never reaches the mail server), reparented away from the agent by a double fork (so
/// it is no zombie of ours and looks as Axigen does when started by its init script), stdin
/// from /dev/null, output to the log or /dev/null, as `run_as`. Returns once the program is
/// exec'd (an exec failure, e.g. a missing binary, is the error); whether it then serves is
/// for the caller to poll.
pub fn start_detached(spec: &StartSpec) -> Result<(), String> {
    let name = spec.program.display().to_string();
    let (out, err) = log_streams(spec.log.as_deref())?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(r) = &spec.run_as {
        if !spec.env.iter().any(|(k, _)| k == "HOME") {
            cmd.env("HOME", &r.home);
        }
    }
    let run_as = spec.run_as.clone();
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
    // functions (setsid, fork, _exit, setgroups, setgid, setuid) on data prepared before.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => {}
                // The intermediate exits at once; the grandchild goes on to exec and std's
                // exec-error pipe still reports its failure to us.
                _ => libc::_exit(0),
            }
            if let Some(r) = &run_as {
                if libc::setgroups(r.groups.len(), r.groups.as_ptr()) != 0
                    || libc::setgid(r.gid) != 0
                    || libc::setuid(r.uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    // Reap the intermediate process (it has already exited or is about to).
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for the start of {name}: {e}"))?;
    if !status.success() {
        return Err(format!("starting {name} failed ({status})"));
    }
    Ok(())
}

/// Pids of `procs`, for messages.
pub fn pid_list(procs: &[ProcInfo]) -> String {
    procs
        .iter()
        .map(|p| p.pid.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Group processes by session, for diagnostics (which ones escaped the supervisor's session).
pub fn by_session(procs: &[ProcInfo]) -> HashMap<i32, Vec<i32>> {
    let mut m: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in procs {
        m.entry(p.sid).or_default().push(p.pid);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, start: u64) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            pgrp: pid,
            sid: pid,
            start_time: start,
            state: 'S',
        }
    }

    #[test]
    fn stat_parsing() {
        let s = "1234 (axi gen) (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 98765 1000 10 18446744073709551615";
        let i = parse_stat(s).unwrap();
        assert_eq!(
            (i.pid, i.state, i.ppid, i.pgrp, i.sid, i.start_time),
            (1234, 'S', 1, 1234, 1234, 98765)
        );
        assert!(parse_stat("").is_none());
        assert!(parse_stat("12 (x) S 1").is_none());
        assert!(parse_stat("x (y) S 1 2 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 5").is_none());
    }

    #[test]
    fn supervisor_workers_strays() {
        // 100 supervisor (parent 1) with workers 101, 102; 102 has a worker child 103;
        // 200 escaped orphan (parent 1, younger); 300 helper child of 101 (not axigen).
        let axigen = [
            p(100, 1, 10),
            p(101, 100, 11),
            p(102, 100, 11),
            p(103, 102, 12),
            p(200, 1, 13),
        ];
        let others = [p(300, 101, 14), p(400, 1, 1), p(401, 300, 15)];
        let c = classify(&axigen, &others);
        assert_eq!(c.supervisor.map(|s| s.pid), Some(100));
        let mut w: Vec<i32> = c.workers.iter().map(|p| p.pid).collect();
        w.sort();
        assert_eq!(w, vec![101, 102, 103]);
        assert_eq!(
            c.strays.iter().map(|p| p.pid).collect::<Vec<_>>(),
            vec![200]
        );
        let mut h: Vec<i32> = c.helpers.iter().map(|p| p.pid).collect();
        h.sort();
        assert_eq!(h, vec![300, 401]);
    }

    #[test]
    fn childless_older_root_is_not_preferred_over_a_real_supervisor() {
        // An old orphan (start 5) and a supervisor with a worker (start 10).
        let axigen = [p(50, 1, 5), p(100, 1, 10), p(101, 100, 11)];
        let c = classify(&axigen, &[]);
        assert_eq!(c.supervisor.map(|s| s.pid), Some(100));
        assert_eq!(c.strays.len(), 1);
        // Only childless roots: the oldest is the supervisor (just started).
        let c = classify(&[p(60, 1, 9), p(50, 1, 5)], &[]);
        assert_eq!(c.supervisor.map(|s| s.pid), Some(50));
        assert!(classify(&[], &[]).is_empty());
    }

    #[test]
    fn workers_of_a_dead_supervisor_are_roots() {
        // Supervisor killed: its workers were reparented to init; the oldest one with a
        // child becomes the "supervisor" and the rest strays; stop kills all of them anyway.
        let c = classify(&[p(101, 1, 11), p(102, 1, 11)], &[]);
        assert_eq!(c.all().len(), 2);
    }

    #[test]
    fn report_text() {
        let r = StopReport {
            phase: StopPhase::Kill,
            remaining: vec![p(7, 1, 1)],
        };
        assert_eq!(r.to_string(), "processes remain after SIGKILL: 7 (S)");
        assert!(!r.stopped());
    }

    #[test]
    fn scanning_self_is_excluded_and_missing_binary_finds_nothing() {
        let me = Identity::new(Path::new("/proc/self/exe"));
        assert!(
            scan(&me, false).unwrap().supervisor.map(|s| s.pid) != Some(std::process::id() as i32)
        );
        let none = Identity::new(Path::new("/nonexistent/axigen"));
        assert_eq!(find_supervisor(&none).unwrap(), None);
    }
}
