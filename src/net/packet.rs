//! Wire formats of the announcements: gratuitous ARP frames and unsolicited IPv6 Neighbour
//! Advertisements. Encoders append to a `Vec<u8>`; decoders read through the shared
//! [`crate::codec::Reader`], which rejects truncated input instead of panicking.

use crate::codec::{Malformed, Reader};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Ethernet broadcast address.
pub const ETHER_BROADCAST: [u8; 6] = [0xff; 6];
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// ICMPv6 type of a Neighbour Advertisement (RFC 4861 §4.4).
pub const ICMPV6_NEIGHBOUR_ADVERTISEMENT: u8 = 136;
/// NA flag: the advertisement overrides an existing cache entry.
pub const NA_FLAG_OVERRIDE: u32 = 0x2000_0000;
/// NA flag: solicited.
pub const NA_FLAG_SOLICITED: u32 = 0x4000_0000;
/// NA flag: router.
pub const NA_FLAG_ROUTER: u32 = 0x8000_0000;
/// Neighbour Discovery option: target link-layer address.
pub const ND_OPT_TARGET_LINKADDR: u8 = 2;
/// All-nodes multicast address, where unsolicited advertisements go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Length of an NA carrying one target link-layer option for a 6-byte address.
pub const NA_LEN: usize = 32;

/// The two gratuitous ARP forms. send_arp and `arping -U` send requests; `arping -A` sends
/// replies. Some neighbours update their cache only from one of the two, so both are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
}

impl ArpOp {
    fn code(self) -> u16 {
        match self {
            ArpOp::Request => 1,
            ArpOp::Reply => 2,
        }
    }
}

/// Appends an Ethernet frame carrying a gratuitous ARP for `ip` owned by `mac`: sender and
/// target protocol address are both `ip`, the frame is broadcast. A request's target hardware
/// address is the broadcast address (as send_arp and iputils arping send it); a reply's is our
/// own MAC.
pub fn encode_gratuitous_arp(mac: [u8; 6], ip: Ipv4Addr, op: ArpOp, out: &mut Vec<u8>) {
    out.extend_from_slice(&ETHER_BROADCAST);
    out.extend_from_slice(&mac);
    out.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    out.extend_from_slice(&0x0800u16.to_be_bytes()); // protocol type: IPv4
    out.push(6);
    out.push(4);
    out.extend_from_slice(&op.code().to_be_bytes());
    out.extend_from_slice(&mac);
    out.extend_from_slice(&ip.octets());
    match op {
        ArpOp::Request => out.extend_from_slice(&ETHER_BROADCAST),
        ArpOp::Reply => out.extend_from_slice(&mac),
    }
    out.extend_from_slice(&ip.octets());
}

/// Appends an unsolicited Neighbour Advertisement (the ICMPv6 message, without IP header) for
/// `target` with the Override flag and a target link-layer address option, as RFC 4861 §7.2.6
/// asks. The checksum is computed for `src` → ff02::1; a raw ICMPv6 socket recomputes the same.
pub fn encode_unsolicited_na(src: Ipv6Addr, target: Ipv6Addr, mac: [u8; 6], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(ICMPV6_NEIGHBOUR_ADVERTISEMENT);
    out.push(0); // code
    out.extend_from_slice(&[0, 0]); // checksum, filled below
    out.extend_from_slice(&NA_FLAG_OVERRIDE.to_be_bytes());
    out.extend_from_slice(&target.octets());
    out.push(ND_OPT_TARGET_LINKADDR);
    out.push(1); // option length in units of 8 bytes
    out.extend_from_slice(&mac);
    let sum = icmpv6_checksum(src, ALL_NODES, &out[start..]);
    out[start + 2..start + 4].copy_from_slice(&sum.to_be_bytes());
}

/// The ICMPv6 checksum (RFC 4443 §2.3) over the IPv6 pseudo-header and `message`, with the
/// message's own checksum field taken as zero.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |b| u32::from(*b));
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, 58]);
    if message.len() >= 4 {
        add(&message[..2]);
        add(&message[4..]);
    } else {
        add(message);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A decoding failure: what was being read when input ran out or did not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketError(pub &'static str);

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed packet: {}", self.0)
    }
}

impl std::error::Error for PacketError {}

/// Truncation found by the shared [`Reader`] keeps naming the field it was reading.
impl From<Malformed> for PacketError {
    fn from(m: Malformed) -> Self {
        PacketError(m.what)
    }
}

/// A decoded Ethernet/ARP (IPv4 over Ethernet) frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFrame {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

impl ArpFrame {
    /// True for a gratuitous ARP announcing `ip`.
    pub fn is_gratuitous_for(&self, ip: Ipv4Addr) -> bool {
        self.sender_ip == ip && self.target_ip == ip
    }
}

/// Decodes an Ethernet frame holding an IPv4-over-Ethernet ARP packet.
pub fn decode_arp_frame(frame: &[u8]) -> Result<ArpFrame, PacketError> {
    let mut r = Reader::new(frame);
    let eth_dst = r.array("ethernet destination")?;
    let eth_src = r.array("ethernet source")?;
    if r.u16_be("ethertype")? != ETHERTYPE_ARP {
        return Err(PacketError("not an ARP frame"));
    }
    if r.u16_be("hardware type")? != 1 || r.u16_be("protocol type")? != 0x0800 {
        return Err(PacketError("not IPv4 over Ethernet"));
    }
    if r.u8("hardware length")? != 6 || r.u8("protocol length")? != 4 {
        return Err(PacketError("unexpected address lengths"));
    }
    let op = r.u16_be("operation")?;
    let sender_mac = r.array("sender hardware address")?;
    let sender_ip = Ipv4Addr::from(r.array::<4>("sender protocol address")?);
    let target_mac = r.array("target hardware address")?;
    let target_ip = Ipv4Addr::from(r.array::<4>("target protocol address")?);
    Ok(ArpFrame {
        eth_dst,
        eth_src,
        op,
        sender_mac,
        sender_ip,
        target_mac,
        target_ip,
    })
}

/// A decoded Neighbour Advertisement (ICMPv6 part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourAdvert {
    pub checksum: u16,
    pub flags: u32,
    pub target: Ipv6Addr,
    /// The target link-layer address option, when present with a 6-byte address.
    pub target_mac: Option<[u8; 6]>,
}

/// Decodes an ICMPv6 Neighbour Advertisement.
pub fn decode_na(message: &[u8]) -> Result<NeighbourAdvert, PacketError> {
    let mut r = Reader::new(message);
    if r.u8("icmpv6 type")? != ICMPV6_NEIGHBOUR_ADVERTISEMENT {
        return Err(PacketError("not a neighbour advertisement"));
    }
    if r.u8("icmpv6 code")? != 0 {
        return Err(PacketError("neighbour advertisement code is not 0"));
    }
    let checksum = r.u16_be("icmpv6 checksum")?;
    let flags = r.u32_be("advertisement flags")?;
    let target = Ipv6Addr::from(r.array::<16>("target address")?);
    let mut target_mac = None;
    while !r.at_end() {
        let kind = r.u8("option type")?;
        let units = r.u8("option length")?;
        if units == 0 {
            return Err(PacketError("option of length zero"));
        }
        let body = r.take(usize::from(units) * 8 - 2, "option body")?;
        if kind == ND_OPT_TARGET_LINKADDR && body.len() >= 6 {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&body[..6]);
            target_mac = Some(mac);
        }
    }
    Ok(NeighbourAdvert {
        checksum,
        flags,
        target,
        target_mac,
    })
}

/// An Ethernet frame carrying IPv6 and an ICMPv6 Neighbour Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaFrame {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub na: NeighbourAdvert,
    /// True when the checksum matches the pseudo-header and payload.
    pub checksum_ok: bool,
}

/// Decodes an Ethernet frame holding IPv6 → ICMPv6 Neighbour Advertisement (no extension
/// headers, as the kernel sends them).
pub fn decode_na_frame(frame: &[u8]) -> Result<NaFrame, PacketError> {
    let mut r = Reader::new(frame);
    let eth_dst = r.array("ethernet destination")?;
    let eth_src = r.array("ethernet source")?;
    if r.u16_be("ethertype")? != ETHERTYPE_IPV6 {
        return Err(PacketError("not an IPv6 frame"));
    }
    let _version_class_flow = r.u32_be("ipv6 version")?;
    let payload_len = usize::from(r.u16_be("ipv6 payload length")?);
    if r.u8("ipv6 next header")? != 58 {
        return Err(PacketError("not ICMPv6"));
    }
    let hop_limit = r.u8("ipv6 hop limit")?;
    let src = Ipv6Addr::from(r.array::<16>("ipv6 source")?);
    let dst = Ipv6Addr::from(r.array::<16>("ipv6 destination")?);
    let payload = r.take(payload_len, "ipv6 payload")?;
    let na = decode_na(payload)?;
    let checksum_ok = icmpv6_checksum(src, dst, payload) == na.checksum;
    Ok(NaFrame {
        eth_dst,
        eth_src,
        hop_limit,
        src,
        dst,
        na,
        checksum_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    #[test]
    fn gratuitous_arp_request_bytes() {
        let mut out = Vec::new();
        encode_gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 10), ArpOp::Request, &mut out);
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // eth dst
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // eth src
            0x08, 0x06, // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4, // Ethernet / IPv4
            0x00, 0x01, // request
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 192, 0, 2, 10, // sender
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 0, 2, 10, // target
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn gratuitous_arp_reply_bytes() {
        let mut out = Vec::new();
        encode_gratuitous_arp(MAC, Ipv4Addr::new(198, 51, 100, 7), ArpOp::Reply, &mut out);
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02, // reply
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 198, 51, 100, 7, // sender
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 198, 51, 100, 7, // target = us
        ];
        assert_eq!(out, expected);
        let f = decode_arp_frame(&out).unwrap();
        assert_eq!(f.op, 2);
        assert!(f.is_gratuitous_for(Ipv4Addr::new(198, 51, 100, 7)));
        assert_eq!(f.target_mac, MAC);
    }

    #[test]
    fn arp_decoder_rejects_every_truncation() {
        let mut out = Vec::new();
        encode_gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 10), ArpOp::Request, &mut out);
        for n in 0..out.len() {
            assert!(decode_arp_frame(&out[..n]).is_err(), "length {n}");
        }
        // Trailing Ethernet padding is fine.
        out.resize(60, 0);
        assert!(decode_arp_frame(&out).is_ok());
    }

    #[test]
    fn unsolicited_na_bytes() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let mut out = Vec::new();
        encode_unsolicited_na(ip, ip, MAC, &mut out);
        let mut expected = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
        expected.extend_from_slice(&ip.octets());
        expected.extend_from_slice(&[2, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
        assert_eq!(out.len(), NA_LEN);
        assert_eq!(&out[..2], &expected[..2]);
        assert_eq!(&out[4..], &expected[4..]);
        // The checksum, computed independently (one's-complement sum of pseudo-header and
        // message words, done in a separate script).
        assert_eq!(u16::from_be_bytes([out[2], out[3]]), 0x7acd);
        let na = decode_na(&out).unwrap();
        assert_eq!(na.flags, NA_FLAG_OVERRIDE);
        assert_eq!(na.target, ip);
        assert_eq!(na.target_mac, Some(MAC));
        assert_eq!(icmpv6_checksum(ip, ALL_NODES, &out), na.checksum);
    }

    #[test]
    fn checksum_of_a_message_including_its_checksum_verifies_to_zero_sum() {
        // Summing the message with its checksum in place gives 0xffff before inversion.
        let ip: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut out = Vec::new();
        encode_unsolicited_na(ip, ip, MAC, &mut out);
        let recomputed = icmpv6_checksum(ip, ALL_NODES, &out);
        assert_eq!(recomputed, u16::from_be_bytes([out[2], out[3]]));
        let other = icmpv6_checksum("fe80::2".parse().unwrap(), ALL_NODES, &out);
        assert_ne!(recomputed, other);
    }

    #[test]
    fn na_decoder_rejects_truncation_and_zero_length_options() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let mut out = Vec::new();
        encode_unsolicited_na(ip, ip, MAC, &mut out);
        for n in 0..out.len() {
            if n == 24 {
                // A bare NA without options is valid.
                assert_eq!(decode_na(&out[..n]).unwrap().target_mac, None);
                continue;
            }
            assert!(decode_na(&out[..n]).is_err(), "length {n}");
        }
        let mut zero = out.clone();
        zero[25] = 0;
        assert!(decode_na(&zero).is_err());
    }

    #[test]
    fn na_frame_round_trip() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let mut icmp = Vec::new();
        encode_unsolicited_na(ip, ip, MAC, &mut icmp);
        let mut frame = vec![0x33, 0x33, 0, 0, 0, 1];
        frame.extend_from_slice(&MAC);
        frame.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        frame.extend_from_slice(&[0x60, 0, 0, 0]);
        frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
        frame.extend_from_slice(&[58, 255]);
        frame.extend_from_slice(&ip.octets());
        frame.extend_from_slice(&ALL_NODES.octets());
        frame.extend_from_slice(&icmp);
        let f = decode_na_frame(&frame).unwrap();
        assert_eq!(f.hop_limit, 255);
        assert_eq!(f.dst, ALL_NODES);
        assert!(f.checksum_ok);
        for n in 0..frame.len() {
            assert!(decode_na_frame(&frame[..n]).is_err(), "length {n}");
        }
    }
}
