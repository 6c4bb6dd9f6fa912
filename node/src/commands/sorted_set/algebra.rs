//! Set algebra over sorted sets: ZUNION, ZINTER, ZDIFF, their STORE forms and
//! ZINTERCARD, as Redis's `zunionInterDiffGenericCommand`:
//! 1. `numkeys` and the keys are checked, and every key is looked up (so
//!    WRONGTYPE wins over a bad option); plain sets count, each member
//!    scoring 1;
//! 2. options: WEIGHTS and AGGREGATE (not for ZDIFF or ZINTERCARD),
//!    WITHSCORES (only without a destination), LIMIT (only ZINTERCARD);
//! 3. union and intersection visit the inputs smallest first; a weighted
//!    score or a SUM that comes out NaN (`inf * 0`, `inf + -inf`) is 0;
//! 4. the result is sorted by (score, member) and replied or stored.
//!
//! Costs: union O(total input), intersection O(smallest input × inputs),
//! difference O(first input × inputs); each plus sorting the result.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use starling_protocol::Frame;

use super::parse::parse_score;
use super::{member_frame, sorted_set_of, store_entries};
use crate::commands::args::{integer, is_keyword};
use crate::commands::error::{CommandError, CommandResult};
use crate::keyspace::set::{Member, SetValue};
use crate::keyspace::small_bytes::SmallBytes;
use crate::keyspace::sorted_set::{Entry, SortedSetValue};
use crate::keyspace::Value;
use crate::shard::ShardCore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Union,
    Intersection,
    Difference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn combine(self, accumulated: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = accumulated + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min => {
                if value < accumulated {
                    value
                } else {
                    accumulated
                }
            }
            Aggregate::Max => {
                if value > accumulated {
                    value
                } else {
                    accumulated
                }
            }
        }
    }
}

/// How one algebra command was called.
#[derive(Clone, Copy)]
struct Request {
    /// Lower-case name, for "at least 1 input key is needed for '...'".
    command_name: &'static str,
    operation: Operation,
    numkeys_index: usize,
    has_destination: bool,
    cardinality_only: bool,
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]`
pub(super) fn zunion(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(core, args, reply_request("zunion", Operation::Union))
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]`
pub(super) fn zinter(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(core, args, reply_request("zinter", Operation::Intersection))
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
pub(super) fn zdiff(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(core, args, reply_request("zdiff", Operation::Difference))
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX]`
pub(super) fn zunionstore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(core, args, store_request("zunionstore", Operation::Union))
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX]`
pub(super) fn zinterstore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(core, args, store_request("zinterstore", Operation::Intersection))
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
pub(super) fn zdiffstore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(core, args, store_request("zdiffstore", Operation::Difference))
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn zintercard(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    algebra(
        core,
        args,
        Request {
            command_name: "zintercard",
            operation: Operation::Intersection,
            numkeys_index: 1,
            has_destination: false,
            cardinality_only: true,
        },
    )
}

fn reply_request(command_name: &'static str, operation: Operation) -> Request {
    Request {
        command_name,
        operation,
        numkeys_index: 1,
        has_destination: false,
        cardinality_only: false,
    }
}

fn store_request(command_name: &'static str, operation: Operation) -> Request {
    Request {
        command_name,
        operation,
        numkeys_index: 2,
        has_destination: true,
        cardinality_only: false,
    }
}

/// The options after the keys.
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT; 0 means none.
    limit: usize,
}

fn algebra(core: &mut ShardCore, args: &[Bytes], request: Request) -> CommandResult {
    let numkeys = integer(&args[request.numkeys_index])?;
    if numkeys < 1 {
        return Err(CommandError::other(format!(
            "ERR at least 1 input key is needed for '{}' command",
            request.command_name
        )));
    }
    let first_key_index = request.numkeys_index + 1;
    if numkeys as u64 > (args.len() - first_key_index) as u64 {
        return Err(CommandError::Syntax);
    }
    let keys = &args[first_key_index..first_key_index + numkeys as usize];
    // First pass: expiry, hit counting and type checks, in key order.
    let now_ms = core.now_ms;
    for key in keys {
        if let Some(record) = core.keyspace.lookup_read(key, now_ms) {
            Source::of(&record.value)?;
        }
    }
    let options = parse_options(&args[first_key_index + keys.len()..], keys.len(), &request)?;

    let keyspace = &core.keyspace;
    let sources = keys
        .iter()
        .zip(&options.weights)
        .map(|(key, &weight)| {
            let source = match keyspace.get(key, now_ms) {
                Some(record) => Source::of(&record.value)?,
                None => Source::Missing,
            };
            Ok(Weighted { source, weight })
        })
        .collect::<Result<Vec<Weighted>, CommandError>>()?;

    if request.cardinality_only {
        let cardinality = intersection_cardinality(sources, options.limit);
        return Ok(Frame::Integer(cardinality as i64));
    }
    let mut result = match request.operation {
        Operation::Union => union(sources, options.aggregate),
        Operation::Intersection => intersection(sources, options.aggregate),
        Operation::Difference => difference(&sources),
    };
    result.sort_by(compare_scored);
    if request.has_destination {
        let entries = result
            .into_iter()
            .map(|(member, score)| Entry {
                member: SmallBytes::from_slice(&member),
                score,
            })
            .collect();
        return Ok(store_entries(core, &args[1], entries));
    }
    if options.with_scores {
        return Ok(Frame::Pairs(
            result
                .into_iter()
                .map(|(member, score)| (member_frame(&member), Frame::Double(score)))
                .collect(),
        ));
    }
    Ok(Frame::Array(
        result.into_iter().map(|(member, _)| member_frame(&member)).collect(),
    ))
}

fn parse_options(arguments: &[Bytes], key_count: usize, request: &Request) -> Result<Options, CommandError> {
    let mut options = Options {
        weights: vec![1.0; key_count],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let weighted = request.operation != Operation::Difference && !request.cardinality_only;
    let mut index = 0;
    while index < arguments.len() {
        let option = &arguments[index];
        let remaining = arguments.len() - index;
        if weighted && remaining > key_count && is_keyword(option, "WEIGHTS") {
            for (weight, argument) in options.weights.iter_mut().zip(&arguments[index + 1..]) {
                *weight =
                    parse_score(argument).ok_or_else(|| CommandError::other("ERR weight value is not a float"))?;
            }
            index += 1 + key_count;
        } else if weighted && remaining >= 2 && is_keyword(option, "AGGREGATE") {
            let name = &arguments[index + 1];
            options.aggregate = if is_keyword(name, "SUM") {
                Aggregate::Sum
            } else if is_keyword(name, "MIN") {
                Aggregate::Min
            } else if is_keyword(name, "MAX") {
                Aggregate::Max
            } else {
                return Err(CommandError::Syntax);
            };
            index += 2;
        } else if !request.has_destination && !request.cardinality_only && is_keyword(option, "WITHSCORES") {
            options.with_scores = true;
            index += 1;
        } else if request.cardinality_only && remaining >= 2 && is_keyword(option, "LIMIT") {
            let limit = integer(&arguments[index + 1])?;
            if limit < 0 {
                return Err(CommandError::other("ERR LIMIT can't be negative"));
            }
            options.limit = usize::try_from(limit).unwrap_or(usize::MAX);
            index += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(options)
}

/// One input: a sorted set, a plain set (every member scores 1), or nothing.
enum Source<'a> {
    Missing,
    Sorted(&'a SortedSetValue),
    Plain(&'a SetValue),
}

/// A member of a result: borrowed from an input, or the text of an integer
/// an intset holds.
type MemberBytes<'a> = Cow<'a, [u8]>;

/// Plain sets score their members 1, as in Redis.
const PLAIN_SET_SCORE: f64 = 1.0;

impl<'a> Source<'a> {
    fn of(value: &'a Value) -> Result<Source<'a>, CommandError> {
        match value {
            Value::Set(set) => Ok(Source::Plain(set)),
            other => sorted_set_of(other).map(Source::Sorted),
        }
    }

    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(sorted_set) => sorted_set.len(),
            Source::Plain(set) => set.len(),
        }
    }

    fn score_of(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(sorted_set) => sorted_set.score(member),
            Source::Plain(set) => set.contains(member).then_some(PLAIN_SET_SCORE),
        }
    }

    /// Every member with its score, in no particular order.
    fn elements(&self) -> Box<dyn Iterator<Item = (MemberBytes<'a>, f64)> + 'a> {
        match *self {
            Source::Missing => Box::new(std::iter::empty()),
            Source::Sorted(sorted_set) => Box::new(
                sorted_set
                    .iter()
                    .map(|entry| (Cow::Borrowed(entry.member.as_slice()), entry.score)),
            ),
            Source::Plain(set) => Box::new(set.iter().map(|member| {
                let bytes = match member {
                    Member::Bytes(bytes) => Cow::Borrowed(bytes),
                    Member::Integer(value) => Cow::Owned(value.to_string().into_bytes()),
                };
                (bytes, PLAIN_SET_SCORE)
            })),
        }
    }
}

struct Weighted<'a> {
    source: Source<'a>,
    weight: f64,
}

/// `weight * score`, with Redis's rule that NaN (`inf * 0`) becomes 0.
fn weigh(score: f64, weight: f64) -> f64 {
    let weighted = score * weight;
    if weighted.is_nan() {
        0.0
    } else {
        weighted
    }
}

fn compare_scored(left: &(MemberBytes, f64), right: &(MemberBytes, f64)) -> std::cmp::Ordering {
    left.1
        .partial_cmp(&right.1)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| left.0.cmp(&right.0))
}

fn smallest_first(sources: &mut [Weighted]) {
    sources.sort_by_key(|weighted| weighted.source.len());
}

fn union<'a>(mut sources: Vec<Weighted<'a>>, aggregate: Aggregate) -> Vec<(MemberBytes<'a>, f64)> {
    smallest_first(&mut sources);
    let capacity = sources.last().map_or(0, |largest| largest.source.len());
    let mut accumulator: HashMap<MemberBytes<'a>, f64> = HashMap::with_capacity(capacity);
    for weighted in &sources {
        for (member, score) in weighted.source.elements() {
            let value = weigh(score, weighted.weight);
            accumulator
                .entry(member)
                .and_modify(|accumulated| *accumulated = aggregate.combine(*accumulated, value))
                .or_insert(value);
        }
    }
    accumulator.into_iter().collect()
}

fn intersection<'a>(mut sources: Vec<Weighted<'a>>, aggregate: Aggregate) -> Vec<(MemberBytes<'a>, f64)> {
    smallest_first(&mut sources);
    let (first, others) = sources.split_first().expect("at least one key");
    first
        .source
        .elements()
        .filter_map(|(member, score)| {
            let mut accumulated = weigh(score, first.weight);
            for other in others {
                let other_score = other.source.score_of(&member)?;
                accumulated = aggregate.combine(accumulated, weigh(other_score, other.weight));
            }
            Some((member, accumulated))
        })
        .collect()
}

/// ZINTERCARD: members of every input, stopping at `limit` (0: no limit).
fn intersection_cardinality(mut sources: Vec<Weighted>, limit: usize) -> usize {
    smallest_first(&mut sources);
    let (first, others) = sources.split_first().expect("at least one key");
    let mut cardinality = 0usize;
    for (member, _) in first.source.elements() {
        if others.iter().all(|other| other.source.score_of(&member).is_some()) {
            cardinality += 1;
            if limit != 0 && cardinality >= limit {
                break;
            }
        }
    }
    cardinality
}

/// Members of the first input found in no other, with their own scores.
fn difference<'a>(sources: &[Weighted<'a>]) -> Vec<(MemberBytes<'a>, f64)> {
    let (first, others) = sources.split_first().expect("at least one key");
    first
        .source
        .elements()
        .filter(|(member, _)| others.iter().all(|other| other.source.score_of(member).is_none()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_of_infinities_is_zero_and_min_max_keep_the_extreme() {
        assert_eq!(Aggregate::Sum.combine(f64::INFINITY, f64::NEG_INFINITY), 0.0);
        assert_eq!(Aggregate::Min.combine(3.0, 1.0), 1.0);
        assert_eq!(Aggregate::Max.combine(3.0, 1.0), 3.0);
        assert_eq!(weigh(f64::INFINITY, 0.0), 0.0);
    }
}
