//! `groupme-uploader serve`, the real binary: the options and variables the README lists for it
//! (`--max-body-mib`, `--ready-cache-mib`, `GM_SERVICE_TOKENS`, the generated token,
//! `--public-url`).

mod common;

use common::instance::{INSTANCE_TOKEN, Instance};
use common::{curl_post, try_post};

/// A `file:` store in a fresh directory (kept while the test runs).
fn store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("dir");
    let spec = format!("file:{}", dir.path().display());
    (dir, spec)
}

/// The status of a POST that may be cut short once the service has answered.
async fn status_of(base: &str, token: &str, body: Vec<u8>) -> u16 {
    match try_post(base, token, body).await {
        Ok((status, _)) => status,
        Err(e) => panic!("no answer: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_body_mib_refuses_bodies_over_it_with_413() {
    let (_dir, spec) = store();
    let serve = Instance::start(&spec, &[], &["--max-body-mib", "1"]).await;
    let mib = 1024 * 1024;
    // A real picture just under the limit is stored.
    let under = common::noise_png(560, 600, 3);
    assert!(
        under.len() < mib && under.len() > mib * 9 / 10,
        "{}",
        under.len()
    );
    let (status, answer) = curl_post(&serve.url, INSTANCE_TOKEN, under).await;
    assert_eq!(status, 200, "{answer}");
    // Over it, a picture or one byte past the limit: 413.
    let over = common::noise_png(600, 600, 4);
    assert!(over.len() > mib, "{}", over.len());
    assert_eq!(status_of(&serve.url, INSTANCE_TOKEN, over).await, 413);
    assert_eq!(
        status_of(&serve.url, INSTANCE_TOKEN, vec![0; mib + 1]).await,
        413
    );
    // The default (40 MiB) takes the same picture.
    let (_dir2, spec2) = store();
    let default = Instance::start(&spec2, &[], &[]).await;
    let (status, answer) =
        curl_post(&default.url, INSTANCE_TOKEN, common::noise_png(600, 600, 4)).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gm_service_tokens_are_each_accepted_and_others_refused() {
    let (_dir, spec) = store();
    let env = [(
        "GM_SERVICE_TOKENS".to_owned(),
        "first-token-aaaa1111,second-token-bbbb2222".to_owned(),
    )];
    let serve = Instance::start_without_token(&spec, &env, &[]).await;
    for (i, token) in ["first-token-aaaa1111", "second-token-bbbb2222"]
        .into_iter()
        .enumerate()
    {
        let (status, answer) = curl_post(&serve.url, token, common::png(20 + i as u32, 20)).await;
        assert_eq!(status, 200, "{token}: {answer}");
    }
    for token in [
        "third-token-cccc3333",
        "first-token-aaaa1111,second-token-bbbb2222",
        INSTANCE_TOKEN,
    ] {
        let (status, _) = curl_post(&serve.url, token, common::png(30, 20)).await;
        assert_eq!(status, 401, "{token}");
    }
    assert!(
        !serve.log().contains("No token configured"),
        "no token generated: {}",
        serve.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_token_the_printed_generated_one_works() {
    let (_dir, spec) = store();
    let serve = Instance::start_without_token(&spec, &[], &[]).await;
    let log = serve.log();
    let prefix = "No token configured; this run accepts X-Access-Token: ";
    let token = log
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no token printed: {log}"))
        .trim()
        .to_owned();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(log.matches(&token).count(), 1, "printed once");
    let (status, answer) = curl_post(&serve.url, &token, common::png(20, 20)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = curl_post(&serve.url, INSTANCE_TOKEN, common::png(20, 20)).await;
    assert_eq!(status, 401);
    // Another run generates another token.
    let (_dir2, spec2) = store();
    let other = Instance::start_without_token(&spec2, &[], &[]).await;
    assert!(!other.log().contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_url_starts_every_url_handed_out() {
    let (_dir, spec) = store();
    let public = "https://img.example.test";
    let serve = Instance::start(&spec, &[], &["--public-url", public]).await;
    let (status, answer) = curl_post(&serve.url, INSTANCE_TOKEN, common::png(24, 12)).await;
    assert_eq!(status, 200, "{answer}");
    let name = common::picture_name(&answer);
    assert!(name.starts_with("24x12.png."), "{name}");
    let expected = format!("{public}/{name}");
    assert_eq!(answer["payload"]["url"], expected.as_str());
    assert_eq!(answer["payload"]["picture_url"], expected.as_str());
    // The picture itself is served by the instance under that name.
    let (status, bytes, _) = common::get_bytes(&format!("{}/{name}", serve.url)).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, common::png(24, 12));
}

/// A thumbnail once served is answered from memory (its file gone from the store, it is still
/// served); `--ready-cache-mib 0` keeps nothing, so every GET reads the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_cache_mib_sizes_the_memory_of_ready_answers_and_0_turns_it_off() {
    for (extra, served_from_memory) in [(&[][..], true), (&["--ready-cache-mib", "0"][..], false)] {
        let (dir, spec) = store();
        let serve = Instance::start(&spec, &[], extra).await;
        let (status, answer) = curl_post(&serve.url, INSTANCE_TOKEN, common::jpeg(320, 240)).await;
        assert_eq!(status, 200, "{answer}");
        let name = common::picture_name(&answer);
        let url = format!("{}/{name}.preview", serve.url);
        let (status, first, _) = common::get_bytes(&url).await;
        assert_eq!(status, 200);
        let preview = common::files_under(dir.path())
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(&format!("{name}.preview")))
            .expect("the stored preview");
        std::fs::remove_file(&preview).expect("remove the preview file");
        let (status, again, _) = common::get_bytes(&url).await;
        if served_from_memory {
            assert_eq!(status, 200, "default: the ready answer is kept");
            assert!(again == first, "the same bytes");
        } else {
            assert_eq!(
                status, 404,
                "--ready-cache-mib 0: read from the store every time"
            );
        }
    }
}

/// Bytes a socket was sent in a strace line (`-yy` names sockets `<TCP:[…]>`) by `call`, from
/// the result after `= `; 0 for another call, another descriptor or a failed call.
fn socket_bytes(line: &str, call: &str) -> u64 {
    if !line.starts_with(&format!("{call}(")) || !line.contains("<TCP:") {
        return 0;
    }
    line.rsplit_once(") = ")
        .and_then(|(_, result)| result.trim().parse().ok())
        .unwrap_or(0)
}

/// What a GET sends from a stored file is sent by the kernel from that file (`sendfile`), as
/// nginx does, for originals over 1 MiB (streamed) and for held thumbnails of 16 KiB and more
/// (the first GET and the held answers after it); smaller ones are copied. An original over
/// 1 MiB, once sent, is held open (nginx's `open_file_cache`): its file is opened once for three
/// GETs. Checked on the real binary under `strace -ff -yy`: the bytes each socket got, by system
/// call and file, and the opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_files_are_sent_with_sendfile_and_small_ones_copied() {
    if !common::tool_runs("strace", "-V") {
        return;
    }
    let (_data, spec) = store();
    let traces = tempfile::tempdir().expect("dir");
    let prefix = traces.path().join("t").display().to_string();
    let wrapper = [
        "strace",
        "-ff",
        "-qq",
        "-yy",
        "-e",
        "trace=sendfile,sendmsg,write,writev,openat",
        "-o",
        prefix.as_str(),
    ];
    let serve = Instance::start_under(&wrapper, &spec, &[], &[]).await;
    // An original over 1 MiB (noise does not compress), and a picture whose `.large` is between
    // 16 KiB and 1 MiB and whose `.avatar` is under 16 KiB.
    let big = common::noise_png(700, 700, 5);
    let small = common::noise_png(300, 300, 6);
    assert!(big.len() > 1024 * 1024 && small.len() < 1024 * 1024);
    let mut names = Vec::new();
    for image in [&big, &small] {
        let (status, answer) = curl_post(&serve.url, INSTANCE_TOKEN, image.clone()).await;
        assert_eq!(status, 200, "{answer}");
        names.push(common::picture_name(&answer));
    }
    let get = |path: String| async move {
        let (status, body, _) = common::get_bytes(&path).await;
        assert_eq!(status, 200, "{path}");
        body
    };
    for _ in 0..3 {
        assert!(get(format!("{}/{}", serve.url, names[0])).await == big);
    }
    let large = get(format!("{}/{}.large", serve.url, names[1])).await;
    assert!(get(format!("{}/{}.large", serve.url, names[1])).await == large);
    let avatar = get(format!("{}/{}.avatar", serve.url, names[1])).await;
    assert!((16 * 1024..1024 * 1024).contains(&large.len()));
    assert!(avatar.len() < 16 * 1024);

    let lines = || -> Vec<String> {
        common::files_under(traces.path())
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    let sent_from = |lines: &[String], file: &str| -> u64 {
        lines
            .iter()
            .filter(|l| l.contains(&format!("/{file}>")))
            .map(|l| socket_bytes(l, "sendfile"))
            .sum()
    };
    let copied = |lines: &[String]| -> u64 {
        lines
            .iter()
            .map(|l| {
                ["write", "writev", "sendmsg"]
                    .iter()
                    .map(|call| socket_bytes(l, call))
                    .sum::<u64>()
            })
            .sum()
    };
    let want_original = 3 * big.len() as u64;
    let want_large = 2 * large.len() as u64;
    let large_name = format!("{}.large", names[1]);
    // strace writes a line once its call has returned, which may be just after the client read.
    common::until(
        "strace has every send of the GETs",
        std::time::Duration::from_secs(10),
        || {
            let lines = lines();
            sent_from(&lines, &names[0]) >= want_original
                && sent_from(&lines, &large_name) >= want_large
                && copied(&lines) >= avatar.len() as u64
        },
    )
    .await;
    let lines = lines();
    assert_eq!(sent_from(&lines, &names[0]), want_original, "the original");
    // Opened by its exact path (not a staged name beside it), successfully.
    let opens: Vec<&String> = lines
        .iter()
        .filter(|l| {
            l.starts_with("openat(")
                && l.contains(&format!("/{}\"", names[0]))
                && !l.contains(") = -1")
        })
        .collect();
    assert_eq!(
        opens.len(),
        1,
        "the original opened for three GETs: {opens:#?}"
    );
    assert_eq!(sent_from(&lines, &large_name), want_large, "the .large");
    // Copied through the process: the avatar, and the heads and JSON answers (well under 1 KiB
    // each, 8 of them).
    let copied = copied(&lines);
    assert!(
        copied < avatar.len() as u64 + 8 * 1024,
        "{copied} bytes were copied to sockets: {:#?}",
        lines
            .iter()
            .filter(|l| !l.starts_with("sendfile"))
            .collect::<Vec<_>>()
    );
}

/// `serve` raises its soft limit on open descriptors to the hard limit (connections and held
/// files each take one): started with 256 of 4,096, it runs with 4,096.
#[tokio::test]
async fn serve_raises_its_open_file_limit_to_the_hard_limit() {
    if !common::tool_runs("prlimit", "--version") {
        return;
    }
    let (_data, spec) = store();
    // prlimit sets the limits, then becomes `serve` (exec: same process).
    let serve =
        Instance::start_under(&["prlimit", "--nofile=256:4096", "--"], &spec, &[], &[]).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", serve.pid())).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
}
