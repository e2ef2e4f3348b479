//! The description of a fence agent, the actions of the fence-agents API, and the parameters
//! every fence agent shares, each a typed handle the runtime and the agents read through.

use crate::choices;
use crate::params::{parse, AnyParam, Choice, Decl, Param, P};
use crate::secret::Secret;
use std::time::Duration;

/// Everything a fence agent says about itself; rendered into fence-agents' metadata dialect.
#[derive(Debug, Clone, Copy)]
pub struct FenceSpec {
    /// The installed name (`fence_bulwark_ipmi`).
    pub name: &'static str,
    pub shortdesc: &'static str,
    pub longdesc: &'static str,
    pub vendor_url: &'static str,
    /// Other names the same binary answers to, with their own short description.
    pub symlinks: &'static [(&'static str, &'static str)],
    /// The agent's own parameter groups, in metadata order. The runtime adds `action` before
    /// and [`COMMON`] after them.
    pub groups: &'static [Decl],
    /// Several outlets per device (PDUs): `plug` is meaningful and required.
    pub multi_outlet: bool,
    /// `list`/`list-status` read the device's targets (a PDU's outlets, a Redfish service's
    /// systems) and are advertised. False for a BMC, which has none: both answer with no line
    /// and exit 0 without contacting it, as fencing.py does.
    pub lists: bool,
}

/// The actions of the fence-agents API: what is accepted, advertised in the metadata and
/// described in the man page all come from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceAction {
    On,
    Off,
    Reboot,
    Status,
    Monitor,
    List,
    ListStatus,
    Metadata,
    Manpage,
    ValidateAll,
}

impl Choice for FenceAction {
    const ALL: &'static [FenceAction] = &[
        FenceAction::On,
        FenceAction::Off,
        FenceAction::Reboot,
        FenceAction::Status,
        FenceAction::Monitor,
        FenceAction::List,
        FenceAction::ListStatus,
        FenceAction::Metadata,
        FenceAction::Manpage,
        FenceAction::ValidateAll,
    ];
    const NAMES: &'static [&'static str] = &[
        "on",
        "off",
        "reboot",
        "status",
        "monitor",
        "list",
        "list-status",
        "metadata",
        "manpage",
        "validate-all",
    ];
    fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|a| *a == self).unwrap_or(0)]
    }
    /// As fencing.py: the names in any case, and `meta-data` (Pacemaker's spelling) for
    /// `metadata`. Fabric fencing's enable/disable are refused, as fencing.py refuses them for
    /// power fencing.
    fn from_name(word: &str) -> Option<FenceAction> {
        let word = word.trim().to_ascii_lowercase();
        let word = if word == "meta-data" {
            "metadata"
        } else {
            &word
        };
        Self::ALL.iter().copied().find(|a| a.name() == word)
    }
}

impl FenceAction {
    pub fn parse(word: &str) -> Option<FenceAction> {
        Self::from_name(word)
    }

    /// Whether an agent offers the action: `list` and `list-status` only where the device has
    /// targets to list ([`FenceSpec::lists`]).
    pub fn offered(self, spec: &FenceSpec) -> bool {
        self.offered_by(spec.lists)
    }

    /// [`FenceAction::offered`] by an agent whose device has targets to list, or not.
    pub fn offered_by(self, lists: bool) -> bool {
        lists || !matches!(self, FenceAction::List | FenceAction::ListStatus)
    }

    /// The actions the metadata advertises, in fence-agents' order.
    pub fn advertised(spec: &FenceSpec) -> Vec<FenceAction> {
        use FenceAction::*;
        [
            On,
            Off,
            Reboot,
            Status,
            List,
            ListStatus,
            Monitor,
            Metadata,
            Manpage,
            ValidateAll,
        ]
        .into_iter()
        .filter(|a| a.offered(spec))
        .collect()
    }

    /// `on, off, … or validate-all`: the actions an agent offers, as the `action` parameter's
    /// description lists them.
    pub fn described(spec: &FenceSpec) -> String {
        let names: Vec<&str> = Self::ALL
            .iter()
            .filter(|a| a.offered(spec))
            .map(|a| a.name())
            .collect();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}.", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Whether the action switches or reads one target (and so needs `plug` on a device with
    /// several).
    pub fn needs_target(self) -> bool {
        matches!(
            self,
            FenceAction::On | FenceAction::Off | FenceAction::Reboot | FenceAction::Status
        )
    }
}

fn parse_action(raw: &str) -> Result<FenceAction, String> {
    FenceAction::parse(raw).ok_or_else(|| format!("Unrecognised action '{raw}'"))
}

/// The action; its description is written per agent from [`FenceAction::described`].
pub static ACTION: P<FenceAction> = P::new(
    Param::string("action")
        .default("reboot")
        .empty_is_value()
        .aliases(&["option"])
        .short('o')
        .hint("action")
        .describe("Fencing action", ""),
    parse_action,
);

/// [`ACTION`] described with the actions `spec` offers (leaked: once per process).
pub fn action_param(spec: &FenceSpec) -> &'static dyn AnyParam {
    let description: &'static str = Box::leak(FenceAction::described(spec).into_boxed_str());
    let param = Param {
        longdesc: description,
        ..ACTION.param
    };
    Box::leak(Box::new(P::new(param, parse_action)))
}

choices! {
    /// `method`: how a reboot is done.
    pub enum Method {
        OnOff = "onoff",
        Cycle = "cycle",
    }
}

/// The device address, shared by every networked agent.
pub static IP: P<String> = P::new(
    Param::string("ip")
        .required()
        .aliases(&["ipaddr"])
        .short('a')
        .hint("ip")
        .describe(
            "IP address or hostname of the fencing device",
            "Address of the management controller or power switch.",
        ),
    parse::text,
);
pub static ADDRESS: Decl = &[&IP];

/// Login credentials. The password itself is refused on the command line: it would be
/// readable by every user in /proc/PID/cmdline.
pub static USERNAME: P<String> = P::new(
    Param::string("username")
        .aliases(&["login"])
        .short('l')
        .hint("name")
        .describe("Login name", "User name for the fencing device."),
    parse::text,
);
pub static PASSWORD: P<Option<Secret>> = P::new(
    Param::string("password")
        .secret()
        .aliases(&["passwd"])
        .short('p')
        .hint("password")
        .describe(
            "Login password or passphrase",
            "Password for the fencing device. Accepted on standard input only (Pacemaker passes it there), never on the command line.",
        ),
    secret,
);
pub static PASSWORD_SCRIPT: P<Option<String>> = P::new(
    Param::string("password_script")
        .aliases(&["passwd_script"])
        .short('S')
        .hint("script")
        .describe(
            "Script to run to retrieve password",
            "Command run through /bin/sh whose first output line, without trailing white space, is the password.",
        ),
    parse::optional_text,
);
pub static PASSWORD_FILE: P<Option<String>> = P::new(
    Param::string("password_file").hint("path").describe(
        "File holding the password",
        "Path of a file whose first line is the password (mode 0600 recommended).",
    ),
    parse::optional_text,
);
pub static LOGIN: Decl = &[&USERNAME, &PASSWORD, &PASSWORD_SCRIPT, &PASSWORD_FILE];

/// A secret value as given (not trimmed: a password may end in a blank); `None` when blank.
pub fn secret(raw: &str) -> Result<Option<Secret>, String> {
    Ok((!raw.trim().is_empty()).then(|| Secret::from(raw)))
}

/// Where one secret comes from, the one rule every fence agent follows: the first of
/// `given` that is set (on standard input, never on the command line), else the first line of
/// `file`, else the first output line of `script`. A blank value counts as not set.
pub struct SecretSource {
    pub given: &'static [&'static P<Option<Secret>>],
    pub file: &'static P<Option<String>>,
    pub script: &'static P<Option<String>>,
}

/// The login password: `password`, `password_file`, `password_script`.
pub static PASSWORD_SOURCE: SecretSource = SecretSource {
    given: &[&PASSWORD],
    file: &PASSWORD_FILE,
    script: &PASSWORD_SCRIPT,
};

impl SecretSource {
    /// Whether any source is set, without reading a file or running a script (validate-all
    /// must not need the secret store).
    pub fn is_configured(&self, values: &crate::params::Values) -> bool {
        // Every source is looked at (no short cut), so each counts as read.
        let given = self.given.iter().filter(|p| p.is_set(values)).count();
        let (file, script) = (self.file.is_set(values), self.script.is_set(values));
        given > 0 || file || script
    }

    /// The secret from the first source set; errors name the source, never the secret.
    pub fn resolve(
        &self,
        values: &crate::params::Values,
        script_timeout: Duration,
    ) -> Result<Option<Secret>, super::FenceError> {
        for p in self.given {
            if let Some(s) = p
                .get(values)
                .map_err(|e| super::FenceError::new(e.to_string()))?
            {
                return Ok(Some(s));
            }
        }
        let text = |p: &P<Option<String>>| {
            p.get(values)
                .map_err(|e| super::FenceError::new(e.to_string()))
        };
        if let Some(path) = text(self.file)? {
            return Secret::first_line_of_file(std::path::Path::new(&path))
                .map(Some)
                .map_err(super::FenceError::new);
        }
        if let Some(script) = text(self.script)? {
            return Secret::from_script(&script, script_timeout)
                .map(Some)
                .map_err(|e| {
                    super::FenceError::new(e.replace("password_script", self.script.name()))
                });
        }
        Ok(None)
    }
}

/// `plug`: the outlet(s) of a multi-outlet device.
pub static PLUG: P<Option<String>> = P::new(
    Param::string("plug")
        .aliases(&["port"])
        .short('n')
        .hint("id")
        .describe(
            "Physical plug number on device, or name of virtual machine",
            "Outlet number or name; several separated by plug_separator are all switched off and confirmed off before any is switched on.",
        ),
    parse::optional_text,
);
pub static PLUG_SEPARATOR: P<String> = P::new(
    Param::string("plug_separator")
        .default(",")
        .hint("char")
        .describe(
            "Separator for plug parameter when specifying more than 1 plug",
            "Separator between outlets in plug.",
        ),
    parse::verbatim,
);
pub static PLUGS: Decl = &[&PLUG, &PLUG_SEPARATOR];

fn positive_seconds(v: &str) -> Result<Duration, String> {
    match crate::params::parse_seconds(v) {
        Some(s) if s > 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("'{v}' must be a positive number of seconds")),
    }
}

fn count_at_least_one(v: &str) -> Result<u32, String> {
    match v.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{v}' must be a whole number of at least 1")),
    }
}

/// Timing and behaviour options of every fence agent.
pub static METHOD: P<Method> = P::new(
    Param::select("method", Method::NAMES)
            .default("onoff")
            .short('m')
            .hint("method")
            .describe(
                "Method to fence",
                "onoff: off, confirm off, then on. cycle: one power-cycle command, accepted only when the target is on and reported as success only after an OFF reading is observed.",
            ),
    parse::choice,
);
pub static DELAY: P<Duration> = P::new(
    Param::second("delay")
        .default("0")
        .hint("seconds")
        .describe(
            "Wait X seconds before fencing is started",
            "Applied to off and reboot only, counted from agent start.",
        ),
    parse::seconds,
);
pub static LOGIN_TIMEOUT: P<Duration> = P::new(
    Param::second("login_timeout")
        .default("5")
        .hint("seconds")
        .describe(
            "Wait X seconds for cmd prompt after login",
            "Time allowed to open the session with the device.",
        ),
    positive_seconds,
);
pub static POWER_TIMEOUT: P<Duration> = P::new(
    Param::second("power_timeout")
        .default("20")
        .hint("seconds")
        .describe(
            "Test X seconds for status change after ON/OFF",
            "Wall-clock time allowed for the device to report the requested state.",
        ),
    positive_seconds,
);
pub static POWER_WAIT: P<Duration> = P::new(
    Param::second("power_wait")
        .default("0")
        .hint("seconds")
        .describe(
            "Wait X seconds after issuing ON/OFF",
            "Settle time after a state change has been confirmed.",
        ),
    parse::seconds,
);
pub static STONITH_STATUS_SLEEP: P<Duration> = P::new(
    Param::second("stonith_status_sleep")
        .default("0.2")
        .hint("seconds")
        .describe(
            "Sleep X seconds between status calls during a STONITH action",
            "Longest pause between status polls (the first polls come sooner).",
        ),
    positive_seconds,
);
pub static RETRY_ON: P<u32> = P::new(
    Param::integer("retry_on")
        .default("1")
        .hint("attempts")
        .describe(
            "Count of attempts to retry power on",
            "Attempts to power on after a confirmed off.",
        ),
    count_at_least_one,
);
pub static AGENT_TIMEOUT: P<Duration> = P::new(
    Param::second("agent_timeout")
            .default("60")
            .hint("seconds")
            .describe(
                "Time budget of one agent run; must not exceed the smallest pcmk_*_timeout",
                "Pacemaker passes no timeout to fence agents, so this is the agent's only clock: it answers before agent_timeout minus a margin (10%, 0.5 to 5 s), and in a reboot the power-on half stops a further 0.5 s early so the verdict is always printed in time. Keep it at or below the smallest of the device's pcmk_reboot_timeout, pcmk_off_timeout, pcmk_on_timeout, pcmk_status_timeout, pcmk_monitor_timeout and pcmk_list_timeout (each defaults to the cluster's stonith-timeout, 60 s): a larger value lets pacemaker-fenced kill the agent before it can report, and the fence is then retried or fails without a reason.",
            ),
    positive_seconds,
);
pub static VERBOSE: P<bool> = P::new(
    Param::boolean("verbose")
        .short('v')
        .describe("Verbose mode", "Log each step to standard error."),
    parse::boolean,
);
pub static DEBUG_FILE: P<Option<String>> = P::new(
    Param::string("debug_file")
        .aliases(&["debug"])
        .short('D')
        .hint("debugfile")
        .describe(
            "Write debug information to given file",
            "Append debug lines to this file.",
        ),
    parse::optional_text,
);
pub static QUIET: P<bool> = P::new(
    Param::boolean("quiet")
        .short('q')
        .describe("Disable logging to stderr", "Print nothing but the result."),
    parse::boolean,
);
pub static SEPARATOR: P<String> = P::new(
    Param::string("separator")
        .default(",")
        .hint("char")
        .describe(
            "Separator for CSV created by 'list' operation",
            "Put between the fields of list and list-status lines.",
        ),
    parse::verbatim,
);
pub static VERBOSE_LEVEL: P<Option<i64>> = P::new(
    Param::integer("verbose_level").hint("level").describe(
        "Level of debugging detail in output",
        "Accepted as in fence-agents: any level above 0 means verbose.",
    ),
    parse::optional_integer,
);
pub static DISABLE_TIMEOUT: P<bool> = P::new(
    Param::boolean("disable_timeout")
        .no_effect()
            .describe(
                "Disable timeout (true/false) (default: true when run from Pacemaker 2.0+)",
                "Accepted for compatibility with fence-agents, without effect: every wait of this agent is bounded by power_timeout, login_timeout and agent_timeout, never unbounded.",
            ),
    parse::boolean,
);
pub static SHELL_TIMEOUT: P<Option<Duration>> = P::new(
    Param::second("shell_timeout")
        .no_effect()
            .hint("seconds")
            .describe(
                "Wait X seconds for cmd prompt after issuing command",
                "Accepted for compatibility with fence-agents, without effect: this agent runs no shell session.",
            ),
    parse::optional_seconds,
);
pub static COMMON: Decl = &[
    &METHOD,
    &DELAY,
    &LOGIN_TIMEOUT,
    &POWER_TIMEOUT,
    &POWER_WAIT,
    &STONITH_STATUS_SLEEP,
    &RETRY_ON,
    &AGENT_TIMEOUT,
    &VERBOSE,
    &DEBUG_FILE,
    &QUIET,
    &SEPARATOR,
    &VERBOSE_LEVEL,
    &DISABLE_TIMEOUT,
    &SHELL_TIMEOUT,
];
