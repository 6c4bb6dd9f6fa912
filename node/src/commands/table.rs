//! The command table: every command as data (name, arity, flags, key
//! positions, ACL categories, docs) plus the function that runs it.
//!
//! Routing, CROSSSLOT detection, `COMMAND` output and (later) ACL checks all
//! read this table; no other code matches on command names.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;
use futures::future::LocalBoxFuture;

use super::error::{CommandError, CommandResult};
use crate::connection::session::Session;
use crate::shard::ShardCore;

/// Runs on the shard that owns all of the command's keys.
pub type ShardHandler = fn(&mut ShardCore, &[Bytes]) -> CommandResult;
/// Runs on the connection and touches no keyspace.
pub type SessionHandler = fn(&mut Session, &[Bytes]) -> CommandResult;
/// Runs on the connection's thread as a future; may message any shard.
pub type AsyncHandler = for<'a> fn(&'a mut Session, Vec<Bytes>) -> LocalBoxFuture<'a, CommandResult>;
/// Finds key positions for commands whose keys move (`numkeys` arguments).
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

#[derive(Clone, Copy)]
pub enum Handler {
    Shard(ShardHandler),
    Session(SessionHandler),
    Async(AsyncHandler),
    /// A container such as CLIENT or CONFIG: the subcommand runs.
    Container,
}

/// Command flags, named as `COMMAND INFO` prints them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    pub const WRITE: Flags = Flags(1);
    pub const READONLY: Flags = Flags(1 << 1);
    pub const DENYOOM: Flags = Flags(1 << 2);
    pub const ADMIN: Flags = Flags(1 << 3);
    pub const NOSCRIPT: Flags = Flags(1 << 4);
    pub const BLOCKING: Flags = Flags(1 << 5);
    pub const LOADING: Flags = Flags(1 << 6);
    pub const STALE: Flags = Flags(1 << 7);
    pub const FAST: Flags = Flags(1 << 8);
    pub const NO_AUTH: Flags = Flags(1 << 9);
    pub const MAY_REPLICATE: Flags = Flags(1 << 10);
    pub const NO_MULTI: Flags = Flags(1 << 11);
    pub const MOVABLE_KEYS: Flags = Flags(1 << 12);
    pub const ALLOW_BUSY: Flags = Flags(1 << 13);
    pub const SKIP_SLOWLOG: Flags = Flags(1 << 14);
    pub const SKIP_MONITOR: Flags = Flags(1 << 15);
    /// Served in an importing slot without ASKING (RESTORE-ASKING).
    pub const ASKING: Flags = Flags(1 << 16);
    /// Internal, not shown by COMMAND: runs on this node whenever its slot
    /// is migrating or importing, whether its keys are here or not
    /// (MIGRATE, as Redis's `getNodeByQuery` special-cases it).
    pub const RUNS_IN_OPEN_SLOT: Flags = Flags(1 << 17);
    pub const NONE: Flags = Flags(0);

    const NAMES: [(Flags, &'static str); 17] = [
        (Flags::WRITE, "write"),
        (Flags::READONLY, "readonly"),
        (Flags::DENYOOM, "denyoom"),
        (Flags::ADMIN, "admin"),
        (Flags::NOSCRIPT, "noscript"),
        (Flags::BLOCKING, "blocking"),
        (Flags::LOADING, "loading"),
        (Flags::STALE, "stale"),
        (Flags::SKIP_MONITOR, "skip_monitor"),
        (Flags::SKIP_SLOWLOG, "skip_slowlog"),
        (Flags::ASKING, "asking"),
        (Flags::FAST, "fast"),
        (Flags::NO_AUTH, "no_auth"),
        (Flags::MAY_REPLICATE, "may_replicate"),
        (Flags::NO_MULTI, "no_multi"),
        (Flags::MOVABLE_KEYS, "movablekeys"),
        (Flags::ALLOW_BUSY, "allow_busy"),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Flags::NAMES
            .into_iter()
            .filter(move |(flag, _)| self.contains(*flag))
            .map(|(_, name)| name)
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

/// Redis's legacy key specification: keys at `first`, `first + step`, ...
/// up to `last` (negative counts from the end). All zero: no keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

pub struct CommandSpec {
    /// Lower-case; subcommands are `container|sub`, as Redis names them.
    pub name: &'static str,
    /// Redis arity: positive means exactly, negative means at least.
    pub arity: i32,
    pub flags: Flags,
    pub keys: KeySpec,
    pub key_finder: Option<KeyFinder>,
    pub acl_categories: &'static [&'static str],
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub handler: Handler,
    /// Used in standalone mode when the keys live on more than one shard.
    pub cross_shard: Option<AsyncHandler>,
    pub subcommands: Vec<CommandSpec>,
    /// Where a single-key collection command names its member or field
    /// (`SADD key member`: 2). A pipelined batch prefetches those members'
    /// buckets in the collection's table (`ShardCore::execute_batch`).
    pub member_position_opt: Option<usize>,
}

impl CommandSpec {
    pub fn new(name: &'static str, arity: i32, handler: Handler) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags: Flags::NONE,
            keys: KeySpec::default(),
            key_finder: None,
            acl_categories: &[],
            group: "generic",
            summary: "",
            since: "1.0.0",
            handler,
            cross_shard: None,
            subcommands: Vec::new(),
            member_position_opt: None,
        }
    }

    pub fn flags(mut self, flags: Flags) -> Self {
        self.flags = flags;
        self
    }

    pub fn keys(mut self, first: i32, last: i32, step: i32) -> Self {
        self.keys = KeySpec { first, last, step };
        self
    }

    pub fn key_finder(mut self, finder: KeyFinder) -> Self {
        self.key_finder = Some(finder);
        self.flags = self.flags | Flags::MOVABLE_KEYS;
        self
    }

    /// The argument that names the member or field the command looks up
    /// in its key's collection.
    pub fn member_at(mut self, position: usize) -> Self {
        self.member_position_opt = Some(position);
        self
    }

    pub fn acl(mut self, categories: &'static [&'static str]) -> Self {
        self.acl_categories = categories;
        self
    }

    pub fn doc(mut self, group: &'static str, since: &'static str, summary: &'static str) -> Self {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self
    }

    pub fn cross_shard(mut self, handler: AsyncHandler) -> Self {
        self.cross_shard = Some(handler);
        self
    }

    pub fn subcommands(mut self, subcommands: Vec<CommandSpec>) -> Self {
        self.subcommands = subcommands;
        self
    }

    pub fn arity_ok(&self, argument_count: usize) -> bool {
        let count = argument_count as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            count == arity
        } else {
            count >= -arity
        }
    }

    /// Positions of the keys in `args` (args[0] is the command name).
    pub fn key_positions(&self, args: &[Bytes]) -> Vec<usize> {
        self.key_positions_iter(args).collect()
    }

    /// The same positions without allocating for fixed key specs: the
    /// routing of every request goes through here.
    pub fn key_positions_iter(&self, args: &[Bytes]) -> KeyPositions {
        if let Some(finder) = self.key_finder {
            return KeyPositions::Found(finder(args).into_iter());
        }
        let empty = KeyPositions::Found(Vec::new().into_iter());
        if self.keys.first <= 0 {
            return empty;
        }
        let last = if self.keys.last < 0 {
            args.len() as i64 + self.keys.last as i64
        } else {
            self.keys.last as i64
        };
        let last = last.min(args.len() as i64 - 1);
        if last < self.keys.first as i64 {
            return empty;
        }
        let step = self.keys.step.max(1) as usize;
        KeyPositions::Range((self.keys.first as usize..=last as usize).step_by(step))
    }

    /// The name as `COMMAND` and error texts show it.
    pub fn display_name(&self) -> &'static str {
        self.name
    }

    pub fn subcommand(&self, name: &[u8]) -> Option<&CommandSpec> {
        self.subcommands.iter().find(|sub| {
            let short = sub.name.rsplit('|').next().unwrap_or(sub.name);
            short.as_bytes().eq_ignore_ascii_case(name)
        })
    }
}

/// Iterator over a command's key positions.
pub enum KeyPositions {
    Range(std::iter::StepBy<std::ops::RangeInclusive<usize>>),
    Found(std::vec::IntoIter<usize>),
}

impl Iterator for KeyPositions {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Range(range) => range.next(),
            KeyPositions::Found(found) => found.next(),
        }
    }
}

pub struct CommandTable {
    by_name: HashMap<&'static str, CommandSpec, foldhash::fast::RandomState>,
}

/// Longest command name we look up; longer names are unknown commands.
const MAX_COMMAND_NAME_BYTES: usize = 32;

impl CommandTable {
    pub fn new(specs: Vec<CommandSpec>) -> CommandTable {
        let mut by_name = HashMap::with_capacity_and_hasher(specs.len(), foldhash::fast::RandomState::default());
        for spec in specs {
            assert!(spec.name.len() <= MAX_COMMAND_NAME_BYTES);
            assert_eq!(
                spec.name,
                spec.name.to_ascii_lowercase(),
                "command names are lower-case"
            );
            let previous = by_name.insert(spec.name, spec);
            assert!(previous.is_none(), "command registered twice");
        }
        CommandTable { by_name }
    }

    /// Finds a top-level command by name, case-insensitively.
    pub fn get(&self, name: &[u8]) -> Option<&CommandSpec> {
        if name.len() > MAX_COMMAND_NAME_BYTES {
            return None;
        }
        let mut lower = [0u8; MAX_COMMAND_NAME_BYTES];
        let lower = &mut lower[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let lower = std::str::from_utf8(lower).ok()?;
        self.by_name.get(lower)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &CommandSpec> {
        self.by_name.values()
    }

    /// Resolves `args` to the spec that runs it (the subcommand of a
    /// container) and checks its arity, with Redis's error texts.
    pub fn resolve(&self, args: &[Bytes]) -> Result<&CommandSpec, CommandError> {
        let spec = self.get(&args[0]).ok_or_else(|| CommandError::unknown_command(args))?;
        if !spec.arity_ok(args.len()) {
            return Err(CommandError::WrongArity(spec.name.to_string()));
        }
        if !matches!(spec.handler, Handler::Container) {
            return Ok(spec);
        }
        let sub_name = &args[1];
        let Some(sub) = spec.subcommand(sub_name) else {
            return Err(CommandError::UnknownSubcommand {
                subcommand: String::from_utf8_lossy(sub_name).into_owned(),
                container: spec.name.to_ascii_uppercase(),
            });
        };
        if !sub.arity_ok(args.len()) {
            return Err(CommandError::WrongArity(sub.name.to_string()));
        }
        Ok(sub)
    }
}

/// The table every connection uses, built once from each family's list.
pub static COMMAND_TABLE: LazyLock<CommandTable> = LazyLock::new(|| CommandTable::new(super::all_commands()));
