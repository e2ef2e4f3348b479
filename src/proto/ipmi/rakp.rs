//! RMCP+ session set-up payloads: Open Session Request/Response and RAKP messages 1–4
//! (IPMI v2.0 §13.17–13.23).

use super::crypto::CipherSuite;
use crate::codec::{malformed, Malformed, Reader};
use std::fmt;

/// RMCP+ status codes (IPMI v2.0 table 13-15) carried by Open Session Response and RAKP 2/4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmcpStatus(pub u8);

impl RmcpStatus {
    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "no errors",
            0x01 => "insufficient resources to create a session",
            0x02 => "invalid session ID",
            0x03 => "invalid payload type",
            0x04 => "invalid authentication algorithm",
            0x05 => "invalid integrity algorithm",
            0x06 => "no matching authentication payload",
            0x07 => "no matching integrity payload",
            0x08 => "inactive session ID",
            0x09 => "invalid role",
            0x0A => "unauthorized role or privilege level requested",
            0x0B => "insufficient resources to create a session at the requested role",
            0x0C => "invalid name length",
            0x0D => "unauthorized name",
            0x0E => "unauthorized GUID",
            0x0F => "invalid integrity check value",
            0x10 => "invalid confidentiality algorithm",
            0x11 => "no cipher suite match with proposed security algorithms",
            0x12 => "illegal or unrecognized parameter",
            _ => "reserved status code",
        }
    }

    /// True when the BMC refused the proposed algorithms themselves: the only rejection after
    /// which trying another cipher suite can help.
    pub fn rejects_algorithms(self) -> bool {
        matches!(self.0, 0x04 | 0x05 | 0x06 | 0x07 | 0x10 | 0x11)
    }

    /// True when the status is about the requested role / privilege level.
    pub fn is_privilege(self) -> bool {
        matches!(self.0, 0x09..=0x0B)
    }

    /// True when the status says the credentials were refused.
    pub fn is_authentication(self) -> bool {
        matches!(self.0, 0x0C..=0x0F)
    }
}

impl fmt::Display for RmcpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RMCP+ status 0x{:02X} ({})", self.0, self.name())
    }
}

/// Open Session Request for `suite`. `max_privilege` 0 asks for the highest level the
/// algorithms allow; we always ask for the configured level.
pub fn encode_open_session(
    tag: u8,
    max_privilege: u8,
    console_sid: u32,
    suite: CipherSuite,
) -> Vec<u8> {
    let (a, i, c) = suite.algorithm_ids();
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(&[tag, max_privilege & 0x0F, 0, 0]);
    out.extend_from_slice(&console_sid.to_le_bytes());
    for (kind, alg) in [(0u8, a), (1, i), (2, c)] {
        out.extend_from_slice(&[kind, 0, 0, 0x08, alg, 0, 0, 0]);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSessionResponse {
    pub tag: u8,
    pub status: RmcpStatus,
    pub max_privilege: u8,
    pub console_sid: u32,
    /// Present when status is 0.
    pub bmc_sid: u32,
    /// (authentication, integrity, confidentiality) algorithms the BMC chose.
    pub algorithms: (u8, u8, u8),
}

pub fn decode_open_session_response(p: &[u8]) -> Result<OpenSessionResponse, Malformed> {
    let mut r = Reader::new(p);
    let tag = r.u8("Open Session tag")?;
    let status = RmcpStatus(r.u8("Open Session status")?);
    if status.0 != 0 {
        // Error responses may stop after the console session ID (§13.18); some BMCs
        // (ipmi_sim) send only the tag and the status.
        let max_privilege = r.u8("Open Session privilege").unwrap_or(0) & 0x0F;
        let _ = r.take(1, "Open Session reserved");
        let console_sid = r.u32_le("Open Session console session ID").unwrap_or(0);
        return Ok(OpenSessionResponse {
            tag,
            status,
            max_privilege,
            console_sid,
            bmc_sid: 0,
            algorithms: (0, 0, 0),
        });
    }
    let max_privilege = r.u8("Open Session privilege")? & 0x0F;
    r.take(1, "Open Session reserved")?;
    let console_sid = r.u32_le("Open Session console session ID")?;
    let bmc_sid = r.u32_le("Open Session managed system session ID")?;
    let mut algs = [0u8; 3];
    for (kind, alg) in algs.iter_mut().enumerate() {
        let rec = r.take(8, "Open Session algorithm payload")?;
        if rec[0] as usize != kind || rec[3] != 0x08 {
            return malformed("Open Session algorithm payload");
        }
        *alg = rec[4] & 0x3F;
    }
    r.expect_end("Open Session Response length")?;
    Ok(OpenSessionResponse {
        tag,
        status,
        max_privilege,
        console_sid,
        bmc_sid,
        algorithms: (algs[0], algs[1], algs[2]),
    })
}

/// What pairs a set-up reply (Open Session Response, RAKP 2, RAKP 4) with our request.
pub trait SetupReply {
    fn tag(&self) -> u8;
    fn status(&self) -> RmcpStatus;
    fn console_sid(&self) -> u32;

    /// True when this reply answers the request we sent with `tag` for `console_sid`. A refusal
    /// may be cut short before the console session ID, so the tag alone pairs it.
    fn answers(&self, tag: u8, console_sid: u32) -> bool {
        self.tag() == tag && (self.console_sid() == console_sid || self.status().0 != 0)
    }
}

macro_rules! setup_reply {
    ($($t:ty),*) => {$(
        impl SetupReply for $t {
            fn tag(&self) -> u8 {
                self.tag
            }
            fn status(&self) -> RmcpStatus {
                self.status
            }
            fn console_sid(&self) -> u32 {
                self.console_sid
            }
        }
    )*};
}

setup_reply!(OpenSessionResponse, Rakp2, Rakp4);

/// RAKP Message 1.
pub fn encode_rakp1(
    tag: u8,
    bmc_sid: u32,
    console_random: &[u8; 16],
    role: u8,
    username: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(28 + username.len());
    out.extend_from_slice(&[tag, 0, 0, 0]);
    out.extend_from_slice(&bmc_sid.to_le_bytes());
    out.extend_from_slice(console_random);
    out.extend_from_slice(&[role, 0, 0, username.len() as u8]);
    out.extend_from_slice(username);
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rakp2 {
    pub tag: u8,
    pub status: RmcpStatus,
    pub console_sid: u32,
    pub bmc_random: [u8; 16],
    pub bmc_guid: [u8; 16],
    pub auth_code: Vec<u8>,
}

pub fn decode_rakp2(p: &[u8]) -> Result<Rakp2, Malformed> {
    let mut r = Reader::new(p);
    let tag = r.u8("RAKP 2 tag")?;
    let status = RmcpStatus(r.u8("RAKP 2 status")?);
    if status.0 != 0 {
        // Error replies may be cut short after the status.
        let _ = r.take(2, "RAKP 2 reserved");
        return Ok(Rakp2 {
            tag,
            status,
            console_sid: r.u32_le("RAKP 2 console session ID").unwrap_or(0),
            bmc_random: [0; 16],
            bmc_guid: [0; 16],
            auth_code: Vec::new(),
        });
    }
    r.take(2, "RAKP 2 reserved")?;
    let console_sid = r.u32_le("RAKP 2 console session ID")?;
    let bmc_random = r.array::<16>("RAKP 2 random number")?;
    let bmc_guid = r.array::<16>("RAKP 2 GUID")?;
    let auth_code = r.rest().to_vec();
    Ok(Rakp2 {
        tag,
        status,
        console_sid,
        bmc_random,
        bmc_guid,
        auth_code,
    })
}

/// RAKP Message 3 (status 0 with our key exchange code).
pub fn encode_rakp3(tag: u8, bmc_sid: u32, auth_code: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + auth_code.len());
    out.extend_from_slice(&[tag, 0, 0, 0]);
    out.extend_from_slice(&bmc_sid.to_le_bytes());
    out.extend_from_slice(auth_code);
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rakp4 {
    pub tag: u8,
    pub status: RmcpStatus,
    pub console_sid: u32,
    pub icv: Vec<u8>,
}

pub fn decode_rakp4(p: &[u8]) -> Result<Rakp4, Malformed> {
    let mut r = Reader::new(p);
    let tag = r.u8("RAKP 4 tag")?;
    let status = RmcpStatus(r.u8("RAKP 4 status")?);
    if status.0 != 0 {
        let _ = r.take(2, "RAKP 4 reserved");
        return Ok(Rakp4 {
            tag,
            status,
            console_sid: r.u32_le("RAKP 4 console session ID").unwrap_or(0),
            icv: Vec::new(),
        });
    }
    r.take(2, "RAKP 4 reserved")?;
    let console_sid = r.u32_le("RAKP 4 console session ID")?;
    Ok(Rakp4 {
        tag,
        status,
        console_sid,
        icv: r.rest().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_session_request_layout() {
        let m = encode_open_session(7, 4, 0x11223344, CipherSuite::Suite17);
        assert_eq!(m.len(), 32);
        assert_eq!(&m[..8], &[7, 4, 0, 0, 0x44, 0x33, 0x22, 0x11]);
        assert_eq!(&m[8..16], &[0, 0, 0, 8, 3, 0, 0, 0]);
        assert_eq!(&m[16..24], &[1, 0, 0, 8, 4, 0, 0, 0]);
        assert_eq!(&m[24..32], &[2, 0, 0, 8, 1, 0, 0, 0]);
    }

    #[test]
    fn open_session_response_decodes_and_rejects_truncation() {
        let mut ok = vec![7, 0, 4, 0, 1, 0, 0, 0, 9, 0, 0, 0];
        ok.extend_from_slice(&[
            0, 0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 8, 1, 0, 0, 0, 2, 0, 0, 8, 1, 0, 0, 0,
        ]);
        let r = decode_open_session_response(&ok).unwrap();
        assert_eq!((r.bmc_sid, r.algorithms), (9, (1, 1, 1)));
        for cut in 0..ok.len() {
            assert!(decode_open_session_response(&ok[..cut]).is_err(), "{cut}");
        }
        let err = decode_open_session_response(&[7, 0x11, 0, 0, 1, 0, 0, 0]).unwrap();
        assert!(err.status.rejects_algorithms());
        let short = decode_open_session_response(&[7, 0x11]).unwrap();
        assert_eq!(short.status, RmcpStatus(0x11));
        assert_eq!(decode_rakp2(&[1, 0x0D]).unwrap().status, RmcpStatus(0x0D));
        assert_eq!(decode_rakp4(&[1, 0x0F]).unwrap().status, RmcpStatus(0x0F));
        assert!(decode_rakp2(&[1, 0, 0, 0, 1, 0, 0, 0, 5]).is_err());
        assert!(decode_rakp4(&[1, 0, 0]).is_err());
    }
}
