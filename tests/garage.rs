//! Stateless `serve` instances on one distributed object store (Garage, S3-compatible), and how
//! `serve --store s3://…` refuses a store it cannot use. Every process here listens on
//! 127.0.0.1. The Garage tests need a Garage binary (see `common::garage`); `.ci/run` provides one
//! and makes its absence a failure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::garage::{self, BUCKET, Garage};
use common::instance::{INSTANCE_TOKEN, Instance};
use common::{get_bytes, try_post};
use futures_util::StreamExt as _;
use object_store::{ObjectStore as _, ObjectStoreExt as _};

const SUFFIXES: [&str; 4] = ["", ".preview", ".large", ".avatar"];

/// Uploads through `base`; the picture's name (the URL's last part), or the status and answer.
async fn upload(base: &str, bytes: Vec<u8>) -> Result<String, (u16, serde_json::Value)> {
    match try_post(base, INSTANCE_TOKEN, bytes).await {
        Ok((200, json)) => Ok(common::picture_name(&json)),
        Ok((status, json)) => Err((status, json)),
        Err(e) => Err((0, serde_json::Value::String(e.to_string()))),
    }
}

/// The original and its three thumbnails as served by `base`, asserting each is there.
async fn renditions(base: &str, name: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for suffix in SUFFIXES {
        let (status, body, _) = get_bytes(&format!("{base}/{name}{suffix}")).await;
        assert_eq!(status, 200, "{base}/{name}{suffix}");
        out.push(body);
    }
    out
}

/// Keys in the bucket that belong to the picture with id `id`.
async fn keys_of(bucket: &object_store::aws::AmazonS3, id: &str) -> Vec<String> {
    let listed: Vec<_> = bucket.list(None).collect().await;
    let mut keys: Vec<String> = listed
        .into_iter()
        .map(|m| m.expect("list").location.to_string())
        .filter(|k| k.contains(id))
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_bucket_serve_each_others_pictures() {
    let Some(bin) = garage::binary() else { return };
    let garage = Garage::start(&bin, 1).await;
    let a = Instance::start(&format!("s3://{BUCKET}"), &garage.env(0), &[]).await;
    let b = Instance::start(&format!("s3://{BUCKET}"), &garage.env(0), &[]).await;

    // Acknowledged by A: B serves the original and every thumbnail, byte for byte.
    let photo = common::jpeg(1200, 800);
    let name = upload(&a.url, photo.clone()).await.expect("upload via A");
    let via_a = renditions(&a.url, &name).await;
    let via_b = renditions(&b.url, &name).await;
    assert_eq!(via_b[0], photo, "the original is stored as sent");
    assert_eq!(via_a, via_b, "both instances serve the same bytes");
    assert_eq!(common::decoded_size(&via_b[1]), (200, 200));
    assert_eq!(common::decoded_size(&via_b[2]), (960, 640));
    assert_eq!(common::decoded_size(&via_b[3]), (60, 60));

    // The same bytes through both at once: one name, one stored picture (4 objects).
    let same = common::png(900, 700);
    let (ra, rb) = tokio::join!(upload(&a.url, same.clone()), upload(&b.url, same.clone()));
    let (ra, rb) = (ra.expect("via A"), rb.expect("via B"));
    assert_eq!(ra, rb, "content-addressed: the same picture");
    let id = ra.rsplit('.').next().expect("id");
    let keys = keys_of(&garage.bucket(0), id).await;
    assert_eq!(keys.len(), 4, "one original and three thumbnails: {keys:?}");
    assert_eq!(renditions(&a.url, &ra).await, renditions(&b.url, &rb).await);

    // 30 MB: stored by a multipart upload, served whole by the other instance.
    let big = common::noise_png(3200, 3200, 7);
    assert!(big.len() > 30_000_000, "{} bytes", big.len());
    let name = upload(&b.url, big.clone()).await.expect("30 MB via B");
    let (status, body, _) = get_bytes(&format!("{}/{name}", a.url)).await;
    assert_eq!(status, 200);
    assert!(body == big, "the 30 MB original comes back byte-identical");
    let id = name.rsplit('.').next().expect("id");
    let original = keys_of(&garage.bucket(0), id)
        .await
        .into_iter()
        .find(|k| k.ends_with(id))
        .expect("original key");
    let meta = garage
        .bucket(0)
        .head(&original.as_str().into())
        .await
        .expect("head");
    let etag = meta.e_tag.unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with("-4"),
        "a multipart object of 4 parts has an ETag ending in -4: {etag}"
    );
    assert_eq!(meta.size as usize, big.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_every_acknowledged_picture_when_a_node_stops() {
    let Some(bin) = garage::binary() else { return };
    let mut garage = Garage::start(&bin, 3).await;
    // A talks to node 0, B to node 1; node 1 is the one that stops.
    let a = Arc::new(Instance::start(&format!("s3://{BUCKET}"), &garage.env(0), &[]).await);
    let b = Arc::new(Instance::start(&format!("s3://{BUCKET}"), &garage.env(1), &[]).await);
    let images: Vec<Vec<u8>> = (0..48).map(|i| common::jpeg(320 + i, 240)).collect();

    // With every node up, what one instance acknowledges the other serves at once, whole:
    // each instance talks to a different node, and Garage reads with a quorum.
    for (i, (from, to)) in [(&a, &b), (&b, &a), (&a, &b), (&b, &a)]
        .into_iter()
        .enumerate()
    {
        let photo = common::png(200 + i as u32, 150);
        let name = upload(&from.url, photo.clone()).await.expect("upload");
        let got = renditions(&to.url, &name).await;
        assert!(
            got[0] == photo,
            "read-after-write across nodes, picture {i}"
        );
    }

    // A burst through both instances, 4 at a time; node 1 is killed after 12 acknowledgements.
    let acked_count = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let burst = {
        let (a, b, images, acked_count) =
            (a.clone(), b.clone(), images.clone(), acked_count.clone());
        tokio::spawn(async move {
            futures_util::stream::iter(images.into_iter().enumerate())
                .map(|(i, img)| {
                    let via = if i % 2 == 0 {
                        a.url.clone()
                    } else {
                        b.url.clone()
                    };
                    let (tx, acked_count) = (tx.clone(), acked_count.clone());
                    async move {
                        let result = upload(&via, img).await;
                        if result.is_ok() {
                            acked_count.fetch_add(1, Ordering::SeqCst);
                        }
                        tx.send((i, via, result)).ok();
                    }
                })
                .buffer_unordered(4)
                .collect::<Vec<()>>()
                .await
        })
    };
    common::until("12 acknowledgements", Duration::from_secs(120), || {
        acked_count.load(Ordering::SeqCst) >= 12
    })
    .await;
    garage.stop_node(1);
    burst.await.expect("burst");
    let mut results = Vec::new();
    while let Ok(r) = rx.try_recv() {
        results.push(r);
    }
    assert_eq!(results.len(), images.len());

    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for (i, via, result) in results {
        match result {
            Ok(name) => acked.push((i, name)),
            Err((status, json)) => {
                // Only B lost its node; its refusals are plain errors, never an acknowledgement.
                assert_eq!(
                    via, b.url,
                    "A's node and a quorum stayed up: {status} {json}"
                );
                assert_eq!(status, 500, "{json}");
                assert!(
                    json["meta"]["errors"][0]
                        .as_str()
                        .is_some_and(|m| m.contains("storage")),
                    "{json}"
                );
                refused.push(i);
            }
        }
    }
    eprintln!(
        "burst of {}: {} acknowledged, {} refused by B while its node was down",
        images.len(),
        acked.len(),
        refused.len()
    );
    assert!(!refused.is_empty(), "B's node was stopped during the burst");
    let through_a = acked.iter().filter(|(i, _)| i % 2 == 0).count();
    assert_eq!(
        through_a,
        images.len() / 2,
        "A never stopped: its node and a quorum of the others stayed up"
    );

    // While node 1 is down, every acknowledged picture is whole through A.
    let checks = acked.iter().map(|(i, name)| {
        let (url, expected) = (a.url.clone(), images[*i].clone());
        async move {
            let got = renditions(&url, name).await;
            assert!(
                got[0] == expected,
                "picture {i} byte-identical with node 1 down"
            );
        }
    });
    futures_util::stream::iter(checks)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;

    // Node 1 comes back: B takes uploads again, and the refused ones get in.
    garage.restart_node(1).await;
    for i in &refused {
        let name = upload(&b.url, images[*i].clone())
            .await
            .unwrap_or_else(|e| panic!("picture {i} after node 1 is back: {e:?}"));
        acked.push((*i, name));
    }
    assert_eq!(acked.len(), images.len());
    let checks = acked.iter().map(|(i, name)| {
        let (a, b, expected) = (a.url.clone(), b.url.clone(), images[*i].clone());
        async move {
            let via_a = renditions(&a, name).await;
            let via_b = renditions(&b, name).await;
            assert!(via_a[0] == expected, "picture {i} through A");
            assert!(
                via_a == via_b,
                "picture {i}: both instances serve the same bytes"
            );
        }
    });
    futures_util::stream::iter(checks)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// Asserts that `serve` stopped at start with exit 1 and one line that says `expect`.
fn assert_refused(r: &common::instance::Refused, expect: &str) {
    assert_eq!(r.code, Some(1), "exit code; stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.trim().lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(
        lines[0].contains(expect),
        "{:?} should say {expect:?}",
        lines[0]
    );
    assert!(
        !lines[0].contains(garage::KEY_SECRET),
        "the secret is never printed"
    );
    assert!(r.took < Duration::from_secs(30), "took {:?}", r.took);
}

fn vars(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[tokio::test]
async fn serve_refuses_a_bucket_without_credentials_or_endpoint_at_start() {
    // Something that would count any visit to a credentials service.
    let visits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let trap = format!("http://{}", listener.local_addr().expect("addr"));
    let counter = visits.clone();
    tokio::spawn(async move {
        while let Ok((_conn, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let no_credentials = Instance::refused(
        "s3://images",
        &vars(&[
            ("AWS_ENDPOINT", "http://127.0.0.1:9".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_METADATA_ENDPOINT", trap.clone()),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{trap}/creds"),
            ),
        ]),
    )
    .await;
    assert_refused(
        &no_credentials,
        "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
    assert_eq!(
        visits.load(Ordering::SeqCst),
        0,
        "no credentials service was asked"
    );

    // Nothing listens on that port: the endpoint is unreachable.
    let nobody = common::free_port();
    let unreachable = Instance::refused(
        "s3://images",
        &vars(&[
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{nobody}")),
            ("AWS_REGION", "garage".into()),
            ("AWS_ACCESS_KEY_ID", garage::KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", garage::KEY_SECRET.into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]),
    )
    .await;
    assert_refused(&unreachable, "cannot reach the endpoint");

    // Plain HTTP is refused unless asked for.
    let plain = Instance::refused(
        "s3://images",
        &vars(&[
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{nobody}")),
            ("AWS_ACCESS_KEY_ID", garage::KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", garage::KEY_SECRET.into()),
        ]),
    )
    .await;
    assert_refused(&plain, "set AWS_ALLOW_HTTP=true");

    let not_a_store = Instance::refused("gs://images", &[]).await;
    assert_refused(&not_a_store, "neither file:DIR nor s3://BUCKET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_wrong_region_bucket_or_secret_at_start() {
    let Some(bin) = garage::binary() else { return };
    let garage = Garage::start(&bin, 1).await;
    let with = |key: &str, value: &str| {
        let mut env = garage.env(0);
        for (k, v) in &mut env {
            if k == key {
                *v = value.to_owned();
            }
        }
        env
    };
    let region = Instance::refused("s3://images", &with("AWS_REGION", "us-east-1")).await;
    assert_refused(&region, "region is wrong");
    let bucket = Instance::refused("s3://no-such-bucket", &garage.env(0)).await;
    assert_refused(&bucket, "bucket does not exist");
    let secret = Instance::refused(
        "s3://images",
        &with("AWS_SECRET_ACCESS_KEY", &"f".repeat(64)),
    )
    .await;
    assert_refused(&secret, "credentials were refused");
    // And the right settings start.
    let ok = Instance::start("s3://images", &garage.env(0), &[]).await;
    assert!(ok.log().contains("s3://images"), "{}", ok.log());
    assert!(
        ok.log()
            .contains("give every instance the same --public-url"),
        "{}",
        ok.log()
    );
}

/// A TCP relay to `upstream` that freezes for good, on every connection, as soon as a client
/// sends the first part of a multipart upload (`?partNumber=` in a request line); `frozen` fires
/// then. What came before (listing, small PUTs, creating the multipart upload) passes.
async fn freezing_relay(upstream: String) -> (String, Arc<tokio::sync::Notify>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let frozen = Arc::new(tokio::sync::Notify::new());
    let is_frozen = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (notify, flag) = (frozen.clone(), is_frozen.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(&upstream)
                .await
                .expect("upstream");
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move {
                tokio::io::copy(&mut server_read, &mut client_write)
                    .await
                    .ok();
            });
            let (notify, flag) = (notify.clone(), flag.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match client_read.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let part = buf[..n].windows(11).any(|w| w == b"partNumber=");
                    if part && !flag.swap(true, Ordering::SeqCst) {
                        notify.notify_one();
                    }
                    if flag.load(Ordering::SeqCst) {
                        // Hold the connection open and silent, like a store that hangs.
                        std::future::pending::<()>().await;
                    }
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, frozen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_multipart_leaves_no_half_picture_in_the_bucket() {
    let Some(bin) = garage::binary() else { return };
    let garage = Garage::start(&bin, 1).await;
    let upstream = format!("127.0.0.1:{}", garage.nodes[0].s3_port);
    let (relay, frozen) = freezing_relay(upstream).await;
    let mut env_a = garage.env(0);
    for (k, v) in &mut env_a {
        if k == "AWS_ENDPOINT" {
            v.clone_from(&relay);
        }
    }
    let mut a = Instance::start(&format!("s3://{BUCKET}"), &env_a, &[]).await;
    let b = Instance::start(&format!("s3://{BUCKET}"), &garage.env(0), &[]).await;

    // A takes a 30 MB image, writes its thumbnails, starts the original's multipart upload, and
    // dies while its parts are on the wire.
    let big = common::noise_png(3200, 3200, 23);
    let upload_a = {
        let (url, body) = (a.url.clone(), big.clone());
        tokio::spawn(async move { upload(&url, body).await })
    };
    tokio::time::timeout(Duration::from_secs(60), frozen.notified())
        .await
        .expect("A reached the multipart upload");
    a.kill();
    assert!(upload_a.await.expect("join").is_err(), "never acknowledged");

    // Nothing of it is served by B: not the original, not the thumbnails written before it.
    let id = groupme_uploader::content_id::of_bytes(&big);
    let name = format!("3200x3200.png.{id}");
    for suffix in SUFFIXES {
        let (status, _, _) = get_bytes(&format!("{}/{name}{suffix}", b.url)).await;
        assert_eq!(status, 404, "{name}{suffix}");
    }
    let keys = keys_of(&garage.bucket(0), &id).await;
    assert_eq!(keys.len(), 3, "the thumbnails only, no original: {keys:?}");

    // The unfinished upload is Garage's to clean, as the README says.
    let info = garage.cli(0, &["bucket", "info", BUCKET]);
    assert!(info.contains("1 multipart uploads"), "{info}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let cleaned = garage.cli(
        0,
        &[
            "bucket",
            "cleanup-incomplete-uploads",
            "--older-than",
            "1s",
            BUCKET,
        ],
    );
    assert!(cleaned.contains("1 uploads deleted"), "{cleaned}");

    // Sent again, through B, it is stored whole.
    let again = upload(&b.url, big.clone()).await.expect("upload via B");
    assert_eq!(again, name);
    let got = renditions(&b.url, &name).await;
    assert!(got[0] == big, "byte-identical");
}
