//! The IPMI v1.5 "lan" session: Get Session Challenge and Activate Session, and the AuthCode
//! check of every reply (a forged reply must not pass for the BMC's).

use super::transport::{random_sid, step_deadline, Seen, Transport};
use super::{check_completion, judge_response, State};
use crate::codec::Malformed;
use crate::deadline::Deadline;
use crate::proto::ipmi::crypto::codes_equal;
use crate::proto::ipmi::error::{AuthFailure, IpmiError};
use crate::proto::ipmi::message::{encode_request, Command, CompletionCode, Response};
use crate::proto::ipmi::rmcp::{self, AuthType, Packet};
use crate::proto::ipmi::IpmiTarget;
use zeroize::Zeroizing;

/// Accepts a v1.5 packet only if its AuthCode verifies (when the session uses one), so a
/// forged reply cannot pass for the BMC's.
pub(super) fn judge_v15(
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

/// The strongest v1.5 authentication type both sides accept. Automatic choice stops at MD2:
/// with `none` or `password` any host on the path can forge the "power is off" reply, so
/// those are used only when `auth=` names them.
pub(super) fn choose_auth(wanted: Option<AuthType>, offered: u8) -> Option<AuthType> {
    let order = [AuthType::Md5, AuthType::Md2];
    match wanted {
        Some(a) => Some(a).filter(|a| offered & a.capability_bit() != 0),
        None => order
            .into_iter()
            .find(|a| offered & a.capability_bit() != 0),
    }
}

pub(super) fn open_v15(
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
