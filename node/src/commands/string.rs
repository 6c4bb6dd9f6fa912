//! String commands: GET, SET and friends.

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::{integer, is_keyword};
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::keyspace::{SmallBytes, Value};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("get", 2, Handler::Shard(get))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(&["@read", "@string", "@fast"])
            .doc("string", "1.0.0", "Returns the string value of a key."),
        CommandSpec::new("set", -3, Handler::Shard(set))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(&["@write", "@string", "@slow"])
            .doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
    ]
}

/// `GET key`
fn get(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match core.keyspace.lookup_read(&args[1], core.now_ms) {
        None => Ok(Frame::Null),
        Some(record) => match &record.value {
            Value::String(bytes) => Ok(Frame::bulk_from_slice(bytes)),
        },
    }
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
fn set(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let mut expire_at_ms = None;
    let mut keep_ttl = false;
    let mut index = 3;
    while index < args.len() {
        let option = &args[index];
        if is_keyword(option, "KEEPTTL") {
            keep_ttl = true;
        } else if is_keyword(option, "EX") && index + 1 < args.len() {
            let seconds = integer(&args[index + 1])?;
            if seconds <= 0 {
                return Err(CommandError::InvalidExpireTime("set"));
            }
            expire_at_ms = Some(core.now_ms + seconds as u64 * 1000);
            index += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    let key = &args[1];
    core.keyspace.set(key, Value::String(SmallBytes::from_slice(&args[2])), keep_ttl, core.now_ms);
    if let Some(at_ms) = expire_at_ms {
        core.keyspace.set_expire(key, at_ms);
    }
    Ok(Frame::ok())
}
