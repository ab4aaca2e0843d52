//! Tests of the template language as a whole: Vault's default AWS username template,
//! Vault's own template test vectors, block structure, and error reporting.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use regex_lite::Regex;

use super::Template;

/// Vault's `defaultUserNameTemplate` (path_config_root.go), byte for byte.
const VAULT_DEFAULT: &str = r#"{{ if (eq .Type "STS") }}{{ printf "vault-%s-%s"  (unix_time) (random 20) | truncate 32 }}{{ else }}{{ printf "vault-%s-%s-%s" (printf "%s-%s" (.DisplayName) (.PolicyName) | truncate 42) (unix_time) (random 20) | truncate 64 }}{{ end }}"#;

fn at_1700000000() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn fields<'a>(pairs: &[(&'a str, &str)]) -> HashMap<&'a str, String> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn render(source: &str, pairs: &[(&str, &str)]) -> Result<String, String> {
    Template::parse(source)?.render_at(&fields(pairs), at_1700000000())
}

#[test]
fn default_template_iam_branch_has_vaults_shape() {
    let t = Template::parse(VAULT_DEFAULT).expect("parse");
    let f = fields(&[
        ("DisplayName", "token"),
        ("PolicyName", "myrole"),
        ("Type", "IAM"),
    ]);
    let first = t.render_at(&f, at_1700000000()).expect("render");
    let shape = Regex::new(r"^vault-token-myrole-1700000000-[0-9A-Za-z]{20}$").expect("re");
    assert!(shape.is_match(&first), "{first}");
    let second = t.render_at(&f, at_1700000000()).expect("render");
    assert_ne!(
        first, second,
        "the random part must differ between renderings"
    );
}

#[test]
fn default_template_truncates_long_names_to_64() {
    let display = "d".repeat(40);
    let policy = "p".repeat(40);
    let out = render(
        VAULT_DEFAULT,
        &[
            ("DisplayName", &display),
            ("PolicyName", &policy),
            ("Type", "IAM"),
        ],
    )
    .expect("render");
    assert_eq!(out.len(), 64, "{out}");
    // DisplayName-PolicyName is cut to 42 before the time and random suffix are added.
    let expected_prefix = format!("vault-{}-{}-1700000000-", display, &policy[..1]);
    assert!(out.starts_with(&expected_prefix), "{out}");
    assert!(
        out[expected_prefix.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    );
}

#[test]
fn default_template_sts_branch_is_32_chars() {
    let out = render(
        VAULT_DEFAULT,
        &[("DisplayName", ""), ("PolicyName", ""), ("Type", "STS")],
    )
    .expect("render");
    let shape = Regex::new(r"^vault-1700000000-[0-9A-Za-z]{15}$").expect("re");
    assert!(shape.is_match(&out), "{out}");
    assert_eq!(out.len(), 32);
}

#[test]
fn vault_builtin_function_vectors() {
    let source = r#"{{.String | truncate 10}}
{{.String | uppercase}}
{{.String | lowercase}}
{{.String | replace " " "."}}
{{.String | sha256}}
{{.String | base64}}
{{.String | truncate_sha256 20}}"#;
    let out = render(
        source,
        &[("String", "Some string with Multiple Capitals LETTERS")],
    )
    .expect("render");
    assert_eq!(
        out,
        "Some strin\n\
         SOME STRING WITH MULTIPLE CAPITALS LETTERS\n\
         some string with multiple capitals letters\n\
         Some.string.with.Multiple.Capitals.LETTERS\n\
         da9872dd96609c72897defa11fe81017a62c3f44339d9d3b43fe37540ede3601\n\
         U29tZSBzdHJpbmcgd2l0aCBNdWx0aXBsZSBDYXBpdGFscyBMRVRURVJT\n\
         Some string 6841cf80"
    );
}

#[test]
fn plain_text_and_time_functions() {
    assert_eq!(
        render("this is a template", &[]).expect("render"),
        "this is a template"
    );
    assert_eq!(
        render("{{unix_time}}/{{ unix_time_millis }}", &[]).expect("render"),
        "1700000000/1700000000000"
    );
    assert_eq!(
        render(r#"{{ timestamp "2006-01-02" }}"#, &[]).expect("render"),
        "2023-11-14"
    );
    let id = render("{{uuid}}", &[]).expect("render");
    let shape =
        Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$").expect("re");
    assert!(shape.is_match(&id), "{id}");
}

#[test]
fn render_uses_the_real_clock() {
    let before = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let out = Template::parse("{{ unix_time }}")
        .expect("parse")
        .render(&HashMap::new())
        .expect("render");
    let value: u64 = out.parse().expect("number");
    assert!(
        value >= before && value <= before + 60,
        "{value} vs {before}"
    );
}

#[test]
fn if_else_if_else_chains() {
    let source =
        r#"{{ if eq .Type "IAM" }}iam{{ else if eq .Type "STS" }}sts{{ else }}other{{ end }}"#;
    assert_eq!(render(source, &[("Type", "IAM")]).expect("render"), "iam");
    assert_eq!(render(source, &[("Type", "STS")]).expect("render"), "sts");
    assert_eq!(render(source, &[("Type", "X")]).expect("render"), "other");
    let nested = "{{ if .A }}a{{ if .B }}b{{ end }}{{ else }}none{{ end }}!";
    assert_eq!(render(nested, &[("A", "1"), ("B", "")]).expect("r"), "a!");
    assert_eq!(
        render(nested, &[("A", ""), ("B", "1")]).expect("r"),
        "none!"
    );
}

#[test]
fn logic_functions_and_literals() {
    assert_eq!(
        render(
            r#"{{ if and .A (not .B) }}yes{{ end }}"#,
            &[("A", "x"), ("B", "")]
        )
        .expect("r"),
        "yes"
    );
    assert_eq!(
        render(r#"{{ or .A "fallback" }}"#, &[("A", "")]).expect("r"),
        "fallback"
    );
    // `or` stops at the first truthy argument, so the failing call is never made.
    assert_eq!(
        render(r#"{{ or "x" (truncate 0 "y") }}"#, &[]).expect("r"),
        "x"
    );
    assert_eq!(
        render("{{ true }}{{ 42 }}{{ len \"héllo\" }}", &[]).expect("r"),
        "true426"
    );
    assert_eq!(
        render("{{ \"a\" | printf \"%s-%s\" \"b\" }}", &[]).expect("r"),
        "b-a"
    );
    assert_eq!(render("{{ print 1 2 }}", &[]).expect("r"), "1 2");
}

#[test]
fn trim_markers_and_comments() {
    let source = "vault-\n  {{- .DisplayName -}}\n  -x{{/* a comment */}}";
    assert_eq!(
        render(source, &[("DisplayName", "tok")]).expect("r"),
        "vault-tok-x"
    );
}

#[test]
fn parse_errors_are_reported_not_panicked() {
    let cases = [
        ("", "missing template"),
        ("{{ foo }}", "function \"foo\" not defined"),
        ("abc {{ .DisplayName", "unclosed action"),
        ("{{ if .A }}x", "has no {{ end }}"),
        ("{{ end }}", "unexpected {{ end }}"),
        ("{{ else }}", "unexpected {{ else }}"),
        (
            "{{ if .A }}{{ else }}{{ else }}{{ end }}",
            "second {{ else }}",
        ),
        (
            "{{ truncate 5 }}",
            "wrong number of args for truncate: want 2 got 1",
        ),
        ("{{ .A | truncate 1 2 }}", "want 2 got 3"),
        (
            "{{ printf \"%s\" unix_time 1 | unix_time }}",
            "want 0 got 1",
        ),
        ("{{ \"a\" \"b\" }}", "can't give argument to non-function"),
        (
            "{{ .A | \"b\" }}",
            "non executable command in pipeline stage 2",
        ),
        ("{{ (lowercase .A }}", "unclosed left paren"),
        ("{{ lowercase .A) }}", "unexpected right paren"),
        ("{{ }}", "missing value for command"),
        ("{{ if }}x{{ end }}", "missing value for if"),
        ("{{ range .A }}{{ end }}", "not supported"),
        ("{{ . }}", "'.' on its own"),
        ("{{ nil }}", "nil is not a command"),
        ("{{ .A | }}", "missing command"),
    ];
    for (source, expected) in cases {
        let err = Template::parse(source).expect_err(source);
        assert!(
            err.contains(expected),
            "{source:?}: {err:?} lacks {expected:?}"
        );
    }
}

#[test]
fn execution_errors_name_the_problem() {
    let err = render("{{ .Nope }}", &[("DisplayName", "a"), ("Type", "IAM")]).expect_err("field");
    assert_eq!(
        err,
        "line 1: can't evaluate field Nope (available fields: .DisplayName, .Type)"
    );
    let err = render("x\n{{ truncate 0 .A }}", &[("A", "abc")]).expect_err("zero");
    assert_eq!(
        err,
        "line 2: error calling truncate: max length must be > 0 but was 0"
    );
    let err = render("{{ 42 | lowercase }}", &[]).expect_err("type");
    assert!(err.contains("expected string; got int"), "{err}");
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let parens = format!("{{{{{}", "(".repeat(1_000_000));
    assert!(Template::parse(&parens).is_err());
    let closed = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    let err = Template::parse(&closed).expect_err("too deep");
    assert!(err.contains("nested too deeply"), "{err}");
    let ifs = "{{ if true }}".repeat(500);
    assert!(
        Template::parse(&ifs)
            .expect_err("ifs")
            .contains("nested too deeply")
    );
}

/// Throws thousands of token soups at the parser and renderer: every one must return
/// `Ok` or `Err`, never panic.
#[test]
fn arbitrary_input_never_panics() {
    const PIECES: [&str; 24] = [
        "{{", "}}", "{{-", " -}}", "(", ")", "|", "\"s\"", "`r`", "42", "-1", ".A", ".", "if",
        "else", "end", "printf", "truncate", "random", "eq", " ", "\n", "/*", "*/",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let f = fields(&[("A", "value")]);
    for _ in 0..5000 {
        let mut source = String::new();
        for _ in 0..(seed % 12) {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            source.push_str(PIECES[(seed >> 33) as usize % PIECES.len()]);
        }
        seed = seed.wrapping_add(0x2545_F491_4F6C_DD1D);
        if let Ok(t) = Template::parse(&source) {
            let _ = t.render_at(&f, at_1700000000());
        }
    }
}

/// Found while writing the template properties of tests/bad_input_props/ (issue #6): each
/// function keeps
/// its input small, but chained or nested calls grew without bound (`hex` doubles, an
/// empty `replace` pattern multiplies), so a one-line template could exhaust memory and
/// abort the plugin. Values and the output are now capped.
#[test]
fn growing_values_are_capped_instead_of_exhausting_memory() {
    let hexes = format!("{{{{ random 4096{} }}}}", " | hex".repeat(40));
    let err = render(&hexes, &[]).expect_err("too long");
    assert!(
        err.contains("error calling hex") && err.contains("limit"),
        "{err}"
    );
    let replaces = format!(
        "{{{{ {}random 4096{} }}}}",
        "replace \"\" \"0123456789\" (".repeat(8),
        ")".repeat(8)
    );
    let err = render(&replaces, &[]).expect_err("too long");
    assert!(
        err.contains("error calling replace") && err.contains("limit"),
        "{err}"
    );
    let many = "{{ random 4096 | hex | hex | hex | hex | hex | hex | hex }}".repeat(40);
    let err = render(&many, &[]).expect_err("too long");
    assert!(err.contains("limit"), "{err}");
    // Below the cap nothing changes.
    let out = render("{{ random 4096 | hex | hex }}", &[]).expect("render");
    assert_eq!(out.len(), 4 * 4096);
}

#[test]
fn one_level_map_lookups_render_keys_and_missing_keys_empty() {
    let marker = super::map_marker("EntityMetadata");
    let f = fields(&[
        ("EntityMetadata.team", "blue"),
        (marker.as_str(), ""),
        ("EntityName", "alice"),
    ]);
    let t =
        Template::parse("{{ .EntityName }}-{{ .EntityMetadata.team }}-{{ .EntityMetadata.nope }}")
            .expect("parse");
    assert_eq!(t.render(&f).expect("render"), "alice-blue-");
    // Without the marker a dotted name is an unknown field, and the error lists maps once.
    let t = Template::parse("{{ .Other.key }}").expect("parse");
    let err = t.render(&f).expect_err("unknown");
    assert!(
        err.contains("can't evaluate field Other.key")
            && err.contains(".EntityMetadata.<key>, .EntityName"),
        "{err}"
    );
}
