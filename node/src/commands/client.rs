//! CLIENT: the container of connection subcommands (ID, SETNAME, GETNAME,
//! SETINFO, LIST, INFO, KILL, NO-EVICT, NO-TOUCH, HELP).
//!
//! They read and change the `ClientHandle`s of the client registry. Every
//! connection is a normal client of the `default` user until pub/sub,
//! replication and ACLs arrive, which is what the TYPE and USER filters see.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::{is_keyword, parse_i64, text};
use super::error::{CommandError, CommandResult};
use super::server::help_reply;
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::client::{ClientHandle, UnblockMode};
use crate::connection::session::Session;

pub fn commands() -> Vec<CommandSpec> {
    let session_flags = Flags::NOSCRIPT | Flags::LOADING | Flags::STALE;
    let admin_flags = Flags::ADMIN | session_flags;
    let admin_acl: &[&str] = &["@admin", "@slow", "@dangerous", "@connection"];
    let slow_acl: &[&str] = &["@slow", "@connection"];
    vec![CommandSpec::new("client", -2, Handler::Container)
        .acl(&["@slow"])
        .doc("connection", "2.4.0", "A container for client connection commands.")
        .subcommands(vec![
            CommandSpec::new("client|id", 2, Handler::Session(client_id))
                .flags(session_flags)
                .acl(slow_acl)
                .doc("connection", "5.0.0", "Returns the unique client ID of the connection."),
            CommandSpec::new("client|setname", 3, Handler::Session(client_setname))
                .flags(session_flags)
                .acl(slow_acl)
                .doc("connection", "2.6.9", "Sets the connection name."),
            CommandSpec::new("client|getname", 2, Handler::Session(client_getname))
                .flags(session_flags)
                .acl(slow_acl)
                .doc("connection", "2.6.9", "Returns the name of the connection."),
            CommandSpec::new("client|setinfo", 4, Handler::Session(client_setinfo))
                .flags(session_flags)
                .acl(slow_acl)
                .doc(
                    "connection",
                    "7.2.0",
                    "Sets information specific to the client or connection.",
                ),
            CommandSpec::new("client|list", -2, Handler::Session(client_list))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc("connection", "2.4.0", "Lists open connections."),
            CommandSpec::new("client|info", 2, Handler::Session(client_info))
                .flags(session_flags)
                .acl(slow_acl)
                .doc("connection", "6.2.0", "Returns information about the connection."),
            CommandSpec::new("client|kill", -3, Handler::Session(client_kill))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc("connection", "2.4.0", "Terminates open connections."),
            CommandSpec::new("client|unblock", -3, Handler::Session(client_unblock))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc(
                    "connection",
                    "5.0.0",
                    "Unblocks a client blocked by a blocking command from a different connection.",
                ),
            CommandSpec::new("client|no-evict", 3, Handler::Session(client_no_evict))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc(
                    "connection",
                    "7.0.0",
                    "Sets the client eviction mode of the connection.",
                ),
            CommandSpec::new("client|no-touch", 3, Handler::Session(client_no_touch))
                .flags(session_flags)
                .acl(slow_acl)
                .doc(
                    "connection",
                    "7.2.0",
                    "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
                ),
            CommandSpec::new("client|help", 2, Handler::Session(client_help))
                .flags(Flags::LOADING | Flags::STALE)
                .acl(slow_acl)
                .doc(
                    "connection",
                    "5.0.0",
                    "Returns helpful text about the different subcommands.",
                ),
        ])]
}

/// The command names CLIENT INFO and CLIENT LIST record as the current
/// client's `cmd=` before rendering it, as Redis sets it before running.
const CLIENT_INFO_NAME: &str = "client|info";
const CLIENT_LIST_NAME: &str = "client|list";

/// Checks a client name, library name or version: Redis allows only the
/// printable ASCII characters other than space (`!` to `~`), so that CLIENT
/// LIST lines can be split on spaces. The empty string is allowed (it clears).
pub fn is_valid_client_attribute(value: &[u8]) -> bool {
    value.iter().all(|&byte| (b'!'..=b'~').contains(&byte))
}

/// `is_valid_client_attribute` with the error CLIENT SETNAME and HELLO give.
pub fn validate_client_name(name: &[u8]) -> Result<(), CommandError> {
    if is_valid_client_attribute(name) {
        return Ok(());
    }
    Err(CommandError::other(
        "ERR Client names cannot contain spaces, newlines or special characters.",
    ))
}

/// `CLIENT ID`
fn client_id(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(Frame::integer(session.client.id as i64))
}

/// `CLIENT SETNAME connection-name`
fn client_setname(session: &mut Session, args: &[Bytes]) -> CommandResult {
    validate_client_name(&args[2])?;
    let name = text(&args[2]);
    session.client.update_names(|names| names.name = name);
    Ok(Frame::ok())
}

/// `CLIENT GETNAME`
fn client_getname(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let name = session.client.names().name;
    if name.is_empty() {
        return Ok(Frame::Null);
    }
    Ok(Frame::bulk(name))
}

/// `CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>`
fn client_setinfo(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let attribute = &args[2];
    let value = &args[3];
    let is_lib_name = is_keyword(attribute, "LIB-NAME");
    if !is_lib_name && !is_keyword(attribute, "LIB-VER") {
        return Err(CommandError::other(format!(
            "ERR Unrecognized option '{}'",
            text(attribute)
        )));
    }
    if !is_valid_client_attribute(value) {
        // Redis names the attribute as the client spelled it.
        return Err(CommandError::other(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            text(attribute)
        )));
    }
    let value = text(value);
    session.client.update_names(|names| {
        if is_lib_name {
            names.lib_name = value;
        } else {
            names.lib_version = value;
        }
    });
    Ok(Frame::ok())
}

/// The client classes of CLIENT LIST TYPE and CLIENT KILL TYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

impl ClientType {
    /// Redis's `getClientTypeByName`, with its error for unknown names.
    fn parse(name: &Bytes) -> Result<ClientType, CommandError> {
        if is_keyword(name, "normal") {
            Ok(ClientType::Normal)
        } else if is_keyword(name, "replica") || is_keyword(name, "slave") {
            Ok(ClientType::Replica)
        } else if is_keyword(name, "pubsub") {
            Ok(ClientType::PubSub)
        } else if is_keyword(name, "master") {
            Ok(ClientType::Master)
        } else {
            Err(CommandError::other(format!("ERR Unknown client type '{}'", text(name))))
        }
    }

    /// The class of `client`: every connection is a normal client until
    /// pub/sub and replication exist.
    fn of(_client: &ClientHandle) -> ClientType {
        ClientType::Normal
    }
}

/// The text CLIENT LIST and CLIENT INFO reply with: one line per client,
/// each ending in `\n`, as a verbatim string.
fn client_lines_reply<'a>(clients: impl Iterator<Item = &'a Arc<ClientHandle>>) -> Frame {
    let mut lines = String::new();
    for client in clients {
        lines.push_str(&client.info_line());
        lines.push('\n');
    }
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(lines),
    }
}

/// `CLIENT LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]`
fn client_list(session: &mut Session, args: &[Bytes]) -> CommandResult {
    session.client.touch(CLIENT_LIST_NAME);
    let registry = &session.server.clients;
    if args.len() == 4 && is_keyword(&args[2], "TYPE") {
        let wanted = ClientType::parse(&args[3])?;
        let clients = registry.all();
        return Ok(client_lines_reply(
            clients.iter().filter(|client| ClientType::of(client) == wanted),
        ));
    }
    if args.len() > 3 && is_keyword(&args[2], "ID") {
        // Listed in the order asked, unknown ids skipped, as Redis does.
        let mut clients = Vec::with_capacity(args.len() - 3);
        for id_arg in &args[3..] {
            let id = parse_i64(id_arg).ok_or_else(|| CommandError::other("ERR Invalid client ID"))?;
            if let Some(client) = u64::try_from(id).ok().and_then(|id| registry.get(id)) {
                clients.push(client);
            }
        }
        return Ok(client_lines_reply(clients.iter()));
    }
    if args.len() != 2 {
        return Err(CommandError::Syntax);
    }
    Ok(client_lines_reply(registry.all().iter()))
}

/// `CLIENT INFO`
fn client_info(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    session.client.touch(CLIENT_INFO_NAME);
    Ok(client_lines_reply(std::iter::once(&session.client)))
}

/// Which clients CLIENT KILL closes: a client must match every filter given.
#[derive(Debug, Default, PartialEq)]
struct KillFilter {
    address_opt: Option<String>,
    local_address_opt: Option<String>,
    type_opt: Option<ClientType>,
    id_opt: Option<u64>,
    /// Kill clients connected for more than this many seconds.
    max_age_secs_opt: Option<i64>,
    skip_me: bool,
}

impl KillFilter {
    /// Parses the `<filter> <value>` pairs of the new CLIENT KILL form
    /// (`args[2..]`), with Redis's error texts. USER accepts only `default`,
    /// the one user every client is authenticated as.
    fn parse(options: &[Bytes]) -> Result<KillFilter, CommandError> {
        let mut filter = KillFilter {
            skip_me: true,
            ..KillFilter::default()
        };
        for pair in options.chunks(2) {
            let [name, value] = pair else {
                return Err(CommandError::Syntax);
            };
            if is_keyword(name, "ID") {
                let id = parse_i64(value)
                    .filter(|&id| id >= 1)
                    .ok_or_else(|| CommandError::other("ERR client-id should be greater than 0"))?;
                filter.id_opt = Some(id as u64);
            } else if is_keyword(name, "TYPE") {
                filter.type_opt = Some(ClientType::parse(value)?);
            } else if is_keyword(name, "ADDR") {
                filter.address_opt = Some(text(value));
            } else if is_keyword(name, "LADDR") {
                filter.local_address_opt = Some(text(value));
            } else if is_keyword(name, "USER") {
                if value.as_ref() != b"default" {
                    return Err(CommandError::other(format!("ERR No such user '{}'", text(value))));
                }
            } else if is_keyword(name, "SKIPME") {
                filter.skip_me = if is_keyword(value, "YES") {
                    true
                } else if is_keyword(value, "NO") {
                    false
                } else {
                    return Err(CommandError::Syntax);
                };
            } else if is_keyword(name, "MAXAGE") {
                let max_age_secs = parse_i64(value)
                    .ok_or_else(|| CommandError::other("ERR maxage is not an integer or out of range"))?;
                filter.max_age_secs_opt = Some(max_age_secs);
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(filter)
    }

    fn matches(&self, client: &ClientHandle, myself_id: u64) -> bool {
        if self
            .address_opt
            .as_ref()
            .is_some_and(|address| *address != client.peer_address.to_string())
        {
            return false;
        }
        if self
            .local_address_opt
            .as_ref()
            .is_some_and(|address| *address != client.local_address.to_string())
        {
            return false;
        }
        if self.type_opt.is_some_and(|wanted| wanted != ClientType::of(client)) {
            return false;
        }
        if self.id_opt.is_some_and(|id| id != client.id) {
            return false;
        }
        if let Some(max_age_secs) = self.max_age_secs_opt.filter(|&max_age_secs| max_age_secs != 0) {
            if client.created_at.elapsed().as_secs() as i64 <= max_age_secs {
                return false;
            }
        }
        !(self.skip_me && client.id == myself_id)
    }
}

/// `CLIENT KILL <ip:port | <ID client-id | TYPE type | USER username | ADDR ip:port | LADDR ip:port | SKIPME yes/no | MAXAGE secs> ...>`
///
/// The old form (one address) replies OK or an error and may kill the caller;
/// the new form replies with the number of clients killed and skips the
/// caller unless `SKIPME no`. A killed client leaves the registry at once and
/// its connection closes at its next read; the caller's own connection
/// closes after this reply.
fn client_kill(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter {
            address_opt: Some(text(&args[2])),
            ..KillFilter::default()
        }
    } else {
        KillFilter::parse(&args[2..])?
    };
    let myself_id = session.client.id;
    let mut killed: i64 = 0;
    for client in session.server.clients.all() {
        if !filter.matches(&client, myself_id) {
            continue;
        }
        killed += 1;
        if client.id == myself_id {
            session.close_after_reply = true;
        } else {
            client.request_kill();
            session.server.clients.unregister(client.id);
        }
    }
    if !old_form {
        return Ok(Frame::integer(killed));
    }
    if killed == 0 {
        return Err(CommandError::other("ERR No such client"));
    }
    Ok(Frame::ok())
}

/// `CLIENT UNBLOCK client-id [TIMEOUT | ERROR]`
///
/// Replies 1 if the client was blocked (BLPOP and friends) and is now told
/// to stop waiting: as on timeout, or with an UNBLOCKED error; 0 otherwise.
fn client_unblock(session: &mut Session, args: &[Bytes]) -> CommandResult {
    if args.len() > 4 {
        return Err(CommandError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            text(&args[1])
        )));
    }
    let mode = match args.get(3) {
        None => UnblockMode::Timeout,
        Some(reason) if is_keyword(reason, "TIMEOUT") => UnblockMode::Timeout,
        Some(reason) if is_keyword(reason, "ERROR") => UnblockMode::Error,
        Some(_) => {
            return Err(CommandError::other(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = parse_i64(&args[2]).ok_or(CommandError::NotInteger)?;
    let unblocked = u64::try_from(id)
        .ok()
        .and_then(|id| session.server.clients.get(id))
        .is_some_and(|client| client.request_unblock(mode));
    Ok(Frame::integer(unblocked as i64))
}

/// Parses the `ON | OFF` argument of NO-EVICT and NO-TOUCH.
fn parse_on_off(arg: &Bytes) -> Result<bool, CommandError> {
    if is_keyword(arg, "ON") {
        Ok(true)
    } else if is_keyword(arg, "OFF") {
        Ok(false)
    } else {
        Err(CommandError::Syntax)
    }
}

/// `CLIENT NO-EVICT <ON | OFF>`
///
/// Starling does not evict clients yet; the flag is kept and shown (`e` in
/// CLIENT LIST) so that eviction, when it comes, honours it.
fn client_no_evict(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let enabled = parse_on_off(&args[2])?;
    session.client.no_evict.store(enabled, Ordering::Relaxed);
    Ok(Frame::ok())
}

/// `CLIENT NO-TOUCH <ON | OFF>`
fn client_no_touch(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let enabled = parse_on_off(&args[2])?;
    session.client.no_touch.store(enabled, Ordering::Relaxed);
    Ok(Frame::ok())
}

/// `CLIENT HELP`: Redis's text for the subcommands Starling implements.
fn client_help(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn client_attributes_are_printable_ascii_without_spaces() {
        assert!(is_valid_client_attribute(b""));
        assert!(is_valid_client_attribute(b"redis-py(3.12)~!"));
        for bad in [&b"a b"[..], b"a\nb", b"a\rb", b"caf\xc3\xa9", b"\x7f", b"a\x00"] {
            assert!(!is_valid_client_attribute(bad), "{bad:?}");
        }
    }

    #[test]
    fn kill_filters_parse_like_redis() {
        let filter = KillFilter::parse(&args(&["id", "7", "TYPE", "normal", "skipme", "no", "maxage", "5"])).unwrap();
        assert_eq!(filter.id_opt, Some(7));
        assert_eq!(filter.type_opt, Some(ClientType::Normal));
        assert!(!filter.skip_me);
        assert_eq!(filter.max_age_secs_opt, Some(5));
        assert!(KillFilter::parse(&args(&["addr", "1.2.3.4:5"])).unwrap().skip_me);

        let error = |words: &[&str]| KillFilter::parse(&args(words)).unwrap_err().to_string();
        assert_eq!(error(&["ID", "0"]), "ERR client-id should be greater than 0");
        assert_eq!(error(&["ID", "x"]), "ERR client-id should be greater than 0");
        assert_eq!(error(&["TYPE", "foo"]), "ERR Unknown client type 'foo'");
        assert_eq!(error(&["USER", "bob"]), "ERR No such user 'bob'");
        assert_eq!(error(&["SKIPME", "maybe"]), "ERR syntax error");
        assert_eq!(error(&["ID", "1", "extra"]), "ERR syntax error");
        assert_eq!(error(&["foo", "bar"]), "ERR syntax error");
        assert_eq!(error(&["MAXAGE", "x"]), "ERR maxage is not an integer or out of range");
    }

    #[test]
    fn client_types_accept_redis_names() {
        assert_eq!(
            ClientType::parse(&Bytes::from_static(b"SLAVE")),
            Ok(ClientType::Replica)
        );
        assert_eq!(
            ClientType::parse(&Bytes::from_static(b"replica")),
            Ok(ClientType::Replica)
        );
        assert_eq!(
            ClientType::parse(&Bytes::from_static(b"PubSub")),
            Ok(ClientType::PubSub)
        );
        assert_eq!(
            ClientType::parse(&Bytes::from_static(b"master")),
            Ok(ClientType::Master)
        );
    }
}
