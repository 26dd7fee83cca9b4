//! Logging: `RUST_LOG`-style filters (default `info` for techmesh, `warn` for the
//! rest); `TECHMESH_LOG_FORMAT=json` for JSON lines. Logs go to stderr.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,techmesh_node=info,techmesh=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("TECHMESH_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
