//! `ocf:bulwark:vip` against the real tools: ocf-tester, crm_resource, a one-node Pacemaker with
//! pcs, and a peer namespace that captures the announcements. Run as root.

mod support;

use std::process::{Command, Output};
use std::time::Duration;
use support::{
    assert_refused, exit_reason, output_text, overlay_exec, wait_for, workspace_bin, Cluster,
    Netns, RunnableBin, Stage,
};

/// A namespace with a veth pair `va`/`vb`, both up, so `va` has carrier.
fn vip_netns() -> Netns {
    let ns = Netns::new();
    ns.veth_pair("va", "vb");
    ns
}

fn ocf_tester(ns: &Netns, opts: &[&str]) -> Output {
    // ocf-tester runs the agent as `nobody` too.
    let agent = RunnableBin::new("vip");
    let mut cmd = vec!["ocf-tester", "-n", "vip"];
    for o in opts {
        cmd.push("-o");
        cmd.push(o);
    }
    let path = agent.path().to_string_lossy().into_owned();
    cmd.push(&path);
    ns.exec(&cmd)
}

#[test]
fn ocf_tester_passes_ipv4() {
    let ns = vip_netns();
    let out = ocf_tester(&ns, &["ip=10.98.7.100", "cidr_netmask=24", "nic=va"]);
    let t = output_text(&out);
    assert!(out.status.success(), "ocf-tester failed:\n{t}");
    assert!(t.contains("passed all tests"), "{t}");
    // The tester ends with a stop: nothing may be left behind.
    assert!(!ns
        .ip_ok(&["-4", "addr", "show", "dev", "va"])
        .contains("10.98.7.100"));
}

#[test]
fn ocf_tester_passes_ipv6() {
    let ns = vip_netns();
    let out = ocf_tester(&ns, &["ip=fd00:98:7::100", "cidr_netmask=64", "nic=va"]);
    let t = output_text(&out);
    assert!(out.status.success(), "ocf-tester failed:\n{t}");
    assert!(t.contains("passed all tests"), "{t}");
}

#[test]
fn crm_resource_force_start_check_stop() {
    let ns = vip_netns();
    let stage = Stage::from_workspace();
    stage.require_ocf("vip");
    let crm = |op: &str| -> Output {
        overlay_exec(
            &stage,
            &[
                "ip",
                "netns",
                "exec",
                ns.name(),
                "crm_resource",
                op,
                "--class",
                "ocf",
                "--provider",
                "bulwark",
                "--agent",
                "vip",
                "--option",
                "ip=10.98.8.5",
                "--option",
                "cidr_netmask=24",
                "--option",
                "nic=va",
            ],
        )
    };
    let check = crm("--force-check");
    assert_eq!(check.status.code(), Some(7), "{}", output_text(&check));
    let start = crm("--force-start");
    assert_eq!(start.status.code(), Some(0), "{}", output_text(&start));
    assert!(ns
        .ip_ok(&["-4", "addr", "show", "dev", "va"])
        .contains("10.98.8.5/24"));
    let check = crm("--force-check");
    assert_eq!(check.status.code(), Some(0), "{}", output_text(&check));
    let stop = crm("--force-stop");
    assert_eq!(stop.status.code(), Some(0), "{}", output_text(&stop));
    assert!(!ns
        .ip_ok(&["-4", "addr", "show", "dev", "va"])
        .contains("10.98.8.5"));
}

#[test]
fn pcs_resource_create_under_pacemaker() {
    let stage = Stage::from_workspace();
    stage.require_ocf("vip");
    let cluster = Cluster::single(&stage);
    let ns = cluster.node_netns(1);
    let ip = |args: &[&str]| {
        let out = Command::new("ip")
            .arg("-n")
            .arg(&ns)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", output_text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ip(&[
        "link", "add", "svc0", "type", "veth", "peer", "name", "svc1",
    ]);
    ip(&["link", "set", "svc0", "up"]);
    ip(&["link", "set", "svc1", "up"]);
    cluster.exec_ok(&[
        "pcs",
        "resource",
        "create",
        "mail-ip",
        "ocf:bulwark:vip",
        "ip=10.98.9.10",
        "cidr_netmask=24",
        "nic=svc0",
        "op",
        "monitor",
        "interval=5s",
    ]);
    cluster.assert_started("mail-ip", "node1", Duration::from_secs(60));
    assert!(ip(&["-4", "addr", "show", "dev", "svc0"]).contains("10.98.9.10/24"));
    cluster.exec_ok(&["pcs", "resource", "disable", "mail-ip"]);
    let stopped = cluster.wait_for(Duration::from_secs(60), || {
        !ip(&["-4", "addr", "show", "dev", "svc0"]).contains("10.98.9.10")
    });
    assert!(stopped, "address still present after disable");
}

/// Starts the agent in `node` and captures what arrives on the peer end in `peer`.
fn capture_announcements(ip: &str, mask: &str, filter: &str, count: &str) -> String {
    let node = Netns::new();
    let peer = Netns::new();
    node.veth_to("eth0", &peer, "eth0");
    let dump = Command::new("ip")
        .args([
            "netns",
            "exec",
            peer.name(),
            "timeout",
            "20",
            "tcpdump",
            "-l",
            "-n",
            "-e",
            "-c",
        ])
        .arg(count)
        .args(["-i", "eth0", filter])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // tcpdump needs a moment to attach; it reports "listening on" on stderr when it has.
    std::thread::sleep(Duration::from_millis(800));
    let agent = workspace_bin("vip");
    let out = Command::new("ip")
        .args(["netns", "exec", node.name()])
        .arg(&agent)
        .arg("start")
        .env("OCF_RESKEY_ip", ip)
        .env("OCF_RESKEY_cidr_netmask", mask)
        .env("OCF_RESKEY_nic", "eth0")
        .env("OCF_RESKEY_arp_count", "3")
        .env("OCF_RESKEY_arp_interval", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "start failed: {}", output_text(&out));
    let captured = dump.wait_with_output().unwrap();
    String::from_utf8_lossy(&captured.stdout).into_owned()
}

#[test]
fn peer_sees_gratuitous_arp() {
    let lines = capture_announcements("10.98.10.1", "24", "arp", "3");
    let garps: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("10.98.10.1") && l.contains("ff:ff:ff:ff:ff:ff"))
        .collect();
    assert!(garps.len() >= 3, "no gratuitous ARP seen: {lines}");
}

#[test]
fn peer_sees_unsolicited_neighbour_advertisement() {
    let lines = capture_announcements("fd00:98:10::1", "64", "icmp6 and ip6[40] == 136", "2");
    assert!(
        lines.contains("neighbor advertisement") && lines.contains("fd00:98:10::1"),
        "no unsolicited NA seen: {lines}"
    );
    assert!(
        lines.contains("ff02::1"),
        "NA not sent to all-nodes: {lines}"
    );
}

fn run_agent(ns: &Netns, action: &str, env: &[(&str, &str)]) -> Output {
    let agent = workspace_bin("vip");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns.name()])
        .arg(&agent)
        .arg(action);
    for (k, v) in env {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    cmd.output().unwrap()
}

#[test]
fn bad_input_is_refused_with_one_reason_and_nothing_changes() {
    let ns = vip_netns();
    // The kernel's own link-local addresses finish DAD whenever they do (late under load): the
    // flag is not ours, the addresses are.
    let addresses = || ns.ip_ok(&["addr", "show"]).replace(" tentative", "");
    let before = addresses();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("ip", "10.1.2.300"), ("nic", "va")], "ip [10.1.2.300]"),
        (
            &[("ip", "10.98.11.1"), ("cidr_netmask", "33"), ("nic", "va")],
            "cidr_netmask [33]",
        ),
        (
            &[
                ("ip", "10.98.11.1"),
                ("cidr_netmask", "255.0.255.0"),
                ("nic", "va"),
            ],
            "cidr_netmask",
        ),
        (
            &[
                ("ip", "10.98.11.1"),
                ("cidr_netmask", "24"),
                ("nic", "bad/name"),
            ],
            "interface name [bad/name]",
        ),
        (
            &[
                ("ip", "10.98.11.1"),
                ("cidr_netmask", "24"),
                ("nic", "this-name-is-far-too-long"),
            ],
            "interface name",
        ),
        (
            &[
                ("ip", "10.98.11.1"),
                ("cidr_netmask", "24"),
                ("nic", "va"),
                ("label", "much-too-long-label"),
            ],
            "label",
        ),
        (
            &[
                ("ip", "fd00::5"),
                ("cidr_netmask", "64"),
                ("nic", "va"),
                ("label", "x"),
            ],
            "label cannot be used with IPv6",
        ),
        (
            &[("ip", "10.98.11.1"), ("arp_count", "many")],
            "parameter 'arp_count'",
        ),
        (&[("cidr_netmask", "24")], "parameter 'ip' is required"),
    ];
    for (env, needle) in cases {
        for action in ["start", "validate-all"] {
            let out = run_agent(&ns, action, env);
            assert_refused(&out, 6, needle, &format!("{action} {env:?}"));
        }
        // A probe and a stop with the same bad configuration answer as the contract needs.
        let probe = run_agent(&ns, "monitor", env);
        assert_eq!(
            probe.status.code(),
            Some(7),
            "probe {env:?}: {}",
            output_text(&probe)
        );
        let stop = run_agent(&ns, "stop", env);
        assert_eq!(
            stop.status.code(),
            Some(0),
            "stop {env:?}: {}",
            output_text(&stop)
        );
    }
    // A nic that does not exist on this node: a node-local problem (5), not a config error.
    let out = run_agent(
        &ns,
        "start",
        &[
            ("ip", "10.98.11.1"),
            ("cidr_netmask", "24"),
            ("nic", "nosuch0"),
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", output_text(&out));
    assert!(exit_reason(&out).contains("nosuch0"));
    // No connected route contains the address: network state, a soft error (1) as in IPaddr2
    // (ocft IPaddr2v4 case 8), not a hard one that would ban the VIP from the node.
    assert_refused(
        &run_agent(&ns, "start", &[("ip", "192.0.2.77")]),
        1,
        "no connected route contains 192.0.2.77",
        "start with an address no route reaches",
    );
    // Malformed invocation: 2.
    let agent = workspace_bin("vip");
    let out = Command::new(&agent)
        .args(["start", "extra"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(exit_reason(&out).contains("expected one action"));
    assert_eq!(addresses(), before, "bad input changed the namespace");
}

#[test]
fn monitor_states_and_idempotence() {
    let ns = vip_netns();
    let env = [("ip", "10.98.12.1"), ("cidr_netmask", "24"), ("nic", "va")];
    let recurring = |action: &str| -> Output {
        let agent = workspace_bin("vip");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name()])
            .arg(&agent)
            .arg(action);
        cmd.env("OCF_RESKEY_CRM_meta_interval", "10000");
        for (k, v) in env {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        cmd.output().unwrap()
    };
    assert_eq!(recurring("monitor").status.code(), Some(7));
    assert_eq!(recurring("start").status.code(), Some(0));
    assert_eq!(
        recurring("start").status.code(),
        Some(0),
        "start is idempotent"
    );
    assert_eq!(recurring("monitor").status.code(), Some(0));
    // Carrier lost: the peer end goes down.
    ns.ip_ok(&["link", "set", "vb", "down"]);
    assert!(wait_for(Duration::from_secs(5), || recurring("monitor")
        .status
        .code()
        == Some(1)));
    let out = recurring("monitor");
    assert!(
        exit_reason(&out).contains("no carrier"),
        "{}",
        output_text(&out)
    );
    // A probe never answers 1.
    let probe = run_agent(&ns, "monitor", &env);
    assert_eq!(probe.status.code(), Some(0), "{}", output_text(&probe));
    ns.ip_ok(&["link", "set", "vb", "up"]);
    assert_eq!(recurring("stop").status.code(), Some(0));
    assert_eq!(
        recurring("stop").status.code(),
        Some(0),
        "stop is idempotent"
    );
    assert_eq!(recurring("monitor").status.code(), Some(7));
}

/// With `arp_bg` (the default) start returns while a detached announcer keeps sending: the
/// executor gets its answer at once and the announcer holds none of its pipes.
#[test]
fn background_announcer_outlives_start_in_its_own_session() {
    let ns = vip_netns();
    let env = [
        ("ip", "10.98.13.1"),
        ("cidr_netmask", "24"),
        ("nic", "va"),
        ("arp_count", "50"),
        ("arp_interval", "200"),
    ];
    // output() reads stdout and stderr to their end: it returns only once no process holds
    // them, so a returned call proves the announcer released them.
    let out = run_agent(&ns, "start", &env);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let me = std::process::id();
    let announcers: Vec<u32> = ns
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .map(|p| p.to_string_lossy().ends_with("/vip"))
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(announcers.len(), 1, "one announcer still running");
    let pid = announcers[0];
    let sid = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(pid as i32))).unwrap();
    assert_eq!(
        sid.as_raw() as u32,
        pid,
        "the announcer leads its own session"
    );
    assert_ne!(sid.as_raw() as u32, me);
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"), "fd {fd}");
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(run_agent(&ns, "stop", &env).status.code(), Some(0));
}

/// A link-local VIP with nic works through the agent on an interface that has no fe80::/64
/// route (no link-local address of its own: addrgenmode none), where the route lookup used
/// to refuse it; the address is fe80::2/64 as IPaddr2 would add it (ocft IPaddr2v6 case 9).
#[test]
fn link_local_vip_with_nic_needs_no_route() {
    let ns = Netns::new();
    ns.ip_ok(&["link", "add", "ll0", "type", "veth", "peer", "name", "ll1"]);
    ns.ip_ok(&["link", "set", "ll0", "addrgenmode", "none"]);
    ns.ip_ok(&["link", "set", "ll0", "up"]);
    ns.ip_ok(&["link", "set", "ll1", "up"]);
    assert!(
        !ns.ip_ok(&["-6", "route", "show", "dev", "ll0"])
            .contains("fe80::"),
        "the premise: no link-local route on ll0"
    );
    let env = [("ip", "fe80::2"), ("nic", "ll0")];
    for (action, code) in [("monitor", 7), ("start", 0), ("monitor", 0)] {
        let out = run_agent(&ns, action, &env);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{action}: {}",
            output_text(&out)
        );
    }
    assert!(ns
        .ip_ok(&["-6", "-o", "addr", "show", "dev", "ll0"])
        .contains("fe80::2/64"));
    let out = run_agent(&ns, "stop", &env);
    assert_eq!(out.status.code(), Some(0), "stop: {}", output_text(&out));
    assert!(!ns
        .ip_ok(&["-6", "-o", "addr", "show", "dev", "ll0"])
        .contains("fe80::2/"));
}
