//! Child processes with a time limit.
//!
//! Agents call a few cluster tools (`crm_attribute`, `drbdsetup`, `cibadmin`). Each call gets a
//! timeout taken from the action's [`crate::deadline::Deadline`]; a child that overruns is
//! killed, and the caller gets [`RunError::TimedOut`] instead of hanging until Pacemaker
//! SIGKILLs us. Children stay in our process group on purpose: if Pacemaker does kill us, they
//! go with us.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fmt;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a finished child printed and how it ended.
#[derive(Debug)]
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Captured {
    /// The exit code, or `None` when a signal ended the child.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last non-empty line of stderr, trimmed: what a tool says when it fails.
    pub fn stderr_last_line(&self) -> String {
        String::from_utf8_lossy(&self.stderr)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    }
}

#[derive(Debug)]
pub enum RunError {
    /// The program could not be started (missing, not executable).
    Spawn {
        program: String,
        error: std::io::Error,
    },
    /// The child did not finish within its time limit and was killed.
    TimedOut { program: String, after: Duration },
    Io {
        program: String,
        error: std::io::Error,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Spawn { program, error } => write!(f, "cannot run {program}: {error}"),
            RunError::TimedOut { program, after } => {
                write!(f, "{program} timed out after {:.1} s", after.as_secs_f64())
            }
            RunError::Io { program, error } => write!(f, "{program}: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

fn program_name(cmd: &Command) -> String {
    let p = cmd.get_program().to_string_lossy();
    p.rsplit('/').next().unwrap_or(&p).to_string()
}

/// Runs `cmd` with no stdin, captures stdout and stderr, and kills it after `timeout`.
pub fn run_captured(cmd: &mut Command, timeout: Duration) -> Result<Captured, RunError> {
    run_with_input(cmd, None, timeout)
}

/// As [`run_captured`], writing `input` to the child's stdin first (how secrets are handed
/// to a child: never in argv).
///
/// One thread, no polling slack: the child's pipes and a pidfd for the child itself are
/// watched with `poll(2)`, so the call returns as soon as the child has exited and its output
/// is drained. Agents call a tool or two per monitor, and this is most of their run time.
pub fn run_with_input(
    cmd: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Captured, RunError> {
    let program = program_name(cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = spawn_retrying_busy(cmd, timeout).map_err(|error| RunError::Spawn {
        program: program.clone(),
        error,
    })?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        // A child that exits without reading its input is not our failure to report here;
        // its exit status says what happened.
        let _ = stdin.write_all(bytes);
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let pidfd = pidfd_open(child.id());
    let mut exited = false;
    loop {
        use std::os::fd::AsFd;
        let left = timeout.saturating_sub(started.elapsed());
        if stdout.is_none() && stderr.is_none() {
            break;
        }
        if left.is_zero() {
            return Err(timed_out(&mut child, program, timeout));
        }
        let mut fds = Vec::with_capacity(3);
        let mut which = Vec::with_capacity(3);
        if let Some(p) = &stdout {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            which.push(0);
        }
        if let Some(p) = &stderr {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            which.push(1);
        }
        // Once the child has exited, only its (grand)children can still hold the pipes; stop
        // watching the pidfd and drain, bounded by the same timeout.
        if let (Some(fd), false) = (&pidfd, exited) {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            which.push(2);
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(RunError::Io {
                    program,
                    error: e.into(),
                })
            }
        }
        let ready: Vec<(usize, bool)> = fds
            .iter()
            .zip(&which)
            .map(|(f, w)| (*w, f.revents().is_some_and(|r| !r.is_empty())))
            .collect();
        for (w, is_ready) in ready {
            if !is_ready {
                continue;
            }
            match w {
                0 => drain(&mut stdout, &mut out),
                1 => drain(&mut stderr, &mut err),
                _ => exited = true,
            }
        }
    }
    let status = match wait_until(&mut child, timeout.saturating_sub(started.elapsed())) {
        Ok(Some(status)) => status,
        Ok(None) => return Err(timed_out(&mut child, program, timeout)),
        Err(error) => return Err(RunError::Io { program, error }),
    };
    Ok(Captured {
        status,
        stdout: out,
        stderr: err,
    })
}

/// `spawn`, retried briefly on ETXTBSY ("text file busy"): the executable is open for writing
/// somewhere, which is transient — a package upgrade replacing the tool, or a just-written
/// script whose descriptor a concurrently forked child still holds until its own exec.
fn spawn_retrying_busy(cmd: &mut Command, timeout: Duration) -> std::io::Result<Child> {
    let until = Instant::now() + timeout.min(Duration::from_secs(1));
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn timed_out(child: &mut Child, program: String, after: Duration) -> RunError {
    let _ = child.kill();
    let _ = child.wait();
    RunError::TimedOut { program, after }
}

/// Reads what one readable pipe holds; closes it (sets `None`) at end of file.
fn drain<R: Read>(pipe: &mut Option<R>, into: &mut Vec<u8>) {
    let Some(p) = pipe else { return };
    let mut buf = [0u8; 16384];
    match p.read(&mut buf) {
        Ok(0) => *pipe = None,
        Ok(n) => into.extend_from_slice(&buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
        Err(_) => *pipe = None,
    }
}

/// A pidfd for `pid` (Linux ≥ 5.3); `None` where the kernel lacks it, and the pipes alone
/// then tell when the child is done.
fn pidfd_open(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain syscall returning a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: fd is a fresh descriptor we own when non-negative.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits for `child` up to `timeout`; `Ok(None)` when it is still running then.
/// Polls with a growing interval: fast tools (most calls) are reaped within a fraction of a
/// millisecond, slow ones cost few wake-ups.
pub fn wait_until(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Ok(None);
        }
        std::thread::sleep(pause.min(timeout - elapsed));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Which side of a [`detach`] the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detached {
    /// The detached child: do its work and leave with `libc::_exit`, never by returning
    /// through the parent's stack.
    Child,
    Parent(nix::unistd::Pid),
    /// No child: the caller does the work in the foreground.
    Failed,
}

/// Forks a child in a session of its own with standard input, output and error on
/// `/dev/null`: the executor that ran the agent reads its stdout and stderr until every
/// writer closes them, so a child holding them would make the action seem to last as long.
/// Call only while the process is single-threaded.
pub fn detach() -> Detached {
    // SAFETY: the agents call this single-threaded; the child only runs async-signal-safe
    // calls before its own work, and ends with `_exit`.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                use std::os::fd::AsRawFd;
                for fd in 0..3 {
                    // SAFETY: dup2 onto the standard descriptors of this process.
                    unsafe { libc::dup2(null.as_raw_fd(), fd) };
                }
            }
            Detached::Child
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => Detached::Parent(child),
        Err(_) => Detached::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_code() {
        let out = run_captured(
            Command::new("/bin/sh").args(["-c", "echo out; echo err >&2; exit 4"]),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.code(), Some(4));
        assert_eq!(out.stdout_str(), "out\n");
        assert_eq!(out.stderr_last_line(), "err");
    }

    #[test]
    fn kills_on_timeout() {
        let t = Instant::now();
        let err =
            run_captured(Command::new("sleep").arg("5"), Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, RunError::TimedOut { .. }), "{err}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn input_goes_to_stdin() {
        let out = run_with_input(
            &mut Command::new("cat"),
            Some(b"secret-in\n"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.stdout, b"secret-in\n");
    }

    #[test]
    fn large_output_on_both_streams_is_complete() {
        let out = run_captured(
            Command::new("/bin/sh").args([
                "-c",
                "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2",
            ]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout.len(), 300000);
        assert_eq!(out.stderr.len(), 200000);
    }

    #[test]
    fn a_grandchild_holding_the_pipe_does_not_outlive_the_timeout() {
        let t = Instant::now();
        let r = run_captured(
            Command::new("/bin/sh").args(["-c", "sleep 5 & echo started"]),
            Duration::from_millis(300),
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        // The shell itself exited at once; the verdict is a timeout (its output is incomplete).
        assert!(matches!(r, Err(RunError::TimedOut { .. })), "{r:?}");
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = run_captured(
            &mut Command::new("/nonexistent/bulwark-tool"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }));
    }

    #[test]
    fn a_detached_child_has_its_own_session_and_no_inherited_output() {
        match detach() {
            Detached::Child => {
                // SAFETY: plain system calls in the child; it leaves with _exit.
                let own_session = unsafe { libc::getsid(0) == libc::getpid() };
                let mut link = [0u8; 64];
                // SAFETY: readlink into a buffer of the length given.
                let n = unsafe {
                    libc::readlink(
                        c"/proc/self/fd/1".as_ptr(),
                        link.as_mut_ptr().cast(),
                        link.len(),
                    )
                };
                let null = n > 0 && &link[..n as usize] == b"/dev/null";
                // SAFETY: leaving the forked test process without running its harness.
                unsafe { libc::_exit(if own_session && null { 0 } else { 1 }) }
            }
            Detached::Parent(child) => {
                let status = nix::sys::wait::waitpid(child, None).expect("waitpid");
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
            Detached::Failed => panic!("fork failed"),
        }
    }
}
