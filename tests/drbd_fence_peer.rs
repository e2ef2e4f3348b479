//! The fence-peer handler's pure parts against Pacemaker CIB fixtures (tests/fixtures/drbd,
//! see the README there), and the constraint it writes against Pacemaker's own schema.
//! The handler as a whole, side by side with LINBIT's crm-fence-peer.9.sh, is
//! tests/drbd_fence_peer_diff.rs.

use bulwark::drbd::fence_peer::*;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/drbd/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The peer's state as the CIB alone settles it (before any controller query).
fn settled(cib: &str) -> Option<PeerState> {
    let facts = parse_cib(&fixture(cib), "r0").unwrap();
    let j = judge_node_state(
        facts.node_state("node2"),
        facts.stonith_enabled,
        facts.startup_fencing,
    );
    settled_by_cib(&j)
}

#[test]
fn finds_the_clone_of_the_resource() {
    let facts = parse_cib(&fixture("cib-promotable-connected.xml"), "r0").unwrap();
    assert_eq!(facts.clone_id, "mailstore-clone");
    assert_eq!(facts.validate_with, "pacemaker-3.8");
    assert_eq!(facts.existing, None);
    assert!(facts.have_quorum && facts.stonith_enabled && facts.startup_fencing);
    assert_eq!(facts.nodes, vec!["node1".to_string(), "node2".to_string()]);
    let other = parse_cib(&fixture("cib-promotable-connected.xml"), "r1").unwrap();
    assert_eq!(other.clone_id, "other-clone");
    let err = parse_cib(&fixture("cib-promotable-connected.xml"), "r7").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no promotable clone with drbd_resource=r7 in the CIB"
    );
    // --master-id names the clone without a lookup, as the script's -i does.
    let named = parse_cib_for(
        &fixture("cib-promotable-connected.xml"),
        "r7",
        Some("x"),
        None,
    )
    .unwrap();
    assert_eq!(named.clone_id, "x");
}

#[test]
fn reads_an_existing_constraint_by_its_exact_id() {
    let facts = parse_cib(&fixture("cib-with-constraint.xml"), "r0").unwrap();
    assert_eq!(
        facts.existing,
        Some(ExistingConstraint {
            allowed: vec!["node1".into()],
            role: "Promoted".into(),
        })
    );
    // Another --id-prefix names another constraint.
    let other = parse_cib_for(
        &fixture("cib-with-constraint.xml"),
        "r0",
        None,
        Some("mine"),
    );
    assert_eq!(other.unwrap().existing, None);
}

#[test]
fn node_states_from_fixtures() {
    // Online member: not settled by the CIB; only the controller's answer makes it Reachable.
    assert_eq!(settled("cib-promotable-connected.xml"), None);
    // Lost while expected up: unclean, fencing pending; keep polling.
    assert_eq!(settled("cib-peer-unclean.xml"), None);
    // Fenced (send_stonith_update wrote expected=down).
    assert_eq!(settled("cib-peer-fenced.xml"), Some(PeerState::Fenced));
    let facts = parse_cib(&fixture("cib-no-quorum.xml"), "r0").unwrap();
    assert!(!facts.have_quorum);
}

#[test]
fn exit_codes_from_fixtures() {
    // (CIB, controller answers, polling ran out, local data) → (constraint placed, exit)
    use FencePeerExit::*;
    use LocalData::*;
    let cases = [
        (
            "cib-promotable-connected.xml",
            true,
            false,
            AllUpToDate,
            true,
            PeerFenced,
        ),
        (
            "cib-promotable-connected.xml",
            true,
            false,
            AllConsistent,
            true,
            PeerFenced,
        ),
        // Online in the CIB, controller silent: never 4; after the timeout 5.
        (
            "cib-promotable-connected.xml",
            false,
            true,
            AllUpToDate,
            true,
            PeerUnreachable,
        ),
        (
            "cib-promotable-connected.xml",
            false,
            true,
            AllConsistent,
            false,
            PeerUnreachable,
        ),
        (
            "cib-peer-fenced.xml",
            false,
            false,
            AllUpToDate,
            true,
            PeerStonithed,
        ),
        (
            "cib-peer-unclean.xml",
            false,
            true,
            AllUpToDate,
            true,
            PeerUnreachable,
        ),
        (
            "cib-peer-unclean.xml",
            false,
            true,
            AllConsistent,
            false,
            PeerUnreachable,
        ),
        (
            "cib-peer-fenced.xml",
            false,
            false,
            NotConsistent,
            false,
            PeerUnreachable,
        ),
        ("cib-no-quorum.xml", false, true, AllUpToDate, false, Failed),
    ];
    for (cib, answers, late, local, place, exit) in cases {
        let facts = parse_cib(&fixture(cib), "r0").unwrap();
        let j = judge_node_state(
            facts.node_state("node2"),
            facts.stonith_enabled,
            facts.startup_fencing,
        );
        let peer = poll_step(&j, answers, late).expect("settled");
        let d = decide_fence(&FenceSituation {
            quorum: facts.have_quorum,
            peers: vec![peer],
            local,
            peers_all_up_to_date: false,
            unreachable_peer_is_outdated: false,
        });
        assert_eq!(
            (d.place_constraint, d.exit),
            (place, exit),
            "{cib} {local:?}: {}",
            d.reason
        );
    }
    let still_polling = parse_cib(&fixture("cib-promotable-connected.xml"), "r0").unwrap();
    let j = judge_node_state(still_polling.node_state("node2"), true, true);
    assert_eq!(poll_step(&j, false, false), None);
}

#[test]
fn existing_constraints_from_fixtures() {
    let me = vec!["node1".to_string()];
    let peer = vec!["node2".to_string()];
    let mine = parse_cib(&fixture("cib-with-constraint.xml"), "r0").unwrap();
    assert_eq!(
        judge_existing(
            mine.existing.as_ref().unwrap(),
            "Promoted",
            &me,
            "node1",
            &peer
        ),
        ExistingVerdict::Suitable
    );
    let theirs = parse_cib(&fixture("cib-constraint-rejects-me.xml"), "r0").unwrap();
    assert_eq!(
        judge_existing(
            theirs.existing.as_ref().unwrap(),
            "Promoted",
            &me,
            "node1",
            &peer
        ),
        ExistingVerdict::RejectsMe
    );
}

#[test]
fn constraint_validates_against_the_cib_schema_when_inserted() {
    // The built constraint, put into the written CIB, validates with Pacemaker's own schema.
    // xmllint (libxml2-utils) and the schema (pacemaker) come from tests/install-deps.sh;
    // missing, this test fails rather than skips.
    let facts = parse_cib(&fixture("cib-promotable-connected.xml"), "r0").unwrap();
    let naming = ConstraintNaming::new(None, "r0", &facts.clone_id);
    let two = constraint_xml_named(
        &naming,
        promoted_role_name(&facts.validate_with),
        &[(0, "node1".into()), (2, "node3".into())],
    );
    for xml in [
        constraint_xml(
            "r0",
            &facts.clone_id,
            promoted_role_name(&facts.validate_with),
            &[(0, "node1".into())],
        ),
        two,
    ] {
        let cib = fixture("cib-promotable-connected.xml").replace(
            "<constraints/>",
            &format!("<constraints>{xml}</constraints>"),
        );
        let reparsed = parse_cib(&cib, "r0").unwrap().existing.unwrap();
        assert_eq!(reparsed.allowed[0], "node1");
        let rng = std::path::Path::new("/usr/share/pacemaker/pacemaker-3.8.rng");
        assert!(
            rng.exists(),
            "{} missing: run tests/install-deps.sh (package pacemaker)",
            rng.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "bulwark-fence-xml-{}-{}",
            std::process::id(),
            reparsed.allowed.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("cib.xml");
        std::fs::write(&f, &cib).unwrap();
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--relaxng"])
            .arg(rng)
            .arg(&f)
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let out = out
            .unwrap_or_else(|e| panic!("xmllint: {e}: run tests/install-deps.sh (libxml2-utils)"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Unfence with everyone UpToDate removes it.
        assert_eq!(
            decide_unfence(Some(&reparsed), "node1", true, true, true, &[]),
            UnfenceDecision::Remove
        );
    }
    assert_eq!(
        constraint_delete_xml("r0", &facts.clone_id),
        "<rsc_location id=\"drbd-fence-by-handler-r0-mailstore-clone\"/>"
    );
}

#[test]
fn bad_xml_is_an_error_with_text() {
    assert!(parse_cib("hello", "r0").is_err());
    assert!(parse_cib("<cib><configuration>", "r0").is_err());
    let cut = &fixture("cib-promotable-connected.xml")[..600];
    assert!(parse_cib(cut, "r0").is_err());
    let err = parse_cib("<cib><nodes><node uname=\"a", "r0").unwrap_err();
    assert!(err.to_string().contains("cibadmin"), "{err}");
}
