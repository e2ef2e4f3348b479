//! The data directory (`/var/opt/axigen`) before a start.
//!
//! Axigen writes its whole store there. If the replicated filesystem is not mounted, a start
//! would create a fresh empty store on the root disk and accept mail the other node never sees,
//! so the agent refuses to start unless the directory exists and is a mount point of its own
//! (a parameter relaxes the mount check for single-disk setups).

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Why the data directory is not fit for a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataDirProblem {
    NotAbsolute(PathBuf),
    Missing(PathBuf),
    NotADirectory(PathBuf),
    /// The directory is on the same filesystem as its parent: the replicated volume is not
    /// mounted there.
    NotAMountPoint(PathBuf),
    Inaccessible {
        path: PathBuf,
        error: String,
    },
}

impl fmt::Display for DataDirProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataDirProblem::NotAbsolute(p) => {
                write!(f, "data directory {} is not an absolute path", p.display())
            }
            DataDirProblem::Missing(p) => {
                write!(f, "data directory {} does not exist", p.display())
            }
            DataDirProblem::NotADirectory(p) => {
                write!(f, "data directory {} is not a directory", p.display())
            }
            DataDirProblem::NotAMountPoint(p) => write!(
                f,
                "data directory {} is not a mount point (is the replicated filesystem mounted?)",
                p.display()
            ),
            DataDirProblem::Inaccessible { path, error } => {
                write!(f, "data directory {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for DataDirProblem {}

/// Pure: the parameter is usable as a data directory path (absolute, no `..` component).
pub fn validate_path(path: &Path) -> Result<(), DataDirProblem> {
    if !path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(DataDirProblem::NotAbsolute(path.to_path_buf()));
    }
    Ok(())
}

/// Exists, is a directory, and (when `require_mount`) is a mount point.
pub fn check_data_dir(path: &Path, require_mount: bool) -> Result<(), DataDirProblem> {
    validate_path(path)?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DataDirProblem::Missing(path.to_path_buf()))
        }
        Err(e) => {
            return Err(DataDirProblem::Inaccessible {
                path: path.to_path_buf(),
                error: e.to_string(),
            })
        }
    };
    if !meta.is_dir() {
        return Err(DataDirProblem::NotADirectory(path.to_path_buf()));
    }
    if require_mount
        && !is_mount_point(path).map_err(|e| DataDirProblem::Inaccessible {
            path: path.to_path_buf(),
            error: e.to_string(),
        })?
    {
        return Err(DataDirProblem::NotAMountPoint(path.to_path_buf()));
    }
    Ok(())
}

/// True when `path` is the root of a mounted filesystem: its device differs from its
/// parent's, or (same device: a bind mount, btrfs subvolume) `/proc/self/mountinfo` lists it.
pub fn is_mount_point(path: &Path) -> std::io::Result<bool> {
    let real = std::fs::canonicalize(path)?;
    let Some(parent) = real.parent() else {
        return Ok(true); // "/" is always a mount point
    };
    if std::fs::metadata(&real)?.dev() != std::fs::metadata(parent)?.dev() {
        return Ok(true);
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(mountinfo_lists(&mountinfo, &real))
}

/// Pure: whether a `/proc/self/mountinfo` text has a mount whose mount point is `path`.
/// Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
pub fn mountinfo_lists(mountinfo: &str, path: &Path) -> bool {
    let want = path.as_os_str().as_encoded_bytes();
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| unescape_octal(mp) == want)
}

fn unescape_octal(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
45 22 147:0 / /var/opt/axigen rw,relatime shared:30 - xfs /dev/drbd0 rw
46 22 8:1 /srv/x /mnt/with\\040space rw - ext4 /dev/sda1 rw
";

    #[test]
    fn mountinfo_parsing() {
        assert!(mountinfo_lists(MOUNTINFO, Path::new("/var/opt/axigen")));
        assert!(mountinfo_lists(MOUNTINFO, Path::new("/mnt/with space")));
        assert!(mountinfo_lists(MOUNTINFO, Path::new("/")));
        assert!(!mountinfo_lists(MOUNTINFO, Path::new("/var/opt")));
        assert!(!mountinfo_lists("", Path::new("/")));
        assert!(!mountinfo_lists("garbage\n1 2\n", Path::new("/")));
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape_octal("a\\040b"), b"a b");
        assert_eq!(unescape_octal("a\\134b"), b"a\\b");
        assert_eq!(unescape_octal("a\\9"), b"a\\9");
        assert_eq!(unescape_octal("end\\04"), b"end\\04");
    }

    #[test]
    fn paths() {
        assert!(validate_path(Path::new("/var/opt/axigen")).is_ok());
        assert!(matches!(
            validate_path(Path::new("var/opt/axigen")),
            Err(DataDirProblem::NotAbsolute(_))
        ));
        assert!(validate_path(Path::new("/var/../etc")).is_err());
    }

    #[test]
    fn real_directories() {
        let dir = std::env::temp_dir().join(format!("bulwark-datadir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(check_data_dir(&dir, false).is_ok());
        // A plain directory under /tmp is not a mount point (unless /tmp's layout is odd,
        // in which case the parent is the mount point and the child still is not).
        assert!(matches!(
            check_data_dir(&dir, true),
            Err(DataDirProblem::NotAMountPoint(_))
        ));
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            check_data_dir(&file, false),
            Err(DataDirProblem::NotADirectory(_))
        ));
        assert!(matches!(
            check_data_dir(&dir.join("missing"), false),
            Err(DataDirProblem::Missing(_))
        ));
        assert!(check_data_dir(Path::new("/proc"), true).is_ok());
        let msg = check_data_dir(&dir, true).unwrap_err().to_string();
        assert!(msg.contains("not a mount point"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
