//! The `axigen` domain module against the Axigen stand-in (Axigen itself cannot be installed
//! here; `tests/doubles/axigen-standin.rs` imitates its documented behaviour).
//!
//! Needs the stand-in built first:
//! ```text
//! cargo build -p bulwark-test-doubles --bin axigen-standin
//! cargo test --test axigen_standin
//! ```
//! Runs as root (one test drops to `nobody`). Each test starts its own stand-in on free
//! loopback ports in its own temp data directory; the stand-in is told apart from the others
//! by its working directory, and the guard kills exactly its processes (by pid, found by that
//! identity) and removes the directory in `Drop`, even when the test fails.

mod support;

use bulwark::axigen::cli::{self, CliError, CliSession};
use bulwark::axigen::probe::{self, Listener, ListenerKind, ListenersVerdict, ProbeOutcome};
use bulwark::axigen::procs::{self, Identity, RunAs, StartSpec, StopOptions, StopPhase};
use bulwark::axigen::{config, datadir};
use bulwark::deadline::Deadline;
use bulwark::secret::Secret;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{free_tcp_port, unique_name, workspace_bin};

const PASSWORD: &str = "s3cr3t-Ax1gen-pw";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// One running stand-in. Dropping it SIGKILLs every process of its identity and removes its
/// data directory.
struct StandIn {
    dir: PathBuf,
    identity: Identity,
    listeners: Vec<Listener>,
    cli: SocketAddr,
}

impl StandIn {
    /// Starts a stand-in with `control` directives written before the start.
    fn start(control: &str) -> StandIn {
        Self::start_as(control, None)
    }

    fn start_as(control: &str, user: Option<&str>) -> StandIn {
        let dir = std::env::temp_dir().join(unique_name("bulwark-axigen-"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("run")).unwrap();
        // A copy next to the data: the build tree may be closed to the service user (a clone
        // under /root), and the tree below is opened to it.
        let bin = dir.join("axigen-standin");
        support::copy_executable(&workspace_bin("axigen-standin"), &bin);
        std::fs::write(dir.join("run/cli.pw"), format!("{PASSWORD}\n")).unwrap();
        std::fs::write(dir.join("run/standin-control"), control).unwrap();
        let run_as = user.map(|u| RunAs::lookup(u).unwrap());
        if let Some(r) = &run_as {
            chown_tree(&dir, r.uid, r.gid);
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let dir = std::fs::canonicalize(&dir).unwrap();
        let bin = dir.join("axigen-standin");
        let identity = Identity::new(&bin).with_cwd(&dir);
        // A port picked now may be taken before the stand-in binds it: retry with new ones.
        for _attempt in 0..3 {
            let kinds = [
                ListenerKind::Smtp,
                ListenerKind::Imap,
                ListenerKind::Pop3,
                ListenerKind::Webmail,
            ];
            let listeners: Vec<Listener> = kinds
                .iter()
                .map(|&kind| Listener {
                    kind,
                    addr: LOOPBACK,
                    port: free_tcp_port(),
                    tls: false,
                })
                .collect();
            let cli = SocketAddr::new(LOOPBACK, free_tcp_port());
            let mut spec = StartSpec::new(&bin);
            spec.args = vec![
                "--datadir".into(),
                dir.clone().into(),
                "--bind".into(),
                "127.0.0.1".into(),
            ];
            for l in &listeners {
                let kind = if l.kind == ListenerKind::Webmail {
                    "http"
                } else {
                    l.kind.name()
                };
                spec.args.push("--listen".into());
                spec.args.push(format!("{kind}={}", l.port).into());
            }
            spec.args.push("--listen".into());
            spec.args.push(format!("cli={}", cli.port()).into());
            spec.log = Some(dir.join("standin.out"));
            spec.run_as = run_as.clone();
            let s = StandIn {
                dir: dir.clone(),
                identity: identity.clone(),
                listeners,
                cli,
            };
            procs::start_detached(&spec).expect("stand-in starts");
            if s.wait_ready(Duration::from_secs(10)) {
                return s;
            }
            // Drop kills what is left and removes the directory; recreate it for the retry.
            let keep = s.dir.clone();
            std::mem::forget(s);
            kill_identity(&identity);
            let _ = std::fs::remove_file(keep.join("standin.out"));
        }
        panic!("the stand-in did not become ready in {}", dir.display());
    }

    /// Waits until the supervisor runs and the CLI greets (hung listeners are allowed).
    fn wait_ready(&self, within: Duration) -> bool {
        let d = Deadline::after(within);
        while !d.expired() {
            let sup = procs::find_supervisor(&self.identity).unwrap();
            if sup.is_some() {
                let cli = Listener {
                    kind: ListenerKind::Cli,
                    addr: LOOPBACK,
                    port: self.cli.port(),
                    tls: false,
                };
                let each = Deadline::after(Duration::from_millis(500));
                if probe::probe(&cli, self.cli, &each) == ProbeOutcome::Greeted {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn control(&self, text: &str) {
        std::fs::write(self.dir.join("run/standin-control"), text).unwrap();
    }

    fn listener(&self, kind: ListenerKind) -> Listener {
        *self.listeners.iter().find(|l| l.kind == kind).unwrap()
    }

    fn probe_all(&self) -> Vec<probe::ProbeReport> {
        probe::probe_all(
            &self.listeners,
            None,
            Duration::from_millis(700),
            &Deadline::after(Duration::from_secs(5)),
        )
    }
}

fn kill_identity(identity: &Identity) {
    for _ in 0..50 {
        let procs = procs::scan(identity, false).unwrap_or_default();
        if procs.is_empty() {
            return;
        }
        for pid in procs.pids() {
            // SAFETY: kill(2) of a pid just found with this test's identity.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        kill_identity(&self.identity);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            chown_tree(&p, uid, gid);
        } else {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
        }
    }
}

fn secret() -> Secret {
    Secret::from(PASSWORD)
}

fn d(secs: u64) -> Deadline {
    Deadline::after(Duration::from_secs(secs))
}

/// Polls `f` for up to 5 s.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let dl = d(5);
    while !dl.expired() {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((LOOPBACK, port)).is_ok()
}

#[test]
fn every_listener_greets_and_the_cli_answers() {
    let s = StandIn::start("");
    let reports = s.probe_all();
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert_eq!(r.outcome, ProbeOutcome::Greeted, "{r}");
    }
    assert_eq!(
        probe::verdict(&reports, &[ListenerKind::Smtp]),
        ListenersVerdict::Healthy
    );

    // Depth 20, the whole sequence.
    let reply = cli::check(s.cli, "admin", &secret(), "LIST Domains", &d(5)).unwrap();
    assert!(reply.is_ok());
    assert!(
        reply.lines.iter().any(|l| l.contains("standin.test")),
        "{reply:?}"
    );

    // Step by step, with GET VERSION before login.
    let mut session = CliSession::connect(s.cli, &d(5)).unwrap();
    assert_eq!(session.prompt(), "login");
    assert_eq!(session.get_version(&d(5)).unwrap(), "10.6.30 (stand-in)");
    session.login("admin", &secret(), &d(5)).unwrap();
    assert_eq!(session.prompt(), "#");
    let err = session.read_only("SAVE CONFIG", &d(5)).unwrap_err();
    assert!(matches!(err, CliError::InvalidInput(_)), "{err}");
    let err = session.read_only("SHOW NoSuchThing", &d(5)).unwrap_err();
    assert!(matches!(err, CliError::CommandFailed { .. }), "{err}");
    session.exit(&d(5)).unwrap();

    // A wrong password is refused once (no retry), and the error does not carry it.
    let err = cli::check(
        s.cli,
        "admin",
        &Secret::from("wrong-pw"),
        "LIST Domains",
        &d(5),
    )
    .unwrap_err();
    assert!(matches!(err, CliError::LoginRefused(_)), "{err}");
    assert!(!err.to_string().contains("wrong-pw"));

    // The password is in no process's argv.
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            let found = cmdline
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes());
            assert!(!found, "password in {}/cmdline", e.path().display());
        }
    }
}

#[test]
fn listeners_come_from_axigen_cfg() {
    let s = StandIn::start("");
    let block = |service: &str, port: u16, enable: &str| {
        format!(
            "    {service} = {{\n        listeners = (\n            {{\n                address = 0.0.0.0:{port}\n                enable = {enable}\n                sslEnable = no\n            }}\n        )\n    }}\n"
        )
    };
    let cfg = format!(
        "Server {{\n    services = (log smtpIncoming pop3 imap webmail cli)\n{}{}{}{}{}}}\n",
        block("smtpIncoming", s.listener(ListenerKind::Smtp).port, "yes"),
        block("imap", s.listener(ListenerKind::Imap).port, "yes"),
        block("pop3", s.listener(ListenerKind::Pop3).port, "no"),
        block("webmail", s.listener(ListenerKind::Webmail).port, "yes"),
        block("cli", s.cli.port(), "yes"),
    );
    let path = s.dir.join("run/axigen.cfg");
    std::fs::write(&path, cfg).unwrap();
    let listeners = config::listeners_from_file(&path).unwrap();
    let kinds: Vec<_> = listeners.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ListenerKind::Smtp,
            ListenerKind::Imap,
            ListenerKind::Webmail,
            ListenerKind::Cli
        ]
    );
    // Wildcard listeners are probed at the probe address (here loopback, in the lab the VIP).
    let reports = probe::probe_all(&listeners, Some(LOOPBACK), Duration::from_secs(1), &d(5));
    for r in &reports {
        assert_eq!(r.outcome, ProbeOutcome::Greeted, "{r}");
    }
    let missing = config::listeners_from_file(&s.dir.join("run/none.cfg")).unwrap_err();
    assert!(missing.to_string().contains("none.cfg"), "{missing}");
}

fn smtp_send(addr: SocketAddr, from: &str, to: &str, body: &str) -> String {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    // The last line of a (possibly multi-line, `250-…`) reply.
    let mut reply = || loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.as_bytes().get(3) != Some(&b'-') {
            return line.trim_end().to_string();
        }
    };
    assert!(reply().starts_with("220 "));
    for (cmd, code) in [
        ("EHLO test.example".to_string(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        write!(w, "{cmd}\r\n").unwrap();
        let rep = reply();
        assert!(rep.starts_with(code), "{cmd} → {rep}");
    }
    write!(w, "{body}\r\n.\r\n").unwrap();
    let accepted = reply();
    write!(w, "QUIT\r\n").unwrap();
    accepted
}

#[test]
fn acknowledged_mail_is_on_disk_and_survives_the_stop() {
    let s = StandIn::start("");
    let smtp = s.listener(ListenerKind::Smtp).target(None);
    let mut ids = Vec::new();
    for i in 0..3 {
        let rep = smtp_send(
            smtp,
            "a@example.org",
            "b@standin.test",
            &format!("Subject: {i}\r\n\r\n.line {i}"),
        );
        assert!(rep.starts_with("250 "), "{rep}");
        ids.push(rep.rsplit(' ').next().unwrap().to_string());
    }
    let report = procs::stop(&s.identity, &d(20), StopOptions::default());
    assert!(report.stopped(), "{report}");
    for (i, id) in ids.iter().enumerate() {
        let text =
            std::fs::read_to_string(s.dir.join(format!("domains/standin/new/{id}.eml"))).unwrap();
        assert!(text.contains("X-Envelope-To: <b@standin.test>"));
        // Dot-stuffing undone.
        assert!(text.contains(&format!("\r\nline {i}\r\n")), "{text:?}");
    }
}

#[test]
fn graceful_stop_ends_supervisor_and_workers() {
    let s = StandIn::start("");
    let procs_now = procs::scan(&s.identity, true).unwrap();
    let sup = procs_now.supervisor.expect("supervisor");
    assert_eq!(procs_now.workers.len(), 5, "{procs_now:?}");
    assert!(procs_now.strays.is_empty());
    // Started detached: a session of its own (created by the intermediate of the double
    // fork, so the supervisor is not its leader and can never get a controlling terminal),
    // and not our child.
    assert_ne!(sup.sid, sup.pid);
    assert_ne!(sup.ppid, std::process::id() as i32);
    // SAFETY: getsid(0) is our own session.
    assert_ne!(sup.sid, unsafe { libc::getsid(0) });
    assert_eq!(procs::find_supervisor(&s.identity).unwrap(), Some(sup.pid));

    let report = procs::stop(&s.identity, &d(20), StopOptions::default());
    assert_eq!(report.phase, StopPhase::Graceful, "{report}");
    assert!(report.stopped(), "{report}");
    assert!(procs::scan(&s.identity, true).unwrap().is_empty());
    assert_eq!(procs::find_supervisor(&s.identity).unwrap(), None);
    for l in &s.listeners {
        let out = probe::probe(l, l.target(None), &d(2));
        assert_eq!(out, ProbeOutcome::Refused, "{l}");
    }
    // Stopping what is not running is fine.
    let again = procs::stop(&s.identity, &d(5), StopOptions::default());
    assert_eq!(again.phase, StopPhase::NotRunning);
    assert!(again.stopped());
}

#[test]
fn hung_listener_is_degraded_or_failed_by_criticality() {
    let s = StandIn::start("hang imap\n");
    let reports = s.probe_all();
    let imap = reports
        .iter()
        .find(|r| r.listener.kind == ListenerKind::Imap)
        .unwrap();
    assert_eq!(imap.outcome, ProbeOutcome::NoGreeting, "{imap}");
    for r in reports
        .iter()
        .filter(|r| r.listener.kind != ListenerKind::Imap)
    {
        assert_eq!(r.outcome, ProbeOutcome::Greeted, "{r}");
    }
    match probe::verdict(&reports, &[ListenerKind::Smtp]) {
        v @ ListenersVerdict::Degraded(_) => {
            assert!(
                v.reason().starts_with("imap listener 127.0.0.1:"),
                "{}",
                v.reason()
            );
            assert!(v.reason().contains("no greeting"), "{}", v.reason());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        probe::verdict(&reports, &[ListenerKind::Smtp, ListenerKind::Imap]),
        ListenersVerdict::Failed(_)
    ));
    // The control file is read per connection: un-hang it.
    s.control("");
    let out = probe::probe(
        &s.listener(ListenerKind::Imap),
        s.listener(ListenerKind::Imap).target(None),
        &d(2),
    );
    assert_eq!(out, ProbeOutcome::Greeted);
    let report = procs::stop(&s.identity, &d(20), StopOptions::default());
    assert!(report.stopped(), "{report}");
}

#[test]
fn refused_login_is_reported_without_retry() {
    let s = StandIn::start("refuse-login\n");
    // The CLI greets (depth 10 passes) …
    let cli_listener = Listener {
        kind: ListenerKind::Cli,
        addr: LOOPBACK,
        port: s.cli.port(),
        tls: false,
    };
    assert_eq!(
        probe::probe(&cli_listener, s.cli, &d(2)),
        ProbeOutcome::Greeted
    );
    // … but the right password is refused (depth 20 fails).
    let err = cli::check(s.cli, "admin", &secret(), "LIST Domains", &d(5)).unwrap_err();
    match &err {
        CliError::LoginRefused(text) => assert!(text.contains("Authentication failed"), "{text}"),
        other => panic!("{other}"),
    }
    assert!(!err.to_string().contains(PASSWORD));
}

#[test]
fn crash_leaves_nothing_running() {
    let s = StandIn::start("");
    assert!(procs::find_supervisor(&s.identity).unwrap().is_some());
    s.control("crash\n");
    assert!(
        eventually(|| procs::scan(&s.identity, true).unwrap().is_empty()),
        "processes left after the crash"
    );
    assert_eq!(procs::find_supervisor(&s.identity).unwrap(), None);
    let smtp = s.listener(ListenerKind::Smtp);
    assert_eq!(
        probe::probe(&smtp, smtp.target(None), &d(2)),
        ProbeOutcome::Refused
    );
    let report = procs::stop(&s.identity, &d(5), StopOptions::default());
    assert_eq!(report.phase, StopPhase::NotRunning);
}

#[test]
fn sigterm_ignoring_server_is_killed_within_the_deadline() {
    let s = StandIn::start("ignore-term\n");
    let before = procs::scan(&s.identity, true).unwrap();
    assert!(before.supervisor.is_some());
    let opts = StopOptions {
        escalation_reserve: Duration::from_secs(3),
        term_grace: Duration::from_millis(500),
        poll: Duration::from_millis(50),
    };
    // Deadline: graceful phase gets 2 s of the 5, then SIGTERM-to-all, then SIGKILL.
    let report = procs::stop(&s.identity, &d(5), opts);
    assert_eq!(report.phase, StopPhase::Kill, "{report}");
    assert!(report.stopped(), "{report}");
    assert!(procs::scan(&s.identity, true).unwrap().is_empty());
    for l in &s.listeners {
        assert!(port_is_free(l.port), "{l} still bound");
    }
}

#[test]
fn orphan_in_its_own_session_is_stopped_too() {
    let s = StandIn::start("orphan\n");
    assert!(
        eventually(|| !procs::scan(&s.identity, true).unwrap().strays.is_empty()),
        "no orphan appeared"
    );
    let now = procs::scan(&s.identity, true).unwrap();
    let sup = now.supervisor.expect("supervisor");
    let orphan = now.strays[0];
    assert_ne!(
        orphan.sid, sup.sid,
        "the orphan escaped into its own session"
    );
    assert_ne!(orphan.ppid, sup.pid);
    // The supervisor alone is what depth 0 reports.
    assert_eq!(procs::find_supervisor(&s.identity).unwrap(), Some(sup.pid));

    assert!(now.supervisor_has_workers());
    // A long deadline: the stop must not spend it waiting for the orphan to leave by itself
    // (checked by the test's run time, not asserted: no timed assertions).
    let report = procs::stop(&s.identity, &d(60), StopOptions::default());
    assert!(report.stopped(), "{report}");
    // The graceful stop ended the tree; the orphan needed the escalation.
    assert!(report.phase >= StopPhase::TermAll, "{report}");
    assert!(procs::scan(&s.identity, true).unwrap().is_empty());
    // The orphan held the inherited listening sockets: now free for the next start.
    for l in &s.listeners {
        assert!(port_is_free(l.port), "{l} still bound");
    }
}

#[test]
fn runs_as_the_given_user() {
    let s = StandIn::start_as("", Some("nobody"));
    let nobody = RunAs::lookup("nobody").unwrap();
    let sup = procs::find_supervisor(&s.identity)
        .unwrap()
        .expect("supervisor");
    let owner = std::fs::metadata(format!("/proc/{sup}")).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    assert_eq!(owner.unwrap(), nobody.uid);
    // The owner is part of the identity when asked.
    let as_nobody = s.identity.clone().with_uid(nobody.uid);
    assert_eq!(procs::find_supervisor(&as_nobody).unwrap(), Some(sup));
    let as_root = s.identity.clone().with_uid(0);
    assert_eq!(procs::find_supervisor(&as_root).unwrap(), None);
    let report = procs::stop(&s.identity, &d(20), StopOptions::default());
    assert!(report.stopped(), "{report}");
}

#[test]
fn start_of_a_missing_binary_is_an_error() {
    let err = procs::start_detached(&StartSpec::new(Path::new("/nonexistent/axigen"))).unwrap_err();
    assert!(err.contains("/nonexistent/axigen"), "{err}");
}

/// A mounted filesystem passes the mount check; the directory under it does not.
#[test]
fn data_dir_mount_check_on_a_real_mount() {
    struct Mounted(PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = std::env::temp_dir().join(unique_name("bulwark-axigen-mnt-"));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(
        datadir::check_data_dir(&dir, true),
        Err(datadir::DataDirProblem::NotAMountPoint(_))
    ));
    nix::mount::mount(
        Some("tmpfs"),
        &dir,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
    let guard = Mounted(dir.clone());
    datadir::check_data_dir(&guard.0, true).unwrap();
    std::fs::create_dir(guard.0.join("sub")).unwrap();
    assert!(datadir::check_data_dir(&guard.0.join("sub"), true).is_err());
    assert!(datadir::check_data_dir(&guard.0.join("sub"), false).is_ok());
    // A bind mount of a directory onto itself has the parent's device: mountinfo decides.
    let bind = guard.0.join("sub");
    nix::mount::mount(
        Some(&bind),
        &bind,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();
    let bound = datadir::check_data_dir(&bind, true);
    let _ = nix::mount::umount2(&bind, nix::mount::MntFlags::MNT_DETACH);
    bound.unwrap();
}
