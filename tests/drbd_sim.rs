//! The DRBD simulator (`tests/doubles/drbd-sim.rs`): byte-exact output against the committed
//! fixtures, DRBD's exit codes, misbehaviour switches, two simulated nodes, the library's
//! parsers and command wrappers on top of it, and LINBIT's stock agent monitoring it.
//!
//! Needs `cargo build -p bulwark-test-doubles --bin drbd-sim` (or `--workspace --bins`) first.

#[allow(unused_imports)]
mod support;

use bulwark::deadline::Deadline;
use bulwark::drbd::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use support::SimNode;

/// A pair of simulated nodes (`a` = node1, `b` = node2) in a fresh directory, with
/// `drbdadm`/`drbdsetup` symlinks to the simulator. Removed on drop.
struct Sim {
    root: PathBuf,
}

impl Sim {
    fn new() -> Sim {
        let root = std::env::temp_dir().join(support::unique_name("bulwark-drbd-sim-"));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["bin", "a", "b"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let sim = support::workspace_bin("drbd-sim");
        for name in ["drbdadm", "drbdsetup"] {
            std::os::unix::fs::symlink(&sim, root.join("bin").join(name)).unwrap();
        }
        let s = Sim { root };
        s.node('b').ctl(&[
            "node_id=1",
            "peer_node_id=0",
            "peer_name=node1",
            "local_addr=10.99.0.2:7789",
            "peer_addr=10.99.0.1:7789",
        ]);
        s.node('a').ctl(&["peer_name=node2"]);
        s
    }

    fn dir(&self, node: char) -> PathBuf {
        self.root.join(node.to_string())
    }

    fn other(node: char) -> char {
        if node == 'a' {
            'b'
        } else {
            'a'
        }
    }

    /// Node `node` as the simulator's control sees it (with its peer).
    fn node(&self, node: char) -> SimNode {
        SimNode::with_peer(self.dir(node), self.dir(Self::other(node)))
    }

    fn cmd(&self, node: char, tool: &str) -> Command {
        let mut c = Command::new(self.root.join("bin").join(tool));
        c.env("DRBD_SIM_DIR", self.dir(node))
            .env("DRBD_SIM_PEER_DIR", self.dir(Self::other(node)))
            .env_remove("DRBD_SIM_VERSION");
        c
    }

    fn run(&self, node: char, tool: &str, args: &[&str]) -> Output {
        support::run_within(self.cmd(node, tool).args(args), Duration::from_secs(30))
    }

    fn tools(&self) -> DrbdTools {
        DrbdTools {
            drbdadm: self.root.join("bin/drbdadm"),
            drbdsetup: self.root.join("bin/drbdsetup"),
            proc_drbd: self.root.join("proc-drbd"),
            ..DrbdTools::default()
        }
    }

    /// Status through the library, with the simulator's environment for node `a`.
    fn status(&self, source: StatusSource) -> Result<Option<DrbdStatus>, DrbdError> {
        // DrbdTools runs the programs with our environment: point it at node a.
        let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("DRBD_SIM_DIR", self.dir('a'));
        std::env::set_var("DRBD_SIM_PEER_DIR", self.dir('b'));
        self.tools()
            .status("r0", source, &Deadline::after(Duration::from_secs(20)))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Tests in this file set DRBD_SIM_DIR in the process environment one at a time.
static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(support::fixture(&format!("drbd/{name}"))).unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_bytes(out: &Output, name: &str) {
    assert!(out.status.success(), "{name}: {}", stderr(out));
    let want = fixture(name);
    assert!(
        out.stdout == want,
        "{name} differs:\n--- simulator ---\n{}\n--- fixture ---\n{}",
        stdout(out),
        String::from_utf8_lossy(&want)
    );
}

fn sh84(sim: &Sim, node: char) -> Output {
    support::run_within(
        sim.cmd(node, "drbdsetup")
            .env("DRBD_SIM_VERSION", "8.4")
            .args(["sh-status", "r0"]),
        Duration::from_secs(30),
    )
}

#[test]
fn prints_the_fixtures_byte_for_byte() {
    let sim = Sim::new();
    assert_bytes(
        &sim.run('a', "drbdsetup", &["events2", "--now", "r0"]),
        "events2-connected-secondary.txt",
    );
    assert_bytes(
        &sim.run('a', "drbdsetup", &["status", "r0", "--json"]),
        "status-json-connected-secondary.txt",
    );
    assert_bytes(&sh84(&sim, 'a'), "sh-status-connected-secondary.txt");

    sim.node('b')
        .ctl(&["md_disk=Inconsistent", "resync_done=37.5"]);
    assert_bytes(
        &sim.run('b', "drbdsetup", &["events2", "--now", "r0"]),
        "events2-synctarget.txt",
    );
    assert_bytes(
        &sim.run('b', "drbdsetup", &["status", "r0", "--json"]),
        "status-json-synctarget.txt",
    );
    assert_bytes(&sh84(&sim, 'b'), "sh-status-synctarget.txt");
    assert_bytes(
        &sim.run('a', "drbdsetup", &["events2", "--now", "r0"]),
        "events2-syncsource.txt",
    );

    sim.node('b').ctl(&["finish-resync"]);
    let a = stdout(&sim.run('a', "drbdsetup", &["events2", "--now", "r0"]));
    assert!(
        a.contains("replication:Established peer-disk:UpToDate"),
        "{a}"
    );

    let p = sim.run('a', "drbdadm", &["primary", "r0"]);
    assert!(p.status.success(), "{}", stderr(&p));
    sim.node('a').flag("peer-disconnect", true);
    assert_bytes(
        &sim.run('a', "drbdsetup", &["events2", "--now", "r0"]),
        "events2-disconnected-primary.txt",
    );
    assert_bytes(
        &sim.run('a', "drbdsetup", &["status", "r0", "--json"]),
        "status-json-disconnected-primary.txt",
    );
    assert_bytes(&sh84(&sim, 'a'), "sh-status-disconnected-primary.txt");
    std::fs::remove_file(sim.dir('a').join("peer-disconnect")).unwrap();

    assert!(sim
        .run('a', "drbdadm", &["secondary", "r0"])
        .status
        .success());
    assert!(sim.run('a', "drbdadm", &["down", "r0"]).status.success());
    assert_bytes(
        &sim.run('a', "drbdsetup", &["events2", "--now", "r0"]),
        "events2-down.txt",
    );
    // 8.4's drbdsetup: no output and exit 19 for a resource that is down (as the real module
    // answered in the VM lab); the Unconfigured text of sh-status-down.txt is what a minor
    // that exists but is unconfigured prints, and is still parsed as down below.
    let down = sh84(&sim, 'a');
    assert_eq!(down.status.code(), Some(19));
    assert!(down.stdout.is_empty());
    let v = sim.run('a', "drbdadm", &["--version"]);
    assert_bytes(&v, "drbdadm-version-9.2.2.txt");
}

#[test]
fn fixtures_parse_to_the_same_model() {
    // events2, JSON and sh-status of the same state give the same facts and score.
    for state in ["connected-secondary", "synctarget", "disconnected-primary"] {
        let text = |n: &str| String::from_utf8(fixture(&format!("{n}-{state}.txt"))).unwrap();
        let e = parse_events2("r0", &text("events2")).unwrap().unwrap();
        let j = parse_status_json("r0", &text("status-json"))
            .unwrap()
            .unwrap();
        let s = parse_sh_status("r0", &text("sh-status")).unwrap().unwrap();
        assert_eq!(e.facts(), j.facts(), "{state}");
        assert_eq!(e.facts(), s.facts(), "{state}");
        assert_eq!(e.volumes[0].disk, j.volumes[0].disk);
        assert_eq!(
            e.peers[0].volumes[0].replication,
            s.peers[0].volumes[0].replication
        );
        let p = ScorePolicy::default();
        assert_eq!(promotion_score(&e, &p), promotion_score(&s, &p), "{state}");
    }
    assert_eq!(
        parse_events2(
            "r0",
            &String::from_utf8(fixture("events2-down.txt")).unwrap()
        )
        .unwrap(),
        None
    );
    assert_eq!(
        parse_sh_status(
            "r0",
            &String::from_utf8(fixture("sh-status-down.txt")).unwrap()
        )
        .unwrap(),
        None
    );
    let p = ScorePolicy::default();
    let st = |n: &str| {
        parse_events2("r0", &String::from_utf8(fixture(n)).unwrap())
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        promotion_score(&st("events2-connected-secondary.txt"), &p).action,
        ScoreAction::Set(10000)
    );
    assert_eq!(
        promotion_score(&st("events2-synctarget.txt"), &p).action,
        ScoreAction::Set(10)
    );
    assert_eq!(
        promotion_score(&st("events2-disconnected-primary.txt"), &p).action,
        ScoreAction::Set(10000)
    );
}

#[test]
fn drbd_exit_codes() {
    let sim = Sim::new();
    let o = sim.run('a', "drbdadm", &["sh-dev", "r9"]);
    assert_eq!(o.status.code(), Some(10));
    assert!(
        stderr(&o).contains("'r9' not defined in your config"),
        "{}",
        stderr(&o)
    );
    let o = sim.run('a', "drbdsetup", &["status", "r9", "--json"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(10), "[\n]\n\n")
    );

    // Inconsistent and no UpToDate peer: promotion refused with 17.
    sim.node('a').ctl(&["md_disk=Inconsistent"]);
    sim.node('a').flag("peer-disconnect", true);
    let o = sim.run('a', "drbdadm", &["primary", "r0"]);
    assert_eq!(o.status.code(), Some(17), "{}", stderr(&o));
    assert!(stderr(&o).contains("(-2) Need access to UpToDate data"));

    // Held open: demote fails with 11.
    sim.node('a').ctl(&["md_disk=UpToDate"]);
    assert!(sim.run('a', "drbdadm", &["primary", "r0"]).status.success());
    sim.node('a').flag("held-open", true);
    let o = sim.run('a', "drbdadm", &["secondary", "r0"]);
    assert_eq!(o.status.code(), Some(11));
    assert!(stderr(&o).contains("(-12) Device is held open by someone"));

    // No module: 20, and drbdadm --version still answers with code 0.
    sim.node('b').flag("no-module", true);
    let o = sim.run('b', "drbdsetup", &["events2", "--now", "r0"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(20), ""));
    assert!(stderr(&o).contains("Failed to modprobe drbd"));
    let v =
        version::parse_drbdadm_version(&stdout(&sim.run('b', "drbdadm", &["--version"]))).unwrap();
    assert_eq!(v.kernel, None);

    // Attach failure.
    sim.node('b').flag("fail-attach", true);
    std::fs::remove_file(sim.dir('b').join("no-module")).unwrap();
    sim.node('b').ctl(&["up=no"]);
    let o = sim.run('b', "drbdadm", &["up", "r0"]);
    assert_eq!(o.status.code(), Some(10));
}

#[test]
fn library_wrappers_on_the_simulator() {
    let sim = Sim::new();
    let st = sim.status(StatusSource::Events2).unwrap().unwrap();
    assert_eq!(
        st.summary(),
        "r0 Secondary disk:UpToDate peer node2:Connected/Secondary/UpToDate"
    );
    let j = sim.status(StatusSource::Json).unwrap().unwrap();
    assert_eq!(st.facts(), j.facts());

    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    std::env::set_var("DRBD_SIM_DIR", sim.dir('a'));
    std::env::set_var("DRBD_SIM_PEER_DIR", sim.dir('b'));
    let t = sim.tools();
    let dl = Deadline::after(Duration::from_secs(20));
    assert_eq!(
        t.devices("r0", &dl).unwrap(),
        vec![PathBuf::from("/dev/drbd0")]
    );
    assert_eq!(
        t.devices("r9", &dl).unwrap_err().exit_kind(),
        Some(ExitKind::NoSuchResource)
    );
    sim.node('a').ctl(&["md_disk=Outdated"]);
    sim.node('a').flag("peer-disconnect", true);
    let e = t.primary("r0", &dl).unwrap_err();
    assert_eq!(e.exit_kind(), Some(ExitKind::NoUpToDateData), "{e}");
    std::fs::remove_file(sim.dir('a').join("peer-disconnect")).unwrap();
    // Connected again: Outdated node resyncs from the UpToDate peer; promotion works via the peer.
    sim.node('a').ctl(&["resync_done=50"]);
    let st = t.status("r0", StatusSource::Events2, &dl).unwrap().unwrap();
    assert_eq!(
        st.peers[0].volumes[0].replication,
        ReplicationState::SyncTarget
    );
    assert_eq!(
        promotion_score(&st, &ScorePolicy::default()).action,
        ScoreAction::Set(10)
    );
    sim.node('a').ctl(&["finish-resync"]);
    let st = t.status("r0", StatusSource::Events2, &dl).unwrap().unwrap();
    assert!(st.all_up_to_date());
    t.primary("r0", &dl).unwrap();
    sim.node('a').flag("held-open", true);
    assert!(t.secondary("r0", &dl).unwrap_err().is_held_open());
    std::fs::remove_file(sim.dir('a').join("held-open")).unwrap();
    t.secondary("r0", &dl).unwrap();
    t.down("r0", &dl).unwrap();
    assert_eq!(t.status("r0", StatusSource::Events2, &dl).unwrap(), None);
    assert_eq!(t.status("r0", StatusSource::Json, &dl).unwrap(), None);

    // No module and no /proc/drbd: not running, not an error.
    sim.node('a').flag("no-module", true);
    assert_eq!(t.status("r0", StatusSource::Events2, &dl).unwrap(), None);
    std::fs::write(&t.proc_drbd, "version: 9.2.2 (api:2/proto:86-121)\n").unwrap();
    assert_eq!(
        t.status("r0", StatusSource::Events2, &dl)
            .unwrap_err()
            .exit_kind(),
        Some(ExitKind::NoModule)
    );
    std::fs::remove_file(sim.dir('a').join("no-module")).unwrap();

    // A hung drbdsetup is cut off by the deadline.
    sim.node('a').flag("hang", true);
    let e = t
        .status(
            "r0",
            StatusSource::Events2,
            &Deadline::after(Duration::from_millis(300)),
        )
        .unwrap_err();
    assert!(e.timed_out(), "{e}");
}

#[test]
fn split_brain_and_peer_roles() {
    let sim = Sim::new();
    assert!(sim.run('b', "drbdadm", &["primary", "r0"]).status.success());
    let a = stdout(&sim.run('a', "drbdsetup", &["events2", "--now", "r0"]));
    assert!(a.contains("connection:Connected role:Primary"), "{a}");
    // Both Primary is refused while connected.
    let o = sim.run('a', "drbdadm", &["primary", "r0"]);
    assert_eq!(o.status.code(), Some(11));
    sim.node('a').flag("split-brain", true);
    sim.node('b').flag("split-brain", true);
    let a = parse_events2(
        "r0",
        &stdout(&sim.run('a', "drbdsetup", &["events2", "--now", "r0"])),
    )
    .unwrap()
    .unwrap();
    assert_eq!(a.peers[0].connection, ConnectionState::StandAlone);
    assert_eq!(a.peers[0].volumes[0].disk, DiskState::DUnknown);
    // StandAlone UpToDate Secondary: peer unknown → 1000, never 10000.
    assert_eq!(
        promotion_score(&a, &ScorePolicy::default()).action,
        ScoreAction::Set(1000)
    );
}

/// LINBIT's stock agent, unmodified, monitors the simulator. It needs:
/// - `drbdadm`/`drbdsetup` on `PATH` (the simulator's symlinks), `DRBD_SIM_DIR`;
/// - `/proc/drbd` to exist (`is_drbd_enabled`): faked in a private mount namespace where a
///   tmpfs replaces `/proc`, with the real procfs mounted under it and linked back;
/// - `drbdadm sh-dev` to name a block device (`test -b`): a `mknod` node, via the `device`
///   key of the simulator state;
/// - `HA_SBIN_DIR` pointing at a stub `crm_master` (no cluster here) that records the score;
/// - the clone meta variables (`OCF_RESKEY_CRM_meta_*`), `OCF_RESKEY_drbdconf` naming a
///   readable file, `OCF_RESKEY_crm_feature_set`.
#[test]
fn linbit_agent_monitors_the_simulator() {
    let agent = Path::new("/usr/lib/ocf/resource.d/linbit/drbd");
    // Prerequisites are failures, not skips: a comparison that silently did not run would
    // pass (tests/install-deps.sh installs drbd-utils; CI runs as root).
    assert!(
        agent.exists(),
        "{} missing: install drbd-utils (tests/install-deps.sh)",
        agent.display()
    );
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "needs root (mknod of a DRBD block device, a private /proc mount)"
    );
    let sim = Sim::new();
    let root = &sim.root;
    let dev = root.join("drbd0");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["b", "147", "0"])
        .status()
        .unwrap();
    assert!(made.success());
    sim.node('a').ctl(&[&format!("device={}", dev.display())]);
    let sbin = root.join("sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    let log = root.join("crm_master.log");
    std::fs::write(
        sbin.join("crm_master"),
        "#!/bin/sh\necho \"$*\" >> \"$STUB_LOG\"\ncase \"$*\" in *-G*) exit 1;; esac\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        sbin.join("crm_master"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(root.join("drbd.conf"), "resource r0 {}\n").unwrap();
    let wrapper = root.join("fake-proc.sh");
    std::fs::write(
        &wrapper,
        "set -e\nmount --make-rprivate /\nmount -t tmpfs -o size=1m bulwark-proc /proc\nmkdir /proc/.real\nmount -t proc proc /proc/.real\nfor e in /proc/.real/*; do n=${e##*/}; case $n in [0-9]*) ;; *) ln -s .real/$n /proc/$n;; esac; done\necho 'version: 9.2.2 (api:2/proto:86-121)' > /proc/drbd\nexec \"$@\"\n",
    )
    .unwrap();
    let monitor = |interval: &str| {
        let path = format!(
            "{}:{}",
            root.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        support::run_within(
            Command::new("unshare")
                .args(["-m", "sh"])
                .arg(&wrapper)
                .arg(agent)
                .arg("monitor")
                .env("PATH", path)
                .env("DRBD_SIM_DIR", sim.dir('a'))
                .env("DRBD_SIM_PEER_DIR", sim.dir('b'))
                .env("STUB_LOG", &log)
                .env("HA_SBIN_DIR", &sbin)
                .env("OCF_ROOT", "/usr/lib/ocf")
                .env("OCF_RESOURCE_INSTANCE", "mailstore")
                .env("OCF_RESKEY_drbd_resource", "r0")
                .env("OCF_RESKEY_drbdconf", root.join("drbd.conf"))
                .env("OCF_RESKEY_crm_feature_set", "3.16.2")
                .env("OCF_RESKEY_CRM_meta_interval", interval)
                .env("OCF_RESKEY_CRM_meta_clone_node_max", "1")
                .env("OCF_RESKEY_CRM_meta_master_node_max", "1")
                .env("OCF_RESKEY_CRM_meta_master_max", "1")
                .env("OCF_RESKEY_CRM_meta_clone_max", "2")
                .env("OCF_RESKEY_CRM_meta_notify", "true"),
            Duration::from_secs(60),
        )
    };
    let last_score = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .last()
            .unwrap_or("")
            .to_string()
    };
    // Connected Secondary, both UpToDate: running (0), score 10000 — as ours.
    let o = monitor("20000");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(last_score(), "-Q -l reboot -v 10000");
    // Primary: 8.
    assert!(sim.run('a', "drbdadm", &["primary", "r0"]).status.success());
    let o = monitor("10000");
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    // Disconnected Secondary, UpToDate: 1000 (peer unknown), as our table says.
    assert!(sim
        .run('a', "drbdadm", &["secondary", "r0"])
        .status
        .success());
    sim.node('a').flag("peer-disconnect", true);
    let o = monitor("20000");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(last_score(), "-Q -l reboot -v 1000");
    let ours = parse_events2(
        "r0",
        &stdout(&sim.run('a', "drbdsetup", &["events2", "--now", "r0"])),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        promotion_score(&ours, &ScorePolicy::default()).action,
        ScoreAction::Set(1000)
    );
    // Down: a probe finds it stopped (7).
    assert!(sim.run('a', "drbdadm", &["down", "r0"]).status.success());
    let o = monitor("0");
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
}
