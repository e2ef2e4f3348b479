//! Every PDU model against the snmpd simulator playing it: detection from sysObjectID, status,
//! off, on, reboot, list and name lookup, with the relay state observed through the
//! simulator's state files (not through the code under test).

mod support;

use support::pdu;

use std::time::{Duration, Instant};

use bulwark::deadline::Deadline;
use bulwark::proto::snmp::{
    model, Credentials, ModelChoice, OutletRef, OutletState, PduDevice, PduError, PowerAction,
};
use bulwark::secret::Secret;
use pdu::{PduSim, SimConfig};

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(20))
}

fn v2c(c: &str) -> Credentials {
    Credentials::V2c {
        community: Secret::from(c),
    }
}

fn connect(sim: &PduSim, creds: &Credentials) -> PduDevice {
    PduDevice::connect(&sim.target(), creds, ModelChoice::Detect, None, &deadline())
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Polls the state through SNMP until `want` (the caller's job in the agent).
fn wait_state(dev: &mut PduDevice, outlet: u32, want: OutletState) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if dev.outlet_state(outlet, &deadline()).ok() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn exercise(model_id: &str, version1: bool) {
    let sim = PduSim::start(SimConfig::new(model_id).env("PDU_REBOOT_SECONDS", "0.3"));
    let creds = if version1 {
        Credentials::V1 {
            community: Secret::from("private"),
        }
    } else {
        v2c("private")
    };
    let mut dev = connect(&sim, &creds);
    assert_eq!(dev.model().id, model_id, "detected model");
    let d = deadline();

    // status of every outlet agrees with the simulator
    for n in 1..=8 {
        assert_eq!(
            dev.outlet_state(n, &d).unwrap(),
            OutletState::On,
            "outlet {n}"
        );
    }
    sim.set_state(3, "off");
    assert_eq!(dev.outlet_state(3, &d).unwrap(), OutletState::Off);
    assert_eq!(dev.check_outlet(3, &d).unwrap(), OutletState::Off);

    // off and on, observed in the simulator's files
    dev.set_outlet(2, PowerAction::Off, &d).unwrap();
    assert!(wait_state(&mut dev, 2, OutletState::Off));
    assert_eq!(sim.state(2), "off");
    assert_eq!(sim.state(1), "on", "neighbour untouched");
    dev.set_outlet(2, PowerAction::On, &d).unwrap();
    assert!(wait_state(&mut dev, 2, OutletState::On));
    assert_eq!(sim.state(2), "on");
    assert!(
        sim.log().contains("set outlet=2 action=off"),
        "{}",
        sim.log()
    );

    // reboot where the model has one: off, then on again
    if dev.model().command(PowerAction::Reboot, 4, 0).is_ok() {
        dev.set_outlet(4, PowerAction::Reboot, &d).unwrap();
        assert!(wait_state(&mut dev, 4, OutletState::On));
        assert!(sim.log().contains("state outlet=4 off"), "{}", sim.log());
        assert_eq!(sim.state(4), "on");
    }

    // list: eight outlets with states (and names where the model has a name column)
    let list = dev.list_outlets(&d).unwrap();
    assert_eq!(list.len(), 8, "{list:?}");
    assert_eq!(list[2].state, OutletState::Off);
    assert_eq!(list[0].number, 1);
    if dev.model().name.is_some() {
        assert_eq!(list[0].name.as_deref(), Some("node1"));
        assert_eq!(list[1].name.as_deref(), Some("node2"));
        assert_eq!(list[4].name.as_deref(), Some("Outlet 5"));
        assert_eq!(dev.resolve(&OutletRef::parse("node2"), &d).unwrap(), 2);
        assert!(matches!(
            dev.resolve(&OutletRef::parse("node9"), &d),
            Err(PduError::NoSuchName(_))
        ));
    }
    assert_eq!(dev.resolve(&OutletRef::parse("7"), &d).unwrap(), 7);

    // an outlet the PDU does not have: a clear error, never "off"
    match dev.outlet_state(9, &d) {
        Err(PduError::NoSuchOutlet { outlet: 9, .. }) => {}
        other => panic!("outlet 9: {other:?}"),
    }
    let err = dev.check_outlet(9, &d).unwrap_err();
    assert!(err.to_string().contains("outlet 9 does not exist"), "{err}");
}

macro_rules! model_tests {
    ($($name:ident: $id:expr, $v1:expr;)*) => {$(
        #[test]
        fn $name() {
            exercise($id, $v1);
        }
    )*};
}

model_tests! {
    apc_rpdu2_v2c: "apc-rpdu2", false;
    apc_rpdu2_v1: "apc-rpdu2", true;
    apc_rpdu_v2c: "apc-rpdu", false;
    apc_masterswitch_v2c: "apc-masterswitch", false;
    apc_masterswitch_v1: "apc-masterswitch", true;
    apc_masterswitch_plus_v2c: "apc-masterswitch-plus", false;
    eaton_g3_v2c: "eaton-g3", false;
    eaton_g3_v1: "eaton-g3", true;
    eaton_epdu_v2c: "eaton-epdu", false;
    raritan_px2_v2c: "raritan-px2", false;
    tripplite_v2c: "tripplite", false;
}

#[test]
fn every_simulated_model_is_detected_as_itself() {
    // The model files carry a sysObjectID each; detection must map it back to the same id.
    let dir = pdu::sim_dir().join("pdu-models");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let sys = text
            .lines()
            .find_map(|l| l.strip_prefix("sysobjectid"))
            .unwrap()
            .trim();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let got = model::detect(&sys.parse().unwrap()).map(|m| m.id.to_string());
        assert_eq!(got.as_deref(), Some(stem.as_str()), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 6);
}

#[test]
fn eaton_g3_pending_state_is_not_off() {
    // A slow relay: while the off is pending the status reads pendingOff, never Off.
    let sim = PduSim::start(SimConfig::new("eaton-g3").env("PDU_SWITCH_DELAY", "1.5"));
    let mut dev = connect(&sim, &v2c("private"));
    let d = deadline();
    dev.set_outlet(1, PowerAction::Off, &d).unwrap();
    assert_eq!(dev.outlet_state(1, &d).unwrap(), OutletState::PendingOff);
    assert!(!OutletState::PendingOff.is_settled());
    assert_eq!(sim.state(1), "on");
    assert!(wait_state(&mut dev, 1, OutletState::Off));
    assert_eq!(sim.state(1), "off");
}

#[test]
fn outlet_that_ignores_commands_stays_on() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    sim.ignore_commands(true, &[2]);
    let mut dev = connect(&sim, &v2c("private"));
    let d = deadline();
    dev.set_outlet(2, PowerAction::Off, &d).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(dev.outlet_state(2, &d).unwrap(), OutletState::On);
    assert_eq!(sim.state(2), "on");
    // other outlets still obey
    dev.set_outlet(3, PowerAction::Off, &d).unwrap();
    assert!(wait_state(&mut dev, 3, OutletState::Off));
}

#[test]
fn per_outlet_hook_runs_on_off() {
    let sim = PduSim::start(SimConfig::new("raritan-px2"));
    let marker = sim.dir.join("cut");
    sim.set_hook(
        2,
        "off",
        &format!(
            "echo \"$PDU_OUTLET $PDU_OUTLET_NAME $PDU_ACTION\" > {}",
            marker.display()
        ),
    );
    let mut dev = connect(&sim, &v2c("private"));
    let d = deadline();
    dev.set_outlet(1, PowerAction::Off, &d).unwrap();
    dev.set_outlet(2, PowerAction::Off, &d).unwrap();
    // The shell creates the file before echo writes into it: wait for a whole line.
    let end = Instant::now() + Duration::from_secs(5);
    let mut got = String::new();
    while !got.ends_with('\n') && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        got = std::fs::read_to_string(&marker).unwrap_or_default();
    }
    assert_eq!(got.trim(), "2 node2 off");
}

#[test]
fn custom_model_drives_the_simulator() {
    // model=custom with the rPDU2 OIDs (plain column OIDs, reversed values) works like the
    // built-in model.
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let custom = model::CustomModel {
        status_oid: ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5".into(),
        control_oid: ".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5".into(),
        on_state: 2,
        off_state: 1,
        on_command: 1,
        off_command: 2,
        reboot_command: None,
        name_oid: Some(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.3".into()),
        unit: 0,
    }
    .build()
    .unwrap();
    let d = deadline();
    let mut dev = PduDevice::connect(
        &sim.target(),
        &v2c("private"),
        ModelChoice::Given(Box::new(custom)),
        None,
        &d,
    )
    .unwrap();
    dev.set_outlet(5, PowerAction::Off, &d).unwrap();
    assert!(wait_state(&mut dev, 5, OutletState::Off));
    assert_eq!(sim.state(5), "off");
    assert_eq!(dev.resolve(&OutletRef::parse("node1"), &d).unwrap(), 1);
}

#[test]
fn wrong_model_gives_an_error_not_a_state() {
    // Forcing the Eaton G3 model on an APC rPDU2: the OIDs do not exist there.
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let d = deadline();
    let g3 = model::by_id("eaton-g3").unwrap().clone();
    let mut dev = PduDevice::connect(
        &sim.target(),
        &v2c("private"),
        ModelChoice::Given(Box::new(g3)),
        None,
        &d,
    )
    .unwrap();
    assert!(matches!(
        dev.outlet_state(1, &d),
        Err(PduError::NoSuchOutlet { .. })
    ));
    assert!(dev.set_outlet(1, PowerAction::Off, &d).is_err());
    assert_eq!(sim.state(1), "on");
}
