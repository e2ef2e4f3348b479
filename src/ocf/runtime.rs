//! Running one OCF action: argv and environment in, exit code and exit reason out.

use super::meta::Meta;
use super::metadata::{self, AgentSpec};
use super::status::{ActionResult, OcfError, OcfStatus};
use crate::deadline::Deadline;
use crate::log::Logger;
use crate::params::Values;
use std::io::Write;

/// The actions the runtime knows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Monitor,
    Promote,
    Demote,
    Notify,
    /// OCF 1.0's `reload`: Pacemaker calls it instead of a restart when only parameters that
    /// are not `unique` changed, for agents that advertise it (see `metadata::render`).
    Reload,
    ValidateAll,
    MetaData,
    Usage,
    /// Prints the man page generated from the declaration (packaging uses it).
    Man,
    /// Anything else (`migrate_to` …): answered with 3.
    Other(String),
}

impl Action {
    pub fn parse(word: &str) -> Action {
        match word {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" | "status" => Action::Monitor,
            "promote" => Action::Promote,
            "demote" => Action::Demote,
            "notify" => Action::Notify,
            "reload" => Action::Reload,
            "validate-all" => Action::ValidateAll,
            "meta-data" | "meta_data" => Action::MetaData,
            "usage" | "help" | "--help" | "-h" => Action::Usage,
            "man" => Action::Man,
            other => Action::Other(other.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::Notify => "notify",
            Action::Reload => "reload",
            Action::ValidateAll => "validate-all",
            Action::MetaData => "meta-data",
            Action::Usage => "usage",
            Action::Man => "man",
            Action::Other(s) => s,
        }
    }
}

/// Everything an action may consult.
pub struct Context {
    pub action: Action,
    pub params: Values,
    pub meta: Meta,
    pub deadline: Deadline,
    pub log: Logger,
    /// `OCF_RESOURCE_INSTANCE`, or `test` as crm_resource names a CIB-less run.
    pub instance: String,
}

impl Context {
    /// A probe is a monitor with no (or a zero) interval: Pacemaker drops interval 0 from the
    /// environment entirely.
    pub fn is_probe(&self) -> bool {
        self.action == Action::Monitor && self.meta.interval_ms() == 0
    }

    pub fn check_level(&self) -> u32 {
        self.meta.check_level()
    }

    /// Whether a program the agent depends on is installed. ocf-tester sets
    /// `OCF_TESTER_FAIL_HAVE_BINARY=1` to check that a probe copes with a missing binary.
    pub fn have_binary(&self, program: &str) -> bool {
        if std::env::var("OCF_TESTER_FAIL_HAVE_BINARY").is_ok_and(|v| v.trim() == "1") {
            return false;
        }
        find_program(program).is_some()
    }
}

/// Looks a program up like `execvp` would.
pub fn find_program(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// An OCF resource agent: its declaration and what each action does.
pub trait ResourceAgent {
    /// The checked, typed configuration the actions work from.
    type Config;

    fn spec(&self) -> &'static AgentSpec;

    /// Cross-parameter checks and typing, after each value passed its declared check.
    /// Errors here are configuration errors (usually 6) and must not inspect the host at
    /// check level 0: pcs runs `validate-all` on whichever node the admin is on.
    fn configure(&self, ctx: &Context) -> Result<Self::Config, OcfError>;

    fn start(&self, cfg: &Self::Config, ctx: &Context) -> ActionResult;
    fn stop(&self, cfg: &Self::Config, ctx: &Context) -> ActionResult;
    fn monitor(&self, cfg: &Self::Config, ctx: &Context) -> ActionResult;

    /// Host checks for `validate-all` at `OCF_CHECK_LEVEL` ≥ 10.
    fn validate(&self, _cfg: &Self::Config, _ctx: &Context) -> ActionResult {
        Ok(OcfStatus::Success)
    }
    fn promote(&self, _cfg: &Self::Config, _ctx: &Context) -> ActionResult {
        Err(OcfError::unimplemented(
            "promote is not supported by this agent",
        ))
    }
    fn demote(&self, _cfg: &Self::Config, _ctx: &Context) -> ActionResult {
        Err(OcfError::unimplemented(
            "demote is not supported by this agent",
        ))
    }
    fn notify(&self, _cfg: &Self::Config, _ctx: &Context) -> ActionResult {
        Ok(OcfStatus::Success)
    }
    /// Only reached when the agent's spec advertises `reload`.
    fn reload(&self, _cfg: &Self::Config, _ctx: &Context) -> ActionResult {
        Err(OcfError::unimplemented(
            "reload is not supported by this agent",
        ))
    }

    /// `stop` when the configuration cannot be used. Returning anything but 0 makes Pacemaker
    /// fence the node, so the default reports stopped: with an unusable configuration the
    /// agent cannot have started anything. Agents whose service may run regardless (a daemon
    /// found by process) override this.
    fn stop_unconfigured(&self, ctx: &Context, err: &OcfError) -> ActionResult {
        ctx.log.warn(&format!(
            "stop with an unusable configuration ({err}); nothing this configuration could have started is running"
        ));
        Ok(OcfStatus::Success)
    }
}

fn usage(spec: &AgentSpec) -> String {
    let mut names: Vec<&str> = spec.actions.iter().map(|a| a.name).collect();
    names.dedup();
    format!(
        "usage: {} {{{}}}\n\nParameters are read from OCF_RESKEY_<name> environment variables; `{} meta-data` describes them.\n",
        spec.name,
        names.join("|"),
        spec.name
    )
}

/// Runs the agent with the process's argv and environment and exits with its status.
pub fn run<A: ResourceAgent>(agent: A) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = execute(
        &agent,
        &args,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(i32::from(code.code()))
}

/// The whole invocation, reading the process environment.
pub fn execute<A: ResourceAgent>(
    agent: &A,
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> OcfStatus {
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    execute_in(agent, args, &env, out, err)
}

/// The whole invocation with the environment and output streams given (tests).
pub fn execute_in<A: ResourceAgent>(
    agent: &A,
    args: &[String],
    env: &std::collections::BTreeMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> OcfStatus {
    let spec = agent.spec();
    let prefix = env
        .get("OCF_EXIT_REASON_PREFIX")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_EXIT_REASON_PREFIX.to_string());
    let action = match args {
        [one] => Action::parse(one),
        [] => {
            let _ = write!(err, "{}", usage(spec));
            return report_with(err, &prefix, &OcfError::args("no action given"), None);
        }
        _ => {
            let _ = write!(err, "{}", usage(spec));
            return report_with(
                err,
                &prefix,
                &OcfError::args(format!("expected one action, got {} arguments", args.len())),
                None,
            );
        }
    };

    // These three need no environment, no root and no OCF_ROOT.
    match action {
        Action::MetaData => {
            let _ = out.write_all(metadata::render(spec).as_bytes());
            return OcfStatus::Success;
        }
        Action::Usage => {
            let _ = out.write_all(usage(spec).as_bytes());
            return OcfStatus::Success;
        }
        Action::Man => {
            let _ = out.write_all(super::man::ocf_page(spec).as_bytes());
            return OcfStatus::Success;
        }
        _ => {}
    }

    let instance = env
        .get("OCF_RESOURCE_INSTANCE")
        .cloned()
        .unwrap_or_else(|| "test".into());
    let log = Logger::from_env(spec.name, Some(&instance));
    if !spec.supports(action.name()) {
        let e = OcfError::unimplemented(format!("action '{}' is not supported", action.name()));
        log.debug(&e.reason);
        return report_with(err, &prefix, &e, None);
    }

    let meta = Meta::from_vars(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let deadline = Deadline::from_timeout(meta.timeout());
    let raw: Vec<(String, String)> = crate::params::params(spec.params)
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
        .filter_map(|name| {
            env.get(&format!("OCF_RESKEY_{name}"))
                .map(|v| (name.to_string(), v.clone()))
        })
        .collect();
    let (params, _) = Values::collect(
        spec.params,
        raw.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let ctx = Context {
        action,
        params,
        meta,
        deadline,
        log,
        instance,
    };
    let result = dispatch(agent, &ctx, &prefix, err);
    let status = match result {
        Ok(status) => status,
        Err(e) => return report_with(err, &prefix, &e, Some(&ctx.log)),
    };
    ctx.log
        .debug(&format!("{} returned {}", ctx.action.name(), status));
    status
}

fn dispatch<A: ResourceAgent>(
    agent: &A,
    ctx: &Context,
    prefix: &str,
    err: &mut dyn Write,
) -> ActionResult {
    let probe = ctx.is_probe();
    let cfg = ctx
        .params
        .validate()
        .map_err(|e| OcfError::configured(e.to_string()))
        .and_then(|()| agent.configure(ctx));
    let cfg = match cfg {
        Ok(cfg) => cfg,
        Err(e) if probe => return Ok(probe_verdict(ctx, e, prefix, err)),
        Err(e) if ctx.action == Action::Stop => return agent.stop_unconfigured(ctx, &e),
        Err(e) => return Err(e),
    };
    let result = match ctx.action {
        Action::Start => agent.start(&cfg, ctx),
        Action::Stop => agent.stop(&cfg, ctx),
        Action::Monitor => agent.monitor(&cfg, ctx),
        Action::Promote => agent.promote(&cfg, ctx),
        Action::Demote => agent.demote(&cfg, ctx),
        Action::Notify => agent.notify(&cfg, ctx).or_else(|e| {
            // A failed notify would only make Pacemaker recover a healthy clone.
            ctx.log.warn(&format!("notify: {e}"));
            Ok(OcfStatus::Success)
        }),
        Action::ValidateAll => agent.validate(&cfg, ctx),
        Action::Reload => agent.reload(&cfg, ctx),
        _ => Err(OcfError::unimplemented(format!(
            "action '{}' is not supported",
            ctx.action.name()
        ))),
    };
    match result {
        Err(e) if probe => Ok(probe_verdict(ctx, e, prefix, err)),
        Err(e) if ctx.action == Action::Stop && e.status == OcfStatus::NotRunning => {
            Ok(OcfStatus::Success)
        }
        other => other,
    }
}

/// A probe must not answer "installed wrongly" or "misconfigured" (Pacemaker bans the node or
/// stops the resource everywhere); what it cannot check, it reports as not running here.
/// A generic failure stays a failure: the resource is active but broken.
fn probe_verdict(ctx: &Context, e: OcfError, prefix: &str, err: &mut dyn Write) -> OcfStatus {
    match e.status {
        OcfStatus::ErrArgs
        | OcfStatus::ErrInstalled
        | OcfStatus::ErrConfigured
        | OcfStatus::ErrPerm
        | OcfStatus::NotRunning => {
            ctx.log.debug(&format!("probe: {e}; reporting not running"));
            OcfStatus::NotRunning
        }
        other => {
            ctx.log.error(&e.reason);
            let _ = writeln!(err, "{prefix}{}", e.reason);
            other
        }
    }
}

/// ocf-tester and manual runs do not set `OCF_EXIT_REASON_PREFIX`; Pacemaker sets this value.
pub const DEFAULT_EXIT_REASON_PREFIX: &str = "ocf-exit-reason:";

/// Prints the exit reason (the last stderr line, which Pacemaker keeps) and logs it.
fn report_with(err: &mut dyn Write, prefix: &str, e: &OcfError, log: Option<&Logger>) -> OcfStatus {
    if let Some(log) = log {
        match e.status {
            OcfStatus::NotRunning | OcfStatus::Unimplemented => log.info(&e.reason),
            OcfStatus::Degraded | OcfStatus::DegradedPromoted => log.warn(&e.reason),
            _ => log.error(&e.reason),
        }
    }
    let _ = writeln!(err, "{prefix}{}", e.reason);
    e.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocf::ActionSpec;
    use crate::params::{parse, Param, P};
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    static PORT: P<i64> = P::new(
        Param::integer("port").required().describe("Port", "Port."),
        parse::integer,
    );
    static SPEC: AgentSpec = AgentSpec {
        name: "demo",
        shortdesc: "Demo",
        longdesc: "Demo agent.",
        params: &[
            &PORT,
            &Param::string("mode")
                .aliases(&["old_mode"])
                .describe("Mode", "Mode."),
        ],
        actions: &[
            ActionSpec::new("start", 20),
            ActionSpec::new("stop", 20),
            ActionSpec::new("monitor", 20).interval(10),
            ActionSpec::new("notify", 5),
            ActionSpec::new("meta-data", 5),
            ActionSpec::new("validate-all", 5),
        ],
    };

    /// Answers each action from a table; records what it saw.
    struct Demo {
        answers: BTreeMap<&'static str, ActionResult>,
        seen: Mutex<Vec<String>>,
    }

    impl Demo {
        fn new(answers: &[(&'static str, ActionResult)]) -> Demo {
            Demo {
                answers: answers.iter().cloned().collect(),
                seen: Mutex::new(Vec::new()),
            }
        }
        fn answer(&self, action: &str, ctx: &Context) -> ActionResult {
            self.seen.lock().unwrap().push(format!(
                "{action} probe={} timeout={:?} mode={:?}",
                ctx.is_probe(),
                ctx.meta.timeout(),
                ctx.params.get("mode")
            ));
            self.answers
                .get(action)
                .cloned()
                .unwrap_or(Ok(OcfStatus::Success))
        }
    }

    impl ResourceAgent for Demo {
        type Config = ();
        fn spec(&self) -> &'static AgentSpec {
            &SPEC
        }
        fn configure(&self, ctx: &Context) -> Result<(), OcfError> {
            match PORT.get(&ctx.params) {
                Ok(p) if p > 65535 => {
                    Err(OcfError::configured(format!("port {p} is out of range")))
                }
                _ => Ok(()),
            }
        }
        fn start(&self, _: &(), ctx: &Context) -> ActionResult {
            self.answer("start", ctx)
        }
        fn stop(&self, _: &(), ctx: &Context) -> ActionResult {
            self.answer("stop", ctx)
        }
        fn monitor(&self, _: &(), ctx: &Context) -> ActionResult {
            self.answer("monitor", ctx)
        }
        fn notify(&self, _: &(), ctx: &Context) -> ActionResult {
            self.answer("notify", ctx)
        }
    }

    fn run(agent: &Demo, args: &[&str], env: &[(&str, &str)]) -> (OcfStatus, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = execute_in(agent, &args, &env, &mut out, &mut err);
        (
            status,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    const GOOD: &[(&str, &str)] = &[("OCF_RESKEY_port", "25")];

    #[test]
    fn invocation_errors() {
        let d = Demo::new(&[]);
        assert_eq!(run(&d, &[], GOOD).0, OcfStatus::ErrArgs);
        assert_eq!(run(&d, &["start", "x"], GOOD).0, OcfStatus::ErrArgs);
        let (s, _, err) = run(&d, &["promote"], GOOD);
        assert_eq!(s, OcfStatus::Unimplemented);
        assert!(
            err.ends_with("ocf-exit-reason:action 'promote' is not supported\n"),
            "{err}"
        );
        assert_eq!(run(&d, &["reload"], GOOD).0, OcfStatus::Unimplemented);
    }

    #[test]
    fn meta_data_needs_nothing() {
        let d = Demo::new(&[]);
        let (s, out, _) = run(&d, &["meta-data"], &[]);
        assert_eq!(s, OcfStatus::Success);
        assert!(out.contains("<resource-agent name=\"demo\""));
        assert!(d.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn configuration_errors_by_action() {
        let d = Demo::new(&[]);
        for (env, needle) in [
            (&[][..], "parameter 'port' is required"),
            (&[("OCF_RESKEY_port", "x")][..], "'x' is not an integer"),
            (
                &[("OCF_RESKEY_port", "70000")][..],
                "port 70000 is out of range",
            ),
        ] {
            let (s, _, err) = run(&d, &["start"], env);
            assert_eq!(s, OcfStatus::ErrConfigured, "{env:?}");
            assert!(err.trim_end().ends_with(needle), "{err}");
            assert_eq!(run(&d, &["validate-all"], env).0, OcfStatus::ErrConfigured);
            assert_eq!(run(&d, &["monitor"], env).0, OcfStatus::NotRunning, "probe");
            assert_eq!(run(&d, &["stop"], env).0, OcfStatus::Success, "stop");
            let mut recurring = env.to_vec();
            recurring.push(("OCF_RESKEY_CRM_meta_interval", "10000"));
            assert_eq!(
                run(&d, &["monitor"], &recurring).0,
                OcfStatus::ErrConfigured
            );
        }
        assert!(
            d.seen.lock().unwrap().is_empty(),
            "no action ran on a bad config"
        );
    }

    #[test]
    fn probes_never_answer_installed_or_configured() {
        for code in [
            OcfStatus::ErrInstalled,
            OcfStatus::ErrConfigured,
            OcfStatus::ErrArgs,
            OcfStatus::ErrPerm,
        ] {
            let d = Demo::new(&[("monitor", Err(OcfError::new(code, "nope")))]);
            assert_eq!(
                run(&d, &["monitor"], GOOD).0,
                OcfStatus::NotRunning,
                "{code}"
            );
            let mut env = GOOD.to_vec();
            env.push(("OCF_RESKEY_CRM_meta_interval", "0"));
            assert_eq!(
                run(&d, &["monitor"], &env).0,
                OcfStatus::NotRunning,
                "interval 0 is a probe"
            );
            env.pop();
            env.push(("OCF_RESKEY_CRM_meta_interval", "5000"));
            assert_eq!(
                run(&d, &["monitor"], &env).0,
                code,
                "recurring keeps {code}"
            );
        }
        let d = Demo::new(&[("monitor", Err(OcfError::generic("broken")))]);
        let (s, _, err) = run(&d, &["monitor"], GOOD);
        assert_eq!(s, OcfStatus::ErrGeneric);
        assert!(err.ends_with("ocf-exit-reason:broken\n"));
    }

    #[test]
    fn stop_of_a_stopped_resource_is_success_and_notify_never_fails() {
        let d = Demo::new(&[
            ("stop", Err(OcfError::not_running("gone"))),
            ("notify", Err(OcfError::generic("bad"))),
        ]);
        assert_eq!(run(&d, &["stop"], GOOD).0, OcfStatus::Success);
        assert_eq!(run(&d, &["notify"], GOOD).0, OcfStatus::Success);
    }

    #[test]
    fn environment_reaches_the_action() {
        let d = Demo::new(&[]);
        let env = [
            ("OCF_RESKEY_port", "25"),
            ("OCF_RESKEY_old_mode", "fast"),
            ("OCF_RESKEY_CRM_meta_timeout", "90000"),
            ("OCF_EXIT_REASON_PREFIX", "why:"),
        ];
        assert_eq!(run(&d, &["start"], &env).0, OcfStatus::Success);
        let seen = d.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec!["start probe=false timeout=90s mode=Some(\"fast\")".to_string()]
        );
        let d = Demo::new(&[("start", Err(OcfError::generic("x")))]);
        assert!(run(&d, &["start"], &env).2.ends_with("why:x\n"));
    }
}
