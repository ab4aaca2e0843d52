//! Go's `fmt` as username templates use it: `printf` with the verbs `%s %v %d %q %x %X %t`
//! (flags `-`, `+`, `0`, width and precision), `print`/`println`, and `strconv.Quote`.
//! Mistakes are printed inline the way Go prints them (`%!d(string=abc)`,
//! `%!s(MISSING)`, `%!(EXTRA int=1)`) rather than failing, so a template renders exactly
//! as it would in Vault. Argument indexes (`%[1]s`) and `*` widths are not supported.

use super::value::Value;

/// One parsed `%` directive.
#[derive(Debug, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Go's `fmt.Sprintf` over template values.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        spec.width = take_number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(take_number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next_arg) {
            Some(arg) => {
                next_arg += 1;
                out.push_str(&format_one(verb, &spec, arg));
            }
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
        }
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| format!("{}={a}", a.type_name()))
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

/// Go's `fmt.Sprint`: operands are joined with a space only where neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_str = matches!(arg, Value::Str(_));
        let prev_is_str = i > 0 && matches!(args[i - 1], Value::Str(_));
        if i > 0 && !is_str && !prev_is_str {
            out.push(' ');
        }
        out.push_str(&arg.to_string());
    }
    out
}

/// Go's `fmt.Sprintln`: operands always joined with spaces, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(Value::to_string).collect();
    format!("{}\n", parts.join(" "))
}

/// Go's `strconv.Quote`: a double-quoted literal with `"` and `\` escaped and
/// non-printable characters written as Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: the ASCII space plus anything that is
/// neither a control character nor other white space.
fn is_printable(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || matches!(c, '\u{ad}' | '\u{feff}'))
}

fn take_number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        // Saturate instead of overflowing on absurd widths; Go caps them similarly.
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d as usize)
                .min(1 << 16),
        );
        chars.next();
    }
    n
}

fn format_one(verb: char, spec: &Spec, arg: &Value) -> String {
    let body = match (verb, arg) {
        ('s' | 'v', Value::Str(s)) => truncate_chars(s, spec.precision),
        ('v' | 't', Value::Bool(b)) => b.to_string(),
        ('v' | 'd', Value::Int(i)) => signed(*i, spec.plus, i.unsigned_abs().to_string()),
        ('q', Value::Str(s)) => go_quote(&truncate_chars(s, spec.precision)),
        ('x', Value::Str(s)) => hex_bytes(s, false),
        ('X', Value::Str(s)) => hex_bytes(s, true),
        ('x', Value::Int(i)) => signed(*i, spec.plus, format!("{:x}", i.unsigned_abs())),
        ('X', Value::Int(i)) => signed(*i, spec.plus, format!("{:X}", i.unsigned_abs())),
        _ => return format!("%!{verb}({}={arg})", arg.type_name()),
    };
    let numeric = matches!(arg, Value::Int(_));
    pad(body, spec, numeric)
}

fn signed(i: i64, plus: bool, digits: String) -> String {
    if i < 0 {
        format!("-{digits}")
    } else if plus {
        format!("+{digits}")
    } else {
        digits
    }
}

fn truncate_chars(s: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn hex_bytes(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

fn pad(body: String, spec: &Spec, numeric: bool) -> String {
    let Some(width) = spec.width else {
        return body;
    };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let fill = width - len;
    if spec.minus {
        return format!("{body}{}", " ".repeat(fill));
    }
    if spec.zero && numeric {
        // Zeros go between the sign and the digits, as in Go.
        let (sign, digits) = match body.strip_prefix(['-', '+']) {
            Some(rest) => (&body[..1], rest),
            None => ("", body.as_str()),
        };
        return format!("{sign}{}{digits}", "0".repeat(fill));
    }
    format!("{}{body}", " ".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    #[test]
    fn printf_formats_supported_verbs() {
        let args = [s("vault"), Value::Int(42), Value::Bool(true), s("a\"b")];
        assert_eq!(sprintf("%s-%d-%v-%q", &args), "vault-42-true-\"a\\\"b\"");
        assert_eq!(sprintf("%x|%X", &[s("hi"), Value::Int(255)]), "6869|FF");
        assert_eq!(sprintf("100%%", &[]), "100%");
    }

    #[test]
    fn printf_width_precision_and_flags() {
        assert_eq!(sprintf("[%5s]", &[s("ab")]), "[   ab]");
        assert_eq!(sprintf("[%-5s]", &[s("ab")]), "[ab   ]");
        assert_eq!(sprintf("[%.3s]", &[s("abcdef")]), "[abc]");
        assert_eq!(sprintf("[%05d]", &[Value::Int(-42)]), "[-0042]");
        assert_eq!(sprintf("[%+d]", &[Value::Int(7)]), "[+7]");
    }

    #[test]
    fn printf_reports_mistakes_inline_like_go() {
        assert_eq!(sprintf("%d", &[s("abc")]), "%!d(string=abc)");
        assert_eq!(sprintf("%s", &[Value::Int(5)]), "%!s(int=5)");
        assert_eq!(sprintf("%s-%s", &[s("a")]), "a-%!s(MISSING)");
        assert_eq!(
            sprintf("%s", &[s("a"), Value::Int(1), s("b")]),
            "a%!(EXTRA int=1, string=b)"
        );
        assert_eq!(sprintf("abc%", &[]), "abc%!(NOVERB)");
    }

    #[test]
    fn print_spaces_only_between_non_strings() {
        assert_eq!(sprint(&[s("a"), s("b")]), "ab");
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2), s("x")]), "1 2x");
        assert_eq!(sprintln(&[s("a"), Value::Int(1)]), "a 1\n");
    }

    #[test]
    fn quote_escapes_like_strconv() {
        assert_eq!(go_quote("plain"), "\"plain\"");
        assert_eq!(go_quote("a\nb\t\"c\"\\"), r#""a\nb\t\"c\"\\""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("héllo"), "\"héllo\"");
        assert_eq!(go_quote("\u{2028}"), r#""\u2028""#);
    }
}
