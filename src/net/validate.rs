//! Parameter parsing and validation: pure functions, no host access.
//!
//! The rules follow the kernel (what `RTM_NEWADDR` and `dev_valid_name` accept) and the
//! IPaddr2/findif conventions users already write (prefix or dotted-quad netmask, `+`/`-`
//! broadcast, `nic:label`).

use std::net::{IpAddr, Ipv4Addr};

use super::error::ConfigError;

/// Longest interface name or label the kernel stores (IFNAMSIZ less the NUL).
pub const MAX_IFNAME_LEN: usize = 15;

/// The `broadcast` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Broadcast {
    /// Not given: reuse the broadcast of an address already on the interface in the same
    /// subnet (what IPaddr2's findif does), else set none.
    #[default]
    Inherit,
    /// `+`: host bits set.
    HostBitsSet,
    /// `-`: host bits cleared.
    HostBitsCleared,
    /// An explicit IPv4 broadcast address.
    Address(Ipv4Addr),
}

/// An address lifetime (`preferred_lft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lifetime {
    #[default]
    Forever,
    Seconds(u32),
}

impl Lifetime {
    /// The kernel's encoding: `u32::MAX` means infinite.
    pub fn as_kernel(self) -> u32 {
        match self {
            Lifetime::Forever => u32::MAX,
            Lifetime::Seconds(s) => s,
        }
    }
}

/// Parses the `ip` parameter and rejects addresses that cannot serve clients.
pub fn parse_ip(s: &str) -> Result<IpAddr, ConfigError> {
    let ip: IpAddr = s
        .parse()
        .map_err(|_| ConfigError::InvalidIp(s.to_string()))?;
    check_service_ip(ip)?;
    Ok(ip)
}

/// Rejects addresses that parse but cannot be assigned as a service address.
pub fn check_service_ip(ip: IpAddr) -> Result<(), ConfigError> {
    let why = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the limited broadcast address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some("in 0.0.0.0/8"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        _ => None,
    };
    match why {
        Some(why) => Err(ConfigError::UnusableIp(ip, why)),
        None => Ok(()),
    }
}

/// Prefix length of IPv6 link-local unicast addresses: fe80::/64 (RFC 4291, section 2.5.6), the
/// on-link prefix every IPv6 interface has whether or not its route is in the table yet.
pub const LINK_LOCAL_PREFIX_LEN: u8 = 64;

/// True for fe80::/10, where an address is meaningful only together with an interface.
pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// Parses `cidr_netmask`: a prefix length (1..=32 or 1..=128), or for IPv4 a contiguous
/// dotted-quad netmask. A zero prefix is refused, as findif does: a VIP covering every address
/// is always a mistake.
pub fn parse_netmask(s: &str, ipv6: bool) -> Result<u8, ConfigError> {
    let bad = || ConfigError::InvalidNetmask {
        value: s.to_string(),
        ipv6,
    };
    let max: u8 = if ipv6 { 128 } else { 32 };
    if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u8 = s.parse().map_err(|_| bad())?;
        return if (1..=max).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    if ipv6 {
        return Err(bad());
    }
    let mask: Ipv4Addr = s.parse().map_err(|_| bad())?;
    let bits = u32::from(mask);
    // Contiguous: the ones form a prefix, so the inverted mask plus one is a power of two.
    let ones = bits.leading_ones();
    if ones == 0 || bits.checked_shl(ones).unwrap_or(0) != 0 {
        return Err(bad());
    }
    u8::try_from(ones).map_err(|_| bad())
}

/// Checks an interface name as the kernel's `dev_valid_name` does: 1 to 15 bytes, not `.` or
/// `..`, no `/`, `:`, NUL or whitespace. (A `:` belongs to labels; see [`split_nic_label`].)
pub fn check_interface_name(name: &str) -> Result<(), ConfigError> {
    let bad = |why| {
        Err(ConfigError::InvalidInterfaceName {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_IFNAME_LEN {
        return bad("it is longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are reserved");
    }
    if name.bytes().any(|b| b == b'/') {
        return bad("it contains '/'");
    }
    if name.bytes().any(|b| b == b':') {
        return bad("it contains ':'");
    }
    if name
        .bytes()
        .any(|b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
    {
        return bad("it contains whitespace or NUL");
    }
    Ok(())
}

/// Splits IPaddr2's `nic:label` form: `eth0:vip` is interface `eth0` with label suffix `vip`.
/// Both parts are validated.
pub fn split_nic_label(nic: &str) -> Result<(String, Option<String>), ConfigError> {
    match nic.split_once(':') {
        None => {
            check_interface_name(nic)?;
            Ok((nic.to_string(), None))
        }
        Some((name, suffix)) => {
            check_interface_name(name)?;
            check_label_suffix(suffix)?;
            Ok((name.to_string(), Some(suffix.to_string())))
        }
    }
}

/// Checks the `iflabel` suffix on its own (the full label is checked by [`build_label`]).
pub fn check_label_suffix(suffix: &str) -> Result<(), ConfigError> {
    let bad = |why| {
        Err(ConfigError::InvalidLabel {
            label: suffix.to_string(),
            why,
        })
    };
    if suffix.is_empty() {
        return bad("it is empty");
    }
    if suffix.len() > MAX_IFNAME_LEN - 2 {
        return bad("it cannot fit in 15 bytes with an interface name");
    }
    if suffix
        .bytes()
        .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace() || b == 0x0b)
    {
        return bad("it contains '/', whitespace or NUL");
    }
    Ok(())
}

/// The full IPv4 label `IFNAME:SUFFIX`. The kernel requires a label to begin with the
/// interface name and to fit in 15 bytes.
pub fn build_label(ifname: &str, suffix: &str) -> Result<String, ConfigError> {
    check_label_suffix(suffix)?;
    let label = format!("{ifname}:{suffix}");
    if label.len() > MAX_IFNAME_LEN {
        return Err(ConfigError::InvalidLabel {
            label,
            why: "it is longer than 15 bytes",
        });
    }
    Ok(label)
}

/// Parses `broadcast`: empty (inherit), `+`, `-` or an IPv4 address.
pub fn parse_broadcast(s: &str) -> Result<Broadcast, ConfigError> {
    match s {
        "" => Ok(Broadcast::Inherit),
        "+" => Ok(Broadcast::HostBitsSet),
        "-" => Ok(Broadcast::HostBitsCleared),
        _ => {
            let a: Ipv4Addr = s
                .parse()
                .map_err(|_| ConfigError::InvalidBroadcast(s.to_string()))?;
            if a.octets()[0] == 0 {
                return Err(ConfigError::InvalidBroadcast(s.to_string()));
            }
            Ok(Broadcast::Address(a))
        }
    }
}

/// Parses `preferred_lft`: `forever` or seconds (as `ip address add` accepts).
pub fn parse_lifetime(s: &str) -> Result<Lifetime, ConfigError> {
    if s == "forever" {
        return Ok(Lifetime::Forever);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::InvalidLifetime(s.to_string()));
    }
    match s.parse::<u32>() {
        Ok(n) if n != u32::MAX => Ok(Lifetime::Seconds(n)),
        _ => Err(ConfigError::InvalidLifetime(s.to_string())),
    }
}

/// The IPv4 netmask for a prefix length (0..=32; larger values saturate to /32).
pub fn v4_mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// The broadcast address to configure, if any, for an explicit choice. `Inherit` yields `None`
/// here; the caller looks for a sibling address. /31 and /32 have no broadcast (RFC 3021), as
/// in iproute2.
pub fn broadcast_for(ip: Ipv4Addr, prefix_len: u8, choice: Broadcast) -> Option<Ipv4Addr> {
    let mask = v4_mask(prefix_len);
    let ip = u32::from(ip);
    match choice {
        Broadcast::Inherit => None,
        Broadcast::Address(a) => Some(a),
        Broadcast::HostBitsSet if prefix_len < 31 => Some(Ipv4Addr::from(ip | !mask)),
        Broadcast::HostBitsCleared if prefix_len < 31 => Some(Ipv4Addr::from(ip & mask)),
        _ => None,
    }
}

/// True when `ip` lies in `net/prefix_len` (same family only).
pub fn prefix_contains(net: IpAddr, prefix_len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            prefix_len <= 32 && (u32::from(n) ^ u32::from(a)) & v4_mask(prefix_len) == 0
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            if prefix_len > 128 {
                return false;
            }
            let mask = match prefix_len {
                0 => 0,
                p => u128::MAX << (128 - u32::from(p)),
            };
            (u128::from(n) ^ u128::from(a)) & mask == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn ip_accepts_both_families_and_rejects_the_unusable() {
        assert_eq!(parse_ip("192.0.2.10"), Ok("192.0.2.10".parse().unwrap()));
        assert_eq!(
            parse_ip("2001:db8::10"),
            Ok("2001:db8::10".parse().unwrap())
        );
        for bad in [
            "",
            " 192.0.2.1",
            "192.0.2",
            "192.0.2.256",
            "010.0.0.1",
            "host",
            "1.2.3.4/24",
        ] {
            assert!(
                matches!(parse_ip(bad), Err(ConfigError::InvalidIp(_))),
                "{bad}"
            );
        }
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "0.1.2.3",
            "::",
            "ff02::1",
        ] {
            assert!(
                matches!(parse_ip(bad), Err(ConfigError::UnusableIp(..))),
                "{bad}"
            );
        }
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(is_link_local("febf::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
        assert!(!is_link_local("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn netmask_prefix_ranges() {
        for p in 1..=32u8 {
            assert_eq!(parse_netmask(&p.to_string(), false), Ok(p));
        }
        for p in 1..=128u8 {
            assert_eq!(parse_netmask(&p.to_string(), true), Ok(p));
        }
        assert_eq!(parse_netmask("024", false), Ok(24));
        for bad in ["0", "33", "", "-1", "24 ", "1000", "x"] {
            assert!(parse_netmask(bad, false).is_err(), "{bad}");
        }
        for bad in ["0", "129", "255.255.255.0", "ffff::"] {
            assert!(parse_netmask(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_dotted_quad_mask_round_trips() {
        for p in 1..=32u8 {
            let dotted = Ipv4Addr::from(v4_mask(p)).to_string();
            assert_eq!(parse_netmask(&dotted, false), Ok(p), "{dotted}");
        }
        for bad in [
            "0.0.0.0",
            "255.0.255.0",
            "255.255.255.1",
            "255.255.256.0",
            "0.255.255.255",
        ] {
            assert!(parse_netmask(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn interface_names_follow_the_kernel() {
        for ok in [
            "eth0",
            "blw-va",
            "a",
            "enp0s31f6",
            "bond0.100",
            "x23456789012345",
        ] {
            assert_eq!(check_interface_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "eth0:1",
            "eth 0",
            "eth\t0",
            "x234567890123456",
            "a\0",
        ] {
            assert!(check_interface_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nic_label_form_is_split() {
        assert_eq!(split_nic_label("eth0"), Ok(("eth0".into(), None)));
        assert_eq!(
            split_nic_label("eth0:vip"),
            Ok(("eth0".into(), Some("vip".into())))
        );
        assert!(split_nic_label("eth0:").is_err());
        assert!(split_nic_label(":vip").is_err());
        assert!(split_nic_label("eth0:a b").is_err());
    }

    #[test]
    fn labels_start_with_the_interface_and_fit() {
        assert_eq!(build_label("eth0", "vip"), Ok("eth0:vip".into()));
        assert_eq!(
            build_label("eth0", "0123456789"),
            Ok("eth0:0123456789".into())
        );
        assert!(matches!(
            build_label("eth0", "01234567890"),
            Err(ConfigError::InvalidLabel { .. })
        ));
        assert!(build_label("eth0", "").is_err());
        assert!(build_label("eth0", "a/b").is_err());
    }

    #[test]
    fn broadcast_forms() {
        assert_eq!(parse_broadcast(""), Ok(Broadcast::Inherit));
        assert_eq!(parse_broadcast("+"), Ok(Broadcast::HostBitsSet));
        assert_eq!(parse_broadcast("-"), Ok(Broadcast::HostBitsCleared));
        assert_eq!(
            parse_broadcast("192.0.2.255"),
            Ok(Broadcast::Address(Ipv4Addr::new(192, 0, 2, 255)))
        );
        for bad in ["++", "2001:db8::1", "0.0.0.255", "all"] {
            assert!(parse_broadcast(bad).is_err(), "{bad}");
        }
        let ip = Ipv4Addr::new(192, 0, 2, 77);
        assert_eq!(
            broadcast_for(ip, 24, Broadcast::HostBitsSet),
            Some(Ipv4Addr::new(192, 0, 2, 255))
        );
        assert_eq!(
            broadcast_for(ip, 26, Broadcast::HostBitsCleared),
            Some(Ipv4Addr::new(192, 0, 2, 64))
        );
        assert_eq!(broadcast_for(ip, 31, Broadcast::HostBitsSet), None);
        assert_eq!(broadcast_for(ip, 32, Broadcast::HostBitsCleared), None);
        assert_eq!(broadcast_for(ip, 24, Broadcast::Inherit), None);
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("forever"), Ok(Lifetime::Forever));
        assert_eq!(parse_lifetime("0"), Ok(Lifetime::Seconds(0)));
        assert_eq!(parse_lifetime("3600"), Ok(Lifetime::Seconds(3600)));
        for bad in ["", "-1", "4294967295", "99999999999", "1h", "Forever"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
        assert_eq!(Lifetime::Forever.as_kernel(), u32::MAX);
    }

    #[test]
    fn containment() {
        let n4: IpAddr = "192.0.2.0".parse().unwrap();
        assert!(prefix_contains(n4, 24, "192.0.2.200".parse().unwrap()));
        assert!(!prefix_contains(n4, 25, "192.0.2.200".parse().unwrap()));
        assert!(prefix_contains(n4, 0, "10.0.0.1".parse().unwrap()));
        let n6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0));
        assert!(prefix_contains(n6, 64, "2001:db8::99".parse().unwrap()));
        assert!(!prefix_contains(
            n6,
            64,
            "2001:db8:0:1::99".parse().unwrap()
        ));
        assert!(!prefix_contains(n6, 64, "192.0.2.1".parse().unwrap()));
        assert!(!prefix_contains(n4, 33, "192.0.2.1".parse().unwrap()));
    }
}
