//! [`Watch`]: a waker that notes it fired before it wakes the task, so that a task woken
//! for many reasons polls each source of wake-ups only when that source fired.
//!
//! A stream's body is woken once per event; its keep-alive timer and the server's shutdown
//! signal share one `Watch`, the handler's stream has another, and a poll skips what did
//! not fire. A connection does the same with the server's stop signal
//! (`server/graceful.rs`, through [`Watched`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Wake, Waker};

/// A waker that sets `fired`, then wakes the task it was last given.
pub(crate) struct Watch {
    fired: AtomicBool,
    /// The waker of the task that polls, as last seen.
    task: Mutex<Option<Waker>>,
}

impl Wake for Watch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

impl Watch {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Watch {
            fired: AtomicBool::new(false),
            task: Mutex::new(None),
        })
    }

    /// Wakes `task` from now on.
    pub(crate) fn set_task(&self, task: Waker) {
        *self.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    /// Takes the `fired` flag: true if it fired since the last call.
    #[inline]
    pub(crate) fn take_fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed) && self.fired.swap(false, Ordering::AcqRel)
    }
}

/// One [`Watch`] for one task: keeps the task's waker current without taking the lock at
/// every poll.
pub(crate) struct Watched {
    watch: Arc<Watch>,
    /// The watch as a waker, made once: what it is polled with stays the same waker, so a
    /// future that keeps its waker need not clone it again.
    waker: Waker,
    /// A copy of the waker in `watch.task`, compared without taking the lock.
    task: Option<Waker>,
}

impl Watched {
    pub(crate) fn new() -> Self {
        let watch = Watch::new();
        Self {
            waker: Waker::from(Arc::clone(&watch)),
            watch,
            task: None,
        }
    }

    /// Forwards wake-ups to the task polling with `cx`; true if that task changed (a
    /// wake-up may have gone to its old waker, so whatever the watch guards is to be
    /// polled).
    #[inline]
    pub(crate) fn register(&mut self, cx: &Context<'_>) -> bool {
        if self.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            return false;
        }
        let task = cx.waker().clone();
        self.watch.set_task(task.clone());
        self.task = Some(task);
        true
    }

    /// True if the watch fired since the last call.
    pub(crate) fn take_fired(&self) -> bool {
        self.watch.take_fired()
    }

    /// The waker to poll the watched future or stream with.
    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }
}
