//! Store errors, typed: what went wrong, in the terms of whoever runs the service (a missing
//! bucket, a wrong region, refused credentials, an endpoint that cannot be reached or that
//! answers with an error). Clients only ever see "storage failed".

use std::path::PathBuf;

use object_store::client::{HttpError, HttpErrorKind};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory of a local store cannot be created or used.
    #[error("cannot {doing} {}: {cause}", dir.display())]
    Directory {
        dir: PathBuf,
        doing: &'static str,
        cause: String,
    },
    /// `--store` is neither `file:DIR` nor `s3://BUCKET`.
    #[error("--store {0:?} is neither file:DIR nor s3://BUCKET")]
    Spec(String),
    /// `s3://BUCKET` names more than a bucket.
    #[error("s3://{0}: give a bucket name only, like s3://images")]
    BucketName(String),
    /// No explicit credentials: the credential services are never asked.
    #[error(
        "s3://{0} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (instance metadata and \
         container credentials are never used)"
    )]
    NoCredentials(String),
    /// The bucket's settings could not be used.
    #[error("s3://{bucket}: {cause}")]
    Settings { bucket: String, cause: String },
    /// A request to the store failed.
    #[error("{store}: {reason}")]
    Failed {
        /// The store, e.g. `bucket s3://images at http://127.0.0.1:3900 (region garage)`.
        store: String,
        reason: Reason,
    },
}

/// Why a request to the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("the endpoint is plain http:// (set AWS_ALLOW_HTTP=true to allow it)")]
    PlainHttp,
    #[error("the bucket does not exist (create it, or fix the name)")]
    NoSuchBucket,
    #[error("the region is wrong for this endpoint (set AWS_REGION){said}")]
    WrongRegion { said: String },
    #[error(
        "the credentials were refused (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and \
         the key's rights on the bucket){said}"
    )]
    CredentialsRefused { said: String },
    #[error("the store answered {status}{}{said}", code_text(code))]
    Answered {
        status: u16,
        code: String,
        said: String,
    },
    #[error("cannot reach the endpoint (check AWS_ENDPOINT): {0}")]
    Unreachable(String),
    #[error("the connection to the endpoint broke: {0}")]
    Interrupted(String),
    #[error("{0}")]
    Other(String),
}

fn code_text(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!(" {code}")
    }
}

impl StoreError {
    /// `e`, met by the store described as `store`, explained.
    pub(super) fn failed(store: &str, e: &object_store::Error) -> StoreError {
        StoreError::Failed {
            store: store.to_owned(),
            reason: reason(e),
        }
    }
}

/// The error and its causes on one line: object_store's own message often leaves out why.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// The innermost cause of `e` (for a refused connection: "Connection refused (os error 111)").
fn root_cause<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> &'e (dyn std::error::Error + 'static) {
    let mut root = e;
    while let Some(cause) = root.source() {
        root = cause;
    }
    root
}

/// The first cause of `e` (itself included) of type `T`.
fn find_cause<'e, T: std::error::Error + 'static>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut next = Some(e);
    while let Some(cause) = next {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        next = cause.source();
    }
    None
}

/// The text between `<{tag}>` and `</{tag}>` in an S3 error document, unescaped.
fn xml_field(detail: &str, tag: &str) -> Option<String> {
    let start = detail.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = detail[start..].find(&format!("</{tag}>"))?;
    let text = &detail[start..start + len];
    Some(
        text.replace("&apos;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The HTTP status an answer had, where object_store's variant says it (requests on one object:
/// a listing's failure is always `Generic`).
fn variant_status(e: &object_store::Error) -> Option<u16> {
    use object_store::Error as E;
    match e {
        E::NotModified { .. } => Some(304),
        E::Unauthenticated { .. } => Some(401),
        E::PermissionDenied { .. } => Some(403),
        E::NotFound { .. } => Some(404),
        E::AlreadyExists { .. } => Some(409),
        E::Precondition { .. } => Some(412),
        _ => None,
    }
}

/// What a store error means for whoever runs the service: a missing bucket, a wrong region,
/// refused credentials, an endpoint that cannot be reached or one that answers with an error.
fn reason(e: &object_store::Error) -> Reason {
    let detail = chain(e);
    // No answer at all: object_store's HttpError says why.
    if let Some(http) = find_cause::<HttpError>(e) {
        let root = root_cause(http).to_string();
        return match http.kind() {
            HttpErrorKind::Connect | HttpErrorKind::Timeout => Reason::Unreachable(root),
            HttpErrorKind::Request | HttpErrorKind::Interrupted => Reason::Interrupted(root),
            // reqwest refuses to build an http:// request when object_store asked for https
            // only; that reason's type is private to reqwest, so its words are all there is.
            _ if find_cause::<reqwest::Error>(http).is_some_and(reqwest::Error::is_builder)
                && root == "URL scheme is not allowed" =>
            {
                Reason::PlainHttp
            }
            _ => Reason::Other(detail),
        };
    }
    // An answer. object_store keeps its status and body in a RetryError it does not export
    // (`client::retry` is private in 0.14), and its variants name only six statuses, on object
    // requests: a listing's 403 is `Generic` too. S3's error code (NoSuchBucket beside NoSuchKey,
    // AuthorizationHeaderMalformed for a wrong region) and message exist only in the error
    // document it prints. So: the status from the variant where it says, else from the text;
    // the code and message from the text.
    let status = variant_status(e).or_else(|| {
        detail
            .split_once("status code: ")
            .and_then(|(_, rest)| rest.get(..3))
            .and_then(|s| s.parse::<u16>().ok())
    });
    let code = xml_field(&detail, "Code").unwrap_or_default();
    let message = xml_field(&detail, "Message").unwrap_or_default();
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" (the store says: {message})")
    };
    if code == "NoSuchBucket" {
        Reason::NoSuchBucket
    } else if matches!(
        code.as_str(),
        "AuthorizationHeaderMalformed" | "IllegalLocationConstraint" | "PermanentRedirect"
    ) {
        Reason::WrongRegion { said }
    } else if matches!(
        code.as_str(),
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied"
    ) || matches!(status, Some(401 | 403))
    {
        Reason::CredentialsRefused { said }
    } else if let Some(status) = status {
        Reason::Answered { status, code, said }
    } else {
        Reason::Other(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::Store;

    /// An S3 error document as Garage 2.5 writes it.
    fn xml(code: &str, message: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
             <Message>{message}</Message><Resource>/images</Resource><Region>garage</Region></Error>"
        )
    }

    /// A stand-in S3 endpoint on 127.0.0.1: a listing gets `list`, any other request `other`
    /// (status, body). Returns its URL.
    async fn fake_s3(list: (u16, String), other: (u16, String)) -> String {
        use axum::http::StatusCode;
        let answer = move |req: axum::extract::Request| {
            let (status, body) = if req.uri().query().is_some_and(|q| q.contains("list-type")) {
                list.clone()
            } else {
                other.clone()
            };
            async move { (StatusCode::from_u16(status).expect("status"), body) }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(answer);
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        url
    }

    /// What the start-up check of a bucket at `endpoint` says is wrong.
    async fn check(endpoint: &str, allow_http: bool) -> Reason {
        let mut vars = vec![
            ("AWS_ENDPOINT", endpoint),
            ("AWS_REGION", "garage"),
            ("AWS_ACCESS_KEY_ID", "GK1"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        if allow_http {
            vars.push(("AWS_ALLOW_HTTP", "true"));
        }
        let vars = vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned()));
        let store = Store::s3("images", vars).expect("store");
        match store.check().await {
            Err(StoreError::Failed { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    const EMPTY_LISTING: &str = "<ListBucketResult></ListBucketResult>";

    #[tokio::test]
    async fn answers_are_explained_in_the_users_terms() {
        let cases = [
            (
                (
                    400,
                    xml(
                        "AuthorizationHeaderMalformed",
                        "unexpected scope: &apos;us-east-1&apos;",
                    ),
                ),
                (200, String::new()),
                "the region is wrong for this endpoint (set AWS_REGION) (the store says: \
                 unexpected scope: 'us-east-1')",
            ),
            (
                (404, xml("NoSuchBucket", "Bucket not found: images")),
                (200, String::new()),
                "the bucket does not exist (create it, or fix the name)",
            ),
            // A listing's 403 is object_store's Generic: the status comes from its text.
            (
                (
                    403,
                    xml("SignatureDoesNotMatch", "Forbidden: Invalid signature"),
                ),
                (200, String::new()),
                "the credentials were refused (check AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, and the key's rights on the bucket) (the store says: \
                 Forbidden: Invalid signature)",
            ),
            // A write's 403 is object_store's PermissionDenied: enough without a body.
            (
                (200, EMPTY_LISTING.to_owned()),
                (403, String::new()),
                "the credentials were refused (check AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, and the key's rights on the bucket)",
            ),
            // And its 401 is Unauthenticated.
            (
                (200, EMPTY_LISTING.to_owned()),
                (401, String::new()),
                "the credentials were refused (check AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, and the key's rights on the bucket)",
            ),
            (
                (200, EMPTY_LISTING.to_owned()),
                (404, xml("NoSuchBucket", "Bucket not found: images")),
                "the bucket does not exist (create it, or fix the name)",
            ),
            (
                (
                    503,
                    xml(
                        "ServiceUnavailable",
                        "Could not reach quorum of 2. Not connected: b7c1",
                    ),
                ),
                (200, String::new()),
                "the store answered 503 ServiceUnavailable (the store says: Could not reach \
                 quorum of 2. Not connected: b7c1)",
            ),
        ];
        for (list, other, expected) in cases {
            let endpoint = fake_s3(list.clone(), other.clone()).await;
            assert_eq!(
                check(&endpoint, true).await.to_string(),
                expected,
                "{list:?} {other:?}"
            );
        }
    }

    #[tokio::test]
    async fn no_answer_is_explained_from_the_http_error_kind() {
        // Nothing listens on a port just freed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let refused = check(&endpoint, true).await;
        assert!(
            matches!(&refused, Reason::Unreachable(why) if why.contains("refused")),
            "{refused:?}"
        );
        assert!(
            refused
                .to_string()
                .starts_with("cannot reach the endpoint (check AWS_ENDPOINT): "),
            "{refused}"
        );
        // Without AWS_ALLOW_HTTP, no request leaves at all.
        assert_eq!(check(&endpoint, false).await, Reason::PlainHttp);
        assert_eq!(
            Reason::PlainHttp.to_string(),
            "the endpoint is plain http:// (set AWS_ALLOW_HTTP=true to allow it)"
        );
    }

    #[test]
    fn variants_alone_say_enough_for_credentials() {
        let denied = object_store::Error::PermissionDenied {
            path: "probe/1".into(),
            source: "no body".into(),
        };
        assert!(matches!(reason(&denied), Reason::CredentialsRefused { said } if said.is_empty()));
        let broke = object_store::Error::Generic {
            store: "S3",
            source: Box::new(HttpError::new(
                HttpErrorKind::Interrupted,
                std::io::Error::from(std::io::ErrorKind::ConnectionReset),
            )),
        };
        assert_eq!(
            reason(&broke).to_string(),
            "the connection to the endpoint broke: connection reset"
        );
    }
}
