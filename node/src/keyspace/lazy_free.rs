//! Freeing large values off the shard threads, as Redis's lazyfree does:
//! one background thread drops what it is sent.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use super::record::Record;

/// Hands `records` to the lazy-free thread (started on first use). Dropped
/// here instead if that thread cannot be started.
pub fn drop_later(records: Vec<Record>) {
    if records.is_empty() {
        return;
    }
    static LAZY_FREE_TX: OnceLock<Option<Mutex<Sender<Vec<Record>>>>> = OnceLock::new();
    let sender_opt = LAZY_FREE_TX.get_or_init(|| {
        let (records_tx, records_rx) = channel::<Vec<Record>>();
        std::thread::Builder::new()
            .name("lazy-free".into())
            .spawn(move || {
                for records in records_rx {
                    drop(records);
                }
            })
            .ok()
            .map(|_| Mutex::new(records_tx))
    });
    if let Some(sender) = sender_opt {
        let sent = sender.lock().map(|sender| sender.send(records));
        debug_assert!(
            matches!(sent, Ok(Ok(()))),
            "the lazy-free thread runs for the process's life"
        );
    }
}
