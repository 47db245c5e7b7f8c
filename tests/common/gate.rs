//! A gate in front of the local service on 127.0.0.1: it holds every `POST /pictures` until the
//! test lets it through (all at once, or one at a time), counts how many are held at once, then forwards each to the service and hands
//! back its answer. Tests of concurrency use it to see how many uploads are in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};

/// The counts, shared with the handler.
#[derive(Default)]
struct Counts {
    /// Requests received whole and not yet answered.
    in_flight: AtomicUsize,
    /// The most that were ever in flight together.
    peak: AtomicUsize,
    /// Requests received in all.
    seen: AtomicUsize,
}

/// Leaves the in-flight count when the request ends, answered or dropped.
struct InFlight(Arc<Counts>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct GateState {
    counts: Arc<Counts>,
    /// One permit per request let through.
    passes: Arc<tokio::sync::Semaphore>,
    service: String,
}

/// A running gate.
pub struct Gate {
    /// `http://127.0.0.1:PORT`: the endpoint to give the app or the CLI.
    pub url: String,
    counts: Arc<Counts>,
    passes: Arc<tokio::sync::Semaphore>,
}

impl Gate {
    /// A closed gate in front of the service at `service`.
    pub async fn start(service: &str) -> Gate {
        let counts = Arc::new(Counts::default());
        let passes = Arc::new(tokio::sync::Semaphore::new(0));
        let state = GateState {
            counts: counts.clone(),
            passes: passes.clone(),
            service: service.to_owned(),
        };
        let app = axum::Router::new()
            .route("/pictures", axum::routing::post(held))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Gate {
            url: format!("http://{addr}"),
            counts,
            passes,
        }
    }

    /// Lets every held request (and every later one) through.
    pub fn open(&self) {
        self.passes.add_permits(1 << 20);
    }

    /// Lets one more request through (a held one, or the next to come).
    pub fn release_one(&self) {
        self.passes.add_permits(1);
    }

    /// Requests held or being forwarded now.
    pub fn in_flight(&self) -> usize {
        self.counts.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests ever in flight together.
    pub fn peak(&self) -> usize {
        self.counts.peak.load(Ordering::SeqCst)
    }

    /// Requests received in all.
    pub fn seen(&self) -> usize {
        self.counts.seen.load(Ordering::SeqCst)
    }
}

async fn held(
    State(state): State<GateState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let now = state.counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _in_flight = InFlight(state.counts.clone());
    state.counts.peak.fetch_max(now, Ordering::SeqCst);
    state.counts.seen.fetch_add(1, Ordering::SeqCst);
    if let Ok(pass) = state.passes.acquire().await {
        pass.forget();
    }
    let mut url = format!("{}/pictures", state.service);
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    let mut request = super::http().post(url).body(body);
    for name in ["x-access-token", "content-type"] {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v.clone());
        }
    }
    let Ok(resp) = request.send().await else {
        return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
    };
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HeaderMap::new();
    if let Some(v) = resp.headers().get("content-type") {
        out.insert("content-type", v.clone());
    }
    let body = resp.bytes().await.unwrap_or_default();
    (status, out, body)
}
