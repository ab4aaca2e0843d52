//! Placeholder; filled in by its owner.

pub mod template;
