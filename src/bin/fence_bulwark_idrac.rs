//! `fence_bulwark_idrac`: `fence_bulwark_ipmi` under the Dell iDRAC name (a second binary
//! because Cargo cannot install symlinks). The agent is `bulwark::agents::ipmi`.

fn main() {
    bulwark::agents::ipmi::run(bulwark::agents::ipmi::Flavour::Idrac)
}
