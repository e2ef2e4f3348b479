//! A blocking rtnetlink session: one `NETLINK_ROUTE` socket, requests built with
//! `netlink-packet-route`'s typed messages, replies decoded field by field.
//!
//! Replies are read through the crate's bounds-checked buffers, and only the attributes Bulwark
//! uses are interpreted: an attribute a newer kernel adds, or one the crate cannot parse, can
//! never fail a monitor. Every wait is a `poll` bounded by the caller's [`Deadline`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressMessageBuffer,
    CacheInfo,
};
use netlink_packet_route::link::{
    LinkAttribute, LinkExtentMask, LinkFlags, LinkMessage, LinkMessageBuffer,
};
use netlink_packet_route::route::{RouteAttribute, RouteMessage, RouteMessageBuffer, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::error::NetlinkCause;
use crate::deadline::Deadline;

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RT_TABLE_MAIN: u8 = 254;
const ARPHRD_ETHER: u16 = 1;

/// Large enough for any rtnetlink datagram the kernel sends to a 32 KiB reader.
const RECV_BUF: usize = 64 * 1024;

/// RFC 2863 operational state of a link, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
    Other(u8),
}

impl From<u8> for OperState {
    fn from(v: u8) -> Self {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            o => OperState::Other(o),
        }
    }
}

/// What the kernel says about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Carrier present and device running (`IFF_LOWER_UP`); implies `admin_up`.
    pub carrier: bool,
    pub oper: OperState,
    /// `IFF_NOARP` or `IFF_LOOPBACK`: no neighbour resolution on this link.
    pub no_arp: bool,
    /// Link-layer type is Ethernet (`ARPHRD_ETHER`); veth, bonds and VLANs are.
    pub ethernet: bool,
    /// The device's current hardware address (empty when it has none).
    pub hw_addr: Vec<u8>,
}

impl Link {
    /// Usable for a service address: administratively up with carrier. Operstate is not used
    /// because drivers such as dummy or tun report `UNKNOWN` while passing traffic.
    pub fn is_usable(&self) -> bool {
        self.admin_up && self.carrier
    }

    /// The 6-byte MAC, when the link is Ethernet-like.
    pub fn mac(&self) -> Option<[u8; 6]> {
        if !self.ethernet {
            return None;
        }
        <[u8; 6]>::try_from(self.hw_addr.as_slice()).ok()
    }
}

/// One address as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    /// Raw `IFA_F_*` flags (the 32-bit attribute when present, else the header byte).
    pub flags: u32,
}

impl Address {
    pub fn tentative(&self) -> bool {
        self.flags & AddressFlags::Tentative.bits() != 0
    }

    pub fn dad_failed(&self) -> bool {
        self.flags & AddressFlags::Dadfailed.bits() != 0
    }
}

/// A connected route (no gateway) from the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedRoute {
    pub dst: IpAddr,
    pub prefix_len: u8,
    pub oif: u32,
    pub metric: u32,
    pub pref_src: Option<IpAddr>,
}

/// What to put in an `RTM_NEWADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAddress {
    pub index: u32,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    /// Preferred lifetime in seconds, `u32::MAX` for forever.
    pub preferred_lft: u32,
    pub nodad: bool,
    pub noprefixroute: bool,
}

/// A failed exchange, before the caller adds what it was doing.
pub type RtnlResult<T> = Result<T, NetlinkCause>;

/// One rtnetlink socket. Open one per agent action; every method is one request/reply
/// exchange on it.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    /// Opens and binds the socket. Strict checking is requested so that dumps can be filtered
    /// by the kernel (by interface, table); older kernels ignore it and the replies are
    /// filtered here as well.
    pub fn open() -> RtnlResult<Rtnl> {
        let sys = |e: std::io::Error| {
            NetlinkCause::Socket(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        };
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(sys)?;
        sock.bind_auto().map_err(sys)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(sys)?;
        let _ = sock.set_netlink_get_strict_chk(true);
        Ok(Rtnl {
            sock,
            seq: 0,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// `RTM_GETLINK` by name (the kernel also resolves alternative names).
    pub fn link_by_name(&mut self, name: &str, deadline: Deadline) -> RtnlResult<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        self.get_link(msg, deadline)
    }

    /// `RTM_GETLINK` by index.
    pub fn link_by_index(&mut self, index: u32, deadline: Deadline) -> RtnlResult<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        self.get_link(msg, deadline)
    }

    fn get_link(&mut self, msg: LinkMessage, deadline: Deadline) -> RtnlResult<Option<Link>> {
        let mut found = None;
        let r = self.exchange(
            RouteNetlinkMessage::GetLink(msg),
            NLM_F_REQUEST | NLM_F_ACK,
            deadline,
            |kind, payload| {
                if kind == RTM_NEWLINK && found.is_none() {
                    found = Some(parse_link(payload)?);
                }
                Ok(())
            },
        );
        match r {
            Ok(()) => Ok(found),
            Err(NetlinkCause::Kernel(Errno::ENODEV)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets the link administratively up (`ip link set NIC up`).
    pub fn set_link_up(&mut self, index: u32, deadline: Deadline) -> RtnlResult<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.exchange(
            RouteNetlinkMessage::SetLink(msg),
            NLM_F_REQUEST | NLM_F_ACK,
            deadline,
            |_, _| Ok(()),
        )
    }

    /// Lists the addresses of one family, on one interface when `index` is given.
    pub fn addresses(
        &mut self,
        ipv6: bool,
        index: Option<u32>,
        deadline: Deadline,
    ) -> RtnlResult<Vec<Address>> {
        let mut msg = AddressMessage::default();
        msg.header.family = family(ipv6);
        msg.header.index = index.unwrap_or(0);
        let mut out = Vec::new();
        self.exchange(
            RouteNetlinkMessage::GetAddress(msg),
            NLM_F_REQUEST | NLM_F_DUMP,
            deadline,
            |kind, payload| {
                if kind == RTM_NEWADDR {
                    if let Some(a) = parse_address(payload)? {
                        if index.is_none_or_eq(a.index) && a.ip.is_ipv6() == ipv6 {
                            out.push(a);
                        }
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Adds an address. `EEXIST` comes back as `Kernel(EEXIST)` for the caller to judge.
    pub fn add_address(&mut self, a: &NewAddress, deadline: Deadline) -> RtnlResult<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = family(a.ip.is_ipv6());
        msg.header.prefix_len = a.prefix_len;
        msg.header.index = a.index;
        let mut flags = AddressFlags::empty();
        if a.nodad {
            flags |= AddressFlags::Nodad;
            msg.header.flags = AddressHeaderFlags::Nodad;
        }
        if a.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        msg.attributes.push(AddressAttribute::Local(a.ip));
        msg.attributes.push(AddressAttribute::Address(a.ip));
        if let (Some(b), IpAddr::V4(_)) = (a.broadcast, a.ip) {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let (Some(l), IpAddr::V4(_)) = (&a.label, a.ip) {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if a.preferred_lft != u32::MAX {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = a.preferred_lft;
            ci.ifa_valid = u32::MAX;
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        if !flags.is_empty() {
            msg.attributes.push(AddressAttribute::Flags(flags));
        }
        self.exchange(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            deadline,
            |_, _| Ok(()),
        )
    }

    /// Deletes one address (exact interface and prefix length, as IPv6 requires).
    /// `EADDRNOTAVAIL` means it was not there.
    pub fn delete_address(
        &mut self,
        index: u32,
        ip: IpAddr,
        prefix_len: u8,
        deadline: Deadline,
    ) -> RtnlResult<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = family(ip.is_ipv6());
        msg.header.prefix_len = prefix_len;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(ip));
        msg.attributes.push(AddressAttribute::Address(ip));
        self.exchange(
            RouteNetlinkMessage::DelAddress(msg),
            NLM_F_REQUEST | NLM_F_ACK,
            deadline,
            |_, _| Ok(()),
        )
    }

    /// Connected unicast routes (no gateway) of the main table, on one interface when `oif`
    /// is given: the routes findif consults.
    pub fn connected_routes(
        &mut self,
        ipv6: bool,
        oif: Option<u32>,
        deadline: Deadline,
    ) -> RtnlResult<Vec<ConnectedRoute>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = family(ipv6);
        msg.header.table = RT_TABLE_MAIN;
        msg.header.kind = RouteType::Unicast;
        if let Some(oif) = oif {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        let mut out = Vec::new();
        self.exchange(
            RouteNetlinkMessage::GetRoute(msg),
            NLM_F_REQUEST | NLM_F_DUMP,
            deadline,
            |kind, payload| {
                if kind == RTM_NEWROUTE {
                    if let Some(r) = parse_connected_route(payload, ipv6)? {
                        if oif.is_none_or_eq(r.oif) {
                            out.push(r);
                        }
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Sends one request and feeds every reply message of that sequence number to `on_msg`
    /// until the ACK (plain requests) or `NLMSG_DONE` (dumps).
    fn exchange(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        deadline: Deadline,
        mut on_msg: impl FnMut(u16, &[u8]) -> RtnlResult<()>,
    ) -> RtnlResult<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        nl.finalize();
        let mut out = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut out);
        let sent = self
            .sock
            .send(&out, 0)
            .map_err(|e| NetlinkCause::Socket(io_errno(&e)))?;
        if sent != out.len() {
            return Err(NetlinkCause::Socket(Errno::EMSGSIZE));
        }
        loop {
            let n = self.recv(deadline)?;
            let mut off = 0;
            while off < n {
                let chunk = &self.buf[off..n];
                let nb = NetlinkBuffer::new_checked(chunk)
                    .map_err(|_| NetlinkCause::Malformed("netlink header"))?;
                let len = nb.length() as usize;
                let kind = nb.message_type();
                let msg_seq = nb.sequence_number();
                let payload = nb.payload();
                off += (len + 3) & !3;
                if msg_seq != seq {
                    continue; // a stale reply to an earlier request that timed out
                }
                match kind {
                    NLMSG_NOOP => {}
                    NLMSG_OVERRUN => return Err(NetlinkCause::Malformed("overrun")),
                    NLMSG_ERROR => {
                        let code = read_i32(payload, "error code")?;
                        return if code == 0 {
                            Ok(())
                        } else {
                            Err(NetlinkCause::Kernel(Errno::from_raw(-code)))
                        };
                    }
                    NLMSG_DONE => {
                        // A dump may end with an error code in place of the results.
                        let code = if payload.len() >= 4 {
                            read_i32(payload, "done code")?
                        } else {
                            0
                        };
                        return if code < 0 {
                            Err(NetlinkCause::Kernel(Errno::from_raw(-code)))
                        } else {
                            Ok(())
                        };
                    }
                    // A plain GET is answered by its message then the ACK asked for, so
                    // both kinds of request end on ERROR/DONE above.
                    other => on_msg(other, payload)?,
                }
            }
        }
    }

    fn recv(&mut self, deadline: Deadline) -> RtnlResult<usize> {
        loop {
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(NetlinkCause::TimedOut);
            }
            // Round up so that a sub-millisecond remainder still waits rather than spins.
            let ms = remaining
                .as_millis()
                .saturating_add(1)
                .min(i32::MAX as u128) as i32;
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Err(NetlinkCause::TimedOut),
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(NetlinkCause::Socket(e)),
            }
            // SAFETY: the pointer and length describe `self.buf`, which outlives the call.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                match Errno::last() {
                    Errno::EINTR | Errno::EAGAIN => continue,
                    e => return Err(NetlinkCause::Socket(e)),
                }
            }
            let n = n as usize;
            if n > self.buf.len() {
                return Err(NetlinkCause::Malformed(
                    "reply larger than the receive buffer",
                ));
            }
            return Ok(n);
        }
    }
}

trait OptEq {
    fn is_none_or_eq(&self, v: u32) -> bool;
}

impl OptEq for Option<u32> {
    fn is_none_or_eq(&self, v: u32) -> bool {
        self.is_none_or(|x| x == v)
    }
}

fn family(ipv6: bool) -> AddressFamily {
    if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The first `N` bytes of an attribute, or a malformed-reply error naming `what`.
fn read_array<const N: usize>(b: &[u8], what: &'static str) -> RtnlResult<[u8; N]> {
    b.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or(NetlinkCause::Malformed(what))
}

fn read_i32(b: &[u8], what: &'static str) -> RtnlResult<i32> {
    read_array(b, what).map(i32::from_ne_bytes)
}

fn read_u32(b: &[u8], what: &'static str) -> RtnlResult<u32> {
    read_array(b, what).map(u32::from_ne_bytes)
}

fn read_ip(b: &[u8], ipv6: bool, what: &'static str) -> RtnlResult<IpAddr> {
    if ipv6 {
        read_array::<16>(b, what).map(|a| IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        read_array::<4>(b, what).map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    }
}

fn read_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Decodes an `RTM_NEWLINK` payload.
pub(crate) fn parse_link(payload: &[u8]) -> RtnlResult<Link> {
    let buf = LinkMessageBuffer::new_checked(payload)
        .map_err(|_| NetlinkCause::Malformed("link header"))?;
    let flags = buf.flags();
    let mut link = Link {
        index: buf.link_index(),
        name: String::new(),
        admin_up: flags & LinkFlags::Up.bits() != 0,
        carrier: flags & LinkFlags::LowerUp.bits() != 0,
        oper: OperState::Unknown,
        no_arp: flags & (LinkFlags::Noarp.bits() | LinkFlags::Loopback.bits()) != 0,
        ethernet: buf.link_layer_type() == ARPHRD_ETHER,
        hw_addr: Vec::new(),
    };
    for nla in buf.attributes() {
        let nla = nla.map_err(|_| NetlinkCause::Malformed("link attribute"))?;
        let v = nla.value();
        match nla.kind() {
            IFLA_IFNAME => link.name = read_string(v),
            IFLA_ADDRESS => link.hw_addr = v.to_vec(),
            IFLA_OPERSTATE => {
                if let Some(&s) = v.first() {
                    link.oper = OperState::from(s);
                }
            }
            _ => {}
        }
    }
    Ok(link)
}

/// Decodes an `RTM_NEWADDR` payload; `None` for families other than IPv4/IPv6.
pub(crate) fn parse_address(payload: &[u8]) -> RtnlResult<Option<Address>> {
    let buf = AddressMessageBuffer::new_checked(payload)
        .map_err(|_| NetlinkCause::Malformed("address header"))?;
    let ipv6 = match buf.family() {
        f if f == libc::AF_INET as u8 => false,
        f if f == libc::AF_INET6 as u8 => true,
        _ => return Ok(None),
    };
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut flags = u32::from(buf.flags());
    for nla in buf.attributes() {
        let nla = nla.map_err(|_| NetlinkCause::Malformed("address attribute"))?;
        let v = nla.value();
        match nla.kind() {
            IFA_LOCAL => local = Some(read_ip(v, ipv6, "IFA_LOCAL")?),
            IFA_ADDRESS => address = Some(read_ip(v, ipv6, "IFA_ADDRESS")?),
            IFA_LABEL => label = Some(read_string(v)),
            IFA_BROADCAST if !ipv6 => {
                if let IpAddr::V4(b) = read_ip(v, false, "IFA_BROADCAST")? {
                    broadcast = Some(b);
                }
            }
            IFA_FLAGS => flags = read_u32(v, "IFA_FLAGS")?,
            _ => {}
        }
    }
    // IFA_LOCAL is our own address; IFA_ADDRESS is the peer on point-to-point links.
    let Some(ip) = local.or(address) else {
        return Ok(None);
    };
    Ok(Some(Address {
        index: buf.index(),
        ip,
        prefix_len: buf.prefix_len(),
        label,
        broadcast,
        flags,
    }))
}

/// Decodes an `RTM_NEWROUTE` payload and keeps it only if it is a connected unicast route of
/// the main table with a destination prefix of 1 bit or more, below a host route: findif
/// ignores default and host routes when deriving a netmask.
pub(crate) fn parse_connected_route(
    payload: &[u8],
    ipv6: bool,
) -> RtnlResult<Option<ConnectedRoute>> {
    let buf = RouteMessageBuffer::new_checked(payload)
        .map_err(|_| NetlinkCause::Malformed("route header"))?;
    let want_family = if ipv6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
    if buf.address_family() != want_family || buf.kind() != u8::from(RouteType::Unicast) {
        return Ok(None);
    }
    let prefix_len = buf.destination_prefix_length();
    let max = if ipv6 { 128 } else { 32 };
    if prefix_len == 0 || prefix_len >= max {
        return Ok(None);
    }
    // IPv4 connected routes have link scope (findif asks for `scope link`).
    if !ipv6 && buf.scope() != 253 {
        return Ok(None);
    }
    let mut table = u32::from(buf.table());
    let mut dst = None;
    let mut oif = None;
    let mut metric = 0;
    let mut pref_src = None;
    for nla in buf.attributes() {
        let nla = nla.map_err(|_| NetlinkCause::Malformed("route attribute"))?;
        let v = nla.value();
        match nla.kind() {
            RTA_DST => dst = Some(read_ip(v, ipv6, "RTA_DST")?),
            RTA_OIF => oif = Some(read_u32(v, "RTA_OIF")?),
            RTA_PRIORITY => metric = read_u32(v, "RTA_PRIORITY")?,
            RTA_PREFSRC => pref_src = Some(read_ip(v, ipv6, "RTA_PREFSRC")?),
            RTA_TABLE => table = read_u32(v, "RTA_TABLE")?,
            RTA_GATEWAY | RTA_VIA | RTA_MULTIPATH => return Ok(None),
            _ => {}
        }
    }
    if table != u32::from(RT_TABLE_MAIN) {
        return Ok(None);
    }
    match (dst, oif) {
        (Some(dst), Some(oif)) => Ok(Some(ConnectedRoute {
            dst,
            prefix_len,
            oif,
            metric,
            pref_src,
        })),
        _ => Ok(None),
    }
}

/// Picks the route findif would: the longest prefix containing `ip`, no longer than
/// `max_prefix` when a netmask was given; among equals the lowest metric, then the first.
pub fn best_route(
    routes: &[ConnectedRoute],
    ip: IpAddr,
    max_prefix: Option<u8>,
) -> Option<&ConnectedRoute> {
    let mut best: Option<&ConnectedRoute> = None;
    for r in routes {
        if !super::validate::prefix_contains(r.dst, r.prefix_len, ip) {
            continue;
        }
        if max_prefix.is_some_and(|m| r.prefix_len > m) {
            continue;
        }
        best = match best {
            None => Some(r),
            Some(b)
                if r.prefix_len > b.prefix_len
                    || (r.prefix_len == b.prefix_len && r.metric < b.metric) =>
            {
                Some(r)
            }
            keep => keep,
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: &str, len: u8, oif: u32, metric: u32) -> ConnectedRoute {
        ConnectedRoute {
            dst: dst.parse().unwrap(),
            prefix_len: len,
            oif,
            metric,
            pref_src: None,
        }
    }

    #[test]
    fn best_route_is_longest_prefix_then_lowest_metric() {
        let routes = vec![
            route("192.0.2.0", 24, 2, 0),
            route("192.0.0.0", 16, 3, 0),
            route("198.51.100.0", 24, 4, 0),
            route("192.0.2.0", 25, 5, 100),
            route("192.0.2.0", 25, 6, 50),
        ];
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(best_route(&routes, ip, None).map(|r| r.oif), Some(6));
        assert_eq!(best_route(&routes, ip, Some(24)).map(|r| r.oif), Some(2));
        assert_eq!(best_route(&routes, ip, Some(20)).map(|r| r.oif), Some(3));
        assert_eq!(best_route(&routes, ip, Some(8)), None);
        assert_eq!(
            best_route(&routes, "203.0.113.1".parse().unwrap(), None),
            None
        );
        assert_eq!(
            best_route(&routes, "2001:db8::1".parse().unwrap(), None),
            None
        );
    }

    /// Builds a netlink attribute (type, value) padded to 4 bytes.
    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((value.len() + 4) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn address_payload_decodes_flags_label_and_broadcast() {
        let mut p = vec![libc::AF_INET as u8, 24, 0x80, 0];
        p.extend_from_slice(&7u32.to_ne_bytes());
        p.extend(nla(IFA_ADDRESS, &[192, 0, 2, 10]));
        p.extend(nla(IFA_LOCAL, &[192, 0, 2, 10]));
        p.extend(nla(IFA_LABEL, b"eth0:vip\0"));
        p.extend(nla(IFA_BROADCAST, &[192, 0, 2, 255]));
        p.extend(nla(IFA_FLAGS, &0x0000_0240u32.to_ne_bytes()));
        p.extend(nla(99, &[1, 2, 3])); // unknown attributes are skipped
        let a = parse_address(&p).unwrap().unwrap();
        assert_eq!(a.index, 7);
        assert_eq!(a.ip, "192.0.2.10".parse::<IpAddr>().unwrap());
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.label.as_deref(), Some("eth0:vip"));
        assert_eq!(a.broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert!(a.tentative());
        assert!(!a.dad_failed());
        // Truncated input is an error, never a panic.
        for n in 0..p.len() {
            let _ = parse_address(&p[..n]);
        }
        assert!(parse_address(&p[..3]).is_err());
    }

    #[test]
    fn address_with_short_ip_attribute_is_malformed() {
        let mut p = vec![libc::AF_INET6 as u8, 64, 0, 0];
        p.extend_from_slice(&3u32.to_ne_bytes());
        p.extend(nla(IFA_ADDRESS, &[0x20, 0x01, 0x0d, 0xb8]));
        assert!(parse_address(&p).is_err());
    }

    #[test]
    fn route_payload_filters_like_findif() {
        let header = |family: i32, len: u8, scope: u8, kind: u8| {
            let mut p = vec![family as u8, len, 0, 0, RT_TABLE_MAIN, 2, scope, kind];
            p.extend_from_slice(&0u32.to_ne_bytes());
            p
        };
        let mut p = header(libc::AF_INET, 24, 253, 1);
        p.extend(nla(RTA_DST, &[192, 0, 2, 0]));
        p.extend(nla(RTA_OIF, &4u32.to_ne_bytes()));
        p.extend(nla(RTA_PREFSRC, &[192, 0, 2, 1]));
        let r = parse_connected_route(&p, false).unwrap().unwrap();
        assert_eq!((r.prefix_len, r.oif), (24, 4));
        assert_eq!(r.pref_src, Some("192.0.2.1".parse().unwrap()));

        let mut gw = header(libc::AF_INET, 24, 0, 1);
        gw.extend(nla(RTA_DST, &[192, 0, 2, 0]));
        gw.extend(nla(RTA_OIF, &4u32.to_ne_bytes()));
        assert_eq!(
            parse_connected_route(&gw, false).unwrap(),
            None,
            "scope universe"
        );
        let mut gw = header(libc::AF_INET6, 64, 0, 1);
        gw.extend(nla(
            RTA_DST,
            &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ));
        gw.extend(nla(RTA_OIF, &4u32.to_ne_bytes()));
        assert!(parse_connected_route(&gw, true).unwrap().is_some());
        gw.extend(nla(
            RTA_GATEWAY,
            &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ));
        assert_eq!(parse_connected_route(&gw, true).unwrap(), None, "gateway");
        let mut host = header(libc::AF_INET, 32, 253, 1);
        host.extend(nla(RTA_DST, &[192, 0, 2, 9]));
        host.extend(nla(RTA_OIF, &4u32.to_ne_bytes()));
        assert_eq!(
            parse_connected_route(&host, false).unwrap(),
            None,
            "host route"
        );
        let local = header(libc::AF_INET, 24, 253, 2);
        assert_eq!(
            parse_connected_route(&local, false).unwrap(),
            None,
            "type local"
        );
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes() {
        // A small xorshift generator: deterministic, no extra dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Bias towards plausible families and attribute lengths so parsing goes deep.
            if let Some(b) = p.first_mut() {
                *b = [libc::AF_INET as u8, libc::AF_INET6 as u8, 0][(next() % 3) as usize];
            }
            let _ = parse_address(&p);
            let _ = parse_link(&p);
            let _ = parse_connected_route(&p, false);
            let _ = parse_connected_route(&p, true);
        }
    }

    #[test]
    fn link_payload_decodes_state_and_mac() {
        let mut p = vec![0u8, 0];
        p.extend_from_slice(&ARPHRD_ETHER.to_ne_bytes());
        p.extend_from_slice(&9u32.to_ne_bytes());
        p.extend_from_slice(&(LinkFlags::Up.bits() | LinkFlags::LowerUp.bits()).to_ne_bytes());
        p.extend_from_slice(&0u32.to_ne_bytes());
        p.extend(nla(IFLA_IFNAME, b"blw-va\0"));
        p.extend(nla(IFLA_ADDRESS, &[2, 0, 0, 0, 0, 9]));
        p.extend(nla(IFLA_OPERSTATE, &[6]));
        let l = parse_link(&p).unwrap();
        assert_eq!(l.index, 9);
        assert_eq!(l.name, "blw-va");
        assert!(l.is_usable());
        assert_eq!(l.oper, OperState::Up);
        assert_eq!(l.mac(), Some([2, 0, 0, 0, 0, 9]));
        assert!(parse_link(&p[..10]).is_err());
    }
}
