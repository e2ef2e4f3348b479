//! The fence-peer / unfence-peer handlers' I/O: DRBD's handler environment, the local DRBD
//! state, `cibadmin -Q` and `crm_mon --output-as xml` in, the fencing constraint out. The
//! decisions are [`super::fence_peer`]'s pure functions; this module only gathers their
//! inputs and carries out their verdicts, every call bounded by the handler's deadlines.
//!
//! DRBD runs the handler with (`drbdadm_main.c` `setenv_node_id_and_uname` and the kernel):
//! `DRBD_RESOURCE`, `DRBD_MY_NODE_ID`, `DRBD_PEER_NODE_ID` (DRBD 9), `DRBD_PEER` (8.4,
//! the peer's host name), `DRBD_NODE_ID_<n>=<host>` for every node, and
//! `UP_TO_DATE_NODES=0x…` (bit n set: node n has UpToDate data).

use super::agent::{check_resource_name, LocalResource, Observed};
use super::cmd::DrbdTools;
use super::fence_peer::{
    constraint_delete_xml, constraint_id, constraint_xml, decide_fence, decide_unfence, parse_cib,
    parse_crm_mon, parse_up_to_date_nodes, CibFacts, ClusterView, FencePeerExit, FenceSituation,
    LocalData, PeerReach, UnfenceDecision,
};
use super::status::{printable, DiskState, DrbdStatus};
use crate::deadline::Deadline;
use crate::process::run_captured;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Which handler runs: chosen by the name the binary was invoked as
/// (`bulwark-drbd-unfence-peer` is a symlink to `bulwark-drbd-fence-peer`) or by
/// `--unfence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Fence,
    Unfence,
}

/// Command-line options (the subset of crm-fence-peer.9.sh's that means something here;
/// its locking and naming options are accepted and ignored so configurations carry over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// Overall bound (`--timeout`, default 90 s).
    pub timeout: Duration,
    /// How long to wait for a DC with quorum (`--dc-timeout`, default 20 s).
    pub dc_timeout: Duration,
}

const IGNORED_FLAGS: &[&str] = &[
    "--quiet",
    "--flock-required",
    "--unfence-only-if-owner-match",
    "--suicide-on-failure-if-primary",
];
const IGNORED_WITH_VALUE: &[&str] = &[
    "--net-hickup",
    "--flock-timeout",
    "--role",
    "--fencing-attribute",
    "--id-prefix",
    "--lock-dir",
];

fn seconds(option: &str, value: Option<&String>) -> Result<Duration, String> {
    let v = value.ok_or_else(|| format!("{option} needs a number of seconds"))?;
    match v.trim().parse::<u32>() {
        Ok(n) if (1..=3600).contains(&n) => Ok(Duration::from_secs(n.into())),
        _ => Err(format!(
            "{option} '{}' is not a number of seconds from 1 to 3600",
            printable(v, 20)
        )),
    }
}

impl Options {
    /// Parses argv (without argv[0]); `invoked_as` is argv[0]'s file name.
    pub fn parse(invoked_as: &str, args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            mode: if invoked_as.contains("unfence") {
                Mode::Unfence
            } else {
                Mode::Fence
            },
            timeout: Duration::from_secs(90),
            dc_timeout: Duration::from_secs(20),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            let mut value = || inline.clone().or_else(|| it.next().cloned());
            match name {
                "--timeout" | "-t" => o.timeout = seconds(name, value().as_ref())?,
                "--dc-timeout" | "-d" => o.dc_timeout = seconds(name, value().as_ref())?,
                "--unfence" => o.mode = Mode::Unfence,
                "--fence" => o.mode = Mode::Fence,
                n if IGNORED_FLAGS.contains(&n) => {}
                n if IGNORED_WITH_VALUE.contains(&n) => {
                    value().ok_or_else(|| format!("{n} needs a value"))?;
                }
                other => {
                    return Err(format!("unknown option '{}'", printable(other, 40)));
                }
            }
        }
        Ok(o)
    }
}

/// What DRBD told the handler through its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerEnv {
    pub resource: String,
    pub my_node_id: Option<u32>,
    pub peer_node_id: Option<u32>,
    /// `DRBD_PEER` (8.4): the peer's host name.
    pub peer: Option<String>,
    /// `DRBD_NODE_ID_<n>`: DRBD node id → host name.
    pub node_names: BTreeMap<u32, String>,
    /// `UP_TO_DATE_NODES`, when DRBD passed it.
    pub up_to_date: Option<Vec<u32>>,
}

fn node_id(name: &str, value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n < 64)
        .ok_or_else(|| format!("{name} '{}' is not a node id (0-63)", printable(value, 20)))
}

fn check_node_name(var: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{var} '{}' is not a host name",
            printable(name, 40)
        ))
    }
}

impl HandlerEnv {
    /// Reads the handler variables from `(name, value)` pairs (the process environment).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, String> {
        let mut resource = None;
        let mut env = HandlerEnv {
            resource: String::new(),
            my_node_id: None,
            peer_node_id: None,
            peer: None,
            node_names: BTreeMap::new(),
            up_to_date: None,
        };
        for (k, v) in vars {
            match k.as_str() {
                "DRBD_RESOURCE" => resource = Some(v),
                "DRBD_MY_NODE_ID" => env.my_node_id = Some(node_id(&k, &v)?),
                "DRBD_PEER_NODE_ID" => env.peer_node_id = Some(node_id(&k, &v)?),
                "DRBD_PEER" if !v.trim().is_empty() => {
                    check_node_name(&k, v.trim())?;
                    env.peer = Some(v.trim().to_string());
                }
                "UP_TO_DATE_NODES" if !v.trim().is_empty() => {
                    env.up_to_date = Some(parse_up_to_date_nodes(&v).map_err(|e| e.to_string())?);
                }
                _ => {
                    if let Some(n) = k.strip_prefix("DRBD_NODE_ID_") {
                        let id = node_id(&k, n)?;
                        check_node_name(&k, v.trim())?;
                        env.node_names.insert(id, v.trim().to_string());
                    }
                }
            }
        }
        let resource = resource.ok_or("DRBD_RESOURCE is not set (run by DRBD as a handler?)")?;
        check_resource_name(&resource).map_err(|e| format!("DRBD_RESOURCE {e}"))?;
        env.resource = resource;
        Ok(env)
    }

    /// This node's name: `DRBD_NODE_ID_<DRBD_MY_NODE_ID>`, else `fallback` (the host name).
    pub fn local_node(&self, fallback: &str) -> String {
        self.my_node_id
            .and_then(|id| self.node_names.get(&id).cloned())
            .unwrap_or_else(|| fallback.to_string())
    }

    /// The peers DRBD lost: `DRBD_PEER_NODE_ID`'s name, else `DRBD_PEER`, else every named
    /// node but this one.
    pub fn lost_peers(&self, local: &str) -> Result<Vec<String>, String> {
        if let Some(id) = self.peer_node_id {
            return self
                .node_names
                .get(&id)
                .map(|n| vec![n.clone()])
                .ok_or_else(|| format!("DRBD_PEER_NODE_ID={id} but no DRBD_NODE_ID_{id}"));
        }
        if let Some(p) = &self.peer {
            return Ok(vec![p.clone()]);
        }
        let peers: Vec<String> = self
            .node_names
            .values()
            .filter(|n| n.as_str() != local)
            .cloned()
            .collect();
        if peers.is_empty() {
            Err("no peer named (DRBD_PEER_NODE_ID, DRBD_PEER or DRBD_NODE_ID_n)".into())
        } else {
            Ok(peers)
        }
    }

    /// DRBD node id of a host name.
    pub fn id_of(&self, name: &str) -> Option<u32> {
        self.node_names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }
}

/// Pacemaker's tools, overridable for tests (`BULWARK_CIBADMIN`, `BULWARK_CRM_MON`).
#[derive(Debug, Clone)]
pub struct ClusterTools {
    pub cibadmin: PathBuf,
    pub crm_mon: PathBuf,
}

impl ClusterTools {
    pub fn from_env() -> Self {
        let var = |k: &str, d: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(d), PathBuf::from)
        };
        ClusterTools {
            cibadmin: var("BULWARK_CIBADMIN", "cibadmin"),
            crm_mon: var("BULWARK_CRM_MON", "crm_mon"),
        }
    }

    fn run(
        &self,
        program: &PathBuf,
        args: &[&str],
        deadline: &Deadline,
    ) -> Result<String, (Option<i32>, String)> {
        let mut cmd = Command::new(program);
        cmd.args(args);
        let out = run_captured(&mut cmd, deadline.cap(Duration::from_secs(30)))
            .map_err(|e| (None, e.to_string()))?;
        if out.status.success() {
            Ok(out.stdout_str())
        } else {
            let name = program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Err((
                out.code(),
                format!(
                    "{name} {} failed ({}): {}",
                    args.first().copied().unwrap_or(""),
                    out.code().map_or("signal".into(), |c| c.to_string()),
                    printable(&out.stderr_last_line(), 200)
                ),
            ))
        }
    }
}

/// The handler's verdict: DRBD's exit code and one line for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerResult {
    pub code: i32,
    pub message: String,
}

fn failed(message: impl Into<String>) -> HandlerResult {
    HandlerResult {
        code: FencePeerExit::Failed.code(),
        message: message.into(),
    }
}

/// cibadmin's exit codes for bad input (usage, data, config error): retrying cannot help.
fn permanent(code: Option<i32>) -> bool {
    matches!(code, Some(64 | 65 | 78))
}

/// Runs cibadmin until it succeeds, fails permanently or the deadline passes (CIB update
/// conflicts and a busy CIB are transient).
fn cibadmin_retry(
    tools: &ClusterTools,
    args: &[&str],
    deadline: &Deadline,
    ok_codes: &[i32],
) -> Result<String, String> {
    loop {
        match tools.run(&tools.cibadmin, args, deadline) {
            Ok(out) => return Ok(out),
            Err((Some(c), _)) if ok_codes.contains(&c) => return Ok(String::new()),
            Err((code, e)) => {
                if permanent(code) || deadline.remaining() < Duration::from_secs(1) {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

fn read_cib(tools: &ClusterTools, resource: &str, deadline: &Deadline) -> Result<CibFacts, String> {
    let xml = cibadmin_retry(tools, &["-Q"], deadline, &[])?;
    parse_cib(&xml, resource).map_err(|e| e.to_string())
}

/// Local DRBD facts the decisions read.
struct LocalFacts {
    data: LocalData,
    status: Option<DrbdStatus>,
}

fn local_facts(
    drbd: &DrbdTools,
    resource: &str,
    deadline: &Deadline,
) -> Result<LocalFacts, String> {
    let local = LocalResource::new(resource, drbd.clone());
    let (_, observed) = local
        .observe(deadline)
        .map_err(|e| format!("cannot read the local DRBD state: {e}"))?;
    Ok(match observed {
        Observed::Up(s) => {
            let f = s.facts();
            LocalFacts {
                data: if f.disk_all_up_to_date {
                    LocalData::AllUpToDate
                } else if f.disk_all_consistent {
                    LocalData::AllConsistent
                } else {
                    LocalData::NotConsistent
                },
                status: Some(s),
            }
        }
        Observed::Down | Observed::NoModule => LocalFacts {
            data: LocalData::Unconfigured,
            status: None,
        },
    })
}

/// Every lost peer's disk is known to be Outdated or worse.
fn peers_known_outdated(status: Option<&DrbdStatus>, lost: &[String], env: &HandlerEnv) -> bool {
    let Some(s) = status else { return false };
    let mut seen = 0;
    for name in lost {
        let id = env.id_of(name);
        let Some(peer) = s
            .peers
            .iter()
            .find(|p| p.name == *name || (id.is_some() && p.node_id == id))
        else {
            return false;
        };
        let bad = !peer.volumes.is_empty()
            && peer.volumes.iter().all(|v| {
                matches!(
                    v.disk,
                    DiskState::Outdated | DiskState::Inconsistent | DiskState::Failed
                ) || (v.disk == DiskState::Diskless && !v.client)
            });
        if !bad {
            return false;
        }
        seen += 1;
    }
    seen > 0
}

fn crm_mon(tools: &ClusterTools, deadline: &Deadline) -> Option<ClusterView> {
    let xml = tools
        .run(&tools.crm_mon, &["--output-as", "xml", "-1"], deadline)
        .ok()?;
    parse_crm_mon(&xml).ok()
}

/// Polls crm_mon until there is a DC with quorum (bounded by `--dc-timeout`) and every lost
/// peer is either a member or cleanly down (bounded by `--timeout`); returns the last view.
fn wait_for_cluster(
    tools: &ClusterTools,
    lost: &[String],
    opts: &Options,
    deadline: &Deadline,
) -> Option<ClusterView> {
    let dc_deadline = (*deadline).min(Deadline::after(opts.dc_timeout));
    let mut last = None;
    loop {
        let view = crm_mon(tools, deadline);
        if let Some(v) = &view {
            let settled = lost.iter().all(|n| {
                v.node(n)
                    .is_some_and(|node| node.reach() != PeerReach::Unclean)
            });
            if v.dc_present && v.with_quorum && settled {
                return view;
            }
        }
        if view.is_some() {
            last = view;
        }
        let dc_ok = last.as_ref().is_some_and(|v| v.dc_present && v.with_quorum);
        let limit = if dc_ok { deadline } else { &dc_deadline };
        if limit.remaining() < Duration::from_secs(1) {
            return last;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The nodes the constraint lets be promoted: this node (when its data qualifies) and the
/// other nodes DRBD says are UpToDate, minus the peers being fenced.
fn allowed_nodes(env: &HandlerEnv, local: &str, lost: &[String]) -> Vec<(u32, String)> {
    let mut allowed = vec![(
        env.my_node_id.or_else(|| env.id_of(local)).unwrap_or(0),
        local.to_string(),
    )];
    for id in env.up_to_date.iter().flatten() {
        if let Some(name) = env.node_names.get(id) {
            if name != local && !lost.contains(name) {
                allowed.push((*id, name.clone()));
            }
        }
    }
    allowed
}

fn place(
    tools: &ClusterTools,
    env: &HandlerEnv,
    cib: &CibFacts,
    allowed: &[(u32, String)],
    deadline: &Deadline,
) -> Result<(), String> {
    let role = super::fence_peer::promoted_role_name(&cib.validate_with);
    let xml = constraint_xml(&env.resource, &cib.clone_id, role, allowed);
    if cib.existing.is_some() {
        let xpath = format!(
            "//rsc_location[@id='{}']",
            constraint_id(&env.resource, &cib.clone_id)
        );
        cibadmin_retry(
            tools,
            &["--replace", "--xpath", &xpath, "--xml-text", &xml],
            deadline,
            &[],
        )
    } else {
        // 108 (already exists): another handler placed it in the meantime; read it back.
        cibadmin_retry(
            tools,
            &["--create", "--scope", "constraints", "--xml-text", &xml],
            deadline,
            &[],
        )
    }
    .map(drop)
}

/// Runs the handler. `hostname` is this host's name (used when DRBD does not name it).
pub fn run(
    opts: &Options,
    env: &HandlerEnv,
    drbd: &DrbdTools,
    cluster: &ClusterTools,
    hostname: &str,
) -> HandlerResult {
    let deadline = Deadline::after(opts.timeout.max(opts.dc_timeout));
    let local = env.local_node(hostname);
    let cib = match read_cib(cluster, &env.resource, &deadline) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let facts = match local_facts(drbd, &env.resource, &deadline) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let peers_all_up_to_date = facts
        .status
        .as_ref()
        .is_some_and(|s| s.facts().pdsk_all_up_to_date);
    match opts.mode {
        Mode::Fence => {
            let lost = match env.lost_peers(&local) {
                Ok(l) => l,
                Err(e) => return failed(e),
            };
            let view = wait_for_cluster(cluster, &lost, opts, &deadline);
            let situation = FenceSituation {
                dc_and_quorum: view.as_ref().is_some_and(|v| v.dc_present && v.with_quorum),
                local_node: local.clone(),
                peers: lost
                    .iter()
                    .map(|n| {
                        // A peer Pacemaker does not know cannot be confirmed down.
                        view.as_ref()
                            .and_then(|v| v.node(n))
                            .map_or(PeerReach::Unclean, |node| node.reach())
                    })
                    .collect(),
                local: facts.data,
                peers_known_outdated: peers_known_outdated(facts.status.as_ref(), &lost, env),
                peers_all_up_to_date,
                existing: cib.existing.clone(),
            };
            let d = decide_fence(&situation);
            if d.place_constraint {
                let allowed = allowed_nodes(env, &local, &lost);
                if let Err(e) = place(cluster, env, &cib, &allowed, &deadline) {
                    return failed(format!("could not place the fencing constraint: {e}"));
                }
            }
            HandlerResult {
                code: d.exit.code(),
                message: format!(
                    "{}: {} (peer {}, clone {})",
                    env.resource,
                    d.reason,
                    lost.join(","),
                    cib.clone_id
                ),
            }
        }
        Mode::Unfence => {
            let up_names: Vec<String> = env
                .up_to_date
                .iter()
                .flatten()
                .filter_map(|id| env.node_names.get(id).cloned())
                .collect();
            let decision = decide_unfence(
                cib.existing.as_ref(),
                &local,
                facts.data == LocalData::AllUpToDate,
                peers_all_up_to_date,
                &up_names,
            );
            let id = constraint_id(&env.resource, &cib.clone_id);
            let done = |what: &str| HandlerResult {
                code: 0,
                message: format!("{}: {what} ({id})", env.resource),
            };
            match decision {
                UnfenceDecision::Nothing => done("no fencing constraint"),
                UnfenceDecision::Keep => done("kept the fencing constraint"),
                UnfenceDecision::Remove => {
                    let xml = constraint_delete_xml(&env.resource, &cib.clone_id);
                    // 105: already gone.
                    match cibadmin_retry(
                        cluster,
                        &["--delete", "--scope", "constraints", "--xml-text", &xml],
                        &deadline,
                        &[105],
                    ) {
                        Ok(_) => done("removed the fencing constraint"),
                        Err(e) => failed(format!("could not remove the fencing constraint: {e}")),
                    }
                }
                UnfenceDecision::Narrow => {
                    let mut allowed = allowed_nodes(env, &local, &[]);
                    allowed.dedup();
                    match place(cluster, env, &cib, &allowed, &deadline) {
                        Ok(()) => done("widened the fencing constraint to the UpToDate nodes"),
                        Err(e) => failed(format!("could not update the fencing constraint: {e}")),
                    }
                }
            }
        }
    }
}

/// The whole handler process: arguments and environment in, DRBD's exit code out. Both
/// handler binaries (`bulwark-drbd-fence-peer`, `bulwark-drbd-unfence-peer`) are this call;
/// the name they run under, or `--unfence`, selects the mode.
pub fn main_with(invoked_as: &str, args: &[String]) -> i32 {
    let tag = if invoked_as.is_empty() {
        "bulwark-drbd-fence-peer"
    } else {
        invoked_as
    };
    let opts = match Options::parse(invoked_as, args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{tag}: {e}");
            return 1;
        }
    };
    let env = match HandlerEnv::from_vars(std::env::vars()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{tag}: {e}");
            return 1;
        }
    };
    let hostname = crate::drbd::agent::local_node_name();
    let result = run(
        &opts,
        &env,
        &crate::drbd::DrbdTools::from_env(),
        &ClusterTools::from_env(),
        &hostname,
    );
    eprintln!("{tag}: {} (exit {})", result.message, result.code);
    result.code
}

/// `main_with` for the current process.
pub fn main() -> ! {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    let invoked_as = argv0.rsplit('/').next().unwrap_or("").to_string();
    let rest: Vec<String> = args.collect();
    std::process::exit(main_with(&invoked_as, &rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = Options::parse("bulwark-drbd-fence-peer", &[]).unwrap();
        assert_eq!(o.mode, Mode::Fence);
        assert_eq!(o.timeout, Duration::from_secs(90));
        let o = Options::parse(
            "bulwark-drbd-unfence-peer",
            &args(&[
                "--timeout",
                "30",
                "--dc-timeout=5",
                "--quiet",
                "--net-hickup",
                "0",
            ]),
        )
        .unwrap();
        assert_eq!(o.mode, Mode::Unfence);
        assert_eq!(o.timeout, Duration::from_secs(30));
        assert_eq!(o.dc_timeout, Duration::from_secs(5));
        assert_eq!(
            Options::parse("x", &args(&["--unfence"])).unwrap().mode,
            Mode::Unfence
        );
        for bad in [
            &["--timeout"][..],
            &["--timeout", "0"],
            &["--timeout", "x"],
            &["--dc-timeout", "99999"],
            &["--bogus"],
            &["--role"],
        ] {
            assert!(Options::parse("x", &args(bad)).is_err(), "{bad:?}");
        }
    }

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn environment() {
        let e = HandlerEnv::from_vars(vars(&[
            ("DRBD_RESOURCE", "r0"),
            ("DRBD_MY_NODE_ID", "0"),
            ("DRBD_PEER_NODE_ID", "1"),
            ("DRBD_NODE_ID_0", "node1"),
            ("DRBD_NODE_ID_1", "node2"),
            ("UP_TO_DATE_NODES", "0x00000001"),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert_eq!(e.local_node("host"), "node1");
        assert_eq!(e.lost_peers("node1").unwrap(), vec!["node2".to_string()]);
        assert_eq!(e.up_to_date, Some(vec![0]));
        assert_eq!(
            allowed_nodes(&e, "node1", &["node2".into()]),
            vec![(0, "node1".to_string())]
        );
        let e8 = HandlerEnv::from_vars(vars(&[("DRBD_RESOURCE", "r0"), ("DRBD_PEER", "node2")]))
            .unwrap();
        assert_eq!(e8.local_node("node1"), "node1");
        assert_eq!(e8.lost_peers("node1").unwrap(), vec!["node2".to_string()]);
        let bad: &[&[(&str, &str)]] = &[
            &[],
            &[("DRBD_RESOURCE", "")],
            &[("DRBD_RESOURCE", "r0;x")],
            &[("DRBD_RESOURCE", "r0"), ("DRBD_MY_NODE_ID", "x")],
            &[("DRBD_RESOURCE", "r0"), ("DRBD_MY_NODE_ID", "64")],
            &[("DRBD_RESOURCE", "r0"), ("DRBD_NODE_ID_x", "node1")],
            &[("DRBD_RESOURCE", "r0"), ("DRBD_NODE_ID_1", "no de")],
            &[("DRBD_RESOURCE", "r0"), ("UP_TO_DATE_NODES", "12")],
            &[("DRBD_RESOURCE", "r0"), ("DRBD_PEER", "a'b")],
        ];
        for b in bad {
            assert!(HandlerEnv::from_vars(vars(b)).is_err(), "{b:?}");
        }
        let none = HandlerEnv::from_vars(vars(&[("DRBD_RESOURCE", "r0")])).unwrap();
        assert!(none.lost_peers("node1").is_err());
        let dangling =
            HandlerEnv::from_vars(vars(&[("DRBD_RESOURCE", "r0"), ("DRBD_PEER_NODE_ID", "3")]))
                .unwrap();
        assert!(dangling.lost_peers("node1").is_err());
    }
}
