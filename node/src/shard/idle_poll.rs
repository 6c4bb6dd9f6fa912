//! Polling a busy shard thread instead of letting it sleep between requests.
//!
//! A shard thread that runs out of work sleeps in `epoll_wait`. The next
//! request must then wake it: the client's `send` (or another shard's
//! mailbox push) pays for the wake-up, an inter-processor interrupt that a
//! virtual machine turns into exits on both sides, and the request waits
//! for the sleeping core to come back. Under a steady stream of small
//! requests that happens thousands of times a second: profiling
//! `redis-benchmark -P 1` showed a tenth of the client's CPU time spent
//! waking the server.
//!
//! So, as Seastar's reactor and Dragonfly's proactor do, a shard thread that
//! has just had work keeps polling for a short window (`idle-poll-us`) before
//! it sleeps: the poller task yields to the runtime, which checks its sockets
//! and channels without blocking, and gives the core away to any other
//! runnable thread (`sched_yield`) so that a machine with more threads than
//! cores loses nothing. An idle server sleeps as before: the window starts
//! again only when work arrives (`note_work`).

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::config::SharedConfig;

/// How often a poller whose window is 0 (disabled) looks again at the
/// configuration, so that CONFIG SET idle-poll-us takes effect.
const DISABLED_RECHECK: Duration = Duration::from_secs(1);

#[derive(Default)]
struct ThreadState {
    /// Units of work this thread has started: reads and mailbox batches.
    work: Cell<u64>,
    /// The poller, when it sleeps waiting for work.
    sleeping_poller: RefCell<Option<Waker>>,
}

thread_local! {
    static STATE: ThreadState = ThreadState::default();
}

/// Records that this thread has work (a request read, a batch from another
/// shard): a sleeping poller wakes, a polling one restarts its window.
pub fn note_work() {
    STATE.with(|state| {
        state.work.set(state.work.get().wrapping_add(1));
        if let Some(waker) = state.sleeping_poller.borrow_mut().take() {
            waker.wake();
        }
    });
}

fn work_count() -> u64 {
    STATE.with(|state| state.work.get())
}

/// Resolves once `note_work` has been called after `seen` was read.
async fn work_after(seen: u64) {
    poll_fn(|context| {
        STATE.with(|state| {
            if state.work.get() != seen {
                return Poll::Ready(());
            }
            *state.sleeping_poller.borrow_mut() = Some(context.waker().clone());
            Poll::Pending
        })
    })
    .await
}

/// One turn of polling: let every other task of this thread run and the
/// runtime check its sockets and channels without blocking (a deferred
/// wake-up), and let other threads have the core if they are waiting for it.
async fn poll_once() {
    std::thread::yield_now();
    tokio::task::yield_now().await;
}

/// The poller of the current shard thread; spawned once per shard thread,
/// it runs until the thread stops.
pub async fn run(config: SharedConfig) {
    let mut seen = work_count();
    loop {
        let window = Duration::from_micros(config.load().idle_poll_us);
        if window.is_zero() {
            tokio::time::sleep(DISABLED_RECHECK).await;
            seen = work_count();
            continue;
        }
        work_after(seen).await;
        seen = work_count();
        let mut last_work = Instant::now();
        loop {
            poll_once().await;
            let now_seen = work_count();
            if now_seen != seen {
                seen = now_seen;
                last_work = Instant::now();
            } else if last_work.elapsed() >= window {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RuntimeConfig;
    use std::sync::Arc;

    fn config(idle_poll_us: u64) -> SharedConfig {
        Arc::new(arc_swap::ArcSwap::from_pointee(RuntimeConfig {
            idle_poll_us,
            ..RuntimeConfig::default()
        }))
    }

    /// Runs `body` on a fresh current-thread runtime, as a shard thread is.
    fn on_shard_thread<F: std::future::Future>(body: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&runtime, body)
    }

    #[test]
    fn the_poller_sleeps_until_work_and_polls_for_its_window_after_it() {
        on_shard_thread(async {
            let poller = tokio::task::spawn_local(run(config(50)));
            tokio::task::yield_now().await;
            assert!(
                STATE.with(|state| state.sleeping_poller.borrow().is_some()),
                "with no work, the poller sleeps"
            );
            note_work();
            assert!(
                STATE.with(|state| state.sleeping_poller.borrow().is_none()),
                "work wakes the poller"
            );
            // The window is measured on the real clock: wait until the
            // poller sleeps again, which it must do once 50 us pass without work.
            let started = Instant::now();
            loop {
                tokio::task::yield_now().await;
                if STATE.with(|state| state.sleeping_poller.borrow().is_some()) {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the poller never slept again"
                );
            }
            assert!(
                started.elapsed() >= Duration::from_micros(50),
                "slept before its window ended"
            );
            poller.abort();
        });
    }

    #[test]
    fn a_zero_window_disables_polling_until_the_config_changes() {
        on_shard_thread(async {
            let shared = config(0);
            let poller = tokio::task::spawn_local(run(shared.clone()));
            tokio::task::yield_now().await;
            note_work();
            tokio::task::yield_now().await;
            assert!(
                STATE.with(|state| state.sleeping_poller.borrow().is_none()),
                "a disabled poller does not wait for work"
            );
            shared.rcu(|current| RuntimeConfig {
                idle_poll_us: 50,
                ..(**current).clone()
            });
            // Paused clock: the recheck timer fires as soon as the thread idles.
            tokio::time::sleep(DISABLED_RECHECK).await;
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            assert!(
                STATE.with(|state| state.sleeping_poller.borrow().is_some()),
                "after CONFIG SET, the poller waits for work"
            );
            poller.abort();
        });
    }
}
