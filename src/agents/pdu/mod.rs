//! `fence_bulwark_pdu` — fencing through a switched PDU over SNMP v1/v2c/v3, in-process (no
//! net-snmp subprocess, so no community or passphrase in any argv).
//!
//! Decisions that differ from fence_apc_snmp / fence_eaton_snmp, and why:
//! * `snmp_version` defaults to `2c`: v2c answers a missing outlet with an exception our client
//!   reports as such (fence-agents' v1 default exists because their v2c path read
//!   `noSuchInstance` as "off"), and walks use GETBULK.
//! * `community` has no default: a well-known default ("private") in the metadata is a secret
//!   published to every reader, and a forgotten community should fail `validate-all`, not
//!   time out at fencing time. For v1/v2c the community may also come from `password_file` or
//!   `password_script` (the secret sources Pacemaker users already know).
//! * The SNMPv3 auth protocol has no default: net-snmp's MD5 default is weak and a mismatch
//!   only shows as "authentication failure" at fencing time.
//! * SNMP timeouts are not separate knobs: each request (with its retries) gets `login_timeout`,
//!   split into attempts of up to 1 s, and never more than the run's deadline.

pub mod switch;

use crate::fence::{self, spec, FenceAgent, FenceError, FenceSpec, PowerSwitch, Request};
use crate::params::{Param, Values};
use crate::proto::snmp::model::{by_id, CustomModel};
use crate::proto::snmp::{
    AuthProtocol, Credentials, ModelChoice, PduDevice, PduError, PrivProtocol, Target, UsmUser,
};
use crate::secret::Secret;
use switch::{fit_target, split_unit, PduSwitch};

fn port(v: &str) -> Result<(), String> {
    match v.trim().parse::<u16>() {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(format!("'{v}' is not a UDP port (1-65535)")),
    }
}

fn model(v: &str) -> Result<(), String> {
    match v.trim() {
        "auto" | "custom" => Ok(()),
        m => by_id(m).map(|_| ()).map_err(|e| e.to_string()),
    }
}

fn unit(v: &str) -> Result<(), String> {
    v.trim()
        .parse::<u32>()
        .map(|_| ())
        .map_err(|_| format!("'{v}' is not a unit number (0 or more)"))
}

fn oid(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Ok(());
    }
    crate::proto::snmp::model::OidTemplate::parse(v)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

static SNMP: &[Param] = &[
    Param::integer("ipport")
        .default("161")
        .check(port)
        .short('u')
        .hint("port")
        .describe("TCP/UDP port to use for connection with device", "UDP port of the PDU's SNMP agent."),
    Param::select("snmp_version", &["1", "2c", "3"])
        .default("2c")
        .short('d')
        .hint("version")
        .describe(
            "Specifies SNMP version to use (1,2c,3)",
            "SNMP version. The default 2c reports a missing outlet as missing (never as off) and walks tables with GETBULK.",
        ),
    Param::string("snmpget_path")
        .hint("path")
        .describe("Path to snmpget", "Accepted for compatibility with fence_apc_snmp, without effect: SNMP is spoken in-process, no net-snmp tool is run."),
    Param::string("snmpset_path")
        .hint("path")
        .describe("Path to snmpset", "Accepted for compatibility with fence_apc_snmp, without effect."),
    Param::string("snmpwalk_path")
        .hint("path")
        .describe("Path to snmpwalk", "Accepted for compatibility with fence_apc_snmp, without effect."),
    Param::string("community")
        .secret()
        .short('c')
        .hint("community")
        .describe(
            "Set the community string",
            "Read-write community for SNMP v1/v2c. No default. Accepted on standard input only; alternatively password_file or password_script supply it.",
        ),
];

static LOGIN_V3: &[Param] = &[
    Param::select("snmp_sec_level", &["noAuthNoPriv", "authNoPriv", "authPriv"])
        .short('E')
        .hint("level")
        .describe(
            "Set security level (noAuthNoPriv|authNoPriv|authPriv)",
            "SNMPv3 security level. When unset: authPriv if a privacy passphrase is given, else authNoPriv if a password is given, else noAuthNoPriv. The SNMPv3 user is 'username', its authentication passphrase 'password' (or password_file / password_script).",
        ),
    Param::select(
        "snmp_auth_prot",
        &["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"],
    )
    .synonyms(&[("SHA1", "SHA")])
    .short('b')
    .hint("prot")
    .describe(
        "Set authentication protocol (MD5|SHA|SHA-224|SHA-256|SHA-384|SHA-512)",
        "SNMPv3 authentication protocol; required for authNoPriv and authPriv (no default: a mismatch only shows at fencing time).",
    ),
    Param::select(
        "snmp_priv_prot",
        &["DES", "AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C"],
    )
    .synonyms(&[("AES128", "AES")])
    .short('B')
    .hint("prot")
    .describe(
        "Set privacy protocol (DES|AES|AES-192|AES-256|AES-192-C|AES-256-C)",
        "SNMPv3 privacy protocol for authPriv. AES is AES-128; AES-192/AES-256 use the Blumenthal key extension, the -C forms the Reeder (Cisco) one, as net-snmp names them.",
    ),
    Param::string("snmp_priv_passwd")
        .secret()
        .short('P')
        .hint("password")
        .describe(
            "Set privacy protocol password",
            "SNMPv3 privacy passphrase. Accepted on standard input only, never on the command line.",
        ),
    Param::string("snmp_priv_passwd_script")
        .short('R')
        .hint("script")
        .describe(
            "Script to run to retrieve privacy password",
            "Command run through /bin/sh whose first output line is the privacy passphrase.",
        ),
    Param::string("snmp_priv_passwd_file")
        .hint("path")
        .describe(
            "File holding the privacy password",
            "Path of a file whose first line is the privacy passphrase (mode 0600 recommended).",
        ),
];

static MODEL: &[Param] = &[
    Param::string("model")
        .default("auto")
        .check(model)
        .hint("model")
        .describe(
            "PDU model (auto, apc-rpdu2, eaton-g3, raritan-px2, ..., custom)",
            "auto: detected from sysObjectID (an unknown device is an error, never a guess). Built-in: apc-masterswitch, apc-masterswitch-plus, apc-rpdu, apc-rpdu2, eaton-epdu, eaton-switched, eaton-g3, raritan-px2, tripplite, tripplite-lx. custom: status_oid, control_oid and the status_*/command_* values describe the PDU.",
        ),
    Param::integer("unit")
        .aliases(&["switch"])
        .check(unit)
        .short('s')
        .hint("unit")
        .describe(
            "Daisy-chain unit, PDU id or switch number",
            "Which unit of linked or daisy-chained PDUs holds the outlet: APC rPDU2 linked unit (module 1, 2 …; plug is then the outlet number on that unit), Eaton G3 daisy-chain unit (0 = master), Raritan PDU id (1), APC MasterSwitch plus switch number (1), Tripp Lite device (1). plug=2:5 is the same as switch=2 plug=5. Refused on single-unit models (apc-masterswitch, apc-rpdu, eaton-epdu, eaton-switched) unless it is 1. Default: the model's.",
        ),
    Param::string("status_oid")
        .check(oid)
        .hint("oid")
        .describe(
            "Outlet status OID (model=custom)",
            "Column OID of the outlet state (the outlet number is appended), or a template with {n}, {n-1}, {n+1} and {u}.",
        ),
    Param::string("control_oid")
        .check(oid)
        .hint("oid")
        .describe(
            "Outlet control OID (model=custom)",
            "Column OID (or template) written with command_on / command_off.",
        ),
    Param::string("name_oid")
        .check(oid)
        .hint("oid")
        .describe(
            "Outlet name OID (model=custom)",
            "Column OID (or template) of outlet names, for list and plug-by-name. Optional.",
        ),
    Param::integer("status_on")
        .hint("value")
        .describe("Status value meaning on (model=custom)", "INTEGER the status column reads when the outlet is on."),
    Param::integer("status_off")
        .hint("value")
        .describe("Status value meaning off (model=custom)", "INTEGER the status column reads when the outlet is off."),
    Param::integer("command_on")
        .hint("value")
        .describe("Command value to switch on (model=custom)", "INTEGER written to the control column to switch on."),
    Param::integer("command_off")
        .hint("value")
        .describe("Command value to switch off (model=custom)", "INTEGER written to the control column to switch off."),
    Param::integer("command_reboot")
        .hint("value")
        .describe("Command value to power-cycle (model=custom)", "INTEGER written to the control column for method=cycle. Optional."),
];

static SPEC: FenceSpec = FenceSpec {
    name: "fence_bulwark_pdu",
    shortdesc: "Fence agent for switched PDUs over SNMP (APC, Eaton, Raritan, Tripp Lite)",
    longdesc: "fence_bulwark_pdu switches PDU outlets over SNMP v1, v2c or v3 (USM with MD5, SHA-1 or SHA-2 authentication and DES or AES privacy), in-process: no community or passphrase ever appears on a command line or in a log. The PDU model is detected from sysObjectID or given with model=; each model is a table of OIDs and values. plug is an outlet number or name; several outlets (plug=3,4) are all switched off and read back off before any is switched on. Off is reported only after the PDU reads the outlet off; a missing outlet, a pending state or an unreadable status is an error, never off. Each SNMP request with its retries is bounded by login_timeout, and the whole run by agent_timeout.",
    vendor_url: "https://www.clusterlabs.org/",
    symlinks: &[],
    groups: &[spec::ADDRESS, SNMP, spec::LOGIN, LOGIN_V3, MODEL],
    multi_outlet: true,
    lists: true,
};

struct Pdu;

fn given<'a>(v: &'a Values, name: &str) -> Option<&'a str> {
    v.non_empty(name)
}

/// The SNMPv3 security level: as configured, or derived from which secrets are configured.
fn sec_level(v: &Values) -> &str {
    if let Some(l) = given(v, "snmp_sec_level") {
        return l;
    }
    let has_auth = ["password", "password_file", "password_script"]
        .iter()
        .any(|n| v.get(n).is_some_and(|x| !x.is_empty()));
    let has_priv = [
        "snmp_priv_passwd",
        "snmp_priv_passwd_file",
        "snmp_priv_passwd_script",
    ]
    .iter()
    .any(|n| v.get(n).is_some_and(|x| !x.is_empty()));
    match (has_auth, has_priv) {
        (_, true) => "authPriv",
        (true, false) => "authNoPriv",
        (false, false) => "noAuthNoPriv",
    }
}

fn has_password(v: &Values) -> bool {
    v.get("password").is_some_and(|p| !p.is_empty())
        || given(v, "password_file").is_some()
        || given(v, "password_script").is_some()
}

fn has_priv_password(v: &Values) -> bool {
    v.get("snmp_priv_passwd").is_some_and(|p| !p.is_empty())
        || given(v, "snmp_priv_passwd_file").is_some()
        || given(v, "snmp_priv_passwd_script").is_some()
}

fn custom_model(v: &Values) -> Result<CustomModel, FenceError> {
    let need = |name: &str| -> Result<i64, FenceError> {
        v.integer(name)
            .ok_or_else(|| FenceError::new(format!("model=custom needs parameter '{name}'")))
    };
    let oid = |name: &str| -> Result<String, FenceError> {
        given(v, name)
            .map(str::to_string)
            .ok_or_else(|| FenceError::new(format!("model=custom needs parameter '{name}'")))
    };
    Ok(CustomModel {
        status_oid: oid("status_oid")?,
        control_oid: oid("control_oid")?,
        on_state: need("status_on")?,
        off_state: need("status_off")?,
        on_command: need("command_on")?,
        off_command: need("command_off")?,
        reboot_command: v.integer("command_reboot"),
        name_oid: given(v, "name_oid").map(str::to_string),
        unit: v
            .integer("unit")
            .and_then(|u| u32::try_from(u).ok())
            .unwrap_or(0),
    })
}

/// The unit from `switch`/`unit` and from `switch:outlet` plugs; they must all agree, since
/// one run talks to one unit.
fn plug_unit(req: &Request) -> Result<Option<u32>, FenceError> {
    let mut unit = req
        .values
        .integer("unit")
        .and_then(|u| u32::try_from(u).ok());
    for p in &req.plugs {
        if let Some((u, _)) = split_unit(p) {
            match unit {
                Some(have) if have != u => {
                    return Err(FenceError::new(format!(
                        "plug '{p}' names unit {u} but unit {have} is already asked for; one run switches outlets of one unit"
                    )))
                }
                _ => unit = Some(u),
            }
        }
    }
    Ok(unit)
}

fn model_choice(v: &Values) -> Result<ModelChoice, FenceError> {
    match v.get("model").map(str::trim).unwrap_or("auto") {
        "auto" | "" => Ok(ModelChoice::Detect),
        "custom" => custom_model(v)?
            .build()
            .map(|m| ModelChoice::Given(Box::new(m)))
            .map_err(|e| FenceError::new(e.to_string())),
        id => by_id(id)
            .map(|m| ModelChoice::Given(Box::new(m.clone())))
            .map_err(|e| FenceError::new(e.to_string())),
    }
}

/// The privacy passphrase from stdin, file or script, like [`Request::password`].
fn priv_password(req: &Request) -> Result<Option<Secret>, FenceError> {
    let v = &req.values;
    if let Some(p) = v.get("snmp_priv_passwd").filter(|p| !p.is_empty()) {
        return Ok(Some(Secret::from(p)));
    }
    if let Some(path) = given(v, "snmp_priv_passwd_file") {
        return Secret::first_line_of_file(std::path::Path::new(path))
            .map(Some)
            .map_err(FenceError::new);
    }
    if let Some(script) = given(v, "snmp_priv_passwd_script") {
        return Secret::from_script(script, req.deadline.cap(req.login_timeout))
            .map(Some)
            .map_err(|e| FenceError::new(e.replace("password_script", "snmp_priv_passwd_script")));
    }
    Ok(None)
}

fn credentials(req: &Request) -> Result<Credentials, FenceError> {
    let v = &req.values;
    let version = v.get("snmp_version").unwrap_or("2c");
    if version != "3" {
        let community = match v.get("community").filter(|c| !c.is_empty()) {
            Some(c) => Secret::from(c),
            None => req.password()?.ok_or_else(|| {
                FenceError::new("parameter 'community' is required for SNMP v1/v2c")
            })?,
        };
        return Ok(if version == "1" {
            Credentials::V1 { community }
        } else {
            Credentials::V2c { community }
        });
    }
    let name = given(v, "username")
        .ok_or_else(|| FenceError::new("parameter 'username' (the SNMPv3 user) is required"))?
        .to_string();
    let level = sec_level(v);
    let auth = if level == "noAuthNoPriv" {
        None
    } else {
        let proto = given(v, "snmp_auth_prot")
            .and_then(AuthProtocol::parse)
            .ok_or_else(|| FenceError::new(format!("{level} needs snmp_auth_prot")))?;
        let pass = req
            .password()?
            .ok_or_else(|| FenceError::new(format!("{level} needs a password")))?;
        Some((proto, pass))
    };
    let privacy = if level == "authPriv" {
        let proto = given(v, "snmp_priv_prot")
            .and_then(PrivProtocol::parse)
            .ok_or_else(|| FenceError::new("authPriv needs snmp_priv_prot"))?;
        let pass = priv_password(req)?
            .ok_or_else(|| FenceError::new("authPriv needs snmp_priv_passwd"))?;
        Some((proto, pass))
    } else {
        None
    };
    Ok(Credentials::V3(UsmUser {
        name,
        auth,
        privacy,
    }))
}

impl FenceAgent for Pdu {
    fn spec(&self) -> &'static FenceSpec {
        &SPEC
    }

    /// Everything that can be judged without the device: model, custom OIDs, and that the
    /// credentials the SNMP version needs are configured (without reading them).
    fn check(&self, req: &Request) -> Result<(), FenceError> {
        let v = &req.values;
        let unit = plug_unit(req)?;
        if let (ModelChoice::Given(m), Some(u)) = (model_choice(v)?, unit) {
            if !m.has_units() && u != 1 {
                return Err(FenceError::new(
                    PduError::NoUnits {
                        model: m.id.to_string(),
                        unit: u,
                    }
                    .to_string(),
                ));
            }
        }
        match v.get("snmp_version").unwrap_or("2c") {
            "3" => {
                if given(v, "username").is_none() {
                    return Err(FenceError::new(
                        "parameter 'username' (the SNMPv3 user) is required for snmp_version=3",
                    ));
                }
                let level = sec_level(v);
                if level != "noAuthNoPriv" {
                    if given(v, "snmp_auth_prot").is_none() {
                        return Err(FenceError::new(format!(
                            "snmp_sec_level {level} needs snmp_auth_prot (MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512)"
                        )));
                    }
                    if !has_password(v) {
                        return Err(FenceError::new(format!(
                            "snmp_sec_level {level} needs the authentication passphrase in password, password_file or password_script"
                        )));
                    }
                }
                if level == "authPriv" {
                    if given(v, "snmp_priv_prot").is_none() {
                        return Err(FenceError::new(
                            "snmp_sec_level authPriv needs snmp_priv_prot (DES, AES, AES-192, AES-256, AES-192-C or AES-256-C)",
                        ));
                    }
                    if !has_priv_password(v) {
                        return Err(FenceError::new(
                            "snmp_sec_level authPriv needs snmp_priv_passwd, snmp_priv_passwd_file or snmp_priv_passwd_script",
                        ));
                    }
                } else if has_priv_password(v) && given(v, "snmp_sec_level").is_some() {
                    req.log.warn(&format!(
                        "snmp_sec_level {level}: privacy passphrase ignored"
                    ));
                }
            }
            _ => {
                if v.get("community").is_none_or(str::is_empty) && !has_password(v) {
                    return Err(FenceError::new(
                        "parameter 'community' is required for SNMP v1/v2c (on standard input, or through password_file / password_script)",
                    ));
                }
            }
        }
        Ok(())
    }

    fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError> {
        let v = &req.values;
        let host = v.non_empty("ip").unwrap_or_default();
        let port = v
            .integer("ipport")
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(161);
        let target = Target::resolve_within(host, port, &req.login_deadline())
            .map_err(|e| FenceError::new(e.to_string()))?;
        let target: Target = fit_target(target, req.login_timeout);
        let creds = credentials(req)?;
        let choice = model_choice(v)?;
        let unit = plug_unit(req)?;
        req.log.debug(&format!(
            "connecting to {} ({creds:?}), {} ms per attempt, {} retries",
            target.addr,
            target.attempt_timeout.as_millis(),
            target.retries
        ));
        let dev = PduDevice::connect(&target, &creds, choice, unit, &req.login_deadline())
            .map_err(|e| FenceError::new(e.to_string()))?;
        req.log.debug(&format!("model {}", dev.model().id));
        Ok(Box::new(PduSwitch::new(dev, req.login_timeout)))
    }
}

/// The agent's entry point.
pub fn main() -> ! {
    fence::run(Pdu)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        Values::collect(fence::declaration(&SPEC), pairs.iter().copied()).0
    }

    /// Every combination of configured secrets gives the level the metadata promises; an
    /// explicit level wins.
    #[test]
    fn security_level_follows_the_configured_secrets() {
        let auth = [None, Some(("password", "a")), Some(("password_file", "/f"))];
        let privacy = [
            None,
            Some(("snmp_priv_passwd", "p")),
            Some(("snmp_priv_passwd_script", "s")),
        ];
        for a in auth {
            for p in privacy {
                let pairs: Vec<(&str, &str)> = a.into_iter().chain(p).collect();
                let want = match (a.is_some(), p.is_some()) {
                    (_, true) => "authPriv",
                    (true, false) => "authNoPriv",
                    (false, false) => "noAuthNoPriv",
                };
                assert_eq!(sec_level(&values(&pairs)), want, "{pairs:?}");
                let mut explicit = pairs.clone();
                explicit.push(("snmp_sec_level", "noAuthNoPriv"));
                assert_eq!(sec_level(&values(&explicit)), "noAuthNoPriv");
            }
        }
    }

    /// fencing.py upper-cases choices before comparing, net-snmp takes `SHA256` for `SHA-256`:
    /// every such spelling reaches the SNMP code as the declared option.
    #[test]
    fn choice_spellings_of_fencing_py_and_net_snmp() {
        for (name, raw, want) in [
            ("snmp_auth_prot", "sha", "SHA"),
            ("snmp_auth_prot", "SHA1", "SHA"),
            ("snmp_auth_prot", "SHA256", "SHA-256"),
            ("snmp_auth_prot", "sha-512", "SHA-512"),
            ("snmp_auth_prot", "md5", "MD5"),
            ("snmp_sec_level", "authpriv", "authPriv"),
            ("snmp_sec_level", "AUTHNOPRIV", "authNoPriv"),
            ("snmp_version", "2C", "2c"),
            ("snmp_priv_prot", "aes", "AES"),
            ("snmp_priv_prot", "AES128", "AES"),
            ("snmp_priv_prot", "AES256", "AES-256"),
            ("snmp_priv_prot", "aes256c", "AES-256-C"),
            ("snmp_priv_prot", "des", "DES"),
            ("method", "CYCLE", "cycle"),
            ("method", "OnOff", "onoff"),
        ] {
            let v = values(&[("ip", "x"), (name, raw)]);
            assert_eq!(v.get(name), Some(want), "{name}={raw}");
            assert!(v.validate().is_ok(), "{name}={raw}");
        }
        let v = values(&[("ip", "x"), ("snmp_auth_prot", "SHA3")]);
        assert!(v.validate().is_err());
    }

    #[test]
    fn model_choices() {
        assert!(matches!(
            model_choice(&values(&[])),
            Ok(ModelChoice::Detect)
        ));
        assert!(matches!(
            model_choice(&values(&[("model", "eaton-g3")])),
            Ok(ModelChoice::Given(m)) if m.id == "eaton-g3"
        ));
        let e = model_choice(&values(&[
            ("model", "custom"),
            ("status_oid", ".1.3.6.1.4.1.9.1"),
        ]))
        .err()
        .map(|e| e.reason);
        assert_eq!(
            e.as_deref(),
            Some("model=custom needs parameter 'control_oid'")
        );
    }
}
