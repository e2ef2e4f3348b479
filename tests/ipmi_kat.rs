//! Known-answer tests for the RMCP+ cryptography, above all cipher suite 17 (RAKP-HMAC-SHA256,
//! HMAC-SHA256-128, AES-CBC-128), which ipmi_sim cannot exercise. The vectors in
//! tests/fixtures/ipmi/vectors.json come from a Python derivation written from the specification
//! and ipmitool's lanplus_crypt.c (tests/fixtures/ipmi/gen_vectors.py; each case cites its
//! reference per value). `freeipmi_recomputes_every_vector` then has FreeIPMI's libfreeipmi
//! (tests/fixtures/ipmi/freeipmi_kat.c, compiled here) recompute or check every key and code, so
//! no value rests on a reading of the specification that only we made.

use bulwark::proto::ipmi::crypto::{additional_key, CipherSuite, RakpTranscript, CONST_N_LEN};
use bulwark::proto::ipmi::wire::{self, payload, Packet, Security};
use bulwark::proto::ipmi::{AuthType, Command};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ipmi/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("read vectors")).expect("json")
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn arr16(v: &Value) -> [u8; 16] {
    hex(v).try_into().expect("16 bytes")
}

fn num(v: &Value) -> u64 {
    v.as_u64().expect("number")
}

fn command(netfn: u64, cmd: u64) -> Command {
    [
        Command::GetChassisStatus,
        Command::ChassisControl,
        Command::SetSessionPrivilegeLevel,
        Command::CloseSession,
    ]
    .into_iter()
    .find(|c| c.code() == (netfn as u8, cmd as u8))
    .expect("known command")
}

#[test]
fn rmcp_plus_vectors() {
    let all = vectors();
    let cases = all["rmcp_plus"].as_array().expect("cases");
    assert!(cases.iter().filter(|c| num(&c["suite"]) == 17).count() >= 4);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let suite = CipherSuite::from_id(num(&c["suite"]) as u8).expect("suite");
        let alg = suite.auth();
        let password = hex(&c["password"]);
        let kg = if c["kg"].is_null() {
            None
        } else {
            Some(hex(&c["kg"]))
        };
        let t = RakpTranscript {
            console_sid: num(&c["console_sid"]) as u32,
            bmc_sid: num(&c["bmc_sid"]) as u32,
            console_random: arr16(&c["console_random"]),
            bmc_random: arr16(&c["bmc_random"]),
            bmc_guid: arr16(&c["bmc_guid"]),
            role: num(&c["role"]) as u8,
            username: c["username"].as_str().unwrap().as_bytes().to_vec(),
        };

        // Set-up payloads.
        assert_eq!(
            wire::encode_open_session(0x42, t.role & 0x0F, t.console_sid, suite),
            hex(&c["open_session_request_tag42"]),
            "{name}: Open Session Request"
        );
        assert_eq!(
            wire::encode_rakp1(0x42, t.bmc_sid, &t.console_random, t.role, &t.username),
            hex(&c["rakp1_tag42"]),
            "{name}: RAKP 1"
        );

        // RAKP HMACs and key derivation.
        assert_eq!(
            t.rakp2_hmac(alg, &password),
            hex(&c["rakp2_hmac"]),
            "{name}: RAKP 2"
        );
        assert_eq!(
            t.rakp3_hmac(alg, &password),
            hex(&c["rakp3_hmac"]),
            "{name}: RAKP 3"
        );
        let sik = t.sik(alg, kg.as_deref().unwrap_or(&password));
        assert_eq!(sik.to_vec(), hex(&c["sik"]), "{name}: SIK");
        let k1 = additional_key(alg, &sik, 1);
        let k2 = additional_key(alg, &sik, 2);
        assert_eq!(k1.to_vec(), hex(&c["k1"]), "{name}: K1");
        assert_eq!(k2.to_vec(), hex(&c["k2"]), "{name}: K2");
        assert_eq!(
            t.rakp4_icv(alg, &sik),
            hex(&c["rakp4_icv"]),
            "{name}: RAKP 4 ICV"
        );

        // Whole authenticated, encrypted packets, both directions of the codec.
        let sec = Security {
            integrity: suite.integrity(),
            k1: &k1,
            k2: &k2,
        };
        for p in c["packets"].as_array().unwrap() {
            let cmd = command(num(&p["netfn"]), num(&p["cmd"]));
            let msg = wire::encode_request(cmd, num(&p["rq_seq"]) as u8, &hex(&p["data"]));
            assert_eq!(msg, hex(&p["message"]), "{name}: {cmd} message");
            let iv = arr16(&p["iv"]);
            let seq = num(&p["session_seq"]) as u32;
            assert_eq!(
                bulwark::proto::ipmi::crypto::aes_cbc_encrypt(&k2, &iv, &msg),
                hex(&p["encrypted_payload"]),
                "{name}: {cmd} AES-CBC-128 payload"
            );
            let packet = wire::encode_v20(payload::IPMI, t.bmc_sid, seq, &msg, Some(&sec), &iv);
            assert_eq!(
                packet,
                hex(&p["packet"]),
                "{name}: {cmd} packet with trailer"
            );
            match wire::decode(&hex(&p["packet"]), Some(&sec)).expect("decode vector packet") {
                Packet::V20 {
                    payload,
                    encrypted: true,
                    authenticated: true,
                    session_id,
                    seq: s,
                    ..
                } => {
                    assert_eq!(payload, msg);
                    assert_eq!((session_id, s), (t.bmc_sid, seq));
                }
                other => panic!("{name}: {other:?}"),
            }
            // The trailer is checked: one flipped bit anywhere in the covered range fails.
            let mut bad = hex(&p["packet"]);
            let last = bad.len() - 1;
            bad[last] ^= 0x80;
            assert!(
                wire::decode(&bad, Some(&sec)).is_err(),
                "{name}: forged trailer"
            );
        }
    }
}

#[test]
fn v15_md5_vectors() {
    let all = vectors();
    for v in all["v15"].as_array().unwrap() {
        let mut pw16 = [0u8; 16];
        let pw = hex(&v["password"]);
        pw16[..pw.len()].copy_from_slice(&pw);
        let code = wire::v15_auth_code(
            AuthType::Md5,
            &pw16,
            num(&v["session_id"]) as u32,
            &hex(&v["message"]),
            num(&v["seq"]) as u32,
        )
        .expect("md5 code");
        assert_eq!(code.to_vec(), hex(&v["auth_code"]));
    }
}

/// The C checker, built once per test process into this test's own scratch directory (so parallel
/// runs do not overwrite each other's binary).
fn freeipmi_checker() -> std::path::PathBuf {
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ipmi/freeipmi_kat.c"
    );
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("freeipmi_kat.{}", std::process::id()));
    let status = std::process::Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(src)
        .arg("-lfreeipmi")
        .status()
        .expect("run cc (tests/install-deps.sh installs gcc and libfreeipmi-dev)");
    assert!(
        status.success(),
        "building freeipmi_kat.c failed: is libfreeipmi-dev installed (tests/install-deps.sh)?"
    );
    out
}

fn run_checker(bin: &std::path::Path, input: &str) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new(bin)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run freeipmi_kat");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "freeipmi_kat failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn or_dash(v: &Value) -> String {
    match v.as_str() {
        Some("") | None => "-".into(),
        Some(s) => s.into(),
    }
}

#[test]
fn freeipmi_recomputes_every_vector() {
    let bin = freeipmi_checker();
    let all = vectors();
    let cases = all["rmcp_plus"].as_array().unwrap();
    let mut input = String::new();
    let mut expected = Vec::new();
    for c in cases {
        let suite = CipherSuite::from_id(num(&c["suite"]) as u8).unwrap();
        let (auth, integrity, _) = suite.algorithm_ids();
        let user: String = c["username"]
            .as_str()
            .unwrap()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let line = |rakp2: &str, rakp4: &str| {
            format!(
                "keys {auth} {} {} {} {} {} {:02x} {} {} {} {rakp2} {rakp4}\n",
                or_dash(&c["password"]),
                or_dash(&c["kg"]),
                c["console_random"].as_str().unwrap(),
                c["bmc_random"].as_str().unwrap(),
                c["bmc_guid"].as_str().unwrap(),
                num(&c["role"]),
                if user.is_empty() { "-" } else { &user },
                num(&c["console_sid"]),
                num(&c["bmc_sid"]),
            )
        };
        let (rakp2, rakp4) = (
            c["rakp2_hmac"].as_str().unwrap(),
            c["rakp4_icv"].as_str().unwrap(),
        );
        input += &line(rakp2, rakp4);
        expected.push(format!(
            "{} {} {} {} rakp2:OK rakp4:OK",
            c["sik"].as_str().unwrap(),
            c["k1"].as_str().unwrap(),
            c["k2"].as_str().unwrap(),
            c["rakp3_hmac"].as_str().unwrap()
        ));
        // A flipped bit in RAKP 2 and RAKP 4 must be refused: the checker is not vacuous.
        let flip = |h: &str| format!("{}{}", if &h[..1] == "0" { "1" } else { "0" }, &h[1..]);
        input += &line(&flip(rakp2), &flip(rakp4));
        expected.push(format!(
            "{} {} {} {} rakp2:BAD rakp4:BAD",
            c["sik"].as_str().unwrap(),
            c["k1"].as_str().unwrap(),
            c["k2"].as_str().unwrap(),
            c["rakp3_hmac"].as_str().unwrap()
        ));
        let trailer = suite.integrity().trailer_len();
        for p in c["packets"].as_array().unwrap() {
            let packet = p["packet"].as_str().unwrap();
            input += &format!(
                "trailer {integrity} {} {packet} {trailer}\n",
                c["k1"].as_str().unwrap()
            );
            expected.push("OK".into());
        }
        // The same packet under the 32-byte-constant K1 of the first round is refused.
        let sik = hex(&c["sik"]);
        let wrong_k1: String = suite
            .auth()
            .hmac(&sik, &[&[1u8; 32]])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        input += &format!(
            "trailer {integrity} {wrong_k1} {} {trailer}\n",
            c["packets"][0]["packet"].as_str().unwrap()
        );
        expected.push("BAD".into());
    }
    let got = run_checker(&bin, &input);
    let _ = std::fs::remove_file(&bin);
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "FreeIPMI answer {i} differs from vectors.json");
    }
}

#[test]
fn const_n_length_is_20_for_suite_17() {
    // Pinned: FreeIPMI IPMI_KEY_CONSTANT_LENGTH, ipmitool CONST_1/CONST_2, netipmid CONST_N_SIZE.
    assert_eq!(CONST_N_LEN, 20);
    let sik = [0xA5u8; 32];
    let alg = CipherSuite::Suite17.auth();
    assert_eq!(*additional_key(alg, &sik, 1), alg.hmac(&sik, &[&[1u8; 20]]));
    assert_eq!(*additional_key(alg, &sik, 2), alg.hmac(&sik, &[&[2u8; 20]]));
}
