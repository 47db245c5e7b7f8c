//! What can go wrong talking to the GroupMe API, in words a person understands, each naming what
//! the call was about.

use std::time::Duration;

use super::cdn::NotOnCdn;
use super::destination::{BadId, Target};
use super::message::TextTooLong;

/// Why a GroupMe API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API base URL is not usable.
    #[error("the GroupMe API endpoint `{0}` is not an http(s) URL")]
    BadEndpoint(String),
    /// A call that needs the token was made without one.
    #[error(
        "{0} needs a GroupMe access token: set GM_TOKEN (get yours at https://dev.groupme.com)"
    )]
    NoToken(Target),
    /// The token has characters an HTTP header cannot carry.
    #[error(
        "the access token contains characters that cannot be sent (check for spaces or line breaks inside it)"
    )]
    BadToken,
    #[error(transparent)]
    BadId(#[from] BadId),
    #[error(transparent)]
    TextTooLong(#[from] TextTooLong),
    #[error(transparent)]
    NotOnCdn(#[from] NotOnCdn),
    #[error("GroupMe refused the access token (401): check it{}", detail_suffix(.detail))]
    Unauthorized { detail: Option<String> },
    #[error(
        "GroupMe does not allow this for {target} (403): you are not a member, or not allowed to post there{}",
        detail_suffix(.detail)
    )]
    Forbidden {
        target: Target,
        detail: Option<String>,
    },
    #[error("{target} was not found on GroupMe (404): it is gone, or the id is wrong{}", detail_suffix(.detail))]
    NotFound {
        target: Target,
        detail: Option<String>,
    },
    #[error("GroupMe refused the request for {target} ({status}){}", detail_suffix(.detail))]
    Refused {
        target: Target,
        status: u16,
        detail: Option<String>,
    },
    #[error("GroupMe is rate limiting (429): too many requests{}", detail_suffix(.detail))]
    RateLimited {
        retry_after: Option<Duration>,
        detail: Option<String>,
    },
    #[error("GroupMe failed ({status}) for {target}, try again later{}", detail_suffix(.detail))]
    Server {
        target: Target,
        status: u16,
        detail: Option<String>,
    },
    #[error("unexpected answer from GroupMe ({status}) for {target}{}", detail_suffix(.detail))]
    UnexpectedStatus {
        target: Target,
        status: u16,
        detail: Option<String>,
    },
    #[error("cannot reach {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("GroupMe did not answer within {}s", .after.as_secs())]
    TimedOut { after: Duration },
    #[error("the connection to GroupMe broke: {0}")]
    Network(String),
    #[error("GroupMe's answer for {target} could not be understood: {reason}")]
    MalformedAnswer { target: Target, reason: String },
    #[error("{target} has more than {pages} pages; stopped reading there")]
    TooManyPages { target: Target, pages: u32 },
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_ref().map_or(String::new(), |d| format!(" — {d}"))
}

/// Whether a call may be sent again after a failure that might have reached GroupMe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, avatar updates, and sends with a `source_guid` (GroupMe drops the duplicate): any
    /// transient failure is retried.
    Safe,
    /// A bot post has no guid: retried only when GroupMe surely did not act (nothing was
    /// connected, or it answered 429), never after a 5xx or a broken connection.
    OnlyUnsent,
}

impl ApiError {
    /// Maps a non-2xx answer for `target` to an error with GroupMe's own words.
    pub fn from_status(
        target: &Target,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> ApiError {
        let detail = crate::client::error_detail(body);
        let target = target.clone();
        match status {
            401 => ApiError::Unauthorized { detail },
            403 => ApiError::Forbidden { target, detail },
            404 => ApiError::NotFound { target, detail },
            429 => ApiError::RateLimited {
                retry_after,
                detail,
            },
            400 | 409 | 413 | 422 => ApiError::Refused {
                target,
                status,
                detail,
            },
            500..=599 => ApiError::Server {
                target,
                status,
                detail,
            },
            _ => ApiError::UnexpectedStatus {
                target,
                status,
                detail,
            },
        }
    }

    /// Whether another attempt may succeed, for a call that repeats as `repeat` says.
    pub fn is_retryable(&self, repeat: Repeat) -> bool {
        match self {
            ApiError::Unreachable { .. } | ApiError::RateLimited { .. } => true,
            ApiError::Server { .. } | ApiError::TimedOut { .. } | ApiError::Network(_) => {
                repeat == Repeat::Safe
            }
            _ => false,
        }
    }

    /// The wait GroupMe asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether GroupMe may have acted although the call failed (a 5xx, a timeout, a connection
    /// broken after the request went): a send may then be in the chat already.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ApiError::Server { .. } | ApiError::TimedOut { .. } | ApiError::Network(_)
        )
    }

    /// Whether every later call to the same place would fail the same way (the token, the
    /// membership, the group or bot itself), so a batch may stop here.
    pub fn ends_the_batch(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized { .. }
                | ApiError::Forbidden { .. }
                | ApiError::NotFound { .. }
                | ApiError::NoToken(_)
                | ApiError::BadToken
                | ApiError::BadEndpoint(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groupme::Destination;

    fn group() -> Target {
        Target::To(Destination::Group("123".into()))
    }

    #[test]
    fn statuses_in_plain_words() {
        let e = ApiError::from_status(
            &group(),
            401,
            None,
            br#"{"meta":{"code":401,"errors":["unauthorized"]},"response":null}"#,
        );
        assert_eq!(
            e.to_string(),
            "GroupMe refused the access token (401): check it — unauthorized"
        );
        assert!(!e.is_retryable(Repeat::Safe));
        assert!(e.ends_the_batch());
        let e = ApiError::from_status(&group(), 403, None, b"");
        assert_eq!(
            e.to_string(),
            "GroupMe does not allow this for group 123 (403): you are not a member, or not allowed to post there"
        );
        let bot = Target::To(Destination::Bot("b0t".into()));
        let e = ApiError::from_status(
            &bot,
            404,
            None,
            br#"{"meta":{"code":404,"errors":["not found"]}}"#,
        );
        assert_eq!(
            e.to_string(),
            "bot b0t was not found on GroupMe (404): it is gone, or the id is wrong — not found"
        );
        let e = ApiError::from_status(
            &group(),
            400,
            None,
            br#"{"meta":{"code":400,"errors":["attachments are invalid"]}}"#,
        );
        assert_eq!(
            e.to_string(),
            "GroupMe refused the request for group 123 (400) — attachments are invalid"
        );
        assert!(!e.ends_the_batch());
    }

    #[test]
    fn what_is_retried() {
        let limited = ApiError::from_status(&group(), 429, Some(Duration::from_secs(2)), b"");
        assert!(limited.is_retryable(Repeat::Safe));
        assert!(limited.is_retryable(Repeat::OnlyUnsent));
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        let failed = ApiError::from_status(&group(), 502, None, b"");
        assert!(failed.is_retryable(Repeat::Safe));
        assert!(
            !failed.is_retryable(Repeat::OnlyUnsent),
            "a bot post may have gone"
        );
        let broken = ApiError::Network("reset".into());
        assert!(!broken.is_retryable(Repeat::OnlyUnsent));
        let refused = ApiError::Unreachable {
            host: "h".into(),
            reason: "connection refused".into(),
        };
        assert!(refused.is_retryable(Repeat::OnlyUnsent));
        assert_eq!(failed.retry_after(), None);
        assert!(failed.outcome_unknown() && broken.outcome_unknown());
        assert!(!limited.outcome_unknown() && !refused.outcome_unknown());
    }
}
