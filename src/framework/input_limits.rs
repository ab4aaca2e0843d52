//! [framework] Checks a coerced field value against its field's [`InputLimits`]: string
//! lengths, item counts and control characters. Called by `FieldData::validate` for every
//! field a request sets, so every path gets the same bounds and the same messages; the
//! limits themselves are declared with the field (`field.rs`).

use super::field::{FieldValue, InputLimits};

/// `Ok` when `value` is within `limits`; otherwise the problem, worded for the requester
/// (the caller prefixes the field name).
pub(crate) fn check(limits: &InputLimits, value: &FieldValue) -> Result<(), String> {
    match value {
        FieldValue::String(s) => check_text(limits, s, || "the value".to_string()),
        FieldValue::Int(_) | FieldValue::Bool(_) | FieldValue::Seconds(_) => Ok(()),
        FieldValue::List(items) => {
            check_count(limits, items.len())?;
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| check_text(limits, item, || format!("item {}", i + 1)))
        }
        FieldValue::KvPairs(pairs) => {
            check_count(limits, pairs.len())?;
            pairs.iter().try_for_each(|(key, value)| {
                check_text(limits, key, || "a key".to_string())?;
                check_text(limits, value, || format!("the value of {key:?}"))
            })
        }
        FieldValue::Map(map) => check_count(limits, map.len()),
    }
}

fn check_count(limits: &InputLimits, count: usize) -> Result<(), String> {
    if count > limits.max_items {
        return Err(format!(
            "{count} items given; at most {} are allowed",
            limits.max_items
        ));
    }
    Ok(())
}

/// `what` names the text in a refusal; it is only built for one (this runs for every
/// string of every request).
fn check_text(limits: &InputLimits, text: &str, what: impl Fn() -> String) -> Result<(), String> {
    // Bytes bound characters from above: only long values need counting.
    if text.len() > limits.max_chars {
        let chars = text.chars().count();
        if chars > limits.max_chars {
            return Err(format!(
                "{} has {chars} characters; at most {} are allowed",
                what(),
                limits.max_chars
            ));
        }
    }
    let allowed = |c: char| limits.allow_line_breaks && matches!(c, '\t' | '\n' | '\r');
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !allowed(c))
    {
        return Err(format!(
            "{} contains the control character U+{:04X} at position {}; only printable text is allowed",
            what(),
            c as u32,
            at + 1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SMALL: InputLimits = InputLimits {
        max_chars: 5,
        max_items: 2,
        allow_line_breaks: false,
    };

    fn string(s: &str) -> FieldValue {
        FieldValue::String(s.to_string())
    }

    #[test]
    fn strings_within_the_limit_pass_and_longer_ones_are_refused() {
        assert_eq!(check(&SMALL, &string("abcde")), Ok(()));
        // Five characters in more than five bytes.
        assert_eq!(check(&SMALL, &string("ééééé")), Ok(()));
        let err = check(&SMALL, &string("abcdef")).expect_err("refused");
        assert_eq!(err, "the value has 6 characters; at most 5 are allowed");
    }

    #[test]
    fn control_characters_are_refused_and_line_breaks_only_when_allowed() {
        let err = check(&SMALL, &string("a\0b")).expect_err("refused");
        assert!(err.contains("U+0000 at position 2"), "{err}");
        assert!(check(&SMALL, &string("a\nb")).is_err());
        assert!(check(&SMALL, &string("a\u{7f}")).is_err());
        let multi = InputLimits {
            allow_line_breaks: true,
            ..SMALL
        };
        assert_eq!(check(&multi, &string("a\n\tb")), Ok(()));
        assert!(check(&multi, &string("a\u{1b}b")).is_err());
    }

    #[test]
    fn lists_and_maps_are_bounded_in_items_and_in_each_string() {
        let list = |items: &[&str]| FieldValue::List(items.iter().map(|s| s.to_string()).collect());
        assert_eq!(check(&SMALL, &list(&["a", "b"])), Ok(()));
        let err = check(&SMALL, &list(&["a", "b", "c"])).expect_err("refused");
        assert_eq!(err, "3 items given; at most 2 are allowed");
        let err = check(&SMALL, &list(&["a", "toolong"])).expect_err("refused");
        assert!(err.starts_with("item 2 has 7 characters"), "{err}");
        let pairs: BTreeMap<String, String> = [("k".to_string(), "v\0".to_string())].into();
        let err = check(&SMALL, &FieldValue::KvPairs(pairs)).expect_err("refused");
        assert!(err.starts_with("the value of \"k\" contains"), "{err}");
        assert_eq!(check(&SMALL, &FieldValue::Int(i64::MAX)), Ok(()));
    }
}
