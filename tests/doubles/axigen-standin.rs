//! `axigen-standin`: a STAND-IN for the Axigen mail server, for tests only.
//!
//! Axigen cannot be installed in the test lab, so this program imitates what is documented of
//! it (reference: `drbd-axigen.md` §C), and nothing more:
//!
//! - a supervisor process that forks one worker child per listener and restarts a worker that
//!   dies (Axigen's supervisor restarts its children);
//! - no pidfile (Axigen documents none): the agent must find it by process identity. Workers are
//!   forked without `exec`, so every process of the tree has the same `/proc/PID/exe` and the
//!   same argv; the working directory of every process is the data directory (Axigen's config
//!   uses paths relative to it: `path = "log"`, `queuePath = "queue"`);
//! - listeners with Axigen's greetings: SMTP `220 <host> ESMTP Axigen`, IMAP
//!   `* OK AXIGEN IMAP4rev1 service is ready`, POP3 `+OK AXIGEN POP3 server on <host> ready`,
//!   webmail an HTTP/1.1 status line, and the CLI (default port 7000) with the documented
//!   banner, prompts (`<login> `, `<password> `, `<#> `) and replies (`+OK: …`, `-ERR: …`,
//!   `EXIT` → `+OK: have a nice day`);
//! - a minimal SMTP server (HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that writes each
//!   accepted message durably (file fsync, rename, directory fsync) under
//!   `<datadir>/domains/standin/new/` *before* replying 250, so a lab can check that no
//!   acknowledged message is lost across a failover;
//! - graceful stop like a daemon's: SIGTERM to the supervisor → it SIGTERMs its workers, waits
//!   for them, exits 0.
//!
//! Usage:
//! ```text
//! axigen-standin --datadir DIR [--bind ADDR] [--listen KIND=[ADDR:]PORT]...
//!                [--admin-user NAME] [--admin-password-file FILE] [--foreground]
//! ```
//! KIND is `smtp`, `imap`, `pop3`, `http` (webmail) or `cli`. Without `--listen`, Axigen's
//! defaults: SMTP 25, IMAP 143, POP3 110, webmail 80, CLI 7000 on `--bind` (default 0.0.0.0).
//! The admin password comes from a file, never from argv (default `<datadir>/run/cli.pw`; when
//! absent, every CLI login fails). `--foreground` is accepted for Axigen compatibility; the
//! stand-in never daemonizes itself (the agent detaches it).
//!
//! Misbehaviour, for tests: the file `<datadir>/run/standin-control` holds one directive per
//! line (`#` starts a comment). The supervisor re-reads it every 50 ms, workers on every
//! connection:
//! - `crash`: the supervisor SIGKILLs its workers and aborts (no graceful anything);
//! - `hang KIND`: that listener accepts connections but never greets;
//! - `refuse-login`: every CLI login fails with `-ERR`, even with the right password;
//! - `ignore-term`: the supervisor and its workers ignore SIGTERM (only SIGKILL stops them);
//! - `orphan`: the supervisor forks a child that escapes into its own session (setsid, then
//!   reparented to init). It keeps the inherited listening sockets, like a leaked helper, so a
//!   later start fails until it is killed.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Smtp,
    Imap,
    Pop3,
    Http,
    Cli,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "smtp" => Some(Kind::Smtp),
            "imap" => Some(Kind::Imap),
            "pop3" => Some(Kind::Pop3),
            "http" | "webmail" => Some(Kind::Http),
            "cli" => Some(Kind::Cli),
            _ => None,
        }
    }
}

struct Config {
    datadir: PathBuf,
    listeners: Vec<(Kind, SocketAddr)>,
    admin_user: String,
    admin_password_file: PathBuf,
}

#[derive(Default, Debug, Clone)]
struct Control {
    crash: bool,
    hang: Vec<Kind>,
    refuse_login: bool,
    ignore_term: bool,
    orphan: bool,
}

fn read_control(datadir: &Path) -> Control {
    let mut c = Control::default();
    let Ok(text) = fs::read_to_string(datadir.join("run/standin-control")) else {
        return c;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("crash") => c.crash = true,
            Some("hang") => c.hang.extend(words.filter_map(Kind::parse)),
            Some("refuse-login") => c.refuse_login = true,
            Some("ignore-term") => c.ignore_term = true,
            Some("orphan") => c.orphan = true,
            _ => {}
        }
    }
    c
}

fn usage(msg: &str) -> ! {
    eprintln!("axigen-standin: {msg}");
    eprintln!(
        "usage: axigen-standin --datadir DIR [--bind ADDR] [--listen KIND=[ADDR:]PORT]... \
         [--admin-user NAME] [--admin-password-file FILE] [--foreground]"
    );
    std::process::exit(2)
}

fn parse_args() -> Config {
    let mut args = std::env::args().skip(1);
    let mut datadir = None;
    let mut bind: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut listens: Vec<(Kind, String)> = Vec::new();
    let mut admin_user = "admin".to_string();
    let mut pwfile = None;
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "--datadir" => datadir = Some(PathBuf::from(value("--datadir"))),
            "--bind" => {
                bind = value("--bind")
                    .parse()
                    .unwrap_or_else(|_| usage("--bind needs an IP address"))
            }
            "--listen" => {
                let v = value("--listen");
                let (k, rest) = v
                    .split_once('=')
                    .unwrap_or_else(|| usage("--listen needs KIND=[ADDR:]PORT"));
                let kind = Kind::parse(k).unwrap_or_else(|| usage(&format!("unknown kind {k}")));
                listens.push((kind, rest.to_string()));
            }
            "--admin-user" => admin_user = value("--admin-user"),
            "--admin-password-file" => pwfile = Some(PathBuf::from(value("--admin-password-file"))),
            "--foreground" => {}
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let datadir = datadir.unwrap_or_else(|| usage("--datadir is required"));
    let datadir = if datadir.is_absolute() {
        datadir
    } else {
        std::env::current_dir()
            .map(|d| d.join(&datadir))
            .unwrap_or(datadir)
    };
    if listens.is_empty() {
        for (k, p) in [
            (Kind::Smtp, 25),
            (Kind::Imap, 143),
            (Kind::Pop3, 110),
            (Kind::Http, 80),
            (Kind::Cli, 7000),
        ] {
            listens.push((k, p.to_string()));
        }
    }
    let listeners = listens
        .into_iter()
        .map(|(k, spec)| {
            let addr = if let Ok(port) = spec.parse::<u16>() {
                SocketAddr::new(bind, port)
            } else {
                spec.parse()
                    .unwrap_or_else(|_| usage(&format!("bad listen address {spec}")))
            };
            (k, addr)
        })
        .collect();
    let admin_password_file = pwfile.unwrap_or_else(|| datadir.join("run/cli.pw"));
    Config {
        datadir,
        listeners,
        admin_user,
        admin_password_file,
    }
}

static TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    TERM.store(true, Ordering::SeqCst);
}

fn set_signal(sig: libc::c_int, handler: libc::sighandler_t) {
    // SAFETY: installing a handler that only stores to an atomic, or SIG_DFL/SIG_IGN.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

fn main() {
    let cfg = parse_args();
    for sub in [
        "run",
        "log",
        "queue",
        "domains/standin/new",
        "domains/standin/tmp",
    ] {
        if let Err(e) = fs::create_dir_all(cfg.datadir.join(sub)) {
            eprintln!("axigen-standin: cannot create {sub} in the data directory: {e}");
            std::process::exit(1);
        }
    }
    if let Err(e) = std::env::set_current_dir(&cfg.datadir) {
        eprintln!("axigen-standin: cannot enter the data directory: {e}");
        std::process::exit(1);
    }
    // Bind everything in the supervisor, before any fork: a port in use fails the start, and
    // the sockets outlive worker restarts.
    let mut sockets = Vec::new();
    for (kind, addr) in &cfg.listeners {
        match TcpListener::bind(addr) {
            Ok(l) => sockets.push((*kind, l)),
            Err(e) => {
                eprintln!("axigen-standin: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        }
    }
    log(&cfg.datadir, "supervisor started");
    supervise(&cfg, &sockets);
}

fn log(datadir: &Path, msg: &str) {
    if let Ok(mut f) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(datadir.join("log/everything.txt"))
    {
        let _ = writeln!(f, "{} {} {}", now_secs(), std::process::id(), msg);
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn supervise(cfg: &Config, sockets: &[(Kind, TcpListener)]) -> ! {
    set_signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t);
    set_signal(libc::SIGPIPE, libc::SIG_IGN);
    let mut workers: Vec<(usize, libc::pid_t)> = Vec::new();
    let mut orphan_made = false;
    let mut ignoring = false;
    loop {
        let ctl = read_control(&cfg.datadir);
        if ctl.ignore_term && !ignoring {
            set_signal(libc::SIGTERM, libc::SIG_IGN);
            ignoring = true;
            for (_, pid) in &workers {
                // Workers read the control file too, but tell them now.
                // SAFETY: plain kill(2) of our own child.
                unsafe { libc::kill(*pid, libc::SIGUSR1) };
            }
        }
        if ctl.crash {
            log(&cfg.datadir, "crashing on request");
            for (_, pid) in &workers {
                // SAFETY: kill(2) of our own children.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
            // SAFETY: no core file for a requested crash, then abort(3).
            unsafe {
                let lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &lim);
                libc::abort();
            }
        }
        if ctl.orphan && !orphan_made {
            make_orphan(&cfg.datadir);
            orphan_made = true;
        }
        if TERM.load(Ordering::SeqCst) {
            graceful_exit(cfg, &workers);
        }
        // Reap dead workers and restart the missing ones.
        loop {
            let mut status = 0;
            // SAFETY: waitpid(2) on our own children, non-blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            workers.retain(|(_, p)| *p != pid);
        }
        for (i, (kind, sock)) in sockets.iter().enumerate() {
            if workers.iter().any(|(w, _)| *w == i) {
                continue;
            }
            // SAFETY: the supervisor is single-threaded, so fork(2) is safe here.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                worker(cfg, *kind, sock, ignoring);
            }
            if pid > 0 {
                workers.push((i, pid));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn graceful_exit(cfg: &Config, workers: &[(usize, libc::pid_t)]) -> ! {
    log(&cfg.datadir, "SIGTERM: stopping workers");
    for (_, pid) in workers {
        // SAFETY: kill(2) of our own children.
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    for (_, pid) in workers {
        let mut status = 0;
        // SAFETY: blocking waitpid(2) on our own child.
        unsafe { libc::waitpid(*pid, &mut status, 0) };
    }
    log(&cfg.datadir, "stopped");
    std::process::exit(0)
}

fn make_orphan(datadir: &Path) {
    // SAFETY: single-threaded supervisor; the children only call async-signal-safe functions
    // until they sleep.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::setsid();
            if libc::fork() != 0 {
                libc::_exit(0);
            }
            set_signal(libc::SIGTERM, libc::SIG_DFL);
            loop {
                libc::pause();
            }
        }
        if pid > 0 {
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
    }
    log(datadir, "left an orphan child");
}

static WORKER_IGNORE_TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_: libc::c_int) {
    // SAFETY: signal(2) is async-signal-safe.
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    WORKER_IGNORE_TERM.store(true, Ordering::SeqCst);
}

fn worker(cfg: &Config, kind: Kind, sock: &TcpListener, ignore_term: bool) -> ! {
    set_signal(
        libc::SIGTERM,
        if ignore_term {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        },
    );
    set_signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t);
    loop {
        let (stream, _) = match sock.accept() {
            Ok(s) => s,
            Err(_) => continue,
        };
        let datadir = cfg.datadir.clone();
        let user = cfg.admin_user.clone();
        let pwfile = cfg.admin_password_file.clone();
        std::thread::spawn(move || {
            let ctl = read_control(&datadir);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
            if ctl.hang.contains(&kind) {
                // Accept, never greet: hold the connection until the client gives up.
                let mut s = stream;
                let mut buf = [0u8; 512];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                return;
            }
            let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
            let _ = match kind {
                Kind::Smtp => serve_smtp(stream, &datadir),
                Kind::Imap => serve_imap(stream),
                Kind::Pop3 => serve_pop3(stream),
                Kind::Http => serve_http(stream),
                Kind::Cli => serve_cli(stream, &user, &pwfile, ctl.refuse_login),
            };
        });
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname(2) into a buffer of the given size.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Reads one line (without CRLF), at most 8 KiB; `None` at EOF.
fn read_line(r: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.by_ref().take(8192).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

static MSG_COUNTER: AtomicU64 = AtomicU64::new(0);

fn serve_smtp(stream: TcpStream, datadir: &Path) -> std::io::Result<()> {
    let host = hostname();
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    write!(w, "220 {host} ESMTP Axigen\r\n")?;
    let mut helo = false;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut r)? {
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("");
        match verb {
            "HELO" => {
                helo = true;
                write!(w, "250 {host} Hello\r\n")?;
            }
            "EHLO" => {
                helo = true;
                write!(
                    w,
                    "250-{host} Hello\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
                )?;
            }
            "MAIL" if !helo => write!(w, "503 5.5.1 Send HELO/EHLO first\r\n")?,
            "MAIL" => match angle_arg(&line, "MAIL FROM:") {
                Some(a) => {
                    from = Some(a);
                    rcpts.clear();
                    write!(w, "250 2.1.0 Sender accepted\r\n")?;
                }
                None => write!(w, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n")?,
            },
            "RCPT" if from.is_none() => write!(w, "503 5.5.1 Need MAIL first\r\n")?,
            "RCPT" => match angle_arg(&line, "RCPT TO:") {
                Some(a) if !a.is_empty() => {
                    rcpts.push(a);
                    write!(w, "250 2.1.5 Recipient accepted\r\n")?;
                }
                _ => write!(w, "501 5.5.4 Syntax: RCPT TO:<address>\r\n")?,
            },
            "DATA" if rcpts.is_empty() => write!(w, "503 5.5.1 Need RCPT first\r\n")?,
            "DATA" => {
                write!(w, "354 Enter mail, end with \".\" on a line by itself\r\n")?;
                let mut body = Vec::new();
                let mut too_big = false;
                loop {
                    let Some(l) = read_line(&mut r)? else {
                        return Ok(()); // client vanished mid-message: nothing acknowledged
                    };
                    if l == "." {
                        break;
                    }
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    if body.len() + l.len() > 10 << 20 {
                        too_big = true;
                        continue;
                    }
                    body.extend_from_slice(l.as_bytes());
                    body.extend_from_slice(b"\r\n");
                }
                if too_big {
                    write!(w, "552 5.3.4 Message too big\r\n")?;
                } else {
                    let sender = from.clone().unwrap_or_default();
                    match store_message(datadir, &sender, &rcpts, &body) {
                        Ok(id) => {
                            write!(w, "250 2.6.0 Message accepted for delivery, id {id}\r\n")?
                        }
                        Err(_) => write!(w, "451 4.3.0 Local storage error\r\n")?,
                    }
                }
                from = None;
                rcpts.clear();
            }
            "RSET" => {
                from = None;
                rcpts.clear();
                write!(w, "250 2.0.0 Reset\r\n")?;
            }
            "NOOP" => write!(w, "250 2.0.0 OK\r\n")?,
            "QUIT" => {
                write!(w, "221 2.0.0 {host} closing connection\r\n")?;
                return Ok(());
            }
            _ => write!(w, "500 5.5.2 Command not recognized\r\n")?,
        }
    }
    Ok(())
}

/// `MAIL FROM:<a@b> SIZE=…` → `a@b` (case-insensitive prefix, angle brackets required).
fn angle_arg(line: &str, prefix: &str) -> Option<String> {
    let head = line.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = line[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_string())
}

/// Writes the message so that it survives a crash or power loss the moment we acknowledge it:
/// temp file, fsync, rename into `new/`, fsync of the directory.
fn store_message(
    datadir: &Path,
    from: &str,
    rcpts: &[String],
    body: &[u8],
) -> std::io::Result<String> {
    let n = MSG_COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!("{nanos}.{}.{n}", std::process::id());
    let base = datadir.join("domains/standin");
    let tmp = base.join("tmp").join(&id);
    let dst = base.join("new").join(format!("{id}.eml"));
    {
        let mut f = File::create(&tmp)?;
        write!(f, "X-Envelope-From: <{from}>\r\n")?;
        for r in rcpts {
            write!(f, "X-Envelope-To: <{r}>\r\n")?;
        }
        f.write_all(body)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &dst)?;
    let dir = File::open(base.join("new"))?;
    // SAFETY: fsync(2) of an open directory descriptor.
    if unsafe { libc::fsync(dir.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(id)
}

fn serve_imap(stream: TcpStream) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    write!(w, "* OK AXIGEN IMAP4rev1 service is ready\r\n")?;
    while let Some(line) = read_line(&mut r)? {
        let mut parts = line.split_whitespace();
        let tag = parts.next().unwrap_or("*");
        let cmd = parts.next().unwrap_or("").to_ascii_uppercase();
        match cmd.as_str() {
            "CAPABILITY" => write!(
                w,
                "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n{tag} OK CAPABILITY completed\r\n"
            )?,
            "NOOP" => write!(w, "{tag} OK NOOP completed\r\n")?,
            "LOGOUT" => {
                write!(
                    w,
                    "* BYE AXIGEN IMAP4rev1 server is closing connection\r\n{tag} OK LOGOUT completed\r\n"
                )?;
                return Ok(());
            }
            _ => write!(w, "{tag} BAD command not supported by the stand-in\r\n")?,
        }
    }
    Ok(())
}

fn serve_pop3(stream: TcpStream) -> std::io::Result<()> {
    let host = hostname();
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    write!(w, "+OK AXIGEN POP3 server on {host} ready\r\n")?;
    while let Some(line) = read_line(&mut r)? {
        match line.to_ascii_uppercase().split_whitespace().next() {
            Some("QUIT") => {
                write!(w, "+OK {host} POP3 server signing off\r\n")?;
                return Ok(());
            }
            Some("CAPA") => write!(w, "+OK Capability list follows\r\nUSER\r\nSTLS\r\n.\r\n")?,
            Some("NOOP") => write!(w, "+OK\r\n")?,
            _ => write!(w, "-ERR command not supported by the stand-in\r\n")?,
        }
    }
    Ok(())
}

fn serve_http(stream: TcpStream) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let Some(request) = read_line(&mut r)? else {
        return Ok(());
    };
    // Skip headers up to the blank line.
    while let Some(h) = read_line(&mut r)? {
        if h.is_empty() {
            break;
        }
    }
    let body = "<html><head><title>AXIGEN Webmail</title></head><body>stand-in</body></html>\n";
    let method = request.split_whitespace().next().unwrap_or("");
    let (status, send_body) = match method {
        "GET" => ("200 OK", true),
        "HEAD" => ("200 OK", false),
        _ => ("405 Method Not Allowed", false),
    };
    write!(
        w,
        "HTTP/1.1 {status}\r\nServer: Axigen-Webmail\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if send_body {
        w.write_all(body.as_bytes())?;
    }
    Ok(())
}

/// The CLI as documented: banner, `<login> ` prompt, `USER` → `<password> ` → `+OK:` and
/// `<#> `; every reply ends with the prompt of the current context and no line break.
fn serve_cli(
    stream: TcpStream,
    user: &str,
    pwfile: &Path,
    refuse_login: bool,
) -> std::io::Result<()> {
    const MAX_AUTH_ERRORS: u32 = 3;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    write!(w, "Welcome to AXIGEN's Command Line Interface\r\n")?;
    write!(w, "You must login first\r\n<login> ")?;
    let mut authed = false;
    let mut auth_errors = 0;
    let prompt = |authed: bool| if authed { "<#> " } else { "<login> " };
    while let Some(line) = read_line(&mut r)? {
        let line = line.trim();
        let upper = line.to_ascii_uppercase();
        let mut words = upper.split_whitespace();
        let first = words.next().unwrap_or("");
        let second = words.next().unwrap_or("");
        match (first, second) {
            ("", _) => write!(w, "{}", prompt(authed))?,
            ("EXIT" | "QUIT", _) => {
                write!(w, "+OK: have a nice day\r\n")?;
                return Ok(());
            }
            ("USER", _) if !authed => {
                let given = line.split_whitespace().nth(1).unwrap_or("").to_string();
                write!(w, "<password> ")?;
                let Some(pw) = read_line(&mut r)? else {
                    return Ok(());
                };
                let expected = fs::read(pwfile).ok().map(|mut b| {
                    while matches!(b.last(), Some(b'\n' | b'\r')) {
                        b.pop();
                    }
                    b
                });
                let ok = !refuse_login
                    && given == user
                    && expected.as_deref().is_some_and(|e| e == pw.as_bytes());
                if ok {
                    authed = true;
                    write!(w, "+OK: Authentication successful\r\n<#> ")?;
                } else {
                    auth_errors += 1;
                    write!(w, "-ERR: Authentication failed\r\n")?;
                    if auth_errors >= MAX_AUTH_ERRORS {
                        write!(w, "-ERR: Too many authentication errors\r\n")?;
                        return Ok(());
                    }
                    write!(w, "<login> ")?;
                }
            }
            ("GET", "VERSION") => write!(
                w,
                "10.6.30 (stand-in)|Linux|x86_64\r\n+OK: command successful\r\n{}",
                prompt(authed)
            )?,
            ("HELP", _) => write!(
                w,
                "HELP EXIT QUIT USER GET VERSION SHOW LIST\r\n+OK: command successful\r\n{}",
                prompt(authed)
            )?,
            ("SHOW", _) if !authed => write!(
                w,
                "console-codes = off\r\nquiet = off\r\n+OK: command successful\r\n<login> "
            )?,
            ("LIST", "DOMAINS") if authed => write!(
                w,
                "The list of domains:\r\nname                      used/total\r\n\
                 ----------------------------------------\r\nstandin.test              0/0\r\n\
                 +OK: command successful\r\n<#> "
            )?,
            ("SHOW", "LICENSEINFO") if authed => {
                write!(w, "license = stand-in\r\n+OK: command successful\r\n<#> ")?
            }
            _ if !authed => write!(w, "-ERR: Please login first\r\n<login> ")?,
            _ => write!(w, "-ERR: Invalid command or syntax error\r\n<#> ")?,
        }
    }
    Ok(())
}
