//! `groupme-uploader serve`: the local image service for self-hosting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::service::{self, AddressPolicy, ServiceConfig, ServiceState, Store, store};
use crate::token::Token;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8737")]
    pub listen: SocketAddr,
    /// Base of the URLs handed out (default: http://LISTEN).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Directory for pictures (default: the user's data directory).
    #[arg(long, conflicts_with = "store")]
    pub data: Option<PathBuf>,
    /// Storage: `file:DIR` or `s3://BUCKET` (AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP configure S3). Instances sharing a bucket share
    /// everything: run as many as you like behind a load balancer.
    #[arg(long)]
    pub store: Option<String>,
    /// Local store only: acknowledge an upload before it is synced to disk (faster; a power
    /// loss may then lose the last pictures).
    #[arg(long)]
    pub no_fsync: bool,
    /// Accepted access token (repeatable). With none here or in GM_SERVICE_TOKENS, one is
    /// generated and printed once.
    #[arg(long = "token")]
    pub tokens: Vec<String>,
    /// Let `?url=` fetch loopback, private and link-local addresses (tests, trusted networks).
    #[arg(long)]
    pub allow_private_urls: bool,
    /// Largest upload, in MiB.
    #[arg(long, default_value_t = 40)]
    pub max_body_mib: usize,
    /// Memory for bodies being received, all uploads together, in MiB; past it uploads get 503
    /// with Retry-After.
    #[arg(long, default_value_t = 256)]
    pub body_budget_mib: usize,
    /// Memory for ready answers of hot pictures (thumbnails and originals up to 1 MiB, served
    /// without touching the store), in MiB; 0 turns it off.
    #[arg(long, default_value_t = 64)]
    pub ready_cache_mib: u64,
    /// Connections open at once; more wait to be accepted.
    #[arg(long, default_value_t = 512)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (and an idle keep-alive connection to
    /// send its next request).
    #[arg(long, default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a response may wait for a client that does not read before it is cut.
    #[arg(long, default_value_t = 30)]
    pub send_timeout_secs: u64,
    /// Seconds requests in flight get to finish on Ctrl+C or SIGTERM; then the rest are closed.
    #[arg(long, default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}

/// Ctrl+C, or SIGTERM: what a service manager or a rolling restart behind a load balancer
/// sends. Either way the requests in flight are finished, not cut.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    tokio::signal::ctrl_c().await.ok();
}

/// Runs `serve` until Ctrl+C or SIGTERM.
pub async fn run(args: ServeArgs) -> ExitCode {
    // object_store logs every retry at info: a failing start would print them before its one line.
    crate::logging::init("info,object_store=warn");
    #[cfg(target_os = "linux")]
    if let Some(limit) = service::server::raise_descriptor_limit() {
        tracing::debug!("open-file limit: {limit}");
    }
    let store_spec = args.store.clone().unwrap_or_else(|| {
        let dir = args
            .data
            .clone()
            .unwrap_or_else(|| crate::settings::Dirs::standard().service());
        format!("file:{}", dir.display())
    });
    let store = match Store::from_spec(&store_spec, !args.no_fsync) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A store that cannot be used stops the service now, not at the first upload.
    let checked = tokio::time::timeout(Duration::from_secs(30), store.check()).await;
    match checked {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        Err(_) => {
            eprintln!("error: {store:?}: no answer within 30 s (check AWS_ENDPOINT)");
            return ExitCode::FAILURE;
        }
    }
    store::spawn_sweeper(store.clone());
    let mut tokens: Vec<Token> = args.tokens.iter().cloned().filter_map(Token::new).collect();
    if let Ok(env) = std::env::var("GM_SERVICE_TOKENS") {
        tokens.extend(env.split(',').filter_map(Token::new));
    }
    if tokens.is_empty() {
        let token = match Token::generate() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}; give one with --token");
                return ExitCode::FAILURE;
            }
        };
        // Printed once, on purpose: without it nobody could use this instance.
        eprintln!(
            "No token configured; this run accepts X-Access-Token: {}",
            token.expose()
        );
        if store_spec.starts_with("s3://") {
            eprintln!(
                "Other instances on this bucket generate tokens of their own: behind a load \
                 balancer, give them all the same --token or GM_SERVICE_TOKENS."
            );
        }
        tokens.push(token);
    }
    if args.public_url.is_none() && store_spec.starts_with("s3://") {
        tracing::warn!(
            "URLs name this instance ({}); behind a load balancer, give every instance the same \
             --public-url",
            args.listen
        );
    }
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let mut config = ServiceConfig::new(&public_url, tokens);
    config.max_body = args.max_body_mib * 1024 * 1024;
    config.body_budget = args.body_budget_mib * 1024 * 1024;
    config.ready_cache_bytes = args.ready_cache_mib * 1024 * 1024;
    config.conn = service::server::ConnLimits {
        max_connections: args.max_connections,
        header_timeout: Duration::from_secs(args.header_timeout_secs),
        send_timeout: Duration::from_secs(args.send_timeout_secs),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    config.policy = AddressPolicy {
        allow_private: args.allow_private_urls,
        allow_list: Vec::new(),
    };
    let state = match ServiceState::new(config, store.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "serving on http://{} ({store:?}), URLs under {public_url}",
        args.listen
    );
    let grace = args.shutdown_grace_secs;
    let shutdown = async move {
        stop_signal().await;
        tracing::info!("shutting down: finishing the requests in flight (at most {grace} s)");
    };
    match service::serve(listener, state, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
