//! Connection commands: PING and friends. They touch no keys.

use bytes::Bytes;
use starling_protocol::Frame;

use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;

pub fn commands() -> Vec<CommandSpec> {
    vec![CommandSpec::new("ping", -1, Handler::Session(ping))
        .flags(Flags::FAST)
        .acl(&["@fast", "@connection"])
        .doc("connection", "1.0.0", "Returns the server's liveliness response.")]
}

/// `PING [message]`
fn ping(_session: &mut Session, args: &[Bytes]) -> CommandResult {
    match args.len() {
        1 => Ok(Frame::simple("PONG")),
        2 => Ok(Frame::bulk(args[1].clone())),
        _ => Err(CommandError::WrongArity("ping".into())),
    }
}
