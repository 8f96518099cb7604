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
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
    };
    // A second initialisation (tests starting several servers) keeps the first subscriber.
    let _ = result;
}
