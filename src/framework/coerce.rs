//! [framework] Converts one raw JSON request value into the typed value its field
//! declares, accepting exactly the loose inputs Vault's Go SDK accepts (its
//! `mapstructure.WeakDecode` rules: `"3600"`, `3600` and `"1h"` for a duration, `"true"`
//! or `1` for a bool, a comma string or a JSON list for a string list, ...) and failing
//! with the same error texts, because those reach users verbatim inside
//! `Field validation failed: error converting input <v> for field "<f>": <error>`.
//!
//! Request values arrive as JSON decoded by the protocol layer. The Go SDK keeps JSON
//! numbers as `json.Number` (their literal text), so numbers are treated here through
//! their text as well. Error texts name the value `''`, as Go's decoder does for a
//! top-level value. This module knows nothing about schemas or requests.

use std::collections::BTreeMap;

use serde_json::Value;

use super::duration::{
    NANOS_PER_SECOND, go_parse_int_base0, go_parse_int10, parse_duration_second,
};
use super::field::{FieldType, FieldValue};
use crate::logical::JsonMap;

/// Coerces `value` to `field_type`. `Ok(None)` means "treat as not set" (only a JSON
/// `null` duration, as in Go); other nulls become the type's zero value.
pub(crate) fn coerce(field_type: FieldType, value: &Value) -> Result<Option<FieldValue>, String> {
    let v = match field_type {
        FieldType::String => FieldValue::String(weak_string("", value)?),
        FieldType::LowerCaseString => FieldValue::String(weak_string("", value)?.to_lowercase()),
        FieldType::NameString => FieldValue::String(name_string(value)?),
        FieldType::Int => FieldValue::Int(weak_int(value)?),
        FieldType::Bool => FieldValue::Bool(weak_bool(value)?),
        FieldType::DurationSecond | FieldType::SignedDurationSecond => {
            if value.is_null() {
                return Ok(None);
            }
            let secs = parse_duration_second(value)? / NANOS_PER_SECOND;
            if field_type == FieldType::DurationSecond && secs < 0 {
                return Err(format!("cannot provide negative value '{secs}'"));
            }
            FieldValue::Seconds(secs)
        }
        FieldType::StringSlice => FieldValue::List(trimmed(string_slice(value, false)?)),
        FieldType::CommaStringSlice => FieldValue::List(trimmed(string_slice(value, true)?)),
        FieldType::KvPairs => FieldValue::KvPairs(kv_pairs(value)?),
        FieldType::Map => FieldValue::Map(map(value)?),
    };
    Ok(Some(v))
}

/// Go's `%v` rendering of a decoded JSON value, used in error messages.
pub(crate) fn go_format_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_format_value).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            // Go's fmt prints map entries sorted by key; serde_json's map is sorted too.
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_format_value(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// The Go type name of a decoded JSON value (`reflect.Type.String()`).
fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The Go kind of a decoded JSON value (`reflect.Kind.String()`); `json.Number` is a string.
fn go_kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(_) | Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

fn unconvertible(name: &str, target: &str, value: &Value) -> String {
    format!(
        "'{name}' expected type '{target}', got unconvertible type '{}', value: '{}'",
        go_type_name(value),
        go_format_value(value)
    )
}

/// Weak conversion to a string: bools print as `1`/`0`, numbers as their text.
fn weak_string(name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Array(_) | Value::Object(_) => Err(unconvertible(name, "string", value)),
    }
}

fn weak_int(value: &Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => go_parse_int10(&n.to_string())
            .map_err(|e| format!("error decoding json.Number into : {e}")),
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => {
            go_parse_int_base0(s).map_err(|e| format!("cannot parse '' as int: {e}"))
        }
        Value::Array(_) | Value::Object(_) => Err(unconvertible("", "int", value)),
    }
}

fn weak_bool(value: &Value) -> Result<bool, String> {
    let text = match value {
        Value::Null => return Ok(false),
        Value::Bool(b) => return Ok(*b),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => return Ok(false),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => return Err(unconvertible("", "bool", value)),
    };
    match text.as_str() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "cannot parse '' as bool: strconv.ParseBool: parsing {}: invalid syntax",
            super::duration::go_quote(&text)
        )),
    }
}

/// Vault's name rule `^\w(([\w-.]+)?\w)?$` with Go's ASCII `\w`.
fn name_string(value: &Value) -> Result<String, String> {
    let s = weak_string("", value)?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = s.chars().collect();
    let ok = match chars.as_slice() {
        [] => false,
        [only] => word(*only),
        [first, middle @ .., last] => {
            word(*first) && word(*last) && middle.iter().all(|c| word(*c) || *c == '-' || *c == '.')
        }
    };
    if ok {
        Ok(s)
    } else {
        Err("field does not match the formatting rules".to_string())
    }
}

/// A list of strings. With `split_commas`, a string is split on `,` (Vault's
/// `TypeCommaStringSlice`); otherwise a scalar becomes a one-element list.
fn string_slice(value: &Value, split_commas: bool) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) if split_commas => Ok(s.split(',').map(str::to_string).collect()),
        Value::Number(n) if split_commas => {
            Ok(n.to_string().split(',').map(str::to_string).collect())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| weak_string(&format!("[{i}]"), item))
            .collect(),
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        // Go "lifts" any other single value into a one-element list.
        other => Ok(vec![weak_string("[0]", other)?]),
    }
}

fn trimmed(items: Vec<String>) -> Vec<String> {
    items.into_iter().map(|s| s.trim().to_string()).collect()
}

/// Key/value pairs: a JSON object (values weakly stringified), or a list of `k=v` strings.
/// Like Vault, a single string is one pair and is not split on commas, so
/// `"a=1,b=2"` is the pair `a` = `1,b=2`.
fn kv_pairs(value: &Value) -> Result<BTreeMap<String, String>, String> {
    if let Some(map) = kv_from_map(value) {
        return Ok(map);
    }
    let mut out = BTreeMap::new();
    for pair in string_slice(value, false)? {
        match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(format!(
                    "invalid key pair {}",
                    super::duration::go_quote(&pair)
                ));
            }
        }
    }
    Ok(out)
}

/// The map interpretation of a key/value input, if it has one.
fn kv_from_map(value: &Value) -> Option<BTreeMap<String, String>> {
    let objects: Vec<&JsonMap> = match value {
        Value::Null => Vec::new(),
        Value::Object(map) => vec![map],
        // A list of objects merges into one map (and an empty list is an empty map).
        Value::Array(items) => items
            .iter()
            .map(Value::as_object)
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let mut out = BTreeMap::new();
    for map in objects {
        for (k, v) in map {
            out.insert(k.clone(), weak_string("", v).ok()?);
        }
    }
    Some(out)
}

/// A JSON object; also a list of objects (merged, as Go does), or, beyond Go, a string
/// that holds a JSON object, which is how CLIs usually pass one.
fn map(value: &Value) -> Result<JsonMap, String> {
    match value {
        Value::Null => Ok(JsonMap::new()),
        Value::Object(map) => Ok(map.clone()),
        Value::Array(items) => {
            let mut out = JsonMap::new();
            for (i, item) in items.iter().enumerate() {
                let obj = item.as_object().ok_or_else(|| {
                    format!("'[{i}]' expected a map, got '{}'", go_kind_name(item))
                })?;
                out.extend(obj.clone());
            }
            Ok(out)
        }
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(format!("'' expected a map, got '{}'", go_kind_name(value))),
        },
        Value::Bool(_) | Value::Number(_) => {
            Err(format!("'' expected a map, got '{}'", go_kind_name(value)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(t: FieldType, v: Value) -> FieldValue {
        coerce(t, &v).expect("coerces").expect("is set")
    }

    fn err(t: FieldType, v: Value) -> String {
        coerce(t, &v).expect_err("must fail")
    }

    #[test]
    fn strings_are_weak() {
        assert_eq!(
            ok(FieldType::String, json!("x")),
            FieldValue::String("x".into())
        );
        assert_eq!(
            ok(FieldType::String, json!(12)),
            FieldValue::String("12".into())
        );
        assert_eq!(
            ok(FieldType::String, json!(1.5)),
            FieldValue::String("1.5".into())
        );
        assert_eq!(
            ok(FieldType::String, json!(true)),
            FieldValue::String("1".into())
        );
        assert_eq!(
            ok(FieldType::String, json!(null)),
            FieldValue::String("".into())
        );
        assert_eq!(
            ok(FieldType::LowerCaseString, json!("AbC")),
            FieldValue::String("abc".into())
        );
        assert_eq!(
            err(FieldType::String, json!(["a", "b"])),
            "'' expected type 'string', got unconvertible type '[]interface {}', value: '[a b]'"
        );
    }

    #[test]
    fn names_follow_vault_rule() {
        for good in ["a", "a1", "my-role.v2", "a_b"] {
            assert_eq!(
                ok(FieldType::NameString, json!(good)),
                FieldValue::String(good.into())
            );
        }
        for bad in ["", "-a", "a-", "a b", "é", "a@b"] {
            assert_eq!(
                err(FieldType::NameString, json!(bad)),
                "field does not match the formatting rules"
            );
        }
    }

    #[test]
    fn ints_follow_go_weak_rules() {
        assert_eq!(ok(FieldType::Int, json!(42)), FieldValue::Int(42));
        assert_eq!(ok(FieldType::Int, json!("42")), FieldValue::Int(42));
        assert_eq!(ok(FieldType::Int, json!("0x10")), FieldValue::Int(16));
        assert_eq!(ok(FieldType::Int, json!("")), FieldValue::Int(0));
        assert_eq!(ok(FieldType::Int, json!(true)), FieldValue::Int(1));
        assert_eq!(
            err(FieldType::Int, json!("x")),
            r#"cannot parse '' as int: strconv.ParseInt: parsing "x": invalid syntax"#
        );
        assert_eq!(
            err(FieldType::Int, json!(1.5)),
            r#"error decoding json.Number into : strconv.ParseInt: parsing "1.5": invalid syntax"#
        );
        assert_eq!(
            err(FieldType::Int, json!({"a": 1})),
            "'' expected type 'int', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'"
        );
    }

    #[test]
    fn bools_follow_go_weak_rules() {
        for (input, want) in [
            (json!(true), true),
            (json!("true"), true),
            (json!("T"), true),
            (json!("1"), true),
            (json!(1), true),
            (json!("False"), false),
            (json!(0), false),
            (json!(""), false),
        ] {
            assert_eq!(
                ok(FieldType::Bool, input.clone()),
                FieldValue::Bool(want),
                "{input}"
            );
        }
        assert_eq!(
            err(FieldType::Bool, json!("yes")),
            r#"cannot parse '' as bool: strconv.ParseBool: parsing "yes": invalid syntax"#
        );
        assert_eq!(
            err(FieldType::Bool, json!(2)),
            r#"cannot parse '' as bool: strconv.ParseBool: parsing "2": invalid syntax"#
        );
    }

    #[test]
    fn durations_accept_vault_syntax() {
        for (input, secs) in [
            (json!(300), 300),
            (json!("300"), 300),
            (json!("5m"), 300),
            (json!("1h30m"), 5400),
            (json!("90s"), 90),
            (json!("1.9s"), 1),
            (json!("1d"), 86_400),
            (json!(""), 0),
        ] {
            assert_eq!(
                ok(FieldType::DurationSecond, input.clone()),
                FieldValue::Seconds(secs),
                "{input}"
            );
        }
        assert_eq!(coerce(FieldType::DurationSecond, &json!(null)), Ok(None));
        assert_eq!(
            err(FieldType::DurationSecond, json!("abc")),
            r#"time: invalid duration "abc""#
        );
        assert_eq!(
            err(FieldType::DurationSecond, json!("-5m")),
            "cannot provide negative value '-300'"
        );
        assert_eq!(
            err(FieldType::DurationSecond, json!(-1)),
            "cannot provide negative value '-1'"
        );
        assert_eq!(
            ok(FieldType::SignedDurationSecond, json!("-5m")),
            FieldValue::Seconds(-300)
        );
    }

    #[test]
    fn comma_slices_split_strings_and_take_lists() {
        let list = |v: &[&str]| FieldValue::List(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            ok(FieldType::CommaStringSlice, json!("a, b,c")),
            list(&["a", "b", "c"])
        );
        assert_eq!(
            ok(FieldType::CommaStringSlice, json!(["a ", " b"])),
            list(&["a", "b"])
        );
        assert_eq!(ok(FieldType::CommaStringSlice, json!("")), list(&[]));
        assert_eq!(ok(FieldType::CommaStringSlice, json!(null)), list(&[]));
        assert_eq!(ok(FieldType::CommaStringSlice, json!(7)), list(&["7"]));
        assert_eq!(
            ok(FieldType::CommaStringSlice, json!([1, true])),
            list(&["1", "1"])
        );
        assert_eq!(ok(FieldType::StringSlice, json!("a,b")), list(&["a,b"]));
        assert_eq!(
            err(FieldType::CommaStringSlice, json!([["x"]])),
            "'[0]' expected type 'string', got unconvertible type '[]interface {}', value: '[x]'"
        );
    }

    #[test]
    fn kv_pairs_take_maps_and_pair_lists() {
        let kv = |pairs: &[(&str, &str)]| {
            FieldValue::KvPairs(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            ok(FieldType::KvPairs, json!({"a": "1", "b": 2})),
            kv(&[("a", "1"), ("b", "2")])
        );
        assert_eq!(
            ok(FieldType::KvPairs, json!(["a=1", "b=x=y"])),
            kv(&[("a", "1"), ("b", "x=y")])
        );
        assert_eq!(
            ok(FieldType::KvPairs, json!("a=1,b=2")),
            kv(&[("a", "1,b=2")])
        );
        assert_eq!(ok(FieldType::KvPairs, json!([])), kv(&[]));
        assert_eq!(ok(FieldType::KvPairs, json!(null)), kv(&[]));
        assert_eq!(
            err(FieldType::KvPairs, json!(["novalue"])),
            r#"invalid key pair "novalue""#
        );
        assert_eq!(
            err(FieldType::KvPairs, json!("=v")),
            r#"invalid key pair "=v""#
        );
    }

    #[test]
    fn maps_take_objects_and_json_strings() {
        let want = json!({"a": 1}).as_object().cloned().expect("object");
        assert_eq!(
            ok(FieldType::Map, json!({"a": 1})),
            FieldValue::Map(want.clone())
        );
        assert_eq!(
            ok(FieldType::Map, json!(r#"{"a": 1}"#)),
            FieldValue::Map(want.clone())
        );
        assert_eq!(ok(FieldType::Map, json!([{"a": 1}])), FieldValue::Map(want));
        assert_eq!(
            err(FieldType::Map, json!("nope")),
            "'' expected a map, got 'string'"
        );
        assert_eq!(
            err(FieldType::Map, json!(true)),
            "'' expected a map, got 'bool'"
        );
        assert_eq!(
            err(FieldType::Map, json!(["x"])),
            "'[0]' expected a map, got 'string'"
        );
    }

    #[test]
    fn go_value_formatting() {
        assert_eq!(go_format_value(&json!(null)), "<nil>");
        assert_eq!(
            go_format_value(&json!({"b": [1, "x"], "a": true})),
            "map[a:true b:[1 x]]"
        );
    }
}
