//! Who holds a DRBD device open: named in the exit reason when demote or stop cannot finish
//! ("(-12) Device is held open by someone" names no one; multipathd, a forgotten mount or a
//! shell in the mount point are the usual culprits, LINBIT/drbd #74).
//!
//! Read-only scans of `/proc`: mounts of the device (`/proc/self/mountinfo`, by major:minor)
//! and processes with an open file descriptor on it (`/proc/<pid>/fd/*`, by link target; no
//! `stat` through the links, which could block on a hung network file system).

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Something that keeps the device open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// The device is mounted here.
    Mount { mount_point: String },
    /// A process has it open.
    Process { pid: u32, command: String },
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Mount { mount_point } => write!(f, "mounted on {mount_point}"),
            Holder::Process { pid, command } => write!(f, "pid {pid} ({command})"),
        }
    }
}

/// One line for an exit reason: `held open by: mounted on /var/opt/axigen, pid 812 (axigen)`;
/// `None` when nothing was found.
pub fn describe_holders(holders: &[Holder]) -> Option<String> {
    if holders.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = holders.iter().take(5).map(|h| h.to_string()).collect();
    if holders.len() > 5 {
        parts.push(format!("and {} more", holders.len() - 5));
    }
    Some(format!("held open by: {}", parts.join(", ")))
}

/// Mount points of the block device `major:minor`, from mountinfo text.
pub fn mounts_of(mountinfo: &str, major: u32, minor: u32) -> Vec<String> {
    let want = format!("{major}:{minor}");
    mountinfo
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let dev = f.nth(2)?;
            let _root = f.next()?;
            let mount_point = f.next()?;
            (dev == want).then(|| unescape_octal(mount_point))
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Processes under `proc_root` (normally `/proc`) with a descriptor whose link target is
/// `target` (compare canonical paths: pass the result of `fs::canonicalize`).
pub fn processes_holding(proc_root: &Path, target: &Path) -> Vec<Holder> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue; // gone, or not ours to read
        };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == target));
        if holds {
            let command = std::fs::read_to_string(entry.path().join("comm"))
                .map(|c| c.trim().to_string())
                .unwrap_or_else(|_| "?".to_string());
            found.push(Holder::Process { pid, command });
        }
    }
    found.sort_by_key(|h| match h {
        Holder::Process { pid, .. } => *pid,
        Holder::Mount { .. } => 0,
    });
    found
}

/// Everything holding `device` open: its mounts (when it is a block device) and processes.
/// Best effort: unreadable entries are skipped, never an error.
pub fn device_holders(device: &Path) -> Vec<Holder> {
    let target: PathBuf = std::fs::canonicalize(device).unwrap_or_else(|_| device.to_path_buf());
    let mut holders = Vec::new();
    if let Ok(meta) = std::fs::metadata(&target) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_block_device() {
            let rdev = meta.rdev();
            let (major, minor) = (libc::major(rdev), libc::minor(rdev));
            if let Ok(mi) = std::fs::read_to_string("/proc/self/mountinfo") {
                holders.extend(
                    mounts_of(&mi, major, minor)
                        .into_iter()
                        .map(|mount_point| Holder::Mount { mount_point }),
                );
            }
        }
    }
    holders.extend(processes_holding(Path::new("/proc"), &target));
    holders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_by_device_number() {
        let mi = "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\
                  40 22 147:0 / /var/opt/axigen rw,relatime shared:9 - xfs /dev/drbd0 rw\n\
                  41 22 147:0 / /mnt/with\\040space rw - xfs /dev/drbd0 rw\n";
        assert_eq!(
            mounts_of(mi, 147, 0),
            vec!["/var/opt/axigen".to_string(), "/mnt/with space".to_string()]
        );
        assert!(mounts_of(mi, 147, 1).is_empty());
        assert!(mounts_of("garbage", 1, 1).is_empty());
    }

    #[test]
    fn finds_a_process_holding_a_file() {
        let dir = std::env::temp_dir().join(format!("bulwark-holders-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("dev");
        std::fs::write(&file, b"x").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3<\"$1\"; exec sleep 30")
            .arg("sh")
            .arg(&file)
            .spawn()
            .unwrap();
        let pid = child.id();
        // The child opens the file right after fork; wait until it shows (bounded).
        let mut found = Vec::new();
        for _ in 0..200 {
            found = device_holders(&file);
            if found
                .iter()
                .any(|h| matches!(h, Holder::Process { pid: p, .. } if *p == pid))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        let line = describe_holders(&found).unwrap_or_default();
        assert!(line.contains(&format!("pid {pid} (sleep)")), "{line}");
        assert_eq!(describe_holders(&[]), None);
    }
}
