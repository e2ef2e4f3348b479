//! `ocf:bulwark:vip`: see [`bulwark::agents::vip`].

fn main() {
    bulwark::agents::vip::main()
}
