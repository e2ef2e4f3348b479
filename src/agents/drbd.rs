//! `ocf:bulwark:drbd` — a promotable clone of one DRBD resource (the job of LINBIT's
//! `ocf:linbit:drbd`): decides, through the promotion score, which node may become Primary.
//! State reading, scoring and checks are `crate::drbd`; this file maps them onto OCF.

use crate::deadline::Deadline;
use crate::drbd::agent::{
    check_clone_meta, check_resource_name, check_version_requirement, local_node_name,
    locate_promoted_peer, outdate_on_stop, outdate_self, promote_throttle, CloneMeta,
    LocalResource, Observed, OutdateSelf,
};
use crate::drbd::{
    needs_pacemaker_view, promotion_score, DrbdError, DrbdStatus, DrbdTools, DrbdVersion, ExitKind,
    MasterScores, PeerPrimaryRule, Role, ScoreAction, ScorePolicy,
};
use crate::ocf::promotion::Promotion;
use crate::ocf::{ActionResult, ActionSpec, AgentSpec, Context, OcfError, OcfStatus};
use crate::params::{parse, Decl, Param, P};
use std::time::{Duration, Instant};

fn resource_name(v: &str) -> Result<String, String> {
    check_resource_name(v).map(|()| v.to_string())
}

fn master_scores(v: &str) -> Result<MasterScores, String> {
    MasterScores::parse(v).map_err(|e| e.problem)
}

fn peer_primary_rule(v: &str) -> Result<PeerPrimaryRule, String> {
    PeerPrimaryRule::parse(v).map_err(|e| e.problem)
}

/// `None`: do not wait; `Some(0)`: wait until the deadline.
fn wfc_timeout(v: &str) -> Result<Option<u32>, String> {
    match v.trim() {
        "" => Ok(None),
        t => t
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("'{v}' is not a whole number of seconds")),
    }
}

/// `x.y.z`; `None` (no check) when empty.
fn version_requirement(v: &str) -> Result<Option<DrbdVersion>, String> {
    check_version_requirement(v)?;
    Ok(DrbdVersion::parse(v).ok())
}

/// drbd.ocf's default: the handler only removes a constraint this node placed, without
/// waiting for another handler's lock.
const UNFENCE_EXTRA_ARGS_DEFAULT: &str =
    "--quiet --flock-required --flock-timeout 0 --unfence-only-if-owner-match";

static DRBD_RESOURCE: P<String> = P::new(
    Param::string("drbd_resource")
            .required()
            .unique()
            .describe(
                "DRBD resource name",
                "The name of the DRBD resource in the DRBD configuration (letters, digits and - % + . / : = @ _).",
            ),
    resource_name,
);
static DRBDCONF: P<String> = P::new(
    Param::string("drbdconf")
        .default("/etc/drbd.conf")
        .describe(
            "DRBD configuration file",
            "Passed to drbdadm as -c; must be readable when the resource is started.",
        ),
    parse::text,
);
static ADJUST_MASTER_SCORE: P<MasterScores> = P::new(
    Param::string("adjust_master_score")
            .default(MasterScores::DEFAULT_TEXT)
            .describe(
                "Promotion scores",
                "Four non-decreasing whole numbers: the score when the local data is only Consistent (0 = never promote), when only a peer has UpToDate data, when the local data is UpToDate but the peer's is unknown, and when nobody can have better data. An invalid value is a configuration error.",
            ),
    master_scores,
);
static STOP_OUTDATES_SECONDARY: P<bool> = P::new(
    Param::boolean("stop_outdates_secondary").default("false").describe(
            "Outdate a Secondary that loses a Primary peer",
            "Mark the local data Outdated, so it can never be promoted with stale data, when a post-notification shows this Secondary lost its connection to a peer that Pacemaker still reports as Primary, and after this Secondary is stopped while Pacemaker reports another node Primary (in either case one not being stopped itself). As with drbd.ocf, this relies on Pacemaker's notify lists.",
        ),
    parse::boolean,
);
static IGNORE_MISSING_NOTIFICATIONS: P<bool> = P::new(
    Param::boolean("ignore_missing_notifications")
            .default("false")
            .describe(
                "Allow the clone without notify=true",
                "Some setups do not need notifications. Without them the agent neither refreshes the score after a peer's action nor outdates itself (stop_outdates_secondary on a post-notification). A monitor never refuses a clone without notify=true (drbd.ocf neither): answering 6 there would stop the clone everywhere. validate-all does report it (6) unless this is set, where drbd.ocf's validate-all does not check.",
            ),
    parse::boolean,
);
static WFC_TIMEOUT: P<Option<u32>> = P::new(
    Param::string("wfc_timeout").default("5")
        .empty_is_value().describe(
            "Seconds to wait for the peer on start",
            "After connecting on start, wait at most this long for the connection (DRBD 9: wait-connect-resource; 8.4: wait-connect per device; the same value for the degraded and outdated variants). 0 waits until the start operation's deadline, less a margin to report (drbd.ocf waits past it and fails the start); empty does not wait. Not connecting in time is no failure: the score says what the node knows.",
        ),
    wfc_timeout,
);
static UNFENCE_IF_ALL_UPTODATE: P<bool> = P::new(
    Param::boolean("unfence_if_all_uptodate")
            .default("false")
            .describe(
                "Unfence the peer once everything is UpToDate",
                "While Primary with every local and peer disk UpToDate, each monitor runs `drbdadm unfence-peer` (the resource's unfence-peer handler, e.g. bulwark-drbd-unfence-peer), in case a stale fencing constraint is still around. Its failure is logged, never fatal.",
            ),
    parse::boolean,
);
static UNFENCE_EXTRA_ARGS: P<String> = P::new(
    Param::string("unfence_extra_args")
            .default(UNFENCE_EXTRA_ARGS_DEFAULT)
        .empty_is_value()
            .describe(
                "Options for the unfence-peer handler",
                "Exported to the unfence-peer handler as OCF_RESKEY_unfence_extra_args (the handler reads them from there, as with drbd.ocf).",
            ),
    parse::verbatim,
);
static REMOVE_MASTER_SCORE_IF_PEER_PRIMARY: P<PeerPrimaryRule> = P::new(
    Param::string("remove_master_score_if_peer_primary")
            .default("false")
            .describe(
                "Remove the score while a peer is Primary",
                "true: a Secondary connected to a Primary peer with UpToDate data removes its promotion score; unexpected: only when Pacemaker does not know about that Primary (single-Primary setups; read from crm_resource --locate in Pacemaker 2.1's spelling Promoted and the older Master, where drbd.ocf knows only Master and so removes the score for an expected Primary); false: keep it (Pacemaker may know the peer is dead before DRBD does).",
            ),
    peer_primary_rule,
);
static FAIL_PROMOTE_EARLY_IF_PEER_PRIMARY: P<bool> = P::new(
    Param::boolean("fail_promote_early_if_peer_primary")
            .default("false")
            .describe(
                "Fail promote early while a peer is Primary",
                "When a promote retry still sees a Primary peer that Pacemaker does not know about (promoted-max=1, crm_resource --locate shows no promoted instance), give up at once and remove the score instead of retrying until the timeout.",
            ),
    parse::boolean,
);
static CONNECT_ONLY_AFTER_PROMOTE: P<bool> = P::new(
    Param::boolean("connect_only_after_promote")
            .default("false")
            .describe(
                "Connect only after being promoted",
                "Start brings the resource up without networking and connects only once promoted (for stacked or special setups).",
            ),
    parse::boolean,
);
static REQUIRE_DRBD_MODULE_VERSION_GE: P<Option<DrbdVersion>> = P::new(
    Param::string("require_drbd_module_version_ge")
            .default("8.4.0")
        .empty_is_value()
            .describe(
                "Minimum DRBD kernel module version",
                "Start, promote, reload and validate-all (OCF_CHECK_LEVEL 10) refuse with 5 when the loaded DRBD module is older (x.y.z; empty: no check). Unlike drbd.ocf, monitor, demote, stop and notify do not check it: a changed requirement must not fail the running Primary. The default is 8.4.0 (drbd.ocf: 8.0.0): older modules print no status this agent reads.",
            ),
    version_requirement,
);
static REQUIRE_DRBD_MODULE_VERSION_LT: P<Option<DrbdVersion>> = P::new(
    Param::string("require_drbd_module_version_lt")
            .default("10.0.0")
        .empty_is_value()
            .describe(
                "DRBD kernel module version must be below",
                "Start, promote, reload and validate-all (OCF_CHECK_LEVEL 10) refuse with 5 when the loaded DRBD module is this version or newer (x.y.z; empty: no check); see require_drbd_module_version_ge.",
            ),
    version_requirement,
);
static PARAMS: Decl = &[
    &DRBD_RESOURCE,
    &DRBDCONF,
    &ADJUST_MASTER_SCORE,
    &STOP_OUTDATES_SECONDARY,
    &IGNORE_MISSING_NOTIFICATIONS,
    &WFC_TIMEOUT,
    &UNFENCE_IF_ALL_UPTODATE,
    &UNFENCE_EXTRA_ARGS,
    &REMOVE_MASTER_SCORE_IF_PEER_PRIMARY,
    &FAIL_PROMOTE_EARLY_IF_PEER_PRIMARY,
    &CONNECT_ONLY_AFTER_PROMOTE,
    &REQUIRE_DRBD_MODULE_VERSION_GE,
    &REQUIRE_DRBD_MODULE_VERSION_LT,
];

pub static SPEC: AgentSpec = AgentSpec {
    name: "drbd",
    shortdesc: "Promotable clone of a DRBD resource",
    longdesc: "Brings one DRBD resource up on every node of a promotable clone and makes one node Primary. The promotion score says where: 10000 with UpToDate data and nobody better, 1000 when the peer's data is unknown, 10 when only a peer has UpToDate data, none without quorum, with only Consistent data or with worse. Status comes from drbdsetup events2 (DRBD 9) or sh-status (8.4), parsed strictly: output it cannot read is a failure naming the text, never a promotion. Create it with `promotable notify=true`; pair it with bulwark-drbd-fence-peer / bulwark-drbd-unfence-peer as DRBD's fence-peer / unfence-peer handlers. A change of any parameter but drbd_resource is applied by reload (drbdadm adjust and a fresh score), never by demoting the Primary. Deliberate differences from ocf:linbit:drbd, each on the safe side (the project's docs/drbd-differences.md lists every one, generated by a side-by-side test): an Attaching or Negotiating local disk never counts as UpToDate (drbd.ocf's DRBD 9 path scores it 10000; here 10 when a peer has UpToDate data, else the score is left alone); a node that knows no peer with a disk scores 1000, not 10000; a peer state name this agent does not know reads as unknown (1000, where drbd.ocf counts it as known and gives 10000); an unknown local state name or unreadable status fails the monitor (1) and removes the score instead of scoring it as Consistent; invalid parameters are refused (6) instead of replaced by defaults; a monitor does not re-check require_drbd_module_version_* (start, promote, reload and validate-all do), so changing the requirement never fails the running Primary; wfc_timeout=0 waits only until the start deadline; promote and demote end by setting the score for the state they leave (drbd.ocf waits for the next monitor); a promote DRBD keeps refusing fails with DRBD's reason before the operation timeout (drbd.ocf retries until killed); demote or reload of a stopped instance answers 7, not 1.",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 240),
        ActionSpec::new("reload", 30),
        ActionSpec::new("promote", 90),
        ActionSpec::new("demote", 90),
        ActionSpec::new("notify", 90),
        ActionSpec::new("stop", 100),
        ActionSpec::new("monitor", 20).interval(29).role("Promoted"),
        ActionSpec::new("monitor", 20).interval(31).role("Unpromoted"),
        ActionSpec::new("meta-data", 5),
        ActionSpec::new("validate-all", 30),
    ],
};

struct Config {
    local: LocalResource,
    drbdconf: String,
    policy: ScorePolicy,
    stop_outdates_secondary: bool,
    /// `None`: do not wait; `Some(0)`: wait until the deadline.
    wfc_timeout: Option<u32>,
    unfence_extra_args: String,
    fail_promote_early: bool,
    connect_only_after_promote: bool,
    version_ge: Option<DrbdVersion>,
    version_lt: Option<DrbdVersion>,
}

/// Pause between retries of a DRBD state change.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

fn sleep_within(deadline: &Deadline, d: Duration) {
    std::thread::sleep(deadline.cap(d));
}

fn drbd_failure(e: &DrbdError) -> OcfError {
    OcfError::generic(e.to_string())
}

/// The last word of a stop or demote whose state change DRBD kept refusing until the deadline:
/// `cannot <verb> <resource>: <error>`, naming who holds the device open when that is why.
fn gave_up(
    cfg: &Config,
    ctx: &Context,
    verb: &str,
    status: &DrbdStatus,
    e: &DrbdError,
) -> OcfError {
    let held = if e.is_held_open() {
        format!(
            ", {}",
            cfg.local.who_holds_open(Some(status), &ctx.deadline)
        )
    } else {
        String::new()
    };
    OcfError::generic(format!("cannot {verb} {}: {e}{held}", cfg.local.name))
}

/// The agent, with the programs it runs (tests substitute their own).
struct Drbd {
    tools: DrbdTools,
    promotion: Promotion,
    crm_resource: String,
}

impl Drbd {
    fn from_env() -> Drbd {
        Drbd {
            tools: DrbdTools::from_env(),
            promotion: Promotion::default(),
            crm_resource: "crm_resource".into(),
        }
    }

    /// Whether Pacemaker runs a promoted instance on another node (`None` when it cannot say).
    fn pacemaker_knows_promoted_peer(&self, ctx: &Context) -> Option<bool> {
        locate_promoted_peer(
            &self.crm_resource,
            &ctx.instance,
            &local_node_name(),
            &ctx.deadline,
        )
    }

    fn observe(
        &self,
        cfg: &Config,
        ctx: &Context,
    ) -> Result<(Option<DrbdVersion>, Observed), OcfError> {
        cfg.local
            .observe(&ctx.deadline)
            .map_err(|e| drbd_failure(&e))
    }

    /// Sets or removes the promotion score as the table says; failures are logged, never
    /// fatal (the next monitor retries), and each call is bounded by the action's deadline.
    fn update_score(&self, cfg: &Config, ctx: &Context, status: Option<&DrbdStatus>) {
        let Some(status) = status else {
            self.remove_score(ctx);
            return;
        };
        let mut policy = cfg.policy;
        if needs_pacemaker_view(status, &policy) {
            policy.pacemaker_knows_promoted_peer = self.pacemaker_knows_promoted_peer(ctx);
        }
        let decision = promotion_score(status, &policy);
        if decision.unfence {
            self.call_unfence(cfg, ctx);
        }
        match decision.action {
            ScoreAction::Keep => {}
            ScoreAction::Set(n) => {
                if self.promotion.get(ctx) != Some(n) {
                    ctx.log.info(&format!(
                        "promotion score {n}: {} ({})",
                        decision.rule.describe(),
                        status.summary()
                    ));
                    if let Err(e) = self.promotion.set(ctx, n) {
                        ctx.log.warn(&e.reason);
                    }
                }
            }
            ScoreAction::Remove => {
                // Deleted whatever the query says, as drbd.ocf does: a query that fails (CIB
                // busy, timeout) must not leave this node promotable. The query only decides
                // whether the change is worth a log line.
                if self.promotion.get(ctx).is_some() {
                    ctx.log.info(&format!(
                        "promotion score removed: {} ({})",
                        decision.rule.describe(),
                        status.summary()
                    ));
                }
                self.remove_score(ctx);
            }
        }
    }

    /// drbd.ocf's `call_unfence`: the handler decides whether a constraint is there to remove.
    fn call_unfence(&self, cfg: &Config, ctx: &Context) {
        let dl = ctx.deadline.reserve(Duration::from_secs(1));
        if let Err(e) = cfg
            .local
            .tools
            .unfence_peer(&cfg.local.name, &cfg.unfence_extra_args, &dl)
        {
            ctx.log
                .info(&format!("unfence-peer {}: {e}", cfg.local.name));
        }
    }

    /// Whether a Primary peer is one Pacemaker does not know about, in a single-Primary clone
    /// (drbd.ocf's `unexpected_primary_rejects_promote`).
    fn unexpected_primary(&self, cfg: &Config, ctx: &Context, status: &DrbdStatus) -> bool {
        let f = status.facts();
        cfg.policy.promoted_max == 1
            && !f.primary
            && f.some_peer_primary
            && self.pacemaker_knows_promoted_peer(ctx) != Some(true)
    }

    fn remove_score(&self, ctx: &Context) {
        if let Err(e) = self.promotion.delete(ctx) {
            ctx.log.debug(&e.reason);
        }
    }

    /// Host checks shared by start, promote and validate-all (level ≥ 10).
    fn host_checks(
        &self,
        cfg: &Config,
        ctx: &Context,
        version: Option<DrbdVersion>,
    ) -> ActionResult {
        if std::fs::File::open(&cfg.drbdconf).is_err() {
            return Err(OcfError::installed(format!(
                "DRBD configuration {} is not readable",
                cfg.drbdconf
            )));
        }
        match cfg.local.is_defined(&ctx.deadline) {
            Ok(true) => {}
            Ok(false) => {
                return Err(OcfError::installed(format!(
                    "DRBD resource {} is not defined for this host in {}",
                    cfg.local.name, cfg.drbdconf
                )))
            }
            Err(e) => return Err(drbd_failure(&e)),
        }
        if let Some(v) = version {
            self.check_module_version(cfg, v)?;
        }
        if ctx.meta.promoted_max() == Some(2) {
            match cfg.local.allows_two_primaries(&ctx.deadline) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(OcfError::configured(format!(
                        "promoted-max=2 needs allow-two-primaries in the net section of DRBD resource {}",
                        cfg.local.name
                    )))
                }
                Err(e) => return Err(drbd_failure(&e)),
            }
        }
        Ok(OcfStatus::Success)
    }

    /// `require_drbd_module_version_ge` / `_lt` against the running module.
    fn check_module_version(&self, cfg: &Config, v: DrbdVersion) -> ActionResult {
        if cfg.version_ge.is_some_and(|min| v < min) || cfg.version_lt.is_some_and(|max| v >= max) {
            return Err(OcfError::installed(format!(
                "DRBD kernel module {v} is outside the required range [{}, {})",
                cfg.version_ge.map_or("any".into(), |x| x.to_string()),
                cfg.version_lt.map_or("any".into(), |x| x.to_string())
            )));
        }
        Ok(OcfStatus::Success)
    }

    /// The notify lists `maybe_outdate_self` reads: promoted nodes (Pacemaker 2.1's name,
    /// else the legacy one) and nodes being stopped.
    fn promoted_and_stopping(ctx: &Context) -> (Vec<String>, Vec<String>) {
        let mut promoted = ctx.meta.notify_list("promoted_uname");
        if promoted.is_empty() {
            promoted = ctx.meta.notify_list("master_uname");
        }
        (promoted, ctx.meta.notify_list("stop_uname"))
    }

    fn maybe_outdate_self(&self, cfg: &Config, ctx: &Context, status: &DrbdStatus) {
        let (promoted, stopping) = Self::promoted_and_stopping(ctx);
        match outdate_self(cfg.stop_outdates_secondary, &local_node_name(), status, &promoted, &stopping) {
            OutdateSelf::No => {}
            OutdateSelf::SplitBrain { primary_peer } => ctx.log.error(&format!(
                "resource internal SPLIT BRAIN: this node and {primary_peer} are both Primary for {} with the replication link down",
                cfg.local.name
            )),
            OutdateSelf::Outdate { primary_peer } => {
                ctx.log.warn(&format!(
                    "lost the connection to Primary {primary_peer}: outdating the local data of {}",
                    cfg.local.name
                ));
                if let Err(e) = cfg.local.tools.outdate(&cfg.local.name, &ctx.deadline) {
                    ctx.log.warn(&e.to_string());
                }
                self.remove_score(ctx);
            }
        }
    }
}

impl crate::ocf::ResourceAgent for Drbd {
    type Config = Config;

    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn configure(&self, ctx: &Context) -> Result<Config, OcfError> {
        let p = &ctx.params;
        let resource = DRBD_RESOURCE.get(p)?;
        let drbdconf = DRBDCONF.get(p)?;
        let scores = ADJUST_MASTER_SCORE.get(p)?;
        let rule = REMOVE_MASTER_SCORE_IF_PEER_PRIMARY.get(p)?;
        let ignore_missing_notifications = IGNORE_MISSING_NOTIFICATIONS.get(p)?;
        if ctx.action != crate::ocf::Action::Stop {
            // As drbd.ocf: notifications count as on when the notify variables are passed,
            // and a monitor never checks them (a 6 there stops the clone everywhere).
            let notify = ctx.meta.notify_enabled()
                || ignore_missing_notifications
                || ctx.meta.get("notify_start_uname").is_some()
                || ctx.action == crate::ocf::Action::Monitor;
            check_clone_meta(&CloneMeta {
                clone_max: ctx.meta.clone_max(),
                clone_node_max: ctx.meta.clone_node_max(),
                promoted_max: ctx.meta.promoted_max(),
                promoted_node_max: ctx.meta.promoted_node_max(),
                notify,
            })
            .map_err(OcfError::configured)?;
        }
        Ok(Config {
            local: LocalResource::new(resource, self.tools.clone().with_config(&drbdconf)),
            drbdconf,
            policy: ScorePolicy {
                scores,
                remove_if_peer_primary: rule,
                unfence_if_all_uptodate: UNFENCE_IF_ALL_UPTODATE.get(p)?,
                promoted_max: ctx.meta.promoted_max().unwrap_or(1),
                ..ScorePolicy::default()
            },
            stop_outdates_secondary: STOP_OUTDATES_SECONDARY.get(p)?,
            wfc_timeout: WFC_TIMEOUT.get(p)?,
            unfence_extra_args: UNFENCE_EXTRA_ARGS.get(p)?,
            fail_promote_early: FAIL_PROMOTE_EARLY_IF_PEER_PRIMARY.get(p)?,
            connect_only_after_promote: CONNECT_ONLY_AFTER_PROMOTE.get(p)?,
            version_ge: REQUIRE_DRBD_MODULE_VERSION_GE.get(p)?,
            version_lt: REQUIRE_DRBD_MODULE_VERSION_LT.get(p)?,
        })
    }

    fn validate(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        if ctx.check_level() >= 10 {
            let version = cfg
                .local
                .kernel_version(&ctx.deadline)
                .map_err(|e| drbd_failure(&e))?;
            self.host_checks(cfg, ctx, version)?;
        }
        Ok(OcfStatus::Success)
    }

    fn monitor(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let (_, observed) = match cfg.local.observe(&ctx.deadline) {
            Ok(o) => o,
            Err(e) => {
                if matches!(e, DrbdError::Parse(_)) {
                    // Data we cannot read must not keep this node promotable.
                    self.remove_score(ctx);
                }
                return Err(drbd_failure(&e));
            }
        };
        let Observed::Up(status) = observed else {
            let defined = cfg.local.is_defined(&ctx.deadline).unwrap_or(true);
            if !ctx.is_probe() {
                self.remove_score(ctx);
            }
            if !defined {
                return Err(OcfError::installed(format!(
                    "DRBD resource {} is not defined for this host in {}",
                    cfg.local.name, cfg.drbdconf
                )));
            }
            return Err(OcfError::not_running(format!(
                "{} is not running",
                cfg.local.name
            )));
        };
        self.update_score(cfg, ctx, Some(&status));
        match status.role {
            Role::Primary => Ok(OcfStatus::RunningPromoted),
            Role::Secondary => Ok(OcfStatus::Success),
            Role::Unknown => Err(OcfError::generic(format!(
                "DRBD reports an Unknown local role: {}",
                status.summary()
            ))),
        }
    }

    fn start(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let mut version = cfg
            .local
            .kernel_version(&ctx.deadline)
            .map_err(|e| drbd_failure(&e))?;
        if version.is_none() {
            cfg.local.load_module(&ctx.deadline).map_err(|e| {
                OcfError::installed(format!("the DRBD kernel module is not loaded: {e}"))
            })?;
            version = cfg
                .local
                .kernel_version(&ctx.deadline)
                .map_err(|e| drbd_failure(&e))?;
        }
        let Some(version) = version else {
            return Err(OcfError::installed("the DRBD kernel module is not loaded"));
        };
        self.host_checks(cfg, ctx, Some(version))?;
        let name = &cfg.local.name;
        let tools = &cfg.local.tools;
        let mut attach_failures = 0;
        loop {
            if ctx.deadline.expired() {
                return Err(OcfError::generic(format!(
                    "start of {name} did not finish in time"
                )));
            }
            match self.observe(cfg, ctx)?.1 {
                Observed::NoModule => {
                    return Err(OcfError::installed("the DRBD kernel module went away"))
                }
                Observed::Down => {
                    // The resource is defined (checked above): a failure here is DRBD
                    // refusing the backing device, retried once.
                    let connect = !cfg.connect_only_after_promote;
                    if let Err(e) = cfg.local.attach(version, connect, &ctx.deadline) {
                        attach_failures += 1;
                        if attach_failures >= 2 {
                            return Err(OcfError::generic(format!("cannot attach {name}: {e}")));
                        }
                        sleep_within(&ctx.deadline, RETRY_PAUSE);
                    }
                }
                Observed::Up(s) if s.role == Role::Primary => {
                    if let Err(e) = tools.secondary(name, &ctx.deadline) {
                        ctx.log.warn(&e.to_string());
                        sleep_within(&ctx.deadline, RETRY_PAUSE);
                    }
                }
                Observed::Up(_) => break,
            }
        }
        if !cfg.connect_only_after_promote {
            if let Err(e) = tools.adjust(name, false, &ctx.deadline) {
                ctx.log.warn(&format!("connecting {name}: {e}"));
            } else if let Some(wfc) = cfg.wfc_timeout {
                // Not connecting is no failure: the peer may be down; the score says so.
                // The margin leaves time to read the state and set the score.
                let dl = ctx.deadline.reserve(Duration::from_secs(3));
                let waited = if version.is_v9() {
                    tools.wait_connect_resource(name, wfc, &dl)
                } else {
                    cfg.local
                        .devices(None, &dl)
                        .iter()
                        .try_for_each(|dev| tools.wait_connect_device(dev, wfc, &dl))
                };
                if let Err(e) = waited {
                    ctx.log.info(&format!("{name} not connected yet: {e}"));
                }
            }
        }
        let (_, observed) = self.observe(cfg, ctx)?;
        self.update_score(cfg, ctx, observed.status());
        Ok(OcfStatus::Success)
    }

    fn stop(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let name = &cfg.local.name;
        let tools = &cfg.local.tools;
        let result = loop {
            let observed = match cfg.local.observe(&ctx.deadline) {
                Ok((_, o)) => o,
                // Unreadable status: take it down anyway.
                Err(e) => {
                    ctx.log.warn(&e.to_string());
                    Observed::Up(DrbdStatus {
                        resource: name.clone(),
                        role: Role::Unknown,
                        suspended: false,
                        volumes: Vec::new(),
                        peers: Vec::new(),
                    })
                }
            };
            let status = match observed {
                Observed::NoModule => break Ok(()),
                Observed::Down => {
                    let _ = tools.down(name, &ctx.deadline);
                    break Ok(());
                }
                Observed::Up(s) => s,
            };
            let step = if status.role == Role::Primary {
                tools.secondary(name, &ctx.deadline)
            } else {
                tools.down(name, &ctx.deadline)
            };
            if let Err(e) = step {
                if ctx.deadline.remaining() <= RETRY_PAUSE * 2 {
                    break Err(gave_up(cfg, ctx, "stop", &status, &e));
                }
                sleep_within(&ctx.deadline, RETRY_PAUSE);
            }
        };
        if result.is_ok() {
            let (promoted, stopping) = Self::promoted_and_stopping(ctx);
            if let Some(peer) = outdate_on_stop(
                cfg.stop_outdates_secondary,
                &local_node_name(),
                &promoted,
                &stopping,
            ) {
                // The resource is down: drbdadm marks the on-disk metadata.
                ctx.log.warn(&format!(
                    "stopped while {peer} is Primary: outdating the local data of {name}"
                ));
                if let Err(e) = tools.outdate(name, &ctx.deadline) {
                    ctx.log.warn(&e.to_string());
                }
            }
        }
        self.remove_score(ctx);
        result?;
        Ok(OcfStatus::Success)
    }

    fn promote(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let started = Instant::now();
        let (version, _) = self.observe(cfg, ctx)?;
        self.host_checks(cfg, ctx, version)?;
        let name = &cfg.local.name;
        let tools = &cfg.local.tools;
        let mut tries = 0u32;
        // Giving up on an unexpected Primary removes the score and keeps it removed.
        let mut rescore = true;
        let result: ActionResult = loop {
            let status = match self.observe(cfg, ctx) {
                Ok((_, Observed::Up(s))) => s,
                Ok(_) => {
                    break Err(OcfError::generic(format!(
                        "cannot promote {name}: it is not running"
                    )))
                }
                Err(e) => break Err(e),
            };
            if status.role == Role::Primary {
                if cfg.connect_only_after_promote {
                    if let Err(e) = tools.adjust(name, false, &ctx.deadline) {
                        ctx.log.warn(&format!("connecting {name}: {e}"));
                    }
                }
                break Ok(OcfStatus::Success);
            }
            if tries > 0 && self.unexpected_primary(cfg, ctx, &status) {
                if cfg.fail_promote_early {
                    self.remove_score(ctx);
                    rescore = false;
                    break Err(OcfError::generic(format!(
                        "peer node already/still Primary for {name}: {}",
                        status.summary()
                    )));
                }
                if tries == 1 {
                    ctx.log.info(&format!("peer node already/still Primary for {name}; promote will likely need several attempts"));
                }
            }
            tries += 1;
            match tools.primary(name, &ctx.deadline) {
                Ok(()) => {}
                Err(e) if e.exit_kind() == Some(ExitKind::NoUpToDateData) => {
                    break Err(OcfError::generic(format!(
                        "Refusing to be promoted to Primary without access to UpToDate data ({e})"
                    )))
                }
                Err(e) => {
                    if ctx.deadline.remaining() <= RETRY_PAUSE * 2 {
                        break Err(OcfError::generic(format!("cannot promote {name}: {e}")));
                    }
                    ctx.log
                        .info(&format!("promote of {name} failed, retrying: {e}"));
                    sleep_within(&ctx.deadline, RETRY_PAUSE);
                }
            }
        };
        if rescore {
            let after = self.observe(cfg, ctx).ok().map(|(_, o)| o);
            self.update_score(cfg, ctx, after.as_ref().and_then(Observed::status));
        }
        if result.is_err() {
            // Anti-loop: Pacemaker retries a failed promote at once.
            let keep = Duration::from_millis(500);
            std::thread::sleep(promote_throttle(
                started.elapsed(),
                ctx.deadline.remaining().saturating_sub(keep),
            ));
        }
        result
    }

    fn demote(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let name = &cfg.local.name;
        let tools = &cfg.local.tools;
        loop {
            let status = match self.observe(cfg, ctx)?.1 {
                Observed::Up(s) => s,
                _ => return Err(OcfError::not_running(format!("{name} is not running"))),
            };
            if status.role != Role::Primary {
                self.update_score(cfg, ctx, Some(&status));
                return Ok(OcfStatus::Success);
            }
            if let Err(e) = tools.secondary(name, &ctx.deadline) {
                if ctx.deadline.remaining() <= RETRY_PAUSE * 2 {
                    return Err(gave_up(cfg, ctx, "demote", &status, &e));
                }
                sleep_within(&ctx.deadline, RETRY_PAUSE);
            }
        }
    }

    /// A parameter changed (or an admin asked): `drbdadm adjust` applies a changed DRBD
    /// configuration, and the score is recomputed with the new parameters. The Primary stays
    /// Primary. With connect_only_after_promote a Secondary stays disconnected (DRBD 9
    /// `adjust --skip-net`; 8.4 has no such adjust, so nothing is adjusted there).
    fn reload(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let name = &cfg.local.name;
        let (version, observed) = self.observe(cfg, ctx)?;
        let Observed::Up(status) = observed else {
            self.remove_score(ctx);
            return Err(OcfError::not_running(format!("{name} is not running")));
        };
        if let Some(v) = version {
            self.check_module_version(cfg, v)?;
        }
        let offline = cfg.connect_only_after_promote && status.role != Role::Primary;
        let adjusted = match (offline, version.is_some_and(DrbdVersion::is_v9)) {
            (false, _) => cfg.local.tools.adjust(name, false, &ctx.deadline),
            (true, true) => cfg.local.tools.adjust(name, true, &ctx.deadline),
            (true, false) => Ok(()),
        };
        if let Err(e) = adjusted {
            ctx.log.warn(&format!("adjust {name}: {e}"));
        }
        let after = self.observe(cfg, ctx).ok().map(|(_, o)| o);
        self.update_score(cfg, ctx, after.as_ref().and_then(Observed::status));
        Ok(OcfStatus::Success)
    }

    fn notify(&self, cfg: &Config, ctx: &Context) -> ActionResult {
        let kind = ctx.meta.notify_type().unwrap_or("");
        let op = ctx.meta.notify_operation().unwrap_or("");
        let name = &cfg.local.name;
        if op == "start" && !cfg.connect_only_after_promote {
            // A peer (re)starts: make sure we try to connect to it.
            if let Err(e) = cfg
                .local
                .tools
                .drbdadm(&["-v", "adjust", name], &ctx.deadline)
            {
                ctx.log.info(&format!("adjust {name}: {e}"));
            }
        }
        if kind == "post" {
            match cfg.local.observe(&ctx.deadline) {
                Ok((_, Observed::Up(s))) => {
                    self.update_score(cfg, ctx, Some(&s));
                    self.maybe_outdate_self(cfg, ctx, &s);
                }
                // Not running here: no score, as a monitor would conclude.
                Ok(_) => self.remove_score(ctx),
                // A notify never fails; the next monitor reports it. Data we cannot read
                // must not keep this node promotable meanwhile.
                Err(e) => {
                    if matches!(e, DrbdError::Parse(_)) {
                        self.remove_score(ctx);
                    }
                    ctx.log.warn(&e.to_string());
                }
            }
        }
        Ok(OcfStatus::Success)
    }

    /// With an unusable configuration, stop still tries `drbdsetup down` on a resource name it
    /// can trust: reporting success while DRBD is up would let Pacemaker start it elsewhere.
    fn stop_unconfigured(&self, ctx: &Context, err: &OcfError) -> ActionResult {
        let Ok(name) = DRBD_RESOURCE.get(&ctx.params) else {
            ctx.log.warn(&format!("stop with an unusable configuration ({err}); no valid resource name, nothing to stop"));
            return Ok(OcfStatus::Success);
        };
        let name = name.as_str();
        let tools = &self.tools;
        match tools.drbdsetup(&["down", name], &ctx.deadline) {
            Ok(_) => Ok(OcfStatus::Success),
            Err(e)
                if matches!(
                    e.exit_kind(),
                    Some(ExitKind::NoSuchResource | ExitKind::NoModule)
                ) =>
            {
                Ok(OcfStatus::Success)
            }
            Err(e) => Err(OcfError::generic(format!(
                "stop with an unusable configuration ({err}): drbdsetup down {name} failed: {e}"
            ))),
        }
    }
}

/// The agent\'s entry point.
pub fn main() -> ! {
    crate::ocf::run(Drbd::from_env())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_reads_every_declared_parameter() {
        let unread = crate::agents::testing::ocf_unread(
            &Drbd::from_env(),
            &[("drbd_resource", "r0")],
            &[
                ("clone_max", "2"),
                ("clone_node_max", "1"),
                ("promoted_max", "1"),
                ("promoted_node_max", "1"),
                ("notify", "true"),
            ],
        );
        assert!(unread.is_empty(), "{unread:?}");
    }

    /// A node whose DRBD tools and cluster tools are scripts in a directory of its own: the
    /// resource's state is a file naming one of the committed events2 fixtures, `drbdadm
    /// secondary` refuses as often as `refuse` says, `crm_attribute` keeps the score in a file,
    /// and every call is logged.
    struct Rig {
        dir: std::path::PathBuf,
        agent: Drbd,
    }

    impl Rig {
        fn new(name: &str, state: &str, refuse: u32) -> Rig {
            use std::os::unix::fs::PermissionsExt;
            let dir =
                std::env::temp_dir().join(format!("bulwark-drbd-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/drbd");
            let d = dir.display();
            let tool = |name: &str, body: String| {
                let p = dir.join(name);
                std::fs::write(&p, format!("#!/bin/sh\nD={d}\n{body}\n")).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
                p
            };
            let drbdsetup = tool(
                "drbdsetup",
                format!(
                    r#"echo "drbdsetup $*" >> $D/calls
case "$1" in
  events2) cat "{fixtures}/events2-$(cat $D/state).txt" ;;
  down) echo down > $D/state ;;
esac"#
                ),
            );
            let drbdadm = tool(
                "drbdadm",
                r#"[ "$1" = -c ] && shift 2
echo "drbdadm $*" >> $D/calls
case "$1" in
  secondary)
    n=$(cat $D/refuse)
    if [ "$n" -gt 0 ]; then
      echo $((n - 1)) > $D/refuse
      echo "r0: State change failed: (-12) Device is held open by someone" >&2
      exit 11
    fi
    echo connected-secondary > $D/state ;;
  down) echo down > $D/state ;;
  sh-dev) echo /dev/drbd0 ;;
esac"#
                    .to_string(),
            );
            let crm_attribute = tool(
                "crm_attribute",
                r#"echo "crm_attribute $*" >> $D/calls
case "$*" in
  *-G*) [ -f $D/score ] && cat $D/score || exit 6 ;;
  *-D*) rm -f $D/score ;;
  *-v*) echo "$5" > $D/score ;;
esac"#
                    .to_string(),
            );
            let crm_resource = tool("crm_resource", "exit 1".into());
            std::fs::write(
                dir.join("proc_drbd"),
                "version: 9.2.2 (api:2/proto:86-121)\n",
            )
            .unwrap();
            std::fs::write(dir.join("state"), format!("{state}\n")).unwrap();
            std::fs::write(dir.join("refuse"), format!("{refuse}\n")).unwrap();
            std::fs::write(dir.join("calls"), "").unwrap();
            let tools = DrbdTools {
                drbdadm,
                drbdsetup,
                proc_drbd: dir.join("proc_drbd"),
                ..DrbdTools::default()
            };
            let agent = Drbd {
                tools,
                promotion: Promotion {
                    crm_attribute: crm_attribute.clone(),
                },
                crm_resource: crm_resource.to_string_lossy().into_owned(),
            };
            Rig { dir, agent }
        }

        fn ctx(&self, action: crate::ocf::Action, seconds: u64) -> Context {
            let conf = self.dir.join("drbd.conf");
            let conf = conf.to_string_lossy().into_owned();
            let (params, _) = crate::params::Values::collect(
                PARAMS,
                [("drbd_resource", "r0"), ("drbdconf", conf.as_str())],
            );
            Context {
                action,
                params,
                meta: crate::ocf::Meta::from_vars(
                    [
                        ("clone_max", "2"),
                        ("clone_node_max", "1"),
                        ("promoted_max", "1"),
                        ("promoted_node_max", "1"),
                        ("notify", "true"),
                    ]
                    .map(|(k, v)| (format!("OCF_RESKEY_CRM_meta_{k}"), v.to_string())),
                ),
                deadline: Deadline::after(Duration::from_secs(seconds)),
                log: crate::log::Logger::silent(),
                instance: "r0:0".into(),
            }
        }

        fn run(&self, action: crate::ocf::Action, seconds: u64) -> ActionResult {
            use crate::ocf::ResourceAgent;
            let ctx = self.ctx(action.clone(), seconds);
            let cfg = self.agent.configure(&ctx).expect("configured");
            match action {
                crate::ocf::Action::Demote => self.agent.demote(&cfg, &ctx),
                crate::ocf::Action::Stop => self.agent.stop(&cfg, &ctx),
                other => panic!("{other:?}"),
            }
        }

        fn calls(&self) -> Vec<String> {
            std::fs::read_to_string(self.dir.join("calls"))
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        }

        fn file(&self, name: &str) -> Option<String> {
            std::fs::read_to_string(self.dir.join(name))
                .ok()
                .map(|s| s.trim().to_string())
        }
    }

    impl Drop for Rig {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn demote_retries_a_refused_secondary_until_drbd_accepts_and_scores_what_it_leaves() {
        let rig = Rig::new("demote", "disconnected-primary", 2);
        assert_eq!(
            rig.run(crate::ocf::Action::Demote, 20),
            Ok(OcfStatus::Success)
        );
        let calls = rig.calls();
        let secondaries = calls
            .iter()
            .filter(|c| *c == "drbdadm secondary r0")
            .count();
        assert_eq!(secondaries, 3, "{calls:?}");
        assert_eq!(rig.file("state").as_deref(), Some("connected-secondary"));
        // The score of the Secondary it became is set by the demote itself.
        assert!(
            calls
                .iter()
                .any(|c| c.starts_with("crm_attribute --promotion -l reboot -v ")),
            "{calls:?}"
        );
        assert!(rig.file("score").is_some());
    }

    #[test]
    fn demote_that_drbd_keeps_refusing_fails_before_the_deadline_with_drbds_reason() {
        let rig = Rig::new("demote-refused", "disconnected-primary", 1000);
        let started = std::time::Instant::now();
        let e = rig.run(crate::ocf::Action::Demote, 4).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(e.status, OcfStatus::ErrGeneric);
        assert!(
            e.reason.starts_with("cannot demote r0: ") && e.reason.contains("held open"),
            "{}",
            e.reason
        );
        assert_eq!(rig.file("state").as_deref(), Some("disconnected-primary"));
    }

    #[test]
    fn stop_takes_a_primary_down_through_secondary_and_removes_the_score() {
        let rig = Rig::new("stop", "disconnected-primary", 0);
        std::fs::write(rig.dir.join("score"), "10000\n").unwrap();
        assert_eq!(
            rig.run(crate::ocf::Action::Stop, 20),
            Ok(OcfStatus::Success)
        );
        let drbd: Vec<String> = rig
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("drbdadm") && !c.contains("sh-dev"))
            .collect();
        // Secondary first, then down (repeated once DRBD reads down: harmless, and the
        // resource is certainly down).
        assert_eq!(drbd[..2], ["drbdadm secondary r0", "drbdadm down r0"]);
        assert!(drbd[2..].iter().all(|c| c == "drbdadm down r0"), "{drbd:?}");
        assert_eq!(rig.file("state").as_deref(), Some("down"));
        assert_eq!(rig.file("score"), None, "the score is removed");
    }
}
