//! OCF exit codes and the error that carries one.

use std::fmt;

/// Every exit code of the OCF 1.1 contract. The numeric value is the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OcfStatus {
    Success = 0,
    /// A soft failure: Pacemaker restarts or moves the resource.
    ErrGeneric = 1,
    /// Malformed invocation (missing action, extra arguments).
    ErrArgs = 2,
    Unimplemented = 3,
    ErrPerm = 4,
    /// Something this node lacks: the resource is banned from this node only.
    ErrInstalled = 5,
    /// The configuration is wrong everywhere: the resource is stopped cluster-wide.
    ErrConfigured = 6,
    NotRunning = 7,
    RunningPromoted = 8,
    FailedPromoted = 9,
    Degraded = 190,
    DegradedPromoted = 191,
}

impl OcfStatus {
    pub const ALL: [OcfStatus; 12] = [
        OcfStatus::Success,
        OcfStatus::ErrGeneric,
        OcfStatus::ErrArgs,
        OcfStatus::Unimplemented,
        OcfStatus::ErrPerm,
        OcfStatus::ErrInstalled,
        OcfStatus::ErrConfigured,
        OcfStatus::NotRunning,
        OcfStatus::RunningPromoted,
        OcfStatus::FailedPromoted,
        OcfStatus::Degraded,
        OcfStatus::DegradedPromoted,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i32) -> Option<OcfStatus> {
        Self::ALL.into_iter().find(|s| i32::from(s.code()) == code)
    }

    /// The name resource-agents' `ocf-returncodes` gives the code.
    pub fn name(self) -> &'static str {
        match self {
            OcfStatus::Success => "OCF_SUCCESS",
            OcfStatus::ErrGeneric => "OCF_ERR_GENERIC",
            OcfStatus::ErrArgs => "OCF_ERR_ARGS",
            OcfStatus::Unimplemented => "OCF_ERR_UNIMPLEMENTED",
            OcfStatus::ErrPerm => "OCF_ERR_PERM",
            OcfStatus::ErrInstalled => "OCF_ERR_INSTALLED",
            OcfStatus::ErrConfigured => "OCF_ERR_CONFIGURED",
            OcfStatus::NotRunning => "OCF_NOT_RUNNING",
            OcfStatus::RunningPromoted => "OCF_RUNNING_PROMOTED",
            OcfStatus::FailedPromoted => "OCF_FAILED_PROMOTED",
            OcfStatus::Degraded => "OCF_DEGRADED",
            OcfStatus::DegradedPromoted => "OCF_DEGRADED_PROMOTED",
        }
    }
}

impl fmt::Display for OcfStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

/// A failed action: the exit code and one sentence for the operator (what failed, on which
/// object, what to check). Printed as the `ocf-exit-reason:` line; never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcfError {
    pub status: OcfStatus,
    pub reason: String,
}

impl OcfError {
    pub fn new(status: OcfStatus, reason: impl Into<String>) -> Self {
        OcfError {
            status,
            reason: one_line(reason.into()),
        }
    }
    pub fn generic(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::ErrGeneric, reason)
    }
    pub fn args(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::ErrArgs, reason)
    }
    pub fn configured(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::ErrConfigured, reason)
    }
    pub fn installed(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::ErrInstalled, reason)
    }
    pub fn perm(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::ErrPerm, reason)
    }
    pub fn not_running(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::NotRunning, reason)
    }
    pub fn unimplemented(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::Unimplemented, reason)
    }
    pub fn degraded(reason: impl Into<String>) -> Self {
        Self::new(OcfStatus::Degraded, reason)
    }
}

/// Pacemaker keeps only the text up to the first newline of the last exit-reason line, so
/// fold anything multi-line into one.
fn one_line(reason: String) -> String {
    if reason.contains(['\n', '\r']) {
        reason
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        reason
    }
}

impl fmt::Display for OcfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for OcfError {}

/// What an action returns: a non-failure status (0, 7 for monitor, 8, 190 …) or an error with
/// its reason.
pub type ActionResult = Result<OcfStatus, OcfError>;

/// A value that did not read as its declaration says: a configuration error (6).
impl From<crate::params::ParamError> for OcfError {
    fn from(e: crate::params::ParamError) -> OcfError {
        OcfError::configured(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_the_contract() {
        let expected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191];
        for (s, c) in OcfStatus::ALL.iter().zip(expected) {
            assert_eq!(i32::from(s.code()), c);
            assert_eq!(OcfStatus::from_code(c), Some(*s));
        }
        assert_eq!(OcfStatus::from_code(10), None);
    }

    #[test]
    fn reasons_are_one_line() {
        let e = OcfError::generic("first\nsecond\r\n");
        assert_eq!(e.reason, "first; second");
    }
}
