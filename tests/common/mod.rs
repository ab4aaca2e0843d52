//! Shared helpers of the integration tests. Minimal version made by the protocol suite;
//! the end-to-end helpers land here too (expect a merge).
#![allow(dead_code)]

pub mod host;
