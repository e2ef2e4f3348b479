//! The agent description and its `meta-data` XML.
//!
//! Two validators read OCF metadata and they disagree: ocf-tester checks it against the 1.0
//! DTD `ra-api-1.dtd`, Pacemaker and the OCF 1.1 spec against a RelaxNG schema that the DTD
//! contradicts (`select`, `reloadable`, `unique-group`, `<deprecated>` are 1.1-only). Bulwark
//! emits the intersection of both: `<version>1.1</version>` under a DTD doctype, parameter
//! types `string`/`integer`/`boolean` only. A `select` parameter is written as `string` with
//! its choices in the descriptions and enforced by validation; no parameter is declared
//! reloadable (no agent implements `reload-agent`, which the DTD does not allow either).
//!
//! One exception: an agent that advertises OCF 1.0's `reload` action claims
//! `<version>1.0</version>`, because Pacemaker honours `reload` only for agents below 1.1
//! (`ra_supports_legacy_reload` in its `controld_metadata.c`), and then reloads on a change of
//! any parameter that is not `unique` — what LINBIT's drbd.ocf relies on (it claims 1.0 too).
//! Every other agent is restarted on any change, the safe reading. Both validators run in the
//! tests.

use crate::params::{params, Decl, Kind, Param};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

/// How an action is advertised: Pacemaker and pcs copy these into the CIB's `<op>`s.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub name: &'static str,
    /// Seconds.
    pub timeout: u32,
    pub interval: Option<u32>,
    pub depth: Option<u32>,
    pub role: Option<&'static str>,
}

impl ActionSpec {
    pub const fn new(name: &'static str, timeout: u32) -> ActionSpec {
        ActionSpec {
            name,
            timeout,
            interval: None,
            depth: None,
            role: None,
        }
    }
    pub const fn interval(mut self, seconds: u32) -> ActionSpec {
        self.interval = Some(seconds);
        self
    }
    pub const fn depth(mut self, depth: u32) -> ActionSpec {
        self.depth = Some(depth);
        self
    }
    pub const fn role(mut self, role: &'static str) -> ActionSpec {
        self.role = Some(role);
        self
    }
}

/// Everything an OCF agent says about itself.
#[derive(Debug, Clone, Copy)]
pub struct AgentSpec {
    /// The type name (`vip`), also the binary's installed name.
    pub name: &'static str,
    pub shortdesc: &'static str,
    pub longdesc: &'static str,
    pub params: Decl,
    pub actions: &'static [ActionSpec],
}

impl AgentSpec {
    pub fn supports(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }
}

/// The text a `select` parameter's descriptions carry in place of the 1.1-only `<option>`s.
pub fn select_suffix(kind: Kind) -> Option<String> {
    match kind {
        Kind::Select(options) => Some(format!(" One of: {}.", options.join(", "))),
        _ => None,
    }
}

fn bool01(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

/// The OCF version the metadata claims: 1.0 for an agent with a legacy `reload` (see the
/// module documentation), else 1.1.
pub fn ocf_version(spec: &AgentSpec) -> &'static str {
    if spec.supports("reload") {
        "1.0"
    } else {
        "1.1"
    }
}

/// Renders the `meta-data` document.
pub fn render(spec: &AgentSpec) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write(&mut w, spec).expect("writing XML into memory cannot fail");
    let mut out = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    out.push('\n');
    out
}

fn write(w: &mut Writer<Vec<u8>>, spec: &AgentSpec) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", None, None)))?;
    w.write_event(Event::DocType(BytesText::from_escaped(
        "resource-agent SYSTEM \"ra-api-1.dtd\"",
    )))?;
    w.create_element("resource-agent")
        .with_attribute(("name", spec.name))
        .with_attribute(("version", env!("CARGO_PKG_VERSION")))
        .write_inner_content(|w| {
            w.create_element("version")
                .write_text_content(BytesText::new(ocf_version(spec)))?;
            desc(w, "longdesc", spec.longdesc)?;
            desc(w, "shortdesc", spec.shortdesc)?;
            w.create_element("parameters").write_inner_content(|w| {
                for p in params(spec.params) {
                    parameter(w, p)?;
                }
                Ok(())
            })?;
            w.create_element("actions").write_inner_content(|w| {
                for a in spec.actions {
                    let timeout = format!("{}s", a.timeout);
                    let interval = a.interval.map(|i| format!("{i}s"));
                    let depth = a.depth.map(|d| d.to_string());
                    let mut e = w
                        .create_element("action")
                        .with_attribute(("name", a.name))
                        .with_attribute(("timeout", timeout.as_str()));
                    if let Some(i) = &interval {
                        e = e.with_attribute(("interval", i.as_str()));
                    }
                    if let Some(d) = &depth {
                        e = e.with_attribute(("depth", d.as_str()));
                    }
                    if let Some(r) = a.role {
                        e = e.with_attribute(("role", r));
                    }
                    e.write_empty()?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn desc(w: &mut Writer<Vec<u8>>, element: &str, text: &str) -> std::io::Result<()> {
    w.create_element(element)
        .with_attribute(("lang", "en"))
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn parameter(w: &mut Writer<Vec<u8>>, p: &Param) -> std::io::Result<()> {
    let suffix = select_suffix(p.kind).unwrap_or_default();
    let longdesc = format!("{}{}", p.longdesc, suffix);
    let ty = match p.kind {
        Kind::Boolean => "boolean",
        Kind::Integer | Kind::Second => "integer",
        Kind::String | Kind::Select(_) => "string",
    };
    w.create_element("parameter")
        .with_attribute(("name", p.name))
        .with_attribute(("unique", bool01(p.unique)))
        .with_attribute(("required", bool01(p.required)))
        .write_inner_content(|w| {
            desc(w, "longdesc", &longdesc)?;
            desc(w, "shortdesc", p.shortdesc)?;
            let mut c = w.create_element("content").with_attribute(("type", ty));
            if let Some(d) = p.default {
                c = c.with_attribute(("default", d));
            }
            c.write_empty()?;
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPEC: AgentSpec = AgentSpec {
        name: "demo",
        shortdesc: "Demo <agent>",
        longdesc: "A & B",
        params: &[
            &Param::string("ip")
                .required()
                .unique()
                .describe("IP", "The address."),
            &Param::select("mode", &["fast", "slow"])
                .default("fast")
                .describe("Mode", "How."),
        ],
        actions: &[
            ActionSpec::new("start", 20),
            ActionSpec::new("monitor", 20).interval(10).depth(0),
            ActionSpec::new("monitor", 20).interval(11).role("Promoted"),
        ],
    };

    #[test]
    fn renders_the_dtd_compatible_shape() {
        let xml = render(&SPEC);
        assert!(xml.starts_with(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">"
        ));
        assert!(xml.contains("<version>1.1</version>"));
        assert!(xml.contains("Demo &lt;agent&gt;"));
        assert!(xml.contains("A &amp; B"));
        assert!(xml.contains("<parameter name=\"ip\" unique=\"1\" required=\"1\">"));
        assert!(xml.contains("How. One of: fast, slow."));
        assert!(xml.contains("<content type=\"string\" default=\"fast\"/>"));
        assert!(xml.contains(
            "<action name=\"monitor\" timeout=\"20s\" interval=\"11s\" role=\"Promoted\"/>"
        ));
        assert!(!xml.contains("select"));
    }
}
