//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted as
//! numbers or (ALPHA) as byte strings, by themselves or by the values a BY
//! pattern names, optionally replaced by what GET patterns name, cut by
//! LIMIT, and replied or (SORT only) stored as a list.
//!
//! Rules, as Redis 7.2 has them:
//! - options are parsed first (errors in the order they appear), then the
//!   key is looked up: a missing key sorts as an empty list, a string or hash
//!   gives WRONGTYPE;
//! - numeric sorting reads each weight as `strtod` would; one that is not a
//!   number gives `ERR One or more scores can't be converted into double`.
//!   Equal weights fall back to comparing the elements, so the order is
//!   deterministic;
//! - `BY` a pattern without `*` skips sorting: a list or sorted set keeps its
//!   order (reversed by DESC), a set its iteration order, except that a set
//!   with STORE is sorted ALPHA so the stored list is deterministic;
//! - a pattern `prefix*suffix` names the key `prefix<element>suffix`, and
//!   `prefix*suffix->field` that key's hash field; `GET #` is the element.
//!   A missing key (or a key of the wrong type) weighs 0 (sorts first with
//!   ALPHA) and GETs nil (an empty string when stored);
//! - STORE replaces the destination (any type, TTL dropped) with a list, or
//!   deletes it when the result is empty, and replies with the length.
//!
//! # Where the pattern keys may live
//! The keys a pattern names depend on the data, so they cannot be routed in
//! advance. Redis Cluster refuses BY and GET patterns unless their hash tag
//! puts every key they can name in the sorted key's slot. Starling applies
//! the same rule per shard: a pattern is allowed when this server has one
//! shard (everything is local, as in standalone Redis), or when its hash tag,
//! before any wildcard, names a slot of the sorted key's shard (for example
//! `weight_{users}_*` when sorting `{users}:ids`). Anything else gets Redis
//! Cluster's `BY option of SORT denied in Cluster mode when keys formed by
//! the pattern may be in different slots.` (or `GET option ...`), so the
//! answer never depends on where the data happens to hash.
//!
//! SORT's keys are the sorted key and the STORE destination (`key_finder`).
//! When those live on different shards, `sort_cross_shard` holds both, sorts
//! on the source's shard and stores on the destination's.

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use starling_protocol::{key_slot, Frame, SLOT_COUNT};

use super::args::{is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::multikey::{group_keys_by_shard, hold_groups};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;
use crate::keyspace::list::{ListLimits, ListValue};
use crate::keyspace::{SmallBytes, Value};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("sort", -2, Handler::Shard(sort))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .key_finder(sort_key_positions)
            .acl(&["@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"])
            .doc(
                "generic",
                "1.0.0",
                "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
            )
            .cross_shard(sort_cross_shard),
        CommandSpec::new("sort_ro", -2, Handler::Shard(sort_ro))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            // The keys BY and GET patterns name are unknown in advance, which
            // Redis reports as movable keys; the routed key is the first.
            .key_finder(sort_ro_key_positions)
            .acl(&["@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"])
            .doc(
                "generic",
                "7.0.0",
                "Returns the sorted elements of a list, a set, or a sorted set.",
            ),
    ]
}

/// Redis's `sortGetKeys`: the sorted key, and the last STORE destination.
fn sort_key_positions(args: &[Bytes]) -> Vec<usize> {
    let mut positions = vec![1];
    let mut store_position = None;
    let mut index = 2;
    while index < args.len() {
        let arg = &args[index];
        if is_keyword(arg, "LIMIT") {
            index += 2;
        } else if is_keyword(arg, "GET") || is_keyword(arg, "BY") {
            index += 1;
        } else if is_keyword(arg, "STORE") && index + 1 < args.len() {
            store_position = Some(index + 1);
        }
        index += 1;
    }
    positions.extend(store_position);
    positions
}

fn sort_ro_key_positions(_args: &[Bytes]) -> Vec<usize> {
    vec![1]
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// SORT's options after parsing.
#[derive(Debug, PartialEq)]
struct SortOptions<'args> {
    descending: bool,
    alpha: bool,
    limit_offset: i64,
    /// Negative: no limit.
    limit_count: i64,
    store: Option<&'args Bytes>,
    /// The BY pattern, when it has a `*`.
    by: Option<&'args [u8]>,
    /// BY a pattern without `*`: keep the native order. Once set, a later
    /// BY does not clear it (as in Redis).
    dont_sort: bool,
    gets: Vec<&'args [u8]>,
}

/// True if every key `pattern` can name lives on this shard (see the module
/// comment). A scratch shard of staged execution would pass this test
/// wrongly, which is why SORT has its own cross-shard handler.
fn pattern_keys_are_local(core: &ShardCore, pattern: &[u8]) -> bool {
    core.shard_count == 1 || pattern_slot(pattern).is_some_and(|slot| core.keyspace.owns_slot(slot))
}

/// Redis's `patternHashSlot`: the one slot every key the pattern can name
/// hashes to, or None when a wildcard or escape comes before a hash tag.
fn pattern_slot(pattern: &[u8]) -> Option<u16> {
    let mut tag_start: Option<usize> = None;
    let mut empty_tag_seen = false;
    for (index, &byte) in pattern.iter().enumerate() {
        match byte {
            b'*' | b'?' | b'[' | b'\\' => return None,
            b'{' if tag_start.is_none() && !empty_tag_seen => tag_start = Some(index),
            b'}' => match tag_start {
                Some(start) if index == start + 1 => {
                    tag_start = None;
                    empty_tag_seen = true;
                }
                Some(start) => return Some(key_slot(&pattern[start + 1..index])),
                None => {}
            },
            _ => {}
        }
    }
    let slot = key_slot(pattern);
    debug_assert!(slot < SLOT_COUNT);
    Some(slot)
}

fn parse_sort_options(
    args: &[Bytes],
    store_allowed: bool,
    pattern_allowed: impl Fn(&[u8]) -> bool,
) -> Result<SortOptions<'_>, CommandError> {
    let mut options = SortOptions {
        descending: false,
        alpha: false,
        limit_offset: 0,
        limit_count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut index = 2;
    while index < args.len() {
        let option = &args[index];
        let remaining = args.len() - index - 1;
        if is_keyword(option, "ASC") {
            options.descending = false;
        } else if is_keyword(option, "DESC") {
            options.descending = true;
        } else if is_keyword(option, "ALPHA") {
            options.alpha = true;
        } else if is_keyword(option, "LIMIT") && remaining >= 2 {
            options.limit_offset = parse_i64(&args[index + 1]).ok_or(CommandError::NotInteger)?;
            options.limit_count = parse_i64(&args[index + 2]).ok_or(CommandError::NotInteger)?;
            index += 2;
        } else if store_allowed && is_keyword(option, "STORE") && remaining >= 1 {
            options.store = Some(&args[index + 1]);
            index += 1;
        } else if is_keyword(option, "BY") && remaining >= 1 {
            let pattern = &args[index + 1][..];
            if !pattern.contains(&b'*') {
                options.dont_sort = true;
            } else if !pattern_allowed(pattern) {
                return Err(CommandError::other(
                    "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.",
                ));
            }
            options.by = Some(pattern);
            index += 1;
        } else if is_keyword(option, "GET") && remaining >= 1 {
            let pattern = &args[index + 1][..];
            if pattern.contains(&b'*') && !pattern_allowed(pattern) {
                return Err(CommandError::other(
                    "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.",
                ));
            }
            options.gets.push(pattern);
            index += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    Ok(options)
}

// ---------------------------------------------------------------------------
// Patterns and weights
// ---------------------------------------------------------------------------

/// Redis's `lookupKeyByPattern`: the string value (or hash field) the
/// pattern names for `element`; `#` is the element itself.
fn lookup_by_pattern(core: &mut ShardCore, pattern: &[u8], element: &[u8]) -> Option<SmallBytes> {
    if pattern == b"#" {
        return Some(SmallBytes::from_slice(element));
    }
    let star = pattern.iter().position(|&byte| byte == b'*')?;
    let after_star = &pattern[star + 1..];
    let field_start = after_star
        .windows(2)
        .position(|window| window == b"->")
        .filter(|&arrow| arrow + 2 < after_star.len());
    let (middle, field) = match field_start {
        Some(arrow) => (&after_star[..arrow], Some(&after_star[arrow + 2..])),
        None => (after_star, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + middle.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(middle);
    // `pattern_keys_are_local` only lets through patterns whose keys this
    // shard owns; a lookup of another shard's key would panic.
    if !core.keyspace.owns_slot(key_slot(&key)) {
        debug_assert!(false, "a SORT pattern named a key of another shard");
        return None;
    }
    let record = core.keyspace.lookup_read(&key, core.now_ms)?;
    match (&record.value, field) {
        (Value::String(bytes), None) => Some(bytes.clone()),
        (Value::Hash(hash), Some(field)) => hash.get(field).map(SmallBytes::from_slice),
        _ => None,
    }
}

/// Reads a weight as Redis does with `strtod`: leading spaces allowed,
/// nothing after the number, no NaN, no overflow or underflow (`ERANGE`).
/// The empty string reads as 0, as `strtod` leaves nothing unparsed.
fn parse_weight(bytes: &[u8]) -> Option<f64> {
    // `strtod` sees a C string: it ends at the first NUL.
    let bytes = bytes.split(|&byte| byte == 0).next().unwrap_or_default();
    if bytes.is_empty() {
        return Some(0.0);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text).to_ascii_lowercase();
    let value = match unsigned.strip_prefix("0x") {
        Some(hexadecimal) => {
            let magnitude = parse_hex_float(hexadecimal)?;
            if text.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
        None => text.parse::<f64>().ok()?,
    };
    let mantissa = unsigned.split('e').next().unwrap_or_default();
    let spelled_infinity = unsigned.starts_with("inf");
    let overflowed = value.is_infinite() && !spelled_infinity;
    let underflowed = value.abs() < f64::MIN_POSITIVE && mantissa.bytes().any(|byte| (b'1'..=b'9').contains(&byte));
    if value.is_nan() || overflowed || underflowed {
        return None;
    }
    Some(value)
}

/// The hexadecimal form `strtod` also reads (after `0x`): hex digits with an
/// optional point, then an optional binary exponent `p[+-]digits`.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = match text.split_once('p') {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for digit in whole.chars() {
        value = value * 16.0 + digit.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for digit in fraction.chars() {
        value += digit.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

// ---------------------------------------------------------------------------
// Sorting
// ---------------------------------------------------------------------------

/// One element to sort, with what it sorts by.
struct SortEntry {
    element: SmallBytes,
    weight: f64,
    /// The BY value, for ALPHA with a BY pattern; None sorts first.
    alpha_weight: Option<SmallBytes>,
}

/// The element range LIMIT selects from `len` elements, as Redis clamps it:
/// `(start, end)` inclusive, empty when `end < start`.
fn limit_range(offset: i64, count: i64, len: usize) -> (i64, i64) {
    let len = len as i64;
    let mut start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    (start, end.min(len - 1))
}

/// What the sorted key holds, loaded as owned elements.
struct Loaded {
    elements: Vec<SmallBytes>,
    /// The range of `elements` to output (inclusive; empty when end < start).
    start: i64,
    end: i64,
}

/// Loads the elements of `key` (WRONGTYPE unless a list, set or sorted set;
/// nothing if missing). When the order is kept (`dont_sort`) on a list or
/// sorted set, only LIMIT's range is loaded, in DESC order when asked.
fn load_elements(core: &mut ShardCore, key: &[u8], options: &SortOptions<'_>) -> Result<Loaded, CommandError> {
    let Some(record) = core.keyspace.lookup_read(key, core.now_ms) else {
        return Ok(Loaded {
            elements: Vec::new(),
            start: 0,
            end: -1,
        });
    };
    let len = match &record.value {
        Value::List(list) => list.len(),
        Value::Set(set) => set.len(),
        Value::SortedSet(sorted_set) => sorted_set.len(),
        _ => return Err(CommandError::WrongType),
    };
    let (start, end) = limit_range(options.limit_offset, options.limit_count, len);
    let keeps_order = options.dont_sort && !matches!(record.value, Value::Set(_));
    if keeps_order {
        let wanted = if end >= start {
            (start as usize, end as usize + 1)
        } else {
            (0, 0)
        };
        // Positions counted from the end in DESC order.
        let (first, past_last) = match options.descending {
            false => wanted,
            true => (len - wanted.1, len - wanted.0),
        };
        let mut elements: Vec<SmallBytes> = match &record.value {
            Value::List(list) => list_range(list, first, past_last),
            Value::SortedSet(sorted_set) => sorted_set
                .range(first, past_last, false)
                .map(|entry| entry.member.clone())
                .collect(),
            _ => unreachable!("sets never keep order"),
        };
        if options.descending {
            elements.reverse();
        }
        let loaded_len = elements.len() as i64;
        return Ok(Loaded {
            elements,
            start: 0,
            end: loaded_len - 1,
        });
    }
    let elements: Vec<SmallBytes> = match &record.value {
        Value::List(list) => list_range(list, 0, len),
        Value::Set(set) => set.iter().map(|member| member.to_small_bytes()).collect(),
        Value::SortedSet(sorted_set) => sorted_set.iter().map(|entry| entry.member.clone()).collect(),
        _ => unreachable!("checked above"),
    };
    debug_assert_eq!(elements.len(), len);
    Ok(Loaded { elements, start, end })
}

/// Elements `first..past_last` of a list, copied.
fn list_range(list: &ListValue, first: usize, past_last: usize) -> Vec<SmallBytes> {
    list.iter_from(first)
        .take(past_last.saturating_sub(first))
        .map(SmallBytes::from_slice)
        .collect()
}

/// Computes each element's weight and sorts. Fails on a weight that is not
/// a number (numeric sorting only).
fn sort_elements(
    core: &mut ShardCore,
    elements: Vec<SmallBytes>,
    options: &SortOptions<'_>,
) -> Result<Vec<SmallBytes>, CommandError> {
    let mut entries = Vec::with_capacity(elements.len());
    for element in elements {
        let by_value = match options.by {
            Some(pattern) => lookup_by_pattern(core, pattern, &element),
            None => None,
        };
        let mut entry = SortEntry {
            element,
            weight: 0.0,
            alpha_weight: None,
        };
        if options.alpha {
            entry.alpha_weight = by_value;
        } else {
            let weight_text = match (&options.by, &by_value) {
                (None, _) => Some(&entry.element),
                (Some(_), found) => found.as_ref(),
            };
            if let Some(text) = weight_text {
                entry.weight = parse_weight(text)
                    .ok_or_else(|| CommandError::other("ERR One or more scores can't be converted into double"))?;
            }
        }
        entries.push(entry);
    }
    let by_pattern = options.by.is_some();
    entries.sort_by(|left, right| {
        let ordering = if !options.alpha {
            left.weight
                .partial_cmp(&right.weight)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| left.element.as_slice().cmp(right.element.as_slice()))
        } else if by_pattern {
            left.alpha_weight.as_deref().cmp(&right.alpha_weight.as_deref())
        } else {
            left.element.as_slice().cmp(right.element.as_slice())
        };
        if options.descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    Ok(entries.into_iter().map(|entry| entry.element).collect())
}

/// The output of SORT: one item per element, or per element and GET
/// pattern; None for a GET that found nothing.
fn sorted_output(
    core: &mut ShardCore,
    key: &[u8],
    options: &mut SortOptions<'_>,
) -> Result<Vec<Option<SmallBytes>>, CommandError> {
    let is_set = matches!(
        core.keyspace.get(key, core.now_ms).map(|record| &record.value),
        Some(Value::Set(_))
    );
    if options.dont_sort && is_set && options.store.is_some() {
        // A set has no order of its own: store it sorted, as Redis does.
        options.dont_sort = false;
        options.alpha = true;
        options.by = None;
    }
    let loaded = load_elements(core, key, options)?;
    let elements = if options.dont_sort {
        loaded.elements
    } else {
        sort_elements(core, loaded.elements, options)?
    };
    if loaded.end < loaded.start {
        return Ok(Vec::new());
    }
    let selected = &elements[loaded.start as usize..=loaded.end as usize];
    if options.gets.is_empty() {
        return Ok(selected.iter().cloned().map(Some).collect());
    }
    let mut output = Vec::with_capacity(selected.len() * options.gets.len());
    for element in selected {
        for pattern in &options.gets {
            output.push(lookup_by_pattern(core, pattern, element));
        }
    }
    Ok(output)
}

/// Replaces `destination` with a list of `items` (nil GETs become empty
/// strings), or deletes it when there are none. Returns the length.
fn store_sorted(core: &mut ShardCore, destination: &[u8], items: Vec<Option<SmallBytes>>) -> i64 {
    let len = items.len() as i64;
    if items.is_empty() {
        core.keyspace.remove(destination);
        return 0;
    }
    let elements: Vec<SmallBytes> = items.into_iter().map(Option::unwrap_or_default).collect();
    let limits = ListLimits::new(core.config.load().encoding.list_max_listpack_size);
    let list = ListValue::from_elements(elements.iter().map(|element| element.as_slice()), limits);
    core.keyspace
        .set(destination, Value::List(Box::new(list)), false, core.now_ms);
    len
}

fn output_frame(items: Vec<Option<SmallBytes>>) -> Frame {
    Frame::Array(
        items
            .into_iter()
            .map(|item| match item {
                Some(bytes) => Frame::bulk_from_slice(&bytes),
                None => Frame::Null,
            })
            .collect(),
    )
}

fn sort_generic(core: &mut ShardCore, args: &[Bytes], store_allowed: bool) -> CommandResult {
    let mut options = parse_sort_options(args, store_allowed, |pattern| pattern_keys_are_local(core, pattern))?;
    let items = sorted_output(core, &args[1], &mut options)?;
    match options.store {
        None => Ok(output_frame(items)),
        Some(destination) => Ok(Frame::integer(store_sorted(core, destination, items))),
    }
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]`
fn sort(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    sort_generic(core, args, true)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]`
fn sort_ro(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    sort_generic(core, args, false)
}

/// SORT ... STORE with the destination on another shard than the sorted
/// key: both shards are held; the sort runs on the source's shard (where
/// its patterns' keys live), the result is stored on the destination's.
fn sort_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let positions = sort_key_positions(&args);
        let groups = group_keys_by_shard(&session.router, &args, &positions);
        let held = hold_groups(&session.router, &groups).await?;
        let source_shard = session.router.shard_of_key(&args[1]);
        let Some(&store_position) = positions.get(1) else {
            // Without STORE there is one key: sort where it lives.
            return held
                .run(source_shard, move |core: &mut ShardCore| sort(core, &args))
                .await?;
        };
        let sort_args = args.clone();
        let computed = held
            .run(source_shard, move |core: &mut ShardCore| {
                let mut options =
                    parse_sort_options(&sort_args, true, |pattern| pattern_keys_are_local(core, pattern))?;
                let items = sorted_output(core, &sort_args[1], &mut options)?;
                Ok::<_, CommandError>(items)
            })
            .await??;
        let destination = args[store_position].clone();
        let destination_shard = session.router.shard_of_key(&destination);
        let stored_len = held
            .run(destination_shard, move |core: &mut ShardCore| {
                store_sorted(core, &destination, computed)
            })
            .await?;
        drop(held);
        Ok(Frame::integer(stored_len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<Bytes> {
        text.iter()
            .map(|word| Bytes::copy_from_slice(word.as_bytes()))
            .collect()
    }

    fn everything_allowed(_pattern: &[u8]) -> bool {
        true
    }

    #[test]
    fn key_positions_are_the_key_and_the_last_store() {
        assert_eq!(sort_key_positions(&args(&["SORT", "k"])), vec![1]);
        assert_eq!(sort_key_positions(&args(&["SORT", "k", "STORE", "d"])), vec![1, 3]);
        assert_eq!(
            sort_key_positions(&args(&["SORT", "k", "STORE", "a", "LIMIT", "0", "1", "store", "b"])),
            vec![1, 8]
        );
        // A STORE that is the argument of GET, BY or LIMIT is no option.
        assert_eq!(
            sort_key_positions(&args(&["SORT", "k", "GET", "STORE", "BY", "x"])),
            vec![1]
        );
        assert_eq!(sort_key_positions(&args(&["SORT", "k", "STORE"])), vec![1]);
    }

    #[test]
    fn pattern_slots_follow_redis() {
        assert_eq!(pattern_slot(b"weight_{users}_*"), Some(key_slot(b"users")));
        assert_eq!(pattern_slot(b"{users}*->field"), Some(key_slot(b"users")));
        assert_eq!(pattern_slot(b"weight_*"), None);
        assert_eq!(pattern_slot(b"w?{users}*"), None);
        assert_eq!(pattern_slot(b"w\\{users}*"), None);
        assert_eq!(pattern_slot(b"*{users}"), None);
        assert_eq!(pattern_slot(b"{}{users}*"), None);
        assert_eq!(pattern_slot(b"fixed"), Some(key_slot(b"fixed")));
    }

    #[test]
    fn options_parse_in_order() {
        let command = args(&[
            "SORT", "k", "LIMIT", "1", "2", "DESC", "ALPHA", "BY", "nosort", "GET", "#", "STORE", "d",
        ]);
        let options = parse_sort_options(&command, true, everything_allowed).unwrap();
        assert!(options.descending && options.alpha && options.dont_sort);
        assert_eq!((options.limit_offset, options.limit_count), (1, 2));
        assert_eq!(options.gets, vec![&b"#"[..]]);
        assert_eq!(options.store.map(|key| &key[..]), Some(&b"d"[..]));
        let refused = |text: &[&str]| parse_sort_options(&args(text), false, everything_allowed).unwrap_err();
        assert_eq!(refused(&["SORT", "k", "STORE", "d"]), CommandError::Syntax);
        assert_eq!(refused(&["SORT", "k", "LIMIT", "1"]), CommandError::Syntax);
        assert_eq!(refused(&["SORT", "k", "LIMIT", "a", "1"]), CommandError::NotInteger);
        assert_eq!(refused(&["SORT", "k", "BY"]), CommandError::Syntax);
        let nothing_allowed = |_: &[u8]| false;
        let denied = |text: &[&str]| parse_sort_options(&args(text), true, nothing_allowed).map(|_| ());
        assert!(denied(&["SORT", "k", "BY", "nosort", "GET", "#", "GET", "fixed"]).is_ok());
        assert!(denied(&["SORT", "k", "BY", "w_*"])
            .unwrap_err()
            .to_string()
            .starts_with("ERR BY option"));
        assert!(denied(&["SORT", "k", "GET", "w_*"])
            .unwrap_err()
            .to_string()
            .starts_with("ERR GET option"));
        // Errors come in the order of the options.
        assert_eq!(denied(&["SORT", "k", "NOPE", "BY", "w_*"]), Err(CommandError::Syntax));
    }

    #[test]
    fn limits_clamp_like_redis() {
        assert_eq!(limit_range(0, -1, 5), (0, 4));
        assert_eq!(limit_range(1, 2, 5), (1, 2));
        assert_eq!(limit_range(-5, 2, 5), (0, 1));
        assert_eq!(limit_range(3, 100, 5), (3, 4));
        assert_eq!(limit_range(5, 1, 5), (4, 3));
        assert_eq!(limit_range(0, 0, 5), (0, -1));
        assert_eq!(limit_range(0, -1, 0), (-1, -2));
        assert_eq!(limit_range(i64::MAX, i64::MAX, 3), (2, 1));
        assert_eq!(limit_range(i64::MIN, i64::MIN, 3), (0, 2));
    }

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(parse_weight(b"1.5"), Some(1.5));
        assert_eq!(parse_weight(b"  -3"), Some(-3.0));
        assert_eq!(parse_weight(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_weight(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b"1e3"), Some(1000.0));
        assert_eq!(parse_weight(b"12\0junk"), Some(12.0));
        assert_eq!(parse_weight(b"0x10"), Some(16.0));
        assert_eq!(parse_weight(b"-0X1.8p1"), Some(-3.0));
        assert_eq!(parse_weight(b"0x.8"), Some(0.5));
        for bad in [
            &b"abc"[..],
            b"1 ",
            b"nan",
            b"1e999",
            b"1e-999",
            b"1e-310",
            b" ",
            b"1.2.3",
            b"0x",
            b"0xg",
            b"0x1p",
        ] {
            assert_eq!(parse_weight(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_weight(b"0e-999"), Some(0.0));
    }
}
