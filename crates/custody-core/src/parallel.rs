//! Order-keeping work across cores, where a panicking worker fails the whole run.
//!
//! Verification spreads per-item checks over every core. A worker that panics must never
//! read as "this slice had no findings": [`map_chunks`] re-raises the worker's panic on the
//! calling thread ([`std::panic::resume_unwind`]) after every worker has stopped, so the run
//! fails exactly as if the work had been done on one thread.

/// Below this many items, work stays on the calling thread (spawning costs more than it saves).
pub const MIN_PARALLEL_ITEMS: usize = 64;

/// How many worker threads the machine offers (at least one).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `f` over contiguous slices of `items`, one per core, and concatenates the results in
/// the order of `items`. A panic in any worker is re-raised on the calling thread once all
/// workers have finished; no partial result is ever returned.
pub fn map_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    let n = threads().min(items.len());
    if items.len() < MIN_PARALLEL_ITEMS || n <= 1 {
        return f(items);
    }
    let per = items.len().div_ceil(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(|| f(part)))
            .collect();
        // Join every worker before re-raising, so no worker outlives the failure unobserved.
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let mut results = Vec::with_capacity(items.len());
        for outcome in joined {
            match outcome {
                Ok(part) => results.extend(part),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    #[test]
    fn keeps_the_order_of_the_items() {
        let items: Vec<u32> = (0..10_000).collect();
        let doubled = map_chunks(&items, |part| part.iter().map(|x| x * 2).collect());
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let few: Vec<u32> = (0..3).collect();
        assert_eq!(map_chunks(&few, <[u32]>::to_vec), few);
    }

    #[test]
    fn fail_a_panicking_worker_fails_the_run() {
        let items: Vec<u32> = (0..10_000).collect();
        // The worker whose slice holds item 9_999 panics; the others finish normally.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            map_chunks(&items, |part| {
                if part.contains(&9_999) {
                    panic!("injected worker failure");
                }
                part.to_vec()
            })
        }));
        let payload = outcome.expect_err("a worker panic must fail the run");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"injected worker failure")
        );
    }

    #[test]
    fn fail_a_panic_on_the_calling_thread_path_fails_the_run() {
        let items: Vec<u32> = (0..3).collect();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            map_chunks(&items, |_| -> Vec<u32> { panic!("injected") })
        }));
        assert!(outcome.is_err());
    }
}
