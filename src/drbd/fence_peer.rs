//! The DRBD fence-peer / unfence-peer handlers' decisions (pure) and the CIB XML they write.
//!
//! With `fencing resource-and-stonith`, DRBD freezes I/O when it loses a peer and runs the
//! fence-peer handler; the handler keeps the peer from being promoted by placing a
//! `-INFINITY` location constraint on the promoted role of the DRBD clone for every node but
//! those with UpToDate data, and tells DRBD what happened through its exit code
//! ([`FencePeerExit`]). The unfence-peer handler removes the constraint once everyone is
//! UpToDate again. Behaviour of LINBIT/drbd-utils `scripts/crm-fence-peer.9.sh`, reading
//! Pacemaker's XML (`cibadmin -Q`, `crm_mon --output-as xml`) with a parser instead of sed.

use super::status::{printable, ParseError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::fmt;

/// The handler's exit code, as DRBD reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FencePeerExit {
    /// 1: the handler failed; DRBD keeps I/O frozen (resource-and-stonith).
    Failed = 1,
    /// 3: the peer is already Outdated or worse.
    PeerOutdated = 3,
    /// 4: the peer is fenced (the constraint keeps it from being promoted).
    PeerFenced = 4,
    /// 5: the peer is unreachable, assumed dead.
    PeerUnreachable = 5,
    /// 6: outdate yourself: the peer has (or is known to have) better data.
    OutdateYourself = 6,
    /// 7: the peer was STONITHed.
    PeerStonithed = 7,
}

impl FencePeerExit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// How Pacemaker sees one peer that DRBD lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerReach {
    /// Online cluster member: only the replication link broke.
    Reachable,
    /// Cleanly down: fenced, or shut down (offline and not unclean).
    Fenced,
    /// Offline and unclean: fencing pending or failed.
    Unclean,
}

/// The local data, as drbd.ocf's facts put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalData {
    /// The resource is not configured (the handler was called for nothing).
    Unconfigured,
    AllUpToDate,
    /// Every volume at least Consistent, not all UpToDate.
    AllConsistent,
    /// Some volume Inconsistent, Outdated, Diskless, Failed, …
    NotConsistent,
}

/// A fencing constraint already in the CIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingConstraint {
    /// The nodes it still allows to be promoted (`#uname ne X` expressions).
    pub allowed: Vec<String>,
}

/// Everything the fence decision reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceSituation {
    /// A DC exists and the partition has quorum.
    pub dc_and_quorum: bool,
    /// This node's Pacemaker name.
    pub local_node: String,
    /// How Pacemaker sees each peer DRBD lost.
    pub peers: Vec<PeerReach>,
    pub local: LocalData,
    /// DRBD knows every lost peer's disk to be Outdated or worse.
    pub peers_known_outdated: bool,
    /// DRBD says every peer disk is UpToDate again (the link came back).
    pub peers_all_up_to_date: bool,
    pub existing: Option<ExistingConstraint>,
}

/// What the fence-peer handler does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceDecision {
    /// Place (or replace) the constraint allowing only this node to be promoted.
    pub place_constraint: bool,
    pub exit: FencePeerExit,
    /// One line for the log.
    pub reason: &'static str,
}

fn decision(place: bool, exit: FencePeerExit, reason: &'static str) -> FenceDecision {
    FenceDecision {
        place_constraint: place,
        exit,
        reason,
    }
}

/// The fence-peer decision (crm-fence-peer.9.sh `try_place_constraint` and its callers).
pub fn decide_fence(s: &FenceSituation) -> FenceDecision {
    use FencePeerExit::*;
    if let Some(c) = &s.existing {
        if c.allowed.len() == 1 && c.allowed[0] == s.local_node {
            return decision(false, PeerFenced, "suitable constraint already in place");
        }
        if !c.allowed.contains(&s.local_node) {
            // Someone else fenced us: their data is better than ours.
            return decision(
                false,
                OutdateYourself,
                "a fencing constraint rejects this node",
            );
        }
    }
    if !s.dc_and_quorum {
        return decision(
            false,
            Failed,
            "no DC or no quorum: did not place the constraint",
        );
    }
    if s.peers_all_up_to_date {
        return decision(
            false,
            Failed,
            "all peer disks are UpToDate: no constraint needed",
        );
    }
    if s.local == LocalData::Unconfigured {
        return decision(
            false,
            Failed,
            "resource not configured: did not place the constraint",
        );
    }
    if s.peers_known_outdated {
        return decision(
            false,
            PeerOutdated,
            "the peer's data is already Outdated or worse",
        );
    }
    let all_reachable = s.peers.iter().all(|p| *p == PeerReach::Reachable);
    let all_fenced = s.peers.iter().all(|p| *p == PeerReach::Fenced);
    let consistent = matches!(s.local, LocalData::AllUpToDate | LocalData::AllConsistent);
    if all_reachable && consistent {
        return decision(
            true,
            PeerFenced,
            "peers are reachable: placed the constraint",
        );
    }
    if all_fenced && s.local == LocalData::AllUpToDate {
        return decision(
            true,
            PeerStonithed,
            "peers are fenced: placed the constraint",
        );
    }
    if s.local == LocalData::AllUpToDate {
        return decision(
            true,
            PeerUnreachable,
            "a peer is unclean, local data UpToDate: placed the constraint",
        );
    }
    decision(
        false,
        PeerUnreachable,
        "a peer is unclean and local data is not UpToDate: did not place the constraint",
    )
}

/// What the unfence-peer handler does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnfenceDecision {
    /// No constraint: nothing to do.
    Nothing,
    /// Remove the constraint (everyone UpToDate).
    Remove,
    /// Some peers are UpToDate again: allow them too (replace the constraint).
    Narrow,
    /// Leave it (not ours, or not everyone UpToDate yet).
    Keep,
}

/// The unfence decision (crm-unfence-peer.9.sh with `--unfence-only-if-owner-match`).
pub fn decide_unfence(
    existing: Option<&ExistingConstraint>,
    local_node: &str,
    local_all_up_to_date: bool,
    peers_all_up_to_date: bool,
    up_to_date_nodes: &[String],
) -> UnfenceDecision {
    let Some(c) = existing else {
        return UnfenceDecision::Nothing;
    };
    if !c.allowed.iter().any(|n| n == local_node) {
        return UnfenceDecision::Keep;
    }
    if local_all_up_to_date && peers_all_up_to_date {
        return UnfenceDecision::Remove;
    }
    let mut want: Vec<&String> = up_to_date_nodes.iter().collect();
    want.sort();
    want.dedup();
    let mut have: Vec<&String> = c.allowed.iter().collect();
    have.sort();
    if want.is_empty() || want == have {
        UnfenceDecision::Keep
    } else {
        UnfenceDecision::Narrow
    }
}

/// The id of the fencing constraint for `resource` on `clone_id`.
pub fn constraint_id(resource: &str, clone_id: &str) -> String {
    format!("drbd-fence-by-handler-{resource}-{clone_id}")
}

/// The role name the CIB's schema uses for the promoted role: `Promoted` from
/// pacemaker-3.7 on, `Master` before.
pub fn promoted_role_name(validate_with: &str) -> &'static str {
    let v = validate_with.strip_prefix("pacemaker-").unwrap_or("");
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    if (major, minor) >= (3, 7) {
        "Promoted"
    } else {
        "Master"
    }
}

/// The `rsc_location` that forbids promotion of `clone_id` everywhere but on `allowed`
/// (`(node id, node name)` pairs; node ids are DRBD's, used in the expression ids as
/// crm-fence-peer does).
pub fn constraint_xml(
    resource: &str,
    clone_id: &str,
    role: &str,
    allowed: &[(u32, String)],
) -> String {
    use quick_xml::escape::escape;
    let id = constraint_id(resource, clone_id);
    let mut s = format!(
        "<rsc_location rsc=\"{}\" id=\"{}\">\n  <rule role=\"{}\" score=\"-INFINITY\" id=\"{}\"{}>\n",
        escape(clone_id),
        escape(&id),
        escape(role),
        escape(format!("drbd-fence-by-handler-{resource}-rule-{clone_id}")),
        if allowed.len() > 1 { " boolean-op=\"and\"" } else { "" }
    );
    for (node_id, name) in allowed {
        s.push_str(&format!(
            "    <expression attribute=\"#uname\" operation=\"ne\" value=\"{}\" id=\"{}\"/>\n",
            escape(name.as_str()),
            escape(format!(
                "drbd-fence-by-handler-{resource}-expr-{node_id}-{clone_id}"
            ))
        ));
    }
    s.push_str("  </rule>\n</rsc_location>\n");
    s
}

/// The XML naming the constraint, for `cibadmin --delete --xml-text`.
pub fn constraint_delete_xml(resource: &str, clone_id: &str) -> String {
    format!(
        "<rsc_location id=\"{}\"/>",
        quick_xml::escape::escape(constraint_id(resource, clone_id))
    )
}

/// What the fence handler needs from `cibadmin -Q`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CibFacts {
    /// The `validate-with` of the `<cib>` element.
    pub validate_with: String,
    /// The promotable clone (or legacy `<master>`) whose primitive has `drbd_resource=R`.
    pub clone_id: String,
    /// Our fencing constraint, when present.
    pub existing: Option<ExistingConstraint>,
}

/// Why the CIB or crm_mon XML did not give what we need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterXmlError {
    Parse(ParseError),
    /// No promotable clone runs a primitive with `drbd_resource=R`.
    NoClone {
        resource: String,
    },
    /// More than one does.
    AmbiguousClone {
        resource: String,
        clones: Vec<String>,
    },
}

impl fmt::Display for ClusterXmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterXmlError::Parse(e) => write!(f, "{e}"),
            ClusterXmlError::NoClone { resource } => write!(
                f,
                "no promotable clone with drbd_resource={} in the CIB",
                printable(resource, 60)
            ),
            ClusterXmlError::AmbiguousClone { resource, clones } => write!(
                f,
                "several promotable clones with drbd_resource={}: {}",
                printable(resource, 60),
                printable(&clones.join(", "), 120)
            ),
        }
    }
}

impl std::error::Error for ClusterXmlError {}

fn attr(
    e: &BytesStart<'_>,
    name: &str,
    source: &'static str,
) -> Result<Option<String>, ParseError> {
    for a in e.attributes() {
        let a = a.map_err(|err| ParseError::new(source, err.to_string(), ""))?;
        if a.key.as_ref() == name.as_bytes() {
            let v = a
                .unescape_value()
                .map_err(|err| ParseError::new(source, err.to_string(), ""))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn xml_error(source: &'static str, xml: &str, pos: u64, err: impl fmt::Display) -> ParseError {
    let at = (pos as usize).min(xml.len());
    let start = xml[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = xml[at..].find('\n').map_or(xml.len(), |i| at + i);
    ParseError::new(source, err.to_string(), xml.get(start..end).unwrap_or(""))
}

/// Reads `cibadmin -Q` output: the clone of `resource` and our constraint on it.
pub fn parse_cib(xml: &str, resource: &str) -> Result<CibFacts, ClusterXmlError> {
    const SRC: &str = "cibadmin -Q";
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut validate_with = String::new();
    // (clone id, promotable, holds our resource)
    let mut clone: Option<(String, bool, bool)> = None;
    let mut clones: Vec<String> = Vec::new();
    let mut constraints: Vec<(String, Vec<String>)> = Vec::new(); // (rsc, allowed) of our id
    let mut in_our_constraint: Option<usize> = None;
    let mut saw_cib = false;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| ClusterXmlError::Parse(xml_error(SRC, xml, pos, e)))?;
        let (e, empty) = match &ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                if name == "clone" || name == "master" {
                    if let Some((id, promotable, ours)) = clone.take() {
                        if ours && (promotable || name == "master") {
                            clones.push(id);
                        }
                    }
                }
                if name == "rsc_location" {
                    in_our_constraint = None;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let a = |k: &str| attr(e, k, SRC).map_err(ClusterXmlError::Parse);
        match name.as_str() {
            "cib" => {
                saw_cib = true;
                validate_with = a("validate-with")?.unwrap_or_default();
            }
            "clone" | "master" => {
                clone = Some((a("id")?.unwrap_or_default(), false, false));
            }
            "nvpair" => {
                let parent = stack.last().map(String::as_str).unwrap_or("");
                if let Some(c) = clone.as_mut() {
                    let n = a("name")?.unwrap_or_default();
                    let v = a("value")?.unwrap_or_default();
                    if parent == "meta_attributes"
                        && n == "promotable"
                        && matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on")
                        && stack
                            .iter()
                            .rev()
                            .nth(1)
                            .is_some_and(|g| g == "clone" || g == "master")
                    {
                        c.1 = true;
                    }
                    if parent == "instance_attributes"
                        && stack.iter().any(|s| s == "primitive")
                        && n == "drbd_resource"
                        && v == resource
                    {
                        c.2 = true;
                    }
                }
            }
            "rsc_location" => {
                let id = a("id")?.unwrap_or_default();
                let rsc = a("rsc")?.unwrap_or_default();
                if id.starts_with(&format!("drbd-fence-by-handler-{resource}-")) {
                    constraints.push((rsc, Vec::new()));
                    in_our_constraint = Some(constraints.len() - 1);
                }
            }
            "expression" => {
                if let Some(i) = in_our_constraint {
                    if a("attribute")?.as_deref() == Some("#uname")
                        && a("operation")?.as_deref() == Some("ne")
                    {
                        if let Some(v) = a("value")? {
                            constraints[i].1.push(v);
                        }
                    }
                }
            }
            _ => {}
        }
        if !empty {
            stack.push(name);
        } else if name == "rsc_location" {
            in_our_constraint = None;
        }
    }
    if !saw_cib {
        return Err(ClusterXmlError::Parse(ParseError::new(
            SRC,
            "no <cib> element",
            xml.lines().next().unwrap_or(""),
        )));
    }
    let clone_id = match clones.len() {
        1 => clones.remove(0),
        0 => {
            return Err(ClusterXmlError::NoClone {
                resource: resource.to_string(),
            })
        }
        _ => {
            return Err(ClusterXmlError::AmbiguousClone {
                resource: resource.to_string(),
                clones,
            })
        }
    };
    let existing = constraints
        .into_iter()
        .find(|(rsc, _)| *rsc == clone_id)
        .map(|(_, allowed)| ExistingConstraint { allowed });
    Ok(CibFacts {
        validate_with,
        clone_id,
        existing,
    })
}

/// One node as `crm_mon --output-as xml` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub name: String,
    pub id: String,
    pub online: bool,
    pub unclean: bool,
    pub expected_up: bool,
}

impl NodeView {
    /// Reachability as the fence decision needs it.
    pub fn reach(&self) -> PeerReach {
        if self.online {
            PeerReach::Reachable
        } else if self.unclean {
            PeerReach::Unclean
        } else {
            PeerReach::Fenced
        }
    }
}

/// What the fence handler needs from `crm_mon --output-as xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    pub dc_present: bool,
    pub with_quorum: bool,
    pub nodes: Vec<NodeView>,
}

impl ClusterView {
    pub fn node(&self, name: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// Reads `crm_mon --output-as xml` (Pacemaker 2.1: `<pacemaker-result>`; older
/// `crm_mon --as-xml`: `<crm_mon>`).
pub fn parse_crm_mon(xml: &str) -> Result<ClusterView, ParseError> {
    const SRC: &str = "crm_mon --output-as xml";
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut view = ClusterView {
        dc_present: false,
        with_quorum: false,
        nodes: Vec::new(),
    };
    let mut saw_root = false;
    let flag = |v: Option<String>| v.as_deref() == Some("true");
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| xml_error(SRC, xml, pos, e))?;
        let (e, empty) = match &ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        match name.as_str() {
            "pacemaker-result" | "crm_mon" if stack.is_empty() => saw_root = true,
            "current_dc" => {
                view.dc_present = flag(attr(e, "present", SRC)?);
                view.with_quorum = flag(attr(e, "with_quorum", SRC)?);
            }
            "node" if stack.last().map(String::as_str) == Some("nodes") => {
                let node = NodeView {
                    name: attr(e, "name", SRC)?
                        .ok_or_else(|| ParseError::new(SRC, "node without a name", ""))?,
                    id: attr(e, "id", SRC)?.unwrap_or_default(),
                    online: flag(attr(e, "online", SRC)?),
                    unclean: flag(attr(e, "unclean", SRC)?),
                    expected_up: flag(attr(e, "expected_up", SRC)?),
                };
                view.nodes.push(node);
            }
            _ => {}
        }
        if !empty {
            stack.push(name);
        }
    }
    if !saw_root {
        return Err(ParseError::new(
            SRC,
            "not crm_mon XML",
            xml.lines().next().unwrap_or(""),
        ));
    }
    if !stack.is_empty() {
        return Err(ParseError::new(SRC, "output truncated", ""));
    }
    Ok(view)
}

/// Parses DRBD's `UP_TO_DATE_NODES=0x%08llX` handler variable into node ids.
pub fn parse_up_to_date_nodes(value: &str) -> Result<Vec<u32>, ParseError> {
    let hex = value
        .trim()
        .strip_prefix("0x")
        .or_else(|| value.trim().strip_prefix("0X"))
        .ok_or_else(|| ParseError::new("UP_TO_DATE_NODES", "not 0x-hex", value))?;
    let mask = u64::from_str_radix(hex, 16)
        .map_err(|_| ParseError::new("UP_TO_DATE_NODES", "not 0x-hex", value))?;
    Ok((0..64).filter(|b| mask & (1u64 << b) != 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation() -> FenceSituation {
        FenceSituation {
            dc_and_quorum: true,
            local_node: "node1".into(),
            peers: vec![PeerReach::Reachable],
            local: LocalData::AllUpToDate,
            peers_known_outdated: false,
            peers_all_up_to_date: false,
            existing: None,
        }
    }

    #[test]
    fn exit_codes_per_case() {
        let s = situation();
        assert_eq!(decide_fence(&s).exit, FencePeerExit::PeerFenced);
        assert!(decide_fence(&s).place_constraint);
        let s2 = FenceSituation {
            local: LocalData::AllConsistent,
            ..situation()
        };
        assert_eq!(decide_fence(&s2).exit, FencePeerExit::PeerFenced);
        let s3 = FenceSituation {
            peers: vec![PeerReach::Fenced],
            ..situation()
        };
        assert_eq!(decide_fence(&s3).exit, FencePeerExit::PeerStonithed);
        let s4 = FenceSituation {
            peers: vec![PeerReach::Unclean],
            ..situation()
        };
        assert_eq!(
            decide_fence(&s4),
            decision(
                true,
                FencePeerExit::PeerUnreachable,
                "a peer is unclean, local data UpToDate: placed the constraint"
            )
        );
        let s5 = FenceSituation {
            peers: vec![PeerReach::Unclean],
            local: LocalData::AllConsistent,
            ..situation()
        };
        assert!(!decide_fence(&s5).place_constraint);
        assert_eq!(decide_fence(&s5).exit, FencePeerExit::PeerUnreachable);
        let s6 = FenceSituation {
            peers_known_outdated: true,
            ..situation()
        };
        assert_eq!(decide_fence(&s6).exit, FencePeerExit::PeerOutdated);
        let s7 = FenceSituation {
            existing: Some(ExistingConstraint {
                allowed: vec!["node2".into()],
            }),
            ..situation()
        };
        assert_eq!(decide_fence(&s7).exit, FencePeerExit::OutdateYourself);
        let s8 = FenceSituation {
            dc_and_quorum: false,
            ..situation()
        };
        assert_eq!(decide_fence(&s8).exit, FencePeerExit::Failed);
        assert!(!decide_fence(&s8).place_constraint);
    }

    #[test]
    fn never_places_a_constraint_for_data_that_is_not_consistent() {
        for local in [
            LocalData::NotConsistent,
            LocalData::Unconfigured,
            LocalData::AllConsistent,
        ] {
            for peer in [PeerReach::Reachable, PeerReach::Fenced, PeerReach::Unclean] {
                let s = FenceSituation {
                    local,
                    peers: vec![peer],
                    ..situation()
                };
                let d = decide_fence(&s);
                let allowed = local == LocalData::AllConsistent && peer == PeerReach::Reachable;
                assert_eq!(d.place_constraint, allowed, "{local:?} {peer:?}");
            }
        }
    }

    #[test]
    fn constraint_xml_shape() {
        let x = constraint_xml("r0", "mailstore-clone", "Promoted", &[(0, "node1".into())]);
        assert_eq!(
            x,
            "<rsc_location rsc=\"mailstore-clone\" id=\"drbd-fence-by-handler-r0-mailstore-clone\">\n  <rule role=\"Promoted\" score=\"-INFINITY\" id=\"drbd-fence-by-handler-r0-rule-mailstore-clone\">\n    <expression attribute=\"#uname\" operation=\"ne\" value=\"node1\" id=\"drbd-fence-by-handler-r0-expr-0-mailstore-clone\"/>\n  </rule>\n</rsc_location>\n"
        );
        assert_eq!(
            constraint_delete_xml("r0", "c"),
            "<rsc_location id=\"drbd-fence-by-handler-r0-c\"/>"
        );
        assert_eq!(promoted_role_name("pacemaker-3.8"), "Promoted");
        assert_eq!(promoted_role_name("pacemaker-3.6"), "Master");
        assert_eq!(promoted_role_name("pacemaker-2.10"), "Master");
    }

    #[test]
    fn up_to_date_nodes_mask() {
        assert_eq!(parse_up_to_date_nodes("0x00000005").unwrap(), vec![0, 2]);
        assert!(parse_up_to_date_nodes("5").is_err());
    }

    #[test]
    fn unfence_decisions() {
        let c = ExistingConstraint {
            allowed: vec!["node1".into()],
        };
        assert_eq!(
            decide_unfence(None, "node1", true, true, &[]),
            UnfenceDecision::Nothing
        );
        assert_eq!(
            decide_unfence(Some(&c), "node1", true, true, &[]),
            UnfenceDecision::Remove
        );
        assert_eq!(
            decide_unfence(Some(&c), "node2", true, true, &[]),
            UnfenceDecision::Keep
        );
        assert_eq!(
            decide_unfence(Some(&c), "node1", true, false, &["node1".into()]),
            UnfenceDecision::Keep
        );
        assert_eq!(
            decide_unfence(
                Some(&c),
                "node1",
                true,
                false,
                &["node1".into(), "node3".into()]
            ),
            UnfenceDecision::Narrow
        );
    }
}
