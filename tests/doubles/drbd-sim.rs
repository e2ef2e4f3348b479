//! `drbd-sim`: a stand-in for DRBD's `drbdadm` and `drbdsetup`, for tests and benchmarks on
//! machines without the DRBD kernel module.
//!
//! Invocation: through symlinks named `drbdadm` / `drbdsetup` (argv[0] decides), or
//! `drbd-sim drbdadm …` / `drbd-sim drbdsetup …`.
//!
//! State: one node's view lives in `$DRBD_SIM_DIR/state` (`key=value` lines, see [`State`]).
//! With `$DRBD_SIM_PEER_DIR` set to the other node's state directory the two simulated nodes
//! see each other (connection, roles, disk states, resync); without it the peer is described
//! by the `peer_*` keys of the local state.
//!
//! Output: byte-exact DRBD 9 `events2 --now` and `status --json` (drbd-utils 9.22.0 format
//! strings) and 8.4 `sh-status`, chosen by `$DRBD_SIM_VERSION` (`9`, default, or `8.4`).
//! Exit codes are DRBD's: 10 no such resource, 11 state change failed (held open), 17 no
//! UpToDate data, 20 no module.
//!
//! Misbehaviour, by files in the state directory: `hang` (every call sleeps an hour),
//! `fail-attach` (attach/up/adjust fail), `peer-disconnect` (the link is down),
//! `split-brain` (both sides StandAlone after a split brain), `no-module` (the kernel module
//! is missing), `held-open` (the device is open: secondary/down fail with 11).
//! A resync (one side UpToDate, the other Inconsistent/Outdated, connected) completes when
//! `resync_done` reaches 100 or the time in `resync_finish_at` (unix seconds) has passed;
//! `drbd-sim ctl finish-resync` completes it at once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::exit;

/// One node's state (`key=value`), with defaults for missing keys.
#[derive(Clone, Debug)]
struct State {
    map: BTreeMap<String, String>,
    dir: PathBuf,
}

impl State {
    fn load(dir: &Path) -> State {
        let mut map = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(dir.join("state")) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    map.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
        State {
            map,
            dir: dir.to_path_buf(),
        }
    }

    fn save(&self) {
        let mut text = String::new();
        for (k, v) in &self.map {
            let _ = writeln!(text, "{k}={v}");
        }
        let tmp = self.dir.join(format!("state.tmp.{}", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, self.dir.join("state"));
        }
    }

    fn get(&self, key: &str) -> &str {
        if let Some(v) = self.map.get(key) {
            return v;
        }
        match key {
            "resource" => "r0",
            "node_id" => "0",
            "peer_node_id" => "1",
            "peer_name" => "node2",
            "minor" => "0",
            "backing_dev" => "/dev/loop7",
            "up" => "yes",
            "net" => "yes",
            "role" => "Secondary",
            "md_disk" => "UpToDate",
            "client" => "no",
            "quorum" => "yes",
            "local_addr" => "10.99.0.1:7789",
            "peer_addr" => "10.99.0.2:7789",
            "size" => "1048576",
            // Peer description when no peer directory is given.
            "peer_up" => "yes",
            "peer_net" => "yes",
            "peer_role" => "Secondary",
            "peer_disk" => "UpToDate",
            "peer_client" => "no",
            _ => "",
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        self.map.insert(key.to_string(), value.to_string());
    }

    fn flag(&self, name: &str) -> bool {
        self.dir.join(name).exists()
    }

    fn yes(&self, key: &str) -> bool {
        self.get(key) == "yes"
    }

    fn device(&self) -> String {
        match self.map.get("device") {
            Some(d) => d.clone(),
            None => format!("/dev/drbd{}", self.get("minor")),
        }
    }

    /// The local disk state: Diskless when down or not attached, else the metadata's state.
    fn disk(&self) -> String {
        if !self.yes("up") || self.get("attached") == "no" {
            return "Diskless".into();
        }
        if self.yes("client") {
            return "Diskless".into();
        }
        self.map
            .get("disk")
            .cloned()
            .unwrap_or_else(|| self.get("md_disk").to_string())
    }
}

/// What the other node looks like from here.
struct PeerView {
    up: bool,
    net: bool,
    role: String,
    disk: String,
    client: bool,
    /// The peer's resync progress keys (the SyncTarget side owns them).
    resync_done: String,
    resync_finish_at: String,
}

fn peer_view(local: &State) -> PeerView {
    match std::env::var_os("DRBD_SIM_PEER_DIR").filter(|p| !p.is_empty()) {
        Some(dir) => {
            let p = State::load(Path::new(&dir));
            PeerView {
                up: p.yes("up") && !p.flag("no-module"),
                net: p.yes("net"),
                role: p.get("role").to_string(),
                disk: p.disk(),
                client: p.yes("client"),
                resync_done: p.get("resync_done").to_string(),
                resync_finish_at: p.get("resync_finish_at").to_string(),
            }
        }
        None => PeerView {
            up: local.yes("peer_up"),
            net: local.yes("peer_net"),
            role: local.get("peer_role").to_string(),
            disk: local.get("peer_disk").to_string(),
            client: local.yes("peer_client"),
            resync_done: local.get("resync_done").to_string(),
            resync_finish_at: local.get("resync_finish_at").to_string(),
        },
    }
}

/// The derived state of the resource on this node.
struct View {
    role: String,
    disk: String,
    client: bool,
    quorum: bool,
    /// DRBD 9 connection state name.
    connection: String,
    peer_role: String,
    peer_disk: String,
    peer_client: bool,
    /// DRBD 9 replication state name.
    replication: String,
    done: Option<f64>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn bad_data(d: &str) -> bool {
    matches!(d, "Inconsistent" | "Outdated")
}

fn view(st: &mut State) -> View {
    let peer = peer_view(st);
    let mut disk = st.disk();
    let connected = st.yes("up")
        && st.yes("net")
        && peer.up
        && peer.net
        && !st.flag("peer-disconnect")
        && !st.flag("split-brain");
    // A resync completes by time or by command; the SyncTarget side records the result.
    let mut done = None;
    let mut peer_disk = if connected {
        peer.disk.clone()
    } else {
        "DUnknown".to_string()
    };
    let mut replication = if connected { "Established" } else { "Off" }.to_string();
    if connected {
        let target = bad_data(&disk) && peer_disk == "UpToDate";
        let source = disk == "UpToDate" && bad_data(&peer_disk);
        if target || source {
            let (done_key, finish_key) = if target {
                (
                    st.get("resync_done").to_string(),
                    st.get("resync_finish_at").to_string(),
                )
            } else {
                (peer.resync_done.clone(), peer.resync_finish_at.clone())
            };
            let finish = finish_key.parse::<u64>().ok();
            let pct = done_key.parse::<f64>().unwrap_or(0.0);
            let finished = pct >= 100.0 || finish.is_some_and(|f| now() >= f);
            if finished {
                if target {
                    st.set("md_disk", "UpToDate");
                    st.map.remove("disk");
                    st.map.remove("resync_done");
                    st.save();
                    disk = "UpToDate".into();
                } else {
                    peer_disk = "UpToDate".into();
                }
            } else {
                replication = if target { "SyncTarget" } else { "SyncSource" }.into();
                if target {
                    disk = "Inconsistent".into();
                } else {
                    peer_disk = "Inconsistent".into();
                }
                done = Some(pct);
            }
        }
    }
    let connection = if !st.yes("up") || st.flag("split-brain") || !st.yes("net") {
        "StandAlone"
    } else if connected {
        "Connected"
    } else {
        "Connecting"
    };
    View {
        role: st.get("role").to_string(),
        disk,
        client: st.yes("client"),
        quorum: st.yes("quorum"),
        connection: connection.to_string(),
        peer_role: if connected {
            peer.role.clone()
        } else {
            "Unknown".into()
        },
        peer_disk,
        peer_client: connected && peer.client,
        replication,
        done,
    }
}

fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `drbdsetup events2 --now R` (drbd-utils 9.22.0 `print_*_changes` for "exists").
fn events2(st: &mut State, resource: &str) -> String {
    let mut out = String::new();
    if resource != st.get("resource") || !st.yes("up") {
        out.push_str("exists -\n");
        return out;
    }
    let v = view(st);
    let may_promote = v.role == "Secondary" && v.disk == "UpToDate" && v.peer_role != "Primary";
    let score = if v.disk == "UpToDate" { 10102 } else { 0 };
    let r = st.get("resource").to_string();
    let (pid, pname) = (st.get("peer_node_id"), st.get("peer_name"));
    let _ = writeln!(
        out,
        "exists resource name:{r} role:{} suspended:no force-io-failures:no may_promote:{} promotion_score:{score}",
        v.role,
        yn(may_promote)
    );
    let _ = writeln!(
        out,
        "exists connection name:{r} peer-node-id:{pid} conn-name:{pname} connection:{} role:{}",
        v.connection, v.peer_role
    );
    let backing = if v.disk == "Diskless" {
        "none".to_string()
    } else {
        st.get("backing_dev").to_string()
    };
    let _ = writeln!(
        out,
        "exists device name:{r} volume:0 minor:{} backing_dev:{backing} disk:{} client:{} quorum:{}",
        st.get("minor"),
        v.disk,
        yn(v.client),
        yn(v.quorum)
    );
    let _ = write!(
        out,
        "exists peer-device name:{r} peer-node-id:{pid} conn-name:{pname} volume:0 replication:{} peer-disk:{} peer-client:{} resync-suspended:no",
        v.replication,
        v.peer_disk,
        yn(v.peer_client)
    );
    if let Some(d) = v.done {
        let _ = write!(out, " done:{d:.2}");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "exists path name:{r} peer-node-id:{pid} conn-name:{pname} local:ipv4:{} peer:ipv4:{} established:{}",
        st.get("local_addr"),
        st.get("peer_addr"),
        yn(v.connection == "Connected")
    );
    out.push_str("exists -\n");
    out
}

/// `drbdsetup status R --json` (drbd-utils 9.22.0 `status_cmd` and `*_status_json`).
fn status_json(st: &mut State, resource: &str) -> Option<String> {
    let mut out = String::from("[\n");
    if resource != st.get("resource") || !st.yes("up") {
        return None;
    }
    let v = view(st);
    let size: u64 = st.get("size").parse().unwrap_or(0);
    let _ = write!(
        out,
        "{{\n  \"name\": \"{}\",\n  \"node-id\": {},\n  \"role\": \"{}\",\n  \"suspended\": false,\n  \"suspended-user\": false,\n  \"suspended-no-data\": false,\n  \"suspended-fencing\": false,\n  \"suspended-quorum\": false,\n  \"force-io-failures\": false,\n  \"write-ordering\": \"flush\",\n  \"devices\": [\n",
        st.get("resource"),
        st.get("node_id"),
        v.role
    );
    let _ = write!(
        out,
        "    {{\n      \"volume\": 0,\n      \"minor\": {},\n      \"disk-state\": \"{}\",\n      \"client\": {},\n      \"quorum\": {},\n      \"size\": {size},\n      \"read\": 0,\n      \"written\": 0,\n      \"al-writes\": 0,\n      \"bm-writes\": 0,\n      \"upper-pending\": 0,\n      \"lower-pending\": 0\n    }}",
        st.get("minor"),
        v.disk,
        v.client,
        v.quorum
    );
    out.push_str(" ],\n  \"connections\": [\n");
    let _ = write!(
        out,
        "    {{\n      \"peer-node-id\": {},\n      \"name\": \"{}\",\n      \"connection-state\": \"{}\", \n      \"congested\": false,\n      \"peer-role\": \"{}\",\n      \"ap-in-flight\": 0,\n      \"rs-in-flight\": 0,\n      \"peer_devices\": [\n",
        st.get("peer_node_id"),
        st.get("peer_name"),
        v.connection,
        v.peer_role
    );
    let in_sync = v.done.unwrap_or(100.0);
    let oos = ((100.0 - in_sync) / 100.0 * size as f64) as u64;
    let _ = write!(
        out,
        "        {{\n          \"volume\": 0,\n          \"replication-state\": \"{}\",\n          \"peer-disk-state\": \"{}\",\n          \"peer-client\": {},\n          \"resync-suspended\": \"no\",\n          \"received\": 0,\n          \"sent\": 0,\n          \"out-of-sync\": {oos},\n          \"pending\": 0,\n          \"unacked\": 0,\n          \"has-sync-details\": false,\n          \"has-online-verify-details\": false,\n          \"percent-in-sync\": {in_sync:.2}{}\n",
        v.replication,
        v.peer_disk,
        v.peer_client,
        if v.done.is_some() { "," } else { "" }
    );
    if let Some(d) = v.done {
        let _ = writeln!(out, "          \"percent-resync-done\": {d:.2}");
    }
    out.push_str("        } ]\n    } ]\n}\n");
    out.push_str("]\n\n");
    Some(out)
}

/// 8.4 `drbdsetup sh-status R` (`sh_status_scmd`).
fn sh_status(st: &mut State, resource: &str) -> String {
    let mut out = String::new();
    if resource != st.get("resource") {
        return out;
    }
    let _ = write!(
        out,
        "_minor={}\n_res_name={}\n_volume=0\n",
        st.get("minor"),
        st.get("resource")
    );
    if !st.yes("up") {
        out.push_str("_known=Unconfigured\n\n_cstate=Unconfigured\n_role=\n_peer=\n_disk=\n_pdsk=\n_flags_susp=\n_flags_aftr_isp=\n_flags_peer_isp=\n_flags_user_isp=\n_resynced_percent=\n");
    } else {
        let v = view(st);
        let cstate = match (v.connection.as_str(), v.replication.as_str()) {
            ("Connecting", _) => "WFConnection",
            ("Connected", "Established") => "Connected",
            ("Connected", r) => r,
            (c, _) => c,
        };
        let _ = write!(
            out,
            "_known=Configured\n\n_cstate={cstate}\n_role={}\n_peer={}\n_disk={}\n_pdsk={}\n\n_flags_susp=\n_flags_aftr_isp=\n_flags_peer_isp=\n_flags_user_isp=\n\n_resynced_percent=",
            v.role, v.peer_role, v.disk, v.peer_disk
        );
        if let Some(d) = v.done {
            let permille = (d * 10.0) as u32;
            let _ = write!(out, "{}.{}", permille / 10, permille % 10);
        }
        out.push('\n');
    }
    out.push_str("\n_sh_status_process\n\n\n");
    out
}

fn v9() -> bool {
    std::env::var("DRBD_SIM_VERSION").map_or(true, |v| v != "8.4")
}

fn fail(code: i32, msg: &str) -> ! {
    eprintln!("{msg}");
    exit(code)
}

fn no_module() -> ! {
    fail(20, "Failed to modprobe drbd (No such file or directory)")
}

fn state_change_failed(res: &str, code: i32, text: &str, exit_code: i32) -> ! {
    fail(
        exit_code,
        &format!("{res}: State change failed: ({code}) {text}"),
    )
}

fn check_resource(st: &State, res: &str, tool: &str) {
    if res != st.get("resource") {
        if tool == "drbdadm" {
            fail(
                10,
                &format!("'{res}' not defined in your config (for this host)."),
            );
        }
        fail(10, &format!("{res}: No such resource"));
    }
}

/// Applies a state-changing command shared by drbdadm and drbdsetup.
fn change(st: &mut State, cmd: &str, res: &str, tool: &str) {
    check_resource(st, res, tool);
    if st.flag("no-module") {
        no_module();
    }
    match cmd {
        "up" | "attach" | "adjust" | "adjust-skip-net" => {
            if st.flag("fail-attach") && (cmd != "adjust" || st.get("attached") != "yes") {
                fail(
                    10,
                    &format!("{res}/0 drbd{}: Failure: (118) Can not open backing device.\nCommand 'drbdsetup attach {}' terminated with exit code 10", st.get("minor"), st.get("minor")),
                );
            }
            st.set("up", "yes");
            st.set("attached", "yes");
            if cmd == "up" || cmd == "adjust" {
                st.set("net", "yes");
            }
        }
        "connect" => st.set("net", "yes"),
        "disconnect" => st.set("net", "no"),
        "down" => {
            if st.flag("held-open") && st.yes("up") {
                state_change_failed(res, -12, "Device is held open by someone", 11);
            }
            st.set("up", "no");
            st.set("role", "Secondary");
            st.set("net", "no");
        }
        "primary" => {
            if !st.yes("up") {
                fail(10, &format!("{res}: No such resource"));
            }
            let v = view(st);
            let allow_two = st.yes("allow_two_primaries");
            if v.peer_role == "Primary" && !allow_two {
                state_change_failed(res, -1, "Multiple primaries not allowed by config", 11);
            }
            let remote_ok = v.connection == "Connected" && v.peer_disk == "UpToDate";
            if v.disk != "UpToDate" && !remote_ok {
                state_change_failed(res, -2, "Need access to UpToDate data", 17);
            }
            st.set("role", "Primary");
        }
        "secondary" => {
            if st.flag("held-open") && st.get("role") == "Primary" {
                state_change_failed(res, -12, "Device is held open by someone", 11);
            }
            st.set("role", "Secondary");
        }
        "outdate" => {
            if st.get("role") == "Primary" && st.yes("up") {
                state_change_failed(res, -7, "Refusing to be Outdated while Connected", 11);
            }
            // A resource that is down is outdated in its on-disk metadata (drbdmeta).
            let d = if st.yes("up") {
                st.disk()
            } else {
                st.get("md_disk").to_string()
            };
            if matches!(d.as_str(), "UpToDate" | "Consistent" | "Outdated") {
                st.set("md_disk", "Outdated");
                st.map.remove("disk");
            } else if d == "Diskless" {
                fail(20, &format!("{res}: Can not outdate a diskless device"));
            } else {
                state_change_failed(res, -13, "Disk state is lower than outdated", 5);
            }
        }
        _ => {}
    }
    st.save();
}

/// The first argument that is not an option (and not an option's value).
fn positional(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a == "-c" || a == "--config-file" || a == "--peer" {
            skip = true;
            continue;
        }
        if a.starts_with('-') {
            continue;
        }
        out.push(a.clone());
    }
    out
}

fn version_text() -> String {
    let (code, v) = if v9() {
        ("0x090202", "9.2.2")
    } else {
        ("0x08040b", "8.4.11")
    };
    format!(
        "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\nDRBDADM_API_VERSION=2\nDRBD_KERNEL_VERSION_CODE={code}\nDRBD_KERNEL_VERSION={v}\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n"
    )
}

fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

fn drbdadm(st: &mut State, args: &[String]) {
    if args.iter().any(|a| a == "--version") {
        if st.flag("no-module") {
            print(
                &version_text()
                    .replace("0x090202", "0x000000")
                    .replace("0x08040b", "0x000000")
                    .replace("=9.2.2\n", "=0\n")
                    .replace("=8.4.11\n", "=0\n"),
            );
        } else {
            print(&version_text());
        }
        return;
    }
    let pos = positional(args);
    let cmd = pos.first().map(String::as_str).unwrap_or("");
    // `R:peer` (adjust towards one peer) names the resource before the colon.
    let res = pos
        .get(1)
        .map(|r| r.split(':').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let skip_net = args.iter().any(|a| a == "--skip-net");
    match cmd {
        "sh-dev" => {
            check_resource(st, &res, "drbdadm");
            print(&format!("{}\n", st.device()));
        }
        "sh-mod-parms" => print("minor_count=255\n"),
        "dump" => {
            check_resource(st, &res, "drbdadm");
            let extra = if st.yes("allow_two_primaries") {
                "        allow-two-primaries yes;\n"
            } else {
                ""
            };
            print(&format!(
                "resource {res} {{\n    net {{\n{extra}    }}\n}}\n"
            ));
        }
        "new-resource" | "new-minor" | "check-resize" | "syncer" | "wait-connect" => {
            check_resource(st, &res, "drbdadm");
        }
        // Runs the unfence-peer handler: recorded with the options drbd.ocf's contract passes
        // in the environment.
        "unfence-peer" => {
            check_resource(st, &res, "drbdadm");
            let extra = std::env::var("OCF_RESKEY_unfence_extra_args").unwrap_or_default();
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(st.dir.join("unfence.log"))
                .unwrap_or_else(|e| fail(20, &format!("drbd-sim: unfence.log: {e}")));
            let _ = writeln!(log, "unfence-peer {res} extra_args={extra}");
        }
        "adjust" if skip_net => change(st, "adjust-skip-net", &res, "drbdadm"),
        "up" | "down" | "attach" | "adjust" | "connect" | "disconnect" | "primary"
        | "secondary" | "outdate" => change(st, cmd, &res, "drbdadm"),
        "role" | "cstate" | "dstate" => query(st, cmd, &res),
        "" => fail(1, "USAGE: drbdadm COMMAND [OPTION...] {all|RESOURCE...}"),
        other => fail(1, &format!("drbdadm: Unknown command '{other}'")),
    }
}

fn query(st: &mut State, cmd: &str, res: &str) {
    check_resource(st, res, "drbdsetup");
    if st.flag("no-module") {
        no_module();
    }
    if !st.yes("up") {
        print("Unconfigured\n");
        return;
    }
    let v = view(st);
    match cmd {
        "role" => print(&format!("{}\n", v.role)),
        "cstate" => print(&format!("{}\n", v.connection)),
        _ => print(&format!("{}/{}\n", v.disk, v.peer_disk)),
    }
}

fn drbdsetup(st: &mut State, args: &[String]) {
    let pos = positional(args);
    let cmd = pos.first().map(String::as_str).unwrap_or("");
    let res = pos.get(1).cloned().unwrap_or_default();
    let kernel_cmd = !matches!(cmd, "" | "help");
    if kernel_cmd && st.flag("no-module") {
        no_module();
    }
    match cmd {
        "events2" => {
            if !args.iter().any(|a| a == "--now") {
                fail(20, "drbd-sim: only events2 --now is simulated");
            }
            let res = if res.is_empty() { "all".into() } else { res };
            let name = st.get("resource").to_string();
            print(&events2(st, if res == "all" { &name } else { &res }));
        }
        "status" if args.iter().any(|a| a == "--json" || a == "-j") => {
            match status_json(st, &res) {
                Some(text) => print(&text),
                None => {
                    print("[\n]\n\n");
                    fail(10, &format!("{res}: No such resource"));
                }
            }
        }
        // The real 8.4 drbdsetup (seen in the VM lab) prints nothing and exits 19 for a
        // resource that is configured but not up in the kernel.
        "sh-status" if !st.yes("up") => std::process::exit(19),
        "sh-status" => print(&sh_status(st, &res)),
        "role" | "cstate" | "dstate" => query(st, cmd, &res),
        "wait-connect-resource" | "wait-connect-connection" => {
            check_resource(st, &res, "drbdsetup");
            wait_connect(st, args);
        }
        // 8.4 waits per device.
        "wait-connect" => {
            if res != st.device() {
                fail(10, &format!("{res}: No such device"));
            }
            wait_connect(st, args);
        }
        "down" | "primary" | "secondary" | "outdate" | "connect" | "disconnect" => {
            change(st, cmd, &res, "drbdsetup")
        }
        "" => fail(20, "USAGE: drbdsetup command {arguments} [options]"),
        other => fail(20, &format!("drbdsetup: unknown command '{other}'")),
    }
}

/// Records each wait (`wfc.log`); with `wfc_blocks=yes` and no connection, blocks for the
/// `--wfc-timeout` (0: for good) and then fails as DRBD does on a timeout (exit 5).
fn wait_connect(st: &mut State, args: &[String]) {
    let wfc = args
        .iter()
        .find_map(|a| a.strip_prefix("--wfc-timeout="))
        .unwrap_or("0")
        .to_string();
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(st.dir.join("wfc.log"))
    {
        let _ = writeln!(log, "{}", args.join(" "));
    }
    if !st.yes("wfc_blocks") || view(st).connection == "Connected" {
        return;
    }
    let secs = match wfc.parse::<u64>() {
        Ok(0) | Err(_) => 3600,
        Ok(n) => n,
    };
    std::thread::sleep(std::time::Duration::from_secs(secs));
    fail(5, "wait-connect: timeout")
}

fn ctl(st: &mut State, args: &[String]) {
    for a in args {
        if a == "finish-resync" {
            st.set("resync_done", "100");
            if let Some(dir) = std::env::var_os("DRBD_SIM_PEER_DIR").filter(|p| !p.is_empty()) {
                let mut peer = State::load(Path::new(&dir));
                peer.set("resync_done", "100");
                peer.save();
            }
        } else if let Some((k, v)) = a.split_once('=') {
            if v.is_empty() {
                st.map.remove(k);
            } else {
                st.set(k, v);
            }
        } else {
            fail(
                2,
                &format!("drbd-sim ctl: expected key=value or finish-resync, got {a}"),
            );
        }
    }
    st.save();
}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    let mut tool = argv0;
    if tool != "drbdadm" && tool != "drbdsetup" {
        if args.len() < 2 {
            fail(2, "usage: drbd-sim {drbdadm|drbdsetup|ctl} ARGS…");
        }
        tool = args.remove(1);
    }
    let rest: Vec<String> = args.into_iter().skip(1).collect();
    let dir = match std::env::var_os("DRBD_SIM_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => fail(20, "drbd-sim: DRBD_SIM_DIR is not set"),
    };
    let mut st = State::load(&dir);
    if st.flag("hang") && tool != "ctl" {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
    match tool.as_str() {
        "drbdadm" => drbdadm(&mut st, &rest),
        "drbdsetup" => drbdsetup(&mut st, &rest),
        "ctl" => ctl(&mut st, &rest),
        other => fail(2, &format!("drbd-sim: unknown tool {other}")),
    }
}
