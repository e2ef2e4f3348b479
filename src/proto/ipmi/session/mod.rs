//! The session: opened over [`transport`] by the RMCP+ handshake ([`plus`]) or the IPMI v1.5
//! activation ([`v15`]); commands inside it; Close Session on every exit path.

mod plus;
mod transport;
mod v15;

use super::chassis::{ChassisCommand, ChassisStatus, PowerState};
use super::crypto::{CipherSuite, Key};
use super::error::IpmiError;
use super::message::{decode_response, encode_request, Command, CompletionCode, Response};
use super::rakp::RmcpStatus;
use super::rmcp::{self, payload, AuthType, Packet, Security};
use super::{Interface, IpmiTarget, Privilege};
use crate::codec::Malformed;
use crate::deadline::Deadline;
use plus::{open_plus, open_session_status, rakp2_status, rakp4_status, refusal, setup_payload};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use transport::{random_bytes, Seen, Transport};
use v15::{judge_v15, open_v15};
use zeroize::Zeroizing;

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
}
