//! `fence_bulwark_ipmi` against pyghmi's BMC server (`pyghmi.ipmi.bmc.Bmc` from PyPI, in a venv
//! the test builds), a second BMC implementation we did not write besides ipmi_sim. pyghmi
//! speaks RMCP+ suite 3 only and answers an offer of suite 17 with suite 3's algorithms, which
//! our automatic cipher selection must follow (ipmitool and fence_ipmilan work with it). Every
//! run of our agent is watched for the password in any process's argv.
//!
//! What pyghmi's server cannot check: Kg (it has no BMC key) and IPMI v1.5 (it has none);
//! those run against the suite-17 double (tests/ipmi_suite17.rs) and ipmi_sim.

mod support;

use support::{bmc, pyghmi};

use bmc::{run_agent, AgentRun};
use pyghmi::PyghmiBmc;
use std::process::Command;
use support::{unique_secret, workspace_bin};

fn stdin(bmc: &PyghmiBmc, password: &str, action: &str, extra: &str) -> String {
    format!(
        "action={action}\nnodename=node2\nip=127.0.0.1\nipport={}\nusername=admin\npassword={password}\n{extra}",
        bmc.port
    )
}

fn ours(bmc: &PyghmiBmc, password: &str, action: &str, extra: &str) -> AgentRun {
    let r = run_agent(
        &workspace_bin("fence_bulwark_ipmi"),
        &stdin(bmc, password, action, extra),
        password,
    );
    assert!(r.scans > 0, "the argv watch never ran");
    assert!(
        r.argv_hits.is_empty(),
        "password in argv: {:?}",
        r.argv_hits
    );
    assert!(!r.stdout.contains(password) && !r.stderr.contains(password));
    r
}

/// status, off, status, on, reboot for each cipher choice pyghmi supports and each privilege
/// level that may switch power.
#[test]
fn every_supported_combination_switches_pyghmis_bmc() {
    let password = unique_secret("Pw");
    let bmc = PyghmiBmc::start("admin", &password);
    for cipher in ["", "3"] {
        for privlvl in ["operator", "administrator"] {
            let extra = format!("lanplus=1\ncipher={cipher}\nprivlvl={privlvl}\n");
            let what = format!("cipher='{cipher}' privlvl={privlvl}");
            bmc.set_power(true);
            let r = ours(&bmc, &password, "status", &extra);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (Some(0), "Status: ON\n"),
                "{what}: {r:?}"
            );
            let r = ours(&bmc, &password, "off", &extra);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (Some(0), "Success: Powered OFF\n"),
                "{what}: {r:?}"
            );
            assert_eq!(bmc.power_on(), Some(false), "{what}");
            let r = ours(&bmc, &password, "status", &extra);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (Some(2), "Status: OFF\n"),
                "{what}: {r:?}"
            );
            let r = ours(&bmc, &password, "on", &extra);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (Some(0), "Success: Powered ON\n"),
                "{what}: {r:?}"
            );
            assert_eq!(bmc.power_on(), Some(true), "{what}");
            let before = bmc.calls().len();
            let r = ours(&bmc, &password, "reboot", &extra);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (Some(0), "Success: Rebooted\n"),
                "{what}: {r:?}"
            );
            assert_eq!(bmc.calls()[before..], ["off", "on"], "{what}");
            assert_eq!(bmc.power_on(), Some(true), "{what}");
        }
    }
}

/// cipher=17 named explicitly is not silently downgraded; a wrong password is an
/// authentication failure; each is one line and exit 1, and nothing is switched.
#[test]
fn refusals_against_pyghmis_bmc() {
    let password = unique_secret("Pw");
    let bmc = PyghmiBmc::start("admin", &password);
    let cases: Vec<(String, &str)> = vec![
        (
            stdin(&bmc, &password, "off", "cipher=17\n"),
            "other algorithms (1, 1, 1)",
        ),
        (
            stdin(&bmc, "wrong-password", "off", ""),
            "authentication failed",
        ),
        // pyghmi drops RAKP 1 for a user it does not know instead of answering 0x0D.
        (
            stdin(&bmc, &password, "off", "").replace("username=admin", "username=nobody"),
            "(RAKP 2; some BMCs stay silent here for an unknown user name)",
        ),
    ];
    for (input, want) in &cases {
        let r = run_agent(&workspace_bin("fence_bulwark_ipmi"), input, &password);
        assert_eq!(r.code, Some(1), "{input}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        assert!(r.stderr.contains(want), "{want}: {r:?}");
        assert!(r.argv_hits.is_empty());
    }
    assert_eq!(bmc.power_on(), Some(true));
    assert!(bmc.calls().is_empty(), "{:?}", bmc.calls());
}

/// The stock agent on the same server and inputs reads the same state (side by side).
#[test]
fn fence_ipmilan_reads_the_same_state() {
    let password = unique_secret("Pw");
    let bmc = PyghmiBmc::start("admin", &password);
    for on in [true, false] {
        bmc.set_power(on);
        let out = bulwark::process::run_with_input(
            Command::new("fence_ipmilan").env_remove("PCMK_service"),
            Some(stdin(&bmc, &password, "status", "lanplus=1\ncipher=3\n").as_bytes()),
            std::time::Duration::from_secs(60),
        )
        .expect("run fence_ipmilan");
        let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
        let r = ours(&bmc, &password, "status", "");
        assert_eq!(r.stdout, theirs, "ours {r:?} vs fence_ipmilan {out:?}");
        assert_eq!(r.code, out.status.code());
    }
}
