//! The description of a fence agent and the parameters every fence agent shares.

use crate::params::Param;

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
    pub groups: &'static [&'static [Param]],
    /// Several outlets per device (PDUs): `plug` is meaningful and required.
    pub multi_outlet: bool,
    /// `list`/`list-status` read the device's targets (a PDU's outlets, a Redfish service's
    /// systems) and are advertised. False for a BMC, which has none: both answer with no line
    /// and exit 0 without contacting it, as fencing.py does.
    pub lists: bool,
}

/// The action parameter comes first, as in fence-agents.
pub static ACTION: &[Param] = &[Param::string("action")
    .default("reboot")
    .aliases(&["option"])
    .short('o')
    .hint("action")
    .describe(
        "Fencing action",
        "on, off, reboot, status, monitor, list, list-status, metadata, manpage or validate-all.",
    )];

/// The device address, shared by every networked agent.
pub static ADDRESS: &[Param] = &[Param::string("ip")
    .required()
    .aliases(&["ipaddr"])
    .short('a')
    .hint("ip")
    .describe(
        "IP address or hostname of the fencing device",
        "Address of the management controller or power switch.",
    )];

/// Login credentials. The password itself is refused on the command line: it would be
/// readable by every user in /proc/PID/cmdline.
pub static LOGIN: &[Param] = &[
    Param::string("username")
        .aliases(&["login"])
        .short('l')
        .hint("name")
        .describe("Login name", "User name for the fencing device."),
    Param::string("password")
        .secret()
        .aliases(&["passwd"])
        .short('p')
        .hint("password")
        .describe(
            "Login password or passphrase",
            "Password for the fencing device. Accepted on standard input only (Pacemaker passes it there), never on the command line.",
        ),
    Param::string("password_script")
        .aliases(&["passwd_script"])
        .short('S')
        .hint("script")
        .describe(
            "Script to run to retrieve password",
            "Command run through /bin/sh whose first output line, without trailing white space, is the password.",
        ),
    Param::string("password_file")
        .hint("path")
        .describe(
            "File holding the password",
            "Path of a file whose first line is the password (mode 0600 recommended).",
        ),
];

/// `plug`: the outlet(s) of a multi-outlet device.
pub static PLUG: &[Param] = &[
    Param::string("plug")
        .aliases(&["port"])
        .short('n')
        .hint("id")
        .describe(
            "Physical plug number on device, or name of virtual machine",
            "Outlet number or name; several separated by plug_separator are all switched off and confirmed off before any is switched on.",
        ),
    Param::string("plug_separator")
        .default(",")
        .hint("char")
        .describe("Separator for plug parameter when specifying more than 1 plug", "Separator between outlets in plug."),
];

fn positive_seconds(v: &str) -> Result<(), String> {
    match crate::params::parse_seconds(v) {
        Some(s) if s > 0.0 => Ok(()),
        _ => Err(format!("'{v}' must be a positive number of seconds")),
    }
}

fn count_at_least_one(v: &str) -> Result<(), String> {
    match v.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(()),
        _ => Err(format!("'{v}' must be a whole number of at least 1")),
    }
}

/// Timing and behaviour options of every fence agent.
pub static COMMON: &[Param] = &[
    Param::select("method", &["onoff", "cycle"])
        .default("onoff")
        .short('m')
        .hint("method")
        .describe(
            "Method to fence",
            "onoff: off, confirm off, then on. cycle: one power-cycle command, accepted only when the target is on and reported as success only after an OFF reading is observed.",
        ),
    Param::second("delay")
        .default("0")
        .hint("seconds")
        .describe("Wait X seconds before fencing is started", "Applied to off and reboot only, counted from agent start."),
    Param::second("login_timeout")
        .default("5")
        .check(positive_seconds)
        .hint("seconds")
        .describe("Wait X seconds for cmd prompt after login", "Time allowed to open the session with the device."),
    Param::second("power_timeout")
        .default("20")
        .check(positive_seconds)
        .hint("seconds")
        .describe("Test X seconds for status change after ON/OFF", "Wall-clock time allowed for the device to report the requested state."),
    Param::second("power_wait")
        .default("0")
        .hint("seconds")
        .describe("Wait X seconds after issuing ON/OFF", "Settle time after a state change has been confirmed."),
    Param::second("stonith_status_sleep")
        .default("0.2")
        .check(positive_seconds)
        .hint("seconds")
        .describe("Sleep X seconds between status calls during a STONITH action", "Longest pause between status polls (the first polls come sooner)."),
    Param::integer("retry_on")
        .default("1")
        .check(count_at_least_one)
        .hint("attempts")
        .describe("Count of attempts to retry power on", "Attempts to power on after a confirmed off."),
    Param::second("agent_timeout")
        .default("60")
        .check(positive_seconds)
        .hint("seconds")
        .describe(
            "Time budget of one agent run; must not exceed the smallest pcmk_*_timeout",
            "Pacemaker passes no timeout to fence agents, so this is the agent's only clock: it answers before agent_timeout minus a margin (10%, 0.5 to 5 s), and in a reboot the power-on half stops a further 0.5 s early so the verdict is always printed in time. Keep it at or below the smallest of the device's pcmk_reboot_timeout, pcmk_off_timeout, pcmk_on_timeout, pcmk_status_timeout, pcmk_monitor_timeout and pcmk_list_timeout (each defaults to the cluster's stonith-timeout, 60 s): a larger value lets pacemaker-fenced kill the agent before it can report, and the fence is then retried or fails without a reason.",
        ),
    Param::boolean("verbose")
        .short('v')
        .describe("Verbose mode", "Log each step to standard error."),
    Param::string("debug_file")
        .aliases(&["debug"])
        .short('D')
        .hint("debugfile")
        .describe("Write debug information to given file", "Append debug lines to this file."),
    Param::boolean("quiet")
        .short('q')
        .describe("Disable logging to stderr", "Print nothing but the result."),
    Param::string("separator")
        .default(",")
        .hint("char")
        .describe("Separator for CSV created by 'list' operation", "Put between the fields of list and list-status lines."),
    Param::integer("verbose_level")
        .hint("level")
        .describe("Level of debugging detail in output", "Accepted as in fence-agents: any level above 0 means verbose."),
    Param::boolean("disable_timeout")
        .describe(
            "Disable timeout (true/false) (default: true when run from Pacemaker 2.0+)",
            "Accepted for compatibility with fence-agents, without effect: every wait of this agent is bounded by power_timeout, login_timeout and agent_timeout, never unbounded.",
        ),
    Param::second("shell_timeout")
        .hint("seconds")
        .describe(
            "Wait X seconds for cmd prompt after issuing command",
            "Accepted for compatibility with fence-agents, without effect: this agent runs no shell session.",
        ),
];
