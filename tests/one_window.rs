//! One window per data directory, over a real Unix socket: a later launch's files reach the open
//! app (under egui_kittest) and are uploaded by it; a crashed run's socket is replaced; the
//! socket is private.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::token;
use groupme_uploader::instance::{self, Claim, Reply};
use groupme_uploader::jobs::JobState;

/// The socket an isolated launch with data under `root` uses.
fn socket(root: &Path) -> std::path::PathBuf {
    instance::socket_path(&root.join("data"), Some(&root.join("run")))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_second_launch_hands_its_file_to_the_open_window_which_uploads_it() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime.block_on(common::start_service());
    let root = tempfile::tempdir().expect("dir");
    let files = tempfile::tempdir().expect("dir");
    let picture = files.path().join("from elsewhere.png");
    std::fs::write(&picture, common::png(40, 30)).expect("write");

    let path = socket(root.path());
    let Ok(Claim::First(listener)) = instance::claim(&path, &[]) else {
        panic!("the first launch opens the window");
    };
    assert_eq!(mode(&path), 0o600, "the socket is the user's only");
    assert_eq!(mode(path.parent().expect("dir")), 0o700);

    let config = common::isolated::app_config(
        root.path(),
        runtime.handle().clone(),
        &service.url(),
        token(),
        Arc::new(common::isolated::NoPicker),
    );
    let mut h = common::window::build(config, [1000.0, 900.0]);
    runtime.spawn(listener.serve(h.state().opener()));

    // The later launch, as `gui` runs it: paths resolved against its own directory.
    let items = instance::resolve(&["from elsewhere.png".to_owned()], files.path());
    let Ok(Claim::HandedOver(reply)) = instance::claim(&path, &items) else {
        panic!("a later launch hands over");
    };
    assert_eq!(reply, Reply { queued: 1 });

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = h.state().work.queue.jobs();
        if let [job] = jobs
            && matches!(job.state, JobState::Done { .. })
        {
            assert_eq!(job.source.display_name(), "from elsewhere.png");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the handed file was not uploaded"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        h.state().work.history.len(),
        1,
        "the open window recorded it"
    );
    drop(h);
    drop(runtime);
    assert!(!path.exists(), "the socket goes with the window");
}

#[test]
fn a_crashed_runs_socket_is_replaced() {
    let root = tempfile::tempdir().expect("dir");
    let path = socket(root.path());
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
    // A socket file nobody listens on: what a killed window leaves.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let started = Instant::now();
    let Ok(Claim::First(_listener)) = instance::claim(&path, &["/x.png".to_owned()]) else {
        panic!("the stale socket is replaced");
    };
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no waiting on a dead socket"
    );
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn each_data_directory_has_its_own_window() {
    let root = tempfile::tempdir().expect("dir");
    let run = root.path().join("run");
    let a = instance::socket_path(&root.path().join("a"), Some(&run));
    let b = instance::socket_path(&root.path().join("b"), Some(&run));
    let (Ok(Claim::First(_a)), Ok(Claim::First(_b))) =
        (instance::claim(&a, &[]), instance::claim(&b, &[]))
    else {
        panic!("two data directories, two windows");
    };
}
