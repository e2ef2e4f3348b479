//! SNMP for switched PDUs: a blocking v1/v2c/v3 client ([`client`]), PDU families as data
//! ([`model`]) and outlet operations ([`outlet`]).
//!
//! A fence agent uses it as:
//! ```no_run
//! use bulwark::deadline::Deadline;
//! use bulwark::proto::snmp::{Credentials, ModelChoice, OutletRef, PduDevice, PowerAction, Target};
//! use bulwark::secret::Secret;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let deadline = Deadline::after(std::time::Duration::from_secs(20));
//! let target = Target::resolve("192.0.2.10", 161)?;
//! let creds = Credentials::V2c { community: Secret::from("private") };
//! let mut pdu = PduDevice::connect(&target, &creds, ModelChoice::Detect, None, &deadline)?;
//! let n = pdu.resolve(&OutletRef::parse("node2"), &deadline)?;
//! pdu.check_outlet(n, &deadline)?;
//! pdu.set_outlet(n, PowerAction::Off, &deadline)?;
//! let _now = pdu.outlet_state(n, &deadline)?; // poll until Off, within the deadline
//! # Ok(()) }
//! ```

pub mod client;
pub mod model;
pub mod oid;
pub mod outlet;

pub use client::{
    AuthProtocol, Credentials, Missing, PrivProtocol, Session, SnmpError, Target, UsmUser, Value,
    Varbind,
};
pub use model::{detect, CustomModel, ModelError, OutletState, PduModel, PowerAction, MODELS};
pub use oid::Oid;
pub use outlet::{ModelChoice, OutletInfo, OutletRef, PduDevice, PduError};
