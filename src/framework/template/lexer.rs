//! Splits a template into text and actions, and an action into tokens, following Go's
//! `text/template` lexer: `{{ … }}` delimiters, trim markers `{{- ` and ` -}}` that
//! swallow the white space next to them, `{{/* comments */}}`, string literals (quoted
//! and raw) that may themselves contain `}}`, integers, identifiers, `.Field`s and one-level `.Map.key` lookups.
//! The parser decides what the tokens mean.

/// A token inside an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `.Name`
    Field(String),
    /// `.` on its own.
    Dot,
    /// A function name or keyword (`if`, `else`, `end`, `true`, …).
    Ident(String),
    /// A string literal, escapes already resolved.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `|`
    Pipe,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// Literal text, already trimmed where a trim marker asked for it.
    Text(String),
    /// The tokens of one `{{ … }}` action and the line it starts on.
    Action(Vec<Tok>, usize),
}

/// Go's `isSpace`: the white space trim markers remove.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits `src` into text and actions; comments are dropped.
pub(crate) fn lex(src: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    // Line of `counted`, advanced incrementally so that lexing stays linear.
    let (mut line, mut counted) = (1, 0);
    loop {
        let open = src[pos..].find("{{").map(|i| pos + i);
        let mut text = &src[pos..open.unwrap_or(src.len())];
        if trim_next_text {
            text = text.trim_start_matches(is_space);
        }
        let Some(open) = open else {
            if !text.is_empty() {
                items.push(Item::Text(text.to_string()));
            }
            return Ok(items);
        };
        let mut start = open + 2;
        let rest = &src[start..];
        let left_trim = rest.starts_with('-') && rest[1..].starts_with(is_space);
        if left_trim {
            text = text.trim_end_matches(is_space);
            start += 1;
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        line += src[counted..open].matches('\n').count();
        counted = open;
        let comment_at = if left_trim { start + 1 } else { start };
        let (end, right_trim) = if src[comment_at..].starts_with("/*") {
            skip_comment(src, comment_at, line)?
        } else {
            let (tokens, end, right_trim) = lex_action(src, start, line)?;
            items.push(Item::Action(tokens, line));
            (end, right_trim)
        };
        pos = end;
        trim_next_text = right_trim;
    }
}

/// Skips `/* … */` and the closing delimiter; returns the end offset and the trim flag.
fn skip_comment(src: &str, at: usize, line: usize) -> Result<(usize, bool), String> {
    let close = src[at..]
        .find("*/")
        .map(|i| at + i + 2)
        .ok_or_else(|| format!("line {line}: unclosed comment"))?;
    let rest = &src[close..];
    if rest.starts_with("}}") {
        Ok((close + 2, false))
    } else if rest.starts_with(is_space) && rest[1..].starts_with("-}}") {
        Ok((close + 4, true))
    } else {
        Err(format!(
            "line {line}: comment ends before closing delimiter"
        ))
    }
}

/// Tokenises one action starting at `start`; returns tokens, end offset and trim flag.
fn lex_action(src: &str, start: usize, line: usize) -> Result<(Vec<Tok>, usize, bool), String> {
    let mut tokens = Vec::new();
    let mut i = start;
    loop {
        let ws_end = i + (src[i..].len() - src[i..].trim_start_matches(is_space).len());
        let rest = &src[ws_end..];
        if ws_end > i && rest.starts_with("-}}") {
            return Ok((tokens, ws_end + 3, true));
        }
        if rest.starts_with("}}") {
            return Ok((tokens, ws_end + 2, false));
        }
        let Some(c) = rest.chars().next() else {
            return Err(format!("line {line}: unclosed action (missing \"}}}}\")"));
        };
        i = ws_end;
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '|' => (Tok::Pipe, 1),
            '"' => quoted(rest, line)?,
            '`' => raw(rest, line)?,
            '.' => field(rest, line)?,
            '0'..='9' | '-' | '+' => number(rest, line)?,
            c if c == '_' || c.is_alphanumeric() => {
                let len = ident_len(rest);
                (Tok::Ident(rest[..len].to_string()), len)
            }
            '$' | ':' | '=' => {
                return Err(format!(
                    "line {line}: variables are not supported in this template language"
                ));
            }
            '\'' => {
                return Err(format!(
                    "line {line}: character constants are not supported; use a string"
                ));
            }
            other => return Err(format!("line {line}: unexpected {other:?} in action")),
        };
        tokens.push(tok);
        i += len;
    }
}

fn ident_len(s: &str) -> usize {
    s.find(|c: char| !(c == '_' || c.is_alphanumeric()))
        .unwrap_or(s.len())
}

fn field(s: &str, line: usize) -> Result<(Tok, usize), String> {
    let after = &s[1..];
    if after.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "line {line}: floating-point numbers are not supported"
        ));
    }
    let len = ident_len(after);
    if len == 0 {
        return Ok((Tok::Dot, 1));
    }
    // One level of key lookup, `.Map.key`, for the engine's metadata maps; the token
    // is the dotted name and the map's keys are flat fields `Map.key` (see `mod.rs`).
    let mut total = len;
    if let Some(rest) = after[len..].strip_prefix('.') {
        let key_len = ident_len(rest);
        if key_len == 0 || rest[key_len..].starts_with('.') {
            return Err(format!(
                "line {line}: chained fields are supported one level deep only, as .Map.key (e.g. .EntityMetadata.team)"
            ));
        }
        total = len + 1 + key_len;
    }
    Ok((Tok::Field(after[..total].to_string()), total + 1))
}

fn number(s: &str, line: usize) -> Result<(Tok, usize), String> {
    let sign_len = usize::from(s.starts_with(['-', '+']));
    let body_len = s[sign_len..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len() - sign_len);
    let len = sign_len + body_len;
    let text = &s[..len];
    let bad = || format!("line {line}: bad number syntax: {text:?}");
    let digits: String = s[sign_len..len].chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return Err(bad());
    }
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(hex) = lower.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = lower.strip_prefix("0o") {
        (8, oct)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        (2, bin)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if radix != 16 && (body.contains('.') || body.contains('e')) {
        return Err(format!(
            "line {line}: floating-point numbers are not supported: {text:?}"
        ));
    }
    let magnitude = i64::from_str_radix(body, radix).map_err(|_| bad())?;
    let value = if s.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    Ok((Tok::Int(value), len))
}

fn raw(s: &str, line: usize) -> Result<(Tok, usize), String> {
    let close = s[1..]
        .find('`')
        .ok_or_else(|| format!("line {line}: unterminated raw string"))?;
    Ok((Tok::Str(s[1..=close].to_string()), close + 2))
}

fn quoted(s: &str, line: usize) -> Result<(Tok, usize), String> {
    let unterminated = || format!("line {line}: unterminated quoted string");
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((Tok::Str(out), i + 1)),
            '\n' => return Err(unterminated()),
            '\\' => {
                let (_, e) = chars.next().ok_or_else(unterminated)?;
                let simple = match e {
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\u{b}'),
                    '\\' | '"' | '\'' => Some(e),
                    _ => None,
                };
                let decoded = match (simple, e) {
                    (Some(c), _) => c,
                    (None, 'x') => code_point(&mut chars, 2, 16, line)?,
                    (None, 'u') => code_point(&mut chars, 4, 16, line)?,
                    (None, 'U') => code_point(&mut chars, 8, 16, line)?,
                    (None, '0'..='7') => {
                        let rest = code_point(&mut chars, 2, 8, line)?;
                        let value = (e as u32 - '0' as u32) * 64 + rest as u32;
                        char::from_u32(value)
                            .ok_or_else(|| format!("line {line}: invalid escape"))?
                    }
                    _ => return Err(format!("line {line}: unknown escape sequence \\{e}")),
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
    Err(unterminated())
}

/// Reads `n` digits in `radix` for an escape and returns the character they name.
fn code_point(
    chars: &mut impl Iterator<Item = (usize, char)>,
    n: usize,
    radix: u32,
    line: usize,
) -> Result<char, String> {
    let mut value: u32 = 0;
    for _ in 0..n {
        let digit = chars
            .next()
            .and_then(|(_, c)| c.to_digit(radix))
            .ok_or_else(|| format!("line {line}: invalid escape in string"))?;
        value = value * radix + digit;
    }
    char::from_u32(value).ok_or_else(|| format!("line {line}: invalid escape in string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(tokens: Vec<Tok>) -> Item {
        Item::Action(tokens, 1)
    }

    #[test]
    fn splits_text_and_actions() {
        let items = lex(r#"a-{{ .DisplayName | truncate 42 }}-b"#).expect("lex");
        assert_eq!(
            items,
            vec![
                Item::Text("a-".into()),
                action(vec![
                    Tok::Field("DisplayName".into()),
                    Tok::Pipe,
                    Tok::Ident("truncate".into()),
                    Tok::Int(42),
                ]),
                Item::Text("-b".into()),
            ]
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        let items = lex("x  \n {{- \"a\" -}} \n y{{/* note */}}z {{- /* c */ -}} w").expect("lex");
        assert_eq!(
            items,
            vec![
                Item::Text("x".into()),
                Item::Action(vec![Tok::Str("a".into())], 2),
                Item::Text("y".into()),
                Item::Text("z".into()),
                Item::Text("w".into()),
            ]
        );
        // "{{-3}}" is the number -3, not a trim marker, exactly as in Go.
        assert_eq!(lex("a {{-3}}").expect("lex")[1], action(vec![Tok::Int(-3)]));
    }

    #[test]
    fn strings_may_contain_delimiters_and_escapes() {
        let items = lex(r#"{{ "}}\t\x41\u00e9\101" `raw\n` }}"#).expect("lex");
        assert_eq!(
            items,
            vec![action(vec![
                Tok::Str("}}\tAéA".into()),
                Tok::Str("raw\\n".into())
            ])]
        );
    }

    #[test]
    fn numbers_follow_go_literals() {
        let items = lex("{{ 0x1F 017 1_000 +5 }}").expect("lex");
        assert_eq!(
            items,
            vec![action(vec![
                Tok::Int(31),
                Tok::Int(15),
                Tok::Int(1000),
                Tok::Int(5)
            ])]
        );
        assert!(
            lex("{{ 1.5 }}")
                .expect_err("float")
                .contains("floating-point")
        );
        assert!(lex("{{ 12abc }}").expect_err("bad").contains("bad number"));
    }

    #[test]
    fn reports_unclosed_and_unsupported_syntax() {
        assert!(
            lex("a {{ .X")
                .expect_err("unclosed")
                .contains("unclosed action")
        );
        assert!(
            lex("a\n{{ \"x }}")
                .expect_err("quote")
                .starts_with("line 2: unterminated")
        );
        assert!(
            lex("{{/* x }}")
                .expect_err("comment")
                .contains("unclosed comment")
        );
        assert!(lex("{{ $x := 1 }}").expect_err("var").contains("variables"));
        assert!(lex("{{ .A.B.C }}").expect_err("chain").contains("chained"));
        assert!(lex("{{ .A. }}").expect_err("chain").contains("one level"));
        assert_eq!(
            lex("{{ .A.b_1 }}").expect("one level")[0],
            Item::Action(vec![Tok::Field("A.b_1".into())], 1)
        );
    }
}
