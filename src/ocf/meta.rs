//! What Pacemaker tells an agent besides its parameters: `OCF_RESKEY_CRM_meta_*`.

use std::collections::BTreeMap;
use std::time::Duration;

/// Pacemaker's default operation timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The `CRM_meta_*` attributes of one invocation, plus `OCF_CHECK_LEVEL`.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    attrs: BTreeMap<String, String>,
    check_level: Option<String>,
}

const META_PREFIX: &str = "OCF_RESKEY_CRM_meta_";

impl Meta {
    /// Reads the process environment.
    pub fn from_env() -> Meta {
        Self::from_vars(std::env::vars())
    }

    /// Reads any `(name, value)` list shaped like the environment (tests).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Meta {
        let mut meta = Meta::default();
        for (k, v) in vars {
            if let Some(name) = k.strip_prefix(META_PREFIX) {
                meta.attrs.insert(name.to_string(), v);
            } else if k == "OCF_CHECK_LEVEL" {
                meta.check_level = Some(v);
            }
        }
        meta
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    /// The operation timeout (`CRM_meta_timeout`, milliseconds), 20 s when absent or unreadable.
    pub fn timeout(&self) -> Duration {
        self.get("timeout")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
    }

    /// The recurring interval in milliseconds; 0 when unset or empty (a probe does not get
    /// the variable at all).
    pub fn interval_ms(&self) -> u64 {
        self.get("interval")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    }

    /// `OCF_CHECK_LEVEL` as a number; 0 when unset or not a number.
    pub fn check_level(&self) -> u32 {
        self.check_level
            .as_deref()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    fn number(&self, name: &str) -> Option<u32> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    pub fn clone_max(&self) -> Option<u32> {
        self.number("clone_max")
    }
    pub fn clone_node_max(&self) -> Option<u32> {
        self.number("clone_node_max")
    }
    /// `promoted_max`, or the legacy `master_max` older Pacemakers still send.
    pub fn promoted_max(&self) -> Option<u32> {
        self.number("promoted_max")
            .or_else(|| self.number("master_max"))
    }
    pub fn promoted_node_max(&self) -> Option<u32> {
        self.number("promoted_node_max")
            .or_else(|| self.number("master_node_max"))
    }
    pub fn notify_enabled(&self) -> bool {
        self.get("notify")
            .and_then(crate::params::parse_bool)
            .unwrap_or(false)
    }
    /// True when Pacemaker runs this instance as a clone.
    pub fn is_clone(&self) -> bool {
        self.clone_max().is_some()
    }

    /// `pre` / `post` for notify actions.
    pub fn notify_type(&self) -> Option<&str> {
        self.get("notify_type")
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    /// `start` / `stop` / `promote` / `demote` for notify actions.
    pub fn notify_operation(&self) -> Option<&str> {
        self.get("notify_operation")
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    /// A notify list (`start_uname`, `promoted_resource` …): space-separated, an empty list is
    /// sent as a single space.
    pub fn notify_list(&self, name: &str) -> Vec<String> {
        self.get(&format!("notify_{name}"))
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(vars: &[(&str, &str)]) -> Meta {
        Meta::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn timeout_defaults_and_parses_milliseconds() {
        assert_eq!(meta(&[]).timeout(), DEFAULT_TIMEOUT);
        assert_eq!(
            meta(&[("OCF_RESKEY_CRM_meta_timeout", "90000")]).timeout(),
            Duration::from_secs(90)
        );
        assert_eq!(
            meta(&[("OCF_RESKEY_CRM_meta_timeout", "junk")]).timeout(),
            DEFAULT_TIMEOUT
        );
    }

    #[test]
    fn interval_and_levels() {
        assert_eq!(meta(&[]).interval_ms(), 0);
        assert_eq!(
            meta(&[("OCF_RESKEY_CRM_meta_interval", "")]).interval_ms(),
            0
        );
        assert_eq!(
            meta(&[("OCF_RESKEY_CRM_meta_interval", "10000")]).interval_ms(),
            10000
        );
        assert_eq!(meta(&[("OCF_CHECK_LEVEL", "20")]).check_level(), 20);
        assert_eq!(meta(&[]).check_level(), 0);
    }

    #[test]
    fn clone_and_notify_variables() {
        let m = meta(&[
            ("OCF_RESKEY_CRM_meta_clone_max", "2"),
            ("OCF_RESKEY_CRM_meta_master_max", "1"),
            ("OCF_RESKEY_CRM_meta_notify", "true"),
            ("OCF_RESKEY_CRM_meta_notify_type", "pre"),
            ("OCF_RESKEY_CRM_meta_notify_operation", "promote"),
            ("OCF_RESKEY_CRM_meta_notify_promote_uname", "node1 node2 "),
            ("OCF_RESKEY_CRM_meta_notify_stop_uname", " "),
        ]);
        assert!(m.is_clone());
        assert_eq!(m.promoted_max(), Some(1));
        assert!(m.notify_enabled());
        assert_eq!(m.notify_type(), Some("pre"));
        assert_eq!(m.notify_operation(), Some("promote"));
        assert_eq!(m.notify_list("promote_uname"), vec!["node1", "node2"]);
        assert!(m.notify_list("stop_uname").is_empty());
    }
}
