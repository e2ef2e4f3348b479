//! `ocf:bulwark:axigen` against the Axigen stand-in (`tests/doubles/axigen-standin.rs`), through
//! ocf-tester, direct invocations, crm_resource and a one-node Pacemaker with pcs. Run as root
//! after `cargo build --workspace --bins`.
//!
//! Every test has its own stand-in installation (`support::axigen::Install`), so parallel tests
//! never see (or stop) each other's servers.

mod support;

use bulwark::axigen::procs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;
use support::axigen::{Install, PASSWORD};
use support::{
    argv_holding, assert_refused, exit_reason, output_text, overlay_exec, wait_for, Cluster,
    RunnableBin, Stage,
};

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn assert_no_password_in(what: &str, text: &str) {
    assert!(!text.contains(PASSWORD), "password in {what}");
}

#[test]
fn ocf_tester_passes() {
    let ax = Install::new();
    // ocf-tester runs the agent as `nobody` too.
    let agent = RunnableBin::new("axigen");
    let mut cmd = Command::new("ocf-tester");
    cmd.args(["-n", "mail"]);
    for (k, v) in ax.params() {
        cmd.arg("-o").arg(format!("{k}={v}"));
    }
    cmd.arg(agent.path());
    let out = support::run(&mut cmd);
    let t = output_text(&out);
    assert!(out.status.success(), "ocf-tester failed:\n{t}");
    assert!(t.contains("passed all tests"), "{t}");
    assert!(ax.processes().is_empty(), "ocf-tester ends with a stop");
}

#[test]
fn lifecycle_at_every_depth_with_misbehaviour() {
    let ax = Install::new();
    let probe = ax.agent("monitor", &ax.params(), 0, 0);
    assert_eq!(code(&probe), Some(7), "{}", output_text(&probe));

    let start = ax.op("start", 0);
    assert_eq!(code(&start), Some(0), "{}", output_text(&start));
    let now = ax.processes();
    let sup = now.supervisor.expect("a supervisor after start");
    // Detached: a session of its own, not ours, and not our child.
    // SAFETY: getsid(0) reads our own session id.
    assert_ne!(sup.sid, unsafe { libc::getsid(0) });
    assert_ne!(sup.ppid, std::process::id() as i32);
    assert!(now.supervisor_has_workers());
    for level in [0, 10, 20] {
        let m = ax.op("monitor", level);
        assert_eq!(code(&m), Some(0), "depth {level}: {}", output_text(&m));
    }
    assert_eq!(code(&ax.op("start", 10)), Some(0), "start when started");
    let holders = argv_holding(PASSWORD);
    assert!(holders.is_empty(), "password in argv: {holders:?}");

    // A hung non-critical listener: degraded, naming it; critical: failed.
    ax.control("hang imap\n");
    let m = ax.op("monitor", 10);
    assert_eq!(code(&m), Some(190), "{}", output_text(&m));
    assert!(
        exit_reason(&m).contains("imap listener"),
        "{}",
        output_text(&m)
    );
    assert!(
        exit_reason(&m).contains("no greeting"),
        "{}",
        output_text(&m)
    );
    assert_eq!(code(&ax.op("monitor", 0)), Some(0), "depth 0 does not look");
    let crit = ax.agent(
        "monitor",
        &ax.with(&[("critical", "smtp,imap")]),
        10,
        10_000,
    );
    assert_eq!(code(&crit), Some(1), "{}", output_text(&crit));
    ax.control("hang smtp\n");
    let m = ax.op("monitor", 10);
    assert_eq!(code(&m), Some(1), "{}", output_text(&m));
    assert!(
        exit_reason(&m).contains("smtp listener"),
        "{}",
        output_text(&m)
    );

    // Refused CLI login: depth 10 still passes, depth 20 fails.
    ax.control("refuse-login\n");
    assert_eq!(code(&ax.op("monitor", 10)), Some(0));
    let m = ax.op("monitor", 20);
    assert_eq!(code(&m), Some(1), "{}", output_text(&m));
    assert!(
        exit_reason(&m).contains("login refused"),
        "{}",
        output_text(&m)
    );
    assert_no_password_in("exit reason", &output_text(&m));
    // A wrong password in the file: same, and never echoed.
    ax.control("");
    let wrong = ax.dir.join("wrong.pw");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let m = ax.agent(
        "monitor",
        &ax.with(&[("cli_password_file", &wrong.display().to_string())]),
        20,
        10_000,
    );
    assert_eq!(code(&m), Some(1), "{}", output_text(&m));
    assert!(!output_text(&m).contains("not-the-password"));
    // Depth 20 with an unreadable password file: a configuration error.
    let m = ax.agent(
        "monitor",
        &ax.with(&[("cli_password_file", "/nonexistent/cli.pw")]),
        20,
        10_000,
    );
    assert_eq!(code(&m), Some(6), "{}", output_text(&m));
    assert!(exit_reason(&m).contains("/nonexistent/cli.pw"));

    let stop = ax.op("stop", 0);
    assert_eq!(code(&stop), Some(0), "{}", output_text(&stop));
    assert!(ax.processes().is_empty());
    assert_eq!(code(&ax.op("monitor", 0)), Some(7));
    assert_eq!(code(&ax.op("monitor", 10)), Some(7));
    assert_eq!(code(&ax.op("stop", 0)), Some(0), "stop when stopped");

    // No log line carried the password (debug logging was on for every call).
    let log = std::fs::read_to_string(ax.log()).unwrap();
    assert!(log.contains("Axigen started"), "{log}");
    assert_no_password_in("the agent's log", &log);
}

#[test]
fn crash_is_not_running() {
    let ax = Install::new();
    assert_eq!(code(&ax.op("start", 0)), Some(0));
    ax.control("crash\n");
    assert!(
        wait_for(Duration::from_secs(10), || ax.processes().is_empty()),
        "the stand-in did not crash"
    );
    let m = ax.op("monitor", 0);
    assert_eq!(code(&m), Some(7), "{}", output_text(&m));
    assert_eq!(code(&ax.agent("monitor", &ax.params(), 10, 0)), Some(7));
    assert_eq!(code(&ax.op("stop", 0)), Some(0));
}

#[test]
fn sigterm_ignoring_server_is_killed_within_the_stop_deadline() {
    let ax = Install::new();
    assert_eq!(code(&ax.op("start", 0)), Some(0));
    ax.control("ignore-term\n");
    // Let the supervisor read the directive (it re-reads every 50 ms).
    std::thread::sleep(Duration::from_millis(300));
    let [smtp, ..] = ax.ports;
    // A 1 s graceful phase; the agent's own deadline (timeout less margin) bounds the rest: an
    // exit code at all proves it finished before Pacemaker would have killed it.
    let stop = ax.agent("stop", &ax.with(&[("stop_timeout", "1")]), 0, 0);
    assert_eq!(code(&stop), Some(0), "{}", output_text(&stop));
    assert!(ax.processes().is_empty(), "{:?}", ax.processes());
    assert!(
        TcpListener::bind(("127.0.0.1", smtp)).is_ok(),
        "SMTP port still bound"
    );
    let log = std::fs::read_to_string(ax.log()).unwrap();
    assert!(log.contains("SIGKILL"), "{log}");
}

#[test]
fn orphan_child_does_not_survive_stop() {
    let ax = Install::new();
    ax.control("orphan\n");
    assert_eq!(code(&ax.op("start", 0)), Some(0));
    assert!(
        wait_for(Duration::from_secs(10), || !ax
            .processes()
            .strays
            .is_empty()),
        "no orphan appeared"
    );
    let orphan = ax.processes().strays[0];
    let stop = ax.op("stop", 0);
    assert_eq!(code(&stop), Some(0), "{}", output_text(&stop));
    assert!(ax.processes().is_empty(), "{:?}", ax.processes());
    // Gone: dead (a zombie until init reaps it) or its pid reused by a younger process.
    let alive = std::fs::read_to_string(format!("/proc/{}/stat", orphan.pid))
        .ok()
        .and_then(|s| procs::parse_stat(&s))
        .is_some_and(|p| p.start_time == orphan.start_time && p.state != 'Z');
    assert!(!alive, "the orphan {} survived the stop", orphan.pid);
}

#[test]
fn stop_with_an_unusable_configuration_still_stops_axigen() {
    let ax = Install::new();
    assert_eq!(code(&ax.op("start", 0)), Some(0));
    let bad = ax.with(&[("listeners", "smtp,nntp")]);
    assert_eq!(code(&ax.agent("validate-all", &bad, 0, 0)), Some(6));
    let stop = ax.agent("stop", &bad, 0, 0);
    assert_eq!(code(&stop), Some(0), "{}", output_text(&stop));
    assert!(ax.processes().is_empty());
}

#[test]
fn bad_input_is_refused_with_one_reason() {
    let ax = Install::new();
    let cases: &[(&str, &str, &str)] = &[
        ("listeners", "smtp nntp", "unknown listener \"nntp\""),
        ("listeners", "smtp:70000", "70000"),
        ("cli_port", "70000", "cli_port"),
        ("cli_port", "0", "cli_port"),
        ("critical", "smtp,gopher", "gopher"),
        ("datadir", "var/opt/axigen", "datadir"),
        ("binary", "axigen", "binary"),
        ("probe_address", "localhost", "probe_address"),
        ("options", "--foreground -A secret", "admin password"),
        ("cli_command", "SAVE CONFIG", "read-only"),
        ("start_method", "upstart", "start_method"),
    ];
    for (name, value, needle) in cases {
        let params = ax.with(&[(name, value)]);
        for action in ["validate-all", "start"] {
            let out = ax.agent(action, &params, 0, 0);
            let reason = assert_refused(&out, 6, needle, &format!("{action} {name}={value}"));
            assert_eq!(reason.lines().count(), 1);
        }
        let probe = ax.agent("monitor", &params, 0, 0);
        assert_eq!(
            code(&probe),
            Some(7),
            "probe {name}={value}: {}",
            output_text(&probe)
        );
    }
    assert!(ax.processes().is_empty(), "bad input started something");
    // The password file: not read by validate-all at level 0 (pcs runs it on any node), read
    // at level 10, at start when set, and by the depth-20 check.
    let missing = ax.with(&[("cli_password_file", "/nonexistent/pw")]);
    assert_eq!(code(&ax.agent("validate-all", &missing, 0, 0)), Some(0));
    let v10 = ax.agent("validate-all", &missing, 10, 0);
    assert_eq!(code(&v10), Some(6), "{}", output_text(&v10));
    assert!(exit_reason(&v10).contains("/nonexistent/pw"));
    let start = ax.agent("start", &missing, 0, 0);
    assert_eq!(code(&start), Some(6), "{}", output_text(&start));
    assert!(ax.processes().is_empty());
    let relative = ax.with(&[("cli_password_file", "cli.pw")]);
    assert_eq!(code(&ax.agent("validate-all", &relative, 0, 0)), Some(6));
    // A good configuration validates at both levels.
    assert_eq!(code(&ax.agent("validate-all", &ax.params(), 0, 0)), Some(0));
    assert_eq!(
        code(&ax.agent("validate-all", &ax.params(), 10, 0)),
        Some(0)
    );
}

#[test]
fn start_refuses_a_data_directory_that_is_missing_or_not_mounted() {
    struct Mounted(PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let ax = Install::new();
    let missing = ax.with(&[("datadir", "/nonexistent/axigen-data")]);
    let out = ax.agent("start", &missing, 0, 0);
    assert_eq!(code(&out), Some(5), "{}", output_text(&out));
    assert!(
        exit_reason(&out).contains("does not exist"),
        "{}",
        output_text(&out)
    );

    let mounted = ax.with(&[("require_mount", "true")]);
    let out = ax.agent("start", &mounted, 0, 0);
    assert_eq!(code(&out), Some(5), "{}", output_text(&out));
    assert!(
        exit_reason(&out).contains("not a mount point"),
        "{}",
        output_text(&out)
    );
    let v = ax.agent("validate-all", &mounted, 10, 0);
    assert_eq!(code(&v), Some(5), "{}", output_text(&v));
    assert_eq!(code(&ax.agent("validate-all", &mounted, 0, 0)), Some(0));
    assert!(ax.processes().is_empty(), "started onto the wrong disk");

    // The replicated filesystem's stand-in: a tmpfs on the data directory.
    nix::mount::mount(
        Some("tmpfs"),
        &ax.data,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=8m,mode=0755"),
    )
    .unwrap();
    let _guard = Mounted(ax.data.clone());
    std::fs::create_dir_all(ax.data.join("run")).unwrap();
    std::fs::write(ax.data.join("run/cli.pw"), format!("{PASSWORD}\n")).unwrap();
    let out = ax.agent("start", &mounted, 10, 0);
    assert_eq!(code(&out), Some(0), "{}", output_text(&out));
    assert_eq!(code(&ax.agent("monitor", &mounted, 20, 10_000)), Some(0));
    let out = ax.agent("stop", &mounted, 0, 0);
    assert_eq!(code(&out), Some(0), "{}", output_text(&out));
}

#[test]
fn probe_without_axigen_installed_is_not_running() {
    let ax = Install::new();
    let absent = ax.with(&[("binary", "/nonexistent/opt/axigen/bin/axigen")]);
    let out = ax.agent("monitor", &absent, 0, 0);
    assert_eq!(code(&out), Some(7), "{}", output_text(&out));
    let out = ax.agent("start", &absent, 0, 0);
    assert_eq!(code(&out), Some(5), "{}", output_text(&out));
    assert!(exit_reason(&out).contains("/nonexistent/opt/axigen/bin/axigen"));
}

#[test]
fn run_user_is_dropped_to_and_recognised() {
    let ax = Install::new();
    for p in [&ax.dir, &ax.data, &ax.data.join("run")] {
        std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
    }
    for f in ["run/cli.pw", "run/standin-control"] {
        std::os::unix::fs::chown(ax.data.join(f), Some(65534), Some(65534)).unwrap();
    }
    let params = ax.with(&[("user", "nobody"), ("logfile", "")]);
    let out = ax.agent("start", &params, 0, 0);
    assert_eq!(code(&out), Some(0), "{}", output_text(&out));
    let sup = ax.processes().supervisor.expect("supervisor");
    let owner = std::fs::metadata(format!("/proc/{}", sup.pid)).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    assert_eq!(owner.unwrap(), 65534);
    assert_eq!(code(&ax.agent("monitor", &params, 20, 10_000)), Some(0));
    // Owned by another user than configured: not this resource's server.
    let other = ax.with(&[("user", "daemon")]);
    assert_eq!(code(&ax.agent("monitor", &other, 0, 10_000)), Some(7));
    assert_eq!(code(&ax.agent("stop", &params, 0, 0)), Some(0));
    assert!(ax.processes().is_empty());
}

fn crm_args(ax: &Install, op: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "crm_resource",
        op,
        "--class",
        "ocf",
        "--provider",
        "bulwark",
        "--agent",
        "axigen",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (k, val) in ax.params() {
        v.push("--option".into());
        v.push(format!("{k}={val}"));
    }
    v
}

#[test]
fn crm_resource_force_start_check_stop() {
    let stage = Stage::from_workspace();
    stage.require_ocf("axigen");
    let ax = Install::new();
    let crm = |op: &str| -> Output {
        let args = crm_args(&ax, op);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        overlay_exec(&stage, &args)
    };
    let out = crm("--force-check");
    assert_eq!(code(&out), Some(7), "{}", output_text(&out));
    let out = crm("--force-start");
    assert_eq!(code(&out), Some(0), "{}", output_text(&out));
    for level in ["--force-check", "--force-check=10", "--force-check=20"] {
        let out = crm(level);
        assert_eq!(code(&out), Some(0), "{level}: {}", output_text(&out));
    }
    ax.control("hang pop3\n");
    let out = crm("--force-check=10");
    assert_eq!(code(&out), Some(190), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("pop3 listener"),
        "{}",
        output_text(&out)
    );
    ax.control("refuse-login\n");
    let out = crm("--force-check=20");
    assert_eq!(code(&out), Some(1), "{}", output_text(&out));
    ax.control("");
    let out = crm("--force-stop");
    assert_eq!(code(&out), Some(0), "{}", output_text(&out));
    assert!(ax.processes().is_empty());
}

#[test]
fn pcs_resource_create_under_pacemaker() {
    let stage = Stage::from_workspace();
    stage.require_ocf("axigen");
    let cluster = Cluster::single(&stage);
    // Under the lab directory: the node sees the host's filesystem there.
    let ax = Install::in_dir(cluster.lab_dir().join("axigen"), None);
    let mut cmd: Vec<String> = ["pcs", "resource", "create", "mail", "ocf:bulwark:axigen"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (k, v) in ax.params() {
        cmd.push(format!("{k}={v}"));
    }
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    cluster.exec_ok(&cmd);
    cluster.assert_started("mail", "node1", Duration::from_secs(90));
    assert_eq!(cluster.resource_nodes("mail"), ["node1"]);
    // pcs copied both advertised monitors (depth 0 and depth 10).
    let cib = cluster.exec_ok(&["cibadmin", "--query", "--scope", "resources"]);
    assert!(cib.contains("OCF_CHECK_LEVEL"), "{cib}");
    assert!(ax.processes().supervisor.is_some());
    cluster.exec_ok(&["pcs", "resource", "disable", "mail"]);
    let stopped = cluster.wait_for(Duration::from_secs(90), || ax.processes().is_empty());
    assert!(stopped, "Axigen still running after disable");
    for n in 1..=cluster.node_count() {
        let log = std::fs::read_to_string(cluster.pacemaker_log(n)).unwrap_or_default();
        assert_no_password_in("pacemaker.log", &log);
    }
}
