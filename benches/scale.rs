//! Scale-out: uploads per second and latency of 500 mixed images through 1 and 2 `serve`
//! instances (the release binary, separate processes) on one Garage bucket, next to the same
//! runs on the local-directory store, with the scaling ratio 2 instances ÷ 1. Every run starts
//! on an empty store, so every upload is thumbnailed and written. Twice: with the instances free
//! to use every core, and with each instance held to a core of its own (`taskset`), which shows
//! on a small machine what adding an instance adds when it brings its own core.
//!
//! `cargo bench --bench scale` (BENCH_IMAGES sets the count, default 500; BENCH_CLIENTS the
//! uploads in flight, default 16). Needs Garage: `GARAGE_BIN`, or `.ci/run` builds one into
//! `~/.cache/garage-2.5.0`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::garage::{self, BUCKET, Garage};
use common::instance::{INSTANCE_TOKEN, Instance};
use futures_util::StreamExt as _;

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
    cores: &'static str,
    store: &'static str,
    instances: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Uploads every image once, `clients` at a time, round robin over `urls`.
async fn drive(
    cores: &'static str,
    store: &'static str,
    urls: &[String],
    images: &[Vec<u8>],
    clients: usize,
) -> Run {
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
        cores,
        store,
        instances: urls.len(),
        per_second: images.len() as f64 / total.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

#[tokio::main]
async fn main() {
    let count = env_num("BENCH_IMAGES", 500);
    let clients = env_num("BENCH_CLIENTS", 16);
    let Some(bin) = garage::binary() else {
        eprintln!("this benchmark needs Garage: set GARAGE_BIN");
        std::process::exit(1);
    };
    let images = images(count);
    let mb: usize = images.iter().map(Vec::len).sum::<usize>() / 1_000_000;
    println!("{count} images ({mb} MB), {clients} uploads in flight");
    let mut runs = Vec::new();
    for pinned in [false, true] {
        let cores = if pinned { "one each" } else { "shared" };
        for instances in [1, 2] {
            // Instance n on core n, or anywhere.
            let wrapper = |n: usize| -> Vec<String> {
                if pinned {
                    vec!["taskset".into(), "-c".into(), n.to_string()]
                } else {
                    Vec::new()
                }
            };
            // Local directory: the instances share it, as they would on one machine.
            let dir = tempfile::tempdir().expect("dir");
            let spec = format!("file:{}", dir.path().display());
            let mut started = Vec::new();
            for n in 0..instances {
                let w = wrapper(n);
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                started.push(Instance::start_under(&w, &spec, &[], &[]).await);
            }
            let urls: Vec<String> = started.iter().map(|s| s.url.clone()).collect();
            runs.push(drive(cores, "local dir", &urls, &images, clients).await);
            drop(started);

            // A fresh single-node Garage each time: an empty bucket.
            let garage = Garage::start(&bin, 1).await;
            let mut started = Vec::new();
            for n in 0..instances {
                let w = wrapper(n);
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                let spec = format!("s3://{BUCKET}");
                started.push(Instance::start_under(&w, &spec, &garage.env(0), &[]).await);
            }
            let urls: Vec<String> = started.iter().map(|s| s.url.clone()).collect();
            runs.push(drive(cores, "garage", &urls, &images, clients).await);
        }
    }
    println!(
        "{:<9} {:<10} {:>9} {:>10} {:>8} {:>8}",
        "cores", "store", "instances", "uploads/s", "p50 ms", "p99 ms"
    );
    for r in &runs {
        println!(
            "{:<9} {:<10} {:>9} {:>10.1} {:>8.0} {:>8.0}",
            r.cores,
            r.store,
            r.instances,
            r.per_second,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
    }
    for cores in ["shared", "one each"] {
        for store in ["local dir", "garage"] {
            let rate = |n: usize| {
                runs.iter()
                    .find(|r| r.cores == cores && r.store == store && r.instances == n)
                    .map_or(f64::NAN, |r| r.per_second)
            };
            println!(
                "scaling, cores {cores}, {store}: 2 instances / 1 = {:.2}x",
                rate(2) / rate(1)
            );
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("(on {cores} cores, shared by the client, the instances and the store)");
}
