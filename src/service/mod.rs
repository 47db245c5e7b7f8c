//! The local image service: GroupMe's Image Service API (`POST /pictures`, `?url=`, and the CDN
//! `GET /{w}x{h}.{format}.{id}[.preview|.large|.avatar]`) with real thumbnails and storage.
//!
//! - `addr_policy`: which addresses `?url=` may reach (pure).
//! - `fetch`: the remote fetch under that policy.
//! - `store`: originals and thumbnails on `object_store`.
//! - `error`: GroupMe-shaped JSON errors.
//!
//! [`router`] builds the app (tests call it with `oneshot`); [`serve`] runs it on a listener until
//! the shutdown future completes; [`start`] does that in the background for the desktop app and
//! end-to-end tests.

pub mod addr_policy;
mod error;
pub mod fetch;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

pub use addr_policy::AddressPolicy;
pub use error::ApiError;
pub use store::Store;

use crate::cdn_url::{self, Picture, Variant};
use crate::thumbnail::{self, Limits};
use crate::token::Token;
use fetch::Fetcher;

/// How the service behaves.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Base of the URLs handed out, e.g. `http://127.0.0.1:8737` (no trailing slash).
    pub public_url: String,
    /// Accepted `X-Access-Token` values; at least one.
    pub tokens: Vec<Token>,
    /// Largest upload body, in bytes.
    pub max_body: usize,
    /// Per-image processing limits.
    pub limits: Limits,
    /// Which addresses `?url=` may reach.
    pub policy: AddressPolicy,
    /// Total time allowed for a `?url=` fetch.
    pub fetch_timeout: Duration,
    /// Images processed at once (defaults to the number of cores).
    pub max_concurrent: usize,
    /// Uploads allowed to wait for a processing slot before the service answers 503.
    pub max_waiting: usize,
}

impl ServiceConfig {
    /// Sane defaults for `public_url` and `tokens`.
    pub fn new(public_url: &str, tokens: Vec<Token>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        ServiceConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            tokens,
            max_body: 40 * 1024 * 1024,
            limits: Limits::default(),
            policy: AddressPolicy::default(),
            fetch_timeout: Duration::from_secs(20),
            max_concurrent: cores,
            max_waiting: cores * 64,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    config: Arc<ServiceConfig>,
    store: Store,
    fetcher: Fetcher,
    /// Processing slots, one per core by default.
    slots: Arc<Semaphore>,
    /// Uploads waiting for a slot.
    waiting: Arc<AtomicUsize>,
}

impl AppState {
    /// State for `config` over `store`.
    pub fn new(config: ServiceConfig, store: Store) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !config.tokens.is_empty(),
            "the service needs at least one token"
        );
        let fetcher = Fetcher::new(
            config.policy.clone(),
            config.max_body as u64,
            config.fetch_timeout,
        )?;
        Ok(AppState {
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            config: Arc::new(config),
            store,
            fetcher,
        })
    }
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/pictures", post(upload))
        .route("/health", get(|| async { "ok" }))
        .route("/{name}", get(serve_picture))
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A service running in the background.
pub struct RunningService {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningService {
    /// `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, waits for in-flight requests.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        (&mut self.task)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Starts the service on `listener` in the background (on the current runtime).
pub fn start(listener: TcpListener, state: AppState) -> std::io::Result<RunningService> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(serve(listener, state, async {
        rx.await.ok();
    }));
    Ok(RunningService {
        addr,
        shutdown: Some(tx),
        task,
    })
}

/// One log line per request: method, path, status, time. Never headers (the token) nor query.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

#[derive(serde::Deserialize)]
struct UploadQuery {
    url: Option<String>,
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(given) = headers.get("x-access-token") else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing X-Access-Token header",
        ));
    };
    let given = given.as_bytes();
    if state
        .config
        .tokens
        .iter()
        .any(|t| same(t.expose().as_bytes(), given))
    {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the access token is not valid",
        ))
    }
}

async fn upload(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&state, &headers)?;
    let bytes = match query.url {
        Some(url) => state.fetcher.fetch(&url).await?,
        None => read_body(&state, &headers, body).await?,
    };
    let url = store_picture(&state, bytes).await?;
    Ok(Json(serde_json::json!({
        "payload": { "url": url, "picture_url": url }
    })))
}

async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "multipart bodies are not accepted: send the raw image bytes as the body",
        ));
    }
    let limit = state.config.max_body;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the image is larger than the {} MiB limit",
                limit / (1024 * 1024)
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut bytes = bytes::BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            )
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let bytes = bytes.freeze();
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the image bytes",
        ));
    }
    Ok(bytes)
}

/// The content-derived id: the first 128 bits of SHA-256, as 32 lowercase hex characters.
pub fn content_id(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    hex::encode(&digest[..16])
}

/// Checks, thumbnails and stores an image; returns its URL. The same bytes are stored once.
async fn store_picture(state: &AppState, bytes: Bytes) -> Result<String, ApiError> {
    let info = thumbnail::check(&bytes, &state.config.limits)?;
    let id = content_id(&bytes);
    let picture = Picture::Sized {
        width: info.width,
        height: info.height,
        format: info.format,
        id: id.clone(),
    };
    let name = picture.to_string();
    let url = format!("{}/{name}", state.config.public_url);
    if state
        .store
        .exists(&name, &id)
        .await
        .map_err(storage_failed)?
    {
        return Ok(url);
    }
    let _slot = acquire_slot(state).await?;
    let limits = state.config.limits;
    let input = bytes.clone();
    let renditions = tokio::task::spawn_blocking(move || thumbnail::render(&input, &limits))
        .await
        .map_err(|e| {
            tracing::error!("thumbnail task failed: {e}");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "processing failed")
        })??;
    state
        .store
        .put_picture(
            &name,
            &id,
            bytes,
            [
                (Variant::Preview, renditions.preview.into()),
                (Variant::Large, renditions.large.into()),
                (Variant::Avatar, renditions.avatar.into()),
            ],
        )
        .await
        .map_err(storage_failed)?;
    Ok(url)
}

fn storage_failed(e: store::StoreError) -> ApiError {
    tracing::error!("{e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage failed; try again",
    )
}

/// A processing slot: at once when one is free, else after waiting in line, or 503 when
/// `max_waiting` uploads already wait.
async fn acquire_slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    if let Ok(permit) = state.slots.clone().try_acquire_owned() {
        return Ok(permit);
    }
    let waiting = state.waiting.fetch_add(1, Ordering::SeqCst);
    let result = if waiting >= state.config.max_waiting {
        Err(ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is busy; try again in a moment",
            )
        })
    } else {
        state.slots.clone().acquire_owned().await.map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is shutting down",
            )
        })
    };
    state.waiting.fetch_sub(1, Ordering::SeqCst);
    result
}

/// Ids this service hands out: 32 lowercase hex characters. Anything else is not ours.
fn is_our_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn serve_picture(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no such picture");
    let (picture, variant) = cdn_url::parse_name(&name).map_err(|_| not_found())?;
    let Picture::Sized { format, ref id, .. } = picture else {
        return Err(not_found());
    };
    if !is_our_id(id) {
        return Err(not_found());
    }
    let original = picture.to_string();
    let etag = format!("\"{}\"", name);
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        // Only answer 304 for a picture that exists.
        if state
            .store
            .exists(&original, id)
            .await
            .map_err(storage_failed)?
        {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, cache);
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            return Ok(response);
        }
        return Err(not_found());
    }
    let bytes = state
        .store
        .get(&original, id, variant)
        .await
        .map_err(storage_failed)?
        .ok_or_else(not_found)?;
    let content_type = format.mime();
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, cache),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).map_err(|_| not_found())?,
            ),
        ],
        bytes,
    )
        .into_response())
}
