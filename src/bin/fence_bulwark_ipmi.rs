//! `fence_bulwark_ipmi`: IPMI over LAN fence agent (native RMCP+). The agent is
//! `bulwark::proto::ipmi::agent`, shared with `fence_bulwark_idrac`.

fn main() {
    bulwark::proto::ipmi::agent::run(bulwark::proto::ipmi::agent::Flavour::Ipmi)
}
