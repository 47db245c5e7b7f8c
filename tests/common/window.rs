//! The whole app under egui_kittest: built from an isolated config, stepped until a condition
//! holds (with a deadline), shared by every test file that drives the window.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use groupme_uploader::app::{AppConfig, UploaderApp};

/// The app at `size` for `config`, its first frame drawn (nothing loaded yet).
pub fn build(config: AppConfig, size: [f32; 2]) -> Harness<'static, UploaderApp> {
    Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| UploaderApp::new(&cc.egui_ctx, config))
}

/// Records what the app copied (egui's copy commands), in order.
#[derive(Clone, Default)]
pub struct Copied(Arc<Mutex<Vec<String>>>);

impl Copied {
    /// Every text copied so far.
    pub fn texts(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

impl egui::Plugin for Copied {
    fn debug_name(&self) -> &'static str {
        "copied"
    }
    fn output_hook(&mut self, _ctx: &egui::Context, output: &mut egui::FullOutput) {
        for command in &output.platform_output.commands {
            if let egui::OutputCommand::CopyText(text) = command {
                self.0.lock().expect("lock").push(text.clone());
            }
        }
    }
}

/// [`build`], recording what the app copies.
pub fn build_copying(config: AppConfig, size: [f32; 2]) -> (Harness<'static, UploaderApp>, Copied) {
    let copied = Copied::default();
    let plugin = copied.clone();
    let harness = Harness::builder().with_size(size).build_eframe(move |cc| {
        cc.egui_ctx.add_plugin(plugin);
        UploaderApp::new(&cc.egui_ctx, config)
    });
    (harness, copied)
}

/// The app at `size` for `config`, once it has read its settings, token and history.
pub fn loaded(config: AppConfig, size: [f32; 2]) -> Harness<'static, UploaderApp> {
    let mut h = build(config, size);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    h
}

/// Steps the app until `done` holds, failing after 30 s.
pub fn wait_until(
    h: &mut Harness<'_, UploaderApp>,
    what: &str,
    done: impl Fn(&UploaderApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}
