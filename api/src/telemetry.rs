//! Structured logs on stderr, with `tracing`.
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

/// Installs the global subscriber; sqlx's statement logging is kept at `warn` unless the
/// filter names sqlx itself.
pub fn init(config: &Config) {
    let mut filter = config.log_level.clone();
    if !filter.contains("sqlx") {
        filter.push_str(",sqlx=warn");
    }
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.log_format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colours for a terminal only, not for a file or a log collector.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
    };
    // A second initialisation (tests starting several servers) keeps the first subscriber.
    let _ = result;
}

/// `LOG_LEVEL`: a `tracing` filter whose every directive names a level, alone (`info`) or for
/// a target (`lup_api=debug`). A bare word that is no level would be taken as a target with
/// every level, and silence everything else (`inf` for `info`).
/// Empty (`LOG_LEVEL=` in an environment file) is the default, `info`, as an empty setting
/// is unset elsewhere: it would otherwise silence every log line, errors included.
pub fn parse_filter(value: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    if value.split(',').all(|d| d.trim().is_empty()) {
        return Ok("info".to_owned());
    }
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, level)| level);
        if !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
            return Err(format!(
                "`{directive}` does not name a level (trace, debug, info, warn, error, off), alone or for a target after `=`, e.g. `lup_api=debug`"
            ));
        }
    }
    EnvFilter::try_new(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("not a tracing filter: {e}"))
}
