//! Man pages rendered from the same declarations as the metadata.

use crate::ocf::AgentSpec;
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
pub fn parameter_entries(params: &[Param], label: impl Fn(&Param) -> String) -> String {
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

/// `ocf_bulwark_<type>(7)`.
pub fn ocf_page(spec: &AgentSpec) -> String {
    let mut s = String::new();
    let upper = spec.name.to_ascii_uppercase();
    let _ = writeln!(
        s,
        ".TH OCF_BULWARK_{upper} 7 \"\" \"bulwark {}\" \"OCF resource agents\"",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        s,
        ".SH NAME\nocf:bulwark:{} \\- {}",
        spec.name,
        roff(spec.shortdesc)
    );
    let _ = writeln!(
        s,
        ".SH SYNOPSIS\n\\fB{}\\fR {{{}}}",
        spec.name,
        spec.actions
            .iter()
            .map(|a| a.name)
            .fold(Vec::<&str>::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            })
            .join("|")
    );
    let _ = writeln!(s, ".SH DESCRIPTION\n{}", roff(spec.longdesc));
    let _ = writeln!(s, ".SH PARAMETERS");
    s.push_str(&parameter_entries(spec.params, |p| {
        format!("\\fB{}\\fR (OCF_RESKEY_{})", p.name, p.name)
    }));
    let _ = writeln!(s, ".SH ACTIONS");
    for a in spec.actions {
        let mut facts = vec![format!("timeout {}s", a.timeout)];
        if let Some(i) = a.interval {
            facts.push(format!("interval {i}s"));
        }
        if let Some(d) = a.depth {
            facts.push(format!("depth {d}"));
        }
        if let Some(r) = a.role {
            facts.push(format!("role {r}"));
        }
        let _ = writeln!(s, ".TP\n\\fB{}\\fR\n{}", a.name, facts.join(", "));
    }
    let required: Vec<String> = spec
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| format!("{}=...", p.name))
        .collect();
    let _ = writeln!(
        s,
        ".SH EXAMPLE\n.nf\npcs resource create my\\-{} ocf:bulwark:{} {}\n.fi",
        spec.name,
        spec.name,
        required.join(" ")
    );
    let _ = writeln!(
        s,
        ".SH SEE ALSO\n\\fBpcs\\fR(8), \\fBcrm_resource\\fR(8), \\fBocf\\-tester\\fR(8)"
    );
    s
}

/// `fence_<name>(8)`: stdin names and command-line options from the same declaration.
pub fn fence_page(spec: &crate::fence::FenceSpec, params: &[Param]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        ".TH {} 8 \"\" \"bulwark {}\" \"Fence agents\"",
        spec.name.to_ascii_uppercase(),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        s,
        ".SH NAME\n{} \\- {}",
        roff(spec.name),
        roff(spec.shortdesc)
    );
    let _ = writeln!(
        s,
        ".SH SYNOPSIS\n\\fB{}\\fR [\\fIOPTIONS\\fR]\n.br\n\\fB{}\\fR < \\fIname=value lines\\fR",
        roff(spec.name),
        roff(spec.name)
    );
    let _ = writeln!(s, ".SH DESCRIPTION\n{}", roff(spec.longdesc));
    for (name, short) in spec.symlinks {
        let _ = writeln!(s, ".PP\n\\fB{}\\fR: {}", roff(name), roff(short));
    }
    let _ = writeln!(
        s,
        ".PP\nWith no arguments the agent reads one name=value per line on standard input (as pacemaker\\-fenced calls it); with arguments it reads only them. Passwords are accepted on standard input, from password_script or from password_file, never as arguments.\n.SH OPTIONS"
    );
    s.push_str(&parameter_entries(params, |p| {
        let opt = match (p.short, p.kind) {
            (Some(c), Kind::Boolean) => format!(
                "\\fB\\-{c}\\fR, \\fB\\-\\-{}\\fR",
                roff(&p.name.replace('_', "-"))
            ),
            (Some(c), _) => format!(
                "\\fB\\-{c}\\fR, \\fB\\-\\-{}\\fR=\\fIvalue\\fR",
                roff(&p.name.replace('_', "-"))
            ),
            (None, _) => format!("\\fB\\-\\-{}\\fR", roff(&p.name.replace('_', "-"))),
        };
        format!("{opt} (stdin: {})", roff(p.name))
    }));
    let _ = writeln!(
        s,
        ".SH EXIT STATUS\n0 success; 1 failure (one line on standard error says why); 2 for status when the target is off."
    );
    let _ = writeln!(s, ".SH SEE ALSO\n\\fBstonith_admin\\fR(8), \\fBpcs\\fR(8)");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocf::ActionSpec;

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(
            roff(".hidden\n'quote\na\\b"),
            "\\&.hidden\n\\&'quote\na\\eb"
        );
    }

    #[test]
    fn ocf_page_lists_every_parameter_and_action() {
        static SPEC: AgentSpec = AgentSpec {
            name: "demo",
            shortdesc: "Demo",
            longdesc: "Long.",
            params: &[Param::string("ip")
                .required()
                .describe("Address", "The IP.")],
            actions: &[
                ActionSpec::new("start", 20),
                ActionSpec::new("monitor", 20).interval(10),
            ],
        };
        let page = ocf_page(&SPEC);
        assert!(page.starts_with(".TH OCF_BULWARK_DEMO 7"));
        assert!(page.contains("\\fBip\\fR (OCF_RESKEY_ip)"));
        assert!(page.contains("string; required"));
        assert!(page.contains("timeout 20s, interval 10s"));
        assert!(page.contains("ocf:bulwark:demo ip=..."));
    }
}
