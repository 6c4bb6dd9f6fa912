//! Commands, one file per family. Each family exposes `commands()`, the list
//! of its `CommandSpec`s; `all_commands` gathers them into the table.
//!
//! A command goes through the same steps everywhere: parse its arguments
//! (`args.rs` helpers), apply it to the keyspace or session, and return a
//! `Frame` or a `CommandError` whose text is Redis's.

pub mod args;
pub mod bitmap;
pub mod client;
pub mod cluster;
pub mod connection;
pub mod error;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod list;
pub mod migrate;
pub mod multikey;
pub mod random_reply;
pub mod server;
pub mod set;
pub mod slot_migration;
pub mod sort;
pub mod sorted_set;
pub mod staged;
pub mod string;
pub mod table;
pub mod transaction;

use table::CommandSpec;

use crate::keyspace::CollectionLimits;
use crate::shard::ShardCore;

pub fn all_commands() -> Vec<CommandSpec> {
    let mut specs = Vec::new();
    specs.extend(connection::commands());
    specs.extend(client::commands());
    specs.extend(string::commands());
    specs.extend(keys::commands());
    specs.extend(server::commands());
    specs.extend(hash::commands());
    specs.extend(list::commands());
    specs.extend(set::commands());
    specs.extend(sorted_set::commands());
    specs.extend(bitmap::commands());
    specs.extend(hyperloglog::commands());
    specs.extend(sort::commands());
    specs.extend(cluster::commands());
    specs.extend(migrate::commands());
    specs.extend(slot_migration::commands());
    specs.extend(transaction::commands());
    specs
}

/// The encoding thresholds this shard builds collections with, from its
/// configuration.
pub fn collection_limits(core: &ShardCore) -> CollectionLimits {
    CollectionLimits {
        hash: hash::listpack_limits(core),
        set: set::set_limits(core),
        sorted_set: sorted_set::listpack_limits(core),
        list: list::list_limits(core),
    }
}
