//! Redfish (DMTF DSP0266) as a fence device: sessions, systems, ComputerSystem.Reset.

pub mod agent;
pub mod client;
pub mod model;
pub mod switch;
pub mod tls;
