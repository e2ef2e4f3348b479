//! One installation of the Axigen stand-in (`tests/doubles/axigen-standin.rs`) for
//! `ocf:bulwark:axigen`: its own copy of the binary (the agent recognises Axigen by its binary
//! path, so parallel tests never see or stop each other's servers), data directory, CLI
//! password file and free ports. Dropping it SIGKILLs every process of that copy.

use super::{free_tcp_port, run, workspace_bin, LabDir};
use bulwark::axigen::procs::{self, Identity};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

pub const PASSWORD: &str = "Ax-cli-pw-7c1e9f";

/// One stand-in installation: `bin/axigen`, `data/` (with the stand-in's admin password and
/// control file), the agent's password file `cli.pw` (0600) and its parameters.
pub struct Install {
    pub dir: PathBuf,
    _lab: Option<LabDir>,
    pub binary: PathBuf,
    pub data: PathBuf,
    pub ports: [u16; 5], // smtp imap pop3 webmail cli
}

impl Install {
    pub fn new() -> Install {
        let lab = LabDir::new("axigen");
        let dir = lab.path().to_path_buf();
        Install::in_dir(dir, Some(lab))
    }

    /// In `dir` (e.g. under a cluster's lab directory, which its nodes see).
    pub fn in_dir(dir: PathBuf, lab: Option<LabDir>) -> Install {
        let binary = dir.join("bin/axigen");
        let data = dir.join("data");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(data.join("run")).unwrap();
        super::copy_executable(&workspace_bin("axigen-standin"), &binary);
        std::fs::write(data.join("run/cli.pw"), format!("{PASSWORD}\n")).unwrap();
        std::fs::write(data.join("run/standin-control"), "").unwrap();
        let pw = dir.join("cli.pw");
        std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ports = [
            free_tcp_port(),
            free_tcp_port(),
            free_tcp_port(),
            free_tcp_port(),
            free_tcp_port(),
        ];
        Install {
            dir,
            _lab: lab,
            binary,
            data,
            ports,
        }
    }

    /// The agent's parameters, as `name=value`.
    pub fn params(&self) -> Vec<(String, String)> {
        let [smtp, imap, pop3, web, cli] = self.ports;
        let options = format!(
            "--datadir {} --bind 127.0.0.1 --listen smtp={smtp} --listen imap={imap} \
             --listen pop3={pop3} --listen http={web} --listen cli={cli}",
            self.data.display()
        );
        [
            ("binary", self.binary.display().to_string()),
            ("datadir", self.data.display().to_string()),
            ("user", "root".into()),
            ("require_mount", "false".into()),
            ("options", options),
            (
                "listeners",
                format!("smtp:127.0.0.1:{smtp} imap:127.0.0.1:{imap} pop3:{pop3} webmail:{web}"),
            ),
            ("cli_port", cli.to_string()),
            (
                "cli_password_file",
                self.dir.join("cli.pw").display().to_string(),
            ),
            ("logfile", self.dir.join("server.out").display().to_string()),
            ("probe_timeout", "2".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn with(&self, over: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p = self.params();
        for (k, v) in over {
            p.retain(|(n, _)| n != k);
            p.push((k.to_string(), v.to_string()));
        }
        p
    }

    pub fn control(&self, directives: &str) {
        std::fs::write(self.data.join("run/standin-control"), directives).unwrap();
    }

    pub fn identity(&self) -> Identity {
        Identity::new(&self.binary)
    }

    pub fn processes(&self) -> procs::AxigenProcs {
        procs::scan(&self.identity(), true).unwrap_or_default()
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("agent.log")
    }

    /// Runs the agent directly. `level` is OCF_CHECK_LEVEL, `interval` (ms) makes a monitor
    /// recurring (0: a probe).
    pub fn agent(
        &self,
        action: &str,
        params: &[(String, String)],
        level: u32,
        interval: u64,
    ) -> Output {
        run(&mut self.command(action, params, level, interval))
    }

    /// The agent's command line and environment for [`Install::agent`], to run another way
    /// (in a process group of its own, with another log file).
    pub fn command(
        &self,
        action: &str,
        params: &[(String, String)],
        level: u32,
        interval: u64,
    ) -> Command {
        let mut cmd = Command::new(workspace_bin("axigen"));
        cmd.arg(action)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "mail")
            .env("OCF_CHECK_LEVEL", level.to_string())
            .env("OCF_RESKEY_CRM_meta_timeout", "20000")
            .env("HA_LOGFILE", self.log())
            .env("HA_debug", "1");
        if interval > 0 {
            cmd.env("OCF_RESKEY_CRM_meta_interval", interval.to_string());
        }
        for (k, v) in params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        cmd
    }

    pub fn op(&self, action: &str, level: u32) -> Output {
        self.agent(action, &self.params(), level, 10_000)
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        let id = self.identity();
        for _ in 0..100 {
            let now = procs::scan(&id, true).unwrap_or_default();
            if now.is_empty() {
                break;
            }
            for pid in now.pids() {
                // SAFETY: kill(2) of a process running this test's own copy of the binary
                // (or a helper below one).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
