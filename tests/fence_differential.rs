//! The differential compatibility suite: option sets an admin may carry over from
//! `fence_apc_snmp` / `fence_eaton_snmp` / `fence_ipmilan` (aliases, case and spelling variants, booleans in every
//! spelling, unknown and missing options, plug/port/nodename, `switch:outlet`, passwords from
//! stdin, file and script, every action), each run through the stock agent **and**
//! `fence_bulwark_pdu` / `fence_bulwark_ipmi` against the same simulated PDU or BMC, on stdin and on the command line. Compared:
//! exit code, every outlet's relay state afterwards, and the list output.
//!
//! Every difference must be listed in [`DELIBERATE`] with its reason; the suite writes the
//! table of differences to `docs/fence-differences.md` and fails on a difference without a
//! reason, on a reason whose difference is gone, and when the committed table is not what the
//! run produced (`BULWARK_WRITE_DOCS=1` rewrites it).
//!
//! Speed: one simulator per model and worker, kept up across cases; cases run on parallel
//! workers. Each case resets the relays before each agent runs.

mod support;

use support::{bmc, pdu};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bmc::Bmc;
use pdu::{PduSim, SimConfig};

const OUTLETS: u32 = 8;

/// Which simulated PDU a case runs against, and the stock agent for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Device {
    /// APC Switched Rack PDU (rPDU, sysObjectID .318.1.3.4.5): fence_apc_snmp's ApcRPDU.
    ApcRpdu,
    /// APC MasterSwitch plus: fence_apc_snmp's ApcMSP, the one with switch numbers.
    ApcMsp,
    /// Eaton managed ePDU: fence_eaton_snmp.
    EatonEpdu,
    /// Two linked APC rPDU2 units (AP8xxx, sysObjectID .318.1.3.4.6, 16 outlets, modules 1
    /// and 2): fence_apc_snmp takes it for a MasterSwitch with v6 firmware.
    ApcRpdu2,
    /// OpenIPMI's ipmi_sim: fence_ipmilan and fence_bulwark_ipmi.
    Ipmi,
}

impl Device {
    const PDUS: [Device; 3] = [Device::ApcRpdu, Device::ApcMsp, Device::EatonEpdu];
    const ALL: [Device; 5] = [
        Device::ApcRpdu,
        Device::ApcMsp,
        Device::EatonEpdu,
        Device::ApcRpdu2,
        Device::Ipmi,
    ];

    fn model(self) -> &'static str {
        match self {
            Device::ApcRpdu => "apc-rpdu",
            Device::ApcMsp => "apc-masterswitch-plus",
            Device::EatonEpdu => "eaton-epdu",
            Device::ApcRpdu2 => "apc-rpdu2",
            Device::Ipmi => "ipmi_sim",
        }
    }

    fn stock(self) -> &'static str {
        match self {
            Device::ApcRpdu | Device::ApcMsp | Device::ApcRpdu2 => "fence_apc_snmp",
            Device::EatonEpdu => "fence_eaton_snmp",
            Device::Ipmi => "fence_ipmilan",
        }
    }

    fn ours(self) -> &'static str {
        match self {
            Device::Ipmi => "fence_bulwark_ipmi",
            _ => "fence_bulwark_pdu",
        }
    }
}

/// A running simulator: a PDU, or a BMC whose one "outlet" is the chassis power.
enum Sim {
    Pdu(PduSim),
    Bmc(Bmc),
}

impl Sim {
    fn start(device: Device) -> Sim {
        if device == Device::Ipmi {
            return Sim::Bmc(Bmc::start());
        }
        let mut c = SimConfig::new(device.model()).env("PDU_REBOOT_SECONDS", "0.2");
        if device == Device::ApcRpdu2 {
            c = c.env("PDU_OUTLETS", "16").env("PDU_MODULES", "2");
        }
        c.names = (1..=OUTLETS).map(|n| format!("node{n}")).collect();
        for (user, auth, privacy) in [
            ("fence1", "SHA", Some("AES")),
            ("fence2", "MD5", None),
            ("fence3", "SHA-256", Some("AES-256")),
        ] {
            let a = format!("auth-{user}");
            let p = format!("priv-{user}");
            c = c.user(pdu::SimUser::new(
                user,
                Some((auth, a.as_str())),
                privacy.map(|x| (x, p.as_str())),
            ));
        }
        Sim::Pdu(PduSim::start(c))
    }

    fn port(&self) -> u16 {
        match self {
            Sim::Pdu(p) => p.port,
            Sim::Bmc(b) => b.port,
        }
    }

    fn outlets(&self) -> u32 {
        match self {
            Sim::Pdu(p) if p.config.model == "apc-rpdu2" => 16,
            Sim::Pdu(_) => OUTLETS,
            Sim::Bmc(_) => 1,
        }
    }

    fn set_on(&self, outlet: u32, on: bool) {
        match self {
            Sim::Pdu(p) => p.set_state(outlet, if on { "on" } else { "off" }),
            Sim::Bmc(b) => b.set_power(on),
        }
    }

    fn is_off(&self, outlet: u32) -> bool {
        match self {
            Sim::Pdu(p) => p.state(outlet) == "off",
            Sim::Bmc(b) => b.power_on() == Some(false),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Stdin,
    Argv,
}

/// One option set in one form.
#[derive(Debug, Clone)]
struct Case {
    id: String,
    device: Device,
    form: Form,
    /// stdin lines, or argv words. `{port}`, `{pwfile}`, `{badfile}` are filled in per run.
    input: Vec<String>,
    /// Outlets that are off before each agent runs (the others are on).
    initially_off: Vec<u32>,
}

/// What one agent run left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    rc: i32,
    /// Outlets off afterwards.
    off: Vec<u32>,
    /// `list` / `list-status` lines, sorted (None for other actions).
    list: Option<Vec<String>>,
}

impl Outcome {
    fn summary(&self) -> String {
        let mut s = format!("exit {}", self.rc);
        if self.off.is_empty() {
            s.push_str(", all on");
        } else {
            let off: Vec<String> = self.off.iter().map(u32::to_string).collect();
            write!(s, ", off: {}", off.join(" ")).unwrap();
        }
        if let Some(l) = &self.list {
            write!(s, ", list: {}", l.join(" ")).unwrap();
        }
        s
    }
}

// ----------------------------------------------------------------------------------------------
// The option sets.

/// Base options on stdin: address and port of the simulator, and its credentials.
/// Every action from both power states: the cases each device runs side by side.
const ACTION_FROM: [(&str, &str); 8] = [
    ("on", "off"),
    ("on", "on"),
    ("off", "on"),
    ("off", "off"),
    ("reboot", "on"),
    ("reboot", "off"),
    ("status", "on"),
    ("status", "off"),
];

fn stdin_base(device: Device) -> Vec<String> {
    let secret = match device {
        Device::Ipmi => vec!["username=admin".to_string(), "password=pass".into()],
        _ => vec!["community=private".to_string()],
    };
    let mut base = vec!["ip=127.0.0.1".to_string(), "ipport={port}".into()];
    base.extend(secret);
    base
}

/// Base options on the command line. A community or password in argv is readable by every
/// user (/proc/PID/cmdline), so Bulwark refuses it there; both agents take password_script
/// (and the stock SNMP agents default the community to "private"): the same set works for both.
fn argv_base(device: Device) -> Vec<String> {
    let mut base = vec!["--ip=127.0.0.1".to_string(), "--ipport={port}".into()];
    match device {
        Device::Ipmi => {
            base.push("--username=admin".into());
            base.push("--password-script=echo pass".into());
        }
        _ => base.push("--password-script=echo private".into()),
    }
    base
}

/// The base words, left out where the table quotes a case.
const BASE_WORDS: &[&str] = &[
    "ip=127.0.0.1",
    "ipport={port}",
    "community=private",
    "username=admin",
    "password=pass",
    "--ip=127.0.0.1",
    "--ipport={port}",
    "--username=admin",
    "--password-script=echo private",
    "--password-script=echo pass",
];

struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    /// A set given as `name=value` pairs, run on stdin and (when `argv`) on the command line
    /// as `--name=value` (a pair with an empty value becomes a bare `--name` flag).
    fn both(&mut self, id: &str, device: Device, pairs: &[&str], off: &[u32], argv: bool) {
        self.stdin(id, device, pairs, off);
        if argv {
            let words: Vec<String> = pairs
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((k, "")) => format!("--{}", k.replace('_', "-")),
                    Some((k, v)) => format!("--{}={v}", k.replace('_', "-")),
                    None => format!("--{p}"),
                })
                .collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            self.argv(&format!("{id}.argv"), device, &words, off);
        }
    }

    fn stdin(&mut self, id: &str, device: Device, lines: &[&str], off: &[u32]) {
        let mut input = stdin_base(device);
        input.extend(lines.iter().map(|l| l.to_string()));
        self.push(id, device, Form::Stdin, input, off);
    }

    /// Stdin without the base: the case gives everything.
    fn stdin_raw(&mut self, id: &str, device: Device, lines: &[&str], off: &[u32]) {
        let input = lines.iter().map(|l| l.to_string()).collect();
        self.push(id, device, Form::Stdin, input, off);
    }

    fn argv(&mut self, id: &str, device: Device, words: &[&str], off: &[u32]) {
        let mut input = argv_base(device);
        input.extend(words.iter().map(|w| w.to_string()));
        self.push(id, device, Form::Argv, input, off);
    }

    fn argv_raw(&mut self, id: &str, device: Device, words: &[&str], off: &[u32]) {
        let input = words.iter().map(|w| w.to_string()).collect();
        self.push(id, device, Form::Argv, input, off);
    }

    fn push(&mut self, id: &str, device: Device, form: Form, input: Vec<String>, off: &[u32]) {
        assert!(
            self.cases.iter().all(|c| c.id != id),
            "duplicate case id {id}"
        );
        self.cases.push(Case {
            id: id.to_string(),
            device,
            form,
            input,
            initially_off: off.to_vec(),
        });
    }
}

fn cases() -> Vec<Case> {
    use Device::*;
    let mut b = Builder { cases: Vec::new() };

    // Every action on every PDU, from on and from off, on stdin and argv.
    for d in Device::PDUS {
        let m = d.model();
        for (action, from) in ACTION_FROM {
            let off: &[u32] = if from == "off" { &[2] } else { &[] };
            let a = format!("action={action}");
            b.both(
                &format!("{m}.{action}.from-{from}"),
                d,
                &[&a, "plug=2", "power_wait=0"],
                off,
                true,
            );
        }
        for action in ["list", "list-status", "monitor", "validate-all"] {
            let a = format!("action={action}");
            b.both(&format!("{m}.{action}"), d, &[&a], &[3], true);
        }
        b.both(&format!("{m}.metadata"), d, &["action=metadata"], &[], true);
    }

    // Aliases fence-agents accepts.
    b.stdin_raw(
        "alias.ipaddr-option-port",
        ApcRpdu,
        &[
            "ipaddr=127.0.0.1",
            "ipport={port}",
            "community=private",
            "option=off",
            "port=3",
        ],
        &[],
    );
    b.stdin("alias.port", ApcRpdu, &["action=off", "port=4"], &[]);
    b.stdin(
        "alias.nodename-and-plug",
        ApcRpdu,
        &["action=off", "plug=5", "nodename=node5"],
        &[],
    );
    b.stdin(
        "alias.nodename-only",
        ApcRpdu,
        &["action=off", "nodename=node5"],
        &[],
    );
    b.stdin(
        "alias.passwd-script",
        ApcRpdu,
        &["action=off", "plug=2", "passwd_script=echo private"],
        &[],
    );
    b.stdin(
        "alias.dashes-in-names",
        ApcRpdu,
        &["action=off", "plug=2", "power-timeout=10", "snmp-version=1"],
        &[],
    );
    b.argv(
        "alias.short-options",
        ApcRpdu,
        &["-o", "off", "-n", "3"],
        &[],
    );
    b.argv("alias.short-joined", ApcRpdu, &["-ooff", "-n3"], &[]);
    b.argv(
        "alias.long-separate-values",
        ApcRpdu,
        &["--action", "off", "--plug", "3"],
        &[],
    );
    b.argv(
        "alias.plug-port-long",
        ApcRpdu,
        &["--action=off", "--port=3"],
        &[],
    );
    b.argv_raw(
        "alias.argv-no-address",
        ApcRpdu,
        &["--action=status", "--plug=1"],
        &[],
    );

    // Case and spelling variants of actions and choices.
    for (id, line) in [
        ("case.action-OFF", "action=OFF"),
        ("case.action-Off", "action=Off"),
        ("case.action-meta-data", "action=meta-data"),
        ("case.action-disable", "action=disable"),
        ("case.action-enable", "action=enable"),
        ("case.action-bogus", "action=explode"),
    ] {
        b.both(id, ApcRpdu, &[line, "plug=2"], &[], true);
    }
    for (id, line) in [
        ("case.snmp-version-1", "snmp_version=1"),
        ("case.snmp-version-2c", "snmp_version=2c"),
        ("case.snmp-version-2C", "snmp_version=2C"),
        ("case.snmp-version-bogus", "snmp_version=4"),
        ("case.method-cycle", "method=cycle"),
        ("case.method-CYCLE", "method=CYCLE"),
        ("case.method-onoff", "method=onoff"),
        ("case.method-bogus", "method=sideways"),
    ] {
        b.both(id, ApcRpdu, &["action=reboot", "plug=2", line], &[], true);
    }
    b.stdin(
        "case.sec-level-v1-ignored",
        ApcRpdu,
        &["action=off", "plug=2", "snmp_sec_level=authpriv"],
        &[],
    );

    // Booleans in every spelling (stdin: fencing.py takes 1/yes/on/true and 0/no/off/false in
    // any case and ignores anything else with a warning).
    for v in [
        "1", "yes", "on", "true", "TRUE", "Yes", "0", "no", "off", "false", "FALSE", "maybe", "",
    ] {
        let id = format!("bool.verbose-{}", if v.is_empty() { "empty" } else { v });
        let line = format!("verbose={v}");
        b.stdin(&id, ApcRpdu, &["action=off", "plug=2", &line], &[]);
    }
    for v in ["1", "off", "bogus"] {
        let line = format!("quiet={v}");
        b.stdin(
            &format!("bool.quiet-{v}"),
            ApcRpdu,
            &["action=status", "plug=2", &line],
            &[],
        );
    }
    b.argv(
        "bool.argv-flags",
        ApcRpdu,
        &["-o", "off", "-n", "2", "-v", "-q"],
        &[],
    );
    b.argv(
        "bool.argv-stacked-vvv",
        ApcRpdu,
        &["-vvv", "-o", "off", "-n", "2"],
        &[],
    );
    b.argv("bool.argv-help", ApcRpdu, &["-h"], &[]);
    b.argv("bool.argv-version", ApcRpdu, &["--version"], &[]);

    // Unknown and missing options.
    b.stdin(
        "unknown.stdin-ignored",
        ApcRpdu,
        &["action=off", "plug=2", "frobnicate=1"],
        &[],
    );
    b.stdin(
        "unknown.stdin-no-equals",
        ApcRpdu,
        &["action=off", "plug=2", "garbage line"],
        &[],
    );
    b.argv(
        "unknown.argv-refused",
        ApcRpdu,
        &["-o", "off", "-n", "2", "--frobnicate=1"],
        &[],
    );
    b.argv(
        "unknown.argv-stray-word",
        ApcRpdu,
        &["-o", "off", "-n", "2", "stray"],
        &[],
    );
    b.stdin_raw(
        "missing.ip",
        ApcRpdu,
        &["ipport={port}", "community=private", "action=off", "plug=2"],
        &[],
    );
    b.stdin("missing.plug-off", ApcRpdu, &["action=off"], &[]);
    b.stdin("missing.plug-status", ApcRpdu, &["action=status"], &[]);
    b.stdin("missing.action-is-reboot", ApcRpdu, &["plug=2"], &[2]);
    b.stdin_raw(
        "missing.community",
        ApcRpdu,
        &["ip=127.0.0.1", "ipport={port}", "action=off", "plug=2"],
        &[],
    );
    b.stdin_raw("missing.everything", ApcRpdu, &["action=off"], &[]);
    b.stdin("empty.plug", ApcRpdu, &["action=off", "plug="], &[]);

    // Plugs: numbers, names, lists, missing outlets, switch:outlet.
    b.both(
        "plug.by-name",
        ApcRpdu,
        &["action=off", "plug=node3"],
        &[],
        true,
    );
    b.stdin(
        "plug.by-name-case",
        ApcRpdu,
        &["action=off", "plug=NODE3"],
        &[],
    );
    b.stdin(
        "plug.unknown-name",
        ApcRpdu,
        &["action=off", "plug=nosuch"],
        &[],
    );
    b.stdin(
        "plug.missing-outlet-v1",
        ApcRpdu,
        &["action=off", "plug=20", "snmp_version=1"],
        &[],
    );
    b.stdin(
        "plug.missing-outlet-status-v2c",
        ApcRpdu,
        &["action=status", "plug=20", "snmp_version=2c"],
        &[],
    );
    b.stdin(
        "plug.list-of-two",
        ApcRpdu,
        &["action=off", "plug=2,3"],
        &[],
    );
    b.stdin(
        "plug.list-separator",
        ApcRpdu,
        &["action=off", "plug=2+3", "plug_separator=+"],
        &[],
    );
    b.stdin("plug.zero", ApcRpdu, &["action=off", "plug=0"], &[]);
    b.stdin(
        "plug.with-spaces",
        ApcRpdu,
        &["action=off", "plug= 2 "],
        &[],
    );
    b.both(
        "switch.msp-colon",
        ApcMsp,
        &["action=off", "plug=1:3"],
        &[],
        true,
    );
    b.stdin(
        "switch.msp-colon-status",
        ApcMsp,
        &["action=status", "plug=1:3"],
        &[3],
    );
    b.stdin(
        "switch.msp-switch-1",
        ApcMsp,
        &["action=off", "plug=3", "switch=1"],
        &[],
    );
    b.stdin(
        "switch.msp-plug-only",
        ApcMsp,
        &["action=off", "plug=3"],
        &[],
    );
    b.stdin(
        "switch.msp-by-name",
        ApcMsp,
        &["action=off", "plug=node3"],
        &[],
    );
    b.stdin(
        "switch.msp-missing-switch",
        ApcMsp,
        &["action=off", "plug=2:3"],
        &[],
    );
    b.stdin(
        "switch.rpdu-colon-2",
        ApcRpdu,
        &["action=off", "plug=2:5"],
        &[],
    );
    b.stdin(
        "switch.rpdu-colon-1",
        ApcRpdu,
        &["action=off", "plug=1:5"],
        &[],
    );
    b.stdin(
        "switch.rpdu-switch-2",
        ApcRpdu,
        &["action=off", "plug=5", "switch=2"],
        &[],
    );
    b.stdin(
        "switch.eaton-colon-2",
        EatonEpdu,
        &["action=off", "plug=2:5"],
        &[],
    );

    // Passwords and communities from every source.
    b.stdin(
        "secret.community-quoted",
        ApcRpdu,
        &["action=off", "plug=2", "community=\"private\""],
        &[],
    );
    b.stdin_raw(
        "secret.community-wrong",
        ApcRpdu,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "community=nope",
            "action=status",
            "plug=2",
            "login_timeout=1",
            "power_timeout=2",
        ],
        &[],
    );
    b.stdin_raw(
        "secret.password-script-only",
        ApcRpdu,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "password_script=echo private",
            "action=off",
            "plug=2",
        ],
        &[],
    );
    b.stdin_raw(
        "secret.password-script-trailing-blanks",
        ApcRpdu,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "community=private",
            "password_script=printf 'x  \\n'",
            "action=off",
            "plug=2",
        ],
        &[],
    );
    b.stdin_raw(
        "secret.password-file",
        ApcRpdu,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "password_file={pwfile}",
            "action=off",
            "plug=2",
        ],
        &[],
    );
    b.stdin_raw(
        "secret.password-file-missing",
        ApcRpdu,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "community=private",
            "password_file={badfile}",
            "action=off",
            "plug=2",
        ],
        &[],
    );
    b.stdin_raw(
        "secret.password-stdin-only",
        ApcRpdu,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "password=private",
            "action=off",
            "plug=2",
        ],
        &[],
    );
    b.argv_raw(
        "secret.community-in-argv",
        ApcRpdu,
        &[
            "--ip=127.0.0.1",
            "--ipport={port}",
            "-c",
            "private",
            "-o",
            "off",
            "-n",
            "2",
        ],
        &[],
    );
    b.argv_raw(
        "secret.no-community-argv",
        ApcRpdu,
        &["--ip=127.0.0.1", "--ipport={port}", "-o", "off", "-n", "2"],
        &[],
    );

    // SNMPv3 with the choice spellings of fencing.py (upper-cased before comparing) and of
    // net-snmp's tools.
    for (id, user, lines) in [
        (
            "v3.sha-aes-lowercase",
            "fence1",
            &[
                "snmp_auth_prot=sha",
                "snmp_sec_level=authpriv",
                "snmp_priv_prot=aes",
            ][..],
        ),
        (
            "v3.SHA-AES-uppercase",
            "fence1",
            &[
                "snmp_auth_prot=SHA",
                "snmp_sec_level=AUTHPRIV",
                "snmp_priv_prot=AES",
            ],
        ),
        (
            "v3.md5-authnopriv",
            "fence2",
            &["snmp_auth_prot=md5", "snmp_sec_level=authnopriv"],
        ),
        (
            "v3.sha256-aes256",
            "fence3",
            &[
                "snmp_auth_prot=SHA256",
                "snmp_sec_level=authPriv",
                "snmp_priv_prot=AES256",
            ],
        ),
        (
            "v3.sha-256-aes-256",
            "fence3",
            &[
                "snmp_auth_prot=SHA-256",
                "snmp_sec_level=authPriv",
                "snmp_priv_prot=AES-256",
            ],
        ),
        (
            "v3.auth-prot-bogus",
            "fence1",
            &[
                "snmp_auth_prot=SHA3",
                "snmp_sec_level=authPriv",
                "snmp_priv_prot=AES",
            ],
        ),
    ] {
        let mut all = vec![
            "action=off".to_string(),
            "plug=2".into(),
            "snmp_version=3".into(),
            format!("login={user}"),
            format!("password=auth-{user}"),
            format!("snmp_priv_passwd=priv-{user}"),
        ];
        all.extend(lines.iter().map(|l| l.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        b.stdin(id, ApcRpdu, &all, &[]);
    }

    // Linked rPDU2 units, which the stock agent does not know (it falls back to MasterSwitch
    // OIDs the PDU does not have).
    for (id, lines, off) in [
        (
            "rpdu2.status-v1",
            &["action=status", "plug=5", "snmp_version=1"][..],
            &[][..],
        ),
        (
            "rpdu2.status-v2c-off",
            &["action=status", "plug=5", "snmp_version=2c"],
            &[][..],
        ),
        (
            "rpdu2.off-v2c",
            &["action=off", "plug=5", "snmp_version=2c"],
            &[],
        ),
        (
            "rpdu2.off-v1",
            &["action=off", "plug=5", "snmp_version=1"],
            &[],
        ),
        (
            "rpdu2.on-v2c",
            &["action=on", "plug=5", "snmp_version=2c"],
            &[5],
        ),
        (
            "rpdu2.off-unit-2",
            &["action=off", "plug=2:5", "snmp_version=2c"],
            &[],
        ),
        ("rpdu2.list", &["action=list", "snmp_version=2c"], &[]),
    ] {
        b.stdin(id, ApcRpdu2, lines, off);
    }

    // IPMI: fence_ipmilan and fence_bulwark_ipmi against ipmi_sim.
    for (action, from) in ACTION_FROM {
        let off: &[u32] = if from == "off" { &[1] } else { &[] };
        let a = format!("action={action}");
        b.both(
            &format!("ipmi.{action}.from-{from}"),
            Ipmi,
            &[&a, "power_wait=0"],
            off,
            true,
        );
    }
    for action in ["monitor", "metadata", "validate-all", "list", "list-status"] {
        let a = format!("action={action}");
        b.both(&format!("ipmi.{action}"), Ipmi, &[&a], &[], true);
    }
    for (id, lines) in [
        // cipher=3: without it ipmitool probes cipher suites, which stalls ~45 s on ipmi_sim
        (
            "ipmi.lanplus-1",
            &["action=off", "lanplus=1", "cipher=3"][..],
        ),
        (
            "ipmi.lanplus-true",
            &["action=off", "lanplus=true", "cipher=3"],
        ),
        ("ipmi.lanplus-on", &["action=off", "lanplus=on", "cipher=3"]),
        ("ipmi.lanplus-0", &["action=off", "lanplus=0"]),
        ("ipmi.lanplus-bogus", &["action=off", "lanplus=perhaps"]),
        ("ipmi.cipher-3", &["action=off", "lanplus=1", "cipher=3"]),
        (
            "ipmi.privlvl-ADMINISTRATOR",
            &["action=off", "privlvl=ADMINISTRATOR"],
        ),
        ("ipmi.privlvl-operator", &["action=off", "privlvl=operator"]),
        ("ipmi.privlvl-bogus", &["action=off", "privlvl=root"]),
        ("ipmi.method-cycle", &["action=reboot", "method=cycle"]),
        ("ipmi.method-CYCLE", &["action=reboot", "method=CYCLE"]),
        (
            "ipmi.plug-ignored",
            &["action=off", "plug=node2", "nodename=node2"],
        ),
        ("ipmi.verbose", &["action=status", "verbose=1"]),
        ("ipmi.unknown-option", &["action=off", "frobnicate=1"]),
        ("ipmi.power-timeout", &["action=reboot", "power_timeout=10"]),
    ] {
        b.stdin(id, Ipmi, lines, &[]);
    }
    b.stdin_raw(
        "ipmi.aliases-ipaddr-login-passwd",
        Ipmi,
        &[
            "ipaddr=127.0.0.1",
            "ipport={port}",
            "login=admin",
            "passwd=pass",
            "action=off",
        ],
        &[],
    );
    b.stdin_raw(
        "ipmi.wrong-password",
        Ipmi,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "username=admin",
            "password=nope",
            "action=off",
            "login_timeout=2",
            "power_timeout=4",
        ],
        &[],
    );
    b.stdin_raw(
        "ipmi.missing-username",
        Ipmi,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "password=pass",
            "action=off",
        ],
        &[],
    );
    b.stdin_raw(
        "ipmi.password-script",
        Ipmi,
        &[
            "ip=127.0.0.1",
            "ipport={port}",
            "username=admin",
            "password_script=echo pass",
            "action=off",
        ],
        &[],
    );
    b.argv(
        "ipmi.argv-short",
        Ipmi,
        &["-o", "off", "-P", "-C", "3"],
        &[],
    );
    b.argv("ipmi.argv-vvv", Ipmi, &["-vvv", "-o", "status"], &[]);

    // Timing and behaviour options.
    for (id, line) in [
        ("timing.power-timeout", "power_timeout=10"),
        ("timing.power-wait", "power_wait=0.5"),
        ("timing.delay", "delay=1"),
        ("timing.login-timeout", "login_timeout=3"),
        ("timing.retry-on", "retry_on=3"),
        ("timing.stonith-status-sleep", "stonith_status_sleep=0.1"),
        ("timing.power-timeout-bogus", "power_timeout=soon"),
        ("timing.shell-timeout", "shell_timeout=5"),
        ("timing.disable-timeout", "disable_timeout=1"),
        ("timing.verbose-level", "verbose_level=2"),
        ("timing.debug-file", "debug_file=/dev/null"),
        ("timing.separator", "separator=,"),
        ("timing.snmpget-path", "snmpget_path=/usr/bin/snmpget"),
    ] {
        b.both(id, ApcRpdu, &["action=reboot", "plug=2", line], &[], true);
    }
    b.cases
}

/// The differences kept on purpose, by case id, with the reason an admin gets for each.
const DELIBERATE: &[(&str, &str)] = &[
    // list-status
    ("apc-rpdu.list-status", LIST_STATUS),
    ("apc-rpdu.list-status.argv", LIST_STATUS),
    ("apc-masterswitch-plus.list-status", LIST_STATUS_MSP),
    ("apc-masterswitch-plus.list-status.argv", LIST_STATUS_MSP),
    ("eaton-epdu.list-status", LIST_EATON),
    ("eaton-epdu.list-status.argv", LIST_EATON),
    ("apc-masterswitch-plus.list", LIST_MSP),
    ("apc-masterswitch-plus.list.argv", LIST_MSP),
    ("eaton-epdu.list", LIST_EATON),
    ("eaton-epdu.list.argv", LIST_EATON),
    // validate-all
    ("apc-rpdu.validate-all", VALIDATE),
    ("apc-rpdu.validate-all.argv", VALIDATE),
    ("apc-masterswitch-plus.validate-all", VALIDATE),
    ("apc-masterswitch-plus.validate-all.argv", VALIDATE),
    ("eaton-epdu.validate-all", VALIDATE),
    ("eaton-epdu.validate-all.argv", VALIDATE),
    // names
    ("alias.ipaddr-option-port", "`option` is fence-agents' old name for `action`, still found in old cluster configurations; the stock agent now ignores it with a warning and runs its default action (reboot), which is not what the line asks for. Bulwark honours it."),
    ("alias.plug-port-long", "`port` is the documented alias of `plug`; Bulwark takes every alias on the command line as well as on stdin, the stock agent only the main long name."),
    ("case.method-cycle.argv", METHOD),
    ("case.method-CYCLE.argv", METHOD),
    ("case.method-onoff.argv", METHOD),
    ("case.method-bogus", "fence_apc_snmp has no `method` parameter and ignores the line; Bulwark has one, and a value it cannot honour is refused with a reason rather than replaced by a default."),
    ("unknown.argv-stray-word", "A word that is no option is bad input: Bulwark refuses the command line with one line (the stock agent warns and goes on), so a mistyped command never switches an outlet."),
    // secrets
    ("missing.community", COMMUNITY),
    ("secret.no-community-argv", COMMUNITY),
    ("secret.community-in-argv", "A community on the command line is readable by every local user in /proc/PID/cmdline: Bulwark refuses it there (stdin, password_file or password_script instead)."),
    // plugs
    ("plug.by-name-case", "A name that matches no outlet exactly but exactly one outlet ignoring case is taken (PDU web UIs often change the case); two such outlets are refused as ambiguous. The stock agent compares exactly and fails."),
    ("plug.missing-outlet-status-v2c", "With SNMP v2c the stock agent reads `noSuchInstance` for an outlet the PDU does not have as \"off\" (exit 2): a fence that would pass without cutting any power. Bulwark names the missing outlet and fails."),
    ("plug.list-of-two", PLUG_LIST),
    ("plug.list-separator", PLUG_LIST),
    ("plug.with-spaces", "White space around a value is not part of it: Bulwark trims ` 2 ` to outlet 2; the stock agent looks for an outlet named ` 2` and fails."),
    ("switch.rpdu-colon-2", SWITCH),
    ("switch.rpdu-switch-2", SWITCH),
    ("rpdu2.status-v1", RPDU2),
    ("rpdu2.status-v2c-off", RPDU2),
    ("rpdu2.off-v1", RPDU2),
    ("rpdu2.off-v2c", "The stock agent does not know the rPDU2 and guesses MasterSwitch OIDs; with SNMP v2c it reads the missing object as \"off\" and reports a fence that cut no power (exit 0, outlet still on). Bulwark recognises the rPDU2 by its sysObjectID (an unknown one is refused, never guessed) and switches the outlet off."),
    ("rpdu2.on-v2c", RPDU2),
    ("rpdu2.off-unit-2", "Linked rPDU2 units: Bulwark resolves unit 2's outlet 5 through the Module and Number columns (table row 13) and switches exactly it; the stock agent, guessing MasterSwitch OIDs, reports success and switches nothing."),
    ("rpdu2.list", "The stock agent lists the error text of the MasterSwitch OID it guessed; Bulwark lists the rPDU2's outlets with their names."),
    ("ipmi.missing-username", NULL_USER),
    ("ipmi.list", LIST_SINGLE),
    ("ipmi.list.argv", LIST_SINGLE),
    ("ipmi.list-status", LIST_SINGLE),
    ("ipmi.list-status.argv", LIST_SINGLE),
    // v3 spellings
    ("v3.sha256-aes256", V3_SHA2),
    ("v3.sha-256-aes-256", V3_SHA2),
    // timing
    ("timing.power-wait", FRACTION),
    ("timing.power-wait.argv", FRACTION),
    ("timing.stonith-status-sleep", FRACTION),
    ("timing.stonith-status-sleep.argv", FRACTION),
];

const LIST_STATUS: &str = "The stock agent prints UNKNOWN for every outlet (it never reads the state for list-status); Bulwark reads the outlet states and prints ON/OFF.";
const LIST_STATUS_MSP: &str = "As for list: outlet ids without the `switch:` prefix; and as for list-status: ON/OFF read from the PDU where the stock agent prints UNKNOWN.";
const LIST_MSP: &str = "Outlet ids are the outlet number on the unit in use (`switch`, default 1), as `plug` takes them; the stock agent prints `switch:outlet`. Bulwark accepts both forms as `plug`.";
const LIST_EATON: &str = "The stock agent lists the 0-based table's cells as outlet names (outlet 1 named \"2\") and no states; Bulwark lists outlet numbers (this ePDU has no name column) and reads ON/OFF.";
const RPDU2: &str = "The stock agent does not know the rPDU2 (sysObjectID .318.1.3.4.6) and guesses MasterSwitch v6 OIDs the PDU does not have: it fails, or with v2c reads the missing object as \"off\". Bulwark recognises the model (an unknown sysObjectID is refused, never guessed) and reads and switches the outlet.";
const LIST_SINGLE: &str = "A BMC has no outlets: both agents answer list and list-status with exit 0 without contacting it, but fence_ipmilan prints a NOTICE line, which anything that reads the output as a list of plugs (pacemaker-fenced's dynamic list, scripts) takes for a host name; Bulwark prints no line.";
const NULL_USER: &str = "Both agents' metadata make the username optional (IPMI's null user, user 1), and this ipmi_sim has the null user enabled with the password given: Bulwark logs in as it and switches. fence_ipmilan exits 1 against the same BMC without switching.";
const VALIDATE: &str = "validate-all checks the device configuration, which needs no target: Pacemaker validates a fencing device without a plug. The stock agent insists on a plug and fails.";
const METHOD: &str = "fence_apc_snmp has no `method` option and refuses it on the command line; Bulwark offers method=onoff (default) and method=cycle, case-insensitively.";
const COMMUNITY: &str = "No default community: the stock default \"private\" is a published secret, and a forgotten community should fail at once, not switch with a guessed credential. Give it on stdin, in password_file or through password_script.";
const PLUG_LIST: &str = "Several outlets in `plug` are all switched off and read back off before any is switched on. The stock agent resolves the first outlet once and switches it for every entry, leaving the others on while reporting success.";
const SWITCH: &str = "This PDU has a single unit. The stock agent ignores the switch number and switches unit 1's outlet; Bulwark refuses a unit other than 1 on such models, so the wrong machine is never switched.";
const V3_SHA2: &str = "The stock agent accepts only MD5/SHA and DES/AES; Bulwark speaks SHA-2 and AES-192/256 as net-snmp names them (SHA256, SHA-256, AES256, AES-256 …).";
const FRACTION: &str = "Seconds may be fractional (metadata type `second`): the stock agent passes them to int() and fails the reboot; Bulwark takes the fraction.";

// ----------------------------------------------------------------------------------------------
// Running.

struct Files {
    pwfile: PathBuf,
    badfile: PathBuf,
}

fn fill(word: &str, sim: &Sim, files: &Files) -> String {
    word.replace("{port}", &sim.port().to_string())
        .replace("{pwfile}", &files.pwfile.to_string_lossy())
        .replace("{badfile}", &files.badfile.to_string_lossy())
}

fn list_lines(stdout: &str) -> Vec<String> {
    let mut l: Vec<String> = stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    l.sort();
    l
}

fn run_one(program: &Path, case: &Case, sim: &Sim, files: &Files) -> Outcome {
    for n in 1..=sim.outlets() {
        sim.set_on(n, !case.initially_off.contains(&n));
    }
    let mut cmd = Command::new(program);
    // As run by hand: with PCMK_service=pacemaker-fenced fencing.py would drop its timeouts.
    cmd.env_remove("PCMK_service");
    let input: Vec<String> = case.input.iter().map(|w| fill(w, sim, files)).collect();
    let stdin = match case.form {
        Form::Stdin => {
            let mut text = input.join("\n");
            text.push('\n');
            Some(text)
        }
        Form::Argv => {
            cmd.args(&input);
            None
        }
    };
    let started = Instant::now();
    let out = bulwark::process::run_with_input(
        &mut cmd,
        stdin.as_deref().map(str::as_bytes),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    if started.elapsed() > Duration::from_secs(4) {
        eprintln!(
            "slow: {} {} {:.1} s",
            case.id,
            program.display(),
            started.elapsed().as_secs_f64()
        );
    }
    // A device-run reboot (method=cycle) finishes after the agent (ipmi_sim powers on about a
    // second after the cycle command): let it, up to 3 s.
    if case
        .input
        .iter()
        .any(|w| w.to_ascii_lowercase().contains("cycle"))
    {
        support::wait_for(Duration::from_secs(3), || {
            (1..=sim.outlets()).all(|n| !sim.is_off(n))
        });
    }
    let off = (1..=sim.outlets()).filter(|n| sim.is_off(*n)).collect();
    let is_list = case.input.iter().any(|w| {
        let w = w.to_ascii_lowercase();
        w.ends_with("action=list") || w.ends_with("action=list-status")
    });
    Outcome {
        rc: out.code().unwrap_or(-1),
        off,
        list: is_list.then(|| list_lines(&out.stdout_str())),
    }
}

struct Row {
    case: Case,
    stock: Outcome,
    ours: Outcome,
}

fn quote(case: &Case) -> String {
    let shown: Vec<String> = case
        .input
        .iter()
        .filter(|w| !BASE_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    let joined = match case.form {
        Form::Stdin => shown.join("; "),
        Form::Argv => shown.join(" "),
    };
    joined.replace('|', "\\|")
}

fn render(rows: &[Row], total: usize) -> String {
    let reasons: BTreeMap<&str, &str> = DELIBERATE.iter().copied().collect();
    let mut s = String::new();
    s.push_str("# Bulwark's fence agents and the stock fence-agents: every difference\n\n");
    s.push_str("Generated by `tests/fence_differential.rs` (do not edit; `BULWARK_WRITE_DOCS=1 cargo test --test fence_differential` rewrites it). ");
    write!(
        s,
        "The suite runs {total} option sets, on standard input (as pacemaker-fenced passes them) and on the command line, through the stock agent and through Bulwark's against the same simulated device: `fence_apc_snmp` / `fence_eaton_snmp` and `fence_bulwark_pdu` against net-snmp `snmpd` playing a PDU's outlet tables, `fence_ipmilan` and `fence_bulwark_ipmi` against OpenIPMI's `ipmi_sim`. It compares the exit code, which outlets are off (or whether the chassis is off) afterwards, and the list output. Base options, not repeated below: the simulator's address and port, and `community=private` (PDU) or `username=admin`, `password=pass` (BMC) on stdin, `--password-script='echo private'` / `--username=admin --password-script='echo pass'` on the command line. Each row is a difference, kept on purpose for the reason given; any other difference fails the suite.\n\n"
    )
    .unwrap();
    s.push_str("| Case | Device | Options | Stock agent | fence_bulwark_pdu | Why |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    for r in rows {
        writeln!(
            s,
            "| `{}` | {} | `{}` | {} | {} | {} |",
            r.case.id,
            r.case.device.model(),
            quote(&r.case),
            r.stock.summary(),
            r.ours.summary(),
            reasons
                .get(r.case.id.as_str())
                .copied()
                .unwrap_or("**UNDOCUMENTED**")
        )
        .unwrap();
    }
    s
}

#[test]
fn stock_and_bulwark_agree_or_differ_for_a_documented_reason() {
    let started = Instant::now();
    let all = cases();
    assert!(all.len() >= 100, "only {} option sets", all.len());
    for d in Device::ALL {
        assert!(
            Path::new("/usr/sbin").join(d.stock()).exists(),
            "{} not installed (apt-get install fence-agents)",
            d.stock()
        );
    }
    let work = std::env::temp_dir().join(format!("bulwark-diff-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let files = Files {
        pwfile: work.join("pw"),
        badfile: work.join("no-such-file"),
    };
    std::fs::write(&files.pwfile, "private\nsecond line\n").unwrap();

    // Runs mostly wait on device timeouts: more workers than cores pay off.
    let workers = 8;
    let queue = Mutex::new(all.clone().into_iter().enumerate().collect::<Vec<_>>());
    let results: Mutex<Vec<(usize, Outcome, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut sims: BTreeMap<Device, Sim> = BTreeMap::new();
                loop {
                    let Some((i, case)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let sim = sims
                        .entry(case.device)
                        .or_insert_with(|| Sim::start(case.device));
                    let stock = run_one(
                        &Path::new("/usr/sbin").join(case.device.stock()),
                        &case,
                        sim,
                        &files,
                    );
                    let mine = run_one(
                        &support::workspace_bin(case.device.ours()),
                        &case,
                        sim,
                        &files,
                    );
                    results.lock().unwrap().push((i, stock, mine));
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&work);

    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _, _)| *i);
    let mut rows = Vec::new();
    for (i, stock, mine) in results {
        if stock != mine {
            rows.push(Row {
                case: all[i].clone(),
                stock,
                ours: mine,
            });
        }
    }
    let differing: BTreeSet<&str> = rows.iter().map(|r| r.case.id.as_str()).collect();
    let documented: BTreeSet<&str> = DELIBERATE.iter().map(|(id, _)| *id).collect();
    let doc = render(&rows, all.len());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fence-differences.md");
    if std::env::var_os("BULWARK_WRITE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &doc).unwrap();
    }
    eprintln!(
        "{} option sets, {} differences, {:.1} s",
        all.len(),
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let undocumented: Vec<&&str> = differing.difference(&documented).collect();
    let stale: Vec<&&str> = documented.difference(&differing).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "undocumented differences: {undocumented:?}\ndocumented but gone: {stale:?}\n\n{doc}"
    );
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "{} is not what this run produced; rerun with BULWARK_WRITE_DOCS=1\n\n{doc}",
        path.display()
    );
}
