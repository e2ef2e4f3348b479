//! A simulated switched PDU for tests: net-snmp `snmpd` on 127.0.0.1 with a free UDP port, its
//! own config (no host `/etc/snmp`) and persistent dir in a private temporary directory, and the
//! project's `pass_persist` handler (`crm-examples/lab/sim/pdu-handler.py`) playing one model of
//! `crm-examples/lab/sim/pdu-models/`. Outlet state lives in `outlet-N.state` files, so a test
//! observes (and sets) the relays without going through SNMP. Dropping the [`PduSim`] stops
//! snmpd by PID and removes the directory.
//!
//! Include with `mod support;` and `use support::pdu;`.

#![allow(dead_code)]

use std::fs;
use std::net::UdpSocket;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bulwark::deadline::Deadline;
use bulwark::proto::snmp::{Credentials, Oid, Session, Target, Value};
use bulwark::secret::Secret;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Community every simulator accepts read-only; used for the readiness probe.
pub const PROBE_COMMUNITY: &str = "probe-ro";

/// A USM user of the simulator (protocol names as net-snmp spells them).
#[derive(Clone, Debug)]
pub struct SimUser {
    pub name: String,
    pub auth: Option<(String, String)>,
    pub privacy: Option<(String, String)>,
}

impl SimUser {
    pub fn new(name: &str, auth: Option<(&str, &str)>, privacy: Option<(&str, &str)>) -> SimUser {
        SimUser {
            name: name.into(),
            auth: auth.map(|(a, b)| (a.into(), b.into())),
            privacy: privacy.map(|(a, b)| (a.into(), b.into())),
        }
    }
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// File stem under `crm-examples/lab/sim/pdu-models/` (e.g. `apc-rpdu2`).
    pub model: String,
    /// Read-write communities.
    pub rw_communities: Vec<String>,
    /// Read-only communities ([`PROBE_COMMUNITY`] is always added).
    pub ro_communities: Vec<String>,
    pub users: Vec<SimUser>,
    /// Outlet names, outlet 1 first.
    pub names: Vec<String>,
    /// Extra `pdu.env` lines (`PDU_SWITCH_DELAY=0.5`, `PDU_OUTLETS=4`, …).
    pub env: Vec<(String, String)>,
    /// Run snmpd inside this named network namespace (`ip netns exec`), on its loopback,
    /// e.g. a lab node's, so agents run by that node's Pacemaker reach it.
    pub netns: Option<String>,
}

impl SimConfig {
    /// `model` with community `private` (rw), `public` (ro), outlets named node1, node2.
    pub fn new(model: &str) -> SimConfig {
        SimConfig {
            model: model.into(),
            rw_communities: vec!["private".into()],
            ro_communities: vec!["public".into()],
            users: Vec::new(),
            names: vec!["node1".into(), "node2".into()],
            env: Vec::new(),
            netns: None,
        }
    }

    /// Runs the simulator in network namespace `name` (see [`SimConfig::netns`]).
    pub fn in_netns(mut self, name: &str) -> SimConfig {
        self.netns = Some(name.into());
        self
    }

    pub fn rw_community(mut self, c: &str) -> SimConfig {
        self.rw_communities = vec![c.into()];
        self
    }

    pub fn user(mut self, u: SimUser) -> SimConfig {
        self.users.push(u);
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> SimConfig {
        self.env.push((k.into(), v.into()));
        self
    }
}

pub struct PduSim {
    pub port: u16,
    pub dir: PathBuf,
    pub config: SimConfig,
    child: Child,
}

pub fn sim_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crm-examples/lab/sim")
}

fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
    s.local_addr().expect("local address").port()
}

/// Moves the calling thread into network namespace `name` (`/run/netns/NAME`).
fn enter_netns(name: &str) -> bool {
    match fs::File::open(Path::new("/run/netns").join(name)) {
        Ok(f) => nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).is_ok(),
        Err(_) => false,
    }
}

/// A model file's `KEY VALUE` directive.
fn model_value(model: &str, key: &str) -> String {
    let text = fs::read_to_string(model).unwrap_or_else(|e| panic!("model {model}: {e}"));
    text.lines()
        .find_map(|l| {
            let (k, v) = l.trim().split_once(char::is_whitespace)?;
            (k == key).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("model {model} has no {key}"))
}

/// A model OID template with `{n}` (and `{n-1}`, `{n+1}`) for the outlet and `{u}` for the
/// model's `unit` (1 when it names none), as the handler expands it.
fn expand_template(template: &str, outlet: u32, model: &str) -> String {
    let unit = fs::read_to_string(model)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.trim().strip_prefix("unit ").map(|u| u.trim().to_string()))
        .unwrap_or_else(|| "1".into());
    template
        .replace("{n-1}", &(outlet - 1).to_string())
        .replace("{n+1}", &(outlet + 1).to_string())
        .replace("{n}", &outlet.to_string())
        .replace("{u}", &unit)
}

impl PduSim {
    /// Starts snmpd for `config`, waits until it answers, panics (failing the test) otherwise.
    pub fn start(config: SimConfig) -> PduSim {
        let dir = std::env::temp_dir().join(format!(
            "bulwark-pdu-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("create the simulator dir");
        fs::DirBuilder::new()
            .mode(0o700)
            .create(dir.join("persist"))
            .expect("create persist dir");
        let model = sim_dir()
            .join("pdu-models")
            .join(format!("{}.model", config.model));
        let model = model.to_string_lossy().into_owned();

        let mut env = format!("PDU_MODEL_FILE={model}\n");
        for (k, v) in &config.env {
            env.push_str(&format!("{k}={v}\n"));
        }
        fs::write(dir.join("pdu.env"), env).expect("write pdu.env");
        for (i, n) in config.names.iter().enumerate() {
            fs::write(dir.join(format!("outlet-{}.name", i + 1)), format!("{n}\n"))
                .expect("name file");
        }

        let mut communities = String::new();
        for c in &config.rw_communities {
            communities.push_str(&format!("rwcommunity {c} 127.0.0.1\n"));
        }
        for c in config
            .ro_communities
            .iter()
            .map(String::as_str)
            .chain([PROBE_COMMUNITY])
        {
            communities.push_str(&format!("rocommunity {c} 127.0.0.1\n"));
        }
        let mut users = String::new();
        for u in &config.users {
            let mut line = format!("createUser {}", u.name);
            let level = match (&u.auth, &u.privacy) {
                (None, _) => "noauth",
                (Some((a, p)), None) => {
                    line.push_str(&format!(" {a} {p}"));
                    "auth"
                }
                (Some((a, p)), Some((x, q))) => {
                    line.push_str(&format!(" {a} {p} {x} {q}"));
                    "priv"
                }
            };
            users.push_str(&format!("{line}\nrwuser {} {level}\n", u.name));
        }
        let template = fs::read_to_string(sim_dir().join("pdu-snmpd.conf.in"))
            .expect("read pdu-snmpd.conf.in");

        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_udp_port();
            let conf = template
                .replace("@COMMUNITIES@", &communities)
                .replace("@USERS@", &users)
                .replace("@SYSOBJECTID@", &model_value(&model, "sysobjectid"))
                .replace("@SYSDESCR@", &model_value(&model, "sysdescr"))
                .replace("@SYSNAME@", &format!("pdu-{port}"))
                .replace("@REGISTER@", &model_value(&model, "register"))
                .replace(
                    "@HANDLER@",
                    &sim_dir().join("pdu-handler.py").to_string_lossy(),
                )
                .replace("@STATE_DIR@", &dir.to_string_lossy());
            fs::write(dir.join("snmpd.conf"), conf).expect("write snmpd.conf");
            let log = fs::File::create(dir.join("snmpd.log")).expect("snmpd.log");
            // SIGTERM, the signal stop() sends too.
            let mut cmd =
                crate::support::sim_command("snmpd", config.netns.as_deref(), libc::SIGTERM);
            let child = cmd
                .args(["-f", "-Lo", "-C", "-I", "-smux", "-c"])
                .arg(dir.join("snmpd.conf"))
                .arg("-p")
                .arg(dir.join("snmpd.pid"))
                .arg(format!("udp:127.0.0.1:{port}"))
                .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
                .env("MIBS", "")
                .env("MIBDIRS", "/nonexistent")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .spawn()
                .expect("start snmpd (apt-get install snmpd)");
            let mut sim = PduSim {
                port,
                dir: dir.clone(),
                config: config.clone(),
                child,
            };
            if sim.wait_ready() {
                return sim;
            }
            last_log = fs::read_to_string(dir.join("snmpd.log")).unwrap_or_default();
            sim.stop();
            // The port may have been taken between probe and bind: try another one.
        }
        panic!("snmpd did not come up; last log:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        match self.config.netns.clone() {
            // Probe from a thread moved into the namespace (setns affects that thread only).
            Some(ns) => std::thread::scope(|s| {
                s.spawn(|| enter_netns(&ns) && self.probe_until_ready())
                    .join()
                    .unwrap_or(false)
            }),
            None => self.probe_until_ready(),
        }
    }

    fn probe_until_ready(&mut self) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        let oid = Oid::parse(".1.3.6.1.2.1.1.2.0").expect("sysObjectID");
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let d = Deadline::after(Duration::from_millis(300));
            let mut t = self.target();
            t.attempt_timeout = Duration::from_millis(150);
            t.retries = 0;
            let c = Credentials::V2c {
                community: Secret::from(PROBE_COMMUNITY),
            };
            if let Ok(mut s) = Session::open(&t, &c, &d) {
                if let Ok(Value::ObjectId(_)) = s.get_value(&oid, &d) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Address with fast test timeouts (200 ms per attempt, 2 retries).
    pub fn target(&self) -> Target {
        let mut t = Target::resolve("127.0.0.1", self.port).expect("loopback");
        t.attempt_timeout = Duration::from_millis(200);
        t.retries = 2;
        t
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Relay state as the simulator holds it: "on" / "off" (absent file = initial state "on",
    /// unless `PDU_INITIAL_STATE` says otherwise).
    pub fn state(&self, outlet: u32) -> String {
        match fs::read_to_string(self.dir.join(format!("outlet-{outlet}.state"))) {
            Ok(s) => s.trim().to_string(),
            Err(_) => self
                .config
                .env
                .iter()
                .find(|(k, _)| k == "PDU_INITIAL_STATE")
                .map_or("on".to_string(), |(_, v)| v.clone()),
        }
    }

    pub fn set_state(&self, outlet: u32, state: &str) {
        fs::write(
            self.dir.join(format!("outlet-{outlet}.state")),
            format!("{state}\n"),
        )
        .expect("state file");
    }

    /// Fault: SETs are acknowledged but no relay moves (`outlets` empty = all outlets).
    pub fn ignore_commands(&self, on: bool, outlets: &[u32]) {
        let p = self.dir.join("ignore-commands");
        if on {
            let list: Vec<String> = outlets.iter().map(u32::to_string).collect();
            fs::write(p, list.join(" ")).expect("ignore-commands");
        } else {
            let _ = fs::remove_file(p);
        }
    }

    /// Fault: every request into the vendor subtree is answered only after
    /// `PDU_DROP_SECONDS` (default 2 s), i.e. after a client with a short timeout gave up.
    pub fn drop_responses(&self, on: bool) {
        let p = self.dir.join("drop-responses");
        if on {
            fs::write(p, "").expect("drop-responses");
        } else {
            let _ = fs::remove_file(p);
        }
    }

    /// The outlet's status as net-snmp's `snmpget` reads it over SNMP (read-only probe
    /// community): the model's word for the value ("on", "off", "pendingon" …), so a test
    /// checks an agent's claim with a client we did not write. None when snmpget fails.
    pub fn snmpget_status(&self, outlet: u32) -> Option<String> {
        let (oid, values) = self.status_column(outlet);
        let mut cmd = self.net_snmp("snmpget");
        cmd.args(["-v2c", "-c", PROBE_COMMUNITY, "-Oqv"])
            .arg(format!("udp:127.0.0.1:{}", self.port))
            .arg(&oid);
        let out = crate::support::run_within(&mut cmd, Duration::from_secs(20));
        if !out.status.success() {
            return None;
        }
        let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
        values
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(word, _)| word.clone())
            .or(Some(format!("unknown value {value}")))
    }

    /// Sends the model's `action` command ("on", "off", "reboot") to `outlet` with net-snmp's
    /// `snmpset` and community `community` (a test's own read-write community); true when
    /// snmpset reports success.
    pub fn snmpset_command(&self, outlet: u32, action: &str, community: &str) -> bool {
        let model = self.model_file();
        let line = model_value(&model, "command");
        let mut words = line.split_whitespace();
        let oid = expand_template(words.next().expect("command OID"), outlet, &model);
        let value = words
            .find_map(|w| w.strip_prefix(&format!("{action}=")))
            .unwrap_or_else(|| panic!("model has no {action} command"))
            .to_string();
        let mut cmd = self.net_snmp("snmpset");
        cmd.args(["-v2c", "-c", community])
            .arg(format!("udp:127.0.0.1:{}", self.port))
            .args([oid.as_str(), "i", value.as_str()]);
        crate::support::run_within(&mut cmd, Duration::from_secs(20))
            .status
            .success()
    }

    fn model_file(&self) -> String {
        sim_dir()
            .join("pdu-models")
            .join(format!("{}.model", self.config.model))
            .to_string_lossy()
            .into_owned()
    }

    /// The status OID of `outlet` and the model's (word, value) pairs.
    fn status_column(&self, outlet: u32) -> (String, Vec<(String, String)>) {
        let model = self.model_file();
        let line = model_value(&model, "status");
        let mut words = line.split_whitespace();
        let oid = expand_template(words.next().expect("status OID"), outlet, &model);
        let values = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (oid, values)
    }

    /// A net-snmp tool run where the simulator is (its namespace), with no MIBs loaded.
    fn net_snmp(&self, tool: &str) -> std::process::Command {
        let mut cmd = match &self.config.netns {
            Some(ns) => {
                let mut c = std::process::Command::new("ip");
                c.args(["netns", "exec", ns, tool]);
                c
            }
            None => std::process::Command::new(tool),
        };
        cmd.env("MIBS", "").env("MIBDIRS", "/nonexistent");
        cmd
    }

    /// Per-outlet hook command run when the outlet's `action` ("off"/"on") takes effect.
    pub fn set_hook(&self, outlet: u32, action: &str, command: &str) {
        fs::write(
            self.dir.join(format!("outlet-{outlet}.{action}-hook")),
            command,
        )
        .expect("hook file");
    }

    /// The handler's log: SETs received and relay changes.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("pdu.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        crate::support::terminate(&mut self.child, Duration::from_secs(3));
    }
}

impl Drop for PduSim {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("PDU simulator state kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
