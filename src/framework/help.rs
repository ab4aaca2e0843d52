//! [framework] Help text: the markdown `vault path-help` prints for one path (request,
//! matching route, synopsis, parameters, description) and for the backend root (the
//! backend's help and every route with its synopsis), laid out exactly as Vault's Go
//! templates lay them out, plus the help response shape
//! `{"help", "see_also": null, "openapi"}`. The OpenAPI part is built in `openapi`.

use serde_json::Value;

use super::spec::PathSpec;
use crate::logical::{JsonMap, Response};

/// Every line of `text` indented by `n` spaces (Go's `indent` template function).
fn indent(n: usize, text: &str) -> String {
    let prefix = " ".repeat(n);
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn or_placeholder(text: &str, placeholder: &'static str) -> String {
    let t = text.trim();
    if t.is_empty() {
        placeholder.to_string()
    } else {
        t.to_string()
    }
}

/// Help for one path: `request` is the path asked about.
pub(crate) fn path_help(request: &str, path: &PathSpec) -> String {
    let mut out = format!(
        "Request:        {request}\nMatching Route: {}\n\n{}\n\n",
        path.pattern,
        or_placeholder(&path.help_synopsis, "<no synopsis>")
    );
    if !path.fields.is_empty() {
        out.push_str("## PARAMETERS\n");
        for (name, schema) in path.fields.iter() {
            let mut description = or_placeholder(&schema.description, "<no description>");
            if schema.deprecated {
                description = format!("(DEPRECATED) {description}");
            }
            out.push_str(&format!(
                "\n{} ({})\n\n{}\n",
                indent(4, name),
                schema.field_type.help_name(),
                indent(8, &description)
            ));
        }
    }
    out.push_str(&format!(
        "\n## DESCRIPTION\n\n{}\n",
        or_placeholder(&path.help_description, "<no description>")
    ));
    out.trim().to_string()
}

const ROOT_PATHS_INTRO: &str = "The following paths are supported by this backend. To view help for
any of the paths below, use the help command with any route matching
the path pattern. Note that depending on the policy of your auth token,
you may or may not be able to access certain paths.";

/// Help for the backend root: `routes` are (anchored pattern, synopsis) pairs.
pub(crate) fn root_help(backend_help: &str, routes: &[(&str, &str)]) -> String {
    let mut sorted = routes.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = format!(
        "## DESCRIPTION\n\n{}\n\n## PATHS\n\n{ROOT_PATHS_INTRO}\n\n",
        backend_help.trim()
    );
    for (route, synopsis) in sorted {
        out.push_str(&format!(
            "{}\n{}\n\n",
            indent(4, route),
            indent(8, synopsis.trim())
        ));
    }
    out.trim().to_string()
}

/// The response to a help request.
pub(crate) fn help_response(help: String, openapi: Value) -> Response {
    let mut data = JsonMap::new();
    data.insert("help".to_string(), Value::String(help));
    data.insert("see_also".to_string(), Value::Null);
    data.insert("openapi".to_string(), openapi);
    Response::with_data(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{FieldSchema, FieldType, Path};

    fn spec(path: Path) -> PathSpec {
        PathSpec::split(path).0
    }

    #[test]
    fn path_help_matches_vault_layout() {
        let p = Path::new("config/lease")
            .field(
                "lease",
                FieldSchema::new(FieldType::String, "Default lease for roles."),
            )
            .field(
                "old",
                FieldSchema::new(FieldType::Int, "Old knob.").deprecated(),
            )
            .help("Configure the lease.\n", "\nLong text.\nSecond line.\n");
        let want = "Request:        config/lease\nMatching Route: ^config/lease$\n\nConfigure the lease.\n\n\
## PARAMETERS\n\n    lease (string)\n\n        Default lease for roles.\n\n    old (int)\n\n        (DEPRECATED) Old knob.\n\n\
## DESCRIPTION\n\nLong text.\nSecond line.";
        assert_eq!(path_help("config/lease", &spec(p)), want);
    }

    #[test]
    fn path_help_without_fields_or_text_uses_placeholders() {
        let want = "Request:        x\nMatching Route: ^x$\n\n<no synopsis>\n\n\n## DESCRIPTION\n\n<no description>";
        assert_eq!(path_help("x", &spec(Path::new("x"))), want);
    }

    #[test]
    fn root_help_lists_sorted_routes() {
        let text = root_help(
            "The AWS backend.\n",
            &[("^roles/?$", "List roles."), ("^config/lease$", " Lease. ")],
        );
        let want = format!(
            "## DESCRIPTION\n\nThe AWS backend.\n\n## PATHS\n\n{ROOT_PATHS_INTRO}\n\n    ^config/lease$\n        Lease.\n\n    ^roles/?$\n        List roles."
        );
        assert_eq!(text, want);
    }
}
