//! A fault-injecting UDP proxy on loopback for protocol tests: forwards datagrams between one
//! client and an upstream server (a simulated BMC, an SNMP agent) and can drop the first N
//! requests or replies, corrupt replies, delay everything, or drop all traffic.
//!
//! Include with `mod support;` and `use support::udp_proxy;`. Dropping the proxy stops
//! its thread.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What to do to the traffic; change it at any time through [`UdpProxy::faults`].
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Drop this many client→server datagrams (counts down).
    pub drop_requests: usize,
    /// Drop this many server→client datagrams (counts down).
    pub drop_replies: usize,
    /// Drop the server→client datagram with this index (0 = the first reply).
    pub drop_nth_reply: Option<usize>,
    /// Flip the last byte of this many server→client datagrams (counts down).
    pub corrupt_replies: usize,
    /// Hold every datagram (both directions) this long before forwarding it.
    pub delay: Duration,
    /// Drop everything.
    pub blackhole: bool,
}

/// Counters of what the proxy did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub requests: usize,
    pub replies: usize,
    pub dropped: usize,
    pub corrupted: usize,
}

struct Shared {
    faults: Mutex<Faults>,
    counts: Mutex<Counts>,
    stop: AtomicBool,
}

pub struct UdpProxy {
    /// The port clients talk to (on 127.0.0.1).
    pub port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl UdpProxy {
    pub fn start(upstream: SocketAddr) -> UdpProxy {
        let front = UdpSocket::bind("127.0.0.1:0").expect("bind proxy front");
        let back = UdpSocket::bind("127.0.0.1:0").expect("bind proxy back");
        back.connect(upstream).expect("connect upstream");
        let port = front.local_addr().expect("front address").port();
        let shared = Arc::new(Shared {
            faults: Mutex::new(Faults::default()),
            counts: Mutex::new(Counts::default()),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::spawn(move || run(front, back, s));
        UdpProxy {
            port,
            shared,
            thread: Some(thread),
        }
    }

    /// Changes the faults: `proxy.faults(|f| f.drop_requests = 2)`.
    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.shared.faults.lock().expect("faults lock"));
    }

    pub fn counts(&self) -> Counts {
        *self.shared.counts.lock().expect("counts lock")
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Verdict {
    Forward(Vec<u8>, Duration),
    Drop,
}

fn judge(shared: &Shared, mut data: Vec<u8>, request: bool) -> Verdict {
    let mut f = shared.faults.lock().expect("faults lock");
    let mut c = shared.counts.lock().expect("counts lock");
    let nth_reply = c.replies;
    if request {
        c.requests += 1;
    } else {
        c.replies += 1;
        if f.drop_nth_reply == Some(nth_reply) {
            c.dropped += 1;
            return Verdict::Drop;
        }
    }
    let blackhole = f.blackhole;
    let drop_counter = if request {
        &mut f.drop_requests
    } else {
        &mut f.drop_replies
    };
    if blackhole || *drop_counter > 0 {
        *drop_counter = drop_counter.saturating_sub(1);
        c.dropped += 1;
        return Verdict::Drop;
    }
    if !request && f.corrupt_replies > 0 {
        f.corrupt_replies -= 1;
        if let Some(last) = data.last_mut() {
            *last ^= 0xFF;
        }
        c.corrupted += 1;
    }
    Verdict::Forward(data, f.delay)
}

fn send_later(sock: &UdpSocket, data: Vec<u8>, to: Option<SocketAddr>, delay: Duration) {
    let send = move |sock: &UdpSocket| {
        let _ = match to {
            Some(addr) => sock.send_to(&data, addr),
            None => sock.send(&data),
        };
    };
    if delay.is_zero() {
        send(sock);
    } else if let Ok(sock) = sock.try_clone() {
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            send(&sock);
        });
    }
}

fn run(front: UdpSocket, back: UdpSocket, shared: Arc<Shared>) {
    let tick = Some(Duration::from_millis(5));
    let _ = front.set_read_timeout(tick);
    let _ = back.set_read_timeout(tick);
    let mut client: Option<SocketAddr> = None;
    let mut buf = [0u8; 65536];
    while !shared.stop.load(Ordering::SeqCst) {
        if let Ok((n, from)) = front.recv_from(&mut buf) {
            client = Some(from);
            if let Verdict::Forward(d, delay) = judge(&shared, buf[..n].to_vec(), true) {
                send_later(&back, d, None, delay);
            }
        }
        if let Ok(n) = back.recv(&mut buf) {
            if let Some(to) = client {
                if let Verdict::Forward(d, delay) = judge(&shared, buf[..n].to_vec(), false) {
                    send_later(&front, d, Some(to), delay);
                }
            }
        }
    }
}
