//! `ocf:bulwark:drbd`: see [`bulwark::agents::drbd`].

fn main() {
    bulwark::agents::drbd::main()
}
