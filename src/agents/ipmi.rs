//! The `fence_bulwark_ipmi` / `fence_bulwark_idrac` fence agent: the parameter declaration and
//! the mapping of the fence runtime's power steps onto one IPMI [`Session`].
//!
//! Two binaries share it: Cargo cannot install a symlink, so `fence_bulwark_idrac` is its own
//! one-line binary calling [`run`] with [`Flavour::Idrac`].
//!
//! # Defaults, and why they differ from fence_ipmilan
//! - `lanplus` defaults to **1** for both names. fence_ipmilan defaults to IPMI v1.5 (`lan`),
//!   which modern BMCs (iDRAC 8/9, iLO 4/5, XCC) disable and whose MD5 session is weak;
//!   fence-agents had to add the `fence_ipmilanplus` name to work around that default. A v1.5
//!   BMC gets a clear "does not support IPMI v2.0" error naming `lanplus=0`; we never
//!   downgrade silently.
//! - `cipher` empty negotiates: suite 17 first, suite 3 at once if the BMC refuses 17 (see the
//!   module docs of [`crate::proto::ipmi`]), never ipmitool's cipher-suite probe and its 10 s
//!   stall.
//! - `privlvl` defaults to administrator, as in fence_ipmilan; operator suffices for chassis
//!   control and is the least privilege a dedicated fencing account needs.
//! - `power_wait` stays 0 (the runtime polls status instead of sleeping 2 s twice).
//! - `port_as_ip=1` makes the plug value the BMC's address, as in fence_ipmilan (`ip` is then
//!   not needed). `target` (IPMI bridging, ipmitool `-t`) is refused by the fence runtime with
//!   exit 1: ipmi_sim has no satellite controller to prove Send Message against, and ignoring
//!   it would switch the addressed BMC's own chassis.
//! - Same as fence_ipmilan: an all-zero `hexadecimal_kg` is no Kg; `username` may be absent
//!   (null user). Stricter: with `lanplus=0` and no `auth`, only MD5 or MD2 is chosen, never
//!   `none`/`password` (a forged OFF reply would be believed).
//! - Power-on after a confirmed off is resent with backoff while the BMC answers "not now"
//!   (0xC0, 0xD5 ...), within the deadline, instead of one fixed `power_wait` sleep.
//! - The iDRAC flavour has the same defaults (iDRAC wants lanplus and accepts administrator);
//!   it differs in name and description only, so both metadata documents agree.

use crate::deadline::Deadline;
use crate::fence::spec::{self, LOGIN, USERNAME};
use crate::fence::{self, FenceAgent, FenceError, FenceSpec, PowerState, PowerSwitch, Request};
use crate::params::{parse, Decl, Param, P};
use crate::proto::ipmi::{
    resolve_host, AuthType, ChassisCommand, CipherSuite, Interface, IpmiError, IpmiTarget,
    Negotiated, Privilege, Session,
};
use crate::secret::Secret;
use std::time::Duration;

fn port_number(v: &str) -> Result<u16, String> {
    match v.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("'{v}' is not a UDP port (1 to 65535)")),
    }
}

/// `cipher`: empty (negotiate), 3 or 17. Suite 0 (no authentication) is never accepted.
pub fn parse_cipher(v: &str) -> Result<Option<CipherSuite>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u8>()
        .ok()
        .and_then(CipherSuite::from_id)
        .map(Some)
        .ok_or_else(|| {
            format!("'{v}' is not supported: use 3 or 17, or leave it empty to negotiate 17 then 3")
        })
}

/// `auth` (IPMI v1.5 only): empty picks the strongest type the BMC offers.
pub fn parse_auth(v: &str) -> Result<Option<AuthType>, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "md5" => Ok(Some(AuthType::Md5)),
        "md2" => Ok(Some(AuthType::Md2)),
        "password" | "straight" => Ok(Some(AuthType::Password)),
        "none" => Ok(Some(AuthType::None)),
        _ => Err(format!(
            "'{}' is not one of md5, md2, password, none",
            v.trim()
        )),
    }
}

fn privilege(v: &str) -> Result<Privilege, String> {
    Privilege::from_name(v.trim())
        .ok_or_else(|| format!("'{v}' is not one of {}", Privilege::NAMES.join(", ")))
}

/// Where the BMC is: `ip`, or with `port_as_ip=1` the plug value (fence_ipmilan's way of
/// configuring one stonith device for several nodes). `ip` is therefore not required by the
/// declaration; [`IpmiFence::check`] requires one of the two.
pub static IPMI_IP: P<Option<String>> = P::new(
    Param::string("ip")
        .aliases(&["ipaddr"])
        .short('a')
        .hint("ip")
        .describe(
            "IP address or hostname of fencing device",
            "Address of the BMC. Required unless port_as_ip is set.",
        ),
    parse::optional_text,
);
pub static IPMI_PLUG: P<Option<String>> = P::new(
    Param::string("plug")
            .aliases(&["port"])
            .short('n')
            .hint("ip")
            .describe(
                "IP address or hostname of fencing device (together with --port-as-ip)",
                "With port_as_ip=1, the BMC's address (Pacemaker passes the target node's name here, so a host map gives each node its BMC). Otherwise unused.",
            ),
    parse::optional_text,
);
pub static PORT_AS_IP: P<bool> = P::new(
    Param::boolean("port_as_ip").default("0").describe(
        "Make \"port/plug\" to be an alias to IP address",
        "1: the plug value replaces ip as the BMC's address, as in fence_ipmilan.",
    ),
    parse::boolean,
);
pub static IPMI_ADDRESS: Decl = &[&IPMI_IP, &IPMI_PLUG, &PORT_AS_IP];

/// The IPMI-specific parameters, fence_ipmilan's names and short options.
pub static IPPORT: P<u16> = P::new(
    Param::integer("ipport")
        .default("623")
        .short('u')
        .hint("port")
        .describe(
            "TCP/UDP port to use for connection with device",
            "UDP port of the BMC's RMCP service.",
        ),
    port_number,
);
pub static LANPLUS: P<bool> = P::new(
    Param::boolean("lanplus")
            .default("1")
            .short('P')
            .describe(
                "Use Lanplus to improve security of connection",
                "1: IPMI v2.0 RMCP+ (authenticated, integrity-protected session). 0: IPMI v1.5 'lan' session, only for BMCs without v2.0. Unlike fence_ipmilan the default is 1.",
            ),
    parse::boolean,
);
pub static CIPHER: P<Option<CipherSuite>> = P::new(
    Param::string("cipher")
            .short('C')
            .hint("cipher")
            .describe(
                "Ciphersuite to use (same as ipmitool -C parameter)",
                "RMCP+ cipher suite: 17 (HMAC-SHA256, AES-128) or 3 (HMAC-SHA1, AES-128). Empty: try 17, and 3 at once when the BMC refuses 17; no cipher-suite discovery round trip.",
            ),
    parse_cipher,
);
pub static PRIVLVL: P<Privilege> = P::new(
    Param::select("privlvl", Privilege::NAMES)
            .default("administrator")
            .short('L')
            .hint("level")
            .describe(
                "Privilege level on IPMI device",
                "Session privilege level, raised with Set Session Privilege Level after login. Chassis control needs operator or administrator.",
            ),
    privilege,
);
pub static AUTH: P<Option<AuthType>> = P::new(
    Param::string("auth")
            .short('A')
            .hint("auth")
            .describe(
                "IPMI Lan Auth type",
                "IPMI v1.5 (lanplus=0) authentication type: md5, md2, password or none. Empty: the strongest type the BMC offers. Ignored with lanplus.",
            ),
    parse_auth,
);
pub static HEXADECIMAL_KG: P<Option<Secret>> = P::new(
    Param::string("hexadecimal_kg")
            .secret()
            .short('y')
            .hint("key")
            .describe(
                "Hexadecimal-encoded Kg key for IPMIv2 authentication",
                "BMC key (Kg) in hexadecimal, up to 40 digits, for BMCs that require one. Accepted on standard input only.",
            ),
    spec::secret,
);
pub static IPMI: Decl = &[&IPPORT, &LANPLUS, &CIPHER, &PRIVLVL, &AUTH, &HEXADECIMAL_KG];

pub static IPMI_SPEC: FenceSpec = FenceSpec {
    name: "fence_bulwark_ipmi",
    shortdesc: "Fence agent for IPMI over LAN (native RMCP+)",
    longdesc: "fence_bulwark_ipmi powers a machine off and on through its BMC with IPMI over LAN. It speaks IPMI v2.0 RMCP+ (cipher suites 17 and 3) or IPMI v1.5 natively, in one session per action: no ipmitool, so the password never appears on any command line. Success for off is reported only after the BMC has read back power off. The password comes from standard input, password_file or password_script.",
    vendor_url: "https://www.intel.com/content/www/us/en/products/docs/servers/ipmi/ipmi-home.html",
    symlinks: &[(
        "fence_bulwark_idrac",
        "Fence agent for Dell iDRAC over IPMI (native RMCP+)",
    )],
    groups: &[IPMI_ADDRESS, LOGIN, IPMI],
    multi_outlet: false,
    lists: false,
};

pub static IDRAC_SPEC: FenceSpec = FenceSpec {
    name: "fence_bulwark_idrac",
    shortdesc: "Fence agent for Dell iDRAC over IPMI (native RMCP+)",
    longdesc: "fence_bulwark_idrac is fence_bulwark_ipmi under the name Dell iDRAC users look for: IPMI over LAN (enable 'IPMI over LAN' in the iDRAC settings), RMCP+ with cipher suite 17 or 3, one session per action, success for off only after the iDRAC has read back power off. The password comes from standard input, password_file or password_script.",
    vendor_url: "https://www.dell.com",
    symlinks: &[("fence_bulwark_ipmi", "Fence agent for IPMI over LAN (native RMCP+)")],
    groups: &[IPMI_ADDRESS, LOGIN, IPMI],
    multi_outlet: false,
    lists: false,
};

/// Which name the agent answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Ipmi,
    Idrac,
}

impl Flavour {
    /// The flavour for an invocation name (`fence_bulwark_idrac` through a symlink).
    pub fn from_invoked_name(name: &str) -> Flavour {
        if name.ends_with("idrac") {
            Flavour::Idrac
        } else {
            Flavour::Ipmi
        }
    }
}

/// The fence agent.
#[derive(Debug, Clone, Copy)]
pub struct IpmiFence {
    pub flavour: Flavour,
}

/// Runs the agent as `flavour`, or as the name it was invoked under when that is the iDRAC
/// name (a packaging symlink to `fence_bulwark_ipmi`).
pub fn run(flavour: Flavour) -> ! {
    let flavour = match Flavour::from_invoked_name(&fence::invoked_name()) {
        Flavour::Idrac => Flavour::Idrac,
        Flavour::Ipmi => flavour,
    };
    fence::run(IpmiFence { flavour })
}

/// The session settings of a request, without the password (which [`Request::password`]
/// may have to run a script for).
pub fn interface_of(req: &Request) -> Result<Interface, FenceError> {
    let v = &req.values;
    Ok(if LANPLUS.get(v)? {
        Interface::LanPlus {
            cipher: CIPHER.get(v)?,
        }
    } else {
        Interface::Lan { auth: AUTH.get(v)? }
    })
}

/// The BMC's address: the plug value with `port_as_ip=1` (then `ip` is not consulted), else `ip`.
pub fn bmc_host(req: &Request) -> Result<String, FenceError> {
    let v = &req.values;
    if PORT_AS_IP.get(v)? {
        IPMI_PLUG.get(v)?.ok_or_else(|| {
            FenceError::new(
                "parameter 'plug' is required with port_as_ip=1: it is the BMC's address",
            )
        })
    } else {
        IPMI_IP
            .get(v)?
            .ok_or_else(|| FenceError::new("parameter 'ip' is required"))
    }
}

/// Everything the session needs but the password, read and checked without the device.
struct Settings {
    host: String,
    port: u16,
    username: String,
    interface: Interface,
    privilege: Privilege,
    /// `None` also for an all-zero key: ipmitool's and the BMCs' spelling of "unset".
    kg: Option<Secret>,
}

/// A password must be configured (the user name may be absent: the null user, as the
/// metadata and fence_ipmilan allow); its presence is checked without running
/// `password_script` (validate-all should not need the secret store).
fn settings(req: &Request) -> Result<Settings, FenceError> {
    let v = &req.values;
    let host = bmc_host(req)?;
    if !req.has_password() {
        return Err(FenceError::new(
            "parameter 'password' is required (on standard input), or set password_file or password_script",
        ));
    }
    let interface = interface_of(req)?;
    let privilege = PRIVLVL.get(v)?;
    let kg = match HEXADECIMAL_KG.get(v)? {
        Some(hex) => {
            let kg = IpmiTarget::kg_from_hex(&String::from_utf8_lossy(hex.expose()))
                .map_err(|e| FenceError::new(e.to_string()))?;
            kg.expose().iter().any(|b| *b != 0).then_some(kg)
        }
        None => None,
    };
    Ok(Settings {
        host,
        port: IPPORT.get(v)?,
        username: USERNAME.get(v)?,
        interface,
        privilege,
        kg,
    })
}

/// One line for the operator. Authentication failures and silence are worded by
/// [`IpmiError`] itself ("authentication failed at …", "no answer from IP:PORT within N s").
/// Answers that mean "not now" are marked transient: node busy (0xC0), timeout (0xC3),
/// cannot respond (0xCE), BMC initialising (0xD2), not in the present state (0xD5).
fn failure(e: IpmiError) -> FenceError {
    let transient = matches!(
        &e,
        IpmiError::Completion { code, .. } if matches!(code.0, 0xC0 | 0xC3 | 0xCE | 0xD2 | 0xD5)
    );
    if transient {
        FenceError::transient(e.to_string())
    } else {
        FenceError::new(e.to_string())
    }
}

impl FenceAgent for IpmiFence {
    fn spec(&self) -> &'static FenceSpec {
        match self.flavour {
            Flavour::Ipmi => &IPMI_SPEC,
            Flavour::Idrac => &IDRAC_SPEC,
        }
    }

    fn check(&self, req: &Request) -> Result<(), FenceError> {
        settings(req).map(drop)
    }

    fn connect<'a>(&'a self, req: &Request) -> Result<Box<dyn PowerSwitch + 'a>, FenceError> {
        let settings = settings(req)?;
        let login = req.login_deadline();
        let password = req
            .password()?
            .ok_or_else(|| FenceError::new("parameter 'password' is required"))?;
        let addr = resolve_host(&settings.host, settings.port, login).map_err(failure)?;
        let mut target = IpmiTarget::new(addr, &settings.username, password);
        target.port = settings.port;
        target.interface = settings.interface;
        target.privilege = settings.privilege;
        target.kg = settings.kg;
        let session = Session::open(&target, login).map_err(failure)?;
        req.log.debug(&format!(
            "session with {} open: {}, privilege {}",
            session.peer(),
            match session.negotiated() {
                Negotiated::LanPlus { cipher } => format!("lanplus cipher suite {}", cipher.id()),
                Negotiated::Lan { auth } => format!("lan auth {auth:?}"),
            },
            session.privilege()
        ));
        Ok(Box::new(BmcSwitch {
            session,
            request_budget: req.login_timeout,
        }))
    }
}

/// One authenticated session, reused for every step of the action (status → off → status …).
pub struct BmcSwitch {
    pub session: Session,
    /// What one request after the login may take, resends included: `login_timeout`, as for
    /// the login itself and for each of the PDU agent's SNMP requests. A BMC that stops
    /// answering mid-action then fails the fence within it, and pacemaker-fenced moves on to
    /// the next level, instead of one unanswered Chassis Control using up agent_timeout.
    pub request_budget: Duration,
}

impl BmcSwitch {
    fn bound(&mut self, deadline: Deadline) {
        self.session
            .set_deadline(request_deadline(self.request_budget, deadline));
    }
}

/// The deadline of one request: its budget from now, never past the action's deadline.
fn request_deadline(budget: Duration, action: Deadline) -> Deadline {
    Deadline::after(budget).min(action)
}

impl PowerSwitch for BmcSwitch {
    fn power_state(&mut self, _plug: &str, deadline: Deadline) -> Result<PowerState, FenceError> {
        self.bound(deadline);
        self.session.power_state().map_err(failure)
    }

    fn set_power(
        &mut self,
        _plug: &str,
        state: PowerState,
        deadline: Deadline,
    ) -> Result<(), FenceError> {
        self.bound(deadline);
        // Power down is the hard off fencing needs; soft shutdown would let the OS decide.
        let command = match state {
            PowerState::Off => ChassisCommand::PowerDown,
            PowerState::On => ChassisCommand::PowerUp,
        };
        self.session.chassis_control(command).map_err(failure)
    }

    fn power_cycle(&mut self, _plug: &str, deadline: Deadline) -> Result<(), FenceError> {
        self.bound(deadline);
        self.session
            .chassis_control(ChassisCommand::PowerCycle)
            .map_err(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::execute;

    fn run_agent(flavour: Flavour, args: &[&str], stdin: &str) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = execute(
            &IpmiFence { flavour },
            &args,
            Some(stdin),
            &mut out,
            &mut err,
        );
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    /// A request after the login gets login_timeout, not what is left of agent_timeout: a
    /// BMC silent mid-action fails the fence within it (tests/fault_matrix.rs row "BMC goes
    /// silent right after accepting power-off" shows the agent binary doing so).
    #[test]
    fn a_request_is_bounded_by_its_budget_and_by_the_action() {
        let long_action = Deadline::after(Duration::from_secs(54));
        let d = request_deadline(Duration::from_secs(5), long_action);
        assert!(
            d.remaining() <= Duration::from_secs(5),
            "{:?}",
            d.remaining()
        );
        assert!(
            d.remaining() > Duration::from_secs(4),
            "{:?}",
            d.remaining()
        );
        let short_action = Deadline::after(Duration::from_secs(1));
        let d = request_deadline(Duration::from_secs(5), short_action);
        assert!(
            d.remaining() <= Duration::from_secs(1),
            "{:?}",
            d.remaining()
        );
    }

    #[test]
    fn cipher_and_auth_words() {
        assert_eq!(parse_cipher(""), Ok(None));
        assert_eq!(parse_cipher(" 3 "), Ok(Some(CipherSuite::Suite3)));
        assert_eq!(parse_cipher("17"), Ok(Some(CipherSuite::Suite17)));
        for bad in ["0", "1", "2", "4", "16", "x", "-3", "300"] {
            assert!(parse_cipher(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_auth("MD5"), Ok(Some(AuthType::Md5)));
        assert_eq!(parse_auth("straight"), Ok(Some(AuthType::Password)));
        assert_eq!(parse_auth(""), Ok(None));
        assert!(parse_auth("sha1").is_err());
    }

    #[test]
    fn flavour_from_name() {
        assert_eq!(
            Flavour::from_invoked_name("fence_bulwark_idrac"),
            Flavour::Idrac
        );
        assert_eq!(
            Flavour::from_invoked_name("fence_bulwark_ipmi"),
            Flavour::Ipmi
        );
    }

    /// Every refusal before any packet is sent: one line, exit 1, naming the parameter.
    #[test]
    fn bad_input_is_one_line_naming_the_parameter() {
        let base = "ip=127.0.0.1\nusername=admin\npassword=pw\naction=validate-all\n";
        let cases: &[(&str, &str)] = &[
            (
                "username=admin\npassword=pw\naction=status\n",
                "parameter 'ip'",
            ),
            (
                "ip=127.0.0.1\nusername=admin\naction=status\n",
                "parameter 'password'",
            ),
            (&format!("{base}cipher=5\n"), "parameter 'cipher'"),
            (&format!("{base}cipher=0\n"), "parameter 'cipher'"),
            (&format!("{base}privlvl=root\n"), "parameter 'privlvl'"),
            (&format!("{base}auth=sha1\n"), "parameter 'auth'"),
            (&format!("{base}ipport=70000\n"), "parameter 'ipport'"),
            (&format!("{base}hexadecimal_kg=xyz\n"), "hexadecimal_kg"),
        ];
        for (stdin, want) in cases {
            let (code, out, err) = run_agent(Flavour::Ipmi, &[], stdin);
            assert_eq!(code, 1, "{stdin}");
            assert!(out.is_empty(), "{stdin}: {out}");
            assert_eq!(err.lines().count(), 1, "{stdin}: {err}");
            assert!(err.contains(want), "{stdin}: {err}");
            assert!(!err.contains("pw\n") && !err.contains("xyz"), "{err}");
        }
        // An unreadable boolean on stdin is ignored with a warning, as fencing.py does; on the
        // command line it is refused.
        let (code, _, err) = run_agent(Flavour::Ipmi, &[], &format!("{base}lanplus=maybe\n"));
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run_agent(
            Flavour::Ipmi,
            &["-a", "127.0.0.1", "-l", "admin", "--lanplus=maybe"],
            "",
        );
        assert_eq!(code, 1);
        assert!(err.contains("parameter 'lanplus'"), "{err}");
        let (code, _, err) = run_agent(
            Flavour::Ipmi,
            &["-a", "127.0.0.1", "-l", "admin", "--bogus"],
            "",
        );
        assert_eq!(code, 1);
        assert!(err.contains("--bogus") && err.lines().count() == 1, "{err}");
        let (code, _, err) = run_agent(
            Flavour::Ipmi,
            &["-a", "127.0.0.1", "-l", "admin", "-y", "0011"],
            "",
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("hexadecimal_kg") && !err.contains("0011"),
            "{err}"
        );
        let (code, _, _) = run_agent(Flavour::Ipmi, &[], base);
        assert_eq!(code, 0);
        // An anonymous login is an explicit empty user name.
        let (code, _, err) = run_agent(
            Flavour::Ipmi,
            &[],
            "ip=127.0.0.1\nusername=\npassword_file=/etc/x\naction=validate-all\n",
        );
        assert_eq!(code, 0, "{err}");
    }

    #[test]
    fn metadata_names_the_flavour() {
        let (code, out, _) = run_agent(Flavour::Idrac, &["-o", "metadata"], "");
        assert_eq!(code, 0);
        assert!(
            out.contains("<resource-agent name=\"fence_bulwark_idrac\""),
            "{out}"
        );
        assert!(
            out.contains("<symlink name=\"fence_bulwark_ipmi\""),
            "{out}"
        );
        let (_, out, _) = run_agent(Flavour::Ipmi, &["-o", "metadata"], "");
        assert!(out.contains("<resource-agent name=\"fence_bulwark_ipmi\""));
        assert!(out.contains("<parameter name=\"lanplus\""));
        assert!(out.contains("<content type=\"boolean\" default=\"1\"/>"));
        assert!(out.contains("<option value=\"operator\"/>"));
    }

    #[test]
    fn every_declared_parameter_is_read() {
        for flavour in [Flavour::Ipmi, Flavour::Idrac] {
            let unread = crate::agents::testing::fence_unread(
                &IpmiFence { flavour },
                &[
                    "ip=127.0.0.1\npassword=pw\naction=status\n",
                    "plug=bmc\nport_as_ip=1\nlanplus=0\npassword_file=/pw\naction=status\n",
                ],
            );
            assert!(unread.is_empty(), "{unread:?}");
        }
    }

    #[test]
    fn privilege_names_are_the_levels() {
        for (i, name) in Privilege::NAMES.iter().enumerate() {
            let p = Privilege::from_name(name).expect(name);
            assert_eq!((p.name(), usize::from(p.code())), (*name, i + 1));
        }
    }
}
