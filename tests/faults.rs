//! The service under faults and load (127.0.0.1 only): clients that vanish mid-upload, storage
//! that fails, and 200 concurrent uploads. (Crashes of `serve` itself: `tests/durability.rs`.)

mod common;

use common::instance::{INSTANCE_TOKEN, Instance};
use common::{TOKEN, files_under, http, try_post, until};

use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_nothing() {
    let svc = common::start_service().await;
    let png = common::png(400, 400);
    let mut stream = tokio::net::TcpStream::connect(svc.running.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /pictures HTTP/1.1\r\nHost: x\r\nX-Access-Token: {TOKEN}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        png.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let part = png.len() / 3;
    stream.write_all(&png[..part]).await.expect("part");
    // The service holds what arrived, then lets go of it when the client vanishes: proof it
    // noticed (a service that never did would hold it for good).
    until("the part received", Duration::from_secs(10), || {
        svc.state.body_bytes_held() == part
    })
    .await;
    drop(stream);
    until("the part let go", Duration::from_secs(10), || {
        svc.state.body_bytes_held() == 0
    })
    .await;
    assert!(
        files_under(svc.dir.path()).is_empty(),
        "{:?}",
        files_under(svc.dir.path())
    );
    let (status, _) = try_post(&svc.url(), TOKEN, common::png(8, 8))
        .await
        .expect("still up");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_failing_store_answers_500_and_writes_nothing_half() {
    let svc = common::start_service().await;
    // A file where the pictures directory must go: every write fails.
    let blocker = svc.dir.path().join("pictures");
    std::fs::write(&blocker, "in the way").expect("blocker");
    let (status, json) = try_post(&svc.url(), TOKEN, common::png(30, 30))
        .await
        .expect("answer");
    assert_eq!(status, 500, "{json}");
    assert_eq!(json["meta"]["errors"][0], "storage failed; try again");
    assert_eq!(files_under(svc.dir.path()), vec![blocker.clone()]);
    std::fs::remove_file(&blocker).expect("unblock");
    let (status, json) = try_post(&svc.url(), TOKEN, common::png(30, 30))
        .await
        .expect("answer");
    assert_eq!(status, 200, "works again once storage does: {json}");
}

#[tokio::test]
async fn two_hundred_concurrent_uploads() {
    let dir = tempfile::tempdir().expect("dir");
    let serve = Instance::start(&format!("file:{}", dir.path().display()), &[], &[]).await;
    let bodies: Vec<Vec<u8>> = (0..200u32)
        .map(|i| match i % 4 {
            0 => common::jpeg(120 + i, 90),
            1 => common::png_alpha(100 + i, 80),
            2 => common::gif(40 + i % 50, 30, 2),
            _ => common::webp(64 + i, 48),
        })
        .collect();
    let base = serve.url.clone();
    let answers = futures_util::future::join_all(bodies.iter().cloned().map(|b| {
        let base = base.clone();
        async move {
            common::try_post_with_headers(&base, INSTANCE_TOKEN, b)
                .await
                .expect("answered")
        }
    }))
    .await;
    let mut ok = 0;
    for ((status, headers, json), body) in answers.iter().zip(&bodies) {
        match status {
            200 => {
                ok += 1;
                let url = json["payload"]["url"].as_str().expect("url");
                let served = http()
                    .get(url)
                    .send()
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body");
                assert_eq!(served.as_ref(), body.as_slice(), "{url}");
            }
            503 => {
                assert_eq!(json["meta"]["code"], 503);
                assert_eq!(headers["retry-after"], "1");
            }
            other => panic!("unexpected {other}: {json}"),
        }
    }
    assert!(ok >= 100, "most succeed: {ok}");
    // `VmHWM`: the peak RSS.
    let hwm = common::proc_kib(serve.pid(), "VmHWM");
    println!(
        "{ok} of 200 succeeded, the rest got 503; serve's peak RSS {} MiB",
        hwm / 1024
    );
    // The README gives the peak measured here (38 MiB); the bound leaves room for the allocator.
    assert!(hwm < 64 * 1024, "serve's peak RSS {} MiB", hwm / 1024);
}
