//! A switched PDU as a fence runtime [`PowerSwitch`]: plugs (outlet numbers or names) are
//! resolved and checked once per run, every SNMP exchange gets its own bounded budget, and an
//! outlet reading that is not a clear on/off is an error, never "off".
//!
//! The fence engine decides the order (off → confirm → on) and the polling; this adapter only
//! answers single questions and sends single commands.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::deadline::Deadline;
use crate::fence::{FenceError, Outlet, PowerState, PowerSwitch};
use crate::proto::snmp::client::Target;
use crate::proto::snmp::model::{OutletState, PowerAction};
use crate::proto::snmp::outlet::{OutletRef, PduDevice, PduError};

/// Longest wait for one SNMP answer before the request is sent again (net-snmp's default).
const MAX_ATTEMPT: Duration = Duration::from_secs(1);
/// Shortest per-attempt wait: a PDU on a busy network rarely answers faster than this.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// Per-attempt timeout and retry count for a per-request budget of `budget`: attempts of a
/// third of the budget (between 100 ms and 1 s), as many as fit in the budget. The budget
/// itself is enforced by the deadline each request carries; the retry count only stops an
/// early give-up.
pub fn attempts_for(budget: Duration) -> (Duration, u32) {
    let attempt = (budget / 3).clamp(MIN_ATTEMPT, MAX_ATTEMPT);
    let n = (budget.as_secs_f64() / attempt.as_secs_f64()).ceil() as u32;
    (attempt, n.saturating_sub(1).max(1))
}

/// Sets `target`'s attempt timeout and retries for a per-request budget (see [`attempts_for`]).
pub fn fit_target(mut target: Target, budget: Duration) -> Target {
    let (attempt, retries) = attempts_for(budget);
    target.attempt_timeout = attempt;
    target.retries = retries;
    target
}

/// The fence verdict of an outlet reading: only `On` and `Off` are states; pending, cycling and
/// unmapped values are errors the engine may poll through, never "off".
pub fn verdict(outlet: u32, state: OutletState) -> Result<PowerState, FenceError> {
    match state {
        OutletState::On => Ok(PowerState::On),
        OutletState::Off => Ok(PowerState::Off),
        other => Err(FenceError::new(format!(
            "outlet {outlet} reads {other}, neither on nor off"
        ))),
    }
}

/// fence_apc_snmp's `switch:outlet` plug notation (`2:5`): both parts digits, split at the
/// first colon. Anything else is a plain outlet number or name.
pub fn split_unit(plug: &str) -> Option<(u32, &str)> {
    let (unit, outlet) = plug.trim().split_once(':')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (digits(unit) && digits(outlet)).then(|| Some((unit.parse().ok()?, outlet)))?
}

/// One line for a PDU failure (its `Display` carries no credential).
pub fn fence_error(e: PduError) -> FenceError {
    FenceError::new(e.to_string())
}

/// A connected PDU for one fence action.
pub struct PduSwitch {
    dev: PduDevice,
    /// Budget of one SNMP request (with its retries).
    request_budget: Duration,
    /// `plug` text → outlet number, for plugs already resolved and checked in this run.
    resolved: HashMap<String, u32>,
    /// Outlets sent a reboot in this run: for them "off, command pending" is the off phase
    /// of that reboot, observed.
    cycling: HashSet<u32>,
}

impl PduSwitch {
    /// `request_budget` bounds each single GET/SET/walk (the run's deadline bounds it too).
    pub fn new(mut dev: PduDevice, request_budget: Duration) -> PduSwitch {
        dev.set_walk_step(request_budget);
        PduSwitch {
            dev,
            request_budget,
            resolved: HashMap::new(),
            cycling: HashSet::new(),
        }
    }

    pub fn device(&mut self) -> &mut PduDevice {
        &mut self.dev
    }

    fn budget(&self, deadline: Deadline) -> Deadline {
        Deadline::after(self.request_budget).min(deadline)
    }

    /// The outlet number for `plug`: a number or a name (looked up on the PDU), checked to
    /// exist and be switchable the first time it is seen, so a typo never reaches a SET.
    pub fn outlet(&mut self, plug: &str, deadline: Deadline) -> Result<u32, FenceError> {
        if let Some(n) = self.resolved.get(plug) {
            return Ok(*n);
        }
        if plug.trim().is_empty() {
            return Err(FenceError::new("parameter 'plug' is empty"));
        }
        // `2:5`: the agent opened the device on unit 2 (and refused a mix of units).
        let outlet = split_unit(plug).map_or(plug, |(_, o)| o);
        // A name is a walk: each of its requests gets the budget, the run's deadline bounds
        // the whole (one budget for a 48-row v1 walk fails on a slow PDU).
        let n = self
            .dev
            .resolve(&OutletRef::parse(outlet), &deadline)
            .map_err(fence_error)?;
        let d = self.budget(deadline);
        self.dev.check_outlet(n, &d).map_err(fence_error)?;
        self.resolved.insert(plug.to_string(), n);
        Ok(n)
    }
}

impl PowerSwitch for PduSwitch {
    fn power_state(&mut self, plug: &str, deadline: Deadline) -> Result<PowerState, FenceError> {
        let n = self.outlet(plug, deadline)?;
        let d = self.budget(deadline);
        let s = self.dev.outlet_state(n, &d).map_err(fence_error)?;
        if s == OutletState::PendingOn && self.cycling.contains(&n) {
            // Our own reboot's off phase: the relay is open now, which is what a cycle must
            // be seen doing.
            return Ok(PowerState::Off);
        }
        verdict(n, s)
    }

    fn resends_off(&self) -> bool {
        self.dev.model().can_pend()
    }

    /// Resolved (names looked up) and checked to exist and be switchable, without a verdict
    /// on its state: a pending outlet is a valid plug.
    fn check_plug(&mut self, plug: &str, deadline: Deadline) -> Result<(), FenceError> {
        self.outlet(plug, deadline).map(|_| ())
    }

    fn set_power(
        &mut self,
        plug: &str,
        state: PowerState,
        deadline: Deadline,
    ) -> Result<(), FenceError> {
        let n = self.outlet(plug, deadline)?;
        let action = match state {
            PowerState::On => PowerAction::On,
            PowerState::Off => PowerAction::Off,
        };
        let d = self.budget(deadline);
        self.dev.set_outlet(n, action, &d).map_err(fence_error)
    }

    fn power_cycle(&mut self, plug: &str, deadline: Deadline) -> Result<(), FenceError> {
        let n = self.outlet(plug, deadline)?;
        let d = self.budget(deadline);
        self.cycling.insert(n);
        self.dev
            .set_outlet(n, PowerAction::Reboot, &d)
            .map_err(fence_error)
    }

    fn list(&mut self, deadline: Deadline) -> Result<Vec<Outlet>, FenceError> {
        // Walks: each request has its own budget (see `new`), the deadline bounds them all.
        let rows = self.dev.list_outlets(&deadline).map_err(fence_error)?;
        if rows.is_empty() {
            return Err(FenceError::new(format!(
                "the PDU has no outlet table at {} (wrong model?)",
                self.dev
                    .model()
                    .status
                    .walk_root(self.dev.unit())
                    .map_or_else(|_| "its status column".to_string(), |o| o.to_string())
            )));
        }
        Ok(rows
            .into_iter()
            .map(|o| Outlet {
                id: o.number.to_string(),
                alias: o.name.unwrap_or_else(|| o.number.to_string()),
                state: verdict(o.number, o.state).ok(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_fit_the_budget() {
        for (budget_ms, attempt_ms, retries) in [
            (5000, 1000, 4),
            (1500, 500, 2),
            (300, 100, 2),
            (100, 100, 1),
            (20, 100, 1),
            (60_000, 1000, 59),
        ] {
            let (a, r) = attempts_for(Duration::from_millis(budget_ms));
            assert_eq!(
                (a.as_millis() as u64, r),
                (attempt_ms, retries),
                "{budget_ms}"
            );
        }
    }

    #[test]
    fn switch_outlet_notation() {
        assert_eq!(split_unit("2:5"), Some((2, "5")));
        assert_eq!(split_unit(" 10:12 "), Some((10, "12")));
        for plain in ["5", "node1", "a:5", "2:b", ":5", "2:", "2:5:1", "-1:5"] {
            assert_eq!(split_unit(plain), None, "{plain}");
        }
    }

    #[test]
    fn only_on_and_off_are_verdicts() {
        assert_eq!(verdict(1, OutletState::On), Ok(PowerState::On));
        assert_eq!(verdict(1, OutletState::Off), Ok(PowerState::Off));
        for s in [
            OutletState::PendingOff,
            OutletState::PendingOn,
            OutletState::Cycling,
            OutletState::Unknown(4),
        ] {
            let e = verdict(3, s).unwrap_err();
            assert!(e.reason.contains("outlet 3 reads"), "{e}");
        }
    }
}
