//! Store errors, typed: what went wrong, in the terms of whoever runs the service (a missing
//! bucket, a wrong region, refused credentials, an endpoint that cannot be reached or that
//! answers with an error). Clients only ever see "storage failed".

use std::path::PathBuf;

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
        let mut root: &dyn std::error::Error = e;
        while let Some(cause) = root.source() {
            root = cause;
        }
        StoreError::Failed {
            store: store.to_owned(),
            reason: reason(&chain(e), &root.to_string()),
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

/// What a store error (`detail`, with its innermost cause `root`) means for whoever runs the
/// service: a missing bucket, a wrong region, refused credentials, an endpoint that cannot be
/// reached or one that answers with an error.
fn reason(detail: &str, root: &str) -> Reason {
    let code = xml_field(detail, "Code").unwrap_or_default();
    let message = xml_field(detail, "Message").unwrap_or_default();
    let status = detail
        .split_once("status code: ")
        .and_then(|(_, rest)| rest.get(..3))
        .and_then(|s| s.parse::<u16>().ok());
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" (the store says: {message})")
    };
    if detail.contains("URL scheme is not allowed") {
        Reason::PlainHttp
    } else if code == "NoSuchBucket" {
        Reason::NoSuchBucket
    } else if matches!(
        code.as_str(),
        "AuthorizationHeaderMalformed" | "IllegalLocationConstraint" | "PermanentRedirect"
    ) {
        Reason::WrongRegion { said }
    } else if matches!(
        code.as_str(),
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied"
    ) || status == Some(403)
    {
        Reason::CredentialsRefused { said }
    } else if let Some(status) = status {
        Reason::Answered { status, code, said }
    } else if detail.contains("error sending request") || detail.contains("timed out") {
        Reason::Unreachable(root.to_owned())
    } else {
        Reason::Other(detail.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors as object_store 0.14 reports them from Garage 2.5 (seen in `tests/garage.rs`).
    const GET: &str = "Generic S3 error: Error performing list request: Error performing GET \
        http://127.0.0.1:3900/images?list-type=2&prefix=pictures%2F in 1.05ms - ";

    #[test]
    fn store_errors_are_explained_in_the_users_terms() {
        let xml = |status: &str, code: &str, message: &str| {
            format!(
                "{GET}Server returned non-2xx status code: {status}: <?xml version=\"1.0\" \
                 encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>\
                 <Resource>/images</Resource><Region>garage</Region></Error>"
            )
        };
        let cases = [
            (
                xml(
                    "400 Bad Request",
                    "AuthorizationHeaderMalformed",
                    "unexpected scope: &apos;us-east-1&apos;",
                ),
                "the region is wrong for this endpoint (set AWS_REGION) (the store says: unexpected scope: 'us-east-1')",
            ),
            (
                xml("404 Not Found", "NoSuchBucket", "Bucket not found: nope"),
                "the bucket does not exist (create it, or fix the name)",
            ),
            (
                xml(
                    "403 Forbidden",
                    "AccessDenied",
                    "Forbidden: Invalid signature",
                ),
                "the credentials were refused (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 and the key's rights on the bucket) (the store says: Forbidden: Invalid signature)",
            ),
            (
                xml(
                    "503 Service Unavailable",
                    "ServiceUnavailable",
                    "Could not reach quorum of 2. Not connected: b7c1",
                ),
                "the store answered 503 ServiceUnavailable (the store says: Could not reach quorum of 2. Not connected: b7c1)",
            ),
            (
                format!(
                    "{GET}HTTP error: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
                ),
                "cannot reach the endpoint (check AWS_ENDPOINT): Connection refused (os error 111)",
            ),
            (
                format!("{GET}HTTP error: builder error: URL scheme is not allowed"),
                "the endpoint is plain http:// (set AWS_ALLOW_HTTP=true to allow it)",
            ),
        ];
        for (detail, expected) in cases {
            assert_eq!(
                reason(&detail, "Connection refused (os error 111)").to_string(),
                expected
            );
        }
    }
}
