//! The local image service: GroupMe's Image Service API (`POST /pictures`, `?url=`, and the CDN
//! `GET /{w}x{h}.{format}.{id}[.preview|.large|.avatar]`) with real thumbnails and storage.
//!
//! - `addr_policy`: which addresses `?url=` may reach (pure).
//! - `fetch`: the remote fetch under that policy.
//! - `store`: originals and thumbnails on `object_store`.
//! - `budget`: memory for bodies and processing slots, held by guards.
//! - `ready`: ready answers (bytes and header values) for hot thumbnails, bounded by bytes.
//! - `server`: the connection loop (timeouts, connection cap, shutdown deadline).
//! - `quick`: GETs of held answers answered on the connection before hyper.
//! - `sendfile`: bodies the kernel sends straight from their file (Linux).
//! - `error`: GroupMe-shaped JSON errors.
//!
//! [`router`] builds the app (tests call it with `oneshot`); [`serve`] runs it on a listener until
//! the shutdown future completes; [`start`] does that in the background for the desktop app and
//! end-to-end tests.

pub mod addr_policy;
pub mod budget;
mod error;
pub mod fetch;
mod quick;
pub mod ready;
#[cfg(target_os = "linux")]
pub mod sendfile;
pub mod server;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use addr_policy::AddressPolicy;
pub use error::{ApiError, LINK_REFUSED, REMOTE_STATUS};
pub use store::Store;

use crate::cdn_url::{self, Picture, Variant};
use crate::thumbnail::{self, Limits};
use crate::token::Token;
use budget::{BodyBudget, NoSlot, Reservation, Slots};
use fetch::Fetcher;
use ready::{Ready, ReadyCache};
use server::ConnLimits;

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
    /// Bytes of request bodies (and `?url=` downloads) held at once across all requests; past
    /// it, 503 with `Retry-After` instead of buffering more.
    pub body_budget: usize,
    /// Slowest average rate a body may arrive at, in bytes per second, after `body_grace`.
    pub min_body_rate: u64,
    /// Time a body may take before `min_body_rate` applies.
    pub body_grace: Duration,
    /// Timeouts, the connection cap and the shutdown deadline.
    pub conn: ConnLimits,
    /// Bytes of ready answers (thumbnails and originals up to 1 MiB) kept in memory; 0 keeps none.
    pub ready_cache_bytes: u64,
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
            body_budget: 256 * 1024 * 1024,
            min_body_rate: 16 * 1024,
            body_grace: Duration::from_secs(10),
            conn: ConnLimits {
                max_connections: 512,
                header_timeout: Duration::from_secs(10),
                send_timeout: Duration::from_secs(30),
                shutdown_grace: Duration::from_secs(10),
            },
            ready_cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a service could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the service needs at least one token")]
    NoToken,
    #[error("cannot set up the client for ?url= fetches: {0}")]
    Fetcher(#[from] reqwest::Error),
}

/// The state the service's handlers share (not the desktop app's: that is `app::UploaderApp`).
/// One `Arc`: every request clones it.
#[derive(Clone)]
pub struct ServiceState(Arc<Shared>);

/// What [`ServiceState`] holds.
pub struct Shared {
    config: ServiceConfig,
    store: Store,
    fetcher: Fetcher,
    /// Processing slots, one per core by default, and the uploads waiting for one.
    slots: Slots,
    /// Memory for bodies being received.
    budget: BodyBudget,
    /// Answers for hot pictures, ready to send.
    ready: ReadyCache,
    /// Answers for hot large originals on a local directory, their files held open (mapped).
    open: ReadyCache,
}

impl std::ops::Deref for ServiceState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl ServiceState {
    /// State for `config` over `store`.
    pub fn new(config: ServiceConfig, store: Store) -> Result<Self, SetupError> {
        if config.tokens.is_empty() {
            return Err(SetupError::NoToken);
        }
        let fetcher = Fetcher::new(
            config.policy.clone(),
            config.max_body as u64,
            config.fetch_timeout,
        )?;
        Ok(ServiceState(Arc::new(Shared {
            slots: Slots::new(config.max_concurrent, config.max_waiting),
            budget: BodyBudget::new(config.body_budget),
            ready: ReadyCache::new(config.ready_cache_bytes),
            open: ReadyCache::open_files(open_files()),
            config,
            store,
            fetcher,
        })))
    }
}

/// How many mapped files the service keeps open between requests (none where files are not
/// mapped).
fn open_files() -> usize {
    #[cfg(target_os = "linux")]
    return sendfile::files_to_hold();
    #[cfg(not(target_os = "linux"))]
    0
}

impl Shared {
    /// The answer held for `name`: a ready answer, or a hot original's open file.
    fn held(&self, name: &str) -> Option<Arc<Ready>> {
        self.ready.get(name).or_else(|| self.open.get(name))
    }
}

impl ServiceState {
    /// Bytes of request bodies held in memory now (for tests and monitoring).
    pub fn body_bytes_held(&self) -> usize {
        self.budget.held()
    }

    /// Bytes of ready answers held now, as weighed for `ready_cache_bytes` (for tests).
    pub fn ready_bytes_held(&self) -> u64 {
        self.ready.weight()
    }
}

/// The service's routes.
pub fn router(state: ServiceState) -> Router {
    Router::new()
        .route("/pictures", post(upload))
        .route("/health", get(|| async { "ok" }))
        .route("/{name}", get(serve_picture))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: POST /pictures uploads, GET reads a picture",
            )
        })
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(every_answer))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then gives the requests in
/// flight `conn.shutdown_grace` to finish (see [`server`]).
pub async fn serve(
    listener: TcpListener,
    state: ServiceState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.conn;
    server::run(listener, App::new(state), limits, shutdown).await
}

/// What the connections run: a GET of a held answer (a hot thumbnail) is answered here, with
/// the same headers and log line as through the router; everything else goes to [`router`].
/// Routing, the middleware layer, extracting the path and copying the request headers are most
/// of what a small cached answer costs.
#[derive(Clone)]
pub struct App {
    state: ServiceState,
    router: TowerToHyperService<Router>,
}

impl App {
    /// The service over `router(state)`.
    pub fn new(state: ServiceState) -> App {
        App {
            router: TowerToHyperService::new(router(state.clone())),
            state,
        }
    }

    /// The held answer to `request`, if it is a GET of a held name. Names with `%` escapes go
    /// through the router, which decodes them.
    fn held(&self, request: &hyper::Request<Incoming>) -> Option<Response> {
        if request.method() != axum::http::Method::GET {
            return None;
        }
        let name = request.uri().path().strip_prefix('/')?;
        if name.contains('%') {
            return None;
        }
        let ready = self.state.held(name)?;
        let started = tracing::enabled!(tracing::Level::INFO).then(Instant::now);
        let mut response = ready.answer(request.headers());
        security_headers(response.headers_mut());
        if let Some(started) = started {
            log_request(
                request.method(),
                request.uri().path(),
                response.status(),
                started,
            );
        }
        Some(response)
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for App {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Either<
        std::future::Ready<Result<Response, Self::Error>>,
        TowerToHyperServiceFuture<Router, hyper::Request<Incoming>>,
    >;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        match self.held(&request) {
            Some(response) => Either::Left(std::future::ready(Ok(response))),
            None => Either::Right(self.router.call(request)),
        }
    }
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
pub fn start(listener: TcpListener, state: ServiceState) -> std::io::Result<RunningService> {
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

/// Around every request (one layer, so one boxed future and one service clone per request):
/// the security headers and the log line.
async fn every_answer(request: Request, next: Next) -> Response {
    // Only when someone reads the log: the method and path are copied before the request moves.
    let logged = tracing::enabled!(tracing::Level::INFO).then(|| {
        (
            request.method().clone(),
            request.uri().path().to_owned(),
            Instant::now(),
        )
    });
    let mut response = next.run(request).await;
    security_headers(response.headers_mut());
    if let Some((method, path, started)) = logged {
        log_request(&method, &path, response.status(), started);
    }
    response
}

/// Browsers must take a picture for what its type says (a GIF that is also an HTML or script
/// file is never run as one), and nothing served may load or run anything.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
}

/// One log line per request: method, path, status, time. Never headers (the token) nor query.
fn log_request(method: &axum::http::Method, path: &str, status: StatusCode, started: Instant) {
    tracing::info!(
        %method,
        path,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
}

/// Compares digests in constant time, so timing reveals neither how much of a token matched
/// nor how long the right one is.
fn same(a: &[u8], b: &[u8]) -> bool {
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

/// The `url` of `POST /pictures?url=…`: none, or exactly one.
fn url_param(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut urls = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(key, _)| key == "url")
        .map(|(_, value)| value.into_owned());
    let first = urls.next();
    if urls.next().is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "give one `url` parameter, not several",
        ));
    }
    Ok(first)
}

fn authorize(state: &ServiceState, headers: &HeaderMap) -> Result<(), ApiError> {
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
    State(state): State<ServiceState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&state, &headers)?;
    // Held until the answer: the bytes stay in memory that long.
    let mut held = state.budget.reservation();
    let (bytes, id) = match url_param(query.as_deref())? {
        Some(url) => (state.fetcher.fetch(&url, &mut held).await?, None),
        None => {
            let (bytes, id) = read_body(&state, &headers, body, &mut held).await?;
            (bytes, Some(id))
        }
    };
    let url = store_picture(&state, bytes, id).await?;
    Ok(Json(serde_json::json!({
        "payload": { "url": url, "picture_url": url }
    })))
}

/// Reads the body as it arrives and returns it with its content id: memory grows with the bytes
/// received (never with what `Content-Length` claims), each byte counted in `held` against the
/// service's budget, and the body must keep up `min_body_rate` after `body_grace` (a slow drip is
/// cut with 408). Each chunk is hashed as it arrives (a 64 KiB chunk takes ~20 µs), so the id is
/// ready when the last byte is, not a pass over the whole body later.
async fn read_body(
    state: &ServiceState,
    headers: &HeaderMap,
    body: Body,
    held: &mut Reservation,
) -> Result<(Bytes, String), ApiError> {
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
    let mut bytes = bytes::BytesMut::new();
    let mut id = crate::content_id::Hasher::new();
    let started = tokio::time::Instant::now();
    let rate = state.config.min_body_rate.max(1);
    loop {
        // The time allowed for what has arrived so far plus the next byte.
        let allowed = state.config.body_grace
            + Duration::from_secs_f64((bytes.len() + 1) as f64 / rate as f64);
        let next = tokio::time::timeout_at(started + allowed, stream.next()).await;
        let Ok(next) = next else {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body arrived too slowly ({} bytes in {} s; at least {} KiB/s is needed)",
                    bytes.len(),
                    started.elapsed().as_secs(),
                    rate / 1024
                ),
            ));
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            )
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        held.grow(chunk.len()).map_err(|_| {
            ApiError::busy("the service is busy receiving other uploads; try again in a moment")
        })?;
        id.update(&chunk);
        bytes.extend_from_slice(&chunk);
    }
    let bytes = bytes.freeze();
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the image bytes",
        ));
    }
    Ok((bytes, id.finish()))
}

/// Checks, thumbnails and stores an image; returns its URL. The same bytes are stored once.
/// `id` is the content id of `bytes` when it was computed as they arrived.
async fn store_picture(
    state: &ServiceState,
    bytes: Bytes,
    id: Option<String>,
) -> Result<String, ApiError> {
    // Hashing 40 MiB takes a few tens of ms: not on the async threads.
    let limits = state.config.limits;
    let input = bytes.clone();
    let (info, id) = tokio::task::spawn_blocking(move || {
        thumbnail::check(&input, &limits).map(|info| {
            (
                info,
                id.unwrap_or_else(|| crate::content_id::of_bytes(&input)),
            )
        })
    })
    .await
    .map_err(task_failed)??;
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
    let slot = state.slots.acquire().await.map_err(|e| match e {
        NoSlot::Busy => ApiError::busy("the service is busy; try again in a moment"),
        NoSlot::Closed => ApiError::busy("the service is shutting down"),
    })?;
    // The original is written while the thumbnails are made; it is put in place after them.
    let original = state.store.stage_original(&name, &id, bytes.clone());
    // Checked above: the render starts at the decode.
    let renditions = Slots::run_blocking(slot, move || {
        thumbnail::render_checked(&bytes, info, &limits, std::time::Instant::now())
    })
    .await
    .map_err(task_failed)??;
    state
        .store
        .put_picture(
            &name,
            &id,
            original,
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

fn task_failed(e: tokio::task::JoinError) -> ApiError {
    tracing::error!("processing task failed: {e}");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "processing failed")
}

fn storage_failed(e: store::StoreError) -> ApiError {
    tracing::error!("{e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage failed; try again",
    )
}

/// Ids this service hands out: 32 lowercase hex characters. Anything else is not ours.
fn is_our_id(id: &str) -> bool {
    id.len() == crate::content_id::LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn serve_picture(
    State(state): State<ServiceState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // A name that is not even UTF-8 (`%ff`) names no picture either.
    let Ok(Path(name)) = name else {
        return Err(ApiError::not_found());
    };
    // Held answers are usually sent by `App` before routing; a name spelled with `%` escapes
    // gets here.
    if let Some(ready) = state.held(&name) {
        return Ok(ready.answer(&headers));
    }
    let (picture, variant) = cdn_url::parse_name(&name).map_err(|_| ApiError::not_found())?;
    let Picture::Sized { format, ref id, .. } = picture else {
        return Err(ApiError::not_found());
    };
    if !is_our_id(id) {
        return Err(ApiError::not_found());
    }
    let original = picture.to_string();
    let etag_value = ready::etag(&name).ok_or_else(ApiError::not_found)?;
    if ready::not_modified(headers.get(header::IF_NONE_MATCH), &etag_value) {
        // Only answer 304 for a picture that exists.
        if state
            .store
            .exists(&original, id)
            .await
            .map_err(storage_failed)?
        {
            return Ok(ready::not_modified_response(etag_value));
        }
        return Err(ApiError::not_found());
    }
    let object = state
        .store
        .get(&original, id, variant)
        .await
        .map_err(storage_failed)?
        .ok_or_else(ApiError::not_found)?;
    // Bytes in memory are held as a ready answer, a mapped file as an open one.
    let (bytes, holder) = match object {
        store::Object::Whole(bytes) => (bytes, &state.ready),
        store::Object::Mapped(bytes) => (bytes, &state.open),
        store::Object::Stream { len, chunks } => {
            return Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(format.mime()),
                    ),
                    (header::CONTENT_LENGTH, HeaderValue::from(len)),
                    (header::CACHE_CONTROL, ready::CACHE_CONTROL),
                    (header::ETAG, etag_value),
                ],
                Body::from_stream(chunks),
            )
                .into_response());
        }
    };
    let ready = Arc::new(Ready::new(etag_value, format.mime(), bytes));
    // Held under its canonical name only: spellings of the same picture that parse (there are
    // none today) never take room twice.
    if is_canonical(&name, &original, variant) {
        holder.insert(&name, ready.clone());
    }
    Ok(ready.answer(&HeaderMap::new()))
}

/// Whether `name` is exactly the name of `original`'s `variant`.
fn is_canonical(name: &str, original: &str, variant: Variant) -> bool {
    match variant.suffix() {
        None => name == original,
        Some(suffix) => {
            name.strip_prefix(original)
                .and_then(|rest| rest.strip_prefix('.'))
                == Some(suffix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value_only() {
        assert!(same(b"secret-token", b"secret-token"));
        assert!(!same(b"secret-token", b"secret-tokem"));
        assert!(!same(b"secret-token", b"secret-token-longer"));
        assert!(!same(b"", b"x"));
    }

    #[test]
    fn one_url_parameter_at_most() {
        assert_eq!(url_param(None).expect("none"), None);
        assert_eq!(url_param(Some("other=1")).expect("none"), None);
        assert_eq!(
            url_param(Some("url=http%3A%2F%2Fa.example%2Fp.png")).expect("one"),
            Some("http://a.example/p.png".to_owned())
        );
        let two = url_param(Some("url=a&url=b")).expect_err("two");
        assert_eq!(two.status, StatusCode::BAD_REQUEST);
    }
}
