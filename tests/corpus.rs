//! Every file of the conformance corpus (the `image` crate's own test images, and files that once
//! crashed decoders) goes through the client probe, the service and the app's preview: each
//! either works completely or is refused with a specific error, and nothing crashes.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TOKEN;
use groupme_uploader::cdn_url::CdnUrl;

fn corpus() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("corpus dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["png", "jpg", "jpeg", "gif", "webp"].contains(&e))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("tests/corpus"), &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn every_corpus_file_works_or_is_refused_clearly() {
    let files = corpus();
    assert!(files.len() >= 50, "corpus present: {}", files.len());
    let svc = common::start_service().await;
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let (mut accepted, mut refused) = (0, Vec::new());
    for path in &files {
        let bytes = std::fs::read(path).expect("read");
        let name = path.display().to_string();
        // The client's probe never panics, and names the file when it refuses it.
        if let Err(e) = groupme_uploader::probe::probe_file(path) {
            assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        }
        // The app's preview never panics either.
        let preview = tokio::task::spawn_blocking({
            let bytes = bytes.clone();
            move || groupme_uploader::preview::from_bytes(&bytes, 256)
        })
        .await
        .expect("preview task must not panic");
        let resp = tokio::time::timeout(
            Duration::from_secs(30),
            http.post(format!("{}/pictures", svc.url()))
                .header("X-Access-Token", TOKEN)
                .header("Content-Type", "image/jpeg")
                .body(bytes.clone())
                .send(),
        )
        .await
        .expect("answered in time")
        .expect("answered");
        let status = resp.status().as_u16();
        let json: serde_json::Value = resp.json().await.expect("JSON answer");
        match status {
            200 => {
                accepted += 1;
                assert!(
                    preview.is_ok(),
                    "{name}: the service took it, the preview must too: {preview:?}"
                );
                let url =
                    CdnUrl::parse(json["payload"]["url"].as_str().expect("url")).expect("cdn");
                let get = |u: CdnUrl| {
                    let http = http.clone();
                    async move {
                        http.get(u.to_string())
                            .send()
                            .await
                            .expect("get")
                            .bytes()
                            .await
                            .expect("body")
                    }
                };
                assert_eq!(
                    get(url.clone()).await.as_ref(),
                    bytes.as_slice(),
                    "{name}: original"
                );
                for (u, side) in [
                    (url.preview(), Some(200)),
                    (url.avatar(), Some(60)),
                    (url.large(), None),
                ] {
                    let thumb = get(u).await;
                    let img = image::load_from_memory(&thumb)
                        .unwrap_or_else(|e| panic!("{name}: thumbnail decodes: {e}"));
                    match side {
                        Some(s) => assert_eq!((img.width(), img.height()), (s, s), "{name}"),
                        None => assert!(img.width() <= 960 && img.height() <= 960, "{name}"),
                    }
                }
            }
            400 | 413 | 422 => {
                let message = json["meta"]["errors"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                assert!(!message.is_empty(), "{name}: a refusal says why");
                assert_eq!(json["meta"]["code"], status);
                refused.push(format!("{name}: {status} {message}"));
            }
            other => panic!("{name}: unexpected status {other}: {json}"),
        }
    }
    let health = http
        .get(format!("{}/health", svc.url()))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200, "the service stays up");
    println!(
        "{accepted} accepted, {} refused:\n{}",
        refused.len(),
        refused.join("\n")
    );
    // What the README says: every file but two uploads, and these two are refused for these
    // reasons.
    assert_eq!(
        refused,
        [
            "tests/corpus/image-rs/regression/gif/zero-loop-count.gif: 422 the image is corrupt or \
             truncated: Format error decoding Gif: unknown block type encountered",
            "tests/corpus/image-rs/regression/jpg/oss-fuzz-36829.jpeg: 422 the image is 3x62728; \
             the limit is 20000 pixels on a side",
        ]
    );
    assert_eq!(accepted, files.len() - 2);
}
