//! `fence_bulwark_pdu`: see [`bulwark::agents::pdu`].

fn main() {
    bulwark::agents::pdu::main()
}
