//! Reading a fence request: `name=value` lines on stdin (how pacemaker-fenced calls), or long
//! and short options on the command line (how admins call). Never both: any argument at all
//! means stdin is not read, as in fence-agents.

use crate::params::{find, params, Decl, Kind, Param};

/// A raw request: ordered `(canonical name, value)` pairs and the warnings to print.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RawRequest {
    pub pairs: Vec<(String, String)>,
    /// Unknown stdin names: ignored (the API says so) but mentioned once on stderr.
    pub ignored: Vec<String>,
    /// Stdin booleans with a value that is no boolean: ignored with a warning, as fencing.py
    /// does ("Ignoring option ... because it does not have value"), so the default applies.
    pub bad_booleans: Vec<String>,
    /// `-h`/`--help` or `-V`/`--version` on the command line: answered without a device.
    pub info: Option<Info>,
    /// Undeclared stdin names that, in fence-agents, choose which device or outlet is switched
    /// (see [`DEVICE_SELECTORS`]), with a value that enables them: the runtime refuses these.
    pub refused: Vec<&'static str>,
}

/// The command-line requests fencing.py answers before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Info {
    Help,
    Version,
}

/// fence-agents options that change *which* machine or outlet is switched, with what they do
/// there. Ignoring one would switch a different machine than asked (`port_as_ip=1` ignored
/// fences the BMC in `ip`; `target=0x82` ignored switches the addressed BMC's own chassis), so
/// an agent that does not declare one refuses the request instead of warning.
pub const DEVICE_SELECTORS: &[(&str, &str)] = &[
    ("port_as_ip", "the plug value is the device address"),
    ("target", "IPMI bridging to another controller"),
    ("switch", "physical switch number"),
    ("uuid", "virtual machine UUID"),
    ("vmware_datacenter", "VMware datacenter"),
    ("systems_uri", "Redfish system"),
    ("ipport", "device port"),
    ("ipaddr", "device address"),
];

/// Names Pacemaker may send that an agent need not declare, silently accepted: the target's
/// name, and the host argument (`port`/`plug`) that pacemaker-fenced passes even to agents
/// without outlets, where a warning on every fence would only be noise.
const SILENT: &[&str] = &["nodename", "port", "plug"];

/// Parses stdin text. Lines are trimmed; `#` lines and blank lines are skipped; the value runs
/// to the end of the line with one pair of surrounding double quotes removed; names may use
/// `-` for `_`; the last occurrence wins (resolved later, by order).
pub fn parse_stdin(decl: Decl, text: &str) -> RawRequest {
    let mut req = RawRequest::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            req.ignored.push(line.chars().take(40).collect());
            continue;
        };
        let name = name.trim().replace('-', "_");
        let value = strip_quotes(value.trim());
        match find(decl, &name) {
            Some(p) if p.kind == Kind::Boolean && crate::params::parse_bool(value).is_none() => {
                req.bad_booleans.push(p.name.to_string())
            }
            Some(p) => req.pairs.push((p.name.to_string(), value.to_string())),
            None if SILENT.contains(&name.as_str()) => {}
            None => match DEVICE_SELECTORS.iter().find(|(n, _)| *n == name) {
                // Empty or false-y values leave the choice of device as it is.
                Some((n, _)) if crate::params::parse_bool(value) != Some(false) => {
                    req.refused.push(n)
                }
                _ => req.ignored.push(name),
            },
        }
    }
    req
}

fn strip_quotes(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

/// Why the command line was refused; the runtime prints it and exits 1.
#[derive(Debug, PartialEq, Eq)]
pub struct ArgError(pub String);

/// Parses `--name=value`, `--name value`, `-x value`, `-xvalue`; a boolean option without a
/// value means true. Option names are the parameter names with `_` written as `-`
/// (`--power-timeout`), the underscore form is accepted too. Secrets are refused here.
pub fn parse_args(decl: Decl, args: &[String]) -> Result<RawRequest, ArgError> {
    let mut req = RawRequest::default();
    let mut i = 0;
    // The rest of a cluster of short flags (`-vvq`), taken before the next argument.
    let mut cluster: Option<String> = None;
    while i < args.len() || cluster.is_some() {
        let arg = match cluster.take() {
            Some(rest) => format!("-{rest}"),
            None => {
                i += 1;
                args[i - 1].clone()
            }
        };
        match arg.as_str() {
            "-h" | "--help" => {
                req.info = Some(Info::Help);
                return Ok(req);
            }
            "-V" | "--version" => {
                req.info = Some(Info::Version);
                return Ok(req);
            }
            _ => {}
        }
        let (param, inline): (&Param, Option<String>) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let p = find(decl, &name.replace('-', "_"))
                .ok_or_else(|| ArgError(format!("unknown option '--{name}'")))?;
            (p, inline)
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let letter = chars.next().unwrap_or('-');
            let rest: String = chars.collect();
            let p = params(decl)
                .find(|p| p.short == Some(letter))
                .ok_or_else(|| ArgError(format!("unknown option '-{letter}'")))?;
            if p.kind == Kind::Boolean {
                // getopt: a flag takes no value, what follows is the next flag (`-vvv`).
                if !rest.is_empty() {
                    cluster = Some(rest);
                }
                (p, None)
            } else {
                (p, (!rest.is_empty()).then_some(rest))
            }
        } else {
            return Err(ArgError(format!("unexpected argument '{arg}'")));
        };
        if param.secret {
            return Err(ArgError(format!(
                "refusing '{}' on the command line, where any user can read it; pass it on standard input, or use password_script or password_file",
                param.name
            )));
        }
        let value = match (inline, param.kind) {
            (Some(v), _) => v,
            (None, Kind::Boolean) => "1".to_string(),
            (None, _) => {
                let v = args
                    .get(i)
                    .ok_or_else(|| ArgError(format!("option '{}' needs a value", param.name)))?;
                i += 1;
                v.clone()
            }
        };
        req.pairs.push((param.name.to_string(), value));
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    static DECL: Decl = &[
        &Param::string("action").aliases(&["option"]).short('o'),
        &Param::string("ip").aliases(&["ipaddr"]).short('a'),
        &Param::string("password")
            .secret()
            .aliases(&["passwd"])
            .short('p'),
        &Param::boolean("ssl_insecure"),
        &Param::boolean("lanplus").short('P'),
        &Param::second("power_timeout"),
    ];

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stdin_comments_quotes_aliases_and_unknown() {
        let r = parse_stdin(
            DECL,
            "# comment\n\n  ipaddr=10.0.0.1 \naction=\"off\"\npasswd=a=b \nbogus=1\nnodename=node2\nport=node2\npower-timeout=5\nip=10.0.0.2\n",
        );
        assert_eq!(
            r.pairs,
            vec![
                ("ip".into(), "10.0.0.1".into()),
                ("action".into(), "off".into()),
                ("password".into(), "a=b".into()),
                ("power_timeout".into(), "5".into()),
                ("ip".into(), "10.0.0.2".into()),
            ]
        );
        assert_eq!(r.ignored, vec!["bogus".to_string()]);
        assert!(r.refused.is_empty());
    }

    #[test]
    fn undeclared_device_selectors_are_refused_not_ignored() {
        let r = parse_stdin(
            DECL,
            "ip=1.2.3.4\nport_as_ip=1\ntarget=0x82\nswitch=\nuuid=0\nport=node2\n",
        );
        assert_eq!(r.refused, vec!["port_as_ip", "target"]);
        assert_eq!(r.ignored, vec!["switch".to_string(), "uuid".to_string()]);
    }

    #[test]
    fn argv_forms() {
        let r = parse_args(
            DECL,
            &args(&[
                "-o",
                "status",
                "--ip=1.2.3.4",
                "-P",
                "--ssl-insecure=0",
                "--power-timeout",
                "3",
            ]),
        )
        .unwrap();
        assert_eq!(
            r.pairs,
            vec![
                ("action".into(), "status".into()),
                ("ip".into(), "1.2.3.4".into()),
                ("lanplus".into(), "1".into()),
                ("ssl_insecure".into(), "0".into()),
                ("power_timeout".into(), "3".into()),
            ]
        );
        assert_eq!(
            parse_args(DECL, &args(&["-ostatus"])).unwrap().pairs,
            vec![("action".into(), "status".into())]
        );
    }

    #[test]
    fn stacked_flags_help_version_and_stdin_booleans_as_fencing_py() {
        static D: Decl = &[
            &Param::string("action").short('o'),
            &Param::boolean("verbose").short('v'),
            &Param::boolean("quiet").short('q'),
            &Param::boolean("lanplus").short('P'),
        ];
        let r = parse_args(D, &args(&["-vvv", "-qostatus", "-vP"])).unwrap();
        let names: Vec<&str> = r.pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["verbose", "verbose", "verbose", "quiet", "action", "verbose", "lanplus"]
        );
        assert_eq!(r.pairs[4].1, "status");
        let r = parse_args(D, &args(&["-vo", "off"])).unwrap();
        assert_eq!(r.pairs[1], ("action".into(), "off".into()));
        for (a, want) in [
            ("-h", Info::Help),
            ("--help", Info::Help),
            ("-V", Info::Version),
            ("--version", Info::Version),
        ] {
            assert_eq!(
                parse_args(D, &args(&["-o", "off", a])).unwrap().info,
                Some(want)
            );
        }
        let r = parse_stdin(D, "lanplus=maybe\nverbose=yes\nquiet=\n");
        assert_eq!(r.bad_booleans, vec!["lanplus".to_string()]);
        assert_eq!(
            r.pairs,
            vec![
                ("verbose".into(), "yes".into()),
                ("quiet".into(), "".into())
            ]
        );
    }

    #[test]
    fn argv_refusals_name_the_option() {
        let e = parse_args(DECL, &args(&["--bogus=1"])).unwrap_err();
        assert!(e.0.contains("--bogus"), "{e:?}");
        let e = parse_args(DECL, &args(&["-x"])).unwrap_err();
        assert!(e.0.contains("-x"), "{e:?}");
        let e = parse_args(DECL, &args(&["-p", "hunter2"])).unwrap_err();
        assert!(
            e.0.contains("password") && !e.0.contains("hunter2"),
            "{e:?}"
        );
        let e = parse_args(DECL, &args(&["--ip"])).unwrap_err();
        assert!(e.0.contains("needs a value"), "{e:?}");
    }
}
