//! Every fuzz target's corpus (`tests/fuzz-corpus/TARGET`, minimized by `cargo fuzz cmin`, with
//! the inputs that once failed) replayed through the same property the target checks
//! (`groupme_uploader::fuzzing`): a fix stays fixed without running the fuzzer.

use groupme_uploader::fuzzing;

/// Runs `check` on every file of `target`'s corpus; how many there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = format!("{}/tests/fuzz-corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        seen += 1;
    }
    seen
}

#[test]
fn cdn_url_corpus() {
    assert!(replay("cdn_url", fuzzing::cdn_url) > 2000);
}

#[test]
fn probe_corpus() {
    assert!(replay("probe", fuzzing::probe) > 800);
}

#[test]
fn thumbnail_corpus() {
    assert!(replay("thumbnail", fuzzing::thumbnail) > 900);
}

#[test]
fn metadata_corpus() {
    assert!(replay("metadata", fuzzing::metadata) > 400);
}
