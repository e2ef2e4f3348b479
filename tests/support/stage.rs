//! Bulwark's agents laid out for overlaying on the system's agent directories.

use super::{bin_dir, lab_scripts_dir, run, LabDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// OCF agents staged as `ocf:bulwark:<name>` from the binary of the same name.
pub const OCF_AGENTS: &[&str] = &["vip", "drbd", "axigen"];

/// A staging tree, the layout `crm-examples/lab/stage-agents.sh` builds:
/// `resource.d/bulwark/<agent>` (overlaid on `/usr/lib/ocf/resource.d`) and
/// `sbin/fence_bulwark_*` (overlaid on `/usr/sbin`). Files are copies (a rebuild during the test
/// cannot change them), directories and files 0755 so `nobody`/`hacluster` can run meta-data.
/// Cheap to clone; the tree is removed when the last clone goes (kept if a test panics).
#[derive(Clone)]
pub struct Stage {
    dir: Arc<LabDir>,
}

impl Stage {
    /// An empty stage (add fixtures with [`Stage::add_ocf_agent`]).
    pub fn empty() -> Stage {
        let dir = LabDir::new("stage");
        for sub in ["resource.d", "resource.d/bulwark", "sbin"] {
            let p = dir.path().join(sub);
            fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
            set_mode(&p, 0o755);
        }
        Stage { dir: Arc::new(dir) }
    }

    /// A stage with whichever of Bulwark's agents are built in [`bin_dir`]: the OCF agents
    /// ([`OCF_AGENTS`]) and every `fence_bulwark_*` binary. Missing ones are skipped; tests that
    /// need one use [`Stage::require_ocf`] / [`Stage::require_fence`] for a clear message.
    pub fn from_workspace() -> Stage {
        let stage = Stage::empty();
        let bins = bin_dir();
        for name in OCF_AGENTS {
            let src = bins.join(name);
            if src.is_file() {
                stage.add_ocf_agent(name, &src);
            }
        }
        if let Ok(entries) = fs::read_dir(&bins) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let path = e.path();
                if name.starts_with("fence_bulwark_") && !name.contains('.') && path.is_file() {
                    stage.add_fence_agent(&name, &path);
                }
            }
        }
        stage
    }

    /// Root of the tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies `src` in as `ocf:bulwark:<name>`.
    pub fn add_ocf_agent(&self, name: &str, src: &Path) -> &Stage {
        self.put(src, &self.ocf_path(name));
        self
    }

    /// Copies `src` in as `/usr/sbin/<name>` (a fence agent, `fence_*`).
    pub fn add_fence_agent(&self, name: &str, src: &Path) -> &Stage {
        self.put(src, &self.path().join("sbin").join(name));
        self
    }

    /// Writes the script `body` in as `ocf:bulwark:<name>` (a stand-in agent).
    pub fn add_ocf_script(&self, name: &str, body: &str) -> &Stage {
        self.write(body, &self.ocf_path(name));
        self
    }

    /// Writes the script `body` in as `/usr/sbin/<name>` (a stand-in fence agent, a tool
    /// wrapper).
    pub fn add_sbin_script(&self, name: &str, body: &str) -> &Stage {
        self.write(body, &self.path().join("sbin").join(name));
        self
    }

    /// Stages the package `deb` (as `pkg/bulwark-agents.deb`): every node of a cluster built on
    /// this stage installs it with dpkg at boot (`crm-examples/lab/pkg-install.sh`), so the
    /// agents it sees are the installed package's, not copies of the workspace binaries.
    pub fn add_package(&self, deb: &Path) -> &Stage {
        let dir = self.path().join("pkg");
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        set_mode(&dir, 0o755);
        let dest = dir.join("bulwark-agents.deb");
        fs::copy(deb, &dest)
            .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", deb.display(), dest.display()));
        set_mode(&dest, 0o644);
        self
    }

    /// Where `ocf:bulwark:<name>` is staged.
    pub fn ocf_path(&self, name: &str) -> PathBuf {
        self.path().join("resource.d").join("bulwark").join(name)
    }

    /// Panics with the build hint unless `ocf:bulwark:<name>` is staged.
    pub fn require_ocf(&self, name: &str) {
        if !self.ocf_path(name).is_file() {
            panic!(
                "ocf:bulwark:{name} is not staged: run `cargo build --workspace --bins` first \
                 (binaries are taken from {})",
                bin_dir().display()
            );
        }
    }

    /// Panics with the build hint unless `/usr/sbin/<name>` is staged.
    pub fn require_fence(&self, name: &str) {
        if !self.path().join("sbin").join(name).is_file() {
            panic!(
                "{name} is not staged: run `cargo build --workspace --bins` first \
                 (binaries are taken from {})",
                bin_dir().display()
            );
        }
    }

    fn put(&self, src: &Path, dest: &Path) {
        self.install(dest, |tmp| super::copy_executable(src, tmp));
    }

    fn write(&self, body: &str, dest: &Path) {
        self.install(dest, |tmp| {
            fs::write(tmp, body).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()))
        });
    }

    /// Fills a temporary file next to `dest` with `fill`, makes it executable and renames it
    /// into place, so a node reading the stage never sees half a binary.
    fn install(&self, dest: &Path, fill: impl FnOnce(&Path)) {
        if let Some(name) = dest.file_name().and_then(|n| n.to_str()) {
            // An overlay or ocf:bulwark:NAME with such a name would not mean what it says.
            assert!(
                !name.is_empty() && !name.starts_with('.') && !name.contains(['/', ':', ',']),
                "bad agent name {name:?}"
            );
        }
        let tmp = dest.with_extension("tmp");
        fill(&tmp);
        set_mode(&tmp, 0o755);
        fs::rename(&tmp, dest)
            .unwrap_or_else(|e| panic!("rename {} -> {}: {e}", tmp.display(), dest.display()));
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// Runs `cmd` once in a private mount namespace where `stage` is overlaid on `/usr/sbin` and
/// `/usr/lib/ocf/resource.d` (`crm-examples/lab/overlay-exec.sh`): Pacemaker's tools then see
/// `ocf:bulwark:*` and `fence_bulwark_*` without a cluster, and the host is unchanged.
/// Example: `overlay_exec(&stage, &["crm_resource", "--show-metadata", "ocf:bulwark:vip"])`.
pub fn overlay_exec(stage: &Stage, cmd: &[&str]) -> Output {
    run(Command::new(lab_scripts_dir().join("overlay-exec.sh"))
        .arg("-s")
        .arg(stage.path())
        .args(cmd))
}
