//! Enforces the layer map of `shared/design/architecture.md` §3: reads every source file
//! under `src/<layer>/` and fails when it names a crate module or an external crate its
//! layer may not use. Comments are skipped, so documentation may still mention them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// (layer, crate modules it may name, external crates it must not name)
const RULES: &[(&str, &[&str], &[&str])] = &[
    (
        "logical",
        &["logical"],
        &["tonic", "prost", "aws_sdk_iam", "aws_sdk_sts", "aws_config"],
    ),
    (
        "framework",
        &["framework", "logical"],
        &["tonic", "prost", "aws_sdk_iam", "aws_sdk_sts", "aws_config"],
    ),
    ("aws", &["aws", "framework", "logical"], &["tonic", "prost"]),
    (
        "client",
        &["client", "logical", "pb"],
        &["aws_sdk_iam", "aws_sdk_sts", "aws_config"],
    ),
    (
        "backend",
        &["backend", "client", "logical", "pb"],
        &["aws_sdk_iam", "aws_sdk_sts", "aws_config"],
    ),
    (
        "plugin",
        &["plugin", "backend", "logical", "pb"],
        &["aws_sdk_iam", "aws_sdk_sts", "aws_config"],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text with `//` comments removed (string literals containing `//` are rare in
/// this crate and at worst hide a name from the check, never invent one).
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::<module>` named in the code, and every use of the listed external crates.
fn names(code: &str, externals: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut modules = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `some_crate::`
        }
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            modules.insert(name);
        }
    }
    let mut found = BTreeSet::new();
    for ext in externals {
        let pat = format!("{ext}::");
        for (i, _) in code.match_indices(&pat) {
            let before = code[..i].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                found.insert((*ext).to_string());
            }
        }
    }
    (modules, found)
}

#[test]
fn layers_only_use_what_they_may() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (layer, allowed, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "layer {layer} has no source files");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            let (modules, externals) = names(&code_only(&text), forbidden);
            for m in modules.iter().filter(|m| !allowed.contains(&m.as_str())) {
                violations.push(format!(
                    "{}: layer `{layer}` uses crate::{m}",
                    file.display()
                ));
            }
            for e in externals {
                violations.push(format!(
                    "{}: layer `{layer}` uses external crate `{e}`",
                    file.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "forbidden dependencies:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_what_it_must() {
    let (m, e) = names(
        "use crate::pb::x;\nlet a = tonic::Status::ok(); my_crate::z();",
        &["tonic"],
    );
    assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["pb".to_string()]);
    assert_eq!(e.into_iter().collect::<Vec<_>>(), vec!["tonic".to_string()]);
    assert!(
        code_only("let x = 1; // crate::pb")
            .find("crate::")
            .is_none()
    );
}
