//! IPMI over LAN client for fencing: RMCP+ (IPMI v2.0, "lanplus", cipher suites 3 and 17) and
//! the IPMI v1.5 "lan" session, with the chassis commands a fence agent needs.
//!
//! ```no_run
//! use bulwark::deadline::Deadline;
//! use bulwark::proto::ipmi::{ChassisCommand, Interface, IpmiTarget, Privilege, Session};
//! use bulwark::secret::Secret;
//! use std::time::Duration;
//!
//! let target = IpmiTarget::new("192.0.2.10".parse().unwrap(), "admin", Secret::from("pass"));
//! let deadline = Deadline::after(Duration::from_secs(20));
//! let mut session = Session::open(&target, deadline)?;
//! session.chassis_control(ChassisCommand::PowerDown)?;
//! let state = session.power_state()?;
//! session.close(); // also done by Drop
//! # Ok::<(), bulwark::proto::ipmi::IpmiError>(())
//! ```
//!
//! # Why our own codec instead of ipmi-rs
//! `ipmi-rs` 0.6 hard-wires suite 3 (RAKP-HMAC-SHA1 / HMAC-SHA1-96) inside its private RMCP+
//! session state machine and derives SIK from the password only, so neither cipher suite 17
//! nor a Kg key can be added without forking it; it has no chassis commands either. The
//! session here is a few hundred lines over the RustCrypto primitives (`hmac`, `sha1`, `sha2`,
//! `md-5`, `md2`, `aes`, `cbc`), written in the rustls codec style (encode into `Vec<u8>`,
//! decode through a reader that rejects truncation).
//!
//! # Timing
//! Every wait comes from the [`Deadline`](crate::deadline::Deadline) given to
//! [`Session::open`] (replace it with [`Session::set_deadline`]). A request is resent after
//! [`Retry::first_wait`], then after doubling waits up to [`Retry::max_wait`]; a late answer
//! to an earlier copy is still accepted, so a slow BMC is not punished by the resends.
//!
//! # Cipher negotiation (lanplus without `cipher=`)
//! ipmitool asks Get Channel Cipher Suites first, which some BMCs ignore (10 s stall per call).
//! We never probe. We open with suite 17; if the BMC answers with an RMCP+ status that rejects
//! the algorithms (0x04–0x07, 0x10, 0x11) we immediately retry with suite 3. If it stays silent
//! for [`Retry::probe_budget`] although it answered Get Channel Authentication Capabilities
//! just before (so it is alive), it is treated as not knowing suite 17 and suite 3 is tried
//! with the rest of the deadline. Any other refusal (bad user, role, resources) is reported
//! as is: another suite would not help, and falling back would hide the reason. Suite 0 and
//! the other suites are never offered.

mod chassis;
pub mod crypto;
mod error;
mod message;
mod rakp;
mod rmcp;
mod session;

pub use crate::codec::Malformed;
pub use chassis::{ChassisCommand, ChassisStatus, PowerState};
pub use crypto::CipherSuite;
pub use error::{AuthFailure, IpmiError};
pub use message::{Command, CompletionCode};
pub use rakp::RmcpStatus;
pub use rmcp::AuthType;
pub(crate) use session::judge_datagram;
pub use session::{resolve_host, Negotiated, Session};

/// Codec entry points for known-answer tests and fuzzing; not needed to drive a BMC.
pub mod wire {
    pub use super::message::{decode_response, encode_request, Response};
    pub use super::rakp::{
        decode_open_session_response, decode_rakp2, decode_rakp4, encode_open_session,
        encode_rakp1, encode_rakp3, OpenSessionResponse, Rakp2, Rakp4,
    };
    pub use super::rmcp::{
        decode, encode_v15, encode_v20, payload, v15_auth_code, Packet, Security,
    };
}

use crate::secret::Secret;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// The standard RMCP port.
pub const DEFAULT_PORT: u16 = 623;

/// Session privilege levels (IPMI v2.0 table 22-28). Chassis Control needs Operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    Callback,
    User,
    Operator,
    Administrator,
}

impl Privilege {
    pub fn code(self) -> u8 {
        match self {
            Privilege::Callback => 1,
            Privilege::User => 2,
            Privilege::Operator => 3,
            Privilege::Administrator => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Privilege> {
        match code & 0x0F {
            1 => Some(Privilege::Callback),
            2 => Some(Privilege::User),
            3 => Some(Privilege::Operator),
            4 => Some(Privilege::Administrator),
            _ => None,
        }
    }

    /// Parses the fence-agents `privlvl` values (case-insensitive).
    /// Every level's name, lowest first.
    pub const NAMES: &'static [&'static str] = &["callback", "user", "operator", "administrator"];

    pub fn from_name(name: &str) -> Option<Privilege> {
        match name.to_ascii_lowercase().as_str() {
            "callback" => Some(Privilege::Callback),
            "user" => Some(Privilege::User),
            "operator" => Some(Privilege::Operator),
            "administrator" | "admin" => Some(Privilege::Administrator),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Privilege::Callback => "callback",
            Privilege::User => "user",
            Privilege::Operator => "operator",
            Privilege::Administrator => "administrator",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which IPMI LAN session to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// IPMI v1.5 session; `auth` None picks the strongest type the BMC offers
    /// (MD5, MD2, password, none in that order).
    Lan { auth: Option<AuthType> },
    /// IPMI v2.0 RMCP+; `cipher` None negotiates 17 then 3 (see the module docs).
    LanPlus { cipher: Option<CipherSuite> },
}

/// Resend timing inside the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Wait before the first resend.
    pub first_wait: Duration,
    /// Longest wait between resends (the waits double up to it).
    pub max_wait: Duration,
    /// How long a silent BMC gets to answer an Open Session for suite 17 before suite 3 is
    /// tried (only when no cipher is configured).
    pub probe_budget: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            first_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(2),
            probe_budget: Duration::from_millis(1500),
        }
    }
}

/// Everything needed to reach and log in to one BMC. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct IpmiTarget {
    /// Resolve host names with [`resolve_host`] first (bounded by the deadline).
    pub addr: IpAddr,
    pub port: u16,
    /// At most 16 bytes; empty for the anonymous/null user.
    pub username: String,
    /// At most 20 bytes (16 for IPMI v1.5).
    pub password: Secret,
    /// BMC key (the raw bytes, at most 20; see [`IpmiTarget::kg_from_hex`]).
    pub kg: Option<Secret>,
    pub privilege: Privilege,
    pub interface: Interface,
    pub retry: Retry,
}

impl IpmiTarget {
    /// Lanplus, negotiated cipher, Administrator, port 623: the settings a fence agent wants.
    pub fn new(addr: IpAddr, username: &str, password: Secret) -> IpmiTarget {
        IpmiTarget {
            addr,
            port: DEFAULT_PORT,
            username: username.to_string(),
            password,
            kg: None,
            privilege: Privilege::Administrator,
            interface: Interface::LanPlus { cipher: None },
            retry: Retry::default(),
        }
    }

    /// Decodes a hexadecimal Kg (`hexadecimal_kg`, optional `0x` prefix, at most 40 digits).
    /// The error never repeats the input.
    pub fn kg_from_hex(hex: &str) -> Result<Secret, IpmiError> {
        let h = hex.trim();
        let h = h
            .strip_prefix("0x")
            .or_else(|| h.strip_prefix("0X"))
            .unwrap_or(h);
        let bad =
            || IpmiError::InvalidTarget("hexadecimal_kg: expected up to 40 hex digits".into());
        if h.len() % 2 != 0 || h.len() > 40 {
            return Err(bad());
        }
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(h.len() / 2));
        for pair in h.as_bytes().chunks(2) {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            out.push(u8::from_str_radix(s, 16).map_err(|_| bad())?);
        }
        Ok(Secret::new(out.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kg_hex_parsing() {
        let kg = IpmiTarget::kg_from_hex("0x0102ff").unwrap();
        assert_eq!(kg.expose(), &[1, 2, 0xFF]);
        for bad in ["0x1", "zz", &"00".repeat(21)] {
            let e = IpmiTarget::kg_from_hex(bad).unwrap_err().to_string();
            assert!(!e.contains(bad) || bad.is_empty(), "{e}");
        }
    }

    #[test]
    fn privilege_names_round_trip() {
        for p in [
            Privilege::Callback,
            Privilege::User,
            Privilege::Operator,
            Privilege::Administrator,
        ] {
            assert_eq!(Privilege::from_name(p.name()), Some(p));
            assert_eq!(Privilege::from_code(p.code()), Some(p));
        }
        assert_eq!(
            Privilege::from_name("ADMINISTRATOR"),
            Some(Privilege::Administrator)
        );
        assert_eq!(Privilege::from_name("root"), None);
    }

    #[test]
    fn target_debug_hides_secrets() {
        let mut t = IpmiTarget::new(
            "127.0.0.1".parse().unwrap(),
            "admin",
            Secret::from("s3cr3tpw"),
        );
        t.kg = Some(Secret::from("k3yk3y"));
        let d = format!("{t:?}");
        assert!(!d.contains("s3cr3tpw") && !d.contains("k3yk3y"), "{d}");
    }
}
