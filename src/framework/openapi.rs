//! [framework] The OpenAPI 3.0.2 document a help request carries under `openapi`, which
//! the host merges into `sys/internal/specs/openapi`. Mirrors Vault's
//! `sdk/framework/openapi.go` behaviour (not its code): each path pattern is expanded into
//! concrete OpenAPI paths (optional parts and alternations fork, named captures become
//! `{name}`, a trailing optional `/` is dropped), fields become path, query or body
//! parameters, and operation IDs are `<prefix>-<verb>-<suffix>`.
//!
//! The host decodes this document strictly: response codes must be numeric strings and
//! every key must have the right JSON type, or the whole endpoint fails for every mount.
//! Patterns that cannot be expressed as OpenAPI paths are listed verbatim with no
//! operations, as Vault does.

use std::collections::BTreeMap;

use regex_syntax::ast::{self, Ast};
use serde::Serialize;
use serde_json::Value;

use super::field::{DisplayAttributes, FieldSchema, FieldType};
use super::spec::PathSpec;
use crate::logical::{BackendType, Operation, SpecialPaths};

/// The OpenAPI version Vault emits.
pub const OAS_VERSION: &str = "3.0.2";

/// An OpenAPI document (the subset Vault emits).
#[derive(Debug, Clone, Serialize)]
pub struct OasDocument {
    /// Always [`OAS_VERSION`].
    pub openapi: String,
    /// Title, description, server version and license.
    pub info: OasInfo,
    /// Path items keyed by `/path/{param}`.
    pub paths: BTreeMap<String, OasPathItem>,
    /// Request body schemas.
    pub components: OasComponents,
}

/// Document metadata.
#[derive(Debug, Clone, Serialize)]
pub struct OasInfo {
    /// Document title.
    pub title: String,
    /// Document description.
    pub description: String,
    /// Server version (from the system view), or `unknown`.
    pub version: String,
    /// License of the API description.
    pub license: OasLicense,
}

/// License block.
#[derive(Debug, Clone, Serialize)]
pub struct OasLicense {
    /// License name.
    pub name: String,
    /// License URL.
    pub url: String,
}

/// Reusable schemas.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasComponents {
    /// Schemas by name (`<OperationId>Request`).
    pub schemas: BTreeMap<String, OasSchema>,
}

/// One OpenAPI path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasPathItem {
    /// The path's synopsis.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Path (and query) parameters shared by its operations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<OasParameter>,
    /// Needs a sudo-capable token.
    #[serde(rename = "x-vault-sudo", skip_serializing_if = "is_false")]
    pub sudo: bool,
    /// Reachable without a token.
    #[serde(rename = "x-vault-unauthenticated", skip_serializing_if = "is_false")]
    pub unauthenticated: bool,
    /// The path distinguishes create from update.
    #[serde(rename = "x-vault-createSupported", skip_serializing_if = "is_false")]
    pub create_supported: bool,
    /// UI hints.
    #[serde(
        rename = "x-vault-displayAttrs",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_attrs: Option<DisplayAttributes>,
    /// Read or list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub get: Option<OasOperation>,
    /// Create or update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<OasOperation>,
    /// Patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<OasOperation>,
    /// Delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<OasOperation>,
}

/// One operation of a path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasOperation {
    /// Summary.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `<prefix>-<verb>-<suffix>`.
    #[serde(rename = "operationId", skip_serializing_if = "String::is_empty")]
    pub operation_id: String,
    /// `secrets` or `auth`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Operation-only parameters (the `list=true` query parameter).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<OasParameter>,
    /// JSON body, a `$ref` to a component schema.
    #[serde(rename = "requestBody", skip_serializing_if = "Option::is_none")]
    pub request_body: Option<OasRequestBody>,
    /// Responses keyed by numeric status string.
    pub responses: BTreeMap<String, OasResponse>,
    /// Deprecated.
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// A parameter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasParameter {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `path` or `query`.
    #[serde(rename = "in")]
    pub location: String,
    /// Value schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<OasSchema>,
    /// Required.
    #[serde(skip_serializing_if = "is_false")]
    pub required: bool,
    /// Deprecated.
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// A request body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasRequestBody {
    /// Required.
    #[serde(skip_serializing_if = "is_false")]
    pub required: bool,
    /// Content by media type.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub content: BTreeMap<String, OasMediaType>,
}

/// A media type entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasMediaType {
    /// Its schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<OasSchema>,
}

/// A JSON schema (the subset Vault emits).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasSchema {
    /// `#/components/schemas/<name>`.
    #[serde(rename = "$ref", skip_serializing_if = "String::is_empty")]
    pub reference: String,
    /// JSON type.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub schema_type: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Object properties.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, OasSchema>,
    /// Required property names, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// Array item schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<OasSchema>>,
    /// Format hint (`seconds`, `kvpairs`, ...).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// Pattern.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pattern: String,
    /// Allowed values.
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<Value>,
    /// Default value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Deprecated.
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
    /// UI hints.
    #[serde(
        rename = "x-vault-displayAttrs",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_attrs: Option<DisplayAttributes>,
}

/// A response.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OasResponse {
    /// Description (always present).
    pub description: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What documenting a path needs to know about its backend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocContext<'a> {
    pub(crate) special_paths: &'a SpecialPaths,
    /// The mount type the host passes as `requestResponsePrefix`; default operation-ID prefix.
    pub(crate) prefix: &'a str,
    pub(crate) backend_type: BackendType,
}

impl OasDocument {
    /// An empty document for server version `version`.
    pub fn new(version: &str) -> Self {
        OasDocument {
            openapi: OAS_VERSION.to_string(),
            info: OasInfo {
                title: "OpenBao API".to_string(),
                description: "HTTP API that gives you full access to OpenBao. All API routes are prefixed with `/v1/`."
                    .to_string(),
                version: version.to_string(),
                license: OasLicense {
                    name: "Mozilla Public License 2.0".to_string(),
                    url: "https://www.mozilla.org/en-US/MPL/2.0".to_string(),
                },
            },
            paths: BTreeMap::new(),
            components: OasComponents::default(),
        }
    }

    /// The document as JSON, ready for a help response.
    pub fn to_value(&self) -> Value {
        // Serialising plain structs with string keys cannot fail; `Null` keeps the help
        // response well-formed even if it somehow did.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The order operations are documented in (Vault's map order is random; ours is fixed).
const DOC_ORDER: [Operation; 6] = [
    Operation::Create,
    Operation::Update,
    Operation::Patch,
    Operation::Read,
    Operation::List,
    Operation::Delete,
];

/// Adds the OpenAPI paths of `path` to `doc`.
pub(crate) fn document_path(doc: &mut OasDocument, path: &PathSpec, cx: DocContext<'_>) {
    let pattern = path.pattern.as_str();
    let (expanded, unpublished) = match expand_pattern(pattern) {
        Some(paths) => (paths, false),
        None => (vec![pattern.to_string()], true),
    };
    for (index, oas_path) in expanded.iter().enumerate() {
        let mut item = OasPathItem {
            description: clean(&path.help_synopsis),
            sudo: special_path_match(oas_path, &cx.special_paths.root),
            unauthenticated: special_path_match(oas_path, &cx.special_paths.unauthenticated),
            display_attrs: path
                .display_attrs
                .as_ref()
                .and_then(DisplayAttributes::without_operation_hints),
            ..OasPathItem::default()
        };
        let path_params = path_parameter_names(oas_path);
        item.parameters = shared_parameters(path, &path_params);
        for op in DOC_ORDER {
            let Some(handler) = path.operations.get(&op) else {
                continue;
            };
            if handler.unpublished || unpublished {
                continue;
            }
            if op == Operation::Create {
                item.create_supported = true;
                if path.operations.contains_key(&Operation::Update) {
                    continue;
                }
            }
            if op == Operation::List && path.operations.contains_key(&Operation::Read) {
                continue;
            }
            let attrs = OperationIdAttrs::merge(
                handler.display_attrs.as_ref(),
                path.display_attrs.as_ref(),
            );
            let operation_id = construct_operation_id(oas_path, index, &attrs, &op, cx.prefix);
            let mut oas_op = OasOperation {
                summary: handler.summary.trim().to_string(),
                description: handler.description.trim().to_string(),
                operation_id: operation_id.clone(),
                deprecated: handler.deprecated,
                ..OasOperation::default()
            };
            if matches!(op, Operation::Create | Operation::Update | Operation::Patch) {
                oas_op.request_body = request_body(doc, path, &path_params, &operation_id);
            }
            oas_op.parameters = list_parameters(path, &op);
            if cx.backend_type == BackendType::Logical {
                oas_op.tags = vec!["secrets".to_string()];
            } else {
                oas_op.tags = vec!["auth".to_string()];
            }
            let (code, description) = if op == Operation::Delete {
                ("204", "empty body")
            } else {
                ("200", "OK")
            };
            oas_op.responses.insert(
                code.to_string(),
                OasResponse {
                    description: description.to_string(),
                },
            );
            match op {
                Operation::Create | Operation::Update => item.post = Some(oas_op),
                Operation::Read | Operation::List => item.get = Some(oas_op),
                Operation::Delete => item.delete = Some(oas_op),
                Operation::Patch => item.patch = Some(oas_op),
                _ => {}
            }
        }
        doc.paths.insert(format!("/{oas_path}"), item);
    }
}

fn field_schema(field: &FieldSchema, with_description: bool) -> OasSchema {
    let (schema_type, format, pattern, items) = convert_type(field.field_type);
    OasSchema {
        schema_type: schema_type.to_string(),
        description: if with_description {
            clean(&field.description)
        } else {
            String::new()
        },
        format: format.to_string(),
        pattern: pattern.to_string(),
        items: items.map(|t| {
            Box::new(OasSchema {
                schema_type: t.to_string(),
                ..OasSchema::default()
            })
        }),
        enum_values: field.allowed_values.clone(),
        default: field.default.clone(),
        deprecated: field.deprecated && with_description,
        display_attrs: field
            .display_attrs
            .as_ref()
            .and_then(DisplayAttributes::without_operation_hints),
        ..OasSchema::default()
    }
}

/// Parameters shared by all operations: path captures, and fields documented as query.
fn shared_parameters(path: &PathSpec, path_params: &[String]) -> Vec<OasParameter> {
    let mut params: Vec<OasParameter> = Vec::new();
    for (name, field) in path.fields.iter() {
        let in_path = path_params.contains(name);
        if !in_path && !field.query {
            continue;
        }
        // Vault documents a parameter's type, pattern, enum and default only.
        let mut schema = field_schema(field, false);
        schema.items = None;
        schema.format.clear();
        params.push(OasParameter {
            name: name.clone(),
            description: clean(&field.description),
            location: if field.query { "query" } else { "path" }.to_string(),
            schema: Some(schema),
            required: !field.query,
            deprecated: field.deprecated,
        });
    }
    params.sort_by_key(|p| p.name.to_lowercase());
    params
}

/// The request body schema of a write, registered as `<OperationId>Request`.
fn request_body(
    doc: &mut OasDocument,
    path: &PathSpec,
    path_params: &[String],
    operation_id: &str,
) -> Option<OasRequestBody> {
    let mut schema = OasSchema {
        schema_type: "object".to_string(),
        ..OasSchema::default()
    };
    for (name, field) in path
        .fields
        .iter()
        .filter(|(n, f)| !path_params.contains(n) && !f.query)
    {
        if field.required {
            schema.required.push(name.clone());
        }
        schema
            .properties
            .insert(name.clone(), field_schema(field, true));
    }
    if schema.properties.is_empty() {
        return None;
    }
    let name = format!("{}Request", hyphenated_to_title_case(operation_id));
    doc.components.schemas.insert(name.clone(), schema);
    let reference = OasSchema {
        reference: format!("#/components/schemas/{name}"),
        ..OasSchema::default()
    };
    let media = OasMediaType {
        schema: Some(reference),
    };
    Some(OasRequestBody {
        required: true,
        content: BTreeMap::from([("application/json".to_string(), media)]),
    })
}

/// LIST is documented as GET with a `list=true` query parameter (optional when the same
/// path also reads).
fn list_parameters(path: &PathSpec, op: &Operation) -> Vec<OasParameter> {
    let string_schema = |enum_values: Vec<Value>| {
        Some(OasSchema {
            schema_type: "string".to_string(),
            enum_values,
            ..OasSchema::default()
        })
    };
    match op {
        Operation::List => vec![OasParameter {
            name: "list".to_string(),
            description: "Must be set to `true`".to_string(),
            location: "query".to_string(),
            schema: string_schema(vec![Value::String("true".to_string())]),
            required: true,
            deprecated: false,
        }],
        Operation::Read if path.operations.contains_key(&Operation::List) => vec![OasParameter {
            name: "list".to_string(),
            description: "Return a list if `true`".to_string(),
            location: "query".to_string(),
            schema: string_schema(Vec::new()),
            required: false,
            deprecated: false,
        }],
        _ => Vec::new(),
    }
}

/// (type, format, pattern, array item type) of a field type in OpenAPI.
fn convert_type(
    t: FieldType,
) -> (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
) {
    match t {
        FieldType::String => ("string", "", "", None),
        FieldType::LowerCaseString => ("string", "lowercase", "", None),
        FieldType::NameString => ("string", "", r"\w([\w-.]*\w)?", None),
        FieldType::Int => ("integer", "", "", None),
        FieldType::Bool => ("boolean", "", "", None),
        FieldType::DurationSecond | FieldType::SignedDurationSecond => {
            ("integer", "seconds", "", None)
        }
        FieldType::StringSlice | FieldType::CommaStringSlice => ("array", "", "", Some("string")),
        FieldType::KvPairs => ("object", "kvpairs", "", None),
        FieldType::Map => ("object", "map", "", None),
    }
}

/// Trims and collapses whitespace runs into single spaces.
fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `{name}` parameters of an expanded path.
fn path_parameter_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// Whether `path` matches a special-path entry: exact, `prefix*`, or `+` segment wildcards.
pub(crate) fn special_path_match(path: &str, special: &[String]) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    special.iter().any(|sp| {
        if sp == path {
            return true;
        }
        if let Some(prefix) = sp.strip_suffix('*')
            && path.starts_with(prefix)
        {
            return true;
        }
        sp.contains('+') && matches_by_parts(&parts, &sp.split('/').collect::<Vec<_>>())
    })
}

fn matches_by_parts(parts: &[&str], pattern: &[&str]) -> bool {
    if parts.len() < pattern.len() {
        return false;
    }
    for (part, pat) in parts.iter().zip(pattern) {
        match *pat {
            "+" => continue,
            "*" => return true,
            p if p.strip_suffix('*').is_some_and(|pre| part.starts_with(pre)) => return true,
            p if p != *part => return false,
            _ => {}
        }
    }
    parts.len() == pattern.len()
}

/// Operation-ID hints after merging operation-level over path-level attributes.
struct OperationIdAttrs {
    prefix: String,
    verb: String,
    suffix: String,
}

impl OperationIdAttrs {
    fn merge(op: Option<&DisplayAttributes>, path: Option<&DisplayAttributes>) -> Self {
        let pick = |f: fn(&DisplayAttributes) -> &String| {
            op.map(f)
                .filter(|s| !s.is_empty())
                .or_else(|| path.map(f))
                .cloned()
                .unwrap_or_default()
        };
        OperationIdAttrs {
            prefix: pick(|a| &a.operation_prefix),
            verb: pick(|a| &a.operation_verb),
            suffix: pick(|a| &a.operation_suffix),
        }
    }
}

/// Vault's `constructOperationID`: hyphenated, lower-case `prefix-verb-suffix`, falling
/// back to the mount type, the operation name (`write` for update) and the path words.
fn construct_operation_id(
    path: &str,
    index: usize,
    attrs: &OperationIdAttrs,
    op: &Operation,
    default_prefix: &str,
) -> String {
    let mut suffix = attrs.suffix.clone();
    let mut index_out_of_range = false;
    let suffixes: Vec<&str> = attrs.suffix.split('|').collect();
    if suffixes.len() > 1 || index > 0 {
        match suffixes.get(index) {
            Some(s) => suffix = (*s).to_string(),
            None => {
                suffix.clear();
                index_out_of_range = true;
            }
        }
    }
    let need_prefix = attrs.prefix.is_empty() && attrs.verb.is_empty();
    let need_suffix = suffix.is_empty() && (attrs.verb.is_empty() || index_out_of_range);
    let prefix = if need_prefix {
        default_prefix.to_string()
    } else {
        attrs.prefix.clone()
    };
    let verb = match (attrs.verb.is_empty(), op) {
        (false, _) => attrs.verb.clone(),
        (true, Operation::Update) => "write".to_string(),
        (true, op) => op.as_str().to_string(),
    };
    if need_suffix {
        suffix = path
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
    }
    [prefix, verb, suffix]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

/// `aws-configure-lease` → `AwsConfigureLease`.
fn hyphenated_to_title_case(s: &str) -> String {
    s.split('-')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// One path being built while walking a pattern: its text and the length it had right
/// after an optional trailing `/` was appended (such variants are dropped if nothing
/// follows the slash).
#[derive(Debug, Clone, Default)]
struct Collector {
    text: String,
    slash_at: Option<usize>,
}

/// Expands a route pattern into OpenAPI paths, or `None` when the pattern uses regex
/// features outside named captures that no OpenAPI path can express (`.`, classes,
/// `*`, `+`, counted repetition).
pub(crate) fn expand_pattern(pattern: &str) -> Option<Vec<String>> {
    let ast = ast::parse::Parser::new().parse(pattern).ok()?;
    let collectors = walk(&ast, vec![Collector::default()])?;
    Some(
        collectors
            .into_iter()
            .filter(|c| c.slash_at != Some(c.text.len()))
            .map(|c| c.text)
            .collect(),
    )
}

fn walk(node: &Ast, mut paths: Vec<Collector>) -> Option<Vec<Collector>> {
    match node {
        Ast::Empty(_) | Ast::Flags(_) | Ast::Assertion(_) => Some(paths),
        Ast::Literal(lit) => {
            for p in &mut paths {
                p.text.push(lit.c);
            }
            Some(paths)
        }
        Ast::Concat(concat) => concat
            .asts
            .iter()
            .try_fold(paths, |acc, child| walk(child, acc)),
        Ast::Alternation(alt) => {
            let mut all = Vec::new();
            for child in &alt.asts {
                all.extend(walk(child, paths.clone())?);
            }
            Some(all)
        }
        Ast::Repetition(rep) if rep.op.kind == ast::RepetitionKind::ZeroOrOne => {
            let mut with = walk(&rep.ast, paths.clone())?;
            if matches!(rep.ast.as_ref(), Ast::Literal(l) if l.c == '/') {
                for p in &mut with {
                    p.slash_at = Some(p.text.len());
                }
            }
            paths.extend(with);
            Some(paths)
        }
        Ast::Group(group) => match &group.kind {
            ast::GroupKind::CaptureName { name, .. } => {
                for p in &mut paths {
                    p.text.push('{');
                    p.text.push_str(&name.name);
                    p.text.push('}');
                }
                Some(paths)
            }
            _ => walk(&group.ast, paths),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::path::{generic_name_with_at_regex, optional_param_regex};
    use crate::framework::router::anchored;

    fn expand(p: &str) -> Option<Vec<String>> {
        expand_pattern(&anchored(p))
    }

    #[test]
    fn patterns_expand_like_vault() {
        assert_eq!(
            expand("config/lease"),
            Some(vec!["config/lease".to_string()])
        );
        assert_eq!(expand("roles/?"), Some(vec!["roles".to_string()]));
        assert_eq!(
            expand(&format!("roles/{}", generic_name_with_at_regex("name"))),
            Some(vec!["roles/{name}".to_string()])
        );
        assert_eq!(
            expand(&format!(
                "(creds|sts)/{}",
                generic_name_with_at_regex("name")
            )),
            Some(vec!["creds/{name}".to_string(), "sts/{name}".to_string()])
        );
        assert_eq!(
            expand(&format!("static{}", optional_param_regex("rest"))),
            Some(vec!["static".to_string(), "static/{rest}".to_string()])
        );
        assert_eq!(expand("creds/.*"), None);
        assert_eq!(expand("a+"), None);
    }

    #[test]
    fn operation_ids_follow_vault_rules() {
        let attrs = |p: &str, v: &str, s: &str| OperationIdAttrs {
            prefix: p.into(),
            verb: v.into(),
            suffix: s.into(),
        };
        assert_eq!(
            construct_operation_id(
                "config/lease",
                0,
                &attrs("aws", "configure", "lease"),
                &Operation::Update,
                "x"
            ),
            "aws-configure-lease"
        );
        assert_eq!(
            construct_operation_id(
                "config/lease",
                0,
                &attrs("aws", "", "lease-configuration"),
                &Operation::Read,
                "x"
            ),
            "aws-read-lease-configuration"
        );
        assert_eq!(
            construct_operation_id(
                "roles/{name}",
                0,
                &attrs("", "", ""),
                &Operation::Update,
                "aws"
            ),
            "aws-write-roles-name"
        );
        assert_eq!(
            construct_operation_id("roles", 0, &attrs("", "", ""), &Operation::List, ""),
            "list-roles"
        );
        assert_eq!(
            construct_operation_id(
                "sts/{name}",
                1,
                &attrs("aws", "generate", "credentials|sts-credentials"),
                &Operation::Read,
                ""
            ),
            "aws-generate-sts-credentials"
        );
        assert_eq!(
            hyphenated_to_title_case("aws-configure-lease"),
            "AwsConfigureLease"
        );
    }

    #[test]
    fn special_paths_match_wildcards() {
        let sp = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(special_path_match("config/root", &sp(&["config/root"])));
        assert!(special_path_match("config/rotate-root", &sp(&["config/*"])));
        assert!(special_path_match("roles/x/creds", &sp(&["roles/+/creds"])));
        assert!(!special_path_match(
            "roles/x/y/creds",
            &sp(&["roles/+/creds"])
        ));
        assert!(!special_path_match("config/lease", &sp(&["config/root"])));
    }
}
