//! Listener probes (monitor depth 10): one TCP connection per listener, the greeting checked
//! against its protocol.
//!
//! A mail server can be "up" (its supervisor alive) and still serve nothing: a listener that
//! refuses connections, or accepts them and never greets. Each probe connects, reads the first
//! line within a time limit taken from the [`Deadline`], and classifies it with the pure
//! [`check_greeting`]: SMTP `220`, IMAP `* OK`/`* PREAUTH`, POP3 `+OK`, the CLI's banner, and for
//! HTTP (webmail, WebAdmin) a `HEAD /` answered by an `HTTP/1.x NNN` status line below 500.
//! TLS listeners (`sslEnable = yes`) are checked for an accepted connection only: greeting
//! them would need a TLS stack for a check that the plain listeners already make.

use crate::deadline::Deadline;
use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// The wire protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Smtp,
    Imap,
    Pop3,
    Http,
    Cli,
}

/// An Axigen service with listeners. Names are those the agent accepts in its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListenerKind {
    Smtp,
    Imap,
    Pop3,
    Webmail,
    Webadmin,
    Cli,
}

impl ListenerKind {
    pub const ALL: [ListenerKind; 6] = [
        ListenerKind::Smtp,
        ListenerKind::Imap,
        ListenerKind::Pop3,
        ListenerKind::Webmail,
        ListenerKind::Webadmin,
        ListenerKind::Cli,
    ];

    /// The parameter name: `smtp`, `imap`, `pop3`, `webmail`, `webadmin`, `cli`.
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Smtp => "smtp",
            ListenerKind::Imap => "imap",
            ListenerKind::Pop3 => "pop3",
            ListenerKind::Webmail => "webmail",
            ListenerKind::Webadmin => "webadmin",
            ListenerKind::Cli => "cli",
        }
    }

    /// Parses a parameter name (case-insensitive); `None` for an unknown name.
    pub fn from_name(s: &str) -> Option<ListenerKind> {
        ListenerKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The service section of `axigen.cfg` that holds this kind's listeners.
    pub fn from_service(service: &str) -> Option<ListenerKind> {
        match service.to_ascii_lowercase().as_str() {
            "smtpincoming" => Some(ListenerKind::Smtp),
            "imap" | "imapproxy" => Some(ListenerKind::Imap),
            "pop3" | "pop3proxy" => Some(ListenerKind::Pop3),
            "webmail" | "webmailproxy" => Some(ListenerKind::Webmail),
            "webadmin" => Some(ListenerKind::Webadmin),
            "cli" => Some(ListenerKind::Cli),
            _ => None,
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            ListenerKind::Smtp => Protocol::Smtp,
            ListenerKind::Imap => Protocol::Imap,
            ListenerKind::Pop3 => Protocol::Pop3,
            ListenerKind::Webmail | ListenerKind::Webadmin => Protocol::Http,
            ListenerKind::Cli => Protocol::Cli,
        }
    }

    /// Axigen's default port for the service.
    pub fn default_port(self) -> u16 {
        match self {
            ListenerKind::Smtp => 25,
            ListenerKind::Imap => 143,
            ListenerKind::Pop3 => 110,
            ListenerKind::Webmail => 80,
            ListenerKind::Webadmin => 9000,
            ListenerKind::Cli => 7000,
        }
    }
}

impl fmt::Display for ListenerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One listening socket of Axigen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listener {
    pub kind: ListenerKind,
    /// The bind address; unspecified (`0.0.0.0`, `::`) means every local address.
    pub addr: IpAddr,
    pub port: u16,
    /// `sslEnable = yes`: TLS from the first byte, so only the connection is checked.
    pub tls: bool,
}

impl Listener {
    /// Parses an agent parameter item: `KIND`, `KIND:PORT`, `KIND:IP:PORT` or
    /// `KIND:[IPv6]:PORT`, with an optional `+tls` suffix. The address defaults to all
    /// addresses, the port to the kind's default.
    pub fn parse_spec(spec: &str) -> Result<Listener, String> {
        let spec = spec.trim();
        let (spec, tls) = match spec.strip_suffix("+tls") {
            Some(s) => (s, true),
            None => (spec, false),
        };
        let (name, rest) = match spec.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (spec, None),
        };
        let kind = ListenerKind::from_name(name).ok_or_else(|| {
            format!("unknown listener {name:?} (known: smtp, imap, pop3, webmail, webadmin, cli)")
        })?;
        let (addr, port) = match rest {
            None => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), kind.default_port()),
            Some(r) if !r.contains(':') => {
                let port: u16 = r
                    .parse()
                    .map_err(|_| format!("listener {spec:?}: port {r:?} is not in 1..65535"))?;
                if port == 0 {
                    return Err(format!("listener {spec:?}: port 0 is not allowed"));
                }
                (IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
            }
            Some(r) => parse_address(r).map_err(|e| format!("listener {spec:?}: {e}"))?,
        };
        Ok(Listener {
            kind,
            addr,
            port,
            tls,
        })
    }

    /// Where to connect: the listener's own address, or for a wildcard listener `probe_addr`
    /// (e.g. the VIP), else loopback of the same family.
    pub fn target(&self, probe_addr: Option<IpAddr>) -> SocketAddr {
        let ip = if self.addr.is_unspecified() {
            match (probe_addr, self.addr) {
                (Some(p), _) => p,
                (None, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                (None, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            }
        } else {
            self.addr
        };
        SocketAddr::new(ip, self.port)
    }

    /// True when a client connecting to `ip` (e.g. the VIP) reaches this listener.
    pub fn covers(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(_)) if a.is_unspecified() => true,
            // A `::` socket also accepts IPv4 unless IPV6_V6ONLY; Linux's default is dual-stack.
            (IpAddr::V6(a), _) if a.is_unspecified() => true,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = if self.tls { "+tls" } else { "" };
        match self.addr {
            IpAddr::V6(a) => write!(f, "{}:[{}]:{}{}", self.kind, a, self.port, tls),
            IpAddr::V4(a) => write!(f, "{}:{}:{}{}", self.kind, a, self.port, tls),
        }
    }
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Connected and greeted as the protocol says.
    Greeted,
    /// TLS listener: the connection was accepted (greeting not checked).
    Accepted,
    /// Nothing listens (RST).
    Refused,
    /// The connection was not established within the time limit.
    ConnectTimeout,
    /// Other connect error (no route, address not local …), with the system's words.
    ConnectFailed(String),
    /// Connected, but no complete greeting line within the time limit: a hung listener.
    NoGreeting,
    /// The server closed the connection before greeting.
    Closed,
    /// A greeting that is not this protocol's "ready" (e.g. SMTP `554`, IMAP `* BYE`,
    /// HTTP 5xx), printable and cut to 80 characters.
    BadGreeting(String),
    /// Read or write error after connecting.
    Io(String),
}

impl ProbeOutcome {
    /// The listener serves clients.
    pub fn is_healthy(&self) -> bool {
        matches!(self, ProbeOutcome::Greeted | ProbeOutcome::Accepted)
    }
}

/// One listener, where it was probed, and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    pub listener: Listener,
    pub target: SocketAddr,
    pub outcome: ProbeOutcome,
}

impl fmt::Display for ProbeReport {
    /// One line for the operator, e.g. `imap listener 127.0.0.1:143: accepted the connection
    /// but sent no greeting`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} listener {}: ", self.listener.kind, self.target)?;
        match &self.outcome {
            ProbeOutcome::Greeted => f.write_str("greeted correctly"),
            ProbeOutcome::Accepted => f.write_str("accepted the connection (TLS, not greeted)"),
            ProbeOutcome::Refused => f.write_str("connection refused"),
            ProbeOutcome::ConnectTimeout => f.write_str("connection timed out"),
            ProbeOutcome::ConnectFailed(e) => write!(f, "cannot connect: {e}"),
            ProbeOutcome::NoGreeting => f.write_str("accepted the connection but sent no greeting"),
            ProbeOutcome::Closed => f.write_str("closed the connection without a greeting"),
            ProbeOutcome::BadGreeting(g) => write!(f, "unexpected greeting {g:?}"),
            ProbeOutcome::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Whether `line` (the first line from the server, without CRLF) is `proto`'s ready greeting.
pub fn check_greeting(proto: Protocol, line: &[u8]) -> bool {
    fn starts_ci(line: &[u8], prefix: &[u8]) -> bool {
        line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
    }
    match proto {
        // RFC 5321: "220" then SP or "-" (multi-line) or end of line.
        Proto::Smtp => {
            line.starts_with(b"220") && matches!(line.get(3), None | Some(b' ') | Some(b'-'))
        }
        Proto::Imap => starts_ci(line, b"* OK") || starts_ci(line, b"* PREAUTH"),
        Proto::Pop3 => line.starts_with(b"+OK"),
        Proto::Http => http_status(line).is_some_and(|s| (100..500).contains(&s)),
        Proto::Cli => line
            .windows(b"Command Line Interface".len())
            .any(|w| w.eq_ignore_ascii_case(b"Command Line Interface")),
    }
}

use Protocol as Proto;

/// The status code of an `HTTP/1.x NNN reason` line.
pub fn http_status(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (minor, rest) = rest.split_first()?;
    if !minor.is_ascii_digit() {
        return None;
    }
    let rest = rest.strip_prefix(b" ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(rest.get(3), None | Some(b' ')) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Printable, at most 80 characters: what a greeting may contribute to an error line.
pub(crate) fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect()
}

/// How reading from a server ended without what we waited for.
#[derive(Debug)]
pub(crate) enum ReadFail {
    TimedOut,
    Closed(Vec<u8>),
    TooLong,
    Io(std::io::Error),
}

/// Reads into a buffer until `done(buffer)` holds, the deadline passes, the peer closes, or
/// `max` bytes arrive. Each `read` waits at most what is left of the deadline.
pub(crate) fn read_until(
    stream: &mut TcpStream,
    deadline: &Deadline,
    max: usize,
    done: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, ReadFail> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if done(&buf) {
            return Ok(buf);
        }
        if buf.len() >= max {
            return Err(ReadFail::TooLong);
        }
        let left = deadline.remaining();
        if left.is_zero() {
            return Err(ReadFail::TimedOut);
        }
        // A zero timeout means "block forever" to set_read_timeout; remaining() > 0 here.
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(ReadFail::Io)?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err(ReadFail::Closed(buf)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ReadFail::TimedOut)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadFail::Io(e)),
        }
    }
}

/// Connects within the deadline; the error is already a [`ProbeOutcome`].
pub(crate) fn connect(target: SocketAddr, deadline: &Deadline) -> Result<TcpStream, ProbeOutcome> {
    let left = deadline.remaining();
    if left.is_zero() {
        return Err(ProbeOutcome::ConnectTimeout);
    }
    match TcpStream::connect_timeout(&target, left) {
        Ok(s) => {
            let _ = s.set_nodelay(true);
            let _ = s.set_write_timeout(Some(left.max(Duration::from_millis(1))));
            Ok(s)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(ProbeOutcome::Refused),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            Err(ProbeOutcome::ConnectTimeout)
        }
        Err(e) => Err(ProbeOutcome::ConnectFailed(e.to_string())),
    }
}

fn line_done(buf: &[u8]) -> bool {
    buf.contains(&b'\n')
}

/// Probes one listener at `target`, all of it within `deadline`.
pub fn probe(listener: &Listener, target: SocketAddr, deadline: &Deadline) -> ProbeOutcome {
    let mut stream = match connect(target, deadline) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    if listener.tls {
        let _ = stream.shutdown(Shutdown::Both);
        return ProbeOutcome::Accepted;
    }
    let proto = listener.kind.protocol();
    if proto == Protocol::Http {
        // HTTP/1.0 so the server closes after answering; HEAD so no body is sent.
        let req = format!(
            "HEAD / HTTP/1.0\r\nHost: {target}\r\nUser-Agent: bulwark-axigen-monitor\r\n\r\n"
        );
        if let Err(e) = stream.write_all(req.as_bytes()) {
            return ProbeOutcome::Io(format!("sending the request: {e}"));
        }
    }
    let outcome = match read_until(&mut stream, deadline, 4096, line_done) {
        Ok(buf) => {
            let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
            let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
            if check_greeting(proto, line) {
                ProbeOutcome::Greeted
            } else {
                ProbeOutcome::BadGreeting(printable(line))
            }
        }
        Err(ReadFail::TimedOut) => ProbeOutcome::NoGreeting,
        Err(ReadFail::Closed(b)) if b.is_empty() => ProbeOutcome::Closed,
        Err(ReadFail::Closed(b)) => ProbeOutcome::BadGreeting(printable(&b)),
        Err(ReadFail::TooLong) => ProbeOutcome::BadGreeting("(no line break in 4 KiB)".into()),
        Err(ReadFail::Io(e)) => ProbeOutcome::Io(format!("reading the greeting: {e}")),
    };
    if outcome == ProbeOutcome::Greeted {
        // Leave politely so Axigen logs a clean session rather than an aborted one; the
        // answer is not awaited.
        let bye: &[u8] = match proto {
            Protocol::Smtp | Protocol::Pop3 => b"QUIT\r\n",
            Protocol::Imap => b"z LOGOUT\r\n",
            Protocol::Cli => b"EXIT\r\n",
            Protocol::Http => b"",
        };
        let _ = stream.write_all(bye);
    }
    let _ = stream.shutdown(Shutdown::Both);
    outcome
}

/// Probes every listener in parallel (one thread each, so hung listeners cost one time limit,
/// not one each), each within `per_probe` and the overall `deadline`. Reports come back in the
/// order of `listeners`.
pub fn probe_all(
    listeners: &[Listener],
    probe_addr: Option<IpAddr>,
    per_probe: Duration,
    deadline: &Deadline,
) -> Vec<ProbeReport> {
    let each = Deadline::after(deadline.cap(per_probe)).min(*deadline);
    std::thread::scope(|s| {
        let handles: Vec<_> = listeners
            .iter()
            .map(|l| {
                let target = l.target(probe_addr);
                (*l, target, s.spawn(move || probe(l, target, &each)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(listener, target, h)| ProbeReport {
                listener,
                target,
                outcome: h
                    .join()
                    .unwrap_or_else(|_| ProbeOutcome::Io("probe thread failed".into())),
            })
            .collect()
    })
}

/// The listeners' verdict for the monitor: all healthy, only non-critical ones down
/// (degraded), or a critical one down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenersVerdict {
    Healthy,
    /// Only non-critical listeners fail; the reports of those.
    Degraded(Vec<ProbeReport>),
    /// At least one critical listener fails; the failing critical reports first, then the
    /// others.
    Failed(Vec<ProbeReport>),
}

impl ListenersVerdict {
    /// One line naming every failing listener, empty when healthy.
    pub fn reason(&self) -> String {
        match self {
            ListenersVerdict::Healthy => String::new(),
            ListenersVerdict::Degraded(r) | ListenersVerdict::Failed(r) => r
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Pure: which failures matter. A listener is critical when its kind is in `critical`.
pub fn verdict(reports: &[ProbeReport], critical: &[ListenerKind]) -> ListenersVerdict {
    let failing: Vec<&ProbeReport> = reports.iter().filter(|r| !r.outcome.is_healthy()).collect();
    if failing.is_empty() {
        return ListenersVerdict::Healthy;
    }
    let (crit, other): (Vec<&ProbeReport>, Vec<&ProbeReport>) = failing
        .into_iter()
        .partition(|r| critical.contains(&r.listener.kind));
    if crit.is_empty() {
        ListenersVerdict::Degraded(other.into_iter().cloned().collect())
    } else {
        ListenersVerdict::Failed(crit.into_iter().chain(other).cloned().collect())
    }
}

/// `IP:PORT`, `[IPv6]:PORT` or `*:PORT` (all addresses).
pub fn parse_address(s: &str) -> Result<(IpAddr, u16), String> {
    let bad = || format!("address {s:?} is not IP:PORT");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        (h, p)
    } else {
        s.rsplit_once(':').ok_or_else(bad)?
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(format!("address {s:?} has port 0"));
    }
    let addr = match host {
        "*" | "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        h => h.parse().map_err(|_| bad())?,
    };
    Ok((addr, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        use Protocol::*;
        let ok: &[(Protocol, &[u8])] = &[
            (Smtp, b"220 mail.example.com ESMTP Axigen"),
            (Smtp, b"220-mail.example.com first of several"),
            (Smtp, b"220"),
            (Imap, b"* OK AXIGEN IMAP4rev1 service is ready"),
            (Imap, b"* ok [CAPABILITY IMAP4rev1] ready"),
            (Imap, b"* PREAUTH welcome"),
            (Pop3, b"+OK AXIGEN POP3 server on mail ready <1.2@mail>"),
            (Http, b"HTTP/1.1 200 OK"),
            (Http, b"HTTP/1.0 302 Found"),
            (Http, b"HTTP/1.1 404"),
            (Cli, b"Welcome to AXIGEN's Command Line Interface"),
        ];
        for (p, line) in ok {
            assert!(check_greeting(*p, line), "{p:?} {:?}", printable(line));
        }
        let bad: &[(Protocol, &[u8])] = &[
            (Smtp, b"554 no service"),
            (Smtp, b"2200 odd"),
            (Smtp, b"421 busy"),
            (Smtp, b""),
            (Imap, b"* BYE going away"),
            (Imap, b"* O"),
            (Pop3, b"-ERR busy"),
            (Pop3, b"+ok lower case is not POP3"),
            (Http, b"HTTP/1.1 503 Service Unavailable"),
            (Http, b"HTTP/2 200"),
            (Http, b"HTTP/1.1 20"),
            (Http, b"HTTP/1.1 2000 x"),
            (Http, b"SSH-2.0-OpenSSH"),
            (Cli, b"<login> "),
            (Smtp, b"* OK wrong protocol"),
        ];
        for (p, line) in bad {
            assert!(!check_greeting(*p, line), "{p:?} {:?}", printable(line));
        }
    }

    #[test]
    fn http_status_parse() {
        assert_eq!(http_status(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(http_status(b"HTTP/1.0 599"), Some(599));
        assert_eq!(http_status(b"HTTP/1.x 200"), None);
        assert_eq!(http_status(b"HTTP/1.1  200"), None);
        assert_eq!(http_status(b""), None);
    }

    #[test]
    fn specs() {
        let l = Listener::parse_spec("imap").unwrap();
        assert_eq!(
            (l.kind, l.port, l.addr.is_unspecified(), l.tls),
            (ListenerKind::Imap, 143, true, false)
        );
        let l = Listener::parse_spec("SMTP:2525").unwrap();
        assert_eq!((l.kind, l.port), (ListenerKind::Smtp, 2525));
        let l = Listener::parse_spec("webmail:10.1.2.3:8080").unwrap();
        assert_eq!(l.target(None), "10.1.2.3:8080".parse().unwrap());
        let l = Listener::parse_spec("imap:[::1]:993+tls").unwrap();
        assert!(l.tls);
        assert_eq!(l.target(None), "[::1]:993".parse().unwrap());
        assert_eq!(Listener::parse_spec(&l.to_string()).unwrap(), l);
        for bad in [
            "nntp",
            "smtp:0",
            "smtp:65536",
            "smtp:x",
            "imap:host:143",
            "",
        ] {
            assert!(Listener::parse_spec(bad).is_err(), "{bad}");
        }
        assert!(Listener::parse_spec("nntp").unwrap_err().contains("nntp"));
    }

    #[test]
    fn targets_and_coverage() {
        let any = Listener::parse_spec("smtp").unwrap();
        let vip: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(any.target(None), "127.0.0.1:25".parse().unwrap());
        assert_eq!(any.target(Some(vip)), "192.0.2.10:25".parse().unwrap());
        assert!(any.covers(vip));
        let lo = Listener::parse_spec("smtp:127.0.0.1:25").unwrap();
        assert_eq!(lo.target(Some(vip)), "127.0.0.1:25".parse().unwrap());
        assert!(!lo.covers(vip));
        let v6any = Listener::parse_spec("smtp:[::]:25").unwrap();
        assert!(v6any.covers(vip));
        assert_eq!(v6any.target(None), "[::1]:25".parse().unwrap());
    }

    fn report(kind: ListenerKind, outcome: ProbeOutcome) -> ProbeReport {
        let listener = Listener {
            kind,
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: kind.default_port(),
            tls: false,
        };
        ProbeReport {
            listener,
            target: listener.target(None),
            outcome,
        }
    }

    #[test]
    fn verdict_is_exhaustive_over_two_listeners() {
        use ListenerKind::*;
        let outcomes = [
            ProbeOutcome::Greeted,
            ProbeOutcome::Accepted,
            ProbeOutcome::Refused,
            ProbeOutcome::NoGreeting,
        ];
        for a in &outcomes {
            for b in &outcomes {
                for crit in [&[][..], &[Smtp][..], &[Imap][..], &[Smtp, Imap][..]] {
                    let reps = vec![report(Smtp, a.clone()), report(Imap, b.clone())];
                    let v = verdict(&reps, crit);
                    let smtp_bad = !a.is_healthy();
                    let imap_bad = !b.is_healthy();
                    let crit_bad =
                        (smtp_bad && crit.contains(&Smtp)) || (imap_bad && crit.contains(&Imap));
                    match v {
                        ListenersVerdict::Healthy => assert!(!smtp_bad && !imap_bad),
                        ListenersVerdict::Degraded(ref r) => {
                            assert!(!crit_bad && (smtp_bad || imap_bad));
                            assert_eq!(r.len(), smtp_bad as usize + imap_bad as usize);
                        }
                        ListenersVerdict::Failed(ref r) => {
                            assert!(crit_bad);
                            assert!(crit.contains(&r[0].listener.kind));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn reason_names_the_listener() {
        let v = verdict(
            &[report(ListenerKind::Pop3, ProbeOutcome::NoGreeting)],
            &[ListenerKind::Smtp],
        );
        assert_eq!(
            v.reason(),
            "pop3 listener 127.0.0.1:110: accepted the connection but sent no greeting"
        );
    }

    #[test]
    fn printable_strips_controls_and_cuts() {
        assert_eq!(printable(b"a\x1b[31mb"), "a?[31mb");
        assert_eq!(printable(&[b'x'; 200]).len(), 80);
    }
}
