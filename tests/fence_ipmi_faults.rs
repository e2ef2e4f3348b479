//! `fence_bulwark_ipmi` through a fault-injecting UDP proxy in front of a real ipmi_sim: lost
//! and late datagrams are retried within the agent's deadline, a chassis that keeps reading
//! "on" after off fails after `power_timeout`, a wrong password and a missing BMC fail with
//! their own one-line reason. Every run's claim is compared with the simulator's state: a
//! success the chassis does not back up is a false success, and there must be none.

mod support;

use support::{bmc, udp_proxy};

use bmc::{run_agent, AgentRun, Bmc};
use std::time::Duration;
use support::{unique_secret, workspace_bin};
use udp_proxy::UdpProxy;

struct Rig {
    bmc: Bmc,
    proxy: UdpProxy,
    password: String,
}

impl Rig {
    fn new() -> Rig {
        let password = unique_secret("Fp");
        let bmc = Bmc::start_with_password(&password);
        let proxy = UdpProxy::start(([127, 0, 0, 1], bmc.port).into());
        Rig {
            bmc,
            proxy,
            password,
        }
    }

    fn run(&self, action: &str, extra: &str) -> AgentRun {
        self.run_with_password(action, extra, &self.password)
    }

    fn run_with_password(&self, action: &str, extra: &str, password: &str) -> AgentRun {
        let stdin = format!(
            "action={action}\nip=127.0.0.1\nipport={}\nusername={}\npassword={password}\nlanplus=1\ncipher=3\n{extra}",
            self.proxy.port,
            bmc::ADMIN
        );
        let r = run_agent(&workspace_bin("fence_bulwark_ipmi"), &stdin, password);
        assert!(
            r.argv_hits.is_empty(),
            "password in argv: {:?}",
            r.argv_hits
        );
        assert!(!r.stderr.contains(password) && !r.stdout.contains(password));
        r
    }
}

/// Whether a run claimed something the chassis does not show. Only exit 0 and 2 claim a
/// state; exit 1 claims nothing.
fn false_success(action: &str, r: &AgentRun, power_on: Option<bool>) -> bool {
    match (action, r.code) {
        ("off", Some(0)) | ("reboot", Some(0)) if !r.stdout.contains("power ON failed") => {
            // Reboot ends on; off ends off. Either way the off must have happened (checked by
            // the callers through the hook log); here the final state must match.
            (action == "off" && power_on != Some(false))
                || (action == "reboot" && power_on != Some(true))
        }
        ("on", Some(0)) => power_on != Some(true),
        ("status", Some(0)) => power_on != Some(true),
        ("status", Some(2)) => power_on != Some(false),
        (_, Some(1)) => false,
        _ => true,
    }
}

#[test]
fn lost_and_late_datagrams_are_retried_within_the_deadline() {
    let mut false_successes = Vec::new();
    let mut check = |what: &str, action: &str, rig: &Rig, r: &AgentRun| {
        if false_success(action, r, rig.bmc.power_on()) {
            false_successes.push(format!("{what}: {r:?}"));
        }
    };

    // Lost requests during login, then lost replies while switching.
    let rig = Rig::new();
    rig.proxy.faults(|f| f.drop_requests = 2);
    let r = rig.run("off", "login_timeout=10\n");
    check("drop requests", "off", &rig, &r);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Powered OFF\n"),
        "{r:?}"
    );
    assert!(rig.proxy.counts().dropped >= 2);
    assert_eq!(rig.bmc.power_on(), Some(false));

    // Every second reply lost from the 6th on (after login: status, control, confirmation).
    for n in [5, 6, 7, 8] {
        rig.bmc.set_power(true);
        let before = rig.proxy.counts().replies;
        rig.proxy.faults(|f| f.drop_nth_reply = Some(before + n));
        let r = rig.run("off", "login_timeout=10\n");
        check(&format!("drop reply {n}"), "off", &rig, &r);
        assert_eq!(r.code, Some(0), "reply {n}: {r:?}");
        assert_eq!(rig.bmc.power_on(), Some(false), "reply {n}");
    }

    // Every datagram held 300 ms each way: slower than the first resend, still fine.
    let rig = Rig::new();
    rig.proxy.faults(|f| f.delay = Duration::from_millis(300));
    let r = rig.run("status", "login_timeout=15\n");
    check("delay", "status", &rig, &r);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Status: ON\n"),
        "{r:?}"
    );
    let before = rig.bmc.calls().len();
    let r = rig.run("reboot", "login_timeout=15\n");
    check("delay", "reboot", &rig, &r);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Rebooted\n"),
        "{r:?}"
    );
    let calls = rig.bmc.calls()[before..].to_vec();
    let off = calls.iter().position(|c| c == "0x20 set power 0");
    let on = calls.iter().rposition(|c| c == "0x20 set power 1");
    assert!(
        matches!((off, on), (Some(a), Some(b)) if a < b),
        "{calls:?}"
    );

    // Corrupted replies are dropped by the integrity check and the request is resent.
    let rig = Rig::new();
    rig.proxy.faults(|f| f.corrupt_replies = 3);
    let r = rig.run("off", "login_timeout=10\n");
    check("corrupt", "off", &rig, &r);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(rig.bmc.power_on(), Some(false));

    assert!(
        false_successes.is_empty(),
        "false successes: {false_successes:?}"
    );
}

#[test]
fn a_chassis_stuck_on_fails_after_power_timeout_never_success() {
    let rig = Rig::new();
    rig.bmc.set_stuck(true);
    for action in ["off", "reboot"] {
        let before = rig.bmc.calls().len();
        let r = rig.run(action, "power_timeout=2\n");
        assert_eq!(r.code, Some(1), "{action}: {r:?}");
        assert!(r.stdout.is_empty(), "{action}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        // The last reading is the verdict even when (on a loaded machine) the final poll was
        // cut short by power_timeout itself.
        assert!(
            r.stderr.starts_with("timed out") && r.stderr.contains("still reads ON"),
            "{action}: {r:?}"
        );
        // The off was sent and ignored; no power on followed a failed off.
        let calls = rig.bmc.calls()[before..].to_vec();
        assert!(
            calls.iter().any(|c| c == "STUCK ignoring power 0"),
            "{calls:?}"
        );
        assert!(!calls.iter().any(|c| c.ends_with("power 1")), "{calls:?}");
        assert_eq!(rig.bmc.power_on(), Some(true));
    }
    // method=cycle on a chassis that never goes off: unconfirmed, not success.
    let r = rig.run("reboot", "power_timeout=2\nmethod=cycle\n");
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("not confirmed"), "{r:?}");
}

#[test]
fn wrong_password_silence_and_no_bmc_are_failures_with_their_reason() {
    let rig = Rig::new();
    let wrong = unique_secret("Fp");
    let r = rig.run_with_password("off", "", &wrong);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.starts_with("authentication failed at 127.0.0.1:"),
        "{r:?}"
    );
    assert_eq!(rig.bmc.power_on(), Some(true));

    // The BMC goes silent: nothing comes back, every action says so within login_timeout.
    rig.proxy.faults(|f| f.blackhole = true);
    for action in ["status", "off", "reboot", "on", "monitor"] {
        let r = rig.run(action, "login_timeout=1\n");
        assert_eq!(r.code, Some(1), "{action}: {r:?}");
        assert!(r.stdout.is_empty(), "{action}: {r:?}");
        // A silent BMC costs the whole 1 s login budget (plus scheduling delay).
        let waited = waited_for(&r.stderr, rig.proxy.port);
        assert!((0.9..3.0).contains(&waited), "{action}: {r:?}");
    }
    assert_eq!(rig.bmc.power_on(), Some(true));

    // The BMC is gone altogether.
    let port = rig.proxy.port;
    drop(rig);
    let password = unique_secret("Fp");
    let stdin = format!(
        "action=off\nip=127.0.0.1\nipport={port}\nusername=admin\npassword={password}\nlogin_timeout=1\n"
    );
    let r = run_agent(&workspace_bin("fence_bulwark_ipmi"), &stdin, &password);
    assert_eq!(r.code, Some(1), "{r:?}");
    // Nobody listens: the port-unreachable answers give the verdict within the budget.
    let waited = waited_for(&r.stderr, port);
    assert!(
        waited < 1.5 && r.stderr.contains("port unreachable"),
        "{r:?}"
    );
}

/// The seconds quoted in "no answer from 127.0.0.1:PORT within N s …"; panics otherwise.
fn waited_for(stderr: &str, port: u16) -> f64 {
    stderr
        .strip_prefix(&format!("no answer from 127.0.0.1:{port} within "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a no-answer line: {stderr}"))
}
