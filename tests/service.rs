//! The local image service: the router with `oneshot`, and end to end over a real listener with
//! the crate's own client and with requests shaped like `curl --data-binary`.

mod common;

use common::{
    TOKEN, TestService, crc32, curl_post, decoded_size, get_bytes, http, start_service,
    start_service_with, token,
};

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use groupme_uploader::cdn_url::{CdnUrl, Format};
use groupme_uploader::client::{Client, ClientConfig, Options, UploadError};
use groupme_uploader::geometry::fit_within;
use groupme_uploader::service::{self, ServiceState, Store};
use tower::ServiceExt as _;

fn error_text(json: &serde_json::Value) -> String {
    json["meta"]["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn upload_and_check(svc: &TestService, bytes: Vec<u8>, format: Format) -> CdnUrl {
    let (status, json) = curl_post(&svc.url(), TOKEN, bytes.clone()).await;
    assert_eq!(status, 200, "{json}");
    let url = CdnUrl::parse(json["payload"]["url"].as_str().expect("url")).expect("cdn url");
    assert_eq!(json["payload"]["picture_url"], json["payload"]["url"]);
    assert_eq!(url.format(), Some(format));
    assert_eq!(url.id().len(), 32);
    let (status, served, headers) = get_bytes(&url.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(served, bytes, "the original is served byte-identical");
    assert_eq!(headers["content-type"], format.mime());
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    url
}

async fn thumb(url: &CdnUrl, which: &str) -> Vec<u8> {
    let u = match which {
        "preview" => url.preview(),
        "large" => url.large(),
        _ => url.avatar(),
    };
    let (status, bytes, _) = get_bytes(&u.to_string()).await;
    assert_eq!(status, 200, "{u}");
    bytes
}

async fn check_thumbs(url: &CdnUrl, oriented: (u32, u32)) {
    assert_eq!(decoded_size(&thumb(url, "preview").await), (200, 200));
    assert_eq!(decoded_size(&thumb(url, "avatar").await), (60, 60));
    let (lw, lh) = decoded_size(&thumb(url, "large").await);
    let (w, h) = oriented;
    assert!(
        lw <= 960 && lh <= 960 && lw <= w && lh <= h,
        "{lw}x{lh} from {w}x{h}"
    );
    let expected_h = f64::from(lw) * f64::from(h) / f64::from(w);
    assert!(
        (f64::from(lh) - expected_h).abs() <= 1.0,
        "{lw}x{lh} from {w}x{h}"
    );
}

#[tokio::test]
async fn every_format_and_shape_round_trips_with_thumbnails() {
    let svc = start_service().await;
    let cases: Vec<(Vec<u8>, Format, (u32, u32))> = vec![
        (common::jpeg(1600, 900), Format::Jpeg, (1600, 900)),
        (common::jpeg(700, 1500), Format::Jpeg, (700, 1500)),
        (common::png_alpha(320, 240), Format::Png, (320, 240)),
        (common::png(1, 1), Format::Png, (1, 1)),
        (common::png(30, 500), Format::Png, (30, 500)),
        (common::webp(500, 400), Format::Webp, (500, 400)),
        (common::gif(90, 70, 1), Format::Gif, (90, 70)),
        (common::jpeg(4000, 3000), Format::Jpeg, (4000, 3000)),
    ];
    for (bytes, format, size) in cases {
        let url = upload_and_check(&svc, bytes, format).await;
        assert_eq!(url.dimensions(), Some(size));
        check_thumbs(&url, size).await;
    }
}

#[tokio::test]
async fn animated_gif_thumbnails_stay_animated() {
    let svc = start_service().await;
    let url = upload_and_check(&svc, common::gif(120, 80, 5), Format::Gif).await;
    for which in ["preview", "large", "avatar"] {
        assert_eq!(common::gif_frames(&thumb(&url, which).await), 5, "{which}");
    }
    check_thumbs(&url, (120, 80)).await;
}

#[tokio::test]
async fn exif_rotated_jpeg_thumbnails_are_upright() {
    let svc = start_service().await;
    // A real camera file from the image crate's suite: portrait, rotated by its EXIF orientation.
    let bytes = std::fs::read("tests/corpus/jpg/portrait_2.jpg").expect("corpus file");
    // What a viewer shows: the image crate's own decode with its own orientation transform.
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .expect("format")
        .into_decoder()
        .expect("decoder");
    let orientation = image::ImageDecoder::orientation(&mut decoder).expect("orientation");
    assert_ne!(orientation, image::metadata::Orientation::NoTransforms);
    let mut upright = image::DynamicImage::from_decoder(decoder).expect("decode");
    upright.apply_orientation(orientation);
    let url = upload_and_check(&svc, bytes, Format::Jpeg).await;
    for which in ["preview", "large", "avatar"] {
        assert_eq!(
            image::guess_format(&thumb(&url, which).await).expect("format"),
            image::ImageFormat::Jpeg,
            "{which} keeps the original's format"
        );
    }
    let large = image::load_from_memory(&thumb(&url, "large").await)
        .expect("decode")
        .to_rgb8();
    let (w, h) = (large.width(), large.height());
    assert_eq!((w, h), fit_within(upright.width(), upright.height(), 960));
    // The same picture the same way up: each quadrant's mean colour matches the upright
    // reference scaled to the same size (rotated or mirrored, they differ by far more).
    let reference = image::imageops::resize(
        &upright.to_rgb8(),
        w,
        h,
        image::imageops::FilterType::Triangle,
    );
    let mean = |img: &image::RgbImage, qx: u32, qy: u32| {
        let mut sum = [0u64; 3];
        for y in qy * h / 2..(qy + 1) * h / 2 {
            for x in qx * w / 2..(qx + 1) * w / 2 {
                for (s, v) in sum.iter_mut().zip(img.get_pixel(x, y).0) {
                    *s += u64::from(v);
                }
            }
        }
        sum.map(|s| s / u64::from((w / 2) * (h / 2)))
    };
    for (qx, qy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let (got, want) = (mean(&large, qx, qy), mean(&reference, qx, qy));
        assert!(
            got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 8),
            "quadrant {qx},{qy}: {got:?} vs upright {want:?}"
        );
    }
}

#[tokio::test]
async fn same_bytes_same_id_stored_once() {
    let svc = start_service().await;
    let bytes = common::png(64, 64);
    let (status_a, a) = curl_post(&svc.url(), TOKEN, bytes.clone()).await;
    let (status_b, b) = curl_post(&svc.url(), TOKEN, bytes).await;
    assert_eq!((status_a, status_b), (200, 200), "{a} {b}");
    assert_eq!(a["payload"]["url"], b["payload"]["url"]);
    let files = common::files_under(svc.dir.path());
    assert_eq!(files.len(), 4, "one original + three thumbnails: {files:?}");
}

#[tokio::test]
async fn refuses_bad_requests_with_specific_errors() {
    let svc = start_service_with(|c| c.max_body = 1024 * 1024).await;
    let base = svc.url();
    let (s, j) = curl_post(&base, "wrong", common::png(4, 4)).await;
    assert_eq!(
        (s, error_text(&j).as_str()),
        (401, "the access token is not valid")
    );
    let resp = http()
        .post(format!("{base}/pictures"))
        .body(common::png(4, 4))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    let (s, j) = curl_post(&base, TOKEN, Vec::new()).await;
    assert_eq!(
        (s, error_text(&j).as_str()),
        (400, "the body is empty: send the image bytes")
    );
    let (s, j) = curl_post(&base, TOKEN, b"just some text, not a picture".to_vec()).await;
    assert_eq!(s, 400);
    assert!(error_text(&j).contains("not an image"), "{j}");
    let (s, j) = curl_post(&base, TOKEN, b"BM\x36\0\0\0\0\0\0\0".to_vec()).await;
    assert_eq!(s, 400);
    assert!(error_text(&j).contains("BMP"), "{j}");
    let png = common::png(300, 300);
    let (s, _) = curl_post(&base, TOKEN, png[..png.len() / 2].to_vec()).await;
    assert_eq!(s, 422, "a truncated image is corrupt");
    let (s, j) = curl_post(&base, TOKEN, vec![0xFF; 2 * 1024 * 1024]).await;
    assert_eq!(s, 413, "{j}");
    let resp = http()
        .post(format!("{base}/pictures"))
        .header("X-Access-Token", TOKEN)
        .header("Content-Type", "multipart/form-data; boundary=x")
        .body("--x\r\n\r\n--x--")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let j: serde_json::Value = resp.json().await.expect("json");
    assert!(error_text(&j).contains("multipart"));
}

/// A PNG header declaring `w`x`h` (the rest is junk): a decompression bomb's shape.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = common::png(1, 1);
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    // Keep the IHDR checksum valid so only the size is hostile.
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[tokio::test]
async fn bombs_are_refused_and_the_service_stays_up() {
    let svc = start_service_with(|c| c.limits.max_animation_pixels = 120 * 80 * 10).await;
    let (s, j) = curl_post(&svc.url(), TOKEN, png_declaring(100_000, 100_000)).await;
    assert_eq!(s, 422, "{j}");
    assert!(error_text(&j).contains("limit"), "{j}");
    let (s, j) = curl_post(&svc.url(), TOKEN, common::gif(120, 80, 30)).await;
    assert_eq!(s, 422, "{j}");
    assert!(error_text(&j).contains("animation"), "{j}");
    let (s, _) = curl_post(&svc.url(), TOKEN, common::png(10, 10)).await;
    assert_eq!(s, 200, "still serving");
}

#[tokio::test]
async fn etag_and_not_modified() {
    let svc = start_service().await;
    let url = upload_and_check(&svc, common::png(50, 50), Format::Png).await;
    let (_, _, headers) = get_bytes(&url.preview().to_string()).await;
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    let resp = http()
        .get(url.preview().to_string())
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 304);
    let head = http().head(url.to_string()).send().await.expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "image/png");
    // `*` matches any stored picture, and nothing that is not stored.
    let any = |u: String| http().get(u).header("If-None-Match", "*").send();
    assert_eq!(
        any(url.large().to_string()).await.expect("get").status(),
        304
    );
    let missing = url.to_string().replace(url.id(), &"0".repeat(32));
    assert_eq!(any(missing).await.expect("get").status(), 404);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let svc = start_service_with(|c| c.max_body = 1024 * 1024).await;
    // No Content-Length: the limit is found while reading.
    let chunks =
        futures_util::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![0u8; 128 * 1024])));
    let resp = http()
        .post(format!("{}/pictures", svc.url()))
        .header("X-Access-Token", TOKEN)
        .header("Content-Type", "image/jpeg")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 413);
    let json: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        error_text(&json),
        "the image is larger than the 1 MiB limit"
    );
}

#[tokio::test]
async fn unknown_and_tampered_names_are_404() {
    let svc = start_service().await;
    let base = svc.url();
    for path in [
        "/1x1.png.0123456789abcdef0123456789abcdef",
        "/..%2F..%2Fetc%2Fpasswd",
        "/%2e%2e",
        "/1x1.png.ABCDEF0123456789ABCDEF0123456789",
        "/1x1.png.0123",
        "/1x1.png.0123456789abcdef0123456789abcdeg",
        "/0123456789abcdef0123456789abcdef",
    ] {
        let (status, body, _) = get_bytes(&format!("{base}{path}")).await;
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn router_answers_oneshot() {
    let dir = tempfile::tempdir().expect("dir");
    let config = common::config_for("127.0.0.1:1".parse().expect("addr"));
    let state = ServiceState::new(config, Store::local(dir.path()).expect("store")).expect("state");
    let app = service::router(state);
    let resp = app
        .clone()
        .oneshot(
            Request::post("/pictures")
                .header("X-Access-Token", TOKEN)
                .header("Content-Type", "image/jpeg")
                .body(Body::from(common::png(8, 6)))
                .expect("request"),
        )
        .await
        .expect("oneshot");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let url = json["payload"]["url"].as_str().expect("url");
    assert!(url.starts_with("http://127.0.0.1:1/8x6.png."), "{url}");
    let resp = app
        .oneshot(
            Request::get("/health")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("oneshot");
    assert_eq!(resp.status(), StatusCode::OK);
}

fn crate_client(url: &str) -> Client {
    let mut cfg = ClientConfig::new(url, token()).expect("cfg");
    cfg.max_attempts = 1;
    Client::new(cfg).expect("client")
}

#[tokio::test]
async fn crate_client_uploads_to_the_service() {
    let svc = start_service().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("photo.jpeg");
    let bytes = common::jpeg(640, 480);
    std::fs::write(&path, &bytes).expect("write");
    let up = crate_client(&svc.url())
        .upload_file(&path, &Options::default())
        .await
        .expect("upload");
    assert_eq!(up.url.dimensions(), Some((640, 480)));
    assert_eq!(get_bytes(&up.url.to_string()).await.1, bytes);
    let mut cfg = ClientConfig::new(
        &svc.url(),
        groupme_uploader::token::Token::new("nope").expect("t"),
    )
    .expect("cfg");
    cfg.max_attempts = 1;
    let err = Client::new(cfg)
        .expect("client")
        .upload_file(&path, &Options::default())
        .await
        .expect_err("wrong token");
    assert!(
        matches!(err, UploadError::TokenRefused { status: 401, .. }),
        "{err:?}"
    );
}

mod mirror {
    use super::*;
    use axum::Router;
    use axum::routing::get;

    /// A second local server the service fetches from.
    async fn origin() -> (String, Vec<u8>) {
        let png = common::png(33, 22);
        let served = png.clone();
        let app = Router::new()
            .route("/ok.png", get(move || async move { served.clone() }))
            .route("/text", get(|| async { "hello" }))
            .route(
                "/slow.png",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/big.png", get(|| async { vec![0u8; 3 * 1024 * 1024] }))
            .route(
                "/to-other-loopback",
                get(|| async { axum::response::Redirect::temporary("http://127.0.0.2:9/x.png") }),
            )
            .route(
                "/loop",
                get(|| async { axum::response::Redirect::temporary("/loop") }),
            )
            // /hop/N redirects to /hop/N-1 ... /hop/0 to the picture: N+1 redirects.
            .route(
                "/hop/{n}",
                get(
                    |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                        let next = match n {
                            0 => "/ok.png".to_owned(),
                            n => format!("/hop/{}", n - 1),
                        };
                        axum::response::Redirect::temporary(&next)
                    },
                ),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (format!("http://{addr}"), png)
    }

    async fn mirror(svc: &TestService, remote: &str) -> (u16, serde_json::Value) {
        common::mirror(&svc.url(), TOKEN, remote).await
    }

    #[tokio::test]
    async fn a_chain_of_five_redirects_is_followed_and_six_are_not() {
        let svc = start_service().await;
        let (origin, png) = origin().await;
        let (status, json) = mirror(&svc, &format!("{origin}/hop/4")).await;
        assert_eq!(status, 200, "5 redirects: {json}");
        let (_, served, _) = get_bytes(json["payload"]["url"].as_str().expect("url")).await;
        assert_eq!(served, png);
        let (status, json) = mirror(&svc, &format!("{origin}/hop/5")).await;
        assert_eq!(status, 502, "6 redirects: {json}");
        assert!(
            error_text(&json).contains("redirected more than 5 times"),
            "{json}"
        );
    }

    #[tokio::test]
    async fn fetches_and_refuses_as_it_should() {
        let (origin, png) = origin().await;
        let svc = start_service_with(|c| {
            c.max_body = 1024 * 1024;
            c.fetch_timeout = Duration::from_secs(2);
            c.policy.allow_private = false;
            c.policy.allow_list = vec!["127.0.0.1".parse().expect("ip")];
        })
        .await;
        let (s, j) = mirror(&svc, &format!("{origin}/ok.png")).await;
        assert_eq!(s, 200, "{j}");
        let url = CdnUrl::parse(j["payload"]["url"].as_str().expect("url")).expect("cdn");
        assert_eq!(url.dimensions(), Some((33, 22)));
        assert_eq!(get_bytes(&url.to_string()).await.1, png);

        let (s, j) = mirror(&svc, &format!("{origin}/text")).await;
        assert_eq!(s, 400, "{j}");
        let (s, j) = mirror(&svc, &format!("{origin}/missing")).await;
        assert_eq!(
            (s, error_text(&j).as_str()),
            (502, "the link answered 404 Not Found")
        );
        assert_eq!(
            (&j["meta"]["error"], &j["meta"]["remote_status"]),
            (&serde_json::json!("remote_status"), &serde_json::json!(404)),
            "a client can tell the link's 404 from a broken service: {j}"
        );
        let (s, j) = mirror(&svc, &format!("{origin}/slow.png")).await;
        assert_eq!(s, 504, "{j}");
        let (s, j) = mirror(&svc, &format!("{origin}/big.png")).await;
        assert_eq!(s, 413, "{j}");
        let (s, j) = mirror(&svc, &format!("{origin}/to-other-loopback")).await;
        assert_eq!(s, 400, "{j}");
        assert!(error_text(&j).contains("127.0.0.2"), "{j}");
        assert_eq!(j["meta"]["error"], "link_refused", "{j}");
        let (s, j) = mirror(&svc, &format!("{origin}/loop")).await;
        assert_eq!(s, 502, "{j}");
        assert!(error_text(&j).contains("redirected more than"), "{j}");
        let (s, j) = mirror(&svc, "file:///etc/passwd").await;
        assert_eq!(s, 400, "{j}");
    }

    /// The crate's client, as the app's worker uses it: a link's 404 is asked for once and
    /// named, a refused address is the refusal alone.
    #[tokio::test]
    async fn the_client_tells_a_dead_link_and_a_refused_address_apart() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = hits.clone();
        let app = Router::new().fallback(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { (axum::http::StatusCode::NOT_FOUND, "gone") }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        let svc = start_service().await;
        let mut cfg = ClientConfig::new(&svc.url(), token()).expect("cfg");
        cfg.max_attempts = 4;
        cfg.system_proxy = false;
        cfg.backoff.base = Duration::from_millis(10);
        let client = Client::new(cfg).expect("client");
        let err = client
            .mirror(&format!("{origin}/pic.webp"), &Options::default())
            .await
            .expect_err("404");
        assert!(
            matches!(err, UploadError::RemoteStatus { status: 404 }),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "the link answered 404 Not Found");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "a 404 is final: asked once");

        let closed = start_service_with(|c| c.policy.allow_private = false).await;
        let mut cfg = ClientConfig::new(&closed.url(), token()).expect("cfg");
        cfg.system_proxy = false;
        let err = Client::new(cfg)
            .expect("client")
            .mirror(&format!("{origin}/pic.webp"), &Options::default())
            .await
            .expect_err("loopback");
        assert!(matches!(err, UploadError::LinkRefused { .. }), "{err:?}");
        let words = err.to_string();
        assert!(
            words.starts_with("the URL points at a loopback address"),
            "{words}"
        );
        assert!(!words.contains("not an image"), "{words}");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn loopback_is_refused_without_allow_private() {
        let (origin, _) = origin().await;
        let svc = start_service_with(|c| c.policy.allow_private = false).await;
        let port = origin.rsplit(':').next().expect("port").to_owned();
        for host in [
            "127.0.0.1",
            "localhost",
            "2130706433",
            "0x7f000001",
            "127.1",
            "[::ffff:127.0.0.1]",
        ] {
            let (s, j) = mirror(&svc, &format!("http://{host}:{port}/ok.png")).await;
            assert_eq!(s, 400, "{host}: {j}");
            assert!(error_text(&j).contains("loopback"), "{host}: {j}");
        }
    }
}

#[tokio::test]
async fn over_the_processing_limit_is_a_clean_503() {
    let svc = start_service_with(|c| {
        c.max_concurrent = 1;
        c.max_waiting = 0;
    })
    .await;
    // Different bytes each (no dedup), big enough to keep the one slot busy for a while.
    let bodies: Vec<Vec<u8>> = (0..6u32).map(|i| common::jpeg(2400 + i, 1800)).collect();
    let base = svc.url();
    let answers = futures_util::future::join_all(bodies.into_iter().map(|b| {
        let base = base.clone();
        async move {
            let resp = http()
                .post(format!("{base}/pictures"))
                .header("X-Access-Token", TOKEN)
                .body(b)
                .send()
                .await
                .expect("send");
            let retry = resp.headers().get("retry-after").cloned();
            let status = resp.status().as_u16();
            let json: serde_json::Value = resp.json().await.expect("json");
            (status, retry, json)
        }
    }))
    .await;
    let ok: Vec<_> = answers.iter().filter(|a| a.0 == 200).collect();
    let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert_eq!(ok.len() + busy.len(), 6, "only 200 or 503: {answers:?}");
    assert!(!ok.is_empty() && !busy.is_empty(), "{answers:?}");
    for (_, retry, json) in busy {
        assert_eq!(
            retry.as_ref().map(|v| v.to_str().expect("ascii")),
            Some("1")
        );
        assert_eq!(
            error_text(json),
            "the service is busy; try again in a moment"
        );
    }
    for (_, _, json) in ok {
        let url = json["payload"]["url"].as_str().expect("url");
        assert_eq!(get_bytes(url).await.0, 200);
    }
}

mod ssrf {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A loopback origin that counts every request it receives.
    async fn counting_origin() -> (u16, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = hits.clone();
        let png = common::png(10, 10);
        let app = axum::Router::new().fallback(move || {
            let (seen, png) = (seen.clone(), png.clone());
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                png
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (port, hits)
    }

    async fn mirror_status(svc: &TestService, remote: &str) -> (u16, String) {
        let (status, json) = common::mirror(&svc.url(), TOKEN, remote).await;
        (status, error_text(&json))
    }

    #[tokio::test]
    async fn every_loopback_trick_is_refused_and_nothing_reaches_the_target() {
        let (port, hits) = counting_origin().await;
        let svc = start_service_with(|c| c.policy.allow_private = false).await;
        let long = format!("http://127.0.0.1:{port}/{}", "a".repeat(3000));
        let cases = [
            format!("http://127.0.0.1:{port}/x.png"),
            format!("http://localhost:{port}/x.png"),
            format!("http://127.0.0.2:{port}/x.png"),
            format!("http://0.0.0.0:{port}/x.png"),
            format!("http://[::1]:{port}/x.png"),
            format!("http://[::ffff:127.0.0.1]:{port}/x.png"),
            format!("http://2130706433:{port}/x.png"),
            format!("http://0x7f000001:{port}/x.png"),
            format!("http://0177.0.0.1:{port}/x.png"),
            format!("http://127.1:{port}/x.png"),
            format!("http://example.com@127.0.0.1:{port}/x.png"),
            format!("http://127.0.0.1:{port}#@example.com/x.png"),
            "file:///etc/passwd".to_owned(),
            format!("gopher://127.0.0.1:{port}/_x"),
            format!("ftp://127.0.0.1:{port}/x.png"),
            long,
        ];
        for case in &cases {
            let (status, message) = mirror_status(&svc, case).await;
            assert_eq!(status, 400, "{case}: {message}");
            assert!(!message.is_empty(), "{case}");
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "no request reached the target"
        );
        // The same service with --allow-private-urls does fetch it: the refusals were the policy.
        let open = start_service_with(|c| c.policy.allow_private = true).await;
        let (status, message) =
            mirror_status(&open, &format!("http://127.0.0.1:{port}/x.png")).await;
        assert_eq!(status, 200, "{message}");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn odd_tokens_are_refused() {
        let svc = start_service().await;
        for token in [
            "",
            " ",
            &"x".repeat(8000),
            &format!("{TOKEN}x"),
            &TOKEN[1..],
        ] {
            let (status, json) = curl_post(&svc.url(), token, common::png(4, 4)).await;
            assert_eq!(status, 401, "{} chars: {json}", token.len());
        }
    }
}

#[tokio::test]
async fn a_symlink_planted_in_the_data_directory_is_not_followed() {
    let svc = start_service().await;
    let secret = svc.dir.path().join("secret.txt");
    std::fs::write(&secret, "private").expect("write");
    let id = "0123456789abcdef0123456789abcdef";
    let shard = svc.dir.path().join("pictures").join(&id[..2]);
    std::fs::create_dir_all(&shard).expect("mkdir");
    let name = format!("1x1.png.{id}");
    std::os::unix::fs::symlink(&secret, shard.join(&name)).expect("symlink");
    let (status, body, _) = get_bytes(&format!("{}/{name}", svc.url())).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
}

/// The headers of an answer, without `Date` (the only one that may change between two answers).
fn headers_but_date(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| *k != "date")
        .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_owned()))
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_held_answer_is_the_same_bytes_and_headers_as_the_first() {
    let svc = start_service().await;
    let url = upload_and_check(&svc, common::png(300, 200), Format::Png).await;
    let mut bodies = 0;
    for u in [url.large(), url.avatar(), url.preview(), url.clone()] {
        let (status, first, first_headers) = get_bytes(&u.to_string()).await;
        assert_eq!(status, 200, "{u}");
        bodies += first.len() as u64;
        let (status, again, again_headers) = get_bytes(&u.to_string()).await;
        assert_eq!(status, 200, "{u}");
        assert_eq!(again, first, "{u}");
        assert_eq!(
            headers_but_date(&again_headers),
            headers_but_date(&first_headers),
            "{u}"
        );
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("content-security-policy", "default-src 'none'; sandbox"),
            ("cache-control", "public, max-age=31536000, immutable"),
            ("content-type", "image/png"),
        ] {
            assert_eq!(again_headers[name], value, "{u}");
        }
        assert_eq!(
            again_headers["content-length"],
            first.len().to_string().as_str()
        );
        // A 304 from the held answer carries the same ETag and security headers.
        let resp = http()
            .get(u.to_string())
            .header("If-None-Match", again_headers["etag"].clone())
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 304, "{u}");
        assert_eq!(resp.headers()["etag"], again_headers["etag"]);
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    // All four answers are held (the original is under 1 MiB), so the second GETs came from them.
    assert!(
        svc.state.ready_bytes_held() >= bodies,
        "{} < {bodies}",
        svc.state.ready_bytes_held()
    );
}

#[tokio::test]
async fn a_thumbnail_without_its_original_is_never_served_nor_held() {
    let svc = start_service().await;
    let url = upload_and_check(&svc, common::png(120, 80), Format::Png).await;
    // A crash between the thumbnails and the original leaves this: thumbnails, no original.
    let shard = svc.dir.path().join("pictures").join(&url.id()[..2]);
    let name = url.to_string().rsplit('/').next().expect("name").to_owned();
    let orphan_id = "f".repeat(32);
    let orphan = name.replace(url.id(), &orphan_id);
    let orphan_shard = svc.dir.path().join("pictures").join("ff");
    std::fs::create_dir_all(&orphan_shard).expect("mkdir");
    for suffix in ["preview", "large", "avatar"] {
        std::fs::copy(
            shard.join(format!("{name}.{suffix}")),
            orphan_shard.join(format!("{orphan}.{suffix}")),
        )
        .expect("copy");
    }
    let base = svc.url();
    // The uploaded picture's original was served (and held) by `upload_and_check`.
    let held = svc.state.ready_bytes_held();
    for _ in 0..2 {
        for suffix in ["preview", "large", "avatar"] {
            let (status, _, headers) = get_bytes(&format!("{base}/{orphan}.{suffix}")).await;
            assert_eq!(status, 404, ".{suffix}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
        }
    }
    assert_eq!(svc.state.ready_bytes_held(), held, "nothing of it was kept");
    // The complete picture next to it is served as before.
    assert!(!thumb(&url, "large").await.is_empty());
    assert!(svc.state.ready_bytes_held() > held);
}

#[tokio::test]
async fn held_answers_stay_within_their_byte_budget() {
    let budget = 64 * 1024;
    let svc = start_service_with(|c| c.ready_cache_bytes = budget).await;
    for i in 0..6u32 {
        let url = upload_and_check(&svc, common::png(400 + i, 300), Format::Png).await;
        for u in [url.large(), url.preview(), url.avatar(), url.clone()] {
            let (status, ..) = get_bytes(&u.to_string()).await;
            assert_eq!(status, 200, "{u}");
            assert!(
                svc.state.ready_bytes_held() <= budget,
                "{} > {budget}",
                svc.state.ready_bytes_held()
            );
        }
    }
    assert!(svc.state.ready_bytes_held() > 0);
    // With none, nothing is held and everything is still served.
    let none = start_service_with(|c| c.ready_cache_bytes = 0).await;
    let url = upload_and_check(&none, common::png(40, 30), Format::Png).await;
    for _ in 0..2 {
        assert!(!thumb(&url, "large").await.is_empty());
    }
    assert_eq!(none.state.ready_bytes_held(), 0);
}

/// One answer read from a raw connection: its head, and a body of its `Content-Length` (none
/// without one); `buf` keeps what was read past it.
async fn read_answer(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> (String, Vec<u8>) {
    use tokio::io::AsyncReadExt as _;
    let mut chunk = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut fill = async |buf: &mut Vec<u8>| {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(
            n > 0,
            "closed mid-answer: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_len = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        fill(buf).await;
    };
    let head = String::from_utf8(buf.drain(..head_len).collect()).expect("ascii head");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.parse::<usize>().expect("a length"));
    while buf.len() < length {
        fill(buf).await;
    }
    (head, buf.drain(..length).collect())
}

#[tokio::test]
async fn held_answers_on_one_connection_pipeline_revalidate_and_hand_over() {
    use tokio::io::AsyncWriteExt as _;
    let svc = start_service().await;
    let url = upload_and_check(&svc, common::png(300, 200), Format::Png).await;
    let (large, avatar) = (url.large().to_string(), url.avatar().to_string());
    // The first GETs go through the router and hold the answers.
    let (_, large_bytes, large_headers) = get_bytes(&large).await;
    let (_, avatar_bytes, _) = get_bytes(&avatar).await;
    let path = |u: &str| u.strip_prefix(&svc.url()).expect("ours").to_owned();
    let (large_path, avatar_path) = (path(&large), path(&avatar));
    let etag = large_headers["etag"].to_str().expect("etag");
    let png = common::png(20, 10);
    let requests = [
        format!("GET {large_path} HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!("GET {large_path}?v=1 HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"),
        format!("GET {avatar_path} HTTP/1.1\r\nHost: x\r\n\r\n"),
        // Not held: hyper takes the connection here, and answers the rest.
        "GET /1x1.png.0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        format!("GET {avatar_path} HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!(
            "POST /pictures HTTP/1.1\r\nHost: x\r\nX-Access-Token: {TOKEN}\r\n\
             Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            png.len()
        ),
    ];
    let mut sent = requests.concat().into_bytes();
    sent.extend_from_slice(&png);
    let mut stream = tokio::net::TcpStream::connect(svc.running.addr)
        .await
        .expect("connect");
    // All six in one write: each answer must come back whole and in order.
    stream.write_all(&sent).await.expect("send");
    let mut buf = Vec::new();
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, large_bytes);
    assert!(head.contains("\r\ncontent-type: image/png\r\n"), "{head}");
    assert!(head.contains("\r\ndate: "), "{head}");
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert!(head.contains(&format!("\r\netag: {etag}\r\n")), "{head}");
    assert!(
        head.contains("\r\nx-content-type-options: nosniff\r\n"),
        "{head}"
    );
    assert!(body.is_empty());
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, avatar_bytes);
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("meta"), "{body:?}");
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, avatar_bytes);
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(
        common::picture_name(&answer).starts_with("20x10.png."),
        "{answer}"
    );
    assert!(buf.is_empty(), "{} bytes more", buf.len());

    // `Connection: close` on a held GET: the answer says so, then the server closes.
    let mut stream = tokio::net::TcpStream::connect(svc.running.addr)
        .await
        .expect("connect");
    stream
        .write_all(format!("GET {large_path} HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut buf = Vec::new();
    let (head, body) = read_answer(&mut stream, &mut buf).await;
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert_eq!(body, large_bytes);
    let mut rest = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut rest),
    )
    .await
    .expect("closed in time")
    .expect("read");
    assert!(rest.is_empty() && buf.is_empty(), "{rest:?}");
}
