//! Telling the neighbours that an address moved here: gratuitous ARP for IPv4 over an
//! `AF_PACKET` socket, unsolicited Neighbour Advertisements for IPv6 over a raw ICMPv6 socket
//! (the kernel fills in the IPv6 header and checksum).

use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;

use super::packet::{self, ArpOp, ETHERTYPE_ARP};
use crate::deadline::Deadline;

/// Opens a socket, returning it owned so it is closed on every path.
fn socket(domain: libc::c_int, kind: libc::c_int, proto: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: plain syscall; a non-negative result is a fresh descriptor we now own.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe a live c_int.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&v as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Sleeps `interval`, or until the deadline if that comes first. Returns false when the
/// deadline has passed.
fn pause(interval: Duration, deadline: Deadline) -> bool {
    let d = deadline.cap(interval);
    if !d.is_zero() {
        std::thread::sleep(d);
    }
    !deadline.expired()
}

/// Sends every message in `messages` to the socket address `to` (a `sockaddr_ll` or
/// `sockaddr_in6`) in each of `count` rounds, `interval` apart. Stops early (without error)
/// when the deadline passes; returns the number of messages sent.
fn send_rounds<A>(
    fd: &OwnedFd,
    to: &A,
    messages: &[Vec<u8>],
    count: u32,
    interval: Duration,
    deadline: Deadline,
) -> Result<u32, Errno> {
    let mut sent = 0;
    for round in 0..count {
        if round > 0 && !pause(interval, deadline) {
            break;
        }
        for m in messages {
            // SAFETY: buffer and address point to live memory of the given lengths.
            let r = unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    m.as_ptr().cast(),
                    m.len(),
                    0,
                    (to as *const A).cast(),
                    size_of::<A>() as libc::socklen_t,
                )
            };
            if r < 0 {
                return Err(Errno::last());
            }
            sent += 1;
        }
    }
    Ok(sent)
}

/// Sends `count` rounds of gratuitous ARP for `ip` on interface `ifindex` with hardware
/// address `mac`, `interval` apart. Each round carries one frame per form in `ops`. Stops early
/// (without error) when the deadline passes; returns the number of frames sent.
pub fn send_gratuitous_arp(
    ifindex: u32,
    mac: [u8; 6],
    ip: Ipv4Addr,
    ops: &[ArpOp],
    count: u32,
    interval: Duration,
    deadline: Deadline,
) -> Result<u32, Errno> {
    // Protocol 0: this socket sends only and never queues received frames.
    let fd = socket(libc::AF_PACKET, libc::SOCK_RAW, 0)?;
    // SAFETY: sockaddr_ll is a plain C struct of integers and byte arrays; all zeroes is a
    // valid (unspecified) address that the fields below complete.
    let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    to.sll_family = libc::AF_PACKET as u16;
    to.sll_protocol = ETHERTYPE_ARP.to_be();
    to.sll_ifindex = i32::try_from(ifindex).map_err(|_| Errno::ENODEV)?;
    to.sll_halen = 6;
    to.sll_addr[..6].copy_from_slice(&packet::ETHER_BROADCAST);
    let frames: Vec<Vec<u8>> = ops
        .iter()
        .map(|&op| {
            let mut f = Vec::with_capacity(42);
            packet::encode_gratuitous_arp(mac, ip, op, &mut f);
            f
        })
        .collect();
    send_rounds(&fd, &to, &frames, count, interval, deadline)
}

fn sockaddr_in6(ip: Ipv6Addr, scope: u32) -> libc::sockaddr_in6 {
    // SAFETY: sockaddr_in6 is a plain C struct of integers and byte arrays; all zeroes is the
    // unspecified address, completed below.
    let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    sa.sin6_family = libc::AF_INET6 as u16;
    sa.sin6_addr.s6_addr = ip.octets();
    sa.sin6_scope_id = scope;
    sa
}

/// Sends `count` unsolicited Neighbour Advertisements for `ip` to ff02::1 on `ifindex`,
/// `interval` apart, with hop limit 255 (receivers drop ND packets with any other). The
/// source is `ip` itself, as send_ua does. Returns the number sent.
pub fn send_unsolicited_na(
    ifindex: u32,
    mac: [u8; 6],
    ip: Ipv6Addr,
    count: u32,
    interval: Duration,
    deadline: Deadline,
) -> Result<u32, Errno> {
    let fd = socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6)?;
    let ifindex_c = libc::c_int::try_from(ifindex).map_err(|_| Errno::ENODEV)?;
    setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 255)?;
    setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 255)?;
    setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, ifindex_c)?;
    // Our own advertisements need not loop back to us.
    setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0)?;
    let scope = if super::validate::is_link_local(std::net::IpAddr::V6(ip)) {
        ifindex
    } else {
        0
    };
    let me = sockaddr_in6(ip, scope);
    // SAFETY: address points to a live sockaddr_in6 of the given length.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&me as *const libc::sockaddr_in6).cast(),
            size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    let to = sockaddr_in6(packet::ALL_NODES, ifindex);
    let mut msg = Vec::with_capacity(packet::NA_LEN);
    packet::encode_unsolicited_na(ip, ip, mac, &mut msg);
    send_rounds(&fd, &to, &[msg], count, interval, deadline)
}
