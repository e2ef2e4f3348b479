//! `bulwark-drbd-fence-peer` / `bulwark-drbd-unfence-peer`: DRBD's fence-peer and
//! unfence-peer handlers for `fencing resource-and-stonith` under Pacemaker. One binary: the
//! unfence handler is a symlink named `bulwark-drbd-unfence-peer` (packaging installs it;
//! Cargo cannot build symlinks), or this binary run with `--unfence`.
//!
//! Exit codes are DRBD's (`FencePeerExit`): 3 peer already outdated, 4 peer fenced by the
//! constraint, 5 peer unreachable, 6 outdate yourself, 7 peer STONITHed, 1 failure; the
//! unfence handler exits 0 or 1. The one line saying why goes to stderr (DRBD logs it).

use bulwark::drbd::handler::{run, ClusterTools, HandlerEnv, Options};
use bulwark::drbd::DrbdTools;

fn main() {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    let invoked_as = argv0.rsplit('/').next().unwrap_or("").to_string();
    let rest: Vec<String> = args.collect();
    let tag = if invoked_as.is_empty() {
        "bulwark-drbd-fence-peer".to_string()
    } else {
        invoked_as.clone()
    };
    let opts = match Options::parse(&invoked_as, &rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{tag}: {e}");
            std::process::exit(1);
        }
    };
    let env = match HandlerEnv::from_vars(std::env::vars()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{tag}: {e}");
            std::process::exit(1);
        }
    };
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let result = run(
        &opts,
        &env,
        &DrbdTools::from_env(),
        &ClusterTools::from_env(),
        &hostname,
    );
    eprintln!("{tag}: {} (exit {})", result.message, result.code);
    std::process::exit(result.code);
}
