//! ZADD, ZINCRBY, ZREM and the ZREMRANGEBY* commands.

use bytes::Bytes;
use starling_protocol::Frame;

use super::parse::{parse_score, LexRange, ScoreRange};
use super::{listpack_limits, rank_window, write_sorted_set};
use crate::commands::args::{integer, is_keyword};
use crate::commands::error::{CommandError, CommandResult};
use crate::keyspace::sorted_set::{ListpackLimits, SortedSetValue};
use crate::keyspace::Value;
use crate::shard::ShardCore;

/// The flags of ZADD (ZINCRBY is ZADD with INCR and nothing else).
#[derive(Clone, Copy, Debug, Default)]
struct AddOptions {
    only_new: bool,
    only_existing: bool,
    only_greater: bool,
    only_less: bool,
    count_changed: bool,
    increment: bool,
}

/// What applying ZADD's pairs did.
#[derive(Debug, Default)]
struct AddOutcome {
    added: i64,
    updated: i64,
    /// Pairs that were not skipped by NX, XX, GT or LT.
    processed: i64,
    /// The score of the last pair processed (the INCR reply).
    last_score: f64,
}

const NAN_SCORE_ERROR: &str = "ERR resulting score is not a number (NaN)";

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
pub(super) fn zadd(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    add_generic(core, args, AddOptions::default())
}

/// `ZINCRBY key increment member`
pub(super) fn zincrby(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    add_generic(
        core,
        args,
        AddOptions {
            increment: true,
            ..AddOptions::default()
        },
    )
}

/// Redis's `zaddGenericCommand`: flags, then pairs; every check runs before
/// the key is touched, and a NaN produced by INCR stops the command.
fn add_generic(core: &mut ShardCore, args: &[Bytes], mut options: AddOptions) -> CommandResult {
    let key = &args[1];
    let mut score_index = 2;
    while score_index < args.len() {
        let option = &args[score_index];
        if is_keyword(option, "NX") {
            options.only_new = true;
        } else if is_keyword(option, "XX") {
            options.only_existing = true;
        } else if is_keyword(option, "CH") {
            options.count_changed = true;
        } else if is_keyword(option, "INCR") {
            options.increment = true;
        } else if is_keyword(option, "GT") {
            options.only_greater = true;
        } else if is_keyword(option, "LT") {
            options.only_less = true;
        } else {
            break;
        }
        score_index += 1;
    }
    let pair_arguments = &args[score_index..];
    if pair_arguments.is_empty() || !pair_arguments.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    if options.only_new && options.only_existing {
        return Err(CommandError::other(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    let greater_or_less = options.only_greater || options.only_less;
    if (greater_or_less && options.only_new) || (options.only_greater && options.only_less) {
        return Err(CommandError::other(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if options.increment && pair_arguments.len() > 2 {
        return Err(CommandError::other(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = pair_arguments
        .iter()
        .step_by(2)
        .map(|score| parse_score(score).ok_or(CommandError::NotFloat))
        .collect::<Result<Vec<f64>, CommandError>>()?;
    let members = pair_arguments.iter().skip(1).step_by(2);

    let limits = listpack_limits(core);
    let outcome = match write_sorted_set(core, key)? {
        Some(sorted_set) => apply_pairs(sorted_set, &options, &scores, members, limits)?,
        None if options.only_existing => AddOutcome::default(),
        None => {
            let first_member_bytes = pair_arguments[1].len();
            let mut sorted_set = SortedSetValue::with_hint(limits, scores.len(), first_member_bytes);
            let applied = apply_pairs(&mut sorted_set, &options, &scores, members, limits);
            if !sorted_set.is_empty() {
                let now_ms = core.now_ms;
                core.keyspace
                    .set(key, Value::SortedSet(Box::new(sorted_set)), false, now_ms);
            }
            applied?
        }
    };
    if options.increment {
        return Ok(if outcome.processed > 0 {
            Frame::Double(outcome.last_score)
        } else {
            Frame::Null
        });
    }
    let reply = if options.count_changed {
        outcome.added + outcome.updated
    } else {
        outcome.added
    };
    Ok(Frame::Integer(reply))
}

/// Redis's `zsetAdd` for each pair, in order.
fn apply_pairs<'a>(
    sorted_set: &mut SortedSetValue,
    options: &AddOptions,
    scores: &[f64],
    members: impl Iterator<Item = &'a Bytes>,
    limits: ListpackLimits,
) -> Result<AddOutcome, CommandError> {
    let mut outcome = AddOutcome::default();
    for (&given_score, member) in scores.iter().zip(members) {
        let Some(current_score) = sorted_set.score(member) else {
            if options.only_existing {
                continue;
            }
            sorted_set.insert_new(member, given_score, limits);
            outcome.added += 1;
            outcome.processed += 1;
            outcome.last_score = given_score;
            continue;
        };
        if options.only_new {
            continue;
        }
        let new_score = if options.increment {
            let sum = current_score + given_score;
            if sum.is_nan() {
                return Err(CommandError::other(NAN_SCORE_ERROR));
            }
            sum
        } else {
            given_score
        };
        if (options.only_less && new_score >= current_score) || (options.only_greater && new_score <= current_score) {
            continue;
        }
        outcome.processed += 1;
        outcome.last_score = new_score;
        if new_score != current_score {
            sorted_set.change_score(member, current_score, new_score);
            outcome.updated += 1;
        }
    }
    Ok(outcome)
}

/// `ZREM key member [member ...]`
pub(super) fn zrem(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(sorted_set) = write_sorted_set(core, key)? else {
        return Ok(Frame::Integer(0));
    };
    let mut removed = 0;
    for member in &args[2..] {
        if sorted_set.remove(member).is_some() {
            removed += 1;
        }
        if sorted_set.is_empty() {
            break;
        }
    }
    if sorted_set.is_empty() {
        core.keyspace.remove(key);
    }
    Ok(Frame::Integer(removed))
}

/// `ZREMRANGEBYSCORE key min max`
pub(super) fn zremrangebyscore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let range =
        ScoreRange::parse(&args[2], &args[3]).ok_or_else(|| CommandError::other("ERR min or max is not a float"))?;
    remove_window(core, &args[1], |sorted_set| {
        let start = sorted_set.count_prefix(|score, _| range.is_below(score));
        let end = sorted_set.count_prefix(|score, _| range.is_not_above(score));
        Some((start, end.max(start)))
    })
}

/// `ZREMRANGEBYRANK key start stop`
pub(super) fn zremrangebyrank(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let start = integer(&args[2])?;
    let stop = integer(&args[3])?;
    remove_window(core, &args[1], |sorted_set| rank_window(start, stop, sorted_set.len()))
}

/// `ZREMRANGEBYLEX key min max`
pub(super) fn zremrangebylex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let range = LexRange::parse(&args[2], &args[3])
        .ok_or_else(|| CommandError::other("ERR min or max not valid string range item"))?;
    remove_window(core, &args[1], |sorted_set| {
        let start = sorted_set.count_prefix(|_, member| range.is_below(member));
        let end = sorted_set.count_prefix(|_, member| range.is_not_above(member));
        Some((start, end.max(start)))
    })
}

/// Removes the ascending ranks `window` picks, deleting the key if it empties.
fn remove_window(
    core: &mut ShardCore,
    key: &[u8],
    window: impl FnOnce(&SortedSetValue) -> Option<(usize, usize)>,
) -> CommandResult {
    let Some(sorted_set) = write_sorted_set(core, key)? else {
        return Ok(Frame::Integer(0));
    };
    let Some((start, end)) = window(sorted_set) else {
        return Ok(Frame::Integer(0));
    };
    sorted_set.remove_range(start, end, drop);
    if sorted_set.is_empty() {
        core.keyspace.remove(key);
    }
    Ok(Frame::Integer((end - start) as i64))
}
