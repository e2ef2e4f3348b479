//! Child processes with a time limit.
//!
//! Agents call a few cluster tools (`crm_attribute`, `drbdsetup`, `cibadmin`). Each call gets a
//! timeout taken from the action's [`crate::deadline::Deadline`]; a child that overruns is
//! killed, and the caller gets [`RunError::TimedOut`] instead of hanging until Pacemaker
//! SIGKILLs us. Children stay in our process group on purpose: if Pacemaker does kill us, they
//! go with us.

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
    let mut child = cmd.spawn().map_err(|error| RunError::Spawn {
        program: program.clone(),
        error,
    })?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        // A child that exits without reading its input is not our failure to report here;
        // its exit status says what happened.
        let _ = stdin.write_all(bytes);
    }
    let out_reader = spawn_reader(child.stdout.take());
    let err_reader = spawn_reader(child.stderr.take());
    let status = match wait_until(&mut child, timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::TimedOut {
                program,
                after: timeout,
            });
        }
        Err(error) => return Err(RunError::Io { program, error }),
    };
    Ok(Captured {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

fn spawn_reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
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
    fn missing_program_is_a_spawn_error() {
        let err = run_captured(
            &mut Command::new("/nonexistent/bulwark-tool"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }));
    }
}
