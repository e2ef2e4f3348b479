//! The typed state of one DRBD resource, as seen from this node.
//!
//! DRBD 9 (`events2`, `status --json`) and DRBD 8.4 (`sh-status`) report the same facts in
//! different shapes; both parsers produce a [`DrbdStatus`], so scoring and the agent never see
//! which tool printed it. State names are parsed strictly: a name we do not know is an error
//! carrying the offending text, never a default (a default could promote on data we did not
//! understand) — for this node's own fields. A peer's fields are read tolerantly: a name we do
//! not know reads as unknown (`DUnknown`, role `Unknown`, connection/replication `Unknown`),
//! which only ever lowers the score, so a DRBD release with a new state name does not make
//! every node's monitor fail at once.

use std::fmt;
use std::str::FromStr;

/// What went wrong reading a tool's output. Always names the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Which output was being read, e.g. `drbdsetup events2`.
    pub source: &'static str,
    /// What was wrong, e.g. `unknown disk state "Foo"`.
    pub problem: String,
    /// The line (or fragment) it was found in, shortened and made printable.
    pub text: String,
}

impl ParseError {
    pub(crate) fn new(source: &'static str, problem: impl Into<String>, text: &str) -> Self {
        ParseError {
            source,
            problem: problem.into(),
            text: printable(text, 160),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            write!(f, "cannot read {}: {}", self.source, self.problem)
        } else {
            write!(
                f,
                "cannot read {}: {} in \"{}\"",
                self.source, self.problem, self.text
            )
        }
    }
}

impl std::error::Error for ParseError {}

/// `text` on one line, control characters escaped, at most `max` characters (an exit reason
/// must stay one short line even when a tool prints garbage).
pub(crate) fn printable(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// An unknown name for one of DRBD's enumerations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState {
    pub kind: &'static str,
    pub name: String,
}

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} \"{}\"", self.kind, printable(&self.name, 40))
    }
}

/// One of DRBD's enumerations. Each variant is named exactly as DRBD's tools print it, so the
/// text is the variant's own name and each table lists names once.
macro_rules! drbd_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in DRBD's own order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name DRBD's tools print.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $(stringify!($variant) => Ok($name::$variant),)+
                    _ => Err(UnknownState { kind: $kind, name: s.to_string() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

drbd_enum!(
    /// The role of a resource (DRBD 9) or device (8.4), local or of a peer.
    Role, "role", {
        Unknown,
        Primary,
        Secondary,
    }
);

drbd_enum!(
    /// A disk state (`drbd_disk_str` in LINBIT/drbd-headers `drbd_strings.c`).
    DiskState, "disk state", {
        Diskless,
        Attaching,
        Detaching,
        Failed,
        Negotiating,
        Inconsistent,
        Outdated,
        /// The peer's disk state is not known (only meaningful for peers).
        DUnknown,
        Consistent,
        UpToDate,
    }
);

drbd_enum!(
    /// The state of a connection to one peer (DRBD 9 names).
    ConnectionState, "connection state", {
        StandAlone,
        Disconnecting,
        Unconnected,
        Timeout,
        BrokenPipe,
        NetworkFailure,
        ProtocolError,
        TearDown,
        Connecting,
        Connected,
        /// A name this build does not know (a later DRBD release): read for a peer's
        /// connection instead of failing the monitor. DRBD never prints it.
        Unknown,
    }
);

drbd_enum!(
    /// The replication state of one volume towards one peer (DRBD 9 names).
    ReplicationState, "replication state", {
        Off,
        Established,
        StartingSyncS,
        StartingSyncT,
        WFBitMapS,
        WFBitMapT,
        WFSyncUUID,
        SyncSource,
        SyncTarget,
        VerifyS,
        VerifyT,
        PausedSyncS,
        PausedSyncT,
        Ahead,
        Behind,
        /// A name this build does not know (a later DRBD release); DRBD never prints it.
        Unknown,
    }
);

impl ReplicationState {
    /// A resync is running or paused (not an online verify).
    pub fn is_resync(self) -> bool {
        matches!(
            self,
            ReplicationState::SyncSource
                | ReplicationState::SyncTarget
                | ReplicationState::PausedSyncS
                | ReplicationState::PausedSyncT
        )
    }
}

/// One local volume (a DRBD device).
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub volume: u32,
    /// The minor number (`/dev/drbd<minor>`), when the tool reports it.
    pub minor: Option<u32>,
    pub disk: DiskState,
    /// Intentionally diskless (`client:yes`): a DRBD 9 client that reads and writes over the
    /// network. 8.4 has no such notion (always false).
    pub client: bool,
    /// The device has quorum (8.4 has no quorum: always true).
    pub quorum: bool,
    /// The device is open (mounted, held by a process), when the tool reports it.
    pub open: Option<bool>,
}

/// One volume as seen on one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerVolume {
    pub volume: u32,
    pub replication: ReplicationState,
    pub disk: DiskState,
    /// The peer is intentionally diskless for this volume.
    pub client: bool,
    /// Resync suspended (by user, peer or dependency).
    pub resync_suspended: bool,
    /// Resync progress in percent while a resync runs, when reported.
    pub done: Option<f64>,
}

/// One peer (a DRBD 9 connection; the single peer of 8.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// DRBD 9 node id; `None` on 8.4.
    pub node_id: Option<u32>,
    /// The connection name (DRBD 9 `conn-name`, usually the peer's host name); `peer` on 8.4.
    pub name: String,
    pub connection: ConnectionState,
    pub role: Role,
    pub volumes: Vec<PeerVolume>,
}

/// The state of one configured resource on this node.
#[derive(Debug, Clone, PartialEq)]
pub struct DrbdStatus {
    pub resource: String,
    /// The resource role (8.4: Primary if any volume is Primary).
    pub role: Role,
    /// I/O is suspended (e.g. `fencing resource-and-stonith` waiting for the handler).
    pub suspended: bool,
    pub volumes: Vec<Volume>,
    pub peers: Vec<Peer>,
}

/// Facts derived from a [`DrbdStatus`], in the terms drbd.ocf's scoring uses. Pure data: see
/// [`DrbdStatus::facts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusFacts {
    pub primary: bool,
    pub some_peer_primary: bool,
    /// Every local volume is intentionally diskless (and there is at least one).
    pub diskless_client: bool,
    /// No volume reports `quorum:no`.
    pub have_quorum: bool,
    pub disk_all_up_to_date: bool,
    /// No volume is Diskless, Failed, Inconsistent, Outdated, Detaching or DUnknown.
    pub disk_all_consistent: bool,
    /// Some volume is Attaching or Negotiating.
    pub disk_transitional: bool,
    /// Some (disk-ful) peer has every volume UpToDate.
    pub some_peer_all_up_to_date: bool,
    /// Some (disk-ful) peer has a volume that is not UpToDate.
    pub some_peer_not_all_up_to_date: bool,
    /// Some (disk-ful) peer's disk state is unknown for some volume, or no peer is known.
    pub pdsk_any_unknown: bool,
    /// Every disk-ful peer has every volume UpToDate, and there is at least one such peer.
    pub pdsk_all_up_to_date: bool,
}

impl DrbdStatus {
    /// The facts drbd.ocf's `drbd_set_status_variables` computes, with three deliberate
    /// differences (each on the safe side):
    /// - any local state other than UpToDate makes `disk_all_up_to_date` false (drbd.ocf's
    ///   events2 path left it true for Attaching/Negotiating and local DUnknown);
    /// - `quorum:no` on an intentionally diskless volume counts too (drbd.ocf skipped it);
    /// - a node that knows no disk-ful peer at all counts as "peer disk unknown" (drbd.ocf
    ///   treated "no peers" as "all peers known", scoring 10000 instead of 1000).
    pub fn facts(&self) -> StatusFacts {
        let mut f = StatusFacts {
            primary: self.role == Role::Primary,
            some_peer_primary: self.peers.iter().any(|p| p.role == Role::Primary),
            have_quorum: self.volumes.iter().all(|v| v.quorum),
            ..StatusFacts::default()
        };
        let n = self.volumes.len();
        f.diskless_client = n > 0
            && self
                .volumes
                .iter()
                .all(|v| v.client && v.disk == DiskState::Diskless);
        f.disk_all_up_to_date = n > 0 && self.volumes.iter().all(|v| v.disk == DiskState::UpToDate);
        f.disk_all_consistent = n > 0
            && self.volumes.iter().all(|v| {
                !matches!(
                    v.disk,
                    DiskState::Diskless
                        | DiskState::Failed
                        | DiskState::Inconsistent
                        | DiskState::Outdated
                        | DiskState::Detaching
                        | DiskState::DUnknown
                )
            });
        f.disk_transitional = self
            .volumes
            .iter()
            .any(|v| matches!(v.disk, DiskState::Attaching | DiskState::Negotiating));

        let mut diskful_peers = 0;
        for peer in &self.peers {
            let clients = peer.volumes.iter().filter(|v| v.client).count();
            if n > 0 && clients == n {
                // An intentionally diskless peer holds no data: it neither vouches for nor
                // casts doubt on anyone's data.
                continue;
            }
            diskful_peers += 1;
            let peer_disk = |v: &Volume| {
                peer.volumes
                    .iter()
                    .find(|pv| pv.volume == v.volume)
                    .map_or(DiskState::DUnknown, |pv| pv.disk)
            };
            let up = self
                .volumes
                .iter()
                .filter(|v| peer_disk(v) == DiskState::UpToDate)
                .count();
            let known = self
                .volumes
                .iter()
                .filter(|v| peer_disk(v) != DiskState::DUnknown)
                .count();
            if n > 0 && up == n {
                f.some_peer_all_up_to_date = true;
            } else {
                f.some_peer_not_all_up_to_date = true;
            }
            if known != n {
                f.pdsk_any_unknown = true;
            }
        }
        if diskful_peers == 0 {
            f.pdsk_any_unknown = true;
        }
        f.pdsk_all_up_to_date =
            f.some_peer_all_up_to_date && !f.some_peer_not_all_up_to_date && !f.pdsk_any_unknown;
        f
    }

    /// Every volume's disk state is UpToDate.
    pub fn all_up_to_date(&self) -> bool {
        !self.volumes.is_empty() && self.volumes.iter().all(|v| v.disk == DiskState::UpToDate)
    }

    /// A one-line summary for logs: `r0 Secondary disk:UpToDate peer node2:Connected/Primary/UpToDate`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} {}", self.resource, self.role);
        if !self.volumes.is_empty() {
            s.push_str(" disk:");
            let disks: Vec<&str> = self.volumes.iter().map(|v| v.disk.as_str()).collect();
            s.push_str(&disks.join(","));
        }
        for p in &self.peers {
            let disks: Vec<&str> = p.volumes.iter().map(|v| v.disk.as_str()).collect();
            s.push_str(&format!(
                " peer {}:{}/{}/{}",
                p.name,
                p.connection,
                p.role,
                if disks.is_empty() {
                    "DUnknown".to_string()
                } else {
                    disks.join(",")
                }
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for d in DiskState::ALL {
            assert_eq!(d.as_str().parse::<DiskState>(), Ok(*d));
        }
        for r in ReplicationState::ALL {
            assert_eq!(r.as_str().parse::<ReplicationState>(), Ok(*r));
        }
        for c in ConnectionState::ALL {
            assert_eq!(c.as_str().parse::<ConnectionState>(), Ok(*c));
        }
        // The text is the variant's name, spelled as drbdsetup prints it.
        assert_eq!(DiskState::DUnknown.as_str(), "DUnknown");
        assert_eq!(ReplicationState::WFBitMapS.as_str(), "WFBitMapS");
        assert_eq!(ConnectionState::StandAlone.to_string(), "StandAlone");
        assert_eq!("Primary".parse::<Role>(), Ok(Role::Primary));
        let err = "UpToDat".parse::<DiskState>().unwrap_err();
        assert_eq!(err.to_string(), "unknown disk state \"UpToDat\"");
        assert!("?".parse::<Role>().is_err());
        assert!("".parse::<ConnectionState>().is_err());
    }

    #[test]
    fn printable_escapes_and_shortens() {
        assert_eq!(printable("a\nb", 10), "a\\nb");
        assert_eq!(printable("abcdef", 3), "abc…");
    }
}
