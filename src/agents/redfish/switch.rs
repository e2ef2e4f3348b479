//! The selected Redfish system as a [`PowerSwitch`] for the fence engine.

use crate::deadline::Deadline;
use crate::fence::{FenceError, Outlet, PowerState, PowerSwitch};
use crate::proto::redfish::client::Session;
use crate::proto::redfish::model::{self, Reading, ResetChoice, SystemInfo};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Which system to act on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub systems_uri: Option<String>,
    pub plug: Option<String>,
}

pub struct RedfishSwitch {
    session: Session,
    pub systems: Vec<SystemInfo>,
    /// The system acted on; `None` for list and monitor, which need no selection.
    selected: Option<usize>,
    /// The selected system's document as read while selecting: its Actions, and the first
    /// status reading (taken milliseconds earlier on the same session).
    doc: Option<Value>,
    /// How long a transitional PowerState (`PoweringOff`, `null`) is polled before a status
    /// read gives up.
    settle: Duration,
}

fn err(e: String) -> FenceError {
    FenceError::new(e)
}

impl RedfishSwitch {
    /// Reads the systems and selects the one to act on (when `select`).
    pub fn new(
        mut session: Session,
        sel: &Selection,
        select: bool,
        settle: Duration,
    ) -> Result<RedfishSwitch, FenceError> {
        let mut docs: Vec<Value> = Vec::new();
        let mut systems = Vec::new();
        if let Some(uri) = &sel.systems_uri {
            let doc = session.get(uri).map_err(err)?;
            systems.push(SystemInfo::from_doc(uri, &doc));
            docs.push(doc);
        } else {
            let coll = model::link(&session.root, "Systems")
                .ok_or_else(|| FenceError::new("the service root has no Systems collection"))?
                .to_string();
            let coll = session.get(&coll).map_err(err)?;
            for uri in model::members(&coll) {
                let doc = session.get(&uri).map_err(err)?;
                systems.push(SystemInfo::from_doc(&uri, &doc));
                docs.push(doc);
            }
        }
        let selected = if select {
            let i = model::select_system(&systems, sel.plug.as_deref()).map_err(FenceError::new)?;
            Some(i)
        } else {
            None
        };
        let doc = selected.map(|i| docs.swap_remove(i));
        Ok(RedfishSwitch {
            session,
            systems,
            selected,
            doc,
            settle,
        })
    }

    pub fn selected(&self) -> Option<&SystemInfo> {
        self.selected.map(|i| &self.systems[i])
    }

    pub fn uses_session(&self) -> bool {
        self.session.uses_session()
    }

    fn system(&self) -> Result<&SystemInfo, FenceError> {
        self.selected()
            .ok_or_else(|| FenceError::new("no system selected"))
    }

    fn read(&mut self) -> Result<Reading, FenceError> {
        let doc = match self.doc.take() {
            Some(d) if d.get("PowerState").is_some() => d,
            _ => {
                let uri = self.system()?.uri.clone();
                self.session.get(&uri).map_err(err)?
            }
        };
        Ok(model::power_reading(&doc))
    }

    /// The allowed ResetTypes: inline, else from `@Redfish.ActionInfo`, else unstated.
    fn reset_action(&mut self) -> Result<(String, Option<Vec<String>>), FenceError> {
        let uri = self.system()?.uri.clone();
        let doc = self.session.get(&uri).map_err(err)?;
        let action = model::reset_action(&doc).ok_or_else(|| {
            FenceError::new(format!("system {uri} has no ComputerSystem.Reset action"))
        })?;
        let allowed = match (action.allowed, &action.action_info) {
            (Some(a), _) => Some(a),
            (None, Some(info)) => {
                let info = self.session.get(info).map_err(err)?;
                model::action_info_allowed(&info)
            }
            (None, None) => None,
        };
        Ok((action.target, allowed))
    }
}

impl PowerSwitch for RedfishSwitch {
    fn power_state(&mut self, _plug: &str, deadline: Deadline) -> Result<PowerState, FenceError> {
        let until = Deadline::after(self.settle).min(deadline);
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.read()? {
                Reading::Settled(s) => return Ok(s),
                Reading::Unsettled(what) => {
                    if until.remaining() <= pause {
                        return Err(FenceError::new(format!(
                            "PowerState reads {what} after {:.1} s (not settled; only On and Off are verdicts)",
                            started.elapsed().as_secs_f64()
                        )));
                    }
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    fn set_power(
        &mut self,
        _plug: &str,
        state: PowerState,
        deadline: Deadline,
    ) -> Result<(), FenceError> {
        let (target, allowed) = self.reset_action()?;
        let reset = match model::choose_reset(state, allowed.as_deref()) {
            ResetChoice::Send(t) => t,
            ResetChoice::PushWhenOff => {
                // The button toggles: pressing it on a running system would switch it off.
                match self.power_state("", deadline)? {
                    PowerState::Off => "PushPowerButton",
                    PowerState::On => return Ok(()),
                }
            }
            ResetChoice::Refuse(why) => return Err(FenceError::new(why)),
        };
        self.session
            .post_action(&target, &serde_json::json!({ "ResetType": reset }))
            .map_err(err)
    }

    fn list(&mut self, _deadline: Deadline) -> Result<Vec<Outlet>, FenceError> {
        let mut out = Vec::new();
        for s in self.systems.clone() {
            let doc = self.session.get(&s.uri).map_err(err)?;
            let state = match model::power_reading(&doc) {
                Reading::Settled(p) => Some(p),
                Reading::Unsettled(_) => None,
            };
            out.push(Outlet {
                id: s.id,
                alias: s.name,
                state,
            });
        }
        Ok(out)
    }
}
