//! The service under hostile clients (127.0.0.1 only, bounded in count and time): clients that
//! send half a request and wait, drip bodies, lie about sizes, stop reading, or hold
//! connections through a shutdown. Each test failed before the fix it guards.

mod common;

use common::instance::{INSTANCE_TOKEN, Instance};
use common::{TOKEN, http, proc_kib, until};

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// `serve` on a fresh directory store, with `extra` arguments.
async fn serve(extra: &[&str]) -> (Instance, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = format!("file:{}", dir.path().display());
    (Instance::start(&store, &[], extra).await, dir)
}

/// Sockets the process holds open.
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd")
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Whether the process holds the server end of `client`'s connection (it accepted it).
fn accepted(pid: u32, client: &TcpStream) -> bool {
    let (ours, theirs) = (
        client.local_addr().expect("local").port(),
        client.peer_addr().expect("peer").port(),
    );
    let tcp = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port = |addr: &str| {
        addr.rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    let inode = tcp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (port(f.get(1)?)? == theirs && port(f.get(2)?)? == ours)
            .then(|| f.get(9).map(|i| i.to_string()))?
    });
    let Some(inode) = inode else { return false };
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd")
        .flatten()
        .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy() == want))
}

/// Reads until the end of the response head; the head.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut byte))
            .await
            .expect("head in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before a head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("ascii head")
}

/// Reads until the peer closes (at most `within`); the bytes read and the time it took.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> (usize, Duration) {
    let started = Instant::now();
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (total, started.elapsed()),
            Ok(Ok(n)) => total += n,
            Err(_) => panic!("still open after {within:?} ({total} bytes read)"),
        }
    }
}

#[tokio::test]
async fn a_half_sent_header_is_closed_within_the_header_timeout() {
    let svc = common::start_service_with(|c| c.conn.header_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(svc.running.addr).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .expect("half a header");
    let (_, took) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_within_the_header_timeout() {
    let svc = common::start_service_with(|c| c.conn.header_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(svc.running.addr).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (body, took) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(body, 2, "the body `ok`, then the close");
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
}

#[tokio::test]
async fn an_idle_connection_after_a_held_answer_is_closed_within_the_header_timeout() {
    let svc = common::start_service_with(|c| c.conn.header_timeout = Duration::from_secs(1)).await;
    let (status, answer) = common::curl_post(&svc.url(), TOKEN, common::png(40, 30)).await;
    assert_eq!(status, 200, "{answer}");
    let name = common::picture_name(&answer);
    // The first GET holds the answer; the raw connection's GET is answered from it.
    let (status, avatar, _) = common::get_bytes(&format!("{}/{name}.avatar", svc.url())).await;
    assert_eq!(status, 200);
    let mut stream = TcpStream::connect(svc.running.addr).await.expect("connect");
    stream
        .write_all(format!("GET /{name}.avatar HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (body, took) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(body, avatar.len(), "the body, then the close");
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
}

#[tokio::test]
async fn a_get_head_over_32_kib_is_refused_with_431_and_closed() {
    let svc = common::start_service().await;
    let mut stream = TcpStream::connect(svc.running.addr).await.expect("connect");
    let mut head = b"GET /health HTTP/1.1\r\nX-Pad: ".to_vec();
    head.resize(33 * 1024, b'a');
    stream.write_all(&head).await.expect("a long head");
    let answer = read_head(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    let (body, _) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(body, 0);
}

#[tokio::test]
async fn http2_is_not_spoken() {
    let svc = common::start_service().await;
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let answer = h2.get(format!("{}/health", svc.url())).send().await;
    assert!(answer.is_err(), "h2c answered: {answer:?}");
    // HTTP/1.1 still works.
    let ok = http().get(format!("{}/health", svc.url())).send().await;
    assert_eq!(ok.expect("http/1.1").status(), 200);
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let svc = common::start_service_with(|c| c.conn.max_connections = 2).await;
    let url = format!("{}/health", svc.url());
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(svc.running.addr).await.expect("connect");
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        // Answered, so accepted; kept open (keep-alive).
        assert!(read_head(&mut s).await.starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    let third = tokio::spawn(async move { http().get(url).send().await.map(|r| r.status()) });
    // Two connections are open: the third is not accepted while they stay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "a third connection was served");
    held.pop();
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("served once a connection closed")
        .expect("join")
        .expect("answer");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_dripping_body_is_cut_with_408() {
    let svc = common::start_service_with(|c| {
        c.body_grace = Duration::from_secs(1);
        c.min_body_rate = 1024;
    })
    .await;
    let mut stream = TcpStream::connect(svc.running.addr).await.expect("connect");
    let head = format!(
        "POST /pictures HTTP/1.1\r\nHost: x\r\nX-Access-Token: {TOKEN}\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&[0xFF; 10]).await.expect("a drip");
    let started = Instant::now();
    let answer = read_head(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("cache-control: no-store"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn uploads_past_the_body_budget_get_503_with_retry_after() {
    let svc = common::start_service_with(|c| c.body_budget = 1024 * 1024).await;
    let big = common::noise_png(700, 700, 7);
    assert!(big.len() > 1024 * 1024);
    let resp = http()
        .post(format!("{}/pictures", svc.url()))
        .header("X-Access-Token", TOKEN)
        .header("Content-Type", "image/jpeg")
        .body(big)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["meta"]["code"], 503);
    // The budget is given back: a small upload goes through at once.
    let (status, _) = common::curl_post(&svc.url(), TOKEN, common::png(64, 64)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn tiny_files_claiming_huge_sizes_are_refused_before_decoding() {
    let svc = common::start_service().await;
    // A real 16x16 JPEG whose header claims 20000x5999.
    let mut jpeg = common::jpeg(16, 16);
    let sof = jpeg
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&5999u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&20000u16.to_be_bytes());
    // A 1x1 frame on a 10000x10000 canvas.
    let mut gif = b"GIF89a".to_vec();
    gif.extend(10000u16.to_le_bytes());
    gif.extend(10000u16.to_le_bytes());
    gif.extend([0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    gif.extend([0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
    for (bytes, says) in [(jpeg, "20000x5999"), (gif, "10000x10000")] {
        let started = Instant::now();
        let (status, answer) = common::curl_post(&svc.url(), TOKEN, bytes).await;
        assert_eq!(status, 422, "{answer}");
        let error = answer["meta"]["errors"][0].as_str().expect("error");
        assert!(error.contains(says), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn every_error_is_json_and_never_cached() {
    let svc = common::start_service().await;
    let base = svc.url();
    let client = http();
    let cases = [
        (client.get(format!("{base}/no/such/route")), 404),
        (client.get(format!("{base}/%ff")), 404),
        (client.get(format!("{base}/480x325.jpeg.0123")), 404),
        (client.delete(format!("{base}/pictures")), 405),
        (client.post(format!("{base}/pictures?url=a&url=b")), 401),
        (
            client
                .post(format!("{base}/pictures?url=a&url=b"))
                .header("X-Access-Token", TOKEN),
            400,
        ),
    ];
    for (request, status) in cases {
        let resp = request.send().await.expect("answer");
        let what = format!("{} {}", resp.url(), resp.status());
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], "application/json", "{what}");
        assert_eq!(h["cache-control"], "no-store", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["meta"]["code"], status, "{what}");
        assert!(body["meta"]["errors"][0].is_string(), "{what}");
    }
}

#[tokio::test]
async fn pictures_are_served_as_inert_images_and_revalidate_weakly() {
    let svc = common::start_service().await;
    let (status, answer) = common::curl_post(&svc.url(), TOKEN, common::gif(32, 32, 2)).await;
    assert_eq!(status, 200, "{answer}");
    let url = answer["payload"]["url"].as_str().expect("url").to_owned();
    for variant in ["", ".preview", ".large", ".avatar"] {
        let (status, _, h) = common::get_bytes(&format!("{url}{variant}")).await;
        assert_eq!(status, 200);
        assert_eq!(h["content-type"], "image/gif");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
        let etag = h["etag"].to_str().expect("etag").to_owned();
        let weak = http()
            .get(format!("{url}{variant}"))
            .header("If-None-Match", format!("W/{etag}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(weak.status(), 304, "W/{etag}");
    }
}

#[tokio::test]
async fn non_reading_clients_do_not_hold_whole_originals() {
    let (mut serve, _dir) = serve(&["--send-timeout-secs", "3"]).await;
    // A 30 MB original (random noise does not compress).
    let big = common::noise_png(3200, 3200, 1);
    assert!(big.len() > 30_000_000);
    let (status, answer) = common::curl_post(&serve.url, INSTANCE_TOKEN, big.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let url = answer["payload"]["url"].as_str().expect("url").to_owned();
    let (status, whole, _) = common::get_bytes(&url).await;
    assert_eq!((status, whole.len()), (200, big.len()));
    let pid = serve.pid();
    let idle_sockets = sockets(pid);
    let before = proc_kib(pid, "VmRSS");
    // 20 clients ask for it and read only the head.
    let path = url::Url::parse(&url).expect("url").path().to_owned();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(serve.url.trim_start_matches("http://"))
            .await
            .expect("connect");
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .expect("request");
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", big.len())),
            "{head}"
        );
        stalled.push(s);
    }
    let grown = proc_kib(pid, "VmRSS").saturating_sub(before);
    eprintln!(
        "RSS grew by {grown} KiB for 20 stalled downloads of {} bytes",
        big.len()
    );
    assert!(
        grown < 64 * 1024,
        "RSS grew by {} MiB for 20 stalled downloads",
        grown / 1024
    );
    // They are cut once the send timeout passes: the sockets go, each got part of the picture.
    until(
        "the stalled connections closed",
        Duration::from_secs(30),
        || sockets(pid) <= idle_sockets,
    )
    .await;
    for s in &mut stalled {
        let (got, _) = read_to_close(s, Duration::from_secs(10)).await;
        assert!(got < big.len(), "a stalled client got the whole picture");
    }
    serve.kill();
}

#[tokio::test]
async fn half_sent_bodies_do_not_reserve_their_declared_length() {
    let (mut serve, _dir) = serve(&[]).await;
    let (status, _) = common::curl_post(&serve.url, INSTANCE_TOKEN, common::png(64, 64)).await;
    assert_eq!(status, 200);
    let pid = serve.pid();
    let before = proc_kib(pid, "VmSize");
    let mut open = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(serve.url.trim_start_matches("http://"))
            .await
            .expect("connect");
        let head = format!(
            "POST /pictures HTTP/1.1\r\nHost: x\r\nX-Access-Token: {INSTANCE_TOKEN}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            40 * 1024 * 1024
        );
        s.write_all(head.as_bytes()).await.expect("head");
        // 100 Continue comes when the handler first reads the body: it is reading now.
        let go = read_head(&mut s).await;
        assert!(go.starts_with("HTTP/1.1 100"), "{go}");
        s.write_all(&[0xFF, 0xD8, 0xFF, 0xE0])
            .await
            .expect("4 bytes");
        open.push(s);
    }
    let grown = proc_kib(pid, "VmSize").saturating_sub(before);
    eprintln!("address space grew by {grown} KiB for 40 bodies of 4 bytes");
    // 40 x 40 MiB reserved up front was 1.6 GiB of address space.
    assert!(
        grown < 256 * 1024,
        "address space grew by {} MiB for 40 bodies of 4 bytes",
        grown / 1024
    );
    drop(open);
    serve.kill();
}

#[tokio::test]
async fn sigterm_with_a_half_sent_request_exits_within_the_grace() {
    let (mut serve, _dir) =
        serve(&["--shutdown-grace-secs", "2", "--header-timeout-secs", "120"]).await;
    let mut stream = TcpStream::connect(serve.url.trim_start_matches("http://"))
        .await
        .expect("connect");
    stream
        .write_all(b"POST /pictures HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .expect("half a header");
    // The request is being read (the connection is accepted) before the signal.
    until("the connection accepted", Duration::from_secs(10), || {
        accepted(serve.pid(), &stream)
    })
    .await;
    let started = Instant::now();
    serve.terminate();
    assert_eq!(serve.exit_code().await, Some(0), "{}", serve.log());
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "exited after {:?}",
        started.elapsed()
    );
    drop(stream);
}
