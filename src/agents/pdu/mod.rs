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

use crate::choices;
use crate::fence::spec::{SecretSource, IP, PASSWORD_SOURCE, USERNAME};
use crate::fence::{self, spec, FenceAgent, FenceError, FenceSpec, PowerSwitch, Request};
use crate::params::{parse, Choice, Decl, Param, Values, P};
use crate::proto::snmp::model::{by_id, CustomModel, PduModel};
use crate::proto::snmp::{
    AuthProtocol, Credentials, ModelChoice, PduDevice, PduError, PrivProtocol, Target, UsmUser,
};
use crate::secret::Secret;
use switch::{fit_target, split_unit, PduSwitch};

fn port(v: &str) -> Result<u16, String> {
    match v.trim().parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{v}' is not a UDP port (1-65535)")),
    }
}

/// `model`: detected, described by the custom OIDs, or one of the built-in models.
#[derive(Debug, Clone, Copy)]
enum ModelArg {
    Detect,
    Custom,
    Known(&'static PduModel),
}

fn model(v: &str) -> Result<ModelArg, String> {
    match v.trim() {
        "auto" | "" => Ok(ModelArg::Detect),
        "custom" => Ok(ModelArg::Custom),
        m => by_id(m).map(ModelArg::Known).map_err(|e| e.to_string()),
    }
}

fn unit(v: &str) -> Result<Option<u32>, String> {
    match v.trim() {
        "" => Ok(None),
        t => t
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("'{v}' is not a unit number (0 or more)")),
    }
}

choices! {
    /// `snmp_version`.
    enum SnmpVersion {
        V1 = "1",
        V2c = "2c",
        V3 = "3",
    }
}

choices! {
    /// `snmp_sec_level`: SNMPv3's security level (net-snmp's names).
    #[allow(clippy::enum_variant_names)]
    enum SecLevel {
        NoAuthNoPriv = "noAuthNoPriv",
        AuthNoPriv = "authNoPriv",
        AuthPriv = "authPriv",
    }
}

fn optional_sec_level(v: &str) -> Result<Option<SecLevel>, String> {
    match v.trim() {
        "" => Ok(None),
        t => parse::choice(t).map(Some),
    }
}

fn auth_protocol(v: &str) -> Result<Option<AuthProtocol>, String> {
    match v.trim() {
        "" => Ok(None),
        t => AuthProtocol::parse(t)
            .map(Some)
            .ok_or_else(|| format!("'{v}' is not one of {}", AuthProtocol::NAMES.join(", "))),
    }
}

fn priv_protocol(v: &str) -> Result<Option<PrivProtocol>, String> {
    match v.trim() {
        "" => Ok(None),
        t => PrivProtocol::parse(t)
            .map(Some)
            .ok_or_else(|| format!("'{v}' is not one of {}", PrivProtocol::NAMES.join(", "))),
    }
}

/// The community of SNMP v1/v2c: `community`, else the login password's sources.
static COMMUNITY_SOURCE: SecretSource = SecretSource {
    given: &[&COMMUNITY, &spec::PASSWORD],
    file: &spec::PASSWORD_FILE,
    script: &spec::PASSWORD_SCRIPT,
};

/// The SNMPv3 privacy passphrase.
static PRIV_SOURCE: SecretSource = SecretSource {
    given: &[&SNMP_PRIV_PASSWD],
    file: &SNMP_PRIV_PASSWD_FILE,
    script: &SNMP_PRIV_PASSWD_SCRIPT,
};

fn oid(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Ok(());
    }
    crate::proto::snmp::model::OidTemplate::parse(v)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

static IPPORT: P<u16> = P::new(
    Param::integer("ipport")
        .default("161")
        .short('u')
        .hint("port")
        .describe(
            "TCP/UDP port to use for connection with device",
            "UDP port of the PDU's SNMP agent.",
        ),
    port,
);
static SNMP_VERSION: P<SnmpVersion> = P::new(
    Param::select("snmp_version", SnmpVersion::NAMES)
            .default("2c")
            .short('d')
            .hint("version")
            .describe(
                "Specifies SNMP version to use (1,2c,3)",
                "SNMP version. The default 2c reports a missing outlet as missing (never as off) and walks tables with GETBULK.",
            ),
    parse::choice,
);
static SNMPGET_PATH: P<Option<String>> = P::new(
    Param::string("snmpget_path")
        .no_effect()
            .hint("path")
            .describe("Path to snmpget", "Accepted for compatibility with fence_apc_snmp, without effect: SNMP is spoken in-process, no net-snmp tool is run."),
    parse::optional_text,
);
static SNMPSET_PATH: P<Option<String>> = P::new(
    Param::string("snmpset_path")
        .no_effect()
        .hint("path")
        .describe(
            "Path to snmpset",
            "Accepted for compatibility with fence_apc_snmp, without effect.",
        ),
    parse::optional_text,
);
static SNMPWALK_PATH: P<Option<String>> = P::new(
    Param::string("snmpwalk_path")
        .no_effect()
        .hint("path")
        .describe(
            "Path to snmpwalk",
            "Accepted for compatibility with fence_apc_snmp, without effect.",
        ),
    parse::optional_text,
);
static COMMUNITY: P<Option<Secret>> = P::new(
    Param::string("community")
            .secret()
            .short('c')
            .hint("community")
            .describe(
                "Set the community string",
                "Read-write community for SNMP v1/v2c. No default. Accepted on standard input only; alternatively password_file or password_script supply it.",
            ),
    spec::secret,
);
static SNMP: Decl = &[
    &IPPORT,
    &SNMP_VERSION,
    &SNMPGET_PATH,
    &SNMPSET_PATH,
    &SNMPWALK_PATH,
    &COMMUNITY,
];

static SNMP_SEC_LEVEL: P<Option<SecLevel>> = P::new(
    Param::select("snmp_sec_level", SecLevel::NAMES)
            .short('E')
            .hint("level")
            .describe(
                "Set security level (noAuthNoPriv|authNoPriv|authPriv)",
                "SNMPv3 security level. When unset: authPriv if a privacy passphrase is given, else authNoPriv if a password is given, else noAuthNoPriv. The SNMPv3 user is 'username', its authentication passphrase 'password' (or password_file / password_script).",
            ),
    optional_sec_level,
);
static SNMP_AUTH_PROT: P<Option<AuthProtocol>> = P::new(
    Param::select("snmp_auth_prot", AuthProtocol::NAMES)
        .synonyms(&[("SHA1", "SHA")])
        .short('b')
        .hint("prot")
        .describe(
            "Set authentication protocol (MD5|SHA|SHA-224|SHA-256|SHA-384|SHA-512)",
            "SNMPv3 authentication protocol; required for authNoPriv and authPriv (no default: a mismatch only shows at fencing time).",
        ),
    auth_protocol,
);
static SNMP_PRIV_PROT: P<Option<PrivProtocol>> = P::new(
    Param::select("snmp_priv_prot", PrivProtocol::NAMES)
        .synonyms(&[("AES128", "AES")])
        .short('B')
        .hint("prot")
        .describe(
            "Set privacy protocol (DES|AES|AES-192|AES-256|AES-192-C|AES-256-C)",
            "SNMPv3 privacy protocol for authPriv. AES is AES-128; AES-192/AES-256 use the Blumenthal key extension, the -C forms the Reeder (Cisco) one, as net-snmp names them.",
        ),
    priv_protocol,
);
static SNMP_PRIV_PASSWD: P<Option<Secret>> = P::new(
    Param::string("snmp_priv_passwd")
            .secret()
            .short('P')
            .hint("password")
            .describe(
                "Set privacy protocol password",
                "SNMPv3 privacy passphrase. Accepted on standard input only, never on the command line.",
            ),
    spec::secret,
);
static SNMP_PRIV_PASSWD_SCRIPT: P<Option<String>> = P::new(
    Param::string("snmp_priv_passwd_script")
        .short('R')
        .hint("script")
        .describe(
            "Script to run to retrieve privacy password",
            "Command run through /bin/sh whose first output line is the privacy passphrase.",
        ),
    parse::optional_text,
);
static SNMP_PRIV_PASSWD_FILE: P<Option<String>> = P::new(
    Param::string("snmp_priv_passwd_file")
        .hint("path")
        .describe(
            "File holding the privacy password",
            "Path of a file whose first line is the privacy passphrase (mode 0600 recommended).",
        ),
    parse::optional_text,
);
static LOGIN_V3: Decl = &[
    &SNMP_SEC_LEVEL,
    &SNMP_AUTH_PROT,
    &SNMP_PRIV_PROT,
    &SNMP_PRIV_PASSWD,
    &SNMP_PRIV_PASSWD_SCRIPT,
    &SNMP_PRIV_PASSWD_FILE,
];

static MODEL_ARG: P<ModelArg> = P::new(
    Param::string("model")
            .default("auto")
            .hint("model")
            .describe(
                "PDU model (auto, apc-rpdu2, eaton-g3, raritan-px2, ..., custom)",
                "auto: detected from sysObjectID (an unknown device is an error, never a guess). Built-in: apc-masterswitch, apc-masterswitch-plus, apc-rpdu, apc-rpdu2, eaton-epdu, eaton-switched, eaton-g3, raritan-px2, tripplite, tripplite-lx. custom: status_oid, control_oid and the status_*/command_* values describe the PDU.",
            ),
    model,
);
static UNIT: P<Option<u32>> = P::new(
    Param::integer("unit")
            .aliases(&["switch"])
            .short('s')
            .hint("unit")
            .describe(
                "Daisy-chain unit, PDU id or switch number",
                "Which unit of linked or daisy-chained PDUs holds the outlet: APC rPDU2 linked unit (module 1, 2 …; plug is then the outlet number on that unit), Eaton G3 daisy-chain unit (0 = master), Raritan PDU id (1), APC MasterSwitch plus switch number (1), Tripp Lite device (1). plug=2:5 is the same as switch=2 plug=5. Refused on single-unit models (apc-masterswitch, apc-rpdu, eaton-epdu, eaton-switched) unless it is 1. Default: the model's.",
            ),
    unit,
);
static STATUS_OID: P<Option<String>> = P::new(
    Param::string("status_oid")
            .check(oid)
            .hint("oid")
            .describe(
                "Outlet status OID (model=custom)",
                "Column OID of the outlet state (the outlet number is appended), or a template with {n}, {n-1}, {n+1} and {u}.",
            ),
    parse::optional_text,
);
static CONTROL_OID: P<Option<String>> = P::new(
    Param::string("control_oid")
        .check(oid)
        .hint("oid")
        .describe(
            "Outlet control OID (model=custom)",
            "Column OID (or template) written with command_on / command_off.",
        ),
    parse::optional_text,
);
static NAME_OID: P<Option<String>> = P::new(
    Param::string("name_oid").check(oid).hint("oid").describe(
        "Outlet name OID (model=custom)",
        "Column OID (or template) of outlet names, for list and plug-by-name. Optional.",
    ),
    parse::optional_text,
);
static STATUS_ON: P<Option<i64>> = P::new(
    Param::integer("status_on").hint("value").describe(
        "Status value meaning on (model=custom)",
        "INTEGER the status column reads when the outlet is on.",
    ),
    parse::optional_integer,
);
static STATUS_OFF: P<Option<i64>> = P::new(
    Param::integer("status_off").hint("value").describe(
        "Status value meaning off (model=custom)",
        "INTEGER the status column reads when the outlet is off.",
    ),
    parse::optional_integer,
);
static COMMAND_ON: P<Option<i64>> = P::new(
    Param::integer("command_on").hint("value").describe(
        "Command value to switch on (model=custom)",
        "INTEGER written to the control column to switch on.",
    ),
    parse::optional_integer,
);
static COMMAND_OFF: P<Option<i64>> = P::new(
    Param::integer("command_off").hint("value").describe(
        "Command value to switch off (model=custom)",
        "INTEGER written to the control column to switch off.",
    ),
    parse::optional_integer,
);
static COMMAND_REBOOT: P<Option<i64>> = P::new(
    Param::integer("command_reboot").hint("value").describe(
        "Command value to power-cycle (model=custom)",
        "INTEGER written to the control column for method=cycle. Optional.",
    ),
    parse::optional_integer,
);
static MODEL: Decl = &[
    &MODEL_ARG,
    &UNIT,
    &STATUS_OID,
    &CONTROL_OID,
    &NAME_OID,
    &STATUS_ON,
    &STATUS_OFF,
    &COMMAND_ON,
    &COMMAND_OFF,
    &COMMAND_REBOOT,
];

pub static SPEC: FenceSpec = FenceSpec {
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

/// The SNMPv3 security level: as configured, or derived from which secrets are configured.
fn sec_level(v: &Values) -> Result<SecLevel, FenceError> {
    if let Some(l) = SNMP_SEC_LEVEL.get(v)? {
        return Ok(l);
    }
    Ok(
        match (
            PASSWORD_SOURCE.is_configured(v),
            PRIV_SOURCE.is_configured(v),
        ) {
            (_, true) => SecLevel::AuthPriv,
            (true, false) => SecLevel::AuthNoPriv,
            (false, false) => SecLevel::NoAuthNoPriv,
        },
    )
}

fn custom_model(v: &Values) -> Result<CustomModel, FenceError> {
    let need = |p: &P<Option<i64>>| -> Result<i64, FenceError> {
        p.get(v)?
            .ok_or_else(|| FenceError::new(format!("model=custom needs parameter '{}'", p.name())))
    };
    let oid = |p: &P<Option<String>>| -> Result<String, FenceError> {
        p.get(v)?
            .ok_or_else(|| FenceError::new(format!("model=custom needs parameter '{}'", p.name())))
    };
    Ok(CustomModel {
        status_oid: oid(&STATUS_OID)?,
        control_oid: oid(&CONTROL_OID)?,
        on_state: need(&STATUS_ON)?,
        off_state: need(&STATUS_OFF)?,
        on_command: need(&COMMAND_ON)?,
        off_command: need(&COMMAND_OFF)?,
        reboot_command: COMMAND_REBOOT.get(v)?,
        name_oid: NAME_OID.get(v)?,
        unit: UNIT.get(v)?.unwrap_or(0),
    })
}

/// The unit from `switch`/`unit` and from `switch:outlet` plugs; they must all agree, since
/// one run talks to one unit.
fn plug_unit(req: &Request) -> Result<Option<u32>, FenceError> {
    let mut unit = UNIT.get(&req.values)?;
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
    match MODEL_ARG.get(v)? {
        ModelArg::Detect => Ok(ModelChoice::Detect),
        ModelArg::Custom => custom_model(v)?
            .build()
            .map(|m| ModelChoice::Given(Box::new(m)))
            .map_err(|e| FenceError::new(e.to_string())),
        ModelArg::Known(m) => Ok(ModelChoice::Given(Box::new(m.clone()))),
    }
}

/// The PDU's SNMP agent: host and UDP port.
fn address(req: &Request) -> Result<(String, u16), FenceError> {
    Ok((IP.get(&req.values)?, IPPORT.get(&req.values)?))
}

/// Which credentials a request uses, decided without reading a secret: `validate-all` and
/// every action judge the configuration with it, and [`credentials`] then reads only what it
/// names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CredentialPlan {
    Community(SnmpVersion),
    V3 {
        user: String,
        level: SecLevel,
        auth: Option<AuthProtocol>,
        privacy: Option<PrivProtocol>,
    },
}

fn credential_plan(req: &Request) -> Result<CredentialPlan, FenceError> {
    let v = &req.values;
    let version = SNMP_VERSION.get(v)?;
    if version != SnmpVersion::V3 {
        if !COMMUNITY_SOURCE.is_configured(v) {
            return Err(FenceError::new(
                "parameter 'community' is required for SNMP v1/v2c (on standard input, or through password_file / password_script)",
            ));
        }
        return Ok(CredentialPlan::Community(version));
    }
    let user = USERNAME.get(v)?;
    if user.is_empty() {
        return Err(FenceError::new(
            "parameter 'username' (the SNMPv3 user) is required for snmp_version=3",
        ));
    }
    let level = sec_level(v)?;
    let name = level.name();
    let auth = if level == SecLevel::NoAuthNoPriv {
        None
    } else {
        let Some(proto) = SNMP_AUTH_PROT.get(v)? else {
            return Err(FenceError::new(format!(
                "snmp_sec_level {name} needs snmp_auth_prot (MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512)"
            )));
        };
        if !PASSWORD_SOURCE.is_configured(v) {
            return Err(FenceError::new(format!(
                "snmp_sec_level {name} needs the authentication passphrase in password, password_file or password_script"
            )));
        }
        Some(proto)
    };
    let privacy = if level == SecLevel::AuthPriv {
        let Some(proto) = SNMP_PRIV_PROT.get(v)? else {
            return Err(FenceError::new(
                "snmp_sec_level authPriv needs snmp_priv_prot (DES, AES, AES-192, AES-256, AES-192-C or AES-256-C)",
            ));
        };
        if !PRIV_SOURCE.is_configured(v) {
            return Err(FenceError::new(
                "snmp_sec_level authPriv needs snmp_priv_passwd, snmp_priv_passwd_file or snmp_priv_passwd_script",
            ));
        }
        Some(proto)
    } else {
        if PRIV_SOURCE.is_configured(v) && SNMP_SEC_LEVEL.given(v).is_some() {
            req.log.warn(&format!(
                "snmp_sec_level {name}: privacy passphrase ignored"
            ));
        }
        None
    };
    Ok(CredentialPlan::V3 {
        user,
        level,
        auth,
        privacy,
    })
}

/// The credentials [`credential_plan`] names, secrets read from their sources.
fn credentials(req: &Request) -> Result<Credentials, FenceError> {
    let missing = |what: &str| FenceError::new(format!("{what} is not set"));
    Ok(match credential_plan(req)? {
        CredentialPlan::Community(version) => {
            let community = req
                .secret(&COMMUNITY_SOURCE)?
                .ok_or_else(|| missing("community"))?;
            if version == SnmpVersion::V1 {
                Credentials::V1 { community }
            } else {
                Credentials::V2c { community }
            }
        }
        CredentialPlan::V3 {
            user,
            auth,
            privacy,
            ..
        } => {
            let auth = match auth {
                Some(proto) => Some((proto, req.password()?.ok_or_else(|| missing("password"))?)),
                None => None,
            };
            let privacy = match privacy {
                Some(proto) => Some((
                    proto,
                    req.secret(&PRIV_SOURCE)?
                        .ok_or_else(|| missing("snmp_priv_passwd"))?,
                )),
                None => None,
            };
            Credentials::V3(UsmUser {
                name: user,
                auth,
                privacy,
            })
        }
    })
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
        address(req)?;
        credential_plan(req).map(drop)
    }

    fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError> {
        let (host, port) = address(req)?;
        let target = Target::resolve_within(&host, port, &req.login_deadline())
            .map_err(|e| FenceError::new(e.to_string()))?;
        let target: Target = fit_target(target, req.login_timeout);
        let creds = credentials(req)?;
        let choice = model_choice(&req.values)?;
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
                assert_eq!(
                    sec_level(&values(&pairs)).unwrap().name(),
                    want,
                    "{pairs:?}"
                );
                let mut explicit = pairs.clone();
                explicit.push(("snmp_sec_level", "noAuthNoPriv"));
                assert_eq!(
                    sec_level(&values(&explicit)).unwrap().name(),
                    "noAuthNoPriv"
                );
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

    #[test]
    fn every_declared_parameter_is_read() {
        let unread = crate::agents::testing::fence_unread(
            &Pdu,
            &[
                "ip=127.0.0.1\ncommunity=c\nplug=1\naction=status\n",
                "ip=127.0.0.1\nsnmp_version=3\nusername=u\npassword=p\nsnmp_auth_prot=SHA\nsnmp_priv_prot=AES\nsnmp_priv_passwd=q\nplug=1\naction=status\n",
                "ip=127.0.0.1\ncommunity=c\nplug=1\naction=status\nmodel=custom\nstatus_oid=.1.3.6.1.4.1.1.1\ncontrol_oid=.1.3.6.1.4.1.1.2\nstatus_on=1\nstatus_off=2\ncommand_on=1\ncommand_off=2\n",
            ],
        );
        assert!(unread.is_empty(), "{unread:?}");
    }

    /// The protocol names the metadata lists are exactly the protocols the client speaks.
    #[test]
    fn protocol_choices_name_every_protocol_once() {
        let auth: std::collections::BTreeSet<String> = AuthProtocol::NAMES
            .iter()
            .map(|n| format!("{:?}", AuthProtocol::parse(n).expect(n)))
            .collect();
        assert_eq!(auth.len(), AuthProtocol::NAMES.len());
        let privacy: std::collections::BTreeSet<String> = PrivProtocol::NAMES
            .iter()
            .map(|n| format!("{:?}", PrivProtocol::parse(n).expect(n)))
            .collect();
        assert_eq!(privacy.len(), PrivProtocol::NAMES.len());
    }

    fn request(stdin: &str) -> Result<Request, FenceError> {
        let decl = fence::declaration(&SPEC);
        let base = "ip=127.0.0.1\nplug=1\naction=status\n";
        fence::runtime::check_request(&Pdu, decl, &[], &format!("{base}{stdin}"))
    }

    /// One rule decides which secrets a request needs, for validate-all and for the run: the
    /// community may come from the login password's sources, SNMPv3 names what it misses.
    #[test]
    fn credentials_are_planned_once_and_read_from_their_sources() {
        let dir = std::env::temp_dir().join(format!("bulwark-pdu-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\nsecond line\n").unwrap();
        let file = file.display();

        let req = request(&format!("password_file={file}\n")).unwrap();
        assert_eq!(
            credential_plan(&req).unwrap(),
            CredentialPlan::Community(SnmpVersion::V2c)
        );
        match credentials(&req).unwrap() {
            Credentials::V2c { community } => assert_eq!(community.expose(), b"from-file"),
            other => panic!("{other:?}"),
        }
        // A community on stdin wins over every password source; a blank one is no community.
        let req = request(&format!(
            "community=c1\npassword_file={file}\nsnmp_version=1\n"
        ))
        .unwrap();
        match credentials(&req).unwrap() {
            Credentials::V1 { community } => assert_eq!(community.expose(), b"c1"),
            other => panic!("{other:?}"),
        }
        let e = request("community=\n").err().map(|e| e.reason);
        assert!(
            e.as_deref()
                .is_some_and(|e| e.starts_with("parameter 'community' is required")),
            "{e:?}"
        );
        // SNMPv3: the level follows the secrets, and what it needs is named.
        let v3 = "snmp_version=3\nusername=u\npassword=p\nsnmp_priv_passwd=q\n";
        let e = request(v3).err().map(|e| e.reason);
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("authPriv needs snmp_auth_prot")),
            "{e:?}"
        );
        let req = request(&format!("{v3}snmp_auth_prot=sha\nsnmp_priv_prot=aes\n")).unwrap();
        match credentials(&req).unwrap() {
            Credentials::V3(user) => {
                assert_eq!(user.name, "u");
                assert_eq!(
                    user.auth.map(|(_, s)| s.expose().to_vec()),
                    Some(b"p".to_vec())
                );
                assert_eq!(
                    user.privacy.map(|(_, s)| s.expose().to_vec()),
                    Some(b"q".to_vec())
                );
            }
            other => panic!("{other:?}"),
        }
        let e =
            request("snmp_version=3\nusername=u\nsnmp_sec_level=authNoPriv\nsnmp_auth_prot=MD5\n")
                .err()
                .map(|e| e.reason);
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("needs the authentication passphrase")),
            "{e:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
