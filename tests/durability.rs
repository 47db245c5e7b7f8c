//! The local-directory store under crashes: `serve` killed with SIGKILL mid-write and right after
//! acknowledging, then started again on the same directory.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::instance::{INSTANCE_TOKEN, Instance};
use common::{get_bytes, try_post};
use groupme_uploader::content_id;

/// Where the local store keeps the original named `name` (id `id`).
fn original_path(root: &Path, name: &str, id: &str) -> PathBuf {
    root.join("pictures").join(&id[..2]).join(name)
}

/// Staged files (`name#N`) anywhere under `root`.
fn staged_files(root: &Path) -> Vec<PathBuf> {
    common::files_under(root)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains('#'))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_write_leaves_no_half_picture_and_the_sweeper_removes_the_leftovers() {
    let dir = tempfile::tempdir().expect("dir");
    let store = format!("file:{}", dir.path().display());
    let big = common::noise_png(3200, 3200, 11);
    let id = content_id::of_bytes(&big);
    let name = format!("3200x3200.png.{id}");
    let original = original_path(dir.path(), &name, &id);
    let staged = PathBuf::from(format!("{}#1", original.display()));

    let mut serve = Instance::start(&store, &[], &[]).await;
    let upload = {
        let (url, body) = (serve.url.clone(), big.clone());
        tokio::spawn(async move { try_post(&url, INSTANCE_TOKEN, body).await })
    };
    // Kill the moment the original's staged file appears: the write is under way.
    let seen = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !staged.exists() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    })
    .await
    .expect("join");
    serve.kill();
    assert!(seen, "the original's write never started: {}", serve.log());
    let answer = upload.await.expect("join");
    assert!(
        !matches!(answer, Ok((200, _))),
        "a killed upload is never acknowledged: {answer:?}"
    );
    let leftovers = staged_files(dir.path());
    assert!(
        !leftovers.is_empty(),
        "the kill left the staged write behind"
    );
    if original.exists() {
        // The rename won the race with the kill: then the picture is whole.
        assert!(std::fs::read(&original).expect("read") == big);
    }

    // The leftovers are an hour old when serve starts again (fresh ones might be another
    // instance's write in progress, so the sweeper leaves those).
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for path in &leftovers {
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(hour_ago))
            .expect("age");
    }
    let serve = Instance::start(&store, &[], &[]).await;
    let started = Instant::now();
    while !staged_files(dir.path()).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not swept: {:?}",
            staged_files(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(serve.log().contains("unfinished write"), "{}", serve.log());

    // No half picture is served: either nothing, or the whole thing. The original was being
    // written while the thumbnails were made; whichever of them landed before the kill, without
    // their original they are not served either.
    let (status, body, _) = get_bytes(&format!("{}/{name}", serve.url)).await;
    assert!(
        status == 404 || (status == 200 && body == big),
        "status {status}, {} bytes",
        body.len()
    );
    if status == 404 {
        for suffix in [".preview", ".large", ".avatar"] {
            let (status, _, _) = get_bytes(&format!("{}/{name}{suffix}", serve.url)).await;
            assert_eq!(status, 404, "{suffix} of an unfinished picture");
        }
    }
    // Sending it again stores it whole, thumbnails included.
    let (status, json) = try_post(&serve.url, INSTANCE_TOKEN, big.clone())
        .await
        .expect("upload");
    assert_eq!(status, 200, "{json}");
    let (status, body, _) = get_bytes(&format!("{}/{name}", serve.url)).await;
    assert_eq!(status, 200);
    assert!(body == big, "byte-identical after the retry");
    for suffix in [".preview", ".large", ".avatar"] {
        let (status, _, _) = get_bytes(&format!("{}/{name}{suffix}", serve.url)).await;
        assert_eq!(status, 200, "{suffix}");
    }
}

/// A crash between the thumbnails and the original (thumbnails in place, no original) is an
/// unfinished picture: a fresh `serve` on that directory serves none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumbnails_whose_original_never_landed_are_not_served() {
    let dir = tempfile::tempdir().expect("dir");
    let store = format!("file:{}", dir.path().display());
    let mut serve = Instance::start(&store, &[], &[]).await;
    let (status, json) = try_post(&serve.url, INSTANCE_TOKEN, common::jpeg(320, 240))
        .await
        .expect("upload");
    assert_eq!(status, 200, "{json}");
    serve.kill();
    let name = common::picture_name(&json);
    let id = &name[name.len() - content_id::LEN..];
    std::fs::remove_file(original_path(dir.path(), &name, id)).expect("remove the original");
    for suffix in [".preview", ".large", ".avatar"] {
        assert!(original_path(dir.path(), &format!("{name}{suffix}"), id).exists());
    }
    let serve = Instance::start(&store, &[], &[]).await;
    for suffix in ["", ".preview", ".large", ".avatar"] {
        let (status, _, _) = get_bytes(&format!("{}/{name}{suffix}", serve.url)).await;
        assert_eq!(status, 404, "{name}{suffix} of an unfinished picture");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_keeps_every_acknowledged_picture() {
    let dir = tempfile::tempdir().expect("dir");
    let store = format!("file:{}", dir.path().display());
    let mut serve = Instance::start(&store, &[], &[]).await;
    let bodies: Vec<Vec<u8>> = (0..24u32)
        .map(|i| match i % 3 {
            0 => common::jpeg(900 + i * 7, 700),
            1 => common::png(600, 400 + i),
            _ => common::gif(120 + i, 90, 3),
        })
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for body in bodies {
        let (tx, base) = (tx.clone(), serve.url.clone());
        tokio::spawn(async move {
            if let Ok((200, json)) = try_post(&base, INSTANCE_TOKEN, body.clone()).await {
                tx.send((common::picture_name(&json), body)).ok();
            }
        });
    }
    drop(tx);
    // SIGKILL after the 4th acknowledgement, with the others in flight: nothing gets flushed
    // on the way out.
    let mut acknowledged = Vec::new();
    while let Some(ack) = rx.recv().await {
        acknowledged.push(ack);
        if acknowledged.len() == 4 {
            serve.kill();
        }
    }
    assert!(
        acknowledged.len() >= 4,
        "some were acknowledged before the kill"
    );
    let serve = Instance::start(&store, &[], &[]).await;
    for (name, body) in &acknowledged {
        let (status, served, _) = get_bytes(&format!("{}/{name}", serve.url)).await;
        assert_eq!(status, 200, "{name}");
        assert!(&served == body, "{name} byte-identical");
        for suffix in [".preview", ".large", ".avatar"] {
            let (status, _, _) = get_bytes(&format!("{}/{name}{suffix}", serve.url)).await;
            assert_eq!(status, 200, "{name}{suffix}");
        }
    }
}

/// The trace of one upload to `serve` run under strace: its fsync and rename calls, in the order
/// they started (a call another thread interrupted is its `<unfinished ...>` line), each line
/// starting with the id of the thread that made it.
async fn traced_upload(extra: &[&str]) -> Option<(Vec<String>, String)> {
    if !common::tool_runs("strace", "-V") {
        return None;
    }
    let dir = tempfile::tempdir().expect("dir");
    let trace = dir.path().join("trace");
    let data = dir.path().join("data");
    let store = format!("file:{}", data.display());
    let trace_arg = trace.display().to_string();
    let wrapper = [
        "strace",
        "-f",
        "-qq",
        "-y",
        "-e",
        "trace=fsync,fdatasync,rename,renameat,renameat2",
        "-o",
        trace_arg.as_str(),
    ];
    let serve = Instance::start_under(&wrapper, &store, &[], extra).await;
    let (status, json) = try_post(&serve.url, INSTANCE_TOKEN, common::jpeg(640, 480))
        .await
        .expect("upload");
    assert_eq!(status, 200, "{json}");
    let name = common::picture_name(&json);
    // Read right after the answer: what the trace holds happened before it.
    let calls = std::fs::read_to_string(&trace)
        .expect("trace")
        .lines()
        .filter(|l| !l.contains("resumed>"))
        .map(str::to_owned)
        .collect();
    Some((calls, name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_file_and_its_directory_are_synced_before_the_upload_is_acknowledged() {
    let Some((calls, name)) = traced_upload(&[]).await else {
        return;
    };
    let is_sync = |l: &String| l.contains("fsync(") || l.contains("fdatasync(");
    let thread = |l: &String| l.split_whitespace().next().unwrap_or("").to_owned();
    // The original and its three thumbnails: each file's staged contents synced (by whichever
    // thread wrote it: the original is written while the thumbnails are made) before it is
    // renamed into place, and the directory synced after the rename by the thread that renamed:
    // for a thumbnail before the original is renamed (one sync may cover all three), for the
    // original before the answer. strace -y names each descriptor's file:
    // `fsync(7</…/NAME.preview#1>)`.
    let original_at = calls
        .iter()
        .position(|l| l.contains("rename") && l.contains(&format!("{name}\"")))
        .unwrap_or_else(|| panic!("no rename to {name}: {calls:#?}"));
    let mut renamed_at = Vec::new();
    for suffix in ["", ".preview", ".large", ".avatar"] {
        let target = format!("{name}{suffix}\"");
        let at = calls
            .iter()
            .position(|l| l.contains("rename") && l.contains(&target))
            .unwrap_or_else(|| panic!("no rename to {name}{suffix}: {calls:#?}"));
        let staged = format!("/{name}{suffix}#");
        assert!(
            calls[..at]
                .iter()
                .any(|l| is_sync(l) && l.contains(&staged)),
            "{name}{suffix}: its contents are synced before the rename: {calls:#?}"
        );
        let tid = thread(&calls[at]);
        let directory = format!("/pictures/{}>", &name[name.len() - 32..][..2]);
        let until = if suffix.is_empty() {
            calls.len()
        } else {
            original_at
        };
        assert!(
            calls[at + 1..until.max(at + 1)]
                .iter()
                .filter(|l| thread(l) == tid)
                .any(|l| is_sync(l) && l.contains(&directory)),
            "{name}{suffix}: its directory is synced after the rename (before the original's): {calls:#?}"
        );
        renamed_at.push(at);
    }
    // The original last: it marks the picture complete.
    assert!(
        renamed_at[1..].iter().all(|&thumb| thumb < renamed_at[0]),
        "the original is renamed into place after its thumbnails: {calls:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fsync_acknowledges_without_syncing() {
    let Some((calls, name)) = traced_upload(&["--no-fsync"]).await else {
        return;
    };
    assert!(calls.iter().any(|l| l.contains(&name)), "{calls:#?}");
    assert!(
        !calls.iter().any(|l| l.contains("fsync(")),
        "--no-fsync: {calls:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_upload_in_flight_then_exits() {
    let dir = tempfile::tempdir().expect("dir");
    let store = format!("file:{}", dir.path().display());
    let mut serve = Instance::start(&store, &[], &[]).await;
    let image = common::jpeg(800, 600);

    // A body that arrives in two halves: the upload is in flight when SIGTERM comes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let upload = {
        let (url, len) = (serve.url.clone(), image.len());
        tokio::spawn(async move {
            let resp = common::http()
                .post(format!("{url}/pictures"))
                .header("X-Access-Token", INSTANCE_TOKEN)
                .header("Content-Type", "image/jpeg")
                .header("Content-Length", len)
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
                .expect("send");
            let status = resp.status().as_u16();
            (
                status,
                resp.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        })
    };
    let half = image.len() / 2;
    tx.send(Ok(image[..half].to_vec()))
        .await
        .expect("first half");
    tokio::time::sleep(Duration::from_millis(300)).await;
    serve.terminate();
    // Stopping: no new connection is taken…
    let started = Instant::now();
    loop {
        let probe = common::http()
            .get(format!("{}/health", serve.url))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if probe.is_err() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still accepting after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // …but the upload under way is finished and acknowledged.
    tx.send(Ok(image[half..].to_vec()))
        .await
        .expect("second half");
    drop(tx);
    let (status, json) = upload.await.expect("join");
    assert_eq!(status, 200, "{json}");
    assert_eq!(serve.exit_code().await, Some(0), "{}", serve.log());
    assert!(serve.log().contains("finishing the requests in flight"));

    let name = common::picture_name(&json);
    let serve = Instance::start(&store, &[], &[]).await;
    let (status, body, _) = get_bytes(&format!("{}/{name}", serve.url)).await;
    assert_eq!(status, 200);
    assert!(body == image, "stored whole");
}
