//! Counting what a run saw: per-command latency histograms (HdrHistogram,
//! microseconds), error counts by kind, and redirects.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use starling_protocol::Frame;

use crate::client::{Outcome, RedirectCounts};

/// Latencies above this are clamped (recorded as the maximum).
const LATENCY_MAX_MICROS: u64 = 60 * 1_000_000;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_MICROS, 3).expect("valid histogram bounds")
}

/// One command's results.
#[derive(Clone, Debug)]
pub struct CommandStats {
    pub name: String,
    pub latency_micros: Histogram<u64>,
    /// Requests with a non-error reply.
    pub ok: u64,
    /// Error replies and transport failures, by kind (`ERR`, `WRONGTYPE`, `MOVED`, `timeout`...).
    pub errors: BTreeMap<String, u64>,
    /// MOVED and ASK replies followed on the way to the outcome.
    pub redirects: u64,
}

impl CommandStats {
    pub fn new(name: &str) -> CommandStats {
        CommandStats {
            name: name.to_string(),
            latency_micros: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            redirects: 0,
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Every request that finished, successfully or not.
    pub fn total(&self) -> u64 {
        self.ok + self.error_count()
    }

    pub fn record(&mut self, outcome: &Outcome, redirects: u32, latency_micros: u64) {
        self.latency_micros.saturating_record(latency_micros.max(1));
        self.redirects += u64::from(redirects);
        match error_kind(outcome) {
            None => self.ok += 1,
            Some(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: &CommandStats) {
        self.latency_micros
            .add(&other.latency_micros)
            .expect("same histogram bounds");
        self.ok += other.ok;
        self.redirects += other.redirects;
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += count;
        }
    }
}

/// The kind an outcome counts under, or `None` for success: the first word
/// of an error reply (`ERR`, `WRONGTYPE`, `MOVED`...) or the transport failure.
pub fn error_kind(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Reply(Frame::Error(message)) => {
            let first_word = message.split(|&byte| byte == b' ').next().unwrap_or_default();
            Some(String::from_utf8_lossy(first_word).into_owned())
        }
        Outcome::Reply(_) => None,
        Outcome::Unsent(kind) => Some(format!("unsent:{kind}")),
        Outcome::Indeterminate(kind) => Some(format!("indeterminate:{kind}")),
    }
}

/// Everything one client (or a whole run, once merged) counted.
#[derive(Clone, Debug)]
pub struct RunStats {
    pub commands: Vec<CommandStats>,
    pub redirects: RedirectCounts,
}

impl RunStats {
    pub fn new(command_names: &[String]) -> RunStats {
        RunStats {
            commands: command_names.iter().map(|name| CommandStats::new(name)).collect(),
            redirects: RedirectCounts::default(),
        }
    }

    pub fn merge(&mut self, other: &RunStats) {
        for (mine, theirs) in self.commands.iter_mut().zip(&other.commands) {
            mine.merge(theirs);
        }
        self.redirects.add(&other.redirects);
    }

    /// All commands together.
    pub fn combined(&self) -> CommandStats {
        let mut all = CommandStats::new("ALL");
        for command in &self.commands {
            all.merge(command);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn outcomes_are_counted_by_kind() {
        let mut stats = CommandStats::new("GET");
        stats.record(&Outcome::Reply(Frame::Null), 2, 100);
        stats.record(
            &Outcome::Reply(Frame::Error(Bytes::from_static(b"MOVED 1 h:1"))),
            0,
            200,
        );
        stats.record(&Outcome::Reply(Frame::Error(Bytes::from_static(b"ERR x"))), 0, 300);
        stats.record(&Outcome::Indeterminate("timeout"), 0, 400);
        stats.record(&Outcome::Unsent("io"), 0, 0);
        assert_eq!(stats.ok, 1);
        assert_eq!(stats.total(), 5);
        assert_eq!(stats.errors["MOVED"], 1);
        assert_eq!(stats.errors["ERR"], 1);
        assert_eq!(stats.errors["indeterminate:timeout"], 1);
        assert_eq!(stats.errors["unsent:io"], 1);
        assert_eq!(stats.latency_micros.len(), 5);
        assert_eq!(stats.latency_micros.max(), 400);
        assert_eq!(stats.redirects, 2);
    }

    #[test]
    fn merging_adds_counts_and_latencies() {
        let names = vec!["GET".to_string(), "SET".to_string()];
        let mut total = RunStats::new(&names);
        let mut part = RunStats::new(&names);
        part.commands[1].record(&Outcome::Reply(Frame::ok()), 1, 50);
        part.redirects.moved = 2;
        total.merge(&part);
        total.merge(&part);
        assert_eq!(total.commands[1].ok, 2);
        assert_eq!(total.commands[1].redirects, 2);
        assert_eq!(total.redirects.moved, 4);
        assert_eq!(total.combined().total(), 2);
    }
}
