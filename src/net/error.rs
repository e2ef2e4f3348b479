//! Typed failures of the `net` module.
//!
//! Every variant prints as one sentence that names the address or interface concerned, so an
//! agent can hand it to Pacemaker as the exit reason unchanged. The module never chooses an exit
//! code: [`ConfigError`] is a problem with the parameters (the agent maps it to
//! `OCF_ERR_CONFIGURED`), [`NetError`] a problem met on the host.

use std::fmt;
use std::net::IpAddr;

use nix::errno::Errno;

/// A parameter value that can never work, found without touching the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `ip` is not an IPv4 or IPv6 address.
    InvalidIp(String),
    /// `ip` parses but cannot be a service address (unspecified, multicast, broadcast, 0/8).
    UnusableIp(IpAddr, &'static str),
    /// `cidr_netmask` is neither a prefix length in range nor (IPv4) a contiguous dotted quad.
    InvalidNetmask { value: String, ipv6: bool },
    /// `nic` breaks the kernel's interface-name rules.
    InvalidInterfaceName { name: String, why: &'static str },
    /// `iflabel` breaks the kernel's label rules.
    InvalidLabel { label: String, why: &'static str },
    /// Labels exist for IPv4 addresses only.
    LabelOnIpv6(IpAddr),
    /// `broadcast` is not `+`, `-` or an IPv4 address.
    InvalidBroadcast(String),
    /// An explicit broadcast address was given for an IPv6 address.
    BroadcastOnIpv6(IpAddr),
    /// `preferred_lft` is not `forever` or a number of seconds.
    InvalidLifetime(String),
    /// A link-local IPv6 address is ambiguous without an interface.
    LinkLocalNeedsNic(IpAddr),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidIp(s) => write!(f, "ip [{s}] is not an IPv4 or IPv6 address"),
            ConfigError::UnusableIp(ip, why) => {
                write!(f, "ip [{ip}] cannot be a service address: it is {why}")
            }
            ConfigError::InvalidNetmask { value, ipv6: false } => write!(
                f,
                "cidr_netmask [{value}] must be a prefix length from 1 to 32 or a contiguous dotted-quad netmask"
            ),
            ConfigError::InvalidNetmask { value, ipv6: true } => write!(
                f,
                "cidr_netmask [{value}] must be a prefix length from 1 to 128 for an IPv6 address"
            ),
            ConfigError::InvalidInterfaceName { name, why } => {
                write!(f, "interface name [{name}] is invalid: {why}")
            }
            ConfigError::InvalidLabel { label, why } => {
                write!(f, "interface label [{label}] is invalid: {why}")
            }
            ConfigError::LabelOnIpv6(ip) => write!(
                f,
                "label cannot be used with IPv6 address {ip}: labels exist for IPv4 only"
            ),
            ConfigError::InvalidBroadcast(s) => write!(
                f,
                "broadcast [{s}] must be '+', '-' or an IPv4 address"
            ),
            ConfigError::BroadcastOnIpv6(ip) => write!(
                f,
                "broadcast cannot be set for IPv6 address {ip}: IPv6 has no broadcast"
            ),
            ConfigError::InvalidLifetime(s) => write!(
                f,
                "preferred_lft [{s}] must be 'forever' or a number of seconds below 4294967295"
            ),
            ConfigError::LinkLocalNeedsNic(ip) => {
                write!(f, "nic is required for link-local address {ip}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why a netlink exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetlinkCause {
    /// The kernel answered with this errno.
    Kernel(Errno),
    /// The socket itself failed.
    Socket(Errno),
    /// The deadline passed before the kernel answered.
    TimedOut,
    /// The kernel's reply could not be decoded.
    Malformed(&'static str),
}

impl fmt::Display for NetlinkCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkCause::Kernel(e) => write!(f, "the kernel answered {}", e.desc()),
            NetlinkCause::Socket(e) => write!(f, "netlink socket error: {}", e.desc()),
            NetlinkCause::TimedOut => write!(f, "no answer from the kernel before the deadline"),
            NetlinkCause::Malformed(what) => write!(f, "malformed kernel reply ({what})"),
        }
    }
}

/// A failure met while managing or announcing an address on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Parameters that can never work (also raised late, e.g. a label too long for the
    /// interface found from the routing table).
    Config(ConfigError),
    /// The named interface does not exist in this network namespace.
    NoSuchInterface(String),
    /// The interface index seen in an address or route no longer exists.
    InterfaceVanished(u32),
    /// No connected route contains the address, so neither nic nor netmask can be derived.
    NoConnectedRoute { ip: IpAddr, nic: Option<String> },
    /// A netlink request failed; `action` says what was being done.
    Netlink { action: String, cause: NetlinkCause },
    /// IPv6 duplicate address detection found the address in use elsewhere; the address was
    /// removed again.
    DadFailed { ip: IpAddr, ifname: String },
    /// The interface cannot carry ARP or neighbour advertisements.
    NotAnnounceable { ifname: String, why: &'static str },
    /// Sending an announcement packet failed.
    Announce {
        ip: IpAddr,
        ifname: String,
        cause: Errno,
    },
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Config(c) => c.fmt(f),
            NetError::NoSuchInterface(name) => {
                write!(
                    f,
                    "interface {name} does not exist in this network namespace"
                )
            }
            NetError::InterfaceVanished(index) => {
                write!(f, "interface with index {index} disappeared while in use")
            }
            NetError::NoConnectedRoute { ip, nic: None } => write!(
                f,
                "no connected route contains {ip}: set nic and cidr_netmask"
            ),
            NetError::NoConnectedRoute { ip, nic: Some(nic) } => write!(
                f,
                "no connected route on {nic} contains {ip}: set cidr_netmask"
            ),
            NetError::Netlink { action, cause } => write!(f, "could not {action}: {cause}"),
            NetError::DadFailed { ip, ifname } => write!(
                f,
                "duplicate address detection failed for {ip} on {ifname}: another host uses it"
            ),
            NetError::NotAnnounceable { ifname, why } => {
                write!(f, "cannot announce on {ifname}: {why}")
            }
            NetError::Announce { ip, ifname, cause } => {
                write!(f, "could not announce {ip} on {ifname}: {}", cause.desc())
            }
        }
    }
}

impl std::error::Error for NetError {}

impl From<ConfigError> for NetError {
    fn from(e: ConfigError) -> Self {
        NetError::Config(e)
    }
}

impl NetError {
    /// True when the failure comes from the parameters rather than from the host.
    pub fn is_config(&self) -> bool {
        matches!(self, NetError::Config(_))
    }

    /// True when the failure is the deadline running out.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            NetError::Netlink {
                cause: NetlinkCause::TimedOut,
                ..
            }
        )
    }
}
