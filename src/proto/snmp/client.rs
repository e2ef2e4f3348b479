//! A blocking SNMP v1/v2c/v3 client with per-attempt timeouts and retries taken from a
//! [`Deadline`].
//!
//! The wire work (BER, USM HMAC and privacy) is done by the `snmp2` crate; this layer adds what a
//! fence agent needs on top of it:
//! * every request is bounded by the caller's deadline: the socket timeout of one attempt is
//!   `min(attempt_timeout, deadline.remaining())`, and attempts stop at `retries + 1` or at the
//!   deadline, whichever comes first;
//! * answers are turned into owned values whose exceptions (`noSuchObject`, `noSuchInstance`,
//!   `endOfMibView`, v1 `noSuchName`) can never be mistaken for a value;
//! * failures are classified so the caller can say *why* in one line: silence (v1/v2c with a
//!   wrong community, a host that is down, lost packets) is [`SnmpError::NoResponse`], a v3 USM
//!   rejection (wrong password, unknown user, wrong privacy key) is
//!   [`SnmpError::AuthenticationFailure`];
//! * communities and passphrases arrive as [`Secret`]s and appear in no error text and no
//!   `Debug` output of this module.
//!
//! Gap filled here: `snmp2::SyncSession` fixes its socket timeout when it is built and offers
//! no way to change it, so when the deadline leaves less than one attempt's timeout the session
//! is rebuilt with the shorter timeout (for v3 that repeats engine discovery, one round trip).

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use snmp2::v3;

use super::oid::Oid;
use crate::deadline::Deadline;
use crate::secret::Secret;

/// Shortest socket timeout worth trying; below it an attempt is counted as expired.
const MIN_ATTEMPT: Duration = Duration::from_millis(5);
/// Rows asked for per GETBULK (v2c/v3 walks).
const BULK_ROWS: u32 = 24;
/// Hard stop for walks of a broken agent that never leaves the subtree.
const MAX_WALK_ROWS: usize = 10_000;

/// SNMPv3 authentication protocol (USM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl AuthProtocol {
    /// The protocols as net-snmp names them, one per variant.
    pub const NAMES: &'static [&'static str] =
        &["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"];

    /// Accepts net-snmp's spellings (`MD5`, `SHA`, `SHA-256`, …) and `SHA1`/`SHA256` forms,
    /// case-insensitively.
    pub fn parse(text: &str) -> Option<AuthProtocol> {
        let t = text.trim().to_ascii_uppercase().replace(['-', '_'], "");
        Some(match t.as_str() {
            "MD5" => AuthProtocol::Md5,
            "SHA" | "SHA1" => AuthProtocol::Sha1,
            "SHA224" => AuthProtocol::Sha224,
            "SHA256" => AuthProtocol::Sha256,
            "SHA384" => AuthProtocol::Sha384,
            "SHA512" => AuthProtocol::Sha512,
            _ => return None,
        })
    }

    fn wire(self) -> v3::AuthProtocol {
        match self {
            AuthProtocol::Md5 => v3::AuthProtocol::Md5,
            AuthProtocol::Sha1 => v3::AuthProtocol::Sha1,
            AuthProtocol::Sha224 => v3::AuthProtocol::Sha224,
            AuthProtocol::Sha256 => v3::AuthProtocol::Sha256,
            AuthProtocol::Sha384 => v3::AuthProtocol::Sha384,
            AuthProtocol::Sha512 => v3::AuthProtocol::Sha512,
        }
    }
}

/// SNMPv3 privacy protocol. AES-192/256 come in two key-extension flavours that are not
/// interchangeable with a short-hash auth protocol: Blumenthal (net-snmp `AES-256`) and Reeder
/// (net-snmp `AES-256-C`, the "Cisco" one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivProtocol {
    Des,
    Aes128,
    Aes192,
    Aes256,
    Aes192Reeder,
    Aes256Reeder,
}

impl PrivProtocol {
    /// The protocols as net-snmp names them, one per variant.
    pub const NAMES: &'static [&'static str] =
        &["DES", "AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C"];

    /// Accepts net-snmp's spellings (`DES`, `AES`, `AES-128`, `AES-192`, `AES-256`, `AES-192-C`,
    /// `AES-256-C`), case-insensitively.
    pub fn parse(text: &str) -> Option<PrivProtocol> {
        let t = text.trim().to_ascii_uppercase().replace(['-', '_'], "");
        Some(match t.as_str() {
            "DES" => PrivProtocol::Des,
            "AES" | "AES128" => PrivProtocol::Aes128,
            "AES192" => PrivProtocol::Aes192,
            "AES256" => PrivProtocol::Aes256,
            "AES192C" => PrivProtocol::Aes192Reeder,
            "AES256C" => PrivProtocol::Aes256Reeder,
            _ => return None,
        })
    }

    fn wire(self) -> (v3::Cipher, Option<v3::KeyExtension>) {
        match self {
            PrivProtocol::Des => (v3::Cipher::Des, None),
            PrivProtocol::Aes128 => (v3::Cipher::Aes128, None),
            PrivProtocol::Aes192 => (v3::Cipher::Aes192, Some(v3::KeyExtension::Blumenthal)),
            PrivProtocol::Aes256 => (v3::Cipher::Aes256, Some(v3::KeyExtension::Blumenthal)),
            PrivProtocol::Aes192Reeder => (v3::Cipher::Aes192, Some(v3::KeyExtension::Reeder)),
            PrivProtocol::Aes256Reeder => (v3::Cipher::Aes256, Some(v3::KeyExtension::Reeder)),
        }
    }
}

/// A USM user. Security level follows from what is set: neither = noAuthNoPriv, `auth` only =
/// authNoPriv, both = authPriv (privacy without authentication is refused by [`Session::open`]).
#[derive(Clone)]
pub struct UsmUser {
    pub name: String,
    pub auth: Option<(AuthProtocol, Secret)>,
    pub privacy: Option<(PrivProtocol, Secret)>,
}

/// Who we are to the agent.
#[derive(Clone)]
pub enum Credentials {
    V1 { community: Secret },
    V2c { community: Secret },
    V3(UsmUser),
}

impl fmt::Debug for Credentials {
    /// Names the version and security level only: no community, no passphrase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::V1 { .. } => f.write_str("SNMPv1 community"),
            Credentials::V2c { .. } => f.write_str("SNMPv2c community"),
            Credentials::V3(u) => write!(
                f,
                "SNMPv3 {}",
                match (&u.auth, &u.privacy) {
                    (None, _) => "noAuthNoPriv",
                    (Some(_), None) => "authNoPriv",
                    (Some(_), Some(_)) => "authPriv",
                }
            ),
        }
    }
}

/// Where the agent is and how patient to be with it.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// Timeout of one request/response exchange (capped by the deadline).
    pub attempt_timeout: Duration,
    /// Extra attempts after the first one when no (valid) answer arrives.
    pub retries: u32,
}

impl Target {
    /// Resolves `host` (an IP literal or a name; name lookup uses the system resolver, which has
    /// no timeout of its own) with the defaults of net-snmp: 1 s per attempt, 5 retries.
    pub fn resolve(host: &str, port: u16) -> Result<Target, SnmpError> {
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| SnmpError::Io(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| SnmpError::Io(format!("no address for {host}")))?;
        Ok(Target::at(addr))
    }

    /// [`Target::resolve`] bounded by `deadline` (see [`crate::proto::resolve_within`]): what a
    /// fence agent uses, since a dead resolver must not eat the fence's time.
    pub fn resolve_within(host: &str, port: u16, deadline: &Deadline) -> Result<Target, SnmpError> {
        crate::proto::resolve_within(host, port, deadline)
            .map(Target::at)
            .map_err(SnmpError::Io)
    }

    fn at(addr: SocketAddr) -> Target {
        Target {
            addr,
            attempt_timeout: Duration::from_secs(1),
            retries: 5,
        }
    }
}

/// An SNMP value, owned. The three SNMPv2 exceptions are variants of their own so that a
/// missing object can never be read as a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    OctetString(Vec<u8>),
    ObjectId(Oid),
    /// Counter32, Gauge32/Unsigned32, TimeTicks, Counter64.
    Unsigned(u64),
    IpAddress([u8; 4]),
    Null,
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    /// A type this client does not interpret (Opaque, BOOLEAN, constructed…).
    Other,
}

impl Value {
    /// Which exception this is, if any.
    pub fn exception(&self) -> Option<Missing> {
        match self {
            Value::NoSuchObject => Some(Missing::NoSuchObject),
            Value::NoSuchInstance => Some(Missing::NoSuchInstance),
            Value::EndOfMibView => Some(Missing::EndOfMibView),
            _ => None,
        }
    }

    /// Text of an OctetString (lossy UTF-8, trailing NULs and blanks trimmed).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::OctetString(b) => Some(
                String::from_utf8_lossy(b)
                    .trim_end_matches(['\0', ' ', '\n', '\r'])
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// One OID with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Varbind {
    pub oid: Oid,
    pub value: Value,
}

/// The ways an agent says "there is nothing at this OID".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// v1 error status 2.
    NoSuchName,
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::NoSuchName => "noSuchName",
            Missing::NoSuchObject => "noSuchObject",
            Missing::NoSuchInstance => "noSuchInstance",
            Missing::EndOfMibView => "endOfMibView",
        })
    }
}

/// RFC 3416 error-status names, indexed by code.
const ERROR_STATUS: [&str; 19] = [
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
];

/// Name of an SNMP error-status code.
pub fn error_status_name(code: u32) -> &'static str {
    ERROR_STATUS
        .get(code as usize)
        .copied()
        .unwrap_or("unknown error status")
}

/// Why an SNMP request failed. `Display` is one line, with no credentials in it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnmpError {
    /// No valid answer within the attempts allowed: host down, packets dropped, or a credential
    /// the agent drops without a word — a v1/v2c community it does not know, or (net-snmp
    /// observed) a wrong SNMPv3 privacy passphrase, which it cannot decrypt. `v3` picks the hint.
    NoResponse { attempts: u32, v3: bool },
    /// The deadline passed before a first attempt could be made.
    DeadlineExpired,
    /// SNMPv3 USM rejected us (wrong passphrase, unknown user, wrong privacy key, …).
    AuthenticationFailure(String),
    /// The agent has no object at `oid`.
    Missing { oid: Oid, kind: Missing },
    /// The agent answered with an error status (e.g. notWritable, wrongValue, noAccess,
    /// authorizationError).
    Rejected { status: u32, oid: Option<Oid> },
    /// The answer does not fit the request (wrong OIDs, wrong count, unparsable).
    Malformed(String),
    /// Local problem: bad configuration, socket, name resolution.
    Io(String),
}

impl fmt::Display for SnmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnmpError::NoResponse { attempts, v3 } => write!(
                f,
                "no response from the SNMP agent after {attempts} attempt{} (device down, or wrong {})",
                if *attempts == 1 { "" } else { "s" },
                if *v3 { "privacy passphrase" } else { "community" }
            ),
            SnmpError::DeadlineExpired => f.write_str("time budget used up before the SNMP request"),
            SnmpError::AuthenticationFailure(why) => {
                write!(f, "SNMPv3 authentication failure ({why})")
            }
            SnmpError::Missing { oid, kind } => write!(f, "no such object at {oid} ({kind})"),
            SnmpError::Rejected { status, oid } => {
                write!(f, "SNMP agent answered {}", error_status_name(*status))?;
                if let Some(o) = oid {
                    write!(f, " for {o}")?;
                }
                Ok(())
            }
            SnmpError::Malformed(why) => write!(f, "malformed SNMP response: {why}"),
            SnmpError::Io(why) => write!(f, "SNMP: {why}"),
        }
    }
}

impl std::error::Error for SnmpError {}

/// What to do after one attempt failed.
enum Verdict {
    Retry,
    Fail(SnmpError),
}

fn classify(e: snmp2::Error) -> Verdict {
    use snmp2::Error as E;
    match e {
        // Timeout, ICMP port unreachable, a stale answer to an earlier request, garbage: try again.
        E::Receive
        | E::Send
        | E::RequestIdMismatch
        | E::CommunityMismatch
        | E::AsnParse
        | E::AsnInvalidLen
        | E::AsnWrongType
        | E::AsnUnsupportedType
        | E::AsnEof
        | E::AsnIntOverflow
        | E::UnsupportedVersion
        | E::ValueOutOfRange
        | E::BufferOverflow
        | E::AuthUpdated => Verdict::Retry,
        E::AuthFailure(kind) => Verdict::Fail(SnmpError::AuthenticationFailure(auth_reason(&kind))),
        // Decryption failures carry no secret, but keep the line short and fixed.
        E::Crypto(_) => Verdict::Fail(SnmpError::AuthenticationFailure(
            "cannot decrypt the answer: wrong privacy passphrase or protocol".into(),
        )),
        E::Mib(m) => Verdict::Fail(SnmpError::Io(m)),
    }
}

fn auth_reason(kind: &v3::AuthErrorKind) -> String {
    use v3::AuthErrorKind as K;
    match kind {
        K::NotAuthenticated => {
            "agent refused the user or the authentication passphrase".to_string()
        }
        K::SignatureMismatch => {
            "answer signed with another key: wrong authentication passphrase or protocol".into()
        }
        K::ReplyNotEncrypted => {
            "answer not encrypted: the user has no privacy key on the agent".into()
        }
        K::KeyExtensionRequired => {
            "this auth/privacy pair needs a key extension (use AES-256 or AES-256-C)".into()
        }
        other => other.to_string(),
    }
}

/// An open conversation with one agent.
pub struct Session {
    target: Target,
    creds: Credentials,
    // Boxed: snmp2 keeps two 64 KiB buffers inline, too much for a thread stack once moved.
    inner: Box<snmp2::SyncSession>,
    timeout: Duration,
    v1: bool,
    /// Set after a request went unanswered: late answers to it may still arrive on this socket
    /// and carry the request id the next request would reuse, so the next request starts on a
    /// fresh socket (and, for v3, a fresh engine discovery).
    stale: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .field("credentials", &self.creds)
            .finish()
    }
}

fn to_wire_oid(oid: &Oid) -> Result<snmp2::Oid<'static>, SnmpError> {
    let arcs: Vec<u64> = oid.arcs().iter().map(|a| u64::from(*a)).collect();
    snmp2::Oid::from(&arcs).map_err(|_| SnmpError::Io(format!("cannot encode OID {oid}")))
}

fn from_wire_oid(oid: &snmp2::Oid<'_>) -> Result<Oid, SnmpError> {
    let arcs = oid
        .iter()
        .ok_or_else(|| SnmpError::Malformed("OID arc too large".into()))?
        .map(|a| u32::try_from(a).map_err(|_| SnmpError::Malformed("OID arc too large".into())))
        .collect::<Result<Vec<u32>, SnmpError>>()?;
    Oid::from_arcs(&arcs).map_err(|e| SnmpError::Malformed(e.to_string()))
}

fn from_wire_value(v: &snmp2::Value<'_>) -> Result<Value, SnmpError> {
    use snmp2::Value as W;
    Ok(match v {
        W::Integer(i) => Value::Integer(*i),
        W::OctetString(b) => Value::OctetString(b.to_vec()),
        W::ObjectIdentifier(o) => Value::ObjectId(from_wire_oid(o)?),
        W::Counter32(n) | W::Unsigned32(n) | W::Timeticks(n) => Value::Unsigned(u64::from(*n)),
        W::Counter64(n) => Value::Unsigned(*n),
        W::IpAddress(a) => Value::IpAddress(*a),
        W::Null => Value::Null,
        W::NoSuchObject => Value::NoSuchObject,
        W::NoSuchInstance => Value::NoSuchInstance,
        W::EndOfMibView => Value::EndOfMibView,
        _ => Value::Other,
    })
}

/// The varbinds of a v1/v2c response message as this client reads them off the wire
/// (fuzzing: the same conversion every GET, SET and walk goes through).
pub(crate) fn decode_response(bytes: &[u8]) -> Result<Vec<Varbind>, SnmpError> {
    let pdu = snmp2::Pdu::from_bytes(bytes).map_err(|e| SnmpError::Malformed(format!("{e:?}")))?;
    owned(pdu).map(|a| a.varbinds)
}

/// A response PDU made owned: error status plus varbinds.
struct Answer {
    status: u32,
    index: u32,
    varbinds: Vec<Varbind>,
}

fn owned(pdu: snmp2::Pdu<'_>) -> Result<Answer, SnmpError> {
    let varbinds = pdu
        .varbinds
        .clone()
        .map(|(o, v)| {
            Ok(Varbind {
                oid: from_wire_oid(&o)?,
                value: from_wire_value(&v)?,
            })
        })
        .collect::<Result<Vec<_>, SnmpError>>()?;
    Ok(Answer {
        status: pdu.error_status,
        index: pdu.error_index,
        varbinds,
    })
}

impl Answer {
    /// The OID an error status points at (error-index is 1-based into the request).
    fn failed_oid(&self, request: &[Oid]) -> Option<Oid> {
        (self.index as usize)
            .checked_sub(1)
            .and_then(|i| request.get(i))
            .cloned()
    }
}

impl Session {
    /// Opens a session; for v3 this runs engine discovery (one round trip, within `deadline`).
    pub fn open(
        target: &Target,
        creds: &Credentials,
        deadline: &Deadline,
    ) -> Result<Session, SnmpError> {
        if let Credentials::V3(u) = creds {
            if u.auth.is_none() && u.privacy.is_some() {
                return Err(SnmpError::Io(
                    "SNMPv3 privacy needs authentication too".into(),
                ));
            }
        }
        let timeout = deadline.cap(target.attempt_timeout);
        if timeout < MIN_ATTEMPT {
            return Err(SnmpError::DeadlineExpired);
        }
        let inner = Self::build(target, creds, timeout)?;
        let mut s = Session {
            target: target.clone(),
            creds: creds.clone(),
            inner,
            timeout,
            v1: matches!(creds, Credentials::V1 { .. }),
            stale: false,
        };
        if matches!(creds, Credentials::V3(_)) {
            s.exchange(deadline, |inner| inner.init())?;
        }
        Ok(s)
    }

    fn build(
        target: &Target,
        creds: &Credentials,
        timeout: Duration,
    ) -> Result<Box<snmp2::SyncSession>, SnmpError> {
        let io = |e: std::io::Error| SnmpError::Io(format!("socket: {e}"));
        match creds {
            Credentials::V1 { community } => {
                snmp2::SyncSession::new_v1(target.addr, community.expose(), Some(timeout), 0)
                    .map(Box::new)
                    .map_err(io)
            }
            Credentials::V2c { community } => {
                snmp2::SyncSession::new_v2c(target.addr, community.expose(), Some(timeout), 0)
                    .map(Box::new)
                    .map_err(io)
            }
            Credentials::V3(user) => {
                let sec = match &user.auth {
                    None => v3::Security::new(user.name.as_bytes(), b"")
                        .with_auth(v3::Auth::NoAuthNoPriv),
                    Some((proto, pass)) => {
                        let sec = v3::Security::new(user.name.as_bytes(), pass.expose())
                            .with_auth_protocol(proto.wire());
                        match &user.privacy {
                            None => sec.with_auth(v3::Auth::AuthNoPriv),
                            Some((pp, ppass)) => {
                                let (cipher, ext) = pp.wire();
                                let sec = sec.with_auth(v3::Auth::AuthPriv {
                                    cipher,
                                    privacy_password: ppass.expose().to_vec(),
                                });
                                match ext {
                                    Some(e) => sec.with_key_extension_method(e),
                                    None => sec,
                                }
                            }
                        }
                    }
                };
                snmp2::SyncSession::new_v3(target.addr, Some(timeout), 0, sec)
                    .map(Box::new)
                    .map_err(io)
            }
        }
    }

    fn is_v3(&self) -> bool {
        matches!(self.creds, Credentials::V3(_))
    }

    /// Makes the socket timeout fit in what is left of the deadline (see module docs), and
    /// replaces a stale socket. Shrinks at the end of a deadline, grows back for the next one.
    fn fit(&mut self, deadline: &Deadline) -> Result<(), SnmpError> {
        let want = deadline.cap(self.target.attempt_timeout);
        if want < MIN_ATTEMPT {
            return Err(SnmpError::DeadlineExpired);
        }
        let resize = want < self.timeout
            || (want > self.timeout && self.timeout < self.target.attempt_timeout);
        if self.stale || resize {
            self.inner = Self::build(&self.target, &self.creds, want)?;
            self.timeout = want;
            self.stale = false;
            if self.is_v3() {
                // A fresh v3 session must rediscover the engine before it can sign anything.
                if let Err(e) = self.inner.init() {
                    self.stale = true;
                    return Err(match classify(e) {
                        Verdict::Retry => SnmpError::NoResponse {
                            attempts: 1,
                            v3: true,
                        },
                        Verdict::Fail(f) => f,
                    });
                }
            }
        }
        Ok(())
    }

    /// Runs one request with retries. `op` must turn the borrowed answer into an owned one.
    fn exchange<T>(
        &mut self,
        deadline: &Deadline,
        mut op: impl FnMut(&mut snmp2::SyncSession) -> Result<T, snmp2::Error>,
    ) -> Result<T, SnmpError> {
        let mut attempts: u32 = 0;
        // AuthUpdated (engine boots/time learnt from a report) earns one free extra attempt.
        let mut free = 2u32;
        let v3 = self.is_v3();
        loop {
            let outcome = match self.fit(deadline) {
                Ok(()) => op(&mut self.inner),
                Err(SnmpError::DeadlineExpired) if attempts > 0 => {
                    self.stale = true;
                    return Err(SnmpError::NoResponse { attempts, v3 });
                }
                // The rediscovery of a fresh v3 session went unanswered: a failed attempt.
                Err(SnmpError::NoResponse { .. }) => Err(snmp2::Error::Receive),
                Err(e) => return Err(e),
            };
            attempts += 1;
            match outcome {
                Ok(t) => {
                    // A retransmitted request may still be answered later on this socket;
                    // that duplicate would poison the next request: start it afresh.
                    if attempts > 1 {
                        self.stale = true;
                    }
                    return Ok(t);
                }
                Err(snmp2::Error::AuthUpdated) if free > 0 => {
                    free -= 1;
                    attempts -= 1;
                }
                Err(e) => {
                    // An answer to an earlier request: more may be queued behind it, and
                    // resending on this socket would chase them one by one (each resend meets
                    // the previous answer). Leave them behind with the socket.
                    if matches!(e, snmp2::Error::RequestIdMismatch) {
                        self.stale = true;
                    }
                    match classify(e) {
                        Verdict::Retry if attempts <= self.target.retries => {}
                        Verdict::Retry => {
                            self.stale = true;
                            return Err(SnmpError::NoResponse { attempts, v3 });
                        }
                        Verdict::Fail(f) => return Err(f),
                    }
                }
            }
        }
    }

    /// GET of several OIDs in one PDU. Exceptions come back as [`Value`] variants; a v1
    /// `noSuchName` comes back as [`SnmpError::Missing`].
    pub fn get(&mut self, oids: &[Oid], deadline: &Deadline) -> Result<Vec<Varbind>, SnmpError> {
        let wire = oids
            .iter()
            .map(to_wire_oid)
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&snmp2::Oid<'_>> = wire.iter().collect();
        let ans = self.exchange(deadline, |s| s.get_many(&refs).map(owned))??;
        self.check_status(&ans, oids)?;
        if ans.varbinds.len() != oids.len()
            || ans.varbinds.iter().zip(oids).any(|(vb, o)| vb.oid != *o)
        {
            return Err(SnmpError::Malformed(
                "answer does not match the requested OIDs".into(),
            ));
        }
        Ok(ans.varbinds)
    }

    /// GET of one OID; every exception becomes [`SnmpError::Missing`].
    pub fn get_value(&mut self, oid: &Oid, deadline: &Deadline) -> Result<Value, SnmpError> {
        let mut vbs = self.get(std::slice::from_ref(oid), deadline)?;
        let vb = vbs
            .pop()
            .ok_or_else(|| SnmpError::Malformed("empty answer".into()))?;
        match vb.value.exception() {
            Some(kind) => Err(SnmpError::Missing {
                oid: oid.clone(),
                kind,
            }),
            None => Ok(vb.value),
        }
    }

    /// SET of one INTEGER.
    pub fn set_integer(
        &mut self,
        oid: &Oid,
        value: i64,
        deadline: &Deadline,
    ) -> Result<(), SnmpError> {
        let wire = to_wire_oid(oid)?;
        let ans = self.exchange(deadline, |s| {
            s.set(&[(&wire, snmp2::Value::Integer(value))]).map(owned)
        })??;
        self.check_status(&ans, std::slice::from_ref(oid))?;
        match ans.varbinds.first() {
            Some(vb) if vb.oid != *oid => Err(SnmpError::Malformed(
                "answer to a SET names another OID".into(),
            )),
            _ => Ok(()),
        }
    }

    /// All objects under `root` in OID order (GETNEXT for v1, GETBULK otherwise). Exceptions
    /// end the walk; an agent that does not move forward is an error.
    pub fn walk(&mut self, root: &Oid, deadline: &Deadline) -> Result<Vec<Varbind>, SnmpError> {
        self.walk_stepwise(root, None, deadline)
    }

    /// [`walk`](Self::walk) where each request (GETNEXT/GETBULK with its retries) gets its own
    /// `step` budget, all of them bounded by `deadline`: a table of 48 rows read one GETNEXT
    /// at a time from a slow v1 agent needs 48 round trips, not one request's time.
    pub fn walk_stepwise(
        &mut self,
        root: &Oid,
        step: Option<Duration>,
        deadline: &Deadline,
    ) -> Result<Vec<Varbind>, SnmpError> {
        let mut out: Vec<Varbind> = Vec::new();
        let mut cursor = root.clone();
        loop {
            let wire = to_wire_oid(&cursor)?;
            let v1 = self.v1;
            let step_deadline = match step {
                Some(s) => Deadline::after(s).min(*deadline),
                None => *deadline,
            };
            let ans = self.exchange(&step_deadline, |s| {
                let r = if v1 {
                    s.getnext(&wire)
                } else {
                    s.getbulk(&[&wire], 0, BULK_ROWS)
                };
                r.map(owned)
            })??;
            if ans.status == 2 && self.v1 {
                return Ok(out); // v1 end of MIB view
            }
            self.check_status(&ans, std::slice::from_ref(&cursor))?;
            if ans.varbinds.is_empty() {
                return Err(SnmpError::Malformed("empty answer to a walk step".into()));
            }
            for vb in ans.varbinds {
                if vb.value.exception().is_some() || !vb.oid.starts_with(root) {
                    return Ok(out);
                }
                if vb.oid <= cursor {
                    return Err(SnmpError::Malformed(format!(
                        "agent went backwards at {}",
                        vb.oid
                    )));
                }
                cursor = vb.oid.clone();
                out.push(vb);
                if out.len() >= MAX_WALK_ROWS {
                    return Err(SnmpError::Malformed(format!(
                        "more than {MAX_WALK_ROWS} rows under {root}"
                    )));
                }
            }
        }
    }

    fn check_status(&self, ans: &Answer, request: &[Oid]) -> Result<(), SnmpError> {
        match ans.status {
            0 => Ok(()),
            2 => match ans.failed_oid(request).or_else(|| request.first().cloned()) {
                Some(oid) => Err(SnmpError::Missing {
                    oid,
                    kind: Missing::NoSuchName,
                }),
                None => Err(SnmpError::Rejected {
                    status: 2,
                    oid: None,
                }),
            },
            s => Err(SnmpError::Rejected {
                status: s,
                oid: ans.failed_oid(request),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names() {
        assert_eq!(AuthProtocol::parse("sha"), Some(AuthProtocol::Sha1));
        assert_eq!(AuthProtocol::parse("SHA-256"), Some(AuthProtocol::Sha256));
        assert_eq!(AuthProtocol::parse("sha512"), Some(AuthProtocol::Sha512));
        assert_eq!(AuthProtocol::parse("sha3"), None);
        assert_eq!(PrivProtocol::parse("AES"), Some(PrivProtocol::Aes128));
        assert_eq!(PrivProtocol::parse("aes-256"), Some(PrivProtocol::Aes256));
        assert_eq!(
            PrivProtocol::parse("AES-256-C"),
            Some(PrivProtocol::Aes256Reeder)
        );
        assert_eq!(PrivProtocol::parse("3DES"), None);
    }

    #[test]
    fn error_lines_carry_no_secret() {
        let c = Credentials::V2c {
            community: Secret::from("s3cr3t-community"),
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let u = Credentials::V3(UsmUser {
            name: "fence".into(),
            auth: Some((AuthProtocol::Sha256, Secret::from("authpass-XYZ"))),
            privacy: Some((PrivProtocol::Aes256, Secret::from("privpass-XYZ"))),
        });
        assert_eq!(format!("{u:?}"), "SNMPv3 authPriv");
        let e = SnmpError::NoResponse {
            attempts: 3,
            v3: false,
        };
        assert!(e.to_string().contains("3 attempts"));
    }

    #[test]
    fn error_status_names() {
        assert_eq!(error_status_name(2), "noSuchName");
        assert_eq!(error_status_name(17), "notWritable");
        assert_eq!(error_status_name(99), "unknown error status");
    }

    #[test]
    fn exceptions_are_not_values() {
        assert_eq!(
            Value::NoSuchInstance.exception(),
            Some(Missing::NoSuchInstance)
        );
        assert_eq!(Value::Integer(2).exception(), None);
        assert_eq!(
            Value::OctetString(b"node1\0".to_vec()).text().as_deref(),
            Some("node1")
        );
    }
}
