//! The fence-peer handler's pure parts against Pacemaker XML fixtures (tests/fixtures/drbd;
//! the crm_mon outputs are captured from Pacemaker 2.1.5, see the README there).

use bulwark::drbd::fence_peer::*;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/drbd/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn situation(cib: &str, mon: &str, local: LocalData) -> (CibFacts, FenceSituation) {
    let facts = parse_cib(&fixture(cib), "r0").unwrap();
    let view = parse_crm_mon(&fixture(mon)).unwrap();
    let s = FenceSituation {
        dc_and_quorum: view.dc_present && view.with_quorum,
        local_node: "node1".into(),
        peers: vec![view.node("node2").unwrap().reach()],
        local,
        peers_known_outdated: false,
        peers_all_up_to_date: false,
        existing: facts.existing.clone(),
    };
    (facts, s)
}

#[test]
fn finds_the_clone_of_the_resource() {
    let facts = parse_cib(&fixture("cib-promotable-connected.xml"), "r0").unwrap();
    assert_eq!(facts.clone_id, "mailstore-clone");
    assert_eq!(facts.validate_with, "pacemaker-3.8");
    assert_eq!(facts.existing, None);
    let other = parse_cib(&fixture("cib-promotable-connected.xml"), "r1").unwrap();
    assert_eq!(other.clone_id, "other-clone");
    let err = parse_cib(&fixture("cib-promotable-connected.xml"), "r7").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no promotable clone with drbd_resource=r7 in the CIB"
    );
}

#[test]
fn reads_an_existing_constraint() {
    let facts = parse_cib(&fixture("cib-with-constraint.xml"), "r0").unwrap();
    assert_eq!(
        facts.existing,
        Some(ExistingConstraint {
            allowed: vec!["node1".into()]
        })
    );
}

#[test]
fn crm_mon_node_states() {
    let v = parse_crm_mon(&fixture("crm_mon-promotable-connected.xml")).unwrap();
    assert!(v.dc_present && v.with_quorum);
    // <node> elements under <node_attributes> are not cluster nodes.
    assert_eq!(v.nodes.len(), 2);
    assert_eq!(v.node("node2").unwrap().reach(), PeerReach::Reachable);
    let v = parse_crm_mon(&fixture("crm_mon-peer-unclean.xml")).unwrap();
    assert_eq!(v.node("node2").unwrap().reach(), PeerReach::Unclean);
    let v = parse_crm_mon(&fixture("crm_mon-peer-fenced.xml")).unwrap();
    assert_eq!(v.node("node2").unwrap().reach(), PeerReach::Fenced);
    let v = parse_crm_mon(&fixture("crm_mon-no-quorum.xml")).unwrap();
    assert!(v.dc_present && !v.with_quorum);
}

#[test]
fn exit_codes_from_fixtures() {
    let cases = [
        (
            "cib-promotable-connected.xml",
            "crm_mon-promotable-connected.xml",
            LocalData::AllUpToDate,
            true,
            FencePeerExit::PeerFenced,
        ),
        (
            "cib-promotable-connected.xml",
            "crm_mon-promotable-connected.xml",
            LocalData::AllConsistent,
            true,
            FencePeerExit::PeerFenced,
        ),
        (
            "cib-peer-fenced.xml",
            "crm_mon-peer-fenced.xml",
            LocalData::AllUpToDate,
            true,
            FencePeerExit::PeerStonithed,
        ),
        (
            "cib-peer-unclean.xml",
            "crm_mon-peer-unclean.xml",
            LocalData::AllUpToDate,
            true,
            FencePeerExit::PeerUnreachable,
        ),
        (
            "cib-peer-unclean.xml",
            "crm_mon-peer-unclean.xml",
            LocalData::AllConsistent,
            false,
            FencePeerExit::PeerUnreachable,
        ),
        (
            "cib-peer-fenced.xml",
            "crm_mon-peer-fenced.xml",
            LocalData::NotConsistent,
            false,
            FencePeerExit::PeerUnreachable,
        ),
        (
            "cib-no-quorum.xml",
            "crm_mon-no-quorum.xml",
            LocalData::AllUpToDate,
            false,
            FencePeerExit::Failed,
        ),
        (
            "cib-with-constraint.xml",
            "crm_mon-with-constraint.xml",
            LocalData::AllUpToDate,
            false,
            FencePeerExit::PeerFenced,
        ),
        (
            "cib-constraint-rejects-me.xml",
            "crm_mon-constraint-rejects-me.xml",
            LocalData::AllUpToDate,
            false,
            FencePeerExit::OutdateYourself,
        ),
    ];
    for (cib, mon, local, place, exit) in cases {
        let (_, s) = situation(cib, mon, local);
        let d = decide_fence(&s);
        assert_eq!(
            (d.place_constraint, d.exit),
            (place, exit),
            "{cib} {local:?}: {}",
            d.reason
        );
    }
}

#[test]
fn constraint_validates_against_the_cib_schema_when_inserted() {
    // The built constraint, put into the written CIB, still validates with Pacemaker's schema
    // (when xmllint and the schema are installed).
    let facts = parse_cib(&fixture("cib-promotable-connected.xml"), "r0").unwrap();
    let xml = constraint_xml(
        "r0",
        &facts.clone_id,
        promoted_role_name(&facts.validate_with),
        &[(0, "node1".into())],
    );
    let cib = fixture("cib-promotable-connected.xml").replace(
        "<constraints/>",
        &format!("<constraints>{xml}</constraints>"),
    );
    let reparsed = parse_cib(&cib, "r0").unwrap();
    assert_eq!(
        reparsed.existing.unwrap().allowed,
        vec!["node1".to_string()]
    );
    let rng = std::path::Path::new("/usr/share/pacemaker/pacemaker-3.8.rng");
    if rng.exists() {
        let dir = std::env::temp_dir().join(format!("bulwark-fence-xml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("cib.xml");
        std::fs::write(&f, &cib).unwrap();
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--relaxng"])
            .arg(rng)
            .arg(&f)
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        if let Ok(out) = out {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // Unfence with everyone UpToDate removes exactly that id.
    assert_eq!(
        decide_unfence(reparsed_existing(&cib).as_ref(), "node1", true, true, &[]),
        UnfenceDecision::Remove
    );
    assert_eq!(
        constraint_delete_xml("r0", &facts.clone_id),
        "<rsc_location id=\"drbd-fence-by-handler-r0-mailstore-clone\"/>"
    );
}

fn reparsed_existing(cib: &str) -> Option<ExistingConstraint> {
    parse_cib(cib, "r0").ok().and_then(|f| f.existing)
}

#[test]
fn bad_xml_is_an_error_with_text() {
    let err = parse_crm_mon("<pacemaker-result><nodes><node name=\"a\"").unwrap_err();
    assert!(err.to_string().contains("crm_mon"), "{err}");
    assert!(parse_crm_mon("hello").is_err());
    assert!(parse_cib("<cib><configuration>", "r0").is_err());
    let cut = &fixture("crm_mon-promotable-connected.xml")[..600];
    assert!(parse_crm_mon(cut).is_err());
}
