//! The connection loop: accepts TCP connections and serves HTTP/1.1 (and WebSocket upgrades)
//! on them with the router, as `axum::serve` does, with one thing more: a header-read timeout.
//! axum's loop gives hyper no timer, so a connection that trickled the bytes of its headers (or
//! opened and sent nothing) was held open for ever, and enough of them took every file
//! descriptor the server had. Here hyper closes a connection that has not sent a whole request
//! head within [`Config::header_read_timeout_secs`](crate::config::Config) of the server
//! starting to wait for one; the same bound closes a kept-alive connection left idle that long
//! between requests. An upgraded connection (a WebSocket) is not HTTP any more and is not
//! affected.
//!
//! On shutdown the listener closes first, then every open connection finishes the request it is
//! serving and closes (one idle, or on which no request has begun, at once); the returned future
//! ends when the last one has.
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the open connections
/// to finish their requests.
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    // `true` once the server stops: each connection then finishes what it serves and closes.
    let (stopping, stop) = watch::channel(false);
    // Held by every open connection; the server has stopped when none is left.
    let (open, connection_open) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tokio::select! {
                        () = accept_failed(e) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        // Streamed bodies (CSV, open data) go out as they are written, not held back by Nagle.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::trace!(error = %e, "could not set TCP_NODELAY on a connection");
        }
        // Whether a request has begun on it: one that has not is closed at once on shutdown
        // (hyper would keep a new connection open, waiting for its first request, until the
        // header-read timeout, longer than the grace period).
        let begun = Arc::new(AtomicBool::new(false));
        let begins = begun.clone();
        // The caller's address, where `ConnectInfo` extractors look for it.
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                begins.store(true, Ordering::Relaxed);
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
                request.map(Body::new)
            });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stop = stop.clone();
        let held = connection_open.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let stopped = async move {
                // The guard is dropped here, not held across the connection's await.
                let _ = stop.wait_for(|stopping| *stopping).await;
            };
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stopped => {
                    if begun.load(Ordering::Relaxed) {
                        // Closes at once when idle between requests, else after the response.
                        connection.as_mut().graceful_shutdown();
                        connection.await
                    } else {
                        Ok(())
                    }
                }
            };
            // A client that went away, or did not send its headers in time: nothing to answer.
            if let Err(e) = ended {
                tracing::debug!(error = %e, client = %remote, "connection closed with an error");
            }
            drop(held);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    drop(connection_open);
    open.closed().await;
    Ok(())
}

/// After a failed accept: a connection that broke before it was accepted is nothing to worry
/// about; anything else (out of file descriptors) is logged, and the loop waits a second before
/// it accepts again rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "could not accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
