//! The list value, in Redis 7.2's two encodings.
//!
//! A list is a sequence of nodes, each a packed byte buffer of entries:
//! - `listpack` (small lists): exactly one node;
//! - `quicklist` (large lists): a deque of nodes, each bounded by
//!   `list-max-listpack-size`, so that a push or pop at either end touches one
//!   node of bounded size (amortised O(1)) and LINDEX near either end walks at
//!   most one node. An index in the middle walks nodes from the nearer end.
//!
//! Entry layout inside a node: `length (LEB128) | bytes | length (LEB128,
//! bytes in reverse order)`, so a node can be walked from either end. An
//! element under 128 bytes costs two bytes of overhead, as in a listpack.
//!
//! Encoding decisions mirror Redis 7.2 (`t_list.c`, `quicklist.c`), so that
//! OBJECT ENCODING answers as Redis does after the same commands. Each node
//! tracks `listpack_bytes`, the size Redis's listpack would have for the same
//! entries (integers packed as integers), and the thresholds use that size:
//! - listpack → quicklist, before elements are added (`prepare_for_growth`,
//!   Redis's `listTypeTryConversionAppend`): when the listpack's size plus
//!   the added raw bytes, or its count plus the added count, exceeds the node
//!   limit; the listpack becomes the quicklist's first node;
//! - quicklist → listpack, after elements are removed (`shrink_if_small`,
//!   Redis's `LIST_CONV_SHRINKING`): when one packed node is left and its size
//!   and count are at most half the limits;
//! - inside a quicklist, an element goes into the neighbouring node if that
//!   node's size plus the element plus 8 stays within the limit, otherwise
//!   into a new node; an element larger than the limit gets a node of its own
//!   (Redis's "plain" node). LINSERT and LSET split and merge nodes as
//!   Redis's `_quicklistInsert` and `_quicklistMergeNodes` do.
//!
//! DUMP/RESTORE see one canonical form, the sequence of elements;
//! deserializing rebuilds the encoding that the default limits give.

use std::collections::VecDeque;
use std::fmt;

use bytes::Bytes;
use serde::de::{SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Deserializer, Serialize};

use crate::commands::args::parse_i64;

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListEnd {
    Left,
    Right,
}

impl ListEnd {
    /// The keyword as LMOVE and LMPOP spell it, for parsing.
    pub fn parse(arg: &[u8]) -> Option<ListEnd> {
        if arg.eq_ignore_ascii_case(b"left") {
            Some(ListEnd::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Some(ListEnd::Right)
        } else {
            None
        }
    }
}

/// Redis's `SIZE_SAFETY_LIMIT`: a node limited by count still never grows
/// past this many bytes.
const SIZE_SAFETY_LIMIT_BYTES: usize = 8192;
/// Node size limits for `list-max-listpack-size` -1 to -5.
const NODE_SIZE_LIMITS_BYTES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Redis's `SIZE_ESTIMATE_OVERHEAD`: what one more entry may add to a node
/// beyond its raw bytes, when deciding whether it fits.
const INSERT_OVERHEAD_ESTIMATE_BYTES: usize = 8;
/// A listpack's header (6 bytes) and end marker (1 byte).
const LISTPACK_EMPTY_BYTES: usize = 7;

/// The node limits in force: Redis's `list-max-listpack-size` ("fill").
/// Positive: entries per node (and at most 8 KiB); -1 to -5: 4 to 64 KiB
/// per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    pub fill: i64,
}

impl ListLimits {
    /// Redis's default, used when no configuration is at hand (RESTORE).
    pub const DEFAULT: ListLimits = ListLimits { fill: -2 };

    pub fn new(list_max_listpack_size: i64) -> ListLimits {
        ListLimits {
            fill: list_max_listpack_size,
        }
    }

    /// Redis's `quicklistNodeLimit`: (size limit, count limit), one of them
    /// unlimited.
    fn node_limits(self) -> (usize, usize) {
        if self.fill >= 0 {
            let count_limit = if self.fill == 0 { 1 } else { self.fill as usize };
            return (usize::MAX, count_limit);
        }
        let level = ((-self.fill - 1) as usize).min(NODE_SIZE_LIMITS_BYTES.len() - 1);
        (NODE_SIZE_LIMITS_BYTES[level], usize::MAX)
    }

    /// Redis's `quicklistNodeExceedsLimit`.
    fn exceeds(self, size_bytes: usize, count: usize) -> bool {
        let (size_limit, count_limit) = self.node_limits();
        if size_limit != usize::MAX {
            return size_bytes > size_limit;
        }
        size_bytes > SIZE_SAFETY_LIMIT_BYTES || count > count_limit
    }

    /// Redis's `isLargeElement`: such an element gets a node of its own.
    fn is_large_element(self, size_bytes: usize) -> bool {
        let (size_limit, _) = self.node_limits();
        if self.fill >= 0 {
            size_bytes > SIZE_SAFETY_LIMIT_BYTES
        } else {
            size_bytes > size_limit
        }
    }
}

// ---------------------------------------------------------------------------
// Entry encoding
// ---------------------------------------------------------------------------

/// Longest LEB128 encoding of a `u64`.
const MAX_VARINT_BYTES: usize = 10;

fn varint_len(mut value: usize) -> usize {
    let mut length = 1;
    while value >= 0x80 {
        value >>= 7;
        length += 1;
    }
    length
}

/// Writes `value` as LEB128 into `out`, returning the number of bytes.
fn write_varint(mut value: usize, out: &mut [u8; MAX_VARINT_BYTES]) -> usize {
    let mut length = 0;
    loop {
        let group = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out[length] = group;
            return length + 1;
        }
        out[length] = group | 0x80;
        length += 1;
    }
}

/// Bytes an element takes in a node.
fn entry_size(element_len: usize) -> usize {
    2 * varint_len(element_len) + element_len
}

/// The bytes an element occupies in Redis's listpack: Redis stores strings
/// that read as integers as integers.
fn listpack_entry_bytes(element: &[u8]) -> usize {
    let encoded = match parse_i64(element) {
        Some(value) if (0..=127).contains(&value) => 1,
        Some(value) if (-4096..=4095).contains(&value) => 2,
        Some(value) if (-32768..=32767).contains(&value) => 3,
        Some(value) if (-8_388_608..=8_388_607).contains(&value) => 4,
        Some(value) if i32::try_from(value).is_ok() => 5,
        Some(_) => 9,
        None if element.len() < 64 => 1 + element.len(),
        None if element.len() < 4096 => 2 + element.len(),
        None => 5 + element.len(),
    };
    let back_length = match encoded {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    encoded + back_length
}

/// Reads the entry starting at `start`: (data range start, data length,
/// entry end).
fn read_entry_forward(packed: &[u8], start: usize) -> (usize, usize, usize) {
    let mut length = 0usize;
    let mut shift = 0;
    let mut position = start;
    loop {
        let byte = packed[position];
        position += 1;
        length |= ((byte & 0x7f) as usize) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let data_start = position;
    let entry_end = data_start + length + (position - start);
    (data_start, length, entry_end)
}

/// Reads the entry ending at `end`: (entry start, data range start, data
/// length).
fn read_entry_backward(packed: &[u8], end: usize) -> (usize, usize, usize) {
    let mut length = 0usize;
    let mut shift = 0;
    let mut position = end;
    loop {
        position -= 1;
        let byte = packed[position];
        length |= ((byte & 0x7f) as usize) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let trailer_bytes = end - position;
    let data_start = position - length;
    (data_start - trailer_bytes, data_start, length)
}

// ---------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------

/// One packed buffer of entries: the listpack, or one quicklist node.
#[derive(Clone, Debug)]
struct Node {
    packed: Vec<u8>,
    count: u32,
    /// What Redis's `lpBytes` would be for these entries.
    listpack_bytes: usize,
    /// Holds one element larger than the node limit (Redis's plain node).
    plain: bool,
}

impl Node {
    fn new() -> Node {
        Node {
            packed: Vec::new(),
            count: 0,
            listpack_bytes: LISTPACK_EMPTY_BYTES,
            plain: false,
        }
    }

    fn with_element(element: &[u8], plain: bool) -> Node {
        let mut node = Node::new();
        node.packed.reserve_exact(entry_size(element.len()));
        node.insert_at_offset(0, element);
        node.plain = plain;
        node
    }

    fn len(&self) -> usize {
        self.count as usize
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Inserts `element` as an entry starting at byte `offset`.
    fn insert_at_offset(&mut self, offset: usize, element: &[u8]) {
        let mut header = [0u8; MAX_VARINT_BYTES];
        let header_len = write_varint(element.len(), &mut header);
        let added = 2 * header_len + element.len();
        let old_len = self.packed.len();
        self.packed.resize(old_len + added, 0);
        self.packed.copy_within(offset..old_len, offset + added);
        let entry = &mut self.packed[offset..offset + added];
        entry[..header_len].copy_from_slice(&header[..header_len]);
        entry[header_len..header_len + element.len()].copy_from_slice(element);
        let trailer = &mut entry[header_len + element.len()..];
        for (slot, byte) in trailer.iter_mut().zip(header[..header_len].iter().rev()) {
            *slot = *byte;
        }
        self.count += 1;
        self.listpack_bytes += listpack_entry_bytes(element);
    }

    /// Removes the entries in byte range `span`, which hold `removed_count`
    /// entries whose listpack sizes add up to `removed_listpack_bytes`.
    fn remove_span(&mut self, start: usize, end: usize, removed_count: usize, removed_listpack_bytes: usize) {
        self.packed.drain(start..end);
        self.count -= removed_count as u32;
        self.listpack_bytes -= removed_listpack_bytes;
    }

    fn push(&mut self, end: ListEnd, element: &[u8]) {
        let offset = match end {
            ListEnd::Left => 0,
            ListEnd::Right => self.packed.len(),
        };
        self.insert_at_offset(offset, element);
    }

    fn pop(&mut self, end: ListEnd) -> Option<Bytes> {
        if self.is_empty() {
            return None;
        }
        let (start, data_start, length, entry_end) = match end {
            ListEnd::Left => {
                let (data_start, length, entry_end) = read_entry_forward(&self.packed, 0);
                (0, data_start, length, entry_end)
            }
            ListEnd::Right => {
                let end = self.packed.len();
                let (start, data_start, length) = read_entry_backward(&self.packed, end);
                (start, data_start, length, end)
            }
        };
        let element = &self.packed[data_start..data_start + length];
        let popped = Bytes::copy_from_slice(element);
        let listpack_bytes = listpack_entry_bytes(element);
        match end {
            ListEnd::Left => self.remove_span(start, entry_end, 1, listpack_bytes),
            ListEnd::Right => {
                self.packed.truncate(start);
                self.count -= 1;
                self.listpack_bytes -= listpack_bytes;
            }
        }
        Some(popped)
    }

    /// Byte span (start, end) of entry `index`, walking from the nearer end.
    fn span_of(&self, index: usize) -> (usize, usize) {
        assert!(index < self.len(), "entry {index} of {}", self.len());
        if index < self.len() / 2 {
            let mut start = 0;
            for _ in 0..index {
                start = read_entry_forward(&self.packed, start).2;
            }
            (start, read_entry_forward(&self.packed, start).2)
        } else {
            let mut end = self.packed.len();
            for _ in 0..self.len() - 1 - index {
                end = read_entry_backward(&self.packed, end).0;
            }
            (read_entry_backward(&self.packed, end).0, end)
        }
    }

    fn element_in_span(&self, start: usize) -> &[u8] {
        let (data_start, length, _) = read_entry_forward(&self.packed, start);
        &self.packed[data_start..data_start + length]
    }

    fn get(&self, index: usize) -> &[u8] {
        let (start, _) = self.span_of(index);
        self.element_in_span(start)
    }

    /// Inserts `element` so that it becomes entry `index` (`index == len`
    /// appends).
    fn insert(&mut self, index: usize, element: &[u8]) {
        let offset = if index == self.len() {
            self.packed.len()
        } else {
            self.span_of(index).0
        };
        self.insert_at_offset(offset, element);
    }

    fn remove(&mut self, index: usize) {
        let (start, end) = self.span_of(index);
        let listpack_bytes = listpack_entry_bytes(self.element_in_span(start));
        self.remove_span(start, end, 1, listpack_bytes);
    }

    /// Removes `count` entries starting at entry `index`.
    fn remove_range(&mut self, index: usize, count: usize) {
        if count == 0 {
            return;
        }
        let (start, mut end) = self.span_of(index);
        let mut listpack_bytes = listpack_entry_bytes(self.element_in_span(start));
        for _ in 1..count {
            let next_start = end;
            listpack_bytes += listpack_entry_bytes(self.element_in_span(next_start));
            end = read_entry_forward(&self.packed, next_start).2;
        }
        self.remove_span(start, end, count, listpack_bytes);
    }

    fn replace(&mut self, index: usize, element: &[u8]) {
        self.remove(index);
        self.insert(index, element);
    }

    /// Moves entries `index..` into a new node.
    fn split_off(&mut self, index: usize) -> Node {
        let mut tail = Node::new();
        if index == self.len() {
            return tail;
        }
        let (start, _) = self.span_of(index);
        tail.packed = self.packed.split_off(start);
        tail.count = self.count - index as u32;
        tail.listpack_bytes = LISTPACK_EMPTY_BYTES + tail.iter().map(listpack_entry_bytes).sum::<usize>();
        self.count = index as u32;
        self.listpack_bytes -= tail.listpack_bytes - LISTPACK_EMPTY_BYTES;
        tail
    }

    /// Appends every entry of `other` (Redis's `lpMerge`).
    fn append(&mut self, other: Node) {
        self.packed.extend_from_slice(&other.packed);
        self.count += other.count;
        self.listpack_bytes += other.listpack_bytes - LISTPACK_EMPTY_BYTES;
    }

    /// Redis's `_quicklistNodeAllowInsert`.
    fn allows_insert(&self, element_len: usize, limits: ListLimits) -> bool {
        if self.plain || limits.is_large_element(element_len) {
            return false;
        }
        let new_size = self.listpack_bytes + element_len + INSERT_OVERHEAD_ESTIMATE_BYTES;
        !limits.exceeds(new_size, self.len() + 1)
    }

    /// Redis's `_quicklistNodeAllowMerge`.
    fn allows_merge(&self, other: &Node, limits: ListLimits) -> bool {
        if self.plain || other.plain {
            return false;
        }
        let merged_size = self.listpack_bytes + other.listpack_bytes - LISTPACK_EMPTY_BYTES;
        !limits.exceeds(merged_size, self.len() + other.len())
    }

    fn iter(&self) -> NodeIter<'_> {
        NodeIter::new(&self.packed)
    }
}

/// The elements of one packed buffer, from either end.
struct NodeIter<'a> {
    packed: &'a [u8],
    front: usize,
    back: usize,
}

impl<'a> NodeIter<'a> {
    fn new(packed: &'a [u8]) -> NodeIter<'a> {
        NodeIter {
            packed,
            front: 0,
            back: packed.len(),
        }
    }
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (data_start, length, entry_end) = read_entry_forward(self.packed, self.front);
        self.front = entry_end;
        Some(&self.packed[data_start..data_start + length])
    }
}

impl<'a> DoubleEndedIterator for NodeIter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (start, data_start, length) = read_entry_backward(self.packed, self.back);
        self.back = start;
        Some(&self.packed[data_start..data_start + length])
    }
}

// ---------------------------------------------------------------------------
// ListValue
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Encoding {
    Listpack(Node),
    Quicklist(VecDeque<Node>),
}

/// A list. Never empty once stored under a key: commands delete the key
/// when they remove its last element.
#[derive(Clone, Debug)]
pub struct ListValue {
    encoding: Encoding,
    length: usize,
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue::new()
    }
}

impl ListValue {
    /// An empty list in the listpack encoding, as LPUSH creates it.
    pub fn new() -> ListValue {
        ListValue {
            encoding: Encoding::Listpack(Node::new()),
            length: 0,
        }
    }

    /// A list of `elements` built as RPUSH would build it.
    pub fn from_elements<'a>(elements: impl Iterator<Item = &'a [u8]> + Clone, limits: ListLimits) -> ListValue {
        let mut list = ListValue::new();
        let (added_bytes, added_count) = elements
            .clone()
            .fold((0, 0), |(bytes, count), element| (bytes + element.len(), count + 1));
        list.prepare_for_growth(limits, added_bytes, added_count);
        for element in elements {
            list.push(limits, ListEnd::Right, element);
        }
        list
    }

    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self.encoding {
            Encoding::Listpack(_) => "listpack",
            Encoding::Quicklist(_) => "quicklist",
        }
    }

    /// Heap bytes owned beyond the value's box.
    pub fn heap_size_bytes(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(node) => node.packed.capacity(),
            Encoding::Quicklist(nodes) => {
                nodes.capacity() * std::mem::size_of::<Node>()
                    + nodes.iter().map(|node| node.packed.capacity()).sum::<usize>()
            }
        }
    }

    fn node_count(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(_) => 1,
            Encoding::Quicklist(nodes) => nodes.len(),
        }
    }

    fn node(&self, index: usize) -> &Node {
        match &self.encoding {
            Encoding::Listpack(node) => {
                debug_assert_eq!(index, 0);
                node
            }
            Encoding::Quicklist(nodes) => &nodes[index],
        }
    }

    fn node_mut(&mut self, index: usize) -> &mut Node {
        match &mut self.encoding {
            Encoding::Listpack(node) => {
                debug_assert_eq!(index, 0);
                node
            }
            Encoding::Quicklist(nodes) => &mut nodes[index],
        }
    }

    /// The quicklist's nodes; only for operations that run after the
    /// listpack case was handled.
    fn quicklist_nodes(&mut self) -> &mut VecDeque<Node> {
        match &mut self.encoding {
            Encoding::Quicklist(nodes) => nodes,
            Encoding::Listpack(_) => unreachable!("listpack has no node list"),
        }
    }

    /// (node index, index within the node) of element `index`, walking the
    /// nodes from the nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        assert!(index < self.length, "index {index} of {}", self.length);
        if index < self.length / 2 {
            let mut skipped = 0;
            for node_index in 0..self.node_count() {
                let count = self.node(node_index).len();
                if index < skipped + count {
                    return (node_index, index - skipped);
                }
                skipped += count;
            }
        } else {
            let mut after = self.length;
            for node_index in (0..self.node_count()).rev() {
                let count = self.node(node_index).len();
                let node_start = after - count;
                if index >= node_start {
                    return (node_index, index - node_start);
                }
                after = node_start;
            }
        }
        unreachable!("node counts add up to the list length")
    }

    /// Redis's `listTypeTryConversionAppend`: call before adding
    /// `added_count` elements of `added_bytes` raw bytes in total. Turns a
    /// listpack that would outgrow the node limit into a quicklist.
    pub fn prepare_for_growth(&mut self, limits: ListLimits, added_bytes: usize, added_count: usize) {
        let Encoding::Listpack(node) = &mut self.encoding else {
            return;
        };
        if !limits.exceeds(
            node.listpack_bytes.saturating_add(added_bytes),
            node.len() + added_count,
        ) {
            return;
        }
        let node = std::mem::replace(node, Node::new());
        let mut nodes = VecDeque::new();
        if !node.is_empty() {
            nodes.push_back(node);
        }
        self.encoding = Encoding::Quicklist(nodes);
    }

    /// Redis's `listTypeTryConversion(LIST_CONV_SHRINKING)`: call after
    /// removing elements. A quicklist left with one packed node at most half
    /// the limits becomes a listpack again.
    pub fn shrink_if_small(&mut self, limits: ListLimits) {
        let Encoding::Quicklist(nodes) = &mut self.encoding else {
            return;
        };
        if nodes.len() != 1 || nodes[0].plain {
            return;
        }
        let (size_limit, count_limit) = limits.node_limits();
        if nodes[0].listpack_bytes > size_limit / 2 || self.length > count_limit / 2 {
            return;
        }
        let node = nodes.pop_front().expect("one node");
        self.encoding = Encoding::Listpack(node);
    }

    /// Pushes one element at `end`. Call `prepare_for_growth` first.
    pub fn push(&mut self, limits: ListLimits, end: ListEnd, element: &[u8]) {
        self.length += 1;
        let nodes = match &mut self.encoding {
            Encoding::Listpack(node) => {
                node.push(end, element);
                return;
            }
            Encoding::Quicklist(nodes) => nodes,
        };
        let end_node = match end {
            ListEnd::Left => nodes.front_mut(),
            ListEnd::Right => nodes.back_mut(),
        };
        match end_node {
            Some(node) if node.allows_insert(element.len(), limits) => {
                node.push(end, element);
                return;
            }
            // The end node is full for good: give back its growth slack.
            Some(node) => node.packed.shrink_to_fit(),
            None => {}
        }
        let node = Node::with_element(element, limits.is_large_element(element.len()));
        match end {
            ListEnd::Left => nodes.push_front(node),
            ListEnd::Right => nodes.push_back(node),
        }
    }

    /// Pops one element from `end`. The caller deletes the key when the list
    /// becomes empty and calls `shrink_if_small` otherwise.
    pub fn pop(&mut self, end: ListEnd) -> Option<Bytes> {
        if self.length == 0 {
            return None;
        }
        self.length -= 1;
        let nodes = match &mut self.encoding {
            Encoding::Listpack(node) => return node.pop(end),
            Encoding::Quicklist(nodes) => nodes,
        };
        let node = match end {
            ListEnd::Left => nodes.front_mut(),
            ListEnd::Right => nodes.back_mut(),
        }
        .expect("a non-empty quicklist has nodes");
        let popped = node.pop(end);
        if node.is_empty() {
            match end {
                ListEnd::Left => nodes.pop_front(),
                ListEnd::Right => nodes.pop_back(),
            };
        }
        popped
    }

    /// The element at `index` (0-based from the left), if any.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.length {
            return None;
        }
        let (node_index, within) = self.locate(index);
        Some(self.node(node_index).get(within))
    }

    /// The elements from `index` towards the right end.
    pub fn iter_from(&self, index: usize) -> ListIter<'_> {
        ListIter::new(self, index, false)
    }

    /// The elements from `index` towards the left end.
    pub fn iter_back_from(&self, index: usize) -> ListIter<'_> {
        ListIter::new(self, index, true)
    }

    pub fn iter(&self) -> ListIter<'_> {
        self.iter_from(0)
    }

    /// Copies `count` elements starting at `index` (towards the left end when
    /// `reverse`) into one buffer and returns them as slices of it: one
    /// allocation for the whole range instead of one per element.
    pub fn range_bytes(&self, index: usize, count: usize, reverse: bool) -> Vec<Bytes> {
        self.range_map(index, count, reverse, |element| element)
    }

    /// Like [`ListValue::range_bytes`], but passes each element through `make`
    /// so that callers build their own values (reply frames, say) without an
    /// intermediate `Vec<Bytes>`. Each node's span of the range is found in a
    /// single walk and copied with one `memcpy`; the elements are slices of
    /// that copy.
    pub fn range_map<T>(&self, index: usize, count: usize, reverse: bool, mut make: impl FnMut(Bytes) -> T) -> Vec<T> {
        if index >= self.length {
            return Vec::new();
        }
        let count = count.min(if reverse { index + 1 } else { self.length - index });
        if count == 0 {
            return Vec::new();
        }
        let (mut node_index, within) = self.locate(index);
        let (entry_start, entry_end) = self.node(node_index).span_of(within);
        let mut offset = if reverse { entry_end } else { entry_start };
        let mut buffer: Vec<u8> = Vec::new();
        // (data start in `buffer`, data length) of each element, in reply order.
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(count);
        loop {
            let packed = &self.node(node_index).packed;
            let segment_start;
            let segment_end;
            let buffer_base = buffer.len();
            let segment_first = spans.len();
            if reverse {
                segment_end = offset;
                while spans.len() < count && offset > 0 {
                    let (start, data_start, length) = read_entry_backward(packed, offset);
                    spans.push((data_start, length));
                    offset = start;
                }
                segment_start = offset;
            } else {
                segment_start = offset;
                while spans.len() < count && offset < packed.len() {
                    let (data_start, length, entry_end) = read_entry_forward(packed, offset);
                    spans.push((data_start, length));
                    offset = entry_end;
                }
                segment_end = offset;
            }
            buffer.extend_from_slice(&packed[segment_start..segment_end]);
            // Rebase the spans just read from node offsets to buffer offsets.
            for (data_start, _) in &mut spans[segment_first..] {
                *data_start = *data_start - segment_start + buffer_base;
            }
            if spans.len() == count {
                break;
            }
            if reverse {
                node_index -= 1;
                offset = self.node(node_index).packed.len();
            } else {
                node_index += 1;
                offset = 0;
            }
        }
        let buffer = Bytes::from(buffer);
        let mut values = Vec::with_capacity(count);
        for (data_start, length) in spans {
            values.push(make(buffer.slice(data_start..data_start + length)));
        }
        values
    }

    /// LSET: replaces the element at `index`. Returns false if out of range.
    /// Call `prepare_for_growth` first and `shrink_if_small` after.
    pub fn set(&mut self, limits: ListLimits, index: usize, element: &[u8]) -> bool {
        if index >= self.length {
            return false;
        }
        let (node_index, within) = self.locate(index);
        if matches!(self.encoding, Encoding::Listpack(_)) {
            self.node_mut(0).replace(within, element);
            return true;
        }
        let large = limits.is_large_element(element.len());
        let node = self.node_mut(node_index);
        if !node.plain && !large {
            let old_bytes = listpack_entry_bytes(node.get(within));
            let new_size = node.listpack_bytes - old_bytes + element.len() + INSERT_OVERHEAD_ESTIMATE_BYTES;
            if !limits.exceeds(new_size, node.len()) {
                node.replace(within, element);
                return true;
            }
        }
        if node.plain && large {
            *node = Node::with_element(element, true);
            return true;
        }
        // The element no longer fits where it is: give it a node of its
        // own between the entries before and after it, then merge around it.
        let nodes = self.quicklist_nodes();
        let tail = nodes[node_index].split_off(within + 1);
        nodes[node_index].remove(within);
        let mut new_index = node_index + 1;
        nodes.insert(new_index, Node::with_element(element, large));
        if !tail.is_empty() {
            nodes.insert(new_index + 1, tail);
        }
        if nodes[node_index].is_empty() {
            nodes.remove(node_index);
            new_index -= 1;
        }
        merge_around(nodes, new_index, limits);
        true
    }

    /// LINSERT: inserts `element` before or after the element at `pivot`.
    /// Call `prepare_for_growth` first.
    pub fn insert(&mut self, limits: ListLimits, pivot: usize, after: bool, element: &[u8]) {
        let (node_index, within) = self.locate(pivot);
        self.length += 1;
        if matches!(self.encoding, Encoding::Listpack(_)) {
            self.node_mut(0).insert(within + after as usize, element);
            return;
        }
        let nodes = self.quicklist_nodes();
        quicklist_insert(nodes, node_index, within, after, element, limits);
    }

    /// Removes `count` elements starting at `index` (LTRIM, LPOP with a
    /// count). Nodes wholly inside the range are dropped; no nodes merge.
    pub fn remove_range(&mut self, index: usize, count: usize) {
        let count = count.min(self.length.saturating_sub(index));
        if count == 0 {
            return;
        }
        self.length -= count;
        if let Encoding::Listpack(node) = &mut self.encoding {
            node.remove_range(index, count);
            return;
        }
        let nodes = self.quicklist_nodes();
        let mut node_index = 0;
        let mut skipped = 0;
        while skipped + nodes[node_index].len() <= index {
            skipped += nodes[node_index].len();
            node_index += 1;
        }
        let mut within = index - skipped;
        let mut remaining = count;
        while remaining > 0 {
            let node_len = nodes[node_index].len();
            let removable = (node_len - within).min(remaining);
            if removable == node_len {
                nodes.remove(node_index);
            } else {
                nodes[node_index].remove_range(within, removable);
                node_index += 1;
            }
            remaining -= removable;
            within = 0;
        }
    }

    /// LREM: removes up to `limit` elements equal to `element` (all of them
    /// when `limit` is 0), scanning from the right end when `from_right`.
    /// Returns how many were removed.
    pub fn remove_matching(&mut self, element: &[u8], limit: usize, from_right: bool) -> usize {
        let mut removed_total = 0;
        let mut node_index_opt = match from_right {
            false => Some(0),
            true => self.node_count().checked_sub(1),
        };
        while let Some(node_index) = node_index_opt {
            if node_index >= self.node_count() || (limit != 0 && removed_total == limit) {
                break;
            }
            let budget = if limit == 0 { usize::MAX } else { limit - removed_total };
            let node = self.node_mut(node_index);
            let removed = remove_matching_in_node(node, element, budget, from_right);
            removed_total += removed;
            let emptied = node.is_empty();
            let is_quicklist = matches!(self.encoding, Encoding::Quicklist(_));
            if emptied && is_quicklist {
                self.quicklist_nodes().remove(node_index);
            }
            node_index_opt = match (from_right, emptied && is_quicklist) {
                (false, true) => Some(node_index),
                (false, false) => Some(node_index + 1),
                (true, _) => node_index.checked_sub(1),
            };
        }
        self.length -= removed_total;
        removed_total
    }

    /// Every element, left to right, copied out (tests and conversions).
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }

    /// Checks the structure's invariants (tests).
    #[cfg(test)]
    fn check_invariants(&self, limits: ListLimits) {
        let mut total = 0;
        for node_index in 0..self.node_count() {
            let node = self.node(node_index);
            assert_eq!(node.iter().count(), node.len());
            let listpack_bytes: usize = node.iter().map(listpack_entry_bytes).sum();
            assert_eq!(node.listpack_bytes, LISTPACK_EMPTY_BYTES + listpack_bytes);
            if matches!(self.encoding, Encoding::Quicklist(_)) {
                assert!(!node.is_empty(), "empty quicklist node");
                if node.plain {
                    assert_eq!(node.len(), 1);
                }
            }
            total += node.len();
        }
        assert_eq!(total, self.length);
        let _ = limits;
    }
}

/// Removes up to `budget` entries equal to `element` from one node,
/// scanning from its right end when `from_right`. Returns how many.
fn remove_matching_in_node(node: &mut Node, element: &[u8], budget: usize, from_right: bool) -> usize {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < node.packed.len() {
        let (data_start, length, entry_end) = read_entry_forward(&node.packed, start);
        if &node.packed[data_start..data_start + length] == element {
            spans.push((start, entry_end));
        }
        start = entry_end;
    }
    if spans.len() > budget {
        if from_right {
            spans.drain(..spans.len() - budget);
        } else {
            spans.truncate(budget);
        }
    }
    if spans.is_empty() {
        return 0;
    }
    let removed = spans.len();
    let mut kept = Vec::with_capacity(node.packed.len() - spans.iter().map(|(s, e)| e - s).sum::<usize>());
    let mut cursor = 0;
    for (span_start, span_end) in &spans {
        kept.extend_from_slice(&node.packed[cursor..*span_start]);
        cursor = *span_end;
    }
    kept.extend_from_slice(&node.packed[cursor..]);
    node.packed = kept;
    node.count -= removed as u32;
    node.listpack_bytes -= removed * listpack_entry_bytes(element);
    removed
}

/// Redis's `_quicklistInsert`: inserts `element` before or after entry
/// `within` of node `node_index`.
fn quicklist_insert(
    nodes: &mut VecDeque<Node>,
    node_index: usize,
    within: usize,
    after: bool,
    element: &[u8],
    limits: ListLimits,
) {
    let node = &nodes[node_index];
    let full = !node.allows_insert(element.len(), limits);
    let at_tail = after && within == node.len() - 1;
    let at_head = !after && within == 0;
    let next_available = at_tail
        && nodes
            .get(node_index + 1)
            .is_some_and(|next| next.allows_insert(element.len(), limits));
    let previous_available = at_head && node_index > 0 && nodes[node_index - 1].allows_insert(element.len(), limits);

    if limits.is_large_element(element.len()) {
        let plain = Node::with_element(element, true);
        if node.plain || at_tail || at_head {
            nodes.insert(node_index + after as usize, plain);
        } else {
            let tail = nodes[node_index].split_off(within + after as usize);
            nodes.insert(node_index + 1, plain);
            nodes.insert(node_index + 2, tail);
        }
        return;
    }
    if !full {
        nodes[node_index].insert(within + after as usize, element);
    } else if at_tail && next_available {
        nodes[node_index + 1].push(ListEnd::Left, element);
    } else if at_head && previous_available {
        nodes[node_index - 1].push(ListEnd::Right, element);
    } else if at_tail || at_head {
        nodes.insert(node_index + after as usize, Node::with_element(element, false));
    } else {
        // Full, and the pivot is inside the node: split it there, put the
        // element at the cut, then merge what can be merged.
        let mut tail = nodes[node_index].split_off(within + after as usize);
        tail.push(ListEnd::Left, element);
        nodes.insert(node_index + 1, tail);
        merge_around(nodes, node_index, limits);
    }
}

/// Redis's `_quicklistMergeNodes`: merges the neighbours of node `center`
/// with each other and with it, wherever the result fits the limits.
fn merge_around(nodes: &mut VecDeque<Node>, center: usize, limits: ListLimits) {
    let mut center = center;
    // The two nodes before the center, then the two after it.
    if center >= 2 && nodes[center - 2].allows_merge(&nodes[center - 1], limits) {
        merge_into_previous(nodes, center - 1);
        center -= 1;
    }
    if center + 2 < nodes.len() && nodes[center + 1].allows_merge(&nodes[center + 2], limits) {
        merge_into_previous(nodes, center + 2);
    }
    // The center with the node before it, then the result with the next.
    if center >= 1 && nodes[center - 1].allows_merge(&nodes[center], limits) {
        merge_into_previous(nodes, center);
        center -= 1;
    }
    if center + 1 < nodes.len() && nodes[center].allows_merge(&nodes[center + 1], limits) {
        merge_into_previous(nodes, center + 1);
    }
}

/// Appends node `index` to node `index - 1` and removes it.
fn merge_into_previous(nodes: &mut VecDeque<Node>, index: usize) {
    let node = nodes.remove(index).expect("node to merge exists");
    nodes[index - 1].append(node);
}

/// Walks a list's elements from an index towards one end.
pub struct ListIter<'a> {
    list: &'a ListValue,
    node_index: usize,
    /// Forward: offset of the next entry's start; backward: of the next
    /// entry's end, in the current node.
    offset: usize,
    remaining: usize,
    backward: bool,
}

impl<'a> ListIter<'a> {
    fn new(list: &'a ListValue, index: usize, backward: bool) -> ListIter<'a> {
        if index >= list.len() {
            return ListIter {
                list,
                node_index: 0,
                offset: 0,
                remaining: 0,
                backward,
            };
        }
        let (node_index, within) = list.locate(index);
        let (start, end) = list.node(node_index).span_of(within);
        let (offset, remaining) = if backward {
            (end, index + 1)
        } else {
            (start, list.len() - index)
        };
        ListIter {
            list,
            node_index,
            offset,
            remaining,
            backward,
        }
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let packed = &self.list.node(self.node_index).packed;
        if self.backward {
            let (start, data_start, length) = read_entry_backward(packed, self.offset);
            let element = &packed[data_start..data_start + length];
            if start == 0 && self.remaining > 0 {
                self.node_index -= 1;
                self.offset = self.list.node(self.node_index).packed.len();
            } else {
                self.offset = start;
            }
            Some(element)
        } else {
            let (data_start, length, entry_end) = read_entry_forward(packed, self.offset);
            let element = &packed[data_start..data_start + length];
            if entry_end == packed.len() && self.remaining > 0 {
                self.node_index += 1;
                self.offset = 0;
            } else {
                self.offset = entry_end;
            }
            Some(element)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl PartialEq for ListValue {
    fn eq(&self, other: &Self) -> bool {
        self.length == other.length && self.iter().eq(other.iter())
    }
}

/// A byte string serialized as MessagePack `bin`.
struct ElementBytes<'a>(&'a [u8]);

impl Serialize for ElementBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Serialized as the sequence of its elements, whatever the encoding.
impl Serialize for ListValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.length))?;
        for element in self.iter() {
            sequence.serialize_element(&ElementBytes(element))?;
        }
        sequence.end()
    }
}

impl<'de> Deserialize<'de> for ListValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ListValue;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a sequence of byte strings")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<ListValue, A::Error> {
                // No capacity from the size hint: a forged payload must not
                // make us allocate more than it holds.
                let mut elements: Vec<crate::keyspace::SmallBytes> = Vec::new();
                while let Some(element) = sequence.next_element()? {
                    elements.push(element);
                }
                let list = ListValue::from_elements(elements.iter().map(|element| &element[..]), ListLimits::DEFAULT);
                Ok(list)
            }
        }

        deserializer.deserialize_seq(ListVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list_of(elements: &[&str], limits: ListLimits) -> ListValue {
        ListValue::from_elements(elements.iter().map(|element| element.as_bytes()), limits)
    }

    fn strings(list: &ListValue) -> Vec<String> {
        list.iter()
            .map(|element| String::from_utf8_lossy(element).into_owned())
            .collect()
    }

    #[test]
    fn varints_round_trip_from_both_ends() {
        for length in [0usize, 1, 127, 128, 300, 16_383, 16_384, 1 << 21, 1 << 28] {
            let mut header = [0u8; MAX_VARINT_BYTES];
            let header_len = write_varint(length, &mut header);
            assert_eq!(header_len, varint_len(length));
            let mut packed = header[..header_len].to_vec();
            packed.resize(header_len + length, b'x');
            packed.extend(header[..header_len].iter().rev());
            assert_eq!(read_entry_forward(&packed, 0), (header_len, length, packed.len()));
            assert_eq!(read_entry_backward(&packed, packed.len()), (0, header_len, length));
        }
    }

    #[test]
    fn listpack_sizes_follow_redis() {
        assert_eq!(listpack_entry_bytes(b"0"), 2);
        assert_eq!(listpack_entry_bytes(b"127"), 2);
        assert_eq!(listpack_entry_bytes(b"128"), 3);
        assert_eq!(listpack_entry_bytes(b"-4096"), 3);
        assert_eq!(listpack_entry_bytes(b"32767"), 4);
        assert_eq!(listpack_entry_bytes(b"8388607"), 5);
        assert_eq!(listpack_entry_bytes(b"2147483647"), 6);
        assert_eq!(listpack_entry_bytes(b"2147483648"), 10);
        assert_eq!(listpack_entry_bytes(b"007"), 5);
        assert_eq!(listpack_entry_bytes(b"xxx"), 5);
        assert_eq!(listpack_entry_bytes(&[b'a'; 63]), 65);
        assert_eq!(listpack_entry_bytes(&[b'a'; 64]), 67);
        assert_eq!(listpack_entry_bytes(&[b'a'; 4096]), 4101 + 2);
    }

    #[test]
    fn small_lists_are_listpacks_and_grow_into_quicklists() {
        let limits = ListLimits::DEFAULT;
        let mut list = ListValue::new();
        // Each "xxx" takes 5 listpack bytes: 7 + 5 * 1637 = 8192 fits.
        for _ in 0..1637 {
            list.prepare_for_growth(limits, 3, 1);
            list.push(limits, ListEnd::Right, b"xxx");
        }
        assert_eq!(list.encoding_name(), "listpack");
        list.prepare_for_growth(limits, 3, 1);
        list.push(limits, ListEnd::Right, b"xxx");
        assert_eq!(list.encoding_name(), "quicklist");
        assert_eq!(list.node_count(), 2);
        list.check_invariants(limits);
        // Shrinks back once one node of at most 4096 bytes is left.
        list.pop(ListEnd::Right);
        list.shrink_if_small(limits);
        assert_eq!(list.encoding_name(), "quicklist");
        // 7 + 5 * 817 = 4092 is the first size at most half of 8192.
        while list.len() > 818 {
            list.pop(ListEnd::Left);
            list.shrink_if_small(limits);
            assert_eq!(list.encoding_name(), "quicklist", "at {}", list.len());
        }
        list.pop(ListEnd::Left);
        list.shrink_if_small(limits);
        assert_eq!(list.encoding_name(), "listpack");
        list.check_invariants(limits);
    }

    #[test]
    fn count_limits_convert_at_the_count() {
        let limits = ListLimits::new(4);
        let mut list = list_of(&["a", "b", "c", "d"], limits);
        assert_eq!(list.encoding_name(), "listpack");
        list.prepare_for_growth(limits, 1, 1);
        list.push(limits, ListEnd::Left, b"e");
        assert_eq!(list.encoding_name(), "quicklist");
        assert_eq!(strings(&list), ["e", "a", "b", "c", "d"]);
        list.remove_range(0, 3);
        list.shrink_if_small(limits);
        assert_eq!(list.encoding_name(), "listpack");
        assert_eq!(strings(&list), ["c", "d"]);
    }

    #[test]
    fn large_elements_get_plain_nodes() {
        let limits = ListLimits::DEFAULT;
        let big = vec![b'z'; 10_000];
        let mut list = list_of(&["a"], limits);
        list.prepare_for_growth(limits, big.len(), 1);
        list.push(limits, ListEnd::Right, &big);
        list.push(limits, ListEnd::Right, b"b");
        assert_eq!(list.encoding_name(), "quicklist");
        assert_eq!(list.node_count(), 3);
        assert!(list.node(1).plain);
        assert_eq!(list.get(1), Some(&big[..]));
        list.check_invariants(limits);
    }

    #[test]
    fn ranges_match_iteration_at_every_start_count_and_direction() {
        let limits = ListLimits::new(3);
        let elements: Vec<String> = (0..11).map(|n| "x".repeat(n * 20)).collect();
        let list = ListValue::from_elements(elements.iter().map(|element| element.as_bytes()), limits);
        assert!(list.node_count() > 3);
        for index in 0..=elements.len() {
            for count in 0..=elements.len() + 1 {
                let forward: Vec<&[u8]> = list.iter_from(index).take(count).collect();
                assert_eq!(
                    list.range_bytes(index, count, false),
                    forward,
                    "forward {index} {count}"
                );
                let backward: Vec<&[u8]> = list.iter_back_from(index).take(count).collect();
                assert_eq!(
                    list.range_bytes(index, count, true),
                    backward,
                    "backward {index} {count}"
                );
            }
        }
    }

    #[test]
    fn index_and_iteration_cross_node_boundaries() {
        let limits = ListLimits::new(3);
        let elements: Vec<String> = (0..20).map(|n| format!("e{n}")).collect();
        let list = ListValue::from_elements(elements.iter().map(|element| element.as_bytes()), limits);
        assert_eq!(list.encoding_name(), "quicklist");
        for (index, element) in elements.iter().enumerate() {
            assert_eq!(list.get(index), Some(element.as_bytes()));
            let forward: Vec<&[u8]> = list.iter_from(index).collect();
            assert_eq!(forward.len(), elements.len() - index);
            assert_eq!(forward[0], element.as_bytes());
            let backward: Vec<&[u8]> = list.iter_back_from(index).collect();
            assert_eq!(backward.len(), index + 1);
            assert_eq!(*backward.last().unwrap(), b"e0");
        }
        assert_eq!(list.get(20), None);
        let range = list.range_bytes(18, 5, false);
        assert_eq!(range, vec![Bytes::from_static(b"e18"), Bytes::from_static(b"e19")]);
        let reversed = list.range_bytes(2, 3, true);
        assert_eq!(
            reversed,
            vec![
                Bytes::from_static(b"e2"),
                Bytes::from_static(b"e1"),
                Bytes::from_static(b"e0")
            ]
        );
    }

    #[test]
    fn remove_matching_respects_direction_and_limit() {
        let limits = ListLimits::new(2);
        let mut list = list_of(&["a", "b", "a", "c", "a", "a"], limits);
        assert_eq!(list.remove_matching(b"a", 2, true), 2);
        assert_eq!(strings(&list), ["a", "b", "a", "c"]);
        assert_eq!(list.remove_matching(b"a", 1, false), 1);
        assert_eq!(strings(&list), ["b", "a", "c"]);
        assert_eq!(list.remove_matching(b"zz", 0, false), 0);
        assert_eq!(list.remove_matching(b"a", 0, false), 1);
        assert_eq!(strings(&list), ["b", "c"]);
        list.check_invariants(limits);
    }

    #[test]
    fn serde_round_trip_keeps_the_elements() {
        let limits = ListLimits::DEFAULT;
        let list = list_of(&["a", "", "123", "xyz"], limits);
        let bytes = rmp_serde::to_vec(&list).unwrap();
        let decoded: ListValue = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(decoded, list);
        assert_eq!(decoded.encoding_name(), "listpack");
    }

    #[derive(Clone, Debug)]
    enum Operation {
        Push(bool, Vec<u8>),
        Pop(bool),
        Set(usize, Vec<u8>),
        Insert(usize, bool, Vec<u8>),
        RemoveRange(usize, usize),
        RemoveMatching(Vec<u8>, usize, bool),
    }

    fn element() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => proptest::collection::vec(b'a'..=b'c', 0..4),
            1 => proptest::collection::vec(any::<u8>(), 100..300),
            1 => Just(vec![b'L'; 5000]),
        ]
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            6 => (any::<bool>(), element()).prop_map(|(left, element)| Operation::Push(left, element)),
            2 => any::<bool>().prop_map(Operation::Pop),
            1 => (any::<usize>(), element()).prop_map(|(index, element)| Operation::Set(index, element)),
            2 => (any::<usize>(), any::<bool>(), element())
                .prop_map(|(index, after, element)| Operation::Insert(index, after, element)),
            1 => (any::<usize>(), 0usize..6).prop_map(|(index, count)| Operation::RemoveRange(index, count)),
            1 => (element(), 0usize..3, any::<bool>())
                .prop_map(|(element, limit, right)| Operation::RemoveMatching(element, limit, right)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_deque(fill in prop_oneof![Just(-1i64), Just(-2), Just(1), Just(3), Just(8)],
                                operations in proptest::collection::vec(operation(), 1..200)) {
            let limits = ListLimits::new(fill);
            let mut list = ListValue::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for operation in operations {
                match operation {
                    Operation::Push(left, element) => {
                        list.prepare_for_growth(limits, element.len(), 1);
                        let end = if left { ListEnd::Left } else { ListEnd::Right };
                        list.push(limits, end, &element);
                        if left { model.push_front(element) } else { model.push_back(element) }
                    }
                    Operation::Pop(left) => {
                        let end = if left { ListEnd::Left } else { ListEnd::Right };
                        let expected = if left { model.pop_front() } else { model.pop_back() };
                        prop_assert_eq!(list.pop(end).map(|bytes| bytes.to_vec()), expected);
                        list.shrink_if_small(limits);
                    }
                    Operation::Set(index, element) => {
                        if model.is_empty() { continue; }
                        let index = index % model.len();
                        list.prepare_for_growth(limits, element.len(), 1);
                        prop_assert!(list.set(limits, index, &element));
                        model[index] = element;
                        list.shrink_if_small(limits);
                    }
                    Operation::Insert(index, after, element) => {
                        if model.is_empty() { continue; }
                        let index = index % model.len();
                        list.prepare_for_growth(limits, element.len(), 1);
                        list.insert(limits, index, after, &element);
                        model.insert(index + after as usize, element);
                    }
                    Operation::RemoveRange(index, count) => {
                        if model.is_empty() { continue; }
                        let index = index % model.len();
                        list.remove_range(index, count);
                        let end = (index + count).min(model.len());
                        model.drain(index..end);
                        list.shrink_if_small(limits);
                    }
                    Operation::RemoveMatching(element, limit, from_right) => {
                        let removed = list.remove_matching(&element, limit, from_right);
                        let mut expected = 0;
                        let positions: Vec<usize> = if from_right {
                            (0..model.len()).rev().collect()
                        } else {
                            (0..model.len()).collect()
                        };
                        let mut doomed = Vec::new();
                        for position in positions {
                            if model[position] == element && (limit == 0 || expected < limit) {
                                doomed.push(position);
                                expected += 1;
                            }
                        }
                        doomed.sort_unstable();
                        for position in doomed.into_iter().rev() {
                            model.remove(position);
                        }
                        prop_assert_eq!(removed, expected);
                        list.shrink_if_small(limits);
                    }
                }
                list.check_invariants(limits);
                prop_assert_eq!(list.len(), model.len());
                let contents = list.to_vec();
                prop_assert_eq!(&contents, &model.iter().cloned().collect::<Vec<_>>());
                if let Some(last) = model.len().checked_sub(1) {
                    prop_assert_eq!(list.get(last), Some(&model[last][..]));
                    prop_assert_eq!(list.iter_back_from(last).count(), model.len());
                }
            }
        }
    }
}
