//! Logging in the manner of resource-agents' `ocf_log`.
//!
//! Lines are tagged `<agent>(<instance>)[<pid>]` and go to syslog when `HA_LOGFACILITY` names a
//! facility, appended to `HA_LOGFILE` / `PCMK_logfile` when set, and to stderr when stderr is a
//! terminal or nothing else is configured. Debug lines appear only when `HA_debug` is set and
//! not `0`. Fence agents use the same logger with `PCMK_service` tags.

use std::ffi::CString;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
    Debug,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warning => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
    fn syslog_priority(self) -> libc::c_int {
        match self {
            Level::Error => libc::LOG_ERR,
            Level::Warning => libc::LOG_WARNING,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        }
    }
}

/// Where log lines go; decided once per invocation from the environment.
#[derive(Debug, Clone)]
pub struct Logger {
    tag: String,
    syslog: bool,
    logfile: Option<String>,
    debuglog: Option<String>,
    stderr: bool,
    debug: bool,
}

fn facility(name: &str) -> Option<libc::c_int> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "daemon" => libc::LOG_DAEMON,
        "user" => libc::LOG_USER,
        "auth" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "uucp" => libc::LOG_UUCP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Logger {
    /// A logger tagged `<agent>(<instance>)[<pid>]` (or `<agent>[<pid>]` without an instance).
    pub fn from_env(agent: &str, instance: Option<&str>) -> Logger {
        let pid = std::process::id();
        let tag = match instance {
            Some(i) if !i.is_empty() => format!("{agent}({i})[{pid}]"),
            _ => format!("{agent}[{pid}]"),
        };
        let syslog = match env_nonempty("HA_LOGFACILITY").as_deref().and_then(facility) {
            Some(fac) => {
                // openlog keeps the pointer: the ident must live as long as the process.
                if let Ok(ident) = CString::new(tag.clone()) {
                    let ident: &'static CString = Box::leak(Box::new(ident));
                    // SAFETY: ident is a valid NUL-terminated string that is never freed.
                    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_NDELAY, fac) };
                    true
                } else {
                    false
                }
            }
            None => false,
        };
        let logfile = env_nonempty("HA_LOGFILE").or_else(|| env_nonempty("PCMK_logfile"));
        let debuglog = env_nonempty("HA_DEBUGLOG");
        let debug = env_nonempty("HA_debug").is_some_and(|v| v.trim() != "0");
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
        let stderr = tty || (!syslog && logfile.is_none());
        Logger {
            tag,
            syslog,
            logfile,
            debuglog,
            stderr,
            debug,
        }
    }

    /// A DRBD handler's logger: DRBD's usermode helper gives the handler no useful stderr, so
    /// lines go to syslog under `facility` (crm-fence-peer.9.sh: `--logfacility`, local5) and
    /// to stderr (for a handler run by hand or by a test).
    pub fn handler(agent: &str, facility_name: &str) -> Logger {
        let tag = format!("{agent}[{}]", std::process::id());
        let syslog = match (facility(facility_name), CString::new(tag.clone())) {
            (Some(fac), Ok(ident)) => {
                // openlog keeps the pointer: the ident must live as long as the process.
                let ident: &'static CString = Box::leak(Box::new(ident));
                // SAFETY: ident is a valid NUL-terminated string that is never freed.
                unsafe { libc::openlog(ident.as_ptr(), libc::LOG_NDELAY, fac) };
                true
            }
            _ => false,
        };
        Logger {
            tag,
            syslog,
            logfile: None,
            debuglog: None,
            stderr: true,
            debug: false,
        }
    }

    /// A logger that writes nowhere (unit tests, `meta-data`).
    pub fn silent() -> Logger {
        Logger {
            tag: String::new(),
            syslog: false,
            logfile: None,
            debuglog: None,
            stderr: false,
            debug: false,
        }
    }

    /// Fence agents' `verbose` / `debug_file` / `quiet`: debug lines to stderr and/or a file,
    /// or nothing on stderr at all.
    pub fn configure(mut self, verbose: bool, debug_file: Option<String>, quiet: bool) -> Logger {
        if verbose || debug_file.is_some() {
            self.debug = true;
        }
        if debug_file.is_some() {
            self.debuglog = debug_file;
        }
        if verbose {
            self.stderr = true;
        }
        if quiet {
            self.stderr = false;
        }
        self
    }

    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    pub fn log(&self, level: Level, msg: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let line = format!("{}: {}", level.label(), msg);
        if self.syslog {
            if let Ok(c) = CString::new(line.replace('\0', " ")) {
                // SAFETY: "%s" with one valid C string argument.
                unsafe { libc::syslog(level.syslog_priority(), c"%s".as_ptr(), c.as_ptr()) };
            }
        }
        let file = if level == Level::Debug {
            self.debuglog.as_ref().or(self.logfile.as_ref())
        } else {
            self.logfile.as_ref()
        };
        if let Some(path) = file {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                let _ = writeln!(f, "{} {}: {}", timestamp(), self.tag, line);
            }
        }
        if self.stderr {
            let _ = writeln!(std::io::stderr(), "{}: {}", self.tag, line);
        }
    }

    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg)
    }
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warning, msg)
    }
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg)
    }
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg)
    }
}

/// `Nov 25 07:16:59`, the syslog-style local time ocf_log writes into HA_LOGFILE.
fn timestamp() -> String {
    let mut buf = [0u8; 64];
    // SAFETY: time/localtime_r/strftime with valid, sized buffers.
    let len = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%b %d %T".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_by_name() {
        assert_eq!(facility("daemon"), Some(libc::LOG_DAEMON));
        assert_eq!(facility("LOCAL7"), Some(libc::LOG_LOCAL7));
        assert_eq!(facility("none"), None);
    }

    #[test]
    fn logfile_lines_are_tagged_and_debug_is_gated() {
        let dir = std::env::temp_dir().join(format!("bulwark-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ha.log");
        let mut l = Logger::silent();
        l.tag = "vip(test)[1]".into();
        l.logfile = Some(path.to_string_lossy().into_owned());
        l.info("added 10.0.0.1/24");
        l.debug("hidden");
        l.debug = true;
        l.debug("shown");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("vip(test)[1]: INFO: added 10.0.0.1/24"),
            "{text}"
        );
        assert!(!text.contains("hidden"));
        assert!(text.contains("DEBUG: shown"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
