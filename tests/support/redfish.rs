//! sushy-tools' Redfish emulator for the fence_bulwark_redfish tests: a venv built from
//! Debian's python3 under the target dir (once, atomically, so parallel test processes never
//! see a half-built one), a CA and server certificate made by `openssl`, a bcrypt htpasswd,
//! and `tests/fixtures/redfish/emulator.py` started by PID and stopped in Drop.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The PyPI packages the emulator needs, pinned: a new release must not change a verdict.
pub const REQUIREMENTS: &[&str] = &["sushy-tools==2.2.0", "cheroot==11.1.2"];

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The venv's python, building the venv on first use. A build goes to a directory of its
/// own and is renamed into place; the loser of a race throws its copy away.
pub fn venv_python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let tag = REQUIREMENTS.join(" ").replace(['=', ' ', '.'], "_");
    let venv = target.join(format!("redfish-venv-{}", &tag[..tag.len().min(60)]));
    let python = venv.join("bin/python");
    if python.is_file() && venv.join("complete").is_file() {
        return python;
    }
    fs::create_dir_all(&target).expect("target dir");
    let tmp = target.join(format!(
        "redfish-venv.tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&tmp);
    run_ok(
        Command::new("/usr/bin/python3")
            .args(["-m", "venv"])
            .arg(&tmp),
        "python3 -m venv (apt-get install python3-venv)",
    );
    run_ok(
        Command::new(tmp.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(REQUIREMENTS),
        "pip install sushy-tools",
    );
    fs::write(tmp.join("complete"), "").expect("mark venv complete");
    if fs::rename(&tmp, &venv).is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    assert!(python.is_file(), "no venv at {}", venv.display());
    python
}

/// A certificate authority and a server certificate for 127.0.0.1, ::1 and localhost.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    /// Another CA, which did not sign the server's certificate.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    pub fn make(dir: &Path) -> Pki {
        let o = |args: &[&str]| {
            run_ok(
                Command::new("openssl").args(args).current_dir(dir),
                "openssl (apt-get install openssl)",
            )
        };
        for ca in ["ca", "other-ca"] {
            o(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                &format!("/CN=bulwark test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ]);
        }
        o(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        o(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        Pki {
            dir: dir.to_path_buf(),
        }
    }
}

/// One fake system of the emulator.
#[derive(Clone, Debug)]
pub struct FakeSystem {
    pub uuid: String,
    pub name: String,
    pub on: bool,
}

impl FakeSystem {
    pub fn new(n: u32, name: &str, on: bool) -> FakeSystem {
        FakeSystem {
            uuid: format!("{n:08}-0000-4000-8000-{n:012}"),
            name: name.to_string(),
            on,
        }
    }
}

pub struct Emulator {
    pub dir: PathBuf,
    pub port: u16,
    pub host: String,
    pub user: String,
    pub password: String,
    pub pki: Pki,
    pub systems: Vec<FakeSystem>,
    /// The network namespace the emulator runs in (a cluster node's), if not ours.
    pub netns: Option<String>,
    child: Child,
}

fn free_port(host: &str) -> u16 {
    std::net::TcpListener::bind((host, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Emulator {
    pub fn start(systems: &[FakeSystem]) -> Emulator {
        Self::start_on("127.0.0.1", systems)
    }

    /// Starts the emulator over HTTPS on `host` (127.0.0.1 or ::1) with these systems.
    pub fn start_on(host: &str, systems: &[FakeSystem]) -> Emulator {
        Self::start_in(None, host, systems)
    }

    /// As [`Emulator::start_on`], inside network namespace `netns` (a cluster node's).
    pub fn start_in(netns: Option<&str>, host: &str, systems: &[FakeSystem]) -> Emulator {
        let python = venv_python();
        let dir = std::env::temp_dir().join(format!(
            "bulwark-redfish-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("emulator dir");
        let pki = Pki::make(&dir);
        let user = "fenceuser".to_string();
        let password = crate::support::unique_secret("rf");
        // The bcrypt hash is made by the venv's bcrypt from stdin: no password in any argv.
        let mut hash = Command::new(&python)
            .args(["-c", "import bcrypt,sys;print(bcrypt.hashpw(sys.stdin.read().encode(),bcrypt.gensalt(rounds=4)).decode())"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("bcrypt");
        hash.stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        let out = hash.wait_with_output().expect("bcrypt hash");
        assert!(out.status.success());
        fs::write(
            dir.join("htpasswd"),
            format!("{user}:{}", String::from_utf8_lossy(&out.stdout)),
        )
        .unwrap();
        let sys_json: Vec<String> = systems
            .iter()
            .map(|s| {
                format!(
                    r#"{{"uuid":"{}","name":"{}","power_state":"{}"}}"#,
                    s.uuid,
                    s.name,
                    if s.on { "On" } else { "Off" }
                )
            })
            .collect();
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port(host);
            let _ = fs::remove_file(dir.join("ready"));
            let log = fs::File::create(dir.join("emulator.log")).unwrap();
            let mut cmd =
                crate::support::sim_command(&python.to_string_lossy(), netns, libc::SIGTERM);
            let child = cmd
                .arg(workspace().join("tests/fixtures/redfish/emulator.py"))
                .env("RF_DIR", &dir)
                // sushy keeps the fake systems in a SQLite file under the temp dir, which
                // would be shared by every emulator on the machine.
                .env("TMPDIR", &dir)
                .env("RF_USER", &user)
                .env("RF_PASSWORD", &password)
                .env("RF_HOST", host)
                .env("RF_PORT", port.to_string())
                .env("RF_CERT", pki.cert())
                .env("RF_KEY", pki.key())
                .env("RF_SYSTEMS", format!("[{}]", sys_json.join(",")))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start the emulator");
            let mut emu = Emulator {
                dir: dir.clone(),
                port,
                host: host.to_string(),
                user: user.clone(),
                password: password.clone(),
                pki: Pki { dir: dir.clone() },
                systems: systems.to_vec(),
                netns: netns.map(str::to_string),
                child,
            };
            if emu.wait_ready() {
                return emu;
            }
            last = fs::read_to_string(dir.join("emulator.log")).unwrap_or_default();
            emu.stop();
        }
        panic!("the Redfish emulator did not start:\n{last}");
    }

    fn wait_ready(&mut self) -> bool {
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // "ready" is written once the listening socket is bound; from our namespace the
            // port can be probed only when it is ours.
            if self.dir.join("ready").is_file()
                && (self.netns.is_some()
                    || std::net::TcpStream::connect((self.host.as_str(), self.port)).is_ok())
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `ip` as the agents take it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Switches the fault middleware's behaviours (see emulator.py); empty: stock sushy.
    pub fn set_faults(&self, words: &[&str]) {
        let tmp = self.dir.join("faults.tmp");
        fs::write(&tmp, words.join(" ")).unwrap();
        fs::rename(tmp, self.dir.join("faults")).unwrap();
    }

    /// Every request so far: (client port, method, path, auth kind).
    pub fn requests(&self) -> Vec<(String, String, String, String)> {
        fs::read_to_string(self.dir.join("requests.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f.len() == 4).then(|| {
                    (
                        f[0].to_string(),
                        f[1].to_string(),
                        f[2].to_string(),
                        f[3].to_string(),
                    )
                })
            })
            .collect()
    }

    /// The emulator's own output (for failure messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("emulator.log")).unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        let _ = fs::remove_file(self.dir.join("requests.log"));
    }

    /// A system's PowerState read with curl (an independent client) and Basic auth.
    pub fn power_state(&self, sys: &FakeSystem) -> String {
        let body = self.curl(&format!("/redfish/v1/Systems/{}", sys.uuid), None);
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        doc["PowerState"].as_str().unwrap_or("?").to_string()
    }

    /// Sets a system's power through the emulator (curl, Basic auth) and waits for it.
    pub fn set_power(&self, sys: &FakeSystem, on: bool) {
        let want = if on { "On" } else { "Off" };
        if self.power_state(sys) == want {
            return;
        }
        let reset = if on { "On" } else { "ForceOff" };
        self.curl(
            &format!(
                "/redfish/v1/Systems/{}/Actions/ComputerSystem.Reset",
                sys.uuid
            ),
            Some(&format!(r#"{{"ResetType":"{reset}"}}"#)),
        );
        assert!(
            crate::support::wait_for(Duration::from_secs(20), || self.power_state(sys) == want),
            "{} did not reach {want}",
            sys.name
        );
    }

    /// One request with curl; credentials through a config file on stdin, never argv.
    pub fn curl(&self, path: &str, post: Option<&str>) -> String {
        let url = format!("https://{}{path}", self.address());
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "curl"]);
                c
            }
            None => Command::new("curl"),
        };
        cmd.args(["-sS", "-K", "-", "--cacert"])
            .arg(self.pki.ca())
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(body) = post {
            cmd.args(["-H", "Content-Type: application/json", "--data", body]);
        }
        let mut child = cmd.spawn().expect("curl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("user = \"{}:{}\"\n", self.user, self.password).as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn stop(&mut self) {
        crate::support::terminate(&mut self.child, Duration::from_secs(5));
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// One agent run: exit code, stdout, stderr, wall time.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
    pub took: Duration,
}

/// Runs `agent` (a path) with `options` as `name=value` lines on stdin, as pacemaker-fenced
/// does. No option is ever on its argv.
pub fn run_agent(agent: &Path, options: &[(&str, String)]) -> Run {
    let mut input = String::new();
    for (k, v) in options {
        input.push_str(&format!("{k}={v}\n"));
    }
    let start = Instant::now();
    let mut child = Command::new(agent)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", agent.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    }
}
