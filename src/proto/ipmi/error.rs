//! One error type for everything that can go wrong talking to a BMC. Each variant prints as one
//! line that names the BMC and the reason; none can contain the password or Kg (the target's
//! secrets are never copied into an error).

use super::crypto::CipherSuite;
use super::message::{Command, CompletionCode};
use super::rakp::RmcpStatus;
use super::Privilege;
use crate::codec::Malformed;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Why the BMC did not accept our credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// RAKP 2 carried a key exchange code that our password does not reproduce.
    WrongPassword,
    /// The BMC refused the user name (RAKP 2 status 0x0D, or Get Session Challenge 0x81).
    UnknownUser,
    /// RAKP 4 integrity check value mismatch: with a Kg configured, the Kg is wrong.
    WrongKg,
    /// RAKP 4 integrity check value mismatch without a Kg: the BMC expects one.
    SessionKeyMismatch,
    /// An RMCP+ status refusing the credentials.
    Refused(RmcpStatus),
    /// An IPMI v1.5 completion code refusing the credentials.
    RefusedV15(Command, CompletionCode),
    /// IPMI v1.5: the BMC issued a session challenge for the user, then ignored every
    /// Activate Session. v1.5 BMCs silently drop requests whose AuthCode does not verify, so
    /// this is how a wrong password shows.
    ActivationIgnored,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFailure::WrongPassword => f.write_str("wrong password (RAKP 2 HMAC mismatch)"),
            AuthFailure::UnknownUser => f.write_str("user name not accepted"),
            AuthFailure::WrongKg => f.write_str("wrong Kg (RAKP 4 integrity check mismatch)"),
            AuthFailure::SessionKeyMismatch => {
                f.write_str("RAKP 4 integrity check mismatch (the BMC may require a Kg key)")
            }
            AuthFailure::Refused(s) => write!(f, "{s}"),
            AuthFailure::RefusedV15(c, cc) => write!(f, "{c} returned {cc}"),
            AuthFailure::ActivationIgnored => f.write_str(
                "the BMC issued a session challenge but ignored Activate Session \
                 (wrong password: IPMI v1.5 BMCs drop requests that fail authentication)",
            ),
        }
    }
}

#[derive(Debug)]
#[non_exhaustive]
pub enum IpmiError {
    /// Nothing usable came back within the wait (every retry included).
    NoAnswer {
        peer: SocketAddr,
        waited: Duration,
        step: &'static str,
        /// The kernel reported ICMP port unreachable: nothing listens on that port.
        refused: bool,
    },
    AuthenticationFailed {
        peer: SocketAddr,
        reason: AuthFailure,
    },
    /// The RMCP+ handshake succeeded but no authenticated reply followed: the BMC drops our
    /// packets (different K1/K2, or it mishandles this suite).
    NoAuthenticatedReply {
        peer: SocketAddr,
        cipher: CipherSuite,
    },
    /// The user or channel may not reach the privilege level asked for.
    InsufficientPrivilege {
        peer: SocketAddr,
        requested: Privilege,
        detail: String,
    },
    /// A command returned a completion code other than success.
    Completion {
        peer: SocketAddr,
        command: Command,
        code: CompletionCode,
    },
    /// The BMC refused the RMCP+ session for a reason not covered above.
    SessionRefused {
        peer: SocketAddr,
        step: &'static str,
        status: RmcpStatus,
    },
    /// Only malformed packets came back.
    Malformed { peer: SocketAddr, detail: Malformed },
    /// The BMC lacks something we require (IPMI v2.0, an acceptable auth type, the cipher suite).
    Unsupported { peer: SocketAddr, what: String },
    /// The target itself is unusable (user name, password or Kg too long, bad host).
    InvalidTarget(String),
    Io {
        peer: SocketAddr,
        op: &'static str,
        error: std::io::Error,
    },
}

impl IpmiError {
    /// True for failures that mean "these credentials are wrong" (the agent reports
    /// "authentication failed" instead of a generic status error).
    pub fn is_authentication(&self) -> bool {
        matches!(self, IpmiError::AuthenticationFailed { .. })
    }

    pub fn is_no_answer(&self) -> bool {
        matches!(self, IpmiError::NoAnswer { .. })
    }
}

impl fmt::Display for IpmiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpmiError::NoAnswer {
                peer,
                waited,
                step,
                refused,
            } => {
                write!(
                    f,
                    "no answer from {peer} within {:.1} s ({step})",
                    waited.as_secs_f64()
                )?;
                if *refused {
                    f.write_str(", port unreachable")?;
                }
                Ok(())
            }
            IpmiError::AuthenticationFailed { peer, reason } => {
                write!(f, "authentication failed at {peer}: {reason}")
            }
            IpmiError::NoAuthenticatedReply { peer, cipher } => {
                write!(
                    f,
                    "no authenticated reply from {peer} after the handshake: keys or cipher suite rejected"
                )?;
                if *cipher == CipherSuite::Suite17 {
                    f.write_str(" (try cipher=3)")?;
                }
                Ok(())
            }
            IpmiError::InsufficientPrivilege {
                peer,
                requested,
                detail,
            } => write!(
                f,
                "insufficient privilege at {peer}: {requested} level not granted ({detail})"
            ),
            IpmiError::Completion {
                peer,
                command,
                code,
            } => write!(f, "{command} at {peer} failed: completion code {code}"),
            IpmiError::SessionRefused { peer, step, status } => {
                write!(f, "{peer} refused the session at {step}: {status}")
            }
            IpmiError::Malformed { peer, detail } => write!(f, "{detail} from {peer}"),
            IpmiError::Unsupported { peer, what } => write!(f, "{peer}: {what}"),
            IpmiError::InvalidTarget(what) => f.write_str(what),
            IpmiError::Io { peer, op, error } => write!(f, "{op} {peer}: {error}"),
        }
    }
}

impl std::error::Error for IpmiError {}
