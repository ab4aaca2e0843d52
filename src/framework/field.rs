//! [framework] Field schemas: the typed parameters a path accepts (Vault's
//! `framework.FieldSchema` and `FieldType`), the typed values they coerce to, and the
//! display hints UIs and OpenAPI read.
//!
//! This module only *describes* fields; converting raw request JSON into [`FieldValue`]s
//! lives in `coerce`, and per-request access in `field_data`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::logical::JsonMap;

/// The type of a field (Vault's `framework.FieldType`, the subset engines here use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Any scalar, weakly converted to a string (numbers and bools are printed).
    String,
    /// A string, lower-cased.
    LowerCaseString,
    /// A URL-safe name: word characters, with `-` and `.` allowed inside.
    NameString,
    /// A 64-bit integer; strings may use Go's `0x`/`0o`/`0b` prefixes.
    Int,
    /// A boolean; strings `1/t/true/0/f/false` (any Go spelling) are accepted.
    Bool,
    /// A non-negative duration in seconds: an integer, or Vault duration syntax (`1h30m`).
    DurationSecond,
    /// A duration in seconds that may be negative.
    SignedDurationSecond,
    /// A list of strings (a single string becomes a one-element list).
    StringSlice,
    /// A list of strings, or one string holding a comma-separated list.
    CommaStringSlice,
    /// String key/value pairs: a JSON object, or a list of `key=value` strings.
    KvPairs,
    /// A JSON object, or a string holding a JSON object.
    Map,
}

impl FieldType {
    /// The name Vault's help output uses for the type (`FieldType.String()` in Go).
    pub fn help_name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::LowerCaseString => "lowercase string",
            FieldType::NameString => "name string",
            FieldType::Int => "int",
            FieldType::Bool => "bool",
            FieldType::DurationSecond | FieldType::SignedDurationSecond => "duration (sec)",
            FieldType::StringSlice | FieldType::CommaStringSlice => "slice",
            FieldType::KvPairs => "keypair",
            FieldType::Map => "map",
        }
    }

    /// The value a field of this type has when neither the request nor a default sets it.
    pub fn zero(self) -> FieldValue {
        match self {
            FieldType::String | FieldType::LowerCaseString | FieldType::NameString => {
                FieldValue::String(String::new())
            }
            FieldType::Int => FieldValue::Int(0),
            FieldType::Bool => FieldValue::Bool(false),
            FieldType::DurationSecond | FieldType::SignedDurationSecond => FieldValue::Seconds(0),
            FieldType::StringSlice | FieldType::CommaStringSlice => FieldValue::List(Vec::new()),
            FieldType::KvPairs => FieldValue::KvPairs(BTreeMap::new()),
            FieldType::Map => FieldValue::Map(JsonMap::new()),
        }
    }
}

/// A coerced field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// For `String`, `LowerCaseString` and `NameString`.
    String(String),
    /// For `Int`.
    Int(i64),
    /// For `Bool`.
    Bool(bool),
    /// For `DurationSecond` and `SignedDurationSecond`: whole seconds (truncated, as Go).
    Seconds(i64),
    /// For `StringSlice` and `CommaStringSlice`.
    List(Vec<String>),
    /// For `KvPairs`.
    KvPairs(BTreeMap<String, String>),
    /// For `Map`.
    Map(JsonMap),
}

/// Hints for UIs and documentation generators (Vault's `framework.DisplayAttributes`);
/// serialised into OpenAPI as `x-vault-displayAttrs`. The `operation_*` members only shape
/// OpenAPI operation IDs and are never emitted themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisplayAttributes {
    /// Label or heading for the field or path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Tooltip text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Sample value, for display only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Mask the value in UIs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// Show the path as a navigation tab.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub navigation: bool,
    /// Type of item the path operates on.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub item_type: String,
    /// UI group of the field.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Verb for the operation in UIs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// Form field type, e.g. `textarea` or `file`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub edit_type: String,
    /// OpenAPI operation ID prefix (e.g. `aws`).
    #[serde(skip)]
    pub operation_prefix: String,
    /// OpenAPI operation ID verb (e.g. `configure`); defaults to the operation name.
    #[serde(skip)]
    pub operation_verb: String,
    /// OpenAPI operation ID suffix; `a|b` picks by expanded-path index.
    #[serde(skip)]
    pub operation_suffix: String,
}

impl DisplayAttributes {
    /// Attributes that only set the OpenAPI operation ID prefix.
    pub fn operation_prefix(prefix: impl Into<String>) -> Self {
        DisplayAttributes {
            operation_prefix: prefix.into(),
            ..Self::default()
        }
    }

    /// Attributes that set the OpenAPI operation ID verb and suffix.
    pub fn operation(verb: impl Into<String>, suffix: impl Into<String>) -> Self {
        DisplayAttributes {
            operation_verb: verb.into(),
            operation_suffix: suffix.into(),
            ..Self::default()
        }
    }

    /// A copy without the operation-ID hints, or `None` when nothing else is set (so the
    /// OpenAPI output carries no empty objects).
    pub(crate) fn without_operation_hints(&self) -> Option<DisplayAttributes> {
        let copy = DisplayAttributes {
            operation_prefix: String::new(),
            operation_verb: String::new(),
            operation_suffix: String::new(),
            ..self.clone()
        };
        (copy != DisplayAttributes::default()).then_some(copy)
    }
}

/// One parameter of a path (Vault's `framework.FieldSchema`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    /// The type values are coerced to.
    pub field_type: FieldType,
    /// Default when the request does not set the field, coerced like request input.
    pub default: Option<Value>,
    /// User-facing description (help text and OpenAPI).
    pub description: String,
    /// Documented as required (help, OpenAPI). Like Vault, the framework does not reject
    /// requests that omit it; handlers that need it call `FieldData::validate_required`.
    pub required: bool,
    /// Shown as deprecated in help and OpenAPI.
    pub deprecated: bool,
    /// Documented as a query parameter in OpenAPI.
    pub query: bool,
    /// Permitted values, for documentation only (as in Vault).
    pub allowed_values: Vec<Value>,
    /// UI hints.
    pub display_attrs: Option<DisplayAttributes>,
    /// Bounds on the size and characters of request input (an extension: Vault has none).
    pub limits: InputLimits,
}

/// What request input a field accepts beyond its type, checked with the type before any
/// handler runs. Every field has bounds, so a hostile request (a megabyte string, ten
/// thousand list items, a NUL byte) is a 400 naming the field before it reaches an
/// engine, storage or AWS; [`InputLimits::DEFAULT`] is generous for every Vault parameter,
/// and paths tighten or widen it per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Characters in one string: the value, each list item, each key and each value of a
    /// key/value map.
    pub max_chars: usize,
    /// Items of a list, or entries of a key/value map or JSON object (a JSON object's
    /// nested values are not checked further: no engine field here is a `Map`).
    pub max_items: usize,
    /// Control characters are refused, except tab, line feed and carriage return when set
    /// (multi-line JSON documents).
    pub allow_line_breaks: bool,
}

impl InputLimits {
    /// 4096 characters, 1000 items, no control characters.
    pub const DEFAULT: InputLimits = InputLimits {
        max_chars: 4096,
        max_items: 1000,
        allow_line_breaks: false,
    };
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits::DEFAULT
    }
}

impl FieldSchema {
    /// A field of type `field_type` with a description.
    pub fn new(field_type: FieldType, description: impl Into<String>) -> Self {
        FieldSchema {
            field_type,
            default: None,
            description: description.into(),
            required: false,
            deprecated: false,
            query: false,
            allowed_values: Vec::new(),
            display_attrs: None,
            limits: InputLimits::DEFAULT,
        }
    }

    /// Sets the default value.
    pub fn with_default(mut self, default: impl Into<Value>) -> Self {
        self.default = Some(default.into());
        self
    }

    /// Marks the field as required (documentation; see [`FieldSchema::required`]).
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks the field as deprecated.
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Documents the field as a query parameter.
    pub fn query(mut self) -> Self {
        self.query = true;
        self
    }

    /// Documents the permitted values.
    pub fn allowed_values<I, V>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.allowed_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Sets UI hints.
    pub fn display(mut self, attrs: DisplayAttributes) -> Self {
        self.display_attrs = Some(attrs);
        self
    }

    /// Whether UIs mask the field: its value must never be echoed in messages either.
    pub fn is_sensitive(&self) -> bool {
        self.display_attrs.as_ref().is_some_and(|d| d.sensitive)
    }

    /// Accepts strings of up to `n` characters (see [`InputLimits::max_chars`]).
    pub fn max_chars(mut self, n: usize) -> Self {
        self.limits.max_chars = n;
        self
    }

    /// Accepts up to `n` items (see [`InputLimits::max_items`]).
    pub fn max_items(mut self, n: usize) -> Self {
        self.limits.max_items = n;
        self
    }

    /// Accepts tabs and line breaks (a JSON or PEM document).
    pub fn multi_line(mut self) -> Self {
        self.limits.allow_line_breaks = true;
        self
    }
}

/// The fields of a path or secret type, by name (sorted, as help lists them).
pub type FieldMap = BTreeMap<String, FieldSchema>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_attrs_drop_operation_hints() {
        assert_eq!(
            DisplayAttributes::operation_prefix("aws").without_operation_hints(),
            None
        );
        let attrs = DisplayAttributes {
            sensitive: true,
            operation_verb: "configure".into(),
            ..Default::default()
        };
        let json = serde_json::to_value(attrs.without_operation_hints()).expect("json");
        assert_eq!(json, serde_json::json!({"sensitive": true}));
    }

    #[test]
    fn zero_values_match_types() {
        assert_eq!(FieldType::DurationSecond.zero(), FieldValue::Seconds(0));
        assert_eq!(FieldType::CommaStringSlice.zero(), FieldValue::List(vec![]));
        assert_eq!(FieldType::Map.help_name(), "map");
        assert_eq!(FieldType::KvPairs.help_name(), "keypair");
    }
}
