//! Routing: arbitrary request paths and operations against the AWS engine's real path
//! table, checked against an oracle written independently of the engine's regexes.

use super::*;

/// The AWS engine's routes, written out independently of its regexes: `config/root`,
/// `config/rotate-root`, `config/lease`, `config/check`, `roles` and `roles/` (list),
/// `roles/<name>`, `roles/<name>/check`, `creds/<name>` and `sts/<name>` with `@`
/// allowed in names.
pub(super) fn aws_route_exists(path: &str) -> bool {
    if matches!(
        path,
        "config/root" | "config/rotate-root" | "config/lease" | "config/check" | "roles" | "roles/"
    ) {
        return true;
    }
    let role_check = path
        .strip_prefix("roles/")
        .and_then(|rest| rest.strip_suffix("/check"))
        .is_some_and(|name| is_vault_name(name, true));
    if role_check {
        return true;
    }
    ["roles/", "creds/", "sts/"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|name| is_vault_name(name, true))
    })
}

/// Request paths near and far from the real ones.
fn request_path() -> impl Strategy<Value = String> {
    let prefixes = prop::sample::select(vec![
        "",
        "config/",
        "config/root",
        "config/lease",
        "config/rotate-root",
        "roles",
        "roles/",
        "creds/",
        "sts/",
        "/",
        "//",
        "../",
        "roles/../",
        "creds//",
        "ROLES/",
        "role/",
    ]);
    let tail = prop_oneof![
        2 => Just(String::new()),
        3 => "[a-zA-Z0-9_.@-]{0,12}",
        2 => any::<String>(),
        1 => "[/.]{0,6}",
        1 => prop::sample::select(EDGE_TEXTS).prop_map(str::to_string),
        1 => (1usize..4000).prop_map(|n| "a".repeat(n)),
        1 => (1usize..200).prop_map(|n| "a/".repeat(n)),
    ];
    let suffix = prop::sample::select(vec![
        "", "", "", "/", "//", "/..", "\n", "\u{0}", "?x=1", " ",
    ]);
    let composed = (prefixes, tail, suffix).prop_map(|(p, t, s)| format!("{p}{t}{s}"));
    // Paths of the table itself, and their nearest misses, often enough to hit each.
    let exact = prop::sample::select(vec![
        "config/root",
        "config/lease",
        "config/rotate-root",
        "roles",
        "roles/",
        "roles/x",
        "roles/a@b.c",
        "creds/x",
        "creds/a_b",
        "sts/x",
        "sts/a-b",
        "config",
        "config/",
        "config/roots",
        "roles/x/",
        "creds/",
        "sts/-x",
        "creds/x.",
        "roles/@",
        "config/check",
        "roles/x/check",
        "roles/x/check/",
        "roles//check",
    ])
    .prop_map(str::to_string);
    prop_oneof![3 => composed, 1 => exact]
}

fn operation() -> impl Strategy<Value = Operation> {
    prop::sample::select(vec![
        Operation::Read,
        Operation::List,
        Operation::Delete,
        Operation::Help,
        Operation::Update,
        Operation::Create,
        Operation::Patch,
        Operation::ResolvePath,
        Operation::Other("scan".to_string()),
    ])
}

proptest! {
    #![proptest_config(config(512))]

    /// Any path, any operation: a path outside the table is `unsupported path` (404)
    /// for every routed operation and for the existence check; a path in the table is
    /// routed (never 404) and answered with a 2xx, or a 4xx with a message.
    #[test]
    fn routing_matches_the_table_or_answers_404(
        paths in prop::collection::vec((request_path(), operation()), 1..8),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let (tb, _fakes) = aws_engine().await;
            for (path, op) in paths {
                let exists = aws_route_exists(&path);
                let result = tb.handle(tb.request(op.clone(), &path, JsonMap::new())).await;
                let what = format!("{op} {path:?}");
                let status = status_of(&result);
                let routed = !matches!(op, Operation::ResolvePath)
                    && (op != Operation::Help || !path.is_empty());
                if routed && !exists {
                    prop_assert_eq!(status, 404, "{}: {:?}", what, result);
                } else {
                    prop_assert_ne!(status, 404, "{}: {:?}", what, result);
                    assert_user_grade(&what, &result)?;
                }
                if matches!(op, Operation::Create | Operation::Update) {
                    let check = tb
                        .backend()
                        .handle_existence_check(tb.request(op.clone(), &path, JsonMap::new()))
                        .await;
                    prop_assert_eq!(
                        matches!(check, Err(Error::UnsupportedPath)),
                        !exists,
                        "existence check of {}: {:?}", what, check
                    );
                    if let Err(e) = &check {
                        prop_assert_eq!(status_of_error(e, Phase::Existence) / 100, 4, "{:?}", e);
                    }
                }
            }
            Ok(())
        })?;
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Help (and the OpenAPI document the host builds from it) answers for the root and
    /// every routed path whatever the request carries: any `requestResponsePrefix` (which
    /// becomes part of operation IDs), any stray parameters; the document names every
    /// path of the table.
    #[test]
    fn help_answers_with_a_document_whatever_the_request_carries(
        path in prop::sample::select(vec![
            "", "config/root", "roles/", "roles/x", "creds/x", "sts/a@b",
        ]),
        prefix in prop_oneof![Just(Value::String("aws".to_string())), json_value()],
        stray in prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let (tb, _fakes) = aws_engine().await;
            let mut data: JsonMap = stray.into_iter().collect();
            data.insert("requestResponsePrefix".to_string(), prefix);
            let result = tb.handle(tb.request(Operation::Help, path, data)).await;
            prop_assert_eq!(status_of(&result), 200, "help {:?}: {:?}", path, result);
            let body = result.ok().flatten().and_then(|r| r.data).unwrap_or_default();
            let help = body.get("help").and_then(Value::as_str).unwrap_or_default();
            prop_assert!(!help.trim().is_empty(), "empty help for {path:?}");
            let paths = body
                .get("openapi")
                .and_then(|doc| doc.get("paths"))
                .and_then(Value::as_object);
            prop_assert!(paths.is_some_and(|p| !p.is_empty()), "no OpenAPI paths: {body:?}");
            if path.is_empty() {
                let documented = paths.map(|p| p.len()).unwrap_or_default();
                prop_assert!(documented >= 6, "root help documents {documented} paths");
            }
            Ok(())
        })?;
    }
}
