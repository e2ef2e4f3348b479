//! `fence_bulwark_redfish`: Redfish fence agent. The agent is `bulwark::proto::redfish::agent`.

fn main() {
    bulwark::proto::redfish::agent::run()
}
