//! [framework] `Path`: one route of a backend declared as data (Vault's
//! `framework.Path`) — a regex pattern whose named captures become fields, the typed
//! fields, a handler per operation, an optional existence check and the help text — and
//! the pattern helpers Vault engines build their routes from.
//!
//! Patterns are anchored automatically (`^…$`). A path that lists must accept its
//! pattern with and without a trailing slash (`roles/?`): the host appends `/` to list
//! requests but sends help requests without it. Compiling and matching live in `router`.

use std::collections::HashMap;
use std::fmt;

use super::field::{DisplayAttributes, FieldMap, FieldSchema};
use super::operation::{ExistenceFunc, PathOperation, existence_fn};
use crate::logical::{Error, Operation, Request};

// Go's `\w` is ASCII-only while Rust's is Unicode; `[[:word:]]` is ASCII in both
// dialects, so these helpers match exactly the names Vault's would.
const NAME: &str = r"[[:word:]](([[:word:].-]+)?[[:word:]])?";
const NAME_WITH_AT: &str = r"[[:word:]](([[:word:].@-]+)?[[:word:]])?";

/// A named capture for a name: word characters, with `-` and `.` inside (Vault's
/// `GenericNameRegex`).
pub fn generic_name_regex(name: &str) -> String {
    format!("(?P<{name}>{NAME})")
}

/// Like [`generic_name_regex`] but also allowing `@` inside (Vault's
/// `GenericNameWithAtRegex`, used for AWS role names).
pub fn generic_name_with_at_regex(name: &str) -> String {
    format!("(?P<{name}>{NAME_WITH_AT})")
}

/// An optional `/<name>` segment (Vault's `OptionalGenericNameRegex`).
pub fn optional_generic_name_regex(name: &str) -> String {
    format!("(/(?P<{name}>{NAME}))?")
}

/// An optional `/<anything>` tail captured as `name` (Vault's `OptionalParamRegex`).
pub fn optional_param_regex(name: &str) -> String {
    format!("(/(?P<{name}>.+))?")
}

/// Captures the whole remaining path as `name` (Vault's `MatchAllRegex`).
pub fn match_all_regex(name: &str) -> String {
    format!("(?P<{name}>.*)")
}

/// One route of a backend.
#[derive(Clone)]
pub struct Path {
    /// Regex the request path must match; named captures become field values and win
    /// over body parameters of the same name.
    pub pattern: String,
    /// The parameters the path accepts.
    pub fields: FieldMap,
    /// Handlers by operation. An operation missing here is answered with
    /// `unsupported operation`, except `help`, which the framework generates.
    pub operations: HashMap<Operation, PathOperation>,
    /// Decides create vs update for writes; without one, writes are always updates.
    pub existence_check: Option<ExistenceFunc>,
    /// One-line help.
    pub help_synopsis: String,
    /// Long help.
    pub help_description: String,
    /// UI hints, and the OpenAPI operation-ID prefix shared by the path's operations.
    pub display_attrs: Option<DisplayAttributes>,
    /// Marked deprecated in documentation.
    pub deprecated: bool,
    /// The path takes parameters beyond its fields; suppresses the unknown-field warning.
    pub takes_arbitrary_input: bool,
}

impl Path {
    /// A path matching `pattern`, with nothing else set.
    pub fn new(pattern: impl Into<String>) -> Self {
        Path {
            pattern: pattern.into(),
            fields: FieldMap::new(),
            operations: HashMap::new(),
            existence_check: None,
            help_synopsis: String::new(),
            help_description: String::new(),
            display_attrs: None,
            deprecated: false,
            takes_arbitrary_input: false,
        }
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, schema: FieldSchema) -> Self {
        self.fields.insert(name.into(), schema);
        self
    }

    /// Adds the handler for `op`.
    pub fn operation(mut self, op: Operation, handler: PathOperation) -> Self {
        self.operations.insert(op, handler);
        self
    }

    /// Sets the existence check.
    pub fn existence_check<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(super::Context, Request, super::FieldData) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<bool, Error>> + Send + 'static,
    {
        self.existence_check = Some(existence_fn(f));
        self
    }

    /// Sets the help synopsis and description.
    pub fn help(mut self, synopsis: impl Into<String>, description: impl Into<String>) -> Self {
        self.help_synopsis = synopsis.into();
        self.help_description = description.into();
        self
    }

    /// Sets display attributes.
    pub fn display(mut self, attrs: DisplayAttributes) -> Self {
        self.display_attrs = Some(attrs);
        self
    }

    /// Marks the path deprecated.
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Accepts parameters beyond the declared fields without warning.
    pub fn takes_arbitrary_input(mut self) -> Self {
        self.takes_arbitrary_input = true;
        self
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ops: Vec<&str> = self.operations.keys().map(Operation::as_str).collect();
        ops.sort_unstable();
        f.debug_struct("Path")
            .field("pattern", &self.pattern)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("operations", &ops)
            .field("existence_check", &self.existence_check.is_some())
            .finish_non_exhaustive()
    }
}
