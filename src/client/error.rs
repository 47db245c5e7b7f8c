//! What can go wrong talking to the Image Service, in words a person understands.

use std::time::Duration;

use reqwest::StatusCode;

use crate::probe::{FileProbeError, ProbeError};

/// Why an upload or mirror failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The local probe refused a file before any byte was sent.
    #[error(transparent)]
    File(#[from] FileProbeError),
    /// The local probe refused pasted bytes.
    #[error("the pasted data is not usable: {0}")]
    Bytes(#[from] ProbeError),
    /// A mirror source that is not an http(s) URL.
    #[error("`{0}` is not an http(s) URL to mirror")]
    BadSource(String),
    /// The endpoint itself is not usable.
    #[error("the endpoint `{0}` is not an http(s) URL")]
    BadEndpoint(String),
    /// The token has characters an HTTP header cannot carry.
    #[error(
        "the access token contains characters that cannot be sent (check for spaces or line breaks inside it)"
    )]
    BadToken,
    #[error("the access token was refused ({status}): check GM_TOKEN, --token or Settings{}", detail_suffix(.detail))]
    TokenRefused { status: u16, detail: Option<String> },
    /// The service will not fetch this link (not a URL, an address it refuses, a redirect
    /// loop): its reason alone, as nothing about the image is known.
    #[error("{reason}")]
    LinkRefused { reason: String },
    /// The link answered an error status when the service fetched it.
    #[error("the link answered {}", status_words(*.status))]
    RemoteStatus { status: u16 },
    #[error("the service refused the image ({status}): not an image or an unsupported format{}", detail_suffix(.detail))]
    Rejected { status: u16, detail: Option<String> },
    #[error("the image is too large for the service (413){}", detail_suffix(.detail))]
    TooLarge { detail: Option<String> },
    #[error("rate limited by the service (429){}{}", retry_suffix(.retry_after), detail_suffix(.detail))]
    RateLimited {
        retry_after: Option<Duration>,
        detail: Option<String>,
    },
    #[error("the service failed ({status}), try again later{}", detail_suffix(.detail))]
    Server { status: u16, detail: Option<String> },
    #[error("unexpected answer from the service ({status}){}", detail_suffix(.detail))]
    UnexpectedStatus { status: u16, detail: Option<String> },
    #[error("cannot reach {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("timed out connecting to {host} after {}s", .after.as_secs())]
    ConnectTimeout { host: String, after: Duration },
    #[error("the upload stalled: no data moved for {}s", .after.as_secs())]
    Stalled { after: Duration },
    #[error("the connection broke: {0}")]
    Network(String),
    #[error("the service's answer could not be understood: {0}")]
    MalformedAnswer(String),
    #[error("cancelled")]
    Cancelled,
    /// The before-upload options could not be applied (the CLI's `--max-side` and friends).
    #[error(transparent)]
    Shrink(#[from] crate::reencode::ReencodeError),
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_ref().map_or(String::new(), |d| format!(" — {d}"))
}

fn retry_suffix(after: &Option<Duration>) -> String {
    after.map_or(String::new(), |d| {
        format!(", asked to wait {}s", d.as_secs().max(1))
    })
}

impl UploadError {
    /// Whether another attempt may succeed: connect errors, 429 and 5xx, never other 4xx.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            UploadError::Unreachable { .. }
                | UploadError::ConnectTimeout { .. }
                | UploadError::RateLimited { .. }
                | UploadError::Server { .. }
        ) || matches!(self, UploadError::RemoteStatus { status } if remote_may_recover(*status))
    }

    /// The wait the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UploadError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Maps a non-2xx answer to an error, reading GroupMe's `{"meta":{"errors":[…]}}` when present.
    pub fn from_status(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> Self {
        let detail = error_detail(body);
        let code = status.as_u16();
        // The Image Service says when a mirror failed because of its link, not of itself.
        let kind = serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|b| b.meta);
        match kind
            .as_ref()
            .and_then(|m| Some((m.error.as_deref()?, m.remote_status)))
        {
            Some((crate::service::LINK_REFUSED, _)) => {
                return UploadError::LinkRefused {
                    reason: detail.unwrap_or_else(|| "the service will not fetch this link".into()),
                };
            }
            Some((crate::service::REMOTE_STATUS, Some(remote))) => {
                return UploadError::RemoteStatus { status: remote };
            }
            _ => {}
        }
        match code {
            401 | 403 => UploadError::TokenRefused {
                status: code,
                detail,
            },
            400 | 415 | 422 => UploadError::Rejected {
                status: code,
                detail,
            },
            413 => UploadError::TooLarge { detail },
            429 => UploadError::RateLimited {
                retry_after,
                detail,
            },
            500..=599 => UploadError::Server {
                status: code,
                detail,
            },
            _ => UploadError::UnexpectedStatus {
                status: code,
                detail,
            },
        }
    }
}

/// GroupMe's error body: `{"meta":{"code":400,"errors":["…"]}}`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    meta: Meta,
}

#[derive(serde::Deserialize)]
struct Meta {
    #[serde(default)]
    errors: Vec<serde_json::Value>,
    /// The Image Service's kind of mirror failure (`service::LINK_REFUSED`, …).
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    remote_status: Option<u16>,
}

/// An HTTP status as a person reads it: "404 Not Found".
pub fn status_words(status: u16) -> String {
    match StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// Whether a link that answered `status` may answer better later: its server failed (5xx), it
/// timed out (408) or it limited us (429). Any other answer (404, 403, 410…) is final.
fn remote_may_recover(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// The service's own words about an error: GroupMe's `meta.errors`, else a short plain-text body.
/// The Image Service and the v3 API wrap errors alike, so both clients read them here.
pub fn error_detail(body: &[u8]) -> Option<String> {
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        let words: Vec<String> = parsed
            .meta
            .errors
            .iter()
            .map(|e| match e {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        return (!words.is_empty()).then(|| words.join("; "));
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    // An HTML error page says nothing a person wants to read in one line.
    if text.is_empty() || text.starts_with('<') || text.starts_with('{') {
        return None;
    }
    Some(text.chars().take(200).collect())
}

/// Parses `Retry-After` given in seconds (the HTTP-date form is rare for APIs and falls back to
/// our own backoff).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses() {
        let e = UploadError::from_status(
            StatusCode::UNAUTHORIZED,
            None,
            br#"{"meta":{"code":401,"errors":["unauthorized"]}}"#,
        );
        assert!(matches!(e, UploadError::TokenRefused { status: 401, .. }));
        assert_eq!(
            e.to_string(),
            "the access token was refused (401): check GM_TOKEN, --token or Settings — unauthorized"
        );
        assert!(!e.is_retryable());
        let e = UploadError::from_status(StatusCode::PAYLOAD_TOO_LARGE, None, b"");
        assert!(matches!(e, UploadError::TooLarge { detail: None }));
        let e = UploadError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, None, b"<html>");
        assert!(matches!(
            e,
            UploadError::Rejected {
                status: 415,
                detail: None
            }
        ));
        let e = UploadError::from_status(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
            b"slow down",
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            e.to_string(),
            "rate limited by the service (429), asked to wait 3s — slow down"
        );
        let e = UploadError::from_status(StatusCode::BAD_GATEWAY, None, b"");
        assert!(e.is_retryable());
        let e = UploadError::from_status(StatusCode::NOT_FOUND, None, b"");
        assert!(!e.is_retryable());
        assert!(matches!(
            e,
            UploadError::UnexpectedStatus { status: 404, .. }
        ));
    }

    #[test]
    fn tells_a_bad_link_from_a_broken_service() {
        let e = UploadError::from_status(
            StatusCode::BAD_GATEWAY,
            None,
            br#"{"meta":{"code":502,"errors":["the link answered 404 Not Found"],"error":"remote_status","remote_status":404}}"#,
        );
        assert!(matches!(e, UploadError::RemoteStatus { status: 404 }));
        assert_eq!(e.to_string(), "the link answered 404 Not Found");
        assert!(!e.is_retryable(), "a 404 is final");
        let e = UploadError::RemoteStatus { status: 503 };
        assert!(e.is_retryable(), "the link's server may come back");
        let e = UploadError::from_status(
            StatusCode::BAD_REQUEST,
            None,
            br#"{"meta":{"code":400,"errors":["the URL points at a loopback address (127.0.0.1), which this service does not fetch"],"error":"link_refused"}}"#,
        );
        assert_eq!(
            e.to_string(),
            "the URL points at a loopback address (127.0.0.1), which this service does not fetch"
        );
        assert!(!e.is_retryable());
        assert_eq!(status_words(418), "418 I'm a teapot");
        assert_eq!(status_words(599), "599");
    }

    #[test]
    fn reads_retry_after() {
        assert_eq!(parse_retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
