//! RMCP framing with the IPMI v1.5 and v2.0 (RMCP+) session wrappers (IPMI v2.0 §13.6, §13.2).

use super::crypto::{aes_cbc_decrypt, aes_cbc_encrypt, codes_equal, IntegrityAlgorithm};
use crate::codec::{malformed, Malformed, Reader};
use md5::{Digest, Md5};

/// RMCP version 1.0, reserved, sequence 0xFF (no RMCP ACK), class IPMI.
pub const RMCP_HEADER: [u8; 4] = [0x06, 0x00, 0xFF, 0x07];

/// IPMI v1.5 authentication types (the value in the session header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    None,
    Md2,
    Md5,
    /// "Straight password/key": the password in clear in every packet.
    Password,
}

impl AuthType {
    pub fn code(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Md2 => 1,
            AuthType::Md5 => 2,
            AuthType::Password => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<AuthType> {
        match code {
            0 => Some(AuthType::None),
            1 => Some(AuthType::Md2),
            2 => Some(AuthType::Md5),
            4 => Some(AuthType::Password),
            _ => None,
        }
    }

    /// The bit for this type in Get Channel Authentication Capabilities.
    pub fn capability_bit(self) -> u8 {
        1 << self.code()
    }

    pub fn name(self) -> &'static str {
        match self {
            AuthType::None => "none",
            AuthType::Md2 => "MD2",
            AuthType::Md5 => "MD5",
            AuthType::Password => "password",
        }
    }
}

/// RMCP+ payload types.
pub mod payload {
    pub const IPMI: u8 = 0x00;
    pub const OPEN_SESSION_REQUEST: u8 = 0x10;
    pub const OPEN_SESSION_RESPONSE: u8 = 0x11;
    pub const RAKP1: u8 = 0x12;
    pub const RAKP2: u8 = 0x13;
    pub const RAKP3: u8 = 0x14;
    pub const RAKP4: u8 = 0x15;
}

const AUTH_TYPE_RMCP_PLUS: u8 = 0x06;

/// The v1.5 AuthCode of one packet (IPMI v2.0 §22.17.1): MD5/MD2 over
/// password | session ID | message | session sequence | password, or the padded password itself.
pub fn v15_auth_code(
    auth: AuthType,
    password16: &[u8; 16],
    session_id: u32,
    message: &[u8],
    seq: u32,
) -> Option<[u8; 16]> {
    let parts: [&[u8]; 5] = [
        password16,
        &session_id.to_le_bytes(),
        message,
        &seq.to_le_bytes(),
        password16,
    ];
    match auth {
        AuthType::None => None,
        AuthType::Password => Some(*password16),
        AuthType::Md5 => {
            let mut h = Md5::new();
            parts.iter().for_each(|p| h.update(p));
            Some(h.finalize().into())
        }
        AuthType::Md2 => {
            let mut h = md2::Md2::new();
            parts.iter().for_each(|p| h.update(p));
            Some(h.finalize().into())
        }
    }
}

/// Encodes an IPMI v1.5 session packet carrying `message`.
pub fn encode_v15(
    auth: AuthType,
    password16: &[u8; 16],
    session_id: u32,
    seq: u32,
    message: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 26 + message.len());
    out.extend_from_slice(&RMCP_HEADER);
    out.push(auth.code());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&session_id.to_le_bytes());
    if let Some(code) = v15_auth_code(auth, password16, session_id, message, seq) {
        out.extend_from_slice(&code);
    }
    // Messages are far below 256 bytes; the length byte cannot overflow for what we send.
    out.push(message.len() as u8);
    out.extend_from_slice(message);
    out
}

/// A decoded packet from the BMC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    V15 {
        auth: u8,
        seq: u32,
        session_id: u32,
        auth_code: Option<[u8; 16]>,
        message: Vec<u8>,
    },
    V20 {
        payload_type: u8,
        encrypted: bool,
        authenticated: bool,
        session_id: u32,
        seq: u32,
        payload: Vec<u8>,
    },
}

fn check_rmcp(r: &mut Reader<'_>) -> Result<(), Malformed> {
    let h = r.take(4, "RMCP header")?;
    if h[0] != 0x06 || h[3] & 0x1F != 0x07 {
        return malformed("RMCP header (not an IPMI packet)");
    }
    Ok(())
}

/// Session keys of an active RMCP+ session.
pub struct Security<'a> {
    pub integrity: IntegrityAlgorithm,
    pub k1: &'a [u8],
    pub k2: &'a [u8],
}

/// Encodes an RMCP+ packet. Without `security` the payload goes in clear and unauthenticated
/// (session set-up); with it the payload is AES-CBC-128 encrypted under `iv` and the integrity
/// trailer appended.
pub fn encode_v20(
    payload_type: u8,
    session_id: u32,
    seq: u32,
    payload: &[u8],
    security: Option<&Security<'_>>,
    iv: &[u8; 16],
) -> Vec<u8> {
    let body = match security {
        Some(s) => aes_cbc_encrypt(s.k2, iv, payload),
        None => payload.to_vec(),
    };
    let mut out = Vec::with_capacity(4 + 12 + body.len() + 4 + 16);
    out.extend_from_slice(&RMCP_HEADER);
    let flags = if security.is_some() { 0xC0 } else { 0x00 };
    out.push(AUTH_TYPE_RMCP_PLUS);
    out.push(flags | (payload_type & 0x3F));
    out.extend_from_slice(&session_id.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    // RMCP+ payloads here are at most a few hundred bytes.
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    if let Some(s) = security {
        // Integrity pad: the authenticated range (auth type .. next header) is whole DWORDs.
        let covered = out.len() - 4 + 2;
        let pad = (4 - covered % 4) % 4;
        out.extend(std::iter::repeat_n(0xFF, pad));
        out.push(pad as u8);
        out.push(0x07);
        let mac = s.integrity.mac(s.k1, &out[4..]);
        out.extend_from_slice(&mac);
    }
    out
}

/// Decodes a packet. For authenticated RMCP+ packets `security` must be given; the trailer is
/// verified and the payload decrypted. An authenticated packet that fails the check is
/// rejected, so a forged reply can never be taken for the BMC's answer.
pub fn decode(bytes: &[u8], security: Option<&Security<'_>>) -> Result<Packet, Malformed> {
    let mut r = Reader::new(bytes);
    check_rmcp(&mut r)?;
    let auth = r.u8("authentication type")?;
    if auth != AUTH_TYPE_RMCP_PLUS {
        let seq = r.u32_le("session sequence")?;
        let session_id = r.u32_le("session ID")?;
        let auth_code = if auth != 0 {
            Some(r.array::<16>("v1.5 AuthCode")?)
        } else {
            None
        };
        let len = r.u8("v1.5 message length")? as usize;
        let message = r.take(len, "v1.5 message")?.to_vec();
        // A legacy pad byte may follow; anything else is tolerated as padding too.
        return Ok(Packet::V15 {
            auth,
            seq,
            session_id,
            auth_code,
            message,
        });
    }
    let pt = r.u8("payload type")?;
    let encrypted = pt & 0x80 != 0;
    let authenticated = pt & 0x40 != 0;
    let payload_type = pt & 0x3F;
    if payload_type == 0x02 {
        return malformed("payload type (OEM explicit payloads are not supported)");
    }
    let session_id = r.u32_le("session ID")?;
    let seq = r.u32_le("session sequence")?;
    let len = r.u16_le("payload length")? as usize;
    let body = r.take(len, "payload")?;
    if authenticated {
        let s = match security {
            Some(s) => s,
            None => return malformed("authenticated packet outside a session"),
        };
        let trailer = r.rest();
        let tl = s.integrity.trailer_len();
        if trailer.len() < tl + 2 {
            return malformed("integrity trailer");
        }
        let pad = trailer.len() - tl - 2;
        let (pad_bytes, rest) = trailer.split_at(pad);
        if rest[0] as usize != pad || rest[1] != 0x07 || pad_bytes.iter().any(|b| *b != 0xFF) {
            return malformed("integrity pad");
        }
        let covered = &bytes[4..bytes.len() - tl];
        if !codes_equal(&s.integrity.mac(s.k1, covered), &rest[2..]) {
            return malformed("integrity AuthCode (HMAC mismatch)");
        }
    } else if security.is_some() && payload_type == payload::IPMI {
        // Inside a session with integrity every IPMI payload must be authenticated.
        return malformed("unauthenticated packet inside an authenticated session");
    }
    let payload = if encrypted {
        match security {
            Some(s) => aes_cbc_decrypt(s.k2, body)?,
            None => return malformed("encrypted packet outside a session"),
        }
    } else {
        body.to_vec()
    };
    Ok(Packet::V20 {
        payload_type,
        encrypted,
        authenticated,
        session_id,
        seq,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v15_round_trip_each_auth_type() {
        let pw = *b"pass\0\0\0\0\0\0\0\0\0\0\0\0";
        for auth in [
            AuthType::None,
            AuthType::Md2,
            AuthType::Md5,
            AuthType::Password,
        ] {
            let p = encode_v15(auth, &pw, 0x1234, 7, &[1, 2, 3]);
            match decode(&p, None).unwrap() {
                Packet::V15 {
                    auth: a,
                    seq,
                    session_id,
                    message,
                    auth_code,
                } => {
                    assert_eq!(auth_code, v15_auth_code(auth, &pw, 0x1234, &[1, 2, 3], 7));
                    assert_eq!((a, seq, session_id), (auth.code(), 7, 0x1234));
                    assert_eq!(message, vec![1, 2, 3]);
                }
                other => panic!("{other:?}"),
            }
            for cut in 0..p.len() {
                assert!(decode(&p[..cut], None).is_err());
            }
        }
    }

    #[test]
    fn v15_md5_known_answer() {
        // md5(b"pass" + 12 NULs + le32(1) + b"\x01" + le32(2) + b"pass" + 12 NULs), computed with
        // Python's hashlib.
        let pw = *b"pass\0\0\0\0\0\0\0\0\0\0\0\0";
        let code = v15_auth_code(AuthType::Md5, &pw, 1, &[1], 2).unwrap();
        let hex: String = code.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "65c0348a3057a61c00882f328d0abee8");
    }

    #[test]
    fn v20_authenticated_round_trip_and_tamper() {
        let k1 = [1u8; 32];
        let k2 = [2u8; 32];
        for integrity in [
            IntegrityAlgorithm::HmacSha1_96,
            IntegrityAlgorithm::HmacSha256_128,
        ] {
            let sec = Security {
                integrity,
                k1: &k1,
                k2: &k2,
            };
            for len in 0..20 {
                let payload: Vec<u8> = (0..len).collect();
                let p = encode_v20(payload::IPMI, 0xAABB, 3, &payload, Some(&sec), &[5; 16]);
                assert_eq!((p.len() - 4 - integrity.trailer_len()) % 4, 0);
                match decode(&p, Some(&sec)).unwrap() {
                    Packet::V20 { payload: got, .. } => assert_eq!(got, payload),
                    other => panic!("{other:?}"),
                }
                for i in 4..p.len() {
                    let mut t = p.clone();
                    t[i] ^= 0x01;
                    // Either rejected or no longer an RMCP+ packet (auth type byte flipped).
                    assert!(
                        !matches!(decode(&t, Some(&sec)), Ok(Packet::V20 { .. })),
                        "flip at {i}"
                    );
                }
                for cut in 0..p.len() {
                    assert!(decode(&p[..cut], Some(&sec)).is_err());
                }
            }
        }
    }
}
