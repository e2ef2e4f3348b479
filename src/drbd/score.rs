//! The promotion score: which node Pacemaker may promote, as a pure function of the DRBD
//! state and the agent's parameters.
//!
//! The table is drbd.ocf's `drbd_update_master_score` (LINBIT/drbd-utils `scripts/drbd.ocf`),
//! evaluated in order, with the defaults `adjust_master_score="0 10 1000 10000"`:
//!
//! | Condition | Score |
//! |---|---|
//! | no quorum | removed |
//! | `remove_master_score_if_peer_primary`: Secondary, a peer Primary, some peer all UpToDate | removed |
//! | diskless client: Primary and some peer all UpToDate, or all peers all UpToDate | as_good − 1 (9999) |
//! | diskless client: some peer all UpToDate | local_ok − 1 (999) |
//! | diskless client: otherwise | removed |
//! | all local UpToDate, Primary | as_good (10000) |
//! | all local UpToDate, Secondary, some peer disk unknown | local_ok (1000) |
//! | all local UpToDate, Secondary, all peer disks known | as_good (10000) |
//! | some peer all UpToDate | only_remote (10) |
//! | local Attaching/Negotiating | unchanged |
//! | all local Consistent | only_consistent (0 ⇒ removed) |
//! | otherwise (Inconsistent, Outdated, Diskless, Failed, …) | removed |
//!
//! A score ≤ 0 is always a removal: negative promotion scores made Pacemaker stop and start
//! the instance. The facts each row reads are [`crate::drbd::StatusFacts`]; see there for the
//! three places where Bulwark is stricter than drbd.ocf.

use super::status::{DrbdStatus, StatusFacts};
use std::fmt;

/// The four `adjust_master_score` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterScores {
    /// Every local disk Consistent (not known UpToDate): default 0, i.e. do not promote.
    pub only_consistent: u32,
    /// Local data not usable, but a peer has it all UpToDate: default 10.
    pub only_remote: u32,
    /// Local data UpToDate, peer's unknown: default 1000.
    pub local_ok: u32,
    /// Local data UpToDate and nobody can be better: default 10000.
    pub as_good_as_it_gets: u32,
}

impl Default for MasterScores {
    fn default() -> Self {
        MasterScores {
            only_consistent: 0,
            only_remote: 10,
            local_ok: 1000,
            as_good_as_it_gets: 10000,
        }
    }
}

/// A configuration error in a parameter: the agent reports it (OCF_ERR_CONFIGURED) rather
/// than silently falling back to a default as drbd.ocf did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub parameter: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.parameter, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl MasterScores {
    /// The default value of the `adjust_master_score` parameter.
    pub const DEFAULT_TEXT: &'static str = "0 10 1000 10000";

    /// Parses `adjust_master_score`: exactly four non-negative, non-decreasing integers
    /// separated by white space.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError {
            parameter: "adjust_master_score",
            problem,
        };
        let shown = super::status::printable(text, 60);
        let mut values = Vec::with_capacity(4);
        for word in text.split_whitespace() {
            if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!(
                    "\"{}\" in \"{shown}\" is not a non-negative integer",
                    super::status::printable(word, 20)
                )));
            }
            let v: u32 = word
                .parse()
                .map_err(|_| err(format!("\"{word}\" in \"{shown}\" is too large")))?;
            values.push(v);
        }
        if values.len() != 4 {
            return Err(err(format!(
                "expected 4 values (only_consistent only_remote local_ok as_good_as_it_gets), found {} in \"{shown}\"",
                values.len()
            )));
        }
        if values.windows(2).any(|w| w[0] > w[1]) {
            return Err(err(format!("values must not decrease: \"{shown}\"")));
        }
        Ok(MasterScores {
            only_consistent: values[0],
            only_remote: values[1],
            local_ok: values[2],
            as_good_as_it_gets: values[3],
        })
    }
}

/// `remove_master_score_if_peer_primary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerPrimaryRule {
    /// Default: a Primary peer does not change the score (Pacemaker may know the peer died
    /// before DRBD does; removing the score would delay failover).
    #[default]
    Never,
    /// Remove the score while connected to a healthy Primary peer.
    Always,
    /// Remove it only when Pacemaker does not know about that Primary (`unexpected`).
    IfUnexpected,
}

impl PeerPrimaryRule {
    /// Parses the parameter: an OCF boolean, or the literal `unexpected`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "no" | "false" | "off" | "n" | "f" => Ok(PeerPrimaryRule::Never),
            "1" | "yes" | "true" | "on" | "y" | "t" => Ok(PeerPrimaryRule::Always),
            "unexpected" => Ok(PeerPrimaryRule::IfUnexpected),
            _ => Err(ConfigError {
                parameter: "remove_master_score_if_peer_primary",
                problem: format!(
                    "\"{}\" is neither a boolean nor \"unexpected\"",
                    super::status::printable(text, 30)
                ),
            }),
        }
    }
}

/// Everything besides the DRBD state that the score depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScorePolicy {
    pub scores: MasterScores,
    pub remove_if_peer_primary: PeerPrimaryRule,
    /// `unfence_if_all_uptodate`: ask for the unfence handler when Primary and everyone is
    /// UpToDate.
    pub unfence_if_all_uptodate: bool,
    /// The clone's `promoted-max` (`unexpected` applies to single-Primary setups only).
    pub promoted_max: u32,
    /// Whether Pacemaker knows of a promoted instance on another node
    /// (`crm_resource --locate`). Only read for [`PeerPrimaryRule::IfUnexpected`]; ask
    /// [`needs_pacemaker_view`] before spending a `crm_resource` call on it. `None` (not
    /// asked, or the call failed) counts as "knows none", as in drbd.ocf: the safe side.
    pub pacemaker_knows_promoted_peer: Option<bool>,
}

impl Default for ScorePolicy {
    fn default() -> Self {
        ScorePolicy {
            scores: MasterScores::default(),
            remove_if_peer_primary: PeerPrimaryRule::Never,
            unfence_if_all_uptodate: false,
            promoted_max: 1,
            pacemaker_knows_promoted_peer: None,
        }
    }
}

/// What to do with the node's promotion score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreAction {
    /// Set it to this value (always > 0).
    Set(u32),
    /// Delete the attribute (the node must not be promoted).
    Remove,
    /// Leave it as it is (the disk is attaching or negotiating).
    Keep,
}

/// Which row of the table decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreRule {
    NoQuorum,
    PeerPrimary,
    UnexpectedPeerPrimary,
    DisklessClientAllGood,
    DisklessClientSomePeerGood,
    DisklessClientNoData,
    UpToDatePrimary,
    UpToDatePeerUnknown,
    UpToDatePeersKnown,
    OnlyRemote,
    Transitional,
    OnlyConsistent,
    NoGoodData,
}

impl ScoreRule {
    /// A short explanation for logs.
    pub fn describe(self) -> &'static str {
        match self {
            ScoreRule::NoQuorum => "no quorum",
            ScoreRule::PeerPrimary => "connected to a Primary peer with UpToDate data",
            ScoreRule::UnexpectedPeerPrimary => "a peer is Primary without Pacemaker knowing",
            ScoreRule::DisklessClientAllGood => "diskless client with UpToDate peers",
            ScoreRule::DisklessClientSomePeerGood => "diskless client, some peer UpToDate",
            ScoreRule::DisklessClientNoData => "diskless client without access to UpToDate data",
            ScoreRule::UpToDatePrimary => "Primary with UpToDate data",
            ScoreRule::UpToDatePeerUnknown => "UpToDate, peer disk state unknown",
            ScoreRule::UpToDatePeersKnown => "UpToDate, peer disk states known",
            ScoreRule::OnlyRemote => "local data not UpToDate, a peer has UpToDate data",
            ScoreRule::Transitional => "disk attaching or negotiating",
            ScoreRule::OnlyConsistent => "data Consistent, not known to be UpToDate",
            ScoreRule::NoGoodData => "no access to UpToDate data",
        }
    }
}

/// The verdict of [`promotion_score`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreDecision {
    pub action: ScoreAction,
    pub rule: ScoreRule,
    /// Call the unfence-peer handler (Primary, everyone UpToDate, `unfence_if_all_uptodate`).
    pub unfence: bool,
}

fn decide(rule: ScoreRule, score: u32) -> ScoreDecision {
    ScoreDecision {
        action: if score == 0 {
            ScoreAction::Remove
        } else {
            ScoreAction::Set(score)
        },
        rule,
        unfence: false,
    }
}

fn remove(rule: ScoreRule) -> ScoreDecision {
    ScoreDecision {
        action: ScoreAction::Remove,
        rule,
        unfence: false,
    }
}

/// True when [`promotion_score`] will read `pacemaker_knows_promoted_peer` for this state:
/// the agent calls `crm_resource --locate` only then.
pub fn needs_pacemaker_view(status: &DrbdStatus, policy: &ScorePolicy) -> bool {
    let f = status.facts();
    policy.remove_if_peer_primary == PeerPrimaryRule::IfUnexpected
        && f.have_quorum
        && peer_primary_applies(&f)
}

fn peer_primary_applies(f: &StatusFacts) -> bool {
    !f.primary && f.some_peer_primary && f.some_peer_all_up_to_date
}

/// The promotion score for this node. Pure: the same state and policy always give the same
/// decision.
pub fn promotion_score(status: &DrbdStatus, policy: &ScorePolicy) -> ScoreDecision {
    score_from_facts(&status.facts(), policy)
}

/// [`promotion_score`] on already derived facts.
pub fn score_from_facts(f: &StatusFacts, policy: &ScorePolicy) -> ScoreDecision {
    let s = &policy.scores;
    if !f.have_quorum {
        return remove(ScoreRule::NoQuorum);
    }
    if peer_primary_applies(f) {
        match policy.remove_if_peer_primary {
            PeerPrimaryRule::Never => {}
            PeerPrimaryRule::Always => return remove(ScoreRule::PeerPrimary),
            PeerPrimaryRule::IfUnexpected => {
                let unexpected = policy.promoted_max == 1
                    && !policy.pacemaker_knows_promoted_peer.unwrap_or(false);
                if unexpected {
                    return remove(ScoreRule::UnexpectedPeerPrimary);
                }
            }
        }
    }
    if f.diskless_client {
        return if (f.primary && f.some_peer_all_up_to_date) || f.pdsk_all_up_to_date {
            decide(
                ScoreRule::DisklessClientAllGood,
                s.as_good_as_it_gets.saturating_sub(1),
            )
        } else if f.some_peer_all_up_to_date {
            decide(
                ScoreRule::DisklessClientSomePeerGood,
                s.local_ok.saturating_sub(1),
            )
        } else {
            remove(ScoreRule::DisklessClientNoData)
        };
    }
    if f.disk_all_up_to_date {
        if f.primary {
            let mut d = decide(ScoreRule::UpToDatePrimary, s.as_good_as_it_gets);
            d.unfence = policy.unfence_if_all_uptodate && f.pdsk_all_up_to_date;
            return d;
        }
        return if f.pdsk_any_unknown {
            decide(ScoreRule::UpToDatePeerUnknown, s.local_ok)
        } else {
            decide(ScoreRule::UpToDatePeersKnown, s.as_good_as_it_gets)
        };
    }
    if f.some_peer_all_up_to_date {
        return decide(ScoreRule::OnlyRemote, s.only_remote);
    }
    if f.disk_transitional {
        return ScoreDecision {
            action: ScoreAction::Keep,
            rule: ScoreRule::Transitional,
            unfence: false,
        };
    }
    if f.disk_all_consistent {
        return decide(ScoreRule::OnlyConsistent, s.only_consistent);
    }
    remove(ScoreRule::NoGoodData)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjust_master_score_parsing() {
        assert_eq!(
            MasterScores::parse(MasterScores::DEFAULT_TEXT).unwrap(),
            MasterScores::default()
        );
        assert_eq!(
            MasterScores::parse(" 5\t10 10 20 ")
                .unwrap()
                .only_consistent,
            5
        );
        for bad in [
            "",
            "0 10 1000",
            "0 10 1000 10000 5",
            "0 10 1000 999",
            "0 -1 1000 10000",
            "0 1e1 1000 10000",
            "0 10 1000 99999999999",
            "a b c d",
        ] {
            let e = MasterScores::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "adjust_master_score");
        }
    }

    #[test]
    fn peer_primary_rule_parsing() {
        assert_eq!(PeerPrimaryRule::parse("false"), Ok(PeerPrimaryRule::Never));
        assert_eq!(PeerPrimaryRule::parse("Yes"), Ok(PeerPrimaryRule::Always));
        assert_eq!(
            PeerPrimaryRule::parse("unexpected"),
            Ok(PeerPrimaryRule::IfUnexpected)
        );
        assert!(PeerPrimaryRule::parse("sometimes").is_err());
    }
}
