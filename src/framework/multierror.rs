//! [framework] Go's `hashicorp/go-multierror` list format, which Vault uses whenever it
//! reports several problems at once (rollback failures, role validation) and which
//! clients see verbatim: `1 error occurred:\n\t* msg\n\n`.

/// Formats `errors` as go-multierror does; an empty list is an empty string.
pub fn format_errors<S: AsRef<str>>(errors: &[S]) -> String {
    match errors {
        [] => String::new(),
        [only] => format!("1 error occurred:\n\t* {}\n\n", only.as_ref()),
        many => {
            let points: Vec<String> = many.iter().map(|e| format!("* {}", e.as_ref())).collect();
            format!(
                "{} errors occurred:\n\t{}\n\n",
                many.len(),
                points.join("\n\t")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_multierror() {
        assert_eq!(format_errors::<&str>(&[]), "");
        assert_eq!(
            format_errors(&["unsupported path"]),
            "1 error occurred:\n\t* unsupported path\n\n"
        );
        assert_eq!(
            format_errors(&["a", "b"]),
            "2 errors occurred:\n\t* a\n\t* b\n\n"
        );
    }
}
