//! `SpecialPaths`: the paths a backend asks the host to treat specially, read once at
//! mount. Entries of `root` and `unauthenticated` are exact unless they end in `*`;
//! entries of the storage lists are exact unless they end in `/`.

/// Vault's `logical.Paths`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialPaths {
    /// Paths that need a sudo-capable token.
    pub root: Vec<String>,
    /// Paths reachable without a token.
    pub unauthenticated: Vec<String>,
    /// Storage prefixes that are local to the cluster (not replicated), e.g. `wal/`.
    pub local_storage: Vec<String>,
    /// Storage keys the host seal-wraps, e.g. `config/root`.
    pub seal_wrap_storage: Vec<String>,
    /// Storage prefixes whose writes are forwarded from secondaries.
    pub write_forwarded_storage: Vec<String>,
}
