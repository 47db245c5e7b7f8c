//! Garage (a real distributed, S3-compatible object store) on 127.0.0.1: one node or a cluster of
//! several, each a `garage server` process with its own ports and directories, made from nothing
//! for one test and stopped with it. After `../shared/tools/garage/up.sh`.
//!
//! The binary comes from `GARAGE_BIN`, else `~/.cache/garage-2.5.0/bin/garage` (where `.ci/run`
//! builds it). Without one these tests are skipped, unless `GM_REQUIRE_TOOLS=1` (CI) makes
//! that a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Test-only credentials, imported into every cluster.
pub const KEY_ID: &str = "GK0123456789abcdef01234567";
pub const KEY_SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const BUCKET: &str = "images";

/// The Garage binary, or `None` (with a note) when there is none and none is required.
pub fn binary() -> Option<PathBuf> {
    let found = std::env::var_os("GARAGE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(Path::new(&home).join(".cache/garage-2.5.0/bin/garage"))
        })
        .filter(|p| p.is_file());
    if found.is_none() {
        super::missing_tool("Garage (set GARAGE_BIN; .ci/run builds one)");
    }
    found
}

/// One `garage server`.
pub struct Node {
    config: PathBuf,
    dir: PathBuf,
    pub s3_port: u16,
    rpc_port: u16,
    child: Option<Child>,
}

/// A cluster of nodes with one bucket and one key that may read and write it.
pub struct Garage {
    bin: PathBuf,
    pub nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl Garage {
    /// `count` nodes on loopback with `replication_factor = count`, a bucket [`BUCKET`] and the
    /// key [`KEY_ID`]; ready to serve S3 when this returns.
    pub async fn start(bin: &Path, count: usize) -> Garage {
        let dir = tempfile::tempdir().expect("dir");
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).expect("random");
        let secret = hex::encode(raw);
        let mut nodes = Vec::new();
        for i in 0..count {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(node_dir.join("meta")).expect("mkdir");
            std::fs::create_dir_all(node_dir.join("data")).expect("mkdir");
            let (s3_port, rpc_port, admin_port) =
                (super::free_port(), super::free_port(), super::free_port());
            let config = node_dir.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "lmdb"
replication_factor = {count}
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3_port}"

[admin]
api_bind_addr = "127.0.0.1:{admin_port}"
"#,
                    meta = node_dir.join("meta").display(),
                    data = node_dir.join("data").display(),
                ),
            )
            .expect("config");
            nodes.push(Node {
                config,
                dir: node_dir,
                s3_port,
                rpc_port,
                child: None,
            });
        }
        let mut garage = Garage {
            bin: bin.to_owned(),
            nodes,
            _dir: dir,
        };
        for i in 0..count {
            garage.start_node(i);
        }
        let ids: Vec<String> = (0..count)
            .map(|i| {
                let id = garage.run_until(i, &["node", "id", "-q"], Duration::from_secs(30));
                id.trim().to_owned()
            })
            .collect();
        for id in &ids[1..] {
            garage.run_until(0, &["node", "connect", id], Duration::from_secs(30));
        }
        for (i, id) in ids.iter().enumerate() {
            let short = id.split('@').next().expect("id");
            let zone = format!("dc{}", i + 1);
            garage.run_until(
                0,
                &["layout", "assign", "-z", &zone, "-c", "1G", short],
                Duration::from_secs(30),
            );
        }
        garage.run_until(
            0,
            &["layout", "apply", "--version", "1"],
            Duration::from_secs(30),
        );
        garage.run_until(0, &["bucket", "create", BUCKET], Duration::from_secs(60));
        garage.run_until(
            0,
            &["key", "import", "--yes", "-n", "ci", KEY_ID, KEY_SECRET],
            Duration::from_secs(30),
        );
        garage.run_until(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "ci",
            ],
            Duration::from_secs(30),
        );
        for i in 0..count {
            garage.wait_s3(i).await;
        }
        garage
    }

    /// `garage -c CONFIG args…` on node `i` (an admin command); its stdout.
    pub fn cli(&self, i: usize, args: &[&str]) -> String {
        self.run_until(i, args, Duration::from_secs(30))
    }

    /// `garage -c CONFIG args…` on node `i`, repeated until it succeeds (a cluster takes a
    /// moment to agree); its stdout.
    fn run_until(&self, i: usize, args: &[&str], limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let out = Command::new(&self.bin)
                .arg("-c")
                .arg(&self.nodes[i].config)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("run garage");
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            assert!(
                started.elapsed() < limit,
                "garage {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stderr),
                self.server_log(i)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Until node `i` answers S3 requests with the test key.
    async fn wait_s3(&self, i: usize) {
        let started = Instant::now();
        loop {
            let store =
                groupme_uploader::service::Store::s3(BUCKET, self.env(i)).expect("s3 store");
            match store.check().await {
                Ok(()) => return,
                Err(e) => assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "node {i} never served S3: {e}\n{}",
                    self.server_log(i)
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The `AWS_*` variables that point `serve --store s3://images` at node `i`.
    pub fn env(&self, i: usize) -> Vec<(String, String)> {
        [
            (
                "AWS_ENDPOINT",
                format!("http://127.0.0.1:{}", self.nodes[i].s3_port),
            ),
            ("AWS_REGION", "garage".to_owned()),
            ("AWS_ACCESS_KEY_ID", KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", KEY_SECRET.to_owned()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts (or restarts, keeping its data) node `i`.
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "node {i} runs already");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("server.log"))
            .expect("log");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&node.config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn garage");
        node.child = Some(child);
    }

    /// Restarts node `i` and waits until it serves S3 again.
    pub async fn restart_node(&mut self, i: usize) {
        self.start_node(i);
        self.wait_s3(i).await;
    }

    /// Kills node `i` (SIGKILL: a crash, not a shutdown).
    pub fn stop_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    fn server_log(&self, i: usize) -> String {
        let log = std::fs::read_to_string(self.nodes[i].dir.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        format!(
            "\n--- node {i} (rpc {}) log tail ---\n{}",
            self.nodes[i].rpc_port,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i);
        }
    }
}

impl Garage {
    /// The bucket itself through node `i`, to look at what the instances stored.
    pub fn bucket(&self, i: usize) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(format!("http://127.0.0.1:{}", self.nodes[i].s3_port))
            .with_region("garage")
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(KEY_SECRET)
            .with_allow_http(true)
            .with_bucket_name(BUCKET)
            .build()
            .expect("bucket")
    }
}
