//! The fence-agent runtime shared by every Bulwark STONITH agent: the fence-agents API
//! (stdin `name=value` or options, actions, exit codes 0/1/2), the power state machine that
//! never reports OFF without reading it, deadlines, and metadata in fence-agents' dialect.
//! It knows no protocol: agents provide a [`PowerSwitch`].

pub mod engine;
pub mod input;
pub mod man;
pub mod metadata;
pub mod runtime;
pub mod spec;

pub use engine::{Outlet, PowerState, PowerSwitch, Timing};
pub use runtime::{declaration, execute, invoke, invoked_name, run, FenceAgent, Request};
pub use spec::{FenceAction, FenceSpec, Method};

use std::fmt;

/// The exit status of a fence agent, as the fence-agents API defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceExit {
    Success = 0,
    /// Anything failed; one line on stderr says why.
    Failed = 1,
    /// `status`: the target is off.
    Off = 2,
}

impl FenceExit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<crate::params::ParamError> for FenceError {
    fn from(e: crate::params::ParamError) -> FenceError {
        FenceError::new(e.to_string())
    }
}

/// A failed fence action: one line for the operator (pacemaker-fenced logs it at warning and
/// maps "timed out" in it to a timeout). Never holds a secret. Always exit status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceError {
    pub reason: String,
    /// The device said "not now" (busy, not in a state to accept the command, no answer):
    /// the same command may succeed a moment later. Power-on after a confirmed off is
    /// retried on these within the deadline.
    pub transient: bool,
}

impl FenceError {
    pub fn new(reason: impl Into<String>) -> Self {
        let reason: String = reason.into();
        FenceError {
            reason: reason.lines().map(str::trim).collect::<Vec<_>>().join("; "),
            transient: false,
        }
    }

    /// A [`FenceError::new`] worth retrying (see `transient`).
    pub fn transient(reason: impl Into<String>) -> Self {
        FenceError {
            transient: true,
            ..FenceError::new(reason)
        }
    }
}

impl fmt::Display for FenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for FenceError {}
