//! `ocf:bulwark:axigen`: see [`bulwark::agents::axigen`].

fn main() {
    bulwark::agents::axigen::main()
}
