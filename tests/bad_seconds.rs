//! Every seconds value, whatever is typed: huge (1e30, 1e19: Duration::from_secs_f64 panicked
//! and the agent died of SIGABRT), negative, NaN, infinite or not a number is refused with one
//! line and the contract's exit code (fence: 1, OCF: 6), before anything is touched.

mod support;

use std::process::Command;
use support::{assert_refused, workspace_bin};

const BAD: &[&str] = &[
    "1e30",
    "1e19",
    "18446744073709551616",
    "-1",
    "-0.5",
    "NaN",
    "inf",
    "soon",
    "1e9.5",
];

const FENCE_SECONDS: &[&str] = &[
    "agent_timeout",
    "power_timeout",
    "login_timeout",
    "delay",
    "power_wait",
    "stonith_status_sleep",
];

fn fence(bin: &str, stdin: &str) -> std::process::Output {
    let out = bulwark::process::run_with_input(
        Command::new(workspace_bin(bin)).env_remove("PCMK_service"),
        Some(stdin.as_bytes()),
        std::time::Duration::from_secs(30),
    )
    .expect("run fence agent");
    std::process::Output {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[test]
fn fence_agents_refuse_bad_seconds_with_exit_1() {
    let base = [
        (
            "fence_bulwark_ipmi",
            "action=off\nip=127.0.0.1\nusername=admin\npassword=pw\n",
        ),
        (
            "fence_bulwark_idrac",
            "action=reboot\nip=127.0.0.1\nusername=admin\npassword=pw\n",
        ),
        (
            "fence_bulwark_pdu",
            "action=off\nip=127.0.0.1\nplug=1\ncommunity=private\n",
        ),
    ];
    for (bin, good) in base {
        for param in FENCE_SECONDS {
            for bad in BAD {
                let out = fence(bin, &format!("{good}{param}={bad}\n"));
                let err = String::from_utf8_lossy(&out.stderr);
                let what = format!("{bin} {param}={bad}");
                assert_eq!(out.status.code(), Some(1), "{what}: {err}");
                assert!(out.stdout.is_empty(), "{what}");
                assert_eq!(err.lines().count(), 1, "{what}: {err}");
                assert!(
                    err.contains(&format!("parameter '{param}'")),
                    "{what}: {err}"
                );
            }
        }
        // The largest accepted value is accepted (validate-all touches no device).
        let out = fence(
            bin,
            &format!(
                "{}agent_timeout=1e9\n",
                good.replace("action=off", "action=validate-all")
                    .replace("action=reboot", "action=validate-all")
            ),
        );
        assert_eq!(out.status.code(), Some(0), "{bin}: {out:?}");
    }
}

fn ocf(agent: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(workspace_bin(agent));
    cmd.arg("validate-all")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", "r")
        .env("OCF_RESKEY_CRM_meta_timeout", "20000");
    for (k, v) in env {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    support::run(&mut cmd)
}

/// An OCF agent, the parameters it needs to reach validation, and its seconds parameters.
type OcfCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn ocf_agents_refuse_bad_seconds_with_exit_6() {
    let cases: &[OcfCase] = &[
        ("axigen", &[], &["probe_timeout", "stop_timeout"]),
        ("drbd", &[("drbd_resource", "r0")], &["wfc_timeout"]),
    ];
    for (agent, base, params) in cases {
        for param in *params {
            for bad in BAD {
                let mut env = base.to_vec();
                env.push((param, bad));
                let out = ocf(agent, &env);
                let reason = assert_refused(
                    &out,
                    6,
                    &format!("'{param}'"),
                    &format!("{agent} {param}={bad}"),
                );
                assert!(!reason.contains('\n'));
            }
        }
    }
}

/// The operation timeout Pacemaker passes in milliseconds, absurdly large: no abort (the
/// deadline saturates), the action runs.
#[test]
fn ocf_meta_timeout_at_u64_max_does_not_abort() {
    for agent in ["vip", "axigen", "drbd"] {
        let mut cmd = Command::new(workspace_bin(agent));
        cmd.arg("validate-all")
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "r")
            .env("OCF_RESKEY_CRM_meta_timeout", u64::MAX.to_string())
            .env("OCF_RESKEY_ip", "192.0.2.10")
            .env("OCF_RESKEY_drbd_resource", "r0");
        let out = support::run(&mut cmd);
        assert!(
            out.status.code().is_some(),
            "{agent} died of a signal: {out:?}"
        );
    }
}
