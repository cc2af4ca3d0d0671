//! Labelled output: every line a daemon prints comes out as `router   | …` on the same stream
//! (its stdout on ours, its stderr on ours), along with starlingctl's own `ctl` notices.
//!
//! All writing happens on one thread fed by a bounded channel. A terminal or pipe that stops
//! reading then only slows the daemons' output (they block on their own pipes, as they would if
//! run directly) and never stalls starlingctl's signal handling, which runs on the async side.

use std::io::Write;
use std::thread::JoinHandle;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

/// Lines longer than this are cut into several, so a daemon printing without newlines cannot
/// grow starlingctl's memory.
const MAX_LINE: usize = 64 * 1024;
/// Lines waiting for the writer thread.
const QUEUE: usize = 1024;
/// The label of starlingctl's own messages.
pub const CTL: &str = "ctl";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Clone)]
pub struct Output {
    tx: mpsc::Sender<(Stream, String)>,
    width: usize,
}

impl Output {
    /// Starts the writer thread; labels are padded to `width`. The thread ends once every
    /// `Output` clone is dropped, after writing what was queued: join it before exiting.
    pub fn start(width: usize) -> (Output, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<(Stream, String)>(QUEUE);
        let writer = std::thread::spawn(move || {
            while let Some((stream, line)) = rx.blocking_recv() {
                // Write errors (a closed terminal) are ignored: nothing better to do with them,
                // and the daemons must keep running.
                let _ = match stream {
                    Stream::Stdout => std::io::stdout().lock().write_all(line.as_bytes()),
                    Stream::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
                };
            }
            let _ = std::io::stdout().flush();
        });
        (Output { tx, width }, writer)
    }

    /// Queues one line under `label`.
    pub async fn line(&self, stream: Stream, label: &str, text: &str) {
        let line = format!("{label:<width$} | {text}\n", width = self.width);
        // Fails only once the writer thread is gone, i.e. while exiting.
        let _ = self.tx.send((stream, line)).await;
    }

    /// A starlingctl notice, on stderr.
    pub async fn ctl(&self, text: impl AsRef<str>) {
        self.line(Stream::Stderr, CTL, text.as_ref()).await;
    }

    /// Copies `reader` (a daemon's stdout or stderr) line by line until end of file.
    pub async fn forward(&self, reader: impl AsyncRead + Unpin, stream: Stream, label: &str) {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        // A read error ends the stream like end of file: the daemon's exit is reported anyway.
        while let Ok(buf) = reader.fill_buf().await {
            if buf.is_empty() {
                break;
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let take = newline
                .map_or(buf.len(), |i| i + 1)
                .min(MAX_LINE - line.len());
            line.extend_from_slice(&buf[..take]);
            reader.consume(take);
            if line.ends_with(b"\n") || line.len() >= MAX_LINE {
                self.emit(stream, label, &line).await;
                line.clear();
            }
        }
        if !line.is_empty() {
            self.emit(stream, label, &line).await;
        }
    }

    async fn emit(&self, stream: Stream, label: &str, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        self.line(stream, label, text).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what `forward` would print, without the writer thread.
    async fn forwarded(input: &[u8]) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(QUEUE);
        let output = Output { tx, width: 6 };
        output.forward(input, Stream::Stdout, "router").await;
        drop(output);
        let mut lines = Vec::new();
        while let Some((_, line)) = rx.recv().await {
            lines.push(line);
        }
        lines
    }

    #[tokio::test]
    async fn lines_are_labelled() {
        let lines = forwarded(b"one\r\ntwo\n\nlast without newline").await;
        assert_eq!(
            lines,
            vec![
                "router | one\n",
                "router | two\n",
                "router | \n",
                "router | last without newline\n"
            ]
        );
    }

    #[tokio::test]
    async fn long_lines_are_split() {
        let input = vec![b'x'; MAX_LINE + 10];
        let lines = forwarded(&input).await;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), "router | ".len() + MAX_LINE + 1);
    }
}
