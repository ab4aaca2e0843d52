//! A blocking HTTP/1.1 client with keep-alive, for the benchmark (test layer): one
//! connection per worker, reused for every request the server lets it reuse (OpenBao
//! does; moto answers `Connection: close`, so its connections are made anew, which is also
//! what the plugin's AWS clients meet). Reads `Content-Length` and chunked bodies; no TLS,
//! no redirects. Kept apart from `common::http` (HTTP/1.0, a connection per request),
//! whose connection setup would otherwise be part of every measured latency.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One exchange's status and body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body, as text.
    pub body: String,
}

/// A keep-alive connection to one server.
pub struct Client {
    host_port: String,
    headers: Vec<(String, String)>,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    /// A client for `host_port` that sends `headers` with every request.
    pub fn new(host_port: &str, headers: &[(&str, &str)]) -> Self {
        Client {
            host_port: host_port.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            conn: None,
        }
    }

    /// Adds (or replaces) a header sent with every request.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Sends one request and reads the whole answer; reconnects once if a reused
    /// connection turns out to be closed.
    pub fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Result<Reply, String> {
        let reused = self.conn.is_some();
        match self.try_send(method, path, body) {
            Ok(reply) => Ok(reply),
            Err(_) if reused => {
                self.conn = None;
                self.try_send(method, path, body)
            }
            Err(e) => Err(e),
        }
    }

    fn try_send(&mut self, method: &str, path: &str, body: Option<&str>) -> Result<Reply, String> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.host_port).map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            stream
                .set_read_timeout(Some(Duration::from_secs(120)))
                .map_err(|e| e.to_string())?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        let body = body.unwrap_or("");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host_port);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        head.push_str(body);
        conn.get_mut()
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        let (reply, keep) = read_reply(conn)?;
        if !keep {
            self.conn = None;
        }
        Ok(reply)
    }
}

/// Reads one response; also says whether the connection may be reused.
fn read_reply(conn: &mut BufReader<TcpStream>) -> Result<(Reply, bool), String> {
    let mut line = String::new();
    conn.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.is_empty() {
        return Err("connection closed".to_string());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let (mut length, mut chunked, mut keep) = (None, false, true);
    loop {
        line.clear();
        conn.read_line(&mut line).map_err(|e| e.to_string())?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (
            name.trim().to_ascii_lowercase(),
            value.trim().to_ascii_lowercase(),
        );
        match name.as_str() {
            "content-length" => length = value.parse().ok(),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" => keep = !value.contains("close"),
            _ => {}
        }
    }
    // 204 and 304 answers have no body, whatever the headers say.
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if chunked {
        read_chunked(conn)?
    } else if let Some(n) = length {
        let mut buf = vec![0; n];
        conn.read_exact(&mut buf).map_err(|e| e.to_string())?;
        buf
    } else {
        keep = false;
        let mut buf = Vec::new();
        conn.read_to_end(&mut buf).map_err(|e| e.to_string())?;
        buf
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    Ok((Reply { status, body }, keep))
}

fn read_chunked(conn: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| format!("bad chunk size {line:?}"))?;
        if size == 0 {
            line.clear();
            conn.read_line(&mut line).map_err(|e| e.to_string())?;
            return Ok(out);
        }
        let mut chunk = vec![0; size + 2];
        conn.read_exact(&mut chunk).map_err(|e| e.to_string())?;
        out.extend_from_slice(&chunk[..size]);
    }
}
