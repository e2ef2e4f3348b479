//! `fence_bulwark_pdu` end to end against the snmpd PDU simulator: every model through the
//! agent binary (options on stdin, as pacemaker-fenced passes them), with the relay state
//! observed through the simulator's files and log; multi-outlet ordering; faults (dropped
//! answers, an outlet that ignores commands, wrong credentials) with no false success; bad
//! input; SNMPv3; and a scan of every /proc/*/cmdline and all logs for the secrets.

mod support;

use support::pdu;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use bulwark::process::Captured;
use pdu::{PduSim, SimConfig, SimUser};
use support::{workspace_bin, ArgvWatch};

const AGENT: &str = "fence_bulwark_pdu";

/// Runs the agent with `lines` on stdin (ip/ipport of `sim` first, so `lines` can override).
fn agent_raw(sim: &PduSim, lines: &[String]) -> Captured {
    let mut input = format!("ip=127.0.0.1\nipport={}\n", sim.port);
    for l in lines {
        input.push_str(l);
        input.push('\n');
    }
    bulwark::process::run_with_input(
        &mut Command::new(workspace_bin(AGENT)),
        Some(input.as_bytes()),
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| panic!("{AGENT}: {e}"))
}

/// Runs the agent with community `private` plus `lines`.
fn agent(sim: &PduSim, lines: &[&str]) -> Captured {
    let mut all = vec!["community=private".to_string()];
    all.extend(lines.iter().map(|s| s.to_string()));
    agent_raw(sim, &all)
}

fn show(c: &Captured) -> String {
    format!(
        "rc {:?}\nstdout: {}\nstderr: {}",
        c.code(),
        c.stdout_str().trim_end(),
        String::from_utf8_lossy(&c.stderr).trim_end()
    )
}

fn stderr(c: &Captured) -> String {
    String::from_utf8_lossy(&c.stderr).trim_end().to_string()
}

/// A failure must be exit 1 with exactly one line on stderr and no success line.
fn assert_one_line_failure(c: &Captured, needle: &str) {
    assert_eq!(c.code(), Some(1), "{}", show(c));
    let err = stderr(c);
    assert_eq!(err.lines().count(), 1, "one line: {}", show(c));
    assert!(err.contains(needle), "wanted '{needle}': {}", show(c));
    assert!(!c.stdout_str().contains("Success"), "{}", show(c));
}

/// `(time, outlet, state)` of every relay change in the simulator's log.
fn relay_changes(log: &str) -> Vec<(f64, u32, String)> {
    log.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let t: f64 = w.next()?.parse().ok()?;
            (w.next()? == "state").then_some(())?;
            let n: u32 = w.next()?.strip_prefix("outlet=")?.parse().ok()?;
            Some((t, n, w.next()?.to_string()))
        })
        .collect()
}

fn exercise(model: &str) {
    let sim = PduSim::start(SimConfig::new(model).env("PDU_REBOOT_SECONDS", "0.3"));
    let named = !matches!(model, "eaton-epdu" | "eaton-switched");

    // status: on (0), off (2)
    let c = agent(&sim, &["action=status", "plug=1"]);
    assert_eq!(
        (c.code(), c.stdout_str().trim()),
        (Some(0), "Status: ON"),
        "{}",
        show(&c)
    );
    sim.set_state(3, "off");
    let c = agent(&sim, &["action=status", "plug=3"]);
    assert_eq!(
        (c.code(), c.stdout_str().trim()),
        (Some(2), "Status: OFF"),
        "{}",
        show(&c)
    );

    // off, confirmed in the simulator; a second off is "already"
    let c = agent(&sim, &["action=off", "plug=2"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(c.stdout_str().trim(), "Success: Powered OFF");
    assert_eq!(sim.state(2), "off");
    assert_eq!(sim.state(1), "on", "neighbour untouched");
    let c = agent(&sim, &["action=off", "plug=2"]);
    assert_eq!(
        c.stdout_str().trim(),
        "Success: Already OFF",
        "{}",
        show(&c)
    );

    // on
    let c = agent(&sim, &["action=on", "plug=2"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(c.stdout_str().trim(), "Success: Powered ON");
    assert_eq!(sim.state(2), "on");

    // reboot (the default action), by name where the PDU has names: off, then on
    let plug = if named { "plug=node2" } else { "plug=2" };
    let before = relay_changes(&sim.log()).len();
    let c = agent(&sim, &[plug]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(c.stdout_str().trim(), "Success: Rebooted");
    let changes: Vec<(u32, String)> = relay_changes(&sim.log())[before..]
        .iter()
        .map(|(_, n, s)| (*n, s.clone()))
        .collect();
    assert_eq!(
        changes,
        vec![(2, "off".into()), (2, "on".into())],
        "{}",
        sim.log()
    );
    assert_eq!(sim.state(2), "on");

    // list / list-status walk the tables
    let c = agent(&sim, &["action=list"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    let lines: Vec<String> = c.stdout_str().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 8, "{}", show(&c));
    if named {
        assert_eq!(lines[0], "1,node1");
        assert_eq!(lines[4], "5,Outlet 5");
    } else {
        assert_eq!(lines[0], "1,1");
    }
    let c = agent(&sim, &["action=list-status"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    let lines: Vec<String> = c.stdout_str().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 8, "{}", show(&c));
    assert!(
        lines[2].starts_with("3,") && lines[2].ends_with(",OFF"),
        "{lines:?}"
    );
    assert!(lines[1].ends_with(",ON"), "{lines:?}");

    // monitor: the device answers its outlet table
    let c = agent(&sim, &["action=monitor"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));

    // an outlet the PDU does not have: one clear line, never "off", nothing switched
    let sets = sim.log().matches(" set ").count();
    for action in ["status", "off", "reboot"] {
        let c = agent(&sim, &[&format!("action={action}"), "plug=9"]);
        assert_one_line_failure(&c, "outlet 9 does not exist");
    }
    if named {
        let c = agent(&sim, &["action=off", "plug=node9"]);
        assert_one_line_failure(&c, "no outlet named 'node9'");
    }
    assert_eq!(sim.log().matches(" set ").count(), sets, "{}", sim.log());
}

macro_rules! model_tests {
    ($($name:ident: $id:expr;)*) => {$(
        #[test]
        fn $name() {
            exercise($id);
        }
    )*};
}

model_tests! {
    agent_apc_masterswitch: "apc-masterswitch";
    agent_apc_masterswitch_plus: "apc-masterswitch-plus";
    agent_apc_rpdu: "apc-rpdu";
    agent_apc_rpdu2: "apc-rpdu2";
    agent_eaton_epdu: "eaton-epdu";
    agent_eaton_g3: "eaton-g3";
    agent_raritan_px2: "raritan-px2";
    agent_tripplite: "tripplite";
}

/// Multi-outlet reboot: every outlet is confirmed off before any is switched on, whatever the
/// initial states and however slow the relays (pending states on the G3).
#[test]
fn multi_outlet_reboot_never_powers_on_before_all_are_off() {
    for (model, delay, initially_off) in [
        ("apc-rpdu2", "0", None),
        ("apc-rpdu2", "0.4", None),
        ("eaton-g3", "0.4", Some(1)),
        ("raritan-px2", "0.2", Some(2)),
    ] {
        let sim = PduSim::start(
            SimConfig::new(model)
                .env("PDU_SWITCH_DELAY", delay)
                .env("PDU_REBOOT_SECONDS", "0.3"),
        );
        if let Some(n) = initially_off {
            sim.set_state(n, "off");
        }
        // Per-outlet hooks stamp when each relay actually moved.
        let stamps = sim.dir.join("stamps");
        for n in [1u32, 2] {
            for a in ["off", "on"] {
                sim.set_hook(
                    n,
                    a,
                    &format!(
                        "echo \"$(date +%s.%N) $PDU_OUTLET $PDU_ACTION\" >> {}",
                        stamps.display()
                    ),
                );
            }
        }
        let c = agent(&sim, &["action=reboot", "plug=1,2"]);
        assert_eq!(c.code(), Some(0), "{model}: {}", show(&c));
        assert_eq!(c.stdout_str().trim(), "Success: Rebooted");
        let changes = relay_changes(&sim.log());
        let last_off = changes
            .iter()
            .filter(|(_, _, s)| s == "off")
            .map(|(t, _, _)| *t)
            .fold(f64::MIN, f64::max);
        let first_on = changes
            .iter()
            .filter(|(_, _, s)| s == "on")
            .map(|(t, _, _)| *t)
            .fold(f64::MAX, f64::min);
        let offs: BTreeSet<u32> = changes
            .iter()
            .filter(|(_, _, s)| s == "off")
            .map(|(_, n, _)| *n)
            .collect();
        // Where a command can be pending, off goes to every plug, even one reading off.
        let resends = bulwark::proto::snmp::model::by_id(model)
            .expect("built-in model")
            .can_pend();
        let want_offs: BTreeSet<u32> = [1u32, 2]
            .into_iter()
            .filter(|n| resends || Some(*n) != initially_off)
            .collect();
        assert_eq!(offs, want_offs, "{model}: {}", sim.log());
        assert!(
            last_off <= first_on,
            "{model}: on before all off:\n{}",
            sim.log()
        );
        // The log's order agrees: no "set ... action=on" before the last relay went off.
        let log = sim.log();
        let first_set_on = log.find("action=on").expect("an on command");
        let last_state_off = log.rfind("off\n").expect("an off");
        assert!(last_state_off < first_set_on, "{model}:\n{log}");
        assert_eq!((sim.state(1), sim.state(2)), ("on".into(), "on".into()));
        // The hooks' clocks say the same.
        let wait = support::wait_for(Duration::from_secs(5), || {
            std::fs::read_to_string(&stamps)
                .map(|s| s.lines().count() >= want_offs.len() + 2)
                .unwrap_or(false)
        });
        assert!(wait, "{model}: hooks did not all run");
        let hooks: Vec<(f64, String)> = std::fs::read_to_string(&stamps)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let t = w.next()?.parse().ok()?;
                w.next()?;
                Some((t, w.next()?.to_string()))
            })
            .collect();
        let last_off = hooks
            .iter()
            .filter(|(_, a)| a == "off")
            .map(|(t, _)| *t)
            .fold(f64::MIN, f64::max);
        let first_on = hooks
            .iter()
            .filter(|(_, a)| a == "on")
            .map(|(t, _)| *t)
            .fold(f64::MAX, f64::min);
        assert!(last_off <= first_on, "{model}: hooks {hooks:?}");
    }
}

/// Faults: none of them may end in a success line for an outlet that is not off.
#[test]
fn faults_never_give_a_false_success() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_DROP_SECONDS", "2"));
    let mut false_successes = Vec::new();
    let mut judge = |what: &str, c: &Captured, outlet: u32, sim: &PduSim| {
        if c.code() == Some(0) && c.stdout_str().contains("OFF") && sim.state(outlet) != "off" {
            false_successes.push(format!("{what}: {}", show(c)));
        }
    };

    // 1. an outlet that ignores commands: off and reboot fail after power_timeout
    sim.ignore_commands(true, &[2]);
    for action in ["off", "reboot"] {
        let c = agent(
            &sim,
            &[&format!("action={action}"), "plug=2", "power_timeout=1"],
        );
        judge(action, &c, 2, &sim);
        assert_one_line_failure(&c, "timed out");
        assert!(stderr(&c).contains("still reads ON"), "{}", show(&c));
        assert_eq!(sim.state(2), "on");
    }
    // multi-outlet: the obedient outlet goes off, the stuck one fails the whole fence
    let c = agent(&sim, &["action=off", "plug=1,2", "power_timeout=1"]);
    judge("off 1,2", &c, 2, &sim);
    assert_one_line_failure(&c, "plug 2 still reads ON");
    sim.ignore_commands(false, &[]);
    sim.set_state(1, "on");

    // 2. answers held back past the client's patience, for the whole run: no response
    sim.drop_responses(true);
    let c = agent(&sim, &["action=off", "plug=3", "login_timeout=1"]);
    judge("drop off", &c, 3, &sim);
    assert_one_line_failure(&c, "no response");
    let c = agent(&sim, &["action=status", "plug=3", "login_timeout=1"]);
    assert_one_line_failure(&c, "no response");
    sim.drop_responses(false);
    // let snmpd drain the requests still queued at the handler
    std::thread::sleep(Duration::from_secs(3));
    sim.set_state(3, "on");

    // 3. answers dropped for a while: the agent retries and succeeds (or fails), never lies
    sim.drop_responses(true);
    let dir = sim.dir.clone();
    let lifter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let _ = std::fs::remove_file(dir.join("drop-responses"));
    });
    let c = agent(&sim, &["action=off", "plug=4", "login_timeout=10"]);
    lifter.join().unwrap();
    judge("transient drop", &c, 4, &sim);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(sim.state(4), "off");

    // 4. wrong community: silence, reported as such
    let c = agent_raw(
        &sim,
        &[
            "community=not-the-community".into(),
            "action=off".into(),
            "plug=5".into(),
            "login_timeout=1".into(),
        ],
    );
    judge("wrong community", &c, 5, &sim);
    assert_one_line_failure(&c, "no response");
    assert!(stderr(&c).contains("wrong community"), "{}", show(&c));
    assert_eq!(sim.state(5), "on");

    // 5. read-only community: the SET is refused, not believed
    let c = agent_raw(
        &sim,
        &[
            "community=public".into(),
            "action=off".into(),
            "plug=5".into(),
        ],
    );
    judge("read-only community", &c, 5, &sim);
    assert_eq!(c.code(), Some(1), "{}", show(&c));
    assert_eq!(sim.state(5), "on");

    assert!(
        false_successes.is_empty(),
        "false successes: {false_successes:#?}"
    );
}

const AUTH: &str = "auth-pass-7731";
const PRIV: &str = "priv-pass-1187";

fn v3_sim() -> PduSim {
    PduSim::start(
        SimConfig::new("eaton-g3")
            .user(SimUser::new(
                "fence",
                Some(("SHA-256", AUTH)),
                Some(("AES-256", PRIV)),
            ))
            .user(SimUser::new("fence-sha512", Some(("SHA-512", AUTH)), None))
            .user(SimUser::new("fence-noauth", None, None)),
    )
}

#[test]
fn snmpv3_levels_and_credential_failures() {
    let sim = v3_sim();
    let dir = support::LabDir::new("pdu-v3");
    let auth_file = dir.path().join("auth");
    std::fs::write(&auth_file, format!("{AUTH}\n")).unwrap();
    let priv_file = dir.path().join("priv");
    std::fs::write(&priv_file, PRIV).unwrap();
    let base = |user: &str| vec!["snmp_version=3".to_string(), format!("username={user}")];

    // authPriv, SHA-256 / AES-256, secrets from stdin
    let mut l = base("fence");
    l.extend([
        "snmp_auth_prot=SHA-256".into(),
        format!("password={AUTH}"),
        "snmp_priv_prot=AES-256".into(),
        format!("snmp_priv_passwd={PRIV}"),
        "action=off".into(),
        "plug=1".into(),
    ]);
    let c = agent_raw(&sim, &l);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(sim.state(1), "off");

    // the same from a file and a script; level derived from what is configured
    let mut l = base("fence");
    l.extend([
        "snmp_auth_prot=SHA-256".into(),
        format!("password_file={}", auth_file.display()),
        "snmp_priv_prot=AES-256".into(),
        format!("snmp_priv_passwd_script=cat {}", priv_file.display()),
        "action=on".into(),
        "plug=1".into(),
    ]);
    let c = agent_raw(&sim, &l);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(sim.state(1), "on");

    // authNoPriv SHA-512, noAuthNoPriv
    let mut l = base("fence-sha512");
    l.extend([
        "snmp_auth_prot=SHA-512".into(),
        format!("password={AUTH}"),
        "action=status".into(),
        "plug=1".into(),
    ]);
    assert_eq!(agent_raw(&sim, &l).code(), Some(0));
    let mut l = base("fence-noauth");
    l.extend(["action=list-status".into()]);
    let c = agent_raw(&sim, &l);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert!(c.stdout_str().starts_with("1,node1,ON\n"), "{}", show(&c));

    // wrong authentication passphrase / unknown user: "authentication failure", distinctly
    for (user, pass) in [("fence-sha512", "wrong-pass-123"), ("nobody-here", AUTH)] {
        let mut l = base(user);
        l.extend([
            "snmp_auth_prot=SHA-512".into(),
            format!("password={pass}"),
            "action=off".into(),
            "plug=2".into(),
        ]);
        let c = agent_raw(&sim, &l);
        assert_one_line_failure(&c, "authentication failure");
        assert!(!stderr(&c).contains(pass), "{}", show(&c));
    }
    // wrong auth protocol
    let mut l = base("fence");
    l.extend([
        "snmp_auth_prot=SHA".into(),
        format!("password={AUTH}"),
        "snmp_priv_prot=AES-256".into(),
        format!("snmp_priv_passwd={PRIV}"),
        "action=off".into(),
        "plug=2".into(),
    ]);
    assert_one_line_failure(&agent_raw(&sim, &l), "authentication failure");
    assert_eq!(sim.state(2), "on");

    // missing pieces are refused before any packet
    let mut l = base("fence");
    l.extend([
        format!("password={AUTH}"),
        "action=status".into(),
        "plug=1".into(),
    ]);
    assert_one_line_failure(&agent_raw(&sim, &l), "needs snmp_auth_prot");
    let l = vec![
        "snmp_version=3".to_string(),
        "action=status".into(),
        "plug=1".into(),
    ];
    assert_one_line_failure(&agent_raw(&sim, &l), "'username'");
}

#[test]
fn bad_input_is_one_clear_line() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let cases: &[(&[&str], &str)] = &[
        (
            &["model=apc-9000", "plug=1", "action=status"],
            "unknown PDU model 'apc-9000'",
        ),
        (&["plug=0", "action=off"], "no outlet named '0'"),
        (&["plug=33", "action=off"], "outlet 33 does not exist"),
        (&["plug=node7", "action=off"], "no outlet named 'node7'"),
        // a model whose OIDs this device lacks
        (
            &["model=eaton-g3", "plug=1", "action=off"],
            "no object at .1.3.6.1.4.1.534.6.6.7",
        ),
        (
            &[
                "model=custom",
                "status_oid=.1.3.6.1.4.1.99.1",
                "control_oid=.1.3.6.1.4.1.99.2",
                "status_on=1",
                "status_off=2",
                "command_on=1",
                "command_off=2",
                "plug=1",
                "action=off",
            ],
            "no object at .1.3.6.1.4.1.99.1.1",
        ),
        (
            &["model=custom", "plug=1", "action=off"],
            "model=custom needs parameter 'status_oid'",
        ),
        (
            &["snmp_version=4", "plug=1", "action=status"],
            "snmp_version",
        ),
        (&["action=off"], "'plug' is required"),
        (&["action=dance", "plug=1"], "Unrecognised action"),
        (&["ipport=70000", "plug=1", "action=status"], "ipport"),
    ];
    for (lines, needle) in cases {
        let c = agent(&sim, lines);
        assert_one_line_failure(&c, needle);
    }
    // no community at all
    let c = agent_raw(&sim, &["plug=1".into(), "action=status".into()]);
    assert_one_line_failure(&c, "'community' is required");
    // secrets on the command line are refused without echoing them
    let out = Command::new(workspace_bin(AGENT))
        .args([
            "-a",
            "127.0.0.1",
            "-o",
            "status",
            "-n",
            "1",
            "--community=s3cret-x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing 'community'") && !err.contains("s3cret-x"),
        "{err}"
    );
    // nothing was switched by any of it
    assert!(!sim.log().contains(" set "), "{}", sim.log());
    // the custom model that fits this PDU works
    let c = agent(
        &sim,
        &[
            "model=custom",
            "status_oid=.1.3.6.1.4.1.318.1.1.26.9.2.3.1.5",
            "control_oid=.1.3.6.1.4.1.318.1.1.26.9.2.4.1.5",
            "name_oid=.1.3.6.1.4.1.318.1.1.26.9.2.3.1.3",
            "status_on=2",
            "status_off=1",
            "command_on=1",
            "command_off=2",
            "plug=node2",
            "action=off",
        ],
    );
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(sim.state(2), "off");
}

#[test]
fn secrets_never_in_any_cmdline_or_log() {
    let community = format!("comm-{}-zq", std::process::id());
    let sim = PduSim::start(
        SimConfig::new("apc-rpdu2")
            .rw_community(&community)
            .env("PDU_SWITCH_DELAY", "0.5")
            .env("PDU_REBOOT_SECONDS", "0.2")
            .user(SimUser::new(
                "fence",
                Some(("SHA-256", AUTH)),
                Some(("AES-256", PRIV)),
            )),
    );
    let secrets = vec![community.clone(), AUTH.to_string(), PRIV.to_string()];
    let dir = support::LabDir::new("pdu-secrets");
    let debug = dir.path().join("debug.log");
    let priv_file = dir.path().join("priv");
    std::fs::write(&priv_file, PRIV).unwrap();
    let watch = {
        let needles: Vec<&str> = secrets.iter().map(String::as_str).collect();
        ArgvWatch::start_any(&needles, AGENT)
    };
    let outputs = Mutex::new(String::new());
    let v2 = |extra: &[&str]| {
        let mut l = vec![
            format!("community={community}"),
            "verbose=1".to_string(),
            format!("debug_file={}", debug.display()),
        ];
        l.extend(extra.iter().map(|s| s.to_string()));
        l
    };
    let v3 = |extra: &[&str]| {
        let mut l = vec![
            "snmp_version=3".to_string(),
            "username=fence".into(),
            "snmp_auth_prot=SHA-256".into(),
            format!("password={AUTH}"),
            "snmp_priv_prot=AES-256".into(),
            format!("snmp_priv_passwd_file={}", priv_file.display()),
            "verbose=1".into(),
            format!("debug_file={}", debug.display()),
        ];
        l.extend(extra.iter().map(|s| s.to_string()));
        l
    };
    let runs: Vec<Vec<String>> = vec![
        v2(&["action=status", "plug=1"]),
        v2(&["action=off", "plug=1"]),
        v2(&["action=on", "plug=1"]),
        v2(&["action=reboot", "plug=1,2"]),
        v2(&["action=list-status"]),
        v2(&["action=monitor"]),
        v3(&["action=off", "plug=2"]),
        v3(&["action=reboot", "plug=node2"]),
        // failures print reasons: they must not carry secrets either
        v3(&["action=off", "plug=9"]),
        vec![
            format!("community={community}-bad"),
            "action=status".into(),
            "plug=1".into(),
            "login_timeout=0.5".into(),
        ],
    ];
    for l in &runs {
        let c = agent_raw(&sim, l);
        outputs.lock().unwrap().push_str(&format!(
            "{}{}",
            c.stdout_str(),
            String::from_utf8_lossy(&c.stderr)
        ));
    }
    watch.stop().assert_clean();
    let mut logs = outputs.into_inner().unwrap();
    assert!(logs.contains("Success: Rebooted"), "{logs}");
    for f in ["pdu.log", "snmpd.log", "hook.log"] {
        logs.push_str(&std::fs::read_to_string(sim.dir.join(f)).unwrap_or_default());
    }
    let debug_text = std::fs::read_to_string(&debug).unwrap_or_default();
    assert!(!debug_text.is_empty(), "verbose debug_file was written");
    logs.push_str(&debug_text);
    for s in &secrets {
        // the bad community is the real one plus a suffix: any hit shows either
        assert!(
            !logs.contains(s.as_str()),
            "secret found in output/logs:\n{logs}"
        );
    }
}

/// `method=cycle`: one reboot command, success only once an OFF reading was seen; a model
/// without a reboot command says so.
#[test]
fn method_cycle() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_REBOOT_SECONDS", "0.5"));
    let c = agent(&sim, &["action=reboot", "method=cycle", "plug=3"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    let changes: Vec<(u32, String)> = relay_changes(&sim.log())
        .into_iter()
        .map(|(_, n, s)| (n, s))
        .collect();
    assert_eq!(changes[0], (3, "off".to_string()), "{}", sim.log());
    assert!(sim.log().contains("action=reboot"), "{}", sim.log());
    assert!(support::wait_for(Duration::from_secs(5), || sim.state(3) == "on"));

    let sim = PduSim::start(SimConfig::new("tripplite"));
    let c = agent(&sim, &["action=reboot", "method=cycle", "plug=3"]);
    assert_one_line_failure(&c, "has no reboot command");
    assert_eq!(sim.state(3), "on");
}

/// Two linked rPDU2 units share one outlet table (module column 1 and 2, each numbering its
/// outlets from 1): `switch=2 plug=5` switches unit 2's outlet 5 (table row 13) and nothing
/// else; `plug=2:5` is the same; list on unit 2 shows unit 2's outlets by their numbers.
#[test]
fn linked_rpdu2_units_switch_the_asked_unit_only() {
    let sim = PduSim::start(
        SimConfig::new("apc-rpdu2")
            .env("PDU_OUTLETS", "16")
            .env("PDU_MODULES", "2"),
    );
    let all_on_but = |sim: &PduSim, off: &[u32]| {
        for n in 1..=16 {
            let want = if off.contains(&n) { "off" } else { "on" };
            assert_eq!(sim.state(n), want, "table row {n}\n{}", sim.log());
        }
    };
    let c = agent(&sim, &["action=off", "switch=2", "plug=5"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(c.stdout_str().trim(), "Success: Powered OFF");
    all_on_but(&sim, &[13]);
    // status through the same addressing, and the unit 1 outlet 5 is untouched
    let c = agent(&sim, &["action=status", "unit=2", "plug=5"]);
    assert_eq!(c.code(), Some(2), "{}", show(&c));
    let c = agent(&sim, &["action=status", "switch=1", "plug=5"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    // the switch:outlet notation of fence_apc_snmp
    let c = agent(&sim, &["action=on", "plug=2:5"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    all_on_but(&sim, &[]);
    let c = agent(&sim, &["action=off", "plug=2:7"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    all_on_but(&sim, &[15]);
    // list on unit 2: its 8 outlets, numbered 1..8, names of rows 9..16
    let c = agent(&sim, &["action=list-status", "switch=2"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    let out = c.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{}", show(&c));
    assert_eq!(lines[6], "7,Outlet 15,OFF", "{}", show(&c));
    // a unit without that outlet, and contradicting units: refused, nothing switched
    let c = agent(&sim, &["action=off", "switch=3", "plug=5"]);
    assert_one_line_failure(&c, "unit 3 has no outlet 5");
    let c = agent(&sim, &["action=off", "switch=1", "plug=2:5"]);
    assert_one_line_failure(&c, "one run switches outlets of one unit");
    all_on_but(&sim, &[15]);
}

/// Models with a single unit refuse `switch`/`unit` (other than 1) instead of switching
/// unit 1's outlet; detected or given, the answer is one line and exit 1.
#[test]
fn single_unit_models_refuse_a_unit() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu"));
    for extra in [
        &["switch=2", "plug=5"][..],
        &["plug=2:5"],
        &["unit=2", "plug=5", "model=apc-rpdu"],
    ] {
        let mut lines = vec!["action=off"];
        lines.extend_from_slice(extra);
        let c = agent(&sim, &lines);
        assert_one_line_failure(&c, "has a single unit");
        assert_eq!(sim.state(5), "on");
    }
    let c = agent(
        &sim,
        &[
            "action=validate-all",
            "model=apc-rpdu",
            "switch=2",
            "plug=1",
        ],
    );
    assert_one_line_failure(&c, "has a single unit");
    // switch=1, fence_apc_snmp's default, names the only unit there is
    let c = agent(&sim, &["action=off", "switch=1", "plug=5"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(sim.state(5), "off");
}

/// During a PDU-run reboot the outlet reads off with a command pending: the "on" is coming.
/// An `off` right then must send the off command (overriding the pending on) and confirm it;
/// taking the reading for a settled off would let the PDU power the victim back on.
#[test]
fn off_during_a_pending_reboot_ends_off() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_REBOOT_SECONDS", "2"));
    let c = agent(&sim, &["action=reboot", "method=cycle", "plug=3"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert_eq!(sim.state(3), "off", "still in the reboot's off phase");
    let c = agent(&sim, &["action=off", "plug=3"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    let sets = sim.log().matches("action=off").count();
    assert_eq!(sets, 1, "the off command was sent: {}", sim.log());
    // past the reboot's on time: still off
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sim.state(3), "off", "{}", sim.log());
    // every plug is checked before the off goes to any: a typo in the second switches nothing
    let c = agent(&sim, &["action=off", "plug=5,99"]);
    assert_one_line_failure(&c, "outlet 99 does not exist");
    assert_eq!(sim.state(5), "on", "{}", sim.log());
    // and a status read during another pending reboot is no verdict either way
    sim.set_state(4, "on");
    let c = agent(&sim, &["action=reboot", "method=cycle", "plug=4"]);
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    let c = agent(&sim, &["action=status", "plug=4"]);
    assert_one_line_failure(&c, "pending on");
}
