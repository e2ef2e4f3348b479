//! Wire protocols spoken in-process by the agents (no helper tools, no secrets on argv).

pub mod ipmi;
pub mod redfish;
pub mod snmp;
