//! The OCF resource-agent runtime: action dispatch, environment, exit codes, deadlines,
//! logging and metadata, shared by every OCF agent. It knows no agent's domain.

pub mod man;
pub mod meta;
pub mod metadata;
pub mod promotion;
pub mod runtime;
pub mod status;

pub use meta::Meta;
pub use metadata::{ActionSpec, AgentSpec};
pub use runtime::{execute, execute_in, find_program, run, Action, Context, ResourceAgent};
pub use status::{ActionResult, OcfError, OcfStatus};
