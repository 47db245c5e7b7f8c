//! Sending to GroupMe against a scripted API v3 on 127.0.0.1: the exact requests (paths, query,
//! headers, JSON bodies, the token in a header and never in a URL, none on a bot post, the same
//! `source_guid` on a retry), GroupMe's answers (201/202, 401, 403, 404, 409, 429, pages ending
//! empty), and the real binary uploading to the local service and sending what it got.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::groupme_api::{Fault, GroupMeApi, body_json, path_and_query};
use common::{TOKEN, start_service};
use groupme_uploader::groupme::{
    ApiClient, ApiConfig, ApiError, Destination, Outgoing, PictureUrl, Sent,
};
use groupme_uploader::token::Token;
use serde_json::json;

const ID: &str = "0123456789abcdef0123456789abcdef";

fn cdn(name: &str) -> String {
    format!("https://i.groupme.com/{name}.{ID}")
}

fn picture() -> PictureUrl {
    PictureUrl::groupme(&cdn("640x480.jpeg")).expect("on the CDN")
}

/// A client for the scripted server: small pages and backoff, fast pacing, no proxy.
fn client_with(api: &GroupMeApi, token: Option<&str>) -> ApiClient {
    let mut config = ApiConfig::new(&api.url(), token.and_then(Token::new)).expect("config");
    config.system_proxy = false;
    config.page_size = 2;
    config.backoff.base = Duration::from_millis(20);
    config.pace = Duration::from_millis(5);
    config.max_attempts = 3;
    ApiClient::new(config).expect("client")
}

fn client(api: &GroupMeApi) -> ApiClient {
    client_with(api, Some(TOKEN))
}

fn group(id: &str) -> Destination {
    Destination::group(id).expect("id")
}

#[tokio::test]
async fn lists_read_every_page_with_the_token_in_the_header_only() {
    let api = GroupMeApi::start().await;
    let c = client(&api);
    let groups = c.groups().await.expect("groups");
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["111", "222", "333", "444", "555"]);
    assert_eq!(groups[0].name, "Family");
    let chats = c.chats().await.expect("chats");
    let people: Vec<(&str, &str)> = chats
        .iter()
        .map(|c| (c.user_id.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        people,
        [("7001", "Alice"), ("7002", "Bob"), ("7003", "Carol")]
    );
    let bots = c.bots().await.expect("bots");
    assert_eq!(bots.len(), 1);
    assert_eq!(
        (bots[0].bot_id.as_str(), bots[0].group_id.as_str()),
        ("b0tabc123", "111")
    );
    let me = c.me().await.expect("me");
    assert_eq!(
        (me.user_id.as_str(), me.name.as_str()),
        ("9001", "Test User")
    );

    let targets: Vec<String> = api.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/groups?page=1&per_page=2&omit=memberships",
            "/groups?page=2&per_page=2&omit=memberships",
            "/groups?page=3&per_page=2&omit=memberships",
            "/groups?page=4&per_page=2&omit=memberships",
            "/chats?page=1&per_page=2",
            "/chats?page=2&per_page=2",
            "/chats?page=3&per_page=2",
            "/bots",
            "/users/me",
        ]
    );
    for r in api.requests() {
        assert_eq!(r.method, "GET");
        assert_eq!(r.header("x-access-token"), Some(TOKEN), "{}", r.target);
        assert!(r.body.is_empty());
    }
    api.assert_no_token_in_urls();
}

#[tokio::test]
async fn a_group_message_is_exactly_what_groupme_takes() {
    let api = GroupMeApi::start().await;
    let message = Outgoing::new(group("111"), "look at this", picture()).expect("message");
    let sent = client(&api).send(&message).await.expect("sent");
    let Sent::Posted {
        message_id: Some(id),
    } = &sent
    else {
        panic!("expected a posted message with an id, got {sent:?}");
    };
    assert!(id.starts_with("1700000000"), "{id}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/groups/111/messages")
    );
    assert_eq!(r.header("x-access-token"), Some(TOKEN));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        body_json(r),
        json!({"message": {"source_guid": message.source_guid, "text": "look at this",
            "attachments": [{"type": "image", "url": cdn("640x480.jpeg")}]}})
    );
    api.assert_no_token_in_urls();
}

#[tokio::test]
async fn a_direct_message_names_its_recipient() {
    let api = GroupMeApi::start().await;
    let to = Destination::direct("7002").expect("id");
    let message = Outgoing::new(to, "", picture()).expect("message");
    let sent = client(&api).send(&message).await.expect("sent");
    assert!(
        matches!(
            sent,
            Sent::Posted {
                message_id: Some(_)
            }
        ),
        "{sent:?}"
    );
    let r = &api.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/direct_messages")
    );
    assert_eq!(r.header("x-access-token"), Some(TOKEN));
    assert_eq!(
        body_json(r),
        json!({"direct_message": {"source_guid": message.source_guid, "recipient_id": "7002",
            "text": "", "attachments": [{"type": "image", "url": cdn("640x480.jpeg")}]}})
    );
    let posted = api.posted();
    assert_eq!((posted[0].kind, posted[0].to.as_str()), ("dm", "7002"));
}

#[tokio::test]
async fn a_bot_post_carries_no_token_and_needs_none() {
    let api = GroupMeApi::start().await;
    let to = Destination::bot("b0tabc123").expect("id");
    let message = Outgoing::new(to.clone(), "from the bot", picture()).expect("message");
    for c in [client(&api), client_with(&api, None)] {
        assert_eq!(c.send(&message).await.expect("accepted"), Sent::Accepted);
    }
    for r in api.requests() {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("POST", "/bots/post")
        );
        assert_eq!(
            r.header("x-access-token"),
            None,
            "a bot post is sent without the token"
        );
        assert_eq!(
            body_json(&r),
            json!({"bot_id": "b0tabc123", "text": "from the bot", "picture_url": cdn("640x480.jpeg")})
        );
    }
    // Without a token, everything else says what it needs before sending anything.
    let before = api.requests().len();
    let err = client_with(&api, None)
        .send(&Outgoing::new(group("111"), "", picture()).expect("message"))
        .await
        .expect_err("no token");
    assert!(matches!(err, ApiError::NoToken(_)), "{err:?}");
    assert_eq!(api.requests().len(), before);
}

#[tokio::test]
async fn a_retry_keeps_its_guid_and_a_409_means_it_went() {
    let api = GroupMeApi::start().await;
    api.fail_next([Fault::FailAfterActing]);
    let message = Outgoing::new(group("222"), "once", picture()).expect("message");
    let sent = client(&api).send(&message).await.expect("sent");
    assert_eq!(sent, Sent::AlreadyPosted);
    let requests = api.requests();
    assert_eq!(requests.len(), 2, "one retry after the 500");
    let guids: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| body_json(r)["message"]["source_guid"].clone())
        .collect();
    assert_eq!(
        guids,
        [json!(message.source_guid), json!(message.source_guid)]
    );
    assert_eq!(api.posted().len(), 1, "posted once, not twice");
}

#[tokio::test]
async fn a_bot_post_is_not_repeated_after_a_5xx() {
    let api = GroupMeApi::start().await;
    api.fail_next([Fault::FailAfterActing]);
    let to = Destination::bot("b0tabc123").expect("id");
    let message = Outgoing::new(to, "", picture()).expect("message");
    let err = client(&api).send(&message).await.expect_err("500");
    assert!(
        matches!(err, ApiError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(
        api.requests().len(),
        1,
        "no guid: a repeat could post twice"
    );
    assert_eq!(api.posted().len(), 1);
    // A 429 means GroupMe did not act: that one is retried.
    api.fail_next([Fault::RateLimit(None)]);
    assert_eq!(
        client(&api).send(&message).await.expect("sent"),
        Sent::Accepted
    );
    assert_eq!(api.posted().len(), 2);
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after() {
    let api = GroupMeApi::start().await;
    api.fail_next([Fault::RateLimit(Some(1))]);
    let message = Outgoing::new(group("111"), "", picture()).expect("message");
    let start = Instant::now();
    let sent = client(&api).send(&message).await.expect("sent");
    assert!(matches!(sent, Sent::Posted { .. }), "{sent:?}");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    let requests = api.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same message, the same guid"
    );
    // Without Retry-After, the client backs off on its own, and gives up when told 429 each time.
    api.fail_next([
        Fault::RateLimit(None),
        Fault::RateLimit(None),
        Fault::RateLimit(None),
    ]);
    let err = client(&api)
        .send(&Outgoing::new(group("111"), "", picture()).expect("message"))
        .await
        .expect_err("429 three times");
    assert!(matches!(err, ApiError::RateLimited { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "GroupMe is rate limiting (429): too many requests — rate limited"
    );
}

#[tokio::test]
async fn refusals_are_said_in_plain_words_and_not_retried() {
    let api = GroupMeApi::start().await;
    let err = client_with(&api, Some("not-the-token"))
        .send(&Outgoing::new(group("111"), "", picture()).expect("message"))
        .await
        .expect_err("401");
    assert_eq!(
        err.to_string(),
        "GroupMe refused the access token (401): check it — unauthorized"
    );
    assert!(!err.to_string().contains("not-the-token"));
    let err = client(&api)
        .send(&Outgoing::new(group("333"), "", picture()).expect("message"))
        .await
        .expect_err("403");
    assert_eq!(
        err.to_string(),
        "GroupMe does not allow this for group 333 (403): you are not a member, or not allowed to post there — you are not a member of this group"
    );
    let err = client(&api)
        .send(
            &Outgoing::new(Destination::bot("gone").expect("id"), "", picture()).expect("message"),
        )
        .await
        .expect_err("404");
    assert_eq!(
        err.to_string(),
        "bot gone was not found on GroupMe (404): it is gone, or the id is wrong — not found"
    );
    assert_eq!(api.requests().len(), 3, "no 4xx is retried");
    assert!(api.posted().is_empty());
}

#[tokio::test]
async fn a_text_over_1000_characters_is_refused_before_sending() {
    let api = GroupMeApi::start().await;
    let long = "x".repeat(1001);
    let err = Outgoing::new(group("111"), &long, picture()).expect_err("too long");
    assert_eq!(
        err.to_string(),
        "the text is 1001 characters; GroupMe takes at most 1000"
    );
    // A message built by hand is checked again by the client.
    let mut message = Outgoing::new(group("111"), "", picture()).expect("message");
    message.text = long;
    let err = client(&api).send(&message).await.expect_err("too long");
    assert!(matches!(err, ApiError::TextTooLong(_)), "{err:?}");
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn sends_are_paced() {
    let api = GroupMeApi::start().await;
    let mut config = ApiConfig::new(&api.url(), Token::new(TOKEN)).expect("config");
    config.system_proxy = false;
    config.pace = Duration::from_millis(60);
    let c = ApiClient::new(config).expect("client");
    let start = Instant::now();
    for _ in 0..5 {
        let message = Outgoing::new(group("111"), "", picture()).expect("message");
        c.send(&message).await.expect("sent");
    }
    assert!(
        start.elapsed() >= Duration::from_millis(240),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(api.posted().len(), 5);
}

#[tokio::test]
async fn sets_the_avatar() {
    let api = GroupMeApi::start().await;
    let me = client(&api).set_avatar(&picture()).await.expect("updated");
    assert_eq!(me.image_url.as_deref(), Some(cdn("640x480.jpeg").as_str()));
    let r = &api.requests()[0];
    assert_eq!(
        (r.method.as_str(), path_and_query(r).0.as_str()),
        ("POST", "/users/update")
    );
    assert_eq!(r.header("x-access-token"), Some(TOKEN));
    assert_eq!(body_json(r), json!({"avatar_url": cdn("640x480.jpeg")}));
}

// --- the real binary ---

/// The binary with nothing of this person's environment: only what each test gives it.
fn bin(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_groupme-uploader"));
    cmd.env_clear().env("HOME", home);
    cmd
}

async fn run(mut cmd: Command) -> Output {
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run binary"))
        .await
        .expect("join");
    // With a target directory shared between checkouts, another checkout's build may have
    // replaced the binary since this test was built: say so rather than fail on its words.
    assert!(
        !text(&out.stderr).contains("unrecognized subcommand"),
        "{} is not this checkout's build (another build in the same target directory replaced \
         it); run the tests again",
        env!("CARGO_BIN_EXE_groupme-uploader")
    );
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn send_uploads_then_sends_exactly_the_uploaded_url() {
    let svc = start_service().await;
    let api = GroupMeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.jpg"));
    let (a_bytes, b_bytes) = (common::png(40, 30), common::jpeg(64, 48));
    std::fs::write(&a, &a_bytes).expect("write");
    std::fs::write(&b, &b_bytes).expect("write");
    let on_cdn = cdn("640x480.jpeg");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .env("GM_ENDPOINT", svc.url())
        .env("GM_API_ENDPOINT", api.url())
        .args(["send", "--group", "111", "--text", "our trip", "--json"])
        .arg(&a)
        .arg(&b)
        .arg(&on_cdn);
    let out = run(cmd).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");

    // What the upload returned: the service gives the same URL for the same bytes.
    let expected_a = common::curl_post(&svc.url(), TOKEN, a_bytes.clone())
        .await
        .1["payload"]["picture_url"]
        .as_str()
        .expect("picture_url")
        .to_owned();
    let expected_b =
        common::curl_post(&svc.url(), TOKEN, b_bytes).await.1["payload"]["picture_url"]
            .as_str()
            .expect("picture_url")
            .to_owned();
    assert!(expected_a.starts_with(&svc.url()), "{expected_a}");

    let posted = api.posted();
    let sent: Vec<(&str, &str, &str, &str)> = posted
        .iter()
        .map(|p| {
            (
                p.kind,
                p.to.as_str(),
                p.text.as_str(),
                p.picture_url.as_str(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("group", "111", "our trip", expected_a.as_str()),
            ("group", "111", "", expected_b.as_str()),
            ("group", "111", "", on_cdn.as_str()),
        ],
        "one message per picture, in order, the text with the first"
    );
    for (line, (source, url, uploaded)) in lines.iter().zip([
        (a.to_string_lossy().into_owned(), &expected_a, true),
        (b.to_string_lossy().into_owned(), &expected_b, true),
        (on_cdn.clone(), &on_cdn, false),
    ]) {
        assert_eq!(line["source"], source.as_str());
        assert_eq!(line["picture_url"], url.as_str());
        assert_eq!(line["uploaded"], uploaded);
        assert_eq!(
            (&line["kind"], &line["id"]),
            (&json!("group"), &json!("111"))
        );
        assert_eq!(line["status"], "posted");
        assert!(
            line["message_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
    }
    // The URL sent is the picture itself.
    let (status, served, _) = common::get_bytes(&expected_a).await;
    assert_eq!((status, served), (200, a_bytes));
    // The local service is not GroupMe's: the person is told.
    assert!(
        stderr.contains("note: GM_ENDPOINT is not GroupMe's Image Service"),
        "{stderr}"
    );
    for r in api.requests() {
        assert_eq!(r.header("x-access-token"), Some(TOKEN));
    }
    api.assert_no_token_in_urls();
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
}

#[tokio::test]
async fn send_takes_the_before_upload_flags_and_says_the_sizes() {
    let svc = start_service().await;
    let api = GroupMeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let photo = dir.path().join("photo.jpg");
    let original = common::jpeg(800, 600);
    std::fs::write(&photo, &original).expect("write");
    let on_cdn = cdn("640x480.jpeg");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .env("GM_ENDPOINT", svc.url())
        .env("GM_API_ENDPOINT", api.url())
        .args(["send", "--group", "111", "--json", "--max-side", "300"])
        .arg(&photo)
        .arg(&on_cdn);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let url = lines[0]["picture_url"].as_str().expect("picture_url");
    assert!(
        url.starts_with(&format!("{}/300x225.jpeg.", svc.url())),
        "{url}"
    );
    assert_eq!(lines[0]["original_bytes"], original.len());
    let sent = lines[0]["sent_bytes"].as_u64().expect("sent_bytes");
    let (_, stored, _) = common::get_bytes(url).await;
    assert_eq!(stored.len() as u64, sent);
    assert_eq!(common::decoded_size(&stored), (300, 225));
    assert_eq!(api.posted()[0].picture_url, url);
    // Already on GroupMe's CDN: sent as it is, no sizes.
    assert_eq!(lines[1]["uploaded"], false);
    assert_eq!(lines[1]["sent_bytes"], serde_json::Value::Null);
    assert_eq!(lines[1]["original_bytes"], serde_json::Value::Null);
}

#[tokio::test]
async fn send_as_a_bot_needs_no_token_for_cdn_urls() {
    let api = GroupMeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = bin(dir.path());
    cmd.env("GM_API_ENDPOINT", api.url())
        .args(["send", "--bot", "b0tabc123", "--text", "hi"])
        .arg(cdn("640x480.jpeg"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\taccepted by bot b0tabc123 (202)\n", cdn("640x480.jpeg"))
    );
    let r = &api.requests()[0];
    assert_eq!(r.target, "/bots/post");
    assert_eq!(r.header("x-access-token"), None);
}

#[tokio::test]
async fn send_failures_exit_1_and_say_why() {
    let api = GroupMeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", "not-the-token")
        .env("GM_API_ENDPOINT", api.url())
        .args(["send", "--group", "111"])
        .arg(cdn("1x1.png"))
        .arg(cdn("2x2.png"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {}: GroupMe refused the access token (401): check it — unauthorized",
            cdn("1x1.png")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: {}: not sent (stopped after: GroupMe refused",
            cdn("2x2.png")
        )),
        "{stderr}"
    );
    assert_eq!(
        api.requests().len(),
        1,
        "the second is not tried with a refused token"
    );
    assert!(!stderr.contains("not-the-token"));
    assert!(text(&out.stdout).is_empty());

    // A group the person is not in; a failed upload; the rest still goes.
    let svc = start_service().await;
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, "not an image").expect("write");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .env("GM_ENDPOINT", svc.url())
        .env("GM_API_ENDPOINT", api.url())
        .args(["send", "--dm", "7001"])
        .arg(&bad)
        .arg(cdn("3x3.png"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.jpg: not an image"), "{stderr}");
    assert_eq!(api.posted().len(), 1);
    assert_eq!(api.posted()[0].picture_url, cdn("3x3.png"));

    // A bot post whose answer is a 500 is not repeated, and may have gone: the person is told.
    api.fail_next([Fault::FailAfterActing]);
    let mut cmd = bin(dir.path());
    cmd.env("GM_API_ENDPOINT", api.url())
        .args(["send", "--bot", "b0tabc123"])
        .arg(cdn("4x4.png"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("GroupMe failed (500) for bot b0tabc123, try again later — internal error (it may have been posted all the same: look before sending it again)"),
        "{stderr}"
    );
    assert_eq!(api.posted().len(), 2);
}

#[tokio::test]
async fn send_usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("dir");
    let cases: [(&[&str], Option<&str>, &str); 4] = [
        (
            &["send", "--group", "1", "x.png"],
            None,
            "no access token. Set GM_TOKEN",
        ),
        (&["send", "x.png"], Some(TOKEN), "--group"),
        (
            &["send", "--group", "../users/update", "x.png"],
            Some(TOKEN),
            "is not a group id",
        ),
        (
            &["send", "--group", "1", "--dm", "2", "x.png"],
            Some(TOKEN),
            "cannot be used with",
        ),
    ];
    for (args, token, says) in cases {
        let mut cmd = bin(dir.path());
        cmd.args(args);
        if let Some(token) = token {
            cmd.env("GM_TOKEN", token);
        }
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .args(["send", "--group", "1", "--text", &"é".repeat(1001)])
        .arg(cdn("1x1.png"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("the text is 1001 characters; GroupMe takes at most 1000"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn chats_lists_groups_direct_chats_and_bots() {
    let api = GroupMeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .env("GM_API_ENDPOINT", api.url())
        .args(["chats", "--json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 5 + 3 + 1);
    assert_eq!(
        lines[0],
        json!({"kind": "group", "id": "111", "name": "Family"})
    );
    assert_eq!(
        lines[5],
        json!({"kind": "dm", "id": "7001", "name": "Alice"})
    );
    assert_eq!(
        lines[7],
        json!({"kind": "dm", "id": "7003", "name": "Carol"})
    );
    assert_eq!(
        lines[8],
        json!({"kind": "bot", "id": "b0tabc123", "name": "Weather", "group_id": "111"})
    );
    // 100 per page: one full read and the empty page that ends each list.
    let targets: Vec<String> = api.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/groups?page=1&per_page=100&omit=memberships",
            "/groups?page=2&per_page=100&omit=memberships",
            "/chats?page=1&per_page=100",
            "/chats?page=2&per_page=100",
            "/bots",
        ]
    );

    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .env("GM_API_ENDPOINT", api.url())
        .arg("chats");
    let out = run(cmd).await;
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("group\t111\tFamily\n"), "{stdout}");
    assert!(stdout.contains("dm\t7002\tBob\n"), "{stdout}");
    assert!(
        stdout.ends_with("bot\tb0tabc123\tWeather\t(in Family, group 111)\n"),
        "{stdout}"
    );

    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", "wrong")
        .env("GM_API_ENDPOINT", api.url())
        .arg("chats");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: GroupMe refused the access token (401): check it — unauthorized\n"
    );
}

#[tokio::test]
async fn a_list_that_never_ends_stops_at_the_page_limit() {
    let api = GroupMeApi::start().await;
    let mut config = ApiConfig::new(&api.url(), Token::new(TOKEN)).expect("config");
    config.system_proxy = false;
    config.page_size = 1;
    config.max_pages = 3;
    let err = ApiClient::new(config)
        .expect("client")
        .groups()
        .await
        .expect_err("5 groups, 1 per page, 3 pages at most");
    assert_eq!(
        err.to_string(),
        "your group list has more than 3 pages; stopped reading there"
    );
    assert_eq!(api.requests().len(), 3);
}

#[tokio::test]
async fn an_api_that_is_not_there_is_named() {
    let port = common::free_port();
    let mut config =
        ApiConfig::new(&format!("http://127.0.0.1:{port}"), Token::new(TOKEN)).expect("config");
    config.system_proxy = false;
    config.backoff.base = Duration::from_millis(10);
    config.max_attempts = 2;
    let err = ApiClient::new(config)
        .expect("client")
        .send(&Outgoing::new(group("111"), "", picture()).expect("message"))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach 127.0.0.1:{port}: ")),
        "{err}"
    );
    assert!(!err.outcome_unknown(), "nothing was sent");
}
