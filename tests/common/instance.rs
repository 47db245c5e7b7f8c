//! `groupme-uploader serve` as a child process on 127.0.0.1: the real binary, its real store,
//! killed with SIGKILL when a test wants a crash.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The token every instance started here accepts.
pub const INSTANCE_TOKEN: &str = "test-token-0123456789abcdef";

/// A running `serve`.
pub struct Instance {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// How a `serve` that was meant to fail ended: its exit code and what it printed.
pub struct Refused {
    pub code: Option<i32>,
    pub stderr: String,
    pub took: Duration,
}

fn command(
    root: &std::path::Path,
    wrapper: &[&str],
    store: &str,
    env: &[(String, String)],
    port: u16,
    extra: &[&str],
) -> Command {
    let bin = env!("CARGO_BIN_EXE_groupme-uploader");
    // Isolated: no AWS_*, GM_*, proxy or RUST_LOG from this process; only `env`.
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = super::isolated::command(program, root);
            cmd.args(args).arg(bin);
            cmd
        }
        None => super::isolated::command(bin, root),
    };
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--store", store])
        .args(extra)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // Its own process group, so a kill reaches a wrapper's child too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd
}

impl Instance {
    /// Starts `serve --store STORE` with `env` (plus `extra` arguments) and waits until it
    /// answers `/health`; panics with its output if it exits instead.
    pub async fn start(store: &str, env: &[(String, String)], extra: &[&str]) -> Instance {
        Instance::start_under(&[], store, env, extra).await
    }

    /// [`Instance::start`] under `wrapper` (a program and its arguments, e.g. strace).
    pub async fn start_under(
        wrapper: &[&str],
        store: &str,
        env: &[(String, String)],
        extra: &[&str],
    ) -> Instance {
        Instance::launch(wrapper, store, env, extra, true).await
    }

    /// [`Instance::start`] with no `--token`: the tokens are `env`'s `GM_SERVICE_TOKENS`, or
    /// one it generates and prints.
    pub async fn start_without_token(
        store: &str,
        env: &[(String, String)],
        extra: &[&str],
    ) -> Instance {
        Instance::launch(&[], store, env, extra, false).await
    }

    async fn launch(
        wrapper: &[&str],
        store: &str,
        env: &[(String, String)],
        extra: &[&str],
        with_token: bool,
    ) -> Instance {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("serve.log");
        let port = super::free_port();
        let mut cmd = command(dir.path(), wrapper, store, env, port, extra);
        if with_token {
            cmd.args(["--token", INSTANCE_TOKEN]);
        }
        cmd.stderr(std::fs::File::create(&log).expect("log"));
        let child = cmd.spawn().expect("spawn serve");
        let mut instance = Instance {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!("serve exited ({status}): {}", instance.log());
            }
            let health = super::http()
                .get(format!("{}/health", instance.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return instance;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "serve did not start: {}",
                instance.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a `serve` that must refuse to start (with no token given, so it would print a
    /// generated one if it got that far); how it ended.
    pub async fn refused(store: &str, env: &[(String, String)]) -> Refused {
        let root = tempfile::tempdir().expect("dir");
        let mut cmd = command(root.path(), &[], store, env, super::free_port(), &[]);
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || {
            let _root = root;
            let mut child = cmd.stderr(Stdio::piped()).spawn().expect("spawn serve");
            // A serve that did start would run forever: give it 60 s, then stop it.
            let deadline = Instant::now() + Duration::from_secs(60);
            while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            child.kill().ok();
            child.wait_with_output().expect("output")
        })
        .await
        .expect("join");
        Refused {
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: started.elapsed(),
        }
    }

    /// Its process id (for `/proc/PID/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as a service manager stops a service; returns at once.
    pub fn terminate(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
    }

    /// Waits (at most 30 s) for the process to end; its exit code.
    pub async fn exit_code(&mut self) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("serve did not exit: {}", self.log());
    }

    /// SIGKILL to the whole process group (serve, and a wrapper such as strace), and wait for
    /// it to be gone: a crash, not a shutdown.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status()
                .ok();
        }
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
