//! The values a username template computes with: strings, integers and booleans, which is
//! all that Vault's template functions take and return. Also Go's notion of "truth" for
//! `{{ if }}` and how a value prints. Part of the framework's template language; knows
//! nothing of AWS.

use std::fmt;

/// A value produced while rendering a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string (fields, string literals and every Vault function result).
    Str(String),
    /// An integer (number literals, `len`).
    Int(i64),
    /// A boolean (`true`/`false` literals and the comparison functions).
    Bool(bool),
}

impl Value {
    /// Go's `template.IsTrue`: the zero value of each kind is false.
    pub(crate) fn is_true(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Bool(b) => *b,
        }
    }

    /// The Go type name, as `fmt` prints it in `%!verb(type=value)` diagnostics.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Bool(_) => "bool",
        }
    }
}

impl fmt::Display for Value {
    /// How the value prints in template output (Go's `%v`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}
