//! DRBD 9 `drbdsetup events2 --now <resource>`.
//!
//! The output is one `exists <object> key:value …` line per resource, connection, device,
//! peer device and path, ended by the line `exists -` (shapes: LINBIT/drbd-utils
//! `user/v9/drbdsetup_events2.c`, `tests/v9/*.test`). Output without that end marker is
//! truncated and rejected: a status cut short could hide a Primary peer.

use super::status::{
    ConnectionState, DiskState, DrbdStatus, ParseError, Peer, PeerVolume, ReplicationState, Role,
    Volume,
};
use std::str::FromStr;

const SOURCE: &str = "drbdsetup events2";

/// The `key:value` fields of one line, split at the first colon of each token.
struct Fields<'a> {
    line: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn parse(line: &'a str, tokens: std::str::SplitWhitespace<'a>) -> Result<Self, ParseError> {
        let mut pairs = Vec::with_capacity(8);
        for token in tokens {
            match token.split_once(':') {
                Some((k, v)) if !k.is_empty() => pairs.push((k, v)),
                _ => {
                    return Err(ParseError::new(
                        SOURCE,
                        format!("field \"{token}\" is not key:value"),
                        line,
                    ))
                }
            }
        }
        Ok(Fields { line, pairs })
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn require(&self, key: &str) -> Result<&'a str, ParseError> {
        self.get(key)
            .ok_or_else(|| ParseError::new(SOURCE, format!("missing {key}"), self.line))
    }

    fn state<T: FromStr<Err = super::status::UnknownState>>(
        &self,
        key: &str,
    ) -> Result<T, ParseError> {
        let v = self.require(key)?;
        v.parse().map_err(|e: super::status::UnknownState| {
            ParseError::new(SOURCE, e.to_string(), self.line)
        })
    }

    /// A peer's state field: required, but a name we do not know reads as `unknown`.
    fn peer_state<T: FromStr<Err = super::status::UnknownState>>(
        &self,
        key: &str,
        unknown: T,
    ) -> Result<T, ParseError> {
        Ok(self.require(key)?.parse().unwrap_or(unknown))
    }

    fn number(&self, key: &str) -> Result<Option<u32>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ParseError::new(SOURCE, format!("{key} \"{v}\" is not a number"), self.line)
            }),
        }
    }

    fn yes_no(&self, key: &str) -> Result<Option<bool>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some("yes") => Ok(Some(true)),
            Some("no") => Ok(Some(false)),
            Some(v) => Err(ParseError::new(
                SOURCE,
                format!("{key} \"{v}\" is neither yes nor no"),
                self.line,
            )),
        }
    }
}

/// Parses `drbdsetup events2 --now` output for `resource`. `Ok(None)`: the resource is not
/// configured in the kernel (no `exists resource` line for it), i.e. stopped.
pub fn parse_events2(resource: &str, text: &str) -> Result<Option<DrbdStatus>, ParseError> {
    let mut status: Option<DrbdStatus> = None;
    let mut ended = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if ended {
            return Err(ParseError::new(SOURCE, "output after \"exists -\"", line));
        }
        let mut tokens = line.split_whitespace();
        match tokens.next() {
            Some("exists") => {}
            _ => return Err(ParseError::new(SOURCE, "unexpected line", line)),
        }
        let object = match tokens.next() {
            Some("-") => {
                ended = true;
                continue;
            }
            Some(o) => o,
            None => return Err(ParseError::new(SOURCE, "no object type", line)),
        };
        let fields = Fields::parse(line, tokens)?;
        if fields.require("name")? != resource {
            continue;
        }
        match object {
            "resource" => {
                if status.is_some() {
                    return Err(ParseError::new(SOURCE, "resource reported twice", line));
                }
                status = Some(DrbdStatus {
                    resource: resource.to_string(),
                    role: fields.state("role")?,
                    suspended: fields.get("suspended").is_some_and(|v| v != "no"),
                    volumes: Vec::new(),
                    peers: Vec::new(),
                });
            }
            "device" => {
                let st = owner(&mut status, line)?;
                st.volumes.push(Volume {
                    volume: fields
                        .number("volume")?
                        .ok_or_else(|| ParseError::new(SOURCE, "missing volume", line))?,
                    minor: fields.number("minor")?,
                    disk: fields.state::<DiskState>("disk")?,
                    client: fields.yes_no("client")?.unwrap_or(false),
                    quorum: fields.yes_no("quorum")?.unwrap_or(true),
                    open: fields.yes_no("open")?,
                });
            }
            "connection" => {
                let st = owner(&mut status, line)?;
                st.peers.push(Peer {
                    node_id: fields.number("peer-node-id")?,
                    name: fields.require("conn-name")?.to_string(),
                    connection: fields.peer_state("connection", ConnectionState::Unknown)?,
                    role: fields.peer_state("role", Role::Unknown)?,
                    volumes: Vec::new(),
                });
            }
            "peer-device" => {
                let node_id = fields.number("peer-node-id")?;
                let conn_name = fields.require("conn-name")?;
                let pv = PeerVolume {
                    volume: fields
                        .number("volume")?
                        .ok_or_else(|| ParseError::new(SOURCE, "missing volume", line))?,
                    replication: fields.peer_state("replication", ReplicationState::Unknown)?,
                    disk: fields.peer_state("peer-disk", DiskState::DUnknown)?,
                    client: fields.yes_no("peer-client")?.unwrap_or(false),
                    resync_suspended: fields.get("resync-suspended").is_some_and(|v| v != "no"),
                    // Progress is informational only.
                    done: fields.get("done").and_then(|v| v.parse::<f64>().ok()),
                };
                let st = owner(&mut status, line)?;
                let peer = st
                    .peers
                    .iter_mut()
                    .find(|p| p.node_id == node_id && p.name == conn_name)
                    .ok_or_else(|| {
                        ParseError::new(SOURCE, "peer device of an unknown connection", line)
                    })?;
                peer.volumes.push(pv);
            }
            // Paths, helpers and objects of later DRBD releases say nothing about roles or data.
            _ => {}
        }
    }
    if !ended {
        return Err(ParseError::new(
            SOURCE,
            "output truncated (no \"exists -\" line)",
            text.lines().last().unwrap_or(""),
        ));
    }
    Ok(status)
}

fn owner<'s>(
    status: &'s mut Option<DrbdStatus>,
    line: &str,
) -> Result<&'s mut DrbdStatus, ParseError> {
    status
        .as_mut()
        .ok_or_else(|| ParseError::new(SOURCE, "object before its resource line", line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "exists resource name:R role:Secondary suspended:no force-io-failures:no may_promote:no promotion_score:0\n\
exists device name:R volume:0 minor:1000 backing_dev:/dev/sda disk:UpToDate client:no open:no quorum:yes\n\
exists connection name:R peer-node-id:1 conn-name:peer connection:Connected role:Secondary\n\
exists peer-device name:R peer-node-id:1 conn-name:peer volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no\n\
exists -\n";

    #[test]
    fn parses_the_documented_shape() {
        let st = parse_events2("R", DIGEST).unwrap().unwrap();
        assert_eq!(st.role, Role::Secondary);
        assert_eq!(st.volumes.len(), 1);
        assert_eq!(st.volumes[0].minor, Some(1000));
        assert_eq!(st.volumes[0].open, Some(false));
        assert_eq!(st.peers[0].node_id, Some(1));
        assert_eq!(st.peers[0].volumes[0].disk, DiskState::UpToDate);
        assert!(st.all_up_to_date());
    }

    #[test]
    fn unknown_peer_names_read_as_unknown_but_local_ones_fail() {
        let future = DIGEST
            .replace("connection:Connected", "connection:Federated")
            .replace("role:Secondary\nexists peer", "role:Arbiter\nexists peer")
            .replace("replication:Established", "replication:Mirroring")
            .replace("peer-disk:UpToDate", "peer-disk:Pristine");
        let st = parse_events2("R", &future).unwrap().unwrap();
        let p = &st.peers[0];
        assert_eq!(p.connection, ConnectionState::Unknown);
        assert_eq!(p.role, Role::Unknown);
        assert_eq!(p.volumes[0].replication, ReplicationState::Unknown);
        assert_eq!(p.volumes[0].disk, DiskState::DUnknown);
        assert!(st.facts().pdsk_any_unknown);
        let local = DIGEST.replace("disk:UpToDate client", "disk:Pristine client");
        let err = parse_events2("R", &local).unwrap_err().to_string();
        assert!(err.contains("Pristine"), "{err}");
    }

    #[test]
    fn other_resources_are_skipped_and_absence_is_none() {
        assert_eq!(parse_events2("r9", DIGEST).unwrap(), None);
        assert_eq!(parse_events2("r0", "exists -\n").unwrap(), None);
    }

    #[test]
    fn bad_input_is_an_error_naming_the_text() {
        let cases = [
            ("", "truncated"),
            (
                "exists resource name:R role:Secondary\n",
                "truncated",
            ),
            ("exists resource name:R role:Boss\nexists -\n", "Boss"),
            ("hello\nexists -\n", "hello"),
            ("exists resource name:R role\nexists -\n", "role"),
            (
                "exists device name:R volume:0 disk:UpToDate\nexists -\n",
                "before its resource",
            ),
            (
                "exists resource name:R role:Primary\nexists device name:R volume:x disk:UpToDate\nexists -\n",
                "volume \"x\"",
            ),
            (
                "exists resource name:R role:Primary\nexists device name:R volume:0 disk:UpToDate quorum:maybe\nexists -\n",
                "maybe",
            ),
            (
                "exists resource name:R role:Primary\nexists peer-device name:R peer-node-id:1 conn-name:p volume:0 replication:Off peer-disk:DUnknown\nexists -\n",
                "unknown connection",
            ),
            ("exists -\nexists -\n", "after"),
        ];
        for (text, needle) in cases {
            let err = parse_events2("R", text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
    }
}
