//! The token never shows: a whole `serve` session at the most verbose log level, and CLI runs
//! that succeed and fail, are captured and searched for it.

mod common;

use common::free_port;

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SECRET: &str = "s3cr3t-T0KEN-do-not-print-8f2a";

#[test]
fn no_output_of_a_full_session_contains_the_token() {
    let port = free_port();
    let data = tempfile::tempdir().expect("dir");
    let home = tempfile::tempdir().expect("dir");
    let mut serve = common::isolated::command(env!("CARGO_BIN_EXE_groupme-uploader"), home.path())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--token",
            SECRET,
        ])
        .arg("--data")
        .arg(data.path())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.png");
    std::fs::write(&good, common::png(40, 30)).expect("write");
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, "text").expect("write");
    let mut outputs = Vec::new();
    for (token, args) in [
        (SECRET, vec!["upload", "--json"]),
        ("wrong-token", vec!["upload"]),
        (
            SECRET,
            vec!["upload", "--attempts", "1", "http://127.0.0.1:9/x.png"],
        ),
    ] {
        let out = common::isolated::command(env!("CARGO_BIN_EXE_groupme-uploader"), home.path())
            .args(&args)
            .args(["--endpoint", &base])
            .arg(&good)
            .arg(&bad)
            .env("GM_TOKEN", token)
            .output()
            .expect("upload");
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    assert!(
        outputs[0].contains("\"url\""),
        "the upload worked: {}",
        outputs[0]
    );
    assert!(
        outputs[3].contains("access token was refused"),
        "{}",
        outputs[3]
    );
    serve.kill().ok();
    let mut log = String::new();
    serve
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .ok();
    serve
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut log)
        .ok();
    serve.wait().ok();
    assert!(
        log.contains("request"),
        "the service logged requests: {log}"
    );
    for (i, text) in outputs.iter().chain(std::iter::once(&log)).enumerate() {
        assert!(
            !text.contains(SECRET),
            "output {i} leaks the token:\n{text}"
        );
    }
    // Nor is it in anything the service stored.
    fn walk(dir: &std::path::Path) {
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "{p:?}"
                );
            }
        }
    }
    walk(data.path());
}
