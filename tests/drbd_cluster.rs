//! `ocf:bulwark:drbd` under a real one-node Pacemaker, with the DRBD simulator standing in
//! for DRBD inside the node (wrappers named `drbdadm`/`drbdsetup` in the stage's sbin, which
//! the node overlays on /usr/sbin; the simulator's state lives in the lab directory, visible
//! in the node's mount namespace). Then the peer-fence handler against that node's real CIB.
//! Run as root after `cargo build --workspace --bins`.

mod support;

use std::process::Output;
use std::time::Duration;
use support::{output_text, workspace_bin, Cluster, LabDir, SimNode, Stage};

const WAIT: Duration = Duration::from_secs(90);

/// The simulated node1, its state in a lab directory the node sees too.
struct SimDir {
    _lab: LabDir,
    node: SimNode,
}

impl SimDir {
    fn new() -> SimDir {
        let lab = LabDir::new("drbd-cluster-sim");
        let node = SimNode::new(lab.path().join("node1"));
        SimDir { _lab: lab, node }
    }
}

/// A stage with the agent, both handlers and the simulator behind
/// `drbdadm`/`drbdsetup` wrappers pointing at `sim`.
fn stage_with_simulator(sim: &SimDir) -> Stage {
    let stage = Stage::from_workspace();
    stage.require_ocf("drbd");
    stage.add_fence_agent("drbd-sim", &workspace_bin("drbd-sim"));
    stage.add_fence_agent(
        "bulwark-drbd-fence-peer",
        &workspace_bin("bulwark-drbd-fence-peer"),
    );
    stage.add_fence_agent(
        "bulwark-drbd-unfence-peer",
        &workspace_bin("bulwark-drbd-unfence-peer"),
    );
    for tool in ["drbdadm", "drbdsetup"] {
        stage.add_sbin_script(
            tool,
            &format!(
                "#!/bin/sh\nDRBD_SIM_DIR='{}' exec /usr/sbin/drbd-sim {tool} \"$@\"\n",
                sim.node.dir().display()
            ),
        );
    }
    stage
}

/// The role crm_mon shows for the clone instance (`Promoted`, `Unpromoted`, `Stopped` …).
fn instance_role(cluster: &Cluster) -> String {
    let xml = cluster.crm_mon_xml();
    xml.lines()
        .find(|l| l.contains("<resource id=\"mailstore\""))
        .and_then(|l| l.split("role=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
        .to_string()
}

/// The node attribute `master-mailstore` (the promotion score), if set.
fn promotion_score(cluster: &Cluster) -> Option<String> {
    let out = cluster.exec(&[
        "crm_attribute",
        "-N",
        "node1",
        "-l",
        "reboot",
        "-n",
        "master-mailstore",
        "-G",
        "-q",
    ]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn constraints(cluster: &Cluster) -> String {
    cluster.exec_ok(&["cibadmin", "-Q", "-o", "constraints"])
}

/// The constraints, one trimmed tag per line, with the role's old name (`Master`, which
/// crm-fence-peer.9.sh writes) read as the current one and the default `boolean-op` dropped.
fn normalized(constraints: &str) -> String {
    constraints
        .lines()
        .map(|l| {
            l.trim()
                .replace("role=\"Master\"", "role=\"Promoted\"")
                .replace(" boolean-op=\"and\"", "")
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// LINBIT's handler (drbd-utils, as shipped) with the same environment and arguments.
fn linbit_handler(cluster: &Cluster, name: &str, env: &[&str], args: &[&str]) -> Output {
    let mut cmd = vec!["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
    cmd.extend_from_slice(env);
    let path = format!("/usr/lib/drbd/{name}");
    cmd.push(&path);
    let lock_dir = cluster.lab_dir().join("lock").display().to_string();
    cmd.extend_from_slice(&["--lock-dir", &lock_dir]);
    cmd.extend_from_slice(args);
    cluster.exec(&cmd)
}

fn handler(cluster: &Cluster, name: &str, env: &[&str], args: &[&str]) -> Output {
    let mut cmd = vec!["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
    cmd.extend_from_slice(env);
    let path = format!("/usr/sbin/{name}");
    cmd.push(&path);
    // The handlers' lock in the lab, not in the host's /var/lock.
    let lock_dir = cluster.lab_dir().join("lock").display().to_string();
    cmd.extend_from_slice(&["--lock-dir", &lock_dir]);
    cmd.extend_from_slice(args);
    cluster.exec(&cmd)
}

const DRBD_ENV: &[&str] = &[
    "DRBD_RESOURCE=r0",
    "DRBD_MY_NODE_ID=0",
    "DRBD_PEER_NODE_ID=1",
    "DRBD_NODE_ID_0=node1",
    "DRBD_NODE_ID_1=node2",
    "UP_TO_DATE_NODES=0x00000001",
];

#[test]
fn promotable_clone_and_fence_handler_under_pacemaker() {
    let sim = SimDir::new();
    // Down, local data Outdated, peer unreachable: must start, but never be promoted.
    sim.node.ctl(&["up=no", "md_disk=Outdated"]);
    sim.node.flag("peer-disconnect", true);
    let stage = stage_with_simulator(&sim);
    let cluster = Cluster::single(&stage);
    cluster.exec_ok(&[
        "pcs",
        "resource",
        "create",
        "mailstore",
        "ocf:bulwark:drbd",
        "drbd_resource=r0",
        "op",
        "monitor",
        "interval=3s",
        "role=Promoted",
        "op",
        "monitor",
        "interval=4s",
        "role=Unpromoted",
        "promotable",
        "notify=true",
    ]);
    let lab = cluster.lab_dir().display().to_string();
    let ok = cluster.wait_for(WAIT, || instance_role(&cluster) == "Unpromoted");
    assert!(
        ok,
        "not started unpromoted: {} (lab {lab})",
        cluster.crm_mon_xml()
    );
    assert_eq!(sim.node.key("up"), "yes");
    // A few monitors later it is still not promoted, and has no score.
    std::thread::sleep(Duration::from_secs(9));
    assert_eq!(instance_role(&cluster), "Unpromoted");
    assert_eq!(sim.node.role(), "Secondary");
    assert_eq!(promotion_score(&cluster), None);

    // The data becomes UpToDate: score 1000 (peer unknown), promoted, then 10000 as Primary.
    sim.node.ctl(&["md_disk=UpToDate"]);
    let ok = cluster.wait_for(WAIT, || instance_role(&cluster) == "Promoted");
    assert!(ok, "not promoted: {} (lab {lab})", cluster.crm_mon_xml());
    assert_eq!(sim.node.role(), "Primary");
    let ok = cluster.wait_for(WAIT, || {
        promotion_score(&cluster).as_deref() == Some("10000")
    });
    assert!(ok, "score {:?}", promotion_score(&cluster));

    // --- The fence-peer handler against this CIB. node2 is a known, cleanly offline node.
    cluster.exec_ok(&[
        "cibadmin",
        "-C",
        "-o",
        "nodes",
        "-X",
        "<node id=\"2\" uname=\"node2\"/>",
    ]);
    // The controller-answer contract against the real crmadmin (the handler asks it about
    // the peer; here the only node with a controller is this one): Pacemaker accepts the ms
    // unit the handler passes, and its answer reads as "reachable".
    let o = cluster.exec(&["crmadmin", "-t", "3600ms", "-S", "node1"]);
    assert!(
        o.status.success()
            && bulwark::drbd::fence_peer::controller_answered(&String::from_utf8_lossy(&o.stdout)),
        "{}",
        output_text(&o)
    );
    let fence_args = ["--timeout", "15", "--dc-timeout", "10"];
    let o = handler(&cluster, "bulwark-drbd-fence-peer", DRBD_ENV, &fence_args);
    // node2 has no node_state: never confirmed down nor answering, so after the timeout
    // the constraint is placed with UpToDate data and DRBD told "unreachable" (5), as
    // crm-fence-peer.9.sh does.
    assert_eq!(o.status.code(), Some(5), "{}", output_text(&o));
    let c = constraints(&cluster);
    assert!(
        c.contains("drbd-fence-by-handler-r0-mailstore-clone")
            && c.contains("score=\"-INFINITY\"")
            && c.contains("value=\"node1\""),
        "{c}"
    );
    // LINBIT's crm-fence-peer.9.sh in the same state, against the same live CIB: the same
    // exit code and the same constraint. Its constraint stays for what follows (ours must
    // accept a constraint the script wrote).
    let ours_wrote = normalized(&c);
    let drop_constraint = |cluster: &Cluster| {
        cluster.exec_ok(&[
            "cibadmin",
            "-D",
            "-o",
            "constraints",
            "-X",
            "<rsc_location id=\"drbd-fence-by-handler-r0-mailstore-clone\"/>",
        ]);
    };
    drop_constraint(&cluster);
    let o = linbit_handler(&cluster, "crm-fence-peer.9.sh", DRBD_ENV, &fence_args);
    assert_eq!(o.status.code(), Some(5), "{}", output_text(&o));
    assert_eq!(normalized(&constraints(&cluster)), ours_wrote);
    // It allows this node: still promoted.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(instance_role(&cluster), "Promoted");
    // Again: the constraint is already there → 4.
    let o = handler(&cluster, "bulwark-drbd-fence-peer", DRBD_ENV, &fence_args);
    assert_eq!(o.status.code(), Some(4), "{}", output_text(&o));
    // Unfence while the peer is still away: kept, by LINBIT's and by ours.
    let o = linbit_handler(&cluster, "crm-unfence-peer.9.sh", DRBD_ENV, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert_eq!(normalized(&constraints(&cluster)), ours_wrote);
    let o = handler(&cluster, "bulwark-drbd-unfence-peer", DRBD_ENV, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(output_text(&o).contains("kept"), "{}", output_text(&o));
    assert!(constraints(&cluster).contains("drbd-fence-by-handler-r0"));
    // The peer is back and UpToDate: unfence (symlink name) removes it.
    sim.node.flag("peer-disconnect", false);
    let o = handler(&cluster, "bulwark-drbd-unfence-peer", DRBD_ENV, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(
        !constraints(&cluster).contains("drbd-fence-by-handler-r0"),
        "{}",
        constraints(&cluster)
    );
    // And again: nothing to do.
    let o = handler(
        &cluster,
        "bulwark-drbd-fence-peer",
        DRBD_ENV,
        &["--unfence"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    // Peer disks all UpToDate (link back): fencing is refused, no constraint; LINBIT's too.
    let o = handler(&cluster, "bulwark-drbd-fence-peer", DRBD_ENV, &fence_args);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(!constraints(&cluster).contains("drbd-fence-by-handler-r0"));
    let o = linbit_handler(&cluster, "crm-fence-peer.9.sh", DRBD_ENV, &fence_args);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(!constraints(&cluster).contains("drbd-fence-by-handler-r0"));
    // Someone else's constraint rejects this node: fail (1), I/O stays frozen, as
    // crm-fence-peer.9.sh does.
    sim.node.flag("peer-disconnect", true);
    let theirs = "<rsc_location rsc=\"mailstore-clone\" id=\"drbd-fence-by-handler-r0-mailstore-clone\"><rule role=\"Promoted\" score=\"-INFINITY\" id=\"drbd-fence-by-handler-r0-rule-mailstore-clone\"><expression attribute=\"#uname\" operation=\"ne\" value=\"node2\" id=\"drbd-fence-by-handler-r0-expr-1-mailstore-clone\"/></rule></rsc_location>";
    cluster.exec_ok(&["cibadmin", "-C", "-o", "constraints", "-X", theirs]);
    let o = handler(&cluster, "bulwark-drbd-fence-peer", DRBD_ENV, &fence_args);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    // Their constraint is not ours to remove.
    let o = handler(&cluster, "bulwark-drbd-unfence-peer", DRBD_ENV, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(constraints(&cluster).contains("value=\"node2\""));
    cluster.exec_ok(&[
        "cibadmin",
        "-D",
        "-o",
        "constraints",
        "-X",
        "<rsc_location id=\"drbd-fence-by-handler-r0-mailstore-clone\"/>",
    ]);
    let ok = cluster.wait_for(WAIT, || instance_role(&cluster) == "Promoted");
    assert!(ok, "not promoted again: {}", cluster.crm_mon_xml());

    // Bad input: exit 1 with one line, nothing placed.
    let env_without = |skip: &str| -> Vec<&str> {
        DRBD_ENV
            .iter()
            .copied()
            .filter(|e| !e.starts_with(skip))
            .collect()
    };
    let bad: Vec<(Vec<&str>, Vec<&str>, &str)> = vec![
        (
            env_without("DRBD_RESOURCE"),
            vec![],
            "DRBD_RESOURCE is not set",
        ),
        (
            [
                env_without("DRBD_RESOURCE"),
                vec!["DRBD_RESOURCE=r0;reboot"],
            ]
            .concat(),
            vec![],
            "DRBD_RESOURCE",
        ),
        (
            [env_without("DRBD_RESOURCE"), vec!["DRBD_RESOURCE=r9"]].concat(),
            fence_args.to_vec(),
            "no promotable clone with drbd_resource=r9",
        ),
        (
            [env_without("UP_TO_DATE_NODES"), vec!["UP_TO_DATE_NODES=zz"]].concat(),
            vec![],
            "UP_TO_DATE_NODES",
        ),
        (
            [
                env_without("DRBD_PEER_NODE_ID"),
                vec!["DRBD_PEER_NODE_ID=7"],
            ]
            .concat(),
            fence_args.to_vec(),
            "DRBD_NODE_ID_7",
        ),
        (DRBD_ENV.to_vec(), vec!["--timeout", "soon"], "--timeout"),
        (DRBD_ENV.to_vec(), vec!["--frobnicate"], "unknown option"),
    ];
    for (env, args, want) in bad {
        let o = handler(&cluster, "bulwark-drbd-fence-peer", &env, &args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{env:?} {args:?}: {}",
            output_text(&o)
        );
        assert!(
            output_text(&o).contains(want),
            "{env:?} {args:?}: {}",
            output_text(&o)
        );
    }
    assert!(!constraints(&cluster).contains("drbd-fence-by-handler-r0"));

    // --- Losing the peer and then the local data: score removed, demoted.
    sim.node.ctl(&["md_disk=Outdated"]);
    let ok = cluster.wait_for(WAIT, || instance_role(&cluster) == "Unpromoted");
    assert!(ok, "not demoted: {} (lab {lab})", cluster.crm_mon_xml());
    assert_eq!(sim.node.role(), "Secondary");
    let ok = cluster.wait_for(WAIT, || promotion_score(&cluster).is_none());
    assert!(ok, "score still {:?}", promotion_score(&cluster));
    // Fencing with Outdated local data places nothing (5 or 1 without DC), never 4/7.
    let o = handler(&cluster, "bulwark-drbd-fence-peer", DRBD_ENV, &fence_args);
    assert_eq!(o.status.code(), Some(5), "{}", output_text(&o));
    assert!(!constraints(&cluster).contains("drbd-fence-by-handler-r0"));

    // Disable: stopped, DRBD down, score gone.
    cluster.exec_ok(&["pcs", "resource", "disable", "mailstore-clone"]);
    let ok = cluster.wait_for(WAIT, || sim.node.key("up") == "no");
    assert!(ok, "DRBD still up after disable (lab {lab})");
}
