//! Redfish (DMTF DSP0266) as a fence device: sessions, systems, ComputerSystem.Reset.

pub mod client;
pub mod model;
pub mod tls;
