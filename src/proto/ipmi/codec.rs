//! Byte-level helpers in the rustls codec style: encoders append to a `Vec<u8>`, decoders read
//! from a [`Reader`] that refuses to run past the end of its input, so a truncated or hostile
//! packet becomes a [`Malformed`] error instead of a panic.

use std::fmt;

/// Why a packet could not be decoded. `what` names the field being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub what: &'static str,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed packet: bad or truncated {}", self.what)
    }
}

pub(crate) fn malformed<T>(what: &'static str) -> Result<T, Malformed> {
    Err(Malformed { what })
}

/// A cursor over received bytes.
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

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Malformed> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails if any byte is left: fixed-size messages must not carry trailing data.
    pub fn expect_end(&self, what: &'static str) -> Result<(), Malformed> {
        if self.remaining() == 0 {
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
}
