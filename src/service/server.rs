//! The connection loop: HTTP/1.1 on a listener with the timers and caps a server facing the
//! internet needs. The defaults of hyper and `axum::serve` are for trusted peers: no header
//! timeout, no idle timeout, no write timeout, no connection cap, h2c with 200 streams per
//! connection, and a shutdown that waits for the slowest client forever.
//!
//! - A connection is accepted only while fewer than `max_connections` are open; the rest wait in
//!   the kernel's backlog.
//! - The request head must arrive within `header_timeout` (this also closes idle keep-alive
//!   connections: hyper restarts that timer when it waits for the next request).
//! - A write that cannot make progress for `send_timeout` (a client that stopped reading) closes
//!   the connection, freeing what it held.
//! - Bodies are held to a minimum rate by the upload handler (`ServiceConfig::min_body_rate`).
//! - On shutdown: no new connections, idle ones close, requests in flight get `shutdown_grace`
//!   to finish; whatever is still open then is closed.
//!
//! GETs of held answers (hot thumbnails and originals) are answered before hyper sees the
//! connection (`quick`), under the same limits; hyper takes it at the first other request.
//!
//! Bytes of stored files are sent by the kernel from the file (`sendfile`), as nginx does.
//!
//! HTTP/2 is not spoken: a CDN or reverse proxy in front speaks it to browsers.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_io_timeout::TimeoutStream;

/// The connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time for a request head to arrive, and for an idle keep-alive connection to send one.
    pub header_timeout: Duration,
    /// Time a write may wait for the client to read.
    pub send_timeout: Duration,
    /// Time requests in flight get to finish after shutdown begins.
    pub shutdown_grace: Duration,
}

use super::{App, quick};

/// Raises this process's soft limit on open descriptors to its hard limit, as nginx's
/// `worker_rlimit_nofile` and Go's runtime do: every connection and every file held open takes
/// one, and the soft default (1,024 on Debian) is far below what a server is allowed. Call it
/// before the service starts (the room for mapped files is read once). Returns the soft limit
/// in force afterwards (`None`: unlimited).
#[cfg(target_os = "linux")]
pub fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && current < maximum
    {
        let raised = rustix::process::Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!("cannot raise the open-file limit from {current} to {maximum}: {e}");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see the module doc).
pub async fn run(
    listener: TcpListener,
    app: App,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping the sender tells every connection to finish its request and close.
    let (stop_tx, stop_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not fatal. Wait a
                    // moment so a full descriptor table does not spin the loop.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let stop = stop_rx.clone();
        connections.spawn(async move {
            if let Err(e) = connection(stream, app, limits, stop).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(permit);
        });
        // Reap finished connections so the set does not grow with every client ever served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    drop(stop_tx);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} connections still open after {} s: closing them",
            connections.len(),
            limits.shutdown_grace.as_secs()
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// One connection, from accept to close: GETs of held answers are answered before hyper (see
/// `quick`); at the first other request, hyper takes the connection.
async fn connection(
    stream: TcpStream,
    app: App,
    limits: ConnLimits,
    mut stop: watch::Receiver<()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    stream.set_nodelay(true).ok();
    // Stored files go out with sendfile(2), not through this process (see `sendfile`).
    #[cfg(target_os = "linux")]
    let mut stream = super::sendfile::SendfileStream::new(stream);
    #[cfg(not(target_os = "linux"))]
    let mut stream = stream;
    let read = match quick::serve(&mut stream, &app.state, &limits, &mut stop).await? {
        quick::Outcome::Closed => return Ok(()),
        quick::Outcome::HandOver(read) => read,
    };
    let mut stream = TimeoutStream::new(quick::Rewind::new(read, stream));
    stream.set_write_timeout(Some(limits.send_timeout));
    let io = TokioIo::new(Box::pin(stream));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, app);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return Ok(result?),
        // Shutdown began (the sender was dropped): finish the request in flight, then close.
        _ = stop.changed() => conn.as_mut().graceful_shutdown(),
    }
    Ok(conn.await?)
}
