//! The Image Service client: uploads files and bytes, mirrors remote URLs, with progress,
//! cancellation, a stall timeout and retries, exactly as GroupMe's service expects.
//!
//! Every upload is `POST {endpoint}/pictures` with `X-Access-Token`, `Content-Type: image/jpeg`
//! (whatever the format: the real service refuses `image/png`), `Content-Length` and the raw bytes;
//! a mirror is `POST {endpoint}/pictures?url=…` with only the token.

mod error;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio_util::sync::CancellationToken;

pub use error::{UploadError, error_detail, parse_retry_after, status_words};

use crate::backoff::Backoff;
use crate::cdn_url::CdnUrl;
use crate::probe::{self, ImageInfo};
use crate::token::Token;

/// GroupMe's Image Service.
pub const DEFAULT_ENDPOINT: &str = "https://image.groupme.com";

/// Read size when streaming a file: 4 KiB chunks were measured 10x slower than 256 KiB.
const CHUNK: usize = 256 * 1024;

/// The largest answer body read; a real answer is a few hundred bytes.
const MAX_ANSWER: usize = 1024 * 1024;

/// How the client talks to the service.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Service root; `/pictures` is appended.
    pub endpoint: url::Url,
    /// Sent as `X-Access-Token`, nowhere else.
    pub token: Token,
    /// Attempts per item, the first included (at least 1).
    pub max_attempts: u32,
    /// Time allowed to open the connection.
    pub connect_timeout: Duration,
    /// An attempt fails when no byte moves, up or down, for this long. There is no total timeout,
    /// so a slow but moving upload of a big file is never killed.
    pub stall_timeout: Duration,
    /// The waits between attempts.
    pub backoff: Backoff,
    /// Use the system's proxy settings (`HTTPS_PROXY`, `NO_PROXY`…); off in the app's tests, so
    /// a proxy in the environment cannot reach them.
    pub system_proxy: bool,
}

impl ClientConfig {
    /// A config with the usual timeouts for `endpoint` and `token`.
    pub fn new(endpoint: &str, token: Token) -> Result<Self, UploadError> {
        let endpoint = parse_endpoint(endpoint)?;
        Ok(ClientConfig {
            endpoint,
            token,
            max_attempts: 4,
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            system_proxy: true,
        })
    }
}

/// Parses and checks an endpoint URL (http or https, a host, no query).
pub fn parse_endpoint(endpoint: &str) -> Result<url::Url, UploadError> {
    let bad = || UploadError::BadEndpoint(endpoint.to_owned());
    let url = url::Url::parse(endpoint.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.query().is_some() {
        return Err(bad());
    }
    Ok(url)
}

/// What a successful upload returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// `payload.url` (or `picture_url` when `url` is missing).
    pub url: CdnUrl,
    /// `payload.picture_url` (or `url` when it is missing).
    pub picture_url: CdnUrl,
}

/// Something an observer hears while an item is in flight.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The local probe passed.
    Probed(ImageInfo),
    /// Bytes of the body handed to the connection so far, of `total`.
    Progress { sent: u64, total: u64 },
    /// An attempt failed and another starts after `delay`.
    Retrying {
        attempt: u32,
        of: u32,
        delay: Duration,
        reason: String,
    },
}

/// Receives [`Event`]s; called from the runtime, so it must be quick.
pub type Observer = Arc<dyn Fn(Event) + Send + Sync>;

/// Per-item options: who listens and how to cancel.
#[derive(Clone, Default)]
pub struct Options {
    pub observer: Option<Observer>,
    pub cancel: CancellationToken,
}

impl Options {
    fn emit(&self, event: Event) {
        if let Some(observer) = &self.observer {
            observer(event);
        }
    }
}

/// What a request carries.
#[derive(Clone)]
enum Payload {
    File { path: PathBuf, len: u64 },
    Bytes(Bytes),
    Mirror(url::Url),
}

/// The Image Service client. Cheap to clone; one per endpoint and token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    token_header: HeaderValue,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Whether `url` names this machine (127.0.0.0/8, ::1, `localhost`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

impl Client {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Result<Self, UploadError> {
        let mut token_header =
            HeaderValue::from_str(config.token.expose()).map_err(|_| UploadError::BadToken)?;
        token_header.set_sensitive(true);
        // The local service is on this machine: a system proxy could only get in its way (or
        // see its pictures), so it is never used for a loopback endpoint.
        let builder = if config.system_proxy && !is_loopback(&config.endpoint) {
            reqwest::Client::builder()
        } else {
            reqwest::Client::builder().no_proxy()
        };
        let http = builder
            .connect_timeout(config.connect_timeout)
            // The API never redirects, and a streamed body cannot be sent twice: a 3xx is an
            // answer to report, not to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("groupme-uploader/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UploadError::Network(e.to_string()))?;
        Ok(Client {
            http,
            config: Arc::new(config),
            token_header,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Probes `path` (format and size, no decode), then streams it from disk.
    pub async fn upload_file(
        &self,
        path: &Path,
        options: &Options,
    ) -> Result<Uploaded, UploadError> {
        let owned = path.to_owned();
        let info = tokio::task::spawn_blocking(move || probe::probe_file(&owned))
            .await
            .map_err(|e| UploadError::Network(format!("probe task failed: {e}")))??;
        options.emit(Event::Probed(info));
        let len = tokio::fs::metadata(path)
            .await
            .map_err(|source| probe::FileProbeError::Io {
                path: path.to_owned(),
                source,
            })?
            .len();
        let payload = Payload::File {
            path: path.to_owned(),
            len,
        };
        self.run(payload, options).await
    }

    /// Probes and uploads bytes held in memory (a pasted image).
    pub async fn upload_bytes(
        &self,
        bytes: impl Into<Bytes>,
        options: &Options,
    ) -> Result<Uploaded, UploadError> {
        let bytes = bytes.into();
        let info = probe::probe_bytes(&bytes)?;
        options.emit(Event::Probed(info));
        self.run(Payload::Bytes(bytes), options).await
    }

    /// Asks the service to fetch and store a remote image.
    pub async fn mirror(&self, source: &str, options: &Options) -> Result<Uploaded, UploadError> {
        let source_url = url::Url::parse(source.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| UploadError::BadSource(source.to_owned()))?;
        self.run(Payload::Mirror(source_url), options).await
    }

    fn pictures_url(&self) -> url::Url {
        let mut url = self.config.endpoint.clone();
        let path = format!("{}/pictures", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// Runs attempts until one succeeds, a final error comes, or attempts run out.
    async fn run(&self, payload: Payload, options: &Options) -> Result<Uploaded, UploadError> {
        let max = self.config.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let result = tokio::select! {
                r = self.attempt(&payload, options) => r,
                () = options.cancel.cancelled() => Err(UploadError::Cancelled),
            };
            match result {
                Err(e) if e.is_retryable() && attempt < max => {
                    let delay = self.delay_before(attempt + 1, &e);
                    options.emit(Event::Retrying {
                        attempt: attempt + 1,
                        of: max,
                        delay,
                        reason: e.to_string(),
                    });
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = options.cancel.cancelled() => return Err(UploadError::Cancelled),
                    }
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Backoff before `attempt` (2 or more): the server's `Retry-After` when given, else
    /// exponential with jitter.
    fn delay_before(&self, attempt: u32, error: &UploadError) -> Duration {
        self.config.backoff.delay(attempt, error.retry_after())
    }

    fn request(
        &self,
        payload: &Payload,
        options: &Options,
        activity: &Activity,
    ) -> reqwest::RequestBuilder {
        let mut url = self.pictures_url();
        if let Payload::Mirror(source) = payload {
            url.query_pairs_mut().append_pair("url", source.as_str());
        }
        let builder = self
            .http
            .post(url)
            .header("X-Access-Token", self.token_header.clone());
        let (body, total) = match payload {
            Payload::Mirror(_) => return builder,
            Payload::Bytes(bytes) => {
                let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
                    .chunks(CHUNK)
                    .map(|c| Ok(bytes.slice_ref(c)))
                    .collect();
                let total = bytes.len() as u64;
                let stream = futures_util::stream::iter(chunks);
                (counted(stream, total, options, activity), total)
            }
            Payload::File { path, len } => {
                let stream = file_chunks(path.clone());
                (counted(stream, *len, options, activity), *len)
            }
        };
        options.emit(Event::Progress { sent: 0, total });
        builder
            .header(CONTENT_TYPE, "image/jpeg")
            .header(CONTENT_LENGTH, total)
            .body(body)
    }

    /// One attempt: send, read the answer (capped), interpret it; fails with `Stalled` when no
    /// byte moves for `stall_timeout`.
    async fn attempt(&self, payload: &Payload, options: &Options) -> Result<Uploaded, UploadError> {
        let activity = Activity::new();
        let request = self.request(payload, options, &activity);
        let exchange = async {
            let response = request.send().await.map_err(|e| self.map_send_error(&e))?;
            activity.touch();
            let status = response.status();
            let retry_after = parse_retry_after(
                response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            );
            let body = read_capped(response, &activity).await?;
            if status.is_success() {
                parse_answer(&body)
            } else {
                Err(UploadError::from_status(status, retry_after, &body))
            }
        };
        tokio::select! {
            r = exchange => r,
            () = activity.stalled(self.config.stall_timeout) => Err(UploadError::Stalled {
                after: self.config.stall_timeout,
            }),
        }
    }

    fn map_send_error(&self, e: &reqwest::Error) -> UploadError {
        let host = self
            .config
            .endpoint
            .host_str()
            .map_or_else(String::new, |h| match self.config.endpoint.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            });
        if e.is_connect() {
            if e.is_timeout() {
                return UploadError::ConnectTimeout {
                    host,
                    after: self.config.connect_timeout,
                };
            }
            return UploadError::Unreachable {
                host,
                reason: root_cause(e),
            };
        }
        if e.is_timeout() {
            return UploadError::Stalled {
                after: self.config.stall_timeout,
            };
        }
        UploadError::Network(root_cause(e))
    }
}

/// Streams a file in [`CHUNK`]-sized pieces read by one dedicated thread (a tokio `File` would
/// hop to the blocking pool for every read), at most a few chunks ahead of the connection.
fn file_chunks(
    path: PathBuf,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    use std::io::Read as _;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    std::thread::spawn(move || {
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                tx.blocking_send(Err(e)).ok();
                return;
            }
        };
        loop {
            // Read straight into the new chunk's spare room (nothing zeroed first), up to CHUNK.
            let mut chunk = Vec::with_capacity(CHUNK);
            match (&mut file).take(CHUNK as u64).read_to_end(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) => {
                    tx.blocking_send(Err(e)).ok();
                    return;
                }
            }
            // The receiver is gone when the request was dropped (cancel, stall): stop reading.
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// The innermost error's words ("connection refused", "connection reset by peer").
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    // io errors end in "(os error 111)": noise for a person.
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Wraps a body stream: counts bytes, reports progress, marks activity.
fn counted<S>(stream: S, total: u64, options: &Options, activity: &Activity) -> reqwest::Body
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let (options, activity) = (options.clone(), activity.clone());
    let mut sent = 0u64;
    let stream = stream.map_ok(move |chunk: Bytes| {
        sent += chunk.len() as u64;
        activity.touch();
        options.emit(Event::Progress { sent, total });
        chunk
    });
    reqwest::Body::wrap_stream(stream)
}

async fn read_capped(
    mut response: reqwest::Response,
    activity: &Activity,
) -> Result<Vec<u8>, UploadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UploadError::Network(root_cause(&e)))?
    {
        activity.touch();
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(UploadError::MalformedAnswer(format!(
                "the answer is over {} KiB",
                MAX_ANSWER / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(serde::Deserialize)]
struct Answer {
    payload: Option<AnswerPayload>,
}

#[derive(serde::Deserialize)]
struct AnswerPayload {
    url: Option<String>,
    picture_url: Option<String>,
}

/// Reads `{"payload":{"url":…,"picture_url":…}}`; either URL stands in for a missing other.
pub fn parse_answer(body: &[u8]) -> Result<Uploaded, UploadError> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| UploadError::MalformedAnswer(format!("not the expected JSON ({e})")))?;
    let payload = answer
        .payload
        .ok_or_else(|| UploadError::MalformedAnswer("no `payload` in the answer".into()))?;
    let parse = |s: &str| {
        CdnUrl::parse(s).map_err(|e| UploadError::MalformedAnswer(format!("bad URL `{s}`: {e}")))
    };
    match (payload.url.as_deref(), payload.picture_url.as_deref()) {
        (Some(u), Some(p)) => Ok(Uploaded {
            url: parse(u)?,
            picture_url: parse(p)?,
        }),
        (Some(one), None) | (None, Some(one)) => {
            let url = parse(one)?;
            Ok(Uploaded {
                picture_url: url.clone(),
                url,
            })
        }
        (None, None) => Err(UploadError::MalformedAnswer(
            "the answer's payload has no `url`".into(),
        )),
    }
}

/// The last time a byte moved in an attempt, shared by the body stream, the answer reader and
/// the stall watchdog.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }

    /// Completes once nothing has moved for `limit`.
    async fn stalled(&self, limit: Duration) {
        loop {
            let idle = self.idle();
            if idle >= limit {
                return;
            }
            tokio::time::sleep(limit - idle).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_are_told_apart() {
        for url in [
            "http://127.0.0.1:8737",
            "http://127.5.0.1",
            "http://[::1]:8737",
            "http://LOCALHOST:1",
            "http://app.localhost./",
        ] {
            assert!(is_loopback(&url::Url::parse(url).expect("url")), "{url}");
        }
        for url in [
            "https://image.groupme.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback(&url::Url::parse(url).expect("url")), "{url}");
        }
    }

    #[test]
    fn answer_falls_back_between_fields() {
        let a = parse_answer(br#"{"payload":{"picture_url":"https://i.groupme.com/1x2.png.abc"}}"#)
            .expect("ok");
        assert_eq!(a.url.to_string(), "https://i.groupme.com/1x2.png.abc");
        assert_eq!(a.url, a.picture_url);
        assert!(matches!(
            parse_answer(b"<html>"),
            Err(UploadError::MalformedAnswer(_))
        ));
        assert!(matches!(
            parse_answer(br#"{"meta":{}}"#),
            Err(UploadError::MalformedAnswer(m)) if m.contains("payload")
        ));
        assert!(matches!(
            parse_answer(br#"{"payload":{"url":"ftp://x/y"}}"#),
            Err(UploadError::MalformedAnswer(_))
        ));
    }

    #[test]
    fn endpoint_and_backoff() {
        assert!(parse_endpoint("file:///x").is_err());
        assert!(parse_endpoint("http://127.0.0.1:1/api").is_ok());
        let token = Token::new("t").expect("token");
        let mut cfg = ClientConfig::new("http://127.0.0.1:1/api/", token).expect("cfg");
        cfg.backoff.base = Duration::from_millis(100);
        cfg.backoff.max = Duration::from_secs(1);
        let client = Client::new(cfg).expect("client");
        assert_eq!(
            client.pictures_url().as_str(),
            "http://127.0.0.1:1/api/pictures"
        );
        let err = UploadError::Server {
            status: 500,
            detail: None,
        };
        for (attempt, lo, hi) in [(2, 50, 100), (3, 100, 200), (4, 200, 400), (20, 500, 1000)] {
            let d = client.delay_before(attempt, &err).as_millis();
            assert!((lo..=hi).contains(&d), "attempt {attempt}: {d}ms");
        }
        let limited = UploadError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            detail: None,
        };
        assert_eq!(client.delay_before(2, &limited), Duration::from_secs(1));
    }

    #[test]
    fn bad_token_header_is_refused_without_echo() {
        let token = Token::new("abc\ndef").expect("token");
        let cfg = ClientConfig::new("http://127.0.0.1:1", token).expect("cfg");
        let err = Client::new(cfg).expect_err("newline");
        assert!(!err.to_string().contains("abc"));
    }
}
