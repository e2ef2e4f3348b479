//! fence_bulwark_redfish under pacemaker-fenced: a one-node Pacemaker with the agent staged in
//! its /usr/sbin, sushy-tools' emulator (two systems, HTTPS with the test's CA) in the node's
//! network namespace, `stonith_admin --metadata` for the agent, a device created with
//! `pcs stonith create … pcmk_host_map="node2:node-b"`, and `stonith_admin --reboot node2`
//! switching system node-b (and only it) off and on. The password travels as a file.

mod support;

use support::redfish;

use redfish::{Emulator, FakeSystem};
use std::time::Duration;
use support::{assert_secret_in_no_file, files_under, ArgvWatch, Cluster, Stage};

#[test]
fn stonith_admin_reboot_through_pacemaker_fenced() {
    let stage = Stage::from_workspace();
    stage.require_fence("fence_bulwark_redfish");
    let cluster = Cluster::single(&stage);
    let emu = Emulator::start_in(
        Some(&cluster.node_netns(1)),
        "127.0.0.1",
        &[
            FakeSystem::new(1, "node-a", true),
            FakeSystem::new(2, "node-b", true),
        ],
    );
    let secret_file = emu.dir.join("password");
    std::fs::write(&secret_file, format!("{}\n", emu.password)).unwrap();

    let meta = cluster.exec_ok(&["stonith_admin", "--metadata", "-a", "fence_bulwark_redfish"]);
    assert!(
        meta.contains("<resource-agent name=\"fence_bulwark_redfish\"")
            && meta.contains("name=\"ssl_ca_file\""),
        "{meta}"
    );

    let watch = ArgvWatch::start_marked(&emu.password, "fence_bulwark_redfish");
    cluster.exec_ok(&[
        "pcs",
        "stonith",
        "create",
        "redfish",
        "fence_bulwark_redfish",
        &format!("ip={}", emu.address()),
        &format!("username={}", emu.user),
        &format!("password_file={}", secret_file.display()),
        &format!("ssl_ca_file={}", emu.pki.ca().display()),
        "pcmk_host_map=node2:node-b",
        "verbose=1",
    ]);
    cluster.assert_fence_registered("redfish", Duration::from_secs(60));
    emu.clear_requests();

    let out = cluster.exec(&["stonith_admin", "--reboot", "node2", "--timeout", "90"]);
    assert!(
        out.status.success(),
        "stonith_admin --reboot node2: {}\n{}\nemulator: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        emu.log()
    );
    let (a, b) = (&emu.systems[0], &emu.systems[1]);
    let resets: Vec<String> = emu
        .requests()
        .into_iter()
        .filter(|(_, m, p, _)| m == "POST" && p.ends_with("ComputerSystem.Reset"))
        .map(|(_, _, p, _)| p)
        .collect();
    assert!(
        resets.len() >= 2 && resets.iter().all(|p| p.contains(&b.uuid)),
        "{resets:?}"
    );
    assert_eq!(emu.power_state(a), "On", "node-a was switched");
    assert!(support::wait_for(Duration::from_secs(20), || emu
        .power_state(b)
        == "On"));

    let hist = cluster.exec_ok(&["stonith_admin", "--history", "node2"]);
    assert!(
        hist.contains("reboot") && hist.contains("node2") && hist.contains("successful"),
        "{hist}"
    );
    watch.stop().assert_clean();
    let scanned = assert_secret_in_no_file(&files_under(cluster.lab_dir()), &emu.password, |f| {
        f.to_string_lossy().contains("/stage")
    });
    assert!(scanned > 3, "no logs scanned");
}
