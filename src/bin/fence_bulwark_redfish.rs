//! `fence_bulwark_redfish`: Redfish fence agent. The agent is `bulwark::agents::redfish`.

fn main() {
    bulwark::agents::redfish::run()
}
