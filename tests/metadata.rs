//! Every agent's generated metadata: equal to the committed copy, valid for every consumer
//! (ocf-tester's DTD, the OCF 1.1 RelaxNG schema, fence-agents' schema), and printable by an
//! unprivileged user without OCF_ROOT.

mod support;

use std::path::Path;
use std::process::Command;
use support::{workspace_bin, workspace_dir};

/// The agents Bulwark ships. Each must have its source under `src/bin/` (a renamed or removed
/// agent fails here instead of silently dropping out of the metadata checks), and every agent
/// source there must be listed (a new agent gets its metadata checked).
fn agents(kind: &str) -> Vec<String> {
    let names: &[&str] = match kind {
        "ocf" => &["vip", "drbd", "axigen"],
        _ => &[
            "fence_bulwark_ipmi",
            "fence_bulwark_idrac",
            "fence_bulwark_pdu",
            "fence_bulwark_redfish",
        ],
    };
    for n in names {
        let src = workspace_dir().join(format!("src/bin/{n}.rs"));
        assert!(
            src.is_file(),
            "{kind} agent {n}: {} is missing",
            src.display()
        );
    }
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn every_agent_source_is_listed() {
    let listed: Vec<String> = agents("ocf").into_iter().chain(agents("fence")).collect();
    let dir = workspace_dir().join("src/bin");
    for entry in std::fs::read_dir(&dir).expect("src/bin") {
        let name = entry.expect("src/bin entry").file_name();
        let name = name.to_string_lossy();
        let Some(agent) = name.strip_suffix(".rs") else {
            continue;
        };
        // The DRBD handlers are not cluster agents: no metadata.
        if agent.starts_with("bulwark-drbd-") {
            continue;
        }
        assert!(
            listed.iter().any(|l| l == agent),
            "src/bin/{name} is not in tests/metadata.rs agents(): its metadata is never checked"
        );
    }
}

fn metadata_of(bin: &Path, fence: bool) -> String {
    let mut cmd = Command::new(bin);
    if fence {
        cmd.args(["-o", "metadata"]);
    } else {
        cmd.arg("meta-data");
    }
    cmd.env_remove("OCF_ROOT");
    let out = cmd.output().expect("run agent");
    assert!(out.status.success(), "{} metadata failed", bin.display());
    String::from_utf8(out.stdout).expect("UTF-8 metadata")
}

fn xmllint(args: &[&str], dir: &Path, xml: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("xmllint")
        .args(args)
        .arg("-")
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("xmllint (libxml2-utils) installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn committed(name: &str) -> String {
    let p = workspace_dir()
        .join("ocf-metadata")
        .join(format!("{name}.xml"));
    std::fs::read_to_string(&p)
        .unwrap_or_else(|_| panic!("{} missing: run packaging/gen-docs.sh", p.display()))
}

#[test]
fn ocf_metadata_is_committed_and_valid_for_ocf_tester_and_ocf_1_1() {
    let list = agents("ocf");
    assert!(list.contains(&"vip".to_string()), "the vip agent exists");
    for a in list {
        let xml = metadata_of(&workspace_bin(&a), false);
        assert_eq!(
            xml,
            committed(&a),
            "ocf-metadata/{a}.xml is stale: run packaging/gen-docs.sh"
        );
        let (ok, err) = xmllint(
            &["--noout", "--valid"],
            Path::new("/usr/share/resource-agents"),
            &xml,
        );
        assert!(
            ok,
            "{a}: ra-api-1.dtd (ocf-tester) rejects the metadata: {err}"
        );
        let rng = workspace_dir().join("tests/schemas/ocf-ra-1.1.rng");
        let (ok, err) = xmllint(
            &["--noout", "--relaxng", rng.to_str().unwrap()],
            Path::new("/"),
            &xml,
        );
        assert!(ok, "{a}: OCF 1.1 RelaxNG rejects the metadata: {err}");
        // pcs picks its schema by the <version> the agent claims.
        let pcs = if xml.contains("<version>1.0</version>") {
            "/usr/share/pcs/data/ocf-1.0.rng"
        } else {
            "/usr/share/pcs/data/ocf-1.1.rng"
        };
        if Path::new(pcs).exists() {
            let (ok, err) = xmllint(&["--noout", "--relaxng", pcs], Path::new("/"), &xml);
            assert!(ok, "{a}: pcs's schema {pcs} rejects the metadata: {err}");
        }
    }
}

#[test]
fn fence_metadata_is_committed_and_valid_for_fence_agents_schema() {
    for a in agents("fence") {
        let xml = metadata_of(&workspace_bin(&a), true);
        assert_eq!(
            xml,
            committed(&a),
            "ocf-metadata/{a}.xml is stale: run packaging/gen-docs.sh"
        );
        let (ok, err) = xmllint(
            &[
                "--noout",
                "--relaxng",
                "/usr/share/cluster/relaxng/metadata.rng",
            ],
            Path::new("/"),
            &xml,
        );
        assert!(
            ok,
            "{a}: fence-agents' metadata.rng rejects the metadata: {err}"
        );
    }
}

#[test]
fn meta_data_works_as_nobody() {
    for a in agents("ocf") {
        // ocf-tester's first step: `su nobody -s /bin/sh -c "AGENT meta-data"`.
        let stage = tempdir_world_readable();
        let dst = stage.join(&a);
        support::copy_executable(&workspace_bin(&a), &dst);
        let out = Command::new("su")
            .args(["nobody", "-s", "/bin/sh", "-c"])
            .arg(format!("{} meta-data", dst.display()))
            .env_remove("OCF_ROOT")
            .output()
            .unwrap();
        assert!(out.status.success(), "{a} meta-data as nobody: {out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("<resource-agent"));
        std::fs::remove_dir_all(&stage).unwrap();
    }
}

fn tempdir_world_readable() -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = std::env::temp_dir().join(support::unique_name("bwmeta"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

#[test]
fn man_pages_are_committed_and_current() {
    for a in agents("ocf") {
        let out = Command::new(workspace_bin(&a)).arg("man").output().unwrap();
        let page = workspace_dir().join(format!("packaging/man/ocf_bulwark_{a}.7"));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&page).unwrap_or_default(),
            "{} is stale: run packaging/gen-docs.sh",
            page.display()
        );
    }
    for a in agents("fence") {
        let out = Command::new(workspace_bin(&a))
            .args(["-o", "manpage"])
            .output()
            .unwrap();
        let page = workspace_dir().join(format!("packaging/man/{a}.8"));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&page).unwrap_or_default(),
            "{} is stale: run packaging/gen-docs.sh",
            page.display()
        );
    }
}
