//! Running an agent the way Pacemaker's executor and fencer do: in a process group of its own,
//! so that a timeout, or a test playing one, SIGKILLs the agent and every helper it started
//! (a hung `drbdsetup`, a `crm_attribute` waiting for the CIB) at once. Processes that left
//! the group on purpose (a detached server, an announcer in its own session) survive, as they
//! do under Pacemaker.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the output pipes may stay open after the run ended: a process that escaped the
/// group while holding them (a daemon the agent failed to detach) must not hang the test.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// One pipe being read on a thread of its own: what arrived so far, and a signal at its end.
struct Pipe {
    text: Arc<Mutex<Vec<u8>>>,
    done: Receiver<()>,
}

impl Pipe {
    fn read(mut from: impl Read + Send + 'static) -> Pipe {
        let text = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = channel();
        let into = text.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => into
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(());
        });
        Pipe { text, done }
    }

    /// What was read, waiting up to `limit` for the end of the pipe.
    fn finish(self, limit: Duration) -> String {
        let _ = self.done.recv_timeout(limit);
        let text = self.text.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// One agent run in progress.
pub struct GroupRun {
    child: Child,
    stdout: Option<Pipe>,
    stderr: Option<Pipe>,
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
        let stdout = child.stdout.take().map(Pipe::read);
        let stderr = child.stderr.take().map(Pipe::read);
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

    /// Waits for the leader up to `limit` after spawn (then kills the group), and then for
    /// the output pipes, up to [`DRAIN_LIMIT`].
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
        let drain = |p: Option<Pipe>| p.map(|p| p.finish(DRAIN_LIMIT)).unwrap_or_default();
        Finished {
            code: status.and_then(|s| s.code()),
            stdout: drain(self.stdout.take()),
            stderr: drain(self.stderr.take()),
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
