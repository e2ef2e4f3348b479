//! The roff both runtimes' man pages are written in, and the parameter entries they share;
//! each runtime renders its own page ([`crate::ocf::man`], [`crate::fence::man`]) from the
//! same declaration as its metadata.

use crate::params::{Kind, Param};
use std::fmt::Write;

/// Escapes text for roff: backslashes, and a leading `.` or `'` that would read as a request.
pub fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn kind_name(kind: Kind) -> String {
    match kind {
        Kind::String => "string".into(),
        Kind::Integer => "integer".into(),
        Kind::Boolean => "boolean".into(),
        Kind::Second => "seconds".into(),
        Kind::Select(o) => format!("one of {}", o.join(", ")),
    }
}

/// The `.TP` entries of a parameter list; `label` renders the entry's first line.
pub fn parameter_entries<'a>(
    params: impl IntoIterator<Item = &'a Param>,
    label: impl Fn(&Param) -> String,
) -> String {
    let mut s = String::new();
    for p in params {
        let mut facts = vec![kind_name(p.kind)];
        if p.required {
            facts.push("required".into());
        }
        if p.unique {
            facts.push("unique".into());
        }
        if let Some(d) = p.default {
            facts.push(format!(
                "default: {}",
                if d.is_empty() { "empty" } else { d }
            ));
        }
        if !p.aliases.is_empty() {
            facts.push(format!("deprecated names: {}", p.aliases.join(", ")));
        }
        let _ = writeln!(
            s,
            ".TP\n{}\n{} ({}).\n{}",
            label(p),
            roff(p.shortdesc),
            roff(&facts.join("; ")),
            roff(p.longdesc)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(
            roff(".hidden\n'quote\na\\b"),
            "\\&.hidden\n\\&'quote\na\\eb"
        );
    }
}
