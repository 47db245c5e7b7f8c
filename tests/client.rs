//! The client against scripted servers on 127.0.0.1: the exact request and every failure path.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Reply, Scripted, TOKEN, token};
use groupme_uploader::client::{Client, ClientConfig, Event, Options, UploadError};

const OK: &str = r#"{"payload":{"url":"https://i.groupme.com/40x30.png.0123456789abcdef0123456789abcdef","picture_url":"https://i.groupme.com/40x30.png.0123456789abcdef0123456789abcdef"}}"#;

fn client(url: &str) -> Client {
    let mut cfg = ClientConfig::new(url, token()).expect("config");
    // Tests talk to 127.0.0.1 only: a proxy in the environment must not reach them.
    cfg.system_proxy = false;
    cfg.backoff.base = Duration::from_millis(10);
    cfg.stall_timeout = Duration::from_secs(1);
    cfg.max_attempts = 3;
    Client::new(cfg).expect("client")
}

fn write_png(dir: &tempfile::TempDir) -> (std::path::PathBuf, Vec<u8>) {
    let bytes = common::png(40, 30);
    let path = dir.path().join("picture.png");
    std::fs::write(&path, &bytes).expect("write");
    (path, bytes)
}

fn recording_options() -> (Options, Arc<Mutex<Vec<Event>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let options = Options {
        observer: Some(Arc::new(move |e| sink.lock().expect("lock").push(e))),
        ..Options::default()
    };
    (options, events)
}

#[tokio::test]
async fn sends_exactly_what_groupme_expects() {
    let server = Scripted::start(vec![Reply::json(200, OK)]).await;
    let dir = tempfile::tempdir().expect("dir");
    let (path, bytes) = write_png(&dir);
    let (options, events) = recording_options();
    let up = client(&server.url())
        .upload_file(&path, &options)
        .await
        .expect("upload");
    assert_eq!(up.url.dimensions(), Some((40, 30)));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/pictures");
    assert_eq!(r.header("x-access-token"), Some(TOKEN));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        r.header("content-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(r.body, bytes, "raw body, byte for byte");
    assert!(!r.target.contains(TOKEN));
    assert!(r.header("transfer-encoding").is_none());
    let events = events.lock().expect("lock");
    assert!(matches!(events.first(), Some(Event::Probed(_))));
    let total = bytes.len() as u64;
    assert_eq!(
        events.last(),
        Some(&Event::Progress { sent: total, total }),
        "progress ends at the full size"
    );
}

#[tokio::test]
async fn mirror_sends_only_the_token() {
    let server = Scripted::start(vec![Reply::json(200, OK)]).await;
    let remote = "https://example.com/a b.png?x=1&y=2";
    client(&server.url())
        .mirror(remote, &Options::default())
        .await
        .expect("mirror");
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    let url = url::Url::parse(&format!("http://h{}", r.target)).expect("target");
    assert_eq!(url.path(), "/pictures");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        vec![(
            "url".to_owned(),
            "https://example.com/a%20b.png?x=1&y=2".to_owned()
        )]
    );
    assert_eq!(r.header("x-access-token"), Some(TOKEN));
    assert!(r.header("content-type").is_none());
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn token_refused_is_final_and_shows_groupme_words() {
    let server = Scripted::start(vec![Reply::json(
        401,
        r#"{"meta":{"code":401,"errors":["unauthorized"]}}"#,
    )])
    .await;
    let err = client(&server.url())
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect_err("401");
    assert!(matches!(err, UploadError::TokenRefused { status: 401, .. }));
    assert!(err.to_string().contains("unauthorized"), "{err}");
    assert!(!err.to_string().contains(TOKEN));
    assert_eq!(server.requests().len(), 1, "a 4xx is never retried");
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = Scripted::start(vec![Reply::json(500, "{}"), Reply::json(200, OK)]).await;
    let (options, events) = recording_options();
    client(&server.url())
        .upload_bytes(common::png(5, 5), &options)
        .await
        .expect("second attempt succeeds");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.requests()[0].body, server.requests()[1].body);
    assert!(events.lock().expect("lock").iter().any(|e| matches!(
        e,
        Event::Retrying {
            attempt: 2,
            of: 3,
            ..
        }
    )));
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let server = Scripted::start(vec![
        Reply::Answer(429, vec![("Retry-After", "1".into())], "slow down".into()),
        Reply::json(200, OK),
    ])
    .await;
    let (options, events) = recording_options();
    client(&server.url())
        .upload_bytes(common::png(5, 5), &options)
        .await
        .expect("after waiting");
    let delays: Vec<Duration> = events
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(delays, vec![Duration::from_secs(1)]);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_max_attempts() {
    let server = Scripted::start(vec![Reply::json(
        503,
        r#"{"meta":{"code":503,"errors":["maintenance"]}}"#,
    )])
    .await;
    let err = client(&server.url())
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect_err("503");
    assert!(matches!(err, UploadError::Server { status: 503, .. }));
    assert!(err.to_string().contains("maintenance"));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn stalled_body_times_out() {
    let server = Scripted::start(vec![Reply::StallMidBody]).await;
    let dir = tempfile::tempdir().expect("dir");
    // Big enough that the socket buffers fill while the server does not read.
    let bytes = common::png(3000, 3000);
    let path = dir.path().join("big.png");
    std::fs::write(&path, &bytes).expect("write");
    let err = client(&server.url())
        .upload_file(&path, &Options::default())
        .await
        .expect_err("stall");
    assert!(matches!(err, UploadError::Stalled { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the upload stalled: no data moved for 1s");
}

#[tokio::test]
async fn connection_reset_is_reported() {
    let server = Scripted::start(vec![Reply::Reset]).await;
    let err = client(&server.url())
        .upload_bytes(common::png(300, 300), &Options::default())
        .await
        .expect_err("reset");
    assert!(matches!(err, UploadError::Network(_)), "unexpected {err:?}");
}

#[tokio::test]
async fn bad_answers_are_malformed() {
    for body in [
        "this is not json",
        r#"{"meta":{"code":200}}"#,
        r#"{"payload":{}}"#,
    ] {
        let server = Scripted::start(vec![Reply::json(200, body)]).await;
        let err = client(&server.url())
            .upload_bytes(common::png(5, 5), &Options::default())
            .await
            .expect_err(body);
        assert!(
            matches!(err, UploadError::MalformedAnswer(_)),
            "{body}: {err:?}"
        );
    }
}

#[tokio::test]
async fn refused_connection_is_unreachable_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = client(&format!("http://{addr}"))
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect_err("refused");
    assert!(matches!(err, UploadError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!("cannot reach {addr}")),
        "{err}"
    );
}

#[tokio::test]
async fn cancel_stops_an_upload_in_flight() {
    let server = Scripted::start(vec![Reply::StallMidBody]).await;
    let mut cfg = ClientConfig::new(&server.url(), token()).expect("config");
    // Tests talk to 127.0.0.1 only: a proxy in the environment must not reach them.
    cfg.system_proxy = false;
    cfg.stall_timeout = Duration::from_secs(60);
    let client = Client::new(cfg).expect("client");
    let options = Options::default();
    let cancel = options.cancel.clone();
    let bytes = common::png(2000, 2000);
    let half = bytes.len() / 2;
    let upload = tokio::spawn(async move { client.upload_bytes(bytes, &options).await });
    // Cancelled only once half the body has reached the server: bytes are in flight.
    common::until("half the body received", Duration::from_secs(10), || {
        server
            .requests()
            .first()
            .is_some_and(|r| r.body.len() >= half)
    })
    .await;
    cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(10), upload)
        .await
        .expect("cancel ends the upload at once")
        .expect("join")
        .expect_err("cancelled");
    assert!(matches!(err, UploadError::Cancelled), "{err:?}");
}

#[tokio::test]
async fn local_probe_refuses_before_sending() {
    let server = Scripted::start(vec![Reply::json(200, OK)]).await;
    let dir = tempfile::tempdir().expect("dir");
    let fake = dir.path().join("notes.jpg");
    std::fs::write(&fake, "plain text").expect("write");
    let c = client(&server.url());
    let err = c
        .upload_file(&fake, &Options::default())
        .await
        .expect_err("text");
    assert!(err.to_string().contains("notes.jpg: not an image"), "{err}");
    let err = c
        .upload_file(&dir.path().join("missing.png"), &Options::default())
        .await
        .expect_err("missing");
    assert!(
        err.to_string().contains("missing.png: no such file"),
        "{err}"
    );
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, "").expect("write");
    let err = c
        .upload_file(&empty, &Options::default())
        .await
        .expect_err("empty");
    assert!(
        err.to_string().contains("empty.png: the file is empty"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_slow_but_moving_answer_is_not_a_stall() {
    // 1 s stall timeout; the answer takes about 2 s but a byte moves every 10 ms.
    let body = OK.to_owned();
    let server = Scripted::start(vec![Reply::Drip(body, 10)]).await;
    client(&server.url())
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect("slow is fine while bytes move");
}

#[tokio::test]
async fn redirects_huge_answers_and_bursts() {
    let server = Scripted::start(vec![Reply::Answer(
        302,
        vec![("Location", "/pictures".into())],
        String::new(),
    )])
    .await;
    let err = client(&server.url())
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect_err("redirect");
    assert!(
        matches!(err, UploadError::UnexpectedStatus { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1, "not followed");

    let huge = format!(
        "{{\"payload\":{{\"url\":\"{}\"}}}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let server = Scripted::start(vec![Reply::json(200, &huge)]).await;
    let err = client(&server.url())
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect_err("huge");
    assert!(
        matches!(&err, UploadError::MalformedAnswer(m) if m.contains("over 1024 KiB")),
        "{err:?}"
    );

    let server = Scripted::start(vec![
        Reply::json(500, "{}"),
        Reply::json(502, "{}"),
        Reply::json(503, "{}"),
        Reply::json(200, OK),
    ])
    .await;
    let mut cfg = ClientConfig::new(&server.url(), token()).expect("config");
    // Tests talk to 127.0.0.1 only: a proxy in the environment must not reach them.
    cfg.system_proxy = false;
    cfg.backoff.base = Duration::from_millis(10);
    cfg.max_attempts = 4;
    Client::new(cfg)
        .expect("client")
        .upload_bytes(common::png(5, 5), &Options::default())
        .await
        .expect("the fourth attempt succeeds");
    assert_eq!(server.requests().len(), 4);
}
