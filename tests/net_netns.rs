//! Address management, NIC detection and announcements against the real kernel.
//!
//! Each test runs in a thread that unshares its own network namespace and builds a veth pair
//! `va`↔`vb` there (both ends up, the lab kernel has no dummy module). The namespace belongs
//! to that thread alone and vanishes when the thread ends, whether the test passed or
//! panicked, so nothing is left behind and tests run in parallel. Needs root (CAP_NET_ADMIN).
//! Addresses come from the documentation ranges, inside the private namespace.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::time::Duration;

use bulwark::deadline::Deadline;
use bulwark::net::packet::{self, ALL_NODES, NA_FLAG_OVERRIDE};
use bulwark::net::{
    self, AddressSpec, AddressState, AnnounceOpts, Announced, ArpForms, Broadcast, DadOutcome,
    Lifetime, NetError, Removed, Rtnl, SpecParams,
};

/// Runs `f` on a fresh thread inside a new network namespace with `va`↔`vb` up.
fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET) needs root");
        ip(&["link", "set", "lo", "up"]);
        ip(&[
            "link", "add", "name", "va", "type", "veth", "peer", "name", "vb",
        ]);
        ip(&["link", "set", "va", "up"]);
        ip(&["link", "set", "vb", "up"]);
        f()
    });
    match handle.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Test setup only (the module itself never runs `ip`). The child inherits the calling
/// thread's network namespace.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn spec(p: SpecParams<'_>) -> AddressSpec {
    AddressSpec::from_params(&p).expect("valid spec")
}

/// An AF_PACKET socket receiving every frame that arrives on one interface.
struct Capture {
    fd: OwnedFd,
}

impl Capture {
    fn on(ifname: &str) -> Capture {
        let index = net::link(ifname, deadline()).unwrap().unwrap().index;
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain syscalls on memory we own.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto));
            assert!(fd >= 0, "AF_PACKET socket");
            let fd = OwnedFd::from_raw_fd(fd);
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = index as i32;
            let r = libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            assert_eq!(r, 0, "bind AF_PACKET");
            Capture { fd }
        }
    }

    /// Collects frames accepted by `keep` until `want` of them arrived or 5 s passed.
    fn collect<T>(&self, want: usize, keep: impl Fn(&[u8]) -> Option<T>) -> Vec<T> {
        let until = Deadline::after(Duration::from_secs(5));
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while out.len() < want && !until.expired() {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = until.remaining().as_millis() as i32 + 1;
            // SAFETY: one live pollfd.
            if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
                continue;
            }
            // SAFETY: buffer we own, its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n > 0 {
                if let Some(v) = keep(&buf[..n as usize]) {
                    out.push(v);
                }
            }
        }
        out
    }
}

#[test]
fn ipv4_add_status_remove_with_label_and_broadcast() {
    in_netns(|| {
        let s = spec(SpecParams {
            ip: "192.0.2.10",
            cidr_netmask: Some("24"),
            nic: Some("va"),
            iflabel: Some("vip"),
            broadcast: Some("+"),
            ..Default::default()
        });
        assert_eq!(net::status(&s, deadline()).unwrap(), AddressState::Absent);
        let target = net::resolve(&s, deadline()).unwrap();
        assert_eq!((target.link.name.as_str(), target.prefix_len), ("va", 24));
        assert!(target.link.is_usable());

        let added = net::add(&s, &target, deadline()).unwrap();
        assert!(!added.already_present);
        assert_eq!(added.dad, DadOutcome::NotApplicable);
        assert_eq!(
            net::status(&s, deadline()).unwrap(),
            AddressState::Present {
                ifname: "va".into(),
                prefix_len: 24,
                link_up: true
            }
        );
        let mut nl = Rtnl::open().unwrap();
        let listed = nl
            .addresses(false, Some(target.link.index), deadline())
            .unwrap();
        let a = listed
            .iter()
            .find(|a| a.ip == s.ip)
            .expect("address listed");
        assert_eq!(a.label.as_deref(), Some("va:vip"));
        assert_eq!(a.broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));

        // Adding again is a no-op, not an error.
        assert!(net::add(&s, &target, deadline()).unwrap().already_present);

        // With a different prefix the address is there but not as configured.
        let mut other_prefix = s.clone();
        other_prefix.prefix_len = Some(25);
        assert!(matches!(
            net::status(&other_prefix, deadline()).unwrap(),
            AddressState::Misplaced { prefix_len: 24, .. }
        ));

        // Carrier loss shows as a present address on a link that is not up.
        ip(&["link", "set", "vb", "down"]);
        assert_eq!(
            net::status(&s, deadline()).unwrap(),
            AddressState::Present {
                ifname: "va".into(),
                prefix_len: 24,
                link_up: false
            }
        );
        let l = net::link("va", deadline()).unwrap().unwrap();
        assert!(l.admin_up && !l.carrier);
        ip(&["link", "set", "vb", "up"]);

        assert_eq!(net::remove(&s, deadline()).unwrap(), Removed::Deleted(1));
        assert_eq!(net::status(&s, deadline()).unwrap(), AddressState::Absent);
        assert_eq!(net::remove(&s, deadline()).unwrap(), Removed::WasAbsent);
    });
}

#[test]
fn ipv4_nic_and_netmask_come_from_the_connected_route() {
    in_netns(|| {
        ip(&["addr", "add", "198.51.100.1/24", "brd", "+", "dev", "va"]);
        ip(&["addr", "add", "203.0.113.1/28", "dev", "vb"]);
        let s = spec(SpecParams {
            ip: "198.51.100.50",
            ..Default::default()
        });
        let target = net::resolve(&s, deadline()).unwrap();
        assert_eq!((target.link.name.as_str(), target.prefix_len), ("va", 24));

        // The broadcast is inherited from the address already in that subnet.
        net::add(&s, &target, deadline()).unwrap();
        let listed = Rtnl::open()
            .unwrap()
            .addresses(false, Some(target.link.index), deadline())
            .unwrap();
        let a = listed.iter().find(|a| a.ip == s.ip).unwrap();
        assert_eq!(a.broadcast, Some(Ipv4Addr::new(198, 51, 100, 255)));
        assert_eq!(a.prefix_len, 24);

        // A given netmask longer than the route is kept.
        let s29 = spec(SpecParams {
            ip: "198.51.100.60",
            cidr_netmask: Some("29"),
            ..Default::default()
        });
        let t = net::resolve(&s29, deadline()).unwrap();
        assert_eq!((t.link.name.as_str(), t.prefix_len), ("va", 29));

        // Nic given, netmask from that nic's route only.
        let on_vb = spec(SpecParams {
            ip: "198.51.100.70",
            nic: Some("vb"),
            ..Default::default()
        });
        let e = net::resolve(&on_vb, deadline()).unwrap_err();
        assert!(
            matches!(e, NetError::NoConnectedRoute { nic: Some(_), .. }),
            "{e}"
        );

        let nowhere = spec(SpecParams {
            ip: "192.0.2.99",
            ..Default::default()
        });
        let e = net::resolve(&nowhere, deadline()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no connected route contains 192.0.2.99: set nic and cidr_netmask"
        );

        let missing = spec(SpecParams {
            ip: "192.0.2.99",
            nic: Some("nosuch0"),
            cidr_netmask: Some("24"),
            ..Default::default()
        });
        assert_eq!(
            net::resolve(&missing, deadline()).unwrap_err(),
            NetError::NoSuchInterface("nosuch0".into())
        );
        assert_eq!(
            net::remove(&missing, deadline()).unwrap(),
            Removed::WasAbsent
        );
    });
}

#[test]
fn gratuitous_arp_reaches_the_peer() {
    in_netns(|| {
        let s = spec(SpecParams {
            ip: "192.0.2.20",
            cidr_netmask: Some("24"),
            nic: Some("va"),
            ..Default::default()
        });
        let target = net::resolve(&s, deadline()).unwrap();
        net::add(&s, &target, deadline()).unwrap();
        let cap = Capture::on("vb");
        let opts = AnnounceOpts {
            count: 3,
            interval: Duration::from_millis(10),
            arp_forms: ArpForms::Both,
        };
        assert_eq!(
            net::announce(s.ip, &target, &opts, deadline()).unwrap(),
            Announced::Sent(6)
        );
        let ip4 = Ipv4Addr::new(192, 0, 2, 20);
        let frames = cap.collect(6, |f| {
            packet::decode_arp_frame(f)
                .ok()
                .filter(|a| a.is_gratuitous_for(ip4))
        });
        assert_eq!(frames.len(), 6, "{frames:?}");
        let mac = target.link.mac().unwrap();
        for f in &frames {
            assert_eq!(f.eth_dst, packet::ETHER_BROADCAST);
            assert_eq!(f.eth_src, mac);
            assert_eq!(f.sender_mac, mac);
        }
        assert_eq!(frames.iter().filter(|f| f.op == 1).count(), 3);
        assert_eq!(frames.iter().filter(|f| f.op == 2).count(), 3);
    });
}

#[test]
fn ipv6_dad_completes_then_unsolicited_na_reaches_the_peer() {
    in_netns(|| {
        ip(&["addr", "add", "2001:db8:1::1/64", "dev", "va", "nodad"]);
        let s = spec(SpecParams {
            ip: "2001:db8:1::50",
            preferred_lft: Some("0"),
            noprefixroute: true,
            ..Default::default()
        });
        let target = net::resolve(&s, deadline()).unwrap();
        assert_eq!((target.link.name.as_str(), target.prefix_len), ("va", 64));

        let added = net::add(&s, &target, deadline()).unwrap();
        assert_eq!(added.dad, DadOutcome::Completed);
        assert_eq!(
            net::status(&s, deadline()).unwrap(),
            AddressState::Present {
                ifname: "va".into(),
                prefix_len: 64,
                link_up: true
            }
        );
        let listed = Rtnl::open()
            .unwrap()
            .addresses(true, Some(target.link.index), deadline())
            .unwrap();
        let a = listed.iter().find(|a| a.ip == s.ip).unwrap();
        assert_ne!(a.flags & 0x200, 0, "noprefixroute");
        assert_ne!(a.flags & 0x20, 0, "deprecated by preferred_lft 0");

        let cap = Capture::on("vb");
        let opts = AnnounceOpts {
            count: 2,
            interval: Duration::from_millis(10),
            ..Default::default()
        };
        assert_eq!(
            net::announce(s.ip, &target, &opts, deadline()).unwrap(),
            Announced::Sent(2)
        );
        let ip6: Ipv6Addr = "2001:db8:1::50".parse().unwrap();
        let nas = cap.collect(2, |f| {
            packet::decode_na_frame(f)
                .ok()
                .filter(|n| n.na.target == ip6 && n.src == ip6)
        });
        assert_eq!(nas.len(), 2, "{nas:?}");
        let mac = target.link.mac().unwrap();
        for n in &nas {
            assert_eq!(n.eth_dst, [0x33, 0x33, 0, 0, 0, 1]);
            assert_eq!(n.eth_src, mac);
            assert_eq!(n.dst, ALL_NODES);
            assert_eq!(n.hop_limit, 255);
            assert_eq!(n.na.flags, NA_FLAG_OVERRIDE);
            assert_eq!(n.na.target_mac, Some(mac));
            assert!(n.checksum_ok);
        }

        assert_eq!(net::remove(&s, deadline()).unwrap(), Removed::Deleted(1));
        assert_eq!(net::status(&s, deadline()).unwrap(), AddressState::Absent);
    });
}

#[test]
fn ipv6_duplicate_is_reported_and_removed() {
    in_netns(|| {
        // The peer end already holds the address; our DAD probe from va reaches it.
        ip(&["addr", "add", "2001:db8:2::77/64", "dev", "vb", "nodad"]);
        let s = spec(SpecParams {
            ip: "2001:db8:2::77",
            cidr_netmask: Some("64"),
            nic: Some("va"),
            ..Default::default()
        });
        let target = net::resolve(&s, deadline()).unwrap();
        let e = net::add(&s, &target, deadline()).unwrap_err();
        assert_eq!(
            e,
            NetError::DadFailed {
                ip: s.ip,
                ifname: "va".into()
            }
        );
        // Removed from va again; vb's copy is not ours to judge with nic=va.
        assert!(matches!(
            net::status(&s, deadline()).unwrap(),
            AddressState::Misplaced { .. }
        ));
        let on_va = Rtnl::open()
            .unwrap()
            .addresses(true, Some(target.link.index), deadline())
            .unwrap();
        assert!(on_va.iter().all(|a| a.ip != s.ip));
    });
}

#[test]
fn ipv6_nodad_is_immediately_present_and_remove_without_nic_clears_everywhere() {
    in_netns(|| {
        let s = spec(SpecParams {
            ip: "2001:db8:3::5",
            cidr_netmask: Some("64"),
            nic: Some("va"),
            nodad: true,
            ..Default::default()
        });
        let target = net::resolve(&s, deadline()).unwrap();
        let added = net::add(&s, &target, deadline()).unwrap();
        assert_eq!(added.dad, DadOutcome::NotApplicable);
        assert!(matches!(
            net::status(&s, deadline()).unwrap(),
            AddressState::Present { .. }
        ));
        ip(&["addr", "add", "2001:db8:3::5/64", "dev", "vb", "nodad"]);
        let anywhere = AddressSpec {
            nic: None,
            prefix_len: None,
            ..s.clone()
        };
        assert_eq!(
            net::remove(&anywhere, deadline()).unwrap(),
            Removed::Deleted(2)
        );
        assert_eq!(
            net::status(&anywhere, deadline()).unwrap(),
            AddressState::Absent
        );
    });
}

#[test]
fn admin_down_link_is_brought_up_by_add() {
    in_netns(|| {
        ip(&["link", "set", "va", "down"]);
        let s = AddressSpec {
            prefix_len: Some(24),
            nic: Some("va".into()),
            broadcast: Broadcast::HostBitsCleared,
            preferred_lft: Lifetime::Forever,
            ..AddressSpec::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30)))
        };
        let target = net::resolve(&s, deadline()).unwrap();
        assert!(!target.link.admin_up);
        net::add(&s, &target, deadline()).unwrap();
        let l = net::link("va", deadline()).unwrap().unwrap();
        assert!(l.admin_up);
    });
}

/// A link-local VIP needs its nic and nothing else: on an interface with no link-local address
/// of its own (addrgenmode none), so no fe80::/64 route, it still gets fe80::2/64 and DAD, and
/// the stock suite's check (`ip -6 addr show eth0 | grep -w fe80::2/64`) would find it.
#[test]
fn ipv6_link_local_with_nic_needs_no_route() {
    in_netns(|| {
        ip(&[
            "link", "add", "name", "la", "type", "veth", "peer", "name", "lb",
        ]);
        ip(&["link", "set", "la", "addrgenmode", "none"]);
        ip(&["link", "set", "la", "up"]);
        ip(&["link", "set", "lb", "up"]);
        let routes = Rtnl::open()
            .unwrap()
            .connected_routes(true, None, deadline())
            .unwrap();
        let la = net::link("la", deadline()).unwrap().unwrap();
        assert!(
            !routes.iter().any(|r| r.oif == la.index),
            "the premise: la has no route at all: {routes:?}"
        );
        let s = spec(SpecParams {
            ip: "fe80::2",
            nic: Some("la"),
            ..Default::default()
        });
        let target = net::resolve(&s, deadline()).unwrap();
        assert_eq!((target.link.name.as_str(), target.prefix_len), ("la", 64));
        let added = net::add(&s, &target, deadline()).unwrap();
        assert_eq!(added.dad, DadOutcome::Completed);
        assert_eq!(
            net::status(&s, deadline()).unwrap(),
            AddressState::Present {
                ifname: "la".into(),
                prefix_len: 64,
                link_up: true
            }
        );
        assert_eq!(net::remove(&s, deadline()).unwrap(), Removed::Deleted(1));

        // Without nic the same address stays a configuration error, as in IPaddr2.
        let e = AddressSpec::from_params(&SpecParams {
            ip: "fe80::2",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "nic is required for link-local address fe80::2"
        );
    });
}
