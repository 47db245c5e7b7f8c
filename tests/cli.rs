//! The real binary: `upload` against the local service, its stdout, stderr and exit codes.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::{TOKEN, start_service};

/// The binary in an isolated environment (no GM_*, no proxy, HOME under `root`).
fn bin(root: &std::path::Path) -> Command {
    common::isolated::command(env!("CARGO_BIN_EXE_groupme-uploader"), root)
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run binary"))
        .await
        .expect("join")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn uploads_files_and_prints_json_lines() {
    let svc = start_service().await;
    let dir = tempfile::tempdir().expect("dir");
    let a = dir.path().join("a photo.jpg");
    let b = dir.path().join("b.gif");
    std::fs::write(&a, common::jpeg(300, 200)).expect("write");
    std::fs::write(&b, common::gif(40, 40, 3)).expect("write");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", TOKEN)
        .args(["upload", "--json", "--endpoint", &svc.url()])
        .arg(&a)
        .arg(&b);
    let out = run(cmd).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["source"], a.to_string_lossy().as_ref());
    assert_eq!(lines[0]["width"], 300);
    assert_eq!(lines[0]["height"], 200);
    assert_eq!(lines[0]["format"], "jpeg");
    assert_eq!(lines[1]["format"], "gif");
    let url = lines[0]["url"].as_str().expect("url");
    assert_eq!(lines[0]["preview"], format!("{url}.preview"));
    assert_eq!(lines[0]["large"], format!("{url}.large"));
    assert_eq!(lines[0]["avatar"], format!("{url}.avatar"));
    assert!(!text(&out.stderr).contains(TOKEN));
}

#[tokio::test]
async fn markdown_lines_and_a_failure_exit_1() {
    let svc = start_service().await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.png");
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&good, common::png(20, 10)).expect("write");
    std::fs::write(&bad, "not an image at all").expect("write");
    let mut cmd = bin(dir.path());
    cmd.args([
        "upload",
        "--format",
        "markdown",
        "--token",
        TOKEN,
        "--endpoint",
        &svc.url(),
    ])
    .arg(&good)
    .arg(&bad);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("![](http://127.0.0.1:"), "{stdout}");
    assert!(stdout.trim_end().ends_with(')'));
    assert_eq!(stdout.lines().count(), 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.jpg: not an image (expected JPEG, PNG, GIF or WebP)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn wrong_token_is_explained() {
    let svc = start_service().await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.png");
    std::fs::write(&good, common::png(20, 10)).expect("write");
    let mut cmd = bin(dir.path());
    cmd.env("GM_TOKEN", "not-the-token")
        .args(["upload", "--endpoint", &svc.url()])
        .arg(&good);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the access token was refused (401)"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-token"));
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run({
        let mut c = bin(dir.path());
        c.args(["upload", "x.png"]);
        c
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no access token. Set GM_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    let out = run({
        let mut c = bin(dir.path());
        c.args(["upload", "--format", "tiff", "--token", "t", "x.png"]);
        c
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    let out = run({
        let mut c = bin(dir.path());
        c.args(["upload", "--token", "t", "--endpoint", "ftp://x", "x.png"]);
        c
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("endpoint `ftp://x` is not an http(s) URL"));
}

/// Runs `upload --token TOKEN --endpoint ENDPOINT` plus `args`; its output.
async fn upload(endpoint: &str, args: &[&str]) -> Output {
    let root = tempfile::tempdir().expect("dir");
    let mut cmd = bin(root.path());
    cmd.args(["upload", "--token", TOKEN, "--endpoint", endpoint])
        .args(args);
    let out = run(cmd).await;
    drop(root);
    out
}

/// The `--json` lines of a run that must have succeeded.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[tokio::test]
async fn every_format_prints_exactly_its_line_and_json_has_picture_url() {
    let svc = start_service().await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("one.png");
    std::fs::write(&file, common::png(33, 22)).expect("write");
    let file = file.to_str().expect("utf-8 path");
    let lines = json_lines(&upload(&svc.url(), &["--json", file]).await);
    assert_eq!(lines.len(), 1);
    let url = lines[0]["url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/33x22.png.", svc.url())),
        "{url}"
    );
    // The service answers with the same URL as `picture_url`.
    assert_eq!(lines[0]["picture_url"], url.as_str());
    // The same bytes again: the service gives the same URL, in each format.
    for (format, expected) in [
        ("plain", url.clone()),
        ("markdown", format!("![]({url})")),
        ("html", format!("<img src=\"{url}\">")),
        ("bbcode", format!("[img]{url}[/img]")),
    ] {
        let out = upload(&svc.url(), &["--format", format, file]).await;
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("{expected}\n"),
            "--format {format}"
        );
    }
    // Without --format: the plain URL.
    let out = upload(&svc.url(), &[file]).await;
    assert_eq!(text(&out.stdout), format!("{url}\n"));
}

#[tokio::test]
async fn url_arguments_are_mirrored_by_the_service() {
    let svc = start_service().await;
    let png = common::png(44, 12);
    let served = png.clone();
    let app = axum::Router::new().route(
        "/remote.png",
        axum::routing::get(move || async move { served.clone() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}/remote.png", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    let lines = json_lines(&upload(&svc.url(), &["--json", &origin]).await);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["source"], origin.as_str());
    assert_eq!(lines[0]["width"], 44);
    assert_eq!(lines[0]["height"], 12);
    assert_eq!(lines[0]["format"], "png");
    let url = lines[0]["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("{}/", svc.url())), "{url}");
    let (status, stored, _) = common::get_bytes(url).await;
    assert_eq!(status, 200);
    assert_eq!(
        stored, png,
        "the service fetched and stored the remote image"
    );
}

#[tokio::test]
async fn concurrency_bounds_the_uploads_in_flight() {
    let svc = start_service().await;
    let gate = common::gate::Gate::start(&svc.url()).await;
    let dir = tempfile::tempdir().expect("dir");
    let files: Vec<String> = (0..6)
        .map(|i| {
            let path = dir.path().join(format!("{i}.png"));
            std::fs::write(&path, common::png(10 + i, 10)).expect("write");
            path.to_string_lossy().into_owned()
        })
        .collect();
    let mut args = vec!["--concurrency", "2"];
    args.extend(files.iter().map(String::as_str));
    let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    let endpoint = gate.url.clone();
    let cli = tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        upload(&endpoint, &args).await
    });
    common::until("two uploads held", Duration::from_secs(60), || {
        gate.in_flight() == 2
    })
    .await;
    // One at a time: each answer lets exactly one more in.
    for seen in 3..=6 {
        gate.release_one();
        common::until("the next upload", Duration::from_secs(60), || {
            gate.seen() == seen
        })
        .await;
        assert_eq!(gate.peak(), 2, "more than two in flight");
    }
    gate.open();
    let out = cli.await.expect("join");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 6);
    assert_eq!(gate.peak(), 2);
}

/// An upload answer whose URL the client accepts.
fn answer(base: &str) -> String {
    let url = format!("{base}/10x10.png.0123456789abcdef0123456789abcdef");
    format!(r#"{{"payload":{{"url":"{url}","picture_url":"{url}"}}}}"#)
}

#[tokio::test]
async fn attempts_is_the_number_of_tries() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("retry.png");
    std::fs::write(&file, common::png(10, 10)).expect("write");
    let file = file.to_str().expect("utf-8 path");
    // Two refusals that ask to come back at once, then an answer.
    let script = |base: &str| {
        let busy = common::Reply::Answer(503, vec![("Retry-After", "0".into())], "{}".into());
        vec![busy.clone(), busy, common::Reply::json(200, &answer(base))]
    };
    let server = common::Scripted::start(script("http://127.0.0.1:9")).await;
    let out = upload(&server.url(), &["--attempts", "3", file]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "http://127.0.0.1:9/10x10.png.0123456789abcdef0123456789abcdef\n"
    );
    assert_eq!(server.requests().len(), 3);
    let server = common::Scripted::start(script("http://127.0.0.1:9")).await;
    let out = upload(&server.url(), &["--attempts", "2", file]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(server.requests().len(), 2, "two tries, no third");
}

/// The clipboard keeper the window starts on exit, started here as the window starts it: with no
/// display it says why at once and exits (it never waits for a clipboard that is not there).
#[test]
fn the_clipboard_keeper_without_a_display_says_why_and_exits_at_once() {
    use groupme_uploader::clipboard_keeper::{Answer, hand_over};
    let dir = tempfile::tempdir().expect("dir");
    let started = std::time::Instant::now();
    let answer = hand_over(bin(dir.path()), "https://i.groupme.com/1x1.png.a").expect("spawn");
    let Answer::Failed(why) = answer else {
        panic!("with no display: {answer:?}");
    };
    assert!(why.starts_with("no clipboard: "), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn before_upload_flags_downscale_a_photo_and_leave_a_gif_as_it_is() {
    let svc = start_service().await;
    let dir = tempfile::tempdir().expect("dir");
    let photo = dir.path().join("photo.jpg");
    let original = common::jpeg(1200, 900);
    std::fs::write(&photo, &original).expect("write");
    let anim = dir.path().join("anim.gif");
    let gif = common::gif(800, 600, 2);
    std::fs::write(&anim, &gif).expect("write");
    let (photo, anim) = (
        photo.to_str().expect("utf-8"),
        anim.to_str().expect("utf-8"),
    );
    let out = upload(
        &svc.url(),
        &[
            "--json",
            "--max-side",
            "600",
            "--jpeg-quality",
            "80",
            photo,
            anim,
        ],
    )
    .await;
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (&lines[0]["width"], &lines[0]["height"]),
        (&600.into(), &450.into())
    );
    assert_eq!(lines[0]["original_bytes"], original.len());
    let sent = lines[0]["sent_bytes"].as_u64().expect("sent_bytes");
    assert!(sent < original.len() as u64, "{sent}");
    let (status, stored, _) = common::get_bytes(lines[0]["url"].as_str().expect("url")).await;
    assert_eq!(status, 200);
    assert_eq!(stored.len() as u64, sent, "what was sent is what is stored");
    assert_eq!(
        common::decoded_size(&stored),
        (600, 450),
        "the stored original"
    );
    assert_eq!(
        (&lines[1]["width"], &lines[1]["height"]),
        (&800.into(), &600.into())
    );
    assert_eq!(lines[1]["sent_bytes"], gif.len());
    assert_eq!(lines[1]["original_bytes"], gif.len());
    let (_, stored, _) = common::get_bytes(lines[1]["url"].as_str().expect("url")).await;
    assert_eq!(stored, gif, "the GIF is stored untouched");
    assert_eq!(common::gif_frames(&stored), 2);
    // Without the flags the photo goes as it is, and says so.
    let lines = json_lines(&upload(&svc.url(), &["--json", photo]).await);
    assert_eq!(lines[0]["width"], 1200);
    assert_eq!(lines[0]["sent_bytes"], original.len());
    assert_eq!(lines[0]["original_bytes"], original.len());
}

#[tokio::test]
async fn bad_before_upload_values_are_usage_errors_that_say_why() {
    for (args, says) in [
        (
            vec!["upload", "--max-side", "0"],
            "invalid value '0' for '--max-side <N>': the long side must be a whole number of pixels from 256 to 16384",
        ),
        (
            vec!["upload", "--reencode-above-mb", "-2"],
            "invalid value '-2' for '--reencode-above-mb <M>': the size must be a number of megabytes above 0",
        ),
        (
            vec!["send", "--group", "1", "--jpeg-quality", "101"],
            "invalid value '101' for '--jpeg-quality <Q>': the JPEG quality must be a whole number from 1 to 100",
        ),
        (
            vec!["upload", "--jpeg-quality", "70"],
            "error: --jpeg-quality applies only with --max-side or --reencode-above-mb",
        ),
    ] {
        let dir = tempfile::tempdir().expect("dir");
        let mut cmd = bin(dir.path());
        cmd.env("GM_TOKEN", TOKEN).args(&args).arg("x.jpg");
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(text(&out.stdout), "");
    }
}
