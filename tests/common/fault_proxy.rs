//! A fault-injecting HTTP/1.1 proxy between the engine and the AWS emulator (test layer):
//! it listens on a free loopback port, forwards every request to moto unchanged (the Host
//! header too, so SigV4 signatures still verify), and, per a rule set the test changes
//! while it runs, answers some requests itself instead: AWS's throttling error, a 5xx, a
//! reset connection (RST after reading the request), or a delay before forwarding. It can
//! also play "AWS unreachable" by closing its listener, so connections are refused, and
//! by resetting the connections it holds.
//!
//! Rules match on the AWS action — the `Action=` parameter of a query-protocol request
//! (IAM and STS send it in a form-encoded POST body; a query string works too) — or on
//! any request, for the next K matching requests or for all of them. Every request the
//! proxy read is recorded (action, when, what it answered), so a test counts attempts,
//! and so is its body, which [`FaultProxy::seen_params`] decodes into form parameters so
//! a test checks what the engine sent.
//! A request is recorded as soon as it is read, and its answer before the client can read
//! that answer, so a test never misses an attempt the engine already saw fail. Refused
//! connections are not requests and are not recorded.
//!
//! HTTP handling is what the AWS SDK and moto need: keep-alive with `Content-Length`
//! bodies from the client; moto's answers delimited by `Content-Length`, by chunks or by
//! closing the connection (moto closes after each answer, and so does the proxy then).
//! Chunked *request* bodies are not supported: such a request gets a 501 and is recorded
//! with no action, which fails any test that counts it. It knows nothing of OpenBao.
//!
//! The proxy runs on a private tokio runtime; dropping [`FaultProxy`] stops it. Parsing
//! and the injected answers are in `fault_proxy/wire.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use wire::{Message, aws_action, aws_error, plain_response, read_message, status_of};

mod wire;

/// What the proxy does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers HTTP 400 with AWS's `Throttling` / `Rate exceeded` error.
    Throttle,
    /// Answers this 5xx status: 503 as `ServiceUnavailable`, any other as
    /// `InternalFailure`.
    ServerError(u16),
    /// Reads the request, then closes the connection with a reset (SO_LINGER 0).
    Reset,
    /// Waits this long, then forwards the request.
    Delay(Duration),
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Every request.
    Any,
    /// Requests whose AWS action is this one (`AssumeRole`, `CreateUser`, ...).
    Action(String),
}

/// One rule: a fault for the requests it matches, for the next `times` of them (`None`:
/// for all of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Which requests.
    pub matcher: Matcher,
    /// What to do to them.
    pub fault: Fault,
    /// How many more matching requests it applies to; `None` for all.
    pub times: Option<u32>,
}

impl Rule {
    /// `fault` for every request of `action`.
    pub fn on(action: &str, fault: Fault) -> Self {
        Rule {
            matcher: Matcher::Action(action.to_string()),
            fault,
            times: None,
        }
    }

    /// `fault` for every request.
    pub fn any(fault: Fault) -> Self {
        Rule {
            matcher: Matcher::Any,
            fault,
            times: None,
        }
    }

    /// Limits the rule to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, action: Option<&str>) -> bool {
        match &self.matcher {
            Matcher::Any => true,
            Matcher::Action(want) => action == Some(want.as_str()),
        }
    }
}

/// What the proxy answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Not answered yet (delayed, or waiting for moto).
    Pending,
    /// Forwarded; moto answered with this status.
    Forwarded(u16),
    /// Answered by the proxy with this status (a throttling error or a 5xx).
    Injected(u16),
    /// The connection was reset after the request was read.
    Reset,
    /// Forwarding failed (moto could not be reached, or its answer was unreadable); the
    /// client's connection was reset.
    UpstreamFailed(String),
    /// The client gave up (closed its connection) while the proxy delayed or forwarded.
    ClientGone,
    /// The request could not be handled (a chunked body); answered 501.
    Unsupported,
}

/// One request the proxy read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The AWS action, when the request named one.
    pub action: Option<String>,
    /// When the request was read, since the proxy started.
    pub at: Duration,
    /// The delay applied before forwarding, if any.
    pub delayed: Option<Duration>,
    /// What the proxy answered.
    pub answer: Answer,
}

struct Shared {
    upstream: String,
    started: Instant,
    rules: Mutex<Vec<Rule>>,
    /// Every request read, by its number.
    seen: Mutex<Vec<(u64, Seen)>>,
    /// The body of every request read, by its number (kept apart from [`Seen`], whose
    /// shape the fault tests compare).
    bodies: Mutex<Vec<(u64, String)>>,
    sequence: AtomicU64,
    reachable: watch::Sender<bool>,
    request_ids: AtomicU64,
}

impl Shared {
    /// The fault for a request of `action`, consuming one use of the rule that gave it.
    fn decide(&self, action: Option<&str>) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let index = rules
            .iter()
            .position(|r| r.matches(action) && r.times != Some(0))?;
        let rule = &mut rules[index];
        let fault = rule.fault;
        if let Some(left) = rule.times.as_mut() {
            *left -= 1;
            if *left == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }

    /// A fresh number for an injected answer's request ID.
    fn request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Records a request; returns its number for [`Self::answer`].
    fn record(&self, body: String, seen: Seen) -> u64 {
        let number = self.sequence.fetch_add(1, Ordering::Relaxed);
        self.bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((number, body));
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((number, seen));
        number
    }

    /// Records what request `number` was answered. A test may have cleared the record
    /// meanwhile: then there is nothing to update.
    fn answer(&self, number: u64, answer: Answer) {
        let mut all = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, seen)) = all.iter_mut().find(|(n, _)| *n == number) {
            seen.answer = answer;
        }
    }
}

/// The proxy; see the module doc. Stopped when dropped.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (`127.0.0.1:<port>`),
    /// with no rules: everything is forwarded.
    pub fn start(upstream: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("fault proxy runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("proxy address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let (reachable, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            started: Instant::now(),
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            bodies: Mutex::new(Vec::new()),
            reachable,
            request_ids: AtomicU64::new(1),
            sequence: AtomicU64::new(0),
        });
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener).expect("tokio listener")
        };
        runtime.spawn(accept_loop(listener, port, Arc::clone(&shared)));
        FaultProxy {
            port,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:<port>`: the value for the engine's `iam_endpoint`/`sts_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Adds a rule after the existing ones (the first rule that matches a request wins).
    pub fn push_rule(&self, rule: Rule) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(rule);
    }

    /// Removes every rule: everything is forwarded again.
    pub fn clear_rules(&self) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// `true`: "AWS is unreachable" — the listener is closed (new connections are refused)
    /// and open connections are reset. `false`: listens again on the same port.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.shared.reachable.send_replace(!unreachable);
    }

    /// Every request read so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, seen)| seen.clone())
            .collect()
    }

    /// The requests of `action` read so far.
    pub fn seen_action(&self, action: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.action.as_deref() == Some(action))
            .collect()
    }

    /// How many requests of `action` were read so far.
    pub fn count(&self, action: &str) -> usize {
        self.seen_action(action).len()
    }

    /// Forgets the recorded requests (rules are kept).
    pub fn clear_seen(&self) {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.shared
            .bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The body of every request read so far, in order, with its AWS action: form
    /// parameters for IAM and STS, JSON for JSON-protocol services (Organizations).
    pub fn seen_bodies(&self) -> Vec<(Option<String>, String)> {
        let seen = self
            .shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let bodies = self
            .shared
            .bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        bodies
            .iter()
            .map(|(number, body)| {
                let action = seen
                    .iter()
                    .find(|(n, _)| n == number)
                    .and_then(|(_, s)| s.action.clone());
                (action, body.clone())
            })
            .collect()
    }

    /// The decoded form parameters of each request of `action` read so far, in order
    /// (e.g. `RoleArn`, `SourceIdentity`, `Tags.member.1.Key` of AssumeRole).
    pub fn seen_params(&self, action: &str) -> Vec<Vec<(String, String)>> {
        self.seen_bodies()
            .into_iter()
            .filter(|(a, _)| a.as_deref() == Some(action))
            .map(|(_, body)| wire::form_params(&body))
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Delayed requests may be sleeping: do not wait for them.
            runtime.shutdown_background();
        }
    }
}

/// Accepts connections while reachable; while unreachable holds no listener at all, so the
/// kernel refuses connections to the port.
async fn accept_loop(first: TcpListener, port: u16, shared: Arc<Shared>) {
    let mut reachable = shared.reachable.subscribe();
    let mut listener = Some(first);
    loop {
        if !*reachable.borrow_and_update() {
            listener = None;
            if reachable.changed().await.is_err() {
                return;
            }
            continue;
        }
        let current = match listener.take() {
            Some(l) => l,
            None => match rebind(port).await {
                Some(l) => l,
                None => return,
            },
        };
        tokio::select! {
            accepted = current.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, Arc::clone(&shared)));
                }
                listener = Some(current);
            }
            changed = reachable.changed() => {
                if changed.is_err() {
                    return;
                }
                // The loop's top drops the listener if the change made us unreachable.
                listener = Some(current);
            }
        }
    }
}

/// Listens on `port` again after an "unreachable" spell. The port was ours a moment ago;
/// an outgoing connection may briefly hold it as its local port, so retry for a while.
async fn rebind(port: u16) -> Option<TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Some(l),
            Err(e) if Instant::now() >= deadline => {
                eprintln!("fault proxy: cannot listen on port {port} again: {e}");
                return None;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Serves one client connection until it closes, a fault resets it, or the proxy turns
/// unreachable (then it is reset too).
async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut reachable = shared.reachable.subscribe();
    let unreachable = async {
        while *reachable.borrow_and_update() {
            if reachable.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let reset = tokio::select! {
        reset = serve(&mut stream, &shared) => reset,
        () = unreachable => true,
    };
    if reset {
        let _ = stream.set_zero_linger();
    }
    // Dropping the stream closes it: with zero linger, as a reset.
}

/// The request/response loop of one connection; returns whether to reset it.
async fn serve(stream: &mut TcpStream, shared: &Shared) -> bool {
    let mut buffer = Vec::new();
    loop {
        let request = match read_message(stream, &mut buffer, false).await {
            Ok(Some(request)) => request,
            // A clean close between requests, or garbage: nothing to answer.
            Ok(None) => return false,
            Err(_) => return true,
        };
        let action = (!request.chunked).then(|| aws_action(&request)).flatten();
        let fault = if request.chunked {
            None
        } else {
            shared.decide(action.as_deref())
        };
        let body = String::from_utf8_lossy(request.body()).into_owned();
        // Recorded at once, so a test sees a delayed request while it is delayed.
        let number = shared.record(
            body,
            Seen {
                action,
                at: shared.started.elapsed(),
                delayed: match fault {
                    Some(Fault::Delay(delay)) => Some(delay),
                    _ => None,
                },
                answer: Answer::Pending,
            },
        );
        if request.chunked {
            shared.answer(number, Answer::Unsupported);
            let text = "chunked request bodies are not supported";
            let _ = stream.write_all(&plain_response(501, text)).await;
            return false;
        }
        let (response, close, answer) = match respond(shared, &request, fault).await {
            Ok(answered) => answered,
            Err(answer) => {
                shared.answer(number, answer);
                return true;
            }
        };
        // Recorded before the client can read the answer, so that a test that got it
        // also finds it recorded.
        shared.answer(number, answer);
        if stream.write_all(&response).await.is_err() {
            shared.answer(number, Answer::ClientGone);
            return false;
        }
        if close || request.close {
            let _ = stream.shutdown().await;
            return false;
        }
    }
}

/// The answer to `request` under `fault`: the raw response, whether to close the
/// connection after it, and how to record it; `Err` (with the record) when the connection
/// must be reset instead.
async fn respond(
    shared: &Shared,
    request: &Message,
    fault: Option<Fault>,
) -> Result<(Vec<u8>, bool, Answer), Answer> {
    let injected = |response: Vec<u8>| {
        let status = status_of(&response).unwrap_or(0);
        Ok((response, false, Answer::Injected(status)))
    };
    match fault {
        Some(Fault::Reset) => return Err(Answer::Reset),
        Some(Fault::Throttle) => {
            return injected(aws_error(400, "Sender", "Throttling", shared.request_id()));
        }
        Some(Fault::ServerError(status)) => {
            let code = if status == 503 {
                "ServiceUnavailable"
            } else {
                "InternalFailure"
            };
            return injected(aws_error(status, "Receiver", code, shared.request_id()));
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let (response, close) = forward(shared, request)
        .await
        .map_err(Answer::UpstreamFailed)?;
    let status = status_of(&response).unwrap_or(0);
    Ok((response, close, Answer::Forwarded(status)))
}

/// Sends `request` to moto on a new connection and reads one whole answer. Returns the
/// answer's raw bytes and whether the client connection must be closed after it (moto
/// asked to close, or delimited the body by closing).
async fn forward(shared: &Shared, request: &Message) -> Result<(Vec<u8>, bool), String> {
    let mut upstream = TcpStream::connect(&shared.upstream)
        .await
        .map_err(|e| format!("connect to {}: {e}", shared.upstream))?;
    upstream
        .write_all(&request.raw)
        .await
        .map_err(|e| format!("send to upstream: {e}"))?;
    let mut buffer = Vec::new();
    let response = read_message(&mut upstream, &mut buffer, true)
        .await?
        .ok_or_else(|| "upstream closed without answering".to_string())?;
    Ok((response.raw, response.close))
}
