//! Running one fence action: stdin or argv in, one result line and an exit code out.

use super::engine::{self, Outcome, PowerState, PowerSwitch, Timing};
use super::input::{parse_args, parse_stdin, Info, RawRequest, DEVICE_SELECTORS};
use super::metadata;
use super::spec::{
    self, FenceAction, FenceSpec, Method, AGENT_TIMEOUT, COMMON, DEBUG_FILE, DELAY, LOGIN_TIMEOUT,
    METHOD, PASSWORD_SOURCE, PLUG, PLUGS, PLUG_SEPARATOR, POWER_TIMEOUT, POWER_WAIT, QUIET,
    RETRY_ON, SEPARATOR, STONITH_STATUS_SLEEP, VERBOSE, VERBOSE_LEVEL,
};
use super::{FenceError, FenceExit};
use crate::deadline::Deadline;
use crate::log::Logger;
use crate::params::{AnyParam, Decl, Values};
use crate::secret::Secret;
use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

/// One parsed and checked request.
pub struct Request {
    pub action: FenceAction,
    pub values: Values,
    /// Outlets to act on; one empty string for single-outlet devices.
    pub plugs: Vec<String>,
    /// The agent switches outlets of one device (PDU), not one machine through its own BMC.
    pub multi_outlet: bool,
    /// The device has targets to list ([`FenceSpec::lists`]).
    pub lists: bool,
    pub method: Method,
    pub timing: Timing,
    pub delay: Duration,
    pub login_timeout: Duration,
    pub deadline: Deadline,
    pub log: Logger,
}

impl Request {
    /// The device password from `password` (stdin), `password_file` or `password_script`,
    /// in that order ([`PASSWORD_SOURCE`]). Errors name the source, never the content.
    pub fn password(&self) -> Result<Option<Secret>, FenceError> {
        self.secret(&PASSWORD_SOURCE)
    }

    /// A secret from its sources, a script given the login time.
    pub fn secret(&self, source: &spec::SecretSource) -> Result<Option<Secret>, FenceError> {
        source.resolve(&self.values, self.deadline.cap(self.login_timeout))
    }

    /// Whether a password is configured, without reading it.
    pub fn has_password(&self) -> bool {
        PASSWORD_SOURCE.is_configured(&self.values)
    }

    /// The time allowed to open a session: `login_timeout`, capped by the deadline.
    pub fn login_deadline(&self) -> Deadline {
        Deadline::after(self.login_timeout).min(self.deadline)
    }
}

/// A fence agent: its description and how to reach its device.
pub trait FenceAgent {
    fn spec(&self) -> &'static FenceSpec;

    /// Agent-specific checks beyond each parameter's own (validate-all and every action).
    fn check(&self, _req: &Request) -> Result<(), FenceError> {
        Ok(())
    }

    /// Opens one session with the device, used for every step of the action.
    fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError>;
}

/// The full parameter list: `action` (described with the actions this agent offers), the
/// agent's groups, `plug` for multi-outlet devices, then the common timing options. Leaked
/// once: a fence agent is a short-lived process.
pub fn declaration(spec: &FenceSpec) -> Decl {
    let mut all: Vec<&'static dyn AnyParam> = vec![spec::action_param(spec)];
    for g in spec.groups {
        all.extend_from_slice(g);
    }
    if spec.multi_outlet {
        all.extend_from_slice(PLUGS);
    }
    all.extend_from_slice(COMMON);
    Box::leak(all.into_boxed_slice())
}

/// The name the binary was invoked as (`fence_bulwark_idrac` through a symlink).
pub fn invoked_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| a.rsplit('/').next().map(str::to_string))
        .unwrap_or_default()
}

pub fn run<A: FenceAgent>(agent: A) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdin = std::io::stdin();
    let input = if args.is_empty() && !stdin.is_terminal() {
        let mut text = String::new();
        let _ = stdin.lock().take(1 << 20).read_to_string(&mut text);
        Some(text)
    } else {
        None
    };
    let code = execute(
        &agent,
        &args,
        input.as_deref(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code)
}

fn fail(err: &mut dyn Write, log: Option<&Logger>, e: &FenceError) -> FenceExit {
    if let Some(l) = log {
        l.debug(&format!("failed: {}", e.reason));
    }
    let _ = writeln!(err, "{}", e.reason);
    FenceExit::Failed
}

/// The whole invocation with injectable streams (tests). Returns the exit code.
pub fn execute<A: FenceAgent>(
    agent: &A,
    args: &[String],
    stdin: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    invoke(agent, args, stdin, out, err).code()
}

/// [`execute`] with the exit status typed.
pub fn invoke<A: FenceAgent>(
    agent: &A,
    args: &[String],
    stdin: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> FenceExit {
    let spec = agent.spec();
    let decl = declaration(spec);
    let raw = if args.is_empty() {
        Ok(parse_stdin(decl, stdin.unwrap_or("")))
    } else {
        parse_args(decl, args)
    };
    let RawRequest {
        pairs,
        ignored,
        bad_booleans,
        info,
        refused,
    } = match raw {
        Ok(r) => r,
        Err(e) => {
            return fail(
                err,
                None,
                &FenceError::new(format!("{}: {}", spec.name, e.0)),
            )
        }
    };
    match info {
        Some(Info::Help) => {
            let _ = out.write_all(metadata::usage(spec, decl).as_bytes());
            return FenceExit::Success;
        }
        Some(Info::Version) => {
            let _ = writeln!(out, "{} {}", spec.name, env!("CARGO_PKG_VERSION"));
            return FenceExit::Success;
        }
        None => {}
    }
    if let Some(name) = refused.first() {
        let meaning = DEVICE_SELECTORS
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, m)| m);
        return fail(
            err,
            None,
            &FenceError::new(format!(
                "parameter '{name}' ({meaning}) is not supported by {}: refusing rather than switching a different machine",
                spec.name
            )),
        );
    }
    let (values, _) = Values::collect(decl, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Read before validation, so that a refusal of another parameter is logged as asked.
    let log = logger(spec, &values);
    if !ignored.is_empty() {
        log.warn(&format!(
            "ignoring unknown parameter(s): {}",
            ignored.join(", ")
        ));
    }
    if !bad_booleans.is_empty() {
        log.warn(&format!(
            "ignoring parameter(s) without a boolean value (true/false, yes/no, on/off, 1/0): {}",
            bad_booleans.join(", ")
        ));
    }

    let action = match spec::ACTION.get(&values) {
        Ok(a) => a,
        Err(e) => return fail(err, Some(&log), &FenceError::new(e.reason())),
    };
    match action {
        FenceAction::Metadata => {
            let _ = out.write_all(metadata::render(spec, decl).as_bytes());
            return FenceExit::Success;
        }
        FenceAction::Manpage => {
            let _ = out.write_all(super::man::fence_page(spec, decl).as_bytes());
            return FenceExit::Success;
        }
        _ => {}
    }
    if let Err(e) = values.validate() {
        return fail(err, Some(&log), &FenceError::new(e.to_string()));
    }
    let req = match build_request(spec, action, values, log) {
        Ok(r) => r,
        Err(e) => return fail(err, None, &e),
    };
    if let Err(e) = agent.check(&req) {
        return fail(err, Some(&req.log), &e);
    }
    if action == FenceAction::ValidateAll {
        return FenceExit::Success;
    }
    match act(agent, &req, out) {
        Ok(code) => code,
        Err(e) => fail(err, Some(&req.log), &e),
    }
}

/// Everything [`execute`] does with a request before it acts, without I/O: parsing (argv, or
/// stdin when there is none), the refusal of device selectors, the action word, each
/// parameter's validation, the timing, and the agent's own checks (fuzzing). `decl` is
/// [`declaration`]`(agent.spec())`, made once by the caller: it is leaked, which a fence agent
/// does once per process but a fuzzer must not do per input.
pub fn check_request<A: FenceAgent>(
    agent: &A,
    decl: Decl,
    args: &[String],
    stdin: &str,
) -> Result<Request, FenceError> {
    let spec = agent.spec();
    let raw = if args.is_empty() {
        parse_stdin(decl, stdin)
    } else {
        parse_args(decl, args).map_err(|e| FenceError::new(e.0))?
    };
    if let Some(name) = raw.refused.first() {
        return Err(FenceError::new(format!(
            "parameter '{name}' is not supported"
        )));
    }
    let (values, _) = Values::collect(
        decl,
        raw.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let action = spec::ACTION
        .get(&values)
        .map_err(|e| FenceError::new(e.reason()))?;
    values
        .validate()
        .map_err(|e| FenceError::new(e.to_string()))?;
    // The logger is read as execute reads it, and then silenced: a fuzzer writes no files.
    drop(logger(spec, &values));
    let req = build_request(spec, action, values, Logger::silent())?;
    agent.check(&req)?;
    Ok(req)
}

/// The run's logger as `verbose`, `verbose_level`, `debug_file` and `quiet` ask, values that
/// do not read taken as unset.
fn logger(spec: &FenceSpec, values: &Values) -> Logger {
    Logger::from_env(spec.name, None).configure(
        VERBOSE.get(values).unwrap_or(false)
            || VERBOSE_LEVEL
                .get(values)
                .is_ok_and(|l| l.is_some_and(|l| l > 0)),
        DEBUG_FILE.get(values).unwrap_or_default(),
        QUIET.get(values).unwrap_or(false),
    )
}

fn build_request(
    spec: &FenceSpec,
    action: FenceAction,
    values: Values,
    log: Logger,
) -> Result<Request, FenceError> {
    let plugs: Vec<String> = if spec.multi_outlet {
        // Never empty: a blank separator reads as the default (see `params`).
        let sep = PLUG_SEPARATOR.get(&values)?;
        PLUG.get(&values)?
            .map(|p| {
                p.split(sep.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![String::new()]
    };
    if spec.multi_outlet && action.needs_target() && plugs.is_empty() {
        return Err(FenceError::new(
            "parameter 'plug' is required for this action",
        ));
    }
    let timing = Timing {
        power_timeout: POWER_TIMEOUT.get(&values)?,
        power_wait: POWER_WAIT.get(&values)?,
        poll_max: STONITH_STATUS_SLEEP.get(&values)?,
        retry_on: RETRY_ON.get(&values)?.clamp(1, 100),
    };
    let deadline = Deadline::from_timeout(AGENT_TIMEOUT.get(&values)?);
    // Read here, for every action, so that a bad value never waits until an off to show.
    SEPARATOR.get(&values)?;
    Ok(Request {
        action,
        plugs,
        multi_outlet: spec.multi_outlet,
        lists: spec.lists,
        method: METHOD.get(&values)?,
        timing,
        delay: DELAY.get(&values)?,
        login_timeout: LOGIN_TIMEOUT.get(&values)?,
        deadline,
        log,
        values,
    })
}

fn state_word(s: Option<PowerState>) -> &'static str {
    match s {
        Some(PowerState::On) => "ON",
        Some(PowerState::Off) => "OFF",
        None => "UNKNOWN",
    }
}

fn act<A: FenceAgent>(
    agent: &A,
    req: &Request,
    out: &mut dyn Write,
) -> Result<FenceExit, FenceError> {
    if matches!(req.action, FenceAction::Off | FenceAction::Reboot) && !req.delay.is_zero() {
        req.log
            .debug(&format!("delay {:.1} s", req.delay.as_secs_f64()));
        std::thread::sleep(req.deadline.cap(req.delay));
    }
    // A BMC has no outlets to list. As fencing.py, answer without contacting the device
    // (exit 0), but print nothing: a "NOTICE" line on stdout would read as host names to a
    // caller that parses the list.
    if !req.action.offered_by(req.lists) {
        return Ok(FenceExit::Success);
    }
    let mut sw = agent.connect(req)?;
    let sw: &mut dyn PowerSwitch = sw.as_mut();
    let plugs = &req.plugs;
    let outcome = match req.action {
        FenceAction::Status => {
            let states = engine::read_all(sw, plugs, req.deadline)?;
            let off = states.iter().all(|s| *s == PowerState::Off);
            let _ = writeln!(out, "Status: {}", if off { "OFF" } else { "ON" });
            return Ok(if off {
                FenceExit::Off
            } else {
                FenceExit::Success
            });
        }
        FenceAction::Monitor => {
            // A device with targets answers by listing them (all of a PDU's outlets, every
            // system of a Redfish service); a BMC by reading its one power state.
            if req.lists {
                sw.list(req.deadline)?;
            } else {
                sw.power_state("", req.deadline)?;
            }
            return Ok(FenceExit::Success);
        }
        FenceAction::List | FenceAction::ListStatus => {
            let sep = SEPARATOR.get(&req.values)?;
            for o in sw.list(req.deadline)? {
                if req.action == FenceAction::List {
                    let _ = writeln!(out, "{}{sep}{}", o.id, o.alias);
                } else {
                    let _ = writeln!(out, "{}{sep}{}{sep}{}", o.id, o.alias, state_word(o.state));
                }
            }
            return Ok(FenceExit::Success);
        }
        FenceAction::Off => engine::power_off(sw, plugs, &req.timing, req.deadline)?,
        FenceAction::On => engine::power_on(sw, plugs, &req.timing, req.deadline)?,
        FenceAction::Reboot => match req.method {
            Method::OnOff => engine::reboot_onoff(sw, plugs, &req.timing, req.deadline)?,
            Method::Cycle => engine::reboot_cycle(sw, plugs, &req.timing, req.deadline)?,
        },
        FenceAction::Metadata | FenceAction::Manpage | FenceAction::ValidateAll => {
            return Ok(FenceExit::Success)
        }
    };
    if let Outcome::RebootedOnFailed(why) = &outcome {
        req.log
            .warn(&format!("target powered off, but power on failed: {why}"));
    }
    let _ = writeln!(out, "{outcome}");
    Ok(FenceExit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::spec::{ADDRESS, LOGIN};
    use std::cell::RefCell;

    static SPEC: FenceSpec = FenceSpec {
        name: "fence_demo",
        shortdesc: "Demo",
        longdesc: "Demo device.",
        vendor_url: "https://example.invalid",
        symlinks: &[],
        groups: &[ADDRESS, LOGIN],
        multi_outlet: false,
        lists: false,
    };

    struct Demo {
        power: RefCell<PowerState>,
        saw_password: RefCell<Option<Vec<u8>>>,
    }

    struct Switch<'a>(&'a Demo);

    impl PowerSwitch for Switch<'_> {
        fn power_state(&mut self, _: &str, _: Deadline) -> Result<PowerState, FenceError> {
            Ok(*self.0.power.borrow())
        }
        fn set_power(&mut self, _: &str, s: PowerState, _: Deadline) -> Result<(), FenceError> {
            *self.0.power.borrow_mut() = s;
            Ok(())
        }
    }

    impl FenceAgent for Demo {
        fn spec(&self) -> &'static FenceSpec {
            &SPEC
        }
        fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError> {
            *self.saw_password.borrow_mut() = req.password()?.map(|s| s.expose().to_vec());
            Ok(Box::new(Switch(self)))
        }
    }

    fn demo(state: PowerState) -> Demo {
        Demo {
            power: RefCell::new(state),
            saw_password: RefCell::new(None),
        }
    }

    fn run(agent: &Demo, args: &[&str], stdin: &str) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = execute(agent, &args, Some(stdin), &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn stdin_off_and_status_codes() {
        let d = demo(PowerState::On);
        let (code, out, _) = run(
            &d,
            &[],
            "ip=10.0.0.1\nusername=admin\npassword=\"s3cret\"\naction=off\nnodename=node2\n",
        );
        assert_eq!(code, 0);
        assert_eq!(out, "Success: Powered OFF\n");
        assert_eq!(d.saw_password.borrow().as_deref(), Some(&b"s3cret"[..]));
        let (code, out, _) = run(&d, &[], "ip=10.0.0.1\naction=status\n");
        assert_eq!((code, out.as_str()), (2, "Status: OFF\n"));
        let (code, out, _) = run(&d, &["-a", "10.0.0.1", "-o", "on"], "");
        assert_eq!((code, out.as_str()), (0, "Success: Powered ON\n"));
        let (code, out, _) = run(&d, &["--ip=10.0.0.1", "--action=status"], "");
        assert_eq!((code, out.as_str()), (0, "Status: ON\n"));
        let (code, out, _) = run(&d, &[], "ipaddr=10.0.0.1\noption=reboot\n");
        assert_eq!((code, out.as_str()), (0, "Success: Rebooted\n"));
    }

    #[test]
    fn refusals_are_one_line_and_exit_1() {
        let d = demo(PowerState::On);
        let (code, _, err) = run(&d, &[], "ip=10.0.0.1\naction=explode\n");
        assert_eq!(code, 1);
        assert_eq!(err, "Unrecognised action 'explode'\n");
        let (code, _, err) = run(&d, &[], "action=status\n");
        assert_eq!((code, err.as_str()), (1, "parameter 'ip' is required\n"));
        let (code, _, err) = run(&d, &["--ip=1.2.3.4", "--password=hunter2"], "");
        assert_eq!(code, 1);
        assert!(
            err.contains("refusing 'password'") && !err.contains("hunter2"),
            "{err}"
        );
        let (code, _, err) = run(&d, &["--ip=1.2.3.4", "--frobnicate"], "");
        assert_eq!(code, 1);
        assert!(err.contains("--frobnicate"), "{err}");
        let (code, _, err) = run(&d, &[], "ip=1.2.3.4\naction=status\npower_timeout=-3\n");
        assert_eq!(code, 1);
        assert!(err.starts_with("parameter 'power_timeout'"), "{err}");
        let (code, _, err) = run(
            &d,
            &[],
            "ip=1.2.3.4\naction=status\npassword_file=/nonexistent/pw\n",
        );
        assert_eq!(code, 1);
        assert!(err.contains("/nonexistent/pw"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn help_version_and_an_invalid_stdin_boolean_as_fencing_py() {
        let d = demo(PowerState::On);
        let (code, out, _) = run(&d, &["-h"], "");
        assert_eq!(code, 0);
        assert!(
            out.starts_with("Usage:") && out.contains("-a, --ip=[ip]"),
            "{out}"
        );
        let (code, out, _) = run(&d, &["--ip=1.2.3.4", "--version"], "");
        assert_eq!((code, out.trim()), (0, "fence_demo 0.1.0"));
        let (code, out, _) = run(&d, &["-vvv", "-a", "1.2.3.4", "-o", "status"], "");
        assert_eq!((code, out.as_str()), (0, "Status: ON\n"));
        // fencing.py warns and ignores a boolean it cannot read; the action still runs.
        let (code, out, _) = run(&d, &[], "ip=1.2.3.4\naction=status\nquiet=perhaps\n");
        assert_eq!((code, out.as_str()), (0, "Status: ON\n"));
    }

    #[test]
    fn metadata_lists_deprecated_pairs_and_needs_no_device() {
        let d = demo(PowerState::On);
        let (code, out, _) = run(&d, &["-o", "metadata"], "");
        assert_eq!(code, 0);
        assert!(
            out.contains(
                "<parameter name=\"ipaddr\" unique=\"0\" required=\"1\" deprecated=\"1\">"
            ),
            "{out}"
        );
        assert!(out
            .contains("<parameter name=\"ip\" unique=\"0\" required=\"1\" obsoletes=\"ipaddr\">"));
        assert!(out.contains("<getopt mixed=\"-a, --ip=[ip]\"/>"));
        assert!(out.contains("<content type=\"second\" default=\"20\"/>"));
        assert!(out.contains("<option value=\"cycle\"/>"));
        let (code, out, _) = run(&d, &[], "action=meta-data\n");
        assert_eq!(code, 0);
        assert!(out.starts_with("<?xml"));
        assert_eq!(run(&d, &[], "ip=1.2.3.4\naction=validate-all\n").0, 0);
    }
}
