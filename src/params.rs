//! One parameter declaration per agent, read as typed values.
//!
//! An agent lists its parameters once, as a [`Decl`]: mostly typed handles ([`P<T>`]), each a
//! [`Param`] together with the parser that turns its text into the value the agent works with.
//! From that list the runtimes derive everything that describes or checks a parameter: reading
//! values (OCF environment, fence stdin/argv), defaults, type and custom validation for
//! `validate-all`, the `meta-data` XML of both metadata dialects, and the man page; the agent
//! reads each value through its handle (`ARP_COUNT.get(&values)?`), never by a name string.
//! Nothing about a parameter is written twice, so the metadata cannot drift from what the agent
//! accepts, and validation parses with the very function the agent reads with.
//!
//! # Empty values
//! Decided here, once, for every parameter of every agent ([`Values::text`]): a parameter that
//! is absent takes its default; a value given but blank (`ip=`, `OCF_RESKEY_arp_bg=""`) also
//! takes the default, as fencing.py does with a boolean it cannot read, unless the declaration
//! gives the empty value a meaning of its own ([`Param::empty_is_value`]: DRBD's `wfc_timeout`
//! "empty does not wait"). A parameter with neither value nor default reads as the empty text,
//! which its parser maps to "unset" (`None`, `false`, no list); a required one is refused first.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Mutex;

/// The value type of a parameter, as both metadata dialects know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Boolean,
    /// A duration in seconds (fence-agents' `second`; OCF metadata says `integer`).
    Second,
    /// One of a fixed set of words.
    Select(&'static [&'static str]),
}

/// A per-parameter check beyond the type: returns the reason a value is unacceptable.
pub type Check = fn(&str) -> Result<(), String>;

/// One declared parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Option<&'static str>,
    pub required: bool,
    pub unique: bool,
    /// The value is a secret: never logged, never echoed in errors, marked `private` where
    /// the metadata dialect allows it.
    pub secret: bool,
    /// Older names still accepted for this parameter (fence-agents' `ipaddr` for `ip` …);
    /// the metadata lists them as deprecated parameters that the new one obsoletes.
    pub aliases: &'static [&'static str],
    /// Short command-line letter for the fence dialect (`-a` for `ip`).
    pub short: Option<char>,
    pub shortdesc: &'static str,
    pub longdesc: &'static str,
    pub check: Option<Check>,
    /// Shown in the fence metadata's `getopt` hint (`[ip]`); defaults to the name.
    pub value_hint: Option<&'static str>,
    /// Other spellings of a `Select` option, `(spelling, option)`: net-snmp's `SHA1` for
    /// `SHA`. Matched like the options themselves (see [`choice`]); not listed in metadata.
    pub synonyms: &'static [(&'static str, &'static str)],
    /// A blank value is a value of its own, passed to the parser, instead of meaning the
    /// default (see the module documentation).
    pub empty_is_value: bool,
    /// Accepted for compatibility without effect (fence-agents' `shell_timeout`): read by no
    /// agent, on purpose.
    pub no_effect: bool,
}

impl Param {
    pub const fn new(name: &'static str, kind: Kind) -> Param {
        Param {
            name,
            kind,
            default: None,
            required: false,
            unique: false,
            secret: false,
            aliases: &[],
            short: None,
            shortdesc: "",
            longdesc: "",
            check: None,
            value_hint: None,
            synonyms: &[],
            empty_is_value: false,
            no_effect: false,
        }
    }
    pub const fn string(name: &'static str) -> Param {
        Param::new(name, Kind::String)
    }
    pub const fn integer(name: &'static str) -> Param {
        Param::new(name, Kind::Integer)
    }
    pub const fn boolean(name: &'static str) -> Param {
        Param::new(name, Kind::Boolean)
    }
    pub const fn second(name: &'static str) -> Param {
        Param::new(name, Kind::Second)
    }
    pub const fn select(name: &'static str, options: &'static [&'static str]) -> Param {
        Param::new(name, Kind::Select(options))
    }
    pub const fn default(mut self, value: &'static str) -> Param {
        self.default = Some(value);
        self
    }
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }
    pub const fn unique(mut self) -> Param {
        self.unique = true;
        self
    }
    pub const fn secret(mut self) -> Param {
        self.secret = true;
        self
    }
    pub const fn aliases(mut self, names: &'static [&'static str]) -> Param {
        self.aliases = names;
        self
    }
    pub const fn short(mut self, letter: char) -> Param {
        self.short = Some(letter);
        self
    }
    pub const fn hint(mut self, hint: &'static str) -> Param {
        self.value_hint = Some(hint);
        self
    }
    pub const fn synonyms(mut self, pairs: &'static [(&'static str, &'static str)]) -> Param {
        self.synonyms = pairs;
        self
    }
    pub const fn empty_is_value(mut self) -> Param {
        self.empty_is_value = true;
        self
    }
    pub const fn no_effect(mut self) -> Param {
        self.no_effect = true;
        self
    }
    pub const fn check(mut self, check: Check) -> Param {
        self.check = Some(check);
        self
    }
    /// Short (one line) and long descriptions.
    pub const fn describe(mut self, shortdesc: &'static str, longdesc: &'static str) -> Param {
        self.shortdesc = shortdesc;
        self.longdesc = longdesc;
        self
    }

    /// Checks one raw value against the type and the custom check.
    pub fn validate(&self, raw: &str) -> Result<(), String> {
        match self.kind {
            Kind::String => {}
            Kind::Integer => {
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("'{raw}' is not an integer"))?;
            }
            Kind::Second => {
                parse_seconds(raw).ok_or_else(|| {
                    format!("'{raw}' is not a number of seconds from 0 to {MAX_SECONDS:.0}")
                })?;
            }
            Kind::Boolean => {
                parse_bool(raw).ok_or_else(|| {
                    format!("'{raw}' is not a boolean (use true/false, yes/no, on/off or 1/0)")
                })?;
            }
            Kind::Select(options) => {
                if choice(options, self.synonyms, raw).is_none() {
                    return Err(format!("'{raw}' is not one of {}", options.join(", ")));
                }
            }
        }
        match self.check {
            Some(check) => check(raw),
            None => Ok(()),
        }
    }
}

/// One entry of a declaration: a parameter and how its values are checked. Implemented by the
/// typed handles ([`P<T>`]) agents read through, and by a bare [`Param`] (declared, checked by
/// kind and `check`, read by no handle: the runtimes' unit tests).
pub trait AnyParam: Sync {
    fn param(&self) -> &Param;
    /// The reason `raw` is unacceptable: the declared kind and check, then the parser.
    fn check(&self, raw: &str) -> Result<(), String> {
        self.param().validate(raw)
    }
}

impl AnyParam for Param {
    fn param(&self) -> &Param {
        self
    }
}

impl fmt::Debug for dyn AnyParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param({})", self.param().name)
    }
}

/// An agent's parameter list, in metadata order.
pub type Decl = &'static [&'static dyn AnyParam];

/// A typed parameter: the declaration and the parser its value is read with. Declared as a
/// `static` next to the agent (`static ARP_COUNT: P<u32> = P::new(Param::integer(..), ..)`)
/// and listed in the agent's [`Decl`]; validation runs the same parser, so a value that
/// passed `validate-all` always reads.
pub struct P<T: 'static> {
    pub param: Param,
    parse: fn(&str) -> Result<T, String>,
    value: PhantomData<fn() -> T>,
}

impl<T> P<T> {
    pub const fn new(param: Param, parse: fn(&str) -> Result<T, String>) -> P<T> {
        P {
            param,
            parse,
            value: PhantomData,
        }
    }

    pub fn name(&self) -> &'static str {
        self.param.name
    }

    /// The value: given, else the default, else unset (see the module documentation), parsed.
    /// An error only for a value that did not pass [`Values::validate`].
    pub fn get(&self, values: &Values) -> Result<T, ParamError> {
        let text = values.text(&self.param);
        (self.parse)(text).map_err(|reason| ParamError::Invalid {
            param: self.param.name,
            reason: if self.param.secret {
                "invalid value".to_string()
            } else {
                reason
            },
        })
    }

    /// The declared default, parsed: what an unusable value falls back to where the agent
    /// must act anyway (a stop with a broken configuration).
    pub fn default_value(&self) -> Option<T> {
        self.param.default.and_then(|d| (self.parse)(d).ok())
    }

    /// The value if it was given explicitly, not defaulted (`None` for a blank one too).
    pub fn given(&self, values: &Values) -> Option<Result<T, ParamError>> {
        values.given_text(&self.param).map(|_| self.get(values))
    }

    /// Whether the value was given, non-blank (a secret's presence, without reading it).
    pub fn is_set(&self, values: &Values) -> bool {
        values.mark_read(self.param.name);
        values.given_text(&self.param).is_some()
    }
}

impl<T> AnyParam for P<T> {
    fn param(&self) -> &Param {
        &self.param
    }
    fn check(&self, raw: &str) -> Result<(), String> {
        self.param.validate(raw)?;
        (self.parse)(raw).map(drop)
    }
}

/// Parsers for the common value types, to declare handles with.
pub mod parse {
    use std::time::Duration;

    /// Any text, trimmed.
    pub fn text(raw: &str) -> Result<String, String> {
        Ok(raw.trim().to_string())
    }
    /// Any text, trimmed; `None` when blank.
    pub fn optional_text(raw: &str) -> Result<Option<String>, String> {
        let t = raw.trim();
        Ok((!t.is_empty()).then(|| t.to_string()))
    }
    /// Text exactly as given (a separator may be a blank).
    pub fn verbatim(raw: &str) -> Result<String, String> {
        Ok(raw.to_string())
    }
    pub fn boolean(raw: &str) -> Result<bool, String> {
        super::parse_bool(raw).ok_or_else(|| format!("'{raw}' is not a boolean"))
    }
    pub fn integer(raw: &str) -> Result<i64, String> {
        raw.trim()
            .parse()
            .map_err(|_| format!("'{raw}' is not an integer"))
    }
    /// An integer; `None` when blank.
    pub fn optional_integer(raw: &str) -> Result<Option<i64>, String> {
        match raw.trim() {
            "" => Ok(None),
            t => integer(t).map(Some),
        }
    }
    pub fn seconds(raw: &str) -> Result<Duration, String> {
        super::parse_seconds(raw)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("'{raw}' is not a number of seconds"))
    }
    /// Seconds; `None` when blank.
    pub fn optional_seconds(raw: &str) -> Result<Option<Duration>, String> {
        match raw.trim() {
            "" => Ok(None),
            t => seconds(t).map(Some),
        }
    }
    /// One of a [`super::Choice`]'s names.
    pub fn choice<C: super::Choice>(raw: &str) -> Result<C, String> {
        C::from_name(raw).ok_or_else(|| format!("'{raw}' is not one of {}", C::NAMES.join(", ")))
    }
}

/// A fixed set of words as an enum: the names a `select` parameter lists in its metadata, man
/// page and error text, and the value it reads as. Declared with [`choices!`].
pub trait Choice: Sized + Copy + 'static {
    const ALL: &'static [Self];
    const NAMES: &'static [&'static str];
    fn name(self) -> &'static str;
    /// The choice `raw` names, compared as [`choice`] does (case and `-`/`_` ignored).
    fn from_name(raw: &str) -> Option<Self> {
        let want = fold(raw);
        Self::ALL.iter().copied().find(|c| fold(c.name()) == want)
    }
}

/// Declares a [`Choice`] enum: each variant with the one name it is written as.
#[macro_export]
macro_rules! choices {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }
        impl $crate::params::Choice for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            const NAMES: &'static [&'static str] = &[$($text),+];
            fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

/// A choice folded for matching: ASCII case and the `-`/`_` separators do not count.
fn fold(word: &str) -> String {
    word.trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The declared option `raw` names, if any. fencing.py compares choices upper-cased
/// (`snmp_auth_prot=sha`, `method=CYCLE` work with the stock agents), and net-snmp's tools take
/// `SHA256` and `AES-256` alike, so case and `-`/`_` are ignored; `synonyms` add spellings
/// that differ otherwise (`SHA1`).
pub fn choice(
    options: &'static [&'static str],
    synonyms: &'static [(&'static str, &'static str)],
    raw: &str,
) -> Option<&'static str> {
    let want = fold(raw);
    if want.is_empty() {
        return None;
    }
    options
        .iter()
        .copied()
        .find(|o| fold(o) == want)
        .or_else(|| {
            synonyms
                .iter()
                .find(|(s, _)| fold(s) == want)
                .map(|(_, o)| *o)
        })
}

/// Booleans as both Pacemaker and fence-agents spell them.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "on" | "true" | "t" => Some(true),
        "0" | "no" | "n" | "off" | "false" | "f" | "" => Some(false),
        _ => None,
    }
}

/// The largest number of seconds accepted anywhere (about 31 years). Beyond it a value is a
/// typo or an attack: `Duration::from_secs_f64` panics above 2^64 s, and a deadline that far
/// away overflows `Instant`.
pub const MAX_SECONDS: f64 = 1e9;

/// Seconds, possibly fractional ("2", "0.5"), from 0 to [`MAX_SECONDS`]; NaN, infinities,
/// negative and larger values are refused.
pub fn parse_seconds(raw: &str) -> Option<f64> {
    let v: f64 = raw.trim().parse().ok()?;
    (v.is_finite() && (0.0..=MAX_SECONDS).contains(&v)).then_some(v)
}

/// Why a set of values was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// A required parameter has no value.
    Missing { param: &'static str },
    /// A value failed its type or custom check. `reason` never contains a secret value.
    Invalid { param: &'static str, reason: String },
    /// A name that is not declared (fence dialect only; OCF ignores unknown variables).
    Unknown { name: String },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Missing { param } => write!(f, "parameter '{param}' is required"),
            ParamError::Invalid { param, reason } => write!(f, "parameter '{param}': {reason}"),
            ParamError::Unknown { name } => write!(f, "unknown parameter '{name}'"),
        }
    }
}

impl std::error::Error for ParamError {}

impl ParamError {
    /// The reason alone, without the parameter's name.
    pub fn reason(&self) -> String {
        match self {
            ParamError::Invalid { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// Where a value came from: the runtimes treat defaults differently from given values in a
/// few places (a probe ignores an invalid default it cannot act on anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Given,
    Default,
}

/// Values of one invocation, keyed by the declared (canonical) name.
pub struct Values {
    decl: Decl,
    values: BTreeMap<&'static str, (String, Origin)>,
    /// Names read through a handle: a test checks that an agent reads every parameter it
    /// declares.
    read: Mutex<BTreeSet<&'static str>>,
}

impl Clone for Values {
    fn clone(&self) -> Values {
        Values {
            decl: self.decl,
            values: self.values.clone(),
            read: Mutex::new(self.read()),
        }
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, (value, _)) in &self.values {
            let secret = find(self.decl, name).is_some_and(|p| p.secret);
            m.entry(name, &if secret { "<redacted>" } else { value.as_str() });
        }
        m.finish()
    }
}

/// The declared parameter for a name or one of its aliases.
pub fn find(decl: Decl, name: &str) -> Option<&'static Param> {
    entry(decl, name).map(|d| d.param())
}

/// The declaration entry for a name or one of its aliases.
fn entry(decl: Decl, name: &str) -> Option<&'static dyn AnyParam> {
    decl.iter()
        .copied()
        .find(|d| d.param().name == name)
        .or_else(|| {
            decl.iter()
                .copied()
                .find(|d| d.param().aliases.contains(&name))
        })
}

/// The parameters of a declaration, in order.
pub fn params(decl: Decl) -> impl Iterator<Item = &'static Param> {
    decl.iter().map(|d| d.param())
}

impl Values {
    /// Builds the value set from raw `(name, value)` pairs in the order given (later wins),
    /// resolving aliases, applying defaults and checking every value. Unknown names are
    /// returned separately for the caller to warn about or refuse.
    pub fn collect<'a>(
        decl: Decl,
        raw: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Values, Vec<String>) {
        let mut values = BTreeMap::new();
        let mut unknown = Vec::new();
        for (name, value) in raw {
            match find(decl, name) {
                Some(p) => {
                    // A choice is stored as declared, so callers compare with one spelling.
                    let value = match p.kind {
                        Kind::Select(options) => choice(options, p.synonyms, value)
                            .map_or_else(|| value.to_string(), str::to_string),
                        _ => value.to_string(),
                    };
                    values.insert(p.name, (value, Origin::Given));
                }
                None => unknown.push(name.to_string()),
            }
        }
        for p in params(decl) {
            if let (Some(d), false) = (p.default, values.contains_key(p.name)) {
                values.insert(p.name, (d.to_string(), Origin::Default));
            }
        }
        let read = Mutex::new(BTreeSet::new());
        (Values { decl, values, read }, unknown)
    }

    /// Checks every value and that required ones are present; the first problem wins, in
    /// declaration order, so the reason is stable.
    pub fn validate(&self) -> Result<(), ParamError> {
        for d in self.decl {
            let p = d.param();
            match self.values.get(p.name) {
                None if p.required => return Err(ParamError::Missing { param: p.name }),
                None => {}
                Some((v, _)) if p.required && v.trim().is_empty() => {
                    return Err(ParamError::Missing { param: p.name })
                }
                Some(_) => d
                    .check(self.raw_text(p))
                    .map_err(|reason| ParamError::Invalid {
                        param: p.name,
                        reason: if p.secret {
                            "invalid value".to_string()
                        } else {
                            reason
                        },
                    })?,
            }
        }
        Ok(())
    }

    /// The raw text (given or default), for the runtimes and tests; agents read through their
    /// handles ([`P::get`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    /// The value if it was given explicitly (not a default).
    pub fn given(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .filter(|(_, o)| *o == Origin::Given)
            .map(|(v, _)| v.as_str())
    }

    pub fn set(&mut self, name: &'static str, value: String) {
        self.values.insert(name, (value, Origin::Given));
    }

    pub fn declaration(&self) -> Decl {
        self.decl
    }

    /// The text a parameter reads as; the one place that decides what an empty value means
    /// (see the module documentation).
    fn raw_text(&self, p: &Param) -> &str {
        match self.values.get(p.name) {
            Some((v, _)) if v.trim().is_empty() && !p.empty_is_value => p.default.unwrap_or(v),
            Some((v, _)) => v,
            None => p.default.unwrap_or(""),
        }
    }

    /// [`Values::raw_text`], recorded as read.
    pub fn text(&self, p: &Param) -> &str {
        self.mark_read(p.name);
        self.raw_text(p)
    }

    /// The given, non-blank text of a parameter, if any.
    fn given_text(&self, p: &Param) -> Option<&str> {
        self.given(p.name).filter(|v| !v.trim().is_empty())
    }

    fn mark_read(&self, name: &'static str) {
        if let Ok(mut read) = self.read.lock() {
            read.insert(name);
        }
    }

    /// The names read through a handle so far.
    pub fn read(&self) -> BTreeSet<&'static str> {
        self.read.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Declared parameters no handle has read, less those declared without effect.
    pub fn unread(&self) -> Vec<&'static str> {
        let read = self.read();
        params(self.decl)
            .filter(|p| !p.no_effect && !read.contains(p.name))
            .map(|p| p.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_slash(v: &str) -> Result<(), String> {
        if v.contains('/') {
            Err("must not contain '/'".into())
        } else {
            Ok(())
        }
    }

    static COUNT: P<i64> = P::new(Param::integer("count").default("5"), parse::integer);
    static FAST: P<bool> = P::new(Param::boolean("fast").default("true"), parse::boolean);
    static WAIT: P<std::time::Duration> =
        P::new(Param::second("wait").default("2"), parse::seconds);
    static NIC: P<Option<String>> =
        P::new(Param::string("nic").check(no_slash), parse::optional_text);
    static DECL: Decl = &[
        &Param::string("ip").required().unique().aliases(&["ipaddr"]),
        &COUNT,
        &FAST,
        &Param::select("mode", &["a", "b"]).default("a"),
        &NIC,
        &Param::string("password").secret(),
        &WAIT,
    ];

    #[test]
    fn aliases_defaults_and_last_wins() {
        let (v, unknown) = Values::collect(
            DECL,
            [("ipaddr", "1.2.3.4"), ("ip", "5.6.7.8"), ("zzz", "1")],
        );
        assert_eq!(v.get("ip"), Some("5.6.7.8"));
        assert_eq!(COUNT.get(&v), Ok(5));
        assert!(COUNT.given(&v).is_none());
        assert_eq!(FAST.get(&v), Ok(true));
        assert_eq!(WAIT.get(&v), Ok(std::time::Duration::from_secs(2)));
        assert_eq!(NIC.get(&v), Ok(None));
        assert_eq!(v.unread(), ["ip", "mode", "password"]);
        assert_eq!(unknown, vec!["zzz".to_string()]);
        assert!(v.validate().is_ok());
    }

    #[test]
    fn each_kind_is_checked() {
        let cases: &[(&str, &str, &str)] = &[
            ("count", "x", "not an integer"),
            ("fast", "maybe", "not a boolean"),
            ("mode", "c", "not one of a, b"),
            ("nic", "a/b", "must not contain"),
            ("wait", "-1", "seconds"),
        ];
        for (name, value, needle) in cases {
            let (v, _) = Values::collect(DECL, [("ip", "1.1.1.1"), (*name, *value)]);
            let err = v.validate().unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn missing_required_and_secret_never_echoed() {
        let (v, _) = Values::collect(DECL, []);
        assert_eq!(v.validate(), Err(ParamError::Missing { param: "ip" }));
        let (v, _) = Values::collect(DECL, [("ip", "  ")]);
        assert_eq!(v.validate(), Err(ParamError::Missing { param: "ip" }));
        let (v, _) = Values::collect(DECL, [("ip", "1"), ("password", "s3cr3t")]);
        assert!(!format!("{v:?}").contains("s3cr3t"));
    }

    #[test]
    fn choices_ignore_case_and_separators_and_are_stored_as_declared() {
        static OPTS: &[&str] = &["noAuthNoPriv", "authPriv", "SHA-256", "2c"];
        static SYN: &[(&str, &str)] = &[("SHA1", "SHA")];
        for (raw, want) in [
            ("authpriv", Some("authPriv")),
            ("AUTHPRIV", Some("authPriv")),
            (" authPriv ", Some("authPriv")),
            ("sha256", Some("SHA-256")),
            ("SHA_256", Some("SHA-256")),
            ("2C", Some("2c")),
            ("sha1", Some("SHA")),
            ("auth", None),
            ("", None),
            ("-", None),
        ] {
            assert_eq!(choice(OPTS, SYN, raw), want, "{raw:?}");
        }
        let (v, _) = Values::collect(DECL, [("ip", "1"), ("mode", "B")]);
        assert_eq!(v.get("mode"), Some("b"));
        assert!(v.validate().is_ok());
        let (v, _) = Values::collect(DECL, [("ip", "1"), ("mode", "c")]);
        assert_eq!(v.get("mode"), Some("c"));
        assert!(v.validate().is_err());
    }

    #[test]
    fn booleans_as_pacemaker_and_fence_agents_write_them() {
        for t in ["1", "yes", "on", "true", "TRUE"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "no", "off", "false", ""] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("2"), None);
    }

    #[test]
    fn a_blank_value_means_the_default_unless_declared_otherwise() {
        static KEEP: P<Option<i64>> = P::new(
            Param::string("keep").default("7").empty_is_value(),
            parse::optional_integer,
        );
        static D: Decl = &[&COUNT, &FAST, &KEEP, &NIC];
        let (v, _) = Values::collect(D, [("count", " "), ("fast", ""), ("keep", ""), ("nic", "")]);
        assert!(v.validate().is_ok());
        assert_eq!(COUNT.get(&v), Ok(5));
        assert_eq!(FAST.get(&v), Ok(true));
        assert_eq!(KEEP.get(&v), Ok(None));
        assert_eq!(NIC.get(&v), Ok(None));
        assert!(!NIC.is_set(&v) && COUNT.given(&v).is_none());
        let (v, _) = Values::collect(D, [("keep", "x")]);
        assert!(v.validate().unwrap_err().to_string().contains("'keep'"));
        assert!(KEEP.get(&v).is_err());
        let (v, _) = Values::collect(D, []);
        assert_eq!(KEEP.get(&v), Ok(Some(7)));
        assert_eq!(v.unread(), ["count", "fast", "nic"]);
    }

    #[test]
    fn choices_name_parse_and_list_themselves() {
        crate::choices! {
            enum Demo {
                One = "one",
                TwoWords = "two-words",
            }
        }
        assert_eq!(Demo::NAMES, ["one", "two-words"]);
        assert_eq!(Demo::from_name("TWO_WORDS"), Some(Demo::TwoWords));
        assert_eq!(
            parse::choice::<Demo>("three"),
            Err("'three' is not one of one, two-words".into())
        );
        for d in Demo::ALL {
            assert_eq!(Demo::from_name(d.name()), Some(*d));
        }
    }
}
