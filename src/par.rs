//! An order-keeping parallel map for the two hot loops (sessions in `render`, resources in
//! `diff`). Items are handed out in small blocks from a shared queue rather than split into
//! fixed shares up front: on a shared machine one core is often slower than the other, and a
//! fixed half left to the slow core sets the wall time. The calling thread works too.
//!
//! The other threads are started once and kept ([`helpers`]): the allocator's memory is per
//! thread, so a thread started for each parallel step would take fresh pages from the system
//! for what the previous step's threads had freed (a 10,000-object diff touched 20 MB more so,
//! and fresh pages cost about 1 ms a megabyte to fault in on this project's machine).

use anyhow::{anyhow, Result};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// Set on helper threads: work they start runs on them alone (a helper waiting for a job
    /// queued behind its own would wait forever).
    static IN_HELPER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The kept threads: one less than the CPUs (the caller is the other).
fn helpers() -> &'static [Mutex<mpsc::Sender<Job>>] {
    static HELPERS: OnceLock<Vec<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    HELPERS.get_or_init(|| {
        (1..crate::limits::cpus())
            .filter_map(|i| {
                let (tx, rx) = mpsc::channel::<Job>();
                std::thread::Builder::new()
                    .name(format!("kpipe-{i}"))
                    .spawn(move || {
                        IN_HELPER.with(|h| h.set(true));
                        for job in rx {
                            job();
                        }
                    })
                    .ok()?;
                Some(Mutex::new(tx))
            })
            .collect()
    })
}

/// Set once a job sent to a helper has finished (or was dropped unrun).
#[derive(Default)]
struct Latch {
    done: Mutex<Option<bool>>,
    cv: Condvar,
}

impl Latch {
    fn set(&self, panicked: bool) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = Some(panicked);
        self.cv.notify_all();
    }

    /// Waits; true when the job panicked.
    fn wait(&self) -> bool {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(p) = *done {
                return p;
            }
            done = self.cv.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Sets its latch when dropped: a job dropped unrun (its helper gone) still releases the
/// caller.
struct SetOnDrop(Arc<Latch>, bool);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

/// Runs `work` on up to `extra` helpers while the caller runs `own`, and returns `own`'s
/// result once every helper is done with `work`; whether any helper panicked comes with it.
/// A panic in `own` is raised again after the helpers are done.
fn with_helpers<R>(extra: usize, work: &(dyn Fn() + Sync), own: impl FnOnce() -> R) -> (R, bool) {
    let extra = if IN_HELPER.with(std::cell::Cell::get) {
        0
    } else {
        extra
    };
    let latches: Vec<Arc<Latch>> = helpers()
        .iter()
        .take(extra)
        .filter_map(|tx| {
            let latch = Arc::new(Latch::default());
            let guard = SetOnDrop(Arc::clone(&latch), false);
            let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
                let mut guard = guard;
                guard.1 = catch_unwind(AssertUnwindSafe(work)).is_err();
            });
            // SAFETY: the job borrows `work`, which outlives this call, and this call does
            // not return (nor unwind) before the job's latch is set: that happens when the
            // job has run, or when it is dropped unrun. Every latch made here is waited for
            // below, whatever `own` does.
            let job: Job = unsafe { std::mem::transmute(job) };
            let sent = tx.lock().unwrap_or_else(|e| e.into_inner()).send(job);
            // A job that could not be sent was dropped, and its latch set, already.
            sent.ok().map(|()| latch)
        })
        .collect();
    let own = catch_unwind(AssertUnwindSafe(own));
    let panicked = latches.iter().fold(false, |p, l| l.wait() | p);
    match own {
        Ok(r) => (r, panicked),
        Err(e) => resume_unwind(e),
    }
}

/// Runs `a` on a helper and `b` on the calling thread at once (both on this one when there is
/// no helper); a panic in either is raised here.
pub fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    let task = Mutex::new(Some(a));
    let out: Mutex<Option<A>> = Mutex::new(None);
    let work = || {
        let f = task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(f) = f {
            let r = f();
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    };
    let (rb, panicked) = with_helpers(1, &work, b);
    if panicked {
        resume_unwind(Box::new("a helper thread panicked"));
    }
    // Not run by a helper (none could take it): run here.
    work();
    let ra = out.into_inner().unwrap_or_else(|e| e.into_inner());
    match ra {
        Some(ra) => (ra, rb),
        // `work` ran `a` on one thread or the other; only a panic leaves no result.
        None => resume_unwind(Box::new("a helper thread panicked")),
    }
}

/// Maps `f` over `items`, consuming them, and returns the results in item order; the first
/// error in item order wins. Runs on one thread when there are fewer than `min_per_thread`
/// items per extra thread (then the CPU count is not even looked up).
pub fn map<T: Send, U: Send>(
    items: Vec<T>,
    min_per_thread: usize,
    f: impl Fn(T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    map_with_room(items, min_per_thread, 0, f)
}

/// [`map`], whose list of results has room for `room` more: a caller that appends to it does
/// not copy it into a larger one (10,000 diff results are megabytes of fresh memory).
pub fn map_with_room<T: Send, U: Send>(
    items: Vec<T>,
    min_per_thread: usize,
    room: usize,
    f: impl Fn(T) -> Result<U> + Sync,
) -> Result<Vec<U>> {
    let n = items.len();
    let wanted = n.div_ceil(min_per_thread.max(1));
    let threads = if wanted <= 1 {
        1
    } else {
        crate::limits::cpus().min(wanted)
    };
    if threads == 1 {
        let mut out = Vec::with_capacity(n.saturating_add(room));
        for item in items {
            out.push(f(item)?);
        }
        return Ok(out);
    }
    // Blocks small enough to even out uneven cores, large enough that the lock stays cold.
    let block = (n / (threads * 16)).clamp(1, 64);
    let queue = Mutex::new(items.into_iter().enumerate());
    // Results go straight to their place: no per-thread lists growing past their guess, and no
    // second copy to put them in order (10,000 diff results are megabytes of fresh memory).
    // The room is made here: the results are collected in place, into this list (the slot and
    // its result are the same size whenever `Option<Result<_>>` fits in the result's niches).
    let mut slots = Vec::with_capacity(n.saturating_add(room));
    slots.extend(std::iter::repeat_with(|| None).take(n));
    let slots: Mutex<Vec<Option<Result<U>>>> = Mutex::new(slots);
    let work = || loop {
        let taken: Vec<(usize, T)> = {
            // Nothing can panic while the lock is held; a poisoned lock is still usable.
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            q.by_ref().take(block).collect()
        };
        if taken.is_empty() {
            return;
        }
        let done: Vec<(usize, Result<U>)> = taken.into_iter().map(|(i, t)| (i, f(t))).collect();
        let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
        for (i, r) in done {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(r);
            }
        }
    };
    let ((), panicked) = with_helpers(threads - 1, &work, work);
    if panicked {
        return Err(anyhow!("internal error: a worker thread panicked"));
    }
    slots
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|s| s.unwrap_or_else(|| Err(anyhow!("internal error: a worker lost an item"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_consumes_items() {
        let items: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let out = map(items, 16, |s| Ok(s.len() * 10 + s.parse::<usize>()?)).unwrap();
        assert_eq!(out.len(), 1000);
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, i.to_string().len() * 10 + i);
        }
    }

    #[test]
    fn room_is_kept_for_more_results() {
        for (n, min_per_thread) in [(1000, 16), (10, 16), (0, 16)] {
            let items: Vec<usize> = (0..n).collect();
            let out = map_with_room(items, min_per_thread, 50, |i| Ok(i.to_string())).unwrap();
            assert_eq!(out.len(), n);
            assert!(out.iter().enumerate().all(|(i, s)| *s == i.to_string()));
            // Collected in place into the list made with room (on one thread or several).
            assert!(out.capacity() >= n + 50, "{n}: capacity {}", out.capacity());
        }
    }

    #[test]
    fn first_error_in_item_order_wins() {
        let e = map((0..500).collect(), 8, |i: usize| {
            if i == 300 || i == 450 {
                Err(anyhow!("bad {i}"))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "bad 300");
    }

    #[test]
    fn small_inputs_and_empty() {
        assert_eq!(
            map(vec![1, 2, 3], 16, |i| Ok(i * 2)).unwrap(),
            vec![2, 4, 6]
        );
        assert!(map(Vec::<u8>::new(), 16, Ok).unwrap().is_empty());
        // min 0 is treated as 1.
        assert_eq!(map(vec![5], 0, Ok).unwrap(), vec![5]);
    }

    #[test]
    fn join_runs_both_and_raises_a_panic_of_either() {
        let data = [1, 2, 3];
        let (a, b) = join(|| data.iter().sum::<i32>(), || data.len());
        assert_eq!((a, b), (6, 3));
        for side in [0, 1] {
            let r = std::panic::catch_unwind(|| {
                join(
                    || assert!(side != 0, "boom a"),
                    || assert!(side != 1, "boom b"),
                )
            });
            assert!(r.is_err(), "side {side}");
        }
        // Still usable after a panic.
        assert_eq!(join(|| 1, || 2), (1, 2));
    }

    #[test]
    fn work_runs_on_the_caller_and_kept_helpers_only_and_nests() {
        let me = std::thread::current().id();
        let seen = Mutex::new(Vec::new());
        let out = map((0..64).collect(), 1, |i: usize| {
            let t = std::thread::current();
            seen.lock()
                .unwrap()
                .push((t.id() == me, t.name().map(str::to_string)));
            // Work started on a helper runs there, whole.
            let inner = map((0..8).collect(), 1, |j: usize| Ok(j * i))?;
            Ok(inner.iter().sum::<usize>())
        })
        .unwrap();
        assert_eq!(out[3], 28 * 3);
        for (caller, name) in seen.into_inner().unwrap() {
            assert!(
                caller || name.as_deref().is_some_and(|n| n.starts_with("kpipe-")),
                "{name:?}"
            );
        }
        // A join inside a join, from either side.
        let ((a, b), c) = join(|| join(|| 1, || 2), || join(|| 3, || 4).0);
        assert_eq!((a, b, c), (1, 2, 3));
    }

    #[test]
    fn a_panicking_item_is_an_error_not_a_crash() {
        let r = std::panic::catch_unwind(|| {
            map((0..400).collect(), 8, |i: usize| {
                if i == 399 {
                    panic!("boom");
                }
                Ok(i)
            })
        });
        // The panic is either caught from a worker (an error) or raised on this thread.
        if let Ok(res) = r {
            assert!(res.is_err());
        }
    }
}
