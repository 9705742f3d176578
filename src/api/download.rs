//! File bodies: a streaming response with its file name (from `Content-Disposition`, parsed
//! robustly), `Content-Length`, and a chunk stream that reports a short body as
//! [`ApiError::Truncated`] and a body slower than the client's minimum rate (averaged over its
//! window) as a [`TransportKind::TooSlow`] timeout. Used by data-product downloads and `archivefile/download`.
//!
//! Must not know: where the bytes go (callers pass any `AsyncWrite`).

use bytes::Bytes;
use futures_util::Stream;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LENGTH};
use reqwest::Response;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::client::Client;
use super::error::{ApiError, TransportKind};

/// A file being received. Read it with [`FileBody::chunk`], [`FileBody::write_to`],
/// [`FileBody::bytes`] or [`FileBody::into_stream`]. Dropping it aborts the transfer.
pub struct FileBody {
    client: Client,
    response: Response,
    url: String,
    file_name: Option<String>,
    content_length: Option<u64>,
    check_length: bool,
    received: u64,
    finished: bool,
    /// Start of the current rate window and the bytes received in it.
    window_start: tokio::time::Instant,
    window_bytes: u64,
}

impl std::fmt::Debug for FileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBody")
            .field("url", &self.url)
            .field("file_name", &self.file_name)
            .field("content_length", &self.content_length)
            .field("received", &self.received)
            .finish()
    }
}

impl FileBody {
    pub(crate) fn new(client: Client, response: Response, url: String) -> FileBody {
        let headers = response.headers();
        let file_name = headers
            .get(CONTENT_DISPOSITION)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .and_then(filename_from_content_disposition);
        let content_length = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // A body the server compressed anyway is decoded by reqwest; its length no longer
        // matches Content-Length, so only identity bodies are length-checked.
        let encoded = headers
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"));
        FileBody {
            client,
            response,
            url,
            file_name,
            content_length,
            check_length: content_length.is_some() && !encoded,
            received: 0,
            finished: false,
            window_start: tokio::time::Instant::now(),
            window_bytes: 0,
        }
    }

    /// The file name from `Content-Disposition`, if the server sent one.
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// `Content-Length`, if sent.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The (redacted) URL being downloaded.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk, or `None` at the end. A body shorter than `Content-Length` ends with
    /// [`ApiError::Truncated`]; a broken connection with [`ApiError::Transport`].
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.finished {
            return Ok(None);
        }
        match self.response.chunk().await {
            Ok(Some(b)) => {
                self.received += b.len() as u64;
                self.check_rate(b.len() as u64)?;
                Ok(Some(b))
            }
            Ok(None) => {
                self.finished = true;
                match self.content_length {
                    Some(expected) if self.check_length && self.received < expected => {
                        Err(self.truncated(expected))
                    }
                    _ => Ok(None),
                }
            }
            Err(e) => {
                self.finished = true;
                match self.content_length {
                    Some(expected) if self.check_length && self.received < expected => {
                        Err(self.truncated(expected))
                    }
                    _ => Err(self.client.transport_error(&e, &self.url)),
                }
            }
        }
    }

    /// Fails when the bytes of the window that just closed average below the minimum rate.
    fn check_rate(&mut self, n: u64) -> Result<(), ApiError> {
        let opts = self.client.options();
        if opts.min_rate == 0 || opts.rate_window.is_zero() {
            return Ok(());
        }
        self.window_bytes += n;
        let elapsed = self.window_start.elapsed();
        if elapsed < opts.rate_window {
            return Ok(());
        }
        let rate = self.window_bytes as f64 / elapsed.as_secs_f64();
        if rate < opts.min_rate as f64 {
            self.finished = true;
            return Err(ApiError::Transport {
                kind: TransportKind::TooSlow,
                url: self.url.clone(),
                message: format!(
                    "{rate:.0} bytes/s over the last {:.1} s, below the minimum of {} bytes/s",
                    elapsed.as_secs_f64(),
                    opts.min_rate
                ),
            });
        }
        self.window_start = tokio::time::Instant::now();
        self.window_bytes = 0;
        Ok(())
    }

    fn truncated(&self, expected: u64) -> ApiError {
        ApiError::Truncated {
            url: self.url.clone(),
            expected,
            received: self.received,
        }
    }

    /// Copies the whole body into `sink` (flushed at the end); returns the byte count.
    pub async fn write_to<W: AsyncWrite + Unpin>(mut self, sink: &mut W) -> Result<u64, ApiError> {
        while let Some(chunk) = self.chunk().await? {
            sink.write_all(&chunk)
                .await
                .map_err(|source| ApiError::Write {
                    url: self.url.clone(),
                    source,
                })?;
        }
        sink.flush().await.map_err(|source| ApiError::Write {
            url: self.url.clone(),
            source,
        })?;
        Ok(self.received)
    }

    /// The whole body in memory.
    pub async fn bytes(mut self) -> Result<Vec<u8>, ApiError> {
        let mut out = Vec::with_capacity(self.content_length.unwrap_or(0).min(64 << 20) as usize);
        while let Some(chunk) = self.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The body as a stream of chunks (same checks as [`FileBody::chunk`]).
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, ApiError>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut body = state?;
            match body.chunk().await {
                Ok(Some(b)) => Some((Ok(b), Some(body))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

/// Extracts the file name from a `Content-Disposition` value. Tolerates ONC's unquoted
/// `attachment; filename=NAME`, the misspelt `attachement`, quotes, trailing parameters,
/// and RFC 5987 `filename*=UTF-8''…` (preferred when present).
pub fn filename_from_content_disposition(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    if let Some(pos) = lower.find("filename*=") {
        let raw = param_value(&value[pos + "filename*=".len()..]);
        let encoded = match raw.find("''") {
            Some(i) => &raw[i + 2..],
            None => raw.as_str(),
        };
        if let Some(name) = percent_decode(encoded).filter(|n| !n.is_empty()) {
            return Some(name);
        }
    }
    let mut from = 0;
    while let Some(rel) = lower[from..].find("filename") {
        let pos = from + rel + "filename".len();
        let rest = value[pos..].trim_start();
        if let Some(after_eq) = rest.strip_prefix('=') {
            let name = param_value(after_eq);
            if !name.is_empty() {
                return Some(name);
            }
        }
        from = pos;
    }
    None
}

fn param_value(rest: &str) -> String {
    let rest = rest.trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"').unwrap_or(quoted.len());
        return quoted[..end].trim().to_string();
    }
    let end = rest.find(';').unwrap_or(rest.len());
    rest[..end]
        .trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_variants() {
        let cases = [
            (
                "attachment; filename=ICLISTENHF6324_20240401T000136.029Z-spect.mat",
                "ICLISTENHF6324_20240401T000136.029Z-spect.mat",
            ),
            ("attachement; filename=XXX.png", "XXX.png"),
            ("attachment; filename=\"a b.csv\"", "a b.csv"),
            ("attachment; filename=a.csv; size=10", "a.csv"),
            ("attachment;filename = a.txt ", "a.txt"),
            ("attachment; FILENAME=A.TXT", "A.TXT"),
            (
                "attachment; filename=x.xml; filename*=UTF-8''r%C3%A9sum%C3%A9.xml",
                "résumé.xml",
            ),
        ];
        for (header, want) in cases {
            assert_eq!(
                filename_from_content_disposition(header).as_deref(),
                Some(want),
                "{header}"
            );
        }
        assert_eq!(filename_from_content_disposition("attachment"), None);
        assert_eq!(
            filename_from_content_disposition("attachment; filename="),
            None
        );
    }
}
