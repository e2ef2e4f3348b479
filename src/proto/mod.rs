//! Wire protocols spoken in-process by the agents (no helper tools, no secrets on argv).

pub mod ipmi;
pub mod redfish;
pub mod snmp;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Resolves `host` (an IP literal, or a name through the system resolver) within `deadline`.
/// getaddrinfo has no timeout of its own: a dead DNS server costs its `timeout × attempts`
/// (~30 s with a few servers), exactly when a fence runs. The lookup runs on a thread that is
/// abandoned when the deadline passes (the agent exits soon after). The error is one line.
pub fn resolve_within(
    host: &str,
    port: u16,
    deadline: &crate::deadline::Deadline,
) -> Result<SocketAddr, String> {
    resolve_all_within(host, port, deadline).map(|addrs| addrs[0])
}

/// [`resolve_within`] with every address the resolver gives, in its order (never empty), for
/// a client that tries them in turn (HTTPS to a BMC with IPv6 and IPv4 addresses).
pub fn resolve_all_within(
    host: &str,
    port: u16,
    deadline: &crate::deadline::Deadline,
) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.trim().parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.trim().to_string();
    std::thread::spawn(move || {
        let r = (name.as_str(), port)
            .to_socket_addrs()
            .map(|it| it.collect::<Vec<_>>());
        let _ = tx.send(r);
    });
    let waited = deadline.remaining();
    match rx.recv_timeout(waited) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(format!("no address for {host}")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!(
            "cannot resolve {host}: no answer from the resolver within {:.1} s",
            waited.as_secs_f64()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::Deadline;
    use std::time::Duration;

    #[test]
    fn literals_need_no_resolver_and_names_are_bounded() {
        let d = Deadline::after(Duration::ZERO);
        assert_eq!(
            resolve_within("192.0.2.7", 161, &d).unwrap().to_string(),
            "192.0.2.7:161"
        );
        assert_eq!(
            resolve_within("::1", 161, &d).unwrap().to_string(),
            "[::1]:161"
        );
        let e = resolve_within("localhost", 161, &d);
        // An expired deadline never waits; localhost may still win the race.
        assert!(e.is_ok() || e.unwrap_err().contains("resolver"));
        let d = Deadline::after(Duration::from_secs(5));
        assert!(resolve_within("localhost", 161, &d).is_ok());
    }
}
