//! The RMCP+ (IPMI v2.0) handshake: Open Session with cipher negotiation (17, then 3), RAKP
//! 1-4, and the session keys K1/K2. Each set-up round is restarted within the deadline when a
//! reply is lost (see [`open_plus`]).

use super::transport::{random_bytes, random_sid, step_deadline, Seen, Transport};
use super::State;
use crate::codec::Malformed;
use crate::deadline::Deadline;
use crate::proto::ipmi::crypto::{additional_key, codes_equal, CipherSuite, RakpTranscript};
use crate::proto::ipmi::error::{AuthFailure, IpmiError};
use crate::proto::ipmi::rakp::{self, RmcpStatus, SetupReply};
use crate::proto::ipmi::rmcp::{self, payload, Packet};
use crate::proto::ipmi::{IpmiTarget, Privilege};
use std::net::SocketAddr;

/// Name-only lookup bit of the RAKP 1 role byte: the BMC finds the user by name and uses that
/// user's privilege limit (what ipmitool sends by default).
const NAME_ONLY_LOOKUP: u8 = 0x10;

pub(super) fn open_session_status(p: &[u8]) -> Option<RmcpStatus> {
    rakp::decode_open_session_response(p)
        .ok()
        .map(|r| r.status())
}

pub(super) fn rakp2_status(p: &[u8]) -> Option<RmcpStatus> {
    rakp::decode_rakp2(p).ok().map(|r| r.status())
}

pub(super) fn rakp4_status(p: &[u8]) -> Option<RmcpStatus> {
    rakp::decode_rakp4(p).ok().map(|r| r.status())
}

pub(super) fn open_plus(
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
pub(super) fn refusal(
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
pub(super) fn setup_payload(bytes: &[u8], want: u8) -> Result<Option<Vec<u8>>, Malformed> {
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
