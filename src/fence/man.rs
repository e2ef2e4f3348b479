//! `fence_<name>(8)`, from the same declaration as the metadata.

use super::FenceSpec;
use crate::man::{parameter_entries, roff};
use crate::params::{params, Decl, Kind};
use std::fmt::Write;

/// `fence_<name>(8)`: stdin names and command-line options from the same declaration.
pub fn fence_page(spec: &FenceSpec, decl: Decl) -> String {
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
    s.push_str(&parameter_entries(params(decl), |p| {
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
