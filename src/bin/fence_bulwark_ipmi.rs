//! `fence_bulwark_ipmi`: IPMI over LAN fence agent (native RMCP+). The agent is
//! `bulwark::agents::ipmi`, shared with `fence_bulwark_idrac`.

fn main() {
    bulwark::agents::ipmi::run(bulwark::agents::ipmi::Flavour::Ipmi)
}
