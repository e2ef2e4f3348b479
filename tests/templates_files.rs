//! The non-CIB templates in `crm-examples/`, checked with the tools that read them, as root:
//! - `corosync.conf`: `corosync -t` accepts it on each node, and two corosyncs started with it
//!   (each in its own network, mount and PID namespaces, joined by two veth links that carry
//!   the template's own addresses) form a two-node membership over both knet links, which
//!   survives the loss of either link;
//! - `r0.res` / `r0-drbd84.res`: drbd-utils' DRBD 9 and 8.4 parsers accept them, with
//!   `fencing resource-and-stonith` and Bulwark's peer-fence handlers.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use support::{examples_dir, expect_success, output_text, wait_for, workspace_dir, LabDir, Netns};

/// `(name, link 0 address, link 1 address)` of each node in `corosync.conf`'s nodelist.
fn corosync_nodes(conf: &str) -> Vec<(String, String, String)> {
    let mut nodes = Vec::new();
    let (mut name, mut r0, mut r1) = (String::new(), String::new(), String::new());
    for line in conf.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "name" => name = v.trim().to_string(),
                "ring0_addr" => r0 = v.trim().to_string(),
                "ring1_addr" => r1 = v.trim().to_string(),
                _ => {}
            }
        }
        if line == "}" && !name.is_empty() && !r0.is_empty() {
            nodes.push((
                std::mem::take(&mut name),
                std::mem::take(&mut r0),
                std::mem::take(&mut r1),
            ));
        }
    }
    nodes
}

/// One corosync node: `/etc/corosync` (the template + a fresh authkey), `/var/lib/corosync`,
/// `/var/log`, `/run` and `/dev/shm` private to it.
struct CorosyncNode {
    ns: Netns,
    dir: PathBuf,
}

impl CorosyncNode {
    fn new(lab: &Path, n: usize, authkey: &Path) -> CorosyncNode {
        let dir = lab.join(format!("node{n}"));
        for sub in ["etc", "lib", "log/corosync"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::copy(
            examples_dir().join("corosync.conf"),
            dir.join("etc/corosync.conf"),
        )
        .unwrap();
        std::fs::copy(authkey, dir.join("etc/authkey")).unwrap();
        CorosyncNode {
            ns: Netns::new(),
            dir,
        }
    }

    /// The shell prefix that builds the node's private mounts.
    fn mounts(&self) -> String {
        let d = self.dir.display();
        format!(
            "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm && \
             mount --bind {d}/etc /etc/corosync && mount --bind {d}/lib /var/lib/corosync && \
             mount --bind {d}/log /var/log"
        )
    }

    /// `corosync -t` in the node's namespaces.
    fn test_config(&self) -> Output {
        let script = format!("{} && exec corosync -t", self.mounts());
        self.ns.exec(&[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
    }

    /// Starts corosync as PID 1 of a new PID namespace (killed with the netns by `Netns`'s
    /// Drop: every process inside is SIGKILLed by PID, and --kill-child takes PID 1 along).
    fn start(&self) {
        let script = format!("{} && exec corosync -f", self.mounts());
        let log = self.dir.join("corosync.out");
        self.ns.spawn(
            &[
                "unshare",
                "-m",
                "-p",
                "-f",
                "--kill-child",
                "--mount-proc",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ],
            Some(&log),
        );
    }

    /// A corosync tool run next to this node's corosync (same netns: libqb IPC is abstract
    /// sockets per network namespace; same /dev/shm via the node's mount namespace).
    fn tool(&self, cmd: &[&str]) -> Output {
        let pid = self
            .corosync_pid()
            .unwrap_or_else(|| panic!("corosync not running; see {}", self.dir.display()));
        let mut args = vec!["nsenter", "-t", &pid, "-m", "-n", "-p"];
        args.extend_from_slice(cmd);
        support::run(std::process::Command::new(args[0]).args(&args[1..]))
    }

    /// Host PID of the node's corosync (the netns member whose command is corosync).
    fn corosync_pid(&self) -> Option<String> {
        self.ns.pids().into_iter().find_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == "corosync").then(|| pid.to_string())
        })
    }
}

/// `text` with every run of whitespace turned into one space.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Peers connected on link `link` according to `corosync-cfgtool -s` ("nodeid: 2: connected"
/// lines under "LINK ID <link>").
fn connected_on_link(status: &str, link: u32) -> Vec<String> {
    let mut in_link = false;
    let mut peers = Vec::new();
    for line in status.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("LINK ID ") {
            in_link = rest.split_whitespace().next() == Some(&link.to_string());
        } else if in_link
            && t.starts_with("nodeid:")
            && t.split_whitespace().last() == Some("connected")
        {
            // "nodeid:          2:\tconnected" (or "disconnected"; the local node "localhost")
            peers.push(squeeze(t));
        }
    }
    peers
}

#[test]
fn corosync_conf_forms_a_two_node_membership_over_two_links() {
    let conf = std::fs::read_to_string(examples_dir().join("corosync.conf")).unwrap();
    for needle in ["two_node: 1", "transport: knet", "crypto_cipher: aes256"] {
        assert!(conf.contains(needle), "corosync.conf lacks {needle}");
    }
    let nodes = corosync_nodes(&conf);
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(nodes.iter().all(|(_, _, r1)| !r1.is_empty()), "{nodes:?}");

    let lab = LabDir::new("corosync");
    let authkey = lab.path().join("authkey");
    let a = authkey.to_string_lossy().into_owned();
    expect_success(
        "corosync-keygen",
        &support::run(std::process::Command::new("corosync-keygen").args(["-k", &a])),
    );
    let n1 = CorosyncNode::new(lab.path(), 1, &authkey);
    let n2 = CorosyncNode::new(lab.path(), 2, &authkey);
    // Two independent veth links carrying the template's own addresses (documentation
    // networks; they exist only inside these namespaces).
    n1.ns.veth_to("link0", &n2.ns, "link0");
    n1.ns.veth_to("link1", &n2.ns, "link1");
    for (node, (_, r0, r1)) in [(&n1, &nodes[0]), (&n2, &nodes[1])] {
        node.ns.add_addr("link0", &format!("{r0}/24"));
        node.ns.add_addr("link1", &format!("{r1}/24"));
    }
    // Without crypto the template would still parse: prove -t reads what matters by breaking
    // the key and seeing it refused.
    for node in [&n1, &n2] {
        let out = node.test_config();
        assert!(out.status.success(), "corosync -t: {}", output_text(&out));
    }
    std::fs::write(n1.dir.join("etc/authkey"), b"short").unwrap();
    let out = n1.test_config();
    assert!(!out.status.success(), "a 5-byte authkey was accepted");
    std::fs::copy(&authkey, n1.dir.join("etc/authkey")).unwrap();

    n1.start();
    n2.start();
    let both_links = wait_for(Duration::from_secs(30), || {
        [&n1, &n2].iter().all(|n| {
            n.corosync_pid().is_some()
                && {
                    let s = String::from_utf8_lossy(&n.tool(&["corosync-cfgtool", "-s"]).stdout)
                        .into_owned();
                    connected_on_link(&s, 0).len() == 1 && connected_on_link(&s, 1).len() == 1
                }
                && squeeze(&output_text(&n.tool(&["corosync-quorumtool", "-s"])))
                    .contains("Quorate: Yes")
        })
    });
    assert!(
        both_links,
        "no quorate membership over both links; see {}",
        lab.path().display()
    );
    let quorum = squeeze(&output_text(&n1.tool(&["corosync-quorumtool", "-s"])));
    assert!(quorum.contains("Quorate: Yes"), "{quorum}");
    assert!(quorum.contains("2Node"), "two_node flag not set: {quorum}");
    assert!(quorum.contains("Total votes: 2"), "{quorum}");

    // The redundant path: take either link down and the membership holds on the other.
    for (down, up) in [("link0", 1u32), ("link1", 0u32)] {
        n1.ns.ip_ok(&["link", "set", down, "down"]);
        let other = if down == "link0" { 0 } else { 1 };
        let dropped = wait_for(Duration::from_secs(30), || {
            let s = output_text(&n1.tool(&["corosync-cfgtool", "-s"]));
            connected_on_link(&s, other).is_empty()
        });
        assert!(dropped, "corosync did not notice {down} going down");
        let q = squeeze(&output_text(&n1.tool(&["corosync-quorumtool", "-s"])));
        assert!(
            q.contains("Total votes: 2") && q.contains("Quorate: Yes"),
            "membership lost with {down} down:\n{q}"
        );
        let s = output_text(&n1.tool(&["corosync-cfgtool", "-s"]));
        assert_eq!(connected_on_link(&s, up).len(), 1, "{s}");
        n1.ns.ip_ok(&["link", "set", down, "up"]);
        let back = wait_for(Duration::from_secs(30), || {
            let s = output_text(&n1.tool(&["corosync-cfgtool", "-s"]));
            connected_on_link(&s, other).len() == 1
        });
        assert!(back, "{down} did not come back");
    }
}

/// `drbdadm` (or another personality) dumping resource r0 from `res`, run as host `mail1` with
/// mail1's replication address on an interface (drbdadm looks both up).
fn drbd_dump(drbdadm: &str, res: &Path) -> Output {
    let lab = LabDir::new("drbdconf");
    let conf = lab.path().join("drbd.conf");
    std::fs::write(
        &conf,
        format!(
            "global {{ usage-count no; }}\ninclude \"{}\";\n",
            res.display()
        ),
    )
    .unwrap();
    let ns = Netns::new();
    ns.veth_pair("rep0", "rep1");
    ns.add_addr("rep0", "192.0.2.11/24");
    let c = conf.to_string_lossy().into_owned();
    let script = format!("hostname mail1 && exec {drbdadm} -c {c} dump r0");
    ns.exec(&["unshare", "-u", "sh", "-c", &script])
}

fn assert_drbd_template(drbdadm: &str, file: &str) {
    let out = drbd_dump(drbdadm, &examples_dir().join(file));
    let t = output_text(&out);
    assert!(out.status.success(), "{drbdadm} rejects {file}:\n{t}");
    let dump = String::from_utf8_lossy(&out.stdout);
    let squeezed: String = dump.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "fencing resource-and-stonith;",
        "fence-peer /usr/lib/bulwark/bulwark-drbd-fence-peer;",
        "unfence-peer /usr/lib/bulwark/bulwark-drbd-unfence-peer;",
        "device /dev/drbd0 minor 0;",
        "protocol C;",
        "on mail1 {",
        "on mail2 {",
    ] {
        assert!(
            squeezed.contains(needle),
            "{file} dump lacks {needle}:\n{dump}"
        );
    }
    // Nothing but the dump: no "IP not found" or parser notes on stderr (modinfo is absent on
    // the build machine and drbdadm says so; that is about the host, not the file).
    let stderr: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("modinfo"))
        .map(str::to_string)
        .collect();
    assert!(stderr.is_empty(), "{drbdadm} on {file} said: {stderr:?}");
}

#[test]
fn drbd_resource_files_parse_for_drbd9_and_drbd84() {
    assert_drbd_template("drbdadm", "r0.res");
    assert_drbd_template("/usr/lib/drbd/drbdadm-84", "r0-drbd84.res");
    // The two syntaxes really differ (the reason for two files): DRBD 9 refuses the 8.4 one.
    let out = drbd_dump("drbdadm", &examples_dir().join("r0-drbd84.res"));
    assert!(
        !out.status.success(),
        "drbdadm 9 accepted 8.4 syntax: {}",
        output_text(&out)
    );
}

#[test]
fn handler_paths_are_where_the_packages_install_them() {
    // r0.res names the handlers by installed path; the packaging must put them there.
    let cargo = std::fs::read_to_string(workspace_dir().join("Cargo.toml")).unwrap();
    for (bin, dest) in [
        (
            "bulwark-drbd-fence-peer",
            "/usr/lib/bulwark/bulwark-drbd-fence-peer",
        ),
        (
            "bulwark-drbd-unfence-peer",
            "/usr/lib/bulwark/bulwark-drbd-unfence-peer",
        ),
    ] {
        let rel = dest.trim_start_matches('/');
        assert!(
            cargo.contains(&format!("\"target/release/{bin}\", \"{rel}\""))
                || cargo.contains(&format!("dest = \"{dest}\"")),
            "Cargo.toml packaging does not install {bin} as {dest}"
        );
        for res in ["r0.res", "r0-drbd84.res"] {
            let t = std::fs::read_to_string(examples_dir().join(res)).unwrap();
            assert!(t.contains(dest), "{res} does not name {dest}");
        }
    }
}
