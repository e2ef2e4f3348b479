//! Bulwark: Pacemaker OCF resource agents and fence agents for a two-node Axigen cluster.
//!
//! One library, thin agents: every binary under `src/bin/` declares its parameters once
//! (see [`params`]) and hands control to the OCF runtime ([`ocf`]) or the fence runtime
//! ([`fence`]). Protocol and domain code lives in the modules below; none of them decides an
//! exit code, the agents do.

pub mod agents;
pub mod axigen;
pub mod codec;
pub mod deadline;
pub mod drbd;
pub mod fence;
#[doc(hidden)]
pub mod fuzzing;
pub mod log;
pub mod man;
pub mod net;
pub mod ocf;
pub mod params;
pub mod power;
pub mod process;
pub mod proto;
pub mod secret;
