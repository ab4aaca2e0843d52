//! Usernames: Vault's default template on any display and role name and any clock,
//! caller-chosen session names, and arbitrary templates (token soups, well-formed calls
//! with odd arguments, chains of growing functions, any text).

use super::*;

/// IAM's name charset: `[\w+=,.@-]`.
fn iam_charset(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// The longest prefix of at most `max` bytes (all inputs here are ASCII).
fn cut(s: &str, max: usize) -> &str {
    &s[..s.len().min(max)]
}

fn clock_reading() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        Just(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)),
        (0u64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(s, n)| SystemTime::UNIX_EPOCH + Duration::new(s, n)),
    ]
}

/// Template soups: the language's tokens, every function, literals of every size and
/// arbitrary text between them.
pub(super) fn template_source() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => prop::sample::select(vec![
            "{{", "}}", "{{- ", " -}}", "(", ")", "|", " ", "\n", "{{/* c */}}", "/*", "*/",
            ".DisplayName", ".PolicyName", ".Type", ".Nope", ".", "..", "$x", "if", "else",
            "else if", "end", "range", "with", "true", "false", "nil", "printf", "print",
            "println", "eq", "ne", "lt", "le", "gt", "ge", "not", "and", "or", "len",
            "random", "truncate", "truncate_sha256", "uppercase", "lowercase", "replace",
            "sha256", "base64", "decode_base64", "hex", "decode_hex", "unix_time",
            "unix_time_millis", "timestamp", "uuid", "\"%s\"", "\"%d\"", "\"%v-%q\"",
            "\"%-70s\"", "\"%065536d\"", "\"%.3s\"", "\"%!\"", "\"%\"",
            "\"2006-01-02T15:04:05Z07:00\"",
            "\"\\n\\t\\\"\"", "\"\\x41\\u00e9\\U0001F980\"", "\"\\q\"", "`raw`", "'c'", "1.5",
            "0x10", "-0", "\"",
        ]).prop_map(str::to_string),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec![
                "0", "1", "8", "9", "20", "32", "42", "64", "4096", "4097", "-1",
            ])
            .prop_map(str::to_string),
        1 => text(),
        1 => "\"[^\"\\\\]{0,10}\"",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

/// Well-formed templates: `{{ <call> }}` blocks with plausible arguments, so that rendering
/// (not just parsing) is reached often.
pub(super) fn rendering_template() -> impl Strategy<Value = String> {
    let arg = prop_oneof![
        prop::sample::select(vec![
            ".DisplayName",
            ".PolicyName",
            ".Type",
            "(unix_time)",
            "(random 5)"
        ])
        .prop_map(str::to_string),
        (-5i64..80).prop_map(|n| n.to_string()),
        "\"[ -!#-\\[\\]-~]{0,6}\"",
    ];
    let func = prop::sample::select(vec![
        "printf \"%s-%s\"",
        "truncate",
        "truncate_sha256",
        "replace",
        "lowercase",
        "uppercase",
        "sha256",
        "base64",
        "decode_base64",
        "hex",
        "decode_hex",
        "random",
        "len",
        "eq",
        "not",
        "timestamp",
        "print",
        "or",
        "and",
    ]);
    let block = (func, prop::collection::vec(arg, 0..3))
        .prop_map(|(f, args)| format!("{{{{ {f} {} }}}}", args.join(" ")));
    // Chains and nests of growing functions: each call is small, the product is not.
    let grow = prop::sample::select(vec![
        " | hex",
        " | base64",
        " | sha256",
        " | printf \"%s%s\" \"x\"",
    ]);
    let chain = (0i64..5000, prop::collection::vec(grow, 0..40))
        .prop_map(|(n, calls)| format!("{{{{ random {n}{} }}}}", calls.concat()));
    let nest = (0usize..12, "[a-z]{0,12}").prop_map(|(depth, new)| {
        format!(
            "{{{{ {}random 4096{} }}}}",
            format!("replace \"\" \"{new}\" (").repeat(depth),
            ")".repeat(depth)
        )
    });
    let piece = prop_oneof![
        6 => block,
        2 => "[a-z-]{0,4}",
        2 => Just("{{ .DisplayName | truncate 10 }}".to_string()),
        1 => chain,
        1 => nest,
    ];
    prop::collection::vec(piece, 1..5).prop_map(|p| p.concat())
}

fn name_kind() -> impl Strategy<Value = NameKind> {
    prop::sample::select(vec![NameKind::Iam, NameKind::Sts])
}

fn metadata(kind: NameKind, display: &str, role: &str) -> UsernameMetadata {
    match kind {
        NameKind::Iam => UsernameMetadata::iam(display, role),
        NameKind::Sts => UsernameMetadata::sts(),
    }
}

/// An arbitrary template parses or is refused with a reason, and a parsed one renders a
/// name within AWS's limit or fails with a reason.
fn assert_template_contract(
    source: &str,
    kind: NameKind,
    display: &str,
    role: &str,
    now: SystemTime,
) -> Result<(), TestCaseError> {
    let template = match parse_username_template(source) {
        Ok(t) => t,
        Err(UsernameError::Template(why)) => {
            prop_assert!(
                !why.trim().is_empty(),
                "{source:?}: parse error without a reason"
            );
            return Ok(());
        }
        Err(other) => return Err(TestCaseError::fail(format!("parse gave {other:?}"))),
    };
    match generate_username_at(&template, &metadata(kind, display, role), now) {
        Ok(name) => {
            prop_assert!(
                !name.is_empty() && name.len() <= kind.max_len(),
                "{source:?} -> {name:?}"
            );
        }
        Err(UsernameError::Render(why)) => {
            prop_assert!(
                !why.trim().is_empty(),
                "{source:?}: render error without a reason"
            );
        }
        Err(e @ (UsernameError::TooLong { .. } | UsernameError::Empty)) => {
            prop_assert!(e.to_string().contains("username_template"), "{e}");
        }
        Err(other) => return Err(TestCaseError::fail(format!("render gave {other:?}"))),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1024))]

    /// Vault's default template, any display and role name, any clock: an IAM name of at
    /// most 64 characters from IAM's charset, shaped
    /// `vault-<display>-<role>` (cut to 42) `-<unix time>-<20 random>`, cut to 64.
    #[test]
    fn default_template_iam_names_fit_iam(
        display in text(),
        role in text(),
        now in clock_reading(),
    ) {
        let meta = UsernameMetadata::iam(&display, &role);
        let name = generate_username_at(default_template(), &meta, now);
        prop_assert!(name.is_ok(), "{:?}", name);
        let name = name.unwrap_or_default();
        prop_assert!(name.len() <= IAM_NAME_MAX_LEN, "{} chars: {:?}", name.len(), name);
        prop_assert!(name.chars().all(iam_charset), "{:?}", name);
        let secs = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        let joined = format!(
            "{}-{}",
            normalize_display_name(&display),
            normalize_display_name(&role)
        );
        let head = format!("vault-{}-{secs}-", cut(&joined, 42));
        prop_assert!(name.starts_with(cut(&head, IAM_NAME_MAX_LEN)), "{:?} vs {:?}", name, head);
        prop_assert_eq!(name.len(), (head.len() + 20).min(IAM_NAME_MAX_LEN));
        prop_assert!(name[head.len().min(name.len())..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    /// The default template's STS branch: at most 32 characters, IAM's charset.
    #[test]
    fn default_template_sts_names_fit_sts(now in clock_reading()) {
        let name = generate_username_at(default_template(), &UsernameMetadata::sts(), now);
        prop_assert!(name.is_ok(), "{:?}", name);
        let name = name.unwrap_or_default();
        prop_assert!(name.len() <= STS_NAME_MAX_LEN && name.starts_with("vault-"), "{:?}", name);
        prop_assert!(name.chars().all(iam_charset), "{:?}", name);
    }

    /// Normalisation keeps the character count and yields IAM's charset only.
    #[test]
    fn normalised_names_use_iam_charset(name in text()) {
        let n = normalize_display_name(&name);
        prop_assert_eq!(n.chars().count(), name.chars().count());
        prop_assert!(n.chars().all(iam_charset), "{:?}", n);
    }

    /// A caller's `role_session_name`: accepted as 2–64 IAM characters, or refused with
    /// the length it had.
    #[test]
    fn session_names_are_bounded_or_refused(name in text()) {
        let count = name.chars().count();
        match normalize_role_session_name(&name) {
            Ok(n) => {
                prop_assert!((2..=64).contains(&n.len()), "{:?}", n);
                prop_assert!(n.chars().all(iam_charset), "{:?}", n);
            }
            Err(e) => {
                prop_assert_eq!(&e, &UsernameError::SessionNameLength(count));
                prop_assert!(!(2..=64).contains(&count));
                prop_assert!(e.to_string().starts_with("role_session_name must be"));
            }
        }
    }

    /// Token soups (every function, huge and negative integers, format verbs, escapes,
    /// Unicode): parse or refuse with a reason; render within the limit or fail with one.
    #[test]
    fn arbitrary_templates_parse_and_render_or_fail_clearly(
        source in template_source(),
        kind in name_kind(),
        display in text(),
        role in text(),
        now in clock_reading(),
    ) {
        assert_template_contract(&source, kind, &display, &role, now)?;
    }

    /// Well-formed calls with plausible and implausible arguments reach rendering.
    #[test]
    fn well_formed_templates_render_or_fail_clearly(
        source in rendering_template(),
        kind in name_kind(),
        display in text(),
        role in text(),
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        assert_template_contract(&source, kind, &display, &role, now)?;
    }

    /// Wholly arbitrary text as a template.
    #[test]
    fn any_text_as_a_template(source in any::<String>(), kind in name_kind()) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
        assert_template_contract(&source, kind, "token", "role", now)?;
    }
}
