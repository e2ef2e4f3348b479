//! The IPMI client against a real OpenIPMI `ipmi_sim` on loopback (lanplus cipher 3, lan v1.5),
//! the power state observed through the simulator's chassis hook and cross-checked with
//! ipmitool.

mod support;

use support::bmc;

use bmc::Bmc;
use bulwark::deadline::Deadline;
use bulwark::proto::ipmi::{
    AuthFailure, AuthType, ChassisCommand, CipherSuite, Interface, IpmiError, IpmiTarget,
    Negotiated, PowerState, Privilege, Session,
};
use bulwark::secret::Secret;
use std::time::Duration;

fn target(bmc: &Bmc, user: &str, password: &str, interface: Interface) -> IpmiTarget {
    let mut t = IpmiTarget::new("127.0.0.1".parse().unwrap(), user, Secret::from(password));
    t.port = bmc.port;
    t.interface = interface;
    t
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(20))
}

const PLUS3: Interface = Interface::LanPlus {
    cipher: Some(CipherSuite::Suite3),
};

#[test]
fn lanplus_suite3_status_off_on_cycle() {
    let bmc = Bmc::start();
    let t = target(&bmc, bmc::ADMIN, "pass", PLUS3);
    let mut s = Session::open(&t, deadline()).expect("open");
    assert_eq!(
        s.negotiated(),
        Negotiated::LanPlus {
            cipher: CipherSuite::Suite3
        }
    );
    assert_eq!(s.privilege(), Privilege::Administrator);
    assert_eq!(s.power_state().unwrap(), PowerState::On);

    s.chassis_control(ChassisCommand::PowerDown).unwrap();
    assert_eq!(bmc.power_on(), Some(false));
    assert_eq!(s.power_state().unwrap(), PowerState::Off);
    assert_eq!(bmc.ipmitool("lanplus", "status").1, "Chassis Power is off");

    s.chassis_control(ChassisCommand::PowerUp).unwrap();
    assert_eq!(bmc.power_on(), Some(true));
    assert_eq!(s.power_state().unwrap(), PowerState::On);
    assert_eq!(bmc.ipmitool("lanplus", "status").1, "Chassis Power is on");

    s.chassis_control(ChassisCommand::PowerCycle).unwrap();
    s.close();
    let calls = bmc.calls();
    assert!(
        calls.iter().any(|c| c == "0x20 set power 0")
            && calls.iter().any(|c| c == "0x20 set power 1"),
        "{calls:?}"
    );
}

#[test]
fn lan_v15_each_auth_type_status_off_on() {
    let bmc = Bmc::start();
    for auth in [
        None,
        Some(AuthType::Md5),
        Some(AuthType::Md2),
        Some(AuthType::Password),
    ] {
        let t = target(&bmc, bmc::ADMIN, "pass", Interface::Lan { auth });
        let mut s = Session::open(&t, deadline()).unwrap_or_else(|e| panic!("{auth:?}: {e}"));
        assert_eq!(
            s.negotiated(),
            Negotiated::Lan {
                auth: auth.unwrap_or(AuthType::Md5)
            }
        );
        assert_eq!(s.power_state().unwrap(), PowerState::On, "{auth:?}");
        s.chassis_control(ChassisCommand::PowerDown).unwrap();
        assert_eq!(bmc.power_on(), Some(false), "{auth:?}");
        assert_eq!(s.power_state().unwrap(), PowerState::Off, "{auth:?}");
        assert_eq!(bmc.ipmitool("lan", "status").1, "Chassis Power is off");
        s.chassis_control(ChassisCommand::PowerUp).unwrap();
        assert_eq!(bmc.power_on(), Some(true), "{auth:?}");
        assert_eq!(bmc.ipmitool("lanplus", "status").1, "Chassis Power is on");
    }
}

#[test]
fn negotiation_without_cipher_falls_back_to_suite3() {
    let bmc = Bmc::start();
    let t = target(
        &bmc,
        bmc::ADMIN,
        "pass",
        Interface::LanPlus { cipher: None },
    );
    let mut s = Session::open(&t, deadline()).expect("open");
    assert_eq!(
        s.negotiated(),
        Negotiated::LanPlus {
            cipher: CipherSuite::Suite3
        }
    );
    assert_eq!(s.power_state().unwrap(), PowerState::On);
}

#[test]
fn pinned_suite17_is_refused_cleanly_by_ipmi_sim() {
    let bmc = Bmc::start();
    let t = target(
        &bmc,
        bmc::ADMIN,
        "pass",
        Interface::LanPlus {
            cipher: Some(CipherSuite::Suite17),
        },
    );
    match Session::open(&t, deadline()) {
        Err(IpmiError::SessionRefused { status, .. }) => assert!(status.rejects_algorithms()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_password_is_an_authentication_failure() {
    let bmc = Bmc::start();
    let t = target(&bmc, bmc::ADMIN, "not-the-pass", PLUS3);
    let err = Session::open(&t, deadline()).unwrap_err();
    assert!(
        matches!(
            err,
            IpmiError::AuthenticationFailed {
                reason: AuthFailure::WrongPassword,
                ..
            }
        ),
        "{err}"
    );
    let line = err.to_string();
    assert!(
        line.starts_with("authentication failed at 127.0.0.1:"),
        "{line}"
    );
    assert!(!line.contains("not-the-pass") && !format!("{err:?}").contains("not-the-pass"));
    assert_eq!(bmc.power_on(), Some(true));
}

#[test]
fn wrong_password_v15_is_not_a_success() {
    let bmc = Bmc::start();
    let mut t = target(
        &bmc,
        bmc::ADMIN,
        "not-the-pass",
        Interface::Lan {
            auth: Some(AuthType::Md5),
        },
    );
    t.retry.first_wait = Duration::from_millis(100);
    t.retry.max_wait = Duration::from_millis(200);
    let err = Session::open(&t, Deadline::after(Duration::from_secs(5))).unwrap_err();
    let line = err.to_string();
    assert!(
        matches!(
            err,
            IpmiError::AuthenticationFailed {
                reason: AuthFailure::ActivationIgnored,
                ..
            }
        ),
        "{line}"
    );
    assert!(
        line.starts_with("authentication failed at 127.0.0.1:"),
        "{line}"
    );
    assert!(!line.contains("not-the-pass") && !format!("{err:?}").contains("not-the-pass"));
}

#[test]
fn unknown_user_is_an_authentication_failure() {
    let bmc = Bmc::start();
    let t = target(&bmc, "nobody", "pass", PLUS3);
    let err = Session::open(&t, deadline()).unwrap_err();
    assert!(err.is_authentication(), "{err}");
}

#[test]
fn operator_may_power_but_user_level_may_not() {
    let bmc = Bmc::start();
    // The operator account may power the chassis at operator level ...
    let mut t = target(&bmc, bmc::OPERATOR, "pass", PLUS3);
    t.privilege = Privilege::Operator;
    let mut s = Session::open(&t, deadline()).expect("operator session");
    assert_eq!(s.privilege(), Privilege::Operator);
    s.chassis_control(ChassisCommand::PowerDown).unwrap();
    assert_eq!(bmc.power_on(), Some(false));
    drop(s);
    // A user-level session can read the state but chassis control is refused (0xD4).
    let mut t = target(&bmc, bmc::PLAIN_USER, "pass", PLUS3);
    t.privilege = Privilege::User;
    let mut s = Session::open(&t, deadline()).expect("user session");
    assert_eq!(s.power_state().unwrap(), PowerState::Off);
    let err = s.chassis_control(ChassisCommand::PowerUp).unwrap_err();
    assert!(
        matches!(err, IpmiError::InsufficientPrivilege { .. }),
        "{err}"
    );
    assert_eq!(bmc.power_on(), Some(false));
}

#[test]
fn sessions_are_closed_on_drop() {
    // ipmi_sim has a small session table; without Close Session it fills up and new sessions
    // are refused. Many more sequential sessions than slots prove every one was closed.
    let bmc = Bmc::start();
    for interface in [PLUS3, Interface::Lan { auth: None }] {
        let t = target(&bmc, bmc::ADMIN, "pass", interface);
        for i in 0..80 {
            let mut s = Session::open(&t, deadline())
                .unwrap_or_else(|e| panic!("session {i} over {interface:?}: {e}"));
            assert_eq!(s.power_state().unwrap(), PowerState::On);
        }
    }
}

#[test]
fn nothing_listening_is_no_answer_within_the_deadline() {
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let mut t = IpmiTarget::new("127.0.0.1".parse().unwrap(), "admin", Secret::from("pass"));
    t.port = port;
    t.retry.first_wait = Duration::from_millis(100);
    let start = std::time::Instant::now();
    let err = Session::open(&t, Deadline::after(Duration::from_millis(700))).unwrap_err();
    let line = err.to_string();
    assert!(err.is_no_answer(), "{line}");
    assert!(
        line.starts_with(&format!("no answer from 127.0.0.1:{port} within 0.")),
        "{line}"
    );
    // Bounded by the deadline (generous slack: this is not a timing test).
    assert!(start.elapsed() < Duration::from_secs(5));
}
