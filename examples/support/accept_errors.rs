//! What a server's accept loop does about an error, as production servers do
//! (hyper-util and axum's `serve`, actix-server, asyncio's `start_server`).
//!
//! `accept` fails for two very different reasons:
//! - **One connection died in the backlog** (ECONNABORTED, ECONNRESET): the client
//!   gave up between its handshake and our `accept`. Only that client is gone; accept
//!   again at once.
//! - **The process is out of something** (EMFILE: no file descriptor left; ENFILE,
//!   ENOBUFS, ENOMEM). The connection is still queued, so the listener stays readable
//!   and the next `accept` fails again *at once*. Retrying straight away spins: the
//!   loop never waits on anything, and the connections that would give fds back never
//!   get to run (see `executor/src/coop.rs` for what the runtime does about that on
//!   its own). So: log it, once per burst rather than once per failure, and sleep a
//!   little before trying again. axum sleeps 1 s, actix 500 ms, asyncio 1 s; these
//!   examples sleep 100 ms, so a demo recovers quickly.
//!
//! Shared by the examples and the tour by path (`#[path = ...] mod accept_errors;`).
//! `AcceptErrors` names no runtime, so the tour runs it on tokio too; `accept_next` is
//! the whole loop for glassbox's listener.

// Each example uses what it needs of this file.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use glassbox::net::{TcpListener, TcpStream};

/// How long to wait after an error that is not one connection's own.
pub const BACK_OFF: Duration = Duration::from_millis(100);

/// The accept loop's memory of its errors: whether a burst is going on.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    in_burst: bool,
    /// Errors seen in all, logged or not.
    pub seen: u64,
}

impl AcceptErrors {
    /// A connection was accepted: a burst of errors, if any, is over.
    pub fn accepted(&mut self) {
        self.in_burst = false;
    }

    /// What to do about `error`: `None` to accept again at once, or how long to
    /// sleep first. Logs the first error of a burst on stderr.
    pub fn on_error(&mut self, error: &io::Error) -> Option<Duration> {
        self.seen += 1;
        let one_connection = matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
        );
        if one_connection {
            return None;
        }
        if !self.in_burst {
            self.in_burst = true;
            eprintln!(
                "accept failed: {error}; backing off {BACK_OFF:?} between tries (logged once per burst)"
            );
        }
        Some(BACK_OFF)
    }
}

/// The next connection from `listener`, accepting again at once after a connection's
/// own error and backing off after any other (see the module doc).
pub async fn accept_next(
    listener: &TcpListener,
    errors: &mut AcceptErrors,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => {
                errors.accepted();
                return accepted;
            }
            Err(error) => {
                if let Some(pause) = errors.on_error(&error) {
                    glassbox::sleep(pause).await;
                }
            }
        }
    }
}
