//! fence_redfish (fence-agents, installed) and fence_bulwark_redfish side by side on the same
//! sushy-tools emulator and the same inputs. Every scenario's verdicts (exit code and the
//! power state of every system afterwards) are compared; the test writes the comparison to
//! docs/redfish-differences.md, and a scenario where the verdicts differ must have its
//! reason in [`KNOWN`] — an undocumented difference fails the test, and so does a reason
//! left for a difference that went away.

mod support;

use support::redfish;

use redfish::{run_agent, Emulator, FakeSystem, Run};
use std::path::Path;

const STOCK: &str = "/usr/sbin/fence_redfish";

/// Why the verdicts differ, per scenario: each is a fix of ours or a deliberate choice.
const KNOWN: &[(&str, &str)] = &[
    ("two systems, off, no plug", "fence_redfish silently acts on the last member of the Systems collection; which machine that is depends on the BMC's ordering. We refuse and list the members (set plug or systems_uri): switching off a guessed machine is the one thing a fence agent must never do."),
    ("two systems, status, no plug", "Same cause: fence_redfish reports the last member's state as the node's. We refuse and list the members."),
    ("PowerState PoweringOff, status", "fence_redfish takes anything but \"Off\" as on. A transition is not a verdict: we poll until On or Off and fail if the state never settles within power_timeout."),
    ("diag", "fence_redfish's diag POSTs ResetType Nmi and does not check the reply: the emulator answers HTTP 501 (not supported) and fence_redfish still reports success. Ours has no diag action (an NMI is not fencing) and says so; every POST of ours has its status checked."),
    ("one system, plug = the node name, off", "pacemaker-fenced passes the target's node name as plug unless told otherwise. fence_redfish ignores plug (without port_as_ip) and switches whatever system it finds; ours selects the system by plug and refuses a plug that names none, listing the systems. A configuration moved from fence_redfish by changing the agent name needs pcmk_host_map=node:SystemId (or pcmk_host_argument=none for a BMC with one system), as crm-examples/redfish shows; until then fencing fails loudly instead of possibly switching the wrong machine."),
    ("PowerState PoweringOff, off", "fence_redfish sends ForceOff to a machine in transition, then times out waiting (the emulator applied the ForceOff). We poll the unsettled reading and fail without commanding a machine whose state we could not read; both exit 1."),
];

/// Same verdicts, different explanation: why ours says it the way it does (not required).
const NOTES: &[(&str, &str)] = &[
    ("wrong password, status", "fence_redfish prints a Python traceback; ours names the cause and the HTTP status."),
    ("untrusted certificate, no trust option", "Both refuse an unknown issuer. Ours can trust a CA file or the BMC's own certificate (ssl_ca_file); fence_redfish only the system store or nothing."),
    ("ForceOff not allowed, off", "fence_redfish sends ForceOff without reading ResetType@Redfish.AllowableValues and times out; ours refuses before sending anything and names the allowed values (never a graceful shutdown)."),
    ("reset answered 409, off", "fence_redfish ignores the POST's status and times out waiting; ours fails at once with the BMC's @Message.ExtendedInfo text."),
    ("reset acknowledged but ignored, off", "Both fail; neither reports success for a machine that still reads On."),
    ("PowerState null, status", "Both fail; ours polls within power_timeout before giving up, in case the BMC is between states."),
    ("PowerState null, off", "Both fail without switching; ours polls within power_timeout first."),
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    code: i32,
    after: Vec<String>,
}

struct Outcome {
    verdict: Verdict,
    line: String,
}

fn first_line(r: &Run) -> String {
    let text = if r.out.trim().is_empty() {
        &r.err
    } else {
        &r.out
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    stable(&line).replace('|', "\\|")
}

/// The line without what changes from run to run (fence-agents' log timestamp, measured
/// seconds, ports), so the generated table changes only when behaviour does.
fn stable(line: &str) -> String {
    let mut l = line.to_string();
    if l.len() > 24 && l.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        if let Some(i) = l.find(" ERROR: ") {
            l = l[i + 1..].to_string();
        }
    }
    let words: Vec<String> = l
        .split(' ')
        .map(|w| {
            if w.parse::<f64>().is_ok() && w.contains('.') {
                "N".to_string()
            } else if let Some(i) = w.find("127.0.0.1:") {
                format!(
                    "{}127.0.0.1:PORT{}",
                    &w[..i],
                    w[i + 10..].trim_start_matches(|c: char| c.is_ascii_digit())
                )
            } else if let Some(rest) = w.strip_prefix("port=") {
                format!(
                    "port=PORT{}",
                    rest.trim_start_matches(|c: char| c.is_ascii_digit())
                )
            } else {
                w.to_string()
            }
        })
        .collect();
    words.join(" ")
}

struct Scenario {
    name: &'static str,
    two: bool,
    on: bool,
    faults: &'static [&'static str],
    action: &'static str,
    /// Give both agents the system (ours: plug = the Name; fence_redfish: systems_uri).
    select: bool,
    /// Both agents trust nothing special (no ssl_ca_file, no ssl_insecure).
    no_trust: bool,
    wrong_password: bool,
    /// `plug` given to both agents as pacemaker-fenced passes it by default: the node name.
    node_name_plug: bool,
}

const fn sc(name: &'static str, action: &'static str) -> Scenario {
    Scenario {
        name,
        two: false,
        on: true,
        faults: &[],
        action,
        select: false,
        no_trust: false,
        wrong_password: false,
        node_name_plug: false,
    }
}

fn scenarios() -> Vec<Scenario> {
    vec![
        sc("one system on, status", "status"),
        Scenario {
            on: false,
            ..sc("one system off, status", "status")
        },
        sc("one system on, off", "off"),
        Scenario {
            on: false,
            ..sc("one system off, on", "on")
        },
        sc("one system on, reboot", "reboot"),
        Scenario {
            on: false,
            ..sc("one system off, off", "off")
        },
        Scenario {
            select: true,
            ..sc("one system, off by systems_uri / plug", "off")
        },
        Scenario {
            two: true,
            ..sc("two systems, status, no plug", "status")
        },
        Scenario {
            two: true,
            ..sc("two systems, off, no plug", "off")
        },
        Scenario {
            two: true,
            select: true,
            ..sc("two systems, off, selected", "off")
        },
        Scenario {
            node_name_plug: true,
            ..sc("one system, plug = the node name, off", "off")
        },
        Scenario {
            wrong_password: true,
            ..sc("wrong password, status", "status")
        },
        Scenario {
            no_trust: true,
            ..sc("untrusted certificate, no trust option", "status")
        },
        Scenario {
            faults: &["sessions"],
            ..sc("SessionService offered, off", "off")
        },
        Scenario {
            faults: &["task202"],
            ..sc("202 with task monitor, off", "off")
        },
        Scenario {
            faults: &["no_forceoff"],
            ..sc("ForceOff not allowed, off", "off")
        },
        Scenario {
            faults: &["reject_reset"],
            ..sc("reset answered 409, off", "off")
        },
        Scenario {
            faults: &["stuck"],
            ..sc("reset acknowledged but ignored, off", "off")
        },
        Scenario {
            faults: &["state_poweringoff"],
            ..sc("PowerState PoweringOff, status", "status")
        },
        Scenario {
            faults: &["state_null"],
            ..sc("PowerState null, status", "status")
        },
        Scenario {
            faults: &["state_poweringoff"],
            ..sc("PowerState PoweringOff, off", "off")
        },
        Scenario {
            faults: &["state_null"],
            ..sc("PowerState null, off", "off")
        },
        sc("diag", "diag"),
    ]
}

fn run_one(emu: &Emulator, s: &Scenario, stock: bool) -> Outcome {
    for (i, sys) in emu.systems.iter().enumerate() {
        emu.set_faults(&[]);
        emu.set_power(sys, if i == 0 && s.two { true } else { s.on });
    }
    emu.set_faults(s.faults);
    let target = emu.systems.last().unwrap();
    let password = if s.wrong_password {
        "wrong-password".to_string()
    } else {
        emu.password.clone()
    };
    let mut o: Vec<(&str, String)> = vec![
        ("action", s.action.to_string()),
        ("username", emu.user.clone()),
        ("password", password),
        ("power_timeout", "3".into()),
    ];
    if s.node_name_plug {
        o.push(("plug", "node2".into()));
    }
    let r = if stock {
        o.push(("ip", emu.host.clone()));
        o.push(("ipport", emu.port.to_string()));
        o.push(("power_wait", "0".into()));
        if !s.no_trust {
            o.push(("ssl_insecure", "1".into()));
        }
        if s.select {
            o.push((
                "systems_uri",
                format!("/redfish/v1/Systems/{}", target.uuid),
            ));
        }
        run_agent(Path::new(STOCK), &o)
    } else {
        o.push(("ip", emu.address()));
        if !s.no_trust {
            o.push(("ssl_ca_file", emu.pki.ca().to_string_lossy().into_owned()));
        }
        if s.select {
            o.push(("plug", target.name.clone()));
        }
        run_agent(&support::workspace_bin("fence_bulwark_redfish"), &o)
    };
    emu.set_faults(&[]);
    // Let any pending change land (the emulator applies power changes after 1 s).
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let after = emu.systems.iter().map(|x| emu.power_state(x)).collect();
    Outcome {
        verdict: Verdict {
            code: r.code,
            after,
        },
        line: first_line(&r),
    }
}

fn cell(o: &Outcome) -> String {
    format!(
        "exit {}, after: {} — `{}`",
        o.verdict.code,
        o.verdict.after.join("/"),
        o.line
    )
}

#[test]
fn fence_redfish_side_by_side() {
    assert!(
        Path::new(STOCK).is_file(),
        "{STOCK} missing: apt-get install fence-agents"
    );
    let one = Emulator::start(&[FakeSystem::new(1, "node-a", true)]);
    let two = Emulator::start(&[
        FakeSystem::new(1, "node-a", true),
        FakeSystem::new(2, "node-b", true),
    ]);
    let names: Vec<&str> = scenarios().iter().map(|s| s.name).collect();
    for (n, _) in KNOWN.iter().chain(NOTES) {
        assert!(
            names.contains(n),
            "a reason for a scenario that does not exist: {n}"
        );
    }
    let mut rows = Vec::new();
    let mut undocumented = Vec::new();
    let mut stale = Vec::new();
    for s in scenarios() {
        let emu = if s.two { &two } else { &one };
        let theirs = run_one(emu, &s, true);
        let ours = run_one(emu, &s, false);
        let known = KNOWN.iter().find(|(n, _)| *n == s.name).map(|(_, r)| *r);
        let note = NOTES.iter().find(|(n, _)| *n == s.name).map(|(_, r)| *r);
        let same = theirs.verdict == ours.verdict;
        match (same, known) {
            (false, None) => undocumented.push(format!(
                "{}: fence_redfish {:?} `{}`, ours {:?} `{}`",
                s.name, theirs.verdict, theirs.line, ours.verdict, ours.line
            )),
            (true, Some(_)) => stale.push(s.name),
            _ => {}
        }
        rows.push(format!(
            "| {} | {} | {} | {} | {} |",
            s.name,
            cell(&theirs),
            cell(&ours),
            if same { "same" } else { "differs" },
            known.or(note).unwrap_or("")
        ));
    }
    let doc = format!(
        "# fence_bulwark_redfish and fence_redfish, side by side\n\n\
         Generated by `cargo test --test redfish_crosscheck` (do not edit): both agents run on \
         the same sushy-tools emulator (fake driver, HTTPS) with the same inputs on standard \
         input; a verdict is the exit code and every system's PowerState afterwards (read with \
         curl). The fault rows use the middleware of tests/fixtures/redfish/emulator.py, which \
         fence_redfish and curl accept first (tests/redfish_sushy.rs). fence_redfish gets \
         ssl_insecure=1 and ours the test CA, except in the certificate row. A row whose \
         verdicts differ needs a reason here, or the test fails.\n\n\
         Differences that no verdict shows, by design: ours logs in through the SessionService \
         when there is one (fence_redfish uses HTTP Basic on every request) and deletes the \
         session at the end; ours keeps one connection for the action (fence_redfish opens one \
         per request); fence_redfish's `diag` sends `Nmi`, while ours has no diag action \
         (a diagnostic interrupt is not fencing); reboot is off, confirmed Off, on \
         (ours never sends ForceRestart).\n\n\
         | scenario | fence_redfish | fence_bulwark_redfish | verdicts | why (required where verdicts differ) |\n\
         | --- | --- | --- | --- | --- |\n{}\n",
        rows.join("\n")
    );
    let path = support::workspace_dir().join("docs/redfish-differences.md");
    if std::env::var_os("BULWARK_WRITE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &doc).unwrap();
    }
    assert!(
        undocumented.is_empty(),
        "undocumented differences:\n{}",
        undocumented.join("\n")
    );
    assert!(
        stale.is_empty(),
        "reasons for differences that are gone: {stale:?}"
    );
    // The committed table is the one this run produced: a changed verdict or reason cannot
    // land without the table that admins read.
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "{} is not what this run produced; rerun with BULWARK_WRITE_DOCS=1\n\n{doc}",
        path.display()
    );
}
