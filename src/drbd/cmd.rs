//! Running `drbdadm` and `drbdsetup`, each call bounded by the action's [`Deadline`].
//!
//! Paths are overridable so tests (and the benchmark) can point the agent at the simulator:
//! [`DrbdTools::from_env`] reads `BULWARK_DRBDADM`, `BULWARK_DRBDSETUP` and
//! `BULWARK_PROC_DRBD`; otherwise the tools are found through `PATH` and the module through
//! `/proc/drbd`, as drbd.ocf does.
//!
//! Exit codes are DRBD's own (`print_config_error` in LINBIT/drbd-utils
//! `user/v9/drbdsetup.c`; drbdadm passes drbdsetup's code through): see [`ExitKind`].

use super::events2::parse_events2;
use super::json::parse_status_json;
use super::sh_status::parse_sh_status;
use super::status::{printable, DrbdStatus, ParseError};
use super::version::{parse_drbdadm_version, DrbdVersion, ToolVersions};
use crate::deadline::Deadline;
use crate::process::{run_captured, Captured, RunError};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What a non-zero exit of a DRBD tool means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// 10: the resource is not defined / not known to the kernel ("No such resource",
    /// "'r0' not defined in your config"); also the kernel's other configuration refusals.
    NoSuchResource,
    /// 11: a state change failed, e.g. "(-12) Device is held open by someone".
    StateChangeFailed,
    /// 17: "(-2) Need access to UpToDate data": all available disks are inconsistent, or
    /// this node is Consistent but could not outdate the peer. Promotion must not be retried.
    NoUpToDateData,
    /// 5: the disk is already lower than Outdated.
    LowerThanOutdated,
    /// 16: no local disk.
    NoLocalDisk,
    /// 20: no kernel module, or another local error of the tool.
    NoModule,
    /// Anything else.
    Other,
}

impl ExitKind {
    pub fn from_code(code: i32) -> ExitKind {
        match code {
            10 => ExitKind::NoSuchResource,
            11 => ExitKind::StateChangeFailed,
            17 => ExitKind::NoUpToDateData,
            5 => ExitKind::LowerThanOutdated,
            16 => ExitKind::NoLocalDisk,
            20 => ExitKind::NoModule,
            _ => ExitKind::Other,
        }
    }
}

/// Why a DRBD tool call did not succeed.
#[derive(Debug)]
pub enum DrbdError {
    /// Could not run it, or it overran its time limit and was killed.
    Run(RunError),
    /// It ran and failed.
    Exit {
        /// `drbdadm primary r0`: program and arguments (no secrets ever pass through here).
        command: String,
        /// `None` when a signal ended it.
        code: Option<i32>,
        kind: ExitKind,
        /// Its last stderr line, made printable.
        stderr: String,
    },
    /// It printed something we could not read.
    Parse(ParseError),
}

impl DrbdError {
    /// The [`ExitKind`] when the tool ran and failed.
    pub fn exit_kind(&self) -> Option<ExitKind> {
        match self {
            DrbdError::Exit { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// A state change failed because the device is open (mounted, or a process holds it).
    pub fn is_held_open(&self) -> bool {
        match self {
            DrbdError::Exit { kind, stderr, .. } => {
                *kind == ExitKind::StateChangeFailed
                    && (stderr.contains("(-12)") || stderr.contains("held open"))
            }
            _ => false,
        }
    }

    pub fn timed_out(&self) -> bool {
        matches!(self, DrbdError::Run(RunError::TimedOut { .. }))
    }
}

impl fmt::Display for DrbdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrbdError::Run(e) => write!(f, "{e}"),
            DrbdError::Exit {
                command,
                code,
                stderr,
                ..
            } => {
                match code {
                    Some(c) => write!(f, "{command} failed with exit code {c}")?,
                    None => write!(f, "{command} was killed by a signal")?,
                }
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
            DrbdError::Parse(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DrbdError {}

impl From<ParseError> for DrbdError {
    fn from(e: ParseError) -> Self {
        DrbdError::Parse(e)
    }
}

/// Which status command to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSource {
    /// DRBD 9 `drbdsetup events2 --now R` (what drbd.ocf reads; the default for 9).
    Events2,
    /// DRBD 9 `drbdsetup status R --json`.
    Json,
    /// DRBD 8.4 `drbdsetup sh-status R`.
    ShStatus,
}

impl StatusSource {
    /// The source drbd.ocf would use for this kernel module.
    pub fn for_version(v: DrbdVersion) -> StatusSource {
        if v.is_v9() {
            StatusSource::Events2
        } else {
            StatusSource::ShStatus
        }
    }
}

/// Where the DRBD tools and the module's proc file are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrbdTools {
    pub drbdadm: PathBuf,
    pub drbdsetup: PathBuf,
    /// `/proc/drbd`: present when the module is loaded.
    pub proc_drbd: PathBuf,
    /// `drbdadm -c <file>` (the `drbdconf` parameter); `None` = drbdadm's default.
    pub config: Option<PathBuf>,
    /// A stacked resource (`drbdadm -S`).
    pub stacked: bool,
}

impl Default for DrbdTools {
    fn default() -> Self {
        DrbdTools {
            drbdadm: PathBuf::from("drbdadm"),
            drbdsetup: PathBuf::from("drbdsetup"),
            proc_drbd: PathBuf::from("/proc/drbd"),
            config: None,
            stacked: false,
        }
    }
}

/// The stderr line that says what went wrong: drbdadm ends with "Command '…' terminated
/// with exit code N" after the kernel's reason ("Failure: (118) Can not open backing
/// device", "State change failed: (-12) …"), so prefer the reason line.
fn telling_line(out: &Captured) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .map(str::trim)
        .find(|l| l.contains("Failure:") || l.contains("State change failed"))
        .map(str::to_string)
        .unwrap_or_else(|| out.stderr_last_line())
}

/// The longest a single status query may take even with a generous deadline: drbdsetup
/// freezes when the kernel does (LINBIT/drbd #51), and a monitor must report that in time.
pub const STATUS_CALL_LIMIT: Duration = Duration::from_secs(10);

impl DrbdTools {
    /// Defaults, overridden by `BULWARK_DRBDADM`, `BULWARK_DRBDSETUP`, `BULWARK_PROC_DRBD`.
    pub fn from_env() -> Self {
        let mut t = DrbdTools::default();
        if let Some(p) = std::env::var_os("BULWARK_DRBDADM").filter(|p| !p.is_empty()) {
            t.drbdadm = p.into();
        }
        if let Some(p) = std::env::var_os("BULWARK_DRBDSETUP").filter(|p| !p.is_empty()) {
            t.drbdsetup = p.into();
        }
        if let Some(p) = std::env::var_os("BULWARK_PROC_DRBD").filter(|p| !p.is_empty()) {
            t.proc_drbd = p.into();
        }
        t
    }

    pub fn with_config(mut self, config: impl Into<PathBuf>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// The module is loaded (its proc file exists).
    pub fn module_loaded(&self) -> bool {
        self.proc_drbd.exists()
    }

    fn describe(program: &Path, args: &[&str]) -> String {
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.to_string_lossy().into_owned());
        let mut s = name;
        for a in args {
            s.push(' ');
            s.push_str(a);
        }
        printable(&s, 120)
    }

    fn run(
        &self,
        program: &Path,
        pre: &[OsString],
        args: &[&str],
        deadline: &Deadline,
        limit: Duration,
    ) -> Result<Captured, DrbdError> {
        self.run_env(program, pre, args, &[], deadline, limit)
    }

    fn run_env(
        &self,
        program: &Path,
        pre: &[OsString],
        args: &[&str],
        env: &[(&str, &str)],
        deadline: &Deadline,
        limit: Duration,
    ) -> Result<Captured, DrbdError> {
        let mut cmd = Command::new(program);
        cmd.args(pre).args(args).envs(env.iter().copied());
        // drbdadm warns on stderr about userland/kernel version mismatches on every call.
        cmd.env("DRBD_DONT_WARN_ON_VERSION_MISMATCH", "1");
        let out = run_captured(&mut cmd, deadline.cap(limit)).map_err(DrbdError::Run)?;
        if out.status.success() {
            return Ok(out);
        }
        let code = out.code();
        Err(DrbdError::Exit {
            command: Self::describe(program, args),
            code,
            kind: code.map_or(ExitKind::Other, ExitKind::from_code),
            stderr: printable(&telling_line(&out), 200),
        })
    }

    fn adm_prefix(&self) -> Vec<OsString> {
        let mut pre = Vec::new();
        if let Some(c) = &self.config {
            pre.push(OsString::from("-c"));
            pre.push(c.clone().into_os_string());
        }
        if self.stacked {
            pre.push(OsString::from("-S"));
        }
        pre
    }

    /// `drbdadm [-c conf] [-S] <args>`; success or a typed failure.
    pub fn drbdadm(&self, args: &[&str], deadline: &Deadline) -> Result<Captured, DrbdError> {
        let pre = self.adm_prefix();
        self.run(&self.drbdadm, &pre, args, deadline, deadline.remaining())
    }

    /// `drbdsetup <args>`.
    pub fn drbdsetup(&self, args: &[&str], deadline: &Deadline) -> Result<Captured, DrbdError> {
        self.run(&self.drbdsetup, &[], args, deadline, deadline.remaining())
    }

    /// `drbdadm --version`. Works without the module (kernel version `None` then).
    pub fn versions(&self, deadline: &Deadline) -> Result<ToolVersions, DrbdError> {
        let out = self.run(
            &self.drbdadm,
            &[],
            &["--version"],
            deadline,
            STATUS_CALL_LIMIT,
        )?;
        Ok(parse_drbdadm_version(&out.stdout_str())?)
    }

    /// The current state of `resource`; `Ok(None)` when it is not configured in the kernel.
    /// A missing module (exit 20) is `Ok(None)` too only if `/proc/drbd` is absent; otherwise
    /// it is an error.
    pub fn status(
        &self,
        resource: &str,
        source: StatusSource,
        deadline: &Deadline,
    ) -> Result<Option<DrbdStatus>, DrbdError> {
        let args: &[&str] = match source {
            StatusSource::Events2 => &["events2", "--now", resource],
            StatusSource::Json => &["status", resource, "--json"],
            StatusSource::ShStatus => &["sh-status", resource],
        };
        let out = match self.run(&self.drbdsetup, &[], args, deadline, STATUS_CALL_LIMIT) {
            Ok(out) => out,
            // `status --json` of a resource that is down: "No such resource", exit 10.
            Err(DrbdError::Exit {
                kind: ExitKind::NoSuchResource,
                ..
            }) if source == StatusSource::Json => return Ok(None),
            Err(DrbdError::Exit {
                kind: ExitKind::NoModule,
                ..
            }) if !self.module_loaded() => return Ok(None),
            // 8.4 `sh-status` of a resource that is configured but not up in the kernel:
            // no output at all, exit 19 (observed on the real 8.4.11 module).
            Err(DrbdError::Exit {
                code: Some(19),
                ref stderr,
                ..
            }) if source == StatusSource::ShStatus && stderr.is_empty() => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = std::str::from_utf8(&out.stdout)
            .map_err(|_| ParseError::new("drbdsetup", "output is not UTF-8", &out.stdout_str()))?;
        Ok(match source {
            StatusSource::Events2 => parse_events2(resource, text)?,
            StatusSource::Json => parse_status_json(resource, text)?,
            StatusSource::ShStatus => parse_sh_status(resource, text)?,
        })
    }

    /// `drbdadm sh-dev R`: the resource's device paths. Exit 10 means the resource is not in
    /// the configuration.
    pub fn devices(&self, resource: &str, deadline: &Deadline) -> Result<Vec<PathBuf>, DrbdError> {
        let pre = self.adm_prefix();
        let out = self.run(
            &self.drbdadm,
            &pre,
            &["sh-dev", resource],
            deadline,
            STATUS_CALL_LIMIT,
        )?;
        Ok(out
            .stdout_str()
            .split_whitespace()
            .map(PathBuf::from)
            .collect())
    }

    /// `drbdadm primary R`. Exit 17 ([`ExitKind::NoUpToDateData`]) must end the promote.
    pub fn primary(&self, resource: &str, deadline: &Deadline) -> Result<(), DrbdError> {
        self.drbdadm(&["primary", resource], deadline).map(drop)
    }

    /// `drbdadm secondary R`. Fails with exit 11 while the device is held open.
    pub fn secondary(&self, resource: &str, deadline: &Deadline) -> Result<(), DrbdError> {
        self.drbdadm(&["secondary", resource], deadline).map(drop)
    }

    /// `drbdadm up R`.
    pub fn up(&self, resource: &str, deadline: &Deadline) -> Result<(), DrbdError> {
        self.drbdadm(&["up", resource], deadline).map(drop)
    }

    /// `drbdadm down R`.
    pub fn down(&self, resource: &str, deadline: &Deadline) -> Result<(), DrbdError> {
        self.drbdadm(&["down", resource], deadline).map(drop)
    }

    /// `drbdadm adjust R` (`--skip-net` to attach without connecting, as start does first).
    pub fn adjust(
        &self,
        resource: &str,
        skip_net: bool,
        deadline: &Deadline,
    ) -> Result<(), DrbdError> {
        if skip_net {
            self.drbdadm(&["adjust", "--skip-net", resource], deadline)
        } else {
            self.drbdadm(&["adjust", resource], deadline)
        }
        .map(drop)
    }

    /// `drbdadm outdate R`: mark the local data Outdated (only a Secondary can).
    pub fn outdate(&self, resource: &str, deadline: &Deadline) -> Result<(), DrbdError> {
        self.drbdadm(&["outdate", resource], deadline).map(drop)
    }

    /// `drbdadm unfence-peer R`: DRBD runs the resource's unfence-peer handler, which reads
    /// its options from `OCF_RESKEY_unfence_extra_args` (drbd.ocf's `call_unfence` contract).
    pub fn unfence_peer(
        &self,
        resource: &str,
        extra_args: &str,
        deadline: &Deadline,
    ) -> Result<(), DrbdError> {
        let pre = self.adm_prefix();
        self.run_env(
            &self.drbdadm,
            &pre,
            &["unfence-peer", resource],
            &[("OCF_RESKEY_unfence_extra_args", extra_args)],
            deadline,
            deadline.remaining(),
        )
        .map(drop)
    }

    /// DRBD 8.4 `drbdsetup wait-connect DEVICE --wfc-timeout=N --degr-wfc-timeout=N
    /// --outdated-wfc-timeout=N` (8.4 waits per device; 0 waits until the deadline).
    pub fn wait_connect_device(
        &self,
        device: &Path,
        wfc_timeout_s: u32,
        deadline: &Deadline,
    ) -> Result<(), DrbdError> {
        let dev = device.to_string_lossy();
        let a = format!("--wfc-timeout={wfc_timeout_s}");
        let b = format!("--degr-wfc-timeout={wfc_timeout_s}");
        let c = format!("--outdated-wfc-timeout={wfc_timeout_s}");
        self.drbdsetup(&["wait-connect", &dev, &a, &b, &c], deadline)
            .map(drop)
    }

    /// `drbdsetup wait-connect-resource R --wfc-timeout=N --degr-wfc-timeout=N
    /// --outdated-wfc-timeout=N`, bounded by the deadline as well.
    pub fn wait_connect_resource(
        &self,
        resource: &str,
        wfc_timeout_s: u32,
        deadline: &Deadline,
    ) -> Result<(), DrbdError> {
        let a = format!("--wfc-timeout={wfc_timeout_s}");
        let b = format!("--degr-wfc-timeout={wfc_timeout_s}");
        let c = format!("--outdated-wfc-timeout={wfc_timeout_s}");
        self.drbdsetup(&["wait-connect-resource", resource, &a, &b, &c], deadline)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bulwark-drbd-cmd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn exit_codes_are_typed() {
        let d = tmpdir("exit");
        let adm = script(
            &d,
            "drbdadm",
            "case \"$1\" in primary) echo 'r0: State change failed: (-2) Need access to UpToDate data' >&2; exit 17;;\n\
             secondary) echo 'r0: State change failed: (-12) Device is held open by someone' >&2; exit 11;;\n\
             *) exit 10;; esac",
        );
        let tools = DrbdTools {
            drbdadm: adm,
            ..DrbdTools::default()
        };
        let dl = Deadline::after(Duration::from_secs(10));
        let e = tools.primary("r0", &dl).unwrap_err();
        assert_eq!(e.exit_kind(), Some(ExitKind::NoUpToDateData));
        assert!(e.to_string().contains("drbdadm primary r0 failed with exit code 17: r0: State change failed: (-2) Need access to UpToDate data"), "{e}");
        let e = tools.secondary("r0", &dl).unwrap_err();
        assert!(e.is_held_open());
        let e = tools.up("r9", &dl).unwrap_err();
        assert_eq!(e.exit_kind(), Some(ExitKind::NoSuchResource));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn hung_status_is_a_timeout_not_a_hang() {
        let d = tmpdir("hang");
        let setup = script(&d, "drbdsetup", "exec sleep 30");
        let tools = DrbdTools {
            drbdsetup: setup,
            ..DrbdTools::default()
        };
        let e = tools
            .status(
                "r0",
                StatusSource::Events2,
                &Deadline::after(Duration::from_millis(300)),
            )
            .unwrap_err();
        assert!(e.timed_out(), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
