//! A deliberately tiny blocking HTTP/1.0 client over `std::net` for the acceptance tests:
//! enough to read status codes and JSON bodies from OpenBao and moto on loopback, without a
//! client dependency (and so without a second TLS stack in the dependency graph).
//!
//! HTTP/1.0 with `Connection: close` keeps it simple: the server delimits the body by
//! closing the connection and never chunks it. Chunked bodies are still decoded, in case a
//! server answers with HTTP/1.1 anyway. No TLS, no redirects, no keep-alive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The status and body of one HTTP exchange.
#[derive(Debug)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl HttpResponse {
    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "response (status {}) is not JSON ({e}): {}",
                self.status, self.body
            )
        })
    }

    /// Vault's error messages (`{"errors": [...]}`) joined with `; `; empty when the body
    /// has none (or is not JSON).
    pub fn errors(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .map(|body| errors_in(&body))
            .unwrap_or_default()
    }
}

/// The messages of a Vault error body (`{"errors": [...]}`) joined with `; `.
fn errors_in(body: &serde_json::Value) -> String {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Sends one request to `host_port` (`127.0.0.1:8200`) and reads the whole answer.
/// `headers` are added as given; a body gets a `Content-Length`.
pub fn request(
    host_port: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(host_port)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;

    let mut head =
        format!("{method} {path} HTTP/1.0\r\nHost: {host_port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "malformed HTTP response: {:?}",
                String::from_utf8_lossy(&raw)
            ),
        )
    })
}

fn parse(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let payload = &raw[split + 4..];
    let body = if chunked {
        dechunk(payload)?
    } else {
        payload.to_vec()
    };
    Some(HttpResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_bodies() {
        let plain =
            parse(b"HTTP/1.0 404 Not Found\r\nContent-Type: x\r\n\r\n{\"a\":1}").expect("plain");
        assert_eq!((plain.status, plain.body.as_str()), (404, "{\"a\":1}"));
        let chunked =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .expect("chunked");
        assert_eq!((chunked.status, chunked.body.as_str()), (200, "abcde"));
        assert!(parse(b"garbage").is_none());
    }
}
