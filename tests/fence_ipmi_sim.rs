//! `fence_bulwark_ipmi` (and `fence_bulwark_idrac`) as pacemaker-fenced runs them: options on
//! stdin, against OpenIPMI's `ipmi_sim` on loopback. The power state is read from the
//! simulator's chassis hook and cross-checked with ipmitool; every run is watched for the
//! password in any process's argv and checked for it in the agent's output.

mod support;

use support::bmc;

use bmc::{run_agent, run_agent_with, AgentRun, Bmc};
use std::path::PathBuf;
use std::process::Command;
use support::{unique_secret, workspace_bin, LabDir};

fn agent() -> PathBuf {
    workspace_bin("fence_bulwark_ipmi")
}

/// How the password reaches the agent.
enum PasswordVia {
    Stdin,
    File(PathBuf),
    Script(PathBuf),
}

struct Rig {
    bmc: Bmc,
    password: String,
    /// Extra option lines (interface choice).
    options: String,
    via: PasswordVia,
    _dir: LabDir,
}

impl Rig {
    fn new(options: &str, via: &str) -> Rig {
        let password = unique_secret("Pw");
        let bmc = Bmc::start_with_password(&password);
        let dir = LabDir::new("fipmi");
        let file = dir.path().join("pw");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        let via = match via {
            "file" => PasswordVia::File(file),
            "script" => PasswordVia::Script(file),
            _ => PasswordVia::Stdin,
        };
        Rig {
            bmc,
            password,
            options: options.to_string(),
            via,
            _dir: dir,
        }
    }

    fn stdin(&self, action: &str, extra: &str) -> String {
        let secret = match &self.via {
            PasswordVia::Stdin => format!("password={}\n", self.password),
            PasswordVia::File(p) => format!("password_file={}\n", p.display()),
            // A script that prints the file: the password is never in the script's argv.
            PasswordVia::Script(p) => format!("password_script=cat {}\n", p.display()),
        };
        format!(
            "# as pacemaker-fenced writes it\naction={action}\nnodename=node2\nip=127.0.0.1\nipport={}\nusername={}\n{secret}{}{extra}",
            self.bmc.port,
            bmc::ADMIN,
            self.options
        )
    }

    /// Runs one action and checks the secrecy rules every run must keep.
    fn run(&self, action: &str, extra: &str) -> AgentRun {
        let r = run_agent(&agent(), &self.stdin(action, extra), &self.password);
        self.assert_secret_kept(&r);
        r
    }

    fn assert_secret_kept(&self, r: &AgentRun) {
        assert!(
            r.argv_hits.is_empty(),
            "password in argv: {:?}",
            r.argv_hits
        );
        assert!(r.scans > 0, "the argv watch never ran");
        assert!(
            !r.stdout.contains(&self.password) && !r.stderr.contains(&self.password),
            "password in the agent's output"
        );
    }
}

fn ipmitool_state(bmc: &Bmc, interface: &str) -> String {
    let (ok, out) = bmc.ipmitool(interface, "status");
    assert!(ok, "ipmitool status failed: {out}");
    out
}

/// status / off / status / on / reboot / monitor, each result checked three ways: the agent's
/// line and exit code, the chassis hook's state file, and ipmitool's reading.
fn full_cycle(rig: &Rig, ipmitool_interface: &str) {
    let bmc = &rig.bmc;
    let r = rig.run("status", "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Status: ON\n"),
        "{r:?}"
    );

    let r = rig.run("off", "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Powered OFF\n"),
        "{r:?}"
    );
    assert_eq!(bmc.power_on(), Some(false));
    assert_eq!(
        ipmitool_state(bmc, ipmitool_interface),
        "Chassis Power is off"
    );

    let r = rig.run("status", "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(2), "Status: OFF\n"),
        "{r:?}"
    );
    let r = rig.run("off", "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Already OFF\n"),
        "{r:?}"
    );

    let r = rig.run("on", "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Powered ON\n"),
        "{r:?}"
    );
    assert_eq!(bmc.power_on(), Some(true));
    assert_eq!(
        ipmitool_state(bmc, ipmitool_interface),
        "Chassis Power is on"
    );

    let before = bmc.calls().len();
    let r = rig.run("reboot", "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Rebooted\n"),
        "{r:?}"
    );
    let calls = bmc.calls()[before..].to_vec();
    let off = calls.iter().position(|c| c == "0x20 set power 0");
    let on = calls.iter().position(|c| c == "0x20 set power 1");
    assert!(
        matches!((off, on), (Some(a), Some(b)) if a < b),
        "off before on: {calls:?}"
    );
    // Between the off command and the on command the agent read the state (and saw off).
    let (a, b) = (off.unwrap(), on.unwrap());
    assert!(
        calls[a..b].iter().any(|c| c == "0x20 get power"),
        "{calls:?}"
    );
    assert_eq!(bmc.power_on(), Some(true));
    assert_eq!(
        ipmitool_state(bmc, ipmitool_interface),
        "Chassis Power is on"
    );

    let r = rig.run("monitor", "");
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn lanplus_cipher3_actions_password_on_stdin() {
    let rig = Rig::new("lanplus=1\ncipher=3\n", "stdin");
    full_cycle(&rig, "lanplus");
}

#[test]
fn lan_v15_actions_password_from_file() {
    let rig = Rig::new("lanplus=0\n", "file");
    full_cycle(&rig, "lan");
}

#[test]
fn defaults_negotiate_lanplus_password_from_script() {
    // No lanplus, no cipher: RMCP+ with suite 17 refused by ipmi_sim, suite 3 at once.
    let rig = Rig::new("", "script");
    full_cycle(&rig, "lanplus");
}

#[test]
fn idrac_name_and_operator_privilege() {
    let password = unique_secret("Pw");
    let bmc = Bmc::start_with_password(&password);
    let stdin = format!(
        "action=off\nip=127.0.0.1\nipport={}\nusername={}\npassword={password}\nprivlvl=operator\n",
        bmc.port,
        bmc::OPERATOR
    );
    let r = run_agent(&workspace_bin("fence_bulwark_idrac"), &stdin, &password);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Powered OFF\n"),
        "{r:?}"
    );
    assert!(r.argv_hits.is_empty());
    assert_eq!(bmc.power_on(), Some(false));

    // A user-level account cannot switch power: a clear failure, the power untouched.
    let stdin = format!(
        "action=on\nip=127.0.0.1\nipport={}\nusername={}\npassword={password}\nprivlvl=user\n",
        bmc.port,
        bmc::PLAIN_USER
    );
    let r = run_agent(&agent(), &stdin, &password);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(r.stderr.contains("insufficient privilege"), "{r:?}");
    assert_eq!(bmc.power_on(), Some(false));
}

#[test]
fn method_cycle_is_success_only_after_an_off_reading() {
    let rig = Rig::new("lanplus=1\ncipher=3\n", "stdin");
    let before = rig.bmc.calls().len();
    let r = rig.run("reboot", "method=cycle\n");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Rebooted\n"),
        "{r:?}"
    );
    // ipmi_sim switches off at once and back on a second later; the agent returned after
    // reading off, so the off came first.
    let calls = rig.bmc.calls()[before..].to_vec();
    assert!(calls.iter().any(|c| c == "0x20 set power 0"), "{calls:?}");
    assert!(support::wait_for(
        std::time::Duration::from_secs(10),
        || { rig.bmc.power_on() == Some(true) }
    ));
    // Cycling an off machine is refused by BMCs; the agent powers it on instead.
    rig.bmc.set_power(false);
    let r = rig.run("reboot", "method=cycle\n");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(rig.bmc.power_on(), Some(true));
}

#[test]
fn wrong_password_is_authentication_failed_and_changes_nothing() {
    for options in ["lanplus=1\ncipher=3\n", "lanplus=0\nlogin_timeout=2\n"] {
        let rig = Rig::new(options, "stdin");
        let wrong = unique_secret("Pw");
        let stdin = rig.stdin("off", "").replace(
            &format!("password={}", rig.password),
            &format!("password={wrong}"),
        );
        let r = run_agent(&agent(), &stdin, &wrong);
        assert_eq!(r.code, Some(1), "{options}: {r:?}");
        assert!(r.stdout.is_empty(), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        assert!(
            r.stderr.starts_with("authentication failed at 127.0.0.1:"),
            "{r:?}"
        );
        assert!(!r.stderr.contains("plug status"), "{r:?}");
        assert!(!r.stderr.contains(&wrong) && r.argv_hits.is_empty());
        assert_eq!(rig.bmc.power_on(), Some(true));
        assert!(!rig.bmc.calls().iter().any(|c| c.contains("set power")));
    }
}

#[test]
fn no_bmc_at_all_is_no_answer_within_the_login_timeout() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let password = unique_secret("Pw");
    for action in ["status", "off", "reboot"] {
        let stdin = format!(
            "action={action}\nip=127.0.0.1\nipport={port}\nusername=admin\npassword={password}\nlogin_timeout=1\n"
        );
        let r = run_agent(&agent(), &stdin, &password);
        assert_eq!(r.code, Some(1), "{r:?}");
        assert!(r.stdout.is_empty(), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        // Nothing listens: the ICMP port unreachable answers end the wait after a few quick
        // resends, well inside the 1 s login budget, so the fencer can escalate at once. The
        // time quoted is what was really waited.
        let waited: f64 = r
            .stderr
            .strip_prefix(&format!("no answer from 127.0.0.1:{port} within "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!((0.0..3.0).contains(&waited), "{r:?}");
        assert!(r.stderr.contains("port unreachable"), "{r:?}");
    }
}

/// Every refusal of bad input: exit 1, nothing on stdout, one line on stderr naming the
/// parameter, no packet needed.
#[test]
fn bad_input_is_refused_with_one_line_naming_the_parameter() {
    let password = unique_secret("Pw");
    let good = format!("ip=127.0.0.1\nusername=admin\npassword={password}\naction=status\n");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("username=admin\npassword={password}\naction=status\n"),
            "parameter 'ip' is required",
        ),
        (
            "ip=127.0.0.1\nusername=admin\naction=off\n".to_string(),
            "parameter 'password' is required",
        ),
        (format!("{good}cipher=1\n"), "parameter 'cipher'"),
        (format!("{good}cipher=abc\n"), "parameter 'cipher'"),
        (format!("{good}privlvl=superuser\n"), "parameter 'privlvl'"),
        (format!("{good}auth=sha\n"), "parameter 'auth'"),
        (format!("{good}ipport=0\n"), "parameter 'ipport'"),
        (
            format!("{good}power_timeout=soon\n"),
            "parameter 'power_timeout'",
        ),
        (format!("{good}method=yank\n"), "parameter 'method'"),
        (format!("{good}hexadecimal_kg=0xZZ\n"), "hexadecimal_kg"),
        (
            format!("{good}password_file=/nonexistent/bulwark-pw\n")
                .replace(&format!("password={password}\n"), ""),
            "/nonexistent/bulwark-pw",
        ),
        (format!("{good}action=explode\n"), "Unrecognised action"),
    ];
    for (stdin, want) in &cases {
        let r = run_agent(&agent(), stdin, &password);
        assert_eq!(r.code, Some(1), "{stdin}: {r:?}");
        assert!(r.stdout.is_empty(), "{stdin}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{stdin}: {r:?}");
        assert!(r.stderr.contains(want), "{stdin}: {r:?}");
        assert!(!r.stderr.contains(&password) && r.argv_hits.is_empty());
    }
    // Command line: unknown options, and secrets refused without being echoed.
    let argv_cases: &[(&[&str], &str)] = &[
        (
            &[
                "-a",
                "127.0.0.1",
                "-l",
                "admin",
                "--frobnicate",
                "-o",
                "status",
            ],
            "--frobnicate",
        ),
        (&["-a", "127.0.0.1", "-l", "admin", "-Z"], "-Z"),
        (
            &[
                "-a",
                "127.0.0.1",
                "-l",
                "admin",
                "-p",
                "ArgvSecret1",
                "-o",
                "status",
            ],
            "refusing 'password'",
        ),
        (
            &["-a", "127.0.0.1", "--password=ArgvSecret1", "-o", "status"],
            "refusing 'password'",
        ),
        (
            &["-a", "127.0.0.1", "-l", "admin", "-y", "ArgvSecret1"],
            "refusing 'hexadecimal_kg'",
        ),
    ];
    for (args, want) in argv_cases {
        let out = Command::new(agent()).args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("ArgvSecret1"), "{err}");
    }
    // The good request validates without any device.
    let r = run_agent(&agent(), &good.replace("status", "validate-all"), &password);
    assert_eq!(r.code, Some(0), "{r:?}");
}

/// Admins call the agent with options; the password still never goes on the command line.
#[test]
fn command_line_use_with_a_password_file() {
    let rig = Rig::new("", "file");
    let PasswordVia::File(file) = &rig.via else {
        unreachable!()
    };
    let port = rig.bmc.port.to_string();
    let file = file.display().to_string();
    let mut cmd = Command::new(agent());
    cmd.args([
        "-a",
        "127.0.0.1",
        "-u",
        &port,
        "-l",
        bmc::ADMIN,
        "--password-file",
        &file,
        "-P",
        "-C",
        "3",
        "-o",
        "status",
    ]);
    let r = run_agent_with(&mut cmd, "", &rig.password);
    rig.assert_secret_kept(&r);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Status: ON\n"),
        "{r:?}"
    );
}

/// fence_ipmilan run with the same stdin (it passes the password to ipmitool's argv, so its
/// own run is not argv-watched). Returns (exit code, stdout).
fn fence_ipmilan(stdin: &str) -> (Option<i32>, String) {
    let out = bulwark::process::run_with_input(
        Command::new("fence_ipmilan").env_remove("PCMK_service"),
        Some(stdin.as_bytes()),
        std::time::Duration::from_secs(120),
    )
    .expect("run fence_ipmilan (package fence-agents)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Two BMCs told apart by address only. `port_as_ip=1 port=127.0.0.2 ip=127.0.0.1`: the plug
/// value is the BMC, for us as for fence_ipmilan (run side by side on the same simulators);
/// `ip` is then not needed. Before, ours ignored port_as_ip and fenced 127.0.0.1 (the survivor).
#[test]
fn port_as_ip_switches_the_bmc_named_by_the_plug_like_fence_ipmilan() {
    let password = unique_secret("Pw");
    let (first, second) = Bmc::start_pair(&password);
    let stdin = |action: &str, extra: &str| {
        format!(
            "action={action}\nnodename=node2\nipport={}\nusername={}\npassword={password}\nlanplus=1\ncipher=3\n{extra}",
            first.port,
            bmc::ADMIN
        )
    };
    let selected = "port_as_ip=1\nport=127.0.0.2\nip=127.0.0.1\n";

    let r = run_agent(&agent(), &stdin("off", selected), &password);
    assert!(r.argv_hits.is_empty() && r.scans > 0, "{r:?}");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Success: Powered OFF\n"),
        "{r:?}"
    );
    assert_eq!(second.power_on(), Some(false), "the plug's BMC is off");
    assert_eq!(first.power_on(), Some(true), "the ip's BMC is untouched");
    assert!(first.calls().is_empty(), "{:?}", first.calls());

    second.set_power(true);
    let (code, out) = fence_ipmilan(&stdin("off", selected));
    assert_eq!(code, Some(0), "fence_ipmilan: {out}");
    assert_eq!(second.power_on(), Some(false), "fence_ipmilan: {out}");
    assert_eq!(first.power_on(), Some(true), "fence_ipmilan: {out}");

    // Without ip at all; plug as Pacemaker's host argument name.
    second.set_power(true);
    let r = run_agent(
        &agent(),
        &stdin("status", "port_as_ip=1\nplug=127.0.0.2\n"),
        &password,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Status: ON\n"),
        "{r:?}"
    );
    second.set_power(false);
    let r = run_agent(
        &agent(),
        &stdin("status", "port_as_ip=1\nplug=127.0.0.2\n"),
        &password,
    );
    assert_eq!((r.code, r.stdout.as_str()), (Some(2), "Status: OFF\n"));

    // port_as_ip without a plug: refused, nothing switched.
    let r = run_agent(
        &agent(),
        &stdin("off", "port_as_ip=1\nip=127.0.0.1\n"),
        &password,
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("'plug'"), "{r:?}");
    assert_eq!(first.power_on(), Some(true));
}

/// `target` (IPMI bridging, ipmitool -t) cannot be tested here (ipmi_sim has no satellite
/// controller to bridge to), so it is refused: exit 1, one line, nothing switched. Ignoring it
/// would power off the addressed BMC's own chassis and report success.
#[test]
fn target_bridging_is_refused_and_nothing_is_switched() {
    let password = unique_secret("Pw");
    let bmc = Bmc::start_with_password(&password);
    let stdin = format!(
        "action=off\nip=127.0.0.1\nipport={}\nusername={}\npassword={password}\ntarget=0x82\n",
        bmc.port,
        bmc::ADMIN
    );
    let r = run_agent(&agent(), &stdin, &password);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(
        r.stderr.contains("'target'") && r.stderr.contains("refusing"),
        "{r:?}"
    );
    assert_eq!(bmc.power_on(), Some(true));
    assert!(bmc.calls().is_empty(), "{:?}", bmc.calls());
    let out = Command::new(agent())
        .args(["-a", "127.0.0.1", "-l", "admin", "--target=0x82"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// `list` and `list-status` answer at once, exit 0, without a packet to the BMC (fencing.py
/// does the same for agents without outlets): nothing listens on the port given here.
#[test]
fn list_answers_without_contacting_the_bmc() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for action in ["list", "list-status"] {
        let stdin = format!(
            "action={action}\nip=127.0.0.1\nipport={port}\nusername=admin\npassword=x\nlogin_timeout=5\n"
        );
        let started = std::time::Instant::now();
        let r = run_agent(&agent(), &stdin, "x-not-used");
        assert_eq!(r.code, Some(0), "{action}: {r:?}");
        assert!(
            r.stdout.is_empty() && r.stderr.is_empty(),
            "{action}: {r:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{action}"
        );
    }
}

/// IPMI v1.5 (`lanplus=0`) with each authentication type named, against ipmi_sim: status,
/// off, on. Unnamed, the agent settles only on MD5 or MD2: a BMC offering only `none` and
/// `password` (straight) is refused with one line, since with those anyone on the path could
/// forge the OFF reading; naming `auth=password` accepts it.
#[test]
fn lan_v15_each_auth_type_and_never_an_unauthenticated_one_unless_named() {
    let password = unique_secret("Pw");
    let bmc = Bmc::start_with_password(&password);
    let base = |auth: &str, action: &str| {
        format!(
            "action={action}\nip=127.0.0.1\nipport={}\nusername={}\npassword={password}\nlanplus=0\nauth={auth}\n",
            bmc.port,
            bmc::ADMIN
        )
    };
    for auth in ["md5", "md2", "password", "none"] {
        let r = run_agent(&agent(), &base(auth, "status"), &password);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (Some(0), "Status: ON\n"),
            "{auth}: {r:?}"
        );
        let r = run_agent(&agent(), &base(auth, "off"), &password);
        assert_eq!(r.code, Some(0), "{auth}: {r:?}");
        assert_eq!(bmc.power_on(), Some(false), "{auth}");
        let r = run_agent(&agent(), &base(auth, "on"), &password);
        assert_eq!(r.code, Some(0), "{auth}: {r:?}");
        assert_eq!(bmc.power_on(), Some(true), "{auth}");
        assert!(r.argv_hits.is_empty());
    }

    let weak = Bmc::start_auths(&password, "none straight");
    let stdin = |auth: &str| {
        format!(
            "action=off\nip=127.0.0.1\nipport={}\nusername={}\npassword={password}\nlanplus=0\n{auth}",
            weak.port,
            bmc::ADMIN
        )
    };
    let r = run_agent(&agent(), &stdin(""), &password);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("auth=password"), "{r:?}");
    assert_eq!(weak.power_on(), Some(true), "nothing switched");
    let r = run_agent(&agent(), &stdin("auth=password\n"), &password);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(weak.power_on(), Some(false));
}

/// `username` may be absent: the null user (ipmi_sim's user 1, user level), as the metadata
/// says and fence_ipmilan allows.
#[test]
fn username_is_optional_null_user_reads_status() {
    let password = unique_secret("Pw");
    let bmc = Bmc::start_with_password(&password);
    for lanplus in ["lanplus=1\ncipher=3\n", "lanplus=0\n"] {
        let stdin = format!(
            "action=status\nip=127.0.0.1\nipport={}\npassword={password}\nprivlvl=user\n{lanplus}",
            bmc.port
        );
        let r = run_agent(&agent(), &stdin, &password);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (Some(0), "Status: ON\n"),
            "{lanplus}: {r:?}"
        );
    }
}
