//! Fault injection between the IPMI client and a real ipmi_sim: lost, late and corrupted
//! datagrams are retried within the deadline; a BMC that never answers is reported as such; a
//! corrupted or stuck reply never turns into a wrong power reading.

mod support;

use support::{bmc, udp_proxy};

use bmc::Bmc;
use bulwark::deadline::Deadline;
use bulwark::proto::ipmi::{
    AuthType, ChassisCommand, CipherSuite, Interface, IpmiTarget, PowerState, Retry, Session,
};
use bulwark::secret::Secret;
use std::time::Duration;
use udp_proxy::UdpProxy;

const PLUS3: Interface = Interface::LanPlus {
    cipher: Some(CipherSuite::Suite3),
};

fn setup() -> (Bmc, UdpProxy) {
    let bmc = Bmc::start();
    let proxy = UdpProxy::start(([127, 0, 0, 1], bmc.port).into());
    (bmc, proxy)
}

fn target(proxy: &UdpProxy, interface: Interface) -> IpmiTarget {
    let mut t = IpmiTarget::new(
        "127.0.0.1".parse().unwrap(),
        bmc::ADMIN,
        Secret::from("pass"),
    );
    t.port = proxy.port;
    t.interface = interface;
    // Quick resends keep the tests short; the logic is the same as with the defaults.
    t.retry = Retry {
        first_wait: Duration::from_millis(50),
        max_wait: Duration::from_millis(200),
        probe_budget: Duration::from_millis(300),
    };
    t
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(15))
}

#[test]
fn lost_requests_are_resent() {
    for interface in [
        PLUS3,
        Interface::Lan {
            auth: Some(AuthType::Md5),
        },
    ] {
        let (bmc, proxy) = setup();
        proxy.faults(|f| f.drop_requests = 3);
        let mut s = Session::open(&target(&proxy, interface), deadline())
            .unwrap_or_else(|e| panic!("{interface:?}: {e}"));
        assert_eq!(s.power_state().unwrap(), PowerState::On);
        assert_eq!(proxy.counts().dropped, 3);
        // A lost Chassis Control is resent too, and the hook sees the power go off.
        proxy.faults(|f| f.drop_requests = 1);
        s.chassis_control(ChassisCommand::PowerDown).unwrap();
        assert_eq!(bmc.power_on(), Some(false));
        assert_eq!(s.power_state().unwrap(), PowerState::Off);
        assert_eq!(proxy.counts().dropped, 4);
    }
}

#[test]
fn lost_replies_are_recovered_at_every_step() {
    // Drop the n-th reply for every n over a whole session, so each step (channel auth, open
    // session, RAKP 2, RAKP 4, privilege, status, control) loses its answer once.
    for interface in [PLUS3, Interface::Lan { auth: None }] {
        for n in 0..7 {
            let (bmc, proxy) = setup();
            proxy.faults(|f| f.drop_nth_reply = Some(n));
            let mut s = Session::open(&target(&proxy, interface), deadline())
                .unwrap_or_else(|e| panic!("{interface:?} drop reply {n}: {e}"));
            assert_eq!(s.power_state().unwrap(), PowerState::On);
            s.chassis_control(ChassisCommand::PowerDown).unwrap();
            assert_eq!(bmc.power_on(), Some(false));
            drop(s); // for lan, reply 6 is the Close Session acknowledgement
            assert_eq!(proxy.counts().dropped, 1, "{interface:?} drop reply {n}");
        }
    }
}

#[test]
fn late_replies_are_accepted() {
    for interface in [PLUS3, Interface::Lan { auth: None }] {
        let (bmc, proxy) = setup();
        // Every datagram arrives after the client has already resent it at least once.
        proxy.faults(|f| f.delay = Duration::from_millis(120));
        let mut s = Session::open(&target(&proxy, interface), deadline())
            .unwrap_or_else(|e| panic!("{interface:?}: {e} {:?}", proxy.counts()));
        s.chassis_control(ChassisCommand::PowerDown).unwrap();
        assert_eq!(s.power_state().unwrap(), PowerState::Off);
        assert_eq!(bmc.power_on(), Some(false));
        s.chassis_control(ChassisCommand::PowerUp).unwrap();
        assert_eq!(s.power_state().unwrap(), PowerState::On);
    }
}

#[test]
fn corrupted_replies_are_rejected_and_retried() {
    for interface in [
        PLUS3,
        Interface::Lan {
            auth: Some(AuthType::Md5),
        },
    ] {
        let (bmc, proxy) = setup();
        let mut s = Session::open(&target(&proxy, interface), deadline()).unwrap();
        bmc.set_power(false);
        // The next two replies have their last byte flipped (integrity trailer or checksum);
        // they must be thrown away, not read as a power state.
        proxy.faults(|f| f.corrupt_replies = 2);
        assert_eq!(s.power_state().unwrap(), PowerState::Off);
        assert_eq!(proxy.counts().corrupted, 2);
        bmc.set_power(true);
        assert_eq!(s.power_state().unwrap(), PowerState::On);
    }
}

#[test]
fn a_silent_bmc_is_no_answer_within_the_deadline() {
    let (_bmc, proxy) = setup();
    proxy.faults(|f| f.blackhole = true);
    let budget = Duration::from_millis(600);
    let start = std::time::Instant::now();
    let err = Session::open(&target(&proxy, PLUS3), Deadline::after(budget)).unwrap_err();
    let line = err.to_string();
    assert!(err.is_no_answer(), "{line}");
    assert!(
        line.starts_with(&format!(
            "no answer from 127.0.0.1:{} within 0.",
            proxy.port
        )),
        "{line}"
    );
    // It kept resending inside the deadline, and gave up at it (slack: not a timing test).
    assert!(proxy.counts().dropped >= 3, "{:?}", proxy.counts());
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_bmc_going_silent_mid_session_fails_the_command() {
    let (bmc, proxy) = setup();
    let mut s = Session::open(&target(&proxy, PLUS3), deadline()).unwrap();
    proxy.faults(|f| f.blackhole = true);
    s.set_deadline(Deadline::after(Duration::from_millis(400)));
    let err = s.power_state().unwrap_err();
    assert!(err.is_no_answer(), "{err}");
    assert!(err.to_string().contains("Get Chassis Status"), "{err}");
    assert_eq!(bmc.power_on(), Some(true));
}

#[test]
fn a_stuck_chassis_is_reported_as_still_on() {
    let (bmc, proxy) = setup();
    bmc.set_stuck(true);
    let mut s = Session::open(&target(&proxy, PLUS3), deadline()).unwrap();
    // The BMC accepts the command but the power never goes off: the reading must say so.
    s.chassis_control(ChassisCommand::PowerDown).unwrap();
    for _ in 0..3 {
        assert_eq!(s.power_state().unwrap(), PowerState::On);
    }
    assert!(
        bmc.calls().iter().any(|c| c.contains("STUCK")),
        "{:?}",
        bmc.calls()
    );
}
