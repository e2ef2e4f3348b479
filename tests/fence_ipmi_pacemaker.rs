//! `fence_bulwark_ipmi` under pacemaker-fenced: a one-node Pacemaker with the agents staged in
//! its /usr/sbin and the BMC "of node2" (ipmi_sim) on the node's own loopback. Checks the
//! metadata the fencer sees against fence-agents' schema, `pcs stonith create`, a reboot
//! through `stonith_admin` (off confirmed before on, in the simulator's hook log), the fence
//! history, and that the password shows up in no process's argv and in no log of the run.

mod support;

use support::bmc;

use bmc::{ArgvWatch, Bmc};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{assert_secret_in_no_file, files_under, output_text, Cluster, LabDir, Stage};

const METADATA_RNG: &str = "/usr/share/cluster/relaxng/metadata.rng";

fn validates_against_fence_schema(xml: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("xmllint")
        .args(["--noout", "--relaxng", METADATA_RNG, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint (libxml2-utils)");
    child
        .stdin
        .take()
        .expect("xmllint stdin")
        .write_all(xml.as_bytes())
        .expect("write to xmllint");
    let out = child.wait_with_output().expect("xmllint");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stonith_admin_reboot_drives_the_bmc_off_then_on() {
    let stage = Stage::from_workspace();
    stage.require_fence("fence_bulwark_ipmi");
    stage.require_fence("fence_bulwark_idrac");
    let cluster = Cluster::single(&stage);
    let password = format!("Pm{}x{}k", std::process::id(), line!());
    let bmc = Bmc::start_in(&cluster.node_netns(1), &password);

    // The metadata as the fencer reports it validates against fence-agents' schema, except
    // for the `start`/`stop` actions with a `timeout` attribute that Pacemaker itself appends
    // (lib/fencing/st_rhcs.c); the schema has no such attribute, and stock agents
    // (fence_ipmilan) fail it the same way. Those two lines are removed, nothing else.
    for agent in ["fence_bulwark_ipmi", "fence_bulwark_idrac"] {
        let xml = cluster.exec_ok(&["stonith_admin", "--metadata", "-a", agent]);
        assert!(xml.contains(&format!("name=\"{agent}\"")), "{xml}");
        let added = |l: &str| {
            let l = l.trim_start();
            l.starts_with("<action name=\"start\" timeout=")
                || l.starts_with("<action name=\"stop\" timeout=")
        };
        assert_eq!(xml.lines().filter(|l| added(l)).count(), 2, "{xml}");
        let ours: String = xml
            .lines()
            .filter(|l| !added(l))
            .map(|l| format!("{l}\n"))
            .collect();
        let (ok, err) = validates_against_fence_schema(&ours);
        assert!(
            ok,
            "{agent}: metadata.rng rejects stonith_admin's metadata: {err}"
        );
    }

    // The password as a root-only file; the device is configured with its path.
    let secrets = LabDir::new("fipmi-pw");
    let pw_file = secrets.path().join("bmc-node2.pw");
    std::fs::write(&pw_file, format!("{password}\n")).expect("write password file");
    std::fs::set_permissions(&pw_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    let port = bmc.port.to_string();
    let created = cluster.exec(&[
        "pcs",
        "stonith",
        "create",
        "fence-node2",
        "fence_bulwark_ipmi",
        "ip=127.0.0.1",
        &format!("ipport={port}"),
        "username=admin",
        &format!("password_file={}", pw_file.display()),
        "lanplus=1",
        "cipher=3",
        // Verbose, so the run's debug lines are in the logs the scan below reads; a settle
        // time after each confirmed change keeps the agent alive long enough to be seen.
        "verbose=1",
        "power_wait=0.5",
        "pcmk_host_list=node2",
        "op",
        "monitor",
        "interval=30s",
    ]);
    assert!(
        created.status.success(),
        "pcs stonith create: {}",
        output_text(&created)
    );
    cluster.exec_ok(&["pcs", "property", "set", "stonith-enabled=true"]);
    cluster.assert_fence_registered("fence-node2", Duration::from_secs(60));
    // The device's start and monitor ran the agent (status against the BMC) successfully.
    cluster.assert_started("fence-node2", "node1", Duration::from_secs(60));

    let mark = bmc.calls().len();
    let watch = ArgvWatch::start_marked(&password, "fence_bulwark_ipmi");
    let out = cluster.exec(&["stonith_admin", "--reboot", "node2", "--timeout", "60"]);
    let watched = watch.stop();
    let calls = bmc.calls()[mark..].to_vec();
    assert!(
        out.status.success(),
        "stonith_admin --reboot node2: {}\nhook calls: {calls:?}",
        output_text(&out)
    );
    watched.assert_clean();

    // Off, a reading, then on: never on before off was read back.
    let off = calls.iter().position(|c| c == "0x20 set power 0");
    let on = calls.iter().position(|c| c == "0x20 set power 1");
    let (Some(off), Some(on)) = (off, on) else {
        panic!("no off and on in the hook log: {calls:?}");
    };
    assert!(off < on, "{calls:?}");
    assert!(
        calls[off..on].iter().any(|c| c == "0x20 get power"),
        "{calls:?}"
    );
    assert_eq!(bmc.power_on(), Some(true));
    let (ok, state) = bmc.ipmitool("lanplus", "status");
    assert!(ok && state == "Chassis Power is on", "{state}");

    let history = cluster.exec_ok(&["stonith_admin", "--history", "node2"]);
    assert!(
        history.contains("reboot") && history.contains("node2") && history.contains("successful"),
        "{history}"
    );

    // No log of the run holds the password: pacemaker.log (with the agent's stderr the
    // fencer relays), corosync's, the lab's, the simulator's.
    let mut files = files_under(cluster.lab_dir());
    files.extend(files_under(&bmc.dir));
    // The simulator's own configuration holds the password by necessity.
    let scanned = assert_secret_in_no_file(&files, &password, |f| {
        f.to_string_lossy().ends_with("lan.conf")
    });
    let log = std::fs::read_to_string(cluster.pacemaker_log(1)).expect("pacemaker.log");
    assert!(
        log.contains("fence-node2"),
        "pacemaker.log does not mention the device"
    );
    assert!(scanned > 3, "too few files scanned: {files:?}");
}

/// A migrated fence_ipmilan configuration: one device for several nodes with `port_as_ip=1`
/// and a host map giving each node its BMC's address. Two simulators on node1's loopback,
/// 127.0.0.1 and 127.0.0.2, same port: `stonith_admin --reboot node2` must switch the one at
/// 127.0.0.2 (node2's, by the map) and leave 127.0.0.1 alone.
#[test]
fn stonith_admin_with_port_as_ip_switches_the_mapped_bmc_only() {
    let stage = Stage::from_workspace();
    stage.require_fence("fence_bulwark_ipmi");
    let cluster = Cluster::single(&stage);
    let password = format!("Pm{}x{}k", std::process::id(), line!());
    let (other, node2) = Bmc::start_pair_in(Some(&cluster.node_netns(1)), &password);
    let secrets = LabDir::new("fipmi-pw");
    let pw_file = secrets.path().join("bmc.pw");
    std::fs::write(&pw_file, format!("{password}\n")).expect("write password file");
    std::fs::set_permissions(&pw_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let created = cluster.exec(&[
        "pcs",
        "stonith",
        "create",
        "fence-by-map",
        "fence_bulwark_ipmi",
        "port_as_ip=1",
        &format!("ipport={}", node2.port),
        "username=admin",
        &format!("password_file={}", pw_file.display()),
        "lanplus=1",
        "cipher=3",
        "pcmk_host_map=node2:127.0.0.2",
        "op",
        "monitor",
        "interval=30s",
    ]);
    assert!(
        created.status.success(),
        "pcs stonith create: {}",
        output_text(&created)
    );
    cluster.exec_ok(&["pcs", "property", "set", "stonith-enabled=true"]);
    cluster.assert_fence_registered("fence-by-map", Duration::from_secs(60));
    let out = cluster.exec(&["stonith_admin", "--fence", "node2", "--timeout", "60"]);
    assert!(
        out.status.success(),
        "stonith_admin --fence node2: {}",
        output_text(&out)
    );
    assert_eq!(
        node2.power_on(),
        Some(false),
        "node2's BMC (127.0.0.2) is off"
    );
    assert_eq!(
        other.power_on(),
        Some(true),
        "the BMC at 127.0.0.1 is untouched"
    );
    assert!(
        !other.calls().iter().any(|c| c.contains("set power")),
        "{:?}",
        other.calls()
    );
}
