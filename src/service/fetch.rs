//! Remote fetch for `?url=`: http(s) only, every address checked after DNS resolution and again
//! on each redirect hop, no proxies, timeouts, and a body cap enforced while it streams.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::addr_policy::{AddressPolicy, Refusal};
use super::budget::Reservation;

/// Redirect hops followed at most.
pub const MAX_REDIRECTS: usize = 5;
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a remote image could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`url` is not a usable http(s) URL: {0}")]
    BadUrl(String),
    #[error("the URL points at {what} ({host}), which this service does not fetch")]
    Refused { host: String, what: &'static str },
    #[error("the remote server redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects,
    #[error("the link answered {}", crate::client::status_words(*.0))]
    Status(u16),
    #[error("the remote image is larger than the {0} byte limit")]
    TooLarge(u64),
    #[error("the remote server did not answer in time")]
    Timeout,
    #[error("cannot fetch the remote image: {0}")]
    Connect(String),
    #[error("the service is busy; try again in a moment")]
    Busy,
}

/// Error the resolver returns when every address of a name is refused; found again in the
/// error chain to give the person the real reason.
#[derive(Debug)]
struct RefusedByPolicy {
    host: String,
    what: &'static str,
}

impl std::fmt::Display for RefusedByPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves to {}", self.host, self.what)
    }
}

impl std::error::Error for RefusedByPolicy {}

/// Resolves names with the system resolver, then drops every address the policy refuses, so the
/// connection can only go to an address that was checked (no check-then-resolve-again race).
struct PolicyResolver {
    policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(r) => {
                        refusal = Some(r);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let what = refusal.map_or("no address", Refusal::describe);
                return Err(Box::new(RefusedByPolicy { host, what }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Fetches remote images under the policy.
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    policy: Arc<AddressPolicy>,
    max_bytes: u64,
    timeout: Duration,
}

impl Fetcher {
    /// A fetcher that reads at most `max_bytes` and gives up after `timeout` in all.
    pub fn new(
        policy: AddressPolicy,
        max_bytes: u64,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            .user_agent(concat!(
                "groupme-uploader-service/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Fetcher {
            http,
            policy,
            max_bytes,
            timeout,
        })
    }

    /// Fetches `url`, following at most [`MAX_REDIRECTS`] redirects, each hop checked.
    /// The body's bytes are counted in `held` as they arrive ([`FetchError::Busy`] past the
    /// service's budget).
    pub async fn fetch(&self, url: &str, held: &mut Reservation) -> Result<Bytes, FetchError> {
        tokio::time::timeout(self.timeout, self.fetch_inner(url, held))
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }

    async fn fetch_inner(&self, raw: &str, held: &mut Reservation) -> Result<Bytes, FetchError> {
        let mut url = check_url(raw)?;
        for _ in 0..=MAX_REDIRECTS {
            self.check_literal_host(&url)?;
            let response = self
                .http
                .get(url.clone())
                .send()
                .await
                .map_err(|e| explain(&e))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(FetchError::Status(status.as_u16()))?;
                let next = url
                    .join(location)
                    .map_err(|e| FetchError::BadUrl(format!("redirect to `{location}`: {e}")))?;
                url = check_url(next.as_str())?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            return self.read_capped(response, held).await;
        }
        Err(FetchError::TooManyRedirects)
    }

    /// An IP literal host never reaches the resolver: check it here.
    fn check_literal_host(&self, url: &url::Url) -> Result<(), FetchError> {
        let ip: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(v4.into()),
            Some(url::Host::Ipv6(v6)) => Some(v6.into()),
            _ => None,
        };
        if let Some(ip) = ip {
            self.policy.check(ip).map_err(|r| FetchError::Refused {
                host: ip.to_string(),
                what: r.describe(),
            })?;
        }
        Ok(())
    }

    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        held: &mut Reservation,
    ) -> Result<Bytes, FetchError> {
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| explain(&e))? {
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            held.grow(chunk.len()).map_err(|_| FetchError::Busy)?;
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

/// Parses a URL to fetch: http or https, a host, no user info, not too long.
fn check_url(raw: &str) -> Result<url::Url, FetchError> {
    if raw.len() > MAX_URL_LEN {
        return Err(FetchError::BadUrl(format!(
            "longer than {MAX_URL_LEN} characters"
        )));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| FetchError::BadUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl(format!(
            "the scheme `{}` is not http or https",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(FetchError::BadUrl("no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::BadUrl(
            "user info in URLs is not accepted".into(),
        ));
    }
    Ok(url)
}

/// Turns a reqwest error into the person's reason, finding a policy refusal in the chain.
fn explain(e: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<RefusedByPolicy>() {
            return FetchError::Refused {
                host: refused.host.clone(),
                what: refused.what,
            };
        }
        source = err.source();
    }
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    FetchError::Connect(last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "file:///etc/passwd",
            "gopher://127.0.0.1/",
            "ftp://example.com/a.png",
            "http://user:pw@example.com/a.png",
            "not a url",
        ] {
            assert!(
                matches!(check_url(bad), Err(FetchError::BadUrl(_))),
                "{bad}"
            );
        }
        let long = format!("http://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(check_url(&long), Err(FetchError::BadUrl(_))));
    }

    #[test]
    fn normalizes_odd_ipv4_forms_to_their_address() {
        let fetcher =
            Fetcher::new(AddressPolicy::default(), 10, Duration::from_secs(1)).expect("fetcher");
        for form in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]/",
            "http://0.0.0.0/",
        ] {
            let url = check_url(form).expect(form);
            assert!(
                matches!(
                    fetcher.check_literal_host(&url),
                    Err(FetchError::Refused { .. })
                ),
                "{form}"
            );
        }
    }
}
