//! The ZRANGE family: ZRANGE (BYSCORE | BYLEX, REV, LIMIT, WITHSCORES),
//! ZRANGESTORE, and the older ZREVRANGE, Z[REV]RANGEBYSCORE and
//! Z[REV]RANGEBYLEX, which are ZRANGE with the range type or the direction
//! fixed (so `ZREVRANGE key 0 -1 REV` is a syntax error, as in Redis).
//!
//! Every range becomes a window of ascending ranks found in O(log n), then
//! the elements are read in order from there.

use bytes::Bytes;
use starling_protocol::Frame;

use super::parse::{LexRange, ScoreRange};
use super::{entries_reply, rank_window, read_sorted_set, store_entries};
use crate::commands::args::{integer, is_keyword};
use crate::commands::error::{CommandError, CommandResult};
use crate::keyspace::sorted_set::{Entry, SortedSetValue};
use crate::shard::ShardCore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeKind {
    /// Not given yet: ZRANGE's default is by rank.
    Unset,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Unset,
    Forward,
    Reverse,
}

/// A parsed range, ready to resolve against a set.
enum Bounds {
    Rank { start: i64, stop: i64 },
    Score(ScoreRange),
    Lex(LexRange),
}

/// The elements a range picks: ascending ranks `start..end`, read highest
/// first when `reverse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Selection {
    start: usize,
    end: usize,
    reverse: bool,
}

impl Selection {
    const EMPTY: Selection = Selection {
        start: 0,
        end: 0,
        reverse: false,
    };
}

/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub(super) fn zrange(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, None, RangeKind::Unset, Direction::Unset)
}

/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
pub(super) fn zrangestore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, Some(&args[1]), RangeKind::Unset, Direction::Unset)
}

/// `ZREVRANGE key start stop [WITHSCORES]`
pub(super) fn zrevrange(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, None, RangeKind::Rank, Direction::Reverse)
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
pub(super) fn zrangebyscore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, None, RangeKind::Score, Direction::Forward)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
pub(super) fn zrevrangebyscore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, None, RangeKind::Score, Direction::Reverse)
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
pub(super) fn zrangebylex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, None, RangeKind::Lex, Direction::Forward)
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
pub(super) fn zrevrangebylex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    range_generic(core, args, None, RangeKind::Lex, Direction::Reverse)
}

/// Redis's `zrangeGenericCommand`: options, conflicts, bounds, then the key.
fn range_generic(
    core: &mut ShardCore,
    args: &[Bytes],
    destination: Option<&Bytes>,
    mut kind: RangeKind,
    mut direction: Direction,
) -> CommandResult {
    let key_index = if destination.is_some() { 2 } else { 1 };
    let mut with_scores = false;
    let mut offset = 0i64;
    let mut limit = -1i64;
    let mut index = key_index + 3;
    while index < args.len() {
        let option = &args[index];
        let arguments_left = args.len() - index - 1;
        if destination.is_none() && is_keyword(option, "WITHSCORES") {
            with_scores = true;
        } else if is_keyword(option, "LIMIT") && arguments_left >= 2 {
            offset = integer(&args[index + 1])?;
            limit = integer(&args[index + 2])?;
            index += 2;
        } else if direction == Direction::Unset && is_keyword(option, "REV") {
            direction = Direction::Reverse;
        } else if kind == RangeKind::Unset && is_keyword(option, "BYLEX") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Unset && is_keyword(option, "BYSCORE") {
            kind = RangeKind::Score;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    let reverse = direction == Direction::Reverse;
    if kind == RangeKind::Unset {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CommandError::other(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == RangeKind::Lex {
        return Err(CommandError::other(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // A reversed score or lex range is written max first.
    let (min, max) = if reverse && kind != RangeKind::Rank {
        (&args[key_index + 2], &args[key_index + 1])
    } else {
        (&args[key_index + 1], &args[key_index + 2])
    };
    let bounds = match kind {
        RangeKind::Score => Bounds::Score(
            ScoreRange::parse(min, max).ok_or_else(|| CommandError::other("ERR min or max is not a float"))?,
        ),
        RangeKind::Lex => Bounds::Lex(
            LexRange::parse(min, max)
                .ok_or_else(|| CommandError::other("ERR min or max not valid string range item"))?,
        ),
        RangeKind::Rank | RangeKind::Unset => Bounds::Rank {
            start: integer(min)?,
            stop: integer(max)?,
        },
    };

    let Some(sorted_set) = read_sorted_set(core, &args[key_index])? else {
        return Ok(match destination {
            Some(destination) => store_entries(core, destination, Vec::new()),
            None => Frame::Array(Vec::new()),
        });
    };
    let selection = select(sorted_set, &bounds, reverse, offset, limit);
    let picked = sorted_set.range(selection.start, selection.end, selection.reverse);
    let Some(destination) = destination else {
        return Ok(entries_reply(picked, with_scores));
    };
    let mut entries: Vec<Entry> = picked.cloned().collect();
    if selection.reverse {
        entries.reverse();
    }
    Ok(store_entries(core, destination, entries))
}

/// Resolves `bounds` to the ranks they pick, applying LIMIT as Redis does: a
/// negative offset picks nothing, a negative count means no limit.
fn select(sorted_set: &SortedSetValue, bounds: &Bounds, reverse: bool, offset: i64, limit: i64) -> Selection {
    let length = sorted_set.len();
    let (start, end) = match bounds {
        Bounds::Rank { start, stop } => {
            let Some((first, last)) = rank_window(*start, *stop, length) else {
                return Selection::EMPTY;
            };
            // Ranks of a reversed rank range count from the highest element.
            let (start, end) = if reverse {
                (length - last, length - first)
            } else {
                (first, last)
            };
            return Selection { start, end, reverse };
        }
        Bounds::Score(range) => {
            let start = sorted_set.count_prefix(|score, _| range.is_below(score));
            let end = sorted_set.count_prefix(|score, _| range.is_not_above(score));
            (start, end.max(start))
        }
        Bounds::Lex(range) => {
            let start = sorted_set.count_prefix(|_, member| range.is_below(member));
            let end = sorted_set.count_prefix(|_, member| range.is_not_above(member));
            (start, end.max(start))
        }
    };
    let in_range = end - start;
    if offset < 0 || offset as u64 >= in_range as u64 {
        return Selection::EMPTY;
    }
    let offset = offset as usize;
    let take = if limit < 0 {
        in_range - offset
    } else {
        (in_range - offset).min(usize::try_from(limit).unwrap_or(usize::MAX))
    };
    if reverse {
        let top = end - offset;
        Selection {
            start: top - take,
            end: top,
            reverse,
        }
    } else {
        Selection {
            start: start + offset,
            end: start + offset + take,
            reverse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::sorted_set::ListpackLimits;

    fn set_of(count: usize) -> SortedSetValue {
        let mut set = SortedSetValue::with_hint(ListpackLimits::DEFAULT, count, 4);
        for n in 0..count {
            set.insert(format!("m{n:02}").as_bytes(), n as f64, ListpackLimits::DEFAULT);
        }
        set
    }

    fn scores(range: &str) -> ScoreRange {
        let (min, max) = range.split_once(' ').expect("two bounds");
        ScoreRange::parse(min.as_bytes(), max.as_bytes()).expect("valid")
    }

    #[test]
    fn score_windows_with_limit() {
        let set = set_of(10);
        let bounds = Bounds::Score(scores("(2 7"));
        assert_eq!(
            select(&set, &bounds, false, 0, -1),
            Selection {
                start: 3,
                end: 8,
                reverse: false
            }
        );
        assert_eq!(
            select(&set, &bounds, false, 1, 2),
            Selection {
                start: 4,
                end: 6,
                reverse: false
            }
        );
        assert_eq!(
            select(&set, &bounds, true, 1, 2),
            Selection {
                start: 5,
                end: 7,
                reverse: true
            }
        );
        assert_eq!(select(&set, &bounds, false, -1, 2), Selection::EMPTY);
        assert_eq!(select(&set, &bounds, false, 5, 2), Selection::EMPTY);
        assert_eq!(
            select(&set, &bounds, false, 0, 0).end - select(&set, &bounds, false, 0, 0).start,
            0
        );
        assert_eq!(
            select(&set, &Bounds::Score(scores("5 (5")), false, 0, -1),
            Selection::EMPTY
        );
        assert_eq!(
            select(&set, &Bounds::Score(scores("8 2")), false, 0, -1),
            Selection::EMPTY
        );
    }

    #[test]
    fn reversed_rank_windows_count_from_the_top() {
        let set = set_of(10);
        let bounds = Bounds::Rank { start: 0, stop: 2 };
        assert_eq!(
            select(&set, &bounds, true, 0, -1),
            Selection {
                start: 7,
                end: 10,
                reverse: true
            }
        );
    }
}
