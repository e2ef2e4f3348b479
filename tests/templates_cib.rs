//! The cluster configuration templates in `crm-examples/` (the Axigen stack with DRBD, and the
//! SAN variant), checked the way an admin would use them, as root:
//! - every CIB XML template passes `crm_verify -x` with Bulwark's agents installed (overlay);
//! - every parameter a template gives an agent is one the agent declares;
//! - the pcs script, the CIB XML and the crmsh file load into a running one-node cluster and
//!   produce the same configuration, `crm_verify -L` clean after each;
//! - the pcs script runs against a running two-node cluster and both nodes see the result.
//!
//! Agents that are not built are replaced by metadata-only stand-ins (see [`standin_ocf`]):
//! they describe the agent's parameters (the committed `ocf-metadata/<agent>.xml` when there is
//! one) and refuse to start anything. The clusters keep every node in standby (a transient
//! attribute, which survives configuration replacement), so nothing is started: these tests
//! are about the configuration, failover is the lab's job.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use support::{
    examples_dir, expect_success, output_text, overlay_exec, workspace_dir, Cluster, LabDir, Stage,
};

/// OCF agents the templates use, with the parameters a stand-in declares when the agent is not
/// built and has no committed metadata (names from the agents' issues).
const OCF_STANDINS: &[(&str, &[&str])] = &[
    ("vip", &["ip", "cidr_netmask", "nic"]),
    (
        "drbd",
        &[
            "drbd_resource",
            "drbdconf",
            "adjust_master_score",
            "stop_outdates_secondary",
            "wfc_timeout",
        ],
    ),
    (
        "axigen",
        &["binary", "datadir", "probe_address", "cli_password_file"],
    ),
];

const IPMI_PARAMS: &[&str] = &[
    "action",
    "ip",
    "ipport",
    "username",
    "password",
    "password_script",
    "password_file",
    "lanplus",
    "cipher",
    "privlvl",
];

/// Fence agents the templates use, with the stand-in's parameters.
const FENCE_STANDINS: &[(&str, &[&str])] = &[
    ("fence_bulwark_ipmi", IPMI_PARAMS),
    ("fence_bulwark_idrac", IPMI_PARAMS),
    (
        "fence_bulwark_pdu",
        &[
            "action",
            "ip",
            "snmp_version",
            "community",
            "username",
            "password_file",
            "snmp_sec_level",
            "snmp_auth_prot",
            "snmp_priv_prot",
            "snmp_priv_passwd_file",
            "plug",
        ],
    ),
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The templates name their nodes mail1/mail2; the lab's nodes are node1/node2.
fn for_lab(template: &str) -> String {
    template.replace("mail1", "node1").replace("mail2", "node2")
}

// ---- Stage with stand-ins -------------------------------------------------------------------

/// Agents staged from the build, plus stand-ins for those not built. Returns the stage and the
/// names that are stand-ins (printed, so a run shows what was really checked).
fn stage() -> (Stage, Vec<String>) {
    let stage = Stage::from_workspace();
    let mut standins = Vec::new();
    for (name, params) in OCF_STANDINS {
        if !stage.ocf_path(name).is_file() {
            stage.add_ocf_script(name, &standin_ocf(name, params));
            standins.push(format!("ocf:bulwark:{name}"));
        }
    }
    let sbin = stage.path().join("sbin");
    for (name, params) in FENCE_STANDINS {
        if sbin.join(name).is_file() {
            continue;
        }
        stage.add_sbin_script(name, &standin_fence(name, params));
        standins.push((*name).to_string());
    }
    if !standins.is_empty() {
        eprintln!("metadata-only stand-ins (agent not built): {standins:?}");
    }
    (stage, standins)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A stand-in for `ocf:bulwark:<name>`: prints the committed metadata when there is some, else
/// a minimal description of `params`; probes find it not running, start fails. The heredoc
/// delimiter cannot occur in metadata.
fn standin_ocf(name: &str, params: &[&str]) -> String {
    let committed = workspace_dir()
        .join("ocf-metadata")
        .join(format!("{name}.xml"));
    let metadata = std::fs::read_to_string(&committed).unwrap_or_else(|_| {
        let mut x = format!(
            "<?xml version=\"1.0\"?>\n<resource-agent name=\"{name}\" version=\"0\">\n\
             <version>1.1</version>\n<longdesc lang=\"en\">stand-in</longdesc>\n\
             <shortdesc lang=\"en\">stand-in</shortdesc>\n<parameters>\n"
        );
        for p in params {
            let p = xml_escape(p);
            x.push_str(&format!(
                "<parameter name=\"{p}\"><longdesc lang=\"en\">{p}</longdesc>\
                 <shortdesc lang=\"en\">{p}</shortdesc><content type=\"string\"/></parameter>\n"
            ));
        }
        x.push_str(
            "</parameters>\n<actions>\n<action name=\"start\" timeout=\"20s\"/>\n\
             <action name=\"stop\" timeout=\"20s\"/>\n\
             <action name=\"monitor\" timeout=\"20s\" interval=\"10s\"/>\n\
             <action name=\"meta-data\" timeout=\"5s\"/>\n\
             <action name=\"validate-all\" timeout=\"20s\"/>\n</actions>\n</resource-agent>\n",
        );
        x
    });
    format!(
        "#!/bin/sh\n# Stand-in for ocf:bulwark:{name} (not built): metadata only.\n\
         case \"$1\" in\n\
         meta-data) cat <<'STANDIN_METADATA_END'\n{metadata}\nSTANDIN_METADATA_END\n;;\n\
         validate-all|stop|notify|demote) exit 0 ;;\n\
         monitor|status) exit 7 ;;\n\
         *) echo 'ocf-exit-reason:stand-in for an agent that is not built' >&2; exit 1 ;;\n\
         esac\n"
    )
}

/// A stand-in fence agent: metadata (action from `-o`, `--action=` or stdin, as fenced and pcs
/// pass it), `monitor` succeeds, everything else fails. It never claims to have fenced.
fn standin_fence(name: &str, params: &[&str]) -> String {
    let committed = workspace_dir()
        .join("ocf-metadata")
        .join(format!("{name}.xml"));
    let metadata = std::fs::read_to_string(&committed).unwrap_or_else(|_| {
        let mut x = format!(
            "<?xml version=\"1.0\" ?>\n<resource-agent name=\"{name}\" shortdesc=\"stand-in\">\n\
             <longdesc>stand-in</longdesc>\n<vendor-url>https://example.org</vendor-url>\n<parameters>\n"
        );
        for p in params {
            let p = xml_escape(p);
            x.push_str(&format!(
                "<parameter name=\"{p}\" unique=\"0\" required=\"0\"><getopt mixed=\"--{p}=[v]\"/>\
                 <content type=\"string\"/><shortdesc lang=\"en\">{p}</shortdesc></parameter>\n"
            ));
        }
        x.push_str(
            "</parameters>\n<actions>\n<action name=\"on\" automatic=\"0\"/>\n<action name=\"off\"/>\n\
             <action name=\"reboot\"/>\n<action name=\"status\"/>\n<action name=\"monitor\"/>\n\
             <action name=\"metadata\"/>\n<action name=\"validate-all\"/>\n</actions>\n</resource-agent>\n",
        );
        x
    });
    format!(
        "#!/bin/sh\n# Stand-in for {name} (not built): metadata only.\n\
         action=\n\
         while [ $# -gt 0 ]; do case $1 in -o) action=$2; shift ;; -o*) action=${{1#-o}} ;; \
         --action=*) action=${{1#*=}} ;; esac; shift; done\n\
         if [ -z \"$action\" ]; then while IFS= read -r l; do case $l in action=*|option=*) \
         action=${{l#*=}} ;; esac; done; fi\n\
         case $action in\n\
         metadata|meta-data) cat <<'STANDIN_METADATA_END'\n{metadata}\nSTANDIN_METADATA_END\n;;\n\
         monitor|validate-all) exit 0 ;;\n\
         *) echo 'stand-in for a fence agent that is not built' >&2; exit 1 ;;\n\
         esac\n"
    )
}

// ---- A small XML tree and the configuration summary -----------------------------------------

#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<El>,
}

impl El {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
    fn kids<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a El>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.find_all(name, out);
        }
    }
    fn all<'a>(&'a self, name: &str) -> Vec<&'a El> {
        let mut v = Vec::new();
        self.find_all(name, &mut v);
        v
    }
}

/// Parses XML into a tree (comments and text dropped). Panics on malformed input: templates
/// and CIB dumps must be well-formed.
fn parse_xml(xml: &str) -> El {
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;
    fn element(e: &BytesStart<'_>) -> El {
        let mut el = El {
            name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
            ..El::default()
        };
        for a in e.attributes().flatten() {
            let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let v = a
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_default();
            el.attrs.insert(k, v);
        }
        el
    }
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![El::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(element(&e)),
            Ok(Event::Empty(e)) => {
                let el = element(&e);
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Ok(Event::End(_)) => {
                let done = stack.pop().expect("unbalanced XML");
                stack
                    .last_mut()
                    .expect("unbalanced XML")
                    .children
                    .push(done);
            }
            Ok(Event::Eof) => break,
            Err(e) => panic!("malformed XML at {}: {e}", reader.buffer_position()),
            Ok(_) => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed XML element");
    stack.pop().unwrap_or_default()
}

/// Cluster options the templates set (the cluster adds its own, e.g. dc-version).
const TEMPLATE_PROPERTIES: &[&str] = &[
    "stonith-enabled",
    "stonith-timeout",
    "priority-fencing-delay",
    "no-quorum-policy",
    "startup-fencing",
];

fn nvpairs(set: &El) -> Vec<(String, String)> {
    set.kids("nvpair")
        .map(|n| {
            (
                n.attr("name").unwrap_or("").to_string(),
                n.attr("value").unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// What a configuration means, independent of ids, element order and the tool that wrote it:
/// one line per fact. Two configurations with equal summaries behave the same.
fn summarize(cib: &str) -> BTreeSet<String> {
    let root = parse_xml(cib);
    let mut s = BTreeSet::new();
    let Some(conf) = root.all("configuration").into_iter().next() else {
        panic!("no <configuration> in:\n{cib}");
    };
    for n in conf.all("node") {
        s.insert(format!(
            "node {} {}",
            n.attr("id").unwrap_or(""),
            n.attr("uname").unwrap_or("")
        ));
    }
    for set in conf.all("cluster_property_set") {
        for (k, v) in nvpairs(set) {
            if TEMPLATE_PROPERTIES.contains(&k.as_str()) {
                s.insert(format!("property {k}={v}"));
            }
        }
    }
    for d in conf.kids("rsc_defaults") {
        for m in d.kids("meta_attributes") {
            for (k, v) in nvpairs(m) {
                s.insert(format!("rsc_defaults {k}={v}"));
            }
        }
    }
    for p in conf.all("primitive") {
        let id = p.attr("id").unwrap_or("");
        let agent = [p.attr("class"), p.attr("provider"), p.attr("type")]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(":");
        s.insert(format!("primitive {id} {agent}"));
        for ia in p.kids("instance_attributes") {
            for (k, v) in nvpairs(ia) {
                s.insert(format!("param {id} {k}={v}"));
            }
        }
        for m in p.kids("meta_attributes") {
            for (k, v) in nvpairs(m) {
                s.insert(format!("meta {id} {k}={v}"));
            }
        }
        for ops in p.kids("operations") {
            for op in ops.kids("op") {
                let depth = op
                    .kids("instance_attributes")
                    .flat_map(nvpairs)
                    .find(|(k, _)| k == "OCF_CHECK_LEVEL")
                    .map(|(_, v)| v)
                    .unwrap_or_else(|| "0".into());
                let interval = op.attr("interval").unwrap_or("0s");
                let interval = if interval == "0" { "0s" } else { interval };
                s.insert(format!(
                    "op {id} {} interval={interval} role={} timeout={} depth={depth}",
                    op.attr("name").unwrap_or(""),
                    op.attr("role").unwrap_or("-"),
                    op.attr("timeout").unwrap_or("-"),
                ));
            }
        }
    }
    for c in conf.all("clone") {
        let id = c.attr("id").unwrap_or("");
        for p in c.kids("primitive") {
            s.insert(format!("clone {id} of {}", p.attr("id").unwrap_or("")));
        }
        for m in c.kids("meta_attributes") {
            for (k, v) in nvpairs(m) {
                s.insert(format!("meta {id} {k}={v}"));
            }
        }
    }
    for g in conf.all("group") {
        let members: Vec<&str> = g.kids("primitive").filter_map(|p| p.attr("id")).collect();
        s.insert(format!(
            "group {} [{}]",
            g.attr("id").unwrap_or(""),
            members.join(",")
        ));
    }
    for c in conf.all("rsc_colocation") {
        s.insert(format!(
            "colocation {}:{} with {}:{} score={}",
            c.attr("rsc").unwrap_or(""),
            c.attr("rsc-role").unwrap_or("Started"),
            c.attr("with-rsc").unwrap_or(""),
            c.attr("with-rsc-role").unwrap_or("Started"),
            c.attr("score").unwrap_or("")
        ));
    }
    for o in conf.all("rsc_order") {
        s.insert(format!(
            "order {} {} then {} {} kind={}",
            o.attr("first-action").unwrap_or("start"),
            o.attr("first").unwrap_or(""),
            o.attr("then-action").unwrap_or("start"),
            o.attr("then").unwrap_or(""),
            o.attr("kind").unwrap_or("Mandatory")
        ));
    }
    for l in conf.all("rsc_location") {
        s.insert(format!(
            "location {} node={} score={}",
            l.attr("rsc").unwrap_or(""),
            l.attr("node").unwrap_or("(rule)"),
            l.attr("score").unwrap_or("")
        ));
    }
    for f in conf.all("fencing-level") {
        s.insert(format!(
            "fencing-level {} {} {}",
            f.attr("target").unwrap_or(""),
            f.attr("index").unwrap_or(""),
            f.attr("devices").unwrap_or("")
        ));
    }
    s
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for x in a.difference(b) {
        out.push_str(&format!("  - {x}\n"));
    }
    for x in b.difference(a) {
        out.push_str(&format!("  + {x}\n"));
    }
    out
}

// ---- Static checks (no cluster) -------------------------------------------------------------

const CIB_TEMPLATES: &[&str] = &[
    "axigen-cluster.xml",
    "san/axigen-san.xml",
    "redfish/redfish-fencing.xml",
];

/// The template as a running cluster with both nodes up and quorate would hold it: a status
/// section with both nodes online. Without one, crm_verify sees two unseen nodes and rightly
/// warns that it would fence them (startup-fencing), which says nothing about the template.
fn with_nodes_online(template: &str) -> String {
    let root = parse_xml(template);
    let mut status = String::from("<status>");
    for n in root.all("node") {
        let id = n.attr("id").expect("node without id");
        let uname = n.attr("uname").expect("node without uname");
        status.push_str(&format!(
            "<node_state id=\"{id}\" uname=\"{uname}\" in_ccm=\"true\" crmd=\"online\" \
             join=\"member\" expected=\"member\"/>"
        ));
    }
    status.push_str("</status>");
    assert!(
        template.contains("<status/>"),
        "template has a status section"
    );
    let cib_tag = template.find("<cib ").expect("no <cib>");
    let mut out = template.replace("<status/>", &status);
    out.insert_str(cib_tag + "<cib ".len(), "have-quorum=\"1\" dc-uuid=\"1\" ");
    out
}

/// `crm_verify -VVV -x` on `xml` (written to a scratch file) inside the overlay.
fn crm_verify_file(stage: &Stage, xml: &str) -> Output {
    let scratch = LabDir::new("tmpl");
    let path = scratch.path().join("cib.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let p = path.to_string_lossy().into_owned();
    overlay_exec(stage, &["crm_verify", "-VVV", "-x", &p])
}

/// Warning and error lines of crm_verify's verbose output.
fn complaints(out: &Output) -> Vec<String> {
    output_text(out)
        .lines()
        .filter(|l| l.contains("warning") || l.contains("error"))
        .map(str::to_string)
        .collect()
}

#[test]
fn crm_verify_accepts_every_cib_template() {
    let (stage, _) = stage();
    for t in CIB_TEMPLATES {
        let out = crm_verify_file(&stage, &with_nodes_online(&read(&examples_dir().join(t))));
        assert!(
            out.status.success(),
            "crm_verify -x {t}:\n{}",
            output_text(&out)
        );
        let c = complaints(&out);
        assert!(c.is_empty(), "crm_verify -x {t} complained:\n{c:#?}");
        // As shipped (no status): the only complaints are about the two unseen nodes.
        let out = crm_verify_file(&stage, &read(&examples_dir().join(t)));
        for line in complaints(&out) {
            assert!(
                line.contains("unclean but cannot be fenced")
                    || line.contains("lack of quorum")
                    || line.contains("Warnings found"),
                "{t}: {line}"
            );
        }
    }
    // The check has teeth: the same template with a constraint on a resource that does not
    // exist is refused.
    let xml = with_nodes_online(&read(&examples_dir().join("axigen-cluster.xml")))
        .replace("with-rsc=\"mail-drbd-clone\"", "with-rsc=\"no-such-clone\"");
    let out = crm_verify_file(&stage, &xml);
    assert!(!out.status.success(), "broken template accepted");
}

/// The agent a primitive names, as Pacemaker's tools spell it.
fn agent_spec(p: &El) -> String {
    match (p.attr("class"), p.attr("provider"), p.attr("type")) {
        (Some(c), Some(pr), Some(t)) => format!("{c}:{pr}:{t}"),
        (Some(c), None, Some(t)) => format!("{c}:{t}"),
        _ => panic!("primitive {:?} without class/type", p.attr("id")),
    }
}

/// Parameter names (and which are required) from an agent's metadata.
fn declared_params(metadata: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let root = parse_xml(metadata);
    let mut all = BTreeSet::new();
    let mut required = BTreeSet::new();
    for p in root.all("parameter") {
        if let Some(n) = p.attr("name") {
            all.insert(n.to_string());
            if p.attr("required") == Some("1") && p.attr("deprecated") != Some("1") {
                required.insert(n.to_string());
            }
        }
    }
    (all, required)
}

#[test]
fn template_parameters_are_declared_by_the_agents() {
    let (stage, standins) = stage();
    let mut metadata: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut checked = 0;
    for t in CIB_TEMPLATES {
        let root = parse_xml(&read(&examples_dir().join(t)));
        for p in root.all("primitive") {
            let spec = agent_spec(p);
            let (all, required) = metadata
                .entry(spec.clone())
                .or_insert_with(|| {
                    let out = overlay_exec(&stage, &["crm_resource", "--show-metadata", &spec]);
                    declared_params(&expect_success(&format!("metadata of {spec}"), &out))
                })
                .clone();
            assert!(!all.is_empty(), "{spec} declares no parameters");
            let given: BTreeSet<String> = p
                .kids("instance_attributes")
                .flat_map(nvpairs)
                .map(|(k, _)| k)
                .collect();
            for name in &given {
                // pcmk_* are Pacemaker's own fence-device options, not the agent's.
                if name.starts_with("pcmk_") {
                    continue;
                }
                assert!(
                    all.contains(name),
                    "{t}: {} gives {spec} the parameter {name}, which it does not declare \
                     (declared: {all:?}; stand-ins: {standins:?})",
                    p.attr("id").unwrap_or("")
                );
                checked += 1;
            }
            for name in &required {
                // action has a default in every fence agent; fenced supplies it.
                if name == "action" || name == "port" || name == "plug" {
                    continue;
                }
                assert!(
                    given.contains(name),
                    "{t}: {} lacks {spec}'s required parameter {name}",
                    p.attr("id").unwrap_or("")
                );
            }
        }
    }
    assert!(checked >= 20, "only {checked} parameters checked");
}

#[test]
fn the_xml_and_crmsh_templates_say_the_same() {
    // The crmsh file cannot be read without crmsh and a CIB; what can be checked statically
    // is that every resource id and agent of the XML appears in it, and vice versa.
    for (xml, crm) in [
        ("axigen-cluster.xml", "axigen-cluster.crm"),
        ("san/axigen-san.xml", "san/axigen-san.crm"),
        ("redfish/redfish-fencing.xml", "redfish/redfish-fencing.crm"),
    ] {
        let root = parse_xml(&read(&examples_dir().join(xml)));
        let crm_text = read(&examples_dir().join(crm));
        for p in root.all("primitive") {
            let id = p.attr("id").unwrap_or("");
            let line = format!("primitive {id} {}", agent_spec(p));
            assert!(crm_text.contains(&line), "{crm} lacks `{line}`");
        }
        let crm_prims = crm_text
            .lines()
            .filter(|l| l.starts_with("primitive "))
            .count();
        assert_eq!(crm_prims, root.all("primitive").len(), "{xml} vs {crm}");
    }
}

// ---- Live clusters --------------------------------------------------------------------------

/// Node standby as a transient attribute: nothing starts, and it survives a replacement of the
/// configuration section.
fn standby(cluster: &Cluster, n: u32) {
    cluster.exec_ok(&[
        "crm_attribute",
        "--node",
        &format!("node{n}"),
        "--name",
        "standby",
        "--update",
        "on",
        "--lifetime",
        "reboot",
    ]);
}

/// `crm_verify -L -V` on node `n`: must succeed without a single error or warning line.
fn verify_live(cluster: &Cluster, n: u32, what: &str) {
    let out = cluster.exec_on(n, &["crm_verify", "-L", "-V"]);
    let t = output_text(&out);
    if !out.status.success() || t.contains("error") || t.contains("warning") {
        // -V shows configuration errors only; say what else the scheduler warned about.
        let detail = output_text(&cluster.exec_on(n, &["crm_verify", "-L", "-VVV"]));
        let detail: Vec<&str> = detail
            .lines()
            .filter(|l| l.contains("warning") || l.contains("error"))
            .collect();
        panic!(
            "crm_verify -L on node{n} after {what}:\n{t}\n{}\n(lab {})",
            detail.join("\n"),
            cluster.lab_dir().display()
        );
    }
}

fn live_configuration(cluster: &Cluster, n: u32) -> String {
    cluster.exec_ok_on(n, &["cibadmin", "--query", "--scope", "configuration"])
}

/// Copies `content` into the lab directory (visible inside the nodes) and returns its path.
fn put_in_lab(cluster: &Cluster, name: &str, content: &str) -> String {
    let path = cluster.lab_dir().join(name);
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path.to_string_lossy().into_owned()
}

/// Runs a pcs template script inside node `n` with the lab's node names; returns its output.
fn run_pcs_script(cluster: &Cluster, n: u32, script: &str) -> String {
    let path = examples_dir().join(script);
    let p = path.to_string_lossy().into_owned();
    let cmd = ["env", "NODE1=node1", "NODE2=node2", "bash", &p];
    let out = cluster.exec_on_within(n, &cmd, PCS_SCRIPT_TIMEOUT);
    expect_success(&format!("node{n}: {}", cmd.join(" ")), &out)
}

/// Bound on one pcs template script (about twenty pcs runs, each a Python start-up).
const PCS_SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

/// Prepares the one-node lab for a template that names two nodes: node1 in standby (nothing
/// starts), node2 known to the CIB (pcs refuses fencing levels for unknown nodes; in a real
/// cluster both have joined before), and the never-seen node2 not fenced (startup-fencing).
fn prepare_single(cluster: &Cluster) {
    // node1 too: an erased configuration has lost it, and the cluster would ignore its state.
    for n in [1, 2] {
        cluster.exec_ok(&[
            "cibadmin",
            "--modify",
            "--allow-create",
            "--scope",
            "nodes",
            "--xml-text",
            &format!("<node id=\"{n}\" uname=\"node{n}\"/>"),
        ]);
    }
    standby(cluster, 1);
    cluster.exec_ok(&[
        "crm_attribute",
        "--type",
        "crm_config",
        "--name",
        "startup-fencing",
        "--update",
        "false",
    ]);
}

/// The one-node lab's own additions, left out when comparing configurations.
fn ignore_lab(mut s: BTreeSet<String>) -> BTreeSet<String> {
    s.remove("property startup-fencing=false");
    s
}

/// [`for_lab`] for the one-node lab: also keeps startup-fencing off (see [`prepare_single`]),
/// which a replacement of the configuration section would otherwise drop.
fn for_single(template: &str) -> String {
    for_lab(template).replacen(
        "<cluster_property_set id=\"cib-bootstrap-options\">",
        "<cluster_property_set id=\"cib-bootstrap-options\">\n<nvpair \
         id=\"lab-startup-fencing\" name=\"startup-fencing\" value=\"false\"/>",
        1,
    )
}

/// Erases the configuration (back to an empty cluster) and prepares the lab again.
fn erase(cluster: &Cluster) {
    cluster.exec_ok(&["cibadmin", "--erase", "--force"]);
    prepare_single(cluster);
}

fn wait_settled(cluster: &Cluster) {
    // The DC recomputes after every change; crm_verify reads the CIB directly, so this only
    // avoids racing a configuration write in progress.
    let ok = cluster.wait_for(Duration::from_secs(60), || {
        cluster
            .exec(&["cibadmin", "--query", "--scope", "configuration"])
            .status
            .success()
    });
    assert!(ok, "CIB not readable");
}

#[test]
fn single_node_cluster_loads_pcs_xml_and_crmsh_alike() {
    let (stage, _) = stage();
    let cluster = Cluster::single(&stage);
    prepare_single(&cluster);

    // 1. The pcs script, live (it builds a file and pushes it).
    let out = run_pcs_script(&cluster, 1, "axigen-cluster.pcs.sh");
    assert!(out.contains("pushed"), "{out}");
    wait_settled(&cluster);
    verify_live(&cluster, 1, "the pcs script");
    let by_pcs = ignore_lab(summarize(&live_configuration(&cluster, 1)));

    // 2. The CIB XML, replacing the configuration section.
    let xml_path = put_in_lab(
        &cluster,
        "axigen-cluster.xml",
        &for_single(&read(&examples_dir().join("axigen-cluster.xml"))),
    );
    cluster.exec_ok(&[
        "cibadmin",
        "--replace",
        "--scope",
        "configuration",
        "--xml-file",
        &xml_path,
    ]);
    wait_settled(&cluster);
    verify_live(&cluster, 1, "cibadmin --replace of axigen-cluster.xml");
    let by_xml = ignore_lab(summarize(&live_configuration(&cluster, 1)));
    assert_eq!(
        by_pcs,
        by_xml,
        "pcs script and XML differ:\n{}",
        diff(&by_pcs, &by_xml)
    );
    // The meaning the issue asks for, spelled out once.
    for fact in [
        "property stonith-enabled=true",
        "meta mail-drbd-clone promotable=true",
        "meta mail-drbd-clone notify=true",
        "meta mail-drbd-clone promoted-max=1",
        "meta mail-drbd-clone promoted-node-max=1",
        "meta mail-drbd-clone clone-max=2",
        "meta mail-drbd-clone clone-node-max=1",
        "group mail-services [mail-fs,mail-ip,mail-axigen]",
        "param mail-fs directory=/var/opt/axigen",
        "colocation mail-services:Started with mail-drbd-clone:Promoted score=INFINITY",
        "order promote mail-drbd-clone then start mail-services kind=Mandatory",
        "rsc_defaults resource-stickiness=100",
        "location fence-node1-idrac node=node1 score=-INFINITY",
        "location fence-node2-idrac node=node2 score=-INFINITY",
        "param fence-node1-idrac pcmk_host_list=node1",
        "param fence-node2-idrac pcmk_host_list=node2",
        "param fence-pdu pcmk_host_map=node1:1;node2:2",
        "param fence-node1-idrac pcmk_delay_base=5s",
        "fencing-level node1 1 fence-node1-idrac",
        "fencing-level node1 2 fence-pdu",
        "fencing-level node2 1 fence-node2-idrac",
        "fencing-level node2 2 fence-pdu",
    ] {
        assert!(by_xml.contains(fact), "missing: {fact}");
    }
    let drbd_monitors: Vec<&String> = by_xml
        .iter()
        .filter(|l| l.starts_with("op mail-drbd monitor"))
        .collect();
    assert_eq!(drbd_monitors.len(), 2, "{drbd_monitors:?}");
    assert!(
        by_xml
            .iter()
            .all(|l| !l.contains("param") || !l.contains(" password=")),
        "a password in the CIB"
    );

    // 3. The crmsh file, into an emptied configuration.
    erase(&cluster);
    cluster.exec_ok(&["mkdir", "-p", "/var/log/crmsh"]);
    let crm_path = put_in_lab(
        &cluster,
        "axigen-cluster.crm",
        &for_lab(&read(&examples_dir().join("axigen-cluster.crm"))),
    );
    cluster.exec_ok(&["crm", "configure", "load", "update", &crm_path]);
    wait_settled(&cluster);
    verify_live(&cluster, 1, "crm configure load update axigen-cluster.crm");
    let by_crm = ignore_lab(summarize(&live_configuration(&cluster, 1)));
    assert_eq!(
        by_xml,
        by_crm,
        "XML and crmsh differ:\n{}",
        diff(&by_xml, &by_crm)
    );

    // 4. The SAN variant, the same three ways.
    let san_xml = put_in_lab(
        &cluster,
        "axigen-san.xml",
        &for_single(&read(&examples_dir().join("san/axigen-san.xml"))),
    );
    cluster.exec_ok(&[
        "cibadmin",
        "--replace",
        "--scope",
        "configuration",
        "--xml-file",
        &san_xml,
    ]);
    wait_settled(&cluster);
    verify_live(&cluster, 1, "cibadmin --replace of san/axigen-san.xml");
    let san_by_xml = ignore_lab(summarize(&live_configuration(&cluster, 1)));
    assert!(
        san_by_xml.iter().all(|l| !l.contains("drbd")),
        "{san_by_xml:?}"
    );
    assert!(san_by_xml.contains("group mail-services [mail-fs,mail-ip,mail-axigen]"));

    erase(&cluster);
    let san_crm = put_in_lab(
        &cluster,
        "axigen-san.crm",
        &for_lab(&read(&examples_dir().join("san/axigen-san.crm"))),
    );
    cluster.exec_ok(&["crm", "configure", "load", "update", &san_crm]);
    wait_settled(&cluster);
    verify_live(&cluster, 1, "crm configure load update san/axigen-san.crm");
    let san_by_crm = ignore_lab(summarize(&live_configuration(&cluster, 1)));
    assert_eq!(
        san_by_xml,
        san_by_crm,
        "SAN XML and crmsh differ:\n{}",
        diff(&san_by_xml, &san_by_crm)
    );

    erase(&cluster);
    let out = run_pcs_script(&cluster, 1, "san/axigen-san.pcs.sh");
    assert!(out.contains("pushed"), "{out}");
    wait_settled(&cluster);
    verify_live(&cluster, 1, "the SAN pcs script");
    let san_by_pcs = ignore_lab(summarize(&live_configuration(&cluster, 1)));
    assert_eq!(
        san_by_xml,
        san_by_pcs,
        "SAN XML and pcs differ:\n{}",
        diff(&san_by_xml, &san_by_pcs)
    );
}

#[test]
fn two_node_cluster_takes_the_pcs_script() {
    let (stage, _) = stage();
    let cluster = Cluster::two(&stage);
    standby(&cluster, 1);
    standby(&cluster, 2);

    // First into a file only (PUSH=no): the live cluster must not change.
    let before = summarize(&live_configuration(&cluster, 1));
    let cib_file = cluster.lab_dir().join("built.cib");
    let f = cib_file.to_string_lossy().into_owned();
    let script = examples_dir().join("axigen-cluster.pcs.sh");
    let s = script.to_string_lossy().into_owned();
    let cib_file_env = format!("CIB_FILE={f}");
    let cmd = [
        "env",
        "NODE1=node1",
        "NODE2=node2",
        "PUSH=no",
        &cib_file_env,
        "bash",
        &s,
    ];
    let out = expect_success(
        &format!("node1: {}", cmd.join(" ")),
        &cluster.exec_on_within(1, &cmd, PCS_SCRIPT_TIMEOUT),
    );
    assert!(out.contains("not pushed"), "{out}");
    assert_eq!(before, summarize(&live_configuration(&cluster, 1)));
    let built = summarize(&read(&cib_file));
    assert!(
        built.contains("fencing-level node2 2 fence-pdu"),
        "{built:?}"
    );
    let out = cluster.exec(&["crm_verify", "-V", "--xml-file", &f]);
    assert!(out.status.success(), "{}", output_text(&out));

    // Then live, from node2 this time; both nodes see the same configuration and verify it.
    run_pcs_script(&cluster, 2, "axigen-cluster.pcs.sh");
    wait_settled(&cluster);
    let expected = summarize(&for_lab(&read(&examples_dir().join("axigen-cluster.xml"))));
    for n in 1..=2 {
        let replicated = cluster.wait_for(Duration::from_secs(30), || {
            summarize(&live_configuration(&cluster, n)) == expected
        });
        assert!(
            replicated,
            "node{n}'s configuration differs from the XML template:\n{}",
            diff(&expected, &summarize(&live_configuration(&cluster, n)))
        );
        verify_live(&cluster, n, "the pcs script on a two-node cluster");
    }
}
