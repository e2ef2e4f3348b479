//! Listeners from Axigen's `run/axigen.cfg`.
//!
//! The file is Axigen's own configuration syntax (as in the stock and pre-configured files):
//! one top-level `Server { … }` block of `name = value` members, where a value is a bare word
//! (`yes`, `0.0.0.0:25`, `internal`), a quoted string, a nested block `{ … }`, or a list
//! `( … )` of values. Services sit at `Server.<service>.listeners`, each listener a block with
//! `address = IP:PORT`, `enable = yes|no` and `sslEnable = yes|no`; `Server.services` lists the
//! services that run at all.
//!
//! The parser is pure and never panics: a file it cannot read yields a [`ConfigError`] with the
//! line, and the agent falls back to [`default_listeners`] or reports it.

use super::probe::{Listener, ListenerKind};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// Why `axigen.cfg` gave no listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the problem, 0 when it concerns the whole file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Axigen's listeners as installed: SMTP 25, IMAP 143, POP3 110, webmail 80, all addresses.
/// The CLI (7000) is not among them: it is checked by the CLI client at depth 20.
pub fn default_listeners() -> Vec<Listener> {
    [
        ListenerKind::Smtp,
        ListenerKind::Imap,
        ListenerKind::Pop3,
        ListenerKind::Webmail,
    ]
    .into_iter()
    .map(|kind| Listener {
        kind,
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        port: kind.default_port(),
        tls: false,
    })
    .collect()
}

/// Reads and parses `path` (normally `<data dir>/run/axigen.cfg`). The error names the file.
pub fn listeners_from_file(path: &Path) -> Result<Vec<Listener>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError {
        line: 0,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    parse_config(&text).map_err(|e| ConfigError {
        line: e.line,
        message: format!("{}: {}", path.display(), e.message),
    })
}

/// The enabled listeners of the running services, in file order. Listeners of services that
/// are not in `Server.services` (when that list is present) and listeners with `enable = no`
/// are left out; services this module has no probe for (log, reporting, ftpBackup …) too.
pub fn parse_config(text: &str) -> Result<Vec<Listener>, ConfigError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let top = p.members(true)?;
    let server = top
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case("server"))
        .and_then(|(_, v, _)| v.as_block())
        .ok_or(ConfigError {
            line: 0,
            message: "no Server { … } block".into(),
        })?;
    let services: Option<Vec<&str>> = lookup(server, "services").and_then(|v| match v {
        Value::List(items) => Some(items.iter().filter_map(Value::as_scalar).collect()),
        _ => None,
    });
    let mut out = Vec::new();
    for (name, value) in server.iter() {
        let Some(kind) = ListenerKind::from_service(name) else {
            continue;
        };
        if let Some(s) = &services {
            if !s.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                continue;
            }
        }
        let Some(block) = value.as_block() else {
            continue;
        };
        let Some(Value::List(listeners)) = lookup(block, "listeners") else {
            continue;
        };
        for l in listeners {
            let Some(lb) = l.as_block() else { continue };
            if lookup(lb, "enable").and_then(Value::as_scalar) == Some("no") {
                continue;
            }
            let Some(address) = lookup(lb, "address").and_then(Value::as_scalar) else {
                continue;
            };
            let (addr, port) = parse_address(address).map_err(|message| ConfigError {
                line: value_line(lb, "address"),
                message: format!("{name} listener: {message}"),
            })?;
            let tls = lookup(lb, "sslEnable").and_then(Value::as_scalar) == Some("yes");
            out.push(Listener {
                kind,
                addr,
                port,
                tls,
            });
        }
    }
    Ok(out)
}

pub use super::probe::parse_address;

// ---- syntax ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,      // {
    Close,     // }
    ListOpen,  // (
    ListClose, // )
    Eq,        // =
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, ConfigError> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                // A comment runs to the end of the line.
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '{' | '}' | '(' | ')' | '=' => {
                chars.next();
                let t = match c {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    '(' => Tok::ListOpen,
                    ')' => Tok::ListClose,
                    _ => Tok::Eq,
                };
                out.push((t, line));
            }
            '"' => {
                let start = line;
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(ConfigError {
                                line: start,
                                message: "unterminated string".into(),
                            })
                        }
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => {
                                return Err(ConfigError {
                                    line: start,
                                    message: "unterminated string".into(),
                                })
                            }
                        },
                        Some('\n') => {
                            line += 1;
                            s.push('\n');
                        }
                        Some(ch) => s.push(ch),
                    }
                }
                out.push((Tok::Word(s), start));
            }
            _ => {
                let mut s = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || "{}()=\"".contains(ch) {
                        break;
                    }
                    s.push(ch);
                    chars.next();
                }
                out.push((Tok::Word(s), line));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Scalar(String),
    /// Members with the line of their name.
    Block(Vec<(String, Value, usize)>),
    List(Vec<Value>),
}

impl Value {
    fn as_scalar(&self) -> Option<&str> {
        match self {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }
    fn as_block(&self) -> Option<Block<'_>> {
        match self {
            Value::Block(m) => Some(Block(m)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
struct Block<'a>(&'a [(String, Value, usize)]);

impl<'a> Block<'a> {
    fn iter(&self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.0.iter().map(|(k, v, _)| (k.as_str(), v))
    }
}

fn lookup<'a>(block: Block<'a>, key: &str) -> Option<&'a Value> {
    block
        .0
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v, _)| v)
}

fn value_line(block: Block<'_>, key: &str) -> usize {
    block
        .0
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
        .map_or(0, |(_, _, l)| *l)
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
}

/// Nesting deeper than this is not an Axigen file (and would exhaust the stack).
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }
    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(0, |(_, l)| *l)
    }
    fn err<T>(&self, message: &str) -> Result<T, ConfigError> {
        Err(ConfigError {
            line: self.line(),
            message: message.into(),
        })
    }

    /// `name = value` or `name { … }` members up to `}` (or the end, at top level).
    fn members(&mut self, top: bool) -> Result<Vec<(String, Value, usize)>, ConfigError> {
        self.members_at(top, 0)
    }

    fn members_at(
        &mut self,
        top: bool,
        depth: usize,
    ) -> Result<Vec<(String, Value, usize)>, ConfigError> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        let mut out = Vec::new();
        loop {
            let line = self.line();
            match self.peek().cloned() {
                None if top => return Ok(out),
                None => return self.err("missing '}'"),
                Some(Tok::Close) if !top => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(Tok::Word(name)) => {
                    self.pos += 1;
                    let value = match self.peek() {
                        Some(Tok::Eq) => {
                            self.pos += 1;
                            self.value(depth + 1)?
                        }
                        // `Server { … }` at top level has no '='.
                        Some(Tok::Open) => {
                            self.pos += 1;
                            Value::Block(self.members_at(false, depth + 1)?)
                        }
                        _ => return self.err(&format!("expected '=' after {name:?}")),
                    };
                    out.push((name, value, line));
                }
                Some(_) => return self.err("expected a name"),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ConfigError> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        match self.peek().cloned() {
            Some(Tok::Word(w)) => {
                self.pos += 1;
                Ok(Value::Scalar(w))
            }
            Some(Tok::Open) => {
                self.pos += 1;
                Ok(Value::Block(self.members_at(false, depth + 1)?))
            }
            Some(Tok::ListOpen) => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(Tok::ListClose) => {
                            self.pos += 1;
                            return Ok(Value::List(items));
                        }
                        None => return self.err("missing ')'"),
                        _ => items.push(self.value(depth + 1)?),
                    }
                }
            }
            _ => self.err("expected a value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"Server {
    services = (log processing smtpIncoming smtpOutgoing pop3 imap webmail cli webadmin)
    serverName = "localhost"
    log = {
        logHost = 127.0.0.1:2000
        listeners = (
            {
                address = 127.0.0.1:2000
                enable = no
            }
        )
        path = "log"
    }
    smtpIncoming = {
        maxConnThreads = 20
        listeners = (
            {
                address = 0.0.0.0:25
                enable = yes
                allowRules = ()
                sslEnable = no
                sslControl = {
                    allowedVersions = (tls1_2 tls1_3)
                    cipherSuite = "ECDHE:!aNULL"
                }
                listenerDomain = ""
            }
            {
                address = 0.0.0.0:465
                enable = yes
                sslEnable = yes
            }
        )
        serviceAccessControl = {
            allowRules = (
                {
                    ipSet = 0.0.0.0-254.255.255.255
                    enable = yes
                }
            )
        }
    }
    pop3 = {
        listeners = ( { address = 0.0.0.0:110 enable = no } )
        greetingsText = "AXIGEN POP3 server on %D ready %U"
    }
    imap = {
        listeners = ( { address = 10.0.0.5:143 enable = yes } )
    }
    webmail = {
        listeners = ( { address = [::]:80 enable = yes } )
    }
    webadmin = {
        listeners = ( { address = 127.0.0.1:9000 enable = yes } )
    }
    cli = {
        listeners = ( { address = 127.0.0.1:7000 enable = yes } )
    }
    imapProxy = {
        listeners = ( { address = 0.0.0.0:1143 enable = yes } )
    }
    ftpBackup = {
        listeners = ( { address = 0.0.0.0:21 enable = yes } )
    }
}
"#;

    fn l(kind: ListenerKind, addr: &str, port: u16, tls: bool) -> Listener {
        Listener {
            kind,
            addr: addr.parse().unwrap(),
            port,
            tls,
        }
    }

    #[test]
    fn sample_yields_enabled_listeners_of_running_services() {
        let got = parse_config(SAMPLE).unwrap();
        assert_eq!(
            got,
            vec![
                l(ListenerKind::Smtp, "0.0.0.0", 25, false),
                l(ListenerKind::Smtp, "0.0.0.0", 465, true),
                // pop3's only listener is disabled
                l(ListenerKind::Imap, "10.0.0.5", 143, false),
                l(ListenerKind::Webmail, "::", 80, false),
                l(ListenerKind::Webadmin, "127.0.0.1", 9000, false),
                l(ListenerKind::Cli, "127.0.0.1", 7000, false),
                // imapProxy is not in services; ftpBackup and log have no probe
            ]
        );
    }

    #[test]
    fn without_services_list_every_known_service_counts() {
        let text = "Server { imapProxy = { listeners = ( { address = 0.0.0.0:1143 } ) } }";
        assert_eq!(
            parse_config(text).unwrap(),
            vec![l(ListenerKind::Imap, "0.0.0.0", 1143, false)]
        );
    }

    #[test]
    fn errors_carry_a_line() {
        let e = parse_config("Server {\n  smtpIncoming = {\n listeners = (\n").unwrap_err();
        assert!(e.message.contains("missing"), "{e}");
        let e = parse_config("Server {\n a = \"open\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e =
            parse_config("Server {\n smtpIncoming = { listeners = ( { address = nowhere } ) }\n}")
                .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("smtpIncoming"), "{e}");
        assert!(parse_config("Client { }").is_err());
        assert!(parse_config("Server { = }").is_err());
    }

    #[test]
    fn hostile_input_never_panics() {
        let deep = "Server { a = ".to_string() + &"(".repeat(10_000);
        assert!(parse_config(&deep).is_err());
        for s in [
            "", "{", "}", "(", ")", "=", "\"", "\\", "Server", "Server {", "# only",
        ] {
            let _ = parse_config(s);
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("0.0.0.0:25").unwrap(),
            ("0.0.0.0".parse().unwrap(), 25)
        );
        assert_eq!(
            parse_address("[::1]:143").unwrap(),
            ("::1".parse().unwrap(), 143)
        );
        assert_eq!(
            parse_address("*:80").unwrap(),
            ("0.0.0.0".parse().unwrap(), 80)
        );
        for bad in [
            "0.0.0.0",
            "1.2.3.4:0",
            "1.2.3.4:70000",
            "host:25",
            "[::1]143",
            ":x",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_axigens() {
        let d = default_listeners();
        let ports: Vec<_> = d.iter().map(|l| (l.kind, l.port)).collect();
        assert_eq!(
            ports,
            vec![
                (ListenerKind::Smtp, 25),
                (ListenerKind::Imap, 143),
                (ListenerKind::Pop3, 110),
                (ListenerKind::Webmail, 80)
            ]
        );
    }
}
