//! `ocf:bulwark:drbd` side by side with LINBIT's own `ocf:linbit:drbd` (drbd-utils'
//! `/usr/lib/ocf/resource.d/linbit/drbd`), on the same simulated DRBD states.
//!
//! For every state (DRBD 9 and 8.4) and every action (recurring monitor, promote, demote, a
//! post-notification), both agents start from an identical copy of the simulator's state and a
//! promotion score of [`SENTINEL`], with the same fake `drbdadm`/`drbdsetup` (the simulator),
//! `crm_attribute` (a file standing in for the CIB) and `crm_resource` on PATH, and Pacemaker's
//! own `crm_master` script between drbd.ocf and that `crm_attribute`. Compared: exit code,
//! the score afterwards (unchanged, removed or a value) and the DRBD role afterwards.
//!
//! Every difference must be explained by a rule of [`RULES`] (a reason, matched narrowly on
//! the state and both outcomes); an unexplained one fails the test. The table of differences
//! is generated into `docs/drbd-differences.md`; the committed copy must match (regenerate:
//! `BULWARK_UPDATE_DOCS=1 cargo test --test drbd_differential`).
//!
//! drbd.ocf runs as shipped, from a private copy that differs in exactly one line: its
//! `is_drbd_enabled` tests `${BULWARK_PROC_DRBD:-/proc/drbd}` instead of `/proc/drbd` (the
//! module is simulated; ours reads the same variable). `SECONDS=15` in its environment (bash
//! imports it) skips its 15-second anti-loop sleep after a failed promote; its endless
//! promote retries are ended by `timeout`, as Pacemaker's operation timeout would.
//!
//! Needs root (a block device node for drbd.ocf's `test -b`), drbd-utils and pacemaker
//! (`crm_master`), and `cargo build --workspace --bins`.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use support::{workspace_bin, workspace_dir, LabDir};

const LINBIT_AGENT: &str = "/usr/lib/ocf/resource.d/linbit/drbd";
const LINBIT_FUNCS: &str = "/usr/lib/ocf/resource.d/linbit/drbd.shellfuncs.sh";
const CRM_MASTER: &str = "/usr/sbin/crm_master";
/// The one line of drbd.ocf changed in the private copy, and what it becomes.
const PROC_LINE: &str = "\ttest -f /proc/drbd";
const PROC_LINE_NEW: &str = "\ttest -f \"${BULWARK_PROC_DRBD:-/proc/drbd}\"";
/// The score both agents find before each action: "unchanged" is visible as this value.
const SENTINEL: &str = "77";
const ACTIONS: &[&str] = &["monitor", "promote", "demote", "notify"];
/// Extra actions for the cases that exercise them.
const WITH_STOP: &[&str] = &["monitor", "stop"];
const WITH_RELOAD: &[&str] = &["monitor", "reload"];
const WITH_START: &[&str] = &["monitor", "start"];
const DOC: &str = "docs/drbd-differences.md";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    V9,
    V84,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::V9 => "9",
            Version::V84 => "8.4",
        }
    }
}

/// One DRBD state (plus parameters and what Pacemaker reports).
#[derive(Clone, Debug)]
struct Case {
    id: String,
    version: Version,
    /// Simulator state keys.
    state: Vec<(&'static str, &'static str)>,
    /// Simulator misbehaviour flags (files).
    flags: Vec<&'static str>,
    params: Vec<(&'static str, &'static str)>,
    /// What `crm_resource --locate` prints for the peer: `None` lists it without a role.
    peer_locate_role: Option<&'static str>,
    /// `OCF_RESKEY_CRM_meta_*` besides the clone's (notify lists).
    meta: Vec<(&'static str, &'static str)>,
    actions: &'static [&'static str],
}

/// What one agent did in one (state, action).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    /// The exit code, or `None` when the agent ran until the operation timeout.
    code: Option<i32>,
    /// The score afterwards (`None`: removed).
    score: Option<String>,
    /// The role afterwards, `down` when the resource is down, and the on-disk data state
    /// when the action changed it (` md:Outdated`).
    role: String,
}

impl Outcome {
    fn show(&self) -> String {
        format!(
            "{} / {} / {}",
            self.code.map_or("timeout".to_string(), |c| c.to_string()),
            match self.score.as_deref() {
                None => "removed".to_string(),
                Some(SENTINEL) => "unchanged".to_string(),
                Some(s) => s.to_string(),
            },
            self.role
        )
    }
}

fn case(
    version: Version,
    id: &str,
    state: &[(&'static str, &'static str)],
    flags: &[&'static str],
) -> Case {
    Case {
        id: format!("{} {id}", version.name()),
        version,
        state: state.to_vec(),
        flags: flags.to_vec(),
        params: Vec::new(),
        peer_locate_role: None,
        meta: Vec::new(),
        actions: ACTIONS,
    }
}

/// The states compared: every local disk state with the peer connected and disconnected, the
/// peer's disk and role, the score parameters, quorum and diskless clients (DRBD 9), names a
/// future DRBD may print, and the module version requirement.
fn cases() -> Vec<Case> {
    let disks: [(&str, &[(&'static str, &'static str)]); 8] = [
        ("UpToDate", &[]),
        ("Consistent", &[("md_disk", "Consistent")]),
        ("Outdated", &[("md_disk", "Outdated")]),
        ("Inconsistent", &[("md_disk", "Inconsistent")]),
        ("Attaching", &[("disk", "Attaching")]),
        ("Negotiating", &[("disk", "Negotiating")]),
        ("Diskless", &[("attached", "no")]),
        ("Failed", &[("disk", "Failed")]),
    ];
    let mut out = Vec::new();
    for v in [Version::V9, Version::V84] {
        for (name, keys) in disks {
            out.push(case(
                v,
                &format!("Secondary {name}, peer connected Secondary UpToDate"),
                keys,
                &[],
            ));
            out.push(case(
                v,
                &format!("Secondary {name}, peer disconnected"),
                keys,
                &["peer-disconnect"],
            ));
        }
        out.push(case(
            v,
            "Primary UpToDate, peer connected Secondary UpToDate",
            &[("role", "Primary")],
            &[],
        ));
        out.push(case(
            v,
            "Primary UpToDate, peer disconnected",
            &[("role", "Primary")],
            &["peer-disconnect"],
        ));
        out.push(case(
            v,
            "Primary UpToDate, split brain (StandAlone)",
            &[("role", "Primary")],
            &["split-brain"],
        ));
        out.push(case(
            v,
            "Secondary UpToDate, split brain (StandAlone)",
            &[],
            &["split-brain"],
        ));
        for (pd, keys) in [
            ("Outdated", &[("peer_disk", "Outdated")][..]),
            (
                "Inconsistent",
                &[
                    ("peer_disk", "Inconsistent"),
                    ("resync_finish_at", "4000000000"),
                ][..],
            ),
            ("Consistent", &[("peer_disk", "Consistent")][..]),
            ("Diskless", &[("peer_disk", "Diskless")][..]),
        ] {
            out.push(case(
                v,
                &format!("Secondary UpToDate, peer connected Secondary {pd}"),
                keys,
                &[],
            ));
        }
        out.push(case(
            v,
            "Secondary Inconsistent (SyncTarget), peer connected Primary UpToDate",
            &[
                ("md_disk", "Inconsistent"),
                ("peer_role", "Primary"),
                ("resync_finish_at", "4000000000"),
            ],
            &[],
        ));
        let peer_primary = [("peer_role", "Primary")];
        out.push(case(
            v,
            "Secondary UpToDate, peer connected Primary UpToDate",
            &peer_primary,
            &[],
        ));
        for (rule, role, label) in [
            ("true", None, "remove_master_score_if_peer_primary=true"),
            (
                "unexpected",
                None,
                "=unexpected, Pacemaker knows no Primary",
            ),
            (
                "unexpected",
                Some("Master"),
                "=unexpected, Pacemaker reports it Master",
            ),
            (
                "unexpected",
                Some("Promoted"),
                "=unexpected, Pacemaker 2.1 reports it Promoted",
            ),
        ] {
            let mut c = case(
                v,
                &format!("Secondary UpToDate, peer connected Primary UpToDate, {label}"),
                &peer_primary,
                &[],
            );
            c.params.push(("remove_master_score_if_peer_primary", rule));
            c.peer_locate_role = role;
            out.push(c);
        }
        let mut c = case(
            v,
            "Secondary UpToDate, peer connected Primary UpToDate, fail_promote_early_if_peer_primary, Pacemaker knows no Primary",
            &peer_primary,
            &[],
        );
        c.params
            .push(("fail_promote_early_if_peer_primary", "true"));
        out.push(c);
        out.push(case(
            v,
            "Secondary UpToDate, peer state name unknown to us (Pristine)",
            &[("peer_disk", "Pristine")],
            &[],
        ));
        out.push(case(
            v,
            "Secondary, local disk state name unknown to us (Pristine)",
            &[("disk", "Pristine")],
            &[],
        ));
        out.push(case(v, "stopped (resource down)", &[("up", "no")], &[]));
        let mut c = case(
            v,
            "Secondary UpToDate, module outside require_drbd_module_version_ge",
            &[],
            &[],
        );
        c.params.push(("require_drbd_module_version_ge", "9.9.0"));
        out.push(c);
        let mut c = case(
            v,
            "Secondary Consistent, adjust_master_score=\"5 10 1000 10000\"",
            &[("md_disk", "Consistent")],
            &["peer-disconnect"],
        );
        c.params.push(("adjust_master_score", "5 10 1000 10000"));
        out.push(c);
    }
    for v in [Version::V9, Version::V84] {
        let peer_primary = [("peer_role", "Primary")];
        for (label, promoted, stopping, outdates) in [
            (
                "Pacemaker lists the peer as promoted",
                "peer-node",
                " ",
                "true",
            ),
            (
                "the promoted peer is stopping too",
                "peer-node",
                "peer-node",
                "true",
            ),
            ("no promoted node", " ", " ", "true"),
            ("stop_outdates_secondary off", "peer-node", " ", "false"),
        ] {
            let mut c = case(
                v,
                &format!("Secondary UpToDate stopped, {label}"),
                &peer_primary,
                &[],
            );
            c.params.push(("stop_outdates_secondary", outdates));
            c.meta = vec![
                ("notify_master_uname", promoted),
                ("notify_promoted_uname", promoted),
                ("notify_stop_uname", stopping),
            ];
            c.actions = WITH_STOP;
            out.push(c);
        }
        for (label, keys, flags) in [
            ("peer up and UpToDate", &[("up", "no")][..], &[][..]),
            (
                "peer unreachable",
                &[("up", "no")][..],
                &["peer-disconnect"][..],
            ),
            (
                "local data Outdated, peer UpToDate",
                &[
                    ("up", "no"),
                    ("md_disk", "Outdated"),
                    ("resync_finish_at", "4000000000"),
                ][..],
                &[][..],
            ),
        ] {
            let mut c = case(v, &format!("down, started: {label}"), keys, flags);
            c.actions = WITH_START;
            out.push(c);
        }
        let mut c = case(v, "Primary UpToDate stopped", &[("role", "Primary")], &[]);
        c.actions = WITH_STOP;
        out.push(c);
        for (label, keys) in [
            ("Primary UpToDate", &[("role", "Primary")][..]),
            ("Secondary UpToDate", &[][..]),
            ("stopped", &[("up", "no")][..]),
        ] {
            let mut c = case(
                v,
                &format!("{label}, reload with adjust_master_score=\"0 5 500 5000\""),
                keys,
                &[],
            );
            c.params.push(("adjust_master_score", "0 5 500 5000"));
            c.actions = WITH_RELOAD;
            out.push(c);
        }
    }
    let v = Version::V9;
    let mut c = case(
        v,
        "Secondary UpToDate in a clone that is not promotable (no promoted-max passed)",
        &[],
        &[],
    );
    c.meta = vec![
        ("promoted_max", ""),
        ("master_max", ""),
        ("promoted_node_max", ""),
        ("master_node_max", ""),
    ];
    out.push(c);
    out.push(case(
        v,
        "Secondary UpToDate, no quorum",
        &[("quorum", "no")],
        &[],
    ));
    out.push(case(
        v,
        "Primary UpToDate, no quorum",
        &[("quorum", "no"), ("role", "Primary")],
        &["peer-disconnect"],
    ));
    out.push(case(
        v,
        "diskless client Secondary, peer connected Secondary UpToDate",
        &[("client", "yes")],
        &[],
    ));
    out.push(case(
        v,
        "diskless client Primary, peer connected Secondary UpToDate",
        &[("client", "yes"), ("role", "Primary")],
        &[],
    ));
    out.push(case(
        v,
        "diskless client Secondary, peer disconnected",
        &[("client", "yes")],
        &["peer-disconnect"],
    ));
    out.push(case(
        v,
        "Secondary UpToDate, peer is a connected diskless client",
        &[("peer_client", "yes"), ("peer_disk", "Diskless")],
        &[],
    ));
    out
}

/// What a rule sees: the row, and each agent's recurring monitor of the same state.
struct Seen<'a> {
    case: &'a Case,
    action: &'a str,
    ours: &'a Outcome,
    ours_monitor: &'a Outcome,
}

/// A deliberate difference, with its reason. `explain` turns drbd.ocf's outcome into what it
/// would have been with our choice, only for the states and outcomes the choice covers, and
/// says whether it changed anything. A row is explained when the rules together turn
/// drbd.ocf's outcome into ours.
struct Rule {
    id: &'static str,
    reason: &'static str,
    explain: fn(&Seen, &mut Outcome) -> bool,
}

fn has(c: &Case, key: &str, value: &str) -> bool {
    c.state.iter().any(|(k, v)| *k == key && *v == value)
}

fn has_param(c: &Case, key: &str) -> bool {
    c.params.iter().any(|(k, _)| *k == key)
}

fn initial_role(c: &Case) -> &'static str {
    c.state
        .iter()
        .find(|(k, _)| *k == "role")
        .map_or("Secondary", |(_, v)| v)
}

fn scoring(action: &str) -> bool {
    action == "monitor" || action == "notify"
}

/// Sets `linbit.score` to ours when ours is one of `ours_may` and drbd.ocf's one of `theirs`.
fn score_swap(
    s: &Seen,
    linbit: &mut Outcome,
    ours_may: &[Option<&str>],
    theirs: &[Option<&str>],
) -> bool {
    let ours = s.ours.score.as_deref();
    if linbit.score != s.ours.score
        && ours_may.contains(&ours)
        && theirs.contains(&linbit.score.as_deref())
    {
        linbit.score = s.ours.score.clone();
        return true;
    }
    false
}

static RULES: &[Rule] = &[
    Rule {
        id: "unknown-local-state",
        reason: "This node's disk state is a name the agent does not know (a future DRBD release, or garbage). Ours refuses to read it: the monitor fails (1) naming the text and removes the score, a post-notification removes it too (and succeeds), promote and demote fail (1) and change nothing. drbd.ocf reads any unknown local name as good enough: its DRBD 9 path leaves `disk_all_up_to_date` true (10000, and it promotes), its 8.4 path counts it as Consistent (10 here, the peer being UpToDate).",
        explain: |s, l| {
            if !has(s.case, "disk", "Pristine") || *l == *s.ours {
                return false;
            }
            let expected = match s.action {
                "monitor" => s.ours.code == Some(1) && s.ours.score.is_none(),
                "notify" => s.ours.code == Some(0) && s.ours.score.is_none(),
                _ => s.ours.code == Some(1) && s.ours.role == initial_role(s.case),
            };
            if expected {
                *l = s.ours.clone();
            }
            expected
        },
    },
    Rule {
        id: "unknown-peer-state",
        reason: "A peer's disk state is a name the agent does not know: ours reads it as DUnknown (UpToDate Secondary: 1000, \"peer unknown\"), so a DRBD release with a new name cannot fail every node's monitor at once, and cannot vouch for data either. drbd.ocf counts any name other than DUnknown as known (10000).",
        explain: |s, l| {
            has(s.case, "peer_disk", "Pristine")
                && scoring(s.action)
                && score_swap(s, l, &[Some("1000")], &[Some("10000")])
        },
    },
    Rule {
        id: "no-diskful-peer",
        reason: "The only peer is an intentionally diskless client: nobody else holds the data. Ours scores an UpToDate Secondary 1000 (\"peer disk unknown\"), as with no peer at all; drbd.ocf skips diskless peers and then treats \"no peers left\" as \"all peers known\" (10000).",
        explain: |s, l| {
            has(s.case, "peer_client", "yes")
                && scoring(s.action)
                && score_swap(s, l, &[Some("1000")], &[Some("10000")])
        },
    },
    Rule {
        id: "attaching-is-not-uptodate",
        reason: "A local disk that is Attaching or Negotiating is not (yet) known to be UpToDate. Ours scores it as not UpToDate: 10 when a peer has UpToDate data, else the score is left as it was. drbd.ocf's DRBD 9 path never clears `disk_all_up_to_date` for these states and scores 10000 (1000 with the peer unknown).",
        explain: |s, l| {
            (has(s.case, "disk", "Attaching") || has(s.case, "disk", "Negotiating"))
                && scoring(s.action)
                && score_swap(s, l, &[Some("10"), Some(SENTINEL)], &[Some("10000"), Some("1000")])
        },
    },
    Rule {
        id: "pacemaker-2.1-promoted",
        reason: "With remove_master_score_if_peer_primary=unexpected, Pacemaker 2.1's `crm_resource --locate` names the promoted node `… Promoted`; drbd.ocf's sed only matches the pre-2.1 `… Master`, so it takes an expected Primary for an unexpected one and removes the score. Ours reads both spellings and keeps the score.",
        explain: |s, l| {
            s.case.peer_locate_role == Some("Promoted")
                && scoring(s.action)
                && score_swap(s, l, &[Some("10000")], &[None])
        },
    },
    Rule {
        id: "module-version-not-rechecked",
        reason: "require_drbd_module_version_* is checked by start, promote, reload and validate-all. drbd.ocf checks it in every action, so a changed requirement makes the running instance's monitor, demote and notify fail with 5 (not installed) — Pacemaker would then stop the Primary. Ours keeps monitoring and demoting what runs.",
        explain: |s, l| {
            if has_param(s.case, "require_drbd_module_version_ge")
                && l.code == Some(5)
                && matches!(s.action, "monitor" | "demote" | "notify")
                && matches!(s.ours.code, Some(0) | Some(8))
            {
                *l = s.ours.clone();
                return true;
            }
            false
        },
    },
    Rule {
        id: "promote-gives-up-before-the-timeout",
        reason: "`drbdadm primary` keeps failing (a peer is Primary): drbd.ocf retries until Pacemaker kills it at the operation timeout, with no exit reason. Ours retries while the deadline leaves room, then fails (1) with DRBD's message before the timeout. Pacemaker treats both as a failed promote.",
        explain: |s, l| {
            if s.action == "promote" && l.code.is_none() && s.ours.code == Some(1) {
                l.code = Some(1);
                return true;
            }
            false
        },
    },
    Rule {
        id: "stopped-instance-answers-7",
        reason: "Demote or reload of an instance that is not running: ours answers 7 (not running), drbd.ocf 1 (for demote with a log line saying \"Trying to promote a resource that was not started\"). Both fail the action; 7 says why.",
        explain: |s, l| {
            if has(s.case, "up", "no")
                && matches!(s.action, "demote" | "reload")
                && l.code == Some(1)
                && s.ours.code == Some(7)
            {
                l.code = Some(7);
                return true;
            }
            false
        },
    },
    Rule {
        id: "promote-and-demote-refresh-the-score",
        reason: "Promote and demote end by setting the score for the state they leave (drbd.ocf leaves it to the next monitor): a node that just failed to promote for lack of UpToDate data stops attracting the next promote at once, and a demoted node's score says what it knows as a Secondary. Where the role did not change, the score is the one our monitor sets in that state.",
        explain: |s, l| {
            let role_kept = s.ours.role == initial_role(s.case);
            if matches!(s.action, "promote" | "demote")
                && l.score.as_deref() == Some(SENTINEL)
                && s.ours.score.as_deref() != Some(SENTINEL)
                && (!role_kept || s.ours.score == s.ours_monitor.score)
            {
                l.score = s.ours.score.clone();
                return true;
            }
            false
        },
    },
];

/// Fake tools shared by every run: the simulator as drbdadm/drbdsetup, a CIB stand-in, a
/// block device node, and the private copy of drbd.ocf.
struct Bench {
    dir: LabDir,
}

impl Bench {
    fn new() -> Bench {
        for p in [LINBIT_AGENT, LINBIT_FUNCS, CRM_MASTER] {
            assert!(
                Path::new(p).exists(),
                "{p} missing: run tests/install-deps.sh (drbd-utils, pacemaker-cli-utils)"
            );
        }
        assert!(
            nix::unistd::Uid::effective().is_root(),
            "needs root: drbd.ocf requires its device to be a block device (mknod)"
        );
        let dir = LabDir::new("drbd-diff");
        let b = Bench { dir };
        let bin = b.bin();
        std::fs::create_dir_all(&bin).unwrap();
        let sim = workspace_bin("drbd-sim");
        for name in ["drbdadm", "drbdsetup"] {
            std::os::unix::fs::symlink(&sim, bin.join(name)).unwrap();
        }
        // Pacemaker's own crm_master, unchanged: drbd.ocf's path to crm_attribute.
        std::os::unix::fs::symlink(CRM_MASTER, bin.join("crm_master")).unwrap();
        script(
            &bin.join("crm_attribute"),
            "#!/bin/sh\n# The CIB's promotion score for this run: $FAKE_CIB_DIR/score.\nop=; val=\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in\n    -G|--query) op=get;;\n    -D|--delete) op=delete;;\n    -v|--update) op=set; val=$2; shift;;\n  esac\n  shift\ndone\necho \"$op $val\" >> \"$FAKE_CIB_DIR/attr.log\"\ncase $op in\n  get) [ -f \"$FAKE_CIB_DIR/score\" ] || exit 105; cat \"$FAKE_CIB_DIR/score\";;\n  delete) rm -f \"$FAKE_CIB_DIR/score\";;\n  set) echo \"$val\" > \"$FAKE_CIB_DIR/score\";;\n  *) exit 64;;\nesac\n",
        );
        script(
            &bin.join("crm_resource"),
            "#!/bin/sh\ncat \"$FAKE_CIB_DIR/locate\"\n",
        );
        let dev = b.dir.path().join("drbd0");
        let made = Command::new("mknod")
            .arg(&dev)
            .args(["b", "147", "0"])
            .status()
            .unwrap();
        assert!(made.success(), "mknod {}", dev.display());
        std::fs::write(b.dir.path().join("drbd.conf"), "resource r0 {}\n").unwrap();
        std::fs::write(
            b.dir.path().join("proc-drbd-9"),
            "version: 9.2.2 (api:2/proto:86-121)\n",
        )
        .unwrap();
        std::fs::write(
            b.dir.path().join("proc-drbd-8.4"),
            "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 0\n",
        )
        .unwrap();
        let linbit = b.dir.path().join("linbit");
        std::fs::create_dir_all(&linbit).unwrap();
        let original = std::fs::read_to_string(LINBIT_AGENT).unwrap();
        let copy = private_copy(&original);
        script(&linbit.join("drbd"), &copy);
        std::os::unix::fs::symlink(LINBIT_FUNCS, linbit.join("drbd.shellfuncs.sh")).unwrap();
        b
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// One agent, one action, from a fresh copy of the case's state.
    fn run(&self, c: &Case, action: &str, linbit: bool) -> Outcome {
        let tag = format!(
            "{}-{}-{}",
            support::unique_name("r"),
            action,
            if linbit { "linbit" } else { "ours" }
        );
        let run = self.dir.path().join("runs").join(tag);
        let node = run.join("node");
        std::fs::create_dir_all(&node).unwrap();
        let mut state = String::from("peer_name=peer-node\n");
        let dev = self.dir.path().join("drbd0");
        let _ = writeln!(state, "device={}", dev.display());
        for (k, v) in &c.state {
            let _ = writeln!(state, "{k}={v}");
        }
        std::fs::write(node.join("state"), state).unwrap();
        for f in &c.flags {
            std::fs::write(node.join(f), "").unwrap();
        }
        std::fs::write(run.join("score"), format!("{SENTINEL}\n")).unwrap();
        let me = bulwark::drbd::agent::local_node_name();
        let peer_role = c
            .peer_locate_role
            .map_or(String::new(), |r| format!(" {r}"));
        std::fs::write(
            run.join("locate"),
            format!(
                "resource mailstore is running on: {me}\nresource mailstore is running on: peer-node{peer_role}\n"
            ),
        )
        .unwrap();
        let agent = if linbit {
            self.dir.path().join("linbit/drbd")
        } else {
            workspace_bin("drbd")
        };
        // Ours gets a short promote timeout (room for one retry): its retries and anti-loop
        // pause end before it. drbd.ocf ignores the timeout; where it retries for good (a
        // peer stays Primary and it was not told to give up early) `timeout` ends it after
        // 3 s as Pacemaker's operation timeout would. Everything else gets ample time: the
        // machine may be loaded.
        let meta_timeout = if action == "promote" { "3000" } else { "10000" };
        let retries_for_good =
            has(c, "peer_role", "Primary") && !has_param(c, "fail_promote_early_if_peer_primary");
        let wall = if linbit && action == "promote" && retries_for_good {
            "3"
        } else {
            "20"
        };
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "2", wall]).arg(&agent).arg(action);
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", self.bin().display()),
            )
            .env("SECONDS", "15")
            .env("HA_SBIN_DIR", self.bin())
            .env("HA_LOGFACILITY", "none")
            .env("HA_use_logd", "no")
            .env("FAKE_CIB_DIR", &run)
            .env("DRBD_SIM_DIR", &node)
            .env(
                "BULWARK_PROC_DRBD",
                self.dir
                    .path()
                    .join(format!("proc-drbd-{}", c.version.name())),
            )
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "mailstore")
            .env("OCF_RESKEY_drbd_resource", "r0")
            .env("OCF_RESKEY_drbdconf", self.dir.path().join("drbd.conf"))
            .env("OCF_RESKEY_crm_feature_set", "3.16.2")
            .env("OCF_RESKEY_CRM_meta_timeout", meta_timeout)
            .env("OCF_RESKEY_CRM_meta_clone_max", "2")
            .env("OCF_RESKEY_CRM_meta_clone_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_master_max", "1")
            .env("OCF_RESKEY_CRM_meta_promoted_max", "1")
            .env("OCF_RESKEY_CRM_meta_master_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_promoted_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_notify", "true");
        if c.version == Version::V84 {
            cmd.env("DRBD_SIM_VERSION", "8.4");
        }
        if action == "monitor" {
            cmd.env("OCF_RESKEY_CRM_meta_interval", "10000");
        }
        if action == "notify" {
            cmd.env("OCF_RESKEY_CRM_meta_notify_type", "post")
                .env("OCF_RESKEY_CRM_meta_notify_operation", "promote");
        }
        for (k, v) in &c.params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in &c.meta {
            // An empty value: Pacemaker does not pass it at all.
            if v.is_empty() {
                cmd.env_remove(format!("OCF_RESKEY_CRM_meta_{k}"));
            } else {
                cmd.env(format!("OCF_RESKEY_CRM_meta_{k}"), v);
            }
        }
        let out = support::run_within(&mut cmd, Duration::from_secs(60));
        let code = match out.status.code() {
            Some(124) | Some(137) | None => None,
            Some(n) => Some(n),
        };
        let score = std::fs::read_to_string(run.join("score"))
            .ok()
            .map(|s| s.trim().to_string());
        let after = std::fs::read_to_string(node.join("state")).unwrap_or_default();
        let key = |k: &str, default: &str| {
            after
                .lines()
                .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                .unwrap_or(default)
                .to_string()
        };
        let mut role = if key("up", "yes") == "no" {
            "down".to_string()
        } else {
            key("role", "Secondary")
        };
        let md_before = c
            .state
            .iter()
            .find(|(k, _)| *k == "md_disk")
            .map_or("UpToDate", |(_, v)| v);
        let md_after = key("md_disk", "UpToDate");
        if md_after != md_before {
            role.push_str(&format!(" md:{md_after}"));
        }
        let _ = std::fs::remove_dir_all(&run);
        Outcome { code, score, role }
    }
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// drbd.ocf with its one `/proc/drbd` test redirected; panics unless exactly that line
/// changes.
fn private_copy(original: &str) -> String {
    assert_eq!(
        original.lines().filter(|l| *l == PROC_LINE).count(),
        1,
        "drbd.ocf no longer has exactly one line {PROC_LINE:?}: the private copy needs review"
    );
    let copy = original.replacen(PROC_LINE, PROC_LINE_NEW, 1);
    let changed = original
        .lines()
        .zip(copy.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 1);
    copy
}

/// An action and both agents' outcomes.
type Pair = (&'static str, Outcome, Outcome);

struct Row {
    index: usize,
    case: Case,
    action: &'static str,
    ours: Outcome,
    linbit: Outcome,
}

#[test]
fn ours_and_linbits_drbd_ocf_agree_or_differ_for_a_documented_reason() {
    let bench = Bench::new();
    let cases = cases();
    assert!(cases.len() >= 50, "{} states", cases.len());
    let jobs: Vec<(usize, &'static str)> = (0..cases.len())
        .flat_map(|i| cases[i].actions.iter().map(move |a| (i, *a)))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<(usize, usize), Pair>> = Mutex::new(BTreeMap::new());
    // Most of a run is waiting (retry pauses, drbd.ocf's sleeps), not CPU.
    let workers = 12;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, action)) = jobs.get(j) else {
                    break;
                };
                let ours = bench.run(&cases[i], action, false);
                let linbit = bench.run(&cases[i], action, true);
                let a = cases[i].actions.iter().position(|x| *x == action).unwrap();
                results
                    .lock()
                    .unwrap()
                    .insert((i, a), (action, ours, linbit));
            });
        }
    });
    let results = results.into_inner().unwrap();
    let mut rows = Vec::new();
    for ((i, _), (action, ours, linbit)) in results {
        rows.push(Row {
            index: i,
            case: cases[i].clone(),
            action,
            ours,
            linbit,
        });
    }
    // The comparison is not vacuous: both outdate on stop where drbd.ocf's feature applies.
    for r in rows.iter().filter(|r| {
        r.action == "stop" && r.case.id.ends_with("Pacemaker lists the peer as promoted")
    }) {
        assert_eq!(r.ours.role, "down md:Outdated", "{}", r.case.id);
        assert_eq!(r.linbit.role, "down md:Outdated", "{}", r.case.id);
    }
    for r in rows
        .iter()
        .filter(|r| r.action == "start" && r.case.id.ends_with("peer up and UpToDate"))
    {
        let up = Outcome {
            code: Some(0),
            score: Some("10000".into()),
            role: "Secondary".into(),
        };
        assert_eq!((&r.ours, &r.linbit), (&up, &up), "{}", r.case.id);
    }
    let monitor_of = |i: usize| -> &Outcome {
        &rows
            .iter()
            .find(|r| r.index == i && r.action == "monitor")
            .expect("every case has a monitor row")
            .ours
    };
    let mut unexplained = Vec::new();
    let mut by_rule: BTreeMap<&'static str, Vec<(&Row, Vec<&'static str>)>> = BTreeMap::new();
    let mut same = 0;
    for r in &rows {
        if r.ours == r.linbit {
            same += 1;
            continue;
        }
        let seen = Seen {
            case: &r.case,
            action: r.action,
            ours: &r.ours,
            ours_monitor: monitor_of(r.index),
        };
        let mut adjusted = r.linbit.clone();
        let mut applied = Vec::new();
        for rule in RULES {
            if adjusted == r.ours {
                break;
            }
            if (rule.explain)(&seen, &mut adjusted) {
                applied.push(rule.id);
            }
        }
        if adjusted != r.ours {
            unexplained.push(format!(
                "{} | {} | ours {} | linbit {}{}",
                r.case.id,
                r.action,
                r.ours.show(),
                r.linbit.show(),
                if applied.is_empty() {
                    String::new()
                } else {
                    format!(" (partly: {})", applied.join(", "))
                }
            ));
            continue;
        }
        for id in &applied {
            by_rule.entry(id).or_default().push((r, applied.clone()));
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} undocumented difference(s) (state | action | exit/score/role):\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    // A rule that no longer matches anything is stale documentation.
    for rule in RULES {
        assert!(
            by_rule.contains_key(rule.id),
            "rule {} matches nothing",
            rule.id
        );
    }
    let doc = render(&cases, rows.len(), same, &by_rule);
    let path = workspace_dir().join(DOC);
    if std::env::var_os("BULWARK_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "{DOC} is stale: rerun with BULWARK_UPDATE_DOCS=1\n--- generated ---\n{doc}"
    );
}

fn render(
    cases: &[Case],
    runs: usize,
    same: usize,
    by_rule: &BTreeMap<&'static str, Vec<(&Row, Vec<&'static str>)>>,
) -> String {
    let v9 = cases.iter().filter(|c| c.version == Version::V9).count();
    let mut d = String::new();
    let _ = writeln!(
        d,
        "# ocf:bulwark:drbd vs LINBIT's drbd.ocf: every difference\n"
    );
    let _ = writeln!(
        d,
        "Generated by `tests/drbd_differential.rs` (do not edit; regenerate with\n`BULWARK_UPDATE_DOCS=1 cargo test --test drbd_differential`). Both agents ran each action\n(recurring monitor, promote, demote, post-notification; monitor and one of start, stop or\nreload for the states that exercise those) on {} simulated DRBD states ({} DRBD 9, {} DRBD 8.4)\nfrom the same state and a promotion score of {SENTINEL}: {} (state, action) pairs, {} with the same\nexit code, score and role, {} different — each for the reason below.\n",
        cases.len(),
        v9,
        cases.len() - v9,
        runs,
        same,
        runs - same
    );
    let _ = writeln!(
        d,
        "Outcomes read `exit code / score afterwards / DRBD role afterwards`; `timeout`: still\nretrying when the operation timed out.\n"
    );
    for rule in RULES {
        let Some(rows) = by_rule.get(rule.id) else {
            continue;
        };
        let _ = writeln!(d, "## {}\n\n{}\n", rule.id, rule.reason);
        let _ = writeln!(
            d,
            "| DRBD state | action | ours | drbd.ocf | also |\n|---|---|---|---|---|"
        );
        for (r, applied) in rows {
            let also: Vec<&str> = applied.iter().copied().filter(|a| *a != rule.id).collect();
            let _ = writeln!(
                d,
                "| {} | {} | {} | {} | {} |",
                r.case.id,
                r.action,
                r.ours.show(),
                r.linbit.show(),
                also.join(", ")
            );
        }
        d.push('\n');
    }
    d
}
