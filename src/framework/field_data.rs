//! [framework] `FieldData`: one request's raw parameters (body or query, plus the named
//! captures of the path) seen through the path's schema (Vault's `framework.FieldData`).
//!
//! The framework validates every schema field present in the request before a handler
//! runs, so the typed getters cannot meet a conversion error for request input; they
//! return `Err(Internal)` only for programming mistakes (a name missing from the schema,
//! or asking a string field for an integer). Fields not in the schema are ignored here;
//! the dispatcher warns about them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::coerce::{coerce, go_format_value};
use super::field::{FieldMap, FieldSchema, FieldValue};
use super::input_limits;
use crate::logical::{Error, JsonMap};

/// Raw request parameters plus the schema that types them.
#[derive(Debug, Clone)]
pub struct FieldData {
    raw: JsonMap,
    schema: Arc<FieldMap>,
}

impl FieldData {
    /// Request parameters `raw` typed by `schema`.
    pub fn new(raw: JsonMap, schema: Arc<FieldMap>) -> Self {
        FieldData { raw, schema }
    }

    /// The raw parameters, including those not in the schema.
    pub fn raw(&self) -> &JsonMap {
        &self.raw
    }

    /// The schema.
    pub fn schema(&self) -> &FieldMap {
        &self.schema
    }

    /// Checks that every schema field present converts to its type (the error is Vault's
    /// text, `error converting input <v> for field "<name>": <why>`) and is within the
    /// field's input limits (`invalid input for field "<name>": <why>`, an extension);
    /// fields are checked in name order so the first failure reported is stable.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in &self.raw {
            let Some(schema) = self.schema.get(name) else {
                continue;
            };
            match coerce(schema.field_type, value) {
                // Vault echoes the input, and the server logs the message: never for a
                // sensitive field (a secret key sent as a list would land in the log).
                Err(_) if schema.is_sensitive() => {
                    return Err(format!(
                        "error converting input for field {name:?}: a {} is expected (the value is not shown: the field is sensitive)",
                        schema.field_type.help_name()
                    ));
                }
                Err(why) => {
                    return Err(format!(
                        "error converting input {} for field {:?}: {why}",
                        go_format_value(value),
                        name
                    ));
                }
                Ok(Some(typed)) => input_limits::check(&schema.limits, &typed)
                    .map_err(|why| format!("invalid input for field {name:?}: {why}"))?,
                Ok(None) => {}
            }
        }
        Ok(())
    }

    /// Checks that every field marked required is present: Vault's
    /// `missing required field "<name>"`. The framework does not call this itself (Vault
    /// does not either); handlers that want the rule call it.
    pub fn validate_required(&self) -> Result<(), String> {
        match self
            .schema
            .iter()
            .find(|(name, s)| s.required && !self.raw.contains_key(*name))
        {
            Some((name, _)) => Err(format!("missing required field {name:?}")),
            None => Ok(()),
        }
    }

    fn field(&self, name: &str) -> Result<&FieldSchema, Error> {
        self.schema
            .get(name)
            .ok_or_else(|| Error::Internal(format!("field {name:?} is not in the schema")))
    }

    /// The value of `name` if the request set it (a JSON `null` counts as set, with the
    /// type's zero value, except for durations, as in Vault).
    pub fn get_ok(&self, name: &str) -> Result<Option<FieldValue>, Error> {
        let schema = self.field(name)?;
        let Some(raw) = self.raw.get(name) else {
            return Ok(None);
        };
        coerce(schema.field_type, raw)
            .map_err(|why| Error::Internal(format!("error reading field {name:?}: {why}")))
    }

    /// The value of `name`: the request's, else the schema default, else the zero value.
    pub fn get(&self, name: &str) -> Result<FieldValue, Error> {
        if let Some(v) = self.get_ok(name)? {
            return Ok(v);
        }
        Ok(default_or_zero(self.field(name)?))
    }

    /// A string field (`String`, `LowerCaseString`, `NameString`).
    pub fn get_string(&self, name: &str) -> Result<String, Error> {
        as_string(name, self.get(name)?)
    }

    /// A string field, only if the request set it.
    pub fn get_string_ok(&self, name: &str) -> Result<Option<String>, Error> {
        self.get_ok(name)?.map(|v| as_string(name, v)).transpose()
    }

    /// An `Int` field.
    pub fn get_int(&self, name: &str) -> Result<i64, Error> {
        as_int(name, self.get(name)?)
    }

    /// An `Int` field, only if the request set it.
    pub fn get_int_ok(&self, name: &str) -> Result<Option<i64>, Error> {
        self.get_ok(name)?.map(|v| as_int(name, v)).transpose()
    }

    /// A `Bool` field.
    pub fn get_bool(&self, name: &str) -> Result<bool, Error> {
        as_bool(name, self.get(name)?)
    }

    /// A `Bool` field, only if the request set it.
    pub fn get_bool_ok(&self, name: &str) -> Result<Option<bool>, Error> {
        self.get_ok(name)?.map(|v| as_bool(name, v)).transpose()
    }

    /// A duration field in whole seconds (negative only for `SignedDurationSecond`).
    pub fn get_seconds(&self, name: &str) -> Result<i64, Error> {
        as_seconds(name, self.get(name)?)
    }

    /// A duration field in whole seconds, only if the request set it.
    pub fn get_seconds_ok(&self, name: &str) -> Result<Option<i64>, Error> {
        self.get_ok(name)?.map(|v| as_seconds(name, v)).transpose()
    }

    /// A `DurationSecond` field as a `Duration` (never negative after validation).
    pub fn get_duration(&self, name: &str) -> Result<Duration, Error> {
        to_duration(name, self.get_seconds(name)?)
    }

    /// A `DurationSecond` field as a `Duration`, only if the request set it.
    pub fn get_duration_ok(&self, name: &str) -> Result<Option<Duration>, Error> {
        self.get_seconds_ok(name)?
            .map(|s| to_duration(name, s))
            .transpose()
    }

    /// A list field (`StringSlice`, `CommaStringSlice`).
    pub fn get_list(&self, name: &str) -> Result<Vec<String>, Error> {
        as_list(name, self.get(name)?)
    }

    /// A list field, only if the request set it.
    pub fn get_list_ok(&self, name: &str) -> Result<Option<Vec<String>>, Error> {
        self.get_ok(name)?.map(|v| as_list(name, v)).transpose()
    }

    /// A `KvPairs` field.
    pub fn get_kv_pairs(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        as_kv(name, self.get(name)?)
    }

    /// A `KvPairs` field, only if the request set it.
    pub fn get_kv_pairs_ok(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, Error> {
        self.get_ok(name)?.map(|v| as_kv(name, v)).transpose()
    }

    /// A `Map` field.
    pub fn get_map(&self, name: &str) -> Result<JsonMap, Error> {
        as_map(name, self.get(name)?)
    }

    /// A `Map` field, only if the request set it.
    pub fn get_map_ok(&self, name: &str) -> Result<Option<JsonMap>, Error> {
        self.get_ok(name)?.map(|v| as_map(name, v)).transpose()
    }
}

/// The schema default coerced to the field's type, or the zero value when there is none
/// (an unconvertible default is rejected when the backend is built).
pub(crate) fn default_or_zero(schema: &FieldSchema) -> FieldValue {
    schema
        .default
        .as_ref()
        .and_then(|d| coerce(schema.field_type, d).ok().flatten())
        .unwrap_or_else(|| schema.field_type.zero())
}

fn wrong_type(name: &str, wanted: &str, got: &FieldValue) -> Error {
    Error::Internal(format!("field {name:?} holds {got:?}, not {wanted}"))
}

fn as_string(name: &str, v: FieldValue) -> Result<String, Error> {
    match v {
        FieldValue::String(s) => Ok(s),
        other => Err(wrong_type(name, "a string", &other)),
    }
}

fn as_int(name: &str, v: FieldValue) -> Result<i64, Error> {
    match v {
        FieldValue::Int(i) => Ok(i),
        other => Err(wrong_type(name, "an int", &other)),
    }
}

fn as_bool(name: &str, v: FieldValue) -> Result<bool, Error> {
    match v {
        FieldValue::Bool(b) => Ok(b),
        other => Err(wrong_type(name, "a bool", &other)),
    }
}

fn as_seconds(name: &str, v: FieldValue) -> Result<i64, Error> {
    match v {
        FieldValue::Seconds(s) => Ok(s),
        other => Err(wrong_type(name, "a duration", &other)),
    }
}

fn to_duration(name: &str, secs: i64) -> Result<Duration, Error> {
    u64::try_from(secs)
        .map(Duration::from_secs)
        .map_err(|_| Error::Internal(format!("field {name:?} is negative; use get_seconds")))
}

fn as_list(name: &str, v: FieldValue) -> Result<Vec<String>, Error> {
    match v {
        FieldValue::List(l) => Ok(l),
        other => Err(wrong_type(name, "a list", &other)),
    }
}

fn as_kv(name: &str, v: FieldValue) -> Result<BTreeMap<String, String>, Error> {
    match v {
        FieldValue::KvPairs(m) => Ok(m),
        other => Err(wrong_type(name, "key/value pairs", &other)),
    }
}

fn as_map(name: &str, v: FieldValue) -> Result<JsonMap, Error> {
    match v {
        FieldValue::Map(m) => Ok(m),
        other => Err(wrong_type(name, "a map", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::FieldType;
    use serde_json::json;

    fn data(raw: serde_json::Value) -> FieldData {
        let mut schema = FieldMap::new();
        schema.insert(
            "name".into(),
            FieldSchema::new(FieldType::String, "n").required(),
        );
        schema.insert(
            "ttl".into(),
            FieldSchema::new(FieldType::DurationSecond, "t").with_default("1h"),
        );
        schema.insert("count".into(), FieldSchema::new(FieldType::Int, "c"));
        schema.insert(
            "tags".into(),
            FieldSchema::new(FieldType::CommaStringSlice, "l").max_items(3),
        );
        schema.insert(
            "secret".into(),
            FieldSchema::new(FieldType::String, "s").display(crate::framework::DisplayAttributes {
                sensitive: true,
                ..Default::default()
            }),
        );
        let raw = raw.as_object().cloned().expect("object");
        FieldData::new(raw, Arc::new(schema))
    }

    #[test]
    fn a_sensitive_value_is_never_echoed_in_a_conversion_error() {
        let d = data(json!({"secret": ["hunter2-secret"]}));
        let err = d.validate().expect_err("a list is not a string");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains(r#"field "secret""#), "{err}");
        // Limits name the field and never the value either.
        let d = data(json!({"secret": "hunter2\u{0}"}));
        let err = d.validate().expect_err("a NUL byte");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn values_beyond_the_field_limits_are_refused_naming_the_field() {
        let d = data(json!({"tags": "a,b,c,d"}));
        assert_eq!(
            d.validate().expect_err("four items"),
            r#"invalid input for field "tags": 4 items given; at most 3 are allowed"#
        );
        let d = data(json!({"name": "x".repeat(5000)}));
        let err = d.validate().expect_err("too long");
        assert!(
            err.starts_with(r#"invalid input for field "name": the value has 5000 characters"#),
            "{err}"
        );
        assert_eq!(data(json!({"tags": "a,b,c"})).validate(), Ok(()));
    }

    #[test]
    fn validation_message_is_vaults() {
        let d = data(json!({"ttl": "abc", "count": "x"}));
        // "count" sorts first, so its error is the one reported.
        assert_eq!(
            d.validate().expect_err("invalid"),
            r#"error converting input x for field "count": cannot parse '' as int: strconv.ParseInt: parsing "x": invalid syntax"#
        );
        let d = data(json!({"ttl": "abc"}));
        assert_eq!(
            d.validate().expect_err("invalid"),
            r#"error converting input abc for field "ttl": time: invalid duration "abc""#
        );
        assert!(data(json!({"unknown": [1]})).validate().is_ok());
    }

    #[test]
    fn getters_apply_defaults_and_zero_values() {
        let d = data(json!({"count": "7", "tags": "a,b"}));
        assert_eq!(d.get_int("count").expect("int"), 7);
        assert_eq!(
            d.get_duration("ttl").expect("ttl"),
            Duration::from_secs(3600)
        );
        assert_eq!(d.get_duration_ok("ttl").expect("ttl"), None);
        assert_eq!(d.get_string("name").expect("name"), "");
        assert_eq!(d.get_string_ok("name").expect("name"), None);
        assert_eq!(d.get_list("tags").expect("tags"), vec!["a", "b"]);
        let d = data(json!({"ttl": null, "name": null}));
        assert_eq!(d.get_duration_ok("ttl").expect("ttl"), None);
        assert_eq!(d.get_string_ok("name").expect("name"), Some(String::new()));
    }

    #[test]
    fn programming_mistakes_are_internal_errors() {
        let d = data(json!({}));
        assert!(matches!(d.get_int("nope"), Err(Error::Internal(_))));
        assert!(matches!(d.get_int("name"), Err(Error::Internal(_))));
    }

    #[test]
    fn required_fields_are_checked_on_request() {
        assert_eq!(
            data(json!({})).validate_required().expect_err("missing"),
            r#"missing required field "name""#
        );
        assert!(data(json!({"name": "x"})).validate_required().is_ok());
    }
}
