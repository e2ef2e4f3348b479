//! The SNMP client against a real net-snmp agent (the PDU simulator): SNMPv3 security levels and
//! protocols, the two failure kinds the fence agent must tell apart (authentication failure vs
//! no response), missing objects, refused SETs and dropped answers.

mod support;

use support::pdu;

use std::time::Duration;

use bulwark::deadline::Deadline;
use bulwark::proto::snmp::{
    AuthProtocol, Credentials, Missing, ModelChoice, Oid, OutletState, PduDevice, PduError,
    PowerAction, PrivProtocol, Session, SnmpError, UsmUser, Value,
};
use bulwark::secret::Secret;
use pdu::{PduSim, SimConfig, SimUser};

const AUTH: &str = "authpass-4711";
const PRIV: &str = "privpass-0815";

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(20))
}

fn sys_object_id() -> Oid {
    Oid::parse(".1.3.6.1.2.1.1.2.0").unwrap()
}

fn usm(
    name: &str,
    auth: Option<(AuthProtocol, &str)>,
    privacy: Option<(PrivProtocol, &str)>,
) -> Credentials {
    Credentials::V3(UsmUser {
        name: name.into(),
        auth: auth.map(|(p, s)| (p, Secret::from(s))),
        privacy: privacy.map(|(p, s)| (p, Secret::from(s))),
    })
}

/// (sim user, client auth, client priv) — net-snmp names on the left, ours on the right.
fn matrix() -> Vec<(SimUser, Option<AuthProtocol>, Option<PrivProtocol>)> {
    let mut m = Vec::new();
    let pairs: [(&str, AuthProtocol, &str, PrivProtocol); 7] = [
        (
            "SHA-256",
            AuthProtocol::Sha256,
            "AES-256",
            PrivProtocol::Aes256,
        ),
        ("SHA", AuthProtocol::Sha1, "AES", PrivProtocol::Aes128),
        (
            "SHA-512",
            AuthProtocol::Sha512,
            "AES-256",
            PrivProtocol::Aes256,
        ),
        (
            "SHA-224",
            AuthProtocol::Sha224,
            "AES-192",
            PrivProtocol::Aes192,
        ),
        ("SHA", AuthProtocol::Sha1, "AES-256", PrivProtocol::Aes256),
        (
            "SHA",
            AuthProtocol::Sha1,
            "AES-256-C",
            PrivProtocol::Aes256Reeder,
        ),
        ("MD5", AuthProtocol::Md5, "DES", PrivProtocol::Des),
    ];
    for (i, (a, ca, p, cp)) in pairs.into_iter().enumerate() {
        m.push((
            SimUser::new(&format!("priv{i}"), Some((a, AUTH)), Some((p, PRIV))),
            Some(ca),
            Some(cp),
        ));
    }
    m.push((
        SimUser::new("authmd5", Some(("MD5", AUTH)), None),
        Some(AuthProtocol::Md5),
        None,
    ));
    m.push((
        SimUser::new("authsha384", Some(("SHA-384", AUTH)), None),
        Some(AuthProtocol::Sha384),
        None,
    ));
    m.push((SimUser::new("noauth", None, None), None, None));
    m
}

#[test]
fn v3_security_levels_and_protocols() {
    let mut cfg = SimConfig::new("apc-rpdu2");
    for (u, _, _) in matrix() {
        cfg = cfg.user(u);
    }
    let sim = PduSim::start(cfg);
    for (u, a, p) in matrix() {
        let creds = usm(&u.name, a.map(|a| (a, AUTH)), p.map(|p| (p, PRIV)));
        let d = deadline();
        let mut dev = PduDevice::connect(&sim.target(), &creds, ModelChoice::Detect, None, &d)
            .unwrap_or_else(|e| panic!("{}: {e}", u.name));
        assert_eq!(dev.model().id, "apc-rpdu2");
        assert_eq!(
            dev.outlet_state(1, &d).unwrap(),
            OutletState::On,
            "{}",
            u.name
        );
        // every user is read-write: switch outlet 6 off and on again
        dev.set_outlet(6, PowerAction::Off, &d)
            .unwrap_or_else(|e| panic!("{}: {e}", u.name));
        assert_eq!(sim.state(6), "off", "{}", u.name);
        dev.set_outlet(6, PowerAction::On, &d).unwrap();
        assert_eq!(sim.state(6), "on", "{}", u.name);
    }
}

#[test]
fn wrong_v3_credentials_are_an_authentication_failure() {
    let sim = PduSim::start(
        SimConfig::new("eaton-g3")
            .user(SimUser::new(
                "fence",
                Some(("SHA-256", AUTH)),
                Some(("AES-256", PRIV)),
            ))
            .user(SimUser::new("fence-auth", Some(("SHA-256", AUTH)), None)),
    );
    let cases = [
        (
            "wrong auth passphrase",
            usm(
                "fence",
                Some((AuthProtocol::Sha256, "wrong-pass-1")),
                Some((PrivProtocol::Aes256, PRIV)),
            ),
        ),
        (
            "wrong auth protocol",
            usm(
                "fence",
                Some((AuthProtocol::Sha512, AUTH)),
                Some((PrivProtocol::Aes256, PRIV)),
            ),
        ),
        (
            "unknown user",
            usm(
                "nobody-here",
                Some((AuthProtocol::Sha256, AUTH)),
                Some((PrivProtocol::Aes256, PRIV)),
            ),
        ),
        (
            "auth-only passphrase wrong",
            usm(
                "fence-auth",
                Some((AuthProtocol::Sha256, "wrong-pass-3")),
                None,
            ),
        ),
    ];
    for (what, creds) in cases {
        let d = deadline();
        let err = PduDevice::connect(&sim.target(), &creds, ModelChoice::Detect, None, &d)
            .and_then(|mut dev| dev.outlet_state(1, &d))
            .expect_err(what);
        let line = err.to_string();
        assert!(
            matches!(err, PduError::Snmp(SnmpError::AuthenticationFailure(_))),
            "{what}: {err:?}"
        );
        assert!(line.contains("authentication failure"), "{what}: {line}");
        assert!(
            !line.contains("wrong-pass") && !line.contains(AUTH) && !line.contains(PRIV),
            "{line}"
        );
    }
    // a wrong privacy passphrase: net-snmp cannot decrypt the request and stays silent (as it
    // does for snmpget), so this is "no response", with the v3 hint in the line
    let d = deadline();
    let wrong_priv = usm(
        "fence",
        Some((AuthProtocol::Sha256, AUTH)),
        Some((PrivProtocol::Aes256, "wrong-pass-2")),
    );
    let err = PduDevice::connect(&sim.target(), &wrong_priv, ModelChoice::Detect, None, &d)
        .and_then(|mut dev| dev.outlet_state(1, &d))
        .expect_err("wrong privacy passphrase");
    assert!(
        matches!(err, PduError::Snmp(SnmpError::NoResponse { v3: true, .. })),
        "{err:?}"
    );
    let line = err.to_string();
    assert!(
        line.contains("privacy passphrase") && !line.contains("wrong-pass"),
        "{line}"
    );
    // a lower security level than the user requires is refused by the agent (not silence)
    let d = deadline();
    let lower = usm("fence", Some((AuthProtocol::Sha256, AUTH)), None);
    let err = PduDevice::connect(&sim.target(), &lower, ModelChoice::Detect, None, &d)
        .and_then(|mut dev| dev.outlet_state(1, &d))
        .expect_err("authNoPriv for a priv user");
    assert!(
        matches!(
            err,
            PduError::Snmp(
                SnmpError::Rejected { status: 16, .. } | SnmpError::AuthenticationFailure(_)
            )
        ),
        "{err:?}"
    );
    // nothing was switched
    assert!(!sim.log().contains(" set "), "{}", sim.log());
}

#[test]
fn wrong_community_is_no_response() {
    let sim = PduSim::start(SimConfig::new("raritan-px2"));
    for creds in [
        Credentials::V2c {
            community: Secret::from("not-the-community"),
        },
        Credentials::V1 {
            community: Secret::from("not-the-community"),
        },
    ] {
        let d = deadline();
        let err =
            PduDevice::connect(&sim.target(), &creds, ModelChoice::Detect, None, &d).unwrap_err();
        match &err {
            PduError::Snmp(SnmpError::NoResponse { attempts, v3 }) => {
                assert_eq!((*attempts, *v3), (3, false))
            }
            other => panic!("{other:?}"),
        }
        let line = err.to_string();
        assert!(
            line.contains("no response") && !line.contains("not-the-community"),
            "{line}"
        );
    }
}

#[test]
fn read_only_community_cannot_switch() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let creds = Credentials::V2c {
        community: Secret::from("public"),
    };
    let d = deadline();
    let mut dev = PduDevice::connect(&sim.target(), &creds, ModelChoice::Detect, None, &d).unwrap();
    assert_eq!(dev.outlet_state(1, &d).unwrap(), OutletState::On);
    let err = dev.set_outlet(1, PowerAction::Off, &d).unwrap_err();
    assert!(
        matches!(err, PduError::Snmp(SnmpError::Rejected { .. })),
        "{err:?}"
    );
    assert_eq!(sim.state(1), "on");
}

#[test]
fn unknown_oid_is_a_clear_error_in_every_version() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").user(SimUser::new(
        "fence",
        Some(("SHA-256", AUTH)),
        Some(("AES", PRIV)),
    )));
    let missing_instance = Oid::parse(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.99").unwrap();
    let missing_object = Oid::parse(".1.3.6.1.4.1.99999.1.2.3").unwrap();
    let all = [
        (
            Credentials::V1 {
                community: Secret::from("private"),
            },
            true,
        ),
        (
            Credentials::V2c {
                community: Secret::from("private"),
            },
            false,
        ),
        (
            usm(
                "fence",
                Some((AuthProtocol::Sha256, AUTH)),
                Some((PrivProtocol::Aes128, PRIV)),
            ),
            false,
        ),
    ];
    for (creds, v1) in all {
        let d = deadline();
        let mut s = Session::open(&sim.target(), &creds, &d).unwrap();
        for oid in [&missing_instance, &missing_object] {
            let err = s.get_value(oid, &d).unwrap_err();
            match &err {
                SnmpError::Missing { oid: o, kind } => {
                    assert_eq!(o, oid);
                    if v1 {
                        assert_eq!(*kind, Missing::NoSuchName);
                    } else {
                        assert!(
                            matches!(kind, Missing::NoSuchInstance | Missing::NoSuchObject),
                            "{kind}"
                        );
                    }
                }
                other => panic!("{creds:?} {oid}: {other:?}"),
            }
            assert!(err.to_string().contains(&oid.to_string()));
        }
        // raw GET keeps the exception as a value (v2c/v3) so it cannot pass for a number
        if !v1 {
            let vbs = s
                .get(&[sys_object_id(), missing_instance.clone()], &d)
                .unwrap();
            assert!(matches!(vbs[0].value, Value::ObjectId(_)));
            assert!(vbs[1].value.exception().is_some());
        }
        // walk of the status column: exactly the 8 outlets
        let rows = s
            .walk(
                &Oid::parse(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5").unwrap(),
                &d,
            )
            .unwrap();
        assert_eq!(rows.len(), 8, "{creds:?}");
        // a walk past the end of everything ends cleanly
        let end = s
            .walk(&Oid::parse(".1.3.6.1.4.1.318.1.1.26.9.9").unwrap(), &d)
            .unwrap();
        assert!(end.is_empty());
    }
}

#[test]
fn dropped_answers_are_no_response_within_the_deadline() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_DROP_SECONDS", "1"));
    let creds = Credentials::V2c {
        community: Secret::from("private"),
    };
    let d = deadline();
    let mut dev = PduDevice::connect(&sim.target(), &creds, ModelChoice::Detect, None, &d).unwrap();
    sim.drop_responses(true);
    let short = Deadline::after(Duration::from_millis(700));
    let err = dev.outlet_state(1, &short).unwrap_err();
    assert!(
        matches!(err, PduError::Snmp(SnmpError::NoResponse { .. })),
        "{err:?}"
    );
    sim.drop_responses(false);
    // Late answers to the dropped requests may still arrive; the session must skip them.
    std::thread::sleep(Duration::from_millis(1200));
    let d = deadline();
    assert_eq!(dev.outlet_state(1, &d).unwrap(), OutletState::On);
    assert_eq!(dev.outlet_state(2, &d).unwrap(), OutletState::On);
}

#[test]
fn expired_deadline_sends_nothing() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let creds = Credentials::V2c {
        community: Secret::from("private"),
    };
    let d = deadline();
    let mut dev = PduDevice::connect(&sim.target(), &creds, ModelChoice::Detect, None, &d).unwrap();
    let gone = Deadline::after(Duration::ZERO);
    let err = dev.set_outlet(1, PowerAction::Off, &gone).unwrap_err();
    assert!(
        matches!(err, PduError::Snmp(SnmpError::DeadlineExpired)),
        "{err:?}"
    );
    assert_eq!(sim.state(1), "on");
    assert!(!sim.log().contains(" set "));
}
