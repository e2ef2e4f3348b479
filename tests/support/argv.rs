//! Secrets must never be on any command line: scans of every `/proc/*/cmdline`, once
//! ([`argv_holding`]) or on a background thread while a test runs agents ([`ArgvWatch`]).
//! A hit names the process by PID and argv size only, so a failing test never prints the
//! secret it found.
//!
//! `support/bmc.rs` runs its agents under an [`ArgvWatch`] too.

#![allow(dead_code)]

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// One pass over every process: the hits (processes whose argv holds any of `needles`) and
/// how many processes' argv holds `marker`.
fn scan(needles: &[Vec<u8>], marker: &[u8], hits: &mut Vec<String>) -> usize {
    let mut marked = 0;
    let Ok(dir) = fs::read_dir("/proc") else {
        return 0;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if needles.iter().any(|n| contains(&cmdline, n)) {
            hits.push(format!("PID {pid}: {} bytes of argv", cmdline.len()));
        }
        if contains(&cmdline, marker) {
            marked += 1;
        }
    }
    marked
}

fn needles(secrets: &[&str]) -> Vec<Vec<u8>> {
    for s in secrets {
        assert!(s.len() >= 6, "too short a needle to scan for");
    }
    secrets.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// The processes running now whose argv holds `secret` (empty is the only good answer).
pub fn argv_holding(secret: &str) -> Vec<String> {
    let mut hits = Vec::new();
    scan(&needles(&[secret]), b"", &mut hits);
    hits
}

/// Scans every `/proc/*/cmdline` on a background thread until dropped or [`ArgvWatch::stop`]
/// is called, recording each process whose command line contains a needle (a password).
pub struct ArgvWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Watched>>,
}

/// What an [`ArgvWatch`] saw.
#[derive(Debug, Default)]
pub struct Watched {
    /// Processes with a needle in argv (shown without it).
    pub hits: Vec<String>,
    /// Full scans of /proc.
    pub scans: usize,
    /// Sightings of a process whose argv holds the marker.
    pub marked: usize,
}

impl Watched {
    /// No process held a secret, and the marked process (the agent) was seen alive at least
    /// once, so the clean result means something.
    pub fn assert_clean(&self) {
        assert!(
            self.marked > 0,
            "the argv watch never saw the agent running"
        );
        assert!(self.hits.is_empty(), "secret in argv: {:?}", self.hits);
    }
}

impl ArgvWatch {
    pub fn start(needle: &str) -> ArgvWatch {
        ArgvWatch::start_marked(needle, "\0never\0")
    }

    /// Also counts the processes seen whose argv contains `marker` (the agent's name), so a
    /// test can show that the watch saw the agent alive.
    pub fn start_marked(needle: &str, marker: &str) -> ArgvWatch {
        ArgvWatch::start_any(&[needle], marker)
    }

    /// [`ArgvWatch::start_marked`] for several secrets at once (community, auth and privacy
    /// passphrases).
    pub fn start_any(secrets: &[&str], marker: &str) -> ArgvWatch {
        let needles = needles(secrets);
        let marker = marker.as_bytes().to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut w = Watched::default();
            loop {
                // One more full pass after the stop request, so a short-lived process that
                // ran until just now has been seen at least once while alive.
                let last = flag.load(Ordering::SeqCst);
                w.marked += scan(&needles, &marker, &mut w.hits);
                w.scans += 1;
                if last {
                    return w;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        ArgvWatch {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops scanning; returns what it saw (the scan count lets a test assert the watch ran).
    pub fn stop(mut self) -> Watched {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map(|t| t.join().expect("argv watch thread"))
            .unwrap_or_default()
    }
}

impl Drop for ArgvWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
