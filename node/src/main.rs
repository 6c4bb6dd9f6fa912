//! `starling-server`: runs one Starling node.

use clap::Parser;
use starling_node::config::{Flags, StartupConfig};

fn main() -> anyhow::Result<()> {
    let config = StartupConfig::from_flags(Flags::parse())?;
    starling_node::logging::init(config.log_format, &config.loglevel);
    starling_node::server::run(config)
}
