//! `ocf:bulwark:drbd` against the real DRBD kernel module: two qemu VMs (software emulation)
//! booted from Debian's own kernel, which carries DRBD 8.4, replicating a real DRBD device,
//! under corosync + Pacemaker with a promotable clone of our agent.
//!
//! Opt-in: runs only with `BULWARK_VM_TESTS=1` (`.ci/run` sets it), as root, with network
//! access for the one-time image build. The lab is `crm-examples/lab/vm-drbd/`: its
//! `build-image.sh` builds the image once into `/var/cache/bulwark/vm-drbd` (keyed by a hash of
//! its inputs, ≈ 75 s; later runs reuse it), `run2.sh` boots both VMs on a payload disk holding
//! our agent and `scenario.sh`, which runs inside both VMs and reports facts over a dedicated
//! serial port. This test asserts on those facts:
//! - exactly one node promoted, with the DRBD roles to match;
//! - data written through a filesystem on the Primary is read back on the other node after a
//!   controlled switch-over (location constraint: Pacemaker demotes, then promotes elsewhere);
//! - cutting the replication link lowers the disconnected Secondary's promotion score (as set
//!   by the cluster's own monitor) from 10000 to 1000 (UpToDate, peer disk unknown), the
//!   Primary keeps 10000 and stays promoted; the score comes back after the resync;
//! - with `fencing resource-and-stonith` and our handlers, that cut makes the Primary's
//!   fence-peer handler place the constraint (exit 4), the Secondary cannot be promoted while
//!   it stands, and the resync target's handler removes it after the resync;
//! - LINBIT's `ocf:linbit:drbd` and ours, run with the same environment in the same states,
//!   agree on `monitor`'s exit code and the score each would set; their `meta-data` agree on
//!   every parameter and action ours declares;
//! - resource-agents' own ocft suite for LINBIT's agent (`drbd.linbit`, 12 cases; the lab's
//!   copies differ from the shipped file only in host names, addresses, disks and AgentRoot,
//!   which this test checks) runs in the VMs against both agents: ours passes every case
//!   LINBIT's passes, or the case has a reason in `OCFT_DIFFERENCES`; the generated table is
//!   `docs/drbd-ocft-differences.md` (stale: fails; `BULWARK_UPDATE_DOCS=1` rewrites it).
//!
//! The VMs run with a hard time limit, are killed by the PIDs qemu recorded (after checking the
//! command line) on any failure, and leave their work directory behind only when the test
//! failed (console and result logs for the post-mortem).

use bulwark::process::run_captured;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Time limit the VMs get (run2.sh kills them then); the scenario needs ≈ 110 s on an idle
/// 2-core machine, ≈ 400 s on a busy one, and the ocft runs as long again.
const VM_TIMEOUT_S: u64 = 1500;
/// The image build (debootstrap, ≈ 75 s) plus the one-time download of qemu and the kernel.
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lab_dir() -> PathBuf {
    workspace_dir().join("crm-examples/lab/vm-drbd")
}

/// The built agent: `$BULWARK_BIN_DIR/drbd`, else target/debug/drbd, else target/release/drbd.
fn agent_binary() -> PathBuf {
    if let Some(dir) = std::env::var_os("BULWARK_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("drbd");
    }
    let debug = workspace_dir().join("target/debug/drbd");
    let release = workspace_dir().join("target/release/drbd");
    if !debug.is_file() && release.is_file() {
        release
    } else {
        debug
    }
}

/// The VMs' work directory. Dropping it kills any qemu still running from it (by the PID in
/// its pid file, only if that process's command line names this directory: never a recycled
/// PID) and removes the directory unless the test is failing.
struct VmRun {
    dir: PathBuf,
}

impl VmRun {
    fn new() -> VmRun {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let dir = base.join(format!("bulwark-vm-drbd-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the VM work directory");
        VmRun { dir }
    }

    fn kill_leftovers(&self) {
        for vm in ["nodea", "nodeb"] {
            let Ok(text) = std::fs::read_to_string(self.dir.join(format!("{vm}.pid"))) else {
                continue;
            };
            let Ok(pid) = text.trim().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let marker = format!("{}/", self.dir.display());
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

impl Drop for VmRun {
    fn drop(&mut self) {
        self.kill_leftovers();
        if std::thread::panicking() {
            eprintln!("drbd_vm: VM logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Everything the scenario reported: `BULWARK-RESULT <node> <key>=<value>` lines and
/// `BULWARK-BEGIN <node> <name>` … `BULWARK-END <node> <name>` blocks, from both VMs.
#[derive(Default, Debug)]
struct Results {
    facts: BTreeMap<(String, String), String>,
    blocks: BTreeMap<(String, String), String>,
}

impl Results {
    fn parse(text: &str) -> Results {
        let mut r = Results::default();
        let mut block: Option<((String, String), String)> = None;
        for line in text.lines() {
            if line.starts_with("BULWARK-END ") {
                if let Some((k, b)) = block.take() {
                    r.blocks.insert(k, b);
                }
                continue;
            }
            if let Some((_, body)) = block.as_mut() {
                body.push_str(line);
                body.push('\n');
                continue;
            }
            let mut words = line.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("BULWARK-RESULT"), Some(node), Some(rest)) => {
                    if let Some((k, v)) = rest.split_once('=') {
                        r.facts
                            .insert((node.to_string(), k.to_string()), v.trim().to_string());
                    }
                }
                (Some("BULWARK-BEGIN"), Some(node), Some(name)) => {
                    block = Some(((node.to_string(), name.trim().to_string()), String::new()));
                }
                _ => {}
            }
        }
        r
    }

    fn get(&self, node: &str, key: &str) -> Option<&str> {
        self.facts
            .get(&(node.to_string(), key.to_string()))
            .map(String::as_str)
    }

    /// A fact that must be there.
    fn fact(&self, node: &str, key: &str) -> &str {
        self.get(node, key)
            .unwrap_or_else(|| panic!("{node} did not report {key}"))
    }
}

/// One parameter or action of an agent's meta-data.
#[derive(Debug, Default, Clone, PartialEq)]
struct Parameter {
    kind: String,
    default: Option<String>,
}

#[derive(Debug, Default)]
struct MetaData {
    parameters: BTreeMap<String, Parameter>,
    /// (action name, role normalised to Promoted/Unpromoted or "") → (timeout s, interval s)
    actions: BTreeMap<(String, String), (Option<u64>, Option<u64>)>,
}

/// "20", "20s", "90" → seconds.
fn seconds(v: &str) -> Option<u64> {
    v.trim().trim_end_matches('s').parse().ok()
}

fn parse_metadata(xml: &str) -> MetaData {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut md = MetaData::default();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let attr = |name: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name.as_bytes())
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                };
                match e.name().as_ref() {
                    b"parameter" => {
                        let name = attr("name").expect("parameter without a name");
                        md.parameters.insert(name.clone(), Parameter::default());
                        current = Some(name);
                    }
                    b"content" => {
                        if let Some(p) = current.as_ref().and_then(|n| md.parameters.get_mut(n)) {
                            p.kind = attr("type").unwrap_or_default();
                            p.default = attr("default");
                        }
                    }
                    b"action" => {
                        let role = match attr("role").as_deref() {
                            Some("Master") | Some("Promoted") => "Promoted",
                            Some("Slave") | Some("Unpromoted") => "Unpromoted",
                            _ => "",
                        };
                        md.actions.insert(
                            (attr("name").unwrap_or_default(), role.to_string()),
                            (
                                attr("timeout").as_deref().and_then(seconds),
                                attr("interval").as_deref().and_then(seconds),
                            ),
                        );
                    }
                    _ => {}
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == b"parameter" => current = None,
            Ok(_) => {}
            Err(e) => panic!("meta-data is not well-formed XML: {e}"),
        }
    }
    md
}

/// Deliberate meta-data differences from LINBIT's agent, each with its reason.
const METADATA_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "require_drbd_module_version_ge",
        "default",
        "8.4.0: status is read from 8.4 sh-status or DRBD 9 events2 only",
    ),
    (
        "wfc_timeout",
        "type",
        "string: the empty string (do not wait) is a valid value, which an integer type denies",
    ),
    (
        "unfence_extra_args",
        "type",
        "string: the value is a list of handler options; drbd.ocf declares it boolean by mistake",
    ),
];

fn is_known_difference(param: &str, what: &str) -> bool {
    METADATA_DIFFERENCES
        .iter()
        .any(|(p, w, _)| *p == param && *w == what)
}

fn check_metadata(results: &Results) {
    assert_eq!(results.fact("nodea", "metadata.linbit.rc"), "0");
    assert_eq!(results.fact("nodea", "metadata.bulwark.rc"), "0");
    let block = |agent: &str| {
        results
            .blocks
            .get(&("nodea".to_string(), format!("metadata.{agent}")))
            .unwrap_or_else(|| panic!("no meta-data block from {agent}"))
    };
    let linbit = parse_metadata(block("linbit"));
    let ours = parse_metadata(block("bulwark"));
    assert!(
        ours.parameters.contains_key("drbd_resource") && linbit.parameters.len() >= 10,
        "meta-data parsed too little: ours {:?}, LINBIT's {:?}",
        ours.parameters.keys(),
        linbit.parameters.keys()
    );
    for (name, p) in &ours.parameters {
        let theirs = linbit
            .parameters
            .get(name)
            .unwrap_or_else(|| panic!("parameter {name} is not one of LINBIT's"));
        if p.kind != theirs.kind && !is_known_difference(name, "type") {
            panic!(
                "parameter {name}: type {} here, {} in LINBIT's",
                p.kind, theirs.kind
            );
        }
        if p.default != theirs.default && !is_known_difference(name, "default") {
            panic!(
                "parameter {name}: default {:?} here, {:?} in LINBIT's",
                p.default, theirs.default
            );
        }
    }
    let missing: Vec<&String> = linbit
        .parameters
        .keys()
        .filter(|k| !ours.parameters.contains_key(*k))
        .collect();
    println!("drbd_vm: LINBIT parameters not declared by ours: {missing:?}");
    for (key, (timeout, _)) in &ours.actions {
        let (theirs_timeout, _) = linbit
            .actions
            .get(key)
            .unwrap_or_else(|| panic!("action {key:?} is not one of LINBIT's"));
        // meta-data / validate-all timeouts are advisory; the ones Pacemaker plans with match
        if ["start", "stop", "promote", "demote", "notify", "monitor"].contains(&key.0.as_str()) {
            assert_eq!(timeout, theirs_timeout, "timeout of {key:?}");
        }
    }
    for role in ["Promoted", "Unpromoted"] {
        assert!(
            ours.actions
                .contains_key(&("monitor".to_string(), role.to_string())),
            "no monitor for role {role}"
        );
    }
    let our_actions: BTreeSet<&str> = ours.actions.keys().map(|k| k.0.as_str()).collect();
    let their_actions: BTreeSet<&str> = linbit.actions.keys().map(|k| k.0.as_str()).collect();
    let only_theirs: Vec<&&str> = their_actions.difference(&our_actions).collect();
    assert!(
        only_theirs.is_empty(),
        "LINBIT's agent has actions ours lacks: {only_theirs:?}"
    );
}

/// `rc:N score:S` → (N, S).
fn verdict(v: &str) -> (String, String) {
    let mut rc = String::new();
    let mut score = String::new();
    for part in v.split_whitespace() {
        if let Some(x) = part.strip_prefix("rc:") {
            rc = x.to_string();
        } else if let Some(x) = part.strip_prefix("score:") {
            score = x.to_string();
        }
    }
    (rc, score)
}

#[test]
fn promotable_clone_on_real_drbd_in_two_vms() {
    if std::env::var("BULWARK_VM_TESTS").as_deref() != Ok("1") {
        println!(
            "SKIP drbd_vm: the two-VM DRBD test is opt-in; set BULWARK_VM_TESTS=1 (as root) to run it"
        );
        return;
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "BULWARK_VM_TESTS=1 needs root (apt, debootstrap, the image cache)"
    );
    let agent = agent_binary();
    assert!(
        agent.is_file(),
        "{} not found: run `cargo build --workspace --bins` first",
        agent.display()
    );

    // 1. the image (built once, then cached)
    let built = run_captured(
        Command::new(lab_dir().join("build-image.sh")).env("DEBIAN_FRONTEND", "noninteractive"),
        BUILD_TIMEOUT,
    )
    .expect("run build-image.sh");
    assert!(
        built.status.success(),
        "build-image.sh failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let image = PathBuf::from(built.stdout_str().trim());
    assert!(image.join("complete").is_file(), "no image in {image:?}");
    println!(
        "drbd_vm: image {} ({})",
        image.display(),
        std::fs::read_to_string(image.join("complete"))
            .unwrap_or_default()
            .trim()
    );

    // 2. both VMs, our agent in the promotable clone
    let run = VmRun::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let token = format!("bulwark-{}-{nanos}", std::process::id());
    let out = run_captured(
        Command::new(lab_dir().join("run2.sh"))
            .arg(&run.dir)
            .env("VM_IMAGE", &image)
            .env("BULWARK_DRBD", &agent)
            .env("PROVIDER", "bulwark")
            .env("SCENARIO_ENV", format!("TOKEN={token}"))
            .env("VM_TIMEOUT", VM_TIMEOUT_S.to_string()),
        Duration::from_secs(VM_TIMEOUT_S + 60),
    );
    run.kill_leftovers();
    let read = |name: &str| std::fs::read_to_string(run.dir.join(name)).unwrap_or_default();
    let text = read("nodea.results") + &read("nodeb.results");
    let results = Results::parse(&text);
    let wall = read("wall");
    println!("drbd_vm: VMs ran {} s", wall.trim());
    let console_tail = |vm: &str| {
        let c = read(&format!("{vm}.console"));
        let lines: Vec<&str> = c.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    };
    let errors: Vec<String> = results
        .facts
        .iter()
        .filter(|((_, k), _)| k == "error" || k.starts_with("vminit-error"))
        .map(|((n, k), v)| format!("{n} {k}={v}"))
        .collect();
    let finished = ["nodea", "nodeb"].iter().all(|vm| {
        results
            .get(vm, "scenario-exit")
            .is_some_and(|v| v.starts_with("0 "))
    });
    if !errors.is_empty() || !finished || !matches!(&out, Ok(c) if c.status.success()) {
        panic!(
            "the VM scenario failed: {errors:?}; run2.sh: {}\n--- nodea console\n{}\n--- nodeb console\n{}",
            match &out {
                Ok(c) => format!("{:?} {}", c.code(), String::from_utf8_lossy(&c.stderr).trim()),
                Err(e) => e.to_string(),
            },
            console_tail("nodea"),
            console_tail("nodeb")
        );
    }
    for vm in ["nodea", "nodeb"] {
        assert_eq!(results.fact(vm, "provider"), "bulwark");
        assert!(
            results.fact(vm, "module").starts_with("version: 8.4."),
            "not the 8.4 kernel module: {}",
            results.fact(vm, "module")
        );
    }

    // 3. exactly one node promoted; the DRBD roles agree with Pacemaker
    let prim = results.fact("nodea", "promoted").to_string();
    let sec = results.fact("nodea", "unpromoted").to_string();
    assert!(
        ["nodea", "nodeb"].contains(&prim.as_str())
            && ["nodea", "nodeb"].contains(&sec.as_str())
            && prim != sec,
        "not exactly one promoted node: promoted '{prim}', unpromoted '{sec}'"
    );
    assert_eq!(results.fact(&prim, "role.initial"), "Primary");
    assert_eq!(results.fact(&sec, "role.initial"), "Secondary");
    assert_eq!(
        results.fact("nodea", "failures.start"),
        "0",
        "failed actions at start"
    );
    for vm in ["nodea", "nodeb"] {
        assert_eq!(
            results.fact("nodea", &format!("score.initial.{vm}")),
            "10000"
        );
    }

    // 4. written on the Primary, read on the other node after the switch-over
    assert_eq!(results.fact(&prim, "written"), token);
    assert_eq!(results.fact("nodea", "switched.promoted"), sec);
    assert_eq!(results.fact("nodea", "switched.unpromoted"), prim);
    assert_eq!(
        results.fact(&sec, "read"),
        token,
        "data did not survive the switch-over"
    );
    assert_eq!(results.fact(&sec, "role.switched"), "Primary");
    assert_eq!(results.fact(&prim, "role.switched"), "Secondary");

    // 5. the replication link cut on the Secondary (the old Primary, `prim`)
    for vm in [&prim, &sec] {
        assert_eq!(
            results.fact("nodea", &format!("score.connected.{vm}")),
            "10000"
        );
    }
    assert_eq!(
        results.fact("nodea", &format!("score.disconnected.{prim}")),
        "1000",
        "disconnected Secondary: UpToDate, peer disk unknown → 1000"
    );
    assert_eq!(
        results.fact("nodea", &format!("score.disconnected.{sec}")),
        "10000",
        "Primary with UpToDate data → 10000"
    );
    assert_eq!(results.fact("nodea", "disconnected.promoted"), sec);
    // fencing resource-and-stonith with our handlers: the Primary's fence-peer handler
    // answered 4 (the peer's controller answered crmadmin -S: only the replication link is
    // gone) and placed the constraint allowing only the Primary; a constraint asking for the
    // Secondary does not get it promoted; the resync target's after-resync-target handler
    // removed the constraint once both were UpToDate again.
    for vm in [&prim, &sec] {
        assert_eq!(results.fact(vm, "handlers"), "bulwark");
    }
    assert!(
        results.fact(&sec, "fence.helper").ends_with("exit code 4"),
        "fence-peer on the Primary: {}",
        results.fact(&sec, "fence.helper")
    );
    assert_eq!(results.fact("nodea", "fence.allowed"), sec);
    assert_eq!(results.fact("nodea", "fence.promoted-while-fenced"), sec);
    assert_eq!(results.fact("nodea", "fence.removed"), "yes");
    assert!(results
        .fact(&prim, "state.disconnected")
        .contains("ro:Secondary/Unknown ds:UpToDate/DUnknown"));
    for vm in [&prim, &sec] {
        assert_eq!(
            results.fact("nodea", &format!("score.reconnected.{vm}")),
            "10000"
        );
    }
    assert_eq!(results.fact("nodea", "failures.end"), "0", "failed actions");

    // 6. LINBIT's agent and ours in the same states: same monitor exit code, same score
    let expected = [
        ("connected", &sec, "8", "10000"),
        ("connected", &prim, "0", "10000"),
        ("disconnected", &sec, "8", "10000"),
        ("disconnected", &prim, "0", "1000"),
        ("down-probe", &sec, "7", "kept"),
        ("down-probe", &prim, "7", "kept"),
    ];
    for (state, vm, rc, score) in expected {
        let ours = verdict(results.fact(vm, &format!("cmp.{state}.bulwark")));
        let linbit = verdict(results.fact(vm, &format!("cmp.{state}.linbit")));
        assert_eq!(
            ours, linbit,
            "{state} on {vm}: ours (rc, score) {ours:?}, LINBIT's {linbit:?}"
        );
        assert_eq!(ours, (rc.to_string(), score.to_string()), "{state} on {vm}");
    }
    // A recurring monitor of an instance whose DRBD resource is down: both say "not running".
    // LINBIT's agent then sets 9999 (its diskless-client rule applied to an unconfigured
    // 8.4 resource); ours removes the score: no data, no promotion.
    for vm in [&prim, &sec] {
        let ours = verdict(results.fact(vm, "cmp.down.bulwark"));
        let linbit = verdict(results.fact(vm, "cmp.down.linbit"));
        assert_eq!(ours.0, "7", "down on {vm}");
        assert_eq!(linbit.0, "7", "down on {vm} (LINBIT)");
        assert_eq!(
            ours.1, "removed",
            "down on {vm}: a stopped instance keeps no score"
        );
    }
    check_metadata(&results);
    check_ocft(&results);
}

#[test]
fn results_parser_reads_facts_and_blocks() {
    let r = Results::parse(
        "BULWARK-RESULT nodea promoted=nodeb\r\nnoise\nBULWARK-RESULT nodeb cmp.x.linbit=rc:8 score:10000\n\
         BULWARK-BEGIN nodea metadata.linbit\n<a/>\n<b/>\nBULWARK-END nodea metadata.linbit\n\
         BULWARK-RESULT nodea module=version: 8.4.11 (api:1)\n",
    );
    assert_eq!(r.get("nodea", "promoted"), Some("nodeb"));
    assert_eq!(
        verdict(r.fact("nodeb", "cmp.x.linbit")),
        ("8".to_string(), "10000".to_string())
    );
    assert_eq!(r.get("nodea", "module"), Some("version: 8.4.11 (api:1)"));
    assert_eq!(
        r.blocks
            .get(&("nodea".to_string(), "metadata.linbit".to_string()))
            .map(String::as_str),
        Some("<a/>\n<b/>\n")
    );
    let md = parse_metadata(
        r#"<resource-agent><parameters><parameter name="x"><content type="integer" default="5"/></parameter></parameters>
           <actions><action name="monitor" timeout="20s" interval="10" role="Master"/></actions></resource-agent>"#,
    );
    assert_eq!(
        md.parameters.get("x"),
        Some(&Parameter {
            kind: "integer".into(),
            default: Some("5".into())
        })
    );
    assert_eq!(
        md.actions
            .get(&("monitor".to_string(), "Promoted".to_string())),
        Some(&(Some(20), Some(10)))
    );
}

/// resource-agents' ocft suite for LINBIT's agent, as shipped (resource-agents).
const OCFT_SHIPPED: &str = "/usr/share/resource-agents/ocft/configs/drbd.linbit";
/// The generated table of the ocft run (`BULWARK_UPDATE_DOCS=1` rewrites it).
const OCFT_DOC: &str = "docs/drbd-ocft-differences.md";
/// The cases `drbd.linbit` holds.
const OCFT_CASES: usize = 12;

/// Cases LINBIT's agent passes and ours fails, by ocft summary, each with its reason.
const OCFT_DIFFERENCES: &[(&str, &str)] = &[];

/// The lab's copy of an ocft config may differ from the shipped one only in these settings'
/// values: host names, addresses and disks for the VMs, the agent and its root.
const OCFT_FILLED_IN: &[&str] = &[
    "NAME_1=",
    "IP_1=",
    "DISK_1=",
    "NAME_2=",
    "IP_2=",
    "DISK_2=",
    "Agent ",
    "AgentRoot ",
];

/// Lines of `copy` that differ from `shipped`, or why the copy is not a filled-in copy.
fn ocft_config_changes(shipped: &str, copy: &str) -> Result<Vec<String>, String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (shipped.lines().collect(), copy.lines().collect());
    if a.len() != b.len() {
        return Err(format!(
            "{} lines, the shipped config has {}",
            b.len(),
            a.len()
        ));
    }
    let mut changed = Vec::new();
    for (n, (x, y)) in a.iter().zip(&b).enumerate() {
        if x == y {
            continue;
        }
        let setting = OCFT_FILLED_IN
            .iter()
            .find(|s| x.trim_start().starts_with(**s) && y.trim_start().starts_with(**s));
        match setting {
            Some(_) if x.len() - x.trim_start().len() == y.len() - y.trim_start().len() => {
                changed.push(y.trim().to_string())
            }
            _ => return Err(format!("line {}: {x:?} became {y:?}", n + 1)),
        }
    }
    Ok(changed)
}

/// One agent's ocft verdict for one case: passed, or the line ocft printed for the failure.
fn ocft_verdicts(results: &Results, cfg: &str) -> BTreeMap<usize, (String, Result<(), String>)> {
    let log = results
        .blocks
        .get(&("nodea".to_string(), format!("ocft.{cfg}")))
        .map(String::as_str)
        .unwrap_or_default();
    let mut verdicts = BTreeMap::new();
    for ((node, key), value) in &results.facts {
        let Some(n) = key
            .strip_prefix(&format!("ocft.{cfg}.case"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        assert_eq!(node, "nodea", "ocft runs on nodea");
        let (verdict, summary) = value.split_once(' ').unwrap_or((value, ""));
        let outcome = match verdict {
            "pass" => Ok(()),
            "fail" => {
                // "<cfg>: <summary> - FAILED. …" / "- ERROR: …", else the case never ran
                let prefix = format!("{cfg}: {summary} - ");
                let line = log
                    .lines()
                    .skip_while(|l| !l.starts_with(&prefix))
                    .flat_map(|l| l.strip_prefix(&prefix).or(Some(l)))
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("OK."))
                    .unwrap_or("not run");
                Err(line
                    .trim_end_matches("See details below:")
                    .trim()
                    .to_string())
            }
            other => panic!("ocft verdict {other:?} for {cfg} case {n}"),
        };
        verdicts.insert(n, (summary.to_string(), outcome));
    }
    verdicts
}

fn check_ocft(results: &Results) {
    let shipped = std::fs::read_to_string(OCFT_SHIPPED)
        .unwrap_or_else(|e| panic!("{OCFT_SHIPPED}: {e} (resource-agents, tests/install-deps.sh)"));
    // the VMs run the suite their own resource-agents ships: the same file
    let digest = {
        use std::io::Write;
        let mut child = Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(shipped.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)[..64].to_string()
    };
    assert_eq!(
        results.fact("nodea", "ocft.shipped"),
        digest,
        "the VMs' drbd.linbit is not the host's"
    );
    for (cfg, root) in [
        ("drbd.linbit", "/usr/lib/ocf/resource.d/linbit"),
        ("drbd.bulwark", "/usr/lib/ocf/resource.d/bulwark"),
    ] {
        let copy = std::fs::read_to_string(lab_dir().join("ocft").join(cfg)).unwrap();
        let changed = ocft_config_changes(&shipped, &copy).unwrap_or_else(|e| {
            panic!("ocft/{cfg} is not a filled-in copy of {OCFT_SHIPPED}: {e}")
        });
        assert!(
            changed.contains(&format!("AgentRoot {root}"))
                || copy.contains(&format!("AgentRoot {root}\n")),
            "ocft/{cfg} does not run the agent in {root}"
        );
        assert!(changed.iter().any(|c| c == "NAME_1=nodea"), "{changed:?}");
    }

    let linbit = ocft_verdicts(results, "drbd.linbit");
    let ours = ocft_verdicts(results, "drbd.bulwark");
    assert_eq!(linbit.len(), OCFT_CASES, "LINBIT's ocft cases: {linbit:?}");
    assert_eq!(ours.len(), OCFT_CASES, "our ocft cases: {ours:?}");
    let passed = |v: &BTreeMap<usize, (String, Result<(), String>)>| {
        v.values().filter(|(_, r)| r.is_ok()).count()
    };
    println!(
        "drbd_vm: ocft drbd.linbit: ocf:linbit:drbd passed {}/{OCFT_CASES}, ocf:bulwark:drbd {}/{OCFT_CASES} (in {} s)",
        passed(&linbit),
        passed(&ours),
        results.get("nodea", "ocft.seconds").unwrap_or("?")
    );
    let mut unexplained = Vec::new();
    let mut doc = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        doc,
        "# ocft on real DRBD 8.4: ocf:bulwark:drbd against ocf:linbit:drbd\n\n\
         Generated by `tests/drbd_vm.rs` (do not edit; regenerate with\n\
         `BULWARK_VM_TESTS=1 BULWARK_UPDATE_DOCS=1 cargo test --test drbd_vm`). resource-agents' own\n\
         ocft suite for LINBIT's agent (`{OCFT_SHIPPED}`, {OCFT_CASES} cases) ran\n\
         in the two-VM lab (`crm-examples/lab/vm-drbd`, Debian's kernel with DRBD 8.4) against both\n\
         agents, from `crm-examples/lab/vm-drbd/ocft/drbd.linbit` and `drbd.bulwark`: copies of the\n\
         shipped file with only the host names, addresses and disks filled in and, for ours,\n\
         `AgentRoot` changed (the test checks both against the shipped file). A case LINBIT's agent\n\
         passes and ours fails fails the test unless it has a reason below.\n\n\
         ocf:linbit:drbd passed {} of {OCFT_CASES}, ocf:bulwark:drbd {} of {OCFT_CASES}.\n\n\
         | # | case | ocf:linbit:drbd | ocf:bulwark:drbd | reason |\n|---|---|---|---|---|",
        passed(&linbit),
        passed(&ours)
    );
    let cell = |r: &Result<(), String>| match r {
        Ok(()) => "pass".to_string(),
        Err(line) => format!("fail: {}", line.replace('|', "\\|")),
    };
    let mut used = BTreeSet::new();
    for (n, (summary, theirs)) in &linbit {
        let (our_summary, mine) = &ours[n];
        assert_eq!(
            summary, our_summary,
            "case {n} differs between the two configs"
        );
        let reason = OCFT_DIFFERENCES
            .iter()
            .find(|(s, _)| s == summary)
            .map(|(s, r)| {
                used.insert(*s);
                *r
            });
        if theirs.is_ok() && mine.is_err() && reason.is_none() {
            unexplained.push(format!("case {n} {summary:?}: ours {}", cell(mine)));
        }
        let _ = writeln!(
            doc,
            "| {n} | {summary} | {} | {} | {} |",
            cell(theirs),
            cell(mine),
            if theirs.is_ok() == mine.is_ok() {
                ""
            } else {
                reason.unwrap_or("")
            }
        );
    }
    let stale: Vec<&&str> = OCFT_DIFFERENCES
        .iter()
        .map(|(s, _)| s)
        .filter(|s| {
            !used.contains(**s)
                || linbit
                    .iter()
                    .any(|(n, (sum, t))| sum == **s && t.is_ok() == ours[n].1.is_ok())
        })
        .collect();
    let path = workspace_dir().join(OCFT_DOC);
    if std::env::var_os("BULWARK_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    assert!(
        unexplained.is_empty(),
        "ocft cases LINBIT's agent passes and ours fails, with no reason: {unexplained:#?}"
    );
    assert!(
        stale.is_empty(),
        "reasons for ocft cases that no longer differ: {stale:?}"
    );
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "{OCFT_DOC} is stale: rerun with BULWARK_UPDATE_DOCS=1\n--- generated ---\n{doc}"
    );
}

#[test]
fn ocft_configs_are_the_shipped_one_filled_in() {
    let shipped = "CONFIG\n\tAgent drbd\n\tAgentRoot /usr/lib/ocf/resource.d/linbit\nVARIABLE\n\tNAME_1=HOSTNAME1\n\tPORT_1=5735\n";
    let ok = "CONFIG\n\tAgent drbd\n\tAgentRoot /usr/lib/ocf/resource.d/bulwark\nVARIABLE\n\tNAME_1=nodea\n\tPORT_1=5735\n";
    assert_eq!(
        ocft_config_changes(shipped, ok),
        Ok(vec![
            "AgentRoot /usr/lib/ocf/resource.d/bulwark".to_string(),
            "NAME_1=nodea".to_string()
        ])
    );
    for bad in [
        ok.replace("PORT_1=5735", "PORT_1=7000"),
        ok.replace("NAME_1=nodea", "NAME_2=nodea"),
        ok.replace("\tNAME_1", "NAME_1"),
        format!("{ok}\tAgentRun stop\n"),
    ] {
        assert!(ocft_config_changes(shipped, &bad).is_err(), "{bad}");
    }
    let r = Results::parse(
        "BULWARK-RESULT nodea ocft.drbd.x.case0=pass check base env\n\
         BULWARK-RESULT nodea ocft.drbd.x.case1=fail normal start\n\
         BULWARK-RESULT nodea ocft.drbd.x.case2=fail double stop\n\
         BULWARK-BEGIN nodea ocft.drbd.x\ndrbd.x: check base env - OK.\n\
         drbd.x: normal start - ERROR: './drbd start' failed, the return code is 6.\n\
         BULWARK-END nodea ocft.drbd.x\n",
    );
    let v = ocft_verdicts(&r, "drbd.x");
    assert_eq!(v[&0], ("check base env".to_string(), Ok(())));
    assert_eq!(
        v[&1].1,
        Err("ERROR: './drbd start' failed, the return code is 6.".to_string())
    );
    assert_eq!(v[&2].1, Err("not run".to_string()));
}
