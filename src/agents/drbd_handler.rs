//! The fence-peer / unfence-peer handlers' I/O: DRBD's handler environment, the local DRBD
//! state and the CIB in, the fencing constraint out. The decisions are
//! [`crate::drbd::fence_peer`]'s pure functions; this module gathers their inputs, polls the DC as
//! crm-fence-peer.9.sh does, and carries out their verdicts, every wait bounded by the
//! handler's timeouts.
//!
//! DRBD runs the handler with (`drbdadm_main.c` `setenv_node_id_and_uname` and the kernel):
//! `DRBD_RESOURCE`, `DRBD_MY_NODE_ID`, `DRBD_PEER_NODE_ID` (DRBD 9), `DRBD_PEER` (8.4,
//! the peer's host name), `DRBD_NODE_ID_<n>=<host>` for every node, and
//! `UP_TO_DATE_NODES=0x…` (bit n set: node n has UpToDate data).

use crate::drbd::agent::{check_resource_name, LocalResource, Observed};
use crate::drbd::cmd::DrbdTools;
use crate::drbd::fence_peer::{
    controller_answered, decide_fence, decide_unfence, judge_existing, judge_node_state,
    parse_cib_for, parse_up_to_date_nodes, poll_step, proc_drbd_local, promoted_role_name,
    should_commit_suicide, CibFacts, ConstraintNaming, ExistingVerdict, FencePeerExit,
    FenceSituation, LocalData, LocalDrbd, PeerState, UnfenceDecision,
};
use crate::drbd::status::printable;
use crate::drbd::version::parse_proc_drbd;
use crate::log::Logger;
use crate::process::run_with_input;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Which handler runs: chosen by the name the binary was invoked as
/// (`bulwark-drbd-unfence-peer`) or by `--unfence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Fence,
    Unfence,
}

/// Command-line options: every option crm-fence-peer.9.sh (drbd-utils 9.22) accepts, so a
/// handler line carried over from drbd.conf works unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// How long to poll the DC for a definite state of the peer (`--timeout`, 90 s).
    pub timeout: Duration,
    /// How long to try to reach a DC at all (`--dc-timeout`, 20 s).
    pub dc_timeout: Duration,
    /// While the peer's controller answers, wait this long (from the start) for the
    /// replication link to come back before fencing (`--network-hickup`, 0).
    pub net_hickup: Duration,
    /// `-r/--resource`: overrides `DRBD_RESOURCE`.
    pub resource: Option<String>,
    /// `-i/--master-id`: the promotable clone's id, instead of looking it up in the CIB.
    pub master_id: Option<String>,
    /// `-l/--role`: the rule's role (default by the CIB schema: `Promoted`, else `Master`).
    pub role: Option<String>,
    /// `-p/--id-prefix` (the resource name is appended, as the script does).
    pub id_prefix: Option<String>,
    pub quiet: bool,
    pub unfence_only_if_owner_match: bool,
    pub flock_required: bool,
    pub flock_timeout: Duration,
    /// `--lock-dir` (absolute; default /var/lock/drbd).
    pub lock_dir: Option<String>,
    /// `--lock-file` (`NONE`: no lock; relative: under the lock dir).
    pub lock_file: Option<String>,
    /// `--CTS-mode`: a peer without a node_state counts as reachable.
    pub cts_mode: bool,
    /// `--unreachable-peer-is-outdated`: honoured only when stdin is a terminal (an operator).
    pub unreachable_peer_is_outdated: bool,
    pub suicide_on_failure_if_primary: bool,
    /// `--logfacility` (syslog facility; default local5 as the script's).
    pub logfacility: Option<String>,
}

const FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "user",
    "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

fn seconds(option: &str, value: &str, max: u32) -> Result<Duration, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if n <= max => Ok(Duration::from_secs(n.into())),
        _ => Err(format!(
            "{option} '{}' is not a number of seconds from 0 to {max}",
            printable(value, 20)
        )),
    }
}

/// An XML id / resource name given on the command line: it goes into the CIB.
fn xml_name(option: &str, value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{option} '{}' is not a valid id",
            printable(value, 40)
        ))
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
            net_hickup: Duration::ZERO,
            resource: None,
            master_id: None,
            role: None,
            id_prefix: None,
            quiet: false,
            unfence_only_if_owner_match: false,
            flock_required: false,
            flock_timeout: Duration::from_secs(120),
            lock_dir: None,
            lock_file: None,
            cts_mode: false,
            unreachable_peer_is_outdated: false,
            suicide_on_failure_if_primary: false,
            logfacility: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match name {
                "--timeout" | "-t" => o.timeout = seconds(name, &value()?, 86400)?,
                "--dc-timeout" | "-d" => o.dc_timeout = seconds(name, &value()?, 86400)?,
                "--net-hickup" | "--network-hickup" => {
                    o.net_hickup = seconds(name, &value()?, 86400)?
                }
                "--flock-timeout" => o.flock_timeout = seconds(name, &value()?, 86400)?,
                "--resource" | "-r" => o.resource = Some(value()?),
                "--master-id" | "-i" => o.master_id = Some(xml_name(name, &value()?)?),
                "--id-prefix" | "-p" => o.id_prefix = Some(xml_name(name, &value()?)?),
                "--role" | "-l" => {
                    let v = value()?;
                    if ![
                        "Master",
                        "Promoted",
                        "Slave",
                        "Unpromoted",
                        "Started",
                        "Stopped",
                    ]
                    .contains(&v.as_str())
                    {
                        return Err(format!("{name} '{}' is not a role", printable(&v, 20)));
                    }
                    o.role = Some(v);
                }
                "--fencing-attribute" | "-a" => {
                    let v = value()?;
                    // Another attribute changes which nodes the constraint lets be
                    // promoted; refused rather than approximated.
                    if v != "#uname" {
                        return Err(format!(
                            "{name} '{}' is not supported (only #uname)",
                            printable(&v, 40)
                        ));
                    }
                }
                "--lock-dir" => o.lock_dir = Some(value()?),
                "--lock-file" => o.lock_file = Some(value()?),
                "--logfacility" => o.logfacility = Some(value()?),
                "--quiet" => o.quiet = true,
                "--unfence-only-if-owner-match" => o.unfence_only_if_owner_match = true,
                "--flock-required" => o.flock_required = true,
                "--CTS-mode" => o.cts_mode = true,
                "--unreachable-peer-is-outdated" => {
                    // Not to be scripted (the script's rule): only an operator at a terminal.
                    // SAFETY: isatty only inspects the descriptor.
                    o.unreachable_peer_is_outdated = unsafe { libc::isatty(0) } == 1;
                }
                "--suicide-on-failure-if-primary" => o.suicide_on_failure_if_primary = true,
                "--unfence" => o.mode = Mode::Unfence,
                "--fence" => o.mode = Mode::Fence,
                other if other.starts_with('-') => {
                    return Err(format!("unknown option '{}'", printable(other, 40)));
                }
                other => {
                    return Err(format!("unexpected argument '{}'", printable(other, 40)));
                }
            }
        }
        Ok(o)
    }

    /// The syslog facility to log to: `--logfacility` when it names one, else local5.
    pub fn facility(&self) -> &str {
        match self.logfacility.as_deref() {
            Some(f) if FACILITIES.contains(&f) => f,
            _ => "local5",
        }
    }

    /// The lock file (crm-fence-peer.9.sh's sanitising of `--lock-dir` / `--lock-file`);
    /// `None` for `--lock-file NONE`.
    pub fn lock_path(&self, resource: &str) -> Option<PathBuf> {
        let dir = match self.lock_dir.as_deref() {
            Some(d) if d.starts_with('/') => d,
            _ => "/var/lock/drbd",
        };
        match self.lock_file.as_deref() {
            None | Some("") => {
                Some(Path::new(dir).join(format!("fence.{}", resource.replace('/', "_"))))
            }
            Some("NONE") => None,
            Some(f) if f.starts_with('/') => Some(PathBuf::from(f)),
            Some(f) => Some(Path::new(dir).join(f)),
        }
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
    /// `DRBD_MINOR` (drbdadm: the resource's minors, space separated).
    pub minors: Vec<u32>,
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
    /// Reads the handler variables from `(name, value)` pairs (the process environment);
    /// `resource` (`--resource`) overrides `DRBD_RESOURCE`.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
        resource_option: Option<&str>,
    ) -> Result<Self, String> {
        let mut resource = None;
        let mut env = HandlerEnv {
            resource: String::new(),
            my_node_id: None,
            peer_node_id: None,
            peer: None,
            node_names: BTreeMap::new(),
            up_to_date: None,
            minors: Vec::new(),
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
                "DRBD_MINOR" => {
                    env.minors = v
                        .split_whitespace()
                        .map(|m| {
                            m.parse::<u32>().map_err(|_| {
                                format!("DRBD_MINOR '{}' is not a minor number", printable(&v, 40))
                            })
                        })
                        .collect::<Result<_, _>>()?;
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
        let resource = resource_option
            .map(str::to_string)
            .or(resource)
            .ok_or("DRBD_RESOURCE is not set (run by DRBD as a handler?)")?;
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

    /// DRBD node id of a host name.
    pub fn id_of(&self, name: &str) -> Option<u32> {
        self.node_names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }
}

/// Which nodes the constraint allows (`include`) and which it fences (`exclude`)
/// (crm-fence-peer.9.sh `setup_node_lists`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLists {
    /// `(id, name)`: the id goes into the expression's XML id, as the script does.
    pub include: Vec<(u32, String)>,
    pub exclude: Vec<String>,
    /// DRBD 8.4 without `DRBD_PEER` and more than one other node: the peer is unknown.
    pub peer_unknown: bool,
}

impl NodeLists {
    pub fn include_names(&self) -> Vec<String> {
        self.include.iter().map(|(_, n)| n.clone()).collect()
    }
}

/// DRBD 9 (`UP_TO_DATE_NODES` given): the UpToDate nodes are allowed, every other named
/// node fenced, and this node must be one of the UpToDate ones. DRBD 8.4: this node is
/// allowed and `DRBD_PEER` (or the one other cluster node) fenced.
pub fn node_lists(
    env: &HandlerEnv,
    local: &str,
    cib_nodes: &[String],
) -> Result<NodeLists, String> {
    if let Some(id) = env.peer_node_id {
        if !env.node_names.contains_key(&id) {
            return Err(format!("DRBD_PEER_NODE_ID={id} but no DRBD_NODE_ID_{id}"));
        }
    }
    if let Some(mask) = &env.up_to_date {
        let me = env
            .my_node_id
            .ok_or("UP_TO_DATE_NODES is set but DRBD_MY_NODE_ID is not")?;
        if !mask.contains(&me) {
            return Err(format!(
                "this node (DRBD node id {me}) is not in UP_TO_DATE_NODES: its data is not UpToDate"
            ));
        }
        let mut lists = NodeLists {
            include: Vec::new(),
            exclude: Vec::new(),
            peer_unknown: false,
        };
        for (id, name) in &env.node_names {
            if mask.contains(id) {
                lists.include.push((*id, name.clone()));
            } else {
                lists.exclude.push(name.clone());
            }
        }
        return Ok(lists);
    }
    let others: Vec<&String> = cib_nodes.iter().filter(|n| n.as_str() != local).collect();
    let peer = env
        .peer
        .clone()
        .or_else(|| (others.len() == 1).then(|| others[0].clone()));
    Ok(NodeLists {
        include: vec![(0, local.to_string())],
        peer_unknown: peer.is_none(),
        exclude: peer.into_iter().collect(),
    })
}

/// Pacemaker's tools (found through `PATH`; `BULWARK_CIBADMIN` … override for tests).
#[derive(Debug, Clone)]
pub struct ClusterTools {
    pub cibadmin: PathBuf,
    pub crmadmin: PathBuf,
    pub crm_node: PathBuf,
    pub crm_attribute: PathBuf,
    pub reboot: PathBuf,
}

/// A cluster tool's failure: exit code (None: did not run / killed) and one line.
#[derive(Debug, Clone)]
struct ToolError {
    code: Option<i32>,
    line: String,
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
            crmadmin: var("BULWARK_CRMADMIN", "crmadmin"),
            crm_node: var("BULWARK_CRM_NODE", "crm_node"),
            crm_attribute: var("BULWARK_CRM_ATTRIBUTE", "crm_attribute"),
            reboot: var("BULWARK_REBOOT", "reboot"),
        }
    }

    fn run(
        &self,
        program: &Path,
        args: &[&str],
        input: Option<&[u8]>,
        limit: Duration,
    ) -> Result<String, ToolError> {
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut cmd = Command::new(program);
        cmd.args(args);
        let out = run_with_input(&mut cmd, input, limit).map_err(|e| ToolError {
            code: None,
            line: e.to_string(),
        })?;
        if out.status.success() {
            Ok(out.stdout_str())
        } else {
            Err(ToolError {
                code: out.code(),
                line: format!(
                    "{name} {} failed ({}): {}",
                    args.first().copied().unwrap_or(""),
                    out.code().map_or("signal".into(), |c| c.to_string()),
                    printable(&out.stderr_last_line(), 200)
                ),
            })
        }
    }
}

/// The installed names of the two handlers (one binary's code under both).
pub const FENCE_PEER: &str = "bulwark-drbd-fence-peer";
pub const UNFENCE_PEER: &str = "bulwark-drbd-unfence-peer";

/// A handler's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerExit {
    /// 0: the unfence-peer handler removed the constraint, or had nothing to remove.
    Done,
    /// DRBD's fence-peer verdict; [`FencePeerExit::Failed`] (1) for either handler's failure.
    Verdict(FencePeerExit),
}

impl HandlerExit {
    pub fn code(self) -> i32 {
        match self {
            HandlerExit::Done => 0,
            HandlerExit::Verdict(v) => v.code(),
        }
    }
}

/// The handler's verdict: DRBD's exit code and one line for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerResult {
    pub code: HandlerExit,
    pub message: String,
}

fn failed(message: impl Into<String>) -> HandlerResult {
    HandlerResult {
        code: HandlerExit::Verdict(FencePeerExit::Failed),
        message: message.into(),
    }
}

/// cibadmin exit codes after which a write is retried: 103 (CRM_EX_OLD, an update raced
/// ours), 205 (pcmk_err_old_data, Pacemaker 1.1), 124 (timer expired: busy or electing).
fn transient(code: Option<i32>) -> bool {
    matches!(code, Some(103 | 205 | 124))
}

/// cibadmin's "already exists" (CRM_EX_EXISTS).
const CIB_EXISTS: i32 = 108;
/// cibadmin's "no such object" (CRM_EX_NOSUCH) on delete: already gone.
const CIB_NOSUCH: i32 = 105;

/// One handler run: tools, clock, the CIB as last read, and the log.
struct Run<'a> {
    opts: &'a Options,
    env: &'a HandlerEnv,
    drbd: &'a DrbdTools,
    tools: &'a ClusterTools,
    log: &'a Logger,
    /// This node's name.
    local: String,
    start: Instant,
    /// crm-fence-peer's `cibtimeout` (deci-seconds, grows by 5/4 on every DC timeout).
    cib_timeout_ds: u64,
    /// The CIB as last read (locally first, then from the DC).
    cib: CibFacts,
    stonith_enabled: bool,
    startup_fencing: bool,
    role: String,
}

/// Longest any single cluster tool call may take: what the script's tools default to.
const TOOL_LIMIT: Duration = Duration::from_secs(30);

impl Run<'_> {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn out_of_time(&self) -> bool {
        self.elapsed() >= self.opts.timeout
    }

    fn parse(&self, xml: &str) -> Result<CibFacts, String> {
        parse_cib_for(
            xml,
            &self.env.resource,
            self.opts.master_id.as_deref(),
            self.opts.id_prefix.as_deref(),
        )
        .map_err(|e| e.to_string())
    }

    fn naming(&self) -> ConstraintNaming {
        ConstraintNaming::new(
            self.opts.id_prefix.as_deref(),
            &self.env.resource,
            &self.cib.clone_id,
        )
    }

    /// `cibadmin -Q -t N` until a DC answers or `--dc-timeout` (from the start) passes;
    /// the per-try timeout grows 1, 2, 2, 3, 4 … s as the script's does.
    fn refresh_from_dc(&mut self) -> bool {
        loop {
            let t0 = Instant::now();
            let secs = (self.cib_timeout_ds / 10).max(1);
            let arg = secs.to_string();
            let got = self.tools.run(
                &self.tools.cibadmin,
                &["-Q", "-t", &arg],
                None,
                // cibadmin bounds itself with -t; this only catches a wedged one (a loaded
                // node can take seconds just to start it).
                Duration::from_secs(secs + 10),
            );
            if let Ok(xml) = got {
                match self.parse(&xml) {
                    Ok(c) => {
                        self.cib = c;
                        return true;
                    }
                    Err(e) => self.log.warn(&format!("the DC's CIB: {e}")),
                }
            }
            if self.elapsed() > self.opts.dc_timeout {
                return false;
            }
            if t0.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_secs(1) - t0.elapsed());
            }
            self.cib_timeout_ds = self.cib_timeout_ds * 5 / 4;
        }
    }

    /// `crmadmin -S <peer>` answered `ok`: the peer's controller is reachable.
    fn controller_answers(&self, peer: &str) -> bool {
        let ms = self.cib_timeout_ds * 200;
        let t = format!("{ms}ms");
        match self.tools.run(
            &self.tools.crmadmin,
            &["-t", &t, "-S", peer],
            None,
            Duration::from_millis(ms) + Duration::from_secs(10),
        ) {
            Ok(out) => controller_answered(&out),
            Err(_) => false,
        }
    }

    /// crm-fence-peer.9.sh `_check_peer_node_reachable`: polls the DC's view of `peer`
    /// every 2 s until the CIB settles it, its controller answers, or `--timeout` passes.
    fn peer_state(&mut self, peer: Option<&str>) -> PeerState {
        let Some(peer) = peer else {
            // Nobody knows which node is the peer: give STONITH the full timeout to shoot
            // us, then report unknown.
            let left = self.opts.timeout.saturating_sub(self.elapsed());
            self.log.warn(&format!(
                "do not know which node is the peer; waiting {} s just in case",
                left.as_secs()
            ));
            std::thread::sleep(left);
            return PeerState::Unknown;
        };
        loop {
            let state = self.cib.node_state(peer).cloned();
            if self.opts.cts_mode && state.is_none() {
                self.log.warn(&format!(
                    "CTS mode: treating unseen node {peer} as reachable"
                ));
                return PeerState::Reachable;
            }
            let j = judge_node_state(state.as_ref(), self.stonith_enabled, self.startup_fencing);
            let ok = j.crmd_online() && self.controller_answers(peer);
            if let Some(s) = poll_step(&j, ok, self.out_of_time()) {
                return s;
            }
            std::thread::sleep(Duration::from_secs(2));
            if !self.refresh_from_dc() {
                return PeerState::DcUnreachable;
            }
        }
    }

    /// crm-fence-peer.9.sh `check_peer_node_reachable`: the state of every fenced peer the
    /// constraint does not already reject; `[DcUnreachable]` when no DC answered.
    fn peer_states(&mut self, lists: &NodeLists) -> Vec<PeerState> {
        if !self.refresh_from_dc() {
            return vec![PeerState::DcUnreachable];
        }
        if lists.peer_unknown {
            return vec![self.peer_state(None)];
        }
        let mut states = Vec::new();
        for peer in &lists.exclude {
            let rejected = self
                .cib
                .existing
                .as_ref()
                .is_some_and(|c| !c.allowed.contains(peer));
            if !rejected {
                states.push(self.peer_state(Some(peer)));
            }
        }
        states
    }

    /// Quorum per the CIB, confirmed by `crm_node --quorum` (the CIB may be stale).
    fn quorum(&self) -> bool {
        if !self.cib.have_quorum {
            return false;
        }
        let ok = self
            .tools
            .run(&self.tools.crm_node, &["--quorum"], None, TOOL_LIMIT)
            .is_ok_and(|o| o.trim() == "1");
        if !ok {
            self.log
                .warn("the CIB says quorum, crm_node --quorum does not");
        }
        ok
    }

    fn local_facts(&self) -> LocalDrbd {
        local_facts(
            self.drbd,
            self.env,
            &crate::deadline::Deadline::after(TOOL_LIMIT),
        )
        .unwrap_or_else(|e| {
            self.log.warn(&e);
            LocalDrbd {
                data: LocalData::Unconfigured,
                pdsk_all_up_to_date: false,
                primary: false,
            }
        })
    }

    /// Writes the constraint allowing `include` (crm-fence-peer.9.sh
    /// `create_or_modify_constraint`): reads the CIB again; a constraint placed meanwhile
    /// (another handler, the other node) is restricted further instead of overwritten, one
    /// that rejects this node or a partition without quorum stops it. "Already exists"
    /// (another writer won the race) reads back and goes round again; a CIB update race or
    /// timeout is retried until `--timeout`.
    fn write_constraint(
        &mut self,
        include: &[(u32, String)],
        exclude: &[String],
        fencing: bool,
    ) -> Result<(), String> {
        let mut id_taken = false;
        loop {
            let xml = self
                .tools
                .run(&self.tools.cibadmin, &["-Q"], None, TOOL_LIMIT)
                .map_err(|e| e.line)?;
            let fresh = self.parse(&xml)?;
            if !fresh.have_quorum {
                return Err("no quorum".into());
            }
            if let Some(c) = &fresh.existing {
                if !c.allowed.contains(&self.local) {
                    return Err(format!(
                        "constraint {} rejects this node",
                        self.naming().id()
                    ));
                }
            }
            let allowed: Vec<(u32, String)> = match (&fresh.existing, fencing) {
                (Some(c), true) => c
                    .allowed
                    .iter()
                    .filter(|n| !exclude.contains(n))
                    .map(|n| {
                        let id = include
                            .iter()
                            .find(|(_, m)| m == n)
                            .map(|(i, _)| *i)
                            .or_else(|| self.env.id_of(n))
                            .unwrap_or(0);
                        (id, n.clone())
                    })
                    .collect(),
                _ => include.to_vec(),
            };
            // Already exactly what we would write (another handler's, read back after
            // "exists", or ours from an earlier run): done, without a write that changes
            // nothing (the script's empty diff makes cibadmin --patch fail there).
            if let Some(c) = &fresh.existing {
                let names: Vec<String> = allowed.iter().map(|(_, n)| n.clone()).collect();
                if judge_existing(c, &self.role, &names, &self.local, &[])
                    == ExistingVerdict::Suitable
                {
                    self.cib = fresh;
                    return Ok(());
                }
            }
            self.cib = fresh;
            let naming = self.naming();
            let body = crate::drbd::fence_peer::constraint_xml_named(&naming, &self.role, &allowed);
            let result = if self.cib.existing.is_some() {
                let xpath = format!("//rsc_location[@id='{}']", naming.id());
                self.tools.run(
                    &self.tools.cibadmin,
                    &["--replace", "--xpath", &xpath, "--xml-text", &body],
                    None,
                    TOOL_LIMIT,
                )
            } else {
                self.tools.run(
                    &self.tools.cibadmin,
                    &["--create", "--scope", "constraints", "--xml-text", &body],
                    None,
                    TOOL_LIMIT,
                )
            };
            match result {
                Ok(_) => return Ok(()),
                // Another writer (the other node's handler, an operator) won the race:
                // read it back and restrict or accept it. A second "exists" while the read
                // finds no constraint of ours means the id is taken by something else.
                Err(e) if e.code == Some(CIB_EXISTS) && !id_taken => {
                    self.log
                        .info("the constraint appeared meanwhile; reading it back");
                    id_taken = true;
                }
                Err(e) if e.code == Some(CIB_EXISTS) => {
                    return Err(format!(
                        "id {} is taken by something that is not our constraint on {}",
                        naming.id(),
                        naming.clone_id
                    ))
                }
                Err(e) if transient(e.code) && !self.out_of_time() => {
                    self.log.info(&format!("{}; retrying", e.line));
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => return Err(e.line),
            }
            if self.elapsed() > self.opts.timeout + TOOL_LIMIT {
                return Err("gave up writing the constraint".into());
            }
        }
    }

    /// crm-fence-peer.9.sh `try_place_constraint`: `Ok(exit)` once decided (placed or
    /// deliberately not), `Err` when placing failed.
    fn try_place(&mut self, lists: &NodeLists) -> Result<FenceOutcome, String> {
        let mut peers;
        loop {
            peers = self.peer_states(lists);
            let all_reachable = peers.iter().all(|p| *p == PeerState::Reachable);
            if !all_reachable || self.opts.net_hickup <= self.elapsed() {
                break;
            }
            // The peer answers: maybe the link comes back by itself and nobody needs fencing.
            std::thread::sleep(self.opts.net_hickup - self.elapsed());
        }
        let quorum = self.quorum();
        let facts = self.local_facts();
        let situation = FenceSituation {
            quorum,
            peers: peers.clone(),
            local: facts.data,
            peers_all_up_to_date: facts.pdsk_all_up_to_date,
            unreachable_peer_is_outdated: self.opts.unreachable_peer_is_outdated,
        };
        let d = decide_fence(&situation);
        if d.place_constraint {
            self.write_constraint(&lists.include, &lists.exclude, true)?;
        }
        Ok(FenceOutcome {
            exit: d.exit,
            reason: format!("{} (peer states {peers:?})", d.reason),
        })
    }
}

struct FenceOutcome {
    exit: FencePeerExit,
    reason: String,
}

/// The local DRBD state: DRBD 8.x from /proc/drbd (no netlink, see [`proc_drbd_local`]),
/// DRBD 9 from `drbdsetup events2` as the agent reads it.
fn local_facts(
    drbd: &DrbdTools,
    env: &HandlerEnv,
    deadline: &crate::deadline::Deadline,
) -> Result<LocalDrbd, String> {
    if let Ok(text) = std::fs::read_to_string(&drbd.proc_drbd) {
        if parse_proc_drbd(&text).is_ok_and(|v| !v.is_v9()) {
            let minors = if env.minors.is_empty() {
                // drbdadm reads the configuration only: no netlink either.
                let out = drbd
                    .drbdadm(&["sh-minor", &env.resource], deadline)
                    .map_err(|e| format!("cannot find the resource's minors: {e}"))?;
                out.stdout_str()
                    .split_whitespace()
                    .filter_map(|m| m.parse().ok())
                    .collect()
            } else {
                env.minors.clone()
            };
            return Ok(proc_drbd_local(&text, &minors));
        }
    }
    let local = LocalResource::new(&env.resource, drbd.clone());
    let (_, observed) = local
        .observe(deadline)
        .map_err(|e| format!("cannot read the local DRBD state: {e}"))?;
    Ok(match observed {
        Observed::Up(s) => {
            let f = s.facts();
            LocalDrbd {
                data: if f.disk_all_up_to_date {
                    LocalData::AllUpToDate
                } else if f.disk_all_consistent {
                    LocalData::AllConsistent
                } else {
                    LocalData::NotConsistent
                },
                pdsk_all_up_to_date: f.pdsk_all_up_to_date,
                primary: f.primary,
            }
        }
        Observed::Down | Observed::NoModule => LocalDrbd {
            data: LocalData::Unconfigured,
            pdsk_all_up_to_date: false,
            primary: false,
        },
    })
}

/// The lock between concurrent handlers of one resource: flock(2) on the same file
/// crm-fence-peer.9.sh locks, so ours and LINBIT's exclude each other too.
pub struct HandlerLock {
    _file: Option<nix::fcntl::Flock<std::fs::File>>,
}

/// Takes the lock, waiting up to `timeout`. `Err` only when it could not be had; the
/// caller decides (`--flock-required`) whether to go on without it.
pub fn take_lock(path: &Path, timeout: Duration) -> Result<HandlerLock, String> {
    use nix::fcntl::{Flock, FlockArg};
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
    let until = Instant::now() + timeout;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => return Ok(HandlerLock { _file: Some(l) }),
            Err((f, _)) => file = f,
        }
        if Instant::now() >= until {
            return Err(format!(
                "could not lock {} within {} s",
                path.display(),
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the handler. `hostname` is this host's name (used when DRBD does not name it).
pub fn run(
    opts: &Options,
    env: &HandlerEnv,
    drbd: &DrbdTools,
    tools: &ClusterTools,
    hostname: &str,
    log: &Logger,
) -> HandlerResult {
    let _lock = match opts.lock_path(&env.resource) {
        None => None,
        Some(p) => match take_lock(&p, opts.flock_timeout) {
            Ok(l) => Some(l),
            Err(e) if opts.flock_required => return failed(e),
            Err(e) => {
                // Without the lock we can still try to place the constraint (the script's
                // choice); the read-back below handles a race.
                log.warn(&e);
                None
            }
        },
    };
    // The timeouts count from here: time spent waiting for the lock is bounded by
    // --flock-timeout, and the winner's constraint makes the loser's run short.
    let start = Instant::now();
    let xml = match tools.run(&tools.cibadmin, &["-Q", "-l"], None, TOOL_LIMIT) {
        Ok(x) => x,
        Err(e) => return failed(format!("cannot read the local CIB: {}", e.line)),
    };
    let cib = match parse_cib_for(
        &xml,
        &env.resource,
        opts.master_id.as_deref(),
        opts.id_prefix.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return failed(e.to_string()),
    };
    let role = opts
        .role
        .clone()
        .unwrap_or_else(|| promoted_role_name(&cib.validate_with).to_string());
    let mut r = Run {
        opts,
        env,
        drbd,
        tools,
        log,
        local: env.local_node(hostname),
        start,
        cib_timeout_ds: 18,
        stonith_enabled: cib.stonith_enabled,
        startup_fencing: cib.startup_fencing,
        cib,
        role,
    };
    let tag = |r: &Run, what: &str| format!("{}: {what} ({})", env.resource, r.naming().id());
    match opts.mode {
        Mode::Fence => {
            let lists = match node_lists(env, &r.local, &r.cib.nodes) {
                Ok(l) => l,
                Err(e) => return failed(format!("{}: {e}", env.resource)),
            };
            let outcome = fence(&mut r, &lists);
            let mut code = HandlerExit::Verdict(outcome.exit);
            let mut message = tag(&r, &outcome.reason);
            if matches!(
                outcome.exit,
                FencePeerExit::PeerFenced | FencePeerExit::PeerStonithed
            ) {
                // The link may have come back while we fenced: then the constraint only
                // blocks a good peer (crm-fence-peer.9.sh `double_check_after_fencing`).
                let facts = r.local_facts();
                if facts.pdsk_all_up_to_date && remove_constraint(&r).is_ok() {
                    code = HandlerExit::Verdict(FencePeerExit::Failed);
                    message = tag(
                        &r,
                        "all peer disks are UpToDate again: removed the constraint",
                    );
                }
            }
            // Read the role only when the option asks for it: it is another drbdsetup call.
            if opts.suicide_on_failure_if_primary
                && should_commit_suicide(true, outcome.exit, r.local_facts().primary)
            {
                commit_suicide(&r);
            }
            HandlerResult { code, message }
        }
        Mode::Unfence => unfence(&mut r, &tag),
    }
}

/// The fence flow of crm-fence-peer.9.sh `drbd_peer_fencing fence`.
fn fence(r: &mut Run, lists: &NodeLists) -> FenceOutcome {
    let fail = |reason: String| FenceOutcome {
        exit: FencePeerExit::Failed,
        reason,
    };
    if r.cib.existing.is_none() {
        match r.try_place(lists) {
            Ok(o) => return o,
            Err(e) => {
                r.log.warn(&format!("could not place the constraint: {e}"));
                // Did another handler or an operator place one meanwhile?
                r.refresh_from_dc();
            }
        }
    }
    let Some(existing) = r.cib.existing.clone() else {
        return fail("DATA INTEGRITY at RISK: could not place the fencing constraint".into());
    };
    match judge_existing(
        &existing,
        &r.role,
        &lists.include_names(),
        &r.local,
        &lists.exclude,
    ) {
        ExistingVerdict::Suitable => FenceOutcome {
            exit: FencePeerExit::PeerFenced,
            reason: "suitable constraint already placed".into(),
        },
        ExistingVerdict::RejectsMe => fail(format!(
            "the constraint already there rejects this node (allows {}): leaving I/O frozen",
            existing.allowed.join(",")
        )),
        ExistingVerdict::Restrict(_) => match r.try_place(lists) {
            Ok(o) => o,
            Err(e) => fail(format!(
                "the constraint already there could not be modified: {e}"
            )),
        },
    }
}

fn remove_constraint(r: &Run) -> Result<(), String> {
    let xml = format!(
        "<rsc_location rsc=\"{}\" id=\"{}\"/>",
        quick_xml::escape::escape(r.cib.clone_id.as_str()),
        quick_xml::escape::escape(r.naming().id())
    );
    match r
        .tools
        .run(&r.tools.cibadmin, &["-D", "-X", &xml], None, TOOL_LIMIT)
    {
        Ok(_) => Ok(()),
        Err(e) if e.code == Some(CIB_NOSUCH) => Ok(()),
        Err(e) => Err(e.line),
    }
}

/// crm-fence-peer.9.sh `drbd_peer_fencing unfence`.
fn unfence(r: &mut Run, tag: &dyn Fn(&Run, &str) -> String) -> HandlerResult {
    let lists = if r.env.up_to_date.is_some() || r.opts.unfence_only_if_owner_match {
        match node_lists(r.env, &r.local, &r.cib.nodes) {
            Ok(l) => Some(l),
            Err(e) => return failed(format!("{}: {e}", r.env.resource)),
        }
    } else {
        None
    };
    let Some(existing) = r.cib.existing.clone() else {
        return HandlerResult {
            code: HandlerExit::Done,
            message: tag(r, "no constraint in place, nothing to do"),
        };
    };
    let facts = r.local_facts();
    let pdsk = facts.pdsk_all_up_to_date;
    let up_names: Vec<String> = if r.env.up_to_date.is_some() {
        lists
            .as_ref()
            .map(NodeLists::include_names)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let done = |r: &Run, what: &str| HandlerResult {
        code: HandlerExit::Done,
        message: tag(r, what),
    };
    match decide_unfence(
        Some(&existing),
        &r.local,
        r.opts.unfence_only_if_owner_match,
        facts.data == LocalData::AllUpToDate,
        pdsk,
        &up_names,
    ) {
        UnfenceDecision::Nothing => done(r, "no constraint in place, nothing to do"),
        UnfenceDecision::Keep => done(r, "kept the constraint"),
        UnfenceDecision::Remove => match remove_constraint(r) {
            Ok(()) => done(r, "removed the constraint"),
            Err(e) => failed(tag(r, &format!("could not remove the constraint: {e}"))),
        },
        UnfenceDecision::Narrow => {
            let include = lists.map(|l| l.include).unwrap_or_default();
            match r.write_constraint(&include, &[], false) {
                Ok(()) => done(r, "allowed the UpToDate nodes again"),
                // The script's choice: a constraint left too strict is not a failure of
                // unfencing, only a delay.
                Err(e) => done(
                    r,
                    &format!("could not modify, left the constraint in place: {e}"),
                ),
            }
        }
    }
}

/// crm-fence-peer.9.sh `commit_suicide`: the handler failed while this node is Primary with
/// I/O frozen and `--suicide-on-failure-if-primary`: ask Pacemaker to fence this node
/// (`terminate` attribute) and reboot it ourselves if that has not happened within 300 s
/// (20 s without STONITH).
fn commit_suicide(r: &Run) {
    let grace = if r.stonith_enabled {
        r.log
            .warn("trying to have Pacemaker kill this node now (terminate=1)");
        let _ = r.tools.run(
            &r.tools.crm_attribute,
            &["-t", "status", "-N", &r.local, "-n", "terminate", "-v", "1"],
            None,
            TOOL_LIMIT,
        );
        Duration::from_secs(300)
    } else {
        Duration::from_secs(20)
    };
    let grace = std::env::var("BULWARK_SUICIDE_GRACE_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(grace, Duration::from_secs);
    r.log.warn(&format!(
        "going to reboot -f in {} s; to cancel: kill {}",
        grace.as_secs(),
        std::process::id()
    ));
    std::thread::sleep(grace);
    r.log.warn("going to reboot -f now");
    let _ = r.tools.run(&r.tools.reboot, &["-f"], None, TOOL_LIMIT);
}

/// `--help`: the options, as crm-fence-peer.9.sh names them.
pub const USAGE: &str = "\
Usage: bulwark-drbd-fence-peer [OPTION]...   (DRBD's fence-peer handler)
       bulwark-drbd-unfence-peer [OPTION]... (unfence-peer / after-resync-target)
Places (removes) the -INFINITY constraint on the promoted role of the DRBD clone for every
node whose data is not UpToDate. Run by DRBD with DRBD_RESOURCE, DRBD_PEER / DRBD_MINOR
(8.4) or DRBD_MY_NODE_ID, DRBD_NODE_ID_n, UP_TO_DATE_NODES (9) in the environment. Resumes
I/O at once (exit 4) only when the peer's controller answers crmadmin -S; otherwise polls
the DC until the peer is cleanly down (7) or --timeout passes (5), so STONITH acts first.
Exit: 4 peer fenced, 5 peer unreachable, 7 peer STONITHed, 1 failed (I/O stays frozen).

  -t, --timeout=S            poll the DC for the peer's state this long (90)
  -d, --dc-timeout=S         wait this long for a DC at all (20)
      --network-hickup=S     while the peer answers, wait this long for the link (0)
  -r, --resource=R           instead of DRBD_RESOURCE
  -i, --master-id=ID         the promotable clone (default: found in the CIB)
  -l, --role=ROLE            rule role (default Promoted, Master on schemas < 3.7)
  -p, --id-prefix=P          constraint id prefix (drbd-fence-by-handler; -R appended)
  -a, --fencing-attribute=A  only #uname (others are refused)
      --lock-dir=D, --lock-file=F|NONE, --flock-timeout=S (120), --flock-required
                             the lock crm-fence-peer.9.sh takes (/var/lock/drbd/fence.R)
      --unfence-only-if-owner-match   unfence removes only a constraint allowing us
      --suicide-on-failure-if-primary a Primary whose fencing failed asks Pacemaker to
                             fence it (terminate) and reboots after 300 s (20 s w/o STONITH)
      --unreachable-peer-is-outdated  (from a terminal only) place it with Consistent data
      --CTS-mode             a peer without node_state counts as reachable
      --logfacility=F        syslog facility (local5)
      --quiet
      --unfence / --fence    select the mode regardless of the program name
Differences to crm-fence-peer.9.sh: docs/drbd-fence-peer-differences.md.
";

/// The whole handler process: arguments and environment in, DRBD's exit code out. Both
/// handler binaries (`bulwark-drbd-fence-peer`, `bulwark-drbd-unfence-peer`) are this call;
/// the name they run under, or `--unfence`, selects the mode.
pub fn main_with(invoked_as: &str, args: &[String]) -> i32 {
    let tag = if invoked_as.is_empty() {
        FENCE_PEER
    } else {
        invoked_as
    };
    // drbd.ocf passes its unfence_extra_args this way; the script appends them too.
    let mut args = args.to_vec();
    if let Ok(extra) = std::env::var("OCF_RESKEY_unfence_extra_args") {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return HandlerExit::Done.code();
    }
    let opts = match Options::parse(invoked_as, &args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{tag}: {e}");
            return HandlerExit::Verdict(FencePeerExit::Failed).code();
        }
    };
    let log = Logger::handler(tag, opts.facility());
    let env = match HandlerEnv::from_vars(std::env::vars(), opts.resource.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            log.error(&e);
            return HandlerExit::Verdict(FencePeerExit::Failed).code();
        }
    };
    let hostname = crate::drbd::agent::local_node_name();
    let result = run(
        &opts,
        &env,
        &crate::drbd::DrbdTools::from_env(),
        &ClusterTools::from_env(),
        &hostname,
        &log,
    );
    let line = format!("{} (exit {})", result.message, result.code.code());
    if result.code == HandlerExit::Verdict(FencePeerExit::Failed) {
        log.error(&line);
    } else if !(opts.quiet && result.code == HandlerExit::Done) {
        log.info(&line);
    }
    result.code.code()
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
        assert_eq!(
            o.lock_path("r0"),
            Some(PathBuf::from("/var/lock/drbd/fence.r0"))
        );
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
            &["--timeout", "x"],
            &["--dc-timeout", "99999999"],
            &["--bogus"],
            &["r0"],
            &["--role"],
            &["--role", "Boss"],
            &["--fencing-attribute", "site"],
            &["--master-id", "a b"],
        ] {
            assert!(Options::parse("x", &args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_option_of_crm_fence_peer_9_is_accepted() {
        // The option list of drbd-utils 9.22 scripts/crm-fence-peer.9.sh, short and long,
        // with and without '='.
        let all = args(&[
            "--logfacility=local3",
            "--logfacility",
            "daemon",
            "--resource=r0",
            "-r",
            "r0",
            "--master-id=ms",
            "-i",
            "ms",
            "--role=Master",
            "-l",
            "Promoted",
            "--fencing-attribute=#uname",
            "-a",
            "#uname",
            "--id-prefix=pfx",
            "-p",
            "pfx",
            "--timeout=60",
            "-t",
            "60",
            "--dc-timeout=10",
            "-d",
            "10",
            "--quiet",
            "--unfence-only-if-owner-match",
            "--flock-required",
            "--flock-timeout=5",
            "--flock-timeout",
            "5",
            "--lock-dir=/run/x",
            "--lock-dir",
            "/run/x",
            "--lock-file=f",
            "--lock-file",
            "f",
            "--net-hickup=3",
            "--network-hickup=3",
            "--net-hickup",
            "3",
            "--network-hickup",
            "3",
            "--CTS-mode",
            "--unreachable-peer-is-outdated",
            "--suicide-on-failure-if-primary",
        ]);
        let o = Options::parse("crm-fence-peer.9.sh", &all).unwrap();
        assert_eq!(o.resource.as_deref(), Some("r0"));
        assert_eq!(o.master_id.as_deref(), Some("ms"));
        assert_eq!(o.role.as_deref(), Some("Promoted"));
        assert_eq!(o.net_hickup, Duration::from_secs(3));
        assert_eq!(o.flock_timeout, Duration::from_secs(5));
        assert!(o.flock_required && o.quiet && o.cts_mode && o.suicide_on_failure_if_primary);
        assert_eq!(o.facility(), "daemon");
        assert_eq!(o.lock_path("r0"), Some(PathBuf::from("/run/x/f")));
    }

    #[test]
    fn lock_file_sanitising() {
        let o = |dir: Option<&str>, file: Option<&str>| Options {
            lock_dir: dir.map(str::to_string),
            lock_file: file.map(str::to_string),
            ..Options::parse("x", &[]).unwrap()
        };
        assert_eq!(o(None, Some("NONE")).lock_path("r0"), None);
        assert_eq!(
            o(Some("relative"), None).lock_path("a/b"),
            Some(PathBuf::from("/var/lock/drbd/fence.a_b"))
        );
        assert_eq!(
            o(Some("/x"), Some("/y/z")).lock_path("r0"),
            Some(PathBuf::from("/y/z"))
        );
    }

    #[test]
    fn the_lock_excludes_a_second_handler_for_its_timeout_only() {
        let dir = std::env::temp_dir().join(format!("bulwark-lock-{}", std::process::id()));
        let path = dir.join("sub/fence.r0");
        let first = take_lock(&path, Duration::ZERO).unwrap();
        let t = Instant::now();
        let second = take_lock(&path, Duration::from_millis(300));
        assert!(second.is_err());
        assert!(t.elapsed() >= Duration::from_millis(300));
        drop(first);
        assert!(take_lock(&path, Duration::ZERO).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn environment_and_node_lists() {
        let e = HandlerEnv::from_vars(
            vars(&[
                ("DRBD_RESOURCE", "r0"),
                ("DRBD_MY_NODE_ID", "0"),
                ("DRBD_PEER_NODE_ID", "1"),
                ("DRBD_NODE_ID_0", "node1"),
                ("DRBD_NODE_ID_1", "node2"),
                ("UP_TO_DATE_NODES", "0x00000001"),
                ("PATH", "/bin"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(e.local_node("host"), "node1");
        assert_eq!(e.up_to_date, Some(vec![0]));
        let l = node_lists(&e, "node1", &[]).unwrap();
        assert_eq!(l.include, vec![(0, "node1".to_string())]);
        assert_eq!(l.exclude, vec!["node2".to_string()]);
        // This node not UpToDate itself: refused, as the script does.
        let not_me = HandlerEnv {
            up_to_date: Some(vec![1]),
            ..e.clone()
        };
        assert!(node_lists(&not_me, "node1", &[]).is_err());
        let minors = HandlerEnv::from_vars(
            vars(&[("DRBD_RESOURCE", "r0"), ("DRBD_MINOR", "0 3")]),
            None,
        )
        .unwrap();
        assert_eq!(minors.minors, vec![0, 3]);
        let e8 = HandlerEnv::from_vars(
            vars(&[("DRBD_RESOURCE", "r0"), ("DRBD_PEER", "node2")]),
            None,
        )
        .unwrap();
        assert_eq!(e8.local_node("node1"), "node1");
        let l = node_lists(&e8, "node1", &[]).unwrap();
        assert_eq!(
            (l.exclude.clone(), l.peer_unknown),
            (vec!["node2".to_string()], false)
        );
        // 8.4 without DRBD_PEER: the one other cluster node, else unknown.
        let none = HandlerEnv::from_vars(vars(&[("DRBD_RESOURCE", "r0")]), None).unwrap();
        let nodes = vec!["node1".to_string(), "node2".to_string()];
        assert_eq!(
            node_lists(&none, "node1", &nodes).unwrap().exclude,
            vec!["node2".to_string()]
        );
        let three = vec!["node1".into(), "node2".into(), "node3".into()];
        assert!(node_lists(&none, "node1", &three).unwrap().peer_unknown);
        // --resource overrides (and stands in for) DRBD_RESOURCE.
        let o = HandlerEnv::from_vars(vars(&[]), Some("r1")).unwrap();
        assert_eq!(o.resource, "r1");
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
            &[("DRBD_RESOURCE", "r0"), ("DRBD_MINOR", "0 x")],
        ];
        for b in bad {
            assert!(HandlerEnv::from_vars(vars(b), None).is_err(), "{b:?}");
        }
    }
}
