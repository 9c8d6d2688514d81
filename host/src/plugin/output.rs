//! A plugin's stdout and stderr: each line goes to the host's log, as the
//! plugin's own `log` calls do (named by plugin and worker, its secrets
//! redacted), so a `println!` left in a plugin is seen with `-v` rather
//! than lost. Bounded: a line is cut at [`LINE_MAX`] bytes, and a call may
//! write [`PER_CALL`] bytes; the rest of that call's output is dropped,
//! once said.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::PluginShared;

/// The longest line kept; the rest of a longer one is dropped.
const LINE_MAX: usize = 1024;

/// The most output one call may write to the log.
const PER_CALL: usize = 16 << 10;

/// What one instance's calls may still write, reset as each call starts.
#[derive(Default)]
pub(crate) struct OutputBudget {
    left: AtomicUsize,
    said_full: AtomicBool,
}

impl OutputBudget {
    /// A call starts: it may write [`PER_CALL`] bytes.
    pub fn reset(&self) {
        self.left.store(PER_CALL, Ordering::Relaxed);
        self.said_full.store(false, Ordering::Relaxed);
    }
}

/// One of an instance's two output streams.
#[derive(Clone)]
pub(crate) struct PluginOutput {
    sink: Arc<Mutex<Lines>>,
}

/// Bytes written, cut into lines.
struct Lines {
    shared: Arc<PluginShared>,
    worker: u32,
    stream: &'static str,
    budget: Arc<OutputBudget>,
    partial: Vec<u8>,
    /// The line under way was cut: drop the rest of it.
    cut: bool,
}

impl PluginOutput {
    /// The stream `stream` (`stdout` or `stderr`) of the instance of
    /// `shared` for `worker`.
    pub fn new(
        shared: Arc<PluginShared>,
        worker: u32,
        stream: &'static str,
        budget: Arc<OutputBudget>,
    ) -> PluginOutput {
        PluginOutput {
            sink: Arc::new(Mutex::new(Lines {
                shared,
                worker,
                stream,
                budget,
                partial: Vec::new(),
                cut: false,
            })),
        }
    }

    fn write_all(&self, bytes: &[u8]) {
        let mut lines = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        lines.take(bytes);
    }
}

impl Lines {
    fn take(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (piece, ended) = match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => (&bytes[..end], true),
                None => (bytes, false),
            };
            bytes = &bytes[(piece.len() + usize::from(ended)).min(bytes.len())..];
            if !self.cut {
                let room = LINE_MAX - self.partial.len();
                self.partial
                    .extend_from_slice(&piece[..piece.len().min(room)]);
                if piece.len() > room {
                    self.cut = true;
                    self.emit(" [cut]");
                }
            }
            if ended {
                if !self.cut {
                    self.emit("");
                }
                self.cut = false;
            }
        }
    }

    /// Logs the line gathered, with `suffix`, if the call may still write.
    fn emit(&mut self, suffix: &str) {
        let line = String::from_utf8_lossy(&self.partial).into_owned() + suffix;
        self.partial.clear();
        let plugin = self.shared.name.as_str();
        let (worker, stream) = (self.worker, self.stream);
        let fits = self
            .budget
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(line.len())
            })
            .is_ok();
        if !fits {
            if !self.budget.said_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    plugin,
                    worker,
                    stream,
                    "the plugin wrote more than {} KiB in one call; the rest is dropped",
                    PER_CALL >> 10
                );
            }
            return;
        }
        let line = self.shared.secrets.redact_owned(line);
        match stream {
            "stderr" => tracing::warn!(plugin, worker, stream, "{line}"),
            _ => tracing::info!(plugin, worker, stream, "{line}"),
        }
    }
}

impl IsTerminal for PluginOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

/// The most a guest may write in one go: what WASI streams allow.
const PERMIT: usize = 64 << 10;

impl OutputStream for PluginOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_all(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for PluginOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for PluginOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_all(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
