//! The power reading every fence path speaks: the engine, the IPMI chassis status and the SNMP
//! outlet verdict all name the same two states, so they share this one type and need no
//! conversions between layers.

use std::fmt;

/// A power reading. There is deliberately no "unknown": a device or reply that cannot say is an
/// error, never a state, so nothing can mistake it for off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerState {
    On,
    Off,
}

impl fmt::Display for PowerState {
    /// Upper case, as fence-agents print a status (`Status: ON`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PowerState::On => "ON",
            PowerState::Off => "OFF",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PowerState;

    #[test]
    fn display_is_fence_agents_words() {
        assert_eq!(PowerState::On.to_string(), "ON");
        assert_eq!(PowerState::Off.to_string(), "OFF");
    }
}
