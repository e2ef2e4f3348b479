//! `bulwark-drbd-fence-peer`: DRBD's fence-peer handler for `fencing resource-and-stonith`
//! under Pacemaker (see `bulwark::agents::drbd_handler`).
//!
//! Exit codes are DRBD's: 3 peer already outdated, 4 peer fenced by the constraint, 5 peer
//! unreachable, 6 outdate yourself, 7 peer STONITHed, 1 failure. The one line saying why goes
//! to stderr (DRBD logs it).

fn main() {
    bulwark::agents::drbd_handler::main()
}
