//! The promotion score over the whole (generated) state space, against an independently
//! written table taken from drbd.ocf's `drbd_update_master_score` (shared/docs digest A.4),
//! plus the safety properties that must hold whatever the table says.

use bulwark::drbd::*;

/// Policies to sweep: every rule flag combination with three score vectors.
fn policies() -> Vec<ScorePolicy> {
    let mut out = Vec::new();
    for scores in ["0 10 1000 10000", "5 10 1000 10000", "1 2 3 4"] {
        for rule in [
            PeerPrimaryRule::Never,
            PeerPrimaryRule::Always,
            PeerPrimaryRule::IfUnexpected,
        ] {
            for view in [None, Some(true), Some(false)] {
                for unfence in [false, true] {
                    for promoted_max in [1, 2] {
                        out.push(ScorePolicy {
                            scores: MasterScores::parse(scores).unwrap(),
                            remove_if_peer_primary: rule,
                            unfence_if_all_uptodate: unfence,
                            promoted_max,
                            pacemaker_knows_promoted_peer: view,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Local volume variants: every disk state, plus the intentional diskless client.
fn local_variants() -> Vec<(DiskState, bool)> {
    let mut v: Vec<(DiskState, bool)> = DiskState::ALL.iter().map(|d| (*d, false)).collect();
    v.push((DiskState::Diskless, true));
    v
}

/// The oracle: the digest's table, written from scratch with counts instead of flags.
/// Returns `Some(score)` (0 = removed) or `None` (unchanged).
fn oracle(st: &DrbdStatus, p: &ScorePolicy) -> (Option<u32>, bool) {
    let s = p.scores;
    let n = st.volumes.len();
    let count_local = |f: &dyn Fn(&Volume) -> bool| st.volumes.iter().filter(|v| f(v)).count();
    if count_local(&|v| !v.quorum) > 0 {
        return (Some(0), false);
    }
    // Peers that are not intentional diskless clients on every volume.
    let data_peers: Vec<&Peer> = st
        .peers
        .iter()
        .filter(|p| p.volumes.iter().filter(|v| v.client).count() != n)
        .collect();
    let disk_of = |peer: &Peer, vol: u32| {
        peer.volumes
            .iter()
            .find(|pv| pv.volume == vol)
            .map(|pv| pv.disk)
            .unwrap_or(DiskState::DUnknown)
    };
    let peer_all_good = |peer: &Peer| {
        st.volumes
            .iter()
            .all(|v| disk_of(peer, v.volume) == DiskState::UpToDate)
    };
    let peer_unknown = |peer: &Peer| {
        st.volumes
            .iter()
            .any(|v| disk_of(peer, v.volume) == DiskState::DUnknown)
    };
    let good_peers = data_peers.iter().filter(|p| peer_all_good(p)).count();
    let some_good = good_peers > 0;
    let all_good = !data_peers.is_empty()
        && good_peers == data_peers.len()
        && !data_peers.iter().any(|p| peer_unknown(p));
    let any_unknown = data_peers.is_empty() || data_peers.iter().any(|p| peer_unknown(p));
    let primary = st.role == Role::Primary;
    let peer_primary = st.peers.iter().any(|p| p.role == Role::Primary);

    if !primary && peer_primary && some_good {
        let remove = match p.remove_if_peer_primary {
            PeerPrimaryRule::Never => false,
            PeerPrimaryRule::Always => true,
            PeerPrimaryRule::IfUnexpected => {
                p.promoted_max == 1 && p.pacemaker_knows_promoted_peer != Some(true)
            }
        };
        if remove {
            return (Some(0), false);
        }
    }
    let clients = count_local(&|v| v.client && v.disk == DiskState::Diskless);
    if n > 0 && clients == n {
        return if (primary && some_good) || all_good {
            (Some(s.as_good_as_it_gets.saturating_sub(1)), false)
        } else if some_good {
            (Some(s.local_ok.saturating_sub(1)), false)
        } else {
            (Some(0), false)
        };
    }
    let up = count_local(&|v| v.disk == DiskState::UpToDate);
    if n > 0 && up == n {
        if primary {
            return (
                Some(s.as_good_as_it_gets),
                p.unfence_if_all_uptodate && all_good,
            );
        }
        return if any_unknown {
            (Some(s.local_ok), false)
        } else {
            (Some(s.as_good_as_it_gets), false)
        };
    }
    if some_good {
        return (Some(s.only_remote), false);
    }
    if count_local(&|v| matches!(v.disk, DiskState::Attaching | DiskState::Negotiating)) > 0 {
        return (None, false);
    }
    let consistent = count_local(&|v| {
        matches!(
            v.disk,
            DiskState::UpToDate
                | DiskState::Consistent
                | DiskState::Attaching
                | DiskState::Negotiating
        )
    });
    if n > 0 && consistent == n {
        return (Some(s.only_consistent), false);
    }
    (Some(0), false)
}

fn check(st: &DrbdStatus, policies: &[ScorePolicy], counted: &mut u64) {
    let facts = st.facts();
    let local_all_up = st.all_up_to_date();
    for p in policies {
        let d = promotion_score(st, p);
        assert_eq!(d, score_from_facts(&facts, p));
        let (want, unfence) = oracle(st, p);
        let got = match d.action {
            ScoreAction::Set(n) => {
                assert!(n > 0, "Set(0) must be a removal");
                Some(n)
            }
            ScoreAction::Remove => Some(0),
            ScoreAction::Keep => None,
        };
        assert_eq!(
            (got, d.unfence),
            (want, unfence),
            "{} / {:?} / rule {:?}",
            st.summary(),
            p,
            d.rule
        );
        if let ScoreAction::Set(n) = d.action {
            if !local_all_up && !facts.diskless_client {
                // Without local UpToDate data the score never exceeds only_remote, and with
                // the default table never reaches 1000.
                assert!(n <= p.scores.only_remote, "{} scored {n}", st.summary());
                if p.scores.local_ok == 1000 {
                    assert!(n < 1000, "{} scored {n}", st.summary());
                }
            }
            assert!(facts.have_quorum, "scored without quorum: {}", st.summary());
        }
        *counted += 1;
    }
}

fn volume(i: u32, (disk, client): (DiskState, bool), quorum: bool) -> Volume {
    Volume {
        volume: i,
        minor: Some(i),
        disk,
        client,
        quorum,
        open: None,
    }
}

#[test]
fn one_volume_one_peer_every_combination() {
    let policies = policies();
    let mut counted = 0u64;
    for local in local_variants() {
        for quorum in [true, false] {
            for role in Role::ALL {
                for conn in ConnectionState::ALL {
                    for peer_role in Role::ALL {
                        for peer_disk in DiskState::ALL {
                            for peer_client in [false, true] {
                                let st = DrbdStatus {
                                    resource: "r0".into(),
                                    role: *role,
                                    suspended: false,
                                    volumes: vec![volume(0, local, quorum)],
                                    peers: vec![Peer {
                                        node_id: Some(1),
                                        name: "node2".into(),
                                        connection: *conn,
                                        role: *peer_role,
                                        volumes: vec![PeerVolume {
                                            volume: 0,
                                            replication: ReplicationState::Off,
                                            disk: *peer_disk,
                                            client: peer_client,
                                            resync_suspended: false,
                                            done: None,
                                        }],
                                    }],
                                };
                                check(&st, &policies, &mut counted);
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        counted,
        11 * 2 * 3 * 11 * 3 * 10 * 2 * policies.len() as u64
    );
}

#[test]
fn two_volumes_one_peer_default_policy() {
    let policies = [ScorePolicy::default()];
    let mut counted = 0u64;
    for a in local_variants() {
        for b in local_variants() {
            for quorum_b in [true, false] {
                for role in Role::ALL {
                    for peer_role in Role::ALL {
                        for pa in DiskState::ALL {
                            for pb in DiskState::ALL {
                                for peer_client in [false, true] {
                                    let pv = |volume, disk| PeerVolume {
                                        volume,
                                        replication: ReplicationState::Established,
                                        disk,
                                        client: peer_client,
                                        resync_suspended: false,
                                        done: None,
                                    };
                                    let st = DrbdStatus {
                                        resource: "r0".into(),
                                        role: *role,
                                        suspended: false,
                                        volumes: vec![volume(0, a, true), volume(1, b, quorum_b)],
                                        peers: vec![Peer {
                                            node_id: Some(1),
                                            name: "node2".into(),
                                            connection: ConnectionState::Connected,
                                            role: *peer_role,
                                            volumes: vec![pv(0, *pa), pv(1, *pb)],
                                        }],
                                    };
                                    check(&st, &policies, &mut counted);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(counted, 11 * 11 * 2 * 3 * 3 * 10 * 10 * 2);
}

#[test]
fn no_peer_and_two_peers() {
    let policies = [ScorePolicy::default()];
    let mut counted = 0u64;
    let peer = |id: u32, role: Role, disk: DiskState, client: bool| Peer {
        node_id: Some(id),
        name: format!("node{}", id + 1),
        connection: ConnectionState::Connected,
        role,
        volumes: vec![PeerVolume {
            volume: 0,
            replication: ReplicationState::Established,
            disk,
            client,
            resync_suspended: false,
            done: None,
        }],
    };
    for local in local_variants() {
        for role in Role::ALL {
            let alone = DrbdStatus {
                resource: "r0".into(),
                role: *role,
                suspended: false,
                volumes: vec![volume(0, local, true)],
                peers: vec![],
            };
            check(&alone, &policies, &mut counted);
            for r1 in Role::ALL {
                for d1 in DiskState::ALL {
                    for c1 in [false, true] {
                        for r2 in Role::ALL {
                            for d2 in DiskState::ALL {
                                for c2 in [false, true] {
                                    let st = DrbdStatus {
                                        peers: vec![peer(1, *r1, *d1, c1), peer(2, *r2, *d2, c2)],
                                        ..alone.clone()
                                    };
                                    check(&st, &policies, &mut counted);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(counted > 100_000);
}

#[test]
fn the_digest_rows_by_example() {
    let p = ScorePolicy::default();
    let st = |role: Role, disk: DiskState, peer_disk: DiskState| DrbdStatus {
        resource: "r0".into(),
        role,
        suspended: false,
        volumes: vec![volume(0, (disk, false), true)],
        peers: vec![Peer {
            node_id: Some(1),
            name: "node2".into(),
            connection: ConnectionState::Connected,
            role: Role::Secondary,
            volumes: vec![PeerVolume {
                volume: 0,
                replication: ReplicationState::Established,
                disk: peer_disk,
                client: false,
                resync_suspended: false,
                done: None,
            }],
        }],
    };
    use DiskState::*;
    use Role::*;
    let score = |s: DrbdStatus| promotion_score(&s, &p).action;
    assert_eq!(
        score(st(Primary, UpToDate, DUnknown)),
        ScoreAction::Set(10000)
    );
    assert_eq!(
        score(st(Secondary, UpToDate, DUnknown)),
        ScoreAction::Set(1000)
    );
    assert_eq!(
        score(st(Secondary, UpToDate, UpToDate)),
        ScoreAction::Set(10000)
    );
    assert_eq!(
        score(st(Secondary, Outdated, UpToDate)),
        ScoreAction::Set(10)
    );
    assert_eq!(
        score(st(Secondary, Consistent, DUnknown)),
        ScoreAction::Remove
    );
    assert_eq!(
        score(st(Secondary, Inconsistent, DUnknown)),
        ScoreAction::Remove
    );
    assert_eq!(score(st(Secondary, Attaching, DUnknown)), ScoreAction::Keep);
    let mut no_quorum = st(Primary, UpToDate, UpToDate);
    no_quorum.volumes[0].quorum = false;
    assert_eq!(score(no_quorum), ScoreAction::Remove);
    let mut client = st(Secondary, Diskless, UpToDate);
    client.volumes[0].client = true;
    assert_eq!(score(client.clone()), ScoreAction::Set(9999));
    client.peers.push(Peer {
        node_id: Some(2),
        name: "node3".into(),
        ..client.peers[0].clone()
    });
    client.peers[1].volumes[0].disk = Outdated;
    assert_eq!(score(client), ScoreAction::Set(999));
}
