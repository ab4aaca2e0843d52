//! The functions a username template may call: Vault's (`random`, `truncate`,
//! `truncate_sha256`, `uppercase`, `lowercase`, `replace`, `sha256`, `base64`,
//! `unix_time`, `unix_time_millis`, `timestamp`, `uuid`), the ones OpenBao adds
//! (`decode_base64`, `hex`, `decode_hex`), and the Go built-ins templates use
//! (`printf`, `print`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `not`, `and`,
//! `or`, `len`). Argument types are checked as Go checks them: a number where a string
//! is expected is an error, never a silent conversion.

use std::time::SystemTime;

use base64::Engine as _;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::MAX_VALUE_LEN;
use super::go_fmt::{sprint, sprintf, sprintln};
use super::go_time;
use super::value::Value;

/// Longest `random` output we generate; far above any name AWS accepts, low enough that a
/// typo cannot make the plugin allocate gigabytes.
const MAX_RANDOM_LEN: i64 = 4096;

/// A callable template function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Printf,
    Print,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Not,
    And,
    Or,
    Len,
    Random,
    Truncate,
    TruncateSha256,
    Uppercase,
    Lowercase,
    Replace,
    Sha256,
    Base64,
    DecodeBase64,
    Hex,
    DecodeHex,
    UnixTime,
    UnixTimeMillis,
    Timestamp,
    Uuid,
}

/// Every function with its template name.
const FUNCS: [(&str, Func); 28] = [
    ("printf", Func::Printf),
    ("print", Func::Print),
    ("println", Func::Println),
    ("eq", Func::Eq),
    ("ne", Func::Ne),
    ("lt", Func::Lt),
    ("le", Func::Le),
    ("gt", Func::Gt),
    ("ge", Func::Ge),
    ("not", Func::Not),
    ("and", Func::And),
    ("or", Func::Or),
    ("len", Func::Len),
    ("random", Func::Random),
    ("truncate", Func::Truncate),
    ("truncate_sha256", Func::TruncateSha256),
    ("uppercase", Func::Uppercase),
    ("lowercase", Func::Lowercase),
    ("replace", Func::Replace),
    ("sha256", Func::Sha256),
    ("base64", Func::Base64),
    ("decode_base64", Func::DecodeBase64),
    ("hex", Func::Hex),
    ("decode_hex", Func::DecodeHex),
    ("unix_time", Func::UnixTime),
    ("unix_time_millis", Func::UnixTimeMillis),
    ("timestamp", Func::Timestamp),
    ("uuid", Func::Uuid),
];

impl Func {
    /// The function called `name`, if there is one.
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        FUNCS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The name templates call it by.
    pub(crate) fn name(self) -> &'static str {
        FUNCS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// Checks a call with `given` arguments (including a piped one).
    pub(crate) fn check_arity(self, given: usize) -> Result<(), String> {
        let (min, max) = match self {
            Func::UnixTime | Func::UnixTimeMillis | Func::Uuid => (0, Some(0)),
            Func::Print | Func::Println => (0, None),
            Func::Printf | Func::And | Func::Or => (1, None),
            Func::Eq => (2, None),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (2, Some(2)),
            Func::Truncate | Func::TruncateSha256 => (2, Some(2)),
            Func::Replace => (3, Some(3)),
            _ => (1, Some(1)),
        };
        if given < min || max.is_some_and(|max| given > max) {
            let want = match max {
                Some(max) if max == min => format!("{min}"),
                Some(max) => format!("{min} to {max}"),
                None => format!("at least {min}"),
            };
            return Err(format!(
                "wrong number of args for {}: want {want} got {given}",
                self.name()
            ));
        }
        Ok(())
    }

    /// Calls the function. `and`/`or` are evaluated lazily by the executor and never
    /// reach here with unevaluated arguments.
    pub(crate) fn call(self, args: &[Value], now: SystemTime) -> Result<Value, String> {
        let a = Args { func: self, args };
        let text = match self {
            Func::Printf => sprintf(a.str(0)?, &args[1..]),
            Func::Print => sprint(args),
            Func::Println => sprintln(args),
            Func::Eq | Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => {
                return compare(self, args).map(Value::Bool);
            }
            Func::Not => return Ok(Value::Bool(!a.get(0)?.is_true())),
            Func::And => return Ok(pick(args, false)),
            Func::Or => return Ok(pick(args, true)),
            Func::Len => return Ok(Value::Int(a.str(0)?.len() as i64)),
            Func::Random => random(a.int(0)?)?,
            Func::Truncate => truncate(a.int(0)?, a.str(1)?)?,
            Func::TruncateSha256 => truncate_sha256(a.int(0)?, a.str(1)?)?,
            Func::Uppercase => a.str(0)?.to_uppercase(),
            Func::Lowercase => a.str(0)?.to_lowercase(),
            Func::Replace => replace(a.str(0)?, a.str(1)?, a.str(2)?)?,
            Func::Sha256 => sha256_hex(a.str(0)?),
            Func::Base64 => base64::engine::general_purpose::STANDARD.encode(a.str(0)?),
            Func::DecodeBase64 => decode_base64(a.str(0)?)?,
            Func::Hex => hex(a.str(0)?.as_bytes()),
            Func::DecodeHex => decode_hex(a.str(0)?)?,
            Func::UnixTime => unix(now).as_secs().to_string(),
            Func::UnixTimeMillis => unix(now).as_millis().to_string(),
            Func::Timestamp => go_time::format(a.str(0)?, OffsetDateTime::from(now)),
            Func::Uuid => uuid::Uuid::new_v4().to_string(),
        };
        Ok(Value::Str(text))
    }
}

/// Typed access to call arguments with Go-like error messages.
struct Args<'a> {
    func: Func,
    args: &'a [Value],
}

impl<'a> Args<'a> {
    fn get(&self, i: usize) -> Result<&'a Value, String> {
        self.args.get(i).ok_or_else(|| {
            format!(
                "wrong number of args for {}: missing argument {}",
                self.func.name(),
                i + 1
            )
        })
    }

    fn str(&self, i: usize) -> Result<&'a str, String> {
        match self.get(i)? {
            Value::Str(s) => Ok(s),
            other => Err(self.wrong_type(i, "string", other)),
        }
    }

    fn int(&self, i: usize) -> Result<i64, String> {
        match self.get(i)? {
            Value::Int(n) => Ok(*n),
            other => Err(self.wrong_type(i, "int", other)),
        }
    }

    fn wrong_type(&self, i: usize, want: &str, got: &Value) -> String {
        format!(
            "wrong type for argument {} of {}: expected {want}; got {} {:?}",
            i + 1,
            self.func.name(),
            got.type_name(),
            got.to_string()
        )
    }
}

fn unix(now: SystemTime) -> std::time::Duration {
    // A clock before 1970 is a broken host; treating it as the epoch keeps names valid.
    now.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Go's `and`/`or` once every argument is known: the first value that decides the
/// result (falsy for `and`, truthy for `or`), otherwise the last one.
pub(crate) fn pick(args: &[Value], want_truthy: bool) -> Value {
    args.iter()
        .find(|v| v.is_true() == want_truthy)
        .or(args.last())
        .cloned()
        .unwrap_or(Value::Bool(false))
}

fn compare(func: Func, args: &[Value]) -> Result<bool, String> {
    let first = &args[0];
    let mut results = Vec::new();
    for other in &args[1..] {
        let ordering = match (first, other) {
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) if matches!(func, Func::Eq | Func::Ne) => a.cmp(b),
            (Value::Bool(_), Value::Bool(_)) => {
                return Err(format!("{}: invalid type for comparison", func.name()));
            }
            _ => {
                return Err(format!(
                    "{}: incompatible types for comparison: {} and {}",
                    func.name(),
                    first.type_name(),
                    other.type_name()
                ));
            }
        };
        results.push(ordering);
    }
    use std::cmp::Ordering::*;
    Ok(match func {
        Func::Eq => results.contains(&Equal),
        Func::Ne => results[0] != Equal,
        Func::Lt => results[0] == Less,
        Func::Le => results[0] != Greater,
        Func::Gt => results[0] == Greater,
        _ => results[0] != Less,
    })
}

/// `random N`: N characters from `[0-9A-Za-z]`, as go-secure-stdlib's base62.
fn random(len: i64) -> Result<String, String> {
    if !(0..=MAX_RANDOM_LEN).contains(&len) {
        return Err(format!(
            "random: length must be between 0 and {MAX_RANDOM_LEN} but was {len}"
        ));
    }
    let rng = rand::rng();
    Ok(rng
        .sample_iter(Alphanumeric)
        .take(len as usize)
        .map(char::from)
        .collect())
}

/// `replace old new s`, refused before allocating when the result would pass
/// [`MAX_VALUE_LEN`] (an empty `old` inserts `new` around every character).
fn replace(old: &str, new: &str, s: &str) -> Result<String, String> {
    let count = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let len = (s.len() - count * old.len()).saturating_add(count.saturating_mul(new.len()));
    if len > MAX_VALUE_LEN {
        return Err(format!(
            "result of {len} bytes exceeds the limit of {MAX_VALUE_LEN} bytes"
        ));
    }
    Ok(s.replace(old, new))
}

/// `truncate N s`: the first N bytes of s. Go slices bytes; we step back to a character
/// boundary instead of producing invalid UTF-8.
fn truncate(max_len: i64, s: &str) -> Result<String, String> {
    if max_len <= 0 {
        return Err(format!("max length must be > 0 but was {max_len}"));
    }
    Ok(prefix(s, max_len as usize).to_string())
}

/// `truncate_sha256 N s`: if s is longer than N, keep N-8 bytes and append the first 8
/// hex digits of the SHA-256 of the cut-off part.
fn truncate_sha256(max_len: i64, s: &str) -> Result<String, String> {
    if max_len <= 8 {
        return Err(format!("max length must be > 8 but was {max_len}"));
    }
    let max_len = max_len as usize;
    if s.len() <= max_len {
        return Ok(s.to_string());
    }
    let kept = prefix(s, max_len - 8);
    let hash = sha256_hex(&s[kept.len()..]);
    Ok(format!("{kept}{}", &hash[..8]))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Result<String, String> {
    if s.len() % 2 != 0 {
        return Err("decode_hex: odd length hex string".to_string());
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| "decode_hex: invalid byte in hex string".to_string())?;
    String::from_utf8(bytes).map_err(|_| "decode_hex: result is not UTF-8 text".to_string())
}

fn decode_base64(s: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("decode_base64: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "decode_base64: result is not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    fn call(f: Func, args: &[Value]) -> Result<Value, String> {
        f.call(args, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn every_name_resolves_to_itself() {
        for (name, func) in FUNCS {
            assert_eq!(Func::lookup(name), Some(func));
            assert_eq!(func.name(), name);
        }
        assert_eq!(Func::lookup("glob"), None);
    }

    #[test]
    fn truncate_matches_vault_vectors() {
        assert_eq!(truncate(5, "foobarbaz").expect("ok"), "fooba");
        assert_eq!(truncate(9, "foobarbaz").expect("ok"), "foobarbaz");
        assert_eq!(truncate(100, "foobarbaz").expect("ok"), "foobarbaz");
        assert!(truncate(0, "foobarbaz").is_err());
        assert!(truncate(-1, "foobarbaz").is_err());
        // Never split a character: "é" is two bytes.
        assert_eq!(truncate(2, "aé").expect("ok"), "a");
    }

    #[test]
    fn truncate_sha256_matches_vault_vectors() {
        let input = "thisisareallylongstring";
        assert_eq!(truncate_sha256(9, input).expect("ok"), "t4bb25641");
        assert_eq!(truncate_sha256(12, input).expect("ok"), "this704cd12b");
        assert_eq!(
            truncate_sha256(22, input).expect("ok"),
            "thisisareallyl7f978be6"
        );
        assert_eq!(truncate_sha256(23, input).expect("ok"), input);
        assert!(truncate_sha256(8, input).is_err());
    }

    #[test]
    fn hashing_and_encoding_match_vault_vectors() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("foobar"),
            "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"
        );
        assert_eq!(call(Func::Base64, &[s("Some")]), Ok(s("U29tZQ==")));
        assert_eq!(call(Func::DecodeBase64, &[s("U29tZQ==")]), Ok(s("Some")));
        assert_eq!(call(Func::Hex, &[s("hi")]), Ok(s("6869")));
        assert_eq!(call(Func::DecodeHex, &[s("6869")]), Ok(s("hi")));
        assert!(call(Func::DecodeHex, &[s("686")]).is_err());
        assert!(call(Func::DecodeBase64, &[s("!!")]).is_err());
    }

    #[test]
    fn random_is_base62_of_the_asked_length() {
        for n in [0, 1, 20, 99] {
            let Value::Str(out) = call(Func::Random, &[Value::Int(n)]).expect("random") else {
                panic!("not a string");
            };
            assert_eq!(out.len(), n as usize);
            assert!(out.chars().all(|c| c.is_ascii_alphanumeric()), "{out}");
        }
        assert!(call(Func::Random, &[Value::Int(-1)]).is_err());
        assert!(call(Func::Random, &[Value::Int(MAX_RANDOM_LEN + 1)]).is_err());
    }

    #[test]
    fn comparisons_follow_go() {
        assert_eq!(
            call(Func::Eq, &[s("a"), s("b"), s("a")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call(Func::Ne, &[Value::Int(1), Value::Int(1)]),
            Ok(Value::Bool(false))
        );
        assert_eq!(call(Func::Lt, &[s("a"), s("b")]), Ok(Value::Bool(true)));
        assert_eq!(
            call(Func::Ge, &[Value::Int(1), Value::Int(2)]),
            Ok(Value::Bool(false))
        );
        let err = call(Func::Eq, &[s("1"), Value::Int(1)]).expect_err("mixed");
        assert!(err.contains("incompatible types"), "{err}");
        assert!(call(Func::Lt, &[Value::Bool(true), Value::Bool(false)]).is_err());
    }

    #[test]
    fn wrong_argument_types_are_errors() {
        let err = call(Func::Truncate, &[s("42"), s("abc")]).expect_err("type");
        assert!(err.contains("expected int; got string \"42\""), "{err}");
        assert!(call(Func::Lowercase, &[Value::Int(4)]).is_err());
    }

    #[test]
    fn arity_is_checked() {
        assert!(Func::Truncate.check_arity(2).is_ok());
        assert_eq!(
            Func::Truncate.check_arity(1),
            Err("wrong number of args for truncate: want 2 got 1".to_string())
        );
        assert!(Func::UnixTime.check_arity(1).is_err());
        assert!(Func::Printf.check_arity(0).is_err());
        assert!(Func::Eq.check_arity(5).is_ok());
    }

    #[test]
    fn clock_functions_use_the_given_time() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(Func::UnixTime.call(&[], t), Ok(s("1700000000")));
        assert_eq!(Func::UnixTimeMillis.call(&[], t), Ok(s("1700000000123")));
        assert_eq!(
            Func::Timestamp.call(&[s("2006-01-02T15:04:05.000Z")], t),
            Ok(s("2023-11-14T22:13:20.123Z"))
        );
    }
}
