//! The RMCP+ security algorithms of cipher suites 3 and 17 as pure functions (IPMI v2.0 §13.28–13.32).
//!
//! | suite | authentication (RAKP) | integrity        | confidentiality |
//! |-------|-----------------------|------------------|-----------------|
//! | 3     | RAKP-HMAC-SHA1        | HMAC-SHA1-96     | AES-CBC-128     |
//! | 17    | RAKP-HMAC-SHA256      | HMAC-SHA256-128  | AES-CBC-128     |
//!
//! Public so that the known-answer tests (`tests/ipmi_kat.rs`: vectors from a Python derivation
//! written from the specification and ipmitool's text, every key and code recomputed at test time
//! by FreeIPMI's libfreeipmi) can check every derivation step; the session code is the only other
//! user. Keys are held in [`Key`], which wipes itself on drop.

use crate::codec::{malformed, Malformed};
use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

/// Key material (K_UID, Kg, SIK, K1, K2), wiped on drop.
pub type Key = Zeroizing<Vec<u8>>;

/// The RAKP authentication algorithm, which also fixes the HMAC used to derive SIK, K1 and K2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthAlgorithm {
    HmacSha1,
    HmacSha256,
}

/// The per-packet integrity algorithm (keyed with K1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrityAlgorithm {
    HmacSha1_96,
    HmacSha256_128,
}

/// A supported RMCP+ cipher suite. Suite 0 (no authentication) and the RC4/MD5 suites are
/// deliberately absent: a fence agent must not accept a session anyone can spoof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    Suite3,
    Suite17,
}

impl CipherSuite {
    /// The suite for an id given by an administrator (`cipher=`), if we support it.
    pub fn from_id(id: u8) -> Option<CipherSuite> {
        match id {
            3 => Some(CipherSuite::Suite3),
            17 => Some(CipherSuite::Suite17),
            _ => None,
        }
    }

    pub fn id(self) -> u8 {
        match self {
            CipherSuite::Suite3 => 3,
            CipherSuite::Suite17 => 17,
        }
    }

    pub fn auth(self) -> AuthAlgorithm {
        match self {
            CipherSuite::Suite3 => AuthAlgorithm::HmacSha1,
            CipherSuite::Suite17 => AuthAlgorithm::HmacSha256,
        }
    }

    pub fn integrity(self) -> IntegrityAlgorithm {
        match self {
            CipherSuite::Suite3 => IntegrityAlgorithm::HmacSha1_96,
            CipherSuite::Suite17 => IntegrityAlgorithm::HmacSha256_128,
        }
    }

    /// Algorithm numbers as carried in the Open Session payloads: (authentication, integrity,
    /// confidentiality). Confidentiality 1 = AES-CBC-128 for both suites.
    pub fn algorithm_ids(self) -> (u8, u8, u8) {
        match self {
            CipherSuite::Suite3 => (0x01, 0x01, 0x01),
            CipherSuite::Suite17 => (0x03, 0x04, 0x01),
        }
    }
}

fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes any key length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes any key length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

impl AuthAlgorithm {
    /// Full-length HMAC over the concatenation of `parts`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            AuthAlgorithm::HmacSha1 => hmac_sha1(key, parts),
            AuthAlgorithm::HmacSha256 => hmac_sha256(key, parts),
        }
    }

    /// Length of the key exchange authentication codes in RAKP 2 and 3.
    pub fn hmac_len(self) -> usize {
        match self {
            AuthAlgorithm::HmacSha1 => 20,
            AuthAlgorithm::HmacSha256 => 32,
        }
    }

    /// Length of the RAKP 4 integrity check value (HMAC-SHA1-96 / HMAC-SHA256-128).
    pub fn icv_len(self) -> usize {
        match self {
            AuthAlgorithm::HmacSha1 => 12,
            AuthAlgorithm::HmacSha256 => 16,
        }
    }
}

impl IntegrityAlgorithm {
    /// Length of the AuthCode that ends every authenticated packet.
    pub fn trailer_len(self) -> usize {
        match self {
            IntegrityAlgorithm::HmacSha1_96 => 12,
            IntegrityAlgorithm::HmacSha256_128 => 16,
        }
    }

    /// The truncated HMAC over `data` (auth type byte through next header), keyed with K1.
    pub fn mac(self, k1: &[u8], data: &[u8]) -> Vec<u8> {
        let mut full = match self {
            IntegrityAlgorithm::HmacSha1_96 => hmac_sha1(k1, &[data]),
            IntegrityAlgorithm::HmacSha256_128 => hmac_sha256(k1, &[data]),
        };
        full.truncate(self.trailer_len());
        full
    }
}

/// The fields both sides hash during RAKP; collected once so every HMAC uses the same bytes.
#[derive(Debug, Clone)]
pub struct RakpTranscript {
    /// Remote console (our) session ID, SIDm.
    pub console_sid: u32,
    /// Managed system (BMC) session ID, SIDc.
    pub bmc_sid: u32,
    /// Remote console random number, Rm.
    pub console_random: [u8; 16],
    /// Managed system random number, Rc.
    pub bmc_random: [u8; 16],
    /// Managed system GUID, GUIDc.
    pub bmc_guid: [u8; 16],
    /// The role byte exactly as sent in RAKP 1 (privilege level plus the name-only lookup bit).
    pub role: u8,
    pub username: Vec<u8>,
}

impl RakpTranscript {
    fn name_len(&self) -> [u8; 1] {
        // Usernames are at most 16 bytes (checked when the target is built).
        [self.username.len() as u8]
    }

    /// The key exchange authentication code the BMC must send in RAKP 2:
    /// HMAC_K_UID(SIDm | SIDc | Rm | Rc | GUIDc | ROLEm | ULENGTHm | UNAMEm).
    pub fn rakp2_hmac(&self, alg: AuthAlgorithm, k_uid: &[u8]) -> Vec<u8> {
        alg.hmac(
            k_uid,
            &[
                &self.console_sid.to_le_bytes(),
                &self.bmc_sid.to_le_bytes(),
                &self.console_random,
                &self.bmc_random,
                &self.bmc_guid,
                &[self.role],
                &self.name_len(),
                &self.username,
            ],
        )
    }

    /// Our proof of the password in RAKP 3: HMAC_K_UID(Rc | SIDm | ROLEm | ULENGTHm | UNAMEm).
    pub fn rakp3_hmac(&self, alg: AuthAlgorithm, k_uid: &[u8]) -> Vec<u8> {
        alg.hmac(
            k_uid,
            &[
                &self.bmc_random,
                &self.console_sid.to_le_bytes(),
                &[self.role],
                &self.name_len(),
                &self.username,
            ],
        )
    }

    /// Session Integrity Key: HMAC_KG(Rm | Rc | ROLEm | ULENGTHm | UNAMEm), where KG is the BMC
    /// key (Kg) when one is configured and K_UID otherwise.
    pub fn sik(&self, alg: AuthAlgorithm, kg: &[u8]) -> Key {
        Zeroizing::new(alg.hmac(
            kg,
            &[
                &self.console_random,
                &self.bmc_random,
                &[self.role],
                &self.name_len(),
                &self.username,
            ],
        ))
    }

    /// The integrity check value the BMC must send in RAKP 4: HMAC_SIK(Rm | SIDc | GUIDc),
    /// truncated to 12 (SHA1) or 16 (SHA256) bytes.
    pub fn rakp4_icv(&self, alg: AuthAlgorithm, sik: &[u8]) -> Vec<u8> {
        let mut v = alg.hmac(
            sik,
            &[
                &self.console_random,
                &self.bmc_sid.to_le_bytes(),
                &self.bmc_guid,
            ],
        );
        v.truncate(alg.icv_len());
        v
    }
}

/// Length of Const_n, the constant K1 and K2 are derived from: 20 bytes for every
/// authentication algorithm, SHA256 included. IPMI v2.0 §13.32 can be read as "the HMAC's
/// length", but every implementation BMCs interoperate with uses 20 (ipmitool's
/// `lanplus_generate_k1/k2` CONST_1/CONST_2, FreeIPMI's `IPMI_KEY_CONSTANT_LENGTH`, OpenBMC
/// netipmid's `CONST_N_SIZE`); with 32 the handshake succeeds and every authenticated packet
/// after it is dropped.
pub const CONST_N_LEN: usize = 20;

/// Additional key `n` (K1 = 1, K2 = 2): HMAC_SIK of the byte `n` repeated [`CONST_N_LEN`] times.
pub fn additional_key(alg: AuthAlgorithm, sik: &[u8], n: u8) -> Key {
    let constant = [n; CONST_N_LEN];
    Zeroizing::new(alg.hmac(sik, &[&constant]))
}

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// AES-CBC-128 payload (IPMI v2.0 §13.29): IV, then the encryption of data, pad bytes
/// 1, 2, 3 … and the pad length, which together fill whole 16-byte blocks. The key is the first
/// 16 bytes of K2.
pub fn aes_cbc_encrypt(k2: &[u8], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let pad = (16 - (plain.len() + 1) % 16) % 16;
    let mut buf = Vec::with_capacity(plain.len() + pad + 1);
    buf.extend_from_slice(plain);
    buf.extend((1..=pad).map(|i| i as u8));
    buf.push(pad as u8);
    let key = aes_key(k2);
    let enc = Aes128CbcEnc::new(key.as_slice().into(), iv.into());
    let len = buf.len();
    let cipher = match enc.encrypt_padded_mut::<NoPadding>(&mut buf, len) {
        Ok(c) => c.to_vec(),
        Err(_) => unreachable!("buffer is a whole number of blocks"),
    };
    let mut out = Vec::with_capacity(16 + cipher.len());
    out.extend_from_slice(iv);
    out.extend_from_slice(&cipher);
    out
}

/// Reverses [`aes_cbc_encrypt`]; rejects partial blocks and bad confidentiality padding.
pub fn aes_cbc_decrypt(k2: &[u8], payload: &[u8]) -> Result<Vec<u8>, Malformed> {
    if payload.len() < 32 || payload.len() % 16 != 0 {
        return malformed("AES-CBC-128 payload length");
    }
    let (iv, cipher) = payload.split_at(16);
    let key = aes_key(k2);
    let mut buf = cipher.to_vec();
    let dec = Aes128CbcDec::new(key.as_slice().into(), iv.into());
    let plain_len = match dec.decrypt_padded_mut::<NoPadding>(&mut buf) {
        Ok(p) => p.len(),
        Err(_) => return malformed("AES-CBC-128 payload"),
    };
    buf.truncate(plain_len);
    let pad = match buf.last() {
        Some(&p) if (p as usize) < 16 && (p as usize) < buf.len() => p as usize,
        _ => return malformed("confidentiality pad length"),
    };
    let data_len = buf.len() - 1 - pad;
    if buf[data_len..buf.len() - 1]
        .iter()
        .enumerate()
        .any(|(i, b)| *b as usize != i + 1)
    {
        return malformed("confidentiality pad");
    }
    buf.truncate(data_len);
    Ok(buf)
}

fn aes_key(k2: &[u8]) -> Zeroizing<[u8; 16]> {
    let mut key = Zeroizing::new([0u8; 16]);
    let n = k2.len().min(16);
    key[..n].copy_from_slice(&k2[..n]);
    key
}

/// Constant-time comparison for authentication codes.
pub fn codes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trip_every_length() {
        let k2 = [7u8; 20];
        let iv = [9u8; 16];
        for len in 0..50 {
            let plain: Vec<u8> = (0..len as u8).collect();
            let c = aes_cbc_encrypt(&k2, &iv, &plain);
            assert_eq!(c.len() % 16, 0);
            assert_eq!(&c[..16], &iv);
            assert_eq!(aes_cbc_decrypt(&k2, &c).unwrap(), plain);
        }
    }

    #[test]
    fn aes_rejects_garbage() {
        let k2 = [7u8; 20];
        assert!(aes_cbc_decrypt(&k2, &[0u8; 16]).is_err());
        assert!(aes_cbc_decrypt(&k2, &[0u8; 33]).is_err());
        // Random blocks almost never decrypt to valid padding; none of these may panic.
        for i in 0..=255u8 {
            let _ = aes_cbc_decrypt(&k2, &[i; 48]);
        }
    }

    #[test]
    fn const_n_is_20_bytes_for_every_algorithm() {
        // K1 must equal HMAC(SIK, 0x01 x 20) whatever the hash; a 32-byte constant for SHA256
        // (the first round's misreading) gives a different key.
        assert_eq!(CONST_N_LEN, 20);
        let sik = [0x33u8; 32];
        for alg in [AuthAlgorithm::HmacSha1, AuthAlgorithm::HmacSha256] {
            assert_eq!(*additional_key(alg, &sik, 1), alg.hmac(&sik, &[&[1u8; 20]]));
            assert_eq!(*additional_key(alg, &sik, 2), alg.hmac(&sik, &[&[2u8; 20]]));
            assert_ne!(*additional_key(alg, &sik, 1), alg.hmac(&sik, &[&[1u8; 32]]));
        }
    }

    #[test]
    fn suites_map_to_algorithms() {
        assert_eq!(CipherSuite::from_id(17), Some(CipherSuite::Suite17));
        assert_eq!(CipherSuite::from_id(0), None);
        assert_eq!(CipherSuite::Suite17.algorithm_ids(), (3, 4, 1));
        assert_eq!(CipherSuite::Suite3.integrity().trailer_len(), 12);
        assert!(
            codes_equal(b"ab", b"ab") && !codes_equal(b"ab", b"ac") && !codes_equal(b"a", b"ab")
        );
    }
}
