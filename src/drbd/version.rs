//! Which DRBD the kernel runs: chooses the status source (events2 for 9, sh-status for 8.4).
//!
//! Sources, in drbd.ocf's order: `drbdadm --version` (`DRBD_KERNEL_VERSION_CODE=0x090200`;
//! `0x000000` when the module is not loaded), then `modinfo -F version drbd` (`8.4.11`), and
//! `/proc/drbd` (`version: 8.4.11 (api:1/proto:86-101)`). All pure parsers.

use super::status::ParseError;
use std::fmt;

/// A DRBD version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DrbdVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: u8,
}

impl DrbdVersion {
    pub const fn new(major: u8, minor: u8, patch: u8) -> Self {
        DrbdVersion {
            major,
            minor,
            patch,
        }
    }

    /// DRBD's `VERSION_CODE`: `0xMMmmpp`.
    pub fn code(self) -> u32 {
        (self.major as u32) << 16 | (self.minor as u32) << 8 | self.patch as u32
    }

    /// From a `VERSION_CODE`; `None` for 0 (module not loaded) or codes above 0xFFFFFF.
    pub fn from_code(code: u32) -> Option<Self> {
        if code == 0 || code > 0xFF_FFFF {
            return None;
        }
        Some(DrbdVersion::new(
            (code >> 16) as u8,
            (code >> 8) as u8,
            code as u8,
        ))
    }

    /// Multi-volume resources (`sh-status <resource>` rather than per device): 8.4 and later.
    pub fn has_multi_volume(self) -> bool {
        self.code() >= 0x08_0400
    }

    /// DRBD 9: `events2`, per-resource role, quorum, several peers.
    pub fn is_v9(self) -> bool {
        self.major >= 9
    }

    /// Parses `x.y.z` (trailing text such as `-1` or `rc.1` after the patch is ignored, as in
    /// drbd.ocf's sed); strict about the three numbers.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("DRBD version", "not x.y.z", text);
        let mut parts = text.trim().splitn(3, '.');
        let mut next = |last: bool| -> Result<u8, ParseError> {
            let p = parts.next().ok_or_else(err)?;
            let digits: &str = if last {
                let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
                &p[..end]
            } else {
                p
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            digits.parse().map_err(|_| err())
        };
        Ok(DrbdVersion::new(next(false)?, next(false)?, next(true)?))
    }
}

impl fmt::Display for DrbdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What `drbdadm --version` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolVersions {
    /// The loaded kernel module; `None` when `DRBD_KERNEL_VERSION_CODE=0x000000`.
    pub kernel: Option<DrbdVersion>,
    /// drbd-utils (`DRBDADM_VERSION_CODE`).
    pub utils: Option<DrbdVersion>,
}

fn parse_code(value: &str, line: &str) -> Result<u32, ParseError> {
    let hex = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
        .ok_or_else(|| ParseError::new("drbdadm --version", "version code is not hex", line))?;
    u32::from_str_radix(hex, 16)
        .map_err(|_| ParseError::new("drbdadm --version", "version code is not hex", line))
}

/// Parses `drbdadm --version` (shell assignments such as `DRBD_KERNEL_VERSION_CODE=0x090200`).
/// A missing `DRBD_KERNEL_VERSION_CODE` line is an error: that output is not drbdadm's.
pub fn parse_drbdadm_version(text: &str) -> Result<ToolVersions, ParseError> {
    let mut kernel = None;
    let mut utils = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("DRBD_KERNEL_VERSION_CODE=") {
            kernel = Some(DrbdVersion::from_code(parse_code(v, line)?));
        } else if let Some(v) = line.strip_prefix("DRBDADM_VERSION_CODE=") {
            utils = DrbdVersion::from_code(parse_code(v, line)?);
        }
    }
    match kernel {
        Some(kernel) => Ok(ToolVersions { kernel, utils }),
        None => Err(ParseError::new(
            "drbdadm --version",
            "no DRBD_KERNEL_VERSION_CODE line",
            text.lines().next().unwrap_or(""),
        )),
    }
}

/// Parses the first line of `/proc/drbd`: `version: 8.4.11 (api:1/proto:86-101)`.
pub fn parse_proc_drbd(text: &str) -> Result<DrbdVersion, ParseError> {
    let first = text.lines().next().unwrap_or("");
    let rest = first
        .trim()
        .strip_prefix("version:")
        .ok_or_else(|| ParseError::new("/proc/drbd", "no version line", first))?;
    let word = rest.split_whitespace().next().unwrap_or("");
    DrbdVersion::parse(word).map_err(|_| ParseError::new("/proc/drbd", "bad version", first))
}

/// Chooses the kernel version as drbd.ocf does: `drbdadm --version`, else modinfo's
/// `version` (passed in when it was run), else `/proc/drbd`. `None`: no module anywhere.
pub fn kernel_version(
    drbdadm_version: Option<&ToolVersions>,
    modinfo_version: Option<&str>,
    proc_drbd: Option<&str>,
) -> Option<DrbdVersion> {
    drbdadm_version
        .and_then(|t| t.kernel)
        .or_else(|| modinfo_version.and_then(|m| DrbdVersion::parse(m).ok()))
        .or_else(|| proc_drbd.and_then(|p| parse_proc_drbd(p).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_MODULE: &str = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\nDRBDADM_API_VERSION=2\nDRBD_KERNEL_VERSION_CODE=0x000000\nDRBD_KERNEL_VERSION=0\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n";

    #[test]
    fn drbdadm_version_without_module() {
        let v = parse_drbdadm_version(NO_MODULE).unwrap();
        assert_eq!(v.kernel, None);
        assert_eq!(v.utils, Some(DrbdVersion::new(9, 22, 0)));
        let loaded = NO_MODULE.replace("0x000000", "0x090202");
        let v = parse_drbdadm_version(&loaded).unwrap();
        assert_eq!(v.kernel, Some(DrbdVersion::new(9, 2, 2)));
        assert!(v.kernel.unwrap().is_v9());
        assert!(parse_drbdadm_version("hello").is_err());
        assert!(parse_drbdadm_version("DRBD_KERNEL_VERSION_CODE=090202").is_err());
    }

    #[test]
    fn proc_drbd_and_modinfo() {
        let v = parse_proc_drbd("version: 8.4.11 (api:1/proto:86-101)\nsrcversion: X\n").unwrap();
        assert_eq!(v.code(), 0x08_040b);
        assert!(!v.is_v9() && v.has_multi_volume());
        assert!(parse_proc_drbd("").is_err());
        assert_eq!(
            kernel_version(None, Some("8.4.11"), None),
            Some(DrbdVersion::new(8, 4, 11))
        );
        assert_eq!(
            DrbdVersion::parse("9.2.12-rc.1").unwrap(),
            DrbdVersion::new(9, 2, 12)
        );
        assert!(DrbdVersion::parse("9.x.1").is_err());
        assert!(DrbdVersion::parse("9.1").is_err());
        assert!(DrbdVersion::parse("300.1.1").is_err());
        assert_eq!(DrbdVersion::from_code(0), None);
    }
}
