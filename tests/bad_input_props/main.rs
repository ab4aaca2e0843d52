//! Property tests of issue #6 ("Bad input"), public API only: whatever a client sends,
//! the plugin answers without panicking, and every refusal is a 4xx-class answer with a
//! message a user can act on. This file holds the shared strategies (arbitrary text and
//! JSON), the host's HTTP classification of answers and the engine mount; the properties
//! live in the modules:
//!
//! - `fields`: field coercion (`FieldData::validate` and the typed getters) on arbitrary
//!   JSON for every field type, and through a framework backend's dispatch.
//! - `durations`: Go duration text round-trips; arbitrary text parses or fails in Go's
//!   words.
//! - `routing`: arbitrary paths against the AWS engine's real path table, with an
//!   independent oracle of what that table matches; help and OpenAPI on odd requests.
//! - `usernames`: Vault's default template on any display and role name, session names,
//!   arbitrary templates.
//! - `engine`: sequences of arbitrary writes (and credential reads) on the engine's paths
//!   (`roles/<name>`, `config/root`, `config/lease`, `sts/<name>`, `creds/<name>`): a
//!   refusal is a 4xx with a message and leaves storage exactly as it was.
//!
//! The protocol conversions (`backend::convert`, crate-private) have unit properties in
//! `src/backend/convert/props.rs`. Case counts keep the whole target within seconds in
//! the debug profile (`PROPTEST_CASES=<n>` runs a longer hunt); failure persistence is
//! off so no files appear in the tree.

mod durations;
mod engine;
mod fields;
mod routing;
mod usernames;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Value, json};
use vault_plugin_secrets_aws_rs::aws;
use vault_plugin_secrets_aws_rs::aws::fake::FakeClientFactory;
use vault_plugin_secrets_aws_rs::aws::username::{
    IAM_NAME_MAX_LEN, NameKind, STS_NAME_MAX_LEN, UsernameError, UsernameMetadata,
    default_template, generate_username_at, normalize_display_name, normalize_role_session_name,
    parse_username_template,
};
use vault_plugin_secrets_aws_rs::framework::testing::TestBackend;
use vault_plugin_secrets_aws_rs::framework::{
    Backend, FieldData, FieldMap, FieldSchema, FieldType, ManualClock, Path, PathOperation,
    format_go_duration, parse_duration_second, parse_go_duration,
};
use vault_plugin_secrets_aws_rs::logical::{
    Error, InMemoryStorage, JsonMap, Operation, Request, Response, Storage, StorageExt,
};

/// `cases` cases, no persistence files.
fn config(cases: u32) -> ProptestConfig {
    let base = ProptestConfig::default();
    ProptestConfig {
        // `PROPTEST_CASES=<n>` overrides the count for a longer hunt.
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            base.cases
        } else {
            cases
        },
        failure_persistence: None,
        ..base
    }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Texts that sit on the edges of the coercion rules.
const EDGE_TEXTS: &[&str] = &[
    "",
    " ",
    "  x  ",
    "true",
    "True",
    "TRUE",
    "t",
    "F",
    "yes",
    "0",
    "1",
    "-1",
    "+1",
    "2",
    "0x1f",
    "0X1F",
    "0o17",
    "0b101",
    "017",
    "08",
    "1_000",
    "1__0",
    "_1",
    "1_",
    "0x",
    "-0x8000000000000000",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "1e3",
    "1.5",
    "-1.5",
    ".5",
    "5.",
    "1h",
    "1h30m",
    "-5m",
    "+5s",
    "1.9s",
    "90s",
    "1d",
    "-1d",
    "1.5d",
    "106751d",
    "106752d",
    "9999999999999999999d",
    "2562047h",
    "2562048h",
    "1µs",
    "1μs",
    "1us",
    "300ms",
    "1ns",
    "1x",
    ".s",
    "s",
    "h1",
    "0s",
    "-0",
    "a,b",
    " a , b ,",
    ",",
    ",,",
    "a=1",
    "=v",
    "k=",
    "a=1,b=2",
    "{\"a\":1}",
    "[1,2]",
    "{",
    "null",
    "\u{0}",
    "\t\n\r",
    "\u{7f}",
    "\u{200b}",
    "é",
    "日本語",
    "🦀",
    "\u{202e}abc",
    "\\",
    "\"",
    "%s%d%!",
    "{{ .X }}",
    "..",
    "//",
    "/",
    "@",
    "a@b",
    "a.b-c_d",
    "-a",
    "a-",
    "a..b",
];

/// Arbitrary text: any Unicode (control characters included), printable ASCII, edge
/// cases, numeric-looking text, deeply nested JSON and the occasional very long string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[ -~]{0,20}",
        3 => prop::sample::select(EDGE_TEXTS).prop_map(str::to_string),
        2 => "[-+]?[0-9_]{0,22}(\\.[0-9]{0,4})?(e[-+]?[0-9]{1,3}|ns|us|µs|ms|s|m|h|d)?",
        1 => "0[xXoObB][0-9a-fA-F_]{0,20}",
        1 => "[\\x00-\\x1f\\x7f]{1,6}",
        1 => (1usize..6000, prop::sample::select(vec!["9", "a", "é", ",", "1h", " "]))
            .prop_map(|(n, s)| s.repeat(n)),
        // JSON text nested past serde's recursion limit (a `Map` field parses strings).
        1 => (1usize..3000).prop_map(|n| format!("{}{}", "[{\"a\":".repeat(n), "1}]".repeat(n))),
    ]
}

/// A JSON scalar: nulls, bools, integers of any size, finite floats, and [`text`].
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => prop::sample::select(vec![0i64, 1, -1, 2, 60, 3600, i64::MAX, i64::MIN])
            .prop_map(Value::from),
        1 => any::<f64>()
            .prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        5 => text().prop_map(Value::String),
    ]
}

/// Any JSON value, nested up to three levels.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const ALL_TYPES: [FieldType; 11] = [
    FieldType::String,
    FieldType::LowerCaseString,
    FieldType::NameString,
    FieldType::Int,
    FieldType::Bool,
    FieldType::DurationSecond,
    FieldType::SignedDurationSecond,
    FieldType::StringSlice,
    FieldType::CommaStringSlice,
    FieldType::KvPairs,
    FieldType::Map,
];

fn field_type() -> impl Strategy<Value = FieldType> {
    prop::sample::select(ALL_TYPES.to_vec())
}

/// A field name: usually a plain identifier, sometimes arbitrary text.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z][a-z_]{0,15}", 1 => any::<String>()]
}

// ---------------------------------------------------------------------------------------
// HTTP classes, as the host derives them (sdk/logical/response_util.go RespondErrorCommon)
// ---------------------------------------------------------------------------------------

/// Which call answered: the existence check turns a `UserError` into a 400, a request
/// handler into a 500.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Existence,
    Request,
}

/// The HTTP status the client would see.
fn status_of_error(err: &Error, phase: Phase) -> u16 {
    match err {
        Error::UnsupportedPath => 404,
        Error::UnsupportedOperation => 405,
        Error::InvalidRequest | Error::BadRequest(_) => 400,
        Error::PermissionDenied => 403,
        Error::Coded { status, .. } => *status,
        Error::User(_) if phase == Phase::Existence => 400,
        Error::User(_) | Error::Unrecoverable(_) | Error::Internal(_) => 500,
    }
}

fn status_of(result: &Result<Option<Response>, Error>) -> u16 {
    match result {
        Ok(None) => 204,
        Ok(Some(resp)) if resp.is_error() => 400,
        Ok(Some(_)) => 200,
        Err(e) => status_of_error(e, Phase::Request),
    }
}

/// The user-visible message of a refusal.
fn refusal_message(result: &Result<Option<Response>, Error>) -> Option<String> {
    match result {
        Ok(Some(resp)) => resp.error_message().map(str::to_string),
        Ok(None) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// Asserts the contract for one answer to user input: 2xx, or 4xx with a non-empty
/// message. Returns whether it was a refusal.
fn assert_user_grade(
    what: &str,
    result: &Result<Option<Response>, Error>,
) -> Result<bool, TestCaseError> {
    let status = status_of(result);
    prop_assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "{what}: HTTP {status} for user input: {result:?}"
    );
    if status >= 400 {
        let message = refusal_message(result).unwrap_or_default();
        prop_assert!(
            !message.trim().is_empty(),
            "{what}: refusal without a message: {result:?}"
        );
    }
    Ok(status >= 400)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // The engine's readiness probes sleep; paused time skips them.
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// Every stored entry, for before/after comparisons.
async fn snapshot(storage: &InMemoryStorage) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for key in storage.keys() {
        if let Some(entry) = storage.get(&key).await.expect("get") {
            out.insert(key, entry.value);
        }
    }
    out
}

/// Vault's name rule with Go's ASCII `\w`, `@` allowed inside when `with_at`.
fn is_vault_name(s: &str, with_at: bool) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let inner = |c: char| word(c) || c == '-' || c == '.' || (with_at && c == '@');
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [] => false,
        [only] => word(*only),
        [first, middle @ .., last] => {
            word(*first) && word(*last) && middle.iter().all(|c| inner(*c))
        }
    }
}

/// The engine over the recording fakes, with a pinned clock.
async fn aws_engine() -> (TestBackend, Arc<FakeClientFactory>) {
    let fakes = FakeClientFactory::new();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    fakes.fake_sts().set_now(start);
    let clock = Arc::new(ManualClock::new(start));
    let tb = TestBackend::new(&aws::factory_with_clock(fakes.clone(), clock))
        .await
        .expect("mount");
    (tb, fakes)
}

/// The engine's clock at mount: 2023-11-14T22:13:20Z.
const NOW: u64 = 1_700_000_000;
