//! `ocf_bulwark_<type>(7)`, from the same declaration as the metadata.

use super::AgentSpec;
use crate::man::{parameter_entries, roff};
use crate::params::params;
use std::fmt::Write;

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
    s.push_str(&parameter_entries(params(spec.params), |p| {
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
    let required: Vec<String> = params(spec.params)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocf::ActionSpec;
    use crate::params::Param;

    #[test]
    fn ocf_page_lists_every_parameter_and_action() {
        static SPEC: AgentSpec = AgentSpec {
            name: "demo",
            shortdesc: "Demo",
            longdesc: "Long.",
            params: &[&Param::string("ip")
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
