//! One Redfish session over one kept-alive HTTP(S) connection, every request bounded by the
//! action's deadline (name resolution included), every status checked.
//!
//! ureq (blocking, rustls) rather than reqwest: reqwest's blocking client starts a tokio
//! runtime on a thread of its own for every agent run, which a process that makes a handful
//! of sequential requests does not need.

use super::model::{self, one_line};
use super::tls::{client_config, Trust};
use crate::deadline::Deadline;
use crate::secret::Secret;
use base64::Engine as _;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use zeroize::Zeroizing;

/// Where the BMC is and how to trust it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host name or address literal, without brackets.
    pub host: String,
    pub port: u16,
    pub ssl: bool,
    pub trust: Trust,
}

/// `ip` as fence agents accept it: a name, an IPv4 or IPv6 literal (bare or in brackets), or
/// `host:port` / `[v6]:port`, which overrides `ipport`.
pub fn parse_address(ip: &str, default_port: u16) -> Result<(String, u16), String> {
    let ip = ip.trim();
    let bad = || format!("'{}' is not a host, address or host:port", one_line(ip, 80));
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad()),
    };
    if ip.is_empty() {
        return Err(bad());
    }
    if let Some(rest) = ip.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), port(p)?)),
            None if after.is_empty() => Ok((host.to_string(), default_port)),
            None => Err(bad()),
        };
    }
    if ip.parse::<IpAddr>().is_ok() {
        return Ok((ip.to_string(), default_port));
    }
    let (host, p) = match ip.split_once(':') {
        Some((h, p)) => (h, port(p)?),
        None => (ip, default_port),
    };
    let hostlike = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if !hostlike {
        return Err(bad());
    }
    Ok((host.to_string(), p))
}

/// Resolves `host` within the deadline. std's resolver cannot be interrupted, so a name (never
/// an address literal) is looked up on a helper thread that is abandoned if it overruns.
fn resolve(host: &str, port: u16, deadline: Deadline) -> Result<Vec<SocketAddr>, String> {
    crate::proto::resolve_all_within(host, port, &deadline)
}

enum Auth {
    None,
    Basic(Zeroizing<String>),
    Token(Zeroizing<String>),
}

/// A checked reply.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub token: Option<Zeroizing<String>>,
}

pub struct Session {
    agent: ureq::Agent,
    base: String,
    auth: Auth,
    logout: Option<String>,
    deadline: Deadline,
    pub root: Value,
    /// Requests made, for the debug log and the connection-reuse test.
    pub requests: u32,
}

/// A request path relative to the service: a `Location` may be absolute.
fn path_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".into(),
        },
        None => uri.to_string(),
    }
}

fn transport_error(method: &str, path: &str, e: &ureq::Transport) -> String {
    // The text names the URL and the cause, never a header: no secret can be in it.
    // ureq's own message is generic ("tls connection init failed"); the cause chain says
    // what went wrong (an unknown issuer, a name mismatch, a refused connection).
    let mut detail = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        detail = c.to_string();
        cause = c.source();
    }
    let detail = one_line(&detail, 200);
    let full = format!("{e} {detail}").to_ascii_lowercase();
    if full.contains("certificate") || full.contains("tls") || full.contains("handshake") {
        format!(
            "TLS failure talking to the BMC ({detail}); set ssl_ca_file to its CA or its own certificate, or ssl_insecure=1"
        )
    } else if full.contains("timed out") || full.contains("timeout") {
        format!("timed out: {method} {path}: no answer from the BMC before the deadline")
    } else {
        format!("{method} {path}: {detail}")
    }
}

impl Session {
    /// Connects, reads the service root and logs in: a SessionService session when the
    /// service has one, else HTTP Basic.
    pub fn open(
        ep: &Endpoint,
        redfish_uri: &str,
        username: &str,
        password: &Secret,
        deadline: Deadline,
    ) -> Result<Session, String> {
        let addrs = resolve(&ep.host, ep.port, deadline)?;
        let mut b = ureq::AgentBuilder::new()
            .redirects(0)
            .max_idle_connections(2)
            .max_idle_connections_per_host(2)
            .user_agent(concat!("fence_bulwark_redfish/", env!("CARGO_PKG_VERSION")))
            .resolver(move |_: &str| Ok(addrs.clone()));
        if ep.ssl {
            b = b.tls_config(client_config(&ep.trust)?);
        }
        let host = if ep.host.contains(':') {
            format!("[{}]", ep.host)
        } else {
            ep.host.clone()
        };
        let scheme = if ep.ssl { "https" } else { "http" };
        let password = std::str::from_utf8(password.expose())
            .map_err(|_| "the password is not valid UTF-8".to_string())?;
        let mut s = Session {
            agent: b.build(),
            base: format!("{scheme}://{host}:{}", ep.port),
            auth: Auth::None,
            logout: None,
            deadline,
            root: Value::Null,
            requests: 0,
        };
        let basic = Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(Zeroizing::new(format!("{username}:{password}")).as_bytes())
        ));
        // The service root is readable without credentials by the standard; a BMC that
        // wants them anyway gets Basic for it.
        let root = match s.request("GET", redfish_uri, None) {
            Err(e) if e.starts_with("authentication failed") => {
                s.auth = Auth::Basic(basic.clone());
                s.request("GET", redfish_uri, None)?
            }
            r => r?,
        };
        s.root = serde_json::from_str(&root.body)
            .map_err(|_| format!("GET {redfish_uri}: the reply is not JSON"))?;
        match model::sessions_uri(&s.root) {
            Some(sessions) => {
                let body = Zeroizing::new(
                    serde_json::json!({ "UserName": username, "Password": password }).to_string(),
                );
                s.auth = Auth::None;
                let r = s.request("POST", &sessions, Some(body.as_str()))?;
                let token = r.token.ok_or_else(|| {
                    format!(
                        "POST {sessions}: HTTP {}: no X-Auth-Token in the reply",
                        r.status
                    )
                })?;
                let uri = r.location.map(|l| path_of(&l)).or_else(|| {
                    serde_json::from_str::<Value>(&r.body).ok().and_then(|d| {
                        d.get("@odata.id")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                });
                s.auth = Auth::Token(token);
                s.logout = uri;
            }
            None => s.auth = Auth::Basic(basic),
        }
        Ok(s)
    }

    pub fn uses_session(&self) -> bool {
        matches!(self.auth, Auth::Token(_))
    }

    /// One request with the status checked: 2xx is a reply, 401/403 "authentication failed",
    /// any other status an error carrying the BMC's own message.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Reply, String> {
        self.request_until(method, path, body, self.deadline)
    }

    fn request_until(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        deadline: Deadline,
    ) -> Result<Reply, String> {
        let path = path_of(path);
        let remaining = deadline.remaining();
        if remaining.is_zero() {
            return Err(format!("timed out before {method} {path}"));
        }
        self.requests += 1;
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .timeout(remaining)
            .set("Accept", "application/json")
            .set("OData-Version", "4.0");
        match &self.auth {
            Auth::None => {}
            Auth::Basic(h) => req = req.set("Authorization", h),
            Auth::Token(t) => req = req.set("X-Auth-Token", t),
        }
        let result = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) => {
                if code == 401 || code == 403 {
                    return Err(format!("authentication failed (HTTP {code})"));
                }
                let text = r.into_string().unwrap_or_default();
                let why = model::error_text(&text).unwrap_or_else(|| {
                    one_line(text.lines().next().unwrap_or("no explanation"), 120)
                });
                return Err(format!("{method} {path}: HTTP {code}: {why}"));
            }
            Err(ureq::Error::Transport(t)) => return Err(transport_error(method, &path, &t)),
        };
        let status = resp.status();
        let location = resp.header("Location").map(str::to_string);
        let token = resp
            .header("X-Auth-Token")
            .map(|t| Zeroizing::new(t.to_string()));
        let body = resp
            .into_string()
            .map_err(|e| format!("{method} {path}: reading the reply: {e}"))?;
        Ok(Reply {
            status,
            body,
            location,
            token,
        })
    }

    /// GET a resource as JSON.
    pub fn get(&mut self, path: &str) -> Result<Value, String> {
        let r = self.request("GET", path, None)?;
        serde_json::from_str(&r.body).map_err(|_| format!("GET {path}: the reply is not JSON"))
    }

    /// POST an action; a 202 with a task monitor is followed until the task ends.
    pub fn post_action(&mut self, path: &str, body: &Value) -> Result<(), String> {
        let r = self.request("POST", path, Some(&body.to_string()))?;
        if r.status != 202 {
            return Ok(());
        }
        let Some(monitor) = r.location else {
            return Ok(());
        };
        let mut pause = Duration::from_millis(50);
        loop {
            let r = self.request("GET", &monitor, None)?;
            let task: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            if r.status != 202 {
                return match model::task_state(&task) {
                    Err(e) => Err(format!("POST {path}: {e}")),
                    Ok(_) => Ok(()),
                };
            }
            if let Err(e) = model::task_state(&task) {
                return Err(format!("POST {path}: {e}"));
            }
            if self.deadline.remaining() <= pause {
                return Err(format!(
                    "timed out: POST {path}: the BMC's task did not finish"
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

impl Drop for Session {
    /// Deletes the session, on success and failure alike: BMCs allow few sessions, and a
    /// leaked one can lock out the next fence. Bounded even when the deadline has passed.
    fn drop(&mut self) {
        if let Some(uri) = self.logout.take() {
            let grace = Deadline::after(
                self.deadline
                    .cap(Duration::from_secs(2))
                    .max(Duration::from_millis(500)),
            );
            let _ = self.request_until("DELETE", &uri, None, grace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |s: &str| parse_address(s, 443).unwrap();
        assert_eq!(ok("bmc1"), ("bmc1".into(), 443));
        assert_eq!(ok("bmc1.example:8443"), ("bmc1.example".into(), 8443));
        assert_eq!(ok("10.0.0.5"), ("10.0.0.5".into(), 443));
        assert_eq!(ok("fe80::1"), ("fe80::1".into(), 443));
        assert_eq!(ok("[2001:db8::5]:8443"), ("2001:db8::5".into(), 8443));
        assert_eq!(ok("[::1]"), ("::1".into(), 443));
        for bad in [
            "",
            "bmc:0",
            "bmc:99999",
            "[::1",
            "[x]:1",
            "a b",
            "bmc:1:2",
            "http://bmc/",
        ] {
            assert!(parse_address(bad, 443).is_err(), "{bad}");
        }
    }

    #[test]
    fn location_paths() {
        assert_eq!(path_of("https://h:1/redfish/v1/S/1"), "/redfish/v1/S/1");
        assert_eq!(path_of("/redfish/v1/S/1"), "/redfish/v1/S/1");
    }
}
