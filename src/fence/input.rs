//! Reading a fence request: `name=value` lines on stdin (how pacemaker-fenced calls), or long
//! and short options on the command line (how admins call), parsed by clap from the same
//! declaration. Never both: any argument at all means stdin is not read, as in fence-agents.

use crate::params::{find, params, Decl, Kind};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command};

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

/// The command line as clap reads it, built from the declaration: each parameter is one
/// option, `--name` (with `_` written as `-`, the underscore form and every alias accepted as
/// well) and its short letter; a boolean option takes no value (`-vvv` stacks), or one after
/// `=` (`--lanplus=0`). `-h/--help` and `-V/--version` are ours: the help text is fencing.py's
/// layout from the same declaration ([`super::metadata::usage`]).
fn command(decl: Decl) -> Command {
    let mut cmd = Command::new("fence-agent")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new(HELP)
                .short('h')
                .long("help")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new(VERSION)
                .short('V')
                .long("version")
                .action(ArgAction::SetTrue),
        );
    for p in params(decl) {
        let long = p.name.replace('_', "-");
        let mut arg = Arg::new(p.name)
            .long(long.clone())
            .action(ArgAction::Append);
        let mut spellings: Vec<String> = std::iter::once(p.name)
            .chain(p.aliases.iter().copied())
            .flat_map(|n| [n.to_string(), n.replace('_', "-")])
            .filter(|n| *n != long)
            .collect();
        spellings.dedup();
        arg = arg.aliases(spellings);
        if let Some(c) = p.short {
            arg = arg.short(c);
        }
        arg = if p.kind == Kind::Boolean {
            arg.num_args(0..=1)
                .require_equals(true)
                .default_missing_value("1")
        } else {
            // getopt takes the next word whatever it looks like (`--plug -1`).
            arg.num_args(1).allow_hyphen_values(true)
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

const HELP: &str = "\0help";
const VERSION: &str = "\0version";

/// Parses `--name=value`, `--name value`, `-x value`, `-xvalue`; a boolean option without a
/// value means true. Option names are the parameter names with `_` written as `-`
/// (`--power-timeout`), the underscore form is accepted too. Secrets are refused here.
pub fn parse_args(decl: Decl, args: &[String]) -> Result<RawRequest, ArgError> {
    let mut req = RawRequest::default();
    let matches = command(decl)
        .try_get_matches_from(args)
        .map_err(|e| arg_error(decl, &e))?;
    if matches.get_flag(HELP) {
        req.info = Some(Info::Help);
        return Ok(req);
    }
    if matches.get_flag(VERSION) {
        req.info = Some(Info::Version);
        return Ok(req);
    }
    // Every occurrence in command-line order, so that the last of several wins as on stdin.
    let mut given: Vec<(usize, &'static str, String)> = Vec::new();
    for p in params(decl) {
        let (Some(values), Some(indices)) = (
            matches.get_many::<String>(p.name),
            matches.indices_of(p.name),
        ) else {
            continue;
        };
        if p.secret {
            return Err(ArgError(format!(
                "refusing '{}' on the command line, where any user can read it; pass it on standard input, or use password_script or password_file",
                p.name
            )));
        }
        given.extend(indices.zip(values).map(|(i, v)| (i, p.name, v.clone())));
    }
    given.sort_by_key(|(i, _, _)| *i);
    req.pairs = given
        .into_iter()
        .map(|(_, name, value)| (name.to_string(), value))
        .collect();
    Ok(req)
}

/// clap's refusal as the one line fencing.py's users know.
fn arg_error(decl: Decl, e: &clap::Error) -> ArgError {
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    // "--ip <ip>" → "--ip"
    let word = arg.split_whitespace().next().unwrap_or("").to_string();
    match e.kind() {
        ErrorKind::UnknownArgument if word.starts_with('-') => {
            let word = word.split_once('=').map_or(word.as_str(), |(w, _)| w);
            ArgError(format!("unknown option '{word}'"))
        }
        ErrorKind::UnknownArgument => ArgError(format!("unexpected argument '{word}'")),
        ErrorKind::InvalidValue | ErrorKind::NoEquals => {
            let name = word.trim_start_matches('-');
            let param = if word.starts_with("--") {
                find(decl, &name.replace('-', "_"))
            } else {
                params(decl).find(|p| name.chars().next().is_some_and(|c| p.short == Some(c)))
            };
            ArgError(format!(
                "option '{}' needs a value",
                param.map_or(name, |p| p.name)
            ))
        }
        _ => ArgError(
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ")
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Param;

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
