//! The fence state machine: what `on`, `off`, `reboot` and `status` do with a power switch.
//!
//! The rule that matters: **success for `off` (and the off half of `reboot`) is reported only
//! after a status reading of every plug says OFF** after the command was sent. A reading that
//! is not a clear ON/OFF is an error, never "off". Timing is wall clock, bounded by both
//! `power_timeout` and the run's deadline, and polls start fast (a BMC usually confirms within
//! tens of milliseconds) instead of sleeping `power_wait` blindly.

use super::FenceError;
use crate::deadline::Deadline;
pub use crate::power::PowerState;
use std::fmt;
use std::time::Duration;

/// One outlet as `list` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlet {
    pub id: String,
    pub alias: String,
    pub state: Option<PowerState>,
}

/// A connected power device: one session, reused for every step of one action. `plug` is the
/// outlet for multi-outlet devices and empty for a BMC.
pub trait PowerSwitch {
    fn power_state(&mut self, plug: &str, deadline: Deadline) -> Result<PowerState, FenceError>;
    fn set_power(
        &mut self,
        plug: &str,
        state: PowerState,
        deadline: Deadline,
    ) -> Result<(), FenceError>;
    /// One power-cycle command (`method=cycle`).
    fn power_cycle(&mut self, _plug: &str, _deadline: Deadline) -> Result<(), FenceError> {
        Err(FenceError::new(
            "this device has no power-cycle command; use method=onoff",
        ))
    }
    /// True when a plug that reads OFF may still be switched on by a command the device has
    /// pending (the "on" half of a PDU's reboot): `off` then sends the off command whatever
    /// the first reading says, and confirms it.
    fn resends_off(&self) -> bool {
        false
    }
    /// Checks that `plug` names something this device can switch, before any command is
    /// sent for any plug (a typo in the second of two plugs must not follow a switched first).
    fn check_plug(&mut self, plug: &str, deadline: Deadline) -> Result<(), FenceError> {
        self.power_state(plug, deadline).map(|_| ())
    }
    /// Every outlet with its name (multi-outlet devices).
    fn list(&mut self, _deadline: Deadline) -> Result<Vec<Outlet>, FenceError> {
        Err(FenceError::new(
            "this device has a single outlet; list is not supported",
        ))
    }
}

/// The timing of one action.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub power_timeout: Duration,
    pub power_wait: Duration,
    /// Longest pause between status polls.
    pub poll_max: Duration,
    pub retry_on: u32,
}

/// What happened, for the success line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    AlreadyOff,
    AlreadyOn,
    PoweredOff,
    PoweredOn,
    Rebooted,
    /// Off was confirmed but power-on did not come back: still a successful fence.
    RebootedOnFailed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::AlreadyOff => f.write_str("Success: Already OFF"),
            Outcome::AlreadyOn => f.write_str("Success: Already ON"),
            Outcome::PoweredOff => f.write_str("Success: Powered OFF"),
            Outcome::PoweredOn => f.write_str("Success: Powered ON"),
            Outcome::Rebooted => f.write_str("Success: Rebooted"),
            Outcome::RebootedOnFailed(why) => {
                write!(f, "Success: Rebooted (powered OFF; power ON failed: {why})")
            }
        }
    }
}

fn plug_label(plug: &str) -> String {
    if plug.is_empty() {
        "the target".to_string()
    } else {
        format!("plug {plug}")
    }
}

/// A reading of every plug. No plug at all is an error, not an empty reading: "all of none
/// are OFF" must never pass for a confirmed fence.
pub fn read_all(
    sw: &mut dyn PowerSwitch,
    plugs: &[String],
    deadline: Deadline,
) -> Result<Vec<PowerState>, FenceError> {
    if plugs.is_empty() {
        return Err(no_plug());
    }
    plugs.iter().map(|p| sw.power_state(p, deadline)).collect()
}

fn no_plug() -> FenceError {
    FenceError::new("no plug to act on")
}

/// Polls until every plug reads `want`, or `power_timeout` / the deadline runs out.
/// Read errors while polling are retried (a dropped packet is not a verdict) but the last one
/// is reported if time runs out.
pub fn confirm(
    sw: &mut dyn PowerSwitch,
    plugs: &[String],
    want: PowerState,
    timing: &Timing,
    deadline: Deadline,
) -> Result<(), FenceError> {
    if plugs.is_empty() {
        return Err(no_plug());
    }
    let until = Deadline::after(timing.power_timeout).min(deadline);
    let started = crate::deadline::now();
    let mut pause = Duration::from_millis(20).min(timing.poll_max);
    // The last reading that was not `want`, and when: the verdict when the final poll, left
    // only the end of the budget, fails (a cut-short request is not news about the device).
    let mut last_seen: Option<(String, PowerState, Duration)> = None;
    loop {
        let mut last_error = None;
        let mut pending = None;
        for p in plugs {
            match sw.power_state(p, until) {
                Ok(s) if s == want => {}
                Ok(s) => {
                    let at = crate::deadline::now().saturating_duration_since(started);
                    last_seen = Some((p.clone(), s, at));
                    pending = Some((p.clone(), s));
                    break;
                }
                Err(e) => {
                    last_error = Some(e);
                    break;
                }
            }
        }
        if pending.is_none() && last_error.is_none() {
            return Ok(());
        }
        if until.remaining() <= pause {
            let waited = crate::deadline::now().saturating_duration_since(started);
            return Err(match (pending, last_error, last_seen) {
                (Some((p, s)), _, _) => FenceError::new(format!(
                    "timed out: {} still reads {s} after {:.1} s, expected {want}",
                    plug_label(&p),
                    waited.as_secs_f64()
                )),
                (None, Some(e), Some((p, s, at))) => FenceError::new(format!(
                    "timed out: {} still reads {s} after {:.1} s, expected {want}; the next reading failed: {}",
                    plug_label(&p),
                    at.as_secs_f64(),
                    e.reason
                )),
                (None, Some(e), None) => {
                    FenceError::new(format!("timed out waiting for {want}: {}", e.reason))
                }
                (None, None, _) => unreachable!("handled above"),
            });
        }
        crate::deadline::sleep(pause);
        pause = (pause * 2).min(timing.poll_max);
    }
}

fn settle(timing: &Timing, deadline: Deadline) {
    if !timing.power_wait.is_zero() {
        crate::deadline::sleep(deadline.cap(timing.power_wait));
    }
}

/// `off`: every plug off, then confirmed off (all of them) by fresh readings.
pub fn power_off(
    sw: &mut dyn PowerSwitch,
    plugs: &[String],
    timing: &Timing,
    deadline: Deadline,
) -> Result<Outcome, FenceError> {
    if sw.resends_off() {
        if plugs.is_empty() {
            return Err(no_plug());
        }
        for p in plugs {
            sw.check_plug(p, deadline)?;
        }
        // A reading in between states (pending, cycling) is no reason not to switch off.
        let was_off: Vec<bool> = plugs
            .iter()
            .map(|p| matches!(sw.power_state(p, deadline), Ok(PowerState::Off)))
            .collect();
        for p in plugs {
            sw.set_power(p, PowerState::Off, deadline)?;
        }
        confirm(sw, plugs, PowerState::Off, timing, deadline)?;
        if was_off.iter().all(|o| *o) {
            return Ok(Outcome::AlreadyOff);
        }
        settle(timing, deadline);
        return Ok(Outcome::PoweredOff);
    }
    let states = read_all(sw, plugs, deadline)?;
    if states.iter().all(|s| *s == PowerState::Off) {
        return Ok(Outcome::AlreadyOff);
    }
    for (p, s) in plugs.iter().zip(&states) {
        if *s != PowerState::Off {
            sw.set_power(p, PowerState::Off, deadline)?;
        }
    }
    confirm(sw, plugs, PowerState::Off, timing, deadline)?;
    settle(timing, deadline);
    Ok(Outcome::PoweredOff)
}

/// `on`: every plug on, confirmed, with `retry_on` attempts.
pub fn power_on(
    sw: &mut dyn PowerSwitch,
    plugs: &[String],
    timing: &Timing,
    deadline: Deadline,
) -> Result<Outcome, FenceError> {
    let states = read_all(sw, plugs, deadline)?;
    if states.iter().all(|s| *s == PowerState::On) {
        return Ok(Outcome::AlreadyOn);
    }
    let mut last = None;
    for _ in 0..timing.retry_on.max(1) {
        let mut sent = Ok(());
        for p in plugs {
            // A plug that is already on just gets a harmless repeat of the command.
            if let Err(e) = set_power_on_patiently(sw, p, deadline) {
                sent = Err(e);
                break;
            }
        }
        match sent.and_then(|()| confirm(sw, plugs, PowerState::On, timing, deadline)) {
            Ok(()) => {
                settle(timing, deadline);
                return Ok(Outcome::PoweredOn);
            }
            Err(e) => last = Some(e),
        }
        if deadline.expired() {
            break;
        }
    }
    Err(last.unwrap_or_else(|| FenceError::new("power on was not attempted")))
}

/// Time the power-on half of a reboot leaves unused before the run's deadline (which itself
/// ends a margin before `agent_timeout`): an SNMP or IPMI request in flight when the on phase
/// ends is cut off by then, and the success line still goes out before Pacemaker's timer.
pub const ON_PHASE_RESERVE: Duration = Duration::from_millis(500);

/// First pause before resending a power-on the device answered "not now".
const ON_RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest pause between power-on attempts.
const ON_RETRY_MAX: Duration = Duration::from_secs(1);

/// Power-on of one plug, resent with backoff while the device answers with a transient error
/// (many BMCs refuse power-up with 0xD5 or 0xC0 for a few seconds after a power-down) and the
/// deadline leaves room; fencing.py sleeps `power_wait` once instead, and a reboot then leaves
/// the node off.
fn set_power_on_patiently(
    sw: &mut dyn PowerSwitch,
    plug: &str,
    deadline: Deadline,
) -> Result<(), FenceError> {
    let mut pause = ON_RETRY_FIRST;
    loop {
        match sw.set_power(plug, PowerState::On, deadline) {
            Err(e) if e.transient && deadline.remaining() > pause => {
                crate::deadline::sleep(pause);
                pause = (pause * 2).min(ON_RETRY_MAX);
            }
            other => return other,
        }
    }
}

/// `reboot` with `method=onoff`: off and confirm for all plugs, then on. Success depends on
/// the off half only, as the fence API defines it.
pub fn reboot_onoff(
    sw: &mut dyn PowerSwitch,
    plugs: &[String],
    timing: &Timing,
    deadline: Deadline,
) -> Result<Outcome, FenceError> {
    power_off(sw, plugs, timing, deadline)?;
    // The verdict rests on the off half alone; the on half must never be what makes the
    // agent miss its deadline, so it stops a reserve earlier and leaves time to report.
    match power_on(sw, plugs, timing, deadline.reserve(ON_PHASE_RESERVE)) {
        Ok(_) => Ok(Outcome::Rebooted),
        Err(e) => Ok(Outcome::RebootedOnFailed(e.reason)),
    }
}

/// `reboot` with `method=cycle`: allowed only when every plug is on (a cycle of an off
/// machine is refused by many BMCs, and powering it on is then the honest reboot). Success
/// requires an OFF reading observed after the cycle command; a machine seen coming back ON
/// without an OFF reading in between is reported as unconfirmed, never as fenced.
pub fn reboot_cycle(
    sw: &mut dyn PowerSwitch,
    plugs: &[String],
    timing: &Timing,
    deadline: Deadline,
) -> Result<Outcome, FenceError> {
    let states = read_all(sw, plugs, deadline)?;
    if states.iter().all(|s| *s == PowerState::Off) {
        power_on(sw, plugs, timing, deadline)?;
        return Ok(Outcome::Rebooted);
    }
    if let Some((p, _)) = plugs
        .iter()
        .zip(&states)
        .find(|(_, s)| **s == PowerState::Off)
    {
        return Err(FenceError::new(format!(
            "method=cycle needs every plug on, but {} is OFF; use method=onoff",
            plug_label(p)
        )));
    }
    for p in plugs {
        sw.power_cycle(p, deadline)?;
    }
    // Watch closely for the OFF phase: it may last well under a second.
    let fast = Timing {
        poll_max: Duration::from_millis(20),
        ..*timing
    };
    confirm(sw, plugs, PowerState::Off, &fast, deadline).map_err(|e| {
        FenceError::new(format!(
            "power cycle not confirmed: no OFF reading was observed ({}); use method=onoff",
            e.reason
        ))
    })?;
    Ok(Outcome::Rebooted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A scripted device. Each plug has a state; commands take effect after `lag` status
    /// reads, or never when `ignore` is set; reads can fail the first `flaky` times.
    #[derive(Default)]
    struct FakeSwitch {
        state: HashMap<String, PowerState>,
        pending: HashMap<String, (PowerState, u32)>,
        lag: u32,
        ignore_off: bool,
        ignore_on: bool,
        flaky: u32,
        always_fail_reads: bool,
        /// Reads succeed this many times, then all fail (a request cut short at the end of
        /// the budget, a device gone silent).
        fail_reads_after: Option<u32>,
        cycle_off_reads: u32,
        resends: bool,
        /// Power-on commands refused as "not now" before one is accepted; `busy_hard` makes
        /// the refusal permanent (not transient).
        busy_on: u32,
        busy_hard: bool,
        events: Vec<String>,
    }

    impl FakeSwitch {
        fn new(plugs: &[(&str, PowerState)]) -> Self {
            FakeSwitch {
                state: plugs.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
                ..Default::default()
            }
        }
    }

    impl PowerSwitch for FakeSwitch {
        fn resends_off(&self) -> bool {
            self.resends
        }
        fn power_state(&mut self, plug: &str, _: Deadline) -> Result<PowerState, FenceError> {
            if self.always_fail_reads || self.flaky > 0 || self.fail_reads_after == Some(0) {
                self.flaky = self.flaky.saturating_sub(1);
                return Err(FenceError::new("no answer"));
            }
            if let Some(n) = self.fail_reads_after.as_mut() {
                *n -= 1;
            }
            if let Some((target, left)) = self.pending.get_mut(plug) {
                if *left == 0 {
                    let t = *target;
                    self.state.insert(plug.to_string(), t);
                    self.pending.remove(plug);
                } else {
                    *left -= 1;
                }
            }
            let s = self.state[plug];
            self.events.push(format!("read {plug} {s}"));
            Ok(s)
        }
        fn set_power(&mut self, plug: &str, s: PowerState, _: Deadline) -> Result<(), FenceError> {
            self.events.push(format!("set {plug} {s}"));
            if s == PowerState::On && self.busy_on > 0 {
                self.busy_on -= 1;
                return Err(if self.busy_hard {
                    FenceError::new("refused")
                } else {
                    FenceError::transient("completion code 0xD5")
                });
            }
            let ignored = match s {
                PowerState::Off => self.ignore_off,
                PowerState::On => self.ignore_on,
            };
            if !ignored {
                self.pending.insert(plug.to_string(), (s, self.lag));
            }
            Ok(())
        }
        fn power_cycle(&mut self, plug: &str, _: Deadline) -> Result<(), FenceError> {
            self.events.push(format!("cycle {plug}"));
            if self.cycle_off_reads > 0 {
                self.state.insert(plug.to_string(), PowerState::Off);
                self.pending
                    .insert(plug.to_string(), (PowerState::On, self.cycle_off_reads));
            }
            Ok(())
        }
    }

    #[test]
    fn power_on_after_off_is_retried_while_the_device_says_not_now() {
        let mut sw = FakeSwitch::new(&[("", PowerState::On)]);
        sw.busy_on = 3;
        let d = Deadline::after(Duration::from_secs(5));
        let started = std::time::Instant::now();
        let r = reboot_onoff(&mut sw, &plugs(&[""]), &timing(), d).unwrap();
        assert_eq!(r, Outcome::Rebooted);
        assert_eq!(sw.state[""], PowerState::On);
        let ons = sw.events.iter().filter(|e| *e == "set  ON").count();
        assert_eq!(ons, 4, "{:?}", sw.events);
        // Backoff 100 + 200 + 400 ms between the four attempts.
        assert!(started.elapsed() >= Duration::from_millis(700));

        // A permanent refusal is not retried; the reboot is still a fence.
        let mut sw = FakeSwitch::new(&[("", PowerState::On)]);
        sw.busy_on = 3;
        sw.busy_hard = true;
        let r = reboot_onoff(&mut sw, &plugs(&[""]), &timing(), d).unwrap();
        assert!(matches!(r, Outcome::RebootedOnFailed(_)), "{r:?}");
        assert_eq!(sw.events.iter().filter(|e| *e == "set  ON").count(), 1);

        // Retries stop at the deadline.
        let mut sw = FakeSwitch::new(&[("", PowerState::On)]);
        sw.busy_on = 1000;
        let started = std::time::Instant::now();
        let r = reboot_onoff(
            &mut sw,
            &plugs(&[""]),
            &timing(),
            Deadline::after(Duration::from_millis(600)),
        )
        .unwrap();
        assert!(matches!(r, Outcome::RebootedOnFailed(_)), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    fn timing() -> Timing {
        Timing {
            power_timeout: Duration::from_millis(300),
            power_wait: Duration::ZERO,
            poll_max: Duration::from_millis(5),
            retry_on: 1,
        }
    }

    fn plugs(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    fn dl() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    use PowerState::{Off, On};

    #[test]
    fn off_is_success_only_after_an_off_reading() {
        for lag in [0, 1, 3] {
            let mut sw = FakeSwitch::new(&[("", On)]);
            sw.lag = lag;
            assert_eq!(
                power_off(&mut sw, &plugs(&[""]), &timing(), dl()),
                Ok(Outcome::PoweredOff)
            );
            assert_eq!(sw.events.last().unwrap(), "read  OFF");
        }
    }

    #[test]
    fn a_device_that_ignores_off_is_a_failure_never_success() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_off = true;
        let e = power_off(&mut sw, &plugs(&[""]), &timing(), dl()).unwrap_err();
        assert!(
            e.reason.contains("timed out") && e.reason.contains("still reads ON"),
            "{e}"
        );
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_off = true;
        assert!(reboot_onoff(&mut sw, &plugs(&[""]), &timing(), dl()).is_err());
    }

    /// The last poll failing (cut short by the end of power_timeout, or the device going
    /// silent) does not hide what the device last said: the verdict is still "reads ON".
    #[test]
    fn a_failed_last_poll_reports_the_last_reading() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_off = true;
        sw.fail_reads_after = Some(3);
        let e = power_off(&mut sw, &plugs(&[""]), &timing(), dl()).unwrap_err();
        assert!(
            e.reason
                .starts_with("timed out: the target still reads ON after ")
                && e.reason
                    .ends_with(", expected OFF; the next reading failed: no answer"),
            "{e}"
        );
        // Never a reading at all: the read error is the reason.
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_off = true;
        sw.fail_reads_after = Some(0);
        let e = confirm(&mut sw, &plugs(&[""]), Off, &timing(), dl()).unwrap_err();
        assert_eq!(e.reason, "timed out waiting for OFF: no answer");
    }

    #[test]
    fn unreadable_status_is_never_off() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.always_fail_reads = true;
        assert!(power_off(&mut sw, &plugs(&[""]), &timing(), dl()).is_err());
        assert!(sw.events.iter().all(|e| !e.starts_with("set")));
    }

    #[test]
    fn no_plug_is_never_a_fence() {
        let none: Vec<String> = Vec::new();
        let mut sw = FakeSwitch::new(&[]);
        assert!(power_off(&mut sw, &none, &timing(), dl()).is_err());
        assert!(reboot_onoff(&mut sw, &none, &timing(), dl()).is_err());
        assert!(reboot_cycle(&mut sw, &none, &timing(), dl()).is_err());
        assert!(confirm(&mut sw, &none, Off, &timing(), dl()).is_err());
        assert!(sw.events.is_empty());
    }

    #[test]
    fn flaky_reads_while_confirming_are_retried() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        let p = plugs(&[""]);
        sw.set_power("", Off, dl()).unwrap();
        sw.flaky = 2;
        assert!(confirm(&mut sw, &p, Off, &timing(), dl()).is_ok());
    }

    #[test]
    fn already_off_and_already_on() {
        let mut sw = FakeSwitch::new(&[("1", Off), ("2", Off)]);
        assert_eq!(
            power_off(&mut sw, &plugs(&["1", "2"]), &timing(), dl()),
            Ok(Outcome::AlreadyOff)
        );
        let mut sw = FakeSwitch::new(&[("1", On)]);
        assert_eq!(
            power_on(&mut sw, &plugs(&["1"]), &timing(), dl()),
            Ok(Outcome::AlreadyOn)
        );
    }

    /// Every mix of initial states and lags for two outlets: no outlet is switched on before
    /// every outlet has been read OFF after the off commands.
    #[test]
    fn multi_plug_reboot_never_powers_on_before_all_are_confirmed_off() {
        for a in [On, Off] {
            for b in [On, Off] {
                for lag in 0..3 {
                    let mut sw = FakeSwitch::new(&[("1", a), ("2", b)]);
                    sw.lag = lag;
                    let r = reboot_onoff(&mut sw, &plugs(&["1", "2"]), &timing(), dl());
                    assert_eq!(r, Ok(Outcome::Rebooted), "{a} {b} {lag}");
                    let first_on = sw
                        .events
                        .iter()
                        .position(|e| e.starts_with("set") && e.ends_with("ON"))
                        .unwrap();
                    for plug in ["1", "2"] {
                        let confirmed_off = sw.events[..first_on]
                            .iter()
                            .rposition(|e| *e == format!("read {plug} OFF"));
                        assert!(confirmed_off.is_some(), "{a} {b} {lag}: {:?}", sw.events);
                    }
                }
            }
        }
    }

    #[test]
    fn reboot_reports_success_when_only_power_on_fails() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_on = true;
        match reboot_onoff(&mut sw, &plugs(&[""]), &timing(), dl()) {
            Ok(Outcome::RebootedOnFailed(why)) => assert!(why.contains("OFF")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_on_repeats_power_on() {
        let mut sw = FakeSwitch::new(&[("", Off)]);
        sw.ignore_on = true;
        let t = Timing {
            retry_on: 3,
            power_timeout: Duration::from_millis(30),
            ..timing()
        };
        assert!(power_on(&mut sw, &plugs(&[""]), &t, dl()).is_err());
        assert_eq!(sw.events.iter().filter(|e| e.starts_with("set")).count(), 3);
    }

    #[test]
    fn cycle_needs_an_off_reading() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.cycle_off_reads = 2;
        assert_eq!(
            reboot_cycle(&mut sw, &plugs(&[""]), &timing(), dl()),
            Ok(Outcome::Rebooted)
        );
        // The device accepts the cycle but never reads OFF: unconfirmed.
        let mut sw = FakeSwitch::new(&[("", On)]);
        let e = reboot_cycle(&mut sw, &plugs(&[""]), &timing(), dl()).unwrap_err();
        assert!(e.reason.contains("not confirmed"), "{e}");
        // Off target: powered on instead of cycled.
        let mut sw = FakeSwitch::new(&[("", Off)]);
        assert_eq!(
            reboot_cycle(&mut sw, &plugs(&[""]), &timing(), dl()),
            Ok(Outcome::Rebooted)
        );
        assert!(!sw.events.iter().any(|e| e.starts_with("cycle")));
    }

    /// A device that may hold a pending command: `off` is sent even to a plug reading OFF (the
    /// pending "on" is overridden), and the verdict still waits for a fresh OFF reading.
    #[test]
    fn off_is_always_sent_where_a_command_can_be_pending() {
        let mut sw = FakeSwitch::new(&[("1", Off), ("2", On)]);
        sw.resends = true;
        sw.pending.insert("1".into(), (On, 5)); // reads OFF now, comes back ON later
        assert_eq!(
            power_off(&mut sw, &plugs(&["1", "2"]), &timing(), dl()),
            Ok(Outcome::PoweredOff)
        );
        assert!(
            sw.events.contains(&"set 1 OFF".to_string()),
            "{:?}",
            sw.events
        );
        assert!(sw.events.contains(&"set 2 OFF".to_string()));
        for _ in 0..8 {
            assert_eq!(
                sw.power_state("1", dl()),
                Ok(Off),
                "the pending ON was overridden"
            );
        }
        let mut sw = FakeSwitch::new(&[("1", Off)]);
        sw.resends = true;
        assert_eq!(
            power_off(&mut sw, &plugs(&["1"]), &timing(), dl()),
            Ok(Outcome::AlreadyOff)
        );
        assert!(
            sw.events.contains(&"set 1 OFF".to_string()),
            "{:?}",
            sw.events
        );
        // A device that ignores the command is still a failure.
        let mut sw = FakeSwitch::new(&[("1", On)]);
        sw.resends = true;
        sw.ignore_off = true;
        assert!(power_off(&mut sw, &plugs(&["1"]), &timing(), dl()).is_err());
        let none: Vec<String> = Vec::new();
        assert!(power_off(&mut sw, &none, &timing(), dl()).is_err());
    }

    /// A target that never comes back on: the reboot is still a fence (off was confirmed),
    /// and its verdict comes a reserve before the deadline, not at it.
    #[test]
    fn reboot_keeps_a_reserve_before_the_deadline_for_the_verdict() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_on = true;
        let t = Timing {
            power_timeout: Duration::from_secs(30),
            retry_on: 5,
            ..timing()
        };
        let budget = Duration::from_millis(1200);
        let start = std::time::Instant::now();
        let r = reboot_onoff(&mut sw, &plugs(&[""]), &t, Deadline::after(budget));
        assert!(matches!(r, Ok(Outcome::RebootedOnFailed(_))), "{r:?}");
        let took = start.elapsed();
        assert!(
            took + ON_PHASE_RESERVE <= budget + Duration::from_millis(50),
            "took {took:?}"
        );
    }

    #[test]
    fn the_deadline_bounds_confirmation() {
        let mut sw = FakeSwitch::new(&[("", On)]);
        sw.ignore_off = true;
        let t = Timing {
            power_timeout: Duration::from_secs(30),
            ..timing()
        };
        let start = std::time::Instant::now();
        assert!(power_off(
            &mut sw,
            &plugs(&[""]),
            &t,
            Deadline::after(Duration::from_millis(100))
        )
        .is_err());
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
