//! `ocf:bulwark:axigen` — the Axigen mail server, checked at process (depth 0), protocol
//! (depth 10) and CLI (depth 20) level. The work is in `crate::axigen::service`; this file
//! declares the parameters and maps outcomes onto OCF exit codes.

use crate::axigen::service::{self, Fault, FaultClass, Settings, StartOutcome};
use crate::axigen::{DEFAULT_BINARY, DEFAULT_DATA_DIR};
use crate::ocf::{ActionResult, ActionSpec, AgentSpec, Context, OcfError, OcfStatus};
use crate::params::Param;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

fn abs_path(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Ok(());
    }
    service::parse_abs_path("path", v).map(drop)
}
fn listeners(v: &str) -> Result<(), String> {
    service::parse_listeners(v).map(drop)
}
fn critical(v: &str) -> Result<(), String> {
    service::parse_critical(v).map(drop)
}
fn options(v: &str) -> Result<(), String> {
    service::parse_options(v).map(drop)
}
fn port(v: &str) -> Result<(), String> {
    service::parse_port(v).map(drop)
}
fn ip(v: &str) -> Result<(), String> {
    v.trim()
        .parse::<IpAddr>()
        .map(drop)
        .map_err(|_| format!("{v:?} is not an IP address"))
}
fn read_only(v: &str) -> Result<(), String> {
    if crate::axigen::cli::is_read_only(v) {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not a read-only CLI command (LIST, SHOW, GET or HELP)"
        ))
    }
}
fn positive(v: &str) -> Result<(), String> {
    match crate::params::parse_seconds(v) {
        Some(s) if s > 0.0 => Ok(()),
        _ => Err(format!("{v:?} is not a positive number of seconds")),
    }
}

static PARAMS: &[Param] = &[
    Param::string("binary").default(DEFAULT_BINARY).check(abs_path).describe(
        "Axigen binary",
        "Absolute path of the Axigen binary. Axigen writes no pidfile: its processes are recognised by this executable (and by the run user).",
    ),
    Param::string("datadir").default(DEFAULT_DATA_DIR).unique().check(abs_path).describe(
        "Data directory",
        "Axigen's working directory, the one the replicated filesystem carries (run/axigen.cfg, domains/, queue/ …). Start refuses (exit 5) when it is missing or, unless require_mount=false, not a mount point of its own, so Axigen never builds a fresh store on the wrong disk.",
    ),
    Param::boolean("require_mount").default("true").describe(
        "Require the data directory to be a mount point",
        "Set to false on single-disk setups where the data directory is a plain directory.",
    ),
    Param::string("user").default("axigen").describe(
        "Run user",
        "The account Axigen runs as. With start_method=binary the agent drops to it before exec; processes are recognised as Axigen only when owned by it. 'root' (or empty) starts Axigen as root and recognises its processes by binary alone (Axigen then drops privileges itself).",
    ),
    Param::select("start_method", &["binary", "initscript", "systemd"])
        .default("binary")
        .describe(
            "How Axigen is started",
            "binary: the agent runs the binary detached in its own session (setsid) with 'options'; initscript: 'initscript start|stop'; systemd: 'systemctl start|stop systemd_unit'. Every method ends a stop with SIGTERM and SIGKILL of whatever is left.",
        ),
    Param::string("initscript").default("/etc/init.d/axigen").check(abs_path).describe(
        "Init script (start_method=initscript)",
        "The SysV script Axigen's packages install.",
    ),
    Param::string("systemd_unit").default("axigen.service").describe(
        "systemd unit (start_method=systemd)",
        "Unit name passed to systemctl.",
    ),
    Param::string("options").check(options).describe(
        "Extra arguments for the binary",
        "Arguments for start_method=binary, split at blanks (no shell quoting), e.g. --foreground. The admin password (-A) is refused: arguments are visible to every user in /proc.",
    ),
    Param::string("pidfile").check(abs_path).describe(
        "Pidfile (optional)",
        "Axigen documents no pidfile. When a wrapper writes one, the depth-0 check reads it first (a stale one falls back to the process scan).",
    ),
    Param::string("logfile").check(abs_path).describe(
        "Start output",
        "File that receives the started server's (or the script's) stdout and stderr; empty: discarded. A start failure quotes its last line.",
    ),
    Param::string("listeners").check(listeners).describe(
        "Listeners probed at depth 10",
        "Comma or blank separated KIND[:[IP:]PORT][+tls] items, KIND one of smtp, imap, pop3, webmail, webadmin, cli (e.g. 'smtp imap:143 webmail:10.0.0.5:80'). Empty: the enabled listeners of run/axigen.cfg when it is readable, else Axigen's defaults smtp 25, imap 143, pop3 110, webmail 80.",
    ),
    Param::string("probe_address").default("127.0.0.1").check(ip).describe(
        "Address for wildcard listeners",
        "Where listeners bound to all addresses are probed; set the VIP to check what clients reach.",
    ),
    Param::string("critical").default("smtp").check(critical).describe(
        "Critical listeners",
        "Listener kinds whose failure fails the resource (exit 1, recovery); others failing give 190 (degraded) naming them. 'all' or 'none' allowed.",
    ),
    Param::second("probe_timeout").default("5").check(positive).describe(
        "Seconds per listener probe",
        "Time a listener has to accept and greet. Probes run in parallel.",
    ),
    Param::string("cli_address").default("127.0.0.1").check(ip).describe(
        "CLI address",
        "Address of Axigen's CLI, used by the depth-20 check.",
    ),
    Param::integer("cli_port").default("7000").check(port).describe(
        "CLI port",
        "Port of Axigen's CLI.",
    ),
    Param::string("cli_user").default("admin").describe(
        "CLI user",
        "Account the depth-20 check logs in with.",
    ),
    Param::string("cli_password_file").check(abs_path).describe(
        "File holding the CLI password",
        "Absolute path of a root-only file with the CLI password (one line). The password is never a resource parameter, never on a command line, never logged. Read by the depth-20 check, and checked at start and validate-all level 10 when set; unset or unreadable when depth 20 runs is a configuration error (6).",
    ),
    Param::string("cli_command").default("LIST Domains").check(read_only).describe(
        "Read-only CLI command of the depth-20 check",
        "A LIST, SHOW, GET or HELP command sent after login; its -ERR fails the check.",
    ),
    Param::second("stop_timeout").check(positive).describe(
        "Seconds for the graceful stop",
        "Longest graceful phase of a stop before SIGTERM to all processes and SIGKILL. Empty: the stop operation's timeout less the escalation (a third of it, at most 5 s).",
    ),
];

static SPEC: AgentSpec = AgentSpec {
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

fn path_param(ctx: &Context, name: &str) -> Result<Option<PathBuf>, OcfError> {
    match ctx.params.non_empty(name) {
        None => Ok(None),
        Some(v) => service::parse_abs_path(name, v)
            .map(Some)
            .map_err(|e| OcfError::configured(format!("parameter '{name}': {e}"))),
    }
}

fn cfg_err(name: &str) -> impl Fn(String) -> OcfError + '_ {
    move |e| OcfError::configured(format!("parameter '{name}': {e}"))
}

struct Axigen;

impl crate::ocf::ResourceAgent for Axigen {
    type Config = Settings;

    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn configure(&self, ctx: &Context) -> Result<Settings, OcfError> {
        let p = &ctx.params;
        let binary = path_param(ctx, "binary")?.unwrap_or_else(|| DEFAULT_BINARY.into());
        let data_dir = path_param(ctx, "datadir")?.unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let user = p
            .non_empty("user")
            .filter(|u| *u != "root")
            .map(str::to_string);
        let method = service::parse_method(
            p.get("start_method").unwrap_or("binary"),
            p.get("initscript").unwrap_or(""),
            p.get("systemd_unit").unwrap_or(""),
        )
        .map_err(cfg_err("start_method"))?;
        let ip = |name: &str| -> Result<IpAddr, OcfError> {
            p.get(name)
                .unwrap_or("127.0.0.1")
                .trim()
                .parse()
                .map_err(|_| OcfError::configured(format!("parameter '{name}': not an IP address")))
        };
        let cli_port = service::parse_port(p.get("cli_port").unwrap_or("7000"))
            .map_err(cfg_err("cli_port"))?;
        let cli_user = p.non_empty("cli_user").unwrap_or("admin").to_string();
        if cli_user.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(OcfError::configured(
                "parameter 'cli_user': must not contain blanks",
            ));
        }
        Ok(Settings {
            binary,
            data_dir,
            user,
            method,
            options: service::parse_options(p.get("options").unwrap_or(""))
                .map_err(cfg_err("options"))?,
            pidfile: path_param(ctx, "pidfile")?,
            log_file: path_param(ctx, "logfile")?,
            listeners: service::parse_listeners(p.get("listeners").unwrap_or(""))
                .map_err(cfg_err("listeners"))?,
            probe_address: ip("probe_address")?,
            critical: service::parse_critical(p.get("critical").unwrap_or("smtp"))
                .map_err(cfg_err("critical"))?,
            probe_timeout: p.seconds("probe_timeout").unwrap_or(Duration::from_secs(5)),
            cli: SocketAddr::new(ip("cli_address")?, cli_port),
            cli_user,
            cli_password_file: path_param(ctx, "cli_password_file")?,
            cli_command: p
                .get("cli_command")
                .unwrap_or("LIST Domains")
                .trim()
                .to_string(),
            require_mount: p.flag("require_mount"),
            graceful_timeout: p.seconds("stop_timeout"),
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
        let binary = ctx
            .params
            .non_empty("binary")
            .and_then(|b| service::parse_abs_path("binary", b).ok())
            .unwrap_or_else(|| DEFAULT_BINARY.into());
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
