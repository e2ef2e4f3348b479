//! Axigen's CLI (TCP 7000): the monitor's depth-20 check.
//!
//! The protocol, as documented and as Axigen's own Python module speaks it: telnet-style lines
//! ending in CRLF; the server greets with `Welcome to AXIGEN's Command Line Interface` and the
//! prompt `<login> `; `USER <name>` is answered by the prompt `<password> `, the password line by
//! `+OK: Authentication successful` and the prompt `<#> `. Every reply ends with a prompt that
//! names the context (`<login> `, `<#> `, `<server#> `, `<domain#> ` …) and no line break; the
//! status line before it is `+OK: …` or `-ERR: …`. `EXIT` answers `+OK: have a nice day` and
//! closes.
//!
//! The client logs in once per check and never retries: Axigen closes the connection after
//! `maxAuthErrors` failures, and a monitor that retried in a loop would lock the account out.
//! The password comes from a [`Secret`]; it is written to the socket and nowhere else, and any
//! echo of it in a server reply is redacted before the reply can reach an error text.

use super::probe::{connect, printable, read_until, ProbeOutcome, ReadFail};
use crate::deadline::Deadline;
use crate::secret::Secret;
use std::fmt;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use zeroize::Zeroizing;

/// Largest reply read (a `LIST Domains` of a big server fits).
const MAX_REPLY: usize = 1 << 20;

/// One reply: the lines before the status, the status, and the prompt that ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliReply {
    pub lines: Vec<String>,
    /// `Some((true, text))` for `+OK: text`, `Some((false, text))` for `-ERR: text`.
    pub status: Option<(bool, String)>,
    /// The context inside the prompt: `login`, `password`, `#`, `server#` …
    pub prompt: String,
}

impl CliReply {
    pub fn is_ok(&self) -> bool {
        matches!(self.status, Some((true, _)))
    }
    /// The status text, or the last line when there is no status line.
    pub fn text(&self) -> String {
        match &self.status {
            Some((_, t)) => t.clone(),
            None => self.lines.last().cloned().unwrap_or_default(),
        }
    }
}

/// Pure: the context of the prompt that ends `buf`, if `buf` ends with one
/// (`<[A-Za-z0-9-]*#?> ` at the start of the last line).
pub fn trailing_prompt(buf: &[u8]) -> Option<&str> {
    let body = buf.strip_suffix(b"> ")?;
    let line_start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let inner = body[line_start..].strip_prefix(b"<")?;
    let (name, hash) = match inner.strip_suffix(b"#") {
        Some(n) => (n, true),
        None => (inner, false),
    };
    if !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return None;
    }
    if !hash && name.is_empty() {
        return None;
    }
    std::str::from_utf8(inner).ok()
}

/// Pure: parses a complete reply (one that ends with a prompt); `None` otherwise.
pub fn parse_reply(buf: &[u8]) -> Option<CliReply> {
    let prompt = trailing_prompt(buf)?.to_string();
    let body = &buf[..buf.len() - prompt.len() - 3];
    let text = String::from_utf8_lossy(body);
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let status = lines
        .iter()
        .rposition(|l| l.starts_with("+OK") || l.starts_with("-ERR"))
        .map(|i| {
            let l = lines.remove(i);
            let ok = l.starts_with("+OK");
            let rest = l.trim_start_matches("+OK").trim_start_matches("-ERR");
            let rest = rest.strip_prefix(':').unwrap_or(rest).trim().to_string();
            (ok, rest)
        });
    Some(CliReply {
        lines,
        status,
        prompt,
    })
}

/// Pure: whether `command` only reads (`LIST`, `SHOW`, `GET`, `HELP`), so a monitor may send
/// it. Contexts are entered by `CONFIG`/`UPDATE`/`ENTER`, which are refused.
pub fn is_read_only(command: &str) -> bool {
    let first = command.split_whitespace().next().unwrap_or("");
    ["LIST", "SHOW", "GET", "HELP"]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(first))
        && !command.contains(['\r', '\n'])
}

/// A failed CLI step, one line for the operator (prefix it with the CLI address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    Connect(ProbeOutcome),
    /// No complete reply within the deadline while doing `during`.
    TimedOut {
        during: &'static str,
    },
    Closed {
        during: &'static str,
    },
    BadBanner(String),
    LoginRefused(String),
    CommandFailed {
        command: String,
        text: String,
    },
    Protocol(String),
    InvalidInput(String),
    Io(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Connect(o) => match o {
                ProbeOutcome::Refused => f.write_str("connection refused"),
                ProbeOutcome::ConnectTimeout => f.write_str("connection timed out"),
                ProbeOutcome::ConnectFailed(e) => write!(f, "cannot connect: {e}"),
                other => write!(f, "cannot connect: {other:?}"),
            },
            CliError::TimedOut { during } => write!(f, "no answer in time {during}"),
            CliError::Closed { during } => write!(f, "connection closed {during}"),
            CliError::BadBanner(b) => write!(f, "not Axigen's CLI banner: {b:?}"),
            CliError::LoginRefused(t) => write!(f, "login refused: {t}"),
            CliError::CommandFailed { command, text } => write!(f, "{command} failed: {text}"),
            CliError::Protocol(t) => write!(f, "unexpected reply: {t}"),
            CliError::InvalidInput(t) => f.write_str(t),
            CliError::Io(t) => f.write_str(t),
        }
    }
}

impl std::error::Error for CliError {}

/// An open CLI connection.
pub struct CliSession {
    stream: TcpStream,
    /// The context of the last prompt.
    prompt: String,
    /// Bytes to redact from anything the server sends once the password went out.
    password: Option<Secret>,
}

impl fmt::Debug for CliSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CliSession")
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

impl CliSession {
    /// Connects and reads the banner up to the `<login> ` prompt.
    pub fn connect(target: SocketAddr, deadline: &Deadline) -> Result<CliSession, CliError> {
        let stream = connect(target, deadline).map_err(CliError::Connect)?;
        let mut s = CliSession {
            stream,
            prompt: String::new(),
            password: None,
        };
        let banner = s.read_reply(deadline, "waiting for the banner")?;
        let has_banner = banner
            .lines
            .iter()
            .any(|l| super::probe::check_greeting(super::probe::Protocol::Cli, l.as_bytes()));
        if !has_banner || banner.prompt != "login" {
            let first = banner.lines.first().cloned().unwrap_or_default();
            return Err(CliError::BadBanner(printable(first.as_bytes())));
        }
        Ok(s)
    }

    /// The context of the current prompt (`login`, `#` …).
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    fn read_reply(
        &mut self,
        deadline: &Deadline,
        during: &'static str,
    ) -> Result<CliReply, CliError> {
        let buf = match read_until(&mut self.stream, deadline, MAX_REPLY, |b| {
            trailing_prompt(b).is_some()
        }) {
            Ok(b) => b,
            Err(ReadFail::TimedOut) => return Err(CliError::TimedOut { during }),
            Err(ReadFail::Closed(b)) => {
                // The server may say why before closing (too many auth errors).
                let text = self.redact(&String::from_utf8_lossy(&b));
                return match text.lines().rev().find(|l| l.starts_with("-ERR")) {
                    Some(l) => Err(CliError::Protocol(printable(l.as_bytes()))),
                    None => Err(CliError::Closed { during }),
                };
            }
            Err(ReadFail::TooLong) => {
                return Err(CliError::Protocol(format!(
                    "reply longer than {MAX_REPLY} bytes"
                )))
            }
            Err(ReadFail::Io(e)) => return Err(CliError::Io(format!("{during}: {e}"))),
        };
        let mut reply = parse_reply(&buf).ok_or_else(|| CliError::Protocol("no prompt".into()))?;
        if self.password.is_some() {
            reply.lines = reply.lines.iter().map(|l| self.redact(l)).collect();
            reply.status = reply.status.map(|(ok, t)| (ok, self.redact(&t)));
        }
        self.prompt = reply.prompt.clone();
        Ok(reply)
    }

    fn redact(&self, text: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => {
                let pw = String::from_utf8_lossy(p.expose());
                text.replace(pw.as_ref(), "<redacted>")
            }
            _ => text.to_string(),
        }
    }

    fn send_line(&mut self, line: &[u8], deadline: &Deadline) -> Result<(), CliError> {
        let left = deadline.remaining();
        if left.is_zero() {
            return Err(CliError::TimedOut { during: "sending" });
        }
        let _ = self.stream.set_write_timeout(Some(left));
        let mut msg = Zeroizing::new(Vec::with_capacity(line.len() + 2));
        msg.extend_from_slice(line);
        msg.extend_from_slice(b"\r\n");
        self.stream
            .write_all(&msg)
            .map_err(|e| CliError::Io(format!("sending to the CLI: {e}")))
    }

    /// `GET VERSION` (allowed before login): the version field, e.g. `10.6.30`.
    pub fn get_version(&mut self, deadline: &Deadline) -> Result<String, CliError> {
        self.send_line(b"GET VERSION", deadline)?;
        let r = self.read_reply(deadline, "after GET VERSION")?;
        if !r.is_ok() {
            return Err(CliError::CommandFailed {
                command: "GET VERSION".into(),
                text: r.text(),
            });
        }
        let line = r.lines.iter().find(|l| l.contains('|')).cloned();
        let line = line
            .or_else(|| r.lines.first().cloned())
            .unwrap_or_default();
        Ok(line.split('|').next().unwrap_or("").trim().to_string())
    }

    /// `USER <user>`, then the password; succeeds at an authenticated (`…#`) prompt. Never
    /// retried.
    pub fn login(
        &mut self,
        user: &str,
        password: &Secret,
        deadline: &Deadline,
    ) -> Result<(), CliError> {
        if user.is_empty() || user.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(CliError::InvalidInput(format!(
                "CLI user {:?} is empty or contains blanks",
                printable(user.as_bytes())
            )));
        }
        if password.expose().contains(&b'\n') || password.expose().contains(&b'\r') {
            return Err(CliError::InvalidInput(
                "the CLI password contains a line break".into(),
            ));
        }
        self.send_line(format!("USER {user}").as_bytes(), deadline)?;
        let r = self.read_reply(deadline, "after USER")?;
        if r.prompt != "password" {
            return Err(match r.status {
                Some((false, t)) => CliError::LoginRefused(t),
                _ => CliError::Protocol(format!(
                    "expected the <password> prompt, got <{}>",
                    printable(r.prompt.as_bytes())
                )),
            });
        }
        self.password = Some(password.clone());
        self.send_line(password.expose(), deadline)?;
        let r = self.read_reply(deadline, "after the password")?;
        if r.is_ok() && r.prompt.ends_with('#') {
            Ok(())
        } else {
            Err(CliError::LoginRefused(printable(r.text().as_bytes())))
        }
    }

    /// Sends one read-only command (see [`is_read_only`]) and returns its reply; `-ERR` is an
    /// error.
    pub fn read_only(&mut self, command: &str, deadline: &Deadline) -> Result<CliReply, CliError> {
        if !is_read_only(command) {
            return Err(CliError::InvalidInput(format!(
                "CLI command {:?} is not read-only (LIST, SHOW, GET or HELP)",
                printable(command.as_bytes())
            )));
        }
        self.send_line(command.as_bytes(), deadline)?;
        let r = self.read_reply(deadline, "after the command")?;
        match &r.status {
            Some((true, _)) => Ok(r),
            Some((false, t)) => Err(CliError::CommandFailed {
                command: command.to_string(),
                text: printable(t.as_bytes()),
            }),
            None => Err(CliError::Protocol(format!(
                "{command}: no +OK/-ERR status line"
            ))),
        }
    }

    /// `EXIT`: expects `+OK: have a nice day` (or a close).
    pub fn exit(mut self, deadline: &Deadline) -> Result<(), CliError> {
        self.send_line(b"EXIT", deadline)?;
        let res = read_until(&mut self.stream, deadline, 4096, |b| {
            b.windows(3).any(|w| w == b"+OK") && b.ends_with(b"\n")
        });
        let _ = self.stream.shutdown(Shutdown::Both);
        match res {
            Ok(_) | Err(ReadFail::Closed(_)) => Ok(()),
            Err(ReadFail::TimedOut) => Err(CliError::TimedOut {
                during: "after EXIT",
            }),
            Err(ReadFail::TooLong) => Err(CliError::Protocol("endless reply to EXIT".into())),
            Err(ReadFail::Io(e)) => Err(CliError::Io(format!("after EXIT: {e}"))),
        }
    }
}

/// The whole depth-20 check: banner, login, `command`, `EXIT`, all within `deadline`.
/// Returns the command's reply.
pub fn check(
    target: SocketAddr,
    user: &str,
    password: &Secret,
    command: &str,
    deadline: &Deadline,
) -> Result<CliReply, CliError> {
    if !is_read_only(command) {
        return Err(CliError::InvalidInput(format!(
            "CLI command {:?} is not read-only (LIST, SHOW, GET or HELP)",
            printable(command.as_bytes())
        )));
    }
    let mut s = CliSession::connect(target, deadline)?;
    s.login(user, password, deadline)?;
    let reply = s.read_only(command, deadline)?;
    s.exit(deadline)?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(trailing_prompt(b"<login> "), Some("login"));
        assert_eq!(trailing_prompt(b"x\r\n<#> "), Some("#"));
        assert_eq!(
            trailing_prompt(b"+OK: ok\r\n<domain-account#> "),
            Some("domain-account#")
        );
        assert_eq!(trailing_prompt(b"a <password> "), None);
        assert_eq!(trailing_prompt(b"<login>"), None);
        assert_eq!(trailing_prompt(b"<> "), None);
        assert_eq!(trailing_prompt(b"<a b> "), None);
        assert_eq!(trailing_prompt(b""), None);
        assert_eq!(trailing_prompt(b"> "), None);
    }

    #[test]
    fn replies() {
        let r = parse_reply(
            b"Welcome to AXIGEN's Command Line Interface\r\nYou must login first\r\n<login> ",
        )
        .unwrap();
        assert_eq!(r.prompt, "login");
        assert_eq!(r.lines.len(), 2);
        assert_eq!(r.status, None);

        let r = parse_reply(b"+OK: Authentication successful\r\n<#> ").unwrap();
        assert!(r.is_ok());
        assert_eq!(r.text(), "Authentication successful");
        assert_eq!(r.prompt, "#");

        let r =
            parse_reply(b"10.6.30|Linux|x86_64\r\n+OK: command successful\r\n<login> ").unwrap();
        assert_eq!(r.lines, vec!["10.6.30|Linux|x86_64"]);

        let r = parse_reply(b"-ERR: Authentication failed\r\n<login> ").unwrap();
        assert_eq!(r.status, Some((false, "Authentication failed".into())));
        assert_eq!(parse_reply(b"<password> ").unwrap().prompt, "password");
        assert!(parse_reply(b"+OK: partial").is_none());
    }

    #[test]
    fn parse_reply_never_panics() {
        for s in [
            &b""[..],
            b"<",
            b"> ",
            b"\n> ",
            b"<#",
            b"\xff\xfe<#> ",
            b"\r\n\r\n<#> ",
        ] {
            let _ = parse_reply(s);
        }
    }

    #[test]
    fn read_only_commands() {
        for ok in ["LIST Domains", "show LicenseInfo", "GET VERSION", "HELP"] {
            assert!(is_read_only(ok), "{ok}");
        }
        for bad in [
            "CONFIG SERVER",
            "SAVE CONFIG",
            "",
            "LIST\r\nSAVE CONFIG",
            "LISTX",
        ] {
            assert!(!is_read_only(bad), "{bad}");
        }
    }
}
