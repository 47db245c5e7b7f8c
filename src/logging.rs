//! Logging to stderr for every command: `RUST_LOG` when set, else the command's default level;
//! colours only on a terminal. Never a token: nothing logs headers or query strings.

/// Starts logging at `default` level unless `RUST_LOG` says otherwise (a second call is a no-op).
pub fn init(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .ok();
}
