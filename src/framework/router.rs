//! [framework] Route matching: every path pattern is anchored and compiled once, then a
//! request path is matched against the patterns in declaration order and its named
//! captures are returned by name. Knows nothing about operations or fields.
//!
//! Compiled regexes are shared process-wide by pattern text (a plugin process may serve
//! several mounts of the same engine), the way Vault's SDK keeps a singleton cache. The
//! very same `Regex` is shared, not a clone: a clone gets its own pool of match caches,
//! which each mount would then fill on its first requests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use regex_lite::Regex;

/// Anchors a pattern as Vault does: `^` prepended and `$` appended unless present.
pub(crate) fn anchored(pattern: &str) -> String {
    let mut p = String::with_capacity(pattern.len() + 2);
    if !pattern.starts_with('^') {
        p.push('^');
    }
    p.push_str(pattern);
    if !pattern.ends_with('$') {
        p.push('$');
    }
    p
}

fn compile_cached(pattern: &str) -> Result<Arc<Regex>, regex_lite::Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // A poisoned cache still holds only fully built regexes.
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(pattern) {
        return Ok(Arc::clone(re));
    }
    let re = Arc::new(Regex::new(pattern)?);
    cache.insert(pattern.to_string(), Arc::clone(&re));
    Ok(re)
}

/// The compiled patterns of one backend, in declaration order.
#[derive(Debug, Clone)]
pub(crate) struct Router {
    routes: Vec<Arc<Regex>>,
}

/// A successful match: the index of the path and its named captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteMatch {
    pub(crate) index: usize,
    pub(crate) captures: BTreeMap<String, String>,
}

impl Router {
    /// Compiles already anchored patterns; the error names the offending pattern.
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let routes = patterns
            .into_iter()
            .map(|p| compile_cached(p).map_err(|e| format!("invalid path pattern {p:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Router { routes })
    }

    /// The first path matching `path`. Every named group is reported, with `""` for a
    /// group that did not take part in the match, exactly as Vault does (so an optional
    /// capture still overrides a body parameter of the same name).
    pub(crate) fn route(&self, path: &str) -> Option<RouteMatch> {
        self.routes.iter().enumerate().find_map(|(index, re)| {
            let caps = re.captures(path)?;
            let captures = re
                .capture_names()
                .flatten()
                .map(|name| {
                    (
                        name.to_string(),
                        caps.name(name).map_or("", |m| m.as_str()).to_string(),
                    )
                })
                .collect();
            Some(RouteMatch { index, captures })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::path::{
        generic_name_regex, generic_name_with_at_regex, optional_param_regex,
    };

    fn router(patterns: &[&str]) -> Router {
        let anchored: Vec<String> = patterns.iter().map(|p| anchored(p)).collect();
        Router::new(anchored.iter().map(String::as_str)).expect("compiles")
    }

    #[test]
    fn patterns_are_anchored() {
        assert_eq!(anchored("config/lease"), "^config/lease$");
        assert_eq!(anchored("^roles/?$"), "^roles/?$");
        let r = router(&["config/lease"]);
        assert!(r.route("config/lease").is_some());
        assert!(r.route("config/lease/x").is_none());
        assert!(r.route("x/config/lease").is_none());
        assert!(r.route("config/leasex").is_none());
    }

    #[test]
    fn first_declared_match_wins_and_captures_are_named() {
        let r = router(&[
            &format!("roles/{}", generic_name_with_at_regex("name")),
            "roles/?",
            "creds/.*",
        ]);
        let m = r.route("roles/dev@corp.example").expect("match");
        assert_eq!(m.index, 0);
        assert_eq!(
            m.captures.get("name").map(String::as_str),
            Some("dev@corp.example")
        );
        assert_eq!(r.route("roles/").expect("list").index, 1);
        assert_eq!(r.route("roles").expect("help").index, 1);
        assert_eq!(r.route("creds/anything/here").expect("match").index, 2);
        assert!(r.route("roles/-bad").is_none());
        assert!(r.route("nothing").is_none());
    }

    #[test]
    fn names_are_ascii_like_go() {
        let r = router(&[&format!("roles/{}", generic_name_regex("name"))]);
        assert!(r.route("roles/a.b-c_d").is_some());
        assert!(r.route("roles/é").is_none());
        assert!(r.route("roles/a@b").is_none());
    }

    #[test]
    fn unmatched_optional_captures_are_empty() {
        let r = router(&[&format!("static{}", optional_param_regex("rest"))]);
        assert_eq!(
            r.route("static")
                .expect("match")
                .captures
                .get("rest")
                .map(String::as_str),
            Some("")
        );
        assert_eq!(
            r.route("static/a/b")
                .expect("match")
                .captures
                .get("rest")
                .map(String::as_str),
            Some("a/b")
        );
    }

    #[test]
    fn bad_patterns_are_reported() {
        let err = Router::new(["^roles/(?P<name$"]).expect_err("invalid");
        assert!(err.contains("roles/(?P<name"), "{err}");
    }
}
