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
