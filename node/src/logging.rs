//! Logging through `tracing`, as text or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Maps Redis log level names to tracing filters; other values are used as
/// tracing filter directives.
fn filter_for(level: &str) -> EnvFilter {
    let directive = match level {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        "warning" => "warn",
        "nothing" => "off",
        other => other,
    };
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directive))
}

pub fn init(format: LogFormat, level: &str) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter_for(level))
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A subscriber may already be installed (tests start several servers).
    drop(result);
}
