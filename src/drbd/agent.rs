//! The local side of the `drbd` agent: one DRBD resource on this node, read and changed
//! through [`DrbdTools`], plus the pure checks and decisions the agent's actions make.
//! No exit codes here: the agent (`crate::agents::drbd`) maps these results onto OCF's.
//!
//! Reading state is cheap on purpose (monitor runs every half minute on every node): the
//! kernel's DRBD version comes from `/proc/drbd` (a file read, no `drbdadm --version`
//! spawn; the spawn only happens when `/proc/drbd` is absent, i.e. the module is not
//! loaded), then one `drbdsetup events2 --now` (DRBD 9) or `sh-status` (8.4).

use super::cmd::{DrbdError, DrbdTools, ExitKind, StatusSource};
use super::holders::{describe_holders, device_holders};
use super::status::{printable, DrbdStatus, Role};
use super::version::{parse_proc_drbd, DrbdVersion};
use crate::deadline::Deadline;
use std::path::PathBuf;
use std::time::Duration;

/// The characters drbd.ocf allows in `drbd_resource` (`[-%+./0-9:=@A-Z_a-z]`): anything
/// else could not be a DRBD resource name and would be passed to tools as an argument.
pub fn check_resource_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.starts_with('-') {
        return Err(format!(
            "'{}' must not start with '-' (it would read as an option)",
            printable(name, 40)
        ));
    }
    if name.len() > 128 {
        return Err("is longer than 128 characters".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-%+./:=@_".contains(*c)))
    {
        Some(c) => Err(format!(
            "'{}' contains '{}'; allowed are letters, digits and - % + . / : = @ _",
            printable(name, 40),
            c.escape_default()
        )),
        None => Ok(()),
    }
}

/// A `require_drbd_module_version_*` value: empty (no requirement) or `x.y.z`.
pub fn check_version_requirement(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Ok(());
    }
    DrbdVersion::parse(text)
        .map(drop)
        .map_err(|_| format!("'{}' is not a version x.y.z", printable(text, 30)))
}

/// The clone meta-attributes Pacemaker passes (`OCF_RESKEY_CRM_meta_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloneMeta {
    pub clone_max: Option<u32>,
    pub clone_node_max: Option<u32>,
    pub promoted_max: Option<u32>,
    pub promoted_node_max: Option<u32>,
    pub notify: bool,
}

/// drbd.ocf's meta checks: the agent only makes sense as a clone with one instance per node,
/// at most two Primaries, and notifications on (the agent outdates itself and refreshes
/// scores from post-notifications). `clone-max` is not limited: DRBD 9 has up to 32 peers (a
/// third, diskless tie-breaker node is common). A missing promoted-max reads as 1, as in
/// drbd.ocf: it is Pacemaker's default, and the single-Primary rules are the stricter ones;
/// resource-agents' ocft suite and hand runs pass no promoted-max.
pub fn check_clone_meta(m: &CloneMeta) -> Result<(), String> {
    let Some(_) = m.clone_max else {
        return Err("must run as a promotable clone (no clone meta-attributes were passed; create it with `promotable`)".into());
    };
    if m.clone_node_max.unwrap_or(1) != 1 {
        return Err(format!(
            "clone-node-max must be 1, not {}",
            m.clone_node_max.unwrap_or(0)
        ));
    }
    let promoted_max = m.promoted_max.unwrap_or(1);
    if m.promoted_node_max.unwrap_or(1) != 1 {
        return Err(format!(
            "promoted-node-max must be 1, not {}",
            m.promoted_node_max.unwrap_or(0)
        ));
    }
    if promoted_max > 2 {
        return Err(format!("promoted-max must be 1 or 2, not {promoted_max}"));
    }
    if !m.notify {
        return Err("the clone needs notify=true".into());
    }
    Ok(())
}

/// Whether `drbdadm dump` output enables `allow-two-primaries` (needed for promoted-max=2).
pub fn dump_allows_two_primaries(dump: &str) -> bool {
    dump.lines().any(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("allow-two-primaries")
            && matches!(
                w.next().map(|v| v.trim_end_matches(';')),
                Some("yes") | Some("")
            )
            || l.trim() == "allow-two-primaries;"
    })
}

/// How long a failed promote waits before reporting (drbd.ocf's anti-loop: a promote that
/// fails within 15 s of starting sleeps until 15 s have passed, so Pacemaker's immediate
/// retry cannot spin), never past what the deadline leaves.
pub fn promote_throttle(elapsed: Duration, remaining: Duration) -> Duration {
    const MIN_PROMOTE_FAILURE: Duration = Duration::from_secs(15);
    MIN_PROMOTE_FAILURE.saturating_sub(elapsed).min(remaining)
}

/// What `maybe_outdate_self` decides (drbd.ocf, only with `stop_outdates_secondary`): a
/// Secondary that lost its peer while Pacemaker says that peer is Primary (and not being
/// stopped) outdates its own data, so it can never be promoted with stale data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutdateSelf {
    /// Nothing to do (feature off, peer disks known, no Primary peer, or it is stopping).
    No,
    /// `drbdadm outdate`, then remove the score; the peer is named for the log.
    Outdate { primary_peer: String },
    /// Both Primary while disconnected: log it loudly, change nothing (not ours to decide).
    SplitBrain { primary_peer: String },
}

/// The node Pacemaker reports as promoted other than this one, unless it is being stopped
/// (then the list is stale). `promoted` and `stopping` are the notify lists
/// (`promoted_uname` / `stop_uname`); node names compare case-insensitively as in drbd.ocf.
pub fn primary_peer<'a>(
    local_node: &str,
    promoted: &'a [String],
    stopping: &[String],
) -> Option<&'a String> {
    let peer = promoted
        .iter()
        .find(|n| !n.eq_ignore_ascii_case(local_node))?;
    (!stopping.iter().any(|s| s == peer)).then_some(peer)
}

/// After a successful stop with `stop_outdates_secondary`: the Primary peer whose existence
/// makes this (now down, so no longer connected) node outdate its data, as drbd.ocf's
/// `drbd_stop` does.
pub fn outdate_on_stop(
    enabled: bool,
    local_node: &str,
    promoted: &[String],
    stopping: &[String],
) -> Option<String> {
    if !enabled {
        return None;
    }
    primary_peer(local_node, promoted, stopping).cloned()
}

/// The `maybe_outdate_self` decision of a post-notification.
pub fn outdate_self(
    enabled: bool,
    local_node: &str,
    status: &DrbdStatus,
    promoted: &[String],
    stopping: &[String],
) -> OutdateSelf {
    if !enabled || !status.facts().pdsk_any_unknown {
        return OutdateSelf::No;
    }
    let Some(peer) = primary_peer(local_node, promoted, stopping) else {
        return OutdateSelf::No;
    };
    if status.role == Role::Primary {
        return OutdateSelf::SplitBrain {
            primary_peer: peer.clone(),
        };
    }
    OutdateSelf::Outdate {
        primary_peer: peer.clone(),
    }
}

/// Whether `crm_resource --resource R --locate` shows a promoted instance on a node other
/// than `local_node`. Read without `--quiet`: quiet output is bare node names, no role
/// (`resource_search_list_default` in Pacemaker's `pcmk_output.c`). Lines read `resource R is
/// running on: node2 Promoted` (Pacemaker 2.1) or `… node2 Master` (older, or built with 2.0
/// compatibility); drbd.ocf's sed knows only `Master`. Node names compare case-insensitively,
/// as drbd.ocf's `grep -vix` does.
pub fn locate_shows_promoted_peer(output: &str, local_node: &str) -> bool {
    output.lines().any(|line| {
        let Some((_, rest)) = line.split_once("is running on:") else {
            return false;
        };
        let mut words = rest.split_whitespace();
        let node = words.next().unwrap_or("");
        !node.is_empty()
            && !node.eq_ignore_ascii_case(local_node)
            && words.any(|w| w == "Promoted" || w == "Master")
    })
}

/// `crm_resource --locate` of the clone of `instance` (`r0:1` → `r0`): whether Pacemaker
/// runs a promoted instance on a node other than `local_node`, `None` when it cannot say (the
/// tool failed, or gave no answer within `deadline` and at most 10 s). `crm_resource` is the
/// program, a path or a name looked up in `PATH`.
pub fn locate_promoted_peer(
    crm_resource: &str,
    instance: &str,
    local_node: &str,
    deadline: &Deadline,
) -> Option<bool> {
    let rsc = instance.split(':').next().unwrap_or(instance);
    let mut cmd = std::process::Command::new(crm_resource);
    cmd.args(["--resource", rsc, "--locate"]);
    let out = crate::process::run_captured(&mut cmd, deadline.cap(Duration::from_secs(10))).ok()?;
    if !out.status.success() {
        return None;
    }
    Some(locate_shows_promoted_peer(&out.stdout_str(), local_node))
}

/// This node's name as the peer and Pacemaker's notify lists spell it (`uname -n`); empty
/// when the kernel's is not UTF-8.
pub fn local_node_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

/// What the node shows for the resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// The DRBD kernel module is not loaded.
    NoModule,
    /// The module is loaded, the resource is not configured in the kernel (stopped).
    Down,
    Up(DrbdStatus),
}

impl Observed {
    pub fn status(&self) -> Option<&DrbdStatus> {
        match self {
            Observed::Up(s) => Some(s),
            _ => None,
        }
    }
}

/// One DRBD resource on this node.
#[derive(Debug, Clone)]
pub struct LocalResource {
    pub name: String,
    pub tools: DrbdTools,
}

impl LocalResource {
    pub fn new(name: impl Into<String>, tools: DrbdTools) -> Self {
        LocalResource {
            name: name.into(),
            tools,
        }
    }

    /// The kernel module's version: `/proc/drbd` when present (a file read), else
    /// `drbdadm --version` (`None`: no module loaded).
    pub fn kernel_version(&self, deadline: &Deadline) -> Result<Option<DrbdVersion>, DrbdError> {
        match std::fs::read_to_string(&self.tools.proc_drbd) {
            Ok(text) => Ok(Some(parse_proc_drbd(&text)?)),
            Err(_) => Ok(self.tools.versions(deadline)?.kernel),
        }
    }

    /// The resource's state, read with the status command of the running DRBD version.
    pub fn observe(
        &self,
        deadline: &Deadline,
    ) -> Result<(Option<DrbdVersion>, Observed), DrbdError> {
        let Some(version) = self.kernel_version(deadline)? else {
            return Ok((None, Observed::NoModule));
        };
        let status = self
            .tools
            .status(&self.name, StatusSource::for_version(version), deadline)?;
        Ok((
            Some(version),
            match status {
                Some(s) => Observed::Up(s),
                None => Observed::Down,
            },
        ))
    }

    /// Whether the DRBD configuration defines the resource for this host (`drbdadm sh-dev`;
    /// exit 10 means it does not).
    pub fn is_defined(&self, deadline: &Deadline) -> Result<bool, DrbdError> {
        match self.tools.devices(&self.name, deadline) {
            Ok(_) => Ok(true),
            Err(e) if e.exit_kind() == Some(ExitKind::NoSuchResource) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `drbdadm dump` enables `allow-two-primaries` for the resource.
    pub fn allows_two_primaries(&self, deadline: &Deadline) -> Result<bool, DrbdError> {
        let out = self.tools.drbdadm(&["-d", "dump", &self.name], deadline)?;
        Ok(dump_allows_two_primaries(&out.stdout_str()))
    }

    /// Brings the resource up: DRBD 9 `adjust --skip-net` (creates the resource and minors,
    /// attaches; connecting is left to start). 8.4 has no `--skip-net`, and its `attach` alone
    /// does not create the minor ("(127) Device minor not allocated", seen on the real
    /// module), so there `adjust` creates, attaches and connects in one step — unless
    /// `connect` is false (`connect_only_after_promote`): then drbd.ocf's 8.4 sequence
    /// `new-resource`, `new-minor`, `attach`, which leaves the network unconfigured.
    pub fn attach(
        &self,
        version: DrbdVersion,
        connect: bool,
        deadline: &Deadline,
    ) -> Result<(), DrbdError> {
        if version.is_v9() {
            return self.tools.adjust(&self.name, true, deadline);
        }
        if connect {
            return self.tools.adjust(&self.name, false, deadline);
        }
        for step in ["new-resource", "new-minor", "attach"] {
            self.tools.drbdadm(&[step, &self.name], deadline)?;
        }
        Ok(())
    }

    /// Loads the kernel module (`modprobe -s drbd <drbdadm sh-mod-parms>`).
    pub fn load_module(&self, deadline: &Deadline) -> Result<(), String> {
        let parms = self
            .tools
            .drbdadm(&["sh-mod-parms"], deadline)
            .map(|o| o.stdout_str())
            .unwrap_or_default();
        let mut cmd = std::process::Command::new("modprobe");
        cmd.args(["-s", "drbd"]).args(parms.split_whitespace());
        let out = crate::process::run_captured(&mut cmd, deadline.cap(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("modprobe drbd failed: {}", out.stderr_last_line()))
        }
    }

    /// The resource's block devices: from the status (`/dev/drbd<minor>`) when it names
    /// minors, else from `drbdadm sh-dev`.
    pub fn devices(&self, status: Option<&DrbdStatus>, deadline: &Deadline) -> Vec<PathBuf> {
        let from_status: Vec<PathBuf> = status
            .map(|s| {
                s.volumes
                    .iter()
                    .filter_map(|v| v.minor)
                    .map(|m| PathBuf::from(format!("/dev/drbd{m}")))
                    .collect()
            })
            .unwrap_or_default();
        if !from_status.is_empty() {
            return from_status;
        }
        self.tools.devices(&self.name, deadline).unwrap_or_default()
    }

    /// `"/dev/drbd0 held open by: mounted on /var/opt/axigen, pid 812 (axigen)"`, or what
    /// DRBD itself said when no holder is visible from here (another mount namespace).
    pub fn who_holds_open(&self, status: Option<&DrbdStatus>, deadline: &Deadline) -> String {
        let devices = self.devices(status, deadline);
        let mut parts = Vec::new();
        for dev in &devices {
            if let Some(line) = describe_holders(&device_holders(dev)) {
                parts.push(format!("{} {line}", dev.display()));
            }
        }
        if !parts.is_empty() {
            return parts.join("; ");
        }
        let names: Vec<String> = devices.iter().map(|d| d.display().to_string()).collect();
        format!(
            "{} held open by nothing visible from here (check mounts in other namespaces, multipathd, LVM, dm)",
            if names.is_empty() { "device".to_string() } else { names.join(", ") }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drbd::status::{
        ConnectionState, DiskState, Peer, PeerVolume, ReplicationState, Volume,
    };

    #[test]
    fn resource_names() {
        for ok in ["r0", "mail-store", "a.b_c:d=e@f%g+h/i"] {
            assert_eq!(check_resource_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-r0", "r 0", "r0;rm", "r0\n", "r$0", "ré"] {
            assert!(check_resource_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_resource_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn clone_meta() {
        let good = CloneMeta {
            clone_max: Some(2),
            clone_node_max: Some(1),
            promoted_max: Some(1),
            promoted_node_max: Some(1),
            notify: true,
        };
        assert_eq!(check_clone_meta(&good), Ok(()));
        assert_eq!(
            check_clone_meta(&CloneMeta {
                promoted_max: Some(2),
                ..good
            }),
            Ok(())
        );
        // no promoted-max (ocft, a hand run): Pacemaker's default, 1, as drbd.ocf assumes
        assert_eq!(
            check_clone_meta(&CloneMeta {
                promoted_max: None,
                promoted_node_max: None,
                ..good
            }),
            Ok(())
        );
        let cases = [
            (
                CloneMeta {
                    clone_max: None,
                    ..good
                },
                "promotable clone",
            ),
            (
                CloneMeta {
                    clone_node_max: Some(2),
                    ..good
                },
                "clone-node-max must be 1",
            ),
            (
                CloneMeta {
                    promoted_node_max: Some(2),
                    ..good
                },
                "promoted-node-max must be 1",
            ),
            (
                CloneMeta {
                    promoted_max: Some(3),
                    ..good
                },
                "promoted-max must be 1 or 2",
            ),
            (
                CloneMeta {
                    notify: false,
                    ..good
                },
                "notify=true",
            ),
        ];
        for (m, want) in cases {
            let e = check_clone_meta(&m).unwrap_err();
            assert!(e.contains(want), "{m:?}: {e}");
        }
    }

    #[test]
    fn two_primaries_in_dump() {
        assert!(dump_allows_two_primaries(
            "resource r0 {\n    net {\n        allow-two-primaries yes;\n    }\n}\n"
        ));
        assert!(!dump_allows_two_primaries(
            "resource r0 {\n    net {\n        allow-two-primaries no;\n    }\n}\n"
        ));
        assert!(!dump_allows_two_primaries(
            "resource r0 {\n    net {\n    }\n}\n"
        ));
    }

    #[test]
    fn locate_output_names_the_promoted_node() {
        let two = "resource mailstore is running on: node1\nresource mailstore is running on: node2 Promoted\n";
        assert!(locate_shows_promoted_peer(two, "node1"));
        assert!(!locate_shows_promoted_peer(two, "NODE2"), "ourselves");
        assert!(locate_shows_promoted_peer(
            "resource mailstore is running on: node2 Master\n",
            "node1"
        ));
        // --quiet prints bare names: no role, so never a promoted peer.
        assert!(!locate_shows_promoted_peer("node1\nnode2\n", "node1"));
        assert!(!locate_shows_promoted_peer(
            "resource mailstore is running on: node2\n",
            "node1"
        ));
        assert!(!locate_shows_promoted_peer(
            "resource mailstore is NOT running\n",
            "node1"
        ));
    }

    #[test]
    fn throttle_never_exceeds_the_deadline() {
        let s = Duration::from_secs;
        assert_eq!(promote_throttle(s(1), s(60)), s(14));
        assert_eq!(promote_throttle(s(20), s(60)), s(0));
        assert_eq!(promote_throttle(s(1), s(3)), s(3));
    }

    fn status(role: Role, connected: bool) -> DrbdStatus {
        DrbdStatus {
            resource: "r0".into(),
            role,
            suspended: false,
            volumes: vec![Volume {
                volume: 0,
                minor: Some(0),
                disk: DiskState::UpToDate,
                client: false,
                quorum: true,
                open: None,
            }],
            peers: vec![Peer {
                node_id: Some(1),
                name: "node2".into(),
                connection: if connected {
                    ConnectionState::Connected
                } else {
                    ConnectionState::Connecting
                },
                role: Role::Unknown,
                volumes: vec![PeerVolume {
                    volume: 0,
                    replication: ReplicationState::Off,
                    disk: if connected {
                        DiskState::UpToDate
                    } else {
                        DiskState::DUnknown
                    },
                    client: false,
                    resync_suspended: false,
                    done: None,
                }],
            }],
        }
    }

    #[test]
    fn outdate_self_decisions() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let lost = status(Role::Secondary, false);
        let p = v(&["node1", "node2"]);
        assert_eq!(
            outdate_self(true, "node1", &lost, &p, &[]),
            OutdateSelf::Outdate {
                primary_peer: "node2".into()
            }
        );
        assert_eq!(
            outdate_self(false, "node1", &lost, &p, &[]),
            OutdateSelf::No
        );
        assert_eq!(
            outdate_self(true, "node1", &status(Role::Secondary, true), &p, &[]),
            OutdateSelf::No
        );
        assert_eq!(
            outdate_self(true, "NODE1", &lost, &v(&["node1"]), &[]),
            OutdateSelf::No
        );
        assert_eq!(
            outdate_self(true, "node1", &lost, &p, &v(&["node2"])),
            OutdateSelf::No
        );
        assert_eq!(
            outdate_self(true, "node1", &status(Role::Primary, false), &p, &[]),
            OutdateSelf::SplitBrain {
                primary_peer: "node2".into()
            }
        );
        assert_eq!(
            outdate_on_stop(true, "node1", &p, &[]),
            Some("node2".into())
        );
        assert_eq!(outdate_on_stop(false, "node1", &p, &[]), None);
        assert_eq!(outdate_on_stop(true, "node1", &p, &v(&["node2"])), None);
        assert_eq!(outdate_on_stop(true, "node1", &v(&["Node1"]), &[]), None);
    }

    #[test]
    fn locate_runs_crm_resource_for_the_clone_and_reads_its_answer() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("bulwark-locate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tool = |name: &str, body: &str| {
            let p = dir.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p.to_string_lossy().into_owned()
        };
        // Answers only for the clone's own name, as Pacemaker does.
        let promoted = tool(
            "promoted",
            r#"[ "$*" = "--resource ms-r0 --locate" ] || exit 6
echo "resource ms-r0 is running on: node2 Promoted""#,
        );
        let failing = tool("failing", "exit 1");
        let silent = tool("silent", "exec sleep 5");
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(
            locate_promoted_peer(&promoted, "ms-r0:1", "node1", &d),
            Some(true)
        );
        assert_eq!(
            locate_promoted_peer(&promoted, "ms-r0", "NODE2", &d),
            Some(false)
        );
        assert_eq!(locate_promoted_peer(&promoted, "other", "node1", &d), None);
        assert_eq!(locate_promoted_peer(&failing, "ms-r0", "node1", &d), None);
        let short = Deadline::after(Duration::from_millis(200));
        assert_eq!(
            locate_promoted_peer(&silent, "ms-r0", "node1", &short),
            None
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
