//! \[transport\] Logging for a go-plugin: a `tracing` subscriber that writes one hclog-shaped
//! JSON object per line to **stderr**. Stdout belongs to the handshake line alone.
//!
//! The host parses each stderr line (go-plugin `log_entry.go`) and re-logs it at the
//! level it names, under the mount's logger. That only works if the line has exactly
//! hclog's shape: `@level` one of `trace|debug|info|warn|error`, `@message` a string,
//! `@timestamp` in Go layout `2006-01-02T15:04:05.000000Z07:00` (six fractional digits);
//! the host type-asserts these as strings, and a bad timestamp demotes the whole line to
//! plain DEBUG text. Everything else (our `@module`, span and event fields) becomes
//! key/value pairs. Timestamps are written in UTC (`Z`).
//!
//! The filter comes from `AWS_RS_LOG` (`target=level` directives, comma-separated), else a plain level in
//! `BAO_LOG_LEVEL`/`VAULT_LOG_LEVEL` (inherited from the server), else `info`. Secrets are
//! never passed to the logger in the first place; this module cannot redact them.

use std::io::Write;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

const CRATE_PREFIX: &str = "vault_plugin_secrets_aws_rs::";

/// Installs the hclog JSON subscriber on stderr as the global default. Call once, first
/// thing in `main`; a second call is a no-op.
pub fn init() {
    let directive = filter_directive(|k| std::env::var(k).ok());
    let filter = directive
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(HclogLayer::new(std::io::stderr))
        .try_init();
}

/// Caps the AWS SDK's own logging whatever the server's level: at debug and trace it logs
/// whole requests (an MFA code, session policies) and SigV4 canonical requests (the
/// session token of temporary root credentials). Our own lines never carry secrets; the
/// SDK's would. Only `AWS_RS_LOG`, set deliberately by an operator, can lift it.
const AWS_SDK_CAP: &str = "aws_smithy_runtime=info,aws_smithy_runtime_api=info,\
aws_smithy_http_client=info,aws_sigv4=info,aws_config=info,aws_runtime=info,\
aws_sdk_sts=info,aws_sdk_iam=info";

/// The filter directive from the environment (see the module docs).
fn filter_directive(var: impl Fn(&str) -> Option<String>) -> String {
    if let Some(directive) = var("AWS_RS_LOG").filter(|d| !d.trim().is_empty()) {
        return directive;
    }
    let level = ["BAO_LOG_LEVEL", "VAULT_LOG_LEVEL"]
        .into_iter()
        .find_map(|k| var(k).and_then(|v| level_name(&v)));
    match level {
        // Our own debug output is useful; that of the HTTP/2 stack drowns it.
        Some(l @ ("trace" | "debug")) => {
            format!(
                "{l},h2=info,hyper=info,hyper_util=info,tower=info,tonic=info,rustls=info,{AWS_SDK_CAP}"
            )
        }
        Some(l) => format!("{l},{AWS_SDK_CAP}"),
        None => format!("info,{AWS_SDK_CAP}"),
    }
}

fn level_name(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        "trace" => Some("trace"),
        "debug" => Some("debug"),
        "info" => Some("info"),
        "warn" | "warning" => Some("warn"),
        "error" | "err" => Some("error"),
        "off" => Some("off"),
        _ => None,
    }
}

/// hclog's name for a tracing level.
fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `@module` from a tracing target: our crate prefix dropped, `::` as `.`.
fn module_name(target: &str) -> String {
    target
        .strip_prefix(CRATE_PREFIX)
        .unwrap_or(target)
        .replace("::", ".")
}

/// One hclog JSON line (with its newline). Reserved keys are inserted last, so a field
/// can never replace them.
fn format_line(
    at: OffsetDateTime,
    level: &Level,
    module: &str,
    message: &str,
    mut fields: Map<String, Value>,
) -> String {
    // Formatting a UTC datetime with a fixed description cannot fail; fall back to the
    // epoch shape rather than emitting an unparseable line.
    let timestamp = at
        .to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".to_owned());
    fields.insert("@level".into(), level_str(level).into());
    fields.insert("@message".into(), message.into());
    fields.insert("@module".into(), module.into());
    fields.insert("@timestamp".into(), timestamp.into());
    let mut line = Value::Object(fields).to_string();
    line.push('\n');
    line
}

/// A `tracing` layer writing hclog JSON lines to the writers `W` makes.
pub struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    /// A layer writing to `make_writer` (`std::io::stderr` in production).
    pub fn new(make_writer: W) -> Self {
        HclogLayer { make_writer }
    }
}

/// The recorded fields of a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut JsonVisitor(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        // Outer spans first, so inner spans and the event itself win on a name clash.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                    fields.extend(span_fields.0.clone());
                }
            }
        }
        event.record(&mut JsonVisitor(&mut fields));
        let message = match fields.remove("message") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let meta = event.metadata();
        let line = format_line(
            OffsetDateTime::now_utc(),
            meta.level(),
            &module_name(meta.target()),
            &message,
            fields,
        );
        // One write per line keeps lines whole; a closed stderr is not worth a panic.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// Records tracing fields as JSON values: numbers and booleans stay typed, everything
/// else becomes a string.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.0.insert(field.name().into(), json);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(f: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(Targets::new().with_default(Level::TRACE))
            .with(HclogLayer::new(buffer.clone()));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().expect("lock").clone();
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.ends_with('\n'));
        text.lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }

    #[test]
    fn timestamp_has_go_layout_with_microseconds() {
        let at = time::macros::datetime!(2026-01-02 15:04:05.123456789 +02:00);
        let line = format_line(at, &Level::INFO, "plugin", "hi", Map::new());
        let v: Value = serde_json::from_str(&line).expect("json");
        // Converted to UTC, truncated to exactly six fractional digits, `Z` zone.
        assert_eq!(v["@timestamp"], "2026-01-02T13:04:05.123456Z");
        let re =
            regex_lite::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
                .expect("re");
        let zero = time::macros::datetime!(2026-01-02 15:04:05 UTC);
        let line = format_line(zero, &Level::INFO, "m", "x", Map::new());
        let v: Value = serde_json::from_str(&line).expect("json");
        let ts = v["@timestamp"].as_str().expect("string");
        assert!(re.is_match(ts), "{ts}");
        assert_eq!(ts, "2026-01-02T15:04:05.000000Z");
    }

    #[test]
    fn events_become_hclog_lines_with_string_core_fields() {
        let lines = capture(|| {
            let span = tracing::info_span!("setup", broker_id = 7u32, mount = "aws/");
            let _entered = span.enter();
            tracing::warn!(attempts = 3, ok = false, reason = ?"slow", "dial {} failed", "x");
            tracing::debug!("no fields");
        });
        assert_eq!(lines.len(), 2);
        let first = &lines[0];
        assert_eq!(first["@level"], "warn");
        assert_eq!(first["@message"], "dial x failed");
        assert_eq!(first["@module"], "plugin.logging.tests");
        assert!(first["@timestamp"].is_string());
        assert_eq!(first["attempts"], 3);
        assert_eq!(first["ok"], false);
        assert_eq!(first["reason"], "\"slow\"");
        assert_eq!(first["broker_id"], 7, "span fields are included");
        assert_eq!(first["mount"], "aws/");
        assert!(first.get("message").is_none());
        assert_eq!(lines[1]["@level"], "debug");
        assert_eq!(lines[1]["@message"], "no fields");
        for line in &lines {
            for key in ["@level", "@message", "@timestamp", "@module"] {
                assert!(line[key].is_string(), "{key} must be a JSON string: {line}");
            }
        }
    }

    #[test]
    fn every_level_has_its_hclog_name() {
        let lines = capture(|| {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let levels: Vec<&str> = lines.iter().filter_map(|l| l["@level"].as_str()).collect();
        assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
    }

    #[test]
    fn fields_cannot_forge_reserved_keys() {
        let line = format_line(
            OffsetDateTime::UNIX_EPOCH,
            &Level::ERROR,
            "m",
            "real",
            [("@level".to_owned(), Value::from("trace"))]
                .into_iter()
                .collect(),
        );
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["@level"], "error");
    }

    #[test]
    fn filter_comes_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let level_of = |d: String| d.split(',').next().unwrap_or_default().to_owned();
        assert_eq!(level_of(filter_directive(env(&[]))), "info");
        assert_eq!(
            level_of(filter_directive(env(&[("VAULT_LOG_LEVEL", "WARNING")]))),
            "warn"
        );
        assert_eq!(
            level_of(filter_directive(env(&[
                ("BAO_LOG_LEVEL", "error"),
                ("VAULT_LOG_LEVEL", "trace")
            ]))),
            "error"
        );
        assert!(filter_directive(env(&[("BAO_LOG_LEVEL", "debug")])).starts_with("debug,h2=info"));
        assert_eq!(
            level_of(filter_directive(env(&[("BAO_LOG_LEVEL", "chatty")]))),
            "info"
        );
        // The AWS SDK logs whole requests and SigV4 canonical requests at debug/trace:
        // capped at every server level, and the directive must parse.
        let levels: [&'static [(&str, &str)]; 4] = [
            &[("BAO_LOG_LEVEL", "trace")],
            &[("BAO_LOG_LEVEL", "debug")],
            &[("BAO_LOG_LEVEL", "info")],
            &[("BAO_LOG_LEVEL", "warn")],
        ];
        for pairs in levels {
            let d = filter_directive(env(pairs));
            for crate_name in ["aws_smithy_runtime=info", "aws_sigv4=info"] {
                assert!(d.contains(crate_name), "{d}");
            }
            assert!(d.parse::<Targets>().is_ok(), "{d}");
        }
        assert_eq!(
            filter_directive(env(&[
                ("AWS_RS_LOG", "plugin=trace"),
                ("BAO_LOG_LEVEL", "error")
            ])),
            "plugin=trace"
        );
    }

    #[test]
    fn module_names_are_short() {
        assert_eq!(
            module_name("vault_plugin_secrets_aws_rs::plugin::broker"),
            "plugin.broker"
        );
        assert_eq!(module_name("h2::codec"), "h2.codec");
    }
}
