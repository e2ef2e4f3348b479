//! Service-address management for the `vip` agent (the peer of IPaddr2).
//!
//! Everything goes through one blocking rtnetlink socket per call ([`rtnl::Rtnl`]); no `ip`
//! subprocess, no async runtime. The agent's flow:
//!
//! - validate-all: [`AddressSpec::from_params`] (pure), then at depth 10 [`resolve`].
//! - monitor: [`status`] — one `RTM_GETLINK` and one address dump, nothing else.
//! - start: [`status`]; if absent [`resolve`] (nic and netmask, from the routing table when not
//!   given, as findif does), check [`Target::link`], [`add`] (adds, brings the link up, waits
//!   for IPv6 DAD), then [`announce`] (gratuitous ARP or unsolicited NA).
//! - stop: [`remove`], idempotent.
//!
//! Every call takes a [`Deadline`]; no wait outlives it. Errors are [`NetError`] /
//! [`ConfigError`], one sentence each; exit codes are the agent's business.

pub mod announce;
pub mod error;
pub mod packet;
pub mod rtnl;
pub mod validate;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nix::errno::Errno;

pub use error::{ConfigError, NetError, NetlinkCause};
pub use packet::ArpOp;
pub use rtnl::{Address, Link, OperState, Rtnl};
pub use validate::{Broadcast, Lifetime};

use crate::deadline::Deadline;

/// The address the agent manages, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSpec {
    pub ip: IpAddr,
    /// `cidr_netmask`; `None` derives it from the connected route (/64 for link-local).
    pub prefix_len: Option<u8>,
    /// `nic` without any `:label` part; `None` derives it from the routing table.
    pub nic: Option<String>,
    /// Label suffix (`iflabel`, or the part after `:` in `nic`); IPv4 only. The label the
    /// kernel gets is `NIC:SUFFIX`.
    pub iflabel: Option<String>,
    pub broadcast: Broadcast,
    pub preferred_lft: Lifetime,
    /// Skip IPv6 duplicate address detection.
    pub nodad: bool,
    /// Do not create the prefix route for the address.
    pub noprefixroute: bool,
}

/// Raw parameter strings, as the agent receives them (`None` = not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct SpecParams<'a> {
    pub ip: &'a str,
    pub cidr_netmask: Option<&'a str>,
    pub nic: Option<&'a str>,
    pub iflabel: Option<&'a str>,
    pub broadcast: Option<&'a str>,
    pub preferred_lft: Option<&'a str>,
    pub nodad: bool,
    pub noprefixroute: bool,
}

impl AddressSpec {
    /// A spec for `ip` with every option at its default.
    pub fn new(ip: IpAddr) -> Self {
        AddressSpec {
            ip,
            prefix_len: None,
            nic: None,
            iflabel: None,
            broadcast: Broadcast::Inherit,
            preferred_lft: Lifetime::Forever,
            nodad: false,
            noprefixroute: false,
        }
    }

    /// Parses and cross-checks the parameters without touching the host. Empty strings count
    /// as unset. A label in `nic` (`eth0:vip`) wins over `iflabel`, as in IPaddr2.
    pub fn from_params(p: &SpecParams<'_>) -> Result<Self, ConfigError> {
        let ip = validate::parse_ip(p.ip)?;
        let mut spec = AddressSpec::new(ip);
        if let Some(m) = non_empty(p.cidr_netmask) {
            spec.prefix_len = Some(validate::parse_netmask(m, ip.is_ipv6())?);
        }
        if let Some(label) = non_empty(p.iflabel) {
            validate::check_label_suffix(label)?;
            spec.iflabel = Some(label.to_string());
        }
        if let Some(nic) = non_empty(p.nic) {
            let (name, label) = validate::split_nic_label(nic)?;
            spec.nic = Some(name);
            if label.is_some() {
                spec.iflabel = label;
            }
        }
        if let Some(b) = p.broadcast {
            spec.broadcast = validate::parse_broadcast(b)?;
        }
        if let Some(l) = non_empty(p.preferred_lft) {
            spec.preferred_lft = validate::parse_lifetime(l)?;
        }
        spec.nodad = p.nodad;
        spec.noprefixroute = p.noprefixroute;
        spec.validate()?;
        Ok(spec)
    }

    /// Rules between fields: labels and broadcast addresses are IPv4 only, a link-local
    /// address needs a nic, and a label must fit with the nic's name when that is known.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::check_service_ip(self.ip)?;
        if let Some(p) = self.prefix_len {
            let max = if self.ip.is_ipv6() { 128 } else { 32 };
            if p == 0 || p > max {
                return Err(ConfigError::InvalidNetmask {
                    value: p.to_string(),
                    ipv6: self.ip.is_ipv6(),
                });
            }
        }
        if let Some(nic) = &self.nic {
            validate::check_interface_name(nic)?;
        }
        if self.ip.is_ipv6() {
            if self.iflabel.is_some() {
                return Err(ConfigError::LabelOnIpv6(self.ip));
            }
            if matches!(self.broadcast, Broadcast::Address(_)) {
                return Err(ConfigError::BroadcastOnIpv6(self.ip));
            }
            if self.nic.is_none() && validate::is_link_local(self.ip) {
                return Err(ConfigError::LinkLocalNeedsNic(self.ip));
            }
        }
        if let (Some(nic), Some(suffix)) = (&self.nic, &self.iflabel) {
            validate::build_label(nic, suffix)?;
        }
        Ok(())
    }

    pub fn is_ipv6(&self) -> bool {
        self.ip.is_ipv6()
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Where the address goes: the interface (with its current state) and the prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub link: Link,
    pub prefix_len: u8,
}

/// What [`status`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressState {
    /// Not assigned anywhere in this namespace.
    Absent,
    /// Assigned where the spec says and usable; `link_up` is admin up with carrier.
    Present {
        ifname: String,
        prefix_len: u8,
        link_up: bool,
    },
    /// Assigned, IPv6 duplicate address detection still running.
    Tentative { ifname: String },
    /// Assigned, but IPv6 duplicate address detection found another holder.
    DadFailed { ifname: String },
    /// Assigned, but on another interface or with another prefix length than the spec
    /// (IPaddr2 counts this as not running).
    Misplaced { ifname: String, prefix_len: u8 },
}

/// Finds the interface and prefix for `spec`, from the routing table where not given: the
/// connected route (no gateway, main table; for IPv4 link scope) with the longest prefix
/// containing the address, restricted to `nic` when given and to prefixes no longer than
/// `cidr_netmask` when given. A link-local IPv6 address (which needs `nic`) takes /64 without
/// a route.
pub fn resolve(spec: &AddressSpec, deadline: Deadline) -> Result<Target, NetError> {
    let mut nl = open()?;
    resolve_with(&mut nl, spec, deadline)
}

fn resolve_with(nl: &mut Rtnl, spec: &AddressSpec, deadline: Deadline) -> Result<Target, NetError> {
    let v6 = spec.is_ipv6();
    if let Some(nic) = &spec.nic {
        let link = nl
            .link_by_name(nic, deadline)
            .map_err(|c| query(format!("look up interface {nic}"), c))?
            .ok_or_else(|| NetError::NoSuchInterface(nic.clone()))?;
        let prefix_len = match spec.prefix_len {
            Some(p) => p,
            // The link is the whole scope of a link-local address: no route has to reach it,
            // and an interface without one yet (no link-local address of its own:
            // addrgenmode none, just created) must not refuse it.
            None if validate::is_link_local(spec.ip) => validate::LINK_LOCAL_PREFIX_LEN,
            None => {
                let routes = nl
                    .connected_routes(v6, Some(link.index), deadline)
                    .map_err(|c| query(format!("read the routes of {nic}"), c))?;
                rtnl::best_route(&routes, spec.ip, None)
                    .ok_or_else(|| NetError::NoConnectedRoute {
                        ip: spec.ip,
                        nic: Some(nic.clone()),
                    })?
                    .prefix_len
            }
        };
        return Ok(Target { link, prefix_len });
    }
    let routes = nl
        .connected_routes(v6, None, deadline)
        .map_err(|c| query("read the routing table".to_string(), c))?;
    let route =
        rtnl::best_route(&routes, spec.ip, spec.prefix_len).ok_or(NetError::NoConnectedRoute {
            ip: spec.ip,
            nic: None,
        })?;
    let link = nl
        .link_by_index(route.oif, deadline)
        .map_err(|c| query(format!("look up interface index {}", route.oif), c))?
        .ok_or(NetError::InterfaceVanished(route.oif))?;
    Ok(Target {
        link,
        prefix_len: spec.prefix_len.unwrap_or(route.prefix_len),
    })
}

/// The state of the address: one `RTM_GETLINK` and one address dump on one socket.
///
/// With `nic` set, a missing interface is [`NetError::NoSuchInterface`] (the agent's monitor
/// reports not running, as IPaddr2 does since resource-agents #334). Without `nic`, the
/// address counts wherever it is.
pub fn status(spec: &AddressSpec, deadline: Deadline) -> Result<AddressState, NetError> {
    let mut nl = open()?;
    let link = match &spec.nic {
        Some(nic) => Some(
            nl.link_by_name(nic, deadline)
                .map_err(|c| query(format!("look up interface {nic}"), c))?
                .ok_or_else(|| NetError::NoSuchInterface(nic.clone()))?,
        ),
        None => None,
    };
    let addrs = nl
        .addresses(spec.is_ipv6(), None, deadline)
        .map_err(|c| query(format!("list the addresses to find {}", spec.ip), c))?;
    let mut mine = addrs.iter().filter(|a| a.ip == spec.ip);
    let found = match &link {
        Some(l) => addrs
            .iter()
            .find(|a| a.ip == spec.ip && a.index == l.index)
            .or_else(|| mine.next()),
        None => mine.next(),
    };
    let Some(found) = found else {
        return Ok(AddressState::Absent);
    };
    let expected_index = link.as_ref().map(|l| l.index);
    let link = match link {
        Some(l) if l.index == found.index => l,
        _ => nl
            .link_by_index(found.index, deadline)
            .map_err(|c| query(format!("look up interface index {}", found.index), c))?
            .ok_or(NetError::InterfaceVanished(found.index))?,
    };
    Ok(classify(spec, expected_index, found, &link))
}

/// Pure verdict for one found address on its link. `expected_index` is the index of the
/// spec's nic when one is set; interfaces are compared by index so that a nic given by an
/// alternative name still matches (resource-agents #2188).
pub fn classify(
    spec: &AddressSpec,
    expected_index: Option<u32>,
    found: &Address,
    link: &Link,
) -> AddressState {
    let ifname = link.name.clone();
    let wrong_nic = expected_index.is_some_and(|i| i != found.index);
    let wrong_prefix = spec.prefix_len.is_some_and(|p| p != found.prefix_len);
    if wrong_nic || wrong_prefix {
        return AddressState::Misplaced {
            ifname,
            prefix_len: found.prefix_len,
        };
    }
    if found.dad_failed() {
        AddressState::DadFailed { ifname }
    } else if found.tentative() {
        AddressState::Tentative { ifname }
    } else {
        AddressState::Present {
            ifname,
            prefix_len: found.prefix_len,
            link_up: link.is_usable(),
        }
    }
}

/// Result of IPv6 duplicate address detection in [`add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DadOutcome {
    /// IPv4, or `nodad`.
    NotApplicable,
    /// The tentative flag cleared.
    Completed,
    /// Still tentative when the deadline came (e.g. no carrier yet); the address stays.
    StillTentative,
}

/// What [`add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// The address was already on the interface with this prefix; nothing was added.
    pub already_present: bool,
    pub dad: DadOutcome,
}

/// How often DAD progress is polled.
const DAD_POLL: Duration = Duration::from_millis(100);

/// Adds the address to `target` (`ip addr add IP/PREFIX [brd B] dev NIC [label L]
/// [preferred_lft T] [nodad] [noprefixroute]`), brings the link up if it is down, and for IPv6
/// waits for DAD until `deadline`. A DAD failure removes the address again and returns
/// [`NetError::DadFailed`].
pub fn add(spec: &AddressSpec, target: &Target, deadline: Deadline) -> Result<Added, NetError> {
    let mut nl = open()?;
    let index = target.link.index;
    let ifname = &target.link.name;
    let v6 = spec.is_ipv6();
    let here = nl
        .addresses(v6, Some(index), deadline)
        .map_err(|c| query(format!("list the addresses of {ifname}"), c))?;
    let what = format!("add {}/{} to {ifname}", spec.ip, target.prefix_len);
    let mut already_present = false;
    if let Some(a) = here
        .iter()
        .find(|a| a.ip == spec.ip && a.prefix_len == target.prefix_len)
    {
        if a.dad_failed() {
            // A stale failed attempt: the kernel would answer EEXIST forever. Try afresh.
            nl.delete_address(index, a.ip, a.prefix_len, deadline)
                .map_err(|c| query(format!("remove failed {} from {ifname}", spec.ip), c))?;
        } else {
            already_present = true;
        }
    }
    if !already_present {
        let label = match (&spec.iflabel, spec.ip) {
            (Some(suffix), IpAddr::V4(_)) => Some(validate::build_label(ifname, suffix)?),
            (Some(_), IpAddr::V6(_)) => return Err(ConfigError::LabelOnIpv6(spec.ip).into()),
            (None, _) => None,
        };
        let broadcast = match spec.ip {
            IpAddr::V4(ip) => pick_broadcast(ip, target.prefix_len, spec.broadcast, &here),
            IpAddr::V6(_) => None,
        };
        let req = rtnl::NewAddress {
            index,
            ip: spec.ip,
            prefix_len: target.prefix_len,
            broadcast,
            label,
            preferred_lft: spec.preferred_lft.as_kernel(),
            nodad: spec.nodad && v6,
            noprefixroute: spec.noprefixroute,
        };
        match nl.add_address(&req, deadline) {
            Ok(()) => {}
            Err(NetlinkCause::Kernel(Errno::EEXIST)) => already_present = true,
            Err(c) => return Err(query(what, c)),
        }
    }
    if !target.link.admin_up {
        nl.set_link_up(index, deadline)
            .map_err(|c| query(format!("bring {ifname} up"), c))?;
    }
    let dad = if v6 && !spec.nodad {
        wait_dad(&mut nl, spec.ip, target, deadline)?
    } else {
        DadOutcome::NotApplicable
    };
    Ok(Added {
        already_present,
        dad,
    })
}

/// Broadcast for a new IPv4 address: the explicit choice, or for `Inherit` the broadcast of
/// an address already on the interface in the same subnet (findif's behaviour), else none.
pub fn pick_broadcast(
    ip: Ipv4Addr,
    prefix_len: u8,
    choice: Broadcast,
    on_interface: &[Address],
) -> Option<Ipv4Addr> {
    if choice != Broadcast::Inherit {
        return validate::broadcast_for(ip, prefix_len, choice);
    }
    on_interface
        .iter()
        .filter(|a| a.prefix_len == prefix_len && a.ip != IpAddr::V4(ip))
        .filter(|a| validate::prefix_contains(a.ip, prefix_len, IpAddr::V4(ip)))
        .find_map(|a| a.broadcast)
}

fn wait_dad(
    nl: &mut Rtnl,
    ip: IpAddr,
    target: &Target,
    deadline: Deadline,
) -> Result<DadOutcome, NetError> {
    let ifname = &target.link.name;
    // Leave time for the last poll's own exchange and for removing the address on failure.
    let polling = deadline.reserve(DAD_POLL * 2);
    loop {
        let addrs = nl
            .addresses(true, Some(target.link.index), deadline)
            .map_err(|c| query(format!("check duplicate address detection of {ip}"), c))?;
        let Some(a) = addrs.iter().find(|a| a.ip == ip) else {
            return Err(NetError::Netlink {
                action: format!("keep {ip} on {ifname}"),
                cause: NetlinkCause::Kernel(Errno::EADDRNOTAVAIL),
            });
        };
        if a.dad_failed() {
            // Free the address for its rightful holder; a failure here changes nothing
            // about the verdict.
            let _ = nl.delete_address(a.index, a.ip, a.prefix_len, deadline);
            return Err(NetError::DadFailed {
                ip,
                ifname: ifname.clone(),
            });
        }
        if !a.tentative() {
            return Ok(DadOutcome::Completed);
        }
        if polling.remaining() < DAD_POLL {
            return Ok(DadOutcome::StillTentative);
        }
        std::thread::sleep(DAD_POLL);
    }
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The address was not there (or its interface is gone).
    WasAbsent,
    /// This many instances were deleted.
    Deleted(usize),
}

/// Removes the address: from `nic` when given (like IPaddr2, which deletes only there),
/// otherwise from every interface holding it. Idempotent.
pub fn remove(spec: &AddressSpec, deadline: Deadline) -> Result<Removed, NetError> {
    let mut nl = open()?;
    let index = match &spec.nic {
        Some(nic) => match nl
            .link_by_name(nic, deadline)
            .map_err(|c| query(format!("look up interface {nic}"), c))?
        {
            Some(l) => Some(l.index),
            None => return Ok(Removed::WasAbsent),
        },
        None => None,
    };
    let addrs = nl
        .addresses(spec.is_ipv6(), index, deadline)
        .map_err(|c| query(format!("list the addresses to find {}", spec.ip), c))?;
    let mut deleted = 0;
    for a in addrs.iter().filter(|a| a.ip == spec.ip) {
        match nl.delete_address(a.index, a.ip, a.prefix_len, deadline) {
            Ok(()) => deleted += 1,
            Err(NetlinkCause::Kernel(Errno::EADDRNOTAVAIL)) => {}
            Err(c) => {
                let name = spec
                    .nic
                    .clone()
                    .unwrap_or_else(|| format!("index {}", a.index));
                return Err(query(
                    format!("remove {}/{} from {name}", a.ip, a.prefix_len),
                    c,
                ));
            }
        }
    }
    Ok(if deleted == 0 {
        Removed::WasAbsent
    } else {
        Removed::Deleted(deleted)
    })
}

/// Which gratuitous ARP forms to send each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpForms {
    /// Requests only (send_arp, `arping -U`).
    Request,
    /// Replies only (`arping -A`).
    Reply,
    /// A request and a reply each round: neighbours that learn from only one form still update.
    Both,
}

impl ArpForms {
    fn ops(self) -> &'static [ArpOp] {
        match self {
            ArpForms::Request => &[ArpOp::Request],
            ArpForms::Reply => &[ArpOp::Reply],
            ArpForms::Both => &[ArpOp::Request, ArpOp::Reply],
        }
    }
}

/// Announcement settings (`arp_count`, `arp_interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceOpts {
    /// Rounds to send (IPaddr2 default 5).
    pub count: u32,
    /// Pause between rounds (IPaddr2 default 200 ms).
    pub interval: Duration,
    /// IPv4 only.
    pub arp_forms: ArpForms,
}

impl Default for AnnounceOpts {
    fn default() -> Self {
        AnnounceOpts {
            count: 5,
            interval: Duration::from_millis(200),
            arp_forms: ArpForms::Both,
        }
    }
}

/// What [`announce`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announced {
    /// This many packets went out (fewer than asked if the deadline came first).
    Sent(u32),
    /// The link does no neighbour resolution (loopback, NOARP, no MAC): nothing to tell.
    Skipped(&'static str),
}

/// Tells the neighbours that `ip` is now on `target`: gratuitous ARP for IPv4, unsolicited
/// Neighbour Advertisements (Override flag) for IPv6. Call after [`add`] (for IPv6 once DAD
/// completed). Blocks for about `count × interval`, never past `deadline`.
pub fn announce(
    ip: IpAddr,
    target: &Target,
    opts: &AnnounceOpts,
    deadline: Deadline,
) -> Result<Announced, NetError> {
    let link = &target.link;
    if link.no_arp {
        return Ok(Announced::Skipped(
            "the interface does no ARP or is loopback",
        ));
    }
    let Some(mac) = link.mac() else {
        return Ok(Announced::Skipped("the interface has no Ethernet address"));
    };
    if opts.count == 0 {
        return Ok(Announced::Sent(0));
    }
    let sent = match ip {
        IpAddr::V4(v4) => announce::send_gratuitous_arp(
            link.index,
            mac,
            v4,
            opts.arp_forms.ops(),
            opts.count,
            opts.interval,
            deadline,
        ),
        IpAddr::V6(v6) => {
            announce::send_unsolicited_na(link.index, mac, v6, opts.count, opts.interval, deadline)
        }
    };
    sent.map(Announced::Sent)
        .map_err(|cause| NetError::Announce {
            ip,
            ifname: link.name.clone(),
            cause,
        })
}

/// The state of one interface by name (for `check_link_status`); `None` if it does not exist.
pub fn link(name: &str, deadline: Deadline) -> Result<Option<Link>, NetError> {
    let mut nl = open()?;
    nl.link_by_name(name, deadline)
        .map_err(|c| query(format!("look up interface {name}"), c))
}

fn open() -> Result<Rtnl, NetError> {
    Rtnl::open().map_err(|c| query("open a netlink socket".to_string(), c))
}

fn query(action: String, cause: NetlinkCause) -> NetError {
    NetError::Netlink { action, cause }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(ip: &str) -> SpecParams<'_> {
        SpecParams {
            ip,
            ..Default::default()
        }
    }

    #[test]
    fn from_params_parses_every_field() {
        let s = AddressSpec::from_params(&SpecParams {
            ip: "192.0.2.10",
            cidr_netmask: Some("255.255.255.0"),
            nic: Some("eth0"),
            iflabel: Some("vip"),
            broadcast: Some("+"),
            preferred_lft: Some("0"),
            nodad: true,
            noprefixroute: true,
        })
        .unwrap();
        assert_eq!(s.prefix_len, Some(24));
        assert_eq!(s.nic.as_deref(), Some("eth0"));
        assert_eq!(s.iflabel.as_deref(), Some("vip"));
        assert_eq!(s.broadcast, Broadcast::HostBitsSet);
        assert_eq!(s.preferred_lft, Lifetime::Seconds(0));
        assert!(s.nodad && s.noprefixroute);
    }

    #[test]
    fn nic_label_form_wins_and_empty_means_unset() {
        let s = AddressSpec::from_params(&SpecParams {
            nic: Some("eth0:a"),
            iflabel: Some("b"),
            cidr_netmask: Some(""),
            broadcast: Some(""),
            ..params("192.0.2.10")
        })
        .unwrap();
        assert_eq!(s.nic.as_deref(), Some("eth0"));
        assert_eq!(s.iflabel.as_deref(), Some("a"));
        assert_eq!(s.prefix_len, None);
        assert_eq!(s.broadcast, Broadcast::Inherit);
    }

    #[test]
    fn cross_field_rules() {
        let e = |p: SpecParams<'_>| AddressSpec::from_params(&p).unwrap_err();
        assert!(matches!(
            e(SpecParams {
                iflabel: Some("x"),
                ..params("2001:db8::1")
            }),
            ConfigError::LabelOnIpv6(_)
        ));
        assert!(matches!(
            e(SpecParams {
                broadcast: Some("192.0.2.255"),
                ..params("2001:db8::1")
            }),
            ConfigError::BroadcastOnIpv6(_)
        ));
        assert!(matches!(
            e(params("fe80::10")),
            ConfigError::LinkLocalNeedsNic(_)
        ));
        assert!(matches!(
            e(SpecParams {
                nic: Some("verylongname0"),
                iflabel: Some("abc"),
                ..params("192.0.2.1")
            }),
            ConfigError::InvalidLabel { .. }
        ));
        assert!(matches!(
            e(SpecParams {
                cidr_netmask: Some("33"),
                ..params("192.0.2.1")
            }),
            ConfigError::InvalidNetmask { .. }
        ));
        assert!(AddressSpec::from_params(&SpecParams {
            nic: Some("eth0"),
            ..params("fe80::10")
        })
        .is_ok());
        // '+' and '-' are harmless for IPv6 and ignored, as IPaddr2 does.
        assert!(AddressSpec::from_params(&SpecParams {
            broadcast: Some("+"),
            ..params("2001:db8::1")
        })
        .is_ok());
    }

    fn link(index: u32, name: &str, up: bool) -> Link {
        Link {
            index,
            name: name.into(),
            admin_up: up,
            carrier: up,
            oper: OperState::Up,
            no_arp: false,
            ethernet: true,
            hw_addr: vec![2, 0, 0, 0, 0, 1],
        }
    }

    fn addr(index: u32, ip: &str, prefix_len: u8, flags: u32) -> Address {
        Address {
            index,
            ip: ip.parse().unwrap(),
            prefix_len,
            label: None,
            broadcast: None,
            flags,
        }
    }

    #[test]
    fn classify_covers_every_state() {
        let mut spec = AddressSpec::new("2001:db8::10".parse().unwrap());
        let l = link(3, "eth0", true);
        let present = addr(3, "2001:db8::10", 64, 0x80);
        assert_eq!(
            classify(&spec, None, &present, &l),
            AddressState::Present {
                ifname: "eth0".into(),
                prefix_len: 64,
                link_up: true
            }
        );
        assert_eq!(
            classify(&spec, None, &present, &link(3, "eth0", false)),
            AddressState::Present {
                ifname: "eth0".into(),
                prefix_len: 64,
                link_up: false
            }
        );
        assert_eq!(
            classify(&spec, None, &addr(3, "2001:db8::10", 64, 0x40), &l),
            AddressState::Tentative {
                ifname: "eth0".into()
            }
        );
        assert_eq!(
            classify(&spec, None, &addr(3, "2001:db8::10", 64, 0x48), &l),
            AddressState::DadFailed {
                ifname: "eth0".into()
            }
        );
        spec.prefix_len = Some(48);
        assert_eq!(
            classify(&spec, None, &present, &l),
            AddressState::Misplaced {
                ifname: "eth0".into(),
                prefix_len: 64
            }
        );
        spec.prefix_len = None;
        assert!(matches!(
            classify(&spec, Some(4), &present, &l),
            AddressState::Misplaced { .. }
        ));
    }

    #[test]
    fn broadcast_is_inherited_from_a_sibling_in_the_subnet() {
        let ip = Ipv4Addr::new(192, 0, 2, 10);
        let mut sibling = addr(3, "192.0.2.1", 24, 0x80);
        sibling.broadcast = Some(Ipv4Addr::new(192, 0, 2, 255));
        let mut other = addr(3, "198.51.100.1", 24, 0x80);
        other.broadcast = Some(Ipv4Addr::new(198, 51, 100, 255));
        let here = [other.clone(), sibling.clone()];
        assert_eq!(
            pick_broadcast(ip, 24, Broadcast::Inherit, &here),
            Some(Ipv4Addr::new(192, 0, 2, 255))
        );
        assert_eq!(pick_broadcast(ip, 25, Broadcast::Inherit, &here), None);
        assert_eq!(pick_broadcast(ip, 24, Broadcast::Inherit, &[other]), None);
        assert_eq!(
            pick_broadcast(ip, 24, Broadcast::HostBitsCleared, &here),
            Some(Ipv4Addr::new(192, 0, 2, 0))
        );
    }

    #[test]
    fn errors_read_as_one_sentence_naming_the_subject() {
        let e = NetError::DadFailed {
            ip: "2001:db8::10".parse().unwrap(),
            ifname: "eth0".into(),
        };
        let s = e.to_string();
        assert!(s.contains("2001:db8::10") && s.contains("eth0") && !s.contains('\n'));
        let e = NetError::Netlink {
            action: "add 192.0.2.10/24 to eth0".into(),
            cause: NetlinkCause::Kernel(Errno::EPERM),
        };
        assert_eq!(
            e.to_string(),
            "could not add 192.0.2.10/24 to eth0: the kernel answered Operation not permitted"
        );
        let e = NetError::NoConnectedRoute {
            ip: "192.0.2.10".parse().unwrap(),
            nic: None,
        };
        assert_eq!(
            e.to_string(),
            "no connected route contains 192.0.2.10: set nic and cidr_netmask"
        );
    }
}
