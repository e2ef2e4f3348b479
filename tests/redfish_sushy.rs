//! fence_bulwark_redfish against sushy-tools' Redfish emulator (fake driver, HTTPS with a
//! certificate this test makes, Basic auth from its htpasswd), and against the same emulator
//! with the fault middleware of `tests/fixtures/redfish/emulator.py` for what sushy lacks.
//! The middleware is trusted only because [`the_fault_double_is_accepted_by_independent_clients`]
//! shows fence_redfish and curl accepting it.

mod support;

use support::redfish;

use redfish::{run_agent, Emulator, FakeSystem, Run};
use std::path::PathBuf;
use std::time::Duration;
use support::ArgvWatch;

fn agent() -> PathBuf {
    support::workspace_bin("fence_bulwark_redfish")
}

fn two() -> Vec<FakeSystem> {
    vec![
        FakeSystem::new(1, "node-a", true),
        FakeSystem::new(2, "node-b", true),
    ]
}

fn opts(emu: &Emulator, action: &str, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut o: Vec<(&'static str, String)> = vec![
        ("action", action.to_string()),
        ("ip", emu.address()),
        ("username", emu.user.clone()),
        ("password", emu.password.clone()),
        ("ssl_ca_file", emu.pki.ca().to_string_lossy().into_owned()),
        ("power_timeout", "20".into()),
    ];
    for (k, v) in extra {
        let k: &'static str = Box::leak(k.to_string().into_boxed_str());
        o.retain(|(n, _)| *n != k);
        if !v.is_empty() {
            o.push((k, v.to_string()));
        }
    }
    o
}

fn ours(emu: &Emulator, action: &str, extra: &[(&str, &str)]) -> Run {
    let r = run_agent(&agent(), &opts(emu, action, extra));
    assert!(
        !r.out.contains(&emu.password) && !r.err.contains(&emu.password),
        "the password leaked into the agent's output"
    );
    assert!(
        r.err.lines().count() <= 1,
        "more than one error line: {}",
        r.err
    );
    r
}

#[test]
fn power_actions_by_id_and_by_name() {
    let emu = Emulator::start(&two());
    let watch = ArgvWatch::start_marked(&emu.password, "fence_bulwark_redfish");
    let (a, b) = (&emu.systems[0], &emu.systems[1]);

    let r = ours(&emu, "status", &[("plug", &b.uuid)]);
    assert_eq!((r.code, r.out.as_str()), (0, "Status: ON\n"), "{r:?}");
    let r = ours(&emu, "off", &[("plug", "node-b")]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Powered OFF\n"),
        "{r:?}"
    );
    assert_eq!(emu.power_state(b), "Off");
    assert_eq!(emu.power_state(a), "On", "the other system was switched");
    let r = ours(&emu, "status", &[("plug", "node-b")]);
    assert_eq!((r.code, r.out.as_str()), (2, "Status: OFF\n"), "{r:?}");
    let r = ours(&emu, "on", &[("plug", &b.uuid)]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Powered ON\n"),
        "{r:?}"
    );
    assert_eq!(emu.power_state(b), "On");

    emu.clear_requests();
    let r = ours(&emu, "reboot", &[("plug", "node-a")]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Rebooted\n"),
        "{r:?}"
    );
    let resets: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|(_, m, p, _)| m == "POST" && p.ends_with("ComputerSystem.Reset"))
        .collect();
    assert_eq!(
        resets.len(),
        2,
        "reboot is exactly ForceOff then On: {resets:?}"
    );
    assert!(resets.iter().all(|(_, _, p, _)| p.contains(&a.uuid)));
    assert_eq!(emu.power_state(b), "On");

    let r = ours(&emu, "list-status", &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.out,
        format!("{},node-a,ON\n{},node-b,ON\n", a.uuid, b.uuid)
    );
    let r = ours(&emu, "list", &[]);
    assert_eq!(r.out, format!("{},node-a\n{},node-b\n", a.uuid, b.uuid));
    assert_eq!(ours(&emu, "monitor", &[]).code, 0);
    let r = ours(
        &emu,
        "status",
        &[("systems_uri", &format!("/redfish/v1/Systems/{}", b.uuid))],
    );
    assert_eq!((r.code, r.out.as_str()), (0, "Status: ON\n"), "{r:?}");
    watch.stop().assert_clean();
}

#[test]
fn refusals_and_failures_are_one_line() {
    let emu = Emulator::start(&two());
    let (a, b) = (&emu.systems[0], &emu.systems[1]);

    // Several systems and no selection: refused, members named, nothing switched.
    emu.clear_requests();
    let r = ours(&emu, "off", &[]);
    assert_eq!(r.code, 1);
    for s in [a, b] {
        assert!(
            r.err.contains(&s.uuid) && r.err.contains(&s.name),
            "{}",
            r.err
        );
    }
    assert!(!emu.requests().iter().any(|(_, m, _, _)| m == "POST"));
    let r = ours(&emu, "off", &[("plug", "node-z")]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("no system has Id or Name 'node-z'"),
        "{}",
        r.err
    );
    assert_eq!(emu.power_state(a), "On");
    assert_eq!(emu.power_state(b), "On");

    let r = ours(
        &emu,
        "status",
        &[("plug", "node-a"), ("password", "wrong-password")],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.err.trim(), "authentication failed (HTTP 401)");

    // The certificate is signed by a CA the system store does not know.
    let r = ours(&emu, "status", &[("plug", "node-a"), ("ssl_ca_file", "")]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("TLS") && r.err.contains("UnknownIssuer"),
        "{}",
        r.err
    );
    let other = emu.pki.other_ca().to_string_lossy().into_owned();
    let r = ours(
        &emu,
        "status",
        &[("plug", "node-a"), ("ssl_ca_file", &other)],
    );
    assert_eq!(r.code, 1);
    assert!(r.err.contains("TLS"), "{}", r.err);
    let r = ours(
        &emu,
        "status",
        &[
            ("plug", "node-a"),
            ("ssl_ca_file", ""),
            ("ssl_insecure", "1"),
        ],
    );
    assert_eq!((r.code, r.out.as_str()), (0, "Status: ON\n"), "{r:?}");
    // The BMC's own certificate as ssl_ca_file (pinned).
    let own = emu.pki.cert().to_string_lossy().into_owned();
    let r = ours(&emu, "status", &[("plug", "node-a"), ("ssl_ca_file", &own)]);
    assert_eq!((r.code, r.out.as_str()), (0, "Status: ON\n"), "{r:?}");
    // TLS to the emulator is really in use: plain HTTP to the same port fails.
    let r = ours(&emu, "status", &[("plug", "node-a"), ("ssl", "0")]);
    assert_eq!(r.code, 1, "{r:?}");

    // Bad input before any connection.
    for (k, v) in [
        ("ip", "a b"),
        ("ipport", "0"),
        ("systems_uri", "Systems/1"),
        ("ssl_ca_file", "/nonexistent.pem"),
    ] {
        let r = ours(&emu, "validate-all", &[(k, v)]);
        assert_eq!(r.code, 1, "{k}={v}: {r:?}");
    }
    assert_eq!(ours(&emu, "validate-all", &[]).code, 0);
    let r = ours(&emu, "reboot", &[("plug", "node-a"), ("method", "cycle")]);
    assert_eq!(r.code, 1, "no ForceRestart: {r:?}");
    assert_eq!(emu.power_state(a), "On");
}

/// The middleware is a double of ours: before any verdict of the agent's rests on it,
/// fence_redfish (which we did not write) and curl must accept what it serves.
#[test]
fn the_fault_double_is_accepted_by_independent_clients() {
    let emu = Emulator::start(&[FakeSystem::new(1, "solo", true)]);
    let s = &emu.systems[0];
    emu.set_faults(&["sessions", "task202", "transient"]);
    let stock = |action: &str| {
        run_agent(
            std::path::Path::new("/usr/sbin/fence_redfish"),
            &[
                ("action", action.to_string()),
                ("ip", emu.host.clone()),
                ("ipport", emu.port.to_string()),
                ("username", emu.user.clone()),
                ("password", emu.password.clone()),
                ("ssl_insecure", "1".to_string()),
                ("systems_uri", format!("/redfish/v1/Systems/{}", s.uuid)),
                ("power_wait", "0".into()),
            ],
        )
    };
    let r = stock("status");
    assert_eq!(r.code, 0, "fence_redfish status through the double: {r:?}");
    let r = stock("off");
    assert_eq!(r.code, 0, "fence_redfish off through the double: {r:?}");
    assert!(support::wait_for(Duration::from_secs(15), || emu
        .power_state(s)
        == "Off"));

    // curl: the session lifecycle and the task monitor, by the Redfish rules.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            r#"set -e
H=$(curl -sS -D - -o /dev/null --cacert "$CA" -H 'Content-Type: application/json' \
    --data @- "$URL/redfish/v1/SessionService/Sessions")
echo "$H" | grep -qi '^HTTP/1.1 201'
T=$(echo "$H" | tr -d '\r' | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p')
L=$(echo "$H" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
curl -sS -f --cacert "$CA" -H "X-Auth-Token: $T" "$URL/redfish/v1/Systems" | grep -q Members
R=$(curl -sS -o /dev/null -w '%{http_code} %header{location}' --cacert "$CA" -H "X-Auth-Token: $T" \
    -H 'Content-Type: application/json' --data '{"ResetType":"On"}' "$URL$SYS/Actions/ComputerSystem.Reset")
test "${R%% *}" = 202
M=${R#* }
test "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H "X-Auth-Token: $T" "$URL$M")" = 202
test "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H "X-Auth-Token: $T" "$URL$M")" = 202
curl -sS --cacert "$CA" -H "X-Auth-Token: $T" "$URL$M" | grep -q '"Completed"'
test "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE --cacert "$CA" -H "X-Auth-Token: $T" "$URL$L")" = 204
test "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H "X-Auth-Token: $T" "$URL/redfish/v1/Systems")" = 401
echo ok"#,
        )
        .env("CA", emu.pki.ca())
        .env("URL", format!("https://{}", emu.address()))
        .env("SYS", format!("/redfish/v1/Systems/{}", s.uuid))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(
                format!(r#"{{"UserName":"{}","Password":"{}"}}"#, emu.user, emu.password).as_bytes(),
            )?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "curl's session/task check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn faults_sushy_lacks() {
    let emu = Emulator::start(&[FakeSystem::new(1, "solo", true)]);
    let s = &emu.systems[0];

    // SessionService: one login, the token on every request, no Basic, one connection, and the
    // session deleted at the end, on failure too.
    emu.set_faults(&["sessions"]);
    emu.clear_requests();
    let r = ours(&emu, "off", &[]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Powered OFF\n"),
        "{r:?}"
    );
    let reqs = emu.requests();
    let ports: std::collections::BTreeSet<_> = reqs.iter().map(|r| r.0.clone()).collect();
    assert_eq!(
        ports.len(),
        1,
        "one connection for the whole action: {reqs:?}"
    );
    assert!(
        reqs.iter().all(|(_, _, _, auth)| auth != "basic"),
        "{reqs:?}"
    );
    assert_eq!(reqs[1].1, "POST");
    assert!(reqs[1].2.ends_with("/Sessions"));
    let last = reqs.last().unwrap();
    assert_eq!(
        (last.1.as_str(), last.3.as_str()),
        ("DELETE", "token"),
        "{reqs:?}"
    );
    emu.clear_requests();
    let r = ours(&emu, "off", &[("plug", "not-there")]);
    assert_eq!(r.code, 1);
    let last = emu.requests().last().cloned().unwrap();
    assert_eq!(last.1, "DELETE", "session deleted after a failure too");
    let r = ours(&emu, "status", &[("password", "wrong-password")]);
    assert_eq!(r.err.trim(), "authentication failed (HTTP 401)");

    // 202 + task monitor, followed.
    emu.set_faults(&["sessions", "task202"]);
    emu.clear_requests();
    let r = ours(&emu, "on", &[]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Powered ON\n"),
        "{r:?}"
    );
    assert!(emu
        .requests()
        .iter()
        .any(|(_, m, p, _)| m == "GET" && p.contains("/TaskService/Tasks/")));

    // Transitional and null PowerState are polled, never a verdict.
    for fault in ["transient", "null_state"] {
        emu.set_faults(&[fault]);
        let r = ours(&emu, "off", &[]);
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, "Success: Powered OFF\n"),
            "{fault}: {r:?}"
        );
        assert_eq!(emu.power_state(s), "Off");
        let r = ours(&emu, "on", &[]);
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, "Success: Powered ON\n"),
            "{fault}: {r:?}"
        );
    }

    // ForceOff not allowed: refused with the allowed values, nothing posted.
    emu.set_faults(&["no_forceoff"]);
    emu.clear_requests();
    let r = ours(&emu, "off", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("ForceOff") && r.err.contains("GracefulShutdown"),
        "{}",
        r.err
    );
    assert!(!emu.requests().iter().any(|(_, m, _, _)| m == "POST"));
    assert_eq!(emu.power_state(s), "On");

    // Only PushPowerButton powers on: pressed only on a system read Off, and sushy's own
    // HTTP 501 for it is a failure with sushy's message.
    emu.set_faults(&["push_only"]);
    let r = ours(&emu, "on", &[]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Already ON\n"),
        "{r:?}"
    );
    emu.set_faults(&[]);
    emu.set_power(s, false);
    emu.set_faults(&["push_only"]);
    emu.clear_requests();
    let r = ours(&emu, "on", &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.err.contains("HTTP 501") && r.err.contains("PushPowerButton is not supported"),
        "{}",
        r.err
    );
    let posts = emu
        .requests()
        .iter()
        .filter(|(_, m, p, _)| m == "POST" && p.ends_with("ComputerSystem.Reset"))
        .count();
    assert_eq!(posts, 1);
    emu.set_faults(&[]);
    emu.set_power(s, true);

    // A 4xx carries the BMC's own ExtendedInfo message.
    emu.set_faults(&["reject_reset"]);
    let r = ours(&emu, "off", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("HTTP 409") && r.err.contains("maintenance mode"),
        "{}",
        r.err
    );

    // Acknowledged but not carried out: failure, never success.
    emu.set_faults(&["stuck"]);
    let r = ours(&emu, "off", &[("power_timeout", "3")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("still reads ON"), "{}", r.err);

    // Replies slower than the deadline: the agent answers in time.
    emu.set_faults(&["slow"]);
    let r = ours(&emu, "status", &[("agent_timeout", "4")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("timed out"), "{}", r.err);
    assert!(r.took < Duration::from_secs(4), "took {:?}", r.took);
    emu.set_faults(&[]);
}

#[test]
fn ipv6_literal() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        panic!("no IPv6 loopback here: this test needs ::1");
    }
    let emu = Emulator::start_on("::1", &[FakeSystem::new(1, "solo", false)]);
    let r = ours(&emu, "status", &[]);
    assert_eq!((r.code, r.out.as_str()), (2, "Status: OFF\n"), "{r:?}");
    let r = ours(&emu, "on", &[]);
    assert_eq!(
        (r.code, r.out.as_str()),
        (0, "Success: Powered ON\n"),
        "{r:?}"
    );
}
