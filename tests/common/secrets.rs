//! Finding secrets in logs (test layer): every secret a suite saw (root keys, issued
//! secret keys, session tokens) must be absent from every log it produced.
//!
//! A run of the load test sees thousands of secrets and megabytes of log, so a substring
//! search per secret would take minutes. AWS secrets are base64 (letters, digits, `+`,
//! `/`, `=`) and at least 40 characters long (a secret access key), so the log is cut
//! into runs of those characters, every 40-character window of a run is looked up by the
//! secrets' first 40 characters, and a hit is confirmed on the whole secret. The few
//! secrets of another shape (test fixtures) are searched for directly.

use std::collections::{BTreeSet, HashMap};

/// Length of an AWS secret access key: the shortest real secret.
const PREFIX: usize = 40;

fn is_base64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

/// The secrets of `secrets` that appear in `log`, sorted.
pub fn leaked<'a, I>(log: &str, secrets: I) -> Vec<String>
where
    I: IntoIterator<Item = &'a String>,
{
    let mut by_prefix: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut found = BTreeSet::new();
    for secret in secrets {
        if secret.len() >= PREFIX && secret.chars().all(is_base64) {
            by_prefix.entry(&secret[..PREFIX]).or_default().push(secret);
        } else if !secret.is_empty() && log.contains(secret.as_str()) {
            found.insert(secret.clone());
        }
    }
    for run in log.split(|c: char| !is_base64(c)) {
        for start in 0..(run.len() + 1).saturating_sub(PREFIX) {
            if let Some(candidates) = by_prefix.get(&run[start..start + PREFIX]) {
                for secret in candidates {
                    if run[start..].starts_with(secret) {
                        found.insert(secret.to_string());
                    }
                }
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_secrets_alone_quoted_and_glued_but_not_absent_ones() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string();
        let token = format!("FwoGZXIvYXdzEJr//////////wEaDM+{}==", "A".repeat(200));
        let fixture = "example-root-secret".to_string();
        let absent = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".to_string();
        let secrets = vec![key.clone(), token.clone(), fixture.clone(), absent];
        let log =
            format!("a line\n{{\"secret_key\":\"{key}\"}}\nsession_token={token} end {fixture}\n");
        let mut want = vec![key.clone(), token.clone(), fixture];
        want.sort();
        assert_eq!(leaked(&log, &secrets), want);
        let glued = format!("X-Amz-Signature=abc{key}def");
        assert_eq!(leaked(&glued, &secrets), vec![key.clone()]);
        // The first 40 characters of a token are not the token.
        assert!(leaked(&token[..60], &secrets).is_empty());
        assert!(leaked("nothing here", &secrets).is_empty());
    }
}
