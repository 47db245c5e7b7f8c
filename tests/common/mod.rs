//! Shared test helpers: images made on the fly, the local service on 127.0.0.1:0, and a scripted
//! raw-HTTP server for fault injection.
#![allow(dead_code)]

pub mod dropped;
pub mod garage;
pub mod gate;
pub mod groupme_api;
pub mod instance;
pub mod isolated;
pub mod proc_stat;
pub mod queue;
pub mod window;

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use groupme_uploader::service::{self, RunningService, ServiceConfig, ServiceState, Store};
use groupme_uploader::token::Token;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

pub const TOKEN: &str = "test-token-0123456789abcdef";

/// An HTTP client that never uses a proxy from the environment (tests talk to 127.0.0.1 only).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("http")
}

/// POSTs like `curl -X POST -H "X-Access-Token: …" -H "Content-Type: image/jpeg" --data-binary @f`;
/// the status and the JSON answer (`Null` when the answer is not JSON).
pub async fn try_post(
    base: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let (status, _, json) = try_post_with_headers(base, token, body).await?;
    Ok((status, json))
}

/// [`try_post`], with the answer's headers.
pub async fn try_post_with_headers(
    base: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, reqwest::header::HeaderMap, serde_json::Value), reqwest::Error> {
    let resp = http()
        .post(format!("{base}/pictures"))
        .header("X-Access-Token", token)
        .header("Content-Type", "image/jpeg")
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    Ok((status, headers, resp.json().await.unwrap_or_default()))
}

/// `POST {base}/pictures?url=REMOTE` with only the token, as the app mirrors a link: the status
/// and the JSON answer (`Null` when the answer is not JSON).
pub async fn mirror(base: &str, token: &str, remote: &str) -> (u16, serde_json::Value) {
    let mut url = url::Url::parse(&format!("{base}/pictures")).expect("url");
    url.query_pairs_mut().append_pair("url", remote);
    let resp = http()
        .post(url)
        .header("X-Access-Token", token)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// The picture's name in an upload answer: the last part of `payload.url`
/// (`{w}x{h}.{format}.{id}`), the same whichever instance or public URL gave it.
pub fn picture_name(answer: &serde_json::Value) -> String {
    let url = answer["payload"]["url"].as_str().expect("payload.url");
    url.rsplit('/').next().expect("name").to_owned()
}

/// [`try_post`] to a server that must answer.
pub async fn curl_post(base: &str, token: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    try_post(base, token, body).await.expect("send")
}

/// GET: status, body and headers.
pub async fn get_bytes(url: &str) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let resp = http().get(url).send().await.expect("get");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.bytes().await.expect("body").to_vec(), headers)
}

/// Waits (at most `within`) until `cond` holds; panics with `what` otherwise.
pub async fn until(what: &str, within: Duration, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmSize`).
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field")
}

/// A port free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// PNG's chunk checksum, to write headers that are valid but hostile.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn token() -> Token {
    Token::new(TOKEN).expect("token")
}

/// An RGB gradient, so resizing has real work and crops can be checked.
pub fn rgb(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128])
    })
}

pub fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    encode(&rgb(w, h).into(), image::ImageFormat::Jpeg)
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    encode(&rgb(w, h).into(), image::ImageFormat::Png)
}

pub fn png_alpha(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([x as u8, y as u8, 50, (x % 256) as u8])
    });
    encode(&img.into(), image::ImageFormat::Png)
}

pub fn webp(w: u32, h: u32) -> Vec<u8> {
    encode(&rgb(w, h).into(), image::ImageFormat::WebP)
}

/// An animated GIF with `frames` frames of `w`x`h`.
pub fn gif(w: u32, h: u32, frames: u32) -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 30);
        enc.set_repeat(Repeat::Infinite).expect("repeat");
        for i in 0..frames {
            let buf = image::RgbaImage::from_fn(w, h, |x, y| {
                image::Rgba([
                    ((x + i * 10) % 256) as u8,
                    (y % 256) as u8,
                    (i * 40 % 256) as u8,
                    255,
                ])
            });
            let frame =
                image::Frame::from_parts(buf, 0, 0, image::Delay::from_numer_denom_ms(100, 1));
            enc.encode_frame(frame).expect("frame");
        }
    }
    out
}

/// Number of frames in a GIF.
pub fn gif_frames(bytes: &[u8]) -> usize {
    use image::AnimationDecoder as _;
    image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
        .expect("gif")
        .into_frames()
        .count()
}

/// Dimensions read by a full decode.
pub fn decoded_size(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decode");
    (img.width(), img.height())
}

/// A service on 127.0.0.1:0 with a fresh data directory.
pub struct TestService {
    pub running: RunningService,
    pub dir: tempfile::TempDir,
    /// The running service's state, to look at its budgets.
    pub state: ServiceState,
}

impl TestService {
    pub fn url(&self) -> String {
        self.running.url()
    }
}

pub fn config_for(addr: SocketAddr) -> ServiceConfig {
    let mut config = ServiceConfig::new(&format!("http://{addr}"), vec![token()]);
    config.policy.allow_private = true;
    config
}

/// Starts the local service; `tweak` adjusts its config first.
pub async fn start_service_with(tweak: impl FnOnce(&mut ServiceConfig)) -> TestService {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut config = config_for(listener.local_addr().expect("addr"));
    tweak(&mut config);
    let store = Store::local(dir.path()).expect("store");
    let state = ServiceState::new(config, store).expect("state");
    let running = service::start(listener, state.clone()).expect("start");
    TestService {
        running,
        dir,
        state,
    }
}

pub async fn start_service() -> TestService {
    start_service_with(|_| {}).await
}

/// One request as a scripted server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the scripted server does with one connection.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Read the whole request, answer with status, extra headers and body.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Read half the body, then never read again nor answer.
    StallMidBody,
    /// Read the headers, then reset the connection.
    Reset,
    /// Read the whole request, then answer 200 with `body` one byte every `ms` milliseconds.
    Drip(String, u64),
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Answer(
            status,
            vec![("Content-Type", "application/json".into())],
            body.into(),
        )
    }
}

/// A raw HTTP/1.1 server on 127.0.0.1 that plays `replies` in order (the last one repeats) and
/// records every request.
pub struct Scripted {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Scripted {
    pub async fn start(replies: Vec<Reply>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let reply = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                tokio::spawn(handle(stream, reply, recorded.clone()));
            }
        });
        Scripted { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

/// Reads a request's head: the request as recorded (no body yet), its `Content-Length`, and
/// the bytes read past the head.
pub async fn read_head(stream: &mut TcpStream) -> Option<(Recorded, usize, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let rest = buf[end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    Some((
        Recorded {
            method,
            target,
            headers,
            body: Vec::new(),
        },
        len,
        rest,
    ))
}

/// Reads into `body` until it holds `len` bytes or the client stops sending.
pub async fn read_body(stream: &mut TcpStream, body: &mut Vec<u8>, len: usize) {
    let mut chunk = vec![0u8; 64 * 1024];
    while body.len() < len {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn handle(mut stream: TcpStream, reply: Reply, recorded: Arc<Mutex<Vec<Recorded>>>) {
    let Some((mut request, len, mut body)) = read_head(&mut stream).await else {
        return;
    };
    match reply {
        Reply::Reset => {
            recorded.lock().expect("lock").push(request);
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO)).ok();
            drop(stream);
        }
        Reply::StallMidBody => {
            read_body(&mut stream, &mut body, len / 2).await;
            request.body = body;
            recorded.lock().expect("lock").push(request);
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
        Reply::Drip(text, ms) => {
            read_body(&mut stream, &mut body, len).await;
            request.body = body;
            recorded.lock().expect("lock").push(request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                text.len()
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for byte in text.bytes() {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
            stream.shutdown().await.ok();
        }
        Reply::Answer(status, headers, text) => {
            read_body(&mut stream, &mut body, len).await;
            request.body = body;
            recorded.lock().expect("lock").push(request);
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                text.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&text);
            stream.write_all(out.as_bytes()).await.ok();
            stream.shutdown().await.ok();
        }
    }
}

/// A PNG of random noise (incompressible): `w`x`h` RGB is about `3*w*h` bytes.
pub fn noise_png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut raw = vec![0u8; (w * h * 3) as usize];
    rng.fill(&mut raw);
    let img = image::RgbImage::from_raw(w, h, raw).expect("buffer");
    encode(&img.into(), image::ImageFormat::Png)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A test that needs a tool this machine lacks is skipped, with a note; under `.ci/run`
/// (`GM_REQUIRE_TOOLS=1`) that is a failure instead.
pub fn missing_tool(what: &str) {
    assert!(
        std::env::var("GM_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "GM_REQUIRE_TOOLS=1 but this is missing: {what}"
    );
    eprintln!("skipped: missing {what}");
}

/// Whether `program arg` runs and succeeds (a version flag, say); if not, the test that needs it
/// is skipped through [`missing_tool`].
pub fn tool_runs(program: &str, arg: &str) -> bool {
    let runs = std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        missing_tool(program);
    }
    runs
}

/// Copies the binary cargo built for this bench (or test) aside, so another checkout's build in a
/// shared target directory cannot replace it mid-run, and checks that it runs.
pub fn pinned_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let built = std::path::Path::new(env!("CARGO_BIN_EXE_groupme-uploader"));
    let copy = dir.join("groupme-uploader");
    std::fs::copy(built, &copy).expect("copy the binary aside");
    let out = std::process::Command::new(&copy)
        .arg("--version")
        .output()
        .expect("run the binary");
    assert!(out.status.success(), "{} --version failed", copy.display());
    let modified = std::fs::metadata(built)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or_else(String::new, |age| format!(", built {}s ago", age.as_secs()));
    println!(
        "binary: {} ({}{modified}), copied to {}",
        built.display(),
        String::from_utf8_lossy(&out.stdout).trim(),
        copy.display()
    );
    copy
}
