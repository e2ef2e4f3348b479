//! Fence agent metadata in fence-agents' dialect (`/usr/share/cluster/relaxng/metadata.rng`):
//! no `<version>`, a `getopt` hint per parameter, type `second`, and every deprecated name
//! listed as its own parameter with `deprecated="1"`, obsoleted by the new one.

use super::spec::FenceAction;
use super::spec::FenceSpec;
use crate::params::{params, Choice, Decl, Kind, Param};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

/// The actions advertised; `on` is not automatic (no unfencing needed for power fencing).
fn actions(spec: &FenceSpec) -> Vec<&'static str> {
    FenceAction::advertised(spec)
        .into_iter()
        .map(FenceAction::name)
        .collect()
}

fn getopt(p: &Param, name: &str) -> String {
    let long = format!("--{}", name.replace('_', "-"));
    let value = match p.kind {
        Kind::Boolean => String::new(),
        _ => format!("=[{}]", p.value_hint.unwrap_or(p.name)),
    };
    match p.short {
        Some(c) if name == p.name => format!("-{c}, {long}{value}"),
        _ => format!("{long}{value}"),
    }
}

/// The `-h`/`--help` text: fencing.py's usage layout, one line per option.
pub fn usage(spec: &FenceSpec, decl: Decl) -> String {
    let mut out = format!("Usage:\n\t{} [options]\nOptions:\n", spec.name);
    for p in params(decl) {
        out.push_str(&format!("   {:<36} {}\n", getopt(p, p.name), p.shortdesc));
    }
    out.push_str("   -h, --help                           Display this help and exit\n");
    out.push_str("   -V, --version                        Display version information and exit\n");
    out
}

fn ty(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "string",
        Kind::Integer => "integer",
        Kind::Boolean => "boolean",
        Kind::Second => "second",
        Kind::Select(_) => "select",
    }
}

fn bool01(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

pub fn render(spec: &FenceSpec, decl: Decl) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b'\t', 1);
    write(&mut w, spec, decl).expect("writing XML into memory cannot fail");
    let mut out = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    out.push('\n');
    out
}

fn write(w: &mut Writer<Vec<u8>>, spec: &FenceSpec, decl: Decl) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", None, None)))?;
    w.create_element("resource-agent")
        .with_attribute(("name", spec.name))
        .with_attribute(("shortdesc", spec.shortdesc))
        .write_inner_content(|w| {
            for (name, short) in spec.symlinks {
                w.create_element("symlink")
                    .with_attribute(("name", *name))
                    .with_attribute(("shortdesc", *short))
                    .write_empty()?;
            }
            w.create_element("longdesc")
                .write_text_content(BytesText::new(spec.longdesc))?;
            w.create_element("vendor-url")
                .write_text_content(BytesText::new(spec.vendor_url))?;
            w.create_element("parameters").write_inner_content(|w| {
                for p in params(decl) {
                    for alias in p.aliases {
                        parameter(w, p, alias, true)?;
                    }
                    parameter(w, p, p.name, false)?;
                }
                Ok(())
            })?;
            w.create_element("actions").write_inner_content(|w| {
                for a in actions(spec) {
                    let mut e = w.create_element("action").with_attribute(("name", a));
                    if a == "on" {
                        e = e.with_attribute(("automatic", "0"));
                    }
                    e.write_empty()?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn parameter(
    w: &mut Writer<Vec<u8>>,
    p: &Param,
    name: &str,
    deprecated: bool,
) -> std::io::Result<()> {
    let obsoletes = p.aliases.join(" ");
    let mut e = w
        .create_element("parameter")
        .with_attribute(("name", name))
        .with_attribute(("unique", bool01(p.unique)))
        .with_attribute(("required", bool01(p.required)));
    if deprecated {
        e = e.with_attribute(("deprecated", "1"));
    } else if !p.aliases.is_empty() {
        e = e.with_attribute(("obsoletes", obsoletes.as_str()));
    }
    e.write_inner_content(|w| {
        let opt = getopt(p, name);
        w.create_element("getopt")
            .with_attribute(("mixed", opt.as_str()))
            .write_empty()?;
        let mut c = w
            .create_element("content")
            .with_attribute(("type", ty(p.kind)));
        if let Some(d) = p.default {
            c = c.with_attribute(("default", d));
        }
        match p.kind {
            Kind::Select(options) => {
                c.write_inner_content(|w| {
                    for o in options {
                        w.create_element("option")
                            .with_attribute(("value", *o))
                            .write_empty()?;
                    }
                    Ok(())
                })?;
            }
            _ => {
                c.write_empty()?;
            }
        }
        w.create_element("shortdesc")
            .with_attribute(("lang", "en"))
            .write_text_content(BytesText::new(p.shortdesc))?;
        Ok(())
    })?;
    Ok(())
}
