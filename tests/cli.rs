//! The real binary: `upload` against the local service, its stdout, stderr and exit codes.

mod common;

use std::process::{Command, Output};

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
