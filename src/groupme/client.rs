//! The GroupMe API v3 client: the list calls, picture messages to groups, direct chats and
//! bots, and the avatar, with pacing, retries and typed errors.
//!
//! The token goes in the `X-Access-Token` header of every call but `POST /bots/post` (a bot post
//! needs none, so it is not given one), never in a URL. A failed call is retried when GroupMe
//! cannot have acted on it, or when acting twice is harmless ([`Repeat`]): a message keeps its
//! `source_guid` across attempts and a 409 for it means an earlier attempt went.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::cdn::PictureUrl;
use super::destination::{Destination, Target};
use super::envelope::{parse_response, raw_response};
use super::error::{ApiError, Repeat};
use super::lists::{Bot, Chat, Group, Me, RawChat, RawMe};
use super::message::{Outgoing, Sent, parse_created};
use super::pacer::Pacer;
use crate::backoff::Backoff;
use crate::client::{parse_retry_after, root_cause};
use crate::token::Token;

/// GroupMe's API.
pub const DEFAULT_API_ENDPOINT: &str = "https://api.groupme.com/v3";

/// The largest answer read: a page of 100 groups without their members is well under this.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// How the client talks to the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// API root (`https://api.groupme.com/v3`); paths such as `/groups` are appended.
    pub base: url::Url,
    /// Sent as `X-Access-Token`; without one only bot posts work.
    pub token: Option<Token>,
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Time allowed to open the connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole call: the API's answers are small, so a slow one is a stuck one.
    pub request_timeout: Duration,
    /// The waits between attempts.
    pub backoff: Backoff,
    /// Least time between the starts of two requests (100 ms: 10 a second).
    pub pace: Duration,
    /// `per_page` of the list calls.
    pub page_size: u32,
    /// Pages read at most per list, against a server that never sends the empty last page.
    pub max_pages: u32,
    /// Whether proxy variables (`HTTPS_PROXY`, …) apply; tests turn this off.
    pub system_proxy: bool,
}

impl ApiConfig {
    /// A config with the usual limits for the API at `base`.
    pub fn new(base: &str, token: Option<Token>) -> Result<ApiConfig, ApiError> {
        let base = crate::client::parse_endpoint(base)
            .map_err(|_| ApiError::BadEndpoint(base.to_owned()))?;
        Ok(ApiConfig {
            base,
            token,
            max_attempts: 4,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            pace: Duration::from_millis(100),
            page_size: 100,
            max_pages: 100,
            system_proxy: true,
        })
    }
}

/// One call, the same on every attempt.
struct Call<'a> {
    method: Method,
    path: Vec<&'a str>,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    /// Whether the token is sent.
    auth: bool,
    repeat: Repeat,
    target: &'a Target,
    /// A 409 means "already done" (a message's guid was seen).
    duplicate_ok: bool,
}

/// A 2xx (or an accepted 409) answer.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

/// The GroupMe API client. Cheap to clone; clones share the pacing.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    config: Arc<ApiConfig>,
    token_header: Option<HeaderValue>,
    pacer: Arc<Pacer>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for `config`.
    pub fn new(config: ApiConfig) -> Result<ApiClient, ApiError> {
        let token_header = match &config.token {
            Some(token) => {
                let mut value =
                    HeaderValue::from_str(token.expose()).map_err(|_| ApiError::BadToken)?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let mut http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // The API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("groupme-uploader/", env!("CARGO_PKG_VERSION")));
        if !config.system_proxy {
            http = http.no_proxy();
        }
        let http = http
            .build()
            .map_err(|e| ApiError::Network(root_cause(&e)))?;
        Ok(ApiClient {
            http,
            pacer: Arc::new(Pacer::new(config.pace)),
            config: Arc::new(config),
            token_header,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// `GET /users/me`: who the token belongs to.
    pub async fn me(&self) -> Result<Me, ApiError> {
        let target = Target::Me;
        let reply = self.call(&Call::get(vec!["users", "me"], &target)).await?;
        read::<RawMe>(&target, &reply)?
            .into_me()
            .map_err(|reason| malformed(&target, reason))
    }

    /// `GET /groups?page=P&per_page=N&omit=memberships`, every page.
    pub async fn groups(&self) -> Result<Vec<Group>, ApiError> {
        let omit = [("omit", "memberships".to_owned())];
        self.pages(&Target::Groups, "groups", &omit).await
    }

    /// `GET /chats?page=P&per_page=N`, every page: the people I have direct chats with.
    pub async fn chats(&self) -> Result<Vec<Chat>, ApiError> {
        let raw: Vec<RawChat> = self.pages(&Target::Chats, "chats", &[]).await?;
        Ok(raw.into_iter().map(Chat::from).collect())
    }

    /// `GET /bots`: my bots.
    pub async fn bots(&self) -> Result<Vec<Bot>, ApiError> {
        let target = Target::Bots;
        let reply = self.call(&Call::get(vec!["bots"], &target)).await?;
        read(&target, &reply)
    }

    /// Sends one picture message; its retries reuse its `source_guid`.
    pub async fn send(&self, message: &Outgoing) -> Result<Sent, ApiError> {
        super::message::check_text(&message.text)?;
        let target = Target::To(message.to.clone());
        let (path, body) = message.request();
        let is_bot = matches!(message.to, Destination::Bot(_));
        let call = Call {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(body),
            auth: !is_bot,
            repeat: if is_bot {
                Repeat::OnlyUnsent
            } else {
                Repeat::Safe
            },
            target: &target,
            duplicate_ok: !is_bot,
        };
        let reply = self.call(&call).await?;
        if is_bot {
            return Ok(Sent::Accepted);
        }
        if reply.status == StatusCode::CONFLICT {
            return Ok(Sent::AlreadyPosted);
        }
        // The message went; an answer without its id does not undo that.
        let message_id = raw_response(&reply.body).and_then(parse_created).ok();
        Ok(Sent::Posted { message_id })
    }

    /// `POST /users/update` with `avatar_url`: sets my avatar.
    pub async fn set_avatar(&self, picture: &PictureUrl) -> Result<Me, ApiError> {
        let target = Target::Me;
        let call = Call {
            method: Method::POST,
            path: vec!["users", "update"],
            query: Vec::new(),
            body: Some(serde_json::json!({ "avatar_url": picture.to_string() })),
            auth: true,
            repeat: Repeat::Safe,
            target: &target,
            duplicate_ok: false,
        };
        let reply = self.call(&call).await?;
        read::<RawMe>(&target, &reply)?
            .into_me()
            .map_err(|reason| malformed(&target, reason))
    }

    /// Reads pages 1, 2, … until an empty one.
    async fn pages<T: DeserializeOwned>(
        &self,
        target: &Target,
        path: &str,
        extra: &[(&'static str, String)],
    ) -> Result<Vec<T>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=self.config.max_pages {
            let mut call = Call::get(vec![path], target);
            call.query = vec![
                ("page", page.to_string()),
                ("per_page", self.config.page_size.to_string()),
            ];
            call.query.extend(extra.iter().cloned());
            let items: Vec<T> = read(target, &self.call(&call).await?)?;
            if items.is_empty() {
                return Ok(all);
            }
            all.extend(items);
        }
        Err(ApiError::TooManyPages {
            target: target.clone(),
            pages: self.config.max_pages,
        })
    }

    /// Runs attempts until one succeeds, a final error comes, or attempts run out.
    async fn call(&self, call: &Call<'_>) -> Result<Reply, ApiError> {
        if call.auth && self.token_header.is_none() {
            return Err(ApiError::NoToken(call.target.clone()));
        }
        let max = self.config.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            self.pacer.wait().await;
            match self.attempt(call).await {
                Err(e) if e.is_retryable(call.repeat) && attempt < max => {
                    attempt += 1;
                    let delay = self.delay_before(attempt, &e);
                    tracing::warn!(
                        "{e}; attempt {attempt} of {max} in {:.1}s",
                        delay.as_secs_f32()
                    );
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    /// Backoff before `attempt` (2 or more): `Retry-After` when given, else exponential with
    /// jitter.
    fn delay_before(&self, attempt: u32, error: &ApiError) -> Duration {
        self.config.backoff.delay(attempt, error.retry_after())
    }

    fn url(&self, call: &Call<'_>) -> Result<url::Url, ApiError> {
        let mut url = self.config.base.clone();
        url.path_segments_mut()
            .map_err(|()| ApiError::BadEndpoint(self.config.base.to_string()))?
            .pop_if_empty()
            .extend(&call.path);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        Ok(url)
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let mut request = self.http.request(call.method.clone(), self.url(call)?);
        if call.auth
            && let Some(token) = &self.token_header
        {
            request = request.header("X-Access-Token", token.clone());
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.map_send_error(&e))?;
        let status = response.status();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let body = read_capped(response, call.target).await?;
        if status.is_success() || (call.duplicate_ok && status == StatusCode::CONFLICT) {
            return Ok(Reply { status, body });
        }
        Err(ApiError::from_status(
            call.target,
            status.as_u16(),
            retry_after,
            &body,
        ))
    }

    fn map_send_error(&self, e: &reqwest::Error) -> ApiError {
        if e.is_connect() {
            let base = &self.config.base;
            let host = match (base.host_str(), base.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => String::new(),
            };
            let reason = if e.is_timeout() {
                format!("timed out after {}s", self.config.connect_timeout.as_secs())
            } else {
                root_cause(e)
            };
            return ApiError::Unreachable { host, reason };
        }
        if e.is_timeout() {
            return ApiError::TimedOut {
                after: self.config.request_timeout,
            };
        }
        ApiError::Network(root_cause(e))
    }
}

impl<'a> Call<'a> {
    fn get(path: Vec<&'a str>, target: &'a Target) -> Call<'a> {
        Call {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            auth: true,
            repeat: Repeat::Safe,
            target,
            duplicate_ok: false,
        }
    }
}

fn malformed(target: &Target, reason: String) -> ApiError {
    ApiError::MalformedAnswer {
        target: target.clone(),
        reason,
    }
}

fn read<T: DeserializeOwned>(target: &Target, reply: &Reply) -> Result<T, ApiError> {
    parse_response(&reply.body).map_err(|reason| malformed(target, reason))
}

async fn read_capped(
    mut response: reqwest::Response,
    target: &Target,
) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ApiError::Network(root_cause(&e)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(malformed(
                target,
                format!("the answer is over {} MiB", MAX_ANSWER / (1024 * 1024)),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> ApiClient {
        let mut config = ApiConfig::new(base, Token::new("t")).expect("config");
        config.backoff.base = Duration::from_millis(100);
        config.backoff.max = Duration::from_secs(1);
        config.system_proxy = false;
        ApiClient::new(config).expect("client")
    }

    #[test]
    fn urls_below_the_base() {
        let target = Target::Groups;
        for base in ["https://api.groupme.com/v3", "https://api.groupme.com/v3/"] {
            let mut call = Call::get(vec!["groups"], &target);
            call.query = vec![("page", "2".into()), ("per_page", "100".into())];
            assert_eq!(
                client(base).url(&call).expect("url").as_str(),
                "https://api.groupme.com/v3/groups?page=2&per_page=100"
            );
        }
        let call = Call::get(vec!["groups", "12", "messages"], &target);
        assert_eq!(
            client("http://127.0.0.1:9")
                .url(&call)
                .expect("url")
                .as_str(),
            "http://127.0.0.1:9/groups/12/messages"
        );
        assert!(matches!(
            ApiConfig::new("ftp://x", None),
            Err(ApiError::BadEndpoint(_))
        ));
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let c = client("http://127.0.0.1:9");
        let failed = ApiError::Network("reset".into());
        for (attempt, lo, hi) in [(2, 50, 100), (3, 100, 200), (4, 200, 400), (30, 500, 1000)] {
            let d = c.delay_before(attempt, &failed).as_millis();
            assert!((lo..=hi).contains(&d), "attempt {attempt}: {d} ms");
        }
        let limited = ApiError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            detail: None,
        };
        assert_eq!(
            c.delay_before(2, &limited),
            Duration::from_secs(1),
            "capped"
        );
    }

    #[tokio::test]
    async fn calls_needing_a_token_say_so_without_a_request() {
        let mut config = ApiConfig::new("http://127.0.0.1:9", None).expect("config");
        config.system_proxy = false;
        let c = ApiClient::new(config).expect("client");
        let err = c.groups().await.expect_err("no token");
        assert_eq!(
            err.to_string(),
            "your group list needs a GroupMe access token: set GM_TOKEN (get yours at https://dev.groupme.com)"
        );
        let bad = ApiConfig::new("http://127.0.0.1:9", Token::new("a\nb")).expect("config");
        let err = ApiClient::new(bad).expect_err("newline");
        assert!(matches!(err, ApiError::BadToken));
    }
}
