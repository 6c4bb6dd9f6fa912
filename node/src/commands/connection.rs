//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT and RESET.
//! They touch no keys and run on the connection's own session.
//!
//! Starling has no ACL users yet: every connection is authenticated as
//! `default`, a user without a password, exactly as a Redis server started
//! without `requirepass`. AUTH and HELLO AUTH therefore accept any password
//! for `default` and refuse every other user name.

use bytes::Bytes;
use starling_protocol::{Frame, ProtocolVersion};

use super::args::{is_keyword, parse_i64, text};
use super::client::validate_client_name;
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;

/// The only user that exists until ACLs arrive.
const DEFAULT_USER: &[u8] = b"default";

pub fn commands() -> Vec<CommandSpec> {
    let handshake_flags =
        Flags::NOSCRIPT | Flags::LOADING | Flags::STALE | Flags::FAST | Flags::NO_AUTH | Flags::ALLOW_BUSY;
    vec![
        CommandSpec::new("ping", -1, Handler::Session(ping))
            .flags(Flags::FAST)
            .acl(&["@fast", "@connection"])
            .doc("connection", "1.0.0", "Returns the server's liveliness response."),
        CommandSpec::new("echo", 2, Handler::Session(echo))
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@fast", "@connection"])
            .doc("connection", "1.0.0", "Returns the given string."),
        CommandSpec::new("hello", -1, Handler::Session(hello))
            .flags(handshake_flags)
            .acl(&["@fast", "@connection"])
            .doc("connection", "6.0.0", "Handshakes with the Redis server."),
        CommandSpec::new("auth", -2, Handler::Session(auth))
            .flags(handshake_flags)
            .acl(&["@fast", "@connection"])
            .doc("connection", "1.0.0", "Authenticates the connection."),
        CommandSpec::new("select", 2, Handler::Session(select))
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@fast", "@connection"])
            .doc("connection", "1.0.0", "Changes the selected database."),
        CommandSpec::new("quit", -1, Handler::Session(quit))
            .flags(handshake_flags)
            .acl(&["@fast", "@connection"])
            .doc("connection", "1.0.0", "Closes the connection."),
        CommandSpec::new("reset", 1, Handler::Session(reset))
            .flags(handshake_flags)
            .acl(&["@fast", "@connection"])
            .doc("connection", "6.2.0", "Resets the connection."),
    ]
}

/// `PING [message]`
fn ping(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    match args.len() {
        1 => Ok(Frame::simple("PONG")),
        2 => Ok(Frame::bulk(args[1].clone())),
        _ => Err(CommandError::WrongArity("ping".into())),
    }
}

/// `ECHO message`
fn echo(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    Ok(Frame::bulk(args[1].clone()))
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
///
/// Every option is checked before anything changes: a failed HELLO leaves
/// the protocol and the name as they were.
fn hello(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let protocol_opt = args.get(1).map(|version| parse_protocol_version(version)).transpose()?;
    let mut credentials_opt = None;
    let mut client_name_opt = None;
    let mut index = 2;
    while index < args.len() {
        let remaining = args.len() - 1 - index;
        let option = &args[index];
        if is_keyword(option, "AUTH") && remaining >= 2 {
            credentials_opt = Some((&args[index + 1], &args[index + 2]));
            index += 3;
        } else if is_keyword(option, "SETNAME") && remaining >= 1 {
            validate_client_name(&args[index + 1])?;
            client_name_opt = Some(&args[index + 1]);
            index += 2;
        } else {
            return Err(CommandError::other(format!(
                "ERR Syntax error in HELLO option '{}'",
                text(option)
            )));
        }
    }
    if let Some((username, password)) = credentials_opt {
        authenticate(username, password)?;
    }
    if let Some(client_name) = client_name_opt {
        let client_name = text(client_name);
        session.client.update_names(|names| names.name = client_name);
    }
    if let Some(protocol) = protocol_opt {
        session.set_protocol(protocol);
    }
    Ok(hello_reply(session))
}

/// `HELLO`'s protocol argument: an integer, and then 2 or 3.
fn parse_protocol_version(arg: &[u8]) -> Result<ProtocolVersion, CommandError> {
    let version =
        parse_i64(arg).ok_or_else(|| CommandError::other("ERR Protocol version is not an integer or out of range"))?;
    match version {
        2 => Ok(ProtocolVersion::Resp2),
        3 => Ok(ProtocolVersion::Resp3),
        // Redis 7.2's exact text (the RESP3 specification's example differs).
        _ => Err(CommandError::other("NOPROTO unsupported protocol version")),
    }
}

/// The server description HELLO replies with: a map in RESP3, a flat array
/// of names and values in RESP2.
fn hello_reply(session: &Session) -> Frame {
    let protocol_number = match session.protocol {
        ProtocolVersion::Resp2 => 2,
        ProtocolVersion::Resp3 => 3,
    };
    let field = |name: &'static str| Frame::bulk(Bytes::from_static(name.as_bytes()));
    Frame::Map(vec![
        (field("server"), field("redis")),
        (field("version"), field(crate::REDIS_COMPATIBLE_VERSION)),
        (field("proto"), Frame::integer(protocol_number)),
        (field("id"), Frame::integer(session.client.id as i64)),
        (field("mode"), field(session.server.mode_name())),
        (field("role"), field("master")),
        (field("modules"), Frame::array(Vec::new())),
    ])
}

/// Checks a user name and password. The `default` user has no password, so
/// any password is accepted for it; no other user exists.
fn authenticate(username: &[u8], _password: &[u8]) -> Result<(), CommandError> {
    if username == DEFAULT_USER {
        return Ok(());
    }
    Err(CommandError::other(
        "WRONGPASS invalid username-password pair or user is disabled.",
    ))
}

/// `AUTH [username] password`
fn auth(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    match args {
        [_, _password] => Err(CommandError::other(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        )),
        [_, username, password] => {
            authenticate(username, password)?;
            Ok(Frame::ok())
        }
        _ => Err(CommandError::Syntax),
    }
}

/// `SELECT index`
///
/// A Starling node has a single database, 0.
fn select(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let index = parse_i64(&args[1]).ok_or(CommandError::NotInteger)?;
    let index = i32::try_from(index).map_err(|_| {
        CommandError::other(format!(
            "ERR value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        ))
    })?;
    if index == 0 {
        return Ok(Frame::ok());
    }
    if session.server.cluster_enabled {
        return Err(CommandError::other("ERR SELECT is not allowed in cluster mode"));
    }
    Err(CommandError::other("ERR DB index is out of range"))
}

/// `QUIT`: replies OK, then the connection closes once the reply is written.
fn quit(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    session.close_after_reply = true;
    Ok(Frame::ok())
}

/// `RESET`
fn reset(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    session.reset();
    Ok(Frame::simple("RESET"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_follow_redis() {
        assert_eq!(parse_protocol_version(b"2"), Ok(ProtocolVersion::Resp2));
        assert_eq!(parse_protocol_version(b"3"), Ok(ProtocolVersion::Resp3));
        for unsupported in [&b"1"[..], b"4", b"0", b"-3"] {
            assert_eq!(
                parse_protocol_version(unsupported).unwrap_err().to_string(),
                "NOPROTO unsupported protocol version"
            );
        }
        for not_integer in [&b"x"[..], b"3.0", b" 3", b""] {
            assert_eq!(
                parse_protocol_version(not_integer).unwrap_err().to_string(),
                "ERR Protocol version is not an integer or out of range"
            );
        }
    }

    #[test]
    fn only_the_default_user_exists() {
        assert!(authenticate(b"default", b"anything").is_ok());
        assert!(authenticate(b"default", b"").is_ok());
        for unknown in [&b"Default"[..], b"admin", b""] {
            assert_eq!(
                authenticate(unknown, b"x").unwrap_err().to_string(),
                "WRONGPASS invalid username-password pair or user is disabled."
            );
        }
    }
}
