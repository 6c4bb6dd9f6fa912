//! `CommandError`: every error a command can reply with. `Display` is the
//! exact wire text (without the leading `-`), matching Redis 7.2.

use starling_protocol::Frame;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("ERR unknown subcommand '{subcommand}'. Try {container} HELP.")]
    UnknownSubcommand { subcommand: String, container: String },
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(&'static str),
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("ERR DUMP payload version or checksum are wrong")]
    BadDumpPayload,
    #[error("BUSYKEY Target key name already exists.")]
    BusyKey,
    #[error("ERR max number of clients reached")]
    MaxClients,
    /// Any other error; the text is the full wire text, e.g. "ERR offset is out of range".
    #[error("{0}")]
    Other(String),
}

impl CommandError {
    pub fn other(text: impl Into<String>) -> CommandError {
        CommandError::Other(text.into())
    }

    /// The reply `ERR unknown command` gives for `args` (the name as sent, and
    /// up to the first 128 arguments quoted, each followed by a space).
    pub fn unknown_command(args: &[bytes::Bytes]) -> CommandError {
        let name = String::from_utf8_lossy(&args[0]).into_owned();
        let mut quoted = String::new();
        for arg in args.iter().skip(1).take(128) {
            let text = String::from_utf8_lossy(arg);
            let shortened: String = text.chars().take(128).collect();
            quoted.push('\'');
            quoted.push_str(&shortened);
            quoted.push_str("' ");
        }
        CommandError::UnknownCommand { name, args: quoted }
    }
}

impl From<CommandError> for Frame {
    fn from(error: CommandError) -> Frame {
        Frame::error(error.to_string())
    }
}

/// What command implementations return: a reply, or an error reply.
pub type CommandResult = Result<Frame, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn unknown_command_text_matches_redis() {
        let args = [
            Bytes::from_static(b"foo"),
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
        ];
        assert_eq!(
            CommandError::unknown_command(&args).to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            CommandError::unknown_command(&args[..1]).to_string(),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }
}
