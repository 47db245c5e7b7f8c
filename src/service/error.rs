//! The service's error answers: GroupMe's JSON shape `{"meta":{"code":N,"errors":["…"]}}` with
//! the right status and a message that says what was wrong, never internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::fetch::FetchError;
use crate::probe::ProbeError;
use crate::thumbnail::ThumbError;

/// `meta.error` of a mirror refused for its link (not a URL, a refused address, a redirect
/// loop): final, and the message alone says why.
pub const LINK_REFUSED: &str = "link_refused";
/// `meta.error` of a mirror whose link answered an error status, given in `meta.remote_status`.
pub const REMOTE_STATUS: &str = "remote_status";

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for `Retry-After` (503 when busy).
    pub retry_after: Option<u32>,
    /// `meta.error`: what kind of failure, for clients that must tell a bad link from a broken
    /// service (a 400 or 502 alone cannot).
    pub kind: Option<&'static str>,
    /// `meta.remote_status`: what the link answered, with [`REMOTE_STATUS`].
    pub remote_status: Option<u16>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
            kind: None,
            remote_status: None,
        }
    }

    /// 503 with `Retry-After: 1`: the service is at a limit now, not broken.
    pub fn busy(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// 404, the answer for anything that is not a picture of this service.
    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "no such picture")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut meta =
            serde_json::json!({ "code": self.status.as_u16(), "errors": [self.message] });
        if let Some(kind) = self.kind {
            meta["error"] = kind.into();
        }
        if let Some(remote) = self.remote_status {
            meta["remote_status"] = remote.into();
        }
        let body = serde_json::json!({ "meta": meta });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        // An error is about this moment: no cache or CDN may keep it.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ThumbError> for ApiError {
    fn from(e: ThumbError) -> Self {
        let status = match &e {
            ThumbError::Probe(ProbeError::BadHeader(..) | ProbeError::ZeroSize(..)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ThumbError::Probe(_) => StatusCode::BAD_REQUEST,
            ThumbError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<FetchError> for ApiError {
    fn from(e: FetchError) -> Self {
        let (status, kind, remote_status) = match &e {
            FetchError::BadUrl(_) | FetchError::Refused { .. } => {
                (StatusCode::BAD_REQUEST, Some(LINK_REFUSED), None)
            }
            FetchError::TooManyRedirects => (StatusCode::BAD_GATEWAY, Some(LINK_REFUSED), None),
            FetchError::Status(remote) => {
                (StatusCode::BAD_GATEWAY, Some(REMOTE_STATUS), Some(*remote))
            }
            FetchError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None, None),
            FetchError::Timeout => (StatusCode::GATEWAY_TIMEOUT, None, None),
            FetchError::Connect(_) => (StatusCode::BAD_GATEWAY, None, None),
            FetchError::Busy => return ApiError::busy(e.to_string()),
        };
        ApiError {
            kind,
            remote_status,
            ..ApiError::new(status, e.to_string())
        }
    }
}
