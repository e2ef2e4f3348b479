//! Cross-check with the stock agents: `fence_apc_snmp` and `fence_eaton_snmp` against the same
//! simulator, for the models they support, must see the same outlet states as Bulwark's client,
//! and each side must see the other's switching. Options go to the stock agents on stdin (as
//! pacemaker-fenced passes them), never in their argv.
//!
//! Deliberate difference, asserted too: for an outlet the PDU does not have, the stock agent
//! with SNMP v2c says "off" (it reads `noSuchInstance` as off); Bulwark reports the missing
//! outlet.

mod support;

use support::pdu;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bulwark::deadline::Deadline;
use bulwark::proto::snmp::{
    Credentials, ModelChoice, OutletState, PduDevice, PduError, PowerAction,
};
use bulwark::secret::Secret;
use pdu::{PduSim, SimConfig};

/// Runs a stock agent with its options on stdin; returns its exit code.
fn stock(agent: &str, sim: &PduSim, plug: u32, action: &str, extra: &[&str]) -> i32 {
    let mut input = format!(
        "ip=127.0.0.1\nipport={}\ncommunity=private\nsnmp_version=2c\nplug={plug}\naction={action}\npower_wait=0\n",
        sim.port
    );
    for e in extra {
        input.push_str(e);
        input.push('\n');
    }
    let out = bulwark::process::run_with_input(
        &mut Command::new(agent),
        Some(input.as_bytes()),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{agent}: {e}"));
    out.code().unwrap_or(-1)
}

fn ours(sim: &PduSim) -> PduDevice {
    let creds = Credentials::V2c {
        community: Secret::from("private"),
    };
    PduDevice::connect(
        &sim.target(),
        &creds,
        ModelChoice::Detect,
        None,
        &Deadline::after(Duration::from_secs(20)),
    )
    .unwrap()
}

/// Fence-agent status exit code for a state: 0 on, 2 off.
fn code_of(state: OutletState) -> i32 {
    match state {
        OutletState::On => 0,
        OutletState::Off => 2,
        other => panic!("unsettled state {other}"),
    }
}

fn crosscheck(agent: &str, model: &str, extra: &[&str]) {
    if !Path::new("/usr/sbin").join(agent).exists() {
        panic!("{agent} not installed (apt-get install fence-agents)");
    }
    let sim = PduSim::start(SimConfig::new(model));
    let mut dev = ours(&sim);
    let d = Deadline::after(Duration::from_secs(60));
    sim.set_state(2, "off");
    for plug in [1u32, 2] {
        let mine = dev.outlet_state(plug, &d).unwrap();
        assert_eq!(
            stock(agent, &sim, plug, "status", extra),
            code_of(mine),
            "{agent} {model} plug {plug}"
        );
    }
    // the stock agent switches, we observe
    assert_eq!(stock(agent, &sim, 1, "off", extra), 0, "{agent} off");
    assert_eq!(sim.state(1), "off");
    assert_eq!(dev.outlet_state(1, &d).unwrap(), OutletState::Off);
    // we switch, the stock agent observes
    dev.set_outlet(1, PowerAction::On, &d).unwrap();
    assert_eq!(sim.state(1), "on");
    assert_eq!(stock(agent, &sim, 1, "status", extra), 0);
    dev.set_outlet(2, PowerAction::On, &d).unwrap();
    assert_eq!(stock(agent, &sim, 2, "status", extra), 0);
}

#[test]
fn fence_apc_snmp_masterswitch() {
    crosscheck("fence_apc_snmp", "apc-masterswitch", &[]);
}

#[test]
fn fence_apc_snmp_rpdu() {
    crosscheck("fence_apc_snmp", "apc-rpdu", &[]);
}

#[test]
fn fence_apc_snmp_masterswitch_plus() {
    crosscheck("fence_apc_snmp", "apc-masterswitch-plus", &["switch=1"]);
}

#[test]
fn fence_apc_snmp_tripplite() {
    crosscheck("fence_apc_snmp", "tripplite", &[]);
}

#[test]
fn fence_eaton_snmp_managed_epdu() {
    crosscheck("fence_eaton_snmp", "eaton-epdu", &[]);
}

#[test]
fn missing_outlet_stock_says_off_bulwark_says_missing() {
    let sim = PduSim::start(SimConfig::new("apc-masterswitch"));
    let mut dev = ours(&sim);
    let d = Deadline::after(Duration::from_secs(30));
    // the stock agent's false "off" (documented flaw) ...
    assert_eq!(stock("fence_apc_snmp", &sim, 9, "status", &[]), 2);
    // ... where Bulwark names the problem
    assert!(matches!(
        dev.outlet_state(9, &d),
        Err(PduError::NoSuchOutlet { outlet: 9, .. })
    ));
}

/// Runs `fence_bulwark_pdu` with the same stdin the stock agent gets; returns its exit code.
fn bulwark_agent(sim: &PduSim, plug: u32, action: &str, extra: &[&str]) -> i32 {
    let mut input = format!(
        "ip=127.0.0.1\nipport={}\ncommunity=private\nsnmp_version=2c\nplug={plug}\naction={action}\npower_wait=0\n",
        sim.port
    );
    for e in extra {
        // fence_apc_snmp calls the MasterSwitch plus switch number `switch`: an alias of `unit`.
        input.push_str(e);
        input.push('\n');
    }
    let out = bulwark::process::run_with_input(
        &mut Command::new(support::workspace_bin("fence_bulwark_pdu")),
        Some(input.as_bytes()),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("fence_bulwark_pdu: {e}"));
    out.code().unwrap_or(-1)
}

/// Same verdicts, action by action, from the same starting state: exit code and the relay
/// state the simulator is left in. Reboots leave the outlet on for both.
fn verdicts(agent: &str, model: &str, extra: &[&str], stock_missing: i32) {
    let sim = PduSim::start(SimConfig::new(model).env("PDU_REBOOT_SECONDS", "0.2"));
    let steps: &[(&str, &str, u32)] = &[
        ("on", "status", 1),
        ("off", "status", 1),
        ("on", "off", 1),
        ("off", "off", 1),
        ("off", "on", 1),
        ("on", "on", 1),
        ("on", "reboot", 2),
        ("off", "reboot", 2),
    ];
    for (initial, action, plug) in steps {
        let mut seen = Vec::new();
        for who in [agent, "fence_bulwark_pdu"] {
            sim.set_state(*plug, initial);
            let rc = if who == agent {
                stock(agent, &sim, *plug, action, extra)
            } else {
                bulwark_agent(&sim, *plug, action, extra)
            };
            seen.push((rc, sim.state(*plug)));
        }
        assert_eq!(
            seen[0],
            seen[1],
            "{model} {action} plug {plug} from {initial}: {agent} vs fence_bulwark_pdu\n{}",
            sim.log()
        );
    }
    // The deliberate difference: a missing outlet. fence_apc_snmp says "off" (2) with v2c,
    // fence_eaton_snmp fails; Bulwark fails (1) and never claims the fence.
    assert_eq!(stock(agent, &sim, 9, "status", extra), stock_missing);
    assert_eq!(bulwark_agent(&sim, 9, "status", extra), 1);
    assert_eq!(bulwark_agent(&sim, 9, "off", extra), 1);
}

#[test]
fn agent_verdicts_match_fence_apc_snmp() {
    for model in ["apc-masterswitch", "apc-rpdu", "tripplite"] {
        verdicts("fence_apc_snmp", model, &[], 2);
    }
    verdicts("fence_apc_snmp", "apc-masterswitch-plus", &["switch=1"], 2);
}

#[test]
fn agent_verdicts_match_fence_eaton_snmp() {
    verdicts("fence_eaton_snmp", "eaton-epdu", &[], 1);
}
