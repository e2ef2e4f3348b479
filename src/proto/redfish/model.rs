//! What Redfish documents mean for fencing, as pure functions over parsed JSON: the power
//! verdict, which ResetType to send, which system a `plug` selects, and the BMC's own error
//! text. No I/O here, so every rule is unit-tested without a BMC.

use crate::power::PowerState;
use serde_json::Value;

/// A system's `PowerState` as read. Only `On` and `Off` are settled; everything else (the
/// transitions, `null`, a missing or unknown value) is polled again, never taken as a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Settled(PowerState),
    Unsettled(String),
}

pub fn power_reading(system: &Value) -> Reading {
    match system.get("PowerState") {
        Some(Value::String(s)) if s == "On" => Reading::Settled(PowerState::On),
        Some(Value::String(s)) if s == "Off" => Reading::Settled(PowerState::Off),
        Some(Value::String(s)) => Reading::Unsettled(one_line(s, 40)),
        Some(Value::Null) => Reading::Unsettled("null".into()),
        Some(_) => Reading::Unsettled("not a string".into()),
        None => Reading::Unsettled("absent".into()),
    }
}

/// The `@odata.id` of a link property (`{"Systems": {"@odata.id": ...}}`).
pub fn link<'a>(doc: &'a Value, property: &str) -> Option<&'a str> {
    doc.get(property)?.get("@odata.id")?.as_str()
}

/// The session collection of a service root: `Links.Sessions`, else `SessionService`'s
/// conventional `/Sessions` child. `None`: the service has no session login.
pub fn sessions_uri(root: &Value) -> Option<String> {
    if let Some(uri) = root.get("Links").and_then(|l| link(l, "Sessions")) {
        return Some(uri.to_string());
    }
    link(root, "SessionService").map(|s| format!("{}/Sessions", s.trim_end_matches('/')))
}

/// Member URIs of a collection.
pub fn members(collection: &Value) -> Vec<String> {
    collection
        .get("Members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|x| x.get("@odata.id").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The `ComputerSystem.Reset` action: its target and, when the system says, the allowed
/// ResetTypes (`None`: not stated inline; see `@Redfish.ActionInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetAction {
    pub target: String,
    pub allowed: Option<Vec<String>>,
    pub action_info: Option<String>,
}

pub fn reset_action(system: &Value) -> Option<ResetAction> {
    let a = system.get("Actions")?.get("#ComputerSystem.Reset")?;
    let target = a.get("target")?.as_str()?.to_string();
    let allowed = a
        .get("ResetType@Redfish.AllowableValues")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        });
    let action_info = a
        .get("@Redfish.ActionInfo")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(ResetAction {
        target,
        allowed,
        action_info,
    })
}

/// AllowableValues of the `ResetType` parameter in an ActionInfo resource.
pub fn action_info_allowed(info: &Value) -> Option<Vec<String>> {
    info.get("Parameters")?
        .as_array()?
        .iter()
        .find(|p| p.get("Name").and_then(Value::as_str) == Some("ResetType"))?
        .get("AllowableValues")?
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
}

/// Which ResetType switches the system to `want`. Off is `ForceOff` only: a graceful
/// shutdown is ignored by the hung OS that fencing exists for. On prefers `On`, then
/// `ForceOn`, then `PushPowerButton` (which toggles, so the caller may send it only to a
/// system it has just read Off). With no allowed list stated, the standard `ForceOff`/`On`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetChoice {
    Send(&'static str),
    /// `PushPowerButton`: allowed only when the system reads Off right before.
    PushWhenOff,
    Refuse(String),
}

pub fn choose_reset(want: PowerState, allowed: Option<&[String]>) -> ResetChoice {
    let has = |t: &str| allowed.is_none_or(|a| a.iter().any(|x| x == t));
    let listed = || {
        allowed
            .map(|a| {
                if a.is_empty() {
                    "none".to_string()
                } else {
                    a.join(", ")
                }
            })
            .unwrap_or_default()
    };
    match want {
        PowerState::Off if has("ForceOff") => ResetChoice::Send("ForceOff"),
        PowerState::Off => ResetChoice::Refuse(format!(
            "the BMC does not allow ResetType ForceOff (allowed: {}); refusing a graceful shutdown, which a hung OS ignores",
            listed()
        )),
        PowerState::On if has("On") => ResetChoice::Send("On"),
        PowerState::On if has("ForceOn") => ResetChoice::Send("ForceOn"),
        PowerState::On if has("PushPowerButton") => ResetChoice::PushWhenOff,
        PowerState::On => ResetChoice::Refuse(format!(
            "the BMC allows no ResetType that powers on (allowed: {})",
            listed()
        )),
    }
}

/// A system as `list` shows it and `plug` matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    pub uri: String,
    pub id: String,
    pub name: String,
}

impl SystemInfo {
    pub fn from_doc(uri: &str, doc: &Value) -> SystemInfo {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        SystemInfo {
            uri: uri.to_string(),
            id: text("Id"),
            name: text("Name"),
        }
    }
}

/// The one system `plug` names (by Id first, then by Name), or the only system when no plug
/// is given. Several matches or several systems without a plug are refused with the members
/// listed: picking one would be a guess about which machine to switch off.
pub fn select_system(systems: &[SystemInfo], plug: Option<&str>) -> Result<usize, String> {
    let listing = || {
        systems
            .iter()
            .map(|s| format!("{} ({})", s.id, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match plug {
        None if systems.len() == 1 => Ok(0),
        None if systems.is_empty() => Err("the BMC lists no systems".into()),
        None => Err(format!(
            "the BMC has {} systems; set plug to the Id or Name of one: {}",
            systems.len(),
            listing()
        )),
        Some(p) => {
            let by_id: Vec<usize> = (0..systems.len()).filter(|&i| systems[i].id == p).collect();
            let hits = if by_id.is_empty() {
                (0..systems.len())
                    .filter(|&i| systems[i].name == p)
                    .collect()
            } else {
                by_id
            };
            match hits.as_slice() {
                [one] => Ok(*one),
                [] => Err(format!(
                    "no system has Id or Name '{}'; systems: {}",
                    one_line(p, 80),
                    listing()
                )),
                _ => Err(format!(
                    "several systems are named '{}'; use the Id: {}",
                    one_line(p, 80),
                    listing()
                )),
            }
        }
    }
}

/// The BMC's own explanation of an error reply: every `@Message.ExtendedInfo` `Message`,
/// else `error.message`. One line, bounded.
pub fn error_text(body: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(body).ok()?;
    let err = doc.get("error").unwrap_or(&doc);
    let info: Vec<&str> = err
        .get("@Message.ExtendedInfo")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("Message").and_then(Value::as_str))
                .filter(|m| !m.trim().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let text = if info.is_empty() {
        err.get("message").and_then(Value::as_str)?.to_string()
    } else {
        info.join("; ")
    };
    Some(one_line(&text, 300))
}

/// State of a Task resource: `Ok(true)` finished well, `Ok(false)` still running, `Err` with
/// the task's messages when it ended badly.
pub fn task_state(task: &Value) -> Result<bool, String> {
    let state = task.get("TaskState").and_then(Value::as_str).unwrap_or("");
    match state {
        "Completed" => {
            let health = task
                .get("TaskStatus")
                .and_then(Value::as_str)
                .unwrap_or("OK");
            if health == "OK" || health == "Warning" {
                Ok(true)
            } else {
                Err(task_messages(task, state))
            }
        }
        "Exception" | "Killed" | "Cancelled" | "Interrupted" => Err(task_messages(task, state)),
        _ => Ok(false),
    }
}

fn task_messages(task: &Value, state: &str) -> String {
    let msgs: Vec<&str> = task
        .get("Messages")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("Message").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if msgs.is_empty() {
        format!("task ended {state}")
    } else {
        one_line(&format!("task ended {state}: {}", msgs.join("; ")), 300)
    }
}

/// Text from the device made safe for a one-line message: control characters become spaces,
/// and it is cut at `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_on_and_off_are_settled() {
        let r = |v: Value| power_reading(&json!({ "PowerState": v }));
        assert_eq!(r(json!("Off")), Reading::Settled(PowerState::Off));
        assert_eq!(r(json!("On")), Reading::Settled(PowerState::On));
        for v in [
            json!("PoweringOff"),
            json!("PoweringOn"),
            json!(null),
            json!("off"),
            json!(0),
        ] {
            assert!(matches!(r(v.clone()), Reading::Unsettled(_)), "{v}");
        }
        assert!(matches!(power_reading(&json!({})), Reading::Unsettled(_)));
    }

    /// Every subset of the standard ResetTypes: off is ForceOff or a refusal naming the
    /// allowed values, never a graceful variant; on follows On > ForceOn > PushPowerButton.
    #[test]
    fn reset_choice_over_every_subset() {
        let all = [
            "On",
            "ForceOff",
            "GracefulShutdown",
            "GracefulRestart",
            "ForceRestart",
            "Nmi",
            "ForceOn",
            "PushPowerButton",
            "PowerCycle",
        ];
        for mask in 0u32..(1 << all.len()) {
            let allowed: Vec<String> = (0..all.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| all[i].to_string())
                .collect();
            let has = |t: &str| allowed.iter().any(|x| x == t);
            match choose_reset(PowerState::Off, Some(&allowed)) {
                ResetChoice::Send(t) => assert!(t == "ForceOff" && has("ForceOff")),
                ResetChoice::Refuse(why) => {
                    assert!(!has("ForceOff"));
                    for a in &allowed {
                        assert!(why.contains(a.as_str()), "{why}");
                    }
                }
                ResetChoice::PushWhenOff => panic!("off never pushes the button"),
            }
            let on = choose_reset(PowerState::On, Some(&allowed));
            let want = if has("On") {
                ResetChoice::Send("On")
            } else if has("ForceOn") {
                ResetChoice::Send("ForceOn")
            } else if has("PushPowerButton") {
                ResetChoice::PushWhenOff
            } else {
                on.clone()
            };
            assert_eq!(on, want, "{allowed:?}");
            if !has("On") && !has("ForceOn") && !has("PushPowerButton") {
                assert!(matches!(on, ResetChoice::Refuse(_)));
            }
        }
        assert_eq!(
            choose_reset(PowerState::Off, None),
            ResetChoice::Send("ForceOff")
        );
        assert_eq!(choose_reset(PowerState::On, None), ResetChoice::Send("On"));
    }

    fn sys(id: &str, name: &str) -> SystemInfo {
        SystemInfo {
            uri: format!("/redfish/v1/Systems/{id}"),
            id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn system_selection() {
        let two = [sys("1", "node-a"), sys("2", "node-b")];
        assert_eq!(select_system(&two, Some("2")), Ok(1));
        assert_eq!(select_system(&two, Some("node-a")), Ok(0));
        let e = select_system(&two, None).unwrap_err();
        assert!(e.contains("1 (node-a)") && e.contains("2 (node-b)"), "{e}");
        assert!(select_system(&two, Some("node-c")).is_err());
        assert_eq!(select_system(&[sys("1", "x")], None), Ok(0));
        assert!(select_system(&[], None).is_err());
        // An Id wins over another system's Name; two equal Names are refused.
        let tricky = [sys("a", "b"), sys("b", "c")];
        assert_eq!(select_system(&tricky, Some("b")), Ok(1));
        let dup = [sys("1", "n"), sys("2", "n")];
        assert!(select_system(&dup, Some("n"))
            .unwrap_err()
            .contains("several"));
    }

    #[test]
    fn bmc_error_text() {
        let body = r#"{"error":{"code":"Base.1.0.GeneralError","message":"general","@Message.ExtendedInfo":[{"Message":"Power state Nmi is not supported"},{"Message":"second\nline"}]}}"#;
        assert_eq!(
            error_text(body).as_deref(),
            Some("Power state Nmi is not supported; second line")
        );
        assert_eq!(
            error_text(r#"{"error":{"message":"m"}}"#).as_deref(),
            Some("m")
        );
        assert_eq!(error_text("<html>"), None);
    }

    /// iLO and XCC state the allowed ResetTypes in an ActionInfo resource, not inline.
    #[test]
    fn reset_action_inline_and_action_info() {
        let inline = json!({"Actions":{"#ComputerSystem.Reset":{
            "target":"/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
            "ResetType@Redfish.AllowableValues":["On","ForceOff"]}}});
        let a = reset_action(&inline).unwrap();
        assert_eq!(
            a.allowed,
            Some(vec!["On".to_string(), "ForceOff".to_string()])
        );
        let by_info = json!({"Actions":{"#ComputerSystem.Reset":{
            "target":"/t","@Redfish.ActionInfo":"/redfish/v1/Systems/1/ResetActionInfo"}}});
        let a = reset_action(&by_info).unwrap();
        assert_eq!(
            (a.allowed, a.action_info.as_deref()),
            (None, Some("/redfish/v1/Systems/1/ResetActionInfo"))
        );
        let info = json!({"Parameters":[
            {"Name":"Other","AllowableValues":["x"]},
            {"Name":"ResetType","Required":true,"AllowableValues":["On","GracefulShutdown"]}]});
        let allowed = action_info_allowed(&info).unwrap();
        assert!(matches!(
            choose_reset(PowerState::Off, Some(&allowed)),
            ResetChoice::Refuse(why) if why.contains("On, GracefulShutdown")
        ));
        assert_eq!(reset_action(&json!({"Actions":{}})), None);
    }

    #[test]
    fn sessions_and_tasks() {
        assert_eq!(
            sessions_uri(&json!({"Links":{"Sessions":{"@odata.id":"/r/S"}}})).as_deref(),
            Some("/r/S")
        );
        assert_eq!(
            sessions_uri(&json!({"SessionService":{"@odata.id":"/r/SessionService"}})).as_deref(),
            Some("/r/SessionService/Sessions")
        );
        assert_eq!(sessions_uri(&json!({})), None);
        assert_eq!(task_state(&json!({"TaskState":"Running"})), Ok(false));
        assert_eq!(
            task_state(&json!({"TaskState":"Completed","TaskStatus":"OK"})),
            Ok(true)
        );
        assert!(
            task_state(&json!({"TaskState":"Exception","Messages":[{"Message":"boom"}]}))
                .unwrap_err()
                .contains("boom")
        );
    }
}
