//! DRBD 8.4 `drbdsetup sh-status <resource>`.
//!
//! Shell assignments, one block per volume, each block ended by the line
//! `_sh_status_process` (`sh_status_scmd` in LINBIT/drbd-utils `user/v84/drbdsetup.c`):
//!
//! ```text
//! _minor=0
//! _res_name=r0
//! _volume=0
//! _known=Configured
//!
//! _cstate=Connected
//! _role=Secondary
//! _peer=Primary
//! _disk=UpToDate
//! _pdsk=UpToDate
//! …
//! _sh_status_process
//! ```
//!
//! drbd.ocf `eval`s this; we parse it. 8.4 has one peer, per-volume roles and connection
//! states, and a combined connection/replication state (`_cstate=SyncSource`), which is split
//! here into the DRBD 9 terms of the model.

use super::status::{
    ConnectionState, DiskState, DrbdStatus, ParseError, Peer, PeerVolume, ReplicationState, Role,
    Volume,
};

const SOURCE: &str = "drbdsetup sh-status";

/// 8.4's combined connection state, as the DRBD 9 pair (connection, replication).
fn split_cstate(cstate: &str) -> Option<(ConnectionState, ReplicationState)> {
    use ConnectionState as C;
    use ReplicationState as R;
    Some(match cstate {
        "StandAlone" => (C::StandAlone, R::Off),
        "Disconnecting" => (C::Disconnecting, R::Off),
        "Unconnected" => (C::Unconnected, R::Off),
        "Timeout" => (C::Timeout, R::Off),
        "BrokenPipe" => (C::BrokenPipe, R::Off),
        "NetworkFailure" => (C::NetworkFailure, R::Off),
        "ProtocolError" => (C::ProtocolError, R::Off),
        "TearDown" => (C::TearDown, R::Off),
        "WFConnection" => (C::Connecting, R::Off),
        "WFReportParams" => (C::Connected, R::Off),
        "Connected" => (C::Connected, R::Established),
        other => {
            let r: ReplicationState = other.parse().ok()?;
            if matches!(r, R::Off | R::Established) {
                return None;
            }
            (C::Connected, r)
        }
    })
}

#[derive(Default)]
struct Block {
    volume: Option<u32>,
    minor: Option<u32>,
    res_name: Option<String>,
    known: Option<String>,
    cstate: Option<String>,
    role: Option<String>,
    peer: Option<String>,
    disk: Option<String>,
    pdsk: Option<String>,
    susp: bool,
    user_isp: bool,
    peer_isp: bool,
    aftr_isp: bool,
    resynced: Option<String>,
}

/// Removes the backslashes of drbdsetup's `shell_escape` (resource names are restricted to
/// `[-%+./0-9:=@A-Z_a-z]`, so nothing else needs undoing).
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses 8.4 `drbdsetup sh-status` output for `resource`; `Ok(None)` when no volume of it
/// is configured.
pub fn parse_sh_status(resource: &str, text: &str) -> Result<Option<DrbdStatus>, ParseError> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut cur = Block::default();
    let mut open = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "_sh_status_process" {
            if !open {
                return Err(ParseError::new(SOURCE, "empty volume block", line));
            }
            blocks.push(std::mem::take(&mut cur));
            open = false;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ParseError::new(SOURCE, "not a shell assignment", line));
        };
        // `_known=NA # not available or not yet created`: a shell comment after the value.
        let value = value.split(" #").next().unwrap_or("").trim();
        open = true;
        let num = |v: &str| -> Result<u32, ParseError> {
            v.parse()
                .map_err(|_| ParseError::new(SOURCE, format!("{key} is not a number"), line))
        };
        match key {
            "_minor" => cur.minor = Some(num(value)?),
            "_volume" => {
                // Not-yet-created volumes are reported as -1.
                cur.volume = if value == "-1" {
                    None
                } else {
                    Some(num(value)?)
                }
            }
            "_res_name" => cur.res_name = Some(unescape(value)),
            "_known" => cur.known = Some(value.to_string()),
            "_cstate" => cur.cstate = Some(value.to_string()),
            "_role" => cur.role = Some(value.to_string()),
            "_peer" => cur.peer = Some(value.to_string()),
            "_disk" => cur.disk = Some(value.to_string()),
            "_pdsk" => cur.pdsk = Some(value.to_string()),
            "_flags_susp" => cur.susp = value == "1",
            "_flags_aftr_isp" => cur.aftr_isp = value == "1",
            "_flags_peer_isp" => cur.peer_isp = value == "1",
            "_flags_user_isp" => cur.user_isp = value == "1",
            "_resynced_percent" => cur.resynced = Some(value.to_string()),
            k if k.starts_with('_') => {}
            _ => return Err(ParseError::new(SOURCE, "unexpected assignment", line)),
        }
    }
    if open {
        return Err(ParseError::new(
            SOURCE,
            "output truncated (no _sh_status_process line)",
            text.lines().last().unwrap_or(""),
        ));
    }

    let mut status: Option<DrbdStatus> = None;
    let mut peer = Peer {
        node_id: None,
        name: "peer".to_string(),
        connection: ConnectionState::StandAlone,
        role: Role::Unknown,
        volumes: Vec::new(),
    };
    let mut first_connection: Option<ConnectionState> = None;
    for b in blocks {
        if b.res_name.as_deref().is_some_and(|n| n != resource) {
            continue;
        }
        if b.known.as_deref() != Some("Configured") {
            continue;
        }
        let ctx = format!(
            "_volume={} _cstate={} _role={} _peer={} _disk={} _pdsk={}",
            b.volume.map_or("?".to_string(), |v| v.to_string()),
            b.cstate.as_deref().unwrap_or(""),
            b.role.as_deref().unwrap_or(""),
            b.peer.as_deref().unwrap_or(""),
            b.disk.as_deref().unwrap_or(""),
            b.pdsk.as_deref().unwrap_or("")
        );
        let get = |v: &Option<String>, what: &str| -> Result<String, ParseError> {
            v.clone()
                .ok_or_else(|| ParseError::new(SOURCE, format!("missing {what}"), &ctx))
        };
        let parse_err =
            |e: super::status::UnknownState| ParseError::new(SOURCE, e.to_string(), &ctx);
        let role: Role = get(&b.role, "_role")?.parse().map_err(parse_err)?;
        let disk: DiskState = get(&b.disk, "_disk")?.parse().map_err(parse_err)?;
        // The peer's fields (and the connection state, which describes the link to it) read
        // a name we do not know as unknown: see crate::drbd::status.
        let peer_role: Role = get(&b.peer, "_peer")?.parse().unwrap_or(Role::Unknown);
        let pdsk: DiskState = get(&b.pdsk, "_pdsk")?
            .parse()
            .unwrap_or(DiskState::DUnknown);
        let cstate = get(&b.cstate, "_cstate")?;
        let (connection, replication) =
            split_cstate(&cstate).unwrap_or((ConnectionState::Unknown, ReplicationState::Unknown));
        let volume = b.volume.unwrap_or(0);
        let done =
            match b.resynced.as_deref() {
                None | Some("") => None,
                Some(p) => Some(p.parse::<f64>().map_err(|_| {
                    ParseError::new(SOURCE, "_resynced_percent is not a number", &ctx)
                })?),
            };
        let st = status.get_or_insert_with(|| DrbdStatus {
            resource: resource.to_string(),
            role: Role::Secondary,
            suspended: false,
            volumes: Vec::new(),
            peers: Vec::new(),
        });
        if role == Role::Primary {
            st.role = Role::Primary;
        }
        st.suspended |= b.susp;
        st.volumes.push(Volume {
            volume,
            minor: b.minor,
            disk,
            client: false,
            quorum: true,
            open: None,
        });
        if peer_role == Role::Primary || peer.role == Role::Unknown {
            peer.role = peer_role;
        }
        first_connection.get_or_insert(connection);
        peer.volumes.push(PeerVolume {
            volume,
            replication,
            disk: pdsk,
            client: false,
            resync_suspended: b.user_isp || b.peer_isp || b.aftr_isp,
            done,
        });
    }
    if let Some(st) = status.as_mut() {
        peer.connection = first_connection.unwrap_or(ConnectionState::StandAlone);
        st.peers.push(peer);
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cstate: &str, role: &str, peer: &str, disk: &str, pdsk: &str) -> String {
        format!(
            "_minor=0\n_res_name=r0\n_volume=0\n_known=Configured\n\n_cstate={cstate}\n_role={role}\n_peer={peer}\n_disk={disk}\n_pdsk={pdsk}\n\n_flags_susp=\n_flags_aftr_isp=\n_flags_peer_isp=\n_flags_user_isp=\n\n_resynced_percent=\n\n_sh_status_process\n\n\n"
        )
    }

    #[test]
    fn reads_a_connected_secondary() {
        let st = parse_sh_status(
            "r0",
            &block("Connected", "Secondary", "Primary", "UpToDate", "UpToDate"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(st.role, Role::Secondary);
        assert_eq!(st.peers[0].role, Role::Primary);
        assert_eq!(st.peers[0].connection, ConnectionState::Connected);
        assert_eq!(
            st.peers[0].volumes[0].replication,
            ReplicationState::Established
        );
    }

    #[test]
    fn cstate_splits_into_connection_and_replication() {
        let st = parse_sh_status(
            "r0",
            &block(
                "SyncTarget",
                "Secondary",
                "Primary",
                "Inconsistent",
                "UpToDate",
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            st.peers[0].volumes[0].replication,
            ReplicationState::SyncTarget
        );
        let st = parse_sh_status(
            "r0",
            &block("WFConnection", "Primary", "Unknown", "UpToDate", "DUnknown"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(st.peers[0].connection, ConnectionState::Connecting);
        assert_eq!(st.role, Role::Primary);
    }

    #[test]
    fn unconfigured_is_none() {
        let text = "_minor=0\n_res_name=r0\n_volume=0\n_known=Unconfigured\n\n_cstate=Unconfigured\n_role=\n_peer=\n_disk=\n_pdsk=\n_flags_susp=\n_flags_aftr_isp=\n_flags_peer_isp=\n_flags_user_isp=\n_resynced_percent=\n\n_sh_status_process\n\n\n";
        assert_eq!(parse_sh_status("r0", text).unwrap(), None);
        let na = text.replace(
            "_known=Unconfigured",
            "_known=NA # not available or not yet created",
        );
        assert_eq!(parse_sh_status("r0", &na).unwrap(), None);
        assert_eq!(parse_sh_status("r0", "").unwrap(), None);
    }

    #[test]
    fn unknown_peer_names_read_as_unknown() {
        let st = parse_sh_status(
            "r0",
            &block(
                "Established",
                "Secondary",
                "Arbiter",
                "UpToDate",
                "Pristine",
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(st.peers[0].connection, ConnectionState::Unknown);
        assert_eq!(st.peers[0].role, Role::Unknown);
        assert_eq!(st.peers[0].volumes[0].disk, DiskState::DUnknown);
        assert_eq!(
            st.peers[0].volumes[0].replication,
            ReplicationState::Unknown
        );
    }

    #[test]
    fn bad_input_names_the_text() {
        for (text, needle) in [
            (
                block("Connected", "Secondary", "Primary", "Uptodate", "UpToDate"),
                "Uptodate",
            ),
            (
                block("Connected", "Master", "Primary", "UpToDate", "UpToDate"),
                "Master",
            ),
            ("_minor=0\n_role=Primary\n".to_string(), "truncated"),
            ("echo hi\n_sh_status_process\n".to_string(), "echo hi"),
        ] {
            let err = parse_sh_status("r0", &text).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
