//! The agents: each one's parameter declaration, and what its actions do with the domain and
//! protocol modules, mapped onto the exit codes of its runtime ([`crate::ocf`] or
//! [`crate::fence`]). Every binary under `src/bin/` is one call into this module.

pub mod axigen;
pub mod drbd;
pub mod drbd_handler;
pub mod ipmi;
pub mod pdu;
pub mod redfish;
pub mod vip;
