//! IPMI messages as carried over LAN (IPMI v2.0 §13.8): requester/responder addresses, NetFn,
//! sequence number, command, data, two checksums. Completion codes with their names.

use crate::codec::{malformed, Malformed, Reader};
use std::fmt;

/// Responder address of the BMC.
pub const BMC_ADDR: u8 = 0x20;
/// Requester address of a remote console (software ID 0x40, shifted, bit 0 = software ID).
pub const CONSOLE_ADDR: u8 = 0x81;

pub const NETFN_CHASSIS: u8 = 0x00;
pub const NETFN_APP: u8 = 0x06;

/// The commands this client sends, for naming them in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    GetChassisStatus,
    ChassisControl,
    GetChannelAuthCapabilities,
    GetSessionChallenge,
    ActivateSession,
    SetSessionPrivilegeLevel,
    CloseSession,
}

impl Command {
    /// (NetFn, command code).
    pub fn code(self) -> (u8, u8) {
        match self {
            Command::GetChassisStatus => (NETFN_CHASSIS, 0x01),
            Command::ChassisControl => (NETFN_CHASSIS, 0x02),
            Command::GetChannelAuthCapabilities => (NETFN_APP, 0x38),
            Command::GetSessionChallenge => (NETFN_APP, 0x39),
            Command::ActivateSession => (NETFN_APP, 0x3A),
            Command::SetSessionPrivilegeLevel => (NETFN_APP, 0x3B),
            Command::CloseSession => (NETFN_APP, 0x3C),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Command::GetChassisStatus => "Get Chassis Status",
            Command::ChassisControl => "Chassis Control",
            Command::GetChannelAuthCapabilities => "Get Channel Authentication Capabilities",
            Command::GetSessionChallenge => "Get Session Challenge",
            Command::ActivateSession => "Activate Session",
            Command::SetSessionPrivilegeLevel => "Set Session Privilege Level",
            Command::CloseSession => "Close Session",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A completion code other than success, printed with its name from IPMI v2.0 table 5-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionCode(pub u8);

impl CompletionCode {
    pub const INSUFFICIENT_PRIVILEGE: CompletionCode = CompletionCode(0xD4);

    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "success",
            0xC0 => "node busy",
            0xC1 => "invalid command",
            0xC2 => "command invalid for given LUN",
            0xC3 => "timeout while processing command",
            0xC4 => "out of space",
            0xC5 => "reservation cancelled or invalid",
            0xC6 => "request data truncated",
            0xC7 => "request data length invalid",
            0xC8 => "request data field length limit exceeded",
            0xC9 => "parameter out of range",
            0xCA => "cannot return number of requested data bytes",
            0xCB => "requested sensor, data, or record not present",
            0xCC => "invalid data field in request",
            0xCD => "command illegal for specified sensor or record type",
            0xCE => "command response could not be provided",
            0xCF => "cannot execute duplicated request",
            0xD0 => "SDR repository in update mode",
            0xD1 => "device in firmware update mode",
            0xD2 => "BMC initialization in progress",
            0xD3 => "destination unavailable",
            0xD4 => "insufficient privilege level",
            0xD5 => "command not supported in present state",
            0xD6 => "command sub-function disabled or unavailable",
            0xFF => "unspecified error",
            0x01..=0x7E => "device-specific (OEM) completion code",
            0x80..=0xBE => "command-specific completion code",
            _ => "reserved completion code",
        }
    }
}

impl fmt::Display for CompletionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X} ({})", self.0, self.name())
    }
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b))
        .wrapping_neg()
}

/// Encodes a request from the remote console to the BMC, LUN 0. `rq_seq` is 6 bits.
pub fn encode_request(command: Command, rq_seq: u8, data: &[u8]) -> Vec<u8> {
    let (netfn, cmd) = command.code();
    let mut out = Vec::with_capacity(7 + data.len());
    out.push(BMC_ADDR);
    out.push(netfn << 2);
    out.push(checksum(&out[0..2]));
    out.push(CONSOLE_ADDR);
    out.push((rq_seq & 0x3F) << 2);
    out.push(cmd);
    out.extend_from_slice(data);
    out.push(checksum(&out[3..]));
    out
}

/// A response from the BMC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The request's NetFn (the response NetFn less one).
    pub netfn: u8,
    pub cmd: u8,
    pub rq_seq: u8,
    pub completion: u8,
    pub data: Vec<u8>,
}

impl Response {
    pub fn answers(&self, command: Command, rq_seq: u8) -> bool {
        (self.netfn, self.cmd) == command.code() && self.rq_seq == rq_seq
    }
}

/// Decodes a response, checking both checksums and that it is a response (odd NetFn).
pub fn decode_response(bytes: &[u8]) -> Result<Response, Malformed> {
    let mut r = Reader::new(bytes);
    let head = r.take(3, "IPMI message header")?;
    if checksum(&head[0..2]) != head[2] {
        return malformed("IPMI message header checksum");
    }
    let netfn_lun = head[1];
    if netfn_lun & 0x04 == 0 {
        return malformed("IPMI response NetFn");
    }
    let body = r.rest();
    if body.len() < 5 {
        return malformed("IPMI response body");
    }
    if checksum(&body[..body.len() - 1]) != body[body.len() - 1] {
        return malformed("IPMI message data checksum");
    }
    let mut b = Reader::new(&body[..body.len() - 1]);
    let _rs_addr = b.u8("responder address")?;
    let seq_lun = b.u8("sequence number")?;
    let cmd = b.u8("command")?;
    let completion = b.u8("completion code")?;
    Ok(Response {
        netfn: (netfn_lun >> 2) & !1,
        cmd,
        rq_seq: seq_lun >> 2,
        completion,
        data: b.rest().to_vec(),
    })
}

#[cfg(test)]
pub(crate) fn encode_response(
    netfn: u8,
    cmd: u8,
    rq_seq: u8,
    completion: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut out = vec![CONSOLE_ADDR, (netfn | 1) << 2];
    out.push(checksum(&out[0..2]));
    out.push(BMC_ADDR);
    out.push(rq_seq << 2);
    out.push(cmd);
    out.push(completion);
    out.extend_from_slice(data);
    out.push(checksum(&out[3..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_and_checksums() {
        // Get Chassis Status, seq 5: the bytes ipmitool sends (checked by hand against §13.8).
        let m = encode_request(Command::GetChassisStatus, 5, &[]);
        assert_eq!(m, vec![0x20, 0x00, 0xE0, 0x81, 0x14, 0x01, 0x6A]);
        assert_eq!(m.iter().skip(3).fold(0u8, |a, b| a.wrapping_add(*b)), 0);
    }

    #[test]
    fn response_round_trip_and_rejections() {
        let raw = encode_response(NETFN_CHASSIS, 0x01, 9, 0, &[0x01, 0x00, 0x40]);
        let r = decode_response(&raw).unwrap();
        assert!(r.answers(Command::GetChassisStatus, 9));
        assert!(!r.answers(Command::GetChassisStatus, 8));
        assert_eq!(r.data, vec![0x01, 0x00, 0x40]);
        for cut in 0..raw.len() {
            assert!(decode_response(&raw[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = raw.clone();
        bad[5] ^= 1;
        assert!(decode_response(&bad).is_err());
        // A request is not a response.
        assert!(decode_response(&encode_request(Command::ChassisControl, 1, &[0])).is_err());
    }

    #[test]
    fn completion_names() {
        assert_eq!(
            CompletionCode(0xD4).to_string(),
            "0xD4 (insufficient privilege level)"
        );
        assert_eq!(CompletionCode(0xC1).name(), "invalid command");
    }
}
