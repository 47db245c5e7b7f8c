//! Thumbnailing speed and memory: this service's code (decode + preview + large + avatar +
//! encode) against `vipsthumbnail` (one call per size) and ImageMagick `convert` (one call, with
//! the `-define jpeg:size=` hint), interleaved, on generated inputs; then requests/second for
//! cached thumbnail GETs from the service next to nginx serving the same file, both with wrk.
//!
//! `cargo bench --bench thumbnails` (BENCH_ROUNDS, default 7). Needs `/usr/bin/time`, and for the
//! comparisons vipsthumbnail (libvips-tools), convert (imagemagick), nginx and wrk: a missing tool
//! is reported and skipped.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use groupme_uploader::thumbnail::{self, Limits};

fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A photo-like image: smooth gradients, shapes and sensor noise (so JPEG has real work).
fn photo(w: u32, h: u32, alpha: bool) -> image::DynamicImage {
    let mut rng = fastrand::Rng::with_seed(7);
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let ring = ((fx - 0.5).hypot(fy - 0.4) * 40.0).sin() * 30.0;
        let n = rng.i32(-12..=12) as f32;
        let c = |v: f32| v.clamp(0.0, 255.0) as u8;
        image::Rgba([
            c(200.0 * fx + ring + n),
            c(160.0 * fy + 40.0 + n),
            c(120.0 + 80.0 * (fx * fy) - ring + n),
            if alpha {
                c(255.0 * (1.0 - fy * 0.7))
            } else {
                255
            },
        ])
    });
    if alpha {
        image::DynamicImage::ImageRgba8(img)
    } else {
        image::DynamicImage::ImageRgb8(image::DynamicImage::ImageRgba8(img).into_rgb8())
    }
}

fn write(img: &image::DynamicImage, path: &Path, format: image::ImageFormat) {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode input");
    std::fs::write(path, out.into_inner()).expect("write input");
}

fn animated_gif(path: &Path, w: u32, h: u32, frames: u32) {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 30);
        enc.set_repeat(Repeat::Infinite).expect("repeat");
        for i in 0..frames {
            let buf = image::RgbaImage::from_fn(w, h, |x, y| {
                let v = ((x + i * 8) ^ (y + i * 3)) as u8;
                image::Rgba([v, v.wrapping_mul(3), 255 - v, 255])
            });
            enc.encode_frame(image::Frame::from_parts(
                buf,
                0,
                0,
                image::Delay::from_numer_denom_ms(80, 1),
            ))
            .expect("frame");
        }
    }
    std::fs::write(path, out).expect("write gif");
}

/// Runs a command under GNU time: (seconds, peak RSS MiB).
fn timed(args: &[String]) -> (f64, f64) {
    let rss_file = std::env::temp_dir().join(format!("thumb-rss-{}", std::process::id()));
    let start = Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run /usr/bin/time");
    let secs = start.elapsed().as_secs_f64();
    assert!(status.success(), "failed: {args:?}");
    let kib: f64 = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0.0);
    (secs, kib / 1024.0)
}

fn s(v: &str) -> String {
    v.to_owned()
}

struct Contender {
    name: &'static str,
    /// One run: a list of commands (vips needs three).
    commands: Vec<Vec<String>>,
    ms: Vec<f64>,
    rss: f64,
}

fn min_median(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2])
}

fn bench_input(name: &str, path: &Path, out: &Path, is_jpeg: bool, animated: bool) {
    let me = std::env::current_exe().expect("exe").display().to_string();
    let input = path.display().to_string();
    let o = |n: &str| out.join(n).display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("jpg");
    let mut contenders = vec![Contender {
        name: "groupme-uploader",
        commands: vec![vec![me, s("--render"), input.clone()]],
        ms: vec![],
        rss: 0.0,
    }];
    if have("vipsthumbnail") && !animated {
        let v = |size: &str, crop: bool, file: &str| {
            let mut c = vec![s("vipsthumbnail"), input.clone(), s("--size"), s(size)];
            if crop {
                c.extend([s("--smartcrop"), s("centre")]);
            }
            c.extend([s("-o"), o(file)]);
            c
        };
        contenders.push(Contender {
            name: "vipsthumbnail x3",
            commands: vec![
                v("200x200", true, &format!("vp.{ext}")),
                v("960x960>", false, &format!("vl.{ext}")),
                v("60x60", true, &format!("va.{ext}")),
            ],
            ms: vec![],
            rss: 0.0,
        });
    }
    if have("convert") {
        let mut c = vec![s("convert")];
        if is_jpeg {
            c.extend([s("-define"), s("jpeg:size=1920x1920")]);
        }
        c.push(input.clone());
        if animated {
            c.push(s("-coalesce"));
        }
        c.extend(["(", "+clone", "-thumbnail", "960x960>", "-write"].map(s));
        c.push(o(&format!("cl.{ext}")));
        c.extend(
            [
                "+delete",
                ")",
                "(",
                "+clone",
                "-thumbnail",
                "200x200^",
                "-gravity",
                "center",
                "-extent",
                "200x200",
                "-write",
            ]
            .map(s),
        );
        c.push(o(&format!("cp.{ext}")));
        c.extend(
            [
                "+delete",
                ")",
                "-thumbnail",
                "60x60^",
                "-gravity",
                "center",
                "-extent",
                "60x60",
            ]
            .map(s),
        );
        c.push(o(&format!("ca.{ext}")));
        contenders.push(Contender {
            name: "convert (one call)",
            commands: vec![c],
            ms: vec![],
            rss: 0.0,
        });
    }
    let n = if animated { rounds().min(3) } else { rounds() };
    for _ in 0..n {
        for c in &mut contenders {
            let mut total = 0.0;
            for cmd in &c.commands {
                let (secs, rss) = timed(cmd);
                total += secs;
                c.rss = c.rss.max(rss);
            }
            c.ms.push(total * 1000.0);
        }
    }
    println!("\n{name} ({n} interleaved rounds)");
    println!("| pipeline | min / median ms | peak RSS MiB |");
    println!("|---|---|---|");
    for c in &contenders {
        let (min, med) = min_median(&c.ms);
        println!("| {} | {min:.0} / {med:.0} | {:.0} |", c.name, c.rss);
    }
    let ours = min_median(&contenders[0].ms);
    for c in &contenders[1..] {
        let theirs = min_median(&c.ms);
        println!(
            "ratio groupme-uploader / {}: min {:.2}x, median {:.2}x",
            c.name,
            ours.0 / theirs.0,
            ours.1 / theirs.1
        );
    }
    if animated && have("vipsthumbnail") {
        println!("(vipsthumbnail skipped: it cannot keep an animation in its crops)");
    }
}

/// Requests/second for one URL with wrk (2 threads, 32 connections, 5 s).
fn wrk(url: &str) -> Option<f64> {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", "-d5s", url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn bench_gets(dir: &Path) {
    if !have("wrk") || !have("nginx") {
        println!("\ncached GETs: skipped (needs wrk and nginx)");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let data = dir.join("service");
    let (url, thumb_path) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let token = groupme_uploader::token::Token::new("bench").expect("token");
        let config =
            groupme_uploader::service::ServiceConfig::new(&format!("http://{addr}"), vec![token]);
        let store = groupme_uploader::service::Store::local(&data).expect("store");
        let state = groupme_uploader::service::ServiceState::new(config, store).expect("state");
        let running = groupme_uploader::service::start(listener, state).expect("start");
        let mut jpeg = Cursor::new(Vec::new());
        photo(1600, 1200, false)
            .write_to(&mut jpeg, image::ImageFormat::Jpeg)
            .expect("jpeg");
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/pictures", running.url()))
            .header("X-Access-Token", "bench")
            .body(jpeg.into_inner())
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json");
        let url = format!(
            "{}.preview",
            answer["payload"]["url"].as_str().expect("url")
        );
        std::mem::forget(running); // serves until the process ends
        let name = url.rsplit('/').next().expect("name").to_owned();
        let id = name.split('.').nth(2).expect("id").to_owned();
        (url, data.join("pictures").join(&id[..2]).join(name))
    });
    let root = dir.join("nginx");
    std::fs::create_dir_all(&root).expect("nginx dir");
    std::fs::copy(&thumb_path, root.join("preview.jpg")).expect("copy thumb");
    let conf = dir.join("nginx.conf");
    let port = 18_000 + (std::process::id() % 1000) as u16;
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1; daemon off; pid {pid}; error_log stderr;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; sendfile on; server {{ listen 127.0.0.1:{port}; root {root}; \
             location / {{ add_header Cache-Control \"public, max-age=31536000, immutable\"; }} }} }}\n",
            pid = dir.join("nginx.pid").display(),
            root = root.display()
        ),
    )
    .expect("conf");
    let mut nginx = Command::new("nginx")
        .args(["-c"])
        .arg(&conf)
        .args(["-p"])
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let nginx_url = format!("http://127.0.0.1:{port}/preview.jpg");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.extend(wrk(&url));
        theirs.extend(wrk(&nginx_url));
    }
    nginx.kill().ok();
    nginx.wait().ok();
    if ours.is_empty() || theirs.is_empty() {
        println!("\ncached GETs: wrk gave no numbers");
        return;
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!("\ncached thumbnail GETs, wrk -t2 -c32 -d5s, 3 interleaved rounds (best)");
    println!("| server | requests/s |\n|---|---|");
    println!("| groupme-uploader serve | {:.0} |", best(&ours));
    println!("| nginx (same file from disk) | {:.0} |", best(&theirs));
    println!(
        "ratio: {:.2}x nginx (goal >= 0.8x)",
        best(&ours) / best(&theirs)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // Child mode: render one file's three thumbnails, as the service does, and exit.
    if let Some(i) = args.iter().position(|a| a == "--render") {
        let bytes = std::fs::read(&args[i + 1]).expect("read");
        let r = thumbnail::render(&bytes, &Limits::default()).expect("render");
        assert!(!r.preview.is_empty() && !r.large.is_empty() && !r.avatar.is_empty());
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    if std::env::var_os("BENCH_GETS_ONLY").is_some() {
        bench_gets(dir.path());
        return;
    }
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    println!("generating inputs…");
    let inputs: Vec<(&str, PathBuf, bool, bool)> = vec![
        (
            "24 MP JPEG (6000x4000)",
            dir.path().join("photo.jpg"),
            true,
            false,
        ),
        (
            "4K PNG (3840x2160)",
            dir.path().join("4k.png"),
            false,
            false,
        ),
        (
            "12 MP PNG with alpha (4000x3000)",
            dir.path().join("alpha.png"),
            false,
            false,
        ),
        (
            "WebP (3000x2000)",
            dir.path().join("photo.webp"),
            false,
            false,
        ),
        (
            "animated GIF (480x360, 60 frames)",
            dir.path().join("anim.gif"),
            false,
            true,
        ),
    ];
    write(
        &photo(6000, 4000, false),
        &inputs[0].1,
        image::ImageFormat::Jpeg,
    );
    write(
        &photo(3840, 2160, false),
        &inputs[1].1,
        image::ImageFormat::Png,
    );
    write(
        &photo(4000, 3000, true),
        &inputs[2].1,
        image::ImageFormat::Png,
    );
    write(
        &photo(3000, 2000, false),
        &inputs[3].1,
        image::ImageFormat::WebP,
    );
    animated_gif(&inputs[4].1, 480, 360, 60);
    for (name, path, is_jpeg, animated) in &inputs {
        bench_input(name, path, &out, *is_jpeg, *animated);
    }
    bench_gets(dir.path());
}
