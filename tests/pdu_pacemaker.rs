//! `fence_bulwark_pdu` under pacemaker-fenced: a one-node Pacemaker with the agent staged in
//! its /usr/sbin, the PDU simulator on the node's own loopback (snmpd started in the node's
//! network namespace), a device created with `pcs stonith create … pcmk_host_map="node2:2"`,
//! and `stonith_admin --reboot node2` driving outlet 2 off then on. The community travels as
//! a file (password_file), and no /proc/*/cmdline or log of the run may contain it.

mod support;

use support::pdu;

use std::time::Duration;

use pdu::{PduSim, SimConfig};
use support::{assert_secret_in_no_file, files_under, ArgvWatch, Cluster, Stage};

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

    let watch = ArgvWatch::start_marked(&community, "fence_bulwark_pdu");

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
    cluster.assert_fence_registered("pdu", Duration::from_secs(60));

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

    watch.stop().assert_clean();

    // every log the run produced: pacemaker, corosync, the simulator's
    let mut files = files_under(cluster.lab_dir());
    for f in ["pdu.log", "snmpd.log", "hook.log"] {
        files.push(sim.dir.join(f));
    }
    let scanned = assert_secret_in_no_file(&files, &community, |f| {
        f.to_string_lossy().contains("/stage")
    });
    assert!(scanned > 3, "no logs scanned");
    let pm = std::fs::read_to_string(cluster.pacemaker_log(1)).unwrap_or_default();
    assert!(
        pm.contains("fence_bulwark_pdu") || pm.contains("pdu"),
        "pacemaker.log mentions the device"
    );
}
