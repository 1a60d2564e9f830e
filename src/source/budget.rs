//! A byte budget for one worker's queue: the poll thread takes a batch's
//! bytes before queueing it and the worker gives them back once the batch is
//! processed, so a worker's queue holds at most `kafka.queue_bytes` of
//! records whatever their size (the queue's count bound alone would let
//! 10,000 records of 1 MB each sit in memory). A batch larger than the
//! whole budget is let through alone, when nothing else is queued, so that
//! no record size can wedge the poll thread.

use std::sync::{Condvar, Mutex};

/// Bytes queued to one worker, against a cap.
#[derive(Debug)]
pub struct ByteBudget {
    cap: usize,
    state: Mutex<BudgetState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct BudgetState {
    used: usize,
    /// The worker is gone: nothing will be given back.
    closed: bool,
}

/// The worker behind the budget stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl ByteBudget {
    /// A budget of `cap` bytes (at least 1).
    pub fn new(cap: usize) -> Self {
        ByteBudget {
            cap: cap.max(1),
            state: Mutex::new(BudgetState::default()),
            changed: Condvar::new(),
        }
    }

    fn fits(&self, s: &BudgetState, bytes: usize) -> bool {
        s.used == 0 || s.used.saturating_add(bytes) <= self.cap
    }

    /// Takes `bytes` if they fit now; false otherwise.
    #[cfg(test)]
    pub fn try_acquire(&self, bytes: usize) -> Result<bool, Closed> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.closed {
            return Err(Closed);
        }
        if self.fits(&s, bytes) {
            s.used = s.used.saturating_add(bytes);
            return Ok(true);
        }
        Ok(false)
    }

    /// Takes `bytes`, waiting until the worker has given back enough.
    pub fn acquire(&self, bytes: usize) -> Result<(), Closed> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.closed {
                return Err(Closed);
            }
            if self.fits(&s, bytes) {
                s.used = s.used.saturating_add(bytes);
                return Ok(());
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Gives `bytes` back.
    pub fn release(&self, bytes: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.used = s.used.saturating_sub(bytes);
        self.changed.notify_all();
    }

    /// The worker stopped: waiters and later takers get [`Closed`].
    pub fn close(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.closed = true;
        self.changed.notify_all();
    }

    /// Bytes queued now.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.state.lock().map_or(0, |s| s.used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn takes_up_to_the_cap_then_waits_for_bytes_back() {
        let b = ByteBudget::new(100);
        assert_eq!(b.try_acquire(60), Ok(true));
        assert_eq!(b.try_acquire(50), Ok(false), "60 + 50 is over 100");
        assert_eq!(b.try_acquire(40), Ok(true), "60 + 40 fits exactly");
        assert_eq!(b.used(), 100);
        b.release(60);
        assert_eq!(b.try_acquire(50), Ok(true));
        assert_eq!(b.used(), 90);
    }

    #[test]
    fn a_batch_larger_than_the_cap_goes_alone() {
        let b = ByteBudget::new(100);
        assert_eq!(b.try_acquire(10), Ok(true));
        assert_eq!(b.try_acquire(500), Ok(false), "not beside another batch");
        b.release(10);
        assert_eq!(b.try_acquire(500), Ok(true), "alone, it goes");
        assert_eq!(b.try_acquire(1), Ok(false));
    }

    #[test]
    fn a_waiting_taker_goes_on_when_bytes_come_back_or_the_worker_stops() {
        let b = Arc::new(ByteBudget::new(100));
        b.acquire(100).expect("open");
        let waiter = {
            let b = b.clone();
            std::thread::spawn(move || b.acquire(30))
        };
        b.release(100);
        assert_eq!(waiter.join().expect("joins"), Ok(()));
        assert_eq!(b.used(), 30);

        b.acquire(70).expect("fits");
        let stuck = {
            let b = b.clone();
            std::thread::spawn(move || b.acquire(30))
        };
        b.close();
        assert_eq!(stuck.join().expect("joins"), Err(Closed));
        assert_eq!(b.try_acquire(1), Err(Closed));
    }
}
