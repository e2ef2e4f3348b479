//! `fence_bulwark_pdu` under pacemaker-fenced: a one-node Pacemaker with the agent staged in
//! its /usr/sbin, the PDU simulator on the node's own loopback (snmpd started in the node's
//! network namespace), a device created with `pcs stonith create … pcmk_host_map="node2:2"`,
//! and `stonith_admin --reboot node2` driving outlet 2 off then on. The community travels as
//! a file (password_file), and no /proc/*/cmdline or log of the run may contain it.

#[path = "support/pdu.rs"]
mod pdu;
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pdu::{PduSim, SimConfig};
use support::{Cluster, Stage};

fn scan_cmdlines(secret: String, stop: Arc<AtomicBool>) -> (Vec<String>, usize) {
    let mut hits = Vec::new();
    let mut seen_agent = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            break;
        };
        for e in dir.flatten() {
            let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&raw).replace('\0', " ");
            if text.contains("fence_bulwark_pdu") {
                seen_agent += 1;
            }
            if text.contains(&secret) {
                hits.push(text);
            }
        }
    }
    (hits, seen_agent)
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

#[test]
fn stonith_admin_reboot_through_pacemaker_fenced() {
    let stage = Stage::from_workspace();
    stage.require_fence("fence_bulwark_pdu");
    let cluster = Cluster::single(&stage);
    let community = format!("pm-comm-{}-x", std::process::id());
    let sim = PduSim::start(
        SimConfig::new("apc-rpdu2")
            .rw_community(&community)
            .in_netns(&cluster.node_netns(1))
            // slow relays, so the agent is still running while the scanner looks
            .env("PDU_SWITCH_DELAY", "0.5")
            .env("PDU_REBOOT_SECONDS", "0.2"),
    );
    let secret_file = sim.dir.join("community");
    std::fs::write(&secret_file, format!("{community}\n")).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let scanner = {
        let (s, st) = (community.clone(), stop.clone());
        std::thread::spawn(move || scan_cmdlines(s, st))
    };

    cluster.exec_ok(&[
        "pcs",
        "stonith",
        "create",
        "pdu",
        "fence_bulwark_pdu",
        "ip=127.0.0.1",
        &format!("ipport={}", sim.port),
        &format!("password_file={}", secret_file.display()),
        "pcmk_host_map=node2:2",
        "verbose=1",
    ]);
    let registered = cluster.wait_for(Duration::from_secs(60), || {
        let out = cluster.exec(&["stonith_admin", "--list-registered"]);
        String::from_utf8_lossy(&out.stdout).contains("pdu")
    });
    assert!(registered, "device pdu not registered with the fencer");

    let out = cluster.exec(&["stonith_admin", "--reboot", "node2", "--timeout", "60"]);
    assert!(
        out.status.success(),
        "stonith_admin --reboot node2: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sim.log()
    );

    // outlet 2, and only outlet 2, went off and then on again
    let log = sim.log();
    let off = log
        .find("state outlet=2 off")
        .expect("outlet 2 switched off");
    let on = log
        .rfind("state outlet=2 on")
        .expect("outlet 2 switched on");
    assert!(off < on, "{log}");
    assert!(!log.contains("outlet=1 "), "{log}");
    assert_eq!(sim.state(2), "on");

    let hist = cluster.exec_ok(&["stonith_admin", "--history", "node2"]);
    assert!(
        hist.contains("reboot") && hist.contains("node2") && hist.contains("successful"),
        "{hist}"
    );

    stop.store(true, Ordering::Relaxed);
    let (hits, seen) = scanner.join().unwrap();
    assert!(seen > 0, "the scanner never saw the agent running");
    assert!(hits.is_empty(), "community in a cmdline: {hits:?}");

    // every log the run produced: pacemaker, corosync, the simulator's
    let mut files = Vec::new();
    files_under(cluster.lab_dir(), &mut files);
    for f in ["pdu.log", "snmpd.log", "hook.log"] {
        files.push(sim.dir.join(f));
    }
    let mut scanned = 0;
    for f in files {
        if f.to_string_lossy().contains("/stage") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        scanned += 1;
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&community),
            "community found in {}",
            f.display()
        );
    }
    assert!(scanned > 3, "no logs scanned");
    let pm = std::fs::read_to_string(cluster.pacemaker_log(1)).unwrap_or_default();
    assert!(
        pm.contains("fence_bulwark_pdu") || pm.contains("pdu"),
        "pacemaker.log mentions the device"
    );
}
