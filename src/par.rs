//! An order-keeping parallel map for the two hot loops (sessions in `render`, resources in
//! `diff`). Items are handed out in small blocks from a shared queue rather than split into
//! fixed shares up front: on a shared machine one core is often slower than the other, and a
//! fixed half left to the slow core sets the wall time. The calling thread works too.

use anyhow::{anyhow, Result};
use std::sync::Mutex;

/// Maps `f` over `items`, consuming them, and returns the results in item order; the first
/// error in item order wins. Runs on one thread when there are fewer than `min_per_thread`
/// items per extra thread (then the CPU count is not even looked up).
pub fn map<T: Send, U: Send>(
    items: Vec<T>,
    min_per_thread: usize,
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
        return items.into_iter().map(f).collect();
    }
    // Blocks small enough to even out uneven cores, large enough that the lock stays cold.
    let block = (n / (threads * 16)).clamp(1, 64);
    let queue = Mutex::new(items.into_iter().enumerate());
    // Results go straight to their place: no per-thread lists growing past their guess, and no
    // second copy to put them in order (10,000 diff results are megabytes of fresh memory).
    let slots: Mutex<Vec<Option<Result<U>>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(n).collect());
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
    let panicked = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        work();
        // Every worker is joined: one that panicked unjoined would panic the scope.
        let mut panicked = false;
        for h in handles {
            panicked |= h.join().is_err();
        }
        panicked
    });
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
