//! Scale-out: uploads per second and latency of 500 mixed images through 1 and 2 `serve`
//! instances (the release binary, separate processes) on one Garage bucket, next to the same
//! runs on the local-directory store, with the scaling ratio 2 instances ÷ 1. Every run starts
//! on an empty store, so every upload is thumbnailed and written. Twice: with the instances free
//! to use every core, and with each instance held to a core of its own (`taskset`), which shows
//! on a small machine what adding an instance adds when it brings its own core. The
//! configurations are measured in interleaved rounds (A B C … A B C …), so a slow spell on a
//! shared machine falls on all of them; medians are compared.
//!
//! `cargo bench --bench scale` (BENCH_IMAGES sets the count, default 500; BENCH_CLIENTS the
//! uploads in flight, default 16; BENCH_ROUNDS the rounds, default 3). The Garage runs need
//! Garage: `GARAGE_BIN`, or `.ci/run` builds one into `~/.cache/garage-2.5.0`; without it only
//! the local-directory runs are measured, and the output says so.
//!
//! The binary: cargo builds it for this bench, but other checkouts sharing the target directory
//! can replace it; it is copied aside and checked (`--version`) before measuring, and the copy,
//! named in the output, is the one every instance runs.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::garage::{self, BUCKET, Garage};
use common::instance::{INSTANCE_TOKEN, Instance};
use futures_util::StreamExt as _;

/// The instance's command: `wrapper` (taskset, or nothing), then a shell that runs the pinned
/// copy with the arguments `Instance` gives the cargo-built path (which the shell ignores).
fn wrapper(pinned_to: Option<usize>, binary: &std::path::Path) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(core) = pinned_to {
        w.extend(["taskset".into(), "-c".into(), core.to_string()]);
    }
    w.extend([
        "sh".into(),
        "-c".into(),
        format!("exec '{}' \"$@\"", binary.display()),
    ]);
    w
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `count` distinct images: 60 % JPEG photos (1–2 MP), 20 % PNG, 10 % WebP, 10 % animated GIF.
fn images(count: usize) -> Vec<Vec<u8>> {
    (0..count as u32)
        .map(|i| match i % 10 {
            0..=5 => common::jpeg(1200 + (i % 400), 900 + (i % 300)),
            6 | 7 => common::png(800 + i % 200, 600),
            8 => common::webp(640 + i % 100, 480),
            _ => common::gif(160 + i % 50, 120, 4),
        })
        .collect()
}

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Uploads every image once, `clients` at a time, round robin over `urls`.
async fn drive(urls: &[String], images: &[Vec<u8>], clients: usize) -> Run {
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(images.iter().enumerate())
        .map(|(i, image)| {
            let url = urls[i % urls.len()].clone();
            let body = image.clone();
            async move {
                let t = Instant::now();
                let (status, json) = common::curl_post(&url, INSTANCE_TOKEN, body).await;
                assert_eq!(status, 200, "{json}");
                t.elapsed()
            }
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let total = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Run {
        per_second: images.len() as f64 / total.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// One configuration: cores, store, instances; its runs, one per round.
struct Config {
    /// "shared" or "one each".
    cores: &'static str,
    /// "local dir" or "garage".
    store: &'static str,
    instances: usize,
    runs: Vec<Run>,
}

impl Config {
    fn median(&self, f: impl Fn(&Run) -> f64) -> f64 {
        let mut v: Vec<f64> = self.runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

/// Starts the configuration's instances on an empty store and uploads every image once.
async fn run(
    config: &Config,
    binary: &std::path::Path,
    garage_bin: Option<&std::path::Path>,
    images: &[Vec<u8>],
    clients: usize,
) -> Run {
    let pinned = config.cores == "one each";
    // Local directory: the instances share it, as they would on one machine.
    let dir = tempfile::tempdir().expect("dir");
    let garage = match (config.store, garage_bin) {
        ("garage", Some(bin)) => Some(Garage::start(bin, 1).await),
        _ => None,
    };
    let (spec, env) = match &garage {
        Some(g) => (format!("s3://{BUCKET}"), g.env(0)),
        None => (format!("file:{}", dir.path().display()), Vec::new()),
    };
    let mut started = Vec::new();
    for n in 0..config.instances {
        let w = wrapper(pinned.then_some(n), binary);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        started.push(Instance::start_under(&w, &spec, &env, &[]).await);
    }
    let urls: Vec<String> = started.iter().map(|s| s.url.clone()).collect();
    let result = drive(&urls, images, clients).await;
    drop(started);
    drop(garage);
    result
}

#[tokio::main]
async fn main() {
    let count = env_num("BENCH_IMAGES", 500);
    let clients = env_num("BENCH_CLIENTS", 16);
    let rounds = env_num("BENCH_ROUNDS", 3).max(1);
    let garage_bin = garage::binary();
    let bin_dir = tempfile::tempdir().expect("dir");
    let binary = common::pinned_binary(bin_dir.path());
    let images = images(count);
    let mb: usize = images.iter().map(Vec::len).sum::<usize>() / 1_000_000;
    println!("{count} images ({mb} MB), {clients} uploads in flight, {rounds} interleaved rounds");
    let stores: &[&'static str] = if garage_bin.is_some() {
        &["local dir", "garage"]
    } else {
        println!("Garage: not found (set GARAGE_BIN); only the local-directory store is measured");
        &["local dir"]
    };
    let mut configs = Vec::new();
    for cores in ["shared", "one each"] {
        for &store in stores {
            for instances in [1, 2] {
                configs.push(Config {
                    cores,
                    store,
                    instances,
                    runs: Vec::new(),
                });
            }
        }
    }
    for round in 0..rounds {
        for config in &mut configs {
            let r = run(config, &binary, garage_bin.as_deref(), &images, clients).await;
            config.runs.push(r);
        }
        println!("round {} of {rounds} done", round + 1);
    }
    println!("\n| cores | store | instances | uploads/s median (min-max) | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for c in &configs {
        let rates: Vec<f64> = c.runs.iter().map(|r| r.per_second).collect();
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "| {} | {} | {} | {:.1} ({lo:.1}-{hi:.1}) | {:.0} | {:.0} |",
            c.cores,
            c.store,
            c.instances,
            c.median(|r| r.per_second),
            c.median(|r| r.p50.as_secs_f64() * 1e3),
            c.median(|r| r.p99.as_secs_f64() * 1e3)
        );
    }
    for cores in ["shared", "one each"] {
        for &store in stores {
            let rate = |n: usize| {
                configs
                    .iter()
                    .find(|c| c.cores == cores && c.store == store && c.instances == n)
                    .map_or(f64::NAN, |c| c.median(|r| r.per_second))
            };
            println!(
                "scaling, cores {cores}, {store}: 2 instances / 1 = {:.2}x (medians)",
                rate(2) / rate(1)
            );
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("(on {cores} cores, shared by the client, the instances and the store)");
}
