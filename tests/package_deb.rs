//! The packages an admin installs: `bulwark-agents` as .deb and .rpm (packaging/build-packages.sh).
//!
//! The .deb is linted by lintian and the .rpm by rpmlint (no error; a lintian warning only with
//! an override that gives its reason); both carry the same files. Then the .deb is installed by
//! dpkg inside a one-node cluster's private mount namespace (crm-examples/lab/pkg-install.sh:
//! tmpfs overlays over /usr and dpkg's database; the host is not touched) and used from the
//! installed files only, with the admin's tools: pcs, crmsh, stonith_admin through the running
//! fencer, man, and the README's `pcs` commands, validated by crm_verify; `dpkg -r` then leaves
//! nothing behind.
//!
//! Needs root, the packages built (tests/run-tests.sh builds them) and tests/install-deps.sh.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use support::cluster::Cluster;
use support::stage::Stage;
use support::{built_package, expect_success, output_text, run, workspace_dir, PackageKind};

/// The OCF agents and fence agents the package ships.
const OCF_AGENTS: &[&str] = &["vip", "drbd", "axigen"];
const FENCE_AGENTS: &[&str] = &[
    "fence_bulwark_ipmi",
    "fence_bulwark_idrac",
    "fence_bulwark_pdu",
];

fn command_ok(what: &str, cmd: &mut Command) -> String {
    expect_success(what, &run(cmd))
}

/// Regular files (and symlinks) of the .deb, as absolute paths.
fn deb_files(deb: &Path) -> BTreeSet<String> {
    let listing = command_ok("dpkg-deb -c", Command::new("dpkg-deb").arg("-c").arg(deb));
    listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_string())
        .collect()
}

#[test]
fn packages_are_lint_clean_versioned_and_carry_the_same_files() {
    let deb = built_package(PackageKind::Deb);
    let rpm = built_package(PackageKind::Rpm);
    let version = env!("CARGO_PKG_VERSION");

    // Version from Cargo.toml, and the changelog's newest entry says the same
    let field = command_ok(
        "dpkg-deb -f Version",
        Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Version"),
    );
    assert_eq!(field.trim(), format!("{version}-1"), "deb Version field");
    let changelog = std::fs::read_to_string(workspace_dir().join("packaging/debian/changelog"))
        .expect("packaging/debian/changelog");
    let head = changelog.lines().next().unwrap_or_default();
    assert!(
        head.starts_with(&format!("bulwark-agents ({version}-1) ")),
        "changelog's newest entry is not {version}-1: {head}"
    );
    let rpm_version = command_ok(
        "rpm -qp --queryformat",
        Command::new("rpm")
            .args(["-qp", "--queryformat", "%{VERSION}-%{RELEASE}"])
            .arg(&rpm),
    );
    assert_eq!(rpm_version.trim(), format!("{version}-1"), "rpm version");

    // lintian: no error and no warning left without an override (overridden tags are not shown)
    let lint = run(Command::new("lintian")
        .args(["--no-tag-display-limit", "--display-level", ">=warning"])
        .arg(&deb));
    let text = output_text(&lint);
    let findings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .collect();
    assert!(
        findings.is_empty(),
        "lintian findings without an override:\n{}",
        findings.join("\n")
    );
    eprintln!("lintian: {}", text.trim());

    // rpmlint: no error
    let lint = run(Command::new("rpmlint")
        .arg("-c")
        .arg(workspace_dir().join("packaging/rpmlint.toml"))
        .arg(&rpm));
    let text = output_text(&lint);
    let summary = text
        .lines()
        .find(|l| l.contains("errors") && l.contains("checked"))
        .unwrap_or_else(|| panic!("no rpmlint summary in:\n{text}"));
    assert!(summary.contains(" 0 errors"), "rpmlint errors:\n{text}");
    eprintln!("rpmlint: {summary}");

    // The same files in both (man pages are gzipped in the .deb; the .deb alone carries
    // Debian's copyright, changelog.Debian and lintian override files)
    let debian_only = |p: &str| {
        p.starts_with("/usr/share/lintian/")
            || p == "/usr/share/doc/bulwark-agents/copyright"
            || p == "/usr/share/doc/bulwark-agents/changelog.Debian"
    };
    let normalise = |p: &str| p.trim_end_matches(".gz").to_string();
    let from_deb: BTreeSet<String> = deb_files(&deb)
        .iter()
        .map(|p| normalise(p))
        .filter(|p| !debian_only(p))
        .collect();
    let listing = command_ok("rpm -qlp", Command::new("rpm").arg("-qlp").arg(&rpm));
    let from_rpm: BTreeSet<String> = listing.lines().map(normalise).collect();
    let only_deb: Vec<_> = from_deb.difference(&from_rpm).collect();
    let only_rpm: Vec<_> = from_rpm.difference(&from_deb).collect();
    assert!(
        only_deb.is_empty() && only_rpm.is_empty(),
        "file lists differ\nonly in the .deb: {only_deb:?}\nonly in the .rpm: {only_rpm:?}"
    );
    for must in [
        "/usr/lib/ocf/resource.d/bulwark/vip",
        "/usr/sbin/fence_bulwark_pdu",
        "/usr/lib/bulwark/bulwark-drbd-fence-peer",
        "/usr/share/man/man7/ocf_bulwark_vip.7",
        "/usr/share/man/man8/fence_bulwark_ipmi.8",
        "/usr/share/doc/bulwark-agents/metadata/vip.xml",
        "/usr/share/doc/bulwark-agents/examples/axigen-cluster.pcs.sh",
    ] {
        assert!(
            from_deb.contains(must),
            "{must} not in the packages: {from_deb:?}"
        );
    }
}

/// Whether the host has the package installed or any of its directories.
fn host_has_bulwark() -> Vec<String> {
    let mut found = Vec::new();
    let status = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "bulwark-agents"]));
    if String::from_utf8_lossy(&status.stdout).contains("installed") {
        found.push("dpkg: bulwark-agents installed".to_string());
    }
    for dir in [
        "/usr/lib/ocf/resource.d/bulwark",
        "/usr/lib/bulwark",
        "/usr/share/doc/bulwark-agents",
        "/usr/sbin/fence_bulwark_ipmi",
    ] {
        if Path::new(dir).exists() {
            found.push(dir.to_string());
        }
    }
    found
}

/// The `pcs` commands of README's Install section, continuation lines joined.
fn readme_pcs_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace_dir().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Install"))
        .expect("README has an Install section");
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in section.lines() {
        let Some(code) = line.strip_prefix("    ") else {
            continue;
        };
        let code = code.trim();
        if current.is_empty() && !code.starts_with("pcs ") {
            continue;
        }
        match code.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(code);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

fn assert_quiet_success(what: &str, out: &Output) -> String {
    let stdout = expect_success(what, out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "{what}: printed on stderr:\n{stderr}"
    );
    stdout
}

#[test]
fn installed_deb_serves_pcs_crmsh_fencer_man_and_removes_cleanly() {
    let deb = built_package(PackageKind::Deb);
    let host_before = host_has_bulwark();
    let stage = Stage::empty();
    stage.add_package(&deb);
    let cluster = Cluster::single(&stage);

    let status = cluster.exec_ok(&[
        "dpkg-query",
        "-W",
        "-f=${Status} ${Version}",
        "bulwark-agents",
    ]);
    assert!(
        status.starts_with("install ok installed"),
        "not installed in the node: {status}"
    );

    // crmsh logs to /var/log/crmsh, which the node's fresh /var/log lacks
    cluster.exec_ok(&["mkdir", "-p", "/var/log/crmsh"]);
    for agent in OCF_AGENTS {
        let rsc = format!("ocf:bulwark:{agent}");
        let described = assert_quiet_success(
            &format!("pcs resource describe {rsc}"),
            &cluster.exec(&["pcs", "resource", "describe", &rsc]),
        );
        assert!(described.contains("Resource options:"), "{described}");
        let info = expect_success(
            &format!("crm ra info {rsc}"),
            &cluster.exec(&["crm", "ra", "info", &rsc]),
        );
        assert!(
            info.contains(&format!("({rsc})")),
            "crm ra info {rsc}:\n{info}"
        );
    }
    for agent in FENCE_AGENTS {
        let xml = cluster.exec_ok(&["stonith_admin", "--metadata", "--agent", agent]);
        assert!(
            xml.contains(&format!("<resource-agent name=\"{agent}\"")),
            "stonith_admin --metadata --agent {agent}:\n{xml}"
        );
    }
    for (page, title) in [
        ("ocf_bulwark_vip", "ocf:bulwark:vip"),
        ("fence_bulwark_pdu", "fence_bulwark_pdu"),
    ] {
        let text = assert_quiet_success(
            &format!("man {page}"),
            &cluster.exec(&["env", "MANWIDTH=100", "man", "-P", "col -b", page]),
        );
        assert!(
            text.contains("NAME") && text.contains(title) && text.lines().count() > 20,
            "man {page} did not render:\n{text}"
        );
    }

    // README's Install commands, as written, on a copy of this cluster's CIB with the README's
    // node names added; crm_verify then checks the whole configuration
    let cib = cluster.lab_dir().join("readme-cib.xml");
    let cib_arg = cib.to_string_lossy().into_owned();
    cluster.exec_ok(&["pcs", "cluster", "cib", &cib_arg]);
    for (id, name) in [("101", "mail1"), ("102", "mail2")] {
        cluster.exec_ok(&[
            "env",
            &format!("CIB_file={cib_arg}"),
            "cibadmin",
            "-C",
            "-o",
            "nodes",
            "-X",
            &format!("<node id=\"{id}\" uname=\"{name}\"/>"),
        ]);
    }
    let commands = readme_pcs_commands();
    assert!(
        commands.len() >= 10,
        "README's Install section: {commands:?}"
    );
    for command in &commands {
        let script = format!("pcs() {{ command pcs -f \"$CIB\" \"$@\"; }}\n{command}");
        let out = cluster.exec(&["env", &format!("CIB={cib_arg}"), "bash", "-euc", &script]);
        expect_success(&format!("README: {command}"), &out);
    }
    cluster.exec_ok(&["crm_verify", "--xml-file", &cib_arg]);

    // dpkg -r leaves none of the package's files or directories
    let files = deb_files(&deb);
    cluster.exec_ok(&[
        "dpkg",
        "--log=/run/bulwark-pkg/dpkg.log",
        "-r",
        "bulwark-agents",
    ]);
    let mut left: Vec<String> = files
        .iter()
        .map(String::as_str)
        .chain([
            "/usr/lib/ocf/resource.d/bulwark",
            "/usr/lib/bulwark",
            "/usr/share/doc/bulwark-agents",
        ])
        .filter(|p| cluster.exec(&["test", "-e", p]).status.success())
        .map(str::to_string)
        .collect();
    left.sort();
    assert!(left.is_empty(), "left after dpkg -r: {left:?}");
    let after = cluster.exec(&["dpkg-query", "-W", "-f=${Status}", "bulwark-agents"]);
    assert!(
        !String::from_utf8_lossy(&after.stdout).contains(" installed"),
        "still installed after dpkg -r: {}",
        output_text(&after)
    );

    drop(cluster);
    assert_eq!(
        host_has_bulwark(),
        host_before,
        "the host's installation changed"
    );
}
