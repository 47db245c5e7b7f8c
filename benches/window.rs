//! The real window under an Xvfb this bench starts itself (`Xvfb -displayfd`), the release
//! binary run as a person runs it but isolated (emptied environment: no `GM_*`, no proxy, no
//! session bus; HOME, XDG directories and `--data-dir` under a temporary directory).
//!
//! - `launch`: process start (just before `spawn`) to the first painted frame, with 10,000
//!   history entries in the data directory (not its first launch: that one, which makes the
//!   service token and directories, is not measured). The first frame is detected from outside, by the X
//!   server: eframe maps its window only after the first frame was painted, so the bench listens
//!   for the window's `MapNotify` on the root window, then reads the window's pixels back
//!   (`GetImage`) until they hold more than one colour (drawn text and widgets, not an empty
//!   window). The floor: a minimal eframe window (one label; the same eframe build, features,
//!   renderer and window size: this bench binary re-runs itself as it), launched the same way in
//!   the same interleaved rounds.
//! - `rss`: the window with 1,000 finished cards: 1,000 distinct 800x600 JPEGs given as a folder on
//!   the command line, uploaded to the embedded local service; once the history holds all 1,000
//!   and `VmRSS` has settled, `VmRSS` and `VmHWM` from `/proc/PID/status`, next to the idle app
//!   and the minimal eframe window.
//!
//! `cargo bench --bench window` (`-- launch` or `-- rss` for one part; BENCH_ROUNDS, default 7;
//! BENCH_BIN=path: that build of the binary instead of the one cargo built).
//! Needs `Xvfb` (apt `xvfb`); without it the bench says so and measures nothing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eframe::egui;
use x11rb::connection::Connection as _;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat, Window,
};

#[path = "../tests/common/mod.rs"]
mod common;

use common::isolated;

use groupme_uploader::settings::Dirs;

/// The window size of both the app and the floor.
const SIZE: [f32; 2] = [920.0, 700.0];

/// How long one launch may take before the bench gives up.
const LAUNCH_DEADLINE: Duration = Duration::from_secs(60);

/// The floor: the smallest eframe app, a label in the central panel.
struct Hello;

impl eframe::App for Hello {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.label("Hello, world");
        });
    }
}

fn hello_window() {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Hello")
            .with_inner_size(SIZE),
        ..Default::default()
    };
    eframe::run_native("Hello", options, Box::new(|_cc| Ok(Box::new(Hello))))
        .expect("the hello window");
}

/// An Xvfb of our own: it picks a free display and says which once it accepts connections.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// `-displayfd 1`: the display number arrives on its stdout (its log goes to stderr), once
    /// it accepts connections. `-noreset`: no reset when a client leaves, which would refuse the
    /// next one for a moment.
    fn start(dir: &Path) -> Option<Xvfb> {
        let child = std::process::Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24"])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("xvfb.log")).expect("log"))
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipped: cannot start Xvfb ({e}): apt-get install xvfb");
                return None;
            }
        };
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).ok();
        let n = line.trim();
        assert!(
            !n.is_empty(),
            "Xvfb did not say its display: see {}",
            dir.join("xvfb.log").display()
        );
        Some(Xvfb {
            child,
            display: format!(":{n}"),
        })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// What the X server saw of one launch, from just before `spawn`.
struct Launch {
    /// The top-level window was mapped: eframe maps it after painting the first frame.
    mapped: Duration,
    /// Its pixels, read back, hold more than one colour: the first frame is on screen.
    painted: Duration,
}

/// A connection to the display that is told of every window mapped on the root.
struct Watcher {
    conn: x11rb::rust_connection::RustConnection,
}

impl Watcher {
    fn new(display: &str) -> Watcher {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        conn.change_window_attributes(
            root,
            &ChangeWindowAttributesAux::new().event_mask(EventMask::SUBSTRUCTURE_NOTIFY),
        )
        .expect("select")
        .check()
        .expect("select on the root window");
        Watcher { conn }
    }

    /// Starts `cmd` and waits for its first frame on screen; the child keeps running.
    fn launch(&self, mut cmd: Command, log: &Path) -> (Child, Launch) {
        // Events of an earlier launch are not this one's.
        while let Ok(Some(_)) = self.conn.poll_for_event() {}
        let out = std::fs::File::create(log).expect("log");
        cmd.stdout(out.try_clone().expect("log")).stderr(out);
        let start = Instant::now();
        let mut child = cmd.spawn().expect("start");
        let deadline = start + LAUNCH_DEADLINE;
        let (window, mapped) = loop {
            assert!(
                Instant::now() < deadline,
                "no window within {LAUNCH_DEADLINE:?}: see {}",
                log.display()
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "it exited ({status}) before showing a window: see {}",
                    log.display()
                );
            }
            match self.conn.poll_for_event().expect("X connection") {
                Some(Event::MapNotify(e)) if self.is_big(e.window) => {
                    break (e.window, start.elapsed());
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        loop {
            assert!(
                Instant::now() < deadline,
                "the window stayed blank: see {}",
                log.display()
            );
            if self.colours(window) > 1 {
                return (
                    child,
                    Launch {
                        mapped,
                        painted: start.elapsed(),
                    },
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A real window (not a 1x1 helper a toolkit may map).
    fn is_big(&self, window: Window) -> bool {
        self.conn
            .get_geometry(window)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|g| g.width >= 100 && g.height >= 100)
    }

    /// How many distinct colours the window shows (up to 2: more than one means drawn).
    fn colours(&self, window: Window) -> usize {
        let Some(g) = self
            .conn
            .get_geometry(window)
            .ok()
            .and_then(|c| c.reply().ok())
        else {
            return 0;
        };
        let Some(img) = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, g.width, g.height, !0)
            .ok()
            .and_then(|c| c.reply().ok())
        else {
            return 0;
        };
        let mut px = img.data.chunks_exact(4);
        let Some(first) = px.next() else {
            return 0;
        };
        if px.any(|p| p[..3] != first[..3]) {
            2
        } else {
            1
        }
    }
}

fn stop(mut child: Child) {
    child.kill().ok();
    child.wait().ok();
}

/// The app, isolated, on `display`, with its data under `data`, and these items.
fn app_command(bin: &Path, root: &Path, display: &str, data: &Path, items: &[&Path]) -> Command {
    let mut cmd = isolated::command(bin, root);
    cmd.env("DISPLAY", display)
        .arg("gui")
        .arg("--data-dir")
        .arg(data)
        .args(items);
    cmd
}

/// The floor: this bench binary as the minimal eframe window.
fn hello_command(root: &Path, display: &str) -> Command {
    let mut cmd = isolated::command(std::env::current_exe().expect("exe"), root);
    cmd.env("DISPLAY", display).arg("--hello-window");
    cmd
}

fn min_median(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn launch_part(bin: &Path, dir: &Path, display: &str, watcher: &Watcher, rounds: usize) {
    const ENTRIES: usize = 10_000;
    let (mut ours_map, mut ours_paint, mut floor_map, mut floor_paint) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // One data directory, as a person's is: the first launch (its service token and
    // directories made) is not measured; the window is killed after each launch.
    let root = dir.join("launch");
    let data = root.join("data-dir");
    common::isolated::write_history(&Dirs::under(&data).history(), ENTRIES);
    let (child, _) = watcher.launch(
        app_command(bin, &root, display, &data, &[]),
        &root.join("first.log"),
    );
    stop(child);
    for _ in 0..rounds {
        let cmd = app_command(bin, &root, display, &data, &[]);
        let (child, l) = watcher.launch(cmd, &root.join("app.log"));
        stop(child);
        ours_map.push(ms(l.mapped));
        ours_paint.push(ms(l.painted));
        let cmd = hello_command(&root, display);
        let (child, l) = watcher.launch(cmd, &root.join("hello.log"));
        stop(child);
        floor_map.push(ms(l.mapped));
        floor_paint.push(ms(l.painted));
    }
    assert_eq!(
        lines(&Dirs::under(&data).history()),
        ENTRIES,
        "the history is intact"
    );
    std::fs::remove_dir_all(&root).ok();
    let (om, omd) = min_median(&mut ours_map);
    let (op, opd) = min_median(&mut ours_paint);
    let (fm, fmd) = min_median(&mut floor_map);
    let (fp, fpd) = min_median(&mut floor_paint);
    println!(
        "\nlaunch: process start -> first frame, {ENTRIES} history entries, {rounds} interleaved rounds"
    );
    println!("| window | mapped min / median ms | painted min / median ms |\n|---|---|---|");
    println!("| ours | {om:.0} / {omd:.0} | {op:.0} / {opd:.0} |");
    println!("| floor: minimal eframe window | {fm:.0} / {fmd:.0} | {fp:.0} / {fpd:.0} |");
    println!(
        "ours - floor (painted, medians): {:.0} ms; goal (issue 16): first painted frame under 300 ms -> {} (median {opd:.0} ms)",
        opd - fpd,
        if opd < 300.0 { "met" } else { "NOT met" }
    );
}

/// A distinct 800x600 photo-like JPEG (no two share bytes, so none is deduplicated).
fn photo_jpeg(seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let tint = rng.u8(..);
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        let n = rng.u8(0..16);
        image::Rgb([
            ((x * 255 / 800) as u8).saturating_add(n),
            ((y * 255 / 600) as u8).saturating_add(n),
            tint.saturating_add(n),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// Samples `VmRSS` until it changed by under 1% over the last 3 s (or 60 s passed).
fn settled_rss(pid: u32) -> u64 {
    let mut samples: Vec<u64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        samples.push(common::proc_kib(pid, "VmRSS"));
        let n = samples.len();
        if n > 6 {
            let recent = &samples[n - 7..];
            let (lo, hi) = (
                *recent.iter().min().expect("samples"),
                *recent.iter().max().expect("samples"),
            );
            if (hi - lo) * 100 < hi || Instant::now() > deadline {
                return samples[n - 1];
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn rss_part(bin: &Path, dir: &Path, display: &str, watcher: &Watcher) {
    const CARDS: usize = 1000;
    let root = dir.join("rss");
    let pictures = root.join("pictures");
    std::fs::create_dir_all(&pictures).expect("pictures");
    println!("\nmaking {CARDS} 800x600 JPEGs…");
    for i in 0..CARDS {
        std::fs::write(
            pictures.join(format!("photo-{i:04}.jpg")),
            photo_jpeg(i as u64),
        )
        .expect("write");
    }
    let mb = |kib: u64| kib as f64 / 1024.0;

    // The floor and the idle app: the window shown, nothing queued.
    let (child, _) = watcher.launch(hello_command(&root, display), &root.join("hello.log"));
    let floor = settled_rss(child.id());
    stop(child);
    let idle_data = root.join("idle-data");
    let cmd = app_command(bin, &root, display, &idle_data, &[]);
    let (child, _) = watcher.launch(cmd, &root.join("idle.log"));
    let idle = settled_rss(child.id());
    stop(child);

    let data = root.join("data-dir");
    let cmd = app_command(bin, &root, display, &data, &[&pictures]);
    let (child, _) = watcher.launch(cmd, &root.join("app.log"));
    let history = Dirs::under(&data).history();
    let started = Instant::now();
    while lines(&history) < CARDS {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{} of {CARDS} uploaded after 10 min: see {}",
            lines(&history),
            root.join("app.log").display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let uploaded = started.elapsed();
    let steady = settled_rss(child.id());
    let peak = common::proc_kib(child.id(), "VmHWM");
    stop(child);
    println!(
        "{CARDS} cards finished (uploaded to the embedded service) in {:.1} s",
        uploaded.as_secs_f64()
    );
    println!("| window | VmRSS MB (settled) | VmHWM MB (peak) |\n|---|---|---|");
    println!(
        "| ours, {CARDS} finished cards | {:.0} | {:.0} |",
        mb(steady),
        mb(peak)
    );
    println!("| ours, nothing queued | {:.0} | |", mb(idle));
    println!("| floor: minimal eframe window | {:.0} | |", mb(floor));
    println!(
        "goal (issue 16): under 200 MB with {CARDS} finished cards -> {} (settled {:.0} MB, peak {:.0} MB)",
        if mb(steady.max(peak)) < 200.0 {
            "met"
        } else {
            "NOT met"
        },
        mb(steady),
        mb(peak)
    );
    std::fs::remove_dir_all(&root).ok();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if args.iter().any(|a| a == "--hello-window") {
        hello_window();
        return;
    }
    let only = |part: &str| {
        let named: Vec<&String> = args
            .iter()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        named.is_empty() || named.iter().any(|a| *a == part)
    };
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let dir = tempfile::tempdir().expect("dir");
    // BENCH_BIN: a build kept elsewhere (the target directory's binary can be replaced by
    // another checkout's build in a shared target directory).
    let bin = match std::env::var_os("BENCH_BIN") {
        Some(path) => {
            println!("binary: {} (BENCH_BIN)", path.to_string_lossy());
            std::path::PathBuf::from(path)
        }
        None => common::pinned_binary(dir.path()),
    };
    let Some(xvfb) = Xvfb::start(dir.path()) else {
        return;
    };
    let watcher = Watcher::new(&xvfb.display);
    println!(
        "load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    if only("launch") {
        launch_part(&bin, dir.path(), &xvfb.display, &watcher, rounds);
    }
    if only("rss") {
        rss_part(&bin, dir.path(), &xvfb.display, &watcher);
    }
    println!(
        "load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    drop(xvfb);
}
