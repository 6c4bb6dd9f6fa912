//! Placeholder: the bitmap family is being written.

use super::table::CommandSpec;

pub fn commands() -> Vec<CommandSpec> {
    Vec::new()
}
