//! The Axigen service as the resource agent runs it: settings parsed from the agent's
//! parameters (pure), and start / stop / check at depth 0, 10 and 20 built from [`super::procs`],
//! [`super::probe`], [`super::cli`] and [`super::datadir`].
//!
//! Every failure is a [`Fault`]: a class (what Pacemaker should do about it) and one line for
//! the operator. The agent binary maps classes to OCF exit codes and nothing else.

use super::cli::{self, CliError};
use super::config;
use super::datadir::{self, DataDirProblem};
use super::probe::{self, Listener, ListenerKind, ListenersVerdict};
use super::procs::{self, Identity, RunAs, StartSpec, StopOptions, StopReport};
use crate::deadline::Deadline;
use crate::secret::Secret;
use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What kind of failure, in Pacemaker's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultClass {
    /// The parameters are wrong (OCF 6): no node can do better.
    Config,
    /// Something this node lacks (binary, user, mounted data directory; OCF 5): another node
    /// may succeed.
    Installed,
    /// The server runs but fails (OCF 1).
    Failed,
    /// The server does not run (OCF 7).
    NotRunning,
    /// Only non-critical listeners fail (OCF 190).
    Degraded,
}

/// A failure and its one-line reason (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub class: FaultClass,
    pub reason: String,
}

impl Fault {
    pub fn new(class: FaultClass, reason: impl Into<String>) -> Fault {
        Fault {
            class,
            reason: reason.into(),
        }
    }
    fn config(reason: impl Into<String>) -> Fault {
        Fault::new(FaultClass::Config, reason)
    }
    fn installed(reason: impl Into<String>) -> Fault {
        Fault::new(FaultClass::Installed, reason)
    }
    fn failed(reason: impl Into<String>) -> Fault {
        Fault::new(FaultClass::Failed, reason)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Fault {}

/// How Axigen is started (and gracefully stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartMethod {
    /// The binary itself, detached, as the run user.
    Binary,
    /// `SCRIPT start` / `SCRIPT stop` (the SysV script the packages install).
    InitScript(PathBuf),
    /// `systemctl start|stop UNIT`.
    Systemd(String),
}

/// Which listeners the depth-10 check probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerSource {
    /// Given by the administrator.
    Explicit(Vec<Listener>),
    /// Read from `<data dir>/run/axigen.cfg` at each check; Axigen's defaults when the file is
    /// unreadable (e.g. the data directory is not mounted yet).
    FromConfig,
}

/// Everything the service needs, typed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    /// The account Axigen runs as; `None` for root (Axigen then drops privileges itself, and
    /// processes are recognised by binary path alone).
    pub user: Option<String>,
    pub method: StartMethod,
    /// Extra arguments for the binary (start method `binary`).
    pub options: Vec<OsString>,
    pub pidfile: Option<PathBuf>,
    /// Where the started server's stdout/stderr go (`None`: /dev/null).
    pub log_file: Option<PathBuf>,
    pub listeners: ListenerSource,
    /// Where wildcard listeners are probed (127.0.0.1, or the VIP).
    pub probe_address: IpAddr,
    pub critical: Vec<ListenerKind>,
    /// Time limit of one listener probe.
    pub probe_timeout: Duration,
    pub cli: SocketAddr,
    pub cli_user: String,
    pub cli_password_file: Option<PathBuf>,
    pub cli_command: String,
    pub require_mount: bool,
    /// Longest graceful phase of a stop; `None`: all of the stop timeout less the escalation.
    pub graceful_timeout: Option<Duration>,
}

// ---- parsing (pure) ---------------------------------------------------------------------

/// `smtp, imap:1143 webmail:10.0.0.5:80 …` (comma or blank separated; see
/// [`Listener::parse_spec`]). Empty means "from axigen.cfg".
pub fn parse_listeners(text: &str) -> Result<ListenerSource, String> {
    let items: Vec<&str> = split_list(text);
    if items.is_empty() {
        return Ok(ListenerSource::FromConfig);
    }
    let list = items
        .into_iter()
        .map(Listener::parse_spec)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ListenerSource::Explicit(list))
}

/// `smtp,imap` or `all` or `none`.
pub fn parse_critical(text: &str) -> Result<Vec<ListenerKind>, String> {
    let items = split_list(text);
    match items.as_slice() {
        [one] if one.eq_ignore_ascii_case("all") => return Ok(ListenerKind::ALL.to_vec()),
        [one] if one.eq_ignore_ascii_case("none") => return Ok(Vec::new()),
        _ => {}
    }
    items
        .into_iter()
        .map(|n| {
            ListenerKind::from_name(n).ok_or_else(|| {
                format!(
                    "unknown listener {n:?} (known: smtp, imap, pop3, webmail, webadmin, cli, or all / none)"
                )
            })
        })
        .collect()
}

/// Extra binary arguments, split at blanks (no shell quoting). Refuses Axigen's `-A`
/// (set the admin password): it would be readable by anyone in `/proc/*/cmdline`.
pub fn parse_options(text: &str) -> Result<Vec<OsString>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words
        .iter()
        .any(|w| w.starts_with("-A") || w.starts_with("--admin-password"))
    {
        return Err(
            "must not set the admin password (-A): arguments are readable by every user in /proc"
                .into(),
        );
    }
    Ok(words.into_iter().map(OsString::from).collect())
}

/// `binary`, `initscript` or `systemd` with the script path / unit name.
pub fn parse_method(method: &str, script: &str, unit: &str) -> Result<StartMethod, String> {
    match method.trim() {
        "binary" | "" => Ok(StartMethod::Binary),
        "initscript" => {
            let p = PathBuf::from(script.trim());
            if !p.is_absolute() {
                return Err(format!("init script {script:?} is not an absolute path"));
            }
            Ok(StartMethod::InitScript(p))
        }
        "systemd" => {
            let u = unit.trim();
            if u.is_empty()
                || u.starts_with('-')
                || u.contains(|c: char| c.is_whitespace() || c == '/')
            {
                return Err(format!("systemd unit {unit:?} is not a unit name"));
            }
            Ok(StartMethod::Systemd(u.to_string()))
        }
        other => Err(format!(
            "start method {other:?} is not one of binary, initscript, systemd"
        )),
    }
}

/// An absolute path without `..`.
pub fn parse_abs_path(what: &str, text: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(text.trim());
    if !p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("{what} {text:?} is not an absolute path"));
    }
    Ok(p)
}

/// A TCP port, 1..65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(format!("port {text:?} is not in 1..65535")),
    }
}

fn split_list(text: &str) -> Vec<&str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

// ---- the service ------------------------------------------------------------------------

/// How a running server looks at depth 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    pub supervisor: i32,
}

impl Settings {
    /// The uid of the run user; `Ok(None)` for root / unset.
    fn run_uid(&self) -> Result<Option<u32>, Fault> {
        let Some(name) = &self.user else {
            return Ok(None);
        };
        match nix::unistd::User::from_name(name) {
            Ok(Some(u)) => Ok(Some(u.uid.as_raw())),
            Ok(None) => Err(Fault::installed(format!("user {name} does not exist"))),
            Err(e) => Err(Fault::installed(format!("cannot look up user {name}: {e}"))),
        }
    }

    /// The processes the monitor and start look for: the binary, owned by the run user.
    pub fn identity(&self) -> Result<Identity, Fault> {
        let id = Identity::new(&self.binary);
        Ok(match self.run_uid()? {
            Some(uid) => id.with_uid(uid),
            None => id,
        })
    }

    /// What stop removes: every process of the binary, whoever owns it, so that no Axigen
    /// process of this installation writes to the data directory after a stop.
    pub fn stop_identity(&self) -> Identity {
        Identity::new(&self.binary)
    }

    /// Depth 0: the supervisor, if one runs. A pidfile, when configured and current, spares
    /// the scan of `/proc`.
    pub fn running(&self) -> Result<Option<Running>, Fault> {
        let identity = match self.identity() {
            Ok(id) => id,
            // No such user on this node: nothing can run as it.
            Err(f) if f.class == FaultClass::Installed => return Ok(None),
            Err(f) => return Err(f),
        };
        if let Some(pid) = self.pidfile.as_deref().and_then(read_pidfile) {
            if procs::is_member(pid, &identity) {
                return Ok(Some(Running { supervisor: pid }));
            }
        }
        procs::find_supervisor(&identity)
            .map(|s| s.map(|supervisor| Running { supervisor }))
            .map_err(|e| Fault::failed(format!("cannot read /proc: {e}")))
    }

    /// The listeners to probe now, and a note when axigen.cfg could not be used.
    pub fn listeners(&self) -> (Vec<Listener>, Option<String>) {
        match &self.listeners {
            ListenerSource::Explicit(l) => (l.clone(), None),
            ListenerSource::FromConfig => {
                let path = self.data_dir.join(super::CONFIG_FILE);
                match config::listeners_from_file(&path) {
                    Ok(l) if !l.is_empty() => (l, None),
                    Ok(_) => (
                        config::default_listeners(),
                        Some(format!(
                            "{} lists no listeners; probing Axigen's defaults",
                            path.display()
                        )),
                    ),
                    Err(e) => (
                        config::default_listeners(),
                        Some(format!("{e}; probing Axigen's defaults")),
                    ),
                }
            }
        }
    }

    /// Depth 10: every listener greets. `Ok` when all do; [`FaultClass::Degraded`] when only
    /// non-critical ones fail, [`FaultClass::Failed`] when a critical one does.
    pub fn check_listeners(&self, deadline: &Deadline) -> Result<(), Fault> {
        let (listeners, _) = self.listeners();
        let reports = probe::probe_all(
            &listeners,
            Some(self.probe_address),
            self.probe_timeout,
            deadline,
        );
        match probe::verdict(&reports, &self.critical) {
            ListenersVerdict::Healthy => Ok(()),
            v @ ListenersVerdict::Degraded(_) => Err(Fault::new(
                FaultClass::Degraded,
                format!("degraded: {}", v.reason()),
            )),
            v @ ListenersVerdict::Failed(_) => Err(Fault::failed(v.reason())),
        }
    }

    /// Reads the CLI password. Unset or unreadable is a configuration error: the depth-20
    /// check was asked for without usable credentials.
    pub fn cli_password(&self) -> Result<Secret, Fault> {
        let Some(path) = &self.cli_password_file else {
            return Err(Fault::config(
                "the depth-20 check (CLI login) needs cli_password_file",
            ));
        };
        let s = Secret::from_file(path).map_err(Fault::config)?;
        if s.is_empty() {
            return Err(Fault::config(format!(
                "CLI password file {} is empty",
                path.display()
            )));
        }
        Ok(s)
    }

    /// Depth 20: banner, login, the read-only command, `EXIT`.
    pub fn check_cli(&self, deadline: &Deadline) -> Result<(), Fault> {
        let password = self.cli_password()?;
        cli::check(
            self.cli,
            &self.cli_user,
            &password,
            &self.cli_command,
            deadline,
        )
        .map(|_| ())
        .map_err(|e| match e {
            CliError::InvalidInput(t) => Fault::config(format!("CLI: {t}")),
            e => Fault::failed(format!("CLI {}: {e}", self.cli)),
        })
    }

    /// The data directory is there and (unless relaxed) a mount of its own.
    pub fn check_data_dir(&self) -> Result<(), Fault> {
        datadir::check_data_dir(&self.data_dir, self.require_mount).map_err(|p| match p {
            DataDirProblem::NotAbsolute(_) => Fault::config(p.to_string()),
            _ => Fault::installed(format!("refusing to start: {p}")),
        })
    }

    /// Host checks before a start (also `validate-all` at level 10): data directory, binary
    /// or script, run user, password file if set.
    pub fn check_host(&self) -> Result<Option<RunAs>, Fault> {
        self.check_data_dir()?;
        match &self.method {
            StartMethod::Binary => require_executable("Axigen binary", &self.binary)?,
            StartMethod::InitScript(s) => require_executable("init script", s)?,
            StartMethod::Systemd(_) => require_executable("systemctl", Path::new(SYSTEMCTL))?,
        }
        let run_as = match &self.user {
            Some(name) => Some(RunAs::lookup(name).map_err(Fault::installed)?),
            None => None,
        };
        if self.cli_password_file.is_some() {
            self.cli_password()?;
        }
        Ok(run_as)
    }

    /// Starts Axigen and waits until the depth-10 check passes (non-critical listeners may
    /// still fail: the result says so), all within `deadline`.
    pub fn start(&self, deadline: &Deadline) -> Result<StartOutcome, Fault> {
        let run_as = self.check_host()?;
        let identity = self.identity()?;
        let already = self.running()?.is_some();
        if !already {
            self.launch(run_as, deadline)?;
        }
        self.wait_ready(&identity, already, deadline)
    }

    fn launch(&self, run_as: Option<RunAs>, deadline: &Deadline) -> Result<(), Fault> {
        match &self.method {
            StartMethod::Binary => {
                let mut spec = StartSpec::new(&self.binary);
                spec.args = self.options.clone();
                spec.run_as = run_as;
                spec.log = self.log_file.clone();
                spec.cwd = self.data_dir.clone();
                procs::start_detached(&spec).map_err(Fault::installed)
            }
            StartMethod::InitScript(script) => {
                let mut cmd = Command::new(script);
                cmd.arg("start");
                self.run_tool(cmd, "start", deadline)
            }
            StartMethod::Systemd(unit) => {
                let mut cmd = Command::new(SYSTEMCTL);
                cmd.args(["start", unit]);
                self.run_tool(cmd, "start", deadline)
            }
        }
    }

    /// Runs the init script or systemctl in a session of its own (a daemon it leaves behind
    /// must not be in our process group), output to the log, within `deadline`.
    fn run_tool(&self, mut cmd: Command, verb: &str, deadline: &Deadline) -> Result<(), Fault> {
        let shown = cmd.get_program().to_string_lossy().into_owned();
        let (out, err) = procs::log_streams(self.log_file.as_deref()).map_err(Fault::failed)?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: setsid(2) is async-signal-safe and touches no memory of ours.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| Fault::installed(format!("cannot run {shown}: {e}")))?;
        match crate::process::wait_until(&mut child, deadline.remaining()) {
            Ok(Some(status)) if status.success() => Ok(()),
            Ok(Some(status)) => Err(Fault::failed(format!("{shown} {verb} failed ({status})"))),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(Fault::failed(format!(
                    "{shown} {verb} did not finish in time"
                )))
            }
            Err(e) => Err(Fault::failed(format!("{shown} {verb}: {e}"))),
        }
    }

    fn wait_ready(
        &self,
        identity: &Identity,
        already: bool,
        deadline: &Deadline,
    ) -> Result<StartOutcome, Fault> {
        // A server that never shows up (exec'd and exited: port in use, bad licence …) fails
        // the start early rather than at the timeout.
        let appear_by = Deadline::after(deadline.cap(APPEAR_WITHIN));
        let mut seen = already;
        let mut last: String;
        loop {
            let sup = procs::find_supervisor(identity).unwrap_or(None);
            match sup {
                Some(_) => {
                    seen = true;
                    match self.check_listeners(deadline) {
                        Ok(()) => return Ok(StartOutcome::Ready),
                        Err(f) if f.class == FaultClass::Degraded => {
                            return Ok(StartOutcome::Degraded(f.reason))
                        }
                        Err(f) => last = f.reason,
                    }
                }
                None if seen => {
                    return Err(Fault::failed(format!(
                        "Axigen exited during start{}",
                        self.log_hint()
                    )))
                }
                None if appear_by.expired() => {
                    return Err(Fault::failed(format!(
                        "Axigen did not start: no process of {} appeared{}",
                        self.binary.display(),
                        self.log_hint()
                    )))
                }
                None => last = "no Axigen process yet".into(),
            }
            if deadline.expired() {
                return Err(Fault::failed(format!(
                    "Axigen not ready before the start timeout: {last}"
                )));
            }
            std::thread::sleep(deadline.cap(START_POLL));
        }
    }

    /// The script's or systemd's stop; none for the binary (SIGTERM is its graceful stop).
    fn graceful_stop_command(&self) -> Option<Command> {
        match &self.method {
            StartMethod::Binary => None,
            StartMethod::InitScript(s) => {
                let mut c = Command::new(s);
                c.arg("stop");
                Some(c)
            }
            StartMethod::Systemd(u) => {
                let mut c = Command::new(SYSTEMCTL);
                c.args(["stop", u]);
                Some(c)
            }
        }
    }

    fn log_hint(&self) -> String {
        match self.log_file.as_deref().and_then(last_line) {
            Some(l) => format!(" ({l})"),
            None => String::new(),
        }
    }

    /// Stops every process of the installation within `deadline`: the graceful stop (the init
    /// script's or systemd's, or SIGTERM to the supervisor), then SIGTERM to all, then SIGKILL.
    pub fn stop(&self, deadline: &Deadline) -> Result<StopReport, Fault> {
        let identity = self.stop_identity();
        let opts = stop_options(deadline, self.graceful_timeout);
        if let Some(cmd) = self.graceful_stop_command() {
            if !procs::scan(&identity, false).unwrap_or_default().is_empty() {
                // A failed graceful stop is not the end: the escalation follows.
                let _ = self.run_tool(cmd, "stop", &deadline.reserve(opts.escalation_reserve));
            }
        }
        let report = procs::stop(&identity, deadline, opts);
        if report.stopped() {
            Ok(report)
        } else {
            Err(Fault::failed(format!("Axigen not stopped: {report}")))
        }
    }
}

/// What a successful start found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Ready,
    /// Serving, but some non-critical listener fails (the reason names it).
    Degraded(String),
}

/// Stops whatever runs `binary` (the agent's stop when its configuration is unusable).
pub fn stop_binary(binary: &Path, deadline: &Deadline) -> StopReport {
    procs::stop(
        &Identity::new(binary),
        deadline,
        stop_options(deadline, None),
    )
}

const SYSTEMCTL: &str = "/bin/systemctl";
/// How long a launched server has to show a process.
const APPEAR_WITHIN: Duration = Duration::from_secs(3);
const START_POLL: Duration = Duration::from_millis(200);

/// The escalation gets a third of the stop budget, at most 5 s (SIGTERM to all, then
/// SIGKILL); the graceful phase the rest, or `graceful` when shorter.
pub fn stop_options(deadline: &Deadline, graceful: Option<Duration>) -> StopOptions {
    let left = deadline.remaining();
    let mut reserve = (left / 3).min(Duration::from_secs(5));
    if let Some(g) = graceful {
        reserve = reserve.max(left.saturating_sub(g));
    }
    StopOptions {
        escalation_reserve: reserve,
        term_grace: (reserve / 2).min(Duration::from_secs(2)),
        poll: Duration::from_millis(50),
    }
}

fn require_executable(what: &str, path: &Path) -> Result<(), Fault> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(()),
        Ok(_) => Err(Fault::installed(format!(
            "{what} {} is not an executable file",
            path.display()
        ))),
        Err(e) => Err(Fault::installed(format!("{what} {}: {e}", path.display()))),
    }
}

fn read_pidfile(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The last non-empty line of a (server) log, printable and short, for a start failure.
fn last_line(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    Some(probe::printable(line.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_lists() {
        assert_eq!(parse_listeners(" ").unwrap(), ListenerSource::FromConfig);
        match parse_listeners("smtp:2525, imap:127.0.0.1:1143 webmail").unwrap() {
            ListenerSource::Explicit(l) => {
                assert_eq!(l.len(), 3);
                assert_eq!(l[0].port, 2525);
                assert_eq!(l[2].kind, ListenerKind::Webmail);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_listeners("smtp,nntp").unwrap_err().contains("nntp"));
        assert!(parse_listeners("smtp:70000").unwrap_err().contains("70000"));
    }

    #[test]
    fn critical_lists() {
        assert_eq!(parse_critical("smtp").unwrap(), vec![ListenerKind::Smtp]);
        assert_eq!(parse_critical("all").unwrap().len(), 6);
        assert!(parse_critical("none").unwrap().is_empty());
        assert_eq!(
            parse_critical("smtp, IMAP").unwrap(),
            vec![ListenerKind::Smtp, ListenerKind::Imap]
        );
        assert!(parse_critical("smtp,mapi").unwrap_err().contains("mapi"));
    }

    #[test]
    fn options_never_carry_the_password() {
        assert_eq!(parse_options("--foreground").unwrap(), vec!["--foreground"]);
        assert!(parse_options("").unwrap().is_empty());
        assert!(parse_options("--foreground -A pw").is_err());
        assert!(parse_options("-Apw").is_err());
    }

    #[test]
    fn methods_ports_paths() {
        assert_eq!(parse_method("binary", "", "").unwrap(), StartMethod::Binary);
        assert_eq!(
            parse_method("initscript", "/etc/init.d/axigen", "").unwrap(),
            StartMethod::InitScript("/etc/init.d/axigen".into())
        );
        assert!(parse_method("initscript", "init.d/axigen", "").is_err());
        assert_eq!(
            parse_method("systemd", "", "axigen.service").unwrap(),
            StartMethod::Systemd("axigen.service".into())
        );
        assert!(parse_method("systemd", "", "a b").is_err());
        assert!(parse_method("upstart", "", "").is_err());
        assert_eq!(parse_port("7000").unwrap(), 7000);
        for bad in ["0", "65536", "-1", "x", ""] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        assert!(parse_abs_path("data directory", "var/opt/axigen").is_err());
        assert!(parse_abs_path("data directory", "/var/../opt").is_err());
        assert!(parse_abs_path("data directory", "/var/opt/axigen").is_ok());
    }

    #[test]
    fn stop_budget_split() {
        let d = Deadline::after(Duration::from_secs(60));
        let o = stop_options(&d, None);
        assert_eq!(o.escalation_reserve, Duration::from_secs(5));
        let o = stop_options(&d, Some(Duration::from_secs(10)));
        assert!(o.escalation_reserve >= Duration::from_secs(49));
        let short = Deadline::after(Duration::from_secs(3));
        let o = stop_options(&short, None);
        assert!(o.escalation_reserve <= Duration::from_secs(1));
        assert!(o.term_grace <= o.escalation_reserve);
    }

    #[test]
    fn pidfile_and_log_tail() {
        let dir = std::env::temp_dir().join(format!("bulwark-svc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pf = dir.join("pid");
        std::fs::write(&pf, "1234\n").unwrap();
        assert_eq!(read_pidfile(&pf), Some(1234));
        std::fs::write(&pf, "junk").unwrap();
        assert_eq!(read_pidfile(&pf), None);
        let log = dir.join("log");
        std::fs::write(&log, "first\ncannot listen on 127.0.0.1:25: in use\n\n").unwrap();
        assert_eq!(
            last_line(&log).as_deref(),
            Some("cannot listen on 127.0.0.1:25: in use")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
