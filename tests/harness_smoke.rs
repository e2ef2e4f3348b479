//! Smoke test of the lab harness itself (`tests/support/`): real single-node clusters with a
//! staged fixture agent, two of them at once, and the one-shot overlay.
//! Needs root, corosync, pacemaker and pcs (the lab's Debian 12 packages).

mod support;

use std::time::Duration;
use support::{cluster, overlay_exec, Cluster, Netns, Stage};

/// A stage holding only the fixture agent, as `ocf:bulwark:dummy`.
fn dummy_stage() -> Stage {
    let stage = Stage::empty();
    stage.add_ocf_agent("dummy", &support::fixture("ocf/bulwark-dummy"));
    stage
}

/// Starts a one-node cluster, creates `ocf:bulwark:dummy` with pcs and waits for crm_mon to
/// report it started on node1. Returns the node's hostname as seen inside it.
fn cluster_runs_staged_dummy() -> String {
    let stage = dummy_stage();
    let c = Cluster::single(&stage);

    assert!(
        cluster::has_dc(&c.crm_mon_xml()),
        "no DC reported after start"
    );
    let stonith = c.exec_ok(&[
        "crm_attribute",
        "-t",
        "crm_config",
        "-n",
        "stonith-enabled",
        "-G",
        "-q",
    ]);
    assert_eq!(stonith.trim(), "false");

    c.exec_ok(&[
        "pcs",
        "resource",
        "create",
        "d1",
        "ocf:bulwark:dummy",
        "op",
        "monitor",
        "interval=5s",
    ]);
    let started = c.wait_for(Duration::from_secs(60), || {
        c.resource_nodes("d1") == ["node1"]
    });
    assert!(started, "d1 not started; crm_mon:\n{}", c.crm_mon_xml());

    // The agent really ran inside the node: its state file is in the node's private /run,
    // which the host cannot see.
    c.exec_ok(&["test", "-e", "/run/bulwark-dummy-d1"]);
    assert!(!std::path::Path::new("/run/bulwark-dummy-d1").exists());
    c.exec_ok(&["hostname"]).trim().to_string()
}

#[test]
fn single_node_cluster_starts_a_staged_agent() {
    assert_eq!(cluster_runs_staged_dummy(), "node1");
}

#[test]
fn two_clusters_run_side_by_side() {
    let a = std::thread::spawn(cluster_runs_staged_dummy);
    let b = std::thread::spawn(cluster_runs_staged_dummy);
    let a = a.join().expect("first cluster failed");
    let b = b.join().expect("second cluster failed");
    assert_eq!((a.as_str(), b.as_str()), ("node1", "node1"));
}

#[test]
fn cluster_drop_removes_nodes_and_namespaces() {
    let stage = dummy_stage();
    let c = Cluster::single(&stage);
    let pid = c.node_pid(1).expect("node1 init pid");
    let started = support::process_start_time(pid).expect("node1 init start time");
    let netns = c.node_netns(1);
    let lab = c.lab_dir().to_path_buf();
    drop(c);
    // Gone, or a zombie not yet reaped, or the PID already belongs to another process.
    let alive = support::process_start_time(pid) == Some(started)
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "));
    assert!(!alive, "node1 init {pid} survived the drop");
    assert!(
        !std::path::Path::new("/run/netns").join(&netns).exists(),
        "{netns} survived"
    );
    assert!(!lab.exists(), "{} not removed", lab.display());
}

#[test]
fn overlay_exec_sees_the_staged_agent() {
    let stage = dummy_stage();
    // The agent's state file lives in the stage directory, which the test owns.
    let state = format!("state={}", stage.path().join("dummy.state").display());
    let force = |action: &str| {
        overlay_exec(
            &stage,
            &[
                "crm_resource",
                action,
                "--class",
                "ocf",
                "--provider",
                "bulwark",
                "--agent",
                "dummy",
                "--option",
                &state,
            ],
        )
    };

    // Found and run: a stopped dummy's monitor says "not running" (7); an unknown agent would
    // be rejected before any action ran.
    let check = force("--force-check");
    assert_eq!(check.status.code(), Some(7), "{check:?}");
    support::expect_success("crm_resource --force-start", &force("--force-start"));
    assert!(stage.path().join("dummy.state").exists());
    support::expect_success("crm_resource --force-check", &force("--force-check"));

    let meta = overlay_exec(
        &stage,
        &["crm_resource", "--show-metadata", "ocf:bulwark:dummy"],
    );
    let meta = support::expect_success("crm_resource --show-metadata", &meta);
    assert!(meta.contains("<resource-agent name=\"dummy\""), "{meta}");

    // Outside the overlay nothing changed on the host.
    assert!(!std::path::Path::new("/usr/lib/ocf/resource.d/bulwark/dummy").exists());
    let missing = support::run(std::process::Command::new("crm_resource").args([
        "--force-check",
        "--class",
        "ocf",
        "--provider",
        "bulwark",
        "--agent",
        "dummy",
    ]));
    assert!(
        !missing.status.success(),
        "host sees ocf:bulwark:dummy: {missing:?}"
    );
}

#[test]
fn netns_veth_carries_traffic_and_is_cleaned_up() {
    let a = Netns::new();
    let b = Netns::new();
    assert!(a.name().len() <= 15, "{}", a.name());
    a.veth_to("t0", &b, "t1");
    a.add_addr("t0", "10.98.7.1/24");
    b.add_addr("t1", "10.98.7.2/24");
    a.exec_ok(&["ping", "-c", "1", "-W", "5", "10.98.7.2"]);

    let pid = b.spawn(&["sleep", "600"], None);
    // `ip netns exec` enters the namespace, then execs sleep under the same PID.
    assert!(support::wait_for(Duration::from_secs(10), || b.pids() == vec![pid]));
    let name = b.name().to_string();
    drop(b);
    assert!(!std::path::Path::new("/run/netns").join(&name).exists());
    // The peer end goes with b's namespace (the kernel dismantles it asynchronously).
    let gone = support::wait_for(Duration::from_secs(10), || {
        !a.ip_ok(&["-o", "link"]).contains(" t0@")
    });
    assert!(gone, "t0 outlived its peer's namespace");
}

#[test]
fn two_node_cluster_has_two_rings_a_service_net_and_survives_a_node_kill() {
    let stage = dummy_stage();
    let c = Cluster::two(&stage);

    // Both knet links up between the nodes.
    let links = c.exec_ok(&["corosync-cfgtool", "-s"]);
    assert_eq!(links.matches("LINK ID").count(), 2, "{links}");
    assert_eq!(
        links.matches("nodeid:          2:\tconnected").count(),
        2,
        "{links}"
    );

    // The client reaches both nodes over the service network.
    for addr in ["10.99.2.1", "10.99.2.2"] {
        let ping = support::run(std::process::Command::new("ip").args([
            "netns",
            "exec",
            &c.client_netns(),
            "ping",
            "-c",
            "1",
            "-W",
            "5",
            addr,
        ]));
        support::expect_success(&format!("ping {addr} from the client"), &ping);
    }

    c.exec_ok(&["pcs", "resource", "create", "d1", "ocf:bulwark:dummy"]);
    assert!(
        c.wait_for(Duration::from_secs(60), || c.resource_nodes("d1").len()
            == 1)
    );
    let first = c.resource_nodes("d1")[0].clone();
    let (lost, survivor) = if first == "node1" { (1, 2) } else { (2, 1) };

    // Killing the node that runs d1 moves it (stonith is off in the harness).
    c.kill_node(lost);
    let moved = c.wait_for(Duration::from_secs(60), || {
        cluster::resource_nodes(&c.crm_mon_xml_on(survivor), "d1") == [format!("node{survivor}")]
    });
    assert!(moved, "d1 did not move: {}", c.crm_mon_xml_on(survivor));

    // And the killed node comes back with its CIB.
    c.start_node(lost);
    let back = c.wait_for(Duration::from_secs(60), || {
        c.crm_mon_xml_on(survivor)
            .matches("online=\"true\"")
            .count()
            == 2
    });
    assert!(back, "node{lost} did not rejoin");
}
