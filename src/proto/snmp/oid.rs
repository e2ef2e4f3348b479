//! Object identifiers as plain arcs, independent of the wire crate.
//!
//! Models, templates and errors speak this type; the conversion to the SNMP crate's own OID
//! type happens only at the socket edge ([`super::client`]).

use std::fmt;
use std::str::FromStr;

/// An SNMP object identifier, e.g. `.1.3.6.1.2.1.1.2.0`. Displayed in net-snmp's numeric form
/// (`-On`: leading dot).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(Vec<u32>);

/// Why a dotted string is not an OID.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OidError {
    Empty,
    /// An arc that is not a decimal number below 2^32 (the text is kept: OIDs are not secret).
    BadArc(String),
    /// BER cannot encode it: first arc above 2, or second arc ≥ 40 under 0/1, or one arc only.
    NotEncodable,
}

impl fmt::Display for OidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OidError::Empty => f.write_str("empty OID"),
            OidError::BadArc(a) => write!(f, "bad OID component '{a}'"),
            OidError::NotEncodable => {
                f.write_str("OID cannot be encoded (needs two valid leading arcs)")
            }
        }
    }
}

impl std::error::Error for OidError {}

impl Oid {
    /// An OID from arcs; fails when BER cannot encode it.
    pub fn from_arcs(arcs: &[u32]) -> Result<Oid, OidError> {
        Self::check(arcs)?;
        Ok(Oid(arcs.to_vec()))
    }

    fn check(arcs: &[u32]) -> Result<(), OidError> {
        match arcs {
            [] => Err(OidError::Empty),
            [_] => Err(OidError::NotEncodable),
            [a, b, ..] if *a > 2 || (*a < 2 && *b >= 40) => Err(OidError::NotEncodable),
            _ => Ok(()),
        }
    }

    /// Parses `1.3.6.1…` or `.1.3.6.1…`.
    pub fn parse(text: &str) -> Result<Oid, OidError> {
        let t = text.trim();
        let t = t.strip_prefix('.').unwrap_or(t);
        if t.is_empty() {
            return Err(OidError::Empty);
        }
        let arcs = t
            .split('.')
            .map(|a| {
                if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(OidError::BadArc(a.to_string()));
                }
                a.parse::<u32>()
                    .map_err(|_| OidError::BadArc(a.to_string()))
            })
            .collect::<Result<Vec<u32>, OidError>>()?;
        Self::from_arcs(&arcs)
    }

    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    /// This OID with `more` arcs appended (a column plus an instance index).
    pub fn child(&self, more: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(more);
        Oid(v)
    }

    /// True when `self` lies at or under `prefix`.
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The arcs after `prefix` (the instance index of a column cell), or `None` when `self` is
    /// not under `prefix`.
    pub fn index_after(&self, prefix: &Oid) -> Option<&[u32]> {
        self.0.strip_prefix(prefix.0.as_slice())
    }
}

impl FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Oid, OidError> {
        Oid::parse(s)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.0 {
            write!(f, ".{a}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_leading_dot() {
        let a = Oid::parse(".1.3.6.1.2.1.1.2.0").unwrap();
        let b = Oid::parse("1.3.6.1.2.1.1.2.0").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), ".1.3.6.1.2.1.1.2.0");
        assert_eq!(a.arcs().len(), 9);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            ".",
            "1..3",
            "1.3.x",
            "1.3.-1",
            "1",
            "3.1",
            "1.40",
            "1.3.99999999999",
            " 1. 3",
        ] {
            assert!(Oid::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Oid::parse("2.999.1").is_ok());
    }

    #[test]
    fn prefix_and_index() {
        let col = Oid::parse(".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5").unwrap();
        let cell = col.child(&[7]);
        assert!(cell.starts_with(&col));
        assert_eq!(cell.index_after(&col), Some(&[7u32][..]));
        assert_eq!(col.index_after(&cell), None);
        assert!(col < cell);
    }
}
