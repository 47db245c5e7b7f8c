//! Upload throughput and peak memory: this crate's client (the real CLI binary) against
//! `curl -T` (streams) and the seed's `curl --data-binary @FILE` (reads the file into memory),
//! interleaved, several rounds, to a sink server on 127.0.0.1 that discards the bytes.
//!
//! `cargo bench --bench upload` (BENCH_UPLOAD_MB sets the file size, default 2048;
//! BENCH_ROUNDS the rounds, default 5; BENCH_BIN=path: that build of the binary instead of the one
//! cargo built). Needs curl and GNU time (`/usr/bin/time`).

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use futures_util::StreamExt as _;

#[path = "../tests/common/cores.rs"]
mod cores;
#[path = "../tests/common/isolated.rs"]
mod isolated;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A file that probes as a 1x1 PNG and is `size` bytes long.
fn make_file(path: &Path, size: u64) -> std::io::Result<()> {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(1, 1)
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(std::io::Error::other)?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let head = png.into_inner();
    file.write_all(&head)?;
    let chunk = vec![0x5Au8; 8 << 20];
    let mut left = size.saturating_sub(head.len() as u64);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.flush()
}

/// Runs `cmd` under GNU time, isolated under `root` (no GM_*, no proxy), on `cpu` when given;
/// returns (seconds, peak RSS in KiB, success).
fn timed(root: &Path, cpu: Option<usize>, mut cmd: Vec<String>) -> (f64, u64, bool) {
    let rss_file = std::env::temp_dir().join(format!("bench-rss-{}", std::process::id()));
    let mut args = vec![
        "-f".to_owned(),
        "%M".to_owned(),
        "-o".to_owned(),
        rss_file.display().to_string(),
    ];
    if let Some(cpu) = cpu {
        args.extend(["taskset".to_owned(), "-c".to_owned(), cpu.to_string()]);
    }
    args.append(&mut cmd);
    let start = Instant::now();
    let status = isolated::command("/usr/bin/time", root)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let secs = start.elapsed().as_secs_f64();
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    (secs, rss, status.is_ok_and(|s| s.success()))
}

fn stats(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s.last().copied().unwrap_or(0.0), s[s.len() / 2])
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let size_mb = env_num("BENCH_UPLOAD_MB", 2048);
    let rounds = env_num("BENCH_ROUNDS", 5) as usize;
    let size = size_mb << 20;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("big.png");
    make_file(&file, size)?;

    // The client gets a core of its own (the last this process may use) and the sink the others,
    // as if the sink were another machine (as the GETs bench pins wrk). The sink's runtime below
    // inherits this thread's cores. curl -T still swings between about 1.7 and 3.6 GB/s from
    // round to round, pinned or not; ours between 1.9 and 2.4.
    let client_cpu = cores::keep_last_apart().map(|(cpu, _)| cpu);
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let sink = Router::new().route(
        "/pictures",
        post(|body: Body| async move {
            let mut stream = body.into_data_stream();
            while let Some(Ok(_)) = stream.next().await {}
            axum::Json(serde_json::json!({"payload": {"url": "http://127.0.0.1/1x1.png.0123456789abcdef0123456789abcdef"}}))
        }),
    );
    runtime.spawn(async move { axum::serve(listener, sink).await });
    let endpoint = format!("http://{addr}");
    let file_arg = file.display().to_string();
    let ours = vec![
        // BENCH_BIN: another build of the binary (an A/B of two builds).
        std::env::var("BENCH_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_groupme-uploader").to_owned()),
        "upload".into(),
        "--token".into(),
        "bench".into(),
        "--endpoint".into(),
        endpoint.clone(),
        file_arg.clone(),
    ];
    let curl_t = vec![
        "curl".into(),
        "-sS".into(),
        "-f".into(),
        "-X".into(),
        "POST".into(),
        "-T".into(),
        file_arg.clone(),
        "-H".into(),
        "X-Access-Token: bench".into(),
        "-H".into(),
        "Content-Type: image/jpeg".into(),
        "-o".into(),
        "/dev/null".into(),
        format!("{endpoint}/pictures"),
    ];
    let mut curl_data = curl_t.clone();
    curl_data[5] = "--data-binary".into();
    curl_data[6] = format!("@{file_arg}");

    println!(
        "upload benchmark: {size_mb} MiB file to a sink on {addr}, {rounds} interleaved rounds; {}",
        match client_cpu {
            Some(cpu) => format!("the clients pinned to CPU {cpu}, the sink to the other cores"),
            None => "one core: the clients and the sink share it".to_owned(),
        }
    );
    let mb = size as f64 / 1e6;
    let (mut ours_mbs, mut curl_mbs) = (Vec::new(), Vec::new());
    let (mut ours_rss, mut curl_rss) = (0u64, 0u64);
    for round in 1..=rounds {
        let (s, rss, ok) = timed(dir.path(), client_cpu, ours.clone());
        anyhow::ensure!(ok, "groupme-uploader failed in round {round}");
        ours_mbs.push(mb / s);
        ours_rss = ours_rss.max(rss);
        let (s, rss, ok) = timed(dir.path(), client_cpu, curl_t.clone());
        anyhow::ensure!(ok, "curl -T failed in round {round}");
        curl_mbs.push(mb / s);
        curl_rss = curl_rss.max(rss);
        println!(
            "  round {round}: groupme-uploader {:.0} MB/s · curl -T {:.0} MB/s",
            ours_mbs[round - 1],
            curl_mbs[round - 1]
        );
    }
    let (data_s, data_rss, data_ok) = timed(dir.path(), client_cpu, curl_data);
    let (o_best, o_med) = stats(&ours_mbs);
    let (c_best, c_med) = stats(&curl_mbs);
    println!("| client | MB/s best / median | peak RSS |");
    println!("|---|---|---|");
    println!(
        "| groupme-uploader (streams 256 KiB chunks) | {o_best:.0} / {o_med:.0} | {:.1} MiB |",
        ours_rss as f64 / 1024.0
    );
    println!(
        "| curl -X POST -T (baseline) | {c_best:.0} / {c_med:.0} | {:.1} MiB |",
        curl_rss as f64 / 1024.0
    );
    if data_ok {
        println!(
            "| curl --data-binary @FILE (the seed's form, once) | {:.0} | {:.1} MiB |",
            mb / data_s,
            data_rss as f64 / 1024.0
        );
    } else {
        println!(
            "| curl --data-binary @FILE (the seed's form, once) | failed | {:.1} MiB |",
            data_rss as f64 / 1024.0
        );
    }
    println!(
        "ratio groupme-uploader / curl -T: best {:.2}x, median {:.2}x; peak RSS {:.1} MiB (goal: >= 1.0x, < 16 MiB)",
        o_best / c_best,
        o_med / c_med,
        ours_rss as f64 / 1024.0
    );
    Ok(())
}
