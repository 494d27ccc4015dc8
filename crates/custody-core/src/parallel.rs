//! Order-keeping work across cores, where a panicking worker fails the whole run.
//!
//! Verification spreads per-item checks over every core. A worker that panics must never
//! read as "this slice had no findings": [`map_chunks`] re-raises the worker's panic on the
//! calling thread ([`std::panic::resume_unwind`]) after every worker has stopped, so the run
//! fails exactly as if the work had been done on one thread.
//!
//! Sealing and acquiring many small files use [`pipeline`]: worker threads read and hash
//! the next few files while the calling thread consumes the finished ones strictly in
//! order (writing them into the archive), with a fixed bound on how far the workers run
//! ahead, so memory stays bounded whatever the number of files.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

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

/// Shared state of one [`pipeline`] run.
struct Flow<R> {
    /// Index of the next item a worker will take.
    next: usize,
    /// Index of the next item the consumer waits for.
    consumed: usize,
    /// Results not yet consumed, by index.
    ready: BTreeMap<usize, R>,
    /// Set when the consumer stopped early (an error) or a worker panicked.
    stop: bool,
    /// Set by a worker that panicked.
    panicked: bool,
    /// The consumer is waiting on `done`.
    consumer_waits: bool,
    /// Workers waiting on `space`.
    workers_waiting: usize,
}

/// Sets the pipeline's `panicked` flag if the worker holding it unwinds, so that the
/// consumer never waits for a result that will not come.
struct PanicFlag<'a, R> {
    flow: &'a Mutex<Flow<R>>,
    wake: &'a Condvar,
}

impl<R> Drop for PanicFlag<'_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut flow = lock(self.flow);
            flow.panicked = true;
            flow.stop = true;
            drop(flow);
            self.wake.notify_all();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked never holds the lock while it unwinds through user code.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `work` on every item on the machine's cores, at most `ahead` items beyond the one
/// being consumed, and hands each result to `consume` on the calling thread **in the
/// order of `items`**. The first error `consume` returns stops the run (workers finish
/// the item they hold and take no more) and is returned. A panic in a worker is re-raised
/// on the calling thread once every worker has stopped. With one core, or fewer than two
/// items, everything runs on the calling thread.
///
/// Memory is bounded by `ahead + threads()` results held at once.
pub fn pipeline<T: Sync, R: Send, E>(
    items: &[T],
    ahead: usize,
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(&T, R) -> Result<(), E>,
) -> Result<(), E> {
    let workers = threads();
    if workers <= 1 || items.len() < 2 {
        for item in items {
            consume(item, work(item))?;
        }
        return Ok(());
    }
    let ahead = ahead.max(1);
    let flow = Mutex::new(Flow {
        next: 0,
        consumed: 0,
        ready: BTreeMap::new(),
        stop: false,
        panicked: false,
        consumer_waits: false,
        workers_waiting: 0,
    });
    // Workers wait on `space` for room ahead; the consumer waits on `done` for its next
    // result. Each side wakes the other only when it is waiting (recorded under the lock
    // before it waits): a wake-up is a system call, and with many small items one per item
    // cost more than the items.
    let space = Condvar::new();
    let done = Condvar::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let _flag = PanicFlag {
                        flow: &flow,
                        wake: &done,
                    };
                    loop {
                        let index = {
                            let mut f = lock(&flow);
                            loop {
                                if f.stop || f.next >= items.len() {
                                    return;
                                }
                                if f.next < f.consumed + ahead {
                                    break;
                                }
                                f.workers_waiting += 1;
                                f = space.wait(f).unwrap_or_else(PoisonError::into_inner);
                                f.workers_waiting -= 1;
                            }
                            f.next += 1;
                            f.next - 1
                        };
                        let result = work(&items[index]);
                        let mut f = lock(&flow);
                        f.ready.insert(index, result);
                        let wake = f.consumer_waits;
                        drop(f);
                        if wake {
                            done.notify_all();
                        }
                    }
                })
            })
            .collect();
        let outcome = (|| {
            for (index, item) in items.iter().enumerate() {
                let (result, wake) = {
                    let mut f = lock(&flow);
                    loop {
                        if let Some(result) = f.ready.remove(&index) {
                            f.consumed = index + 1;
                            break (result, f.workers_waiting > 0);
                        }
                        if f.panicked {
                            return Ok(());
                        }
                        f.consumer_waits = true;
                        f = done.wait(f).unwrap_or_else(PoisonError::into_inner);
                        f.consumer_waits = false;
                    }
                };
                if wake {
                    space.notify_all();
                }
                consume(item, result)?;
            }
            Ok(())
        })();
        lock(&flow).stop = true;
        space.notify_all();
        // Join every worker before re-raising, so no worker outlives the failure unobserved.
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        for outcome in joined {
            if let Err(payload) = outcome {
                std::panic::resume_unwind(payload);
            }
        }
        outcome
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

    #[test]
    fn pipeline_consumes_in_order_with_bounded_look_ahead() {
        let items: Vec<u32> = (0..2_000).collect();
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let mut seen = Vec::new();
        let outcome: Result<(), ()> = pipeline(
            &items,
            8,
            |x| {
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                x * 3
            },
            |item, tripled| {
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                assert_eq!(tripled, item * 3);
                seen.push(*item);
                Ok(())
            },
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(seen, items);
        // Results computed but not yet consumed never exceed the look-ahead plus one being
        // consumed and one per worker.
        assert!(most.into_inner() <= 8 + 1 + threads());
    }

    /// Workers and consumer wake each other only when one waits: with a look-ahead of one
    /// and uneven work on both sides every kind of wait happens many times, and a wake-up
    /// lost would hang the run here.
    #[test]
    fn pipeline_with_uneven_work_and_no_room_ahead_finishes_in_order() {
        let items: Vec<u64> = (0..3_000).collect();
        let spin = |n: u64| (0..n % 7 * 50).fold(n, |a, b| a.wrapping_mul(31).wrapping_add(b));
        for ahead in [1, 2] {
            let mut seen = Vec::new();
            let outcome: Result<(), ()> = pipeline(
                &items,
                ahead,
                |x| (*x, spin(*x)),
                |item, (x, _)| {
                    std::hint::black_box(spin(x / 3));
                    assert_eq!(x, *item);
                    seen.push(x);
                    Ok(())
                },
            );
            assert_eq!(outcome, Ok(()));
            assert_eq!(seen, items);
        }
    }

    #[test]
    fn fail_a_consumer_error_stops_the_pipeline() {
        let items: Vec<u32> = (0..10_000).collect();
        let worked = std::sync::atomic::AtomicUsize::new(0);
        let outcome = pipeline(
            &items,
            4,
            |x| {
                worked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                *x
            },
            |item, _| if *item == 10 { Err(*item) } else { Ok(()) },
        );
        assert_eq!(outcome, Err(10));
        // Workers stopped within the look-ahead of the failing item.
        assert!(worked.into_inner() <= 11 + 4 + threads());
    }

    #[test]
    fn fail_a_panicking_pipeline_worker_fails_the_run() {
        let items: Vec<u32> = (0..1_000).collect();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pipeline(
                &items,
                4,
                |x| {
                    if *x == 500 {
                        panic!("injected pipeline failure");
                    }
                    *x
                },
                |_, _| Ok::<(), ()>(()),
            )
        }));
        let payload = outcome.expect_err("a worker panic must fail the run");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"injected pipeline failure")
        );
    }
}
