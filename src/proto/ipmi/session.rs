//! The session: UDP transport with bounded, retried exchanges; RMCP+ and v1.5 activation;
//! commands; Close Session on every exit path.

use super::chassis::{ChassisCommand, ChassisStatus, PowerState};
use super::crypto::{additional_key, codes_equal, CipherSuite, Key, RakpTranscript};
use super::error::{AuthFailure, IpmiError};
use super::message::{decode_response, encode_request, Command, CompletionCode, Response};
use super::rakp::{self, RmcpStatus, SetupReply};
use super::rmcp::{self, payload, AuthType, Packet, Security};
use super::{Interface, IpmiTarget, Privilege, Retry};
use crate::codec::Malformed;
use crate::deadline::Deadline;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Name-only lookup bit of the RAKP 1 role byte: the BMC finds the user by name and uses that
/// user's privilege limit (what ipmitool sends by default).
const NAME_ONLY_LOOKUP: u8 = 0x10;

/// How long Drop waits for the Close Session reply.
const CLOSE_WAIT: Duration = Duration::from_millis(200);

/// What the session ended up using.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    LanPlus { cipher: CipherSuite },
    Lan { auth: AuthType },
}

/// Resolves a BMC host name within the deadline. The system resolver has no timeout, so it
/// runs on a helper thread that is abandoned if the deadline passes.
pub fn resolve_host(host: &str, port: u16, deadline: Deadline) -> Result<IpAddr, IpmiError> {
    crate::proto::resolve_within(host, port, &deadline)
        .map(|addr| addr.ip())
        .map_err(IpmiError::InvalidTarget)
}

/// Outcome of looking at one received datagram during an exchange.
enum Seen<T> {
    /// Not an answer to this exchange (stale retry answer, other traffic): keep waiting.
    Ignore,
    /// Could not be decoded: remembered, keep waiting.
    Bad(Malformed),
    Done(Result<T, IpmiError>),
}

struct Transport {
    sock: UdpSocket,
    peer: SocketAddr,
    retry: Retry,
    /// Longest time a reply has taken so far (from the first copy sent). Resending sooner
    /// than that only makes the BMC redo work, and a resent RAKP 1 makes it draw a new random
    /// number, breaking the handshake; so later exchanges wait at least twice this.
    slowest: std::cell::Cell<Duration>,
}

impl Transport {
    fn connect(target: &IpmiTarget) -> Result<Transport, IpmiError> {
        let peer = SocketAddr::new(target.addr, target.port);
        let local: SocketAddr = match target.addr {
            IpAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
            IpAddr::V6(_) => ([0u16; 8], 0).into(),
        };
        let io = |op, error| IpmiError::Io { peer, op, error };
        let sock = UdpSocket::bind(local).map_err(|e| io("cannot bind a UDP socket for", e))?;
        sock.connect(peer).map_err(|e| io("cannot address", e))?;
        Ok(Transport {
            sock,
            peer,
            retry: target.retry,
            slowest: std::cell::Cell::new(Duration::ZERO),
        })
    }

    /// Sends `build()` and waits for a datagram `judge` accepts, resending with doubling waits
    /// until `deadline`. `build` is called for every send so each copy can carry a fresh
    /// session sequence number.
    fn exchange<T>(
        &self,
        step: &'static str,
        deadline: Deadline,
        mut build: impl FnMut() -> Vec<u8>,
        mut judge: impl FnMut(&[u8]) -> Seen<T>,
    ) -> Result<T, IpmiError> {
        let start = Instant::now();
        let mut wait = self
            .retry
            .first_wait
            .max(self.slowest.get() * 2)
            .max(Duration::from_millis(1));
        let max_wait = self.retry.max_wait.max(wait);
        let mut bad: Option<Malformed> = None;
        let mut refused = false;
        // ICMP port unreachable in a row. Nothing listens on that port: after a few quick
        // resends (a BMC restarting its LAN service answers again within them) the verdict is
        // given at once, so pacemaker-fenced escalates to the next fencing level instead of
        // spending the whole login timeout here.
        let mut refusals = 0u32;
        let mut buf = [0u8; 1024];
        'attempts: while !deadline.expired() {
            let packet = build();
            match self.sock.send(&packet) {
                Ok(_) => {}
                // An earlier ICMP port unreachable surfaces here on a connected socket.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    refused = true;
                    refusals += 1;
                    if refusals >= MAX_REFUSALS {
                        break 'attempts;
                    }
                }
                Err(e) => {
                    return Err(IpmiError::Io {
                        peer: self.peer,
                        op: "cannot send to",
                        error: e,
                    })
                }
            }
            let attempt_end = deadline.min(Deadline::after(wait));
            loop {
                let left = attempt_end.remaining();
                if left.is_zero() {
                    break;
                }
                if let Err(e) = self.sock.set_read_timeout(Some(left)) {
                    return Err(IpmiError::Io {
                        peer: self.peer,
                        op: "cannot wait for",
                        error: e,
                    });
                }
                match self.sock.recv(&mut buf) {
                    Ok(n) => {
                        refusals = 0;
                        match judge(&buf[..n]) {
                            Seen::Ignore => {}
                            Seen::Bad(m) => bad = Some(m),
                            Seen::Done(r) => {
                                self.slowest.set(self.slowest.get().max(start.elapsed()));
                                return r;
                            }
                        }
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        refused = true;
                        refusals += 1;
                        if refusals >= MAX_REFUSALS {
                            break 'attempts;
                        }
                        std::thread::sleep(attempt_end.cap(REFUSED_RESEND));
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(IpmiError::Io {
                            peer: self.peer,
                            op: "cannot receive from",
                            error: e,
                        })
                    }
                }
            }
            if refusals == 0 {
                wait = (wait * 2).min(max_wait);
            }
        }
        Err(match bad {
            Some(detail) => IpmiError::Malformed {
                peer: self.peer,
                detail,
            },
            None => IpmiError::NoAnswer {
                peer: self.peer,
                waited: start.elapsed(),
                step,
                refused,
            },
        })
    }
}

/// Port-unreachable answers in a row after which the BMC is declared absent.
const MAX_REFUSALS: u32 = 3;
/// Pause before resending after a port-unreachable answer.
const REFUSED_RESEND: Duration = Duration::from_millis(100);

fn random_bytes<const N: usize>(peer: SocketAddr) -> Result<[u8; N], IpmiError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| IpmiError::Io {
        peer,
        op: "no random numbers for a session with",
        error: std::io::Error::other(e.to_string()),
    })?;
    Ok(b)
}

/// A nonzero random session ID (0 means "no session").
fn random_sid(peer: SocketAddr) -> Result<u32, IpmiError> {
    loop {
        let id = u32::from_le_bytes(random_bytes::<4>(peer)?);
        if id != 0 {
            return Ok(id);
        }
    }
}

enum State {
    Plus {
        suite: CipherSuite,
        bmc_sid: u32,
        console_sid: u32,
        seq: u32,
        k1: Key,
        k2: Key,
    },
    V15 {
        auth: AuthType,
        password16: Zeroizing<[u8; 16]>,
        session_id: u32,
        seq: u32,
    },
}

/// An active, authenticated session with one BMC, closed on drop.
pub struct Session {
    transport: Transport,
    state: State,
    deadline: Deadline,
    privilege: Privilege,
    rq_seq: u8,
    open: bool,
    /// An authenticated reply has arrived: the session keys work both ways.
    confirmed: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.transport.peer)
            .field("negotiated", &self.negotiated())
            .field("privilege", &self.privilege)
            .finish_non_exhaustive()
    }
}

fn check_lengths(t: &IpmiTarget) -> Result<(), IpmiError> {
    if t.username.len() > 16 {
        return Err(IpmiError::InvalidTarget(
            "IPMI user name longer than 16 bytes".into(),
        ));
    }
    let max_pw = match t.interface {
        Interface::Lan { .. } => 16,
        Interface::LanPlus { .. } => 20,
    };
    if t.password.expose().len() > max_pw {
        return Err(IpmiError::InvalidTarget(format!(
            "IPMI password longer than {max_pw} bytes"
        )));
    }
    if t.kg.as_ref().is_some_and(|k| k.expose().len() > 20) {
        return Err(IpmiError::InvalidTarget("Kg longer than 20 bytes".into()));
    }
    Ok(())
}

/// Get Channel Authentication Capabilities reply, the bits we use.
struct ChannelAuth {
    auth_types: u8,
    ipmi20: bool,
}

impl Session {
    /// Opens and authenticates a session, raising it to the target's privilege level.
    pub fn open(target: &IpmiTarget, deadline: Deadline) -> Result<Session, IpmiError> {
        check_lengths(target)?;
        let transport = Transport::connect(target)?;
        let caps = channel_auth(&transport, target, deadline)?;
        let state = match target.interface {
            Interface::LanPlus { cipher } => {
                if !caps.ipmi20 {
                    return Err(IpmiError::Unsupported {
                        peer: transport.peer,
                        what: "the BMC does not support IPMI v2.0 (lanplus); use IPMI v1.5 (lanplus=0)".into(),
                    });
                }
                open_plus(&transport, target, cipher, deadline)?
            }
            Interface::Lan { auth } => {
                open_v15(&transport, target, auth, caps.auth_types, deadline)?
            }
        };
        let mut session = Session {
            transport,
            state,
            deadline,
            privilege: Privilege::User.min(target.privilege),
            rq_seq: 0,
            open: true,
            confirmed: false,
        };
        if target.privilege > Privilege::User {
            session.set_privilege(target.privilege)?;
        }
        Ok(session)
    }

    /// Replaces the deadline that bounds the following commands.
    pub fn set_deadline(&mut self, deadline: Deadline) {
        self.deadline = deadline;
    }

    pub fn negotiated(&self) -> Negotiated {
        match &self.state {
            State::Plus { suite, .. } => Negotiated::LanPlus { cipher: *suite },
            State::V15 { auth, .. } => Negotiated::Lan { auth: *auth },
        }
    }

    /// The privilege level the session currently holds.
    pub fn privilege(&self) -> Privilege {
        self.privilege
    }

    pub fn peer(&self) -> SocketAddr {
        self.transport.peer
    }

    /// Get Chassis Status.
    pub fn chassis_status(&mut self) -> Result<ChassisStatus, IpmiError> {
        let r = self.command(Command::GetChassisStatus, &[], self.deadline)?;
        ChassisStatus::decode(&r.data).map_err(|detail| IpmiError::Malformed {
            peer: self.transport.peer,
            detail,
        })
    }

    /// The chassis power state (bit 0 of Get Chassis Status).
    pub fn power_state(&mut self) -> Result<PowerState, IpmiError> {
        Ok(self.chassis_status()?.power)
    }

    /// Chassis Control. Success means the BMC accepted the command, not that the power
    /// state has changed yet: poll [`Session::power_state`] to confirm.
    pub fn chassis_control(&mut self, action: ChassisCommand) -> Result<(), IpmiError> {
        self.command(Command::ChassisControl, &[action.code()], self.deadline)
            .map(|_| ())
    }

    /// Set Session Privilege Level (NetFn App, 0x3B). A new session runs at User level, where
    /// Chassis Control fails with 0xD4; `open` calls this for levels above User.
    pub fn set_privilege(&mut self, level: Privilege) -> Result<(), IpmiError> {
        let peer = self.transport.peer;
        match self.command(
            Command::SetSessionPrivilegeLevel,
            &[level.code()],
            self.deadline,
        ) {
            Ok(r) => {
                self.privilege = r
                    .data
                    .first()
                    .and_then(|b| Privilege::from_code(*b))
                    .unwrap_or(level);
                if self.privilege < level {
                    return Err(IpmiError::InsufficientPrivilege {
                        peer,
                        requested: level,
                        detail: format!("session holds {}", self.privilege),
                    });
                }
                Ok(())
            }
            Err(IpmiError::Completion { code, .. }) if matches!(code.0, 0x80 | 0x81 | 0xD4) => {
                Err(IpmiError::InsufficientPrivilege {
                    peer,
                    requested: level,
                    detail: format!(
                        "Set Session Privilege Level returned 0x{:02X} ({})",
                        code.0,
                        match code.0 {
                            0x80 => "level not available for this user",
                            0x81 => "level exceeds the user or channel limit",
                            _ => "insufficient privilege level",
                        }
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Closes the session, waiting briefly for the BMC's acknowledgement. Errors are not
    /// reported: the session is over either way, and the BMC times idle sessions out.
    pub fn close(mut self) {
        self.close_inner();
    }

    fn close_inner(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        let sid = match &self.state {
            State::Plus { bmc_sid, .. } => *bmc_sid,
            State::V15 { session_id, .. } => *session_id,
        };
        // Even past the deadline send it once; wait only a little.
        let wait = Deadline::after(self.deadline.cap(CLOSE_WAIT).max(Duration::from_millis(1)));
        let _ = self.command(Command::CloseSession, &sid.to_le_bytes(), wait);
    }

    /// Sends one command inside the session and returns the successful response.
    /// One command in the session. Before any authenticated reply has arrived, silence (or
    /// only replies whose integrity check fails) on an RMCP+ session means the BMC rejects our
    /// K1/K2 or the suite's packet format, not a network problem: say so.
    fn command(
        &mut self,
        cmd: Command,
        data: &[u8],
        deadline: Deadline,
    ) -> Result<Response, IpmiError> {
        let r = self.command_once(cmd, data, deadline);
        match (&r, &self.state) {
            (Ok(_), _) => self.confirmed = true,
            (
                Err(IpmiError::NoAnswer { refused: false, .. } | IpmiError::Malformed { .. }),
                State::Plus { suite, .. },
            ) if !self.confirmed => {
                return Err(IpmiError::NoAuthenticatedReply {
                    peer: self.transport.peer,
                    cipher: *suite,
                })
            }
            _ => {}
        }
        r
    }

    fn command_once(
        &mut self,
        cmd: Command,
        data: &[u8],
        deadline: Deadline,
    ) -> Result<Response, IpmiError> {
        self.rq_seq = (self.rq_seq + 1) & 0x3F;
        let rq_seq = self.rq_seq;
        let msg = encode_request(cmd, rq_seq, data);
        let peer = self.transport.peer;
        let transport = &self.transport;
        let response = match &mut self.state {
            State::Plus {
                suite,
                bmc_sid,
                console_sid,
                seq,
                k1,
                k2,
            } => {
                let sec = Security {
                    integrity: suite.integrity(),
                    k1,
                    k2,
                };
                let console_sid = *console_sid;
                let bmc_sid = *bmc_sid;
                let mut failed_iv = None;
                let r = transport.exchange(
                    cmd.name(),
                    deadline,
                    || {
                        *seq = seq.wrapping_add(1).max(1);
                        let iv = match random_bytes::<16>(peer) {
                            Ok(iv) => iv,
                            Err(e) => {
                                failed_iv = Some(e);
                                [0u8; 16]
                            }
                        };
                        rmcp::encode_v20(payload::IPMI, bmc_sid, *seq, &msg, Some(&sec), &iv)
                    },
                    |bytes| match rmcp::decode(bytes, Some(&sec)) {
                        Ok(Packet::V20 {
                            payload_type: payload::IPMI,
                            authenticated: true,
                            session_id,
                            payload,
                            ..
                        }) if session_id == console_sid => judge_response(&payload, cmd, rq_seq),
                        Ok(_) => Seen::Ignore,
                        Err(m) => Seen::Bad(m),
                    },
                );
                if let Some(e) = failed_iv {
                    return Err(e);
                }
                r?
            }
            State::V15 {
                auth,
                password16,
                session_id,
                seq,
            } => {
                let (auth, sid) = (*auth, *session_id);
                let pw: &[u8; 16] = password16;
                transport.exchange(
                    cmd.name(),
                    deadline,
                    || {
                        let p = rmcp::encode_v15(auth, pw, sid, *seq, &msg);
                        *seq = seq.wrapping_add(1).max(1);
                        p
                    },
                    |bytes| judge_v15(bytes, auth, pw, sid, cmd, rq_seq),
                )?
            }
        };
        check_completion(peer, cmd, response)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close_inner();
    }
}

fn check_completion(peer: SocketAddr, cmd: Command, r: Response) -> Result<Response, IpmiError> {
    match r.completion {
        0 => Ok(r),
        0xD4 if cmd == Command::ChassisControl => Err(IpmiError::InsufficientPrivilege {
            peer,
            requested: Privilege::Operator,
            detail: format!("{cmd} returned {}", CompletionCode::INSUFFICIENT_PRIVILEGE),
        }),
        code => Err(IpmiError::Completion {
            peer,
            command: cmd,
            code: CompletionCode(code),
        }),
    }
}

fn judge_response(message: &[u8], cmd: Command, rq_seq: u8) -> Seen<Response> {
    match decode_response(message) {
        Ok(r) if r.answers(cmd, rq_seq) => Seen::Done(Ok(r)),
        Ok(_) => Seen::Ignore,
        Err(m) => Seen::Bad(m),
    }
}

/// Accepts a v1.5 packet only if its AuthCode verifies (when the session uses one), so a
/// forged reply cannot pass for the BMC's.
fn judge_v15(
    bytes: &[u8],
    auth: AuthType,
    pw: &[u8; 16],
    sid: u32,
    cmd: Command,
    rq_seq: u8,
) -> Seen<Response> {
    match rmcp::decode(bytes, None) {
        Ok(Packet::V15 {
            auth: a,
            seq,
            session_id,
            auth_code,
            message,
        }) => {
            if session_id != sid {
                return Seen::Ignore;
            }
            if a != auth.code() {
                return Seen::Bad(Malformed {
                    what: "v1.5 authentication type of the reply",
                });
            }
            let expected = rmcp::v15_auth_code(auth, pw, sid, &message, seq);
            let ok = match (expected, auth_code) {
                (None, None) => true,
                (Some(e), Some(g)) => codes_equal(&e, &g),
                _ => false,
            };
            if !ok {
                return Seen::Bad(Malformed {
                    what: "v1.5 AuthCode of the reply",
                });
            }
            judge_response(&message, cmd, rq_seq)
        }
        Ok(_) => Seen::Ignore,
        Err(m) => Seen::Bad(m),
    }
}

/// Runs one received datagram through every judgement an exchange applies to a reply (v1.5
/// session replies, RMCP+ set-up replies, IPMI responses and their completion codes, chassis
/// status), so the fuzzer reaches the same decisions a hostile BMC or network could.
pub(crate) fn judge_datagram(bytes: &[u8]) {
    let peer = SocketAddr::from(([127, 0, 0, 1], super::DEFAULT_PORT));
    let pw = [0x55u8; 16];
    for auth in [
        AuthType::None,
        AuthType::Md2,
        AuthType::Md5,
        AuthType::Password,
    ] {
        let sid = bytes
            .get(6..10)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        judged(
            peer,
            judge_v15(bytes, auth, &pw, sid, Command::GetChassisStatus, 1),
        );
    }
    for (want, decode) in [
        (
            payload::OPEN_SESSION_RESPONSE,
            open_session_status as fn(&[u8]) -> Option<RmcpStatus>,
        ),
        (payload::RAKP2, rakp2_status),
        (payload::RAKP4, rakp4_status),
    ] {
        if let Ok(Some(p)) = setup_payload(bytes, want) {
            if let Some(status) = decode(&p) {
                let _ = refusal(peer, "fuzz", status, Privilege::Operator);
            }
        }
    }
    for cmd in [Command::GetChassisStatus, Command::ChassisControl] {
        judged(
            peer,
            judge_response(bytes, cmd, bytes.first().map_or(0, |b| b >> 2)),
        );
    }
}

fn judged(peer: SocketAddr, seen: Seen<Response>) {
    if let Seen::Done(Ok(r)) = seen {
        for cmd in [Command::GetChassisStatus, Command::ChassisControl] {
            if let Ok(r) = check_completion(peer, cmd, r.clone()) {
                let _ = ChassisStatus::decode(&r.data);
            }
        }
    }
}

fn open_session_status(p: &[u8]) -> Option<RmcpStatus> {
    rakp::decode_open_session_response(p)
        .ok()
        .map(|r| r.status())
}

fn rakp2_status(p: &[u8]) -> Option<RmcpStatus> {
    rakp::decode_rakp2(p).ok().map(|r| r.status())
}

fn rakp4_status(p: &[u8]) -> Option<RmcpStatus> {
    rakp::decode_rakp4(p).ok().map(|r| r.status())
}

/// Get Channel Authentication Capabilities, sessionless (v1.5 framing, auth type none).
fn channel_auth(
    t: &Transport,
    target: &IpmiTarget,
    deadline: Deadline,
) -> Result<ChannelAuth, IpmiError> {
    let v20_bit = match target.interface {
        Interface::LanPlus { .. } => 0x80,
        Interface::Lan { .. } => 0x00,
    };
    let cmd = Command::GetChannelAuthCapabilities;
    let msg = encode_request(cmd, 0, &[v20_bit | 0x0E, target.privilege.code()]);
    let none = [0u8; 16];
    let r = t.exchange(
        cmd.name(),
        deadline,
        || rmcp::encode_v15(AuthType::None, &none, 0, 0, &msg),
        |bytes| match rmcp::decode(bytes, None) {
            Ok(Packet::V15 { message, .. }) => judge_response(&message, cmd, 0),
            Ok(_) => Seen::Ignore,
            Err(m) => Seen::Bad(m),
        },
    )?;
    let r = check_completion(t.peer, cmd, r)?;
    if r.data.len() < 4 {
        return Err(IpmiError::Malformed {
            peer: t.peer,
            detail: Malformed {
                what: "Get Channel Authentication Capabilities reply",
            },
        });
    }
    Ok(ChannelAuth {
        auth_types: r.data[1] & 0x3F,
        ipmi20: r.data[1] & 0x80 != 0 && r.data[3] & 0x02 != 0,
    })
}

fn open_plus(
    t: &Transport,
    target: &IpmiTarget,
    cipher: Option<CipherSuite>,
    deadline: Deadline,
) -> Result<State, IpmiError> {
    let (suite, mut opened) = match cipher {
        Some(s) => (s, None),
        None => {
            let probe = deadline.min(Deadline::after(t.retry.probe_budget));
            // A BMC may answer an offer of 17 with another suite's algorithms (pyghmi's BMC
            // answers with suite 3's): as ipmitool, use what it offered if we support it.
            match open_session(t, target, CipherSuite::Suite17, true, probe) {
                Ok((suite, sids)) => (suite, Some(sids)),
                // A clean "I do not know these algorithms", or silence from a BMC that just
                // answered Get Channel Authentication Capabilities: try suite 3.
                Err(IpmiError::SessionRefused { status, .. }) if status.rejects_algorithms() => {
                    (CipherSuite::Suite3, None)
                }
                Err(IpmiError::NoAnswer { .. }) if !deadline.expired() => {
                    (CipherSuite::Suite3, None)
                }
                Err(e) => return Err(e),
            }
        }
    };
    let mut restarts = 0;
    loop {
        let sids = match opened.take() {
            Some(sids) => sids,
            None => open_session(t, target, suite, false, deadline)?.1,
        };
        // When a RAKP reply is lost the BMC may already have moved on and ignore (or answer
        // oddly) our resent message, and a resent RAKP 1 makes it draw a new random number so
        // it refuses our RAKP 3 (0x0F, although RAKP 2 proved the password right). Start over
        // with a new session, a few times, within the deadline.
        let retryable = |e: &IpmiError| {
            matches!(
                e,
                IpmiError::NoAnswer { .. }
                    | IpmiError::Malformed { .. }
                    | IpmiError::AuthenticationFailed {
                        reason: AuthFailure::Refused(RmcpStatus(0x0F | 0x02 | 0x08)),
                        ..
                    }
            )
        };
        match rakp(t, target, suite, sids, step_deadline(t, deadline)) {
            Err(e) if retryable(&e) && restarts < 3 && !deadline.expired() => restarts += 1,
            other => return other,
        }
    }
}

/// The budget for one handshake step that is restarted from the beginning when it fails.
fn step_deadline(t: &Transport, deadline: Deadline) -> Deadline {
    let wait = t
        .retry
        .max_wait
        .max(t.retry.first_wait)
        .max(t.slowest.get() * 2);
    deadline.min(Deadline::after(wait * 2))
}

/// Open Session Request/Response: returns the suite the BMC chose and (console SID, BMC SID).
/// With `adopt`, a BMC answering with another supported suite's algorithms is followed;
/// without (the administrator named a suite), that answer is refused.
fn open_session(
    t: &Transport,
    target: &IpmiTarget,
    suite: CipherSuite,
    adopt: bool,
    deadline: Deadline,
) -> Result<(CipherSuite, (u32, u32)), IpmiError> {
    let console_sid = random_sid(t.peer)?;
    let tag = random_bytes::<1>(t.peer)?[0];
    let req = rakp::encode_open_session(tag, target.privilege.code(), console_sid, suite);
    let resp = setup_exchange(
        t,
        SetupStep {
            name: "Open Session",
            request_type: payload::OPEN_SESSION_REQUEST,
            request: &req,
            reply_type: payload::OPEN_SESSION_RESPONSE,
            decode: rakp::decode_open_session_response,
        },
        (tag, console_sid),
        target.privilege,
        deadline,
    )?;
    let chosen = [CipherSuite::Suite17, CipherSuite::Suite3]
        .into_iter()
        .find(|s| s.algorithm_ids() == resp.algorithms)
        .filter(|s| *s == suite || adopt);
    let Some(chosen) = chosen.filter(|_| resp.bmc_sid != 0) else {
        return Err(IpmiError::Unsupported {
            peer: t.peer,
            what: format!(
                "the BMC answered cipher suite {} with other algorithms {:?}",
                suite.id(),
                resp.algorithms
            ),
        });
    };
    Ok((chosen, (console_sid, resp.bmc_sid)))
}

/// Maps a non-zero RMCP+ status to the matching error.
fn refusal(
    peer: SocketAddr,
    step: &'static str,
    status: RmcpStatus,
    requested: Privilege,
) -> Result<(), IpmiError> {
    if status.0 == 0 {
        Ok(())
    } else if status.0 == 0x0D {
        Err(IpmiError::AuthenticationFailed {
            peer,
            reason: AuthFailure::UnknownUser,
        })
    } else if status.is_authentication() {
        Err(IpmiError::AuthenticationFailed {
            peer,
            reason: AuthFailure::Refused(status),
        })
    } else if status.is_privilege() {
        Err(IpmiError::InsufficientPrivilege {
            peer,
            requested,
            detail: format!("{step}: {status}"),
        })
    } else {
        Err(IpmiError::SessionRefused { peer, step, status })
    }
}

/// The payload of an unauthenticated set-up packet of type `want`, None for anything else.
fn setup_payload(bytes: &[u8], want: u8) -> Result<Option<Vec<u8>>, Malformed> {
    match rmcp::decode(bytes, None)? {
        Packet::V20 {
            payload_type,
            payload,
            ..
        } if payload_type == want => Ok(Some(payload)),
        _ => Ok(None),
    }
}

/// One unauthenticated set-up round: its name (for errors), the request and its payload type,
/// the reply's payload type and decoder.
struct SetupStep<'a, R> {
    name: &'static str,
    request_type: u8,
    request: &'a [u8],
    reply_type: u8,
    decode: fn(&[u8]) -> Result<R, Malformed>,
}

/// Runs one set-up round (Open Session, RAKP 1→2, RAKP 3→4): takes the first reply that
/// answers our `(tag, console session ID)` and turns a refusal in it into its error, so the
/// caller only sees a reply with status 0.
fn setup_exchange<R: SetupReply>(
    t: &Transport,
    step: SetupStep<'_, R>,
    (tag, console_sid): (u8, u32),
    privilege: Privilege,
    deadline: Deadline,
) -> Result<R, IpmiError> {
    let reply = t.exchange(
        step.name,
        deadline,
        || rmcp::encode_v20(step.request_type, 0, 0, step.request, None, &[0; 16]),
        |bytes| match setup_payload(bytes, step.reply_type) {
            Ok(Some(p)) => match (step.decode)(&p) {
                Ok(r) if r.answers(tag, console_sid) => Seen::Done(Ok(r)),
                Ok(_) => Seen::Ignore,
                Err(m) => Seen::Bad(m),
            },
            Ok(None) => Seen::Ignore,
            Err(m) => Seen::Bad(m),
        },
    )?;
    refusal(t.peer, step.name, reply.status(), privilege)?;
    Ok(reply)
}

fn rakp(
    t: &Transport,
    target: &IpmiTarget,
    suite: CipherSuite,
    (console_sid, bmc_sid): (u32, u32),
    deadline: Deadline,
) -> Result<State, IpmiError> {
    let peer = t.peer;
    let alg = suite.auth();
    let username = target.username.as_bytes();
    let role = target.privilege.code() | NAME_ONLY_LOOKUP;
    let console_random = random_bytes::<16>(peer)?;
    let tag = random_bytes::<1>(peer)?[0];
    let k_uid = target.password.expose();

    let rakp1 = rakp::encode_rakp1(tag, bmc_sid, &console_random, role, username);
    let r2 = setup_exchange(
        t,
        SetupStep {
            name: "RAKP 2",
            request_type: payload::RAKP1,
            request: &rakp1,
            reply_type: payload::RAKP2,
            decode: rakp::decode_rakp2,
        },
        (tag, console_sid),
        target.privilege,
        deadline,
    )
    .map_err(|e| match e {
        // The BMC answered Open Session, so it is there: silence now is how some BMCs
        // (pyghmi's, some vendors') answer a user name they do not know, instead of 0x0D.
        IpmiError::NoAnswer {
            peer,
            waited,
            refused,
            ..
        } => IpmiError::NoAnswer {
            peer,
            waited,
            refused,
            step: "RAKP 2; some BMCs stay silent here for an unknown user name",
        },
        other => other,
    })?;
    let transcript = RakpTranscript {
        console_sid,
        bmc_sid,
        console_random,
        bmc_random: r2.bmc_random,
        bmc_guid: r2.bmc_guid,
        role,
        username: username.to_vec(),
    };
    if !codes_equal(&transcript.rakp2_hmac(alg, k_uid), &r2.auth_code) {
        return Err(IpmiError::AuthenticationFailed {
            peer,
            reason: AuthFailure::WrongPassword,
        });
    }

    let kg = target.kg.as_ref().map_or(k_uid, |k| k.expose());
    let sik = transcript.sik(alg, kg);
    let rakp3 = rakp::encode_rakp3(tag, bmc_sid, &transcript.rakp3_hmac(alg, k_uid));
    let r4 = setup_exchange(
        t,
        SetupStep {
            name: "RAKP 4",
            request_type: payload::RAKP3,
            request: &rakp3,
            reply_type: payload::RAKP4,
            decode: rakp::decode_rakp4,
        },
        (tag, console_sid),
        target.privilege,
        deadline,
    )?;
    if !codes_equal(&transcript.rakp4_icv(alg, &sik), &r4.icv) {
        return Err(IpmiError::AuthenticationFailed {
            peer,
            reason: if target.kg.is_some() {
                AuthFailure::WrongKg
            } else {
                AuthFailure::SessionKeyMismatch
            },
        });
    }
    Ok(State::Plus {
        suite,
        bmc_sid,
        console_sid,
        seq: 0,
        k1: additional_key(alg, &sik, 1),
        k2: additional_key(alg, &sik, 2),
    })
}

/// The strongest v1.5 authentication type both sides accept. Automatic choice stops at MD2:
/// with `none` or `password` any host on the path can forge the "power is off" reply, so
/// those are used only when `auth=` names them.
fn choose_auth(wanted: Option<AuthType>, offered: u8) -> Option<AuthType> {
    let order = [AuthType::Md5, AuthType::Md2];
    match wanted {
        Some(a) => Some(a).filter(|a| offered & a.capability_bit() != 0),
        None => order
            .into_iter()
            .find(|a| offered & a.capability_bit() != 0),
    }
}

fn open_v15(
    t: &Transport,
    target: &IpmiTarget,
    wanted: Option<AuthType>,
    offered: u8,
    deadline: Deadline,
) -> Result<State, IpmiError> {
    let peer = t.peer;
    let auth = choose_auth(wanted, offered).ok_or_else(|| IpmiError::Unsupported {
        peer,
        what: match wanted {
            Some(a) => format!(
                "the BMC does not offer IPMI v1.5 authentication type {}",
                a.name()
            ),
            None => "the BMC offers no IPMI v1.5 authentication type that authenticates its replies (md5, md2); set auth=password or auth=none to accept one that does not".into(),
        },
    })?;
    let mut password16 = Zeroizing::new([0u8; 16]);
    let pw = target.password.expose();
    password16[..pw.len()].copy_from_slice(pw);
    let mut name16 = [0u8; 16];
    name16[..target.username.len()].copy_from_slice(target.username.as_bytes());
    let none = [0u8; 16];

    let mut silent_activations = 0;
    let cmd = Command::ActivateSession;
    let r = loop {
        // Get Session Challenge (sessionless).
        let cmd = Command::GetSessionChallenge;
        let mut data = vec![auth.code()];
        data.extend_from_slice(&name16);
        let msg = encode_request(cmd, 1, &data);
        let r = t.exchange(
            cmd.name(),
            deadline,
            || rmcp::encode_v15(AuthType::None, &none, 0, 0, &msg),
            |bytes| judge_v15(bytes, AuthType::None, &none, 0, cmd, 1),
        )?;
        let r = match r.completion {
            0x81 | 0x82 => {
                return Err(IpmiError::AuthenticationFailed {
                    peer,
                    reason: AuthFailure::RefusedV15(cmd, CompletionCode(r.completion)),
                })
            }
            _ => check_completion(peer, cmd, r)?,
        };
        if r.data.len() != 20 {
            return Err(IpmiError::Malformed {
                peer,
                detail: Malformed {
                    what: "Get Session Challenge reply",
                },
            });
        }
        let temp_sid = u32::from_le_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]);
        let challenge = &r.data[4..20];

        // Activate Session, authenticated with the temporary session ID and sequence 0.
        let cmd = Command::ActivateSession;
        let our_inbound_seq = random_sid(peer)?;
        let mut data = vec![auth.code(), target.privilege.code()];
        data.extend_from_slice(challenge);
        data.extend_from_slice(&our_inbound_seq.to_le_bytes());
        let msg = encode_request(cmd, 2, &data);
        // The first activation gets at most half the time left, so that a short login
        // timeout still leaves room for the second challenge that tells a wrong password
        // (ignored twice) from a lost packet.
        let step = if silent_activations == 0 {
            step_deadline(t, deadline).min(Deadline::after(deadline.remaining() / 2))
        } else {
            step_deadline(t, deadline)
        };
        let r = t.exchange(
            cmd.name(),
            step,
            || rmcp::encode_v15(auth, &password16, temp_sid, 0, &msg),
            |bytes| match rmcp::decode(bytes, None) {
                // The reply is authenticated with the temporary session ID.
                Ok(Packet::V15 { session_id, .. }) if session_id != temp_sid && session_id != 0 => {
                    Seen::Ignore
                }
                Ok(Packet::V15 { .. }) => judge_v15(bytes, auth, &password16, temp_sid, cmd, 2),
                Ok(_) => Seen::Ignore,
                Err(m) => Seen::Bad(m),
            },
        );
        match r {
            Ok(r) => break r,
            Err(IpmiError::NoAnswer { .. }) if silent_activations == 0 && !deadline.expired() => {
                silent_activations += 1;
            }
            // Answered the challenge twice, ignored both activations: the AuthCode did not verify.
            Err(IpmiError::NoAnswer { .. }) if silent_activations > 0 => {
                return Err(IpmiError::AuthenticationFailed {
                    peer,
                    reason: AuthFailure::ActivationIgnored,
                })
            }
            Err(e) => return Err(e),
        }
    };
    let r = match r.completion {
        0x86 => {
            return Err(IpmiError::InsufficientPrivilege {
                peer,
                requested: target.privilege,
                detail: "Activate Session: level exceeds the user or channel limit".into(),
            })
        }
        0x81..=0x85 => {
            return Err(IpmiError::AuthenticationFailed {
                peer,
                reason: AuthFailure::RefusedV15(cmd, CompletionCode(r.completion)),
            })
        }
        _ => check_completion(peer, cmd, r)?,
    };
    if r.data.len() < 10 {
        return Err(IpmiError::Malformed {
            peer,
            detail: Malformed {
                what: "Activate Session reply",
            },
        });
    }
    let session_auth = AuthType::from_code(r.data[0] & 0x0F).ok_or(IpmiError::Malformed {
        peer,
        detail: Malformed {
            what: "Activate Session authentication type",
        },
    })?;
    let session_id = u32::from_le_bytes([r.data[1], r.data[2], r.data[3], r.data[4]]);
    let seq = u32::from_le_bytes([r.data[5], r.data[6], r.data[7], r.data[8]]).max(1);
    Ok(State::V15 {
        auth: session_auth,
        password16,
        session_id,
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_literal_and_localhost() {
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(
            resolve_host("192.0.2.7", 623, d).unwrap(),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert!(resolve_host("localhost", 623, d).unwrap().is_loopback());
        let e = resolve_host("no-such-host.invalid", 623, d).unwrap_err();
        assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
    }

    #[test]
    fn too_long_credentials_are_refused_before_any_traffic() {
        let mut t = IpmiTarget::new(
            "192.0.2.7".parse().unwrap(),
            "admin",
            crate::secret::Secret::from("123456789012345678901"),
        );
        let e = Session::open(&t, Deadline::after(Duration::from_secs(1))).unwrap_err();
        assert!(matches!(e, IpmiError::InvalidTarget(_)), "{e}");
        assert!(!e.to_string().contains("123456789"), "{e}");
        t.password = crate::secret::Secret::from("pass");
        t.username = "a-user-name-longer-than-16".into();
        assert!(matches!(
            Session::open(&t, Deadline::after(Duration::from_secs(1))),
            Err(IpmiError::InvalidTarget(_))
        ));
    }

    #[test]
    fn auth_choice() {
        let all = 0x17;
        assert_eq!(choose_auth(None, all), Some(AuthType::Md5));
        // Never settles on none or password unless asked: a forged reply would pass.
        assert_eq!(choose_auth(None, 0x01), None);
        assert_eq!(choose_auth(None, 0x01 | 0x10), None);
        assert_eq!(choose_auth(None, 0x02 | 0x10), Some(AuthType::Md2));
        assert_eq!(
            choose_auth(Some(AuthType::None), 0x01),
            Some(AuthType::None)
        );
        assert_eq!(
            choose_auth(Some(AuthType::Password), all),
            Some(AuthType::Password)
        );
        assert_eq!(choose_auth(Some(AuthType::Md5), 0x10), None);
        assert_eq!(choose_auth(None, 0x00), None);
    }
}
