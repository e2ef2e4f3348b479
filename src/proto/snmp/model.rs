//! Switched-PDU device models as data: which OIDs hold an outlet's state, name and command,
//! and what the numbers mean. Adding a PDU family means adding a table row, not code.
//!
//! OIDs are [`OidTemplate`]s with placeholders for the outlet number `{n}` (also `{n-1}` for
//! 0-based tables and `{n+1}` for tables whose first row is "all outlets") and for the unit
//! `{u}` (daisy-chain unit, PDU id or switch number, per family).
//!
//! Sources: PowerNet-MIB (APC), EATON-EPDU-MIB and the Eaton managed/switched ePDU tables,
//! PDU2-MIB (Raritan PX2/PX3), TRIPPLITE-PRODUCTS, as summarised in Bulwark's fence contract.

use std::borrow::Cow;
use std::fmt;

use super::oid::{Oid, OidError};

/// What an outlet's status column says. Only `On` and `Off` are verdicts; everything else must
/// be polled again or reported, never taken for "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutletState {
    On,
    Off,
    /// A command to switch on has been accepted but the relay has not moved yet.
    PendingOn,
    /// A command to switch off has been accepted but the relay has not moved yet.
    PendingOff,
    /// Reboot/cycle in progress.
    Cycling,
    /// A value the model does not map (the raw number is kept for the error line).
    Unknown(i64),
}

impl OutletState {
    /// True for `On` and `Off`, the only states a fence verdict may rest on.
    pub fn is_settled(self) -> bool {
        matches!(self, OutletState::On | OutletState::Off)
    }
}

impl fmt::Display for OutletState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutletState::On => f.write_str("on"),
            OutletState::Off => f.write_str("off"),
            OutletState::PendingOn => f.write_str("pending on"),
            OutletState::PendingOff => f.write_str("pending off"),
            OutletState::Cycling => f.write_str("cycling"),
            OutletState::Unknown(v) => write!(f, "unknown ({v})"),
        }
    }
}

/// What can be asked of an outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    On,
    Off,
    /// Off then on, done by the PDU itself (not used by fencing, which does off→confirm→on).
    Reboot,
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::Reboot => "reboot",
        })
    }
}

/// Why a model or template is unusable, or an action impossible with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// A template that does not parse (custom models only; built-in ones are unit-tested).
    BadTemplate { template: String, why: String },
    /// `{n-1}` with outlet 0, or an outlet number that does not fit.
    OutletOutOfRange(u32),
    /// The model has no command for this action.
    Unsupported { model: String, action: PowerAction },
    /// Unknown `model=` value.
    UnknownModel(String),
    /// A custom model parameter that is missing or contradictory.
    BadCustom(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::BadTemplate { template, why } => {
                write!(f, "bad OID template '{template}': {why}")
            }
            ModelError::OutletOutOfRange(n) => {
                write!(f, "outlet {n} cannot be addressed by this model")
            }
            ModelError::Unsupported { model, action } => {
                write!(f, "model {model} has no {action} command")
            }
            ModelError::UnknownModel(m) => {
                write!(f, "unknown PDU model '{m}' (known: {})", model_ids())
            }
            ModelError::BadCustom(why) => write!(f, "custom model: {why}"),
        }
    }
}

impl std::error::Error for ModelError {}

fn model_ids() -> String {
    let mut ids: Vec<&str> = MODELS.iter().map(|m| m.id.as_ref()).collect();
    ids.push("custom");
    ids.join(", ")
}

/// One arc of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Arc(u32),
    /// Outlet number plus an offset.
    Outlet(i64),
    Unit,
}

/// An OID with `{n}`, `{n-1}`, `{n+1}` and `{u}` placeholders (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidTemplate(Cow<'static, str>);

impl OidTemplate {
    /// A built-in template (checked by the unit tests).
    pub const fn fixed(t: &'static str) -> OidTemplate {
        OidTemplate(Cow::Borrowed(t))
    }

    /// A template from configuration; a plain OID without `{n}` gets `.{n}` appended (the
    /// usual "column OID" form of fence-agents' parameters).
    pub fn parse(text: &str) -> Result<OidTemplate, ModelError> {
        let text = text.trim();
        let t = if text.contains("{n") {
            OidTemplate(Cow::Owned(text.to_string()))
        } else {
            OidTemplate(Cow::Owned(format!("{text}.{{n}}")))
        };
        t.parts()?;
        Ok(t)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn bad(&self, why: impl Into<String>) -> ModelError {
        ModelError::BadTemplate {
            template: self.0.to_string(),
            why: why.into(),
        }
    }

    fn parts(&self) -> Result<Vec<Part>, ModelError> {
        let t = self.0.strip_prefix('.').unwrap_or(&self.0);
        let parts = t
            .split('.')
            .map(|p| match p {
                "{n}" => Ok(Part::Outlet(0)),
                "{n-1}" => Ok(Part::Outlet(-1)),
                "{n+1}" => Ok(Part::Outlet(1)),
                "{u}" => Ok(Part::Unit),
                _ if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                    .parse::<u32>()
                    .map(Part::Arc)
                    .map_err(|_| self.bad(format!("arc '{p}' too large"))),
                _ => Err(self.bad(format!("unexpected '{p}'"))),
            })
            .collect::<Result<Vec<Part>, ModelError>>()?;
        if parts.len() < 2
            || !matches!(parts[0], Part::Arc(0..=2))
            || !matches!(parts[1], Part::Arc(_))
        {
            return Err(self.bad("must start with two numeric arcs"));
        }
        Ok(parts)
    }

    /// True when the template names one object per outlet.
    pub fn has_outlet(&self) -> bool {
        self.0.contains("{n")
    }

    /// The OID for `outlet` on `unit`.
    pub fn expand(&self, outlet: u32, unit: u32) -> Result<Oid, ModelError> {
        let arcs = self
            .parts()?
            .into_iter()
            .map(|p| match p {
                Part::Arc(a) => Ok(a),
                Part::Unit => Ok(unit),
                Part::Outlet(off) => u32::try_from(i64::from(outlet) + off)
                    .map_err(|_| ModelError::OutletOutOfRange(outlet)),
            })
            .collect::<Result<Vec<u32>, ModelError>>()?;
        Oid::from_arcs(&arcs).map_err(|e: OidError| self.bad(e.to_string()))
    }

    /// The fixed part before the outlet placeholder, with the unit filled in: the subtree to
    /// walk to find every outlet's cell.
    pub fn walk_root(&self, unit: u32) -> Result<Oid, ModelError> {
        let arcs: Vec<u32> = self
            .parts()?
            .into_iter()
            .take_while(|p| !matches!(p, Part::Outlet(_)))
            .map(|p| if let Part::Arc(a) = p { a } else { unit })
            .collect();
        Oid::from_arcs(&arcs).map_err(|e| self.bad(e.to_string()))
    }

    /// The outlet number whose cell is `oid`, when `oid` matches this template on `unit`.
    pub fn outlet_of(&self, oid: &Oid, unit: u32) -> Option<u32> {
        let parts = self.parts().ok()?;
        if parts.len() != oid.arcs().len() {
            return None;
        }
        let mut outlet = None;
        for (p, a) in parts.iter().zip(oid.arcs()) {
            match *p {
                Part::Arc(x) if x == *a => {}
                Part::Unit if unit == *a => {}
                Part::Outlet(off) => {
                    let n = u32::try_from(i64::from(*a) - off).ok()?;
                    if outlet.is_some_and(|o| o != n) {
                        return None;
                    }
                    outlet = Some(n);
                }
                _ => return None,
            }
        }
        outlet.filter(|n| *n > 0)
    }
}

/// How outlets are switched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// One OID per outlet takes a command number (APC, Raritan, Tripp Lite, Eaton managed).
    Command {
        oid: OidTemplate,
        on: i64,
        off: i64,
        reboot: Option<i64>,
    },
    /// One OID per action; the value written is a delay in seconds, 0 = now (EATON-EPDU-MIB).
    DelayOids {
        on: OidTemplate,
        off: OidTemplate,
        reboot: Option<OidTemplate>,
    },
}

/// A PDU family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduModel {
    /// Value of `model=` (e.g. `apc-rpdu2`).
    pub id: Cow<'static, str>,
    pub description: Cow<'static, str>,
    /// sysObjectID prefixes that identify the family (longest match wins across models).
    pub sys_object_ids: Cow<'static, [&'static str]>,
    /// `{u}` when the caller does not choose one.
    pub default_unit: u32,
    /// Number of outlets (scalar per unit), when the MIB has one.
    pub outlet_count: Option<OidTemplate>,
    /// Status column.
    pub status: OidTemplate,
    /// Meaning of status values.
    pub states: Cow<'static, [(i64, OutletState)]>,
    /// Outlet name column.
    pub name: Option<OidTemplate>,
    /// "Is this outlet switchable" column and its "yes" value.
    pub switchable: Option<(OidTemplate, i64)>,
    /// A command-pending column beside the status and its "pending" value (rPDU2
    /// `rPDU2OutletSwitchedStatusCommandPending`, commandPending(1)): while it reads pending
    /// the status is about to change, so no reading is settled.
    pub pending: Option<(OidTemplate, i64)>,
    /// Linked units sharing one table (rPDU2): the module column and the outlet-number column.
    /// `switch`/`unit` picks the module, `plug` the number, and the table index follows.
    pub modules: Option<(OidTemplate, OidTemplate)>,
    pub control: Control,
}

impl PduModel {
    /// True when `switch`/`unit` means something on this model: a `{u}` slot in its OIDs, or
    /// a module column of linked units.
    pub fn has_units(&self) -> bool {
        self.modules.is_some() || self.templates().iter().any(|t| t.as_str().contains("{u}"))
    }

    /// True when an outlet can be caught between states (a pending column, or pending or
    /// cycling values in the status column): then `off` is sent even to an outlet that reads
    /// off, since a pending command (the "on" half of a reboot) would switch it back on.
    pub fn can_pend(&self) -> bool {
        self.pending.is_some() || self.states.iter().any(|(_, s)| !s.is_settled())
    }

    /// Meaning of a status value (unmapped values are `Unknown`, never `Off`).
    pub fn state_of(&self, raw: i64) -> OutletState {
        self.states
            .iter()
            .find(|(v, _)| *v == raw)
            .map_or(OutletState::Unknown(raw), |(_, s)| *s)
    }

    /// The SET that performs `action` on `outlet`: OID and INTEGER value.
    pub fn command(
        &self,
        action: PowerAction,
        outlet: u32,
        unit: u32,
    ) -> Result<(Oid, i64), ModelError> {
        let unsupported = || ModelError::Unsupported {
            model: self.id.to_string(),
            action,
        };
        match &self.control {
            Control::Command {
                oid,
                on,
                off,
                reboot,
            } => {
                let v = match action {
                    PowerAction::On => *on,
                    PowerAction::Off => *off,
                    PowerAction::Reboot => reboot.ok_or_else(unsupported)?,
                };
                Ok((oid.expand(outlet, unit)?, v))
            }
            Control::DelayOids { on, off, reboot } => {
                let t = match action {
                    PowerAction::On => on,
                    PowerAction::Off => off,
                    PowerAction::Reboot => reboot.as_ref().ok_or_else(unsupported)?,
                };
                Ok((t.expand(outlet, unit)?, 0))
            }
        }
    }

    fn templates(&self) -> Vec<&OidTemplate> {
        let mut t = vec![&self.status];
        t.extend(self.outlet_count.iter());
        t.extend(self.name.iter());
        t.extend(self.switchable.iter().map(|(o, _)| o));
        t.extend(self.pending.iter().map(|(o, _)| o));
        if let Some((m, n)) = &self.modules {
            t.push(m);
            t.push(n);
        }
        match &self.control {
            Control::Command { oid, .. } => t.push(oid),
            Control::DelayOids { on, off, reboot } => {
                t.push(on);
                t.push(off);
                t.extend(reboot.iter());
            }
        }
        t
    }

    /// Checks that every template parses and that on/off are told apart.
    pub fn validate(&self) -> Result<(), ModelError> {
        for t in self.templates() {
            t.parts()?;
        }
        let on = self
            .states
            .iter()
            .filter(|(_, s)| *s == OutletState::On)
            .count();
        let off = self
            .states
            .iter()
            .filter(|(_, s)| *s == OutletState::Off)
            .count();
        let mut values: Vec<i64> = self.states.iter().map(|(v, _)| *v).collect();
        values.sort_unstable();
        values.dedup();
        if on != 1 || off != 1 || values.len() != self.states.len() {
            return Err(ModelError::BadCustom(
                "status values must map exactly one on and one off value".into(),
            ));
        }
        if let Control::Command {
            on, off, reboot, ..
        } = &self.control
        {
            if on == off || reboot.is_some_and(|r| r == *on || r == *off) {
                return Err(ModelError::BadCustom(
                    "on, off and reboot commands must differ".into(),
                ));
            }
        }
        if !self.status.has_outlet() {
            return Err(ModelError::BadCustom(
                "status OID must address an outlet".into(),
            ));
        }
        Ok(())
    }
}

/// Parameters of `model=custom`. OIDs may be templates or plain column OIDs (`.{n}` appended).
#[derive(Debug, Clone, Default)]
pub struct CustomModel {
    pub status_oid: String,
    pub control_oid: String,
    pub on_state: i64,
    pub off_state: i64,
    pub on_command: i64,
    pub off_command: i64,
    pub reboot_command: Option<i64>,
    pub name_oid: Option<String>,
    pub unit: u32,
}

impl CustomModel {
    pub fn build(&self) -> Result<PduModel, ModelError> {
        let name = match &self.name_oid {
            Some(n) if !n.trim().is_empty() => Some(OidTemplate::parse(n)?),
            _ => None,
        };
        let m = PduModel {
            id: Cow::Borrowed("custom"),
            description: Cow::Borrowed("custom OIDs and values"),
            sys_object_ids: Cow::Borrowed(&[]),
            default_unit: self.unit,
            outlet_count: None,
            status: OidTemplate::parse(&self.status_oid)?,
            states: Cow::Owned(vec![
                (self.on_state, OutletState::On),
                (self.off_state, OutletState::Off),
            ]),
            name,
            switchable: None,
            pending: None,
            modules: None,
            control: Control::Command {
                oid: OidTemplate::parse(&self.control_oid)?,
                on: self.on_command,
                off: self.off_command,
                reboot: self.reboot_command,
            },
        };
        m.validate()?;
        Ok(m)
    }
}

use OutletState::{Cycling, Off, On, PendingOff, PendingOn};

const fn t(s: &'static str) -> OidTemplate {
    OidTemplate::fixed(s)
}

/// The built-in models.
pub static MODELS: &[PduModel] = &[
    PduModel {
        id: Cow::Borrowed("apc-masterswitch"),
        description: Cow::Borrowed(
            "APC MasterSwitch / Switched Rack PDU, PowerNet-MIB sPDUOutletCtl",
        ),
        // masterSwitchV1, V2, VM, sPDU
        sys_object_ids: Cow::Borrowed(&[
            ".1.3.6.1.4.1.318.1.3.4.1",
            ".1.3.6.1.4.1.318.1.3.4.2",
            ".1.3.6.1.4.1.318.1.3.4.3",
            ".1.3.6.1.4.1.318.1.3.4.7",
        ]),
        default_unit: 1,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.318.1.1.4.4.2.1.3.{n}"),
        // 3 reboot in progress, 5/6/7 delayed on/off/reboot pending, 4 unknown
        states: Cow::Borrowed(&[
            (1, On),
            (2, Off),
            (3, Cycling),
            (5, PendingOn),
            (6, PendingOff),
            (7, Cycling),
        ]),
        name: Some(t(".1.3.6.1.4.1.318.1.1.4.4.2.1.4.{n}")),
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.318.1.1.4.4.2.1.3.{n}"),
            on: 1,
            off: 2,
            reboot: Some(3),
        },
    },
    PduModel {
        id: Cow::Borrowed("apc-masterswitch-plus"),
        description: Cow::Borrowed("APC MasterSwitch plus (MSP), {u} = switch number"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.318.1.3.4.4"]),
        default_unit: 1,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.318.1.1.6.7.1.1.5.{u}.1.{n}"),
        states: Cow::Borrowed(&[(1, On), (2, Off)]),
        name: Some(t(".1.3.6.1.4.1.318.1.1.6.7.1.1.4.{u}.1.{n}")),
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.318.1.1.6.5.1.1.5.{u}.1.{n}"),
            on: 1,           // immediateOnMSP
            off: 3,          // immediateOffMSP
            reboot: Some(5), // immediateRebootMSP
        },
    },
    PduModel {
        id: Cow::Borrowed("apc-rpdu"),
        description: Cow::Borrowed("APC Switched Rack PDU, 1st generation (rPDUOutlet)"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.318.1.3.4.5"]),
        default_unit: 1,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.{n}"),
        states: Cow::Borrowed(&[(1, On), (2, Off)]),
        name: Some(t(".1.3.6.1.4.1.318.1.1.12.3.5.1.1.2.{n}")),
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.{n}"),
            on: 1,
            off: 2,
            reboot: Some(3),
        },
    },
    PduModel {
        id: Cow::Borrowed("apc-rpdu2"),
        description: Cow::Borrowed(
            "APC Switched Rack PDU 2G (AP8xxx, rPDU2Outlet); state values reversed",
        ),
        // masterSwitchrPDU2 (AP8xxx, e.g. AP8888 "rpdu2g" firmware); .9 as seen on later cards
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.318.1.3.4.6", ".1.3.6.1.4.1.318.1.3.4.9"]),
        default_unit: 1,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.{n}"),
        // rPDU2OutletSwitchedStatusState: off(1), on(2) — the reverse of the command values
        states: Cow::Borrowed(&[(1, Off), (2, On)]),
        name: Some(t(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.3.{n}")),
        switchable: None,
        // rPDU2OutletSwitchedStatusCommandPending: commandPending(1), noCommandPending(2)
        pending: Some((t(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.6.{n}"), 1)),
        // rPDU2OutletSwitchedStatusModule and ...Number: linked units share the table
        modules: Some((
            t(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.2.{n}"),
            t(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.4.{n}"),
        )),
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.{n}"),
            on: 1,
            off: 2,
            reboot: Some(3),
        },
    },
    PduModel {
        id: Cow::Borrowed("eaton-epdu"),
        description: Cow::Borrowed("Eaton managed ePDU (0-based outlet table)"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.534.6.6.6"]),
        default_unit: 0,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.534.6.6.6.1.2.2.1.3.{n-1}"),
        states: Cow::Borrowed(&[(0, Off), (1, On), (2, Cycling)]),
        name: None,
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.534.6.6.6.1.2.2.1.3.{n-1}"),
            on: 1,
            off: 0,
            reboot: Some(2),
        },
    },
    PduModel {
        id: Cow::Borrowed("eaton-switched"),
        description: Cow::Borrowed("Eaton switched ePDU (Pulizzi); control row 1 is 'all outlets'"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.20677.1", ".1.3.6.1.4.1.20677.2"]),
        default_unit: 0,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.20677.2.6.3.{n}.0"),
        states: Cow::Borrowed(&[(1, On), (2, Off)]),
        name: None,
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.20677.2.6.2.{n+1}.0"),
            on: 1,
            off: 2,
            reboot: Some(3),
        },
    },
    PduModel {
        id: Cow::Borrowed("eaton-g3"),
        description: Cow::Borrowed(
            "Eaton ePDU G2/G3 (EATON-EPDU-MIB), {u} = daisy-chain unit (0 = master)",
        ),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.534.6.6.7"]),
        default_unit: 0,
        outlet_count: Some(t(".1.3.6.1.4.1.534.6.6.7.1.2.1.22.{u}")),
        status: t(".1.3.6.1.4.1.534.6.6.7.6.6.1.2.{u}.{n}"),
        states: Cow::Borrowed(&[(0, Off), (1, On), (2, PendingOff), (3, PendingOn)]),
        name: Some(t(".1.3.6.1.4.1.534.6.6.7.6.1.1.3.{u}.{n}")),
        switchable: Some((t(".1.3.6.1.4.1.534.6.6.7.6.6.1.9.{u}.{n}"), 1)),
        pending: None,
        modules: None,
        control: Control::DelayOids {
            off: t(".1.3.6.1.4.1.534.6.6.7.6.6.1.3.{u}.{n}"),
            on: t(".1.3.6.1.4.1.534.6.6.7.6.6.1.4.{u}.{n}"),
            reboot: Some(t(".1.3.6.1.4.1.534.6.6.7.6.6.1.5.{u}.{n}")),
        },
    },
    PduModel {
        id: Cow::Borrowed("raritan-px2"),
        description: Cow::Borrowed("Raritan PX2/PX3 (PDU2-MIB), {u} = PDU id (1 standalone)"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.13742.6"]),
        default_unit: 1,
        outlet_count: Some(t(".1.3.6.1.4.1.13742.6.3.2.2.1.4.{u}")),
        status: t(".1.3.6.1.4.1.13742.6.4.1.2.1.3.{u}.{n}"),
        states: Cow::Borrowed(&[(7, On), (8, Off)]),
        name: Some(t(".1.3.6.1.4.1.13742.6.3.5.3.1.3.{u}.{n}")),
        switchable: Some((t(".1.3.6.1.4.1.13742.6.3.5.3.1.28.{u}.{n}"), 1)),
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.13742.6.4.1.2.1.2.{u}.{n}"),
            on: 1,
            off: 0,
            reboot: Some(2), // cycle
        },
    },
    PduModel {
        id: Cow::Borrowed("tripplite"),
        description: Cow::Borrowed("Tripp Lite switched PDU (TRIPPLITE-PRODUCTS tlpPduOutlet)"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.850.1"]),
        default_unit: 1,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.850.10.2.3.5.1.2.{u}.{n}"),
        states: Cow::Borrowed(&[(1, Off), (2, On)]),
        name: Some(t(".1.3.6.1.4.1.850.10.2.3.5.1.5.{u}.{n}")),
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.850.10.2.3.5.1.4.{u}.{n}"),
            on: 2,
            off: 1,
            reboot: None,
        },
    },
    PduModel {
        id: Cow::Borrowed("tripplite-lx"),
        description: Cow::Borrowed("Tripp Lite PDU with a WEBCARDLX card"),
        sys_object_ids: Cow::Borrowed(&[".1.3.6.1.4.1.850.1.1.1"]),
        default_unit: 1,
        outlet_count: None,
        status: t(".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.4.{u}.{n}"),
        states: Cow::Borrowed(&[(1, Off), (2, On)]),
        name: Some(t(".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.2.{u}.{n}")),
        switchable: None,
        pending: None,
        modules: None,
        control: Control::Command {
            oid: t(".1.3.6.1.4.1.850.1.1.3.2.3.3.1.1.6.{u}.{n}"),
            on: 2,
            off: 1,
            reboot: None,
        },
    },
];

/// The built-in model called `id` (the `model=` value).
pub fn by_id(id: &str) -> Result<&'static PduModel, ModelError> {
    MODELS
        .iter()
        .find(|m| m.id.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| ModelError::UnknownModel(id.to_string()))
}

/// The model whose sysObjectID prefix is the longest match for `sys_object_id`; `None` when no
/// model claims it (no silent fallback: the caller must ask for `model=`).
pub fn detect(sys_object_id: &Oid) -> Option<&'static PduModel> {
    MODELS
        .iter()
        .flat_map(|m| m.sys_object_ids.iter().map(move |p| (m, *p)))
        .filter_map(|(m, p)| Oid::parse(p).ok().map(|p| (m, p)))
        .filter(|(_, p)| sys_object_id.starts_with(p))
        .max_by_key(|(_, p)| p.arcs().len())
        .map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    #[test]
    fn every_builtin_model_is_valid() {
        for m in MODELS {
            m.validate().unwrap_or_else(|e| panic!("{}: {e}", m.id));
            for n in [1u32, 2, 24] {
                let s = m.status.expand(n, m.default_unit).unwrap();
                assert_eq!(m.status.outlet_of(&s, m.default_unit), Some(n), "{}", m.id);
                assert!(s.starts_with(&m.status.walk_root(m.default_unit).unwrap()));
                for a in [PowerAction::On, PowerAction::Off] {
                    m.command(a, n, m.default_unit).unwrap();
                }
            }
            assert!(!m.sys_object_ids.is_empty());
            for p in m.sys_object_ids.iter() {
                Oid::parse(p).unwrap();
            }
        }
    }

    /// Which models take `switch`/`unit` and which may be caught mid-command; the rest refuse a
    /// unit (see the agent) instead of switching unit 1's outlet.
    #[test]
    fn units_and_pending_per_model() {
        let with_units: Vec<&str> = MODELS
            .iter()
            .filter(|m| m.has_units())
            .map(|m| m.id.as_ref())
            .collect();
        assert_eq!(
            with_units,
            [
                "apc-masterswitch-plus",
                "apc-rpdu2",
                "eaton-g3",
                "raritan-px2",
                "tripplite",
                "tripplite-lx"
            ]
        );
        let pend: Vec<&str> = MODELS
            .iter()
            .filter(|m| m.can_pend())
            .map(|m| m.id.as_ref())
            .collect();
        assert_eq!(
            pend,
            ["apc-masterswitch", "apc-rpdu2", "eaton-epdu", "eaton-g3"]
        );
    }

    #[test]
    fn ids_and_prefixes_are_unique() {
        let mut ids: Vec<&str> = MODELS.iter().map(|m| m.id.as_ref()).collect();
        let mut prefixes: Vec<&str> = MODELS
            .iter()
            .flat_map(|m| m.sys_object_ids.iter().copied())
            .collect();
        let (ni, np) = (ids.len(), prefixes.len());
        ids.sort_unstable();
        ids.dedup();
        prefixes.sort_unstable();
        prefixes.dedup();
        assert_eq!((ids.len(), prefixes.len()), (ni, np));
    }

    #[test]
    fn detection_by_sys_object_id() {
        let cases = [
            (".1.3.6.1.4.1.318.1.3.4.5", Some("apc-rpdu")),
            (".1.3.6.1.4.1.318.1.3.4.6", Some("apc-rpdu2")),
            (".1.3.6.1.4.1.318.1.3.4.9", Some("apc-rpdu2")),
            (".1.3.6.1.4.1.318.1.3.4.4", Some("apc-masterswitch-plus")),
            (".1.3.6.1.4.1.318.1.3.4.1", Some("apc-masterswitch")),
            (".1.3.6.1.4.1.318.1.3.4.7", Some("apc-masterswitch")),
            (".1.3.6.1.4.1.534.6.6.7", Some("eaton-g3")),
            (".1.3.6.1.4.1.534.6.6.7.1", Some("eaton-g3")),
            (".1.3.6.1.4.1.534.6.6.6", Some("eaton-epdu")),
            (".1.3.6.1.4.1.20677.1", Some("eaton-switched")),
            (".1.3.6.1.4.1.13742.6", Some("raritan-px2")),
            (".1.3.6.1.4.1.850.1", Some("tripplite")),
            (".1.3.6.1.4.1.850.1.1.1", Some("tripplite-lx")),
            (".1.3.6.1.4.1.850.1.1", Some("tripplite")),
            // arc boundary: .850.10 is not under .850.1
            (".1.3.6.1.4.1.850.10", None),
            (".1.3.6.1.4.1.318.1.3.4", None),
            (".1.3.6.1.4.1.318.1.3.4.8", None),
            (".1.3.6.1.4.1.8072.3.2.10", None),
        ];
        for (sys, want) in cases {
            assert_eq!(detect(&oid(sys)).map(|m| m.id.as_ref()), want, "{sys}");
        }
    }

    #[test]
    fn value_maps() {
        let rpdu2 = by_id("apc-rpdu2").unwrap();
        assert_eq!(rpdu2.state_of(1), OutletState::Off);
        assert_eq!(rpdu2.state_of(2), OutletState::On);
        assert_eq!(rpdu2.state_of(4), OutletState::Unknown(4));
        let (o, v) = rpdu2.command(PowerAction::Off, 3, 1).unwrap();
        assert_eq!(
            (o.to_string().as_str(), v),
            (".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.3", 2)
        );
        let (_, v) = rpdu2.command(PowerAction::On, 3, 1).unwrap();
        assert_eq!(v, 1);

        let g3 = by_id("eaton-g3").unwrap();
        assert_eq!(g3.state_of(2), OutletState::PendingOff);
        assert_eq!(g3.state_of(3), OutletState::PendingOn);
        let (o, v) = g3.command(PowerAction::Off, 5, 0).unwrap();
        assert_eq!(
            (o.to_string().as_str(), v),
            (".1.3.6.1.4.1.534.6.6.7.6.6.1.3.0.5", 0)
        );
        let (o, _) = g3.command(PowerAction::On, 5, 2).unwrap();
        assert_eq!(o.to_string(), ".1.3.6.1.4.1.534.6.6.7.6.6.1.4.2.5");

        let px = by_id("raritan-px2").unwrap();
        assert_eq!(px.state_of(7), OutletState::On);
        assert_eq!(px.state_of(8), OutletState::Off);
        assert_eq!(px.command(PowerAction::Off, 1, 1).unwrap().1, 0);
        assert_eq!(px.command(PowerAction::Reboot, 1, 1).unwrap().1, 2);

        let tl = by_id("tripplite").unwrap();
        assert_eq!(tl.state_of(1), OutletState::Off);
        assert!(matches!(
            tl.command(PowerAction::Reboot, 1, 1),
            Err(ModelError::Unsupported { .. })
        ));

        let epdu = by_id("eaton-epdu").unwrap();
        let (o, v) = epdu.command(PowerAction::Off, 1, 0).unwrap();
        assert_eq!(
            (o.to_string().as_str(), v),
            (".1.3.6.1.4.1.534.6.6.6.1.2.2.1.3.0", 0)
        );
        assert_eq!(
            epdu.status
                .outlet_of(&oid(".1.3.6.1.4.1.534.6.6.6.1.2.2.1.3.0"), 0),
            Some(1)
        );

        let sw = by_id("eaton-switched").unwrap();
        assert_eq!(
            sw.command(PowerAction::On, 1, 0).unwrap().0.to_string(),
            ".1.3.6.1.4.1.20677.2.6.2.2.0"
        );
        assert_eq!(
            sw.status.outlet_of(&oid(".1.3.6.1.4.1.20677.2.6.3.4.0"), 0),
            Some(4)
        );
        assert_eq!(
            sw.status.outlet_of(&oid(".1.3.6.1.4.1.20677.2.6.3.4.1"), 0),
            None
        );

        assert!(matches!(
            by_id("nonsense"),
            Err(ModelError::UnknownModel(_))
        ));
        assert_eq!(by_id("APC-RPDU2").unwrap().id, "apc-rpdu2");
    }

    #[test]
    fn every_state_value_of_every_model() {
        // The state space is finite: every mapped value is what the table says, every other
        // small value is Unknown (never Off).
        for m in MODELS {
            for raw in -2..=10 {
                let s = m.state_of(raw);
                match m.states.iter().find(|(v, _)| *v == raw) {
                    Some((_, want)) => assert_eq!(s, *want),
                    None => assert_eq!(s, OutletState::Unknown(raw), "{} {raw}", m.id),
                }
            }
        }
    }

    #[test]
    fn templates() {
        let t = OidTemplate::parse(".1.3.6.1.4.1.99.1.2").unwrap();
        assert_eq!(t.as_str(), ".1.3.6.1.4.1.99.1.2.{n}");
        assert_eq!(t.expand(4, 0).unwrap().to_string(), ".1.3.6.1.4.1.99.1.2.4");
        let z = OidTemplate::parse("1.3.6.{u}.7.{n-1}").unwrap();
        assert!(matches!(
            z.expand(0, 1),
            Err(ModelError::OutletOutOfRange(0))
        ));
        assert_eq!(z.walk_root(3).unwrap().to_string(), ".1.3.6.3.7");
        assert_eq!(z.outlet_of(&oid(".1.3.6.3.7.0"), 3), Some(1));
        assert_eq!(z.outlet_of(&oid(".1.3.6.4.7.0"), 3), None);
        assert_eq!(z.outlet_of(&oid(".1.3.6.3.7.0.1"), 3), None);
        for bad in ["", "1.3.{x}", "1.3.a.{n}", "5.3.{n}", "{n}.1.3", "1.3..{n}"] {
            assert!(OidTemplate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn custom_model() {
        let c = CustomModel {
            status_oid: ".1.3.6.1.4.1.99.1.1".into(),
            control_oid: ".1.3.6.1.4.1.99.1.2".into(),
            on_state: 1,
            off_state: 0,
            on_command: 1,
            off_command: 0,
            reboot_command: None,
            name_oid: Some(".1.3.6.1.4.1.99.1.3".into()),
            unit: 0,
        };
        let m = c.build().unwrap();
        assert_eq!(m.state_of(0), OutletState::Off);
        assert_eq!(
            m.command(PowerAction::Off, 2, 0).unwrap().0.to_string(),
            ".1.3.6.1.4.1.99.1.2.2"
        );
        let same = CustomModel {
            off_state: 1,
            ..c.clone()
        };
        assert!(same.build().is_err());
        let same_cmd = CustomModel {
            off_command: 1,
            ..c.clone()
        };
        assert!(same_cmd.build().is_err());
        let bad = CustomModel {
            status_oid: "nope".into(),
            ..c
        };
        assert!(matches!(bad.build(), Err(ModelError::BadTemplate { .. })));
    }
}
