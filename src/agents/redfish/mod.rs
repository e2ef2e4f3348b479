//! `fence_bulwark_redfish`: the agent's declaration and how it reaches its device.

pub mod switch;

use crate::fence::spec::{IP, USERNAME};
use crate::fence::{
    self, spec, FenceAction, FenceAgent, FenceError, FenceSpec, PowerSwitch, Request,
};
use crate::params::{parse, Decl, Param, P};
use crate::proto::redfish::client::{parse_address, Endpoint, Session};
use crate::proto::redfish::tls::{check_ca_file, Trust};
use crate::secret::Secret;
use switch::{RedfishSwitch, Selection};

fn port(v: &str) -> Result<u16, String> {
    match v.trim().parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{v}' is not a TCP port (1-65535)")),
    }
}

fn uri_path(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty()
        || (v.starts_with('/') && !v.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        Ok(v.to_string())
    } else {
        Err(format!(
            "'{}' is not a path starting with /",
            crate::proto::redfish::model::one_line(v, 80)
        ))
    }
}

fn optional_uri_path(v: &str) -> Result<Option<String>, String> {
    uri_path(v).map(|u| (!u.is_empty()).then_some(u))
}

static IPPORT: P<u16> = P::new(
    Param::integer("ipport")
            .default("443")
            .short('u')
            .hint("port")
            .describe(
                "TCP/UDP port to use for connection with device",
                "TCP port of the BMC's Redfish service. A port in ip (host:port, [v6]:port) takes precedence.",
            ),
    port,
);
static SSL: P<bool> = P::new(
    Param::boolean("ssl")
            .default("1")
            .short('z')
            .describe(
                "Use SSL connection",
                "HTTPS (the default). ssl=0 speaks plain HTTP, which sends the password in clear; only for a BMC on an isolated management network that offers nothing else.",
            ),
    parse::boolean,
);
static SSL_INSECURE: P<bool> = P::new(
    Param::boolean("ssl_insecure").describe(
        "Use SSL connection without verifying certificate",
        "Accept any certificate the BMC presents. Prefer ssl_ca_file.",
    ),
    parse::boolean,
);
static SSL_CA_FILE: P<Option<String>> = P::new(
    Param::string("ssl_ca_file")
            .hint("path")
            .describe(
                "PEM file of CA certificates or the BMC's own certificate",
                "Trust the BMC through this PEM file instead of the system CA store: a chain to one of its CA certificates, or exactly one of its certificates presented by the BMC (its own self-signed certificate, whatever name it carries).",
            ),
    parse::optional_text,
);
static REDFISH_URI: P<String> = P::new(
    Param::string("redfish_uri")
        .default("/redfish/v1")
        .hint("uri")
        .describe(
            "Base or starting Redfish URI",
            "Path of the Redfish service root.",
        ),
    uri_path,
);
static SYSTEMS_URI: P<Option<String>> = P::new(
    Param::string("systems_uri")
            .hint("uri")
            .describe(
                "Redfish Systems resource URI, i.e. /redfish/v1/Systems/System.Embedded.1",
                "Path of the system to fence. When unset, the system is found in the Systems collection: the one named by plug, or the only one.",
            ),
    optional_uri_path,
);
static REDFISH_PLUG: P<Option<String>> = P::new(
    Param::string("plug")
            .aliases(&["port"])
            .short('n')
            .hint("id")
            .describe(
                "Id or Name of the Redfish system",
                "Id (or, failing that, Name) of the system to fence, for a BMC or chassis manager that serves several systems. With several systems and neither plug nor systems_uri, the agent refuses and lists them. Pacemaker passes the target node's name as plug unless pcmk_host_map maps it (node:SystemId) or pcmk_host_argument=none; a plug that names no system is an error, never a guess.",
            ),
    parse::optional_text,
);
static REDFISH: Decl = &[
    &IPPORT,
    &SSL,
    &SSL_INSECURE,
    &SSL_CA_FILE,
    &REDFISH_URI,
    &SYSTEMS_URI,
    &REDFISH_PLUG,
];

pub static SPEC: FenceSpec = FenceSpec {
    name: "fence_bulwark_redfish",
    shortdesc: "Fence agent for Redfish BMCs (iDRAC 9, iLO 5, XCC, OpenBMC)",
    longdesc: "fence_bulwark_redfish powers a server off and on through its BMC's Redfish service. It logs in through the SessionService (X-Auth-Token; the session is deleted at the end, on failure too; HTTP Basic only when the service has no SessionService) and reuses one connection for the whole action. off sends ComputerSystem.Reset ForceOff and is reported only once the system reads PowerState Off; a BMC that does not allow ForceOff is refused with its allowed values named, never sent a graceful shutdown. on sends On, else ForceOn, else PushPowerButton only to a system that reads Off. reboot is off, confirmed Off, then on. A 202 with a task monitor is followed. Every reply's HTTP status is checked and an error carries the BMC's own message. Every request, name resolution included, is bounded by agent_timeout.",
    vendor_url: "https://www.dmtf.org/standards/redfish",
    symlinks: &[],
    groups: &[spec::ADDRESS, REDFISH, spec::LOGIN],
    multi_outlet: false,
    lists: true,
};

pub struct Redfish;

/// Everything the session needs but the password, read and checked without the device.
struct Settings {
    endpoint: Endpoint,
    user: String,
    root: String,
    selection: Selection,
}

fn settings(req: &Request) -> Result<Settings, FenceError> {
    let v = &req.values;
    let (host, port) = parse_address(&IP.get(v)?, IPPORT.get(v)?).map_err(FenceError::new)?;
    let user = USERNAME.get(v)?;
    if user.is_empty() {
        return Err(FenceError::new("parameter 'username' is required"));
    }
    if !req.has_password() {
        return Err(FenceError::new(
            "a password is required (password on standard input, password_file or password_script)",
        ));
    }
    let insecure = SSL_INSECURE.get(v)?;
    let trust = match SSL_CA_FILE.get(v)? {
        Some(_) if insecure => {
            return Err(FenceError::new(
                "ssl_ca_file and ssl_insecure contradict each other; set one",
            ))
        }
        Some(f) => {
            check_ca_file(&f).map_err(|e| FenceError::new(format!("ssl_ca_file: {e}")))?;
            Trust::File(f)
        }
        None if insecure => Trust::Insecure,
        None => Trust::System,
    };
    Ok(Settings {
        endpoint: Endpoint {
            host,
            port,
            ssl: SSL.get(v)?,
            trust,
        },
        user,
        root: REDFISH_URI.get(v)?,
        selection: Selection {
            systems_uri: SYSTEMS_URI.get(v)?,
            plug: REDFISH_PLUG.get(v)?,
        },
    })
}

impl FenceAgent for Redfish {
    fn spec(&self) -> &'static FenceSpec {
        &SPEC
    }

    fn check(&self, req: &Request) -> Result<(), FenceError> {
        settings(req).map(drop)
    }

    fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError> {
        let Settings {
            endpoint: ep,
            user,
            root,
            selection: sel,
        } = settings(req)?;
        let password: Secret = req.password()?.unwrap_or_default();
        req.log.debug(&format!(
            "connecting to {}:{} ({})",
            ep.host,
            ep.port,
            if ep.ssl { "https" } else { "http" }
        ));
        let session =
            Session::open(&ep, &root, &user, &password, req.deadline).map_err(FenceError::new)?;
        req.log.debug(if session.uses_session() {
            "logged in with a SessionService session"
        } else {
            "the service has no SessionService: HTTP Basic"
        });
        let select = !matches!(
            req.action,
            FenceAction::List | FenceAction::ListStatus | FenceAction::Monitor
        );
        let sw = RedfishSwitch::new(session, &sel, select, req.timing.power_timeout)?;
        if let Some(s) = sw.selected() {
            req.log
                .debug(&format!("system {} ({}) at {}", s.id, s.name, s.uri));
        }
        Ok(Box::new(sw))
    }
}

pub fn run() -> ! {
    fence::run(Redfish)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_parameter_is_read() {
        let unread = crate::agents::testing::fence_unread(
            &Redfish,
            &["ip=127.0.0.1\nusername=u\npassword=p\naction=status\n"],
        );
        assert!(unread.is_empty(), "{unread:?}");
    }
}
