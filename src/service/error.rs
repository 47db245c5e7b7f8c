//! The service's error answers: GroupMe's JSON shape `{"meta":{"code":N,"errors":["…"]}}` with
//! the right status and a message that says what was wrong, never internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::fetch::FetchError;
use crate::probe::ProbeError;
use crate::thumbnail::ThumbError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for `Retry-After` (503 when busy).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
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
        let body = serde_json::json!({
            "meta": { "code": self.status.as_u16(), "errors": [self.message] }
        });
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
        let status = match &e {
            FetchError::BadUrl(_) | FetchError::Refused { .. } => StatusCode::BAD_REQUEST,
            FetchError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FetchError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            FetchError::TooManyRedirects | FetchError::Status(_) | FetchError::Connect(_) => {
                StatusCode::BAD_GATEWAY
            }
            FetchError::Busy => return ApiError::busy(e.to_string()),
        };
        ApiError::new(status, e.to_string())
    }
}
