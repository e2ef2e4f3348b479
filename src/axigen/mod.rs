//! Axigen: what the `axigen` resource agent needs to know of the mail server.
//!
//! Axigen ships no pidfile and no OCF agent; what is known of it (`/opt/axigen/bin/axigen`, a
//! supervisor that restarts its children, the data directory `/var/opt/axigen` with
//! `run/axigen.cfg`, listeners SMTP 25 / IMAP 143 / POP3 110 / webmail 80 / CLI 7000, the CLI's
//! banner, prompts and reply grammar) is the only contract this module relies on.
//!
//! - [`config`]: the listeners, parsed from `run/axigen.cfg` (pure) or Axigen's defaults;
//! - [`probe`]: one TCP connection per listener, greeting checked per protocol (depth 10);
//! - [`cli`]: the CLI client (banner, `USER` login, one read-only command, `EXIT`; depth 20);
//! - [`procs`]: finding the supervisor and every process of the server through `/proc`
//!   (depth 0), starting it detached, and stopping it with escalation;
//! - [`datadir`]: the data-directory checks done before a start;
//! - [`service`]: the agent's settings (parsed from its parameters) and its start, stop and
//!   depth-0/10/20 checks, each failure classed for the agent to map onto an exit code.
//!
//! Nothing here decides an exit code: the agent maps outcomes to OCF codes. Every blocking call
//! takes its time limit from a [`crate::deadline::Deadline`].

pub mod cli;
pub mod config;
pub mod datadir;
pub mod probe;
pub mod procs;
pub mod service;

pub use cli::{CliError, CliReply, CliSession};
pub use config::{default_listeners, listeners_from_file, parse_config, ConfigError};
pub use datadir::{check_data_dir, DataDirProblem};
pub use probe::{
    probe, probe_all, verdict, Listener, ListenerKind, ListenersVerdict, ProbeOutcome, ProbeReport,
    Protocol,
};
pub use procs::{
    find_supervisor, scan, start_detached, stop, AxigenProcs, Identity, ProcInfo, RunAs, StartSpec,
    StopOptions, StopReport,
};

/// Where Axigen lives when the administrator does not say otherwise.
pub const DEFAULT_BINARY: &str = "/opt/axigen/bin/axigen";
/// The data directory the replicated filesystem carries.
pub const DEFAULT_DATA_DIR: &str = "/var/opt/axigen";
/// The configuration file, relative to the data directory.
pub const CONFIG_FILE: &str = "run/axigen.cfg";
/// The CLI's TCP port.
pub const DEFAULT_CLI_PORT: u16 = 7000;
