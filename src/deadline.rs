//! Deadlines for every blocking step.
//!
//! Pacemaker SIGKILLs an agent's whole process group when an operation's timeout expires, and
//! pacemaker-fenced does the same to fence agents. An agent that is killed cannot print its
//! exit reason, so every wait inside an action takes its budget from one [`Deadline`] that
//! ends a safety margin *before* the caller's timeout.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// A simulated clock for this thread: `(origin, elapsed)`. Set only by property runners
    /// (`examples/fence_property.rs`) so a million schedules with seconds of polling each run
    /// in seconds; the agents never set it.
    static SIMULATED: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// Now, on this thread's clock (the real one unless [`simulate_clock`] was called).
pub fn now() -> Instant {
    match SIMULATED.with(Cell::get) {
        Some((origin, elapsed)) => origin + elapsed,
        None => Instant::now(),
    }
}

/// Waits `d` on this thread's clock: a real sleep, or an instant advance of the simulated one.
pub fn sleep(d: Duration) {
    match SIMULATED.with(Cell::get) {
        Some((origin, elapsed)) => SIMULATED.with(|c| c.set(Some((origin, elapsed + d)))),
        None => std::thread::sleep(d),
    }
}

/// Switches this thread to a simulated clock that starts now and moves only through
/// [`sleep`] (property runners; never called by the agents).
#[doc(hidden)]
pub fn simulate_clock() {
    SIMULATED.with(|c| c.set(Some((Instant::now(), Duration::ZERO))));
}

/// Where [`Deadline::after`] saturates.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The point in time by which the current action must have produced its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// A deadline `budget` from now. A budget too large for the clock (`u64::MAX` ms from a
    /// garbled environment) saturates at a century instead of panicking.
    pub fn after(budget: Duration) -> Self {
        let now = now();
        Deadline {
            at: now
                .checked_add(budget)
                .or_else(|| now.checked_add(FAR_FUTURE))
                .unwrap_or(now),
        }
    }

    /// A deadline derived from a caller's timeout: the timeout less a margin that leaves time
    /// to report. The margin is 10% of the timeout, at least 500 ms and at most 5 s, and never
    /// more than half the timeout (short timeouts still get a usable budget).
    pub fn from_timeout(timeout: Duration) -> Self {
        Self::after(timeout.saturating_sub(Self::margin(timeout)))
    }

    /// The safety margin kept in reserve for a given caller timeout.
    pub fn margin(timeout: Duration) -> Duration {
        let tenth = timeout / 10;
        let margin = tenth.clamp(Duration::from_millis(500), Duration::from_secs(5));
        margin.min(timeout / 2)
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(now())
    }

    /// True once the deadline has passed.
    pub fn expired(&self) -> bool {
        now() >= self.at
    }

    /// `wanted`, or less if the deadline comes first. Use for per-step timeouts
    /// (one socket read, one child process) inside an action.
    pub fn cap(&self, wanted: Duration) -> Duration {
        wanted.min(self.remaining())
    }

    /// A deadline that ends `reserve` before this one: for a sub-step that must leave time for
    /// what follows it (e.g. a graceful stop that must leave room for SIGKILL).
    pub fn reserve(&self, reserve: Duration) -> Deadline {
        Deadline {
            at: self.at.checked_sub(reserve).unwrap_or(self.at).max(now()),
        }
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Deadline) -> Deadline {
        if self.at <= other.at {
            self
        } else {
            other
        }
    }

    /// The instant itself, for APIs that want one.
    pub fn instant(&self) -> Instant {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_budgets_saturate_instead_of_panicking() {
        for budget in [
            Duration::MAX,
            Duration::from_millis(u64::MAX),
            Duration::from_secs(u64::MAX / 2),
        ] {
            let d = Deadline::after(budget);
            assert!(d.remaining() > Duration::from_secs(3600 * 24 * 365));
            let _ = Deadline::from_timeout(budget);
        }
    }

    #[test]
    fn margin_is_bounded() {
        assert_eq!(
            Deadline::margin(Duration::from_secs(20)),
            Duration::from_secs(2)
        );
        assert_eq!(
            Deadline::margin(Duration::from_secs(120)),
            Duration::from_secs(5)
        );
        assert_eq!(
            Deadline::margin(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(
            Deadline::margin(Duration::from_millis(600)),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn cap_never_exceeds_remaining() {
        let d = Deadline::after(Duration::from_millis(50));
        assert!(d.cap(Duration::from_secs(10)) <= Duration::from_millis(50));
        assert_eq!(
            Deadline::after(Duration::ZERO).cap(Duration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn reserve_is_earlier_but_not_in_the_past() {
        let d = Deadline::after(Duration::from_secs(10));
        let r = d.reserve(Duration::from_secs(3));
        assert!(r < d);
        assert!(r.remaining() > Duration::from_secs(6));
        let tiny = Deadline::after(Duration::from_millis(1)).reserve(Duration::from_secs(5));
        assert!(tiny.remaining() <= Duration::from_millis(1));
    }
}
