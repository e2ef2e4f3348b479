//! A scripted RMCP+ BMC on loopback, for what neither ipmi_sim nor pyghmi's BMC can do: cipher
//! suite 17, a BMC that refuses or ignores 17, one that answers 17 with suite 3's algorithms,
//! one that drops every authenticated packet after the handshake.
//!
//! It speaks with the crate's crypto primitives, so on its own it would only check our code
//! against itself. It is trusted because clients we did not write accept it: tests/ipmi_suite17.rs
//! first runs ipmitool (`-I lanplus -C 17` and `-C 3`) and FreeIPMI (`ipmi-chassis`, `ipmipower`
//! with `--driver-type=LAN_2_0 --cipher-suite-id=17` and 3) against it for chassis
//! status/on/off/cycle, and only then uses it as a server for our client.
//!
//! Include with `mod support;` and `use support::fake_bmc;`.

#![allow(dead_code)]

use bulwark::proto::ipmi::crypto::{additional_key, CipherSuite, Key, RakpTranscript};
use bulwark::proto::ipmi::wire::{self, payload, Packet, Security};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the BMC does with an Open Session Request for suite 17.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum On17 {
    Accept,
    /// Status 0x11 (no matching integrity payload).
    Refuse,
    /// No answer at all.
    Ignore,
    /// Accepts, but with suite 3's algorithms (1, 1, 1), as pyghmi's BMC does.
    OfferSuite3,
    /// Completes the handshake, then drops every authenticated packet (a BMC whose K1/K2
    /// differ from ours).
    DropAfterHandshake,
}

#[derive(Debug, Default)]
pub struct BmcState {
    pub power_on: bool,
    pub log: Vec<String>,
    /// Power-up requests still to refuse with 0xD5 (not in the present state), as many BMCs
    /// do for a few seconds after a power-down.
    pub refuse_on: u32,
}

pub struct FakeBmc {
    pub port: u16,
    pub state: Arc<Mutex<BmcState>>,
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

impl FakeBmc {
    pub fn power_on(&self) -> bool {
        self.state.lock().unwrap().power_on
    }

    pub fn set_power(&self, on: bool) {
        self.state.lock().unwrap().power_on = on;
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

fn csum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |a, x| a.wrapping_add(*x)).wrapping_neg()
}

/// A response to request `req` (LAN message bytes) with completion code and data.
fn response(req: &[u8], cc: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![req[3], req[1] + 4];
    out.push(csum(&out));
    out.extend_from_slice(&[req[0], req[4], req[5], cc]);
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

pub const GUID: [u8; 16] = *b"bulwark-fake-bmc";

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

/// Starts a BMC with user `user` (any name when None) and `password`, Kg `kg`, power on.
pub fn start(user: Option<&'static str>, password: &str, kg: Option<&[u8]>, on17: On17) -> FakeBmc {
    let password = password.as_bytes().to_vec();
    let kg = kg.map(<[u8]>::to_vec);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let state = Arc::new(Mutex::new(BmcState {
        power_on: true,
        ..BmcState::default()
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
            let pkt = match wire::decode(&buf[..n], sec.as_ref()) {
                Ok(p) => p,
                Err(e) => {
                    st.lock().unwrap().log.push(format!("bad packet: {e:?}"));
                    continue;
                }
            };
            let reply: Option<Vec<u8>> = match pkt {
                Packet::V15 { message, .. } if message.get(5) == Some(&0x38) => {
                    // Get Channel Authentication Capabilities: IPMI v2.0 extended data, MD5
                    // listed for v1.5 clients, non-null user names.
                    st.lock().unwrap().log.push("auth caps".into());
                    let data = [0x01, 0x80 | 0x04, 0x08 | 0x04, 0x02, 0, 0, 0, 0];
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
                } if p.len() >= 32 => {
                    let algs = (p[12], p[20], p[28]);
                    let console_sid = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
                    let asked = [CipherSuite::Suite17, CipherSuite::Suite3]
                        .into_iter()
                        .find(|s| s.algorithm_ids() == algs);
                    st.lock().unwrap().log.push(format!("open {algs:?}"));
                    let suite = match asked {
                        Some(CipherSuite::Suite17) if on17 == On17::Ignore => None,
                        Some(CipherSuite::Suite17) if on17 == On17::Refuse => Some(Err(0x11)),
                        Some(CipherSuite::Suite17) if on17 == On17::OfferSuite3 => {
                            Some(Ok(CipherSuite::Suite3))
                        }
                        Some(s) => Some(Ok(s)),
                        None => Some(Err(0x11)),
                    };
                    suite
                        .map(|chosen| match chosen {
                            Err(status) => vec![p[0], status],
                            Ok(suite) => {
                                let bmc_sid = 0x5000_0000 + console_sid % 1000;
                                let max_priv = if p[1] == 0 { 4 } else { p[1] };
                                let mut r = vec![p[0], 0, max_priv, 0];
                                r.extend_from_slice(&console_sid.to_le_bytes());
                                r.extend_from_slice(&bmc_sid.to_le_bytes());
                                let (a, i, c) = suite.algorithm_ids();
                                for (kind, alg) in [(0u8, a), (1, i), (2, c)] {
                                    r.extend_from_slice(&[kind, 0, 0, 8, alg, 0, 0, 0]);
                                }
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
                                r
                            }
                        })
                        .map(|r| {
                            wire::encode_v20(
                                payload::OPEN_SESSION_RESPONSE,
                                0,
                                0,
                                &r,
                                None,
                                &[0; 16],
                            )
                        })
                }
                Packet::V20 {
                    payload_type: payload::RAKP1,
                    payload: p,
                    ..
                } if p.len() >= 28 => sess.as_mut().map(|s| {
                    s.rm.copy_from_slice(&p[8..24]);
                    let mut rc = [0u8; 16];
                    let _ = getrandom::getrandom(&mut rc);
                    s.rc = rc;
                    s.role = p[24];
                    s.name = p[28..28 + (p[27] as usize).min(p.len() - 28)].to_vec();
                    let known = user.is_none_or(|u| u.as_bytes() == s.name.as_slice());
                    let mut r = vec![p[0], if known { 0 } else { 0x0D }, 0, 0];
                    r.extend_from_slice(&s.console_sid.to_le_bytes());
                    if known {
                        let code = transcript(s).rakp2_hmac(s.suite.auth(), &password);
                        r.extend_from_slice(&s.rc);
                        r.extend_from_slice(&GUID);
                        r.extend_from_slice(&code);
                    }
                    st.lock()
                        .unwrap()
                        .log
                        .push(format!("rakp1 role {:02x}", s.role));
                    wire::encode_v20(payload::RAKP2, 0, 0, &r, None, &[0; 16])
                }),
                Packet::V20 {
                    payload_type: payload::RAKP3,
                    payload: p,
                    ..
                } if p.len() >= 8 => sess.as_mut().map(|s| {
                    let t = transcript(s);
                    let alg = s.suite.auth();
                    let ok = t.rakp3_hmac(alg, &password) == p[8..];
                    let mut r = vec![p[0], if ok { 0 } else { 0x0F }, 0, 0];
                    r.extend_from_slice(&s.console_sid.to_le_bytes());
                    if ok {
                        let sik = t.sik(alg, kg.as_deref().unwrap_or(&password));
                        r.extend_from_slice(&t.rakp4_icv(alg, &sik));
                        s.k1 = Some(additional_key(alg, &sik, 1));
                        s.k2 = Some(additional_key(alg, &sik, 2));
                    }
                    st.lock()
                        .unwrap()
                        .log
                        .push(format!("rakp3 {}", if ok { "ok" } else { "wrong" }));
                    wire::encode_v20(payload::RAKP4, 0, 0, &r, None, &[0; 16])
                }),
                Packet::V20 {
                    payload_type: payload::IPMI,
                    authenticated: true,
                    encrypted: true,
                    payload: m,
                    ..
                } if m.len() >= 7 && sess.is_some() && on17 != On17::DropAfterHandshake => {
                    let s = sess.as_mut().unwrap();
                    let mut state = st.lock().unwrap();
                    let (netfn, cmd) = (m[1] >> 2, m[5]);
                    let data = &m[6..m.len() - 1];
                    state
                        .log
                        .push(format!("cmd {netfn:02x}/{cmd:02x} {data:02x?}"));
                    let (cc, out): (u8, Vec<u8>) = match (netfn, cmd) {
                        (0x06, 0x3B) if !data.is_empty() => {
                            let level = if data[0] == 0 { 2 } else { data[0] };
                            (0, vec![level])
                        }
                        (0x00, 0x01) => (0, vec![state.power_on as u8, 0, 0, 0]),
                        (0x00, 0x02) if !data.is_empty() => match data[0] & 0x0F {
                            0 => {
                                state.power_on = false;
                                (0, vec![])
                            }
                            1 if state.refuse_on > 0 => {
                                state.refuse_on -= 1;
                                state.log.push("refused power up".into());
                                (0xD5, vec![])
                            }
                            1 => {
                                state.power_on = true;
                                (0, vec![])
                            }
                            // Cycle and reset: the chassis ends up on.
                            2 | 3 => {
                                state.power_on = true;
                                state.log.push("cycled".into());
                                (0, vec![])
                            }
                            _ => (0xCC, vec![]),
                        },
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
                    let mut iv = [0u8; 16];
                    let _ = getrandom::getrandom(&mut iv);
                    Some(wire::encode_v20(
                        payload::IPMI,
                        s.console_sid,
                        s.seq,
                        &msg,
                        Some(&sec),
                        &iv,
                    ))
                }
                _ => {
                    st.lock().unwrap().log.push("ignored".into());
                    None
                }
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
