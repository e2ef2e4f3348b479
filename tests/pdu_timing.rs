//! Time budgets of `fence_bulwark_pdu` where the network is slow or dead: a resolver that never
//! answers is bounded by the run's deadline, and an outlet name looked up on a slow SNMPv1 PDU
//! (one GETNEXT per outlet) gets a budget per request, not one for the whole table.

mod support;

use support::{pdu, udp_proxy};

use std::process::Command;
use std::time::{Duration, Instant};

use bulwark::process::Captured;
use pdu::{PduSim, SimConfig};
use support::netns::Netns;
use support::workspace_bin;
use udp_proxy::UdpProxy;

fn show(c: &Captured) -> String {
    format!(
        "rc {:?}\nstdout: {}\nstderr: {}",
        c.code(),
        c.stdout_str().trim_end(),
        String::from_utf8_lossy(&c.stderr).trim_end()
    )
}

fn run_agent(cmd: &mut Command, input: &str) -> (Captured, Duration) {
    let start = Instant::now();
    let c = bulwark::process::run_with_input(cmd, Some(input.as_bytes()), Duration::from_secs(90))
        .expect("run fence_bulwark_pdu");
    (c, start.elapsed())
}

/// `/etc/netns/NAME/resolv.conf`, which `ip netns exec` mounts over `/etc/resolv.conf`;
/// removed on drop.
struct NetnsResolvConf(std::path::PathBuf);

impl NetnsResolvConf {
    fn new(ns: &Netns, text: &str) -> NetnsResolvConf {
        let dir = std::path::Path::new("/etc/netns").join(ns.name());
        std::fs::create_dir_all(&dir).expect("create /etc/netns/NAME");
        std::fs::write(dir.join("resolv.conf"), text).expect("write resolv.conf");
        NetnsResolvConf(dir)
    }
}

impl Drop for NetnsResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A DNS server that takes every query and never answers (a socket bound to port 53 that is
/// never read: no reply, no ICMP error), in a namespace of its own. glibc would wait
/// timeout × attempts = 30 s; the agent answers within agent_timeout, with the reason.
#[test]
fn a_resolver_that_never_answers_is_bounded_by_agent_timeout() {
    let ns = Netns::new();
    let _conf = NetnsResolvConf::new(&ns, "nameserver 127.0.0.1\noptions timeout:10 attempts:3\n");
    let log = std::env::temp_dir().join(format!("bulwark-silent-dns-{}", ns.name()));
    ns.spawn(
        &[
            "python3",
            "-c",
            "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',53))\nprint('bound',flush=True)\ntime.sleep(300)",
        ],
        Some(&log),
    );
    assert!(
        support::wait_for(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .is_ok_and(|s| s.contains("bound"))),
        "silent DNS server did not start"
    );
    let _ = std::fs::remove_file(&log);
    // The premise: in this namespace a name lookup hangs (getent would give up after 30 s).
    let mut probe = ns
        .command(&["getent", "hosts", "pdu.bulwark-test.example"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn getent");
    std::thread::sleep(Duration::from_secs(2));
    let still_waiting = matches!(probe.try_wait(), Ok(None));
    let _ = probe.kill();
    let _ = probe.wait();
    assert!(still_waiting, "getent finished: the resolver answered");

    let agent = workspace_bin("fence_bulwark_pdu");
    let input = "ip=pdu.bulwark-test.example\ncommunity=private\naction=status\nplug=1\nagent_timeout=4\nlogin_timeout=30\n";
    let (c, took) = run_agent(&mut ns.command(&[agent.to_str().unwrap()]), input);
    assert_eq!(c.code(), Some(1), "{}", show(&c));
    let err = String::from_utf8_lossy(&c.stderr);
    assert!(
        err.contains("cannot resolve pdu.bulwark-test.example") && err.lines().count() == 1,
        "{}",
        show(&c)
    );
    assert!(took < Duration::from_secs(4), "took {took:?}: {}", show(&c));
}

/// 48 named outlets on an SNMPv1 PDU 100 ms away (50 ms each way through the delay proxy):
/// the name walk is 49 GETNEXTs, about 5 s, more than login_timeout=2. Each request has its
/// own budget, so `plug=node48` resolves and the status is read; a dead PDU still fails within
/// one request's budget.
#[test]
fn a_48_outlet_v1_pdu_behind_a_slow_link_resolves_by_name() {
    let mut config = SimConfig::new("apc-rpdu").env("PDU_OUTLETS", "48");
    config.names = (1..=48).map(|n| format!("node{n}")).collect();
    let sim = PduSim::start(config);
    sim.set_state(48, "off");
    let proxy = UdpProxy::start(format!("127.0.0.1:{}", sim.port).parse().unwrap());
    proxy.faults(|f| f.delay = Duration::from_millis(50));
    let input = format!(
        "ip=127.0.0.1\nipport={}\ncommunity=private\nsnmp_version=1\naction=status\nplug=node48\nlogin_timeout=2\n",
        proxy.port
    );
    let agent = workspace_bin("fence_bulwark_pdu");
    let (c, took) = run_agent(&mut Command::new(&agent), &input);
    assert_eq!(
        (c.code(), c.stdout_str().trim()),
        (Some(2), "Status: OFF"),
        "{} after {took:?}",
        show(&c)
    );
    assert!(
        took > Duration::from_secs(2),
        "the walk was expected to outlast one request budget, took {took:?}"
    );
    // The per-request budget still ends a run against a PDU that stopped answering.
    proxy.faults(|f| f.blackhole = true);
    let (c, took) = run_agent(&mut Command::new(&agent), &input);
    assert_eq!(c.code(), Some(1), "{}", show(&c));
    assert!(took < Duration::from_secs(4), "took {took:?}: {}", show(&c));
}

/// A reboot whose target never comes back on (the PDU starts ignoring commands once the
/// outlet is off): the fence succeeded, and the verdict is printed before agent_timeout even
/// though power_timeout (20 s) and retry_on would allow far longer on the power-on half.
#[test]
fn reboot_verdict_is_printed_before_agent_timeout() {
    let sim = PduSim::start(SimConfig::new("apc-rpdu"));
    sim.set_hook(
        1,
        "off",
        &format!("touch {}", sim.dir.join("ignore-commands").display()),
    );
    let input = format!(
        "ip=127.0.0.1\nipport={}\ncommunity=private\naction=reboot\nplug=1\nagent_timeout=4\nretry_on=3\npower_wait=0.3\n",
        sim.port
    );
    let (c, took) = run_agent(
        &mut Command::new(workspace_bin("fence_bulwark_pdu")),
        &input,
    );
    assert_eq!(c.code(), Some(0), "{}", show(&c));
    assert!(
        c.stdout_str()
            .starts_with("Success: Rebooted (powered OFF; power ON failed"),
        "{}",
        show(&c)
    );
    assert_eq!(sim.state(1), "off");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}
