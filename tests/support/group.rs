//! Running an agent the way Pacemaker's executor and fencer do: in a process group of its own,
//! so that a timeout, or a test playing one, SIGKILLs the agent and every helper it started
//! (a hung `drbdsetup`, a `crm_attribute` waiting for the CIB) at once. Processes that left
//! the group on purpose (a detached server, an announcer in its own session) survive, as they
//! do under Pacemaker.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One agent run in progress.
pub struct GroupRun {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    started: Instant,
    reaped: bool,
}

/// How a run ended.
#[derive(Debug)]
pub struct Finished {
    /// None when a signal ended it (the group was killed).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// The group was SIGKILLed (by [`GroupRun::kill_group`] or because it overran the limit
    /// given to [`GroupRun::wait`]).
    pub killed: bool,
}

impl GroupRun {
    /// Spawns `cmd` as the leader of a new process group, writes `input` to its stdin and
    /// closes it. Panics when it cannot be started.
    pub fn spawn(cmd: &mut Command, input: Option<&[u8]>) -> GroupRun {
        cmd.process_group(0)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            // An agent that exits before reading its input is judged by its exit status.
            let _ = stdin.write_all(bytes);
        }
        let reader = |pipe: Option<Box<dyn Read + Send>>| {
            pipe.map(|mut p| {
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let _ = p.read_to_end(&mut buf);
                    buf
                })
            })
        };
        let stdout = reader(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = reader(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        GroupRun {
            child,
            stdout,
            stderr,
            started,
            reaped: false,
        }
    }

    /// The group's id (the leader's PID).
    pub fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    /// True while the leader has not exited.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Time since spawn.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// SIGKILLs every process of the group. Safe against PID reuse: the leader is not reaped
    /// before [`GroupRun::wait`], so the group id cannot have been handed to anyone else.
    pub fn kill_group(&mut self) {
        if !self.reaped {
            // SAFETY: kill(2) on the process group this run created and still holds.
            unsafe { libc::kill(-self.pgid(), libc::SIGKILL) };
        }
    }

    /// Waits for the leader up to `limit` after spawn (then kills the group), and for the
    /// output pipes (which a surviving group member could hold: bounded the same way).
    pub fn wait(mut self, limit: Duration) -> Finished {
        let status = self.wait_status(limit);
        let elapsed = self.started.elapsed();
        let mut killed = status.is_none() || status.is_some_and(|s| s.code().is_none());
        // Helpers still in the group hold the pipes open; they die with the run.
        if status.is_none() {
            self.kill_group();
            killed = true;
        }
        let status = status.or_else(|| self.child.wait().ok());
        self.reaped = true;
        let join = |h: Option<JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        Finished {
            code: status.and_then(|s| s.code()),
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
            elapsed,
            killed,
        }
    }

    fn wait_status(&mut self, limit: Duration) -> Option<ExitStatus> {
        let left = limit.saturating_sub(self.started.elapsed());
        bulwark::process::wait_until(&mut self.child, left)
            .ok()
            .flatten()
    }

    /// PIDs of the processes still in this run's group (the leader excluded once it exited).
    pub fn members(&self) -> Vec<u32> {
        group_members(self.pgid())
    }
}

impl Drop for GroupRun {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            let _ = self.child.wait();
        }
    }
}

/// PIDs of the live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the command name: state, ppid, pgrp.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let mut f = rest.split_whitespace();
            let state = f.next();
            let pgrp = f.nth(1).and_then(|p| p.parse::<i32>().ok());
            state != Some("Z") && pgrp == Some(pgid)
        })
        .collect()
}
