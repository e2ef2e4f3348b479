//! Cipher suite 17 end to end against a scripted BMC on loopback. ipmi_sim has no suite 17, so
//! this fake BMC speaks it using the crate's crypto primitives, which tests/ipmi_kat.rs checks
//! against an independent implementation; what this test adds is the session state machine:
//! negotiation (17 accepted, 17 refused, 17 ignored), RAKP with and without Kg, keys in use
//! for integrity and AES-CBC-128, privilege raise, chassis commands and Close Session.

use bulwark::deadline::Deadline;
use bulwark::proto::ipmi::crypto::{additional_key, CipherSuite, Key, RakpTranscript};
use bulwark::proto::ipmi::wire::{self, payload, Packet, Security};
use bulwark::proto::ipmi::{
    AuthFailure, ChassisCommand, Interface, IpmiError, IpmiTarget, Negotiated, PowerState, Retry,
    Session,
};
use bulwark::secret::Secret;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq)]
enum On17 {
    Accept,
    Refuse,
    Ignore,
}

struct BmcState {
    power_on: bool,
    log: Vec<String>,
}

struct FakeBmc {
    port: u16,
    state: Arc<Mutex<BmcState>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeBmc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn csum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |a, x| a.wrapping_add(*x)).wrapping_neg()
}

/// Builds a response to request `req` (LAN message bytes) with completion code and data.
fn response(req: &[u8], cc: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x81, req[1] + 4];
    out.push(csum(&out));
    out.extend_from_slice(&[0x20, req[4], req[5], cc]);
    out.extend_from_slice(data);
    out.push(csum(&out[3..]));
    out
}

struct Sess {
    suite: CipherSuite,
    console_sid: u32,
    bmc_sid: u32,
    rm: [u8; 16],
    rc: [u8; 16],
    role: u8,
    name: Vec<u8>,
    k1: Option<Key>,
    k2: Option<Key>,
    seq: u32,
}

const GUID: [u8; 16] = *b"bulwark-fake-bmc";

fn start(password: &'static str, kg: Option<&'static [u8]>, on17: On17) -> FakeBmc {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let state = Arc::new(Mutex::new(BmcState {
        power_on: true,
        log: Vec::new(),
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let (st, sp) = (state.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let mut sess: Option<Sess> = None;
        let mut buf = [0u8; 2048];
        while !sp.load(Ordering::SeqCst) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let keys = sess
                .as_ref()
                .and_then(|s| Some((s.suite.integrity(), s.k1.clone()?, s.k2.clone()?)));
            let sec = keys.as_ref().map(|(i, k1, k2)| Security {
                integrity: *i,
                k1,
                k2,
            });
            let Ok(pkt) = wire::decode(&buf[..n], sec.as_ref()) else {
                st.lock().unwrap().log.push("bad packet".into());
                continue;
            };
            let reply: Option<Vec<u8>> = match pkt {
                Packet::V15 { message, .. } if message.get(5) == Some(&0x38) => {
                    // Get Channel Auth Caps: IPMI 2.0 supported.
                    let data = [0x01, 0x80 | 0x04, 0x04, 0x02, 0, 0, 0, 0];
                    let msg = response(&message, 0, &data);
                    let mut out = vec![0x06, 0, 0xFF, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                    out.push(msg.len() as u8);
                    out.extend_from_slice(&msg);
                    Some(out)
                }
                Packet::V20 {
                    payload_type: payload::OPEN_SESSION_REQUEST,
                    payload: p,
                    ..
                } => {
                    let algs = (p[12], p[20], p[28]);
                    let console_sid = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
                    let suite = [CipherSuite::Suite17, CipherSuite::Suite3]
                        .into_iter()
                        .find(|s| s.algorithm_ids() == algs);
                    st.lock().unwrap().log.push(format!("open {algs:?}"));
                    match suite {
                        Some(CipherSuite::Suite17) if on17 == On17::Ignore => None,
                        Some(CipherSuite::Suite17) if on17 == On17::Refuse => {
                            Some(vec![p[0], 0x11])
                        }
                        Some(suite) => {
                            let bmc_sid = 0x5000_0000 + console_sid % 1000;
                            let mut r = vec![p[0], 0, 4, 0];
                            r.extend_from_slice(&console_sid.to_le_bytes());
                            r.extend_from_slice(&bmc_sid.to_le_bytes());
                            r.extend_from_slice(&p[8..32]);
                            sess = Some(Sess {
                                suite,
                                console_sid,
                                bmc_sid,
                                rm: [0; 16],
                                rc: [0; 16],
                                role: 0,
                                name: vec![],
                                k1: None,
                                k2: None,
                                seq: 0,
                            });
                            Some(r)
                        }
                        None => Some(vec![p[0], 0x11]),
                    }
                    .map(|r| {
                        wire::encode_v20(payload::OPEN_SESSION_RESPONSE, 0, 0, &r, None, &[0; 16])
                    })
                }
                Packet::V20 {
                    payload_type: payload::RAKP1,
                    payload: p,
                    ..
                } => sess.as_mut().map(|s| {
                    s.rm.copy_from_slice(&p[8..24]);
                    s.rc = [0x5A; 16];
                    s.rc[0] = p[8]; // vary with the console's random
                    s.role = p[24];
                    s.name = p[28..28 + p[27] as usize].to_vec();
                    let t = transcript(s);
                    let code = t.rakp2_hmac(s.suite.auth(), password.as_bytes());
                    let mut r = vec![p[0], 0, 0, 0];
                    r.extend_from_slice(&s.console_sid.to_le_bytes());
                    r.extend_from_slice(&s.rc);
                    r.extend_from_slice(&GUID);
                    r.extend_from_slice(&code);
                    wire::encode_v20(payload::RAKP2, 0, 0, &r, None, &[0; 16])
                }),
                Packet::V20 {
                    payload_type: payload::RAKP3,
                    payload: p,
                    ..
                } => sess.as_mut().map(|s| {
                    let t = transcript(s);
                    let alg = s.suite.auth();
                    let ok = t.rakp3_hmac(alg, password.as_bytes()) == p[8..];
                    let mut r = vec![p[0], if ok { 0 } else { 0x0F }, 0, 0];
                    r.extend_from_slice(&s.console_sid.to_le_bytes());
                    if ok {
                        let sik = t.sik(alg, kg.unwrap_or(password.as_bytes()));
                        r.extend_from_slice(&t.rakp4_icv(alg, &sik));
                        s.k1 = Some(additional_key(alg, &sik, 1));
                        s.k2 = Some(additional_key(alg, &sik, 2));
                    }
                    wire::encode_v20(payload::RAKP4, 0, 0, &r, None, &[0; 16])
                }),
                Packet::V20 {
                    payload_type: payload::IPMI,
                    authenticated: true,
                    encrypted: true,
                    payload: m,
                    ..
                } => {
                    let s = sess.as_mut().unwrap();
                    let mut state = st.lock().unwrap();
                    let (netfn, cmd) = (m[1] >> 2, m[5]);
                    let data = &m[6..m.len() - 1];
                    state
                        .log
                        .push(format!("cmd {netfn:02x}/{cmd:02x} {data:02x?}"));
                    let (cc, out): (u8, Vec<u8>) = match (netfn, cmd) {
                        (0x06, 0x3B) => (0, vec![data[0]]),
                        (0x00, 0x01) => (0, vec![state.power_on as u8, 0, 0]),
                        (0x00, 0x02) => {
                            state.power_on = data[0] == 1;
                            (0, vec![])
                        }
                        (0x06, 0x3C) => (0, vec![]),
                        _ => (0xC1, vec![]),
                    };
                    let msg = response(&m, cc, &out);
                    s.seq += 1;
                    let (k1, k2) = (s.k1.clone().unwrap(), s.k2.clone().unwrap());
                    let sec = Security {
                        integrity: s.suite.integrity(),
                        k1: &k1,
                        k2: &k2,
                    };
                    Some(wire::encode_v20(
                        payload::IPMI,
                        s.console_sid,
                        s.seq,
                        &msg,
                        Some(&sec),
                        &[7; 16],
                    ))
                }
                _ => None,
            };
            if let Some(r) = reply {
                let _ = sock.send_to(&r, from);
            }
        }
    });
    FakeBmc {
        port,
        state,
        stop,
        thread: Some(thread),
    }
}

fn transcript(s: &Sess) -> RakpTranscript {
    RakpTranscript {
        console_sid: s.console_sid,
        bmc_sid: s.bmc_sid,
        console_random: s.rm,
        bmc_random: s.rc,
        bmc_guid: GUID,
        role: s.role,
        username: s.name.clone(),
    }
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
    assert_eq!(log[0], "open (3, 4, 1)");
    assert!(log.contains(&"cmd 06/3b [04]".to_string()), "{log:?}");
    assert!(log.contains(&"cmd 00/02 [00]".to_string()), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("cmd 06/3c")), "{log:?}");
    assert!(!log.iter().any(|l| l == "bad packet"), "{log:?}");
}

#[test]
fn suite17_with_kg() {
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
