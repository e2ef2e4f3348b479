//! Outlet operations on a switched PDU: read, switch, list, and find an outlet by name.
//!
//! No polling and no sleeping here: the fence runtime decides the order (off → confirm → on)
//! and how long to wait; [`PduDevice::outlet_state`] is one GET, cheap enough to poll.

use std::fmt;

use super::client::{Credentials, Session, SnmpError, Target, Value};
use super::model::{self, ModelError, OutletState, PduModel, PowerAction};
use super::oid::Oid;
use crate::deadline::Deadline;

/// `sysObjectID.0`.
pub const SYS_OBJECT_ID: &str = ".1.3.6.1.2.1.1.2.0";

/// Why an outlet operation failed. `Display` gives one line without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PduError {
    Snmp(SnmpError),
    Model(ModelError),
    /// sysObjectID not claimed by any model.
    UnknownDevice(Oid),
    /// The outlet number is not on this PDU (its status cell does not exist).
    NoSuchOutlet {
        outlet: u32,
        oid: Oid,
    },
    /// No outlet carries this name.
    NoSuchName(String),
    /// More than one outlet carries this name.
    AmbiguousName(String),
    /// The PDU says the outlet cannot be switched.
    NotSwitchable(u32),
    /// A status or name cell of the wrong type.
    UnexpectedValue {
        oid: Oid,
        what: &'static str,
    },
    /// `switch`/`unit` given for a model that has a single unit: refused rather than ignored,
    /// which would switch the first unit's outlet.
    NoUnits {
        model: String,
        unit: u32,
    },
    /// No row of the linked units' table has this module and outlet number.
    NoSuchModuleOutlet {
        module: u32,
        outlet: u32,
    },
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PduError::Snmp(e) => e.fmt(f),
            PduError::Model(e) => e.fmt(f),
            PduError::UnknownDevice(o) => {
                write!(f, "unknown PDU (sysObjectID {o}); set model= explicitly")
            }
            PduError::NoSuchOutlet { outlet, oid } => write!(
                f,
                "outlet {outlet} does not exist on this PDU (no object at {oid}; wrong outlet number or model)"
            ),
            PduError::NoSuchName(n) => write!(f, "no outlet named '{n}'"),
            PduError::AmbiguousName(n) => write!(f, "several outlets are named '{n}'; use the outlet number"),
            PduError::NotSwitchable(n) => write!(f, "outlet {n} is not switchable"),
            PduError::UnexpectedValue { oid, what } => write!(f, "unexpected value at {oid}: expected {what}"),
            PduError::NoUnits { model, unit } => write!(
                f,
                "model {model} has a single unit: switch/unit {unit} cannot be honoured (only 1 names it); refusing rather than switching unit 1's outlet"
            ),
            PduError::NoSuchModuleOutlet { module, outlet } => {
                write!(f, "unit {module} has no outlet {outlet} on this PDU")
            }
        }
    }
}

impl std::error::Error for PduError {}

impl From<SnmpError> for PduError {
    fn from(e: SnmpError) -> Self {
        PduError::Snmp(e)
    }
}

impl From<ModelError> for PduError {
    fn from(e: ModelError) -> Self {
        PduError::Model(e)
    }
}

/// One row of `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutletInfo {
    pub number: u32,
    /// The PDU's name for it, when the model has a name column (empty names are `None`).
    pub name: Option<String>,
    pub state: OutletState,
}

/// How the fencer addresses an outlet (`plug=`): a number, or a name to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutletRef {
    Number(u32),
    Name(String),
}

impl OutletRef {
    /// All digits → number (≥ 1), anything else → name.
    pub fn parse(text: &str) -> OutletRef {
        let t = text.trim();
        match t.parse::<u32>() {
            Ok(n) if n > 0 && t.bytes().all(|b| b.is_ascii_digit()) => OutletRef::Number(n),
            _ => OutletRef::Name(t.to_string()),
        }
    }
}

/// Which model to use.
#[derive(Debug, Clone)]
pub enum ModelChoice {
    /// Read sysObjectID and pick the matching built-in model.
    Detect,
    /// A built-in model or a custom one.
    Given(Box<PduModel>),
}

/// A PDU reached over SNMP with a known model.
#[derive(Debug)]
pub struct PduDevice {
    session: Session,
    model: PduModel,
    unit: u32,
    /// The linked unit asked for, on models whose units share one table ([`PduModel::modules`]).
    module: Option<u32>,
    /// Budget of each request of a table walk (None: the walk's deadline alone).
    walk_step: Option<std::time::Duration>,
}

/// Reads sysObjectID.0.
pub fn read_sys_object_id(session: &mut Session, deadline: &Deadline) -> Result<Oid, PduError> {
    let oid = Oid::parse(SYS_OBJECT_ID).map_err(|e| SnmpError::Io(e.to_string()))?;
    match session.get_value(&oid, deadline)? {
        Value::ObjectId(o) => Ok(o),
        _ => Err(PduError::UnexpectedValue {
            oid,
            what: "an OBJECT IDENTIFIER",
        }),
    }
}

impl PduDevice {
    /// Opens the SNMP session and settles the model (one GET of sysObjectID when detecting).
    /// `unit` overrides the model's default `{u}` (daisy-chain unit, PDU id, switch number).
    pub fn connect(
        target: &Target,
        creds: &Credentials,
        choice: ModelChoice,
        unit: Option<u32>,
        deadline: &Deadline,
    ) -> Result<PduDevice, PduError> {
        let mut session = Session::open(target, creds, deadline)?;
        let model = match choice {
            ModelChoice::Given(m) => *m,
            ModelChoice::Detect => {
                let sys = read_sys_object_id(&mut session, deadline)?;
                model::detect(&sys)
                    .cloned()
                    .ok_or(PduError::UnknownDevice(sys))?
            }
        };
        Self::with_session(session, model, unit)
    }

    /// Wraps an open session. `unit` is the `{u}` of models with a unit slot, the module of
    /// linked units ([`PduModel::modules`]), and refused on single-unit models unless it is 1
    /// (fence_apc_snmp's default switch, naming the only unit there is).
    pub fn with_session(
        session: Session,
        model: PduModel,
        unit: Option<u32>,
    ) -> Result<PduDevice, PduError> {
        let (unit, module) = match unit {
            _ if model.modules.is_some() => (model.default_unit, unit),
            Some(u) if model.has_units() => (u, None),
            Some(u) if u != 1 => {
                return Err(PduError::NoUnits {
                    model: model.id.to_string(),
                    unit: u,
                })
            }
            _ => (model.default_unit, None),
        };
        Ok(PduDevice {
            session,
            model,
            unit,
            module,
            walk_step: None,
        })
    }

    /// Gives each request of a table walk its own `budget` (the caller's deadline still bounds
    /// the whole walk): name lookups and lists on slow PDUs take many round trips.
    pub fn set_walk_step(&mut self, budget: std::time::Duration) {
        self.walk_step = Some(budget);
    }

    /// The linked unit in use on a modules model (`switch=2`), if one was asked for.
    pub fn module(&self) -> Option<u32> {
        self.module
    }

    pub fn model(&self) -> &PduModel {
        &self.model
    }

    /// The `{u}` in use (daisy-chain unit, PDU id, switch number).
    pub fn unit(&self) -> u32 {
        self.unit
    }

    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Current state of `outlet`: one GET. A missing status cell is [`PduError::NoSuchOutlet`],
    /// an unmapped value is `OutletState::Unknown`, never `Off`.
    pub fn outlet_state(
        &mut self,
        outlet: u32,
        deadline: &Deadline,
    ) -> Result<OutletState, PduError> {
        let oid = self.model.status.expand(outlet, self.unit)?;
        let Some((pending_tmpl, pending_yes)) = self.model.pending.clone() else {
            return self.status_only(outlet, oid, deadline);
        };
        // Both cells in one GET, so the pair is one moment's reading.
        let pending_oid = pending_tmpl.expand(outlet, self.unit)?;
        let vbs = match self
            .session
            .get(&[oid.clone(), pending_oid.clone()], deadline)
        {
            Ok(v) => v,
            // v1 fails the whole GET over a firmware without the column: status alone.
            Err(SnmpError::Missing { oid: o, .. }) if o == pending_oid => {
                return self.status_only(outlet, oid, deadline)
            }
            Err(SnmpError::Missing { oid, .. }) => {
                return Err(PduError::NoSuchOutlet { outlet, oid })
            }
            Err(e) => return Err(e.into()),
        };
        let state = match vbs.first().map(|vb| &vb.value) {
            Some(Value::Integer(v)) => self.model.state_of(*v),
            Some(v) if v.exception().is_some() => {
                return Err(PduError::NoSuchOutlet { outlet, oid })
            }
            _ => {
                return Err(PduError::UnexpectedValue {
                    oid,
                    what: "an INTEGER",
                })
            }
        };
        // A firmware without the column answers an exception: nothing known to be pending.
        let pending =
            matches!(vbs.get(1).map(|vb| &vb.value), Some(Value::Integer(v)) if *v == pending_yes);
        Ok(match (state, pending) {
            (OutletState::Off, true) => OutletState::PendingOn,
            (OutletState::On, true) => OutletState::PendingOff,
            (s, _) => s,
        })
    }

    fn status_only(
        &mut self,
        outlet: u32,
        oid: Oid,
        deadline: &Deadline,
    ) -> Result<OutletState, PduError> {
        match self.session.get_value(&oid, deadline) {
            Ok(Value::Integer(v)) => Ok(self.model.state_of(v)),
            Ok(_) => Err(PduError::UnexpectedValue {
                oid,
                what: "an INTEGER",
            }),
            Err(SnmpError::Missing { oid, .. }) => Err(PduError::NoSuchOutlet { outlet, oid }),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks that `outlet` exists and, when the model can tell, that it is switchable; returns
    /// its current state. Call before the first command so a typo never reaches a SET.
    pub fn check_outlet(
        &mut self,
        outlet: u32,
        deadline: &Deadline,
    ) -> Result<OutletState, PduError> {
        let state = self.outlet_state(outlet, deadline)?;
        if let Some((tmpl, yes)) = &self.model.switchable {
            let oid = tmpl.expand(outlet, self.unit)?;
            match self.session.get_value(&oid, deadline) {
                Ok(Value::Integer(v)) if v == *yes => {}
                Ok(Value::Integer(_)) => return Err(PduError::NotSwitchable(outlet)),
                Ok(_) => {
                    return Err(PduError::UnexpectedValue {
                        oid,
                        what: "an INTEGER",
                    })
                }
                // Column absent on this firmware: the status cell exists, go on.
                Err(SnmpError::Missing { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(state)
    }

    /// Sends the command for `action` (one SET). Whether it took effect is for the caller to
    /// confirm with [`outlet_state`](Self::outlet_state).
    pub fn set_outlet(
        &mut self,
        outlet: u32,
        action: PowerAction,
        deadline: &Deadline,
    ) -> Result<(), PduError> {
        let (oid, value) = self.model.command(action, outlet, self.unit)?;
        match self.session.set_integer(&oid, value, deadline) {
            Ok(()) => Ok(()),
            // v1 answers a SET on an absent cell with noSuchName.
            Err(SnmpError::Missing { oid, .. }) => Err(PduError::NoSuchOutlet { outlet, oid }),
            Err(e) => Err(e.into()),
        }
    }

    /// Outlet count from the model's count object, when it has one.
    pub fn outlet_count(&mut self, deadline: &Deadline) -> Result<Option<u32>, PduError> {
        let Some(t) = self.model.outlet_count.clone() else {
            return Ok(None);
        };
        let oid = t.expand(0, self.unit)?;
        match self.session.get_value(&oid, deadline) {
            Ok(Value::Integer(n)) => Ok(u32::try_from(n).ok()),
            Ok(Value::Unsigned(n)) => Ok(u32::try_from(n).ok()),
            Ok(_) => Err(PduError::UnexpectedValue {
                oid,
                what: "an INTEGER",
            }),
            Err(SnmpError::Missing { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Names of all outlets (walk of the name column); empty when the model has none.
    pub fn outlet_names(&mut self, deadline: &Deadline) -> Result<Vec<(u32, String)>, PduError> {
        let Some(t) = self.model.name.clone() else {
            return Ok(Vec::new());
        };
        let root = t.walk_root(self.unit)?;
        let rows = self
            .session
            .walk_stepwise(&root, self.walk_step, deadline)?;
        Ok(rows
            .into_iter()
            .filter_map(|vb| Some((t.outlet_of(&vb.oid, self.unit)?, vb.value.text()?)))
            .collect())
    }

    /// Every outlet with its name and state: a walk of the status column and one of the name
    /// column, joined by outlet number.
    pub fn list_outlets(&mut self, deadline: &Deadline) -> Result<Vec<OutletInfo>, PduError> {
        let status = self.model.status.clone();
        let root = status.walk_root(self.unit)?;
        let rows = self
            .session
            .walk_stepwise(&root, self.walk_step, deadline)?;
        let names = self.outlet_names(deadline)?;
        let mut out: Vec<OutletInfo> = rows
            .into_iter()
            .filter_map(|vb| {
                let n = status.outlet_of(&vb.oid, self.unit)?;
                let state = match vb.value {
                    Value::Integer(v) => self.model.state_of(v),
                    _ => return None,
                };
                let name = names
                    .iter()
                    .find(|(m, _)| *m == n)
                    .map(|(_, s)| s.clone())
                    .filter(|s| !s.is_empty());
                Some(OutletInfo {
                    number: n,
                    name,
                    state,
                })
            })
            .collect();
        out.sort_by_key(|o| o.number);
        out.dedup_by_key(|o| o.number);
        if let Some(m) = self.module {
            // Linked units: only the asked unit's outlets, by their number on that unit
            // (what `plug` means together with `switch`).
            let rows = self.module_rows(deadline)?;
            out = out
                .into_iter()
                .filter_map(|mut o| {
                    let (_, module, number) = rows.iter().find(|(i, _, _)| *i == o.number)?;
                    (*module == m).then(|| {
                        o.number = *number;
                        o
                    })
                })
                .collect();
            out.sort_by_key(|o| o.number);
        }
        Ok(out)
    }

    /// `(table index, module, outlet number)` of every row of a linked-units table.
    fn module_rows(&mut self, deadline: &Deadline) -> Result<Vec<(u32, u32, u32)>, PduError> {
        let Some((module_col, number_col)) = self.model.modules.clone() else {
            return Ok(Vec::new());
        };
        let column =
            |dev: &mut PduDevice, t: &model::OidTemplate| -> Result<Vec<(u32, u32)>, PduError> {
                let root = t.walk_root(dev.unit)?;
                Ok(dev
                    .session
                    .walk(&root, deadline)?
                    .into_iter()
                    .filter_map(|vb| {
                        let i = t.outlet_of(&vb.oid, dev.unit)?;
                        match vb.value {
                            Value::Integer(v) => Some((i, u32::try_from(v).ok()?)),
                            _ => None,
                        }
                    })
                    .collect())
            };
        let modules = column(self, &module_col)?;
        let numbers = column(self, &number_col)?;
        Ok(modules
            .into_iter()
            .filter_map(|(i, m)| {
                let (_, n) = numbers.iter().find(|(j, _)| *j == i)?;
                Some((i, m, *n))
            })
            .collect())
    }

    /// The outlet number for `plug`: numbers are taken as they are (existence is checked by
    /// [`check_outlet`](Self::check_outlet)); names are looked up exactly, then
    /// case-insensitively, and must be unique.
    pub fn resolve(&mut self, plug: &OutletRef, deadline: &Deadline) -> Result<u32, PduError> {
        let Some(m) = self.module else {
            return match plug {
                OutletRef::Number(n) => Ok(*n),
                OutletRef::Name(name) => find_by_name(&self.outlet_names(deadline)?, name),
            };
        };
        let rows = self.module_rows(deadline)?;
        match plug {
            OutletRef::Number(n) => rows
                .iter()
                .find(|(_, module, number)| *module == m && number == n)
                .map(|(i, _, _)| *i)
                .ok_or(PduError::NoSuchModuleOutlet {
                    module: m,
                    outlet: *n,
                }),
            OutletRef::Name(name) => {
                // Names are looked up on the asked unit only: linked units often repeat them.
                let names: Vec<(u32, String)> = self
                    .outlet_names(deadline)?
                    .into_iter()
                    .filter(|(i, _)| rows.iter().any(|(j, module, _)| i == j && *module == m))
                    .collect();
                find_by_name(&names, name)
            }
        }
    }
}

/// Pure name lookup: exact match first, then ASCII case-insensitive; duplicates are an error.
pub fn find_by_name(names: &[(u32, String)], wanted: &str) -> Result<u32, PduError> {
    let pick = |hits: Vec<u32>| -> Option<Result<u32, PduError>> {
        match hits.as_slice() {
            [] => None,
            [one] => Some(Ok(*one)),
            _ => Some(Err(PduError::AmbiguousName(wanted.to_string()))),
        }
    };
    let exact = names
        .iter()
        .filter(|(_, s)| s == wanted)
        .map(|(n, _)| *n)
        .collect();
    if let Some(r) = pick(exact) {
        return r;
    }
    let folded = names
        .iter()
        .filter(|(_, s)| s.eq_ignore_ascii_case(wanted))
        .map(|(n, _)| *n)
        .collect();
    pick(folded).unwrap_or_else(|| Err(PduError::NoSuchName(wanted.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlet_refs() {
        assert_eq!(OutletRef::parse("3"), OutletRef::Number(3));
        assert_eq!(OutletRef::parse(" 12 "), OutletRef::Number(12));
        assert_eq!(OutletRef::parse("0"), OutletRef::Name("0".into()));
        assert_eq!(OutletRef::parse("+3"), OutletRef::Name("+3".into()));
        assert_eq!(OutletRef::parse("node1"), OutletRef::Name("node1".into()));
    }

    #[test]
    fn name_lookup() {
        let names = vec![
            (1, "node1".to_string()),
            (2, "Node2".to_string()),
            (3, "node2".to_string()),
            (4, "x".into()),
            (5, "X".into()),
            (6, "x".into()),
        ];
        assert_eq!(find_by_name(&names, "node1").unwrap(), 1);
        assert_eq!(find_by_name(&names, "NODE1").unwrap(), 1);
        assert_eq!(find_by_name(&names, "node2").unwrap(), 3);
        assert_eq!(find_by_name(&names, "Node2").unwrap(), 2);
        assert!(matches!(
            find_by_name(&names, "NODE2"),
            Err(PduError::AmbiguousName(_))
        ));
        assert!(matches!(
            find_by_name(&names, "x"),
            Err(PduError::AmbiguousName(_))
        ));
        assert!(matches!(
            find_by_name(&names, "node9"),
            Err(PduError::NoSuchName(_))
        ));
    }
}
