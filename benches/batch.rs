//! Batch upload from the command line: 500 small images (JPEG and PNG, 50–300 KB) to a local
//! `serve`, by the real CLI (`groupme-uploader upload FILES…`: one process, one HTTP client that
//! keeps its connections) against the seed's curl command run by `xargs -P3` (a curl process and
//! a new connection per file). Both upload 3 at a time (the CLI's default `--concurrency` is
//! checked to be 3). Each run starts its own `serve` (the release binary) on an empty store, so
//! every upload is received, thumbnailed and stored, never answered from an earlier copy; the same
//! images are sent in every run. Ours and the baseline run in interleaved rounds, the one that
//! goes first alternating, and medians are compared.
//!
//! `cargo bench --bench batch` (BENCH_IMAGES sets the count, default 500; BENCH_ROUNDS the
//! rounds, default 3). Needs `curl`, `xargs` and `sh`. `cargo bench --bench batch -- --write-images
//! DIR` only writes the images into DIR (to profile `serve` on them).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::instance::{INSTANCE_TOKEN, Instance};

/// Image sizes the files are made to fall within.
const MIN_BYTES: usize = 50_000;
const MAX_BYTES: usize = 300_000;

/// Uploads at once, for both contenders (`xargs -P3`, the CLI's default `--concurrency`).
const CONCURRENCY: usize = 3;

/// The seed's curl command, run by `xargs -P3` over `ls` in the images' directory; prints each
/// answer's status on a line of its own.
const BASELINE: &str = r#"ls | xargs -P3 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "X-Access-Token: $TOKEN" -H 'Content-Type: image/jpeg' --data-binary @{} "$URL/pictures""#;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// SplitMix64: a deterministic stream of pseudo-random numbers (the images are the same in every
/// run of the bench).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// A `w`x`h` gradient (its direction and colours from `seed`) with noise of amplitude `noise`,
/// so it neither compresses to nothing nor is pure noise.
fn noisy_gradient(w: u32, h: u32, seed: u64, noise: u8) -> image::RgbImage {
    let mut rng = Rng(seed);
    let base: [u32; 3] = [0, 1, 2].map(|_| rng.range(0, 256) as u32);
    let slope: [u32; 3] = [0, 1, 2].map(|_| rng.range(0, 3) as u32);
    image::RgbImage::from_fn(w, h, |x, y| {
        let t = [
            x * 255 / w.max(1),
            y * 255 / h.max(1),
            (x + y) * 127 / (w + h).max(1),
        ];
        image::Rgb([0, 1, 2].map(|c| {
            let clean = (base[c] + t[slope[c] as usize]) % 256;
            let jitter = rng.range(0, u64::from(noise) * 2 + 1) as i32 - i32::from(noise);
            (clean as i32 + jitter).clamp(0, 255) as u8
        }))
    })
}

fn encode(img: &image::RgbImage, png: bool) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    if png {
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("encode PNG");
    } else {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        img.write_with_encoder(encoder).expect("encode JPEG");
    }
    out.into_inner()
}

/// Image `i`: 60 % JPEG, 40 % PNG, aspect 1:2 to 2:1, a size drawn from 50–300 KB, reached by
/// resizing the canvas until the encoded file lands in range.
fn image(i: u64) -> (Vec<u8>, bool) {
    let mut rng = Rng(0x5EED_0000 + i);
    let png = i % 5 >= 3;
    let target = rng.range(MIN_BYTES as u64 + 10_000, MAX_BYTES as u64 - 20_000) as f64;
    let aspect = rng.range(50, 200) as f64 / 100.0;
    let noise = rng.range(12, 40) as u8;
    // Starting guess of bytes per pixel; corrected from each attempt's result.
    let mut pixels = target / if png { 2.0 } else { 1.0 };
    for _ in 0..8 {
        let w = (pixels * aspect).sqrt().max(64.0) as u32;
        let h = (pixels / aspect).sqrt().max(64.0) as u32;
        let bytes = encode(&noisy_gradient(w, h, rng.next(), noise), png);
        if (MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return (bytes, png);
        }
        pixels *= target / bytes.len() as f64;
    }
    panic!("image {i} did not land in {MIN_BYTES}..={MAX_BYTES} bytes");
}

/// Writes `count` images into `dir` (`img-0001.jpg`, …); their total bytes and (JPEGs, PNGs).
fn write_images(dir: &Path, count: usize) -> (usize, usize, usize) {
    let (mut total, mut jpegs, mut pngs) = (0, 0, 0);
    for i in 0..count {
        let (bytes, png) = image(i as u64);
        let ext = if png { "png" } else { "jpg" };
        std::fs::write(dir.join(format!("img-{i:04}.{ext}")), &bytes).expect("write image");
        total += bytes.len();
        if png { pngs += 1 } else { jpegs += 1 }
    }
    (total, jpegs, pngs)
}

/// The default of `upload --concurrency`, read from `upload --help`.
fn default_concurrency(binary: &Path) -> Option<usize> {
    let out = std::process::Command::new(binary)
        .args(["upload", "--help"])
        .output()
        .ok()?;
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let after = &help[help.find("--concurrency")?..];
    let default = &after[after.find("[default: ")? + "[default: ".len()..];
    default[..default.find(']')?].parse().ok()
}

/// The two ways of uploading the batch.
#[derive(Clone, Copy, PartialEq)]
enum Contender {
    Ours,
    Baseline,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Ours => "groupme-uploader upload --json FILES… (one process)",
            Contender::Baseline => r"ls \| xargs -P3 curl --data-binary @FILE (the seed's command)",
        }
    }
}

/// One run of a contender.
struct Run {
    wall: Duration,
    /// 2xx answers (baseline) or JSON result lines (ours).
    ok: usize,
    /// Everything else: non-2xx statuses (000 when curl got no answer), or ours' error lines.
    failures: Vec<String>,
    /// CPU seconds (user + system) of the client's processes and of `serve`.
    client_cpu: f64,
    serve_cpu: f64,
}

/// Starts `serve` on an empty store and uploads every file in `images` once with `who`.
async fn run(who: Contender, binary: &Path, images: &Path, files: &[String]) -> Run {
    let store = tempfile::tempdir().expect("store dir");
    let w = format!("exec '{}' \"$@\"", binary.display());
    let serve = Instance::start_under(
        &["sh", "-c", &w],
        &format!("file:{}", store.path().display()),
        &[],
        &[],
    )
    .await;
    let root = tempfile::tempdir().expect("isolated root");
    // Under GNU time, for the CPU the client used (every process it started included).
    let cpu_file = root.path().join("cpu");
    let mut cmd = common::isolated::command("/usr/bin/time", root.path());
    cmd.args(["-f", "%U %S", "-o"]).arg(&cpu_file);
    match who {
        Contender::Ours => {
            cmd.arg(binary)
                .args(["upload", "--endpoint", &serve.url, "--json"])
                .args(files)
                .env("GM_TOKEN", INSTANCE_TOKEN);
        }
        Contender::Baseline => {
            cmd.args(["sh", "-c", BASELINE])
                .env("TOKEN", INSTANCE_TOKEN)
                .env("URL", &serve.url);
        }
    }
    cmd.current_dir(images)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run the contender");
    let wall = started.elapsed();
    let serve_cpu = common::proc_stat::cpu_seconds(serve.pid());
    drop(serve);
    let client_cpu = std::fs::read_to_string(&cpu_file)
        .ok()
        .and_then(|s| {
            let mut v = s.lines().last()?.split(' ').map(|t| t.parse::<f64>().ok());
            Some(v.next()?? + v.next()??)
        })
        .unwrap_or(f64::NAN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (ok, mut failures) = match who {
        Contender::Ours => {
            let ok = stdout
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["url"].is_string())
                .count();
            let failures: Vec<String> = stderr.lines().map(str::to_owned).collect();
            (ok, failures)
        }
        Contender::Baseline => {
            let (ok, bad): (Vec<&str>, Vec<&str>) =
                stdout.lines().partition(|code| code.starts_with('2'));
            (ok.len(), bad.into_iter().map(str::to_owned).collect())
        }
    };
    if !out.status.success() {
        failures.push(format!("exit status {}", out.status));
    }
    Run {
        wall,
        ok,
        failures,
        client_cpu,
        serve_cpu,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let count = env_num("BENCH_IMAGES", 500);
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--write-images") {
        let dir = Path::new(args.get(at + 1).expect("--write-images DIR"));
        std::fs::create_dir_all(dir).expect("create DIR");
        let (bytes, jpegs, pngs) = write_images(dir, count);
        println!(
            "{count} images ({jpegs} JPEG, {pngs} PNG; {bytes} bytes) in {}",
            dir.display()
        );
        return;
    }
    let rounds = env_num("BENCH_ROUNDS", 3).max(1);
    let bin_dir = tempfile::tempdir().expect("dir");
    let binary = common::pinned_binary(bin_dir.path());
    let default = default_concurrency(&binary);
    assert_eq!(
        default,
        Some(CONCURRENCY),
        "upload's default --concurrency is not {CONCURRENCY}: the comparison with xargs -P3 would not be fair"
    );
    let images = tempfile::tempdir().expect("images dir");
    let made = Instant::now();
    let (bytes, jpegs, pngs) = write_images(images.path(), count);
    // On disk before the first round: their writeback would otherwise compete with that
    // round's fsyncs.
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    assert!(synced, "sync failed");
    let mut files: Vec<String> = std::fs::read_dir(images.path())
        .expect("list images")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    files.sort();
    println!(
        "{count} images ({jpegs} JPEG, {pngs} PNG; {:.1} MB, {:.0} KB on average; made in {:.1} s), \
         {rounds} interleaved rounds, a fresh serve on an empty store per run",
        bytes as f64 / 1e6,
        bytes as f64 / count.max(1) as f64 / 1e3,
        made.elapsed().as_secs_f64()
    );
    let contenders = [Contender::Ours, Contender::Baseline];
    let mut runs: Vec<Vec<Run>> = contenders.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let mut order = [0, 1];
        if round % 2 == 1 {
            order.reverse();
        }
        let mut line = format!("round {}:", round + 1);
        for i in order {
            let r = run(contenders[i], &binary, images.path(), &files).await;
            line += &format!(
                " {} {:.1} files/s ({}/{count} ok);",
                if i == 0 { "ours" } else { "xargs+curl" },
                count as f64 / r.wall.as_secs_f64(),
                r.ok
            );
            for f in r.failures.iter().take(5) {
                println!("  failure ({}): {f}", contenders[i].name());
            }
            if r.failures.len() > 5 {
                println!("  … {} failures in all", r.failures.len());
            }
            runs[i].push(r);
        }
        println!("{line}");
    }
    println!(
        "\n| client | files/s median (min–max) | wall s p50 | client CPU s p50 | serve CPU s p50 | successes (all runs) | failures |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut rates = Vec::new();
    for (who, rs) in contenders.iter().zip(&runs) {
        let per_s: Vec<f64> = rs
            .iter()
            .map(|r| count as f64 / r.wall.as_secs_f64())
            .collect();
        let lo = per_s.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = per_s.iter().copied().fold(0.0, f64::max);
        let rate = median(per_s);
        rates.push(rate);
        let ok: usize = rs.iter().map(|r| r.ok).sum();
        let failed: usize = rs.iter().map(|r| r.failures.len()).sum();
        println!(
            "| {} | {rate:.1} ({lo:.1}–{hi:.1}) | {:.2} | {:.2} | {:.2} | {ok} / {} | {failed} |",
            who.name(),
            median(rs.iter().map(|r| r.wall.as_secs_f64()).collect()),
            median(rs.iter().map(|r| r.client_cpu).collect()),
            median(rs.iter().map(|r| r.serve_cpu).collect()),
            count * rs.len(),
        );
    }
    let per_round: Vec<String> = runs[0]
        .iter()
        .zip(&runs[1])
        .map(|(o, b)| format!("{:.2}", b.wall.as_secs_f64() / o.wall.as_secs_f64()))
        .collect();
    println!(
        "ours / baseline, files/s: {:.2}x on medians (per round: {}; goal >= 2x)",
        rates[0] / rates[1],
        per_round.join(", ")
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Under our client only: under curl, serve also accepts a connection per file.
    let serve_cpu = median(runs[0].iter().map(|r| r.serve_cpu).collect());
    println!(
        "serve's own CPU under our client: {:.1} ms per file (median run), which caps any client \
         on {cores} cores at about {:.0} files/s (serve alone, nothing else running)",
        serve_cpu * 1e3 / count as f64,
        count as f64 * cores as f64 / serve_cpu
    );
    let all_ok = runs
        .iter()
        .flatten()
        .all(|r| r.ok == count && r.failures.is_empty());
    println!(
        "every upload succeeded: {}",
        if all_ok {
            "yes"
        } else {
            "NO (see the failures above)"
        }
    );
    println!(
        "equal: the files and their order, {CONCURRENCY} uploads at once, the serve binary and an \
         empty local-directory store per run, loopback, Content-Type image/jpeg, the wall time of \
         the whole command (process starts included)"
    );
    println!(
        "not equal: ours probes each file before sending it (format and size, no decode) and would \
         retry a connect error, 429 or 5xx (none is expected here); curl sends blindly once; ours \
         is one process keeping its connections, the baseline a curl process and a connection per \
         file — the difference measured"
    );
    println!("(on {cores} cores, shared by the clients and serve)");
}
