//! The bound on replies that repeat elements: SRANDMEMBER, HRANDFIELD and
//! ZRANDMEMBER with a negative count.
//!
//! Such a reply's size is the client's count, not the collection's:
//! `SRANDMEMBER key -9223372036854775807` asks for more than any machine
//! holds. Redis 7.2 tries, streaming the reply until the client output buffer
//! limit closes the client or the process runs out of memory (cf.
//! CVE-2023-25155). Starling builds a reply in memory before sending it, so it
//! builds one only while its RESP size stays within the client output buffer
//! limit, or proto-max-bulk-len when no limit is set. Past that the command
//! fails, with the same error for all three commands:
//! `ERR value is out of range, the reply would exceed <limit>`.
//!
//! Callers check the count with `admit` before picking anything, preallocate
//! no more than the collection holds, and `charge` each pick as they build.

use super::error::CommandError;
use crate::config::RuntimeConfig;

/// The smallest a bulk string reply can be: `$0\r\n\r\n`.
pub const SMALLEST_BULK_REPLY_BYTES: u64 = 6;

/// RESP2 size of a bulk string reply of `len` bytes: `$<len>\r\n<bytes>\r\n`.
pub fn bulk_reply_bytes(len: usize) -> usize {
    len + len.checked_ilog10().unwrap_or(0) as usize + 1 + 5
}

/// How many reply bytes a command that repeats elements may still build.
#[derive(Clone, Copy, Debug)]
pub struct ReplyBudget {
    bytes_max: usize,
    bytes_used: usize,
    limit_name: &'static str,
}

impl ReplyBudget {
    pub fn from_config(config: &RuntimeConfig) -> ReplyBudget {
        let (bytes_max, limit_name) = if config.client_output_buffer_limit > 0 {
            (config.client_output_buffer_limit, "client-output-buffer-limit")
        } else {
            (config.proto_max_bulk_len, "proto-max-bulk-len")
        };
        ReplyBudget {
            bytes_max,
            bytes_used: 0,
            limit_name,
        }
    }

    pub fn exceeded(&self) -> CommandError {
        CommandError::other(format!(
            "ERR value is out of range, the reply would exceed {}",
            self.limit_name
        ))
    }

    /// Refuses `picks` picks at once when even a reply of `picks` picks of
    /// `smallest_pick_bytes` each would exceed the budget.
    pub fn admit(&self, picks: u64, smallest_pick_bytes: u64) -> Result<(), CommandError> {
        if picks.saturating_mul(smallest_pick_bytes) > self.bytes_max as u64 {
            return Err(self.exceeded());
        }
        Ok(())
    }

    /// Counts one pick of `bytes` reply bytes: false once the reply is over
    /// the budget.
    pub fn charge(&mut self, bytes: usize) -> bool {
        self.bytes_used = self.bytes_used.saturating_add(bytes);
        self.bytes_used <= self.bytes_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_reply_sizes_count_the_length_digits() {
        assert_eq!(bulk_reply_bytes(0), 6);
        assert_eq!(bulk_reply_bytes(1), 7);
        assert_eq!(bulk_reply_bytes(10), 17);
        assert_eq!(bulk_reply_bytes(100), 108);
    }

    #[test]
    fn the_budget_admits_what_fits_and_charges_until_it_is_spent() {
        let mut budget = ReplyBudget {
            bytes_max: 60,
            bytes_used: 0,
            limit_name: "client-output-buffer-limit",
        };
        assert!(budget.admit(10, SMALLEST_BULK_REPLY_BYTES).is_ok());
        assert!(budget.admit(11, SMALLEST_BULK_REPLY_BYTES).is_err());
        assert!(budget.admit(u64::MAX, 12).is_err());
        assert!(budget.charge(50));
        assert!(budget.charge(10));
        assert!(!budget.charge(1));
        assert_eq!(
            budget.exceeded(),
            CommandError::other("ERR value is out of range, the reply would exceed client-output-buffer-limit")
        );
    }
}
