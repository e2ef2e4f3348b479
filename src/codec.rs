//! Byte-level decoding in the rustls codec style, shared by every wire format the agents speak
//! (IPMI/RMCP+, ARP, ICMPv6): encoders append to a `Vec<u8>`, decoders read from a [`Reader`]
//! that refuses to run past the end of its input, so a truncated or hostile packet becomes a
//! [`Malformed`] error naming the field instead of a panic.

use std::fmt;

/// Why a packet could not be decoded. `what` names the field being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub what: &'static str,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed packet: bad or truncated {}", self.what)
    }
}

impl std::error::Error for Malformed {}

/// `Err(Malformed { what })`, for decoders that find a field present but unusable.
pub(crate) fn malformed<T>(what: &'static str) -> Result<T, Malformed> {
    Err(Malformed { what })
}

/// A cursor over received bytes that never reads past the end. Each read names the field it
/// reads, and that name is the error if the bytes run out.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The next `n` bytes, or an error naming `what` if fewer remain.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).ok_or(Malformed { what })?;
        let out = self.buf.get(self.pos..end).ok_or(Malformed { what })?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array (addresses, digests, fixed fields).
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Malformed> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    /// Network byte order (Ethernet, ARP, IPv6, ICMPv6).
    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, Malformed> {
        self.array(what).map(u16::from_be_bytes)
    }

    /// Network byte order (Ethernet, ARP, IPv6, ICMPv6).
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, Malformed> {
        self.array(what).map(u32::from_be_bytes)
    }

    /// Little endian, as IPMI sends its multi-byte fields.
    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, Malformed> {
        self.array(what).map(u16::from_le_bytes)
    }

    /// Little endian, as IPMI sends its multi-byte fields.
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, Malformed> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when every byte has been read.
    pub fn at_end(&self) -> bool {
        self.remaining() == 0
    }

    /// Fails if any byte is left: fixed-size messages must not carry trailing data.
    pub fn expect_end(&self, what: &'static str) -> Result<(), Malformed> {
        if self.at_end() {
            Ok(())
        } else {
            malformed(what)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_truncation() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16_le("a").unwrap(), 0x0201);
        assert_eq!(r.u32_le("b"), Err(Malformed { what: "b" }));
        assert_eq!(r.u8("c").unwrap(), 3);
        assert!(r.u8("d").is_err());
        assert!(r.expect_end("e").is_ok());
        let mut r = Reader::new(&[]);
        assert!(r.take(usize::MAX, "huge").is_err());
    }

    #[test]
    fn byte_orders() {
        let bytes = [0x12, 0x34, 0x56, 0x78];
        assert_eq!(Reader::new(&bytes).u16_be("x"), Ok(0x1234));
        assert_eq!(Reader::new(&bytes).u32_be("x"), Ok(0x1234_5678));
        assert_eq!(Reader::new(&bytes).u32_le("x"), Ok(0x7856_3412));
        let mut r = Reader::new(&bytes);
        assert_eq!(r.array::<3>("x"), Ok([0x12, 0x34, 0x56]));
        assert!(!r.at_end());
        assert_eq!(r.rest(), &[0x78]);
        assert!(r.at_end());
        assert_eq!(r.rest(), &[] as &[u8]);
        assert_eq!(
            r.u16_be("field name").unwrap_err().to_string(),
            "malformed packet: bad or truncated field name"
        );
    }
}
