//! [framework] What a path declares apart from its handlers — anchored pattern, fields,
//! help, display attributes, the documentation of each operation — split off when a
//! backend is built and shared between backends (mounts) in the process.
//!
//! A plugin process serving many mounts builds the same engine once per mount, and every
//! mount declares exactly the same paths: field descriptions, help text and OpenAPI hints
//! are most of an engine instance's memory. So [`PathSpec`]s are interned by value, the
//! way `router` shares compiled regexes by pattern text: a build that declares a path
//! some live backend already declared gets that backend's copy, and each mount keeps
//! only its handlers and its state. The interner holds weak references, so a declaration
//! goes away with the last backend that uses it. Routing, validation, help and OpenAPI
//! read the shared copy; nothing here runs a handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::field::{DisplayAttributes, FieldMap};
use super::operation::{ExistenceFunc, OperationFunc};
use super::path::Path;
use super::router::anchored;
use crate::logical::Operation;

/// A path's declaration without its callables.
#[derive(Debug, PartialEq)]
pub(crate) struct PathSpec {
    /// The anchored pattern (`^…$`).
    pub(crate) pattern: String,
    /// The parameters the path accepts, handed to every request's `FieldData`.
    pub(crate) fields: Arc<FieldMap>,
    /// The documentation of each operation the path has a handler for.
    pub(crate) operations: HashMap<Operation, OperationDoc>,
    pub(crate) help_synopsis: String,
    pub(crate) help_description: String,
    pub(crate) display_attrs: Option<DisplayAttributes>,
    pub(crate) deprecated: bool,
    pub(crate) takes_arbitrary_input: bool,
}

/// What a `PathOperation` says besides its handler.
#[derive(Debug, PartialEq)]
pub(crate) struct OperationDoc {
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) unpublished: bool,
    pub(crate) deprecated: bool,
    pub(crate) display_attrs: Option<DisplayAttributes>,
    pub(crate) forward_performance_standby: bool,
}

/// A path's callables: one mount's own.
pub(crate) struct PathHandlers {
    /// Handlers by operation (a few per path: a list is smaller than a map).
    pub(crate) operations: Vec<(Operation, OperationFunc)>,
    pub(crate) existence_check: Option<ExistenceFunc>,
}

impl PathSpec {
    /// Splits `path` into its declaration and its handlers.
    pub(crate) fn split(path: Path) -> (PathSpec, PathHandlers) {
        let mut operations = HashMap::with_capacity(path.operations.len());
        let mut handlers = Vec::with_capacity(path.operations.len());
        for (op, operation) in path.operations {
            handlers.push((op.clone(), Arc::clone(operation.handler())));
            operations.insert(
                op,
                OperationDoc {
                    summary: operation.summary,
                    description: operation.description,
                    unpublished: operation.unpublished,
                    deprecated: operation.deprecated,
                    display_attrs: operation.display_attrs,
                    forward_performance_standby: operation.forward_performance_standby,
                },
            );
        }
        let spec = PathSpec {
            pattern: anchored(&path.pattern),
            fields: Arc::new(path.fields),
            operations,
            help_synopsis: path.help_synopsis,
            help_description: path.help_description,
            display_attrs: path.display_attrs,
            deprecated: path.deprecated,
            takes_arbitrary_input: path.takes_arbitrary_input,
        };
        let handlers = PathHandlers {
            operations: handlers,
            existence_check: path.existence_check,
        };
        (spec, handlers)
    }
}

impl PathHandlers {
    /// The handler for `op`, if the path has one.
    pub(crate) fn get(&self, op: &Operation) -> Option<&OperationFunc> {
        self.operations
            .iter()
            .find_map(|(o, handler)| (o == op).then_some(handler))
    }
}

/// Values shared process-wide by equality: [`Interner::share`] hands out the live copy
/// equal to its argument if there is one.
pub(crate) struct Interner<T> {
    live: Mutex<Vec<Weak<T>>>,
}

impl<T: PartialEq> Interner<T> {
    /// An empty interner (usable as a `static`).
    pub(crate) const fn new() -> Self {
        Interner {
            live: Mutex::new(Vec::new()),
        }
    }

    /// The shared copy of `value`: an equal one still in use, else `value` itself. A
    /// linear scan: an engine declares a dozen paths, and a build happens once per mount.
    pub(crate) fn share(&self, value: T) -> Arc<T> {
        // A poisoned lock still holds only complete entries (nothing here panics midway).
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|w| w.strong_count() > 0);
        if let Some(existing) = live.iter().filter_map(Weak::upgrade).find(|v| **v == value) {
            return existing;
        }
        let shared = Arc::new(value);
        live.push(Arc::downgrade(&shared));
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{FieldSchema, FieldType, PathOperation};

    fn declared(description: &str) -> Path {
        Path::new("roles/?")
            .field("name", FieldSchema::new(FieldType::String, description))
            .operation(
                Operation::List,
                PathOperation::new(|_, _, _| async { Ok(None) }).summary("List."),
            )
            .help("Roles.", "All roles.")
    }

    #[test]
    fn split_keeps_docs_and_handlers_apart() {
        let (spec, handlers) = PathSpec::split(declared("The name."));
        assert_eq!(spec.pattern, "^roles/?$");
        assert_eq!(spec.operations[&Operation::List].summary, "List.");
        assert!(handlers.get(&Operation::List).is_some());
        assert!(handlers.get(&Operation::Read).is_none());
        assert!(handlers.existence_check.is_none());
    }

    #[test]
    fn equal_declarations_share_one_copy_while_alive() {
        static SPECS: Interner<PathSpec> = Interner::new();
        let a = SPECS.share(PathSpec::split(declared("The name.")).0);
        let b = SPECS.share(PathSpec::split(declared("The name.")).0);
        let c = SPECS.share(PathSpec::split(declared("Another name.")).0);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none(), "the interner keeps nothing alive");
    }
}
