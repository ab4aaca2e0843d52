//! [framework] Durations the way Go and Vault spell them: Go's `time.ParseDuration` and
//! `Duration.String()` (`1h30m`, `30m0s`, `1.5s`, `250ms`), Vault's
//! `parseutil.ParseDurationSecond` (a bare integer is seconds, `7d` is days, a JSON number
//! is seconds), and the few `strconv` integer parsers whose error texts reach users.
//!
//! Everything works on signed nanoseconds (`i64`), which is Go's `time.Duration`, so
//! values stored by the Go engine round-trip unchanged. Error texts are Go's, word for
//! word, because clients and tests compare them. This module does not know about fields
//! or requests; `coerce` builds field conversion on top of it.

use std::time::Duration;

use serde_json::Value;

/// Nanoseconds in one second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000;
const MILLISECOND: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

/// The largest magnitude a Go duration can hold, as unsigned (2^63).
const MAGNITUDE_LIMIT: u64 = 1 << 63;

/// Formats nanoseconds exactly as Go's `time.Duration.String()`: `0s`, `1.5µs`, `250ms`,
/// `5s`, `30m0s`, `1h0m0s`, `-1m30s`.
pub fn format_go_duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let body = if u < SECOND {
        format_sub_second(u)
    } else {
        format_seconds_and_up(u)
    };
    if neg { format!("-{body}") } else { body }
}

/// [`format_go_duration`] for a `std::time::Duration` (saturating at Go's maximum).
pub fn format_std_duration(d: Duration) -> String {
    format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn format_sub_second(u: u64) -> String {
    // Below one second Go switches to the largest unit that keeps an integer part.
    match u {
        0 => "0s".to_string(),
        u if u < MICROSECOND => format!("{u}ns"),
        u if u < MILLISECOND => format!("{}{}µs", u / MICROSECOND, fraction(u % MICROSECOND, 3)),
        u => format!("{}{}ms", u / MILLISECOND, fraction(u % MILLISECOND, 6)),
    }
}

fn format_seconds_and_up(u: u64) -> String {
    let frac = fraction(u % SECOND, 9);
    let secs = u / SECOND;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}{frac}s")
    } else if secs >= 60 {
        format!("{m}m{s}{frac}s")
    } else {
        format!("{s}{frac}s")
    }
}

/// `.123` for the `prec`-digit fraction `v`, trailing zeros removed; empty for zero.
fn fraction(v: u64, prec: usize) -> String {
    if v == 0 {
        return String::new();
    }
    let digits = format!("{v:0prec$}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// Go's `strconv.Quote` for the strings that appear in error messages.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn invalid_duration(orig: &str) -> String {
    format!("time: invalid duration {}", go_quote(orig))
}

/// Parses a duration exactly as Go's `time.ParseDuration`: a possibly signed sequence of
/// decimal numbers with optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`,
/// `h`), e.g. `300ms`, `-1.5h`, `2h45m`. Returns nanoseconds or Go's error text.
pub fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid_duration(orig));
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let (v, rest) = parse_component(s, orig)?;
        s = rest;
        total = total
            .checked_add(v)
            .filter(|t| *t <= MAGNITUDE_LIMIT)
            .ok_or_else(|| invalid_duration(orig))?;
    }
    if neg {
        // -2^63 is representable, which is why the limit above is inclusive.
        return Ok(-(total as i128) as i64);
    }
    i64::try_from(total).map_err(|_| invalid_duration(orig))
}

/// One `<number><unit>` component of a Go duration: its value in nanoseconds and the rest.
fn parse_component<'a>(s: &'a str, orig: &str) -> Result<(u64, &'a str), String> {
    let bytes = s.as_bytes();
    if !(bytes[0] == b'.' || bytes[0].is_ascii_digit()) {
        return Err(invalid_duration(orig));
    }
    let int_len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut v: u64 = 0;
    for b in &bytes[..int_len] {
        // Go rejects an integer part that does not fit in 63 bits.
        if v > MAGNITUDE_LIMIT / 10 {
            return Err(invalid_duration(orig));
        }
        v = v * 10 + u64::from(b - b'0');
        if v > MAGNITUDE_LIMIT {
            return Err(invalid_duration(orig));
        }
    }
    let mut rest = &s[int_len..];
    let (mut frac, mut scale, mut frac_len) = (0u64, 1f64, 0usize);
    if let Some(after_dot) = rest.strip_prefix('.') {
        (frac, scale, frac_len) = leading_fraction(after_dot);
        rest = &after_dot[frac_len..];
    }
    if int_len == 0 && frac_len == 0 {
        return Err(invalid_duration(orig));
    }
    let unit_len = rest
        .bytes()
        .take_while(|b| !(*b == b'.' || b.is_ascii_digit()))
        .count();
    if unit_len == 0 {
        return Err(format!("time: missing unit in duration {}", go_quote(orig)));
    }
    let unit_name = &rest[..unit_len];
    let unit = unit_nanos(unit_name).ok_or_else(|| {
        format!(
            "time: unknown unit {} in duration {}",
            go_quote(unit_name),
            go_quote(orig)
        )
    })?;
    if v > MAGNITUDE_LIMIT / unit {
        return Err(invalid_duration(orig));
    }
    v *= unit;
    if frac > 0 {
        // Go computes the fractional part in float64, then truncates; so do we.
        v += (frac as f64 * (unit as f64 / scale)) as u64;
        if v > MAGNITUDE_LIMIT {
            return Err(invalid_duration(orig));
        }
    }
    Ok((v, &rest[unit_len..]))
}

/// Go's `leadingFraction`: digits after the dot, their scale, and how many were consumed.
/// Digits beyond what fits are consumed but ignored, as Go does.
fn leading_fraction(s: &str) -> (u64, f64, usize) {
    let mut x: u64 = 0;
    let mut scale = 1f64;
    let mut overflow = false;
    let mut consumed = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        consumed += 1;
        if overflow {
            continue;
        }
        if x > (MAGNITUDE_LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > MAGNITUDE_LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, consumed)
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => NANOSECOND,
        // Go accepts the micro sign (U+00B5) and the Greek mu (U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

/// Vault's `parseutil.ParseDurationSecond` on a JSON value, in nanoseconds: `null` and
/// `""` are zero; an integer (number or string) is seconds; `<n>d` is days; anything else
/// goes through [`parse_go_duration`]. A JSON number is read from its text, as the Go SDK
/// does with `json.Number`, so `1.5` is an error ("missing unit").
pub fn parse_duration_second(value: &Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::String(s) => parse_duration_second_str(s),
        Value::Number(n) => parse_duration_second_str(&n.to_string()),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            Err("could not parse duration from input".to_string())
        }
    }
}

/// [`parse_duration_second`] for a string.
pub fn parse_duration_second_str(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return secs
            .checked_mul(NANOS_PER_SECOND)
            .ok_or_else(|| invalid_duration(s));
    }
    if let Some(days) = s.strip_suffix('d') {
        let days = go_parse_int10(days)?;
        return days
            .checked_mul(24 * 3600 * NANOS_PER_SECOND)
            .ok_or_else(|| invalid_duration(s));
    }
    parse_go_duration(s)
}

/// Go's `strconv.ParseInt(s, 10, 64)` with its error text.
pub(crate) fn go_parse_int10(s: &str) -> Result<i64, String> {
    s.parse::<i64>().map_err(|e| {
        use std::num::IntErrorKind::{NegOverflow, PosOverflow};
        let why = match e.kind() {
            PosOverflow | NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {}: {why}", go_quote(s))
    })
}

/// Go's `strconv.ParseInt(s, 0, 64)`: the base comes from the prefix (`0x`, `0o`, `0b`,
/// or a leading `0` for octal) and `_` may separate digits.
pub(crate) fn go_parse_int_base0(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    };
    let (neg, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (base, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if !underscores_ok(unsigned) {
        return Err(syntax());
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return Err(syntax());
    }
    let mut magnitude: u128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base).ok_or_else(syntax)?;
        magnitude = (magnitude * u128::from(base) + u128::from(d)).min(u128::from(u64::MAX) + 1);
    }
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    if magnitude > limit {
        return Err(range());
    }
    let signed = if neg {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    i64::try_from(signed).map_err(|_| range())
}

/// Go's `underscoreOK`: an underscore only between digits, or after a base prefix.
fn underscores_ok(unsigned: &str) -> bool {
    let b = unsigned.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.to_ascii_lowercase().is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: i64 = NANOS_PER_SECOND;

    #[test]
    fn formats_like_go() {
        for (nanos, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (250_000_000, "250ms"),
            (1_500_000_000, "1.5s"),
            (5 * S, "5s"),
            (30 * 60 * S, "30m0s"),
            (3600 * S, "1h0m0s"),
            (3600 * S + 90 * S, "1h1m30s"),
            (768 * 3600 * S, "768h0m0s"),
            (-90 * S, "-1m30s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(format_go_duration(nanos), want, "{nanos}");
        }
        assert_eq!(format_std_duration(Duration::from_secs(300)), "5m0s");
    }

    #[test]
    fn parses_like_go() {
        for (input, want) in [
            ("0", 0),
            ("1h", 3600 * S),
            ("90s", 90 * S),
            ("1h30m", 5400 * S),
            ("1.5h", 5400 * S),
            ("-5m", -300 * S),
            ("+5s", 5 * S),
            (".5s", S / 2),
            ("5.s", 5 * S),
            ("300ms", 300_000_000),
            ("2µs", 2_000),
            ("2μs", 2_000),
            ("2us", 2_000),
            ("1h2m3s4ms5us6ns", 3723 * S + 4_005_006),
        ] {
            assert_eq!(parse_go_duration(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn parse_errors_are_go_texts() {
        assert_eq!(
            parse_go_duration("abc").expect_err("error"),
            r#"time: invalid duration "abc""#
        );
        assert_eq!(
            parse_go_duration("").expect_err("error"),
            r#"time: invalid duration """#
        );
        assert_eq!(
            parse_go_duration("1").expect_err("error"),
            r#"time: missing unit in duration "1""#
        );
        assert_eq!(
            parse_go_duration("1x").expect_err("error"),
            r#"time: unknown unit "x" in duration "1x""#
        );
        assert_eq!(
            parse_go_duration(".s").expect_err("error"),
            r#"time: invalid duration ".s""#
        );
        assert_eq!(
            parse_go_duration("9999999999h").expect_err("error"),
            r#"time: invalid duration "9999999999h""#
        );
    }

    #[test]
    fn duration_second_accepts_vault_forms() {
        assert_eq!(parse_duration_second(&json!(null)), Ok(0));
        assert_eq!(parse_duration_second(&json!("")), Ok(0));
        assert_eq!(parse_duration_second(&json!(300)), Ok(300 * S));
        assert_eq!(parse_duration_second(&json!("300")), Ok(300 * S));
        assert_eq!(parse_duration_second(&json!("-300")), Ok(-300 * S));
        assert_eq!(parse_duration_second(&json!("2d")), Ok(2 * 86_400 * S));
        assert_eq!(parse_duration_second(&json!("1h")), Ok(3600 * S));
        assert_eq!(
            parse_duration_second(&json!(1.5)).expect_err("error"),
            r#"time: missing unit in duration "1.5""#
        );
        assert_eq!(
            parse_duration_second(&json!("1.5d")).expect_err("error"),
            r#"strconv.ParseInt: parsing "1.5": invalid syntax"#
        );
        assert_eq!(
            parse_duration_second(&json!(true)).expect_err("error"),
            "could not parse duration from input"
        );
        assert_eq!(
            parse_duration_second(&json!(["1h"])).expect_err("error"),
            "could not parse duration from input"
        );
    }

    #[test]
    fn base0_integers_follow_strconv() {
        assert_eq!(go_parse_int_base0("42"), Ok(42));
        assert_eq!(go_parse_int_base0("-42"), Ok(-42));
        assert_eq!(go_parse_int_base0("0x1f"), Ok(31));
        assert_eq!(go_parse_int_base0("0o17"), Ok(15));
        assert_eq!(go_parse_int_base0("017"), Ok(15));
        assert_eq!(go_parse_int_base0("0b101"), Ok(5));
        assert_eq!(go_parse_int_base0("1_000"), Ok(1000));
        assert_eq!(go_parse_int_base0("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            go_parse_int_base0("x").expect_err("error"),
            r#"strconv.ParseInt: parsing "x": invalid syntax"#
        );
        assert_eq!(
            go_parse_int_base0("1__0").expect_err("error"),
            r#"strconv.ParseInt: parsing "1__0": invalid syntax"#
        );
        assert_eq!(
            go_parse_int_base0("9223372036854775808").expect_err("error"),
            r#"strconv.ParseInt: parsing "9223372036854775808": value out of range"#
        );
        assert_eq!(go_parse_int10("12").expect("int"), 12);
    }

    #[test]
    fn quoting_escapes_controls() {
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
