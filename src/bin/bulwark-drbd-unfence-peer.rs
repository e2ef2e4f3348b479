//! `bulwark-drbd-unfence-peer`: DRBD's unfence-peer handler; removes the constraint the
//! fence-peer handler placed, once the peer's data is UpToDate again. Exit 0 or 1.

fn main() {
    bulwark::agents::drbd_handler::main()
}
