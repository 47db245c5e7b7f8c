//! Desktop notifications. The app (under egui_kittest) notifies once per finished batch, only
//! while its window is not focused, with the README's text; and that text reaches a notification
//! server over a real D-Bus session bus of its own (`dbus-run-session`), where a stand-in server
//! in this test records every `Notify` call. Never the person's bus or desktop.

mod common;

use common::window::wait_until;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::token;
use eframe::egui;
use egui_kittest::Harness;
use futures_util::future::BoxFuture;
use groupme_uploader::app::UploaderApp;
use groupme_uploader::batch::Message;
use groupme_uploader::jobs::JobState;
use groupme_uploader::notify::{self, Notifier};
use groupme_uploader::settings::{Dirs, Settings};

/// Records what the app would have shown.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Message>>>);

impl Notifier for Recorded {
    fn notify(&self, message: Message) -> BoxFuture<'static, ()> {
        self.0.lock().expect("lock").push(message);
        Box::pin(async {})
    }
}

impl Recorded {
    fn all(&self) -> Vec<Message> {
        self.0.lock().expect("lock").clone()
    }
}

fn set_focused(h: &mut Harness<'_, UploaderApp>, focused: bool) {
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(focused);
}

fn done_count(app: &UploaderApp) -> usize {
    app.work
        .queue
        .jobs()
        .iter()
        .filter(|j| matches!(j.state, JobState::Done { .. }))
        .count()
}

#[test]
fn a_batch_finished_in_the_background_is_notified_once_with_what_was_copied() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime.block_on(common::start_service());
    let root = tempfile::tempdir().expect("dir");
    let files = tempfile::tempdir().expect("dir");
    let file = |name: &str, w: u32| -> PathBuf {
        let path = files.path().join(name);
        std::fs::write(&path, common::png(w, 20)).expect("write");
        path
    };
    let a = file("a.png", 30);
    let b = file("b.png", 31);
    let c = file("c.png", 32);
    Settings {
        auto_copy: true,
        ..Settings::default()
    }
    .save(&Dirs::under(root.path()).settings())
    .expect("settings");

    let recorded = Recorded::default();
    let mut config = common::isolated::app_config(
        root.path(),
        runtime.handle().clone(),
        &service.url(),
        token(),
        Arc::new(common::isolated::NoPicker),
    );
    config.environment.notifier = Some(Arc::new(recorded.clone()));
    config.initial = vec![a.display().to_string(), b.display().to_string()];
    let mut h = common::window::build(config, [1000.0, 900.0]);
    set_focused(&mut h, false);
    wait_until(&mut h, "both uploads", |app| done_count(app) == 2);
    h.run_steps(3);

    let urls: Vec<String> = h
        .state()
        .work
        .queue
        .jobs()
        .iter()
        .filter_map(|j| match &j.state {
            JobState::Done { url, .. } => Some(url.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        recorded.all(),
        vec![Message {
            summary: "Uploaded 2 pictures".into(),
            body: format!("Copied: {}\n{}", urls[0], urls[1]),
        }],
        "one notification for the batch, saying what auto-copy copied: all of it"
    );

    // With the window focused, the person sees it finish: no notification.
    set_focused(&mut h, true);
    (h.state().opener())(vec![c.display().to_string()]);
    wait_until(&mut h, "the third upload", |app| done_count(app) == 3);
    h.run_steps(3);
    assert_eq!(recorded.all().len(), 1, "nothing while focused");
    h.state_mut().shutdown();
}

/// Run by [`notifications_reach_a_real_notification_server_on_a_private_bus`] inside its own
/// session bus (`dbus-run-session`); refuses to run anywhere else, so it never claims the name
/// on a person's bus.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a private session bus: run by notifications_reach_a_real_notification_server_on_a_private_bus"]
async fn notify_calls_on_a_private_session_bus() {
    assert_eq!(
        std::env::var("GROUPME_UPLOADER_PRIVATE_BUS").as_deref(),
        Ok("1"),
        "only inside the private bus its parent test starts"
    );
    let message = Message {
        summary: "Uploaded 2 pictures, 1 failed".into(),
        body: "Copied: https://i.groupme.com/640x480.png.abc".into(),
    };

    // No notification server yet: an error at once, nothing shown, nothing waits.
    let started = Instant::now();
    assert!(notify::show(&message).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2), "no waiting");

    let calls = Arc::new(Mutex::new(Vec::new()));
    let _server = zbus::connection::Builder::session()
        .expect("session bus")
        .name("org.freedesktop.Notifications")
        .expect("name")
        .serve_at(
            "/org/freedesktop/Notifications",
            StandIn {
                calls: calls.clone(),
            },
        )
        .expect("serve")
        .build()
        .await
        .expect("the stand-in notification server");

    let id = notify::show(&message).await.expect("shown");
    assert_eq!(id, 1);
    // The app's own path: the desktop notifier, as the worker calls it.
    notify::DesktopNotifier.notify(message.clone()).await;

    let calls = calls.lock().expect("lock").clone();
    let expected = Call {
        app_name: "GroupMe Uploader".into(),
        app_icon: "groupme-uploader".into(),
        summary: message.summary.clone(),
        body: message.body.clone(),
    };
    assert_eq!(calls, vec![expected.clone(), expected]);
    println!("notifications recorded: {}", calls.len());
}

/// What the stand-in server keeps of a `Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    app_name: String,
    app_icon: String,
    summary: String,
    body: String,
}

/// A notification server (`org.freedesktop.Notifications`) that records and shows nothing.
struct StandIn {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl StandIn {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut calls = self.calls.lock().expect("lock");
        calls.push(Call {
            app_name,
            app_icon,
            summary,
            body,
        });
        u32::try_from(calls.len()).unwrap_or(u32::MAX)
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "stand-in".into(),
            "groupme-uploader tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// A session bus listening in `dir`, open to this user, with no services to activate.
fn bus_config(dir: &std::path::Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.display()
    )
}

/// Whether `tool` is a program on `PATH`.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// The notification text over real D-Bus: this test binary again, in a session bus of its own.
/// Environment variables are process-wide, so the bus address reaches only that child.
#[test]
fn notifications_reach_a_real_notification_server_on_a_private_bus() {
    if !on_path("dbus-run-session") {
        common::missing_tool("dbus-run-session (apt: dbus)");
        return;
    }
    let root = tempfile::tempdir().expect("dir");
    // A bus with no service directories: nothing installed on this machine (a notification
    // daemon with an activation file) can start and answer in the stand-in's place.
    let config = root.path().join("bus.conf");
    std::fs::write(&config, bus_config(root.path())).expect("bus config");
    let exe = std::env::current_exe().expect("test binary");
    let name = "notify_calls_on_a_private_session_bus";
    let out = common::isolated::command("dbus-run-session", root.path())
        .arg(format!("--config-file={}", config.display()))
        .arg("--")
        .arg(exe)
        .args([
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
            "--ignored",
        ])
        .env("GROUPME_UPLOADER_PRIVATE_BUS", "1")
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("notifications recorded: 2"), "{stdout}");
}
