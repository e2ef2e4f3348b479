//! The promotion score of a promotable clone instance, through `crm_attribute --promotion`.
//!
//! `crm_master` is deprecated and defaults to a *forever* lifetime; `crm_attribute
//! --promotion` uses the node-reboot lifetime and the `master-<OCF_RESOURCE_INSTANCE>` name.
//! Each call is bounded by the action's deadline.

use super::runtime::Context;
use super::status::OcfError;
use crate::process::run_captured;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The longest a single attribute update may take, when the deadline allows it.
const UPDATE_BUDGET: Duration = Duration::from_secs(10);

/// The promotion score through `crm_attribute` (the program: a name looked up in `PATH`, or a
/// path).
#[derive(Debug, Clone)]
pub struct Promotion {
    pub crm_attribute: PathBuf,
}

impl Default for Promotion {
    fn default() -> Self {
        Promotion {
            crm_attribute: PathBuf::from("crm_attribute"),
        }
    }
}

impl Promotion {
    fn run(&self, ctx: &Context, args: &[&str]) -> Result<(), OcfError> {
        let mut cmd = Command::new(&self.crm_attribute);
        cmd.arg("--promotion").args(args);
        let out = run_captured(&mut cmd, ctx.deadline.cap(UPDATE_BUDGET))
            .map_err(|e| OcfError::generic(format!("cannot update the promotion score: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(OcfError::generic(format!(
                "crm_attribute --promotion {} failed: {}",
                args.join(" "),
                out.stderr_last_line()
            )))
        }
    }

    /// Sets this instance's promotion score (reboot lifetime).
    pub fn set(&self, ctx: &Context, score: u32) -> Result<(), OcfError> {
        let v = score.to_string();
        self.run(ctx, &["-l", "reboot", "-v", &v])
    }

    /// Removes this instance's promotion score: the node is then never promoted.
    pub fn delete(&self, ctx: &Context) -> Result<(), OcfError> {
        self.run(ctx, &["-l", "reboot", "-D"])
    }

    /// The current score, when one is set (`crm_attribute --promotion -G -Q`).
    pub fn get(&self, ctx: &Context) -> Option<u32> {
        let mut cmd = Command::new(&self.crm_attribute);
        cmd.args(["--promotion", "-l", "reboot", "-G", "-Q"]);
        let out = run_captured(&mut cmd, ctx.deadline.cap(UPDATE_BUDGET)).ok()?;
        if !out.status.success() {
            return None;
        }
        out.stdout_str().trim().parse().ok()
    }
}
