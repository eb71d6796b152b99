//! The connection side of `serve`: one thread that no client can starve.
//!
//! hyper's HTTP/1 server on a tokio current-thread runtime: every connection is a task on the
//! thread that accepted it, so the process needs one thread whatever the number of clients (the
//! shipped unit allows 16 tasks), and no task is started per connection by the OS. The bounds:
//!
//! - at most [`Limits::max_connections`] connections ([`slots`](super::slots) decides who
//!   gives way at the cap: the one waiting longest for a request, never one being answered; a
//!   newcomer is refused with 503 only when every slot is busy);
//! - a complete request head within [`Timeouts::header`] of accept, the next one within
//!   [`Timeouts::keep_alive`] of a response, the response taken within [`Timeouts::response`],
//!   and every connection closed at [`Timeouts::ceiling`];
//! - a request head of at most [`Limits::max_head_bytes`] and [`Limits::max_headers`] headers
//!   (hyper answers 431 and closes past either);
//! - accept(2) errors never end the loop: out of file descriptors (EMFILE, ENFILE) lowers the
//!   cap to 8 below the connections held, evicts the connections waiting longest down to it and
//!   backs off 100 ms; out of memory (ENOBUFS, ENOMEM) backs off; each with a note at most every
//!   10 s. Only a listener that is gone for good (EBADF, EINVAL, ENOTSOCK, …: closed, shut down
//!   or destroyed under us) returns, as an error, so that the process exits non-zero and its
//!   supervisor restarts it.
//!
//! What the server closed and why is exported after each scrape (`clw_serve_*`, docs/metrics.md).
//!
//! A scrape runs inline in the request handler (`http.rs`): tens of milliseconds of synchronous
//! reads, during which other connections wait; nothing here starts a thread (no
//! `spawn_blocking`, no `tokio::fs`, no DNS resolver). The workload-identity [`Resolver`]
//! lives as long as the server, in the state the connections share, so its cache (hits
//! checked by mtime, misses retried after 30 s) serves every scrape.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::identity::Resolver;
use crate::serve::collect::ScrapeConfig;
use crate::serve::exposition::{Family, Value};
use crate::serve::http::respond;
pub use crate::serve::slots::Timeouts;
use crate::serve::slots::{Admit, Close, Slots};

/// How often deadlines and the stop flag are checked.
const TICK: Duration = Duration::from_millis(250);
/// The pause after accept(2) ran out of descriptors or memory.
const BACKOFF: Duration = Duration::from_millis(100);
/// At most one note of each kind this often.
const NOTE_EVERY: Duration = Duration::from_secs(10);
/// Descriptors kept for everything that is not a connection (stdio, the listener, epoll, the
/// files a scrape opens one at a time, directory walks).
const FD_RESERVE: u64 = 16;
/// How far below the count at which accept(2) said EMFILE the cap goes.
const FD_HEADROOM: usize = 8;
/// The default cap whatever the descriptor limit.
const MAX_DEFAULT_CONNECTIONS: u64 = 256;
/// The listen(2) backlog (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: i32 = 1024;
/// What a refused client reads before the close.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The bounds of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once (at least 1).
    pub max_connections: usize,
    /// The time limits of each connection.
    pub timeouts: Timeouts,
    /// The largest request head (request line and headers), bytes; at least 8192 (hyper's
    /// minimum read buffer).
    pub max_head_bytes: usize,
    /// The most header fields in one request.
    pub max_headers: usize,
}

impl Limits {
    /// The defaults for a process whose soft `RLIMIT_NOFILE` is `nofile` (None: unknown):
    /// `min(256, nofile / 2 - 16)` connections (at least 1), a 5 s header timeout, 30 s
    /// keep-alive, 30 s to take a response, a 10 min ceiling, 16 KiB and 64 headers per head.
    pub fn for_nofile(nofile: Option<u64>) -> Limits {
        let cap = nofile.map_or(MAX_DEFAULT_CONNECTIONS, |n| {
            (n / 2)
                .saturating_sub(FD_RESERVE)
                .min(MAX_DEFAULT_CONNECTIONS)
        });
        Limits {
            max_connections: usize::try_from(cap.max(1)).unwrap_or(1),
            timeouts: Timeouts {
                header: Duration::from_secs(5),
                keep_alive: Duration::from_secs(30),
                response: Duration::from_secs(30),
                ceiling: Duration::from_secs(600),
            },
            max_head_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process (getrlimit(2)); None when unlimited or unknown.
pub fn nofile_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    (rc == 0 && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur)
}

/// A listening socket on `addr` (SO_REUSEADDR, a backlog of 1024, non-blocking), to hand to
/// [`serve`]. Errors: the `io::Error` of socket(2), bind(2) or listen(2) (EADDRINUSE, EACCES for
/// a port below 1024, EADDRNOTAVAIL).
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// What the connection tasks share with the accept loop; single-threaded, so `RefCell`s, each
/// borrowed only inside one synchronous step.
struct Shared {
    slots: RefCell<Slots<AbortHandle>>,
    cfg: ScrapeConfig,
    /// Names the cgroups' workloads; one for the server's life, so that its cache is kept.
    resolver: RefCell<Resolver>,
    http: http1::Builder,
    /// Lines from scrapes, written by the accept loop (which holds the caller's `log`).
    notes: RefCell<Vec<String>>,
    stats: RefCell<Stats>,
}

/// The server's own counters, exported after each scrape's families.
#[derive(Debug, Default)]
struct Stats {
    /// Connections the server closed, by [`Close::ALL`]'s order.
    closed: [u64; Close::ALL.len()],
    /// accept(2) failures: out of descriptors, out of memory, other.
    accept_errors: [u64; 3],
}

impl Stats {
    fn closed(&mut self, why: Close, n: usize) {
        if let Some(i) = Close::ALL.iter().position(|&c| c == why) {
            self.closed[i] += n as u64;
        }
    }
}

impl Shared {
    /// `clw_serve_*`: connections held and the cap, connections closed by reason, accept errors.
    fn families(&self) -> Vec<Family> {
        let (held, cap) = self
            .slots
            .try_borrow()
            .map_or((None, None), |s| (Some(s.len()), Some(s.cap())));
        let mut conns = Family::gauge(
            "clw_serve_connections",
            "Connections this server holds open now, this scrape's included.",
        );
        conns.push(vec![], held.map(|n| Value::Uint(n as u64)));
        let mut max = Family::gauge(
            "clw_serve_connections_max",
            "The most connections held at once (--max-connections, lowered after EMFILE).",
        );
        max.push(vec![], cap.map(|n| Value::Uint(n as u64)));
        let mut closed = Family::counter(
            "clw_serve_connections_closed_total",
            "Connections the server closed: evicted at the cap for a newcomer, timed out, or refused.",
        );
        let mut errors = Family::counter(
            "clw_serve_accept_errors_total",
            "accept(2) failures the server survived, by cause.",
        );
        if let Ok(st) = self.stats.try_borrow() {
            for (why, n) in Close::ALL.iter().zip(st.closed) {
                closed.push(
                    vec![("reason", why.label().to_string())],
                    Some(Value::Uint(n)),
                );
            }
            for (kind, n) in ["no_fds", "no_memory", "other"]
                .iter()
                .zip(st.accept_errors)
            {
                errors.push(vec![("kind", kind.to_string())], Some(Value::Uint(n)));
            }
        }
        vec![conns, max, closed, errors]
    }

    fn count_closed(&self, why: Close, n: usize) {
        if let Ok(mut st) = self.stats.try_borrow_mut() {
            st.closed(why, n);
        }
    }

    fn count_accept_error(&self, kind: &AcceptError) {
        let i = match kind {
            AcceptError::NoFds => 0,
            AcceptError::NoMemory => 1,
            AcceptError::Transient | AcceptError::Fatal => 2,
        };
        if let Ok(mut st) = self.stats.try_borrow_mut() {
            st.accept_errors[i] += 1;
        }
    }
}

/// Drops the connection's slot when its task ends or is aborted.
struct Gone {
    id: u64,
    shared: Rc<Shared>,
}

impl Drop for Gone {
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.slots.try_borrow_mut() {
            s.remove(self.id);
        }
    }
}

/// Marks the connection waiting again once its response body was taken.
struct Answered {
    id: u64,
    shared: Rc<Shared>,
}

impl Drop for Answered {
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.slots.try_borrow_mut() {
            s.idle(self.id, Instant::now());
        }
    }
}

async fn connection(stream: TcpStream, id: u64, shared: Rc<Shared>) {
    let _gone = Gone {
        id,
        shared: Rc::clone(&shared),
    };
    let svc_shared = Rc::clone(&shared);
    let svc = service_fn(move |req: Request<Incoming>| {
        let sh = &svc_shared;
        if let Ok(mut s) = sh.slots.try_borrow_mut() {
            s.busy(id, Instant::now());
        }
        let done = Answered {
            id,
            shared: Rc::clone(sh),
        };
        let mut notes = Vec::new();
        let mut resolver = sh.resolver.borrow_mut();
        let resp = respond(
            &req,
            &sh.cfg,
            &mut resolver,
            &|| sh.families(),
            &mut |n| notes.push(n),
            done,
        );
        if let Ok(mut n) = sh.notes.try_borrow_mut() {
            n.append(&mut notes);
        }
        std::future::ready(Ok::<_, Infallible>(resp))
    });
    // An error here is the client's (gone, garbage: hyper has answered 400/431 where it could).
    let _ = shared
        .http
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}

/// Notes of one kind at most every [`NOTE_EVERY`], with the count of those held back.
#[derive(Default)]
struct Notes {
    last: HashMap<&'static str, (Instant, u64)>,
}

impl Notes {
    fn note(&mut self, kind: &'static str, msg: &dyn Fn() -> String, log: &dyn Fn(Note, &str)) {
        let now = Instant::now();
        match self.last.get_mut(kind) {
            Some((at, held)) if now.duration_since(*at) < NOTE_EVERY => *held += 1,
            entry => {
                let held = entry.map_or(0, |(_, h)| *h);
                let more = if held > 0 {
                    format!(" ({held} more since the last note)")
                } else {
                    String::new()
                };
                log(Note::Server, &format!("{}{more}", msg()));
                self.last.insert(kind, (now, 0));
            }
        }
    }
}

/// What an accept(2) error means for the listener.
#[derive(Debug, PartialEq, Eq)]
enum AcceptError {
    /// Out of file descriptors: free one and pause.
    NoFds,
    /// Out of kernel memory: pause.
    NoMemory,
    /// The connection failed before we took it (or a signal): go on.
    Transient,
    /// The listening socket is gone.
    Fatal,
}

fn classify(e: &io::Error) -> AcceptError {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE) => AcceptError::NoFds,
        Some(libc::ENOBUFS | libc::ENOMEM) => AcceptError::NoMemory,
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP | libc::EFAULT) => {
            AcceptError::Fatal
        }
        _ => AcceptError::Transient,
    }
}

fn abort_all(handles: Vec<AbortHandle>) {
    handles.iter().for_each(AbortHandle::abort);
}

/// Who a line given to [`serve`]'s `log` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The server's own trouble (accept errors, refused clients), at most one line of a kind
    /// every 10 s: for the operator, always.
    Server,
    /// A part of a scrape that could not be read (also counted in `clw_scrape_errors`): one
    /// line per scrape, for `--verbose`.
    Scrape,
}

/// Serve `listener` (from [`bind`]) until `stop` becomes true (checked every 250 ms), within
/// `limits`. `log` gets the lines described at [`Note`].
///
/// Errors: the runtime could not be built (epoll, eventfd), or the listening socket failed for
/// good; the caller should exit non-zero so that a supervisor restarts the process.
pub fn serve(
    listener: std::net::TcpListener,
    cfg: &ScrapeConfig,
    limits: &Limits,
    stop: &AtomicBool,
    log: &dyn Fn(Note, &str),
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, accept_loop(listener, cfg, limits, stop, log))
}

enum Event {
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Tick,
}

async fn accept_loop(
    listener: std::net::TcpListener,
    cfg: &ScrapeConfig,
    limits: &Limits,
    stop: &AtomicBool,
    log: &dyn Fn(Note, &str),
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let mut http = http1::Builder::new();
    http.max_buf_size(limits.max_head_bytes.max(8192))
        .max_header_size(limits.max_head_bytes)
        .max_headers(limits.max_headers)
        .keep_alive(true);
    let shared = Rc::new(Shared {
        slots: RefCell::new(Slots::new(limits.max_connections)),
        cfg: cfg.clone(),
        resolver: RefCell::new(Resolver::new(&cfg.host_root)),
        http,
        notes: RefCell::new(Vec::new()),
        stats: RefCell::new(Stats::default()),
    });
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pause: Option<Pin<Box<tokio::time::Sleep>>> = None;
    let mut notes = Notes::default();
    loop {
        let event = poll_fn(|cx| {
            if tick.poll_tick(cx).is_ready() {
                return Poll::Ready(Event::Tick);
            }
            if let Some(p) = pause.as_mut() {
                if p.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                pause = None;
            }
            listener.poll_accept(cx).map(Event::Accepted)
        })
        .await;
        match event {
            Event::Tick => {
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let late = shared
                    .slots
                    .borrow_mut()
                    .expire(Instant::now(), &limits.timeouts);
                for (h, why) in late {
                    h.abort();
                    shared.count_closed(why, 1);
                }
            }
            Event::Accepted(Ok((stream, _))) => {
                if admit(stream, &shared, &mut notes, log) {
                    // Let the evicted task be dropped, and its socket closed, before the next
                    // accept needs the descriptor.
                    tokio::task::yield_now().await;
                }
            }
            Event::Accepted(Err(e)) => {
                let backoff = accept_failed(e, &shared, &mut notes, log)?;
                pause = backoff.then(|| Box::pin(tokio::time::sleep(BACKOFF)));
            }
        }
        let pending: Vec<String> = shared.notes.borrow_mut().drain(..).collect();
        pending.iter().for_each(|n| log(Note::Scrape, n));
    }
}

/// Act on an accept(2) failure: the error itself when the listener is gone for good, else
/// whether to pause before the next accept. Out of descriptors, the cap drops to
/// [`FD_HEADROOM`] below the connections held (it was more than the open-file limit allows)
/// and the longest-waiting connections are closed down to it; their tasks release the sockets
/// when they next run, during the pause.
fn accept_failed(
    e: io::Error,
    shared: &Shared,
    notes: &mut Notes,
    log: &dyn Fn(Note, &str),
) -> io::Result<bool> {
    let kind = classify(&e);
    shared.count_accept_error(&kind);
    match kind {
        AcceptError::Fatal => Err(e),
        AcceptError::NoFds => {
            let (freed, cap) = {
                let mut slots = shared.slots.borrow_mut();
                let cap = slots.len().saturating_sub(FD_HEADROOM).max(1);
                let cap = cap.min(slots.cap());
                let mut freed = slots.set_cap(cap);
                if freed.is_empty() {
                    freed.extend(slots.evict_oldest_waiting());
                }
                (freed, slots.cap())
            };
            let n = freed.len();
            abort_all(freed);
            shared.count_closed(Close::Evicted, n);
            let msg = || {
                format!(
                    "accepting a connection failed: {e} (closed {n} waiting connection(s), \
                     holding at most {cap} from now on; retrying in 100 ms)"
                )
            };
            notes.note("nofds", &msg, log);
            Ok(true)
        }
        AcceptError::NoMemory => {
            let msg = || format!("accepting a connection failed: {e} (retrying in 100 ms)");
            notes.note("nomem", &msg, log);
            Ok(true)
        }
        AcceptError::Transient => {
            let msg = || format!("accepting a connection failed: {e}");
            notes.note("transient", &msg, log);
            Ok(false)
        }
    }
}

/// Give `stream` a slot (evicting the connection waiting longest at the cap) and its task, or
/// refuse it with 503 when every slot is busy. True when a connection was evicted.
fn admit(
    stream: TcpStream,
    shared: &Rc<Shared>,
    notes: &mut Notes,
    log: &dyn Fn(Note, &str),
) -> bool {
    let decision = shared.slots.borrow_mut().admit();
    let evicted = matches!(decision, Admit::Evicted(_));
    match decision {
        Admit::Room => {}
        Admit::Evicted(h) => {
            h.abort();
            shared.count_closed(Close::Evicted, 1);
        }
        Admit::Full => {
            // Best effort: the socket is fresh, its send buffer empty.
            let _ = stream.try_write(REFUSED);
            shared.count_closed(Close::Refused, 1);
            let cap = shared.slots.borrow().len();
            notes.note(
                "full",
                &|| format!("all {cap} connections busy answering: refused one with 503"),
                log,
            );
            return false;
        }
    }
    let id = shared.slots.borrow_mut().next_id();
    let task = tokio::task::spawn_local(connection(stream, id, Rc::clone(shared)));
    shared
        .slots
        .borrow_mut()
        .insert(id, Instant::now(), task.abort_handle());
    evicted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_descriptor_limit() {
        assert_eq!(Limits::for_nofile(Some(1024)).max_connections, 256);
        assert_eq!(Limits::for_nofile(Some(64)).max_connections, 16);
        assert_eq!(Limits::for_nofile(Some(10)).max_connections, 1);
        assert_eq!(Limits::for_nofile(None).max_connections, 256);
        assert!(nofile_limit().is_some_and(|n| n > 0));
    }

    #[test]
    fn accept_errors_that_end_the_listener_are_only_those_of_a_dead_socket() {
        let k = |e| classify(&io::Error::from_raw_os_error(e));
        assert_eq!(k(libc::EMFILE), AcceptError::NoFds);
        assert_eq!(k(libc::ENFILE), AcceptError::NoFds);
        assert_eq!(k(libc::ENOBUFS), AcceptError::NoMemory);
        assert_eq!(k(libc::ENOMEM), AcceptError::NoMemory);
        assert_eq!(k(libc::ECONNABORTED), AcceptError::Transient);
        assert_eq!(k(libc::EPROTO), AcceptError::Transient);
        assert_eq!(k(libc::EPERM), AcceptError::Transient);
        assert_eq!(k(libc::EINTR), AcceptError::Transient);
        assert_eq!(k(libc::EINVAL), AcceptError::Fatal);
        assert_eq!(k(libc::EBADF), AcceptError::Fatal);
    }
}
