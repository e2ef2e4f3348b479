//! Chassis commands (IPMI v2.0 §28): typed Chassis Control actions and the Get Chassis Status
//! reply.

use crate::codec::{Malformed, Reader};
pub use crate::power::PowerState;
use std::fmt;

/// Chassis Control actions (NetFn Chassis, command 0x02, data byte 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChassisCommand {
    /// Hard power off, no OS shutdown: what fencing needs.
    PowerDown,
    PowerUp,
    /// Off, then on after the BMC's own interval (at least 1 s per the spec).
    PowerCycle,
    /// Hard reset (power stays on).
    HardReset,
    /// Diagnostic interrupt (NMI) pulse.
    PulseDiagnostic,
    /// Soft shutdown through ACPI: the OS decides, so never use it for fencing.
    SoftShutdown,
}

impl ChassisCommand {
    pub fn code(self) -> u8 {
        match self {
            ChassisCommand::PowerDown => 0x00,
            ChassisCommand::PowerUp => 0x01,
            ChassisCommand::PowerCycle => 0x02,
            ChassisCommand::HardReset => 0x03,
            ChassisCommand::PulseDiagnostic => 0x04,
            ChassisCommand::SoftShutdown => 0x05,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChassisCommand::PowerDown => "power down",
            ChassisCommand::PowerUp => "power up",
            ChassisCommand::PowerCycle => "power cycle",
            ChassisCommand::HardReset => "hard reset",
            ChassisCommand::PulseDiagnostic => "pulse diagnostic interrupt",
            ChassisCommand::SoftShutdown => "soft shutdown",
        }
    }
}

impl fmt::Display for ChassisCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The Get Chassis Status reply (command 0x01), first three data bytes decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChassisStatus {
    pub power: PowerState,
    pub power_overload: bool,
    pub interlock: bool,
    pub power_fault: bool,
    pub power_control_fault: bool,
    /// Power restore policy: 0 stays off, 1 restores previous state, 2 always on, 3 unknown.
    pub restore_policy: u8,
    /// Last power event byte, raw.
    pub last_power_event: u8,
    /// Misc chassis state byte (intrusion, front panel lockout, drive fault, fan fault …), raw.
    pub misc: u8,
}

impl ChassisStatus {
    pub fn decode(data: &[u8]) -> Result<ChassisStatus, Malformed> {
        let mut r = Reader::new(data);
        let cur = r.u8("chassis status current power state")?;
        let last = r.u8("chassis status last power event")?;
        let misc = r.u8("chassis status misc state")?;
        // An optional front panel button byte may follow; it is not needed.
        Ok(ChassisStatus {
            power: if cur & 0x01 != 0 {
                PowerState::On
            } else {
                PowerState::Off
            },
            power_overload: cur & 0x02 != 0,
            interlock: cur & 0x04 != 0,
            power_fault: cur & 0x08 != 0,
            power_control_fault: cur & 0x10 != 0,
            restore_policy: (cur >> 5) & 0x03,
            last_power_event: last,
            misc,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bits() {
        let s = ChassisStatus::decode(&[0x41, 0x10, 0x00, 0x00]).unwrap();
        assert_eq!(s.power, PowerState::On);
        assert_eq!(s.restore_policy, 2);
        assert!(!s.power_fault);
        assert_eq!(
            ChassisStatus::decode(&[0x08, 0, 0]).unwrap().power,
            PowerState::Off
        );
        assert!(ChassisStatus::decode(&[0x01, 0]).is_err());
    }

    #[test]
    fn control_codes_are_distinct() {
        use ChassisCommand::*;
        let all = [
            PowerDown,
            PowerUp,
            PowerCycle,
            HardReset,
            PulseDiagnostic,
            SoftShutdown,
        ];
        for (i, c) in all.iter().enumerate() {
            assert_eq!(c.code() as usize, i);
        }
    }
}
