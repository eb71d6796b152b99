//! The connection table of `serve`: a fixed number of slots, what each connection is doing, when
//! it must be closed, and which one gives up its slot when a new client arrives at the cap.
//!
//! A connection is *waiting* from its accept until a complete request head has arrived, and
//! again between a response and the next request (keep-alive); it is *busy* from a complete
//! head until its response body has been handed to the socket. Waiting costs the server a slot
//! and nothing else, so at the cap the connection that has waited longest is evicted for the
//! newcomer: ten thousand idle or slowloris connections cannot keep a real scraper out, and a
//! scraper's own connection is busy only for the few milliseconds of its scrape. Only when every
//! slot is busy is the newcomer refused.
//!
//! Pure bookkeeping, no I/O: `server.rs` acts on what this decides, and the unit tests below pin
//! the policy.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// The time limits of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From accept to a complete first request head (slowloris bound).
    pub header: Duration,
    /// From the end of a response to a complete next request head (keep-alive idle).
    pub keep_alive: Duration,
    /// From a complete head to the response handed to the socket (a client that does not read).
    pub response: Duration,
    /// From accept to close, whatever the connection is doing.
    pub ceiling: Duration,
}

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepted, no complete request head yet.
    Fresh,
    /// A request is being answered, since then.
    Busy(Instant),
    /// Between a response (finished then) and the next request head.
    Idle(Instant),
}

#[derive(Debug)]
struct Slot<H> {
    accepted: Instant,
    phase: Phase,
    handle: H,
}

impl<H> Slot<H> {
    /// Since when the connection has been waiting for a request head (None while busy).
    fn waiting_since(&self) -> Option<Instant> {
        match self.phase {
            Phase::Fresh => Some(self.accepted),
            Phase::Idle(t) => Some(t),
            Phase::Busy(_) => None,
        }
    }

    /// When the connection must be closed, and why.
    fn deadline(&self, t: &Timeouts) -> (Instant, Close) {
        let phase = match self.phase {
            Phase::Fresh => (self.accepted + t.header, Close::HeaderTimeout),
            Phase::Idle(since) => (since + t.keep_alive, Close::KeepAliveTimeout),
            Phase::Busy(since) => (since + t.response, Close::ResponseTimeout),
        };
        let ceiling = self.accepted + t.ceiling;
        if ceiling < phase.0 {
            (ceiling, Close::Ceiling)
        } else {
            phase
        }
    }
}

/// Why the server closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Taken out at the cap (or for a descriptor) for a newcomer.
    Evicted,
    /// No complete first request head within [`Timeouts::header`].
    HeaderTimeout,
    /// No complete next request head within [`Timeouts::keep_alive`].
    KeepAliveTimeout,
    /// A response not taken within [`Timeouts::response`].
    ResponseTimeout,
    /// Open for [`Timeouts::ceiling`].
    Ceiling,
    /// Refused at accept: every slot was busy.
    Refused,
}

impl Close {
    /// Every reason.
    pub const ALL: [Close; 6] = [
        Close::Evicted,
        Close::HeaderTimeout,
        Close::KeepAliveTimeout,
        Close::ResponseTimeout,
        Close::Ceiling,
        Close::Refused,
    ];

    /// The `reason` label of `clw_serve_connections_closed_total`.
    pub fn label(self) -> &'static str {
        match self {
            Close::Evicted => "evicted",
            Close::HeaderTimeout => "header_timeout",
            Close::KeepAliveTimeout => "keep_alive_timeout",
            Close::ResponseTimeout => "response_timeout",
            Close::Ceiling => "ceiling",
            Close::Refused => "refused",
        }
    }
}

/// Where a new connection goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit<H> {
    /// A slot is free.
    Room,
    /// The table was full: this connection (the one waiting longest for a request) was taken
    /// out to make room; the caller closes it through its handle.
    Evicted(H),
    /// Every slot is busy answering a request: refuse the newcomer.
    Full,
}

/// The table: at most `cap` connections, each with a handle `H` the caller closes it by.
#[derive(Debug)]
pub struct Slots<H> {
    cap: usize,
    next_id: u64,
    slots: HashMap<u64, Slot<H>>,
    /// The waiting connections, oldest first: (waiting since, id).
    waiting: BTreeSet<(Instant, u64)>,
}

impl<H> Slots<H> {
    /// An empty table of `cap` slots (at least 1).
    pub fn new(cap: usize) -> Slots<H> {
        Slots {
            cap: cap.max(1),
            next_id: 0,
            slots: HashMap::new(),
            waiting: BTreeSet::new(),
        }
    }

    /// How many connections are held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// No connection is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Make room for one more connection: free already, by evicting the connection waiting
    /// longest, or not at all.
    pub fn admit(&mut self) -> Admit<H> {
        if self.slots.len() < self.cap {
            return Admit::Room;
        }
        match self.evict_oldest_waiting() {
            Some(h) => Admit::Evicted(h),
            None => Admit::Full,
        }
    }

    /// Take out the connection that has waited longest for a request head, if any is waiting
    /// (also used to free a file descriptor when accept(2) says EMFILE).
    pub fn evict_oldest_waiting(&mut self) -> Option<H> {
        let &(_, id) = self.waiting.iter().next()?;
        self.remove(id)
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Lower (or raise) the cap to `cap` (at least 1), taking out the connections waiting longest
    /// until the table fits if it can (busy ones stay); their handles.
    pub fn set_cap(&mut self, cap: usize) -> Vec<H> {
        self.cap = cap.max(1);
        let mut out = Vec::new();
        while self.slots.len() > self.cap {
            match self.evict_oldest_waiting() {
                Some(h) => out.push(h),
                None => break,
            }
        }
        out
    }

    /// The id the next inserted connection gets.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Hold connection `id`, accepted `now` (after [`Slots::admit`] said there is room).
    pub fn insert(&mut self, id: u64, now: Instant, handle: H) {
        self.slots.insert(
            id,
            Slot {
                accepted: now,
                phase: Phase::Fresh,
                handle,
            },
        );
        self.waiting.insert((now, id));
    }

    fn set_phase(&mut self, id: u64, phase: Phase) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        if let Some(since) = slot.waiting_since() {
            self.waiting.remove(&(since, id));
        }
        slot.phase = phase;
        if let Some(since) = slot.waiting_since() {
            self.waiting.insert((since, id));
        }
    }

    /// Connection `id` has sent a complete request head (a no-op once it was removed).
    pub fn busy(&mut self, id: u64, now: Instant) {
        self.set_phase(id, Phase::Busy(now));
    }

    /// Connection `id` has had its response handed to the socket and waits for the next request.
    pub fn idle(&mut self, id: u64, now: Instant) {
        self.set_phase(id, Phase::Idle(now));
    }

    /// Forget connection `id` (it ended, or is being closed); its handle if it was still held.
    pub fn remove(&mut self, id: u64) -> Option<H> {
        let slot = self.slots.remove(&id)?;
        if let Some(since) = slot.waiting_since() {
            self.waiting.remove(&(since, id));
        }
        Some(slot.handle)
    }

    /// Take out every connection past one of its deadlines at `now`; their handles, each with
    /// the deadline it missed.
    pub fn expire(&mut self, now: Instant, t: &Timeouts) -> Vec<(H, Close)> {
        let late: Vec<(u64, Close)> = self
            .slots
            .iter()
            .filter_map(|(&id, s)| {
                let (at, why) = s.deadline(t);
                (at <= now).then_some((id, why))
            })
            .collect();
        late.into_iter()
            .filter_map(|(id, why)| Some((self.remove(id)?, why)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header: Duration::from_secs(5),
        keep_alive: Duration::from_secs(30),
        response: Duration::from_secs(20),
        ceiling: Duration::from_secs(300),
    };

    fn s(t0: Instant, secs: u64) -> Instant {
        t0 + Duration::from_secs(secs)
    }

    #[test]
    fn at_the_cap_the_longest_waiting_is_evicted_and_busy_ones_are_kept() {
        let t0 = Instant::now();
        let mut t: Slots<&str> = Slots::new(3);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(t.admit(), Admit::Room);
            let id = t.next_id();
            t.insert(id, s(t0, i as u64), name);
        }
        // a (id 1) is answering a request: b is now the one waiting longest.
        t.busy(1, s(t0, 3));
        assert_eq!(t.admit(), Admit::Evicted("b"));
        t.insert(4, s(t0, 4), "d");
        // a finishes at 5 and waits again, since 5: c (since 2) goes before it.
        t.idle(1, s(t0, 5));
        assert_eq!(t.admit(), Admit::Evicted("c"));
        t.insert(5, s(t0, 6), "e");
        assert_eq!(t.admit(), Admit::Evicted("d"));
        t.insert(6, s(t0, 7), "f");
        assert_eq!(t.len(), 3);
        // All busy: refused, nothing taken out.
        for id in [1, 5, 6] {
            t.busy(id, s(t0, 8));
        }
        assert_eq!(t.admit(), Admit::Full);
        assert_eq!(t.len(), 3);
        assert_eq!(t.evict_oldest_waiting(), None);
        t.remove(5);
        assert_eq!(t.admit(), Admit::Room);
        // A lower cap takes out waiting connections only, oldest first.
        t.idle(6, s(t0, 9));
        t.insert(7, s(t0, 10), "g");
        assert_eq!(t.set_cap(1), vec!["f", "g"]);
        assert_eq!((t.len(), t.cap()), (1, 1));
        assert_eq!(t.set_cap(0).len(), 0);
        assert_eq!(t.cap(), 1);
    }

    #[test]
    fn each_phase_has_its_deadline_and_the_ceiling_bounds_all() {
        let t0 = Instant::now();
        let mut t: Slots<u64> = Slots::new(10);
        for id in 1..=4 {
            t.insert(id, t0, id);
        }
        t.busy(2, s(t0, 1)); // busy until 21
        t.busy(3, s(t0, 1));
        t.idle(3, s(t0, 2)); // idle until 32
        t.busy(4, s(t0, 1));
        assert!(t.expire(s(t0, 4), &T).is_empty());
        assert_eq!(t.expire(s(t0, 5), &T), vec![(1, Close::HeaderTimeout)]);
        let mut late = t.expire(s(t0, 21), &T);
        late.sort_by_key(|l| l.0);
        assert_eq!(
            late,
            vec![(2, Close::ResponseTimeout), (4, Close::ResponseTimeout)]
        );
        assert!(t.expire(s(t0, 31), &T).is_empty());
        assert_eq!(t.expire(s(t0, 32), &T), vec![(3, Close::KeepAliveTimeout)]);
        assert!(t.is_empty());
        // A connection that keeps asking is still closed at the ceiling.
        t.insert(9, t0, 9);
        for k in 1..300 {
            t.busy(9, s(t0, k));
            t.idle(9, s(t0, k));
            assert!(t.expire(s(t0, k), &T).is_empty());
        }
        assert_eq!(t.expire(s(t0, 300), &T), vec![(9, Close::Ceiling)]);
    }

    #[test]
    fn phase_changes_of_a_removed_connection_are_ignored() {
        let t0 = Instant::now();
        let mut t: Slots<u8> = Slots::new(1);
        t.insert(1, t0, 1);
        assert_eq!(t.remove(1), Some(1));
        t.busy(1, t0);
        t.idle(1, t0);
        assert_eq!(t.remove(1), None);
        assert!(t.is_empty());
        assert_eq!(t.admit(), Admit::Room);
    }
}
