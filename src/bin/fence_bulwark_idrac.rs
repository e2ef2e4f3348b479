//! `fence_bulwark_idrac`: `fence_bulwark_ipmi` under the Dell iDRAC name (a second binary
//! because Cargo cannot install symlinks). The agent is `bulwark::proto::ipmi::agent`.

fn main() {
    bulwark::proto::ipmi::agent::run(bulwark::proto::ipmi::agent::Flavour::Idrac)
}
