//! Property runner for the fence engine's promise and for DRBD promotion scoring, over random
//! hostile schedules (CI: `cargo run --release --example fence_property`).
//!
//! Fence: a simulated device with one to four plugs whose readings and commands are dropped
//! (silence until the caller's deadline), delayed, refused, or lie (a stale reading, a plug
//! that flips back on by itself), under `off`, `on`, `reboot` (onoff and cycle) and `status`,
//! on a simulated clock so seconds of polling cost microseconds. Checked after every run:
//! * off/reboot succeed only after a fresh OFF reading of every plug (a reading taken after
//!   the last off or cycle command sent to that plug);
//! * no plug is switched on before every plug has such a reading;
//! * the engine answers by its deadline;
//! * an unreadable plug is never reported OFF (status).
//!
//! DRBD: random multi-peer, multi-volume states and score parameters; no positive promotion
//! score without UpToDate data (local, or a connected peer's for the documented remote and
//! diskless-client rules), or an explicitly configured `only_consistent` score; never one
//! without quorum.
//!
//! `fence_property [--count N] [--seed S]`: N schedules of each kind (default 1 000 000) from
//! seed S (default: from the clock, printed). A failure prints the schedule's own seed;
//! `--seed THAT --count 1` replays it alone.

use bulwark::deadline::{self, Deadline};
use bulwark::drbd::score::{promotion_score, MasterScores, PeerPrimaryRule, ScorePolicy};
use bulwark::drbd::status::{
    ConnectionState, DiskState, DrbdStatus, Peer, PeerVolume, ReplicationState, Role, Volume,
};
use bulwark::drbd::ScoreAction;
use bulwark::fence::engine::{self, Outcome, PowerState, PowerSwitch, Timing};
use bulwark::fence::FenceError;
use std::time::{Duration, Instant};

/// SplitMix64: small, seedable, good enough to draw schedules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// A reading and what the device answered (None: no answer or an error).
    Read(usize, Option<PowerState>),
    Set(usize, PowerState),
    Cycle(usize),
}

/// How the simulated device misbehaves in one schedule (percentages per call).
#[derive(Debug, Clone, Copy)]
struct Faults {
    read_drop: u64,
    read_error: u64,
    read_stale: u64,
    cmd_drop: u64,
    cmd_error: u64,
    cmd_lost: u64,
    cmd_transient: u64,
    flip_back: u64,
    max_delay_ms: u64,
    max_lag_ms: u64,
    cycle_supported: bool,
    resends_off: bool,
}

struct SimDevice {
    rng: Rng,
    faults: Faults,
    /// What the hardware really is, and a change the relay has not made yet.
    actual: Vec<PowerState>,
    pending: Vec<Vec<(Instant, PowerState)>>,
    /// The last value each plug was reported as (for stale readings).
    last_reported: Vec<PowerState>,
    events: Vec<Event>,
}

impl SimDevice {
    fn plug(plug: &str) -> usize {
        plug.parse().expect("simulated plugs are numbers")
    }

    /// Settles relays whose time has come, and sometimes a plug turns itself back on (a
    /// pending "on" of a PDU's reboot, a BMC's power restore).
    fn advance(&mut self) {
        let now = deadline::now();
        for i in 0..self.actual.len() {
            while let Some(&(at, s)) = self.pending[i].first() {
                if at > now {
                    break;
                }
                self.actual[i] = s;
                self.pending[i].remove(0);
            }
            if self.actual[i] == PowerState::Off && self.rng.pct(self.faults.flip_back) {
                self.actual[i] = PowerState::On;
            }
        }
    }

    /// A call's latency; silence until the caller's deadline for a dropped one.
    fn latency(&mut self, dropped: bool, by: Deadline) -> Result<(), FenceError> {
        if dropped {
            deadline::sleep(by.remaining());
            return Err(FenceError::new("no answer"));
        }
        let d = Duration::from_millis(self.rng.below(self.faults.max_delay_ms + 1));
        if d >= by.remaining() {
            deadline::sleep(by.remaining());
            return Err(FenceError::new("no answer before the deadline"));
        }
        deadline::sleep(d);
        Ok(())
    }

    /// A command: latency, refusals, and when accepted the relay changes (`steps`: after
    /// how long, to what) unless the command is silently lost.
    fn command(
        &mut self,
        plug: usize,
        steps: &[(Duration, PowerState)],
        by: Deadline,
    ) -> Result<(), FenceError> {
        let dropped = self.rng.pct(self.faults.cmd_drop);
        self.latency(dropped, by)?;
        if self.rng.pct(self.faults.cmd_transient) {
            return Err(FenceError::transient("busy, try again"));
        }
        if self.rng.pct(self.faults.cmd_error) {
            return Err(FenceError::new("command refused"));
        }
        // Accepted, but maybe never carried out, or only after a while.
        if !self.rng.pct(self.faults.cmd_lost) {
            let lag = Duration::from_millis(self.rng.below(self.faults.max_lag_ms + 1));
            let now = deadline::now();
            self.pending[plug] = steps.iter().map(|(d, s)| (now + lag + *d, *s)).collect();
        }
        Ok(())
    }
}

impl PowerSwitch for SimDevice {
    fn power_state(&mut self, plug: &str, by: Deadline) -> Result<PowerState, FenceError> {
        let i = Self::plug(plug);
        let dropped = self.rng.pct(self.faults.read_drop);
        let answer = self.latency(dropped, by).and_then(|()| {
            if self.rng.pct(self.faults.read_error) {
                return Err(FenceError::new("unreadable"));
            }
            self.advance();
            Ok(if self.rng.pct(self.faults.read_stale) {
                self.last_reported[i]
            } else {
                self.actual[i]
            })
        });
        if let Ok(s) = answer {
            self.last_reported[i] = s;
        }
        self.events
            .push(Event::Read(i, answer.as_ref().ok().copied()));
        answer
    }

    fn set_power(&mut self, plug: &str, to: PowerState, by: Deadline) -> Result<(), FenceError> {
        let i = Self::plug(plug);
        self.events.push(Event::Set(i, to));
        self.command(i, &[(Duration::ZERO, to)], by)
    }

    fn power_cycle(&mut self, plug: &str, by: Deadline) -> Result<(), FenceError> {
        if !self.faults.cycle_supported {
            return Err(FenceError::new("no power-cycle command"));
        }
        let i = Self::plug(plug);
        self.events.push(Event::Cycle(i));
        // Off after the relay's lag, on again a moment later, by itself.
        let back = Duration::from_millis(50 + self.rng.below(3000));
        self.command(
            i,
            &[(Duration::ZERO, PowerState::Off), (back, PowerState::On)],
            by,
        )
    }

    fn resends_off(&self) -> bool {
        self.faults.resends_off
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Off,
    On,
    RebootOnOff,
    RebootCycle,
    Status,
}

/// The index in `events` by which every plug must have a fresh OFF reading (the first "on"
/// command, else the end), and whether they all do.
fn all_fresh_off_before(events: &[Event], plugs: usize, until: usize) -> Result<(), String> {
    for p in 0..plugs {
        let last_off_cmd = events[..until].iter().rposition(
            |e| matches!(e, Event::Set(q, PowerState::Off) | Event::Cycle(q) if *q == p),
        );
        let from = last_off_cmd.map_or(0, |i| i + 1);
        let fresh = events[from..until].contains(&Event::Read(p, Some(PowerState::Off)));
        if !fresh {
            return Err(format!(
                "plug {p} has no OFF reading after its last off command (events {from}..{until})"
            ));
        }
    }
    Ok(())
}

/// Ok(true) when the schedule ended in a fence success (so the fresh-OFF check applied).
fn fence_schedule(seed: u64) -> Result<bool, String> {
    let mut rng = Rng(seed);
    let plugs = 1 + rng.below(4) as usize;
    let hostile = rng.pct(70);
    let p = |rng: &mut Rng, max: u64| if hostile { rng.below(max + 1) } else { 0 };
    let faults = Faults {
        read_drop: p(&mut rng, 10),
        read_error: p(&mut rng, 30),
        read_stale: p(&mut rng, 30),
        cmd_drop: p(&mut rng, 10),
        cmd_error: p(&mut rng, 20),
        cmd_lost: p(&mut rng, 20),
        cmd_transient: p(&mut rng, 30),
        flip_back: p(&mut rng, 5),
        max_delay_ms: rng.pick(&[0, 5, 50, 500, 3000]),
        max_lag_ms: rng.pick(&[0, 20, 300, 2000, 10_000]),
        cycle_supported: rng.pct(80),
        resends_off: rng.pct(30),
    };
    let initial: Vec<PowerState> = (0..plugs)
        .map(|_| rng.pick(&[PowerState::On, PowerState::Off]))
        .collect();
    let mut dev = SimDevice {
        rng: Rng(rng.next()),
        faults,
        actual: initial.clone(),
        pending: vec![Vec::new(); plugs],
        last_reported: initial,
        events: Vec::new(),
    };
    let timing = Timing {
        power_timeout: Duration::from_millis(rng.pick(&[0, 500, 2000, 20_000, 60_000])),
        power_wait: Duration::from_millis(rng.pick(&[0, 0, 100, 4000])),
        poll_max: Duration::from_millis(rng.pick(&[20, 200, 1000, 3000])),
        retry_on: 1 + rng.below(3) as u32,
    };
    let agent_timeout = Duration::from_millis(rng.pick(&[1000, 5000, 20_000, 60_000, 120_000]));
    let action = rng.pick(&[
        Action::Off,
        Action::On,
        Action::RebootOnOff,
        Action::RebootCycle,
        Action::Status,
    ]);
    let names: Vec<String> = (0..plugs).map(|i| i.to_string()).collect();

    deadline::simulate_clock();
    let run_deadline = Deadline::from_timeout(agent_timeout);
    let result: Result<Option<Outcome>, FenceError> = match action {
        Action::Off => engine::power_off(&mut dev, &names, &timing, run_deadline).map(Some),
        Action::On => engine::power_on(&mut dev, &names, &timing, run_deadline).map(Some),
        Action::RebootOnOff => {
            engine::reboot_onoff(&mut dev, &names, &timing, run_deadline).map(Some)
        }
        Action::RebootCycle => {
            engine::reboot_cycle(&mut dev, &names, &timing, run_deadline).map(Some)
        }
        Action::Status => {
            let read = engine::read_all(&mut dev, &names, run_deadline);
            if let Ok(states) = &read {
                // Every state returned is one the device answered, plug by plug.
                let answered: Vec<PowerState> = dev
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Read(_, Some(s)) => Some(*s),
                        _ => None,
                    })
                    .collect();
                if *states != answered {
                    return Err(format!(
                        "status {states:?} is not what was read {answered:?}"
                    ));
                }
            }
            if dev.events.iter().any(|e| matches!(e, Event::Read(_, None))) && read.is_ok() {
                return Err("status answered although a plug was unreadable".into());
            }
            read.map(|_| None)
        }
    };
    let late = deadline::now().saturating_duration_since(run_deadline.instant());
    if !late.is_zero() {
        return Err(format!(
            "{action:?} answered {late:?} after its deadline ({result:?})"
        ));
    }
    let ev = &dev.events;
    let first_on = ev
        .iter()
        .position(|e| matches!(e, Event::Set(_, PowerState::On)))
        .unwrap_or(ev.len());
    let fenced = matches!(
        (action, &result),
        (
            Action::Off | Action::RebootOnOff | Action::RebootCycle,
            Ok(_)
        )
    );
    if fenced {
        all_fresh_off_before(ev, plugs, first_on)
            .map_err(|e| format!("{action:?} succeeded ({result:?}) but {e}"))?;
    }
    // Whatever the outcome, an "on" never precedes confirmed off of every plug in a reboot.
    if matches!(action, Action::RebootOnOff | Action::RebootCycle) && first_on < ev.len() {
        all_fresh_off_before(ev, plugs, first_on)
            .map_err(|e| format!("{action:?} switched a plug on although {e}"))?;
    }
    Ok(fenced)
}

/// Ok(true) when the state earned a positive score (so the data check applied).
fn drbd_schedule(seed: u64) -> Result<bool, String> {
    let mut rng = Rng(seed);
    let nvol = 1 + rng.below(3) as u32;
    let npeers = rng.below(4) as usize;
    let client = rng.pct(10);
    let role = rng.pick(&[
        Role::Primary,
        Role::Secondary,
        Role::Secondary,
        Role::Unknown,
    ]);
    let volumes: Vec<Volume> = (0..nvol)
        .map(|v| Volume {
            volume: v,
            minor: Some(v),
            disk: if client {
                DiskState::Diskless
            } else {
                rng.pick(DiskState::ALL)
            },
            client,
            quorum: !rng.pct(10),
            open: None,
        })
        .collect();
    let peers: Vec<Peer> = (0..npeers)
        .map(|i| {
            let connection = rng.pick(ConnectionState::ALL);
            let connected = connection == ConnectionState::Connected;
            let peer_client = rng.pct(10);
            Peer {
                node_id: Some(i as u32 + 1),
                name: format!("peer{i}"),
                connection,
                role: if connected {
                    rng.pick(&[Role::Primary, Role::Secondary])
                } else {
                    Role::Unknown
                },
                volumes: (0..nvol)
                    .map(|v| PeerVolume {
                        volume: v,
                        replication: if connected {
                            rng.pick(ReplicationState::ALL)
                        } else {
                            ReplicationState::Off
                        },
                        // DRBD reports a peer's disk only while connected.
                        disk: if !connected {
                            DiskState::DUnknown
                        } else if peer_client {
                            DiskState::Diskless
                        } else {
                            rng.pick(DiskState::ALL)
                        },
                        client: peer_client,
                        resync_suspended: false,
                        done: None,
                    })
                    .collect(),
            }
        })
        .collect();
    let status = DrbdStatus {
        resource: "r0".into(),
        role,
        suspended: rng.pct(5),
        volumes,
        peers,
    };
    let mut steps = [
        rng.below(20),
        rng.below(200),
        rng.below(2000),
        rng.below(20000),
    ];
    steps.sort_unstable();
    let only_consistent = if rng.pct(30) { steps[0] } else { 0 };
    let scores = MasterScores::parse(&format!(
        "{only_consistent} {} {} {}",
        steps[1].max(only_consistent),
        steps[2].max(only_consistent),
        steps[3].max(only_consistent)
    ))
    .map_err(|e| format!("scores: {e}"))?;
    let policy = ScorePolicy {
        scores,
        remove_if_peer_primary: rng.pick(&[
            PeerPrimaryRule::Never,
            PeerPrimaryRule::Always,
            PeerPrimaryRule::IfUnexpected,
        ]),
        unfence_if_all_uptodate: rng.pct(50),
        promoted_max: 1 + rng.below(2) as u32,
        pacemaker_knows_promoted_peer: rng.pick(&[None, Some(true), Some(false)]),
    };
    let decision = promotion_score(&status, &policy);
    let positive = matches!(decision.action, ScoreAction::Set(n) if n > 0);
    // Judged from the raw state, not from the facts the scorer derives.
    let local_up_to_date = status.volumes.iter().all(|v| v.disk == DiskState::UpToDate);
    let peer_up_to_date = status.peers.iter().any(|p| {
        p.connection == ConnectionState::Connected
            && p.volumes
                .iter()
                .all(|v| !v.client && v.disk == DiskState::UpToDate)
    });
    let local_consistent = status
        .volumes
        .iter()
        .all(|v| matches!(v.disk, DiskState::Consistent | DiskState::UpToDate));
    let quorum = status.volumes.iter().all(|v| v.quorum);
    if positive && !quorum {
        return Err(format!(
            "positive score without quorum: {decision:?}\n{status:#?}"
        ));
    }
    let allowed = local_up_to_date
        || peer_up_to_date
        || (local_consistent && policy.scores.only_consistent > 0);
    if positive && !allowed {
        return Err(format!(
            "positive score without UpToDate data: {decision:?}\n{status:#?}"
        ));
    }
    if decision.unfence && !(local_up_to_date && role == Role::Primary) {
        return Err(format!("unfence without UpToDate Primary: {decision:?}"));
    }
    Ok(positive)
}

/// Runs `count` schedules; `decisive` names the runs where the main check applied, so the
/// summary shows the run was not vacuous.
fn run(
    kind: &str,
    decisive: &str,
    base: u64,
    count: u64,
    check: fn(u64) -> Result<bool, String>,
) -> bool {
    let started = Instant::now();
    let mut applied = 0u64;
    for i in 0..count {
        let seed = base.wrapping_add(i);
        match check(seed) {
            Ok(hit) => applied += u64::from(hit),
            Err(e) => {
                eprintln!("{kind}: schedule with seed {seed} fails: {e}");
                eprintln!(
                    "replay: cargo run --release --example fence_property -- --seed {seed} --count 1"
                );
                return false;
            }
        }
    }
    println!(
        "{kind}: {count} schedules from seed {base} hold, {applied} of them {decisive} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    if count >= 1000 && applied * 100 < count {
        eprintln!("{kind}: fewer than 1% of the schedules were {decisive}: the check is vacuous");
        return false;
    }
    true
}

fn main() {
    let mut count = 1_000_000u64;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u64>().ok());
        match (a.as_str(), value) {
            ("--count", Some(n)) => count = n,
            ("--seed", Some(s)) => seed = s,
            _ => {
                eprintln!("usage: fence_property [--count N] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    let ok = run(
        "fence engine",
        "fence successes",
        seed,
        count,
        fence_schedule,
    ) & run(
        "drbd scoring",
        "positive scores",
        seed,
        count,
        drbd_schedule,
    );
    std::process::exit(if ok { 0 } else { 1 });
}
