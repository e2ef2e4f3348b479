//! DRBD: the replicated block device under the mail store.
//!
//! Domain code for the `drbd` promotable agent and the DRBD peer-fence handler; no exit
//! codes are decided here.
//!
//! - [`status`]: the typed model ([`DrbdStatus`]) and the facts scoring reads;
//! - [`events2`], [`json`], [`sh_status`]: parsers for DRBD 9 `events2 --now`,
//!   `status --json` and DRBD 8.4 `sh-status`, all into the same model, strict about names;
//! - [`version`]: which DRBD the kernel runs;
//! - [`score`]: the promotion score table of LINBIT's drbd.ocf as a pure function;
//! - [`cmd`]: `drbdadm`/`drbdsetup` calls bounded by a [`crate::deadline::Deadline`], with
//!   DRBD's exit codes typed;
//! - [`holders`]: who holds a device open, for demote/stop failures;
//! - [`agent`]: one resource on this node (cheap state reading, attach, holders) and the
//!   agent's pure checks (resource name, clone meta, promote throttle, outdate-self);
//! - [`fence_peer`]: the decisions and CIB XML of the fence-peer / unfence-peer handlers.

pub mod agent;
pub mod cmd;
pub mod events2;
pub mod fence_peer;
pub mod holders;
pub mod json;
pub mod score;
pub mod sh_status;
pub mod status;
pub mod version;

pub use cmd::{DrbdError, DrbdTools, ExitKind, StatusSource};
pub use events2::parse_events2;
pub use json::parse_status_json;
pub use score::{
    needs_pacemaker_view, promotion_score, score_from_facts, ConfigError, MasterScores,
    PeerPrimaryRule, ScoreAction, ScoreDecision, ScorePolicy, ScoreRule,
};
pub use sh_status::parse_sh_status;
pub use status::{
    ConnectionState, DiskState, DrbdStatus, ParseError, Peer, PeerVolume, ReplicationState, Role,
    StatusFacts, Volume,
};
pub use version::{DrbdVersion, ToolVersions};
