//! COMMAND: the command table as clients see it.
//!
//! Everything here is rendered from `COMMAND_TABLE`: names, arities, flags,
//! legacy key positions (first, last, step), ACL categories and docs. Key
//! specifications are derived from the legacy positions: a `range` find-keys
//! spec starting at `first`. Commands whose keys move (`numkeys` arguments)
//! carry the `movablekeys` flag and no key spec, so that clients ask COMMAND
//! GETKEYS, which runs the command's own key finder.
//!
//! Reply shapes follow Redis 7.2 in both protocols, including its RESP3
//! quirks: flags, ACL categories, tips and key specs are sets; an empty
//! subcommand list is a set, a non-empty one an array (a map in DOCS).

use bytes::Bytes;
use starling_protocol::Frame;

use super::help_reply;
use crate::commands::args::{is_keyword, text};
use crate::commands::error::{CommandError, CommandResult};
use crate::commands::table::{CommandSpec, Flags, Handler, COMMAND_TABLE};
use crate::connection::session::Session;
use crate::glob;

pub fn command() -> CommandSpec {
    let flags = Flags::LOADING | Flags::STALE;
    let acl: &[&str] = &["@slow", "@connection"];
    CommandSpec::new("command", -1, Handler::Session(command_entry))
        .flags(flags)
        .acl(acl)
        .doc("server", "2.8.13", "Returns detailed information about all commands.")
        .subcommands(vec![
            CommandSpec::new("command|count", 2, Handler::Session(command_count))
                .flags(flags)
                .acl(acl)
                .doc("server", "2.8.13", "Returns a count of commands."),
            CommandSpec::new("command|docs", -2, Handler::Session(command_docs))
                .flags(flags)
                .acl(acl)
                .doc(
                    "server",
                    "7.0.0",
                    "Returns documentary information about one, multiple or all commands.",
                ),
            CommandSpec::new("command|getkeys", -4, Handler::Session(command_getkeys))
                .flags(flags)
                .acl(acl)
                .doc("server", "2.8.13", "Extracts the key names from an arbitrary command."),
            CommandSpec::new(
                "command|getkeysandflags",
                -4,
                Handler::Session(command_getkeys_and_flags),
            )
            .flags(flags)
            .acl(acl)
            .doc(
                "server",
                "7.0.0",
                "Extracts the key names and access flags for an arbitrary command.",
            ),
            CommandSpec::new("command|help", 2, Handler::Session(command_help))
                .flags(flags)
                .acl(acl)
                .doc(
                    "server",
                    "5.0.0",
                    "Returns helpful text about the different subcommands.",
                ),
            CommandSpec::new("command|info", -2, Handler::Session(command_info))
                .flags(flags)
                .acl(acl)
                .doc(
                    "server",
                    "2.8.13",
                    "Returns information about one, multiple or all commands.",
                ),
            CommandSpec::new("command|list", -2, Handler::Session(command_list))
                .flags(flags)
                .acl(acl)
                .doc("server", "7.0.0", "Returns a list of command names."),
        ])
}

/// `COMMAND [subcommand ...]`
///
/// Unlike CLIENT or CONFIG, COMMAND runs on its own too, so it is not a
/// table container: it dispatches to its subcommands here, with the same
/// errors the table gives for containers.
fn command_entry(session: &mut Session, args: &[Bytes]) -> CommandResult {
    if args.len() == 1 {
        return Ok(all_command_info());
    }
    let spec = COMMAND_TABLE.get(&args[0]).expect("COMMAND is in the command table");
    let Some(subcommand) = spec.subcommand(&args[1]) else {
        return Err(CommandError::UnknownSubcommand {
            subcommand: text(&args[1]),
            container: "COMMAND".to_string(),
        });
    };
    if !subcommand.arity_ok(args.len()) {
        return Err(CommandError::WrongArity(subcommand.name.to_string()));
    }
    match subcommand.handler {
        Handler::Session(handler) => handler(session, args),
        _ => unreachable!("COMMAND subcommands run on the session"),
    }
}

/// Every top-level command, sorted by name so replies are reproducible.
fn sorted_commands() -> Vec<&'static CommandSpec> {
    let mut specs: Vec<&'static CommandSpec> = COMMAND_TABLE.iter().collect();
    specs.sort_by_key(|spec| spec.name);
    specs
}

/// Finds a command by its full name: `get`, or `config|get` for a
/// subcommand (case-insensitive), as Redis's `lookupCommandBySds` does.
fn lookup_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&byte| byte == b'|');
    let container = COMMAND_TABLE.get(parts.next()?)?;
    let Some(subcommand_name) = parts.next() else {
        return Some(container);
    };
    if parts.next().is_some() {
        return None;
    }
    container.subcommand(subcommand_name)
}

/// Finds the command a full command line runs: the subcommand of a
/// container when one is named, as Redis's `lookupCommand` does.
fn lookup_command_line(args: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = COMMAND_TABLE.get(&args[0])?;
    if args.len() == 1 || spec.subcommands.is_empty() {
        return Some(spec);
    }
    spec.subcommand(&args[1])
}

fn status_set(names: impl Iterator<Item = &'static str>) -> Frame {
    Frame::Set(
        names
            .map(|name| Frame::SimpleString(Bytes::from_static(name.as_bytes())))
            .collect(),
    )
}

fn bulk(text: &'static str) -> Frame {
    Frame::bulk(Bytes::from_static(text.as_bytes()))
}

/// The command flags COMMAND shows. Redis hides `may_replicate`.
fn visible_flag_names(flags: Flags) -> impl Iterator<Item = &'static str> {
    flags.names().filter(|&name| name != "may_replicate")
}

/// The access flags of a command's keys, derived from its command flags.
fn key_access_flags(spec: &CommandSpec) -> &'static [&'static str] {
    if spec.flags.contains(Flags::READONLY) && !spec.flags.contains(Flags::WRITE) {
        &["RO", "access"]
    } else {
        &["RW", "access", "update"]
    }
}

/// Key specs derived from the legacy positions; none when there are no
/// fixed key positions (keyless commands and `numkeys` commands).
fn key_specs(spec: &CommandSpec) -> Frame {
    if spec.keys.first <= 0 {
        return Frame::Set(Vec::new());
    }
    // A range's `lastkey` counts from the first key; negative counts from
    // the end of the arguments and is kept as is.
    let last_key = if spec.keys.last >= 0 {
        spec.keys.last - spec.keys.first
    } else {
        spec.keys.last
    };
    let begin_search = Frame::Map(vec![
        (bulk("type"), bulk("index")),
        (
            bulk("spec"),
            Frame::Map(vec![(bulk("index"), Frame::integer(spec.keys.first as i64))]),
        ),
    ]);
    let find_keys = Frame::Map(vec![
        (bulk("type"), bulk("range")),
        (
            bulk("spec"),
            Frame::Map(vec![
                (bulk("lastkey"), Frame::integer(last_key as i64)),
                (bulk("keystep"), Frame::integer(spec.keys.step as i64)),
                (bulk("limit"), Frame::integer(0)),
            ]),
        ),
    ]);
    Frame::Set(vec![Frame::Map(vec![
        (bulk("flags"), status_set(key_access_flags(spec).iter().copied())),
        (bulk("begin_search"), begin_search),
        (bulk("find_keys"), find_keys),
    ])])
}

/// One command's COMMAND INFO entry: name, arity, flags, first key, last
/// key, step, ACL categories, tips, key specs, subcommands.
fn command_info_entry(spec: &'static CommandSpec) -> Frame {
    let subcommands = if spec.subcommands.is_empty() {
        Frame::Set(Vec::new())
    } else {
        Frame::array(spec.subcommands.iter().map(command_info_entry).collect())
    };
    Frame::array(vec![
        bulk(spec.display_name()),
        Frame::integer(spec.arity as i64),
        status_set(visible_flag_names(spec.flags)),
        Frame::integer(spec.keys.first as i64),
        Frame::integer(spec.keys.last as i64),
        Frame::integer(spec.keys.step as i64),
        status_set(spec.acl_categories.iter().copied()),
        Frame::Set(Vec::new()),
        key_specs(spec),
        subcommands,
    ])
}

fn all_command_info() -> Frame {
    Frame::array(sorted_commands().into_iter().map(command_info_entry).collect())
}

/// One command's COMMAND DOCS entry: summary, since, group, subcommands.
fn command_docs_entry(spec: &'static CommandSpec) -> Frame {
    let mut fields = Vec::with_capacity(4);
    if !spec.summary.is_empty() {
        fields.push((bulk("summary"), bulk(spec.summary)));
    }
    fields.push((bulk("since"), bulk(spec.since)));
    fields.push((bulk("group"), bulk(spec.group)));
    if !spec.subcommands.is_empty() {
        let subcommands = spec
            .subcommands
            .iter()
            .map(|sub| (bulk(sub.name), command_docs_entry(sub)))
            .collect();
        fields.push((bulk("subcommands"), Frame::Map(subcommands)));
    }
    Frame::Map(fields)
}

/// `COMMAND COUNT`
fn command_count(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(Frame::integer(COMMAND_TABLE.len() as i64))
}

/// `COMMAND INFO [command-name [command-name ...]]`: nil for unknown names.
fn command_info(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        return Ok(all_command_info());
    }
    let entries = args[2..]
        .iter()
        .map(|name| lookup_full_name(name).map_or(Frame::Null, command_info_entry))
        .collect();
    Ok(Frame::array(entries))
}

/// `COMMAND DOCS [command-name [command-name ...]]`: unknown names are left out.
fn command_docs(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    let specs: Vec<&'static CommandSpec> = if args.len() == 2 {
        sorted_commands()
    } else {
        args[2..].iter().filter_map(|name| lookup_full_name(name)).collect()
    };
    Ok(Frame::Map(
        specs
            .into_iter()
            .map(|spec| (bulk(spec.name), command_docs_entry(spec)))
            .collect(),
    ))
}

/// The filter of COMMAND LIST.
enum ListFilter {
    All,
    /// No modules exist, so nothing matches.
    Module,
    /// An ACL category name without its `@`.
    AclCategory(Bytes),
    Pattern(Bytes),
}

impl ListFilter {
    fn parse(options: &[Bytes]) -> Result<ListFilter, CommandError> {
        match options {
            [] => Ok(ListFilter::All),
            [keyword, kind, value] if is_keyword(keyword, "FILTERBY") => {
                if is_keyword(kind, "MODULE") {
                    Ok(ListFilter::Module)
                } else if is_keyword(kind, "ACLCAT") {
                    Ok(ListFilter::AclCategory(value.clone()))
                } else if is_keyword(kind, "PATTERN") {
                    Ok(ListFilter::Pattern(value.clone()))
                } else {
                    Err(CommandError::Syntax)
                }
            }
            _ => Err(CommandError::Syntax),
        }
    }

    fn accepts(&self, spec: &CommandSpec) -> bool {
        match self {
            ListFilter::All => true,
            ListFilter::Module => false,
            ListFilter::AclCategory(category) => spec.acl_categories.iter().any(|listed| {
                listed
                    .strip_prefix('@')
                    .is_some_and(|name| name.as_bytes().eq_ignore_ascii_case(category))
            }),
            ListFilter::Pattern(pattern) => glob::matches(pattern, spec.name.as_bytes(), true),
        }
    }
}

/// `COMMAND LIST [FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]`
///
/// Names include subcommands (`config|get`).
fn command_list(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    let filter = ListFilter::parse(&args[2..])?;
    let mut names = Vec::new();
    for spec in sorted_commands() {
        let family = std::iter::once(spec).chain(spec.subcommands.iter());
        names.extend(family.filter(|spec| filter.accepts(spec)).map(|spec| bulk(spec.name)));
    }
    Ok(Frame::array(names))
}

/// Resolves the command line of COMMAND GETKEYS(ANDFLAGS) and finds its key
/// positions (relative to that command line), with Redis's errors.
fn keys_of_command_line(command_line: &[Bytes]) -> Result<(&'static CommandSpec, Vec<usize>), CommandError> {
    let spec = lookup_command_line(command_line).ok_or_else(|| CommandError::other("ERR Invalid command specified"))?;
    if spec.key_finder.is_none() && spec.keys.first <= 0 {
        return Err(CommandError::other("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(command_line.len()) {
        return Err(CommandError::other(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let positions = spec.key_positions(command_line);
    if positions.is_empty() {
        return Err(CommandError::other("ERR Invalid arguments specified for command"));
    }
    Ok((spec, positions))
}

/// `COMMAND GETKEYS command [arg [arg ...]]`
fn command_getkeys(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    let command_line = &args[2..];
    let (_, positions) = keys_of_command_line(command_line)?;
    Ok(Frame::array(
        positions
            .into_iter()
            .map(|position| Frame::bulk(command_line[position].clone()))
            .collect(),
    ))
}

/// `COMMAND GETKEYSANDFLAGS command [arg [arg ...]]`
fn command_getkeys_and_flags(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    let command_line = &args[2..];
    let (spec, positions) = keys_of_command_line(command_line)?;
    let flags = key_access_flags(spec);
    let entries = positions
        .into_iter()
        .map(|position| {
            Frame::array(vec![
                Frame::bulk(command_line[position].clone()),
                status_set(flags.iter().copied()),
            ])
        })
        .collect();
    Ok(Frame::array(entries))
}

/// `COMMAND HELP`
fn command_help(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn full_names_find_subcommands() {
        assert_eq!(lookup_full_name(b"GET").map(|spec| spec.name), Some("get"));
        assert_eq!(
            lookup_full_name(b"config|GET").map(|spec| spec.name),
            Some("config|get")
        );
        assert_eq!(lookup_full_name(b"config").map(|spec| spec.name), Some("config"));
        assert!(lookup_full_name(b"config|nosuch").is_none());
        assert!(lookup_full_name(b"config|get|x").is_none());
        assert!(lookup_full_name(b"get|x").is_none());
        assert!(lookup_full_name(b"nosuch").is_none());
    }

    #[test]
    fn getkeys_errors_follow_redis() {
        let error = |words: &[&str]| match keys_of_command_line(&args(words)) {
            Ok((spec, _)) => panic!("{} has keys", spec.name),
            Err(error) => error.to_string(),
        };
        assert_eq!(error(&["nosuch", "a"]), "ERR Invalid command specified");
        assert_eq!(error(&["config", "nosuch"]), "ERR Invalid command specified");
        assert_eq!(error(&["ping", "a"]), "ERR The command has no key arguments");
        assert_eq!(error(&["config", "get", "x"]), "ERR The command has no key arguments");
        assert_eq!(
            error(&["get", "a", "b"]),
            "ERR Invalid number of arguments specified for command"
        );
        let (spec, positions) = keys_of_command_line(&args(&["SET", "k", "v"])).unwrap();
        assert_eq!((spec.name, positions), ("set", vec![1]));
    }

    #[test]
    fn list_filters_parse_like_redis() {
        assert!(matches!(ListFilter::parse(&[]), Ok(ListFilter::All)));
        assert!(matches!(
            ListFilter::parse(&args(&["filterby", "module", "x"])),
            Ok(ListFilter::Module)
        ));
        for bad in [
            &["foo"][..],
            &["filterby", "pattern"],
            &["filterby", "foo", "x"],
            &["filterby", "aclcat", "a", "b"],
        ] {
            assert!(
                matches!(ListFilter::parse(&args(bad)), Err(CommandError::Syntax)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn get_info_matches_redis() {
        let spec = COMMAND_TABLE.get(b"get").unwrap();
        let Frame::Array(fields) = command_info_entry(spec) else {
            panic!("info entry is an array");
        };
        assert_eq!(fields[0], bulk("get"));
        assert_eq!(fields[1], Frame::integer(2));
        assert_eq!(fields[2], status_set(["readonly", "fast"].into_iter()));
        assert_eq!(
            &fields[3..6],
            &[Frame::integer(1), Frame::integer(1), Frame::integer(1)]
        );
        assert_eq!(fields[6], status_set(["@read", "@string", "@fast"].into_iter()));
        assert_eq!(fields[9], Frame::Set(Vec::new()));
    }
}
