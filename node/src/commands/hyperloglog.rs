//! Placeholder: the hyperloglog family is being written.

use super::table::CommandSpec;

pub fn commands() -> Vec<CommandSpec> {
    Vec::new()
}
