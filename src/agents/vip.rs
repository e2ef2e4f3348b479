//! `ocf:bulwark:vip` — a floating service address (the job of `ocf:heartbeat:IPaddr2`), managed
//! over netlink with no `ip` subprocess.

use crate::deadline::Deadline;
use crate::net::{self, AddressSpec, AddressState, ArpForms, NetError, NetlinkCause};
use crate::ocf::{ActionResult, ActionSpec, AgentSpec, Context, OcfError, OcfStatus};
use crate::params::{parse, Decl, Param, P};
use crate::process::Detached;
use nix::errno::Errno;
use std::time::Duration;

fn arp_count(v: &str) -> Result<u32, String> {
    match v.trim().parse::<u32>() {
        Ok(n) if n <= 1000 => Ok(n),
        _ => Err(format!("'{v}' must be a whole number from 0 to 1000")),
    }
}

fn arp_interval(v: &str) -> Result<Duration, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(Duration::from_millis(n)),
        _ => Err(format!(
            "'{v}' must be a number of milliseconds from 1 to 10000"
        )),
    }
}

static IP: P<String> = P::new(
    Param::string("ip").required().unique().describe(
        "IPv4 or IPv6 address",
        "The service address to bring up, e.g. 192.0.2.10 or 2001:db8::10.",
    ),
    parse::text,
);
static CIDR_NETMASK: P<Option<String>> = P::new(
    Param::string("cidr_netmask")
            .aliases(&["netmask"])
            .describe(
                "Prefix length",
                "Prefix length (24) or, for IPv4, a dotted netmask (255.255.255.0). When empty, taken from the connected route that contains the address; 64 for an IPv6 link-local address (fe80::/10, which needs nic and no route).",
            ),
    parse::optional_text,
);
static NIC: P<Option<String>> = P::new(
    Param::string("nic").describe(
            "Network interface",
            "Interface to add the address to. When empty, the interface of the connected route that contains the address (as findif does).",
        ),
    parse::optional_text,
);
static BROADCAST: P<Option<String>> = P::new(
    Param::string("broadcast").describe(
            "Broadcast address (IPv4)",
            "IPv4 broadcast address, '+' to compute it from the prefix, '-' for none. When empty, copied from an address already in the subnet, else computed.",
        ),
    parse::optional_text,
);
static LABEL: P<Option<String>> = P::new(
    Param::string("label").aliases(&["iflabel"]).describe(
            "Interface label (IPv4)",
            "Label suffix: the address is labelled NIC:LABEL (15 bytes at most in all), as ifconfig-era tools show it.",
        ),
    parse::optional_text,
);
static ARP_COUNT: P<u32> = P::new(
    Param::integer("arp_count").default("5").describe(
            "Gratuitous ARP / unsolicited NA rounds",
            "How many announcements to send after start so that neighbours and switches learn the new location.",
        ),
    arp_count,
);
static ARP_INTERVAL: P<Duration> = P::new(
    Param::integer("arp_interval").default("200").describe(
        "Milliseconds between announcements",
        "Pause between announcement rounds.",
    ),
    arp_interval,
);
static ARP_BG: P<bool> = P::new(
    Param::boolean("arp_bg").default("true").describe(
            "Announce in the background",
            "Send the announcements from a detached process so start returns at once (IPv4; IPv6 announcements follow duplicate address detection and are always sent before start returns).",
        ),
    parse::boolean,
);
static PREFERRED_LFT: P<Option<String>> = P::new(
    Param::string("preferred_lft").default("forever").describe(
            "Preferred lifetime",
            "'forever' or seconds; 0 makes the address deprecated so it is not chosen as a source address.",
        ),
    parse::optional_text,
);
static NODAD: P<bool> = P::new(
    Param::boolean("nodad").default("false").describe(
        "Skip IPv6 duplicate address detection",
        "Add the IPv6 address without waiting for duplicate address detection.",
    ),
    parse::boolean,
);
static NOPREFIXROUTE: P<bool> = P::new(
    Param::boolean("noprefixroute").default("false").describe(
        "Do not add a prefix route",
        "Add the address without the route for its prefix.",
    ),
    parse::boolean,
);
static CHECK_LINK_STATUS: P<bool> = P::new(
    Param::boolean("check_link_status")
        .default("true")
        .describe(
            "Require carrier on the interface",
            "Refuse to start on, and report failure for, an interface without carrier.",
        ),
    parse::boolean,
);
static PARAMS: Decl = &[
    &IP,
    &CIDR_NETMASK,
    &NIC,
    &BROADCAST,
    &LABEL,
    &ARP_COUNT,
    &ARP_INTERVAL,
    &ARP_BG,
    &PREFERRED_LFT,
    &NODAD,
    &NOPREFIXROUTE,
    &CHECK_LINK_STATUS,
];

pub static SPEC: AgentSpec = AgentSpec {
    name: "vip",
    shortdesc: "Floating IPv4/IPv6 service address",
    longdesc: "Adds a service address to an interface on the node that runs the service and removes it elsewhere, announcing every move with gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6). Netlink is used directly; monitor costs one link and one address query.",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 20),
        ActionSpec::new("stop", 20),
        ActionSpec::new("monitor", 20).interval(10).depth(0),
        ActionSpec::new("meta-data", 5),
        ActionSpec::new("validate-all", 20),
    ],
};

struct Config {
    spec: AddressSpec,
    check_link: bool,
    arp_count: u32,
    arp_interval: Duration,
    arp_bg: bool,
}

struct Vip;

/// Netlink refusals for lack of privilege are "insufficient privileges", everything else a
/// generic (local, retryable) failure.
fn net_failure(e: NetError) -> OcfError {
    match &e {
        NetError::Netlink {
            cause:
                NetlinkCause::Kernel(Errno::EPERM | Errno::EACCES)
                | NetlinkCause::Socket(Errno::EPERM | Errno::EACCES),
            ..
        } => OcfError::perm(format!("{e} (needs root / CAP_NET_ADMIN)")),
        NetError::Config(_) => OcfError::configured(e.to_string()),
        // A missing interface is a property of this node: another node may have it.
        NetError::NoSuchInterface(_) => OcfError::installed(e.to_string()),
        // A missing route is network state, not a missing component, and is usually the same
        // on every node (a wrong ip; a base address NetworkManager or ifupdown dropped on
        // carrier loss). 5 is a hard error, never retried on the node until a cleanup, so
        // every node would end up banned; 1 is soft, recovered by the admin's own
        // start-failure-is-fatal / migration-threshold / failure-timeout policy. IPaddr2's
        // findif answers 1 here too.
        NetError::NoConnectedRoute { .. } => OcfError::generic(e.to_string()),
        _ => OcfError::generic(e.to_string()),
    }
}

impl Vip {
    fn announce(&self, cfg: &Config, target: &net::Target, ctx: &Context) {
        let opts = net::AnnounceOpts {
            count: cfg.arp_count,
            interval: cfg.arp_interval,
            arp_forms: ArpForms::Both,
        };
        let ip = cfg.spec.ip;
        if cfg.arp_count == 0 {
            return;
        }
        if cfg.arp_bg && ip.is_ipv4() {
            match crate::process::detach() {
                Detached::Child => {
                    // Its own budget, independent of our operation timeout.
                    let budget = cfg.arp_interval * cfg.arp_count + Duration::from_secs(5);
                    let _ = net::announce(ip, target, &opts, Deadline::after(budget));
                    // SAFETY: leaving the forked child without running the parent's exit
                    // handlers.
                    unsafe { libc::_exit(0) };
                }
                Detached::Parent(_) => return,
                Detached::Failed => {}
            }
        }
        match net::announce(ip, target, &opts, ctx.deadline) {
            Ok(net::Announced::Sent(n)) => {
                ctx.log.debug(&format!("sent {n} announcements for {ip}"))
            }
            Ok(net::Announced::Skipped(why)) => {
                ctx.log.debug(&format!("no announcement for {ip}: {why}"))
            }
            // The address is up; a failed announcement only delays neighbours' caches.
            Err(e) => ctx.log.warn(&e.to_string()),
        }
    }
}

impl crate::ocf::ResourceAgent for Vip {
    type Config = Config;

    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn configure(&self, ctx: &Context) -> Result<Config, OcfError> {
        let p = &ctx.params;
        let (ip, cidr_netmask, nic) = (IP.get(p)?, CIDR_NETMASK.get(p)?, NIC.get(p)?);
        let (iflabel, broadcast) = (LABEL.get(p)?, BROADCAST.get(p)?);
        let preferred_lft = PREFERRED_LFT.get(p)?;
        let raw = net::SpecParams {
            ip: &ip,
            cidr_netmask: cidr_netmask.as_deref(),
            nic: nic.as_deref(),
            iflabel: iflabel.as_deref(),
            broadcast: broadcast.as_deref(),
            preferred_lft: preferred_lft.as_deref(),
            nodad: NODAD.get(p)?,
            noprefixroute: NOPREFIXROUTE.get(p)?,
        };
        let spec =
            AddressSpec::from_params(&raw).map_err(|e| OcfError::configured(e.to_string()))?;
        Ok(Config {
            spec,
            check_link: CHECK_LINK_STATUS.get(p)?,
            arp_count: ARP_COUNT.get(p)?,
            arp_interval: ARP_INTERVAL.get(p)?,
            arp_bg: ARP_BG.get(p)?,
        })
    }

    fn validate(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        if ctx.check_level() >= 10 {
            let target = net::resolve(&cfg.spec, ctx.deadline).map_err(net_failure)?;
            if cfg.check_link && !target.link.is_usable() {
                return Err(OcfError::installed(format!(
                    "interface {} has no carrier",
                    target.link.name
                )));
            }
        }
        Ok(OcfStatus::Success)
    }

    fn start(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let ip = cfg.spec.ip;
        if let AddressState::Present {
            link_up, ifname, ..
        } = net::status(&cfg.spec, ctx.deadline).map_err(net_failure)?
        {
            if link_up || !cfg.check_link {
                ctx.log.debug(&format!("{ip} already on {ifname}"));
                return Ok(OcfStatus::Success);
            }
        }
        let target = net::resolve(&cfg.spec, ctx.deadline).map_err(net_failure)?;
        if cfg.check_link && target.link.admin_up && !target.link.carrier {
            return Err(OcfError::installed(format!(
                "interface {} has no carrier; not adding {ip}",
                target.link.name
            )));
        }
        let added = net::add(&cfg.spec, &target, ctx.deadline).map_err(net_failure)?;
        if added.dad == net::DadOutcome::StillTentative {
            return Err(OcfError::generic(format!(
                "{ip} on {} is still in duplicate address detection at the deadline",
                target.link.name
            )));
        }
        ctx.log.info(&format!(
            "added {ip}/{} to {}",
            target.prefix_len, target.link.name
        ));
        self.announce(cfg, &target, ctx);
        Ok(OcfStatus::Success)
    }

    fn stop(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        match net::remove(&cfg.spec, ctx.deadline).map_err(net_failure)? {
            net::Removed::WasAbsent => {}
            net::Removed::Deleted(n) => ctx.log.info(&format!(
                "removed {} ({n} cop{})",
                cfg.spec.ip,
                if n == 1 { "y" } else { "ies" }
            )),
        }
        Ok(OcfStatus::Success)
    }

    fn monitor(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let ip = cfg.spec.ip;
        let probe = ctx.is_probe();
        match net::status(&cfg.spec, ctx.deadline).map_err(net_failure)? {
            AddressState::Absent => Err(OcfError::not_running(format!("{ip} is not assigned"))),
            AddressState::Present {
                link_up: false,
                ifname,
                ..
            } if cfg.check_link && !probe => Err(OcfError::generic(format!(
                "{ip} is on {ifname}, but {ifname} has no carrier"
            ))),
            AddressState::Present { .. } | AddressState::Tentative { .. } => Ok(OcfStatus::Success),
            AddressState::DadFailed { ifname } if probe => Err(OcfError::not_running(format!(
                "{ip} on {ifname} failed duplicate address detection"
            ))),
            AddressState::DadFailed { ifname } => Err(OcfError::generic(format!(
                "{ip} on {ifname} failed duplicate address detection: another host uses it"
            ))),
            // Present, so a probe must say so: Pacemaker will then stop it here.
            AddressState::Misplaced { .. } if probe => Ok(OcfStatus::Success),
            AddressState::Misplaced { ifname, prefix_len } => Err(OcfError::generic(format!(
                "{ip} is assigned as {ip}/{prefix_len} on {ifname}, not as configured"
            ))),
        }
    }
}

/// The agent\'s entry point.
pub fn main() -> ! {
    crate::ocf::run(Vip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_reads_every_declared_parameter() {
        let unread = crate::agents::testing::ocf_unread(&Vip, &[("ip", "192.0.2.10")], &[]);
        assert!(unread.is_empty(), "{unread:?}");
    }
}
