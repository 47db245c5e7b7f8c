//! Thumbnailing, measured fairly: this service's code (decode + `.preview` 200² cover + `.large`
//! fit 960 + `.avatar` 60² cover + encode, in the original's format) against baselines asked for
//! the same three outputs, formats and quality settings, interleaved round by round on generated
//! inputs: `vipsthumbnail` ×3 (one process and one decode per size), one pyvips process that
//! decodes once with shrink-on-load and derives `.preview` and `.avatar` from `.large` as we do,
//! and ImageMagick `convert` (one call). Beside each time: every output's bytes and its PSNR
//! against a reference made the same way for everyone (the whole original decoded, then a
//! Lanczos3 resize to each rendition, by `image::imageops`, which no contender uses). For the
//! JPEG, the floor: a DCT-scaled decode alone (Pillow's draft mode, the same 1/4 scale as ours),
//! so the distance to it is plain; for a lossy WebP, the floor is libwebp's decode alone, shrunk
//! while decoding by the factor ours uses (`webp_lossy::decode_scaled`: libwebp 1.6, the newest).
//! Then GETs (cached thumbnails, a streamed original) from the service next to nginx configured as a CDN origin, with wrk.
//!
//! `cargo bench --bench thumbnails` (BENCH_ROUNDS, default 5; BENCH_ONLY=PNG runs the inputs
//! whose name contains it; BENCH_GETS_ONLY=1 runs the GETs only, BENCH_NO_GETS=1 skips them). Needs `/usr/bin/time`; the baselines need
//! `apt-get install libvips-tools imagemagick nginx-light wrk` and `pip install pyvips pillow`
//! (pyvips uses the libvips42 that libvips-tools brings). A missing tool is reported and skipped.
//!
//! Same cores: we thumbnail an image on one core, so libvips runs with `VIPS_CONCURRENCY=1` and
//! ImageMagick with `MAGICK_THREAD_LIMIT=1`. Times: ours, pyvips and the floor time their own
//! work (read the file … write the outputs) and print it; `vipsthumbnail` and `convert` cannot,
//! so theirs is the whole process, startup included (the "process" column has it for everyone).

#[path = "../tests/common/cores.rs"]
mod cores;
#[path = "../tests/common/proc_stat.rs"]
mod proc_stat;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use groupme_uploader::geometry::{AVATAR, LARGE, PREVIEW, fit_within};
use groupme_uploader::thumbnail::{self, Limits};

fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// ImageMagick's `convert` (not GraphicsMagick's, nor a stand-in that is not ImageMagick).
fn have_imagemagick() -> bool {
    Command::new("convert")
        .arg("-version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ImageMagick"))
}

/// `python3` with the modules listed importable.
fn have_python(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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

/// One run of a contender's commands under GNU time.
struct Measured {
    /// Wall time of the processes, startup included.
    process_ms: f64,
    /// What the processes said their own work took (the last line of their stdout), if they say.
    work_ms: Option<f64>,
    /// Peak RSS, MiB.
    rss: f64,
}

/// Runs commands one after the other, each under GNU time, with one-core settings for libvips and
/// ImageMagick.
fn timed(commands: &[Vec<String>]) -> Measured {
    let rss_file = std::env::temp_dir().join(format!("thumb-rss-{}", std::process::id()));
    let mut m = Measured {
        process_ms: 0.0,
        work_ms: None,
        rss: 0.0,
    };
    for args in commands {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&rss_file)
            .args(args)
            .env("VIPS_CONCURRENCY", "1")
            .env("MAGICK_THREAD_LIMIT", "1")
            .env("OMP_NUM_THREADS", "1")
            .stderr(Stdio::piped())
            .output()
            .expect("run /usr/bin/time");
        m.process_ms += start.elapsed().as_secs_f64() * 1000.0;
        assert!(
            out.status.success(),
            "failed: {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(ms) = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<f64>().ok())
        {
            m.work_ms = Some(m.work_ms.unwrap_or(0.0) + ms);
        }
        let kib: f64 = std::fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(0.0);
        m.rss = m.rss.max(kib / 1024.0);
    }
    m
}

fn s(v: &str) -> String {
    v.to_owned()
}

struct Contender {
    name: &'static str,
    /// One run: a list of commands (vipsthumbnail needs three).
    commands: Vec<Vec<String>>,
    /// Where the run leaves `.preview`, `.large` and `.avatar`; none for the floor.
    outputs: Option<[PathBuf; 3]>,
    /// The floor: not a contender, the least work any of them could do.
    floor: bool,
    /// One of ours (compared with each baseline), besides the first.
    ours: bool,
    process: Vec<f64>,
    work: Vec<f64>,
    rss: f64,
}

impl Contender {
    fn new(name: &'static str, commands: Vec<Vec<String>>, outputs: Option<[PathBuf; 3]>) -> Self {
        Contender {
            name,
            commands,
            outputs,
            floor: false,
            ours: false,
            process: vec![],
            work: vec![],
            rss: 0.0,
        }
    }

    /// The floor `name`: `program` with `args`, then the width and height `.large` needs for
    /// `input`; it writes nothing.
    fn floor(name: &'static str, program: &[String], input: &Path) -> Self {
        let (w, h) = large_size(input);
        let mut command = program.to_vec();
        command.extend([input.display().to_string(), w.to_string(), h.to_string()]);
        let mut floor = Contender::new(name, vec![command], None);
        floor.floor = true;
        floor
    }

    /// The time compared: the work the process timed itself, else the whole process.
    fn compared(&self) -> &[f64] {
        if self.work.is_empty() {
            &self.process
        } else {
            &self.work
        }
    }
}

fn min_median(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2])
}

/// One libvips process, one decode: shrink-on-load to fit 960, `.preview` and `.avatar` derived
/// from `.large`, as we do (and as PERF-NOTES.md's baseline). argv: input, three outputs.
const PYVIPS_ONE_DECODE: &str = r#"
import sys, time
import pyvips
src, pv_out, lg_out, av_out = sys.argv[1:5]
t = time.perf_counter()
lg = pyvips.Image.thumbnail(src, 960, height=960, size="down").copy_memory()
lg.write_to_file(lg_out)
pv = lg.thumbnail_image(200, height=200, crop="centre")
pv.write_to_file(pv_out)
pv.thumbnail_image(60, height=60, crop="centre").write_to_file(av_out)
print((time.perf_counter() - t) * 1000)
"#;

/// The floor for a JPEG: libjpeg(-turbo) decoding at the DCT scale ours uses, nothing else.
/// argv: input, width, height (the size `.large` needs; draft picks the smallest scale above it).
const PILLOW_DRAFT_FLOOR: &str = r#"
import sys, time
from PIL import Image
src, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter()
im = Image.open(src)
im.draft("RGB", (w, h))
im.load()
print((time.perf_counter() - t) * 1000)
print(f"decoded at {im.size[0]}x{im.size[1]}", file=sys.stderr)
"#;

/// How each baseline is told to write what ours writes, per output format.
struct Settings {
    /// libvips save options, `[...]` after the file name.
    vips: &'static str,
    /// ImageMagick options before the outputs.
    magick: &'static [&'static str],
    /// What is not the same, said under the table.
    unequal: &'static str,
}

fn settings(ext: &str, lossy_webp: bool) -> Settings {
    match ext {
        // Ours: libwebp 1.6 (libwebp-sys, vendored) through WebPEncodeRGB: quality 80, method 4.
        "webp" if lossy_webp => Settings {
            vips: "[Q=80,effort=4,strip]",
            magick: &["-quality", "80", "-define", "webp:method=4", "-strip"],
            unequal: "lossy WebP: all libwebp at quality 80, method 4 (ours libwebp 1.6 built from libwebp-sys's source, the baselines Debian's libwebp 1.2.4)",
        },
        // Ours: libjpeg-turbo (turbojpeg crate), quality 85, 4:2:0 chroma subsampling,
        // optimized Huffman tables, baseline, no metadata.
        "jpg" => Settings {
            vips: "[Q=85,subsample-mode=on,optimize-coding=true,strip]",
            magick: &[
                "-quality",
                "85",
                "-sampling-factor",
                "2x2",
                "-define",
                "jpeg:optimize-coding=true",
                "-strip",
            ],
            unequal: "JPEG: all at quality 85, 4:2:0, optimized Huffman tables, all encoded by libjpeg-turbo (ours through the turbojpeg crate)",
        },
        // Ours: src/png_encode.rs, adaptive filtering (the png crate's heuristic), libdeflate level 6.
        "png" => Settings {
            vips: "[compression=6,filter=all,strip]",
            magick: &["-quality", "65", "-strip"],
            unequal: "PNG: all zlib level 6 with adaptive filtering; ours compresses with libdeflate, the baselines with zlib (libpng), so sizes differ a little",
        },
        // Ours: image-webp's lossless encoder (it has no effort setting; it is a fast one).
        "webp" => Settings {
            vips: "[lossless,effort=0,strip]",
            magick: &[
                "-define",
                "webp:lossless=true",
                "-define",
                "webp:method=0",
                "-strip",
            ],
            unequal: "WebP: all lossless; ours is image-webp's encoder (no effort setting), the baselines libwebp at its least effort (method 0), which is not the same encoder",
        },
        _ => Settings {
            vips: "",
            magick: &[],
            unequal: "GIF: ours encodes with image's GifEncoder (NeuQuant at speed 10), convert with its own quantiser; neither dithers the same way",
        },
    }
}

/// The reference renditions for PSNR: the whole original decoded, then one Lanczos3 resize from
/// it to each rendition (cover crops centred), the same reference for everyone. The resize is
/// `image::imageops` (f32, not the `fast_image_resize` ours uses), so no contender's own code
/// makes the reference; but ours, vips and ImageMagick all resize with Lanczos3, and on an input
/// ours decodes in full its `.large` is the same filter on the same pixels: a PSNR near 60 dB or
/// "inf" there says "same filter", not "better".
fn reference(bytes: &[u8]) -> [image::DynamicImage; 3] {
    use image::imageops::FilterType::Lanczos3;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(2 << 30);
    let img = thumbnail::decode_upright(bytes, None, limits).expect("decode the original");
    let img = if img.color().has_alpha() {
        image::DynamicImage::ImageRgba8(img.into_rgba8())
    } else {
        image::DynamicImage::ImageRgb8(img.into_rgb8())
    };
    let cover = |side: u32| {
        let c = groupme_uploader::geometry::cover_crop(img.width(), img.height(), side, side);
        img.crop_imm(c.x, c.y, c.width, c.height)
            .resize_exact(side, side, Lanczos3)
    };
    let (lw, lh) = fit_within(img.width(), img.height(), LARGE);
    [
        cover(PREVIEW),
        img.resize_exact(lw, lh, Lanczos3),
        cover(AVATAR),
    ]
}

/// PSNR of an output against its reference (RGB, plus alpha when the reference has any), or why
/// there is none.
fn psnr(path: &Path, reference: &image::DynamicImage) -> String {
    let Ok(out) = image::open(path) else {
        return s("unreadable");
    };
    if (out.width(), out.height()) != (reference.width(), reference.height()) {
        return format!(
            "{}x{} (ref {}x{})",
            out.width(),
            out.height(),
            reference.width(),
            reference.height()
        );
    }
    let (a, b) = (out.into_rgba8(), reference.to_rgba8());
    let with_alpha = b.pixels().any(|p| p[3] != 255);
    let channels = if with_alpha { 4 } else { 3 };
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (p, q) in a.pixels().zip(b.pixels()) {
        for c in 0..channels {
            let d = f64::from(p[c]) - f64::from(q[c]);
            sum += d * d;
            n += 1;
        }
    }
    let mse = sum / n as f64;
    if mse == 0.0 {
        s("inf")
    } else {
        format!("{:.1}", 10.0 * (255.0 * 255.0 / mse).log10())
    }
}

/// The size of `.large` for an input file.
fn large_size(path: &Path) -> (u32, u32) {
    let info = groupme_uploader::probe::probe_bytes(&std::fs::read(path).expect("read input"))
        .expect("probe input");
    fit_within(info.width, info.height, LARGE)
}

fn bench_input(name: &str, path: &Path, out: &Path, animated: bool) {
    let me = std::env::current_exe().expect("exe").display().to_string();
    let input = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("jpg");
    let is_jpeg = ext == "jpg";
    let files = |tag: &str| -> [PathBuf; 3] {
        ["pv", "lg", "av"].map(|r| out.join(format!("{tag}-{r}.{ext}")))
    };
    let strs = |p: &[PathBuf; 3]| p.clone().map(|p| p.display().to_string());
    let lossy_webp = ext == "webp"
        && groupme_uploader::webp_lossy::is_lossy(&std::fs::read(path).expect("read input"));
    let set = settings(ext, lossy_webp);
    let mut skipped = Vec::new();

    let ours = files("ours");
    let mut command = vec![me.clone(), s("--render"), input.clone()];
    command.extend(strs(&ours));
    let mut contenders = vec![Contender::new(
        "groupme-uploader",
        vec![command],
        Some(ours),
    )];
    if is_jpeg {
        let posted = files("post");
        let mut command = vec![me.clone(), s("--post"), input.clone()];
        command.extend(strs(&posted));
        let mut post = Contender::new(
            "groupme-uploader serve: POST -> answer (body, hash, decode, renditions, 4 stores + fsync)",
            vec![command],
            Some(posted),
        );
        post.ours = true;
        contenders.push(post);
    }
    if animated {
        skipped.push("vipsthumbnail and pyvips: libvips cannot keep an animation in its crops");
    } else if have("vipsthumbnail") {
        let o = files("vt");
        let [pv, lg, av] = strs(&o);
        let v = |size: &str, crop: bool, file: &str| {
            let mut c = vec![s("vipsthumbnail"), input.clone(), s("--size"), s(size)];
            if crop {
                c.extend([s("--smartcrop"), s("centre")]);
            }
            c.extend([s("-o"), format!("{file}{}", set.vips)]);
            c
        };
        contenders.push(Contender::new(
            "vipsthumbnail x3 (3 processes, 3 decodes)",
            vec![
                v("200x200", true, &pv),
                v("960x960>", false, &lg),
                v("60x60", true, &av),
            ],
            Some(o),
        ));
    } else {
        skipped.push("vipsthumbnail: not installed (apt-get install libvips-tools)");
    }
    if !animated && have_python("pyvips") {
        let o = files("pyvips");
        let [pv, lg, av] = strs(&o);
        contenders.push(Contender::new(
            "pyvips, one decode (shrink-on-load, crops from .large)",
            vec![vec![
                s("python3"),
                s("-c"),
                s(PYVIPS_ONE_DECODE),
                input.clone(),
                format!("{pv}{}", set.vips),
                format!("{lg}{}", set.vips),
                format!("{av}{}", set.vips),
            ]],
            Some(o),
        ));
    } else if !animated {
        skipped.push("pyvips one-decode: not importable (pip install pyvips)");
    }
    if have_imagemagick() {
        let o = files("im");
        let [pv, lg, av] = strs(&o);
        let mut c = vec![s("convert")];
        if is_jpeg {
            // The DCT-scaled decode ours does: the smallest scale at least `.large`'s size.
            let (w, h) = large_size(path);
            c.extend([s("-define"), format!("jpeg:size={w}x{h}")]);
        }
        c.push(input.clone());
        if animated {
            c.push(s("-coalesce"));
        }
        // Every frame into each rendition (`+clone` would take the last one only); `-extent`
        // fills with the background: transparent, as our crops keep alpha.
        c.extend([s("-background"), s("none")]);
        c.extend(set.magick.iter().map(|v| s(v)));
        c.extend(["(", "-clone", "0--1", "-thumbnail", "960x960>", "-write"].map(s));
        c.push(lg);
        c.extend(
            [
                "-delete",
                "0--1",
                ")",
                "(",
                "-clone",
                "0--1",
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
        c.push(pv);
        c.extend(
            [
                "-delete",
                "0--1",
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
        c.push(av);
        contenders.push(Contender::new(
            "ImageMagick convert (one call)",
            vec![c],
            Some(o),
        ));
    } else {
        skipped.push("ImageMagick convert: not installed (apt-get install imagemagick)");
    }
    if lossy_webp {
        contenders.push(Contender::floor(
            "floor: libwebp's shrunk decode alone (libwebp 1.6, the factor ours uses)",
            &[me.clone(), s("--webp-floor")],
            path,
        ));
    }
    if is_jpeg {
        if have_python("PIL") {
            contenders.push(Contender::floor(
                "floor: DCT-scaled decode alone (Pillow draft, libjpeg-turbo)",
                &[s("python3"), s("-c"), s(PILLOW_DRAFT_FLOOR)],
                path,
            ));
        } else {
            skipped.push("the floor: Pillow is not importable (pip install pillow)");
        }
    }

    let n = if animated { rounds().min(3) } else { rounds() };
    for _ in 0..n {
        for c in &mut contenders {
            for f in c.outputs.iter().flatten() {
                std::fs::remove_file(f).ok();
            }
            let m = timed(&c.commands);
            c.process.push(m.process_ms);
            c.work.extend(m.work_ms);
            c.rss = c.rss.max(m.rss);
        }
    }

    let reference = reference(&std::fs::read(path).expect("read input"));
    println!("\n### {name} ({n} interleaved rounds)");
    println!(
        "| pipeline | work ms min / median | process ms median | peak RSS MiB | bytes .preview / .large / .avatar | PSNR dB .preview / .large / .avatar |"
    );
    println!("|---|---|---|---|---|---|");
    for c in &contenders {
        let (min, med) = min_median(c.compared());
        let timed_by = if c.work.is_empty() {
            " (whole process)"
        } else {
            ""
        };
        let (_, process) = min_median(&c.process);
        let (bytes, quality) = match &c.outputs {
            Some(files) => {
                let bytes: Vec<String> = files
                    .iter()
                    .map(|f| std::fs::metadata(f).map_or(s("missing"), |m| m.len().to_string()))
                    .collect();
                let quality: Vec<String> = files
                    .iter()
                    .zip(&reference)
                    .map(|(f, r)| psnr(f, r))
                    .collect();
                (bytes.join(" / "), quality.join(" / "))
            }
            None => (s("(decode only)"), s("-")),
        };
        println!(
            "| {} | {min:.0} / {med:.0}{timed_by} | {process:.0} | {:.0} | {bytes} | {quality} |",
            c.name, c.rss
        );
    }
    let ours_rows = contenders
        .iter()
        .enumerate()
        .filter(|(i, c)| *i == 0 || c.ours);
    for (_, mine) in ours_rows {
        let ours = min_median(mine.compared());
        let label = mine.name.split(':').next().unwrap_or(mine.name);
        for c in contenders.iter().skip(1).filter(|c| !c.ours) {
            let theirs = min_median(c.compared());
            if c.floor {
                println!(
                    "{label} is {:.2}x the floor (median; min {:.2}x)",
                    ours.1 / theirs.1,
                    ours.0 / theirs.0
                );
            } else {
                let verdict = if ours.1 <= theirs.1 {
                    "ahead"
                } else {
                    "BEHIND"
                };
                println!(
                    "ratio {label} / {}: median {:.2}x, min {:.2}x ({verdict})",
                    c.name,
                    ours.1 / theirs.1,
                    ours.0 / theirs.0
                );
            }
        }
    }
    println!(
        "same work: the three renditions in {ext}, one core each (VIPS_CONCURRENCY=1, MAGICK_THREAD_LIMIT=1); {}",
        set.unequal
    );
    println!(
        "PSNR against the whole original decoded and resized with image::imageops Lanczos3 (the filter every contender uses: \"inf\" or ~60 dB means the same filter on the same pixels): RGB, and alpha when the image has any{}",
        if animated { "; first frame" } else { "" }
    );
    for why in skipped {
        println!("skipped: {why}");
    }
}

/// What one wrk run said, and the CPU time the server used during it.
struct WrkRun {
    requests_per_sec: f64,
    /// Requests answered per second of the server's CPU time (user + system, all its threads
    /// or worker processes): what one core of the server can do, whatever wrk took.
    requests_per_cpu_sec: f64,
    /// Bytes per response, headers included (Transfer/sec ÷ Requests/sec).
    bytes_per_response: f64,
    p99_ms: f64,
    non_2xx: u64,
    socket_errors: u64,
}

/// `12.3ms`, `850.00us`, `1.2s` → milliseconds.
fn wrk_duration_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e3)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().ok().map(|n| n * scale)
}

/// `14.60MB` → bytes.
fn wrk_bytes(v: &str) -> Option<f64> {
    let units = [
        ("GB", 1u64 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
        ("B", 1),
    ];
    units.iter().find_map(|(suffix, scale)| {
        v.strip_suffix(suffix)
            .and_then(|n| n.parse::<f64>().ok())
            .map(|n| n * *scale as f64)
    })
}

/// CPU time (user + system) that the processes `pids` have used so far, in seconds.
fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter().map(|&pid| proc_stat::cpu_seconds(pid)).sum()
}

/// One wrk run (2 threads, 32 connections, 5 s) on `wrk_cpu` (if given), its errors counted,
/// and the CPU time of `server` (process ids) during it.
fn wrk(url: &str, wrk_cpu: Option<usize>, server: &[u32]) -> Option<WrkRun> {
    let mut cmd = match wrk_cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu.to_string(), "wrk"]);
            c
        }
        None => Command::new("wrk"),
    };
    let cpu_before = cpu_seconds(server);
    let out = cmd
        .args(["-t2", "-c32", "-d5s", "--latency", url])
        .output()
        .ok()?;
    let server_cpu = cpu_seconds(server) - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    // "  123456 requests in 5.00s, 3.45GB read"
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())?;
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    };
    let requests_per_sec: f64 = field("Requests/sec:")?.parse().ok()?;
    let transfer = field("Transfer/sec:")
        .and_then(|v| wrk_bytes(&v))
        .unwrap_or(0.0);
    let p99_ms = field("99%")
        .and_then(|v| wrk_duration_ms(&v))
        .unwrap_or(f64::NAN);
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket_errors = field("Socket errors:").map_or(0, |v| {
        v.split(',')
            .filter_map(|p| {
                p.split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .sum()
    });
    Some(WrkRun {
        requests_per_sec,
        requests_per_cpu_sec: requests / server_cpu,
        bytes_per_response: transfer / requests_per_sec,
        p99_ms,
        non_2xx,
        socket_errors,
    })
}

/// Stops nginx and its workers: SIGKILL on the master would leave the workers running (holding
/// the port, and this process's stdout for whoever reads it through a pipe).
fn stop_nginx(nginx: &mut std::process::Child) {
    let stopped = Command::new("kill")
        .args(["-TERM", &nginx.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if !stopped {
        nginx.kill().ok();
    }
    nginx.wait().ok();
}

/// Waits until `url` answers 200 with `body`.
async fn ready(client: &reqwest::Client, url: &str, body: &[u8]) -> bool {
    for _ in 0..100 {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
            && r.bytes().await.is_ok_and(|b| b == body)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A directory (and the path to it) that nginx's workers, which are not root, can read.
fn readable_by_all(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for dir in path.ancestors() {
        if dir == Path::new("/") || dir == std::env::temp_dir() {
            break;
        }
        if let Ok(meta) = std::fs::metadata(dir) {
            let mut p = meta.permissions();
            p.set_mode(p.mode() | if meta.is_dir() { 0o755 } else { 0o644 });
            std::fs::set_permissions(dir, p).ok();
        }
    }
}

fn bench_gets(dir: &Path, photo_jpeg: &Path) {
    if !have("wrk") || !have("nginx") {
        println!("\ncached GETs: skipped (needs wrk and nginx: apt-get install wrk nginx-light)");
        return;
    }
    // wrk gets a core of its own (the last this process may use) and the servers the others, as
    // if wrk ran on another machine: sharing every core, wrk took from whichever server it ran
    // beside. The runtime below and nginx are started from this thread, so they inherit its
    // cores. The CPU time each server spends per request is printed too: it does not depend on
    // how much of the machine wrk took.
    let pinned = cores::keep_last_apart();
    bench_gets_on(dir, photo_jpeg, pinned.as_ref().map(|&(cpu, _)| cpu));
    if let Some((_, allowed)) = pinned {
        rustix::thread::sched_setaffinity(None, &allowed).expect("unpin");
    }
}

fn bench_gets_on(dir: &Path, photo_jpeg: &Path, wrk_cpu: Option<usize>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let data = dir.join("service");
    let root = dir.join("nginx");
    std::fs::create_dir_all(&root).expect("nginx dir");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    // Our service, in this process (the library `serve` runs), on 127.0.0.1.
    let ours = runtime.block_on(async {
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
        let answer: serde_json::Value = client
            .post(format!("{}/pictures", running.url()))
            .header("X-Access-Token", "bench")
            .body(std::fs::read(photo_jpeg).expect("read photo"))
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json");
        let url = answer["payload"]["url"]
            .as_str()
            .expect("url in the answer")
            .to_owned();
        std::mem::forget(running); // serves until the process ends
        url
    });
    let port = 18_000 + (std::process::id() % 1000) as u16;
    let mut files = Vec::new();
    // The thumbnails come from the service's ready answers after the first GET; the original
    // (the 24 MP JPEG as uploaded, a few MB) is streamed from the file on every GET.
    for rendition in ["large", "avatar", "original"] {
        let url = if rendition == "original" {
            ours.clone()
        } else {
            format!("{ours}.{rendition}")
        };
        let body = runtime.block_on(async {
            let r = client.get(&url).send().await.expect("GET ours");
            assert!(r.status().is_success(), "GET {url}: {}", r.status());
            r.bytes().await.expect("body")
        });
        let name = format!("{rendition}.jpg");
        std::fs::write(root.join(&name), &body).expect("copy for nginx");
        files.push((
            rendition,
            url,
            format!("http://127.0.0.1:{port}/{name}"),
            body,
        ));
    }
    for (rendition, ..) in &files {
        readable_by_all(&root.join(format!("{rendition}.jpg")));
    }
    // nginx as a CDN origin would run it: a worker per core, sendfile, open_file_cache, long
    // keep-alive; the headers our service sends on an image.
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes auto; daemon off; pid {pid}; error_log {log};\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off; sendfile on; tcp_nopush on;\n  \
             keepalive_requests 1000000; keepalive_timeout 65;\n  \
             open_file_cache max=1000 inactive=60s;\n  \
             types {{ image/jpeg jpg; }}\n  \
             server {{ listen 127.0.0.1:{port}; root {root};\n    \
             location / {{ add_header Cache-Control \"public, max-age=31536000, immutable\";\n      \
             add_header X-Content-Type-Options nosniff;\n      \
             add_header Content-Security-Policy \"default-src 'none'; sandbox\"; }} }}\n}}\n",
            pid = dir.join("nginx.pid").display(),
            log = dir.join("nginx-error.log").display(),
            root = root.display()
        ),
    )
    .expect("conf");
    let mut nginx = Command::new("nginx")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx");
    let all_ready = runtime.block_on(async {
        for (_, ours, theirs, body) in &files {
            if !ready(&client, ours, body).await || !ready(&client, theirs, body).await {
                return false;
            }
        }
        true
    });
    if !all_ready {
        stop_nginx(&mut nginx);
        let log = std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default();
        println!("\ncached GETs: a server did not answer 200 with the file; not measured\n{log}");
        return;
    }
    let rounds = rounds();
    println!(
        "\n### GETs: cached thumbnails and a streamed original, wrk -t2 -c32 -d5s, {rounds} interleaved rounds (both servers checked to answer 200 with the same bytes first)"
    );
    println!(
        "| file | server | req/s best / median | requests per server CPU-s, median | p99 ms (best run) | bytes per response | errors |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (rendition, ours, theirs, body) in &files {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (us, them) = ([std::process::id()], proc_stat::children_of(nginx.id()));
        for _ in 0..rounds {
            a.extend(wrk(ours, wrk_cpu, &us));
            b.extend(wrk(theirs, wrk_cpu, &them));
        }
        // (median req/s, median requests per server CPU-second)
        let summary = |label: &str, runs: &[WrkRun]| -> Option<(f64, f64)> {
            if runs.is_empty() {
                println!(
                    "| {rendition} ({} B) | {label} | wrk gave no numbers | | | | |",
                    body.len()
                );
                return None;
            }
            let errors: u64 = runs.iter().map(|r| r.non_2xx + r.socket_errors).sum();
            let non_2xx: u64 = runs.iter().map(|r| r.non_2xx).sum();
            let rates: Vec<f64> = runs.iter().map(|r| r.requests_per_sec).collect();
            let (_, median) = min_median(&rates);
            let per_cpu: Vec<f64> = runs.iter().map(|r| r.requests_per_cpu_sec).collect();
            let (_, per_cpu) = min_median(&per_cpu);
            let best = runs
                .iter()
                .max_by(|x, y| x.requests_per_sec.total_cmp(&y.requests_per_sec))
                .expect("a run");
            if non_2xx > 0 {
                println!(
                    "| {rendition} ({} B) | {label} | not a speed: {non_2xx} non-2xx responses | | | | {errors} |",
                    body.len()
                );
                return None;
            }
            println!(
                "| {rendition} ({} B) | {label} | {:.0} / {median:.0} | {per_cpu:.0} | {:.2} | {:.0} | {errors} socket errors |",
                body.len(),
                best.requests_per_sec,
                best.p99_ms,
                best.bytes_per_response
            );
            Some((median, per_cpu))
        };
        let ours_rate = summary("groupme-uploader serve", &a);
        let theirs_rate = summary("nginx, CDN-origin settings", &b);
        if let (Some(x), Some(y)) = (ours_rate, theirs_rate) {
            ratios.push((rendition, x.0 / y.0, x.1 / y.1));
        }
    }
    stop_nginx(&mut nginx);
    for (rendition, r, per_cpu) in ratios {
        let verdict = if r >= 1.0 { "ahead" } else { "BEHIND" };
        println!(
            "ratio serve / nginx, {rendition}: {r:.2}x median req/s ({verdict}); {per_cpu:.2}x requests per server CPU-second"
        );
    }
    let cores = match wrk_cpu {
        Some(cpu) => format!("wrk pinned to CPU {cpu}, both servers to the other cores"),
        None => "one core: wrk shares it with the servers".to_owned(),
    };
    println!(
        "nginx: worker_processes auto, sendfile, tcp_nopush, keepalive_requests 1000000, open_file_cache, access_log off; serve: HTTP/1.1, no request log, a tokio worker per core it may use; {cores}"
    );
}

/// Child mode: reads the input, renders the three thumbnails as the service does, writes them,
/// and prints the milliseconds that took.
fn render_child(args: &[String]) {
    let [input, pv, lg, av] = args else {
        panic!("--render INPUT PREVIEW LARGE AVATAR");
    };
    let t = Instant::now();
    let bytes = std::fs::read(input).expect("read");
    let r = thumbnail::render(&bytes, &Limits::default()).expect("render");
    std::fs::write(pv, &r.preview).expect("write preview");
    std::fs::write(lg, &r.large).expect("write large");
    std::fs::write(av, &r.avatar).expect("write avatar");
    println!("{}", t.elapsed().as_secs_f64() * 1000.0);
}

/// Child mode: decodes the lossy WebP INPUT shrunk for a `.large` of W x H, as ours does and
/// nothing else, and prints the milliseconds from reading the file to the decoded pixels.
fn webp_floor_child(args: &[String]) {
    let [input, w, h] = args else {
        panic!("--webp-floor INPUT W H");
    };
    let min = (
        w.parse().expect("W is a number"),
        h.parse().expect("H is a number"),
    );
    let t = Instant::now();
    let bytes = std::fs::read(input).expect("read");
    let img = groupme_uploader::webp_lossy::decode_scaled(&bytes, min).expect("a lossy WebP");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    std::hint::black_box(img);
    println!("{ms}");
}

/// Child mode: starts the service in this process on 127.0.0.1 with a fresh local store (fsync
/// on, as `serve` runs by default), uploads a small JPEG to warm it up, then times one upload of
/// INPUT from reading the file to the parsed answer: body, hash, checks, decode, renditions and
/// the four stores. Prints that time last; then GETs the three renditions into the output files
/// (after timing). BENCH_POST_REPEAT=N uploads N times, each to a new store (for `perf`).
fn post_child(args: &[String]) {
    let [input, pv, lg, av] = args else {
        panic!("--post INPUT PREVIEW LARGE AVATAR");
    };
    let repeat: usize = std::env::var("BENCH_POST_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut warm = Cursor::new(Vec::new());
    photo(64, 48, false)
        .write_to(&mut warm, image::ImageFormat::Jpeg)
        .expect("warm-up jpeg");
    let warm = warm.into_inner();
    let post = |url: String, body: Vec<u8>| {
        let client = client.clone();
        async move {
            let answer: serde_json::Value = client
                .post(url)
                .header("X-Access-Token", "bench")
                .body(body)
                .send()
                .await
                .expect("upload")
                .error_for_status()
                .expect("upload accepted")
                .json()
                .await
                .expect("json answer");
            answer["payload"]["url"]
                .as_str()
                .expect("url in the answer")
                .to_owned()
        }
    };
    let mut times = Vec::new();
    for i in 0..repeat {
        let store_dir = tempfile::tempdir().expect("store dir");
        let (ms, url) = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let token = groupme_uploader::token::Token::new("bench").expect("token");
            let config = groupme_uploader::service::ServiceConfig::new(
                &format!("http://{addr}"),
                vec![token],
            );
            let store = groupme_uploader::service::Store::local(store_dir.path()).expect("store");
            let state = groupme_uploader::service::ServiceState::new(config, store).expect("state");
            let running = groupme_uploader::service::start(listener, state).expect("start");
            let endpoint = format!("{}/pictures", running.url());
            post(endpoint.clone(), warm.clone()).await;
            let t = Instant::now();
            let bytes = tokio::fs::read(input).await.expect("read input");
            let url = post(endpoint, bytes).await;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if i + 1 == repeat {
                for (suffix, file) in [("preview", pv), ("large", lg), ("avatar", av)] {
                    let r = client
                        .get(format!("{url}.{suffix}"))
                        .send()
                        .await
                        .expect("GET rendition");
                    assert!(r.status().is_success(), "GET .{suffix}: {}", r.status());
                    std::fs::write(file, r.bytes().await.expect("body")).expect("write");
                }
            }
            running.stop().await.expect("stop");
            (ms, url)
        });
        drop(url);
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    if repeat > 1 {
        eprintln!(
            "{repeat} uploads: min {:.1} ms, median {:.1} ms",
            times[0],
            times[repeat / 2]
        );
    }
    println!("{}", times[repeat / 2]);
}

/// Child mode: where the time of one 24 MP JPEG upload goes, stage by stage, in this process
/// (BENCH_ROUNDS rounds, min / median each): receiving the body over loopback, hashing, the
/// header checks, the DCT-scaled decode (libjpeg-turbo, and `jpeg-decoder` as before), the
/// resizes, the three encodes (libjpeg-turbo, and `image`'s encoder as before) and the four
/// stores with fsync (`Store::put_picture`, and two ways through object_store). Then the PSNR of
/// the renditions against those of the previous pipeline (`jpeg-decoder` + `image`'s encoder).
/// BENCH_SAVE_INPUT=PATH keeps the generated JPEG (for `perf record … --post PATH …`).
fn breakdown_child() {
    use fast_image_resize::{ResizeOptions, Resizer};
    use groupme_uploader::cdn_url::Variant;
    let mut img = Cursor::new(Vec::new());
    photo(6000, 4000, false)
        .write_to(&mut img, image::ImageFormat::Jpeg)
        .expect("encode input");
    let bytes = img.into_inner();
    if let Some(path) = std::env::var_os("BENCH_SAVE_INPUT") {
        std::fs::write(path, &bytes).expect("save input");
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sink = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route(
            "/pictures",
            axum::routing::post(|body: axum::body::Body| async move {
                use futures_util::StreamExt as _;
                let mut stream = body.into_data_stream();
                let mut all = bytes::BytesMut::new();
                while let Some(Ok(chunk)) = stream.next().await {
                    all.extend_from_slice(&chunk);
                }
                all.len().to_string()
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/pictures")
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let limits = Limits::default();
    let info = thumbnail::check(&bytes, &limits).expect("check");
    let need = fit_within(info.width, info.height, LARGE);
    let cover = ResizeOptions::new().fit_into_destination(Some((0.5, 0.5)));
    let resize = |r: &mut Resizer, src: &image::DynamicImage, w: u32, h: u32, o: &ResizeOptions| {
        let mut dst = image::DynamicImage::new(w, h, src.color());
        r.resize(src, &mut dst, o).expect("resize");
        dst
    };
    let encode_old = |img: &image::DynamicImage| {
        let mut out = Cursor::new(Vec::new());
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
        .expect("encode");
        out.into_inner()
    };
    // As src/thumbnail.rs encodes: quality 85, 4:2:0, optimized Huffman tables.
    let encode_new = |img: &image::DynamicImage| {
        let rgb = img.to_rgb8();
        let mut compressor = turbojpeg::Compressor::new().expect("compressor");
        compressor.set_quality(85).expect("quality");
        compressor
            .set_subsamp(turbojpeg::Subsamp::Sub2x2)
            .expect("subsamp");
        compressor.set_optimize(true).expect("optimize");
        compressor
            .compress_to_vec(turbojpeg::Image {
                pixels: rgb.as_raw().as_slice(),
                width: rgb.width() as usize,
                pitch: rgb.width() as usize * 3,
                height: rgb.height() as usize,
                format: turbojpeg::PixelFormat::RGB,
            })
            .expect("encode")
    };
    let names = [
        "receive the body (loopback POST to a sink)",
        "hash (SHA-256)",
        "check (probe + plausibility)",
        "decode 1/4 in the DCT: libjpeg-turbo",
        "decode 1/4 in the DCT: jpeg-decoder (before)",
        "resize: .large, then .preview and .avatar from it",
        "encode x3: libjpeg-turbo",
        "encode x3: image's JpegEncoder (before)",
        "4 stores + fsync: Store::put_picture (the original staged; then one blocking task: the thumbnails, then the original in place)",
        "4 stores + fsync: one after another (object_store, as before)",
        "4 stores + fsync: thumbnails together, then the original (object_store)",
        "thumbnail::render (check + decode + resize + encodes)",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut resizer = Resizer::new();
    let (mut new_out, mut old_out) = (Vec::new(), Vec::new());
    for round in 0..rounds() {
        let mut lap = {
            let mut t = Instant::now();
            move || {
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                t = Instant::now();
                ms
            }
        };
        let mut stage = 0;
        let mut record = |ms: f64| {
            times[stage].push(ms);
            stage += 1;
        };
        let got: String = runtime.block_on(async {
            client
                .post(&sink)
                .body(bytes.clone())
                .send()
                .await
                .expect("post")
                .text()
                .await
                .expect("answer")
        });
        assert_eq!(got, bytes.len().to_string());
        record(lap());
        let id = groupme_uploader::content_id::of_bytes(&bytes);
        record(lap());
        thumbnail::check(&bytes, &limits).expect("check");
        record(lap());
        let decoded = thumbnail::decode_jpeg_scaled(&bytes, need).expect("turbo decode");
        record(lap());
        let mut d = jpeg_decoder::Decoder::new(Cursor::new(&bytes));
        d.read_info().expect("info");
        let (w, h) = d.scale(need.0 as u16, need.1 as u16).expect("scale");
        let px = d.decode().expect("decode");
        let old = image::DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(w.into(), h.into(), px).expect("pixels"),
        );
        record(lap());
        let three = |r: &mut Resizer, src: &image::DynamicImage| {
            let (lw, lh) = fit_within(src.width(), src.height(), LARGE);
            let large = resize(r, src, lw, lh, &ResizeOptions::new());
            let preview = resize(r, &large, PREVIEW, PREVIEW, &cover);
            let avatar = resize(r, &preview, AVATAR, AVATAR, &cover);
            [preview, large, avatar]
        };
        let renditions = three(&mut resizer, &decoded);
        record(lap());
        new_out = renditions.iter().map(encode_new).collect::<Vec<_>>();
        record(lap());
        let old_renditions = three(&mut resizer, &old);
        lap();
        old_out = old_renditions.iter().map(encode_old).collect::<Vec<_>>();
        record(lap());
        let dir = tempfile::tempdir().expect("store dir");
        let store = groupme_uploader::service::Store::local(dir.path()).expect("store");
        let name = format!("6000x4000.jpeg.{id}");
        let thumbs = [Variant::Preview, Variant::Large, Variant::Avatar]
            .into_iter()
            .zip(new_out.iter().map(|b| bytes::Bytes::from(b.clone())))
            .collect::<Vec<_>>();
        let thumbs: [(Variant, bytes::Bytes); 3] = thumbs.try_into().expect("three");
        lap();
        runtime
            .block_on(async {
                let original = store.stage_original(&name, &id, bytes::Bytes::from(bytes.clone()));
                store.put_picture(&name, &id, original, thumbs).await
            })
            .expect("store");
        record(lap());
        // The same writes straight on object_store's local store (fsync on): in turn, then the
        // thumbnails at once; which goes first alternates by round.
        let mut raw = [0.0; 2];
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for together in order {
            use object_store::ObjectStoreExt as _;
            let dir = tempfile::tempdir().expect("store dir");
            let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path())
                .expect("local")
                .with_fsync(true);
            let key = |suffix: &str| object_store::path::Path::from(format!("p/{name}{suffix}"));
            let put = |k: object_store::path::Path, b: Vec<u8>| {
                let fs = &fs;
                async move {
                    fs.put(&k, object_store::PutPayload::from(b))
                        .await
                        .expect("put")
                }
            };
            lap();
            runtime.block_on(async {
                let thumbs = [".preview", ".large", ".avatar"]
                    .into_iter()
                    .zip(new_out.iter().cloned())
                    .map(|(suffix, b)| put(key(suffix), b));
                if together {
                    futures_util::future::join_all(thumbs).await;
                } else {
                    for t in thumbs {
                        t.await;
                    }
                }
                put(key(""), bytes.clone()).await;
            });
            raw[usize::from(together)] = lap();
        }
        record(raw[0]);
        record(raw[1]);
        thumbnail::render(&bytes, &limits).expect("render");
        record(lap());
    }
    println!("| stage | ms min / median |");
    println!("|---|---|");
    for (name, t) in names.iter().zip(&times) {
        let (min, med) = min_median(t);
        println!("| {name} | {min:.1} / {med:.1} |");
    }
    let psnr_of = |a: &[u8], b: &[u8]| {
        let (a, b) = (
            image::load_from_memory(a).expect("new").into_rgb8(),
            image::load_from_memory(b).expect("old").into_rgb8(),
        );
        let sum: f64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
            .sum();
        let mse = sum / a.as_raw().len() as f64;
        10.0 * (255.0 * 255.0 / mse).log10()
    };
    println!(
        "PSNR of the renditions against the previous pipeline's (jpeg-decoder + image's encoder): {:.1} / {:.1} / {:.1} dB; bytes {} / {} / {} (before {} / {} / {})",
        psnr_of(&new_out[0], &old_out[0]),
        psnr_of(&new_out[1], &old_out[1]),
        psnr_of(&new_out[2], &old_out[2]),
        new_out[0].len(),
        new_out[1].len(),
        new_out[2].len(),
        old_out[0].len(),
        old_out[1].len(),
        old_out[2].len(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--render") {
        render_child(&args[i + 1..]);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--webp-floor") {
        webp_floor_child(&args[i + 1..]);
        return;
    }
    if args.iter().any(|a| a == "--breakdown") {
        breakdown_child();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--post") {
        post_child(&args[i + 1..]);
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let photo_jpeg = dir.path().join("photo.jpg");
    println!("generating inputs…");
    write(
        &photo(6000, 4000, false),
        &photo_jpeg,
        image::ImageFormat::Jpeg,
    );
    if std::env::var_os("BENCH_GETS_ONLY").is_some() {
        bench_gets(dir.path(), &photo_jpeg);
        return;
    }
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let inputs: Vec<(&str, PathBuf, bool)> = vec![
        ("24 MP JPEG (6000x4000)", photo_jpeg.clone(), false),
        ("4K PNG (3840x2160)", dir.path().join("4k.png"), false),
        (
            "12 MP PNG with alpha (4000x3000)",
            dir.path().join("alpha.png"),
            false,
        ),
        ("WebP (3000x2000)", dir.path().join("photo.webp"), false),
        (
            "lossy WebP (3000x2000, quality 90)",
            dir.path().join("lossy.webp"),
            false,
        ),
        (
            "animated GIF (480x360, 60 frames)",
            dir.path().join("anim.gif"),
            true,
        ),
    ];
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
    std::fs::write(
        &inputs[4].1,
        groupme_uploader::webp_lossy::encode(&photo(3000, 2000, false), 90.0)
            .expect("lossy WebP input"),
    )
    .expect("write input");
    animated_gif(&inputs[5].1, 480, 360, 60);
    let only = std::env::var("BENCH_ONLY").ok();
    for (name, path, animated) in &inputs {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        bench_input(name, path, &out, *animated);
    }
    if std::env::var_os("BENCH_NO_GETS").is_none() {
        bench_gets(dir.path(), &photo_jpeg);
    }
}
