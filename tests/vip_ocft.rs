//! resource-agents' own test suites for IPaddr2 (ocft configs `IPaddr2v4`, `IPaddr2v6`), run in
//! the same test against `ocf:heartbeat:IPaddr2` and against `ocf:bulwark:vip`, whose copies of
//! the configs differ only in the agent name and root. Every case IPaddr2 passes, vip passes, or
//! the case is in [`KNOWN`] with the reason; every case either agent fails is in [`KNOWN`] too.
//! The test writes the table of those cases to `docs/vip-ipaddr2-differences.md` and fails
//! when the run disagrees with [`KNOWN`] or the committed table was not current.
//!
//! Both suites use `eth0` and `eth1`: one network namespace made here holds them (veths, the
//! lab kernel has no dummy module) and is removed with every process still in it, by PID,
//! even when the test fails. The IPv4 and IPv6 suites run at the same time (they touch disjoint
//! address families), each under its own private mount namespace (`fixtures/ocft/run-suites.sh`)
//! because ocft keeps its state at fixed paths. Run as root.

mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{output_text, run_within, workspace_dir, LabDir, Netns, Stage};

const OCFT: &str = "/usr/sbin/ocft";
const CONFIGS: &str = "/usr/share/resource-agents/ocft/configs";
const STOCK_AGENT: (&str, &str) = ("IPaddr2", "/usr/lib/ocf/resource.d/heartbeat");
const OUR_AGENT: (&str, &str) = ("vip", "/usr/lib/ocf/resource.d/bulwark");
const TABLE: &str = "docs/vip-ipaddr2-differences.md";

/// One stock suite and our copy of it.
struct Suite {
    stock: &'static str,
    ours: &'static str,
    family: &'static str,
}

const SUITES: &[Suite] = &[
    Suite {
        stock: "IPaddr2v4",
        ours: "vipv4",
        family: "4",
    },
    Suite {
        stock: "IPaddr2v6",
        ours: "vipv6",
        family: "6",
    },
];

/// A case either agent fails: what each does, and why that is right for the admin.
struct Known {
    suite: &'static str,
    case: usize,
    ipaddr2_passes: bool,
    vip_passes: bool,
    reason: &'static str,
}

const KNOWN: &[Known] = &[Known {
    suite: "IPaddr2v6",
    case: 13,
    ipaddr2_passes: false,
    vip_passes: false,
    reason: "Both add 2001:db8:1234::2/80 to eth0 and answer 0 where the suite expects 1. The \
             /80 lies inside eth0's connected /64, so the address is on-link and reachable; the \
             IPv4 suite expects success for the same situation (IPaddr2v4 case 14: /28 inside \
             the /24), and IPaddr2's current findif.sh checks for a prefix mismatch only when \
             neither nic nor cidr_netmask is given. vip keeps IPaddr2's behaviour: refusing would \
             break configurations that work with IPaddr2 today.",
}];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Pass,
    /// The first failure line ocft printed, and the agent's exit reason when it gave one.
    Fail(String),
    /// ocft never reached the case (a SETUP failure or an abort before it).
    NotRun,
}

impl Outcome {
    fn passed(&self) -> bool {
        *self == Outcome::Pass
    }
}

/// The results of one suite for one agent.
struct SuiteRun {
    summaries: Vec<String>,
    outcomes: Vec<Outcome>,
}

/// Our copy of a stock config: the `Agent` and `AgentRoot` lines changed, nothing else (the
/// interface names stay: the namespace has `eth0` and `eth1`).
fn our_config(stock: &str) -> String {
    let mut changed = 0;
    let lines: Vec<String> = stock
        .lines()
        .map(|l| {
            let replaced = match l.trim() {
                t if t == format!("Agent {}", STOCK_AGENT.0) => format!("Agent {}", OUR_AGENT.0),
                t if t == format!("AgentRoot {}", STOCK_AGENT.1) => {
                    format!("AgentRoot {}", OUR_AGENT.1)
                }
                _ => return l.to_string(),
            };
            changed += 1;
            l.replace(l.trim(), &replaced)
        })
        .collect();
    assert_eq!(changed, 2, "expected one Agent and one AgentRoot line");
    let mut out = lines.join("\n");
    if stock.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Case numbers and summaries of `suite` from `ocft make`'s listing ("    - case N: SUMMARY").
fn summaries(make_output: &str, suite: &str) -> Vec<String> {
    let header = format!("Making '{suite}':");
    let mut lines = make_output
        .lines()
        .skip_while(|l| !l.starts_with(&header))
        .skip(1);
    let mut out = Vec::new();
    while let Some(rest) = lines.next().and_then(|l| l.trim().strip_prefix("- case ")) {
        let (n, summary) = rest.split_once(": ").expect("'- case N: SUMMARY'");
        assert_eq!(
            n.parse::<usize>().ok(),
            Some(out.len()),
            "case order in {rest}"
        );
        out.push(summary.to_string());
    }
    assert!(!out.is_empty(), "ocft make listed no cases for {suite}");
    out
}

/// Splits `ocft test` output into cases: each starts with "SUITE: SUMMARY - " and the cases run
/// in order. Failed cases are also named by the driver's "@@failed" lines (ocft's retest marks).
fn outcomes(test_output: &str, suite: &str, summaries: &[String]) -> Vec<Outcome> {
    let marker = format!("@@suite {suite}");
    let section: Vec<&str> = test_output
        .lines()
        .skip_while(|l| *l != marker)
        .skip(1)
        .take_while(|l| !l.starts_with("@@suite "))
        .collect();
    let failed: BTreeSet<usize> = section
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("@@failed {suite} ")))
        .map(|n| n.trim().parse().expect("case number"))
        .collect();
    let mut starts = Vec::new();
    let mut from = 0;
    for summary in summaries {
        let head = format!("{suite}: {summary} - ");
        match section[from..].iter().position(|l| l.starts_with(&head)) {
            Some(i) => {
                starts.push(Some(from + i));
                from += i + 1;
            }
            None => starts.push(None),
        }
    }
    (0..summaries.len())
        .map(|n| {
            let Some(start) = starts[n] else {
                return Outcome::NotRun;
            };
            let end = starts[n + 1..]
                .iter()
                .flatten()
                .next()
                .copied()
                .unwrap_or(section.len());
            let chunk: Vec<String> = section[start..end].iter().map(|l| strip_ansi(l)).collect();
            let complaint = chunk
                .iter()
                .find(|l| l.contains("FAILED") || l.contains("ERROR"));
            if complaint.is_none() && !failed.contains(&n) {
                return Outcome::Pass;
            }
            let mut what = complaint
                .map(|l| {
                    let l = l
                        .strip_prefix(&format!("{suite}: {}", summaries[n]))
                        .unwrap_or(l);
                    l.trim_start_matches(" - ")
                        .trim_end_matches("See details below:")
                        .trim()
                        .to_string()
                })
                .unwrap_or_else(|| "marked for retest".to_string());
            if let Some(reason) = chunk
                .iter()
                .find_map(|l| l.split_once("ocf-exit-reason:").map(|(_, r)| r.trim()))
            {
                write!(what, " ({reason})").unwrap();
            }
            Outcome::Fail(what)
        })
        .collect()
}

/// Runs `suites` (configs in `cfg`) in `ns` through the driver; returns ocft's output.
fn drive(
    ns: &Netns,
    stage: &Stage,
    cfg: &Path,
    scratch: &Path,
    family: &str,
    suites: &[&str],
) -> String {
    std::fs::create_dir(scratch).unwrap();
    let driver = workspace_dir().join("tests/fixtures/ocft/run-suites.sh");
    let mut cmd = ns.command(&["unshare", "-m", "--propagation", "private", "bash"]);
    cmd.arg(&driver)
        .arg(stage.path())
        .arg(cfg)
        .arg(scratch)
        .arg(family)
        .args(suites);
    // ocft sleeps a second per agent run; 15 minutes only bounds a wedged run.
    let out = run_within(&mut cmd, Duration::from_secs(900));
    let text = output_text(&out);
    assert!(out.status.success(), "ocft driver failed:\n{text}");
    text
}

fn verdict(o: &Outcome) -> &'static str {
    match o {
        Outcome::Pass => "passes",
        Outcome::Fail(_) => "fails",
        Outcome::NotRun => "not run",
    }
}

fn render_table(results: &[(&Suite, SuiteRun, SuiteRun)]) -> String {
    let mut t = String::new();
    t.push_str(
        "# `ocf:bulwark:vip` and `ocf:heartbeat:IPaddr2` under resource-agents' own ocft suites\n\n\
         Generated by `tests/vip_ocft.rs` (do not edit): the stock `IPaddr2v4` and `IPaddr2v6`\n\
         configs from `/usr/share/resource-agents/ocft/configs/`, run with `/usr/sbin/ocft` against\n\
         IPaddr2 and, with only `Agent` and `AgentRoot` changed, against vip, in one network\n\
         namespace with `eth0` and `eth1`. Every case either agent fails is listed with the reason;\n\
         the test fails on any other difference.\n\n",
    );
    t.push_str("| Suite | Cases | IPaddr2 passes | vip passes |\n|---|---|---|---|\n");
    for (suite, stock, ours) in results {
        let count = |r: &SuiteRun| r.outcomes.iter().filter(|o| o.passed()).count();
        writeln!(
            t,
            "| {} | {} | {} | {} |",
            suite.stock,
            stock.outcomes.len(),
            count(stock),
            count(ours)
        )
        .unwrap();
    }
    t.push_str(
        "\n| Suite | Case | Summary | IPaddr2 | vip | Reason |\n|---|---|---|---|---|---|\n",
    );
    for k in KNOWN {
        let (_, stock, _) = results
            .iter()
            .find(|(s, _, _)| s.stock == k.suite)
            .expect("known suite");
        writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} |",
            k.suite,
            k.case,
            stock.summaries[k.case],
            if k.ipaddr2_passes { "passes" } else { "fails" },
            if k.vip_passes { "passes" } else { "fails" },
            k.reason
        )
        .unwrap();
    }
    t
}

#[test]
fn ocft_ipaddr2_suites_pass_for_vip_as_for_ipaddr2() {
    for tool in [
        OCFT.to_string(),
        format!("{CONFIGS}/IPaddr2v4"),
        format!("{}/{}", STOCK_AGENT.1, STOCK_AGENT.0),
    ] {
        assert!(
            Path::new(&tool).exists(),
            "{tool} missing: tests/install-deps.sh installs resource-agents"
        );
    }
    let stage = Stage::from_workspace();
    stage.require_ocf(OUR_AGENT.0);
    let lab = LabDir::new("ocft");
    let cfg = lab.path().join("configs");
    std::fs::create_dir(&cfg).unwrap();
    for s in SUITES {
        let stock = std::fs::read_to_string(format!("{CONFIGS}/{}", s.stock)).unwrap();
        std::fs::write(cfg.join(s.stock), &stock).unwrap();
        std::fs::write(cfg.join(s.ours), our_config(&stock)).unwrap();
    }

    let ns = Netns::new();
    ns.veth_pair("eth0", "eth0p");
    ns.veth_pair("eth1", "eth1p");

    let started = Instant::now();
    let outputs: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = SUITES
            .iter()
            .map(|s| {
                let (ns, stage, cfg) = (&ns, &stage, &cfg);
                let scratch: PathBuf = lab.path().join(format!("scratch{}", s.family));
                scope.spawn(move || drive(ns, stage, cfg, &scratch, s.family, &[s.stock, s.ours]))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    eprintln!("ocft suites ran in {:?}", started.elapsed());

    let results: Vec<(&Suite, SuiteRun, SuiteRun)> = SUITES
        .iter()
        .zip(&outputs)
        .map(|(s, out)| {
            let run = |name: &str| {
                let summaries = summaries(out, name);
                let outcomes = outcomes(out, name, &summaries);
                SuiteRun {
                    summaries,
                    outcomes,
                }
            };
            (s, run(s.stock), run(s.ours))
        })
        .collect();

    let mut problems = Vec::new();
    for (s, stock, ours) in &results {
        assert_eq!(
            stock.summaries, ours.summaries,
            "{}: the copy lists other cases",
            s.stock
        );
        for (n, (a, b)) in stock.outcomes.iter().zip(&ours.outcomes).enumerate() {
            let known = KNOWN.iter().find(|k| k.suite == s.stock && k.case == n);
            let what = format!(
                "{} case {n} '{}': IPaddr2 {}, vip {}",
                s.stock,
                stock.summaries[n],
                verdict(a),
                verdict(b)
            );
            let detail = |o: &Outcome| match o {
                Outcome::Fail(d) => format!(" [{d}]"),
                _ => String::new(),
            };
            if *a == Outcome::NotRun || *b == Outcome::NotRun {
                problems.push(format!(
                    "{what}: every case must run{}{}",
                    detail(a),
                    detail(b)
                ));
                continue;
            }
            match known {
                None if a.passed() && b.passed() => {}
                None => problems.push(format!(
                    "{what}: not in KNOWN (fix vip or document why){}{}",
                    detail(a),
                    detail(b)
                )),
                Some(k) if (k.ipaddr2_passes, k.vip_passes) != (a.passed(), b.passed()) => problems
                    .push(format!(
                        "{what}: KNOWN says IPaddr2 {}, vip {}{}{}",
                        if k.ipaddr2_passes { "passes" } else { "fails" },
                        if k.vip_passes { "passes" } else { "fails" },
                        detail(a),
                        detail(b)
                    )),
                Some(_) => {}
            }
        }
    }
    for k in KNOWN {
        assert!(
            !(k.ipaddr2_passes && k.vip_passes),
            "KNOWN {} case {}: both pass, nothing to document",
            k.suite,
            k.case
        );
        assert!(
            !k.reason.trim().is_empty(),
            "KNOWN {} case {}: no reason",
            k.suite,
            k.case
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let table = render_table(&results);
    let path = workspace_dir().join(TABLE);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != table {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &table).unwrap();
        panic!("{TABLE} was not current: regenerated, review and commit it:\n{table}");
    }
}
