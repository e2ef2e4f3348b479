//! Entry points for the fuzz targets under `fuzz/` and for `tests/fuzz_corpus.rs`, which
//! replays every committed corpus file through the same functions on every `cargo test`.
//!
//! Each function takes the raw bytes an attacker, a device or an admin could hand the agents
//! on that surface and runs them through the same decoders, validators and judgements the
//! agents use. They return nothing: the property checked is "one clear error, never a panic,
//! never a hang". Assertions inside are invariants that must hold for any input.

use crate::fence::FenceAgent;
use crate::power::PowerState;
use std::collections::BTreeMap;

/// Input as text, the way the agents read stdin, files and command output (lossy UTF-8).
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `NAME=value` lines, as an environment.
fn vars(data: &[u8]) -> Vec<(String, String)> {
    text(data)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// IPMI off the network: RMCP/RMCP+ framing (with and without a session's keys), the set-up
/// replies (Open Session, RAKP 2 and 4), IPMI responses, chassis status, AES-CBC payloads,
/// and the exchanges' reply judgement (`judge_datagram`).
pub fn ipmi(data: &[u8]) {
    use crate::proto::ipmi::crypto::{aes_cbc_decrypt, IntegrityAlgorithm};
    use crate::proto::ipmi::wire;
    let k1 = [0x11u8; 32];
    let k2 = [0x22u8; 16];
    let _ = wire::decode(data, None);
    for integrity in [
        IntegrityAlgorithm::HmacSha1_96,
        IntegrityAlgorithm::HmacSha256_128,
    ] {
        let security = wire::Security {
            integrity,
            k1: &k1,
            k2: &k2,
        };
        let _ = wire::decode(data, Some(&security));
    }
    let _ = wire::decode_response(data);
    let _ = wire::decode_open_session_response(data);
    let _ = wire::decode_rakp2(data);
    let _ = wire::decode_rakp4(data);
    let _ = crate::proto::ipmi::ChassisStatus::decode(data);
    let _ = aes_cbc_decrypt(&k2, data);
    crate::proto::ipmi::judge_datagram(data);
}

/// A fence request as pacemaker-fenced (stdin) or an admin (argv, one argument a line when
/// the first byte is odd) gives it, through parsing, each parameter's validation, the
/// request's timing and the IPMI/iDRAC agents' own checks, then through every fence agent's
/// declaration. Nothing is connected to.
pub fn fence_request(data: &[u8]) {
    use crate::agents::ipmi::{Flavour, IpmiFence};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = text(rest);
    let flavour = if mode & 2 == 0 {
        Flavour::Ipmi
    } else {
        Flavour::Idrac
    };
    let agent = IpmiFence { flavour };
    let args: Vec<String> = if mode & 1 == 1 {
        input.lines().map(str::to_string).collect()
    } else {
        Vec::new()
    };
    static DECLARATIONS: std::sync::OnceLock<[crate::params::Decl; 2]> = std::sync::OnceLock::new();
    let decls = DECLARATIONS.get_or_init(|| {
        [Flavour::Ipmi, Flavour::Idrac]
            .map(|flavour| crate::fence::runtime::declaration(IpmiFence { flavour }.spec()))
    });
    let decl = decls[usize::from(flavour == Flavour::Idrac)];
    if let Ok(req) = crate::fence::runtime::check_request(&agent, decl, &args, &input) {
        // The run's deadline is always finite, whatever agent_timeout said.
        assert!(req.deadline.remaining() <= std::time::Duration::from_secs(u32::MAX as u64));
        let _ = crate::agents::ipmi::interface_of(&req);
        let _ = crate::agents::ipmi::bmc_host(&req);
    }
    // Every fence agent's own declaration (the PDU's and Redfish's too): parsing, then each
    // value through the parser the agent reads it with. Built once: a declaration is leaked.
    static ALL: std::sync::OnceLock<Vec<crate::params::Decl>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        crate::agents::FENCE_AGENTS
            .iter()
            .map(|spec| crate::fence::declaration(spec))
            .collect()
    });
    for &decl in all {
        let raw = if args.is_empty() {
            crate::fence::input::parse_stdin(decl, &input)
        } else {
            match crate::fence::input::parse_args(decl, &args) {
                Ok(raw) => raw,
                Err(_) => continue,
            }
        };
        let pairs = raw.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let _ = crate::params::Values::collect(decl, pairs).0.validate();
    }
}

/// OCF parameters as the environment carries them (`NAME=value` lines), through the library
/// validators the vip, drbd and axigen agents configure themselves with, the meta-attributes,
/// and the DRBD handler's environment and argv.
pub fn ocf_env(data: &[u8]) {
    use crate::drbd::agent::{check_clone_meta, CloneMeta};
    use crate::drbd::score::{MasterScores, PeerPrimaryRule};
    let env = vars(data);
    let map: BTreeMap<String, String> = env.iter().cloned().collect();
    let get = |name: &str| map.get(&format!("OCF_RESKEY_{name}")).map(String::as_str);
    let meta = crate::ocf::meta::Meta::from_vars(env.clone());
    let _ = meta.timeout();
    let _ = meta.interval_ms();
    let _ = meta.check_level();
    let _ = meta.notify_list("promoted_uname");
    let _ = check_clone_meta(&CloneMeta {
        clone_max: meta.clone_max(),
        clone_node_max: meta.clone_node_max(),
        promoted_max: meta.promoted_max(),
        promoted_node_max: meta.promoted_node_max(),
        notify: meta.notify_enabled(),
    });
    // Each OCF agent's own declaration: every value through the parser the agent reads it
    // with, required ones present.
    for spec in crate::agents::OCF_AGENTS {
        let pairs = env
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("OCF_RESKEY_")?, v.as_str())));
        let _ = crate::params::Values::collect(spec.params, pairs)
            .0
            .validate();
    }
    // vip
    let raw = crate::net::SpecParams {
        ip: get("ip").unwrap_or("").trim(),
        cidr_netmask: get("cidr_netmask"),
        nic: get("nic"),
        iflabel: get("label"),
        broadcast: get("broadcast"),
        preferred_lft: get("preferred_lft"),
        nodad: get("nodad")
            .and_then(crate::params::parse_bool)
            .unwrap_or(false),
        noprefixroute: false,
    };
    let _ = crate::net::AddressSpec::from_params(&raw);
    // drbd
    let _ = MasterScores::parse(get("adjust_master_score").unwrap_or(""));
    let _ = PeerPrimaryRule::parse(get("remove_master_score_if_peer_primary").unwrap_or(""));
    for v in [
        "require_drbd_module_version_ge",
        "require_drbd_module_version_lt",
    ] {
        let _ = get(v).map(crate::drbd::DrbdVersion::parse);
    }
    // axigen
    if let Some(spec) = get("listeners") {
        for one in spec.split([',', ' ']) {
            let _ = crate::axigen::probe::Listener::parse_spec(one);
        }
    }
    if let Some(addr) = get("probe_address") {
        let _ = crate::axigen::config::parse_address(addr);
    }
    // generic parameter kinds
    for (_, v) in &env {
        let _ = crate::params::parse_bool(v);
        if let Some(s) = crate::params::parse_seconds(v) {
            assert!(
                s.is_finite() && s >= 0.0,
                "parse_seconds let {v:?} through as {s}"
            );
        }
    }
    // the DRBD fence-peer handler
    let _ = crate::agents::drbd_handler::HandlerEnv::from_vars(env.clone(), None);
    let _ = crate::agents::drbd_handler::HandlerEnv::from_vars(env.clone(), Some("r0"));
    let args: Vec<String> = text(data).split_whitespace().map(str::to_string).collect();
    for name in ["bulwark-drbd-fence-peer", "bulwark-drbd-unfence-peer"] {
        let _ = crate::agents::drbd_handler::Options::parse(name, &args);
    }
}

/// DRBD's status outputs (events2, `status --json`, 8.4 `sh-status`), version texts, and the
/// promotion score of whatever status they yield.
pub fn drbd_status(data: &[u8]) {
    use crate::drbd::score::{promotion_score, MasterScores, PeerPrimaryRule, ScorePolicy};
    let input = text(data);
    let policy = ScorePolicy {
        scores: MasterScores::parse(MasterScores::DEFAULT_TEXT).expect("default scores parse"),
        remove_if_peer_primary: PeerPrimaryRule::Always,
        unfence_if_all_uptodate: true,
        promoted_max: 1,
        pacemaker_knows_promoted_peer: None,
    };
    for resource in ["r0", "mail"] {
        for status in [
            crate::drbd::parse_events2(resource, &input),
            crate::drbd::parse_status_json(resource, &input),
            crate::drbd::parse_sh_status(resource, &input),
        ]
        .into_iter()
        .flatten()
        .flatten()
        {
            let _ = status.summary();
            let _ = status.all_up_to_date();
            let _ = promotion_score(&status, &policy);
        }
    }
    let _ = crate::drbd::version::parse_drbdadm_version(&input);
    let _ = crate::drbd::version::parse_proc_drbd(&input);
    let _ = crate::drbd::DrbdVersion::parse(&input);
}

/// What the DRBD handler reads of the cluster and the kernel: the CIB (`cibadmin -Q`, with
/// the default and a carried-over constraint naming), the controller's answer (`crmadmin -S`),
/// the up-to-date node list, and DRBD 8.4's `/proc/drbd`.
pub fn cluster_xml(data: &[u8]) {
    use crate::drbd::fence_peer::{
        controller_answered, parse_cib, parse_cib_for, parse_up_to_date_nodes, proc_drbd_local,
    };
    let input = text(data);
    for resource in ["r0", "mail"] {
        if let Ok(facts) = parse_cib(&input, resource) {
            for uname in ["node1", "node2", "mail1"] {
                let _ = facts.node_state(uname);
            }
        }
        let _ = parse_cib_for(
            &input,
            resource,
            Some("ms_drbd_r0"),
            Some("drbd-fence-by-handler"),
        );
    }
    let _ = controller_answered(&input);
    let _ = parse_up_to_date_nodes(&input);
    let _ = proc_drbd_local(&input, &[0, 1]);
}

/// Axigen: its configuration file, CLI replies and prompts, and the first line of every
/// listener's greeting.
pub fn axigen(data: &[u8]) {
    use crate::axigen::probe::{check_greeting, http_status, ListenerKind};
    let _ = crate::axigen::parse_config(&text(data));
    let _ = crate::axigen::cli::trailing_prompt(data);
    if let Some(reply) = crate::axigen::cli::parse_reply(data) {
        let _ = reply.is_ok();
        let _ = reply.text();
    }
    for kind in ListenerKind::ALL {
        let _ = check_greeting(kind.protocol(), data);
    }
    let _ = http_status(data);
}

/// rtnetlink payloads as the kernel answers them: links, addresses, routes (both families).
pub fn rtnl(data: &[u8]) {
    use crate::net::rtnl::{parse_address, parse_connected_route, parse_link};
    if let Ok(link) = parse_link(data) {
        let _ = link.is_usable();
        let _ = link.mac();
    }
    if let Ok(Some(a)) = parse_address(data) {
        let _ = a.tentative();
        let _ = a.dad_failed();
    }
    let _ = parse_connected_route(data, false);
    let _ = parse_connected_route(data, true);
}

/// An SNMP response PDU off the wire, its varbinds read through every model's tables to an
/// outlet and a fence verdict: an unmapped or exceptional value is never Off.
pub fn snmp_outlet(data: &[u8]) {
    use crate::agents::pdu::switch::verdict;
    use crate::proto::snmp::client::{decode_response, Value};
    use crate::proto::snmp::{OutletState, MODELS};
    let Ok(varbinds) = decode_response(data) else {
        return;
    };
    for model in MODELS {
        for unit in [0, 1, 2] {
            for vb in &varbinds {
                let Some(outlet) = model.status.outlet_of(&vb.oid, unit) else {
                    continue;
                };
                let state = match &vb.value {
                    Value::Integer(v) => model.state_of(*v),
                    _ => continue,
                };
                let v = verdict(outlet, state);
                if let Ok(PowerState::Off) = v {
                    assert_eq!(state, OutletState::Off, "{} read {state} as off", model.id);
                }
            }
        }
    }
}

/// A Redfish reply body off the network (service root, collection, ComputerSystem, ActionInfo,
/// Task or an error document) through every reader the agent uses on it: the power reading,
/// the links it follows, the ResetType it would send, which system a plug selects, the task
/// verdict and the BMC's error text. Invariants: only `"PowerState": "Off"` reads as off, an
/// off is never anything but `ForceOff` or a refusal, and a selected system is the one named.
pub fn redfish(data: &[u8]) {
    use crate::proto::redfish::client::parse_address;
    use crate::proto::redfish::model::{
        action_info_allowed, choose_reset, error_text, link, members, power_reading, reset_action,
        select_system, sessions_uri, task_state, Reading, ResetChoice, SystemInfo,
    };
    use serde_json::Value;
    let body = text(data);
    let _ = error_text(&body);
    let _ = parse_address(&body, 443);
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Reading::Settled(PowerState::Off) = power_reading(&doc) {
        assert_eq!(doc.get("PowerState").and_then(Value::as_str), Some("Off"));
    }
    let _ = link(&doc, "Systems");
    let _ = sessions_uri(&doc);
    let _ = task_state(&doc);
    let allowed_lists = [
        reset_action(&doc).and_then(|a| a.allowed),
        action_info_allowed(&doc),
    ];
    for allowed in &allowed_lists {
        match choose_reset(PowerState::Off, allowed.as_deref()) {
            ResetChoice::Send(t) => assert_eq!(t, "ForceOff"),
            ResetChoice::Refuse(_) => {}
            ResetChoice::PushWhenOff => panic!("a toggle chosen to power off"),
        }
        let _ = choose_reset(PowerState::On, allowed.as_deref());
    }
    // The collection's members, each read as the system document it links to (inline here).
    let systems: Vec<SystemInfo> = members(&doc)
        .iter()
        .zip(doc["Members"].as_array().into_iter().flatten())
        .map(|(uri, member)| SystemInfo::from_doc(uri, member))
        .collect();
    let mut plugs: Vec<Option<&str>> = vec![None];
    plugs.extend(
        systems
            .iter()
            .flat_map(|s| [Some(s.id.as_str()), Some(s.name.as_str())]),
    );
    for plug in plugs {
        if let Ok(i) = select_system(&systems, plug) {
            match plug {
                None => assert_eq!(systems.len(), 1),
                Some(p) => assert!(systems[i].id == p || systems[i].name == p),
            }
        }
    }
}
