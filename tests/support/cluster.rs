//! Real Corosync + Pacemaker nodes for integration tests, started with `crm-examples/lab/`.

use super::{expect_success, lab_scripts_dir, process_start_time, run, unique_name, LabDir, Stage};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Bound on waiting for a node to elect a DC. With the seeded dc-deadtime a node is DC after a
/// few seconds; the bound is for a machine busy with parallel builds.
pub const DC_TIMEOUT: Duration = Duration::from_secs(60);

/// Cluster options the first CIB of every node starts with: a short dc-deadtime (a lone node
/// otherwise waits the default 20 s before electing itself) and no fencing (tests that fence
/// turn it on, after creating their devices).
const SEED_CRM_CONFIG: &str = "dc-deadtime=2s stonith-enabled=false";

/// A running lab cluster. Node N runs in netns `<prefix>nN` as PID 1 of its own mount, UTS and
/// PID namespaces, with private `/var/lib/pacemaker`, `/var/log`, `/run` ... under
/// [`Cluster::lab_dir`], and the [`Stage`] overlaid so `ocf:bulwark:*` and `fence_bulwark_*`
/// are installed for it. Prefix and directory are unique per cluster: tests run in parallel.
///
/// Dropping it kills every node by recorded PID and deletes its namespaces (`lab-down.sh`);
/// the lab directory (CIB, pacemaker.log, corosync.log) is removed, or kept and its path
/// printed when the test failed.
pub struct Cluster {
    // Field order matters: the lab directory must outlive the teardown in Drop.
    nodes: u32,
    prefix: String,
    _stage: Stage,
    lab: LabDir,
}

impl Cluster {
    /// One node, `node1`, corosync on its own loopback. Returns once it is DC.
    pub fn single(stage: &Stage) -> Cluster {
        Cluster::start(stage, 1)
    }

    /// Two nodes joined by two knet links (interfaces `ring0`, `ring1`), plus the service
    /// network: interface `svc` with `10.99.2.N/24` in each node, bridged (netns
    /// `<prefix>sw`, ports `n1`, `n2`, `c`) to a client netns `<prefix>c` at `10.99.2.200/24`.
    /// `two_node: 1`. Returns once both nodes are members and a DC is elected.
    pub fn two(stage: &Stage) -> Cluster {
        let c = Cluster::start(stage, 2);
        let ok = super::wait_for(DC_TIMEOUT, || {
            let xml = c.crm_mon_xml();
            has_dc(&xml) && xml.matches("online=\"true\"").count() >= 2
        });
        assert!(
            ok,
            "both nodes not online within {DC_TIMEOUT:?}; lab in {}",
            c.lab_dir().display()
        );
        c
    }

    fn start(stage: &Stage, nodes: u32) -> Cluster {
        let lab = LabDir::new("lab");
        let cluster = Cluster {
            nodes,
            prefix: unique_name("bw"),
            _stage: stage.clone(),
            lab,
        };
        // From here on Drop tears down whatever part of the lab exists.
        std::os::unix::fs::symlink(stage.path(), cluster.lab_dir().join("stage"))
            .unwrap_or_else(|e| panic!("cannot link the stage into the lab: {e}"));
        cluster.script_ok(&["netns-up.sh", &nodes.to_string()]);
        cluster.script_ok(&[
            "make-corosync-conf.sh",
            if nodes == 1 { "single" } else { "two" },
        ]);
        for n in 1..=nodes {
            cluster.script_ok(&["node-start.sh", &n.to_string()]);
        }
        cluster
    }

    /// Runs a lab script with this cluster's environment; panics with its stderr on failure.
    fn script_ok(&self, args: &[&str]) -> String {
        let out = run(&mut self.script(args));
        expect_success(
            &format!("{} (lab {})", args.join(" "), self.lab_dir().display()),
            &out,
        )
    }

    fn script(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(lab_scripts_dir().join(args[0]));
        cmd.args(&args[1..])
            .env("LAB_DIR", self.lab_dir())
            .env("LAB_PREFIX", &self.prefix)
            .env("LAB_CRM_CONFIG", SEED_CRM_CONFIG)
            .env("LAB_DC_TIMEOUT", DC_TIMEOUT.as_secs().to_string());
        cmd
    }

    /// The lab directory: `nodeN/log/pacemaker/pacemaker.log`, `nodeN/log/corosync/`,
    /// `nodeN/lib-pacemaker/cib/`, `logs/`, `pids/`.
    pub fn lab_dir(&self) -> &Path {
        self.lab.path()
    }

    /// Prefix of this cluster's namespace names.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn node_count(&self) -> u32 {
        self.nodes
    }

    /// Network namespace of node `n` (for `ip -n`).
    pub fn node_netns(&self, n: u32) -> String {
        format!("{}n{n}", self.prefix)
    }

    /// Client namespace on the service network ([`Cluster::two`] only).
    pub fn client_netns(&self) -> String {
        format!("{}c", self.prefix)
    }

    /// Namespace holding the service network's bridge ([`Cluster::two`] only); take a node off
    /// the service network with `ip -n <it> link set nN down`.
    pub fn switch_netns(&self) -> String {
        format!("{}sw", self.prefix)
    }

    /// Pacemaker log of node `n`.
    pub fn pacemaker_log(&self, n: u32) -> PathBuf {
        self.lab_dir()
            .join(format!("node{n}/log/pacemaker/pacemaker.log"))
    }

    /// Host PID of node `n`'s init, if that node is running.
    pub fn node_pid(&self, n: u32) -> Option<u32> {
        let rec = std::fs::read_to_string(self.lab_dir().join(format!("pids/node{n}.pid"))).ok()?;
        let mut it = rec.split_whitespace();
        let pid: u32 = it.next()?.parse().ok()?;
        let start: u64 = it.next()?.parse().ok()?;
        (process_start_time(pid) == Some(start)).then_some(pid)
    }

    /// Runs `cmd` inside node1 (all its namespaces, `nsenter -a`).
    pub fn exec(&self, cmd: &[&str]) -> Output {
        self.exec_on(1, cmd)
    }

    /// Runs `cmd` inside node `n`.
    pub fn exec_on(&self, n: u32, cmd: &[&str]) -> Output {
        self.exec_on_within(n, cmd, super::COMMAND_TIMEOUT)
    }

    /// [`Cluster::exec_on`] with its own bound, for commands that are many commands (a pcs
    /// script runs one Python process per line: minutes on a busy 2-core machine).
    pub fn exec_on_within(&self, n: u32, cmd: &[&str], timeout: Duration) -> Output {
        let pid = self
            .node_pid(n)
            .unwrap_or_else(|| panic!("node{n} is not running (lab {})", self.lab_dir().display()));
        super::run_within(
            Command::new("nsenter")
                .args(["-t", &pid.to_string(), "-a"])
                .args(cmd),
            timeout,
        )
    }

    /// [`Cluster::exec`] that panics with stderr on failure; returns stdout.
    pub fn exec_ok(&self, cmd: &[&str]) -> String {
        self.exec_ok_on(1, cmd)
    }

    /// [`Cluster::exec_on`] that panics with stderr on failure; returns stdout.
    pub fn exec_ok_on(&self, n: u32, cmd: &[&str]) -> String {
        let out = self.exec_on(n, cmd);
        expect_success(
            &format!(
                "node{n}: {} (lab {})",
                cmd.join(" "),
                self.lab_dir().display()
            ),
            &out,
        )
    }

    /// `crm_mon -1 --output-as xml` on node1 (empty if it failed, e.g. node1 is down).
    pub fn crm_mon_xml(&self) -> String {
        self.crm_mon_xml_on(1)
    }

    /// `crm_mon -1 --output-as xml` on node `n`.
    pub fn crm_mon_xml_on(&self, n: u32) -> String {
        if self.node_pid(n).is_none() {
            return String::new();
        }
        let out = self.exec_on(n, &["crm_mon", "-1", "--output-as", "xml"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Where resource `id` is running according to node1's crm_mon, e.g. `["node1"]`.
    pub fn resource_nodes(&self, id: &str) -> Vec<String> {
        resource_nodes(&self.crm_mon_xml(), id)
    }

    /// Waits (bounded by `timeout`) for `cond`; see [`super::wait_for`].
    pub fn wait_for(&self, timeout: Duration, cond: impl FnMut() -> bool) -> bool {
        super::wait_for(timeout, cond)
    }

    /// Waits up to `timeout` until `crm_mon -1`'s text shows resource `id` Started on `node`;
    /// panics with that text if it does not. The text, not the XML: XML shows a start that is
    /// still pending as active.
    pub fn assert_started(&self, id: &str, node: &str, timeout: Duration) {
        let want = format!("Started {node}");
        let started = self.wait_for(timeout, || {
            let mon = self.exec_ok(&["crm_mon", "-1"]);
            mon.lines().any(|l| l.contains(id) && l.contains(&want))
        });
        assert!(
            started,
            "{id} not started on {node}: {}",
            self.exec_ok(&["crm_mon", "-1"])
        );
    }

    /// Waits up to `timeout` until the fencer lists device `id` as registered; panics if it
    /// does not.
    pub fn assert_fence_registered(&self, id: &str, timeout: Duration) {
        let registered = self.wait_for(timeout, || {
            let out = self.exec(&["stonith_admin", "--list-registered"]);
            String::from_utf8_lossy(&out.stdout).contains(id)
        });
        assert!(registered, "{id} not registered with the fencer");
    }

    /// Powers node `n` off the hard way: SIGKILL to its init (by recorded PID, start time
    /// checked) takes corosync, pacemaker and the agents with it, as a fence would.
    pub fn kill_node(&self, n: u32) {
        if let Some(pid) = self.node_pid(n) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let gone = super::wait_for(Duration::from_secs(10), || self.node_pid(n).is_none());
        assert!(gone, "node{n} still running after SIGKILL");
    }

    /// Starts node `n` again (after [`Cluster::kill_node`]) with the CIB it had; returns once
    /// it sees a DC.
    pub fn start_node(&self, n: u32) {
        self.script_ok(&["node-start.sh", &n.to_string()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Runs even when a test panicked: kill the nodes, delete the namespaces. LabDir's own
        // Drop (after this) keeps the logs if the thread is panicking.
        match bulwark::process::run_captured(
            &mut self.script(&["lab-down.sh"]),
            super::COMMAND_TIMEOUT,
        ) {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("lab-down.sh failed: {}", out.stderr_last_line()),
            Err(e) => eprintln!("lab-down.sh: {e}"),
        }
    }
}

/// True if crm_mon's XML names a current DC (`<current_dc present="true" .../>`).
pub fn has_dc(crm_mon_xml: &str) -> bool {
    let mut found = false;
    scan_xml(crm_mon_xml, |_, name, attr| {
        if name == "current_dc" && attr("present").as_deref() == Some("true") {
            found = true;
        }
    });
    found
}

/// Nodes on which crm_mon's XML shows resource `id` active, from
/// `<resource id=ID active="true" ...><node name=NODE .../></resource>`.
pub fn resource_nodes(crm_mon_xml: &str, id: &str) -> Vec<String> {
    let mut nodes = Vec::new();
    // Depth of the matching <resource> element while inside it.
    let mut inside: Option<usize> = None;
    scan_xml(crm_mon_xml, |depth, name, attr| {
        if inside.is_some_and(|d| depth <= d) {
            inside = None;
        }
        if name == "resource"
            && attr("id").as_deref() == Some(id)
            && attr("active").as_deref() == Some("true")
        {
            inside = Some(depth);
        } else if name == "node" && inside.is_some() {
            if let Some(node) = attr("name") {
                nodes.push(node);
            }
        }
    });
    nodes
}

/// Calls `visit(depth, element name, attribute lookup)` for every start or empty element.
/// Stops quietly at malformed input: callers only ever read what was well-formed.
fn scan_xml(xml: &str, mut visit: impl FnMut(usize, &str, &dyn Fn(&str) -> Option<String>)) {
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut element = |depth: usize, e: &BytesStart<'_>| {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let attr = |key: &str| -> Option<String> {
            let a = e.try_get_attribute(key).ok()??;
            a.unescape_value().ok().map(|v| v.into_owned())
        };
        visit(depth, &name, &attr);
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                element(depth, &e);
                depth += 1;
            }
            Ok(Event::Empty(e)) => element(depth, &e),
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
