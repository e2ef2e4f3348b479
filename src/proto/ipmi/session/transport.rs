//! The UDP transport under every session: one connected socket, and exchanges that resend
//! with doubling waits until a reply is judged an answer or the deadline passes. It knows
//! neither session format; the callers' `judge` closures do.

use crate::codec::Malformed;
use crate::deadline::Deadline;
use crate::proto::ipmi::error::IpmiError;
use crate::proto::ipmi::{IpmiTarget, Retry};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Outcome of looking at one received datagram during an exchange.
pub(super) enum Seen<T> {
    /// Not an answer to this exchange (stale retry answer, other traffic): keep waiting.
    Ignore,
    /// Could not be decoded: remembered, keep waiting.
    Bad(Malformed),
    Done(Result<T, IpmiError>),
}

pub(super) struct Transport {
    pub(super) sock: UdpSocket,
    pub(super) peer: SocketAddr,
    pub(super) retry: Retry,
    /// Longest time a reply has taken so far (from the first copy sent). Resending sooner
    /// than that only makes the BMC redo work, and a resent RAKP 1 makes it draw a new random
    /// number, breaking the handshake; so later exchanges wait at least twice this.
    pub(super) slowest: std::cell::Cell<Duration>,
}

impl Transport {
    pub(super) fn connect(target: &IpmiTarget) -> Result<Transport, IpmiError> {
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
    pub(super) fn exchange<T>(
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
pub(super) const MAX_REFUSALS: u32 = 3;

/// Pause before resending after a port-unreachable answer.
pub(super) const REFUSED_RESEND: Duration = Duration::from_millis(100);

pub(super) fn random_bytes<const N: usize>(peer: SocketAddr) -> Result<[u8; N], IpmiError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| IpmiError::Io {
        peer,
        op: "no random numbers for a session with",
        error: std::io::Error::other(e.to_string()),
    })?;
    Ok(b)
}

/// A nonzero random session ID (0 means "no session").
pub(super) fn random_sid(peer: SocketAddr) -> Result<u32, IpmiError> {
    loop {
        let id = u32::from_le_bytes(random_bytes::<4>(peer)?);
        if id != 0 {
            return Ok(id);
        }
    }
}

/// The budget for one handshake step that is restarted from the beginning when it fails.
pub(super) fn step_deadline(t: &Transport, deadline: Deadline) -> Deadline {
    let wait = t
        .retry
        .max_wait
        .max(t.retry.first_wait)
        .max(t.slowest.get() * 2);
    deadline.min(Deadline::after(wait * 2))
}
