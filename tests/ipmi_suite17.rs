//! Cipher suite 17 end to end against a scripted BMC on loopback (tests/support/fake_bmc.rs).
//! ipmi_sim has no suite 17 and the double speaks with the crate's own crypto, so before it
//! serves our client it must be accepted by two clients we did not write: ipmitool
//! (`-I lanplus -C 17` and `-C 3`) and FreeIPMI (`ipmi-chassis` and `ipmipower`,
//! `--driver-type=LAN_2_0 --cipher-suite-id=17` and 3), for chassis status/on/off/cycle, each
//! run watched for the password in any process's argv. Every client test calls
//! [`double_is_trusted`] first. Then: negotiation (17 accepted, refused, ignored, answered with
//! suite 3's algorithms), RAKP with and without Kg, keys in use for integrity and AES-CBC-128,
//! privilege raise, chassis commands, Close Session, and a BMC that drops every authenticated
//! packet after the handshake.

mod support;

use support::{bmc, fake_bmc};

use bulwark::deadline::Deadline;
use bulwark::proto::ipmi::crypto::CipherSuite;
use bulwark::proto::ipmi::{
    AuthFailure, ChassisCommand, Interface, IpmiError, IpmiTarget, Negotiated, PowerState, Retry,
    Session,
};
use bulwark::secret::Secret;
use fake_bmc::{FakeBmc, On17};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use support::argv::ArgvWatch;
use support::{unique_secret, LabDir};

fn start(password: &str, kg: Option<&[u8]>, on17: On17) -> FakeBmc {
    fake_bmc::start(Some("admin"), password, kg, on17)
}

/// Runs an independent client with the argv watch on; returns (success, stdout + stderr).
fn watched(cmd: &mut Command, password: &str) -> (bool, String) {
    let watch = ArgvWatch::start(password);
    let out = support::run_within(
        cmd.stdin(std::process::Stdio::null()),
        Duration::from_secs(60),
    );
    let w = watch.stop();
    assert!(w.scans > 0, "the argv watch never ran");
    assert!(w.hits.is_empty(), "password in argv: {:?}", w.hits);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `ipmitool -I lanplus -C <suite> ... <args>`, password through the environment (-E).
fn ipmitool(bmc: &FakeBmc, password: &str, suite: u8, args: &[&str]) -> (bool, String) {
    watched(
        Command::new("ipmitool")
            .args(["-I", "lanplus", "-C", &suite.to_string(), "-H", "127.0.0.1"])
            .args(["-p", &bmc.port.to_string(), "-U", "admin", "-E"])
            .args(["-L", "ADMINISTRATOR", "-N", "1", "-R", "3"])
            .args(args)
            .env("IPMI_PASSWORD", password),
        password,
    )
}

/// A FreeIPMI tool (`ipmi-chassis`, `ipmipower`) over LAN_2_0 with cipher suite `suite`; user
/// and password come from a configuration file, never argv.
fn freeipmi(tool: &str, bmc: &FakeBmc, password: &str, suite: u8, args: &[&str]) -> (bool, String) {
    let dir = LabDir::new("freeipmi");
    let conf = dir.path().join("freeipmi.conf");
    std::fs::write(
        &conf,
        format!("username admin\npassword {password}\nprivilege-level ADMIN\n"),
    )
    .unwrap();
    watched(
        Command::new(tool)
            .arg(format!("--hostname=127.0.0.1:{}", bmc.port))
            .args([
                "--driver-type=LAN_2_0",
                &format!("--cipher-suite-id={suite}"),
            ])
            .arg(format!("--config-file={}", conf.display()))
            .args(["--session-timeout=5000", "--retransmission-timeout=500"])
            .args(args),
        password,
    )
}

fn assert_ok(what: &str, (ok, out): (bool, String), want: &str) {
    assert!(
        ok && out.to_lowercase().contains(&want.to_lowercase()),
        "{what}: expected '{want}' in: {out}"
    );
}

/// ipmitool with suite `suite`: status, off, status, on, cycle, each checked in the double.
fn ipmitool_drives_the_double(suite: u8) {
    let password = unique_secret("Pw");
    let bmc = start(&password, None, On17::Accept);
    let what = format!("ipmitool -C {suite}");
    assert_ok(
        &what,
        ipmitool(&bmc, &password, suite, &["chassis", "status"]),
        "System Power         : on",
    );
    assert_ok(
        &what,
        ipmitool(&bmc, &password, suite, &["chassis", "power", "off"]),
        "Down/Off",
    );
    assert!(!bmc.power_on(), "{what}: {:?}", bmc.log());
    assert_ok(
        &what,
        ipmitool(&bmc, &password, suite, &["chassis", "power", "status"]),
        "Chassis Power is off",
    );
    assert_ok(
        &what,
        ipmitool(&bmc, &password, suite, &["chassis", "power", "on"]),
        "Up/On",
    );
    assert!(bmc.power_on());
    assert_ok(
        &what,
        ipmitool(&bmc, &password, suite, &["chassis", "power", "cycle"]),
        "Cycle",
    );
    let log = bmc.log();
    assert!(log.contains(&"cycled".to_string()), "{log:?}");
    let (a, i, c) = CipherSuite::from_id(suite).unwrap().algorithm_ids();
    assert!(log.contains(&format!("open ({a}, {i}, {c})")), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("bad packet")), "{log:?}");
    // A wrong password is refused by the double, as a BMC would.
    let (ok, out) = ipmitool(&bmc, "wrong-password", suite, &["chassis", "status"]);
    assert!(!ok, "wrong password accepted: {out}");
}

/// FreeIPMI with suite `suite`: ipmi-chassis status; ipmipower off, stat, on, cycle.
fn freeipmi_drives_the_double(suite: u8) {
    let password = unique_secret("Pw");
    let bmc = start(&password, None, On17::Accept);
    let what = format!("FreeIPMI cipher suite {suite}");
    assert_ok(
        &what,
        freeipmi(
            "ipmi-chassis",
            &bmc,
            &password,
            suite,
            &["--get-chassis-status"],
        ),
        "System Power",
    );
    assert_ok(
        &what,
        freeipmi("ipmipower", &bmc, &password, suite, &["--off"]),
        "ok",
    );
    assert!(!bmc.power_on(), "{what}: {:?}", bmc.log());
    assert_ok(
        &what,
        freeipmi("ipmipower", &bmc, &password, suite, &["--stat"]),
        ": off",
    );
    assert_ok(
        &what,
        freeipmi("ipmipower", &bmc, &password, suite, &["--on"]),
        "ok",
    );
    assert!(bmc.power_on());
    assert_ok(
        &what,
        freeipmi("ipmipower", &bmc, &password, suite, &["--cycle"]),
        "ok",
    );
    let log = bmc.log();
    assert!(log.contains(&"cycled".to_string()), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("bad packet")), "{log:?}");
    let (ok, out) = freeipmi(
        "ipmi-chassis",
        &bmc,
        "wrong-password",
        suite,
        &["--get-chassis-status"],
    );
    assert!(!ok, "wrong password accepted: {out}");
}

#[test]
fn ipmitool_cipher17_accepts_the_double() {
    ipmitool_drives_the_double(17);
}

#[test]
fn ipmitool_cipher3_accepts_the_double() {
    ipmitool_drives_the_double(3);
}

#[test]
fn freeipmi_cipher17_accepts_the_double() {
    freeipmi_drives_the_double(17);
}

#[test]
fn freeipmi_cipher3_accepts_the_double() {
    freeipmi_drives_the_double(3);
}

/// The gate before any test of our client: both independent clients complete a suite-17
/// session (status read and an authenticated chassis command) with a fresh double.
fn double_is_trusted() {
    static TRUSTED: OnceLock<()> = OnceLock::new();
    TRUSTED.get_or_init(|| {
        let password = unique_secret("Pw");
        let bmc = start(&password, None, On17::Accept);
        assert_ok(
            "gate: ipmitool -C 17",
            ipmitool(&bmc, &password, 17, &["chassis", "power", "off"]),
            "Down/Off",
        );
        assert_ok(
            "gate: ipmi-chassis suite 17",
            freeipmi(
                "ipmi-chassis",
                &bmc,
                &password,
                17,
                &["--get-chassis-status"],
            ),
            "System Power                        : off",
        );
    });
}

fn target(
    bmc: &FakeBmc,
    password: &str,
    kg: Option<&[u8]>,
    cipher: Option<CipherSuite>,
) -> IpmiTarget {
    let mut t = IpmiTarget::new(
        "127.0.0.1".parse().unwrap(),
        "admin",
        Secret::from(password),
    );
    t.port = bmc.port;
    t.kg = kg.map(|k| Secret::new(k.to_vec()));
    t.interface = Interface::LanPlus { cipher };
    t.retry = Retry {
        first_wait: Duration::from_millis(50),
        max_wait: Duration::from_millis(200),
        probe_budget: Duration::from_millis(300),
    };
    t
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

#[test]
fn suite17_negotiated_and_used_end_to_end() {
    double_is_trusted();
    let bmc = start("pass", None, On17::Accept);
    let mut s = Session::open(&target(&bmc, "pass", None, None), deadline()).unwrap();
    assert_eq!(
        s.negotiated(),
        Negotiated::LanPlus {
            cipher: CipherSuite::Suite17
        }
    );
    assert_eq!(s.power_state().unwrap(), PowerState::On);
    s.chassis_control(ChassisCommand::PowerDown).unwrap();
    assert_eq!(s.power_state().unwrap(), PowerState::Off);
    s.close();
    let log = bmc.state.lock().unwrap().log.clone();
    assert!(log.contains(&"open (3, 4, 1)".to_string()), "{log:?}");
    assert!(log.contains(&"cmd 06/3b [04]".to_string()), "{log:?}");
    assert!(log.contains(&"cmd 00/02 [00]".to_string()), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("cmd 06/3c")), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("bad packet")), "{log:?}");
}

#[test]
fn suite17_with_kg() {
    double_is_trusted();
    let kg: &[u8] =
        b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14";
    let bmc = start("pass", Some(kg), On17::Accept);
    let cipher = Some(CipherSuite::Suite17);
    let mut s = Session::open(&target(&bmc, "pass", Some(kg), cipher), deadline()).unwrap();
    assert_eq!(s.power_state().unwrap(), PowerState::On);
    drop(s);
    let err = Session::open(&target(&bmc, "pass", Some(b"wrong"), cipher), deadline()).unwrap_err();
    assert!(
        matches!(
            err,
            IpmiError::AuthenticationFailed {
                reason: AuthFailure::WrongKg,
                ..
            }
        ),
        "{err}"
    );
    let err = Session::open(&target(&bmc, "pass", None, cipher), deadline()).unwrap_err();
    assert!(
        matches!(
            err,
            IpmiError::AuthenticationFailed {
                reason: AuthFailure::SessionKeyMismatch,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn suite17_wrong_password() {
    double_is_trusted();
    let bmc = start("pass", None, On17::Accept);
    let err = Session::open(&target(&bmc, "passx", None, None), deadline()).unwrap_err();
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
    assert!(!format!("{err} {err:?}").contains("passx"));
}

#[test]
fn refused_or_ignored_suite17_falls_back_to_suite3() {
    double_is_trusted();
    for on17 in [On17::Refuse, On17::Ignore] {
        let bmc = start("pass", None, on17);
        let mut s = Session::open(&target(&bmc, "pass", None, None), deadline()).unwrap();
        assert_eq!(
            s.negotiated(),
            Negotiated::LanPlus {
                cipher: CipherSuite::Suite3
            }
        );
        s.chassis_control(ChassisCommand::PowerDown).unwrap();
        assert!(!bmc.state.lock().unwrap().power_on);
        let log = bmc.state.lock().unwrap().log.clone();
        assert_eq!(log.last().map(String::as_str), Some("cmd 00/02 [00]"));
        assert!(log.iter().any(|l| l == "open (1, 1, 1)"), "{log:?}");
    }
}

/// pyghmi's BMC answers an offer of suite 17 with suite 3's algorithms. With automatic
/// selection we use what it offered (as ipmitool does); with cipher=17 named, we refuse.
#[test]
fn suite17_answered_with_suite3_algorithms() {
    double_is_trusted();
    let bmc = start("pass", None, On17::OfferSuite3);
    let mut s = Session::open(&target(&bmc, "pass", None, None), deadline()).unwrap();
    assert_eq!(
        s.negotiated(),
        Negotiated::LanPlus {
            cipher: CipherSuite::Suite3
        }
    );
    s.chassis_control(ChassisCommand::PowerDown).unwrap();
    assert_eq!(s.power_state().unwrap(), PowerState::Off);
    let log = bmc.log();
    assert_eq!(
        log.iter().filter(|l| l.starts_with("open")).count(),
        1,
        "no second Open Session: {log:?}"
    );
    let err = Session::open(
        &target(&bmc, "pass", None, Some(CipherSuite::Suite17)),
        deadline(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("other algorithms (1, 1, 1)"),
        "{err}"
    );
}

/// A handshake that succeeds but whose authenticated packets are all dropped (K1/K2 differ:
/// the Const_n defect as a BMC saw it) is named as such, not as a network problem.
#[test]
fn suite17_no_authenticated_reply_after_the_handshake_is_named() {
    double_is_trusted();
    let bmc = start("pass", None, On17::DropAfterHandshake);
    let t = target(&bmc, "pass", None, Some(CipherSuite::Suite17));
    let err = Session::open(&t, Deadline::after(Duration::from_secs(2))).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no authenticated reply from 127.0.0.1:{} after the handshake: keys or cipher suite rejected (try cipher=3)",
            bmc.port
        )
    );
}

/// `fence_bulwark_ipmi` as pacemaker-fenced runs it against the double: cipher 17, 3 and
/// automatic, privlvl operator and administrator, with and without Kg. Argv-watched.
#[test]
fn agent_every_cipher_privilege_and_kg_combination() {
    double_is_trusted();
    let password = unique_secret("Pw");
    let kg: &[u8] =
        b"\x0b\x1c\x2d\x3e\x4f\x50\x61\x72\x83\x94\xa5\xb6\xc7\xd8\xe9\xfa\x01\x02\x03\x04";
    let kg_hex: String = kg.iter().map(|b| format!("{b:02x}")).collect();
    let agent = support::workspace_bin("fence_bulwark_ipmi");
    for with_kg in [false, true] {
        let bmc = start(&password, with_kg.then_some(kg), On17::Accept);
        for cipher in ["", "17", "3"] {
            for privlvl in ["operator", "administrator"] {
                let what = format!("cipher='{cipher}' privlvl={privlvl} kg={with_kg}");
                let stdin = |action: &str| {
                    format!(
                        "action={action}\nip=127.0.0.1\nipport={}\nusername=admin\npassword={password}\ncipher={cipher}\nprivlvl={privlvl}\n{}",
                        bmc.port,
                        if with_kg { format!("hexadecimal_kg={kg_hex}\n") } else { String::new() }
                    )
                };
                bmc.set_power(true);
                let r = bmc::run_agent(&agent, &stdin("off"), &password);
                assert!(r.argv_hits.is_empty() && r.scans > 0, "{what}: {r:?}");
                assert_eq!(
                    (r.code, r.stdout.as_str()),
                    (Some(0), "Success: Powered OFF\n"),
                    "{what}: {r:?}"
                );
                assert!(!bmc.power_on(), "{what}");
                let r = bmc::run_agent(&agent, &stdin("reboot"), &password);
                assert_eq!(
                    (r.code, r.stdout.as_str()),
                    (Some(0), "Success: Rebooted\n"),
                    "{what}: {r:?}"
                );
                assert!(bmc.power_on(), "{what}");
            }
        }
        // Both privilege levels were asked for; with Kg the double refuses any session
        // keyed without it, so success above proves Kg was used.
        let log = bmc.log();
        for want in ["cmd 06/3b [04]", "cmd 06/3b [03]"] {
            assert!(log.iter().any(|l| l == want), "{want}: {log:?}");
        }
    }
}

/// An all-zero `hexadecimal_kg` means no Kg, as in ipmitool: the session works with a BMC that
/// has none. A non-zero wrong Kg is refused as such.
#[test]
fn agent_all_zero_kg_means_no_kg() {
    double_is_trusted();
    let password = unique_secret("Pw");
    let bmc = start(&password, None, On17::Accept);
    let agent = support::workspace_bin("fence_bulwark_ipmi");
    for (kg, code, want) in [
        (
            "0000000000000000000000000000000000000000",
            Some(0),
            "Status: ON\n",
        ),
        ("0x00000000", Some(0), "Status: ON\n"),
        ("0102030405", Some(1), ""),
    ] {
        let stdin = format!(
            "action=status\nip=127.0.0.1\nipport={}\nusername=admin\npassword={password}\nhexadecimal_kg={kg}\n",
            bmc.port
        );
        let r = bmc::run_agent(&agent, &stdin, &password);
        assert_eq!((r.code, r.stdout.as_str()), (code, want), "{kg}: {r:?}");
        if code == Some(1) {
            assert!(r.stderr.contains("Kg"), "{r:?}");
        }
    }
}

/// After a confirmed OFF the BMC refuses power-up with 0xD5 three times (as many do right
/// after a power-down): the agent retries with backoff within the deadline, so the reboot
/// leaves the node on, reported as a plain "Rebooted".
#[test]
fn agent_reboot_retries_power_on_refused_right_after_power_down() {
    double_is_trusted();
    let password = unique_secret("Pw");
    let bmc = start(&password, None, On17::Accept);
    bmc.state.lock().unwrap().refuse_on = 3;
    let stdin = format!(
        "action=reboot\nip=127.0.0.1\nipport={}\nusername=admin\npassword={password}\n",
        bmc.port
    );
    let r = bmc::run_agent(
        &support::workspace_bin("fence_bulwark_ipmi"),
        &stdin,
        &password,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Rebooted\n"),
        "{r:?}"
    );
    assert!(bmc.power_on());
    let log = bmc.log();
    assert_eq!(
        log.iter().filter(|l| *l == "refused power up").count(),
        3,
        "{log:?}"
    );
    let off = log.iter().position(|l| l == "cmd 00/02 [00]");
    let on = log.iter().position(|l| l == "cmd 00/02 [01]");
    assert!(matches!((off, on), (Some(a), Some(b)) if a < b), "{log:?}");
}
