//! The HTTP/1.1 wire format of the fault proxy (test layer): reading one request or
//! response off a connection (head, then a body delimited by `Content-Length`, by chunks
//! or by the peer closing), the AWS action a query-protocol request names, and the error
//! answers the proxy injects, shaped as IAM and STS send them. No sockets are opened here;
//! the proxy itself is `fault_proxy`.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest request or response head the proxy reads (AWS heads are far smaller).
const MAX_HEAD: usize = 64 * 1024;

/// One HTTP message as read off the wire: the raw bytes (head and body), and what the
/// proxy needs to know about it.
pub(super) struct Message {
    /// Head and body, exactly as received.
    pub(super) raw: Vec<u8>,
    /// Where the body starts in `raw`.
    pub(super) head_len: usize,
    /// The request target (requests only).
    pub(super) target: String,
    /// Whether the sender asked to close the connection after this message (or spoke
    /// HTTP/1.0, or the body was delimited by closing).
    pub(super) close: bool,
    /// Whether the body is chunked (requests: unsupported).
    pub(super) chunked: bool,
}

impl Message {
    pub(super) fn body(&self) -> &[u8] {
        &self.raw[self.head_len..]
    }
}

/// Reads one message from `stream`, starting with the bytes left in `buffer` from the last
/// one. `Ok(None)`: the peer closed before a new message began. A response without a
/// length is read until the peer closes (`until_close` says it may be).
pub(super) async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    until_close: bool,
) -> Result<Option<Message>, String> {
    let head_len = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err("head too long".into());
        }
        if fill(stream, buffer).await? == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside a head".into())
            };
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_len]).into_owned();
    let mut lines = head.split("\r\n");
    let start_line = lines.next().unwrap_or_default().to_string();
    let mut content_length = None;
    let mut chunked = false;
    let mut close = start_line.contains("HTTP/1.0") && !until_close;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => content_length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => close |= value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let target = start_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let total = if chunked && until_close {
        loop {
            if let Some(end) = chunked_end(&buffer[head_len..]) {
                break head_len + end;
            }
            if fill(stream, buffer).await? == 0 {
                return Err("connection closed inside a chunked body".into());
            }
        }
    } else if let Some(length) = content_length {
        while buffer.len() < head_len + length {
            if fill(stream, buffer).await? == 0 {
                return Err("connection closed inside a body".into());
            }
        }
        head_len + length
    } else if until_close && !chunked {
        // A response delimited by closing the connection.
        while fill(stream, buffer).await? > 0 {}
        close = true;
        buffer.len()
    } else {
        head_len
    };
    let raw: Vec<u8> = buffer.drain(..total).collect();
    Ok(Some(Message {
        raw,
        head_len,
        target,
        close,
        chunked: chunked && !until_close,
    }))
}

/// Reads more bytes into `buffer`; returns how many (0: the peer closed).
async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> Result<usize, String> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Where a complete chunked body (with its empty trailer) ends in `body`, if it does yet.
fn chunked_end(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + find(&body[at..], b"\r\n")?;
        let size_text = std::str::from_utf8(&body[at..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let end = at + find(&body[at..], b"\r\n")?;
            if end == at {
                return Some(at + 2);
            }
            return Some(at + find(&body[at..], b"\r\n\r\n")? + 4);
        }
        at += size + 2;
        if at > body.len() {
            return None;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `Action` parameter of a query-protocol request: from the form body, else from the
/// query string.
pub(super) fn aws_action(request: &Message) -> Option<String> {
    let body = String::from_utf8_lossy(request.body());
    let query = request.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    [body.as_ref(), query]
        .into_iter()
        .flat_map(|form| form.split('&'))
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Decodes an `application/x-www-form-urlencoded` body into its pairs, in order.
pub(super) fn form_params(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP response.
pub(super) fn status_of(raw: &[u8]) -> Option<u16> {
    let line_end = find(raw, b"\r\n")?;
    std::str::from_utf8(&raw[..line_end])
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// An AWS query-protocol error answer, as IAM and STS send it.
pub(super) fn aws_error(status: u16, kind: &str, code: &str, id: u64) -> Vec<u8> {
    let message = match code {
        "Throttling" => "Rate exceeded",
        "ServiceUnavailable" => "Service is unavailable. Please try again later.",
        _ => "We encountered an internal error. Please try again.",
    };
    let request_id = format!("fa017000-0000-4000-8000-{id:012}");
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>\
         </Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    );
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: {request_id}\r\n\r\n{body}",
        reason(status),
        body.len()
    )
    .into_bytes()
}

pub(super) fn plain_response(status: u16, text: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        reason(status),
        text.len()
    )
    .into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_bodies() {
        assert_eq!(
            form_params(
                "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&Tags.member.1.Value=a+b%2&x="
            ),
            [
                ("Action", "AssumeRole"),
                ("RoleArn", "arn:aws:iam::1:role/x"),
                ("Tags.member.1.Value", "a b%2"),
                ("x", ""),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn finds_the_end_of_chunked_bodies() {
        assert_eq!(chunked_end(b"3\r\nabc\r\n0\r\n\r\n"), Some(13));
        assert_eq!(chunked_end(b"3\r\nabc\r\n"), None);
        assert_eq!(chunked_end(b"0\r\nX: y\r\n\r\n"), Some(11));
    }
}
