//! `ocf:bulwark:axigen` — the Axigen mail server, checked at process (depth 0), protocol
//! (depth 10) and CLI (depth 20) level. The work is in `crate::axigen::service`; this file
//! declares the parameters and maps outcomes onto OCF exit codes.

use crate::axigen::service::{self, Fault, FaultClass, ListenerSource, Settings, StartOutcome};
use crate::axigen::{ListenerKind, DEFAULT_BINARY, DEFAULT_DATA_DIR};
use crate::choices;
use crate::ocf::{ActionResult, ActionSpec, AgentSpec, Context, OcfError, OcfStatus};
use crate::params::{parse, Choice, Decl, Param, P};
use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

fn abs_path(v: &str) -> Result<PathBuf, String> {
    service::parse_abs_path("path", v)
}
fn abs_path_text(v: &str) -> Result<(), String> {
    abs_path(v).map(drop)
}
fn optional_abs_path(v: &str) -> Result<Option<PathBuf>, String> {
    match v.trim() {
        "" => Ok(None),
        t => abs_path(t).map(Some),
    }
}
fn ip(v: &str) -> Result<IpAddr, String> {
    v.trim()
        .parse::<IpAddr>()
        .map_err(|_| format!("{v:?} is not an IP address"))
}
fn read_only(v: &str) -> Result<String, String> {
    if crate::axigen::cli::is_read_only(v) {
        Ok(v.trim().to_string())
    } else {
        Err(format!(
            "{v:?} is not a read-only CLI command (LIST, SHOW, GET or HELP)"
        ))
    }
}
fn positive(v: &str) -> Result<Duration, String> {
    match crate::params::parse_seconds(v) {
        Some(s) if s > 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{v:?} is not a positive number of seconds")),
    }
}
fn optional_positive(v: &str) -> Result<Option<Duration>, String> {
    match v.trim() {
        "" => Ok(None),
        t => positive(t).map(Some),
    }
}
/// The run user; `None` (root) for `root` or an empty value.
fn run_user(v: &str) -> Result<Option<String>, String> {
    Ok(Some(v.trim())
        .filter(|u| !u.is_empty() && *u != "root")
        .map(str::to_string))
}
fn cli_user(v: &str) -> Result<String, String> {
    let user = v.trim();
    if user.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err("must not contain blanks".into());
    }
    Ok(user.to_string())
}

choices! {
    /// `start_method`.
    enum StartWith {
        Binary = "binary",
        Initscript = "initscript",
        Systemd = "systemd",
    }
}

static BINARY: P<PathBuf> = P::new(
    Param::string("binary").default(DEFAULT_BINARY).describe(
            "Axigen binary",
            "Absolute path of the Axigen binary. Axigen writes no pidfile: its processes are recognised by this executable (and by the run user).",
        ),
    abs_path,
);
static DATADIR: P<PathBuf> = P::new(
    Param::string("datadir").default(DEFAULT_DATA_DIR).unique().describe(
            "Data directory",
            "Axigen's working directory, the one the replicated filesystem carries (run/axigen.cfg, domains/, queue/ …). Start refuses (exit 5) when it is missing or, unless require_mount=false, not a mount point of its own, so Axigen never builds a fresh store on the wrong disk.",
        ),
    abs_path,
);
static REQUIRE_MOUNT: P<bool> = P::new(
    Param::boolean("require_mount").default("true").describe(
        "Require the data directory to be a mount point",
        "Set to false on single-disk setups where the data directory is a plain directory.",
    ),
    parse::boolean,
);
static USER: P<Option<String>> = P::new(
    Param::string("user").default("axigen").empty_is_value().describe(
            "Run user",
            "The account Axigen runs as. With start_method=binary the agent drops to it before exec; processes are recognised as Axigen only when owned by it. 'root' (or empty) starts Axigen as root and recognises its processes by binary alone (Axigen then drops privileges itself).",
        ),
    run_user,
);
static START_METHOD: P<StartWith> = P::new(
    Param::select("start_method", StartWith::NAMES)
            .default("binary")
            .describe(
                "How Axigen is started",
                "binary: the agent runs the binary detached in its own session (setsid) with 'options'; initscript: 'initscript start|stop'; systemd: 'systemctl start|stop systemd_unit'. Every method ends a stop with SIGTERM and SIGKILL of whatever is left.",
            ),
    parse::choice,
);
static INITSCRIPT: P<String> = P::new(
    Param::string("initscript")
        .default("/etc/init.d/axigen")
        .check(abs_path_text)
        .describe(
            "Init script (start_method=initscript)",
            "The SysV script Axigen's packages install.",
        ),
    parse::text,
);
static SYSTEMD_UNIT: P<String> = P::new(
    Param::string("systemd_unit")
        .default("axigen.service")
        .describe(
            "systemd unit (start_method=systemd)",
            "Unit name passed to systemctl.",
        ),
    parse::text,
);
static OPTIONS: P<Vec<OsString>> = P::new(
    Param::string("options").describe(
            "Extra arguments for the binary",
            "Arguments for start_method=binary, split at blanks (no shell quoting), e.g. --foreground. The admin password (-A) is refused: arguments are visible to every user in /proc.",
        ),
    service::parse_options,
);
static PIDFILE: P<Option<PathBuf>> = P::new(
    Param::string("pidfile").describe(
            "Pidfile (optional)",
            "Axigen documents no pidfile. When a wrapper writes one, the depth-0 check reads it first (a stale one falls back to the process scan).",
        ),
    optional_abs_path,
);
static LOGFILE: P<Option<PathBuf>> = P::new(
    Param::string("logfile").describe(
            "Start output",
            "File that receives the started server's (or the script's) stdout and stderr; empty: discarded. A start failure quotes its last line.",
        ),
    optional_abs_path,
);
static LISTENERS: P<ListenerSource> = P::new(
    Param::string("listeners").describe(
            "Listeners probed at depth 10",
            "Comma or blank separated KIND[:[IP:]PORT][+tls] items, KIND one of smtp, imap, pop3, webmail, webadmin, cli (e.g. 'smtp imap:143 webmail:10.0.0.5:80'). Empty: the enabled listeners of run/axigen.cfg when it is readable, else Axigen's defaults smtp 25, imap 143, pop3 110, webmail 80.",
        ),
    service::parse_listeners,
);
static PROBE_ADDRESS: P<IpAddr> = P::new(
    Param::string("probe_address").default("127.0.0.1").describe(
            "Address for wildcard listeners",
            "Where listeners bound to all addresses are probed; set the VIP to check what clients reach.",
        ),
    ip,
);
static CRITICAL: P<Vec<ListenerKind>> = P::new(
    Param::string("critical").default("smtp").describe(
            "Critical listeners",
            "Listener kinds whose failure fails the resource (exit 1, recovery); others failing give 190 (degraded) naming them. 'all' or 'none' allowed.",
        ),
    service::parse_critical,
);
static PROBE_TIMEOUT: P<Duration> = P::new(
    Param::second("probe_timeout").default("5").describe(
        "Seconds per listener probe",
        "Time a listener has to accept and greet. Probes run in parallel.",
    ),
    positive,
);
static CLI_ADDRESS: P<IpAddr> = P::new(
    Param::string("cli_address").default("127.0.0.1").describe(
        "CLI address",
        "Address of Axigen's CLI, used by the depth-20 check.",
    ),
    ip,
);
static CLI_PORT: P<u16> = P::new(
    Param::integer("cli_port")
        .default("7000")
        .describe("CLI port", "Port of Axigen's CLI."),
    service::parse_port,
);
static CLI_USER: P<String> = P::new(
    Param::string("cli_user")
        .default("admin")
        .describe("CLI user", "Account the depth-20 check logs in with."),
    cli_user,
);
static CLI_PASSWORD_FILE: P<Option<PathBuf>> = P::new(
    Param::string("cli_password_file").describe(
            "File holding the CLI password",
            "Absolute path of a root-only file with the CLI password (one line). The password is never a resource parameter, never on a command line, never logged. Read by the depth-20 check, and checked at start and validate-all level 10 when set; unset or unreadable when depth 20 runs is a configuration error (6).",
        ),
    optional_abs_path,
);
static CLI_COMMAND: P<String> = P::new(
    Param::string("cli_command")
        .default("LIST Domains")
        .describe(
            "Read-only CLI command of the depth-20 check",
            "A LIST, SHOW, GET or HELP command sent after login; its -ERR fails the check.",
        ),
    read_only,
);
static STOP_TIMEOUT: P<Option<Duration>> = P::new(
    Param::second("stop_timeout").describe(
            "Seconds for the graceful stop",
            "Longest graceful phase of a stop before SIGTERM to all processes and SIGKILL. Empty: the stop operation's timeout less the escalation (a third of it, at most 5 s).",
        ),
    optional_positive,
);
static PARAMS: Decl = &[
    &BINARY,
    &DATADIR,
    &REQUIRE_MOUNT,
    &USER,
    &START_METHOD,
    &INITSCRIPT,
    &SYSTEMD_UNIT,
    &OPTIONS,
    &PIDFILE,
    &LOGFILE,
    &LISTENERS,
    &PROBE_ADDRESS,
    &CRITICAL,
    &PROBE_TIMEOUT,
    &CLI_ADDRESS,
    &CLI_PORT,
    &CLI_USER,
    &CLI_PASSWORD_FILE,
    &CLI_COMMAND,
    &STOP_TIMEOUT,
];

pub static SPEC: AgentSpec = AgentSpec {
    name: "axigen",
    shortdesc: "Axigen mail server",
    longdesc: "Starts Axigen detached once its data directory (the replicated filesystem) is mounted, stops it and every process it left (graceful, then SIGTERM, then SIGKILL, within the stop timeout), and monitors it at three depths: 0, the supervisor process is alive (a /proc scan, no subprocess); 10, every listener accepts and greets as its protocol says (SMTP 220, IMAP * OK, POP3 +OK, HTTP status); 20, the CLI accepts a login and a read-only command (needs cli_password_file; add e.g. 'op monitor interval=120s OCF_CHECK_LEVEL=20'). A critical listener down fails the resource; a non-critical one gives 190 (degraded).",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 60),
        ActionSpec::new("stop", 60),
        ActionSpec::new("monitor", 20).interval(10).depth(0),
        ActionSpec::new("monitor", 30).interval(30).depth(10),
        ActionSpec::new("meta-data", 5),
        ActionSpec::new("validate-all", 20),
    ],
};

fn ocf(f: Fault) -> OcfError {
    match f.class {
        FaultClass::Config => OcfError::configured(f.reason),
        FaultClass::Installed => OcfError::installed(f.reason),
        FaultClass::Failed => OcfError::generic(f.reason),
        FaultClass::NotRunning => OcfError::not_running(f.reason),
        FaultClass::Degraded => OcfError::degraded(f.reason),
    }
}

struct Axigen;

impl crate::ocf::ResourceAgent for Axigen {
    type Config = Settings;

    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn configure(&self, ctx: &Context) -> Result<Settings, OcfError> {
        let p = &ctx.params;
        let method = service::parse_method(
            START_METHOD.get(p)?.name(),
            &INITSCRIPT.get(p)?,
            &SYSTEMD_UNIT.get(p)?,
        )
        .map_err(|e| OcfError::configured(format!("parameter 'start_method': {e}")))?;
        Ok(Settings {
            binary: BINARY.get(p)?,
            data_dir: DATADIR.get(p)?,
            user: USER.get(p)?,
            method,
            options: OPTIONS.get(p)?,
            pidfile: PIDFILE.get(p)?,
            log_file: LOGFILE.get(p)?,
            listeners: LISTENERS.get(p)?,
            probe_address: PROBE_ADDRESS.get(p)?,
            critical: CRITICAL.get(p)?,
            probe_timeout: PROBE_TIMEOUT.get(p)?,
            cli: SocketAddr::new(CLI_ADDRESS.get(p)?, CLI_PORT.get(p)?),
            cli_user: CLI_USER.get(p)?,
            cli_password_file: CLI_PASSWORD_FILE.get(p)?,
            cli_command: CLI_COMMAND.get(p)?,
            require_mount: REQUIRE_MOUNT.get(p)?,
            graceful_timeout: STOP_TIMEOUT.get(p)?,
        })
    }

    fn validate(&self, cfg: &Settings, ctx: &Context) -> ActionResult {
        if ctx.check_level() >= 10 {
            cfg.check_host().map_err(ocf)?;
            if let (_, Some(note)) = cfg.listeners() {
                ctx.log.warn(&note);
            }
        }
        Ok(OcfStatus::Success)
    }

    fn start(&self, cfg: &Settings, ctx: &Context) -> ActionResult {
        match cfg.start(&ctx.deadline).map_err(ocf)? {
            StartOutcome::Ready => ctx.log.info("Axigen started; every listener greets"),
            StartOutcome::Degraded(why) => ctx.log.warn(&format!("Axigen started, {why}")),
        }
        Ok(OcfStatus::Success)
    }

    fn stop(&self, cfg: &Settings, ctx: &Context) -> ActionResult {
        let report = cfg.stop(&ctx.deadline).map_err(ocf)?;
        ctx.log.info(&format!("Axigen {report}"));
        Ok(OcfStatus::Success)
    }

    fn monitor(&self, cfg: &Settings, ctx: &Context) -> ActionResult {
        if ctx.is_probe() && !ctx.have_binary(&cfg.binary.to_string_lossy()) {
            return Err(OcfError::installed(format!(
                "{} is not installed",
                cfg.binary.display()
            )));
        }
        if cfg.running().map_err(ocf)?.is_none() {
            return Err(OcfError::not_running("Axigen is not running"));
        }
        let level = ctx.check_level();
        if level >= 10 {
            cfg.check_listeners(&ctx.deadline).map_err(ocf)?;
        }
        if level >= 20 {
            cfg.check_cli(&ctx.deadline).map_err(ocf)?;
        }
        Ok(OcfStatus::Success)
    }

    /// Axigen may run whatever the parameters say now: stop every process of the binary
    /// (the one given, if usable, else the default) so the data directory is free.
    fn stop_unconfigured(&self, ctx: &Context, err: &OcfError) -> ActionResult {
        let binary = BINARY
            .get(&ctx.params)
            .ok()
            .or_else(|| BINARY.default_value())
            .unwrap_or_default();
        ctx.log.warn(&format!(
            "stop with an unusable configuration ({err}); stopping every process of {}",
            binary.display()
        ));
        let report = service::stop_binary(&binary, &ctx.deadline);
        if report.stopped() {
            Ok(OcfStatus::Success)
        } else {
            Err(OcfError::generic(format!("Axigen not stopped: {report}")))
        }
    }
}

/// The agent\'s entry point.
pub fn main() -> ! {
    crate::ocf::run(Axigen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_reads_every_declared_parameter() {
        let unread = crate::agents::testing::ocf_unread(&Axigen, &[], &[]);
        assert!(unread.is_empty(), "{unread:?}");
    }
}
