//! ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZRANDMEMBER
//! and ZSCAN.

use std::collections::HashSet;

use bytes::Bytes;
use starling_protocol::{format_double, Frame};

use super::parse::{format_g17, LexRange, ScoreRange};
use super::{member_frame, read_sorted_set};
use crate::commands::args::{integer, is_keyword, parse_i64};
use crate::commands::error::{CommandError, CommandResult};
use crate::commands::keys::parse_scan_cursor;
use crate::commands::random_reply::{bulk_reply_bytes, ReplyBudget, SMALLEST_BULK_REPLY_BYTES};
use crate::glob;
use crate::keyspace::sorted_set::{Entry, SortedSetValue};
use crate::shard::ShardCore;

/// `ZSCORE key member`
pub(super) fn zscore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let score = read_sorted_set(core, &args[1])?.and_then(|sorted_set| sorted_set.score(&args[2]));
    Ok(score.map_or(Frame::Null, Frame::Double))
}

/// `ZMSCORE key member [member ...]`
pub(super) fn zmscore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let sorted_set = read_sorted_set(core, &args[1])?;
    let scores = args[2..]
        .iter()
        .map(|member| {
            sorted_set
                .and_then(|sorted_set| sorted_set.score(member))
                .map_or(Frame::Null, Frame::Double)
        })
        .collect();
    Ok(Frame::Array(scores))
}

/// `ZCARD key`
pub(super) fn zcard(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let length = read_sorted_set(core, &args[1])?.map_or(0, SortedSetValue::len);
    Ok(Frame::Integer(length as i64))
}

/// `ZCOUNT key min max`: O(log n), from two rank lookups.
pub(super) fn zcount(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let range =
        ScoreRange::parse(&args[2], &args[3]).ok_or_else(|| CommandError::other("ERR min or max is not a float"))?;
    let Some(sorted_set) = read_sorted_set(core, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let start = sorted_set.count_prefix(|score, _| range.is_below(score));
    let end = sorted_set.count_prefix(|score, _| range.is_not_above(score));
    Ok(Frame::Integer(end.saturating_sub(start) as i64))
}

/// `ZLEXCOUNT key min max`
pub(super) fn zlexcount(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let range = LexRange::parse(&args[2], &args[3])
        .ok_or_else(|| CommandError::other("ERR min or max not valid string range item"))?;
    let Some(sorted_set) = read_sorted_set(core, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let start = sorted_set.count_prefix(|_, member| range.is_below(member));
    let end = sorted_set.count_prefix(|_, member| range.is_not_above(member));
    Ok(Frame::Integer(end.saturating_sub(start) as i64))
}

/// `ZRANK key member [WITHSCORE]`
pub(super) fn zrank(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    rank_generic(core, args, false)
}

/// `ZREVRANK key member [WITHSCORE]`
pub(super) fn zrevrank(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    rank_generic(core, args, true)
}

fn rank_generic(core: &mut ShardCore, args: &[Bytes], reverse: bool) -> CommandResult {
    let command_name = if reverse { "zrevrank" } else { "zrank" };
    if args.len() > 4 {
        return Err(CommandError::WrongArity(command_name.to_string()));
    }
    let with_score = match args.get(3) {
        None => false,
        Some(option) if is_keyword(option, "WITHSCORE") => true,
        Some(_) => return Err(CommandError::Syntax),
    };
    let missing = if with_score { Frame::NullArray } else { Frame::Null };
    let Some(sorted_set) = read_sorted_set(core, &args[1])? else {
        return Ok(missing);
    };
    let Some((rank, score)) = sorted_set.rank(&args[2]) else {
        return Ok(missing);
    };
    let rank = if reverse { sorted_set.len() - 1 - rank } else { rank };
    if with_score {
        return Ok(Frame::Array(vec![Frame::Integer(rank as i64), Frame::Double(score)]));
    }
    Ok(Frame::Integer(rank as i64))
}

/// The smallest reply of a score: `$1\r\n0\r\n` in RESP2.
const SMALLEST_SCORE_REPLY_BYTES: usize = 7;

/// `ZRANDMEMBER key [count [WITHSCORES]]`
///
/// Checks run in Redis's order: the count, the options, then the key. A
/// positive count gives distinct members (the whole set, highest first, when
/// it covers it); a negative one `-count` members that may repeat, within
/// the `ReplyBudget` (`random_reply.rs`).
pub(super) fn zrandmember(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        let Some(sorted_set) = read_sorted_set(core, &args[1])? else {
            return Ok(Frame::Null);
        };
        let rank = random_below(sorted_set.len());
        return Ok(member_frame(&sorted_set.entry_at(rank).member));
    }
    let count = integer(&args[2])?;
    if count == i64::MIN {
        return Err(CommandError::other(format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let with_scores = match args.len() {
        3 => false,
        4 if is_keyword(&args[3], "WITHSCORES") => true,
        _ => return Err(CommandError::Syntax),
    };
    if with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::other("ERR value is out of range"));
    }
    let mut budget = ReplyBudget::from_config(&core.config.load());
    let Some(sorted_set) = read_sorted_set(core, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    if count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    let picked: Vec<&Entry> = if count < 0 {
        let count = count.unsigned_abs();
        let score_bytes = if with_scores { SMALLEST_SCORE_REPLY_BYTES } else { 0 };
        budget.admit(count, SMALLEST_BULK_REPLY_BYTES + score_bytes as u64)?;
        let mut picked = Vec::with_capacity((count as usize).min(sorted_set.len()));
        for _ in 0..count {
            let entry = sorted_set.entry_at(random_below(sorted_set.len()));
            if !budget.charge(bulk_reply_bytes(entry.member.len()) + score_bytes) {
                return Err(budget.exceeded());
            }
            picked.push(entry);
        }
        picked
    } else {
        distinct_random_entries(sorted_set, count as u64)
    };
    Ok(random_reply(&picked, with_scores))
}

/// Up to `count` distinct elements: the whole set (highest first, as Redis
/// iterates) when `count` covers it, a random subset otherwise.
fn distinct_random_entries(sorted_set: &SortedSetValue, count: u64) -> Vec<&Entry> {
    let length = sorted_set.len();
    if count >= length as u64 {
        return sorted_set.range(0, length, true).collect();
    }
    let count = count as usize;
    // Redis's threshold: a large share is cheaper to pick by elimination.
    if count * 3 > length {
        let mut ranks: Vec<usize> = (0..length).collect();
        for index in 0..count {
            let swap_with = index + random_below(length - index);
            ranks.swap(index, swap_with);
        }
        return ranks[..count].iter().map(|&rank| sorted_set.entry_at(rank)).collect();
    }
    // A small share: random picks, retried on repeats; expected O(count).
    let mut seen = HashSet::with_capacity(count);
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        let rank = random_below(length);
        if seen.insert(rank) {
            picked.push(sorted_set.entry_at(rank));
        }
    }
    picked
}

fn random_reply(picked: &[&Entry], with_scores: bool) -> Frame {
    if with_scores {
        return Frame::Pairs(
            picked
                .iter()
                .map(|entry| (member_frame(&entry.member), Frame::Double(entry.score)))
                .collect(),
        );
    }
    Frame::Array(picked.iter().map(|entry| member_frame(&entry.member)).collect())
}

fn random_below(bound: usize) -> usize {
    debug_assert!(bound > 0);
    (rand::random::<u64>() % bound as u64) as usize
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// A listpack comes back whole with cursor 0; a skiplist is walked through
/// its member dict, whose cursor stays valid while the set changes. Scores are
/// shown as Redis stores them: the listpack's text (`d2string`), or `%.17g`
/// for a skiplist.
pub(super) fn zscan(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let cursor = parse_scan_cursor(&args[2]).ok_or_else(|| CommandError::other("ERR invalid cursor"))?;
    let Some(sorted_set) = read_sorted_set(core, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let mut count = 10usize;
    let mut pattern: Option<&Bytes> = None;
    let mut index = 3;
    while index < args.len() {
        let option = &args[index];
        let Some(argument) = args.get(index + 1) else {
            return Err(CommandError::Syntax);
        };
        if is_keyword(option, "COUNT") {
            let parsed = parse_i64(argument).ok_or(CommandError::NotInteger)?;
            if parsed < 1 {
                return Err(CommandError::Syntax);
            }
            count = usize::try_from(parsed).unwrap_or(usize::MAX);
        } else if is_keyword(option, "MATCH") {
            pattern = (argument.as_ref() != b"*").then_some(argument);
        } else {
            return Err(CommandError::Syntax);
        }
        index += 2;
    }
    let is_listpack = sorted_set.encoding_name() == "listpack";
    let mut elements = Vec::new();
    let next_cursor = sorted_set.scan(cursor, count, count.saturating_mul(10), |entry| {
        if pattern.is_some_and(|pattern| !glob::matches(pattern, &entry.member, false)) {
            return;
        }
        let score_text = if is_listpack {
            format_double(entry.score)
        } else {
            format_g17(entry.score)
        };
        elements.push(member_frame(&entry.member));
        elements.push(Frame::BulkString(Bytes::from(score_text)));
    });
    Ok(scan_reply(next_cursor, elements))
}

fn scan_reply(cursor: u64, elements: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::BulkString(Bytes::from(cursor.to_string())),
        Frame::Array(elements),
    ])
}
