//! `ocf:bulwark:drbd` run directly against the DRBD simulator: ocf-tester, every action's
//! exit code, the promotion score it sets (through a `crm_attribute` stand-in that records
//! its calls), DRBD 8.4's sh-status, and every bad-input case. No cluster here (see
//! tests/drbd_cluster.rs). Needs `cargo build --workspace --bins` first.

mod support;

use std::process::{Command, Output};
use std::time::Duration;
use support::sim_node::AgentSim as Sim;
use support::{exit_reason, output_text, run_within, workspace_bin, RunnableBin};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn ocf_tester_passes_with_the_simulator() {
    let sim = Sim::new();
    let conf = format!("drbdconf={}", sim.root().join("drbd.conf").display());
    // ocf-tester runs the agent as `nobody` too.
    let agent = RunnableBin::new("drbd");
    let mut cmd = Command::new("ocf-tester");
    cmd.args(["-n", "mailstore"]);
    for o in [
        "drbd_resource=r0",
        conf.as_str(),
        "CRM_meta_clone_max=2",
        "CRM_meta_clone_node_max=1",
        "CRM_meta_promoted_max=1",
        "CRM_meta_promoted_node_max=1",
        "CRM_meta_notify=true",
    ] {
        cmd.args(["-o", o]);
    }
    cmd.arg(agent.path())
        .env("PATH", sim.path_env())
        .env("DRBD_SIM_DIR", sim.root().join("node"))
        .env("BULWARK_PROC_DRBD", sim.root().join("no-proc-drbd"))
        .env_remove("DRBD_SIM_PEER_DIR")
        .env_remove("DRBD_SIM_VERSION");
    let out = run_within(&mut cmd, Duration::from_secs(300));
    let t = output_text(&out);
    assert!(out.status.success(), "ocf-tester failed:\n{t}");
    assert!(t.contains("passed all tests"), "{t}");
    // ocf-tester promoted and demoted it: the simulator saw both, and it ends stopped.
    let log = std::fs::read_to_string(sim.root().join("attr.log")).unwrap_or_default();
    assert!(log.contains("-v 10000"), "{log}");
    assert_eq!(sim.node.key("up"), "no");
    assert_eq!(sim.node.role(), "Secondary");
    assert_eq!(sim.score(), None, "stop removes the score");
}

#[test]
fn lifecycle_scores_and_roles() {
    let sim = Sim::new();
    let probe = [("interval", "")];
    // Stopped: a probe says 7 and leaves the score alone.
    let o = sim.run("monitor", &[], &probe);
    assert_eq!(code(&o), 7, "{}", output_text(&o));
    // Start brings it up and connects: both UpToDate → 10000.
    let o = sim.ok("start");
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.key("up"), "yes");
    assert_eq!(sim.score().as_deref(), Some("10000"));
    assert_eq!(code(&sim.ok("monitor")), 0);
    // Peer lost: UpToDate, peer unknown → 1000.
    sim.node.flag("peer-disconnect", true);
    assert_eq!(code(&sim.ok("monitor")), 0);
    assert_eq!(sim.score().as_deref(), Some("1000"));
    // Local data Outdated, peer lost → no score; promote refuses (exit 17 from DRBD).
    sim.node.ctl(&["md_disk=Outdated"]);
    assert_eq!(code(&sim.ok("monitor")), 0);
    assert_eq!(sim.score(), None);
    // A short timeout bounds the anti-loop throttle.
    let o = sim.run("promote", &[], &[("timeout", "3000")]);
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(
        exit_reason(&o)
            .contains("Refusing to be promoted to Primary without access to UpToDate data"),
        "{}",
        exit_reason(&o)
    );
    assert_eq!(sim.node.role(), "Secondary");
    // Only the peer UpToDate (connected, resync running): 10.
    sim.node.flag("peer-disconnect", false);
    sim.node.ctl(&["resync_finish_at=4000000000"]);
    assert_eq!(code(&sim.ok("monitor")), 0);
    assert_eq!(sim.score().as_deref(), Some("10"));
    sim.node.ctl(&["md_disk=UpToDate", "resync_finish_at="]);
    // Promote, monitor 8, demote, 0.
    let o = sim.ok("promote");
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.role(), "Primary");
    assert_eq!(code(&sim.ok("monitor")), 8);
    assert_eq!(sim.score().as_deref(), Some("10000"));
    // Held open: demote fails within its deadline and says what DRBD said.
    sim.node.flag("held-open", true);
    let o = sim.run("demote", &[], &[("timeout", "4000")]);
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("cannot demote r0"),
        "{}",
        exit_reason(&o)
    );
    assert!(exit_reason(&o).contains("held open"), "{}", exit_reason(&o));
    assert!(
        exit_reason(&o).contains("/dev/drbd0"),
        "{}",
        exit_reason(&o)
    );
    let o = sim.run("stop", &[], &[("timeout", "4000")]);
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("cannot stop r0"),
        "{}",
        exit_reason(&o)
    );
    sim.node.flag("held-open", false);
    assert_eq!(code(&sim.ok("demote")), 0);
    assert_eq!(sim.node.role(), "Secondary");
    // Notify never fails, even when DRBD hangs; stop removes the score.
    sim.node.flag("hang", true);
    let o = sim.run(
        "notify",
        &[],
        &[
            ("timeout", "2000"),
            ("notify_type", "post"),
            ("notify_operation", "start"),
        ],
    );
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    sim.node.flag("hang", false);
    assert_eq!(code(&sim.ok("stop")), 0);
    assert_eq!(sim.score(), None);
    assert_eq!(code(&sim.ok("monitor")), 7);
}

/// S2: with `remove_master_score_if_peer_primary=unexpected`, a Primary peer that Pacemaker
/// reports as promoted keeps this node's score; one it does not know about removes it.
#[test]
fn unexpected_peer_primary_reads_the_promoted_node_from_crm_resource() {
    let sim = Sim::new();
    assert_eq!(code(&sim.ok("start")), 0);
    sim.node.ctl(&["peer_role=Primary"]);
    let rule = [("remove_master_score_if_peer_primary", "unexpected")];
    let locate = |text: &str| std::fs::write(sim.root().join("locate"), text).unwrap();
    // Pacemaker 2.1 spelling, then the older one: the Primary is expected, score kept.
    for known in [
        "resource mailstore is running on: node1\nresource mailstore is running on: peer-node Promoted\n",
        "resource mailstore is running on: peer-node Master\n",
    ] {
        locate(known);
        let o = sim.run("monitor", &rule, &[]);
        assert_eq!(code(&o), 0, "{}", output_text(&o));
        assert_eq!(sim.score().as_deref(), Some("10000"), "{known}");
    }
    let log = std::fs::read_to_string(sim.root().join("crm_resource.log")).unwrap();
    assert!(log.contains("--resource mailstore --locate"), "{log}");
    assert!(!log.contains("--quiet"), "quiet output has no roles: {log}");
    // Pacemaker knows no Primary (or only bare names): unexpected, score removed.
    for unknown in [
        "resource mailstore is running on: node1\nresource mailstore is running on: peer-node\n",
        "node1\npeer-node\n",
    ] {
        std::fs::write(sim.root().join("score"), "10000\n").unwrap();
        locate(unknown);
        assert_eq!(code(&sim.run("monitor", &rule, &[])), 0);
        assert_eq!(sim.score(), None, "{unknown}");
    }
    // promoted-max=2: a second Primary is expected by definition.
    sim.node.ctl(&["allow_two_primaries=yes"]);
    let o = sim.run("monitor", &rule, &[("promoted_max", "2")]);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.score().as_deref(), Some("10000"));
    // The default (false) never asks Pacemaker.
    std::fs::remove_file(sim.root().join("crm_resource.log")).unwrap();
    assert_eq!(code(&sim.ok("monitor")), 0);
    assert!(!sim.root().join("crm_resource.log").exists());

    // The same against Pacemaker's own crm_resource reading a CIB in which the peer's
    // instance is promoted (its last operation a successful promote), or only started.
    std::fs::remove_file(sim.root().join("bin/crm_resource")).unwrap();
    let me = bulwark::drbd::agent::local_node_name();
    for (peer_op, want) in [("promote", Some("10000")), ("start", None)] {
        let cib = sim.root().join(format!("cib-{peer_op}.xml"));
        std::fs::write(&cib, cib_with_peer(&me, "peer-node", peer_op)).unwrap();
        std::fs::write(sim.root().join("score"), "10000\n").unwrap();
        let mut c = sim.command("monitor", &rule, &[]);
        c.env("CIB_file", &cib);
        let o = run_within(&mut c, Duration::from_secs(60));
        assert_eq!(code(&o), 0, "{}", output_text(&o));
        assert_eq!(
            sim.score().as_deref(),
            want,
            "peer's last operation {peer_op}"
        );
    }
}

/// A two-node CIB with the promotable clone `mailstore` started on `me` and `peer_op`
/// (`start` or `promote`) as the last operation of the instance on `peer`.
fn cib_with_peer(me: &str, peer: &str, peer_op: &str) -> String {
    let op = |node: &str, id: u32, op: &str| {
        format!(
            "<node_state id=\"{id}\" uname=\"{node}\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\"><lrm id=\"{id}\"><lrm_resources>\
             <lrm_resource id=\"mailstore\" class=\"ocf\" provider=\"bulwark\" type=\"drbd\">\
             <lrm_rsc_op id=\"mailstore_last_0\" operation_key=\"mailstore_{op}_0\" operation=\"{op}\" crm-debug-origin=\"test\" crm_feature_set=\"3.16.2\" \
             transition-key=\"{id}:1:0:6b2c1c46-8f5b-4b4a-a6a6-000000000001\" transition-magic=\"0:0;{id}:1:0:6b2c1c46-8f5b-4b4a-a6a6-000000000001\" \
             exit-reason=\"\" call-id=\"{id}\" rc-code=\"0\" op-status=\"0\" interval=\"0\" last-rc-change=\"1700000000\" exec-time=\"1\" queue-time=\"0\" op-digest=\"x\" on_node=\"{node}\"/>\
             </lrm_resource></lrm_resources></lrm></node_state>"
        )
    };
    format!(
        "<cib crm_feature_set=\"3.16.2\" validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\">\
         <configuration><crm_config><cluster_property_set id=\"o\"><nvpair id=\"o1\" name=\"stonith-enabled\" value=\"false\"/></cluster_property_set></crm_config>\
         <nodes><node id=\"1\" uname=\"{me}\"/><node id=\"2\" uname=\"{peer}\"/></nodes>\
         <resources><clone id=\"mailstore-clone\"><meta_attributes id=\"m\"><nvpair id=\"m1\" name=\"promotable\" value=\"true\"/><nvpair id=\"m2\" name=\"notify\" value=\"true\"/></meta_attributes>\
         <primitive id=\"mailstore\" class=\"ocf\" provider=\"bulwark\" type=\"drbd\"/></clone></resources><constraints/></configuration>\
         <status>{}{}</status></cib>",
        op(me, 1, "start"),
        op(peer, 2, peer_op)
    )
}

/// A DRBD release with a state name we do not know: on a peer field it reads as unknown
/// (running, score for an unknown peer); on this node's disk it stays a refusal to score.
#[test]
fn unknown_peer_state_names_read_as_unknown() {
    let sim = Sim::new();
    assert_eq!(code(&sim.ok("start")), 0);
    let fake = |name: &str, events: &str| {
        sim.script(
            name,
            &format!("#!/bin/sh\ncase \"$1\" in events2) printf '%s' '{events}';; *) exec drbdsetup \"$@\";; esac\n"),
        )
    };
    let peer_new = fake(
        "future-peer",
        "exists resource name:r0 role:Secondary suspended:no\nexists connection name:r0 peer-node-id:1 conn-name:node2 connection:Federated role:Arbiter\nexists device name:r0 volume:0 minor:0 disk:UpToDate client:no quorum:yes\nexists peer-device name:r0 peer-node-id:1 conn-name:node2 volume:0 replication:Mirroring peer-disk:Pristine peer-client:no resync-suspended:no\nexists -\n",
    );
    let mut c = sim.command("monitor", &[], &[]);
    c.env("BULWARK_DRBDSETUP", &peer_new);
    let o = run_within(&mut c, Duration::from_secs(60));
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.score().as_deref(), Some("1000"));
    let local_new = fake(
        "future-local",
        "exists resource name:r0 role:Secondary suspended:no\nexists device name:r0 volume:0 minor:0 disk:Pristine client:no quorum:yes\nexists -\n",
    );
    let mut c = sim.command("monitor", &[], &[]);
    c.env("BULWARK_DRBDSETUP", &local_new);
    let o = run_within(&mut c, Duration::from_secs(60));
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(exit_reason(&o).contains("Pristine"), "{}", exit_reason(&o));
    assert_eq!(sim.score(), None);
}

/// S5: a removal happens even when reading the current score fails.
#[test]
fn score_is_removed_even_when_the_query_fails() {
    let sim = Sim::new();
    assert_eq!(code(&sim.ok("start")), 0);
    assert_eq!(sim.score().as_deref(), Some("10000"));
    std::fs::write(sim.root().join("get-fails"), "").unwrap();
    sim.node.ctl(&["md_disk=Outdated"]);
    sim.node.flag("peer-disconnect", true);
    assert_eq!(code(&sim.ok("monitor")), 0);
    assert_eq!(sim.score(), None);
}

#[test]
fn stop_outdates_a_secondary_that_lost_its_primary_peer() {
    let sim = Sim::new();
    assert_eq!(code(&sim.ok("start")), 0);
    sim.node.ctl(&["peer_role=Primary"]);
    sim.node.flag("peer-disconnect", true);
    let notify = |enabled: &str, stop_uname: &str| {
        sim.run(
            "notify",
            &[("stop_outdates_secondary", enabled)],
            &[
                ("notify_type", "post"),
                ("notify_operation", "stop"),
                ("notify_promoted_uname", "peer-node"),
                ("notify_stop_uname", stop_uname),
            ],
        )
    };
    // Off by default; and a Primary being stopped does not count.
    assert_eq!(code(&notify("false", " ")), 0);
    assert_eq!(sim.node.key("md_disk"), "");
    assert_eq!(code(&notify("true", "peer-node")), 0);
    assert_eq!(sim.node.key("md_disk"), "");
    let o = notify("true", " ");
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.key("md_disk"), "Outdated");
    assert_eq!(sim.score(), None);
}

#[test]
fn drbd_84_sh_status() {
    let sim = Sim::new();
    std::fs::write(
        sim.root().join("proc-drbd"),
        "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 0\n",
    )
    .unwrap();
    let run = |action: &str| {
        let mut c = sim.command(action, &[], &[]);
        c.env("DRBD_SIM_VERSION", "8.4")
            .env("BULWARK_PROC_DRBD", sim.root().join("proc-drbd"));
        run_within(&mut c, Duration::from_secs(60))
    };
    assert_eq!(code(&run("monitor")), 7);
    let o = run("start");
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.score().as_deref(), Some("10000"));
    assert_eq!(code(&run("promote")), 0);
    assert_eq!(code(&run("monitor")), 8);
    assert_eq!(code(&run("demote")), 0);
    assert_eq!(code(&run("stop")), 0);
    assert_eq!(code(&run("monitor")), 7);
}

#[test]
fn bad_input_is_refused_with_one_reason() {
    let sim = Sim::new();
    let probe = [("interval", "")];
    // Parameters: each a configuration error (6) naming the parameter.
    for (param, value, want) in [
        ("drbd_resource", "r0;reboot", "drbd_resource"),
        ("drbd_resource", "-r0", "drbd_resource"),
        ("adjust_master_score", "0 10 1000", "adjust_master_score"),
        (
            "adjust_master_score",
            "0 10000 1000 10000",
            "adjust_master_score",
        ),
        ("adjust_master_score", "0 10 x 10000", "adjust_master_score"),
        (
            "remove_master_score_if_peer_primary",
            "maybe",
            "remove_master_score_if_peer_primary",
        ),
        ("wfc_timeout", "soon", "wfc_timeout"),
        (
            "require_drbd_module_version_ge",
            "9",
            "require_drbd_module_version_ge",
        ),
        (
            "stop_outdates_secondary",
            "perhaps",
            "stop_outdates_secondary",
        ),
    ] {
        let o = sim.run("validate-all", &[(param, value)], &[]);
        assert_eq!(code(&o), 6, "{param}={value}: {}", output_text(&o));
        assert!(
            exit_reason(&o).contains(want),
            "{param}={value}: {}",
            exit_reason(&o)
        );
        // A probe with a bad configuration reports "not running", never "misconfigured".
        assert_eq!(code(&sim.run("monitor", &[(param, value)], &probe)), 7);
    }
    let o = sim.run("validate-all", &[("drbd_resource", "")], &[]);
    assert_eq!(code(&o), 6, "{}", output_text(&o));
    // Clone meta-attributes.
    for (meta, want) in [
        (&[("clone_max", "")][..], "promotable clone"),
        (&[("clone_node_max", "2")], "clone-node-max must be 1"),
        (&[("promoted_node_max", "2")], "promoted-node-max must be 1"),
        (&[("promoted_max", "3")], "promoted-max must be 1 or 2"),
        (&[("notify", "false")], "notify=true"),
    ] {
        let o = sim.run("validate-all", &[], meta);
        assert_eq!(code(&o), 6, "{meta:?}: {}", output_text(&o));
        assert!(
            exit_reason(&o).contains(want),
            "{meta:?}: {}",
            exit_reason(&o)
        );
    }
    // No promoted-max (resource-agents' ocft suite, a hand run): Pacemaker's default, 1, as
    // drbd.ocf assumes.
    let o = sim.run(
        "validate-all",
        &[],
        &[
            ("promoted_max", ""),
            ("master_max", ""),
            ("promoted_node_max", ""),
            ("master_node_max", ""),
        ],
    );
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    // promoted-max=2 needs allow-two-primaries (a host check: start, or validate level 10).
    let o = sim.run("start", &[], &[("promoted_max", "2")]);
    assert_eq!(code(&o), 6, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("allow-two-primaries"),
        "{}",
        exit_reason(&o)
    );
    sim.node.ctl(&["allow_two_primaries=yes"]);
    let mut c = sim.command("validate-all", &[], &[("promoted_max", "2")]);
    c.env("OCF_CHECK_LEVEL", "10");
    assert_eq!(code(&run_within(&mut c, Duration::from_secs(60))), 0);
    sim.node.ctl(&["allow_two_primaries="]);
    // Unknown resource: probe 7, start 5 with the reason, recurring monitor 5.
    let unknown = [("drbd_resource", "r9")];
    assert_eq!(code(&sim.run("monitor", &unknown, &probe)), 7);
    let o = sim.run("start", &unknown, &[]);
    assert_eq!(code(&o), 5, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("r9 is not defined"),
        "{}",
        exit_reason(&o)
    );
    assert_eq!(code(&sim.run("monitor", &unknown, &[])), 5);
    assert_eq!(sim.node.key("up"), "no", "nothing was started");
    // Unreadable configuration file: 5 on start.
    let o = sim.run("start", &[("drbdconf", "/nonexistent/drbd.conf")], &[]);
    assert_eq!(code(&o), 5, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("/nonexistent/drbd.conf"),
        "{}",
        exit_reason(&o)
    );
    // Module version outside the required range: 5.
    let o = sim.run("start", &[("require_drbd_module_version_lt", "9.0.0")], &[]);
    assert_eq!(code(&o), 5, "{}", output_text(&o));
    assert!(exit_reason(&o).contains("9.2.2"), "{}", exit_reason(&o));
    // Attach failure: 1 with DRBD's message.
    sim.node.flag("fail-attach", true);
    let o = sim.ok("start");
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("Can not open backing device"),
        "{}",
        exit_reason(&o)
    );
    sim.node.flag("fail-attach", false);
    // Status DRBD never prints: 1 with the offending text, never a score, never a promote.
    assert_eq!(code(&sim.ok("start")), 0);
    assert!(sim.score().is_some());
    for (garbage, want) in [
        (
            "exists resource name:r0 role:Secondary suspended:no\nexists device name:r0 volume:0 minor:0 disk:Sparkling client:no quorum:yes\nexists -\n",
            "Sparkling",
        ),
        ("exists resource name:r0 role:Secondary suspended:no\n", "truncated"),
        ("exists resource name:r0 role:Chief suspended:no\nexists -\n", "Chief"),
        ("\u{1}\u{2}binary", "events2"),
    ] {
        let fake = sim.script(
            "fake-drbdsetup",
            &format!("#!/bin/sh\nprintf '%s' '{}'\n", garbage.replace('\'', "")),
        );
        for action in ["monitor", "promote"] {
            let mut c = sim.command(action, &[], &[("timeout", "3000")]);
            c.env("BULWARK_DRBDSETUP", &fake);
            let o = run_within(&mut c, Duration::from_secs(60));
            assert_eq!(code(&o), 1, "{action} {garbage:?}: {}", output_text(&o));
            assert!(exit_reason(&o).contains(want), "{action} {garbage:?}: {}", exit_reason(&o));
            assert_eq!(sim.score(), None, "{action} {garbage:?}");
            assert_eq!(sim.node.role(), "Secondary");
        }
    }
    // A hung drbdsetup: the monitor ends within its deadline with a timeout reason.
    sim.node.flag("hang", true);
    let o = sim.run("monitor", &[], &[("timeout", "3000")]);
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(exit_reason(&o).contains("timed out"), "{}", exit_reason(&o));
    sim.node.flag("hang", false);
    // Stop with an unusable configuration still takes DRBD down.
    let o = sim.run("stop", &[("adjust_master_score", "junk")], &[]);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.key("up"), "no");
    // Reload of a stopped instance says so; unknown actions and no action.
    assert_eq!(code(&sim.ok("reload")), 7);
    assert_eq!(code(&sim.ok("migrate_to")), 3);
    let o = run_within(
        &mut Command::new(workspace_bin("drbd")),
        Duration::from_secs(10),
    );
    assert_eq!(code(&o), 2);
}

fn log_of(sim: &Sim, name: &str) -> String {
    std::fs::read_to_string(sim.root().join("node").join(name)).unwrap_or_default()
}

#[test]
fn unfence_if_all_uptodate_runs_the_handler_with_its_extra_args() {
    let sim = Sim::new();
    let on = [("unfence_if_all_uptodate", "true")];
    assert_eq!(code(&sim.run("start", &on, &[])), 0);
    // Secondary: never.
    assert_eq!(code(&sim.run("monitor", &on, &[])), 0);
    assert_eq!(log_of(&sim, "unfence.log"), "");
    assert_eq!(code(&sim.run("promote", &on, &[])), 0);
    let _ = std::fs::remove_file(sim.root().join("node/unfence.log"));
    // Off by default.
    assert_eq!(code(&sim.ok("monitor")), 8);
    assert_eq!(log_of(&sim, "unfence.log"), "");
    assert_eq!(code(&sim.run("monitor", &on, &[])), 8);
    assert_eq!(
        log_of(&sim, "unfence.log"),
        "unfence-peer r0 extra_args=--quiet --flock-required --flock-timeout 0 --unfence-only-if-owner-match\n"
    );
    let custom = [
        ("unfence_if_all_uptodate", "true"),
        ("unfence_extra_args", "--quiet"),
    ];
    assert_eq!(code(&sim.run("monitor", &custom, &[])), 8);
    assert!(log_of(&sim, "unfence.log").ends_with("extra_args=--quiet\n"));
    // The peer's disk unknown: not everyone is UpToDate, no unfencing.
    sim.node.flag("peer-disconnect", true);
    let before = log_of(&sim, "unfence.log");
    assert_eq!(code(&sim.run("monitor", &on, &[])), 8);
    assert_eq!(log_of(&sim, "unfence.log"), before);
}

#[test]
fn ignore_missing_notifications_and_monitor_without_notify() {
    let sim = Sim::new();
    let no_notify = [("notify", "false")];
    let o = sim.run("start", &[], &no_notify);
    assert_eq!(code(&o), 6, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("notify=true"),
        "{}",
        exit_reason(&o)
    );
    let ignore = [("ignore_missing_notifications", "true")];
    assert_eq!(code(&sim.run("start", &ignore, &no_notify)), 0);
    // A recurring monitor answers what it sees (drbd.ocf does not check notify there).
    let o = sim.run("monitor", &[], &no_notify);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(code(&sim.run("promote", &ignore, &no_notify)), 0);
    // Pacemaker passing notify variables counts as notifications on.
    let o = sim.run(
        "demote",
        &[],
        &[("notify", ""), ("notify_start_uname", " ")],
    );
    assert_eq!(code(&o), 0, "{}", output_text(&o));
}

#[test]
fn stop_outdates_the_secondary_while_a_peer_is_primary() {
    let sim = Sim::new();
    let stop = |enabled: &str, promoted: &str, stopping: &str| {
        assert_eq!(code(&sim.ok("start")), 0);
        let o = sim.run(
            "stop",
            &[("stop_outdates_secondary", enabled)],
            &[
                ("notify_promoted_uname", promoted),
                ("notify_stop_uname", stopping),
            ],
        );
        assert_eq!(code(&o), 0, "{}", output_text(&o));
        assert_eq!(sim.node.key("up"), "no");
        assert_eq!(sim.score(), None);
    };
    stop("false", "peer-node", " ");
    assert_eq!(sim.node.key("md_disk"), "");
    stop("true", "peer-node", "peer-node");
    assert_eq!(
        sim.node.key("md_disk"),
        "",
        "the Primary itself is stopping"
    );
    stop("true", " ", " ");
    assert_eq!(sim.node.key("md_disk"), "", "no Primary anywhere");
    stop("true", "peer-node", " ");
    assert_eq!(sim.node.key("md_disk"), "Outdated");
}

#[test]
fn reload_applies_parameters_without_demoting() {
    let sim = Sim::new();
    assert_eq!(code(&sim.ok("start")), 0);
    assert_eq!(code(&sim.ok("promote")), 0);
    assert_eq!(sim.score().as_deref(), Some("10000"));
    let o = sim.run("reload", &[("adjust_master_score", "0 5 500 5000")], &[]);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.role(), "Primary");
    assert_eq!(sim.score().as_deref(), Some("5000"));
    // A bad value is refused like anywhere else.
    let o = sim.run("reload", &[("adjust_master_score", "5000")], &[]);
    assert_eq!(code(&o), 6, "{}", output_text(&o));
    assert_eq!(sim.node.role(), "Primary");
    // Pacemaker reloads (instead of restarting) only agents claiming OCF 1.0 with `reload`.
    let xml = String::from_utf8(
        run_within(
            Command::new(workspace_bin("drbd")).arg("meta-data"),
            Duration::from_secs(10),
        )
        .stdout,
    )
    .unwrap();
    assert!(xml.contains("<action name=\"reload\""), "{xml}");
    assert!(xml.contains("<version>1.0</version>"), "{xml}");
}

#[test]
fn connect_only_after_promote_keeps_84_disconnected_until_promoted() {
    let sim = Sim::new();
    std::fs::write(
        sim.root().join("proc-drbd"),
        "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 0\n",
    )
    .unwrap();
    sim.node.ctl(&["net=no"]);
    let run = |action: &str, params: &[(&str, &str)]| {
        let mut c = sim.command(action, params, &[]);
        c.env("DRBD_SIM_VERSION", "8.4")
            .env("BULWARK_PROC_DRBD", sim.root().join("proc-drbd"));
        run_within(&mut c, Duration::from_secs(60))
    };
    let only = [("connect_only_after_promote", "true")];
    let o = run("start", &only);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.key("up"), "yes");
    assert_eq!(sim.node.key("net"), "no", "start did not connect");
    // A peer's start notification does not connect either; reload leaves it alone.
    let mut c = sim.command(
        "notify",
        &only,
        &[("notify_type", "pre"), ("notify_operation", "start")],
    );
    c.env("DRBD_SIM_VERSION", "8.4")
        .env("BULWARK_PROC_DRBD", sim.root().join("proc-drbd"));
    assert_eq!(code(&run_within(&mut c, Duration::from_secs(60))), 0);
    assert_eq!(code(&run("reload", &only)), 0);
    assert_eq!(sim.node.key("net"), "no");
    assert_eq!(code(&run("promote", &only)), 0);
    assert_eq!(sim.node.key("net"), "yes", "promote connected");
    assert_eq!(code(&run("demote", &only)), 0);
    assert_eq!(code(&run("stop", &only)), 0);
    // Without the parameter 8.4's start connects (and waits per device).
    let o = run("start", &[]);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    assert_eq!(sim.node.key("net"), "yes");
    assert!(
        log_of(&sim, "wfc.log").contains("wait-connect /dev/drbd0 --wfc-timeout=5"),
        "{}",
        log_of(&sim, "wfc.log")
    );
}

#[test]
fn fail_promote_early_only_for_an_unexpected_primary() {
    let sim = Sim::new();
    assert_eq!(code(&sim.ok("start")), 0);
    sim.node.ctl(&["peer_role=Primary"]);
    let early = [("fail_promote_early_if_peer_primary", "true")];
    // Pacemaker knows no Primary: the peer is unexpected, give up after one try.
    std::fs::write(
        sim.root().join("locate"),
        "resource mailstore is running on: peer-node\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let o = sim.run("promote", &early, &[("timeout", "30000")]);
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("already/still Primary"),
        "{}",
        exit_reason(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(20), "gave up early");
    assert_eq!(sim.score(), None);
    // Pacemaker knows the peer is promoted (it is about to demote it): keep trying.
    std::fs::write(
        sim.root().join("locate"),
        "resource mailstore is running on: peer-node Promoted\n",
    )
    .unwrap();
    let o = sim.run("promote", &early, &[("timeout", "4000")]);
    assert_eq!(code(&o), 1, "{}", output_text(&o));
    assert!(
        exit_reason(&o).contains("cannot promote r0"),
        "{}",
        exit_reason(&o)
    );
}

#[test]
fn wfc_timeout_zero_waits_until_the_start_deadline() {
    let sim = Sim::new();
    sim.node.ctl(&["wfc_blocks=yes"]);
    sim.node.flag("peer-disconnect", true);
    let started = std::time::Instant::now();
    let o = sim.run("start", &[("wfc_timeout", "0")], &[("timeout", "8000")]);
    assert_eq!(code(&o), 0, "{}", output_text(&o));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert!(log_of(&sim, "wfc.log").contains("--wfc-timeout=0"));
    assert_eq!(sim.score().as_deref(), Some("1000"));
    assert_eq!(code(&sim.ok("stop")), 0);
    // Empty: no wait at all.
    std::fs::remove_file(sim.root().join("node/wfc.log")).unwrap();
    assert_eq!(code(&sim.run("start", &[("wfc_timeout", "")], &[])), 0);
    assert_eq!(log_of(&sim, "wfc.log"), "");
}

#[test]
fn meta_data_declares_both_monitor_roles() {
    let o = run_within(
        Command::new(workspace_bin("drbd")).arg("meta-data"),
        Duration::from_secs(10),
    );
    let xml = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 0);
    assert!(xml.contains("role=\"Promoted\""), "{xml}");
    assert!(xml.contains("role=\"Unpromoted\""), "{xml}");
    assert!(
        xml.contains("interval=\"29s\"") || xml.contains("interval=\"29\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"drbd_resource\" unique=\"1\" required=\"1\""),
        "{xml}"
    );
}
