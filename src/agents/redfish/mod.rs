//! `fence_bulwark_redfish`: the agent's declaration and how it reaches its device.

pub mod switch;

use crate::fence::{
    self, spec, FenceAction, FenceAgent, FenceError, FenceSpec, PowerSwitch, Request,
};
use crate::params::Param;
use crate::proto::redfish::client::{parse_address, Endpoint, Session};
use crate::proto::redfish::tls::{check_ca_file, Trust};
use crate::secret::Secret;
use switch::{RedfishSwitch, Selection};

fn port(v: &str) -> Result<(), String> {
    match v.trim().parse::<u16>() {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(format!("'{v}' is not a TCP port (1-65535)")),
    }
}

fn uri_path(v: &str) -> Result<(), String> {
    let v = v.trim();
    if v.is_empty()
        || (v.starts_with('/') && !v.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a path starting with /",
            crate::proto::redfish::model::one_line(v, 80)
        ))
    }
}

static REDFISH: &[Param] = &[
    Param::integer("ipport")
        .default("443")
        .check(port)
        .short('u')
        .hint("port")
        .describe(
            "TCP/UDP port to use for connection with device",
            "TCP port of the BMC's Redfish service. A port in ip (host:port, [v6]:port) takes precedence.",
        ),
    Param::boolean("ssl")
        .default("1")
        .short('z')
        .describe(
            "Use SSL connection",
            "HTTPS (the default). ssl=0 speaks plain HTTP, which sends the password in clear; only for a BMC on an isolated management network that offers nothing else.",
        ),
    Param::boolean("ssl_insecure")
        .describe(
            "Use SSL connection without verifying certificate",
            "Accept any certificate the BMC presents. Prefer ssl_ca_file.",
        ),
    Param::string("ssl_ca_file")
        .hint("path")
        .describe(
            "PEM file of CA certificates or the BMC's own certificate",
            "Trust the BMC through this PEM file instead of the system CA store: a chain to one of its CA certificates, or exactly one of its certificates presented by the BMC (its own self-signed certificate, whatever name it carries).",
        ),
    Param::string("redfish_uri")
        .default("/redfish/v1")
        .check(uri_path)
        .hint("uri")
        .describe("Base or starting Redfish URI", "Path of the Redfish service root."),
    Param::string("systems_uri")
        .check(uri_path)
        .hint("uri")
        .describe(
            "Redfish Systems resource URI, i.e. /redfish/v1/Systems/System.Embedded.1",
            "Path of the system to fence. When unset, the system is found in the Systems collection: the one named by plug, or the only one.",
        ),
    Param::string("plug")
        .aliases(&["port"])
        .short('n')
        .hint("id")
        .describe(
            "Id or Name of the Redfish system",
            "Id (or, failing that, Name) of the system to fence, for a BMC or chassis manager that serves several systems. With several systems and neither plug nor systems_uri, the agent refuses and lists them. Pacemaker passes the target node's name as plug unless pcmk_host_map maps it (node:SystemId) or pcmk_host_argument=none; a plug that names no system is an error, never a guess.",
        ),
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

fn trust(req: &Request) -> Trust {
    let v = &req.values;
    if v.flag("ssl_insecure") {
        Trust::Insecure
    } else if let Some(f) = v.non_empty("ssl_ca_file") {
        Trust::File(f.to_string())
    } else {
        Trust::System
    }
}

fn has_password(req: &Request) -> bool {
    let v = &req.values;
    v.get("password").is_some_and(|p| !p.is_empty())
        || v.non_empty("password_file").is_some()
        || v.non_empty("password_script").is_some()
}

impl FenceAgent for Redfish {
    fn spec(&self) -> &'static FenceSpec {
        &SPEC
    }

    fn check(&self, req: &Request) -> Result<(), FenceError> {
        let v = &req.values;
        parse_address(v.non_empty("ip").unwrap_or_default(), 443).map_err(FenceError::new)?;
        if v.non_empty("username").is_none() {
            return Err(FenceError::new("parameter 'username' is required"));
        }
        if !has_password(req) {
            return Err(FenceError::new(
                "a password is required (password on standard input, password_file or password_script)",
            ));
        }
        if let Some(f) = v.non_empty("ssl_ca_file") {
            if v.flag("ssl_insecure") {
                return Err(FenceError::new(
                    "ssl_ca_file and ssl_insecure contradict each other; set one",
                ));
            }
            check_ca_file(f).map_err(|e| FenceError::new(format!("ssl_ca_file: {e}")))?;
        }
        Ok(())
    }

    fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError> {
        let v = &req.values;
        let default_port = v
            .integer("ipport")
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(443);
        let (host, port) = parse_address(v.non_empty("ip").unwrap_or_default(), default_port)
            .map_err(FenceError::new)?;
        let ep = Endpoint {
            host,
            port,
            ssl: v
                .get("ssl")
                .map(|s| crate::params::parse_bool(s) != Some(false))
                .unwrap_or(true),
            trust: trust(req),
        };
        let password: Secret = req.password()?.unwrap_or_default();
        let user = v.non_empty("username").unwrap_or_default();
        let root = v.non_empty("redfish_uri").unwrap_or("/redfish/v1");
        req.log.debug(&format!(
            "connecting to {}:{} ({})",
            ep.host,
            ep.port,
            if ep.ssl { "https" } else { "http" }
        ));
        let session =
            Session::open(&ep, root, user, &password, req.deadline).map_err(FenceError::new)?;
        req.log.debug(if session.uses_session() {
            "logged in with a SessionService session"
        } else {
            "the service has no SessionService: HTTP Basic"
        });
        let sel = Selection {
            systems_uri: v.non_empty("systems_uri").map(str::to_string),
            plug: v.non_empty("plug").map(str::to_string),
        };
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
