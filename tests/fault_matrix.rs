//! The fault matrix (issue 15): one table of injected faults, each run against the real
//! component where one can run here (OpenIPMI's ipmi_sim, net-snmp's snmpd, the kernel's
//! network stack in throwaway namespaces, Pacemaker's own `crm_attribute`) and otherwise
//! against the project's double that independent clients already accept (the Axigen stand-in,
//! the DRBD simulator, the scripted RMCP+ BMC). Every row runs the built agent binary, the way
//! Pacemaker does (options on stdin or in `OCF_RESKEY_*`, a process group of its own), and
//! compares the verdict (exit code and a short class read from its output) with the one
//! expected.
//!
//! Per row: the observed verdict must equal the expected one, the fault must demonstrably have
//! happened (otherwise the row proves nothing), the run must end before the deadline the agent
//! promises (`agent_timeout` for fence agents, the operation timeout for OCF agents), a fence
//! success must match the power or outlet state read independently (the simulator's chassis,
//! net-snmp's `snmpget`), and a DRBD node without access to UpToDate data must end with no
//! positive promotion score and not Primary.
//!
//! The rows run in parallel, each in its own simulator, ports and namespaces. The test writes
//! `docs/fault-matrix.md` (every run: CI regenerates it) and then fails on any mismatch. A
//! missing tool or binary makes the affected rows fail, never skip.

mod support;

use support::{bmc, fake_bmc, pdu, udp_proxy};

use bmc::Bmc;
use pdu::{PduSim, SimConfig, SimUser};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::axigen::Install;
use support::group::{Finished, GroupRun};
use support::sim_node::AgentSim;
use support::{unique_secret, wait_for, workspace_bin, LabDir, Netns};
use udp_proxy::UdpProxy;

/// Where the generated page goes, relative to the workspace.
const DOC: &str = "docs/fault-matrix.md";

/// Rows running at once. Most of a row's time is spent waiting on a timeout or a relay, so
/// this is more than the CI machine's two cores without starving the timing-bound rows.
const WORKERS: usize = 8;

/// A hard bound on one agent run, far beyond every deadline here: a run that reaches it is
/// killed and reported past its deadline, never left behind.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// `agent_timeout` given to the fence agents (their whole-run deadline) unless a row says
/// otherwise.
const FENCE_TIMEOUT: u64 = 20;

/// The operation timeout (ms) given to the OCF agents unless a row says otherwise.
const OCF_TIMEOUT_MS: u64 = 20_000;

// ------------------------------------------------------------------------------------------
// The table
// ------------------------------------------------------------------------------------------

/// One injected fault.
struct Fault {
    /// What goes wrong.
    fault: &'static str,
    /// Where it is injected (the component the agent talks to).
    component: &'static str,
    /// The agent and action run.
    agent: &'static str,
    /// Exit code and class expected.
    expect: (i32, &'static str),
    run: fn() -> Observed,
}

const IPMI_SIM: &str = "ipmi_sim (OpenIPMI) behind a UDP fault proxy";
const SNMPD: &str = "snmpd (net-snmp), PDU model apc-rpdu2";
const NETNS: &str = "Linux network namespaces, veth";
const STANDIN: &str = "Axigen stand-in (double)";
const DRBD_SIM: &str = "DRBD simulator (double), crm_attribute recorder";

#[rustfmt::skip]
fn faults() -> Vec<Fault> {
    let f = |fault, component, agent, expect: (i32, &'static str), run: fn() -> Observed| Fault {
        fault,
        component,
        agent,
        expect,
        run,
    };
    vec![
        // --- BMC (fence_bulwark_ipmi) ---------------------------------------------------
        f("BMC drops the first 3 requests", IPMI_SIM, "fence_bulwark_ipmi off", (0, "powered off"), ipmi_drop_requests),
        f("BMC reply to Chassis Control lost", IPMI_SIM, "fence_bulwark_ipmi reboot", (0, "rebooted"), ipmi_drop_control_reply),
        f("BMC answers 300 ms late each way", IPMI_SIM, "fence_bulwark_ipmi off", (0, "powered off"), ipmi_delay),
        f("BMC slower than login_timeout (2.5 s each way)", IPMI_SIM, "fence_bulwark_ipmi off", (1, "no answer"), ipmi_delay_past_login),
        f("BMC silent (every datagram dropped)", IPMI_SIM, "fence_bulwark_ipmi off", (1, "no answer"), ipmi_silent),
        f("BMC goes silent right after accepting power-off", IPMI_SIM, "fence_bulwark_ipmi off", (1, "no answer"), ipmi_silent_after_off),
        f("wrong BMC password", IPMI_SIM, "fence_bulwark_ipmi off", (1, "authentication failed"), ipmi_wrong_password),
        f("unknown BMC user name", IPMI_SIM, "fence_bulwark_ipmi off", (1, "authentication failed"), ipmi_unknown_user),
        f("stale status: chassis ignores power-off, keeps reading ON", IPMI_SIM, "fence_bulwark_ipmi off", (1, "timed out, still ON"), ipmi_stuck),
        f("stale status: reads ON for 2 s after power-off", IPMI_SIM, "fence_bulwark_ipmi off", (0, "powered off"), ipmi_lagging_status),
        f("0xD5 on power-up right after power-down (3 times)", "scripted RMCP+ BMC (double, ipmitool-checked)", "fence_bulwark_ipmi reboot", (0, "rebooted"), ipmi_d5_three),
        f("0xD5 on every power-up", "scripted RMCP+ BMC (double, ipmitool-checked)", "fence_bulwark_ipmi reboot", (0, "off; on failed"), ipmi_d5_always),
        f("ICMP port unreachable (nothing on the BMC port)", "Linux UDP, loopback", "fence_bulwark_ipmi off", (1, "no answer, port unreachable"), ipmi_port_unreachable),
        f("ICMP host unreachable from the router", NETNS, "fence_bulwark_ipmi status", (1, "no answer"), ipmi_host_unreachable),
        f("SIGKILL mid-reboot (after the off), then re-run", IPMI_SIM, "fence_bulwark_ipmi reboot", (0, "rebooted"), ipmi_killed_mid_reboot),
        // --- PDU (fence_bulwark_pdu) ----------------------------------------------------
        f("SNMP requests lost (first 2)", SNMPD, "fence_bulwark_pdu off", (0, "powered off"), pdu_drop_requests),
        f("SNMP timeout: PDU silent", SNMPD, "fence_bulwark_pdu off", (1, "no response"), pdu_silent),
        f("SNMP answers after the client gave up", SNMPD, "fence_bulwark_pdu off", (1, "no response"), pdu_late_answers),
        f("noSuchInstance: outlet 9 of 8", SNMPD, "fence_bulwark_pdu off", (1, "no such outlet"), pdu_no_such_instance),
        f("wrong community (SNMPv2c)", SNMPD, "fence_bulwark_pdu off", (1, "no response"), pdu_wrong_community),
        f("read-only community", SNMPD, "fence_bulwark_pdu off", (1, "SET refused"), pdu_read_only_community),
        f("wrong SNMPv3 auth passphrase", "snmpd (net-snmp), PDU model eaton-g3, USM", "fence_bulwark_pdu off", (1, "authentication failure"), pdu_v3_wrong_auth),
        f("command pending: relay switches 1.5 s after the SET", SNMPD, "fence_bulwark_pdu off", (0, "powered off"), pdu_pending_command),
        f("pending power-on of an earlier reboot (outlet reads OFF)", SNMPD, "fence_bulwark_pdu off", (0, "powered off"), pdu_pending_reboot_on),
        f("slow relay (2 s), within power_timeout", "snmpd (net-snmp), PDU model eaton-g3", "fence_bulwark_pdu off", (0, "powered off"), pdu_slow_relay),
        f("slow relay (8 s), beyond power_timeout", SNMPD, "fence_bulwark_pdu off", (1, "timed out"), pdu_relay_past_timeout),
        f("relay ignores commands", SNMPD, "fence_bulwark_pdu off", (1, "timed out, still ON"), pdu_relay_stuck),
        f("ICMP port unreachable (no SNMP agent)", "Linux UDP, loopback", "fence_bulwark_pdu status", (1, "no response"), pdu_port_unreachable),
        f("SIGKILL mid-reboot (outlet off), then re-run", SNMPD, "fence_bulwark_pdu reboot", (0, "rebooted"), pdu_killed_mid_reboot),
        // --- Axigen (ocf:bulwark:axigen) ------------------------------------------------
        f("Axigen crashes (supervisor aborts)", STANDIN, "axigen monitor", (7, "not running"), axigen_crash),
        f("hung listener (IMAP, not critical)", STANDIN, "axigen monitor depth 10", (190, "listener hung"), axigen_hung_imap),
        f("hung listener (SMTP, critical)", STANDIN, "axigen monitor depth 10", (1, "listener hung"), axigen_hung_smtp),
        f("SIGTERM ignored", STANDIN, "axigen stop", (0, ""), axigen_ignores_sigterm),
        f("CLI refusing login", STANDIN, "axigen monitor depth 20", (1, "CLI login refused"), axigen_cli_refuses_login),
        f("orphaned child keeps the listening sockets", STANDIN, "axigen stop", (0, ""), axigen_orphan),
        f("SIGKILL mid-start, then re-run", STANDIN, "axigen start", (0, ""), axigen_killed_mid_start),
        f("SIGKILL mid-stop (SIGTERM ignored), then re-run", STANDIN, "axigen stop", (0, ""), axigen_killed_mid_stop),
        f("HA_LOGFILE on a full disk", "tmpfs filled to the last block; Axigen stand-in", "axigen start", (0, ""), axigen_full_logfile),
        // --- DRBD (ocf:bulwark:drbd) ----------------------------------------------------
        f("local disk Outdated, peer lost", DRBD_SIM, "drbd monitor", (0, "score none"), drbd_outdated_monitor),
        f("local disk Outdated, peer lost", DRBD_SIM, "drbd promote", (1, "no UpToDate data; score none"), drbd_outdated_promote),
        f("local disk Inconsistent, resync from an UpToDate peer", DRBD_SIM, "drbd monitor", (0, "score 10"), drbd_inconsistent_syncing),
        f("local disk Inconsistent, peer lost", DRBD_SIM, "drbd promote", (1, "no UpToDate data; score none"), drbd_inconsistent_alone_promote),
        f("local disk Consistent, peer lost", DRBD_SIM, "drbd monitor", (0, "score none"), drbd_consistent_alone),
        f("backing disk fails to attach (Diskless)", DRBD_SIM, "drbd start", (1, "attach failed; score none"), drbd_attach_fails),
        f("split brain: StandAlone, local UpToDate", DRBD_SIM, "drbd monitor", (0, "score 1000"), drbd_split_brain),
        f("hung drbdsetup", DRBD_SIM, "drbd monitor", (1, "timed out; score 10000"), drbd_hung_monitor),
        f("hung drbdsetup", DRBD_SIM, "drbd promote", (1, "timed out; score 10000"), drbd_hung_promote),
        f("crm_attribute failing (no CIB)", "Pacemaker crm_attribute, no CIB; DRBD simulator", "drbd monitor", (0, "score not stored: crm_attribute failed"), drbd_crm_attribute_fails),
        f("crm_attribute failing (no CIB), local disk Outdated", "Pacemaker crm_attribute, no CIB; DRBD simulator", "drbd promote", (1, "no UpToDate data; score not stored: crm_attribute failed"), drbd_crm_attribute_fails_outdated),
        f("crm_attribute hung (CIB accepts, never answers)", "Pacemaker crm_attribute, silent CIB socket; DRBD simulator", "drbd monitor", (0, "score not stored: crm_attribute timed out"), drbd_crm_attribute_hangs),
        f("SIGKILL mid-promote (drbdsetup hung), then re-run", DRBD_SIM, "drbd promote", (0, "score 10000"), drbd_killed_mid_promote),
        f("HA_LOGFILE on a full disk", "tmpfs filled to the last block; DRBD simulator", "drbd promote", (0, "score 10000"), drbd_full_logfile),
        // --- VIP (ocf:bulwark:vip) ------------------------------------------------------
        f("NIC loses carrier", NETNS, "vip monitor", (1, "no carrier"), vip_carrier_lost),
        f("NIC without carrier at start", NETNS, "vip start", (5, "no carrier"), vip_start_no_carrier),
        f("NIC missing", NETNS, "vip start", (5, "no such interface"), vip_nic_missing),
        f("IPv6 DAD failure: another host holds the address", NETNS, "vip start", (1, "DAD failed"), vip_dad_failure),
        f("IPv4 address taken by another host", NETNS, "vip start", (0, ""), vip_ipv4_taken),
        f("SIGKILL mid-start (during IPv6 DAD), then re-run", NETNS, "vip start", (0, ""), vip_killed_mid_start),
        f("HA_LOGFILE on a full disk", "tmpfs filled to the last block; Linux network namespace", "vip start", (0, ""), vip_full_logfile),
    ]
}

// ------------------------------------------------------------------------------------------
// Verdicts
// ------------------------------------------------------------------------------------------

/// What a row saw.
struct Observed {
    /// Exit code (None: killed by a signal) and class.
    code: Option<i32>,
    class: String,
    /// The agent run the verdict comes from (the re-run, for the kill-and-re-run rows).
    elapsed: Duration,
    /// The deadline the agent promises for that run.
    deadline: Duration,
    /// Every agent run of the row ended before its deadline.
    all_in_time: bool,
    /// A fence success the device does not back up.
    false_fence_success: Option<String>,
    /// A promotion score > 0 or a Primary role without access to UpToDate data.
    unsafe_promotion: Option<String>,
    /// What the row checked beside the verdict (shown on the page).
    checks: Vec<String>,
    /// Failed checks: the fault did not happen, state was left half-changed, a cross-check
    /// disagrees. Each makes the row a mismatch whatever the verdict.
    problems: Vec<String>,
    /// The agent's output, for the failure message.
    output: String,
}

impl Observed {
    fn new(f: &Finished, class: String, deadline: Duration) -> Observed {
        Observed {
            code: f.code,
            class,
            elapsed: f.elapsed,
            deadline,
            all_in_time: f.elapsed < deadline && !f.killed,
            false_fence_success: None,
            unsafe_promotion: None,
            checks: Vec::new(),
            problems: Vec::new(),
            output: format!("stdout: {}\nstderr: {}", f.stdout.trim(), f.stderr.trim()),
        }
    }

    /// Records that `what`, a fact the row rests on (the fault happened, nothing was left
    /// half-changed, an independent reading agrees), was checked; false makes it a problem.
    fn check(&mut self, ok: bool, what: &str) {
        self.checks.push(what.to_string());
        if !ok {
            self.problems.push(format!("failed: {what}"));
        }
    }

    /// [`Observed::check`] with `detail` shown when it fails.
    fn check_or(&mut self, ok: bool, what: &str, detail: String) {
        self.checks.push(what.to_string());
        if !ok {
            self.problems.push(format!("failed: {what} ({detail})"));
        }
    }

    /// Folds in an earlier run of the same row (the one that was killed): its time counts
    /// against its own deadline.
    fn earlier_run(&mut self, f: &Finished, deadline: Duration) {
        if f.elapsed >= deadline {
            self.all_in_time = false;
        }
    }
}

fn verdict_text(code: Option<i32>, class: &str) -> String {
    let code = code.map_or("killed".to_string(), |c| format!("exit {c}"));
    if class.is_empty() {
        code
    } else {
        format!("{code}: {class}")
    }
}

/// The class of an agent's message: the same words always give the same class, whichever
/// agent printed them; text no rule knows is quoted as it is.
fn classify(text: &str) -> String {
    const RULES: &[(&str, &str)] = &[
        // Fence agents' success lines.
        (
            "Success: Rebooted (powered OFF; power ON failed",
            "off; on failed",
        ),
        ("Success: Rebooted", "rebooted"),
        ("Success: Powered OFF", "powered off"),
        ("Success: Already OFF", "already off"),
        ("Success: Powered ON", "powered on"),
        ("Status: ON", "reads ON"),
        ("Status: OFF", "reads OFF"),
        // Fence agents' failures.
        ("port unreachable", "no answer, port unreachable"),
        ("no answer from", "no answer"),
        ("no response", "no response"),
        ("authentication fail", "authentication failure"),
        (
            "does not exist in this network namespace",
            "no such interface",
        ),
        ("does not exist", "no such outlet"),
        ("notWritable", "SET refused"),
        ("noAccess", "SET refused"),
        ("authorizationError", "SET refused"),
        ("readOnly", "SET refused"),
        // OCF agents' exit reasons.
        ("no carrier", "no carrier"),
        ("duplicate address detection", "DAD failed"),
        ("no greeting", "listener hung"),
        ("login refused", "CLI login refused"),
        ("without access to UpToDate data", "no UpToDate data"),
        ("Can not open backing device", "attach failed"),
        ("not running", "not running"),
        ("timed out", "timed out"),
    ];
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    // A timeout's verdict is the timeout; what follows it (the last reading, the error of a
    // poll cut short) is its detail.
    if text.starts_with("timed out") {
        return if text.contains("still reads ON") {
            "timed out, still ON".into()
        } else {
            "timed out".into()
        };
    }
    for (needle, class) in RULES {
        if text.contains(needle) {
            // "authentication failed" and "authentication failure" are one class per agent.
            if *class == "authentication failure" && text.contains("authentication failed") {
                return "authentication failed".into();
            }
            return class.to_string();
        }
    }
    let first = text.lines().next().unwrap_or("");
    format!("other: {}", first.chars().take(90).collect::<String>())
}

/// The text a fence agent's verdict is read from: its answer line on success or status, its
/// one error line otherwise.
fn fence_class(f: &Finished) -> String {
    match f.code {
        Some(0) | Some(2) => classify(f.stdout.lines().next().unwrap_or("")),
        _ => classify(f.stderr.lines().next().unwrap_or("")),
    }
}

/// The last `ocf-exit-reason:` an OCF agent printed ("" when none).
fn exit_reason(f: &Finished) -> String {
    f.stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
        .unwrap_or("")
        .to_string()
}

fn power_word(on: Option<bool>) -> &'static str {
    match on {
        Some(true) => "ON",
        Some(false) => "OFF",
        None => "unreadable",
    }
}

/// Whether a fence run claimed something the device does not show. `power_on` is the state
/// read independently after the run; `off_happened` says the device really switched off during
/// it (a reboot's success rests on that). Exit 1 claims nothing.
fn false_fence_success(
    action: &str,
    f: &Finished,
    power_on: Option<bool>,
    off_happened: bool,
) -> Option<String> {
    let wrong = match (action, f.code) {
        ("off", Some(0)) => power_on != Some(false),
        ("reboot", Some(0)) if f.stdout.contains("power ON failed") => power_on != Some(false),
        ("reboot", Some(0)) => !off_happened || power_on != Some(true),
        ("on", Some(0)) | ("status", Some(0)) => power_on != Some(true),
        ("status", Some(2)) => power_on != Some(false),
        _ => false,
    };
    wrong.then(|| {
        format!(
            "{action} answered {:?} {:?} but the device reads {}{}",
            f.code,
            f.stdout.trim(),
            power_word(power_on),
            if off_happened {
                ""
            } else {
                " and never went off"
            }
        )
    })
}

// ------------------------------------------------------------------------------------------
// Running agents
// ------------------------------------------------------------------------------------------

/// A command running `program`, inside network namespace `netns` when given.
fn command_in(netns: Option<&str>, program: &Path) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A fence agent with `input` on stdin, as pacemaker-fenced runs it.
fn fence_command(bin: &str, netns: Option<&str>) -> Command {
    let mut c = command_in(netns, &workspace_bin(bin));
    c.env_remove("PCMK_service");
    c
}

fn run_fence(bin: &str, input: &str, netns: Option<&str>) -> Finished {
    GroupRun::spawn(&mut fence_command(bin, netns), Some(input.as_bytes())).wait(RUN_LIMIT)
}

fn seconds(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Polls `cond` every 10 ms up to `within`; true as soon as it holds.
fn poll(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ------------------------------------------------------------------------------------------
// BMC rows
// ------------------------------------------------------------------------------------------

/// ipmi_sim behind the fault proxy, with a password of its own.
struct IpmiRig {
    bmc: Bmc,
    proxy: UdpProxy,
    password: String,
}

impl IpmiRig {
    fn new() -> IpmiRig {
        let password = unique_secret("Fm");
        let bmc = Bmc::start_with_password(&password);
        let proxy = UdpProxy::start(([127, 0, 0, 1], bmc.port).into());
        IpmiRig {
            bmc,
            proxy,
            password,
        }
    }

    fn input(&self, action: &str, extra: &str) -> String {
        ipmi_input(action, self.proxy.port, bmc::ADMIN, &self.password, extra)
    }

    fn run(&self, action: &str, extra: &str) -> Finished {
        run_fence("fence_bulwark_ipmi", &self.input(action, extra), None)
    }

    /// Applies `fault` to the proxy as soon as the chassis has switched off, before ipmi_sim
    /// answers that Chassis Control (the chassis' off-hook holds the answer back 0.5 s, time
    /// enough for the watcher to see the hook's log line). The thread says whether it saw it.
    fn when_off(
        self: &Arc<Self>,
        fault: impl FnOnce(&UdpProxy) + Send + 'static,
    ) -> std::thread::JoinHandle<bool> {
        self.bmc.set_power_hook("off", Some("sleep 0.5\n"));
        let rig = self.clone();
        std::thread::spawn(move || {
            let seen = poll(seconds(30), || {
                rig.bmc.calls().iter().any(|c| c == "0x20 set power 0")
            });
            if seen {
                fault(&rig.proxy);
            }
            seen
        })
    }

    /// The chassis really went off during the run (the hook applied a power-off).
    fn off_happened(&self) -> bool {
        let calls = self.bmc.calls();
        calls.iter().any(|c| c == "0x20 set power 0")
            && !calls.iter().any(|c| c == "STUCK ignoring power 0")
    }

    /// The verdict of one run, judged against the chassis.
    fn observe(&self, action: &str, f: &Finished) -> Observed {
        let mut o = Observed::new(f, fence_class(f), seconds(FENCE_TIMEOUT));
        let on = self.bmc.power_on();
        o.false_fence_success = false_fence_success(action, f, on, self.off_happened());
        o.checks.push(format!("after: chassis {}", power_word(on)));
        o
    }
}

fn ipmi_input(action: &str, port: u16, user: &str, password: &str, extra: &str) -> String {
    format!(
        "action={action}\nip=127.0.0.1\nipport={port}\nusername={user}\npassword={password}\n\
         lanplus=1\ncipher=3\nagent_timeout={FENCE_TIMEOUT}\n{extra}"
    )
}

fn ipmi_drop_requests() -> Observed {
    let rig = IpmiRig::new();
    rig.proxy.faults(|f| f.drop_requests = 3);
    let f = rig.run("off", "login_timeout=10\n");
    let mut o = rig.observe("off", &f);
    o.check(rig.proxy.counts().dropped >= 3, "3 requests dropped");
    o
}

fn ipmi_drop_control_reply() -> Observed {
    let rig = Arc::new(IpmiRig::new());
    let armed = rig.when_off(|proxy| proxy.faults(|f| f.drop_replies = 1));
    let f = rig.run("reboot", "login_timeout=10\n");
    let armed = armed.join().unwrap_or(false);
    let mut o = rig.observe("reboot", &f);
    o.check(armed, "the chassis switched off first");
    o.check(rig.proxy.counts().dropped == 1, "one reply dropped");
    let calls = rig.bmc.calls();
    let off = calls.iter().position(|c| c == "0x20 set power 0");
    let on = calls.iter().rposition(|c| c == "0x20 set power 1");
    o.check_or(
        matches!((off, on), (Some(a), Some(b)) if a < b),
        "off before on",
        format!("{calls:?}"),
    );
    o
}

fn ipmi_delay() -> Observed {
    let rig = IpmiRig::new();
    rig.proxy.faults(|f| f.delay = Duration::from_millis(300));
    let f = rig.run("off", "login_timeout=15\n");
    let mut o = rig.observe("off", &f);
    // Held 300 ms each way, every exchange took at least 0.6 s: a login and a switch are
    // more than a dozen exchanges.
    o.check(f.elapsed >= Duration::from_secs(3), "run took 3 s or more");
    o
}

fn ipmi_delay_past_login() -> Observed {
    let rig = IpmiRig::new();
    rig.proxy.faults(|f| f.delay = Duration::from_millis(2500));
    let f = rig.run("off", "login_timeout=2\n");
    let mut o = rig.observe("off", &f);
    o.check(rig.bmc.power_on() == Some(true), "nothing switched");
    o.check(
        rig.proxy.counts().requests > 0,
        "requests reached the proxy",
    );
    o
}

fn ipmi_silent() -> Observed {
    let rig = IpmiRig::new();
    rig.proxy.faults(|f| f.blackhole = true);
    let f = rig.run("off", "login_timeout=2\n");
    let mut o = rig.observe("off", &f);
    o.check(rig.proxy.counts().dropped >= 2, "datagrams dropped");
    o.check(rig.bmc.power_on() == Some(true), "nothing switched");
    o
}

fn ipmi_silent_after_off() -> Observed {
    let rig = Arc::new(IpmiRig::new());
    let armed = rig.when_off(|proxy| proxy.faults(|f| f.blackhole = true));
    let f = rig.run("off", "login_timeout=3\npower_timeout=5\n");
    let armed = armed.join().unwrap_or(false);
    let mut o = rig.observe("off", &f);
    o.check(armed, "the chassis switched off first");
    o.check(
        rig.proxy.counts().dropped > 0,
        "datagrams dropped after the off",
    );
    // Each request after the login has login_timeout, not what is left of agent_timeout.
    let waited = f
        .stderr
        .split(" within ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    o.check_or(
        waited.is_some_and(|w| w <= 3.5),
        "gave up after login_timeout (3 s)",
        f.stderr.trim().to_string(),
    );
    o
}

fn ipmi_wrong_password() -> Observed {
    let rig = IpmiRig::new();
    let wrong = unique_secret("Fw");
    let input = ipmi_input("off", rig.proxy.port, bmc::ADMIN, &wrong, "");
    let f = run_fence("fence_bulwark_ipmi", &input, None);
    let mut o = rig.observe("off", &f);
    o.check(rig.bmc.power_on() == Some(true), "nothing switched");
    o.check(!f.stderr.contains(&wrong), "password not printed");
    o
}

fn ipmi_unknown_user() -> Observed {
    let rig = IpmiRig::new();
    let input = ipmi_input(
        "off",
        rig.proxy.port,
        "nosuchuser",
        &rig.password,
        "login_timeout=3\n",
    );
    let f = run_fence("fence_bulwark_ipmi", &input, None);
    let mut o = rig.observe("off", &f);
    o.check(rig.bmc.power_on() == Some(true), "nothing switched");
    o
}

fn ipmi_stuck() -> Observed {
    let rig = IpmiRig::new();
    rig.bmc.set_stuck(true);
    let f = rig.run("off", "power_timeout=2\n");
    let mut o = rig.observe("off", &f);
    o.check(
        rig.bmc
            .calls()
            .iter()
            .any(|c| c == "STUCK ignoring power 0"),
        "the stuck chassis ignored the off",
    );
    o
}

fn ipmi_lagging_status() -> Observed {
    let rig = IpmiRig::new();
    rig.bmc.set_status_lag(Some(seconds(2)));
    let f = rig.run("off", "power_timeout=10\n");
    let mut o = rig.observe("off", &f);
    o.check(
        rig.bmc
            .calls()
            .iter()
            .any(|c| c.starts_with("STALE power:1")),
        "stale ON readings served",
    );
    o
}

/// The scripted BMC is trusted because clients we did not write accept it
/// (tests/ipmi_suite17.rs); here ipmitool reads its power state before and after the run.
fn fake_bmc_power_by_ipmitool(bmc: &fake_bmc::FakeBmc, password: &str) -> Option<bool> {
    let out = support::run_within(
        Command::new("ipmitool")
            .args(["-I", "lanplus", "-C", "3", "-H", "127.0.0.1"])
            .args(["-p", &bmc.port.to_string(), "-U", "admin", "-E"])
            .args(["-L", "ADMINISTRATOR", "-N", "1", "-R", "3"])
            .args(["chassis", "power", "status"])
            .env("IPMI_PASSWORD", password)
            .stdin(std::process::Stdio::null()),
        seconds(30),
    );
    match String::from_utf8_lossy(&out.stdout).trim() {
        "Chassis Power is on" => Some(true),
        "Chassis Power is off" => Some(false),
        _ => None,
    }
}

fn ipmi_d5(refusals: u32, agent_timeout: u64) -> Observed {
    let password = unique_secret("Fd");
    let bmc = fake_bmc::start(Some("admin"), &password, None, fake_bmc::On17::Accept);
    let before = fake_bmc_power_by_ipmitool(&bmc, &password);
    bmc.state.lock().unwrap().refuse_on = refusals;
    let input = format!(
        "action=reboot\nip=127.0.0.1\nipport={}\nusername=admin\npassword={password}\n\
         agent_timeout={agent_timeout}\n",
        bmc.port
    );
    let f = run_fence("fence_bulwark_ipmi", &input, None);
    let after = fake_bmc_power_by_ipmitool(&bmc, &password);
    let log = bmc.log();
    let mut o = Observed::new(&f, fence_class(&f), seconds(agent_timeout));
    let off_happened = log.iter().any(|l| l == "cmd 00/02 [00]");
    o.false_fence_success = false_fence_success("reboot", &f, after, off_happened);
    o.checks
        .push(format!("after: chassis {} (ipmitool)", power_word(after)));
    o.check(before == Some(true), "ipmitool reads the BMC");
    o.check(
        after == Some(bmc.power_on()),
        "ipmitool agrees with the BMC",
    );
    o.check(
        log.iter().any(|l| l == "refused power up"),
        "power-up refused with 0xD5",
    );
    o
}

fn ipmi_d5_three() -> Observed {
    ipmi_d5(3, FENCE_TIMEOUT)
}

fn ipmi_d5_always() -> Observed {
    ipmi_d5(u32::MAX, 8)
}

fn ipmi_port_unreachable() -> Observed {
    // A port that was free a moment ago: nothing listens, the kernel answers port unreachable.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port");
    let password = unique_secret("Fu");
    let input = ipmi_input("off", port, bmc::ADMIN, &password, "login_timeout=5\n");
    let f = run_fence("fence_bulwark_ipmi", &input, None);
    let mut o = Observed::new(&f, fence_class(&f), seconds(FENCE_TIMEOUT));
    o.false_fence_success = false_fence_success("off", &f, None, false);
    o.check(f.elapsed < seconds(5), "answered before login_timeout");
    o
}

/// `OutDestUnreachs` of namespace `ns`'s ICMP counters (/proc/net/snmp).
fn icmp_out_dest_unreachs(ns: &Netns) -> u64 {
    let snmp = ns.exec_ok(&["cat", "/proc/net/snmp"]);
    let mut icmp = snmp.lines().filter(|l| l.starts_with("Icmp:"));
    let (Some(names), Some(values)) = (icmp.next(), icmp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "OutDestUnreachs")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// A client namespace whose default router answers "host unreachable" for 10.77.9.0/24.
fn unreachable_network() -> (Netns, Netns) {
    let client = Netns::new();
    let router = Netns::new();
    client.veth_to("c0", &router, "r0");
    client.add_addr("c0", "10.77.1.2/24");
    router.add_addr("r0", "10.77.1.1/24");
    client.ip_ok(&["route", "add", "default", "via", "10.77.1.1"]);
    router.exec_ok(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    router.ip_ok(&["route", "add", "unreachable", "10.77.9.0/24"]);
    (client, router)
}

fn ipmi_host_unreachable() -> Observed {
    let (client, router) = unreachable_network();
    let before = icmp_out_dest_unreachs(&router);
    let password = unique_secret("Fh");
    let input = format!(
        "action=status\nip=10.77.9.5\nusername=admin\npassword={password}\nlogin_timeout=3\n\
         agent_timeout={FENCE_TIMEOUT}\n"
    );
    let f = run_fence("fence_bulwark_ipmi", &input, Some(client.name()));
    let mut o = Observed::new(&f, fence_class(&f), seconds(FENCE_TIMEOUT));
    o.false_fence_success = false_fence_success("status", &f, None, false);
    o.check(
        icmp_out_dest_unreachs(&router) > before,
        "the router sent ICMP unreachable",
    );
    o
}

fn ipmi_killed_mid_reboot() -> Observed {
    let rig = IpmiRig::new();
    // A lagging reading keeps the agent polling after the off: the kill lands in between.
    rig.bmc.set_status_lag(Some(seconds(3)));
    let input = rig.input("reboot", "power_timeout=15\n");
    let mut first = GroupRun::spawn(
        &mut fence_command("fence_bulwark_ipmi", None),
        Some(input.as_bytes()),
    );
    let off = poll(seconds(30), || rig.bmc.power_on() == Some(false));
    let mid_action = off && first.running();
    first.kill_group();
    let first = first.wait(RUN_LIMIT);
    rig.bmc.set_status_lag(None);
    let f = rig.run("reboot", "power_timeout=15\n");
    let mut o = rig.observe("reboot", &f);
    o.earlier_run(&first, seconds(FENCE_TIMEOUT));
    o.check(mid_action, "killed between off and on");
    o.check(first.code.is_none(), "first run killed");
    o.check(
        rig.bmc.power_on() == Some(true),
        "chassis on after the re-run",
    );
    o
}

// ------------------------------------------------------------------------------------------
// PDU rows
// ------------------------------------------------------------------------------------------

/// The outlet every PDU row fences.
const OUTLET: u32 = 1;

fn pdu_input(port: u16, action: &str, extra: &str) -> String {
    format!(
        "ip=127.0.0.1\nipport={port}\ncommunity=private\naction={action}\nplug={OUTLET}\n\
         agent_timeout={FENCE_TIMEOUT}\n{extra}"
    )
}

/// The outlet's state as net-snmp's snmpget reads it: Some(true) = on.
fn outlet_on(sim: &PduSim) -> Option<bool> {
    match sim.snmpget_status(OUTLET).as_deref() {
        Some("on") => Some(true),
        Some("off") => Some(false),
        _ => None,
    }
}

fn pdu_off_happened(sim: &PduSim) -> bool {
    sim.log().contains(&format!("state outlet={OUTLET} off"))
}

fn pdu_observe(sim: &PduSim, action: &str, f: &Finished) -> Observed {
    let mut o = Observed::new(f, fence_class(f), seconds(FENCE_TIMEOUT));
    let on = outlet_on(sim);
    o.false_fence_success = false_fence_success(action, f, on, pdu_off_happened(sim));
    o.checks
        .push(format!("after: outlet {} (snmpget)", power_word(on)));
    let file = sim.state(OUTLET);
    o.check_or(
        on.is_some() && on == Some(file == "on"),
        "snmpget agrees with the simulator",
        format!("snmpget {on:?}, simulator {file}"),
    );
    o
}

fn pdu_run(port: u16, action: &str, extra: &str) -> Finished {
    run_fence("fence_bulwark_pdu", &pdu_input(port, action, extra), None)
}

fn pdu_behind_proxy(config: SimConfig) -> (PduSim, UdpProxy) {
    let sim = PduSim::start(config);
    let proxy = UdpProxy::start(([127, 0, 0, 1], sim.port).into());
    (sim, proxy)
}

fn pdu_drop_requests() -> Observed {
    let (sim, proxy) = pdu_behind_proxy(SimConfig::new("apc-rpdu2"));
    proxy.faults(|f| f.drop_requests = 2);
    let f = pdu_run(proxy.port, "off", "login_timeout=10\n");
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(proxy.counts().dropped == 2, "2 requests dropped");
    o
}

fn pdu_silent() -> Observed {
    let (sim, proxy) = pdu_behind_proxy(SimConfig::new("apc-rpdu2"));
    proxy.faults(|f| f.blackhole = true);
    let f = pdu_run(proxy.port, "off", "login_timeout=2\n");
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(proxy.counts().dropped > 0, "datagrams dropped");
    o.check(sim.state(OUTLET) == "on", "nothing switched");
    o
}

fn pdu_late_answers() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_DROP_SECONDS", "3"));
    sim.drop_responses(true);
    let f = pdu_run(sim.port, "off", "login_timeout=2\n");
    sim.drop_responses(false);
    let mut o = Observed::new(&f, fence_class(&f), seconds(FENCE_TIMEOUT));
    // snmpd is still draining the held requests: read the relay from the simulator.
    let on = sim.state(OUTLET) == "on";
    o.false_fence_success = false_fence_success("off", &f, Some(on), pdu_off_happened(&sim));
    o.check(on, "nothing switched");
    o
}

fn pdu_no_such_instance() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let input = pdu_input(sim.port, "off", "").replace("plug=1", "plug=9");
    let f = run_fence("fence_bulwark_pdu", &input, None);
    let mut o = pdu_observe(&sim, "off", &f);
    // net-snmp's own client sees the same exception for that outlet.
    let out = support::run_within(
        Command::new("snmpget")
            .args(["-v2c", "-c", pdu::PROBE_COMMUNITY])
            .arg(format!("udp:127.0.0.1:{}", sim.port))
            .arg(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.9")
            .env("MIBS", "")
            .env("MIBDIRS", "/nonexistent"),
        seconds(20),
    );
    o.check_or(
        String::from_utf8_lossy(&out.stdout).contains("No Such Instance"),
        "snmpget sees noSuchInstance there",
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    );
    o.check(!sim.log().contains(" set "), "nothing switched");
    o
}

fn pdu_wrong_community() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let input = pdu_input(sim.port, "off", "login_timeout=2\n")
        .replace("community=private", "community=not-the-community");
    let f = run_fence("fence_bulwark_pdu", &input, None);
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(sim.state(OUTLET) == "on", "nothing switched");
    o
}

fn pdu_read_only_community() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    let input = pdu_input(sim.port, "off", "").replace("community=private", "community=public");
    let f = run_fence("fence_bulwark_pdu", &input, None);
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(sim.state(OUTLET) == "on", "nothing switched");
    o
}

fn pdu_v3_wrong_auth() -> Observed {
    let sim = PduSim::start(SimConfig::new("eaton-g3").user(SimUser::new(
        "fence",
        Some(("SHA-256", "right-auth-pass-1")),
        None,
    )));
    let input = format!(
        "ip=127.0.0.1\nipport={}\nsnmp_version=3\nusername=fence\nsnmp_auth_prot=SHA-256\n\
         password=wrong-auth-pass-2\naction=off\nplug={OUTLET}\nagent_timeout={FENCE_TIMEOUT}\n",
        sim.port
    );
    let f = run_fence("fence_bulwark_pdu", &input, None);
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(sim.state(OUTLET) == "on", "nothing switched");
    o.check(
        !f.stderr.contains("wrong-auth-pass-2"),
        "passphrase not printed",
    );
    o
}

fn pdu_pending_command() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_SWITCH_DELAY", "1.5"));
    let f = pdu_run(sim.port, "off", "power_timeout=10\n");
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(
        sim.log().contains("action=off delay=1.5"),
        "relay switched 1.5 s late",
    );
    o
}

fn pdu_pending_reboot_on() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_REBOOT_SECONDS", "4"));
    // An earlier reboot, sent by net-snmp's snmpset: the outlet goes off now, and on by itself
    // 4 s later unless a newer command cancels that.
    let sent = sim.snmpset_command(OUTLET, "reboot", "private");
    let off_first = poll(seconds(5), || sim.state(OUTLET) == "off");
    let f = pdu_run(sim.port, "off", "power_timeout=10\n");
    // Past the pending power-on: the off must have cancelled it.
    std::thread::sleep(seconds(5));
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(sent, "snmpset sent a reboot");
    o.check(off_first, "outlet off with its on pending");
    o
}

fn pdu_slow_relay() -> Observed {
    let sim = PduSim::start(SimConfig::new("eaton-g3").env("PDU_SWITCH_DELAY", "2"));
    let f = pdu_run(sim.port, "off", "power_timeout=8\n");
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(f.elapsed >= seconds(2), "run took 2 s or more");
    o
}

fn pdu_relay_past_timeout() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2").env("PDU_SWITCH_DELAY", "8"));
    let f = pdu_run(sim.port, "off", "power_timeout=2\n");
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(
        sim.log().contains("action=off delay=8.0"),
        "the relay got the off",
    );
    o
}

fn pdu_relay_stuck() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    sim.ignore_commands(true, &[OUTLET]);
    let f = pdu_run(sim.port, "off", "power_timeout=2\n");
    let mut o = pdu_observe(&sim, "off", &f);
    o.check(
        sim.log().contains(&format!("ignored outlet={OUTLET}")),
        "the relay got the off",
    );
    o
}

fn pdu_port_unreachable() -> Observed {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port");
    let f = pdu_run(port, "status", "login_timeout=2\n");
    let mut o = Observed::new(&f, fence_class(&f), seconds(FENCE_TIMEOUT));
    o.false_fence_success = false_fence_success("status", &f, None, false);
    o
}

fn pdu_killed_mid_reboot() -> Observed {
    let sim = PduSim::start(SimConfig::new("apc-rpdu2"));
    // power_wait holds the agent between the confirmed off and the on: the kill lands there.
    let input = pdu_input(sim.port, "reboot", "power_wait=5\n");
    let mut first = GroupRun::spawn(
        &mut fence_command("fence_bulwark_pdu", None),
        Some(input.as_bytes()),
    );
    let off = poll(seconds(20), || sim.state(OUTLET) == "off");
    let mid_action = off && first.running();
    first.kill_group();
    let first = first.wait(RUN_LIMIT);
    let f = pdu_run(sim.port, "reboot", "");
    let mut o = pdu_observe(&sim, "reboot", &f);
    o.earlier_run(&first, seconds(FENCE_TIMEOUT));
    o.check(mid_action, "killed between off and on");
    o.check(first.code.is_none(), "first run killed");
    o.check(sim.state(OUTLET) == "on", "outlet on after the re-run");
    o
}

// ------------------------------------------------------------------------------------------
// Axigen rows
// ------------------------------------------------------------------------------------------

/// Runs the Axigen agent in a process group of its own with the operation timeout `ms`.
fn axigen_run(
    ax: &Install,
    action: &str,
    params: &[(String, String)],
    level: u32,
    interval: u64,
) -> GroupRun {
    let mut cmd = ax.command(action, params, level, interval);
    cmd.env("OCF_RESKEY_CRM_meta_timeout", OCF_TIMEOUT_MS.to_string());
    GroupRun::spawn(&mut cmd, None)
}

fn ocf_observe(f: &Finished, timeout_ms: u64) -> Observed {
    Observed::new(
        f,
        classify(&exit_reason(f)),
        Duration::from_millis(timeout_ms),
    )
}

fn axigen_started() -> Install {
    let ax = Install::new();
    let f = axigen_run(&ax, "start", &ax.params(), 0, 0).wait(RUN_LIMIT);
    assert_eq!(f.code, Some(0), "stand-in did not start: {f:?}");
    ax
}

fn axigen_crash() -> Observed {
    let ax = axigen_started();
    ax.control("crash\n");
    let crashed = wait_for(seconds(10), || ax.processes().is_empty());
    let f = axigen_run(&ax, "monitor", &ax.params(), 0, 10_000).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(crashed, "stand-in crashed");
    o
}

fn axigen_hung(kind: &str, critical: bool) -> Observed {
    let ax = axigen_started();
    ax.control(&format!("hang {kind}\n"));
    let params = if critical {
        ax.with(&[("critical", "smtp")])
    } else {
        ax.params()
    };
    let f = axigen_run(&ax, "monitor", &params, 10, 10_000).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(
        exit_reason(&f).contains(&format!("{kind} listener")),
        "reason names the listener",
    );
    o
}

fn axigen_hung_imap() -> Observed {
    axigen_hung("imap", false)
}

fn axigen_hung_smtp() -> Observed {
    axigen_hung("smtp", true)
}

fn axigen_ignores_sigterm() -> Observed {
    let ax = axigen_started();
    ax.control("ignore-term\n");
    // The supervisor re-reads its control file every 50 ms.
    std::thread::sleep(Duration::from_millis(300));
    let f = axigen_run(&ax, "stop", &ax.with(&[("stop_timeout", "1")]), 0, 0).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(ax.processes().is_empty(), "no process left");
    let log = std::fs::read_to_string(ax.log()).unwrap_or_default();
    o.check(log.contains("SIGKILL"), "SIGKILL was needed");
    o
}

fn axigen_cli_refuses_login() -> Observed {
    let ax = axigen_started();
    ax.control("refuse-login\n");
    let f = axigen_run(&ax, "monitor", &ax.params(), 20, 10_000).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(
        !f.stderr.contains(support::axigen::PASSWORD),
        "password not printed",
    );
    o
}

fn axigen_orphan() -> Observed {
    let ax = Install::new();
    ax.control("orphan\n");
    let started = axigen_run(&ax, "start", &ax.params(), 0, 0).wait(RUN_LIMIT);
    let orphaned = wait_for(seconds(10), || !ax.processes().strays.is_empty());
    let f = axigen_run(&ax, "stop", &ax.params(), 0, 0).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.earlier_run(&started, Duration::from_millis(OCF_TIMEOUT_MS));
    o.check(started.code == Some(0), "start succeeded");
    o.check(orphaned, "an orphan appeared");
    o.check(ax.processes().is_empty(), "no process left");
    let [smtp, ..] = ax.ports;
    o.check(
        std::net::TcpListener::bind(("127.0.0.1", smtp)).is_ok(),
        "ports free",
    );
    o
}

fn axigen_killed_mid_start() -> Observed {
    let ax = Install::new();
    // SMTP (critical) accepts but never greets: the start waits for it, and is killed there.
    ax.control("hang smtp\n");
    let mut first = axigen_run(&ax, "start", &ax.params(), 0, 0);
    let seen = poll(seconds(20), || ax.processes().supervisor.is_some());
    std::thread::sleep(Duration::from_millis(300));
    let mid_action = seen && first.running();
    first.kill_group();
    let first = first.wait(RUN_LIMIT);
    ax.control("");
    let f = axigen_run(&ax, "start", &ax.params(), 0, 0).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.earlier_run(&first, Duration::from_millis(OCF_TIMEOUT_MS));
    o.check(mid_action, "killed while waiting for the server");
    let now = ax.processes();
    o.check_or(
        now.supervisor.is_some() && now.supervisor_has_workers() && now.strays.is_empty(),
        "one server after the re-run",
        format!("{now:?}"),
    );
    let m = axigen_run(&ax, "monitor", &ax.params(), 10, 10_000).wait(RUN_LIMIT);
    o.check_or(
        m.code == Some(0),
        "monitor 0 after the re-run",
        format!("{m:?}"),
    );
    o
}

fn axigen_killed_mid_stop() -> Observed {
    let ax = axigen_started();
    ax.control("ignore-term\n");
    std::thread::sleep(Duration::from_millis(300));
    let mut first = axigen_run(&ax, "stop", &ax.with(&[("stop_timeout", "15")]), 0, 0);
    // The stop is waiting out the graceful phase: the server ignores its SIGTERM.
    std::thread::sleep(seconds(1));
    let mid_action = first.running() && ax.processes().supervisor.is_some();
    first.kill_group();
    let first = first.wait(RUN_LIMIT);
    let f = axigen_run(&ax, "stop", &ax.with(&[("stop_timeout", "1")]), 0, 0).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.earlier_run(&first, Duration::from_millis(OCF_TIMEOUT_MS));
    o.check(mid_action, "killed during the graceful wait");
    o.check(ax.processes().is_empty(), "no process left");
    let m = axigen_run(&ax, "monitor", &ax.params(), 0, 10_000).wait(RUN_LIMIT);
    o.check_or(
        m.code == Some(7),
        "monitor 7 after the re-run",
        format!("{m:?}"),
    );
    o
}

/// A tmpfs of a few pages mounted on a fresh directory and filled to the last block; unmounted
/// on drop.
struct FullDisk {
    _lab: LabDir,
    mount: PathBuf,
}

impl FullDisk {
    fn new() -> FullDisk {
        let lab = LabDir::new("fullfs");
        let mount = lab.path().join("log");
        std::fs::create_dir_all(&mount).expect("mkdir");
        nix::mount::mount(
            Some("tmpfs"),
            &mount,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=64k,mode=0755"),
        )
        .expect("mount a tmpfs");
        let disk = FullDisk { _lab: lab, mount };
        use std::io::Write;
        let mut filler = std::fs::File::create(disk.mount.join("filler")).expect("filler");
        let block = [0u8; 4096];
        while filler.write_all(&block).is_ok() {}
        disk
    }

    /// The log file the agent is given.
    fn logfile(&self) -> PathBuf {
        self.mount.join("ha.log")
    }

    /// The agent opened its log there (and could write nothing into it).
    fn log_attempted(&self) -> bool {
        std::fs::metadata(self.logfile()).is_ok_and(|m| m.len() == 0)
    }

    /// Writing a line really fails with "no space".
    fn is_full(&self) -> bool {
        use std::io::Write;
        let mut f = match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.mount.join("probe"))
        {
            Ok(f) => f,
            Err(e) => return e.raw_os_error() == Some(libc::ENOSPC),
        };
        let line = [b'x'; 8192];
        matches!(f.write_all(&line).and_then(|_| f.sync_all()),
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC))
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.mount, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn axigen_full_logfile() -> Observed {
    let disk = FullDisk::new();
    let ax = Install::new();
    let mut cmd = ax.command("start", &ax.params(), 0, 0);
    cmd.env("OCF_RESKEY_CRM_meta_timeout", OCF_TIMEOUT_MS.to_string())
        .env("HA_LOGFILE", disk.logfile());
    let f = GroupRun::spawn(&mut cmd, None).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(disk.is_full(), "log disk full");
    o.check(disk.log_attempted(), "the agent opened its log there");
    o.check(ax.processes().supervisor.is_some(), "server running");
    o
}

// ------------------------------------------------------------------------------------------
// DRBD rows
// ------------------------------------------------------------------------------------------

/// A started simulated node (score 10000: both sides UpToDate and connected).
fn drbd_started() -> AgentSim {
    let sim = AgentSim::new();
    let out = sim.ok("start");
    assert_eq!(out.status.code(), Some(0), "drbd start: {out:?}");
    sim
}

/// The DRBD agent's action in a process group of its own, with operation timeout `ms`.
fn drbd_run(sim: &AgentSim, action: &str, ms: u64, netns: Option<&str>) -> GroupRun {
    let mut cmd = sim.command(action, &[], &[("timeout", &ms.to_string())]);
    if let Some(ns) = netns {
        let mut wrapped = Command::new("ip");
        wrapped.args(["netns", "exec", ns]).arg(cmd.get_program());
        wrapped.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        cmd = wrapped;
    }
    cmd.env("HA_LOGFILE", sim.root().join("agent.log"))
        .env("HA_debug", "1");
    GroupRun::spawn(&mut cmd, None)
}

/// The verdict of a DRBD run: its exit reason's class and what became of the score.
/// `uptodate_access` says whether this node can reach UpToDate data (its own, or a connected
/// peer's): without it, a positive score or the Primary role is an unsafe promotion.
fn drbd_observe(sim: &AgentSim, f: &Finished, ms: u64, uptodate_access: bool) -> Observed {
    let log = std::fs::read_to_string(sim.root().join("agent.log")).unwrap_or_default();
    let real_tool = !sim.root().join("bin/crm_attribute").exists();
    // With Pacemaker's own tool and no CIB, no score is stored anywhere: the recorder's file
    // is what start left there.
    let score = if real_tool { None } else { sim.score() };
    let score_text = if real_tool {
        if log.contains("Could not connect to the CIB") {
            "score not stored: crm_attribute failed".to_string()
        } else if log.contains("crm_attribute") && log.contains("timed out") {
            "score not stored: crm_attribute timed out".to_string()
        } else {
            "score not stored: crm_attribute gave no error".to_string()
        }
    } else {
        match &score {
            Some(s) => format!("score {s}"),
            None => "score none".to_string(),
        }
    };
    let reason = classify(&exit_reason(f));
    let class = if reason.is_empty() {
        score_text
    } else {
        format!("{reason}; {score_text}")
    };
    let mut o = Observed::new(f, class, Duration::from_millis(ms));
    let positive = score
        .as_deref()
        .and_then(|s| s.parse::<i64>().ok())
        .is_some_and(|s| s > 0);
    let role = sim.node.role();
    o.checks.push(format!("after: role {role}"));
    if !uptodate_access && (positive || role == "Primary") {
        o.unsafe_promotion = Some(format!(
            "role {role}, score {score:?} without access to UpToDate data"
        ));
    }
    o
}

fn drbd_outdated_monitor() -> Observed {
    let sim = drbd_started();
    sim.node.flag("peer-disconnect", true);
    sim.node.ctl(&["md_disk=Outdated"]);
    let f = drbd_run(&sim, "monitor", OCF_TIMEOUT_MS, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, OCF_TIMEOUT_MS, false)
}

fn drbd_outdated_promote() -> Observed {
    let sim = drbd_started();
    sim.node.flag("peer-disconnect", true);
    sim.node.ctl(&["md_disk=Outdated"]);
    let f = drbd_run(&sim, "promote", 4000, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, 4000, false)
}

fn drbd_inconsistent_syncing() -> Observed {
    let sim = drbd_started();
    sim.node
        .ctl(&["md_disk=Inconsistent", "resync_finish_at=4000000000"]);
    let f = drbd_run(&sim, "monitor", OCF_TIMEOUT_MS, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, OCF_TIMEOUT_MS, true)
}

fn drbd_inconsistent_alone_promote() -> Observed {
    let sim = drbd_started();
    sim.node.flag("peer-disconnect", true);
    sim.node.ctl(&["md_disk=Inconsistent"]);
    let f = drbd_run(&sim, "promote", 4000, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, 4000, false)
}

fn drbd_consistent_alone() -> Observed {
    let sim = drbd_started();
    sim.node.flag("peer-disconnect", true);
    sim.node.ctl(&["md_disk=Consistent"]);
    let f = drbd_run(&sim, "monitor", OCF_TIMEOUT_MS, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, OCF_TIMEOUT_MS, false)
}

fn drbd_attach_fails() -> Observed {
    let sim = AgentSim::new();
    sim.node.flag("fail-attach", true);
    sim.node.flag("peer-disconnect", true);
    let f = drbd_run(&sim, "start", OCF_TIMEOUT_MS, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, OCF_TIMEOUT_MS, false)
}

fn drbd_split_brain() -> Observed {
    let sim = drbd_started();
    sim.node.flag("split-brain", true);
    let f = drbd_run(&sim, "monitor", OCF_TIMEOUT_MS, None).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, OCF_TIMEOUT_MS, true)
}

fn drbd_hung(action: &str, ms: u64) -> Observed {
    let sim = drbd_started();
    sim.node.flag("hang", true);
    let run = drbd_run(&sim, action, ms, None);
    let pgid = run.pgid();
    let f = run.wait(RUN_LIMIT);
    sim.node.flag("hang", false);
    let mut o = drbd_observe(&sim, &f, ms, true);
    o.check(sim.node.role() == "Secondary", "still Secondary");
    let left = support::group::group_members(pgid);
    o.check_or(left.is_empty(), "no helper left", format!("{left:?}"));
    o
}

fn drbd_hung_monitor() -> Observed {
    drbd_hung("monitor", 3000)
}

fn drbd_hung_promote() -> Observed {
    drbd_hung("promote", 4000)
}

/// Makes `sim`'s agent use Pacemaker's own crm_attribute instead of the recorder.
fn use_real_crm_attribute(sim: &AgentSim) {
    std::fs::remove_file(sim.root().join("bin/crm_attribute")).expect("remove the recorder");
}

fn drbd_crm_attribute_fails() -> Observed {
    let sim = drbd_started();
    use_real_crm_attribute(&sim);
    // A namespace of its own: no CIB socket can be there (they are per network namespace).
    let ns = Netns::new();
    let f = drbd_run(&sim, "monitor", OCF_TIMEOUT_MS, Some(ns.name())).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, OCF_TIMEOUT_MS, true)
}

fn drbd_crm_attribute_fails_outdated() -> Observed {
    let sim = drbd_started();
    use_real_crm_attribute(&sim);
    sim.node.flag("peer-disconnect", true);
    sim.node.ctl(&["md_disk=Outdated"]);
    let ns = Netns::new();
    let f = drbd_run(&sim, "promote", 4000, Some(ns.name())).wait(RUN_LIMIT);
    drbd_observe(&sim, &f, 4000, false)
}

fn drbd_crm_attribute_hangs() -> Observed {
    let sim = drbd_started();
    use_real_crm_attribute(&sim);
    let ns = Netns::new();
    // Pacemaker's CIB listens on the abstract socket "cib_rw" (libqb pads the name to the
    // whole sun_path); this one accepts every connection and never answers.
    let log = sim.root().join("cib.log");
    ns.spawn(
        &[
            "python3",
            "-c",
            "import socket\ns=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM)\n\
             s.bind(b'\\0cib_rw'+b'\\0'*101)\ns.listen(16)\nprint('listening',flush=True)\n\
             held=[]\nwhile True:\n    c,_=s.accept()\n    held.append(c)\n    print('accepted',flush=True)\n",
        ],
        Some(&log),
    );
    let listening = wait_for(seconds(10), || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("listening"))
    });
    let ms = 6000;
    let f = drbd_run(&sim, "monitor", ms, Some(ns.name())).wait(RUN_LIMIT);
    let mut o = drbd_observe(&sim, &f, ms, true);
    o.check(listening, "silent CIB listening");
    o.check(
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("accepted")),
        "crm_attribute connected to it",
    );
    o
}

fn drbd_killed_mid_promote() -> Observed {
    let sim = drbd_started();
    sim.node.flag("hang", true);
    let mut first = drbd_run(&sim, "promote", OCF_TIMEOUT_MS, None);
    // The agent and its hung drbdsetup.
    let stuck = poll(seconds(10), || first.members().len() >= 2);
    let mid_action = stuck && first.running();
    let pgid = first.pgid();
    first.kill_group();
    let first = first.wait(RUN_LIMIT);
    let left = support::group::group_members(pgid);
    sim.node.flag("hang", false);
    let f = drbd_run(&sim, "promote", OCF_TIMEOUT_MS, None).wait(RUN_LIMIT);
    let mut o = drbd_observe(&sim, &f, OCF_TIMEOUT_MS, true);
    o.earlier_run(&first, Duration::from_millis(OCF_TIMEOUT_MS));
    o.check(mid_action, "killed inside drbdsetup");
    o.check_or(left.is_empty(), "no helper left", format!("{left:?}"));
    o.check(sim.node.role() == "Primary", "Primary after the re-run");
    o
}

fn drbd_full_logfile() -> Observed {
    let disk = FullDisk::new();
    let sim = drbd_started();
    let mut cmd = sim.command("promote", &[], &[("timeout", &OCF_TIMEOUT_MS.to_string())]);
    cmd.env("HA_LOGFILE", disk.logfile()).env("HA_debug", "1");
    let f = GroupRun::spawn(&mut cmd, None).wait(RUN_LIMIT);
    let mut o = drbd_observe(&sim, &f, OCF_TIMEOUT_MS, true);
    o.check(disk.is_full(), "log disk full");
    o.check(disk.log_attempted(), "the agent opened its log there");
    o.check(sim.node.role() == "Primary", "Primary");
    o
}

// ------------------------------------------------------------------------------------------
// VIP rows
// ------------------------------------------------------------------------------------------

/// The VIP agent in namespace `ns`.
fn vip_run(ns: &Netns, action: &str, env: &[(&str, &str)], recurring: bool) -> GroupRun {
    let mut cmd = command_in(Some(ns.name()), &workspace_bin("vip"));
    cmd.arg(action)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", "mail-ip")
        .env("OCF_RESKEY_CRM_meta_timeout", OCF_TIMEOUT_MS.to_string());
    if recurring {
        cmd.env("OCF_RESKEY_CRM_meta_interval", "10000");
    }
    for (k, v) in env {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    GroupRun::spawn(&mut cmd, None)
}

/// A node namespace linked to a peer host's namespace (`eth0` on both ends).
fn vip_link() -> (Netns, Netns) {
    let node = Netns::new();
    let peer = Netns::new();
    node.veth_to("eth0", &peer, "eth0");
    (node, peer)
}

/// Lines of `ip addr` on `dev` in `ns` holding `addr/`.
fn addr_lines(ns: &Netns, dev: &str, addr: &str) -> Vec<String> {
    ns.ip_ok(&["-o", "addr", "show", "dev", dev])
        .lines()
        .filter(|l| l.contains(&format!(" {addr}/")))
        .map(str::to_string)
        .collect()
}

fn vip_carrier_lost() -> Observed {
    let (node, peer) = vip_link();
    let env = [
        ("ip", "10.98.40.1"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
    ];
    let started = vip_run(&node, "start", &env, false).wait(RUN_LIMIT);
    peer.ip_ok(&["link", "set", "eth0", "down"]);
    let lost = wait_for(seconds(10), || {
        !node.ip_ok(&["link", "show", "eth0"]).contains("LOWER_UP")
    });
    let f = vip_run(&node, "monitor", &env, true).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.earlier_run(&started, Duration::from_millis(OCF_TIMEOUT_MS));
    o.check(started.code == Some(0), "start succeeded");
    o.check(lost, "carrier gone");
    o
}

fn vip_start_no_carrier() -> Observed {
    let (node, peer) = vip_link();
    peer.ip_ok(&["link", "set", "eth0", "down"]);
    node.add_addr("eth0", "10.98.41.2/24");
    let env = [
        ("ip", "10.98.41.1"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
    ];
    let f = vip_run(&node, "start", &env, false).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(
        addr_lines(&node, "eth0", "10.98.41.1").is_empty(),
        "address not added",
    );
    o
}

fn vip_nic_missing() -> Observed {
    let (node, _peer) = vip_link();
    let env = [
        ("ip", "10.98.42.1"),
        ("cidr_netmask", "24"),
        ("nic", "nosuch0"),
    ];
    let f = vip_run(&node, "start", &env, false).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(
        !node.ip_ok(&["-o", "addr", "show"]).contains("10.98.42.1"),
        "address not added",
    );
    o
}

fn vip_dad_failure() -> Observed {
    let (node, peer) = vip_link();
    peer.ip_ok(&["addr", "add", "fd00:98:43::7/64", "dev", "eth0", "nodad"]);
    let env = [
        ("ip", "fd00:98:43::7"),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
    ];
    let f = vip_run(&node, "start", &env, false).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    let left = addr_lines(&node, "eth0", "fd00:98:43::7");
    o.check_or(left.is_empty(), "duplicate removed", format!("{left:?}"));
    o
}

fn vip_ipv4_taken() -> Observed {
    let (node, peer) = vip_link();
    peer.add_addr("eth0", "10.98.44.5/24");
    node.add_addr("eth0", "10.98.44.2/24");
    let env = [
        ("ip", "10.98.44.5"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_bg", "false"),
    ];
    let f = vip_run(&node, "start", &env, false).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(
        addr_lines(&node, "eth0", "10.98.44.5").len() == 1,
        "address on the node",
    );
    o.check(
        addr_lines(&peer, "eth0", "10.98.44.5").len() == 1,
        "the other host holds it too",
    );
    o
}

fn vip_killed_mid_start() -> Observed {
    let (node, _peer) = vip_link();
    let addr = "fd00:98:45::9";
    let env = [("ip", addr), ("cidr_netmask", "64"), ("nic", "eth0")];
    let mut first = vip_run(&node, "start", &env, false);
    let tentative = poll(seconds(10), || {
        addr_lines(&node, "eth0", addr)
            .iter()
            .any(|l| l.contains("tentative"))
    });
    let mid_action = tentative && first.running();
    first.kill_group();
    let first = first.wait(RUN_LIMIT);
    let f = vip_run(&node, "start", &env, false).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.earlier_run(&first, Duration::from_millis(OCF_TIMEOUT_MS));
    o.check(mid_action, "killed during DAD");
    let now = addr_lines(&node, "eth0", addr);
    o.check_or(
        now.len() == 1 && !now[0].contains("tentative") && !now[0].contains("dadfailed"),
        "one settled address after the re-run",
        format!("{now:?}"),
    );
    o
}

fn vip_full_logfile() -> Observed {
    let disk = FullDisk::new();
    let (node, _peer) = vip_link();
    let env = [
        ("ip", "10.98.46.1"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
    ];
    let mut cmd = command_in(Some(node.name()), &workspace_bin("vip"));
    cmd.arg("start")
        .env("OCF_RESKEY_CRM_meta_timeout", OCF_TIMEOUT_MS.to_string())
        .env("HA_LOGFILE", disk.logfile());
    for (k, v) in env {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    let f = GroupRun::spawn(&mut cmd, None).wait(RUN_LIMIT);
    let mut o = ocf_observe(&f, OCF_TIMEOUT_MS);
    o.check(disk.is_full(), "log disk full");
    o.check(disk.log_attempted(), "the agent opened its log there");
    o.check(
        addr_lines(&node, "eth0", "10.98.46.1").len() == 1,
        "address on the node",
    );
    o
}

// ------------------------------------------------------------------------------------------
// The run and the page
// ------------------------------------------------------------------------------------------

struct Row {
    fault: &'static str,
    component: &'static str,
    agent: &'static str,
    expected: String,
    observed: Observed,
}

impl Row {
    fn observed_text(&self) -> String {
        verdict_text(self.observed.code, &self.observed.class)
    }

    fn mismatch(&self) -> bool {
        self.expected != self.observed_text() || !self.observed.problems.is_empty()
    }

    fn past_deadline(&self) -> bool {
        !self.observed.all_in_time || self.observed.elapsed >= self.observed.deadline
    }
}

/// Runs one row; a panic in its set-up becomes a mismatch with the panic's message.
fn run_row(fault: &Fault) -> Observed {
    let started = Instant::now();
    match std::panic::catch_unwind(fault.run) {
        Ok(o) => o,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Observed {
                code: None,
                class: "harness error".into(),
                elapsed: started.elapsed(),
                deadline: Duration::MAX,
                all_in_time: true,
                false_fence_success: None,
                unsafe_promotion: None,
                checks: Vec::new(),
                problems: vec![format!("set-up failed: {msg}")],
                output: String::new(),
            }
        }
    }
}

/// Tools the rows start; a missing one fails the matrix up front with the fix.
fn assert_prerequisites() {
    for tool in [
        "ipmi_sim",
        "ipmitool",
        "snmpd",
        "snmpget",
        "snmpset",
        "crm_attribute",
        "ip",
        "python3",
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(
            found,
            "{tool} not found: install the test dependencies with tests/install-deps.sh"
        );
    }
    for bin in [
        "fence_bulwark_ipmi",
        "fence_bulwark_pdu",
        "axigen",
        "axigen-standin",
        "drbd",
        "drbd-sim",
        "vip",
    ] {
        workspace_bin(bin);
    }
}

fn secs(d: Duration) -> String {
    if d == Duration::MAX {
        "-".into()
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn render(rows: &[Row], wall: Duration) -> String {
    let mismatches = rows.iter().filter(|r| r.mismatch()).count();
    let false_fence = rows
        .iter()
        .filter(|r| r.observed.false_fence_success.is_some())
        .count();
    let unsafe_promotions = rows
        .iter()
        .filter(|r| r.observed.unsafe_promotion.is_some())
        .count();
    let late = rows.iter().filter(|r| r.past_deadline()).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Fault matrix\n\n\
         Generated by `tests/fault_matrix.rs` (do not edit; regenerate with\n\
         `cargo test --test fault_matrix`, which CI runs through `tests/run-tests.sh` and which\n\
         fails on any mismatch). Each row injects one fault into the component named, runs the\n\
         built agent binary as Pacemaker does (fence agents: options on stdin; OCF agents:\n\
         `OCF_RESKEY_*`; a process group of its own) and compares its verdict, exit code and the\n\
         class of its answer or exit reason, with the expected one. A row also counts as a\n\
         mismatch when the fault cannot be shown to have happened, when state is left half\n\
         changed, or when an independent reading disagrees. Times are the agent's own run (for\n\
         the kill-and-re-run rows, the re-run); the deadline is the one the agent promises:\n\
         `agent_timeout` for fence agents, the operation timeout for OCF agents.\n\n\
         A fence success is checked against the device read independently (the simulated\n\
         chassis' power, the outlet through net-snmp's `snmpget`); a DRBD node without access to\n\
         UpToDate data must end with no positive promotion score and not Primary. The *checked*\n\
         column lists what else each row verified: that the fault really happened, the device's\n\
         state after the run, that nothing was left half-changed.\n"
    );
    let _ = writeln!(
        s,
        "**Totals:** {} faults, {mismatches} mismatches, {false_fence} false fence successes, \
         {unsafe_promotions} unsafe promotions, {late} actions past deadline \
         (targets: 0, 0, 0, 0). Wall time of the matrix: {}.\n",
        rows.len(),
        secs(wall)
    );
    let _ = writeln!(
        s,
        "| # | fault | injected into | agent | expected | observed | checked | time | deadline |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for (i, r) in rows.iter().enumerate() {
        let mut observed = r.observed_text();
        if r.mismatch() {
            observed = format!("**{observed}** ✗");
        }
        for p in r
            .observed
            .problems
            .iter()
            .chain(&r.observed.false_fence_success)
            .chain(&r.observed.unsafe_promotion)
        {
            observed.push_str(&format!(" ({p})"));
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | `{}` | {} | {} | {} | {} | {} |",
            i + 1,
            r.fault,
            r.component,
            r.agent,
            r.expected,
            observed.replace('|', "\\|"),
            r.observed.checks.join("; ").replace('|', "\\|"),
            secs(r.observed.elapsed),
            secs(r.observed.deadline)
        );
    }
    s.push_str(NOT_HERE);
    s
}

/// What the page says about faults no real component here can produce.
const NOT_HERE: &str = "
## Where no real component runs here

- **Axigen** cannot be installed in the test lab: its rows run against the stand-in
  (`tests/doubles/axigen-standin.rs`), which imitates Axigen's documented process tree,
  greetings and CLI (`tests/axigen_standin.rs` exercises it).
- **DRBD**: the kernel module is not available to the test machine, so its rows use the DRBD
  simulator (`tests/doubles/drbd-sim.rs`), whose output `tests/drbd_sim.rs` compares byte for
  byte with committed fixtures and which LINBIT's own `ocf:linbit:drbd` monitors there and in
  `tests/drbd_differential.rs`. The real module runs in `tests/drbd_vm.rs` (opt-in VMs).
  The promotion score of those rows is kept by a recording `crm_attribute` stand-in, since a
  reboot-lifetime attribute needs a running Pacemaker; the `crm_attribute` fault rows use
  Pacemaker's own tool, failing (no CIB in the namespace) or hanging (a CIB socket that
  accepts and never answers).
- **0xD5 after a power-down**: ipmi_sim answers a failed chassis hook with 0xFF, never 0xD5,
  so those rows use the scripted RMCP+ BMC (`tests/support/fake_bmc.rs`), which ipmitool and
  FreeIPMI accept in `tests/ipmi_suite17.rs` and which ipmitool reads before and after each run
  here.
- **ICMP host unreachable** is a soft error for UDP on Linux (it reaches a socket only with
  `IP_RECVERR`), so the agent waits out `login_timeout` and reports no answer; the row checks
  that the router really sent the ICMP message.
- **IPv4 address conflicts** have no duplicate address detection: the agent takes the address
  over and announces it with gratuitous ARP, as `ocf:heartbeat:IPaddr2` does.
";

#[test]
fn fault_matrix() {
    assert_prerequisites();
    let faults = Arc::new(faults());
    assert!(faults.len() >= 40, "the matrix needs at least 40 faults");
    let next = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<Option<Observed>>>> =
        Arc::new(Mutex::new((0..faults.len()).map(|_| None).collect()));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (faults, next, results) = (faults.clone(), next.clone(), results.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(fault) = faults.get(i) else { break };
                let o = run_row(fault);
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(o);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a matrix worker died");
    }
    let wall = started.elapsed();
    let observed = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    let rows: Vec<Row> = faults
        .iter()
        .zip(observed)
        .map(|(f, o)| Row {
            fault: f.fault,
            component: f.component,
            agent: f.agent,
            expected: verdict_text(Some(f.expect.0), f.expect.1),
            observed: o.expect("every row ran"),
        })
        .collect();
    let page = render(&rows, wall);
    let path = support::workspace_dir().join(DOC);
    std::fs::write(&path, &page).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));

    let mut failures = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let mut why = Vec::new();
        if r.expected != r.observed_text() {
            why.push(format!(
                "expected {}, observed {}",
                r.expected,
                r.observed_text()
            ));
        }
        why.extend(r.observed.problems.iter().cloned());
        why.extend(
            r.observed
                .false_fence_success
                .iter()
                .map(|p| format!("false fence success: {p}")),
        );
        why.extend(
            r.observed
                .unsafe_promotion
                .iter()
                .map(|p| format!("unsafe promotion: {p}")),
        );
        if r.past_deadline() {
            why.push(format!(
                "past its deadline: {} of {}",
                secs(r.observed.elapsed),
                secs(r.observed.deadline)
            ));
        }
        if !why.is_empty() {
            failures.push(format!(
                "#{} {} ({}): {}\n{}",
                i + 1,
                r.fault,
                r.agent,
                why.join("; "),
                r.observed.output
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fault rows failed (see {DOC}):\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
