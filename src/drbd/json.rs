//! DRBD 9 `drbdsetup status <resource> --json`.
//!
//! An array of resources (`resource_status_json` and friends in LINBIT/drbd-utils
//! `user/v9/drbdsetup.c`). Key style is mixed: `peer_devices` uses an underscore, everything
//! we read otherwise uses hyphens. Fields we do not read are ignored; the fields we do read
//! must be present, and this node's must hold known names (a peer's unknown name reads as
//! unknown: see [`crate::drbd::status`]).

use super::status::{
    ConnectionState, DiskState, DrbdStatus, ParseError, Peer, PeerVolume, ReplicationState, Role,
    UnknownState, Volume,
};
use serde::Deserialize;

const SOURCE: &str = "drbdsetup status --json";

#[derive(Deserialize)]
struct JResource {
    name: String,
    role: String,
    #[serde(default)]
    suspended: bool,
    #[serde(default)]
    devices: Vec<JDevice>,
    #[serde(default)]
    connections: Vec<JConnection>,
}

#[derive(Deserialize)]
struct JDevice {
    volume: u32,
    minor: Option<u32>,
    #[serde(rename = "disk-state")]
    disk_state: String,
    #[serde(default)]
    client: bool,
    quorum: Option<bool>,
    open: Option<bool>,
}

#[derive(Deserialize)]
struct JConnection {
    #[serde(rename = "peer-node-id")]
    peer_node_id: Option<u32>,
    name: String,
    #[serde(rename = "connection-state")]
    connection_state: String,
    #[serde(rename = "peer-role")]
    peer_role: String,
    #[serde(default)]
    peer_devices: Vec<JPeerDevice>,
}

#[derive(Deserialize)]
struct JPeerDevice {
    volume: u32,
    #[serde(rename = "replication-state")]
    replication_state: String,
    #[serde(rename = "peer-disk-state")]
    peer_disk_state: String,
    #[serde(rename = "peer-client", default)]
    peer_client: bool,
    #[serde(rename = "resync-suspended")]
    resync_suspended: Option<String>,
    #[serde(rename = "percent-resync-done")]
    percent_resync_done: Option<f64>,
}

fn state<T: std::str::FromStr<Err = UnknownState>>(
    value: &str,
    context: &str,
) -> Result<T, ParseError> {
    value
        .parse()
        .map_err(|e: UnknownState| ParseError::new(SOURCE, e.to_string(), context))
}

/// Parses `drbdsetup status --json` output for `resource`; `Ok(None)` when the resource is
/// not in the array (not configured).
pub fn parse_status_json(resource: &str, text: &str) -> Result<Option<DrbdStatus>, ParseError> {
    let resources: Vec<JResource> = serde_json::from_str(text).map_err(|e| {
        let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("");
        ParseError::new(SOURCE, e.to_string(), line.trim())
    })?;
    let Some(r) = resources.into_iter().find(|r| r.name == resource) else {
        return Ok(None);
    };
    let mut st = DrbdStatus {
        resource: r.name,
        role: state::<Role>(&r.role, "role")?,
        suspended: r.suspended,
        volumes: Vec::with_capacity(r.devices.len()),
        peers: Vec::with_capacity(r.connections.len()),
    };
    for d in r.devices {
        st.volumes.push(Volume {
            volume: d.volume,
            minor: d.minor,
            disk: state(&d.disk_state, "disk-state")?,
            client: d.client,
            quorum: d.quorum.unwrap_or(true),
            open: d.open,
        });
    }
    for c in r.connections {
        let mut peer = Peer {
            node_id: c.peer_node_id,
            name: c.name,
            connection: c
                .connection_state
                .parse()
                .unwrap_or(ConnectionState::Unknown),
            role: c.peer_role.parse().unwrap_or(Role::Unknown),
            volumes: Vec::with_capacity(c.peer_devices.len()),
        };
        for pd in c.peer_devices {
            peer.volumes.push(PeerVolume {
                volume: pd.volume,
                replication: pd
                    .replication_state
                    .parse()
                    .unwrap_or(ReplicationState::Unknown),
                disk: pd.peer_disk_state.parse().unwrap_or(DiskState::DUnknown),
                client: pd.peer_client,
                resync_suspended: pd.resync_suspended.is_some_and(|s| s != "no"),
                done: pd.percent_resync_done,
            });
        }
        st.peers.push(peer);
    }
    Ok(Some(st))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_minimal_array_and_rejects_unknown_names() {
        let ok = r#"[{"name":"r0","role":"Primary","devices":[{"volume":0,"minor":0,"disk-state":"UpToDate","client":false,"quorum":true}],
            "connections":[{"peer-node-id":1,"name":"node2","connection-state":"Connected","peer-role":"Secondary",
            "peer_devices":[{"volume":0,"replication-state":"SyncSource","peer-disk-state":"Inconsistent","percent-resync-done":12.5}]}]}]"#;
        let st = parse_status_json("r0", ok).unwrap().unwrap();
        assert_eq!(st.role, Role::Primary);
        assert_eq!(st.peers[0].volumes[0].disk, DiskState::Inconsistent);
        assert_eq!(st.peers[0].volumes[0].done, Some(12.5));
        assert_eq!(parse_status_json("r1", ok).unwrap(), None);
        assert_eq!(parse_status_json("r0", "[\n]\n\n").unwrap(), None);

        // A peer's unknown name reads as unknown; this node's is an error.
        let peer = ok.replace("Inconsistent", "Inconsistant");
        let st = parse_status_json("r0", &peer).unwrap().unwrap();
        assert_eq!(st.peers[0].volumes[0].disk, DiskState::DUnknown);
        let bad = ok.replace("\"disk-state\":\"UpToDate\"", "\"disk-state\":\"Uptodate\"");
        let err = parse_status_json("r0", &bad).unwrap_err().to_string();
        assert!(err.contains("Uptodate"), "{err}");
        let err = parse_status_json("r0", "[{\"name\":\"r0\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("drbdsetup status --json"), "{err}");
        assert!(parse_status_json("r0", "").is_err());
        assert!(parse_status_json("r0", "[{\"name\":\"r0\",\"role\":7}]").is_err());
    }
}
